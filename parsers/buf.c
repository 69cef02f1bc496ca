/* buf.c — growable byte buffer (see buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int qw_buf_reserve(qw_buf *b, size_t extra)
{
  if(extra > SIZE_MAX - b->len - 1)
    return -ENOMEM;
  size_t need = b->len + extra + 1;
  if(need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while(cap < need) {
    if(cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  char *d = realloc(b->data, cap);
  if(!d)
    return -ENOMEM;
  b->data = d;
  b->cap = cap;
  return 0;
}

int qw_buf_append(qw_buf *b, const void *p, size_t n)
{
  if(qw_buf_reserve(b, n) != 0)
    return -ENOMEM;
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int qw_buf_puts(qw_buf *b, const char *s)
{
  return qw_buf_append(b, s, strlen(s));
}

int qw_buf_putc(qw_buf *b, char c)
{
  return qw_buf_append(b, &c, 1);
}

int qw_buf_vprintf(qw_buf *b, const char *fmt, va_list ap)
{
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if(n < 0)
    return -EINVAL;
  if(qw_buf_reserve(b, (size_t)n) != 0)
    return -ENOMEM;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int qw_buf_printf(qw_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = qw_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return r;
}

int qw_buf_put_utf8(qw_buf *b, unsigned cp)
{
  char tmp[4];
  size_t n = qw_utf8_encode(cp, tmp);
  return qw_buf_append(b, tmp, n);
}

int qw_grow(void **p, size_t *cap, size_t need, size_t size)
{
  if(need <= *cap)
    return 0;
  size_t nc = *cap ? *cap : 16;
  while(nc < need) {
    if(nc > SIZE_MAX / 2 / size)
      return -ENOMEM;
    nc *= 2;
  }
  void *np = realloc(*p, nc * size);
  if(!np)
    return -ENOMEM;
  *p = np;
  *cap = nc;
  return 0;
}

void qw_buf_reset(qw_buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

char *qw_buf_steal(qw_buf *b, size_t *len)
{
  if(!b->data && qw_buf_reserve(b, 0) != 0)
    return NULL;
  b->data[b->len] = '\0';
  char *d = b->data;
  if(len)
    *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void qw_buf_free(qw_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
