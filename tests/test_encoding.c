/* test_encoding.c — HTTP content codings undone under a cap
 * (parsers/encoding.h): gzip (one and several members), deflate with and
 * without the zlib wrapper, br, zstd, layered codings, the cap at its exact
 * edge, truncated, corrupt and unknown input. Compressed inputs are made
 * here with zlib, brotli and zstd's own encoders. */
#include <brotli/encode.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "encoding.h"

/* A text long enough to compress well and not trivially: product copy. */
static char *sample(size_t *n)
{
  static const char line[] = "一次性使用医用外科口罩 50只/盒 注册证编号："
                             "国械注准20192140123 —— 独立包装，三层过滤。\n";
  size_t reps = 400, l = sizeof(line) - 1;
  char *s = malloc(reps * l + 1);
  ck_assert_ptr_nonnull(s);
  for(size_t i = 0; i < reps; i++) {
    memcpy(s + i * l, line, l);
    s[i * l + l - 2] = (char)('0' + i % 10); /* not all equal */
  }
  s[reps * l] = '\0';
  *n = reps * l;
  return s;
}

/* windowBits: 15 zlib, -15 raw deflate, 31 gzip */
static char *zdeflate(const char *in, size_t n, int bits, size_t *out_n)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, bits, 8,
                                Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, (uLong)n) + 32;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_n = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static void expect(const char *coding, const char *in, size_t n,
                   const char *want, size_t want_n)
{
  char *out = NULL, err[200];
  size_t on = 0;
  int rc = qw_content_decode(coding, in, n, 1u << 20, &out, &on, err,
                             sizeof(err));
  ck_assert_msg(rc == 0, "%s: %d %s", coding, rc, err);
  ck_assert_uint_eq(on, want_n);
  ck_assert(memcmp(out, want, want_n) == 0);
  ck_assert_int_eq(out[on], '\0');
  free(out);
}

static int fails(const char *coding, const char *in, size_t n, size_t max,
                 const char *why)
{
  char *out = (char *)1, err[200];
  size_t on = 1;
  int rc = qw_content_decode(coding, in, n, max, &out, &on, err,
                             sizeof(err));
  ck_assert_ptr_null(out);
  ck_assert_uint_eq(on, 0);
  if(why)
    ck_assert_msg(strstr(err, why) != NULL, "%s: \"%s\" lacks \"%s\"", coding,
                  err, why);
  return rc;
}

START_TEST(test_gzip_deflate)
{
  size_t n, gn, zn, rn;
  char *s = sample(&n);
  char *gz = zdeflate(s, n, 31, &gn);
  char *zl = zdeflate(s, n, 15, &zn);
  char *rw = zdeflate(s, n, -15, &rn);
  ck_assert_uint_lt(gn, n / 4);
  expect("gzip", gz, gn, s, n);
  expect("x-gzip", gz, gn, s, n);
  expect(" GZIP ", gz, gn, s, n);
  expect("deflate", zl, zn, s, n);
  expect("deflate", rw, rn, s, n); /* servers that send raw deflate */
  /* two gzip members: both, as one body */
  char *two = malloc(2 * gn);
  memcpy(two, gz, gn);
  memcpy(two + gn, gz, gn);
  char *ss = malloc(2 * n);
  memcpy(ss, s, n);
  memcpy(ss + n, s, n);
  expect("gzip", two, 2 * gn, ss, 2 * n);
  /* trailing bytes after the member are ignored, as browsers do */
  memcpy(two + gn, "\r\n", 2);
  expect("gzip", two, gn + 2, s, n);
  free(two);
  free(ss);
  /* truncated and corrupt */
  ck_assert_int_eq(fails("gzip", gz, gn / 2, 1u << 20, "truncated"), -EINVAL);
  ck_assert_int_eq(fails("gzip", gz, 0, 1u << 20, "gzip"), -EINVAL);
  gz[gn / 2] ^= 0x55;
  gz[gn / 2 + 1] ^= 0x55;
  ck_assert_int_eq(fails("gzip", gz, gn, 1u << 20, "bad gzip data"), -EINVAL);
  ck_assert_int_eq(fails("gzip", "plain text, not gzip", 20, 1u << 20,
                         "gzip"), -EINVAL);
  free(gz);
  free(zl);
  free(rw);
  free(s);
}
END_TEST

