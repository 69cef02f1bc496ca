/* http_parse.c — request-head parser and string helpers of the test
 * server (see http_parse.h). */
#include "http_parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(unsigned char ch)
{
  if((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
     (ch >= '0' && ch <= '9'))
    return 1;
  return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Finds the end of the line starting at p (before end). Sets *eol to the
 * first byte of the line terminator and returns the start of the next
 * line, or NULL when no '\n' is there yet. */
static const char *line_end(const char *p, const char *end,
                            const char **eol)
{
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  if(!nl)
    return NULL;
  *eol = (nl > p && nl[-1] == '\r') ? nl - 1 : nl;
  return nl + 1;
}

static int parse_request_line(const char *p, const char *eol,
                              qw_hp_request *req)
{
  const char *s = p;
  while(p < eol && is_tchar((unsigned char)*p))
    p++;
  if(p == s || p - s > 32 || p >= eol || *p != ' ')
    return -EBADMSG;
  req->method = s;
  req->method_len = (size_t)(p - s);
  s = ++p;
  while(p < eol && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
    p++;
  if(p == s || p >= eol || *p != ' ')
    return -EBADMSG;
  req->target = s;
  req->target_len = (size_t)(p - s);
  p++;
  if(eol - p != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' ||
     p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9')
    return -EBADMSG;
  if(p[5] != '1')
    return -EPROTONOSUPPORT;
  req->minor = p[7] - '0';
  return 0;
}

static int parse_header_line(const char *p, const char *eol,
                             qw_hp_header *h)
{
  const char *s = p;
  while(p < eol && is_tchar((unsigned char)*p))
    p++;
  if(p == s || p >= eol || *p != ':')
    return -EBADMSG;
  h->name = s;
  h->name_len = (size_t)(p - s);
  p++;
  while(p < eol && (*p == ' ' || *p == '\t'))
    p++;
  const char *v = p;
  for(; p < eol; p++) {
    unsigned char ch = (unsigned char)*p;
    if((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return -EBADMSG;
  }
  while(p > v && (p[-1] == ' ' || p[-1] == '\t'))
    p--;
  h->value = v;
  h->value_len = (size_t)(p - v);
  return 0;
}

int qw_hp_parse(const char *buf, size_t len, size_t max_head,
                qw_hp_request *req)
{
  const char *end = buf + (len < max_head ? len : max_head);
  const char *p = buf, *eol, *next;
  int blank = 0, r;

  memset(req, 0, sizeof(*req));
  /* Up to four empty lines may precede the request line. */
  for(;;) {
    next = line_end(p, end, &eol);
    if(!next)
      return len >= max_head ? -EMSGSIZE : 0;
    if(eol != p)
      break;
    if(++blank > 4)
      return -EBADMSG;
    p = next;
  }
  r = parse_request_line(p, eol, req);
  if(r)
    return r;
  p = next;
  for(;;) {
    next = line_end(p, end, &eol);
    if(!next)
      return len >= max_head ? -EMSGSIZE : 0;
    if(eol == p)
      break;
    if(*p == ' ' || *p == '\t')
      return -EBADMSG; /* obs-fold */
    if(req->nheaders == QW_HP_MAX_HEADERS)
      return -EMSGSIZE;
    r = parse_header_line(p, eol, &req->headers[req->nheaders]);
    if(r)
      return r;
    req->nheaders++;
    p = next;
  }
  req->head_len = (size_t)(next - buf);
  return 1;
}

const qw_hp_header *qw_hp_get(const qw_hp_request *req, const char *name)
{
  size_t n = strlen(name);
  for(size_t i = 0; i < req->nheaders; i++) {
    const qw_hp_header *h = &req->headers[i];
    if(h->name_len == n && strncasecmp(h->name, name, n) == 0)
      return h;
  }
  return NULL;
}

/* 1 when the parameters p[0..len) (after the token) say q=0. */
static int q_zero(const char *p, size_t len)
{
  const char *end = p + len;
  while(p < end) {
    while(p < end && (*p == ';' || *p == ' ' || *p == '\t'))
      p++;
    if(end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      p += 2;
      if(p < end && *p == '0') {
        p++;
        if(p < end && *p == '.')
          p++;
        while(p < end && *p == '0')
          p++;
        return p == end || *p == ';' || *p == ' ' || *p == '\t';
      }
      return 0;
    }
    while(p < end && *p != ';')
      p++;
  }
  return 0;
}

int qw_hp_list_has(const char *value, size_t len, const char *token)
{
  size_t tl = strlen(token);
  const char *p = value, *end = value + len;
  while(p < end) {
    while(p < end && (*p == ',' || *p == ' ' || *p == '\t'))
      p++;
    const char *s = p;
    while(p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
      p++;
    const char *e = p;
    const char *ps = p;
    while(p < end && *p != ',')
      p++;
    if((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0 &&
       !q_zero(ps, (size_t)(p - ps)))
      return 1;
  }
  return 0;
}

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int qw_hp_pct_decode(const char *src, size_t len, char *dst, size_t cap,
                     int plus_space)
{
  size_t o = 0;
  for(size_t i = 0; i < len; i++) {
    char ch = src[i];
    if(ch == '%') {
      if(len - i < 3)
        return -EINVAL;
      int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
      if(hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return -EINVAL;
      ch = (char)(hi * 16 + lo);
      i += 2;
    }
    else if(ch == '+' && plus_space)
      ch = ' ';
    else if(ch == '\0')
      return -EINVAL;
    if(o + 1 >= cap)
      return -EINVAL;
    dst[o++] = ch;
  }
  if(cap == 0)
    return -EINVAL;
  dst[o] = '\0';
  return (int)o;
}

int qw_hp_query_get(const char *q, size_t len, const char *name, char *dst,
                    size_t cap)
{
  size_t nl = strlen(name);
  const char *p = q, *end = q + len;
  while(p < end) {
    const char *s = p;
    while(p < end && *p != '&')
      p++;
    const char *e = p;
    if(p < end)
      p++;
    const char *eq = memchr(s, '=', (size_t)(e - s));
    const char *ke = eq ? eq : e;
    if((size_t)(ke - s) != nl || memcmp(s, name, nl) != 0)
      continue;
    if(!eq) {
      if(cap == 0)
        return -EINVAL;
      dst[0] = '\0';
      return 0;
    }
    return qw_hp_pct_decode(eq + 1, (size_t)(e - eq - 1), dst, cap, 1);
  }
  return -ENOENT;
}

int qw_hp_parse_long(const char *s, size_t len, long min, long max,
                     long *out)
{
  long v = 0;
  if(len == 0 || len > 18)
    return -EINVAL;
  for(size_t i = 0; i < len; i++) {
    if(s[i] < '0' || s[i] > '9')
      return -EINVAL;
    v = v * 10 + (s[i] - '0');
  }
  if(v < min || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

int qw_hp_host(const char *v, size_t len, char *dst, size_t cap)
{
  size_t n = len;
  if(len && v[0] == '[') {
    const char *rb = memchr(v, ']', len);
    if(!rb)
      return -EINVAL;
    n = (size_t)(rb - v) + 1;
    for(size_t i = 1; i + 1 < n; i++) {
      char c = v[i];
      if(hexval(c) < 0 && c != ':' && c != '.')
        return -EINVAL;
    }
  }
  else {
    const char *colon = memchr(v, ':', len);
    if(colon)
      n = (size_t)(colon - v);
    for(size_t i = 0; i < n; i++) {
      char c = v[i];
      if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
        return -EINVAL;
    }
  }
  if(n < len) {
    /* Whatever follows the host must be ":digits" (possibly empty). */
    if(v[n] != ':')
      return -EINVAL;
    for(size_t i = n + 1; i < len; i++)
      if(v[i] < '0' || v[i] > '9')
        return -EINVAL;
  }
  if(n == 0 || n >= cap || (n == 1 && v[0] == '.') ||
     (n == 2 && v[0] == '.' && v[1] == '.'))
    return -EINVAL;
  for(size_t i = 0; i < n; i++) {
    char c = v[i];
    dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  dst[n] = '\0';
  return (int)n;
}
