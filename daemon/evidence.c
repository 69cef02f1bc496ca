/* evidence.c — the evidence store: content-addressed gzip captures and a
 * hash-chained, append-only log (see evidence.h; the on-disk format is
 * specified in docs/evidence.md).
 *
 * Store order, so that a record never names an object that is not on disk:
 * object to a temp file → fsync → link to its final name → fsync the
 * directory → log line with one write() → fsync → evidence.head. */
#include "evidence.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "log.h"
#include "utf8.h"

#define EV_MAGIC "qingwang-evidence/1"
#define EV_LOG "evidence.log"
#define EV_HEAD "evidence.head"
#define EV_HEAD_TMP "evidence.head.tmp"
#define EV_ZERO "00000000000000000000000000000000" \
                "00000000000000000000000000000000"
#define EV_MAX_FIELD (16 * 1024)            /* url, path, node, ip */
#define EV_MAX_HEADERS (8 * 1024 * 1024)    /* each header block */
#define EV_MAX_BODY ((uint64_t)1 << 30)
#define EV_MAX_HDR_LINE (4 * EV_MAX_FIELD + 64) /* escaped field line */
#define EV_MAX_HDR_LINES 64                    /* field lines per object */
#define EV_MAX_PREAMBLE (2 * EV_MAX_HEADERS + \
                         (EV_MAX_HDR_LINES + 4) * EV_MAX_HDR_LINE)
#define EV_MAX_LINE (1024 * 1024)           /* one log record */
#define EV_CHUNK 65536
#define EV_JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

struct qw_evidence {
  char *dir;
  int dirfd;
  int objfd;             /* dir/objects */
  int logfd;             /* dir/evidence.log, O_APPEND */
  pthread_mutex_t mu;    /* serialises appends within the process */
  uint64_t seq;          /* last record's seq, 0 for an empty log */
  char prev[65];         /* last record's hash (EV_ZERO when empty) */
  char last_prev[65];    /* the "prev" of the last record */
  off_t known;           /* log size when we last looked, -1 unknown */
  unsigned long tmpseq;  /* temp file names (atomic) */
  unsigned char subok[256]; /* objects/xx known durable (atomic) */
};

