/* test_matcher.c — the matching engine: literals, regexes, exceptions,
 * negation, block boundaries, leftmost-longest selection, limits, and a
 * property test against a brute-force reference. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "matcher.h"
#include "qw_test.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct {
  qw_matcher *m;
  qw_match_scratch *s;
  qw_hit *hits;
  size_t n;
  int rc;
} fx;

static qw_matcher *build(qw_matcher_builder *b)
{
  qw_matcher *m = NULL;
  char err[256];
  int r = qw_matcher_build(b, &m, NULL, NULL, err, sizeof(err));
  ck_assert_msg(r == 0, "build failed: %d %s", r, err);
  return m;
}

static void scan(fx *f, const char *text, const qw_scan_opts *o)
{
  f->n = 0;
  f->rc = qw_matcher_scan(f->m, f->s, text, strlen(text), o, &f->hits,
                          &f->n);
}

static void fx_init(fx *f, qw_matcher_builder *b)
{
  memset(f, 0, sizeof(*f));
  f->m = build(b);
  qw_matcher_builder_free(b);
  f->s = qw_match_scratch_new(f->m);
  ck_assert_ptr_nonnull(f->s);
}

static void fx_done(fx *f)
{
  free(f->hits);
  qw_match_scratch_free(f->s);
  qw_matcher_free(f->m);
}

static void lit(qw_matcher_builder *b, int set, const char *t, int exc)
{
  int r = qw_matcher_builder_add_literal(b, (uint32_t)set, t, strlen(t), exc);
  ck_assert_msg(r >= 0, "add_literal %s: %d", t, r);
}

static void rx(qw_matcher_builder *b, int set, const char *p, int exc)
{
  char err[200];
  int r = qw_matcher_builder_add_regex(b, (uint32_t)set, p, exc, err,
                                       sizeof(err));
  ck_assert_msg(r >= 0, "add_regex %s: %d %s", p, r, err);
}

/* Checks hit i: set, entry, and that it covers `what`, found in text after
 * the first occurrence of `ctx` (ctx may be "" for the first `what`). */
static void expect_hit(const fx *f, size_t i, uint32_t set, uint32_t entry,
                       const char *text, const char *ctx, const char *what)
{
  ck_assert_msg(i < f->n, "hit %zu missing (n=%zu)", i, f->n);
  const char *c = strstr(text, ctx);
  ck_assert_ptr_nonnull(c);
  const char *at = strstr(c, what);
  ck_assert_ptr_nonnull(at);
  size_t start = (size_t)(at - text);
  ck_assert_uint_eq(f->hits[i].set, set);
  ck_assert_uint_eq(f->hits[i].entry, entry);
  ck_assert_uint_eq(f->hits[i].start, start);
  ck_assert_uint_eq(f->hits[i].end, start + strlen(what));
}

/* ---- unit tests ------------------------------------------------------- */

START_TEST(literals_longest)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  ck_assert_ptr_nonnull(b);
  int s0 = qw_matcher_builder_new_set(b, "device:mask", 0);
  ck_assert_int_eq(s0, 0);
  lit(b, s0, "口罩", 0);
  lit(b, s0, "医用口罩", 0);
  lit(b, s0, "防护服", 0);
  fx f;
  fx_init(&f, b);
  const char *t = "一次性医用口罩，独立包装口罩 防护服";
  scan(&f, t, NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 3);
  expect_hit(&f, 0, 0, 1, t, "", "医用口罩");
  expect_hit(&f, 1, 0, 0, t, "包装", "口罩");
  expect_hit(&f, 2, 0, 2, t, "", "防护服");
  ck_assert_str_eq(qw_matcher_entry_text(f.m, 0, 1), "医用口罩");
  ck_assert_str_eq(qw_matcher_set_name(f.m, 0), "device:mask");
  ck_assert_uint_eq(qw_matcher_n_sets(f.m), 1);
  ck_assert_ptr_null(qw_matcher_entry_text(f.m, 0, 3));
  ck_assert_ptr_null(qw_matcher_set_name(f.m, 1));
  fx_done(&f);
}
END_TEST

START_TEST(overlap_cases)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "x", 0);
  lit(b, s, "ab", 0);
  lit(b, s, "bcd", 0);
  lit(b, s, "cd", 0);
  lit(b, s, "aa", 0);
  fx f;
  fx_init(&f, b);
  /* leftmost wins over longer later: "ab" then "cd" */
  scan(&f, "abcd", NULL);
  ck_assert_uint_eq(f.n, 2);
  ck_assert_uint_eq(f.hits[0].entry, 0);
  ck_assert_uint_eq(f.hits[1].entry, 2);
  ck_assert_uint_eq(f.hits[1].start, 2);
  /* non-overlapping repeats: "aaaaa" → aa aa */
  scan(&f, "aaaaa", NULL);
  ck_assert_uint_eq(f.n, 2);
  ck_assert_uint_eq(f.hits[0].start, 0);
  ck_assert_uint_eq(f.hits[1].start, 2);
  /* "bcd" at start */
  scan(&f, "xbcdx", NULL);
  ck_assert_uint_eq(f.n, 1);
  ck_assert_uint_eq(f.hits[0].entry, 1);
  fx_done(&f);
}
END_TEST

