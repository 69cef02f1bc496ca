/* crawl.c — per-host queues, admission, robots.txt and retries in front of
 * the transfer engine (see crawl.h).
 *
 * Every URL becomes a request queued on its host (key "host:port"). A host
 * with queued requests is in exactly one place:
 *   ready    a FIFO of hosts that may start a transfer now (round robin);
 *   delayed  a min-heap by the time the host's minimum delay (or a
 *            Retry-After) lets it start again;
 *   dns_wait a FIFO of hosts waiting for a resolver slot;
 *   nowhere  waiting for an event of its own: a transfer of its own to end
 *            (host cap, robots.txt being fetched, its name being resolved).
 * Hosts are re-placed when something about them changes (a request added,
 * a transfer ended, robots.txt arrived, a resolver slot freed, their delay
 * ran out), so admission costs O(log hosts) per event, never a pass over
 * every host. The pump, run from a uv_idle_t after such changes and from
 * one uv_timer_t when the earliest delay or retry falls due, starts
 * transfers from the ready FIFO while the global cap allows.
 *
 * Requests a host's robots.txt disallows never take a slot or wait for a
 * delay: they go to a "decided" FIFO the pump delivers first. Callbacks
 * run from the pump, from engine completions or from qw_crawl_close, never
 * from inside qw_crawl_add(). */
#include "crawl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robots.h"
#include "url.h"

#define ROBOTS_MAX_BYTES (512u * 1024u)
#define RETRY_AFTER_CAP_MS (3600u * 1000u)
#define CRAWL_DELAY_CAP_MS 60000L  /* a longer Crawl-delay is cut to this */
#define NOT_IN_HEAP SIZE_MAX

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

/* Where a host is (see the top comment). */
typedef enum { AT_NOWHERE = 0, AT_READY, AT_DELAYED, AT_DNS_WAIT } host_at;

struct host {
  host *hnext;          /* hash chain */
  host *lnext, *lprev;  /* ready or dns_wait FIFO */
  size_t heap_pos;      /* index in the delayed heap, or NOT_IN_HEAP */
  host_at at;
  char *key;            /* "host:port" */
  char *origin;         /* "scheme://host:port" */
  char *name;           /* host name for [site] lookup */
  const qw_site *site;
  req *head, *tail;
  size_t active;        /* transfers in flight, robots.txt included */
  int resolved;         /* an IP literal, or a transfer got past DNS */
  int resolving;        /* a transfer of this host holds a resolver slot */
  int dns_woken;        /* taken off dns_wait: may pass those waiting */
  uint64_t next_start;
  long delay_ms;
  robots_state rstate;
  qw_robots *robots;    /* NULL when READY means allow all */
  uint64_t robots_expiry;
  const char **headers; /* split site headers, NULL-terminated */
  char *headers_buf;
};

typedef struct {
  host *head, *tail;
} host_fifo;

/* A binary min-heap of pointers; key() gives the order, set_pos() (may be
 * NULL) tells an element where it is so it can be removed from the
 * middle. */
typedef struct {
  void **v;
  size_t n, cap;
  uint64_t (*key)(const void *);
  void (*set_pos)(void *, size_t);
} heap;

struct qw_crawl {
  uv_loop_t *loop;
  const qw_config *cfg;
  char *agent;
  qw_fetcher *fetcher;
  host **buckets;
  size_t n_buckets, n_hosts;
  host_fifo ready, dns_wait;
  heap delayed;         /* hosts, by next_start */
  heap retry;           /* requests, by not_before */
  req *decided, *decided_tail; /* disallowed by robots, to deliver */
  uv_timer_t timer;
  uv_idle_t idle;
  uint64_t timer_due;   /* when the timer fires, UINT64_MAX = stopped */
  uint64_t rng;
  int closing;
  int held;             /* qw_crawl_hold: start no transfers */
  int raw_bodies;       /* qw_crawl_raw_bodies */
  int handles_open;
  void (*closed_cb)(void *);
  void *closed_ud;
  size_t queued;        /* requests in host queues and in decided */
  size_t transfers;     /* transfers in flight, robots.txt included */
  size_t active;        /* requests in flight */
  size_t done, resolving;
  size_t by_outcome[QW_OUT_COUNT];
  size_t max_host_active;
};

