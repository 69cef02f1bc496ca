/* test_hsbytes.c — the two rewritings of rule patterns for Hyperscan:
 * - the byte-mode prefilter form (keywords/hsbytes.h): every form Hyperscan
 *   compiles, never misses a match of the original (checked with PCRE2
 *   against Hyperscan over the default pack's patterns and the pack's
 *   fixture pages), and syntax it does not handle is refused so that the
 *   caller keeps the UTF-8 form;
 * - the literal anchors (keywords/anchors.h): the expected sets for known
 *   shapes, and over the same patterns and pages every PCRE2 match holds
 *   one of its pattern's anchors and is no longer than the bound. */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "anchors.h"
#include "buf.h"
#include "hsbytes.h"
#include "qw_test.h"

#define HS_BYTE (HS_FLAG_PREFILTER | HS_FLAG_MULTILINE | HS_FLAG_CASELESS)
#define PCRE_FLAGS (PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | \
                    PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE)

static int on_match(unsigned id, unsigned long long from,
                    unsigned long long to, unsigned flags, void *ctx)
{
  (void)id;
  (void)from;
  (void)to;
  (void)flags;
  *(int *)ctx = 1;
  return 1;
}

typedef struct {
  char *re;
  pcre2_code *pc;      /* compiled as the matcher compiles it */
  hs_database_t *db;   /* its byte form, when it has one */
  qw_anchors an;       /* its anchors, when has_an */
  int has_an;
} pat;

static int load_patterns(pat *v, int cap)
{
  int n = 0;
  const char *dirs[] = {"keywords/pack/lists", "keywords/pack"};
  for(int d = 0; d < 2; d++) {
    char *dir = qw_test_source_path(dirs[d]);
    DIR *dh = opendir(dir);
    ck_assert_ptr_nonnull(dh);
    struct dirent *e;
    while((e = readdir(dh)) != NULL) {
      if(e->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      FILE *f = fopen(path, "r");
      if(!f)
        continue;
      char line[8192];
      while(fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *p = NULL;
        if(!strncmp(line, "re:", 3))
          p = line + 3;
        else if(!strncmp(line, "!re:", 4))
          p = line + 4;
        else if(!strncmp(line, "pattern", 7) || !strncmp(line, "trigger", 7)) {
          const char *eq = strchr(line, '=');
          if(eq) {
            p = eq + 1;
            while(*p == ' ')
              p++;
          }
        }
        if(!p || !*p || n >= cap)
          continue;
        memset(&v[n], 0, sizeof(v[n]));
        v[n].re = strdup(p);
        int ec;
        PCRE2_SIZE eo;
        v[n].pc = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED,
                                PCRE_FLAGS, &ec, &eo, NULL);
        ck_assert_msg(v[n].pc != NULL, "pack pattern does not compile: %s",
                      p);
        n++;
      }
      fclose(f);
    }
    closedir(dh);
    free(dir);
  }
  return n;
}

static void free_patterns(pat *v, int n)
{
  for(int i = 0; i < n; i++) {
    free(v[i].re);
    pcre2_code_free(v[i].pc);
    hs_free_database(v[i].db);
    qw_anchors_free(&v[i].an);
  }
}

/* Calls fn on every block of every fixture page (its lines: the matcher
 * scans block by block). */
static void each_block(void (*fn)(const char *page, const char *blk,
                                      size_t len, void *ud), void *ud)
{
  char *pages = qw_test_source_path("tests/fixtures/pages");
  DIR *dh = opendir(pages);
  ck_assert_ptr_nonnull(dh);
  struct dirent *e;
  while((e = readdir(dh)) != NULL) {
    size_t l = strlen(e->d_name);
    if(l < 6 || strcmp(e->d_name + l - 5, ".html"))
      continue;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", pages, e->d_name);
    size_t len;
    char *text = qw_test_read(path, &len);
    char *save = NULL;
    for(char *blk = strtok_r(text, "\n", &save); blk;
        blk = strtok_r(NULL, "\n", &save)) {
      fn(e->d_name, blk, strlen(blk), ud);
    }
    free(text);
  }
  closedir(dh);
  free(pages);
}

typedef struct {
  pat *v;
  int n;
  pcre2_match_data *md;
  hs_scratch_t *scratch;
  unsigned checked;
} walk;

