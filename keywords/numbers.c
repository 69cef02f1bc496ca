/* numbers.c — finds registration, filing, licence and site numbers in
 * normalised page text and checks their structure (see numbers.h).
 *
 * How a scan works. Every number kind but one contains 械 (the remaining
 * one, the 互联网药品信息服务资格证书, contains 经营性), so the text is
 * searched for those two anchors with memmem. The bytes right after each 械
 * say which kind can start there (械注 → registration, 械备 → Class I
 * filing, 械经营/械生产 → licences, 械( after 监/管 → legacy …) and a cheap
 * byte test throws out the common words (医疗器械注册证, 医疗器械经营许可证
 * …). Only the survivors run one PCRE2 pattern, on a small window around the
 * anchor: the window starts a few characters before it (the authority
 * prefix) and the match must start no later than the anchor (PCRE2 offset
 * limit), so a failed attempt costs a few hundred bytes at most and a page
 * without numbers costs two memmem passes.
 *
 * Validation follows RULES-REFERENCE §1–§3; each rule that fails sets the
 * validity and a reason, the first one of the highest severity wins. The
 * province abbreviations are data (from the rule pack); the category code
 * lists are the 2017 and 2002 catalogs of §1.2.
 *
 * Fields: authority is the province-level character (or 国) only; a city
 * or district part (浙绍, 京朝) stays in text. form is also set for legacy
 * numbers (准/进/许/试). year is 0 when the number carries none (new-form
 * ad approvals) or is malformed. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "numbers.h"

#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "utf8.h"

/* Default province-level abbreviations and aliases (RULES-REFERENCE §3). */
#define DEFAULT_AUTHORITIES \
  "京津冀晋内蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵黔云滇藏陕甘青宁新兵"
#define DEFAULT_ALIASES "蜀秦陇"

#define MAX_AUTHORITIES 256

/* ===== Patterns ===== */

/* Bracket and dash sets seen around site numbers once normalised: （）
 * already became (), but 【】〔〕 and the dash variants stay. */
#define OPEN "[(（\\[【〔]"
#define CLOSE "[)）\\]】〕]"
#define DASH "[-—－–‐―]"

enum {
  P_REG,     /* registration, strict or loose */
  P_FILING,  /* Class I filing */
  P_LEGACY,  /* 食药监械(准)字 … */
  P_BIZ,     /* 械经营/生产 许/备 */
  P_SITE,    /* 网械平台备字 / 网药械信息备字 */
  P_CERT,    /* (沪)-经营性-2018-0011 */
  P_AD,      /* 械广审 */
  P_ONLINE,  /* 械网备 */
  P_COUNT
};

/* "@P" stands for the character class of province abbreviations. */
static const char *const pattern_src[P_COUNT] = {
  /* P_REG: ×1械注×2 + 4-1-2-4 digits (spaces allowed between the groups),
     or anything else that looks like digits: the loose branch. */
  "(?<auth>\\p{Han})械注\\h*(?<form>[准进许])\\h*"
  "(?:(?<year>[0-9]{4})\\h*(?<class>[0-9])\\h*(?<cat>[0-9]{2})\\h*"
  "(?<serial>[0-9]{4})(?![0-9])"
  "|(?<loose>[0-9](?:\\h?[0-9]){5,29})(?![0-9]))",

  /* P_FILING: 国 or province + 0–2 Han (city or district), 械备, year and
     serial, optional 号 and (更). */
  "(?<auth>国|@P)(?<city>\\p{Han}{0,2}?)械备\\h*"
  "(?:(?<year>[0-9]{4})\\h*(?<serial>[0-9]{4})(?![0-9])"
  "|(?<loose>[0-9]{5,7}(?![0-9])|[0-9]{9,16}(?![0-9])))"
  "(?:\\h*号)?(?:\\h*" OPEN "\\h*更\\h*" CLOSE ")?",

  /* P_LEGACY: 2004–2014 format and the older 药管械/药监械 ones; the loose
     branch catches truncated and over-long tails. */
  "(?<auth>国|@P)(?<city>\\p{Han})?" "?(?<org>食?药(?:监|管))械\\h*" OPEN
  "\\h*(?<form>[准进许试])\\h*" CLOSE "\\h*字\\h*(?:(?<extra>第)\\h*)?"
  "(?:(?<year>(?:19|20)[0-9]{2}|[0-9]{2})\\h*第\\h*(?<class>[0-9])\\h*"
  "(?<cat>[0-9]{2})\\h*(?<serial>[0-9]{4})(?![0-9])(?:\\h*号)?"
  "|(?<loose>[0-9]{2,4}(?:\\h*第)?(?:\\h*[0-9]){0,14}(?:\\h*号)?))",

  /* P_BIZ: business and production licences and filings. */
  "(?<auth>@P)(?<city>\\p{Han}{0,2}?)(?<org>食药监|药监|市监)?"
  "械(?<biz>经营|生产)(?<lf>许|备)\\h*"
  "(?:(?<year>[0-9]{4})\\h*(?<serial>[0-9A-Za-z]{4})(?![0-9A-Za-z])"
  "|(?<loose>[0-9][0-9A-Za-z]{4,6}(?![0-9A-Za-z])"
  "|[0-9][0-9A-Za-z]{8,15}(?![0-9A-Za-z])))(?:\\h*号)?",

  /* P_SITE: platform filing and information-service filing. */
  "(?:" OPEN "\\h*)?(?<auth>\\p{Han})(?:\\h*" CLOSE ")?\\h*"
  "(?<what>网械平台备字|网药械信息备字)\\h*" OPEN "\\h*(?<year>[0-9]{4})\\h*"
  CLOSE "\\h*第?\\h*(?<serial>[0-9]{5})(?![0-9])(?:\\h*号)?",

  /* P_CERT: (省)-经营性-YYYY-NNNN, (省)-非经营性-…, em-dash variants. */
  OPEN "\\h*(?<auth>\\p{Han})\\h*" CLOSE "\\h*" DASH "?\\h*" OPEN "?\\h*"
  "(?<non>非)?经营性\\h*" CLOSE "?\\h*" DASH "\\h*(?<year>[0-9]{4})\\h*"
  DASH "\\h*(?<serial>[0-9]{4})(?![0-9])",

  /* P_AD: old X医械广审(文)第YYYYMMNNNN号, new X械广审(文)第NNNNNN-NNNNN号. */
  "(?<auth>\\p{Han})(?<med>医)?械广审\\h*" OPEN "\\h*(?<media>[视声文])\\h*"
  CLOSE "\\h*第?\\h*(?:(?<na>[0-9]{6})\\h*" DASH "\\h*(?<nb>[0-9]{5})"
  "|(?<old>[0-9]{10}))(?![0-9])(?:\\h*号)?",

  /* P_ONLINE: seller's online-sale filing, by its 械网备 context. */
  "(?<auth>国|@P)(?<city>\\p{Han}{0,2}?)械网备\\h*"
  "(?<digits>[0-9]{6,20})(?![0-9])"
  "(?:\\h*号)?",
};

