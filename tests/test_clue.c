/* test_clue.c — the clue serializer: schema fields, hashes, fingerprint. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clue.h"
#include "qw_test.h"

static qw_ruleset *rs;
static qw_analyzer *az;

static void setup(void)
{
  qw_diag diag;
  memset(&diag, 0, sizeof(diag));
  ck_assert_int_eq(qw_ruleset_load(qw_test_fixture("analyze/pack"), &rs,
                                   &diag), 0);
  qw_diag_free(&diag);
  az = qw_analyzer_new(rs);
  ck_assert_ptr_nonnull(az);
}

static void teardown(void)
{
  qw_analyzer_free(az);
  qw_ruleset_unref(rs);
}

START_TEST(test_sha256_known_vectors)
{
  char hex[65];
  qw_sha256_hex("abc", 3, hex);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                        "b00361a396177a9cb410ff61f20015ad");
  qw_sha256_hex("", 0, hex);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                        "27ae41e4649b934ca495991b7852b855");
}
END_TEST

static json_t *clue_for(const char *html, const char *path, char fp[65])
{
  qw_page *page = NULL;
  qw_charset_info cs;
  qw_analysis an;
  ck_assert_int_eq(qw_analyze_document(rs, az, html, strlen(html), NULL,
                                       &page, &cs, &an, NULL, NULL, 0), 0);
  qw_clue_source src;
  memset(&src, 0, sizeof(src));
  src.kind = "file";
  src.path = path;
  src.node = "test-node";
  src.body = (const unsigned char *)html;
  src.body_len = strlen(html);
  json_t *clue = qw_clue_build(rs, page, &cs, &an, &src);
  ck_assert_ptr_nonnull(clue);
  if(fp)
    qw_clue_fingerprint(&src, &an, fp);
  qw_analysis_free(&an);
  qw_page_free(page);
  return clue;
}

static const char *sget(json_t *o, const char *path)
{
  /* path like "page.type" */
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", path);
  json_t *cur = o;
  for(char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
    cur = json_object_get(cur, tok);
  ck_assert_msg(cur && json_is_string(cur), "%s is not a string", path);
  return json_string_value(cur);
}

START_TEST(test_clue_fields)
{
  const char *html = "<html><head><meta charset=\"utf-8\"><title>美瞳日抛隐形眼镜"
                     "</title></head><body><p>可以根治近视</p>"
                     "<p>粤械注准20203160123</p></body></html>";
  json_t *c = clue_for(html, "x.html", NULL);
  char *dump = json_dumps(c, JSON_COMPACT);
  ck_assert_ptr_nonnull(dump);
  ck_assert_str_eq(sget(c, "schema"), "qingwang.clue/1");
  ck_assert_int_eq(strncmp(sget(c, "id"), "qwc-", 4), 0);
  ck_assert_uint_eq(strlen(sget(c, "fingerprint")), 64);
  ck_assert_str_eq(sget(c, "source.kind"), "file");
  ck_assert_str_eq(sget(c, "source.path"), "x.html");
  ck_assert_str_eq(sget(c, "page.type"), "product");
  ck_assert_str_eq(sget(c, "page.charset"), "UTF-8");
  ck_assert_str_eq(sget(c, "page.charset_source"), "meta");
  ck_assert_str_eq(sget(c, "page.title"), "美瞳日抛隐形眼镜");
  ck_assert_str_eq(sget(c, "product.device_class"), "III");
  ck_assert_str_eq(sget(c, "severity"), "critical");
  ck_assert_str_eq(sget(c, "node"), "test-node");
  ck_assert_str_eq(sget(c, "ruleset.name"), "analyze-test");
  char sha[65];
  qw_sha256_hex(html, strlen(html), sha);
  ck_assert_str_eq(sget(c, "evidence.sha256"), sha);
  ck_assert(json_is_null(json_object_get(json_object_get(c, "recurrence"),
                                         "previous")));
  json_t *findings = json_object_get(c, "findings");
  ck_assert(json_is_array(findings));
  int saw_claim = 0, saw_invalid = 0;
  size_t i;
  json_t *f;
  json_array_foreach(findings, i, f) {
    const char *cat = json_string_value(json_object_get(f, "category"));
    ck_assert_ptr_nonnull(json_object_get(f, "basis"));
    ck_assert_ptr_nonnull(json_object_get(f, "message"));
    ck_assert(json_is_integer(json_object_get(f, "start")));
    if(strcmp(cat, "false_claim") == 0) {
      saw_claim = 1;
      ck_assert_str_eq(json_string_value(json_object_get(f, "match")),
                       "根治");
    }
    if(strcmp(cat, "registration_invalid") == 0) {
      saw_invalid = 1;
      ck_assert(json_is_string(json_object_get(f, "detail")));
    }
  }
  ck_assert(saw_claim && saw_invalid);
  json_t *nums = json_object_get(json_object_get(c, "product"), "numbers");
  ck_assert_uint_eq(json_array_size(nums), 1);
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(nums, 0),
                                                     "validity")),
                   "invalid");
  free(dump);
  json_decref(c);
}
END_TEST

START_TEST(test_fingerprint_stable)
{
  char a[65], b[65], c[65], d[65];
  const char *h1 = "<title>医用外科口罩</title><p>根治</p><p>治愈</p>";
  const char *h2 = "<title>医用外科口罩</title><p>治愈</p><p>根治</p>"
                   "<p>价格¥9</p>";
  json_decref(clue_for(h1, "p.html", a));
  json_decref(clue_for(h2, "p.html", b));
  /* same violations, other order and other unrelated text: same key */
  ck_assert_str_eq(a, b);
  /* another page: another key */
  json_decref(clue_for(h1, "q.html", c));
  ck_assert_str_ne(a, c);
  /* another violation: another key */
  json_decref(clue_for("<title>医用外科口罩</title><p>根治</p>", "p.html", d));
  ck_assert_str_ne(a, d);
}
END_TEST

START_TEST(test_clean_page_clue)
{
  json_t *c = clue_for("<title>天气预报</title><p>明天晴</p>", "w.html", NULL);
  ck_assert_uint_eq(json_array_size(json_object_get(c, "findings")), 0);
  ck_assert(json_is_null(json_object_get(c, "severity")));
  ck_assert(json_is_false(json_object_get(json_object_get(c, "product"),
                                          "is_device")));
  json_decref(c);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("clue");
  TCase *tc = tcase_create("clue");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_sha256_known_vectors);
  tcase_add_test(tc, test_clue_fields);
  tcase_add_test(tc, test_fingerprint_stable);
  tcase_add_test(tc, test_clean_page_clue);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
