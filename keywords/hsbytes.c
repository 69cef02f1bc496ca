/* hsbytes.c — byte-mode supersets of rule patterns for Hyperscan (see
 * hsbytes.h). A small recursive-descent reader of the PCRE2 syntax the
 * rule packs use: literals, escapes, classes, groups, alternation,
 * quantifiers, anchors and look-arounds; anything else is refused. */
#include "hsbytes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rxsyntax.h"
#include "utf8.h"

/* Unicode white space in UTF-8 (PCRE2's \s with UCP), besides ASCII. */
#define U_SPACE "\\xc2\\x85|\\xc2\\xa0|\\xe1\\x9a\\x80|\\xe2\\x80[\\x80-\\x8a]|" \
                "\\xe2\\x80[\\xa8\\xa9\\xaf]|\\xe2\\x81\\x9f|\\xe3\\x80\\x80"
/* Any non-ASCII character. */
#define U_ANY "[\\xc2-\\xf4][\\x80-\\xbf]{1,3}"

typedef qw_rx_reader rd;

typedef struct {
  qw_buf text;    /* the atom in byte mode */
  int group;      /* quantifying it needs (?:…) */
  int scale;      /* 4: one original character is 1–4 atom repeats */
  int zero;       /* zero-width (dropped look-around, \b): no quantifier */
} atom;

static void put(rd *r, qw_buf *b, const char *s)
{
  if(!r->err && qw_buf_puts(b, s))
    r->err = -ENOMEM;
}

static void put_hex(rd *r, qw_buf *b, const unsigned char *s, size_t n)
{
  char h[8];
  for(size_t i = 0; i < n; i++) {
    snprintf(h, sizeof(h), "\\x%02x", s[i]);
    put(r, b, h);
  }
}

/* A literal code point as an atom. */
static void lit_atom(rd *r, atom *a, uint32_t cp)
{
  char u[4];
  size_t n = qw_utf8_encode(cp, u);
  const char *extra = qw_rx_extra_fold(cp);
  if(qw_rx_may_fold(cp))
    r->err = -EINVAL;
  put_hex(r, &a->text, (const unsigned char *)u, n);
  a->group = n > 1;
  if(extra) {
    /* k and s: PCRE2 also matches KELVIN SIGN and LONG S */
    put(r, &a->text, "|");
    put_hex(r, &a->text, (const unsigned char *)extra, strlen(extra));
    a->group = 1;
  }
}

/* ---- classes ----------------------------------------------------------- */

typedef struct {
  qw_buf ascii;   /* members for a [...] of ASCII bytes */
  qw_buf multi;   /* "|"-separated alternatives for non-ASCII members */
  int any_multi;  /* a range or escape that covers non-ASCII characters */
} cls;

static void cls_multi(rd *r, cls *c, const char *alt)
{
  if(c->multi.len)
    put(r, &c->multi, "|");
  put(r, &c->multi, alt);
}

/* A set escape of a class (\s \d \w and the negated forms, by letter),
 * added to c. */
static void class_set(rd *r, cls *c, char e, int negated)
{
  switch(e) {
  case 's':
    put(r, &c->ascii, "\\t\\n\\x0b\\f\\r ");
    if(!negated)
      cls_multi(r, c, U_SPACE);
    return;
  case 'd':
    put(r, &c->ascii, "0-9");
    c->any_multi |= !negated;
    return;
  case 'w':
    put(r, &c->ascii, "0-9A-Za-z_");
    c->any_multi |= !negated;
    return;
  default: /* S D W */
    if(negated)
      return; /* an exclusion dropped: still a superset */
    put(r, &c->ascii, "\\x00-\\x7f");
    c->any_multi = 1;
  }
}

