/* test_crawl.c — the crawl layer (daemon/crawl.c) against the real loopback
 * server qw-test-httpd: per-host and global caps as the server saw them,
 * the minimum delay between starts, robots.txt (obeyed, cached, 404 → allow,
 * 5xx → disallow, per-site opt-out, Crawl-delay, agent groups), retries
 * with backoff and Retry-After, login/verification redirects, connection
 * and DNS failures, the resolver cap, and shutdown with work queued and in
 * flight. Every test runs its own loop and server and ends with the loop
 * closed cleanly (uv_loop_close() == 0) and the server exiting cleanly.
 *
 * The server's root is a temporary directory made by main(): links to the
 * fixture sites (tests/fixtures/sites/) plus a host, 127.0.0.5, whose
 * robots.txt is a sparse file over the server's 32 MiB cap, so asking for
 * it gives 500. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "crawl.h"
#include "qw_httpd_ctl.h"
#include "qw_test.h"

static char g_root[64]; /* the server root built by main() */

/* ===== helpers ===== */

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct env env;

/* One URL's completion as the crawl callback saw it. */
typedef struct {
  env *e;
  char url[512];
  int calls;
  qw_outcome outcome;
  int attempts;
  int had_res;
  long status;
  char error[128];
  char final_url[512];
  double t_done;
} got;

struct env {
  uv_loop_t loop;
  uv_timer_t watchdog;     /* keeps UV_RUN_ONCE from sleeping forever */
  qw_config cfg;
  qw_crawl *c;
  qw_httpd srv;
  size_t outstanding;      /* added and not yet called back */
  int closed;              /* qw_crawl_close done() calls */
  double t0;
};

static void on_watchdog(uv_timer_t *t)
{
  (void)t;
}

/* The base settings every test starts from (fast retries, no delay). */
static const char base_ini[] =
  "[fetch]\n"
  "concurrency = 64\n"
  "dns_concurrency = 8\n"
  "connect_timeout_ms = 5000\n"
  "timeout_ms = 20000\n"
  "max_attempts = 1\n"
  "backoff_ms = 50\n"
  "backoff_max_ms = 400\n"
  "host_concurrency = 4\n"
  "host_delay_ms = 0\n"
  "obey_robots = yes\n"
  "user_agent = qingwang-test/0.1 (+loopback)\n";