static int ev_err(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int ev_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
  if(err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* ---- small helpers ---------------------------------------------------- */

static void to_hex(const unsigned char *md, size_t n, char *out)
{
  static const char hex[] = "0123456789abcdef";
  for(size_t i = 0; i < n; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[2 * n] = '\0';
}

static int hexval(int c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* 1 when s[0..n) is lower-case hex. */
static int is_hex(const char *s, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(hexval((unsigned char)s[i]) < 0)
      return 0;
  return 1;
}

static int is_hash(const char *s)
{
  return s && strlen(s) == 64 && is_hex(s, 64);
}

/* 1 when s is "objects/xx/<62 hex>.gz"; fills bin with the 32-byte name. */
static int parse_object_name(const char *s, unsigned char bin[32])
{
  if(strlen(s) != 76 || strncmp(s, "objects/", 8) != 0 || s[10] != '/' ||
     strcmp(s + 73, ".gz") != 0 || !is_hex(s + 8, 2) || !is_hex(s + 11, 62))
    return 0;
  char hex[64];
  memcpy(hex, s + 8, 2);
  memcpy(hex + 2, s + 11, 62);
  for(int i = 0; i < 32; i++)
    bin[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
  return 1;
}

static int sha_final(EVP_MD_CTX *c, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if(EVP_DigestFinal_ex(c, md, &n) != 1 || n != 32)
    return -EIO;
  to_hex(md, 32, out);
  return 0;
}

static int sha_hex(const void *p, size_t n, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return -EIO;
  to_hex(md, 32, out);
  return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
  const char *c = p;
  while(n) {
    ssize_t w = write(fd, c, n);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      return -errno;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static ssize_t pread_full(int fd, void *p, size_t n, off_t off)
{
  size_t got = 0;
  while(got < n) {
    ssize_t r = pread(fd, (char *)p + got, n - got, off + (off_t)got);
    if(r < 0) {
      if(errno == EINTR)
        continue;
      return -errno;
    }
    if(r == 0)
      break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

static int lock_file(int fd, int op)
{
  while(flock(fd, op) != 0)
    if(errno != EINTR)
      return -errno;
  return 0;
}

/* Appends s[0..n) escaped for a header line or a log string: "\" becomes
 * "\\", control bytes and DEL and bytes of invalid UTF-8 become "\xNN".
 * The result is valid UTF-8 without control characters. */
static int esc_append(qw_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t i = 0;
  while(i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t j = i + 1;
    int bad = c < 0x20 || c == 0x7f;
    if(c >= 0x80) {
      j = i;
      bad = qw_utf8_next(s, n, &j) == 0xFFFD && j - i == 1;
    }
    int r;
    if(c == '\\')
      r = qw_buf_append(b, "\\\\", 2);
    else if(bad) {
      char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      r = qw_buf_append(b, e, 4);
      j = i + 1;
    }
    else
      r = qw_buf_append(b, s + i, j - i);
    if(r != 0)
      return r;
    i = j;
  }
  return 0;
}

static int fmt_time(time_t t, long ms, char out[32])
{
  struct tm tm;
  if(!gmtime_r(&t, &tm))
    return -EINVAL;
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  if(n == 0)
    return -EINVAL;
  if(ms >= 0)
    snprintf(out + n, 32 - n, ".%03ldZ", ms);
  else
    snprintf(out + n, 32 - n, "Z");
  return 0;
}

/* ---- objects ---------------------------------------------------------- */

/* The text before the body (docs/evidence.md "Objects"). */
static int build_preamble(const qw_evidence_item *it, const char *body_hex,
                          qw_buf *b)
{
  char when[32];
  int r = fmt_time(it->fetched, -1, when);
  if(r != 0)
    return r;
  struct {
    const char *key;
    const char *val;
  } f[] = {
    {"url", it->url}, {"final-url", it->final_url},
    {"source-path", it->source_path},
  };
  r = qw_buf_puts(b, EV_MAGIC "\n");
  for(size_t i = 0; r == 0 && i < sizeof(f) / sizeof(f[0]); i++)
    if(f[i].val) {
      r = qw_buf_printf(b, "%s: ", f[i].key);
      if(r == 0)
        r = esc_append(b, f[i].val, strlen(f[i].val));
      if(r == 0)
        r = qw_buf_putc(b, '\n');
    }
  if(r == 0)
    r = qw_buf_printf(b, "status: %ld\nfetched: %s\n", it->status, when);
  if(r == 0 && it->remote_ip) {
    int v6 = strchr(it->remote_ip, ':') != NULL;
    r = qw_buf_puts(b, v6 ? "remote: [" : "remote: ");
    if(r == 0)
      r = esc_append(b, it->remote_ip, strlen(it->remote_ip));
    if(r == 0)
      r = qw_buf_printf(b, "%s:%ld\n", v6 ? "]" : "", it->remote_port);
  }
  if(r == 0 && it->node) {
    r = qw_buf_puts(b, "node: ");
    if(r == 0)
      r = esc_append(b, it->node, strlen(it->node));
    if(r == 0)
      r = qw_buf_putc(b, '\n');
  }
  if(r == 0)
    r = qw_buf_printf(b, "body-sha256: %s\nbody-length: %zu\n", body_hex,
                      it->body_len);
  const char *blocks[2] = {it->request_headers, it->response_headers};
  const char *names[2] = {"request-headers", "response-headers"};
  for(int i = 0; r == 0 && i < 2; i++) {
    size_t n = blocks[i] ? strlen(blocks[i]) : 0;
    r = qw_buf_printf(b, "%s: %zu\n", names[i], n);
    if(r == 0)
      r = qw_buf_append(b, blocks[i] ? blocks[i] : "", n);
    if(r == 0)
      r = qw_buf_putc(b, '\n');
  }
  if(r == 0)
    r = qw_buf_putc(b, '\n');
  return r;
}

/* gzip (level 6, no name, mtime 0: the same content always gives the same
 * bytes with one zlib) of pre followed by body, written to fd. */
static int deflate_to_fd(int fd, const qw_buf *pre, const void *body,
                         size_t blen)
{
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  if(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
     Z_OK)
    return -ENOMEM;
  unsigned char *out = malloc(EV_CHUNK);
  int rc = out ? 0 : -ENOMEM;
  const unsigned char *src[2] = {(const unsigned char *)pre->data, body};
  size_t len[2] = {pre->len, body ? blen : 0};
  for(int part = 0; rc == 0 && part < 2; part++) {
    const unsigned char *p = src[part];
    size_t left = len[part];
    do {
      uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
      int last = part == 1 && take == left;
      zs.next_in = (Bytef *)(uintptr_t)p;
      zs.avail_in = take;
      p += take;
      left -= take;
      int zr;
      do {
        zs.next_out = out;
        zs.avail_out = EV_CHUNK;
        zr = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
        if(zr == Z_STREAM_ERROR) {
          rc = -EIO;
          break;
        }
        rc = write_all(fd, out, EV_CHUNK - zs.avail_out);
      } while(rc == 0 && (last ? zr != Z_STREAM_END : zs.avail_out == 0));
    } while(rc == 0 && left > 0);
  }
  deflateEnd(&zs);
  free(out);
  return rc;
}

typedef struct {
  char content[65];   /* SHA-256 of the whole inflated content */
  char body[65];      /* SHA-256 of the body part */
  char decl_body[65]; /* body-sha256 line of the header */
  uint64_t decl_len;  /* body-length line of the header */
  uint64_t body_len;  /* body bytes present */
  char why[200];      /* set when the object is damaged or malformed */
} obj_scan;

/* Cuts the next line off p[*o..n). 1 = got one, 0 = need more bytes. */
static int next_line(const char *p, size_t n, size_t *o, const char **line,
                     size_t *llen)
{
  const char *nl = memchr(p + *o, '\n', n - *o);
  if(!nl)
    return 0;
  *line = p + *o;
  *llen = (size_t)(nl - *line);
  *o = (size_t)(nl - p) + 1;
  return 1;
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
  uint64_t x = 0;
  if(n == 0 || n > 19)
    return -1;
  for(size_t i = 0; i < n; i++) {
    if(s[i] < '0' || s[i] > '9')
      return -1;
    x = x * 10 + (uint64_t)(s[i] - '0');
  }
  if(x > max)
    return -1;
  *v = x;
  return 0;
}

/* Where parse_preamble stopped; it resumes there when more bytes came, so
 * feeding a long header chunk by chunk stays linear. */
typedef struct {
  size_t o;           /* first byte not consumed yet */
  int stage;          /* 0 magic, 1 fields, 2-3 header blocks, 4 blank */
  int lines;          /* field lines so far */
  int have_sha;
  int have_len;
} pre_state;

static int bad_pre(obj_scan *os, const char *why)
{
  snprintf(os->why, sizeof(os->why), "%s", why);
  return -1;
}

/* Parses the preamble in p[0..n): 1 = complete (*hlen = its length),
 * 0 = need more bytes, -1 = malformed (os->why set). */
static int parse_preamble(const char *p, size_t n, pre_state *st,
                          obj_scan *os, size_t *hlen)
{
  static const char *const blocks[2] = {"request-headers",
                                        "response-headers"};
  const char *line;
  size_t llen;
  while(st->stage < 4) {
    size_t o = st->o;
    if(!next_line(p, n, &o, &line, &llen))
      return n - st->o > EV_MAX_HDR_LINE ?
             bad_pre(os, "header line too long") : 0;
    if(st->stage == 0) {
      if(llen != strlen(EV_MAGIC) || memcmp(line, EV_MAGIC, llen) != 0)
        return bad_pre(os, "not a qingwang evidence object (first line is "
                       "not \"" EV_MAGIC "\")");
      st->stage = 1;
      st->o = o;
      continue;
    }
    const char *colon = memchr(line, ':', llen);
    if(!colon || colon + 1 >= line + llen || colon[1] != ' ')
      return bad_pre(os, "malformed header line");
    size_t klen = (size_t)(colon - line);
    const char *v = colon + 2;
    size_t vlen = llen - klen - 2;
    if(st->stage == 1) {
      if(klen == 15 && memcmp(line, "request-headers", 15) == 0) {
        st->stage = 2;
        continue;
      }
      if(++st->lines > EV_MAX_HDR_LINES)
        return bad_pre(os, "too many header lines");
      if(klen == 11 && memcmp(line, "body-sha256", 11) == 0) {
        if(st->have_sha || vlen != 64 || !is_hex(v, 64))
          return bad_pre(os, "bad or repeated body-sha256 line");
        memcpy(os->decl_body, v, 64);
        os->decl_body[64] = '\0';
        st->have_sha = 1;
      }
      else if(klen == 11 && memcmp(line, "body-length", 11) == 0) {
        if(st->have_len ||
           parse_u64(v, vlen, EV_MAX_BODY, &os->decl_len) != 0)
          return bad_pre(os, "bad or repeated body-length line");
        st->have_len = 1;
      }
      st->o = o;
      continue;
    }
    /* "<block>: N", then N bytes and a line end. */
    const char *name = blocks[st->stage - 2];
    uint64_t blen;
    if(klen != strlen(name) || memcmp(line, name, klen) != 0 ||
       parse_u64(v, vlen, EV_MAX_HEADERS, &blen) != 0)
      return bad_pre(os, st->stage == 2 ? "bad request-headers line" :
                     "bad response-headers line");
    if(n - o < blen + 1)
      return 0;
    if(p[o + blen] != '\n')
      return bad_pre(os, "a header block does not end where its length "
                     "says");
    st->o = o + blen + 1;
    st->stage++;
  }
  if(st->o >= n)
    return 0;
  if(p[st->o] != '\n')
    return bad_pre(os, "no blank line after the header blocks");
  if(!st->have_sha || !st->have_len)
    return bad_pre(os, "header lacks body-sha256 or body-length");
  *hlen = st->o + 1;
  return 1;
}

typedef struct {
  obj_scan *os;
  EVP_MD_CTX *all;
  EVP_MD_CTX *body;
  qw_buf pre;
  pre_state ps;
  int state;          /* 0 preamble, 1 body */
  uint64_t total;
  uint64_t limit;     /* content length the header promises */
} scan_ctx;

/* Feeds inflated bytes; -1 = stop (os->why set), -EIO on hash failure. */
static int scan_feed(scan_ctx *sc, const unsigned char *p, size_t n)
{
  sc->total += n;
  if(sc->state == 1 && sc->total > sc->limit) {
    snprintf(sc->os->why, sizeof(sc->os->why), "longer than its header "
             "declares");
    return -1;
  }
  if(sc->total > EV_MAX_BODY + EV_MAX_PREAMBLE) {
    snprintf(sc->os->why, sizeof(sc->os->why), "too large");
    return -1;
  }
  if(EVP_DigestUpdate(sc->all, p, n) != 1)
    return -EIO;
  if(sc->state == 1) {
    sc->os->body_len += n;
    return EVP_DigestUpdate(sc->body, p, n) == 1 ? 0 : -EIO;
  }
  if(qw_buf_append(&sc->pre, p, n) != 0)
    return -ENOMEM;
  size_t hlen = 0;
  int r = parse_preamble(sc->pre.data, sc->pre.len, &sc->ps, sc->os, &hlen);
  if(r < 0)
    return -1;
  if(r == 0)
    return 0;
  sc->state = 1;
  sc->limit = hlen + sc->os->decl_len;
  sc->os->body_len = sc->pre.len - hlen;
  if(sc->total > sc->limit) {
    snprintf(sc->os->why, sizeof(sc->os->why), "longer than its header "
             "declares");
    return -1;
  }
  r = EVP_DigestUpdate(sc->body, sc->pre.data + hlen, sc->pre.len - hlen);
  qw_buf_free(&sc->pre);
  return r == 1 ? 0 : -EIO;
}

/* Inflates the object on fd, hashing it whole and its body part. Returns 0
 * when well-formed (hashes filled, compare them yourself), -EBADMSG with
 * os->why when damaged or malformed, another negative errno on I/O or
 * memory errors. Work is bounded by the length the header declares. */
static int scan_object(int fd, obj_scan *os)
{
  memset(os, 0, sizeof(*os));
  scan_ctx sc;
  memset(&sc, 0, sizeof(sc));
  sc.os = os;
  sc.all = EVP_MD_CTX_new();
  sc.body = EVP_MD_CTX_new();
  unsigned char *in = malloc(EV_CHUNK), *out = malloc(EV_CHUNK);
  z_stream zs;
  memset(&zs, 0, sizeof(zs));
  int rc = 0, zinit = 0, zend = 0;
  if(!sc.all || !sc.body || !in || !out ||
     EVP_DigestInit_ex(sc.all, EVP_sha256(), NULL) != 1 ||
     EVP_DigestInit_ex(sc.body, EVP_sha256(), NULL) != 1) {
    rc = -ENOMEM;
    goto done;
  }
  if(inflateInit2(&zs, 15 + 16) != Z_OK) {
    rc = -ENOMEM;
    goto done;
  }
  zinit = 1;
  while(rc == 0 && !os->why[0]) {
    ssize_t got = read(fd, in, EV_CHUNK);
    if(got < 0) {
      if(errno == EINTR)
        continue;
      rc = -errno;
      break;
    }
    if(got == 0) {
      if(!zend)
        snprintf(os->why, sizeof(os->why), "truncated gzip stream");
      break;
    }
    if(zend) {
      snprintf(os->why, sizeof(os->why), "data after the gzip stream");
      break;
    }
    zs.next_in = in;
    zs.avail_in = (uInt)got;
    do {
      zs.next_out = out;
      zs.avail_out = EV_CHUNK;
      int zr = inflate(&zs, Z_NO_FLUSH);
      if(zr == Z_STREAM_END)
        zend = 1;
      else if(zr != Z_OK && zr != Z_BUF_ERROR) {
        snprintf(os->why, sizeof(os->why), "corrupt gzip data (%s)",
                 zs.msg ? zs.msg : "zlib error");
        break;
      }
      int fr = scan_feed(&sc, out, EV_CHUNK - zs.avail_out);
      if(fr < -1)
        rc = fr;
      if(fr != 0)
        break;
    } while(zs.avail_out == 0 && !zend);
    if(zend && zs.avail_in > 0 && !os->why[0])
      snprintf(os->why, sizeof(os->why), "data after the gzip stream");
  }
  if(rc == 0 && !os->why[0]) {
    if(sc.state == 0)
      snprintf(os->why, sizeof(os->why), "ends inside its header");
    else if(sha_final(sc.all, os->content) != 0 ||
            sha_final(sc.body, os->body) != 0)
      rc = -EIO;
    else if(sc.state == 1 && os->body_len != os->decl_len)
      snprintf(os->why, sizeof(os->why), "body is %" PRIu64 " bytes, its "
               "header says %" PRIu64, os->body_len, os->decl_len);
  }
  if(rc == 0 && os->why[0])
    rc = -EBADMSG;
done:
  if(zinit)
    inflateEnd(&zs);
  qw_buf_free(&sc.pre);
  EVP_MD_CTX_free(sc.all);
  EVP_MD_CTX_free(sc.body);
  free(in);
  free(out);
  return rc;
}

/* Checks an object against its name and body hash: 0 when it matches,
 * -EBADMSG with os->why set when not, another negative errno on errors. */
static int check_object(int fd, const char *name, const char *body_hex,
                        uint64_t body_len, obj_scan *os)
{
  struct stat st;
  if(fstat(fd, &st) != 0)
    return -errno;
  if(!S_ISREG(st.st_mode)) {
    memset(os, 0, sizeof(*os));
    snprintf(os->why, sizeof(os->why), "not a regular file");
    return -EBADMSG;
  }
  int r = scan_object(fd, os);
  if(r != 0)
    return r;
  if(strcmp(os->content, name) != 0)
    snprintf(os->why, sizeof(os->why), "content hashes to %s, not to its "
             "name (the object was altered or damaged)", os->content);
  else if(strcmp(os->body, os->decl_body) != 0)
    snprintf(os->why, sizeof(os->why), "body hashes to %s, its header "
             "says %s", os->body, os->decl_body);
  else if(body_hex && strcmp(os->body, body_hex) != 0)
    snprintf(os->why, sizeof(os->why), "body hashes to %s, the record "
             "says %s", os->body, body_hex);
  else if(body_hex && os->body_len != body_len)
    snprintf(os->why, sizeof(os->why), "body is %" PRIu64 " bytes, the "
             "record says %" PRIu64, os->body_len, body_len);
  return os->why[0] ? -EBADMSG : 0;
}

/* Writes the object named name (hex) unless it is already there. */
static int put_object(qw_evidence *ev, const char *name, const qw_buf *pre,
                      const qw_evidence_item *it, const char *body_hex,
                      char *err, size_t errlen)
{
  char sub[3] = {name[0], name[1], '\0'};
  char leaf[70];
  snprintf(leaf, sizeof(leaf), "%s.gz", name + 2);
  unsigned char *ok = &ev->subok[hexval(name[0]) << 4 | hexval(name[1])];
  if(!__atomic_load_n(ok, __ATOMIC_ACQUIRE)) {
    /* Created now, or by another thread that may not have synced objects/
     * yet: sync it once before anything inside is relied on. */
    if(mkdirat(ev->objfd, sub, 0750) != 0 && errno != EEXIST)
      return ev_err(err, errlen, -errno, "evidence: cannot create "
                    "%s/objects/%s: %s", ev->dir, sub, strerror(errno));
    if(fsync(ev->objfd) != 0)
      return ev_err(err, errlen, -errno, "evidence: cannot sync %s/objects: "
                    "%s", ev->dir, strerror(errno));
    __atomic_store_n(ok, 1, __ATOMIC_RELEASE);
  }
  int sfd = openat(ev->objfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(sfd < 0)
    return ev_err(err, errlen, -errno, "evidence: cannot open "
                  "%s/objects/%s: %s", ev->dir, sub, strerror(errno));
  int rc = 0, existed = 0, linked = 0;
  struct stat st;
  char tmp[64] = "";
  if(fstatat(sfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
    existed = 1;
  else if(errno != ENOENT) {
    rc = ev_err(err, errlen, -errno, "evidence: cannot stat "
                "%s/objects/%s/%s: %s", ev->dir, sub, leaf, strerror(errno));
    goto out;
  }
  if(!existed) {
    /* A crashed process with our pid may have left a name: take the next
     * one then. */
    int fd = -1;
    for(int tries = 0; fd < 0 && tries < 1000; tries++) {
      snprintf(tmp, sizeof(tmp), ".tmp-%ld-%lu", (long)getpid(),
               __atomic_fetch_add(&ev->tmpseq, 1, __ATOMIC_RELAXED));
      fd = openat(sfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
      if(fd < 0 && errno != EEXIST)
        break;
    }
    if(fd < 0) {
      rc = ev_err(err, errlen, -errno, "evidence: cannot create a file in "
                  "%s/objects/%s: %s", ev->dir, sub, strerror(errno));
      goto out;
    }
    rc = deflate_to_fd(fd, pre, it->body, it->body_len);
    if(rc == 0 && fsync(fd) != 0)
      rc = -errno;
    if(close(fd) != 0 && rc == 0)
      rc = -errno;
    if(rc == 0 && linkat(sfd, tmp, sfd, leaf, 0) == 0)
      linked = 1;
    else if(rc == 0 && errno == EEXIST)
      existed = 1;
    else if(rc == 0 && (errno == EPERM || errno == EOPNOTSUPP ||
                        errno == EMLINK || errno == ENOSYS)) {
      /* No hard links here: rename that refuses to replace. */
      if(renameat2(sfd, tmp, sfd, leaf, RENAME_NOREPLACE) == 0) {
        tmp[0] = '\0';
        linked = 1;
      }
      else if(errno == EEXIST)
        existed = 1;
      else
        rc = -errno;
    }
    else if(rc == 0)
      rc = -errno;
    if(tmp[0] && unlinkat(sfd, tmp, 0) != 0)
      qw_log(QW_LOG_WARN, "evidence.tmp", "file=%s msg=%s",
             qw_log_quote(tmp), qw_log_quote(strerror(errno)));
    if(rc != 0) {
      rc = ev_err(err, errlen, rc, "evidence: cannot write "
                  "%s/objects/%s/%s: %s", ev->dir, sub, leaf, strerror(-rc));
      goto out;
    }
  }
  if(existed && !linked) {
    /* Same name = same content, unless someone changed the file: check it
     * fully and never replace it. */
    int fd = openat(sfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    obj_scan os;
    rc = fd < 0 ? -errno : check_object(fd, name, body_hex, it->body_len,
                                        &os);
    if(fd >= 0)
      close(fd);
    if(rc == -EBADMSG) {
      rc = ev_err(err, errlen, rc, "evidence: %s/objects/%s/%s exists but "
                  "does not hold this capture: %s; it is left as it is for "
                  "a person to examine", ev->dir, sub, leaf, os.why);
      goto out;
    }
    if(rc != 0) {
      rc = ev_err(err, errlen, rc, "evidence: cannot read "
                  "%s/objects/%s/%s: %s", ev->dir, sub, leaf, strerror(-rc));
      goto out;
    }
  }
  /* Also when it existed: another thread may not have synced it yet. */
  if(fsync(sfd) != 0)
    rc = ev_err(err, errlen, -errno, "evidence: cannot sync %s/objects/%s: "
                "%s", ev->dir, sub, strerror(errno));
out:
  close(sfd);
  return rc;
}

/* ---- log records ------------------------------------------------------ */

typedef struct {
  uint64_t seq;
  char hash[65];        /* as written */
  char prev[65];
  char object[80];
  char body[65];
  uint64_t body_len;
  int hash_ok;          /* hash recomputes from the record */
  int canonical;        /* the line is exactly as qingwang writes it */
} rec_info;

static int get_hash_field(json_t *o, const char *key, char out[65])
{
  const char *s = json_string_value(json_object_get(o, key));
  if(!is_hash(s))
    return -1;
  memcpy(out, s, 65);
  return 0;
}

/* Parses and checks one log line. 0 = well-formed (ri filled, hash_ok says
 * whether the hash recomputes), -1 = malformed (why set), -ENOMEM. */
static int parse_record(const char *line, size_t len, rec_info *ri,
                        char *why, size_t whylen)
{
  memset(ri, 0, sizeof(*ri));
  json_error_t je;
  json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
  if(!o) {
    snprintf(why, whylen, "not valid JSON (%.100s at column %d)", je.text,
             je.column);
    return -1;
  }
  const char *bad = NULL;
  json_t *seq = json_object_get(o, "seq");
  json_t *blen = json_object_get(o, "body_length");
  const char *obj = json_string_value(json_object_get(o, "object"));
  unsigned char bin[32];
  if(!json_is_object(o))
    bad = "not a JSON object";
  else if(!json_is_integer(seq) || json_integer_value(seq) < 1)
    bad = "missing or bad \"seq\"";
  else if(get_hash_field(o, "hash", ri->hash) != 0)
    bad = "missing or bad \"hash\"";
  else if(get_hash_field(o, "prev", ri->prev) != 0)
    bad = "missing or bad \"prev\"";
  else if(get_hash_field(o, "body_sha256", ri->body) != 0)
    bad = "missing or bad \"body_sha256\"";
  else if(!json_is_integer(blen) || json_integer_value(blen) < 0)
    bad = "missing or bad \"body_length\"";
  else if(!obj || !parse_object_name(obj, bin))
    bad = "missing or bad \"object\"";
  if(bad) {
    snprintf(why, whylen, "%s", bad);
    json_decref(o);
    return -1;
  }
  ri->seq = (uint64_t)json_integer_value(seq);
  ri->body_len = (uint64_t)json_integer_value(blen);
  snprintf(ri->object, sizeof(ri->object), "%s", obj);
  char *full = json_dumps(o, EV_JSON_FLAGS);
  if(!full) {
    json_decref(o);
    return -ENOMEM;
  }
  ri->canonical = strlen(full) == len && memcmp(full, line, len) == 0;
  free(full);
  json_object_del(o, "hash");
  char *canon = json_dumps(o, EV_JSON_FLAGS);
  json_decref(o);
  if(!canon)
    return -ENOMEM;
  char h[65];
  int r = sha_hex(canon, strlen(canon), h);
  free(canon);
  if(r != 0)
    return r;
  ri->hash_ok = strcmp(h, ri->hash) == 0;
  return 0;
}

static int set_str(json_t *o, const char *key, const char *s)
{
  if(!s)
    return json_object_set_new(o, key, json_null());
  qw_buf b = QW_BUF_INIT;
  int r = esc_append(&b, s, strlen(s));
  if(r == 0)
    r = json_object_set_new(o, key, json_stringn(b.data ? b.data : "",
                                                 b.len));
  qw_buf_free(&b);
  return r == 0 ? 0 : -ENOMEM;
}

/* The log line (with "\n") for the next record; *hash gets its hash. */
static char *build_record(const qw_evidence *ev, const qw_evidence_item *it,
                          const char *object, const char *body_hex,
                          char hash[65], size_t *len)
{
  struct timeval tv;
  char now[32], fetched[32];
  gettimeofday(&tv, NULL);
  if(fmt_time(tv.tv_sec, (long)(tv.tv_usec / 1000), now) != 0 ||
     fmt_time(it->fetched, -1, fetched) != 0)
    return NULL;
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
                        "seq", (json_int_t)(ev->seq + 1), "time", now,
                        "fetched", fetched, "object", object,
                        "body_sha256", body_hex,
                        "body_length", (json_int_t)it->body_len,
                        "status", (json_int_t)it->status, "prev", ev->prev);
  if(!o)
    return NULL;
  char *line = NULL;
  if(set_str(o, "url", it->url) == 0 &&
     set_str(o, "final_url", it->final_url) == 0 &&
     set_str(o, "path", it->source_path) == 0 &&
     set_str(o, "node", it->node) == 0) {
    char *canon = json_dumps(o, EV_JSON_FLAGS);
    if(canon && sha_hex(canon, strlen(canon), hash) == 0 &&
       json_object_set_new(o, "hash", json_string(hash)) == 0) {
      char *s = json_dumps(o, EV_JSON_FLAGS);
      if(s) {
        size_t n = strlen(s);
        line = realloc(s, n + 2);
        if(!line)
          free(s);
        else {
          line[n] = '\n';
          line[n + 1] = '\0';
          *len = n + 1;
        }
      }
    }
    free(canon);
  }
  json_decref(o);
  return line;
}

/* evidence.head: {"hash":"…","seq":N} of the newest record. */
static int read_head(int dirfd, uint64_t *seq, char hash[65])
{
  int fd = openat(dirfd, EV_HEAD, O_RDONLY | O_CLOEXEC);
  if(fd < 0)
    return -errno;
  char buf[512];
  ssize_t n = pread_full(fd, buf, sizeof(buf), 0);
  close(fd);
  if(n < 0)
    return (int)n;
  json_t *o = json_loadb(buf, (size_t)n, 0, NULL);
  json_t *s = json_object_get(o, "seq");
  int rc = -EBADMSG;
  if(json_is_integer(s) && json_integer_value(s) >= 0 &&
     get_hash_field(o, "hash", hash) == 0) {
    *seq = (uint64_t)json_integer_value(s);
    rc = 0;
  }
  json_decref(o);
  return rc;
}

static int write_head(qw_evidence *ev)
{
  char buf[128];
  int n = snprintf(buf, sizeof(buf), "{\"hash\":\"%s\",\"seq\":%" PRIu64
                   "}\n", ev->prev, ev->seq);
  int fd = openat(ev->dirfd, EV_HEAD_TMP,
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if(fd < 0)
    return -errno;
  int rc = write_all(fd, buf, (size_t)n);
  if(rc == 0 && fdatasync(fd) != 0)
    rc = -errno;
  if(close(fd) != 0 && rc == 0)
    rc = -errno;
  if(rc == 0 && renameat(ev->dirfd, EV_HEAD_TMP, ev->dirfd, EV_HEAD) != 0)
    rc = -errno;
  return rc;
}

/* Reads the end of the log (size bytes): cuts a torn last line, checks the
 * last record and takes seq and hash from it. Call with the flock held. */
static int load_tail(qw_evidence *ev, off_t size, char *err, size_t errlen)
{
  char *buf = malloc(EV_CHUNK);
  if(!buf)
    return -ENOMEM;
  off_t pos = size, lastnl = -1;
  int rc = 0;
  ev->known = -1;       /* until the end is found good */
  while(pos > 0 && lastnl < 0 && size - pos <= EV_MAX_LINE) {
    size_t n = pos > EV_CHUNK ? EV_CHUNK : (size_t)pos;
    pos -= (off_t)n;
    ssize_t got = pread_full(ev->logfd, buf, n, pos);
    if(got != (ssize_t)n) {
      rc = got < 0 ? (int)got : -EIO;
      goto io;
    }
    char *nl = memrchr(buf, '\n', n);
    if(nl)
      lastnl = pos + (nl - buf);
  }
  if(size - (lastnl + 1) > EV_MAX_LINE) {
    /* No crash leaves this much without a line end: not a torn write. */
    free(buf);
    return ev_err(err, errlen, -EBADMSG, "evidence: %s/" EV_LOG ": the log "
                  "ends in more than %d bytes without a line end, longer "
                  "than any record: not an interrupted write; the log is "
                  "damaged or was altered: have a person look at it "
                  "(qingwang evidence verify)", ev->dir, EV_MAX_LINE);
  }
  if(lastnl != size - 1) {
    off_t cut = lastnl + 1;
    if(ftruncate(ev->logfd, cut) != 0 || fsync(ev->logfd) != 0) {
      rc = -errno;
      goto io;
    }
    ev_err(err, errlen, 0, "evidence.log: cut a torn final record at byte "
           "%lld (%lld bytes of an unfinished write)", (long long)cut,
           (long long)(size - cut));
    qw_log(QW_LOG_WARN, "evidence.torn", "dir=%s at=%lld bytes=%lld",
           qw_log_quote(ev->dir), (long long)cut, (long long)(size - cut));
    size = cut;
  }
  if(size == 0) {
    ev->seq = 0;
    memcpy(ev->prev, EV_ZERO, 65);
    memcpy(ev->last_prev, EV_ZERO, 65);
    ev->known = 0;
    free(buf);
    return 0;
  }
  /* The last line is [start, size - 1). */
  off_t end = size - 1, start = end;
  while(start > 0 && end - start <= EV_MAX_LINE) {
    size_t n = start > EV_CHUNK ? EV_CHUNK : (size_t)start;
    ssize_t got = pread_full(ev->logfd, buf, n, start - (off_t)n);
    if(got != (ssize_t)n) {
      rc = got < 0 ? (int)got : -EIO;
      goto io;
    }
    char *nl = memrchr(buf, '\n', n);
    if(nl) {
      start = start - (off_t)n + (nl - buf) + 1;
      break;
    }
    start -= (off_t)n;
  }
  free(buf);
  buf = NULL;
  if(end - start > EV_MAX_LINE)
    return ev_err(err, errlen, -EBADMSG, "evidence: %s/" EV_LOG ": the last "
                  "record (ending at byte %lld) is longer than %d bytes; the "
                  "log is damaged or was altered: have a person look at it "
                  "(qingwang evidence verify)", ev->dir, (long long)size,
                  EV_MAX_LINE);
  size_t len = (size_t)(end - start);
  char *line = malloc(len + 1);
  if(!line)
    return -ENOMEM;
  ssize_t got = pread_full(ev->logfd, line, len, start);
  if(got != (ssize_t)len) {
    free(line);
    rc = got < 0 ? (int)got : -EIO;
    goto io;
  }
  rec_info ri;
  char why[160];
  rc = parse_record(line, len, &ri, why, sizeof(why));
  free(line);
  if(rc == -1 || (rc == 0 && (!ri.hash_ok || !ri.canonical)))
    return ev_err(err, errlen, -EBADMSG, "evidence: %s/" EV_LOG ": the last "
                  "record (bytes %lld-%lld) does not verify: %s; the log is "
                  "damaged or was altered and will not be appended to: have "
                  "a person look at it (qingwang evidence verify)", ev->dir,
                  (long long)start, (long long)size,
                  rc == -1 ? why : !ri.hash_ok ? "its hash does not match "
                  "its content" : "the line is not as qingwang wrote it");
  if(rc != 0)
    return rc;
  ev->seq = ri.seq;
  memcpy(ev->prev, ri.hash, 65);
  memcpy(ev->last_prev, ri.prev, 65);
  ev->known = size;
  return 0;
io:
  free(buf);
  return ev_err(err, errlen, rc, "evidence: cannot read %s/" EV_LOG ": %s",
                ev->dir, strerror(-rc));
}

/* Picks up records another process appended, and cuts what a crashed one
 * left. Call with the flock held. */
static int sync_tail(qw_evidence *ev, char *err, size_t errlen)
{
  struct stat st;
  if(fstat(ev->logfd, &st) != 0)
    return ev_err(err, errlen, -errno, "evidence: cannot stat %s/" EV_LOG
                  ": %s", ev->dir, strerror(errno));
  if(st.st_size == ev->known)
    return 0;
  return load_tail(ev, st.st_size, err, errlen);
}

static int append_record(qw_evidence *ev, const qw_evidence_item *it,
                         const char *object, const char *body_hex,
                         qw_evidence_ref *ref, char *err, size_t errlen)
{
  int rc = pthread_mutex_lock(&ev->mu);
  if(rc != 0)
    return ev_err(err, errlen, -rc, "evidence: lock: %s", strerror(rc));
  rc = lock_file(ev->logfd, LOCK_EX);
  if(rc != 0) {
    pthread_mutex_unlock(&ev->mu);
    return ev_err(err, errlen, rc, "evidence: cannot lock %s/" EV_LOG ": %s",
                  ev->dir, strerror(-rc));
  }
  char hash[65];
  size_t len = 0;
  char *line = NULL;
  rc = sync_tail(ev, err, errlen);
  if(rc != 0)
    goto out;
  line = build_record(ev, it, object, body_hex, hash, &len);
  if(!line) {
    rc = ev_err(err, errlen, -ENOMEM, "evidence: cannot build the log "
                "record: out of memory");
    goto out;
  }
  rc = write_all(ev->logfd, line, len);
  if(rc == 0 && fsync(ev->logfd) != 0)
    rc = -errno;
  if(rc != 0) {
    /* Take back whatever part of the line got in; if even that fails, the
     * next append or open cuts it as a torn record. */
    if(ftruncate(ev->logfd, ev->known) != 0 || fsync(ev->logfd) != 0)
      ev->known = -1;
    rc = ev_err(err, errlen, rc, "evidence: cannot append to %s/" EV_LOG
                ": %s", ev->dir, strerror(-rc));
    goto out;
  }
  ev->seq++;
  memcpy(ev->last_prev, ev->prev, 65);
  memcpy(ev->prev, hash, 65);
  ev->known += (off_t)len;
  int hr = write_head(ev);
  if(hr != 0)
    qw_log(QW_LOG_WARN, "evidence.head", "dir=%s seq=%" PRIu64 " msg=%s",
           qw_log_quote(ev->dir), ev->seq, qw_log_quote(strerror(-hr)));
  ref->seq = ev->seq;
  memcpy(ref->record_hash, hash, 65);
out:
  free(line);
  lock_file(ev->logfd, LOCK_UN);
  pthread_mutex_unlock(&ev->mu);
  return rc;
}

static int check_len(const char *s, size_t max)
{
  return s && strlen(s) > max;
}

int qw_evidence_store(qw_evidence *ev, const qw_evidence_item *item,
                      qw_evidence_ref *ref, char *err, size_t errlen)
{
  if(err && errlen)
    err[0] = '\0';
  if(!ev || !item || !ref || (!item->body && item->body_len))
    return ev_err(err, errlen, -EINVAL, "evidence: bad arguments");
  if(check_len(item->url, EV_MAX_FIELD) ||
     check_len(item->final_url, EV_MAX_FIELD) ||
     check_len(item->source_path, EV_MAX_FIELD) ||
     check_len(item->node, EV_MAX_FIELD) ||
     check_len(item->remote_ip, EV_MAX_FIELD))
    return ev_err(err, errlen, -E2BIG, "evidence: a URL, path, node or "
                  "address is longer than %d bytes", EV_MAX_FIELD);
  if(check_len(item->request_headers, EV_MAX_HEADERS) ||
     check_len(item->response_headers, EV_MAX_HEADERS))
    return ev_err(err, errlen, -EFBIG, "evidence: a header block is longer "
                  "than %d bytes", EV_MAX_HEADERS);
  if(item->body_len > EV_MAX_BODY)
    return ev_err(err, errlen, -EFBIG, "evidence: body of %zu bytes is over "
                  "the %" PRIu64 " byte limit", item->body_len, EV_MAX_BODY);
  char body_hex[65], name[65];
  const void *body = item->body ? item->body : "";
  if(sha_hex(body, item->body_len, body_hex) != 0)
    return ev_err(err, errlen, -EIO, "evidence: SHA-256 failed");
  qw_buf pre = QW_BUF_INIT;
  int rc = build_preamble(item, body_hex, &pre);
  if(rc != 0) {
    qw_buf_free(&pre);
    return ev_err(err, errlen, rc, "evidence: cannot build the object "
                  "header: %s", strerror(-rc));
  }
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  if(!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
     EVP_DigestUpdate(c, pre.data, pre.len) != 1 ||
     EVP_DigestUpdate(c, body, item->body_len) != 1 ||
     sha_final(c, name) != 0)
    rc = ev_err(err, errlen, -EIO, "evidence: SHA-256 failed");
  EVP_MD_CTX_free(c);
  if(rc == 0)
    rc = put_object(ev, name, &pre, item, body_hex, err, errlen);
  qw_buf_free(&pre);
  if(rc != 0)
    return rc;
  char object[80];
  snprintf(object, sizeof(object), "objects/%.2s/%s.gz", name, name + 2);
  rc = append_record(ev, item, object, body_hex, ref, err, errlen);
  if(rc != 0)
    return rc;
  memcpy(ref->body_sha256, body_hex, 65);
  memcpy(ref->object, object, sizeof(ref->object));
  return 0;
}

/* ---- open / close ----------------------------------------------------- */

static int mkdir_p(const char *dir)
{
  char *p = strdup(dir);
  if(!p)
    return -ENOMEM;
  int rc = 0;
  for(char *s = p + 1; rc == 0; s++) {
    if(*s != '/' && *s != '\0')
      continue;
    char c = *s;
    *s = '\0';
    if(mkdir(p, 0750) != 0 && errno != EEXIST)
      rc = -errno;
    *s = c;
    if(c == '\0')
      break;
  }
  free(p);
  return rc;
}

/* Compares evidence.head with the end of the log (see docs/evidence.md). */
/* 1 when objects/ holds at least one object file, else 0 (temp files and
 * empty directories do not count, as in verify), or a negative errno. */
static int has_objects(int objfd)
{
  int fd = openat(objfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(fd < 0)
    return -errno;
  DIR *d = fdopendir(fd);
  if(!d) {
    close(fd);
    return -errno;
  }
  struct dirent *e;
  int any = 0;
  while(!any && (e = readdir(d))) {
    if(strlen(e->d_name) != 2 || !is_hex(e->d_name, 2))
      continue;
    int sfd = openat(objfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *sd = sfd >= 0 ? fdopendir(sfd) : NULL;
    if(!sd) {
      if(sfd >= 0)
        close(sfd);
      continue;
    }
    struct dirent *f;
    unsigned char bin[32];
    char path[300];
    while(!any && (f = readdir(sd))) {
      snprintf(path, sizeof(path), "objects/%s/%s", e->d_name, f->d_name);
      any = parse_object_name(path, bin);
    }
    closedir(sd);
  }
  closedir(d);
  return any;
}

static int check_head(qw_evidence *ev, char *err, size_t errlen)
{
  uint64_t hseq = 0;
  char hhash[65];
  int r = read_head(ev->dirfd, &hseq, hhash);
  const char *why = NULL;
  char msg[160];
  if(r == -ENOENT && ev->seq == 0) {
    /* New store; but objects without log records or head mean both
     * were removed. */
    r = has_objects(ev->objfd);
    if(r > 0)
      why = "evidence.head is missing and the log is empty, but there are "
            "objects";
    else if(r == 0)
      r = write_head(ev);
  }
  else if(r == -ENOENT)
    why = "evidence.head is missing";
  else if(r == -EBADMSG)
    why = "evidence.head is unreadable";
  else if(r == 0 && hseq > ev->seq) {
    snprintf(msg, sizeof(msg), "evidence.head names record %" PRIu64 " but "
             "the log ends at record %" PRIu64 ": records were removed",
             hseq, ev->seq);
    why = msg;
  }
  else if(r == 0 && ((hseq == ev->seq && strcmp(hhash, ev->prev) != 0) ||
                     (hseq + 1 == ev->seq &&
                      strcmp(hhash, ev->last_prev) != 0))) {
    snprintf(msg, sizeof(msg), "record %" PRIu64 " is not the one "
             "evidence.head names", hseq);
    why = msg;
  }
  else if(r == 0 && hseq < ev->seq)
    r = write_head(ev);
  if(why)
    return ev_err(err, errlen, -EBADMSG, "evidence: %s: %s; the log was "
                  "altered or damaged and will not be appended to: have a "
                  "person look at it (qingwang evidence verify)", ev->dir,
                  why);
  if(r != 0)
    return ev_err(err, errlen, r, "evidence: cannot read or write %s/"
                  EV_HEAD ": %s", ev->dir, strerror(-r));
  return 0;
}

int qw_evidence_open(const char *dir, qw_evidence **out, char *err,
                     size_t errlen)
{
  if(err && errlen)
    err[0] = '\0';
  if(!out || !dir || !*dir)
    return ev_err(err, errlen, -EINVAL, "evidence: no directory given");
  *out = NULL;
  int rc = mkdir_p(dir);
  if(rc != 0)
    return ev_err(err, errlen, rc, "evidence: cannot create %s: %s", dir,
                  strerror(-rc));
  qw_evidence *ev = calloc(1, sizeof(*ev));
  if(!ev || !(ev->dir = strdup(dir))) {
    free(ev);
    return ev_err(err, errlen, -ENOMEM, "evidence: out of memory");
  }
  ev->objfd = ev->logfd = -1;
  ev->known = -1;
  const char *what = dir;
  ev->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(ev->dirfd < 0)
    goto syserr;
  what = "objects";
  if(mkdirat(ev->dirfd, "objects", 0750) != 0 && errno != EEXIST)
    goto syserr;
  ev->objfd = openat(ev->dirfd, "objects", O_RDONLY | O_DIRECTORY |
                     O_CLOEXEC);
  if(ev->objfd < 0)
    goto syserr;
  /* Fail now, not at the first capture, when the tree is read-only. */
  if(faccessat(ev->objfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
    goto syserr;
  what = dir;
  if(faccessat(ev->dirfd, ".", W_OK | X_OK, AT_EACCESS) != 0)
    goto syserr;
  what = EV_LOG;
  ev->logfd = openat(ev->dirfd, EV_LOG, O_RDWR | O_APPEND | O_CLOEXEC);
  if(ev->logfd < 0 && errno == ENOENT) {
    /* A new store, unless a head or objects say there was a log. */
    rc = has_objects(ev->objfd);
    if(rc == 0 && faccessat(ev->dirfd, EV_HEAD, F_OK, AT_SYMLINK_NOFOLLOW) ==
       0)
      rc = 1;
    if(rc > 0) {
      rc = ev_err(err, errlen, -EBADMSG, "evidence: %s: evidence.log is "
                  "missing but evidence.head or objects exist: the log was "
                  "removed; have a person look at it (qingwang evidence "
                  "verify)", dir);
      goto fail;
    }
    if(rc < 0) {
      errno = -rc;
      goto syserr;
    }
    ev->logfd = openat(ev->dirfd, EV_LOG, O_RDWR | O_APPEND | O_CREAT |
                       O_CLOEXEC, 0640);
  }
  if(ev->logfd < 0)
    goto syserr;
  struct stat st;
  if(fstat(ev->logfd, &st) != 0)
    goto syserr;
  if(!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    goto syserr;
  }
  what = dir;
  if(fsync(ev->dirfd) != 0)
    goto syserr;
  rc = lock_file(ev->logfd, LOCK_EX);
  if(rc != 0) {
    ev_err(err, errlen, rc, "evidence: cannot lock %s/" EV_LOG ": %s", dir,
           strerror(-rc));
    goto fail;
  }
  rc = sync_tail(ev, err, errlen);
  if(rc == 0)
    rc = check_head(ev, err, errlen);
  lock_file(ev->logfd, LOCK_UN);
  if(rc != 0)
    goto fail;
  rc = pthread_mutex_init(&ev->mu, NULL);
  if(rc != 0) {
    rc = ev_err(err, errlen, -rc, "evidence: mutex: %s", strerror(rc));
    goto fail;
  }
  *out = ev;
  return 0;
syserr:
  rc = -errno;
  if(what == dir)
    ev_err(err, errlen, rc, "evidence: cannot use %s: %s", dir,
           strerror(-rc));
  else
    ev_err(err, errlen, rc, "evidence: cannot use %s/%s: %s", dir, what,
           strerror(-rc));
fail:
  if(ev->logfd >= 0)
    close(ev->logfd);
  if(ev->objfd >= 0)
    close(ev->objfd);
  if(ev->dirfd >= 0)
    close(ev->dirfd);
  free(ev->dir);
  free(ev);
  return rc;
}

void qw_evidence_close(qw_evidence *ev)
{
  if(!ev)
    return;
  close(ev->logfd);
  close(ev->objfd);
  close(ev->dirfd);
  pthread_mutex_destroy(&ev->mu);
  free(ev->dir);
  free(ev);
}

/* ---- verify ----------------------------------------------------------- */

typedef struct {
  unsigned char name[32];
  char body[65];
  uint64_t body_len;
  uint64_t line;
} obj_ref;

typedef struct {
  FILE *rep;
  uint64_t bad;
  uint64_t records;
  /* chain state */
  int have_seq, have_prev;
  uint64_t last_seq;
  char prev[65];
  /* evidence.head */
  int head_state;       /* 0 missing, 1 read, -1 unreadable */
  uint64_t head_seq;
  char head_hash[65];
  int head_found;       /* the record head names was seen */
  int head_match;
  obj_ref *refs;
  size_t nrefs, caprefs;
  uint64_t objects;     /* object files found under objects/ */
} vctx;

static void problem(vctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(vctx *v, const char *fmt, ...)
{
  v->bad++;
  if(!v->rep)
    return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(v->rep, fmt, ap);
  va_end(ap);
  fputc('\n', v->rep);
}

static void note(vctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(vctx *v, const char *fmt, ...)
{
  if(!v->rep)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("note: ", v->rep);
  vfprintf(v->rep, fmt, ap);
  va_end(ap);
  fputc('\n', v->rep);
}

static int verify_line(vctx *v, uint64_t lineno, const char *line,
                       size_t len)
{
  v->records++;
  if(!line) {
    problem(v, EV_LOG ":%" PRIu64 ": longer than %d bytes", lineno,
            EV_MAX_LINE);
    v->have_seq = v->have_prev = 0;
    return 0;
  }
  rec_info ri;
  char why[160];
  if(len == 0) {
    problem(v, EV_LOG ":%" PRIu64 ": empty line", lineno);
    v->have_seq = v->have_prev = 0;
    return 0;
  }
  int r = parse_record(line, len, &ri, why, sizeof(why));
  if(r == -1) {
    problem(v, EV_LOG ":%" PRIu64 ": %s", lineno, why);
    v->have_seq = v->have_prev = 0;
    return 0;
  }
  if(r != 0)
    return r;
  if(v->have_seq && ri.seq != v->last_seq + 1)
    problem(v, EV_LOG ":%" PRIu64 ": seq %" PRIu64 " where %" PRIu64
            " was expected (a record was removed, inserted or moved)",
            lineno, ri.seq, v->last_seq + 1);
  if(v->have_prev && strcmp(ri.prev, v->prev) != 0)
    problem(v, EV_LOG ":%" PRIu64 ": \"prev\" is not the hash of the record "
            "before it (the chain is broken here)", lineno);
  if(!ri.hash_ok)
    problem(v, EV_LOG ":%" PRIu64 ": \"hash\" does not match the record's "
            "content (the record was altered)", lineno);
  else if(!ri.canonical)
    problem(v, EV_LOG ":%" PRIu64 ": the line is not byte for byte as "
            "qingwang writes it (the record was reformatted)", lineno);
  v->have_seq = v->have_prev = 1;
  v->last_seq = ri.seq;
  memcpy(v->prev, ri.hash, 65);
  if(v->head_state == 1 && ri.seq == v->head_seq) {
    v->head_found = 1;
    v->head_match = strcmp(ri.hash, v->head_hash) == 0;
  }
  if(v->nrefs == v->caprefs) {
    size_t cap = v->caprefs ? 2 * v->caprefs : 256;
    obj_ref *n = realloc(v->refs, cap * sizeof(*n));
    if(!n)
      return -ENOMEM;
    v->refs = n;
    v->caprefs = cap;
  }
  obj_ref *o = &v->refs[v->nrefs++];
  parse_object_name(ri.object, o->name);
  memcpy(o->body, ri.body, 65);
  o->body_len = ri.body_len;
  o->line = lineno;
  return 0;
}

/* Reads the log's first size bytes line by line. */
static int verify_log(vctx *v, int fd, off_t size)
{
  char *chunk = malloc(EV_CHUNK);
  qw_buf ln = QW_BUF_INIT;
  if(!chunk)
    return -ENOMEM;
  int rc = 0, overlong = 0;
  uint64_t lineno = 0;
  off_t off = 0;
  while(rc == 0 && off < size) {
    size_t want = size - off > EV_CHUNK ? EV_CHUNK : (size_t)(size - off);
    ssize_t got = pread_full(fd, chunk, want, off);
    if(got <= 0) {
      rc = got < 0 ? (int)got : -EIO;
      break;
    }
    off += got;
    const char *p = chunk;
    size_t rest = (size_t)got;
    while(rc == 0 && rest) {
      const char *nl = memchr(p, '\n', rest);
      size_t seg = nl ? (size_t)(nl - p) : rest;
      if(!overlong && ln.len + seg > EV_MAX_LINE) {
        overlong = 1;
        qw_buf_free(&ln);
      }
      if(!overlong && qw_buf_append(&ln, p, seg) != 0)
        rc = -ENOMEM;
      if(rc != 0 || !nl)
        break;
      lineno++;
      rc = verify_line(v, lineno, overlong ? NULL : ln.data ? ln.data : "",
                       ln.len);
      qw_buf_reset(&ln);
      overlong = 0;
      p = nl + 1;
      rest -= seg + 1;
    }
  }
  if(rc == 0 && (ln.len || overlong)) {
    v->records++;
    problem(v, EV_LOG ":%" PRIu64 ": torn final record (no newline at the "
            "end of the log): the log was cut short, or a store was "
            "interrupted and qingwang has not been started since",
            lineno + 1);
  }
  qw_buf_free(&ln);
  free(chunk);
  return rc;
}

static int ref_cmp(const void *a, const void *b)
{
  const obj_ref *x = a, *y = b;
  int c = memcmp(x->name, y->name, 32);
  if(c != 0)
    return c;
  return x->line < y->line ? -1 : x->line > y->line;
}

static void name_path(const unsigned char bin[32], char out[80])
{
  char hex[65];
  to_hex(bin, 32, hex);
  snprintf(out, 80, "objects/%.2s/%s.gz", hex, hex + 2);
}

static int verify_objects(vctx *v, int dirfd)
{
  if(v->nrefs)
    qsort(v->refs, v->nrefs, sizeof(*v->refs), ref_cmp);
  for(size_t i = 0; i < v->nrefs;) {
    size_t j = i + 1;
    while(j < v->nrefs && memcmp(v->refs[j].name, v->refs[i].name, 32) == 0)
      j++;
    char path[80], name[65];
    name_path(v->refs[i].name, path);
    to_hex(v->refs[i].name, 32, name);
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if(fd < 0) {
      int e = errno;
      if(e == ENOMEM)
        return -ENOMEM;
      problem(v, "%s (" EV_LOG ":%" PRIu64 "): %s", path, v->refs[i].line,
              e == ENOENT ? "missing" : strerror(e));
      i = j;
      continue;
    }
    obj_scan os;
    int r = check_object(fd, name, NULL, 0, &os);
    close(fd);
    if(r == -ENOMEM)
      return r;
    if(r == -EBADMSG)
      problem(v, "%s (" EV_LOG ":%" PRIu64 "): %s", path, v->refs[i].line,
              os.why);
    else if(r != 0)
      problem(v, "%s (" EV_LOG ":%" PRIu64 "): cannot read: %s", path,
              v->refs[i].line, strerror(-r));
    else
      for(size_t k = i; k < j; k++) {
        if(strcmp(os.body, v->refs[k].body) != 0)
          problem(v, "%s (" EV_LOG ":%" PRIu64 "): body hashes to %s, the "
                  "record says %s", path, v->refs[k].line, os.body,
                  v->refs[k].body);
        else if(os.body_len != v->refs[k].body_len)
          problem(v, "%s (" EV_LOG ":%" PRIu64 "): body is %" PRIu64
                  " bytes, the record says %" PRIu64, path, v->refs[k].line,
                  os.body_len, v->refs[k].body_len);
      }
    i = j;
  }
  return 0;
}

/* Notes files under objects/ that no record names. */
static int verify_orphans(vctx *v, int dirfd)
{
  int ofd = openat(dirfd, "objects", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(ofd < 0)
    return errno == ENOENT ? 0 : -errno;
  DIR *d = fdopendir(ofd);
  if(!d) {
    close(ofd);
    return -errno;
  }
  struct dirent *e;
  int rc = 0;
  while(rc == 0 && (e = readdir(d))) {
    if(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if(strlen(e->d_name) != 2 || !is_hex(e->d_name, 2)) {
      note(v, "objects/%s: unexpected entry", e->d_name);
      continue;
    }
    int sfd = openat(ofd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *sd = sfd >= 0 ? fdopendir(sfd) : NULL;
    if(!sd) {
      if(sfd >= 0)
        close(sfd);
      note(v, "objects/%s: unexpected entry", e->d_name);
      continue;
    }
    struct dirent *f;
    while((f = readdir(sd))) {
      char path[300];
      unsigned char bin[32];
      if(strcmp(f->d_name, ".") == 0 || strcmp(f->d_name, "..") == 0)
        continue;
      snprintf(path, sizeof(path), "objects/%s/%s", e->d_name, f->d_name);
      obj_ref key;
      if(strncmp(f->d_name, ".tmp-", 5) == 0)
        note(v, "%s: temporary file left by an interrupted store (safe to "
             "delete when no qingwang runs on this directory)", path);
      else if(!parse_object_name(path, bin))
        note(v, "%s: unexpected entry", path);
      else {
        v->objects++;
        memcpy(key.name, bin, 32);
        key.line = 0;
        obj_ref *hit = NULL;
        /* refs is sorted by name then line: find any with this name. */
        size_t lo = 0, hi = v->nrefs;
        while(lo < hi && !hit) {
          size_t mid = lo + (hi - lo) / 2;
          int c = memcmp(v->refs[mid].name, key.name, 32);
          if(c == 0)
            hit = &v->refs[mid];
          else if(c < 0)
            lo = mid + 1;
          else
            hi = mid;
        }
        if(!hit)
          note(v, "%s: not referenced by any record (a store failed or "
               "was interrupted before its log record)", path);
      }
    }
    closedir(sd);
  }
  closedir(d);
  return rc;
}

int qw_evidence_verify(const char *dir, FILE *report, uint64_t *records,
                       uint64_t *bad)
{
  vctx v;
  memset(&v, 0, sizeof(v));
  v.rep = report;
  v.have_seq = v.have_prev = 1;
  memcpy(v.prev, EV_ZERO, 65);
  if(records)
    *records = 0;
  if(bad)
    *bad = 0;
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if(dirfd < 0)
    return -errno;
  int rc = 0;
  int logfd = openat(dirfd, EV_LOG, O_RDONLY | O_CLOEXEC);
  off_t size = 0;
  if(logfd < 0 && errno != ENOENT) {
    rc = -errno;
    goto out;
  }
  /* A consistent snapshot: stores append under LOCK_EX, so under LOCK_SH
   * the log ends on a record and evidence.head matches it; records
   * appended while we read are left for the next run. */
  if(logfd >= 0 && (rc = lock_file(logfd, LOCK_SH)) != 0)
    goto out;
  struct stat st;
  if(logfd >= 0 && fstat(logfd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  size = logfd >= 0 ? st.st_size : 0;
  int hr = read_head(dirfd, &v.head_seq, v.head_hash);
  v.head_state = hr == 0 ? 1 : hr == -ENOENT ? 0 : -1;
  if(logfd >= 0)
    lock_file(logfd, LOCK_UN);
  if(logfd < 0 && v.head_state != 0)
    problem(&v, EV_LOG ": missing, but " EV_HEAD " exists (the log was "
            "removed)");
  if(logfd >= 0 && (rc = verify_log(&v, logfd, size)) != 0)
    goto out;
  rc = verify_objects(&v, dirfd);
  if(rc == 0)
    rc = verify_orphans(&v, dirfd);
  if(rc != 0)
    goto out;
  if(logfd < 0 && v.objects > 0)
    problem(&v, EV_LOG ": missing, but there are %" PRIu64 " objects (the "
            "log was removed)", v.objects);
  if(v.head_state < 0)
    problem(&v, EV_HEAD ": unreadable");
  else if(v.head_state == 0 && (v.records > 0 || v.objects > 0))
    problem(&v, EV_HEAD ": missing");
  else if(v.head_state == 1 && v.head_seq == 0 &&
          strcmp(v.head_hash, EV_ZERO) != 0)
    problem(&v, EV_HEAD ": names record 0 with a hash that is not all "
            "zeros");
  else if(v.head_state == 1 && v.head_seq > 0 && !v.head_found)
    problem(&v, EV_HEAD ": names record %" PRIu64 " but the log ends at "
            "record %" PRIu64 " (records were removed from the end)",
            v.head_seq, v.have_seq ? v.last_seq : 0);
  else if(v.head_state == 1 && v.head_seq > 0 && !v.head_match)
    problem(&v, EV_HEAD ": record %" PRIu64 " is not the one it names (the "
            "log was rewritten)", v.head_seq);
  else if(v.head_state == 1 && v.have_seq && v.head_seq + 1 < v.last_seq)
    note(&v, EV_HEAD ": names record %" PRIu64 ", %" PRIu64 " behind the "
         "end of the log", v.head_seq, v.last_seq - v.head_seq);
out:
  if(logfd >= 0)
    close(logfd);
  close(dirfd);
  free(v.refs);
  if(records)
    *records = v.records;
  if(bad)
    *bad = v.bad;
  if(rc != 0)
    return rc;
  return v.bad ? 1 : 0;
}
