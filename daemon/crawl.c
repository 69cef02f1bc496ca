/* crawl.c — per-host queues, admission, robots.txt and retries in front of
 * the transfer engine (see crawl.h).
 *
 * Every URL becomes a request queued on its host (key "host:port"). A pump,
 * run from a uv_idle_t whenever something changed and from one uv_timer_t
 * when the earliest delay or retry falls due, starts requests while the
 * global cap, the host's cap, the host's minimum delay and the resolver cap
 * allow. Before the first request to a host whose site obeys robots.txt the
 * pump fetches /robots.txt and parks the host until it is known. Callbacks
 * always run from the pump or from engine completions, never from inside
 * qw_crawl_add(). */
#include "crawl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"
#include "url.h"

#define ROBOTS_MAX_BYTES (512u * 1024u)
#define RETRY_AFTER_CAP_MS (3600u * 1000u)

typedef struct host host;

typedef struct req {
  struct req *next;
  char *url;
  char *path;           /* path and query, for robots */
  qw_crawl_cb cb;
  void *ud;
  host *h;
  int attempts;
  uint64_t queued_ms;   /* when it last entered a queue */
  uint64_t not_before;  /* retry time */
  double waited_s;
} req;

typedef enum { ROBOTS_UNKNOWN = 0, ROBOTS_FETCHING, ROBOTS_READY } robots_state;

struct host {
  host *hnext;          /* hash chain */
  host *bnext, *bprev;  /* busy list: hosts with queued requests */
  int busy;
  char *key;            /* "host:port" */
  char *origin;         /* "scheme://host:port" */
  char *name;           /* host name for [site] lookup */
  const qw_site *site;
  req *head, *tail;
  size_t active;
  int resolved;         /* a transfer completed: DNS is cached */
  uint64_t next_start;
  long delay_ms;
  robots_state rstate;
  qw_robots *robots;    /* NULL when READY means allow all */
  uint64_t robots_expiry;
  const char **headers; /* split site headers, NULL-terminated */
  char *headers_buf;
};

struct qw_crawl {
  uv_loop_t *loop;
  const qw_config *cfg;
  char *agent;
  qw_fetcher *fetcher;
  host **buckets;
  size_t n_buckets, n_hosts;
  host *busy;           /* circular list head */
  req *retry;           /* sorted by not_before */
  uv_timer_t timer;
  uv_idle_t idle;
  int closing;
  int handles_open;
  void (*closed_cb)(void *);
  void *closed_ud;
  size_t queued, active, retry_wait, done, resolving;
  size_t by_outcome[QW_OUT_COUNT];
  size_t max_host_active;
};

/* ---- hosts -------------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for(; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

static void host_free(host *h)
{
  qw_robots_free(h->robots);
  free(h->key);
  free(h->origin);
  free(h->name);
  free(h->headers);
  free(h->headers_buf);
  free(h);
}

/* Splits the site's "A: 1 | B: 2" headers into a NULL-terminated array. */
static int split_headers(host *h)
{
  const char *src = h->site->headers ? h->site->headers : "";
  size_t n = 1;
  for(const char *p = src; *p; p++)
    n += *p == '|';
  h->headers_buf = strdup(src);
  h->headers = calloc(n + 1, sizeof(*h->headers));
  if(!h->headers_buf || !h->headers)
    return -ENOMEM;
  size_t k = 0;
  char *save = NULL;
  for(char *t = strtok_r(h->headers_buf, "|", &save); t;
      t = strtok_r(NULL, "|", &save)) {
    while(*t == ' ' || *t == '\t')
      t++;
    char *e = t + strlen(t);
    while(e > t && (e[-1] == ' ' || e[-1] == '\t'))
      *--e = '\0';
    if(*t)
      h->headers[k++] = t;
  }
  h->headers[k] = NULL;
  return 0;
}

