/* encoding.h — HTTP content codings undone: gzip (x-gzip), deflate (zlib
 * or raw), br and zstd, in the order a Content-Encoding header lists them,
 * with a cap on the decoded size so that a decompression bomb stops at the
 * cap. The fetcher keeps bodies as they came off the wire and the workers
 * decode them with this, so that the loop thread does not inflate. Pure
 * functions: any thread. */
#ifndef QW_ENCODING_H
#define QW_ENCODING_H

#include <stddef.h>

/* Decodes in[0..n) coded as coding (a Content-Encoding value such as
 * "gzip" or "gzip, br"; NULL, "" or "identity" = as is). On success
 * returns 0 and a malloc'd, NUL-terminated *out of *out_len bytes.
 * Errors: -EFBIG (more than max decoded bytes), -EINVAL (an unsupported
 * coding, corrupt or truncated data; err says which), -ENOMEM. */
int qw_content_decode(const char *coding, const char *in, size_t n,
                      size_t max, char **out, size_t *out_len, char *err,
                      size_t errlen);

#endif
