/* fetch.c — the transfer engine (see fetch.h): libcurl's multi-socket API
 * driven by one libuv loop.
 *
 * Wiring (cf. curl's docs/examples/multi-uv.c, with its known bugs fixed):
 * - one uv_poll_t per socket curl tells us about (CURLMOPT_SOCKETFUNCTION),
 *   stored with curl_multi_assign; on CURL_POLL_REMOVE it is stopped and
 *   closed right there, before curl closes the fd, so a reused fd number
 *   never meets a stale watcher;
 * - one uv_timer_t for curl's timeout (CURLMOPT_TIMERFUNCTION), 0 ms
 *   bumped to 1 ms so curl is never re-entered from its own callback;
 * - poll errors (libuv stops the handle on POLLERR and reports UV_EBADF)
 *   are passed to curl as CURL_CSELECT_ERR, and the handle is restarted if
 *   curl still wants the socket afterwards;
 * - completions are drained after every curl_multi_socket_action, the
 *   timer path included, and every CURLMcode is checked.
 * User callbacks run only after curl has returned (never inside a curl
 * callback, never inside qw_fetch_start), from the completion queue.
 *
 * Per transfer: the body cap is enforced in the write callback on decoded
 * bytes (CURLOPT_MAXFILESIZE in 7.88 only checks Content-Length), so a
 * compression bomb stops at the cap; the header block is reset at each new
 * status line, so it holds the final response only. */
#include "fetch.h"
#include "encoding.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_MAX_BODY ((size_t)8 << 20) /* when opts->max_body is 0 */
#define BODY_FIRST ((size_t)16 << 10)      /* first body allocation */
#define BODY_HINT_MAX ((size_t)1 << 20)    /* most taken on Content-Length's
                                              word before bytes arrive */
#define HEADERS_MAX ((size_t)256 << 10)    /* header block kept */
#define HEADERS_FIRST ((size_t)1024)
#define MAX_BODY_LIMIT ((size_t)1 << 40)   /* fits curl_off_t, no overflow */

typedef struct xfer xfer;
typedef struct sock_ctx sock_ctx;

/* One socket curl asked us to watch. Freed in its close callback. */
struct sock_ctx {
  uv_poll_t poll;
  qw_fetcher *f;
  curl_socket_t fd;
  int events;               /* UV_READABLE | UV_WRITABLE curl wants */
  int closed;               /* uv_close called */
  sock_ctx *prev, *next;    /* f->socks (open ones only) */
};

/* One transfer, from qw_fetch_start until its callback is called. */
struct xfer {
  qw_fetcher *f;
  CURL *easy;               /* NULL once finished */
  struct curl_slist *hdrs;  /* request headers; curl does not copy them */
  qw_fetch_result *res;     /* built up as data arrives */
  qw_fetch_cb cb;
  void *ud;
  size_t max_body;
  size_t body_cap;          /* bytes allocated for res->body */
  size_t hdr_len, hdr_cap;  /* res->headers */
  long long clen;           /* Content-Length of this response, -1 */
  int encoded;              /* this response has a Content-Encoding */
  int raw;                  /* qw_fetch_opts.raw_body */
  int too_large;            /* the write callback hit max_body */
  int oom;                  /* an allocation failed in a callback */
  int got_bytes;            /* any response byte arrived */
  int proxied;
  int paused;               /* on f's paused list (body budget) */
  size_t held;              /* body_cap as counted in f->held_bytes */
  char errbuf[CURL_ERROR_SIZE];
  xfer *prev, *next;        /* f->active, or f->done queue */
  xfer *pprev, *pnext;      /* f->paused_head list */
};

struct qw_fetcher {
  uv_loop_t *loop;
  CURLM *multi;             /* NULL after curl_multi_cleanup */
  uv_timer_t timer;         /* curl's timeout */
  xfer *active;             /* added to curl, doubly linked */
  xfer *done_head, *done_tail; /* finished, callbacks not yet called */
  size_t inflight;          /* started, callback not yet called */
  sock_ctx *socks;
  /* Body budget (qw_fetcher_config.body_budget): bytes of body buffers
   * held by transfers on curl (allocated, not only filled: a buffer is
   * sized from Content-Length), bytes the owner still holds
   * (outside_bytes), the transfers paused because the two together were
   * over the budget. */
  size_t body_budget, held_bytes, outside_bytes, peak_body_bytes;
  size_t n_active, n_paused;
  xfer *paused_head, *paused_tail;
  unsigned open_handles;    /* timer + poll handles not yet closed */
  int closing;
  void (*close_done)(void *ud);
  void *close_ud;
};

static const char *const outcome_names[QW_OUT_COUNT] = {
  "ok", "not_modified", "http_4xx", "http_5xx", "gone", "blocked",
  "login_wall", "timeout", "dns", "connect", "tls", "reset", "too_large",
  "redirect_loop", "bad_redirect", "blocked_by_robots", "proxy", "error",
};

const char *qw_outcome_name(qw_outcome o)
{
  if((int)o < 0 || o >= QW_OUT_COUNT)
    return "unknown";
  return outcome_names[o];
}

