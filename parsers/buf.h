/* buf.h — growable byte buffer used wherever output is built piece by piece.
 *
 * The buffer is always NUL-terminated after a successful call, so data can be
 * read as a C string. Functions return 0 or -ENOMEM; on failure the content
 * is unchanged. The owner frees data with qw_buf_free() (or takes it with
 * qw_buf_steal()). */
#ifndef QW_BUF_H
#define QW_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
  char *data;
  size_t len;
  size_t cap;
} qw_buf;

#define QW_BUF_INIT {NULL, 0, 0}

int qw_buf_reserve(qw_buf *b, size_t extra);
int qw_buf_append(qw_buf *b, const void *p, size_t n);
int qw_buf_puts(qw_buf *b, const char *s);
int qw_buf_putc(qw_buf *b, char c);
int qw_buf_printf(qw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int qw_buf_vprintf(qw_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Appends a code point as UTF-8 (invalid ones as U+FFFD). */
int qw_buf_put_utf8(qw_buf *b, unsigned cp);
void qw_buf_reset(qw_buf *b);

/* Grows the array *p of *cap elements of size bytes so that it holds at
 * least need elements (doubling; the first allocation holds 16). Returns 0
 * or -ENOMEM, in which case *p and *cap are unchanged. */
int qw_grow(void **p, size_t *cap, size_t need, size_t size);
/* Returns data (never NULL: an empty buffer yields a fresh "") and leaves b
 * empty; the caller frees it with free(). NULL when out of memory. */
char *qw_buf_steal(qw_buf *b, size_t *len);
void qw_buf_free(qw_buf *b);

#endif
