/* test_fetch.c — the transfer engine (daemon/fetch.c) against the real
 * loopback server qw-test-httpd (tests/httpd/): decoding, redirects,
 * statuses, timeouts, caps, broken connections, DNS/TLS/proxy failures,
 * concurrency and shutdown. A test that needs the server starts its own;
 * every test runs its own libuv loop and ends with it closed cleanly
 * (nothing left for uv_walk, uv_loop_close() == 0). No traffic leaves
 * loopback. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "fetch.h"
#include "qw_httpd_ctl.h"
#include "qw_test.h"

/* ===== helpers ===== */

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  uv_loop_t loop;
  qw_fetcher *f;
  qw_httpd srv;
  uv_timer_t watchdog;      /* fails a wait that never ends */
  uv_prepare_t kick;        /* ends uv_run(ONCE) after a callback */
  unsigned seen;
  int expired;
  int closed;               /* close callback calls */
} env;

/* Bumped by every callback of the tests. A completion can be delivered
 * from a timer at the start of a loop iteration, which then would block in
 * its poll phase (on the watchdog); the prepare handle sees the bump first
 * and calls uv_stop, so RUN_UNTIL re-checks its condition at once. */
static unsigned events;

static void on_kick(uv_prepare_t *p)
{
  unsigned *seen = p->data;
  if(*seen != events) {
    *seen = events;
    uv_stop(p->loop);
  }
}

/* One request's completion. */
typedef struct {
  qw_fetch_result *res;
  int calls;
  double t_start, t_done;
} got;

static void on_got(qw_fetch_result *r, void *ud)
{
  got *g = ud;
  events++;
  g->calls++;
  if(g->res)
    qw_fetch_result_free(g->res); /* a second call: counted, and fails */
  g->res = r;
  g->t_done = now_s();
}

static void on_watchdog(uv_timer_t *t)
{
  ((env *)t->data)->expired = 1;
}

static void env_handles(env *e)
{
  ck_assert_int_eq(uv_timer_init(&e->loop, &e->watchdog), 0);
  e->watchdog.data = e;
  ck_assert_int_eq(uv_prepare_init(&e->loop, &e->kick), 0);
  e->kick.data = &e->seen;
  e->seen = events;
  ck_assert_int_eq(uv_prepare_start(&e->kick, on_kick), 0);
}

static void start_server_args(env *e, const char *const *addrs,
                              const char *const *extra)
{
  ck_assert_int_eq(qw_httpd_start_args(qw_test_fixture("sites"), addrs, 90,
                                       extra, &e->srv), 0);
  ck_assert_int_gt(e->srv.port, 0);
}

static void env_init_cfg(env *e, const qw_fetcher_config *cfg, int server)
{
  memset(e, 0, sizeof(*e));
  ck_assert_int_eq(uv_loop_init(&e->loop), 0);
  env_handles(e);
  if(server)
    start_server_args(e, NULL, NULL);
  ck_assert_int_eq(qw_fetcher_new(&e->loop, cfg, &e->f), 0);
  ck_assert_ptr_nonnull(e->f);
}

static void env_init(env *e)
{
  env_init_cfg(e, NULL, 1);
}

static void on_closed(void *ud)
{
  events++;
  ((env *)ud)->closed++;
}

static void walk_cb(uv_handle_t *h, void *arg)
{
  int *n = arg;
  if(!uv_is_closing(h)) {
    (*n)++;
    fprintf(stderr, "left open: handle type %s\n",
            uv_handle_type_name(uv_handle_get_type(h)));
    uv_close(h, NULL);
  }
}

/* The loop must end with nothing left: uv_walk finds no open handle. */
static void loop_finish(uv_loop_t *loop)
{
  int left = 0;
  uv_walk(loop, walk_cb, &left);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(left, 0);
  ck_assert_int_eq(uv_loop_close(loop), 0);
}

/* Closes the engine (unless the test did), runs the loop dry, closes it,
 * stops the server (asserting it exited cleanly). */
static void env_finish(env *e)
{
  if(e->f) {
    qw_fetcher_close(e->f, on_closed, e);
    e->f = NULL;
  }
  uv_close((uv_handle_t *)&e->watchdog, NULL);
  uv_close((uv_handle_t *)&e->kick, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e->closed, 1);
  loop_finish(&e->loop);
  if(e->srv.pid) {
    qw_httpd_stop(&e->srv);
    ck_assert_int_eq(e->srv.exit_status, 0);
  }
}

static qw_fetch_opts base_opts(void)
{
  qw_fetch_opts o;
  memset(&o, 0, sizeof(o));
  o.user_agent = "qingwang-test/0.1";
  o.verify_tls = 1;
  o.connect_timeout_ms = 5000;
  o.total_timeout_ms = 20000;
  o.max_body = 4u << 20;
  o.max_redirects = 5;
  o.http2 = 1;
  return o;
}

static char *url_of(env *e, const char *path)
{
  static char buf[4][512];
  static int i;
  i = (i + 1) % 4;
  return qw_httpd_url(&e->srv, NULL, path, buf[i], sizeof(buf[i]));
}

