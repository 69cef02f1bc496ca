/* test_page.c — the page model: block texts, traps the visible text must
 * not see, parameter tables, JSON-LD and embedded state, OpenGraph, links,
 * malformed and hostile HTML (bounded time, no crash). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <sys/stat.h>

#include "page.h"
#include "page_diff.h"
#include "qw_test.h"
#include "rawtext.h"
#include "utf8.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* ===== helpers ===== */

void qw__page_no_strip(int on); /* page.c test hook */

/* Structural promises of page.h, checked on every page a test makes. */
static void check_text(const char *what, const char *t, size_t len)
{
  ck_assert_msg(t != NULL, "%s: NULL", what);
  ck_assert_msg(strlen(t) == len, "%s: length %zu, strlen %zu", what, len,
                strlen(t));
  ck_assert_msg(qw_utf8_valid(t, len), "%s: invalid UTF-8", what);
}

static void check_page(const qw_page *p)
{
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    const char *t = p->field[f].text;
    size_t n = p->field[f].len;
    check_text(qw_field_name(f), t, n);
    if(!n)
      continue;
    ck_assert_msg(t[0] != '\n' && t[n - 1] != '\n', "%s: edge newline",
                  qw_field_name(f));
    ck_assert_msg(!strstr(t, "\n\n"), "%s: empty block", qw_field_name(f));
    ck_assert_msg(t[0] != ' ' && t[n - 1] != ' ', "%s: untrimmed",
                  qw_field_name(f));
    ck_assert_msg(!strstr(t, " \n") && !strstr(t, "\n "),
                  "%s: untrimmed block", qw_field_name(f));
    ck_assert_msg(!strstr(t, "  ") && !strchr(t, '\t') && !strchr(t, '\r'),
                  "%s: white space not collapsed", qw_field_name(f));
  }
  const qw_kv *lists[] = {p->params, p->og, p->jsonld};
  size_t counts[] = {p->n_params, p->n_og, p->n_jsonld};
  for(int l = 0; l < 3; l++) {
    for(size_t i = 0; i < counts[l]; i++) {
      check_text("key", lists[l][i].key, strlen(lists[l][i].key));
      check_text("value", lists[l][i].value, strlen(lists[l][i].value));
      ck_assert(lists[l][i].key[0] && lists[l][i].value[0]);
      ck_assert(!strchr(lists[l][i].value, '\n'));
    }
  }
  const char *strs[] = {p->url, p->base_url, p->title, p->h1,
                        p->meta_description, p->meta_keywords, p->lang};
  for(int i = 0; i < 7; i++)
    check_text("string", strs[i], strlen(strs[i]));
  for(size_t i = 0; i < p->n_links; i++)
    ck_assert(!strncmp(p->links[i], "http", 4) && !strchr(p->links[i], '#'));
}

static qw_page *parse_opt(const char *html, size_t len, const char *url,
                          const qw_page_options *o)
{
  qw_page *p = NULL;
  char err[128] = "";
  int r = qw_page_parse(html, len, url, o, &p, err, sizeof(err));
  ck_assert_msg(r == 0, "qw_page_parse: %d (%s)", r, err);
  ck_assert_ptr_nonnull(p);
  check_page(p);
  return p;
}

static qw_page *parse(const char *html, const char *url)
{
  return parse_opt(html, strlen(html), url, NULL);
}

static qw_page *parse_fixture(const char *name, const char *url)
{
  size_t len;
  char *html = qw_test_read(qw_test_fixture(name), &len);
  qw_page *p = parse_opt(html, len, url, NULL);
  free(html); /* the page must not point into the input */
  return p;
}

static const char *field(const qw_page *p, qw_field f)
{
  return p->field[f].text;
}

/* 1 when one block of the field is exactly s. */
static int has_block(const qw_page *p, qw_field f, const char *s)
{
  const char *t = field(p, f);
  size_t n = strlen(s);
  while(*t) {
    const char *e = strchr(t, '\n');
    size_t bl = e ? (size_t)(e - t) : strlen(t);
    if(bl == n && !memcmp(t, s, n))
      return 1;
    if(!e)
      break;
    t = e + 1;
  }
  return 0;
}

static const char *param(const qw_page *p, const char *key)
{
  for(size_t i = 0; i < p->n_params; i++) {
    if(!strcmp(p->params[i].key, key))
      return p->params[i].value;
  }
  return NULL;
}

static int has_kv(const qw_kv *kv, size_t n, const char *k, const char *v)
{
  for(size_t i = 0; i < n; i++) {
    if(!strcmp(kv[i].key, k) && !strcmp(kv[i].value, v))
      return 1;
  }
  return 0;
}

static int has_str(const char *const *list, size_t n, const char *s)
{
  for(size_t i = 0; i < n; i++) {
    if(!strcmp(list[i], s))
      return 1;
  }
  return 0;
}

/* CPU seconds of this process: a busy machine does not make a bounded
 * parse look unbounded. */
static double cpu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bound for one pathological page: 2 s, more under the sanitizers. */
#if defined(__SANITIZE_ADDRESS__)
#define BOMB_SECONDS 6.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOMB_SECONDS 6.0
#endif
#endif
#ifndef BOMB_SECONDS
#define BOMB_SECONDS 2.0
#endif

/* pre + unit×n (unit may hold one %d, the repetition number) + post */
static char *repeat(const char *pre, const char *unit, int n, const char *post,
                    size_t *len)
{
  size_t cap = strlen(pre) + strlen(post) + (strlen(unit) + 12) * (size_t)n;
  char *b = malloc(cap + 1);
  ck_assert_ptr_nonnull(b);
  size_t k = (size_t)snprintf(b, cap + 1, "%s", pre);
  for(int i = 0; i < n; i++) {
    for(const char *u = unit; *u; u++) {
      if(u[0] == '%' && u[1] == 'd') {
        k += (size_t)snprintf(b + k, cap + 1 - k, "%d", i);
        u++;
      }
      else
        b[k++] = *u;
    }
  }
  k += (size_t)snprintf(b + k, cap + 1 - k, "%s", post);
  *len = k;
  return b;
}

#define PRODUCT_URL "https://item.yx.example/item/88123.html"

/* ===== the realistic product page ===== */

START_TEST(test_product_head)
{
  qw_page *p = parse_fixture("html/product.html", PRODUCT_URL);
  ck_assert_str_eq(p->url, PRODUCT_URL);
  ck_assert_str_eq(p->title,
                   "澜悦 清透硅水凝胶月抛隐形眼镜 6片装 - 澜悦眼镜旗舰店 - "
                   "优选商城");
  ck_assert_str_eq(field(p, QW_FIELD_TITLE), p->title);
  /* &nbsp; is kept as U+00A0 */
  ck_assert_str_eq(p->h1, "澜悦 清透硅水凝胶月抛隐形眼镜\xC2\xA0" "6片装");
  ck_assert_str_eq(p->meta_description,
                   "澜悦清透月抛隐形眼镜，高透氧硅水凝胶材质， 长效保湿。");
  ck_assert_str_eq(p->meta_keywords, "隐形眼镜,月抛,硅水凝胶,澜悦");
  ck_assert(has_block(p, QW_FIELD_META, p->meta_description));
  ck_assert(has_block(p, QW_FIELD_META, p->meta_keywords));
  ck_assert_str_eq(p->lang, "zh-CN");
  /* <base> is resolved against the page URL and used for everything,
   * including the canonical link that comes before it */
  ck_assert_str_eq(p->base_url, "https://shop.yx.example/lanyue/");
  ck_assert_ptr_nonnull(p->canonical);
  ck_assert_str_eq(p->canonical,
                   "https://shop.yx.example/item/88123.html?spm=a1.detail");
  ck_assert_str_eq(field(p, QW_FIELD_HEADING),
                   "澜悦 清透硅水凝胶月抛隐形眼镜\xC2\xA0" "6片装\n"
                   "商品参数\n商品详情\n累计评价");
  ck_assert_int_eq(p->type_hint, QW_PAGE_PRODUCT);
  ck_assert(!p->truncated);
  ck_assert_uint_gt(p->n_elements, 50);
  ck_assert_uint_gt(p->input_bytes, 4000);
  qw_page_free(p);
}
END_TEST

