/* test_httpd.c — tests of qw-test-httpd itself (tests/httpd/), driven with
 * libcurl's easy and multi APIs and raw sockets, so the fetcher's tests can
 * trust every route and counter it relies on. Each test starts its own
 * server on 127.0.0.1 (and 127.0.0.2) and stops it, asserting a clean exit
 * (which also means no sanitizer report from the server). */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "qw_httpd_ctl.h"
#include "qw_test.h"

static const char *const two_addrs[] = { "127.0.0.1", "127.0.0.2", NULL };

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static void start2(qw_httpd *h)
{
  ck_assert_int_eq(qw_httpd_start(qw_test_fixture("sites"), two_addrs, 60,
                                  h), 0);
  ck_assert_int_gt(h->port, 0);
  ck_assert_int_gt(h->pid, 0);
}

static void stop_clean(qw_httpd *h)
{
  qw_httpd_stop(h);
  ck_assert_int_eq(h->exit_status, 0);
  ck_assert_int_eq(h->pid, 0);
}

static char *site_file(const char *rel, size_t *len)
{
  char path[512];
  snprintf(path, sizeof(path), "sites/%s", rel);
  return qw_test_read(qw_test_fixture(path), len);
}

/* ===== one easy transfer ===== */

typedef struct {
  const char *accept_encoding;  /* CURLOPT_ACCEPT_ENCODING, NULL = none */
  int raw;                      /* no content decoding */
  long follow;                  /* max redirects to follow; 0 = none */
  const char *redir_protocols;
  long timeout_ms;              /* default 10 s */
  const char *const *headers;   /* NULL-terminated */
  size_t abort_after;           /* write callback fails past this */
  int path_as_is;
  int nobody;                   /* HEAD */
  const char *proxy;
  long timecond_ims;            /* If-Modified-Since: this time, or 0 */
} req_opts;

typedef struct {
  CURLcode res;
  long status;
  char *body;
  size_t len;                   /* decoded bytes seen by the write cb */
  char *hdrs;                   /* the last response's header block */
  size_t hlen;
  curl_off_t wire;              /* CURLINFO_SIZE_DOWNLOAD_T */
  double secs;
  long redirects;
  long connects;
  size_t keep_cap;              /* keep at most this many body bytes */
  size_t abort_after;
} resp;

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
  resp *r = ud;
  size_t n = sz * nm;
  if(r->abort_after && r->len + n > r->abort_after)
    return 0;
  size_t keep = r->len < r->keep_cap ? r->keep_cap - r->len : 0;
  if(keep > n)
    keep = n;
  if(keep) {
    char *d = realloc(r->body, r->len + keep + 1);
    ck_assert_ptr_nonnull(d);
    memcpy(d + r->len, p, keep);
    d[r->len + keep] = '\0';
    r->body = d;
  }
  r->len += n;
  return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
  resp *r = ud;
  size_t n = sz * nm;
  if(n >= 5 && memcmp(p, "HTTP/", 5) == 0)
    r->hlen = 0; /* a new response: keep only the last one's headers */
  char *d = realloc(r->hdrs, r->hlen + n + 1);
  ck_assert_ptr_nonnull(d);
  memcpy(d + r->hlen, p, n);
  r->hlen += n;
  d[r->hlen] = '\0';
  r->hdrs = d;
  return n;
}

static CURL *easy_new(const char *url, const req_opts *o, resp *r,
                      struct curl_slist **sl)
{
  static const req_opts none;
  if(!o)
    o = &none;
  memset(r, 0, sizeof(*r));
  r->keep_cap = 16u << 20;
  r->abort_after = o->abort_after;
  CURL *e = curl_easy_init();
  ck_assert_ptr_nonnull(e);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PROXY, o->proxy ? o->proxy : "");
  if(o->proxy)
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   o->timeout_ms ? o->timeout_ms : 10000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  if(o->accept_encoding)
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, o->accept_encoding);
  if(o->raw)
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  if(o->follow) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, o->follow);
  }
  if(o->redir_protocols)
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, o->redir_protocols);
  if(o->path_as_is)
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
  if(o->nobody)
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if(o->timecond_ims) {
    curl_easy_setopt(e, CURLOPT_TIMECONDITION,
                     (long)CURL_TIMECOND_IFMODSINCE);
    curl_easy_setopt(e, CURLOPT_TIMEVALUE, o->timecond_ims);
  }
  *sl = NULL;
  for(size_t i = 0; o->headers && o->headers[i]; i++) {
    struct curl_slist *n = curl_slist_append(*sl, o->headers[i]);
    ck_assert_ptr_nonnull(n);
    *sl = n;
  }
  if(*sl)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *sl);
  return e;
}

static void easy_finish(CURL *e, resp *r, struct curl_slist *sl)
{
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &r->wire);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &r->secs);
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &r->redirects);
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
  curl_easy_cleanup(e);
  curl_slist_free_all(sl);
}

static void fetch(const char *url, const req_opts *o, resp *r)
{
  struct curl_slist *sl;
  CURL *e = easy_new(url, o, r, &sl);
  r->res = curl_easy_perform(e);
  easy_finish(e, r, sl);
}

static void resp_free(resp *r)
{
  free(r->body);
  free(r->hdrs);
  memset(r, 0, sizeof(*r));
}

/* Value of header name in r's last response (trimmed) into buf; returns
 * 1 when present. */
static int hdr(const resp *r, const char *name, char *buf, size_t n)
{
  size_t nl = strlen(name);
  const char *p = r->hdrs;
  buf[0] = '\0';
  while(p && *p) {
    const char *eol = strchr(p, '\n');
    size_t ll = eol ? (size_t)(eol - p) : strlen(p);
    if(ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      const char *e = p + ll;
      while(v < e && (*v == ' ' || *v == '\t'))
        v++;
      while(e > v && (e[-1] == '\r' || e[-1] == ' '))
        e--;
      snprintf(buf, n, "%.*s", (int)(e - v), v);
      return 1;
    }
    p = eol ? eol + 1 : p + ll;
  }
  return 0;
}

static void assert_hdr(const resp *r, const char *name, const char *want)
{
  char v[512];
  ck_assert_msg(hdr(r, name, v, sizeof(v)), "no %s header in:\n%s", name,
                r->hdrs ? r->hdrs : "");
  ck_assert_str_eq(v, want);
}

static void assert_body_is(const resp *r, const char *rel)
{
  size_t len;
  char *want = site_file(rel, &len);
  ck_assert_uint_eq(r->len, len);
  ck_assert_msg(r->body && memcmp(r->body, want, len) == 0,
                "body differs from %s", rel);
  free(want);
}

static void get_ok(const qw_httpd *h, const char *addr, const char *path,
                   const req_opts *o, resp *r)
{
  char url[2048];
  fetch(qw_httpd_url(h, addr, path, url, sizeof(url)), o, r);
  ck_assert_msg(r->res == CURLE_OK, "%s: %s", url,
                curl_easy_strerror(r->res));
}

/* ===== parallel transfers (curl multi) ===== */

