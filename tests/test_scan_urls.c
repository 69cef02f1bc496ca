/* test_scan_urls.c — `qingwang scan URL…` end to end: the real binary
 * ($QW_BIN) against the loopback test server (tests/httpd/) serving the
 * fixture sites: clues with fetch facts and stored evidence, charsets from
 * the transport and contradicted ones, pages that are not the listing
 * (gone, blocked, login walls, robots), files and URLs mixed, lists,
 * --fetch-only, exit statuses, and no URL lost whatever its outcome. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clue.h"
#include "qw_httpd_ctl.h"
#include "qw_test.h"

/* ===== helpers ===== */

static qw_httpd srv;
static char evdir[64];

static const char *const addrs[] = {
  "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", NULL
};

static void start_server(void)
{
  ck_assert_int_eq(qw_httpd_start(qw_test_fixture("sites"), addrs, 90, &srv),
                   0);
  snprintf(evdir, sizeof(evdir), "/tmp/qw-scan-ev-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(evdir));
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  if(flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

static void stop_server(void)
{
  qw_httpd_stop(&srv);
  ck_assert_int_eq(srv.exit_status, 0);
  if(strncmp(evdir, "/tmp/qw-scan-ev-", 16) == 0)
    nftw(evdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *url_at(const char *addr, const char *path)
{
  static char buf[256][512];
  static int i;
  i = (i + 1) % 256;
  return qw_httpd_url(&srv, addr, path, buf[i], sizeof(buf[i]));
}

/* Arguments: "scan" + the common options + extra (NULL-terminated). */
#define MAX_ARGS 256

typedef struct {
  const char *v[MAX_ARGS];
  int n;
} args;

static void args_add(args *a, const char *s)
{
  ck_assert_int_lt(a->n, MAX_ARGS - 1);
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

/* The small pack of tests/test_analyze.c (one claim rule, 根治/治愈):
 * for runs where findings do not matter, as it loads in a fraction of the
 * default pack's time (which counts under the sanitizers). */
static const char *small_pack(void)
{
  static char path[4096];
  snprintf(path, sizeof(path), "%s", qw_test_fixture("analyze/pack"));
  return path;
}

/* qingwang scan --rules PACK --no-progress, fast politeness settings,
 * with evidence in evdir (or none); the default pack unless small. */
static void args_base_pack(args *a, int json, int evidence, int small)
{
  a->n = 0;
  args_add(a, "qingwang");
  args_add(a, "scan");
  if(json)
    args_add(a, "--json");
  args_add(a, "--rules");
  args_add(a, small ? small_pack() : qw_test_pack_dir());
  args_add(a, "--no-progress");
  if(evidence) {
    args_add(a, "--evidence");
    args_add(a, evdir);
  }
  else
    args_add(a, "--no-evidence");
  args_add(a, "--set");
  args_add(a, "fetch.host_delay_ms=0");
  args_add(a, "--set");
  args_add(a, "fetch.backoff_ms=50");
  args_add(a, "--set");
  args_add(a, "fetch.max_attempts=2");
}

static void args_base(args *a, int json, int evidence)
{
  args_base_pack(a, json, evidence, 0);
}

typedef struct {
  int status;
  char *out, *err;
  json_t *clues[MAX_ARGS * 2];
  size_t n;
} result;

/* Runs the binary; parses every stdout line as JSON when json. */
static void run(const args *a, int json, result *r)
{
  memset(r, 0, sizeof(*r));
  r->status = qw_test_run(a->v, NULL, &r->out, &r->err);
  if(!json)
    return;
  char *save = NULL;
  char *copy = strdup(r->out);
  ck_assert_ptr_nonnull(copy);
  for(char *line = strtok_r(copy, "\n", &save); line;
      line = strtok_r(NULL, "\n", &save)) {
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    ck_assert_msg(j != NULL, "not JSON: %.200s (%s)", line, je.text);
    ck_assert_uint_lt(r->n, sizeof(r->clues) / sizeof(r->clues[0]));
    r->clues[r->n++] = j;
  }
  free(copy);
}

static void result_free(result *r)
{
  for(size_t i = 0; i < r->n; i++)
    json_decref(r->clues[i]);
  free(r->out);
  free(r->err);
}

/* The clue whose source.url is url (exactly one). */
static json_t *clue_for(const result *r, const char *url)
{
  json_t *found = NULL;
  for(size_t i = 0; i < r->n; i++) {
    const char *u = json_string_value(
        json_object_get(json_object_get(r->clues[i], "source"), "url"));
    if(u && strcmp(u, url) == 0) {
      ck_assert_msg(found == NULL, "two clues for %s", url);
      found = r->clues[i];
    }
  }
  ck_assert_msg(found != NULL, "no clue for %s\nstderr: %s", url, r->err);
  return found;
}

static const char *jstr(json_t *o, const char *a, const char *b)
{
  json_t *x = json_object_get(o, a);
  if(b)
    x = json_object_get(x, b);
  return json_string_value(x);
}

static json_int_t jint(json_t *o, const char *a, const char *b)
{
  json_t *x = json_object_get(o, a);
  if(b)
    x = json_object_get(x, b);
  ck_assert_msg(json_is_integer(x), "%s.%s is not an integer", a,
                b ? b : "");
  return json_integer_value(x);
}

static int jnull(json_t *o, const char *a, const char *b)
{
  json_t *x = json_object_get(o, a);
  if(b)
    x = json_object_get(x, b);
  return x == NULL || json_is_null(x);
}

static size_t n_findings(json_t *clue)
{
  json_t *f = json_object_get(clue, "findings");
  ck_assert(json_is_array(f));
  return json_array_size(f);
}

static int has_rule(json_t *clue, const char *rule)
{
  json_t *f = json_object_get(clue, "findings");
  size_t i;
  json_t *v;
  json_array_foreach(f, i, v) {
    const char *r = json_string_value(json_object_get(v, "rule"));
    if(r && strcmp(r, rule) == 0)
      return 1;
  }
  return 0;
}

static void assert_outcome(json_t *clue, const char *want)
{
  const char *o = jstr(clue, "fetch", "outcome");
  ck_assert_msg(o && strcmp(o, want) == 0, "%s: outcome %s, want %s",
                jstr(clue, "source", "url"), o ? o : "(none)", want);
  ck_assert_str_eq(jstr(clue, "source", "kind"), "url");
}


static char *fixture(const char *rel, size_t *len)
{
  char p[256];
  snprintf(p, sizeof(p), "sites/%s", rel);
  return qw_test_read(qw_test_fixture(p), len);
}

/* Inflates a gzip file whole. */
static char *gunzip_file(const char *path, size_t *len)
{
  gzFile gz = gzopen(path, "rb");
  ck_assert_msg(gz != NULL, "cannot open %s", path);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  ck_assert_ptr_nonnull(buf);
  for(;;) {
    if(cap - n < 4096) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
    int r = gzread(gz, buf + n, (unsigned)(cap - n));
    ck_assert_int_ge(r, 0);
    if(r == 0)
      break;
    n += (size_t)r;
  }
  gzclose(gz);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static size_t count_lines(const char *s)
{
  size_t n = 0;
  for(; *s; s++)
    n += *s == '\n';
  return n;
}

/* ===== tests ===== */

/* A listing with violations: a clue with the fetch facts, and evidence
 * stored (object holds the raw body, log record referenced). */
START_TEST(test_violation_with_evidence)
{
  start_server();
  args a;
  args_base(&a, 1, 1);
  const char *url = url_at("127.0.0.1", "/item/1002.html");
  args_add(&a, url);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 1, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 1);
  json_t *c = clue_for(&r, url);
  assert_outcome(c, "ok");
  ck_assert_int_eq(jint(c, "fetch", "status"), 200);
  ck_assert_int_eq(jint(c, "fetch", "attempts"), 1);
  ck_assert_str_eq(jstr(c, "source", "final_url"), url);
  char remote[64];
  snprintf(remote, sizeof(remote), "127.0.0.1:%d", srv.port);
  ck_assert_str_eq(jstr(c, "evidence", "remote_addr"), remote);
  ck_assert_int_eq(jint(c, "evidence", "status"), 200);
  ck_assert(has_rule(c, "claim.cure"));
  ck_assert(has_rule(c, "claim.refund"));
  ck_assert_str_eq(jstr(c, "page", "charset"), "UTF-8");
  ck_assert_str_eq(jstr(c, "page", "charset_source"), "transport");
  /* evidence: object under the directory, holding the raw body */
  size_t blen;
  char *body = fixture("127.0.0.1/item/1002.html", &blen);
  char sha[65];
  qw_sha256_hex(body, blen, sha);
  ck_assert_str_eq(jstr(c, "evidence", "sha256"), sha);
  ck_assert_int_eq(jint(c, "evidence", "size"), (json_int_t)blen);
  const char *obj = jstr(c, "evidence", "path");
  ck_assert_ptr_nonnull(obj);
  ck_assert_int_ge(jint(c, "evidence", "log_position"), 1);
  ck_assert_ptr_nonnull(jstr(c, "evidence", "record_hash"));
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", evdir, obj);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_gt(st.st_size, 0);
  size_t olen;
  char *raw = gunzip_file(path, &olen);
  ck_assert(olen >= blen);
  ck_assert_ptr_nonnull(memmem(raw, olen, body, blen));
  free(raw);
  snprintf(path, sizeof(path), "%s/evidence.log", evdir);
  char *log = qw_test_read(path, NULL);
  ck_assert_uint_ge(count_lines(log), 1);
  ck_assert_ptr_nonnull(strstr(log, sha));
  free(log);
  free(body);
  result_free(&r);
  stop_server();
}
END_TEST

/* A compliant listing: exit 0, no findings, no evidence written. */
START_TEST(test_clean_listing)
{
  start_server();
  args a;
  args_base(&a, 1, 1);
  const char *u1 = url_at("127.0.0.1", "/item/1001.html");
  const char *u2 = url_at("127.0.0.4", "/item/6001.html");
  args_add(&a, u1);
  args_add(&a, u2);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 2);
  for(int i = 0; i < 2; i++) {
    json_t *c = clue_for(&r, i ? u2 : u1);
    assert_outcome(c, "ok");
    ck_assert_uint_eq(n_findings(c), 0);
    ck_assert(jnull(c, "evidence", "path"));
    ck_assert(jnull(c, "evidence", "log_position"));
  }
  char path[512];
  struct stat st;
  snprintf(path, sizeof(path), "%s/objects", evdir);
  ck_assert(stat(path, &st) != 0 || st.st_nlink == 2); /* none or empty */
  result_free(&r);
  stop_server();
}
END_TEST

/* GBK pages served with charset=gbk decode right, and the violating
 * one's findings quote the decoded text. When the header's charset
 * contradicts the page (GBK bytes sent as UTF-8) the bytes are detected
 * and the declaration recorded as overridden; with no Content-Type at all
 * the <meta> decides. */
START_TEST(test_charsets)
{
  start_server();
  args a;
  args_base(&a, 1, 0);
  const char *u1 = url_at("127.0.0.1", "/gbk/item/2001.html");
  const char *u2 = url_at("127.0.0.1", "/gbk/item/2002.html");
  const char *u3 = url_at("127.0.0.1", "/gbk/item/2001.html?ctype="
                          "text%2Fhtml%3B%20charset%3Dutf-8");
  const char *u4 = url_at("127.0.0.1", "/gbk/item/2002.html?ctype=");
  args_add(&a, u1);
  args_add(&a, u2);
  args_add(&a, u3);
  args_add(&a, u4);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 1, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 4);
  static const char title[] = "康宁优选 一次性医用外科口罩 50只 独立包装-"
                              "康宁优选医疗器械旗舰店";
  json_t *c = clue_for(&r, u1);
  assert_outcome(c, "ok");
  ck_assert_str_eq(jstr(c, "page", "charset"), "GBK");
  ck_assert_str_eq(jstr(c, "page", "charset_source"), "transport");
  ck_assert_str_eq(jstr(c, "page", "title"), title);
  ck_assert_uint_eq(n_findings(c), 0);
  c = clue_for(&r, u2);
  assert_outcome(c, "ok");
  ck_assert_str_eq(jstr(c, "page", "charset"), "GBK");
  ck_assert(has_rule(c, "claim.cure"));
  ck_assert(has_rule(c, "claim.refund"));
  ck_assert_ptr_nonnull(strstr(r.out, "根治颈椎病"));
  c = clue_for(&r, u3);
  assert_outcome(c, "ok");
  ck_assert_str_eq(jstr(c, "page", "charset_declared"), "UTF-8");
  ck_assert_str_eq(jstr(c, "page", "charset_source"), "detected");
  ck_assert_str_eq(jstr(c, "page", "title"), title);
  c = clue_for(&r, u4);
  ck_assert_str_eq(jstr(c, "page", "charset"), "GBK");
  ck_assert_str_eq(jstr(c, "page", "charset_source"), "meta");
  ck_assert(has_rule(c, "claim.cure"));
  result_free(&r);
  stop_server();
}
END_TEST

/* Pages that are not the listing, and fetches that fail: every URL gets
 * its clue with the outcome and no findings; none is an error. */
START_TEST(test_outcomes)
{
  start_server();
  args a;
  args_base_pack(&a, 1, 1, 1);
  char refused[64];
  snprintf(refused, sizeof(refused), "http://127.0.0.1:%d/item/1.html",
           qw_test_closed_port());
  static const struct {
    const char *addr, *path, *outcome;
    long status;
  } cases[] = {
    {"127.0.0.1", "/removed/item/8812.html", "gone", 200},
    {"127.0.0.1", "/captcha", "blocked", 200},
    {"127.0.0.1", "/login-redirect/item/1002.html", "login_wall", 200},
    {"127.0.0.1", "/login", "login_wall", 200},
    {"127.0.0.1", "/item/9999.html", "gone", 404},
    {"127.0.0.1", "/status/410", "gone", 410},
    {"127.0.0.1", "/status/403", "http_4xx", 403},
    {"127.0.0.4", "/status/503", "http_5xx", 503},
    {"127.0.0.2", "/item/3001.html", "blocked_by_robots", 0},
    {NULL, NULL, "connect", 0},
  };
  enum { N = sizeof(cases) / sizeof(cases[0]) };
  const char *urls[N];
  for(size_t i = 0; i < N; i++) {
    urls[i] = cases[i].addr ? url_at(cases[i].addr, cases[i].path) : refused;
    args_add(&a, urls[i]);
  }
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, N);
  for(size_t i = 0; i < N; i++) {
    json_t *c = clue_for(&r, urls[i]);
    assert_outcome(c, cases[i].outcome);
    ck_assert_int_eq(jint(c, "fetch", "status"), cases[i].status);
    ck_assert_uint_eq(n_findings(c), 0);
    ck_assert(jnull(c, "evidence", "path"));
  }
  /* retried once (max_attempts=2), robots never asked */
  ck_assert_int_eq(jint(clue_for(&r, urls[7]), "fetch", "attempts"), 2);
  ck_assert_int_eq(jint(clue_for(&r, urls[9]), "fetch", "attempts"), 2);
  ck_assert_int_eq(jint(clue_for(&r, urls[8]), "fetch", "attempts"), 0);
  ck_assert_int_eq(qw_httpd_counter(&srv, "127.0.0.2", "/item/3001.html"),
                   0);
  ck_assert_ptr_nonnull(strstr(jstr(clue_for(&r, urls[2]), "source",
                                    "final_url"), "/login?from="));
  /* pages that are not the listing keep what they showed */
  ck_assert_str_eq(jstr(clue_for(&r, urls[0]), "page", "title"),
                   "宝贝不存在 - 优品商城");
  ck_assert_str_eq(jstr(clue_for(&r, urls[1]), "page", "title"), "安全验证");
  ck_assert_str_eq(jstr(clue_for(&r, urls[1]), "page", "charset"), "UTF-8");
  result_free(&r);
  stop_server();
}
END_TEST

/* Files and URLs in one run. */
START_TEST(test_mixed_files_and_urls)
{
  start_server();
  args a;
  args_base(&a, 1, 0);
  char *file = qw_test_source_path("tests/fixtures/cli/compliant.html");
  const char *u1 = url_at("127.0.0.3", "/item/5001.html");
  const char *u2 = url_at("127.0.0.1", "/removed");
  args_add(&a, file);
  args_add(&a, u1);
  args_add(&a, u2);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 1, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 3);
  int files = 0;
  for(size_t i = 0; i < r.n; i++) {
    const char *kind = jstr(r.clues[i], "source", "kind");
    if(strcmp(kind, "file") == 0) {
      files++;
      ck_assert_str_eq(jstr(r.clues[i], "source", "path"), file);
      ck_assert(jnull(r.clues[i], "fetch", NULL));
    }
  }
  ck_assert_int_eq(files, 1);
  json_t *c = clue_for(&r, u1);
  assert_outcome(c, "ok");
  ck_assert(has_rule(c, "claim.rate"));
  ck_assert(has_rule(c, "claim.endorse"));
  assert_outcome(clue_for(&r, u2), "gone");
  free(file);
  result_free(&r);
  stop_server();
}
END_TEST

/* --fetch-only: no clues, one summary line on stdout. */
START_TEST(test_fetch_only)
{
  start_server();
  args a;
  args_base(&a, 0, 0);
  args_add(&a, "--fetch-only");
  args_add(&a, url_at("127.0.0.1", "/item/1001.html"));
  args_add(&a, url_at("127.0.0.1", "/item/1002.html"));
  args_add(&a, url_at("127.0.0.4", "/item/6001.html"));
  args_add(&a, url_at("127.0.0.4", "/item/404.html"));
  result r;
  run(&a, 0, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(count_lines(r.out), 1);
  ck_assert_msg(strncmp(r.out, "4 URLs in ", 10) == 0, "%s", r.out);
  ck_assert_ptr_nonnull(strstr(r.out, ": 3 ok, 1 not ok,"));
  ck_assert_ptr_null(strchr(r.out, '{'));
  ck_assert_int_eq(qw_httpd_counter(&srv, "127.0.0.1", "/item/1002.html"),
                   1);
  result_free(&r);
  stop_server();
}
END_TEST

/* scan --count: one JSON line per page with the leftmost-longest term
 * counts of its visible text (GBK decoded; the title and the table cell
 * are counted where they are visible), a pattern count, fetch facts for a
 * page that could not be fetched, and the same for a file. */
START_TEST(test_count_mode)
{
  start_server();
  char terms[128];
  snprintf(terms, sizeof(terms), "%s/terms.txt", evdir);
  FILE *f = fopen(terms, "w");
  ck_assert_ptr_nonnull(f);
  fputs("根治\n根治颈椎\n颈椎病\n无效\n无效退款\n", f);
  ck_assert_int_eq(fclose(f), 0);
  args a;
  a.n = 0;
  args_add(&a, "qingwang");
  args_add(&a, "scan");
  args_add(&a, "--no-progress");
  args_add(&a, "--count");
  args_add(&a, terms);
  args_add(&a, "--count-pattern");
  args_add(&a, "reg=[\\u4e00-\\u9fa5]械注[准进许][0-9]{11}");
  args_add(&a, "--set");
  args_add(&a, "fetch.host_delay_ms=0");
  const char *u1 = url_at("127.0.0.1", "/gbk/item/2002.html");
  const char *u2 = url_at("127.0.0.4", "/item/404.html");
  args_add(&a, u1);
  args_add(&a, u2);
  char file[4096];
  snprintf(file, sizeof(file), "%s",
           qw_test_fixture("sites/127.0.0.1/gbk/item/2002.html"));
  args_add(&a, file);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 3);
  for(size_t i = 0; i < r.n; i++) {
    json_t *c = r.clues[i];
    const char *url = json_string_value(json_object_get(c, "url"));
    const char *path = json_string_value(json_object_get(c, "path"));
    if(url && !strcmp(url, u2)) {
      ck_assert_str_eq(json_string_value(json_object_get(c, "outcome")),
                       "gone"); /* a listing that is not there any more */
      ck_assert_int_eq(json_integer_value(json_object_get(c, "status")),
                       404);
      ck_assert_ptr_null(json_object_get(c, "terms"));
      continue;
    }
    ck_assert_msg((url && !strcmp(url, u1)) || (path && !strcmp(path, file)),
                  "unexpected line %zu", i);
    /* "三天见效，根治颈椎病，无效退款！": 根治颈椎 (not 根治, not
     * 颈椎病) and 无效退款 (not 无效) */
    json_t *hits = json_object_get(c, "hits");
    ck_assert_int_eq(json_integer_value(json_object_get(hits, "根治颈椎")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(hits, "无效退款")),
                     1);
    ck_assert_ptr_null(json_object_get(hits, "根治"));
    ck_assert_ptr_null(json_object_get(hits, "颈椎病"));
    ck_assert_ptr_null(json_object_get(hits, "无效"));
    ck_assert_int_eq(json_integer_value(json_object_get(c, "terms")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "reg")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "charset")),
                     "GBK");
  }
  result_free(&r);

  /* a bad pattern is an error before anything is fetched */
  a.n = 0;
  args_add(&a, "qingwang");
  args_add(&a, "scan");
  args_add(&a, "--count");
  args_add(&a, terms);
  args_add(&a, "--count-pattern");
  args_add(&a, "reg=[0-9");
  args_add(&a, url_at("127.0.0.1", "/item/1001.html"));
  run(&a, 0, &r);
  ck_assert_int_eq(r.status, 2);
  ck_assert_msg(strstr(r.err, "pattern reg:") != NULL, "%s", r.err);
  ck_assert_int_eq(qw_httpd_counter(&srv, "127.0.0.1", "/item/1001.html"),
                   0);
  result_free(&r);
  stop_server();
}
END_TEST

