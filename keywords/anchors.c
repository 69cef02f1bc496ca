/* anchors.c — literal anchors of rule patterns (see anchors.h).
 *
 * A recursive-descent reader computes for every part of the pattern:
 *   exact  the strings the part can match, when there are few of them
 *          (literals, small classes, small alternations, short repeats);
 *   req    a set of strings one of which every match of the part contains
 *          (the best one found below it);
 *   max    its longest match in bytes (-1: unbounded).
 * A sequence multiplies the exact sets of neighbouring parts while the
 * product stays small ("医院" × {同款, 专用, …}), and keeps the best of
 * those runs and of its parts' req sets. An alternation's req is the union
 * of its branches' (each branch must have one). Zero-width parts (^, $,
 * \b, look-arounds) match the empty string.
 *
 * Alongside, for patterns with no literal to hold on to (a phone number
 * is eleven digits), it computes whether every match of a part is ASCII
 * digits only (dig, with the fewest digits dmin) and the longest run of
 * ASCII digits every match contains (drun): a sequence adds up the dmin of
 * neighbouring digit-only parts. [0-9] and literal digits count; \d does
 * not (with Unicode properties it takes other scripts' digits too). */
#include "anchors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rxsyntax.h"
#include "utf8.h"

typedef struct {
  size_t n;
  unsigned char len[QW_ANCHORS_MAX];
  char s[QW_ANCHORS_MAX][QW_ANCHOR_MAX_BYTES];
} sset;

typedef struct {
  sset *exact; /* NULL: not a small finite set */
  sset *req;   /* NULL: none known */
  long max;    /* bytes, -1: unbounded */
  int dig;     /* every match is ASCII digits only (the empty one too) */
  long dmin;   /* dig: the fewest digits a match has */
  long drun;   /* every match holds this many consecutive ASCII digits */
  sset *pair[2]; /* top level only: the two best sets of disjoint parts of
                    the sequence, in pattern order (NULL: fewer than two) */
} info;

/* Longest match length tracked; longer counts as unbounded. */
#define MAX_CAP 1000000L

static void info_free(info *i)
{
  free(i->exact);
  free(i->req);
  free(i->pair[0]);
  free(i->pair[1]);
  i->exact = i->req = i->pair[0] = i->pair[1] = NULL;
}

static sset *set_new(qw_rx_reader *r)
{
  sset *s = malloc(sizeof(*s));
  if(!s) {
    r->err = -ENOMEM;
    return NULL;
  }
  s->n = 0;
  return s;
}

/* Adds b[0..n) unless present; -1 when the set is full or b too long. */
static int set_add(sset *s, const char *b, size_t n)
{
  if(n > QW_ANCHOR_MAX_BYTES)
    return -1;
  for(size_t i = 0; i < s->n; i++)
    if(s->len[i] == n && memcmp(s->s[i], b, n) == 0)
      return 0;
  if(s->n == QW_ANCHORS_MAX)
    return -1;
  memcpy(s->s[s->n], b, n);
  s->len[s->n++] = (unsigned char)n;
  return 0;
}

/* The set {b[0..n)}, or NULL (err set on no memory). */
static sset *set_one(qw_rx_reader *r, const char *b, size_t n)
{
  sset *s = set_new(r);
  if(s && set_add(s, b, n)) {
    free(s);
    return NULL;
  }
  return s;
}

/* Every a·b, or NULL when too many or too long (or no memory). */
static sset *set_product(qw_rx_reader *r, const sset *a, const sset *b)
{
  if(a->n * b->n > QW_ANCHORS_MAX)
    return NULL;
  sset *p = set_new(r);
  if(!p)
    return NULL;
  for(size_t i = 0; i < a->n; i++)
    for(size_t k = 0; k < b->n; k++) {
      size_t n = (size_t)a->len[i] + b->len[k];
      char t[2 * QW_ANCHOR_MAX_BYTES];
      memcpy(t, a->s[i], a->len[i]);
      memcpy(t + a->len[i], b->s[k], b->len[k]);
      if(set_add(p, t, n)) {
        free(p);
        return NULL;
      }
    }
  return p;
}