/* Runs n prepared handles at once; returns the elapsed seconds. */
static double run_multi(CURL **e, size_t n)
{
  CURLM *m = curl_multi_init();
  ck_assert_ptr_nonnull(m);
  for(size_t i = 0; i < n; i++)
    ck_assert_int_eq(curl_multi_add_handle(m, e[i]), CURLM_OK);
  double t0 = now_s();
  int running = 1;
  while(running) {
    ck_assert_int_eq(curl_multi_perform(m, &running), CURLM_OK);
    if(running)
      ck_assert_int_eq(curl_multi_poll(m, NULL, 0, 100, NULL), CURLM_OK);
  }
  double el = now_s() - t0;
  int left;
  CURLMsg *msg;
  size_t done = 0;
  while((msg = curl_multi_info_read(m, &left))) {
    if(msg->msg != CURLMSG_DONE)
      continue;
    resp *r;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    r->res = msg->data.result;
    done++;
  }
  ck_assert_uint_eq(done, n);
  for(size_t i = 0; i < n; i++)
    curl_multi_remove_handle(m, e[i]);
  curl_multi_cleanup(m);
  return el;
}

/* ===== raw sockets ===== */

static int raw_connect(const qw_httpd *h, const char *addr)
{
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)h->port);
  ck_assert_int_eq(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  return fd;
}

static void raw_send(int fd, const char *data, size_t len)
{
  while(len) {
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    ck_assert_int_gt(w, 0);
    data += w;
    len -= (size_t)w;
  }
}

/* Reads until EOF, error or ms without data. Returns the bytes (malloc'd,
 * NUL-terminated); *eof says whether the peer closed. */
static char *raw_read(int fd, long ms, size_t *len, int *eof)
{
  size_t n = 0, cap = 65536;
  char *buf = malloc(cap + 1);
  ck_assert_ptr_nonnull(buf);
  *eof = 0;
  for(;;) {
    struct pollfd p = { fd, POLLIN, 0 };
    int r = poll(&p, 1, (int)ms);
    if(r <= 0)
      break;
    if(cap - n < 4096) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
    ssize_t got = recv(fd, buf + n, cap - n, 0);
    if(got <= 0) {
      *eof = 1;
      break;
    }
    n += (size_t)got;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

static int count_str(const char *hay, const char *needle)
{
  int n = 0;
  size_t nl = strlen(needle);
  for(const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
    n++;
  return n;
}

/* ===== tests ===== */

START_TEST(test_start_stop)
{
  qw_httpd h;
  resp r;
  start2(&h);
  ck_assert_int_eq((int)h.naddrs, 2);
  get_ok(&h, NULL, "/robots.txt", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  assert_body_is(&r, "127.0.0.1/robots.txt");
  resp_free(&r);
  stop_clean(&h);
  qw_httpd_stop(&h); /* twice is harmless */
  ck_assert_int_eq(h.exit_status, 0);
}
END_TEST

START_TEST(test_refuses_non_loopback)
{
  static const char *const bad[][2] = {
    { "0.0.0.0", NULL }, { "10.1.2.3", NULL }, { "192.168.1.1", NULL },
    { "localhost", NULL }, { "::", NULL }, { "::ffff:10.0.0.1", NULL },
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    qw_httpd h;
    int r = qw_httpd_start(qw_test_fixture("sites"), bad[i], 5, &h);
    ck_assert_msg(r == -EINVAL, "%s: got %d", bad[i][0], r);
    ck_assert_int_eq(h.pid, 0);
  }
  /* One bad address among good ones is refused too. */
  static const char *const mixed[] = { "127.0.0.1", "8.8.8.8", NULL };
  qw_httpd h;
  ck_assert_int_eq(qw_httpd_start(qw_test_fixture("sites"), mixed, 5, &h),
                   -EINVAL);
}
END_TEST

START_TEST(test_max_seconds)
{
  qw_httpd h;
  ck_assert_int_eq(qw_httpd_start(qw_test_fixture("sites"), NULL, 1, &h),
                   0);
  double t0 = now_s();
  /* It exits by itself: connections start failing within ~1 s. */
  CURLcode res = CURLE_OK;
  while(now_s() - t0 < 5) {
    resp r;
    char url[256];
    fetch(qw_httpd_url(&h, NULL, "/robots.txt", url, sizeof(url)), NULL,
          &r);
    res = r.res;
    resp_free(&r);
    if(res != CURLE_OK)
      break;
    sleep_ms(50);
  }
  ck_assert_int_eq(res, CURLE_COULDNT_CONNECT);
  ck_assert(now_s() - t0 > 0.5);
  ck_assert_int_eq(qw_httpd_wait(&h, 5000), 0);
  ck_assert_int_eq(h.exit_status, 3);
  ck_assert_int_eq(h.pid, 0);
  qw_httpd_stop(&h); /* nothing left to stop */
  ck_assert_int_eq(h.exit_status, 3);
}
END_TEST

START_TEST(test_static_types)
{
  qw_httpd h;
  resp r;
  start2(&h);

  get_ok(&h, NULL, "/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Type", "text/html; charset=utf-8");
  assert_body_is(&r, "127.0.0.1/item/1001.html");
  resp_free(&r);

  get_ok(&h, NULL, "/gbk/item/2001.html", NULL, &r);
  assert_hdr(&r, "Content-Type", "text/html; charset=gbk");
  assert_body_is(&r, "127.0.0.1/gbk/item/2001.html");
  ck_assert_ptr_nonnull(strstr(r.body, "<meta charset=\"gbk\">"));
  resp_free(&r);

  /* ?ctype= makes the header contradict the page's own meta. */
  get_ok(&h, NULL, "/gbk/item/2001.html?ctype=text%2Fhtml%3B%20charset"
         "%3Dutf-8", NULL, &r);
  assert_hdr(&r, "Content-Type", "text/html; charset=utf-8");
  assert_body_is(&r, "127.0.0.1/gbk/item/2001.html");
  resp_free(&r);

  get_ok(&h, NULL, "/item/1001.html?ctype=", NULL, &r);
  char v[128];
  ck_assert(!hdr(&r, "Content-Type", v, sizeof(v)));
  resp_free(&r);

  get_ok(&h, NULL, "/item/1001.html?ctype=text%2Fhtml%0D%0AX-Evil%3A1",
         NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);

  get_ok(&h, NULL, "/robots.txt", NULL, &r);
  assert_hdr(&r, "Content-Type", "text/plain; charset=utf-8");
  resp_free(&r);

  get_ok(&h, NULL, "/", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  assert_body_is(&r, "127.0.0.1/index.html");
  resp_free(&r);

  get_ok(&h, NULL, "/item", NULL, &r);
  ck_assert_int_eq(r.status, 301);
  assert_hdr(&r, "Location", "/item/");
  resp_free(&r);

  get_ok(&h, NULL, "/item/9999.html", NULL, &r);
  ck_assert_int_eq(r.status, 404);
  resp_free(&r);

  /* HEAD: the length of the body, no body. */
  req_opts head = { .nobody = 1 };
  get_ok(&h, NULL, "/item/1001.html", &head, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.len, 0);
  size_t flen;
  free(site_file("127.0.0.1/item/1001.html", &flen));
  char want[32];
  snprintf(want, sizeof(want), "%zu", flen);
  assert_hdr(&r, "Content-Length", want);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_vhosts)
{
  qw_httpd h;
  resp r;
  start2(&h);
  get_ok(&h, "127.0.0.1", "/robots.txt", NULL, &r);
  assert_body_is(&r, "127.0.0.1/robots.txt");
  resp_free(&r);
  get_ok(&h, "127.0.0.2", "/robots.txt", NULL, &r);
  assert_body_is(&r, "127.0.0.2/robots.txt");
  resp_free(&r);
  get_ok(&h, "127.0.0.2", "/item/3001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  resp_free(&r);
  get_ok(&h, "127.0.0.2", "/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 404);
  resp_free(&r);

  /* A Host without its own directory gets the root site. */
  static const char *const other[] = { "Host: shop.example:8080", NULL };
  req_opts o = { .headers = other };
  get_ok(&h, "127.0.0.2", "/robots.txt", &o, &r);
  assert_body_is(&r, "robots.txt");
  resp_free(&r);
  static const char *const bad[] = { "Host: a/b", NULL };
  o.headers = bad;
  get_ok(&h, NULL, "/robots.txt", &o, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);

  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "requests"), 1);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.2", "requests"), 3);
  ck_assert_int_eq(qw_httpd_counter(&h, "shop.example", "/robots.txt"), 1);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "/robots.txt"), 3);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.2", "status:404"), 1);
  ck_assert_int_eq(qw_httpd_counter(&h, "nobody.example", "requests"), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "bad_requests"), 1);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "no-such-counter"), -EINVAL);
  stop_clean(&h);
}
END_TEST