static int grow_buckets(qw_crawl *c)
{
  size_t nb = c->n_buckets ? c->n_buckets * 2 : 256;
  host **b = calloc(nb, sizeof(*b));
  if(!b)
    return -ENOMEM;
  for(size_t i = 0; i < c->n_buckets; i++) {
    host *h = c->buckets[i];
    while(h) {
      host *n = h->hnext;
      size_t k = hash_str(h->key) & (nb - 1);
      h->hnext = b[k];
      b[k] = h;
      h = n;
    }
  }
  free(c->buckets);
  c->buckets = b;
  c->n_buckets = nb;
  return 0;
}

static host *host_get(qw_crawl *c, const qw_url *u)
{
  char key[600];
  snprintf(key, sizeof(key), "%s:%d", u->host, u->port);
  if(c->n_buckets) {
    for(host *h = c->buckets[hash_str(key) & (c->n_buckets - 1)]; h;
        h = h->hnext)
      if(strcmp(h->key, key) == 0)
        return h;
  }
  if(c->n_hosts + 1 > c->n_buckets / 2 && grow_buckets(c) != 0)
    return NULL;
  host *h = calloc(1, sizeof(*h));
  if(!h)
    return NULL;
  char origin[700];
  int v6 = strchr(u->host, ':') != NULL;
  snprintf(origin, sizeof(origin), "%s://%s%s%s:%d", u->scheme,
           v6 ? "[" : "", u->host, v6 ? "]" : "", u->port);
  h->key = strdup(key);
  h->origin = strdup(origin);
  h->name = strdup(u->host);
  if(!h->key || !h->origin || !h->name) {
    host_free(h);
    return NULL;
  }
  h->site = qw_config_site(c->cfg, h->name);
  h->delay_ms = (long)h->site->host_delay_ms;
  if(split_headers(h) != 0) {
    host_free(h);
    return NULL;
  }
  size_t k = hash_str(key) & (c->n_buckets - 1);
  h->hnext = c->buckets[k];
  c->buckets[k] = h;
  c->n_hosts++;
  return h;
}

static void busy_add(qw_crawl *c, host *h)
{
  if(h->busy)
    return;
  h->busy = 1;
  if(!c->busy) {
    h->bnext = h->bprev = h;
    c->busy = h;
    return;
  }
  h->bnext = c->busy;
  h->bprev = c->busy->bprev;
  c->busy->bprev->bnext = h;
  c->busy->bprev = h;
}

static void busy_remove(qw_crawl *c, host *h)
{
  if(!h->busy)
    return;
  h->busy = 0;
  if(h->bnext == h) {
    c->busy = NULL;
  }
  else {
    h->bprev->bnext = h->bnext;
    h->bnext->bprev = h->bprev;
    if(c->busy == h)
      c->busy = h->bnext;
  }
  h->bnext = h->bprev = NULL;
}

static void host_push(qw_crawl *c, host *h, req *r, int front)
{
  r->next = NULL;
  if(front) {
    r->next = h->head;
    h->head = r;
    if(!h->tail)
      h->tail = r;
  }
  else {
    if(h->tail)
      h->tail->next = r;
    else
      h->head = r;
    h->tail = r;
  }
  r->queued_ms = uv_now(c->loop);
  c->queued++;
  busy_add(c, h);
}

static req *host_pop(qw_crawl *c, host *h)
{
  req *r = h->head;
  if(!r)
    return NULL;
  h->head = r->next;
  if(!h->head)
    h->tail = NULL;
  r->next = NULL;
  c->queued--;
  return r;
}

/* ---- completing requests ------------------------------------------------ */

static void req_free(req *r)
{
  free(r->url);
  free(r->path);
  free(r);
}

static void deliver(qw_crawl *c, req *r, qw_fetch_result *res, qw_outcome o)
{
  qw_crawl_result cr;
  memset(&cr, 0, sizeof(cr));
  cr.res = res;
  cr.outcome = o;
  cr.attempts = r->attempts;
  cr.site = r->h ? r->h->site : &c->cfg->site_defaults;
  cr.waited_s = r->waited_s;
  c->done++;
  if(o < QW_OUT_COUNT)
    c->by_outcome[o]++;
  r->cb(r->url, &cr, r->ud);
  req_free(r);
}