START_TEST(regex_and_mixed)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s0 = qw_matcher_builder_new_set(b, "claim", 0);
  int s1 = qw_matcher_builder_new_set(b, "rate", 0);
  lit(b, s0, "根治", 0);
  rx(b, s0, "(?:保证|确保)\\s*(?:有效|治愈)", 0);
  rx(b, s0, "根治\\S{0,2}鼻炎", 0);
  rx(b, s1, "(?:治愈|有效)率\\s*(?:达到?|高达)?\\s*[0-9]{1,3}(?:\\.[0-9]+)?%",
     0);
  fx f;
  fx_init(&f, b);
  const char *t = "本品保证 有效，可根治过敏性鼻炎；总有效率高达98.5%";
  scan(&f, t, NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 3);
  expect_hit(&f, 0, 0, 1, t, "", "保证 有效");
  expect_hit(&f, 1, 0, 0, t, "", "根治");
  expect_hit(&f, 2, 1, 0, t, "", "有效率高达98.5%");
  /* regex longer than the literal wins */
  const char *t2 = "根治鼻炎";
  scan(&f, t2, NULL);
  ck_assert_uint_eq(f.n, 1);
  expect_hit(&f, 0, 0, 2, t2, "", "根治鼻炎");
  /* regexes are case-insensitive (the text is case-folded anyway) */
  fx_done(&f);
  b = qw_matcher_builder_new();
  s0 = qw_matcher_builder_new_set(b, "abs", 0);
  rx(b, s0, "NO\\.?\\s*1", 0);
  fx_init(&f, b);
  scan(&f, "销量no.1品牌", NULL);
  ck_assert_uint_eq(f.n, 1);
  fx_done(&f);
}
END_TEST

/* Patterns with a partner set (anchors.h): PCRE2 runs only where a
 * partner string lies on the right side of an anchor hit. Anchor strings
 * in the prefix or the gap must not hide a match. */
START_TEST(partner_sets)
{
  static const struct {
    const char *pattern, *text, *hit; /* hit NULL: none */
  } cases[] = {
    /* anchor 治 (one string), partner {根, 治愈根} before it; the match
     * starts at an anchor string whose own window has no partner */
    {"(?:治愈)?根.{0,2}治", "治愈根x治", "治愈根x治"},
    {"(?:治愈)?根.{0,2}治", "治x根治", "根治"},
    /* partner before the anchor: one after it does not count */
    {"(?:美容|紧致)[^，]{0,3}?射频", "射频美容仪", NULL},
    {"(?:美容|紧致)[^，]{0,3}?射频", "紧致的射频射频", "紧致的射频"},
    {"(?:美容|紧致)[^，]{0,3}?射频", "美容，射频", NULL},
    /* partner after the anchor; an anchor string in the gap */
    {"射频[^，]{0,4}?(?:美容|抗衰)", "射频射频美容", "射频射频美容"},
    {"射频[^，]{0,4}?(?:美容|抗衰)", "美容射频", NULL},
    /* a partner on the line before or after is no partner */
    {"(?:美容|紧致)[^，]{0,3}?射频", "美容\n射频", NULL},
    {"射频[^，]{0,4}?(?:美容|抗衰)", "射频\n美容", NULL},
    {"(?:美容|紧致)[^，]{0,3}?射频", "x射频\n美容射频", "美容射频"},
    /* ASCII partners in either case */
    {"abk.{0,2}bak", "xABKxBaK", "ABKxBaK"},
    {"abk.{0,2}bak", "bakxabk", NULL},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for(int simd = 1; simd >= 0; simd--) {
      qw_matcher_builder *b = qw_matcher_builder_new();
      int s0 = qw_matcher_builder_new_set(b, "p", 0);
      rx(b, s0, cases[i].pattern, 0);
      fx f;
      fx_init(&f, b);
      qw_matcher_use_simd(f.m, simd);
      scan(&f, cases[i].text, NULL);
      ck_assert_int_eq(f.rc, 0);
      ck_assert_msg(f.n == (cases[i].hit ? 1u : 0u), "%s on %s: %zu hits",
                    cases[i].pattern, cases[i].text, f.n);
      if(cases[i].hit)
        expect_hit(&f, 0, 0, 0, cases[i].text, "", cases[i].hit);
      fx_done(&f);
    }
  }
}
END_TEST

/* Digit-run anchors in long texts: a phone number at every offset around
 * the 64-byte blocks the runs are found in, in a text of Chinese and
 * short digit runs. */
