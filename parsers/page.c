/* page.c — HTML into the page model (see page.h): a cheap pre-scan that
 * defuses inputs on which Gumbo 0.10.1 goes quadratic, one Gumbo parse into
 * a scratch arena under a memory and CPU budget, one iterative walk into our
 * own block texts, tables and lists, then the tree is dropped with its
 * arena. Everything the page keeps is copied into the page's own arena. */
#include "page.h"

#include <errno.h>
#include <gumbo.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsonld.h"
#include "rawtext.h"
#include "url.h"
#include "utf8.h"

/* ===== limits ===== */

#define DEF_MAX_NODES 200000
#define DEF_MAX_DEPTH 512
#define DEF_MAX_ATTRS 64
#define PARAM_KEY_MAX 20      /* code points in a parameter name: licence
                                 labels such as 第二类医疗器械经营备案凭证
                                 are 13 */
#define PARAM_VALUE_MAX 1024  /* bytes in a table or list parameter value */
#define COLON_VALUE_MAX 256   /* bytes in a "key：value" value */
#define COLON_ELEM_MAX 1024   /* inline elements longer than this are not
                                 tried as "key：value" */
#define MAX_JSONLD_VALUES 512 /* JSON-LD values kept per page */
#define MAX_STATE_VALUES 128  /* embedded-state values kept per page */
#define MAX_STATE_SCANS 32    /* state assignments looked at per page (each
                                 search and scan is linear in the script) */
#define MAX_TYPES 64
#define MAX_LINKS 20000
#define MAX_IMAGES 5000
#define MAX_META 64           /* og/product meta kept */
#define ROW_STACK 32          /* nested tables followed for parameters */
#define HEADING_MAX 4096      /* bytes of one heading kept */
#define STOREFRONT_LINKS 20   /* product links that make a shop home */
/* 1 = text inside elements with the hidden attribute or an inline
 * display:none / visibility:hidden style is left out of the visible-text
 * fields (BODY, and so HEADING, PARAMS, ALT). Off: shops hide whole tab
 * panels (规格参数, 商品详情) that way and show them on a click, so the
 * registration number often sits in "hidden" text that a visitor sees. */
#define HIDE_HIDDEN 0

/* Gumbo's budget: arena bytes and CPU time per parse. Normal pages use
 * about 6 bytes of arena per input byte and parse at 20+ MB/s; tag-dense
 * input ("<td></td>" …) about 50 bytes per byte. Only the quadratic cases
 * the pre-scan does not foresee should reach it. */
#define GUMBO_MEM_BASE (16u << 20)
#define GUMBO_MEM_PER_BYTE 64u
#define GUMBO_NS_BASE 1000000000LL  /* a retry on a prefix gets a quarter */
#define GUMBO_NS_PER_BYTE 200LL

/* The pre-scan keeps the estimated open-element depth at 3/4 of max_depth
 * (within [PS_DEPTH_MIN, PS_DEPTH_MAX]), the active formatting list below
 * PS_FMT_CAP entries, and attributes per tag below max(max_attrs,
 * PS_ATTR_MIN). */
#define PS_DEPTH_MIN 16u
#define PS_DEPTH_MAX 1024u
#define PS_FMT_CAP 16u
#define PS_FMT_SLOTS 64u
#define PS_ATTR_MIN 256u
#define PS_KEEP_OVER 64u      /* raw-text elements allowed over the cap */
#define PS_DEEP_UNMATCHED 64u /* above this depth unmatched end tags go */

/* ===== names ===== */

static const char *const field_names[QW_FIELD_COUNT] = {
  "title", "heading", "meta", "body", "alt", "params", "jsonld", "og"};

static const char *const type_names[] = {
  "unknown", "product", "storefront", "platform", "other"};

const char *qw_field_name(qw_field f)
{
  return (unsigned)f < QW_FIELD_COUNT ? field_names[f] : "?";
}

int qw_field_from_name(const char *name, size_t len)
{
  if(!name)
    return -1;
  for(int i = 0; i < QW_FIELD_COUNT; i++) {
    if(strlen(field_names[i]) == len && !strncasecmp(field_names[i], name,
                                                     len))
      return i;
  }
  return -1;
}

const char *qw_page_type_name(qw_page_type t)
{
  return (unsigned)t <= QW_PAGE_OTHER ? type_names[t] : "?";
}

int qw_page_type_from_name(const char *name)
{
  if(!name)
    return -1;
  for(int i = 0; i <= QW_PAGE_OTHER; i++) {
    if(!strcasecmp(type_names[i], name))
      return i;
  }
  return -1;
}

/* ===== small helpers ===== */

static const unsigned char ws_tab[256] = {
  [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\f'] = 1};

#define IS_WS(c) (ws_tab[(unsigned char)(c)])

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
  const unsigned char *s = p;
  for(size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

#define HASH_INIT 0xcbf29ce484222325ULL

/* A set of strings or string pairs (open addressing on a 64-bit hash,
 * bytes compared on a match) for de-duplication. The strings must outlive
 * the set. */
typedef struct {
  uint64_t h;
  const char *a, *b;
  size_t al, bl;
} hent;

typedef struct {
  hent *e;
  size_t cap, n;
} hset;

static int hs_grow(hset *s)
{
  size_t cap = s->cap ? s->cap * 2 : 64;
  hent *ne = calloc(cap, sizeof(*ne));
  if(!ne)
    return -ENOMEM;
  for(size_t i = 0; i < s->cap; i++) {
    if(!s->e[i].a)
      continue;
    size_t j = (size_t)s->e[i].h & (cap - 1);
    while(ne[j].a)
      j = (j + 1) & (cap - 1);
    ne[j] = s->e[i];
  }
  free(s->e);
  s->e = ne;
  s->cap = cap;
  return 0;
}

/* Adds the pair (a, b) (b may be NULL): 1 when added, 0 when already
 * there, -ENOMEM. */
static int hs_add(hset *s, const char *a, size_t al, const char *b,
                  size_t bl)
{
  if((s->n + 1) * 2 > s->cap && hs_grow(s))
    return -ENOMEM;
  uint64_t h = hash_bytes(HASH_INIT, a, al);
  h = hash_bytes(h ^ 0xff, b ? b : "", bl);
  size_t j = (size_t)h & (s->cap - 1);
  while(s->e[j].a) {
    hent *e = &s->e[j];
    if(e->h == h && e->al == al && e->bl == bl && !memcmp(e->a, a, al) &&
       (!bl || !memcmp(e->b, b, bl)))
      return 0;
    j = (j + 1) & (s->cap - 1);
  }
  s->e[j] = (hent){h, a, b, al, bl};
  s->n++;
  return 1;
}

static void hs_free(hset *s)
{
  free(s->e);
  s->e = NULL;
  s->cap = s->n = 0;
}

/* Gumbo's strings are meant to be UTF-8, but not all are (a numeric
 * character reference too big for an int comes out as garbage). Appends
 * s[0..n) to out with every byte that does not start a valid sequence
 * turned into U+FFFD and NULs dropped. */
static int utf8_repair(qw_buf *out, const char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    size_t k = qw__utf8_prefix(s + i, n - i);
    if(qw_buf_append(out, s + i, k))
      return -ENOMEM;
    i += k;
    if(i < n) {
      if(s[i] && qw_buf_append(out, "\xEF\xBF\xBD", 3))
        return -ENOMEM;
      i++;
    }
  }
  return 0;
}

/* Copies s[0..n) into the arena as valid UTF-8 with white-space runs
 * collapsed to one space and both ends trimmed; *outlen gets the
 * length. */
static char *collapse_dup(qw_arena *a, const char *s, size_t n,
                          size_t *outlen)
{
  qw_buf fix = QW_BUF_INIT;
  if(qw__utf8_prefix(s, n) != n) {
    if(utf8_repair(&fix, s, n)) {
      qw_buf_free(&fix);
      return NULL;
    }
    s = fix.data ? fix.data : "";
    n = fix.len;
  }
  char *o = qw_arena_alloc(a, n + 1);
  if(!o) {
    qw_buf_free(&fix);
    return NULL;
  }
  size_t k = 0;
  int space = 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(IS_WS(c) || c == '\v') {
      space = 1;
      continue;
    }
    if(c == 0)
      continue;
    if(space && k)
      o[k++] = ' ';
    space = 0;
    o[k++] = (char)c;
  }
  o[k] = '\0';
  if(outlen)
    *outlen = k;
  qw_buf_free(&fix);
  return o;
}

/* ===== block texts ===== */

typedef struct {
  qw_buf b;
  size_t bstart;        /* offset of the current block's first byte */
  unsigned char open;   /* the current block has text */
  unsigned char sep;    /* a block ended: '\n' due before more text */
  unsigned char space;  /* white space since the last byte in this block */
  unsigned char ws;     /* white space since the last byte at all */
  qw_buf *sepws;        /* BODY only: per separator, was there white space */
} tbuild;

static int tb_text(tbuild *t, const char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    if(IS_WS(s[i])) {
      t->space = t->ws = 1;
      i++;
      continue;
    }
    size_t j = i + 1;
    while(j < n && !IS_WS(s[j]))
      j++;
    if(t->open) {
      if(t->space && qw_buf_putc(&t->b, ' '))
        return -ENOMEM;
    }
    else {
      if(t->sep) {
        if(qw_buf_putc(&t->b, '\n'))
          return -ENOMEM;
        if(t->sepws && qw_buf_putc(t->sepws, (char)t->ws))
          return -ENOMEM;
      }
      t->open = 1;
      t->sep = 0;
      t->bstart = t->b.len;
    }
    if(qw_buf_append(&t->b, s + i, j - i))
      return -ENOMEM;
    t->space = t->ws = 0;
    i = j;
  }
  return 0;
}

static void tb_break(tbuild *t)
{
  if(t->open) {
    t->open = 0;
    t->sep = 1;
  }
  t->space = 0;
}

/* Adds s[0..n) as a block of its own (nothing when it is blank). */
static int tb_block(tbuild *t, const char *s, size_t n)
{
  tb_break(t);
  int r = tb_text(t, s, n);
  tb_break(t);
  return r;
}

/* tb_text() for a string from Gumbo: repaired first when it is not UTF-8
 * (fix is scratch space). */
static int tb_text_gumbo(tbuild *t, qw_buf *fix, const char *s, size_t n)
{
  if(qw__utf8_prefix(s, n) == n)
    return tb_text(t, s, n);
  qw_buf_reset(fix);
  if(utf8_repair(fix, s, n))
    return -ENOMEM;
  return tb_text(t, fix->data ? fix->data : "", fix->len);
}

/* ===== the builder ===== */

typedef struct {
  qw_page pub;
  const char *joined;       /* qw_page_body_joined() cache */
  size_t joined_len;
  const unsigned char *sepws;
  size_t n_sep;
} page_impl;

typedef struct {
  GumboNode *node;
  size_t start;
  unsigned ncells;
  size_t cs[4], ce[4];
} row_state;

typedef struct {
  page_impl *pi;
  qw_page *p;
  qw_arena *a;
  size_t max_nodes;
  unsigned max_depth, max_attrs;
  tbuild f[QW_FIELD_COUNT];
  qw_buf sepws;
  qw_buf params, og, jsonld, types; /* arrays of qw_kv / const char * */
  qw_buf links, images;             /* raw hrefs (arena strings) */
  qw_buf scratch, scratch2, fix;
  hset kvset, typeset;
  const char *base_href, *canon_href;
  int have_title, have_h1, have_desc, have_kw;
  row_state rows[ROW_STACK];
  unsigned nrows;
  int dt_ok;
  size_t dt_s, dt_e;
  size_t last_param_at;
  int any_param;
  size_t n_jsonld_vals, n_state_vals;
  int in_state;
  unsigned n_state_scans;
  int product_type, og_product;
  const char *src;   /* the input the pre-scan read */
  int text_only;     /* qw_page_options.text_only */
  qw_buf scripts;    /* script contents taken out of Gumbo's: qw_span */
  int err;
} builder;

static void set_err(builder *b, int r)
{
  if(r < 0 && !b->err)
    b->err = r;
}

static int push_ptr(qw_buf *arr, const void *ptr)
{
  return qw_buf_append(arr, &ptr, sizeof(ptr));
}

/* BODY[s..e) with block separators turned into spaces and trimmed, in
 * b->scratch (or scratch2 when second is set). */
static const char *range_text(builder *b, size_t s, size_t e, size_t *n,
                              int second)
{
  qw_buf *o = second ? &b->scratch2 : &b->scratch;
  const char *d = b->f[QW_FIELD_BODY].b.data;
  qw_buf_reset(o);
  while(s < e && (d[s] == '\n' || d[s] == ' '))
    s++;
  while(e > s && (d[e - 1] == '\n' || d[e - 1] == ' '))
    e--;
  if(s < e && qw_buf_append(o, d + s, e - s)) {
    set_err(b, -ENOMEM);
    *n = 0;
    return "";
  }
  for(size_t i = 0; i < o->len; i++) {
    if(o->data[i] == '\n')
      o->data[i] = ' ';
  }
  *n = o->len;
  return o->len ? o->data : "";
}

/* ----- parameters ----- */

static int is_colon(const char *s, size_t n, size_t i, size_t *clen)
{
  if(s[i] == ':') {
    *clen = 1;
    return 1;
  }
  if(n - i >= 3 && (unsigned char)s[i] == 0xEF &&
     (unsigned char)s[i + 1] == 0xBC && (unsigned char)s[i + 2] == 0x9A) {
    *clen = 3;
    return 1;
  }
  return 0;
}

