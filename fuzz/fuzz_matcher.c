/* fuzz_matcher.c — libFuzzer harness for the matching engine: the first
 * part of the input (up to a NUL byte) describes sets and entries, one a
 * line, the rest is the text to scan (made valid UTF-8, as the normaliser
 * guarantees). Checks the invariants of matcher.h on every result.
 *
 * Entry lines: "s" starts a new set (its negation window is the number
 * after it, e.g. "s6"), "l TERM" a literal, "e TERM" a literal exception,
 * "r PATTERN" a regex, "x PATTERN" a regex exception.
 *
 * Sets without negation are also compared with a brute-force reference
 * (every literal occurrence, PCRE2 block by block, leftmost-longest,
 * exceptions): any difference is a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "matcher.h"
#include "utf8.h"

#define MAX_INPUT_BYTES (64u * 1024u)
#define MAX_ENTRIES 48
#define MAX_REGEXES 12
#define MAX_ENTRY_BYTES 48
#define MAX_SETS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  int set, exc;
  uint32_t idx;
  char text[MAX_ENTRY_BYTES + 1];
  size_t len;
  pcre2_code *code; /* NULL for a literal */
} ref_entry;

typedef struct {
  uint32_t set, entry;
  size_t start, end;
} ref_hit;

typedef struct {
  ref_hit *v;
  size_t n, cap;
} ref_vec;

static void push(ref_vec *v, uint32_t set, uint32_t entry, size_t s,
                 size_t e)
{
  if(v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 64;
    v->v = realloc(v->v, v->cap * sizeof(*v->v));
    if(!v->v)
      abort();
  }
  ref_hit h = {set, entry, s, e};
  v->v[v->n++] = h;
}

/* All occurrences of e in t (regexes block by block). Returns -1 when
 * PCRE2 hit a limit (the comparison is then skipped). */
static int occurrences(const ref_entry *e, const char *t, size_t len,
                       pcre2_match_data *md, pcre2_match_context *mc,
                       ref_vec *out)
{
  if(!e->code) {
    if(memchr(e->text, '\n', e->len))
      return 0;
    for(size_t i = 0; i + e->len <= len; i++)
      if(memcmp(t + i, e->text, e->len) == 0)
        push(out, (uint32_t)e->set, e->idx, i, i + e->len);
    return 0;
  }
  size_t bs = 0;
  for(;;) {
    const char *nl = memchr(t + bs, '\n', len - bs);
    size_t be = nl ? (size_t)(nl - t) : len;
    PCRE2_SPTR s = (PCRE2_SPTR)(t + bs);
    size_t sl = be - bs, off = 0;
    uint32_t opts = 0;
    while(off <= sl) {
      int rc = pcre2_match(e->code, s, sl, off, opts, md, mc);
      if(rc == PCRE2_ERROR_NOMATCH) {
        if(!opts)
          break;
        opts = 0;
        off++;
        while(off < sl && (s[off] & 0xC0) == 0x80)
          off++;
        continue;
      }
      if(rc < 0)
        return -1;
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      if(ov[1] > ov[0])
        push(out, (uint32_t)e->set, e->idx, bs + ov[0], bs + ov[1]);
      if(ov[1] < ov[0])
        return -1;
      off = ov[1];
      opts = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
      if(ov[1] == ov[0] && off >= sl)
        break;
    }
    if(!nl)
      break;
    bs = be + 1;
  }
  return 0;
}

