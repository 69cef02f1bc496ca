/* test_counter.c — term and pattern counts for `scan --count`:
 * leftmost-longest selection, duplicates, Chinese text, PCRE2 patterns
 * with \u escapes and empty matches, the terms file reader, errors that
 * name what is wrong, and a property test against the brute-force
 * reference (fuzz/count_ref.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "count_ref.h"
#include "counter.h"

typedef struct {
  qw_counter *c;
  qw_counter_scratch *s;
  qw_counts k;
} fx;

static void make(fx *f, const char *const *terms, size_t n,
                 const qw_count_pattern *p, size_t np)
{
  char err[256] = "";
  int r = qw_counter_new(terms, n, p, np, &f->c, err, sizeof(err));
  ck_assert_msg(r == 0, "build: %s", err);
  f->s = qw_counter_scratch_new(f->c);
  ck_assert_ptr_nonnull(f->s);
}

static void count(fx *f, const char *text)
{
  ck_assert_int_eq(qw_counter_count(f->c, f->s, text, strlen(text), &f->k),
                   0);
}

static uint32_t hits_of(const fx *f, const char *term)
{
  for(size_t i = 0; i < qw_counter_terms(f->c); i++)
    if(!strcmp(qw_counter_term(f->c, i), term))
      return f->k.hits[i];
  ck_abort_msg("no term %s", term);
  return 0;
}

static void drop(fx *f)
{
  qw_counter_scratch_free(f->s);
  qw_counter_free(f->c);
}

START_TEST(test_leftmost_longest)
{
  const char *t[] = {"ab", "abc", "bcd", "d"};
  fx f;
  make(&f, t, 4, NULL, 0);
  count(&f, "abcd");
  /* at 0 the longest is "abc"; "bcd" overlaps it; then "d" */
  ck_assert_uint_eq(f.k.terms, 2);
  ck_assert_uint_eq(hits_of(&f, "abc"), 1);
  ck_assert_uint_eq(hits_of(&f, "d"), 1);
  ck_assert_uint_eq(hits_of(&f, "bcd"), 0);
  ck_assert_uint_eq(hits_of(&f, "ab"), 0);
  count(&f, "xxabxabcabcd");
  ck_assert_uint_eq(hits_of(&f, "ab"), 1);
  ck_assert_uint_eq(hits_of(&f, "abc"), 2);
  ck_assert_uint_eq(hits_of(&f, "d"), 1);
  ck_assert_uint_eq(f.k.terms, 4);
  /* counts start again for each text */
  count(&f, "");
  ck_assert_uint_eq(f.k.terms, 0);
  ck_assert_uint_eq(hits_of(&f, "abc"), 0);
  drop(&f);

  const char *aa[] = {"aa"};
  make(&f, aa, 1, NULL, 0);
  count(&f, "aaaaa");
  ck_assert_uint_eq(f.k.terms, 2); /* non-overlapping */
  drop(&f);
}
END_TEST

START_TEST(test_chinese_and_duplicates)
{
  const char *t[] = {"治愈", "治愈率", "愈", "治愈", "械注准"};
  fx f;
  make(&f, t, 5, NULL, 0);
  ck_assert_uint_eq(qw_counter_terms(f.c), 4); /* "治愈" once */
  count(&f, "治愈率高，治愈，愈！國械注准 治 愈");
  ck_assert_uint_eq(hits_of(&f, "治愈率"), 1);
  ck_assert_uint_eq(hits_of(&f, "治愈"), 1);
  ck_assert_uint_eq(hits_of(&f, "愈"), 2); /* "治 愈": byte for byte */
  ck_assert_uint_eq(hits_of(&f, "械注准"), 1);
  ck_assert_uint_eq(f.k.terms, 5);
  drop(&f);
}
END_TEST

START_TEST(test_patterns)
{
  const char *t[] = {"注准"};
  qw_count_pattern p[] = {
    {"reg", "[\\u4e00-\\u9fa5]械注[准进许][0-9]{11}"},
    {"empty", "x*"},
  };
  fx f;
  make(&f, t, 1, p, 2);
  ck_assert_uint_eq(qw_counter_patterns(f.c), 2);
  ck_assert_str_eq(qw_counter_pattern_name(f.c, 0), "reg");
  count(&f, "国械注准20193160123 粤械注准20202140456号 "
            "京械注准2019316012 x械注准20193160123 "
            "国械注准２０１９３１６０１２３");
  ck_assert_uint_eq(f.k.pattern[0], 2); /* ASCII digits, a Han prefix */
  ck_assert_uint_eq(hits_of(&f, "注准"), 5);
  count(&f, "ab"); /* an empty match at each of the 3 positions */
  ck_assert_uint_eq(f.k.pattern[1], 3);
  count(&f, "治x愈");
  ck_assert_uint_eq(f.k.pattern[1], 4); /* "", "x", "", "" */
  drop(&f);
}
END_TEST

