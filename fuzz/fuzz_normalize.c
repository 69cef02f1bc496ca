/* fuzz_normalize.c — libFuzzer harness for the normaliser. Arbitrary bytes
 * go in; the harness checks that the output is valid UTF-8 and NUL-
 * terminated, that the map points at source character starts and never
 * decreases, that '\n' survives one for one, that nothing the rules remove
 * or fold is left (upper-case ASCII, full-width ASCII, zero-width
 * characters, tabs, double spaces), that qw_normalize and qw_normalize_into
 * agree, that normalising twice changes nothing, and that source ranges
 * stay inside the input. Input is capped at 256 KiB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "utf8.h"

#define MAX_INPUT (256u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reused across inputs, as the analyser reuses them across fields. */
static qw_norm reuse, again;
static unsigned char *starts;

static void check(int ok)
{
  if(!ok)
    abort();
}

static void check_output(const char *src, size_t len, const qw_norm *n)
{
  check(n->text != NULL && n->map != NULL);
  check(n->text[n->len] == '\0');
  check(qw_utf8_valid(n->text, n->len));
  check(n->map[n->len] == len);

  memset(starts, 0, len + 1);
  size_t p = 0, nl_src = 0;
  while(p < len) {
    starts[p] = 1;
    nl_src += src[p] == '\n';
    qw_utf8_next(src, len, &p);
  }
  size_t q = 0, nl_out = 0;
  uint32_t prev = 0;
  int prev_space = 1;
  while(q < n->len) {
    size_t e = q;
    uint32_t cp = qw_utf8_next(n->text, n->len, &e);
    uint32_t at = n->map[q];
    check(at < len && starts[at] && at >= prev);
    for(size_t b = q; b < e; b++)
      check(n->map[b] == at);
    check(!(cp >= 'A' && cp <= 'Z'));
    check(!(cp >= 0xFF01 && cp <= 0xFF5E));
    check(cp >= 0x20 || cp == '\n');
    check(cp != 0x200B && cp != 0x200D && cp != 0xFEFF && cp != 0xAD &&
          cp != 0x3000 && cp != 0xA0);
    /* no two spaces in a row, no space next to '\n' or at the start */
    check(!(cp == ' ' && prev_space));
    check(!(cp == '\n' && q > 0 && n->text[q - 1] == ' '));
    prev_space = cp == ' ' || cp == '\n';
    nl_out += cp == '\n';
    prev = at;
    q = e;
  }
  check(n->len == 0 || n->text[n->len - 1] != ' ');
  check(nl_src == nl_out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    size = MAX_INPUT;
  const char *src = (const char *)data;
  if(!starts) {
    starts = malloc(MAX_INPUT + 1);
    if(!starts)
      return 0;
  }
  if(qw_normalize_into(src, size, &reuse) != 0)
    return 0; /* out of memory */
  check_output(src, size, &reuse);

  qw_norm fresh;
  if(qw_normalize(src, size, &fresh) == 0) {
    check(fresh.len == reuse.len);
    check(memcmp(fresh.text, reuse.text, reuse.len + 1) == 0);
    check(memcmp(fresh.map, reuse.map,
                 (reuse.len + 1) * sizeof(uint32_t)) == 0);
    qw_norm_free(&fresh);
  }

  if(qw_normalize_into(reuse.text, reuse.len, &again) == 0) {
    check(again.len == reuse.len);
    check(memcmp(again.text, reuse.text, reuse.len) == 0);
  }

  /* Source ranges for a few byte ranges chosen by the input itself. */
  for(size_t r = 0; r + 1 < size && r < 16; r += 2) {
    size_t a = reuse.len ? data[r] % (reuse.len + 1) : 0;
    size_t b = reuse.len ? data[r + 1] % (reuse.len + 1) : 0;
    size_t s0, s1;
    qw_norm_source_range(&reuse, a, b, &s0, &s1);
    check(s0 <= s1 && s1 <= size);
    if(a < b && a < reuse.len) {
      check(s0 == reuse.map[a]);
      check(s1 > s0);
    }
  }
  return 0;
}
