/* fuzz_matcher.c — libFuzzer harness for the matching engine: the first
 * part of the input (up to a NUL byte) describes sets and entries, one a
 * line, the rest is the text to scan (made valid UTF-8, as the normaliser
 * guarantees). Checks the invariants of matcher.h on every result.
 *
 * Entry lines: "s" starts a new set (its negation window is the number
 * after it, e.g. "s6"), "l TERM" a literal, "e TERM" a literal exception,
 * "r PATTERN" a regex, "x PATTERN" a regex exception. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matcher.h"
#include "utf8.h"

#define MAX_INPUT (64u * 1024u)
#define MAX_ENTRIES 48
#define MAX_REGEXES 12
#define MAX_ENTRY_BYTES 48
#define MAX_SETS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_matcher: invariant broken: %s\n", what);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  const char *in = (const char *)data;
  const char *nul = memchr(in, '\0', size);
  size_t spec_len = nul ? (size_t)(nul - in) : size;
  qw_matcher_builder *b = qw_matcher_builder_new();
  if(!b)
    return 0;
  int set = -1, n_sets = 0, n_entries = 0, n_rx = 0;
  uint32_t entries[MAX_SETS] = {0};
  size_t pos = 0;
  char line[MAX_ENTRY_BYTES + 1];
  while(pos < spec_len && n_entries < MAX_ENTRIES) {
    const char *e = memchr(in + pos, '\n', spec_len - pos);
    size_t end = e ? (size_t)(e - in) : spec_len;
    size_t ll = end - pos;
    const char *l = in + pos;
    pos = end + 1;
    if(ll == 0)
      continue;
    if(l[0] == 's' || set < 0) {
      if(n_sets == MAX_SETS)
        break;
      unsigned neg = 0;
      if(l[0] == 's' && ll > 1 && l[1] >= '0' && l[1] <= '9')
        neg = (unsigned)(l[1] - '0');
      set = qw_matcher_builder_new_set(b, "fuzz", neg);
      if(set < 0)
        break;
      n_sets++;
      if(l[0] == 's')
        continue;
    }
    if(ll < 3 || l[1] != ' ')
      continue;
    size_t tl = ll - 2 > MAX_ENTRY_BYTES ? MAX_ENTRY_BYTES : ll - 2;
    memcpy(line, l + 2, tl);
    line[tl] = '\0';
    int r = -1;
    if(l[0] == 'l' || l[0] == 'e')
      r = qw_matcher_builder_add_literal(b, (uint32_t)set, line, tl,
                                         l[0] == 'e');
    else if((l[0] == 'r' || l[0] == 'x') && n_rx < MAX_REGEXES &&
            strlen(line) == tl) {
      char err[128];
      r = qw_matcher_builder_add_regex(b, (uint32_t)set, line, l[0] == 'x',
                                       err, sizeof(err));
      n_rx++;
    }
    if(r >= 0) {
      n_entries++;
      if(l[0] == 'l' || l[0] == 'r') {
        check((uint32_t)r == entries[set], "entry numbering");
        entries[set]++;
      }
    }
  }
  qw_matcher *m = NULL;
  char **notes = NULL;
  size_t nn = 0;
  char err[256];
  int r = qw_matcher_build(b, &m, &notes, &nn, err, sizeof(err));
  qw_matcher_builder_free(b);
  for(size_t i = 0; i < nn; i++)
    free(notes[i]);
  free(notes);
  if(r)
    return 0;
  /* the text: valid UTF-8 re-encoded from whatever follows the NUL */
  size_t tl = nul ? size - spec_len - 1 : 0;
  const char *src = nul ? nul + 1 : "";
  char *text = malloc(tl * 3 + 1);
  qw_match_scratch *s = qw_match_scratch_new(m);
  if(!text || !s) {
    free(text);
    qw_match_scratch_free(s);
    qw_matcher_free(m);
    return 0;
  }
  size_t n = 0;
  for(size_t i = 0; i < tl;) {
    uint32_t cp = qw_utf8_next(src, tl, &i);
    n += qw_utf8_encode(cp, text + n);
  }
  text[n] = '\0';
  qw_hit *h = NULL;
  size_t nh = 0;
  uint8_t bits = tl ? (uint8_t)src[0] : 0xff;
  qw_scan_opts o = {&bits};
  for(int pass = 0; pass < 2; pass++) {
    nh = 0;
    r = qw_matcher_scan(m, s, text, n, pass ? &o : NULL, &h, &nh);
    check(r == 0 || r == -ETIME || r == -ENOMEM, "scan result");
    for(size_t i = 0; i < nh; i++) {
      check(h[i].set < qw_matcher_n_sets(m), "set id");
      check(!pass || ((bits >> h[i].set) & 1), "bitmap");
      check(h[i].start < h[i].end && h[i].end <= n, "range");
      check(!memchr(text + h[i].start, '\n', h[i].end - h[i].start),
            "newline inside a hit");
      check(qw_matcher_entry_text(m, h[i].set, h[i].entry) != NULL,
            "entry index");
      if(i > 0 && h[i - 1].set == h[i].set)
        check(h[i - 1].end <= h[i].start, "order/overlap");
      if(i > 0)
        check(h[i - 1].set <= h[i].set, "set order");
    }
  }
  free(h);
  free(text);
  qw_match_scratch_free(s);
  qw_matcher_free(m);
  return 0;
}
