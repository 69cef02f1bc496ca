/* fuzz_ini.c — libFuzzer harness for the INI tokenizer (parsers/ini.h).
 *
 * Arbitrary bytes go through qw_ini_parse; the callback checks what the
 * dialect promises about every key it is given: NUL-terminated strings of
 * valid UTF-8 without control characters or line ends, a non-empty key,
 * no blanks at the ends, a section in normal form, and line numbers that
 * are in the input and never go back. Any broken promise aborts. A second
 * pass stops from the callback halfway through. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "utf8.h"

#define MAX_INPUT (64 * 1024)

typedef struct {
  int lines;     /* physical lines in the input */
  int last_line;
  int calls;
  int stop_at;
} fz_state;

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_ini: broken promise: %s\n", what);
    abort();
  }
}

static void check_text(const char *s, int allow_empty)
{
  size_t n = strlen(s);
  check(allow_empty || n > 0, "empty string");
  check(qw_utf8_valid(s, n), "invalid UTF-8");
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    check(c >= 0x20 || c == '\t', "control character");
    check(c != 0x7F, "DEL");
  }
  if(n) {
    check(s[0] != ' ' && s[0] != '\t', "leading blank");
    check(s[n - 1] != ' ' && s[n - 1] != '\t', "trailing blank");
  }
}

static int on_key(void *ud, const char *section, const char *key,
                  const char *value, int line)
{
  fz_state *st = ud;
  check_text(section, 1);
  check_text(key, 0);
  check_text(value, 1);
  check(strchr(key, '=') == NULL, "'=' in a key");
  check(strstr(section, "  ") == NULL && strchr(section, '\t') == NULL,
        "section not in normal form");
  check(strchr(section, '[') == NULL && strchr(section, ']') == NULL,
        "bracket in a section name");
  check(line >= 1 && line <= st->lines, "line out of range");
  check(line > st->last_line, "line numbers go back");
  st->last_line = line;
  st->calls++;
  return st->stop_at && st->calls == st->stop_at ? 42 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  const char *text = (const char *)data;
  fz_state st = {1, 0, 0, 0};
  for(size_t i = 0; i < size; i++)
    if(text[i] == '\n')
      st.lines++;
  char err[128];
  int r = qw_ini_parse(text, size, on_key, &st, err, sizeof(err));
  check(r == 0 || r == -EINVAL, "unexpected return");
  if(r) {
    check(strlen(err) < sizeof(err), "err not terminated");
    check(strncmp(err, "line ", 5) == 0, "err without a line");
  }
  if(st.calls > 1) {
    int all = st.calls;
    fz_state half = {st.lines, 0, 0, all / 2};
    r = qw_ini_parse(text, size, on_key, &half, err, sizeof(err));
    check(r == 42 && half.calls == all / 2, "stop from the callback");
  }
  return 0;
}
