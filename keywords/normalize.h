/* normalize.h — text normalisation for matching, with a map back to the
 * original offsets so findings can quote the original text.
 *
 * Steps, in one pass over UTF-8 input:
 *   - full-width ASCII (U+FF01–FF5E) → ASCII, U+3000 and U+00A0 → space;
 *   - Latin letters case-folded (ASCII, Latin-1, full-width);
 *   - zero-width characters (U+200B–200D, U+2060, U+FEFF) and soft hyphen
 *     (U+00AD) removed;
 *   - runs of up to 3 separator characters (space, * · • - _ / . ~ | + and
 *     emoji/symbols) between two Han characters removed ("根 治", "药*到*病*除",
 *     "治-愈" → "根治", "药到病除", "治愈");
 *   - traditional → simplified (character table generated from OpenCC's
 *     TSCharacters) plus a variant table (毉→医, 麪→面, 槼→规, 讅→审, 脩→修,
 *     衹→只, 儅→当, 証→证, 註→注 …);
 *   - Roman numerals Ⅰ Ⅱ Ⅲ → 1 2 3;
 *   - runs of white space collapsed to one space; '\n' (block separator) is
 *     kept as is and never removed or merged.
 * Invalid UTF-8 becomes U+FFFD. The output is valid UTF-8. */
#ifndef QW_NORMALIZE_H
#define QW_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *text;    /* NUL-terminated normalised text (malloc'd) */
  size_t len;
  uint32_t *map; /* len + 1 entries: map[i] is the byte offset in the
                    source of the character that produced output byte i;
                    map[len] = source length. Always non-decreasing. */
} qw_norm;

/* Normalises src[0..len). Returns 0 and fills out (free with qw_norm_free),
 * or -ENOMEM / -EFBIG (len >= 4 GiB). */
int qw_normalize(const char *src, size_t len, qw_norm *out);

/* Same as qw_normalize but into caller-provided storage that is reused
 * across calls (grows as needed); out->text/map stay owned by out. */
int qw_normalize_into(const char *src, size_t len, qw_norm *out);

void qw_norm_free(qw_norm *n);

/* Maps a normalised byte range [start, end) back to the source range.
 * *src_start = map[start]; *src_end = the source offset just past the
 * character that produced byte end-1. */
void qw_norm_source_range(const qw_norm *n, size_t start, size_t end,
                          size_t *src_start, size_t *src_end);

/* Normalises a single code point (0 when it is removed). Used for building
 * term lists and tests. */
uint32_t qw_normalize_cp(uint32_t cp);

#endif
