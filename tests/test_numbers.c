/* test_numbers.c — registration, filing, licence and site numbers:
 * extraction from normalised text and structural validation, with the real
 * numbers of RULES-REFERENCE §1–§2 and the negative cases it lists. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "numbers.h"
#include "utf8.h"

#define CY 2026

static qw_numbers *nx;
static qw_numbers_scratch *sc;

static void setup(void)
{
  char err[200] = "";
  ck_assert_int_eq(qw_numbers_new(NULL, NULL, &nx, err, sizeof(err)), 0);
  sc = qw_numbers_scratch_new(nx);
  ck_assert_ptr_nonnull(sc);
}

static void teardown(void)
{
  qw_numbers_scratch_free(sc);
  qw_numbers_free(nx);
  sc = NULL;
  nx = NULL;
}

/* Extracts from text with the shared extractor; caller frees *out. */
static size_t extract(const char *text, int cy, qw_number **out)
{
  size_t n = 0;
  *out = NULL;
  ck_assert_int_eq(qw_numbers_extract(nx, sc, text, strlen(text), cy, out,
                                      &n), 0);
  return n;
}

/* Generic invariants of every result. */
static void check_invariants(const char *text, const qw_number *v, size_t n)
{
  size_t len = strlen(text);
  for(size_t i = 0; i < n; i++) {
    ck_assert_uint_lt(v[i].start, v[i].end);
    ck_assert_uint_le(v[i].end, len);
    ck_assert_uint_ne((unsigned char)text[v[i].start] & 0xC0, 0x80);
    ck_assert(v[i].end == len ||
              ((unsigned char)text[v[i].end] & 0xC0) != 0x80);
    ck_assert_ptr_null(memchr(text + v[i].start, '\n',
                              v[i].end - v[i].start));
    ck_assert(qw_utf8_valid(v[i].text, strlen(v[i].text)));
    ck_assert_uint_lt(strlen(v[i].reason), sizeof(v[i].reason));
    ck_assert((v[i].validity == QW_NUMV_OK) == (v[i].reason[0] == '\0'));
    if(i > 0)
      ck_assert_uint_ge(v[i].start, v[i - 1].end);
  }
}

/* ===== Real numbers from RULES-REFERENCE §1–§2 ===== */

typedef struct {
  const char *num;      /* as it appears in normalised text */
  qw_num_kind kind;
  qw_num_validity validity;
  const char *auth;
  const char *form;
  int year;
  int cls;
  const char *cat;
  const char *text;     /* expected text field; NULL = num */
  const char *reason;   /* substring of the reason, NULL for ok */
} row;

#define REG QW_NUM_REGISTRATION
#define OK QW_NUMV_OK
#define SUS QW_NUMV_SUSPICIOUS
#define BAD QW_NUMV_INVALID
#define LEGACY_REASON "legacy format: expired by 2018"
#define MALFORMED_LEGACY LEGACY_REASON ")；编号也不完整 (malformed)"