/* Named groups, looked up once per pattern. */
enum {
  G_AUTH, G_CITY, G_FORM, G_YEAR, G_CLASS, G_CAT, G_SERIAL, G_LOOSE,
  G_ORG, G_EXTRA, G_BIZ, G_LF, G_WHAT, G_NON, G_MED, G_NA, G_NB, G_OLD,
  G_DIGITS, G_COUNT
};

static const char *const group_names[G_COUNT] = {
  "auth", "city", "form", "year", "class", "cat", "serial", "loose",
  "org", "extra", "biz", "lf", "what", "non", "med", "na", "nb", "old",
  "digits",
};

/* How many characters before the anchor a number of each kind can start
 * (authority, city, 食药监, brackets and the odd space). */
static const unsigned back_chars[P_COUNT] = {
  1, 3, 6, 6, 12, 10, 2, 3,
};

/* Bytes after the anchor the window reaches at least (then extended to the
 * end of any run of digits, letters and spaces). */
#define WINDOW_AHEAD 128

struct qw_numbers {
  pcre2_code *re[P_COUNT];
  int grp[P_COUNT][G_COUNT]; /* group numbers, 0 = not in that pattern */
  uint32_t auth[MAX_AUTHORITIES]; /* sorted province-level code points */
  size_t n_auth;
  uint32_t alias[MAX_AUTHORITIES]; /* those that are only aliases */
  size_t n_alias;
  int jit;                   /* 1 when every pattern is JIT-compiled */
};

struct qw_numbers_scratch {
  pcre2_match_data *md[P_COUNT];
  pcre2_match_context *mctx;
  pcre2_jit_stack *stack;
  qw_number *found;          /* numbers of the current call */
  size_t n_found, cap_found;
  size_t ext_from, ext_to;   /* last window-end extension (see win_end) */
  size_t checked;            /* window bytes UTF-checked by PCRE2 */
  int utf;                   /* UTF_*: what is known of the current text */
};

enum { UTF_UNKNOWN, UTF_VALID, UTF_INVALID };

/* ===== Names ===== */

static const char *const kind_names[QW_NUM_KIND_COUNT] = {
  "registration", "registration_loose", "legacy", "filing", "biz_licence",
  "biz_filing", "prod_licence", "prod_filing", "platform", "info_filing",
  "info_cert", "ad_approval", "online_filing",
};

const char *qw_num_kind_name(qw_num_kind k)
{
  if((unsigned)k >= QW_NUM_KIND_COUNT)
    return "unknown";
  return kind_names[k];
}