START_TEST(digit_runs_long)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s0 = qw_matcher_builder_new_set(b, "phone", 0);
  rx(b, s0, "(?<![0-9])1[3-9][0-9]{9}(?![0-9])", 0);
  rx(b, s0, "(?<![0-9])0[0-9]{2,3}-[0-9]{7,8}(?![0-9])", 0);
  fx f;
  fx_init(&f, b);
  static char t[1400];
  for(int simd = 1; simd >= 0; simd--) {
    qw_matcher_use_simd(f.m, simd);
    for(size_t at = 0; at < 700;
        at += (at % 64 < 8 || at % 64 > 52) ? 1 : 7) {
      /* filler: "价格12元" repeated (3-digit runs at most) */
      size_t n = 0;
      while(n + 11 < sizeof(t) - 40) {
        memcpy(t + n, "价格12元", 11);
        n += 11;
      }
      t[n] = '\0';
      size_t len = n;
      const char *num = at % 2 ? "13812345678" : "0755-12345678";
      size_t nl = strlen(num);
      /* the number replaces filler bytes at `at`, between spaces; the
       * characters it cuts become spaces too */
      size_t cs = at;
      while(cs > 0 && ((unsigned char)t[cs] & 0xC0) == 0x80)
        cs--;
      memset(t + cs, ' ', at + 1 - cs);
      memcpy(t + at + 1, num, nl);
      t[at + 1 + nl] = ' ';
      for(size_t e = at + 2 + nl;
          e < len && ((unsigned char)t[e] & 0xC0) == 0x80; e++)
        t[e] = ' ';
      f.n = 0;
      f.rc = qw_matcher_scan(f.m, f.s, t, len, NULL, &f.hits, &f.n);
      ck_assert_int_eq(f.rc, 0);
      ck_assert_msg(f.n == 1, "number at %zu: %zu hits", at, f.n);
      ck_assert_uint_eq(f.hits[0].start, at + 1);
      ck_assert_uint_eq(f.hits[0].end, at + 1 + nl);
    }
  }
  fx_done(&f);
}
END_TEST

START_TEST(exceptions)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "claim", 0);
  lit(b, s, "第一", 0);
  lit(b, s, "第一类医疗器械", 1);
  lit(b, s, "治愈", 0);
  rx(b, s, "治愈系\\S?", 1);
  ck_assert_int_eq(qw_matcher_builder_add_literal(b, (uint32_t)s, "最", 3, 0),
                   2);
  fx f;
  fx_init(&f, b);
  scan(&f, "本品为第一类医疗器械，治愈系包装", NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 0);
  const char *t = "销量第一，可治愈";
  scan(&f, t, NULL);
  ck_assert_uint_eq(f.n, 2);
  expect_hit(&f, 0, 0, 0, t, "", "第一");
  expect_hit(&f, 1, 0, 1, t, "", "治愈");
  ck_assert_str_eq(qw_matcher_entry_text(f.m, 0, 1), "治愈");
  ck_assert_str_eq(qw_matcher_entry_text(f.m, 0, 2), "最");
  fx_done(&f);
}
END_TEST

START_TEST(negation)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "claim", 6);
  int s2 = qw_matcher_builder_new_set(b, "plain", 0);
  int s3 = qw_matcher_builder_new_set(b, "short", 2);
  const char *terms[] = {"根治", "治愈", "包治百病", "复发"};
  for(int i = 0; i < 4; i++) {
    lit(b, s, terms[i], 0);
    lit(b, s2, terms[i], 0);
    lit(b, s3, terms[i], 0);
  }
  fx f;
  fx_init(&f, b);
  uint8_t only0 = 1, only2 = 4;
  qw_scan_opts o0 = {&only0}, o2 = {&only2};
  static const struct {
    const char *text;
    size_t hits;  /* set 0 (window 6) */
    size_t hits2; /* set 2 (window 2) */
  } cases[] = {
    {"不能根治", 0, 0},
    {"无法保证治愈", 0, 1},
    {"并非包治百病", 0, 0},
    {"根治！不复发", 1, 1},
    {"根治!不复发", 1, 1},
    {"不含激素，根治鼻炎", 1, 1},
    {"不含激素,根治鼻炎", 1, 1},
    {"禁止宣传根治", 0, 1},
    {"请勿相信治愈", 0, 1},
    {"不\n根治", 1, 1},
    {"本品不适用于某某某某根治", 1, 1},
    {"没有任何根治效果", 0, 1},
    {"避免夸大治愈", 0, 1},
    {"可根治鼻炎", 1, 1},
    {"根治", 1, 1},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    scan(&f, cases[i].text, &o0);
    ck_assert_msg(f.n == cases[i].hits, "%s: %zu hits in set 0",
                  cases[i].text, f.n);
    scan(&f, cases[i].text, &o2);
    ck_assert_msg(f.n == cases[i].hits2, "%s: %zu hits in set 2",
                  cases[i].text, f.n);
    scan(&f, cases[i].text, NULL);
    size_t plain = 0;
    for(size_t k = 0; k < f.n; k++)
      plain += f.hits[k].set == 1;
    ck_assert_msg(plain >= 1, "%s: not found without negation",
                  cases[i].text);
  }
  fx_done(&f);
}
END_TEST

START_TEST(newline_boundary)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "x", 0);
  lit(b, s, "根治", 0);
  lit(b, s, "a\nb", 0);
  rx(b, s, "包\\s*好", 0);
  rx(b, s, "^特效", 0);
  rx(b, s, "神效$", 0);
  rx(b, s, "\\A首款", 0);
  fx f;
  fx_init(&f, b);
  scan(&f, "根\n治 a\nb 包\n好", NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 0);
  const char *t = "前言\n特效药\n首款神效\n神效啊";
  scan(&f, t, NULL);
  ck_assert_uint_eq(f.n, 3);
  expect_hit(&f, 0, 0, 3, t, "", "特效");
  expect_hit(&f, 1, 0, 5, t, "", "首款");
  expect_hit(&f, 2, 0, 4, t, "首款", "神效");
  fx_done(&f);
}
END_TEST