void qw_fetch_result_free(qw_fetch_result *r)
{
  if(!r)
    return;
  free(r->url);
  free(r->final_url);
  free(r->error);
  free(r->headers);
  free(r->content_type);
  free(r->content_encoding);
  free(r->body);
  free(r);
}

/* All Content-Encoding values of a header block, joined by ", " in the
 * order given (malloc'd), or NULL when there are none or out of memory. */
static char *content_codings(const char *h)
{
  char *out = NULL;
  size_t len = 0;
  while(h && *h) {
    const char *eol = strchr(h, '\n');
    size_t n = eol ? (size_t)(eol - h) : strlen(h);
    if(n > 17 && !strncasecmp(h, "content-encoding:", 17)) {
      const char *v = h + 17, *e = h + n;
      while(v < e && (*v == ' ' || *v == '\t'))
        v++;
      while(e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
      if(e > v) {
        char *o = realloc(out, len + (size_t)(e - v) + 3);
        if(!o) {
          free(out);
          return NULL;
        }
        out = o;
        if(len) {
          memcpy(out + len, ", ", 2);
          len += 2;
        }
        memcpy(out + len, v, (size_t)(e - v));
        len += (size_t)(e - v);
        out[len] = '\0';
      }
    }
    h = eol ? eol + 1 : NULL;
  }
  return out;
}


/* ===== engine teardown ===== */

static void maybe_free(qw_fetcher *f)
{
  if(!f->closing || f->open_handles)
    return;
  if(f->close_done)
    f->close_done(f->close_ud);
  free(f);
  curl_global_cleanup();
}

static void on_timer_closed(uv_handle_t *h)
{
  qw_fetcher *f = h->data;
  f->open_handles--;
  maybe_free(f);
}

static void on_sock_closed(uv_handle_t *h)
{
  sock_ctx *c = h->data;
  qw_fetcher *f = c->f;
  free(c);
  f->open_handles--;
  maybe_free(f);
}

/* Stops and closes a socket's poll handle now (its memory goes in the
 * close callback). */
static void sock_close(sock_ctx *c)
{
  if(c->closed)
    return;
  c->closed = 1;
  if(c->prev)
    c->prev->next = c->next;
  else
    c->f->socks = c->next;
  if(c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_sock_closed);
}

/* ===== completion ===== */

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static char *printf_dup(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *printf_dup(const char *fmt, ...)
{
  char tmp[CURL_ERROR_SIZE + 64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if(n < 0)
    return NULL;
  return strdup(tmp);
}

static int is_tls_error(CURLcode rc)
{
  switch(rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_USE_SSL_FAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return 1;
  default:
    return 0;
  }
}

/* The outcome of a transfer that curl ended with rc (CURLE_OK: decided by
 * the status). */
static qw_outcome classify(const xfer *x, CURLcode rc, long status,
                           long redirects, long proxy_err, long connect_code)
{
  if(x->proxied &&
     (proxy_err != 0 || connect_code >= 300 || rc == CURLE_COULDNT_CONNECT))
    return rc == CURLE_OPERATION_TIMEDOUT ? QW_OUT_TIMEOUT : QW_OUT_PROXY;
  switch(rc) {
  case CURLE_OK:
    break;
  case CURLE_OPERATION_TIMEDOUT:
    return QW_OUT_TIMEOUT;
  case CURLE_COULDNT_RESOLVE_HOST:
    return QW_OUT_DNS;
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_PROXY:
    return QW_OUT_PROXY;
  case CURLE_COULDNT_CONNECT:
    return QW_OUT_CONNECT;
  case CURLE_WRITE_ERROR:
    return x->too_large ? QW_OUT_TOO_LARGE : QW_OUT_ERROR;
  case CURLE_FILESIZE_EXCEEDED:
    return QW_OUT_TOO_LARGE;
  case CURLE_TOO_MANY_REDIRECTS:
    return QW_OUT_REDIRECT_LOOP;
  case CURLE_UNSUPPORTED_PROTOCOL:
    /* The URL we were given was http(s): refused after a 3xx. */
    return redirects > 0 || (status >= 300 && status < 400) ?
           QW_OUT_BAD_REDIRECT : QW_OUT_ERROR;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_PARTIAL_FILE:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return x->got_bytes ? QW_OUT_RESET : QW_OUT_CONNECT;
  default:
    return is_tls_error(rc) ? QW_OUT_TLS : QW_OUT_ERROR;
  }
  if(status == 304)
    return QW_OUT_NOT_MODIFIED;
  if(status == 404 || status == 410)
    return QW_OUT_GONE;
  if(status >= 200 && status < 300)
    return QW_OUT_OK;
  if(status >= 400 && status < 500)
    return QW_OUT_HTTP_4XX;
  if(status >= 500 && status < 600)
    return QW_OUT_HTTP_5XX;
  return QW_OUT_ERROR; /* 1xx, an unfollowed 3xx, or no status */
}

/* A Retry-After line in the final header block (curl reports 0 both for
 * "absent" and for "Retry-After: 0"). */
static int has_retry_after(const char *h, size_t len)
{
  static const char name[] = "retry-after:";
  const size_t nl = sizeof(name) - 1;
  size_t i = 0;
  while(i < len) {
    const char *eol = memchr(h + i, '\n', len - i);
    size_t end = eol ? (size_t)(eol - h) : len;
    if(end - i >= nl && strncasecmp(h + i, name, nl) == 0)
      return 1;
    i = end + 1;
  }
  return 0;
}

static double usecs(CURL *e, CURLINFO what)
{
  curl_off_t v = 0;
  if(curl_easy_getinfo(e, what, &v) != CURLE_OK || v < 0)
    return 0.0;
  return (double)v / 1e6;
}

/* Fills x->res from the easy handle once curl is done with it. msg, when
 * not NULL, overrides the outcome with QW_OUT_ERROR and that message. */
static void collect(xfer *x, CURLcode rc, const char *msg)
{
  qw_fetch_result *r = x->res;
  CURL *e = x->easy;
  char *s = NULL;
  long status = 0, redirects = 0, port = 0, ver = 0, perr = 0, ccode = 0;
  curl_off_t ra = 0, dl = 0;

  if(curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &s) == CURLE_OK && s)
    r->final_url = strdup(s);
  else
    r->final_url = dup_or_null(r->url);
  if(!r->final_url)
    x->oom = 1;
  if(x->raw && x->encoded && r->headers &&
     !(r->content_encoding = content_codings(r->headers)))
    x->oom = 1;
  s = NULL;
  if(curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &s) == CURLE_OK && s) {
    r->content_type = strdup(s);
    if(!r->content_type)
      x->oom = 1;
  }
  s = NULL;
  if(curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &s) == CURLE_OK && s)
    snprintf(r->remote_ip, sizeof(r->remote_ip), "%s", s);
  if(curl_easy_getinfo(e, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
    r->remote_port = port;
  if(curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
    status = 0;
  r->status = status;
  if(curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects) != CURLE_OK)
    redirects = 0;
  r->redirects = redirects;
  if(curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &ver) != CURLE_OK)
    ver = 0;
  snprintf(r->http_version, sizeof(r->http_version), "%s",
           ver == CURL_HTTP_VERSION_1_0 ? "1.0" :
           ver == CURL_HTTP_VERSION_1_1 ? "1.1" :
           ver == CURL_HTTP_VERSION_2_0 ? "2" :
           ver == CURL_HTTP_VERSION_3 ? "3" : "");
  r->retry_after_s = -1;
  if(curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
    r->retry_after_s = (long)ra;
  else if(r->headers && has_retry_after(r->headers, x->hdr_len))
    r->retry_after_s = 0;
  /* In 7.88 the download counter is bumped before content decoding, so
   * this is the final response's body as it came off the wire (encoded,
   * without chunk framing). */
  if(curl_easy_getinfo(e, CURLINFO_SIZE_DOWNLOAD_T, &dl) == CURLE_OK &&
     dl > 0)
    r->wire_bytes = (size_t)dl;
  if(curl_easy_getinfo(e, CURLINFO_PROXY_ERROR, &perr) != CURLE_OK)
    perr = 0;
  if(curl_easy_getinfo(e, CURLINFO_HTTP_CONNECTCODE, &ccode) != CURLE_OK)
    ccode = 0;
  r->t_dns = usecs(e, CURLINFO_NAMELOOKUP_TIME_T);
  r->t_connect = usecs(e, CURLINFO_CONNECT_TIME_T);
  r->t_tls = usecs(e, CURLINFO_APPCONNECT_TIME_T);
  r->t_ttfb = usecs(e, CURLINFO_STARTTRANSFER_TIME_T);
  r->t_total = usecs(e, CURLINFO_TOTAL_TIME_T);
  r->fetched = time(NULL);

  /* The body: NUL-terminated, NULL when empty, trimmed when much of the
   * allocation went unused (results may be held a while). */
  if(r->body_len == 0) {
    free(r->body);
    r->body = NULL;
  }
  else {
    r->body[r->body_len] = '\0';
    if(x->body_cap - (r->body_len + 1) > x->body_cap / 4) {
      char *b = realloc(r->body, r->body_len + 1);
      if(b)
        r->body = b;
    }
  }
  if(r->headers)
    r->headers[x->hdr_len] = '\0';

  if(msg) {
    r->outcome = QW_OUT_ERROR;
    r->error = strdup(msg);
  }
  else if(x->oom) {
    r->outcome = QW_OUT_ERROR;
    r->error = strdup("out of memory");
  }
  else {
    r->outcome = classify(x, rc, status, redirects, perr, ccode);
    if(r->outcome == QW_OUT_TOO_LARGE)
      r->error = printf_dup("body larger than %zu bytes", x->max_body);
    else if(rc != CURLE_OK)
      r->error = printf_dup("%s", x->errbuf[0] ? x->errbuf :
                            curl_easy_strerror(rc));
    else if(r->outcome == QW_OUT_ERROR)
      r->error = printf_dup("unexpected HTTP status %ld", status);
    else if(r->outcome != QW_OUT_OK && r->outcome != QW_OUT_NOT_MODIFIED)
      r->error = printf_dup("HTTP %ld", status);
  }
}

/* 1 when progress needs a transfer to run even over the budget: bodies
 * held on curl (only a transfer that finishes gives them up) or nothing
 * held by the owner (who would otherwise give bytes back). */
static int must_run_one(const qw_fetcher *f)
{
  return f->held_bytes > 0 || f->outside_bytes == 0;
}

static void paused_unlink(qw_fetcher *f, xfer *x)
{
  if(!x->paused)
    return;
  if(x->pprev)
    x->pprev->pnext = x->pnext;
  else
    f->paused_head = x->pnext;
  if(x->pnext)
    x->pnext->pprev = x->pprev;
  else
    f->paused_tail = x->pprev;
  x->pprev = x->pnext = NULL;
  x->paused = 0;
  f->n_paused--;
}

/* Body buffer bytes x no longer holds on curl (handed over). */
static void release_held(qw_fetcher *f, xfer *x)
{
  f->held_bytes -= x->held;
  x->held = 0;
}

static void xfer_unlink(qw_fetcher *f, xfer *x)
{
  paused_unlink(f, x);
  release_held(f, x);
  f->n_active--;
  if(x->prev)
    x->prev->next = x->next;
  else
    f->active = x->next;
  if(x->next)
    x->next->prev = x->prev;
  x->prev = x->next = NULL;
}

/* Takes x off curl and queues its callback. */
static void finish(xfer *x, CURLcode rc, const char *msg)
{
  qw_fetcher *f = x->f;
  collect(x, rc, msg);
  CURLMcode mrc = curl_multi_remove_handle(f->multi, x->easy);
  if(mrc != CURLM_OK && !x->res->error) {
    x->res->outcome = QW_OUT_ERROR;
    x->res->error = strdup(curl_multi_strerror(mrc));
  }
  curl_easy_cleanup(x->easy);
  x->easy = NULL;
  curl_slist_free_all(x->hdrs);
  x->hdrs = NULL;
  xfer_unlink(f, x);
  if(f->done_tail)
    f->done_tail->next = x;
  else
    f->done_head = x;
  f->done_tail = x;
}

/* Takes every transfer still on curl off it with msg as the error. */
static void finish_all(qw_fetcher *f, const char *msg)
{
  while(f->active)
    finish(f->active, CURLE_OK, msg);
}

/* Calls the queued callbacks. A callback may start transfers or close the
 * engine; f stays valid until its handles' close callbacks ran, which is
 * never inside this loop. */
static void deliver(qw_fetcher *f)
{
  xfer *x;
  while((x = f->done_head) != NULL) {
    f->done_head = x->next;
    if(!f->done_head)
      f->done_tail = NULL;
    f->inflight--;
    qw_fetch_result *r = x->res;
    qw_fetch_cb cb = x->cb;
    void *ud = x->ud;
    free(x);
    cb(r, ud);
  }
}

/* Moves every finished transfer from curl to the queue. */
static void drain(qw_fetcher *f)
{
  CURLMsg *m;
  int left;
  while(f->multi && (m = curl_multi_info_read(f->multi, &left)) != NULL) {
    if(m->msg != CURLMSG_DONE)
      continue;
    CURL *e = m->easy_handle;
    CURLcode rc = m->data.result;
    void *p = NULL;
    if(curl_easy_getinfo(e, CURLINFO_PRIVATE, &p) != CURLE_OK || !p) {
      /* Not ours: cannot happen, but never leave it on the multi. */
      curl_multi_remove_handle(f->multi, e);
      curl_easy_cleanup(e);
      continue;
    }
    finish(p, rc, NULL);
  }
}

/* After every curl_multi_socket_action: check its result, drain, call
 * back. CURLM_BAD_SOCKET (an event for a socket curl just dropped) is
 * harmless; anything else leaves curl's state unknown (a -1 from our
 * socket callback even marks the multi dead), so every transfer is ended
 * rather than left waiting forever. */
/* Resumes paused transfers, oldest first, while the bodies are under
 * three quarters of the budget, and one when none runs and one must
 * (paused transfers may hold the whole budget between them: then they
 * finish one at a time). Bytes the owner holds are waited for: it gives
 * them back with qw_fetcher_set_outside_bytes(). A resumed transfer may
 * pause again at once (curl hands it its bytes inside curl_easy_pause):
 * each transfer is tried once per call. */
static void resume_paused(qw_fetcher *f)
{
  size_t tries = f->n_paused;
  while(tries-- && f->paused_head && !f->closing && f->multi &&
        (!f->body_budget ||
         (f->n_active == f->n_paused && must_run_one(f)) ||
         f->held_bytes + f->outside_bytes <= f->body_budget / 4 * 3)) {
    xfer *x = f->paused_head;
    paused_unlink(f, x);
    /* Fails only for a handle curl no longer knows or out of memory: the
     * transfer then ends by its own total timeout. */
    if(curl_easy_pause(x->easy, CURLPAUSE_CONT) != CURLE_OK)
      continue;
  }
}

static void after_action(qw_fetcher *f, CURLMcode mrc)
{
  drain(f);
  if(mrc != CURLM_OK && mrc != CURLM_BAD_SOCKET && f->multi)
    finish_all(f, curl_multi_strerror(mrc));
  deliver(f);
  resume_paused(f);
}

/* ===== libuv → curl ===== */

static void on_timer(uv_timer_t *t)
{
  qw_fetcher *f = t->data;
  int running = 0;
  if(!f->multi)
    return;
  CURLMcode mrc = curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0,
                                           &running);
  after_action(f, mrc);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
  sock_ctx *c = h->data;
  qw_fetcher *f = c->f;
  int flags = 0, running = 0;
  if(!f->multi || c->closed)
    return;
  if(status < 0) {
    /* POLLERR: libuv has stopped the handle. Let curl read or write to
     * find the error itself (IN/OUT as it asked), flagged as an error. */
    flags = CURL_CSELECT_ERR;
    if(c->events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if(c->events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  else {
    if(events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if(events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  CURLMcode mrc = curl_multi_socket_action(f->multi, c->fd, flags,
                                           &running);
  after_action(f, mrc);
  /* c is still allocated (freed in its close callback, later). When curl
   * kept the socket after an error, watch it again: a stopped handle would
   * leave its transfer waiting until a timeout, or forever. */
  if(status < 0 && !c->closed && !f->closing &&
     !uv_is_active((uv_handle_t *)h)) {
    if(uv_poll_start(h, c->events, on_poll) != 0 && f->multi) {
      /* Cannot watch it: tell curl once more so it fails the transfer. */
      mrc = curl_multi_socket_action(f->multi, c->fd, CURL_CSELECT_ERR,
                                     &running);
      after_action(f, mrc);
    }
  }
}

/* ===== curl → libuv ===== */

static int cb_timer(CURLM *multi, long timeout_ms, void *userp)
{
  qw_fetcher *f = userp;
  (void)multi;
  if(timeout_ms < 0) {
    uv_timer_stop(&f->timer);
    return 0;
  }
  /* 0 becomes 1 ms (as in multi-uv.c): curl must not be called from
   * inside this callback, so the call always comes from the loop. */
  if(timeout_ms == 0)
    timeout_ms = 1;
  return uv_timer_start(&f->timer, on_timer, (uint64_t)timeout_ms, 0) == 0 ?
         0 : -1;
}

static int cb_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
  qw_fetcher *f = userp;
  sock_ctx *c = socketp;
  (void)easy;
  if(what == CURL_POLL_REMOVE) {
    /* Synchronously: curl closes the fd after we return. curl deletes its
     * own entry (and our pointer) right after this callback. */
    if(c)
      sock_close(c);
    return 0;
  }
  if(!c) {
    if(f->closing)
      return -1;
    c = calloc(1, sizeof(*c));
    if(!c)
      return -1;
    if(uv_poll_init_socket(f->loop, &c->poll, s) != 0) {
      free(c);
      return -1;
    }
    c->f = f;
    c->fd = s;
    c->poll.data = c;
    c->next = f->socks;
    if(f->socks)
      f->socks->prev = c;
    f->socks = c;
    f->open_handles++;
    if(curl_multi_assign(f->multi, s, c) != CURLM_OK) {
      sock_close(c);
      return -1;
    }
  }
  int ev = 0;
  if(what != CURL_POLL_IN)
    ev |= UV_WRITABLE;
  if(what != CURL_POLL_OUT)
    ev |= UV_READABLE;
  c->events = ev;
  return uv_poll_start(&c->poll, ev, on_poll) == 0 ? 0 : -1;
}

/* ===== per-transfer data callbacks (no curl or user calls in here) ===== */

/* Room for need body bytes plus the NUL. Grows geometrically from a first
 * allocation sized by Content-Length when the body is not encoded (up to
 * BODY_HINT_MAX: a server may lie), never past max_body + 1. */
/* The capacity body_reserve(x, need) would give (x->body_cap when there
 * is room already). */
static size_t body_next_cap(const xfer *x, size_t need)
{
  if(need + 1 <= x->body_cap)
    return x->body_cap;
  size_t limit = x->max_body + 1;
  size_t cap = x->body_cap;
  if(cap == 0) {
    cap = BODY_FIRST;
    if((!x->encoded || x->raw) && x->clen > 0)
      cap = (unsigned long long)x->clen < BODY_HINT_MAX ?
            (size_t)x->clen + 1 : BODY_HINT_MAX;
  }
  while(cap < need + 1)
    cap = cap > limit / 2 ? limit : cap * 2;
  if(cap > limit)
    cap = limit;
  return cap;
}

static int body_reserve(xfer *x, size_t need)
{
  size_t cap = body_next_cap(x, need);
  if(cap == x->body_cap)
    return 0;
  char *b = realloc(x->res->body, cap);
  if(!b)
    return -ENOMEM;
  x->res->body = b;
  x->body_cap = cap;
  return 0;
}

/* 1 when taking n more body bytes would pass the body budget, unless this
 * is the last transfer running and one must run. */
static int over_budget(const qw_fetcher *f, size_t n)
{
  return f->body_budget &&
         f->held_bytes + f->outside_bytes + n > f->body_budget &&
         (f->n_active - f->n_paused > 1 || !must_run_one(f));
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
  xfer *x = ud;
  qw_fetcher *f = x->f;
  qw_fetch_result *r = x->res;
  size_t n = size * nmemb;
  size_t room = x->max_body - r->body_len;
  size_t take = n < room ? n : room;
  x->got_bytes = 1;
  /* the budget counts memory: the capacity the body buffer grows to */
  size_t grow = take ? body_next_cap(x, r->body_len + take) - x->body_cap : 0;
  if(grow && !x->paused && over_budget(f, grow)) {
    /* curl keeps these bytes and offers them again once resumed */
    x->paused = 1;
    x->pprev = f->paused_tail;
    x->pnext = NULL;
    if(f->paused_tail)
      f->paused_tail->pnext = x;
    else
      f->paused_head = x;
    f->paused_tail = x;
    f->n_paused++;
    if(getenv("QW_DBGP2")) fprintf(stderr, "pause held %zu out %zu active %zu paused %zu\n", f->held_bytes, f->outside_bytes, f->n_active, f->n_paused);
    return CURL_WRITEFUNC_PAUSE;
  }
  if(take) {
    if(body_reserve(x, r->body_len + take) != 0) {
      x->oom = 1;
      return 0;
    }
    memcpy(r->body + r->body_len, p, take);
    r->body_len += take;
    f->held_bytes += x->body_cap - x->held;
    x->held = x->body_cap;
    if(f->held_bytes + f->outside_bytes > f->peak_body_bytes)
      f->peak_body_bytes = f->held_bytes + f->outside_bytes;
  }
  if(take < n) {
    x->too_large = 1;
    return 0; /* anything but n: CURLE_WRITE_ERROR */
  }
  return n;
}

/* Case-insensitive "name:" at the start of a header line; returns the
 * value start or NULL. */
static const char *header_value(const char *p, size_t n, const char *name,
                                size_t nl)
{
  if(n <= nl || strncasecmp(p, name, nl) != 0)
    return NULL;
  const char *v = p + nl;
  const char *end = p + n;
  while(v < end && (*v == ' ' || *v == '\t'))
    v++;
  return v;
}

static void note_header(xfer *x, const char *p, size_t n)
{
  const char *end = p + n;
  const char *v = header_value(p, n, "content-length:", 15);
  if(v) {
    long long len = 0;
    int digits = 0;
    while(v < end && *v >= '0' && *v <= '9' && len < (1LL << 50)) {
      len = len * 10 + (*v - '0');
      v++;
      digits++;
    }
    x->clen = digits ? len : -1;
    return;
  }
  v = header_value(p, n, "content-encoding:", 17);
  if(v && v < end && *v != '\r' && *v != '\n' &&
     !(end - v >= 8 && strncasecmp(v, "identity", 8) == 0))
    x->encoded = 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
  xfer *x = ud;
  qw_fetch_result *r = x->res;
  size_t n = size * nmemb;
  x->got_bytes = 1;
  if(n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    /* A new response (after a redirect, a 1xx or a proxy CONNECT): only
     * the final one's headers and body are kept. */
    x->hdr_len = 0;
    x->clen = -1;
    x->encoded = 0;
    r->body_len = 0; /* the buffer stays, and stays counted */
  }
  else
    note_header(x, p, n);
  if(x->hdr_len + n > HEADERS_MAX)
    return n; /* keep what fits; curl bounds header sizes itself */
  if(x->hdr_len + n + 1 > x->hdr_cap) {
    size_t cap = x->hdr_cap ? x->hdr_cap : HEADERS_FIRST;
    while(cap < x->hdr_len + n + 1)
      cap *= 2;
    char *h = realloc(r->headers, cap);
    if(!h) {
      x->oom = 1;
      return 0;
    }
    r->headers = h;
    x->hdr_cap = cap;
  }
  memcpy(r->headers + x->hdr_len, p, n);
  x->hdr_len += n;
  r->headers[x->hdr_len] = '\0';
  return n;
}

/* ===== public API ===== */

int qw_fetcher_new(uv_loop_t *loop, const qw_fetcher_config *cfg,
                   qw_fetcher **out)
{
  if(!loop || !out)
    return -EINVAL;
  *out = NULL;
  qw_fetcher *f = calloc(1, sizeof(*f));
  if(!f)
    return -ENOMEM;
  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    free(f);
    return -EIO;
  }
  f->loop = loop;
  f->body_budget = cfg ? cfg->body_budget : 0;
  f->multi = curl_multi_init();
  if(!f->multi) {
    curl_global_cleanup();
    free(f);
    return -ENOMEM;
  }
  CURLMcode mrc = CURLM_OK;
#define MSET(opt, val) \
  do { if(mrc == CURLM_OK) mrc = curl_multi_setopt(f->multi, opt, val); } \
  while(0)
  MSET(CURLMOPT_SOCKETFUNCTION, cb_socket);
  MSET(CURLMOPT_SOCKETDATA, f);
  MSET(CURLMOPT_TIMERFUNCTION, cb_timer);
  MSET(CURLMOPT_TIMERDATA, f);
  MSET(CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  if(cfg && cfg->max_total_connections > 0)
    MSET(CURLMOPT_MAX_TOTAL_CONNECTIONS, cfg->max_total_connections);
  if(cfg && cfg->max_host_connections > 0)
    MSET(CURLMOPT_MAX_HOST_CONNECTIONS, cfg->max_host_connections);
  if(cfg && cfg->max_connects > 0)
    MSET(CURLMOPT_MAXCONNECTS, cfg->max_connects);
#undef MSET
  if(mrc != CURLM_OK) {
    curl_multi_cleanup(f->multi);
    curl_global_cleanup();
    free(f);
    return mrc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
  }
  /* Last, so that nothing after it can fail: a handle, once initialised,
   * can only be released through uv_close. */
  int rc = uv_timer_init(loop, &f->timer);
  if(rc != 0) {
    curl_multi_cleanup(f->multi);
    curl_global_cleanup();
    free(f);
    return rc;
  }
  f->timer.data = f;
  f->open_handles = 1;
  *out = f;
  return 0;
}

static int has_crlf(const char *s)
{
  return s && strpbrk(s, "\r\n") != NULL;
}

static const char *nonempty(const char *s)
{
  return s && *s ? s : NULL;
}

static int curl_errno(CURLcode rc)
{
  switch(rc) {
  case CURLE_OK:
    return 0;
  case CURLE_OUT_OF_MEMORY:
    return -ENOMEM;
  case CURLE_UNKNOWN_OPTION:
  case CURLE_NOT_BUILT_IN:
    return -ENOTSUP;
  default:
    return -EINVAL;
  }
}

static int add_header(xfer *x, const char *line)
{
  struct curl_slist *l = curl_slist_append(x->hdrs, line);
  if(!l)
    return -ENOMEM;
  x->hdrs = l;
  return 0;
}

/* Sets every option of one transfer. Returns 0 or a negative errno. */
static int setup(xfer *x, const char *url, const qw_fetch_opts *o)
{
  CURL *e = x->easy;
  CURLcode rc = CURLE_OK;
  int err;
#define SET(opt, val) \
  do { if(rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while(0)
  SET(CURLOPT_URL, url);
  SET(CURLOPT_PRIVATE, (void *)x);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, x->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_WRITEDATA, (void *)x);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)x);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  /* "" offers every coding curl can decode; with raw_body curl still
   * offers them and the receiver decodes (qw_fetch_result_decode) */
  SET(CURLOPT_ACCEPT_ENCODING, x->raw ? QW_FETCH_CODINGS : "");
  if(x->raw)
    SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);
  if(o->max_redirects > 0) {
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long)o->max_redirects);
  }
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
  if(o->connect_timeout_ms > 0)
    SET(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if(o->total_timeout_ms > 0)
    SET(CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
  if(o->low_speed_bytes > 0 && o->low_speed_secs > 0) {
    SET(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
    SET(CURLOPT_LOW_SPEED_TIME, o->low_speed_secs);
  }
  if(o->http2) {
    /* HTTP/2 where TLS offers it (ALPN), 1.1 otherwise. PIPEWAIT makes a
     * new transfer wait for a connection being set up to the same host to
     * see whether it multiplexes: for https that is known after the
     * handshake, but for plain http (no h2c here) curl learns it only from
     * the first response, so every concurrent request to a fresh host
     * would queue behind it. */
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if(strncasecmp(url, "https://", 8) == 0)
      SET(CURLOPT_PIPEWAIT, 1L);
  }
  else
    SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  long verify = o->verify_tls ? 1L : 0L;
  SET(CURLOPT_SSL_VERIFYPEER, verify);
  SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  SET(CURLOPT_PROXY_SSL_VERIFYPEER, verify);
  SET(CURLOPT_PROXY_SSL_VERIFYHOST, verify ? 2L : 0L);
  const char *ca = nonempty(o->ca_path);
  if(ca) {
    struct stat st;
    int dir = stat(ca, &st) == 0 && S_ISDIR(st.st_mode);
    SET(dir ? CURLOPT_CAPATH : CURLOPT_CAINFO, ca);
    SET(dir ? CURLOPT_PROXY_CAPATH : CURLOPT_PROXY_CAINFO, ca);
  }
  /* "" also overrides http_proxy & co. from the environment: the daemon
   * uses the proxy its configuration names, or none. */
  const char *proxy = nonempty(o->proxy);
  SET(CURLOPT_PROXY, proxy ? proxy : "");
  x->proxied = proxy != NULL;
  if(nonempty(o->user_agent))
    SET(CURLOPT_USERAGENT, o->user_agent);
  if(nonempty(o->cookie))
    SET(CURLOPT_COOKIE, o->cookie);
#undef SET
  if(rc != CURLE_OK)
    return curl_errno(rc);

  if(o->headers) {
    for(const char *const *h = o->headers; *h; h++) {
      err = add_header(x, *h);
      if(err)
        return err;
    }
  }
  char line[1024];
  if(nonempty(o->if_none_match)) {
    int n = snprintf(line, sizeof(line), "If-None-Match: %s",
                     o->if_none_match);
    if(n < 0 || (size_t)n >= sizeof(line))
      return -EINVAL;
    if((err = add_header(x, line)) != 0)
      return err;
  }
  if(nonempty(o->if_modified_since)) {
    int n = snprintf(line, sizeof(line), "If-Modified-Since: %s",
                     o->if_modified_since);
    if(n < 0 || (size_t)n >= sizeof(line))
      return -EINVAL;
    if((err = add_header(x, line)) != 0)
      return err;
  }
  if(x->hdrs)
    return curl_errno(curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs));
  return 0;
}

/* Request text must not smuggle in extra header lines. */
static int opts_valid(const char *url, const qw_fetch_opts *o)
{
  if(has_crlf(url) || has_crlf(o->user_agent) || has_crlf(o->proxy) ||
     has_crlf(o->cookie) || has_crlf(o->ca_path) ||
     has_crlf(o->if_none_match) || has_crlf(o->if_modified_since))
    return 0;
  if(o->headers) {
    for(const char *const *h = o->headers; *h; h++)
      if(has_crlf(*h))
        return 0;
  }
  return 1;
}

static void xfer_free(xfer *x)
{
  if(x->easy)
    curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->hdrs);
  qw_fetch_result_free(x->res);
  free(x);
}

int qw_fetch_start(qw_fetcher *f, const char *url, const qw_fetch_opts *o,
                   qw_fetch_cb cb, void *ud)
{
  static const qw_fetch_opts defaults = { .verify_tls = 1 };
  if(!f || !url || !cb)
    return -EINVAL;
  if(f->closing || !f->multi)
    return -ECANCELED;
  if(!o)
    o = &defaults;
  if(!opts_valid(url, o))
    return -EINVAL;

  xfer *x = calloc(1, sizeof(*x));
  if(!x)
    return -ENOMEM;
  x->f = f;
  x->cb = cb;
  x->ud = ud;
  x->clen = -1;
  x->raw = o->raw_body;
  x->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
  if(x->max_body > MAX_BODY_LIMIT)
    x->max_body = MAX_BODY_LIMIT;
  x->res = calloc(1, sizeof(*x->res));
  if(!x->res || !(x->res->url = strdup(url))) {
    xfer_free(x);
    return -ENOMEM;
  }
  x->res->retry_after_s = -1;
  x->easy = curl_easy_init();
  if(!x->easy) {
    xfer_free(x);
    return -ENOMEM;
  }
  int err = setup(x, url, o);
  if(err) {
    xfer_free(x);
    return err;
  }
  /* Only sets curl's timer (to our 1 ms minimum): nothing completes, and
   * no callback runs, inside this call. */
  CURLMcode mrc = curl_multi_add_handle(f->multi, x->easy);
  if(mrc != CURLM_OK) {
    xfer_free(x);
    return mrc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
  }
  x->next = f->active;
  if(f->active)
    f->active->prev = x;
  f->active = x;
  f->inflight++;
  f->n_active++;
  return 0;
}

void qw_fetcher_set_outside_bytes(qw_fetcher *f, size_t bytes)
{
  if(!f)
    return;
  f->outside_bytes = bytes;
  if(f->held_bytes + f->outside_bytes > f->peak_body_bytes)
    f->peak_body_bytes = f->held_bytes + f->outside_bytes;
  resume_paused(f);
}

size_t qw_fetcher_peak_body_bytes(const qw_fetcher *f)
{
  return f ? f->peak_body_bytes : 0;
}

size_t qw_fetcher_active(const qw_fetcher *f)
{
  return f ? f->inflight : 0;
}

void qw_fetcher_close(qw_fetcher *f, void (*done)(void *ud), void *ud)
{
  if(!f || f->closing)
    return;
  f->closing = 1;
  f->close_done = done;
  f->close_ud = ud;
  /* 1. Every transfer off curl ("aborted"); removing them may report
   *    sockets removed, closed by cb_socket as usual. */
  finish_all(f, "aborted");
  /* 2. curl_multi_cleanup closes cached connections and resolver fds and
   *    reports them (CURL_POLL_REMOVE) while our contexts are all valid. */
  curl_multi_cleanup(f->multi);
  f->multi = NULL;
  /* 3. Whatever curl did not report is closed now. */
  while(f->socks)
    sock_close(f->socks);
  uv_timer_stop(&f->timer);
  uv_close((uv_handle_t *)&f->timer, on_timer_closed);
  /* 4. The aborted transfers' callbacks. f is freed only from a close
   *    callback, which runs after this function has returned. */
  deliver(f);
}

int qw_fetch_result_decode(qw_fetch_result *r, size_t max_body)
{
  if(!r || !r->content_encoding)
    return 0;
  char *coding = r->content_encoding;
  r->content_encoding = NULL;
  char *out = NULL, err[200];
  size_t n = 0;
  int rc = qw_content_decode(coding, r->body ? r->body : "", r->body_len,
                             max_body ? max_body : DEFAULT_MAX_BODY, &out,
                             &n, err, sizeof(err));
  if(rc == -ENOMEM) {
    r->content_encoding = coding;
    return rc;
  }
  free(coding);
  free(r->body);
  r->body = out;
  r->body_len = n;
  if(rc == 0)
    return 0;
  /* the body cannot be used: say why, as the engine would have */
  r->outcome = rc == -EFBIG ? QW_OUT_TOO_LARGE : QW_OUT_ERROR;
  free(r->error);
  r->error = rc == -EFBIG ? printf_dup("body larger than %zu bytes",
                                       max_body ? max_body :
                                       DEFAULT_MAX_BODY)
                          : printf_dup("%s", err);
  return r->error ? 0 : -ENOMEM;
}
