/* test_config.c — the config loader (config/config.h): the table and its
 * defaults, every value type with its errors and ranges, unknown keys with
 * suggestions, duplicates, file errors, atomic loads, --set overrides, the
 * dump round trip, and that the shipped sample and docs/configuration.md
 * agree with the table. */
#include <check.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "qw_build.h"
#include "qw_test.h"

static size_t nkeys(void)
{
  size_t n = 0;
  while(qw_config_keys[n].key)
    n++;
  return n;
}

static char *dump_str(const qw_config *cfg)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  ck_assert_ptr_nonnull(f);
  qw_config_dump(cfg, f);
  ck_assert_int_eq(fclose(f), 0);
  return s;
}

static int load_str(qw_config *cfg, const char *text, char *err,
                    size_t errlen)
{
  return qw_config_load_buffer(cfg, "inline.conf", text, strlen(text), err,
                               errlen);
}

static void expect_load_err(const char *text, const char *want)
{
  qw_config cfg;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&cfg), 0);
  ck_assert_int_eq(load_str(&cfg, text, err, sizeof(err)), -EINVAL);
  ck_assert_str_eq(err, want);
  qw_config_free(&cfg);
}

/* ===== The table ===== */

START_TEST(table_is_sane)
{
  size_t n = nkeys(), site_rows = 0;
  ck_assert_uint_ge(n, 41);
  for(size_t i = 0; i < n; i++) {
    const qw_config_key *k = &qw_config_keys[i];
    ck_assert_ptr_nonnull(k->section);
    ck_assert_ptr_nonnull(k->def);
    ck_assert_ptr_nonnull(k->doc);
    ck_assert_msg(strlen(k->doc) > 10 && strlen(k->doc) <= 76,
                  "%s: doc line length", k->key);
    ck_assert_uint_eq(strspn(k->key, "abcdefghijklmnopqrstuvwxyz0123456789_"),
                      strlen(k->key));
    ck_assert_uint_eq(strspn(k->section, "abcdefghijklmnopqrstuvwxyz"),
                      strlen(k->section));
    ck_assert_msg(k->min <= k->max || (k->type == QW_CFG_STRING && !k->max),
                  "%s: min > max", k->key);
    ck_assert_uint_lt(k->offset, sizeof(qw_config));
    ck_assert_int_eq(k->type == QW_CFG_ENUM, k->choices != NULL);
    if(k->type == QW_CFG_UINT)
      ck_assert(k->max <= UINT_MAX);
    if(k->type == QW_CFG_ULONG)
      ck_assert(k->max <= ULONG_MAX);
    if(k->type == QW_CFG_SIZE)
      ck_assert(k->max <= SIZE_MAX);
    /* Site-level rows: [fetch] rows whose field is in site_defaults. */
    size_t sb = offsetof(qw_config, site_defaults);
    if(k->offset >= sb && k->offset < sb + sizeof(qw_site)) {
      ck_assert_str_eq(k->section, "fetch");
      site_rows++;
    }
    for(size_t j = 0; j < i; j++) {
      const qw_config_key *o = &qw_config_keys[j];
      ck_assert_msg(strcmp(o->section, k->section) ||
                    strcmp(o->key, k->key), "%s listed twice", k->key);
      ck_assert_msg(o->offset != k->offset, "%s: offset reused", k->key);
      /* A section's rows are together, so the dump has one header each. */
      if(!strcmp(o->section, k->section))
        ck_assert_msg(!strcmp(qw_config_keys[i - 1].section, k->section),
                      "[%s] rows are not contiguous", k->section);
    }
  }
  /* The thirteen per-site keys; config.c keeps one bit per site row. */
  ck_assert_uint_eq(site_rows, 13);
}
END_TEST

START_TEST(defaults_are_the_spec)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  ck_assert_str_eq(c.node_name, "");
  ck_assert_str_eq(c.log_level, "info");
  ck_assert_str_eq(c.rules_dir, QW_DEFAULT_RULES_DIR);
  ck_assert_uint_eq(c.max_page_bytes, 16u * 1024 * 1024);
  ck_assert_uint_eq(c.max_nodes, 200000);
  ck_assert_uint_eq(c.max_depth, 512);
  ck_assert_uint_eq(c.threads, 0);
  ck_assert_uint_eq(c.pcre_match_limit, 1000000);
  ck_assert_uint_eq(c.pcre_heap_limit_kib, 20000);
  ck_assert_uint_eq(c.context_chars, 30);
  ck_assert_str_eq(c.evidence_dir, "evidence");
  ck_assert_str_eq(c.jsonl_path, "");
  ck_assert_uint_eq(c.concurrency, 256);
  ck_assert_uint_eq(c.dns_concurrency, 32);
  ck_assert_uint_eq(c.connect_timeout_ms, 10000);
  ck_assert_uint_eq(c.timeout_ms, 60000);
  ck_assert_uint_eq(c.low_speed_bytes, 1024);
  ck_assert_uint_eq(c.low_speed_secs, 30);
  ck_assert_uint_eq(c.max_body, 16u * 1024 * 1024);
  ck_assert_uint_eq(c.body_memory, 64u * 1024 * 1024);
  ck_assert_uint_eq(c.max_redirects, 5);
  ck_assert_uint_eq(c.max_attempts, 3);
  ck_assert_uint_eq(c.backoff_ms, 1000);
  ck_assert_uint_eq(c.backoff_max_ms, 60000);
  ck_assert_uint_eq(c.robots_ttl_s, 86400);
  ck_assert_uint_eq(c.robots_error_s, 3600);
  ck_assert_str_eq(c.ca_path, "");
  ck_assert_int_eq(c.verify_tls, 1);
  ck_assert_int_eq(c.http2, 1);
  const qw_site *d = &c.site_defaults;
  ck_assert_str_eq(d->host, "");
  ck_assert_str_eq(d->user_agent,
                   "qingwang/" QW_VERSION " (+regulatory monitoring)");
  ck_assert_str_eq(d->proxy, "");
  ck_assert_str_eq(d->headers, "");
  ck_assert_str_eq(d->cookie, "");
  ck_assert_int_eq(d->obey_robots, 1);
  ck_assert_uint_eq(d->host_concurrency, 4);
  ck_assert_uint_eq(d->host_delay_ms, 250);
  ck_assert_str_eq(d->page_type, "");
  ck_assert_str_eq(d->gone_markers, "商品已下架|宝贝不存在|该商品已下架|"
                   "商品不存在|页面不存在|您查看的宝贝不存在|商品已失效|"
                   "已下架");
  ck_assert_str_eq(d->block_markers, "请完成安全验证|滑块验证|访问过于频繁|"
                   "人机验证|安全验证|验证码|系统繁忙，请稍后再试");
  ck_assert_str_eq(d->login_markers, "请登录|登录后查看|扫码登录|账号登录|"
                   "密码登录");
  ck_assert_str_eq(d->block_url_markers,
                   "captcha|verify|punish|/sec/|antibot");
  ck_assert_str_eq(d->login_url_markers, "login|passport|signin|/sso/");
  ck_assert_ptr_null(c.sites);
  ck_assert_uint_eq(c.n_sites, 0);
  ck_assert_ptr_eq(qw_config_site(&c, "shop.example.cn"), d);
  ck_assert_ptr_eq(qw_config_site(&c, NULL), d);
  qw_config_free(&c);
}
END_TEST

START_TEST(defaults_equal_the_table)
{
  /* The dump of a fresh config writes every default exactly as the table
   * spells it (so defaults are canonical), in table order, with no
   * "(default: …)" notes. */
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  char *d = dump_str(&c);
  ck_assert_ptr_null(strstr(d, "(default:"));
  const char *pos = d;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char line[4200];
    if(*k->def)
      snprintf(line, sizeof(line), "\n%s = %s\n", k->key, k->def);
    else
      snprintf(line, sizeof(line), "\n%s =\n", k->key);
    const char *at = strstr(pos, line);
    ck_assert_msg(at != NULL, "dump lacks '%s' after offset %td", line + 1,
                  pos - d);
    pos = at + 1;
  }
  free(d);
  /* Two inits give equal but separate strings. */
  qw_config a;
  ck_assert_int_eq(qw_config_init(&a), 0);
  ck_assert_ptr_ne(a.evidence_dir, c.evidence_dir);
  ck_assert_str_eq(a.evidence_dir, c.evidence_dir);
  qw_config_free(&a);
  qw_config_free(&c);
  /* Free is idempotent and safe on a zeroed config. */
  qw_config_free(&c);
  qw_config z;
  memset(&z, 0, sizeof(z));
  qw_config_free(&z);
}
END_TEST

/* ===== Values, through qw_config_set ===== */

static void set_ok(qw_config *c, const char *sec, const char *key,
                   const char *val)
{
  char err[512] = "";
  int r = qw_config_set(c, sec, key, val, err, sizeof(err));
  ck_assert_msg(r == 0, "%s.%s=%s: %s", sec, key, val, err);
}

static void set_err(const char *sec, const char *key, const char *val,
                    const char *want)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  char *before = dump_str(&c);
  char err[512] = "";
  ck_assert_int_eq(qw_config_set(&c, sec, key, val, err, sizeof(err)),
                   -EINVAL);
  ck_assert_str_eq(err, want);
  /* A rejected value changes nothing. */
  char *after = dump_str(&c);
  ck_assert_str_eq(before, after);
  free(before);
  free(after);
  qw_config_free(&c);
}

