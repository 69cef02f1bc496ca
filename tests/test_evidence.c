/* test_evidence.c — the evidence store: objects read back exactly, content
 * addressing, the hash chain, tamper detection, torn records, kill -9,
 * failed appends, read-only directories, threads and processes. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clue.h"
#include "evidence.h"
#include "qw_test.h"

#define ZERO64 "00000000000000000000000000000000" \
               "00000000000000000000000000000000"

static char tmpdir[64];

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static void setup(void)
{
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/qw-evidence-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
  chmod(tmpdir, 0700);
  nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<tmpdir>/<rel>" in one of a few rotating buffers. */
static const char *at(const char *rel)
{
  static char bufs[4][512];
  static unsigned next;
  char *b = bufs[next++ & 3];
  snprintf(b, 512, "%s/%s", tmpdir, rel);
  return b;
}

/* A realistic capture: a listing page of a fictional shop; k varies the
 * body (and the URL) so captures differ. */
typedef struct {
  qw_evidence_item it;
  char url[128];
  char body[2048];
} capture;

static const char req_hdr[] =
    "GET /item/883120.html HTTP/1.1\r\n"
    "Host: mall.example-shop.cn\r\n"
    "User-Agent: qingwang/0.1 (+monitoring)\r\n"
    "Accept: */*\r\n"
    "Accept-Encoding: gzip\r\n\r\n";
static const char resp_hdr[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Encoding: identity\r\n"
    "Server: tengine\r\n"
    "Date: Mon, 23 Nov 2026 06:12:40 GMT\r\n\r\n";

static void make_capture(capture *c, int k)
{
  memset(c, 0, sizeof(*c));
  snprintf(c->url, sizeof(c->url),
           "https://mall.example-shop.cn/item/%d.html", 883120 + k);
  snprintf(c->body, sizeof(c->body),
           "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
           "<title>康泰舒家用电子血压计 臂式 第%d款</title></head><body>"
           "<h1>康泰舒 上臂式电子血压计 KT-%d</h1>"
           "<p>医疗器械注册证编号：苏械注准20232070%03d</p>"
           "<p>三天降压，永不复发，根治高血压！</p>"
           "<p>店铺：安泰医疗器械专营店</p></body></html>\n",
           k, 100 + k, k % 1000);
  c->it.url = c->url;
  c->it.final_url = c->url;
  c->it.status = 200;
  c->it.request_headers = req_hdr;
  c->it.response_headers = resp_hdr;
  c->it.remote_ip = "127.0.0.1";
  c->it.remote_port = 8443;
  c->it.fetched = 1795414360 + k;
  c->it.body = c->body;
  c->it.body_len = strlen(c->body);
  c->it.node = "node-sh-01";
}

static qw_evidence *open_ok(void)
{
  qw_evidence *ev = NULL;
  char err[512];
  int r = qw_evidence_open(tmpdir, &ev, err, sizeof(err));
  ck_assert_msg(r == 0, "open: %d %s", r, err);
  ck_assert_ptr_nonnull(ev);
  return ev;
}

static void store_ok(qw_evidence *ev, const qw_evidence_item *it,
                     qw_evidence_ref *ref)
{
  char err[512];
  int r = qw_evidence_store(ev, it, ref, err, sizeof(err));
  ck_assert_msg(r == 0, "store: %d %s", r, err);
}

/* Stores n distinct captures (k = 0..n-1) in a fresh store. */
static void make_chain(int n)
{
  qw_evidence *ev = open_ok();
  for(int k = 0; k < n; k++) {
    capture c;
    qw_evidence_ref ref;
    make_capture(&c, k);
    store_ok(ev, &c.it, &ref);
    ck_assert_uint_eq(ref.seq, (uint64_t)k + 1);
  }
  qw_evidence_close(ev);
}

/* Runs verify; returns its result and the report (malloc'd). */
static int verify(char **report, uint64_t *records, uint64_t *bad)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  int r = qw_evidence_verify(tmpdir, f, records, bad);
  fclose(f);
  *report = buf;
  return r;
}

static void verify_clean(uint64_t want_records)
{
  char *rep;
  uint64_t records = 0, bad = 0;
  int r = verify(&rep, &records, &bad);
  ck_assert_msg(r == 0 && bad == 0, "verify %d bad %" PRIu64 ":\n%s", r,
                bad, rep);
  ck_assert_uint_eq(records, want_records);
  free(rep);
}

/* Verify must fail and its report must contain want. */
static void verify_finds(const char *want)
{
  char *rep;
  uint64_t records = 0, bad = 0;
  int r = verify(&rep, &records, &bad);
  ck_assert_msg(r == 1 && bad > 0, "verify returned %d (bad %" PRIu64
                ") for a tampered store:\n%s", r, bad, rep);
  ck_assert_msg(strstr(rep, want) != NULL, "report lacks \"%s\":\n%s", want,
                rep);
  free(rep);
}

static char *slurp(const char *path, size_t *len)
{
  return qw_test_read(path, len);
}