/* Fills cfg with the defaults, base_ini, then extra (may be NULL). */
static void cfg_load(qw_config *cfg, const char *extra)
{
  char err[512];
  ck_assert_int_eq(qw_config_init(cfg), 0);
  int rc = qw_config_load_buffer(cfg, "base.conf", base_ini,
                                 strlen(base_ini), err, sizeof(err));
  ck_assert_msg(rc == 0, "%s", err);
  if(extra) {
    rc = qw_config_load_buffer(cfg, "test.conf", extra, strlen(extra), err,
                               sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
  }
}

/* Starts the loop, the server on addrs (NULL = 127.0.0.1) and a crawler
 * with base_ini + extra. */
static void env_init(env *e, const char *const *addrs, const char *extra)
{
  memset(e, 0, sizeof(*e));
  ck_assert_int_eq(uv_loop_init(&e->loop), 0);
  ck_assert_int_eq(uv_timer_init(&e->loop, &e->watchdog), 0);
  ck_assert_int_eq(uv_timer_start(&e->watchdog, on_watchdog, 50, 50), 0);
  ck_assert_int_eq(qw_httpd_start(g_root, addrs, 90, &e->srv), 0);
  cfg_load(&e->cfg, extra);
  ck_assert_int_eq(qw_crawl_new(&e->loop, &e->cfg, "qingwang", &e->c), 0);
  ck_assert_ptr_nonnull(e->c);
  e->t0 = now_s();
}

static void on_crawled(const char *url, qw_crawl_result *r, void *ud)
{
  got *g = ud;
  g->calls++;
  g->t_done = now_s();
  ck_assert_str_eq(url, g->url);
  ck_assert_ptr_nonnull(r->site);
  g->outcome = r->outcome;
  g->attempts = r->attempts;
  g->had_res = r->res != NULL;
  if(r->res) {
    ck_assert_str_eq(r->res->url, url);
    g->status = r->res->status;
    snprintf(g->error, sizeof(g->error), "%s",
             r->res->error ? r->res->error : "");
    snprintf(g->final_url, sizeof(g->final_url), "%s",
             r->res->final_url ? r->res->final_url : "");
    qw_fetch_result_free(r->res);
  }
  g->e->outstanding--;
}

/* "http://ADDR:PORT/path" of the test server. */
static const char *url_at(env *e, const char *addr, const char *path)
{
  static char buf[8][512];
  static int i;
  i = (i + 1) % 8;
  return qw_httpd_url(&e->srv, addr, path, buf[i], sizeof(buf[i]));
}

/* Queues url; its callback must not run inside qw_crawl_add. */
static void add(env *e, got *g, const char *url)
{
  memset(g, 0, sizeof(*g));
  g->e = e;
  snprintf(g->url, sizeof(g->url), "%s", url);
  ck_assert_int_eq(qw_crawl_add(e->c, g->url, on_crawled, g), 0);
  ck_assert_int_eq(g->calls, 0);
  e->outstanding++;
}

/* Runs the loop until every added URL has been called back, at most
 * limit_s seconds (then the test fails: something hung). */
static void run_all(env *e, double limit_s)
{
  double end = now_s() + limit_s;
  while(e->outstanding > 0) {
    ck_assert_msg(now_s() < end, "%zu URL(s) still pending after %.0f s",
                  e->outstanding, limit_s);
    uv_run(&e->loop, UV_RUN_ONCE);
  }
  if(e->c)
    ck_assert_uint_eq(qw_crawl_pending(e->c), 0);
}

/* Runs the loop for about secs seconds. */
static void run_for(env *e, double secs)
{
  double end = now_s() + secs;
  while(now_s() < end)
    uv_run(&e->loop, UV_RUN_ONCE);
}

static void on_closed(void *ud)
{
  ((env *)ud)->closed++;
}

static void count_closed(void *ud)
{
  (*(int *)ud)++;
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

/* Closes the crawler (unless the test did), runs the loop dry, checks that
 * nothing was left open and the loop closes, stops the server. */
static void env_finish(env *e)
{
  if(e->c) {
    qw_crawl_close(e->c, on_closed, e);
    e->c = NULL;
  }
  uv_close((uv_handle_t *)&e->watchdog, NULL);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e->closed, 1);
  ck_assert_uint_eq(e->outstanding, 0);
  int left = 0;
  uv_walk(&e->loop, walk_cb, &left);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(left, 0);
  ck_assert_int_eq(uv_loop_close(&e->loop), 0);
  qw_config_free(&e->cfg);
  qw_httpd_stop(&e->srv);
  ck_assert_int_eq(e->srv.exit_status, 0);
}

static long long counter(env *e, const char *host, const char *name)
{
  long long v = qw_httpd_counter(&e->srv, host, name);
  ck_assert_msg(v >= 0, "counter %s/%s: %lld", host ? host : "-", name, v);
  return v;
}

static void assert_outcome(const got *g, const char *want)
{
  ck_assert_int_eq(g->calls, 1);
  ck_assert_msg(strcmp(qw_outcome_name(g->outcome), want) == 0,
                "%s: outcome %s (%s), want %s", g->url,
                qw_outcome_name(g->outcome), g->error, want);
}


static const char *const addr1[] = { "127.0.0.1", NULL };
static const char *const addr14[] = { "127.0.0.1", "127.0.0.4", NULL };

/* ===== admission ===== */

/* 40 slow pages on one host with host_concurrency 3: the server never has
 * more than 3 of our requests in flight for that host, and does have 3. */
START_TEST(test_host_cap)
{
  env e;
  env_init(&e, addr1, "[fetch]\nhost_concurrency = 3\n");
  static got g[40];
  for(int i = 0; i < 40; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=120&i=%d", i);
    add(&e, &g[i], url_at(&e, NULL, p));
  }
  ck_assert_uint_eq(qw_crawl_pending(e.c), 40);
  run_all(&e, 30);
  for(int i = 0; i < 40; i++) {
    assert_outcome(&g[i], "ok");
    ck_assert_int_eq(g[i].attempts, 1);
    ck_assert_int_eq(g[i].status, 200);
  }
  ck_assert_int_eq(counter(&e, "127.0.0.1", "max_inflight"), 3);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/slow"), 40);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  qw_crawl_stats st;
  qw_crawl_get_stats(e.c, &st);
  ck_assert_uint_eq(st.done, 40);
  ck_assert_uint_eq(st.by_outcome[QW_OUT_OK], 40);
  ck_assert_uint_eq(st.queued + st.active + st.retry_wait, 0);
  ck_assert_uint_eq(st.hosts, 1);
  ck_assert_uint_eq(st.max_host_active_seen, 3);
  /* 40 pages of 120 ms three at a time: at least 14 rounds. */
  ck_assert(now_s() - e.t0 >= 13 * 0.12);
  env_finish(&e);
}
END_TEST

static void two_hosts(const char *extra, long long want_global)
{
  env e;
  env_init(&e, addr14, extra);
  static got g[2][20];
  for(int i = 0; i < 20; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=150&i=%d", i);
    add(&e, &g[0][i], url_at(&e, "127.0.0.1", p));
    add(&e, &g[1][i], url_at(&e, "127.0.0.4", p));
  }
  run_all(&e, 30);
  for(int h = 0; h < 2; h++)
    for(int i = 0; i < 20; i++)
      assert_outcome(&g[h][i], "ok");
  long long m1 = counter(&e, "127.0.0.1", "max_inflight");
  long long m4 = counter(&e, "127.0.0.4", "max_inflight");
  ck_assert_int_ge(m1, 1);
  ck_assert_int_le(m1, 3);
  ck_assert_int_ge(m4, 1);
  ck_assert_int_le(m4, 3);
  ck_assert_int_eq(counter(&e, NULL, "max_inflight"), want_global);
  if(want_global == 6) {
    ck_assert_int_eq(m1, 3);
    ck_assert_int_eq(m4, 3);
  }
  /* 127.0.0.4 has no robots.txt: asked once, 404. */
  ck_assert_int_eq(counter(&e, "127.0.0.4", "/robots.txt"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.4", "status:404"), 1);
  env_finish(&e);
}

/* Two hosts capped independently (3 + 3 = 6 at once at the server), and
 * the global cap limiting the sum (4). */
START_TEST(test_two_hosts_independent)
{
  two_hosts("[fetch]\nhost_concurrency = 3\n", 6);
}
END_TEST

START_TEST(test_global_cap)
{
  two_hosts("[fetch]\nhost_concurrency = 3\nconcurrency = 4\n", 4);
}
END_TEST

/* concurrency = 1: the robots.txt fetches and the pages take turns. */
START_TEST(test_global_cap_one)
{
  env e;
  env_init(&e, addr14, "[fetch]\nconcurrency = 1\n");
  got g[6];
  for(int i = 0; i < 3; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=30&i=%d", i);
    add(&e, &g[2 * i], url_at(&e, "127.0.0.1", p));
    add(&e, &g[2 * i + 1], url_at(&e, "127.0.0.4", p));
  }
  run_all(&e, 20);
  for(int i = 0; i < 6; i++)
    assert_outcome(&g[i], "ok");
  ck_assert_int_eq(counter(&e, NULL, "max_inflight"), 1);
  env_finish(&e);
}
END_TEST

/* host_delay_ms = 100: ten quick pages on one host start ≥ 100 ms apart. */
START_TEST(test_host_delay)
{
  env e;
  env_init(&e, addr1, "[fetch]\nhost_delay_ms = 100\nobey_robots = no\n");
  got g[10];
  for(int i = 0; i < 10; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/item/1001.html?i=%d", i);
    add(&e, &g[i], url_at(&e, NULL, p));
  }
  run_all(&e, 20);
  double first = 1e18, last = 0;
  for(int i = 0; i < 10; i++) {
    assert_outcome(&g[i], "ok");
    if(g[i].t_done < first)
      first = g[i].t_done;
    if(g[i].t_done > last)
      last = g[i].t_done;
  }
  /* Nine gaps of 100 ms between the first start and the last. */
  ck_assert_msg(last - e.t0 >= 0.88, "10 pages in %.3f s", last - e.t0);
  ck_assert_msg(last - first >= 0.85, "spread %.3f s", last - first);
  ck_assert(last - e.t0 < 5.0);
  /* Quick pages 100 ms apart: never more than one at a time at the
   * server, but for a very slow machine. */
  ck_assert_int_le(counter(&e, "127.0.0.1", "max_inflight"), 2);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 0);
  env_finish(&e);
}
END_TEST

/* ===== robots.txt ===== */

/* Disallowed paths end as blocked_by_robots without a request; allowed
 * ones are fetched; robots.txt is asked for once. */
START_TEST(test_robots_disallow)
{
  env e;
  env_init(&e, addr1, NULL);
  got g[5];
  add(&e, &g[0], url_at(&e, NULL, "/cart/1.html"));
  add(&e, &g[1], url_at(&e, NULL, "/my/orders?tab=2"));
  add(&e, &g[2], url_at(&e, NULL, "/item/1001.html"));
  add(&e, &g[3], url_at(&e, NULL, "/cart/checkout.html?id=7"));
  add(&e, &g[4], url_at(&e, NULL, "/shop/"));
  run_all(&e, 20);
  assert_outcome(&g[0], "blocked_by_robots");
  assert_outcome(&g[1], "blocked_by_robots");
  assert_outcome(&g[3], "blocked_by_robots");
  for(int i = 0; i < 5; i += 1) {
    if(i == 2 || i == 4)
      continue;
    ck_assert_int_eq(g[i].attempts, 0);
    ck_assert_int_eq(g[i].had_res, 0);
  }
  assert_outcome(&g[2], "ok");
  assert_outcome(&g[4], "ok");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/cart/1.html"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/my/orders"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/cart/checkout.html"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "requests"), 3);
  qw_crawl_stats st;
  qw_crawl_get_stats(e.c, &st);
  ck_assert_uint_eq(st.by_outcome[QW_OUT_BLOCKED_BY_ROBOTS], 3);
  env_finish(&e);
}
END_TEST

/* 20 URLs of one host, queued together: one robots.txt request. */
START_TEST(test_robots_once)
{
  env e;
  env_init(&e, addr1, NULL);
  static got g[20];
  for(int i = 0; i < 20; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/item/100%d.html?spm=a%d", 1 + i % 2, i);
    add(&e, &g[i], url_at(&e, NULL, p));
  }
  run_all(&e, 20);
  for(int i = 0; i < 20; i++)
    assert_outcome(&g[i], "ok");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  /* Later URLs of the same host use the cached copy. */
  got more[3];
  add(&e, &more[0], url_at(&e, NULL, "/item/1001.html?late=1"));
  add(&e, &more[1], url_at(&e, NULL, "/cart/late.html"));
  add(&e, &more[2], url_at(&e, NULL, "/"));
  run_all(&e, 20);
  assert_outcome(&more[0], "ok");
  assert_outcome(&more[1], "blocked_by_robots");
  assert_outcome(&more[2], "ok");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  env_finish(&e);
}
END_TEST

/* robots.txt is asked for again once its cached copy expires. */
START_TEST(test_robots_ttl)
{
  env e;
  env_init(&e, addr1, NULL);
  e.cfg.robots_ttl_s = 1; /* below the config minimum, for the test */
  got g[3];
  add(&e, &g[0], url_at(&e, NULL, "/item/1001.html"));
  run_all(&e, 20);
  add(&e, &g[1], url_at(&e, NULL, "/item/1002.html"));
  run_all(&e, 20);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  run_for(&e, 1.2);
  add(&e, &g[2], url_at(&e, NULL, "/cart/2.html"));
  run_all(&e, 20);
  assert_outcome(&g[0], "ok");
  assert_outcome(&g[1], "ok");
  assert_outcome(&g[2], "blocked_by_robots");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 2);
  env_finish(&e);
}
END_TEST

/* No robots.txt (404) → everything allowed, even /private/ which the
 * server's default site would disallow. */
START_TEST(test_robots_404)
{
  static const char *const addrs[] = { "127.0.0.4", NULL };
  env e;
  env_init(&e, addrs, NULL);
  got g[2];
  add(&e, &g[0], url_at(&e, NULL, "/item/6001.html"));
  add(&e, &g[1], url_at(&e, NULL, "/private/a.html"));
  run_all(&e, 20);
  assert_outcome(&g[0], "ok");
  assert_outcome(&g[1], "gone");
  ck_assert_int_eq(g[1].status, 404);
  ck_assert_int_eq(g[1].attempts, 1);
  ck_assert_int_eq(counter(&e, "127.0.0.4", "/robots.txt"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.4", "/private/a.html"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.4", "status:404"), 2);
  env_finish(&e);
}
END_TEST

/* robots.txt answered with 500 → the whole host is disallowed. */
START_TEST(test_robots_5xx)
{
  static const char *const addrs[] = { "127.0.0.5", NULL };
  env e;
  env_init(&e, addrs, NULL);
  got g[3];
  add(&e, &g[0], url_at(&e, NULL, "/item/1.html"));
  add(&e, &g[1], url_at(&e, NULL, "/"));
  add(&e, &g[2], url_at(&e, NULL, "/item/2.html?x=1"));
  run_all(&e, 20);
  for(int i = 0; i < 3; i++) {
    assert_outcome(&g[i], "blocked_by_robots");
    ck_assert_int_eq(g[i].attempts, 0);
  }
  ck_assert_int_eq(counter(&e, "127.0.0.5", "/robots.txt"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.5", "status:500"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.5", "requests"), 1);
  env_finish(&e);
}
END_TEST

/* [site 127.0.0.1] obey_robots = no: disallowed paths are fetched and
 * robots.txt is never asked for; another host still obeys. */
START_TEST(test_obey_robots_no)
{
  static const char *const addrs[] = { "127.0.0.1", "127.0.0.2", NULL };
  env e;
  env_init(&e, addrs, "[site 127.0.0.1]\nobey_robots = no\n");
  got g[3];
  add(&e, &g[0], url_at(&e, "127.0.0.1", "/cart/1.html"));
  add(&e, &g[1], url_at(&e, "127.0.0.1", "/item/1001.html"));
  add(&e, &g[2], url_at(&e, "127.0.0.2", "/item/3001.html"));
  run_all(&e, 20);
  assert_outcome(&g[0], "gone");
  ck_assert_int_eq(g[0].attempts, 1);
  assert_outcome(&g[1], "ok");
  assert_outcome(&g[2], "blocked_by_robots");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/cart/1.html"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.2", "/robots.txt"), 1);
  ck_assert_int_eq(counter(&e, "127.0.0.2", "/item/3001.html"), 0);
  env_finish(&e);
}
END_TEST

