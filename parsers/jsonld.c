/* jsonld.c — JSON-LD flattening with jansson, and a tolerant scanner for
 * the product state that shops embed in scripts (see jsonld.h). */
#include "jsonld.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

/* ===== shared helpers ===== */

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* 1 when s[0..n) equals the lower-case word w, ignoring ASCII case. */
static int ieq(const char *s, size_t n, const char *w)
{
  size_t i;
  for(i = 0; i < n; i++) {
    if(!w[i] || lower((unsigned char)s[i]) != w[i])
      return 0;
  }
  return w[i] == '\0';
}

static int in_list(const char *s, size_t n, const char *const *list)
{
  for(; *list; list++) {
    if(ieq(s, n, *list))
      return 1;
  }
  return 0;
}

/* ===== JSON-LD ===== */

typedef struct {
  const qw_jsonld_sink *s;
  char path[QW_JSONLD_MAX_KEY + 1];
  size_t plen;
  int stop; /* non-zero: a callback asked to stop (>0) or failed (<0) */
} flat;

static void fl_value(flat *f, const char *v, size_t n)
{
  if(f->stop)
    return;
  if(n > QW_JSONLD_MAX_VALUE)
    n = qw_utf8_floor(v, n, QW_JSONLD_MAX_VALUE);
  int r = f->s->value(f->s->ctx, f->path, f->plen, v, n);
  if(r)
    f->stop = r;
}

/* Strips an IRI prefix: "http://schema.org/Product" and "schema:Product"
 * both name "Product". */
static void type_base(const char *t, size_t n, const char **o, size_t *on)
{
  size_t i = n;
  while(i > 0 && t[i - 1] != '/' && t[i - 1] != '#' && t[i - 1] != ':')
    i--;
  *o = t + i;
  *on = n - i;
}

/* Reports the node's @type names; returns the first one in *first. */
static void fl_types(flat *f, json_t *obj, int root, const char **first,
                     size_t *first_len)
{
  json_t *t = json_object_get(obj, "@type");
  size_t n = json_is_array(t) ? json_array_size(t) : 1;
  *first = NULL;
  *first_len = 0;
  if(!t)
    return;
  for(size_t i = 0; i < n && i < 16; i++) {
    json_t *e = json_is_array(t) ? json_array_get(t, i) : t;
    if(!json_is_string(e))
      continue;
    const char *name;
    size_t len;
    type_base(json_string_value(e), json_string_length(e), &name, &len);
    if(len == 0 || len > 64 || memchr(name, '\0', len))
      continue;
    if(!*first) {
      *first = name;
      *first_len = len;
    }
    if(f->s->type && !f->stop) {
      int r = f->s->type(f->s->ctx, name, len, root);
      if(r)
        f->stop = r;
    }
  }
}

/* Appends ".key" (or "key" to an empty path); 0 when it does not fit or the
 * key holds control characters or a dot (it would make the path
 * ambiguous). A full IRI key ("http://schema.org/name") counts as its
 * last part. */
static int fl_push(flat *f, const char *k, size_t kl)
{
  type_base(k, kl, &k, &kl);
  size_t need = kl + (f->plen ? 1 : 0);
  if(kl == 0 || need > QW_JSONLD_MAX_KEY - f->plen)
    return 0;
  for(size_t i = 0; i < kl; i++) {
    if((unsigned char)k[i] < 0x20 || k[i] == '.')
      return 0;
  }
  if(f->plen)
    f->path[f->plen++] = '.';
  memcpy(f->path + f->plen, k, kl);
  f->plen += kl;
  return 1;
}

static void fl_walk(flat *f, json_t *j, unsigned depth);

static void fl_members(flat *f, json_t *obj, unsigned depth)
{
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if(f->stop)
      break;
    if(k[0] == '@')
      continue;
    size_t save = f->plen;
    if(!fl_push(f, k, strlen(k)))
      continue;
    fl_walk(f, v, depth + 1);
    f->plen = save;
  }
}

