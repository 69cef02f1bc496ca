/* test_arena.c — the page arena: alignment, big blocks, accounting. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

START_TEST(test_alignment_and_reuse)
{
  qw_arena *a = qw_arena_new(256);
  ck_assert_ptr_nonnull(a);
  char *prev = NULL;
  for(int i = 1; i < 200; i++) {
    char *p = qw_arena_alloc(a, (size_t)i);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 16, 0);
    memset(p, 0xAB, (size_t)i);
    ck_assert(p != prev);
    prev = p;
  }
  ck_assert_uint_ge(qw_arena_used(a), 199u * 200u / 2u);
  ck_assert_uint_ge(qw_arena_reserved(a), qw_arena_used(a));
  qw_arena_destroy(a);
}
END_TEST

START_TEST(test_big_allocation_keeps_head)
{
  qw_arena *a = qw_arena_new(1024);
  char *small1 = qw_arena_alloc(a, 10);
  char *big = qw_arena_alloc(a, 100000);
  char *small2 = qw_arena_alloc(a, 10);
  ck_assert_ptr_nonnull(small1);
  ck_assert_ptr_nonnull(big);
  ck_assert_ptr_nonnull(small2);
  memset(big, 1, 100000);
  /* the small allocations share the first chunk */
  ck_assert_int_eq((int)(small2 - small1), 16);
  qw_arena_destroy(a);
}
END_TEST

START_TEST(test_strndup_and_zero)
{
  qw_arena *a = qw_arena_new(0);
  char *s = qw_arena_strndup(a, "注册证编号: 粤械注准", 15);
  ck_assert_str_eq(s, "注册证编号");
  char *z1 = qw_arena_alloc(a, 0), *z2 = qw_arena_alloc(a, 0);
  ck_assert_ptr_nonnull(z1);
  ck_assert(z1 != z2);
  ck_assert_ptr_null(qw_arena_alloc(a, SIZE_MAX - 4));
  qw_arena_destroy(a);
  qw_arena_destroy(NULL);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("arena");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_alignment_and_reuse);
  tcase_add_test(tc, test_big_allocation_keeps_head);
  tcase_add_test(tc, test_strndup_and_zero);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