static void class_atom(rd *r, atom *a)
{
  int negated = 0;
  if(*r->p == '^') {
    negated = 1;
    r->p++;
  }
  cls c = {QW_BUF_INIT, QW_BUF_INIT, 0};
  long lo, hi;
  char set;
  int m, first = 1;
  while(!r->err && (m = qw_rx_class_member(r, first, &lo, &hi, &set)) > 0) {
    first = 0;
    if(m == 2) {
      class_set(r, &c, set, negated);
      continue;
    }
    if(qw_rx_range_may_fold((uint32_t)lo, (uint32_t)hi)) {
      r->err = -EINVAL;
      break;
    }
    if(!negated)
      for(const char *f = "kKsS"; *f; f++)
        if(lo <= *f && *f <= hi) {
          /* PCRE2 also matches KELVIN SIGN and LONG S */
          const char *x = qw_rx_extra_fold((uint32_t)*f);
          qw_buf alt = QW_BUF_INIT;
          put_hex(r, &alt, (const unsigned char *)x, strlen(x));
          cls_multi(r, &c, alt.data ? alt.data : "");
          qw_buf_free(&alt);
        }
    if(hi < 0x80) {
      char h[24];
      snprintf(h, sizeof(h), lo == hi ? "\\x%02lx" : "\\x%02lx-\\x%02lx", lo,
               hi);
      put(r, &c.ascii, h);
      continue;
    }
    if(lo < 0x80) {
      char h[24];
      snprintf(h, sizeof(h), "\\x%02lx-\\x7f", lo);
      put(r, &c.ascii, h);
    }
    if(negated)
      continue; /* a non-ASCII exclusion dropped: a superset */
    if(lo == hi) {
      char u[4];
      qw_buf alt = QW_BUF_INIT;
      size_t n = qw_utf8_encode((uint32_t)lo, u);
      put_hex(r, &alt, (const unsigned char *)u, n);
      cls_multi(r, &c, alt.data ? alt.data : "");
      qw_buf_free(&alt);
    }
    else
      c.any_multi = 1; /* a non-ASCII range: any non-ASCII character */
  }
  if(!r->err) {
    if(negated) {
      /* one character of the original is 1-4 bytes here */
      if(c.ascii.len) {
        put(r, &a->text, "[^");
        put(r, &a->text, c.ascii.data);
        put(r, &a->text, "]");
      }
      else
        put(r, &a->text, "[\\x00-\\xff]");
      a->scale = 4;
    }
    else {
      int alts = 0;
      if(c.ascii.len) {
        put(r, &a->text, "[");
        put(r, &a->text, c.ascii.data);
        put(r, &a->text, "]");
        alts++;
      }
      if(c.any_multi) {
        put(r, &a->text, alts ? "|" U_ANY : U_ANY);
        alts++;
      }
      else if(c.multi.len) {
        if(alts)
          put(r, &a->text, "|");
        put(r, &a->text, c.multi.data);
        alts += 2;
      }
      if(!alts)
        r->err = -EINVAL; /* an empty class matches nothing: keep UTF-8 */
      a->group = alts > 1 || c.any_multi || c.multi.len;
    }
  }
  qw_buf_free(&c.ascii);
  qw_buf_free(&c.multi);
}

/* ---- the pattern ------------------------------------------------------- */

static void alternation(rd *r, qw_buf *out);

static void escape_atom(rd *r, atom *a)
{
  char e = *r->p++;
  switch(e) {
  case 's':
    put(r, &a->text, "\\s|" U_SPACE);
    a->group = 1;
    return;
  case 'd':
    put(r, &a->text, "[0-9]|" U_ANY);
    a->group = 1;
    return;
  case 'w':
    put(r, &a->text, "\\w|" U_ANY);
    a->group = 1;
    return;
  case 'S':
    put(r, &a->text, "[^\\t\\n\\x0b\\f\\r ]");
    a->scale = 4;
    return;
  case 'D':
    put(r, &a->text, "[^0-9]");
    a->scale = 4;
    return;
  case 'W':
    put(r, &a->text, "[^0-9A-Za-z_]");
    a->scale = 4;
    return;
  case 'b':
  case 'B':
    a->zero = 1;
    return;
  default: {
    long cp = qw_rx_char_escape(r, e);
    if(cp >= 0) {
      lit_atom(r, a, (uint32_t)cp);
      return;
    }
    r->err = -EINVAL; /* \p, \h, \R, \K, \Q, back references … */
  }
  }
}