/* 127.0.0.3's robots.txt disallows everything for "*" but lets the
 * "qingwang" group in with Crawl-delay: 1 and two disallowed paths. The
 * allowed pages start a second apart; the disallowed ones are answered at
 * once, without waiting for the delay. */
START_TEST(test_crawl_delay)
{
  static const char *const addrs[] = { "127.0.0.3", NULL };
  env e;
  env_init(&e, addrs, NULL);
  got g[5];
  add(&e, &g[0], url_at(&e, NULL, "/item/5001.html"));
  add(&e, &g[1], url_at(&e, NULL, "/index.html"));
  add(&e, &g[2], url_at(&e, NULL, "/search?q=%E9%9B%BE%E5%8C%96%E5%99%A8"));
  add(&e, &g[3], url_at(&e, NULL, "/item/5001.html?sku=2"));
  add(&e, &g[4], url_at(&e, NULL, "/member/orders"));
  run_all(&e, 20);
  assert_outcome(&g[0], "ok");
  assert_outcome(&g[1], "ok");
  assert_outcome(&g[3], "ok");
  assert_outcome(&g[2], "blocked_by_robots");
  assert_outcome(&g[4], "blocked_by_robots");
  double first = g[0].t_done, last = g[0].t_done;
  for(int i = 1; i < 4; i += 2) {
    if(g[i].t_done < first)
      first = g[i].t_done;
    if(g[i].t_done > last)
      last = g[i].t_done;
  }
  ck_assert_msg(last - first >= 1.9, "3 pages within %.3f s", last - first);
  ck_assert_msg(g[2].t_done < first + 0.5 && g[4].t_done < first + 0.5,
                "disallowed URLs waited for the crawl delay");
  ck_assert_int_eq(counter(&e, "127.0.0.3", "/search"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.3", "/member/orders"), 0);
  ck_assert_int_eq(counter(&e, "127.0.0.3", "max_inflight"), 1);
  env_finish(&e);
}
END_TEST

/* ===== retries ===== */

/* /flaky/2/…: two 503s (Retry-After: 1), then the page. Three attempts
 * get it; two give up with http_5xx. Two crawlers on one loop, one
 * setting each, run side by side. */
START_TEST(test_retry_flaky)
{
  env e;
  env_init(&e, addr1, "[fetch]\nmax_attempts = 3\n");
  qw_config cfg2;
  cfg_load(&cfg2, "[fetch]\nmax_attempts = 2\n");
  qw_crawl *c2 = NULL;
  ck_assert_int_eq(qw_crawl_new(&e.loop, &cfg2, "qingwang", &c2), 0);
  got a, b;
  add(&e, &a, url_at(&e, NULL, "/flaky/2/item/1001.html"));
  memset(&b, 0, sizeof(b));
  b.e = &e;
  snprintf(b.url, sizeof(b.url), "%s",
           url_at(&e, NULL, "/flaky/2/item/1002.html"));
  ck_assert_int_eq(qw_crawl_add(c2, b.url, on_crawled, &b), 0);
  e.outstanding++;
  run_all(&e, 20);
  assert_outcome(&a, "ok");
  ck_assert_int_eq(a.attempts, 3);
  ck_assert_int_eq(a.status, 200);
  ck_assert_msg(a.t_done - e.t0 >= 1.9, "3 attempts in %.3f s",
                a.t_done - e.t0);
  assert_outcome(&b, "http_5xx");
  ck_assert_int_eq(b.attempts, 2);
  ck_assert_int_eq(b.status, 503);
  ck_assert_msg(b.t_done - e.t0 >= 0.95, "2 attempts in %.3f s",
                b.t_done - e.t0);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/flaky/2/item/1001.html"), 3);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/flaky/2/item/1002.html"), 2);
  int closed2 = 0;
  qw_crawl_close(c2, count_closed, &closed2);
  env_finish(&e);
  ck_assert_int_eq(closed2, 1);
  qw_config_free(&cfg2);
}
END_TEST

