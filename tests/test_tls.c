/* test_tls.c — what a fetch through TLS, HTTP/2 and a proxy gives, against
 * a real nginx from Debian started here on loopback: a CA and a server
 * certificate made with the openssl command for this run; HTTPS verified
 * with the configured CA (ok, HTTP/2 by ALPN) and refused without it (tls),
 * verify_tls=no; [site HOST] proxies the request goes through: http://,
 * https:// (TLS to the proxy) and socks5h:// (a SOCKS5 relay on a thread
 * of this test). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qw_test.h"

static char dir[64];
static int tls_port, proxy_port, tls_proxy_port, dead_port;
static pid_t nginx_pid;

static void write_file(const char *name, const char *text)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void run_cmd(const char *cmd)
{
  int rc = system(cmd);
  ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

static const char page[] =
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
  "<title>康宁 电子血压计 上臂式 - 康宁医疗旗舰店</title></head><body>"
  "<h1>康宁 电子血压计 上臂式</h1><p>三天见效，根治高血压，无效退款！</p>"
  "<table><tr><th>注册证编号</th><td>苏械注准20212070123</td></tr></table>"
  "</body></html>";

static void start_nginx(void)
{
  strcpy(dir, "/tmp/qw-tls-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  /* a CA, and a certificate for 127.0.0.1 and localhost signed by it */
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "cd %s && openssl req -x509 -newkey rsa:2048 "
           "-nodes -days 2 -subj '/CN=qingwang test CA' -keyout ca.key "
           "-out ca.pem >/dev/null 2>&1", dir);
  run_cmd(cmd);
  snprintf(cmd, sizeof(cmd), "cd %s && openssl req -newkey rsa:2048 -nodes "
           "-subj '/CN=127.0.0.1' -keyout srv.key -out srv.csr "
           ">/dev/null 2>&1", dir);
  run_cmd(cmd);
  write_file("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  snprintf(cmd, sizeof(cmd), "cd %s && openssl x509 -req -in srv.csr "
           "-CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
           "-extfile san.ext -out srv.pem >/dev/null 2>&1", dir);
  run_cmd(cmd);
  char d[300];
  snprintf(d, sizeof(d), "%s/site", dir);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  snprintf(d, sizeof(d), "%s/proxied", dir);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  write_file("site/item.html", page);
  write_file("proxied/item.html",
             "<html><head><meta charset=utf-8><title>经代理取得</title>"
             "</head><body><p>代理</p></body></html>");
  tls_port = qw_test_closed_port();
  proxy_port = qw_test_closed_port();
  tls_proxy_port = qw_test_closed_port();
  dead_port = qw_test_closed_port();
  char conf[6144];
  snprintf(conf, sizeof(conf),
    "daemon off; master_process off; worker_processes 1;\n"
    "pid %s/nginx.pid; error_log %s/error.log;\n"
    "events { worker_connections 256; }\n"
    "http {\n"
    "  access_log off; client_body_temp_path %s/tmp;\n"
    "  proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
    "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
    "  types { text/html html; }\n"
    "  log_format conn '$connection $server_protocol $request_uri';\n"
    "  server { listen 127.0.0.1:%d ssl http2;\n"
    "    ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key;\n"
    "    access_log %s/tls.log conn;\n"
    "    charset utf-8; root %s/site; }\n"
    "  # an HTTP proxy: absolute-form requests for any host are answered\n"
    "  # from here, so a page can only come from this root through it\n"
    "  server { listen 127.0.0.1:%d; charset utf-8;\n"
    "    add_header X-Qw-Proxy yes; root %s/proxied; }\n"
    "  # the same over TLS: an https:// proxy\n"
    "  server { listen 127.0.0.1:%d ssl; charset utf-8;\n"
    "    ssl_certificate %s/srv.pem; ssl_certificate_key %s/srv.key;\n"
    "    add_header X-Qw-Proxy tls; root %s/proxied; }\n"
    "}\n",
    dir, dir, dir, dir, dir, dir, dir, tls_port, dir, dir, dir, dir,
    proxy_port, dir, tls_proxy_port, dir, dir, dir);
  write_file("nginx.conf", conf);
  snprintf(d, sizeof(d), "%s/tmp", dir);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  char cpath[300];
  snprintf(cpath, sizeof(cpath), "%s/nginx.conf", dir);
  nginx_pid = fork();
  ck_assert_int_ge(nginx_pid, 0);
  if(nginx_pid == 0) {
    execlp("nginx", "nginx", "-p", dir, "-c", cpath, (char *)NULL);
    _exit(127);
  }
  /* ready when both ports accept */
  for(int i = 0; i < 100; i++) {
    int up = 0;
    int ports[3] = {tls_port, proxy_port, tls_proxy_port};
    for(int k = 0; k < 3; k++) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      struct sockaddr_in a;
      memset(&a, 0, sizeof(a));
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons((uint16_t)ports[k]);
      up += connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
      close(fd);
    }
    if(up == 3)
      return;
    int st;
    ck_assert_msg(waitpid(nginx_pid, &st, WNOHANG) == 0,
                  "nginx exited (see %s/error.log)", dir);
    usleep(50000);
  }
  ck_abort_msg("nginx did not start listening");
}

