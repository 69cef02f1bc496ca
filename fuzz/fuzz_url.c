/* fuzz_url.c — libFuzzer harness for URL parsing and resolution
 * (parsers/url.h).
 *
 * Input: "base\nref" (no newline: the whole input is the reference
 * against a fixed page URL). Checks what the module promises: a resolved
 * URL is NUL-terminated, has a scheme, no fragment and no blank or control
 * byte; resolving it against itself, or "" against it, gives it back; a
 * fetchable one parses again to http(s) with a host and has a host key.
 * qw_url_parse and qw_url_is_fetchable see the raw reference too. Any
 * broken promise aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define MAX_INPUT (64 * 1024)

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_url: broken promise: %s\n", what);
    abort();
  }
}

static void check_resolved(const char *u)
{
  size_t n = strlen(u);
  check(strchr(u, ':') != NULL, "no scheme");
  check(strchr(u, '#') == NULL, "fragment left in");
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)u[i];
    check(c > 0x20 && c != 0x7F, "blank or control byte in output");
  }
  char *again = NULL;
  check(qw_url_resolve(u, u, &again) == 0, "output does not resolve");
  check(strcmp(again, u) == 0, "output unstable against itself");
  free(again);
  check(qw_url_resolve(u, "", &again) == 0, "output as base fails");
  check(strcmp(again, u) == 0, "output unstable as a base");
  free(again);

  qw_url p;
  int r = qw_url_parse(u, n, &p);
  check(r == 0, "output does not parse");
  if(qw_url_is_fetchable(u)) {
    check(!strcmp(p.scheme, "http") || !strcmp(p.scheme, "https"),
          "fetchable but not http(s)");
    check(p.host && p.host[0], "fetchable without host");
    check(p.port > 0 && p.port <= 65535, "fetchable without port");
    check(p.path[0] == '/', "fetchable path not absolute");
    check(p.fragment == NULL, "fragment parsed from output");
    char key[512];
    if(strlen(p.host) < 400)
      check(qw_url_host_key(u, key, sizeof(key)) == 0, "no host key");
  }
  qw_url_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  char *buf = malloc(size + 1);
  if(!buf)
    return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  const char *base = "https://item.example-mall.com/detail/6581230.html?x=1";
  char *ref = buf;
  char *nl = memchr(buf, '\n', size);
  if(nl) {
    *nl = '\0';
    base = buf;
    ref = nl + 1;
  }
  char *out = NULL;
  int r = qw_url_resolve(base, ref, &out);
  check(r == 0 || r == -EINVAL, "unexpected error");
  if(r == 0) {
    check(out != NULL, "no output");
    check_resolved(out);
    free(out);
  }
  else
    check(out == NULL, "output set on error");

  qw_url u;
  r = qw_url_parse(ref, strlen(ref), &u);
  check(r == 0 || r == -EINVAL, "unexpected parse error");
  if(r == 0) {
    check(u.scheme && u.path, "parse without scheme or path");
    qw_url_free(&u);
  }
  else
    check(u.scheme == NULL, "fields set on error");
  (void)qw_url_is_fetchable(ref);
  char key[64];
  (void)qw_url_host_key(ref, key, sizeof(key));
  free(buf);
  return 0;
}