START_TEST(test_product_body_traps)
{
  qw_page *p = parse_fixture("html/product.html", PRODUCT_URL);
  const char *body = field(p, QW_FIELD_BODY);
  /* claims planted in style, script, JSON state, comment, noscript,
   * template and hidden input are not text; text in elements hidden by
   * style or the hidden attribute is (shops hide tab panels that way) */
  ck_assert_ptr_null(strstr(body, "根治近视"));
  ck_assert_ptr_nonnull(strstr(body, "隐藏文字：永不复发"));
  ck_assert_ptr_null(strstr(body, "永不反弹"));
  ck_assert_ptr_null(strstr(body, "模板文字"));
  ck_assert_ptr_null(strstr(body, "请开启脚本"));
  ck_assert_ptr_null(strstr(body, "旧版文案"));
  ck_assert_ptr_null(strstr(body, "margin"));
  ck_assert_ptr_null(strstr(body, "token"));
  /* the head is not body text */
  ck_assert_ptr_null(strstr(body, "优选商城\n"));
  ck_assert_ptr_null(strstr(body, "6片装 - 澜悦"));
  /* inline elements join, blocks do not */
  ck_assert(has_block(p, QW_FIELD_BODY,
                      "根治干眼？本品不能根治任何眼部疾病。"));
  ck_assert(has_block(p, QW_FIELD_BODY,
                      "高透氧硅水凝胶材质，长时间佩戴也舒适。"));
  ck_assert_ptr_null(strstr(body, "舒适。根"));
  /* character references */
  ck_assert(has_block(p, QW_FIELD_BODY,
                      "本品为第三类医疗器械，注册证编号国械注准20203160456 & "
                      "请仔细阅读说明书根治"));
  ck_assert(has_block(p, QW_FIELD_BODY, "首页 > 隐形眼镜 > 月抛"));
  ck_assert(has_block(p, QW_FIELD_BODY, "© 2024 澜悦眼镜旗舰店"));
  /* table cells are blocks, textarea text is visible */
  ck_assert(has_block(p, QW_FIELD_BODY, "国械注准20203160456"));
  ck_assert(has_block(p, QW_FIELD_BODY, "留言内容"));
  ck_assert(has_block(p, QW_FIELD_BODY, "优选商城首页 请登录 收藏本店"));
  /* alt and title texts go to ALT, not BODY */
  ck_assert_str_eq(field(p, QW_FIELD_ALT),
                   "澜悦清透月抛 主图\n佩戴效果图\n高透氧 舒适一整天\n"
                   "立即购买");
  ck_assert_ptr_null(strstr(body, "主图"));
  qw_page_free(p);
}
END_TEST

START_TEST(test_product_params)
{
  qw_page *p = parse_fixture("html/product.html", PRODUCT_URL);
  static const char *const want[][2] = {
    {"产品名称", "硅水凝胶软性亲水接触镜"},
    {"注册证编号", "国械注准20203160456"},
    {"品牌", "澜悦"},
    {"型号", "清透月抛"},
    {"生产许可证", "粤食药监械生产许20150012号"},
    {"注意", "请在眼视光专业人士指导下验配"},
    {"含水量", "48%"},
    {"直径", "14.2mm"},
    {"基弧", "8.6mm"},
    {"包装", "6片/盒"},
    {"配件备案编号", "粤穗械备20200123号"},
    {"隐藏文字", "永不复发"},
    {"医疗器械经营许可证", "粤穗食药监械经营许20180345号"},
    {"客服电话", "400-800-1234 服务时间 9:00-21:00"},
  };
  size_t n = sizeof(want) / sizeof(want[0]);
  ck_assert_uint_eq(p->n_params, n);
  for(size_t i = 0; i < n; i++) {
    ck_assert_str_eq(p->params[i].key, want[i][0]);
    ck_assert_str_eq(p->params[i].value, want[i][1]);
  }
  ck_assert(has_block(p, QW_FIELD_PARAMS, "注册证编号: 国械注准20203160456"));
  ck_assert(has_block(p, QW_FIELD_PARAMS, "直径: 14.2mm"));
  /* hidden text counts as text, so a hidden "key：value" is a parameter */
  ck_assert_ptr_nonnull(param(p, "隐藏文字"));
  /* parameter text stays in BODY too */
  ck_assert(has_block(p, QW_FIELD_BODY, "基弧：8.6mm"));
  qw_page_free(p);
}
END_TEST

START_TEST(test_product_jsonld_og)
{
  qw_page *p = parse_fixture("html/product.html", PRODUCT_URL);
  const qw_kv *j = p->jsonld;
  size_t n = p->n_jsonld;
  ck_assert(has_kv(j, n, "Product.name",
                   "澜悦 清透硅水凝胶月抛隐形眼镜 6片装"));
  ck_assert(has_kv(j, n, "Product.brand.name", "澜悦"));
  ck_assert(has_kv(j, n, "Product.offers.price", "129.00"));
  ck_assert(has_kv(j, n, "Product.image",
                   "https://img.yx.example/item/88123/1.jpg"));
  ck_assert(has_kv(j, n, "Product.image",
                   "https://img.yx.example/item/88123/2.jpg"));
  ck_assert(has_kv(j, n, "Product.additionalProperty.value",
                   "国械注准20203160456"));
  ck_assert(has_kv(j, n, "Organization.name", "广州澜悦视光科技有限公司"));
  /* embedded state: product keys and name/value property lists only */
  ck_assert(has_kv(j, n, "State.item.title", "澜悦 清透月抛 6片装"));
  ck_assert(has_kv(j, n, "State.item.props",
                   "注册证编号: 国械注准20203160456"));
  ck_assert(has_kv(j, n, "State.item.props", "含水量: 48%"));
  for(size_t i = 0; i < n; i++) {
    ck_assert_ptr_null(strstr(j[i].value, "根治"));
    ck_assert_ptr_null(strstr(j[i].key, "@"));
  }
  ck_assert(has_block(p, QW_FIELD_JSONLD, "Product.offers.priceCurrency: CNY"));
  ck_assert(has_block(p, QW_FIELD_JSONLD, "State.item.props: 含水量: 48%"));
  const char *const *t = p->jsonld_types;
  ck_assert(has_str(t, p->n_jsonld_types, "Product"));
  ck_assert(has_str(t, p->n_jsonld_types, "Offer"));
  ck_assert(has_str(t, p->n_jsonld_types, "Organization"));
  ck_assert(has_str(t, p->n_jsonld_types, "Brand"));
  ck_assert_uint_eq(p->n_jsonld_types, 5);

  ck_assert_uint_eq(p->n_og, 5);
  ck_assert(has_kv(p->og, p->n_og, "og:type", "product"));
  ck_assert(has_kv(p->og, p->n_og, "product:price:amount", "129.00"));
  ck_assert(has_block(p, QW_FIELD_OG,
                      "og:title: 澜悦 清透硅水凝胶月抛隐形眼镜 6片装"));
  qw_page_free(p);
}
END_TEST