static void schedule_pump(qw_crawl *c);

/* ---- heap --------------------------------------------------------------- */

static void heap_set(heap *hp, size_t i, void *x)
{
  hp->v[i] = x;
  if(hp->set_pos)
    hp->set_pos(x, i);
}

static void heap_up(heap *hp, size_t i)
{
  void *x = hp->v[i];
  uint64_t k = hp->key(x);
  while(i > 0) {
    size_t p = (i - 1) / 2;
    if(hp->key(hp->v[p]) <= k)
      break;
    heap_set(hp, i, hp->v[p]);
    i = p;
  }
  heap_set(hp, i, x);
}

static void heap_down(heap *hp, size_t i)
{
  void *x = hp->v[i];
  uint64_t k = hp->key(x);
  for(;;) {
    size_t l = 2 * i + 1, m = i;
    uint64_t mk = k;
    if(l < hp->n && hp->key(hp->v[l]) < mk) {
      m = l;
      mk = hp->key(hp->v[l]);
    }
    if(l + 1 < hp->n && hp->key(hp->v[l + 1]) < mk)
      m = l + 1;
    if(m == i)
      break;
    heap_set(hp, i, hp->v[m]);
    i = m;
  }
  heap_set(hp, i, x);
}

/* Makes room for n elements, so that pushing up to n never fails. */
static int heap_reserve(heap *hp, size_t n)
{
  if(n <= hp->cap)
    return 0;
  size_t nc = hp->cap ? hp->cap : 64;
  while(nc < n)
    nc *= 2;
  void **nv = realloc(hp->v, nc * sizeof(*nv));
  if(!nv)
    return -ENOMEM;
  hp->v = nv;
  hp->cap = nc;
  return 0;
}

static int heap_push(heap *hp, void *x)
{
  if(hp->n == hp->cap && heap_reserve(hp, hp->n + 1) != 0)
    return -ENOMEM;
  hp->v[hp->n++] = x;
  heap_up(hp, hp->n - 1);
  return 0;
}

static void *heap_top(const heap *hp)
{
  return hp->n ? hp->v[0] : NULL;
}

static void heap_remove(heap *hp, size_t i)
{
  void *x = hp->v[i];
  hp->n--;
  if(hp->set_pos)
    hp->set_pos(x, NOT_IN_HEAP);
  if(i == hp->n)
    return;
  void *last = hp->v[hp->n];
  heap_set(hp, i, last);
  if(i > 0 && hp->key(last) < hp->key(hp->v[(i - 1) / 2]))
    heap_up(hp, i);
  else
    heap_down(hp, i);
}

static uint64_t host_key(const void *x)
{
  return ((const host *)x)->next_start;
}

static void host_set_pos(void *x, size_t i)
{
  ((host *)x)->heap_pos = i;
}

static uint64_t req_key(const void *x)
{
  return ((const req *)x)->not_before;
}

/* ---- host FIFOs --------------------------------------------------------- */

static void fifo_append(host_fifo *f, host *h)
{
  h->lnext = NULL;
  h->lprev = f->tail;
  if(f->tail)
    f->tail->lnext = h;
  else
    f->head = h;
  f->tail = h;
}

static void fifo_unlink(host_fifo *f, host *h)
{
  if(h->lprev)
    h->lprev->lnext = h->lnext;
  else
    f->head = h->lnext;
  if(h->lnext)
    h->lnext->lprev = h->lprev;
  else
    f->tail = h->lprev;
  h->lnext = h->lprev = NULL;
}

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