static const row real_rows[] = {
  /* §1.1 registrations */
  {"粤械注准20202071341", REG, OK, "粤", "准", 2020, 2, "07", NULL, NULL},
  {"湘械注准20192140881", REG, OK, "湘", "准", 2019, 2, "14", NULL, NULL},
  {"川械注准20202090126", REG, OK, "川", "准", 2020, 2, "09", NULL, NULL},
  {"国械注准20183770102", REG, OK, "国", "准", 2018, 3, "77", NULL, NULL},
  {"国械注准20143462100", REG, OK, "国", "准", 2014, 3, "46", NULL, NULL},
  {"国械注进20162705149", REG, OK, "国", "进", 2016, 2, "70", NULL, NULL},
  {"粤械注准20232192086", REG, OK, "粤", "准", 2023, 2, "19", NULL, NULL},
  {"内械注准20262210005", REG, OK, "内", "准", 2026, 2, "21", NULL, NULL},
  {"黔械注准20252140234", REG, OK, "黔", "准", 2025, 2, "14", NULL, NULL},
  {"国械注准20203400204", REG, OK, "国", "准", 2020, 3, "40", NULL, NULL},
  {"国械注许20163220001", REG, OK, "国", "许", 2016, 3, "22", NULL, NULL},
  {"粤械注准 2020 2 07 1341", REG, OK, "粤", "准", 2020, 2, "07",
   "粤械注准20202071341", NULL},
  /* §1.3 Class I filings */
  {"浙绍械备20150001号(更)", QW_NUM_FILING, OK, "浙", "", 2015, 1, "", NULL,
   NULL},
  {"浙绍械备20150001号（更）", QW_NUM_FILING, OK, "浙", "", 2015, 1, "",
   NULL, NULL},
  {"粤惠械备20230048", QW_NUM_FILING, OK, "粤", "", 2023, 1, "", NULL, NULL},
  {"鲁青械备20150027号", QW_NUM_FILING, OK, "鲁", "", 2015, 1, "", NULL,
   NULL},
  {"粤中械备20190035号", QW_NUM_FILING, OK, "粤", "", 2019, 1, "", NULL,
   NULL},
  {"陕械备20220036号", QW_NUM_FILING, OK, "陕", "", 2022, 1, "", NULL, NULL},
  {"国械备20151134号", QW_NUM_FILING, OK, "国", "", 2015, 1, "", NULL, NULL},
  {"浙温械备20140027号", QW_NUM_FILING, OK, "浙", "", 2014, 1, "", NULL,
   NULL},
  /* §1.4 legacy (all expired), including the malformed ones */
  {"国食药监械(准)字2013第3221234号", QW_NUM_LEGACY, BAD, "国", "准", 2013,
   3, "22", NULL, LEGACY_REASON},
  {"苏镇食药监械(准)字2014第1560041号", QW_NUM_LEGACY, BAD, "苏", "准",
   2014, 1, "56", NULL, LEGACY_REASON},
  {"湘食药监械(准)字2014第2400052号", QW_NUM_LEGACY, BAD, "湘", "准", 2014,
   2, "40", NULL, LEGACY_REASON},
  {"粤食药监械(准)字2013第2210203号", QW_NUM_LEGACY, BAD, "粤", "准", 2013,
   2, "21", NULL, LEGACY_REASON},
  {"鄂食药监械(准)字2013第2641767号", QW_NUM_LEGACY, BAD, "鄂", "准", 2013,
   2, "64", NULL, LEGACY_REASON},
  {"苏食药监械(准)字2012第2270411号", QW_NUM_LEGACY, BAD, "苏", "准", 2012,
   2, "27", NULL, LEGACY_REASON},
  {"国食药监械(准)字2014第3630253号", QW_NUM_LEGACY, BAD, "国", "准", 2014,
   3, "63", NULL, LEGACY_REASON},
  {"国食药监械（准）字2014第3630253号", QW_NUM_LEGACY, BAD, "国", "准",
   2014, 3, "63", NULL, LEGACY_REASON},
  {"辽食药监械(准)字2013第312660178号", QW_NUM_LEGACY, BAD, "辽", "准", 0,
   0, "", NULL, MALFORMED_LEGACY},
  {"粤食药监械(准)字2012第266", QW_NUM_LEGACY, BAD, "粤", "准", 0, 0, "",
   NULL, MALFORMED_LEGACY},
  {"国食药监械(准)字第2012第3401296号", QW_NUM_LEGACY, BAD, "国", "准",
   2012, 3, "40", NULL, MALFORMED_LEGACY},
  {"国药管械(进)字2001第3460123号", QW_NUM_LEGACY, BAD, "国", "进", 2001, 3,
   "46", NULL, LEGACY_REASON},
  {"国药监械(准)字99第2260123号", QW_NUM_LEGACY, BAD, "国", "准", 1999, 2,
   "26", NULL, LEGACY_REASON},
  /* §1.5 / §2.2 production licences and filings */
  {"冀食药监械生产许20170015号", QW_NUM_PROD_LICENCE, OK, "冀", "", 2017, 0,
   "", NULL, NULL},
  {"粤食药监械生产许20132464号", QW_NUM_PROD_LICENCE, OK, "粤", "", 2013, 0,
   "", NULL, NULL},
  {"陕食药监械生产许20160021号", QW_NUM_PROD_LICENCE, OK, "陕", "", 2016, 0,
   "", NULL, NULL},
  {"沪食药监械生产许20000240号", QW_NUM_PROD_LICENCE, OK, "沪", "", 2000, 0,
   "", NULL, NULL},
  {"冀沧食药监械生产备20190012号", QW_NUM_PROD_FILING, OK, "冀", "", 2019, 0,
   "", NULL, NULL},
  {"粤惠食药监械生产备20230010号", QW_NUM_PROD_FILING, OK, "粤", "", 2023, 0,
   "", NULL, NULL},
  /* §2.1 business licences and filings */
  {"沪嘉食药监械经营许20187006号", QW_NUM_BIZ_LICENCE, OK, "沪", "", 2018, 0,
   "", NULL, NULL},
  {"粤穗食药监械经营许20171161号", QW_NUM_BIZ_LICENCE, OK, "粤", "", 2017, 0,
   "", NULL, NULL},
  {"桂南食药监械经营许20170354号", QW_NUM_BIZ_LICENCE, OK, "桂", "", 2017, 0,
   "", NULL, NULL},
  {"京丰食药监械经营许20150100号", QW_NUM_BIZ_LICENCE, OK, "京", "", 2015, 0,
   "", NULL, NULL},
  {"京丰食药监械经营备20150159号", QW_NUM_BIZ_FILING, OK, "京", "", 2015, 0,
   "", NULL, NULL},
  {"浙杭食药监械经营备20171029号", QW_NUM_BIZ_FILING, OK, "浙", "", 2017, 0,
   "", NULL, NULL},
  {"京经食药监械经营备20170029", QW_NUM_BIZ_FILING, OK, "京", "", 2017, 0,
   "", NULL, NULL},
  {"皖马食药监械经营备20140017号", QW_NUM_BIZ_FILING, OK, "皖", "", 2014, 0,
   "", NULL, NULL},
  {"沪浦食药监械经营备20160226号", QW_NUM_BIZ_FILING, OK, "沪", "", 2016, 0,
   "", NULL, NULL},
  {"鄂汉食药监械经营备2018H006号", QW_NUM_BIZ_FILING, OK, "鄂", "", 2018, 0,
   "", NULL, NULL},
  {"鄂汉食药监械经营备2018h006号", QW_NUM_BIZ_FILING, OK, "鄂", "", 2018, 0,
   "", NULL, NULL},
  {"浙杭药监械经营备20250018号", QW_NUM_BIZ_FILING, OK, "浙", "", 2025, 0,
   "", NULL, NULL},
  {"沪药监械经营备 20240001 号", QW_NUM_BIZ_FILING, SUS, "沪", "", 2024, 0,
   "", "沪药监械经营备20240001号", "without a city"},
  /* §2.3 platform filings */
  {"(京)网械平台备字(2018)第00005号", QW_NUM_PLATFORM, OK, "京", "", 2018,
   0, "", NULL, NULL},
  {"（京）网械平台备字（2020）第00002号", QW_NUM_PLATFORM, OK, "京", "",
   2020, 0, "", NULL, NULL},
  {"(沪)网械平台备字[2019]第00006号", QW_NUM_PLATFORM, OK, "沪", "", 2019,
   0, "", NULL, NULL},
  {"(苏)网械平台备字(2018)第00052号", QW_NUM_PLATFORM, OK, "苏", "", 2018,
   0, "", NULL, NULL},
  {"(浙)网械平台备字[2018]第00002号", QW_NUM_PLATFORM, OK, "浙", "", 2018,
   0, "", NULL, NULL},
  {"(浙)网械平台备字〔2018〕第00002号", QW_NUM_PLATFORM, OK, "浙", "", 2018,
   0, "", NULL, NULL},
  /* §2.4 information-service filings */
  {"(京)网药械信息备字(2021)第00159号", QW_NUM_INFO_FILING, OK, "京", "",
   2021, 0, "", NULL, NULL},
  {"(京)网药械信息备字(2022)第00334号", QW_NUM_INFO_FILING, OK, "京", "",
   2022, 0, "", NULL, NULL},
  {"(京)网药械信息备字(2024)第00478号", QW_NUM_INFO_FILING, OK, "京", "",
   2024, 0, "", NULL, NULL},
  /* §2.5 information-service certificates */
  {"(沪)-经营性-2018-0011", QW_NUM_INFO_CERT, OK, "沪", "", 2018, 0, "",
   NULL, NULL},
  {"(沪)-经营性-2023-0144", QW_NUM_INFO_CERT, OK, "沪", "", 2023, 0, "",
   NULL, NULL},
  {"(京)-非经营性-2014-0090", QW_NUM_INFO_CERT, OK, "京", "", 2014, 0, "",
   NULL, NULL},
  {"(京)-非经营性-2015-0001", QW_NUM_INFO_CERT, OK, "京", "", 2015, 0, "",
   NULL, NULL},
  {"(粤)—经营性-2022-0419", QW_NUM_INFO_CERT, OK, "粤", "", 2022, 0, "",
   NULL, NULL},
  {"（粤）—经营性—2022—0419", QW_NUM_INFO_CERT, OK, "粤", "", 2022, 0, "",
   NULL, NULL},
  /* §2.6 online-sale filing */
  {"粤深械网备202005070014", QW_NUM_ONLINE_FILING, OK, "粤", "", 2020, 0,
   "", NULL, NULL},
  /* §2.7 ad approvals: the old form expired long ago */
  {"苏医械广审(文)第2012120208号", QW_NUM_AD_APPROVAL, BAD, "苏", "", 2012,
   0, "", NULL, "expired"},
  {"京医械广审(文)第2005010001号", QW_NUM_AD_APPROVAL, BAD, "京", "", 2005,
   0, "", NULL, "expired"},
  {"粤械广审（文）第280917-05538号", QW_NUM_AD_APPROVAL, OK, "粤", "", 0, 0,
   "", NULL, NULL},
  {"豫械广审(文)第261112-17214号", QW_NUM_AD_APPROVAL, OK, "豫", "", 0, 0,
   "", NULL, NULL},
};