START_TEST(test_path_safety)
{
  static const char *const paths[] = {
    "/../robots.txt", "/item/../../robots.txt", "/%2e%2e/%2e%2e/etc/passwd",
    "/item/%2E%2E/%2e%2E/etc/hostname", "/item/%00.html", "/./robots.txt",
    "/%zz", "/item\\..\\..\\robots.txt",
  };
  qw_httpd h;
  start2(&h);
  req_opts o = { .path_as_is = 1 };
  for(size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    resp r;
    get_ok(&h, NULL, paths[i], &o, &r);
    ck_assert_msg(r.status == 400, "%s: %ld", paths[i], r.status);
    resp_free(&r);
  }
  stop_clean(&h);
}
END_TEST

START_TEST(test_conditional)
{
  qw_httpd h;
  resp r;
  char etag[128], lm[64], hv[256];
  start2(&h);
  get_ok(&h, NULL, "/item/1001.html", NULL, &r);
  ck_assert(hdr(&r, "ETag", etag, sizeof(etag)));
  ck_assert(hdr(&r, "Last-Modified", lm, sizeof(lm)));
  ck_assert_int_eq(etag[0], '"');
  resp_free(&r);

  const char *hl[] = { hv, NULL };
  req_opts o = { .headers = hl };
  snprintf(hv, sizeof(hv), "If-None-Match: %s", etag);
  get_ok(&h, NULL, "/item/1001.html", &o, &r);
  ck_assert_int_eq(r.status, 304);
  ck_assert_uint_eq(r.len, 0);
  assert_hdr(&r, "ETag", etag);
  resp_free(&r);

  snprintf(hv, sizeof(hv), "If-None-Match: \"nope\", W/%s", etag);
  get_ok(&h, NULL, "/item/1001.html", &o, &r);
  ck_assert_int_eq(r.status, 304);
  resp_free(&r);

  snprintf(hv, sizeof(hv), "If-None-Match: \"nope\"");
  get_ok(&h, NULL, "/item/1001.html", &o, &r);
  ck_assert_int_eq(r.status, 200);
  assert_body_is(&r, "127.0.0.1/item/1001.html");
  resp_free(&r);

  snprintf(hv, sizeof(hv), "If-Modified-Since: %s", lm);
  get_ok(&h, NULL, "/item/1001.html", &o, &r);
  ck_assert_int_eq(r.status, 304);
  resp_free(&r);

  /* An older date, through curl's own time condition. */
  time_t lmt = curl_getdate(lm, NULL);
  ck_assert_int_gt(lmt, 0);
  req_opts old = { .timecond_ims = (long)lmt - 3600 };
  get_ok(&h, NULL, "/item/1001.html", &old, &r);
  ck_assert_int_eq(r.status, 200);
  resp_free(&r);
  old.timecond_ims = (long)lmt;
  get_ok(&h, NULL, "/item/1001.html", &old, &r);
  ck_assert_int_eq(r.status, 304);
  resp_free(&r);

  /* A matching ETag of the plain file does not match its gzip variant. */
  static const char *const ae[] = { "Accept-Encoding: gzip", NULL };
  req_opts gz = { .headers = ae, .raw = 1 };
  get_ok(&h, NULL, "/gz/item/1001.html", &gz, &r);
  char gzetag[128];
  ck_assert(hdr(&r, "ETag", gzetag, sizeof(gzetag)));
  ck_assert_str_ne(gzetag, etag);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_compression)
{
  static const struct {
    const char *prefix, *coding;
    unsigned char magic[4];
    size_t mlen;
  } enc[] = {
    { "/gz", "gzip", { 0x1f, 0x8b }, 2 },
    { "/br", "br", { 0 }, 0 },
    { "/zstd", "zstd", { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
  };
  qw_httpd h;
  start2(&h);
  size_t flen;
  free(site_file("127.0.0.1/item/1001.html", &flen));
  for(size_t i = 0; i < 3; i++) {
    char path[256];
    resp r;
    snprintf(path, sizeof(path), "%s/item/1001.html", enc[i].prefix);

    /* curl asks for everything it can decode and decodes it. */
    req_opts all = { .accept_encoding = "" };
    get_ok(&h, NULL, path, &all, &r);
    ck_assert_int_eq(r.status, 200);
    assert_hdr(&r, "Content-Encoding", enc[i].coding);
    assert_hdr(&r, "Vary", "Accept-Encoding");
    assert_hdr(&r, "Content-Type", "text/html; charset=utf-8");
    assert_body_is(&r, "127.0.0.1/item/1001.html");
    ck_assert_int_lt(r.wire, (curl_off_t)flen);
    resp_free(&r);

    /* No Accept-Encoding: identity. */
    get_ok(&h, NULL, path, NULL, &r);
    char v[64];
    ck_assert(!hdr(&r, "Content-Encoding", v, sizeof(v)));
    assert_body_is(&r, "127.0.0.1/item/1001.html");
    resp_free(&r);

    /* Refused with q=0: identity. */
    char ae[128];
    snprintf(ae, sizeof(ae), "Accept-Encoding: %s;q=0, identity",
             enc[i].coding);
    const char *hl[] = { ae, NULL };
    req_opts q0 = { .headers = hl };
    get_ok(&h, NULL, path, &q0, &r);
    ck_assert(!hdr(&r, "Content-Encoding", v, sizeof(v)));
    resp_free(&r);

    /* ?force=1 encodes even for a client that did not ask. */
    char fpath[300];
    snprintf(fpath, sizeof(fpath), "%s?force=1", path);
    get_ok(&h, NULL, fpath, NULL, &r);
    assert_hdr(&r, "Content-Encoding", enc[i].coding);
    ck_assert_uint_ne(r.len, flen);
    ck_assert(r.len >= 4);
    ck_assert_int_eq(memcmp(r.body, enc[i].magic, enc[i].mlen), 0);
    resp_free(&r);
  }
  resp r;
  req_opts all = { .accept_encoding = "" };
  get_ok(&h, NULL, "/gz/gbk/item/2001.html", &all, &r);
  assert_hdr(&r, "Content-Type", "text/html; charset=gbk");
  assert_body_is(&r, "127.0.0.1/gbk/item/2001.html");
  resp_free(&r);
  get_ok(&h, NULL, "/br/item/none.html", &all, &r);
  ck_assert_int_eq(r.status, 404);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

/* Decodes a raw chunked body; returns the number of chunks and checks
 * the decoded bytes against want. */
static int check_chunks(const char *body, size_t len, const char *want,
                        size_t wlen, int *sizes_seen, int *ext_seen)
{
  const char *p = body, *end = body + len;
  size_t off = 0;
  int chunks = 0;
  size_t prev = 0;
  *sizes_seen = 0;
  *ext_seen = 0;
  for(;;) {
    char *e;
    unsigned long n = strtoul(p, &e, 16);
    ck_assert_ptr_ne(e, p);
    if(*e == ';')
      *ext_seen = 1;
    const char *crlf = strstr(p, "\r\n");
    ck_assert_ptr_nonnull(crlf);
    p = crlf + 2;
    if(n == 0)
      break;
    ck_assert((size_t)(end - p) >= n + 2);
    ck_assert(off + n <= wlen);
    ck_assert_int_eq(memcmp(p, want + off, n), 0);
    off += n;
    p += n;
    ck_assert_int_eq(memcmp(p, "\r\n", 2), 0);
    p += 2;
    if(n != prev)
      (*sizes_seen)++;
    prev = n;
    chunks++;
  }
  ck_assert_uint_eq(off, wlen);
  ck_assert_int_eq(memcmp(p, "\r\n", 2), 0);
  return chunks;
}

START_TEST(test_chunked)
{
  qw_httpd h;
  resp r;
  start2(&h);
  get_ok(&h, NULL, "/chunked/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Transfer-Encoding", "chunked");
  char v[64];
  ck_assert(!hdr(&r, "Content-Length", v, sizeof(v)));
  assert_body_is(&r, "127.0.0.1/item/1001.html");
  resp_free(&r);

  /* On the wire: many small chunks of varying size, one extension. */
  size_t flen, len;
  int eof, sizes, ext;
  char *want = site_file("127.0.0.1/item/1001.html", &flen);
  int fd = raw_connect(&h, "127.0.0.1");
  const char req[] = "GET /chunked/item/1001.html HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
  raw_send(fd, req, sizeof(req) - 1);
  char *raw = raw_read(fd, 3000, &len, &eof);
  close(fd);
  ck_assert(eof);
  char *body = strstr(raw, "\r\n\r\n");
  ck_assert_ptr_nonnull(body);
  body += 4;
  int chunks = check_chunks(body, len - (size_t)(body - raw), want, flen,
                            &sizes, &ext);
  ck_assert_int_ge(chunks, 10);
  ck_assert_int_ge(sizes, 8);
  ck_assert(ext);
  free(raw);
  free(want);

  /* ms= spaces the chunks out in time. */
  get_ok(&h, NULL, "/chunked/robots.txt?ms=20", NULL, &r);
  assert_body_is(&r, "127.0.0.1/robots.txt");
  ck_assert_msg(r.secs >= 0.1, "took %.3f s", r.secs);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_redirects)
{
  qw_httpd h;
  resp r;
  char v[256];
  start2(&h);
  req_opts f5 = { .follow = 5 };
  get_ok(&h, NULL, "/redirect/3/item/1001.html", &f5, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(r.redirects, 3);
  assert_body_is(&r, "127.0.0.1/item/1001.html");
  resp_free(&r);

  get_ok(&h, NULL, "/redirect/3/robots.txt?code=307", NULL, &r);
  ck_assert_int_eq(r.status, 307);
  assert_hdr(&r, "Location", "/redirect/2/robots.txt?code=307");
  resp_free(&r);

  req_opts f2 = { .follow = 2 };
  char url[256];
  fetch(qw_httpd_url(&h, NULL, "/redirect/3/robots.txt", url, sizeof(url)),
        &f2, &r);
  ck_assert_int_eq(r.res, CURLE_TOO_MANY_REDIRECTS);
  resp_free(&r);

  req_opts f10 = { .follow = 10 };
  fetch(qw_httpd_url(&h, NULL, "/redirect-loop", url, sizeof(url)), &f10,
        &r);
  ck_assert_int_eq(r.res, CURLE_TOO_MANY_REDIRECTS);
  resp_free(&r);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "/redirect-loop"), 11);

  get_ok(&h, NULL, "/redirect-scheme", NULL, &r);
  ck_assert_int_eq(r.status, 302);
  assert_hdr(&r, "Location", "ftp://127.0.0.1/pub/listing.html");
  resp_free(&r);
  get_ok(&h, "127.0.0.2", "/redirect-scheme?scheme=file", NULL, &r);
  assert_hdr(&r, "Location", "file://127.0.0.2/pub/listing.html");
  resp_free(&r);
  req_opts safe = { .follow = 5, .redir_protocols = "http,https" };
  fetch(qw_httpd_url(&h, NULL, "/redirect-scheme", url, sizeof(url)),
        &safe, &r);
  ck_assert_int_eq(r.res, CURLE_UNSUPPORTED_PROTOCOL);
  resp_free(&r);

  /* /redirect-to, across hosts. */
  char target[256], path[512];
  snprintf(target, sizeof(target), "http%%3A%%2F%%2F127.0.0.2%%3A%d"
           "%%2Frobots.txt", h.port);
  snprintf(path, sizeof(path), "/redirect-to?url=%s&code=301", target);
  get_ok(&h, NULL, path, NULL, &r);
  ck_assert_int_eq(r.status, 301);
  snprintf(v, sizeof(v), "http://127.0.0.2:%d/robots.txt", h.port);
  assert_hdr(&r, "Location", v);
  resp_free(&r);
  get_ok(&h, NULL, path, &f5, &r);
  ck_assert_int_eq(r.status, 200);
  assert_body_is(&r, "127.0.0.2/robots.txt");
  resp_free(&r);
  get_ok(&h, NULL, "/redirect-to?url=%2Fa%0D%0ASet-Cookie%3A%20x", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  get_ok(&h, NULL, "/redirect-to", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_walls)
{
  qw_httpd h;
  resp r;
  start2(&h);
  get_ok(&h, NULL, "/login-redirect/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 302);
  assert_hdr(&r, "Location",
             "/login?from=%2Flogin-redirect%2Fitem%2F1001.html");
  resp_free(&r);
  req_opts f = { .follow = 3 };
  get_ok(&h, NULL, "/login-redirect", &f, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(r.redirects, 1);
  ck_assert_ptr_nonnull(strstr(r.body, "type=\"password\""));
  ck_assert_ptr_nonnull(strstr(r.body, "登录"));
  resp_free(&r);

  get_ok(&h, NULL, "/captcha", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Type", "text/html; charset=utf-8");
  ck_assert_ptr_nonnull(strstr(r.body, "请完成安全验证"));
  ck_assert_ptr_nonnull(strstr(r.body, "滑块验证"));
  resp_free(&r);
  get_ok(&h, NULL, "/captcha/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  resp_free(&r);

  get_ok(&h, NULL, "/removed/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "商品已下架"));
  ck_assert_ptr_nonnull(strstr(r.body, "宝贝不存在"));
  resp_free(&r);
  get_ok(&h, NULL, "/removedx", NULL, &r);
  ck_assert_int_eq(r.status, 404);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_status)
{
  static const long codes[] = { 200, 201, 400, 403, 404, 410, 429, 451,
                                500, 502, 503, 504, 599 };
  qw_httpd h;
  resp r;
  char v[128], path[128];
  start2(&h);
  for(size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    snprintf(path, sizeof(path), "/status/%ld", codes[i]);
    get_ok(&h, NULL, path, NULL, &r);
    ck_assert_int_eq(r.status, codes[i]);
    ck_assert_uint_gt(r.len, 0);
    ck_assert(!hdr(&r, "Retry-After", v, sizeof(v)));
    resp_free(&r);
  }
  get_ok(&h, NULL, "/status/503?retry-after=7", NULL, &r);
  ck_assert_int_eq(r.status, 503);
  assert_hdr(&r, "Retry-After", "7");
  resp_free(&r);
  get_ok(&h, NULL, "/status/429?retry-after=Wed%2C%2021%20Oct%202026%20"
         "07%3A28%3A00%20GMT", NULL, &r);
  assert_hdr(&r, "Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT");
  resp_free(&r);
  get_ok(&h, NULL, "/status/204", NULL, &r);
  ck_assert_int_eq(r.status, 204);
  ck_assert_uint_eq(r.len, 0);
  resp_free(&r);
  get_ok(&h, NULL, "/status/301?location=%2Frobots.txt", NULL, &r);
  assert_hdr(&r, "Location", "/robots.txt");
  resp_free(&r);
  get_ok(&h, NULL, "/status/99", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  get_ok(&h, NULL, "/status/abc", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "status:503"), 2);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "status:204"), 1);
  stop_clean(&h);
}
END_TEST

START_TEST(test_flaky)
{
  qw_httpd h;
  resp r;
  start2(&h);
  for(int i = 0; i < 3; i++) {
    get_ok(&h, NULL, "/flaky/2/item/1001.html", NULL, &r);
    if(i < 2) {
      ck_assert_int_eq(r.status, 503);
      assert_hdr(&r, "Retry-After", "1");
    }
    else {
      ck_assert_int_eq(r.status, 200);
      assert_body_is(&r, "127.0.0.1/item/1001.html");
    }
    resp_free(&r);
  }
  get_ok(&h, NULL, "/flaky/2/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  resp_free(&r);
  /* Counters are per path and per Host. */
  get_ok(&h, NULL, "/flaky/1/robots.txt", NULL, &r);
  ck_assert_int_eq(r.status, 503);
  resp_free(&r);
  get_ok(&h, "127.0.0.2", "/flaky/2/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 503);
  resp_free(&r);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1",
                                    "/flaky/2/item/1001.html"), 4);
  /* /__reset starts the count again. */
  ck_assert_int_eq(qw_httpd_reset(&h), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1",
                                    "/flaky/2/item/1001.html"), 0);
  get_ok(&h, NULL, "/flaky/2/item/1001.html", NULL, &r);
  ck_assert_int_eq(r.status, 503);
  resp_free(&r);
  get_ok(&h, NULL, "/flaky/0/robots.txt", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  resp_free(&r);
  get_ok(&h, NULL, "/flaky/x/robots.txt", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_drip)
{
  qw_httpd h;
  resp r;
  char url[256];
  start2(&h);
  get_ok(&h, NULL, "/drip?bytes=10&ms=50", NULL, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.len, 10);
  ck_assert_int_eq(memcmp(r.body, "0123456789", 10), 0);
  ck_assert_msg(r.secs >= 0.4 && r.secs < 5, "took %.3f s", r.secs);
  resp_free(&r);

  /* Headers come at once; a total timeout cuts the body short. */
  req_opts t = { .timeout_ms = 300 };
  fetch(qw_httpd_url(&h, NULL, "/drip?bytes=100&ms=50", url, sizeof(url)),
        &t, &r);
  ck_assert_int_eq(r.res, CURLE_OPERATION_TIMEDOUT);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Length", "100");
  ck_assert_uint_ge(r.len, 1);
  ck_assert_uint_lt(r.len, 100);
  resp_free(&r);
  get_ok(&h, NULL, "/drip?ms=0", NULL, &r);
  ck_assert_int_eq(r.status, 400);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_slow_concurrency)
{
  enum { K = 5 };
  qw_httpd h;
  CURL *e[K];
  resp r[K];
  struct curl_slist *sl[K];
  char url[256];
  start2(&h);
  for(int i = 0; i < K; i++) {
    char path[64];
    snprintf(path, sizeof(path), "/slow?ms=600&i=%d", i);
    e[i] = easy_new(qw_httpd_url(&h, NULL, path, url, sizeof(url)), NULL,
                    &r[i], &sl[i]);
    curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)&r[i]);
  }
  double el = run_multi(e, K);
  for(int i = 0; i < K; i++) {
    ck_assert_int_eq(r[i].res, CURLE_OK);
    easy_finish(e[i], &r[i], sl[i]);
    ck_assert_int_eq(r[i].status, 200);
    ck_assert_str_eq(r[i].body, "slept 600 ms\n");
    resp_free(&r[i]);
  }
  /* Served side by side, not one after the other (that would be 3 s). */
  ck_assert_msg(el >= 0.55 && el < 2.0, "took %.3f s", el);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "max_inflight"), K);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "max_inflight"), K);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "/slow"), K);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "inflight"), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "inflight"), 0);

  /* The JSON document carries the same numbers. */
  char *json = NULL;
  ck_assert_int_eq(qw_httpd_stats(&h, NULL, &json), 0);
  ck_assert_ptr_nonnull(strstr(json, "\"127.0.0.1\":{\"requests\":5,"
                               "\"inflight\":0,\"max_inflight\":5,"));
  ck_assert_ptr_nonnull(strstr(json, "\"/slow\":5"));
  ck_assert_ptr_nonnull(strstr(json, "\"max_inflight\":5,\"hosts\""));
  free(json);
  ck_assert_int_eq(qw_httpd_stats(&h, "127.0.0.1", &json), 0);
  ck_assert_int_eq(strncmp(json, "{\"requests\":5,", 14), 0);
  free(json);

  /* /__reset: max_inflight restarts from what is in flight now (0). */
  ck_assert_int_eq(qw_httpd_reset(&h), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "max_inflight"), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "max_inflight"), 0);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "requests_total"), 0);
  stop_clean(&h);
}
END_TEST