static void schedule_pump(qw_crawl *c);

static int contains_marker(const char *s, const char *markers)
{
  if(!s || !markers || !*markers)
    return 0;
  const char *m = markers;
  while(*m) {
    const char *e = strchr(m, '|');
    size_t len = e ? (size_t)(e - m) : strlen(m);
    if(len > 0 && memmem(s, strlen(s), m, len))
      return 1;
    if(!e)
      break;
    m = e + 1;
  }
  return 0;
}

static int is_retryable(const qw_fetch_result *res)
{
  switch(res->outcome) {
  case QW_OUT_TIMEOUT:
  case QW_OUT_CONNECT:
  case QW_OUT_RESET:
  case QW_OUT_HTTP_5XX:
  case QW_OUT_DNS:
    return 1;
  case QW_OUT_HTTP_4XX:
    return res->status == 408 || res->status == 429;
  default:
    return 0;
  }
}

static uint64_t backoff_ms(const qw_crawl *c, int attempts)
{
  uint64_t d = c->cfg->backoff_ms ? c->cfg->backoff_ms : 1;
  for(int i = 1; i < attempts && d < c->cfg->backoff_max_ms; i++)
    d *= 2;
  if(d > c->cfg->backoff_max_ms)
    d = c->cfg->backoff_max_ms;
  /* full jitter in [d/2, d] so many clients do not retry in step */
  uint64_t half = d / 2;
  return half + (half ? (uint64_t)rand() % (half + 1) : 0);
}

static void retry_insert(qw_crawl *c, req *r)
{
  req **pp = &c->retry;
  while(*pp && (*pp)->not_before <= r->not_before)
    pp = &(*pp)->next;
  r->next = *pp;
  *pp = r;
  c->retry_wait++;
}

typedef struct {
  qw_crawl *c;
  req *r;       /* NULL for a robots fetch */
  host *h;
} fetch_ctx;

static void on_page_done(qw_fetch_result *res, void *ud)
{
  fetch_ctx *fc = ud;
  qw_crawl *c = fc->c;
  req *r = fc->r;
  host *h = fc->h;
  free(fc);
  h->active--;
  c->active--;
  if(!h->resolved) {
    c->resolving--;
    if(res->outcome != QW_OUT_DNS)
      h->resolved = 1;
  }
  qw_outcome o = res->outcome;
  if(!c->closing && is_retryable(res) &&
     r->attempts < (int)c->cfg->max_attempts) {
    uint64_t wait = backoff_ms(c, r->attempts);
    if(res->retry_after_s > 0) {
      uint64_t ra = (uint64_t)res->retry_after_s * 1000u;
      if(ra > RETRY_AFTER_CAP_MS)
        ra = RETRY_AFTER_CAP_MS;
      if(ra > wait)
        wait = ra;
      /* the host asked everyone to slow down, not just this URL */
      uint64_t until = uv_now(c->loop) + ra;
      if(until > h->next_start)
        h->next_start = until;
    }
    r->not_before = uv_now(c->loop) + wait;
    qw_fetch_result_free(res);
    retry_insert(c, r);
    schedule_pump(c);
    return;
  }
  /* A redirect that ends on a login or verification page. */
  if(o == QW_OUT_OK && res->final_url && res->url &&
     strcmp(res->final_url, res->url) != 0) {
    if(contains_marker(res->final_url, h->site->login_url_markers))
      o = QW_OUT_LOGIN_WALL;
    else if(contains_marker(res->final_url, h->site->block_url_markers))
      o = QW_OUT_BLOCKED;
  }
  if(o == QW_OUT_HTTP_4XX && res->status == 401)
    o = QW_OUT_LOGIN_WALL;
  res->outcome = o;
  deliver(c, r, res, o);
  schedule_pump(c);
}