START_TEST(empty_and_args)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "x", 0);
  ck_assert_int_eq(qw_matcher_builder_add_literal(b, (uint32_t)s, "", 0, 0),
                   -EINVAL);
  ck_assert_int_eq(qw_matcher_builder_add_literal(b, 7, "a", 1, 0), -EINVAL);
  char err[128];
  ck_assert_int_eq(qw_matcher_builder_add_regex(b, (uint32_t)s, "(abc", 0,
                                                err, sizeof(err)), -EINVAL);
  ck_assert_msg(strncmp(err, "offset 4: ", 10) == 0, "err: %s", err);
  ck_assert_int_eq(qw_matcher_builder_add_regex(b, (uint32_t)s, "a[", 0,
                                                err, sizeof(err)), -EINVAL);
  ck_assert_msg(strncmp(err, "offset 2: ", 10) == 0, "err: %s", err);
  rx(b, s, "x*", 0);
  rx(b, s, "(?:|ab)", 0);
  fx f;
  fx_init(&f, b);
  f.n = 0;
  f.rc = qw_matcher_scan(f.m, f.s, "", 0, NULL, &f.hits, &f.n);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 0);
  f.rc = qw_matcher_scan(f.m, f.s, NULL, 0, NULL, &f.hits, &f.n);
  ck_assert_int_eq(f.rc, 0);
  /* empty matches never count; the non-empty alternative is found */
  scan(&f, "zabz xx", NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 2);
  ck_assert_uint_eq(f.hits[0].entry, 1);
  ck_assert_uint_eq(f.hits[0].start, 1);
  ck_assert_uint_eq(f.hits[1].entry, 0);
  ck_assert_uint_eq(f.hits[1].start, 5);
  ck_assert_uint_eq(f.hits[1].end, 7);
  /* appending to an existing array */
  size_t before = f.n;
  f.rc = qw_matcher_scan(f.m, f.s, "ab", 2, NULL, &f.hits, &f.n);
  ck_assert_uint_eq(f.n, before + 1);
  ck_assert_uint_eq(f.hits[0].start, 1);
  ck_assert_uint_eq(f.hits[before].start, 0);
  /* a scratch of another matcher is refused */
  qw_matcher_builder *b2 = qw_matcher_builder_new();
  qw_matcher_builder_new_set(b2, "y", 0);
  qw_matcher *m2 = build(b2);
  qw_matcher_builder_free(b2);
  size_t n = 0;
  qw_hit *h = NULL;
  ck_assert_int_eq(qw_matcher_scan(m2, f.s, "ab", 2, NULL, &h, &n), -EINVAL);
  /* a matcher with no entries at all scans to nothing */
  qw_match_scratch *s2 = qw_match_scratch_new(m2);
  ck_assert_ptr_nonnull(s2);
  ck_assert_int_eq(qw_matcher_scan(m2, s2, "ab", 2, NULL, &h, &n), 0);
  ck_assert_uint_eq(n, 0);
  qw_match_scratch_free(s2);
  qw_matcher_free(m2);
  fx_done(&f);
}
END_TEST

START_TEST(set_bitmap)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  for(int i = 0; i < 10; i++) {
    char name[16];
    snprintf(name, sizeof(name), "s%d", i);
    int s = qw_matcher_builder_new_set(b, name, 0);
    ck_assert_int_eq(s, i);
    lit(b, s, "口罩", 0);
    rx(b, s, "血压[计仪]", 0);
  }
  fx f;
  fx_init(&f, b);
  const char *t = "口罩和血压计";
  scan(&f, t, NULL);
  ck_assert_uint_eq(f.n, 20);
  for(size_t i = 0; i < f.n; i++) {
    ck_assert_uint_eq(f.hits[i].set, i / 2);
    ck_assert_uint_eq(f.hits[i].entry, i % 2);
  }
  uint8_t bits[2] = {0x00, 0x02}; /* set 9 only */
  qw_scan_opts o = {bits};
  scan(&f, t, &o);
  ck_assert_uint_eq(f.n, 2);
  ck_assert_uint_eq(f.hits[0].set, 9);
  ck_assert_uint_eq(f.hits[1].set, 9);
  bits[0] = 0x11; /* sets 0 and 4 */
  bits[1] = 0;
  scan(&f, t, &o);
  ck_assert_uint_eq(f.n, 4);
  ck_assert_uint_eq(f.hits[0].set, 0);
  ck_assert_uint_eq(f.hits[2].set, 4);
  bits[0] = 0;
  scan(&f, t, &o);
  ck_assert_uint_eq(f.n, 0);
  fx_done(&f);
}
END_TEST

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