/* Other 4xx are final at once; 408 and 5xx are retried up to
 * max_attempts. */
START_TEST(test_retry_statuses)
{
  env e;
  env_init(&e, addr1, "[fetch]\nmax_attempts = 3\n");
  static const struct {
    const char *path, *outcome;
    long status;
    int attempts;
  } cases[] = {
    {"/status/404", "gone", 404, 1},
    {"/status/410", "gone", 410, 1},
    {"/status/403", "http_4xx", 403, 1},
    {"/status/400", "http_4xx", 400, 1},
    {"/status/401", "login_wall", 401, 1},
    {"/status/408", "http_4xx", 408, 3},
    {"/status/500", "http_5xx", 500, 3},
    {"/status/502", "http_5xx", 502, 3},
  };
  enum { N = sizeof(cases) / sizeof(cases[0]) };
  got g[N];
  for(size_t i = 0; i < N; i++)
    add(&e, &g[i], url_at(&e, NULL, cases[i].path));
  run_all(&e, 20);
  for(size_t i = 0; i < N; i++) {
    assert_outcome(&g[i], cases[i].outcome);
    ck_assert_int_eq(g[i].status, cases[i].status);
    ck_assert_int_eq(g[i].attempts, cases[i].attempts);
    ck_assert_int_eq(counter(&e, "127.0.0.1", cases[i].path),
                     cases[i].attempts);
  }
  env_finish(&e);
}
END_TEST

