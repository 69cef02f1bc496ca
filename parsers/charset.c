/* charset.c — charset sniffing (user, BOM, transport, <meta> prescan,
 * detection) and conversion of a page body to UTF-8 (see charset.h).
 *
 * Decoders: UTF-8 and UTF-16 are done here (validate-and-copy, one pass);
 * single-byte encodings use a 128-entry table and GBK/gb18030 and Big5 a
 * double-byte table, each built once per process from glibc iconv (so the
 * mappings are glibc's, GB18030 for GBK and BIG5-HKSCS for Big5); the
 * other CJK encodings go through iconv itself. iconv_open() costs ~0.3 µs
 * on glibc 2.36 (measured), so handles are opened per call and nothing is
 * cached per thread. Every function here is thread-safe. */
#include "charset.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uchardet/uchardet.h>

#include "buf.h"
#include "utf8.h"

/* ===== Encodings and labels (WHATWG Encoding Standard) ===== */

enum {
  E_UTF8, E_IBM866, E_ISO2, E_ISO3, E_ISO4, E_ISO5, E_ISO6, E_ISO7, E_ISO8,
  E_ISO8I, E_ISO10, E_ISO13, E_ISO14, E_ISO15, E_ISO16, E_KOI8R, E_KOI8U,
  E_MAC, E_W874, E_W1250, E_W1251, E_W1252, E_W1253, E_W1254, E_W1255,
  E_W1256, E_W1257, E_W1258, E_XMACCYR, E_GBK, E_GB18030, E_BIG5, E_EUCJP,
  E_ISO2022JP, E_SJIS, E_EUCKR, E_REPL, E_U16BE, E_U16LE, E_XUSER, E_COUNT
};

typedef enum {
  K_UTF8,   /* our own decoder */
  K_SINGLE, /* 128-entry table from iconv */
  K_DBCS,   /* GBK/gb18030 and Big5: double-byte table from iconv */
  K_ICONV,  /* other multi-byte or stateful: iconv per call */
  K_U16LE,
  K_U16BE,
  K_REPL    /* WHATWG "replacement": never decoded, see decode() */
} enc_kind;

typedef struct {
  const char *name;  /* WHATWG canonical name */
  const char *iconv; /* glibc name; NULL for x-user-defined */
  enc_kind kind;
  unsigned char cjk; /* a CJK multi-byte encoding */
  unsigned char c1;  /* undefined bytes 0x80-0x9F map to C1 controls */
} enc_def;

static const enc_def encs[E_COUNT] = {
  [E_UTF8] = {"UTF-8", NULL, K_UTF8, 0, 0},
  [E_IBM866] = {"IBM866", "IBM866", K_SINGLE, 0, 0},
  [E_ISO2] = {"ISO-8859-2", "ISO-8859-2", K_SINGLE, 0, 0},
  [E_ISO3] = {"ISO-8859-3", "ISO-8859-3", K_SINGLE, 0, 0},
  [E_ISO4] = {"ISO-8859-4", "ISO-8859-4", K_SINGLE, 0, 0},
  [E_ISO5] = {"ISO-8859-5", "ISO-8859-5", K_SINGLE, 0, 0},
  [E_ISO6] = {"ISO-8859-6", "ISO-8859-6", K_SINGLE, 0, 0},
  [E_ISO7] = {"ISO-8859-7", "ISO-8859-7", K_SINGLE, 0, 0},
  [E_ISO8] = {"ISO-8859-8", "ISO-8859-8", K_SINGLE, 0, 0},
  [E_ISO8I] = {"ISO-8859-8-I", "ISO-8859-8", K_SINGLE, 0, 0},
  [E_ISO10] = {"ISO-8859-10", "ISO-8859-10", K_SINGLE, 0, 0},
  [E_ISO13] = {"ISO-8859-13", "ISO-8859-13", K_SINGLE, 0, 0},
  [E_ISO14] = {"ISO-8859-14", "ISO-8859-14", K_SINGLE, 0, 0},
  [E_ISO15] = {"ISO-8859-15", "ISO-8859-15", K_SINGLE, 0, 0},
  [E_ISO16] = {"ISO-8859-16", "ISO-8859-16", K_SINGLE, 0, 0},
  [E_KOI8R] = {"KOI8-R", "KOI8-R", K_SINGLE, 0, 0},
  [E_KOI8U] = {"KOI8-U", "KOI8-RU", K_SINGLE, 0, 0},
  [E_MAC] = {"macintosh", "MACINTOSH", K_SINGLE, 0, 0},
  [E_W874] = {"windows-874", "CP874", K_SINGLE, 0, 1},
  [E_W1250] = {"windows-1250", "CP1250", K_SINGLE, 0, 1},
  [E_W1251] = {"windows-1251", "CP1251", K_SINGLE, 0, 1},
  [E_W1252] = {"windows-1252", "CP1252", K_SINGLE, 0, 1},
  [E_W1253] = {"windows-1253", "CP1253", K_SINGLE, 0, 1},
  [E_W1254] = {"windows-1254", "CP1254", K_SINGLE, 0, 1},
  [E_W1255] = {"windows-1255", "CP1255", K_SINGLE, 0, 1},
  [E_W1256] = {"windows-1256", "CP1256", K_SINGLE, 0, 1},
  [E_W1257] = {"windows-1257", "CP1257", K_SINGLE, 0, 1},
  [E_W1258] = {"windows-1258", "CP1258", K_SINGLE, 0, 1},
  [E_XMACCYR] = {"x-mac-cyrillic", "MAC-CYRILLIC", K_SINGLE, 0, 0},
  /* GBK is decoded as GB18030, its superset, as WHATWG does. */
  [E_GBK] = {"GBK", "GB18030", K_DBCS, 1, 0},
  [E_GB18030] = {"gb18030", "GB18030", K_DBCS, 1, 0},
  /* WHATWG Big5 includes the HKSCS extensions. */
  [E_BIG5] = {"Big5", "BIG5-HKSCS", K_DBCS, 1, 0},
  [E_EUCJP] = {"EUC-JP", "EUC-JP", K_ICONV, 1, 0},
  [E_ISO2022JP] = {"ISO-2022-JP", "ISO-2022-JP", K_ICONV, 1, 0},
  /* WHATWG Shift_JIS is windows-31j, EUC-KR is windows-949 (UHC). */
  [E_SJIS] = {"Shift_JIS", "CP932", K_ICONV, 1, 0},
  [E_EUCKR] = {"EUC-KR", "CP949", K_ICONV, 1, 0},
  [E_REPL] = {"replacement", NULL, K_REPL, 0, 0},
  [E_U16BE] = {"UTF-16BE", NULL, K_U16BE, 0, 0},
  [E_U16LE] = {"UTF-16LE", NULL, K_U16LE, 0, 0},
  [E_XUSER] = {"x-user-defined", NULL, K_SINGLE, 0, 0},
};

typedef struct {
  const char *label;
  unsigned char enc;
} label_def;

/* Every WHATWG label of the encodings above, sorted by strcmp() for
 * bsearch(). */