static void spit(const char *path, const char *data, size_t len)
{
  chmod(path, 0644);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* The log's lines (pointers into *buf, which the caller frees). */
static size_t log_lines(char **buf, char **lines, size_t max)
{
  size_t len, n = 0;
  *buf = slurp(at("evidence.log"), &len);
  char *p = *buf;
  while(n < max && *p) {
    char *nl = strchr(p, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    lines[n++] = p;
    p = nl + 1;
  }
  return n;
}

/* Writes the lines back in the given order (count n). */
static void write_lines(char **lines, size_t n)
{
  FILE *f = fopen(at("evidence.log"), "wb");
  ck_assert_ptr_nonnull(f);
  for(size_t i = 0; i < n; i++)
    fprintf(f, "%s\n", lines[i]);
  ck_assert_int_eq(fclose(f), 0);
}

/* Inflates a gzip file completely. */
static char *gunzip(const char *path, size_t *len)
{
  gzFile g = gzopen(path, "rb");
  ck_assert_ptr_nonnull(g);
  size_t cap = 65536, n = 0;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  for(;;) {
    if(cap - n < 4096) {
      cap *= 2;
      out = realloc(out, cap);
      ck_assert_ptr_nonnull(out);
    }
    int r = gzread(g, out + n, (unsigned)(cap - n));
    ck_assert_int_ge(r, 0);
    if(r == 0)
      break;
    n += (size_t)r;
  }
  gzclose(g);
  *len = n;
  return out;
}

static const char *obj_path(const qw_evidence_ref *ref)
{
  return at(ref->object);
}

/* ---- store and read back ---------------------------------------------- */

START_TEST(test_store_read_back)
{
  capture c;
  make_capture(&c, 7);
  qw_evidence *ev = open_ok();
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  qw_evidence_close(ev);

  char body_hex[65];
  qw_sha256_hex(c.body, c.it.body_len, body_hex);
  ck_assert_str_eq(ref.body_sha256, body_hex);
  ck_assert_uint_eq(ref.seq, 1);
  ck_assert_uint_eq(strlen(ref.record_hash), 64);
  ck_assert_uint_eq(strlen(ref.object), 76);
  ck_assert_int_eq(strncmp(ref.object, "objects/", 8), 0);

  /* The header text, exactly, then the body bytes. */
  char want[4096];
  int wn = snprintf(want, sizeof(want),
      "qingwang-evidence/1\n"
      "url: %s\n"
      "final-url: %s\n"
      "status: 200\n"
      "fetched: 2026-11-23T06:12:47Z\n"
      "remote: 127.0.0.1:8443\n"
      "node: node-sh-01\n"
      "body-sha256: %s\n"
      "body-length: %zu\n"
      "request-headers: %zu\n%s\n"
      "response-headers: %zu\n%s\n"
      "\n",
      c.url, c.url, body_hex, c.it.body_len, strlen(req_hdr), req_hdr,
      strlen(resp_hdr), resp_hdr);
  size_t len;
  char *content = gunzip(obj_path(&ref), &len);
  ck_assert_uint_eq(len, (size_t)wn + c.it.body_len);
  ck_assert_msg(memcmp(content, want, (size_t)wn) == 0, "header:\n%.*s",
                wn, content);
  ck_assert(memcmp(content + wn, c.body, c.it.body_len) == 0);

  /* Named by the SHA-256 of that content, under objects/ab/. */
  char name[65], expect_obj[80];
  qw_sha256_hex(content, len, name);
  snprintf(expect_obj, sizeof(expect_obj), "objects/%.2s/%s.gz", name,
           name + 2);
  ck_assert_str_eq(ref.object, expect_obj);
  free(content);

  /* A real gzip file, read-only. */
  struct stat st;
  ck_assert_int_eq(stat(obj_path(&ref), &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0444);
  size_t glen;
  char *gz = slurp(obj_path(&ref), &glen);
  ck_assert((unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
  free(gz);

  /* The log record. */
  size_t llen;
  char *log = slurp(at("evidence.log"), &llen);
  ck_assert_uint_gt(llen, 0);
  ck_assert(log[llen - 1] == '\n' && memchr(log, '\n', llen) ==
            log + llen - 1);
  json_error_t je;
  json_t *rec = json_loadb(log, llen, 0, &je);
  ck_assert_msg(rec != NULL, "%s", je.text);
  ck_assert_int_eq(json_integer_value(json_object_get(rec, "seq")), 1);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "object")),
                   ref.object);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "body_sha256")),
                   body_hex);
  ck_assert_int_eq(json_integer_value(json_object_get(rec, "body_length")),
                   (json_int_t)c.it.body_len);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "url")), c.url);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "final_url")),
                   c.url);
  ck_assert(json_is_null(json_object_get(rec, "path")));
  ck_assert_int_eq(json_integer_value(json_object_get(rec, "status")), 200);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "node")),
                   "node-sh-01");
  ck_assert_str_eq(json_string_value(json_object_get(rec, "fetched")),
                   "2026-11-23T06:12:47Z");
  ck_assert_str_eq(json_string_value(json_object_get(rec, "prev")), ZERO64);
  ck_assert_str_eq(json_string_value(json_object_get(rec, "hash")),
                   ref.record_hash);
  /* hash = SHA-256 of the compact, key-sorted record without "hash" (what
   * `jq -cS 'del(.hash)'` prints). */
  json_object_del(rec, "hash");
  char *canon = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  char h[65];
  qw_sha256_hex(canon, strlen(canon), h);
  ck_assert_str_eq(h, ref.record_hash);
  /* The line itself is that canonical form with "hash" put back. */
  json_object_set_new(rec, "hash", json_string(h));
  char *line = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  ck_assert_uint_eq(strlen(line), llen - 1);
  ck_assert(memcmp(line, log, llen - 1) == 0);
  free(line);
  free(canon);
  json_decref(rec);
  free(log);

  /* evidence.head names the record. */
  char *head = slurp(at("evidence.head"), &llen);
  ck_assert_ptr_nonnull(strstr(head, ref.record_hash));
  ck_assert_ptr_nonnull(strstr(head, "\"seq\":1}"));
  free(head);
  verify_clean(1);
}
END_TEST