/* 429 and 503 with Retry-After: 1 wait at least a second, although the
 * backoff alone (≤ 400 ms) would retry sooner. */
START_TEST(test_retry_after)
{
  env e;
  env_init(&e, addr14, "[fetch]\nmax_attempts = 2\n");
  got g[3];
  add(&e, &g[0], url_at(&e, "127.0.0.1", "/status/429?retry-after=1"));
  add(&e, &g[1], url_at(&e, "127.0.0.4", "/status/503?retry-after=1"));
  add(&e, &g[2], url_at(&e, "127.0.0.4", "/status/503"));
  run_all(&e, 20);
  assert_outcome(&g[0], "http_4xx");
  ck_assert_int_eq(g[0].status, 429);
  assert_outcome(&g[1], "http_5xx");
  ck_assert_int_eq(g[1].status, 503);
  assert_outcome(&g[2], "http_5xx");
  for(int i = 0; i < 3; i++)
    ck_assert_int_eq(g[i].attempts, 2);
  ck_assert_msg(g[0].t_done - e.t0 >= 0.95, "429 retried after %.3f s",
                g[0].t_done - e.t0);
  ck_assert_msg(g[1].t_done - e.t0 >= 0.95, "503 retried after %.3f s",
                g[1].t_done - e.t0);
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/status/429"), 2);
  ck_assert_int_eq(counter(&e, "127.0.0.4", "/status/503"), 4);
  env_finish(&e);
}
END_TEST

/* A Retry-After holds back the whole host, not only the URL that got it:
 * with one request at a time, the page queued behind a 503 with
 * Retry-After: 1 starts a second later. */
START_TEST(test_retry_after_holds_host)
{
  env e;
  env_init(&e, addr1, "[fetch]\nhost_concurrency = 1\n");
  got g[2];
  add(&e, &g[0], url_at(&e, NULL, "/status/503?retry-after=1"));
  add(&e, &g[1], url_at(&e, NULL, "/item/1001.html"));
  run_all(&e, 20);
  assert_outcome(&g[0], "http_5xx");
  ck_assert_int_eq(g[0].attempts, 1);
  assert_outcome(&g[1], "ok");
  ck_assert_msg(g[1].t_done - g[0].t_done >= 0.95,
                "next page %.3f s after the 503", g[1].t_done - g[0].t_done);
  env_finish(&e);
}
END_TEST

/* Nobody listening: connect, after max_attempts tries. */
START_TEST(test_connection_refused)
{
  env e;
  env_init(&e, addr1, "[fetch]\nmax_attempts = 3\n");
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/item/1001.html",
           qw_test_closed_port());
  got g;
  add(&e, &g, url);
  run_all(&e, 20);
  assert_outcome(&g, "connect");
  ck_assert_int_eq(g.attempts, 3);
  ck_assert_int_eq(g.status, 0);
  ck_assert(g.t_done - e.t0 < 5.0);
  env_finish(&e);
}
END_TEST

/* ===== classification ===== */

START_TEST(test_login_redirects)
{
  env e;
  env_init(&e, addr1, NULL);
  got g[5];
  add(&e, &g[0], url_at(&e, NULL, "/login-redirect"));
  add(&e, &g[1], url_at(&e, NULL, "/redirect-to?url=%2Fcaptcha%2Fslide"));
  add(&e, &g[2], url_at(&e, NULL, "/item/1001.html?from=login"));
  add(&e, &g[3], url_at(&e, NULL, "/redirect/2/item/1002.html"));
  add(&e, &g[4], url_at(&e, NULL, "/captcha"));
  run_all(&e, 20);
  assert_outcome(&g[0], "login_wall");
  ck_assert_ptr_nonnull(strstr(g[0].final_url, "/login?from="));
  assert_outcome(&g[1], "blocked");
  ck_assert_ptr_nonnull(strstr(g[1].final_url, "/captcha/slide"));
  /* "login" in a URL that was not redirected is not a login wall. */
  assert_outcome(&g[2], "ok");
  assert_outcome(&g[3], "ok");
  ck_assert_ptr_nonnull(strstr(g[3].final_url, "/item/1002.html"));
  /* Page content (the captcha text) is classified after decoding, not
   * here. */
  assert_outcome(&g[4], "ok");
  env_finish(&e);
}
END_TEST

/* ===== resolver cap ===== */

/* dns_concurrency = 1 with six hosts, one of which never resolves (a
 * 64-octet label the C library's resolver refuses without a query) and has
 * several URLs at once: every URL ends, the failing host with "dns" after
 * max_attempts, the others ok. */
