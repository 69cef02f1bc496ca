/* matcher.h — the matching engine behind the rule pack.
 *
 * Every keyword term and every pattern of every set goes into one set of
 * literal filters per rule-set generation (terms and the patterns' literal
 * anchors of 6 bytes or more in our own literal scanner, litscan.h; shorter
 * ones and PCRE2 patterns with neither a literal anchor nor a run of
 * digits to anchor on in one Hyperscan database, in prefilter mode for
 * the patterns), so scanning time does not grow with the number of
 * terms. Candidate hits of regex entries are confirmed (and their
 * exact start/end found) with PCRE2-JIT; patterns Hyperscan cannot take even
 * as a prefilter are run with PCRE2 alone and listed as notes. Match and
 * heap limits bound every PCRE2 call.
 *
 * Hit semantics, per set: leftmost-longest, non-overlapping hits over all the
 * set's entries (what a regex alternation of the entries sorted longest
 * first gives), minus
 *   - hits overlapping a match of one of the set's exception entries;
 *   - hits containing '\n' (the block separator);
 *   - when the set's negation window is > 0, hits preceded within that many
 *     characters, in the same clause (no ，。；！？,;!?\n between), by a
 *     negator (不 不能 不可 无法 不会 不是 并非 没有 绝不 不保证 不承诺 禁止 严禁
 *     请勿 切勿 避免 防止).
 *
 * The matcher is immutable once built; each thread scans with its own
 * qw_match_scratch. */
#ifndef QW_MATCHER_H
#define QW_MATCHER_H

#include <stddef.h>
#include <stdint.h>

typedef struct qw_matcher qw_matcher;
typedef struct qw_matcher_builder qw_matcher_builder;
typedef struct qw_match_scratch qw_match_scratch;

typedef struct {
  uint32_t set;     /* set id from qw_matcher_builder_new_set() */
  uint32_t entry;   /* entry index within the set (0-based, in the order
                       added, exceptions excluded) */
  size_t start, end; /* byte range in the scanned (normalised) text */
} qw_hit;

qw_matcher_builder *qw_matcher_builder_new(void);
void qw_matcher_builder_free(qw_matcher_builder *b);

/* Creates an empty set and returns its id (>= 0) or -ENOMEM. negation is
 * the set's negation window in characters (0 = hits are never negated). */
int qw_matcher_builder_new_set(qw_matcher_builder *b, const char *name,
                               unsigned negation);

/* Adds a literal term (already normalised by the caller). Empty terms are
 * rejected with -EINVAL. exception = 1 adds it to the set's exceptions.
 * Returns the entry index (>= 0), or a negative errno. */
int qw_matcher_builder_add_literal(qw_matcher_builder *b, uint32_t set,
                                   const char *term, size_t len,
                                   int exception);

/* Adds a PCRE2 pattern. On a compile error returns -EINVAL and writes
 * "offset N: message" into err. */
int qw_matcher_builder_add_regex(qw_matcher_builder *b, uint32_t set,
                                 const char *pattern, int exception,
                                 char *err, size_t errlen);

/* Compiles everything. Consumes nothing: the builder is still freed by the
 * caller. Returns 0 and *out, or a negative errno with err set. notes (may
 * be NULL) receives malloc'd "set NAME entry N: …" strings for entries that
 * run without the prefilter; the caller frees them. */
int qw_matcher_build(qw_matcher_builder *b, qw_matcher **out, char ***notes,
                     size_t *n_notes, char *err, size_t errlen);

void qw_matcher_free(qw_matcher *m);

/* The AVX-512 code paths (used when the CPU has AVX-512 VBMI2) on or off,
 * for tests that compare them with the portable ones. Returns 1 when they
 * are now in use. Not to be called while a scan runs. */
int qw_matcher_use_simd(qw_matcher *m, int on);

uint32_t qw_matcher_n_sets(const qw_matcher *m);
const char *qw_matcher_set_name(const qw_matcher *m, uint32_t set);
/* The text of an entry (term or pattern) for messages. */
const char *qw_matcher_entry_text(const qw_matcher *m, uint32_t set,
                                  uint32_t entry);

/* Per-thread scratch (Hyperscan scratch, PCRE2 match data, JIT stack). */
qw_match_scratch *qw_match_scratch_new(const qw_matcher *m);

/* PCRE2's match limit (steps) and heap limit (KiB) for this scratch's
 * scans ([analysis] pcre_match_limit, pcre_heap_limit_kib); 0 keeps the
 * built-in default (1,000,000 steps, 32 MiB). A pattern that reaches a
 * limit stops for that scan and the scan says it was limited. */
void qw_match_scratch_limits(qw_match_scratch *s, unsigned long match_limit,
                             unsigned long heap_kib);
void qw_match_scratch_free(qw_match_scratch *s);

/* Which sets to report: a bitmap of n_sets bits (NULL = all). */
typedef struct {
  const uint8_t *sets;   /* bit i (sets[i / 8] >> (i % 8) & 1) set →
                            report set i; NULL = all sets */
} qw_scan_opts;

/* Scans text[0..len) (valid UTF-8). Hits are appended to *hits / *n (array
 * grown with realloc, caller frees), sorted by set then start. Returns 0,
 * -ENOMEM, or -ETIME when a match limit was hit (hits found so far are
 * still returned). */
int qw_matcher_scan(const qw_matcher *m, qw_match_scratch *s,
                    const char *text, size_t len, const qw_scan_opts *opts,
                    qw_hit **hits, size_t *n);

/* For benchmarks: only the literal passes of qw_matcher_scan() (the
 * literal scanner and the Hyperscan database over text, every report
 * counted into *reports; no digit runs, no PCRE2, no selection): the floor
 * under qw_matcher_scan()'s cost on that text. Returns 0, -EINVAL, -EFBIG,
 * -ENOMEM or -EIO. */
int qw_matcher_scan_db_only(const qw_matcher *m, qw_match_scratch *s,
                            const char *text, size_t len,
                            uint64_t *reports);

#endif
