/* qw_httpd_ctl.h — starts, queries and stops qw-test-httpd (tests/httpd/),
 * the misbehaving loopback HTTP server the fetcher's tests run against.
 *
 * Errors: every function returns 0 (or a value) or a negative errno and
 * prints why to stderr; none of them calls ck_assert, so they also work
 * outside Check. Wrap them: ck_assert_int_eq(qw_httpd_start(…), 0).
 *
 * Safety nets: the server is started with PR_SET_PDEATHSIG=SIGTERM, so it
 * dies with the test process even when a failed ck_assert skips
 * qw_httpd_stop, and with --max-seconds, so it never outlives a hung test.
 *
 * The binary is $QW_HTTPD (set by tests/httpd/meson.build), else
 * $QW_BUILD_DIR/tests/httpd/qw-test-httpd. */
#ifndef QW_HTTPD_CTL_H
#define QW_HTTPD_CTL_H

#include <stddef.h>
#include <sys/types.h>

#define QW_HTTPD_MAX_ADDRS 8

typedef struct {
  pid_t pid;                /* 0 when not running */
  int port;                 /* the port every address listens on */
  char addrs[QW_HTTPD_MAX_ADDRS][64]; /* listen addresses, as given */
  size_t naddrs;
  int exit_status;          /* after qw_httpd_stop: exit code, 128+signal
                             * when killed, -1 when unknown */
} qw_httpd;

/* Starts the server on root (a directory; see tests/httpd/README.md for
 * its layout) listening on the loopback addresses listen_addrs (NULL-
 * terminated; NULL or empty = "127.0.0.1"), all on one free port; it
 * exits by itself after max_seconds (0 = the server's default, 120).
 * Waits up to 15 s for its "PORT n" line. Returns 0 and fills *out, or a
 * negative errno (-EINVAL when the server refused its arguments, e.g. a
 * non-loopback address; -ETIMEDOUT; -ENOENT when the binary is missing). */
int qw_httpd_start(const char *root, const char *const *listen_addrs,
                   int max_seconds, qw_httpd *out);

/* Same with extra command-line arguments for the server (NULL-terminated,
 * e.g. {"--max-conns", "2", NULL}). */
int qw_httpd_start_args(const char *root, const char *const *listen_addrs,
                        int max_seconds, const char *const *extra,
                        qw_httpd *out);

/* SIGTERM, wait up to 10 s, then SIGKILL. Sets h->exit_status (0 means a
 * clean exit: no sanitizer report, loop closed) and h->pid = 0. Safe to
 * call twice or on a server that already exited. */
void qw_httpd_stop(qw_httpd *h);

/* Waits up to timeout_ms for the server to exit by itself (e.g. after
 * --max-seconds). Returns 0 and sets h->exit_status (3 after
 * --max-seconds) and h->pid = 0, or -ETIMEDOUT (still running). */
int qw_httpd_wait(qw_httpd *h, long timeout_ms);

/* "http://<addr>:<port><path>" into buf; addr NULL = the first listen
 * address. Returns buf (truncated to n bytes). */
char *qw_httpd_url(const qw_httpd *h, const char *addr, const char *path,
                   char *buf, size_t n);

/* GET /__stats (host NULL: the whole JSON document; else that Host's
 * object, zeros when the server never saw it). *json is malloc'd and
 * NUL-terminated; the caller frees it. Returns 0 or a negative errno. */
int qw_httpd_stats(const qw_httpd *h, const char *host, char **json);

/* One counter from /__stats?counter=name[&host=host]: with a host
 * "requests", "inflight", "max_inflight", "status:<code>" or a path
 * ("/slow"); without one also "connections_total",
 * "connections_current", "connections_refused", "requests_total",
 * "bad_requests", and a path summed over hosts. Returns the value (≥ 0)
 * or a negative errno. */
long long qw_httpd_counter(const qw_httpd *h, const char *host,
                           const char *name);

/* GET /__reset: clears every counter (and the /flaky counts). Returns 0
 * or a negative errno. */
int qw_httpd_reset(const qw_httpd *h);

#endif