START_TEST(test_dns_cap)
{
  static const char *const addrs[] = {
    "127.0.0.1", "127.0.0.4", "127.0.0.6", "127.0.0.7", "127.0.0.8", NULL
  };
  env e;
  env_init(&e, addrs, "[fetch]\ndns_concurrency = 1\nmax_attempts = 2\n");
  char label[65];
  memset(label, 'q', 64);
  label[64] = '\0';
  got bad[4];
  for(int i = 0; i < 4; i++) {
    char url[160];
    snprintf(url, sizeof(url), "http://%s.invalid/item/%d.html", label, i);
    add(&e, &bad[i], url);
  }
  static got g[5][3];
  for(int h = 0; h < 5; h++)
    for(int i = 0; i < 3; i++) {
      char p[64];
      snprintf(p, sizeof(p), "/index.html?i=%d", i);
      add(&e, &g[h][i], url_at(&e, addrs[h], p));
    }
  run_all(&e, 20);
  for(int i = 0; i < 4; i++) {
    assert_outcome(&bad[i], "dns");
    ck_assert_int_eq(bad[i].attempts, 2);
  }
  for(int h = 0; h < 5; h++)
    for(int i = 0; i < 3; i++)
      assert_outcome(&g[h][i], "ok");
  qw_crawl_stats st;
  qw_crawl_get_stats(e.c, &st);
  ck_assert_uint_eq(st.hosts, 6);
  ck_assert_uint_eq(st.by_outcome[QW_OUT_DNS], 4);
  env_finish(&e);
}
END_TEST

/* Host names that need resolving, through the test server as an HTTP
 * proxy (curl then resolves nothing; the crawl still counts each new name
 * as a lookup): with dns_concurrency = 2, eight new hosts with one slow
 * page each are started two at a time, as the server sees. */
START_TEST(test_dns_cap_names)
{
  env e;
  memset(&e, 0, sizeof(e));
  ck_assert_int_eq(uv_loop_init(&e.loop), 0);
  ck_assert_int_eq(uv_timer_init(&e.loop, &e.watchdog), 0);
  ck_assert_int_eq(uv_timer_start(&e.watchdog, on_watchdog, 50, 50), 0);
  ck_assert_int_eq(qw_httpd_start(g_root, addr1, 90, &e.srv), 0);
  char extra[256];
  snprintf(extra, sizeof(extra), "[fetch]\ndns_concurrency = 2\n"
           "[site *.shop.test]\nproxy = http://127.0.0.1:%d\n"
           "obey_robots = no\n", e.srv.port);
  cfg_load(&e.cfg, extra);
  ck_assert_int_eq(qw_crawl_new(&e.loop, &e.cfg, "qingwang", &e.c), 0);
  e.t0 = now_s();
  got g[8];
  for(int i = 0; i < 8; i++) {
    char url[128];
    snprintf(url, sizeof(url), "http://%c.shop.test/slow?ms=200", 'a' + i);
    add(&e, &g[i], url);
  }
  run_all(&e, 20);
  for(int i = 0; i < 8; i++) {
    assert_outcome(&g[i], "ok");
    char host[32];
    snprintf(host, sizeof(host), "%c.shop.test", 'a' + i);
    ck_assert_int_eq(counter(&e, host, "/slow"), 1);
  }
  ck_assert_int_eq(counter(&e, NULL, "max_inflight"), 2);
  ck_assert(now_s() - e.t0 >= 4 * 0.2 - 0.05);
  /* Once resolved, a host's next pages no longer wait for a slot. */
  ck_assert_int_eq(qw_httpd_reset(&e.srv), 0);
  got more[8];
  for(int i = 0; i < 8; i++) {
    char url[128];
    snprintf(url, sizeof(url), "http://%c.shop.test/slow?ms=200&again=1",
             'a' + i);
    add(&e, &more[i], url);
  }
  run_all(&e, 20);
  for(int i = 0; i < 8; i++)
    assert_outcome(&more[i], "ok");
  ck_assert_int_eq(counter(&e, NULL, "max_inflight"), 8);
  env_finish(&e);
}
END_TEST

/* Sixty hosts (made-up names through the proxy) with four URLs each, one
 * of them disallowed by robots.txt, under every cap at once: each host
 * asks for robots.txt once, never has more than two requests in flight,
 * the disallowed URLs are never requested, the global cap holds. */
START_TEST(test_many_hosts)
{
  enum { H = 60, U = 4 };
  env e;
  memset(&e, 0, sizeof(e));
  ck_assert_int_eq(uv_loop_init(&e.loop), 0);
  ck_assert_int_eq(uv_timer_init(&e.loop, &e.watchdog), 0);
  ck_assert_int_eq(uv_timer_start(&e.watchdog, on_watchdog, 50, 50), 0);
  ck_assert_int_eq(qw_httpd_start(g_root, addr1, 90, &e.srv), 0);
  char extra[256];
  snprintf(extra, sizeof(extra), "[fetch]\nconcurrency = 16\n"
           "dns_concurrency = 4\nhost_concurrency = 2\n"
           "host_delay_ms = 40\n"
           "[site *.shop.test]\nproxy = http://127.0.0.1:%d\n",
           e.srv.port);
  cfg_load(&e.cfg, extra);
  ck_assert_int_eq(qw_crawl_new(&e.loop, &e.cfg, "qingwang", &e.c), 0);
  e.t0 = now_s();
  static got g[H][U];
  for(int i = 0; i < U; i++)
    for(int h = 0; h < H; h++) {
      char url[128];
      if(i == 2)
        snprintf(url, sizeof(url), "http://s%d.shop.test/private/%d.html",
                 h, i);
      else
        snprintf(url, sizeof(url), "http://s%d.shop.test/slow?ms=%d&i=%d",
                 h, 20 + (h * 7 + i * 13) % 60, i);
      add(&e, &g[h][i], url);
    }
  run_all(&e, 40);
  for(int h = 0; h < H; h++) {
    char host[32];
    snprintf(host, sizeof(host), "s%d.shop.test", h);
    for(int i = 0; i < U; i++)
      assert_outcome(&g[h][i], i == 2 ? "blocked_by_robots" : "ok");
    ck_assert_int_eq(counter(&e, host, "/robots.txt"), 1);
    ck_assert_int_eq(counter(&e, host, "/slow"), U - 1);
    ck_assert_int_le(counter(&e, host, "max_inflight"), 2);
    char priv[32];
    snprintf(priv, sizeof(priv), "/private/%d.html", 2);
    ck_assert_int_eq(counter(&e, host, priv), 0);
  }
  ck_assert_int_le(counter(&e, NULL, "max_inflight"), 16);
  ck_assert_int_ge(counter(&e, NULL, "max_inflight"), 4);
  qw_crawl_stats st;
  qw_crawl_get_stats(e.c, &st);
  ck_assert_uint_eq(st.hosts, H);
  ck_assert_uint_eq(st.done, H * U);
  ck_assert_uint_eq(st.by_outcome[QW_OUT_BLOCKED_BY_ROBOTS], H);
  ck_assert_uint_le(st.max_host_active_seen, 2);
  env_finish(&e);
}
END_TEST

