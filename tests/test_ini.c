/* test_ini.c — the INI dialect (parsers/ini.h): headers, keys, values,
 * comments, continuations, encodings, every syntax error with its line
 * number, and qw_read_file's caps and errors. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ini.h"
#include "qw_test.h"

/* Every callback appends "section|key|value|line\n" to a buffer. */
typedef struct {
  qw_buf out;
  int calls;
  int stop_at; /* return 7 on this call (1-based), 0 = never */
} rec;

static int record(void *ud, const char *section, const char *key,
                  const char *value, int line)
{
  rec *r = ud;
  r->calls++;
  ck_assert_int_eq(qw_buf_printf(&r->out, "%s|%s|%s|%d\n", section, key,
                                 value, line), 0);
  if(r->stop_at && r->calls == r->stop_at)
    return 7;
  return 0;
}

/* Parses an exact-size heap copy (so ASan sees any read past the end) and
 * returns the record (caller frees) and the return code. */
static char *parse_n(const char *text, size_t len, int *rc, char *err,
                     size_t errlen)
{
  char *copy = malloc(len ? len : 1);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, text, len);
  rec r = {QW_BUF_INIT, 0, 0};
  ck_assert_int_eq(qw_buf_append(&r.out, "", 0), 0);
  *rc = qw_ini_parse(copy, len, record, &r, err, errlen);
  free(copy);
  return qw_buf_steal(&r.out, NULL);
}

static char *parse_ok(const char *text)
{
  char err[256] = "unset";
  int rc;
  char *out = parse_n(text, strlen(text), &rc, err, sizeof(err));
  ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
  ck_assert_str_eq(err, "");
  return out;
}

static void expect(const char *text, const char *want)
{
  char *got = parse_ok(text);
  ck_assert_str_eq(got, want);
  free(got);
}

static void expect_err_n(const char *text, size_t len, const char *want)
{
  char err[256] = "";
  int rc;
  char *out = parse_n(text, len, &rc, err, sizeof(err));
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_str_eq(err, want);
  free(out);
}

static void expect_err(const char *text, const char *want)
{
  expect_err_n(text, strlen(text), want);
}

START_TEST(basic_sections_and_keys)
{
  expect("# 青网 sample\n"
         "\n"
         "[general]\n"
         "node_name = 节点-上海-01\n"
         "; another comment\n"
         "log_level=debug\n"
         "\n"
         "[analysis]\n"
         "   max_depth   =   512   \n",
         "general|node_name|节点-上海-01|4\n"
         "general|log_level|debug|6\n"
         "analysis|max_depth|512|9\n");
}
END_TEST

START_TEST(section_names)
{
  expect("[  rule   forbid_cure\t claim  ]\nk = v\n"
         "[rule 治愈率]\nk = w\n"
         "\t[x]\t\nk = 1\n",
         "rule forbid_cure claim|k|v|2\n"
         "rule 治愈率|k|w|4\n"
         "x|k|1|6\n");
  /* A header with no keys calls nothing; the next section wins. */
  expect("[a]\n[b]\nk = v\n", "b|k|v|3\n");
}
END_TEST

START_TEST(keys_before_section)
{
  expect("k = v\n[s]\nk = w\n", "|k|v|1\ns|k|w|3\n");
}
END_TEST

START_TEST(keys_trimmed_case_sensitive)
{
  expect("[s]\n  Key\t= a\nkey = b\nKEY=c\nmulti word key = d\n",
         "s|Key|a|2\ns|key|b|3\ns|KEY|c|4\ns|multi word key|d|5\n");
}
END_TEST

START_TEST(split_at_first_equals)
{
  expect("[s]\npattern = (?:a=b)==c=\nk==v\n",
         "s|pattern|(?:a=b)==c=|2\ns|k|=v|3\n");
}
END_TEST

START_TEST(empty_values)
{
  expect("[s]\na =\nb=\nc =   \t\n", "s|a||2\ns|b||3\ns|c||4\n");
}
END_TEST

START_TEST(no_inline_comments)
{
  expect("[s]\np = 型号#A1 ; 规格 # x\nq = # only\n",
         "s|p|型号#A1 ; 规格 # x|2\ns|q|# only|3\n");
  /* Comment markers count only as the first non-blank character. */
  expect("[s]\n   # indented comment\n\t; too\nk = v\n", "s|k|v|4\n");
}
END_TEST

