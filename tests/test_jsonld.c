/* test_jsonld.c — JSON-LD flattening and the embedded-state scanner: paths,
 * types, arrays, @graph, caps, broken and hostile input. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonld.h"
#include "qw_test.h"
#include "utf8.h"

/* Collects what the sink receives as "key=value" lines and "@Type/root"
 * lines. */
typedef struct {
  char out[65536];
  size_t len;
  int values, types;
  int stop_after; /* > 0: return 1 after that many values */
  int fail_after; /* > 0: return -ENOMEM after that many values */
} sink_ctx;

static void put(sink_ctx *c, const char *a, size_t al, const char *b,
                size_t bl, char sep)
{
  ck_assert_uint_lt(c->len + al + bl + 2, sizeof(c->out));
  memcpy(c->out + c->len, a, al);
  c->len += al;
  c->out[c->len++] = sep;
  memcpy(c->out + c->len, b, bl);
  c->len += bl;
  c->out[c->len++] = '\n';
  c->out[c->len] = '\0';
}

static int on_value(void *ctx, const char *k, size_t kl, const char *v,
                    size_t vl)
{
  sink_ctx *c = ctx;
  ck_assert_msg(qw_utf8_valid(v, vl), "value is not UTF-8");
  ck_assert_msg(qw_utf8_valid(k, kl), "key is not UTF-8");
  ck_assert(memchr(v, '\0', vl) == NULL);
  ck_assert_uint_le(vl, QW_JSONLD_MAX_VALUE);
  ck_assert_uint_le(kl, QW_JSONLD_MAX_KEY);
  c->values++;
  put(c, k, kl, v, vl, '=');
  if(c->fail_after && c->values >= c->fail_after)
    return -ENOMEM;
  if(c->stop_after && c->values >= c->stop_after)
    return 1;
  return 0;
}

static int on_type(void *ctx, const char *name, size_t len, int root)
{
  sink_ctx *c = ctx;
  c->types++;
  put(c, "@", 1, name, len, root ? '+' : '-');
  return 0;
}

static int flatten(sink_ctx *c, const char *json)
{
  memset(c, 0, sizeof(*c));
  qw_jsonld_sink s = {on_value, on_type, c};
  return qw_jsonld_flatten(json, strlen(json), &s);
}

static int state(sink_ctx *c, const char *js, size_t len)
{
  memset(c, 0, sizeof(*c));
  qw_jsonld_sink s = {on_value, NULL, c};
  return qw_jsonld_state(js, len, &s);
}

/* Finds the state in a script and scans it, as page.c does. */
static int script(sink_ctx *c, const char *js)
{
  size_t len = strlen(js), from = 0, start, resume;
  memset(c, 0, sizeof(*c));
  qw_jsonld_sink s = {on_value, NULL, c};
  int found = 0;
  while(qw_jsonld_find_state(js, len, from, &start, &resume)) {
    ck_assert_int_eq(qw_jsonld_state(js + start, len - start, &s), 0);
    from = resume;
    found++;
  }
  return found;
}

/* ===== JSON-LD ===== */

START_TEST(test_product_offer)
{
  sink_ctx c;
  ck_assert_int_eq(flatten(&c,
    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\","
    "\"name\":\"康诺 电子血压计\",\"sku\":\"KN-101\","
    "\"image\":[\"https://a.example/1.jpg\",\"https://a.example/2.jpg\"],"
    "\"brand\":{\"@type\":\"Brand\",\"name\":\"康诺\"},"
    "\"offers\":{\"@type\":\"Offer\",\"price\":\"199.00\","
    "\"priceCurrency\":\"CNY\",\"inventoryLevel\":120,\"discount\":0.85,"
    "\"available\":true,\"seller\":null},"
    "\"@id\":\"https://a.example/#p\"}"), 0);
  ck_assert_str_eq(c.out,
    "@+Product\n"
    "Product.name=康诺 电子血压计\n"
    "Product.sku=KN-101\n"
    "Product.image=https://a.example/1.jpg\n"
    "Product.image=https://a.example/2.jpg\n"
    "@-Brand\n"
    "Product.brand.name=康诺\n"
    "@-Offer\n"
    "Product.offers.price=199.00\n"
    "Product.offers.priceCurrency=CNY\n"
    "Product.offers.inventoryLevel=120\n"
    "Product.offers.discount=0.85\n");
}
END_TEST

