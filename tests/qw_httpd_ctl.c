/* qw_httpd_ctl.c — starts, queries and stops qw-test-httpd for the Check
 * suites (see qw_httpd_ctl.h). */
#include "qw_httpd_ctl.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int server_path(char *buf, size_t n)
{
  const char *p = getenv("QW_HTTPD");
  int len;
  if(p && *p)
    len = snprintf(buf, n, "%s", p);
  else {
    const char *b = getenv("QW_BUILD_DIR");
    if(!b || !*b) {
      fprintf(stderr, "qw_httpd: neither QW_HTTPD nor QW_BUILD_DIR set\n");
      return -ENOENT;
    }
    len = snprintf(buf, n, "%s/tests/httpd/qw-test-httpd", b);
  }
  if(len < 0 || (size_t)len >= n)
    return -ENAMETOOLONG;
  if(access(buf, X_OK) != 0) {
    int e = errno;
    fprintf(stderr, "qw_httpd: %s: %s\n", buf, strerror(e));
    return -e;
  }
  return 0;
}

/* Reaps pid, waiting at most ms milliseconds. Returns the decoded exit
 * status, or -1 when it is still running. */
static int reap(pid_t pid, long long ms)
{
  long long end = now_ms() + ms;
  for(;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if(r == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) :
             WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
    if(r < 0 && errno != EINTR)
      return -2; /* not our child any more */
    if(now_ms() >= end)
      return -1;
    struct timespec ts = { 0, 5 * 1000000 };
    nanosleep(&ts, NULL);
  }
}

/* Reads "PORT <n>\n" from fd within ms. Returns the port or -errno. */
static int read_port(int fd, long long ms)
{
  char line[64];
  size_t n = 0;
  long long end = now_ms() + ms;
  while(n < sizeof(line) - 1) {
    long long left = end - now_ms();
    if(left <= 0)
      return -ETIMEDOUT;
    struct pollfd p = { fd, POLLIN, 0 };
    int r = poll(&p, 1, (int)left);
    if(r < 0 && errno == EINTR)
      continue;
    if(r < 0)
      return -errno;
    if(r == 0)
      return -ETIMEDOUT;
    ssize_t got = read(fd, line + n, 1);
    if(got < 0 && errno == EINTR)
      continue;
    if(got < 0)
      return -errno;
    if(got == 0)
      return -EPIPE; /* exited before binding */
    if(line[n] == '\n') {
      line[n] = '\0';
      int port;
      char extra;
      if(sscanf(line, "PORT %d%c", &port, &extra) != 1 || port <= 0 ||
         port > 65535)
        return -EPROTO;
      return port;
    }
    n++;
  }
  return -EPROTO;
}

