/* test_analyze.c — the page logic of keywords/analyze.c, with the small
 * pack in tests/fixtures/analyze/pack: page type, device detection, each rule
 * kind, number checks, severity by class, quoting the original text. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "qw_test.h"

static qw_ruleset *rs;
static qw_analyzer *az;

static void setup(void)
{
  qw_diag diag;
  memset(&diag, 0, sizeof(diag));
  int rc = qw_ruleset_load(qw_test_fixture("analyze/pack"), &rs, &diag);
  for(size_t i = 0; i < diag.n_errors; i++)
    fprintf(stderr, "pack: %s\n", diag.errors[i]);
  qw_diag_free(&diag);
  ck_assert_int_eq(rc, 0);
  az = qw_analyzer_new(rs);
  ck_assert_ptr_nonnull(az);
}

static void teardown(void)
{
  qw_analyzer_free(az);
  qw_ruleset_unref(rs);
}

typedef struct {
  qw_page *page;
  qw_analysis an;
  qw_charset_info cs;
} result;

static void analyse(const char *html, qw_page_type forced, result *r)
{
  qw_document_opts o;
  memset(&o, 0, sizeof(o));
  o.analyze.page_type = forced;
  char err[256] = "";
  int rc = qw_analyze_document(rs, az, html, strlen(html), &o, &r->page,
                               &r->cs, &r->an, NULL, err, sizeof(err));
  ck_assert_msg(rc == 0, "analyze failed: %d %s", rc, err);
}

static void done(result *r)
{
  qw_analysis_free(&r->an);
  qw_page_free(r->page);
}

static void dump(const result *r)
{
  for(size_t i = 0; i < r->an.n_findings; i++) {
    const qw_finding *f = &r->an.findings[i];
    fprintf(stderr, "  finding %s %s %s [%s] %s\n",
            qw_category_name(f->category), f->rule->id,
            qw_severity_name(f->severity), f->match,
            f->detail ? f->detail : "");
  }
}

/* Number of findings of rule id (and match containing sub, when given). */
static size_t count(const result *r, const char *rule, const char *sub)
{
  size_t n = 0;
  for(size_t i = 0; i < r->an.n_findings; i++) {
    const qw_finding *f = &r->an.findings[i];
    if(strcmp(f->rule->id, rule) != 0)
      continue;
    if(sub && !strstr(f->match, sub))
      continue;
    n++;
  }
  return n;
}

/* The first finding of rule; fails the test when there is none. */
static const qw_finding *first(const result *r, const char *rule)
{
  for(size_t i = 0; i < r->an.n_findings; i++)
    if(strcmp(r->an.findings[i].rule->id, rule) == 0)
      return &r->an.findings[i];
  ck_abort_msg("no finding of rule %s", rule);
  abort(); /* not reached: tells the compiler so */
}

#define PAGE(title, body)                                                  \
  "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" title       \
  "</title></head><body>" body "</body></html>"

