/* test_url.c — URL parsing, resolution (RFC 3986 §5.4 examples and the
 * browser habits real pages rely on), normalisation, fetchability and
 * politeness host keys. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

typedef struct {
  const char *ref, *want; /* want NULL: -EINVAL expected */
} rcase;

static void check_cases(const char *base, const rcase *c, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    char *out = NULL;
    int r = qw_url_resolve(base, c[i].ref, &out);
    if(c[i].want) {
      ck_assert_msg(r == 0, "%s + \"%s\": error %d", base, c[i].ref, r);
      ck_assert_msg(strcmp(out, c[i].want) == 0, "%s + \"%s\": got %s, "
                    "want %s", base, c[i].ref, out, c[i].want);
      /* Normalised output is a fixed point. */
      char *again = NULL;
      ck_assert_int_eq(qw_url_resolve(out, out, &again), 0);
      ck_assert_str_eq(again, out);
      free(again);
      ck_assert_int_eq(qw_url_resolve(out, "", &again), 0);
      ck_assert_str_eq(again, out);
      free(again);
      free(out);
    }
    else {
      ck_assert_msg(r == -EINVAL, "%s + \"%s\": want -EINVAL, got %d (%s)",
                    base, c[i].ref, r, r == 0 ? out : "");
      if(r == 0)
        free(out);
    }
  }
}

#define CASES(base, arr) check_cases(base, arr, sizeof(arr) / sizeof(arr[0]))

static const char *rfc_base = "http://a/b/c/d;p?q";

/* RFC 3986 §5.4.1, fragments removed; "//g" gains its root path. */
START_TEST(test_rfc_normal)
{
  static const rcase c[] = {
    {"g:h", "g:h"},
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g/"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q"},
    {"g#s", "http://a/b/c/g"},
    {"g?y#s", "http://a/b/c/g?y"},
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y"},
    {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
  };
  CASES(rfc_base, c);
}
END_TEST

/* RFC 3986 §5.4.2; "http:g" takes the non-strict (browser) reading. */
START_TEST(test_rfc_abnormal)
{
  static const rcase c[] = {
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g"},
    {"g#s/../x", "http://a/b/c/g"},
    {"http:g", "http://a/b/c/g"},
    {"HTTP:g", "http://a/b/c/g"},
  };
  CASES(rfc_base, c);
}
END_TEST