/* --fetch-only --json: one line of fetch facts per URL. */
START_TEST(test_fetch_only_json)
{
  start_server();
  args a;
  args_base(&a, 1, 0);
  args_add(&a, "--fetch-only");
  const char *u1 = url_at("127.0.0.1", "/item/1001.html");
  const char *u2 = url_at("127.0.0.4", "/item/404.html");
  args_add(&a, u1);
  args_add(&a, u2);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 2);
  for(size_t i = 0; i < r.n; i++) {
    json_t *c = r.clues[i];
    const char *url = json_string_value(json_object_get(c, "url"));
    int ok = !strcmp(url, u1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "outcome")),
                     ok ? "ok" : "gone");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "status")),
                     ok ? 200 : 404);
    if(ok)
      ck_assert_int_gt(json_integer_value(json_object_get(c, "body_bytes")),
                       1000);
  }
  ck_assert_ptr_nonnull(strstr(r.err, "2 URLs in "));
  result_free(&r);
  stop_server();
}
END_TEST

/* -i LIST with comments, blank lines and repeated URLs: exactly one clue
 * per line of the list, whatever the outcome. */
START_TEST(test_list_no_url_lost)
{
  start_server();
  char list[128];
  snprintf(list, sizeof(list), "%s/urls.txt", evdir);
  FILE *f = fopen(list, "w");
  ck_assert_ptr_nonnull(f);
  fputs("# 2024 专项检查 — 第三批\n\n", f);
  enum { N = 40 };
  const char *urls[N];
  static const char *const paths[] = {
    "/item/1001.html", "/item/1002.html", "/removed", "/captcha",
    "/status/404", "/slow?ms=30", "/item/1001.html", "/cart/1.html",
  };
  for(int i = 0; i < N; i++) {
    const char *addr = i % 3 == 2 ? "127.0.0.4" : "127.0.0.1";
    urls[i] = url_at(addr, paths[i % 8]);
    fprintf(f, "%s%s\n", i % 5 == 0 ? "  " : "", urls[i]);
    if(i % 7 == 0)
      fputs("   # 复查\n", f);
  }
  fclose(f);
  args a;
  args_base(&a, 1, 0);
  args_add(&a, "-i");
  args_add(&a, list);
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 1, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, N);
  /* the same multiset of URLs */
  int used[N];
  memset(used, 0, sizeof(used));
  for(size_t k = 0; k < r.n; k++) {
    const char *u = jstr(r.clues[k], "source", "url");
    int hit = 0;
    for(int i = 0; i < N && !hit; i++)
      if(!used[i] && strcmp(urls[i], u) == 0)
        used[i] = hit = 1;
    ck_assert_msg(hit, "unexpected clue for %s", u);
  }
  unlink(list);
  result_free(&r);
  stop_server();
}
END_TEST

