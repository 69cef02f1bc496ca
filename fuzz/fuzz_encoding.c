/* fuzz_encoding.c — libFuzzer harness for parsers/encoding.h. The first
 * byte picks the Content-Encoding value (gzip, deflate, br, zstd, layered,
 * unknown), the rest is the body. Promises checked: success gives a
 * NUL-terminated buffer no longer than the cap, failure gives nothing and
 * a known error. For gzip, the result (libdeflate first, zlib for what it
 * rejects) must equal zlib's streaming decode of the same bytes, members
 * one after the other, bytes after the last member that do not start
 * another ignored. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encoding.h"

#define CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* zlib alone: 0 and the bytes in *out, -EFBIG past cap, -EINVAL. */
static int ref_gunzip(const uint8_t *in, size_t n, size_t cap, uint8_t **out,
                      size_t *on)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  uint8_t *o = malloc(cap + 2);
  if(!o || inflateInit2(&z, 31) != Z_OK)
    abort();
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = o;
  z.avail_out = (uInt)(cap + 1);
  int rc;
  for(;;) {
    int zr = inflate(&z, Z_NO_FLUSH);
    if((size_t)(z.next_out - o) > cap) {
      rc = -EFBIG;
      break;
    }
    if(zr == Z_STREAM_END) {
      if(z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z); /* next_out and avail_out stay */
        continue;
      }
      rc = 0;
      break;
    }
    if(zr != Z_OK) {
      rc = -EINVAL;
      break;
    }
  }
  *on = (size_t)(z.next_out - o);
  inflateEnd(&z);
  if(rc) {
    free(o);
    o = NULL;
  }
  *out = o;
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const codings[] = {
    "gzip", "deflate", "br", "zstd", "gzip, br", "x-gzip", "identity",
    "zstd, gzip", "compress", "", " Gzip ,  ZSTD "};
  if(size == 0)
    return 0;
  const char *coding = codings[data[0] % (sizeof(codings) /
                                          sizeof(codings[0]))];
  char *out = NULL, err[200];
  size_t n = 0;
  int rc = qw_content_decode(coding, (const char *)data + 1, size - 1, CAP,
                             &out, &n, err, sizeof(err));
  if(rc == 0) {
    if(!out || n > CAP || out[n] != '\0')
      abort();
  }
  else if(out || n || (rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)) {
    abort();
  }
  if(!strcmp(coding, "gzip") || !strcmp(coding, "x-gzip")) {
    uint8_t *ref = NULL;
    size_t rn = 0;
    int rr = ref_gunzip(data + 1, size - 1, CAP, &ref, &rn);
    if(rr != rc && rc != -ENOMEM)
      abort();
    if(rc == 0 && (rn != n || memcmp(ref, out, n) != 0))
      abort();
    free(ref);
  }
  free(out);
  return 0;
}