static void on_robots_done(qw_fetch_result *res, void *ud)
{
  fetch_ctx *fc = ud;
  qw_crawl *c = fc->c;
  host *h = fc->h;
  free(fc);
  h->active--;
  c->active--;
  if(!h->resolved) {
    c->resolving--;
    if(res->outcome != QW_OUT_DNS)
      h->resolved = 1;
  }
  uint64_t now = uv_now(c->loop);
  qw_robots_free(h->robots);
  h->robots = NULL;
  h->rstate = ROBOTS_READY;
  h->robots_expiry = now + (uint64_t)c->cfg->robots_ttl_s * 1000u;
  switch(res->outcome) {
  case QW_OUT_OK:
    if(qw_robots_parse(res->body ? res->body : "", res->body_len, c->agent,
                       &h->robots) != 0)
      h->robots = NULL;
    break;
  case QW_OUT_HTTP_4XX:
  case QW_OUT_GONE:
    h->robots = NULL; /* RFC 9309 §2.3.1.3: unavailable → allow all */
    break;
  case QW_OUT_HTTP_5XX:
    /* §2.3.1.4: unreachable → disallow all, for a while */
    h->robots = qw_robots_disallow_all();
    h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    break;
  default:
    /* Network errors: the pages themselves will fail with the real cause
     * and be retried; ask again soon. */
    h->robots = NULL;
    h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    break;
  }
  if(h->robots) {
    long cd = qw_robots_crawl_delay_ms(h->robots);
    if(cd > h->delay_ms)
      h->delay_ms = cd;
  }
  qw_fetch_result_free(res);
  schedule_pump(c);
}

static void fill_opts(const qw_crawl *c, const host *h, qw_fetch_opts *o)
{
  const qw_config *cfg = c->cfg;
  const qw_site *s = h->site;
  memset(o, 0, sizeof(*o));
  o->user_agent = s->user_agent;
  o->proxy = s->proxy && *s->proxy ? s->proxy : NULL;
  o->headers = h->headers;
  o->cookie = s->cookie && *s->cookie ? s->cookie : NULL;
  o->ca_path = cfg->ca_path && *cfg->ca_path ? cfg->ca_path : NULL;
  o->verify_tls = cfg->verify_tls;
  o->connect_timeout_ms = (long)cfg->connect_timeout_ms;
  o->total_timeout_ms = (long)cfg->timeout_ms;
  o->low_speed_bytes = (long)cfg->low_speed_bytes;
  o->low_speed_secs = (long)cfg->low_speed_secs;
  o->max_body = cfg->max_body;
  o->max_redirects = (int)cfg->max_redirects;
  o->http2 = cfg->http2;
}

static int start_transfer(qw_crawl *c, host *h, req *r)
{
  fetch_ctx *fc = malloc(sizeof(*fc));
  if(!fc)
    return -ENOMEM;
  fc->c = c;
  fc->r = r;
  fc->h = h;
  qw_fetch_opts o;
  fill_opts(c, h, &o);
  int rc;
  if(r) {
    r->attempts++;
    r->waited_s += (double)(uv_now(c->loop) - r->queued_ms) / 1000.0;
    rc = qw_fetch_start(c->fetcher, r->url, &o, on_page_done, fc);
  }
  else {
    char url[800];
    snprintf(url, sizeof(url), "%s/robots.txt", h->origin);
    o.max_body = ROBOTS_MAX_BYTES;
    rc = qw_fetch_start(c->fetcher, url, &o, on_robots_done, fc);
  }
  if(rc != 0) {
    free(fc);
    return rc;
  }
  if(!h->resolved && h->active == 0)
    c->resolving++;
  h->active++;
  c->active++;
  if(h->active > c->max_host_active)
    c->max_host_active = h->active;
  h->next_start = uv_now(c->loop) + (uint64_t)h->delay_ms;
  return 0;
}

/* ---- the pump ----------------------------------------------------------- */

static void move_due_retries(qw_crawl *c, uint64_t now)
{
  while(c->retry && c->retry->not_before <= now) {
    req *r = c->retry;
    c->retry = r->next;
    c->retry_wait--;
    host_push(c, r->h, r, 1);
  }
}

/* Starts what may start on host h; returns the earliest time something
 * else on h may start (UINT64_MAX when nothing is waiting for time). */