START_TEST(test_per_host_inflight)
{
  enum { K = 5 };
  static const char *const addr[K] = {
    "127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.2", "127.0.0.1"
  };
  qw_httpd h;
  CURL *e[K];
  resp r[K];
  struct curl_slist *sl[K];
  char url[256];
  start2(&h);
  for(int i = 0; i < K; i++) {
    e[i] = easy_new(qw_httpd_url(&h, addr[i], "/slow?ms=500", url,
                                 sizeof(url)), NULL, &r[i], &sl[i]);
    curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)&r[i]);
  }
  run_multi(e, K);
  for(int i = 0; i < K; i++) {
    ck_assert_int_eq(r[i].res, CURLE_OK);
    easy_finish(e[i], &r[i], sl[i]);
    resp_free(&r[i]);
  }
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "max_inflight"), 3);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.2", "max_inflight"), 2);
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "max_inflight"), 5);
  stop_clean(&h);
}
END_TEST

START_TEST(test_slow_client_blocks_nobody)
{
  qw_httpd h;
  CURL *e[2];
  resp r[2];
  struct curl_slist *sl[2];
  char url[256];
  start2(&h);
  e[0] = easy_new(qw_httpd_url(&h, NULL, "/drip?bytes=15&ms=100", url,
                               sizeof(url)), NULL, &r[0], &sl[0]);
  e[1] = easy_new(qw_httpd_url(&h, NULL, "/item/1001.html", url,
                               sizeof(url)), NULL, &r[1], &sl[1]);
  for(int i = 0; i < 2; i++)
    curl_easy_setopt(e[i], CURLOPT_PRIVATE, (char *)&r[i]);
  run_multi(e, 2);
  for(int i = 0; i < 2; i++) {
    ck_assert_int_eq(r[i].res, CURLE_OK);
    easy_finish(e[i], &r[i], sl[i]);
    ck_assert_int_eq(r[i].status, 200);
  }
  ck_assert_msg(r[0].secs >= 1.3, "drip took %.3f s", r[0].secs);
  ck_assert_msg(r[1].secs < 0.8, "page took %.3f s", r[1].secs);
  assert_body_is(&r[1], "127.0.0.1/item/1001.html");
  resp_free(&r[0]);
  resp_free(&r[1]);
  stop_clean(&h);
}
END_TEST

