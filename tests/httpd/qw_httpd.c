/* qw_httpd.c — qw-test-httpd, the misbehaving loopback HTTP/1.1 server the
 * fetcher's tests run against (started by tests/qw_httpd_ctl.c). One libuv
 * loop, keep-alive, pipelining-safe request parsing, everything bounded.
 * Test infrastructure only: it binds loopback addresses and nothing else.
 *
 * Usage: qw-test-httpd --root DIR [--listen ADDR]... [--port N]
 *          [--max-seconds N] [--max-conns N] [--header-ms N] [--idle-ms N]
 *          [--bomb-mib N] [--verbose]
 *   --listen   a loopback address (127.0.0.0/8 or ::1), repeatable; all
 *              are bound on the same port (default 127.0.0.1)
 *   --port     0 (default) picks a free port; "PORT <n>\n" is written to
 *              stdout and flushed once every address is bound
 *   --max-seconds  exit by itself after N s (default 120, 0 = never)
 * Exit status: 0 after SIGTERM/SIGINT, 3 when --max-seconds ran out,
 * 2 for bad arguments (a non-loopback --listen included), 1 otherwise.
 *
 * Routes (query parameters are optional; n, ms, … are decimal):
 *   /<path>                 static file from ROOT/<Host without port>/ when
 *                           that directory exists, else from ROOT; "/"
 *                           means index.html; a directory without the
 *                           slash gets 301. Content-Type by extension;
 *                           html/txt are "charset=utf-8", or "charset=gbk"
 *                           when a path segment is "gbk". ?ctype=V replaces
 *                           Content-Type (URL-encoded; empty = no header).
 *                           ETag + Last-Modified; 304 on If-None-Match or
 *                           If-Modified-Since.
 *   /gz/<path> /br/<path> /zstd/<path>
 *                           the file with that Content-Encoding when the
 *                           request's Accept-Encoding allows it (else
 *                           identity); ?force=1 encodes regardless
 *   /chunked/<path>[?ms=M]  the file with Transfer-Encoding: chunked in
 *                           small irregular chunks (one has an extension),
 *                           M ms apart (default 0)
 *   /redirect/<n>/<path>[?code=C]  n hops (302 or C), then the file
 *   /redirect-loop          302 to itself, forever
 *   /redirect-scheme[?scheme=S]    302 to S://host/pub/listing.html (ftp)
 *   /redirect-to?url=X[&code=C]    302 (or C) to X
 *   /login-redirect[/...]   302 to /login?from=<this path, encoded>
 *   /login                  a login-form page
 *   /captcha[/...]          200, a slider-verification page
 *   /removed[/...]          200, a soft-404 "item removed" page
 *   /status/<code>[?retry-after=S][&location=L]  that status (200-599)
 *   /flaky/<n>/<path>       the first n requests (per Host and path) get 503
 *                           + Retry-After: 1, then the file; /__reset
 *                           restarts the count
 *   /drip?bytes=N&ms=M      Content-Length N at once, then one byte every M
 *                           ms (defaults 10, 100)
 *   /slow?ms=M              the whole response after M ms (default 1000)
 *   /endless                chunked body that never ends (capped at 2 GiB)
 *   /bomb                   Content-Encoding: gzip, ~1 MB on the wire that
 *                           inflates to 1 GiB of zeros (built at start-up)
 *   /reset[?sent=N]         Content-Length: 100000, N (2000) bytes, then a
 *                           TCP reset (SO_LINGER 0)
 *   /close-early[?sent=N&length=L]  Content-Length L (100000), N (1000)
 *                           bytes, then a clean close
 *   /echo                   200 text/plain: the request head as received
 *   /__stats[?host=H]       JSON counters (global and per Host; with host=
 *                           only that host's object)
 *   /__stats?counter=K[&host=H]  one counter as "<n>\n" (see README.md)
 *   /__reset                clears counters (and so the flaky counts)
 * A request counts as in flight from the first byte read until its
 * response is fully written (per Host from the end of its head; /__stats
 * and /__reset are not counted). HEAD is served like GET without a body;
 * other methods get 405. Requests with a body get their answer and then
 * the connection is closed. Bounds: 16 KiB request head, 100 header lines,
 * --max-conns (default 256) connections, 32 MiB files, 10 s (--header-ms)
 * to send a head, 30 s (--idle-ms) idle keep-alive. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <brotli/encode.h>
#include <uv.h>
#include <zlib.h>
#include <zstd.h>

#include "http_parse.h"

#define HEAD_MAX 16384
#define MAX_LISTEN 16
#define MAX_HOSTS 64
#define MAX_PATHS 4096
#define MAX_VHOSTS 256
#define FILE_MAX (32u << 20)
#define ENDLESS_CAP (2ull << 30)
#define ENDLESS_CHUNK 16384
#define STATUS_MAX 600

/* ===== small growable string ===== */