START_TEST(size_values)
{
  static const struct {
    const char *text;
    size_t want;
  } ok[] = {
    {"16M", 16u << 20}, {"16m", 16u << 20}, {"16 MiB", 16u << 20},
    {"16mib", 16u << 20}, {"1K", 1024}, {"1kib", 1024}, {"512k", 512u << 10},
    {"1G", 1u << 30}, {"1 GiB", 1u << 30}, {"1024", 1024},
    {"1048576", 1u << 20}, {"  8M  ", 8u << 20}, {"0001K", 1024},
    {"1073741824", 1u << 30}, {"3\t M", 3u << 20},
  };
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  for(size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    c.max_page_bytes = 0;
    set_ok(&c, "analysis", "max_page_bytes", ok[i].text);
    ck_assert_msg(c.max_page_bytes == ok[i].want, "%s → %zu", ok[i].text,
                  c.max_page_bytes);
  }
  qw_config_free(&c);
  const char *p = "[analysis] max_page_bytes: ";
  char want[512];
  static const char *const bad[][2] = {
    {"1023", "1023 is below the minimum 1K"},
    {"0", "0 is below the minimum 1K"},
    {"1025M", "1025M is above the maximum 1G"},
    {"1073741825", "1073741825 is above the maximum 1G"},
    {"2G", "2G is above the maximum 1G"},
    {"16MB", "'16MB': 'MB' is ambiguous; write M or MiB (1K = 1024 bytes)"},
    {"16kb", "'16kb': 'kb' is ambiguous; write K or KiB (1K = 1024 bytes)"},
    {"-1", "'-1': negative values are not allowed"},
    {"-16M", "'-16M': negative values are not allowed"},
    {"1.5G", "'1.5G' is not a size (bytes, or a number with K, M or G)"},
    {"16T", "'16T' is not a size (bytes, or a number with K, M or G)"},
    {"16MM", "'16MM' is not a size (bytes, or a number with K, M or G)"},
    {"0x100000", "'0x100000' is not a size (bytes, or a number with K, M "
     "or G)"},
    {"+8M", "'+8M' is not a size (bytes, or a number with K, M or G)"},
    {"M", "'M' is not a size (bytes, or a number with K, M or G)"},
    {"", "empty value; expected a size (bytes, or a number with K, M or G)"},
    {"99999999999999999999", "'99999999999999999999' is too large"},
    {"17179869184G", "'17179869184G' is too large"},
    {"8M junk", "'8M junk' is not a size (bytes, or a number with K, M or "
     "G)"},
  };
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(want, sizeof(want), "%s%s", p, bad[i][1]);
    set_err("analysis", "max_page_bytes", bad[i][0], want);
  }
}
END_TEST

START_TEST(uint_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "analysis", "max_depth", "16");
  ck_assert_uint_eq(c.max_depth, 16);
  set_ok(&c, "analysis", "max_depth", "10000");
  ck_assert_uint_eq(c.max_depth, 10000);
  set_ok(&c, "analysis", "max_nodes", "4294967295");
  ck_assert_uint_eq(c.max_nodes, UINT_MAX);
  set_ok(&c, "analysis", "threads", "0");
  ck_assert_uint_eq(c.threads, 0);
  set_ok(&c, "analysis", "threads", " 256 ");
  ck_assert_uint_eq(c.threads, 256);
  set_ok(&c, "analysis", "context_chars", "0");
  ck_assert_uint_eq(c.context_chars, 0);
  qw_config_free(&c);
  set_err("analysis", "max_depth", "5",
          "[analysis] max_depth: 5 is below the minimum 16");
  set_err("analysis", "max_depth", "10001",
          "[analysis] max_depth: 10001 is above the maximum 10000");
  set_err("analysis", "threads", "257",
          "[analysis] threads: 257 is above the maximum 256");
  set_err("analysis", "context_chars", "501",
          "[analysis] context_chars: 501 is above the maximum 500");
  set_err("analysis", "max_nodes", "0",
          "[analysis] max_nodes: 0 is below the minimum 1");
  set_err("analysis", "max_nodes", "4294967296",
          "[analysis] max_nodes: 4294967296 is above the maximum 4294967295");
  set_err("analysis", "max_depth", "abc",
          "[analysis] max_depth: 'abc' is not a whole number");
  set_err("analysis", "max_depth", "12abc",
          "[analysis] max_depth: '12abc' is not a whole number");
  set_err("analysis", "max_depth", "1e3",
          "[analysis] max_depth: '1e3' is not a whole number");
  set_err("analysis", "max_depth", "64K",
          "[analysis] max_depth: '64K' is not a whole number");
  set_err("analysis", "threads", "-4",
          "[analysis] threads: '-4': negative values are not allowed");
  set_err("analysis", "threads", "",
          "[analysis] threads: empty value; expected a whole number");
  set_err("analysis", "threads", "18446744073709551616",
          "[analysis] threads: '18446744073709551616' is too large");
}
END_TEST

START_TEST(ulong_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "analysis", "pcre_match_limit", "4294967295");
  ck_assert_uint_eq(c.pcre_match_limit, 4294967295ul);
  set_ok(&c, "analysis", "pcre_heap_limit_kib", "1");
  ck_assert_uint_eq(c.pcre_heap_limit_kib, 1);
  qw_config_free(&c);
  set_err("analysis", "pcre_match_limit", "4294967296",
          "[analysis] pcre_match_limit: 4294967296 is above the maximum "
          "4294967295");
  set_err("analysis", "pcre_heap_limit_kib", "0",
          "[analysis] pcre_heap_limit_kib: 0 is below the minimum 1");
  set_err("analysis", "pcre_heap_limit_kib", "20M",
          "[analysis] pcre_heap_limit_kib: '20M' is not a whole number");
}
END_TEST

START_TEST(enum_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  static const char *const levels[] = {"debug", "info", "warn", "error"};
  for(size_t i = 0; i < 4; i++) {
    set_ok(&c, "general", "log_level", levels[i]);
    ck_assert_str_eq(c.log_level, levels[i]);
  }
  qw_config_free(&c);
  set_err("general", "log_level", "verbose",
          "[general] log_level: 'verbose' is not one of "
          "debug|info|warn|error");
  set_err("general", "log_level", "Debug",
          "[general] log_level: 'Debug' is not one of debug|info|warn|error");
  set_err("general", "log_level", "inf",
          "[general] log_level: 'inf' is not one of debug|info|warn|error");
  set_err("general", "log_level", "info|warn",
          "[general] log_level: 'info|warn' is not one of "
          "debug|info|warn|error");
  set_err("general", "log_level", "",
          "[general] log_level: '' is not one of debug|info|warn|error");
}
END_TEST

START_TEST(string_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "general", "node_name", "华东-上海-02");
  ck_assert_str_eq(c.node_name, "华东-上海-02");
  set_ok(&c, "general", "node_name", "  padded\t");
  ck_assert_str_eq(c.node_name, "padded");
  set_ok(&c, "general", "node_name", "");
  ck_assert_str_eq(c.node_name, "");
  set_ok(&c, "output", "evidence_dir", "/srv/证据 #1 = a;b\\\\");
  ck_assert_str_eq(c.evidence_dir, "/srv/证据 #1 = a;b\\\\");
  char name[257];
  memset(name, 'n', 255);
  name[255] = '\0';
  set_ok(&c, "general", "node_name", name);
  qw_config_free(&c);
  name[255] = 'n';
  name[256] = '\0';
  set_err("general", "node_name", name,
          "[general] node_name: the value is 256 bytes long; the maximum is "
          "255");
  set_err("analysis", "rules_dir", "",
          "[analysis] rules_dir: the value must not be empty");
  set_err("output", "evidence_dir", "  ",
          "[output] evidence_dir: the value must not be empty");
  set_err("general", "node_name", "a\nb",
          "[general] node_name: control character 0x0A in the value");
  set_err("general", "node_name", "\xC9\xCF\xBA\xA3",
          "[general] node_name: the value is not valid UTF-8");
  set_err("output", "jsonl_path", "C:\\clues\\",
          "[output] jsonl_path: the value must not end in a single "
          "backslash (in a file that continues the line)");
}
END_TEST

START_TEST(bool_rows)
{
  /* Every bool row gets the full check. */
  static const char *const yes[] = {"yes", "YES", "true", "True", "on",
                                    "1"};
  static const char *const no[] = {"no", "No", "false", "FALSE", "off",
                                   "0"};
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(k->type != QW_CFG_BOOL)
      continue;
    qw_config c;
    ck_assert_int_eq(qw_config_init(&c), 0);
    int *f = (int *)(void *)((char *)&c + k->offset);
    for(size_t i = 0; i < 6; i++) {
      set_ok(&c, k->section, k->key, yes[i]);
      ck_assert_int_eq(*f, 1);
      set_ok(&c, k->section, k->key, no[i]);
      ck_assert_int_eq(*f, 0);
    }
    qw_config_free(&c);
    char want[256];
    snprintf(want, sizeof(want), "[%s] %s: 'maybe' is not a boolean "
             "(yes/no, true/false, on/off, 1/0)", k->section, k->key);
    set_err(k->section, k->key, "maybe", want);
  }
}
END_TEST

START_TEST(every_row_parses_its_default)
{
  /* qw_config_set with each row's default string gives the init value. */
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  ck_assert_int_eq(qw_config_init(&b), 0);
  set_ok(&b, "analysis", "max_depth", "9999");
  set_ok(&b, "general", "log_level", "error");
  set_ok(&b, "output", "jsonl_path", "/x");
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    set_ok(&b, k->section, k->key, k->def);
  char *da = dump_str(&a), *db = dump_str(&b);
  ck_assert_str_eq(da, db);
  free(da);
  free(db);
  qw_config_free(&a);
  qw_config_free(&b);
}
END_TEST

START_TEST(unknown_keys_and_sections)
{
  set_err("analysis", "max_dept", "5",
          "unknown key 'max_dept' in [analysis]; did you mean 'max_depth'?");
  set_err("analysis", "max_dpeth", "5",
          "unknown key 'max_dpeth' in [analysis]; did you mean "
          "'max_depth'?");
  set_err("analysis", "thread", "5",
          "unknown key 'thread' in [analysis]; did you mean 'threads'?");
  set_err("analysis", "Threads", "5",
          "unknown key 'Threads' in [analysis]; did you mean 'threads'?");
  set_err("analysis", "evidence_dir", "x",
          "unknown key 'evidence_dir' in [analysis]; it belongs in [output]");
  set_err("analysis", "colour", "x", "unknown key 'colour' in [analysis]");
  set_err("analysis", "max", "x", "unknown key 'max' in [analysis]");
  set_err("genral", "node_name", "x",
          "unknown section [genral]; did you mean [general]?");
  set_err("fetch", "timeout", "x", "unknown key 'timeout' in [fetch]");
  set_err("fetch", "timout_ms", "x",
          "unknown key 'timout_ms' in [fetch]; did you mean 'timeout_ms'?");
  set_err("redis", "host", "x",
          "unknown section [redis] (known sections: [general], [analysis], "
          "[output], [fetch], [site HOST])");
  set_err("", "threads", "1",
          "unknown section [] (known sections: [general], [analysis], "
          "[output], [fetch], [site HOST])");
  /* A very long unknown key gets no suggestion (and no overflow). */
  char big[300];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  char err[128];
  ck_assert_int_eq(qw_config_set(&c, "analysis", big, "1", err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "unknown key 'xxxx"));
  ck_assert_ptr_null(strstr(err, "did you mean"));
  qw_config_free(&c);
}
END_TEST