/* Adds every string of b to a; -1 when a overflows. */
static int set_merge(sset *a, const sset *b)
{
  for(size_t i = 0; i < b->n; i++)
    if(set_add(a, b->s[i], b->len[i]))
      return -1;
  return 0;
}

static sset *set_copy(qw_rx_reader *r, const sset *a)
{
  sset *s = set_new(r);
  if(s)
    memcpy(s, a, sizeof(*s));
  return s;
}

static size_t set_min_len(const sset *s)
{
  size_t m = QW_ANCHOR_MAX_BYTES + 1;
  for(size_t i = 0; i < s->n; i++)
    if(s->len[i] < m)
      m = s->len[i];
  return m;
}

/* 1 when a is a better anchor set than b: longer shortest string (up to
 * three CJK characters), then fewer strings. A set holding the empty
 * string anchors nothing. */
static int set_better(const sset *a, const sset *b)
{
  if(!a || !a->n)
    return 0;
  size_t la = set_min_len(a);
  if(la == 0)
    return 0;
  if(!b || !b->n)
    return 1;
  size_t lb = set_min_len(b);
  if(lb == 0)
    return 1;
  la = la > 9 ? 9 : la;
  lb = lb > 9 ? 9 : lb;
  if(la != lb)
    return la > lb;
  return a->n < b->n;
}

/* Keeps in *best the better of *best and a copy of cand. */
static void consider(qw_rx_reader *r, sset **best, const sset *cand)
{
  if(!cand || !set_better(cand, *best))
    return;
  sset *c = set_copy(r, cand);
  if(!c)
    return;
  free(*best);
  *best = c;
}

/* Sets a's digit facts from its exact set when every member of that is
 * ASCII digits only. */
static void digits_of_exact(info *a)
{
  if(!a->exact || a->dig)
    return;
  long mn = MAX_CAP;
  for(size_t i = 0; i < a->exact->n; i++) {
    for(size_t k = 0; k < a->exact->len[i]; k++)
      if(a->exact->s[i][k] < '0' || a->exact->s[i][k] > '9')
        return;
    if((long)a->exact->len[i] < mn)
      mn = (long)a->exact->len[i];
  }
  a->dig = 1;
  a->dmin = a->drun = a->exact->n ? mn : 0;
}

static long add_max(long a, long b)
{
  if(a < 0 || b < 0 || a + b > MAX_CAP)
    return -1;
  return a + b;
}

/* An atom matching exactly the code point cp (case-insensitively). */
static void lit_info(qw_rx_reader *r, uint32_t cp, info *o)
{
  char u[4];
  size_t n = qw_utf8_encode(cp, u);
  const char *x = qw_rx_extra_fold(cp);
  o->max = (long)(x && strlen(x) > n ? strlen(x) : n);
  if(qw_rx_may_fold(cp))
    return; /* no literal: its case variants are not byte-wise */
  o->exact = set_one(r, u, n);
  if(o->exact && x && set_add(o->exact, x, strlen(x))) {
    free(o->exact);
    o->exact = NULL;
  }
}

/* ---- classes ----------------------------------------------------------- */

/* Adds [lo, hi] to the class set *s (freed and set to NULL when the class
 * is too large or has no byte-wise literal form). */
static void class_range(qw_rx_reader *r, sset **s, long lo, long hi,
                        long *max)
{
  char u[4];
  long top = (long)qw_utf8_encode((uint32_t)hi, u);
  for(const char *f = "kKsS"; *f; f++)
    if(lo <= *f && *f <= hi && (long)strlen(qw_rx_extra_fold((uint32_t)*f)) > top)
      top = (long)strlen(qw_rx_extra_fold((uint32_t)*f));
  if(top > *max)
    *max = top;
  if(!*s)
    return;
  if(qw_rx_range_may_fold((uint32_t)lo, (uint32_t)hi) ||
     hi - lo >= QW_ANCHORS_MAX) {
    free(*s);
    *s = NULL;
    return;
  }
  (void)r;
  for(long c = lo; c <= hi; c++) {
    size_t n = qw_utf8_encode((uint32_t)c, u);
    const char *x = qw_rx_extra_fold((uint32_t)c);
    if(set_add(*s, u, n) || (x && set_add(*s, x, strlen(x)))) {
      free(*s);
      *s = NULL;
      return;
    }
  }
}

