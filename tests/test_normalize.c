/* test_normalize.c — the normaliser: every rule both ways, the
 * traditional/variant tables, the offset map, bad input and big input. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "normalize_variants.h"
#include "utf8.h"

/* Checks every invariant of n as the result of normalising src[0..len). */
static void check_invariants(const char *src, size_t len, const qw_norm *n)
{
  ck_assert_ptr_nonnull(n->text);
  ck_assert_ptr_nonnull(n->map);
  ck_assert_int_eq(n->text[n->len], '\0');
  ck_assert_uint_eq(strlen(n->text), n->len);
  ck_assert_msg(qw_utf8_valid(n->text, n->len), "output is not UTF-8");
  ck_assert_uint_eq(n->map[n->len], len);

  /* Source character starts, as the decoder sees them. */
  unsigned char *starts = calloc(len + 1, 1);
  ck_assert_ptr_nonnull(starts);
  size_t p = 0;
  while(p < len) {
    starts[p] = 1;
    qw_utf8_next(src, len, &p);
  }
  /* Every output character maps all its bytes to one source start, and
   * the map never decreases. (Plain checks in the loop: each ck_assert
   * costs a system call in Check's fork mode.) */
  size_t q = 0, bad = SIZE_MAX;
  uint32_t prev = 0;
  while(q < n->len && bad == SIZE_MAX) {
    size_t e = q;
    qw_utf8_next(n->text, n->len, &e);
    uint32_t at = n->map[q];
    if(at >= len || !starts[at] || at < prev)
      bad = q;
    for(size_t b = q; b < e; b++)
      if(n->map[b] != at)
        bad = b;
    prev = at;
    q = e;
  }
  ck_assert_msg(bad == SIZE_MAX, "map[%zu]=%u is wrong", bad,
                bad == SIZE_MAX ? 0 : (unsigned)n->map[bad]);
  free(starts);

  size_t nl_src = 0, nl_out = 0;
  for(size_t i = 0; i < len; i++)
    nl_src += src[i] == '\n';
  for(size_t i = 0; i < n->len; i++)
    nl_out += n->text[i] == '\n';
  ck_assert_uint_eq(nl_src, nl_out);
}

/* Normalises in (a C string), checks the invariants and the result, and
 * checks that normalising the result again changes nothing. */
static void check_norm(const char *in, const char *expect)
{
  qw_norm n;
  size_t len = strlen(in);
  ck_assert_int_eq(qw_normalize(in, len, &n), 0);
  check_invariants(in, len, &n);
  ck_assert_msg(strcmp(n.text, expect) == 0, "\"%s\" → \"%s\", want \"%s\"",
                in, n.text, expect);
  qw_norm again;
  ck_assert_int_eq(qw_normalize(n.text, n.len, &again), 0);
  ck_assert_str_eq(again.text, n.text);
  qw_norm_free(&again);
  qw_norm_free(&n);
}

START_TEST(test_fullwidth_and_case)
{
  check_norm("KN95口罩", "kn95口罩");
  check_norm("ＫＮ９５口罩", "kn95口罩");
  check_norm("（粵械注準２０２０２０７１３４１）", "(粤械注准20202071341)");
  check_norm("国械注进２０２１３０７０１２３", "国械注进20213070123");
  check_norm("价格：￥１２８", "价格:¥128");
  check_norm("ÀÉÎÕÜ×ß", "àéîõü×ß");
  check_norm("\xF0\x9D\x90\x8A\xF0\x9D\x90\x8D\xF0\x9D\x9F\x97"
             "\xF0\x9D\x9F\x93", "kn95"); /* mathematical bold K N 9 5 */
  check_norm("hello", "hello");
  check_norm("【正品】〔2024〕—", "【正品】〔2024〕—");
  check_norm("ｰ･ｱ", "ｰ･ｱ"); /* half-width katakana stay */
}
END_TEST

START_TEST(test_spaces)
{
  check_norm("hello world", "hello world");
  check_norm("  hello \t  world  ", "hello world");
  check_norm("a\xE3\x80\x80\xC2\xA0\tb", "a b"); /* U+3000, U+00A0 */
  check_norm("3 天", "3 天");
  check_norm("天 3", "天 3");
  check_norm("a\xE2\x80\x83" "b", "a b"); /* em space */
  check_norm("a\x01\x7F" "b", "a b");     /* controls are spaces */
  check_norm(" ", "");
  check_norm("\t\r", "");
}
END_TEST

