/* fuzz_encoding.c — libFuzzer harness for parsers/encoding.h. The first
 * byte picks the Content-Encoding value (gzip, deflate, br, zstd, layered,
 * unknown), the rest is the body. Promises checked: success gives a
 * NUL-terminated buffer no longer than the cap, failure gives nothing and
 * a known error. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "encoding.h"

#define CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
  free(out);
  return 0;
}