START_TEST(test_file_capture_and_escaping)
{
  /* A scanned file: no URL, status 0, no headers; the path has a newline
   * and an invalid byte, which must not inject a header line. */
  static const char body[] = "\xef\xbb\xbf<html><body>\xb8\xf9\xd6\xce"
                             "</body></html>";
  qw_evidence_item it;
  memset(&it, 0, sizeof(it));
  it.source_path = "/data/in/a\nstatus: 500\\b\xff.html\xed\xa0\x80";
  it.fetched = 0;
  it.body = body;
  it.body_len = sizeof(body) - 1;
  it.node = "节点-1";
  qw_evidence *ev = open_ok();
  qw_evidence_ref ref;
  store_ok(ev, &it, &ref);
  /* An empty body is a capture too. */
  qw_evidence_item empty;
  memset(&empty, 0, sizeof(empty));
  qw_evidence_ref ref2;
  store_ok(ev, &empty, &ref2);
  ck_assert_str_eq(ref2.body_sha256, "e3b0c44298fc1c149afbf4c8996fb924"
                                     "27ae41e4649b934ca495991b7852b855");
  qw_evidence_close(ev);

  size_t len;
  char *content = gunzip(obj_path(&ref), &len);
  const char *want_path = "source-path: /data/in/a\\x0astatus: 500\\\\b"
                          "\\xff.html\\xed\\xa0\\x80\nstatus: 0\n";
  ck_assert_msg(strstr(content, want_path) != NULL, "%s", content);
  ck_assert_ptr_null(strstr(content, "url:"));
  ck_assert_ptr_null(strstr(content, "remote:"));
  ck_assert_ptr_nonnull(strstr(content, "node: 节点-1\n"));
  ck_assert_ptr_nonnull(strstr(content, "fetched: 1970-01-01T00:00:00Z\n"));
  ck_assert_ptr_nonnull(strstr(content, "request-headers: 0\n\n"
                                        "response-headers: 0\n\n\n"));
  ck_assert(memcmp(content + len - it.body_len, body, it.body_len) == 0);
  free(content);

  char *log = slurp(at("evidence.log"), &len);
  ck_assert_ptr_nonnull(strstr(log, "\"path\":\"/data/in/a\\\\x0astatus: "
                                    "500\\\\\\\\b\\\\xff.html\\\\xed"
                                    "\\\\xa0\\\\x80\""));
  ck_assert_ptr_nonnull(strstr(log, "\"url\":null"));
  free(log);
  verify_clean(2);
}
END_TEST

START_TEST(test_ipv6_remote)
{
  capture c;
  make_capture(&c, 1);
  c.it.remote_ip = "::1";
  qw_evidence *ev = open_ok();
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  qw_evidence_close(ev);
  size_t len;
  char *content = gunzip(obj_path(&ref), &len);
  ck_assert_ptr_nonnull(strstr(content, "\nremote: [::1]:8443\n"));
  free(content);
}
END_TEST

/* ---- content addressing ----------------------------------------------- */

START_TEST(test_same_capture_not_rewritten)
{
  capture c;
  make_capture(&c, 3);
  qw_evidence *ev = open_ok();
  qw_evidence_ref a, b;
  store_ok(ev, &c.it, &a);
  struct stat s1, s2;
  ck_assert_int_eq(stat(obj_path(&a), &s1), 0);
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL);
  store_ok(ev, &c.it, &b);
  qw_evidence_close(ev);
  ck_assert_str_eq(a.object, b.object);
  ck_assert_str_eq(a.body_sha256, b.body_sha256);
  ck_assert_uint_eq(b.seq, 2);
  ck_assert_str_ne(a.record_hash, b.record_hash);
  ck_assert_int_eq(stat(obj_path(&b), &s2), 0);
  ck_assert_uint_eq(s1.st_ino, s2.st_ino);
  ck_assert_int_eq(s1.st_mtim.tv_sec, s2.st_mtim.tv_sec);
  ck_assert_int_eq(s1.st_mtim.tv_nsec, s2.st_mtim.tv_nsec);
  ck_assert_uint_eq(s2.st_nlink, 1);   /* the temp name is gone */
  verify_clean(2);
}
END_TEST

START_TEST(test_different_captures_different_objects)
{
  capture c1, c2, c3;
  make_capture(&c1, 1);
  make_capture(&c2, 2);
  /* Same body fetched at another time: another capture. */
  make_capture(&c3, 1);
  c3.it.fetched += 3600;
  qw_evidence *ev = open_ok();
  qw_evidence_ref a, b, c;
  store_ok(ev, &c1.it, &a);
  store_ok(ev, &c2.it, &b);
  store_ok(ev, &c3.it, &c);
  qw_evidence_close(ev);
  ck_assert_str_ne(a.object, b.object);
  ck_assert_str_ne(a.body_sha256, b.body_sha256);
  ck_assert_str_ne(a.object, c.object);
  ck_assert_str_eq(a.body_sha256, c.body_sha256);
  ck_assert_int_eq(access(obj_path(&a), F_OK), 0);
  ck_assert_int_eq(access(obj_path(&b), F_OK), 0);
  ck_assert_int_eq(access(obj_path(&c), F_OK), 0);
  verify_clean(3);
}
END_TEST