/* ===== Files ===== */

START_TEST(load_full_fixture)
{
  qw_config c;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&c), 0);
  int r = qw_config_load(&c, qw_test_fixture("config/full.conf"), err,
                         sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
  ck_assert_str_eq(c.node_name, "华东-上海-02");
  ck_assert_str_eq(c.log_level, "debug");
  ck_assert_str_eq(c.rules_dir, "/srv/qingwang/pack-2024");
  ck_assert_uint_eq(c.max_page_bytes, 8u << 20);
  ck_assert_uint_eq(c.max_nodes, 100000);
  ck_assert_uint_eq(c.max_depth, 256);
  ck_assert_uint_eq(c.threads, 6);
  ck_assert_uint_eq(c.pcre_match_limit, 500000);
  ck_assert_uint_eq(c.pcre_heap_limit_kib, 10000);
  ck_assert_uint_eq(c.context_chars, 48);
  ck_assert_str_eq(c.evidence_dir, "/var/lib/qingwang/evidence");
  ck_assert_str_eq(c.jsonl_path, "/var/log/qingwang/clues.jsonl");
  ck_assert_uint_eq(c.concurrency, 2000);
  ck_assert_uint_eq(c.dns_concurrency, 128);
  ck_assert_uint_eq(c.connect_timeout_ms, 5000);
  ck_assert_uint_eq(c.timeout_ms, 45000);
  ck_assert_uint_eq(c.low_speed_bytes, 0);
  ck_assert_uint_eq(c.low_speed_secs, 20);
  ck_assert_uint_eq(c.max_body, 8u << 20);
  ck_assert_uint_eq(c.body_memory, 200u << 20);
  ck_assert_uint_eq(c.max_redirects, 10);
  ck_assert_uint_eq(c.max_attempts, 5);
  ck_assert_uint_eq(c.backoff_ms, 2000);
  ck_assert_uint_eq(c.backoff_max_ms, 300000);
  ck_assert_uint_eq(c.robots_ttl_s, 43200);
  ck_assert_uint_eq(c.robots_error_s, 1800);
  ck_assert_str_eq(c.ca_path, "/etc/qingwang/ca-bundle.pem");
  ck_assert_int_eq(c.verify_tls, 0);
  ck_assert_int_eq(c.http2, 0);
  const qw_site *sd = &c.site_defaults;
  ck_assert_str_eq(sd->host, "");
  ck_assert_str_eq(sd->user_agent, "Mozilla/5.0 (compatible; qingwang/0.1; "
                   "+https://jgj.example.gov.cn/qingwang)");
  ck_assert_str_eq(sd->proxy, "socks5h://127.0.0.1:1080");
  ck_assert_str_eq(sd->headers, "Accept-Language: zh-CN,zh;q=0.9 | "
                   "X-Requested-By: 市场监管");
  ck_assert_str_eq(sd->cookie, "region=310000; lang=zh-CN");
  ck_assert_int_eq(sd->obey_robots, 0);
  ck_assert_uint_eq(sd->host_concurrency, 2);
  ck_assert_uint_eq(sd->host_delay_ms, 1500);
  ck_assert_str_eq(sd->page_type, "product");
  ck_assert_str_eq(sd->gone_markers, "商品已下架|该商品已删除");
  ck_assert_str_eq(sd->block_markers, "请完成安全验证");
  ck_assert_str_eq(sd->login_markers, "请登录");
  ck_assert_str_eq(sd->block_url_markers, "captcha");
  ck_assert_str_eq(sd->login_url_markers, "login|/sso/");
  ck_assert_uint_eq(c.n_sites, 0);
  ck_assert_ptr_eq(qw_config_site(&c, "any.example.cn"), sd);
  /* Every key differs from its default, so the dump notes each one. */
  char *d = dump_str(&c);
  size_t notes = 0;
  for(const char *p = d; (p = strstr(p, "# (default: ")) != NULL; p++)
    notes++;
  ck_assert_uint_eq(notes, nkeys());
  free(d);
  qw_config_free(&c);
}
END_TEST

START_TEST(load_windows_fixture)
{
  qw_config c;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&c), 0);
  int r = qw_config_load(&c, qw_test_fixture("config/windows.conf"), err,
                         sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
  ck_assert_uint_eq(c.max_page_bytes, 4u << 20);
  ck_assert_uint_eq(c.threads, 2);
  ck_assert_str_eq(c.log_level, "warn");
  ck_assert_uint_eq(c.max_depth, 512);
  qw_config_free(&c);
}
END_TEST

START_TEST(bad_fixtures)
{
  /* Each file in config/bad starts with "# expect: REST"; loading it must
   * fail with exactly "PATH" REST. */
  const char *dir = qw_test_fixture("config/bad");
  char dirpath[4096];
  snprintf(dirpath, sizeof(dirpath), "%s", dir);
  DIR *d = opendir(dirpath);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  int seen = 0;
  while((e = readdir(d)) != NULL) {
    if(e->d_name[0] == '.')
      continue;
    char path[4400];
    snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
    char *text = qw_test_read(path, NULL);
    ck_assert_msg(!strncmp(text, "# expect: ", 10), "%s: no expect line",
                  e->d_name);
    char *nl = strchr(text, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    char want[4800];
    snprintf(want, sizeof(want), "%s%s", path, text + 10);
    qw_config c;
    ck_assert_int_eq(qw_config_init(&c), 0);
    char *before = dump_str(&c);
    char err[1024] = "";
    ck_assert_msg(qw_config_load(&c, path, err, sizeof(err)) == -EINVAL,
                  "%s loaded", e->d_name);
    ck_assert_str_eq(err, want);
    char *after = dump_str(&c);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    qw_config_free(&c);
    free(text);
    seen++;
  }
  closedir(d);
  ck_assert_int_ge(seen, 20);
}
END_TEST

START_TEST(file_errors)
{
  qw_config c;
  char err[512];
  ck_assert_int_eq(qw_config_init(&c), 0);
  ck_assert_int_eq(qw_config_load(&c, "/nonexistent/qingwang.conf", err,
                                  sizeof(err)), -ENOENT);
  ck_assert_str_eq(err, "/nonexistent/qingwang.conf: No such file or "
                   "directory");
  ck_assert_int_eq(qw_config_load(&c, "/tmp", err, sizeof(err)), -EISDIR);
  ck_assert_str_eq(err, "/tmp: Is a directory");
  /* Bigger than the cap. */
  char path[] = "/tmp/qw-cfg-big-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, 2 * 1024 * 1024), 0);
  close(fd);
  ck_assert_int_eq(qw_config_load(&c, path, err, sizeof(err)), -EFBIG);
  char want[256];
  snprintf(want, sizeof(want), "%s: larger than 1024 KiB; not a config "
           "file?", path);
  ck_assert_str_eq(err, want);
  unlink(path);
  /* The config is untouched by all of that. */
  ck_assert_uint_eq(c.max_depth, 512);
  qw_config_free(&c);
}
END_TEST

START_TEST(load_is_atomic)
{
  qw_config c;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "general", "node_name", "before");
  ck_assert_int_eq(load_str(&c, "[general]\nnode_name = after\n"
                            "[analysis]\nthreads = 8\nmax_depth = 3\n", err,
                            sizeof(err)), -EINVAL);
  ck_assert_str_eq(err, "inline.conf:5: [analysis] max_depth: 3 is below "
                   "the minimum 16");
  ck_assert_str_eq(c.node_name, "before");
  ck_assert_uint_eq(c.threads, 0);
  qw_config_free(&c);
}
END_TEST

START_TEST(load_over_current_values)
{
  qw_config c;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "analysis", "threads", "3");
  set_ok(&c, "general", "node_name", "杭州");
  ck_assert_int_eq(load_str(&c, "[general]\nnode_name = 宁波\n", err,
                            sizeof(err)), 0);
  ck_assert_str_eq(c.node_name, "宁波");
  ck_assert_uint_eq(c.threads, 3);
  /* A second file may set the same key again: duplicates are per file. */
  ck_assert_int_eq(load_str(&c, "[general]\nnode_name = 温州\n", err,
                            sizeof(err)), 0);
  ck_assert_str_eq(c.node_name, "温州");
  /* An empty file changes nothing. */
  ck_assert_int_eq(load_str(&c, "", err, sizeof(err)), 0);
  ck_assert_str_eq(c.node_name, "温州");
  qw_config_free(&c);
}
END_TEST

START_TEST(inline_errors)
{
  expect_load_err("[analysis]\nthreads = 1\n\n# x\nthreads = 1\n",
                  "inline.conf:5: [analysis] threads: duplicate key "
                  "(already set on line 2)");
  expect_load_err("[general]\nlog_level = info\n[rule foo]\nx = 1\n",
                  "inline.conf:4: unknown section [rule foo] (known "
                  "sections: [general], [analysis], [output], [fetch], "
                  "[site HOST])");
  expect_load_err("[analysis]\nmax_page_bytes = 16 \\\n  MB\n",
                  "inline.conf:2: [analysis] max_page_bytes: '16 MB': 'MB' "
                  "is ambiguous; write M or MiB (1K = 1024 bytes)");
  expect_load_err("[output]\njsonl_path = a\\ \\\n\n",
                  "inline.conf:2: [output] jsonl_path: the value must not "
                  "end in a single backslash (in a file that continues "
                  "the line)");
  /* A small err buffer is truncated, not overrun. */
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  char err[12];
  ck_assert_int_eq(load_str(&c, "[x]\ny=1\n", err, sizeof(err)), -EINVAL);
  ck_assert_str_eq(err, "inline.conf");
  ck_assert_int_eq(load_str(&c, "[x]\ny=1\n", NULL, 0), -EINVAL);
  qw_config_free(&c);
}
END_TEST