START_TEST(match_limit)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s0 = qw_matcher_builder_new_set(b, "evil", 0);
  int s1 = qw_matcher_builder_new_set(b, "good", 0);
  rx(b, s0, "(?:(a+)+x|b)", 0);
  lit(b, s1, "根治", 0);
  fx f;
  fx_init(&f, b);
  size_t runs = 40000;
  char *t = malloc(runs + 64);
  ck_assert_ptr_nonnull(t);
  strcpy(t, "根治");
  memset(t + strlen(t), 'a', runs);
  strcpy(t + strlen("根治") + runs, "b\n根治 b");
  double t0 = now_s();
  scan(&f, t, NULL);
  double dt = now_s() - t0;
  ck_assert_int_eq(f.rc, -ETIME);
  ck_assert_msg(dt < 5.0, "took %.2fs", dt);
  /* the other set's hits are still there */
  size_t good = 0;
  for(size_t i = 0; i < f.n; i++)
    good += f.hits[i].set == (uint32_t)s1;
  ck_assert_uint_eq(good, 2);
  free(t);
  fx_done(&f);
}
END_TEST

START_TEST(no_prefilter_notes)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "rule:odd", 0);
  rx(b, s, "a(?R)?b", 0);
  rx(b, s, "\\Aok", 0);
  rx(b, s, "(?|(x)|(y))z", 1);
  lit(b, s, "zz", 0);
  qw_matcher *m = NULL;
  char **notes = NULL;
  size_t nn = 0;
  char err[128];
  ck_assert_int_eq(qw_matcher_build(b, &m, &notes, &nn, err, sizeof(err)),
                   0);
  qw_matcher_builder_free(b);
  /* the exception-only pattern needs no note: it runs only where a hit
   * is */
  ck_assert_uint_eq(nn, 2);
  int seen0 = 0, seen1 = 0, seenx = 0;
  for(size_t i = 0; i < nn; i++) {
    seen0 |= strncmp(notes[i], "set rule:odd entry 0: ", 22) == 0;
    seen1 |= strncmp(notes[i], "set rule:odd entry 1: ", 22) == 0;
    seenx |= strncmp(notes[i], "set rule:odd exception 0: ", 26) == 0;
    free(notes[i]);
  }
  free(notes);
  ck_assert(seen0 && seen1 && !seenx);
  qw_match_scratch *sc = qw_match_scratch_new(m);
  qw_hit *h = NULL;
  size_t n = 0;
  const char *t = "ok aabb\nok xz ab zz yzz";
  ck_assert_int_eq(qw_matcher_scan(m, sc, t, strlen(t), NULL, &h, &n), 0);
  /* ok(0) aabb(3) | ok(8) ab(14) zz(17); the zz of "yzz" overlaps the
   * exception match "yz" */
  ck_assert_uint_eq(n, 5);
  ck_assert_uint_eq(h[0].entry, 1);
  ck_assert_uint_eq(h[0].start, 0);
  ck_assert_uint_eq(h[1].entry, 0);
  ck_assert_uint_eq(h[1].start, 3);
  ck_assert_uint_eq(h[1].end, 7);
  ck_assert_uint_eq(h[2].entry, 1);
  ck_assert_uint_eq(h[2].start, 8);
  ck_assert_uint_eq(h[3].entry, 0);
  ck_assert_uint_eq(h[3].start, 14);
  ck_assert_uint_eq(h[4].entry, 2);
  ck_assert_uint_eq(h[4].start, 17);
  free(h);
  qw_match_scratch_free(sc);
  qw_matcher_free(m);
}
END_TEST

START_TEST(shared_patterns)
{
  /* one exceptions list used by three sets, as packs do; the pattern is
   * compiled once but each set gets its own entry numbers */
  qw_matcher_builder *b = qw_matcher_builder_new();
  for(int i = 0; i < 3; i++) {
    int s = qw_matcher_builder_new_set(b, "claim", 0);
    if(i == 1)
      rx(b, s, "最(?:佳|好)", 0);
    lit(b, s, "第一", 0);
    rx(b, s, "第一(?:类|次)", 1);
    rx(b, s, "最(?:佳|好)", 0);
    rx(b, s, "第一(?:类|次)", 1);
  }
  fx f;
  fx_init(&f, b);
  const char *t = "第一类医疗器械\n销量第一 最佳\n第一次使用";
  scan(&f, t, NULL);
  ck_assert_int_eq(f.rc, 0);
  ck_assert_uint_eq(f.n, 6);
  for(size_t i = 0; i < 6; i++) {
    ck_assert_uint_eq(f.hits[i].set, i / 2);
    ck_assert_uint_eq(f.hits[i].entry, (i % 2) ? (i / 2 == 1 ? 0 : 1) :
                                                (i / 2 == 1 ? 1 : 0));
  }
  ck_assert_str_eq(qw_matcher_entry_text(f.m, 1, 0), "最(?:佳|好)");
  ck_assert_str_eq(qw_matcher_entry_text(f.m, 1, 2), "最(?:佳|好)");
  /* only set 2 wanted: its lazy exception still applies */
  uint8_t bits = 4;
  qw_scan_opts o = {&bits};
  scan(&f, t, &o);
  ck_assert_uint_eq(f.n, 2);
  ck_assert_uint_eq(f.hits[0].set, 2);
  fx_done(&f);
}
END_TEST

