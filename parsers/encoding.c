/* encoding.c — gzip, deflate, br and zstd decoding under a cap (see
 * encoding.h). Each coding is one streaming loop into a growing buffer
 * whose first size comes from what the format says of itself (gzip's
 * ISIZE, zstd's frame content size) when that is plausible. gzip goes
 * through libdeflate first (a whole-buffer decoder, 3x zlib's speed on
 * product pages); data it rejects is decoded again by zlib, whose errors
 * are the ones reported. */
#include "encoding.h"

#include <brotli/decode.h>
#include <errno.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#define FIRST_MIN (64u << 10)
#define MAX_RATIO 1032u /* deflate's best ratio: a bigger hint is a lie */

typedef struct {
  char *buf;
  size_t len, cap, max;
} sink;

/* Doubles the buffer, within max + 2 bytes (max, one over to see the cap
 * passed, and the NUL); -EFBIG when it is that large already. */
static int sink_grow(sink *s)
{
  size_t limit = s->max + 2;
  size_t nc = s->cap ? s->cap * 2 : FIRST_MIN;
  if(nc < s->cap || nc > limit)
    nc = limit;
  if(nc <= s->cap)
    return -EFBIG;
  char *b = realloc(s->buf, nc);
  if(!b)
    return -ENOMEM;
  s->buf = b;
  s->cap = nc;
  return 0;
}

/* Room for at least one more byte past len (and the NUL). -EFBIG when len
 * is already over max. */
static int sink_room(sink *s)
{
  if(s->len > s->max)
    return -EFBIG;
  if(s->len + 1 < s->cap)
    return 0;
  return sink_grow(s);
}

static void sink_hint(sink *s, size_t hint)
{
  if(hint && hint <= s->max && !s->cap) {
    s->buf = malloc(hint + 2);
    if(s->buf)
      s->cap = hint + 2;
  }
}

/* Bytes writable now (one is kept for the NUL). */
static size_t sink_avail(const sink *s)
{
  return s->cap - s->len - 1;
}

static void set_err(char *err, size_t errlen, const char *coding,
                    const char *what)
{
  if(err && errlen)
    snprintf(err, errlen, "bad %s data: %s", coding, what);
}

/* The first buffer of a gzip body: the last member's ISIZE (the whole
 * size when there is one member, the usual case), when plausible. */
static void gzip_hint(const char *in, size_t n, sink *s)
{
  if(n >= 18) {
    const unsigned char *t = (const unsigned char *)in + n - 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 |
                   (size_t)t[3] << 24;
    if(isize <= n * MAX_RATIO)
      sink_hint(s, isize);
  }
}

static int is_gzip_member(const char *in, size_t n)
{
  return n >= 2 && (unsigned char)in[0] == 0x1f &&
         (unsigned char)in[1] == 0x8b;
}

/* gzip with libdeflate, member by member into s. Returns 0 when every
 * member was decoded (bytes after the last member that do not start
 * another are ignored, as in zlib_decode()), 1 when libdeflate rejects
 * the data (the caller decodes it again with zlib), -EFBIG or -ENOMEM. */
static int gzip_fast(const char *in, size_t n, sink *s)
{
  if(!is_gzip_member(in, n))
    return 1;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if(!d)
    return -ENOMEM;
  size_t off = 0;
  int rc = 0;
  while(!rc && is_gzip_member(in + off, n - off)) {
    rc = sink_room(s);
    if(rc)
      break;
    size_t used = 0, made = 0;
    enum libdeflate_result lr = libdeflate_gzip_decompress_ex(
      d, in + off, n - off, s->buf + s->len, sink_avail(s), &used, &made);
    if(lr == LIBDEFLATE_SUCCESS) {
      s->len += made;
      off += used;
      if(s->len > s->max)
        rc = -EFBIG;
    }
    else if(lr == LIBDEFLATE_INSUFFICIENT_SPACE)
      rc = sink_grow(s); /* then the member again, with more room */
    else
      rc = 1;
  }
  libdeflate_free_decompressor(d);
  return rc;
}