START_TEST(test_invisible)
{
  check_norm("根\xE2\x80\x8B治", "根治");     /* U+200B */
  check_norm("根\xE2\x80\x8D治", "根治");     /* U+200D */
  check_norm("根\xE2\x81\xA0治", "根治");     /* U+2060 */
  check_norm("\xEF\xBB\xBF治疗", "治疗");     /* U+FEFF */
  check_norm("a\xC2\xAD" "b", "ab");          /* soft hyphen */
  check_norm("根\xE1\xA0\x8E治", "根治");     /* U+180E */
  check_norm("ab\xE2\x80\x8B", "ab");
  check_norm("\xE2\x80\x8B", "");
  /* invisible characters do not break a space run or a separator run */
  check_norm("a \xE2\x80\x8B b", "a b");
  check_norm("根\xE2\x80\x8B \xE2\x80\x8B治", "根治");
  /* the ideographic space is not invisible */
  check_norm("a\xE3\x80\x80" "b", "a b");
}
END_TEST

START_TEST(test_separators_between_han)
{
  check_norm("根 治", "根治");
  check_norm("药*到*病*除", "药到病除");
  check_norm("治-愈", "治愈");
  check_norm("助 听 器", "助听器");
  check_norm("助_听_器", "助听器");
  check_norm("医/疗\\器.械", "医疗器械");
  check_norm("根~治|愈+好^了=", "根治愈好了=");
  check_norm("体温计 血压计", "体温计血压计");
  check_norm("根　治", "根治");              /* U+3000 */
  check_norm("根\xC2\xA0治", "根治");        /* U+00A0 */
  check_norm("根＊治", "根治");              /* full-width * */
  check_norm("治－愈", "治愈");              /* full-width - */
  check_norm("根·治•愈・好", "根治愈好");
  check_norm("根★治☆愈♥好", "根治愈好");
  check_norm("药🔥到🔥病🔥除", "药到病除");
  check_norm("药❤️到", "药到");              /* U+2764 U+FE0F */
  check_norm("药👍🏻到", "药到");            /* skin tone does not count */
  check_norm("根 * 治", "根治");             /* three units */
  check_norm("根*-*治", "根治");
  check_norm("根    治", "根治");            /* one white-space run */
  check_norm("𠀀 治", "𠀀治");               /* Han outside the BMP */
  check_norm("隱 形 眼 鏡", "隐形眼镜");
  check_norm("根䷀治", "根治");              /* U+4DC0 hexagram: a symbol */
  check_norm("根\xEE\x98\x8A治", "根治");   /* private use: icon glyph */
}
END_TEST

START_TEST(test_separators_kept)
{
  check_norm("hello world", "hello world");
  check_norm("a-b", "a-b");
  check_norm("根-b", "根-b");
  check_norm("a-根", "a-根");
  check_norm("KN95-口罩", "kn95-口罩");
  check_norm("3 天", "3 天");
  check_norm("根*-*-治", "根*-*-治");        /* four units */
  check_norm("根 ** 治", "根 ** 治");
  check_norm("药🔥🔥🔥🔥到", "药🔥🔥🔥🔥到");
  check_norm("体温计、血压计", "体温计、血压计");
  check_norm("根，治", "根,治");
  check_norm("根。治", "根。治");
  check_norm("根——治", "根——治");
  check_norm("根 \n 治", "根\n治");          /* '\n' is no separator */
  check_norm("根-\n-治", "根-\n-治");
  check_norm("根 ", "根");
  check_norm("根*", "根*");
  check_norm("*治", "*治");
  check_norm("根 ａ", "根 a");              /* non-Han outside ASCII */
  check_norm("根 é", "根 é");
  check_norm("根 。", "根 。");
  check_norm("根 ①治", "根 ①治");
}
END_TEST

START_TEST(test_newlines)
{
  check_norm("\n\n\n", "\n\n\n");
  check_norm("a\n\nb", "a\n\nb");
  check_norm("a \n b", "a\nb");
  check_norm("a\r\nb", "a\nb");
  check_norm(" \n \n ", "\n\n");
  check_norm("标题\n正文 第一段\n", "标题\n正文第一段\n");
  check_norm("a\xE2\x80\xA8" "b", "a b"); /* U+2028 is a space, not '\n' */
}
END_TEST

