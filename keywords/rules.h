/* rules.h — the rule pack: device categories, rules and keyword lists loaded
 * from a directory of INI files that regulators edit without recompiling.
 *
 * A pack is a directory with *.ini files (read in name order) and the list
 * files they reference (paths relative to the pack directory). The format is
 * documented in docs/rules.md; in short:
 *
 *   [pack]                 name, version, authorities, authority_aliases,
 *                          current_year (0/absent = this year)
 *   [device ID]            a focus device category: name, class (1/2/3),
 *                          code, risk (normal|implant|injectable), list,
 *                          pattern, fields (where detection looks)
 *   [rule ID]              kind = forbid | require | extract, category,
 *                          severity, severity_class2, severity_class3,
 *                          applies (device|non_device|any), scope (product,
 *                          storefront, platform, other, any; comma list),
 *                          devices (device ids or *), fields, list,
 *                          pattern, exceptions, negation (chars),
 *                          trigger_list/trigger (require: only when one of
 *                          these is present), numbers (require: one valid
 *                          number of these kinds satisfies it; extract: the
 *                          kinds to report when invalid), unless_numbers
 *                          (forbid: no finding when the page shows a valid
 *                          number of these kinds, optionally kind:class),
 *                          message, basis, enabled
 *
 * Keys "list", "pattern", "exceptions", "trigger", "trigger_list" may repeat;
 * their values accumulate. Every error names file:line and the key.
 *
 * Keyword list files: one entry a line, UTF-8; '#' starts a comment line;
 * blank lines ignored; "re:PATTERN" is a PCRE2 pattern (UTF+UCP, matched on
 * normalised text); "!TERM" or "!re:PATTERN" is an exception (a hit
 * overlapping an exception match is dropped); anything else is a literal
 * term ("\" escapes a leading '#', '!', "re:" or '\'). Terms are normalised
 * with the matcher's normaliser when loaded, so 隱形眼鏡 and 隐形眼镜 are the
 * same term.
 *
 * A loaded pack (qw_ruleset) is immutable and reference-counted: a reload
 * builds a new one and swaps it in; pages in flight keep their own ref. */
#ifndef QW_RULES_H
#define QW_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "numbers.h"
#include "page.h"

typedef enum {
  QW_RULE_FORBID = 0,
  QW_RULE_REQUIRE,
  QW_RULE_EXTRACT,
} qw_rule_kind;

typedef enum {
  QW_SEV_LOW = 0,
  QW_SEV_MEDIUM,
  QW_SEV_HIGH,
  QW_SEV_CRITICAL,
} qw_severity;

/* The fixed finding vocabulary of domain/RULES.md. */
typedef enum {
  QW_CAT_REGISTRATION_MISSING = 0,
  QW_CAT_REGISTRATION_INVALID,
  QW_CAT_REGISTRATION_UNVERIFIED,
  QW_CAT_WARNING_MISSING,
  QW_CAT_FALSE_CLAIM,
  QW_CAT_NON_DEVICE_CLAIM,
  QW_CAT_HIGH_RISK_RETAIL,
  QW_CAT_PROHIBITED_PRODUCT,
  QW_CAT_LICENCE_MISSING,
  QW_CAT_CONTACT_MISSING,
  QW_CAT_PLATFORM_FILING_MISSING,
  QW_CAT_SCOPE_MISMATCH,
  QW_CAT_COUNT
} qw_category;

typedef enum {
  QW_APPLIES_DEVICE = 0, /* only on medical-device listings */
  QW_APPLIES_NON_DEVICE, /* only on pages that are not device listings */
  QW_APPLIES_ANY,
} qw_applies;

typedef enum {
  QW_RISK_NORMAL = 0,
  QW_RISK_IMPLANT,
  QW_RISK_INJECTABLE,
} qw_risk;

/* Bit masks. */
#define QW_FIELDMASK(f) (1u << (f))
#define QW_SCOPEMASK(t) (1u << (t)) /* t is a qw_page_type */
#define QW_SCOPE_ANY 0xffu

/* A set of patterns compiled into the matcher (one per list/pattern group
 * of a rule or device). Matching a set yields its hits; see matcher.h. */
typedef uint32_t qw_set_id;
#define QW_SET_NONE UINT32_MAX

typedef struct {
  char *id;               /* "lens" */
  char *name;             /* "角膜接触镜（隐形眼镜/美瞳）" */
  int device_class;       /* 1, 2, 3 */
  char *code;             /* "16-06-01", may be "" */
  qw_risk risk;
  uint32_t fields;        /* QW_FIELDMASK bits where detection looks */
  qw_set_id set;          /* terms naming the category */
  char *file; int line;   /* where it was defined */
} qw_device;

typedef struct {
  qw_num_kind kind;
  int device_class;       /* 0 = any class */
} qw_num_req;

typedef struct {
  char *id;               /* "claim.cure" */
  qw_rule_kind kind;
  qw_category category;
  qw_severity severity;
  qw_severity severity_class[4]; /* by device class 0..3; defaults to
                                    severity */
  qw_applies applies;
  uint32_t scope;         /* QW_SCOPEMASK bits; QW_SCOPE_ANY */
  uint32_t *devices;      /* indexes into qw_ruleset.devices; NULL and
                             n_devices 0 = any (or not device-bound) */
  size_t n_devices;
  uint32_t fields;        /* QW_FIELDMASK bits */
  qw_set_id set;          /* forbid: patterns that violate; require: the
                             required patterns; QW_SET_NONE if none */
  qw_set_id trigger;      /* require: trigger patterns, or QW_SET_NONE */
  unsigned negation;      /* negation window in characters (0 = off) */
  qw_num_req *numbers;    /* require: kinds that satisfy; extract: kinds
                             reported */
  size_t n_numbers;
  qw_num_req *unless_numbers;
  size_t n_unless_numbers;
  char *message;          /* Chinese text for the regulator */
  char *basis;            /* legal basis: document and article */
  int enabled;
  char *file; int line;
} qw_rule;

typedef struct qw_matcher qw_matcher; /* matcher.h */

typedef struct qw_ruleset {
  char *dir;
  char *name, *version;
  int current_year;       /* for number validation; 0 = this year */
  qw_device *devices; size_t n_devices;
  qw_rule *rules; size_t n_rules;
  qw_matcher *matcher;    /* all sets compiled */
  qw_numbers *numbers;    /* extractors built from the pack's authorities */
  /* diagnostics that are warnings, not errors (e.g. a rule with no literal
     anchor for the prefilter), one "file:line: text" string each */
  char **notes; size_t n_notes;
  int refs;               /* atomic */
} qw_ruleset;

/* Loaded-pack diagnostics: one "file:line: key: why" string per problem. */
typedef struct {
  char **errors; size_t n_errors;
} qw_diag;

void qw_diag_free(qw_diag *d);

/* Loads and compiles the pack in dir. Returns 0 and *out with one reference,
 * or a negative errno with every problem found listed in diag (the load goes
 * on after the first error to report as many as it can). */
int qw_ruleset_load(const char *dir, qw_ruleset **out, qw_diag *diag);

qw_ruleset *qw_ruleset_ref(qw_ruleset *rs);
void qw_ruleset_unref(qw_ruleset *rs); /* frees at zero; NULL accepted */

const qw_rule *qw_ruleset_find(const qw_ruleset *rs, const char *id);

const char *qw_category_name(qw_category c);   /* "false_claim" … */
int qw_category_from_name(const char *name);
const char *qw_severity_name(qw_severity s);   /* "low" … "critical" */
int qw_severity_from_name(const char *name);
const char *qw_rule_kind_name(qw_rule_kind k);

#endif
