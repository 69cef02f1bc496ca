/* test_litscan.c — the multi-literal scanner (keywords/litscan.h): what it
 * accepts, exact and case-insensitive literals, literals sharing a 6-byte
 * key, texts ending inside a literal, and a property test against a
 * brute-force search, run with the AVX-512 filter (where the CPU has it)
 * and with the portable loop on the same texts. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "litscan.h"

typedef struct {
  unsigned id;
  size_t end;
} occ;

typedef struct {
  occ *v;
  size_t n, cap;
  size_t last_start; /* reports come in order of their start */
  const size_t *lens; /* by id */
  int stop_after;     /* stop the scan after this many reports (0: never) */
} sink;

static int collect(unsigned id, size_t end, void *ctx)
{
  sink *k = ctx;
  size_t start = end - k->lens[id];
  ck_assert_uint_ge(start, k->last_start);
  k->last_start = start;
  if(k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 64;
    k->v = realloc(k->v, k->cap * sizeof(*k->v));
    ck_assert_ptr_nonnull(k->v);
  }
  k->v[k->n].id = id;
  k->v[k->n].end = end;
  k->n++;
  return k->stop_after && (int)k->n >= k->stop_after;
}

static int occ_cmp(const void *a, const void *b)
{
  const occ *x = a, *y = b;
  if(x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int is_letter(unsigned char c)
{
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int same(const char *a, const char *b, size_t n, int caseless)
{
  for(size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if(x != y && !(caseless && is_letter(x) && (x ^ y) == 0x20))
      return 0;
  }
  return 1;
}

/* Every occurrence of every literal, by brute force. */
static size_t brute(const char *const *lits, const size_t *lens,
                    const unsigned *flags, size_t n, const char *t,
                    size_t len, occ *out)
{
  size_t k = 0;
  for(size_t i = 0; i < n; i++)
    for(size_t p = 0; p + lens[i] <= len; p++)
      if(same(t + p, lits[i], lens[i], flags && flags[i]))
        out[k++] = (occ){(unsigned)i, p + lens[i]};
  return k;
}

/* Scans t with ls and checks the reports against brute force. */
static void check_scan(const qw_litscan *ls, const char *const *lits,
                       const size_t *lens, const unsigned *flags, size_t n,
                       const char *t, size_t len)
{
  sink k = {NULL, 0, 0, 0, lens, 0};
  ck_assert_int_eq(qw_litscan_scan(ls, t, len, collect, &k), 0);
  occ *want = malloc((len + 1) * (n + 1) * sizeof(*want));
  ck_assert_ptr_nonnull(want);
  size_t nw = brute(lits, lens, flags, n, t, len, want);
  if(k.n)
    qsort(k.v, k.n, sizeof(*k.v), occ_cmp);
  if(nw)
    qsort(want, nw, sizeof(*want), occ_cmp);
  ck_assert_uint_eq(k.n, nw);
  for(size_t i = 0; i < nw; i++) {
    ck_assert_uint_eq(k.v[i].id, want[i].id);
    ck_assert_uint_eq(k.v[i].end, want[i].end);
  }
  free(want);
  free(k.v);
}

START_TEST(accepts)
{
  ck_assert_int_eq(qw_litscan_accepts("根治", 6), 1);
  ck_assert_int_eq(qw_litscan_accepts("abcdef", 6), 1);
  ck_assert_int_eq(qw_litscan_accepts("abcde", 5), 0);
  ck_assert_int_eq(qw_litscan_accepts("\x80" "abcdef", 7), 0);
  ck_assert_int_eq(qw_litscan_accepts(NULL, 6), 0);
  const char *bad[] = {"abc"};
  size_t len[] = {3};
  unsigned id[] = {0};
  qw_litscan *ls = (qw_litscan *)1;
  ck_assert_int_eq(qw_litscan_build(bad, len, id, NULL, 1, &ls), -EINVAL);
  ck_assert_ptr_null(ls);
  ck_assert_int_eq(qw_litscan_build(NULL, NULL, NULL, NULL, 0, &ls), 0);
  sink k = {NULL, 0, 0, 0, len, 0};
  ck_assert_int_eq(qw_litscan_scan(ls, "根治根治", 12, collect, &k), 0);
  ck_assert_uint_eq(k.n, 0);
  qw_litscan_free(ls);
}
END_TEST

START_TEST(forms)
{
  /* shared 6-byte keys, a caseless literal, a literal at the very end,
   * one longer than 14 bytes (compared past the inline tail) */
  const char *lits[] = {"根治", "根治疗法", "根治率高达百分百", "TopOne",
                        "血糖仪器", "器械"};
  size_t lens[6];
  unsigned ids[6], flags[6] = {0, 0, 0, QW_LITSCAN_CASELESS, 0, 0};
  for(int i = 0; i < 6; i++) {
    lens[i] = strlen(lits[i]);
    ids[i] = (unsigned)i;
  }
  qw_litscan *ls = NULL;
  ck_assert_int_eq(qw_litscan_build(lits, lens, ids, flags, 6, &ls), 0);
  const char *texts[] = {
    "根治疗法，根治率高达百分百！topone TOPONE tOpOnE topon",
    "医疗器械血糖仪器械根治",
    "根治",
    "根",
    "xx根治疗法根治率高达百分",
  };
  for(int simd = 0; simd < 2; simd++) {
    qw_litscan_use_simd(ls, simd);
    for(size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
      check_scan(ls, lits, lens, flags, 6, texts[t], strlen(texts[t]));
  }
  /* the callback stops the scan */
  sink k = {NULL, 0, 0, 0, lens, 1};
  ck_assert_int_eq(qw_litscan_scan(ls, texts[0], strlen(texts[0]), collect,
                                   &k), 1);
  ck_assert_uint_eq(k.n, 1);
  free(k.v);
  qw_litscan_free(ls);
}
END_TEST

static uint64_t rng_state = 0x5157u;

static uint32_t rnd(void)
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

/* Pieces of the random texts and literals: Han characters, ASCII letters
 * of both cases, digits, a 2-byte and a 4-byte character, '\n'. */
static const char *const piece[] = {
  "根", "治", "愈", "疗", "效", "a", "B", "k", "K", "1", "0", " ", "\n",
  "é", "\xF0\x9F\x98\x80", "，",
};
#define N_PIECE (sizeof(piece) / sizeof(piece[0]))

START_TEST(property_vs_brute_force)
{
  enum { N_LITS = 40, TEXT_MAX = 700 };
  static char lit_buf[N_LITS][80];
  static char text[TEXT_MAX * 4 + 1];
  for(int round = 0; round < 300; round++) {
    const char *lits[N_LITS];
    size_t lens[N_LITS];
    unsigned ids[N_LITS], flags[N_LITS];
    size_t n = 1 + rnd() % N_LITS, len = 0;
    size_t tn = rnd() % TEXT_MAX;
    for(size_t c = 0; c < tn; c++) {
      const char *p = piece[rnd() % N_PIECE];
      memcpy(text + len, p, strlen(p));
      len += strlen(p);
    }
    for(size_t i = 0; i < n; i++) {
      size_t l = 0;
      if(len >= 12 && rnd() % 2) {
        /* cut from the text, so that it occurs */
        size_t at = rnd() % (len - 10);
        while(at > 0 && ((unsigned char)text[at] & 0xC0) == 0x80)
          at--;
        l = 6 + rnd() % 16; /* past the 8 bytes after the key too */
        if(at + l > len)
          l = len - at;
        memcpy(lit_buf[i], text + at, l);
      }
      while(l < 6) {
        const char *p = piece[rnd() % N_PIECE];
        memcpy(lit_buf[i] + l, p, strlen(p));
        l += strlen(p);
      }
      lits[i] = lit_buf[i];
      lens[i] = l;
      ids[i] = (unsigned)i;
      flags[i] = rnd() % 3 == 0 ? QW_LITSCAN_CASELESS : 0;
    }
    qw_litscan *ls = NULL;
    ck_assert_int_eq(qw_litscan_build(lits, lens, ids, flags, n, &ls), 0);
    for(int simd = 0; simd < 2; simd++) {
      qw_litscan_use_simd(ls, simd);
      check_scan(ls, lits, lens, flags, n, text, len);
      /* every prefix length near the vector loop's edges */
      for(size_t cut = len > 80 ? len - 80 : 0; cut < len; cut += 7)
        check_scan(ls, lits, lens, flags, n, text, cut);
    }
    qw_litscan_free(ls);
  }
}
END_TEST

/* More literals under one key than one 64-bit compare mask holds, of
 * every length from the key alone to past the 8 bytes after it, some
 * case-insensitive. */
START_TEST(crowded_key)
{
  enum { N = 150 };
  static char buf[N][64];
  const char *lits[N];
  size_t lens[N];
  unsigned ids[N], flags[N];
  for(int i = 0; i < N; i++) {
    int l = snprintf(buf[i], sizeof(buf[i]), "第一%.*s", i % 9,
                     "aBcDeFgHi");
    for(int k = 0; k < i / 9; k++)
      l += snprintf(buf[i] + l, sizeof(buf[i]) - (size_t)l, "%c",
                    'a' + (i + k) % 3);
    lits[i] = buf[i];
    lens[i] = (size_t)l;
    ids[i] = (unsigned)i;
    flags[i] = i % 4 == 0 ? QW_LITSCAN_CASELESS : 0;
  }
  static const char *const texts[] = {
    "第一abcdefghiabcabcabcabc第一", "第一aBcDeFgHibcabcabcab",
    "第一ABCDEFGHIcabcabcab 第一aBcD", "第一", "第一a", "x第一aBcDeFgHi",
  };
  qw_litscan *ls = NULL;
  ck_assert_int_eq(qw_litscan_build(lits, lens, ids, flags, N, &ls), 0);
  for(int simd = 0; simd < 2; simd++) {
    qw_litscan_use_simd(ls, simd);
    for(size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++)
      for(size_t cut = 0; cut <= strlen(texts[t]); cut++)
        check_scan(ls, lits, lens, flags, N, texts[t], cut);
  }
  qw_litscan_free(ls);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("litscan");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, accepts);
  tcase_add_test(tc, forms);
  tcase_add_test(tc, property_vs_brute_force);
  tcase_add_test(tc, crowded_key);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