static void superset_block(const char *page, const char *blk, size_t bl,
                           void *ud)
{
  walk *w = ud;
  for(int i = 0; i < w->n; i++) {
    const pat *v = &w->v[i];
    if(!v->db ||
       pcre2_match(v->pc, (PCRE2_SPTR)blk, bl, 0, 0, w->md, NULL) < 0)
      continue;
    ck_assert(hs_alloc_scratch(v->db, &w->scratch) == HS_SUCCESS);
    int hit = 0;
    hs_scan(v->db, blk, (unsigned)bl, 0, w->scratch, on_match, &hit);
    ck_assert_msg(hit, "byte form misses \"%s\" in %s: %.120s", v->re, page,
                  blk);
    w->checked++;
  }
}

/* Every default-pack pattern: the byte form compiles, and wherever PCRE2
 * finds the original in a block of a fixture page, Hyperscan reports the
 * byte form in that block. */
START_TEST(test_pack_superset)
{
  static pat v[512];
  int n = load_patterns(v, 512);
  ck_assert_int_gt(n, 60);
  int converted = 0;
  for(int i = 0; i < n; i++) {
    qw_buf b = QW_BUF_INIT;
    if(qw_hs_byte_superset(v[i].re, &b) != 0)
      continue;
    hs_compile_error_t *ce = NULL;
    ck_assert_msg(hs_compile(b.data, HS_BYTE, HS_MODE_BLOCK, NULL, &v[i].db,
                             &ce) == HS_SUCCESS,
                  "%s -> %s: %s", v[i].re, b.data, ce ? ce->message : "");
    qw_buf_free(&b);
    converted++;
  }
  ck_assert_int_ge(converted, n * 9 / 10);
  walk w = {v, n, pcre2_match_data_create(4, NULL), NULL, 0};
  each_block(superset_block, &w);
  ck_assert_uint_gt(w.checked, 20);
  hs_free_scratch(w.scratch);
  pcre2_match_data_free(w.md);
  free_patterns(v, n);
}
END_TEST

/* 1 when t[0..n) holds one of a's anchors (ASCII case-insensitively). */
static int holds_anchor(const qw_anchors *a, const char *t, size_t n)
{
  for(size_t k = 0; k < a->n; k++)
    for(size_t i = 0; i + a->len[k] <= n; i++) {
      size_t j = 0;
      while(j < a->len[k] && tolower((unsigned char)t[i + j]) ==
                             tolower((unsigned char)a->lit[k][j]))
        j++;
      if(j == a->len[k])
        return 1;
    }
  return 0;
}