START_TEST(test_page_links)
{
  static const char *base = "https://item.Example-Mall.com/detail/6581230.html"
                            "?spm=a1.b2#reviews";
  static const rcase c[] = {
    /* protocol-relative, absolute, query-only, fragment-only */
    {"//img.example-cdn.com/i/1.jpg", "https://img.example-cdn.com/i/1.jpg"},
    {"//IMG.EXAMPLE-CDN.COM", "https://img.example-cdn.com/"},
    {"http://shop.example.com/", "http://shop.example.com/"},
    {"?page=2", "https://item.example-mall.com/detail/6581230.html?page=2"},
    {"#desc", "https://item.example-mall.com/detail/6581230.html?spm=a1.b2"},
    {"", "https://item.example-mall.com/detail/6581230.html?spm=a1.b2"},
    {"?", "https://item.example-mall.com/detail/6581230.html?"},
    {"related.html", "https://item.example-mall.com/detail/related.html"},
    {"../shop/kangruida.html",
     "https://item.example-mall.com/shop/kangruida.html"},
    /* whitespace: trimmed at the ends, tabs and newlines dropped inside,
     * spaces inside encoded */
    {"  \t/item/1.html\n", "https://item.example-mall.com/item/1.html"},
    {"/it\tem/\n2.html", "https://item.example-mall.com/item/2.html"},
    {"/a b/c d.html?q=x y", "https://item.example-mall.com/a%20b/c%20d.html"
                            "?q=x%20y"},
    {"\x01\x1F /x \x7F", "https://item.example-mall.com/x%20%7F"},
    /* non-ASCII paths and queries: UTF-8, percent-encoded */
    {"/search?q=血压计&cat=医疗器械",
     "https://item.example-mall.com/search"
     "?q=%E8%A1%80%E5%8E%8B%E8%AE%A1&cat=%E5%8C%BB%E7%96%97%E5%99%A8%E6%A2%B0"},
    {"/品牌/康瑞达", "https://item.example-mall.com/%E5%93%81%E7%89%8C/"
                     "%E5%BA%B7%E7%91%9E%E8%BE%BE"},
    {"/%e8%a1%80", "https://item.example-mall.com/%E8%A1%80"},
    /* escapes: unreserved ones decoded, others upper-cased; stray '%'
     * encoded; %2e%2e is a dot segment */
    {"/%7Eshop/%41%2f%zz%", "https://item.example-mall.com/~shop/A%2F%25zz%25"},
    {"/a/%2e%2E/b", "https://item.example-mall.com/b"},
    {"/a?x=%5b%5d&y=[1]|^",
     "https://item.example-mall.com/a?x=%5B%5D&y=%5B1%5D%7C%5E"},
    {"/\"<x>`{}", "https://item.example-mall.com/%22%3Cx%3E%60%7B%7D"},
    /* backslashes are slashes for http(s) */
    {"\\\\evil.example.com\\a\\b", "https://evil.example.com/a/b"},
    {"..\\x", "https://item.example-mall.com/x"},
    /* scheme and host in lower case, default ports dropped */
    {"HTTPS://WWW.Example.COM:443/A/B", "https://www.example.com/A/B"},
    {"HTTP://www.example.com:80", "http://www.example.com/"},
    {"http://www.example.com:0080/x", "http://www.example.com/x"},
    {"http://www.example.com:443/x", "http://www.example.com:443/x"},
    {"https://www.example.com:80/x", "https://www.example.com:80/x"},
    {"http://www.example.com:/x", "http://www.example.com/x"},
    {"http://www.example.com:8080", "http://www.example.com:8080/"},
    /* IPv6 literals, canonical form */
    {"http://[2001:DB8:0:0::1]:8080/x", "http://[2001:db8::1]:8080/x"},
    {"http://[::1]", "http://[::1]/"},
    {"//[::FFFF:192.0.2.1]/", "https://[::ffff:192.0.2.1]/"},
    /* userinfo is dropped; the last '@' ends it */
    {"http://user:pw@shop.example.com/x", "http://shop.example.com/x"},
    {"http://a@b@shop.example.com/", "http://shop.example.com/"},
    /* a host may be percent-encoded; IDN is kept as UTF-8 */
    {"http://%73hop.example.com/", "http://shop.example.com/"},
    {"http://康瑞达.中国/路径", "http://康瑞达.中国/%E8%B7%AF%E5%BE%84"},
    {"http://xn--fiq228c.xn--fiqs8s/", "http://xn--fiq228c.xn--fiqs8s/"},
    /* slashes after a special scheme */
    {"http:/shop.example.com/a", "http://shop.example.com/a"},
    {"https:/shop.example.com/a", "https://item.example-mall.com/shop.example"
                                  ".com/a"},
    {"https:///shop.example.com", "https://shop.example.com/"},
    {"http:shop.example.com/a", "http://shop.example.com/a"},
    {"ftp://ftp.example.com:21/pub", "ftp://ftp.example.com/pub"},
    /* non-fetchable schemes resolve, normalised, without fragment */
    {"javascript:void(0)", "javascript:void(0)"},
    {"JavaScript:alert('x y')#f", "javascript:alert('x%20y')"},
    {"mailto:kefu@example.com?subject=咨询", "mailto:kefu@example.com"
                                           "?subject=%E5%92%A8%E8%AF%A2"},
    {"data:text/html,<b>x</b>", "data:text/html,%3Cb%3Ex%3C/b%3E"},
    {"tel:+86 512 0000", "tel:+86%20512%200000"},
    {"weixin://dl/chat", "weixin://dl/chat"},
    {"foo:/a/../b", "foo:/b"},
    {"foo:/.//x", "foo:/.//x"},
    /* invalid */
    {"http://", NULL},
    {"//", NULL},
    {"http://exa mple.com/", NULL},
    {"http://a<b.com/", NULL},
    {"http://shop.example.com:99999/", NULL},
    {"http://shop.example.com:8x/", NULL},
    {"http://shop.example.com:-1/", NULL},
    {"http://[::1/", NULL},
    {"http://[::g]/", NULL},
    {"http://[fe80::1%25eth0]/", NULL},
    {"http://[::1]x/", NULL},
    {"http://a%/", NULL},
    {"http://%00.example.com/", NULL},
    {"http://%ff.example.com/", NULL},
    {"http://@/", NULL},
  };
  CASES(base, c);
}
END_TEST