typedef struct {
  const qw_matcher *m;
  const char *text;
  size_t expect;
  int ok;
} thr_arg;

static void *thr_main(void *p)
{
  thr_arg *a = p;
  qw_match_scratch *s = qw_match_scratch_new(a->m);
  a->ok = s != NULL;
  qw_hit *h = NULL;
  for(int i = 0; i < 200 && a->ok; i++) {
    size_t n = 0;
    if(qw_matcher_scan(a->m, s, a->text, strlen(a->text), NULL, &h, &n) ||
       n != a->expect)
      a->ok = 0;
  }
  free(h);
  qw_match_scratch_free(s);
  return NULL;
}

START_TEST(threads)
{
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s = qw_matcher_builder_new_set(b, "x", 0);
  lit(b, s, "隐形眼镜", 0);
  rx(b, s, "美瞳\\S{0,3}片", 0);
  qw_matcher *m = build(b);
  qw_matcher_builder_free(b);
  thr_arg a[4];
  pthread_t t[4];
  for(int i = 0; i < 4; i++) {
    a[i].m = m;
    a[i].text = (i & 1) ? "隐形眼镜 美瞳日抛片 隐形眼镜" : "美瞳半年抛片";
    a[i].expect = (i & 1) ? 3 : 1;
    a[i].ok = 0;
    ck_assert_int_eq(pthread_create(&t[i], NULL, thr_main, &a[i]), 0);
  }
  for(int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ck_assert(a[i].ok);
  }
  qw_matcher_free(m);
}
END_TEST

/* ---- 10k terms -------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static size_t put_cp(char *o, uint32_t cp)
{
  if(cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if(cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  o[0] = (char)(0xE0 | (cp >> 12));
  o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

START_TEST(ten_thousand_terms)
{
  rng_state = 0x9e3779b97f4a7c15ull;
  qw_matcher_builder *b = qw_matcher_builder_new();
  int s0 = qw_matcher_builder_new_set(b, "extra", 0);
  int s1 = qw_matcher_builder_new_set(b, "devices", 0);
  char term[32];
  char probe[3][32];
  for(int i = 0; i < 10000; i++) {
    size_t n = 2 + rnd() % 4, len = 0;
    for(size_t k = 0; k < n; k++)
      len += put_cp(term + len, 0x4E00 + rnd() % 0x51A5);
    term[len] = '\0';
    int r = qw_matcher_builder_add_literal(b, (uint32_t)s0, term, len, 0);
    ck_assert_int_eq(r, i);
    if(i == 17 || i == 5000 || i == 9999)
      strcpy(probe[i == 17 ? 0 : i == 5000 ? 1 : 2], term);
  }
  lit(b, s1, "血糖仪", 0);
  double t0 = now_s();
  fx f;
  fx_init(&f, b);
  double dt = now_s() - t0;
  ck_assert_msg(dt < 30.0, "build took %.1fs", dt);
  char text[256];
  snprintf(text, sizeof(text), "某品牌%s血糖仪，%s！\n%s", probe[0],
           probe[1], probe[2]);
  scan(&f, text, NULL);
  ck_assert_int_eq(f.rc, 0);
  int found[3] = {0, 0, 0}, dev = 0;
  for(size_t i = 0; i < f.n; i++) {
    if(f.hits[i].set == (uint32_t)s1)
      dev++;
    else
      for(int k = 0; k < 3; k++)
        if(strcmp(qw_matcher_entry_text(f.m, 0, f.hits[i].entry),
                  probe[k]) == 0)
          found[k] = 1;
  }
  ck_assert_int_eq(dev, 1);
  ck_assert(found[0] && found[1] && found[2]);
  fx_done(&f);
}
END_TEST

/* ---- property test against a brute-force reference -------------------- */

/* Alphabet of the random texts: Han characters that the patterns use,
 * negators, clause punctuation, ASCII, '\n'. */
static const char *const alpha[] = {
  "根", "治", "愈", "不", "能", "无", "法", "效", "a", "b", "A", " ", "，",
  "。", ",", "\n", "1", "%", "病", "k", "\xE2\x84\xAA", /* KELVIN SIGN */
  "0", "2", "3", "1",
};
#define N_ALPHA (sizeof(alpha) / sizeof(alpha[0]))

static const char *const patterns[] = {
  "根治", "治愈?", "a+b", "[ab]{2}", "(?<!不)治", "治$", "^根", "a(?=b)",
  "(?:a|ab)(?:c|bcd)?", "\\d+%", "不?能", "效\\S{0,2}病", "(?:|ab)", "A",
  "\\bab\\b", "根\\s*治", "(a)\\1", "\\Aa", "b\\z", "[^a]治", "治.",
  "(?i)B", "愈|愈愈", "x*",
  /* with literal anchors (anchors.h): confirmed near the anchor hits */
  "根[^，。]{0,3}?治", "(?:根|无)治?效", "(?<=不.)治", "愈.{0,2}效",
  "效\\s*病", "ak根", "(?:根治|治愈)+", "治(?!愈)",
  /* a caseless anchor of 6 bytes or more (the literal scanner's) */
  "abk根治",
  /* no literal anchor, but a run of digits (RX_DIGITS) */
  "1[0-9]{3}", "(?:12|30)[0-9]{3}%?", "[0-3]{2}\\b[0-9]{2,3}",
  "(?<![0-9])[0-9]{4,5}",
  /* partner sets (anchors.h): anchor strings also in the prefix and the
   * gap, repeated, case-insensitive partners */
  "(?:治愈)?根.{0,2}治", "根治.{0,3}?根治?", "治.{0,2}根[^，]{0,2}治",
  "(?:根|效).{0,3}效病", "abk.{0,2}bak", "根.{0,2}abk", "病\\s*效.*愈",
};
#define N_PATTERNS (sizeof(patterns) / sizeof(patterns[0]))