START_TEST(test_existing_damaged_object_not_replaced)
{
  capture c;
  make_capture(&c, 5);
  qw_evidence *ev = open_ok();
  qw_evidence_ref a, b;
  store_ok(ev, &c.it, &a);
  /* Someone replaces the object with other (valid gzip) content. */
  size_t len;
  char *content = gunzip(obj_path(&a), &len);
  content[len - 3] ^= 1;
  chmod(obj_path(&a), 0644);
  gzFile g = gzopen(obj_path(&a), "wb");
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(gzwrite(g, content, (unsigned)len), (int)len);
  gzclose(g);
  free(content);
  size_t before_len;
  char *before = slurp(obj_path(&a), &before_len);
  char err[512];
  int r = qw_evidence_store(ev, &c.it, &b, err, sizeof(err));
  qw_evidence_close(ev);
  ck_assert_int_eq(r, -EBADMSG);
  ck_assert_msg(strstr(err, a.object + 11) && strstr(err, "not to its name"),
                "%s", err);
  size_t after_len;
  char *after = slurp(obj_path(&a), &after_len);
  ck_assert_uint_eq(before_len, after_len);
  ck_assert(memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
  verify_finds("not to its name");
}
END_TEST

START_TEST(test_stale_temp_names)
{
  /* A crashed process with this pid left temp files everywhere. */
  qw_evidence *ev = open_ok();
  for(int i = 0; i < 256; i++) {
    char sub[64];
    snprintf(sub, sizeof(sub), "objects/%02x", i);
    ck_assert_int_eq(mkdir(at(sub), 0750), 0);
    for(int k = 0; k < 3; k++) {
      char tmp[96];
      snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld-%d", sub, (long)getpid(), k);
      spit(at(tmp), "partial", 7);
    }
  }
  capture c;
  make_capture(&c, 9);
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  qw_evidence_close(ev);
  char *rep;
  uint64_t records, bad;
  ck_assert_int_eq(verify(&rep, &records, &bad), 0);
  ck_assert_ptr_nonnull(strstr(rep, "temporary file left by an interrupted "
                                    "store"));
  free(rep);
}
END_TEST

/* ---- the chain -------------------------------------------------------- */

START_TEST(test_chain_of_100)
{
  make_chain(100);
  verify_clean(100);
  char *buf, *lines[128];
  size_t n = log_lines(&buf, lines, 128);
  ck_assert_uint_eq(n, 100);
  char prev[65] = ZERO64;
  for(size_t i = 0; i < n; i++) {
    json_t *o = json_loads(lines[i], 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "seq")),
                     (json_int_t)i + 1);
    ck_assert_str_eq(json_string_value(json_object_get(o, "prev")), prev);
    snprintf(prev, sizeof(prev), "%s",
             json_string_value(json_object_get(o, "hash")));
    json_decref(o);
  }
  free(buf);
  /* Reopening continues the chain. */
  qw_evidence *ev = open_ok();
  capture c;
  make_capture(&c, 1000);
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  qw_evidence_close(ev);
  ck_assert_uint_eq(ref.seq, 101);
  n = log_lines(&buf, lines, 128);
  ck_assert_ptr_nonnull(strstr(lines[100], prev));
  free(buf);
  verify_clean(101);
}
END_TEST

START_TEST(test_empty_store_verifies)
{
  qw_evidence *ev = open_ok();
  qw_evidence_close(ev);
  verify_clean(0);
  uint64_t records = 9, bad = 9;
  ck_assert_int_eq(qw_evidence_verify(at("nonexistent"), NULL, &records,
                                      &bad), -ENOENT);
}
END_TEST

/* ---- tampering -------------------------------------------------------- */

START_TEST(test_tamper_object_byte)
{
  make_chain(10);
  char *buf, *lines[16];
  log_lines(&buf, lines, 16);
  json_t *o = json_loads(lines[4], 0, NULL);
  char obj[80];
  snprintf(obj, sizeof(obj), "%s",
           json_string_value(json_object_get(o, "object")));
  json_decref(o);
  free(buf);
  size_t len;
  char *gz = slurp(at(obj), &len);
  gz[len / 2] ^= 0x20;
  spit(at(obj), gz, len);
  free(gz);
  char want[128];
  snprintf(want, sizeof(want), "%s (evidence.log:5): ", obj);
  verify_finds(want);
}
END_TEST

START_TEST(test_tamper_object_content)
{
  /* A valid gzip whose content was changed (one byte of the body). */
  make_chain(4);
  char *buf, *lines[8];
  log_lines(&buf, lines, 8);
  json_t *o = json_loads(lines[1], 0, NULL);
  char obj[80];
  snprintf(obj, sizeof(obj), "%s",
           json_string_value(json_object_get(o, "object")));
  json_decref(o);
  free(buf);
  size_t len;
  char *content = gunzip(at(obj), &len);
  char *p = strstr(content, "根治");
  ck_assert_ptr_nonnull(p);
  memcpy(p, "治疗", strlen("治疗"));
  chmod(at(obj), 0644);
  gzFile g = gzopen(at(obj), "wb6");
  gzwrite(g, content, (unsigned)len);
  gzclose(g);
  free(content);
  verify_finds("not to its name (the object was altered or damaged)");
}
END_TEST

/* Replaces the object of record 1 with gzip of content (len bytes), or
 * with raw bytes when raw is set, and checks what verify says. */
static void swap_object(const char *content, size_t len, int raw,
                        const char *want)
{
  char *buf, *lines[4];
  log_lines(&buf, lines, 4);
  json_t *o = json_loads(lines[0], 0, NULL);
  char obj[80];
  snprintf(obj, sizeof(obj), "%s",
           json_string_value(json_object_get(o, "object")));
  json_decref(o);
  free(buf);
  if(raw)
    spit(at(obj), content, len);
  else {
    chmod(at(obj), 0644);
    gzFile g = gzopen(at(obj), "wb6");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, content, (unsigned)len), (int)len);
    gzclose(g);
  }
  verify_finds(want);
}

START_TEST(test_tamper_object_malformed)
{
  make_chain(2);
  char *buf, *lines[4];
  log_lines(&buf, lines, 4);
  json_t *o = json_loads(lines[0], 0, NULL);
  char obj[80];
  snprintf(obj, sizeof(obj), "%s",
           json_string_value(json_object_get(o, "object")));
  json_decref(o);
  free(buf);
  size_t len, glen;
  char *content = gunzip(at(obj), &len);
  char *gz = slurp(at(obj), &glen);
  /* Bytes added after the body. */
  char *longer = malloc(len + 5);
  memcpy(longer, content, len);
  memcpy(longer + len, "extra", 5);
  swap_object(longer, len + 5, 0, "longer than its header declares");
  /* Body cut short. */
  swap_object(content, len - 10, 0, "bytes, its header says");
  /* Not an evidence object at all. */
  swap_object("<html>hello</html>", 18, 0, "ends inside its header");
  swap_object("<html>\nhello</html>", 19, 0,
              "not a qingwang evidence object");
  /* Header without its blank line. */
  char *nl = strstr(content, "\n\n\n");
  ck_assert_ptr_nonnull(nl);
  nl[2] = 'X';
  swap_object(content, len, 0, "no blank line after the header blocks");
  /* A header block whose length is wrong. */
  nl[2] = '\n';
  char *rq = strstr(content, "request-headers: ");
  rq[strlen("request-headers: ")]++;
  swap_object(content, len, 0, "does not end where its length says");
  /* The gzip file cut in half, or with bytes after its end. */
  swap_object(gz, glen / 2, 1, "truncated gzip stream");
  char *gz2 = malloc(glen + 3);
  memcpy(gz2, gz, glen);
  memcpy(gz2 + glen, "abc", 3);
  swap_object(gz2, glen + 3, 1, "data after the gzip stream");
  swap_object("", 0, 1, "truncated gzip stream");
  /* And back as it was: clean again. */
  spit(at(obj), gz, glen);
  verify_clean(2);
  free(gz2);
  free(gz);
  free(longer);
  free(content);
}
END_TEST

