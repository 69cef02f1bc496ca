/* utf8.c — UTF-8 decoding and encoding helpers (see utf8.h). */
#include "utf8.h"

uint32_t qw_utf8_next(const char *str, size_t len, size_t *i)
{
  const unsigned char *s = (const unsigned char *)str;
  size_t p = *i;
  unsigned c = s[p];
  if(c < 0x80) {
    *i = p + 1;
    return c;
  }
  unsigned need;
  uint32_t cp, min;
  if(c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
    min = 0x80;
  }
  else if(c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
    min = 0x800;
  }
  else if(c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
    min = 0x10000;
  }
  else {
    *i = p + 1;
    return 0xFFFD;
  }
  if(len - p - 1 < need) {
    *i = p + 1;
    return 0xFFFD;
  }
  for(unsigned k = 1; k <= need; k++) {
    unsigned cc = s[p + k];
    if((cc & 0xC0) != 0x80) {
      *i = p + 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if(cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    *i = p + 1;
    return 0xFFFD;
  }
  *i = p + 1 + need;
  return cp;
}

size_t qw_utf8_encode(uint32_t cp, char out[4])
{
  unsigned char *o = (unsigned char *)out;
  if(cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = 0xFFFD;
  if(cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if(cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if(cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

int qw_utf8_valid(const char *s, size_t len)
{
  size_t i = 0;
  while(i < len) {
    size_t start = i;
    uint32_t cp = qw_utf8_next(s, len, &i);
    if(cp == 0xFFFD) {
      /* A literal U+FFFD is three valid bytes; anything else is invalid. */
      if(i - start != 3)
        return 0;
    }
  }
  return 1;
}

size_t qw_utf8_floor(const char *str, size_t len, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  if(n >= len)
    return len;
  while(n > 0 && (s[n] & 0xC0) == 0x80)
    n--;
  return n;
}

int qw_utf8_is_han(uint32_t cp)
{
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F) ||
         cp == 0x3007;
}
