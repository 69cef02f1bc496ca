/* litscan.h — a multi-literal scanner for UTF-8 text (Chinese above all).
 *
 * Finds every occurrence of every literal of a set: the matcher's keyword
 * terms and the literal anchors of its patterns. Hyperscan's literal engine
 * filters on the last bytes of a window, and in UTF-8 Chinese those bytes
 * carry little information (three bytes a character, lead bytes E4–E9), so
 * a large list of terms makes it confirm candidates at most positions. This
 * scanner tests only the positions where a character starts (a literal
 * starting with a character-start byte cannot start anywhere else, whatever
 * the text), hashes the 6 bytes there (9 for the literals that long) into
 * a bitmap, and compares the literals of the matching bucket only where
 * the bit is set. The work per
 * position does not depend on the number of literals; a longer list only
 * fills the bitmap, which is sized to it.
 *
 * What it takes (qw_litscan_accepts()): literals of 6 bytes or more whose
 * first byte starts a UTF-8 character (not 0x80–0xBF); the caller scans
 * other literals another way. Literals compare as bytes, or with ASCII
 * letters case-insensitive when built with QW_LITSCAN_CASELESS.
 *
 * The scanner is immutable once built (but for qw_litscan_use_simd()) and
 * may be used by several threads at once; a scan needs no scratch. */
#ifndef QW_LITSCAN_H
#define QW_LITSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct qw_litscan qw_litscan;

#define QW_LITSCAN_CASELESS 1u

/* 1 when the scanner can take lit[0..len) (see above), else 0. */
int qw_litscan_accepts(const char *lit, size_t len);

/* Builds a scanner for the n literals lits[i] (lens[i] bytes, each accepted
 * by qw_litscan_accepts()), reported with ids[i], compared with flags[i]
 * (0 or QW_LITSCAN_CASELESS; flags may be NULL). The arrays are copied.
 * Returns 0 and *out (freed with qw_litscan_free()), -EINVAL for a literal
 * it does not take, or -ENOMEM. n may be 0. */
int qw_litscan_build(const char *const *lits, const size_t *lens,
                     const unsigned *ids, const unsigned *flags, size_t n,
                     qw_litscan **out);

void qw_litscan_free(qw_litscan *ls);

/* Called for every occurrence: id, and the offset just past its end. A
 * non-zero return stops the scan. */
typedef int (*qw_litscan_cb)(unsigned id, size_t end, void *ctx);

/* Reports every occurrence of every literal in text[0..len), overlapping
 * ones included, in order of their start (occurrences starting at the same
 * offset in no particular order). Reads no byte outside text[0..len).
 * Returns 0, or 1 when the callback stopped it. */
int qw_litscan_scan(const qw_litscan *ls, const char *text, size_t len,
                    qw_litscan_cb cb, void *ctx);

/* The vector filter (AVX-512 with VBMI2, used when the CPU has it) on or
 * off, for tests that compare it with the portable loop. Returns 1 when it
 * is now in use. Not to be called while a scan runs. */
int qw_litscan_use_simd(qw_litscan *ls, int on);

#endif