static int hit_cmp(const void *a, const void *b)
{
  const ref_hit *x = a, *y = b;
  if(x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if(x->end != y->end)
    return x->end > y->end ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* The reference hits of set in t; -1 when PCRE2 hit a limit. */
static int reference(const ref_entry *ents, int n_ents, int set,
                     const char *t, size_t len, ref_vec *out)
{
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  if(!md || !mc)
    abort();
  pcre2_set_match_limit(mc, 1000000);
  pcre2_set_depth_limit(mc, 100000);
  ref_vec c = {0}, x = {0};
  int r = 0;
  for(int i = 0; i < n_ents && r == 0; i++)
    if(ents[i].set == set)
      r = occurrences(&ents[i], t, len, md, mc, ents[i].exc ? &x : &c);
  if(r == 0) {
    if(c.n)
      qsort(c.v, c.n, sizeof(ref_hit), hit_cmp);
    size_t cur = 0;
    for(size_t i = 0; i < c.n; i++) {
      if(c.v[i].start < cur)
        continue;
      cur = c.v[i].end;
      int drop = 0;
      for(size_t k = 0; k < x.n && !drop; k++)
        drop = x.v[k].start < c.v[i].end && x.v[k].end > c.v[i].start;
      if(!drop)
        push(out, c.v[i].set, c.v[i].entry, c.v[i].start, c.v[i].end);
    }
  }
  free(c.v);
  free(x.v);
  pcre2_match_data_free(md);
  pcre2_match_context_free(mc);
  return r;
}

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_matcher: invariant broken: %s\n", what);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT_BYTES)
    return 0;
  const char *in = (const char *)data;
  const char *nul = memchr(in, '\0', size);
  size_t spec_len = nul ? (size_t)(nul - in) : size;
  qw_matcher_builder *b = qw_matcher_builder_new();
  if(!b)
    return 0;
  int set = -1, n_sets = 0, n_entries = 0, n_rx = 0;
  uint32_t entries[MAX_SETS] = {0};
  unsigned negation[MAX_SETS] = {0};
  static ref_entry ents[MAX_ENTRIES];
  size_t pos = 0;
  char line[MAX_ENTRY_BYTES + 1];
  while(pos < spec_len && n_entries < MAX_ENTRIES) {
    const char *eol = memchr(in + pos, '\n', spec_len - pos);
    size_t end = eol ? (size_t)(eol - in) : spec_len;
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
      negation[set] = neg;
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
      ref_entry *e = &ents[n_entries++];
      e->set = set;
      e->exc = l[0] == 'e' || l[0] == 'x';
      e->idx = (uint32_t)r;
      memcpy(e->text, line, tl + 1);
      e->len = tl;
      e->code = NULL;
      if(l[0] == 'r' || l[0] == 'x') {
        int ec;
        PCRE2_SIZE eo;
        e->code = pcre2_compile((PCRE2_SPTR)line, PCRE2_ZERO_TERMINATED,
                                PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS |
                                PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
        check(e->code != NULL, "pattern compiles");
      }
      if(!e->exc) {
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
  if(r) {
    for(int i = 0; i < n_entries; i++)
      pcre2_code_free(ents[i].code);
    return 0;
  }
  /* the text: valid UTF-8 re-encoded from whatever follows the NUL */
  size_t tl = nul ? size - spec_len - 1 : 0;
  const char *src = nul ? nul + 1 : "";
  char *text = malloc(tl * 3 + 1);
  qw_match_scratch *s = qw_match_scratch_new(m);
  if(!text || !s)
    abort();
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
    if(r != 0 || pass)
      continue;
    /* compare with the reference, set by set */
    for(int st = 0; st < n_sets; st++) {
      if(negation[st])
        continue;
      ref_vec want = {0};
      if(reference(ents, n_entries, st, text, n, &want) == 0) {
        size_t k = 0;
        for(size_t i = 0; i < nh; i++) {
          if(h[i].set != (uint32_t)st)
            continue;
          check(k < want.n, "extra hit");
          check(h[i].entry == want.v[k].entry &&
                h[i].start == want.v[k].start && h[i].end == want.v[k].end,
                "hit differs from the reference");
          k++;
        }
        check(k == want.n, "missing hit");
      }
      free(want.v);
    }
  }
  for(int i = 0; i < n_entries; i++)
    pcre2_code_free(ents[i].code);
  free(h);
  free(text);
  qw_match_scratch_free(s);
  qw_matcher_free(m);
  return 0;
}