#define N_REAL (int)(sizeof(real_rows) / sizeof(real_rows[0]))

static void check_row(const row *r, const char *prefix, const char *suffix)
{
  char text[512];
  snprintf(text, sizeof(text), "%s%s%s", prefix, r->num, suffix);
  qw_number *v;
  size_t n = extract(text, CY, &v);
  check_invariants(text, v, n);
  ck_assert_msg(n == 1, "%s: %zu numbers", r->num, n);
  ck_assert_msg(v[0].kind == r->kind, "%s: kind %s", r->num,
                qw_num_kind_name(v[0].kind));
  ck_assert_msg(v[0].validity == r->validity, "%s: %s (%s)", r->num,
                qw_num_validity_name(v[0].validity), v[0].reason);
  ck_assert_str_eq(v[0].authority, r->auth);
  ck_assert_str_eq(v[0].form, r->form);
  ck_assert_int_eq(v[0].year, r->year);
  ck_assert_int_eq(v[0].device_class, r->cls);
  ck_assert_str_eq(v[0].category, r->cat);
  ck_assert_str_eq(v[0].text, r->text ? r->text : r->num);
  ck_assert_uint_eq(v[0].start, strlen(prefix));
  ck_assert_uint_eq(v[0].end, strlen(prefix) + strlen(r->num));
  if(r->reason)
    ck_assert_msg(strstr(v[0].reason, r->reason) != NULL, "%s: reason %s",
                  r->num, v[0].reason);
  else
    ck_assert_str_eq(v[0].reason, "");
  free(v);
}

START_TEST(test_real_numbers)
{
  const row *r = &real_rows[_i];
  check_row(r, "", "");
  /* The same number inside a parameter table line and a sentence. */
  check_row(r, "产品参数\n注册证编号/备案编号:",
            "\n生产企业:康宁达医疗科技有限公司");
  check_row(r, "详情请见本店资质:", ",请认准正品。");
}
END_TEST

/* ===== Negative and edge cases of §1 ===== */