START_TEST(test_product_links)
{
  qw_page *p = parse_fixture("html/product.html", PRODUCT_URL);
  static const char *const links[] = {
    "https://www.yx.example/",           /* protocol-relative */
    "https://shop.yx.example/login?from=item",
    "https://shop.yx.example/",           /* ../ against <base> */
    "https://shop.yx.example/cat/lens",
    "https://shop.yx.example/lanyue/about.html", /* twice, once with #team */
    "https://shop.yx.example/lanyue/",    /* #top */
  };
  ck_assert_uint_eq(p->n_links, 6);
  for(size_t i = 0; i < 6; i++)
    ck_assert_str_eq(p->links[i], links[i]);
  /* lazy-load attributes win over the placeholder src */
  ck_assert_uint_eq(p->n_images, 3);
  ck_assert_str_eq(p->images[0],
                   "https://shop.yx.example/lanyue/img/88123/1.jpg");
  ck_assert_str_eq(p->images[1],
                   "https://shop.yx.example/lanyue/img/88123/2.jpg");
  ck_assert_str_eq(p->images[2],
                   "https://shop.yx.example/lanyue/img/88123/3.jpg");
  qw_page_free(p);
}
END_TEST

/* ===== blocks and text ===== */

START_TEST(test_blocks)
{
  qw_page *p = parse("<html><head><title> 标题\n  文字 </title></head><body>"
                     "<p>第一段</p><p>第二段</p>"
                     "<div>根<b>治</b><span>效</span><a href=x>果</a></div>"
                     "<div>  前后  空白\t\n 收拢  </div>"
                     "<div><div></div><p> </p>   </div>"
                     "行一<br>行二<br><br>行三"
                     "<ul><li>甲</li><li>乙</li></ul>"
                     "<table><tr><td>单元一</td><td>单元二</td></tr></table>"
                     "<h4>四级标题</h4><select><option>选项一<option>选项二"
                     "</select><p>a<wbr>b</p>"
                     "</body></html>", "");
  ck_assert_str_eq(p->title, "标题 文字");
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "第一段\n第二段\n根治效果\n前后 空白 收拢\n行一\n行二\n"
                   "行三\n"
                   "甲\n乙\n单元一\n单元二\n四级标题\n选项一\n选项二\nab");
  /* h4 is body text, not a heading */
  ck_assert_str_eq(field(p, QW_FIELD_HEADING), "");
  ck_assert_str_eq(p->h1, "");
  qw_page_free(p);
}
END_TEST

START_TEST(test_entities)
{
  qw_page *p = parse("<p>&nbsp;&#26681;&#x6CBB;&amp;&lt;b&gt;&quot;&copy;"
                     "&amp&zz;&#0;&#xD800;</p>"
                     "<img alt=\"&#x6CBB;&amp;愈\" src=a.png>", "");
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "\xC2\xA0根治&<b>\"©&&zz;\xEF\xBF\xBD\xEF\xBF\xBD");
  ck_assert_str_eq(field(p, QW_FIELD_ALT), "治&愈");
  qw_page_free(p);
  /* Gumbo 0.10.1 turns numeric references too big for an int into stray
   * bytes (found by fuzz_page): they come out as U+FFFD */
  p = parse("<p>x&#x6CBBaaaaaaaaaaaaaaaaaaaaaaaaaaa;y&#99999999999999999999;z"
            "</p><img alt=\"&#x6CBBaaaaaaaaaaaaaaaaaaaaaaaaalt;\" src=a.png>",
            "");
  ck_assert_str_eq(field(p, QW_FIELD_BODY), "x\xEF\xBF\xBDy\xEF\xBF\xBDz");
  ck_assert_str_eq(field(p, QW_FIELD_ALT), "\xEF\xBF\xBD" "lt;");
  qw_page_free(p);
}
END_TEST

START_TEST(test_body_joined)
{
  /* the peer benchmark's visible text: blocks run together, except where
   * the document had white space between them */
  qw_page *p = parse("<body><ul><li>首页</li><li>分类</li></ul>\n"
                     "<p>根</p>\n  <p>治</p><p>愈</p>"
                     "<div>a <b>b</b> c</div>&nbsp;<div>d</div>"
                     "<script>var x = '不计入';</script><p>尾</p></body>",
                     "");
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "首页\n分类\n根\n治\n愈\na b c\n\xC2\xA0\nd\n尾");
  size_t n;
  const char *j = qw_page_body_joined(p, &n);
  ck_assert_str_eq(j, "首页分类 根 治愈a b c\xC2\xA0" "d尾");
  ck_assert_uint_eq(n, strlen(j));
  ck_assert_ptr_eq(qw_page_body_joined(p, NULL), j); /* cached */
  qw_page_free(p);
}
END_TEST

START_TEST(test_hidden)
{
  qw_page *p = parse("<body><p>可见</p><div hidden><p>藏一</p></div>"
                     "<p style='display:none'>藏二</p>"
                     "<p style=\"visibility: hidden\">藏三</p>"
                     "<p style=\"display:none-ish;color:red\">显示</p>"
                     "<span style='display: inline'>也可见</span>"
                     "<div hidden><a href=/h>隐藏链接</a>"
                     "<img src=/h.png alt=隐图></div></body>",
                     "http://a.example/");
  /* hidden text is kept (HIDE_HIDDEN 0 in page.c): tab panels */
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "可见\n藏一\n藏二\n藏三\n显示\n也可见\n隐藏链接");
  ck_assert_str_eq(field(p, QW_FIELD_ALT), "隐图");
  /* links and images under hidden elements are still links */
  ck_assert_uint_eq(p->n_links, 1);
  ck_assert_str_eq(p->links[0], "http://a.example/h");
  ck_assert_uint_eq(p->n_images, 1);
  qw_page_free(p);
}
END_TEST

/* ===== parameters ===== */