/* Waits until the server has no request in flight (it noticed that the
 * client went away). */
static void wait_idle(const qw_httpd *h)
{
  double t0 = now_s();
  long long v = -1;
  while(now_s() - t0 < 5) {
    v = qw_httpd_counter(h, NULL, "inflight");
    if(v == 0)
      return;
    sleep_ms(20);
  }
  ck_abort_msg("server still has %lld requests in flight", v);
}

START_TEST(test_endless)
{
  qw_httpd h;
  resp r;
  char url[256];
  start2(&h);
  req_opts t = { .timeout_ms = 500 };
  fetch(qw_httpd_url(&h, NULL, "/endless", url, sizeof(url)), &t, &r);
  ck_assert_int_eq(r.res, CURLE_OPERATION_TIMEDOUT);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Transfer-Encoding", "chunked");
  ck_assert_uint_gt(r.len, 64 * 1024);
  ck_assert_ptr_nonnull(strstr(r.body, "endless listing page"));
  resp_free(&r);
  wait_idle(&h);

  req_opts cap = { .abort_after = 1u << 20 };
  fetch(qw_httpd_url(&h, NULL, "/endless", url, sizeof(url)), &cap, &r);
  ck_assert_int_eq(r.res, CURLE_WRITE_ERROR);
  ck_assert_uint_le(r.len, 1u << 20);
  resp_free(&r);
  wait_idle(&h);
  stop_clean(&h);
}
END_TEST

