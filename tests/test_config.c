/* test_config.c — the config loader (config/config.h): the table and its
 * defaults, every value type with its errors and ranges, unknown keys with
 * suggestions, duplicates, file errors, atomic loads, --set overrides, the
 * dump round trip, and that the shipped sample and docs/configuration.md
 * agree with the table. */
#include <check.h>
#include <dirent.h>
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
  size_t n = nkeys();
  ck_assert_uint_ge(n, 12);
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
  /* No key is a bool yet; any row that is gets the full check. */
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
  set_err("fetch", "timeout", "x",
          "unknown section [fetch] (known sections: [general], [analysis], "
          "[output])");
  set_err("", "threads", "1",
          "unknown section [] (known sections: [general], [analysis], "
          "[output])");
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
                  "sections: [general], [analysis], [output])");
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

static Suite *config_suite(void)
{
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("table");
  tcase_add_test(tc, table_is_sane);
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
