/* anchors.h — the literal anchors of a rule pattern: a small set of byte
 * strings such that every match of the pattern contains at least one of
 * them, and the longest match the pattern can have. The matcher gives
 * Hyperscan the anchors instead of the pattern (a literal search is several
 * times cheaper than a prefilter automaton over UTF-8), and runs PCRE2 only
 * near an anchor hit: a match holding the anchor [s, e) starts in
 * [e - max_len, s].
 *
 * The pattern is read as the matcher compiles it (UTF-8, case-insensitive,
 * Unicode properties). Anchors compare case-insensitively in ASCII only;
 * a letter whose case variants leave ASCII is expanded (k, s) or makes the
 * pattern's part around it non-literal. */
#ifndef QW_ANCHORS_H
#define QW_ANCHORS_H

#include <stddef.h>

/* Most anchors one pattern may have, and the longest anchor kept. */
#define QW_ANCHORS_MAX 64
#define QW_ANCHOR_MAX_BYTES 48

typedef struct {
  size_t n;
  char (*lit)[QW_ANCHOR_MAX_BYTES]; /* n strings, not NUL-terminated */
  size_t *len;                       /* their byte lengths, each >= 1 */
  long max_len;                      /* longest match in bytes, -1: none */
  size_t min_len;                    /* the shortest anchor */
  size_t digit_run;                  /* every match holds this many
                                        consecutive ASCII digits ([0-9],
                                        not \d); 0: not known */
  /* The partner set, when the pattern is one sequence (no top-level '|')
   * with two disjoint parts that each have a set, and the anchors are one
   * of them: every match then also holds a partner string, after the
   * anchor string (partner_after = 1) or before it (0), not overlapping
   * it, both within the match. A matcher runs the pattern only near an
   * anchor hit with a partner hit so placed. n_partner = 0: none. */
  size_t n_partner;
  char (*plit)[QW_ANCHOR_MAX_BYTES];
  size_t *plen;
  int partner_after;
} qw_anchors;

/* Finds the anchors of pattern re into *out (freed by qw_anchors_free).
 * Returns 0; -EINVAL when the pattern uses syntax this reader does not
 * handle, or when no anchor set of at least min_bytes per anchor exists
 * (then every match would have to be looked for another way: out->n is 0
 * but max_len and digit_run are still filled in for a pattern the reader
 * understood, and digit_run is 0 otherwise); -ENOMEM. */
int qw_anchors_find(const char *re, size_t min_bytes, qw_anchors *out);

void qw_anchors_free(qw_anchors *a);

#endif