/* ===== Dump ===== */

START_TEST(dump_round_trip)
{
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  set_ok(&a, "general", "node_name", "华南-广州 #3; a=b");
  set_ok(&a, "general", "log_level", "warn");
  set_ok(&a, "analysis", "rules_dir", "/opt/pack\\\\");
  set_ok(&a, "analysis", "max_page_bytes", "1536");
  set_ok(&a, "analysis", "max_nodes", "4294967295");
  set_ok(&a, "analysis", "threads", "256");
  set_ok(&a, "analysis", "context_chars", "0");
  set_ok(&a, "output", "evidence_dir", "[not a header]");
  set_ok(&a, "output", "jsonl_path", "= x");
  char *d1 = dump_str(&a);
  ck_assert_int_eq(qw_config_init(&b), 0);
  char err[512] = "";
  int r = qw_config_load_buffer(&b, "dump", d1, strlen(d1), err,
                                sizeof(err));
  ck_assert_msg(r == 0, "%s\n%s", err, d1);
  char *d2 = dump_str(&b);
  ck_assert_str_eq(d1, d2);
  ck_assert_str_eq(b.node_name, a.node_name);
  ck_assert_str_eq(b.rules_dir, "/opt/pack\\\\");
  ck_assert_uint_eq(b.max_page_bytes, 1536);
  ck_assert_str_eq(b.jsonl_path, "= x");
  ck_assert_ptr_nonnull(strstr(d1, "\nmax_page_bytes = 1536\n"));
  ck_assert_ptr_nonnull(strstr(d1, "# (default: 16M)\n"));
  ck_assert_ptr_nonnull(strstr(d1, "\njsonl_path = = x\n"));
  /* Every doc line is in the dump as a comment. */
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char line[200];
    snprintf(line, sizeof(line), "# %s\n", k->doc);
    ck_assert_ptr_nonnull(strstr(d1, line));
  }
  free(d1);
  free(d2);
  qw_config_free(&a);
  qw_config_free(&b);
}
END_TEST

START_TEST(dump_defaults_loads)
{
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  ck_assert_int_eq(qw_config_init(&b), 0);
  set_ok(&b, "analysis", "max_depth", "100");
  char *d1 = dump_str(&a);
  char err[512] = "";
  ck_assert_int_eq(qw_config_load_buffer(&b, "dump", d1, strlen(d1), err,
                                         sizeof(err)), 0);
  ck_assert_uint_eq(b.max_depth, 512);
  char *d2 = dump_str(&b);
  ck_assert_str_eq(d1, d2);
  free(d1);
  free(d2);
  qw_config_free(&a);
  qw_config_free(&b);
}
END_TEST

/* ===== The sample file and the docs ===== */

static char *read_source(const char *rel)
{
  char *path = qw_test_source_path(rel);
  char *text = qw_test_read(path, NULL);
  free(path);
  return text;
}

START_TEST(sample_loads_as_defaults)
{
  char *path = qw_test_source_path("config/qingwang.conf");
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  ck_assert_int_eq(qw_config_init(&b), 0);
  char err[512] = "";
  int r = qw_config_load(&b, path, err, sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
  char *da = dump_str(&a), *db = dump_str(&b);
  ck_assert_str_eq(da, db);
  free(da);
  free(db);
  qw_config_free(&a);
  qw_config_free(&b);
  free(path);
}
END_TEST

START_TEST(sample_lists_every_key)
{
  /* Each key appears as "#key = DEFAULT", after its "# doc" line, inside
   * its section, in table order. */
  char *text = read_source("config/qingwang.conf");
  const char *prev = text;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char pat[4200];
    snprintf(pat, sizeof(pat), "\n#%s =", k->key);
    const char *at = strstr(text, pat);
    ck_assert_msg(at != NULL, "sample lacks '#%s ='", k->key);
    ck_assert_msg(at > prev, "'%s' is out of table order", k->key);
    snprintf(pat, sizeof(pat), "\n# %s\n", k->doc);
    const char *doc = strstr(prev, pat);
    ck_assert_msg(doc != NULL && doc < at, "'%s': doc line missing before "
                  "the key", k->key);
    snprintf(pat, sizeof(pat), "\n[%s]\n", k->section);
    const char *sec = strstr(text, pat);
    ck_assert_msg(sec != NULL && sec < at, "'%s' not in [%s]", k->key,
                  k->section);
    const char *next = strstr(sec + 1, "\n[");
    ck_assert_msg(!next || next > at, "'%s' not in [%s]", k->key,
                  k->section);
    prev = at;
  }
  free(text);
}
END_TEST

START_TEST(sample_defaults_are_right)
{
  /* Uncommenting every "#key =" line gives the defaults (rules_dir's
   * default depends on the install prefix, so the sample shows the one
   * for /usr/local). */
  char *text = read_source("config/qingwang.conf");
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char pat[200];
    snprintf(pat, sizeof(pat), "\n#%s =", k->key);
    char *at = strstr(text, pat);
    ck_assert_ptr_nonnull(at);
    memmove(at + 1, at + 2, strlen(at + 2) + 1);
  }
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  ck_assert_int_eq(qw_config_init(&b), 0);
  char err[512] = "";
  int r = qw_config_load_buffer(&b, "sample", text, strlen(text), err,
                                sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
  ck_assert_str_eq(b.rules_dir, "/usr/local/share/qingwang/pack");
  set_ok(&b, "analysis", "rules_dir", QW_DEFAULT_RULES_DIR);
  /* The sample shows the user agent with VERSION for the version. */
  ck_assert_str_eq(b.site_defaults.user_agent,
                   "qingwang/VERSION (+regulatory monitoring)");
  set_ok(&b, "fetch", "user_agent",
         "qingwang/" QW_VERSION " (+regulatory monitoring)");
  char *da = dump_str(&a), *db = dump_str(&b);
  ck_assert_str_eq(da, db);
  free(da);
  free(db);
  qw_config_free(&a);
  qw_config_free(&b);
  free(text);
}
END_TEST

static const char *type_name(qw_config_type t)
{
  switch(t) {
  case QW_CFG_STRING: return "string";
  case QW_CFG_UINT: return "uint";
  case QW_CFG_ULONG: return "ulong";
  case QW_CFG_SIZE: return "size";
  case QW_CFG_BOOL: return "bool";
  case QW_CFG_ENUM: return "enum";
  }
  return "?";
}

START_TEST(docs_cover_every_key)
{
  char *doc = read_source("docs/configuration.md");
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char pat[4200];
    snprintf(pat, sizeof(pat), "\n## [%s]\n", k->section);
    const char *sec = strstr(doc, pat);
    ck_assert_msg(sec != NULL, "docs lack '## [%s]'", k->section);
    const char *sec_end = strstr(sec + 1, "\n## ");
    snprintf(pat, sizeof(pat), "\n### `%s`\n", k->key);
    const char *h = strstr(sec, pat);
    ck_assert_msg(h != NULL && (!sec_end || h < sec_end),
                  "docs lack '### `%s`' under [%s]", k->key, k->section);
    const char *h_end = strstr(h + 1, "\n##");
    size_t blen = h_end ? (size_t)(h_end - h) : strlen(h);
    char *block = strndup(h, blen);
    ck_assert_ptr_nonnull(block);
    snprintf(pat, sizeof(pat), "\n- Type: %s", type_name(k->type));
    ck_assert_msg(strstr(block, pat) != NULL, "%s: docs give another type",
                  k->key);
    if(!*k->def)
      snprintf(pat, sizeof(pat), "\n- Default: empty\n");
    else if(!strcmp(k->def, QW_DEFAULT_RULES_DIR))
      snprintf(pat, sizeof(pat), "PREFIX/share/qingwang/pack");
    else if(!strcmp(k->key, "user_agent"))
      snprintf(pat, sizeof(pat), "\n- Default: `qingwang/VERSION "
               "(+regulatory monitoring)`");
    else
      snprintf(pat, sizeof(pat), "\n- Default: `%s`\n", k->def);
    ck_assert_msg(strstr(block, pat) != NULL, "%s: docs lack '%s'", k->key,
                  pat);
    snprintf(pat, sizeof(pat), "\n- Example: `%s = ", k->key);
    ck_assert_msg(strstr(block, pat) != NULL, "%s: no example", k->key);
    free(block);
  }
  /* And no documented key is missing from the table. */
  for(const char *p = doc; (p = strstr(p, "\n### `")) != NULL; p++) {
    const char *name = p + 6;
    size_t n = strcspn(name, "`");
    int found = 0;
    for(const qw_config_key *k = qw_config_keys; k->key; k++)
      if(strlen(k->key) == n && !strncmp(k->key, name, n))
        found = 1;
    ck_assert_msg(found, "docs describe unknown key '%.*s'", (int)n, name);
  }
  free(doc);
}
END_TEST

/* ===== [fetch] ===== */