typedef struct {
  char *d;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_put(sbuf *b, const void *p, size_t n)
{
  if(b->oom)
    return;
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while(cap < b->len + n + 1)
      cap *= 2;
    char *d = realloc(b->d, cap);
    if(!d) {
      b->oom = 1;
      return;
    }
    b->d = d;
    b->cap = cap;
  }
  memcpy(b->d + b->len, p, n);
  b->len += n;
  b->d[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
  sb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(sbuf *b, const char *fmt, ...)
{
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if(n < 0 || (size_t)n >= sizeof(tmp)) {
    b->oom = 1;
    return;
  }
  sb_put(b, tmp, (size_t)n);
}

/* JSON string (our keys are printable ASCII; escape the rest anyway). */
static void sb_json_str(sbuf *b, const char *s)
{
  sb_put(b, "\"", 1);
  for(; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if(ch == '"' || ch == '\\') {
      char e[2] = { '\\', (char)ch };
      sb_put(b, e, 2);
    }
    else if(ch < 0x20 || ch >= 0x7f)
      sb_printf(b, "\\u%04x", ch);
    else
      sb_put(b, s, 1);
  }
  sb_put(b, "\"", 1);
}

/* ===== counters ===== */

typedef struct {
  char *path;
  uint64_t n;
} path_count;

typedef struct {
  char name[256];
  uint64_t requests;
  long inflight, max_inflight;
  uint64_t status[STATUS_MAX];
  path_count *paths;
  size_t npaths, cap;
  uint64_t other_paths;     /* requests past MAX_PATHS distinct paths */
} host_stats;

typedef struct conn conn;
typedef struct job job;

typedef struct {
  uv_loop_t *loop;
  uv_tcp_t listeners[MAX_LISTEN];
  size_t nlisten;
  uv_signal_t sigterm, sigint;
  uv_timer_t deadline;
  const char *root;
  char *vhosts[MAX_VHOSTS];
  size_t nvhosts;
  conn *conns;
  long nconns, max_conns;
  uint64_t header_ms, idle_ms;
  int verbose;
  host_stats *hosts[MAX_HOSTS];
  size_t nhosts;
  host_stats other;          /* Host values past MAX_HOSTS */
  uint64_t conn_total, conn_refused, requests_total, bad_requests;
  long inflight, max_inflight;
  unsigned char *bomb;
  size_t bomb_len;
  int stopping, exit_code;
} server;

static host_stats *host_find(const server *s, const char *name)
{
  for(size_t i = 0; i < s->nhosts; i++)
    if(strcmp(s->hosts[i]->name, name) == 0)
      return s->hosts[i];
  return NULL;
}

static host_stats *host_get(server *s, const char *name)
{
  host_stats *h = host_find(s, name);
  if(h)
    return h;
  if(s->nhosts == MAX_HOSTS)
    return &s->other;
  h = calloc(1, sizeof(*h));
  if(!h)
    return &s->other;
  snprintf(h->name, sizeof(h->name), "%s", name);
  s->hosts[s->nhosts++] = h;
  return h;
}

/* Counts one request for path; returns the new count (0 when the table
 * is full and the request went to other_paths). */
static uint64_t path_bump(host_stats *h, const char *path, size_t len)
{
  for(size_t i = 0; i < h->npaths; i++)
    if(strlen(h->paths[i].path) == len &&
       memcmp(h->paths[i].path, path, len) == 0)
      return ++h->paths[i].n;
  if(h->npaths == MAX_PATHS)
    goto other;
  if(h->npaths == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    path_count *p = realloc(h->paths, cap * sizeof(*p));
    if(!p)
      goto other;
    h->paths = p;
    h->cap = cap;
  }
  char *copy = strndup(path, len);
  if(!copy)
    goto other;
  h->paths[h->npaths].path = copy;
  h->paths[h->npaths].n = 1;
  h->npaths++;
  return 1;
other:
  h->other_paths++;
  return 0;
}

static uint64_t path_get(const host_stats *h, const char *path)
{
  for(size_t i = 0; i < h->npaths; i++)
    if(strcmp(h->paths[i].path, path) == 0)
      return h->paths[i].n;
  return 0;
}

static void host_clear(host_stats *h)
{
  for(size_t i = 0; i < h->npaths; i++)
    free(h->paths[i].path);
  h->npaths = 0;
  h->other_paths = 0;
  h->requests = 0;
  h->max_inflight = h->inflight;
  memset(h->status, 0, sizeof(h->status));
}

static void stats_reset(server *s)
{
  for(size_t i = 0; i < s->nhosts; i++)
    host_clear(s->hosts[i]);
  host_clear(&s->other);
  s->conn_total = 0;
  s->conn_refused = 0;
  s->requests_total = 0;
  s->bad_requests = 0;
  s->max_inflight = s->inflight;
}

static void host_json(sbuf *b, const host_stats *h)
{
  sb_printf(b, "{\"requests\":%llu,\"inflight\":%ld,\"max_inflight\":%ld,"
            "\"status\":{", (unsigned long long)h->requests, h->inflight,
            h->max_inflight);
  int first = 1;
  for(int code = 0; code < STATUS_MAX; code++) {
    if(!h->status[code])
      continue;
    sb_printf(b, "%s\"%d\":%llu", first ? "" : ",", code,
              (unsigned long long)h->status[code]);
    first = 0;
  }
  sb_puts(b, "},\"paths\":{");
  for(size_t i = 0; i < h->npaths; i++) {
    if(i)
      sb_puts(b, ",");
    sb_json_str(b, h->paths[i].path);
    sb_printf(b, ":%llu", (unsigned long long)h->paths[i].n);
  }
  sb_printf(b, "},\"other_paths\":%llu}",
            (unsigned long long)h->other_paths);
}

static void stats_json(sbuf *b, const server *s)
{
  sb_printf(b, "{\"connections_total\":%llu,\"connections_current\":%ld,"
            "\"connections_refused\":%llu,\"requests_total\":%llu,"
            "\"bad_requests\":%llu,\"inflight\":%ld,\"max_inflight\":%ld,"
            "\"hosts\":{",
            (unsigned long long)s->conn_total, s->nconns,
            (unsigned long long)s->conn_refused,
            (unsigned long long)s->requests_total,
            (unsigned long long)s->bad_requests, s->inflight,
            s->max_inflight);
  for(size_t i = 0; i < s->nhosts; i++) {
    if(i)
      sb_puts(b, ",");
    sb_json_str(b, s->hosts[i]->name);
    sb_puts(b, ":");
    host_json(b, s->hosts[i]);
  }
  sb_puts(b, "}}\n");
}

/* One counter for /__stats?counter=K. Returns 0 or -EINVAL. */
static int stats_counter(const server *s, const char *host, const char *k,
                         long long *out)
{
  if(!host) {
    if(k[0] == '/') {
      long long sum = 0;
      for(size_t i = 0; i < s->nhosts; i++)
        sum += (long long)path_get(s->hosts[i], k);
      *out = sum;
    }
    else if(!strcmp(k, "connections_total"))
      *out = (long long)s->conn_total;
    else if(!strcmp(k, "connections_current"))
      *out = s->nconns;
    else if(!strcmp(k, "connections_refused"))
      *out = (long long)s->conn_refused;
    else if(!strcmp(k, "requests_total") || !strcmp(k, "requests"))
      *out = (long long)s->requests_total;
    else if(!strcmp(k, "bad_requests"))
      *out = (long long)s->bad_requests;
    else if(!strcmp(k, "inflight"))
      *out = s->inflight;
    else if(!strcmp(k, "max_inflight"))
      *out = s->max_inflight;
    else
      return -EINVAL;
    return 0;
  }
  static const host_stats zero;
  const host_stats *h = host_find(s, host);
  if(!h)
    h = &zero;
  long code;
  if(k[0] == '/')
    *out = (long long)path_get(h, k);
  else if(!strcmp(k, "requests"))
    *out = (long long)h->requests;
  else if(!strcmp(k, "inflight"))
    *out = h->inflight;
  else if(!strcmp(k, "max_inflight"))
    *out = h->max_inflight;
  else if(!strncmp(k, "status:", 7) &&
          qw_hp_parse_long(k + 7, strlen(k + 7), 0, STATUS_MAX - 1,
                           &code) == 0)
    *out = (long long)h->status[code];
  else
    return -EINVAL;
  return 0;
}

/* ===== connections ===== */

enum {
  R_FULL = 0,    /* head (+ body) in one write */
  R_FILE,        /* waiting for a file job */
  R_SLOW,        /* waiting for the slow timer */
  R_DRIP,
  R_CHUNKED,
  R_ENDLESS,
  R_RESET,
  R_CLOSE_EARLY
};

enum {
  T_NONE, T_HEADER, T_IDLE, T_SLOW, T_DRIP, T_CHUNK, T_RESET, T_LINGER
};

enum { ENC_NONE, ENC_GZIP, ENC_BR, ENC_ZSTD };

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shut;
  server *srv;
  conn *prev, *next;
  int handles_open;
  int closing;
  int lingering;             /* FIN sent, draining the client */
  int reading;
  char in[HEAD_MAX];
  size_t inlen;
  /* the current request */
  int req_started;          /* counted in srv->inflight */
  int req_busy;             /* head parsed, response under way */
  host_stats *hs;           /* counted in hs->inflight */
  size_t head_len;
  int is_head;
  int keep_alive;
  /* the current response */
  int kind;
  int timer_mode;
  uint64_t left;            /* bytes still to send (drip, endless) */
  uint64_t sent;
  uint64_t ms;
  unsigned step;            /* chunk index */
  char *file;               /* body being sent in chunks */
  size_t file_len, file_off;
  job *job;
};

struct job {
  uv_work_t work;
  conn *c;
  char path[PATH_MAX];
  char raw[HEAD_MAX];       /* request path for a directory redirect */
  char inm[1024];
  char ims[64];
  char ctype[256];
  int has_ctype, gbk, enc, chunked, vary;
  /* results */
  int err;
  char *data;
  size_t len;
  uint64_t size;
  struct timespec mtime;
};

typedef struct {
  uv_write_t req;
  conn *c;
  char *mem;                /* freed after the write, or NULL */
  int final;                /* the last write of a response step */
} wreq;

static void conn_close(conn *c);
static void try_parse(conn *c);
static void response_done(conn *c);
static void after_final_write(conn *c);

static void on_conn_closed(uv_handle_t *h)
{
  conn *c = h->data;
  if(--c->handles_open == 0)
    free(c);
}

static void conn_close(conn *c)
{
  server *s = c->srv;
  if(c->closing)
    return;
  c->closing = 1;
  if(c->job)
    c->job->c = NULL;
  c->job = NULL;
  free(c->file);
  c->file = NULL;
  if(c->req_started)
    s->inflight--;
  if(c->hs)
    c->hs->inflight--;
  c->req_started = 0;
  c->hs = NULL;
  if(c->prev)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if(c->next)
    c->next->prev = c->prev;
  s->nconns--;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void timer_start(conn *c, int mode, uint64_t ms, uv_timer_cb cb)
{
  c->timer_mode = mode;
  uv_timer_start(&c->timer, cb, ms, 0);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  conn *c = req->data;
  if(status < 0)
    conn_close(c);
  /* else linger: on_read closes at the client's EOF, the timer at worst */
}

static void on_linger_timer(uv_timer_t *t)
{
  conn_close(t->data);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

/* A clean end of the connection: FIN after the last write, then read and
 * drop whatever the client still sends until it closes (at most 1 s), so
 * unread request bytes never turn our close into a reset that could
 * destroy the response before the client read it (lingering close). */
static void conn_finish(conn *c)
{
  if(c->closing || c->lingering)
    return;
  c->lingering = 1;
  c->shut.data = c;
  if(uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c);
    return;
  }
  c->inlen = 0;
  if(!c->reading) {
    if(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
    c->reading = 1;
  }
  timer_start(c, T_LINGER, 1000, on_linger_timer);
}

static void on_written(uv_write_t *req, int status)
{
  wreq *w = (wreq *)req;
  conn *c = w->c;
  int final = w->final;
  free(w->mem);
  free(w);
  if(c->closing)
    return;
  if(status < 0) {
    conn_close(c);
    return;
  }
  if(final)
    after_final_write(c);
}

/* Queues data[0..len) on c. own: free data after the write. final: call
 * after_final_write when done. On failure the connection is closed (and
 * data freed when owned); returns -1 then. */
static int send_buf(conn *c, char *data, size_t len, int own, int final)
{
  wreq *w = calloc(1, sizeof(*w));
  if(!w) {
    if(own)
      free(data);
    conn_close(c);
    return -1;
  }
  w->c = c;
  w->mem = own ? data : NULL;
  w->final = final;
  uv_buf_t b = uv_buf_init(data, (unsigned)len);
  if(uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
    free(w->mem);
    free(w);
    conn_close(c);
    return -1;
  }
  return 0;
}

static void on_timeout_close(uv_timer_t *t)
{
  conn *c = t->data;
  if(c->srv->verbose)
    fprintf(stderr, "qw-test-httpd: %s timeout, closing\n",
            c->timer_mode == T_HEADER ? "header" : "idle");
  conn_close(c);
}

static void start_request(conn *c)
{
  server *s = c->srv;
  c->req_started = 1;
  s->inflight++;
  timer_start(c, T_HEADER, s->header_ms, on_timeout_close);
}

static void read_resume(conn *c);

/* ===== responses ===== */

static const char *reason(int code)
{
  switch(code) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 410: return "Gone";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 451: return "Unavailable For Legal Reasons";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Status";
  }
}

static void http_date(time_t t, char out[40])
{
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Status line and the common headers. */
static void head_begin(sbuf *b, conn *c, int code)
{
  char date[40];
  http_date(time(NULL), date);
  sb_printf(b, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: qw-test-httpd\r\n",
            code, reason(code), date);
  if(c->hs && code >= 0 && code < STATUS_MAX)
    c->hs->status[code]++;
}

static void head_end(sbuf *b, conn *c)
{
  sb_puts(b, c->keep_alive ? "" : "Connection: close\r\n");
  sb_puts(b, "\r\n");
}

static int no_body_status(int code)
{
  return code < 200 || code == 204 || code == 304;
}

/* A complete response in one write: status, extra header lines (each
 * ending in CRLF, or NULL), Content-Type (NULL = none), body. */
static void send_full(conn *c, int code, const char *extra,
                      const char *ctype, const char *body, size_t blen)
{
  sbuf b = { 0 };
  c->kind = R_FULL;
  head_begin(&b, c, code);
  if(ctype)
    sb_printf(&b, "Content-Type: %s\r\n", ctype);
  if(extra)
    sb_puts(&b, extra);
  if(!no_body_status(code))
    sb_printf(&b, "Content-Length: %zu\r\n", blen);
  head_end(&b, c);
  if(!c->is_head && !no_body_status(code))
    sb_put(&b, body, blen);
  if(b.oom) {
    free(b.d);
    conn_close(c);
    return;
  }
  send_buf(c, b.d, b.len, 1, 1);
}

static void send_error(conn *c, int code, const char *extra)
{
  char body[256];
  int n = snprintf(body, sizeof(body),
                   "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>"
                   "<body><h1>%d %s</h1></body></html>\n",
                   code, reason(code), code, reason(code));
  send_full(c, code, extra, "text/html; charset=utf-8", body, (size_t)n);
}

static void send_redirect(conn *c, int code, const char *location)
{
  sbuf h = { 0 };
  sb_puts(&h, "Location: ");
  sb_puts(&h, location);
  sb_puts(&h, "\r\n");
  if(h.oom) {
    free(h.d);
    conn_close(c);
    return;
  }
  sbuf body = { 0 };
  sb_puts(&body, "<!DOCTYPE html>\n<html><body><p>Moved to <a href=\"");
  for(const char *p = location; *p; p++) {
    if(*p == '"' || *p == '<' || *p == '>' || *p == '&')
      sb_printf(&body, "&#%d;", *p);
    else
      sb_put(&body, p, 1);
  }
  sb_puts(&body, "\">here</a>.</p></body></html>\n");
  if(body.oom) {
    free(h.d);
    free(body.d);
    conn_close(c);
    return;
  }
  send_full(c, code, h.d, "text/html; charset=utf-8", body.d, body.len);
  free(h.d);
  free(body.d);
}

static void on_reset_timer(uv_timer_t *t)
{
  conn *c = t->data;
  uv_os_fd_t fd;
  if(uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
    struct linger l = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  conn_close(c);
}

static void endless_step(conn *c);

static void after_final_write(conn *c)
{
  switch(c->kind) {
  case R_RESET:
    /* Give the client a moment to read what was sent, then reset. */
    timer_start(c, T_RESET, 50, on_reset_timer);
    return;
  case R_CLOSE_EARLY:
    conn_finish(c);
    return;
  case R_ENDLESS:
    endless_step(c);
    return;
  default:
    response_done(c);
  }
}

static void response_done(conn *c)
{
  server *s = c->srv;
  if(c->req_started)
    s->inflight--;
  if(c->hs)
    c->hs->inflight--;
  c->req_started = 0;
  c->req_busy = 0;
  c->hs = NULL;
  c->kind = R_FULL;
  free(c->file);
  c->file = NULL;
  if(!c->keep_alive) {
    conn_finish(c);
    return;
  }
  memmove(c->in, c->in + c->head_len, c->inlen - c->head_len);
  c->inlen -= c->head_len;
  c->head_len = 0;
  if(c->inlen > 0) {
    start_request(c);
    try_parse(c);
  }
  else
    timer_start(c, T_IDLE, s->idle_ms, on_timeout_close);
  if(!c->closing)
    read_resume(c);
}

/* ---- drip, slow, endless, chunked ---- */

static void on_drip(uv_timer_t *t)
{
  conn *c = t->data;
  char *byte = malloc(1);
  if(!byte) {
    conn_close(c);
    return;
  }
  byte[0] = (char)('0' + c->sent % 10);
  c->sent++;
  c->left--;
  if(send_buf(c, byte, 1, 1, c->left == 0) != 0)
    return;
  if(c->left > 0)
    timer_start(c, T_DRIP, c->ms, on_drip);
}

static void on_slow(uv_timer_t *t)
{
  conn *c = t->data;
  char body[64];
  int n = snprintf(body, sizeof(body), "slept %llu ms\n",
                   (unsigned long long)c->ms);
  send_full(c, 200, NULL, "text/plain; charset=utf-8", body, (size_t)n);
}

static const char endless_line[] =
  "<p>无尽的页面 endless listing page 持续输出</p>\n";

static void endless_step(conn *c)
{
  if(c->left == 0) {
    c->kind = R_FULL;
    send_buf(c, (char *)(uintptr_t)"0\r\n\r\n", 5, 0, 1);
    return;
  }
  size_t n = c->left < ENDLESS_CHUNK ? (size_t)c->left : ENDLESS_CHUNK;
  char *buf = malloc(n + 16);
  if(!buf) {
    conn_close(c);
    return;
  }
  int h = snprintf(buf, 16, "%zx\r\n", n);
  size_t ll = sizeof(endless_line) - 1;
  for(size_t i = 0; i < n; i++)
    buf[(size_t)h + i] = endless_line[(c->sent + i) % ll];
  memcpy(buf + (size_t)h + n, "\r\n", 2);
  c->sent += n;
  c->left -= n;
  send_buf(c, buf, (size_t)h + n + 2, 1, 1);
}

static const size_t chunk_sizes[] = {
  1, 2, 17, 5, 256, 3, 1000, 7, 64, 4096, 11, 128, 33
};

/* Sends the next chunk of c->file (or the last-chunk). Returns 1 when the
 * response is complete after this write, 0 when more follow, -1 when the
 * connection was closed. */
static int chunk_send_one(conn *c)
{
  size_t left = c->file_len - c->file_off;
  if(left == 0) {
    if(send_buf(c, (char *)(uintptr_t)"0\r\n\r\n", 5, 0, 1) != 0)
      return -1;
    return 1;
  }
  size_t n = chunk_sizes[c->step % (sizeof(chunk_sizes) /
                                    sizeof(chunk_sizes[0]))];
  if(n > left)
    n = left;
  char *buf = malloc(n + 32);
  if(!buf) {
    conn_close(c);
    return -1;
  }
  int h = snprintf(buf, 32, "%zx%s\r\n", n,
                   c->step == 2 ? ";qw-ext=\"irregular\"" : "");
  memcpy(buf + h, c->file + c->file_off, n);
  memcpy(buf + (size_t)h + n, "\r\n", 2);
  c->file_off += n;
  c->step++;
  if(send_buf(c, buf, (size_t)h + n + 2, 1, 0) != 0)
    return -1;
  return 0;
}

static void on_chunk_timer(uv_timer_t *t)
{
  conn *c = t->data;
  int r = chunk_send_one(c);
  if(r == 0)
    timer_start(c, T_CHUNK, c->ms, on_chunk_timer);
}

static void chunked_start(conn *c)
{
  if(c->ms > 0) {
    timer_start(c, T_CHUNK, c->ms, on_chunk_timer);
    return;
  }
  int r;
  do
    r = chunk_send_one(c);
  while(r == 0);
}

/* Sends the head of a streamed response: status 200, ctype, extra lines,
 * then (unless HEAD) the body is produced by the route. Returns 0, or -1
 * when the connection was closed. For HEAD the response ends here. */
static int stream_head(conn *c, const char *ctype, const char *extra)
{
  sbuf b = { 0 };
  head_begin(&b, c, 200);
  if(ctype)
    sb_printf(&b, "Content-Type: %s\r\n", ctype);
  if(extra)
    sb_puts(&b, extra);
  head_end(&b, c);
  if(b.oom) {
    free(b.d);
    conn_close(c);
    return -1;
  }
  if(c->is_head) {
    c->kind = R_FULL;
    send_buf(c, b.d, b.len, 1, 1);
    return -1;
  }
  return send_buf(c, b.d, b.len, 1, 0);
}

/* ===== files ===== */

static const char *ext_type(const char *path, int gbk)
{
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if(!dot || (slash && dot < slash))
    return "application/octet-stream";
  dot++;
  if(!strcasecmp(dot, "html") || !strcasecmp(dot, "htm"))
    return gbk ? "text/html; charset=gbk" : "text/html; charset=utf-8";
  if(!strcasecmp(dot, "txt"))
    return gbk ? "text/plain; charset=gbk" : "text/plain; charset=utf-8";
  if(!strcasecmp(dot, "xml"))
    return "application/xml";
  if(!strcasecmp(dot, "json"))
    return "application/json";
  if(!strcasecmp(dot, "css"))
    return "text/css";
  if(!strcasecmp(dot, "js"))
    return "application/javascript";
  if(!strcasecmp(dot, "png"))
    return "image/png";
  if(!strcasecmp(dot, "jpg") || !strcasecmp(dot, "jpeg"))
    return "image/jpeg";
  if(!strcasecmp(dot, "gif"))
    return "image/gif";
  if(!strcasecmp(dot, "svg"))
    return "image/svg+xml";
  if(!strcasecmp(dot, "gz"))
    return "application/gzip";
  return "application/octet-stream";
}

static int compress_gzip(const char *in, size_t n, char **out, size_t *olen)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  if(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -ENOMEM;
  uLong cap = deflateBound(&z, (uLong)n);
  char *buf = malloc(cap ? cap : 1);
  if(!buf) {
    deflateEnd(&z);
    return -ENOMEM;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)buf;
  z.avail_out = (uInt)cap;
  int r = deflate(&z, Z_FINISH);
  *olen = z.total_out;
  deflateEnd(&z);
  if(r != Z_STREAM_END) {
    free(buf);
    return -EIO;
  }
  *out = buf;
  return 0;
}

static int compress_br(const char *in, size_t n, char **out, size_t *olen)
{
  size_t cap = BrotliEncoderMaxCompressedSize(n);
  if(cap == 0)
    cap = n + 1024;
  char *buf = malloc(cap);
  if(!buf)
    return -ENOMEM;
  size_t len = cap;
  if(!BrotliEncoderCompress(5, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, n,
                            (const uint8_t *)in, &len, (uint8_t *)buf)) {
    free(buf);
    return -EIO;
  }
  *out = buf;
  *olen = len;
  return 0;
}

static int compress_zstd(const char *in, size_t n, char **out, size_t *olen)
{
  size_t cap = ZSTD_compressBound(n);
  char *buf = malloc(cap);
  if(!buf)
    return -ENOMEM;
  size_t len = ZSTD_compress(buf, cap, in, n, 3);
  if(ZSTD_isError(len)) {
    free(buf);
    return -EIO;
  }
  *out = buf;
  *olen = len;
  return 0;
}

/* Thread-pool side: read the file, compress it when asked. */
static void job_work(uv_work_t *w)
{
  job *j = w->data;
  struct stat st;
  int fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if(fd < 0) {
    j->err = -errno;
    return;
  }
  if(fstat(fd, &st) != 0) {
    j->err = -errno;
    goto out;
  }
  if(S_ISDIR(st.st_mode)) {
    j->err = -EISDIR;
    goto out;
  }
  if(!S_ISREG(st.st_mode)) {
    j->err = -EACCES;
    goto out;
  }
  if((uint64_t)st.st_size > FILE_MAX) {
    j->err = -EFBIG;
    goto out;
  }
  j->size = (uint64_t)st.st_size;
  j->mtime = st.st_mtim;
  j->data = malloc(j->size ? j->size : 1);
  if(!j->data) {
    j->err = -ENOMEM;
    goto out;
  }
  while(j->len < j->size) {
    ssize_t r = read(fd, j->data + j->len, j->size - j->len);
    if(r < 0 && errno == EINTR)
      continue;
    if(r < 0) {
      j->err = -errno;
      goto out;
    }
    if(r == 0)
      break;
    j->len += (size_t)r;
  }
  if(j->enc != ENC_NONE) {
    char *z = NULL;
    size_t zl = 0;
    int r = j->enc == ENC_GZIP ? compress_gzip(j->data, j->len, &z, &zl) :
            j->enc == ENC_BR ? compress_br(j->data, j->len, &z, &zl) :
            compress_zstd(j->data, j->len, &z, &zl);
    if(r) {
      j->err = r;
      goto out;
    }
    free(j->data);
    j->data = z;
    j->len = zl;
  }
out:
  close(fd);
}

/* 1 when one entry of the If-None-Match list equals etag (weak compare). */
static int inm_match(const char *inm, const char *etag)
{
  const char *p = inm;
  size_t el = strlen(etag);
  while(*p) {
    while(*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if(*p == '*')
      return 1;
    if(p[0] == 'W' && p[1] == '/')
      p += 2;
    const char *s = p;
    if(*p == '"') {
      p++;
      while(*p && *p != '"')
        p++;
      if(*p == '"')
        p++;
    }
    else
      while(*p && *p != ',')
        p++;
    if((size_t)(p - s) == el && memcmp(s, etag, el) == 0)
      return 1;
    while(*p && *p != ',')
      p++;
  }
  return 0;
}

static const char *enc_name(int enc)
{
  return enc == ENC_GZIP ? "gzip" : enc == ENC_BR ? "br" :
         enc == ENC_ZSTD ? "zstd" : NULL;
}

/* Loop side: answer with the file the job read. */
static void file_ready(conn *c, job *j)
{
  if(j->err == -ENOENT || j->err == -ENOTDIR || j->err == -ENAMETOOLONG ||
     j->err == -ELOOP) {
    send_error(c, 404, NULL);
    return;
  }
  if(j->err == -EISDIR) {
    char loc[HEAD_MAX + 2];
    snprintf(loc, sizeof(loc), "%s/", j->raw);
    send_redirect(c, 301, loc);
    return;
  }
  if(j->err == -EACCES || j->err == -EPERM) {
    send_error(c, 403, NULL);
    return;
  }
  if(j->err) {
    send_error(c, 500, NULL);
    return;
  }
  const char *en = enc_name(j->enc);
  char etag[96], lm[40];
  snprintf(etag, sizeof(etag), "\"%llx-%llx%s%s\"",
           (unsigned long long)j->size,
           (unsigned long long)j->mtime.tv_sec * 1000000000ull +
           (unsigned long long)j->mtime.tv_nsec, en ? "-" : "",
           en ? en : "");
  http_date(j->mtime.tv_sec, lm);
  sbuf h = { 0 };
  sb_printf(&h, "ETag: %s\r\nLast-Modified: %s\r\n", etag, lm);
  if(j->vary)
    sb_puts(&h, "Vary: Accept-Encoding\r\n");
  if(en)
    sb_printf(&h, "Content-Encoding: %s\r\n", en);
  if(h.oom) {
    free(h.d);
    conn_close(c);
    return;
  }
  int not_modified = 0;
  if(j->inm[0])
    not_modified = inm_match(j->inm, etag);
  else if(j->ims[0]) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *e = strptime(j->ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if(e && *e == '\0' && j->mtime.tv_sec <= timegm(&tm))
      not_modified = 1;
  }
  const char *ctype = j->has_ctype ? (j->ctype[0] ? j->ctype : NULL) :
                      ext_type(j->path, j->gbk);
  if(not_modified) {
    send_full(c, 304, h.d, NULL, NULL, 0);
    free(h.d);
    return;
  }
  if(j->chunked) {
    sb_puts(&h, "Transfer-Encoding: chunked\r\n");
    c->kind = R_CHUNKED;
    c->file = j->data;
    c->file_len = j->len;
    c->file_off = 0;
    c->step = 0;
    j->data = NULL;
    int r = stream_head(c, ctype, h.d);
    free(h.d);
    if(r == 0)
      chunked_start(c);
    return;
  }
  send_full(c, 200, h.d, ctype, j->data, j->len);
  free(h.d);
}

static void job_done(uv_work_t *w, int status)
{
  job *j = w->data;
  conn *c = j->c;
  (void)status;
  if(c) {
    c->job = NULL;
    file_ready(c, j);
  }
  free(j->data);
  free(j);
}

/* ===== routing ===== */

typedef struct {
  const qw_hp_request *req;
  const char *path;         /* raw path, NUL-terminated copy */
  size_t path_len;
  const char *query;        /* raw query (no '?'), or "" */
  size_t query_len;
  char host[256];           /* normalised Host, "-" when absent */
} route;

static int q_long(const route *r, const char *name, long def, long min,
                  long max, long *out)
{
  char v[32];
  int n = qw_hp_query_get(r->query, r->query_len, name, v, sizeof(v));
  if(n == -ENOENT) {
    *out = def;
    return 0;
  }
  if(n < 0)
    return -EINVAL;
  return qw_hp_parse_long(v, (size_t)n, min, max, out);
}

/* Decoded query value without control characters (safe in a header). */
static int q_text(const route *r, const char *name, char *dst, size_t cap)
{
  int n = qw_hp_query_get(r->query, r->query_len, name, dst, cap);
  if(n < 0)
    return n;
  for(int i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)dst[i];
    if(ch < 0x20 || ch == 0x7f)
      return -EINVAL;
  }
  return n;
}

static int is_prefix_route(const route *r, const char *name)
{
  size_t n = strlen(name);
  return r->path_len >= n && memcmp(r->path, name, n) == 0 &&
         (r->path_len == n || r->path[n] == '/');
}

static int accepts(const route *r, const char *coding)
{
  const qw_hp_header *ae = qw_hp_get(r->req, "Accept-Encoding");
  if(!ae)
    return 0;
  if(qw_hp_list_has(ae->value, ae->value_len, coding))
    return 1;
  if(!strcmp(coding, "gzip") &&
     qw_hp_list_has(ae->value, ae->value_len, "x-gzip"))
    return 1;
  return qw_hp_list_has(ae->value, ae->value_len, "*");
}

static void copy_header(const qw_hp_request *req, const char *name,
                        char *dst, size_t cap)
{
  const qw_hp_header *h = qw_hp_get(req, name);
  dst[0] = '\0';
  if(h && h->value_len < cap) {
    memcpy(dst, h->value, h->value_len);
    dst[h->value_len] = '\0';
  }
}

static void on_job_error(conn *c, job *j, int code)
{
  free(j);
  send_error(c, code, NULL);
}

#define SF_CHUNKED 1
#define SF_VARY 2

/* Serves the file at fpath (raw, starting with '/') under the Host's root. */
static void serve_file(conn *c, const route *r, const char *fpath,
                       int enc, int flags)
{
  server *s = c->srv;
  job *j = calloc(1, sizeof(*j));
  if(!j) {
    conn_close(c);
    return;
  }
  char dec[PATH_MAX];
  int n = qw_hp_pct_decode(fpath, strlen(fpath), dec, sizeof(dec), 0);
  if(n <= 0 || dec[0] != '/') {
    on_job_error(c, j, 400);
    return;
  }
  /* No "." or ".." segment, no backslash: nothing escapes the root. */
  for(const char *p = dec; *p; ) {
    const char *seg = ++p;
    while(*p && *p != '/')
      p++;
    size_t sl = (size_t)(p - seg);
    if((sl == 1 && seg[0] == '.') ||
       (sl == 2 && seg[0] == '.' && seg[1] == '.')) {
      on_job_error(c, j, 400);
      return;
    }
  }
  if(strchr(dec, '\\')) {
    on_job_error(c, j, 400);
    return;
  }
  const char *vhost = NULL;
  for(size_t i = 0; i < s->nvhosts; i++)
    if(strcmp(s->vhosts[i], r->host) == 0)
      vhost = s->vhosts[i];
  int len = snprintf(j->path, sizeof(j->path), "%s%s%s%s%s", s->root,
                     vhost ? "/" : "", vhost ? vhost : "", dec,
                     dec[n - 1] == '/' ? "index.html" : "");
  if(len < 0 || (size_t)len >= sizeof(j->path)) {
    on_job_error(c, j, 404);
    return;
  }
  snprintf(j->raw, sizeof(j->raw), "%s", r->path);
  j->gbk = strstr(dec, "/gbk/") != NULL;
  j->enc = enc;
  j->chunked = (flags & SF_CHUNKED) != 0;
  j->vary = (flags & SF_VARY) != 0;
  copy_header(r->req, "If-None-Match", j->inm, sizeof(j->inm));
  copy_header(r->req, "If-Modified-Since", j->ims, sizeof(j->ims));
  int cl = q_text(r, "ctype", j->ctype, sizeof(j->ctype));
  if(cl == -EINVAL) {
    on_job_error(c, j, 400);
    return;
  }
  j->has_ctype = cl >= 0;
  j->c = c;
  j->work.data = j;
  if(uv_queue_work(s->loop, &j->work, job_work, job_done) != 0) {
    on_job_error(c, j, 500);
    return;
  }
  c->job = j;
  c->kind = R_FILE;
}

static void serve_encoded(conn *c, const route *r, int enc, size_t skip)
{
  long force = 0;
  if(q_long(r, "force", 0, 0, 1, &force) != 0) {
    send_error(c, 400, NULL);
    return;
  }
  if(!force && !accepts(r, enc_name(enc)))
    enc = ENC_NONE;
  serve_file(c, r, r->path + skip, enc, SF_VARY);
}

/* "/<prefix>/<n>/<rest>": parses n, sets *rest to "/<rest>". */
static int split_n(const route *r, size_t skip, long max, long *n,
                   const char **rest)
{
  const char *p = r->path + skip;
  const char *slash = strchr(p, '/');
  if(!slash || slash == p)
    return -EINVAL;
  if(qw_hp_parse_long(p, (size_t)(slash - p), 0, max, n) != 0)
    return -EINVAL;
  *rest = slash;
  return 0;
}

static int redirect_code(const route *r, long *code)
{
  if(q_long(r, "code", 302, 300, 399, code) != 0)
    return -EINVAL;
  return 0;
}

static void route_redirect(conn *c, const route *r)
{
  long n, code;
  const char *rest;
  if(split_n(r, 10, 1000, &n, &rest) != 0 || redirect_code(r, &code)) {
    send_error(c, 400, NULL);
    return;
  }
  if(n == 0) {
    serve_file(c, r, rest, ENC_NONE, 0);
    return;
  }
  sbuf loc = { 0 };
  sb_printf(&loc, "/redirect/%ld", n - 1);
  sb_puts(&loc, rest);
  if(r->query_len) {
    sb_puts(&loc, "?");
    sb_put(&loc, r->query, r->query_len);
  }
  if(loc.oom)
    conn_close(c);
  else
    send_redirect(c, (int)code, loc.d);
  free(loc.d);
}

static const char login_page[] =
  "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
  "<title>登录 - 优品商城</title>\n</head>\n<body>\n"
  "<div class=\"login-box\">\n<h1>密码登录</h1>\n"
  "<p class=\"tip\">您访问的页面需要登录后才能查看</p>\n"
  "<form id=\"login-form\" method=\"post\" action=\"/login/submit\">\n"
  "<input type=\"text\" name=\"loginId\" placeholder=\"手机号/会员名/邮箱\">\n"
  "<input type=\"password\" name=\"password\" placeholder=\"请输入登录密码\">\n"
  "<button type=\"submit\">登录</button>\n</form>\n"
  "<p><a href=\"/register\">免费注册</a> <a href=\"/forget\">忘记密码</a></p>\n"
  "</div>\n</body>\n</html>\n";

static const char captcha_page[] =
  "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
  "<title>安全验证</title>\n</head>\n<body>\n"
  "<div class=\"nc-container\" id=\"nc_1_wrapper\">\n"
  "<h2>请完成安全验证</h2>\n"
  "<p>亲，访问受限了，请拖动下方滑块完成验证后继续访问</p>\n"
  "<div class=\"nc_scale\">"
  "<span class=\"nc_iconfont btn_slide\">&gt;&gt;</span>"
  "<div class=\"scale_text\">请按住滑块，拖动到最右边</div></div>\n"
  "<p class=\"nc-lang-cnt\">滑块验证 · 智能验证服务提供技术支持</p>\n"
  "</div>\n</body>\n</html>\n";

static const char removed_page[] =
  "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
  "<title>宝贝不存在 - 优品商城</title>\n</head>\n<body>\n"
  "<div class=\"error-notice\">\n<h1>很抱歉，您查看的宝贝不存在，"
  "可能已下架或者被转移。</h1>\n"
  "<p>该商品已下架，您可以：</p>\n<ul>\n"
  "<li><a href=\"/\">去首页看看</a></li>\n"
  "<li><a href=\"/search\">搜索其他宝贝</a></li>\n</ul>\n"
  "<p class=\"status\">商品已下架</p>\n</div>\n</body>\n</html>\n";

static void route_stats(conn *c, const route *r)
{
  server *s = c->srv;
  char host[256], key[512];
  int hl = q_text(r, "host", host, sizeof(host));
  int kl = q_text(r, "counter", key, sizeof(key));
  if(hl == -EINVAL || kl == -EINVAL) {
    send_error(c, 400, NULL);
    return;
  }
  if(kl >= 0) {
    long long v;
    if(stats_counter(s, hl >= 0 ? host : NULL, key, &v) != 0) {
      send_error(c, 400, NULL);
      return;
    }
    char body[32];
    int n = snprintf(body, sizeof(body), "%lld\n", v);
    send_full(c, 200, "Cache-Control: no-store\r\n",
              "text/plain; charset=utf-8", body, (size_t)n);
    return;
  }
  sbuf b = { 0 };
  if(hl >= 0) {
    static const host_stats zero;
    const host_stats *h = host_find(s, host);
    host_json(&b, h ? h : &zero);
    sb_puts(&b, "\n");
  }
  else
    stats_json(&b, s);
  if(b.oom)
    conn_close(c);
  else
    send_full(c, 200, "Cache-Control: no-store\r\n", "application/json",
              b.d, b.len);
  free(b.d);
}

static void dispatch(conn *c, const route *r)
{
  server *s = c->srv;
  const char *p = r->path;
  long n;

  if(!strcmp(p, "/__stats")) {
    route_stats(c, r);
    return;
  }
  if(!strcmp(p, "/__reset")) {
    stats_reset(s);
    send_full(c, 200, NULL, "text/plain; charset=utf-8", "reset\n", 6);
    return;
  }
  if(!strcmp(p, "/echo")) {
    send_full(c, 200, "Cache-Control: no-store\r\n",
              "text/plain; charset=utf-8", c->in, c->head_len);
    return;
  }
  if(!strncmp(p, "/gz/", 4)) {
    serve_encoded(c, r, ENC_GZIP, 3);
    return;
  }
  if(!strncmp(p, "/br/", 4)) {
    serve_encoded(c, r, ENC_BR, 3);
    return;
  }
  if(!strncmp(p, "/zstd/", 6)) {
    serve_encoded(c, r, ENC_ZSTD, 5);
    return;
  }
  if(!strncmp(p, "/chunked/", 9)) {
    if(q_long(r, "ms", 0, 0, 10000, &n) != 0) {
      send_error(c, 400, NULL);
      return;
    }
    c->ms = (uint64_t)n;
    serve_file(c, r, p + 8, ENC_NONE, SF_CHUNKED);
    return;
  }
  if(!strncmp(p, "/redirect/", 10)) {
    route_redirect(c, r);
    return;
  }
  if(!strcmp(p, "/redirect-loop")) {
    send_redirect(c, 302, "/redirect-loop");
    return;
  }
  if(!strcmp(p, "/redirect-scheme")) {
    char scheme[17] = "ftp";
    int sl = q_text(r, "scheme", scheme, sizeof(scheme));
    if(sl == 0 || sl == -EINVAL) {
      send_error(c, 400, NULL);
      return;
    }
    for(const char *q = scheme; *q; q++)
      if(!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9' &&
            q != scheme) || *q == '+' || *q == '-' || *q == '.')) {
        send_error(c, 400, NULL);
        return;
      }
    char loc[320];
    snprintf(loc, sizeof(loc), "%s://%s/pub/listing.html", scheme,
             strcmp(r->host, "-") ? r->host : "127.0.0.1");
    send_redirect(c, 302, loc);
    return;
  }
  if(!strcmp(p, "/redirect-to")) {
    char url[4096];
    long code;
    if(q_text(r, "url", url, sizeof(url)) <= 0 || redirect_code(r, &code)) {
      send_error(c, 400, NULL);
      return;
    }
    send_redirect(c, (int)code, url);
    return;
  }
  if(is_prefix_route(r, "/login-redirect")) {
    sbuf loc = { 0 };
    sb_puts(&loc, "/login?from=");
    for(size_t i = 0; i < r->path_len; i++) {
      unsigned char ch = (unsigned char)r->path[i];
      if((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_')
        sb_put(&loc, &r->path[i], 1);
      else
        sb_printf(&loc, "%%%02X", ch);
    }
    if(loc.oom)
      conn_close(c);
    else
      send_redirect(c, 302, loc.d);
    free(loc.d);
    return;
  }
  if(!strcmp(p, "/login")) {
    send_full(c, 200, "Cache-Control: no-store\r\n",
              "text/html; charset=utf-8", login_page,
              sizeof(login_page) - 1);
    return;
  }
  if(is_prefix_route(r, "/captcha")) {
    send_full(c, 200, "Cache-Control: no-store\r\n",
              "text/html; charset=utf-8", captcha_page,
              sizeof(captcha_page) - 1);
    return;
  }
  if(is_prefix_route(r, "/removed")) {
    send_full(c, 200, NULL, "text/html; charset=utf-8", removed_page,
              sizeof(removed_page) - 1);
    return;
  }
  if(!strncmp(p, "/status/", 8)) {
    long code;
    char ra[128], loc[2048];
    int ral = q_text(r, "retry-after", ra, sizeof(ra));
    int locl = q_text(r, "location", loc, sizeof(loc));
    if(qw_hp_parse_long(p + 8, r->path_len - 8, 200, 599, &code) != 0 ||
       ral == -EINVAL || locl == -EINVAL) {
      send_error(c, 400, NULL);
      return;
    }
    sbuf h = { 0 };
    sb_puts(&h, "");
    if(ral >= 0)
      sb_printf(&h, "Retry-After: %s\r\n", ra);
    if(locl >= 0)
      sb_printf(&h, "Location: %s\r\n", loc);
    if(h.oom)
      conn_close(c);
    else
      send_error(c, (int)code, h.d);
    free(h.d);
    return;
  }
  if(!strncmp(p, "/flaky/", 7)) {
    const char *rest;
    if(split_n(r, 7, 1000, &n, &rest) != 0) {
      send_error(c, 400, NULL);
      return;
    }
    /* The path counter (already bumped for this request) is the count. */
    uint64_t seen = c->hs ? path_get(c->hs, r->path) : 0;
    if(seen > 0 && seen <= (uint64_t)n)
      send_error(c, 503, "Retry-After: 1\r\n");
    else
      serve_file(c, r, rest, ENC_NONE, 0);
    return;
  }
  if(!strcmp(p, "/drip")) {
    long bytes, ms;
    if(q_long(r, "bytes", 10, 0, 1 << 20, &bytes) ||
       q_long(r, "ms", 100, 1, 60000, &ms)) {
      send_error(c, 400, NULL);
      return;
    }
    char extra[64];
    snprintf(extra, sizeof(extra), "Content-Length: %ld\r\n", bytes);
    c->kind = bytes ? R_DRIP : R_FULL;
    c->left = (uint64_t)bytes;
    c->sent = 0;
    c->ms = (uint64_t)ms;
    if(bytes == 0) {
      send_full(c, 200, NULL, "text/plain; charset=utf-8", "", 0);
      return;
    }
    if(stream_head(c, "text/plain; charset=utf-8", extra) == 0)
      timer_start(c, T_DRIP, c->ms, on_drip);
    return;
  }
  if(!strcmp(p, "/slow")) {
    if(q_long(r, "ms", 1000, 0, 120000, &n) != 0) {
      send_error(c, 400, NULL);
      return;
    }
    c->kind = R_SLOW;
    c->ms = (uint64_t)n;
    timer_start(c, T_SLOW, c->ms, on_slow);
    return;
  }
  if(!strcmp(p, "/endless")) {
    c->kind = R_ENDLESS;
    c->left = ENDLESS_CAP;
    c->sent = 0;
    if(stream_head(c, "text/html; charset=utf-8",
                   "Transfer-Encoding: chunked\r\n") == 0)
      endless_step(c);
    return;
  }
  if(!strcmp(p, "/bomb")) {
    char extra[96];
    snprintf(extra, sizeof(extra), "Content-Encoding: gzip\r\n"
             "Content-Length: %zu\r\n", s->bomb_len);
    c->kind = R_FULL;
    if(stream_head(c, "text/html; charset=utf-8", extra) == 0)
      send_buf(c, (char *)s->bomb, s->bomb_len, 0, 1);
    return;
  }
  if(!strcmp(p, "/reset") || !strcmp(p, "/close-early")) {
    int reset = p[1] == 'r';
    long sent, length;
    if(q_long(r, "sent", reset ? 2000 : 1000, 0, 99999, &sent) ||
       q_long(r, "length", 100000, 1, 1 << 30, &length) || sent >= length) {
      send_error(c, 400, NULL);
      return;
    }
    char extra[64];
    snprintf(extra, sizeof(extra), "Content-Length: %ld\r\n", length);
    c->kind = reset ? R_RESET : R_CLOSE_EARLY;
    if(stream_head(c, "text/html; charset=utf-8", extra) != 0)
      return;
    char *body = malloc((size_t)sent + 1);
    if(!body) {
      conn_close(c);
      return;
    }
    for(long i = 0; i < sent; i++)
      body[i] = (char)(i % 64 == 63 ? '\n' : 'a' + i % 26);
    send_buf(c, body, (size_t)sent, 1, 1);
    return;
  }
  serve_file(c, r, p, ENC_NONE, 0);
}

/* ===== request intake ===== */

static void bad_request(conn *c, int code)
{
  c->srv->bad_requests++;
  c->req_busy = 1;
  c->keep_alive = 0;
  uv_timer_stop(&c->timer);
  send_error(c, code, NULL);
}

static void handle_request(conn *c, const qw_hp_request *req)
{
  server *s = c->srv;
  route r;
  char path[HEAD_MAX];

  memset(&r, 0, sizeof(r));
  r.req = req;
  c->req_busy = 1;
  c->head_len = req->head_len;
  uv_timer_stop(&c->timer);
  c->is_head = req->method_len == 4 && !memcmp(req->method, "HEAD", 4);
  int is_get = req->method_len == 3 && !memcmp(req->method, "GET", 3);

  const qw_hp_header *conn_h = qw_hp_get(req, "Connection");
  if(req->minor >= 1)
    c->keep_alive = !(conn_h && qw_hp_list_has(conn_h->value,
                                               conn_h->value_len, "close"));
  else
    c->keep_alive = conn_h && qw_hp_list_has(conn_h->value,
                                             conn_h->value_len,
                                             "keep-alive");
  const qw_hp_header *cl = qw_hp_get(req, "Content-Length");
  if(qw_hp_get(req, "Transfer-Encoding") ||
     (cl && !(cl->value_len == 1 && cl->value[0] == '0')))
    c->keep_alive = 0; /* a body we do not read */

  /* Target: origin-form, or absolute-form as a proxy would get it. */
  const char *t = req->target;
  size_t tl = req->target_len;
  const char *authority = NULL;
  size_t alen = 0;
  if(tl > 7 && !strncasecmp(t, "http://", 7)) {
    authority = t + 7;
    const char *slash = memchr(authority, '/', tl - 7);
    alen = slash ? (size_t)(slash - authority) : tl - 7;
    t = slash ? slash : "/";
    tl = slash ? (size_t)(req->target + req->target_len - slash) : 1;
  }
  if(tl == 0 || t[0] != '/') {
    bad_request(c, 400);
    return;
  }
  const char *hash = memchr(t, '#', tl);
  if(hash)
    tl = (size_t)(hash - t);
  const char *qm = memchr(t, '?', tl);
  size_t pl = qm ? (size_t)(qm - t) : tl;
  memcpy(path, t, pl);
  path[pl] = '\0';
  r.path = path;
  r.path_len = pl;
  r.query = qm ? qm + 1 : "";
  r.query_len = qm ? tl - pl - 1 : 0;

  /* Host: the authority of an absolute-form target wins. */
  const qw_hp_header *hh = NULL;
  size_t nhost = 0;
  for(size_t i = 0; i < req->nheaders; i++)
    if(req->headers[i].name_len == 4 &&
       !strncasecmp(req->headers[i].name, "Host", 4)) {
      hh = &req->headers[i];
      nhost++;
    }
  if(nhost > 1) {
    bad_request(c, 400);
    return;
  }
  if(authority || hh) {
    const char *hv = authority ? authority : hh->value;
    size_t hl = authority ? alen : hh->value_len;
    if(qw_hp_host(hv, hl, r.host, sizeof(r.host)) < 0) {
      bad_request(c, 400);
      return;
    }
  }
  else
    strcpy(r.host, "-");

  int control = !strcmp(path, "/__stats") || !strcmp(path, "/__reset");
  if(control) {
    if(c->req_started)
      s->inflight--;
    c->req_started = 0;
  }
  else {
    if(s->inflight > s->max_inflight)
      s->max_inflight = s->inflight;
    s->requests_total++;
    c->hs = host_get(s, r.host);
    c->hs->requests++;
    c->hs->inflight++;
    if(c->hs->inflight > c->hs->max_inflight)
      c->hs->max_inflight = c->hs->inflight;
    path_bump(c->hs, path, pl);
  }
  if(s->verbose)
    fprintf(stderr, "qw-test-httpd: %s %.*s %.*s\n", r.host,
            (int)req->method_len, req->method, (int)req->target_len,
            req->target);
  if(!is_get && !c->is_head) {
    send_error(c, 405, "Allow: GET, HEAD\r\n");
    return;
  }
  dispatch(c, &r);
}

static void try_parse(conn *c)
{
  qw_hp_request req;
  int r = qw_hp_parse(c->in, c->inlen, HEAD_MAX, &req);
  if(r == 0)
    return;
  if(r == -EMSGSIZE)
    bad_request(c, 431);
  else if(r == -EPROTONOSUPPORT)
    bad_request(c, 505);
  else if(r < 0)
    bad_request(c, 400);
  else
    handle_request(c, &req);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  conn *c = h->data;
  (void)suggested;
  buf->base = c->in + c->inlen;
  buf->len = HEAD_MAX - c->inlen;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
  conn *c = st->data;
  (void)buf;
  if(c->lingering) {
    if(nread < 0)
      conn_close(c);
    else
      c->inlen = 0;
    return;
  }
  if(nread == UV_ENOBUFS) {
    uv_read_stop(st);
    c->reading = 0;
    return;
  }
  if(nread < 0) {
    /* EOF or error: the client is gone (half-closing clients that still
     * wait for answers are not supported). */
    conn_close(c);
    return;
  }
  if(nread == 0)
    return;
  if(!c->req_started && !c->req_busy)
    start_request(c);
  c->inlen += (size_t)nread;
  if(!c->req_busy)
    try_parse(c);
  if(!c->closing && c->inlen == HEAD_MAX && c->reading) {
    uv_read_stop(st);
    c->reading = 0;
  }
}

static void read_resume(conn *c)
{
  if(c->reading || c->closing || c->lingering || c->inlen == HEAD_MAX)
    return;
  if(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = 1;
  else
    conn_close(c);
}

static void on_connection(uv_stream_t *ls, int status)
{
  server *s = ls->data;
  if(status < 0 || s->stopping)
    return;
  conn *c = calloc(1, sizeof(*c));
  if(!c)
    return;
  c->srv = s;
  c->handles_open = 2;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->next = s->conns;
  if(s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  if(uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c);
    return;
  }
  if(s->nconns > s->max_conns) {
    s->conn_refused++;
    conn_close(c);
    return;
  }
  s->conn_total++;
  uv_tcp_nodelay(&c->tcp, 1);
  timer_start(c, T_IDLE, s->idle_ms, on_timeout_close);
  read_resume(c);
}

/* ===== start-up and shutdown ===== */

/* The bomb: a gzip member whose deflate data is one segment (1 MiB of
 * zeros compressed from a fresh state, ended by a full flush so it is
 * byte-aligned and self-contained) repeated mib times, then an empty
 * final block and the trailer. The segment comes from zlib's deflate
 * streaming API; repeating it keeps start-up instant. */
static int bomb_build(server *s, size_t mib)
{
  const size_t seg_in = 1u << 20;
  unsigned char *zeros = calloc(1, seg_in);
  unsigned char seg[4096];
  z_stream z;
  memset(&z, 0, sizeof(z));
  if(!zeros)
    return -ENOMEM;
  if(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_RLE) != Z_OK) {
    free(zeros);
    return -ENOMEM;
  }
  z.next_in = zeros;
  z.avail_in = (uInt)seg_in;
  z.next_out = seg;
  z.avail_out = sizeof(seg);
  int r = deflate(&z, Z_FULL_FLUSH);
  size_t seg_len = sizeof(seg) - z.avail_out;
  deflateEnd(&z);
  uLong crc1 = crc32(0L, zeros, (uInt)seg_in);
  free(zeros);
  if(r != Z_OK || z.avail_in != 0 || z.avail_out == 0)
    return -EIO;
  s->bomb_len = 10 + seg_len * mib + 2 + 8;
  s->bomb = malloc(s->bomb_len);
  if(!s->bomb)
    return -ENOMEM;
  static const unsigned char gz_head[10] = {
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3
  };
  unsigned char *p = s->bomb;
  memcpy(p, gz_head, 10);
  p += 10;
  uLong crc = 0;
  for(size_t i = 0; i < mib; i++) {
    memcpy(p, seg, seg_len);
    p += seg_len;
    crc = i ? crc32_combine(crc, crc1, (z_off_t)seg_in) : crc1;
  }
  *p++ = 0x03; /* BFINAL, fixed Huffman, end-of-block */
  *p++ = 0x00;
  uint32_t isize = (uint32_t)((uint64_t)mib * seg_in);
  for(int i = 0; i < 4; i++)
    *p++ = (unsigned char)(crc >> (8 * i));
  for(int i = 0; i < 4; i++)
    *p++ = (unsigned char)(isize >> (8 * i));
  return 0;
}

static void begin_shutdown(server *s, int code)
{
  if(s->stopping)
    return;
  s->stopping = 1;
  s->exit_code = code;
  for(size_t i = 0; i < s->nlisten; i++)
    uv_close((uv_handle_t *)&s->listeners[i], NULL);
  while(s->conns)
    conn_close(s->conns);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->deadline, NULL);
  /* Already on the way out: a late SIGTERM must not turn a clean exit
   * into death by signal. */
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
}

static void on_signal(uv_signal_t *h, int signum)
{
  (void)signum;
  begin_shutdown(h->data, 0);
}

static void on_deadline(uv_timer_t *t)
{
  fprintf(stderr, "qw-test-httpd: --max-seconds reached, exiting\n");
  begin_shutdown(t->data, 3);
}

/* 1 when addr is a loopback literal; fills sa. */
static int loopback_addr(const char *addr, int port,
                         struct sockaddr_storage *sa, socklen_t *len)
{
  struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
  memset(sa, 0, sizeof(*sa));
  if(inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
    if((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
      return 0;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof(*a4);
    return 1;
  }
  if(inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
    if(!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
      return 0;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof(*a6);
    return 1;
  }
  return 0;
}

static int bind_one(const char *addr, int port)
{
  struct sockaddr_storage sa;
  socklen_t len;
  int one = 1;
  if(!loopback_addr(addr, port, &sa, &len))
    return -EINVAL;
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  0);
  if(fd < 0)
    return -errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if(bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 511) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

/* Binds every address on one port (a free one when *port is 0). Fills
 * fds; returns 0 or a negative errno. */
static int bind_all(const char *const *addrs, size_t n, int *port, int *fds)
{
  for(int attempt = 0; attempt < 50; attempt++) {
    int p = *port;
    size_t i;
    int r = 0;
    for(i = 0; i < n; i++) {
      r = bind_one(addrs[i], p);
      if(r < 0)
        break;
      fds[i] = r;
      if(p == 0) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        if(getsockname(r, (struct sockaddr *)&sa, &len) != 0) {
          r = -errno;
          i++;
          break;
        }
        p = ntohs(sa.ss_family == AF_INET ?
                  ((struct sockaddr_in *)&sa)->sin_port :
                  ((struct sockaddr_in6 *)&sa)->sin6_port);
      }
    }
    if(r >= 0) {
      *port = p;
      return 0;
    }
    while(i > 0)
      close(fds[--i]);
    if(r != -EADDRINUSE || *port != 0)
      return r;
  }
  return -EADDRINUSE;
}

static int scan_vhosts(server *s)
{
  uv_fs_t req;
  uv_dirent_t ent;
  int r = uv_fs_scandir(NULL, &req, s->root, 0, NULL);
  if(r < 0)
    return r;
  while(uv_fs_scandir_next(&req, &ent) != UV_EOF) {
    if(s->nvhosts == MAX_VHOSTS)
      continue;
    if(ent.type == UV_DIRENT_UNKNOWN) {
      char full[PATH_MAX];
      struct stat st;
      snprintf(full, sizeof(full), "%s/%s", s->root, ent.name);
      if(stat(full, &st) != 0 || !S_ISDIR(st.st_mode))
        continue;
    }
    else if(ent.type != UV_DIRENT_DIR)
      continue;
    char *name = strdup(ent.name);
    if(!name) {
      uv_fs_req_cleanup(&req);
      return -ENOMEM;
    }
    s->vhosts[s->nvhosts++] = name;
  }
  uv_fs_req_cleanup(&req);
  return 0;
}

static void server_free(server *s)
{
  for(size_t i = 0; i < s->nhosts; i++) {
    host_clear(s->hosts[i]);
    free(s->hosts[i]->paths);
    free(s->hosts[i]);
  }
  host_clear(&s->other);
  free(s->other.paths);
  for(size_t i = 0; i < s->nvhosts; i++)
    free(s->vhosts[i]);
  free(s->bomb);
}

static void usage(void)
{
  fprintf(stderr,
          "usage: qw-test-httpd --root DIR [--listen ADDR]... [--port N]\n"
          "         [--max-seconds N] [--max-conns N] [--header-ms N]\n"
          "         [--idle-ms N] [--bomb-mib N] [--verbose]\n"
          "ADDR must be a loopback address (127.0.0.0/8 or ::1).\n");
}

static int arg_long(const char *v, long min, long max, long *out)
{
  if(!v || qw_hp_parse_long(v, strlen(v), min, max, out) != 0) {
    usage();
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  static server s;
  const char *addrs[MAX_LISTEN];
  size_t naddrs = 0;
  long port = 0, max_seconds = 120, max_conns = 256, header_ms = 10000;
  long idle_ms = 30000, bomb_mib = 1024;
  int fds[MAX_LISTEN];

  for(int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int r = 0;
    if(!strcmp(a, "--verbose")) {
      s.verbose = 1;
      continue;
    }
    if(!v) {
      usage();
      return 2;
    }
    i++;
    if(!strcmp(a, "--root"))
      s.root = v;
    else if(!strcmp(a, "--listen")) {
      struct sockaddr_storage sa;
      socklen_t len;
      if(!loopback_addr(v, 0, &sa, &len)) {
        fprintf(stderr, "qw-test-httpd: refusing --listen %s: only "
                "loopback addresses are allowed\n", v);
        return 2;
      }
      if(naddrs == MAX_LISTEN) {
        usage();
        return 2;
      }
      addrs[naddrs++] = v;
    }
    else if(!strcmp(a, "--port"))
      r = arg_long(v, 0, 65535, &port);
    else if(!strcmp(a, "--max-seconds"))
      r = arg_long(v, 0, 86400, &max_seconds);
    else if(!strcmp(a, "--max-conns"))
      r = arg_long(v, 1, 4096, &max_conns);
    else if(!strcmp(a, "--header-ms"))
      r = arg_long(v, 1, 600000, &header_ms);
    else if(!strcmp(a, "--idle-ms"))
      r = arg_long(v, 1, 600000, &idle_ms);
    else if(!strcmp(a, "--bomb-mib"))
      r = arg_long(v, 1, 4095, &bomb_mib);
    else {
      usage();
      return 2;
    }
    if(r)
      return 2;
  }
  if(!s.root) {
    usage();
    return 2;
  }
  if(naddrs == 0)
    addrs[naddrs++] = "127.0.0.1";
  s.max_conns = max_conns;
  s.header_ms = (uint64_t)header_ms;
  s.idle_ms = (uint64_t)idle_ms;
  snprintf(s.other.name, sizeof(s.other.name), "(other)");
  signal(SIGPIPE, SIG_IGN);

  int r = scan_vhosts(&s);
  if(r < 0) {
    fprintf(stderr, "qw-test-httpd: --root %s: %s\n", s.root,
            uv_strerror(r));
    server_free(&s);
    return 2;
  }
  r = bomb_build(&s, (size_t)bomb_mib);
  if(r < 0) {
    fprintf(stderr, "qw-test-httpd: cannot build /bomb: %s\n",
            strerror(-r));
    server_free(&s);
    return 1;
  }
  int iport = (int)port;
  r = bind_all(addrs, naddrs, &iport, fds);
  if(r < 0) {
    fprintf(stderr, "qw-test-httpd: bind: %s\n", strerror(-r));
    server_free(&s);
    return 1;
  }

  s.loop = uv_default_loop();
  for(size_t i = 0; i < naddrs; i++) {
    uv_tcp_init(s.loop, &s.listeners[i]);
    s.listeners[i].data = &s;
    s.nlisten++;
    r = uv_tcp_open(&s.listeners[i], fds[i]);
    if(r == 0)
      r = uv_listen((uv_stream_t *)&s.listeners[i], 511, on_connection);
    if(r != 0) {
      fprintf(stderr, "qw-test-httpd: listen %s: %s\n", addrs[i],
              uv_strerror(r));
      for(size_t k = i + 1; k < naddrs; k++)
        close(fds[k]);
      s.exit_code = 1;
      break;
    }
  }
  uv_signal_init(s.loop, &s.sigterm);
  uv_signal_init(s.loop, &s.sigint);
  uv_timer_init(s.loop, &s.deadline);
  s.sigterm.data = &s;
  s.sigint.data = &s;
  s.deadline.data = &s;
  if(s.exit_code == 0) {
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    if(max_seconds > 0)
      uv_timer_start(&s.deadline, on_deadline,
                     (uint64_t)max_seconds * 1000, 0);
    printf("PORT %d\n", iport);
    fflush(stdout);
    if(s.verbose)
      fprintf(stderr, "qw-test-httpd: serving %s on port %d\n", s.root,
              iport);
  }
  else
    begin_shutdown(&s, s.exit_code);
  uv_run(s.loop, UV_RUN_DEFAULT);
  r = uv_loop_close(s.loop);
  if(r != 0) {
    fprintf(stderr, "qw-test-httpd: loop not empty at exit: %s\n",
            uv_strerror(r));
    uv_print_all_handles(s.loop, stderr);
    if(s.exit_code == 0)
      s.exit_code = 1;
  }
  server_free(&s);
  uv_library_shutdown();
  return s.exit_code;
}