static void stop_nginx(void)
{
  if(nginx_pid > 0) {
    kill(nginx_pid, SIGTERM);
    waitpid(nginx_pid, NULL, 0);
    nginx_pid = 0;
  }
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  if(system(cmd) != 0)
    fprintf(stderr, "test_tls: could not remove %s\n", dir);
}

static json_t *scan1(const char *url, const char *const *extra, int *status,
                     char **err_out)
{
  const char *a[32] = {"qingwang", "scan", "--json", "--no-progress",
                       "--no-evidence", "--set", "fetch.max_attempts=1"};
  int n = 7;
  for(int i = 0; extra && extra[i]; i++)
    a[n++] = extra[i];
  a[n++] = url;
  a[n] = NULL;
  char *out, *err;
  *status = qw_test_run(a, NULL, &out, &err);
  json_error_t je;
  json_t *c = json_loads(out, 0, &je);
  ck_assert_msg(c != NULL, "not one clue: %s / %s", out, err);
  free(out);
  if(err_out)
    *err_out = err;
  else
    free(err);
  return c;
}

static const char *fetch_str(json_t *c, const char *k)
{
  return json_string_value(json_object_get(json_object_get(c, "fetch"), k));
}

/* The response headers the clue keeps (evidence.headers) contain line. */
static void assert_response_header(json_t *c, const char *line)
{
  const char *h = json_string_value(json_object_get(
                    json_object_get(c, "evidence"), "headers"));
  ck_assert_msg(h && strstr(h, line), "no \"%s\" in %s", line,
                h ? h : "(none)");
}

START_TEST(test_https_verified_http2)
{
  char url[128], ca[300], set_ca[320];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/item.html", tls_port);
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  snprintf(set_ca, sizeof(set_ca), "fetch.ca_path=%s", ca);
  const char *with_ca[] = {"--set", set_ca, NULL};
  int st;
  json_t *c = scan1(url, with_ca, &st, NULL);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  ck_assert_str_eq(fetch_str(c, "http_version"), "2");
  ck_assert_int_eq(st, 1); /* the page makes claims */
  ck_assert_str_eq(json_string_value(json_object_get(
                     json_object_get(c, "page"), "title")),
                   "康宁 电子血压计 上臂式 - 康宁医疗旗舰店");
  json_decref(c);

  /* HTTP/1.1 when HTTP/2 is switched off */
  const char *h1[] = {"--set", set_ca, "--set", "fetch.http2=no", NULL};
  c = scan1(url, h1, &st, NULL);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  ck_assert_str_eq(fetch_str(c, "http_version"), "1.1");
  json_decref(c);
}
END_TEST

/* Many pages of one HTTP/2 host at once share one connection: nginx logs
 * the connection number of every request. */
