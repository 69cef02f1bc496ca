/* test_buf.c — growable buffer and UTF-8 helpers. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "utf8.h"

START_TEST(test_append_printf_steal)
{
  qw_buf b = QW_BUF_INIT;
  ck_assert_int_eq(qw_buf_puts(&b, "abc"), 0);
  ck_assert_int_eq(qw_buf_printf(&b, "-%d-%s", 42, "械"), 0);
  ck_assert_str_eq(b.data, "abc-42-械");
  for(int i = 0; i < 10000; i++)
    ck_assert_int_eq(qw_buf_putc(&b, 'x'), 0);
  ck_assert_uint_eq(b.len, strlen("abc-42-械") + 10000);
  size_t len = 0;
  char *s = qw_buf_steal(&b, &len);
  ck_assert_uint_eq(strlen(s), len);
  ck_assert_ptr_null(b.data);
  free(s);
  s = qw_buf_steal(&b, NULL);
  ck_assert_str_eq(s, "");
  free(s);
  qw_buf_free(&b);
}
END_TEST

START_TEST(test_utf8_roundtrip)
{
  static const unsigned cps[] = {0x41, 0xE9, 0x6CBB, 0xFF11, 0x1F525,
                                 0x10FFFF};
  for(size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
    char tmp[4];
    size_t n = qw_utf8_encode(cps[i], tmp);
    size_t p = 0;
    ck_assert_uint_eq(qw_utf8_next(tmp, n, &p), cps[i]);
    ck_assert_uint_eq(p, n);
    ck_assert(qw_utf8_valid(tmp, n));
  }
  /* surrogates and out-of-range become U+FFFD */
  char tmp[4];
  size_t n = qw_utf8_encode(0xD800, tmp);
  ck_assert_int_eq(memcmp(tmp, "\xEF\xBF\xBD", 3), 0);
  ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(test_utf8_invalid)
{
  static const char *bad[] = {"\xC0\xAF", "\xED\xA0\x80", "\xE6\xB2",
                              "\xF5\x80\x80\x80", "\x80", "\xF0\x82\x82\xAC"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ck_assert_msg(!qw_utf8_valid(bad[i], strlen(bad[i])), "case %zu", i);
    size_t p = 0;
    ck_assert_uint_eq(qw_utf8_next(bad[i], strlen(bad[i]), &p), 0xFFFD);
    ck_assert_uint_eq(p, 1);
  }
  ck_assert(qw_utf8_valid("\xEF\xBF\xBD", 3));
  const char *s = "治愈";
  ck_assert_uint_eq(qw_utf8_floor(s, 6, 4), 3);
  ck_assert_uint_eq(qw_utf8_floor(s, 6, 3), 3);
  ck_assert(qw_utf8_is_han(0x6CBB));
  ck_assert(!qw_utf8_is_han(0xFF11));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("buf");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_append_printf_steal);
  tcase_add_test(tc, test_utf8_roundtrip);
  tcase_add_test(tc, test_utf8_invalid);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