START_TEST(continuation)
{
  /* Blanks before the backslash are kept, the next line's are dropped. */
  expect("[s]\nlist = 治愈, \\\n      根治, \\\n\t包好\nnext = 1\n",
         "s|list|治愈, 根治, 包好|2\ns|next|1|5\n");
  /* No blank: the pieces join directly (Chinese text, patterns). */
  expect("[s]\npattern = 治愈\\\n率\n", "s|pattern|治愈率|2\n");
  /* A continuation line is text whatever it looks like. */
  expect("[s]\nk = a \\\n# not a comment \\\n[not a header]\nz = 1\n",
         "s|k|a # not a comment [not a header]|2\ns|z|1|5\n");
  /* A blank continuation line ends the value; trailing blanks go. */
  expect("[s]\nk = a \\\n\nz = 1\n", "s|k|a|2\ns|z|1|4\n");
  /* The value may start on the next line. */
  expect("[s]\nk = \\\n  v\n", "s|k|v|2\n");
}
END_TEST

START_TEST(backslash_counts)
{
  /* Even: literal, no continuation. */
  expect("[s]\np = \\d+\\\\\nq = 1\n", "s|p|\\d+\\\\|2\ns|q|1|3\n");
  /* Odd (3): one is the continuation, two stay. */
  expect("[s]\np = a\\\\\\\nb\n", "s|p|a\\\\b|2\n");
  /* Backslashes elsewhere are plain text. */
  expect("[s]\np = \\s*\\d{3}\\b x\n", "s|p|\\s*\\d{3}\\b x|2\n");
  /* Trailing blanks after the backslash do not hide it. */
  expect("[s]\np = a\\  \nb\n", "s|p|ab|2\n");
}
END_TEST

START_TEST(continuation_at_eof)
{
  expect_err("[s]\nk = a \\", "line 2: '\\' at the end of the file "
             "continues nothing");
  expect_err("[s]\nk = a \\\nb \\\n", "line 3: '\\' at the end of the file "
             "continues nothing");
}
END_TEST

START_TEST(bom_and_crlf)
{
  expect("\xEF\xBB\xBF[s]\r\nk = v\r\n\r\nx = 型号 \r\n",
         "s|k|v|2\ns|x|型号|4\n");
  /* No final line end, with and without CR. */
  expect("[s]\nk = v", "s|k|v|2\n");
  expect("[s]\r\nk = v\r", "s|k|v|2\n");
  /* CRLF continuation. */
  expect("[s]\r\nk = a, \\\r\n  b\r\n", "s|k|a, b|2\n");
  /* A BOM after the start is content, not skipped. */
  char *got = parse_ok("[s]\nk = \xEF\xBB\xBFv\n");
  ck_assert_str_eq(got, "s|k|\xEF\xBB\xBFv|2\n");
  free(got);
}
END_TEST

