/* fuzz_charset.c — libFuzzer harness for charset sniffing and decoding
 * (parsers/charset.h).
 *
 * Input: the first byte picks a charset label (low 4 bits, from a list
 * with unknown and "replacement" labels too) and what it is given as
 * (bits 4-5: transport hint, user-forced, or nothing); the rest is the
 * body. Checks what qw_charset_decode promises: 0 (or -EINVAL for an
 * unusable forced label), NUL-terminated valid UTF-8, a canonical name,
 * at most one replacement per input byte and at most 3 output bytes per
 * input byte. The same bytes also go through the label and Content-Type
 * parsers. Any broken promise aborts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "utf8.h"

#define MAX_INPUT (256 * 1024)

static const char *const labels[16] = {
  NULL, "utf-8", "gbk", "gb18030", "big5", "utf-16le", "utf-16be",
  "windows-1252", "shift_jis", "euc-kr", "euc-jp", "iso-2022-jp", "koi8-r",
  "x-user-defined", "hz-gb-2312", "klingon",
};

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_charset: broken promise: %s\n", what);
    abort();
  }
}

static void check_name(const char *name, int allow_empty)
{
  const char *nul = memchr(name, '\0', 32);
  check(nul != NULL, "name not terminated");
  if(allow_empty && name[0] == '\0')
    return;
  const char *c = qw_charset_canonical(name, strlen(name));
  check(c && strcmp(c, name) == 0, "name is not canonical");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size == 0 || size > MAX_INPUT)
    return 0;
  const char *label = labels[data[0] & 15];
  int mode = (data[0] >> 4) & 3;
  const char *user = mode == 1 ? label : NULL;
  const char *transport = mode == 0 ? label : NULL;
  const char *body = (const char *)data + 1;
  size_t len = size - 1;

  char *out = NULL;
  size_t out_len = 0;
  qw_charset_info info;
  int r = qw_charset_decode(body, len, user, transport, &out, &out_len,
                            &info);
  if(user && (!strcmp(user, "klingon") || !strcmp(user, "hz-gb-2312"))) {
    check(r == -EINVAL, "unusable forced label accepted");
    return 0;
  }
  check(r == 0, "decode failed");
  check(out != NULL, "no output");
  check(out[out_len] == '\0', "output not NUL-terminated");
  check(qw_utf8_valid(out, out_len), "output is not valid UTF-8");
  check(out_len <= 3 * len, "output more than 3 bytes per input byte");
  check(info.replaced <= len, "more replacements than bytes");
  check_name(info.name, 0);
  check_name(info.declared, 1);
  check(info.source <= QW_CS_DETECTED, "bad source");
  check(qw_charset_source_name(info.source) != NULL, "no source name");
  if(user)
    check(info.source == QW_CS_USER, "user label not obeyed");
  free(out);

  /* The body as a label and as a Content-Type value. */
  char text[128];
  size_t tl = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
  memcpy(text, body, tl);
  text[tl] = '\0';
  const char *c = qw_charset_canonical(body, tl);
  if(c)
    check(qw_charset_canonical(c, strlen(c)) == c, "canonical not stable");
  char ct[32];
  memset(ct, 0x5A, sizeof(ct));
  if(qw_charset_from_content_type(text, ct) == 0)
    check_name(ct, 0);
  return 0;
}