START_TEST(test_graph_and_arrays)
{
  sink_ctx c;
  ck_assert_int_eq(flatten(&c,
    "{\"@context\":\"https://schema.org\",\"@graph\":["
    "{\"@type\":\"Organization\",\"name\":\"康诺医疗\"},"
    "{\"@type\":[\"http://schema.org/Product\",\"schema:MedicalDevice\"],"
    "\"name\":\"制氧机\",\"offers\":[{\"@type\":\"Offer\",\"price\":1999},"
    "{\"@type\":\"Offer\",\"price\":2099}]}]}"), 0);
  ck_assert_str_eq(c.out,
    "@+Organization\n"
    "Organization.name=康诺医疗\n"
    "@+Product\n"
    "@+MedicalDevice\n"
    "Product.name=制氧机\n"
    "@-Offer\n"
    "Product.offers.price=1999\n"
    "@-Offer\n"
    "Product.offers.price=2099\n");

  /* a top-level array, and a node without @type */
  ck_assert_int_eq(flatten(&c,
    "[{\"@type\":\"BreadcrumbList\",\"itemListElement\":[{\"name\":\"首页\"},"
    "{\"name\":\"口罩\"}]},{\"headline\":\"无类型\"},[{\"@type\":\"Offer\","
    "\"price\":\"9.9\"}]]"), 0);
  ck_assert_str_eq(c.out,
    "@+BreadcrumbList\n"
    "BreadcrumbList.itemListElement.name=首页\n"
    "BreadcrumbList.itemListElement.name=口罩\n"
    "Thing.headline=无类型\n"
    "@+Offer\n"
    "Offer.price=9.9\n");

  /* an @graph object instead of an array */
  ck_assert_int_eq(flatten(&c,
    "{\"@graph\":{\"@type\":\"Product\",\"name\":\"单个\"}}"), 0);
  ck_assert_str_eq(c.out, "@+Product\nProduct.name=单个\n");
}
END_TEST

START_TEST(test_wrappers_and_escapes)
{
  sink_ctx c;
  ck_assert_int_eq(flatten(&c,
    "\xEF\xBB\xBF  <!--\n //<![CDATA[\n{\"@type\":\"Product\",\"name\":"
    "\"\\u6839\\u6cbb \\ud83d\\ude00 a\\nb\",\"k\\u0001\":\"skipped key\"}"
    "\n//]]>\n-->  ;\n"), 0);
  ck_assert_str_eq(c.out,
    "@+Product\nProduct.name=根治 \xF0\x9F\x98\x80 a\nb\n");
}
END_TEST

START_TEST(test_keys)
{
  sink_ctx c;
  /* full IRI keys count as their last part; dotted keys would make paths
   * ambiguous and are skipped (found by fuzz_jsonld) */
  ck_assert_int_eq(flatten(&c,
    "{\"@type\":\"Product\",\"http://schema.org/name\":\"甲\","
    "\"schema:model\":\"乙\",\".\":\"x\",\"a.b\":\"y\",\"\":\"z\","
    "\"http://schema.org/\":\"w\",\"offers\":{\"..\":\"v\"}}"), 0);
  ck_assert_str_eq(c.out, "@+Product\nProduct.name=甲\nProduct.model=乙\n");
}
END_TEST

START_TEST(test_invalid)
{
  sink_ctx c;
  ck_assert_int_eq(flatten(&c, ""), -EINVAL);
  ck_assert_int_eq(flatten(&c, "   "), -EINVAL);
  ck_assert_int_eq(flatten(&c, "\"Product\""), -EINVAL);
  ck_assert_int_eq(flatten(&c, "42"), -EINVAL);
  ck_assert_int_eq(flatten(&c, "{\"@type\":\"Product\",}"), -EINVAL);
  ck_assert_int_eq(flatten(&c, "{\"a\":\"\\u0000\"}"), -EINVAL);
  ck_assert_int_eq(flatten(&c, "{\"a\":\"\xFF\"}"), -EINVAL);
  ck_assert_int_eq(flatten(&c, "{\"name\":\"x\"} {\"name\":\"y\"}"),
                   -EINVAL);
  ck_assert_int_eq(c.values, 0);
  /* jansson refuses nesting beyond its limit; nothing overflows */
  char *deep = malloc(20001);
  ck_assert_ptr_nonnull(deep);
  memset(deep, '[', 10000);
  memset(deep + 10000, ']', 10000);
  deep[20000] = '\0';
  ck_assert_int_eq(flatten(&c, deep), -EINVAL);
  free(deep);
  /* too big to look at */
  size_t big = QW_JSONLD_MAX_INPUT + 1;
  char *b = malloc(big);
  ck_assert_ptr_nonnull(b);
  memset(b, ' ', big);
  b[0] = '{';
  b[big - 1] = '}';
  qw_jsonld_sink s = {on_value, on_type, &c};
  ck_assert_int_eq(qw_jsonld_flatten(b, big, &s), -E2BIG);
  free(b);
}
END_TEST