START_TEST(test_bases)
{
  /* A <base href> style absolute base without a path. */
  static const rcase c1[] = {
    {"x.html", "http://static.example.com/x.html"},
    {"../x.html", "http://static.example.com/x.html"},
    {"?a=1", "http://static.example.com/?a=1"},
  };
  CASES("HTTP://Static.Example.com", c1);
  /* A base given with blanks and a fragment. */
  static const rcase c2[] = {
    {"y", "http://example.com/dir/y"},
    {"", "http://example.com/dir/file"},
  };
  CASES("  http://example.com/dir/file#frag \n", c2);
  /* Against an opaque base only "" and "#…" resolve. */
  static const rcase c3[] = {
    {"", "mailto:kefu@example.com"},
    {"#x", "mailto:kefu@example.com"},
    {"x", NULL},
    {"?q", NULL},
    {"/x", NULL},
    {"http://example.com/", "http://example.com/"},
  };
  CASES("mailto:kefu@example.com", c3);
  /* Non-special hierarchical base. */
  static const rcase c4[] = {
    {"x", "foo://h/a/x"},
    {"\\x", "foo://h/a/%5Cx"},
    {"//other/p", "foo://other/p"},
  };
  CASES("foo://h/a/b", c4);
  /* Bad bases. */
  char *out = NULL;
  ck_assert_int_eq(qw_url_resolve("/relative/only", "x", &out), -EINVAL);
  ck_assert_int_eq(qw_url_resolve("", "http://a/", &out), -EINVAL);
  ck_assert_int_eq(qw_url_resolve("1http://a/", "x", &out), -EINVAL);
  ck_assert_int_eq(qw_url_resolve("http://", "x", &out), -EINVAL);
  ck_assert_int_eq(qw_url_resolve(NULL, "x", &out), -EINVAL);
  ck_assert_int_eq(qw_url_resolve("http://a/", NULL, &out), -EINVAL);
  ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_parse)
{
  qw_url u;
  const char *s = " HTTPS://user@Shop.Example.com:8443/a/./b/../c%7e?x=1&y=%e8"
                  "#Top ";
  ck_assert_int_eq(qw_url_parse(s, strlen(s), &u), 0);
  ck_assert_str_eq(u.scheme, "https");
  ck_assert_str_eq(u.host, "shop.example.com");
  ck_assert_int_eq(u.port, 8443);
  ck_assert_str_eq(u.path, "/a/c~");
  ck_assert_str_eq(u.query, "x=1&y=%E8");
  ck_assert_str_eq(u.fragment, "Top");
  qw_url_free(&u);
  ck_assert_ptr_null(u.scheme);

  /* Default ports, empty path, no query or fragment. */
  ck_assert_int_eq(qw_url_parse("http://a.example.com", 20, &u), 0);
  ck_assert_int_eq(u.port, 80);
  ck_assert_str_eq(u.path, "/");
  ck_assert_ptr_null(u.query);
  ck_assert_ptr_null(u.fragment);
  qw_url_free(&u);
  ck_assert_int_eq(qw_url_parse("https://a.example.com/?#", 24, &u), 0);
  ck_assert_int_eq(u.port, 443);
  ck_assert_str_eq(u.query, "");
  ck_assert_str_eq(u.fragment, "");
  qw_url_free(&u);

  /* IPv6 without brackets. */
  s = "http://[2001:db8::7]:81/";
  ck_assert_int_eq(qw_url_parse(s, strlen(s), &u), 0);
  ck_assert_str_eq(u.host, "2001:db8::7");
  ck_assert_int_eq(u.port, 81);
  qw_url_free(&u);

  /* Opaque URLs: no host, unknown port. */
  s = "mailto:kefu@example.com";
  ck_assert_int_eq(qw_url_parse(s, strlen(s), &u), 0);
  ck_assert_str_eq(u.scheme, "mailto");
  ck_assert_ptr_null(u.host);
  ck_assert_int_eq(u.port, -1);
  ck_assert_str_eq(u.path, "kefu@example.com");
  qw_url_free(&u);

  /* len bounds the input. */
  s = "http://a.example.com/xyz";
  ck_assert_int_eq(qw_url_parse(s, 22, &u), 0);
  ck_assert_str_eq(u.path, "/x");
  qw_url_free(&u);

  /* Not absolute, or broken. */
  static const char *bad[] = {"", "/x", "//a.example.com/", "a.example.com",
                              "1http://a/", "http://", "http://a b/",
                              "http://a:65536/", ":x"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ck_assert_msg(qw_url_parse(bad[i], strlen(bad[i]), &u) == -EINVAL, "%s",
                  bad[i]);
    ck_assert_ptr_null(u.scheme);
  }
  /* An embedded NUL is not a URL. */
  ck_assert_int_eq(qw_url_parse("http://a/\0x", 11, &u), -EINVAL);
  qw_url_free(&u); /* safe on a cleared struct */
}
END_TEST