/* 1 when name is an IPv4 or IPv6 literal (nothing to resolve). */
static int is_ip_literal(const char *name)
{
  unsigned char buf[16];
  return inet_pton(AF_INET, name, buf) == 1 ||
         inet_pton(AF_INET6, name, buf) == 1;
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
  h->heap_pos = NOT_IN_HEAP;
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
  h->resolved = is_ip_literal(h->name);
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

/* ---- placing hosts ------------------------------------------------------ */

static int obeys(const host *h)
{
  return h->site->obey_robots;
}

static int robots_needed(const host *h, uint64_t now)
{
  return obeys(h) && (h->rstate != ROBOTS_READY || now >= h->robots_expiry);
}

static void host_detach(qw_crawl *c, host *h)
{
  switch(h->at) {
  case AT_READY:
    fifo_unlink(&c->ready, h);
    break;
  case AT_DNS_WAIT:
    fifo_unlink(&c->dns_wait, h);
    break;
  case AT_DELAYED:
    heap_remove(&c->delayed, h->heap_pos);
    break;
  case AT_NOWHERE:
    break;
  }
  h->at = AT_NOWHERE;
}

/* Where h belongs now (AT_NOWHERE: idle, or waiting for its own event). */
static host_at host_state(const qw_crawl *c, const host *h, uint64_t now)
{
  if(!h->head)
    return AT_NOWHERE;
  int robots = robots_needed(h, now);
  if(robots && (h->rstate == ROBOTS_FETCHING || h->active > 0))
    return AT_NOWHERE; /* robots.txt first, alone */
  if(!robots && h->active >= h->site->host_concurrency)
    return AT_NOWHERE;
  if(!h->resolved) {
    if(h->resolving)
      return AT_NOWHERE; /* one lookup per host at a time */
    if(c->resolving >= c->cfg->dns_concurrency ||
       (c->dns_wait.head && !h->dns_woken))
      return AT_DNS_WAIT;
  }
  if(!robots && now < h->next_start)
    return AT_DELAYED;
  return AT_READY;
}

/* Takes h out of wherever it is and puts it where it belongs now. */
static void host_place(qw_crawl *c, host *h)
{
  if(c->closing)
    return;
  host_detach(c, h);
  host_at at = host_state(c, h, uv_now(c->loop));
  switch(at) {
  case AT_READY:
    fifo_append(&c->ready, h);
    schedule_pump(c);
    break;
  case AT_DNS_WAIT:
    fifo_append(&c->dns_wait, h);
    break;
  case AT_DELAYED:
    /* cannot fail: qw_crawl_add reserved a place for every host */
    heap_push(&c->delayed, h);
    schedule_pump(c); /* re-arm the timer */
    break;
  case AT_NOWHERE:
    break;
  }
  h->at = at;
}

/* Resolver slots were freed: let as many waiting hosts try. */
static void wake_dns_waiters(qw_crawl *c)
{
  if(c->closing)
    return;
  size_t cap = c->cfg->dns_concurrency;
  size_t free_slots = c->resolving < cap ? cap - c->resolving : 0;
  while(free_slots-- > 0 && c->dns_wait.head) {
    host *h = c->dns_wait.head;
    h->dns_woken = 1;
    host_place(c, h);
  }
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

/* A result that no transfer produced (error, shutdown). NULL when out of
 * memory: the callback then gets res == NULL. */
static qw_fetch_result *made_result(const char *url, const char *error)
{
  qw_fetch_result *res = calloc(1, sizeof(*res));
  if(!res)
    return NULL;
  res->url = strdup(url);
  res->outcome = QW_OUT_ERROR;
  res->error = strdup(error);
  res->retry_after_s = -1;
  return res;
}

static void decided_push(qw_crawl *c, req *r)
{
  r->next = NULL;
  if(c->decided_tail)
    c->decided_tail->next = r;
  else
    c->decided = r;
  c->decided_tail = r;
  c->queued++;
}

static req *decided_pop(qw_crawl *c)
{
  req *r = c->decided;
  if(r) {
    c->decided = r->next;
    if(!c->decided)
      c->decided_tail = NULL;
    r->next = NULL;
    c->queued--;
  }
  return r;
}

static int disallowed(const host *h, const req *r)
{
  return obeys(h) && h->rstate == ROBOTS_READY && h->robots &&
         !qw_robots_allowed(h->robots, r->path);
}

/* Moves h's queued requests that its robots.txt disallows to decided. */
static void filter_queue(qw_crawl *c, host *h)
{
  req **pp = &h->head;
  h->tail = NULL;
  while(*pp) {
    req *r = *pp;
    if(disallowed(h, r)) {
      *pp = r->next;
      c->queued--;
      decided_push(c, r);
      continue;
    }
    h->tail = r;
    pp = &r->next;
  }
  if(c->decided)
    schedule_pump(c);
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

static uint64_t next_rand(qw_crawl *c)
{
  /* xorshift64*: jitter only, not security */
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return c->rng * 2685821657736338717ull;
}

static uint64_t backoff_ms(qw_crawl *c, int attempts)
{
  uint64_t max = c->cfg->backoff_max_ms;
  uint64_t d = c->cfg->backoff_ms ? c->cfg->backoff_ms : 1;
  for(int i = 1; i < attempts && d < max; i++)
    d *= 2;
  if(d > max)
    d = max;
  /* jitter in [d/2, d] so many clients do not retry in step */
  uint64_t half = d / 2;
  return half + (half ? next_rand(c) % (half + 1) : 0);
}

typedef struct {
  qw_crawl *c;
  req *r;       /* NULL for a robots fetch */
  host *h;
  int dns;      /* this transfer holds a resolver slot */
} fetch_ctx;

/* Accounting common to every completion. */
static void transfer_ended(qw_crawl *c, fetch_ctx *fc,
                           const qw_fetch_result *res)
{
  host *h = fc->h;
  h->active--;
  c->transfers--;
  if(fc->r)
    c->active--;
  if(fc->dns) {
    c->resolving--;
    h->resolving = 0;
    if(res->outcome != QW_OUT_DNS)
      h->resolved = 1;
    wake_dns_waiters(c);
  }
}

static void on_page_done(qw_fetch_result *res, void *ud)
{
  fetch_ctx *fc = ud;
  qw_crawl *c = fc->c;
  req *r = fc->r;
  host *h = fc->h;
  transfer_ended(c, fc, res);
  free(fc);
  qw_outcome o = res->outcome;
  uint64_t now = uv_now(c->loop);
  uint64_t ra = 0;
  if(res->retry_after_s > 0 &&
     (res->status == 429 || (res->status >= 500 && res->status < 600))) {
    ra = (uint64_t)res->retry_after_s * 1000u;
    if(ra > RETRY_AFTER_CAP_MS)
      ra = RETRY_AFTER_CAP_MS;
    /* the host asked everyone to slow down, not just this URL */
    if(now + ra > h->next_start)
      h->next_start = now + ra;
  }
  if(!c->closing && is_retryable(res) &&
     r->attempts < (int)c->cfg->max_attempts) {
    uint64_t wait = backoff_ms(c, r->attempts);
    if(ra > wait)
      wait = ra;
    r->not_before = now + wait;
    /* cannot fail: qw_crawl_add reserved a place for every request */
    heap_push(&c->retry, r);
    qw_fetch_result_free(res);
    host_place(c, h);
    schedule_pump(c);
    return;
  }
  /* A redirect that ends on a login or verification page. */
  if(o == QW_OUT_OK && res->redirects > 0 && res->final_url) {
    if(qw_config_marker_in(h->site->login_url_markers, res->final_url,
                            strlen(res->final_url)))
      o = QW_OUT_LOGIN_WALL;
    else if(qw_config_marker_in(h->site->block_url_markers,
                                 res->final_url, strlen(res->final_url)))
      o = QW_OUT_BLOCKED;
  }
  if(o == QW_OUT_HTTP_4XX && res->status == 401)
    o = QW_OUT_LOGIN_WALL;
  res->outcome = o;
  deliver(c, r, res, o);
  host_place(c, h);
  schedule_pump(c);
}

static void on_robots_done(qw_fetch_result *res, void *ud)
{
  fetch_ctx *fc = ud;
  qw_crawl *c = fc->c;
  host *h = fc->h;
  transfer_ended(c, fc, res);
  free(fc);
  uint64_t now = uv_now(c->loop);
  qw_robots_free(h->robots);
  h->robots = NULL;
  h->rstate = ROBOTS_READY;
  h->robots_expiry = now + (uint64_t)c->cfg->robots_ttl_s * 1000u;
  switch(res->outcome) {
  case QW_OUT_OK:
  case QW_OUT_TOO_LARGE: /* RFC 9309 §2.5: parse what fits the limit */
    if(res->body_len || res->outcome == QW_OUT_OK) {
      if(qw_robots_parse(res->body ? res->body : "", res->body_len,
                         c->agent, &h->robots) != 0) {
        /* no memory to keep the rules: ask again soon, allow meanwhile */
        h->robots = NULL;
        h->robots_expiry = now + 1000u;
      }
      break;
    }
    h->robots = NULL;
    h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    break;
  case QW_OUT_HTTP_4XX:
  case QW_OUT_GONE:
    if(res->status == 429) {
      /* rate limited: treated as unreachable (below) */
      h->robots = qw_robots_disallow_all();
      h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    }
    else
      h->robots = NULL; /* RFC 9309 §2.3.1.3: unavailable → allow all */
    break;
  case QW_OUT_HTTP_5XX:
    /* §2.3.1.4: unreachable → disallow all, for a while */
    h->robots = qw_robots_disallow_all();
    h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    break;
  default:
    /* Network errors: the pages themselves will fail with the real cause
     * and be retried; ask again after robots_error_s. */
    h->robots = NULL;
    h->robots_expiry = now + (uint64_t)c->cfg->robots_error_s * 1000u;
    break;
  }
  h->delay_ms = (long)h->site->host_delay_ms;
  if(h->robots) {
    long cd = qw_robots_crawl_delay_ms(h->robots);
    if(cd > CRAWL_DELAY_CAP_MS)
      cd = CRAWL_DELAY_CAP_MS;
    if(cd > h->delay_ms)
      h->delay_ms = cd;
  }
  qw_fetch_result_free(res);
  if(!c->closing) {
    filter_queue(c, h);
    host_place(c, h);
    schedule_pump(c);
  }
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

/* Starts r (or, r NULL, the host's robots.txt). 0 or a negative errno. */
static int start_transfer(qw_crawl *c, host *h, req *r)
{
  fetch_ctx *fc = malloc(sizeof(*fc));
  if(!fc)
    return -ENOMEM;
  /* The loop's cached time may be a little behind: the next start is
   * counted from now, so the minimum delay is never cut short. */
  uv_update_time(c->loop);
  uint64_t now = uv_now(c->loop);
  fc->c = c;
  fc->r = r;
  fc->h = h;
  fc->dns = !h->resolved;
  qw_fetch_opts o;
  fill_opts(c, h, &o);
  int rc;
  if(r) {
    o.raw_body = c->raw_bodies;
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
  if(r) {
    r->attempts++;
    r->waited_s += (double)(now - r->queued_ms) / 1000.0;
    c->active++;
  }
  if(fc->dns) {
    h->resolving = 1;
    c->resolving++;
  }
  h->dns_woken = 0;
  h->active++;
  c->transfers++;
  if(h->active > c->max_host_active)
    c->max_host_active = h->active;
  h->next_start = now + (uint64_t)h->delay_ms;
  return 0;
}

/* ---- the pump ----------------------------------------------------------- */

/* Starts one transfer for a ready host (its robots.txt, or its next
 * request). */
static void step(qw_crawl *c, host *h, uint64_t now)
{
  if(robots_needed(h, now)) {
    h->rstate = ROBOTS_FETCHING;
    if(start_transfer(c, h, NULL) != 0) {
      /* cannot even ask: allow for now, ask again in a second */
      h->rstate = ROBOTS_READY;
      qw_robots_free(h->robots);
      h->robots = NULL;
      h->robots_expiry = now + 1000;
    }
    return;
  }
  req *r = host_pop(c, h);
  if(!r)
    return;
  if(disallowed(h, r)) {
    deliver(c, r, NULL, QW_OUT_BLOCKED_BY_ROBOTS);
    return;
  }
  int rc = start_transfer(c, h, r);
  if(rc != 0)
    deliver(c, r, made_result(r->url, strerror(-rc)), QW_OUT_ERROR);
}

static void on_timer(uv_timer_t *t);

static void pump(qw_crawl *c)
{
  if(c->closing)
    return;
  /* Requests already decided (disallowed by robots.txt). */
  req *r;
  while((r = decided_pop(c)) != NULL) {
    deliver(c, r, NULL, QW_OUT_BLOCKED_BY_ROBOTS);
    if(c->closing)
      return;
  }
  uint64_t now = uv_now(c->loop);
  /* Retries that fall due go to the front of their host's queue. */
  while((r = heap_top(&c->retry)) != NULL && r->not_before <= now) {
    heap_remove(&c->retry, 0);
    host_push(c, r->h, r, 1);
    if(r->h->at == AT_NOWHERE)
      host_place(c, r->h);
  }
  /* Hosts whose delay ran out. */
  host *h;
  while((h = heap_top(&c->delayed)) != NULL && h->next_start <= now)
    host_place(c, h);
  /* Hosts woken for a resolver slot may have gone elsewhere without
   * taking it: never leave others waiting on a free slot. */
  if(c->dns_wait.head && c->resolving < c->cfg->dns_concurrency)
    wake_dns_waiters(c);
  /* Round robin over the ready hosts while the global cap allows. A host
   * that still may start goes to the back of the FIFO. */
  while(!c->held && c->ready.head && c->transfers < c->cfg->concurrency) {
    h = c->ready.head;
    host_detach(c, h);
    /* The loop time moves on when a transfer starts (start_transfer):
     * decide with the same clock host_place() uses, or a host could be
     * "delayed" here and "ready" there, forever. */
    now = uv_now(c->loop);
    if(host_state(c, h, now) == AT_READY)
      step(c, h, now);
    if(c->closing)
      return;
    host_place(c, h);
  }
  /* Wake up for the earliest delay or retry. */
  now = uv_now(c->loop);
  uint64_t wake = UINT64_MAX;
  if((h = heap_top(&c->delayed)) != NULL)
    wake = h->next_start;
  if((r = heap_top(&c->retry)) != NULL && r->not_before < wake)
    wake = r->not_before;
  if(wake == UINT64_MAX) {
    uv_timer_stop(&c->timer);
    c->timer_due = UINT64_MAX;
  }
  else if(wake != c->timer_due || !uv_is_active((uv_handle_t *)&c->timer)) {
    uv_timer_start(&c->timer, on_timer, wake > now ? wake - now : 1, 0);
    c->timer_due = wake;
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
  qw_crawl *c = t->data;
  c->timer_due = UINT64_MAX;
  pump(c);
}

static void schedule_pump(qw_crawl *c)
{
  if(!c->closing)
    uv_idle_start(&c->idle, on_idle);
}

/* ---- public ------------------------------------------------------------- */

void qw_crawl_raw_bodies(qw_crawl *c, int on)
{
  c->raw_bodies = !!on;
}

void qw_crawl_set_outside_bytes(qw_crawl *c, size_t bytes)
{
  qw_fetcher_set_outside_bytes(c->fetcher, bytes);
}

size_t qw_crawl_peak_body_bytes(const qw_crawl *c)
{
  return qw_fetcher_peak_body_bytes(c->fetcher);
}

void qw_crawl_hold(qw_crawl *c, int hold)
{
  if(c->held == !!hold)
    return;
  c->held = !!hold;
  if(!hold)
    schedule_pump(c);
}

int qw_crawl_new(uv_loop_t *loop, const qw_config *cfg, const char *agent,
                 qw_crawl **out)
{
  qw_crawl *c = calloc(1, sizeof(*c));
  if(!c)
    return -ENOMEM;
  c->loop = loop;
  c->cfg = cfg;
  c->agent = strdup(agent ? agent : "qingwang");
  c->delayed.key = host_key;
  c->delayed.set_pos = host_set_pos;
  c->retry.key = req_key;
  c->timer_due = UINT64_MAX;
  c->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
  if(!c->rng)
    c->rng = 1;
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
  fc.body_budget = cfg->body_memory;
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
  if(!url || !cb)
    return -EINVAL;
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
  /* Room in the heaps for every host and every request, so that nothing
   * later (a delay, a retry) can fail for want of memory. */
  size_t reqs = c->queued + c->retry.n + c->active + 1;
  host *h = NULL;
  if(r->path && r->url && heap_reserve(&c->retry, reqs) == 0 &&
     heap_reserve(&c->delayed, c->n_hosts + 1) == 0)
    h = host_get(c, &u);
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
  uint64_t now = uv_now(c->loop);
  if(h->rstate == ROBOTS_READY && now < h->robots_expiry &&
     disallowed(h, r)) {
    r->queued_ms = now;
    decided_push(c, r);
    schedule_pump(c);
    return 0;
  }
  host_push(c, h, r, 0);
  if(h->at == AT_NOWHERE)
    host_place(c, h);
  return 0;
}

size_t qw_crawl_pending(const qw_crawl *c)
{
  return c->queued + c->retry.n + c->active;
}

void qw_crawl_get_stats(const qw_crawl *c, qw_crawl_stats *st)
{
  memset(st, 0, sizeof(*st));
  st->queued = c->queued;
  st->active = c->active;
  st->retry_wait = c->retry.n;
  st->done = c->done;
  memcpy(st->by_outcome, c->by_outcome, sizeof(st->by_outcome));
  st->hosts = c->n_hosts;
  st->max_host_active_seen = c->max_host_active;
}

static void fail_shutdown(qw_crawl *c, req *r)
{
  deliver(c, r, made_result(r->url, "shutdown"), QW_OUT_ERROR);
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
  free(c->delayed.v);
  free(c->retry.v);
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
  if(c->closing)
    return;
  c->closing = 1;
  c->closed_cb = done;
  c->closed_ud = ud;
  uv_timer_stop(&c->timer);
  uv_idle_stop(&c->idle);
  /* Forget where hosts wait: nothing is admitted any more. */
  c->ready.head = c->ready.tail = NULL;
  c->dns_wait.head = c->dns_wait.tail = NULL;
  c->delayed.n = 0;
  /* What is decided keeps its outcome; everything else waiting ends with
   * "shutdown". Callbacks may call qw_crawl_add (refused) but not free
   * anything of ours. */
  req *r;
  while((r = decided_pop(c)) != NULL)
    deliver(c, r, NULL, QW_OUT_BLOCKED_BY_ROBOTS);
  while(c->retry.n) {
    r = c->retry.v[0];
    heap_remove(&c->retry, 0);
    fail_shutdown(c, r);
  }
  for(size_t i = 0; i < c->n_buckets; i++)
    for(host *h = c->buckets[i]; h; h = h->hnext) {
      h->at = AT_NOWHERE;
      h->heap_pos = NOT_IN_HEAP;
      while((r = host_pop(c, h)) != NULL)
        fail_shutdown(c, r);
    }
  /* In-flight transfers complete with "aborted" through on_page_done. */
  qw_fetcher_close(c->fetcher, on_fetcher_closed, c);
}