static void fl_walk(flat *f, json_t *j, unsigned depth)
{
  char num[64];
  if(f->stop || depth >= QW_JSONLD_MAX_DEPTH)
    return;
  switch(json_typeof(j)) {
  case JSON_OBJECT: {
    const char *t;
    size_t tl;
    fl_types(f, j, 0, &t, &tl);
    fl_members(f, j, depth);
    break;
  }
  case JSON_ARRAY: {
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
      if(f->stop)
        break;
      fl_walk(f, e, depth + 1);
    }
    break;
  }
  case JSON_STRING:
    fl_value(f, json_string_value(j), json_string_length(j));
    break;
  case JSON_INTEGER: {
    int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(j));
    fl_value(f, num, (size_t)n);
    break;
  }
  case JSON_REAL: {
    int n = snprintf(num, sizeof(num), "%.15g", json_real_value(j));
    fl_value(f, num, (size_t)n);
    break;
  }
  default:
    break;
  }
}

/* A top-level node: an object (maybe holding @graph) or an array of them. */
static void fl_root(flat *f, json_t *j, unsigned depth)
{
  if(f->stop || depth >= QW_JSONLD_MAX_DEPTH)
    return;
  if(json_is_array(j)) {
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
      if(f->stop)
        break;
      fl_root(f, e, depth + 1);
    }
    return;
  }
  if(!json_is_object(j))
    return;
  json_t *g = json_object_get(j, "@graph");
  if(g)
    fl_root(f, g, depth + 1);
  const char *t;
  size_t tl;
  fl_types(f, j, 1, &t, &tl);
  if(!t) {
    if(g)
      return; /* a bare @graph container has nothing of its own */
    t = "Thing";
    tl = 5;
  }
  f->plen = 0;
  if(!fl_push(f, t, tl))
    return;
  fl_members(f, j, depth);
  f->plen = 0;
}

/* Removes white space, a BOM and HTML comment / CDATA wrappers around the
 * script text. */
static void trim_wrappers(const char **pp, size_t *pn)
{
  const char *p = *pp;
  size_t n = *pn;
  static const char *const pre[] = {"<!--", "//<![CDATA[", "<![CDATA[",
                                    NULL};
  static const char *const post[] = {"-->", "//]]>", "]]>", NULL};
  int again = 1;
  while(again) {
    again = 0;
    while(n && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
                *p == '\f')) {
      p++;
      n--;
    }
    while(n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' ||
                p[n - 1] == '\r' || p[n - 1] == '\f' || p[n - 1] == ';'))
      n--;
    if(n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
      p += 3;
      n -= 3;
      again = 1;
    }
    for(int i = 0; pre[i]; i++) {
      size_t l = strlen(pre[i]);
      if(n >= l && !memcmp(p, pre[i], l)) {
        p += l;
        n -= l;
        again = 1;
      }
    }
    for(int i = 0; post[i]; i++) {
      size_t l = strlen(post[i]);
      if(n >= l && !memcmp(p + n - l, post[i], l)) {
        n -= l;
        again = 1;
      }
    }
  }
  *pp = p;
  *pn = n;
}

int qw_jsonld_flatten(const char *json, size_t len, const qw_jsonld_sink *s)
{
  if(len > QW_JSONLD_MAX_INPUT)
    return -E2BIG;
  trim_wrappers(&json, &len);
  if(len == 0 || (json[0] != '{' && json[0] != '['))
    return -EINVAL;
  json_error_t err;
  json_t *root = json_loadb(json, len, 0, &err);
  if(!root)
    return json_error_code(&err) == json_error_out_of_memory ? -ENOMEM
                                                             : -EINVAL;
  flat *f = malloc(sizeof(*f));
  if(!f) {
    json_decref(root);
    return -ENOMEM;
  }
  f->s = s;
  f->plen = 0;
  f->stop = 0;
  fl_root(f, root, 0);
  int r = f->stop < 0 ? f->stop : 0;
  free(f);
  json_decref(root);
  return r;
}

/* ===== embedded state ===== */

static const char *const product_keys[] = {
  "title", "subtitle", "itemtitle", "itemname", "goodsname", "goodstitle",
  "productname", "producttitle", "skuname", "skutitle", "brand", "brandname",
  "shopname", "model", "desc", "description", NULL};
static const char *const props_keys[] = {
  "props", "params", "attributes", "attrs", "properties", "specs",
  "parameters", "skuprops", "baseprops", "groupprops", "attrlist",
  "attributelist", "paramlist", "paramslist", "proplist", "propslist",
  "speclist", "specslist", "propertylist", NULL};
static const char *const pair_name_keys[] = {
  "name", "key", "label", "propname", "attrname", "paramname", NULL};