START_TEST(test_params_shapes)
{
  qw_page *p = parse(
    "<body>"
    "<dl><dt>产品名称</dt><dd>电子血压计</dd><dt>型号、规格：</dt>"
    "<dd>KN-101</dd><dd>KN-102</dd></dl>"
    "<ul><li>注册证编号：国械注准20213070123</li>"
    "<li><b>执行标准:</b> GB 9706.1</li></ul>"
    "<p><span>材质：ABS</span> <span>颜色：白</span></p>"
    "<p>营业时间 9:00-18:00</p>"
    "<p>官网：https://kn.example.com</p>"
    "<p>详见 http://kn.example.com/a</p>"
    "<p>如有问题请联系客服，我们的电话是：400-100</p>"
    "<p>说明：" /* a long sentence is no parameter value */
    "本产品适用于家庭日常血压测量，测量结果仅供参考，不能替代医生诊断，"
    "如有不适请及时就医，本产品适用于家庭日常血压测量，测量结果仅供参考，"
    "不能替代医生诊断，如有不适请及时就医。</p>"
    "<p>12:30</p>"
    "<table><tr><td>外层</td><td><table><tr><th>内层键</th><td>内层值</td>"
    "</tr></table></td></tr>"
    "<tr><td>品牌：甲</td><td>型号：乙</td></tr>"
    "<tr><td>一</td><td>二</td><td>三</td></tr></table>"
    "<div>生产企业：<a href=#>康诺医疗</a></div>"
    "</body>", "");
  ck_assert_str_eq(param(p, "产品名称"), "电子血压计");
  ck_assert_str_eq(param(p, "型号、规格"), "KN-101");
  ck_assert_str_eq(param(p, "注册证编号"), "国械注准20213070123");
  ck_assert_str_eq(param(p, "执行标准"), "GB 9706.1");
  ck_assert_str_eq(param(p, "材质"), "ABS");
  ck_assert_str_eq(param(p, "颜色"), "白");
  ck_assert_str_eq(param(p, "内层键"), "内层值");
  ck_assert_str_eq(param(p, "品牌"), "甲");
  ck_assert_str_eq(param(p, "型号"), "乙");
  ck_assert_str_eq(param(p, "生产企业"), "康诺医疗");
  ck_assert_ptr_null(param(p, "外层"));   /* holds a table of its own */
  ck_assert_ptr_null(param(p, "营业时间 9"));
  ck_assert_str_eq(param(p, "官网"), "https://kn.example.com");
  ck_assert_ptr_null(param(p, "详见 http"));
  ck_assert_ptr_null(param(p, "说明"));
  ck_assert_ptr_null(param(p, "12"));
  ck_assert_ptr_null(param(p, "一"));
  ck_assert_ptr_null(param(p, "品牌：甲"));
  for(size_t i = 0; i < p->n_params; i++)
    ck_assert_ptr_null(strstr(p->params[i].key, "联系"));
  /* the second dd of one dt pairs with the same name */
  size_t models = 0;
  for(size_t i = 0; i < p->n_params; i++)
    models += !strcmp(p->params[i].key, "型号、规格");
  ck_assert_uint_eq(models, 2);
  ck_assert_uint_eq(p->n_params, 12);
  qw_page_free(p);
}
END_TEST

/* ===== JSON-LD on pages ===== */

START_TEST(test_jsonld_page)
{
  qw_page *p = parse(
    "<head><script type=\"application/ld+json\">{\"@type\": \"Product\", "
    "\"name\": \"坏的\", }</script>"
    "<script type='Application/LD+JSON; charset=utf-8'>[{\"@type\":"
    "\"http://schema.org/Organization\",\"name\":\"康诺\\n医疗\","
    "\"address\":{\"@type\":\"PostalAddress\",\"addressLocality\":\"杭州\"}},"
    "{\"@type\":[\"ItemList\"],\"itemListElement\":[{\"@type\":\"Product\","
    "\"name\":\"列表商品\",\"offers\":{\"price\":19.9}}]}]</script>"
    "<script type=\"application/ld+json\"></script>"
    "<script type=\"application/ld+json\">\"scalar\"</script>"
    "<script type=\"text/template\">{\"title\":\"模板\"}</script>"
    "</head><body><p>正文</p></body>", "");
  const qw_kv *j = p->jsonld;
  size_t n = p->n_jsonld;
  ck_assert(has_kv(j, n, "Organization.name", "康诺 医疗"));
  ck_assert(has_kv(j, n, "Organization.address.addressLocality", "杭州"));
  ck_assert(has_kv(j, n, "ItemList.itemListElement.name", "列表商品"));
  ck_assert(has_kv(j, n, "ItemList.itemListElement.offers.price", "19.9"));
  ck_assert_uint_eq(n, 4);
  /* a Product inside an ItemList does not make a product page */
  ck_assert_int_eq(p->type_hint, QW_PAGE_UNKNOWN);
  ck_assert(has_str(p->jsonld_types, p->n_jsonld_types, "Product"));
  ck_assert(has_str(p->jsonld_types, p->n_jsonld_types, "PostalAddress"));
  ck_assert_str_eq(field(p, QW_FIELD_BODY), "正文");
  qw_page_free(p);
}
END_TEST

START_TEST(test_state_page)
{
  qw_page *p = parse(
    "<script>var g_config = {appId: 12, itemId: \"88\", title: '康诺 血压计',"
    " toggle: {rec: true}, fn: function(a){ return {title: 'x'}; }};\n"
    "window.__INITIAL_STATE__=JSON.parse(\"{\\\"goods\\\":{\\\"goodsName\\\":"
    "\\\"医用口罩\\\",\\\"name\\\":\\\"口罩50只\\\"},"
    "\\\"user\\\":{\\\"name\\\":"
    "\\\"张三\\\"}}\");\n"
    "if(a.__INIT_DATA__ == b) {}</script>"
    "<script type=application/json id=__NEXT_DATA__>{\"props\":{\"pageProps\":"
    "{\"product\":{\"title\":\"下一页商品\"}}}}</script><p>x</p>", "");
  const qw_kv *j = p->jsonld;
  size_t n = p->n_jsonld;
  ck_assert(has_kv(j, n, "State.title", "康诺 血压计"));
  ck_assert(has_kv(j, n, "State.goods.goodsName", "医用口罩"));
  ck_assert(has_kv(j, n, "State.goods.name", "口罩50只"));
  ck_assert(has_kv(j, n, "State.props.pageProps.product.title", "下一页商品"));
  for(size_t i = 0; i < n; i++)
    ck_assert_str_ne(j[i].value, "张三"); /* a user's name is no product */
  ck_assert_uint_eq(n, 4);
  qw_page_free(p);
}
END_TEST

/* ===== page types ===== */

START_TEST(test_storefront)
{
  qw_page *p = parse_fixture("html/storefront.html",
                             "https://shop.yx.example/kangnuo/");
  ck_assert_int_eq(p->type_hint, QW_PAGE_STOREFRONT);
  ck_assert_str_eq(param(p, "医疗器械经营许可证"),
                   "浙杭食药监械经营许20170456号");
  ck_assert_str_eq(param(p, "第二类医疗器械经营备案凭证"),
                   "浙杭食药监械经营备20170789号");
  ck_assert_uint_eq(p->n_links, 3);
  ck_assert_str_eq(p->links[0], "https://shop.yx.example/item/2001.html");
  qw_page_free(p);

  /* many product links and no parameters: a shop's home page */
  size_t len;
  char *html = repeat("<title>康诺</title><ul>",
                      "<li><a href=\"/item/%d.html\">商品</a></li>", 25,
                      "</ul>", &len);
  p = parse_opt(html, len, "https://shop.yx.example/", NULL);
  ck_assert_int_eq(p->type_hint, QW_PAGE_STOREFRONT);
  ck_assert_uint_eq(p->n_links, 25);
  qw_page_free(p);
  free(html);

  /* fewer of them, or a parameter table: not */
  html = repeat("<title>康诺</title><ul>",
                "<li><a href=\"/item/%d.html\">商品</a></li>", 25,
                "</ul><p>注册证编号：国械注准20213070123</p>", &len);
  p = parse_opt(html, len, "https://shop.yx.example/", NULL);
  ck_assert_int_eq(p->type_hint, QW_PAGE_UNKNOWN);
  qw_page_free(p);
  free(html);

  p = parse("<title>康诺官方网站</title>", "");
  ck_assert_int_eq(p->type_hint, QW_PAGE_STOREFRONT);
  qw_page_free(p);
  p = parse("<meta property=og:type content=product><h1>康诺店铺首页</h1>", "");
  ck_assert_int_eq(p->type_hint, QW_PAGE_PRODUCT);
  qw_page_free(p);
}
END_TEST

