/* count_ref.c — brute-force leftmost-longest term counts (count_ref.h). */
#include "count_ref.h"

#include <string.h>

uint64_t qw_count_ref(const char *const *terms, size_t n_terms,
                      const char *text, size_t len, uint32_t *counts)
{
  memset(counts, 0, n_terms * sizeof(*counts));
  uint64_t total = 0;
  size_t p = 0;
  while(p < len) {
    size_t best = 0, best_len = 0;
    for(size_t i = 0; i < n_terms; i++) {
      size_t l = strlen(terms[i]);
      if(l > best_len && l <= len - p && !memcmp(text + p, terms[i], l)) {
        best = i;
        best_len = l;
      }
    }
    if(best_len) {
      counts[best]++;
      total++;
      p += best_len;
    }
    else
      p++;
  }
  return total;
}
