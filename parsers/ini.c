/* ini.c — tokenizer for the INI dialect of qingwang.conf and the rule pack
 * (see ini.h), plus the capped whole-file reader both loaders use.
 *
 * One pass over the text, one physical line at a time. Every line is
 * checked before it is looked at (no NUL, no control character other than
 * TAB, valid UTF-8), so callbacks only ever see clean, NUL-terminated
 * strings. Section, key and value are built in three buffers reused for
 * the whole file: no allocation per line once they have grown.
 *
 * Details the header leaves open, decided here (docs/configuration.md
 * documents them for users):
 * - A line ends at LF; one CR right before it (or at the end of the text)
 *   is dropped. Any other CR is an error, as is any C0 control but TAB and
 *   DEL.
 * - Blanks are space and TAB. A comment is a line whose first non-blank
 *   character is '#' or ';'.
 * - A header is "[name]" alone on its line; text after ']' is an error
 *   (there are no inline comments). '[' or ']' inside the name is an error.
 * - A value line ending in an odd number of backslashes continues: the last
 *   backslash is dropped, the next physical line is appended with its
 *   leading blanks removed (blanks before the backslash are kept, so
 *   "a, \" + "b" is "a, b" and "治愈\" + "率" is "治愈率"), whatever it
 *   looks like (a continuation line is never a comment or a header). An
 *   even number of trailing backslashes is literal text, so a pattern may
 *   end in "\\". A continuation on the last line is an error. */
#include "ini.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "utf8.h"