START_TEST(fetch_ranges)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "fetch", "concurrency", "65536");
  ck_assert_uint_eq(c.concurrency, 65536);
  set_ok(&c, "fetch", "concurrency", "1");
  ck_assert_uint_eq(c.concurrency, 1);
  set_ok(&c, "fetch", "dns_concurrency", "1024");
  ck_assert_uint_eq(c.dns_concurrency, 1024);
  set_ok(&c, "fetch", "max_redirects", "0");
  ck_assert_uint_eq(c.max_redirects, 0);
  set_ok(&c, "fetch", "max_redirects", "50");
  ck_assert_uint_eq(c.max_redirects, 50);
  set_ok(&c, "fetch", "max_attempts", "20");
  ck_assert_uint_eq(c.max_attempts, 20);
  set_ok(&c, "fetch", "low_speed_bytes", "0");
  ck_assert_uint_eq(c.low_speed_bytes, 0);
  set_ok(&c, "fetch", "max_body", "512K");
  ck_assert_uint_eq(c.max_body, 512u * 1024);
  set_ok(&c, "fetch", "host_concurrency", "1024");
  ck_assert_uint_eq(c.site_defaults.host_concurrency, 1024);
  set_ok(&c, "fetch", "host_delay_ms", "0");
  ck_assert_uint_eq(c.site_defaults.host_delay_ms, 0);
  set_ok(&c, "fetch", "obey_robots", "off");
  ck_assert_int_eq(c.site_defaults.obey_robots, 0);
  set_ok(&c, "fetch", "ca_path", "/etc/ssl/certs/ca-certificates.crt");
  ck_assert_str_eq(c.ca_path, "/etc/ssl/certs/ca-certificates.crt");
  qw_config_free(&c);
  set_err("fetch", "concurrency", "0",
          "[fetch] concurrency: 0 is below the minimum 1");
  set_err("fetch", "concurrency", "65537",
          "[fetch] concurrency: 65537 is above the maximum 65536");
  set_err("fetch", "dns_concurrency", "1025",
          "[fetch] dns_concurrency: 1025 is above the maximum 1024");
  set_err("fetch", "dns_concurrency", "0",
          "[fetch] dns_concurrency: 0 is below the minimum 1");
  set_err("fetch", "max_redirects", "51",
          "[fetch] max_redirects: 51 is above the maximum 50");
  set_err("fetch", "max_attempts", "0",
          "[fetch] max_attempts: 0 is below the minimum 1");
  set_err("fetch", "max_attempts", "21",
          "[fetch] max_attempts: 21 is above the maximum 20");
  set_err("fetch", "host_concurrency", "0",
          "[fetch] host_concurrency: 0 is below the minimum 1");
  set_err("fetch", "host_concurrency", "1025",
          "[fetch] host_concurrency: 1025 is above the maximum 1024");
  set_err("fetch", "connect_timeout_ms", "0",
          "[fetch] connect_timeout_ms: 0 is below the minimum 1");
  set_err("fetch", "timeout_ms", "10s",
          "[fetch] timeout_ms: '10s' is not a whole number");
  set_err("fetch", "max_body", "2G",
          "[fetch] max_body: 2G is above the maximum 1G");
  set_err("fetch", "robots_ttl_s", "59",
          "[fetch] robots_ttl_s: 59 is below the minimum 60");
  set_err("fetch", "http2", "maybe",
          "[fetch] http2: 'maybe' is not a boolean (yes/no, true/false, "
          "on/off, 1/0)");
  set_err("fetch", "user_agent", "",
          "[fetch] user_agent: the value must not be empty");
  /* Every numeric [fetch] row takes its bounds and refuses one past. */
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(strcmp(k->section, "fetch") || k->type == QW_CFG_STRING ||
       k->type == QW_CFG_ENUM || k->type == QW_CFG_BOOL)
      continue;
    char v[32], want[256];
    ck_assert_int_eq(qw_config_init(&c), 0);
    snprintf(v, sizeof(v), "%llu", k->min);
    set_ok(&c, "fetch", k->key, v);
    snprintf(v, sizeof(v), "%llu", k->max);
    set_ok(&c, "fetch", k->key, v);
    qw_config_free(&c);
    ck_assert(k->max < 1000000000000ull);
    snprintf(v, sizeof(v), "%llu", k->max + 1);
    qw_config probe;
    ck_assert_int_eq(qw_config_init(&probe), 0);
    ck_assert_int_eq(qw_config_set(&probe, "fetch", k->key, v, want,
                                   sizeof(want)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(want, "above the maximum"));
    qw_config_free(&probe);
  }
}
END_TEST

START_TEST(page_type_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  static const char *const ok[] = {"product", "storefront", "platform",
                                   "other", ""};
  for(size_t i = 0; i < 5; i++) {
    set_ok(&c, "fetch", "page_type", ok[i]);
    ck_assert_str_eq(c.site_defaults.page_type, ok[i]);
  }
  set_ok(&c, "fetch", "page_type", "   ");
  ck_assert_str_eq(c.site_defaults.page_type, "");
  qw_config_free(&c);
  set_err("fetch", "page_type", "shop",
          "[fetch] page_type: 'shop' is not one of "
          "product|storefront|platform|other, or empty");
  set_err("fetch", "page_type", "Product",
          "[fetch] page_type: 'Product' is not one of "
          "product|storefront|platform|other, or empty");
  set_err("fetch", "page_type", "product|other",
          "[fetch] page_type: 'product|other' is not one of "
          "product|storefront|platform|other, or empty");
  /* A list without an empty choice does not say "or empty". */
  set_err("general", "log_level", "",
          "[general] log_level: '' is not one of debug|info|warn|error");
}
END_TEST

START_TEST(marker_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "fetch", "gone_markers", " 商品已下架 |\t该商品已删除|x y ");
  ck_assert_str_eq(c.site_defaults.gone_markers, "商品已下架|该商品已删除|x y");
  set_ok(&c, "fetch", "block_url_markers", "/sec/");
  ck_assert_str_eq(c.site_defaults.block_url_markers, "/sec/");
  set_ok(&c, "fetch", "login_markers", "");
  ck_assert_str_eq(c.site_defaults.login_markers, "");
  qw_config_free(&c);
  set_err("fetch", "gone_markers", "a||b",
          "[fetch] gone_markers: item 2 of the '|'-separated list is empty");
  set_err("fetch", "block_markers", "|验证码",
          "[fetch] block_markers: item 1 of the '|'-separated list is "
          "empty");
  set_err("fetch", "login_markers", "请登录|",
          "[fetch] login_markers: item 2 of the '|'-separated list is "
          "empty");
  set_err("fetch", "login_url_markers", "login| \t|sso",
          "[fetch] login_url_markers: item 2 of the '|'-separated list is "
          "empty");
  set_err("fetch", "block_url_markers", "|",
          "[fetch] block_url_markers: item 1 of the '|'-separated list is "
          "empty");
}
END_TEST

START_TEST(header_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  set_ok(&c, "fetch", "headers", "Accept-Language:zh-CN,zh;q=0.9|X-Req:  "
         "市场监管 ");
  ck_assert_str_eq(c.site_defaults.headers,
                   "Accept-Language: zh-CN,zh;q=0.9 | X-Req: 市场监管");
  set_ok(&c, "fetch", "headers", "Referer: https://www.example-mall.cn/a?b=c");
  ck_assert_str_eq(c.site_defaults.headers,
                   "Referer: https://www.example-mall.cn/a?b=c");
  set_ok(&c, "fetch", "headers", "");
  ck_assert_str_eq(c.site_defaults.headers, "");
  qw_config_free(&c);
  set_err("fetch", "headers", "Accept-Language zh-CN",
          "[fetch] headers: item 1 'Accept-Language zh-CN' is not 'Name: "
          "value'");
  set_err("fetch", "headers", "A: 1 | X Y: 2",
          "[fetch] headers: item 2 'X Y: 2' is not 'Name: value'");
  set_err("fetch", "headers", ": v",
          "[fetch] headers: item 1 ': v' is not 'Name: value'");
  set_err("fetch", "headers", "X-Empty:",
          "[fetch] headers: item 1 'X-Empty:' has no value");
  set_err("fetch", "headers", "A: 1 || B: 2",
          "[fetch] headers: item 2 of the '|'-separated list is empty");
  set_err("fetch", "headers", "user-agent: curl/8",
          "[fetch] headers: item 1: a User-Agent header cannot be set here "
          "(use the user_agent key)");
  set_err("fetch", "headers", "A: 1 | Cookie: a=1",
          "[fetch] headers: item 2: a Cookie header cannot be set here (use "
          "the cookie key)");
  set_err("fetch", "headers", "Host: example.cn",
          "[fetch] headers: item 1: a Host header cannot be set here (the "
          "fetcher sets it from the URL)");
}
END_TEST

START_TEST(proxy_values)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  static const char *const ok[] = {
    "", "http://10.0.0.2:3128", "https://proxy.example.cn:443",
    "socks4://127.0.0.1:1080", "socks4a://p:1", "socks5://p:1",
    "socks5h://user:pass@127.0.0.1:1080",
  };
  for(size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    set_ok(&c, "fetch", "proxy", ok[i]);
    ck_assert_str_eq(c.site_defaults.proxy, ok[i]);
  }
  qw_config_free(&c);
  set_err("fetch", "proxy", "ftp://p:21",
          "[fetch] proxy: 'ftp://p:21' is not a proxy URL (http://, "
          "https://, socks4://, socks4a://, socks5:// or socks5h:// "
          "HOST:PORT)");
  set_err("fetch", "proxy", "127.0.0.1:8080",
          "[fetch] proxy: '127.0.0.1:8080' is not a proxy URL (http://, "
          "https://, socks4://, socks4a://, socks5:// or socks5h:// "
          "HOST:PORT)");
  set_err("fetch", "proxy", "http://",
          "[fetch] proxy: 'http://' has no proxy host (write "
          "http://HOST:PORT)");
  set_err("fetch", "proxy", "socks5h://a b:1",
          "[fetch] proxy: 'socks5h://a b:1' has no proxy host (write "
          "socks5h://HOST:PORT)");
}
END_TEST

/* ===== [site HOST] ===== */