static const label_def labels[] = {
  {"866", E_IBM866},
  {"ansi_x3.4-1968", E_W1252},
  {"arabic", E_ISO6},
  {"ascii", E_W1252},
  {"asmo-708", E_ISO6},
  {"big5", E_BIG5},
  {"big5-hkscs", E_BIG5},
  {"chinese", E_GBK},
  {"cn-big5", E_BIG5},
  {"cp1250", E_W1250},
  {"cp1251", E_W1251},
  {"cp1252", E_W1252},
  {"cp1253", E_W1253},
  {"cp1254", E_W1254},
  {"cp1255", E_W1255},
  {"cp1256", E_W1256},
  {"cp1257", E_W1257},
  {"cp1258", E_W1258},
  {"cp819", E_W1252},
  {"cp866", E_IBM866},
  {"csbig5", E_BIG5},
  {"cseuckr", E_EUCKR},
  {"cseucpkdfmtjapanese", E_EUCJP},
  {"csgb2312", E_GBK},
  {"csibm866", E_IBM866},
  {"csiso2022jp", E_ISO2022JP},
  {"csiso2022kr", E_REPL},
  {"csiso58gb231280", E_GBK},
  {"csiso88596e", E_ISO6},
  {"csiso88596i", E_ISO6},
  {"csiso88598e", E_ISO8},
  {"csiso88598i", E_ISO8I},
  {"csisolatin1", E_W1252},
  {"csisolatin2", E_ISO2},
  {"csisolatin3", E_ISO3},
  {"csisolatin4", E_ISO4},
  {"csisolatin5", E_W1254},
  {"csisolatin6", E_ISO10},
  {"csisolatin9", E_ISO15},
  {"csisolatinarabic", E_ISO6},
  {"csisolatincyrillic", E_ISO5},
  {"csisolatingreek", E_ISO7},
  {"csisolatinhebrew", E_ISO8},
  {"cskoi8r", E_KOI8R},
  {"csksc56011987", E_EUCKR},
  {"csmacintosh", E_MAC},
  {"csshiftjis", E_SJIS},
  {"csunicode", E_U16LE},
  {"cyrillic", E_ISO5},
  {"dos-874", E_W874},
  {"ecma-114", E_ISO6},
  {"ecma-118", E_ISO7},
  {"elot_928", E_ISO7},
  {"euc-jp", E_EUCJP},
  {"euc-kr", E_EUCKR},
  {"gb18030", E_GB18030},
  {"gb2312", E_GBK},
  {"gb_2312", E_GBK},
  {"gb_2312-80", E_GBK},
  {"gbk", E_GBK},
  {"greek", E_ISO7},
  {"greek8", E_ISO7},
  {"hebrew", E_ISO8},
  {"hz-gb-2312", E_REPL},
  {"ibm819", E_W1252},
  {"ibm866", E_IBM866},
  {"iso-10646-ucs-2", E_U16LE},
  {"iso-2022-cn", E_REPL},
  {"iso-2022-cn-ext", E_REPL},
  {"iso-2022-jp", E_ISO2022JP},
  {"iso-2022-kr", E_REPL},
  {"iso-8859-1", E_W1252},
  {"iso-8859-10", E_ISO10},
  {"iso-8859-11", E_W874},
  {"iso-8859-13", E_ISO13},
  {"iso-8859-14", E_ISO14},
  {"iso-8859-15", E_ISO15},
  {"iso-8859-16", E_ISO16},
  {"iso-8859-2", E_ISO2},
  {"iso-8859-3", E_ISO3},
  {"iso-8859-4", E_ISO4},
  {"iso-8859-5", E_ISO5},
  {"iso-8859-6", E_ISO6},
  {"iso-8859-6-e", E_ISO6},
  {"iso-8859-6-i", E_ISO6},
  {"iso-8859-7", E_ISO7},
  {"iso-8859-8", E_ISO8},
  {"iso-8859-8-e", E_ISO8},
  {"iso-8859-8-i", E_ISO8I},
  {"iso-8859-9", E_W1254},
  {"iso-ir-100", E_W1252},
  {"iso-ir-101", E_ISO2},
  {"iso-ir-109", E_ISO3},
  {"iso-ir-110", E_ISO4},
  {"iso-ir-126", E_ISO7},
  {"iso-ir-127", E_ISO6},
  {"iso-ir-138", E_ISO8},
  {"iso-ir-144", E_ISO5},
  {"iso-ir-148", E_W1254},
  {"iso-ir-149", E_EUCKR},
  {"iso-ir-157", E_ISO10},
  {"iso-ir-58", E_GBK},
  {"iso8859-1", E_W1252},
  {"iso8859-10", E_ISO10},
  {"iso8859-11", E_W874},
  {"iso8859-13", E_ISO13},
  {"iso8859-14", E_ISO14},
  {"iso8859-15", E_ISO15},
  {"iso8859-2", E_ISO2},
  {"iso8859-3", E_ISO3},
  {"iso8859-4", E_ISO4},
  {"iso8859-5", E_ISO5},
  {"iso8859-6", E_ISO6},
  {"iso8859-7", E_ISO7},
  {"iso8859-8", E_ISO8},
  {"iso8859-9", E_W1254},
  {"iso88591", E_W1252},
  {"iso885910", E_ISO10},
  {"iso885911", E_W874},
  {"iso885913", E_ISO13},
  {"iso885914", E_ISO14},
  {"iso885915", E_ISO15},
  {"iso88592", E_ISO2},
  {"iso88593", E_ISO3},
  {"iso88594", E_ISO4},
  {"iso88595", E_ISO5},
  {"iso88596", E_ISO6},
  {"iso88597", E_ISO7},
  {"iso88598", E_ISO8},
  {"iso88599", E_W1254},
  {"iso_8859-1", E_W1252},
  {"iso_8859-15", E_ISO15},
  {"iso_8859-1:1987", E_W1252},
  {"iso_8859-2", E_ISO2},
  {"iso_8859-2:1987", E_ISO2},
  {"iso_8859-3", E_ISO3},
  {"iso_8859-3:1988", E_ISO3},
  {"iso_8859-4", E_ISO4},
  {"iso_8859-4:1988", E_ISO4},
  {"iso_8859-5", E_ISO5},
  {"iso_8859-5:1988", E_ISO5},
  {"iso_8859-6", E_ISO6},
  {"iso_8859-6:1987", E_ISO6},
  {"iso_8859-7", E_ISO7},
  {"iso_8859-7:1987", E_ISO7},
  {"iso_8859-8", E_ISO8},
  {"iso_8859-8:1988", E_ISO8},
  {"iso_8859-9", E_W1254},
  {"iso_8859-9:1989", E_W1254},
  {"koi", E_KOI8R},
  {"koi8", E_KOI8R},
  {"koi8-r", E_KOI8R},
  {"koi8-ru", E_KOI8U},
  {"koi8-u", E_KOI8U},
  {"koi8_r", E_KOI8R},
  {"korean", E_EUCKR},
  {"ks_c_5601-1987", E_EUCKR},
  {"ks_c_5601-1989", E_EUCKR},
  {"ksc5601", E_EUCKR},
  {"ksc_5601", E_EUCKR},
  {"l1", E_W1252},
  {"l2", E_ISO2},
  {"l3", E_ISO3},
  {"l4", E_ISO4},
  {"l5", E_W1254},
  {"l6", E_ISO10},
  {"l9", E_ISO15},
  {"latin1", E_W1252},
  {"latin2", E_ISO2},
  {"latin3", E_ISO3},
  {"latin4", E_ISO4},
  {"latin5", E_W1254},
  {"latin6", E_ISO10},
  {"logical", E_ISO8I},
  {"mac", E_MAC},
  {"macintosh", E_MAC},
  {"ms932", E_SJIS},
  {"ms_kanji", E_SJIS},
  {"replacement", E_REPL},
  {"shift-jis", E_SJIS},
  {"shift_jis", E_SJIS},
  {"sjis", E_SJIS},
  {"sun_eu_greek", E_ISO7},
  {"tis-620", E_W874},
  {"ucs-2", E_U16LE},
  {"unicode", E_U16LE},
  {"unicode-1-1-utf-8", E_UTF8},
  {"unicode11utf8", E_UTF8},
  {"unicode20utf8", E_UTF8},
  {"unicodefeff", E_U16LE},
  {"unicodefffe", E_U16BE},
  {"us-ascii", E_W1252},
  {"utf-16", E_U16LE},
  {"utf-16be", E_U16BE},
  {"utf-16le", E_U16LE},
  {"utf-8", E_UTF8},
  {"utf8", E_UTF8},
  {"visual", E_ISO8},
  {"windows-1250", E_W1250},
  {"windows-1251", E_W1251},
  {"windows-1252", E_W1252},
  {"windows-1253", E_W1253},
  {"windows-1254", E_W1254},
  {"windows-1255", E_W1255},
  {"windows-1256", E_W1256},
  {"windows-1257", E_W1257},
  {"windows-1258", E_W1258},
  {"windows-31j", E_SJIS},
  {"windows-874", E_W874},
  {"windows-949", E_EUCKR},
  {"x-cp1250", E_W1250},
  {"x-cp1251", E_W1251},
  {"x-cp1252", E_W1252},
  {"x-cp1253", E_W1253},
  {"x-cp1254", E_W1254},
  {"x-cp1255", E_W1255},
  {"x-cp1256", E_W1256},
  {"x-cp1257", E_W1257},
  {"x-cp1258", E_W1258},
  {"x-euc-jp", E_EUCJP},
  {"x-gbk", E_GBK},
  {"x-mac-cyrillic", E_XMACCYR},
  {"x-mac-roman", E_MAC},
  {"x-mac-ukrainian", E_XMACCYR},
  {"x-sjis", E_SJIS},
  {"x-unicode20utf8", E_UTF8},
  {"x-user-defined", E_XUSER},
  {"x-x-big5", E_BIG5},
};

