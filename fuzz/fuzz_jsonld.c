/* fuzz_jsonld.c — libFuzzer harness for JSON-LD flattening and the
 * embedded-state scanner (parsers/jsonld.h).
 *
 * The first byte picks the entry point: 0 flatten as JSON-LD, 1 scan as an
 * object literal, 2 search a script for state assignments and scan each
 * (as page.c does), 3 all of them. The sink checks what jsonld.h promises
 * about every value: valid UTF-8 without NULs, values and keys within their
 * caps, keys that start with a type or "State". Bit 2 of the first byte
 * makes the sink stop early. Any broken promise aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonld.h"
#include "utf8.h"

#define MAX_INPUT (QW_JSONLD_MAX_INPUT + 16)

typedef struct {
  size_t values;
  size_t stop_at;
  int state;
} fz_ctx;

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_jsonld: broken promise: %s\n", what);
    abort();
  }
}

static int on_value(void *ctx, const char *k, size_t kl, const char *v,
                    size_t vl)
{
  fz_ctx *c = ctx;
  check(kl > 0 && kl <= QW_JSONLD_MAX_KEY, "key length");
  check(vl <= QW_JSONLD_MAX_VALUE, "value length");
  check(qw_utf8_valid(k, kl), "key UTF-8");
  check(qw_utf8_valid(v, vl), "value UTF-8");
  check(!memchr(k, '\0', kl) && !memchr(v, '\0', vl), "NUL");
  if(c->state)
    check(kl >= 5 && !memcmp(k, "State", 5), "state key prefix");
  else
    check(k[0] != '.' && k[kl - 1] != '.', "empty path segment");
  c->values++;
  return c->stop_at && c->values >= c->stop_at ? 1 : 0;
}

static int on_type(void *ctx, const char *name, size_t len, int root)
{
  (void)ctx;
  check(len > 0 && len <= 64, "type length");
  check(qw_utf8_valid(name, len), "type UTF-8");
  check(root == 0 || root == 1, "root flag");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size == 0 || size > MAX_INPUT)
    return 0;
  int mode = data[0] & 3;
  fz_ctx c = {0, (data[0] & 4) ? 3 : 0, 0};
  /* an exact-size copy so that ASan sees reads past the end */
  size_t len = size - 1;
  char *in = malloc(len ? len : 1);
  if(!in)
    return 0;
  memcpy(in, data + 1, len);
  qw_jsonld_sink s = {on_value, on_type, &c};
  if(mode == 0 || mode == 3) {
    int r = qw_jsonld_flatten(in, len, &s);
    check(r == 0 || r == -EINVAL || r == -E2BIG || r == -ENOMEM,
          "flatten result");
  }
  c.state = 1;
  c.values = 0;
  if(mode == 1 || mode == 3) {
    int r = qw_jsonld_state(in, len, &s);
    check(r == 0 || r == -ENOMEM, "state result");
  }
  if(mode == 2 || mode == 3) {
    size_t from = 0, start, resume;
    int n = 0;
    while(qw_jsonld_find_state(in, len, from, &start, &resume)) {
      check(start < len && resume > from && resume <= start, "find range");
      int r = qw_jsonld_state(in + start, len - start, &s);
      check(r == 0 || r == -ENOMEM, "state result");
      from = resume;
      check(++n <= (int)len, "find loops");
    }
  }
  free(in);
  return 0;
}
