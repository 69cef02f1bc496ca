/* url.h — URL parsing, resolution and normalisation (RFC 3986 / WHATWG-ish).
 *
 * Used for links on pages (resolved against <base> or the page URL), for
 * seeds and for host keys of the politeness scheduler. Only http and https
 * URLs are "fetchable"; everything else resolves but is marked so. */
#ifndef QW_URL_H
#define QW_URL_H

#include <stddef.h>

typedef struct {
  char *scheme; /* lower case */
  char *host;   /* lower case, IDN left as given, IPv6 without brackets */
  int port;     /* explicit port or the scheme's default (-1 unknown) */
  char *path;   /* starts with "/" for http(s); dot segments removed */
  char *query;  /* without "?", NULL when absent */
  char *fragment;
} qw_url;

/* Parses an absolute URL. Returns 0 and fills u (free with qw_url_free), or
 * -EINVAL when s is not an absolute URL, -ENOMEM. */
int qw_url_parse(const char *s, size_t len, qw_url *u);
void qw_url_free(qw_url *u);

/* Resolves ref against base (both NUL-terminated) into a normalised absolute
 * URL without fragment: *out is malloc'd, the caller frees it. Returns 0,
 * -EINVAL (unresolvable), or -ENOMEM. Leading/trailing blanks, tabs and
 * newlines in ref are ignored as browsers do. */
int qw_url_resolve(const char *base, const char *ref, char **out);

/* 1 when s is an absolute http:// or https:// URL with a host. */
int qw_url_is_fetchable(const char *s);

/* Writes "host:port" for politeness keys into out (size n). 0 or -EINVAL. */
int qw_url_host_key(const char *s, char *out, size_t n);

#endif
