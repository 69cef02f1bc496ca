/* numbers.h — registration, filing, licence and site numbers on a page:
 * extraction with PCRE2 (named groups) and structural validation.
 *
 * Works on normalised text (see normalize.h): full-width digits and brackets
 * are already ASCII, traditional characters simplified. Formats and rules
 * are those of ../shared/domain/RULES-REFERENCE.md §1–§3 as written up in
 * docs/rules.md. The authority abbreviations come from the rule pack, not
 * from code. */
#ifndef QW_NUMBERS_H
#define QW_NUMBERS_H

#include <stddef.h>

typedef enum {
  QW_NUM_REGISTRATION = 0, /* ×械注准/进/许 + 11 digits (Class II/III) */
  QW_NUM_REGISTRATION_LOOSE, /* 械注 with a malformed tail: present but
                                 cannot be genuine */
  QW_NUM_LEGACY,           /* 食药监械(准)字…, 药管械(准)字…: expired */
  QW_NUM_FILING,           /* Class I 备案: ×械备YYYYNNNN号 */
  QW_NUM_BIZ_LICENCE,      /* 医疗器械经营许可证 …械经营许… */
  QW_NUM_BIZ_FILING,       /* 第二类经营备案 …械经营备… */
  QW_NUM_PROD_LICENCE,     /* 生产许可证 …械生产许… */
  QW_NUM_PROD_FILING,      /* 第一类生产备案 …械生产备… */
  QW_NUM_PLATFORM,         /* (京)网械平台备字(2018)第00005号 */
  QW_NUM_INFO_FILING,      /* (京)网药械信息备字(2021)第00159号 */
  QW_NUM_INFO_CERT,        /* (沪)-经营性-2018-0011 */
  QW_NUM_AD_APPROVAL,      /* 粤械广审(文)第280917-05538号 */
  QW_NUM_ONLINE_FILING,    /* 粤深械网备202005070014 (by context) */
  QW_NUM_KIND_COUNT
} qw_num_kind;

typedef enum {
  QW_NUMV_OK = 0,
  QW_NUMV_SUSPICIOUS, /* well-formed but unusual (e.g. 国械注准 class 2,
                         2002-catalog code after 2019) */
  QW_NUMV_INVALID,    /* cannot be genuine: reason says why */
} qw_num_validity;

typedef struct {
  qw_num_kind kind;
  qw_num_validity validity;
  char reason[160];   /* empty when OK; otherwise a short Chinese+English
                         reason, e.g. "省级部门不能批准第三类 (province
                         cannot approve Class III)" */
  size_t start, end;  /* byte range in the text that was scanned */
  char text[96];      /* the number as matched, spaces removed */
  char authority[8];  /* 国, 粤, … (UTF-8), "" when not applicable */
  char form[4];       /* 准/进/许 for registrations, else "" */
  int year;           /* 0 when absent */
  int device_class;   /* 1, 2, 3; 0 unknown */
  char category[4];   /* two-digit category code, "" when absent */
} qw_number;

typedef struct qw_numbers qw_numbers;

/* Compiles the extractors. authorities: the accepted province-level
 * abbreviations as one UTF-8 string of Han characters (e.g. "京津冀…兵"),
 * NULL for the built-in default list; aliases likewise (e.g. "蜀秦陇").
 * Returns 0 and *out (free with qw_numbers_free), or -EINVAL with err set,
 * or -ENOMEM. Thread-safe to use from several threads once built (each
 * thread passes its own qw_numbers_scratch). */
int qw_numbers_new(const char *authorities, const char *aliases,
                   qw_numbers **out, char *err, size_t errlen);
void qw_numbers_free(qw_numbers *nx);

typedef struct qw_numbers_scratch qw_numbers_scratch;
qw_numbers_scratch *qw_numbers_scratch_new(const qw_numbers *nx);
void qw_numbers_scratch_free(qw_numbers_scratch *s);

/* Finds every number in text[0..len) (valid UTF-8), validates each one
 * against current_year (e.g. 2026), and appends them to *out and *n (a
 * malloc'd array grown with realloc; the caller frees it). Overlapping
 * matches of different kinds are resolved in favour of the most specific
 * kind. Returns 0 or -ENOMEM. */
int qw_numbers_extract(const qw_numbers *nx, qw_numbers_scratch *s,
                       const char *text, size_t len, int current_year,
                       qw_number **out, size_t *n);

/* "registration", "registration_loose", "legacy", "filing", "biz_licence",
 * "biz_filing", "prod_licence", "prod_filing", "platform", "info_filing",
 * "info_cert", "ad_approval", "online_filing". */
const char *qw_num_kind_name(qw_num_kind k);
int qw_num_kind_from_name(const char *name, size_t len);
const char *qw_num_validity_name(qw_num_validity v);

#endif
