/* fuzz_numbers.c — libFuzzer harness for number extraction (numbers.h).
 *
 * The input is made valid UTF-8 (invalid bytes become U+FFFD, as the
 * normaliser does), then extracted twice with two different current years
 * and appended to the same array. Checks: offsets inside the text, on
 * character boundaries, never across '\n', results ordered and disjoint,
 * fields NUL-terminated and valid UTF-8, and the year changing only the
 * validity, never what was found. The raw bytes are extracted as well, for
 * robustness only. Any violation aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "numbers.h"
#include "utf8.h"

#define MAX_INPUT (64 * 1024)

static qw_numbers *nx;
static qw_numbers_scratch *sc;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  char err[200];
  if(qw_numbers_new(NULL, NULL, &nx, err, sizeof(err)) != 0) {
    fprintf(stderr, "fuzz_numbers: %s\n", err);
    abort();
  }
  sc = qw_numbers_scratch_new(nx);
  if(!sc)
    abort();
  return 0;
}

static int boundary(const char *t, size_t len, size_t i)
{
  return i == len || ((unsigned char)t[i] & 0xC0) != 0x80;
}

static void check_str(const char *s, size_t cap)
{
  const char *z = memchr(s, '\0', cap);
  if(!z || !qw_utf8_valid(s, (size_t)(z - s)))
    abort();
}

static void check(const char *t, size_t len, const qw_number *v, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    const qw_number *x = &v[i];
    if((unsigned)x->kind >= QW_NUM_KIND_COUNT ||
       (unsigned)x->validity > QW_NUMV_INVALID)
      abort();
    if(x->start >= x->end || x->end > len)
      abort();
    if(!boundary(t, len, x->start) || !boundary(t, len, x->end))
      abort();
    if(memchr(t + x->start, '\n', x->end - x->start))
      abort();
    if(i > 0 && x->start < v[i - 1].end)
      abort();
    check_str(x->text, sizeof(x->text));
    check_str(x->reason, sizeof(x->reason));
    check_str(x->authority, sizeof(x->authority));
    check_str(x->form, sizeof(x->form));
    check_str(x->category, sizeof(x->category));
    if(x->text[0] == '\0')
      abort();
    if((x->validity == QW_NUMV_OK) != (x->reason[0] == '\0'))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  /* Valid UTF-8 copy, exact size so ASan sees any overread. */
  qw_buf b = QW_BUF_INIT;
  const char *in = (const char *)data;
  size_t i = 0;
  while(i < size) {
    uint32_t cp = qw_utf8_next(in, size, &i);
    if(qw_buf_put_utf8(&b, cp) != 0)
      abort();
  }
  size_t len = b.len;
  char *t = malloc(len ? len : 1);
  if(!t)
    abort();
  if(len)
    memcpy(t, b.data, len);
  qw_buf_free(&b);

  unsigned sum = 0;
  for(size_t k = 0; k < size; k++)
    sum += data[k];
  int years[2] = {2026, 2010 + (int)(sum % 25)};

  qw_number *v = NULL;
  size_t n = 0;
  if(qw_numbers_extract(nx, sc, t, len, years[0], &v, &n) != 0)
    abort();
  size_t n1 = n;
  check(t, len, v, n1);
  if(qw_numbers_extract(nx, sc, t, len, years[1], &v, &n) != 0)
    abort();
  if(n != 2 * n1)
    abort();
  if(n1)
    check(t, len, v + n1, n1);
  for(size_t k = 0; k < n1; k++) {
    const qw_number *a = &v[k], *c = &v[n1 + k];
    if(a->start != c->start || a->end != c->end || strcmp(a->text, c->text))
      abort();
    /* The year decides validity only, never the kind. */
    if(a->kind != c->kind)
      abort();
  }
  free(v);
  free(t);

  /* The raw bytes too: outside the contract when they are not UTF-8, but
     it must not crash or report a number outside the text. */
  char *raw = malloc(size ? size : 1);
  if(!raw)
    abort();
  if(size)
    memcpy(raw, data, size);
  v = NULL;
  n = 0;
  if(qw_numbers_extract(nx, sc, raw, size, years[0], &v, &n) != 0)
    abort();
  for(size_t k = 0; k < n; k++) {
    if(v[k].start >= v[k].end || v[k].end > size)
      abort();
    if(k > 0 && v[k].start < v[k - 1].end)
      abort();
  }
  free(v);
  free(raw);
  return 0;
}
