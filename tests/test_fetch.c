/* test_fetch.c — the transfer engine (daemon/fetch.c) against the real
 * loopback server qw-test-httpd (tests/httpd/): decoding, redirects,
 * statuses, timeouts, caps, broken connections, DNS/TLS/proxy failures,
 * concurrency and shutdown. Every test starts its own server, runs its own
 * libuv loop and ends with the loop closed cleanly (nothing left for
 * uv_walk, uv_loop_close() == 0). No traffic leaves loopback. */
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
  int closed;               /* close callback calls */
} env;

/* One request's completion. */
typedef struct {
  qw_fetch_result *res;
  int calls;
  double t_start, t_done;
} got;

static void on_got(qw_fetch_result *r, void *ud)
{
  got *g = ud;
  g->calls++;
  if(g->res)
    qw_fetch_result_free(g->res); /* a second call: counted, and fails */
  g->res = r;
  g->t_done = now_s();
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

/* Runs the loop until g has its callback. */
static void wait_for(env *e, got *g)
{
  while(g->calls == 0)
    uv_run(&e->loop, UV_RUN_ONCE);
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

/* A loopback port nobody listens on. */
static int closed_port(void)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(s, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
  close(s);
  return ntohs(a.sin_port);
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
  ck_assert_str_eq(r->final_url, url_of(&e, "/item/1001.html"));
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