static void class_info(qw_rx_reader *r, info *o)
{
  int negated = 0;
  if(*r->p == '^') {
    negated = 1;
    r->p++;
  }
  sset *s = set_new(r);
  long max = 1, lo, hi;
  char set;
  int m, first = 1;
  while(!r->err && (m = qw_rx_class_member(r, first, &lo, &hi, &set)) > 0) {
    first = 0;
    if(m == 2) {
      /* \s \d \w …: no literal form, up to 4 bytes a character */
      max = 4;
      free(s);
      s = NULL;
      continue;
    }
    class_range(r, &s, lo, hi, &max);
  }
  if(negated || r->err || (s && s->n == 0)) {
    free(s);
    s = NULL;
    if(negated)
      max = 4;
  }
  o->exact = s;
  o->max = max;
}

/* ---- the pattern ------------------------------------------------------- */

static void alternation(qw_rx_reader *r, info *o);

static void escape_info(qw_rx_reader *r, info *o)
{
  char e = *r->p++;
  switch(e) {
  case 's': case 'd': case 'w': case 'S': case 'D': case 'W':
    o->max = 4;
    return;
  case 'b':
  case 'B':
    o->exact = set_one(r, "", 0);
    o->max = 0;
    return;
  default: {
    long cp = qw_rx_char_escape(r, e);
    if(cp >= 0) {
      lit_info(r, (uint32_t)cp, o);
      return;
    }
    r->err = -EINVAL; /* \p, \h, \R, \K, \Q, back references … */
  }
  }
}

static void group_info(qw_rx_reader *r, info *o)
{
  int look = qw_rx_group_open(r);
  if(look < 0)
    return;
  info in = {NULL, NULL, 0, 0, 0, 0, {NULL, NULL}};
  alternation(r, &in);
  qw_rx_group_close(r);
  if(look) {
    info_free(&in);
    o->exact = set_one(r, "", 0);
    o->max = 0;
    return;
  }
  *o = in;
}

/* Applies the quantifier {mn, mx} to the atom a, in place. */
static void repeat(qw_rx_reader *r, info *a, long mn, long mx)
{
  sset *ex = NULL;
  if(a->exact && mx >= 0 && mx <= 4) {
    /* the union of a^k for k in [mn, mx], while small */
    sset *pow = set_one(r, "", 0);
    ex = set_new(r);
    for(long k = 0; pow && ex && k <= mx; k++) {
      if(k >= mn && set_merge(ex, pow)) {
        free(ex);
        ex = NULL;
      }
      if(k == mx)
        break;
      sset *next = set_product(r, pow, a->exact);
      free(pow);
      pow = next;
    }
    if(!pow) {
      free(ex);
      ex = NULL;
    }
    free(pow);
  }
  if(a->dig)
    a->dmin = a->drun = a->dmin * mn > MAX_CAP ? MAX_CAP : a->dmin * mn;
  else if(mn == 0)
    a->drun = 0;
  if(mn == 0) {
    free(a->req);
    a->req = NULL;
  }
  else if(!a->req && a->exact)
    consider(r, &a->req, a->exact);
  free(a->exact);
  a->exact = ex;
  if(mx < 0)
    a->max = a->max == 0 ? 0 : -1;
  else if(a->max >= 0)
    a->max = (long)mx * a->max > MAX_CAP ? -1 : (long)mx * a->max;
}

/* The two best sets of disjoint parts seen so far (b[0] the better), with
 * their places in the sequence; cand is taken when it beats b[1]. */
typedef struct {
  sset *b[2];
  unsigned at[2];
} pairs;

static void consider_pair(qw_rx_reader *r, pairs *q, const sset *cand,
                          unsigned at)
{
  if(!cand || !set_better(cand, q->b[1]))
    return;
  sset *c = set_copy(r, cand);
  if(!c)
    return;
  free(q->b[1]);
  q->b[1] = c;
  q->at[1] = at;
  if(set_better(q->b[1], q->b[0])) {
    sset *t = q->b[0];
    unsigned ta = q->at[0];
    q->b[0] = q->b[1];
    q->at[0] = q->at[1];
    q->b[1] = t;
    q->at[1] = ta;
  }
}