START_TEST(test_tamper_object_missing)
{
  make_chain(3);
  char *buf, *lines[4];
  log_lines(&buf, lines, 4);
  json_t *o = json_loads(lines[2], 0, NULL);
  char obj[80];
  snprintf(obj, sizeof(obj), "%s",
           json_string_value(json_object_get(o, "object")));
  json_decref(o);
  free(buf);
  ck_assert_int_eq(unlink(at(obj)), 0);
  char want[128];
  snprintf(want, sizeof(want), "%s (evidence.log:3): missing", obj);
  verify_finds(want);
}
END_TEST

START_TEST(test_tamper_log_field)
{
  make_chain(10);
  char *buf, *lines[16];
  size_t n = log_lines(&buf, lines, 16);
  char *s = strstr(lines[3], "\"status\":200");
  ck_assert_ptr_nonnull(s);
  memcpy(s, "\"status\":404", 12);
  write_lines(lines, n);
  free(buf);
  verify_finds("evidence.log:4: \"hash\" does not match the record's "
               "content (the record was altered)");
}
END_TEST

START_TEST(test_tamper_log_reformatted)
{
  /* Same content, other bytes (a space, a CR): still a change. */
  make_chain(4);
  char *buf, *lines[8];
  size_t n = log_lines(&buf, lines, 8);
  size_t l1 = strlen(lines[1]);
  char *spaced = malloc(l1 + 2);
  memcpy(spaced, lines[1], l1 - 1);
  memcpy(spaced + l1 - 1, " }", 3);
  lines[1] = spaced;
  char *cr = malloc(strlen(lines[3]) + 2);
  sprintf(cr, "%s\r", lines[3]);
  lines[3] = cr;
  write_lines(lines, n);
  verify_finds("evidence.log:2: the line is not byte for byte as qingwang "
               "writes it");
  verify_finds("evidence.log:4: the line is not byte for byte");
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "not as qingwang wrote it"));
  free(spaced);
  free(cr);
  free(buf);
}
END_TEST

START_TEST(test_tamper_log_rehashed)
{
  /* The field changed and the record's own hash recomputed: the next
   * record's "prev" still gives it away. */
  make_chain(10);
  char *buf, *lines[16];
  size_t n = log_lines(&buf, lines, 16);
  json_t *o = json_loads(lines[5], 0, NULL);
  json_object_set_new(o, "url", json_string("https://elsewhere.example/"));
  json_object_del(o, "hash");
  char *canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  char h[65];
  qw_sha256_hex(canon, strlen(canon), h);
  json_object_set_new(o, "hash", json_string(h));
  char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  lines[5] = line;
  write_lines(lines, n);
  verify_finds("evidence.log:7: \"prev\" is not the hash of the record "
               "before it");
  free(canon);
  free(line);
  json_decref(o);
  free(buf);
}
END_TEST

START_TEST(test_tamper_log_deleted_line)
{
  make_chain(10);
  char *buf, *lines[16];
  size_t n = log_lines(&buf, lines, 16);
  memmove(&lines[4], &lines[5], (n - 5) * sizeof(lines[0]));
  write_lines(lines, n - 1);
  free(buf);
  verify_finds("evidence.log:5: seq 6 where 5 was expected");
  /* Its object is now unreferenced: noted, but the deletion is what
   * counts. */
}
END_TEST

START_TEST(test_tamper_log_reordered)
{
  make_chain(10);
  char *buf, *lines[16];
  size_t n = log_lines(&buf, lines, 16);
  char *t = lines[2];
  lines[2] = lines[3];
  lines[3] = t;
  write_lines(lines, n);
  free(buf);
  verify_finds("evidence.log:3: seq 4 where 3 was expected");
  verify_finds("evidence.log:4: seq 3 where 5 was expected");
}
END_TEST

START_TEST(test_tamper_log_truncated)
{
  make_chain(10);
  size_t len;
  char *log = slurp(at("evidence.log"), &len);
  /* Cut at a record boundary: the chain alone cannot tell, the head can. */
  char *end = log + len - 1;
  for(int k = 0; k < 2; k++) {
    *end = '\0';
    end = strrchr(log, '\n');
  }
  size_t cut = (size_t)(end - log) + 1;
  ck_assert_int_eq(truncate(at("evidence.log"), (off_t)cut), 0);
  verify_finds("evidence.head: names record 10 but the log ends at record "
               "8 (records were removed from the end)");
  /* And the store will not paper over it by appending. */
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_null(ev);
  ck_assert_msg(strstr(err, "records were removed") != NULL, "%s", err);
  /* Cut mid-record. */
  ck_assert_int_eq(truncate(at("evidence.log"), (off_t)cut - 40), 0);
  verify_finds("evidence.log:8: torn final record");
  free(log);
}
END_TEST

START_TEST(test_tamper_head_removed)
{
  make_chain(3);
  ck_assert_int_eq(unlink(at("evidence.head")), 0);
  verify_finds("evidence.head: missing");
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "evidence.head is missing"));
}
END_TEST