static void group_atom(rd *r, atom *a)
{
  int look = qw_rx_group_open(r);
  if(look < 0)
    return;
  qw_buf inner = QW_BUF_INIT;
  alternation(r, &inner);
  qw_rx_group_close(r);
  if(look)
    a->zero = 1; /* a look-around dropped: a superset */
  else {
    put(r, &a->text, "(?:");
    put(r, &a->text, inner.data ? inner.data : "");
    put(r, &a->text, ")");
  }
  qw_buf_free(&inner);
}

static void sequence(rd *r, qw_buf *out)
{
  while(!r->err && *r->p && *r->p != '|' && *r->p != ')') {
    atom a = {QW_BUF_INIT, 0, 1, 0};
    unsigned char c = (unsigned char)*r->p;
    if(c == '(') {
      r->p++;
      group_atom(r, &a);
    }
    else if(c == '[') {
      r->p++;
      class_atom(r, &a);
    }
    else if(c == '\\') {
      r->p++;
      escape_atom(r, &a);
    }
    else if(c == '.') {
      r->p++;
      put(r, &a.text, "[^\\n]");
      a.scale = 4;
    }
    else if(c == '^' || c == '$') {
      r->p++;
      put(r, out, c == '^' ? "^" : "$");
      continue;
    }
    else if(c == '?' || c == '*' || c == '+' || c == '{') {
      r->err = -EINVAL; /* a quantifier with nothing before it */
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
      if(cp < 0x80 && !qw_rx_is_meta((int)cp) && !qw_rx_extra_fold((uint32_t)cp)) {
        char h[8];
        snprintf(h, sizeof(h), "\\x%02x", (unsigned)cp);
        put(r, &a.text, h);
      }
      else
        lit_atom(r, &a, (uint32_t)cp);
    }
    long mn = 1, mx = 1;
    int q = qw_rx_quantifier(r, &mn, &mx);
    if(r->err) {
      qw_buf_free(&a.text);
      break;
    }
    if(a.zero) {
      qw_buf_free(&a.text);
      if(q && mn > 0)
        r->err = -EINVAL;
      continue;
    }
    const char *t = a.text.data ? a.text.data : "";
    if(a.scale == 4) {
      /* one character = 1 to 4 bytes */
      long lo = mn, hi = mx < 0 ? -1 : mx * 4;
      char qb[48];
      if(hi < 0)
        snprintf(qb, sizeof(qb), "{%ld,}", lo);
      else
        snprintf(qb, sizeof(qb), "{%ld,%ld}", lo, hi);
      put(r, out, t);
      put(r, out, qb);
    }
    else {
      if(a.group) {
        put(r, out, "(?:");
        put(r, out, t);
        put(r, out, ")");
      }
      else
        put(r, out, t);
      if(q) {
        char qb[48];
        if(mx < 0)
          snprintf(qb, sizeof(qb), "{%ld,}", mn);
        else
          snprintf(qb, sizeof(qb), "{%ld,%ld}", mn, mx);
        put(r, out, qb);
      }
    }
    qw_buf_free(&a.text);
  }
}

static void alternation(rd *r, qw_buf *out)
{
  sequence(r, out);
  while(!r->err && *r->p == '|') {
    r->p++;
    put(r, out, "|");
    sequence(r, out);
  }
}

int qw_hs_byte_superset(const char *re, qw_buf *out)
{
  rd r = {re, 0, 0};
  size_t start = out->len;
  alternation(&r, out);
  if(!r.err && *r.p)
    r.err = -EINVAL; /* an unmatched ')' */
  if(!r.err && out->len == start)
    r.err = -EINVAL; /* nothing left to look for */
  if(r.err) {
    out->len = start;
    if(out->data)
      out->data[start] = '\0';
    return r.err;
  }
  return 0;
}