START_TEST(test_traditional)
{
  check_norm("隱形眼鏡", "隐形眼镜");
  check_norm("助聽器", "助听器");
  check_norm("醫療器械", "医疗器械");
  check_norm("註冊證", "注册证");
  check_norm("醫療器械經營許可證", "医疗器械经营许可证");
  check_norm("毉療", "医疗");
  check_norm("麪膜", "面膜");
  check_norm("槼格", "规格");
  check_norm("讅核", "审核");
  check_norm("醫療噐械", "医疗器械");
  check_norm("治瘉", "治愈");
  check_norm("血圧計", "血压计");
  check_norm("医疗器械", "医疗器械");       /* simplified stays */
  check_norm("体温计血压计", "体温计血压计");

  for(size_t v = 0; v < QW_NORM_NVARIANTS; v++) {
    uint32_t from = qw_norm_variants[v].from, to = qw_norm_variants[v].to;
    ck_assert_msg(qw_normalize_cp(from) == to, "variant U+%04X → U+%04X",
                  (unsigned)from, (unsigned)qw_normalize_cp(from));
    ck_assert_uint_eq(qw_normalize_cp(to), to);
  }
  ck_assert_uint_eq(qw_normalize_cp(0x9EBD), 0x4E48); /* 麽 → 么 */
  ck_assert_uint_eq(qw_normalize_cp(0x8B49), 0x8BC1); /* 證 → 证 */
  ck_assert_uint_eq(qw_normalize_cp(0x68B0), 0x68B0); /* 械 */
}
END_TEST

START_TEST(test_roman)
{
  check_norm("Ⅱ类", "2类");
  check_norm("Ⅲ类医疗器械", "3类医疗器械");
  check_norm("第Ⅰ类", "第1类");
  check_norm("ⅱ类", "2类");
  check_norm("Ⅸ", "9");
  check_norm("Ⅹ光机", "x光机");
  check_norm("Ⅻ", "Ⅻ");
  ck_assert_uint_eq(qw_normalize_cp(0x2161), '2');
  ck_assert_uint_eq(qw_normalize_cp(0x2172), '3');
}
END_TEST

START_TEST(test_cp)
{
  ck_assert_uint_eq(qw_normalize_cp('A'), 'a');
  ck_assert_uint_eq(qw_normalize_cp(0xFF21), 'a');
  ck_assert_uint_eq(qw_normalize_cp(0xFF10), '0');
  ck_assert_uint_eq(qw_normalize_cp(0x3000), ' ');
  ck_assert_uint_eq(qw_normalize_cp(0x200B), 0);
  ck_assert_uint_eq(qw_normalize_cp(0xAD), 0);
  ck_assert_uint_eq(qw_normalize_cp(0xFEFF), 0);
  ck_assert_uint_eq(qw_normalize_cp('\n'), '\n');
  ck_assert_uint_eq(qw_normalize_cp(0x96B1), 0x9690);
  ck_assert_uint_eq(qw_normalize_cp(0xD800), 0xFFFD);
  ck_assert_uint_eq(qw_normalize_cp(0x110000), 0xFFFD);
}
END_TEST

/* For every code point c, "a" c "b" normalises to "a" cp(c) "b" (or "ab"
 * when c is removed): the text path and qw_normalize_cp agree, and
 * qw_normalize_cp is idempotent. */