static uint64_t pump_host(qw_crawl *c, host *h, uint64_t now)
{
  const qw_site *s = h->site;
  while(h->head && c->active < c->cfg->concurrency) {
    if(h->active >= s->host_concurrency)
      return UINT64_MAX;
    if(!h->resolved && h->active == 0 &&
       c->resolving >= c->cfg->dns_concurrency)
      return UINT64_MAX;
    if(s->obey_robots &&
       (h->rstate != ROBOTS_READY || now >= h->robots_expiry)) {
      if(h->rstate == ROBOTS_FETCHING)
        return UINT64_MAX;
      if(h->active > 0)
        return UINT64_MAX; /* wait for the host to settle first */
      h->rstate = ROBOTS_FETCHING;
      if(start_transfer(c, h, NULL) != 0) {
        h->rstate = ROBOTS_READY;
        h->robots = NULL;
        h->robots_expiry = now + 1000;
      }
      return UINT64_MAX;
    }
    if(now < h->next_start)
      return h->next_start;
    req *r = host_pop(c, h);
    if(s->obey_robots && h->robots &&
       !qw_robots_allowed(h->robots, r->path)) {
      deliver(c, r, NULL, QW_OUT_BLOCKED_BY_ROBOTS);
      continue;
    }
    int rc = start_transfer(c, h, r);
    if(rc != 0) {
      qw_fetch_result *res = calloc(1, sizeof(*res));
      if(res) {
        res->url = strdup(r->url);
        res->outcome = QW_OUT_ERROR;
        res->error = strdup(strerror(-rc));
        res->retry_after_s = -1;
      }
      deliver(c, r, res, QW_OUT_ERROR);
    }
  }
  return UINT64_MAX;
}

static void on_timer(uv_timer_t *t);

static void pump(qw_crawl *c)
{
  if(c->closing)
    return;
  uint64_t now = uv_now(c->loop);
  move_due_retries(c, now);
  uint64_t wake = c->retry ? c->retry->not_before : UINT64_MAX;
  host *h = c->busy;
  size_t n = 0;
  /* one pass over the busy hosts; hosts emptied leave the list */
  size_t count = 0;
  for(host *x = c->busy; x; x = x->bnext) {
    count++;
    if(x->bnext == c->busy)
      break;
  }
  while(h && n < count && c->active < c->cfg->concurrency) {
    host *next = h->bnext;
    uint64_t w = pump_host(c, h, now);
    if(w < wake)
      wake = w;
    if(!h->head)
      busy_remove(c, h);
    h = c->busy ? next : NULL;
    n++;
  }
  if(c->busy && c->active < c->cfg->concurrency)
    c->busy = h ? h : c->busy; /* start the next pass where this one ended */
  if(wake != UINT64_MAX) {
    uint64_t d = wake > now ? wake - now : 1;
    uv_timer_start(&c->timer, on_timer, d, 0);
  }
}

static void on_idle(uv_idle_t *i)
{
  qw_crawl *c = i->data;
  uv_idle_stop(i);
  pump(c);
}

static void on_timer(uv_timer_t *t)
{
  pump(t->data);
}

static void schedule_pump(qw_crawl *c)
{
  if(!c->closing)
    uv_idle_start(&c->idle, on_idle);
}

/* ---- public ------------------------------------------------------------- */

int qw_crawl_new(uv_loop_t *loop, const qw_config *cfg, const char *agent,
                 qw_crawl **out)
{
  qw_crawl *c = calloc(1, sizeof(*c));
  if(!c)
    return -ENOMEM;
  c->loop = loop;
  c->cfg = cfg;
  c->agent = strdup(agent ? agent : "qingwang");
  if(!c->agent || grow_buckets(c) != 0) {
    free(c->agent);
    free(c->buckets);
    free(c);
    return -ENOMEM;
  }
  qw_fetcher_config fc;
  memset(&fc, 0, sizeof(fc));
  fc.max_total_connections = (long)cfg->concurrency;
  fc.max_connects = (long)cfg->concurrency;
  int rc = qw_fetcher_new(loop, &fc, &c->fetcher);
  if(rc != 0) {
    free(c->agent);
    free(c->buckets);
    free(c);
    return rc;
  }
  uv_timer_init(loop, &c->timer);
  uv_idle_init(loop, &c->idle);
  c->timer.data = c;
  c->idle.data = c;
  *out = c;
  return 0;
}