START_TEST(test_fetchable)
{
  ck_assert_int_eq(qw_url_is_fetchable("http://a.example.com/"), 1);
  ck_assert_int_eq(qw_url_is_fetchable("HTTPS://A.EXAMPLE.COM"), 1);
  ck_assert_int_eq(qw_url_is_fetchable(" https://a.example.com/x "), 1);
  ck_assert_int_eq(qw_url_is_fetchable("http://[::1]:8080/"), 1);
  ck_assert_int_eq(qw_url_is_fetchable("ftp://a.example.com/"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("javascript:void(0)"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("data:text/html,x"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("mailto:a@example.com"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("tel:123"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("//a.example.com/"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("/x"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("http://"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("http://a b/"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("http://a.example.com:0/"), 0);
  ck_assert_int_eq(qw_url_is_fetchable("http://a.example.com:00080/"), 1);
  ck_assert_int_eq(qw_url_is_fetchable(""), 0);
  ck_assert_int_eq(qw_url_is_fetchable(NULL), 0);
}
END_TEST

START_TEST(test_host_key)
{
  char k[64];
  ck_assert_int_eq(qw_url_host_key("http://Shop.Example.com/x", k,
                                    sizeof(k)), 0);
  ck_assert_str_eq(k, "shop.example.com:80");
  ck_assert_int_eq(qw_url_host_key("https://shop.example.com/x", k,
                                    sizeof(k)), 0);
  ck_assert_str_eq(k, "shop.example.com:443");
  ck_assert_int_eq(qw_url_host_key("https://shop.example.com:8443", k,
                                    sizeof(k)), 0);
  ck_assert_str_eq(k, "shop.example.com:8443");
  ck_assert_int_eq(qw_url_host_key("http://u:p@shop.example.com:80/", k,
                                    sizeof(k)), 0);
  ck_assert_str_eq(k, "shop.example.com:80");
  ck_assert_int_eq(qw_url_host_key("http://[2001:DB8::1]/", k, sizeof(k)),
                   0);
  ck_assert_str_eq(k, "[2001:db8::1]:80");
  /* The key fits exactly, or not at all. */
  ck_assert_int_eq(qw_url_host_key("http://ab.cn/", k, 9), 0);
  ck_assert_str_eq(k, "ab.cn:80");
  ck_assert_int_eq(qw_url_host_key("http://ab.cn/", k, 8), -EINVAL);
  ck_assert_str_eq(k, "");
  ck_assert_int_eq(qw_url_host_key("mailto:a@example.com", k, sizeof(k)),
                   -EINVAL);
  ck_assert_int_eq(qw_url_host_key("foo://h/x", k, sizeof(k)), -EINVAL);
  ck_assert_int_eq(qw_url_host_key("/relative", k, sizeof(k)), -EINVAL);
  ck_assert_int_eq(qw_url_host_key("http://x/", k, 0), -EINVAL);
  ck_assert_int_eq(qw_url_host_key(NULL, k, sizeof(k)), -EINVAL);
}
END_TEST

/* Long and hostile references stay linear and well-formed. */
START_TEST(test_long_refs)
{
  size_t n = 200000;
  char *ref = malloc(n * 3 + 16);
  ck_assert_ptr_nonnull(ref);
  /* "../../../…/x": every ".." pops nothing. */
  size_t p = 0;
  for(size_t i = 0; i < n; i++) {
    memcpy(ref + p, "../", 3);
    p += 3;
  }
  memcpy(ref + p, "x", 2);
  char *out = NULL;
  ck_assert_int_eq(qw_url_resolve("http://a/b/c", ref, &out), 0);
  ck_assert_str_eq(out, "http://a/x");
  free(out);
  /* "a/../a/../…" */
  p = 0;
  for(size_t i = 0; i < n / 2; i++) {
    memcpy(ref + p, "a/../", 5);
    p += 5;
  }
  ref[p] = '\0';
  ck_assert_int_eq(qw_url_resolve("http://a/b/", ref, &out), 0);
  ck_assert_str_eq(out, "http://a/b/");
  free(out);
  /* A long non-ASCII path grows by 3x when encoded. */
  p = 0;
  for(size_t i = 0; i < n; i++) {
    memcpy(ref + p, "\xE8\xA1\x80", 3);
    p += 3;
  }
  ref[p] = '\0';
  ck_assert_int_eq(qw_url_resolve("http://a/", ref, &out), 0);
  ck_assert_uint_eq(strlen(out), strlen("http://a/") + n * 9);
  free(out);
  free(ref);
}
END_TEST

static Suite *url_suite(void)
{
  Suite *s = suite_create("url");
  TCase *tc = tcase_create("resolve");
  tcase_add_test(tc, test_rfc_normal);
  tcase_add_test(tc, test_rfc_abnormal);
  tcase_add_test(tc, test_page_links);
  tcase_add_test(tc, test_bases);
  tcase_add_test(tc, test_long_refs);
  suite_add_tcase(s, tc);
  tc = tcase_create("parse");
  tcase_add_test(tc, test_parse);
  tcase_add_test(tc, test_fetchable);
  tcase_add_test(tc, test_host_key);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(url_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