/* Runs the loop until cond holds; fails the test after 60 s. */
#define RUN_UNTIL(e, cond) \
  do { \
    ck_assert_int_eq(uv_timer_start(&(e)->watchdog, on_watchdog, 60000, 0), \
                     0); \
    while(!(cond) && !(e)->expired) \
      uv_run(&(e)->loop, UV_RUN_ONCE); \
    /* the condition decides: a wait that ended on the watchdog after the \
     * work completed is not a failure */ \
    ck_assert_msg((cond), "timed out waiting for: %s", #cond); \
    uv_timer_stop(&(e)->watchdog); \
  } while(0)

/* Runs the loop until g has its callback. */
static void wait_for(env *e, got *g)
{
  RUN_UNTIL(e, g->calls != 0);
}

/* One fetch to completion. Checks the callback is not called inside
 * qw_fetch_start and is called exactly once. Caller frees the result. */
static qw_fetch_result *fetch1(env *e, const char *url,
                               const qw_fetch_opts *o, double *secs)
{
  got g;
  memset(&g, 0, sizeof(g));
  g.t_start = now_s();
  ck_assert_int_eq(qw_fetch_start(e->f, url, o, on_got, &g), 0);
  ck_assert_int_eq(g.calls, 0);
  ck_assert_uint_eq(qw_fetcher_active(e->f), 1);
  wait_for(e, &g);
  /* Nothing more arrives for it. */
  uv_run(&e->loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(g.calls, 1);
  ck_assert_uint_eq(qw_fetcher_active(e->f), 0);
  ck_assert_ptr_nonnull(g.res);
  ck_assert_str_eq(g.res->url, url);
  if(secs)
    *secs = g.t_done - g.t_start;
  return g.res;
}

static char *site_file(const char *rel, size_t *len)
{
  char path[512];
  snprintf(path, sizeof(path), "sites/127.0.0.1/%s", rel);
  return qw_test_read(qw_test_fixture(path), len);
}

static void assert_body_is(const qw_fetch_result *r, const char *rel)
{
  size_t len;
  char *want = site_file(rel, &len);
  ck_assert_ptr_nonnull(r->body);
  ck_assert_uint_eq(r->body_len, len);
  ck_assert_int_eq(memcmp(r->body, want, len), 0);
  ck_assert_int_eq(r->body[r->body_len], '\0');
  free(want);
}

static size_t count_lines_starting(const char *h, const char *prefix)
{
  size_t n = 0, pl = strlen(prefix);
  const char *p = h;
  while(p && *p) {
    if(strncasecmp(p, prefix, pl) == 0)
      n++;
    p = strchr(p, '\n');
    if(p)
      p++;
  }
  return n;
}

/* The value of header name in a header block, copied to buf. */
static int header_get(const char *h, const char *name, char *buf, size_t n)
{
  size_t nl = strlen(name);
  const char *p = h;
  while(p && *p) {
    if(strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while(*v == ' ')
        v++;
      size_t len = strcspn(v, "\r\n");
      if(len >= n)
        return -1;
      memcpy(buf, v, len);
      buf[len] = '\0';
      return 0;
    }
    p = strchr(p, '\n');
    if(p)
      p++;
  }
  return -1;
}


static void pct_encode(const char *s, char *out, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for(; *s && o + 4 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')
      out[o++] = (char)c;
    else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
}

static long maxrss_kib(void)
{
  struct rusage ru;
  ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
  return ru.ru_maxrss;
}

/* ===== tests ===== */

START_TEST(test_outcome_names)
{
  static const char *const want[] = {
    "ok", "not_modified", "http_4xx", "http_5xx", "gone", "blocked",
    "login_wall", "timeout", "dns", "connect", "tls", "reset", "too_large",
    "redirect_loop", "bad_redirect", "blocked_by_robots", "proxy", "error",
  };
  ck_assert_uint_eq(sizeof(want) / sizeof(want[0]), QW_OUT_COUNT);
  for(int i = 0; i < QW_OUT_COUNT; i++)
    ck_assert_str_eq(qw_outcome_name((qw_outcome)i), want[i]);
  ck_assert_str_eq(qw_outcome_name(QW_OUT_COUNT), "unknown");
  ck_assert_str_eq(qw_outcome_name((qw_outcome)-1), "unknown");
  qw_fetch_result_free(NULL);
}
END_TEST

START_TEST(test_plain_page)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  const char *url = url_of(&e, "/item/1001.html");
  time_t before = time(NULL);
  qw_fetch_result *r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_int_eq(r->status, 200);
  ck_assert_ptr_null(r->error);
  assert_body_is(r, "item/1001.html");
  ck_assert_str_eq(r->final_url, url);
  ck_assert_str_eq(r->content_type, "text/html; charset=utf-8");
  ck_assert_str_eq(r->remote_ip, "127.0.0.1");
  ck_assert_int_eq(r->remote_port, e.srv.port);
  ck_assert_str_eq(r->http_version, "1.1");
  ck_assert_int_eq(r->redirects, 0);
  ck_assert_int_eq(r->retry_after_s, -1);
  ck_assert_uint_eq(r->wire_bytes, r->body_len);
  ck_assert_ptr_nonnull(r->headers);
  ck_assert_int_eq(strncmp(r->headers, "HTTP/1.1 200", 12), 0);
  ck_assert_uint_eq(count_lines_starting(r->headers, "HTTP/"), 1);
  ck_assert_uint_eq(count_lines_starting(r->headers, "ETag:"), 1);
  /* Timings: non-zero and in order. */
  ck_assert(r->t_dns >= 0.0);
  ck_assert(r->t_connect > 0.0);
  ck_assert(r->t_connect >= r->t_dns);
  ck_assert(r->t_tls == 0.0); /* plain http */
  ck_assert(r->t_ttfb >= r->t_connect);
  ck_assert(r->t_total >= r->t_ttfb);
  ck_assert(r->t_total > 0.0 && r->t_total < 10.0);
  ck_assert(r->fetched >= before && r->fetched <= time(NULL));
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* gzip, brotli and zstd bodies come back decoded; what came off the wire
 * was smaller. */
START_TEST(test_content_encodings)
{
  static const char *const enc[] = { "gz", "br", "zstd" };
  static const char *const name[] = { "gzip", "br", "zstd" };
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  for(int i = 0; i < 3; i++) {
    char path[128], ce[32];
    snprintf(path, sizeof(path), "/%s/item/1001.html", enc[i]);
    qw_fetch_result *r = fetch1(&e, url_of(&e, path), &o, NULL);
    ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
    assert_body_is(r, "item/1001.html");
    ck_assert_int_eq(header_get(r->headers, "Content-Encoding", ce,
                                sizeof(ce)), 0);
    ck_assert_str_eq(ce, name[i]);
    ck_assert_uint_gt(r->wire_bytes, 0);
    ck_assert_uint_lt(r->wire_bytes, r->body_len);
    qw_fetch_result_free(r);
  }
  env_finish(&e);
}
END_TEST

/* raw_body: the body comes as it was on the wire with the coding to undo;
 * qw_fetch_result_decode gives what the engine would have given. */
START_TEST(test_raw_bodies)
{
  static const char *const enc[] = { "gz", "br", "zstd" };
  static const char *const name[] = { "gzip", "br", "zstd" };
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.raw_body = 1;
  for(int i = 0; i < 3; i++) {
    char path[128];
    snprintf(path, sizeof(path), "/%s/item/1001.html", enc[i]);
    qw_fetch_result *r = fetch1(&e, url_of(&e, path), &o, NULL);
    ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
    ck_assert_ptr_nonnull(r->content_encoding);
    ck_assert_str_eq(r->content_encoding, name[i]);
    ck_assert_uint_eq(r->body_len, r->wire_bytes);
    ck_assert_int_eq(qw_fetch_result_decode(r, 0), 0);
    ck_assert_ptr_null(r->content_encoding);
    ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
    assert_body_is(r, "item/1001.html");
    ck_assert_int_eq(qw_fetch_result_decode(r, 0), 0); /* nothing left */
    assert_body_is(r, "item/1001.html");
    qw_fetch_result_free(r);
  }
  /* a plain body is left alone */
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_ptr_null(r->content_encoding);
  assert_body_is(r, "item/1001.html");
  qw_fetch_result_free(r);
  /* the offer is what the decoder undoes */
  r = fetch1(&e, url_of(&e, "/echo"), &o, NULL);
  char v[256];
  ck_assert_int_eq(header_get(r->body, "Accept-Encoding", v, sizeof(v)), 0);
  ck_assert_str_eq(v, QW_FETCH_CODINGS);
  qw_fetch_result_free(r);
  /* the bomb: 1 MB arrives, decoding stops at the cap */
  o.max_body = 4u << 20;
  long rss0 = maxrss_kib();
  r = fetch1(&e, url_of(&e, "/bomb"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_str_eq(r->content_encoding, "gzip");
  ck_assert_int_eq(qw_fetch_result_decode(r, o.max_body), 0);
  long rss1 = maxrss_kib();
  ck_assert_str_eq(qw_outcome_name(r->outcome), "too_large");
  ck_assert_ptr_nonnull(strstr(r->error, "larger than"));
  ck_assert_ptr_null(r->body);
  ck_assert_uint_eq(r->body_len, 0);
  ck_assert_msg(rss1 - rss0 < 128 * 1024, "peak RSS grew by %ld KiB",
                rss1 - rss0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

START_TEST(test_chunked)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/chunked/item/1002.html?ms=2"),
                              &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  assert_body_is(r, "item/1002.html");
  ck_assert_uint_eq(count_lines_starting(r->headers, "Transfer-Encoding:"),
                    1);
  /* The counter excludes the chunk framing. */
  ck_assert_uint_eq(r->wire_bytes, r->body_len);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* User agent, cookie, extra headers and Accept-Encoding reach the server. */
START_TEST(test_request_headers)
{
  static const char *const extra[] = { "X-Qw-Test: 1", "Accept-Language: "
                                       "zh-CN,zh;q=0.9", NULL };
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.cookie = "sid=abc; region=cn";
  o.headers = extra;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/echo"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_ptr_nonnull(r->body);
  char v[256];
  ck_assert_int_eq(header_get(r->body, "User-Agent", v, sizeof(v)), 0);
  ck_assert_str_eq(v, "qingwang-test/0.1");
  ck_assert_int_eq(header_get(r->body, "Cookie", v, sizeof(v)), 0);
  ck_assert_str_eq(v, "sid=abc; region=cn");
  ck_assert_int_eq(header_get(r->body, "X-Qw-Test", v, sizeof(v)), 0);
  ck_assert_str_eq(v, "1");
  ck_assert_int_eq(header_get(r->body, "Accept-Language", v, sizeof(v)), 0);
  ck_assert_str_eq(v, "zh-CN,zh;q=0.9");
  ck_assert_int_eq(header_get(r->body, "Accept-Encoding", v, sizeof(v)), 0);
  ck_assert_ptr_nonnull(strstr(v, "gzip"));
  ck_assert_ptr_nonnull(strstr(v, "br"));
  ck_assert_ptr_nonnull(strstr(v, "zstd"));
  ck_assert_int_eq(header_get(r->body, "If-None-Match", v, sizeof(v)), -1);
  qw_fetch_result_free(r);

  /* Header injection is refused up front; the callback never runs. */
  static const char *const bad[] = { "X-A: 1\r\nX-B: 2", NULL };
  got g;
  memset(&g, 0, sizeof(g));
  o.headers = bad;
  ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/echo"), &o, on_got, &g),
                   -EINVAL);
  o.headers = NULL;
  o.user_agent = "ua\nX-Evil: 1";
  ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/echo"), &o, on_got, &g),
                   -EINVAL);
  ck_assert_int_eq(qw_fetch_start(e.f, NULL, &o, on_got, &g), -EINVAL);
  ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/"), &o, NULL, &g),
                   -EINVAL);
  ck_assert_uint_eq(qw_fetcher_active(e.f), 0);
  uv_run(&e.loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(g.calls, 0);
  env_finish(&e);
}
END_TEST

/* If-None-Match and If-Modified-Since from a first fetch give 304. */
START_TEST(test_conditional)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  const char *url = url_of(&e, "/item/1001.html");
  qw_fetch_result *r = fetch1(&e, url, &o, NULL);
  ck_assert_int_eq(r->status, 200);
  char etag[128], lm[128];
  ck_assert_int_eq(header_get(r->headers, "ETag", etag, sizeof(etag)), 0);
  ck_assert_int_eq(header_get(r->headers, "Last-Modified", lm, sizeof(lm)),
                   0);
  qw_fetch_result_free(r);

  o.if_none_match = etag;
  r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "not_modified");
  ck_assert_int_eq(r->status, 304);
  ck_assert_ptr_null(r->body);
  ck_assert_uint_eq(r->body_len, 0);
  ck_assert_ptr_null(r->error);
  qw_fetch_result_free(r);

  /* A 304 is bodyless: a Content-Length on it does not trip the cap. */
  o.max_body = 10;
  r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "not_modified");
  qw_fetch_result_free(r);
  o.max_body = 4u << 20;

  o.if_none_match = NULL;
  o.if_modified_since = lm;
  r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "not_modified");
  qw_fetch_result_free(r);

  o.if_none_match = "\"not-the-etag\"";
  o.if_modified_since = NULL;
  r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* Redirects within the limit: final URL recorded, only the final
 * response's headers and body kept. */
START_TEST(test_redirects_followed)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.max_redirects = 3;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/redirect/3/item/1001.html"),
                              &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_int_eq(r->redirects, 3);
  /* The server's last hop is /redirect/0/<path>, which serves the file. */
  ck_assert_str_eq(r->final_url, url_of(&e, "/redirect/0/item/1001.html"));
  assert_body_is(r, "item/1001.html");
  ck_assert_uint_eq(count_lines_starting(r->headers, "HTTP/"), 1);
  ck_assert_int_eq(strncmp(r->headers, "HTTP/1.1 200", 12), 0);
  ck_assert_uint_eq(count_lines_starting(r->headers, "Location:"), 0);
  qw_fetch_result_free(r);

  /* 301 and 307 as well. */
  r = fetch1(&e, url_of(&e, "/redirect/1/item/1002.html?code=301"), &o,
             NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_int_eq(r->redirects, 1);
  assert_body_is(r, "item/1002.html");
  qw_fetch_result_free(r);
  r = fetch1(&e, url_of(&e, "/redirect/2/item/1002.html?code=307"), &o,
             NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_int_eq(r->redirects, 2);
  qw_fetch_result_free(r);

  /* Not following at all: the 302 itself, reported as an error. */
  o.max_redirects = 0;
  r = fetch1(&e, url_of(&e, "/redirect/1/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "error");
  ck_assert_int_eq(r->status, 302);
  ck_assert_int_eq(r->redirects, 0);
  ck_assert_uint_eq(count_lines_starting(r->headers, "Location:"), 1);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

START_TEST(test_redirect_loop)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.max_redirects = 5;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/redirect-loop"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "redirect_loop");
  ck_assert_ptr_nonnull(r->error);
  ck_assert_int_eq(qw_httpd_counter(&e.srv, "127.0.0.1", "/redirect-loop"),
                   6);
  qw_fetch_result_free(r);
  r = fetch1(&e, url_of(&e, "/redirect/6/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "redirect_loop");
  qw_fetch_result_free(r);
  r = fetch1(&e, url_of(&e, "/redirect/5/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* Redirects out of http/https are refused, a local file above all. */
START_TEST(test_bad_redirect)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/redirect-scheme"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "bad_redirect");
  ck_assert_ptr_nonnull(r->error);
  ck_assert_ptr_null(r->body);
  qw_fetch_result_free(r);
  r = fetch1(&e, url_of(&e, "/redirect-to?url=file%3A%2F%2F%2Fetc%2Fpasswd"),
             &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "bad_redirect");
  ck_assert_ptr_null(r->body);
  qw_fetch_result_free(r);
  /* A redirect to another loopback http URL is fine. */
  char to[512], path[1024];
  qw_httpd_url(&e.srv, NULL, "/item/1002.html", to, sizeof(to));
  snprintf(path, sizeof(path), "/redirect-to?url=");
  pct_encode(to, path + strlen(path), sizeof(path) - strlen(path));
  r = fetch1(&e, url_of(&e, path), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_str_eq(r->final_url, to);
  assert_body_is(r, "item/1002.html");
  qw_fetch_result_free(r);
  /* A non-http URL asked for directly is an error, not a bad redirect. */
  got g;
  memset(&g, 0, sizeof(g));
  ck_assert_int_eq(qw_fetch_start(e.f, "ftp://127.0.0.1/x", &o, on_got, &g),
                   0);
  ck_assert_int_eq(g.calls, 0);
  wait_for(&e, &g);
  ck_assert_str_eq(qw_outcome_name(g.res->outcome), "error");
  ck_assert_ptr_nonnull(g.res->error);
  qw_fetch_result_free(g.res);
  env_finish(&e);
}
END_TEST

/* Status classes; Retry-After on 503. */
START_TEST(test_statuses)
{
  static const struct {
    const char *path;
    long status;
    const char *outcome;
    long retry_after;
  } cases[] = {
    { "/status/404", 404, "gone", -1 },
    { "/status/410", 410, "gone", -1 },
    { "/no/such/page.html", 404, "gone", -1 },
    { "/status/403", 403, "http_4xx", -1 },
    { "/status/429?retry-after=30", 429, "http_4xx", 30 },
    { "/status/500", 500, "http_5xx", -1 },
    { "/status/503?retry-after=7", 503, "http_5xx", 7 },
    { "/status/503?retry-after=0", 503, "http_5xx", 0 },
    { "/status/204", 204, "ok", -1 },
  };
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    qw_fetch_result *r = fetch1(&e, url_of(&e, cases[i].path), &o, NULL);
    ck_assert_msg(r->status == cases[i].status, "%s: status %ld",
                  cases[i].path, r->status);
    ck_assert_str_eq(qw_outcome_name(r->outcome), cases[i].outcome);
    ck_assert_msg(r->retry_after_s == cases[i].retry_after,
                  "%s: retry_after %ld", cases[i].path, r->retry_after_s);
    if(r->outcome == QW_OUT_OK)
      ck_assert_ptr_null(r->error);
    else {
      char want[32];
      snprintf(want, sizeof(want), "HTTP %ld", cases[i].status);
      ck_assert_str_eq(r->error, want);
    }
    qw_fetch_result_free(r);
  }
  env_finish(&e);
}
END_TEST

/* A body trickling in below the low-speed limit is a timeout (curl's
 * speed check runs on the timer path). */
START_TEST(test_low_speed)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.low_speed_bytes = 100;
  o.low_speed_secs = 1;
  double secs;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/drip?bytes=200&ms=300"), &o,
                              &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "timeout");
  ck_assert_int_eq(r->status, 200);
  ck_assert_uint_lt(r->body_len, 200);
  ck_assert(secs >= 0.9 && secs < 5.0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

START_TEST(test_total_timeout)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.total_timeout_ms = 300;
  double secs;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/slow?ms=5000"), &o, &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "timeout");
  ck_assert_int_eq(r->status, 0);
  ck_assert_ptr_null(r->body);
  ck_assert(secs >= 0.25 && secs < 3.0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* A listener whose accept queue is full drops SYNs: connect timeout. */
START_TEST(test_connect_timeout)
{
  int l = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(l, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
  ck_assert_int_eq(listen(l, 0), 0);
  int fill[3];
  for(int i = 0; i < 3; i++) {
    fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(fill[i], 0);
    int rc = connect(fill[i], (struct sockaddr *)&a, sizeof(a));
    ck_assert(rc == 0 || errno == EINPROGRESS);
  }
  usleep(50000);
  env e;
  env_init_cfg(&e, NULL, 0);
  qw_fetch_opts o = base_opts();
  o.connect_timeout_ms = 400;
  o.total_timeout_ms = 5000; /* only a backstop: must not be what fires */
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
  double secs;
  qw_fetch_result *r = fetch1(&e, url, &o, &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "timeout");
  ck_assert_msg(secs >= 0.35 && secs < 2.5, "took %.2f s", secs);
  ck_assert(r->t_connect == 0.0); /* never connected */
  ck_assert_int_eq(r->status, 0);
  qw_fetch_result_free(r);
  env_finish(&e);
  for(int i = 0; i < 3; i++)
    close(fill[i]);
  close(l);
}
END_TEST

/* A body that never ends stops at the cap, exactly. */
START_TEST(test_endless_capped)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.max_body = 1u << 20;
  double secs;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/endless"), &o, &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "too_large");
  ck_assert_uint_eq(r->body_len, o.max_body);
  ck_assert_ptr_nonnull(r->body);
  ck_assert_int_eq(r->body[r->body_len], '\0');
  ck_assert_ptr_nonnull(r->error);
  ck_assert_int_eq(r->status, 200);
  ck_assert(secs < 10.0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* The gzip bomb (~1 MB on the wire, 1 GiB inflated) stops at the cap on
 * decoded bytes, quickly and without the memory a full inflate needs. */
START_TEST(test_bomb_capped)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.max_body = 4u << 20;   /* above the wire size: Content-Length passes */
  long rss0 = maxrss_kib();
  double secs;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/bomb"), &o, &secs);
  long rss1 = maxrss_kib();
  ck_assert_str_eq(qw_outcome_name(r->outcome), "too_large");
  ck_assert_uint_le(r->body_len, o.max_body);
  ck_assert_uint_eq(r->body_len, o.max_body);
  ck_assert_uint_lt(r->wire_bytes, o.max_body);
  for(size_t i = 0; i < r->body_len; i += 4096)
    ck_assert_int_eq(r->body[i], 0);
  ck_assert(secs < 5.0);
  ck_assert_msg(rss1 - rss0 < 128 * 1024, "peak RSS grew by %ld KiB",
                rss1 - rss0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* A Content-Length over the cap is refused before the body is read. */
START_TEST(test_content_length_cap)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  o.max_body = 100;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "too_large");
  ck_assert_uint_le(r->body_len, 100);
  qw_fetch_result_free(r);
  /* Chunked (no Content-Length): the write callback stops it. */
  r = fetch1(&e, url_of(&e, "/chunked/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "too_large");
  ck_assert_uint_eq(r->body_len, 100);
  qw_fetch_result_free(r);
  /* Exactly at the cap is fine. */
  size_t len;
  free(site_file("item/1001.html", &len));
  o.max_body = len;
  r = fetch1(&e, url_of(&e, "/chunked/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_uint_eq(r->body_len, len);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* A connection broken mid-body: TCP reset, or a clean close short of the
 * Content-Length. */
START_TEST(test_reset_mid_body)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/reset"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "reset");
  ck_assert_int_eq(r->status, 200);
  ck_assert_uint_le(r->body_len, 2000);
  ck_assert_ptr_nonnull(r->error);
  qw_fetch_result_free(r);
  r = fetch1(&e, url_of(&e, "/close-early"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "reset");
  ck_assert_uint_eq(r->body_len, 1000);
  qw_fetch_result_free(r);
  /* The engine still works afterwards. */
  r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

START_TEST(test_connection_refused)
{
  env e;
  env_init_cfg(&e, NULL, 0);
  qw_fetch_opts o = base_opts();
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", qw_test_closed_port());
  double secs;
  qw_fetch_result *r = fetch1(&e, url, &o, &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "connect");
  ck_assert_int_eq(r->status, 0);
  ck_assert_ptr_nonnull(r->error);
  ck_assert(secs < 3.0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* DNS failure without sending a query: "nonexistent.invalid" would go to
 * the configured name server (off this machine), so the name used has a
 * 64-octet label, which the C library's resolver rejects (RFC 1035 limits labels
 * to 63) before building a query. Checked with strace: no socket but the
 * nscd probe. */
START_TEST(test_dns_failure)
{
  env e;
  env_init_cfg(&e, NULL, 0);
  qw_fetch_opts o = base_opts();
  char url[128];
  char label[65];
  memset(label, 'q', 64);
  label[64] = '\0';
  snprintf(url, sizeof(url), "http://%s.invalid/", label);
  double secs;
  qw_fetch_result *r = fetch1(&e, url, &o, &secs);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "dns");
  ck_assert_ptr_nonnull(r->error);
  ck_assert(secs < 5.0);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* TLS failures on loopback: a TLS handshake against the plain-HTTP server,
 * and a CA bundle that does not exist. */
START_TEST(test_tls_failure)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/", e.srv.port);
  qw_fetch_result *r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "tls");
  ck_assert_ptr_nonnull(r->error);
  qw_fetch_result_free(r);
  o.ca_path = "/nonexistent/qw-ca-bundle.pem";
  r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "tls");
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* A proxy that cannot be reached: http and socks5h. */
START_TEST(test_proxy_failure)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  char proxy[64];
  int port = qw_test_closed_port();
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
  o.proxy = proxy;
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "proxy");
  qw_fetch_result_free(r);
  snprintf(proxy, sizeof(proxy), "socks5h://127.0.0.1:%d", port);
  r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "proxy");
  qw_fetch_result_free(r);
  /* An empty proxy string means none (config style). */
  o.proxy = "";
  r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* IPv6 loopback: remote_ip "::1". */
START_TEST(test_ipv6)
{
  static const char *const addrs[] = { "::1", NULL };
  env e;
  memset(&e, 0, sizeof(e));
  ck_assert_int_eq(uv_loop_init(&e.loop), 0);
  env_handles(&e);
  start_server_args(&e, addrs, NULL);
  ck_assert_int_eq(qw_fetcher_new(&e.loop, NULL, &e.f), 0);
  qw_fetch_opts o = base_opts();
  char url[128];
  snprintf(url, sizeof(url), "http://[::1]:%d/robots.txt", e.srv.port);
  qw_fetch_result *r = fetch1(&e, url, &o, NULL);
  ck_assert_str_eq(qw_outcome_name(r->outcome), "ok");
  ck_assert_str_eq(r->remote_ip, "::1");
  ck_assert_ptr_nonnull(r->body);
  qw_fetch_result_free(r);
  env_finish(&e);
}
END_TEST

/* A name from /etc/hosts for 127.0.0.1 other than localhost (which curl
 * answers itself), so the threaded resolver runs without any query
 * leaving the machine: only when nsswitch.conf consults files first. */
static int hosts_name(char *name, size_t n)
{
  char line[512];
  int files_first = 0;
  FILE *f = fopen("/etc/nsswitch.conf", "r");
  if(!f)
    return -1;
  while(fgets(line, sizeof(line), f)) {
    char a[64], b[64];
    if(sscanf(line, "%63s %63s", a, b) == 2 && !strcmp(a, "hosts:"))
      files_first = !strcmp(b, "files");
  }
  fclose(f);
  if(!files_first || !(f = fopen("/etc/hosts", "r")))
    return -1;
  int found = -1;
  while(found && fgets(line, sizeof(line), f)) {
    char ip[64], h[3][128];
    int k = sscanf(line, "%63s %127s %127s %127s", ip, h[0], h[1], h[2]);
    if(k < 2 || strcmp(ip, "127.0.0.1") != 0)
      continue;
    for(int i = 0; i < k - 1 && found; i++) {
      size_t len = strlen(h[i]);
      if(h[i][0] == '#')
        break;
      if(!strcasecmp(h[i], "localhost") || len >= n ||
         (len > 10 && !strcasecmp(h[i] + len - 10, ".localhost")))
        continue;
      memcpy(name, h[i], len + 1);
      found = 0;
    }
  }
  fclose(f);
  return found;
}

/* Names resolved by curl's threaded resolver: its socketpair fds come and
 * go through the socket callback, many at once. */
START_TEST(test_resolver_path)
{
  char host[128];
  if(hosts_name(host, sizeof(host)) != 0) {
    fprintf(stderr, "test_resolver_path: no 127.0.0.1 name in /etc/hosts "
            "looked up before DNS; skipped\n");
    return;
  }
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  char url[256];
  snprintf(url, sizeof(url), "http://%s:%d/robots.txt", host, e.srv.port);
  got g[40];
  memset(g, 0, sizeof(g));
  for(int i = 0; i < 40; i++)
    ck_assert_int_eq(qw_fetch_start(e.f, url, &o, on_got, &g[i]), 0);
  for(int i = 0; i < 40; i++) {
    wait_for(&e, &g[i]);
    ck_assert_str_eq(qw_outcome_name(g[i].res->outcome), "ok");
    ck_assert_str_eq(g[i].res->remote_ip, "127.0.0.1");
    ck_assert_ptr_nonnull(g[i].res->body);
    qw_fetch_result_free(g[i].res);
  }
  env_finish(&e);
}
END_TEST

/* ===== concurrency ===== */

#define NCONC 200

typedef struct {
  got g[NCONC];
} many;

/* 200 transfers to /slow at once all complete, in about one /slow: none
 * waits for another (e.g. for the first response, to learn whether the
 * connection multiplexes). */
START_TEST(test_concurrent_200)
{
  static many m;
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  memset(&m, 0, sizeof(m));
  const char *url = url_of(&e, "/slow?ms=2000");
  double t0 = now_s();
  for(int i = 0; i < NCONC; i++) {
    ck_assert_int_eq(qw_fetch_start(e.f, url, &o, on_got, &m.g[i]), 0);
    ck_assert_int_eq(m.g[i].calls, 0);
  }
  ck_assert_uint_eq(qw_fetcher_active(e.f), NCONC);
  size_t left = NCONC;
  ck_assert_int_eq(uv_timer_start(&e.watchdog, on_watchdog, 60000, 0), 0);
  while(left && !e.expired) {
    uv_run(&e.loop, UV_RUN_ONCE);
    left = 0;
    for(int i = 0; i < NCONC; i++)
      left += m.g[i].calls == 0;
    ck_assert_uint_eq(qw_fetcher_active(e.f), left);
  }
  ck_assert_msg(!e.expired, "%zu transfers still running after 60 s", left);
  uv_timer_stop(&e.watchdog);
  double secs = now_s() - t0;
  for(int i = 0; i < NCONC; i++) {
    ck_assert_int_eq(m.g[i].calls, 1);
    ck_assert_str_eq(qw_outcome_name(m.g[i].res->outcome), "ok");
    qw_fetch_result_free(m.g[i].res);
  }
  /* Sequential would take 400 s, behind one first response 4 s. */
  ck_assert_msg(secs >= 2.0 && secs < 3.5, "200 × /slow took %.2f s", secs);
  long long peak = qw_httpd_counter(&e.srv, "127.0.0.1", "max_inflight");
  ck_assert_msg(peak >= NCONC / 2, "server saw at most %lld at once", peak);
  ck_assert_int_eq(qw_httpd_counter(&e.srv, "127.0.0.1", "/slow"), NCONC);
  env_finish(&e);
}
END_TEST

/* Runs the loop until the first n of m have their callback, or 60 s. */
static void run_until_done(env *e, many *m, int n)
{
  ck_assert_int_eq(uv_timer_start(&e->watchdog, on_watchdog, 60000, 0), 0);
  int left = n;
  while(left && !e->expired) {
    uv_run(&e->loop, UV_RUN_ONCE);
    left = 0;
    for(int i = 0; i < n; i++)
      left += m->g[i].calls == 0;
  }
  ck_assert_msg(!e->expired, "%d transfers still running after 60 s", left);
  uv_timer_stop(&e->watchdog);
}

#define BUDGET (1u << 20)
#define STREAM_CAP (256u << 10)

/* An engine with a body budget of BUDGET, its owner holding `owner` bytes,
 * and n /endless streams capped at STREAM_CAP started on it. */
static void start_streams(env *e, many *m, size_t owner, int n)
{
  qw_fetcher_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.body_budget = BUDGET;
  env_init_cfg(e, &cfg, 1);
  qw_fetch_opts o = base_opts();
  o.max_body = STREAM_CAP;
  /* the streams wait for each other on the budget, and a total timeout
   * counts from the start: 20 s was too short for all 30 on a loaded
   * 2-core machine (both test builds running) */
  o.total_timeout_ms = 90000;
  memset(m, 0, sizeof(*m));
  qw_fetcher_set_outside_bytes(e->f, owner);
  const char *url = url_of(e, "/endless");
  for(int i = 0; i < n; i++)
    ck_assert_int_eq(qw_fetch_start(e->f, url, &o, on_got, &m->g[i]), 0);
}

/* Every stream ended at its cap, whole. */
static void check_streams(many *m, int n)
{
  for(int i = 0; i < n; i++) {
    ck_assert_int_eq(m->g[i].calls, 1);
    ck_assert_str_eq(qw_outcome_name(m->g[i].res->outcome), "too_large");
    ck_assert_uint_eq(m->g[i].res->body_len, STREAM_CAP);
    qw_fetch_result_free(m->g[i].res);
  }
}

/* The body budget ([fetch] body_memory): transfers that are receiving
 * pause while the body buffers held pass it, and every transfer
 * completes: with nothing held by the owner one always runs; while the
 * owner holds the budget all wait, and go on when it gives bytes back. */
START_TEST(test_body_budget)
{
  static many m;
  env e;
  for(size_t owner = 0; owner <= BUDGET / 2; owner += BUDGET / 2) {
    start_streams(&e, &m, owner, 30);
    run_until_done(&e, &m, 30);
    check_streams(&m, 30);
    /* 30 bodies of 256 KiB streaming at once would be 7.5 MiB; over the
     * budget only a transfer that must run may add (a body, plus the
     * bytes curl hands over at once) */
    size_t peak = qw_fetcher_peak_body_bytes(e.f);
    ck_assert_msg(peak >= owner && peak <= BUDGET + STREAM_CAP + (64u << 10),
                  "peak %zu bytes of bodies held, budget %u", peak, BUDGET);
    env_finish(&e);
  }
  start_streams(&e, &m, BUDGET, 8);
  ck_assert_int_eq(uv_timer_start(&e.watchdog, on_watchdog, 500, 0), 0);
  while(!e.expired)
    uv_run(&e.loop, UV_RUN_ONCE);
  e.expired = 0;
  for(int i = 0; i < 8; i++)
    ck_assert_int_eq(m.g[i].calls, 0);
  ck_assert_uint_le(qw_fetcher_peak_body_bytes(e.f), BUDGET);
  qw_fetcher_set_outside_bytes(e.f, 0);
  run_until_done(&e, &m, 8);
  check_streams(&m, 8);
  env_finish(&e);
}
END_TEST

/* The per-host connection cap from the config is honoured; connections
 * are reused (keep-alive). */
START_TEST(test_host_connection_cap)
{
  qw_fetcher_config cfg = { .max_total_connections = 0,
                            .max_host_connections = 2, .max_connects = 8 };
  env e;
  env_init_cfg(&e, &cfg, 1);
  qw_fetch_opts o = base_opts();
  got g[10];
  memset(g, 0, sizeof(g));
  /* Each counter query is a connection of its own, counted too. */
  long long c0 = qw_httpd_counter(&e.srv, NULL, "connections_total");
  const char *url = url_of(&e, "/slow?ms=100");
  for(int i = 0; i < 10; i++)
    ck_assert_int_eq(qw_fetch_start(e.f, url, &o, on_got, &g[i]), 0);
  for(int i = 0; i < 10; i++)
    wait_for(&e, &g[i]);
  for(int i = 0; i < 10; i++) {
    ck_assert_str_eq(qw_outcome_name(g[i].res->outcome), "ok");
    qw_fetch_result_free(g[i].res);
  }
  long long c1 = qw_httpd_counter(&e.srv, NULL, "connections_total");
  ck_assert_int_eq(qw_httpd_counter(&e.srv, "127.0.0.1", "max_inflight"), 2);
  ck_assert_int_eq(c1 - c0 - 1, 2);
  env_finish(&e);
}
END_TEST

/* A callback may start the next transfer. */
typedef struct {
  env *e;
  int left;
  int calls;
  qw_fetch_opts *o;
} chain;

static void on_chain(qw_fetch_result *r, void *ud)
{
  chain *c = ud;
  events++;
  c->calls++;
  ck_assert_int_eq(r->outcome, QW_OUT_OK);
  qw_fetch_result_free(r);
  if(--c->left > 0) {
    int before = c->calls;
    ck_assert_int_eq(qw_fetch_start(c->e->f, url_of(c->e, "/robots.txt"),
                                    c->o, on_chain, c), 0);
    ck_assert_int_eq(c->calls, before);
  }
}

START_TEST(test_start_from_callback)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  chain c = { &e, 20, 0, &o };
  long long c0 = qw_httpd_counter(&e.srv, NULL, "connections_total");
  ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/robots.txt"), &o,
                                  on_chain, &c), 0);
  RUN_UNTIL(&e, c.left == 0);
  ck_assert_int_eq(c.calls, 20);
  ck_assert_uint_eq(qw_fetcher_active(e.f), 0);
  /* One connection, reused (the counter queries are connections too). */
  long long c1 = qw_httpd_counter(&e.srv, NULL, "connections_total");
  ck_assert_int_eq(c1 - c0 - 1, 1);
  env_finish(&e);
}
END_TEST

/* ===== shutdown ===== */

static void stop_loop(uv_timer_t *t)
{
  uv_stop(t->loop);
}

/* Closing with transfers in flight: each callback once, "aborted"; done
 * once; nothing left on the loop (and, under ASan, nothing leaked). */
START_TEST(test_close_in_flight)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  got g[20];
  memset(g, 0, sizeof(g));
  for(int i = 0; i < 20; i++) {
    const char *path = i % 4 == 0 ? "/chunked/item/1001.html?ms=1000" :
                       i % 4 == 1 ?
                       "/drip?bytes=1000&ms=50" : "/slow?ms=10000";
    ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, path), &o, on_got,
                                    &g[i]), 0);
  }
  /* Let the transfers get going (connected, some mid-body). */
  uv_timer_t t;
  ck_assert_int_eq(uv_timer_init(&e.loop, &t), 0);
  ck_assert_int_eq(uv_timer_start(&t, stop_loop, 300, 0), 0);
  uv_run(&e.loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&t, NULL);
  ck_assert_uint_eq(qw_fetcher_active(e.f), 20);
  qw_fetcher_close(e.f, on_closed, &e);
  e.f = NULL;
  for(int i = 0; i < 20; i++) {
    ck_assert_int_eq(g[i].calls, 1);
    ck_assert_str_eq(qw_outcome_name(g[i].res->outcome), "error");
    ck_assert_str_eq(g[i].res->error, "aborted");
    qw_fetch_result_free(g[i].res);
  }
  ck_assert_int_eq(e.closed, 0); /* done comes from a close callback */
  env_finish(&e);
}
END_TEST

/* Closing before the loop ever ran (nothing connected yet), and closing an
 * idle engine with cached connections. */
START_TEST(test_close_before_run)
{
  env e;
  env_init(&e);
  qw_fetch_opts o = base_opts();
  got g[5];
  memset(g, 0, sizeof(g));
  for(int i = 0; i < 5; i++)
    ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/item/1001.html"), &o,
                                    on_got, &g[i]), 0);
  qw_fetcher_close(e.f, on_closed, &e);
  e.f = NULL;
  for(int i = 0; i < 5; i++) {
    ck_assert_int_eq(g[i].calls, 1);
    ck_assert_str_eq(g[i].res->error, "aborted");
    qw_fetch_result_free(g[i].res);
  }
  env_finish(&e);

  /* Idle, with a kept-alive connection in curl's cache. */
  env_init(&e);
  qw_fetch_result *r = fetch1(&e, url_of(&e, "/item/1001.html"), &o, NULL);
  ck_assert_int_eq(r->outcome, QW_OUT_OK);
  qw_fetch_result_free(r);
  env_finish(&e);

  /* Never used at all, no server. */
  env_init_cfg(&e, NULL, 0);
  env_finish(&e);
}
END_TEST

/* Closing from inside a completion callback while others are in flight. */
typedef struct {
  env *e;
  got g[6];
  int closer_calls;
} closer;

static void on_closer(qw_fetch_result *r, void *ud)
{
  closer *c = ud;
  events++;
  c->closer_calls++;
  ck_assert_int_eq(r->outcome, QW_OUT_OK);
  qw_fetch_result_free(r);
  qw_fetcher_close(c->e->f, on_closed, c->e);
  /* Closed: no new work is accepted, and a second close is ignored. */
  qw_fetch_opts o = base_opts();
  got g;
  memset(&g, 0, sizeof(g));
  ck_assert_int_eq(qw_fetch_start(c->e->f, url_of(c->e, "/"), &o, on_got,
                                  &g), -ECANCELED);
  qw_fetcher_close(c->e->f, on_closed, c->e);
  c->e->f = NULL;
}

START_TEST(test_close_from_callback)
{
  static closer c;
  env e;
  env_init(&e);
  memset(&c, 0, sizeof(c));
  c.e = &e;
  qw_fetch_opts o = base_opts();
  ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/robots.txt"), &o,
                                  on_closer, &c), 0);
  for(int i = 0; i < 6; i++)
    ck_assert_int_eq(qw_fetch_start(e.f, url_of(&e, "/slow?ms=10000"), &o,
                                    on_got, &c.g[i]), 0);
  RUN_UNTIL(&e, c.closer_calls != 0);
  for(int i = 0; i < 6; i++) {
    ck_assert_int_eq(c.g[i].calls, 1);
    ck_assert_str_eq(c.g[i].res->error, "aborted");
    qw_fetch_result_free(c.g[i].res);
  }
  env_finish(&e);
  ck_assert_int_eq(e.closed, 1);
}
END_TEST

static Suite *fetch_suite(void)
{
  Suite *s = suite_create("fetch");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_outcome_names);
  tcase_add_test(tc, test_plain_page);
  tcase_add_test(tc, test_content_encodings);
  tcase_add_test(tc, test_raw_bodies);
  tcase_add_test(tc, test_chunked);
  tcase_add_test(tc, test_request_headers);
  tcase_add_test(tc, test_conditional);
  tcase_add_test(tc, test_redirects_followed);
  tcase_add_test(tc, test_redirect_loop);
  tcase_add_test(tc, test_bad_redirect);
  tcase_add_test(tc, test_statuses);
  tcase_add_test(tc, test_low_speed);
  tcase_add_test(tc, test_total_timeout);
  tcase_add_test(tc, test_connect_timeout);
  tcase_add_test(tc, test_endless_capped);
  tcase_add_test(tc, test_bomb_capped);
  tcase_add_test(tc, test_content_length_cap);
  tcase_add_test(tc, test_reset_mid_body);
  tcase_add_test(tc, test_connection_refused);
  tcase_add_test(tc, test_dns_failure);
  tcase_add_test(tc, test_tls_failure);
  tcase_add_test(tc, test_proxy_failure);
  tcase_add_test(tc, test_ipv6);
  tcase_add_test(tc, test_resolver_path);
  tcase_add_test(tc, test_concurrent_200);
  tcase_add_test(tc, test_body_budget);
  tcase_add_test(tc, test_host_connection_cap);
  tcase_add_test(tc, test_start_from_callback);
  tcase_add_test(tc, test_close_in_flight);
  tcase_add_test(tc, test_close_before_run);
  tcase_add_test(tc, test_close_from_callback);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  /* The daemon ignores SIGPIPE (CURLOPT_NOSIGNAL leaves it to us). */
  signal(SIGPIPE, SIG_IGN);
  SRunner *sr = srunner_create(fetch_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
