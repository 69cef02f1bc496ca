/* rxsyntax.c — lexical pieces of the rule-pattern syntax (see rxsyntax.h). */
#include "rxsyntax.h"

#include <errno.h>
#include <string.h>

#include "utf8.h"

int64_t qw_rx_next_cp(qw_rx_reader *r, const unsigned char **start,
                      size_t *len)
{
  const char *s = r->p;
  size_t n = strnlen(s, 4), i = 0;
  uint32_t cp = qw_utf8_next(s, n, &i);
  if(cp == 0xFFFD && !(i == 3 && !memcmp(s, "\xEF\xBF\xBD", 3)))
    return -1;
  *start = (const unsigned char *)s;
  *len = i;
  r->p += i;
  return cp;
}

int qw_rx_is_meta(int c)
{
  return c && strchr("\\^$.|?*+()[]{}", c) != NULL;
}

static int read_uint(qw_rx_reader *r, long *v)
{
  if(*r->p < '0' || *r->p > '9')
    return -1;
  long x = 0;
  while(*r->p >= '0' && *r->p <= '9') {
    x = x * 10 + (*r->p++ - '0');
    if(x > 100000)
      return -1;
  }
  *v = x;
  return 0;
}

static int hex_digit(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  c = (char)(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

long qw_rx_hex_escape(qw_rx_reader *r)
{
  long v = 0;
  int k = 0;
  if(*r->p == '{') {
    r->p++;
    while(*r->p && *r->p != '}' && k < 8) {
      int d = hex_digit(*r->p++);
      if(d < 0)
        return -1;
      v = v * 16 + d;
      k++;
    }
    if(*r->p != '}' || !k)
      return -1;
    r->p++;
    return v <= 0x10FFFF ? v : -1;
  }
  for(; k < 2; k++) {
    int d = hex_digit(*r->p);
    if(d < 0)
      break;
    v = v * 16 + d;
    r->p++;
  }
  return v;
}

long qw_rx_char_escape(qw_rx_reader *r, char e)
{
  switch(e) {
  case 'n':
    return '\n';
  case 't':
    return '\t';
  case 'r':
    return '\r';
  case 'f':
    return '\f';
  case 'x':
    return qw_rx_hex_escape(r);
  default:
    if(e && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
              (e >= '0' && e <= '9')))
      return (unsigned char)e;
    return -1;
  }
}

int qw_rx_is_set_escape(char e)
{
  return e && strchr("sdwSDW", e) != NULL;
}

/* One character of a class: an escape or a literal; -1 when neither. */
static long class_char(qw_rx_reader *r)
{
  if(*r->p == '\\') {
    r->p++;
    char e = *r->p;
    if(e)
      r->p++;
    return qw_rx_char_escape(r, e);
  }
  const unsigned char *start;
  size_t len;
  return qw_rx_next_cp(r, &start, &len);
}

int qw_rx_class_member(qw_rx_reader *r, int first, long *lo, long *hi,
                       char *set)
{
  if(!*r->p || (r->p[0] == '[' && r->p[1] == ':')) {
    r->err = -EINVAL; /* unterminated; POSIX classes are not handled */
    return -1;
  }
  if(!first && *r->p == ']') {
    r->p++;
    return 0;
  }
  if(r->p[0] == '\\' && qw_rx_is_set_escape(r->p[1])) {
    *set = r->p[1];
    r->p += 2;
    return 2;
  }
  *lo = class_char(r);
  *hi = *lo;
  if(*lo >= 0 && r->p[0] == '-' && r->p[1] && r->p[1] != ']') {
    r->p++;
    *hi = class_char(r);
  }
  if(*lo < 0 || *hi < *lo) {
    r->err = -EINVAL;
    return -1;
  }
  return 1;
}

int qw_rx_quantifier(qw_rx_reader *r, long *mn, long *mx)
{
  switch(*r->p) {
  case '?':
    *mn = 0;
    *mx = 1;
    break;
  case '*':
    *mn = 0;
    *mx = -1;
    break;
  case '+':
    *mn = 1;
    *mx = -1;
    break;
  case '{':
    r->p++;
    if(read_uint(r, mn)) {
      r->err = -EINVAL; /* a literal '{' */
      return 0;
    }
    *mx = *mn;
    if(*r->p == ',') {
      r->p++;
      *mx = -1;
      if(*r->p != '}' && read_uint(r, mx)) {
        r->err = -EINVAL;
        return 0;
      }
    }
    if(*r->p != '}' || (*mx >= 0 && *mx < *mn)) {
      r->err = -EINVAL;
      return 0;
    }
    break;
  default:
    return 0;
  }
  r->p++;
  if(*r->p == '?' || *r->p == '+')
    r->p++; /* lazy or possessive: the same set of matches here */
  return 1;
}

/* The opening after "(": 0 plain or named group, 1 look-around, -1. */
static int group_kind(qw_rx_reader *r)
{
  if(r->p[0] != '?')
    return 0;
  if(r->p[1] == ':') {
    r->p += 2;
    return 0;
  }
  if(r->p[1] == '=' || r->p[1] == '!') {
    r->p += 2;
    return 1;
  }
  if(r->p[1] == '<' && (r->p[2] == '=' || r->p[2] == '!')) {
    r->p += 3;
    return 1;
  }
  if(r->p[1] == '<' || (r->p[1] == 'P' && r->p[2] == '<')) {
    const char *gt = strchr(r->p, '>');
    if(gt) {
      r->p = gt + 1;
      return 0;
    }
  }
  return -1;
}

int qw_rx_group_open(qw_rx_reader *r)
{
  int k = group_kind(r);
  if(k < 0 || ++r->depth > QW_RX_MAX_DEPTH) {
    r->err = -EINVAL;
    return -1;
  }
  return k;
}

void qw_rx_group_close(qw_rx_reader *r)
{
  r->depth--;
  if(*r->p != ')')
    r->err = -EINVAL;
  else
    r->p++;
}

/* Non-ASCII ranges without case variants. */
static const uint32_t caseless[][2] = {
  {0x80, 0xB4},     {0xB6, 0xBF},     {0x2000, 0x206F}, {0x20A0, 0x20CF},
    {0x2100, 0x2125}, {0x2190, 0x23FF}, {0x2500, 0x27BF}, {0x2E80, 0xA4CF},
  {0xAC00, 0xD7AF}, {0xF900, 0xFAFF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE6F},
  {0xFF00, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFFEF}, {0x20000, 0x3FFFF},
};

int qw_rx_may_fold(uint32_t cp)
{
  return qw_rx_range_may_fold(cp, cp);
}

int qw_rx_range_may_fold(uint32_t lo, uint32_t hi)
{
  if(hi < 0x80)
    return 0;
  if(lo < 0x80)
    lo = 0x80;
  for(size_t i = 0; i < sizeof(caseless) / sizeof(caseless[0]); i++)
    if(lo >= caseless[i][0] && hi <= caseless[i][1])
      return 0;
  return 1;
}

const char *qw_rx_extra_fold(uint32_t cp)
{
  switch(cp) {
  case 'k':
  case 'K':
    return "\xE2\x84\xAA";
  case 's':
  case 'S':
    return "\xC5\xBF";
  default:
    return NULL;
  }
}