/* Inflates a gzip body, checking that every byte is zero; stops after
 * limit bytes. Returns the inflated size; *ended says whether the stream
 * ended (zlib has then checked the CRC and size in the trailer). */
static uint64_t inflate_zeros(const char *body, size_t len, uint64_t limit,
                              int *ended)
{
  static unsigned char out[1 << 20], zero[1 << 20];
  z_stream z;
  memset(&z, 0, sizeof(z));
  ck_assert_int_eq(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  z.next_in = (Bytef *)(uintptr_t)body;
  z.avail_in = (uInt)len;
  uint64_t total = 0;
  int zr = Z_OK;
  while(zr != Z_STREAM_END && total < limit) {
    z.next_out = out;
    z.avail_out = sizeof(out);
    zr = inflate(&z, Z_NO_FLUSH);
    ck_assert_msg(zr == Z_OK || zr == Z_STREAM_END, "inflate %d", zr);
    size_t got = sizeof(out) - z.avail_out;
    ck_assert_int_eq(memcmp(out, zero, got), 0);
    total += got;
  }
  *ended = zr == Z_STREAM_END;
  if(*ended)
    ck_assert_uint_eq(z.avail_in, 0);
  inflateEnd(&z);
  return total;
}

static uint32_t le32(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
         (uint32_t)u[3] << 24;
}

START_TEST(test_bomb_wire)
{
  qw_httpd h;
  resp r;
  int ended;
  start2(&h);
  req_opts raw = { .raw = 1 };
  get_ok(&h, NULL, "/bomb", &raw, &r);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Encoding", "gzip");
  char cl[32];
  ck_assert(hdr(&r, "Content-Length", cl, sizeof(cl)));
  ck_assert_uint_eq(strtoul(cl, NULL, 10), r.len);
  ck_assert_msg(r.len > 900000 && r.len < 1200000, "wire %zu", r.len);
  /* The trailer: CRC-32 and size (mod 2^32) of 1 GiB of zeros. */
  static unsigned char mib[1 << 20];
  uLong c1 = crc32(0L, mib, sizeof(mib)), crc = c1;
  for(int i = 1; i < 1024; i++)
    crc = crc32_combine(crc, c1, (z_off_t)sizeof(mib));
  ck_assert_uint_eq(le32(r.body + r.len - 8), (uint32_t)crc);
  ck_assert_uint_eq(le32(r.body + r.len - 4), 1u << 30);
  /* Inflating all of it takes seconds: check the first 16 MiB here and
   * the whole stream of a smaller bomb built the same way below. */
  ck_assert_uint_eq(inflate_zeros(r.body, r.len, 16u << 20, &ended),
                    16u << 20);
  ck_assert(!ended);
  size_t big = r.len;
  resp_free(&r);
  stop_clean(&h);

  static const char *const extra[] = { "--bomb-mib", "16", NULL };
  ck_assert_int_eq(qw_httpd_start_args(qw_test_fixture("sites"), NULL, 60,
                                       extra, &h), 0);
  get_ok(&h, NULL, "/bomb", &raw, &r);
  ck_assert_uint_eq(inflate_zeros(r.body, r.len, UINT64_MAX, &ended),
                    16u << 20);
  ck_assert(ended);
  /* Same segment repeated: 10-byte header, n segments, 2-byte final
   * block, 8-byte trailer. */
  ck_assert_uint_eq((big - 20) / 1024, (r.len - 20) / 16);
  ck_assert_uint_eq((big - 20) % 1024, 0);
  resp_free(&r);
  stop_clean(&h);
}
END_TEST

START_TEST(test_bomb_decoded)
{
  qw_httpd h;
  resp r;
  char url[256];
  start2(&h);
  /* A client that decodes stops itself after 10 MB of output, having
   * read only a tiny part of the wire bytes. */
  req_opts dec = { .accept_encoding = "", .abort_after = 10u << 20 };
  fetch(qw_httpd_url(&h, NULL, "/bomb", url, sizeof(url)), &dec, &r);
  ck_assert_int_eq(r.res, CURLE_WRITE_ERROR);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_ge(r.len, 9u << 20);
  ck_assert_msg(r.wire > 0 && r.wire < 200000, "wire %ld", (long)r.wire);
  ck_assert_msg((double)r.len / (double)r.wire > 100.0, "ratio %zu/%ld",
                r.len, (long)r.wire);
  resp_free(&r);
  wait_idle(&h);
  stop_clean(&h);
}
END_TEST

START_TEST(test_reset)
{
  qw_httpd h;
  resp r;
  char url[256];
  start2(&h);
  fetch(qw_httpd_url(&h, NULL, "/reset", url, sizeof(url)), NULL, &r);
  ck_assert_msg(r.res == CURLE_RECV_ERROR || r.res == CURLE_PARTIAL_FILE,
                "got %d (%s)", r.res, curl_easy_strerror(r.res));
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Length", "100000");
  ck_assert_uint_le(r.len, 2000);
  resp_free(&r);

  /* A raw socket sees the reset itself. */
  int fd = raw_connect(&h, "127.0.0.1");
  const char req[] = "GET /reset?sent=500 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  raw_send(fd, req, sizeof(req) - 1);
  int err = 0;
  size_t got = 0;
  char buf[4096];
  double t0 = now_s();
  while(now_s() - t0 < 5) {
    struct pollfd p = { fd, POLLIN, 0 };
    if(poll(&p, 1, 1000) <= 0)
      continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if(n < 0) {
      err = errno;
      break;
    }
    if(n == 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  ck_assert_int_eq(err, ECONNRESET);
  ck_assert_uint_le(got, 500 + 400);
  wait_idle(&h);
  stop_clean(&h);
}
END_TEST

START_TEST(test_close_early)
{
  qw_httpd h;
  resp r;
  char url[256];
  start2(&h);
  fetch(qw_httpd_url(&h, NULL, "/close-early", url, sizeof(url)), NULL, &r);
  ck_assert_int_eq(r.res, CURLE_PARTIAL_FILE);
  ck_assert_int_eq(r.status, 200);
  assert_hdr(&r, "Content-Length", "100000");
  ck_assert_uint_eq(r.len, 1000);
  resp_free(&r);
  fetch(qw_httpd_url(&h, NULL, "/close-early?sent=10&length=20", url,
                     sizeof(url)), NULL, &r);
  ck_assert_int_eq(r.res, CURLE_PARTIAL_FILE);
  ck_assert_uint_eq(r.len, 10);
  resp_free(&r);
  wait_idle(&h);
  stop_clean(&h);
}
END_TEST

START_TEST(test_keepalive)
{
  qw_httpd h;
  resp r1, r2;
  char url[256];
  start2(&h);
  ck_assert_int_eq(qw_httpd_reset(&h), 0);
  CURL *e = curl_easy_init();
  ck_assert_ptr_nonnull(e);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  memset(&r1, 0, sizeof(r1));
  memset(&r2, 0, sizeof(r2));
  r1.keep_cap = r2.keep_cap = 1u << 20;
  curl_easy_setopt(e, CURLOPT_URL, qw_httpd_url(&h, NULL, "/robots.txt",
                                                url, sizeof(url)));
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &r1);
  ck_assert_int_eq(curl_easy_perform(e), CURLE_OK);
  curl_easy_setopt(e, CURLOPT_URL, qw_httpd_url(&h, NULL, "/item/1001.html",
                                                url, sizeof(url)));
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &r2);
  ck_assert_int_eq(curl_easy_perform(e), CURLE_OK);
  long connects = -1;
  curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
  ck_assert_int_eq(connects, 0); /* reused */
  curl_easy_cleanup(e);
  assert_body_is(&r2, "127.0.0.1/item/1001.html");
  resp_free(&r1);
  resp_free(&r2);
  /* One connection for both requests, plus the one asking. */
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "connections_total"), 2);
  stop_clean(&h);
}
END_TEST