static void load_ok(qw_config *c, const char *text)
{
  char err[512] = "";
  int r = load_str(c, text, err, sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
}

static const qw_site *site_named(const qw_config *c, const char *host)
{
  for(size_t i = 0; i < c->n_sites; i++)
    if(!strcmp(c->sites[i].host, host))
      return &c->sites[i];
  ck_abort_msg("no [site %s]", host);
  return NULL;
}

static const char sites_fetch[] =
  "[fetch]\n"
  "host_delay_ms = 500\n"
  "user_agent = qingwang-test/1\n"
  "proxy = http://10.0.0.2:3128\n";
static const char sites_sites[] =
  "[site Shop.Example-Mall.CN.]\n"
  "host_concurrency = 1\n"
  "page_type = storefront\n"
  "\n"
  "[site *.example-mall.cn]\n"
  "host_delay_ms = 2000\n"
  "gone_markers = 商品已下架 | 店铺已关闭\n"
  "proxy =\n"
  "\n"
  "[site 203.0.113.7]\n"
  "\n"
  "[site 2001:DB8:0:0::7]\n"
  "obey_robots = no\n";

static void check_sites(const qw_config *c)
{
  ck_assert_uint_eq(c->n_sites, 4);
  ck_assert_str_eq(c->sites[0].host, "shop.example-mall.cn");
  ck_assert_str_eq(c->sites[1].host, "*.example-mall.cn");
  ck_assert_str_eq(c->sites[2].host, "203.0.113.7");
  ck_assert_str_eq(c->sites[3].host, "2001:db8::7");
  const qw_site *s = &c->sites[0];
  ck_assert_uint_eq(s->host_concurrency, 1);
  ck_assert_str_eq(s->page_type, "storefront");
  ck_assert_uint_eq(s->host_delay_ms, 500);
  ck_assert_str_eq(s->user_agent, "qingwang-test/1");
  ck_assert_str_eq(s->proxy, "http://10.0.0.2:3128");
  ck_assert_str_eq(s->gone_markers, c->site_defaults.gone_markers);
  ck_assert_ptr_ne(s->gone_markers, c->site_defaults.gone_markers);
  s = &c->sites[1];
  ck_assert_uint_eq(s->host_concurrency, 4);
  ck_assert_uint_eq(s->host_delay_ms, 2000);
  ck_assert_str_eq(s->gone_markers, "商品已下架|店铺已关闭");
  ck_assert_str_eq(s->proxy, "");
  ck_assert_str_eq(s->user_agent, "qingwang-test/1");
  ck_assert_str_eq(s->page_type, "");
  s = &c->sites[2];
  ck_assert_uint_eq(s->host_delay_ms, 500);
  ck_assert_str_eq(s->proxy, "http://10.0.0.2:3128");
  ck_assert_int_eq(s->obey_robots, 1);
  ck_assert_str_eq(s->block_markers, c->site_defaults.block_markers);
  ck_assert_str_eq(s->login_url_markers, "login|passport|signin|/sso/");
  s = &c->sites[3];
  ck_assert_int_eq(s->obey_robots, 0);
  ck_assert_uint_eq(s->host_delay_ms, 500);
  /* The defaults are untouched by the sites. */
  ck_assert_uint_eq(c->site_defaults.host_delay_ms, 500);
  ck_assert_uint_eq(c->site_defaults.host_concurrency, 4);
  ck_assert_str_eq(c->site_defaults.host, "");
}

START_TEST(site_sections_fetch_first)
{
  char text[2048];
  snprintf(text, sizeof(text), "%s\n%s", sites_fetch, sites_sites);
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  load_ok(&c, text);
  check_sites(&c);
  qw_config_free(&c);
}
END_TEST

START_TEST(site_sections_fetch_last)
{
  /* Inheritance does not depend on where [fetch] is. */
  char text[2048];
  snprintf(text, sizeof(text), "%s\n%s", sites_sites, sites_fetch);
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  load_ok(&a, text);
  check_sites(&a);
  snprintf(text, sizeof(text), "%s\n%s", sites_fetch, sites_sites);
  ck_assert_int_eq(qw_config_init(&b), 0);
  load_ok(&b, text);
  char *da = dump_str(&a), *db = dump_str(&b);
  ck_assert_str_eq(da, db);
  free(da);
  free(db);
  qw_config_free(&a);
  qw_config_free(&b);
  /* [fetch] split around the sites: the last word counts. */
  ck_assert_int_eq(qw_config_init(&a), 0);
  load_ok(&a, "[fetch]\nhost_delay_ms = 1\n[site a.cn]\n[fetch]\n"
          "cookie = k=v\n");
  ck_assert_uint_eq(a.sites[0].host_delay_ms, 1);
  ck_assert_str_eq(a.sites[0].cookie, "k=v");
  qw_config_free(&a);
}
END_TEST

START_TEST(site_fixture)
{
  qw_config c;
  char err[512] = "";
  ck_assert_int_eq(qw_config_init(&c), 0);
  int r = qw_config_load(&c, qw_test_fixture("config/sites.conf"), err,
                         sizeof(err));
  ck_assert_msg(r == 0, "%s", err);
  ck_assert_uint_eq(c.n_sites, 5);
  const qw_site *s = qw_config_site(&c, "item.kangjian-mall.example.cn");
  ck_assert_str_eq(s->host, "*.kangjian-mall.example.cn");
  ck_assert_uint_eq(s->host_delay_ms, 2000);
  ck_assert_str_eq(s->page_type, "product");
  ck_assert_str_eq(s->headers, "Accept-Language: zh-CN,zh;q=0.9 | "
                   "Referer: https://www.kangjian-mall.example.cn/");
  ck_assert_str_eq(s->user_agent, c.site_defaults.user_agent);
  s = qw_config_site(&c, "shop.kangjian-mall.example.cn");
  ck_assert_str_eq(s->page_type, "storefront");
  ck_assert_str_eq(s->host, "shop.kangjian-mall.example.cn");
  ck_assert_uint_eq(s->host_delay_ms, 400);
  ck_assert_uint_eq(s->host_concurrency, 4);
  ck_assert_str_eq(s->headers, "");
  s = qw_config_site(&c, "www.haohuo.example.cn");
  ck_assert_str_eq(s->page_type, "platform");
  ck_assert_str_eq(s->cookie, "");
  s = qw_config_site(&c, "m.haohuo.example.cn");
  ck_assert_str_eq(s->host, "*.haohuo.example.cn");
  ck_assert_str_eq(s->cookie, "region=310000");
  ck_assert_str_eq(s->block_url_markers, "captcha|punish|/sec/|x5sec");
  s = qw_config_site(&c, "192.0.2.15");
  ck_assert_str_eq(s->host, "192.0.2.15");
  ck_assert_str_eq(s->proxy, "socks5h://127.0.0.1:1080");
  ck_assert_ptr_eq(qw_config_site(&c, "www.ruihe-med.example.com.cn"),
                   &c.site_defaults);
  ck_assert_uint_eq(c.site_defaults.host_delay_ms, 400);
  qw_config_free(&c);
}
END_TEST

START_TEST(site_matching)
{
  /* The order of the sections must not matter: both orders. */
  static const char *const secs[] = {
    "[site *.example.cn]\nhost_delay_ms = 1\n",
    "[site *.shop.example.cn]\nhost_delay_ms = 2\n",
    "[site vip.shop.example.cn]\nhost_delay_ms = 3\n",
    "[site *.cn]\nhost_delay_ms = 4\n",
    "[site 10.1.2.3]\nhost_delay_ms = 5\n",
    "[site 2001:db8::1]\nhost_delay_ms = 6\n",
    "[site exact.other.cn]\n",
  };
  static const struct {
    const char *host;
    int want; /* host_delay_ms, 250 = the defaults */
  } cases[] = {
    {"example.cn", 1}, {"x.example.cn", 1}, {"a.b.example.cn", 1},
    {"shop.example.cn", 2}, {"x.shop.example.cn", 2},
    {"a.b.shop.example.cn", 2}, {"vip.shop.example.cn", 3},
    {"VIP.Shop.Example.CN", 3}, {"vip.shop.example.cn.", 3},
    {"x.vip.shop.example.cn", 2}, {"badexample.cn", 4}, {"cn", 4},
    {"other.cn", 4}, {"exact.other.cn", 250}, {"x.exact.other.cn", 4},
    {"example.com", 250}, {"example.cn.com", 250}, {"10.1.2.3", 5},
    {"10.1.2.30", 250}, {"2001:db8::1", 6}, {"[2001:db8::1]", 6},
    {"2001:DB8:0:0::1", 6}, {"2001:db8::2", 250}, {"", 250},
    {"xexample.cn", 4}, {".", 250},
  };
  for(int order = 0; order < 2; order++) {
    char text[1024] = "";
    size_t n = sizeof(secs) / sizeof(secs[0]);
    for(size_t i = 0; i < n; i++)
      strcat(text, secs[order ? n - 1 - i : i]);
    qw_config c;
    ck_assert_int_eq(qw_config_init(&c), 0);
    load_ok(&c, text);
    ck_assert_uint_eq(c.n_sites, n);
    for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
      const qw_site *s = qw_config_site(&c, cases[i].host);
      ck_assert_msg(s && (int)s->host_delay_ms == cases[i].want,
                    "order %d: '%s' got %u, want %d", order, cases[i].host,
                    s ? s->host_delay_ms : 0, cases[i].want);
      if(cases[i].want == 250 && strcmp(cases[i].host, "exact.other.cn"))
        ck_assert_ptr_eq(s, &c.site_defaults);
    }
    ck_assert_ptr_eq(qw_config_site(&c, NULL), &c.site_defaults);
    /* A very long name matches nothing and does not overflow. */
    char big[600];
    memset(big, 'a', sizeof(big) - 4);
    memcpy(big + sizeof(big) - 4, ".cn", 4);
    ck_assert_ptr_eq(qw_config_site(&c, big), &c.site_defaults);
    qw_config_free(&c);
  }
}
END_TEST

