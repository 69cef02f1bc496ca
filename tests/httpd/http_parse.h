/* http_parse.h — HTTP/1.x request-head parser of the test server
 * (qw_httpd.c), plus the small string helpers its routes need. Pure
 * functions over caller-owned memory: nothing here allocates, and every
 * pointer a parse returns points into the caller's buffer. */
#ifndef QW_HTTP_PARSE_H
#define QW_HTTP_PARSE_H

#include <stddef.h>

#define QW_HP_MAX_HEADERS 100

typedef struct {
  const char *name;
  size_t name_len;
  const char *value;        /* leading and trailing blanks trimmed */
  size_t value_len;
} qw_hp_header;

typedef struct {
  const char *method;
  size_t method_len;
  const char *target;       /* request-target as sent */
  size_t target_len;
  int minor;                /* HTTP/1.<minor> */
  qw_hp_header headers[QW_HP_MAX_HEADERS];
  size_t nheaders;
  size_t head_len;          /* bytes of the head, blank line included */
} qw_hp_request;

/* Parses one request head at the start of buf[0..len).
 * Returns 1 when a complete head was parsed (req filled, req->head_len
 * tells where the next request starts), 0 when more bytes are needed,
 * -EMSGSIZE when the head is longer than max_head bytes or has more than
 * QW_HP_MAX_HEADERS header lines (answer 431), -EPROTONOSUPPORT for a
 * version other than HTTP/1.x (505), -EBADMSG when malformed (400).
 * Accepts CRLF and bare LF line ends and skips a few empty lines before
 * the request line (RFC 9112 §2.2); rejects obs-fold and control
 * characters. */
int qw_hp_parse(const char *buf, size_t len, size_t max_head,
                qw_hp_request *req);

/* The first header called name (case-insensitive), or NULL. */
const qw_hp_header *qw_hp_get(const qw_hp_request *req, const char *name);

/* 1 when the comma-separated list value[0..len) holds token
 * (case-insensitive; parameters after ';' ignored, "q=0" means absent). */
int qw_hp_list_has(const char *value, size_t len, const char *token);

/* Percent-decodes src[0..len) into dst (capacity cap, NUL-terminated);
 * plus_space turns '+' into ' ' (query strings). Returns the decoded
 * length, or -EINVAL on a bad escape, an escaped NUL or when dst is too
 * small. */
int qw_hp_pct_decode(const char *src, size_t len, char *dst, size_t cap,
                     int plus_space);

/* Finds name in the query string q[0..len) ("a=1&b=2") and decodes its
 * value into dst. Returns the decoded length (0 for "a" or "a="), -ENOENT
 * when absent, -EINVAL when undecodable or too long. */
int qw_hp_query_get(const char *q, size_t len, const char *name, char *dst,
                    size_t cap);

/* Parses a decimal in [min, max] from s[0..len). Returns 0 or -EINVAL. */
int qw_hp_parse_long(const char *s, size_t len, long min, long max,
                     long *out);

/* Host header value → lower-case host without port into dst (cap bytes,
 * NUL-terminated); "[::1]:80" → "[::1]". Returns the length, or -EINVAL
 * for an empty host, characters outside [A-Za-z0-9.-_] (and the brackets
 * and colons of an IPv6 literal) or a host too long. */
int qw_hp_host(const char *v, size_t len, char *dst, size_t cap);

#endif