START_TEST(empty_inputs)
{
  expect("", "");
  expect("\xEF\xBB\xBF", "");
  expect("\n\n# c\n; d\n   \n", "");
  expect("[only]\n", "");
  char err[64] = "x";
  ck_assert_int_eq(qw_ini_parse(NULL, 0, record, NULL, err, sizeof(err)), 0);
  ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(syntax_errors)
{
  expect_err("[s]\nk = v\njust some words\n",
             "line 3: expected 'key = value' or '[section]'");
  expect_err("# c\n[general\nk = v\n", "line 2: '[' without ']'");
  expect_err("[s] # comment\n", "line 1: unexpected text after ']' "
             "(comments must be on their own line)");
  expect_err("[a]b]\n", "line 1: unexpected text after ']' "
             "(comments must be on their own line)");
  expect_err("\n\n[ ]\n", "line 3: empty section name");
  expect_err("[]\n", "line 1: empty section name");
  expect_err("[a[b]\n", "line 1: '[' inside a section name");
  expect_err("[s]\n= v\n", "line 2: empty key before '='");
  expect_err("[s]\nk = 1\n  \t = v\n", "line 3: empty key before '='");
  /* A key line that looks like a stray bracket. */
  expect_err("[s]\n]\n", "line 2: expected 'key = value' or '[section]'");
}
END_TEST

START_TEST(encoding_errors)
{
#define LIT(s) s, sizeof(s) - 1
  expect_err_n(LIT("[s]\nk = a\0b\n"), "line 2: NUL byte (not a text file?)");
  expect_err_n(LIT("\0"), "line 1: NUL byte (not a text file?)");
  /* NUL inside a comment is still an error. */
  expect_err_n(LIT("# a\0\n"), "line 1: NUL byte (not a text file?)");
#undef LIT
  expect_err("[s]\nk = 1\n\nv = \xC3\x28\n", "line 4: invalid UTF-8");
  expect_err("[s]\nv = \xC0\xAF\n", "line 2: invalid UTF-8"); /* overlong */
  expect_err("[s]\nv = \xED\xA0\x80\n", "line 2: invalid UTF-8");
  expect_err("[s]\nv = \xF4\x90\x80\x80\n", "line 2: invalid UTF-8");
  expect_err("[s]\nv = \xE6\xB2", "line 2: invalid UTF-8"); /* cut */
  expect_err("# \xFF comment\n", "line 1: invalid UTF-8");
  expect_err("[s]\nv = a\x01\n", "line 2: control character 0x01");
  expect_err("[s]\nv = a\x7F\n", "line 2: control character 0x7F");
  expect_err("[s]\nv = a\rb\n", "line 2: stray carriage return "
             "(CR without LF)");
  /* An error in a continuation line names that line. */
  expect_err("[s]\nk = a \\\n\xFF\n", "line 3: invalid UTF-8");
  /* A literal U+FFFD is valid text. */
  expect("[s]\nv = \xEF\xBF\xBD\n", "s|v|\xEF\xBF\xBD|2\n");
}
END_TEST

START_TEST(callback_stops)
{
  const char *text = "[s]\na = 1\nb = 2\nc = 3\n";
  rec r = {QW_BUF_INIT, 0, 2};
  char err[64] = "x";
  int rc = qw_ini_parse(text, strlen(text), record, &r, err, sizeof(err));
  ck_assert_int_eq(rc, 7);
  ck_assert_int_eq(r.calls, 2);
  ck_assert_str_eq(r.out.data, "s|a|1|2\ns|b|2|3\n");
  qw_buf_free(&r.out);
  /* A syntax error after the stop point is never reached. */
  r = (rec){QW_BUF_INIT, 0, 1};
  rc = qw_ini_parse("[s]\na = 1\n[\n", 12, record, &r, err, sizeof(err));
  ck_assert_int_eq(rc, 7);
  qw_buf_free(&r.out);
}
END_TEST

START_TEST(error_before_callbacks_stop)
{
  /* Keys before the bad line are delivered, none after. */
  char err[64];
  int rc;
  const char *text = "[s]\na = 1\nbad\nb = 2\n";
  char *out = parse_n(text, strlen(text), &rc, err, sizeof(err));
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_str_eq(out, "s|a|1|2\n");
  free(out);
}
END_TEST

START_TEST(null_or_small_err_buffer)
{
  rec r = {QW_BUF_INIT, 0, 0};
  ck_assert_int_eq(qw_ini_parse("x\n", 2, record, &r, NULL, 0), -EINVAL);
  char tiny[8];
  memset(tiny, 'z', sizeof(tiny));
  ck_assert_int_eq(qw_ini_parse("x\n", 2, record, &r, tiny, sizeof(tiny)),
                   -EINVAL);
  ck_assert_str_eq(tiny, "line 1:");
  ck_assert_int_eq(qw_ini_parse("x\n", 2, record, &r, tiny, 1), -EINVAL);
  ck_assert_str_eq(tiny, "");
  qw_buf_free(&r.out);
}
END_TEST

START_TEST(long_lines_and_many_lines)
{
  qw_buf in = QW_BUF_INIT;
  ck_assert_int_eq(qw_buf_puts(&in, "[rule big]\nlist = "), 0);
  for(int i = 0; i < 20000; i++)
    ck_assert_int_eq(qw_buf_puts(&in, "根治"), 0);
  ck_assert_int_eq(qw_buf_puts(&in, "\n"), 0);
  for(int i = 0; i < 50000; i++)
    ck_assert_int_eq(qw_buf_printf(&in, "k%d = %d \\\n %d\n", i, i, i), 0);
  char err[128];
  int rc;
  char *out = parse_n(in.data, in.len, &rc, err, sizeof(err));
  ck_assert_msg(rc == 0, "%s", err);
  /* The long value is intact, the last key is on line 2 + 2 * 49999 + 1. */
  ck_assert_ptr_nonnull(strstr(out, "rule big|list|根治根治"));
  ck_assert_ptr_nonnull(strstr(out, "rule big|k49999|49999 49999|100001\n"));
  free(out);
  qw_buf_free(&in);
}
END_TEST

/* ===== qw_read_file ===== */

static char *temp_file(const char *content, size_t len)
{
  char *path = strdup("/tmp/qw-ini-XXXXXX");
  ck_assert_ptr_nonnull(path);
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
  close(fd);
  return path;
}

START_TEST(read_file_ok)
{
  const char *text = "[general]\nnode_name = 杭州\n";
  char *path = temp_file(text, strlen(text));
  char *data = NULL;
  size_t len = 0;
  ck_assert_int_eq(qw_read_file(path, 1024, &data, &len), 0);
  ck_assert_uint_eq(len, strlen(text));
  ck_assert_str_eq(data, text);
  free(data);
  /* Exactly at the cap is fine; one byte over is -EFBIG. */
  ck_assert_int_eq(qw_read_file(path, strlen(text), &data, &len), 0);
  free(data);
  data = NULL;
  ck_assert_int_eq(qw_read_file(path, strlen(text) - 1, &data, &len),
                   -EFBIG);
  ck_assert_ptr_null(data);
  unlink(path);
  free(path);
  /* An empty file gives "" and 0. */
  path = temp_file("", 0);
  ck_assert_int_eq(qw_read_file(path, 0, &data, &len), 0);
  ck_assert_uint_eq(len, 0);
  ck_assert_str_eq(data, "");
  free(data);
  unlink(path);
  free(path);
}
END_TEST

START_TEST(read_file_errors)
{
  char *data = NULL;
  size_t len = 0;
  ck_assert_int_eq(qw_read_file("/nonexistent/qingwang.conf", 1024, &data,
                                &len), -ENOENT);
  ck_assert_int_eq(qw_read_file("/tmp", 1024, &data, &len), -EISDIR);
  ck_assert_ptr_null(data);
}
END_TEST

START_TEST(read_file_pipe)
{
  /* A pipe has no size up front: the cap is enforced while reading. */
  for(int big = 0; big < 2; big++) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    size_t n = big ? 9000 : 5000;
    char *chunk = malloc(n);
    ck_assert_ptr_nonnull(chunk);
    memset(chunk, 'a', n);
    ck_assert_int_eq(write(fds[1], chunk, n), (ssize_t)n);
    close(fds[1]);
    char path[64];
    snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
    char *data = NULL;
    size_t len = 0;
    int rc = qw_read_file(path, 8192, &data, &len);
    if(big)
      ck_assert_int_eq(rc, -EFBIG);
    else {
      ck_assert_int_eq(rc, 0);
      ck_assert_uint_eq(len, n);
      ck_assert_int_eq(memcmp(data, chunk, n), 0);
      ck_assert_int_eq(data[n], '\0');
      free(data);
    }
    close(fds[0]);
    free(chunk);
  }
}
END_TEST