START_TEST(test_names)
{
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    const char *n = qw_field_name(f);
    ck_assert_int_eq(qw_field_from_name(n, strlen(n)), f);
  }
  ck_assert_str_eq(qw_field_name(QW_FIELD_PARAMS), "params");
  ck_assert_str_eq(qw_field_name(QW_FIELD_OG), "og");
  ck_assert_int_eq(qw_field_from_name("bodyx", 4), QW_FIELD_BODY);
  ck_assert_int_eq(qw_field_from_name("bod", 3), -1);
  ck_assert_int_eq(qw_field_from_name("nope", 4), -1);
  ck_assert_int_eq(qw_field_from_name(NULL, 0), -1);
  static const char *const t[] = {"unknown", "product", "storefront",
                                  "platform", "other"};
  for(int i = 0; i < 5; i++) {
    ck_assert_str_eq(qw_page_type_name(i), t[i]);
    ck_assert_int_eq(qw_page_type_from_name(t[i]), i);
  }
  ck_assert_int_eq(qw_page_type_from_name("Product"), QW_PAGE_PRODUCT);
  ck_assert_int_eq(qw_page_type_from_name("shop"), -1);
}
END_TEST

/* ===== bad input ===== */

START_TEST(test_malformed)
{
  qw_page *p = parse_fixture("html/malformed.html", NULL);
  ck_assert_str_eq(p->title, "残缺页面<b>测试"); /* title is raw text */
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "第一段\n第二段\n注册证编号\n国械注准20213160789\n"
                   "材质：PVC\n颜色：白色\n未闭合加粗斜体\n下一段\n尾部文字\n"
                   "结束之后");
  ck_assert_str_eq(param(p, "注册证编号"), "国械注准20213160789");
  ck_assert_str_eq(param(p, "材质"), "PVC");
  ck_assert_str_eq(param(p, "颜色"), "白色");
  ck_assert_str_eq(p->url, "");
  ck_assert_str_eq(p->base_url, "");
  ck_assert(!p->truncated);
  qw_page_free(p);

  /* no page URL: relative references cannot resolve, absolute ones do */
  p = parse("<base href=sub/><a href=rel.html>r</a>"
            "<a href='HTTP://Example.COM:80/a/../b#f'>a</a>"
            "<a href='ftp://example.com/x'>f</a><img src=//cdn.example/i.png>",
            NULL);
  ck_assert_uint_eq(p->n_links, 1);
  ck_assert_str_eq(p->links[0], "http://example.com/b");
  ck_assert_uint_eq(p->n_images, 0);
  ck_assert_ptr_null(p->canonical);
  qw_page_free(p);
}
END_TEST