/* ===== adding and closing ===== */

START_TEST(test_add_invalid)
{
  env e;
  env_init(&e, addr1, NULL);
  static const char *const bad[] = {
    "ftp://127.0.0.1/item/1001.html", "mailto:shop@example.cn", "http://",
    "not a url", "/item/1001.html", "",
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_int_eq(qw_crawl_add(e.c, bad[i], on_crawled, NULL), -EINVAL);
  ck_assert_uint_eq(qw_crawl_pending(e.c), 0);
  run_for(&e, 0.1);
  env_finish(&e);
}
END_TEST

/* A callback adds the next URL: five pages one after another. */
typedef struct {
  env *e;
  got g[5];
  int next;
} chain;

static void on_chain(const char *url, qw_crawl_result *r, void *ud)
{
  chain *ch = ud;
  got *g = &ch->g[ch->next];
  g->e = ch->e;
  snprintf(g->url, sizeof(g->url), "%s", url);
  on_crawled(url, r, g);
  if(++ch->next < 5) {
    char p[64];
    snprintf(p, sizeof(p), "/item/1001.html?step=%d", ch->next);
    const char *u = url_at(ch->e, NULL, p);
    ck_assert_int_eq(qw_crawl_add(ch->e->c, u, on_chain, ch), 0);
    ch->e->outstanding++;
  }
}

START_TEST(test_add_from_callback)
{
  env e;
  env_init(&e, addr1, NULL);
  static chain ch;
  memset(&ch, 0, sizeof(ch));
  ch.e = &e;
  const char *u = url_at(&e, NULL, "/item/1001.html?step=0");
  ck_assert_int_eq(qw_crawl_add(e.c, u, on_chain, &ch), 0);
  e.outstanding++;
  run_all(&e, 20);
  ck_assert_int_eq(ch.next, 5);
  for(int i = 0; i < 5; i++)
    assert_outcome(&ch.g[i], "ok");
  ck_assert_int_eq(counter(&e, "127.0.0.1", "/robots.txt"), 1);
  env_finish(&e);
}
END_TEST

/* Close with URLs queued on two hosts, in flight, waiting for a retry and
 * waiting for robots.txt: every callback exactly once, queued ones with
 * "shutdown", in-flight ones "aborted"; nothing leaks, the loop closes. */
START_TEST(test_close_busy)
{
  static const char *const addrs[] = {
    "127.0.0.1", "127.0.0.4", "127.0.0.6", NULL
  };
  env e;
  env_init(&e, addrs, "[fetch]\nhost_concurrency = 2\nmax_attempts = 3\n"
           "[site 127.0.0.6]\nobey_robots = no\n");
  static got g[2][10];
  for(int i = 0; i < 10; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=5000&i=%d", i);
    add(&e, &g[0][i], url_at(&e, "127.0.0.1", p));
    add(&e, &g[1][i], url_at(&e, "127.0.0.4", p));
  }
  got retry;
  add(&e, &retry, url_at(&e, "127.0.0.6", "/status/503?retry-after=30"));
  /* Until both hosts have their two pages in flight and the 503 waits. */
  double end = now_s() + 10;
  qw_crawl_stats st;
  for(;;) {
    qw_crawl_get_stats(e.c, &st);
    if(st.active == 4 && st.retry_wait == 1)
      break;
    ck_assert_msg(now_s() < end, "active %zu retry %zu", st.active,
                  st.retry_wait);
    uv_run(&e.loop, UV_RUN_ONCE);
  }
  ck_assert_uint_eq(st.queued, 16);
  ck_assert_uint_eq(qw_crawl_pending(e.c), 21);
  qw_crawl *c = e.c;
  e.c = NULL;
  qw_crawl_close(c, on_closed, &e);
  ck_assert_int_eq(qw_crawl_add(c, url_at(&e, NULL, "/"), on_crawled, NULL),
                   -ECANCELED);
  uv_close((uv_handle_t *)&e.watchdog, NULL);
  uv_run(&e.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e.closed, 1);
  ck_assert_uint_eq(e.outstanding, 0);
  int aborted = 0, shutdown = 0;
  for(int h = 0; h < 2; h++)
    for(int i = 0; i < 10; i++) {
      assert_outcome(&g[h][i], "error");
      if(!strcmp(g[h][i].error, "aborted"))
        aborted++;
      else if(!strcmp(g[h][i].error, "shutdown"))
        shutdown++;
    }
  ck_assert_int_eq(aborted, 4);
  ck_assert_int_eq(shutdown, 16);
  assert_outcome(&retry, "error");
  ck_assert_str_eq(retry.error, "shutdown");
  ck_assert_int_eq(retry.attempts, 1);
  /* env_finish without a crawler: the loop and the server. */
  int left = 0;
  uv_walk(&e.loop, walk_cb, &left);
  uv_run(&e.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(left, 0);
  ck_assert_int_eq(uv_loop_close(&e.loop), 0);
  qw_config_free(&e.cfg);
  qw_httpd_stop(&e.srv);
  ck_assert_int_eq(e.srv.exit_status, 0);
}
END_TEST

/* Close before the loop ever ran: every URL gets "shutdown". */
START_TEST(test_close_before_run)
{
  env e;
  env_init(&e, addr1, NULL);
  got g[5];
  for(int i = 0; i < 5; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/item/1001.html?i=%d", i);
    add(&e, &g[i], url_at(&e, NULL, p));
  }
  env_finish(&e);
  for(int i = 0; i < 5; i++) {
    assert_outcome(&g[i], "error");
    ck_assert_str_eq(g[i].error, "shutdown");
    ck_assert_int_eq(g[i].attempts, 0);
  }
}
END_TEST

/* The first completion closes the crawler from inside its callback. */
typedef struct {
  env *e;
  int calls;
  int errors;
} closer;

static void on_close_first(const char *url, qw_crawl_result *r, void *ud)
{
  (void)url;
  closer *cl = ud;
  cl->calls++;
  cl->e->outstanding--;
  if(r->outcome == QW_OUT_ERROR)
    cl->errors++;
  qw_fetch_result_free(r->res);
  if(cl->e->c) {
    qw_crawl *c = cl->e->c;
    cl->e->c = NULL;
    qw_crawl_close(c, on_closed, cl->e);
  }
}

START_TEST(test_close_from_callback)
{
  env e;
  env_init(&e, addr1, "[fetch]\nhost_concurrency = 2\n");
  closer cl = { &e, 0, 0 };
  ck_assert_int_eq(qw_crawl_add(e.c, url_at(&e, NULL, "/slow?ms=10"),
                                on_close_first, &cl), 0);
  e.outstanding++;
  for(int i = 0; i < 6; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=3000&i=%d", i);
    ck_assert_int_eq(qw_crawl_add(e.c, url_at(&e, NULL, p), on_close_first,
                                  &cl), 0);
    e.outstanding++;
  }
  run_all(&e, 20);
  ck_assert_int_eq(cl.calls, 7);
  ck_assert_int_eq(cl.errors, 6);
  env_finish(&e);
}
END_TEST

static Suite *crawl_suite(void)
{
  Suite *s = suite_create("crawl");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_host_cap);
  tcase_add_test(tc, test_two_hosts_independent);
  tcase_add_test(tc, test_global_cap);
  tcase_add_test(tc, test_global_cap_one);
  tcase_add_test(tc, test_host_delay);
  tcase_add_test(tc, test_robots_disallow);
  tcase_add_test(tc, test_robots_once);
  tcase_add_test(tc, test_robots_ttl);
  tcase_add_test(tc, test_robots_404);
  tcase_add_test(tc, test_robots_5xx);
  tcase_add_test(tc, test_obey_robots_no);
  tcase_add_test(tc, test_crawl_delay);
  tcase_add_test(tc, test_retry_flaky);
  tcase_add_test(tc, test_retry_statuses);
  tcase_add_test(tc, test_retry_after);
  tcase_add_test(tc, test_retry_after_holds_host);
  tcase_add_test(tc, test_connection_refused);
  tcase_add_test(tc, test_login_redirects);
  tcase_add_test(tc, test_dns_cap);
  tcase_add_test(tc, test_dns_cap_names);
  tcase_add_test(tc, test_many_hosts);
  tcase_add_test(tc, test_add_invalid);
  tcase_add_test(tc, test_add_from_callback);
  tcase_add_test(tc, test_close_busy);
  tcase_add_test(tc, test_close_before_run);
  tcase_add_test(tc, test_close_from_callback);
  suite_add_tcase(s, tc);
  return s;
}

/* ===== the server root ===== */

/* Links every entry of dir src into dst (a directory). */
static int link_entries(const char *src, const char *dst)
{
  DIR *d = opendir(src);
  if(!d)
    return -1;
  struct dirent *de;
  int rc = 0;
  while(rc == 0 && (de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    char from[4608], to[4608];
    snprintf(from, sizeof(from), "%s/%s", src, de->d_name);
    snprintf(to, sizeof(to), "%s/%s", dst, de->d_name);
    rc = symlink(from, to);
  }
  closedir(d);
  return rc;
}

/* The server takes a host directory only when it is a real directory
 * (not a link to one), so each host gets a directory of links. */
static int make_root(void)
{
  snprintf(g_root, sizeof(g_root), "/tmp/qw-crawl-root-XXXXXX");
  if(!mkdtemp(g_root))
    return -1;
  const char *src = getenv("QW_SOURCE_DIR");
  if(!src)
    return -1;
  char sites[2048];
  snprintf(sites, sizeof(sites), "%s/tests/fixtures/sites", src);
  DIR *d = opendir(sites);
  if(!d)
    return -1;
  struct dirent *de;
  int rc = 0;
  while(rc == 0 && (de = readdir(d)) != NULL) {
    if(de->d_name[0] == '.')
      continue;
    char from[2400], to[400];
    struct stat st;
    snprintf(from, sizeof(from), "%s/%s", sites, de->d_name);
    snprintf(to, sizeof(to), "%s/%s", g_root, de->d_name);
    if(stat(from, &st) != 0)
      rc = -1;
    else if(S_ISDIR(st.st_mode))
      rc = mkdir(to, 0755) == 0 ? link_entries(from, to) : -1;
    else
      rc = symlink(from, to);
  }
  closedir(d);
  if(rc != 0)
    return -1;
  /* 127.0.0.5: robots.txt over the server's file cap → 500. Sparse, so it
   * takes no room. */
  char p[512];
  snprintf(p, sizeof(p), "%s/127.0.0.5", g_root);
  if(mkdir(p, 0755) != 0)
    return -1;
  snprintf(p, sizeof(p), "%s/127.0.0.5/robots.txt", g_root);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if(fd < 0)
    return -1;
  rc = ftruncate(fd, (off_t)33 << 20);
  close(fd);
  return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if(flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

static void remove_root(void)
{
  if(g_root[0] && strstr(g_root, "/tmp/qw-crawl-root-") == g_root)
    nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  if(make_root() != 0) {
    fprintf(stderr, "test_crawl: cannot build the server root in %s: %s\n",
            g_root, strerror(errno));
    remove_root();
    return 1;
  }
  SRunner *sr = srunner_create(crawl_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  remove_root();
  return failed ? 1 : 0;
}
