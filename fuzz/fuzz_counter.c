/* fuzz_counter.c — libFuzzer harness for keywords/counter.h: the terms
 * file reader and the counter. The input is a terms file, a NUL byte, and
 * a text. The terms are read back from a temporary file as a user's would
 * be; when they load, every count must equal the brute-force reference's
 * (fuzz/count_ref.c) and the sum must be the total. Terms are capped so
 * the reference stays fast. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "count_ref.h"
#include "counter.h"

#define MAX_INPUT 8192
#define MAX_TERMS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  const uint8_t *nul = memchr(data, 0, size);
  size_t tl = nul ? (size_t)(nul - data) : size;
  const char *text = nul ? (const char *)nul + 1 : "";
  size_t len = nul ? size - tl - 1 : 0;

  char path[] = "/tmp/fuzz-counter-XXXXXX";
  int fd = mkstemp(path);
  if(fd < 0)
    return 0;
  int wrote = write(fd, data, tl) == (ssize_t)tl;
  close(fd);
  char **terms = NULL;
  size_t n = 0;
  char err[256];
  int r = wrote ? qw_counter_read_terms(path, &terms, &n, err, sizeof(err))
                : -EIO;
  unlink(path);
  if(r != 0)
    return 0;
  size_t use = n > MAX_TERMS ? MAX_TERMS : n;
  qw_counter *c = NULL;
  if(qw_counter_new((const char *const *)terms, use, NULL, 0, &c, err,
                    sizeof(err)) == 0) {
    qw_counter_scratch *s = qw_counter_scratch_new(c);
    qw_counts k;
    if(s && qw_counter_count(c, s, text, len, &k) == 0) {
      size_t d = qw_counter_terms(c);
      const char **dt = malloc((d + 1) * sizeof(*dt));
      uint32_t *ref = malloc((d + 1) * sizeof(*ref));
      if(dt && ref) {
        for(size_t i = 0; i < d; i++)
          dt[i] = qw_counter_term(c, i);
        uint64_t total = qw_count_ref(dt, d, text, len, ref);
        uint64_t sum = 0;
        for(size_t i = 0; i < d; i++) {
          sum += k.hits[i];
          if(k.hits[i] != ref[i]) {
            fprintf(stderr, "fuzz_counter: term %zu \"%s\": %u, reference "
                    "%u\n", i, dt[i], k.hits[i], ref[i]);
            abort();
          }
        }
        if(sum != k.terms || total != k.terms) {
          fprintf(stderr, "fuzz_counter: total %llu, sum %llu, reference "
                  "%llu\n", (unsigned long long)k.terms,
                  (unsigned long long)sum, (unsigned long long)total);
          abort();
        }
      }
      free(dt);
      free(ref);
    }
    qw_counter_scratch_free(s);
    qw_counter_free(c);
  }
  qw_counter_terms_free(terms, n);
  return 0;
}
