/* analyze.h — applies a rule pack to one page: decides the page type and
 * whether it is a medical-device listing, extracts and validates numbers,
 * evaluates forbid / require / extract rules and returns findings that quote
 * the original text.
 *
 * The whole path for a document on disk or off the wire is
 * qw_analyze_document(): charset decode → page model → normalise each field
 * → match → rule logic. Each stage's time is recorded for the benchmark. */
#ifndef QW_ANALYZE_H
#define QW_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "charset.h"
#include "numbers.h"
#include "page.h"
#include "rules.h"

typedef struct {
  const qw_rule *rule;     /* owned by the ruleset (keep a ref) */
  qw_category category;
  qw_severity severity;    /* after class-based adjustment */
  qw_field field;          /* where it was found; for "missing" findings the
                              field is QW_FIELD_BODY and match is "" */
  size_t start, end;       /* byte offsets in the original field text */
  char *match;             /* original text of the hit (malloc'd) */
  char *context;           /* up to 30 characters either side, original
                              text, block-bounded (malloc'd) */
  char *detail;            /* extra reason (number validation, the device
                              that triggered a require rule), or NULL */
} qw_finding;

typedef struct {
  qw_number num;           /* start/end are byte offsets in the ORIGINAL
                              text of field */
  qw_field field;          /* where it was first found (fields are searched
                              in the order params, jsonld, title, heading,
                              body) */
  uint32_t fields;         /* QW_FIELDMASK bits of every field showing it */
} qw_page_number;

typedef struct {
  uint32_t device;         /* index into ruleset->devices */
  qw_field field;
  char *term;              /* the original text that named it */
} qw_device_hit;

typedef struct {
  qw_page_type page_type;
  const char *page_type_source; /* "forced", "page", "detected" */
  int is_device;           /* a medical-device listing */
  int device_class;        /* highest class among detected devices (or
                              implied by numbers), 0 unknown */
  qw_device_hit *devices; size_t n_devices;
  qw_page_number *numbers; size_t n_numbers;
  qw_finding *findings; size_t n_findings;
  int match_limited;       /* a PCRE2 limit was hit: results partial */
} qw_analysis;

typedef struct qw_analyzer qw_analyzer; /* per-thread scratch */

/* Creates per-thread scratch for rs (keeps no reference: the caller keeps
 * rs alive while using it). NULL when out of memory. */
qw_analyzer *qw_analyzer_new(const qw_ruleset *rs);
/* PCRE2 limits for this analyzer's matching (qw_match_scratch_limits). */
void qw_analyzer_limits(qw_analyzer *a, unsigned long match_limit,
                        unsigned long heap_kib);
void qw_analyzer_free(qw_analyzer *a);

/* Forced page type (e.g. from a site profile); QW_PAGE_UNKNOWN = decide. */
typedef struct {
  qw_page_type page_type;
  unsigned context_chars;  /* characters of context each side of a match;
                              0 = 30 */
} qw_analyze_opts;

/* Analyses a parsed page. Returns 0 and fills *out (free with
 * qw_analysis_free), or -ENOMEM. */
int qw_analyze_page(const qw_ruleset *rs, qw_analyzer *a, const qw_page *p,
                    const qw_analyze_opts *opts, qw_analysis *out);

void qw_analysis_free(qw_analysis *an);

/* Nanoseconds spent per stage by qw_analyze_document (accumulated). */
typedef struct {
  uint64_t decode_ns, parse_ns, normalize_ns, match_ns, rules_ns;
  uint64_t bytes_in, bytes_text;
} qw_stage_times;

typedef struct {
  const char *url;          /* or NULL */
  const char *user_charset; /* --charset, or NULL */
  const char *transport_charset; /* from Content-Type, or NULL */
  qw_page_options page;
  qw_analyze_opts analyze;
} qw_document_opts;

/* Decodes, parses and analyses one document. On success returns 0; *page
 * (free with qw_page_free) and *out are filled, and *cs tells how the
 * charset was chosen. With rs NULL (a may be NULL too) the document is
 * decoded and parsed only, and *out is left empty. Errors: -EFBIG (over the page size cap), -ENOMEM,
 * -EINVAL; err gets a short reason. times may be NULL. */
int qw_analyze_document(const qw_ruleset *rs, qw_analyzer *a,
                        const char *bytes, size_t len,
                        const qw_document_opts *opts, qw_page **page,
                        qw_charset_info *cs, qw_analysis *out,
                        qw_stage_times *times, char *err, size_t errlen);

#endif
