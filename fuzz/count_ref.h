/* count_ref.h — a brute-force reference for keywords/counter.h: at each
 * position the longest term that starts there, then on after it. The
 * counter fuzz harness and the counter tests compare against it. */
#ifndef QW_COUNT_REF_H
#define QW_COUNT_REF_H

#include <stddef.h>
#include <stdint.h>

/* counts[i] (zeroed first) gets term i's matches in text[0..len); returns
 * their sum. Terms must be distinct and non-empty. */
uint64_t qw_count_ref(const char *const *terms, size_t n_terms,
                      const char *text, size_t len, uint32_t *counts);

#endif