static const row bad_rows[] = {
  /* 10- and 12-digit tails: present but malformed */
  {"粤械注准2020207134", QW_NUM_REGISTRATION_LOOSE, BAD, "粤", "准", 0, 0,
   "", NULL, "wrong digit count: 10"},
  {"粤械注准202020713412", QW_NUM_REGISTRATION_LOOSE, BAD, "粤", "准", 0, 0,
   "", NULL, "wrong digit count: 12"},
  /* spaces in the wrong places */
  {"粤械注准2020 20 71341", QW_NUM_REGISTRATION_LOOSE, BAD, "粤", "准", 0, 0,
   "", "粤械注准20202071341", "spaces inside"},
  {"粤械注准 202 02071341", QW_NUM_REGISTRATION_LOOSE, BAD, "粤", "准", 0, 0,
   "", "粤械注准20202071341", "spaces inside"},
  /* class 1 */
  {"粤械注准20201071341", REG, BAD, "粤", "准", 2020, 1, "07", NULL,
   "Class I is filed, not registered"},
  {"国械注进20205071341", REG, BAD, "国", "进", 2020, 5, "07", NULL,
   "class digit must be 2 or 3"},
  /* category 99 and 00 */
  {"粤械注准20202991341", REG, BAD, "粤", "准", 2020, 2, "99", NULL,
   "unknown category code"},
  {"国械注准20203001341", REG, BAD, "国", "准", 2020, 3, "00", NULL,
   "unknown category code"},
  /* unknown authority */
  {"甲械注准20202071341", REG, BAD, "甲", "准", 2020, 2, "07", NULL,
   "unknown authority"},
  /* future year, year before the format */
  {"粤械注准20312071341", REG, BAD, "粤", "准", 2031, 2, "07", NULL,
   "in the future"},
  {"国械注准20133462100", REG, BAD, "国", "准", 2013, 3, "46", NULL,
   "began in 2014"},
  /* province + Class III, province + import */
  {"粤械注准20203071341", REG, BAD, "粤", "准", 2020, 3, "07", NULL,
   "province cannot approve Class III"},
  {"粤械注进20202071341", REG, BAD, "粤", "进", 2020, 2, "07", NULL,
   "registered nationally"},
  {"沪械注许20162221341", REG, BAD, "沪", "许", 2016, 2, "22", NULL,
   "registered nationally"},
  /* suspicious: national domestic Class II, 2002 code after 2019 */
  {"国械注准20202071341", REG, SUS, "国", "准", 2020, 2, "07", NULL,
   "domestic Class II"},
  {"粤械注准20242641341", REG, SUS, "粤", "准", 2024, 2, "64", NULL,
   "2002-catalog code after 2019"},
  {"国械注进20193771341", REG, SUS, "国", "进", 2019, 3, "77", NULL,
   "2002-catalog code after 2019"},
  /* 2002 code before 2019 is fine, and so is IVD 40 later on */
  {"国械注准20173661341", REG, OK, "国", "准", 2017, 3, "66", NULL, NULL},
  {"国械注准20243401341", REG, OK, "国", "准", 2024, 3, "40", NULL, NULL},
  /* invalid beats suspicious */
  {"国械注准20312071341", REG, BAD, "国", "准", 2031, 2, "07", NULL,
   "in the future"},
  /* filings */
  {"粤械备2019003号", QW_NUM_FILING, BAD, "粤", "", 0, 1, "", NULL,
   "wrong digit count: 7"},
  {"粤械备20310001号", QW_NUM_FILING, BAD, "粤", "", 2031, 1, "", NULL,
   "in the future"},
  {"粤穗械备20130001号", QW_NUM_FILING, BAD, "粤", "", 2013, 1, "", NULL,
   "began in 2014"},
  {"国朝械备20150001号", QW_NUM_FILING, BAD, "国", "", 2015, 1, "", NULL,
   "import filings carry no city"},
  /* licences */
  {"粤穗食药监械经营许2017116号", QW_NUM_BIZ_LICENCE, BAD, "粤", "", 0, 0,
   "", NULL, "wrong length"},
  {"粤穗食药监械经营许20311161号", QW_NUM_BIZ_LICENCE, BAD, "粤", "", 2031,
   0, "", NULL, "in the future"},
  {"粤穗食药监械经营备20121161号", QW_NUM_BIZ_FILING, SUS, "粤", "", 2012, 0,
   "", NULL, "filings began in 2014"},
  {"粤惠食药监械生产许20200010号", QW_NUM_PROD_LICENCE, SUS, "粤", "", 2020,
   0, "", NULL, "with a city"},
  {"粤穗市监械经营许20231161号", QW_NUM_BIZ_LICENCE, OK, "粤", "", 2023, 0,
   "", NULL, NULL},
  {"粤穗械经营许20231161号", QW_NUM_BIZ_LICENCE, OK, "粤", "", 2023, 0, "",
   NULL, NULL},
  /* site numbers */
  {"(港)网械平台备字(2018)第00005号", QW_NUM_PLATFORM, BAD, "港", "", 2018,
   0, "", NULL, "unknown authority"},
  {"(京)网械平台备字(2016)第00005号", QW_NUM_PLATFORM, SUS, "京", "", 2016,
   0, "", NULL, "began in 2018"},
  {"(京)网药械信息备字(2031)第00159号", QW_NUM_INFO_FILING, BAD, "京", "",
   2031, 0, "", NULL, "in the future"},
  {"(沪)-经营性-2031-0011", QW_NUM_INFO_CERT, BAD, "沪", "", 2031, 0, "",
   NULL, "in the future"},
  {"粤深械网备203105070014", QW_NUM_ONLINE_FILING, BAD, "粤", "", 2031, 0,
   "", NULL, "in the future"},
  {"苏医械广审(文)第2012130208号", QW_NUM_AD_APPROVAL, BAD, "苏", "", 2012,
   0, "", NULL, "invalid month"},
  {"苏医械广审(文)第2021050208号", QW_NUM_AD_APPROVAL, BAD, "苏", "", 2021,
   0, "", NULL, "retired in 2020"},
  {"国械广审(文)第280917-05538号", QW_NUM_AD_APPROVAL, BAD, "国", "", 0, 0,
   "", NULL, "unknown authority"},
};