START_TEST(test_tamper_log_and_head_removed)
{
  make_chain(3);
  ck_assert_int_eq(unlink(at("evidence.head")), 0);
  ck_assert_int_eq(unlink(at("evidence.log")), 0);
  verify_finds("evidence.log: missing, but there are 3 objects");
  verify_finds("evidence.head: missing");
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "evidence.log is missing"));
  /* The refused open created nothing. */
  ck_assert_int_eq(access(at("evidence.log"), F_OK), -1);
  verify_finds("evidence.head: missing");
  /* Only the log removed. */
  teardown();
  setup();
  make_chain(2);
  ck_assert_int_eq(unlink(at("evidence.log")), 0);
  verify_finds("evidence.log: missing, but evidence.head exists");
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "evidence.log is missing"));
  /* Only the head removed, the log emptied. */
  teardown();
  setup();
  make_chain(2);
  ck_assert_int_eq(unlink(at("evidence.head")), 0);
  ck_assert_int_eq(truncate(at("evidence.log"), 0), 0);
  verify_finds("evidence.head: missing");
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "but there are objects"));
}
END_TEST

START_TEST(test_open_refuses_bad_last_record)
{
  make_chain(5);
  char *buf, *lines[8];
  size_t n = log_lines(&buf, lines, 8);
  char *s = strstr(lines[4], "\"node\":\"node-sh-01\"");
  ck_assert_ptr_nonnull(s);
  s[15] = '2';
  write_lines(lines, n);
  free(buf);
  size_t before_len;
  char *before = slurp(at("evidence.log"), &before_len);
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_null(ev);
  ck_assert_msg(strstr(err, "does not verify") &&
                strstr(err, "have a person look at it"), "%s", err);
  /* Nothing was changed by the refused open. */
  size_t after_len;
  char *after = slurp(at("evidence.log"), &after_len);
  ck_assert_uint_eq(before_len, after_len);
  ck_assert(memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
  /* Not JSON at all. */
  FILE *f = fopen(at("evidence.log"), "ab");
  fputs("garbage\n", f);
  fclose(f);
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err, "not valid JSON"));
  verify_finds("evidence.log:6: not valid JSON");
}
END_TEST

START_TEST(test_store_refuses_after_foreign_append)
{
  /* While a store is open, something else appends a bad record: the next
   * store refuses, and keeps refusing (it does not append after it). */
  make_chain(3);
  qw_evidence *ev = open_ok();
  FILE *f = fopen(at("evidence.log"), "ab");
  fputs("{\"seq\":4,\"note\":\"added by hand\"}\n", f);
  fclose(f);
  size_t before_len;
  char *before = slurp(at("evidence.log"), &before_len);
  capture c;
  make_capture(&c, 40);
  qw_evidence_ref ref;
  char err[512];
  for(int i = 0; i < 2; i++) {
    ck_assert_int_eq(qw_evidence_store(ev, &c.it, &ref, err, sizeof(err)),
                     -EBADMSG);
    ck_assert_msg(strstr(err, "does not verify"), "%s", err);
  }
  qw_evidence_close(ev);
  size_t after_len;
  char *after = slurp(at("evidence.log"), &after_len);
  ck_assert_uint_eq(after_len, before_len);
  ck_assert(memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
}
END_TEST

START_TEST(test_long_unterminated_tail_not_cut)
{
  /* More bytes without a line end than any record: not a torn write, so
   * it is not cut away but refused. */
  make_chain(2);
  size_t len;
  char *log = slurp(at("evidence.log"), &len);
  free(log);
  FILE *f = fopen(at("evidence.log"), "ab");
  char xs[1024];
  memset(xs, 'x', sizeof(xs));
  for(int i = 0; i < 1100; i++)
    ck_assert_uint_eq(fwrite(xs, 1, sizeof(xs), f), sizeof(xs));
  fclose(f);
  struct stat st;
  ck_assert_int_eq(stat(at("evidence.log"), &st), 0);
  ck_assert_int_gt(st.st_size - (off_t)len, 1024 * 1024);
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)),
                   -EBADMSG);
  ck_assert_msg(strstr(err, "not an interrupted write"), "%s", err);
  struct stat st2;
  ck_assert_int_eq(stat(at("evidence.log"), &st2), 0);
  ck_assert_int_eq(st2.st_size, st.st_size);
  verify_finds("evidence.log:3: torn final record");
}
END_TEST

/* ---- crashes ---------------------------------------------------------- */

START_TEST(test_torn_last_line)
{
  make_chain(5);
  size_t len;
  char *log = slurp(at("evidence.log"), &len);
  free(log);
  FILE *f = fopen(at("evidence.log"), "ab");
  fputs("{\"body_length\":1234,\"body_sha256\":\"9f86d08", f);
  fclose(f);
  verify_finds("evidence.log:6: torn final record");
  qw_evidence *ev = NULL;
  char err[512];
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)), 0);
  char want[128];
  snprintf(want, sizeof(want), "evidence.log: cut a torn final record at "
           "byte %zu", len);
  ck_assert_msg(strstr(err, want) != NULL, "warning was \"%s\"", err);
  struct stat st;
  ck_assert_int_eq(stat(at("evidence.log"), &st), 0);
  ck_assert_int_eq(st.st_size, (off_t)len);
  capture c;
  make_capture(&c, 77);
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  ck_assert_uint_eq(ref.seq, 6);
  qw_evidence_close(ev);
  verify_clean(6);
  /* A log that is nothing but a torn record. */
  teardown();
  setup();
  f = fopen(at("evidence.log"), "wb");
  fputs("{\"seq\":1,", f);
  fclose(f);
  ck_assert_int_eq(qw_evidence_open(tmpdir, &ev, err, sizeof(err)), 0);
  ck_assert_ptr_nonnull(strstr(err, "cut a torn final record at byte 0"));
  store_ok(ev, &c.it, &ref);
  ck_assert_uint_eq(ref.seq, 1);
  qw_evidence_close(ev);
  verify_clean(1);
}
END_TEST