static const char *const pair_value_keys[] = {
  "value", "val", "propvalue", "attrvalue", "paramvalue", "text", NULL};
static const char *const itemish[] = {
  "item", "product", "goods", "sku", "shop", "seller", "store", "brand",
  NULL};

/* 1 when one of the words occurs in s[0..n), ignoring case. */
static int contains_word(const char *s, size_t n, const char *const *list)
{
  for(; *list; list++) {
    size_t l = strlen(*list);
    for(size_t i = 0; i + l <= n; i++) {
      if(ieq(s + i, l, *list))
        return 1;
    }
  }
  return 0;
}

#define ST_DEPTH 32 /* containers nested deeper are skipped whole */
#define ST_KEY 64   /* bytes of a key kept for matching */
#define ST_PAIR 512 /* bytes kept of a pair's name and of its value */

typedef struct {
  unsigned char kind;  /* '{' or '[' */
  unsigned char pair;  /* object directly under a property list */
  unsigned char props; /* array that is a property list */
  unsigned char path_ok;
  size_t plen;         /* path length of this container */
  size_t seg, seglen;  /* the key that names this container, in path */
  char key[ST_KEY];    /* current member key (objects) */
  size_t klen;
  int key_long;
} st_frame;

typedef struct {
  const qw_jsonld_sink *s;
  const char *js;
  size_t n, i;
  st_frame f[ST_DEPTH];
  unsigned depth;
  char path[QW_JSONLD_MAX_KEY + 1];
  qw_buf val;       /* decoded string value */
  char pname[ST_PAIR], pvalue[ST_PAIR];
  size_t pnlen, pvlen;
  int pframe;       /* frame the pair slot belongs to, -1 none */
  int stop;
} scan;

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static int is_ident(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/* Skips white space and comments; 0 at the end of input. */
static int sc_skip(scan *s)
{
  while(s->i < s->n) {
    unsigned char c = (unsigned char)s->js[s->i];
    if(is_ws(c)) {
      s->i++;
      continue;
    }
    if(c == '/' && s->i + 1 < s->n && s->js[s->i + 1] == '/') {
      const char *e = memchr(s->js + s->i, '\n', s->n - s->i);
      s->i = e ? (size_t)(e - s->js) + 1 : s->n;
      continue;
    }
    if(c == '/' && s->i + 1 < s->n && s->js[s->i + 1] == '*') {
      size_t j = s->i + 2;
      while(j + 1 < s->n && !(s->js[j] == '*' && s->js[j + 1] == '/'))
        j++;
      s->i = j + 2 <= s->n ? j + 2 : s->n;
      continue;
    }
    return 1;
  }
  return 0;
}

static int hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  c = lower(c);
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Reads n hex digits at js[*i]; -1 when they are not there. */
static long hexn(const char *js, size_t len, size_t *i, unsigned n)
{
  long v = 0;
  if(len - *i < n)
    return -1;
  for(unsigned k = 0; k < n; k++) {
    int h = hexval((unsigned char)js[*i + k]);
    if(h < 0)
      return -1;
    v = v * 16 + h;
  }
  *i += n;
  return v;
}

static int put_cp(qw_buf *b, size_t cap, uint32_t cp)
{
  char tmp[4];
  if(cp == 0)
    return 0; /* never hand a NUL to the page */
  size_t l = qw_utf8_encode(cp, tmp);
  if(b->len + l > cap)
    return 0;
  return qw_buf_append(b, tmp, l);
}

/* See jsonld.h. */
size_t qw__utf8_prefix(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while(i < n) {
    unsigned c = s[i];
    if(c < 0x80) {
      if(c == 0)
        return i;
      i++;
      /* the rest of an ASCII run, eight bytes at a time (a zero byte
       * stops this too) */
      while(n - i >= 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        if((v & 0x8080808080808080ULL) ||
           ((v - 0x0101010101010101ULL) & ~v & 0x8080808080808080ULL))
          break;
        i += 8;
      }
      continue;
    }
    /* the common case in Chinese text: E1..EC, EE, EF and two
     * continuation bytes */
    if(c >= 0xE1 && c <= 0xEF && c != 0xED && n - i >= 3 &&
       (s[i + 1] & 0xC0) == 0x80 && (s[i + 2] & 0xC0) == 0x80) {
      i += 3;
      continue;
    }
    size_t need;
    if(c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if(c >= 0xE0 && c <= 0xEF)
      need = 2;
    else if(c >= 0xF0 && c <= 0xF4)
      need = 3;
    else
      return i;
    if(n - i <= need)
      return i;
    unsigned c1 = s[i + 1];
    if((c1 & 0xC0) != 0x80 || (c == 0xE0 && c1 < 0xA0) ||
       (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
       (c == 0xF4 && c1 > 0x8F))
      return i;
    for(size_t k = 2; k <= need; k++) {
      if((s[i + k] & 0xC0) != 0x80)
        return i;
    }
    i += need + 1;
  }
  return i;
}

/* Reads the quoted string at js[*pi] (quote char there). Decodes up to cap
 * bytes into out when out is not NULL (valid UTF-8, NULs dropped); skips
 * the rest. Returns 0, 1 when the string is unterminated, or -ENOMEM. */
static int read_string(const char *js, size_t n, size_t *pi, qw_buf *out,
                       size_t cap)
{
  char q = js[*pi];
  size_t i = *pi + 1;
  while(i < n) {
    unsigned char c = (unsigned char)js[i];
    if(c == (unsigned char)q) {
      *pi = i + 1;
      return 0;
    }
    if(c != '\\') {
      if(!out) {
        i++;
        continue;
      }
      /* a run of plain bytes: its valid prefix is copied as it is, an
       * invalid byte becomes U+FFFD, a NUL goes */
      size_t j = i + 1;
      while(j < n && js[j] != q && js[j] != '\\')
        j++;
      while(i < j) {
        size_t v = qw__utf8_prefix(js + i, j - i);
        size_t room = out->len < cap ? cap - out->len : 0;
        size_t take = v <= room ? v : qw_utf8_floor(js + i, v, room);
        if(take && qw_buf_append(out, js + i, take))
          return -ENOMEM;
        i += v;
        if(i < j) {
          if(js[i] != 0 && put_cp(out, cap, 0xFFFD))
            return -ENOMEM;
          i++;
        }
      }
      continue;
    }
    i++;
    if(i >= n)
      break;
    c = (unsigned char)js[i++];
    uint32_t cp;
    switch(c) {
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'v': cp = '\v'; break;
    case '0': cp = 0; break;
    case '\n': cp = 0; break; /* line continuation */
    case 'x': {
      long v = hexn(js, n, &i, 2);
      cp = v < 0 ? 0xFFFD : (uint32_t)v;
      break;
    }
    case 'u': {
      long v;
      if(i < n && js[i] == '{') {
        size_t j = i + 1;
        v = 0;
        while(j < n && j - i <= 7 && hexval((unsigned char)js[j]) >= 0)
          v = v * 16 + hexval((unsigned char)js[j++]);
        if(j < n && js[j] == '}' && j > i + 1)
          i = j + 1;
        else
          v = -1;
      }
      else
        v = hexn(js, n, &i, 4);
      if(v >= 0xD800 && v <= 0xDBFF && n - i >= 6 && js[i] == '\\' &&
         js[i + 1] == 'u') {
        size_t j = i + 2;
        long lo = hexn(js, n, &j, 4);
        if(lo >= 0xDC00 && lo <= 0xDFFF) {
          v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
          i = j;
        }
      }
      cp = (v < 0 || v > 0x10FFFF) ? 0xFFFD : (uint32_t)v;
      break;
    }
    default:
      if(c >= 0x80) {
        /* an escaped multi-byte character stands for itself */
        i--;
        cp = qw_utf8_next(js, n, &i);
      }
      else
        cp = c;
      break;
    }
    if(out && put_cp(out, cap, cp))
      return -ENOMEM;
  }
  *pi = n;
  return 1;
}

/* Skips a value that is not a string, object or array (numbers, true,
 * function(){…}, new Date(…) …): up to a ',', '}' or ']' at its level. */
static void sc_skip_other(scan *s)
{
  unsigned nest = 0;
  while(s->i < s->n) {
    unsigned char c = (unsigned char)s->js[s->i];
    if(c == '"' || c == '\'' || c == '`') {
      if(read_string(s->js, s->n, &s->i, NULL, 0) != 0)
        return;
      continue;
    }
    if(c == '/' && s->i + 1 < s->n &&
       (s->js[s->i + 1] == '/' || s->js[s->i + 1] == '*')) {
      sc_skip(s);
      continue;
    }
    if(c == '(' || c == '[' || c == '{')
      nest++;
    else if(c == ')' || c == ']' || c == '}') {
      if(nest == 0)
        return;
      nest--;
    }
    else if(c == ',' && nest == 0)
      return;
    s->i++;
  }
}

/* Skips the object or array at js[i]; 0 when it does not end. */
static int sc_skip_container(scan *s)
{
  unsigned nest = 0;
  while(s->i < s->n) {
    char d = s->js[s->i];
    if(d == '"' || d == '\'' || d == '`') {
      if(read_string(s->js, s->n, &s->i, NULL, 0))
        return 0;
      continue;
    }
    s->i++;
    if(d == '{' || d == '[')
      nest++;
    else if((d == '}' || d == ']') && --nest == 0)
      return 1;
  }
  return 0;
}

static int sc_emit(scan *s, size_t plen, const char *k, size_t kl,
                   const char *v, size_t vl)
{
  char key[QW_JSONLD_MAX_KEY + 1];
  if(plen + (kl ? kl + 1 : 0) > QW_JSONLD_MAX_KEY)
    return 0;
  memcpy(key, s->path, plen);
  if(kl) {
    key[plen] = '.';
    memcpy(key + plen + 1, k, kl);
  }
  size_t n = plen + (kl ? kl + 1 : 0);
  if(vl == 0)
    return 0;
  int r = s->s->value(s->s->ctx, key, n, v, vl);
  if(r)
    s->stop = r;
  return r;
}

/* A string value has been read into s->val; report it if it is wanted. */
static int sc_string(scan *s, st_frame *f)
{
  if(!f->path_ok)
    return 0;
  if(f->kind == '[')
    return f->props ? sc_emit(s, f->plen, NULL, 0, s->val.data, s->val.len)
                    : 0;
  if(f->key_long)
    return 0;
  if(f->pair && s->pframe == (int)s->depth - 1) {
    if(in_list(f->key, f->klen, pair_name_keys) && s->val.len < ST_PAIR) {
      memcpy(s->pname, s->val.data, s->val.len);
      s->pnlen = s->val.len;
      return 0;
    }
    if(in_list(f->key, f->klen, pair_value_keys) && s->val.len < ST_PAIR) {
      memcpy(s->pvalue, s->val.data, s->val.len);
      s->pvlen = s->val.len;
      return 0;
    }
  }
  if(in_list(f->key, f->klen, product_keys) ||
     (ieq(f->key, f->klen, "name") &&
      contains_word(s->path + f->seg, f->seglen, itemish)))
    return sc_emit(s, f->plen, f->key, f->klen, s->val.data, s->val.len);
  return 0;
}

/* Whether the string value of the current member should be decoded. */
static int sc_wanted(const st_frame *f)
{
  if(!f->path_ok)
    return 0;
  if(f->kind == '[')
    return f->props;
  if(f->key_long)
    return 0;
  if(f->pair && (in_list(f->key, f->klen, pair_name_keys) ||
                 in_list(f->key, f->klen, pair_value_keys)))
    return 1;
  return in_list(f->key, f->klen, product_keys) ||
         ieq(f->key, f->klen, "name");
}

static void sc_push(scan *s, char kind)
{
  st_frame *p = s->depth ? &s->f[s->depth - 1] : NULL;
  st_frame *f = &s->f[s->depth];
  int under_props = 0;
  f->kind = (unsigned char)kind;
  f->klen = 0;
  f->key_long = 0;
  if(!p) {
    f->path_ok = 1;
    f->plen = 5; /* "State" */
    f->seg = 0;
    f->seglen = 0;
  }
  else if(p->kind == '{') {
    size_t need = p->klen + 1;
    f->path_ok = p->path_ok && !p->key_long && p->klen > 0 &&
                 p->plen + need <= QW_JSONLD_MAX_KEY;
    f->plen = p->plen;
    f->seg = p->plen + 1;
    f->seglen = p->klen;
    if(f->path_ok) {
      s->path[p->plen] = '.';
      memcpy(s->path + p->plen + 1, p->key, p->klen);
      f->plen = p->plen + need;
      under_props = in_list(p->key, p->klen, props_keys);
    }
  }
  else {
    f->path_ok = p->path_ok;
    f->plen = p->plen;
    f->seg = p->seg;
    f->seglen = p->seglen;
    under_props = p->props;
  }
  f->pair = (unsigned char)(kind == '{' && under_props);
  f->props = (unsigned char)(kind == '[' && under_props);
  if(f->pair) {
    s->pframe = (int)s->depth;
    s->pnlen = s->pvlen = 0;
  }
  s->depth++;
}

static void sc_pop(scan *s)
{
  st_frame *f = &s->f[s->depth - 1];
  if(f->pair && s->pframe == (int)s->depth - 1) {
    if(s->pnlen && s->pvlen && f->path_ok) {
      /* "name: value", reported under the property list's own path */
      char buf[2 * ST_PAIR + 2];
      memcpy(buf, s->pname, s->pnlen);
      buf[s->pnlen] = ':';
      buf[s->pnlen + 1] = ' ';
      memcpy(buf + s->pnlen + 2, s->pvalue, s->pvlen);
      sc_emit(s, f->plen, NULL, 0, buf, s->pnlen + 2 + s->pvlen);
    }
    s->pframe = -1;
  }
  s->depth--;
}

enum { EXP_VALUE, EXP_KEY, EXP_COLON, EXP_NEXT };

static int sc_run(scan *s)
{
  int expect = EXP_VALUE;
  while(!s->stop && sc_skip(s)) {
    unsigned char c = (unsigned char)s->js[s->i];
    st_frame *f = s->depth ? &s->f[s->depth - 1] : NULL;
    switch(expect) {
    case EXP_KEY:
      if(c == '}') {
        s->i++;
        sc_pop(s);
        expect = EXP_NEXT;
        break;
      }
      f->klen = 0;
      f->key_long = 0;
      if(c == '"' || c == '\'') {
        qw_buf_reset(&s->val);
        int r = read_string(s->js, s->n, &s->i, &s->val, ST_KEY + 4);
        if(r)
          return r < 0 ? r : 0;
        if(s->val.len >= ST_KEY)
          f->key_long = 1;
        else {
          memcpy(f->key, s->val.data, s->val.len);
          f->klen = s->val.len;
        }
      }
      else if(is_ident(c)) {
        size_t st = s->i;
        while(s->i < s->n && is_ident((unsigned char)s->js[s->i]))
          s->i++;
        if(s->i - st >= ST_KEY)
          f->key_long = 1;
        else {
          memcpy(f->key, s->js + st, s->i - st);
          f->klen = s->i - st;
        }
      }
      else
        return 0;
      for(size_t k = 0; k < f->klen; k++) {
        if((unsigned char)f->key[k] < 0x20 || f->key[k] == '.')
          f->key_long = 1; /* unusable as a path segment */
      }
      if(!qw_utf8_valid(f->key, f->klen))
        f->key_long = 1; /* an identifier of stray bytes */
      expect = EXP_COLON;
      break;
    case EXP_COLON:
      if(c != ':')
        return 0;
      s->i++;
      expect = EXP_VALUE;
      break;
    case EXP_VALUE:
      if(c == '{' || c == '[') {
        if(s->depth >= ST_DEPTH) {
          /* too deep to keep a path: skip the whole container */
          if(!sc_skip_container(s))
            return 0;
          expect = EXP_NEXT;
          break;
        }
        s->i++;
        sc_push(s, (char)c);
        expect = c == '{' ? EXP_KEY : EXP_VALUE;
        break;
      }
      if(!f)
        return 0;
      if(c == ']' && f->kind == '[') {
        s->i++;
        sc_pop(s);
        expect = EXP_NEXT;
        break;
      }
      if(c == '"' || c == '\'' || c == '`') {
        int want = sc_wanted(f);
        qw_buf_reset(&s->val);
        int r = read_string(s->js, s->n, &s->i, want ? &s->val : NULL,
                            QW_JSONLD_MAX_VALUE);
        if(r)
          return r < 0 ? r : 0;
        if(want) {
          r = sc_string(s, f);
          if(r < 0)
            return r;
        }
      }
      else {
        size_t st = s->i;
        sc_skip_other(s);
        if(s->i == st)
          return 0; /* a stray '}' or ',' where a value belongs */
      }
      expect = EXP_NEXT;
      break;
    default: /* EXP_NEXT */
      if(!f)
        return 0;
      if(c == ',') {
        s->i++;
        expect = f->kind == '{' ? EXP_KEY : EXP_VALUE;
      }
      else if((c == '}' && f->kind == '{') || (c == ']' && f->kind == '[')) {
        s->i++;
        sc_pop(s);
      }
      else
        return 0;
      break;
    }
    if(s->depth == 0 && expect == EXP_NEXT)
      return 0; /* the literal is complete */
  }
  return s->stop < 0 ? s->stop : 0;
}

int qw_jsonld_state(const char *js, size_t len, const qw_jsonld_sink *sink)
{
  if(len > QW_JSONLD_MAX_INPUT)
    len = QW_JSONLD_MAX_INPUT;
  scan *s = malloc(sizeof(*s));
  if(!s)
    return -ENOMEM;
  s->s = sink;
  s->js = NULL;
  s->n = s->i = 0;
  s->depth = 0;
  s->val = (qw_buf)QW_BUF_INIT;
  s->pnlen = s->pvlen = 0;
  s->pframe = -1;
  s->stop = 0;
  memcpy(s->path, "State", 5);
  qw_buf src = QW_BUF_INIT;
  /* val.data is never NULL from here on, even for an empty string */
  int r = qw_buf_reserve(&s->val, 64);
  if(r)
    goto out;
  static const char jp[] = "JSON.parse(";
  if(len >= sizeof(jp) - 1 && !memcmp(js, jp, sizeof(jp) - 1)) {
    /* the state is a JSON string literal: decode it, then scan that */
    size_t i = sizeof(jp) - 1;
    while(i < len && is_ws((unsigned char)js[i]))
      i++;
    if(i < len && (js[i] == '"' || js[i] == '\'' || js[i] == '`')) {
      r = read_string(js, len, &i, &src, QW_JSONLD_MAX_INPUT);
      if(r < 0)
        goto out;
    }
    r = 0;
    if(!src.len)
      goto out;
    js = src.data;
    len = src.len;
  }
  if(len == 0 || (js[0] != '{' && js[0] != '['))
    goto out;
  s->js = js;
  s->n = len;
  s->i = 0;
  r = sc_run(s);
out:
  qw_buf_free(&src);
  qw_buf_free(&s->val);
  free(s);
  return r;
}

int qw_jsonld_find_state(const char *js, size_t len, size_t from,
                         size_t *start, size_t *resume)
{
  static const char *const names[] = {
    "__INIT_DATA__", "__INITIAL_STATE__", "__INITIAL_DATA__",
    "__PRELOADED_STATE__", "__NEXT_DATA__", "g_config", "pageConfig",
    "runParams", NULL};
  static const char *const needles[] = {"__", "g_config", "pageConfig",
                                        "runParams", NULL};
  size_t pos[4];
  for(int k = 0; needles[k]; k++)
    pos[k] = from;
  for(;;) {
    /* the earliest occurrence of any needle at or after its position */
    size_t best = SIZE_MAX;
    int bk = -1;
    for(int k = 0; needles[k]; k++) {
      if(pos[k] >= len)
        continue;
      const char *p = memmem(js + pos[k], len - pos[k], needles[k],
                             strlen(needles[k]));
      if(!p) {
        pos[k] = len;
        continue;
      }
      pos[k] = (size_t)(p - js);
      if(pos[k] < best) {
        best = pos[k];
        bk = k;
      }
    }
    if(bk < 0)
      return 0;
    pos[bk] = best + 1;
    if(best > 0 && is_ident((unsigned char)js[best - 1]) &&
       (unsigned char)js[best - 1] < 0x80)
      continue;
    size_t e = best;
    while(e < len && is_ident((unsigned char)js[e]) &&
          (unsigned char)js[e] < 0x80)
      e++;
    int known = 0;
    for(int k = 0; names[k]; k++) {
      if(e - best == strlen(names[k]) && !memcmp(js + best, names[k],
                                                 e - best))
        known = 1;
    }
    if(!known)
      continue;
    for(int k = 0; needles[k]; k++) {
      if(pos[k] < e)
        pos[k] = e;
    }
    size_t i = e;
    while(i < len && is_ws((unsigned char)js[i]))
      i++;
    if(i >= len || js[i] != '=' || (i + 1 < len && js[i + 1] == '='))
      continue;
    i++;
    while(i < len && is_ws((unsigned char)js[i]))
      i++;
    if(i < len && (js[i] == '{' || js[i] == '[' ||
                   (len - i > 11 && !memcmp(js + i, "JSON.parse(", 11)))) {
      *start = i;
      *resume = e;
      return 1;
    }
  }
}