typedef struct {
  int is_rx, exc;
  char text[48];
  pcre2_code *code;
  uint32_t idx;
} ref_entry;

typedef struct {
  ref_entry e[8];
  int n;
  unsigned neg;
} ref_set;

typedef struct {
  uint32_t set, entry;
  size_t start, end;
} rh;

static void rand_literal(char *o)
{
  size_t n = 1 + rnd() % 3, len = 0;
  for(size_t k = 0; k < n; k++) {
    const char *c;
    do
      c = alpha[rnd() % N_ALPHA];
    while(c[0] == '\n' && rnd() % 4);
    strcpy(o + len, c);
    len += strlen(c);
  }
}

static void rand_text(char *o, size_t max_chars)
{
  size_t n = rnd() % (max_chars + 1), len = 0;
  for(size_t k = 0; k < n; k++) {
    const char *c = alpha[rnd() % N_ALPHA];
    strcpy(o + len, c);
    len += strlen(c);
  }
  o[len] = '\0';
}

static int rh_cmp(const void *a, const void *b)
{
  const rh *x = a, *y = b;
  if(x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if(x->end != y->end)
    return x->end > y->end ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static size_t ref_occ(const ref_entry *e, const char *t, size_t len,
                      pcre2_match_data *md, rh *out, size_t n)
{
  if(!e->is_rx) {
    size_t l = strlen(e->text);
    for(size_t i = 0; i + l <= len; i++)
      if(memcmp(t + i, e->text, l) == 0 && !memchr(e->text, '\n', l)) {
        out[n].entry = e->idx;
        out[n].start = i;
        out[n].end = i + l;
        n++;
      }
    return n;
  }
  size_t bs = 0;
  while(bs <= len) {
    const char *nl = memchr(t + bs, '\n', len - bs);
    size_t be = nl ? (size_t)(nl - t) : len;
    PCRE2_SPTR s = (PCRE2_SPTR)(t + bs);
    size_t sl = be - bs, off = 0;
    uint32_t opts = 0;
    while(off <= sl) {
      int rc = pcre2_match(e->code, s, sl, off, opts, md, NULL);
      if(rc == PCRE2_ERROR_NOMATCH) {
        if(!opts)
          break;
        opts = 0;
        off++;
        while(off < sl && (s[off] & 0xC0) == 0x80)
          off++;
        continue;
      }
      ck_assert_int_ge(rc, 0);
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      if(ov[1] > ov[0]) {
        out[n].entry = e->idx;
        out[n].start = bs + ov[0];
        out[n].end = bs + ov[1];
        n++;
      }
      off = ov[1];
      opts = ov[1] == ov[0] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
      if(ov[1] == ov[0] && off >= sl)
        break;
    }
    if(!nl)
      break;
    bs = be + 1;
  }
  return n;
}

/* Reference negation on code points: the win characters before the hit,
 * cut at the clause end, contain 不 or a two-character negator. */
static int ref_negated(const char *t, size_t start, unsigned win)
{
  uint32_t cps[256];
  size_t n = 0;
  for(size_t i = 0; i < start;) {
    unsigned char c = (unsigned char)t[i];
    uint32_t cp;
    size_t l = c < 0x80 ? 1 : c < 0xE0 ? 2 : 3;
    if(l == 1)
      cp = c;
    else if(l == 2)
      cp = ((c & 0x1Fu) << 6) | (t[i + 1] & 0x3Fu);
    else
      cp = ((c & 0x0Fu) << 12) | ((t[i + 1] & 0x3Fu) << 6) |
           (t[i + 2] & 0x3Fu);
    cps[n++] = cp;
    i += l;
  }
  size_t from = n > win ? n - win : 0;
  for(size_t k = n; k > from; k--) {
    uint32_t c = cps[k - 1];
    if(c == '\n' || c == ',' || c == 0xFF0C || c == 0x3002 || c == ';' ||
       c == '!' || c == '?')
      {
        from = k;
        break;
      }
  }
  for(size_t k = from; k < n; k++) {
    if(cps[k] == 0x4E0D)
      return 1;
    if(k + 1 < n && cps[k] == 0x65E0 && cps[k + 1] == 0x6CD5)
      return 1;
  }
  return 0;
}

START_TEST(property_vs_reference)
{
  rng_state = 0x1234567887654321ull;
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  ck_assert_ptr_nonnull(md);
  size_t compared = 0, nonempty = 0;
  for(int round = 0; round < 150; round++) {
    ref_set sets[3];
    int n_sets = 1 + (int)(rnd() % 3);
    qw_matcher_builder *b = qw_matcher_builder_new();
    for(int si = 0; si < n_sets; si++) {
      ref_set *rs = &sets[si];
      rs->neg = rnd() % 3 ? 0 : 1 + rnd() % 6;
      rs->n = 1 + (int)(rnd() % 8);
      ck_assert_int_eq(qw_matcher_builder_new_set(b, "s", rs->neg), si);
      uint32_t ne = 0;
      for(int k = 0; k < rs->n; k++) {
        ref_entry *e = &rs->e[k];
        e->is_rx = rnd() % 2;
        e->exc = rnd() % 5 == 0;
        e->code = NULL;
        if(e->is_rx) {
          strcpy(e->text, patterns[rnd() % N_PATTERNS]);
          int ec;
          PCRE2_SIZE eo;
          e->code = pcre2_compile((PCRE2_SPTR)e->text, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS |
                                  PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
          ck_assert_ptr_nonnull(e->code);
          rx(b, si, e->text, e->exc);
        }
        else {
          rand_literal(e->text);
          lit(b, si, e->text, e->exc);
        }
        e->idx = e->exc ? 0 : ne++;
      }
    }
    fx f;
    fx_init(&f, b);
    for(int it = 0; it < 25; it++) {
      char t[40 * 4 + 1];
      rand_text(t, 40);
      size_t len = strlen(t);
      uint8_t bits = (uint8_t)(rnd() % 8);
      qw_scan_opts o = {&bits};
      int use_bits = rnd() % 4 == 0;
      /* reference */
      rh expect[512];
      size_t ne = 0;
      for(int si = 0; si < n_sets; si++) {
        if(use_bits && !((bits >> si) & 1))
          continue;
        rh cand[256], exc[256];
        size_t nc = 0, nx = 0;
        for(int k = 0; k < sets[si].n; k++) {
          const ref_entry *e = &sets[si].e[k];
          if(e->exc)
            nx = ref_occ(e, t, len, md, exc, nx);
          else
            nc = ref_occ(e, t, len, md, cand, nc);
        }
        qsort(cand, nc, sizeof(rh), rh_cmp);
        size_t cur = 0;
        for(size_t i = 0; i < nc; i++) {
          if(cand[i].start < cur)
            continue;
          cur = cand[i].end;
          int drop = 0;
          for(size_t x = 0; x < nx && !drop; x++)
            drop = exc[x].start < cand[i].end && exc[x].end > cand[i].start;
          if(drop)
            continue;
          if(sets[si].neg && ref_negated(t, cand[i].start, sets[si].neg))
            continue;
          expect[ne] = cand[i];
          expect[ne].set = (uint32_t)si;
          ne++;
        }
      }
      /* with the AVX-512 paths (where the CPU has them), then without */
      for(int simd = 1; simd >= 0; simd--) {
      qw_matcher_use_simd(f.m, simd);
      scan(&f, t, use_bits ? &o : NULL);
      ck_assert_int_eq(f.rc, 0);
      ck_assert_msg(f.n == ne, "round %d text '%s': %zu hits, expected %zu",
                    round, t, f.n, ne);
      for(size_t i = 0; i < ne; i++) {
        ck_assert_msg(f.hits[i].set == expect[i].set &&
                      f.hits[i].entry == expect[i].entry &&
                      f.hits[i].start == expect[i].start &&
                      f.hits[i].end == expect[i].end,
                      "round %d text '%s' hit %zu: got %u/%u %zu-%zu, "
                      "expected %u/%u %zu-%zu", round, t, i, f.hits[i].set,
                      f.hits[i].entry, f.hits[i].start, f.hits[i].end,
                      expect[i].set, expect[i].entry, expect[i].start,
                      expect[i].end);
      }
      }
      compared++;
      nonempty += ne > 0;
    }
    fx_done(&f);
    for(int si = 0; si < n_sets; si++)
      for(int k = 0; k < sets[si].n; k++)
        pcre2_code_free(sets[si].e[k].code);
  }
  pcre2_match_data_free(md);
  ck_assert_uint_eq(compared, 150 * 25);
  ck_assert_msg(nonempty > compared / 3, "too few texts with hits: %zu",
                nonempty);
}
END_TEST

static Suite *matcher_suite(void)
{
  Suite *s = suite_create("matcher");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, literals_longest);
  tcase_add_test(tc, overlap_cases);
  tcase_add_test(tc, regex_and_mixed);
  tcase_add_test(tc, partner_sets);
  tcase_add_test(tc, digit_runs_long);
  tcase_add_test(tc, exceptions);
  tcase_add_test(tc, negation);
  tcase_add_test(tc, newline_boundary);
  tcase_add_test(tc, empty_and_args);
  tcase_add_test(tc, set_bitmap);
  tcase_add_test(tc, match_limit);
  tcase_add_test(tc, no_prefilter_notes);
  tcase_add_test(tc, shared_patterns);
  tcase_add_test(tc, threads);
  tcase_add_test(tc, ten_thousand_terms);
  tcase_add_test(tc, property_vs_reference);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(matcher_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
