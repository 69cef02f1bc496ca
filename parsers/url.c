/* url.c — URL parsing, resolution and normalisation (see url.h).
 *
 * Our own RFC 3986 §5.2 resolver with the browser (WHATWG) habits that
 * matter for links found on real pages: leading/trailing C0 controls and
 * spaces are trimmed and tabs/newlines inside removed; for the "special"
 * schemes (http, https, ws, wss, ftp) a backslash counts as a slash, any
 * number of slashes may follow "scheme:", and "http:g" relative to an http
 * base is a relative reference. Output is normalised so that equal URLs
 * compare equal (RFC 3986 §6.2.2): scheme and host in lower case,
 * percent-escapes in upper case and decoded when they stand for an
 * unreserved character, dot segments removed, default port dropped, empty
 * http(s) path → "/". Everything a URL may not contain (spaces, controls,
 * non-ASCII bytes, "<>\"`{}|^[]" in paths and queries …) is
 * percent-encoded byte by byte, so UTF-8 paths come out as %E8%A1%80….
 *
 * Choices (documented in the report, tested in test_url.c):
 * - userinfo ("user:pass@") is dropped: we never crawl with credentials;
 * - IDN hosts are kept as UTF-8 (lower-cased in ASCII only); libcurl
 *   converts them with libidn2 when fetching. Percent-escapes in a host are
 *   decoded; a host with forbidden characters or invalid UTF-8 is -EINVAL;
 * - IPv6 literals are checked and printed canonically with inet_pton/ntop;
 *   IPv4 shorthand forms (0x7f.1) are not rewritten;
 * - non-hierarchical URLs (mailto:, javascript:, data:, tel: …) parse and
 *   resolve (without fragment, with spaces etc. encoded) but are never
 *   fetchable; a relative reference against such a base is -EINVAL.
 *
 * Nothing here allocates except the results (one block per call). */
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

typedef struct {
  const char *p;
  size_t n;
  int has; /* the component is present (it may still be empty) */
} span;

typedef struct {
  span scheme, auth, path, query, frag;
} comps;

