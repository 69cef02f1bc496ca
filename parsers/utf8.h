/* utf8.h — small UTF-8 helpers shared by the parsers and the matcher. */
#ifndef QW_UTF8_H
#define QW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[*i] (len bytes in all), advances *i past it and
 * returns it. Invalid or truncated sequences yield 0xFFFD and advance one
 * byte. Requires *i < len. */
uint32_t qw_utf8_next(const char *s, size_t len, size_t *i);

/* Writes cp as UTF-8 into out (4 bytes room) and returns the byte count. */
size_t qw_utf8_encode(uint32_t cp, char out[4]);

/* 1 when s[0..len) is valid UTF-8 (no surrogates, no overlongs). */
int qw_utf8_valid(const char *s, size_t len);

/* Number of bytes to keep so that s[0..n) does not end mid-sequence, n <= len. */
size_t qw_utf8_floor(const char *s, size_t len, size_t n);

/* 1 for CJK unified ideographs (and extensions, compatibility ideographs). */
int qw_utf8_is_han(uint32_t cp);

#endif