static void sequence(qw_rx_reader *r, info *o)
{
  sset *run = set_one(r, "", 0); /* exact product of the current run */
  sset *best = NULL;
  int whole = 1;                 /* every part so far was exact */
  long max = 0;
  int dig = 1;                   /* every part so far was digits only */
  long dsum = 0, dcur = 0, dbest = 0;
  /* at the top level: runs and the req sets of non-exact parts, which
   * cover disjoint parts of the sequence */
  int top = r->depth == 0;
  pairs q = {{NULL, NULL}, {0, 0}};
  unsigned part = 0, run_at = 0;
  while(!r->err && *r->p && *r->p != '|' && *r->p != ')') {
    info a = {NULL, NULL, 0, 0, 0, 0, {NULL, NULL}};
    unsigned char c = (unsigned char)*r->p;
    if(c == '(') {
      r->p++;
      group_info(r, &a);
    }
    else if(c == '[') {
      r->p++;
      class_info(r, &a);
    }
    else if(c == '\\') {
      r->p++;
      escape_info(r, &a);
    }
    else if(c == '.') {
      r->p++;
      a.max = 4;
    }
    else if(c == '^' || c == '$') {
      r->p++;
      a.exact = set_one(r, "", 0);
    }
    else if(c == '?' || c == '*' || c == '+' || c == '{') {
      r->err = -EINVAL;
      break;
    }
    else {
      const unsigned char *s;
      size_t n;
      int64_t cp = qw_rx_next_cp(r, &s, &n);
      if(cp < 0) {
        r->err = -EINVAL;
        break;
      }
      lit_info(r, (uint32_t)cp, &a);
    }
    digits_of_exact(&a);
    long mn = 1, mx = 1;
    if(!r->err && qw_rx_quantifier(r, &mn, &mx))
      repeat(r, &a, mn, mx);
    if(r->err) {
      info_free(&a);
      break;
    }
    max = add_max(max, a.max);
    if(a.dig) {
      dcur = dcur + a.dmin > MAX_CAP ? MAX_CAP : dcur + a.dmin;
      dsum = dsum + a.dmin > MAX_CAP ? MAX_CAP : dsum + a.dmin;
    }
    else {
      dig = 0;
      dcur = 0;
    }
    if(dcur > dbest)
      dbest = dcur;
    if(a.drun > dbest)
      dbest = a.drun;
    sset *p = (run && a.exact) ? set_product(r, run, a.exact) : NULL;
    if(p) {
      free(run);
      run = p;
    }
    else {
      whole = 0;
      consider(r, &best, run);
      if(top)
        consider_pair(r, &q, run, run_at);
      free(run);
      run = a.exact ? set_copy(r, a.exact) : NULL;
      run_at = part + 1;
      if(!a.exact)
        run = set_one(r, "", 0);
    }
    consider(r, &best, a.req);
    if(top && !a.exact)
      consider_pair(r, &q, a.req, part);
    part++;
    info_free(&a);
  }
  consider(r, &best, run);
  if(top)
    consider_pair(r, &q, run, run_at);
  if(q.b[1]) {
    int first = q.at[0] < q.at[1] ? 0 : 1;
    o->pair[0] = q.b[first];
    o->pair[1] = q.b[1 - first];
  }
  else
    free(q.b[0]);
  if(whole && run) {
    o->exact = run;
    run = NULL;
  }
  free(run);
  o->req = best;
  o->max = max;
  o->dig = dig;
  o->dmin = dig ? dsum : 0;
  o->drun = dig ? dsum : dbest;
}