static int is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static int hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int is_unreserved(int c)
{
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

/* pchar minus '%' (RFC 3986 §3.3): unreserved, sub-delims, ':' and '@'. */
static int is_pchar(int c)
{
  return is_unreserved(c) || c == '!' || c == '$' || c == '&' ||
         c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
         c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

static int span_eq_ci(span s, const char *w)
{
  size_t l = strlen(w);
  if(s.n != l)
    return 0;
  for(size_t i = 0; i < l; i++) {
    if(lower((unsigned char)s.p[i]) != w[i])
      return 0;
  }
  return 1;
}

static int span_eq_span_ci(span a, span b)
{
  if(a.n != b.n)
    return 0;
  for(size_t i = 0; i < a.n; i++) {
    if(lower((unsigned char)a.p[i]) != lower((unsigned char)b.p[i]))
      return 0;
  }
  return 1;
}

/* Default port of a scheme, -1 when it has none we know of. */
static int default_port(span scheme)
{
  if(span_eq_ci(scheme, "http") || span_eq_ci(scheme, "ws"))
    return 80;
  if(span_eq_ci(scheme, "https") || span_eq_ci(scheme, "wss"))
    return 443;
  if(span_eq_ci(scheme, "ftp"))
    return 21;
  return -1;
}

/* WHATWG "special" schemes (file aside): backslash is a slash, the host is
 * required, the path is never empty. */
static int is_special(span scheme)
{
  return scheme.has && default_port(scheme) > 0;
}

/* ===== Cleaning and splitting ===== */

/* Trims C0 controls and spaces at both ends and removes tabs and newlines
 * inside. Returns a span into s, or into *tmp (malloc'd) when something
 * had to be removed from the middle; -ENOMEM. */
static int clean(const char *s, span *out, char **tmp)
{
  size_t n = strlen(s);
  *tmp = NULL;
  while(n && (unsigned char)s[0] <= 0x20) {
    s++;
    n--;
  }
  while(n && (unsigned char)s[n - 1] <= 0x20)
    n--;
  size_t i = 0;
  while(i < n && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
    i++;
  if(i < n) {
    char *t = malloc(n + 1);
    if(!t)
      return -ENOMEM;
    size_t k = 0;
    for(i = 0; i < n; i++) {
      if(s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
        t[k++] = s[i];
    }
    t[k] = '\0';
    *tmp = t;
    s = t;
    n = k;
  }
  out->p = s;
  out->n = n;
  out->has = 1;
  return 0;
}

/* The scheme at the start of s, if any: ALPHA *( ALPHA / DIGIT / "+" /
 * "-" / "." ) ":". */
static span scheme_of(span s)
{
  span r = {s.p, 0, 0};
  if(s.n == 0 || !is_alpha((unsigned char)s.p[0]))
    return r;
  for(size_t i = 1; i < s.n; i++) {
    int c = (unsigned char)s.p[i];
    if(c == ':') {
      r.n = i;
      r.has = 1;
      return r;
    }
    if(!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return r;
  }
  return r;
}

static int is_slash(int c, int special)
{
  return c == '/' || (special && c == '\\');
}

/* Splits what follows the scheme (or a whole relative reference) into
 * authority, path, query and fragment. force_auth: a special scheme seen
 * in an absolute URL, whose authority comes after any number of slashes,
 * even none ("http:example.com"). */
static void split_rest(span s, int special, int force_auth, comps *c)
{
  size_t i = 0, n = s.n;
  const char *p = s.p;
  c->auth.has = 0;
  c->auth.n = 0;
  if(force_auth ||
     (n >= 2 && is_slash((unsigned char)p[0], special) &&
      is_slash((unsigned char)p[1], special))) {
    if(special) {
      while(i < n && is_slash((unsigned char)p[i], 1))
        i++;
    }
    else
      i = 2;
    size_t a = i;
    while(i < n && !is_slash((unsigned char)p[i], special) && p[i] != '?' &&
          p[i] != '#')
      i++;
    c->auth.p = p + a;
    c->auth.n = i - a;
    c->auth.has = 1;
  }
  size_t ps = i;
  while(i < n && p[i] != '?' && p[i] != '#')
    i++;
  c->path.p = p + ps;
  c->path.n = i - ps;
  c->path.has = 1;
  c->query.has = 0;
  c->query.n = 0;
  if(i < n && p[i] == '?') {
    size_t q = ++i;
    while(i < n && p[i] != '#')
      i++;
    c->query.p = p + q;
    c->query.n = i - q;
    c->query.has = 1;
  }
  c->frag.has = 0;
  c->frag.n = 0;
  if(i < n && p[i] == '#') {
    c->frag.p = p + i + 1;
    c->frag.n = n - i - 1;
    c->frag.has = 1;
  }
}

/* Splits an absolute URL; -EINVAL without a scheme. */
static int split_abs(span s, comps *c)
{
  c->scheme = scheme_of(s);
  if(!c->scheme.has)
    return -EINVAL;
  span rest = {s.p + c->scheme.n + 1, s.n - c->scheme.n - 1, 1};
  int sp = is_special(c->scheme);
  split_rest(rest, sp, sp, c);
  return 0;
}

/* ===== Normalising components ===== */

/* Host of an authority into b (lower case, escapes decoded, IPv6 without
 * brackets in canonical form) and *port (-1 when none given). *v6 tells
 * whether it was an IPv6 literal. Userinfo is dropped. */
static int norm_authority(span a, int special, qw_buf *b, int *port, int *v6)
{
  const char *p = a.p;
  size_t n = a.n;
  *port = -1;
  *v6 = 0;
  /* The last '@' ends the userinfo (WHATWG). */
  for(size_t i = n; i > 0; i--) {
    if(p[i - 1] == '@') {
      p += i;
      n -= i;
      break;
    }
  }
  size_t hend;
  if(n && p[0] == '[') {
    const char *close = memchr(p, ']', n);
    if(!close)
      return -EINVAL;
    size_t hl = (size_t)(close - p - 1);
    char lit[64], txt[INET6_ADDRSTRLEN];
    struct in6_addr addr;
    if(hl == 0 || hl >= sizeof(lit))
      return -EINVAL;
    memcpy(lit, p + 1, hl);
    lit[hl] = '\0';
    if(inet_pton(AF_INET6, lit, &addr) != 1 ||
       !inet_ntop(AF_INET6, &addr, txt, sizeof(txt)))
      return -EINVAL;
    if(qw_buf_puts(b, txt) != 0)
      return -ENOMEM;
    *v6 = 1;
    hend = (size_t)(close - p) + 1;
    if(hend < n && p[hend] != ':')
      return -EINVAL;
  }
  else {
    hend = 0;
    while(hend < n && p[hend] != ':')
      hend++;
    size_t start = b->len;
    for(size_t i = 0; i < hend; i++) {
      int c = (unsigned char)p[i];
      if(c == '%' && i + 2 < hend && hexval((unsigned char)p[i + 1]) >= 0 &&
         hexval((unsigned char)p[i + 2]) >= 0) {
        c = hexval((unsigned char)p[i + 1]) * 16 +
            hexval((unsigned char)p[i + 2]);
        i += 2;
      }
      else if(c == '%')
        return -EINVAL;
      /* Forbidden host code points (WHATWG), controls and DEL. */
      if(c <= 0x20 || c == 0x7F || c == '#' || c == '%' || c == '/' ||
         c == ':' || c == '<' || c == '>' || c == '?' || c == '@' ||
         c == '[' || c == '\\' || c == ']' || c == '^' || c == '|')
        return -EINVAL;
      if(qw_buf_putc(b, (char)lower(c)) != 0)
        return -ENOMEM;
    }
    if(!qw_utf8_valid(b->data ? b->data + start : "", b->len - start))
      return -EINVAL;
    if(special && b->len == start)
      return -EINVAL;
  }
  if(hend < n) {
    /* ':' port: digits only; empty means none. */
    long v = 0;
    size_t i = hend + 1;
    if(i < n) {
      for(; i < n; i++) {
        if(!is_digit((unsigned char)p[i]))
          return -EINVAL;
        v = v * 10 + (p[i] - '0');
        if(v > 65535)
          return -EINVAL;
      }
      *port = (int)v;
    }
  }
  return 0;
}

enum { ENC_PATH, ENC_QUERY, ENC_FRAG, ENC_OPAQUE };

/* Appends s percent-normalised: valid escapes upper-cased (or decoded
 * when unreserved), every other byte outside the allowed set (pchar and
 * '/', plus '?' outside paths) encoded. Special schemes read backslashes
 * in paths as slashes. */
static int norm_escape(span s, int mode, int special, qw_buf *b)
{
  static const char hex[] = "0123456789ABCDEF";
  if(s.n > SIZE_MAX / 4 || qw_buf_reserve(b, s.n * 3) != 0)
    return -ENOMEM;
  char *o = b->data + b->len;
  for(size_t i = 0; i < s.n; i++) {
    int c = (unsigned char)s.p[i];
    if(c == '%' && i + 2 < s.n && hexval((unsigned char)s.p[i + 1]) >= 0 &&
       hexval((unsigned char)s.p[i + 2]) >= 0) {
      int v = hexval((unsigned char)s.p[i + 1]) * 16 +
              hexval((unsigned char)s.p[i + 2]);
      i += 2;
      if(is_unreserved(v))
        *o++ = (char)v;
      else {
        *o++ = '%';
        *o++ = hex[v >> 4];
        *o++ = hex[v & 15];
      }
      continue;
    }
    if(c == '\\' && special && mode == ENC_PATH)
      c = '/';
    if(is_pchar(c) || c == '/' || (c == '?' && mode != ENC_PATH))
      *o++ = (char)c;
    else {
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  b->len = (size_t)(o - b->data);
  b->data[b->len] = '\0';
  return 0;
}

/* RFC 3986 §5.2.4 on p[0..n) (already escaped), appended to b. Linear:
 * each step consumes input, and ".." pops what an earlier step wrote. */
static int remove_dots(const char *p, size_t n, qw_buf *b)
{
  size_t base = b->len;
  if(qw_buf_reserve(b, n) != 0)
    return -ENOMEM;
  size_t i = 0;
  while(i < n) {
    size_t rest = n - i;
    const char *q = p + i;
    if(rest >= 3 && memcmp(q, "../", 3) == 0)
      i += 3;
    else if(rest >= 2 && memcmp(q, "./", 2) == 0)
      i += 2;
    else if(rest >= 3 && memcmp(q, "/./", 3) == 0)
      i += 2;
    else if(rest == 2 && memcmp(q, "/.", 2) == 0) {
      b->data[b->len++] = '/';
      i += 2;
    }
    else if((rest >= 4 && memcmp(q, "/../", 4) == 0) ||
            (rest == 3 && memcmp(q, "/..", 3) == 0)) {
      while(b->len > base && b->data[b->len - 1] != '/')
        b->len--;
      if(b->len > base)
        b->len--;
      if(rest == 3) {
        b->data[b->len++] = '/';
        i += 3;
      }
      else
        i += 3;
    }
    else if((rest == 1 && q[0] == '.') ||
            (rest == 2 && memcmp(q, "..", 2) == 0))
      i = n;
    else {
      size_t j = i + (q[0] == '/' ? 1 : 0);
      while(j < n && p[j] != '/')
        j++;
      memcpy(b->data + b->len, p + i, j - i);
      b->len += j - i;
      i = j;
    }
  }
  b->data[b->len] = '\0';
  return 0;
}

/* The normalised path of a URL into out: escapes, dot segments, "/" for
 * an empty special path, "/." before a "//" that has no authority. */
static int norm_path(span path, int has_auth, int special, qw_buf *out)
{
  int hier = has_auth || (path.n && (path.p[0] == '/' ||
                                     (special && path.p[0] == '\\')));
  if(!hier)
    return norm_escape(path, ENC_OPAQUE, special, out);
  if(path.n == 0)
    return special ? qw_buf_putc(out, '/') : 0;
  qw_buf tmp = QW_BUF_INIT;
  int r = norm_escape(path, ENC_PATH, special, &tmp);
  size_t start = out->len;
  if(r == 0)
    r = remove_dots(tmp.data, tmp.len, out);
  qw_buf_free(&tmp);
  if(r != 0)
    return r;
  size_t n = out->len - start;
  if(has_auth && n == 0 && special)
    return qw_buf_putc(out, '/');
  if(!has_auth && n >= 2 && out->data[start] == '/' &&
     out->data[start + 1] == '/') {
    if(qw_buf_append(out, "..", 2) != 0)
      return -ENOMEM;
    memmove(out->data + start + 2, out->data + start, n);
    out->data[start + 1] = '.';
  }
  return 0;
}

/* A resolved or parsed URL, as spans into the inputs (path possibly in a
 * scratch buffer). */
typedef struct {
  span scheme, auth, path, query, frag;
} target;

/* Host and port of t into host (bare host, IPv6 without brackets). */
static int target_host(const target *t, qw_buf *host, int *port, int *v6)
{
  int special = is_special(t->scheme);
  *port = -1;
  *v6 = 0;
  if(!t->auth.has)
    return special ? -EINVAL : 0;
  int r = norm_authority(t->auth, special, host, port, v6);
  if(r == 0 && !host->data && qw_buf_reserve(host, 0) != 0)
    r = -ENOMEM;
  return r;
}

static int put_lower(qw_buf *b, span s)
{
  if(qw_buf_reserve(b, s.n) != 0)
    return -ENOMEM;
  for(size_t i = 0; i < s.n; i++)
    b->data[b->len++] = (char)lower((unsigned char)s.p[i]);
  b->data[b->len] = '\0';
  return 0;
}

/* scheme ":" [ "//" host [ ":" port ] ] path [ "?" query ] — no fragment. */
static int serialise(const target *t, qw_buf *out)
{
  int special = is_special(t->scheme), port, v6, r;
  qw_buf host = QW_BUF_INIT;
  if((r = target_host(t, &host, &port, &v6)) != 0)
    goto done;
  r = -ENOMEM;
  if(put_lower(out, t->scheme) != 0 || qw_buf_putc(out, ':') != 0)
    goto done;
  if(t->auth.has) {
    if(qw_buf_append(out, v6 ? "//[" : "//", v6 ? 3 : 2) != 0 ||
       qw_buf_append(out, host.data, host.len) != 0 ||
       (v6 && qw_buf_putc(out, ']') != 0))
      goto done;
    if(port >= 0 && port != default_port(t->scheme)) {
      /* ":port" by hand: a printf per link was 1 % of a page's analysis */
      char d[12];
      size_t n = sizeof(d);
      unsigned v = (unsigned)port;
      do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
      } while(v && n > 1);
      d[--n] = ':';
      if(qw_buf_append(out, d + n, sizeof(d) - n) != 0)
        goto done;
    }
  }
  if((r = norm_path(t->path, t->auth.has, special, out)) != 0)
    goto done;
  if(t->query.has) {
    r = -ENOMEM;
    if(qw_buf_putc(out, '?') != 0)
      goto done;
    if((r = norm_escape(t->query, ENC_QUERY, special, out)) != 0)
      goto done;
  }
  r = 0;
done:
  qw_buf_free(&host);
  return r;
}

/* ===== Public API ===== */

void qw_url_free(qw_url *u)
{
  if(!u)
    return;
  free(u->scheme); /* one block holds every field */
  memset(u, 0, sizeof(*u));
  u->port = -1;
}

int qw_url_parse(const char *s, size_t len, qw_url *u)
{
  memset(u, 0, sizeof(*u));
  u->port = -1;
  if(!s || memchr(s, '\0', len))
    return -EINVAL;
  char *copy = malloc(len + 1), *tmp;
  if(!copy)
    return -ENOMEM;
  memcpy(copy, s, len);
  copy[len] = '\0';
  span in;
  int r = clean(copy, &in, &tmp);
  if(r != 0) {
    free(copy);
    return r;
  }
  comps c;
  target t;
  qw_buf b = QW_BUF_INIT, host = QW_BUF_INIT;
  int port, v6;
  size_t off[5];
  if((r = split_abs(in, &c)) != 0)
    goto done;
  t.scheme = c.scheme;
  t.auth = c.auth;
  t.path = c.path;
  t.query = c.query;
  t.frag = c.frag;
  if((r = target_host(&t, &host, &port, &v6)) != 0)
    goto done;
  int special = is_special(t.scheme);
  r = -ENOMEM;
  off[0] = b.len;
  if(put_lower(&b, t.scheme) != 0 || qw_buf_putc(&b, '\0') != 0)
    goto done;
  off[1] = b.len;
  if(t.auth.has && (qw_buf_append(&b, host.data, host.len) != 0 ||
                    qw_buf_putc(&b, '\0') != 0))
    goto done;
  off[2] = b.len;
  if((r = norm_path(t.path, t.auth.has, special, &b)) != 0)
    goto done;
  r = -ENOMEM;
  if(qw_buf_putc(&b, '\0') != 0)
    goto done;
  off[3] = b.len;
  if(t.query.has) {
    if((r = norm_escape(t.query, ENC_QUERY, special, &b)) != 0)
      goto done;
    r = -ENOMEM;
    if(qw_buf_putc(&b, '\0') != 0)
      goto done;
  }
  off[4] = b.len;
  if(t.frag.has) {
    if((r = norm_escape(t.frag, ENC_FRAG, special, &b)) != 0)
      goto done;
    r = -ENOMEM;
    if(qw_buf_putc(&b, '\0') != 0)
      goto done;
  }
  char *blk = qw_buf_steal(&b, NULL);
  if(!blk)
    goto done;
  u->scheme = blk + off[0];
  u->host = t.auth.has ? blk + off[1] : NULL;
  u->path = blk + off[2];
  u->query = t.query.has ? blk + off[3] : NULL;
  u->fragment = t.frag.has ? blk + off[4] : NULL;
  u->port = port >= 0 ? port : default_port(t.scheme);
  r = 0;
done:
  qw_buf_free(&b);
  qw_buf_free(&host);
  free(tmp);
  free(copy);
  return r;
}

int qw_url_resolve(const char *base, const char *ref, char **out)
{
  if(!base || !ref || !out)
    return -EINVAL;
  span bs, rs;
  char *btmp = NULL, *rtmp = NULL;
  qw_buf merged = QW_BUF_INIT, res = QW_BUF_INIT;
  int r = clean(base, &bs, &btmp);
  if(r == 0)
    r = clean(ref, &rs, &rtmp);
  if(r != 0)
    goto done;
  comps B, R;
  if((r = split_abs(bs, &B)) != 0)
    goto done;
  int bspecial = is_special(B.scheme);
  target t;
  R.scheme = scheme_of(rs);
  if(R.scheme.has && bspecial && span_eq_span_ci(R.scheme, B.scheme)) {
    /* "http:g" against an http base is relative (browsers; the
     * non-strict reading of RFC 3986 §5.4.2). */
    rs.p += R.scheme.n + 1;
    rs.n -= R.scheme.n + 1;
    R.scheme.has = 0;
  }
  if(R.scheme.has) {
    if((r = split_abs(rs, &R)) != 0)
      goto done;
    t.scheme = R.scheme;
    t.auth = R.auth;
    t.path = R.path;
    t.query = R.query;
  }
  else {
    split_rest(rs, bspecial, 0, &R);
    int bhier = B.auth.has || (B.path.n && (B.path.p[0] == '/' ||
                                            (bspecial &&
                                             B.path.p[0] == '\\')));
    /* Against an opaque base (mailto:…) only "" and "#…" resolve. */
    if(!bhier && rs.n && rs.p[0] != '#') {
      r = -EINVAL;
      goto done;
    }
    t.scheme = B.scheme;
    if(R.auth.has) {
      t.auth = R.auth;
      t.path = R.path;
      t.query = R.query;
    }
    else if(R.path.n == 0) {
      t.auth = B.auth;
      t.path = B.path;
      t.query = R.query.has ? R.query : B.query;
    }
    else {
      t.auth = B.auth;
      t.query = R.query;
      if(R.path.p[0] == '/' || (bspecial && R.path.p[0] == '\\'))
        t.path = R.path;
      else {
        /* merge (§5.2.3): the base path up to its last slash + ref. */
        size_t keep = 0;
        for(size_t i = B.path.n; i > 0; i--) {
          if(is_slash((unsigned char)B.path.p[i - 1], bspecial)) {
            keep = i;
            break;
          }
        }
        r = -ENOMEM;
        if(B.auth.has && B.path.n == 0) {
          if(qw_buf_putc(&merged, '/') != 0)
            goto done;
        }
        else if(keep && qw_buf_append(&merged, B.path.p, keep) != 0)
          goto done;
        if(qw_buf_append(&merged, R.path.p, R.path.n) != 0)
          goto done;
        t.path.p = merged.data;
        t.path.n = merged.len;
        t.path.has = 1;
      }
    }
  }
  t.frag.has = 0;
  t.frag.n = 0;
  if((r = serialise(&t, &res)) != 0)
    goto done;
  *out = qw_buf_steal(&res, NULL);
  r = *out ? 0 : -ENOMEM;
done:
  qw_buf_free(&merged);
  qw_buf_free(&res);
  free(btmp);
  free(rtmp);
  return r;
}

int qw_url_is_fetchable(const char *s)
{
  if(!s)
    return 0;
  qw_url u;
  if(qw_url_parse(s, strlen(s), &u) != 0)
    return 0;
  /* Port 0 is valid syntax but nothing to connect to. */
  int ok = (!strcmp(u.scheme, "http") || !strcmp(u.scheme, "https")) &&
           u.host && u.host[0] && u.port > 0;
  qw_url_free(&u);
  return ok;
}

int qw_url_host_key(const char *s, char *out, size_t n)
{
  if(!s || !out || n == 0)
    return -EINVAL;
  qw_url u;
  int r = qw_url_parse(s, strlen(s), &u);
  if(r != 0)
    return r;
  r = -EINVAL;
  if(u.host && u.host[0] && u.port >= 0) {
    int v6 = strchr(u.host, ':') != NULL;
    int w = snprintf(out, n, v6 ? "[%s]:%d" : "%s:%d", u.host, u.port);
    if(w > 0 && (size_t)w < n)
      r = 0;
  }
  qw_url_free(&u);
  if(r != 0)
    out[0] = '\0';
  return r;
}
