/* fetch.h — the transfer engine: libcurl's multi-socket API driven by one
 * libuv loop (a uv_poll_t per socket, one uv_timer_t for curl's timeout,
 * completions drained after every curl_multi_socket_action, poll errors
 * passed to curl, poll handles closed synchronously on CURL_POLL_REMOVE;
 * see ../shared/STYLE.md §1 and §5 for why each of these matters).
 *
 * One request = one transfer with its own options; the engine does no
 * politeness, robots or retries (crawl.h does). Everything here runs on the
 * loop thread; callbacks are called on the loop thread. */
#ifndef QW_FETCH_H
#define QW_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/* How a fetch ended. Names (qw_outcome_name) are an interface: they appear
 * in clues, logs and metrics. */
typedef enum {
  QW_OUT_OK = 0,          /* 2xx with a body */
  QW_OUT_NOT_MODIFIED,    /* 304 to a conditional request */
  QW_OUT_HTTP_4XX,        /* other 4xx (404/410 are GONE) */
  QW_OUT_HTTP_5XX,
  QW_OUT_GONE,            /* 404/410, "item removed" or soft-404 page */
  QW_OUT_BLOCKED,         /* block page, captcha, verification redirect */
  QW_OUT_LOGIN_WALL,      /* redirect to or page of a login form */
  QW_OUT_TIMEOUT,         /* connect, total or low-speed timeout */
  QW_OUT_DNS,
  QW_OUT_CONNECT,         /* refused, unreachable, reset before a reply */
  QW_OUT_TLS,             /* handshake or verification failure */
  QW_OUT_RESET,           /* connection broken mid-body */
  QW_OUT_TOO_LARGE,       /* body over the cap (decoded bytes) */
  QW_OUT_REDIRECT_LOOP,   /* more redirects than allowed */
  QW_OUT_BAD_REDIRECT,    /* redirect to a scheme other than http/https */
  QW_OUT_BLOCKED_BY_ROBOTS,
  QW_OUT_PROXY,           /* proxy failure */
  QW_OUT_ERROR,           /* anything else (message in error) */
  QW_OUT_COUNT
} qw_outcome;

const char *qw_outcome_name(qw_outcome o); /* "ok", "http_4xx", … */

/* Per-request options (the crawl layer fills them from config and the
 * site's overrides). Strings are copied by qw_fetch_start. */
typedef struct {
  const char *user_agent;
  const char *proxy;        /* "http://h:p", "socks5h://h:p", or NULL */
  const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
  const char *cookie;       /* "a=1; b=2" or NULL */
  const char *ca_path;      /* CA bundle file, NULL = system default */
  int verify_tls;           /* 1 = verify peer and host (default) */
  long connect_timeout_ms;
  long total_timeout_ms;
  long low_speed_bytes;     /* abort when slower than this … */
  long low_speed_secs;      /* … for this long */
  size_t max_body;          /* cap on decoded body bytes (with raw_body: on
                               the bytes received; qw_fetch_result_decode
                               applies it to the decoded ones) */
  int raw_body;             /* 1 = keep the body as it came: content_encoding
                               says how to decode it (on a worker thread,
                               with qw_fetch_result_decode) */
  int max_redirects;
  int http2;                /* 1 = offer HTTP/2 (ALPN) */
  const char *if_none_match;     /* conditional GET validators, or NULL */
  const char *if_modified_since;
} qw_fetch_opts;

typedef struct {
  char *url;                /* as requested */
  char *final_url;          /* after redirects */
  qw_outcome outcome;
  long status;              /* last HTTP status, 0 when none */
  char *error;              /* curl's message or ours, NULL when ok */
  char *headers;            /* raw header block of the final response */
  char *content_type;       /* Content-Type of the final response or NULL */
  char *content_encoding;   /* with raw_body: the Content-Encoding still to
                               undo ("gzip", "gzip, br"), else NULL */
  char *body;               /* decoded body (NUL-terminated), or NULL; with
                               raw_body and content_encoding set, the bytes
                               as received */
  size_t body_len;
  size_t wire_bytes;        /* bytes received before decoding */
  char remote_ip[64];
  long remote_port;
  char http_version[8];     /* "1.1", "2" */
  long redirects;
  long retry_after_s;       /* Retry-After in seconds, -1 when absent */
  double t_dns, t_connect, t_tls, t_ttfb, t_total; /* seconds */
  time_t fetched;           /* wall clock at completion */
} qw_fetch_result;

void qw_fetch_result_free(qw_fetch_result *r); /* frees members and r */

/* The codings a raw_body request offers (what qw_content_decode undoes). */
#define QW_FETCH_CODINGS "gzip, deflate, br, zstd"

/* Undoes r->content_encoding (any thread; nothing to do when it is NULL)
 * under max_body decoded bytes (0 = the engine's default). A body over
 * the cap becomes outcome too_large, a corrupt one outcome error, with
 * r->error saying why, as the engine reports them; either way the coding
 * is gone afterwards. Returns 0, or -ENOMEM (r unchanged). */
int qw_fetch_result_decode(qw_fetch_result *r, size_t max_body);

/* Called once per request with a result the callee owns (free it with
 * qw_fetch_result_free). */
typedef void (*qw_fetch_cb)(qw_fetch_result *res, void *ud);

typedef struct qw_fetcher qw_fetcher;

typedef struct {
  long max_total_connections;  /* CURLMOPT_MAX_TOTAL_CONNECTIONS */
  long max_host_connections;   /* CURLMOPT_MAX_HOST_CONNECTIONS, 0 = none */
  long max_connects;           /* connection cache size */
  /* Bytes of body buffers the engine and its owner may hold at once, 0 =
   * no limit. Over it, transfers that are receiving are paused (curl
   * keeps their data; they resume at three quarters). The owner reports
   * what it holds with qw_fetcher_set_outside_bytes() and must give it
   * back in time: while it holds bytes, every transfer may be paused (a
   * paused transfer still counts against its total timeout). Without
   * bytes held by the owner one transfer always runs. */
  size_t body_budget;
} qw_fetcher_config;

/* Creates an engine on loop. Returns 0 and *out, or a negative errno. */
int qw_fetcher_new(uv_loop_t *loop, const qw_fetcher_config *cfg,
                   qw_fetcher **out);

/* Starts fetching url. cb is called exactly once, later, on the loop
 * thread — never from inside this call. Returns 0, or a negative errno
 * (then cb is never called). */
int qw_fetch_start(qw_fetcher *f, const char *url, const qw_fetch_opts *o,
                   qw_fetch_cb cb, void *ud);

/* Transfers in flight. */
size_t qw_fetcher_active(const qw_fetcher *f);

/* The owner holds bytes of delivered bodies (e.g. queued for analysis):
 * counted against the body budget; paused transfers resume when there is
 * room. Call on the loop thread, not from a curl callback. */
void qw_fetcher_set_outside_bytes(qw_fetcher *f, size_t bytes);

/* The most body bytes held at once (engine and owner) so far. */
size_t qw_fetcher_peak_body_bytes(const qw_fetcher *f);

/* Aborts every transfer (their callbacks get outcome ERROR "aborted"),
 * cleans up curl and closes the engine's handles; done(ud) is called when
 * the last handle is closed, after which f is freed. */
void qw_fetcher_close(qw_fetcher *f, void (*done)(void *ud), void *ud);

#endif