START_TEST(test_http2_multiplexed)
{
  char ca[300], set_ca[320], urls[12][128];
  snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
  snprintf(set_ca, sizeof(set_ca), "fetch.ca_path=%s", ca);
  const char *a[40] = {"qingwang", "scan", "--json", "--no-progress",
                       "--no-evidence", "--set", set_ca,
                       "--set", "fetch.host_concurrency=12",
                       "--set", "fetch.host_delay_ms=0",
                       "--set", "fetch.obey_robots=no"};
  int n = 13;
  for(int i = 0; i < 12; i++) {
    snprintf(urls[i], sizeof(urls[i]),
             "https://127.0.0.1:%d/item.html?n=%d", tls_port, i);
    a[n++] = urls[i];
  }
  a[n] = NULL;
  char *out, *err;
  int st = qw_test_run(a, NULL, &out, &err);
  ck_assert_msg(st == 1, "status %d: %s", st, err);
  free(out);
  free(err);
  char path[300], line[512];
  snprintf(path, sizeof(path), "%s/tls.log", dir);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  long conns[64];
  int nc = 0, reqs = 0;
  while(fgets(line, sizeof(line), f)) {
    long c;
    char proto[32];
    if(sscanf(line, "%ld %31s", &c, proto) != 2 || !strstr(line, "?n="))
      continue;
    ck_assert_str_eq(proto, "HTTP/2.0");
    reqs++;
    int seen = 0;
    for(int k = 0; k < nc; k++)
      seen |= conns[k] == c;
    if(!seen && nc < 64)
      conns[nc++] = c;
  }
  fclose(f);
  ck_assert_int_eq(reqs, 12);
  ck_assert_msg(nc <= 2, "%d connections for 12 requests", nc);
  /* The same over HTTP/2 with a body budget smaller than one page:
   * streams of a shared connection pause and resume (one at a time), and
   * every page still arrives whole. */
  a[13] = "--set";
  a[14] = "fetch.body_memory=4K";
  for(int i = 0; i < 12; i++)
    a[15 + i] = urls[i];
  a[27] = NULL;
  st = qw_test_run(a, NULL, &out, &err);
  ck_assert_msg(st == 1, "status %d: %s", st, err);
  int ok = 0;
  for(const char *p = out; (p = strstr(p, "\"outcome\":\"ok\"")) != NULL; p++)
    ok++;
  ck_assert_msg(ok == 12, "%d of 12 pages ok under a 4K body budget: %s",
                ok, err);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_https_unverified)
{
  char url[128];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/item.html", tls_port);
  int st;
  /* the system's CAs do not know this one: refused, as a tls outcome */
  json_t *c = scan1(url, NULL, &st, NULL);
  ck_assert_str_eq(fetch_str(c, "outcome"), "tls");
  ck_assert_int_eq(st, 0);
  json_decref(c);
  /* verification off (a regulator's own test site, say) */
  const char *off[] = {"--set", "fetch.verify_tls=no", NULL};
  c = scan1(url, off, &st, NULL);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  json_decref(c);
}
END_TEST

/* Scans url with a config that sends HOST's requests through proxy (and
 * knows this run's CA). */
static json_t *scan_via(const char *url, const char *host, const char *proxy)
{
  char conf[300], text[600];
  snprintf(conf, sizeof(conf), "%s/qingwang.conf", dir);
  snprintf(text, sizeof(text), "[fetch]\nca_path = %s/ca.pem\n"
           "[site %s]\nproxy = %s\n", dir, host, proxy);
  write_file("qingwang.conf", text);
  const char *via[] = {"-c", conf, NULL};
  int st;
  return scan1(url, via, &st, NULL);
}

START_TEST(test_site_proxy)
{
  /* 127.0.0.2:dead_port has no server: the page can only come through the
   * proxy configured for that site */
  char url[128], proxy[64];
  snprintf(url, sizeof(url), "http://127.0.0.2:%d/item.html", dead_port);
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", proxy_port);
  json_t *c = scan_via(url, "127.0.0.2", proxy);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  ck_assert_str_eq(json_string_value(json_object_get(
                     json_object_get(c, "page"), "title")), "经代理取得");
  assert_response_header(c, "X-Qw-Proxy: yes");
  json_decref(c);
  /* without the site's proxy the same URL cannot be fetched */
  int st;
  c = scan1(url, NULL, &st, NULL);
  ck_assert_str_eq(fetch_str(c, "outcome"), "connect");
  json_decref(c);
  /* a proxy that is down is the proxy's failure */
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", dead_port);
  c = scan_via(url, "127.0.0.2", proxy);
  ck_assert_str_eq(fetch_str(c, "outcome"), "proxy");
  json_decref(c);
}
END_TEST

/* An https:// proxy: TLS to the proxy, verified with the configured CA. */
START_TEST(test_tls_proxy)
{
  char url[128], proxy[64];
  snprintf(url, sizeof(url), "http://127.0.0.2:%d/item.html", dead_port);
  snprintf(proxy, sizeof(proxy), "https://127.0.0.1:%d", tls_proxy_port);
  json_t *c = scan_via(url, "127.0.0.2", proxy);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  assert_response_header(c, "X-Qw-Proxy: tls");
  json_decref(c);
}
END_TEST