static int zlib_decode(const char *in, size_t n, int gzip, sink *s,
                       char *err, size_t errlen)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  /* gzip: gzip only; deflate: the zlib wrapper, else raw deflate */
  int raw = !gzip && n >= 2 &&
            (((unsigned char)in[0] & 0x0F) != 8 ||
             (((unsigned char)in[0] << 8) | (unsigned char)in[1]) % 31 != 0);
  if(inflateInit2(&z, gzip ? 15 + 16 : raw ? -15 : 15) != Z_OK)
    return -ENOMEM;
  const char *coding = gzip ? "gzip" : "deflate";
  z.next_in = (Bytef *)(uintptr_t)in;
  int rc = 0;
  size_t left = n;
  for(;;) {
    rc = sink_room(s);
    if(rc)
      break;
    z.avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
    size_t avail = sink_avail(s);
    z.next_out = (Bytef *)s->buf + s->len;
    z.avail_out = avail > UINT32_MAX ? UINT32_MAX : (uInt)avail;
    uInt before_in = z.avail_in, before_out = z.avail_out;
    int zr = inflate(&z, Z_NO_FLUSH);
    left -= before_in - z.avail_in;
    s->len += before_out - z.avail_out;
    if(s->len > s->max) {
      rc = -EFBIG;
      break;
    }
    if(zr == Z_STREAM_END) {
      /* concatenated gzip members go on; anything else after the end is
       * ignored, as browsers do */
      if(gzip && left >= 2 && (unsigned char)z.next_in[0] == 0x1f &&
         (unsigned char)z.next_in[1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if(zr == Z_BUF_ERROR && left == 0) {
      set_err(err, errlen, coding, "truncated");
      rc = -EINVAL;
      break;
    }
    if(zr != Z_OK && zr != Z_BUF_ERROR) {
      set_err(err, errlen, coding, z.msg ? z.msg : "corrupt");
      rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
      break;
    }
  }
  inflateEnd(&z);
  return rc;
}

static int br_decode(const char *in, size_t n, sink *s, char *err,
                     size_t errlen)
{
  BrotliDecoderState *st = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  if(!st)
    return -ENOMEM;
  const uint8_t *next_in = (const uint8_t *)in;
  size_t avail_in = n;
  int rc = 0;
  for(;;) {
    rc = sink_room(s);
    if(rc)
      break;
    size_t avail_out = sink_avail(s), before = avail_out;
    uint8_t *next_out = (uint8_t *)s->buf + s->len;
    BrotliDecoderResult r = BrotliDecoderDecompressStream(
      st, &avail_in, &next_in, &avail_out, &next_out, NULL);
    s->len += before - avail_out;
    if(s->len > s->max) {
      rc = -EFBIG;
      break;
    }
    if(r == BROTLI_DECODER_RESULT_SUCCESS)
      break;
    if(r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
      continue;
    set_err(err, errlen, "br", r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ?
            "truncated" : BrotliDecoderErrorString(
                            BrotliDecoderGetErrorCode(st)));
    rc = -EINVAL;
    break;
  }
  BrotliDecoderDestroyInstance(st);
  return rc;
}

static int zstd_decode(const char *in, size_t n, sink *s, char *err,
                       size_t errlen)
{
  unsigned long long fcs = ZSTD_getFrameContentSize(in, n);
  if(fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR &&
     fcs <= (unsigned long long)s->max)
    sink_hint(s, (size_t)fcs);
  ZSTD_DStream *ds = ZSTD_createDStream();
  if(!ds)
    return -ENOMEM;
  ZSTD_initDStream(ds);
  ZSTD_inBuffer ib = {in, n, 0};
  int rc = 0;
  size_t last = 1; /* 0 once a frame is complete */
  for(;;) {
    rc = sink_room(s);
    if(rc)
      break;
    ZSTD_outBuffer ob = {s->buf + s->len, sink_avail(s), 0};
    last = ZSTD_decompressStream(ds, &ob, &ib);
    s->len += ob.pos;
    if(ZSTD_isError(last)) {
      set_err(err, errlen, "zstd", ZSTD_getErrorName(last));
      rc = -EINVAL;
      break;
    }
    if(s->len > s->max) {
      rc = -EFBIG;
      break;
    }
    if(ib.pos == ib.size && ob.pos < ob.size) {
      if(last != 0) {
        set_err(err, errlen, "zstd", "truncated");
        rc = -EINVAL;
      }
      break;
    }
  }
  ZSTD_freeDStream(ds);
  return rc;
}

/* Copies the coding token before p's end into tok (lower case); returns
 * 0 for an empty token. */
static size_t token(const char *s, size_t n, char *tok, size_t cap)
{
  while(n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  while(n && (*s == ' ' || *s == '\t')) {
    s++;
    n--;
  }
  if(n >= cap)
    n = cap - 1;
  for(size_t i = 0; i < n; i++)
    tok[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
  tok[n] = '\0';
  return n;
}

int qw_content_decode(const char *coding, const char *in, size_t n,
                      size_t max, char **out, size_t *out_len, char *err,
                      size_t errlen)
{
  *out = NULL;
  *out_len = 0;
  if(err && errlen)
    err[0] = '\0';
  /* The codings as listed, applied left to right: undo right to left. */
  const char *stages[8];
  size_t lens[8], ns = 0;
  const char *p = coding ? coding : "";
  while(*p) {
    const char *c = strchr(p, ',');
    size_t l = c ? (size_t)(c - p) : strlen(p);
    if(ns == 8) {
      if(err && errlen)
        snprintf(err, errlen, "more than 8 content codings");
      return -EINVAL;
    }
    stages[ns] = p;
    lens[ns++] = l;
    p += l + (c ? 1 : 0);
  }
  char *cur = NULL; /* owned intermediate */
  const char *src = in;
  size_t src_len = n;
  for(size_t i = ns; i-- > 0;) {
    char tok[16];
    if(!token(stages[i], lens[i], tok, sizeof(tok)) ||
       !strcmp(tok, "identity"))
      continue;
    sink s = {NULL, 0, 0, max};
    int rc;
    if(!strcmp(tok, "gzip") || !strcmp(tok, "x-gzip")) {
      gzip_hint(src, src_len, &s);
      rc = gzip_fast(src, src_len, &s);
      if(rc == 1) {
        s.len = 0;
        rc = zlib_decode(src, src_len, 1, &s, err, errlen);
      }
    }
    else if(!strcmp(tok, "deflate"))
      rc = zlib_decode(src, src_len, 0, &s, err, errlen);
    else if(!strcmp(tok, "br"))
      rc = br_decode(src, src_len, &s, err, errlen);
    else if(!strcmp(tok, "zstd"))
      rc = zstd_decode(src, src_len, &s, err, errlen);
    else {
      if(err && errlen)
        snprintf(err, errlen, "unsupported content coding '%s'", tok);
      rc = -EINVAL;
    }
    free(cur);
    cur = NULL;
    if(rc) {
      free(s.buf);
      if(rc == -EFBIG && err && errlen)
        snprintf(err, errlen, "decoded body larger than %zu bytes", max);
      return rc;
    }
    if(!s.buf && !(s.buf = malloc(1)))
      return -ENOMEM;
    s.buf[s.len] = '\0';
    cur = s.buf;
    src = cur;
    src_len = s.len;
  }
  if(!cur) { /* nothing to undo: a copy */
    if(n > max) {
      if(err && errlen)
        snprintf(err, errlen, "decoded body larger than %zu bytes", max);
      return -EFBIG;
    }
    cur = malloc(n + 1);
    if(!cur)
      return -ENOMEM;
    memcpy(cur, in, n);
    cur[n] = '\0';
    src_len = n;
  }
  *out = cur;
  *out_len = src_len;
  return 0;
}