int qw_crawl_add(qw_crawl *c, const char *url, qw_crawl_cb cb, void *ud)
{
  if(c->closing)
    return -ECANCELED;
  qw_url u;
  if(!qw_url_is_fetchable(url) || qw_url_parse(url, strlen(url), &u) != 0)
    return -EINVAL;
  req *r = calloc(1, sizeof(*r));
  if(!r) {
    qw_url_free(&u);
    return -ENOMEM;
  }
  size_t pl = strlen(u.path ? u.path : "/") +
              (u.query ? strlen(u.query) + 1 : 0) + 1;
  r->path = malloc(pl);
  r->url = strdup(url);
  host *h = r->path && r->url ? host_get(c, &u) : NULL;
  if(!h) {
    qw_url_free(&u);
    req_free(r);
    return -ENOMEM;
  }
  snprintf(r->path, pl, "%s%s%s", u.path ? u.path : "/",
           u.query ? "?" : "", u.query ? u.query : "");
  qw_url_free(&u);
  r->cb = cb;
  r->ud = ud;
  r->h = h;
  host_push(c, h, r, 0);
  schedule_pump(c);
  return 0;
}

size_t qw_crawl_pending(const qw_crawl *c)
{
  return c->queued + c->retry_wait + c->active;
}

void qw_crawl_get_stats(const qw_crawl *c, qw_crawl_stats *st)
{
  memset(st, 0, sizeof(*st));
  st->queued = c->queued;
  st->active = c->active;
  st->retry_wait = c->retry_wait;
  st->done = c->done;
  memcpy(st->by_outcome, c->by_outcome, sizeof(st->by_outcome));
  st->hosts = c->n_hosts;
  st->max_host_active_seen = c->max_host_active;
}

static void fail_shutdown(qw_crawl *c, req *r)
{
  qw_fetch_result *res = calloc(1, sizeof(*res));
  if(res) {
    res->url = strdup(r->url);
    res->outcome = QW_OUT_ERROR;
    res->error = strdup("shutdown");
    res->retry_after_s = -1;
  }
  deliver(c, r, res, QW_OUT_ERROR);
}

static void on_handle_closed(uv_handle_t *hd)
{
  qw_crawl *c = hd->data;
  if(--c->handles_open > 0)
    return;
  for(size_t i = 0; i < c->n_buckets; i++) {
    host *h = c->buckets[i];
    while(h) {
      host *n = h->hnext;
      host_free(h);
      h = n;
    }
  }
  void (*cb)(void *) = c->closed_cb;
  void *ud = c->closed_ud;
  free(c->buckets);
  free(c->agent);
  free(c);
  if(cb)
    cb(ud);
}

static void on_fetcher_closed(void *ud)
{
  qw_crawl *c = ud;
  c->fetcher = NULL;
  c->handles_open = 2;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->idle, on_handle_closed);
}

void qw_crawl_close(qw_crawl *c, void (*done)(void *ud), void *ud)
{
  c->closing = 1;
  c->closed_cb = done;
  c->closed_ud = ud;
  uv_timer_stop(&c->timer);
  uv_idle_stop(&c->idle);
  while(c->retry) {
    req *r = c->retry;
    c->retry = r->next;
    c->retry_wait--;
    fail_shutdown(c, r);
  }
  while(c->busy) {
    host *h = c->busy;
    req *r;
    while((r = host_pop(c, h)) != NULL)
      fail_shutdown(c, r);
    busy_remove(c, h);
  }
  /* in-flight transfers complete with "aborted" through on_page_done */
  qw_fetcher_close(c->fetcher, on_fetcher_closed, c);
}