START_TEST(test_br_zstd_layers)
{
  size_t n;
  char *s = sample(&n);
  size_t bn = BrotliEncoderMaxCompressedSize(n);
  uint8_t *br = malloc(bn);
  ck_assert(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, n,
                                  (const uint8_t *)s, &bn, br));
  expect("br", (const char *)br, bn, s, n);
  ck_assert_int_eq(fails("br", (const char *)br, bn - 3, 1u << 20,
                         "truncated"), -EINVAL);
  size_t zc = ZSTD_compressBound(n);
  char *zs = malloc(zc);
  size_t zn = ZSTD_compress(zs, zc, s, n, 3);
  ck_assert(!ZSTD_isError(zn));
  expect("zstd", zs, zn, s, n);
  ck_assert_int_eq(fails("zstd", zs, zn - 4, 1u << 20, "truncated"),
                   -EINVAL);
  /* "gzip, br": gzip applied first, so br is undone first */
  size_t gn;
  char *gz = zdeflate(s, n, 31, &gn);
  size_t b2n = BrotliEncoderMaxCompressedSize(gn);
  uint8_t *b2 = malloc(b2n);
  ck_assert(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, gn,
                                  (const uint8_t *)gz, &b2n, b2));
  expect("gzip, br", (const char *)b2, b2n, s, n);
  expect("gzip,identity, br", (const char *)b2, b2n, s, n);
  ck_assert_int_eq(fails("br, gzip", (const char *)b2, b2n, 1u << 20,
                         "gzip"), -EINVAL);
  /* identity and nothing: a copy */
  expect(NULL, s, n, s, n);
  expect("", s, n, s, n);
  expect("identity", s, n, s, n);
  ck_assert_int_eq(fails("compress", s, n, 1u << 20,
                         "unsupported content coding 'compress'"), -EINVAL);
  ck_assert_int_eq(fails("a,b,c,d,e,f,g,h,i", s, n, 1u << 20,
                         "more than 8"), -EINVAL);
  free(br);
  free(b2);
  free(gz);
  free(zs);
  free(s);
}
END_TEST

/* The cap holds on decoded bytes, at its exact edge, for every coding. */
START_TEST(test_cap)
{
  size_t n, gn;
  char *s = sample(&n);
  char *gz = zdeflate(s, n, 31, &gn);
  char *out = NULL, err[200];
  size_t on;
  ck_assert_int_eq(qw_content_decode("gzip", gz, gn, n, &out, &on, err,
                                     sizeof(err)), 0);
  ck_assert_uint_eq(on, n);
  free(out);
  ck_assert_int_eq(fails("gzip", gz, gn, n - 1, "larger than"), -EFBIG);
  size_t zc = ZSTD_compressBound(n);
  char *zs = malloc(zc);
  size_t zn = ZSTD_compress(zs, zc, s, n, 3);
  ck_assert_int_eq(fails("zstd", zs, zn, n - 1, "larger than"), -EFBIG);
  size_t bn = BrotliEncoderMaxCompressedSize(n);
  uint8_t *br = malloc(bn);
  ck_assert(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, n,
                                  (const uint8_t *)s, &bn, br));
  ck_assert_int_eq(fails("br", (const char *)br, bn, n - 1, "larger than"),
                   -EFBIG);
  ck_assert_int_eq(fails(NULL, s, n, n - 1, "larger than"), -EFBIG);
  /* a bomb: 64 MiB of zeros stops at a 1 MiB cap */
  size_t big = 64u << 20, zbn;
  char *zeros = calloc(1, big);
  char *bomb = zdeflate(zeros, big, 31, &zbn);
  free(zeros);
  ck_assert_uint_lt(zbn, 100u << 10);
  ck_assert_int_eq(fails("gzip", bomb, zbn, 1u << 20, "larger than"),
                   -EFBIG);
  /* a lying ISIZE (the trailer says 1 byte) is only a first guess */
  gz[gn - 4] = 1;
  gz[gn - 3] = gz[gn - 2] = gz[gn - 1] = 0;
  ck_assert_int_ne(qw_content_decode("gzip", gz, gn, 1u << 20, &out, &on,
                                     err, sizeof(err)), -EFBIG);
  free(out);
  free(bomb);
  free(br);
  free(zs);
  free(gz);
  free(s);
}
END_TEST

static Suite *encoding_suite(void)
{
  Suite *s = suite_create("encoding");
  TCase *tc = tcase_create("encoding");
  tcase_add_test(tc, test_gzip_deflate);
  tcase_add_test(tc, test_br_zstd_layers);
  tcase_add_test(tc, test_cap);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(encoding_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