START_TEST(test_empty_and_garbage)
{
  qw_page *p = parse_opt("", 0, NULL, NULL);
  for(int f = 0; f < QW_FIELD_COUNT; f++)
    ck_assert_uint_eq(p->field[f].len, 0);
  ck_assert_uint_eq(p->n_params + p->n_links + p->n_images + p->n_jsonld, 0);
  ck_assert_str_eq(p->title, "");
  ck_assert_int_eq(p->type_hint, QW_PAGE_UNKNOWN);
  size_t n = 1;
  ck_assert_str_eq(qw_page_body_joined(p, &n), "");
  ck_assert_uint_eq(n, 0);
  qw_page_free(p);
  p = parse_opt(NULL, 0, "", NULL);
  qw_page_free(p);

  /* binary garbage, NULs and invalid UTF-8 included */
  uint32_t x = 2463534242u;
  for(int round = 0; round < 20; round++) {
    size_t len = 1000 + (size_t)round * 3000;
    char *b = malloc(len);
    ck_assert_ptr_nonnull(b);
    for(size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      /* some rounds lean on markup characters */
      b[i] = (round & 1) ? "<>/=\"' abp!-&#;\x80\xE6\x00"[x % 19]
                         : (char)(x & 0xFF);
    }
    p = parse_opt(b, len, "http://x.example/", NULL);
    qw_page_free(p);
    free(b);
  }

  /* invalid UTF-8 in text becomes U+FFFD */
  p = parse("<p>a\xFF" "b\xE6\x9C" "c</p>", "");
  ck_assert_str_eq(field(p, QW_FIELD_BODY),
                   "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
  qw_page_free(p);
}
END_TEST

START_TEST(test_limits)
{
  qw_page *p = NULL;
  char err[128] = "";
  qw_page_options o = {0};
  o.max_bytes = 10;
  ck_assert_int_eq(qw_page_parse("<p>01234567890</p>", 18, NULL, &o, &p, err,
                                 sizeof(err)), -EFBIG);
  ck_assert_ptr_null(p);
  ck_assert(strstr(err, "18") != NULL);
  ck_assert_int_eq(qw_page_parse("<p>0123</p>", 11, NULL, &o, &p, NULL, 0),
                   -EFBIG);
  o.max_bytes = 11;
  ck_assert_int_eq(qw_page_parse("<p>0123</p>", 11, NULL, &o, &p, NULL, 0), 0);
  ck_assert(!p->truncated);
  qw_page_free(p);
  ck_assert_int_eq(qw_page_parse(NULL, 5, NULL, NULL, &p, NULL, 0), -EINVAL);
  ck_assert_int_eq(qw_page_parse("x", 1, NULL, NULL, NULL, NULL, 0), -EINVAL);

  /* max_nodes stops the walk */
  size_t len;
  char *html = repeat("<body>", "<p>段%d</p>", 500, "", &len);
  memset(&o, 0, sizeof(o));
  o.max_nodes = 100;
  p = parse_opt(html, len, NULL, &o);
  ck_assert(p->truncated);
  ck_assert_uint_eq(p->n_elements, 100);
  ck_assert(has_block(p, QW_FIELD_BODY, "段0"));
  ck_assert(!strstr(field(p, QW_FIELD_BODY), "段499"));
  qw_page_free(p);
  free(html);

  /* max_depth: deeper elements are not descended into */
  html = repeat("<body>", "<div>", 40, "深处", &len);
  o.max_nodes = 0;
  o.max_depth = 20;
  p = parse_opt(html, len, NULL, &o);
  ck_assert(p->truncated);
  ck_assert_str_eq(field(p, QW_FIELD_BODY), "深处"); /* see the pre-scan */
  qw_page_free(p);
  o.max_depth = 60;
  p = parse_opt(html, len, NULL, &o);
  ck_assert(!p->truncated);
  ck_assert_str_eq(field(p, QW_FIELD_BODY), "深处");
  qw_page_free(p);
  free(html);

  /* max_attrs: attributes after the cap are not looked at */
  o.max_depth = 0;
  o.max_attrs = 3;
  p = parse_opt("<a a=1 b=2 c=3 href=/x>x</a><a href=/y>y</a>", 44,
                "http://a.example/", &o);
  ck_assert(p->truncated);
  ck_assert_uint_eq(p->n_links, 1);
  ck_assert_str_eq(p->links[0], "http://a.example/y");
  qw_page_free(p);
}
END_TEST

/* page.c's test hook: Gumbo's budget for this thread (-1: default). */
void qw__page_gumbo_budget(long long mem_base, long long mem_per_byte,
                           long long ns_base, long long ns_per_byte);

/* The pathological inputs of STYLE.md §5: each must finish quickly, keep
 * the text after the bomb, and say the model is partial. Gumbo's CPU
 * deadline is lifted, so that it is the pre-scan that is tested here and
 * the outcome does not depend on the machine. */
static void bomb(const char *pre, const char *unit, int n, const char *post,
                 int want_tail, int want_trunc)
{
  size_t len;
  char *html = repeat(pre, unit, n, post, &len);
  qw__page_gumbo_budget(-1, -1, 1000LL * 1000000000LL, -1);
  double t0 = cpu_now();
  qw_page *p = parse_opt(html, len, "http://a.example/", NULL);
  double dt = cpu_now() - t0;
  qw__page_gumbo_budget(-1, -1, -1, -1);
  ck_assert_msg(dt < BOMB_SECONDS || RUNNING_ON_VALGRIND,
                "%s ×%d took %.2f s", unit, n, dt);
  if(getenv("QW_TEST_VERBOSE"))
    fprintf(stderr, "%-24s ×%-6d %6zu KB %.3f s truncated=%d\n", unit, n,
            len >> 10, dt, p->truncated);
  if(want_tail)
    ck_assert_msg(strstr(field(p, QW_FIELD_BODY), "根治尾部") != NULL,
                  "%s ×%d lost the text after it", unit, n);
  if(want_trunc >= 0)
    ck_assert_int_eq(p->truncated, want_trunc);
  qw_page_free(p);
  free(html);
}

START_TEST(test_deep_nesting)
{
  bomb("<html><body>", "<div>", 100000, "根治尾部", 1, 1);
  bomb("<html><body>", "<span>", 100000, "根治尾部", 1, 1);
  bomb("<html><body>", "<ul><li>", 50000, "根治尾部", 1, 1);
  bomb("<html><body>", "<svg><g>", 50000, "根治尾部", 1, 1);
  bomb("<html><body>", "<div>x</p>", 50000, "根治尾部", 1, 1);
  bomb("<html><body>", "<table><tr><td>", 30000, "根治尾部", 1, -1);
}
END_TEST

START_TEST(test_attribute_bomb)
{
  bomb("<html><body><div", " a%d=\"v\"", 100000, ">根治尾部</div>", 1, 1);
  bomb("<html><body><div", " a=%d", 100000, ">根治尾部</div>", 1, 1);
}
END_TEST

START_TEST(test_unclosed_formatting)
{
  bomb("<html><body>", "<b>", 50000, "根治尾部", 1, 1);
  bomb("<html><body>", "<a>", 50000, "根治尾部", 1, 0);
  bomb("<html><body>", "<a href=/%d>x", 50000, "根治尾部", 1, 0);
  bomb("<html><body>", "<i><b><u><s>x", 25000, "根治尾部", 1, 1);
  bomb("<html><body>", "<b class=c%d>x", 50000, "根治尾部", 1, 1);
  /* formatting elements re-created in every following block: Gumbo goes
   * quadratic in time and memory here unless they are closed */
  bomb("<html><body>", "<p><b class=c%d>x</p>", 30000, "根治尾部", 1, 0);
  bomb("<html><body>", "<p><font color=%d><i id=%d>x", 30000, "根治尾部", 1,
       -1);
}
END_TEST

START_TEST(test_script_bombs)
{
  /* many state assignments: only the first few are scanned, in time */
  bomb("<script>", "g_config={a:%d};", 50000, "</script><p>根治尾部</p>", 1, 0);
  bomb("<script>", "window.__INIT_DATA__={title:'%d',x:", 20000,
       "</script><p>根治尾部</p>", 1, 0);
  /* many JSON-LD scripts, broken and whole */
  bomb("", "<script type=application/ld+json>{\"@type\":\"T\",\"a\":%d,}"
       "</script>", 20000, "<p>根治尾部</p>", 1, 0);
  bomb("", "<script type=application/ld+json>[[[[[[[[[[[[[[[[[[[[{\"a\":"
       "\"%d\"}]]]]]]]]]]]]]]]]]]]</script>", 20000, "<p>根治尾部</p>", 1, 0);
}
END_TEST

START_TEST(test_formatting_closed_keeps_text)
{
  /* closing what Gumbo would carry over changes no text */
  qw_page *p = parse("<p><b>加粗<i>斜</p><p>下一段<p>再一段</b>尾", "");
  ck_assert_str_eq(field(p, QW_FIELD_BODY), "加粗斜\n下一段\n再一段尾");
  ck_assert(!p->truncated);
  qw_page_free(p);
}
END_TEST

START_TEST(test_gumbo_budget)
{
  size_t len;
  char *html = repeat("<body>", "<p>段落%d</p>", 400, "", &len);
  /* memory for about a quarter of the page: Gumbo is left by longjmp and
   * a prefix that ends before a tag is parsed instead */
  qw__page_gumbo_budget(64 << 10, 0, -1, -1);
  qw_page *p = parse_opt(html, len, NULL, NULL);
  ck_assert(p->truncated);
  ck_assert(!strncmp(field(p, QW_FIELD_BODY), "段落0\n段落1\n段落2\n", 24));
  ck_assert(has_block(p, QW_FIELD_BODY, "段落50"));
  ck_assert(!strstr(field(p, QW_FIELD_BODY), "段落399"));
  qw_page_free(p);
  /* no CPU time at all: the clock is read every 1024 allocations, so
   * only a short prefix gets through */
  qw__page_gumbo_budget(-1, -1, 0, 0);
  p = parse_opt(html, len, NULL, NULL);
  ck_assert(p->truncated);
  ck_assert(!strstr(field(p, QW_FIELD_BODY), "段落100"));
  qw_page_free(p);
  /* back to the defaults */
  qw__page_gumbo_budget(-1, -1, -1, -1);
  p = parse_opt(html, len, NULL, NULL);
  ck_assert(!p->truncated);
  ck_assert(has_block(p, QW_FIELD_BODY, "段落399"));
  qw_page_free(p);
  free(html);
}
END_TEST

/* ===== script and style content outside Gumbo ===== */

#define END(fn, str, ...) fn(str, strlen(str), __VA_ARGS__)

START_TEST(test_rawtext_comment)
{
  /* offsets are counted from just after "<!--" */
  const char *c[][2] = {
    {">x", "x"},          /* <!--> */
    {"->x", "x"},         /* <!---> */
    {" a -->x", "x"},
    {" a --!>x", "x"},    /* comment end bang */
    {" a --->x", "x"},
    {" a --!-->x", "x"},
    {" a -- b -->x", "x"},
    {"-x-->y", "y"},
    {" a --\n>x-->y", "y"},
    {" a -- >x-->y", "y"},
  };
  for(size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    size_t n = strlen(c[i][0]);
    size_t e = qw_html_comment_end(c[i][0], n, 0);
    ck_assert_msg(e < n && !strcmp(c[i][0] + e, c[i][1]), "case %zu", i);
  }
  ck_assert_uint_eq(END(qw_html_comment_end, " never ends --", 0), 14);
  ck_assert_uint_eq(END(qw_html_comment_end, "", 0), 0);
}
END_TEST

START_TEST(test_rawtext_end)
{
  const char *s = "a</stylex></Style\tb</style>";
  ck_assert_uint_eq(END(qw_html_rawtext_end, s, 0, "style", 5), 10);
  s = "<b>x</STYLE>";
  ck_assert_uint_eq(END(qw_html_rawtext_end, s, 0, "style", 5), 4);
  s = "a</title/>";
  ck_assert_uint_eq(END(qw_html_rawtext_end, s, 0, "title", 5), 1);
  /* "</style" at the very end is text: no delimiter follows */
  s = "a</style";
  ck_assert_uint_eq(END(qw_html_rawtext_end, s, 0, "style", 5), 8);
  s = "a</style\r>";
  ck_assert_uint_eq(END(qw_html_rawtext_end, s, 0, "style", 5), 1);
}
END_TEST

START_TEST(test_rawtext_script)
{
  struct {
    const char *in;
    size_t end;
  } c[] = {
    {"var a=1;</script>", 8},
    {"a</SCRIPT >", 1},
    {"a</scripts></script>", 11},
    {"a</script", 9},
    /* escaped: </script> still ends it */
    {"<!-- x </script>", 7},
    /* double escaped: <script> inside <!-- makes </script> text */
    {"<!--<script>x</script>--></script>", 25},
    {"<!--<script>x</script>y</script>-->", 23},
    /* "-->" leaves the escape, after that <script> is plain text */
    {"<!-- a --><script></script>", 18},
    {"<!--><script></script>", 13},
    {"<!---><script></script>", 14},
    {"<!--<scripty></script>", 13},
    {"<!--<script x></script --></script>", 26},
    {"<!--<script>-></script>--></script>", 26},
    {"<!--<script>--!></script>--></script>", 28},
    {"<!-- - -></script>", 9},
    {"<!--<script>a<!--b</script>c</script>", 28},
  };
  for(size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    size_t e = END(qw_html_script_end, c[i].in, 0);
    ck_assert_msg(e == c[i].end, "case %zu: %zu, want %zu", i, e, c[i].end);
  }
}
END_TEST

/* Equal models with and without the fast path, over inputs that probe
 * every place where a wrong idea of the tokenizer state would move
 * content in or out of a script or style. */
START_TEST(test_strip_same_model)
{
  static const char *const docs[] = {
    "<p>a<script>var s='<p>not text</p>';</script>b<style>p{}</style>c",
    "<head><script type=application/ld+json>{\"@type\":\"Product\","
    "\"name\":\"\\u6cbb\\u6108\"}</script><style>x</style></head><p>y",
    "<script><!--<script>x</script><p>治愈</p>--></script><p>after",
    "<script><!-- x</script><p>治愈</p>",
    "<!-- a --!><script>\"-->\";</script><p>治愈</p><style></style>",
    "<!-- a --><script>q</script>--><p>治愈</p>",
    "<select><style><p>治愈</p></style></select><script>s</script><p>z",
    "<div><select></div><style></select><p>治愈</p></style>",
    "<svg><style><p>治愈</p></style></svg><script>x</script>",
    "<svg><title><style><b><script></style>治愈</script>",
    "<math><mi><script><b><style></script>治愈</style>",
    "<b><div><svg></b><style><p>治愈</p></style>",
    "<svg/><script>a</script><p>b",
    "<svg><![CDATA[ > </svg> <script>x]]><p>治愈</p></script>",
    "<frameset><script><p>治愈</p></script>",
    "<template><col><style><p>治愈</p></style></template>",
    "<table><colgroup><style>x</style><tr><td>a</td></tr></table>",
    "<textarea><script>治愈</script></textarea><p>x<script>y</script>",
    "<title><style></title><p>治愈</p><style>x</style>",
    "<noscript><script>s</script><p>治愈</p></noscript><style>q</style>",
    "<xmp><script></xmp><p>治愈<script>x</script>",
    "<iframe><style></iframe><p>治愈</p><style>a</style>",
    "<plaintext><script>x</script><p>治愈",
    "<a title='<script>'>x</a><script>y</script><p>z",
    "<a title=\"x>\"<script>y</script>治愈",
    "<script>a\r\nb\rc\0d\xff</script><p>x",
    "<script>window.__INIT_STATE__={\"goods\":{\"name\":\"治愈\"}};</script>",
    "<script>unterminated <p>治愈</p>",
    "<style>unterminated <p>治愈</p>",
    "<p>x</p><script/>y</script><p>z",
    "<!DOCTYPE html \"a>b\"><script>x</script><p>治愈",
    "<?php echo '<script>'; ?><p>治愈</p><script>x</script>",
    "</ p><script>x</script><p>治愈",
    "<script>/*qw-0000000000000001-0*/</script><p>y",
    "<SCRIPT>x</SCRIPT><STYLE>y</STYLE><p>治愈",
    "<table><script>x</script><tr><td>治愈<style>y</style></td></tr>",
    "<body><script>a</script></body></html><script>b</script><p>治愈",
    "&#xFFFFFFFF<script><p>治愈</p></script>",
    "<div class=a data-x='>' id=k><img class=b data-src=/i.jpg alt=口罩>"
    "<input type=hidden class=c><table><input type=hidden class=x><tr>"
    "<td class=q>治愈</td></tr></table></div>",
    "<b class=a><b class=b><b class=c><b class=d><p>x</p>治愈",
    "<a class=1 href=/a><a class=2 href=/a><p>y</p></a>治愈",
    "<isindex prompt=治愈 class=z><p class=y>x",
    "<div/class=a/id=b/>治愈<div class = 'x' title = 't'>y</div>",
    "<div class=\"unterminated>治愈</div><p>z",
    "<p style=display:none class=x hidden>治愈</p>",
    "<svg/class=x>\x01<p>治愈</p>",
    "<a f f=\"\"=\">治愈</a><p>x</p>",
    "<div g class=q =\"x>\">治愈</div>",
    "<meta \x01content=a content=b class=x name=description>治愈",
    "<img \x01a \x02a class=x alt=口罩><p>治愈",
    "<img \xef\xbf\xbd\x61 \x01\x61 class=x alt=口罩><p>治愈",
    "<math/x=1>a</math><div/class=y>治愈</div>",
    "<a class=x href=/1><a class=y href=/2><a class=z href=/3><a href=/4>"
    "<p>治愈<a class=w href=/5 target=_blank>z</a></p>",
    "<table><a class=q href=/t><tr><td>治愈</td></tr></table>",
    "<p><a class=a href=/x>1<div>2</a>3</div>治愈",
    "<a title=\"&#xFFFFFFFF\"><script>x</script>治愈",
  };
  qw_page_options o = {0};
  for(size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    size_t n = strlen(docs[i]);
    if(i == 25)
      n += 4; /* the NUL, 'd', 0xff and '<' … past the first NUL */
    const char *why = qw_page_diff_strip(docs[i], n, "http://a.test/", &o);
    ck_assert_msg(why == NULL, "doc %zu: %s differs", i, why);
  }
}
END_TEST

static void diff_tree(const char *dir, unsigned *pages)
{
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s", dir);
  struct dirent *e;
  qw_page_options o = {0};
  while((e = readdir(d)) != NULL) {
    if(e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    struct stat st;
    ck_assert(stat(path, &st) == 0);
    if(S_ISDIR(st.st_mode)) {
      diff_tree(path, pages);
      continue;
    }
    size_t l = strlen(e->d_name);
    if(l < 5 || strcmp(e->d_name + l - 5, ".html"))
      continue;
    size_t n;
    char *html = qw_test_read(path, &n);
    const char *why = qw_page_diff_strip(html, n, NULL, &o);
    ck_assert_msg(why == NULL, "%s: %s differs", path, why);
    free(html);
    (*pages)++;
  }
  closedir(d);
}

/* Every fixture page of every suite builds the same model both ways. */
START_TEST(test_strip_fixtures)
{
  unsigned pages = 0;
  char *root = qw_test_source_path("tests/fixtures");
  diff_tree(root, &pages);
  free(root);
  ck_assert_uint_gt(pages, 50);
}
END_TEST

/* Gumbo 0.10 swallows the character after &#xFFFFFFFF (a tag's '<', an
 * attribute's closing quote): such references are U+FFFD before Gumbo
 * sees them, so the markup after them stays markup. */
START_TEST(test_huge_numeric_refs)
{
  const char *docs[] = {
    "<p>a&#xFFFFFFFF<b>治愈</b></p>",
    "<p><a title=\"&#xFFFFFFFF\">x</a></p><p>治愈</p>",
    "<title>&#4294967295</title><p>治愈</p>",
    "<p>&#x80000000;<i>治愈</i></p>",
  };
  for(size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    qw_page *p = NULL;
    char err[128];
    ck_assert_int_eq(qw_page_parse(docs[i], strlen(docs[i]), NULL, NULL, &p,
                                   err, sizeof(err)), 0);
    check_page(p);
    ck_assert_msg(has_block(p, QW_FIELD_BODY, "治愈") ||
                  strstr(p->field[QW_FIELD_BODY].text, "治愈"),
                  "doc %zu: body \"%s\"", i, p->field[QW_FIELD_BODY].text);
    ck_assert_msg(!strstr(p->field[QW_FIELD_BODY].text, "<"),
                  "doc %zu: markup became text", i);
    qw_page_free(p);
  }
}
END_TEST

/* A repeated attribute name: the first is kept and the attribute after it
 * keeps its own name (Gumbo 0.10 with error recording off would glue the
 * two names together). */
START_TEST(test_duplicate_attributes)
{
  const char *h = "<html><head><meta property=og:title data-x data-x "
                  "content=\"口罩\"></head><body><img src=/a.jpg alt=甲 "
                  "alt=乙 title=丙><p>x</p></body></html>";
  for(int strip = 0; strip < 2; strip++) {
    qw__page_no_strip(!strip);
    qw_page *p = parse_opt(h, strlen(h), "https://a.example/", NULL);
    ck_assert_uint_eq(p->n_og, 1);
    ck_assert_str_eq(p->og[0].value, "口罩");
    ck_assert(has_block(p, QW_FIELD_ALT, "甲"));
    ck_assert(!has_block(p, QW_FIELD_ALT, "乙"));
    ck_assert(has_block(p, QW_FIELD_ALT, "丙"));
    qw_page_free(p);
  }
  qw__page_no_strip(0);
}
END_TEST

/* text_only: the same texts, none of the links, images and script data. */
START_TEST(test_text_only)
{
  size_t len;
  char *html = qw_test_read(qw_test_fixture("html/product.html"), &len);
  qw_page_options o = {0};
  qw_page *full = parse_opt(html, len, "https://shop.example.cn/p/1", &o);
  o.text_only = 1;
  qw_page *txt = parse_opt(html, len, "https://shop.example.cn/p/1", &o);
  ck_assert_uint_gt(full->n_links, 0);
  ck_assert_uint_eq(txt->n_links, 0);
  ck_assert_uint_eq(txt->n_images, 0);
  ck_assert_uint_eq(txt->n_jsonld, 0);
  for(int f = 0; f < QW_FIELD_COUNT; f++)
    if(f != QW_FIELD_JSONLD)
      ck_assert_str_eq(full->field[f].text, txt->field[f].text);
  qw_page_free(full);
  qw_page_free(txt);
  free(html);
}
END_TEST

/* The fast path keeps what the walk reads from scripts. */
START_TEST(test_strip_keeps_scripts)
{
  const char *html =
    "<html><head><script type=\"application/ld+json\">{\"@type\":"
    "\"Product\",\"name\":\"血糖仪\"}</script><style>.a{}</style></head>"
    "<body><p>正文</p><script>window.__INITIAL_STATE__={\"item\":{"
    "\"title\":\"助听器\"}};</script></body></html>";
  qw_page *p = NULL;
  char err[128];
  ck_assert_int_eq(qw_page_parse(html, strlen(html), NULL, NULL, &p, err,
                                 sizeof(err)), 0);
  ck_assert_ptr_nonnull(strstr(p->field[QW_FIELD_JSONLD].text, "血糖仪"));
  ck_assert_ptr_nonnull(strstr(p->field[QW_FIELD_JSONLD].text, "助听器"));
  ck_assert_str_eq(p->field[QW_FIELD_BODY].text, "正文");
  ck_assert(p->type_hint == QW_PAGE_PRODUCT);
  qw_page_free(p);
}
END_TEST

static Suite *page_suite(void)
{
  Suite *s = suite_create("page");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, test_product_head);
  tcase_add_test(tc, test_product_body_traps);
  tcase_add_test(tc, test_product_params);
  tcase_add_test(tc, test_product_jsonld_og);
  tcase_add_test(tc, test_product_links);
  tcase_add_test(tc, test_blocks);
  tcase_add_test(tc, test_entities);
  tcase_add_test(tc, test_body_joined);
  tcase_add_test(tc, test_hidden);
  tcase_add_test(tc, test_params_shapes);
  tcase_add_test(tc, test_jsonld_page);
  tcase_add_test(tc, test_state_page);
  tcase_add_test(tc, test_storefront);
  tcase_add_test(tc, test_names);
  suite_add_tcase(s, tc);
  TCase *strip = tcase_create("strip");
  tcase_add_test(strip, test_rawtext_comment);
  tcase_add_test(strip, test_rawtext_end);
  tcase_add_test(strip, test_rawtext_script);
  tcase_add_test(strip, test_strip_same_model);
  tcase_add_test(strip, test_strip_fixtures);
  tcase_add_test(strip, test_strip_keeps_scripts);
  tcase_add_test(strip, test_huge_numeric_refs);
  tcase_add_test(strip, test_text_only);
  tcase_add_test(strip, test_duplicate_attributes);
  suite_add_tcase(s, strip);

  TCase *bad = tcase_create("bad-input");
  tcase_set_timeout(bad, 120);
  tcase_add_test(bad, test_malformed);
  tcase_add_test(bad, test_empty_and_garbage);
  tcase_add_test(bad, test_limits);
  tcase_add_test(bad, test_deep_nesting);
  tcase_add_test(bad, test_attribute_bomb);
  tcase_add_test(bad, test_unclosed_formatting);
  tcase_add_test(bad, test_script_bombs);
  tcase_add_test(bad, test_formatting_closed_keeps_text);
  tcase_add_test(bad, test_gumbo_budget);
  suite_add_tcase(s, bad);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(page_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