START_TEST(test_pipelining)
{
  qw_httpd h;
  size_t len;
  int eof;
  start2(&h);
  int fd = raw_connect(&h, "127.0.0.1");
  /* Three requests in one packet; the slow one in the middle must not
   * let the third overtake it. */
  const char reqs[] =
    "GET /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    "GET /slow?ms=200 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    "\r\nGET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  raw_send(fd, reqs, sizeof(reqs) - 1);
  char *all = raw_read(fd, 3000, &len, &eof);
  close(fd);
  ck_assert(eof);
  ck_assert_int_eq(count_str(all, "HTTP/1.1 "), 3);
  char *a = strstr(all, "HTTP/1.1 200");
  char *b = a ? strstr(a + 1, "slept 200 ms") : NULL;
  char *c = b ? strstr(b, "HTTP/1.1 404") : NULL;
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_nonnull(c);
  ck_assert_ptr_nonnull(strstr(c, "Connection: close"));
  free(all);
  /* One connection (plus the one asking); served one after the other, so
   * never more than one in flight. */
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "connections_total"), 2);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "max_inflight"), 1);
  ck_assert_int_eq(qw_httpd_counter(&h, "127.0.0.1", "requests"), 3);

  /* A request split across packets is put back together. */
  fd = raw_connect(&h, "127.0.0.2");
  raw_send(fd, "GET /robots", 11);
  sleep_ms(50);
  raw_send(fd, ".txt HTTP/1.1\r\nHo", 17);
  sleep_ms(50);
  raw_send(fd, "st: 127.0.0.2\r\nConnection: close\r\n\r\n", 36);
  all = raw_read(fd, 3000, &len, &eof);
  close(fd);
  ck_assert(eof);
  ck_assert_int_eq(strncmp(all, "HTTP/1.1 200 OK\r\n", 17), 0);
  ck_assert_ptr_nonnull(strstr(all, "Crawl-delay: 2"));
  free(all);
  stop_clean(&h);
}
END_TEST

static char *raw_exchange(const qw_httpd *h, const char *data, size_t len,
                          int *eof)
{
  size_t n;
  int fd = raw_connect(h, "127.0.0.1");
  raw_send(fd, data, len);
  char *all = raw_read(fd, 3000, &n, eof);
  close(fd);
  return all;
}

