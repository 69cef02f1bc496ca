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

/* A class escape (after '\'): \s \d \w and the negated forms, \n …, an
 * escaped character. Returns the code point for a single character, or -2
 * when the escape named a set (already added), -1 on unknown syntax. */
static long class_escape(rd *r, cls *c, int negated)
{
  char e = *r->p++;
  switch(e) {
  case 's':
    put(r, &c->ascii, "\\t\\n\\x0b\\f\\r ");
    if(!negated)
      cls_multi(r, c, U_SPACE);
    return -2;
  case 'd':
    put(r, &c->ascii, "0-9");
    c->any_multi |= !negated;
    return -2;
  case 'w':
    put(r, &c->ascii, "0-9A-Za-z_");
    c->any_multi |= !negated;
    return -2;
  case 'S':
  case 'D':
  case 'W':
    if(negated)
      return -2; /* an exclusion dropped: still a superset */
    put(r, &c->ascii, "\\x00-\\x7f");
    c->any_multi = 1;
    return -2;
  case 'n':
    return '\n';
  case 't':
    return '\t';
  case 'r':
    return '\r';
  case 'f':
    return '\f';
  case 'x':
    return qw_rx_hex_escape(r);
  default:
    if(e && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
              (e >= '0' && e <= '9')))
      return (unsigned char)e;
    return -1;
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
  int first = 1;
  while(!r->err && *r->p && (first || *r->p != ']')) {
    first = 0;
    if(r->p[0] == '[' && r->p[1] == ':') {
      r->err = -EINVAL; /* POSIX classes: not handled */
      break;
    }
    long lo;
    const unsigned char *ls = NULL;
    size_t ll = 0;
    if(*r->p == '\\') {
      r->p++;
      lo = class_escape(r, &c, negated);
      if(lo == -2)
        continue;
    }
    else
      lo = qw_rx_next_cp(r, &ls, &ll);
    if(lo < 0) {
      r->err = -EINVAL;
      break;
    }
    long hi = lo;
    if(r->p[0] == '-' && r->p[1] && r->p[1] != ']') {
      r->p++;
      if(*r->p == '\\') {
        r->p++;
        hi = class_escape(r, &c, negated);
      }
      else
        hi = qw_rx_next_cp(r, &ls, &ll);
      if(hi < lo) {
        r->err = -EINVAL;
        break;
      }
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
  if(*r->p != ']')
    r->err = -EINVAL;
  else
    r->p++;
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
  case 'n':
    put(r, &a->text, "\\n");
    return;
  case 't':
    put(r, &a->text, "\\t");
    return;
  case 'r':
    put(r, &a->text, "\\r");
    return;
  case 'f':
    put(r, &a->text, "\\f");
    return;
  case 'x': {
    long cp = qw_rx_hex_escape(r);
    if(cp < 0)
      r->err = -EINVAL;
    else
      lit_atom(r, a, (uint32_t)cp);
    return;
  }
  default:
    if(e && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
              (e >= '0' && e <= '9'))) {
      char h[8];
      snprintf(h, sizeof(h), "\\x%02x", (unsigned char)e);
      put(r, &a->text, h);
      return;
    }
    r->err = -EINVAL; /* \p, \h, \R, \K, \Q, back references … */
  }
}

static void group_atom(rd *r, atom *a)
{
  int look = qw_rx_group_open(r);
  if(look < 0)
    return;
  if(++r->depth > QW_RX_MAX_DEPTH) {
    r->err = -EINVAL;
    return;
  }
  qw_buf inner = QW_BUF_INIT;
  alternation(r, &inner);
  r->depth--;
  if(*r->p != ')')
    r->err = -EINVAL;
  else
    r->p++;
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