START_TEST(test_errors)
{
  qw_counter *c = NULL;
  char err[256];
  const char *empty[] = {"a", ""};
  ck_assert_int_eq(qw_counter_new(empty, 2, NULL, 0, &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "term 2 is empty"));
  const char *bad[] = {"\xff\xfe"};
  ck_assert_int_eq(qw_counter_new(bad, 1, NULL, 0, &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "not valid UTF-8"));
  qw_count_pattern p1[] = {{"reg", "[0-9"}};
  ck_assert_int_eq(qw_counter_new(NULL, 0, p1, 1, &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_msg(strstr(err, "pattern reg:") && strstr(err, "offset"), "%s",
                err);
  qw_count_pattern p2[] = {{"terms", "x"}};
  ck_assert_int_eq(qw_counter_new(NULL, 0, p2, 1, &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "taken"));
  qw_count_pattern p3[] = {{"a", "x"}, {"a", "y"}};
  ck_assert_int_eq(qw_counter_new(NULL, 0, p3, 2, &c, err, sizeof(err)),
                   -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "twice"));
  ck_assert_ptr_null(c);
  /* no terms at all is a counter that counts nothing */
  ck_assert_int_eq(qw_counter_new(NULL, 0, NULL, 0, &c, err, sizeof(err)), 0);
  qw_counter_scratch *s = qw_counter_scratch_new(c);
  qw_counts k;
  ck_assert_int_eq(qw_counter_count(c, s, "abc", 3, &k), 0);
  ck_assert_uint_eq(k.terms, 0);
  qw_counter_scratch_free(s);
  qw_counter_free(c);
}
END_TEST

static char *write_tmp(const char *data, size_t n)
{
  char *path = strdup("/tmp/qw-test-terms-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, data, n), (ssize_t)n);
  close(fd);
  return path;
}

START_TEST(test_read_terms)
{
  const char data[] = "治愈\r\n\n#not a comment\n  spaced \nlast";
  char *path = write_tmp(data, sizeof(data) - 1);
  char **t = NULL;
  size_t n = 0;
  char err[256];
  ck_assert_int_eq(qw_counter_read_terms(path, &t, &n, err, sizeof(err)), 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(t[0], "治愈");
  ck_assert_str_eq(t[1], "#not a comment");
  ck_assert_str_eq(t[2], "  spaced ");
  ck_assert_str_eq(t[3], "last");
  qw_counter_terms_free(t, n);
  unlink(path);
  free(path);

  const char bad[] = "ok\nbad\xff\n";
  path = write_tmp(bad, sizeof(bad) - 1);
  ck_assert_int_eq(qw_counter_read_terms(path, &t, &n, err, sizeof(err)),
                   -EINVAL);
  ck_assert_msg(strstr(err, path) && strstr(err, ":2:"), "%s", err);
  unlink(path);
  free(path);

  ck_assert_int_eq(qw_counter_read_terms("/nonexistent/terms.txt", &t, &n,
                                         err, sizeof(err)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/terms.txt"));
}
END_TEST

/* Random terms and texts over a small alphabet, so that terms overlap and
 * nest often: every count equals the brute-force reference's. */
START_TEST(test_property)
{
  static const char *const alpha[] = {"a", "b", "治", "愈"};
  unsigned seed = 12345;
  for(int round = 0; round < 300; round++) {
    char terms_buf[16][32];
    const char *terms[16];
    size_t n = 1 + (size_t)(rand_r(&seed) % 12), k = 0;
    for(size_t i = 0; i < n; i++) {
      size_t l = 1 + (size_t)(rand_r(&seed) % 4);
      terms_buf[k][0] = '\0';
      for(size_t j = 0; j < l; j++)
        strcat(terms_buf[k], alpha[rand_r(&seed) % 4]);
      int dup = 0;
      for(size_t q = 0; q < k; q++)
        dup |= !strcmp(terms[q], terms_buf[k]);
      if(!dup) {
        terms[k] = terms_buf[k];
        k++;
      }
    }
    char text[1024] = "";
    size_t tl = (size_t)(rand_r(&seed) % 200);
    for(size_t j = 0; j < tl; j++)
      strcat(text, alpha[rand_r(&seed) % 4]);
    fx f;
    make(&f, terms, k, NULL, 0);
    count(&f, text);
    uint32_t ref[16];
    uint64_t total = qw_count_ref(terms, k, text, strlen(text), ref);
    ck_assert_uint_eq(f.k.terms, total);
    for(size_t i = 0; i < k; i++)
      ck_assert_msg(hits_of(&f, terms[i]) == ref[i],
                    "round %d term %s: %u, reference %u (text %s)", round,
                    terms[i], hits_of(&f, terms[i]), ref[i], text);
    drop(&f);
  }
}
END_TEST

static Suite *counter_suite(void)
{
  Suite *s = suite_create("counter");
  TCase *tc = tcase_create("counter");
  tcase_add_test(tc, test_leftmost_longest);
  tcase_add_test(tc, test_chinese_and_duplicates);
  tcase_add_test(tc, test_patterns);
  tcase_add_test(tc, test_errors);
  tcase_add_test(tc, test_read_terms);
  tcase_add_test(tc, test_property);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(counter_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