START_TEST(test_bad_requests)
{
  qw_httpd h;
  int eof;
  char *all;
  start2(&h);

  /* A head over 16 KiB. */
  size_t big = 20000;
  char *huge = malloc(big + 64);
  ck_assert_ptr_nonnull(huge);
  int n = snprintf(huge, 64, "GET / HTTP/1.1\r\nX-Big: ");
  memset(huge + n, 'a', big);
  memcpy(huge + n + big, "\r\n\r\n", 4);
  all = raw_exchange(&h, huge, (size_t)n + big + 4, &eof);
  ck_assert_int_eq(strncmp(all, "HTTP/1.1 431 ", 13), 0);
  ck_assert(eof);
  free(all);
  free(huge);

  /* 101 header lines. */
  char many[4096];
  size_t m = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
  for(int i = 0; i < 101; i++)
    m += (size_t)snprintf(many + m, sizeof(many) - m, "X-%d: v\r\n", i);
  m += (size_t)snprintf(many + m, sizeof(many) - m, "\r\n");
  all = raw_exchange(&h, many, m, &eof);
  ck_assert_int_eq(strncmp(all, "HTTP/1.1 431 ", 13), 0);
  free(all);

  static const struct {
    const char *req, *want;
  } cases[] = {
    { "GARBAGE\r\n\r\n", "HTTP/1.1 400 " },
    { "GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 " },
    { "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", "HTTP/1.1 400 " },
    { "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 " },
    { "GET noslash HTTP/1.1\r\n\r\n", "HTTP/1.1 400 " },
    { "POST /robots.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Length: 5\r\n\r\nhello", "HTTP/1.1 405 " },
    { "GET /robots.txt HTTP/1.0\r\n\r\n", "HTTP/1.1 200 " },
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    all = raw_exchange(&h, cases[i].req, strlen(cases[i].req), &eof);
    ck_assert_msg(strncmp(all, cases[i].want, strlen(cases[i].want)) == 0,
                  "case %zu: %.40s", i, all);
    ck_assert_msg(eof, "case %zu: connection left open", i);
    free(all);
  }
  /* Each refusal was counted; the server is still fine. */
  ck_assert_int_eq(qw_httpd_counter(&h, NULL, "bad_requests"), 7);
  stop_clean(&h);
}
END_TEST

START_TEST(test_limits)
{
  static const char *const extra[] = {
    "--max-conns", "2", "--header-ms", "300", "--idle-ms", "400", NULL
  };
  qw_httpd h;
  size_t len;
  int eof;
  ck_assert_int_eq(qw_httpd_start_args(qw_test_fixture("sites"), NULL, 60,
                                       extra, &h), 0);
  /* A client that never finishes its head is dropped after --header-ms,
   * an idle keep-alive connection after --idle-ms. */
  int fd1 = raw_connect(&h, "127.0.0.1");
  int fd2 = raw_connect(&h, "127.0.0.1");
  raw_send(fd1, "GET / HTTP/1.1\r\nHost", 20);
  /* Over the limit: accepted and closed at once. */
  int fd3 = raw_connect(&h, "127.0.0.1");
  double t0 = now_s();
  char *all = raw_read(fd3, 2000, &len, &eof);
  ck_assert(eof);
  ck_assert_uint_eq(len, 0);
  ck_assert(now_s() - t0 < 1.0);
  free(all);
  close(fd3);

  t0 = now_s();
  all = raw_read(fd1, 3000, &len, &eof);
  ck_assert(eof);
  double el = now_s() - t0;
  ck_assert_msg(el > 0.15 && el < 2.0, "header timeout after %.3f s", el);
  free(all);
  all = raw_read(fd2, 3000, &len, &eof);
  ck_assert(eof);
  free(all);
  close(fd1);
  close(fd2);
  long long refused = -1;
  for(int i = 0; i < 100 && refused < 0; i++) {
    refused = qw_httpd_counter(&h, NULL, "connections_refused");
    if(refused < 0)
      sleep_ms(20);
  }
  ck_assert_int_eq(refused, 1);
  stop_clean(&h);
}
END_TEST

START_TEST(test_echo_and_proxy)
{
  qw_httpd h;
  resp r;
  char proxy[64];
  start2(&h);
  static const char *const hl[] = { "X-Qw-Test: 清网", NULL };
  req_opts o = { .headers = hl };
  get_ok(&h, NULL, "/echo?a=1", &o, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(strncmp(r.body, "GET /echo?a=1 HTTP/1.1\r\n", 24), 0);
  ck_assert_ptr_nonnull(strstr(r.body, "\r\nX-Qw-Test: 清网\r\n"));
  ck_assert_int_eq(memcmp(r.body + r.len - 4, "\r\n\r\n", 4), 0);
  resp_free(&r);

  /* As an HTTP proxy: the absolute-form target picks the site, so a
   * made-up host name needs no DNS. */
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", h.port);
  req_opts px = { .proxy = proxy };
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.2:%d/robots.txt", h.port);
  fetch(url, &px, &r);
  ck_assert_int_eq(r.res, CURLE_OK);
  assert_body_is(&r, "127.0.0.2/robots.txt");
  resp_free(&r);
  fetch("http://shop.example/robots.txt", &px, &r);
  ck_assert_int_eq(r.res, CURLE_OK);
  assert_body_is(&r, "robots.txt");
  resp_free(&r);
  ck_assert_int_eq(qw_httpd_counter(&h, "shop.example", "requests"), 1);
  stop_clean(&h);
}
END_TEST

static Suite *httpd_suite(void)
{
  Suite *s = suite_create("httpd");
  TCase *tc = tcase_create("server");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_start_stop);
  tcase_add_test(tc, test_refuses_non_loopback);
  tcase_add_test(tc, test_max_seconds);
  tcase_add_test(tc, test_static_types);
  tcase_add_test(tc, test_vhosts);
  tcase_add_test(tc, test_path_safety);
  tcase_add_test(tc, test_conditional);
  tcase_add_test(tc, test_compression);
  tcase_add_test(tc, test_chunked);
  tcase_add_test(tc, test_redirects);
  tcase_add_test(tc, test_walls);
  tcase_add_test(tc, test_status);
  tcase_add_test(tc, test_flaky);
  tcase_add_test(tc, test_drip);
  tcase_add_test(tc, test_slow_concurrency);
  tcase_add_test(tc, test_per_host_inflight);
  tcase_add_test(tc, test_slow_client_blocks_nobody);
  tcase_add_test(tc, test_endless);
  tcase_add_test(tc, test_bomb_wire);
  tcase_add_test(tc, test_bomb_decoded);
  tcase_add_test(tc, test_reset);
  tcase_add_test(tc, test_close_early);
  tcase_add_test(tc, test_keepalive);
  tcase_add_test(tc, test_pipelining);
  tcase_add_test(tc, test_bad_requests);
  tcase_add_test(tc, test_limits);
  tcase_add_test(tc, test_echo_and_proxy);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  SRunner *sr = srunner_create(httpd_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