/* Every record's object exists; returns the record count. */
static size_t check_objects_exist(void)
{
  char *buf, *lines[20000];
  size_t n = log_lines(&buf, lines, 20000);
  for(size_t i = 0; i < n; i++) {
    json_t *o = json_loads(lines[i], 0, NULL);
    ck_assert_ptr_nonnull(o);
    const char *obj = json_string_value(json_object_get(o, "object"));
    ck_assert_msg(access(at(obj), R_OK) == 0, "record %zu: %s missing", i + 1,
                  obj);
    json_decref(o);
  }
  free(buf);
  return n;
}

START_TEST(test_kill_9_during_stores)
{
  unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
  fprintf(stderr, "test_kill_9_during_stores: seed %u\n", seed);
  srand(seed);
  size_t total = 0;
  for(int round = 0; round < 4; round++) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if(pid == 0) {
      qw_evidence *ev = NULL;
      char err[512];
      if(qw_evidence_open(tmpdir, &ev, err, sizeof(err)) != 0)
        _exit(2);
      for(int k = 0;; k++) {
        capture c;
        qw_evidence_ref ref;
        make_capture(&c, round * 100000 + k);
        if(qw_evidence_store(ev, &c.it, &ref, err, sizeof(err)) != 0)
          _exit(3);
      }
    }
    /* Let it get going (a few records), then kill it at a random
     * moment. */
    struct stat st;
    off_t start = stat(at("evidence.log"), &st) == 0 ? st.st_size : 0;
    for(int i = 0; i < 30000; i++) {
      if(stat(at("evidence.log"), &st) == 0 && st.st_size > start + 1500)
        break;
      struct timespec ms = {0, 1000 * 1000};
      nanosleep(&ms, NULL);
    }
    struct timespec d = {0, (long)(rand() % 40000) * 1000};
    nanosleep(&d, NULL);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                  "child ended by itself (status %d)", status);
    /* Reopen as the daemon would after a crash, then check. */
    qw_evidence *ev = open_ok();
    qw_evidence_close(ev);
    size_t n = check_objects_exist();
    ck_assert_uint_gt(n, total);
    total = n;
    verify_clean(total);
  }
}
END_TEST

/* A log append that fails half-way (file size limit): the store reports
 * it, the log is exactly as before, and the object was already on disk —
 * objects go first. */