START_TEST(site_errors)
{
  char accept[400];
  snprintf(accept, sizeof(accept), "a [site] section accepts user_agent, "
           "proxy, headers, cookie, obey_robots, host_concurrency, "
           "host_delay_ms, page_type, gone_markers, block_markers, "
           "login_markers, block_url_markers, login_url_markers");
  char want[800];
  expect_load_err("[site a.cn]\nuser_agent = x\n[site b.cn]\n[site A.CN]\n"
                  "proxy =\n",
                  "inline.conf:4: duplicate [site a.cn] (already on line 1)");
  expect_load_err("[site a.cn]\n\n[site a.cn.]\n",
                  "inline.conf:3: duplicate [site a.cn] (already on line 1)");
  expect_load_err("[site *.a.cn]\n[site  *.A.cn ]\n",
                  "inline.conf:2: duplicate [site *.a.cn] (already on line "
                  "1)");
  expect_load_err("[site 2001:db8::1]\n[site 2001:DB8:0::1]\n",
                  "inline.conf:2: duplicate [site 2001:db8::1] (already on "
                  "line 1)");
  expect_load_err("[site a.cn]\nhost_delay_ms = 1\n\nhost_delay_ms = 2\n",
                  "inline.conf:4: [site a.cn] host_delay_ms: duplicate key "
                  "(already set on line 2)");
  snprintf(want, sizeof(want), "inline.conf:2: unknown key 'foo' in [site "
           "a.cn]; %s", accept);
  expect_load_err("[site a.cn]\nfoo = 1\n", want);
  snprintf(want, sizeof(want), "inline.conf:2: 'timeout_ms' can only be "
           "set in [fetch]; %s", accept);
  expect_load_err("[site a.cn]\ntimeout_ms = 1\n", want);
  snprintf(want, sizeof(want), "inline.conf:3: 'threads' can only be set "
           "in [analysis]; %s", accept);
  expect_load_err("[site a.cn]\n# x\nthreads = 1\n", want);
  expect_load_err("[site a.cn]\nuser_agnet = x\n",
                  "inline.conf:2: unknown key 'user_agnet' in [site a.cn]; "
                  "did you mean 'user_agent'?");
  expect_load_err("[site a.cn]\nhost_concurrency = 0\n",
                  "inline.conf:2: [site a.cn] host_concurrency: 0 is below "
                  "the minimum 1");
  expect_load_err("[site Shop.A.cn]\ngone_markers = a||b\n",
                  "inline.conf:2: [site Shop.A.cn] gone_markers: item 2 of "
                  "the '|'-separated list is empty");
  expect_load_err("[site a.cn]\npage_type = shop\n",
                  "inline.conf:2: [site a.cn] page_type: 'shop' is not one "
                  "of product|storefront|platform|other, or empty");
  /* Hosts. */
  static const char *const bad_hosts[][2] = {
    {"[site]", "[site] needs a host: [site HOST], e.g. "
     "[site shop.example.cn] or [site *.example.cn]"},
    {"[ site ]", "[site] needs a host: [site HOST], e.g. "
     "[site shop.example.cn] or [site *.example.cn]"},
    {"[site *]", "[site *]: [site *] would be every host: put settings "
     "for every host in [fetch]"},
    {"[site a..cn]", "[site a..cn]: 'a..cn' has an empty label"},
    {"[site .a.cn]", "[site .a.cn]: '.a.cn' has an empty label"},
    {"[site -a.cn]", "[site -a.cn]: '-a.cn': a label cannot start or end "
     "with '-'"},
    {"[site a-.cn]", "[site a-.cn]: 'a-.cn': a label cannot start or end "
     "with '-'"},
    {"[site a!.cn]", "[site a!.cn]: 'a!.cn' is not a host name "
     "(character '!')"},
    {"[site a.cn:8080]", "[site a.cn:8080]: 'a.cn:8080' is not an IPv6 "
     "address"},
    {"[site a b.cn]", "[site a b.cn]: 'a b.cn' is not one host (no blanks "
     "in a [site] header)"},
    {"[site 1.2.3]", "[site 1.2.3]: '1.2.3' is not an IPv4 address"},
    {"[site 256.1.1.1]", "[site 256.1.1.1]: '256.1.1.1' is not an IPv4 "
     "address"},
    {"[site a.123]", "[site a.123]: 'a.123' is not an IPv4 address"},
    {"[site *.1.2.3.4]", "[site *.1.2.3.4]: '*.1.2.3.4': a suffix pattern "
     "needs a domain name, not an IP address"},
    {"[site a.*.cn]", "[site a.*.cn]: 'a.*.cn': '*' may only begin a "
     "suffix pattern, as in *.example.cn"},
    {"[site *a.cn]", "[site *a.cn]: '*a.cn': '*' may only begin a suffix "
     "pattern, as in *.example.cn"},
    {"[site 1::2::3]", "[site 1::2::3]: '1::2::3' is not an IPv6 address"},
    {"[site *.]", "[site *.]: empty host name"},
    {"[site http://a.cn/]", "[site http://a.cn/]: 'http://a.cn/' is not an "
     "IPv6 address"},
  };
  for(size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
    char text[200];
    snprintf(text, sizeof(text), "# hosts\n%s\nhost_delay_ms = 1\n",
             bad_hosts[i][0]);
    snprintf(want, sizeof(want), "inline.conf:2: %s", bad_hosts[i][1]);
    expect_load_err(text, want);
  }
  /* Label and name lengths. */
  char text[1000], label[80];
  memset(label, 'x', 64);
  label[64] = '\0';
  snprintf(text, sizeof(text), "[site %s.cn]\n", label);
  snprintf(want, sizeof(want), "inline.conf:1: [site %s.cn]: '%s.cn' has "
           "a label longer than 63 bytes", label, label);
  expect_load_err(text, want);
  label[63] = '\0';
  char name[400];
  snprintf(name, sizeof(name), "%s.%s.%s.%s.cn", label, label, label, label);
  snprintf(text, sizeof(text), "[site %s]\n", name);
  snprintf(want, sizeof(want), "inline.conf:1: [site %s]: the host name is "
           "%zu bytes long; the maximum is 253", name, strlen(name));
  expect_load_err(text, want);
  /* 63-byte labels and a 253-byte name are fine; so is non-ASCII. */
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label,
           label);
  ck_assert_uint_eq(strlen(name), 253);
  snprintf(text, sizeof(text), "[site %s]\n[site 康健.中国]\n"
           "[site x_y.example.cn]\n", name);
  load_ok(&c, text);
  ck_assert_uint_eq(c.n_sites, 3);
  ck_assert_str_eq(c.sites[1].host, "康健.中国");
  ck_assert_ptr_eq(qw_config_site(&c, "康健.中国"), &c.sites[1]);
  qw_config_free(&c);
}
END_TEST

START_TEST(site_error_order)
{
  /* A bad header is reported at its line, before later errors … */
  expect_load_err("[site bad!]\n[general]\nnode_name = x\nthreads = 1\n",
                  "inline.conf:1: [site bad!]: 'bad!' is not a host name "
                  "(character '!')");
  expect_load_err("[site ok.cn]\n[site ok.cn]\n[general\n",
                  "inline.conf:2: duplicate [site ok.cn] (already on line "
                  "1)");
  expect_load_err("[site a.cn]\n[site b.cn]\n[site a.cn]\n",
                  "inline.conf:3: duplicate [site a.cn] (already on line "
                  "1)");
  /* … and after earlier ones. */
  expect_load_err("[general\n[site a.cn]\n[site a.cn]\n",
                  "inline.conf:1: '[' without ']'");
  expect_load_err("[general]\nthreads = 1\n[site a.cn]\n[site a.cn]\n",
                  "inline.conf:2: unknown key 'threads' in [general]; it "
                  "belongs in [analysis]");
  expect_load_err("[analysis]\nthreads = 999\n[site !]\n",
                  "inline.conf:2: [analysis] threads: 999 is above the "
                  "maximum 256");
}
END_TEST

START_TEST(site_header_scan)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  /* A continued value that looks like a header is part of the value; a
   * commented header is a comment. */
  load_ok(&c, "[fetch]\ncookie = a=1; \\\n[site a.cn]\n# [site b.cn]\n"
          "; [site c.cn]\n");
  ck_assert_uint_eq(c.n_sites, 0);
  ck_assert_str_eq(c.site_defaults.cookie, "a=1; [site a.cn]");
  /* Two backslashes do not continue; blanks and CRLF and a BOM. */
  load_ok(&c, "\xEF\xBB\xBF[fetch]\r\ncookie = a\\\\\r\n  [ site   "
          "d.cn ]  \r\n\r\n[site\te.cn]\r\nhost_delay_ms = 3\r\n");
  ck_assert_uint_eq(c.n_sites, 2);
  ck_assert_str_eq(c.sites[0].host, "d.cn");
  ck_assert_str_eq(c.sites[1].host, "e.cn");
  ck_assert_uint_eq(c.sites[1].host_delay_ms, 3);
  ck_assert_str_eq(c.site_defaults.cookie, "a\\\\");
  /* A multi-line continuation. */
  qw_config_free(&c);
  ck_assert_int_eq(qw_config_init(&c), 0);
  load_ok(&c, "[fetch]\ngone_markers = a|\\\n  b|\\\n[site x.cn]\n"
          "[site y.cn]\n");
  ck_assert_uint_eq(c.n_sites, 1);
  ck_assert_str_eq(c.site_defaults.gone_markers, "a|b|[site x.cn]");
  /* Not [site]: other names. */
  expect_load_err("[sites a.cn]\nproxy =\n",
                  "inline.conf:2: unknown section [sites a.cn] (known "
                  "sections: [general], [analysis], [output], [fetch], "
                  "[site HOST])");
  expect_load_err("[Site a.cn]\nproxy =\n",
                  "inline.conf:2: unknown section [Site a.cn] (known "
                  "sections: [general], [analysis], [output], [fetch], "
                  "[site HOST])");
  qw_config_free(&c);
}
END_TEST

START_TEST(site_load_over)
{
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  load_ok(&c, "[site a.cn]\nhost_delay_ms = 9\n");
  ck_assert_str_eq(c.sites[0].user_agent, c.site_defaults.user_agent);
  /* A second file: the same site again adds keys; a new [fetch] value
   * reaches the keys the site never set. */
  load_ok(&c, "[fetch]\nhost_delay_ms = 100\nuser_agent = x/1\n"
          "[site a.cn]\nproxy = http://p:1\n[site b.cn]\n");
  ck_assert_uint_eq(c.n_sites, 2);
  const qw_site *a = site_named(&c, "a.cn"), *b = site_named(&c, "b.cn");
  ck_assert_uint_eq(a->host_delay_ms, 9);
  ck_assert_str_eq(a->proxy, "http://p:1");
  ck_assert_str_eq(a->user_agent, "x/1");
  ck_assert_uint_eq(b->host_delay_ms, 100);
  /* Setting a key again in a later file is allowed. */
  load_ok(&c, "[site a.cn]\nhost_delay_ms = 10\n");
  ck_assert_uint_eq(site_named(&c, "a.cn")->host_delay_ms, 10);
  /* A failed load changes nothing, sites included. */
  char *before = dump_str(&c);
  char err[512];
  ck_assert_int_eq(load_str(&c, "[fetch]\nuser_agent = y/2\n[site a.cn]\n"
                            "cookie = q=1\n[site c.cn]\n[site c.cn]\n", err,
                            sizeof(err)), -EINVAL);
  ck_assert_str_eq(err, "inline.conf:6: duplicate [site c.cn] (already on "
                   "line 5)");
  char *after = dump_str(&c);
  ck_assert_str_eq(before, after);
  ck_assert_uint_eq(c.n_sites, 2);
  ck_assert_str_eq(site_named(&c, "a.cn")->cookie, "");
  free(before);
  free(after);
  qw_config_free(&c);
}
END_TEST