static void anchors_block(const char *page, const char *blk, size_t bl,
                          void *ud)
{
  walk *w = ud;
  for(int i = 0; i < w->n; i++) {
    const pat *v = &w->v[i];
    size_t off = 0;
    while(v->has_an && off <= bl &&
          pcre2_match(v->pc, (PCRE2_SPTR)blk, bl, off, 0, w->md, NULL) >= 0) {
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(w->md);
      ck_assert_msg(holds_anchor(&v->an, blk + ov[0], ov[1] - ov[0]),
                    "%s: match of \"%s\" without an anchor: %.*s", page,
                    v->re, (int)(ov[1] - ov[0]), blk + ov[0]);
      ck_assert_msg(v->an.max_len < 0 ||
                    ov[1] - ov[0] <= (size_t)v->an.max_len,
                    "match of \"%s\" longer than %ld bytes", v->re,
                    v->an.max_len);
      w->checked++;
      off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
  }
}

/* Every default-pack pattern with anchors: each match PCRE2 finds in a
 * block of a fixture page (global iteration, as the matcher runs) holds an
 * anchor and is at most max_len bytes long. */
START_TEST(test_pack_anchors)
{
  static pat v[512];
  int n = load_patterns(v, 512), anchored = 0;
  for(int i = 0; i < n; i++) {
    int r = qw_anchors_find(v[i].re, 3, &v[i].an);
    ck_assert_msg(r == 0 || r == -EINVAL, "%s: %d", v[i].re, r);
    v[i].has_an = r == 0;
    anchored += v[i].has_an;
  }
  ck_assert_int_ge(anchored, n * 8 / 10);
  walk w = {v, n, pcre2_match_data_create(4, NULL), NULL, 0};
  each_block(anchors_block, &w);
  ck_assert_uint_gt(w.checked, 20);
  pcre2_match_data_free(w.md);
  free_patterns(v, n);
}
END_TEST

/* Appends the n strings lit[k] (len[k] bytes) as "[a][b]…" to out at o
 * (cap bytes in all); returns the new o. */
static size_t put_strings(char *out, size_t o, size_t cap,
                          char (*lit)[QW_ANCHOR_MAX_BYTES], const size_t *len,
                          size_t n)
{
  for(size_t k = 0; k < n && o < cap; k++)
    o += (size_t)snprintf(out + o, cap - o, "[%.*s]", (int)len[k], lit[k]);
  return o;
}

/* The anchors of re at min_bytes 3, as "[a][b]…/max", or NULL. */
static const char *anchors_of(const char *re)
{
  static char out[1024];
  qw_anchors a;
  if(qw_anchors_find(re, 3, &a))
    return NULL;
  size_t o = put_strings(out, 0, sizeof(out), a.lit, a.len, a.n);
  snprintf(out + o, sizeof(out) - o, "/%ld", a.max_len);
  qw_anchors_free(&a);
  return out;
}

START_TEST(test_anchor_forms)
{
  ck_assert_str_eq(anchors_of("根治"), "[根治]/6");
  /* optional parts: the product */
  ck_assert_str_eq(anchors_of("(?:三甲|公立)?医院(?:同款|专用)"),
                   "[医院同款][医院专用][三甲医院同款][三甲医院专用]"
                   "[公立医院同款][公立医院专用]/18");
  /* a gap: the longer side; the gap counts 4 bytes a character */
  ck_assert_str_eq(anchors_of("(?:隐形眼镜|隐形)[^,，。\\n]{0,6}?"
                              "(?:护理液|冲洗液)"), "[护理液][冲洗液]/45");
  ck_assert_str_eq(anchors_of("治愈?"), "[治][治愈]/6");
  ck_assert_str_eq(anchors_of("(?<!不)治(?!疗)"), "[治]/3");
  ck_assert_str_eq(anchors_of("top\\s*1"), "[top]/-1");
  ck_assert_str_eq(anchors_of("(?:根治|治愈)+"), "[根治][治愈]/-1");
  /* k and s also match KELVIN SIGN and LONG S */
  ck_assert_str_eq(anchors_of("ok镜"), "[ok镜][o\xE2\x84\xAA镜]/7");
  /* an alternation needs an anchor in every branch */
  ck_assert_str_eq(anchors_of("根治|无效退款"), "[根治][无效退款]/12");
  /* a letter with non-ASCII case variants is no literal; its neighbours
   * still are */
  ck_assert_str_eq(anchors_of("é根"), "[根]/5");
  /* too short, or no literal at all: refused */
  const char *no[] = {"\\d+%", "a[^,]{0,2}b", "根|x", "(?:根治)?", "éü",
                      "(?i)根治", "\\p{Han}治", "(根)\\1", "[[:alpha:]]",
                      "根治)", ".*"};
  for(size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    ck_assert_msg(anchors_of(no[i]) == NULL, "%s should have no anchors",
                  no[i]);
}
END_TEST

/* The partner set of re at min_bytes 3, as "<[a][b]…" (before the
 * anchors) or ">[a][b]…" (after them), "" when it has none, NULL when re
 * has no anchors. */
static const char *partners_of(const char *re)
{
  static char out[1024];
  qw_anchors a;
  if(qw_anchors_find(re, 3, &a))
    return NULL;
  out[0] = '\0';
  if(a.n_partner) {
    snprintf(out, sizeof(out), "%c", a.partner_after ? '>' : '<');
    put_strings(out, 1, sizeof(out), a.plit, a.plen, a.n_partner);
  }
  qw_anchors_free(&a);
  return out;
}

START_TEST(test_partners)
{
  /* a gap between two sets: the other side is the partner */
  ck_assert_str_eq(partners_of("(?:隐形眼镜|隐形)[^,，。\\n]{0,6}?"
                               "(?:护理液|冲洗液)"), "<[隐形眼镜][隐形]");
  ck_assert_str_eq(partners_of("射频[^，]{0,4}?(?:美容|抗衰)"),
                   ">[美容][抗衰]");
  ck_assert_str_eq(partners_of("(?:美容|紧致)[^，]{0,3}?射频"),
                   "<[美容][紧致]");
  /* the product of an optional prefix is one part */
  ck_assert_str_eq(partners_of("(?:治愈)?根.{0,2}治"), "<[根][治愈根]");
  /* one part only, a top-level alternation, a partner too short */
  ck_assert_str_eq(partners_of("根治"), "");
  ck_assert_str_eq(partners_of("根.{0,2}治|无效退款"), "");
  ck_assert_str_eq(partners_of("(?:注册证|备案)[^:]{0,3}:"), "");
  /* sets inside a group are not the top-level sequence's parts */
  ck_assert_str_eq(partners_of("(?:根.{0,2}治)+"), "");
}
END_TEST

static const char *conv(const char *re)
{
  static qw_buf b;
  qw_buf_free(&b);
  b = (qw_buf)QW_BUF_INIT;
  int r = qw_hs_byte_superset(re, &b);
  return r ? NULL : b.data;
}

/* The digit run of re at min_bytes 3 (every match holds that many
 * consecutive ASCII digits), whether or not it has literal anchors; 0
 * when the reader refuses the syntax, -1 on another error. */
static long digit_run_of(const char *re)
{
  qw_anchors a;
  int r = qw_anchors_find(re, 3, &a);
  long run = (r == 0 || r == -EINVAL) ? (long)a.digit_run : -1;
  qw_anchors_free(&a);
  return run;
}

START_TEST(test_digit_runs)
{
  /* mobile and landline numbers: no literal anchor, a digit run */
  ck_assert_int_eq(digit_run_of("1[3-9][0-9]{9}"), 11);
  ck_assert_int_eq(digit_run_of("0[0-9]{2,3}-[0-9]{7,8}"), 7);
  ck_assert_int_eq(digit_run_of("(?:13|15)[0-9]{9}"), 11);
  /* zero-width parts do not break a run; an optional digit adds none */
  ck_assert_int_eq(digit_run_of("(?<![0-9])1[0-9]\\b[0-9]{3}(?![0-9])"), 5);
  ck_assert_int_eq(digit_run_of("[0-9]{3}[0-9]?"), 3);
  /* an alternation: its shortest branch */
  ck_assert_int_eq(digit_run_of("[0-9]{3}|[0-9]{5}"), 3);
  ck_assert_int_eq(digit_run_of("[0-9]{6}|号码"), 0);
  /* the longest of the runs in a sequence */
  ck_assert_int_eq(digit_run_of("[0-9]{2}x[0-9]{4}y[0-9]"), 4);
  ck_assert_int_eq(digit_run_of("(?:[0-9]{4}-)+[0-9]{2}"), 4);
  /* \d takes other scripts' digits (Unicode properties): no run */
  ck_assert_int_eq(digit_run_of("\\d{11}"), 0);
  ck_assert_int_eq(digit_run_of("[0-9]{0,3}"), 0);
  ck_assert_int_eq(digit_run_of("[^a][0-9]{2}"), 2);
  ck_assert_int_eq(digit_run_of("no\\.?\\s*1"), 1);
  /* a pattern with literal anchors has its run too */
  ck_assert_int_eq(digit_run_of("械注准[0-9]{10}"), 10);
  ck_assert_int_eq(digit_run_of("(根"), 0);
  ck_assert_int_eq(digit_run_of("[0-9]{8}(?:"), 0);
}
END_TEST

START_TEST(test_forms)
{
  /* a gap of any character but a few: a byte class, bounds x4 */
  ck_assert_str_eq(conv("a[^,，]{0,2}b"), "\\x61[^\\x2c]{0,8}\\x62");
  /* a quantified non-ASCII character is grouped */
  ck_assert_str_eq(conv("的?"), "(?:\\xe7\\x9a\\x84){0,1}");
  /* look-arounds and \b go (a superset), lazy marks too */
  ck_assert_str_eq(conv("(?<![0-9])1[3-9]\\b"), "\\x31[\\x33-\\x39]");
  ck_assert_str_eq(conv("x.{1,3}?y"), "\\x78[^\\n]{1,12}\\x79");
  /* PCRE2 without ALT_BSUX has no \u: neither has the reader */
  ck_assert_ptr_null(conv("[\\u4e00-\\u9fa5]"));
  ck_assert_ptr_nonnull(conv("[一-龥]械"));
  ck_assert_ptr_nonnull(conv("100\\s*%"));
  /* refused: the caller keeps the UTF-8 form */
  const char *no[] = {"(?i)a", "\\p{Han}", "(a)\\1", "[[:alpha:]]", "a{",
                      "*a", "(?>a)", "Ä", "[à-ÿ]", "(?<=a", "a)", "",
                      "(?=a)", "\\Qa\\E"};
  for(size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    ck_assert_msg(conv(no[i]) == NULL, "%s should be refused", no[i]);
  conv(""); /* frees the buffer */
}
END_TEST

static Suite *hsbytes_suite(void)
{
  Suite *s = suite_create("hsbytes");
  TCase *tc = tcase_create("hsbytes");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_forms);
  tcase_add_test(tc, test_pack_superset);
  tcase_add_test(tc, test_anchor_forms);
  tcase_add_test(tc, test_digit_runs);
  tcase_add_test(tc, test_partners);
  tcase_add_test(tc, test_pack_anchors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(hsbytes_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
