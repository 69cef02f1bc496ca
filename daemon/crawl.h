/* crawl.h — politeness and persistence in front of the transfer engine:
 * per-host queues, admission (a global cap, a per-host cap and a minimum
 * delay between request starts to one host, a cap on hosts being resolved
 * at once), robots.txt fetched once per host and cached with a TTL (RFC
 * 9309: 4xx → allow all, 5xx/unreachable → disallow all for a while),
 * Crawl-delay honoured when obeying, and retries with exponential backoff
 * and jitter for timeouts, connection errors, resets, 5xx, 408 and 429
 * (Retry-After honoured), never for other 4xx. A redirect to a login or
 * verification URL is classified as login_wall / blocked here; page
 * content (captcha text, soft-404) is classified after decoding.
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

/* Queues url. cb is called exactly once, later, on the loop thread.
 * Returns 0, or -EINVAL for a URL that is not http(s), -ENOMEM. */
int qw_crawl_add(qw_crawl *c, const char *url, qw_crawl_cb cb, void *ud);

/* URLs queued, waiting for a retry, or in flight. */
size_t qw_crawl_pending(const qw_crawl *c);

/* Counters for progress lines and metrics. */
typedef struct {
  size_t queued, active, retry_wait, done;
  size_t by_outcome[QW_OUT_COUNT];
  size_t hosts, max_host_active_seen;
} qw_crawl_stats;
void qw_crawl_get_stats(const qw_crawl *c, qw_crawl_stats *st);

/* Stops: pending URLs get outcome "error" with "shutdown", transfers are
 * aborted, handles closed; done(ud) when everything is released. */
void qw_crawl_close(qw_crawl *c, void (*done)(void *ud), void *ud);

#endif