/* Many URLs at once on two hosts: as many clues, all ok; the progress
 * line (forced on) ends with every URL done. */
START_TEST(test_many_urls)
{
  start_server();
  args a;
  args_base_pack(&a, 1, 0, 1);
  args_add(&a, "--progress");
  enum { N = 120 };
  const char *urls[N];
  for(int i = 0; i < N; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/slow?ms=20&n=%d", i);
    urls[i] = url_at(i % 2 ? "127.0.0.1" : "127.0.0.4", p);
    args_add(&a, urls[i]);
  }
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 0, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, N);
  for(int i = 0; i < N; i++)
    assert_outcome(clue_for(&r, urls[i]), "ok");
  ck_assert_int_le(qw_httpd_counter(&srv, "127.0.0.1", "max_inflight"), 4);
  ck_assert_ptr_nonnull(strstr(r.err, "120/120 "));
  ck_assert_ptr_nonnull(strstr(r.err, "ok 120"));
  result_free(&r);
  stop_server();
}
END_TEST

/* A URL the crawler cannot take still gets its clue (outcome "error"),
 * and the run ends with status 2; the other URLs are scanned. */
START_TEST(test_bad_url)
{
  start_server();
  args a;
  args_base_pack(&a, 1, 0, 1);
  const char *good = url_at("127.0.0.1", "/item/1002.html");
  args_add(&a, "http://");
  args_add(&a, good);
  args_add(&a, "https://[::1");
  result r;
  run(&a, 1, &r);
  ck_assert_msg(r.status == 2, "status %d, stderr: %s", r.status, r.err);
  ck_assert_uint_eq(r.n, 3);
  json_t *c = clue_for(&r, "http://");
  assert_outcome(c, "error");
  ck_assert_str_eq(jstr(c, "fetch", "error"), "not an http(s) URL");
  assert_outcome(clue_for(&r, "https://[::1"), "error");
  assert_outcome(clue_for(&r, good), "ok");
  ck_assert_ptr_nonnull(strstr(r.err, "http://: not an http(s) URL"));
  result_free(&r);
  stop_server();
}
END_TEST