#define N_BAD (int)(sizeof(bad_rows) / sizeof(bad_rows[0]))

START_TEST(test_negative_numbers)
{
  const row *r = &bad_rows[_i];
  check_row(r, "", "");
  check_row(r, "注册证号:", " 数量:1");
}
END_TEST

START_TEST(test_not_numbers)
{
  static const char *const texts[] = {
    "医疗器械注册证 医疗器械经营许可证 医疗器械备案凭证 医疗器械生产许可证编号",
    "第二类医疗器械经营备案凭证 医疗器械网络销售备案 医疗器械广告审查",
    "本品为医疗器械,请仔细阅读说明书。医疗器械(准)字样",
    "豫药广审(文)第261112-17214号",            /* a drug ad, not a device */
    "粤械注准", "粤械注准 ", "粤械注准20", "械注准20202071341",
    "x械注准20202071341",                       /* authority not Han */
    "粤械注准2020", "粤械注册20202071341",
    "粤械备案20190035号", "国械备2015年",
    "经营性网站备案信息 京ICP证030173号",
    "(京)网械平台备字第00005号",
    "粤械注准202020713410000000000000000000000000000000000000000",
    "", "械", "械注", "经营性", "((((((((((械广审))))))))",
  };
  for(size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    qw_number *v;
    size_t n = extract(texts[i], CY, &v);
    ck_assert_msg(n == 0, "'%s': %zu numbers, first %s %s", texts[i], n,
                  n ? qw_num_kind_name(v[0].kind) : "", n ? v[0].text : "");
    free(v);
  }
}
END_TEST

/* A licence number is reported once, as a licence, never also as a Class
 * I filing; a strict registration never also as a loose one. */
START_TEST(test_overlaps)
{
  static const struct {
    const char *text;
    qw_num_kind kind;
  } cases[] = {
    {"粤惠食药监械生产备20230010号", QW_NUM_PROD_FILING},
    {"沪浦食药监械经营备20160226号", QW_NUM_BIZ_FILING},
    {"京丰食药监械经营许20150100号", QW_NUM_BIZ_LICENCE},
    {"国械注准20183770102", QW_NUM_REGISTRATION},
    {"国食药监械(准)字2013第3221234号", QW_NUM_LEGACY},
    {"(京)网药械信息备字(2021)第00159号", QW_NUM_INFO_FILING},
    {"粤深械网备202005070014", QW_NUM_ONLINE_FILING},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    qw_number *v;
    size_t n = extract(cases[i].text, CY, &v);
    ck_assert_msg(n == 1, "%s: %zu", cases[i].text, n);
    ck_assert_int_eq(v[0].kind, cases[i].kind);
    free(v);
  }
}
END_TEST

START_TEST(test_authority_prefix)
{
  /* A province name written before the number is not part of it. */
  static const struct {
    const char *text, *number;
  } cases[] = {
    {"北京京朝械备20190012号", "京朝械备20190012号"},
    {"天津津滨械备20190012号", "津滨械备20190012号"},
    {"山东鲁青械备20150027号", "鲁青械备20150027号"},
    {"广东省粤惠食药监械生产备20230010号", "粤惠食药监械生产备20230010号"},
    {"苏苏械备20150012号", "苏苏械备20150012号"},
    {"中国械注准20183770102", "国械注准20183770102"},
    {"注册证号国械注准20183770102", "国械注准20183770102"},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    qw_number *v;
    size_t n = extract(cases[i].text, CY, &v);
    ck_assert_msg(n == 1, "%s: %zu", cases[i].text, n);
    ck_assert_str_eq(v[0].text, cases[i].number);
    const char *at = strstr(cases[i].text, cases[i].number);
    ck_assert_uint_eq(v[0].start, (size_t)(at - cases[i].text));
    ck_assert_uint_eq(v[0].end, v[0].start + strlen(cases[i].number));
    free(v);
  }
}
END_TEST

START_TEST(test_newline_splits)
{
  static const char *const texts[] = {
    "粤械注准2020\n2071341",
    "粤械\n注准20202071341",
    "粤\n械注准20202071341",
    "粤械注准\n20202071341",
    "浙绍械备\n20150001号",
    "(京)网械平台备字\n(2018)第00005号",
    "(京)\n网械平台备字(2018)第00005号",
    "(沪)-经营性\n-2018-0011",
    "国食药监械(准)字\n2013第3221234号",
    "沪嘉食药监械经营许\n20187006号",
    "粤械广审(文)\n第280917-05538号",
  };
  for(size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
    qw_number *v;
    size_t n = extract(texts[i], CY, &v);
    check_invariants(texts[i], v, n);
    ck_assert_msg(n == 0, "'%s': %zu numbers (%s)", texts[i], n,
                  n ? v[0].text : "");
    free(v);
  }
  /* The (更) on the next line is not part of the filing. */
  const char *t = "浙绍械备20150001号\n(更)";
  qw_number *v;
  size_t n = extract(t, CY, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(v[0].text, "浙绍械备20150001号");
  ck_assert_uint_eq(v[0].end, strlen("浙绍械备20150001号"));
  free(v);
  /* A 12-digit tail cut by a newline leaves a valid 11-digit number. */
  t = "粤械注准20202071341\n2";
  n = extract(t, CY, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].kind, QW_NUM_REGISTRATION);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  free(v);
}
END_TEST

/* A storefront footer and a product page with several numbers: all of
 * them, in order, with exact offsets. */