static void alternation(qw_rx_reader *r, info *o)
{
  sequence(r, o);
  while(!r->err && *r->p == '|') {
    r->p++;
    /* the pair of a branch says nothing about the others' matches */
    free(o->pair[0]);
    free(o->pair[1]);
    o->pair[0] = o->pair[1] = NULL;
    info b = {NULL, NULL, 0, 0, 0, 0, {NULL, NULL}};
    sequence(r, &b);
    if(!b.dig)
      o->dig = 0;
    if(b.dmin < o->dmin)
      o->dmin = b.dmin;
    if(b.drun < o->drun)
      o->drun = b.drun;
    if(o->exact && (!b.exact || set_merge(o->exact, b.exact))) {
      free(o->exact);
      o->exact = NULL;
    }
    if(o->req && (!b.req || set_merge(o->req, b.req))) {
      free(o->req);
      o->req = NULL;
    }
    o->max = (o->max < 0 || b.max < 0) ? -1 :
             (o->max > b.max ? o->max : b.max);
    info_free(&b);
  }
}

void qw_anchors_free(qw_anchors *a)
{
  if(!a)
    return;
  free(a->lit);
  free(a->len);
  free(a->plit);
  free(a->plen);
  memset(a, 0, sizeof(*a));
}

static int set_equal(const sset *a, const sset *b)
{
  if(!a || !b || a->n != b->n)
    return 0;
  for(size_t i = 0; i < a->n; i++)
    if(a->len[i] != b->len[i] || memcmp(a->s[i], b->s[i], a->len[i]))
      return 0;
  return 1;
}

/* The partner of the anchor set (anchors.h), when the top-level sequence
 * has two disjoint parts with sets and one of them is the anchor set. */
static int find_partner(const info *in, size_t min_bytes, qw_anchors *out)
{
  const sset *p = NULL;
  if(set_equal(in->req, in->pair[0])) {
    p = in->pair[1];
    out->partner_after = 1;
  }
  else if(set_equal(in->req, in->pair[1]))
    p = in->pair[0];
  if(!p || set_min_len(p) < min_bytes || set_min_len(p) == 0)
    return 0;
  out->plit = calloc(p->n, sizeof(*out->plit));
  out->plen = calloc(p->n, sizeof(*out->plen));
  if(!out->plit || !out->plen)
    return -ENOMEM;
  for(size_t i = 0; i < p->n; i++) {
    memcpy(out->plit[i], p->s[i], p->len[i]);
    out->plen[i] = p->len[i];
  }
  out->n_partner = p->n;
  return 0;
}

int qw_anchors_find(const char *re, size_t min_bytes, qw_anchors *out)
{
  memset(out, 0, sizeof(*out));
  qw_rx_reader r = {re, 0, 0};
  info in = {NULL, NULL, 0, 0, 0, 0, {NULL, NULL}};
  alternation(&r, &in);
  if(!r.err && *r.p)
    r.err = -EINVAL; /* an unmatched ')' */
  int err = r.err;
  if(!err && in.exact)
    consider(&r, &in.req, in.exact);
  if(!err && r.err)
    err = r.err;
  size_t shortest = in.req ? set_min_len(in.req) : 0;
  int no_anchor = !err && (!in.req || shortest == 0 || shortest < min_bytes);
  if(no_anchor)
    err = -EINVAL;
  if(!err) {
    out->lit = calloc(in.req->n, sizeof(*out->lit));
    out->len = calloc(in.req->n, sizeof(*out->len));
    if(!out->lit || !out->len)
      err = -ENOMEM;
  }
  if(err) {
    info_free(&in);
    qw_anchors_free(out);
    if(no_anchor) {
      out->max_len = in.max;
      out->digit_run = (size_t)in.drun;
    }
    return err;
  }
  /* A member holding another member ("医学会", "学会") is kept: taking it
   * out made Hyperscan's compile of the default pack 4x slower (0.03 ->
   * 0.12 s) for the same scan speed. */
  for(size_t i = 0; i < in.req->n; i++) {
    memcpy(out->lit[out->n], in.req->s[i], in.req->len[i]);
    out->len[out->n++] = in.req->len[i];
  }
  out->max_len = in.max;
  out->min_len = shortest;
  out->digit_run = (size_t)in.drun;
  err = find_partner(&in, min_bytes, out);
  info_free(&in);
  if(err)
    qw_anchors_free(out);
  return err;
}
