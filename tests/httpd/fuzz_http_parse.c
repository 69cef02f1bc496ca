/* fuzz_http_parse.c — libFuzzer harness for the test server's request-head
 * parser and the helpers that read request input (http_parse.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  qw_hp_request req;
  char out[512];

  if(size > 65536)
    return 0;
  /* An exact-size copy, so reads past the end are caught. */
  char *buf = malloc(size ? size : 1);
  if(!buf)
    return 0;
  memcpy(buf, data, size);
  int r = qw_hp_parse(buf, size, 16384, &req);
  if(r == 1) {
    if(req.head_len > size || req.nheaders > QW_HP_MAX_HEADERS)
      abort();
    const char *q = memchr(req.target, '?', req.target_len);
    if(q) {
      size_t ql = req.target_len - (size_t)(q + 1 - req.target);
      qw_hp_query_get(q + 1, ql, "url", out, sizeof(out));
      qw_hp_query_get(q + 1, ql, "ms", out, sizeof(out));
    }
    int n = qw_hp_pct_decode(req.target, req.target_len, out, sizeof(out),
                             0);
    if(n >= 0 && ((size_t)n >= sizeof(out) || out[n] != '\0'))
      abort();
    for(size_t i = 0; i < req.nheaders; i++) {
      const qw_hp_header *h = &req.headers[i];
      if(h->value + h->value_len > buf + req.head_len)
        abort();
      qw_hp_list_has(h->value, h->value_len, "gzip");
      n = qw_hp_host(h->value, h->value_len, out, sizeof(out));
      if(n >= 0 && (strchr(out, '/') || out[n] != '\0'))
        abort();
      long v;
      qw_hp_parse_long(h->value, h->value_len, 0, 1000000, &v);
    }
    qw_hp_get(&req, "Host");
  }
  else if(r != 0 && r != -EMSGSIZE && r != -EBADMSG &&
          r != -EPROTONOSUPPORT)
    abort();
  free(buf);
  return 0;
}