START_TEST(test_many_in_order)
{
  static const char *const parts[] = {
    "康宁达医疗器械旗舰店\n营业执照 医疗器械经营许可证:",
    "浙杭食药监械经营许20187006号",
    " 第二类医疗器械经营备案凭证:", "浙杭食药监械经营备20171029号",
    "\n互联网药品信息服务资格证书:", "(浙)-经营性-2019-0021",
    " 平台备案:", "(浙)网械平台备字[2018]第00002号",
    "\n【产品名称】电子血压计【注册证编号】", "浙械注准20202070321",
    "【型号】kn-b21\n【配件:压脉带】备案编号:", "浙杭械备20210035号",
    " 旧包装标注", "浙食药监械(准)字2013第2200321号",
    " 广告批准文号:", "浙械广审(文)第270301-01234号",
    "\n网络销售备案:", "浙杭械网备202105070014",
    "。", NULL,
  };
  static const qw_num_kind kinds[] = {
    QW_NUM_BIZ_LICENCE, QW_NUM_BIZ_FILING, QW_NUM_INFO_CERT,
    QW_NUM_PLATFORM, QW_NUM_REGISTRATION, QW_NUM_FILING, QW_NUM_LEGACY,
    QW_NUM_AD_APPROVAL, QW_NUM_ONLINE_FILING,
  };
  char text[2048] = "";
  size_t starts[16], ends[16], k = 0;
  for(size_t i = 0; parts[i]; i++) {
    if(i % 2 == 1 && parts[i]) {
      starts[k] = strlen(text);
      ends[k] = starts[k] + strlen(parts[i]);
      k++;
    }
    strcat(text, parts[i]);
    if(!parts[i + 1])
      break;
  }
  ck_assert_uint_eq(k, sizeof(kinds) / sizeof(kinds[0]));
  qw_number *v;
  size_t n = extract(text, CY, &v);
  check_invariants(text, v, n);
  ck_assert_uint_eq(n, k);
  for(size_t i = 0; i < n; i++) {
    ck_assert_msg(v[i].kind == kinds[i], "#%zu: %s", i,
                  qw_num_kind_name(v[i].kind));
    ck_assert_uint_eq(v[i].start, starts[i]);
    ck_assert_uint_eq(v[i].end, ends[i]);
    ck_assert_int_eq(memcmp(text + v[i].start, v[i].text,
                            v[i].end - v[i].start), 0);
  }
  free(v);
}
END_TEST

/* The shapes the analyser hands over: JSON-LD values, flattened parameter
 * tables, attribute lists. */
START_TEST(test_contexts)
{
  static const struct {
    const char *text, *number;
    qw_num_kind kind;
  } cases[] = {
    {"{\"@type\":\"Product\",\"name\":\"医用外科口罩\",\"description\":"
     "\"备案编号:粤惠械备20230048\"}", "粤惠械备20230048", QW_NUM_FILING},
    {"\"registrationNumber\": \"国械注准20183770102\"",
     "国械注准20183770102", QW_NUM_REGISTRATION},
    {"注册证编号 | 川械注准20202090126 | 产品名称 | 中频治疗仪",
     "川械注准20202090126", QW_NUM_REGISTRATION},
    {"品牌:康宁达;医疗器械注册证编号:湘械注准20192140881;适用人群:成人",
     "湘械注准20192140881", QW_NUM_REGISTRATION},
    {"生产许可证:粤食药监械生产许20132464号。", "粤食药监械生产许20132464号",
     QW_NUM_PROD_LICENCE},
    {"证书编号:(沪)-经营性-2023-0144,", "(沪)-经营性-2023-0144",
     QW_NUM_INFO_CERT},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    qw_number *v;
    size_t n = extract(cases[i].text, CY, &v);
    check_invariants(cases[i].text, v, n);
    ck_assert_msg(n == 1, "%s: %zu", cases[i].text, n);
    ck_assert_int_eq(v[0].kind, cases[i].kind);
    ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
    ck_assert_str_eq(v[0].text, cases[i].number);
    ck_assert_uint_eq(v[0].start,
                      (size_t)(strstr(cases[i].text, cases[i].number) -
                               cases[i].text));
    free(v);
  }
}
END_TEST