int qw_httpd_start_args(const char *root, const char *const *listen_addrs,
                        int max_seconds, const char *const *extra,
                        qw_httpd *out)
{
  char bin[PATH_MAX], secs[16];
  const char *argv[64];
  size_t argc = 0;
  int fds[2], r;

  memset(out, 0, sizeof(*out));
  out->exit_status = -1;
  r = server_path(bin, sizeof(bin));
  if(r)
    return r;
  argv[argc++] = bin;
  argv[argc++] = "--root";
  argv[argc++] = root;
  for(size_t i = 0; listen_addrs && listen_addrs[i]; i++) {
    if(out->naddrs == QW_HTTPD_MAX_ADDRS ||
       strlen(listen_addrs[i]) >= sizeof(out->addrs[0]))
      return -E2BIG;
    snprintf(out->addrs[out->naddrs++], sizeof(out->addrs[0]), "%s",
             listen_addrs[i]);
    argv[argc++] = "--listen";
    argv[argc++] = listen_addrs[i];
  }
  if(out->naddrs == 0) {
    snprintf(out->addrs[0], sizeof(out->addrs[0]), "127.0.0.1");
    out->naddrs = 1;
  }
  if(max_seconds > 0) {
    snprintf(secs, sizeof(secs), "%d", max_seconds);
    argv[argc++] = "--max-seconds";
    argv[argc++] = secs;
  }
  for(size_t i = 0; extra && extra[i]; i++) {
    if(argc >= sizeof(argv) / sizeof(argv[0]) - 1)
      return -E2BIG;
    argv[argc++] = extra[i];
  }
  argv[argc] = NULL;

  if(pipe2(fds, O_CLOEXEC) != 0)
    return -errno;
  pid_t parent = getpid();
  pid_t pid = fork();
  if(pid < 0) {
    r = -errno;
    close(fds[0]);
    close(fds[1]);
    return r;
  }
  if(pid == 0) {
    /* Only async-signal-safe calls from here to exec. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if(getppid() != parent)
      _exit(127);
    if(dup2(fds[1], STDOUT_FILENO) < 0)
      _exit(127);
    execv(bin, (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  close(fds[1]);
  r = read_port(fds[0], 15000);
  close(fds[0]);
  if(r < 0) {
    int st;
    if(r == -ETIMEDOUT)
      kill(pid, SIGKILL);
    st = reap(pid, r == -ETIMEDOUT ? 5000 : 2000);
    if(st == -1) {
      kill(pid, SIGKILL);
      st = reap(pid, 5000);
    }
    fprintf(stderr, "qw_httpd: server did not start (%s, exit status %d)\n",
            r == -EPIPE ? "it exited before binding" : strerror(-r), st);
    return st == 2 ? -EINVAL : r;
  }
  out->pid = pid;
  out->port = r;
  return 0;
}

int qw_httpd_start(const char *root, const char *const *listen_addrs,
                   int max_seconds, qw_httpd *out)
{
  return qw_httpd_start_args(root, listen_addrs, max_seconds, NULL, out);
}

void qw_httpd_stop(qw_httpd *h)
{
  if(h->pid <= 0)
    return;
  kill(h->pid, SIGTERM);
  int st = reap(h->pid, 10000);
  if(st == -1) {
    fprintf(stderr, "qw_httpd: server %d ignored SIGTERM, killing it\n",
            (int)h->pid);
    kill(h->pid, SIGKILL);
    st = reap(h->pid, 10000);
  }
  h->exit_status = st < 0 ? -1 : st;
  h->pid = 0;
}

int qw_httpd_wait(qw_httpd *h, long timeout_ms)
{
  if(h->pid <= 0)
    return 0;
  int st = reap(h->pid, timeout_ms);
  if(st == -1)
    return -ETIMEDOUT;
  h->exit_status = st < 0 ? -1 : st;
  h->pid = 0;
  return 0;
}

char *qw_httpd_url(const qw_httpd *h, const char *addr, const char *path,
                   char *buf, size_t n)
{
  const char *a = addr ? addr : h->addrs[0];
  int v6 = strchr(a, ':') != NULL;
  snprintf(buf, n, "http://%s%s%s:%d%s", v6 ? "[" : "", a, v6 ? "]" : "",
           h->port, path);
  return buf;
}

typedef struct {
  char *d;
  size_t len;
  int oom;
} body;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
  body *b = ud;
  size_t n = sz * nm;
  if(b->len + n > (64u << 20)) {
    b->oom = 1;
    return 0;
  }
  char *d = realloc(b->d, b->len + n + 1);
  if(!d) {
    b->oom = 1;
    return 0;
  }
  memcpy(d + b->len, p, n);
  b->len += n;
  d[b->len] = '\0';
  b->d = d;
  return n;
}

/* GET path on the first listen address; *out gets the malloc'd body. */
static int get(const qw_httpd *h, const char *path, char **out)
{
  char url[4096];
  body b = { NULL, 0, 0 };
  long code = 0;
  if(h->pid <= 0)
    return -ESRCH;
  CURL *e = curl_easy_init();
  if(!e)
    return -ENOMEM;
  qw_httpd_url(h, NULL, path, url, sizeof(url));
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  CURLcode res = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(e);
  if(res != CURLE_OK || code != 200 || b.oom) {
    fprintf(stderr, "qw_httpd: GET %s: %s, status %ld\n", url,
            curl_easy_strerror(res), code);
    free(b.d);
    return res == CURLE_OK && code == 400 ? -EINVAL : -EIO;
  }
  if(!b.d) {
    b.d = calloc(1, 1);
    if(!b.d)
      return -ENOMEM;
  }
  *out = b.d;
  return 0;
}

/* Appends "&name=<value, percent-encoded>" (or '?' first). */
static int add_param(char *buf, size_t n, const char *name, const char *v)
{
  size_t len = strlen(buf);
  int w = snprintf(buf + len, n - len, "%c%s=", strchr(buf, '?') ? '&' :
                   '?', name);
  if(w < 0 || (size_t)w >= n - len)
    return -ENAMETOOLONG;
  len += (size_t)w;
  for(const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if(len + 4 >= n)
      return -ENAMETOOLONG;
    if((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
       (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_')
      buf[len++] = (char)*p;
    else
      len += (size_t)snprintf(buf + len, n - len, "%%%02X", *p);
  }
  buf[len] = '\0';
  return 0;
}

int qw_httpd_stats(const qw_httpd *h, const char *host, char **json)
{
  char path[1024] = "/__stats";
  if(host && add_param(path, sizeof(path), "host", host) != 0)
    return -ENAMETOOLONG;
  return get(h, path, json);
}

long long qw_httpd_counter(const qw_httpd *h, const char *host,
                           const char *name)
{
  char path[2048] = "/__stats";
  char *txt = NULL;
  if(add_param(path, sizeof(path), "counter", name) != 0 ||
     (host && add_param(path, sizeof(path), "host", host) != 0))
    return -ENAMETOOLONG;
  int r = get(h, path, &txt);
  if(r)
    return r;
  char *end;
  errno = 0;
  long long v = strtoll(txt, &end, 10);
  int bad = errno != 0 || end == txt || (*end != '\n' && *end != '\0') ||
            v < 0;
  free(txt);
  return bad ? -EPROTO : v;
}

int qw_httpd_reset(const qw_httpd *h)
{
  char *txt = NULL;
  int r = get(h, "/__reset", &txt);
  free(txt);
  return r;
}