START_TEST(site_set)
{
  qw_config c;
  char err[512];
  ck_assert_int_eq(qw_config_init(&c), 0);
  load_ok(&c, "[site a.cn]\nuser_agent = mine/1\nhost_delay_ms = 5\n"
          "[site b.cn]\n");
  set_ok(&c, "fetch", "user_agent", "new/2");
  set_ok(&c, "fetch", "host_delay_ms", "7");
  set_ok(&c, "fetch", "gone_markers", " a | b ");
  set_ok(&c, "fetch", "obey_robots", "no");
  const qw_site *a = site_named(&c, "a.cn"), *b = site_named(&c, "b.cn");
  ck_assert_str_eq(c.site_defaults.user_agent, "new/2");
  ck_assert_str_eq(a->user_agent, "mine/1");
  ck_assert_str_eq(b->user_agent, "new/2");
  ck_assert_uint_eq(a->host_delay_ms, 5);
  ck_assert_uint_eq(b->host_delay_ms, 7);
  ck_assert_str_eq(a->gone_markers, "a|b");
  ck_assert_str_eq(b->gone_markers, "a|b");
  ck_assert_str_eq(c.site_defaults.gone_markers, "a|b");
  ck_assert_int_eq(a->obey_robots, 0);
  /* A bad value changes nothing anywhere. */
  char *before = dump_str(&c);
  ck_assert_int_eq(qw_config_set(&c, "fetch", "host_concurrency", "0", err,
                                 sizeof(err)), -EINVAL);
  ck_assert_int_eq(qw_config_set(&c, "fetch", "headers", "nope", err,
                                 sizeof(err)), -EINVAL);
  ck_assert_str_eq(err, "[fetch] headers: item 1 'nope' is not 'Name: "
                   "value'");
  char *after = dump_str(&c);
  ck_assert_str_eq(before, after);
  free(before);
  free(after);
  ck_assert_uint_eq(b->host_concurrency, 4);
  /* Sites cannot be set from the command line. */
  static const char *const no[][2] = {
    {"site", "a.cn.user_agent"}, {"site a.cn", "user_agent"},
    {"site", "user_agent"},
  };
  for(size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(qw_config_set(&c, no[i][0], no[i][1], "x", err,
                                   sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "[site HOST] settings cannot be given with --set; "
                     "put a [site HOST] section in the config file (--set "
                     "takes [fetch] keys)");
  }
  qw_config_free(&c);
}
END_TEST

START_TEST(site_dump_round_trip)
{
  qw_config a, b;
  ck_assert_int_eq(qw_config_init(&a), 0);
  load_ok(&a, "[site *.Example-Mall.cn]\nproxy =\nhost_delay_ms = 2000\n"
          "gone_markers = 商品已下架 |店铺已关闭\n"
          "headers = Referer: https://x.cn/ | X-A:1\n"
          "[site empty.example-mall.cn]\n"
          "[site 2001:DB8::0:1]\nobey_robots = off\npage_type = other\n"
          "[fetch]\nproxy = http://10.0.0.2:3128\n");
  char *d1 = dump_str(&a);
  ck_assert_ptr_nonnull(strstr(d1, "\n[site *.example-mall.cn]\n"
                               "proxy =\nheaders = Referer: https://x.cn/ | "
                               "X-A: 1\nhost_delay_ms = 2000\n"
                               "gone_markers = 商品已下架|店铺已关闭\n"));
  ck_assert_ptr_nonnull(strstr(d1, "\n[site empty.example-mall.cn]\n\n"
                               "[site 2001:db8::1]\nobey_robots = no\n"
                               "page_type = other\n"));
  /* Only the keys a site sets are written for it. */
  const char *s = strstr(d1, "\n[site ");
  ck_assert_ptr_nonnull(s);
  ck_assert_ptr_null(strstr(s, "user_agent"));
  ck_assert_ptr_null(strstr(s, "http://10.0.0.2"));
  ck_assert_int_eq(qw_config_init(&b), 0);
  char err[512] = "";
  int r = qw_config_load_buffer(&b, "dump", d1, strlen(d1), err,
                                sizeof(err));
  ck_assert_msg(r == 0, "%s\n%s", err, d1);
  char *d2 = dump_str(&b);
  ck_assert_str_eq(d1, d2);
  ck_assert_uint_eq(b.n_sites, 3);
  /* What a site set survives the trip: a later default change passes it
   * by. */
  set_ok(&b, "fetch", "proxy", "http://10.9.9.9:1");
  ck_assert_str_eq(site_named(&b, "*.example-mall.cn")->proxy, "");
  ck_assert_str_eq(site_named(&b, "empty.example-mall.cn")->proxy,
                   "http://10.9.9.9:1");
  free(d1);
  free(d2);
  qw_config_free(&a);
  qw_config_free(&b);
}
END_TEST

START_TEST(site_many)
{
  /* Thousands of sites load in reasonable time and all match. */
  size_t n = 3000, cap = n * 48;
  char *text = malloc(cap);
  ck_assert_ptr_nonnull(text);
  size_t len = 0;
  for(size_t i = 0; i < n; i++)
    len += (size_t)snprintf(text + len, cap - len, "[site s%zu.example.cn]\n"
                            "host_delay_ms = %zu\n", i, i);
  qw_config c;
  ck_assert_int_eq(qw_config_init(&c), 0);
  char err[512] = "";
  ck_assert_int_eq(qw_config_load_buffer(&c, "many", text, len, err,
                                         sizeof(err)), 0);
  ck_assert_uint_eq(c.n_sites, n);
  for(size_t i = 0; i < n; i += 97) {
    char h[64];
    snprintf(h, sizeof(h), "s%zu.example.cn", i);
    ck_assert_uint_eq(qw_config_site(&c, h)->host_delay_ms, i);
  }
  qw_config_free(&c);
  free(text);
}
END_TEST

START_TEST(marker_lists_match)
{
  const char *page = "亲，请登录 | 该商品已下架，去看看别的";
  size_t n = strlen(page);
  ck_assert_int_eq(qw_config_marker_in("宝贝不存在|商品已下架", page, n), 1);
  ck_assert_int_eq(qw_config_marker_in("宝贝不存在", page, n), 0);
  /* a marker is only what stands between two bars: no empty match */
  ck_assert_int_eq(qw_config_marker_in("|", page, n), 0);
  ck_assert_int_eq(qw_config_marker_in("", page, n), 0);
  ck_assert_int_eq(qw_config_marker_in(NULL, page, n), 0);
  ck_assert_int_eq(qw_config_marker_in("登录", page, 3), 0); /* bounded */
  /* the defaults of the table are marker lists that work */
  qw_config cfg;
  ck_assert_int_eq(qw_config_init(&cfg), 0);
  ck_assert_int_eq(qw_config_marker_in(cfg.site_defaults.login_url_markers,
                                       "https://x.cn/login?from=1", 25), 1);
  qw_config_free(&cfg);
}
END_TEST

static Suite *config_suite(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("table");
  tcase_add_test(tc, table_is_sane);
  tcase_add_test(tc, marker_lists_match);
  tcase_add_test(tc, defaults_are_the_spec);
  tcase_add_test(tc, defaults_equal_the_table);
  tcase_add_test(tc, every_row_parses_its_default);
  suite_add_tcase(s, tc);
  tc = tcase_create("values");
  tcase_add_test(tc, size_values);
  tcase_add_test(tc, uint_values);
  tcase_add_test(tc, ulong_values);
  tcase_add_test(tc, enum_values);
  tcase_add_test(tc, string_values);
  tcase_add_test(tc, bool_rows);
  tcase_add_test(tc, unknown_keys_and_sections);
  suite_add_tcase(s, tc);
  tc = tcase_create("files");
  tcase_add_test(tc, load_full_fixture);
  tcase_add_test(tc, load_windows_fixture);
  tcase_add_test(tc, bad_fixtures);
  tcase_add_test(tc, file_errors);
  tcase_add_test(tc, load_is_atomic);
  tcase_add_test(tc, load_over_current_values);
  tcase_add_test(tc, inline_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("dump");
  tcase_add_test(tc, dump_round_trip);
  tcase_add_test(tc, dump_defaults_loads);
  suite_add_tcase(s, tc);
  tc = tcase_create("fetch");
  tcase_add_test(tc, fetch_ranges);
  tcase_add_test(tc, page_type_values);
  tcase_add_test(tc, marker_values);
  tcase_add_test(tc, header_values);
  tcase_add_test(tc, proxy_values);
  suite_add_tcase(s, tc);
  tc = tcase_create("sites");
  tcase_add_test(tc, site_sections_fetch_first);
  tcase_add_test(tc, site_sections_fetch_last);
  tcase_add_test(tc, site_fixture);
  tcase_add_test(tc, site_matching);
  tcase_add_test(tc, site_errors);
  tcase_add_test(tc, site_error_order);
  tcase_add_test(tc, site_header_scan);
  tcase_add_test(tc, site_load_over);
  tcase_add_test(tc, site_set);
  tcase_add_test(tc, site_dump_round_trip);
  tcase_add_test(tc, site_many);
  suite_add_tcase(s, tc);
  tc = tcase_create("shipped");
  tcase_add_test(tc, sample_loads_as_defaults);
  tcase_add_test(tc, sample_lists_every_key);
  tcase_add_test(tc, sample_defaults_are_right);
  tcase_add_test(tc, docs_cover_every_key);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(config_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