/* Results are appended to what the caller already has. */
START_TEST(test_append)
{
  const char *t1 = "浙械注准20202070321";
  const char *t2 = "浙杭械备20210035号 和 粤械注准20202071341";
  qw_number *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(qw_numbers_extract(nx, sc, t1, strlen(t1), CY, &v, &n),
                   0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(qw_numbers_extract(nx, sc, "没有编号", strlen("没有编号"),
                                      CY, &v, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(qw_numbers_extract(nx, sc, t2, strlen(t2), CY, &v, &n),
                   0);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(v[0].text, "浙械注准20202070321");
  ck_assert_str_eq(v[1].text, "浙杭械备20210035号");
  ck_assert_str_eq(v[2].text, "粤械注准20202071341");
  ck_assert_uint_eq(v[2].start, strlen("浙杭械备20210035号 和 "));
  free(v);
}
END_TEST

START_TEST(test_current_year)
{
  qw_number *v;
  /* 2026 is fine in 2026 and in the future in 2025. */
  size_t n = extract("内械注准20262210005", 2026, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  free(v);
  n = extract("内械注准20262210005", 2025, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].validity, QW_NUMV_INVALID);
  ck_assert_ptr_nonnull(strstr(v[0].reason, "future"));
  free(v);
  n = extract("粤械备20260001号 粤械备20270001号", 2026, &v);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  ck_assert_int_eq(v[1].validity, QW_NUMV_INVALID);
  free(v);
  /* An old-form ad approval was valid one year. */
  n = extract("苏医械广审(文)第2019120208号", 2020, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  free(v);
  n = extract("苏医械广审(文)第2019120208号", 2021, &v);
  ck_assert_int_eq(v[0].validity, QW_NUMV_INVALID);
  free(v);
  /* current_year 0 means this year. */
  time_t now = time(NULL);
  struct tm tmv;
  gmtime_r(&now, &tmv);
  int year = tmv.tm_year + 1900;
  char t[64];
  snprintf(t, sizeof(t), "粤械注准%04d2071341", year);
  n = extract(t, 0, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  ck_assert_int_eq(v[0].year, year);
  free(v);
  snprintf(t, sizeof(t), "粤械注准%04d2071341", year + 1);
  n = extract(t, 0, &v);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(v[0].validity, QW_NUMV_INVALID);
  free(v);
}
END_TEST

START_TEST(test_custom_authorities)
{
  qw_numbers *c;
  char err[200];
  ck_assert_int_eq(qw_numbers_new("粤湘", "", &c, err, sizeof(err)), 0);
  qw_numbers_scratch *s = qw_numbers_scratch_new(c);
  ck_assert_ptr_nonnull(s);
  const char *t = "湘械注准20192140881 川械注准20202090126 国械注准20183770102 "
                  "川械备20220036号 湘长械备20220036号 蜀械注准20202090126";
  qw_number *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(qw_numbers_extract(c, s, t, strlen(t), CY, &v, &n), 0);
  check_invariants(t, v, n);
  /* 川 filing is not recognised at all (authority outside the list). */
  ck_assert_uint_eq(n, 5);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  ck_assert_int_eq(v[1].validity, QW_NUMV_INVALID);
  ck_assert_ptr_nonnull(strstr(v[1].reason, "unknown authority"));
  ck_assert_int_eq(v[2].validity, QW_NUMV_OK);
  ck_assert_int_eq(v[3].kind, QW_NUM_FILING);
  ck_assert_str_eq(v[3].text, "湘长械备20220036号");
  ck_assert_int_eq(v[4].validity, QW_NUMV_INVALID); /* no aliases */
  free(v);
  qw_numbers_scratch_free(s);
  qw_numbers_free(c);

  /* Aliases are accepted but suspicious: the default aliases include 蜀
     and 秦. An alias that is also in the main list is not an alias. */
  v = NULL;
  n = extract("蜀械注准20202090126 秦械注准20202090126 陇天械备20220036号 "
              "蜀械注准20203090126", CY, &v);
  ck_assert_uint_eq(n, 4);
  for(size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(v[i].validity, QW_NUMV_SUSPICIOUS);
    ck_assert_ptr_nonnull(strstr(v[i].reason, "alias"));
  }
  ck_assert_str_eq(v[2].text, "陇天械备20220036号");
  ck_assert_int_eq(v[3].validity, QW_NUMV_INVALID); /* province Class III */
  free(v);
  ck_assert_int_eq(qw_numbers_new("粤川", "蜀川", &c, err, sizeof(err)), 0);
  s = qw_numbers_scratch_new(c);
  ck_assert_ptr_nonnull(s);
  t = "川械注准20202090126 蜀械注准20202090126";
  v = NULL;
  n = 0;
  ck_assert_int_eq(qw_numbers_extract(c, s, t, strlen(t), CY, &v, &n), 0);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(v[0].validity, QW_NUMV_OK);
  ck_assert_int_eq(v[1].validity, QW_NUMV_SUSPICIOUS);
  free(v);
  qw_numbers_scratch_free(s);
  qw_numbers_free(c);
}
END_TEST

START_TEST(test_invalid_authorities)
{
  static const char *const lists[] = {
    "京津,冀", "京 津", "京A", "", "京\xE6\xA2", "京〇",
  };
  for(size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
    qw_numbers *c = (qw_numbers *)1;
    char err[200] = "";
    ck_assert_int_eq(qw_numbers_new(lists[i], NULL, &c, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_null(c);
    ck_assert_msg(err[0] != '\0', "no message for list %zu", i);
  }
  qw_numbers *c;
  char err[200] = "";
  ck_assert_int_eq(qw_numbers_new(NULL, "蜀-", &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "aliases"));
  ck_assert_ptr_nonnull(strstr(err, "not a Han character"));
  /* No err buffer is fine too. */
  ck_assert_int_eq(qw_numbers_new("x", NULL, &c, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(test_names)
{
  for(int k = 0; k < QW_NUM_KIND_COUNT; k++) {
    const char *name = qw_num_kind_name((qw_num_kind)k);
    ck_assert_int_eq(qw_num_kind_from_name(name, strlen(name)), k);
  }
  ck_assert_str_eq(qw_num_kind_name(QW_NUM_BIZ_LICENCE), "biz_licence");
  ck_assert_str_eq(qw_num_kind_name(QW_NUM_REGISTRATION_LOOSE),
                   "registration_loose");
  ck_assert_int_eq(qw_num_kind_from_name("filing_x", 6), QW_NUM_FILING);
  ck_assert_int_eq(qw_num_kind_from_name("filing", 5), -1);
  ck_assert_int_eq(qw_num_kind_from_name("nope", 4), -1);
  ck_assert_str_eq(qw_num_validity_name(QW_NUMV_OK), "ok");
  ck_assert_str_eq(qw_num_validity_name(QW_NUMV_SUSPICIOUS), "suspicious");
  ck_assert_str_eq(qw_num_validity_name(QW_NUMV_INVALID), "invalid");
}
END_TEST

/* A page's worth of text: numbers far apart, near window edges and at the
 * very end. */
START_TEST(test_large_text)
{
  size_t cap = 1 << 20;
  char *t = malloc(cap + 256);
  ck_assert_ptr_nonnull(t);
  const char *filler =
    "家用电子血压计上臂式全自动测量,医疗器械注册证见详情页。";
  size_t fl = strlen(filler), len = 0, planted = 0;
  while(len + fl + 64 < cap) {
    memcpy(t + len, filler, fl);
    len += fl;
    if(len % 7 == 0) {
      memcpy(t + len, "粤械注准20202071341", strlen("粤械注准20202071341"));
      len += strlen("粤械注准20202071341");
      planted++;
    }
  }
  /* A run of digits longer than the window, then a number at the end. */
  t[len++] = ',';
  memset(t + len, '7', 40);
  len += 40;
  memcpy(t + len, "浙杭械备20210035号", strlen("浙杭械备20210035号"));
  len += strlen("浙杭械备20210035号");
  t[len] = '\0';
  qw_number *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(qw_numbers_extract(nx, sc, t, len, CY, &v, &n), 0);
  check_invariants(t, v, n);
  ck_assert_uint_eq(n, planted + 1);
  ck_assert_int_eq(v[n - 1].kind, QW_NUM_FILING);
  ck_assert_uint_eq(v[n - 1].end, len);
  free(v);
  free(t);
}
END_TEST

typedef struct {
  const char *text;
  size_t n;
  int rc;
  char first[96], last[96];
} thread_job;

static void *thread_main(void *arg)
{
  thread_job *j = arg;
  qw_numbers_scratch *s = qw_numbers_scratch_new(nx);
  if(!s) {
    j->rc = -ENOMEM;
    return NULL;
  }
  for(int round = 0; round < 200; round++) {
    qw_number *v = NULL;
    size_t n = 0;
    j->rc = qw_numbers_extract(nx, s, j->text, strlen(j->text), CY, &v, &n);
    j->n = n;
    if(n) {
      memcpy(j->first, v[0].text, sizeof(j->first));
      memcpy(j->last, v[n - 1].text, sizeof(j->last));
    }
    free(v);
    if(j->rc != 0)
      break;
  }
  qw_numbers_scratch_free(s);
  return NULL;
}

/* One extractor, several threads, each with its own scratch. */
START_TEST(test_threads)
{
  static const char *const texts[] = {
    "粤械注准20202071341 浙杭械备20210035号 (沪)-经营性-2018-0011",
    "国食药监械(准)字2013第3221234号 和 京丰食药监械经营许20150100号",
    "(京)网械平台备字(2018)第00005号 粤械广审(文)第280917-05538号",
    "粤深械网备202005070014 粤械注准2020207134",
  };
  pthread_t th[4];
  thread_job jobs[4];
  memset(jobs, 0, sizeof(jobs));
  for(int i = 0; i < 4; i++) {
    jobs[i].text = texts[i];
    ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
  }
  for(int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_join(th[i], NULL), 0);
  static const size_t want_n[] = {3, 2, 2, 2};
  static const char *const want_first[] = {
    "粤械注准20202071341", "国食药监械(准)字2013第3221234号",
    "(京)网械平台备字(2018)第00005号", "粤深械网备202005070014",
  };
  static const char *const want_last[] = {
    "(沪)-经营性-2018-0011", "京丰食药监械经营许20150100号",
    "粤械广审(文)第280917-05538号", "粤械注准2020207134",
  };
  for(int i = 0; i < 4; i++) {
    ck_assert_int_eq(jobs[i].rc, 0);
    ck_assert_uint_eq(jobs[i].n, want_n[i]);
    ck_assert_str_eq(jobs[i].first, want_first[i]);
    ck_assert_str_eq(jobs[i].last, want_last[i]);
  }
}
END_TEST

START_TEST(test_bad_args)
{
  qw_number *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(qw_numbers_extract(NULL, sc, "x", 1, CY, &v, &n),
                   -EINVAL);
  ck_assert_int_eq(qw_numbers_extract(nx, NULL, "x", 1, CY, &v, &n),
                   -EINVAL);
  ck_assert_int_eq(qw_numbers_extract(nx, sc, NULL, 0, CY, &v, &n), 0);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(qw_numbers_scratch_new(NULL));
  qw_numbers_free(NULL);
  qw_numbers_scratch_free(NULL);
  /* Invalid UTF-8 next to a number (outside the contract) does not crash
     and a clean number elsewhere is still found. */
  const char *t = "\xFF\xFE粤械注准2020\xE6" "2071341 浙杭械备20210035号";
  ck_assert_int_eq(qw_numbers_extract(nx, sc, t, strlen(t), CY, &v, &n), 0);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(v[0].text, "浙杭械备20210035号");
  free(v);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("numbers");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_real_numbers, 0, N_REAL);
  tcase_add_loop_test(tc, test_negative_numbers, 0, N_BAD);
  tcase_add_test(tc, test_not_numbers);
  tcase_add_test(tc, test_overlaps);
  tcase_add_test(tc, test_authority_prefix);
  tcase_add_test(tc, test_newline_splits);
  tcase_add_test(tc, test_many_in_order);
  tcase_add_test(tc, test_contexts);
  tcase_add_test(tc, test_append);
  tcase_add_test(tc, test_current_year);
  tcase_add_test(tc, test_custom_authorities);
  tcase_add_test(tc, test_invalid_authorities);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_large_text);
  tcase_add_test(tc, test_threads);
  tcase_add_test(tc, test_bad_args);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