START_TEST(test_cp_matches_text)
{
  qw_norm n = {0};
  for(uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
    if(cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    char in[8], want[8];
    size_t l = 0, w = 0;
    in[l++] = 'a';
    l += qw_utf8_encode(cp, in + l);
    in[l++] = 'b';
    uint32_t r = qw_normalize_cp(cp);
    want[w++] = 'a';
    if(r)
      w += qw_utf8_encode(r, want + w);
    want[w++] = 'b';
    if(qw_normalize_into(in, l, &n) != 0 || n.len != w ||
       memcmp(n.text, want, w) != 0) {
      ck_abort_msg("U+%04X: text path and qw_normalize_cp disagree",
                   (unsigned)cp);
    }
    if(r && qw_normalize_cp(r) != r)
      ck_abort_msg("U+%04X: qw_normalize_cp is not idempotent",
                   (unsigned)cp);
  }
  qw_norm_free(&n);
}
END_TEST

START_TEST(test_map_and_range)
{
  const char *src = "本店醫 療 器 械，\xE2\x80\x8B正品保證\n"
                    "ＫＮ９５口罩";
  size_t len = strlen(src);
  qw_norm n;
  ck_assert_int_eq(qw_normalize(src, len, &n), 0);
  check_invariants(src, len, &n);
  ck_assert_str_eq(n.text, "本店医疗器械,正品保证\nkn95口罩");

  struct {
    const char *norm, *orig;
  } cases[] = {
    {"医疗器械", "醫 療 器 械"},
    {"本店", "本店"},
    {"正品保证", "正品保證"},
    {"kn95", "ＫＮ９５"},
    {"kn95口罩", "ＫＮ９５口罩"},
    /* Removed characters have no output byte, so a range that ends just
     * before a removed separator includes it (the header's contract can
     * only be met up to removed characters). */
    {"疗器", "療 器 "},
  };
  for(size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    const char *hit = strstr(n.text, cases[c].norm);
    ck_assert_ptr_nonnull(hit);
    size_t s0 = (size_t)(hit - n.text), s1, e1;
    qw_norm_source_range(&n, s0, s0 + strlen(cases[c].norm), &s1, &e1);
    ck_assert_msg(e1 - s1 == strlen(cases[c].orig) &&
                  memcmp(src + s1, cases[c].orig, e1 - s1) == 0,
                  "range of %s is \"%.*s\"", cases[c].norm, (int)(e1 - s1),
                  src + s1);
  }
  /* A range inside one output character covers the whole source one. */
  size_t a, b;
  qw_norm_source_range(&n, 1, 2, &a, &b);
  ck_assert_uint_eq(a, 0);
  ck_assert_uint_eq(b, 3);
  /* Empty and clamped ranges. */
  qw_norm_source_range(&n, 6, 6, &a, &b);
  ck_assert_uint_eq(a, b);
  qw_norm_source_range(&n, 0, n.len + 100, &a, &b);
  ck_assert_uint_eq(a, 0);
  ck_assert_uint_eq(b, len);
  qw_norm_source_range(&n, n.len + 5, n.len + 9, &a, &b);
  ck_assert_uint_eq(a, len);
  ck_assert_uint_eq(b, len);
  qw_norm_free(&n);
}
END_TEST

START_TEST(test_invalid_utf8)
{
  check_norm("\xFF", "\xEF\xBF\xBD");
  check_norm("\xFF" "根\xE6\xB2", "\xEF\xBF\xBD根\xEF\xBF\xBD\xEF\xBF\xBD");
  check_norm("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  check_norm("\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD");
  check_norm("\xE6\x20\xB2", "\xEF\xBF\xBD \xEF\xBF\xBD");
  check_norm("根\xE4", "根\xEF\xBF\xBD");
  /* Embedded NUL is a control character: a space, never a terminator. */
  qw_norm n;
  ck_assert_int_eq(qw_normalize("a\0b", 3, &n), 0);
  ck_assert_str_eq(n.text, "a b");
  check_invariants("a\0b", 3, &n);
  qw_norm_free(&n);
}
END_TEST

START_TEST(test_empty_and_errors)
{
  qw_norm n;
  ck_assert_int_eq(qw_normalize("", 0, &n), 0);
  ck_assert_uint_eq(n.len, 0);
  ck_assert_str_eq(n.text, "");
  ck_assert_uint_eq(n.map[0], 0);
  qw_norm_free(&n);
  ck_assert_ptr_null(n.text);
  qw_norm_free(&n); /* twice is fine */

  ck_assert_int_eq(qw_normalize(NULL, 0, &n), 0);
  ck_assert_str_eq(n.text, "");
  qw_norm_free(&n);
  ck_assert_int_eq(qw_normalize(NULL, 3, &n), -EINVAL);
  ck_assert_int_eq(qw_normalize("x", 1, NULL), -EINVAL);
#if SIZE_MAX > UINT32_MAX
  /* Rejected before any byte is read. */
  qw_norm z = {0};
  ck_assert_int_eq(qw_normalize_into("x", (size_t)UINT32_MAX + 1, &z),
                   -EFBIG);
  qw_norm_free(&z);
#endif
}
END_TEST

static const char sample[] =
  "【官方正品】ＸＸ牌红外額溫槍 家用高精度 Ⅱ类医疗器械 "
  "注册证号：粵械注準２０２０２０７１３４１\n"
  "適用範圍：用於人體額頭溫度測量。本品不能代替醫生診斷，"
  "“根 治”“药*到*病*除”等宣传均为违规示例。\xE2\x80\x8B\n"
  "Spec: 1.0-40.0℃, KN95口罩 赠品 🎁 限时包邮！！\n";

START_TEST(test_large_input)
{
  size_t pl = strlen(sample);
  size_t reps = (10u << 20) / pl + 1;
  size_t len = pl * reps;
  char *big = malloc(len);
  ck_assert_ptr_nonnull(big);
  for(size_t r = 0; r < reps; r++)
    memcpy(big + r * pl, sample, pl);

  qw_norm one, all;
  ck_assert_int_eq(qw_normalize(sample, pl, &one), 0);
  ck_assert_int_eq(qw_normalize(big, len, &all), 0);
  ck_assert_uint_eq(all.len, one.len * reps);
  ck_assert_uint_eq(all.map[all.len], len);
  size_t bad = SIZE_MAX;
  for(size_t r = 0; r < reps && bad == SIZE_MAX; r++) {
    const char *t = all.text + r * one.len;
    const uint32_t *m = all.map + r * one.len;
    if(memcmp(t, one.text, one.len) != 0)
      bad = r;
    for(size_t i = 0; i < one.len; i++)
      if(m[i] != one.map[i] + r * pl)
        bad = r;
  }
  ck_assert_msg(bad == SIZE_MAX, "copy %zu differs", bad);
  check_invariants(big, len, &all);
  qw_norm_free(&one);
  qw_norm_free(&all);
  free(big);
}
END_TEST

/* qw_normalize_into reuses its buffers: after one big call, smaller and
 * equal calls do not move them, and results stay right. */
START_TEST(test_into_reuse)
{
  size_t pl = strlen(sample);
  size_t len = pl * 64;
  char *big = malloc(len);
  ck_assert_ptr_nonnull(big);
  for(size_t r = 0; r < 64; r++)
    memcpy(big + r * pl, sample, pl);
  qw_norm ref;
  ck_assert_int_eq(qw_normalize(sample, pl, &ref), 0);

  qw_norm n = {0};
  ck_assert_int_eq(qw_normalize_into(big, len, &n), 0);
  check_invariants(big, len, &n);
  char *text = n.text;
  uint32_t *map = n.map;
  for(int round = 0; round < 3; round++) {
    ck_assert_int_eq(qw_normalize_into(sample, pl, &n), 0);
    ck_assert_ptr_eq(n.text, text);
    ck_assert_ptr_eq(n.map, map);
    ck_assert_uint_eq(n.len, ref.len);
    ck_assert(memcmp(n.text, ref.text, ref.len + 1) == 0);
    ck_assert(memcmp(n.map, ref.map, (ref.len + 1) * sizeof(uint32_t)) == 0);
    ck_assert_int_eq(qw_normalize_into("", 0, &n), 0);
    ck_assert_str_eq(n.text, "");
    ck_assert_int_eq(qw_normalize_into(big, len, &n), 0);
    ck_assert_ptr_eq(n.text, text);
    ck_assert_uint_eq(n.len, ref.len * 64);
  }
  /* Output longer than the input (every bad byte becomes 3 bytes) grows
   * the buffers in the middle of a call. */
  size_t blen = 100000;
  char *bad = malloc(blen);
  ck_assert_ptr_nonnull(bad);
  memset(bad, 0xFF, blen);
  qw_norm g = {0};
  ck_assert_int_eq(qw_normalize_into("x", 1, &g), 0);
  ck_assert_int_eq(qw_normalize_into(bad, blen, &g), 0);
  ck_assert_uint_eq(g.len, blen * 3);
  check_invariants(bad, blen, &g);
  qw_norm_free(&g);
  free(bad);
  qw_norm_free(&n);
  qw_norm_free(&ref);
  free(big);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("normalize");
  TCase *tc = tcase_create("rules");
  tcase_add_test(tc, test_fullwidth_and_case);
  tcase_add_test(tc, test_spaces);
  tcase_add_test(tc, test_invisible);
  tcase_add_test(tc, test_separators_between_han);
  tcase_add_test(tc, test_separators_kept);
  tcase_add_test(tc, test_newlines);
  tcase_add_test(tc, test_traditional);
  tcase_add_test(tc, test_roman);
  tcase_add_test(tc, test_cp);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("map");
  tcase_add_test(tm, test_cp_matches_text);
  tcase_add_test(tm, test_map_and_range);
  tcase_add_test(tm, test_invalid_utf8);
  tcase_add_test(tm, test_empty_and_errors);
  tcase_add_test(tm, test_large_input);
  tcase_add_test(tm, test_into_reuse);
  tcase_set_timeout(tm, 120);
  suite_add_tcase(s, tm);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
