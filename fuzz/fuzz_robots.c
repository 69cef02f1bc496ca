/* fuzz_robots.c — libFuzzer harness for the robots.txt parser (robots.h).
 *
 * The input is parsed as a robots.txt for two agents and queried with a
 * few fixed paths and with the input's first lines that look like paths;
 * the answers must be 0 or 1, /robots.txt must be allowed, Crawl-delay
 * must be -1 or within 0 ms .. one day, sitemaps must be non-empty lines.
 *
 * Differential check of the matcher: when the first line (a pattern) and
 * the second (a path starting with '/') hold only printable ASCII without
 * '%' or '#', "User-agent: *" + "Disallow: LINE1" must disallow LINE2
 * exactly when a dynamic-programming matcher written here says the
 * pattern matches. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"

#define MAX_INPUT (64 * 1024)
#define MAX_LINE 512
#define ORACLE_MAX 200

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_robots: broken promise: %s\n", what);
    abort();
  }
}

static void query(const qw_robots *r, const char *path)
{
  int a = qw_robots_allowed(r, path);
  check(a == 0 || a == 1, "allowed returns 0 or 1");
}

static void probe(const qw_robots *r, const char *const *lines, size_t n)
{
  static const char *const fixed[] = {
    "/", "/item.htm?id=1", "/search?q=%E8%A1%80%E5%8E%8B", "/商品/1.html",
    "/a.php", "/cart/", "/%7Euser/", "/x?sid=1&page=2",
  };
  check(qw_robots_allowed(r, "/robots.txt") == 1, "/robots.txt allowed");
  for(size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    query(r, fixed[i]);
  for(size_t i = 0; i < n; i++)
    query(r, lines[i]);
  long d = qw_robots_crawl_delay_ms(r);
  check(d == -1 || (d >= 0 && d <= 86400000L), "crawl-delay range");
  const char *const *urls = NULL;
  size_t ns = qw_robots_sitemaps(r, &urls);
  check(ns <= 1000, "at most 1000 sitemaps");
  for(size_t i = 0; i < ns; i++) {
    check(urls[i] != NULL && urls[i][0] != '\0', "sitemap non-empty");
    check(!strpbrk(urls[i], "\r\n#"), "sitemap is one line, no comment");
  }
}

/* 1 when s[0..n) is printable ASCII without blanks, '%' and '#'. */
static int plain(const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c <= 0x20 || c >= 0x7F || c == '%' || c == '#')
      return 0;
  }
  return 1;
}

/* Reference matcher: robots pattern p[0..pn) against t[0..tn). */
static int dp_match(const char *p, size_t pn, const char *t, size_t tn)
{
  char pat[ORACLE_MAX + 2];
  size_t n = 0;
  if(p[0] != '/' && p[0] != '*')
    pat[n++] = '/';
  memcpy(pat + n, p, pn);
  n += pn;
  int anchored = pat[n - 1] == '$';
  if(anchored)
    n--;
  /* row[j]: pattern prefix (so far) matches t[0..j). */
  unsigned char row[ORACLE_MAX + 1], next[ORACLE_MAX + 1];
  memset(row, 0, sizeof(row));
  row[0] = 1;
  for(size_t i = 0; i < n; i++) {
    memset(next, 0, sizeof(next));
    if(pat[i] == '*') {
      next[0] = row[0];
      for(size_t j = 1; j <= tn; j++)
        next[j] = row[j] || next[j - 1];
    }
    else {
      for(size_t j = 1; j <= tn; j++)
        next[j] = row[j - 1] && pat[i] == t[j - 1];
    }
    memcpy(row, next, sizeof(row));
  }
  if(anchored)
    return row[tn];
  for(size_t j = 0; j <= tn; j++)
    if(row[j])
      return 1;
  return 0;
}

static void oracle(const char *p, size_t pn, const char *t, size_t tn)
{
  if(!pn || pn > ORACLE_MAX - 1 || !tn || tn > ORACLE_MAX || t[0] != '/' ||
     !plain(p, pn) || !plain(t, tn))
    return;
  size_t q = 0;
  while(q < tn && t[q] != '?')
    q++;
  if(q == 11 && !memcmp(t, "/robots.txt", 11))
    return;
  char text[ORACLE_MAX + 64];
  int len = snprintf(text, sizeof(text), "User-agent: *\nDisallow: %.*s\n",
                     (int)pn, p);
  char path[ORACLE_MAX + 1];
  memcpy(path, t, tn);
  path[tn] = '\0';
  qw_robots *r = NULL;
  int rc = qw_robots_parse(text, (size_t)len, "qingwang", &r);
  check(rc == 0 || rc == -ENOMEM, "oracle parse returns");
  if(rc)
    return;
  int want = !dp_match(p, pn, t, tn);
  int got = qw_robots_allowed(r, path);
  if(got != want)
    fprintf(stderr, "pattern '%.*s' path '%s': got %d want %d\n", (int)pn,
            p, path, got, want);
  check(got == want, "matcher agrees with the reference");
  qw_robots_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  const char *text = (const char *)data;
  /* The first lines, split at LF, as C strings. */
  static char bufs[4][MAX_LINE + 1];
  const char *lines[4];
  size_t nlines = 0, lens[2] = {0, 0}, pos = 0;
  const char *starts[2] = {text, text};
  for(size_t k = 0; k < 4 && pos <= size; k++) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', size - pos);
    size_t n = nl ? (size_t)(nl - s) : size - pos;
    if(k < 2) {
      starts[k] = s;
      lens[k] = n;
    }
    if(n && n <= MAX_LINE && s[0] == '/' && !memchr(s, '\0', n)) {
      memcpy(bufs[nlines], s, n);
      bufs[nlines][n] = '\0';
      lines[nlines] = bufs[nlines];
      nlines++;
    }
    if(!nl)
      break;
    pos += n + 1;
  }
  static const char *const agents[] = {"qingwang", "Baiduspider/2.0"};
  for(size_t a = 0; a < 2; a++) {
    qw_robots *r = NULL;
    int rc = qw_robots_parse(text, size, agents[a], &r);
    check(rc == 0 || rc == -ENOMEM, "parse returns");
    if(rc)
      continue;
    probe(r, lines, nlines);
    qw_robots_free(r);
  }
  oracle(starts[0], lens[0], starts[1], lens[1]);
  return 0;
}