START_TEST(read_file_then_parse)
{
  /* A fixture-like file read and parsed end to end. */
  const char *text = "\xEF\xBB\xBF# 规则\r\n[rule no_cure_claim]\r\n"
                     "message = 医疗器械不得宣传“治愈”\r\n";
  char *path = temp_file(text, strlen(text));
  char *data = NULL;
  size_t len = 0;
  ck_assert_int_eq(qw_read_file(path, 4096, &data, &len), 0);
  rec r = {QW_BUF_INIT, 0, 0};
  char err[128];
  ck_assert_int_eq(qw_ini_parse(data, len, record, &r, err, sizeof(err)), 0);
  ck_assert_str_eq(r.out.data, "rule no_cure_claim|message|"
                   "医疗器械不得宣传“治愈”|3\n");
  qw_buf_free(&r.out);
  free(data);
  unlink(path);
  free(path);
}
END_TEST

static Suite *ini_suite(void)
{
  Suite *s = suite_create("ini");
  TCase *tc = tcase_create("dialect");
  tcase_add_test(tc, basic_sections_and_keys);
  tcase_add_test(tc, section_names);
  tcase_add_test(tc, keys_before_section);
  tcase_add_test(tc, keys_trimmed_case_sensitive);
  tcase_add_test(tc, split_at_first_equals);
  tcase_add_test(tc, empty_values);
  tcase_add_test(tc, no_inline_comments);
  tcase_add_test(tc, continuation);
  tcase_add_test(tc, backslash_counts);
  tcase_add_test(tc, continuation_at_eof);
  tcase_add_test(tc, bom_and_crlf);
  tcase_add_test(tc, empty_inputs);
  tcase_add_test(tc, syntax_errors);
  tcase_add_test(tc, encoding_errors);
  tcase_add_test(tc, callback_stops);
  tcase_add_test(tc, error_before_callbacks_stop);
  tcase_add_test(tc, null_or_small_err_buffer);
  tcase_add_test(tc, long_lines_and_many_lines);
  suite_add_tcase(s, tc);
  tc = tcase_create("read_file");
  tcase_add_test(tc, read_file_ok);
  tcase_add_test(tc, read_file_errors);
  tcase_add_test(tc, read_file_pipe);
  tcase_add_test(tc, read_file_then_parse);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(ini_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