typedef struct {
  const char *text;
  size_t len;
  size_t pos;   /* start of the next physical line */
  int line;     /* number of the line last read (1-based) */
  char *err;
  size_t errlen;
} ini_state;

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static int fail(ini_state *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(ini_state *st, int line, const char *fmt, ...)
{
  if(st->err && st->errlen) {
    int n = snprintf(st->err, st->errlen, "line %d: ", line);
    if(n >= 0 && (size_t)n < st->errlen) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -EINVAL;
}

/* Checks s[0..n) of the current line: no NUL, no control but TAB, valid
 * UTF-8. */
static int check_line(ini_state *st, const char *s, size_t n)
{
  size_t i = 0;
  while(i < n) {
    unsigned char c = (unsigned char)s[i];
    if(c >= 0x20 && c < 0x7F) {
      i++;
      continue;
    }
    if(c == '\t') {
      i++;
      continue;
    }
    if(c == 0)
      return fail(st, st->line, "NUL byte (not a text file?)");
    if(c == '\r')
      return fail(st, st->line, "stray carriage return (CR without LF)");
    if(c < 0x80)
      return fail(st, st->line, "control character 0x%02X", c);
    size_t start = i;
    uint32_t cp = qw_utf8_next(s, n, &i);
    if(cp == 0xFFFD && i - start != 3)
      return fail(st, st->line, "invalid UTF-8");
  }
  return 0;
}

/* Reads the next physical line into [*b, *e), without its line end, and
 * checks it. Returns 1 when a line was read, 0 at the end, -EINVAL. */
static int next_line(ini_state *st, const char **b, const char **e)
{
  if(st->pos >= st->len)
    return 0;
  const char *s = st->text + st->pos;
  size_t rest = st->len - st->pos;
  const char *nl = memchr(s, '\n', rest);
  size_t n = nl ? (size_t)(nl - s) : rest;
  st->pos += nl ? n + 1 : n;
  if(st->line < INT_MAX)
    st->line++;
  if(n && s[n - 1] == '\r')
    n--;
  int r = check_line(st, s, n);
  if(r)
    return r;
  *b = s;
  *e = s + n;
  return 1;
}

static void trim(const char **b, const char **e)
{
  while(*b < *e && is_blank(**b))
    (*b)++;
  while(*e > *b && is_blank((*e)[-1]))
    (*e)--;
}

/* "[ name  here ]" → "name here" in sec. */
static int parse_header(ini_state *st, const char *b, const char *e,
                        qw_buf *sec)
{
  const char *close = memchr(b, ']', (size_t)(e - b));
  if(!close)
    return fail(st, st->line, "'[' without ']'");
  if(close != e - 1)
    return fail(st, st->line, "unexpected text after ']' (comments must be "
                "on their own line)");
  const char *nb = b + 1, *ne = close;
  if(memchr(nb, '[', (size_t)(ne - nb)))
    return fail(st, st->line, "'[' inside a section name");
  trim(&nb, &ne);
  if(nb == ne)
    return fail(st, st->line, "empty section name");
  qw_buf_reset(sec);
  const char *p = nb;
  while(p < ne) {
    const char *q = p;
    while(q < ne && !is_blank(*q))
      q++;
    if(p != nb && qw_buf_putc(sec, ' ') != 0)
      return -ENOMEM;
    if(qw_buf_append(sec, p, (size_t)(q - p)) != 0)
      return -ENOMEM;
    while(q < ne && is_blank(*q))
      q++;
    p = q;
  }
  return 0;
}

/* Appends [b, e) to val; returns 1 when it ended in a continuation
 * backslash (dropped), 0 when the value is complete, -ENOMEM. */
static int add_segment(qw_buf *val, const char *b, const char *e)
{
  const char *p = e;
  while(p > b && p[-1] == '\\')
    p--;
  int cont = (int)((size_t)(e - p) & 1);
  if(cont)
    e--;
  if(qw_buf_append(val, b, (size_t)(e - b)) != 0)
    return -ENOMEM;
  return cont;
}

static int parse_pair(ini_state *st, const char *b, const char *e,
                      const char *eq, qw_buf *key, qw_buf *val)
{
  int first = st->line;
  const char *kb = b, *ke = eq;
  trim(&kb, &ke);
  if(kb == ke)
    return fail(st, first, "empty key before '='");
  qw_buf_reset(key);
  if(qw_buf_append(key, kb, (size_t)(ke - kb)) != 0)
    return -ENOMEM;
  qw_buf_reset(val);
  if(qw_buf_append(val, "", 0) != 0)
    return -ENOMEM;
  const char *vb = eq + 1, *ve = e;
  trim(&vb, &ve);
  for(;;) {
    int r = add_segment(val, vb, ve);
    if(r < 0)
      return r;
    if(r == 0)
      break;
    int last = st->line;
    r = next_line(st, &vb, &ve);
    if(r < 0)
      return r;
    if(r == 0)
      return fail(st, last, "'\\' at the end of the file continues "
                  "nothing");
    trim(&vb, &ve);
  }
  /* Blanks kept before a continuation backslash may end the value. */
  while(val->len && is_blank(val->data[val->len - 1]))
    val->data[--val->len] = '\0';
  return 0;
}

int qw_ini_parse(const char *text, size_t len, qw_ini_cb cb, void *ud,
                 char *err, size_t errlen)
{
  ini_state st = {text, len, 0, 0, err, errlen};
  qw_buf sec = QW_BUF_INIT, key = QW_BUF_INIT, val = QW_BUF_INIT;
  int r = 0;

  if(err && errlen)
    err[0] = '\0';
  if(!text && len)
    return fail(&st, 1, "no text");
  if(len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    st.pos = 3;
  if(qw_buf_append(&sec, "", 0) != 0) {
    r = -ENOMEM;
    goto out;
  }
  for(;;) {
    const char *b, *e;
    r = next_line(&st, &b, &e);
    if(r <= 0)
      break;
    r = 0;
    trim(&b, &e);
    if(b == e || *b == '#' || *b == ';')
      continue;
    if(*b == '[') {
      r = parse_header(&st, b, e, &sec);
      if(r)
        break;
      continue;
    }
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if(!eq) {
      r = fail(&st, st.line, "expected 'key = value' or '[section]'");
      break;
    }
    int first = st.line;
    r = parse_pair(&st, b, e, eq, &key, &val);
    if(r)
      break;
    r = cb(ud, sec.data, key.data, val.data, first);
    if(r)
      goto done;
  }
out:
  if(r == -ENOMEM && err && errlen)
    snprintf(err, errlen, "line %d: out of memory", st.line);
done:
  qw_buf_free(&sec);
  qw_buf_free(&key);
  qw_buf_free(&val);
  return r;
}

int qw_read_file(const char *path, size_t max_bytes, char **out,
                 size_t *out_len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if(fd < 0)
    return -errno;
  struct stat sb;
  if(fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if(S_ISDIR(sb.st_mode)) {
    close(fd);
    return -EISDIR;
  }
  if(S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size > max_bytes) {
    close(fd);
    return -EFBIG;
  }
  /* Regular files are read in one go; pipes and the like grow the buffer.
   * One byte past the cap is asked for so an oversized stream is seen. */
  size_t cap = 4096;
  if(S_ISREG(sb.st_mode) && sb.st_size > 0)
    cap = (size_t)sb.st_size + 1;
  if(cap > max_bytes && max_bytes < SIZE_MAX - 1)
    cap = max_bytes + 1;
  char *buf = malloc(cap + 1);
  if(!buf) {
    close(fd);
    return -ENOMEM;
  }
  size_t n = 0;
  int rc = 0;
  for(;;) {
    if(n == cap) {
      if(n > max_bytes)
        break;
      size_t ncap = cap > SIZE_MAX / 4 ? SIZE_MAX - 1 : cap * 2;
      if(max_bytes < SIZE_MAX - 1 && ncap > max_bytes + 1)
        ncap = max_bytes + 1;
      char *nb = realloc(buf, ncap + 1);
      if(!nb) {
        rc = -ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if(got < 0) {
      if(errno == EINTR)
        continue;
      rc = -errno;
      break;
    }
    if(got == 0)
      break;
    n += (size_t)got;
  }
  close(fd);
  if(rc == 0 && n > max_bytes)
    rc = -EFBIG;
  if(rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  if(out_len)
    *out_len = n;
  return 0;
}
