/* crawl.h — politeness and persistence in front of the transfer engine:
 * per-host queues, admission (a global cap, a per-host cap and a minimum
 * delay between request starts to one host, a cap on hosts being resolved
 * at once), robots.txt fetched once per host and cached with a TTL (RFC
 * 9309: 4xx → allow all, 5xx/unreachable → disallow all for a while),
 * Crawl-delay honoured when obeying (capped at 60 s), and retries with
 * exponential backoff and jitter for timeouts, connection errors, resets,
 * DNS failures, 5xx, 408 and 429 (Retry-After honoured, and it also holds
 * back the whole host), never for other 4xx. A redirect to a login or
 * verification URL is classified as login_wall / blocked here, a 401 as
 * login_wall; page content (captcha text, soft-404) is classified after
 * decoding.
 *
 * URLs that robots.txt disallows end as blocked_by_robots without a
 * request and without waiting for the host's delay or a slot. Host names
 * that are IP literals take no resolver slot; a name being resolved holds
 * one slot and its host starts nothing else until that lookup is over.
 *
 * Loop thread only. Settings come from the [fetch] and [site HOST]
 * sections of the config (config.h). */
#ifndef QW_CRAWL_H
#define QW_CRAWL_H

#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "fetch.h"

typedef struct {
  qw_fetch_result *res;  /* owned by the callee (qw_fetch_result_free);
                            NULL when no transfer was made (robots) */
  qw_outcome outcome;    /* final classification */
  int attempts;          /* transfers made for this URL */
  const qw_site *site;   /* the settings used (valid while the config
                            lives) */
  double waited_s;       /* time in queues before the last attempt */
} qw_crawl_result;

typedef void (*qw_crawl_cb)(const char *url, qw_crawl_result *r, void *ud);

typedef struct qw_crawl qw_crawl;

/* cfg must outlive the crawler. agent: robots.txt product token
 * ("qingwang"). */
int qw_crawl_new(uv_loop_t *loop, const qw_config *cfg, const char *agent,
                 qw_crawl **out);

/* Queues url. cb is called exactly once, later, on the loop thread (never
 * inside this call). Returns 0, or -EINVAL for a URL that is not http(s)
 * (or a NULL url/cb), -ENOMEM, -ECANCELED once qw_crawl_close was called;
 * then cb is never called. */
int qw_crawl_add(qw_crawl *c, const char *url, qw_crawl_cb cb, void *ud);

/* 1: page bodies are delivered as they came off the wire (res->content_
 * encoding set when still coded) for the receiver to decode with
 * qw_fetch_result_decode, off the loop thread; robots.txt is decoded here
 * as before. Default 0 (decoded bodies). */
void qw_crawl_raw_bodies(qw_crawl *c, int on);

/* Holds (1) or releases (0) the start of new transfers; those in flight
 * go on, and URLs decided without a request (robots) are still delivered.
 * For back-pressure: the caller holds while it cannot take more bodies. */
void qw_crawl_hold(qw_crawl *c, int hold);

/* The caller holds bytes of delivered bodies (waiting for analysis):
 * counted against [fetch] body_memory, which pauses transfers that are
 * receiving while the total is over it. */
void qw_crawl_set_outside_bytes(qw_crawl *c, size_t bytes);

/* The most body bytes held at once so far (transfers and caller). */
size_t qw_crawl_peak_body_bytes(const qw_crawl *c);

/* URLs queued, waiting for a retry, or in flight. */
size_t qw_crawl_pending(const qw_crawl *c);

/* Counters for progress lines and metrics: queued (including URLs already
 * decided as blocked_by_robots and not yet called back), active (URLs
 * in flight; robots.txt fetches are not counted), retry_wait, done. */
typedef struct {
  size_t queued, active, retry_wait, done;
  size_t by_outcome[QW_OUT_COUNT];
  size_t hosts, max_host_active_seen;
} qw_crawl_stats;
void qw_crawl_get_stats(const qw_crawl *c, qw_crawl_stats *st);

/* Stops: pending URLs get outcome "error" with "shutdown" (those already
 * decided keep blocked_by_robots), transfers are aborted ("aborted"),
 * handles closed; done(ud) (may be NULL) when everything is released,
 * after which c is freed. Callbacks run inside this call for the queued
 * URLs; they may call qw_crawl_add (refused) but not free the config.
 * May be called from a crawl callback; a second call does nothing. */
void qw_crawl_close(qw_crawl *c, void (*done)(void *ud), void *ud);

#endif
