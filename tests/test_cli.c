/* test_cli.c — the qingwang binary as a user runs it: exit codes, error
 * lines naming the input, JSON Lines output, check-config. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qw_test.h"

static char pack[4096];
static char violating[4096], compliant[4096], empty[4096], dirpath[4096];

static void setup(void)
{
  snprintf(pack, sizeof(pack), "%s", qw_test_fixture("analyze/pack"));
  snprintf(violating, sizeof(violating), "%s",
           qw_test_fixture("cli/violating.html"));
  snprintf(compliant, sizeof(compliant), "%s",
           qw_test_fixture("cli/compliant.html"));
  snprintf(empty, sizeof(empty), "%s", qw_test_fixture("cli/empty.html"));
  snprintf(dirpath, sizeof(dirpath), "%s", qw_test_fixture("cli"));
}

START_TEST(test_version_and_help)
{
  char *out, *err;
  const char *v[] = {"qingwang", "--version", NULL};
  ck_assert_int_eq(qw_test_run(v, NULL, &out, &err), 0);
  ck_assert_int_eq(strncmp(out, "qingwang ", 9), 0);
  free(out);
  free(err);
  const char *h[] = {"qingwang", "scan", "--help", NULL};
  ck_assert_int_eq(qw_test_run(h, NULL, &out, &err), 0);
  ck_assert_ptr_nonnull(strstr(out, "--json"));
  ck_assert_ptr_nonnull(strstr(out, "exit status"));
  free(out);
  free(err);
  const char *bad[] = {"qingwang", "frobnicate", NULL};
  ck_assert_int_eq(qw_test_run(bad, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "unknown command 'frobnicate'"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_exit_codes)
{
  char *out, *err;
  const char *a[] = {"qingwang", "scan", "--rules", pack, "--no-color",
                     violating, NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 1);
  ck_assert_ptr_nonnull(strstr(out, "false_claim"));
  ck_assert_ptr_nonnull(strstr(out, "根治"));
  ck_assert_ptr_null(strstr(out, "\033["));
  free(out);
  free(err);
  const char *b[] = {"qingwang", "scan", "--rules", pack, compliant, NULL};
  ck_assert_int_eq(qw_test_run(b, NULL, &out, &err), 0);
  ck_assert_ptr_nonnull(strstr(out, "0 findings"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_bad_inputs_do_not_stop_the_scan)
{
  char *out, *err;
  const char *a[] = {"qingwang", "scan", "--rules", pack, "--json",
                     "/nonexistent/page.html", empty, dirpath, violating,
                     NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/page.html: No such file"));
  ck_assert_ptr_nonnull(strstr(err, "empty.html: empty input"));
  ck_assert_ptr_nonnull(strstr(err, "is a directory"));
  /* the good input was still scanned: exactly one clue line */
  size_t lines = 0;
  for(const char *p = out; *p; p++)
    lines += *p == '\n';
  ck_assert_uint_eq(lines, 1);
  json_error_t je;
  json_t *c = json_loads(out, 0, &je);
  ck_assert_msg(c != NULL, "bad JSON: %s", je.text);
  ck_assert_str_eq(json_string_value(json_object_get(c, "schema")),
                   "qingwang.clue/1");
  json_decref(c);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_size_cap)
{
  char *out, *err;
  char big[] = "/tmp/qwtest-big-XXXXXX";
  int fd = mkstemp(big);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("<html><body>", f);
  for(int i = 0; i < 200; i++)
    fputs("<p>隐形眼镜</p>", f);
  fputs("</body></html>", f);
  fclose(f);
  const char *a[] = {"qingwang", "scan", "--rules", pack, "--set",
                     "analysis.max_page_bytes=1K", big, NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 2);
  unlink(big);
  ck_assert_ptr_nonnull(strstr(err, big));
  ck_assert_ptr_nonnull(strstr(err, "page size cap"));
  free(out);
  free(err);
  const char *b[] = {"qingwang", "scan", "--rules", pack, "--set",
                     "analysis.no_such_key=1", violating, NULL};
  ck_assert_int_eq(qw_test_run(b, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "no_such_key"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_json_lines_and_stdin)
{
  char *out, *err;
  const char *a[] = {"qingwang", "scan", "--rules", pack, "--json",
                     "--url", "https://shop.example.cn/item/1.html", "-",
                     NULL};
  ck_assert_int_eq(qw_test_run(a, violating, &out, &err), 1);
  json_error_t je;
  json_t *c = json_loads(out, 0, &je);
  ck_assert_msg(c != NULL, "bad JSON: %s", je.text);
  json_t *src = json_object_get(c, "source");
  ck_assert_str_eq(json_string_value(json_object_get(src, "kind")), "stdin");
  ck_assert_str_eq(json_string_value(json_object_get(src, "url")),
                   "https://shop.example.cn/item/1.html");
  ck_assert_uint_ge(json_array_size(json_object_get(c, "findings")), 3);
  json_decref(c);
  free(out);
  free(err);

  /* two inputs: two lines, each a complete clue */
  const char *b[] = {"qingwang", "scan", "--rules", pack, "--json",
                     violating, compliant, NULL};
  ck_assert_int_eq(qw_test_run(b, NULL, &out, &err), 1);
  char *nl = strchr(out, '\n');
  ck_assert_ptr_nonnull(nl);
  *nl = '\0';
  json_t *c1 = json_loads(out, 0, &je);
  json_t *c2 = json_loads(nl + 1, 0, &je);
  ck_assert_ptr_nonnull(c1);
  ck_assert_ptr_nonnull(c2);
  ck_assert_uint_eq(json_array_size(json_object_get(c2, "findings")), 0);
  json_decref(c1);
  json_decref(c2);
  free(out);
  free(err);
}
END_TEST

/* [analysis] pcre_match_limit reaches the matcher: at 1 step the
 * confirmation of a claim with a gap ("国家药监局权威认证": authority, up to
 * 6 characters, endorsement) stops, and the clue says the page was
 * limited. */
START_TEST(test_pcre_limits_from_config)
{
  char *out, *err;
  char gap[4096];
  snprintf(gap, sizeof(gap), "%s", qw_test_fixture("cli/gap-claim.html"));
  const char *a[] = {"qingwang", "scan", "--json", "--rules",
                     qw_test_pack_dir(), gap, NULL};
  qw_test_run(a, NULL, &out, &err);
  json_error_t je;
  json_t *c = json_loads(out, 0, &je);
  ck_assert_ptr_nonnull(c);
  json_t *lim = json_object_get(json_object_get(c, "page"), "match_limited");
  ck_assert(lim == NULL || json_is_false(lim));
  json_decref(c);
  free(out);
  free(err);
  const char *b[] = {"qingwang", "scan", "--json", "--rules",
                     qw_test_pack_dir(), "--set",
                     "analysis.pcre_match_limit=1", gap, NULL};
  qw_test_run(b, NULL, &out, &err);
  c = json_loads(out, 0, &je);
  ck_assert_ptr_nonnull(c);
  ck_assert(json_is_true(json_object_get(json_object_get(c, "page"),
                                         "match_limited")));
  json_decref(c);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_charset_and_page_type_options)
{
  char *out, *err;
  const char *a[] = {"qingwang", "scan", "--rules", pack, "--charset",
                     "no-such-charset", violating, NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "no-such-charset"));
  free(out);
  free(err);
  const char *b[] = {"qingwang", "scan", "--rules", pack, "--page-type",
                     "storefront", "--json", compliant, NULL};
  qw_test_run(b, NULL, &out, &err);
  json_error_t je;
  json_t *c = json_loads(out, 0, &je);
  ck_assert_ptr_nonnull(c);
  json_t *page = json_object_get(c, "page");
  ck_assert_str_eq(json_string_value(json_object_get(page, "type")),
                   "storefront");
  ck_assert_str_eq(json_string_value(json_object_get(page, "type_source")),
                   "forced");
  json_decref(c);
  free(out);
  free(err);
}
END_TEST

START_TEST(test_check_config)
{
  char *out, *err;
  const char *a[] = {"qingwang", "check-config", "--rules", pack, NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 0);
  ck_assert_ptr_nonnull(strstr(out, "analyze-test"));
  free(out);
  free(err);

  /* a broken pack: the error names file:line */
  char dir[] = "/tmp/qwtest-pack-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[512];
  snprintf(path, sizeof(path), "%s/bad.ini", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs("[rule x]\nkind = forbid\ncategory = not_a_category\n"
        "severity = high\npattern = abc\nmessage = m\nbasis = b\n", f);
  fclose(f);
  const char *b[] = {"qingwang", "check-config", "--rules", dir, NULL};
  ck_assert_int_eq(qw_test_run(b, NULL, &out, &err), 2);
  ck_assert_msg(strstr(err, "bad.ini:3") != NULL, "stderr: %s", err);
  free(out);
  free(err);
  unlink(path);
  rmdir(dir);

  /* a broken config file */
  char cfg[] = "/tmp/qwtest-conf-XXXXXX";
  int fd = mkstemp(cfg);
  ck_assert_int_ge(fd, 0);
  f = fdopen(fd, "w");
  fputs("[analysis]\nmax_depth = 5\n", f);
  fclose(f);
  const char *c[] = {"qingwang", "check-config", "-c", cfg, "--rules", pack,
                     NULL};
  ck_assert_int_eq(qw_test_run(c, NULL, &out, &err), 2);
  ck_assert_msg(strstr(err, ":2") && strstr(err, "max_depth"), "stderr: %s",
                err);
  free(out);
  free(err);
  unlink(cfg);
}
END_TEST

START_TEST(test_evidence_verify_command)
{
  char *out, *err;
  const char *a[] = {"qingwang", "evidence", "verify",
                     "/nonexistent/evidence", NULL};
  ck_assert_int_eq(qw_test_run(a, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/evidence"));
  free(out);
  free(err);
  const char *b[] = {"qingwang", "evidence", NULL};
  ck_assert_int_eq(qw_test_run(b, NULL, &out, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "usage: qingwang evidence verify"));
  free(out);
  free(err);
}
END_TEST

START_TEST(test_default_pack_loads)
{
  char *out, *err;
  const char *a[] = {"qingwang", "check-config", NULL};
  int rc = qw_test_run(a, NULL, &out, &err);
  ck_assert_msg(rc == 0, "check-config of the default pack: %s", err);
  free(out);
  free(err);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("cli");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_version_and_help);
  tcase_add_test(tc, test_exit_codes);
  tcase_add_test(tc, test_bad_inputs_do_not_stop_the_scan);
  tcase_add_test(tc, test_size_cap);
  tcase_add_test(tc, test_json_lines_and_stdin);
  tcase_add_test(tc, test_charset_and_page_type_options);
  tcase_add_test(tc, test_pcre_limits_from_config);
  tcase_add_test(tc, test_check_config);
  tcase_add_test(tc, test_evidence_verify_command);
  tcase_add_test(tc, test_default_pack_loads);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