static void trim(const char **s, size_t *n)
{
  while(*n && ((*s)[0] == ' ' || (*s)[0] == '\n')) {
    (*s)++;
    (*n)--;
  }
  while(*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\n'))
    (*n)--;
}

/* A parameter name: 1..PARAM_KEY_MAX code points, at least one letter (Han
 * or ASCII), no colon and no sentence punctuation inside (a label is not a
 * sentence: "如有问题请联系：" is not a name). */
static int key_ok(const char *k, size_t n)
{
  size_t i = 0, cps = 0;
  int letter = 0;
  while(i < n) {
    size_t cl;
    if(is_colon(k, n, i, &cl))
      return 0;
    uint32_t cp = qw_utf8_next(k, n, &i);
    if(++cps > PARAM_KEY_MAX)
      return 0;
    if(cp == 0xFF0C || cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F ||
       cp == 0xFF1B || cp == ',' || cp == ';' || cp == '!' || cp == '?')
      return 0;
    if((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
       qw_utf8_is_han(cp))
      letter = 1;
  }
  return cps > 0 && letter;
}

/* k and v come from BODY: already collapsed, valid UTF-8. */
static int add_param(builder *b, const char *k, size_t kn, const char *v,
                     size_t vn, size_t at)
{
  trim(&k, &kn);
  for(;;) {
    size_t cl;
    if(kn >= 1 && k[kn - 1] == ':')
      kn -= 1;
    else if(kn >= 3 && is_colon(k, kn, kn - 3, &cl) && cl == 3)
      kn -= 3;
    else
      break;
    trim(&k, &kn);
  }
  trim(&v, &vn);
  if(!key_ok(k, kn) || vn == 0 || vn > PARAM_VALUE_MAX)
    return 0;
  qw_kv kv;
  size_t kl = kn, vl = vn;
  char *ks = qw_arena_strndup(b->a, k, kn);
  char *vs = qw_arena_strndup(b->a, v, vn);
  if(!ks || !vs)
    return -ENOMEM;
  kv.key = ks;
  kv.value = vs;
  tbuild *t = &b->f[QW_FIELD_PARAMS];
  tb_break(t);
  if(tb_text(t, ks, kl) || tb_text(t, ": ", 2) || tb_text(t, vs, vl) ||
     qw_buf_append(&b->params, &kv, sizeof(kv)))
    return -ENOMEM;
  tb_break(t);
  b->last_param_at = at;
  b->any_param = 1;
  return 0;
}

/* "key：value" / "key: value" with a short key. */
static int colon_param(builder *b, const char *s, size_t n, size_t at)
{
  size_t i = 0, cps = 0;
  while(i < n && cps <= PARAM_KEY_MAX) {
    size_t cl;
    if(is_colon(s, n, i, &cl)) {
      const char *v = s + i + cl;
      size_t vn = n - i - cl;
      if(cl == 1 && i > 0 && vn > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' &&
         v[0] >= '0' && v[0] <= '9')
        return 0; /* a time of day, 9:00 */
      trim(&v, &vn);
      if(vn > COLON_VALUE_MAX || (vn >= 2 && v[0] == '/' && v[1] == '/'))
        return 0; /* a sentence, or a URL */
      return add_param(b, s, i, v, vn, at);
    }
    qw_utf8_next(s, n, &i);
    cps++;
  }
  return 0;
}

static int contains_param(const builder *b, size_t start)
{
  return b->any_param && b->last_param_at >= start;
}

/* Ends the current BODY block; a block shaped "key：value" is a
 * parameter unless an element inside it was one already. */
static void body_break(builder *b)
{
  tbuild *t = &b->f[QW_FIELD_BODY];
  if(t->open) {
    size_t s = t->bstart, e = t->b.len;
    tb_break(t);
    if(!contains_param(b, s))
      set_err(b, colon_param(b, t->b.data + s, e - s, s));
  }
  else
    t->space = 0;
}

/* A two-cell row, a dt/dd pair: the key cell may end in a colon but hold
 * no other. */
static void pair_param(builder *b, size_t ks, size_t ke, size_t vs,
                       size_t ve, size_t at)
{
  size_t kn, vn;
  /* big cells (layout tables) are not looked at, let alone copied: the
   * +2 allows for a leading separator and space */
  if(ke - ks > PARAM_KEY_MAX * 4 + 2 || ve - vs > PARAM_VALUE_MAX + 2)
    return;
  const char *k = range_text(b, ks, ke, &kn, 0);
  const char *v = range_text(b, vs, ve, &vn, 1);
  set_err(b, add_param(b, k, kn, v, vn, at));
}

/* ===== pre-scan ===== */

enum {
  PS_VOID = 1 << 0,
  PS_SPECIAL = 1 << 1,
  PS_BOUND = 1 << 2,   /* scope boundary */
  PS_PCLOSE = 1 << 3,  /* closes an open <p> */
  PS_FMT = 1 << 4,     /* formatting element */
  PS_MARKER = 1 << 5,  /* pushes a formatting-list marker */
  PS_RAW = 1 << 6,     /* raw text content */
  PS_KEEP = 1 << 7,    /* never removed (content would become text) */
  PS_BLOCK = 1 << 8,   /* replaced by <br> rather than dropped */
  PS_BREAKOUT = 1 << 9,
  PS_HEADING = 1 << 10,
  PS_NOPUSH = 1 << 11,
  PS_TABLEPART = 1 << 12
};

#define SP PS_SPECIAL
#define PB (PS_SPECIAL | PS_PCLOSE | PS_BLOCK)
#define PBO (PS_SPECIAL | PS_PCLOSE | PS_BLOCK | PS_BREAKOUT)
#define FM (PS_FMT | PS_BREAKOUT)
#define VD (PS_VOID | PS_SPECIAL)
#define HD (PBO | PS_HEADING)
#define RW (PS_SPECIAL | PS_RAW | PS_KEEP)
#define MK (PS_SPECIAL | PS_BOUND | PS_MARKER)

static const uint16_t ps_info[GUMBO_TAG_LAST + 1] = {
  [GUMBO_TAG_HTML] = SP | PS_BOUND | PS_NOPUSH,
  [GUMBO_TAG_HEAD] = SP | PS_NOPUSH | PS_BREAKOUT,
  [GUMBO_TAG_BODY] = SP | PS_NOPUSH | PS_BREAKOUT,
  [GUMBO_TAG_TITLE] = RW,
  [GUMBO_TAG_BASE] = VD,
  [GUMBO_TAG_LINK] = VD,
  [GUMBO_TAG_META] = VD | PS_BREAKOUT,
  [GUMBO_TAG_STYLE] = RW,
  [GUMBO_TAG_SCRIPT] = RW,
  [GUMBO_TAG_NOSCRIPT] = SP | PS_KEEP,
  [GUMBO_TAG_TEMPLATE] = MK | PS_KEEP,
  [GUMBO_TAG_ARTICLE] = PB,
  [GUMBO_TAG_SECTION] = PB,
  [GUMBO_TAG_NAV] = PB,
  [GUMBO_TAG_ASIDE] = PB,
  [GUMBO_TAG_H1] = HD,
  [GUMBO_TAG_H2] = HD,
  [GUMBO_TAG_H3] = HD,
  [GUMBO_TAG_H4] = HD,
  [GUMBO_TAG_H5] = HD,
  [GUMBO_TAG_H6] = HD,
  [GUMBO_TAG_HGROUP] = PB,
  [GUMBO_TAG_HEADER] = PB,
  [GUMBO_TAG_FOOTER] = PB,
  [GUMBO_TAG_ADDRESS] = PB,
  [GUMBO_TAG_P] = PBO,
  [GUMBO_TAG_HR] = VD | PS_PCLOSE | PS_BREAKOUT,
  [GUMBO_TAG_PRE] = PBO,
  [GUMBO_TAG_BLOCKQUOTE] = PBO,
  [GUMBO_TAG_OL] = PBO,
  [GUMBO_TAG_UL] = PBO,
  [GUMBO_TAG_LI] = PBO,
  [GUMBO_TAG_DL] = PBO,
  [GUMBO_TAG_DT] = PBO,
  [GUMBO_TAG_DD] = PBO,
  [GUMBO_TAG_FIGURE] = PB,
  [GUMBO_TAG_FIGCAPTION] = PB,
  [GUMBO_TAG_MAIN] = PB,
  [GUMBO_TAG_DIV] = PBO,
  [GUMBO_TAG_A] = PS_FMT,
  [GUMBO_TAG_EM] = FM,
  [GUMBO_TAG_STRONG] = FM,
  [GUMBO_TAG_SMALL] = FM,
  [GUMBO_TAG_S] = FM,
  [GUMBO_TAG_CODE] = FM,
  [GUMBO_TAG_VAR] = PS_BREAKOUT,
  [GUMBO_TAG_SUB] = PS_BREAKOUT,
  [GUMBO_TAG_SUP] = PS_BREAKOUT,
  [GUMBO_TAG_I] = FM,
  [GUMBO_TAG_B] = FM,
  [GUMBO_TAG_U] = FM,
  [GUMBO_TAG_RUBY] = PS_BREAKOUT,
  [GUMBO_TAG_SPAN] = PS_BREAKOUT,
  [GUMBO_TAG_BR] = VD | PS_BREAKOUT,
  [GUMBO_TAG_WBR] = VD,
  [GUMBO_TAG_IMAGE] = VD,
  [GUMBO_TAG_IMG] = VD | PS_BREAKOUT,
  [GUMBO_TAG_IFRAME] = RW,
  [GUMBO_TAG_EMBED] = VD | PS_BREAKOUT,
  [GUMBO_TAG_OBJECT] = MK,
  [GUMBO_TAG_PARAM] = VD,
  [GUMBO_TAG_SOURCE] = VD,
  [GUMBO_TAG_TRACK] = VD,
  [GUMBO_TAG_AREA] = VD,
  [GUMBO_TAG_MI] = SP | PS_BOUND,
  [GUMBO_TAG_MO] = SP | PS_BOUND,
  [GUMBO_TAG_MN] = SP | PS_BOUND,
  [GUMBO_TAG_MS] = SP | PS_BOUND,
  [GUMBO_TAG_MTEXT] = SP | PS_BOUND,
  [GUMBO_TAG_ANNOTATION_XML] = SP | PS_BOUND,
  [GUMBO_TAG_FOREIGNOBJECT] = SP | PS_BOUND,
  [GUMBO_TAG_DESC] = SP | PS_BOUND,
  [GUMBO_TAG_TABLE] = PBO | PS_BOUND,
  [GUMBO_TAG_CAPTION] = MK | PS_BLOCK,
  [GUMBO_TAG_COLGROUP] = SP | PS_BLOCK,
  [GUMBO_TAG_COL] = VD,
  [GUMBO_TAG_TBODY] = SP | PS_BLOCK | PS_TABLEPART,
  [GUMBO_TAG_THEAD] = SP | PS_BLOCK | PS_TABLEPART,
  [GUMBO_TAG_TFOOT] = SP | PS_BLOCK | PS_TABLEPART,
  [GUMBO_TAG_TR] = SP | PS_BLOCK,
  [GUMBO_TAG_TD] = MK | PS_BLOCK,
  [GUMBO_TAG_TH] = MK | PS_BLOCK,
  [GUMBO_TAG_FORM] = PB,
  [GUMBO_TAG_FIELDSET] = PB,
  [GUMBO_TAG_INPUT] = VD,
  [GUMBO_TAG_BUTTON] = SP | PS_BOUND | PS_BLOCK,
  [GUMBO_TAG_SELECT] = SP | PS_BLOCK,
  [GUMBO_TAG_OPTGROUP] = PS_BLOCK,
  [GUMBO_TAG_OPTION] = PS_BLOCK,
  [GUMBO_TAG_TEXTAREA] = RW,
  [GUMBO_TAG_KEYGEN] = VD,
  [GUMBO_TAG_DETAILS] = PB,
  [GUMBO_TAG_SUMMARY] = PB,
  [GUMBO_TAG_MENU] = PBO,
  [GUMBO_TAG_APPLET] = MK,
  [GUMBO_TAG_BGSOUND] = VD,
  [GUMBO_TAG_DIR] = PB,
  [GUMBO_TAG_FRAME] = VD,
  [GUMBO_TAG_FRAMESET] = SP | PS_NOPUSH,
  [GUMBO_TAG_NOFRAMES] = RW,
  [GUMBO_TAG_ISINDEX] = VD,
  [GUMBO_TAG_LISTING] = PBO,
  [GUMBO_TAG_XMP] = RW | PS_PCLOSE,
  [GUMBO_TAG_NOEMBED] = RW,
  [GUMBO_TAG_PLAINTEXT] = RW | PS_PCLOSE,
  [GUMBO_TAG_STRIKE] = FM,
  [GUMBO_TAG_BASEFONT] = VD,
  [GUMBO_TAG_BIG] = FM,
  [GUMBO_TAG_CENTER] = PBO,
  [GUMBO_TAG_FONT] = FM,
  [GUMBO_TAG_MARQUEE] = MK,
  [GUMBO_TAG_NOBR] = FM,
  [GUMBO_TAG_TT] = FM,
};

#undef SP
#undef PB
#undef PBO
#undef FM
#undef VD
#undef HD
#undef RW
#undef MK

typedef struct {
  uint16_t tag;
  int32_t prev_same, prev_bound, prev_special;
} ps_ent;

typedef struct {
  uint16_t tag; /* UINT16_MAX: a marker */
  uint32_t attrs;
} ps_fmt;

typedef struct {
  const char *in;
  size_t len;
  qw_buf out;        /* the rewritten input, when something changed */
  size_t copied;     /* input bytes accounted for in out */
  int changed;
  int lossy;         /* something was removed, not only closed */
  size_t cur;        /* offset of the tag being looked at */
  int32_t target;    /* element being closed by its own end tag, or -1 */
  size_t cut;        /* input is cut here (len when not) */
  ps_ent *st;
  unsigned depth, cap, keep_over;
  int32_t top[GUMBO_TAG_LAST + 1];
  int32_t top_bound, top_special;
  ps_fmt fmt[PS_FMT_SLOTS];
  unsigned nfmt;
  unsigned max_attrs;
  int strip;         /* script and style content still goes (see ps_strip) */
  unsigned walk_attrs; /* the walk reads this many attributes a tag */
  int template_seen;
  qw_buf *scripts;   /* script contents taken out: qw_span pairs */
  int err;
} prescan;

static void ps_put(prescan *ps, size_t from, size_t to, const char *with)
{
  if(ps->err)
    return;
  if(qw_buf_append(&ps->out, ps->in + ps->copied, from - ps->copied) ||
     qw_buf_puts(&ps->out, with)) {
    ps->err = -ENOMEM;
    return;
  }
  ps->copied = to;
  ps->changed = 1;
}

static void ps_fmt_clear_to_marker(prescan *ps)
{
  while(ps->nfmt) {
    if(ps->fmt[--ps->nfmt].tag == UINT16_MAX)
      break;
  }
}

static void ps_fmt_remove(prescan *ps, unsigned i)
{
  memmove(&ps->fmt[i], &ps->fmt[i + 1],
          (ps->nfmt - i - 1) * sizeof(ps->fmt[0]));
  ps->nfmt--;
}

/* Index of the last formatting entry for tag after the last marker. */
static int ps_fmt_find(const prescan *ps, unsigned tag)
{
  for(unsigned i = ps->nfmt; i-- > 0;) {
    if(ps->fmt[i].tag == UINT16_MAX)
      return -1;
    if(ps->fmt[i].tag == tag)
      return (int)i;
  }
  return -1;
}

static void ps_pop(prescan *ps)
{
  ps_ent *e = &ps->st[--ps->depth];
  uint16_t info = ps_info[e->tag];
  if((info & PS_FMT) && (int32_t)ps->depth != ps->target) {
    /* A formatting element closed by something other than its end tag
     * stays in Gumbo's active formatting list and is re-created in every
     * following block (quadratic with many of them): close it here. */
    int i = ps_fmt_find(ps, e->tag);
    if(i >= 0) {
      char end[24];
      ps_fmt_remove(ps, (unsigned)i);
      snprintf(end, sizeof(end), "</%s>", gumbo_normalized_tagname(e->tag));
      ps_put(ps, ps->cur, ps->cur, end);
    }
  }
  ps->top[e->tag] = e->prev_same;
  if(info & PS_BOUND)
    ps->top_bound = e->prev_bound;
  if(info & PS_SPECIAL)
    ps->top_special = e->prev_special;
  if(info & PS_MARKER)
    ps_fmt_clear_to_marker(ps);
}

static void ps_pop_to(prescan *ps, int32_t pos)
{
  while(pos >= 0 && ps->depth > (unsigned)pos)
    ps_pop(ps);
}

static void ps_push(prescan *ps, unsigned tag)
{
  uint16_t info = ps_info[tag];
  ps_ent *e = &ps->st[ps->depth];
  e->tag = (uint16_t)tag;
  e->prev_same = ps->top[tag];
  ps->top[tag] = (int32_t)ps->depth;
  e->prev_bound = ps->top_bound;
  e->prev_special = ps->top_special;
  if(info & PS_BOUND)
    ps->top_bound = (int32_t)ps->depth;
  if(info & PS_SPECIAL)
    ps->top_special = (int32_t)ps->depth;
  ps->depth++;
  if((info & PS_MARKER) && ps->nfmt < PS_FMT_SLOTS)
    ps->fmt[ps->nfmt++] = (ps_fmt){UINT16_MAX, 0};
}

static int32_t max32(int32_t a, int32_t b)
{
  return a > b ? a : b;
}

static int ps_foreign(const prescan *ps)
{
  int32_t f = max32(ps->top[GUMBO_TAG_SVG], ps->top[GUMBO_TAG_MATH]);
  if(f < 0)
    return 0;
  int32_t h = max32(max32(ps->top[GUMBO_TAG_FOREIGNOBJECT],
                          ps->top[GUMBO_TAG_DESC]),
                    max32(ps->top[GUMBO_TAG_MTEXT],
                          ps->top[GUMBO_TAG_ANNOTATION_XML]));
  return f > h;
}

/* Gumbo puts a tbody around rows and a tr around cells that lack one:
 * push what it implies (a cell implies a tbody and a tr). 1 when the depth
 * cap leaves no room. */
static int ps_implied(prescan *ps, unsigned tag)
{
  int32_t sect = max32(max32(ps->top[GUMBO_TAG_TBODY],
                             ps->top[GUMBO_TAG_THEAD]),
                       ps->top[GUMBO_TAG_TFOOT]);
  int need_sect = sect < ps->top[GUMBO_TAG_TABLE];
  unsigned need = (unsigned)need_sect + (tag == GUMBO_TAG_TR);
  if(ps->depth + need >= ps->cap)
    return 1;
  if(need_sect)
    ps_push(ps, GUMBO_TAG_TBODY);
  if(tag == GUMBO_TAG_TR)
    ps_push(ps, GUMBO_TAG_TR);
  return 0;
}

/* Models what a start tag does to the open elements; returns 0 to keep
 * it, 1 to drop it, 2 to replace it with <br>, 3 to cut the input. */
static int ps_start(prescan *ps, unsigned tag, uint32_t attrs, int selfclose)
{
  uint16_t info = ps_info[tag];
  if((tag == GUMBO_TAG_SVG || tag == GUMBO_TAG_MATH) && selfclose)
    return 0;
  if(ps_foreign(ps)) {
    if(!(info & PS_BREAKOUT)) {
      if(selfclose)
        return 0;
      if(ps->depth >= ps->cap)
        return 1;
      ps_push(ps, tag);
      return 0;
    }
    ps_pop_to(ps, max32(ps->top[GUMBO_TAG_SVG], ps->top[GUMBO_TAG_MATH]));
  }
  if(info & PS_NOPUSH)
    return 0;
  if((info & PS_PCLOSE) && ps->top[GUMBO_TAG_P] > ps->top_bound)
    ps_pop_to(ps, ps->top[GUMBO_TAG_P]);
  if((info & PS_HEADING) && ps->depth &&
     (ps_info[ps->st[ps->depth - 1].tag] & PS_HEADING))
    ps_pop(ps);
  int32_t t;
  switch(tag) {
  case GUMBO_TAG_LI:
    t = ps->top[GUMBO_TAG_LI];
    if(t > max32(max32(ps->top[GUMBO_TAG_UL], ps->top[GUMBO_TAG_OL]),
                 ps->top_bound))
      ps_pop_to(ps, t);
    break;
  case GUMBO_TAG_DD:
  case GUMBO_TAG_DT:
    t = max32(ps->top[GUMBO_TAG_DD], ps->top[GUMBO_TAG_DT]);
    if(t > max32(ps->top[GUMBO_TAG_DL], ps->top_bound))
      ps_pop_to(ps, t);
    break;
  case GUMBO_TAG_TD:
  case GUMBO_TAG_TH:
    t = max32(ps->top[GUMBO_TAG_TD], ps->top[GUMBO_TAG_TH]);
    if(t > ps->top[GUMBO_TAG_TABLE])
      ps_pop_to(ps, t);
    if(ps->top[GUMBO_TAG_TABLE] >= 0 &&
       ps->top[GUMBO_TAG_TR] < ps->top[GUMBO_TAG_TABLE] &&
       ps_implied(ps, GUMBO_TAG_TR))
      return 2;
    break;
  case GUMBO_TAG_TR:
    t = ps->top[GUMBO_TAG_TR];
    if(t > ps->top[GUMBO_TAG_TABLE])
      ps_pop_to(ps, t);
    if(ps->top[GUMBO_TAG_TABLE] >= 0 && ps_implied(ps, GUMBO_TAG_TBODY))
      return 2;
    break;
  case GUMBO_TAG_TBODY:
  case GUMBO_TAG_THEAD:
  case GUMBO_TAG_TFOOT:
    t = max32(max32(ps->top[GUMBO_TAG_TBODY], ps->top[GUMBO_TAG_THEAD]),
              ps->top[GUMBO_TAG_TFOOT]);
    if(t > ps->top[GUMBO_TAG_TABLE])
      ps_pop_to(ps, t);
    break;
  case GUMBO_TAG_TABLE:
    t = ps->top[GUMBO_TAG_TABLE];
    if(t >= 0 && t > max32(max32(ps->top[GUMBO_TAG_TD],
                                 ps->top[GUMBO_TAG_TH]),
                           ps->top[GUMBO_TAG_CAPTION]))
      ps_pop_to(ps, t);
    break;
  case GUMBO_TAG_OPTION:
  case GUMBO_TAG_OPTGROUP:
    if(ps->depth && ps->st[ps->depth - 1].tag == GUMBO_TAG_OPTION)
      ps_pop(ps);
    if(tag == GUMBO_TAG_OPTGROUP && ps->depth &&
       ps->st[ps->depth - 1].tag == GUMBO_TAG_OPTGROUP)
      ps_pop(ps);
    break;
  case GUMBO_TAG_BUTTON:
  case GUMBO_TAG_SELECT:
    t = ps->top[tag];
    if(t >= 0)
      ps_pop_to(ps, t);
    break;
  case GUMBO_TAG_A:
  case GUMBO_TAG_NOBR: {
    int i = ps_fmt_find(ps, tag);
    if(i >= 0) {
      ps_fmt_remove(ps, (unsigned)i);
      ps->target = ps->top[tag];
      ps_pop_to(ps, ps->top[tag]);
      ps->target = -1;
    }
    break;
  }
  default:
    break;
  }
  if(info & PS_VOID)
    return 0;
  if(info & PS_FMT) {
    /* Noah's Ark: three equal entries at most after the last marker */
    unsigned same = 0, live = 0;
    int first = -1;
    for(unsigned i = ps->nfmt; i-- > 0;) {
      if(ps->fmt[i].tag == UINT16_MAX)
        break;
      live++;
      if(ps->fmt[i].tag == tag && ps->fmt[i].attrs == attrs) {
        same++;
        first = (int)i;
      }
    }
    if(same >= 3) {
      ps_fmt_remove(ps, (unsigned)first);
      live--;
    }
    if(live >= PS_FMT_CAP || ps->nfmt >= PS_FMT_SLOTS ||
       ps->depth >= ps->cap)
      return 1;
    ps_push(ps, tag);
    ps->fmt[ps->nfmt++] = (ps_fmt){(uint16_t)tag, attrs};
    return 0;
  }
  if(ps->depth >= ps->cap) {
    if(info & PS_KEEP) {
      if(++ps->keep_over > PS_KEEP_OVER)
        return 3;
      if(ps->depth >= ps->cap + PS_KEEP_OVER)
        return 3;
      ps_push(ps, tag);
      return 0;
    }
    return (info & PS_BLOCK) ? 2 : 1;
  }
  ps_push(ps, tag);
  return 0;
}

/* Models an end tag; returns 0 to keep it, 1 to drop it, 2 to replace it
 * with <br>. */
static int ps_end(prescan *ps, unsigned tag)
{
  uint16_t info = ps_info[tag];
  int32_t pos = ps->top[tag];
  if(info & (PS_NOPUSH | PS_VOID))
    return 0;
  if(pos < 0) {
    if(ps->depth <= PS_DEEP_UNMATCHED)
      return 0;
    return tag == GUMBO_TAG_P ? 2 : 1;
  }
  if(info & PS_FMT) {
    int i = ps_fmt_find(ps, tag);
    if(i >= 0)
      ps_fmt_remove(ps, (unsigned)i);
    ps->target = pos;
    ps_pop_to(ps, pos);
    ps->target = -1;
  }
  else if(info & (PS_BOUND | PS_TABLEPART)) {
    ps_pop_to(ps, pos);
  }
  else if(tag == GUMBO_TAG_TR || (info & PS_SPECIAL)) {
    if(pos > ps->top_bound)
      ps_pop_to(ps, pos);
  }
  else if(pos > ps->top_special || ps_foreign(ps)) {
    ps_pop_to(ps, pos);
  }
  return 0;
}

static int is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One attribute of a tag: its name s[ns..ns+nl), and s[ns..end) the whole
 * attribute, name through value. */
typedef struct {
  size_t ns, nl, end;
} ps_attr;

/* Reads the next attribute of a tag from s[*i..n) as the tokenizer does:
 * white space and '/' separate, the first character belongs to the name
 * (even '='), a value is quoted or runs to white space or '>'. Returns 1
 * with *a and *i after it; 0 at the tag's '>' (*i on it); -1 when the tag
 * runs to n. *selfclose (may be NULL) is set on "/>". */
static int ps_next_attr(const char *s, size_t n, size_t *pi, ps_attr *a,
                        int *selfclose)
{
  size_t i = *pi;
  while(i < n && (IS_WS(s[i]) || s[i] == '/')) {
    if(selfclose && s[i] == '/' && i + 1 < n && s[i + 1] == '>')
      *selfclose = 1;
    i++;
  }
  *pi = i;
  if(i >= n)
    return -1;
  if(s[i] == '>')
    return 0;
  a->ns = i++;
  while(i < n && !IS_WS(s[i]) && s[i] != '/' && s[i] != '>' && s[i] != '=')
    i++;
  a->nl = i - a->ns;
  a->end = i;
  while(i < n && IS_WS(s[i]))
    i++;
  if(i < n && s[i] == '=') {
    i++;
    while(i < n && IS_WS(s[i]))
      i++;
    if(i < n && (s[i] == '"' || s[i] == '\'')) {
      const char *q = memchr(s + i + 1, s[i], n - i - 1);
      if(!q)
        return -1;
      i = (size_t)(q - s) + 1;
    }
    else {
      while(i < n && !IS_WS(s[i]) && s[i] != '>')
        i++;
    }
    a->end = i;
  }
  *pi = i;
  return 1;
}

/* Reads the attributes of a tag from s[i] up to and including '>'.
 * Returns the offset after '>' or 0 when the tag does not end. */
static size_t ps_attrs(const char *s, size_t n, size_t i, unsigned max,
                       unsigned *count, size_t *cut_at, uint32_t *hash,
                       int *selfclose)
{
  size_t start = i;
  ps_attr at;
  int r;
  *count = 0;
  *cut_at = 0;
  *selfclose = 0;
  while((r = ps_next_attr(s, n, &i, &at, selfclose)) == 1) {
    if(++*count == max)
      *cut_at = i;
  }
  if(r < 0)
    return 0;
  *hash = (uint32_t)hash_bytes(HASH_INIT, s + start, i - start);
  return i + 1;
}

/* ----- script and style content, outside Gumbo -----
 *
 * Gumbo tokenizes script and style content one code point at a time, into
 * text nodes nobody reads as text: on shop pages, with their state blobs
 * and inline CSS, that is a fifth of the bytes and of the parse. The
 * pre-scan finds where that content ends by the tokenizer's own states
 * (rawtext.h) and hands Gumbo the element with a placeholder instead
 * (script) or empty (style); the walk reads the script's content from the
 * side list. Gumbo builds the same tree, with one text node less per style.
 *
 * That holds while the pre-scan knows the tokenizer state Gumbo is in.
 * Where the tree builder, not the tokenizer, decides whether a start tag
 * opens raw text, the pre-scan stops taking content out for the rest of the
 * page: foreign content (svg, math: <script> there is markup, and
 * integration points and breakout tags make the state hard to follow), a
 * select (it ignores <style>), a frameset (it ignores <script>), and a
 * column group inside a template (it ignores both). */

typedef struct {
  size_t off, len;
} qw_span;

/* Test hook: 1 leaves script and style content to Gumbo (this thread). */
void qw__page_no_strip(int on);
static _Thread_local int no_strip;
void qw__page_no_strip(int on)
{
  no_strip = on;
}

static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;
static unsigned long long script_nonce;

static void nonce_init(void)
{
  unsigned long long v = 0;
  if(getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v = (unsigned long long)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^
        (unsigned long long)ts.tv_sec ^ (unsigned long long)getpid() << 32;
  }
  script_nonce = v | 1;
}

/* The placeholder of the idx-th script taken out; a page cannot forge it
 * without knowing the process's nonce. */
static int script_placeholder(char *out, size_t cap, size_t idx)
{
  pthread_once(&nonce_once, nonce_init);
  return snprintf(out, cap, "/*qw-%016llx-%zu*/", script_nonce, idx);
}

#define PLACEHOLDER_MAX 48

static int selfclose_foreign(unsigned tag, int selfclose)
{
  return selfclose && (tag == GUMBO_TAG_SVG || tag == GUMBO_TAG_MATH);
}

/* 1 when the start tag takes the rest of the page out of what ps_strip may
 * touch (see above). */
static int ps_taints(prescan *ps, unsigned tag)
{
  switch(tag) {
  case GUMBO_TAG_SVG:
  case GUMBO_TAG_MATH:
  case GUMBO_TAG_SELECT:
  case GUMBO_TAG_FRAMESET:
    return 1;
  case GUMBO_TAG_TEMPLATE:
    ps->template_seen = 1;
    return 0;
  case GUMBO_TAG_COL:
  case GUMBO_TAG_COLGROUP:
    return ps->template_seen;
  default:
    return 0;
  }
}

/* Takes in[from..to), the content of a script or style, out of Gumbo's
 * input. */
static void ps_strip(prescan *ps, unsigned tag, size_t from, size_t to)
{
  char ph[PLACEHOLDER_MAX] = "";
  if(tag == GUMBO_TAG_SCRIPT) {
    qw_span sp = {from, to - from};
    size_t idx = ps->scripts->len / sizeof(sp);
    script_placeholder(ph, sizeof(ph), idx);
    if(qw_buf_append(ps->scripts, &sp, sizeof(sp))) {
      ps->err = -ENOMEM;
      return;
    }
  }
  ps_put(ps, from, to, ph);
}

/* Attributes the walk reads (enter()) or that change what Gumbo builds
 * (input type), tag by tag; every other attribute of an element is taken
 * out of Gumbo's input with the script and style
 * content: class, data-*, on*, srcset, … are a fifth of a shop page's
 * bytes and Gumbo tokenizes them one code point at a time. Formatting
 * elements keep theirs (the "Noah's Ark" rule compares attributes), except
 * <a>: a new <a> first closes the one still open, so there are never three
 * to compare. isindex keeps its own (its prompt becomes text). */
static int name_is(const char *a, size_t n, const char *w)
{
  size_t k = 0;
  while(k < n && w[k] && lower((unsigned char)a[k]) == w[k])
    k++;
  return k == n && !w[k];
}

/* 1 when the walk (enter()) reads attribute a[0..n) on tag, or Gumbo acts
 * on it (input type). */
static int attr_kept(unsigned tag, const char *a, size_t n)
{
  static const char *const lazy[] = {
    "data-src", "data-original", "data-ks-lazyload", "data-lazy-src",
    "data-lazyload", "data-lazy", NULL};
#if HIDE_HIDDEN
  if(name_is(a, n, "style") || name_is(a, n, "hidden"))
    return 1;
#endif
  switch(tag) {
  case GUMBO_TAG_HTML:
    return name_is(a, n, "lang");
  case GUMBO_TAG_SCRIPT:
    return name_is(a, n, "type") || name_is(a, n, "id");
  case GUMBO_TAG_BASE:
  case GUMBO_TAG_A:
    return name_is(a, n, "href");
  case GUMBO_TAG_LINK:
    return name_is(a, n, "href") || name_is(a, n, "rel");
  case GUMBO_TAG_META:
    return name_is(a, n, "name") || name_is(a, n, "property") ||
           name_is(a, n, "content");
  case GUMBO_TAG_AREA:
    return name_is(a, n, "href") || name_is(a, n, "alt");
  case GUMBO_TAG_INPUT:
    return name_is(a, n, "type") || name_is(a, n, "alt");
  case GUMBO_TAG_IMG:
  case GUMBO_TAG_IMAGE:
    if(name_is(a, n, "src") || name_is(a, n, "alt") ||
       name_is(a, n, "title"))
      return 1;
    for(int i = 0; lazy[i]; i++)
      if(name_is(a, n, lazy[i]))
        return 1;
    return 0;
  case GUMBO_TAG_SVG:
  case GUMBO_TAG_MATH:
    return 1; /* foreign content follows: left as it is */
  default:
    return 0;
  }
}

/* 1 when every attribute name of the tag in[i..te) is printable ASCII. */
static int attr_names_plain(const char *s, size_t i, size_t te)
{
  ps_attr at;
  while(ps_next_attr(s, te, &i, &at, NULL) == 1) {
    for(size_t k = at.ns; k < at.ns + at.nl; k++) {
      unsigned char c = (unsigned char)s[k];
      if(c < 0x20 || c >= 0x7F)
        return 0;
    }
  }
  return 1;
}

/* Fixes the attributes of the start tag in[i..te) (i just after its name)
 * that start before limit (later ones are being cut): a repeated name goes
 * always — Gumbo 0.10, with error recording off, glues the name of the
 * attribute after a duplicate to the duplicate's ("xx xx content=d"
 * becomes "xxcontent"), and the HTML standard keeps the first anyway — and,
 * with drop_unread, so does every attribute attr_kept() does not keep.
 * Name through value go; the separators stay. */
static void ps_fix_attrs(prescan *ps, unsigned tag, size_t i, size_t te,
                         int drop_unread, size_t limit)
{
  const char *s = ps->in;
  /* Names are compared as ASCII: a tag with a name Gumbo would rewrite (a
   * NUL goes, other controls and bad bytes become U+FFFD, so "\x01a" and
   * "\x02a" are one name to it) stays as it is. */
  if(!attr_names_plain(s, i, te))
    return;
  struct {
    size_t off, len;
    uint32_t hash;
  } seen[PS_ATTR_MIN];
  unsigned n_seen = 0;
  ps_attr at;
  while(ps_next_attr(s, te, &i, &at, NULL) == 1 && at.ns < limit) {
    size_t ns = at.ns, nl = at.nl, ae = at.end;
    uint32_t h = 2166136261u;
    for(size_t k = 0; k < nl; k++)
      h = (h ^ (uint32_t)lower((unsigned char)s[ns + k])) * 16777619u;
    int dup = 0;
    for(unsigned k = 0; k < n_seen && !dup; k++)
      dup = seen[k].hash == h && seen[k].len == nl &&
            !strncasecmp(s + seen[k].off, s + ns, nl);
    if(!dup && n_seen < PS_ATTR_MIN) {
      seen[n_seen].off = ns;
      seen[n_seen].len = nl;
      seen[n_seen++].hash = h;
    }
    /* Kept when the next attribute's name starts with '=': without this
     * one in between, "<a f x="" =y>" would give y to f as its value. */
    size_t nx = ae;
    while(nx < te && (IS_WS(s[nx]) || s[nx] == '/'))
      nx++;
    int binds = nx < te && s[nx] == '=';
    /* after a '/', a space: "<svg/x>" must not become the self-closing
     * "<svg/>" */
    if((dup || (drop_unread && !attr_kept(tag, s + ns, nl))) && !binds)
      ps_put(ps, ns, ae, ns > 0 && s[ns - 1] == '/' ? " " : "");
  }
}

/* Rewrites in[0..len) where Gumbo would go quadratic: start tags beyond
 * the depth cap become <br> (block elements) or go (inline ones), formatting
 * elements beyond the active-list cap go, attributes beyond the cap go,
 * unmatched end tags deep in the tree go. Text is never removed, except
 * that the input is cut at a raw-text element nested absurdly deep. */
static void ps_run(prescan *ps)
{
  const char *s = ps->in;
  size_t n = ps->len, i = 0;
  while(i < n && !ps->err) {
    const char *lt = memchr(s + i, '<', n - i);
    if(!lt)
      break;
    i = (size_t)(lt - s);
    if(i + 1 >= n)
      break;
    char c = s[i + 1];
    if(c == '!') {
      if(n - i >= 4 && s[i + 2] == '-' && s[i + 3] == '-') {
        i = qw_html_comment_end(s, n, i + 4);
        continue;
      }
      if(ps_foreign(ps) && n - i >= 9 && !memcmp(s + i + 2, "[CDATA[", 7)) {
        const char *e = memmem(s + i + 9, n - i - 9, "]]>", 3);
        i = e ? (size_t)(e - s) + 3 : n;
        continue;
      }
      const char *e = memchr(s + i, '>', n - i);
      i = e ? (size_t)(e - s) + 1 : n;
      continue;
    }
    if(c == '?' || (c == '/' && (i + 2 >= n || !is_alpha(s[i + 2])))) {
      const char *e = memchr(s + i + 1, '>', n - i - 1);
      i = e ? (size_t)(e - s) + 1 : n;
      continue;
    }
    int end = c == '/';
    size_t ns = i + 1 + (size_t)end;
    if(!is_alpha(s[ns])) {
      i++;
      continue;
    }
    size_t ne = ns;
    while(ne < n && !IS_WS(s[ne]) && s[ne] != '/' && s[ne] != '>')
      ne++;
    unsigned tag = gumbo_tagn_enum(s + ns, (unsigned)(ne - ns));
    if(tag > GUMBO_TAG_LAST)
      tag = GUMBO_TAG_UNKNOWN;
    unsigned count;
    size_t cut_at;
    uint32_t hash = 0;
    int selfclose;
    size_t te = ps_attrs(s, n, ne, ps->max_attrs, &count, &cut_at, &hash,
                         &selfclose);
    if(!te)
      break; /* a tag running to the end: Gumbo drops it */
    ps->cur = i;
    int act = end ? ps_end(ps, tag) : ps_start(ps, tag, hash, selfclose);
    if(act == 3) {
      ps->cut = i;
      ps->lossy = 1;
      break;
    }
    if(act)
      ps->lossy = 1;
    if(act == 1)
      ps_put(ps, i, te, "");
    else if(act == 2)
      ps_put(ps, i, te, "<br>");
    else if(!end && count > ps->max_attrs) {
      ps_fix_attrs(ps, tag, ne, te, 0, cut_at);
      ps_put(ps, cut_at, te, selfclose ? "/>" : ">");
      ps->lossy = 1;
    }
    else if(!end && count) {
      int drop = ps->strip && count <= ps->walk_attrs &&
                 (!(ps_info[tag] & PS_FMT) || tag == GUMBO_TAG_A) &&
                 tag != GUMBO_TAG_ISINDEX;
      if(drop || count > 1)
        ps_fix_attrs(ps, tag, ne, te, drop, te);
    }
    i = te;
    if(!end && !selfclose_foreign(tag, selfclose) && ps_taints(ps, tag))
      ps->strip = 0;
    if(!end && act == 0 && (ps_info[tag] & PS_RAW) && !ps_foreign(ps)) {
      if(tag == GUMBO_TAG_PLAINTEXT)
        break;
      const char *name = gumbo_normalized_tagname((GumboTag)tag);
      size_t ce = tag == GUMBO_TAG_SCRIPT
                      ? qw_html_script_end(s, n, i)
                      : qw_html_rawtext_end(s, n, i, name, strlen(name));
      if(ps->strip && ce > i &&
         (tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE))
        ps_strip(ps, tag, i, ce);
      i = ce;
    }
  }
}

/* Runs the pre-scan; on return *html and *len is what Gumbo should parse
 * (ps->out when rewritten or cut). 1 when anything was removed, 0 when not
 * (formatting elements may have been closed), -ENOMEM. */
static int prescan_input(prescan *ps, const char **html, size_t *len,
                         builder *b)
{
  /* below the walk's depth cap, so that what Gumbo builds is walked */
  unsigned cap = b->max_depth - b->max_depth / 4;
  if(cap < PS_DEPTH_MIN)
    cap = PS_DEPTH_MIN;
  if(cap > PS_DEPTH_MAX)
    cap = PS_DEPTH_MAX;
  ps->in = *html;
  ps->len = *len;
  ps->out = (qw_buf)QW_BUF_INIT;
  ps->copied = 0;
  ps->changed = 0;
  ps->lossy = 0;
  ps->cur = 0;
  ps->target = -1;
  ps->cut = *len;
  ps->cap = cap;
  ps->depth = 0;
  ps->keep_over = 0;
  ps->nfmt = 0;
  ps->err = 0;
  ps->max_attrs = b->max_attrs > PS_ATTR_MIN ? b->max_attrs : PS_ATTR_MIN;
  ps->strip = !no_strip;
  ps->walk_attrs = b->max_attrs;
  ps->template_seen = 0;
  ps->scripts = &b->scripts;
  ps->st = malloc((cap + PS_KEEP_OVER + 1) * sizeof(*ps->st));
  if(!ps->st)
    return -ENOMEM;
  for(unsigned t = 0; t <= GUMBO_TAG_LAST; t++)
    ps->top[t] = -1;
  ps->top_bound = ps->top_special = -1;
  ps_run(ps);
  free(ps->st);
  ps->st = NULL;
  if(ps->err)
    return ps->err;
  if(!ps->changed && ps->cut == *len)
    return 0;
  if(qw_buf_append(&ps->out, ps->in + ps->copied, ps->cut - ps->copied))
    return -ENOMEM;
  *html = ps->out.data ? ps->out.data : "";
  *len = ps->out.len;
  return ps->lossy;
}

/* Gumbo 0.10 reads a numeric character reference into an int that wraps:
 * when the value modulo 2^32 is negative it emits bytes that are not UTF-8,
 * and at -1 (&#xFFFFFFFF, &#4294967295) it also swallows the character
 * after the reference, even the '<' of the next tag or the quote that ends
 * an attribute value, so that markup a browser sees becomes text. Such a
 * reference means U+FFFD (it is over U+10FFFF): it is rewritten to
 * "&#xFFFD" before anything reads the input. Returns 1 when out holds the
 * rewritten input, 0 when nothing needed it, -ENOMEM. */
static int fix_numeric_refs(const char *s, size_t n, qw_buf *out)
{
  size_t i = 0, copied = 0;
  int changed = 0;
  while(i + 2 < n) {
    /* memchr, not memmem: glibc's memmem goes a byte a step for a
     * two-byte needle, and this runs over every page */
    const char *p = memchr(s + i, '&', n - i - 2);
    if(!p)
      break;
    size_t at = (size_t)(p - s), k = at + 2;
    if(s[at + 1] != '#') {
      i = at + 1;
      continue;
    }
    int hex = k < n && (s[k] == 'x' || s[k] == 'X');
    k += (size_t)hex;
    uint32_t v = 0;
    size_t digits = 0;
    for(; k < n; k++, digits++) {
      unsigned char c = (unsigned char)s[k];
      unsigned d;
      if(c >= '0' && c <= '9')
        d = c - '0';
      else if(hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        d = (unsigned)((c | 0x20) - 'a' + 10);
      else
        break;
      v = v * (hex ? 16u : 10u) + d;
    }
    if(digits && v >= 0x80000000u) {
      if(qw_buf_append(out, s + copied, at - copied) ||
         qw_buf_puts(out, "&#xFFFD"))
        return -ENOMEM;
      copied = k;
      changed = 1;
    }
    i = k > at + 2 ? k : at + 2;
  }
  if(!changed)
    return 0;
  if(qw_buf_append(out, s + copied, n - copied))
    return -ENOMEM;
  return 1;
}

/* ===== Gumbo's memory ===== */

/* Gumbo makes some 40 000 small allocations for a 250 KB page and frees
 * them at the end. It gets a bump allocator whose chunks are kept per
 * thread between parses (up to GCACHE_MAX bytes), so that a worker parsing
 * page after page reuses warm memory instead of faulting fresh pages in,
 * and the tree goes by rewinding instead of by 40 000 frees. */
#define GCHUNK (256u << 10)
#define GCACHE_MAX (8u << 20)

typedef struct gchunk {
  struct gchunk *next;
  size_t size; /* usable bytes */
  _Alignas(16) unsigned char data[];
} gchunk;

typedef struct {
  gchunk *free; /* chunks kept for the next parse */
  size_t bytes;
} gcache;

static pthread_key_t gcache_key;
static pthread_once_t gcache_once = PTHREAD_ONCE_INIT;
static int gcache_ready;

static void gchunks_free(gchunk *c)
{
  while(c) {
    gchunk *n = c->next;
    free(c);
    c = n;
  }
}

static void gcache_drop(void *v)
{
  gcache *c = v;
  gchunks_free(c->free);
  free(c);
}

static void gcache_init(void)
{
  gcache_ready = pthread_key_create(&gcache_key, gcache_drop) == 0;
}

/* This thread's cache, or NULL (then chunks are simply freed). */
static gcache *gcache_get(void)
{
  if(pthread_once(&gcache_once, gcache_init) != 0 || !gcache_ready)
    return NULL;
  gcache *c = pthread_getspecific(gcache_key);
  if(!c) {
    c = calloc(1, sizeof(*c));
    if(c && pthread_setspecific(gcache_key, c) != 0) {
      free(c);
      c = NULL;
    }
  }
  return c;
}

/* ===== Gumbo under a budget ===== */

enum { GA_OK = 0, GA_BUDGET, GA_TIME, GA_NOMEM };

/* Test hook, deliberately not in page.h: replaces Gumbo's budget for the
 * calling thread (a negative value keeps that default), so that the tests
 * can reach the fallback paths. */
void qw__page_gumbo_budget(long long mem_base, long long mem_per_byte,
                           long long ns_base, long long ns_per_byte);

static _Thread_local long long budget_override[4] = {-1, -1, -1, -1};

void qw__page_gumbo_budget(long long mem_base, long long mem_per_byte,
                           long long ns_base, long long ns_per_byte)
{
  budget_override[0] = mem_base;
  budget_override[1] = mem_per_byte;
  budget_override[2] = ns_base;
  budget_override[3] = ns_per_byte;
}

static long long budget_of(int k, long long def)
{
  return budget_override[k] >= 0 ? budget_override[k] : def;
}

typedef struct {
  gchunk *cur;    /* chunk being filled; the ones before it are full */
  size_t off;     /* bytes used in cur */
  gchunk *full;   /* full and dedicated chunks */
  gcache *cache;
  size_t used, budget;
  unsigned calls;
  long long deadline_ns;
  int why;
  jmp_buf jb;
} galloc;

static long long cpu_ns(void)
{
  struct timespec ts;
  if(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0 &&
     clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A chunk of at least size usable bytes, from the cache or malloc. */
static gchunk *g_chunk(galloc *g, size_t size)
{
  gchunk **pp = g->cache ? &g->cache->free : NULL;
  while(pp && *pp) {
    if((*pp)->size >= size) {
      gchunk *c = *pp;
      *pp = c->next;
      g->cache->bytes -= c->size;
      c->next = NULL;
      return c;
    }
    pp = &(*pp)->next;
  }
  if(size > SIZE_MAX - sizeof(gchunk))
    return NULL;
  gchunk *c = malloc(sizeof(gchunk) + size);
  if(c) {
    c->next = NULL;
    c->size = size;
  }
  return c;
}

/* Hands every chunk back: to the cache while it has room, else to free. */
static void g_release(galloc *g)
{
  gchunk *lists[2] = {g->cur, g->full};
  g->cur = g->full = NULL;
  g->off = 0;
  for(int k = 0; k < 2; k++) {
    gchunk *c = lists[k];
    while(c) {
      gchunk *n = c->next;
      if(g->cache && g->cache->bytes + c->size <= GCACHE_MAX) {
        c->next = g->cache->free;
        g->cache->free = c;
        g->cache->bytes += c->size;
      }
      else
        free(c);
      c = n;
    }
  }
}

/* Gumbo cannot handle a failed allocation, and holds nothing but memory
 * from this allocator: leaving it with longjmp is safe, its chunks are
 * released. */
static void *g_alloc(void *ud, size_t n)
{
  galloc *g = ud;
  size_t need = n ? (n + 15) & ~(size_t)15 : 16;
  if(n > SIZE_MAX - 16 || need > g->budget - g->used) {
    g->why = GA_BUDGET;
    longjmp(g->jb, 1);
  }
  void *p;
  if(need > GCHUNK / 4) {
    /* big blocks get a chunk of their own */
    gchunk *c = g_chunk(g, need);
    if(!c)
      goto nomem;
    c->next = g->full;
    g->full = c;
    p = c->data;
  }
  else {
    if(!g->cur || g->cur->size - g->off < need) {
      gchunk *c = g_chunk(g, GCHUNK);
      if(!c)
        goto nomem;
      if(g->cur) {
        g->cur->next = g->full;
        g->full = g->cur;
      }
      g->cur = c;
      g->off = 0;
    }
    p = g->cur->data + g->off;
    g->off += need;
  }
  g->used += need;
  if((++g->calls & 1023u) == 0 && cpu_ns() > g->deadline_ns) {
    g->why = GA_TIME;
    longjmp(g->jb, 1);
  }
  return p;
nomem:
  g->why = GA_NOMEM;
  longjmp(g->jb, 1);
}

static void g_free(void *ud, void *p)
{
  (void)ud;
  (void)p;
}

static int g_parse(galloc *g, const char *html, size_t len, GumboOutput **out)
{
  GumboOptions o = kGumboDefaultOptions;
  o.allocator = g_alloc;
  o.deallocator = g_free;
  o.userdata = g;
  o.max_errors = 0;
  *out = NULL;
  g->why = GA_OK;
  if(setjmp(g->jb) != 0)
    return g->why;
  *out = gumbo_parse_with_options(&o, html, len);
  return GA_OK;
}

/* A prefix of about n bytes that ends before a tag. */
static size_t cut_before_tag(const char *s, size_t len, size_t n)
{
  if(n >= len)
    return len;
  const char *lt = memrchr(s, '<', n);
  if(lt && lt > s)
    return (size_t)(lt - s);
  return qw_utf8_floor(s, len, n);
}

/* ===== the walk ===== */

enum {
  TI_BLOCK = 1 << 0,  /* block boundary */
  TI_SKIP = 1 << 1,   /* content is never text */
  TI_COLON = 1 << 2,  /* inline "key：value" candidate */
  TI_HEAD = 1 << 3    /* h1 … h3 */
};

static const unsigned char tag_info[GUMBO_TAG_LAST + 1] = {
  [GUMBO_TAG_ADDRESS] = TI_BLOCK, [GUMBO_TAG_ARTICLE] = TI_BLOCK,
  [GUMBO_TAG_ASIDE] = TI_BLOCK, [GUMBO_TAG_BLOCKQUOTE] = TI_BLOCK,
  [GUMBO_TAG_BR] = TI_BLOCK, [GUMBO_TAG_HR] = TI_BLOCK,
  [GUMBO_TAG_BUTTON] = TI_BLOCK, [GUMBO_TAG_CAPTION] = TI_BLOCK,
  [GUMBO_TAG_CENTER] = TI_BLOCK, [GUMBO_TAG_DD] = TI_BLOCK,
  [GUMBO_TAG_DETAILS] = TI_BLOCK, [GUMBO_TAG_DIR] = TI_BLOCK,
  [GUMBO_TAG_DIV] = TI_BLOCK, [GUMBO_TAG_DL] = TI_BLOCK,
  [GUMBO_TAG_DT] = TI_BLOCK, [GUMBO_TAG_FIELDSET] = TI_BLOCK,
  [GUMBO_TAG_FIGCAPTION] = TI_BLOCK, [GUMBO_TAG_FIGURE] = TI_BLOCK,
  [GUMBO_TAG_FOOTER] = TI_BLOCK, [GUMBO_TAG_FORM] = TI_BLOCK,
  [GUMBO_TAG_H1] = TI_BLOCK | TI_HEAD, [GUMBO_TAG_H2] = TI_BLOCK | TI_HEAD,
  [GUMBO_TAG_H3] = TI_BLOCK | TI_HEAD, [GUMBO_TAG_H4] = TI_BLOCK,
  [GUMBO_TAG_H5] = TI_BLOCK, [GUMBO_TAG_H6] = TI_BLOCK,
  [GUMBO_TAG_HEADER] = TI_BLOCK, [GUMBO_TAG_HGROUP] = TI_BLOCK,
  [GUMBO_TAG_LEGEND] = TI_BLOCK, [GUMBO_TAG_LI] = TI_BLOCK,
  [GUMBO_TAG_LISTING] = TI_BLOCK, [GUMBO_TAG_MAIN] = TI_BLOCK,
  [GUMBO_TAG_MENU] = TI_BLOCK, [GUMBO_TAG_NAV] = TI_BLOCK,
  [GUMBO_TAG_OL] = TI_BLOCK, [GUMBO_TAG_OPTGROUP] = TI_BLOCK,
  [GUMBO_TAG_OPTION] = TI_BLOCK, [GUMBO_TAG_P] = TI_BLOCK,
  [GUMBO_TAG_PRE] = TI_BLOCK, [GUMBO_TAG_SECTION] = TI_BLOCK,
  [GUMBO_TAG_SELECT] = TI_BLOCK, [GUMBO_TAG_SUMMARY] = TI_BLOCK,
  [GUMBO_TAG_TABLE] = TI_BLOCK, [GUMBO_TAG_TBODY] = TI_BLOCK,
  [GUMBO_TAG_TD] = TI_BLOCK, [GUMBO_TAG_TFOOT] = TI_BLOCK,
  [GUMBO_TAG_TH] = TI_BLOCK, [GUMBO_TAG_THEAD] = TI_BLOCK,
  [GUMBO_TAG_TR] = TI_BLOCK, [GUMBO_TAG_UL] = TI_BLOCK,
  [GUMBO_TAG_XMP] = TI_BLOCK, [GUMBO_TAG_TEXTAREA] = TI_BLOCK,
  [GUMBO_TAG_PLAINTEXT] = TI_BLOCK, [GUMBO_TAG_VIDEO] = TI_BLOCK,
  [GUMBO_TAG_AUDIO] = TI_BLOCK, [GUMBO_TAG_CANVAS] = TI_BLOCK,
  [GUMBO_TAG_FRAMESET] = TI_BLOCK, [GUMBO_TAG_MARQUEE] = TI_BLOCK,
  [GUMBO_TAG_STYLE] = TI_SKIP, [GUMBO_TAG_NOSCRIPT] = TI_SKIP,
  [GUMBO_TAG_TEMPLATE] = TI_SKIP, [GUMBO_TAG_IFRAME] = TI_SKIP,
  [GUMBO_TAG_NOEMBED] = TI_SKIP, [GUMBO_TAG_NOFRAMES] = TI_SKIP,
  [GUMBO_TAG_SPAN] = TI_COLON, [GUMBO_TAG_LABEL] = TI_COLON,
  [GUMBO_TAG_FONT] = TI_COLON, [GUMBO_TAG_B] = TI_COLON,
  [GUMBO_TAG_STRONG] = TI_COLON, [GUMBO_TAG_EM] = TI_COLON,
  [GUMBO_TAG_I] = TI_COLON, [GUMBO_TAG_U] = TI_COLON,
  [GUMBO_TAG_SMALL] = TI_COLON,
};

enum {
  FL_TEXT = 1 /* text here is visible body text */
};

enum {
  X_BLOCK = 1 << 0,
  X_HEAD = 1 << 1,
  X_H1 = 1 << 2,
  X_ROW = 1 << 3,
  X_CELL = 1 << 4,
  X_DT = 1 << 5,
  X_DD = 1 << 6,
  X_DL = 1 << 7,
  X_COLON = 1 << 8
};

typedef struct {
  GumboNode *node;
  unsigned next;
  unsigned flags;
  unsigned exit;
  size_t start;
} frame;

/* Case-insensitive search of a lower-case word. */
static const char *find_word(const char *s, const char *w)
{
  return strcasestr(s, w);
}

/* style="display: none" or "visibility:hidden" */
static int style_hidden(const char *st)
{
  static const char *const props[] = {"display", "visibility"};
  static const char *const vals[] = {"none", "hidden"};
  for(int k = 0; k < 2; k++) {
    const char *p = st;
    while((p = find_word(p, props[k])) != NULL) {
      p += strlen(props[k]);
      while(IS_WS(*p))
        p++;
      if(*p != ':')
        continue;
      p++;
      while(IS_WS(*p))
        p++;
      size_t vl = strlen(vals[k]), i = 0;
      while(i < vl && lower((unsigned char)p[i]) == vals[k][i])
        i++;
      if(i == vl && !is_alpha(p[i]) && p[i] != '-')
        return 1;
    }
  }
  return 0;
}

static int eq_ci_trim(const char *s, const char *w)
{
  while(IS_WS(*s))
    s++;
  size_t n = strlen(s);
  while(n && IS_WS(s[n - 1]))
    n--;
  return strlen(w) == n && !strncasecmp(s, w, n);
}

/* Whether the token list (rel="…") holds word. */
static int has_token(const char *s, const char *w)
{
  size_t wl = strlen(w);
  while(*s) {
    while(IS_WS(*s))
      s++;
    size_t n = 0;
    while(s[n] && !IS_WS(s[n]))
      n++;
    if(n == wl && !strncasecmp(s, w, n))
      return 1;
    s += n;
  }
  return 0;
}

static int add_alt(builder *b, const char *s)
{
  tbuild *t = &b->f[QW_FIELD_ALT];
  tb_break(t);
  int r = tb_text_gumbo(t, &b->fix, s, strlen(s));
  tb_break(t);
  return r;
}

/* An arena copy of a Gumbo string, repaired when it is not UTF-8. */
static char *gumbo_dup(builder *b, const char *s)
{
  size_t n = strlen(s);
  if(qw__utf8_prefix(s, n) == n)
    return qw_arena_strndup(b->a, s, n);
  qw_buf_reset(&b->fix);
  if(utf8_repair(&b->fix, s, n))
    return NULL;
  return qw_arena_strndup(b->a, b->fix.data ? b->fix.data : "", b->fix.len);
}

static int add_raw(builder *b, qw_buf *arr, const char *s, size_t cap)
{
  while(IS_WS(*s))
    s++;
  if(!*s || arr->len / sizeof(char *) >= cap)
    return 0;
  char *d = gumbo_dup(b, s);
  if(!d || push_ptr(arr, d))
    return -ENOMEM;
  return 0;
}

static int on_meta(builder *b, const char *name, const char *prop,
                   const char *content)
{
  if(!content)
    return 0;
  const char *key = prop && *prop ? prop : name;
  if(!key)
    return 0;
  while(IS_WS(*key))
    key++;
  size_t cl;
  if(!strncasecmp(key, "og:", 3) || !strncasecmp(key, "product:", 8)) {
    if(b->og.len / sizeof(qw_kv) >= MAX_META)
      return 0;
    qw_kv kv;
    size_t kl;
    char *k = collapse_dup(b->a, key, strlen(key), &kl);
    char *v = collapse_dup(b->a, content, strlen(content), &cl);
    if(!k || !v)
      return -ENOMEM;
    if(!kl || !cl)
      return 0;
    kv.key = k;
    kv.value = v;
    if(qw_buf_append(&b->og, &kv, sizeof(kv)))
      return -ENOMEM;
    if(!strcasecmp(k, "og:type") && !strncasecmp(v, "product", 7))
      b->og_product = 1;
    tbuild *t = &b->f[QW_FIELD_OG];
    tb_break(t);
    if(tb_text(t, k, kl) || tb_text(t, ": ", 2) || tb_text(t, v, cl))
      return -ENOMEM;
    tb_break(t);
    return 0;
  }
  if(!name)
    return 0;
  int desc = eq_ci_trim(name, "description");
  int kw = eq_ci_trim(name, "keywords");
  if((desc && b->have_desc) || (kw && b->have_kw) || (!desc && !kw))
    return 0;
  char *v = collapse_dup(b->a, content, strlen(content), &cl);
  if(!v)
    return -ENOMEM;
  if(desc) {
    b->p->meta_description = v;
    b->have_desc = 1;
  }
  else {
    b->p->meta_keywords = v;
    b->have_kw = 1;
  }
  return tb_block(&b->f[QW_FIELD_META], v, cl);
}

/* ----- JSON-LD and embedded state ----- */

static int jl_value(void *ctx, const char *k, size_t kl, const char *v,
                    size_t vl)
{
  builder *b = ctx;
  if(b->in_state ? b->n_state_vals >= MAX_STATE_VALUES
                 : b->n_jsonld_vals >= MAX_JSONLD_VALUES)
    return 1;
  size_t ckl, cvl;
  char *ck = collapse_dup(b->a, k, kl, &ckl);
  char *cv = collapse_dup(b->a, v, vl, &cvl);
  if(!ck || !cv)
    return -ENOMEM;
  if(!ckl || !cvl)
    return 0;
  int r = hs_add(&b->kvset, ck, ckl, cv, cvl);
  if(r <= 0)
    return r;
  qw_kv kv = {ck, cv};
  if(qw_buf_append(&b->jsonld, &kv, sizeof(kv)))
    return -ENOMEM;
  if(b->in_state)
    b->n_state_vals++;
  else
    b->n_jsonld_vals++;
  tbuild *t = &b->f[QW_FIELD_JSONLD];
  tb_break(t);
  if(tb_text(t, ck, ckl) || tb_text(t, ": ", 2) || tb_text(t, cv, cvl))
    return -ENOMEM;
  tb_break(t);
  return 0;
}

static int jl_type(void *ctx, const char *name, size_t len, int root)
{
  builder *b = ctx;
  static const char *const product[] = {"Product", "IndividualProduct",
                                        "ProductModel", "ProductGroup",
                                        "Offer", "AggregateOffer", NULL};
  if(root) {
    for(int i = 0; product[i]; i++) {
      if(strlen(product[i]) == len && !memcmp(product[i], name, len))
        b->product_type = 1;
    }
  }
  if(b->types.len / sizeof(char *) >= MAX_TYPES)
    return 0;
  char *d = qw_arena_strndup(b->a, name, len);
  if(!d)
    return -ENOMEM;
  int r = hs_add(&b->typeset, d, len, NULL, 0);
  if(r <= 0)
    return r;
  return push_ptr(&b->types, d) ? -ENOMEM : 0;
}

static int is_js_type(const char *t)
{
  static const char *const js[] = {
    "text/javascript", "application/javascript", "application/x-javascript",
    "text/ecmascript", "application/ecmascript", "text/jscript", "module",
    NULL};
  while(IS_WS(*t))
    t++;
  if(!*t)
    return 1;
  for(int i = 0; js[i]; i++) {
    size_t l = strlen(js[i]);
    if(!strncasecmp(t, js[i], l) && (!t[l] || t[l] == ';' || IS_WS(t[l])))
      return 1;
  }
  return 0;
}

static int type_is(const char *t, const char *w)
{
  while(IS_WS(*t))
    t++;
  size_t l = strlen(w);
  return !strncasecmp(t, w, l) && (!t[l] || t[l] == ';' || IS_WS(t[l]));
}

/* Code points Gumbo's input stream turns into U+FFFD (besides NUL and bad
 * UTF-8): C0 controls other than white space, DEL, C1 controls, and the
 * noncharacters. */
static int gumbo_replaces(uint32_t cp)
{
  return cp == 0 || (cp >= 0x1 && cp <= 0x8) || cp == 0xB ||
         (cp >= 0xE && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F) ||
         (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

/* 1 when s[0..n) reaches Gumbo's tree as it is: valid UTF-8 with no CR
 * and nothing gumbo_replaces(). */
static int gumbo_verbatim(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = u[i];
    if(c >= 0x20 && c < 0x7F)
      continue;
    if(c < 0x80) {
      if(c != '\t' && c != '\n' && c != '\f')
        return 0;
      continue;
    }
    size_t j = i;
    uint32_t cp = qw_utf8_next(s, n, &j);
    if(gumbo_replaces(cp) || (cp == 0xFFFD && j - i != 3))
      return 0; /* replaced, or a bad byte */
    i = j - 1;
  }
  return 1;
}

/* When *text is the placeholder of a script the pre-scan took out, points
 * *text at its content as Gumbo would have made it (CR and CRLF as LF;
 * NUL, controls, noncharacters and each bad byte as U+FFFD). 1 on running
 * out of memory. */
static int script_taken(builder *b, const char **text, size_t *len)
{
  char ph[PLACEHOLDER_MAX];
  size_t count = b->scripts.len / sizeof(qw_span);
  const char *t = *text;
  const char *dash = memrchr(t, '-', *len);
  if(!dash || count == 0)
    return 0;
  char *endp;
  unsigned long long idx = strtoull(dash + 1, &endp, 10);
  if(idx >= count || endp != t + *len - 2)
    return 0;
  int pl = script_placeholder(ph, sizeof(ph), (size_t)idx);
  if(pl < 0 || (size_t)pl != *len || memcmp(ph, t, *len))
    return 0;
  const qw_span *sp = (const qw_span *)b->scripts.data + idx;
  const char *c = b->src + sp->off;
  size_t n = sp->len;
  if(gumbo_verbatim(c, n)) {
    *text = c;
    *len = n;
    return 0;
  }
  qw_buf *o = &b->scratch2;
  qw_buf_reset(o);
  for(size_t i = 0; i < n;) {
    uint32_t cp = qw_utf8_next(c, n, &i);
    int r;
    if(cp == '\r') {
      r = qw_buf_putc(o, '\n');
      if(i < n && c[i] == '\n')
        i++;
    }
    else
      r = qw_buf_put_utf8(o, gumbo_replaces(cp) ? 0xFFFD : cp);
    if(r) {
      set_err(b, -ENOMEM);
      return 1;
    }
  }
  *text = o->data ? o->data : "";
  *len = o->len;
  return 0;
}

static void on_script(builder *b, GumboElement *el, const char *type,
                      const char *id)
{
  GumboVector *ch = &el->children;
  const char *text = NULL;
  size_t len = 0;
  if(ch->length == 1 && ((GumboNode *)ch->data[0])->type == GUMBO_NODE_TEXT) {
    text = ((GumboNode *)ch->data[0])->v.text.text;
    len = strlen(text);
  }
  else if(ch->length > 1) {
    qw_buf_reset(&b->scratch);
    for(unsigned i = 0; i < ch->length; i++) {
      GumboNode *c = ch->data[i];
      if(c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE ||
         c->type == GUMBO_NODE_CDATA) {
        if(qw_buf_puts(&b->scratch, c->v.text.text)) {
          set_err(b, -ENOMEM);
          return;
        }
      }
    }
    text = b->scratch.data;
    len = b->scratch.len;
  }
  if(text && len && len < PLACEHOLDER_MAX && text[0] == '/' &&
     script_taken(b, &text, &len))
    return;
  if(!text || !len)
    return;
  qw_jsonld_sink sink = {jl_value, jl_type, b};
  int r = 0;
  if(type && type_is(type, "application/ld+json")) {
    b->in_state = 0;
    if(b->n_jsonld_vals < MAX_JSONLD_VALUES)
      r = qw_jsonld_flatten(text, len, &sink);
    if(r == -E2BIG)
      b->p->truncated = 1;
  }
  else if(!type || is_js_type(type)) {
    size_t from = 0, start, resume;
    b->in_state = 1;
    sink.type = NULL;
    while(r >= 0 && b->n_state_vals < MAX_STATE_VALUES &&
          b->n_state_scans < MAX_STATE_SCANS &&
          qw_jsonld_find_state(text, len, from, &start, &resume)) {
      b->n_state_scans++;
      r = qw_jsonld_state(text + start, len - start, &sink);
      from = resume;
    }
  }
  else if(type_is(type, "application/json") && id &&
          (strstr(id, "__NEXT_DATA__") || strstr(id, "__INIT") ||
           strstr(id, "STATE"))) {
    b->in_state = 1;
    sink.type = NULL;
    if(b->n_state_scans++ < MAX_STATE_SCANS)
      r = qw_jsonld_state(text, len, &sink);
  }
  if(r == -ENOMEM)
    set_err(b, r);
}

static void on_title(builder *b, GumboElement *el)
{
  qw_buf_reset(&b->scratch);
  for(unsigned i = 0; i < el->children.length; i++) {
    GumboNode *c = el->children.data[i];
    if(c->type == GUMBO_NODE_TEXT || c->type == GUMBO_NODE_WHITESPACE) {
      if(qw_buf_puts(&b->scratch, c->v.text.text)) {
        set_err(b, -ENOMEM);
        return;
      }
    }
  }
  size_t n;
  char *t = collapse_dup(b->a, b->scratch.data ? b->scratch.data : "",
                         b->scratch.len, &n);
  if(!t) {
    set_err(b, -ENOMEM);
    return;
  }
  b->p->title = t;
  b->have_title = 1;
  set_err(b, tb_block(&b->f[QW_FIELD_TITLE], t, n));
}

/* Looks at an element on the way down. *flags is the context passed to its
 * children, *exit what to do on the way up. Returns 1 to descend. */
static int enter(builder *b, GumboNode *n, unsigned *flags, unsigned *exit)
{
  GumboElement *el = &n->v.element;
  unsigned tag = el->tag;
  int html = el->tag_namespace == GUMBO_NAMESPACE_HTML;
  unsigned info = (html && tag <= GUMBO_TAG_LAST) ? tag_info[tag] : 0;
  *exit = 0;
  if(n->type == GUMBO_NODE_TEMPLATE || (info & TI_SKIP))
    return 0;
  if(!html && (tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE))
    return 0;

  /* attributes worth knowing, up to max_attrs of them */
  const char *href = NULL, *src = NULL, *lazy = NULL, *alt = NULL;
  const char *title = NULL, *name = NULL, *prop = NULL, *content = NULL;
  const char *rel = NULL, *type = NULL, *id = NULL, *lang = NULL;
  int hidden = 0;
  unsigned na = el->attributes.length;
  if(na > b->max_attrs) {
    na = b->max_attrs;
    b->p->truncated = 1;
  }
  for(unsigned i = 0; i < na; i++) {
    GumboAttribute *at = el->attributes.data[i];
    const char *an = at->name, *av = at->value;
    switch(an[0]) {
    case 'a':
      if(!strcmp(an, "alt"))
        alt = av;
      break;
    case 'c':
      if(!strcmp(an, "content"))
        content = av;
      break;
    case 'd':
      if(!strncmp(an, "data-", 5) && !lazy && *av &&
         (!strcmp(an + 5, "src") || !strcmp(an + 5, "original") ||
          !strcmp(an + 5, "ks-lazyload") || !strcmp(an + 5, "lazy-src") ||
          !strcmp(an + 5, "lazyload") || !strcmp(an + 5, "lazy")))
        lazy = av;
      break;
    case 'h':
      if(!strcmp(an, "href"))
        href = av;
      else if(!strcmp(an, "hidden"))
        hidden = 1;
      break;
    case 'i':
      if(!strcmp(an, "id"))
        id = av;
      break;
    case 'l':
      if(!strcmp(an, "lang"))
        lang = av;
      break;
    case 'n':
      if(!strcmp(an, "name"))
        name = av;
      break;
    case 'p':
      if(!strcmp(an, "property"))
        prop = av;
      break;
    case 'r':
      if(!strcmp(an, "rel"))
        rel = av;
      break;
    case 's':
      if(!strcmp(an, "src"))
        src = av;
      else if(!strcmp(an, "style") && (*flags & FL_TEXT) &&
              style_hidden(av))
        hidden = 1;
      break;
    case 't':
      if(!strcmp(an, "title"))
        title = av;
      else if(!strcmp(an, "type"))
        type = av;
      break;
    default:
      break;
    }
  }
  if(HIDE_HIDDEN && hidden)
    *flags &= ~(unsigned)FL_TEXT;

  int r = 0;
  if(!html)
    return 1; /* SVG and MathML: their text is text, nothing else counts */
  switch(tag) {
  case GUMBO_TAG_HTML:
    if(lang && !*b->p->lang) {
      size_t l;
      b->p->lang = collapse_dup(b->a, lang, strlen(lang), &l);
      if(!b->p->lang)
        r = -ENOMEM;
    }
    break;
  case GUMBO_TAG_HEAD:
    *flags &= ~(unsigned)FL_TEXT;
    break;
  case GUMBO_TAG_BODY:
    if(!(HIDE_HIDDEN && hidden))
      *flags |= FL_TEXT;
    break;
  case GUMBO_TAG_TITLE:
    if(!b->have_title)
      on_title(b, el);
    return 0;
  case GUMBO_TAG_SCRIPT:
    if(!b->text_only)
      on_script(b, el, type, id);
    return 0;
  case GUMBO_TAG_BASE:
    if(href && !b->base_href)
      b->base_href = gumbo_dup(b, href);
    if(href && !b->base_href)
      r = -ENOMEM;
    break;
  case GUMBO_TAG_LINK:
    if(href && rel && !b->canon_href && has_token(rel, "canonical")) {
      b->canon_href = gumbo_dup(b, href);
      if(!b->canon_href)
        r = -ENOMEM;
    }
    break;
  case GUMBO_TAG_META:
    r = on_meta(b, name, prop, content);
    break;
  case GUMBO_TAG_A:
    if(href && !b->text_only)
      r = add_raw(b, &b->links, href, MAX_LINKS);
    break;
  case GUMBO_TAG_AREA:
    if(href && !b->text_only)
      r = add_raw(b, &b->links, href, MAX_LINKS);
    if(!r && alt && (*flags & FL_TEXT))
      r = add_alt(b, alt);
    break;
  case GUMBO_TAG_IMG:
    if((lazy || src) && !b->text_only)
      r = add_raw(b, &b->images, lazy ? lazy : src, MAX_IMAGES);
    if(!r && (*flags & FL_TEXT)) {
      if(alt)
        r = add_alt(b, alt);
      if(!r && title)
        r = add_alt(b, title);
    }
    break;
  case GUMBO_TAG_INPUT:
    if(alt && type && eq_ci_trim(type, "image") && (*flags & FL_TEXT))
      r = add_alt(b, alt);
    break;
  default:
    break;
  }
  set_err(b, r);

  if(!(*flags & FL_TEXT))
    return 1; /* head or hidden: no text, so no blocks, rows, headings */
  if(info & TI_BLOCK) {
    body_break(b);
    *exit |= X_BLOCK;
  }
  if(info & TI_HEAD)
    *exit |= X_HEAD | (tag == GUMBO_TAG_H1 ? X_H1 : 0);
  if(info & TI_COLON)
    *exit |= X_COLON;
  switch(tag) {
  case GUMBO_TAG_TR:
    if(b->nrows < ROW_STACK) {
      row_state *rs = &b->rows[b->nrows++];
      rs->node = n;
      rs->start = b->f[QW_FIELD_BODY].b.len;
      rs->ncells = 0;
      *exit |= X_ROW;
    }
    break;
  case GUMBO_TAG_TD:
  case GUMBO_TAG_TH:
    *exit |= X_CELL;
    break;
  case GUMBO_TAG_DT:
    *exit |= X_DT;
    break;
  case GUMBO_TAG_DD:
    *exit |= X_DD;
    break;
  case GUMBO_TAG_DL:
    *exit |= X_DL;
    break;
  default:
    break;
  }
  return 1;
}

static void leave(builder *b, GumboNode *n, unsigned exit, size_t start)
{
  size_t end = b->f[QW_FIELD_BODY].b.len;
  if(exit & X_BLOCK)
    body_break(b);
  if(exit & X_CELL) {
    if(b->nrows && b->rows[b->nrows - 1].node == n->parent) {
      row_state *rs = &b->rows[b->nrows - 1];
      if(rs->ncells < 4) {
        rs->cs[rs->ncells] = start;
        rs->ce[rs->ncells] = end;
      }
      rs->ncells++;
    }
  }
  if(exit & X_ROW) {
    row_state *rs = &b->rows[--b->nrows];
    if(!contains_param(b, rs->start)) {
      size_t at = rs->start;
      if(rs->ncells == 2)
        pair_param(b, rs->cs[0], rs->ce[0], rs->cs[1], rs->ce[1], at);
      else if(rs->ncells == 4) {
        pair_param(b, rs->cs[0], rs->ce[0], rs->cs[1], rs->ce[1], at);
        pair_param(b, rs->cs[2], rs->ce[2], rs->cs[3], rs->ce[3], at);
      }
    }
  }
  if(exit & X_DT) {
    /* a dt that holds a parameter of its own names nothing */
    b->dt_ok = !contains_param(b, start);
    b->dt_s = start;
    b->dt_e = end;
  }
  if((exit & X_DD) && b->dt_ok && !contains_param(b, start))
    pair_param(b, b->dt_s, b->dt_e, start, end, start);
  if(exit & X_DL)
    b->dt_ok = 0;
  if((exit & X_COLON) && end - start > COLON_ELEM_MAX + 2)
    exit &= ~(unsigned)X_COLON;
  if(exit & (X_HEAD | X_COLON)) {
    size_t tn;
    /* headings nested in headings: copy a bounded prefix of each */
    if((exit & X_HEAD) && end - start > HEADING_MAX)
      end = start + qw_utf8_floor(b->f[QW_FIELD_BODY].b.data + start,
                                  end - start, HEADING_MAX);
    const char *t = range_text(b, start, end, &tn, 0);
    if((exit & X_HEAD) && tn) {
      set_err(b, tb_block(&b->f[QW_FIELD_HEADING], t, tn));
      if((exit & X_H1) && !b->have_h1) {
        b->p->h1 = qw_arena_strndup(b->a, t, tn);
        b->have_h1 = 1;
        if(!b->p->h1)
          set_err(b, -ENOMEM);
      }
    }
    if((exit & X_COLON) && tn && tn <= COLON_ELEM_MAX &&
       !contains_param(b, start)) {
      /* within one block: a separator may only lead (still pending when
       * the element began) */
      const char *d = b->f[QW_FIELD_BODY].b.data;
      size_t s = start;
      while(s < end && (d[s] == '\n' || d[s] == ' '))
        s++;
      if(!memchr(d + s, '\n', end - s))
        set_err(b, colon_param(b, t, tn, start));
    }
  }
}

static void walk(builder *b, GumboNode *doc)
{
  size_t cap = 64, depth = 0;
  frame *st = malloc(cap * sizeof(*st));
  if(!st) {
    set_err(b, -ENOMEM);
    return;
  }
  st[depth++] = (frame){doc, 0, 0, 0, 0};
  while(depth && !b->err) {
    frame *f = &st[depth - 1];
    GumboVector *ch = f->node->type == GUMBO_NODE_DOCUMENT
                          ? &f->node->v.document.children
                          : &f->node->v.element.children;
    if(f->next >= ch->length) {
      leave(b, f->node, f->exit, f->start);
      depth--;
      continue;
    }
    GumboNode *n = ch->data[f->next++];
    switch(n->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_CDATA:
      if(f->flags & FL_TEXT)
        set_err(b, tb_text_gumbo(&b->f[QW_FIELD_BODY], &b->fix,
                                 n->v.text.text, strlen(n->v.text.text)));
      break;
    case GUMBO_NODE_WHITESPACE:
      if(f->flags & FL_TEXT) {
        b->f[QW_FIELD_BODY].space = 1;
        b->f[QW_FIELD_BODY].ws = 1;
      }
      break;
    case GUMBO_NODE_ELEMENT:
    case GUMBO_NODE_TEMPLATE: {
      if(++b->p->n_elements > b->max_nodes) {
        b->p->n_elements--;
        b->p->truncated = 1;
        goto done;
      }
      unsigned flags = f->flags, ex;
      size_t start = b->f[QW_FIELD_BODY].b.len;
      int down = enter(b, n, &flags, &ex);
      if(down && depth > b->max_depth) {
        b->p->truncated = 1;
        down = 0;
      }
      if(!down || n->v.element.children.length == 0) {
        leave(b, n, ex, start);
        break;
      }
      if(depth == cap) {
        frame *ns = realloc(st, cap * 2 * sizeof(*st));
        if(!ns) {
          set_err(b, -ENOMEM);
          goto done;
        }
        st = ns;
        cap *= 2;
      }
      st[depth++] = (frame){n, 0, flags, ex, start};
      break;
    }
    default:
      break;
    }
  }
done:
  /* a cap stopped the walk: close what is open so rows stay balanced */
  while(depth > 1 && !b->err) {
    frame *f = &st[--depth];
    leave(b, f->node, f->exit, f->start);
  }
  free(st);
}

/* ===== finishing ===== */

static char *resolve(builder *b, const char *base, const char *ref)
{
  char *out = NULL;
  if(!*base)
    base = ref; /* no page URL: only absolute references resolve */
  int r = qw_url_resolve(base, ref, &out);
  if(r == -ENOMEM)
    set_err(b, r);
  if(r < 0)
    return NULL;
  char *d = qw_arena_strndup(b->a, out, strlen(out));
  free(out);
  if(!d)
    set_err(b, -ENOMEM);
  return d;
}

static int is_product_link(const char *u)
{
  static const char *const pats[] = {"/item/", "item.htm", "/product/",
                                     "/products/", "/goods/", "/detail",
                                     "/dp/", NULL};
  const char *path = strstr(u, "://");
  path = path ? strchr(path + 3, '/') : NULL;
  if(!path)
    return 0;
  for(int i = 0; pats[i]; i++) {
    if(strstr(path, pats[i]))
      return 1;
  }
  const char *p = strstr(path, "/p/");
  return p && p[3] >= '0' && p[3] <= '9';
}

/* Whether a reference names a scheme other than http(s): such references
 * never resolve to something fetchable, so they are not even resolved. */
static int other_scheme(const char *ref)
{
  while(IS_WS(*ref))
    ref++;
  size_t i = 0;
  while(is_alpha(ref[i]) || (i && ((ref[i] >= '0' && ref[i] <= '9') ||
                                   ref[i] == '+' || ref[i] == '-' ||
                                   ref[i] == '.')))
    i++;
  if(i == 0 || ref[i] != ':')
    return 0;
  return !((i == 4 && !strncasecmp(ref, "http", 4)) ||
           (i == 5 && !strncasecmp(ref, "https", 5)));
}

/* qw_url_is_fetchable() for the normalised output of qw_url_resolve(),
 * without parsing it again in the common case. */
static int fetchable(const char *u)
{
  const char *h = !strncmp(u, "http://", 7) ? u + 7
                  : !strncmp(u, "https://", 8) ? u + 8 : NULL;
  if(!h)
    return 0;
  size_t n = strcspn(h, "/?#");
  if(n == 0 || h[0] == ':' || memchr(h, '@', n) || memchr(h, '[', n))
    return qw_url_is_fetchable(u);
  return 1;
}

/* Resolves, filters and de-duplicates raw references into the arena. */
static const char **resolve_list(builder *b, const qw_buf *raw, size_t *count,
                                 size_t *product_links)
{
  size_t n = raw->len / sizeof(char *);
  const char **out = qw_arena_alloc(b->a, (n ? n : 1) * sizeof(char *));
  hset seen = {NULL, 0, 0}, seen_raw = {NULL, 0, 0};
  size_t k = 0;
  if(!out) {
    set_err(b, -ENOMEM);
    *count = 0;
    return NULL;
  }
  for(size_t i = 0; i < n && !b->err; i++) {
    const char *ref = ((const char *const *)(const void *)raw->data)[i];
    int r = hs_add(&seen_raw, ref, strlen(ref), NULL, 0);
    if(r < 0)
      set_err(b, r);
    if(r <= 0 || other_scheme(ref))
      continue;
    char *u = resolve(b, b->p->base_url, ref);
    if(!u || !fetchable(u))
      continue;
    r = hs_add(&seen, u, strlen(u), NULL, 0);
    if(r < 0)
      set_err(b, r);
    if(r <= 0)
      continue;
    out[k++] = u;
    if(product_links && is_product_link(u))
      (*product_links)++;
  }
  hs_free(&seen);
  hs_free(&seen_raw);
  *count = k;
  return out;
}

static void *arena_copy(builder *b, const qw_buf *arr, size_t elem,
                        size_t *count)
{
  *count = arr->len / elem;
  void *d = qw_arena_alloc(b->a, arr->len ? arr->len : 1);
  if(!d) {
    set_err(b, -ENOMEM);
    *count = 0;
    return NULL;
  }
  if(arr->len)
    memcpy(d, arr->data, arr->len);
  return d;
}

static int contains_any(const char *s, const char *const *words)
{
  for(; *words; words++) {
    if(s && strstr(s, *words))
      return 1;
  }
  return 0;
}

static void finish(builder *b, const char *url)
{
  qw_page *p = b->p;
  p->url = qw_arena_strndup(b->a, url ? url : "", url ? strlen(url) : 0);
  if(!p->url) {
    set_err(b, -ENOMEM);
    return;
  }
  p->base_url = p->url;
  if(b->base_href) {
    char *u = resolve(b, p->url, b->base_href);
    if(u && fetchable(u))
      p->base_url = u;
  }
  if(b->canon_href)
    p->canonical = resolve(b, p->base_url, b->canon_href);
  size_t product_links = 0;
  p->links = resolve_list(b, &b->links, &p->n_links, &product_links);
  p->images = resolve_list(b, &b->images, &p->n_images, NULL);

  for(int i = 0; i < QW_FIELD_COUNT; i++) {
    qw_buf *t = &b->f[i].b;
    char *d = qw_arena_strndup(b->a, t->data ? t->data : "", t->len);
    if(!d) {
      set_err(b, -ENOMEM);
      return;
    }
    p->field[i].text = d;
    p->field[i].len = t->len;
  }
  size_t nsep;
  b->pi->sepws = arena_copy(b, &b->sepws, 1, &nsep);
  b->pi->n_sep = nsep;
  p->params = arena_copy(b, &b->params, sizeof(qw_kv), &p->n_params);
  p->og = arena_copy(b, &b->og, sizeof(qw_kv), &p->n_og);
  p->jsonld = arena_copy(b, &b->jsonld, sizeof(qw_kv), &p->n_jsonld);
  p->jsonld_types = arena_copy(b, &b->types, sizeof(char *),
                               &p->n_jsonld_types);

  static const char *const shop_words[] = {"店铺首页", "旗舰店首页",
                                           "官网首页", "官方网站", NULL};
  if(b->product_type || b->og_product)
    p->type_hint = QW_PAGE_PRODUCT;
  else if(contains_any(p->title, shop_words) ||
          contains_any(p->h1, shop_words))
    p->type_hint = QW_PAGE_STOREFRONT;
  else if(product_links >= STOREFRONT_LINKS && p->n_params == 0)
    p->type_hint = QW_PAGE_STOREFRONT;
  else
    p->type_hint = QW_PAGE_UNKNOWN;
}

/* ===== public ===== */

static void set_msg(char *err, size_t errlen, const char *msg)
{
  if(err && errlen)
    snprintf(err, errlen, "%s", msg);
}

static void builder_free(builder *b)
{
  for(int i = 0; i < QW_FIELD_COUNT; i++)
    qw_buf_free(&b->f[i].b);
  qw_buf_free(&b->sepws);
  qw_buf_free(&b->params);
  qw_buf_free(&b->og);
  qw_buf_free(&b->jsonld);
  qw_buf_free(&b->types);
  qw_buf_free(&b->links);
  qw_buf_free(&b->images);
  qw_buf_free(&b->scratch);
  qw_buf_free(&b->scratch2);
  qw_buf_free(&b->fix);
  qw_buf_free(&b->scripts);
  hs_free(&b->kvset);
  hs_free(&b->typeset);
}

int qw_page_parse(const char *html, size_t len, const char *url,
                  const qw_page_options *opt, qw_page **out, char *err,
                  size_t errlen)
{
  if(!out || (!html && len)) {
    set_msg(err, errlen, "invalid arguments");
    return -EINVAL;
  }
  *out = NULL;
  if(!html)
    html = "";
  if(opt && opt->max_bytes && len > opt->max_bytes) {
    if(err && errlen)
      snprintf(err, errlen, "page of %zu bytes is over the %zu-byte cap",
               len, opt->max_bytes);
    return -EFBIG;
  }
  if(len > UINT32_MAX) {
    set_msg(err, errlen, "page over 4 GiB");
    return -EFBIG;
  }
  qw_arena *a = qw_arena_new(0);
  if(!a)
    goto nomem;
  page_impl *pi = qw_arena_alloc(a, sizeof(*pi));
  builder *b = calloc(1, sizeof(*b));
  if(!pi || !b) {
    free(b);
    qw_arena_destroy(a);
    goto nomem;
  }
  memset(pi, 0, sizeof(*pi));
  qw_page *p = &pi->pub;
  p->arena = a;
  p->url = p->base_url = p->title = p->h1 = "";
  p->meta_description = p->meta_keywords = p->lang = "";
  p->input_bytes = len;
  b->pi = pi;
  b->p = p;
  b->a = a;
  b->max_nodes = opt && opt->max_nodes ? opt->max_nodes : DEF_MAX_NODES;
  b->max_depth = opt && opt->max_depth ? opt->max_depth : DEF_MAX_DEPTH;
  b->max_attrs = opt && opt->max_attrs ? opt->max_attrs : DEF_MAX_ATTRS;
  b->text_only = opt && opt->text_only;
  b->f[QW_FIELD_BODY].sepws = &b->sepws;

  int r;
  qw_buf fixed = QW_BUF_INIT;
  int fr = fix_numeric_refs(html, len, &fixed);
  if(fr < 0) {
    qw_buf_free(&fixed);
    r = fr;
    goto fail;
  }
  if(fr > 0) {
    html = fixed.data;
    len = fixed.len;
  }
  prescan ps;
  b->src = html;
  const char *src = html;
  size_t slen = len;
  r = prescan_input(&ps, &src, &slen, b);
  if(r < 0) {
    qw_buf_free(&ps.out);
    qw_buf_free(&fixed);
    goto fail;
  }
  if(r > 0)
    p->truncated = 1;

  /* Gumbo under its budget; when it runs over, parse a shorter prefix */
  size_t try_len = slen;
  GumboOutput *g_out = NULL;
  galloc *g = malloc(sizeof(*g));
  if(!g) {
    r = -ENOMEM;
    qw_buf_free(&ps.out);
    qw_buf_free(&fixed);
    goto fail;
  }
  g->cur = g->full = NULL;
  g->off = 0;
  g->cache = gcache_get();
  for(int attempt = 0;; attempt++) {
    g->used = 0;
    g->calls = 0;
    long long nsb = budget_of(2, GUMBO_NS_BASE);
    g->budget = (size_t)budget_of(0, GUMBO_MEM_BASE) +
                (size_t)budget_of(1, GUMBO_MEM_PER_BYTE) * try_len;
    g->deadline_ns = cpu_ns() + (attempt ? nsb / 4 : nsb) +
                     budget_of(3, GUMBO_NS_PER_BYTE) * (long long)try_len;
    int why = g_parse(g, src, try_len, &g_out);
    if(why == GA_OK && g_out) {
      r = 0;
      break;
    }
    g_release(g);
    g_out = NULL;
    if(why == GA_NOMEM) {
      r = -ENOMEM;
      break;
    }
    if(why == GA_OK || attempt == 3) {
      r = -EINVAL;
      break;
    }
    p->truncated = 1;
    try_len = attempt < 2 ? cut_before_tag(src, try_len, try_len / 4) : 0;
  }
  if(r == 0) {
    walk(b, g_out->document);
    r = b->err;
  }
  g_release(g); /* the whole tree, at once */
  free(g);
  qw_buf_free(&ps.out);
  qw_buf_free(&fixed);
  if(r < 0)
    goto fail;
  finish(b, url);
  r = b->err;
  if(r < 0)
    goto fail;
  builder_free(b);
  free(b);
  *out = p;
  return 0;

fail:
  builder_free(b);
  free(b);
  qw_arena_destroy(a);
  if(r == -EINVAL)
    set_msg(err, errlen, "HTML parser failed");
  else
    set_msg(err, errlen, "out of memory");
  return r == -EINVAL ? -EINVAL : -ENOMEM;

nomem:
  set_msg(err, errlen, "out of memory");
  return -ENOMEM;
}

void qw_page_free(qw_page *p)
{
  if(p)
    qw_arena_destroy(p->arena);
}

const char *qw_page_body_joined(qw_page *p, size_t *len)
{
  page_impl *pi = (page_impl *)p;
  if(!pi->joined) {
    const qw_text *t = &p->field[QW_FIELD_BODY];
    size_t spaces = 0;
    for(size_t i = 0; i < pi->n_sep; i++)
      spaces += pi->sepws[i] ? 1 : 0;
    size_t n = t->len - pi->n_sep + spaces;
    char *o = qw_arena_alloc(p->arena, n + 1);
    if(!o) {
      if(len)
        *len = 0;
      return NULL;
    }
    size_t k = 0, s = 0;
    for(size_t i = 0; i < t->len; i++) {
      char c = t->text[i];
      if(c == '\n') {
        if(s < pi->n_sep && pi->sepws[s])
          o[k++] = ' ';
        s++;
        continue;
      }
      o[k++] = c;
    }
    o[k] = '\0';
    pi->joined = o;
    pi->joined_len = k;
  }
  if(len)
    *len = pi->joined_len;
  return pi->joined;
}