/* The table: a block per analysed page, one line per page that was not
 * analysed, the totals on stderr. */
START_TEST(test_table)
{
  start_server();
  args a;
  args_base(&a, 0, 0);
  const char *u1 = url_at("127.0.0.1", "/item/1002.html");
  const char *u2 = url_at("127.0.0.1", "/removed");
  args_add(&a, "--no-color");
  args_add(&a, u1);
  args_add(&a, u2);
  result r;
  run(&a, 0, &r);
  ck_assert_msg(r.status == 1, "status %d, stderr: %s", r.status, r.err);
  ck_assert_ptr_nonnull(strstr(r.out, u1));
  ck_assert_ptr_nonnull(strstr(r.out, "claim.cure"));
  char line[600];
  snprintf(line, sizeof(line), "%s  [gone, HTTP 200]  not analysed", u2);
  ck_assert_msg(strstr(r.out, line) != NULL, "%s", r.out);
  ck_assert_ptr_nonnull(strstr(r.err, "2 URLs in "));
  result_free(&r);
  stop_server();
}
END_TEST

static Suite *scan_urls_suite(void)
{
  Suite *s = suite_create("scan_urls");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_violation_with_evidence);
  tcase_add_test(tc, test_clean_listing);
  tcase_add_test(tc, test_charsets);
  tcase_add_test(tc, test_outcomes);
  tcase_add_test(tc, test_mixed_files_and_urls);
  tcase_add_test(tc, test_fetch_only);
  tcase_add_test(tc, test_fetch_only_json);
  tcase_add_test(tc, test_count_mode);
  tcase_add_test(tc, test_list_no_url_lost);
  tcase_add_test(tc, test_many_urls);
  tcase_add_test(tc, test_bad_url);
  tcase_add_test(tc, test_table);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(scan_urls_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