int qw_num_kind_from_name(const char *name, size_t len)
{
  if(!name)
    return -1;
  for(int k = 0; k < QW_NUM_KIND_COUNT; k++) {
    if(strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
      return k;
  }
  return -1;
}

const char *qw_num_validity_name(qw_num_validity v)
{
  switch(v) {
  case QW_NUMV_OK:
    return "ok";
  case QW_NUMV_SUSPICIOUS:
    return "suspicious";
  case QW_NUMV_INVALID:
    return "invalid";
  }
  return "unknown";
}

/* ===== Building ===== */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
  if(!err || errlen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* Adds the characters of list to nx->auth (and, for an alias list, the new
 * ones to nx->alias). what names the list in errors. */
static int add_authorities(qw_numbers *nx, const char *list, int aliases,
                           const char *what, char *err, size_t errlen)
{
  size_t len = strlen(list);
  size_t i = 0;
  while(i < len) {
    size_t at = i;
    uint32_t cp = qw_utf8_next(list, len, &i);
    if(cp == 0xFFFD) {
      set_err(err, errlen, "%s: invalid UTF-8 at byte %zu", what, at);
      return -EINVAL;
    }
    if(!qw_utf8_is_han(cp) || cp == 0x3007) {
      set_err(err, errlen,
              "%s: U+%04X at byte %zu is not a Han character (the list is "
              "one abbreviation character after another, no separators)",
              what, (unsigned)cp, at);
      return -EINVAL;
    }
    if(cp == 0x56FD) /* 国: the national authority is always accepted */
      continue;
    size_t k;
    for(k = 0; k < nx->n_auth && nx->auth[k] != cp; k++)
      ;
    if(k < nx->n_auth)
      continue;
    if(nx->n_auth == MAX_AUTHORITIES) {
      set_err(err, errlen, "%s: more than %d abbreviations", what,
              MAX_AUTHORITIES);
      return -EINVAL;
    }
    nx->auth[nx->n_auth++] = cp;
    if(aliases)
      nx->alias[nx->n_alias++] = cp;
  }
  return 0;
}

/* Expands "@P" in src into the province class "[京津…]". */
static int expand_pattern(const qw_numbers *nx, const char *src, qw_buf *out)
{
  qw_buf_reset(out);
  const char *p = src;
  const char *at;
  while((at = strstr(p, "@P")) != NULL) {
    if(qw_buf_append(out, p, (size_t)(at - p)) != 0 ||
       qw_buf_putc(out, '[') != 0)
      return -ENOMEM;
    for(size_t k = 0; k < nx->n_auth; k++)
      if(qw_buf_put_utf8(out, nx->auth[k]) != 0)
        return -ENOMEM;
    if(qw_buf_putc(out, ']') != 0)
      return -ENOMEM;
    p = at + 2;
  }
  return qw_buf_puts(out, p);
}

int qw_numbers_new(const char *authorities, const char *aliases,
                   qw_numbers **out, char *err, size_t errlen)
{
  *out = NULL;
  if(!authorities)
    authorities = DEFAULT_AUTHORITIES;
  if(!aliases)
    aliases = DEFAULT_ALIASES;
  if(!*authorities) {
    set_err(err, errlen, "authorities: empty list");
    return -EINVAL;
  }
  qw_numbers *nx = calloc(1, sizeof(*nx));
  if(!nx)
    return -ENOMEM;
  int r = add_authorities(nx, authorities, 0, "authorities", err, errlen);
  if(r == 0)
    r = add_authorities(nx, aliases, 1, "authority aliases", err,
                        errlen);
  if(r == 0 && nx->n_auth == 0) {
    set_err(err, errlen, "authorities: no province abbreviation in list");
    r = -EINVAL;
  }
  if(r != 0) {
    free(nx);
    return r;
  }
  qsort(nx->auth, nx->n_auth, sizeof(nx->auth[0]), cmp_u32);
  qsort(nx->alias, nx->n_alias, sizeof(nx->alias[0]), cmp_u32);

  qw_buf src = QW_BUF_INIT;
  nx->jit = 1;
  for(int p = 0; p < P_COUNT && r == 0; p++) {
    r = expand_pattern(nx, pattern_src[p], &src);
    if(r != 0)
      break;
    int ec;
    PCRE2_SIZE eo;
    nx->re[p] = pcre2_compile((PCRE2_SPTR)src.data, src.len,
                              PCRE2_UTF | PCRE2_UCP | PCRE2_USE_OFFSET_LIMIT,
                              &ec, &eo, NULL);
    if(!nx->re[p]) {
      if(ec == PCRE2_ERROR_NOMEMORY) {
        r = -ENOMEM;
        break;
      }
      PCRE2_UCHAR msg[120];
      pcre2_get_error_message(ec, msg, sizeof(msg));
      set_err(err, errlen, "number pattern %d: %s at offset %zu", p,
              (const char *)msg, (size_t)eo);
      r = -EINVAL;
      break;
    }
    /* No JIT (not built in, or W^X policy) is not an error: pcre2_match
       falls back to the interpreter by itself. */
    if(pcre2_jit_compile(nx->re[p], PCRE2_JIT_COMPLETE) != 0)
      nx->jit = 0;
    for(int g = 0; g < G_COUNT; g++) {
      int n = pcre2_substring_number_from_name(nx->re[p],
                                               (PCRE2_SPTR)group_names[g]);
      nx->grp[p][g] = n > 0 ? n : 0;
    }
  }
  qw_buf_free(&src);
  if(r != 0) {
    qw_numbers_free(nx);
    return r;
  }
  *out = nx;
  return 0;
}

void qw_numbers_free(qw_numbers *nx)
{
  if(!nx)
    return;
  for(int p = 0; p < P_COUNT; p++)
    pcre2_code_free(nx->re[p]);
  free(nx);
}

qw_numbers_scratch *qw_numbers_scratch_new(const qw_numbers *nx)
{
  if(!nx)
    return NULL;
  qw_numbers_scratch *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  for(int p = 0; p < P_COUNT; p++) {
    s->md[p] = pcre2_match_data_create_from_pattern(nx->re[p], NULL);
    if(!s->md[p])
      goto fail;
  }
  s->mctx = pcre2_match_context_create(NULL);
  if(!s->mctx)
    goto fail;
  /* Windows are a few hundred bytes, so these limits are never reached by
     a real number; they only stop a pattern going wild. */
  pcre2_set_match_limit(s->mctx, 100000);
  pcre2_set_depth_limit(s->mctx, 5000);
  pcre2_set_heap_limit(s->mctx, 1024); /* KiB */
  if(nx->jit) {
    s->stack = pcre2_jit_stack_create(32 * 1024, 512 * 1024, NULL);
    if(!s->stack)
      goto fail;
    pcre2_jit_stack_assign(s->mctx, NULL, s->stack);
  }
  return s;
fail:
  qw_numbers_scratch_free(s);
  return NULL;
}

void qw_numbers_scratch_free(qw_numbers_scratch *s)
{
  if(!s)
    return;
  for(int p = 0; p < P_COUNT; p++)
    pcre2_match_data_free(s->md[p]);
  pcre2_match_context_free(s->mctx);
  pcre2_jit_stack_free(s->stack);
  free(s->found);
  free(s);
}

/* ===== Catalog codes (RULES-REFERENCE §1.2) ===== */

/* 2017 catalog: 01–22, plus 40 for IVD reagents. */
static int code_2017(int c)
{
  return (c >= 1 && c <= 22) || c == 40;
}

/* 2002 catalog (68xx), the 43 level-1 codes. */
static int code_2002(int c)
{
  static const unsigned char codes[] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 16, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 30, 31, 32, 33, 34, 40, 41, 45, 46, 54, 55, 56, 57, 58, 63,
    64, 65, 66, 70, 77,
  };
  for(size_t i = 0; i < sizeof(codes); i++)
    if(codes[i] == c)
      return 1;
  return 0;
}

/* ===== Scanning helpers ===== */

#define LIT(s) s, sizeof(s) - 1

static int at_lit(const char *t, size_t len, size_t i, const char *lit,
                  size_t n)
{
  return i <= len && len - i >= n && memcmp(t + i, lit, n) == 0;
}

static size_t skip_h(const char *t, size_t len, size_t i)
{
  while(i < len && (t[i] == ' ' || t[i] == '\t'))
    i++;
  return i;
}

static int is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static int is_alnum_sp(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == ' ' || c == '\t';
}

/* Which pattern may start a number at the 械 at t[p], or -1. The tests
 * after the literal throw out ordinary words (医疗器械注册证 …). */
static int classify(const char *t, size_t len, size_t p)
{
  size_t q = p + 3, r;
  if(at_lit(t, len, q, LIT("注"))) {
    r = skip_h(t, len, q + 3);
    if(!at_lit(t, len, r, LIT("准")) && !at_lit(t, len, r, LIT("进")) &&
       !at_lit(t, len, r, LIT("许")))
      return -1;
    r = skip_h(t, len, r + 3);
    return r < len && is_digit(t[r]) ? P_REG : -1;
  }
  if(at_lit(t, len, q, LIT("备"))) {
    r = skip_h(t, len, q + 3);
    return r < len && is_digit(t[r]) ? P_FILING : -1;
  }
  if(at_lit(t, len, q, LIT("经营")) || at_lit(t, len, q, LIT("生产"))) {
    r = q + 6;
    if(!at_lit(t, len, r, LIT("许")) && !at_lit(t, len, r, LIT("备")))
      return -1;
    r = skip_h(t, len, r + 3);
    return r < len && is_digit(t[r]) ? P_BIZ : -1;
  }
  if(at_lit(t, len, q, LIT("网备"))) {
    r = skip_h(t, len, q + 6);
    return r < len && is_digit(t[r]) ? P_ONLINE : -1;
  }
  if(at_lit(t, len, q, LIT("广审")))
    return P_AD;
  if(at_lit(t, len, q, LIT("平台备字")) || at_lit(t, len, q, LIT("信息备字")))
    return P_SITE;
  /* Legacy: 食药监械( / 药管械( … */
  if(p >= 3 && (at_lit(t, len, p - 3, LIT("监")) ||
                at_lit(t, len, p - 3, LIT("管")))) {
    r = skip_h(t, len, q);
    if(r < len && (t[r] == '(' || t[r] == '[' ||
                   at_lit(t, len, r, LIT("（")) ||
                   at_lit(t, len, r, LIT("【")) ||
                   at_lit(t, len, r, LIT("〔"))))
      return P_LEGACY;
  }
  return -1;
}

/* Start of the window: n characters before p, never across a '\n'. */
static size_t win_start(const char *t, size_t p, unsigned n)
{
  size_t s = p;
  for(unsigned k = 0; k < n && s > 0; k++) {
    if(t[s - 1] == '\n')
      break;
    size_t b = s - 1;
    unsigned steps = 0;
    while(b > 0 && ((unsigned char)t[b] & 0xC0) == 0x80 && steps < 3) {
      b--;
      steps++;
    }
    s = b;
  }
  return s;
}

/* End of the window: at least WINDOW_AHEAD bytes after p, moved to a
 * character boundary and then past any run of digits, letters and spaces,
 * so the (?![0-9]) tests never see a cut-off run. The last extension is
 * remembered: anchors close together share one digit run. */
static size_t win_end(qw_numbers_scratch *s, const char *t, size_t len,
                      size_t p)
{
  if(len - p <= WINDOW_AHEAD)
    return len;
  size_t e = p + WINDOW_AHEAD;
  if(e >= s->ext_from && e < s->ext_to)
    return s->ext_to;
  size_t from = e;
  while(e < len && ((unsigned char)t[e] & 0xC0) == 0x80)
    e++;
  while(e < len && is_alnum_sp(t[e]))
    e++;
  s->ext_from = from;
  s->ext_to = e;
  return e;
}

/* ===== Building a number ===== */

#define MAX_GROUPS 32

typedef struct {
  const char *t;        /* the scanned text */
  const PCRE2_SIZE *ov; /* text-relative offsets */
  const int *grp;
  int rc;
} match;

static int has(const match *m, int g, size_t *a, size_t *b)
{
  int n = m->grp[g];
  if(n == 0 || n >= m->rc || m->ov[2 * n] == PCRE2_UNSET)
    return 0;
  if(a)
    *a = m->ov[2 * n];
  if(b)
    *b = m->ov[2 * n + 1];
  return 1;
}

/* Decimal value of the digits in group g (spaces skipped), -1 if absent. */
static int group_int(const match *m, int g)
{
  size_t a, b;
  if(!has(m, g, &a, &b))
    return -1;
  int v = 0;
  for(size_t i = a; i < b && v < 100000000; i++)
    if(is_digit(m->t[i]))
      v = v * 10 + (m->t[i] - '0');
  return v;
}

static size_t count_digits(const match *m, int g)
{
  size_t a, b, n = 0;
  if(!has(m, g, &a, &b))
    return 0;
  for(size_t i = a; i < b; i++)
    n += is_digit(m->t[i]);
  return n;
}

/* Copies group g (at most cap-1 bytes, whole characters) into dst. */
static void group_copy(const match *m, int g, char *dst, size_t cap)
{
  size_t a, b;
  dst[0] = '\0';
  if(!has(m, g, &a, &b))
    return;
  size_t n = b - a;
  if(n >= cap)
    n = qw_utf8_floor(m->t + a, b - a, cap - 1);
  memcpy(dst, m->t + a, n);
  dst[n] = '\0';
}

/* The code point of group g's first character, 0 if absent. */
static uint32_t group_cp(const match *m, int g)
{
  size_t a, b;
  if(!has(m, g, &a, &b) || a == b)
    return 0;
  size_t i = a;
  return qw_utf8_next(m->t, b, &i);
}

static size_t group_chars(const match *m, int g)
{
  size_t a, b, n = 0;
  if(!has(m, g, &a, &b))
    return 0;
  for(size_t i = a; i < b; i++)
    n += ((unsigned char)m->t[i] & 0xC0) != 0x80;
  return n;
}

/* text = t[a..b) without spaces, whole characters, at most 95 bytes. */
static void copy_text(char *dst, size_t cap, const char *t, size_t a,
                      size_t b)
{
  size_t o = 0;
  size_t i = a;
  while(i < b) {
    unsigned char c = (unsigned char)t[i];
    if(c == ' ' || c == '\t') {
      i++;
      continue;
    }
    size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if(n > b - i)
      n = b - i;
    if(o + n >= cap)
      break;
    memcpy(dst + o, t + i, n);
    o += n;
    i += n;
  }
  dst[o] = '\0';
}

/* Raises the validity to v with reason r; the first reason of the highest
 * level is kept. */
static void flag(qw_number *num, qw_num_validity v, const char *r)
{
  if(v <= num->validity)
    return;
  num->validity = v;
  size_t n = strlen(r);
  if(n >= sizeof(num->reason))
    n = qw_utf8_floor(r, n, sizeof(num->reason) - 1);
  memcpy(num->reason, r, n);
  num->reason[n] = '\0';
}

static int in_sorted(const uint32_t *v, size_t n, uint32_t cp)
{
  size_t lo = 0, hi = n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(v[mid] == cp)
      return 1;
    if(v[mid] < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* A province-level authority, by its abbreviation or an alias. */
static int is_province(const qw_numbers *nx, uint32_t cp)
{
  return in_sorted(nx->auth, nx->n_auth, cp);
}

#define CP_GUO 0x56FD /* 国 */

static void flag_unknown_authority(qw_number *num)
{
  char r[160];
  snprintf(r, sizeof(r), "未知的发证机关“%s” (unknown authority)",
           num->authority);
  flag(num, QW_NUMV_INVALID, r);
}

static void validate_registration(const qw_numbers *nx, const match *m,
                                  qw_number *num, int cy)
{
  uint32_t auth = group_cp(m, G_AUTH);
  int province = is_province(nx, auth);
  int national = auth == CP_GUO;
  if(has(m, G_LOOSE, NULL, NULL)) {
    char r[160];
    size_t nd = count_digits(m, G_LOOSE);
    num->kind = QW_NUM_REGISTRATION_LOOSE;
    if(nd == 11)
      snprintf(r, sizeof(r), "编号数字中有多余空格 (spaces inside the "
               "number)");
    else
      snprintf(r, sizeof(r), "位数不对：应为11位，实为%zu位 (wrong digit "
               "count: %zu, expected 11)", nd, nd);
    flag(num, QW_NUMV_INVALID, r);
    return;
  }
  num->year = group_int(m, G_YEAR);
  num->device_class = group_int(m, G_CLASS);
  group_copy(m, G_CAT, num->category, sizeof(num->category));
  int cat = group_int(m, G_CAT);
  if(!province && !national)
    flag_unknown_authority(num);
  if(num->device_class == 1)
    flag(num, QW_NUMV_INVALID,
         "第一类医疗器械实行备案，不发注册证 (Class I is filed, not "
         "registered)");
  else if(num->device_class != 2 && num->device_class != 3)
    flag(num, QW_NUMV_INVALID,
         "管理类别应为2或3 (class digit must be 2 or 3)");
  if(province && strcmp(num->form, "准") != 0)
    flag(num, QW_NUMV_INVALID,
         "进口及港澳台产品只能由国家局注册 (imported devices are "
         "registered nationally)");
  if(province && num->device_class == 3)
    flag(num, QW_NUMV_INVALID,
         "省级部门不能批准第三类 (province cannot approve Class III)");
  if(num->year > cy)
    flag(num, QW_NUMV_INVALID,
         "首次注册年份在未来 (registration year in the future)");
  if(num->year < 2014)
    flag(num, QW_NUMV_INVALID,
         "现行编号格式始于2014年 (current format began in 2014)");
  if(!code_2017(cat) && !code_2002(cat))
    flag(num, QW_NUMV_INVALID, "未知的分类编码 (unknown category code)");
  if(national && strcmp(num->form, "准") == 0 && num->device_class == 2)
    flag(num, QW_NUMV_SUSPICIOUS,
         "境内第二类应由省级部门注册 (domestic Class II is registered by "
         "a province)");
  if(num->year >= 2019 && !code_2017(cat))
    flag(num, QW_NUMV_SUSPICIOUS,
         "2019年后注册仍用2002版分类编码 (2002-catalog code after 2019)");
}

static void validate_legacy(const match *m, qw_number *num)
{
  int malformed = has(m, G_LOOSE, NULL, NULL) || has(m, G_EXTRA, NULL, NULL);
  if(!has(m, G_LOOSE, NULL, NULL)) {
    int y = group_int(m, G_YEAR);
    if(y >= 0 && y < 100)
      y += y >= 50 ? 1900 : 2000;
    num->year = y;
    num->device_class = group_int(m, G_CLASS);
    group_copy(m, G_CAT, num->category, sizeof(num->category));
  }
  flag(num, QW_NUMV_INVALID, malformed ?
       "旧版注册证格式，已于2018年前全部失效 (legacy format: expired by "
       "2018)；编号也不完整 (malformed)" :
       "旧版注册证格式，已于2018年前全部失效 (legacy format: expired by "
       "2018)");
}

static void validate_filing(const match *m, qw_number *num, int cy)
{
  num->device_class = 1;
  if(has(m, G_LOOSE, NULL, NULL)) {
    char r[160];
    size_t nd = count_digits(m, G_LOOSE);
    snprintf(r, sizeof(r), "备案编号位数不对：应为8位，实为%zu位 (wrong "
             "digit count: %zu, expected 8)", nd, nd);
    flag(num, QW_NUMV_INVALID, r);
    return;
  }
  num->year = group_int(m, G_YEAR);
  if(group_cp(m, G_AUTH) == CP_GUO && group_chars(m, G_CITY) > 0)
    flag(num, QW_NUMV_INVALID,
         "进口第一类备案编号只含“国”字 (import filings carry no city)");
  if(num->year > cy)
    flag(num, QW_NUMV_INVALID, "备案年份在未来 (filing year in the future)");
  if(num->year < 2014)
    flag(num, QW_NUMV_INVALID,
         "第一类备案始于2014年 (Class I filing began in 2014)");
}

static void validate_biz(const match *m, qw_number *num, int cy)
{
  size_t a, b;
  int prod = has(m, G_BIZ, &a, &b) && at_lit(m->t, b, a, LIT("生产"));
  int filing = has(m, G_LF, &a, &b) && at_lit(m->t, b, a, LIT("备"));
  int city = group_chars(m, G_CITY) > 0;
  if(prod)
    num->kind = filing ? QW_NUM_PROD_FILING : QW_NUM_PROD_LICENCE;
  else
    num->kind = filing ? QW_NUM_BIZ_FILING : QW_NUM_BIZ_LICENCE;
  if(has(m, G_LOOSE, NULL, NULL)) {
    flag(num, QW_NUMV_INVALID,
         "许可/备案编号位数不对：应为年份4位加流水号4位 (wrong length: "
         "expected 4-digit year and 4-character serial)");
    return;
  }
  num->year = group_int(m, G_YEAR);
  if(num->year > cy)
    flag(num, QW_NUMV_INVALID, "年份在未来 (year in the future)");
  if(num->year < 1990)
    flag(num, QW_NUMV_INVALID, "年份不合理 (implausible year)");
  if(filing && num->year < 2014)
    flag(num, QW_NUMV_SUSPICIOUS,
         "经营/生产备案始于2014年 (these filings began in 2014)");
  if(prod && !filing && city)
    flag(num, QW_NUMV_SUSPICIOUS,
         "生产许可证编号一般不含市级简称 (production licence with a city "
         "part is unusual)");
  if(!prod && !city)
    flag(num, QW_NUMV_SUSPICIOUS,
         "经营许可/备案编号一般含市级简称 (business number without a city "
         "part is unusual)");
}

static void validate_site(const qw_numbers *nx, const match *m,
                          qw_number *num, qw_num_kind kind, int cy)
{
  num->kind = kind;
  num->year = group_int(m, G_YEAR);
  if(!is_province(nx, group_cp(m, G_AUTH)))
    flag_unknown_authority(num);
  if(num->year > cy)
    flag(num, QW_NUMV_INVALID, "年份在未来 (year in the future)");
  if(num->year < 2000)
    flag(num, QW_NUMV_INVALID, "年份不合理 (implausible year)");
  if(kind == QW_NUM_PLATFORM && num->year < 2018)
    flag(num, QW_NUMV_SUSPICIOUS,
         "第三方平台备案始于2018年 (platform filings began in 2018)");
}

static void validate_ad(const qw_numbers *nx, const match *m, qw_number *num,
                        int cy)
{
  if(!is_province(nx, group_cp(m, G_AUTH)))
    flag_unknown_authority(num);
  if(!has(m, G_OLD, NULL, NULL))
    return;
  /* Old form: YYYYMM + 4-digit serial, valid one year, replaced by the
     current form from 2020-03 (令第21号). */
  size_t a, b;
  has(m, G_OLD, &a, &b);
  int y = 0, mo = 0;
  for(size_t i = a; i < a + 4; i++)
    y = y * 10 + (m->t[i] - '0');
  for(size_t i = a + 4; i < a + 6; i++)
    mo = mo * 10 + (m->t[i] - '0');
  num->year = y;
  if(mo < 1 || mo > 12)
    flag(num, QW_NUMV_INVALID, "批准文号中的月份无效 (invalid month)");
  if(y > cy)
    flag(num, QW_NUMV_INVALID, "年份在未来 (year in the future)");
  if(y > 2020 || (y == 2020 && mo > 2))
    flag(num, QW_NUMV_INVALID,
         "旧格式广告批准文号2020年3月起停用 (old format retired in 2020)");
  if(y + 1 < cy)
    flag(num, QW_NUMV_INVALID,
         "旧格式广告批准文号有效期一年，已过期 (old-format ad approval: "
         "expired)");
}

static void validate_online(const match *m, qw_number *num, int cy)
{
  size_t a, b;
  if(has(m, G_DIGITS, &a, &b) && b - a >= 8) {
    int y = 0;
    for(size_t i = a; i < a + 4; i++)
      y = y * 10 + (m->t[i] - '0');
    if(y >= 2014 && y <= 2099)
      num->year = y;
  }
  if(num->year > cy)
    flag(num, QW_NUMV_INVALID, "年份在未来 (year in the future)");
}

/* Registry cross-check hook (later issue): once a local registry is
 * loaded, a well-formed registration, legacy or filing number is looked up
 * here and an unknown, cancelled or expired one becomes invalid with the
 * registry's reason. Structural validation alone does nothing more. */
static void registry_check(const qw_numbers *nx, qw_number *num)
{
  (void)nx;
  (void)num;
}

static int push(qw_numbers_scratch *s, const qw_number *num)
{
  if(s->n_found == s->cap_found) {
    size_t nc = s->cap_found ? s->cap_found * 2 : 16;
    qw_number *f = realloc(s->found, nc * sizeof(*f));
    if(!f)
      return -ENOMEM;
    s->found = f;
    s->cap_found = nc;
  }
  s->found[s->n_found++] = *num;
  return 0;
}

/* Turns a match of pattern p on the window at base into a number. */
static int record(const qw_numbers *nx, qw_numbers_scratch *s, int p,
                  const char *text, size_t base, int rc, int cy,
                  size_t *end_out)
{
  /* Offsets are made text-relative, so the helpers index the text. */
  PCRE2_SIZE ov[2 * MAX_GROUPS];
  const PCRE2_SIZE *mov = pcre2_get_ovector_pointer(s->md[p]);
  uint32_t n_ov = pcre2_get_ovector_count(s->md[p]);
  if(n_ov > MAX_GROUPS)
    n_ov = MAX_GROUPS;
  for(uint32_t i = 0; i < 2 * n_ov; i++)
    ov[i] = mov[i] == PCRE2_UNSET ? PCRE2_UNSET : mov[i] + base;
  match m;
  m.t = text;
  m.ov = ov;
  m.grp = nx->grp[p];
  m.rc = rc > (int)n_ov ? (int)n_ov : rc;

  qw_number num;
  memset(&num, 0, sizeof(num));
  size_t start = ov[0], end = ov[1];

  /* "北京京朝械备…": the leftmost start took the 京 of 北京 as the
     authority and 京朝 as the city; drop the doubled character. */
  size_t a0, a1, c0, c1;
  if((p == P_FILING || p == P_BIZ || p == P_ONLINE) &&
     has(&m, G_AUTH, &a0, &a1) && has(&m, G_CITY, &c0, &c1) &&
     a0 == start && a1 - a0 == 3 && c1 - c0 == 6 &&
     memcmp(text + a0, text + c0, 3) == 0) {
    start = c0;
    ov[2 * nx->grp[p][G_AUTH]] = c0;
    ov[2 * nx->grp[p][G_AUTH] + 1] = c0 + 3;
    ov[2 * nx->grp[p][G_CITY]] = c0 + 3;
  }

  num.start = start;
  num.end = end;
  num.validity = QW_NUMV_OK;
  copy_text(num.text, sizeof(num.text), text, start, end);
  group_copy(&m, G_AUTH, num.authority, sizeof(num.authority));

  switch(p) {
  case P_REG:
    num.kind = QW_NUM_REGISTRATION;
    group_copy(&m, G_FORM, num.form, sizeof(num.form));
    validate_registration(nx, &m, &num, cy);
    break;
  case P_LEGACY:
    num.kind = QW_NUM_LEGACY;
    group_copy(&m, G_FORM, num.form, sizeof(num.form));
    validate_legacy(&m, &num);
    break;
  case P_FILING:
    num.kind = QW_NUM_FILING;
    validate_filing(&m, &num, cy);
    break;
  case P_BIZ:
    validate_biz(&m, &num, cy);
    break;
  case P_SITE: {
    size_t a, b;
    int plat = has(&m, G_WHAT, &a, &b) && at_lit(text, b, a,
                                                 LIT("网械平台备字"));
    validate_site(nx, &m, &num, plat ? QW_NUM_PLATFORM : QW_NUM_INFO_FILING,
                  cy);
    break;
  }
  case P_CERT:
    validate_site(nx, &m, &num, QW_NUM_INFO_CERT, cy);
    break;
  case P_AD:
    num.kind = QW_NUM_AD_APPROVAL;
    validate_ad(nx, &m, &num, cy);
    break;
  case P_ONLINE:
    num.kind = QW_NUM_ONLINE_FILING;
    validate_online(&m, &num, cy);
    break;
  default:
    return 0;
  }
  /* Aliases are accepted but have not been seen in real numbers. */
  if(in_sorted(nx->alias, nx->n_alias, group_cp(&m, G_AUTH))) {
    char r[160];
    snprintf(r, sizeof(r), "发证机关用了别称“%s” (authority written with an "
             "alias)", num.authority);
    flag(&num, QW_NUMV_SUSPICIOUS, r);
  }
  registry_check(nx, &num);
  *end_out = end;
  return push(s, &num);
}

/* Runs pattern p for the anchor at text[anchor]. Returns 0 (with *end set
 * past the number when one was found, else left alone) or -ENOMEM. */
static int try_at(const qw_numbers *nx, qw_numbers_scratch *s, int p,
                  const char *text, size_t len, size_t anchor, int cy,
                  size_t *end)
{
  size_t ws = win_start(text, anchor, back_chars[p]);
  size_t we = win_end(s, text, len, anchor);
  pcre2_set_offset_limit(s->mctx, anchor - ws);
  /* PCRE2 checks the UTF-8 of each window (cheap for a few windows, and
     it keeps bad input from being undefined behaviour). Once the windows
     add up to half the text, the whole text is validated once instead and
     the per-window check switched off, so dense text stays linear. */
  if(s->utf == UTF_UNKNOWN) {
    s->checked += we - ws;
    if(s->checked > len / 2)
      s->utf = qw_utf8_valid(text, len) ? UTF_VALID : UTF_INVALID;
  }
  uint32_t opts = s->utf == UTF_VALID ? PCRE2_NO_UTF_CHECK : 0;
  int rc = pcre2_match(nx->re[p], (PCRE2_SPTR)(text + ws), we - ws, 0, opts,
                       s->md[p], s->mctx);
  if(rc <= 0)
    return 0; /* no match, a limit, or invalid UTF-8: no number here */
  return record(nx, s, p, text, ws, rc, cy, end);
}

/* ===== Overlaps and output ===== */

/* Specificity: on overlap the higher one is kept. */
static int rank(qw_num_kind k)
{
  switch(k) {
  case QW_NUM_REGISTRATION_LOOSE:
    return 1;
  case QW_NUM_FILING:
  case QW_NUM_ONLINE_FILING:
  case QW_NUM_INFO_CERT:
    return 2;
  default:
    return 3;
  }
}

static int cmp_start(const void *a, const void *b)
{
  const qw_number *x = a, *y = b;
  if(x->start != y->start)
    return x->start < y->start ? -1 : 1;
  if(x->end != y->end)
    return x->end > y->end ? -1 : 1;
  return (int)x->kind - (int)y->kind;
}

static size_t resolve_overlaps(qw_number *v, size_t n)
{
  if(n < 2)
    return n;
  /* Usually in order already (the 经营性 pass is the exception). */
  for(size_t i = 1; i < n; i++) {
    if(cmp_start(&v[i - 1], &v[i]) > 0) {
      qsort(v, n, sizeof(*v), cmp_start);
      break;
    }
  }
  size_t k = 0;
  for(size_t i = 1; i < n; i++) {
    qw_number *last = &v[k];
    if(v[i].start >= last->end) {
      v[++k] = v[i];
      continue;
    }
    int ri = rank(v[i].kind), rl = rank(last->kind);
    if(ri > rl ||
       (ri == rl && v[i].end - v[i].start > last->end - last->start))
      *last = v[i];
  }
  return k + 1;
}

static int this_year(void)
{
  time_t now = time(NULL);
  struct tm tmv;
  if(!gmtime_r(&now, &tmv))
    return 2026;
  return tmv.tm_year + 1900;
}

int qw_numbers_extract(const qw_numbers *nx, qw_numbers_scratch *s,
                       const char *text, size_t len, int current_year,
                       qw_number **out, size_t *n)
{
  if(!nx || !s || !out || !n)
    return -EINVAL;
  if(!text || len < 3)
    return 0;
  int cy = current_year > 0 ? current_year : this_year();
  s->n_found = 0;
  s->ext_from = s->ext_to = 0;
  s->checked = 0;
  s->utf = UTF_UNKNOWN;
  int r = 0;

  /* Pass 1: every 械. */
  size_t pos = 0;
  while(pos < len) {
    const char *hit = memmem(text + pos, len - pos, "械", 3);
    if(!hit)
      break;
    size_t p = (size_t)(hit - text);
    size_t next = p + 3;
    int pat = classify(text, len, p);
    if(pat >= 0) {
      size_t end = 0;
      r = try_at(nx, s, pat, text, len, p, cy, &end);
      if(r != 0)
        return r;
      if(end > next)
        next = end;
    }
    pos = next;
  }

  /* Pass 2: 经营性 (information-service certificates). */
  pos = 0;
  s->ext_from = s->ext_to = 0;
  while(pos < len) {
    const char *hit = memmem(text + pos, len - pos, "经营性", 9);
    if(!hit)
      break;
    size_t p = (size_t)(hit - text);
    size_t next = p + 9;
    size_t end = 0;
    r = try_at(nx, s, P_CERT, text, len, p, cy, &end);
    if(r != 0)
      return r;
    if(end > next)
      next = end;
    pos = next;
  }

  size_t k = resolve_overlaps(s->found, s->n_found);
  if(k == 0)
    return 0;
  if(*n > SIZE_MAX / sizeof(qw_number) - k)
    return -ENOMEM;
  qw_number *o = realloc(*out, (*n + k) * sizeof(qw_number));
  if(!o)
    return -ENOMEM;
  memcpy(o + *n, s->found, k * sizeof(qw_number));
  *out = o;
  *n += k;
  return 0;
}