#define LABEL_MAX 32

static int label_cmp(const void *key, const void *elem)
{
  return strcmp(key, ((const label_def *)elem)->label);
}

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* The encoding for a label, or NULL. */
static const enc_def *lookup(const char *label, size_t len)
{
  while(len && is_ws((unsigned char)label[0])) {
    label++;
    len--;
  }
  while(len && is_ws((unsigned char)label[len - 1]))
    len--;
  if(len == 0 || len >= LABEL_MAX)
    return NULL;
  char key[LABEL_MAX];
  for(size_t i = 0; i < len; i++) {
    char c = label[i];
    key[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  key[len] = '\0';
  const label_def *d = bsearch(key, labels, sizeof(labels) / sizeof(*labels),
                               sizeof(*labels), label_cmp);
  return d ? &encs[d->enc] : NULL;
}

const char *qw_charset_canonical(const char *label, size_t len)
{
  if(!label)
    return NULL;
  const enc_def *e = lookup(label, len);
  return e ? e->name : NULL;
}

const char *qw_charset_source_name(qw_charset_source src)
{
  switch(src) {
  case QW_CS_USER:
    return "user";
  case QW_CS_BOM:
    return "bom";
  case QW_CS_TRANSPORT:
    return "transport";
  case QW_CS_META:
    return "meta";
  case QW_CS_DETECTED:
    return "detected";
  case QW_CS_DEFAULT:
    break;
  }
  return "default";
}

static int lower(int c)
{
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* 1 when s[0..n) starts with the lower-case ASCII word w, any case. */
static int starts_ci(const char *s, size_t n, const char *w)
{
  size_t i = 0;
  for(; w[i]; i++) {
    if(i >= n || lower((unsigned char)s[i]) != w[i])
      return 0;
  }
  return 1;
}

/* Content-Type: type "/" subtype *( OWS ";" OWS name "=" value ), where a
 * value is a token or a quoted-string (RFC 9110 §8.3). The first charset
 * parameter counts; quoted strings are skipped properly so a ';' inside one
 * does not start a parameter. */
int qw_charset_from_content_type(const char *ctype, char out[32])
{
  if(!ctype)
    return -1;
  const char *p = ctype;
  /* Skip the media type. */
  while(*p && *p != ';')
    p++;
  while(*p == ';') {
    p++;
    while(*p == ' ' || *p == '\t' || *p == ';')
      p++;
    const char *name = p;
    while(*p && *p != '=' && *p != ';')
      p++;
    size_t nlen = (size_t)(p - name);
    while(nlen && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
      nlen--;
    if(*p != '=')
      continue;
    p++;
    while(*p == ' ' || *p == '\t')
      p++;
    char val[LABEL_MAX];
    size_t vlen = 0;
    int toolong = 0;
    if(*p == '"') {
      p++;
      while(*p && *p != '"') {
        if(*p == '\\' && p[1])
          p++;
        if(vlen < sizeof(val) - 1)
          val[vlen++] = *p;
        else
          toolong = 1;
        p++;
      }
      if(*p == '"')
        p++;
      while(*p && *p != ';')
        p++;
    }
    else {
      while(*p && *p != ';') {
        if(vlen < sizeof(val) - 1)
          val[vlen++] = *p;
        else
          toolong = 1;
        p++;
      }
    }
    if(nlen == 7 && starts_ci(name, nlen, "charset")) {
      const enc_def *e = toolong ? NULL : lookup(val, vlen);
      if(!e)
        return -1;
      size_t l = strlen(e->name);
      memcpy(out, e->name, l + 1);
      return 0;
    }
  }
  return -1;
}

/* ===== Thresholds ===== */

/* A declaration is overturned only on clear evidence. The thresholds:
 * - bytes "are UTF-8" when they hold at least UTF8_MIN_GOOD valid
 *   multi-byte sequences and at most one invalid one per UTF8_BAD_PER
 *   valid ones (a few stray bytes in a UTF-8 page do not matter, while GBK
 *   or Big5 text yields invalid UTF-8 at almost every character);
 * - a declared UTF-8 is wrong when at least WRONG_MIN_BAD sequences are
 *   invalid and they are at least 1/UTF8_WRONG_SHARE of all non-ASCII
 *   sequences; another declared multi-byte encoding is suspect when it
 *   replaced at least WRONG_MIN_BAD sequences: it is replaced by what
 *   uchardet names if that is another CJK encoding, else by guess() when
 *   it replaced at least one sequence per MB_WRONG_HIGH bytes >= 0x80;
 * - a single-byte declaration is replaced only by a CJK encoding that
 *   uchardet names, decodes almost cleanly and yields mostly CJK text;
 * - the replacement encoding must then do at least CANDIDATE_GAIN times
 *   better than the declared one. */
#define UTF8_MIN_GOOD 4
#define UTF8_BAD_PER 50
#define WRONG_MIN_BAD 8
#define UTF8_WRONG_SHARE 4
#define MB_WRONG_HIGH 20
#define CANDIDATE_GAIN 4
/* uchardet sees at most this much of a body. */
#define DETECT_MAX (64u * 1024u)

/* ===== Decoders =====
 * Each appends UTF-8 to a qw_buf (without maintaining the NUL after every
 * write: decode() terminates once at the end) and counts the U+FFFD it had
 * to emit. */

static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

typedef struct {
  size_t good;  /* valid multi-byte UTF-8 sequences */
  size_t bad;   /* invalid sequences (maximal subparts) */
  size_t high;  /* bytes >= 0x80 */
} utf8_stats;

static int put_fffd(qw_buf *b)
{
  if(qw_buf_reserve(b, 3) != 0)
    return -ENOMEM;
  memcpy(b->data + b->len, fffd, 3);
  b->len += 3;
  return 0;
}

static int put_bytes(qw_buf *b, const void *p, size_t n)
{
  if(n == 0)
    return 0;
  if(qw_buf_reserve(b, n) != 0)
    return -ENOMEM;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

/* Length of the ASCII run at s[0..n). */
static size_t ascii_run(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while(n - i >= 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if(w & UINT64_C(0x8080808080808080))
      break;
    i += 8;
  }
  while(i < n && s[i] < 0x80)
    i++;
  return i;
}

/* Bytes >= 0x80 in s[0..n). */
static size_t count_high(const unsigned char *s, size_t n)
{
  size_t i = 0, c = 0;
  for(; n - i >= 8; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    c += (size_t)__builtin_popcountll(w & UINT64_C(0x8080808080808080));
  }
  for(; i < n; i++)
    c += s[i] >> 7;
  return c;
}

/* UTF-8 as WHATWG decodes it: every maximal subpart of an invalid sequence
 * becomes one U+FFFD. Valid stretches are copied in one memcpy each, so
 * valid input costs a scan and a copy. b may be NULL to fill st only.
 * With bail set, gives up and returns 1 as soon as the bytes can no longer
 * pass looks_utf8() (st then counts the scanned part only, high excepted);
 * else returns 0 or -ENOMEM. */
static int dec_utf8(const unsigned char *s, size_t n, qw_buf *b,
                    utf8_stats *st, int bail)
{
  utf8_stats z = {0, 0, 0};
  if(b && qw_buf_reserve(b, n) != 0)
    return -ENOMEM;
  size_t i = 0, from = 0;
  while(i < n) {
    i += ascii_run(s + i, n - i);
    /* Chinese text: runs of 3-byte sequences whose lead byte needs no
     * range check of the second byte (not E0, ED, F0, F4) */
    while(n - i >= 3) {
      unsigned c3 = s[i];
      if(c3 < 0xE1 || c3 > 0xEF || c3 == 0xED ||
         (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
        break;
      i += 3;
      z.good++;
      z.high += 3;
    }
    if(i >= n)
      break;
    unsigned c = s[i];
    if(c < 0x80)
      continue;
    unsigned need, lo = 0x80, hi = 0xBF;
    if(c >= 0xC2 && c <= 0xDF)
      need = 1;
    else if(c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if(c == 0xE0)
        lo = 0xA0;
      else if(c == 0xED)
        hi = 0x9F;
    }
    else if(c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if(c == 0xF0)
        lo = 0x90;
      else if(c == 0xF4)
        hi = 0x8F;
    }
    else
      need = 0;
    size_t k = 1; /* bytes of the (possibly partial) sequence */
    if(need) {
      if(k < n - i && s[i + k] >= lo && s[i + k] <= hi) {
        k++;
        while(k <= need && k < n - i && (s[i + k] & 0xC0) == 0x80)
          k++;
      }
    }
    z.high += k;
    if(need && k == need + 1) {
      z.good++;
      i += k;
      continue;
    }
    z.bad++;
    if(bail && z.bad > (z.good + (n - i) / 2) / UTF8_BAD_PER) {
      /* Even if all the rest were 2-byte sequences: not UTF-8. */
      z.high += count_high(s + i + k, n - i - k);
      if(st)
        *st = z;
      return 1;
    }
    if(b) {
      size_t run = i - from;
      if(b->cap - b->len - 1 < run + 3 && qw_buf_reserve(b, run + 3) != 0)
        return -ENOMEM;
      memcpy(b->data + b->len, s + from, run);
      memcpy(b->data + b->len + run, fffd, 3);
      b->len += run + 3;
    }
    i += k;
    from = i;
  }
  if(b && put_bytes(b, s + from, n - from) != 0)
    return -ENOMEM;
  if(st)
    *st = z;
  return 0;
}

static int dec_utf16(const unsigned char *s, size_t n, int be, qw_buf *b,
                     size_t *replaced)
{
  if(qw_buf_reserve(b, n / 2 * 3 + 3) != 0)
    return -ENOMEM;
  size_t i = 0;
  while(n - i >= 2) {
    unsigned u = be ? (unsigned)s[i] << 8 | s[i + 1]
                    : (unsigned)s[i + 1] << 8 | s[i];
    i += 2;
    uint32_t cp = u;
    if(u >= 0xD800 && u <= 0xDBFF) {
      unsigned u2 = 0;
      if(n - i >= 2)
        u2 = be ? (unsigned)s[i] << 8 | s[i + 1]
                : (unsigned)s[i + 1] << 8 | s[i];
      if(u2 >= 0xDC00 && u2 <= 0xDFFF) {
        cp = 0x10000 + ((uint32_t)(u - 0xD800) << 10) + (u2 - 0xDC00);
        i += 2;
      }
      else {
        cp = 0xFFFD;
        (*replaced)++;
      }
    }
    else if(u >= 0xDC00 && u <= 0xDFFF) {
      cp = 0xFFFD;
      (*replaced)++;
    }
    /* Two units never take more than 4 output bytes, one never more than
     * 3: the reservation above holds. */
    b->len += qw_utf8_encode(cp, b->data + b->len);
  }
  if(i < n) {
    memcpy(b->data + b->len, fffd, 3);
    b->len += 3;
    (*replaced)++;
  }
  return 0;
}

/* --- single-byte tables --- */

typedef struct {
  atomic_int ready;
  unsigned char len[128];  /* 0: undefined, becomes U+FFFD; else 1-3 */
  char utf8[128][4];
} sb_table;

static sb_table sb_tables[E_COUNT];
static pthread_mutex_t sb_lock = PTHREAD_MUTEX_INITIALIZER;

static int sb_build(const enc_def *e, sb_table *t)
{
  if(!e->iconv) {
    /* x-user-defined: 0x80-0xFF → U+F780-U+F7FF. */
    for(unsigned b = 0; b < 128; b++)
      t->len[b] = (unsigned char)qw_utf8_encode(0xF780 + b, t->utf8[b]);
    return 0;
  }
  iconv_t cd = iconv_open("UTF-8", e->iconv);
  if(cd == (iconv_t)-1)
    return errno == ENOMEM ? -ENOMEM : -EINVAL;
  for(unsigned b = 0; b < 128; b++) {
    char in = (char)(b + 0x80), out[16];
    char *ip = &in, *op = out;
    size_t il = 1, ol = sizeof(out);
    iconv(cd, NULL, NULL, NULL, NULL);
    size_t r = iconv(cd, &ip, &il, &op, &ol);
    if(r != (size_t)-1)
      r = iconv(cd, NULL, NULL, &op, &ol);
    size_t got = sizeof(out) - ol;
    if(r != (size_t)-1 && il == 0 && got > 0 && got <= 3 &&
       qw_utf8_valid(out, got)) {
      t->len[b] = (unsigned char)got;
      memcpy(t->utf8[b], out, got);
    }
    else if(e->c1 && b < 0x20) {
      /* WHATWG fills the holes of the windows-* code pages in 0x80-0x9F
       * with the C1 controls (windows-1252 0x81 → U+0081, …). */
      t->len[b] = (unsigned char)qw_utf8_encode(0x80 + b, t->utf8[b]);
    }
    else
      t->len[b] = 0;
  }
  iconv_close(cd);
  return 0;
}

static int sb_get(const enc_def *e, const sb_table **out)
{
  sb_table *t = &sb_tables[e - encs];
  if(!atomic_load_explicit(&t->ready, memory_order_acquire)) {
    int r = 0;
    pthread_mutex_lock(&sb_lock);
    if(!atomic_load_explicit(&t->ready, memory_order_relaxed)) {
      r = sb_build(e, t);
      if(r == 0)
        atomic_store_explicit(&t->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&sb_lock);
    if(r != 0)
      return r;
  }
  *out = t;
  return 0;
}

#define SB_CHUNK 4096

static int dec_single(const enc_def *e, const unsigned char *s, size_t n,
                      qw_buf *b, size_t *replaced)
{
  const sb_table *t;
  int r = sb_get(e, &t);
  if(r != 0)
    return r;
  size_t i = 0;
  while(i < n) {
    size_t end = n - i > SB_CHUNK ? i + SB_CHUNK : n;
    /* 3 bytes per input byte at most, plus one for the 4-byte copy. */
    if(qw_buf_reserve(b, (end - i) * 3 + 1) != 0)
      return -ENOMEM;
    char *o = b->data + b->len;
    while(i < end) {
      size_t a = ascii_run(s + i, end - i);
      memcpy(o, s + i, a);
      o += a;
      i += a;
      if(i >= end)
        break;
      unsigned c = s[i++] - 0x80u;
      unsigned l = t->len[c];
      if(l) {
        memcpy(o, t->utf8[c], 4);
        o += l;
      }
      else {
        memcpy(o, fffd, 3);
        o += 3;
        (*replaced)++;
      }
    }
    b->len = (size_t)(o - b->data);
  }
  return 0;
}

/* --- double-byte tables: GBK/gb18030 and Big5 ---
 * Lead bytes 0x81-0xFE, trail bytes 0x40-0xFE. An entry is 0 for an
 * invalid pair; a BMP character as its UTF-8 bytes (low 24 bits, first
 * byte lowest) and their count (bits 24-25); with DB_CP, a supplementary
 * code point; with DB_MULTI, an index into multi[] for the few Big5 pairs
 * that decode to two code points. GB18030 four-byte sequences (lead,
 * digit, 0x81-0xFE, digit) are rare and go to iconv. */

#define DB_TRAILS 191
#define DB_PAIRS (126 * DB_TRAILS)
#define DB_MULTI 0x80000000u
#define DB_CP 0x40000000u
#define DB_MULTI_MAX 8

typedef struct {
  atomic_int ready;
  unsigned nmulti;
  uint32_t cp[DB_PAIRS];
  unsigned char multi_len[DB_MULTI_MAX];
  char multi[DB_MULTI_MAX][6];
} db_table;

static db_table db_gb18030, db_big5;

/* Converts s[0..n) alone with cd into out (up to 16 bytes); returns the
 * UTF-8 length, 0 when iconv rejects it. */
static size_t iconv_one(iconv_t cd, const unsigned char *s, size_t n,
                        char out[16])
{
  char *ip = (char *)(uintptr_t)s, *op = out;
  size_t il = n, ol = 16;
  iconv(cd, NULL, NULL, NULL, NULL);
  size_t r = iconv(cd, &ip, &il, &op, &ol);
  if(r != (size_t)-1)
    r = iconv(cd, NULL, NULL, &op, &ol);
  size_t got = 16 - ol;
  if(r == (size_t)-1 || il != 0 || got == 0 || !qw_utf8_valid(out, got))
    return 0;
  return got;
}

static int db_build(const enc_def *e, db_table *t)
{
  iconv_t cd = iconv_open("UTF-8", e->iconv);
  if(cd == (iconv_t)-1)
    return errno == ENOMEM ? -ENOMEM : -EINVAL;
  t->nmulti = 0;
  for(unsigned lead = 0x81; lead <= 0xFE; lead++) {
    for(unsigned trail = 0x40; trail <= 0xFE; trail++) {
      uint32_t *slot = &t->cp[(lead - 0x81) * DB_TRAILS + (trail - 0x40)];
      unsigned char pair[2] = {(unsigned char)lead, (unsigned char)trail};
      char out[16];
      size_t got = trail == 0x7F ? 0 : iconv_one(cd, pair, 2, out);
      *slot = 0;
      if(got == 0)
        continue;
      size_t k = 0;
      uint32_t cp = qw_utf8_next(out, got, &k);
      if(k == got && got <= 3) {
        const unsigned char *u = (const unsigned char *)out;
        *slot = (uint32_t)got << 24 | u[0] |
                (got > 1 ? (uint32_t)u[1] << 8 : 0) |
                (got > 2 ? (uint32_t)u[2] << 16 : 0);
      }
      else if(k == got)
        *slot = DB_CP | cp;
      else if(got <= sizeof(t->multi[0]) && t->nmulti < DB_MULTI_MAX) {
        memcpy(t->multi[t->nmulti], out, got);
        t->multi_len[t->nmulti] = (unsigned char)got;
        *slot = DB_MULTI | t->nmulti++;
      }
    }
  }
  iconv_close(cd);
  return 0;
}

static int db_get(const enc_def *e, const db_table **out)
{
  db_table *t = e->iconv[0] == 'G' ? &db_gb18030 : &db_big5;
  if(!atomic_load_explicit(&t->ready, memory_order_acquire)) {
    int r = 0;
    pthread_mutex_lock(&sb_lock);
    if(!atomic_load_explicit(&t->ready, memory_order_relaxed)) {
      r = db_build(e, t);
      if(r == 0)
        atomic_store_explicit(&t->ready, 1, memory_order_release);
    }
    pthread_mutex_unlock(&sb_lock);
    if(r != 0)
      return r;
  }
  *out = t;
  return 0;
}

/* A GB18030 four-byte sequence s[0..4) as a code point, 0 if invalid. */
static uint32_t gb_four(const unsigned char *s, iconv_t *cd)
{
  if(*cd == (iconv_t)-1) {
    *cd = iconv_open("UTF-8", "GB18030");
    if(*cd == (iconv_t)-1)
      return 0;
  }
  char out[16];
  size_t got = iconv_one(*cd, s, 4, out), k = 0;
  if(got == 0)
    return 0;
  uint32_t cp = qw_utf8_next(out, got, &k);
  return k == got ? cp : 0;
}

/* GBK/gb18030 and Big5 as the WHATWG decoders do it: a bad lead followed
 * by an ASCII byte costs one U+FFFD and the ASCII byte is kept; followed
 * by a non-ASCII byte, the pair is dropped. */
static int dec_dbcs(const enc_def *e, const unsigned char *s, size_t n,
                    qw_buf *b, size_t *replaced)
{
  const db_table *t;
  int r = db_get(e, &t);
  if(r != 0)
    return r;
  int gb = t == &db_gb18030;
  iconv_t cd4 = (iconv_t)-1;
  size_t i = 0, bad = 0;
  while(i < n) {
    size_t end = n - i > SB_CHUNK ? i + SB_CHUNK : n;
    /* At most 3 output bytes per input byte; a sequence may run 3 bytes
     * past end. */
    if(qw_buf_reserve(b, (end - i) * 3 + 16) != 0) {
      r = -ENOMEM;
      break;
    }
    char *o = b->data + b->len;
    while(i < end) {
      size_t a = ascii_run(s + i, end - i);
      memcpy(o, s + i, a);
      o += a;
      i += a;
      if(i >= end)
        break;
      unsigned c = s[i];
      uint32_t cp = 0;
      size_t take = 1;
      if(c == 0x80 && gb)
        cp = 0x20AC;
      else if(c == 0x80 || c == 0xFF || n - i < 2)
        cp = 0;
      else {
        unsigned c2 = s[i + 1];
        if(gb && c2 >= 0x30 && c2 <= 0x39) {
          if(n - i >= 4 && s[i + 2] >= 0x81 && s[i + 2] <= 0xFE &&
             s[i + 3] >= 0x30 && s[i + 3] <= 0x39) {
            cp = gb_four(s + i, &cd4);
            take = cp ? 4 : 1;
          }
          else if(n - i < 4 &&
                  (n - i == 2 || (s[i + 2] >= 0x81 && s[i + 2] <= 0xFE)))
            take = n - i; /* cut short by the end of the input */
        }
        else if(c2 >= 0x40 && c2 <= 0xFE) {
          uint32_t v = t->cp[(c - 0x81) * DB_TRAILS + (c2 - 0x40)];
          if(v && !(v & (DB_MULTI | DB_CP))) {
            o[0] = (char)(v & 0xFF);
            o[1] = (char)((v >> 8) & 0xFF);
            o[2] = (char)((v >> 16) & 0xFF);
            o += v >> 24;
            i += 2;
            continue;
          }
          if(v & DB_MULTI) {
            unsigned m = v & ~DB_MULTI;
            memcpy(o, t->multi[m], t->multi_len[m]);
            o += t->multi_len[m];
            i += 2;
            continue;
          }
          cp = v & ~DB_CP;
          take = (cp || c2 >= 0x80) ? 2 : 1;
        }
        else
          take = c2 >= 0x80 ? 2 : 1;
      }
      if(cp)
        o += qw_utf8_encode(cp, o);
      else {
        memcpy(o, fffd, 3);
        o += 3;
        bad++;
      }
      i += take;
    }
    b->len = (size_t)(o - b->data);
  }
  if(cd4 != (iconv_t)-1)
    iconv_close(cd4);
  *replaced += bad;
  return r;
}

/* --- iconv --- */

/* Bytes to drop after iconv stopped on an invalid sequence at s[0..n):
 * like the WHATWG multi-byte decoders, a lead byte followed by a non-ASCII
 * byte is one bad pair, but an ASCII byte after a bad lead is kept. */
static size_t bad_len(const enc_def *e, const unsigned char *s, size_t n)
{
  if(e->cjk && n >= 2 && s[0] >= 0x81 && s[0] != 0xFF && s[1] >= 0x80)
    return 2;
  return 1;
}

static int dec_iconv(const enc_def *e, const unsigned char *s, size_t n,
                     qw_buf *b, size_t *replaced)
{
  iconv_t cd = iconv_open("UTF-8", e->iconv);
  if(cd == (iconv_t)-1)
    return errno == ENOMEM ? -ENOMEM : -EINVAL;
  int ret = 0;
  /* Two bytes per character → three UTF-8 bytes for most CJK text. */
  size_t want = n / 2 * 3 + 16;
  if(qw_buf_reserve(b, want) != 0) {
    iconv_close(cd);
    return -ENOMEM;
  }
  char *ip = (char *)(uintptr_t)s;
  size_t il = n;
  int flushing = 0;
  for(;;) {
    char *op = b->data + b->len;
    size_t room = b->cap - b->len - 1, ol = room;
    size_t r = flushing ? iconv(cd, NULL, NULL, &op, &ol)
                        : iconv(cd, &ip, &il, &op, &ol);
    int err = errno;
    b->len += room - ol;
    if(r != (size_t)-1) {
      if(flushing)
        break;
      flushing = 1;
      continue;
    }
    if(err == E2BIG) {
      if(qw_buf_reserve(b, il / 2 * 3 + 64) != 0) {
        ret = -ENOMEM;
        break;
      }
      continue;
    }
    if(err == EILSEQ && !flushing) {
      const unsigned char *p = (const unsigned char *)ip;
      size_t k = bad_len(e, p, il);
      ip += k;
      il -= k;
      (*replaced)++;
      if(put_fffd(b) != 0) {
        ret = -ENOMEM;
        break;
      }
      continue;
    }
    if(err == EINVAL && !flushing) {
      /* Incomplete sequence at the end of the input. */
      il = 0;
      (*replaced)++;
      if(put_fffd(b) != 0) {
        ret = -ENOMEM;
        break;
      }
      flushing = 1;
      continue;
    }
    ret = -EINVAL;
    break;
  }
  iconv_close(cd);
  return ret;
}

static int dec_any(const enc_def *e, const unsigned char *s, size_t n,
                   qw_buf *b, size_t *replaced)
{
  switch(e->kind) {
  case K_UTF8: {
    utf8_stats st;
    int r = dec_utf8(s, n, b, &st, 0);
    *replaced += st.bad;
    return r;
  }
  case K_SINGLE:
    return dec_single(e, s, n, b, replaced);
  case K_DBCS:
    return dec_dbcs(e, s, n, b, replaced);
  case K_ICONV:
    return dec_iconv(e, s, n, b, replaced);
  case K_U16LE:
    return dec_utf16(s, n, 0, b, replaced);
  case K_U16BE:
    return dec_utf16(s, n, 1, b, replaced);
  case K_REPL:
    break;
  }
  return -EINVAL;
}

/* ===== The <meta> prescan (HTML Standard §13.2.3.2) ===== */

#define PRESCAN_MAX 1024
#define ATTR_NAME_MAX 16
#define ATTR_VALUE_MAX 512

static int is_alpha(unsigned c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

typedef struct {
  char name[ATTR_NAME_MAX];
  size_t nlen; /* may exceed ATTR_NAME_MAX - 1: then name is cut */
  char value[ATTR_VALUE_MAX];
  size_t vlen;
} attr;

static void attr_add(char *buf, size_t max, size_t *len, unsigned c)
{
  if(*len < max - 1)
    buf[*len] = (char)lower((int)c);
  (*len)++;
}

static int attr_is(const attr *a, const char *w)
{
  size_t l = strlen(w);
  return a->nlen == l && memcmp(a->name, w, l) == 0;
}

/* "Get an attribute". Returns 1 with *a filled, 0 when there is none (at
 * '>'), -1 when the input ended first (the prescan then gives up). */
static int get_attr(const unsigned char *s, size_t n, size_t *pos, attr *a)
{
  size_t i = *pos;
  a->nlen = a->vlen = 0;
  while(i < n && (is_ws(s[i]) || s[i] == '/'))
    i++;
  if(i >= n)
    return -1;
  if(s[i] == '>') {
    *pos = i;
    return 0;
  }
  for(;;) {
    if(i >= n)
      return -1;
    unsigned c = s[i];
    if(c == '=' && a->nlen > 0) {
      i++;
      goto value;
    }
    if(is_ws(c))
      break;
    if(c == '/' || c == '>') {
      *pos = i;
      return 1;
    }
    attr_add(a->name, sizeof(a->name), &a->nlen, c);
    i++;
  }
  while(i < n && is_ws(s[i]))
    i++;
  if(i >= n)
    return -1;
  if(s[i] != '=') {
    *pos = i;
    return 1;
  }
  i++;
value:
  while(i < n && is_ws(s[i]))
    i++;
  if(i >= n)
    return -1;
  if(s[i] == '"' || s[i] == '\'') {
    unsigned q = s[i++];
    for(;;) {
      if(i >= n)
        return -1;
      if(s[i] == q) {
        *pos = i + 1;
        return 1;
      }
      attr_add(a->value, sizeof(a->value), &a->vlen, s[i]);
      i++;
    }
  }
  if(s[i] == '>') {
    *pos = i;
    return 1;
  }
  for(;;) {
    if(i >= n)
      return -1;
    if(is_ws(s[i]) || s[i] == '>') {
      *pos = i;
      return 1;
    }
    attr_add(a->value, sizeof(a->value), &a->vlen, s[i]);
    i++;
  }
}

/* "Extracting a character encoding from a meta element" on a content
 * attribute value (already lower case). NULL when there is none. */
static const enc_def *from_content(const char *v, size_t n)
{
  size_t i = 0;
  for(;;) {
    const char *hit = NULL;
    for(size_t j = i; j + 7 <= n; j++) {
      if(memcmp(v + j, "charset", 7) == 0) {
        hit = v + j;
        break;
      }
    }
    if(!hit)
      return NULL;
    i = (size_t)(hit - v) + 7;
    while(i < n && is_ws((unsigned char)v[i]))
      i++;
    if(i >= n)
      return NULL;
    if(v[i] != '=')
      continue;
    i++;
    while(i < n && is_ws((unsigned char)v[i]))
      i++;
    if(i >= n)
      return NULL;
    if(v[i] == '"' || v[i] == '\'') {
      const char *end = memchr(v + i + 1, v[i], n - i - 1);
      if(!end)
        return NULL;
      return lookup(v + i + 1, (size_t)(end - (v + i + 1)));
    }
    size_t j = i;
    while(j < n && !is_ws((unsigned char)v[j]) && v[j] != ';')
      j++;
    return lookup(v + i, j - i);
  }
}

static const unsigned char *find2(const unsigned char *s, size_t n,
                                  size_t from, const char *pat, size_t plen)
{
  for(size_t i = from; i + plen <= n; i++) {
    if(s[i] == (unsigned char)pat[0] && memcmp(s + i, pat, plen) == 0)
      return s + i;
  }
  return NULL;
}

/* One <meta>: position just after "<meta". Returns the encoding it
 * declares or NULL; -1 in *end when the input ran out. */
static const enc_def *meta_tag(const unsigned char *s, size_t n, size_t *pos,
                               int *end)
{
  int seen_he = 0, seen_content = 0, seen_charset = 0;
  int got_pragma = 0, need_pragma = -1, cs_set = 0;
  const enc_def *cs = NULL;
  attr a;
  for(;;) {
    int r = get_attr(s, n, pos, &a);
    if(r < 0) {
      *end = 1;
      return NULL;
    }
    if(r == 0)
      break;
    if(attr_is(&a, "http-equiv")) {
      if(seen_he++)
        continue;
      if(a.vlen == 12 && memcmp(a.value, "content-type", 12) == 0)
        got_pragma = 1;
    }
    else if(attr_is(&a, "content")) {
      if(seen_content++)
        continue;
      size_t vl = a.vlen < sizeof(a.value) ? a.vlen : sizeof(a.value) - 1;
      const enc_def *e = from_content(a.value, vl);
      if(e && !cs_set) {
        cs = e;
        cs_set = 1;
        need_pragma = 1;
      }
    }
    else if(attr_is(&a, "charset")) {
      if(seen_charset++)
        continue;
      cs = a.vlen < sizeof(a.value) ? lookup(a.value, a.vlen) : NULL;
      cs_set = 1;
      need_pragma = 0;
    }
  }
  if(need_pragma < 0 || (need_pragma == 1 && !got_pragma) || !cs)
    return NULL;
  if(cs == &encs[E_U16LE] || cs == &encs[E_U16BE])
    return &encs[E_UTF8];
  if(cs == &encs[E_XUSER])
    return &encs[E_W1252];
  if(cs == &encs[E_REPL])
    return NULL; /* see decide(): a replacement label is ignored */
  return cs;
}

static const enc_def *prescan(const unsigned char *s, size_t len)
{
  size_t n = len < PRESCAN_MAX ? len : PRESCAN_MAX;
  size_t i = 0;
  while(i < n) {
    if(s[i] != '<') {
      const unsigned char *lt = memchr(s + i, '<', n - i);
      if(!lt)
        break;
      i = (size_t)(lt - s);
    }
    if(n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
      /* The '>' of "-->" may share its dashes with "<!--" ("<!-->"). */
      const unsigned char *e = find2(s, n, i + 2, "-->", 3);
      if(!e)
        break;
      i = (size_t)(e - s) + 3;
      continue;
    }
    if(n - i >= 6 && starts_ci((const char *)s + i, 5, "<meta") &&
       (is_ws(s[i + 5]) || s[i + 5] == '/')) {
      size_t pos = i + 5;
      int end = 0;
      const enc_def *e = meta_tag(s, n, &pos, &end);
      if(e)
        return e;
      if(end)
        break;
      i = pos + 1;
      continue;
    }
    if(n - i >= 2 && (is_alpha(s[i + 1]) ||
                      (s[i + 1] == '/' && n - i >= 3 && is_alpha(s[i + 2])))) {
      size_t pos = i + 1;
      while(pos < n && !is_ws(s[pos]) && s[pos] != '>')
        pos++;
      attr a;
      int r;
      while((r = get_attr(s, n, &pos, &a)) > 0)
        ;
      if(r < 0)
        break;
      i = pos + 1;
      continue;
    }
    if(n - i >= 2 && (s[i + 1] == '!' || s[i + 1] == '/' || s[i + 1] == '?')) {
      const unsigned char *gt = memchr(s + i + 2, '>', n - i - 2);
      if(!gt)
        break;
      i = (size_t)(gt - s) + 1;
      continue;
    }
    i++;
  }
  return NULL;
}

/* ===== Choosing the encoding ===== */

/* against_label: the bytes must outweigh a declaration, so some valid
 * multi-byte UTF-8 is required even when nothing is invalid. */
static int looks_utf8(const utf8_stats *st, int against_label)
{
  if(st->bad == 0 && !against_label)
    return 1;
  return st->good >= UTF8_MIN_GOOD &&
         st->bad <= st->good / UTF8_BAD_PER;
}

/* What uchardet makes of the bytes, as one of our encodings; NULL when it
 * has no useful answer (nothing, ASCII, or something WHATWG lacks). */
static const enc_def *detect(const unsigned char *s, size_t n)
{
  uchardet_t ud = uchardet_new();
  if(!ud)
    return NULL;
  const enc_def *e = NULL;
  if(uchardet_handle_data(ud, (const char *)s,
                          n > DETECT_MAX ? DETECT_MAX : n) == 0) {
    uchardet_data_end(ud);
    const char *name = uchardet_get_charset(ud);
    if(name && *name) {
      size_t l = strlen(name);
      if(starts_ci(name, l, "uhc"))
        e = &encs[E_EUCKR];
      else if(starts_ci(name, l, "mac-cyrillic"))
        e = &encs[E_XMACCYR];
      else if(!starts_ci(name, l, "ascii"))
        e = lookup(name, l);
      if(e && e->kind == K_REPL)
        e = NULL;
    }
  }
  uchardet_delete(ud);
  return e;
}

/* 1 when the UTF-8 text has at least 4 non-ASCII characters and at least
 * nine in ten of them are Han or CJK/full-width punctuation. */
static int mostly_cjk(const char *s, size_t n)
{
  size_t cjk = 0, other = 0, i = 0;
  while(i < n) {
    i += ascii_run((const unsigned char *)s + i, n - i);
    if(i >= n)
      break;
    uint32_t cp = qw_utf8_next(s, n, &i);
    if(qw_utf8_is_han(cp) || (cp >= 0x3000 && cp <= 0x303F) ||
       (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x2010 && cp <= 0x2027))
      cjk++;
    else
      other++;
  }
  return cjk >= 4 && cjk >= (cjk + other) / 10 * 9;
}

typedef struct {
  const enc_def *enc;
  qw_buf out;
  size_t replaced;
} attempt;

static int attempt_run(attempt *a, const enc_def *e, const unsigned char *s,
                       size_t n)
{
  qw_buf_reset(&a->out);
  a->enc = e;
  a->replaced = 0;
  return dec_any(e, s, n, &a->out, &a->replaced);
}

static void attempt_swap(attempt *a, attempt *b)
{
  attempt t = *a;
  *a = *b;
  *b = t;
}

/* 1 when a and b decode the same way (GBK and gb18030 do). */
static int same_decoder(const enc_def *a, const enc_def *b)
{
  return a == b || (a->iconv && b->iconv && !strcmp(a->iconv, b->iconv));
}

/* The best reading of bytes that are not UTF-8, without a declaration
 * (or against one that failed): uchardet's answer when it names a CJK
 * multi-byte encoding; else GBK when that decodes cleanly into Chinese
 * text (uchardet is weak on short texts, where GBK often passes for
 * ISO-8859-x); else uchardet's single-byte answer. Returns 1 with the
 * result in *a, 0 when there is no guess (uchardet said nothing, ASCII or
 * UTF-8), or a negative errno. high: bytes >= 0x80 in s. */
static int guess(const unsigned char *s, size_t n, size_t high, attempt *a)
{
  int r;
  const enc_def *c = detect(s, n);
  if(c && c->kind != K_SINGLE && c->kind != K_UTF8) {
    if((r = attempt_run(a, c, s, n)) != 0)
      return r;
    return 1;
  }
  if((r = attempt_run(a, &encs[E_GBK], s, n)) != 0)
    return r;
  if(a->replaced <= high / 100 && mostly_cjk(a->out.data, a->out.len))
    return 1;
  if(c && c->kind == K_SINGLE) {
    if((r = attempt_run(a, c, s, n)) != 0)
      return r;
    return 1;
  }
  return 0;
}

/* Decodes with the declared encoding d unless the bytes clearly say
 * otherwise. On return best holds the output; *overridden tells whether a
 * detected encoding replaced d. */
static int decode_declared(const enc_def *d, const unsigned char *s, size_t n,
                           attempt *best, attempt *tmp, int *overridden)
{
  int r;
  utf8_stats st;
  *overridden = 0;
  if(d->kind == K_U16LE || d->kind == K_U16BE)
    return attempt_run(best, d, s, n);
  if(d->kind == K_UTF8) {
    qw_buf_reset(&best->out);
    best->enc = d;
    if((r = dec_utf8(s, n, &best->out, &st, 0)) != 0)
      return r;
    best->replaced = st.bad;
    if(st.bad < WRONG_MIN_BAD ||
       st.bad < (st.good + st.bad) / UTF8_WRONG_SHARE)
      return 0;
  }
  else {
    /* Another declaration: first, are the bytes really UTF-8? */
    if(dec_utf8(s, n, NULL, &st, 1) == 0 && looks_utf8(&st, 1)) {
      *overridden = 1;
      return attempt_run(best, &encs[E_UTF8], s, n);
    }
    if((r = attempt_run(best, d, s, n)) != 0)
      return r;
    if(d->kind == K_SINGLE) {
      /* A single-byte declaration never fails, so ask whether a CJK page
       * was labelled iso-8859-1 or the like: uchardet must name a CJK
       * encoding that decodes cleanly into mostly CJK text. */
      if(st.high < 16)
        return 0;
      const enc_def *c = detect(s, n);
      if(!c || !c->cjk)
        return 0;
      if((r = attempt_run(tmp, c, s, n)) != 0)
        return r;
      if(tmp->replaced <= st.high / 100 &&
         mostly_cjk(tmp->out.data, tmp->out.len)) {
        attempt_swap(best, tmp);
        *overridden = 1;
      }
      return 0;
    }
    if(best->replaced < WRONG_MIN_BAD)
      return 0;
    /* GBK and Big5 share most of their byte ranges, so one read as the
     * other fails only here and there: uchardet has the better eye. */
    const enc_def *c = detect(s, n);
    if(c && c->cjk && !same_decoder(c, d)) {
      if((r = attempt_run(tmp, c, s, n)) != 0)
        return r;
      if(tmp->replaced * CANDIDATE_GAIN <= best->replaced) {
        attempt_swap(best, tmp);
        *overridden = 1;
      }
      return 0;
    }
    if(best->replaced < st.high / MB_WRONG_HIGH)
      return 0;
  }
  /* The declared multi-byte encoding failed on many sequences. */
  if((r = guess(s, n, st.high, tmp)) <= 0)
    return r;
  if(!same_decoder(tmp->enc, d) &&
     tmp->replaced * CANDIDATE_GAIN <= best->replaced) {
    attempt_swap(best, tmp);
    *overridden = 1;
  }
  return 0;
}

/* Nothing declared: UTF-8 if the bytes are UTF-8, else guess(), else
 * windows-1252. */
static int decode_undeclared(const unsigned char *s, size_t n, attempt *best,
                             attempt *tmp, qw_charset_source *src)
{
  int r;
  utf8_stats st;
  qw_buf_reset(&best->out);
  best->enc = &encs[E_UTF8];
  if((r = dec_utf8(s, n, &best->out, &st, 1)) < 0)
    return r;
  best->replaced = st.bad;
  if(r == 0 && looks_utf8(&st, 0)) {
    *src = st.good ? QW_CS_DETECTED : QW_CS_DEFAULT;
    return 0;
  }
  *src = QW_CS_DETECTED;
  if((r = guess(s, n, st.high, tmp)) < 0)
    return r;
  if(r > 0) {
    attempt_swap(best, tmp);
    return 0;
  }
  *src = QW_CS_DEFAULT;
  return attempt_run(best, &encs[E_W1252], s, n);
}

/* The BOM at s, if any: its encoding and length. */
static const enc_def *bom(const unsigned char *s, size_t n, size_t *blen)
{
  if(n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) {
    *blen = 3;
    return &encs[E_UTF8];
  }
  if(n >= 2 && s[0] == 0xFE && s[1] == 0xFF) {
    *blen = 2;
    return &encs[E_U16BE];
  }
  if(n >= 2 && s[0] == 0xFF && s[1] == 0xFE) {
    *blen = 2;
    return &encs[E_U16LE];
  }
  *blen = 0;
  return NULL;
}

static void set_name(char dst[32], const char *name)
{
  size_t l = strlen(name);
  if(l > 31)
    l = 31;
  memcpy(dst, name, l);
  dst[l] = '\0';
}

/* A UTF-16 declaration is wrong when the start of the body has no NUL
 * byte: UTF-16 markup is half NULs. */
static int utf16_implausible(const unsigned char *s, size_t n)
{
  size_t k = n < PRESCAN_MAX ? n : PRESCAN_MAX;
  return k >= 2 && memchr(s, 0, k) == NULL;
}

int qw_charset_decode(const char *in, size_t len, const char *user_cs,
                      const char *transport_cs, char **out, size_t *out_len,
                      qw_charset_info *info)
{
  const unsigned char *s = (const unsigned char *)in;
  qw_charset_info inf;
  memset(&inf, 0, sizeof(inf));
  attempt best = {NULL, QW_BUF_INIT, 0}, tmp = {NULL, QW_BUF_INIT, 0};
  int r = 0;
  size_t blen = 0;
  const enc_def *e;
  if(!s) {
    s = (const unsigned char *)"";
    len = 0;
  }
  if(user_cs) {
    e = lookup(user_cs, strlen(user_cs));
    if(!e || e->kind == K_REPL)
      return -EINVAL;
    size_t bl;
    const enc_def *b = bom(s, len, &bl);
    if(b == e)
      blen = bl;
    inf.source = QW_CS_USER;
    r = attempt_run(&best, e, s + blen, len - blen);
  }
  else if((e = bom(s, len, &blen)) != NULL) {
    inf.source = QW_CS_BOM;
    r = attempt_run(&best, e, s + blen, len - blen);
  }
  else {
    /* A transport label we cannot use (unknown, or WHATWG "replacement",
     * meant to blank out pages: we analyse them anyway) is ignored. */
    const enc_def *d = transport_cs ? lookup(transport_cs,
                                             strlen(transport_cs)) : NULL;
    if(d && d->kind == K_REPL)
      d = NULL;
    if(d && (d->kind == K_U16LE || d->kind == K_U16BE) &&
       utf16_implausible(s, len)) {
      set_name(inf.declared, d->name);
      d = NULL;
    }
    inf.source = QW_CS_TRANSPORT;
    if(!d) {
      d = prescan(s, len);
      inf.source = QW_CS_META;
    }
    if(d) {
      int over;
      r = decode_declared(d, s, len, &best, &tmp, &over);
      if(r == 0 && over) {
        set_name(inf.declared, d->name);
        inf.source = QW_CS_DETECTED;
      }
    }
    else
      r = decode_undeclared(s, len, &best, &tmp, &inf.source);
  }
  qw_buf_free(&tmp.out);
  if(r != 0) {
    qw_buf_free(&best.out);
    return r;
  }
  size_t olen;
  char *o = qw_buf_steal(&best.out, &olen);
  if(!o)
    return -ENOMEM;
  o[olen] = '\0';
  set_name(inf.name, best.enc->name);
  inf.replaced = best.replaced;
  *out = o;
  *out_len = olen;
  if(info)
    *info = inf;
  return 0;
}