START_TEST(test_failed_append_loses_nothing)
{
  make_chain(20);
  size_t before_len;
  char *before = slurp(at("evidence.log"), &before_len);
  capture c;
  make_capture(&c, 500);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if(pid == 0) {
    qw_evidence *ev = NULL;
    char err[512];
    if(qw_evidence_open(tmpdir, &ev, err, sizeof(err)) != 0)
      _exit(2);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {(rlim_t)before_len + 40, (rlim_t)before_len + 40};
    if(setrlimit(RLIMIT_FSIZE, &rl) != 0)
      _exit(3);
    qw_evidence_ref ref;
    int r = qw_evidence_store(ev, &c.it, &ref, err, sizeof(err));
    if(r != -EFBIG || !strstr(err, "cannot append to"))
      _exit(4);
    /* The store stays usable: the same failure again, not a torn log. */
    r = qw_evidence_store(ev, &c.it, &ref, err, sizeof(err));
    _exit(r == -EFBIG ? 0 : 5);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child status %d", status);
  size_t after_len;
  char *after = slurp(at("evidence.log"), &after_len);
  ck_assert_uint_eq(after_len, before_len);
  ck_assert(memcmp(before, after, before_len) == 0);
  free(before);
  free(after);
  /* The object is there, unreferenced: a note, not a problem. */
  char *rep;
  uint64_t records, bad;
  ck_assert_int_eq(verify(&rep, &records, &bad), 0);
  ck_assert_uint_eq(records, 20);
  ck_assert_msg(strstr(rep, "note: objects/") &&
                strstr(rep, "not referenced by any record"), "%s", rep);
  free(rep);
  /* Storing it again now succeeds and reuses that object. */
  qw_evidence *ev = open_ok();
  qw_evidence_ref ref;
  store_ok(ev, &c.it, &ref);
  qw_evidence_close(ev);
  ck_assert_uint_eq(ref.seq, 21);
  verify_clean(21);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

static int open_errno_as_nobody(const char *dir, char *err, size_t errlen)
{
  int pfd[2];
  ck_assert_int_eq(pipe(pfd), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if(pid == 0) {
    close(pfd[0]);
    if(geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
      _exit(100);
    qw_evidence *ev = NULL;
    char e[512] = "";
    int r = qw_evidence_open(dir, &ev, e, sizeof(e));
    if(write(pfd[1], e, strlen(e)) < 0)
      _exit(101);
    qw_evidence_close(ev);
    _exit(-r);
  }
  close(pfd[1]);
  ssize_t n = read(pfd[0], err, errlen - 1);
  err[n > 0 ? n : 0] = '\0';
  close(pfd[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_ne(WEXITSTATUS(status), 100);
  return WEXITSTATUS(status);
}

START_TEST(test_read_only_directory)
{
  char err[512];
  /* A fresh store in a read-only directory. */
  ck_assert_int_eq(chmod(tmpdir, 0555), 0);
  ck_assert_int_eq(open_errno_as_nobody(tmpdir, err, sizeof(err)), EACCES);
  ck_assert_msg(strstr(err, tmpdir) && strstr(err, "Permission denied"),
                "%s", err);
  ck_assert_int_eq(chmod(tmpdir, 0755), 0);
  /* An existing store made read-only. */
  make_chain(2);
  ck_assert_int_eq(chmod(at("objects"), 0555), 0);
  ck_assert_int_eq(open_errno_as_nobody(tmpdir, err, sizeof(err)), EACCES);
  ck_assert_msg(strstr(err, "objects") && strstr(err, "Permission denied"),
                "%s", err);
  /* Under a missing parent that cannot be created. */
  ck_assert_int_eq(open_errno_as_nobody(at("objects/new/store"), err,
                                        sizeof(err)), EACCES);
  ck_assert_msg(strstr(err, "cannot create"), "%s", err);
  /* A file where the directory should be. */
  qw_evidence *ev = NULL;
  ck_assert_int_eq(qw_evidence_open(at("evidence.log"), &ev, err,
                                    sizeof(err)), -ENOTDIR);
  ck_assert_ptr_nonnull(strstr(err, "evidence.log"));
  ck_assert_int_eq(chmod(at("objects"), 0755), 0);
  verify_clean(2);
}
END_TEST

START_TEST(test_bad_arguments)
{
  qw_evidence *ev = open_ok();
  qw_evidence_item it;
  qw_evidence_ref ref;
  char err[512];
  memset(&it, 0, sizeof(it));
  it.body_len = 10;
  ck_assert_int_eq(qw_evidence_store(ev, &it, &ref, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_ne(err, "");
  char *huge = malloc(20000);
  memset(huge, 'a', 19999);
  huge[19999] = '\0';
  memset(&it, 0, sizeof(it));
  it.url = huge;
  ck_assert_int_eq(qw_evidence_store(ev, &it, &ref, err, sizeof(err)),
                   -E2BIG);
  ck_assert_ptr_nonnull(strstr(err, "longer than"));
  free(huge);
  qw_evidence_close(ev);
  /* Nothing was written by the failed calls. */
  verify_clean(0);
  ck_assert_int_eq(qw_evidence_open("", &ev, err, sizeof(err)), -EINVAL);
}
END_TEST

/* ---- concurrency ------------------------------------------------------ */

typedef struct {
  qw_evidence *ev;
  int id;
  uint64_t seqs[200];
  int failures;
} worker_arg;

static void *worker(void *p)
{
  worker_arg *w = p;
  for(int k = 0; k < 200; k++) {
    capture c;
    qw_evidence_ref ref;
    char err[512];
    make_capture(&c, w->id * 1000 + k);
    if(qw_evidence_store(w->ev, &c.it, &ref, err, sizeof(err)) != 0)
      w->failures++;
    else
      w->seqs[k] = ref.seq;
  }
  return NULL;
}

START_TEST(test_four_threads)
{
  qw_evidence *ev = open_ok();
  worker_arg w[4];
  pthread_t t[4];
  for(int i = 0; i < 4; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].ev = ev;
    w[i].id = i + 1;
    ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
  }
  for(int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
  qw_evidence_close(ev);
  static unsigned char seen[801];
  memset(seen, 0, sizeof(seen));
  for(int i = 0; i < 4; i++) {
    ck_assert_int_eq(w[i].failures, 0);
    for(int k = 0; k < 200; k++) {
      ck_assert(w[i].seqs[k] >= 1 && w[i].seqs[k] <= 800);
      ck_assert(!seen[w[i].seqs[k]]);
      seen[w[i].seqs[k]] = 1;
    }
  }
  verify_clean(800);
  ck_assert_uint_eq(check_objects_exist(), 800);
}
END_TEST

START_TEST(test_two_processes)
{
  /* Two daemons on one directory: the flock keeps lines whole and the
   * chain continuous. */
  qw_evidence *ev = open_ok();
  qw_evidence_close(ev);
  pid_t pids[2];
  for(int p = 0; p < 2; p++) {
    pids[p] = fork();
    ck_assert_int_ge(pids[p], 0);
    if(pids[p] == 0) {
      qw_evidence *e = NULL;
      char err[512];
      if(qw_evidence_open(tmpdir, &e, err, sizeof(err)) != 0)
        _exit(2);
      for(int k = 0; k < 60; k++) {
        capture c;
        qw_evidence_ref ref;
        make_capture(&c, (p + 1) * 10000 + k);
        if(qw_evidence_store(e, &c.it, &ref, err, sizeof(err)) != 0)
          _exit(3);
      }
      qw_evidence_close(e);
      _exit(0);
    }
  }
  for(int p = 0; p < 2; p++) {
    int status;
    ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  verify_clean(120);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("evidence");
  TCase *tc = tcase_create("store");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_store_read_back);
  tcase_add_test(tc, test_file_capture_and_escaping);
  tcase_add_test(tc, test_ipv6_remote);
  tcase_add_test(tc, test_same_capture_not_rewritten);
  tcase_add_test(tc, test_different_captures_different_objects);
  tcase_add_test(tc, test_existing_damaged_object_not_replaced);
  tcase_add_test(tc, test_stale_temp_names);
  tcase_add_test(tc, test_chain_of_100);
  tcase_add_test(tc, test_empty_store_verifies);
  tcase_add_test(tc, test_tamper_object_byte);
  tcase_add_test(tc, test_tamper_object_content);
  tcase_add_test(tc, test_tamper_object_missing);
  tcase_add_test(tc, test_tamper_object_malformed);
  tcase_add_test(tc, test_tamper_log_field);
  tcase_add_test(tc, test_tamper_log_reformatted);
  tcase_add_test(tc, test_tamper_log_rehashed);
  tcase_add_test(tc, test_tamper_log_deleted_line);
  tcase_add_test(tc, test_tamper_log_reordered);
  tcase_add_test(tc, test_tamper_log_truncated);
  tcase_add_test(tc, test_tamper_head_removed);
  tcase_add_test(tc, test_tamper_log_and_head_removed);
  tcase_add_test(tc, test_open_refuses_bad_last_record);
  tcase_add_test(tc, test_store_refuses_after_foreign_append);
  tcase_add_test(tc, test_long_unterminated_tail_not_cut);
  tcase_add_test(tc, test_torn_last_line);
  tcase_add_test(tc, test_kill_9_during_stores);
  tcase_add_test(tc, test_failed_append_loses_nothing);
  tcase_add_test(tc, test_read_only_directory);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_four_threads);
  tcase_add_test(tc, test_two_processes);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