/* A SOCKS5 proxy (RFC 1928, no authentication, CONNECT only) on a thread
 * of this test: it relays one connection at a time to where it is asked,
 * and counts the CONNECTs, so the test knows the request went through. */
typedef struct {
  int lfd, port;
  volatile int connects;
  pthread_t th;
} socks;

static int read_n(int fd, unsigned char *b, size_t n)
{
  size_t got = 0;
  while(got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if(r <= 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

static void relay(int a, int b)
{
  struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  unsigned char buf[16384];
  for(;;) {
    if(poll(p, 2, 5000) <= 0)
      return;
    for(int k = 0; k < 2; k++) {
      if(!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t r = read(p[k].fd, buf, sizeof(buf));
      if(r <= 0 || write(p[1 - k].fd, buf, (size_t)r) != r)
        return;
    }
  }
}

static void *socks_main(void *arg)
{
  socks *sx = arg;
  for(;;) {
    int c = accept(sx->lfd, NULL, NULL);
    if(c < 0)
      return NULL;
    unsigned char b[262];
    int t = -1;
    if(read_n(c, b, 2) == 0 && b[0] == 5 && read_n(c, b + 2, b[1]) == 0 &&
       write(c, "\x05\x00", 2) == 2 && read_n(c, b, 4) == 0 && b[1] == 1) {
      struct sockaddr_in a;
      memset(&a, 0, sizeof(a));
      a.sin_family = AF_INET;
      int ok = 0;
      if(b[3] == 1 && read_n(c, b + 4, 6) == 0) {
        memcpy(&a.sin_addr, b + 4, 4);
        memcpy(&a.sin_port, b + 8, 2);
        ok = 1;
      }
      else if(b[3] == 3 && read_n(c, b + 4, 1) == 0 &&
              read_n(c, b + 5, (size_t)b[4] + 2) == 0) {
        char host[256];
        memcpy(host, b + 5, b[4]);
        host[b[4]] = '\0';
        ok = inet_pton(AF_INET, host, &a.sin_addr) == 1;
        memcpy(&a.sin_port, b + 5 + b[4], 2);
      }
      if(ok) {
        t = socket(AF_INET, SOCK_STREAM, 0);
        if(connect(t, (struct sockaddr *)&a, sizeof(a)) != 0) {
          close(t);
          t = -1;
        }
      }
      static const unsigned char okr[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
      static const unsigned char bad[10] = {5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
      if(write(c, t >= 0 ? okr : bad, 10) == 10 && t >= 0) {
        sx->connects++;
        relay(c, t);
      }
    }
    if(t >= 0)
      close(t);
    close(c);
  }
}

START_TEST(test_socks5_proxy)
{
  socks sx;
  memset(&sx, 0, sizeof(sx));
  sx.lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(sx.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(getsockname(sx.lfd, (struct sockaddr *)&a, &al), 0);
  sx.port = ntohs(a.sin_port);
  ck_assert_int_eq(listen(sx.lfd, 8), 0);
  ck_assert_int_eq(pthread_create(&sx.th, NULL, socks_main, &sx), 0);

  /* the HTTPS page through the SOCKS5 proxy (socks5h: it resolves) */
  char url[128], proxy[64];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/item.html", tls_port);
  snprintf(proxy, sizeof(proxy), "socks5h://127.0.0.1:%d", sx.port);
  json_t *c = scan_via(url, "127.0.0.1", proxy);
  ck_assert_str_eq(fetch_str(c, "outcome"), "ok");
  ck_assert_str_eq(json_string_value(json_object_get(
                     json_object_get(c, "page"), "title")),
                   "康宁 电子血压计 上臂式 - 康宁医疗旗舰店");
  json_decref(c);
  ck_assert_int_ge(sx.connects, 1);
  shutdown(sx.lfd, SHUT_RDWR);
  close(sx.lfd);
  pthread_join(sx.th, NULL);
}
END_TEST

static Suite *tls_suite(void)
{
  Suite *s = suite_create("tls");
  TCase *tc = tcase_create("tls");
  tcase_add_unchecked_fixture(tc, start_nginx, stop_nginx);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_https_verified_http2);
  tcase_add_test(tc, test_http2_multiplexed);
  tcase_add_test(tc, test_https_unverified);
  tcase_add_test(tc, test_site_proxy);
  tcase_add_test(tc, test_tls_proxy);
  tcase_add_test(tc, test_socks5_proxy);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(tls_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
