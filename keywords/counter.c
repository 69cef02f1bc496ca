/* counter.c — term and pattern counts (see counter.h). Terms go into one
 * Hyperscan literal database; every match (start, length, term) of a text
 * is collected, sorted by start and then longest first, and taken greedily
 * when it starts at or after the end of the last one taken: the
 * leftmost-longest, non-overlapping count. Patterns run with PCRE2-JIT,
 * one pass each. */
#include "counter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <hs/hs.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define MATCH_LIMIT 10000000u
#define JIT_STACK_MIN (32u * 1024u)
#define JIT_STACK_MAX (1024u * 1024u)

struct qw_counter {
  char **terms;          /* distinct, in first-seen order */
  size_t *lens;
  size_t n_terms;
  hs_database_t *db;     /* NULL when there are no terms */
  char **names;
  pcre2_code **rx;
  size_t n_patterns;
};

typedef struct {
  size_t start;
  uint32_t len, id;
} hit;

struct qw_counter_scratch {
  const qw_counter *c;
  hs_scratch_t *hs;
  hit *hits;
  size_t n_hits, cap_hits;
  int nomem;
  uint32_t *counts;
  uint64_t *pcounts;
  pcre2_match_data *md;
  pcre2_match_context *mc;
  pcre2_jit_stack *js;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
  if(!err || !errlen)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

void qw_counter_free(qw_counter *c)
{
  if(!c)
    return;
  for(size_t i = 0; i < c->n_terms; i++)
    free(c->terms[i]);
  free(c->terms);
  free(c->lens);
  hs_free_database(c->db);
  for(size_t i = 0; i < c->n_patterns; i++) {
    free(c->names[i]);
    pcre2_code_free(c->rx[i]);
  }
  free(c->names);
  free(c->rx);
  free(c);
}

/* Index of term t among c->terms[0..c->n_terms), or n_terms. Linear: only
 * used while building, on lists of a few thousand. */
static int add_term(qw_counter *c, const char *t, size_t *cap)
{
  size_t l = strlen(t);
  for(size_t i = 0; i < c->n_terms; i++)
    if(c->lens[i] == l && !memcmp(c->terms[i], t, l))
      return 0;
  if(c->n_terms == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    char **nt = realloc(c->terms, nc * sizeof(*nt));
    if(!nt)
      return -ENOMEM;
    c->terms = nt;
    size_t *nl = realloc(c->lens, nc * sizeof(*nl));
    if(!nl)
      return -ENOMEM;
    c->lens = nl;
    *cap = nc;
  }
  if(!(c->terms[c->n_terms] = strdup(t)))
    return -ENOMEM;
  c->lens[c->n_terms++] = l;
  return 0;
}

static int build_terms(qw_counter *c, const char *const *terms, size_t n,
                       char *err, size_t errlen)
{
  size_t cap = 0;
  for(size_t i = 0; i < n; i++) {
    if(!terms[i] || !*terms[i]) {
      set_err(err, errlen, "term %zu is empty", i + 1);
      return -EINVAL;
    }
    if(!qw_utf8_valid(terms[i], strlen(terms[i]))) {
      set_err(err, errlen, "term %zu is not valid UTF-8", i + 1);
      return -EINVAL;
    }
    int r = add_term(c, terms[i], &cap);
    if(r)
      return r;
  }
  if(!c->n_terms)
    return 0;
  if(c->n_terms > UINT32_MAX / 2)
    return -E2BIG;
  unsigned *ids = malloc(c->n_terms * sizeof(*ids));
  unsigned *flags = calloc(c->n_terms, sizeof(*flags));
  if(!ids || !flags) {
    free(ids);
    free(flags);
    return -ENOMEM;
  }
  for(size_t i = 0; i < c->n_terms; i++)
    ids[i] = (unsigned)i;
  hs_compile_error_t *ce = NULL;
  hs_error_t he = hs_compile_lit_multi((const char *const *)c->terms, flags,
                                       ids, c->lens, (unsigned)c->n_terms,
                                       HS_MODE_BLOCK, NULL, &c->db, &ce);
  free(ids);
  free(flags);
  if(he != HS_SUCCESS) {
    set_err(err, errlen, "terms: %s", ce && ce->message ? ce->message :
            "Hyperscan cannot compile them");
    hs_free_compile_error(ce);
    return -EINVAL;
  }
  return 0;
}

static int build_patterns(qw_counter *c, const qw_count_pattern *p, size_t n,
                          char *err, size_t errlen)
{
  if(!n)
    return 0;
  c->names = calloc(n, sizeof(*c->names));
  c->rx = calloc(n, sizeof(*c->rx));
  pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
  if(!c->names || !c->rx || !cc) {
    pcre2_compile_context_free(cc);
    return -ENOMEM;
  }
  pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
  int rc = 0;
  for(size_t i = 0; i < n && !rc; i++) {
    if(!p[i].name || !*p[i].name || !p[i].regex || !*p[i].regex) {
      set_err(err, errlen, "pattern %zu: empty name or pattern", i + 1);
      rc = -EINVAL;
      break;
    }
    for(size_t k = 0; k < i; k++) {
      if(!strcmp(c->names[k], p[i].name)) {
        set_err(err, errlen, "pattern %s: the name is given twice",
                p[i].name);
        rc = -EINVAL;
      }
    }
    static const char *const taken[] = {
      "url", "path", "outcome", "status", "terms", "hits", "charset",
      "text_bytes", "error", "body_bytes", "wire_bytes", NULL};
    int is_taken = 0;
    for(int t = 0; taken[t]; t++)
      is_taken |= !strcmp(p[i].name, taken[t]);
    if(is_taken) {
      set_err(err, errlen, "pattern %s: the name is taken by a field of "
              "the output", p[i].name);
      rc = -EINVAL;
    }
    if(rc)
      break;
    if(!(c->names[i] = strdup(p[i].name))) {
      rc = -ENOMEM;
      break;
    }
    c->n_patterns = i + 1;
    int ec;
    PCRE2_SIZE eo;
    c->rx[i] = pcre2_compile((PCRE2_SPTR)p[i].regex, PCRE2_ZERO_TERMINATED,
                             PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo,
                             cc);
    if(!c->rx[i]) {
      PCRE2_UCHAR msg[160];
      pcre2_get_error_message(ec, msg, sizeof(msg));
      set_err(err, errlen, "pattern %s: %s at offset %zu", p[i].name,
              (const char *)msg, (size_t)eo);
      rc = -EINVAL;
      break;
    }
    pcre2_jit_compile(c->rx[i], PCRE2_JIT_COMPLETE); /* else interpreted */
  }
  pcre2_compile_context_free(cc);
  return rc;
}

int qw_counter_new(const char *const *terms, size_t n_terms,
                   const qw_count_pattern *patterns, size_t n_patterns,
                   qw_counter **out, char *err, size_t errlen)
{
  *out = NULL;
  qw_counter *c = calloc(1, sizeof(*c));
  if(!c)
    return -ENOMEM;
  int rc = build_terms(c, terms, n_terms, err, errlen);
  if(!rc)
    rc = build_patterns(c, patterns, n_patterns, err, errlen);
  if(rc) {
    if(rc == -ENOMEM)
      set_err(err, errlen, "out of memory");
    qw_counter_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

size_t qw_counter_terms(const qw_counter *c)
{
  return c->n_terms;
}

const char *qw_counter_term(const qw_counter *c, size_t i)
{
  return i < c->n_terms ? c->terms[i] : NULL;
}

size_t qw_counter_patterns(const qw_counter *c)
{
  return c->n_patterns;
}

const char *qw_counter_pattern_name(const qw_counter *c, size_t i)
{
  return i < c->n_patterns ? c->names[i] : NULL;
}

void qw_counter_scratch_free(qw_counter_scratch *s)
{
  if(!s)
    return;
  hs_free_scratch(s->hs);
  free(s->hits);
  free(s->counts);
  free(s->pcounts);
  pcre2_match_data_free(s->md);
  pcre2_match_context_free(s->mc);
  pcre2_jit_stack_free(s->js);
  free(s);
}

qw_counter_scratch *qw_counter_scratch_new(const qw_counter *c)
{
  qw_counter_scratch *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  s->c = c;
  s->counts = calloc(c->n_terms + 1, sizeof(*s->counts));
  s->pcounts = calloc(c->n_patterns + 1, sizeof(*s->pcounts));
  s->md = pcre2_match_data_create(1, NULL);
  s->mc = pcre2_match_context_create(NULL);
  s->js = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
  if(!s->counts || !s->pcounts || !s->md || !s->mc || !s->js ||
     (c->db && hs_alloc_scratch(c->db, &s->hs) != HS_SUCCESS)) {
    qw_counter_scratch_free(s);
    return NULL;
  }
  pcre2_set_match_limit(s->mc, MATCH_LIMIT);
  pcre2_jit_stack_assign(s->mc, NULL, s->js);
  return s;
}

static int on_hit(unsigned id, unsigned long long from, unsigned long long to,
                  unsigned flags, void *ctx)
{
  (void)from;
  (void)flags;
  qw_counter_scratch *s = ctx;
  if(s->n_hits == s->cap_hits) {
    size_t nc = s->cap_hits ? s->cap_hits * 2 : 4096;
    hit *nh = realloc(s->hits, nc * sizeof(*nh));
    if(!nh) {
      s->nomem = 1;
      return 1; /* stop the scan */
    }
    s->hits = nh;
    s->cap_hits = nc;
  }
  size_t len = s->c->lens[id];
  s->hits[s->n_hits++] = (hit){(size_t)to - len, (uint32_t)len, id};
  return 0;
}

static inline int by_start_longest(const hit *x, const hit *y)
{
  if(x->start != y->start)
    return x->start < y->start ? -1 : 1;
  return x->len > y->len ? -1 : x->len < y->len;
}

static int count_terms(const qw_counter *c, qw_counter_scratch *s,
                       const char *text, size_t len, uint64_t *total)
{
  memset(s->counts, 0, c->n_terms * sizeof(*s->counts));
  *total = 0;
  if(!c->db || !len)
    return 0;
  s->n_hits = 0;
  s->nomem = 0;
  hs_error_t he = hs_scan(c->db, text, (unsigned)len, 0, s->hs, on_hit, s);
  if(s->nomem)
    return -ENOMEM;
  if(he != HS_SUCCESS)
    return -EIO;
  /* Hyperscan reports by end offset; the greedy pass wants start order.
   * A hit starts at most the longest term's length before its end, so the
   * list is nearly sorted: insertion sort moves each hit a few places
   * (qsort was 4 % of a whole count run). */
  for(size_t i = 1; i < s->n_hits; i++) {
    hit h = s->hits[i];
    size_t k = i;
    while(k > 0 && by_start_longest(&s->hits[k - 1], &h) > 0) {
      s->hits[k] = s->hits[k - 1];
      k--;
    }
    s->hits[k] = h;
  }
  size_t next = 0;
  for(size_t i = 0; i < s->n_hits; i++) {
    const hit *h = &s->hits[i];
    if(h->start < next)
      continue;
    s->counts[h->id]++;
    (*total)++;
    next = h->start + h->len;
  }
  return 0;
}

static int count_pattern(qw_counter_scratch *s, const pcre2_code *rx,
                         const char *text, size_t len, uint64_t *n)
{
  *n = 0;
  PCRE2_SIZE at = 0;
  while(at <= len) {
    int r = pcre2_match(rx, (PCRE2_SPTR)text, len, at, 0, s->md, s->mc);
    if(r == PCRE2_ERROR_NOMATCH)
      return 0;
    if(r < 0)
      return -EIO;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    (*n)++;
    if(ov[1] > ov[0]) {
      at = ov[1];
      continue;
    }
    /* an empty match: step over one character */
    at = ov[1] + 1;
    while(at < len && ((unsigned char)text[at] & 0xC0) == 0x80)
      at++;
  }
  return 0;
}

int qw_counter_count(const qw_counter *c, qw_counter_scratch *s,
                     const char *text, size_t len, qw_counts *out)
{
  uint64_t total = 0;
  int rc = count_terms(c, s, text, len, &total);
  for(size_t k = 0; k < c->n_patterns; k++) {
    int r = count_pattern(s, c->rx[k], text, len, &s->pcounts[k]);
    if(r && !rc)
      rc = r;
  }
  out->terms = total;
  out->hits = s->counts;
  out->pattern = s->pcounts;
  return rc;
}

void qw_counter_terms_free(char **terms, size_t n)
{
  for(size_t i = 0; i < n; i++)
    free(terms[i]);
  free(terms);
}

int qw_counter_read_terms(const char *path, char ***terms, size_t *n,
                          char *err, size_t errlen)
{
  *terms = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if(!f) {
    int e = errno;
    set_err(err, errlen, "%s: %s", path, strerror(e));
    return -e;
  }
  char **v = NULL;
  size_t nv = 0, cap = 0, lineno = 0;
  char *line = NULL;
  size_t lcap = 0;
  ssize_t got;
  int rc = 0;
  while((got = getline(&line, &lcap, f)) >= 0) {
    lineno++;
    size_t l = (size_t)got;
    while(l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
      l--;
    line[l] = '\0';
    if(!l)
      continue;
    if(memchr(line, '\0', l) || !qw_utf8_valid(line, l)) {
      set_err(err, errlen, "%s:%zu: not a UTF-8 term", path, lineno);
      rc = -EINVAL;
      break;
    }
    if(nv == cap) {
      size_t nc = cap ? cap * 2 : 256;
      char **nn = realloc(v, nc * sizeof(*nn));
      if(!nn) {
        rc = -ENOMEM;
        break;
      }
      v = nn;
      cap = nc;
    }
    if(!(v[nv] = strdup(line))) {
      rc = -ENOMEM;
      break;
    }
    nv++;
  }
  if(!rc && ferror(f)) {
    rc = -EIO;
    set_err(err, errlen, "%s: read error", path);
  }
  if(rc == -ENOMEM)
    set_err(err, errlen, "%s: out of memory", path);
  free(line);
  fclose(f);
  if(rc) {
    qw_counter_terms_free(v, nv);
    return rc;
  }
  *terms = v;
  *n = nv;
  return 0;
}