START_TEST(test_caps)
{
  sink_ctx c;
  /* 40 levels: only the first QW_JSONLD_MAX_DEPTH are followed */
  char json[4096];
  size_t k = 0;
  k += (size_t)snprintf(json + k, sizeof(json) - k, "{\"@type\":\"T\"");
  for(int i = 0; i < 40; i++)
    k += (size_t)snprintf(json + k, sizeof(json) - k,
                          ",\"v%d\":\"d%d\",\"n\":{\"x\":1", i, i);
  for(int i = 0; i < 40; i++)
    json[k++] = '}';
  json[k++] = '}';
  json[k] = '\0';
  ck_assert_int_eq(flatten(&c, json), 0);
  ck_assert_ptr_nonnull(strstr(c.out, "T.v0=d0\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "T.n.v1=d1\n"));
  ck_assert_ptr_null(strstr(c.out, "=d20\n"));
  ck_assert_int_le(c.values, 2 * QW_JSONLD_MAX_DEPTH + 1);

  /* a long key path is dropped, a long value is cut at a code point */
  char *v = malloc(3 * 3000 + 600);
  ck_assert_ptr_nonnull(v);
  k = (size_t)sprintf(v, "{\"@type\":\"T\",\"");
  for(int i = 0; i < 300; i++)
    v[k++] = 'k';
  k += (size_t)sprintf(v + k, "\":\"long key\",\"desc\":\"");
  for(int i = 0; i < 3000; i++) {
    memcpy(v + k, "治", 3);
    k += 3;
  }
  strcpy(v + k, "\"}");
  ck_assert_int_eq(flatten(&c, v), 0);
  ck_assert_int_eq(c.values, 1);
  ck_assert(!strncmp(c.out, "@+T\nT.desc=治治", strlen("@+T\nT.desc=治治")));
  /* 4096 bytes is 1365 whole characters */
  ck_assert_uint_eq(c.len, strlen("@+T\nT.desc=\n") + 1365 * 3);
  free(v);

  /* the sink stops the walk (> 0) or fails it (< 0) */
  memset(&c, 0, sizeof(c));
  c.stop_after = 2;
  qw_jsonld_sink s = {on_value, on_type, &c};
  const char *three = "{\"@type\":\"T\",\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}";
  ck_assert_int_eq(qw_jsonld_flatten(three, strlen(three), &s), 0);
  ck_assert_int_eq(c.values, 2);
  memset(&c, 0, sizeof(c));
  c.fail_after = 1;
  ck_assert_int_eq(qw_jsonld_flatten(three, strlen(three), &s), -ENOMEM);
  ck_assert_int_eq(c.values, 1);
}
END_TEST

START_TEST(test_fixture)
{
  size_t len;
  char *json = qw_test_read(qw_test_fixture("html/jsonld-medical.json"),
                            &len);
  sink_ctx c;
  memset(&c, 0, sizeof(c));
  qw_jsonld_sink s = {on_value, on_type, &c};
  ck_assert_int_eq(qw_jsonld_flatten(json, len, &s), 0);
  ck_assert_ptr_nonnull(strstr(c.out, "@+Product\n"));
  ck_assert_ptr_nonnull(strstr(c.out,
    "Product.additionalProperty.value=国械注准20213070456\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "Product.offers.seller.name="
                                      "康诺医疗器械旗舰店\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "Product.aggregateRating.ratingValue="
                                      "4.8\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "@+Organization\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "Organization.contactPoint.telephone="
                                      "400-100-2000\n"));
  ck_assert_ptr_nonnull(strstr(c.out, "@-AggregateRating\n"));
  free(json);
}
END_TEST

/* ===== embedded state ===== */

START_TEST(test_find_state)
{
  const char *js =
    "var a = 1; x.__INIT_DATA__ == y; my__INIT_DATA__ = {};\n"
    "window.__INIT_DATA__ = {\"title\":\"一\"};\n"
    "window[\"__INITIAL_STATE__\"] = {};\n"
    "var g_config={title:'二'}; pageConfig = [1];\n"
    "window.runParams = JSON.parse('{}'); window.__NEXT_DATA__ = 5;";
  size_t len = strlen(js), from = 0, start, resume;
  const char *want[] = {"{\"title\":\"一\"}", "{title:'二'}", "[1]",
                        "JSON.parse('{}')"};
  int n = 0;
  while(qw_jsonld_find_state(js, len, from, &start, &resume)) {
    ck_assert_int_lt(n, 4);
    ck_assert(!strncmp(js + start, want[n], strlen(want[n])));
    ck_assert_uint_gt(resume, from);
    from = resume;
    n++;
  }
  ck_assert_int_eq(n, 4);
  ck_assert_int_eq(qw_jsonld_find_state("", 0, 0, &start, &resume), 0);
  ck_assert_int_eq(qw_jsonld_find_state("g_config", 8, 0, &start, &resume),
                   0);
  ck_assert_int_eq(qw_jsonld_find_state("g_config=", 9, 0, &start, &resume),
                   0);
}
END_TEST

START_TEST(test_state_keys)
{
  sink_ctx c;
  const char *js =
    "{\"itemId\": 88, item: {'title': '康诺 血压计', subTitle: `上臂式`,"
    " name: \"KN-101\", price: 199.0, skus: [{skuName: \"标准版\"}],"
    " /* comment */ desc: \"说明\\u4e66\", // line comment\n"
    " fn: function () { return {title: 'x', a: [1, 2]}; },"
    " when: new Date(2024, 1, 1), re: /ab+c/, flag: !0,"
    " props: [{name: '注册证编号', value: '国械注准20213070456'},"
    "         {label: '产地', val: '杭州'}, {name: '只有名字'}, '抗菌款'],"
    " 'attrs': {'propName': '材质', 'propValue': 'ABS'},"
    " seller: {name: '康诺旗舰店', phone: '400'}, user: {name: '张三'},},"
    " TITLE: 'upper', notes: ['根治'], 'a.b': {title: '点'}}";
  ck_assert_int_eq(state(&c, js, strlen(js)), 0);
  ck_assert_str_eq(c.out,
    "State.item.title=康诺 血压计\n"
    "State.item.subTitle=上臂式\n"
    "State.item.name=KN-101\n"
    "State.item.skus.skuName=标准版\n"
    "State.item.desc=说明书\n"
    "State.item.props=注册证编号: 国械注准20213070456\n"
    "State.item.props=产地: 杭州\n"
    "State.item.props=抗菌款\n"
    "State.item.attrs=材质: ABS\n"
    "State.item.seller.name=康诺旗舰店\n"
    "State.TITLE=upper\n");
}
END_TEST

START_TEST(test_state_escapes)
{
  sink_ctx c;
  /* \x, \u{…}, surrogate pairs, lone surrogates, NULs, invalid bytes (one
   * U+FFFD each, as qw_utf8_next() does) */
  const char js[] = "{title: \"\\x41\\u{6839}\\ud83d\\ude00\\udc00\\0x"
                    "\xFF\xE6\x9C\x0A\\\"\\\\\\/\\q\\\xE6\xB2\xBB\"}";
  ck_assert_int_eq(state(&c, js, sizeof(js) - 1), 0);
  ck_assert_str_eq(c.out,
    "State.title=A根\xF0\x9F\x98\x80\xEF\xBF\xBDx"
    "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\n"
    "\"\\/q治\n");

  /* JSON.parse("…") holding the state as a string */
  const char *jp = "JSON.parse(\"{\\\"goods\\\":{\\\"goodsName\\\":"
                   "\\\"\\\\u53e3\\\\u7f69\\\"}}\")";
  ck_assert_int_eq(state(&c, jp, strlen(jp)), 0);
  ck_assert_str_eq(c.out, "State.goods.goodsName=口罩\n");
}
END_TEST

START_TEST(test_state_broken)
{
  sink_ctx c;
  /* what was read before the break stands */
  const char *cut = "{title: '一', brand: '二', desc: '没有结";
  ck_assert_int_eq(state(&c, cut, strlen(cut)), 0);
  ck_assert_str_eq(c.out, "State.title=一\nState.brand=二\n");
  const char *bad[] = {"", "x", "{", "[", "{]", "{title 'x'}", "{:1}",
                       "{title: }", "{[k]: 1, title: 'x'}", "}}}}", "[,,,]",
                       "{a: {b: {c: [[[[[[", "{'", "{title: 'x'", NULL};
  for(int i = 0; bad[i]; i++)
    ck_assert_int_eq(state(&c, bad[i], strlen(bad[i])), 0);
  /* an identifier of stray bytes names nothing */
  const char *stray = "{it\xB5" "em: {title: 'x'}, brand: 'b'}";
  ck_assert_int_eq(state(&c, stray, strlen(stray)), 0);
  ck_assert_str_eq(c.out, "State.brand=b\n");
  /* stops at the end of the literal */
  const char *two = "{title: '一'}; var x = {title: '二'};";
  ck_assert_int_eq(state(&c, two, strlen(two)), 0);
  ck_assert_str_eq(c.out, "State.title=一\n");

  /* nesting deeper than the scanner keeps is skipped, not followed */
  char deep[8192];
  size_t k = 0;
  k += (size_t)sprintf(deep, "{title: 'top', a: ");
  for(int i = 0; i < 2000; i++)
    deep[k++] = '[';
  k += (size_t)sprintf(deep + k, "{title: 'deep'}");
  for(int i = 0; i < 2000; i++)
    deep[k++] = ']';
  k += (size_t)sprintf(deep + k, ", brand: 'after'}");
  ck_assert_int_eq(state(&c, deep, k), 0);
  ck_assert_str_eq(c.out, "State.title=top\nState.brand=after\n");

  /* a sink that stops or fails */
  memset(&c, 0, sizeof(c));
  c.stop_after = 1;
  qw_jsonld_sink s = {on_value, NULL, &c};
  const char *three = "{title: '1', brand: '2', model: '3'}";
  ck_assert_int_eq(qw_jsonld_state(three, strlen(three), &s), 0);
  ck_assert_int_eq(c.values, 1);
  memset(&c, 0, sizeof(c));
  c.fail_after = 2;
  ck_assert_int_eq(qw_jsonld_state(three, strlen(three), &s), -ENOMEM);
}
END_TEST

START_TEST(test_state_scripts)
{
  sink_ctx c;
  ck_assert_int_eq(script(&c,
    "(function(){ var g_config = {title: \"康诺 制氧机\", shopName: '康诺'};"
    " window.__INIT_DATA__={\"sku\":[{\"title\":\"5L\",\"note\":\"根治\"},"
    "{\"title\":\"3L\"}]}; })();"), 2);
  ck_assert_str_eq(c.out,
    "State.title=康诺 制氧机\nState.shopName=康诺\n"
    "State.sku.title=5L\nState.sku.title=3L\n");
  ck_assert_int_eq(script(&c, "var a = {title: 'not state'};"), 0);
  ck_assert_int_eq(c.values, 0);
}
END_TEST

START_TEST(test_utf8_prefix)
{
  /* qw__utf8_prefix agrees with qw_utf8_valid on random strings, biased
   * toward UTF-8 lead and continuation bytes */
  static const unsigned char pool[] = {
    'a', ' ', 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
    0xE6, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F, 0xA0, 0x8F,
    0x90};
  uint32_t x = 12345;
  char buf[64];
  int bad = 0; /* counted, not asserted each time: Check's asserts are
                  slow in a loop this long */
  for(int round = 0; round < 200000; round++) {
    size_t n = (size_t)(round % 40);
    for(size_t i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[i] = (char)pool[x % sizeof(pool)];
    }
    size_t k = qw__utf8_prefix(buf, n);
    int nul = memchr(buf, 0, n) != NULL;
    if(k > n || (k == n) != (qw_utf8_valid(buf, n) && !nul) ||
       !qw_utf8_valid(buf, k) || memchr(buf, 0, k))
      bad++;
    else if(k < n) {
      /* the next code point is not valid: extending by it fails */
      size_t j = k;
      uint32_t cp = qw_utf8_next(buf, n, &j);
      if(!(buf[k] == 0 || cp == 0xFFFD || !qw_utf8_valid(buf, j)))
        bad++;
    }
  }
  ck_assert_int_eq(bad, 0);
  ck_assert_uint_eq(qw__utf8_prefix("\xE6\xA0\xB9\xE6\xB2\xBB", 6), 6);
  ck_assert_uint_eq(qw__utf8_prefix("ab\xED\xA0\x80", 5), 2);
  ck_assert_uint_eq(qw__utf8_prefix("abcdefghij\0k", 12), 10);
}
END_TEST

static Suite *jsonld_suite(void)
{
  Suite *s = suite_create("jsonld");
  TCase *tc = tcase_create("jsonld");
  tcase_add_test(tc, test_product_offer);
  tcase_add_test(tc, test_graph_and_arrays);
  tcase_add_test(tc, test_wrappers_and_escapes);
  tcase_add_test(tc, test_keys);
  tcase_add_test(tc, test_invalid);
  tcase_add_test(tc, test_caps);
  tcase_add_test(tc, test_fixture);
  tcase_add_test(tc, test_utf8_prefix);
  suite_add_tcase(s, tc);
  TCase *st = tcase_create("state");
  tcase_add_test(st, test_find_state);
  tcase_add_test(st, test_state_keys);
  tcase_add_test(st, test_state_escapes);
  tcase_add_test(st, test_state_broken);
  tcase_add_test(st, test_state_scripts);
  suite_add_tcase(s, st);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(jsonld_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