START_TEST(test_violating_lens_page)
{
  result r;
  analyse(PAGE("清视美瞳日抛彩色隐形眼镜10片",
               "<h1>清视美瞳日抛</h1><p>到手价 ¥89</p>"
               "<p>长期佩戴可以根治近视，效果显著。</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_int_eq(r.an.page_type, QW_PAGE_PRODUCT);
  ck_assert_str_eq(r.an.page_type_source, "detected");
  ck_assert(r.an.is_device);
  ck_assert_int_eq(r.an.device_class, 3);
  ck_assert_uint_ge(r.an.n_devices, 1);
  ck_assert_uint_eq(count(&r, "claim.cure", "根治"), 1);
  const qw_finding *f = first(&r, "claim.cure");
  ck_assert_int_eq(f->field, QW_FIELD_BODY);
  ck_assert_ptr_nonnull(strstr(f->context, "可以根治近视"));
  ck_assert_uint_eq(count(&r, "registration.missing", NULL), 1);
  /* Class III raises registration_missing to critical */
  ck_assert_int_eq(first(&r, "registration.missing")->severity,
                   QW_SEV_CRITICAL);
  ck_assert_uint_eq(count(&r, "warning.lens", NULL), 1);
  ck_assert_uint_eq(count(&r, "warning.retail", NULL), 1);
  done(&r);
}
END_TEST

START_TEST(test_compliant_lens_page)
{
  result r;
  analyse(PAGE("清视美瞳日抛彩色隐形眼镜10片",
               "<table><tr><th>注册证编号</th><td>国械注准20193160123</td></tr>"
               "</table><p>到手价 ¥89</p>"
               "<p>本品不能根治近视。</p>"
               "<p>配戴本产品，应由眼视光专业人士进行验配。</p>"
               "<p>请仔细阅读产品说明书或者在医务人员的指导下购买和使用。</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert(r.an.is_device);
  ck_assert_uint_eq(r.an.n_findings, 0);
  ck_assert_uint_ge(r.an.n_numbers, 1);
  ck_assert_int_eq(r.an.numbers[0].num.kind, QW_NUM_REGISTRATION);
  ck_assert_int_eq(r.an.numbers[0].num.validity, QW_NUMV_OK);
  ck_assert(r.an.numbers[0].fields & QW_FIELDMASK(QW_FIELD_PARAMS));
  done(&r);
}
END_TEST

START_TEST(test_evasive_and_traditional_quotes_original)
{
  result r;
  analyse(PAGE("隱形眼鏡 月拋",
               "<p>國械註準20193160123</p><p>堅持使用可以根 治近視</p>"
               "<p>配戴本產品，應由眼視光專業人士進行驗配</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert(r.an.is_device);
  ck_assert_uint_eq(count(&r, "claim.cure", "根 治"), 1);
  ck_assert_uint_eq(count(&r, "registration.missing", NULL), 0);
  ck_assert_uint_eq(count(&r, "warning.lens", NULL), 0);
  /* the device term is quoted as written on the page */
  ck_assert_str_eq(r.an.devices[0].term, "隱形眼鏡");
  done(&r);
}
END_TEST

START_TEST(test_invalid_registration_number)
{
  result r;
  analyse(PAGE("美瞳日抛",
               "<p>注册证编号：粤械注准20203160123</p>"
               "<p>配戴本产品，应由眼视光专业人士进行验配</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  const qw_finding *f = first(&r, "registration.invalid");
  ck_assert_int_eq(f->category, QW_CAT_REGISTRATION_INVALID);
  ck_assert_int_eq(f->severity, QW_SEV_CRITICAL);
  ck_assert_str_eq(f->match, "粤械注准20203160123");
  ck_assert_ptr_nonnull(f->detail);
  ck_assert(strlen(f->detail) > 0);
  /* a malformed number is present: not "missing" */
  ck_assert_uint_eq(count(&r, "registration.missing", NULL), 0);
  done(&r);
}
END_TEST

START_TEST(test_filing_for_class2_device)
{
  result r;
  analyse(PAGE("医用外科口罩 50只",
               "<p>备案编号：粤穗械备20200123号</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_int_eq(r.an.device_class, 2);
  ck_assert_uint_eq(count(&r, "registration.filing_for_class23", NULL), 1);
  ck_assert_uint_eq(count(&r, "registration.missing", NULL), 0);
  done(&r);
  /* the same filing on a Class I product is fine */
  analyse(PAGE("创口贴 100片", "<p>备案编号：粤穗械备20200123号</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_int_eq(r.an.device_class, 1);
  ck_assert_uint_eq(r.an.n_findings, 0);
  done(&r);
}
END_TEST

START_TEST(test_unless_numbers)
{
  result r;
  analyse(PAGE("家用射频美容仪 提拉紧致", "<p>价格 ¥1999</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_uint_ge(count(&r, "rf.unregistered", NULL), 1);
  done(&r);
  analyse(PAGE("家用射频美容仪 提拉紧致",
               "<p>价格 ¥1999</p><p>注册证编号：国械注准20243090001</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_uint_eq(count(&r, "rf.unregistered", NULL), 0);
  done(&r);
}
END_TEST

START_TEST(test_storefront_scope)
{
  result r;
  const char *store = PAGE("清视眼镜旗舰店",
                           "<ul><li>美瞳日抛</li><li>隐形眼镜月抛</li></ul>");
  analyse(store, QW_PAGE_STOREFRONT, &r);
  dump(&r);
  ck_assert_int_eq(r.an.page_type, QW_PAGE_STOREFRONT);
  ck_assert_str_eq(r.an.page_type_source, "forced");
  ck_assert(r.an.is_device);
  ck_assert_uint_eq(count(&r, "store.licence", NULL), 1);
  /* product-scope rules do not run on a storefront */
  ck_assert_uint_eq(count(&r, "registration.missing", NULL), 0);
  done(&r);
  analyse(PAGE("清视眼镜旗舰店",
               "<ul><li>美瞳日抛</li></ul>"
               "<p>医疗器械经营许可证：粤穗食药监械经营许20171161号</p>"),
          QW_PAGE_STOREFRONT, &r);
  dump(&r);
  ck_assert_uint_eq(count(&r, "store.licence", NULL), 0);
  done(&r);
}
END_TEST

START_TEST(test_non_device_claim)
{
  result r;
  analyse(PAGE("苦荞降压茶 250克", "<p>价格 ¥39</p><p>每天一杯，轻松降血压。</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert(!r.an.is_device);
  ck_assert_int_eq(r.an.page_type, QW_PAGE_PRODUCT);
  ck_assert_uint_eq(count(&r, "nondevice.claim", "降血压"), 1);
  ck_assert_uint_eq(count(&r, "claim.cure", NULL), 0);
  done(&r);
  /* a device page does not get the non-device check */
  analyse(PAGE("医用外科口罩", "<p>国械注准20193160123 降血压</p>"),
          QW_PAGE_UNKNOWN, &r);
  ck_assert_uint_eq(count(&r, "nondevice.claim", NULL), 0);
  done(&r);
}
END_TEST

START_TEST(test_trigger_and_exceptions)
{
  result r;
  /* no retail marker: the retail warning rule is not triggered */
  analyse(PAGE("医用外科口罩", "<p>国械注准20193160123</p><p>治愈系包装</p>"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_uint_eq(count(&r, "warning.retail", NULL), 0);
  ck_assert_uint_eq(count(&r, "claim.cure", NULL), 0);
  done(&r);
  analyse(PAGE("医用外科口罩",
               "<p>国械注准20193160123</p><p>单盒零售</p>"),
          QW_PAGE_UNKNOWN, &r);
  ck_assert_uint_eq(count(&r, "warning.retail", NULL), 1);
  done(&r);
}
END_TEST

START_TEST(test_hidden_text_is_not_a_claim)
{
  result r;
  analyse(PAGE("医用外科口罩",
               "<p>国械注准20193160123</p>"
               "<script>var d = '根治';</script><noscript>根治</noscript>"
               "<!-- 根治 --><img alt=\"根治\" src=\"a.png\">"),
          QW_PAGE_UNKNOWN, &r);
  dump(&r);
  ck_assert_uint_eq(count(&r, "claim.cure", NULL), 0);
  done(&r);
}
END_TEST

START_TEST(test_findings_capped_per_rule)
{
  char html[8192];
  size_t o = (size_t)snprintf(html, sizeof(html), "%s",
                              "<html><head><title>医用外科口罩</title></head>"
                              "<body><p>国械注准20193160123</p>");
  for(int i = 0; i < 30; i++)
    o += (size_t)snprintf(html + o, sizeof(html) - o, "<p>第%d次根治</p>",
                          i);
  snprintf(html + o, sizeof(html) - o, "</body></html>");
  result r;
  analyse(html, QW_PAGE_UNKNOWN, &r);
  ck_assert_uint_eq(count(&r, "claim.cure", "根治"), 20);
  const qw_finding *last = NULL;
  for(size_t i = 0; i < r.an.n_findings; i++)
    if(strcmp(r.an.findings[i].rule->id, "claim.cure") == 0)
      last = &r.an.findings[i];
  if(!last)
    ck_abort_msg("no claim.cure finding");
  ck_assert_ptr_nonnull(last->detail);
  ck_assert_ptr_nonnull(strstr(last->detail, "10"));
  done(&r);
}
END_TEST

START_TEST(test_other_page_and_size_cap)
{
  result r;
  analyse(PAGE("健康知识：如何保护视力", "<p>多看远处，少熬夜。</p>"),
          QW_PAGE_UNKNOWN, &r);
  ck_assert_int_eq(r.an.page_type, QW_PAGE_OTHER);
  ck_assert(!r.an.is_device);
  ck_assert_uint_eq(r.an.n_findings, 0);
  done(&r);

  qw_document_opts o;
  memset(&o, 0, sizeof(o));
  o.page.max_bytes = 10;
  qw_page *page = NULL;
  qw_charset_info cs;
  qw_analysis an;
  char err[128] = "";
  const char *big = "<p>this is longer than ten bytes</p>";
  ck_assert_int_eq(qw_analyze_document(rs, az, big, strlen(big), &o, &page,
                                       &cs, &an, NULL, err, sizeof(err)),
                   -EFBIG);
  ck_assert_ptr_null(page);
  ck_assert(strlen(err) > 0);
}
END_TEST

START_TEST(test_stage_times_accumulate)
{
  qw_stage_times t;
  memset(&t, 0, sizeof(t));
  qw_document_opts o;
  memset(&o, 0, sizeof(o));
  const char *html = PAGE("医用外科口罩", "<p>可以根治</p>");
  for(int i = 0; i < 3; i++) {
    qw_page *page = NULL;
    qw_charset_info cs;
    qw_analysis an;
    ck_assert_int_eq(qw_analyze_document(rs, az, html, strlen(html), &o,
                                         &page, &cs, &an, &t, NULL, 0), 0);
    qw_analysis_free(&an);
    qw_page_free(page);
  }
  ck_assert_uint_eq(t.bytes_in, 3 * strlen(html));
  ck_assert_uint_gt(t.bytes_text, 0);
  ck_assert_uint_gt(t.parse_ns, 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("analyze");
  TCase *tc = tcase_create("rules");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_violating_lens_page);
  tcase_add_test(tc, test_compliant_lens_page);
  tcase_add_test(tc, test_evasive_and_traditional_quotes_original);
  tcase_add_test(tc, test_invalid_registration_number);
  tcase_add_test(tc, test_filing_for_class2_device);
  tcase_add_test(tc, test_unless_numbers);
  tcase_add_test(tc, test_storefront_scope);
  tcase_add_test(tc, test_non_device_claim);
  tcase_add_test(tc, test_trigger_and_exceptions);
  tcase_add_test(tc, test_hidden_text_is_not_a_claim);
  tcase_add_test(tc, test_findings_capped_per_rule);
  tcase_add_test(tc, test_other_page_and_size_cap);
  tcase_add_test(tc, test_stage_times_accumulate);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
