/* test_rules.c — the rule-pack loader: a valid pack field by field, every
 * class of error with file:line, list-file syntax, normalisation of terms,
 * notes, reference counting. Broken packs are written into temp dirs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "matcher.h"
#include "normalize.h"
#include "qw_test.h"
#include "rules.h"

#define ALL_FIELDS ((1u << QW_FIELD_COUNT) - 1u)

static qw_ruleset *load_ok(const char *dir)
{
  qw_ruleset *rs = NULL;
  qw_diag d;
  memset(&d, 0, sizeof(d));
  int r = qw_ruleset_load(dir, &rs, &d);
  ck_assert_msg(r == 0, "load %s: %d, first error: %s", dir, r,
                d.n_errors ? d.errors[0] : "(none)");
  ck_assert_uint_eq(d.n_errors, 0);
  qw_diag_free(&d);
  ck_assert_ptr_nonnull(rs);
  return rs;
}

static const qw_device *find_device(const qw_ruleset *rs, const char *id)
{
  for(size_t i = 0; i < rs->n_devices; i++)
    if(strcmp(rs->devices[i].id, id) == 0)
      return &rs->devices[i];
  return NULL;
}

static int ends_with(const char *s, const char *tail)
{
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

/* Hits of set in text (normalised first); returns the count, fills
 * entries[] with the entry texts. */
static size_t set_hits(const qw_ruleset *rs, qw_set_id set, const char *text,
                       const char **entries, size_t max)
{
  qw_norm nm;
  memset(&nm, 0, sizeof(nm));
  ck_assert_int_eq(qw_normalize(text, strlen(text), &nm), 0);
  qw_match_scratch *s = qw_match_scratch_new(rs->matcher);
  ck_assert_ptr_nonnull(s);
  qw_hit *h = NULL;
  size_t n = 0, k = 0;
  int r = qw_matcher_scan(rs->matcher, s, nm.text, nm.len, NULL, &h, &n);
  ck_assert_int_eq(r, 0);
  for(size_t i = 0; i < n; i++) {
    if(h[i].set != set)
      continue;
    if(k < max)
      entries[k] = qw_matcher_entry_text(rs->matcher, set, h[i].entry);
    k++;
  }
  free(h);
  qw_match_scratch_free(s);
  qw_norm_free(&nm);
  return k;
}

START_TEST(valid_pack)
{
  qw_ruleset *rs = load_ok(qw_test_fixture("packs/valid"));
  ck_assert_str_eq(rs->name, "test-pack");
  ck_assert_str_eq(rs->version, "3.1");
  ck_assert_int_eq(rs->current_year, 2026);
  ck_assert_ptr_nonnull(rs->matcher);
  ck_assert_ptr_nonnull(rs->numbers);
  ck_assert_int_eq(rs->refs, 1);
  ck_assert(ends_with(rs->dir, "packs/valid"));

  ck_assert_uint_eq(rs->n_devices, 2);
  const qw_device *lens = find_device(rs, "lens");
  const qw_device *filler = find_device(rs, "filler");
  ck_assert_ptr_nonnull(lens);
  ck_assert_ptr_nonnull(filler);
  ck_assert_str_eq(lens->name, "角膜接触镜（隐形眼镜）");
  ck_assert_int_eq(lens->device_class, 3);
  ck_assert_str_eq(lens->code, "16-06-01");
  ck_assert_int_eq(lens->risk, QW_RISK_NORMAL);
  ck_assert_uint_eq(lens->fields,
                    QW_FIELDMASK(QW_FIELD_TITLE) |
                    QW_FIELDMASK(QW_FIELD_HEADING) |
                    QW_FIELDMASK(QW_FIELD_PARAMS) |
                    QW_FIELDMASK(QW_FIELD_JSONLD));
  ck_assert(ends_with(lens->file, "10-devices.ini"));
  ck_assert_int_eq(lens->line, 3);
  ck_assert_str_eq(filler->code, "");
  ck_assert_int_eq(filler->risk, QW_RISK_INJECTABLE);
  ck_assert_uint_eq(filler->fields, QW_FIELDMASK(QW_FIELD_TITLE) |
                                    QW_FIELDMASK(QW_FIELD_PARAMS));
  ck_assert_uint_ne(lens->set, QW_SET_NONE);
  ck_assert_uint_ne(filler->set, lens->set);
  ck_assert_str_eq(qw_matcher_set_name(rs->matcher, lens->set),
                   "device:lens");

  ck_assert_uint_eq(rs->n_rules, 4);
  const qw_rule *cure = qw_ruleset_find(rs, "claim.cure");
  ck_assert_ptr_nonnull(cure);
  ck_assert_int_eq(cure->kind, QW_RULE_FORBID);
  ck_assert_int_eq(cure->category, QW_CAT_FALSE_CLAIM);
  ck_assert_int_eq(cure->severity, QW_SEV_HIGH);
  ck_assert_int_eq(cure->severity_class[0], QW_SEV_HIGH);
  ck_assert_int_eq(cure->severity_class[1], QW_SEV_HIGH);
  ck_assert_int_eq(cure->severity_class[2], QW_SEV_HIGH);
  ck_assert_int_eq(cure->severity_class[3], QW_SEV_CRITICAL);
  ck_assert_int_eq(cure->applies, QW_APPLIES_DEVICE);
  ck_assert_uint_eq(cure->scope, QW_SCOPEMASK(QW_PAGE_PRODUCT) |
                                 QW_SCOPEMASK(QW_PAGE_STOREFRONT));
  ck_assert_uint_eq(cure->n_devices, 2);
  ck_assert_uint_eq(cure->fields, QW_FIELDMASK(QW_FIELD_TITLE) |
                                  QW_FIELDMASK(QW_FIELD_BODY));
  ck_assert_uint_eq(cure->negation, 6);
  ck_assert_uint_ne(cure->set, QW_SET_NONE);
  ck_assert_uint_eq(cure->trigger, QW_SET_NONE);
  ck_assert_uint_eq(cure->n_numbers, 0);
  ck_assert_uint_eq(cure->n_unless_numbers, 1);
  ck_assert_int_eq(cure->unless_numbers[0].kind, QW_NUM_REGISTRATION);
  ck_assert_int_eq(cure->unless_numbers[0].device_class, 3);
  ck_assert_str_eq(cure->message, "宣称治愈、根治或保证疗效");
  ck_assert_str_eq(cure->basis, "《广告法》第十六条第一款第（一）项");
  ck_assert_int_eq(cure->enabled, 1);
  ck_assert(ends_with(cure->file, "20-rules.ini"));
  ck_assert_int_eq(cure->line, 3);

  const qw_rule *miss = qw_ruleset_find(rs, "registration.missing");
  ck_assert_ptr_nonnull(miss);
  ck_assert_int_eq(miss->kind, QW_RULE_REQUIRE);
  ck_assert_int_eq(miss->severity_class[2], QW_SEV_CRITICAL);
  ck_assert_int_eq(miss->severity_class[3], QW_SEV_HIGH);
  ck_assert_int_eq(miss->applies, QW_APPLIES_DEVICE);
  ck_assert_uint_eq(miss->scope, QW_SCOPEMASK(QW_PAGE_PRODUCT));
  ck_assert_uint_eq(miss->fields,
                    QW_FIELDMASK(QW_FIELD_TITLE) |
                    QW_FIELDMASK(QW_FIELD_HEADING) |
                    QW_FIELDMASK(QW_FIELD_BODY) |
                    QW_FIELDMASK(QW_FIELD_PARAMS) |
                    QW_FIELDMASK(QW_FIELD_JSONLD));
  ck_assert_uint_eq(miss->n_devices, 0);
  ck_assert_ptr_null(miss->devices);
  ck_assert_uint_eq(miss->set, QW_SET_NONE);
  ck_assert_uint_ne(miss->trigger, QW_SET_NONE);
  ck_assert_uint_eq(miss->negation, 0);
  ck_assert_uint_eq(miss->n_numbers, 2);
  ck_assert_int_eq(miss->numbers[0].kind, QW_NUM_REGISTRATION);
  ck_assert_int_eq(miss->numbers[0].device_class, 0);
  ck_assert_int_eq(miss->numbers[1].kind, QW_NUM_FILING);
  ck_assert_int_eq(miss->numbers[1].device_class, 1);

  const qw_rule *inv = qw_ruleset_find(rs, "registration.invalid");
  ck_assert_ptr_nonnull(inv);
  ck_assert_int_eq(inv->kind, QW_RULE_EXTRACT);
  ck_assert_int_eq(inv->enabled, 0);
  ck_assert_int_eq(inv->applies, QW_APPLIES_ANY);
  ck_assert_uint_eq(inv->scope, QW_SCOPE_ANY);
  ck_assert_uint_eq(inv->fields, ALL_FIELDS);
  ck_assert_uint_eq(inv->set, QW_SET_NONE);

  const qw_rule *warn = qw_ruleset_find(rs, "warning.lens");
  ck_assert_ptr_nonnull(warn);
  ck_assert_uint_eq(warn->n_devices, 1);
  ck_assert_str_eq(rs->devices[warn->devices[0]].id, "lens");
  ck_assert_ptr_null(qw_ruleset_find(rs, "claim.nonexistent"));
  ck_assert_ptr_null(qw_ruleset_find(rs, "ignored"));

  /* the anchor-less rule is noted with its file:line */
  int noted = 0;
  for(size_t i = 0; i < rs->n_notes; i++)
    if(strstr(rs->notes[i], "20-rules.ini:41: rule warning.lens has no "
                            "literal anchor"))
      noted = 1;
  ck_assert_msg(noted, "no anchor note among %zu notes", rs->n_notes);
  for(size_t i = 0; i < rs->n_notes; i++)
    ck_assert_msg(!strstr(rs->notes[i], "claim.cure"), "note: %s",
                  rs->notes[i]);
  qw_ruleset_unref(rs);
}
END_TEST

START_TEST(terms_and_lists)
{
  qw_ruleset *rs = load_ok(qw_test_fixture("packs/valid"));
  const qw_device *lens = find_device(rs, "lens");
  const qw_device *filler = find_device(rs, "filler");
  const qw_rule *cure = qw_ruleset_find(rs, "claim.cure");
  const qw_rule *miss = qw_ruleset_find(rs, "registration.missing");
  ck_assert_ptr_nonnull(lens);
  ck_assert_ptr_nonnull(filler);
  ck_assert_ptr_nonnull(cure);
  ck_assert_ptr_nonnull(miss);
  /* traditional terms are stored normalised */
  ck_assert_str_eq(qw_matcher_entry_text(rs->matcher, lens->set, 0),
                   "隐形眼镜");
  ck_assert_str_eq(qw_matcher_entry_text(rs->matcher, lens->set, 2),
                   "(?:日|月|年)抛");
  ck_assert_str_eq(qw_matcher_entry_text(rs->matcher, lens->set, 3),
                   "#1号色");
  ck_assert_ptr_null(qw_matcher_entry_text(rs->matcher, lens->set, 4));
  ck_assert_str_eq(qw_matcher_entry_text(rs->matcher, cure->set, 2),
                   "药到病除");
  const char *e[8];
  /* traditional text, a regex entry, an escaped '#', an exception */
  ck_assert_uint_eq(set_hits(rs, lens->set, "隱形眼鏡 日抛 #1号色 美瞳线", e,
                             8), 3);
  ck_assert_str_eq(e[0], "隐形眼镜");
  ck_assert_str_eq(e[1], "(?:日|月|年)抛");
  ck_assert_str_eq(e[2], "#1号色");
  ck_assert_uint_eq(set_hits(rs, lens->set, "新款美瞳", e, 8), 1);
  /* BOM and CRLF in a list file; exceptions file; inline pattern */
  ck_assert_uint_eq(set_hits(rs, filler->set, "玻尿酸填充", e, 8), 1);
  ck_assert_str_eq(e[0], "玻尿酸\\S{0,4}填充");
  ck_assert_uint_eq(set_hits(rs, filler->set, "透明质酸钠 玻尿酸", e, 8), 2);
  ck_assert_uint_eq(set_hits(rs, filler->set, "玻尿酸润滑液 玻尿酸面膜", e,
                             8), 0);
  /* the rule's negation window and exceptions */
  ck_assert_uint_eq(set_hits(rs, cure->set, "本品不能根治，治愈系包装", e, 8),
                    0);
  ck_assert_uint_eq(set_hits(rs, cure->set, "根治鼻炎，藥到病除", e, 8), 2);
  /* the trigger set holds the list and the inline pattern */
  ck_assert_uint_eq(set_hits(rs, miss->trigger, "立即购买 包邮", e, 8), 2);
  qw_ruleset_unref(rs);
}
END_TEST

START_TEST(refcount)
{
  qw_ruleset *rs = load_ok(qw_test_fixture("packs/valid"));
  ck_assert_ptr_eq(qw_ruleset_ref(rs), rs);
  ck_assert_int_eq(rs->refs, 2);
  qw_ruleset_unref(rs);
  ck_assert_int_eq(rs->refs, 1);
  ck_assert_str_eq(rs->name, "test-pack");
  qw_ruleset_unref(rs);
  qw_ruleset_unref(NULL);
  ck_assert_ptr_null(qw_ruleset_ref(NULL));
}
END_TEST

START_TEST(names)
{
  static const char *const cats[] = {
    "registration_missing", "registration_invalid", "registration_unverified",
    "warning_missing", "false_claim", "non_device_claim", "high_risk_retail",
    "prohibited_product", "licence_missing", "contact_missing",
    "platform_filing_missing", "scope_mismatch",
  };
  ck_assert_uint_eq(sizeof(cats) / sizeof(cats[0]), QW_CAT_COUNT);
  for(int i = 0; i < QW_CAT_COUNT; i++) {
    ck_assert_str_eq(qw_category_name((qw_category)i), cats[i]);
    ck_assert_int_eq(qw_category_from_name(cats[i]), i);
  }
  ck_assert_int_lt(qw_category_from_name("false claim"), 0);
  ck_assert_int_lt(qw_category_from_name(NULL), 0);
  static const char *const sev[] = {"low", "medium", "high", "critical"};
  for(int i = 0; i < 4; i++) {
    ck_assert_str_eq(qw_severity_name((qw_severity)i), sev[i]);
    ck_assert_int_eq(qw_severity_from_name(sev[i]), i);
  }
  ck_assert_int_lt(qw_severity_from_name("High"), 0);
  ck_assert_str_eq(qw_rule_kind_name(QW_RULE_FORBID), "forbid");
  ck_assert_str_eq(qw_rule_kind_name(QW_RULE_REQUIRE), "require");
  ck_assert_str_eq(qw_rule_kind_name(QW_RULE_EXTRACT), "extract");
}
END_TEST

/* ---- broken packs ----------------------------------------------------- */

typedef struct {
  const char *name;
  const char *text;
} pfile;

static char *make_pack(const pfile *files, size_t n)
{
  char tmpl[] = "/tmp/qw-rules-XXXXXX";
  char *dir = mkdtemp(tmpl);
  ck_assert_ptr_nonnull(dir);
  dir = strdup(dir);
  ck_assert_ptr_nonnull(dir);
  char path[512];
  snprintf(path, sizeof(path), "%s/lists", dir);
  ck_assert_int_eq(mkdir(path, 0700), 0);
  for(size_t i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(files[i].text, f);
    fclose(f);
  }
  return dir;
}

static void remove_pack(char *dir, const pfile *files, size_t n)
{
  char path[512];
  for(size_t i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
    unlink(path);
  }
  snprintf(path, sizeof(path), "%s/lists", dir);
  rmdir(path);
  rmdir(dir);
  free(dir);
}

/* Loads the pack and checks it fails with each expected "FILE:LINE: text"
 * (FILE relative to the pack dir). */
static void expect_errors(const pfile *files, size_t n, const char *const *want,
                          size_t n_want)
{
  char *dir = make_pack(files, n);
  qw_ruleset *rs = (qw_ruleset *)(uintptr_t)1;
  qw_diag d;
  memset(&d, 0, sizeof(d));
  int r = qw_ruleset_load(dir, &rs, &d);
  ck_assert_int_eq(r, -EINVAL);
  ck_assert_ptr_null(rs);
  for(size_t w = 0; w < n_want; w++) {
    char full[600];
    snprintf(full, sizeof(full), "%s/%s", dir, want[w]);
    int found = 0;
    for(size_t i = 0; i < d.n_errors && !found; i++)
      found = strncmp(d.errors[i], full, strlen(full)) == 0;
    if(!found) {
      for(size_t i = 0; i < d.n_errors; i++)
        fprintf(stderr, "  got: %s\n", d.errors[i]);
      ck_abort_msg("expected error \"%s\" not among %zu", want[w],
                   d.n_errors);
    }
  }
  qw_diag_free(&d);
  remove_pack(dir, files, n);
}

#define RULE_HEAD(id) "[rule " id "]\nkind = forbid\ncategory = false_claim\n" \
  "severity = high\nmessage = m\nbasis = b\n"

#define EXPECT(files, ...) do { \
    static const char *const w_[] = {__VA_ARGS__}; \
    expect_errors(files, sizeof(files) / sizeof(files[0]), w_, \
                  sizeof(w_) / sizeof(w_[0])); \
  } while(0)

START_TEST(err_sections)
{
  static const pfile a[] = {
    {"a.ini", "[pack]\nname = x\n\n[rules claim]\nkind = forbid\n"},
  };
  EXPECT(a, "a.ini:4: [rules claim]: unknown section type");
  static const pfile b[] = {
    {"a.ini", "name = x\n[pack]\nversion = 1\n"},
  };
  EXPECT(b, "a.ini:1: name: key outside any section");
  static const pfile c[] = {
    {"a.ini", RULE_HEAD("r1") "pattern = x\n"},
    {"b.ini", "# again\n" RULE_HEAD("r1") "pattern = y\n"},
  };
  EXPECT(c, "b.ini:2: [rule r1]: duplicate id (first at ");
  static const pfile d[] = {
    {"a.ini", "[rule bad id!]\nkind = forbid\n"},
  };
  EXPECT(d, "a.ini:1: [rule bad id!]: the id must be");
  static const pfile e[] = {
    {"a.ini", "[pack]\nname = a\n[device]\nname = x\n"},
  };
  EXPECT(e, "a.ini:3: [device]: the id must be");
  static const pfile f[] = {
    {"a.ini", "[pack]\nname = a\nthis line has no equals sign\n"},
  };
  EXPECT(f, "a.ini:3: ");
  static const pfile g[] = {
    {"a.ini", "[pack]\nname = a\n"},
    {"b.ini", "[pack]\nversion = 2\n"},
  };
  EXPECT(g, "b.ini:1: [pack]: given twice");
  static const pfile h[] = {
    {"a.ini", RULE_HEAD("r1") "pattern = x\n\n" RULE_HEAD("r1")
              "pattern = y\n"},
  };
  EXPECT(h, "a.ini:9: [rule r1]: duplicate id (first at ");
  /* a continued value that looks like a header is not a header */
  static const pfile i[] = {
    {"a.ini", "\xEF\xBB\xBF[pack]\nname = x\n" RULE_HEAD("r1")
              "pattern = \\\n[ab]c\ncolour = red\n"},
  };
  EXPECT(i, "a.ini:11: [rule r1] colour: unknown key");
}
END_TEST

START_TEST(err_keys)
{
  static const pfile a[] = {
    {"a.ini", RULE_HEAD("r1") "pattern = x\ncolour = red\n"},
  };
  EXPECT(a, "a.ini:8: [rule r1] colour: unknown key");
  static const pfile b[] = {
    {"a.ini", "\n[rule r1]\nkind = forbid\ncategory = false_claim\n"
              "pattern = x\n"},
  };
  EXPECT(b, "a.ini:2: [rule r1] severity: required",
         "a.ini:2: [rule r1] message: required",
         "a.ini:2: [rule r1] basis: required");
  static const pfile c[] = {
    {"a.ini", RULE_HEAD("r1") "pattern = x\nseverity = urgent\n"},
  };
  EXPECT(c, "a.ini:8: [rule r1] severity: given twice (first on line 4)");
  static const pfile d[] = {
    {"a.ini", "[rule r1]\nkind = forbid\ncategory = false_claim\n"
              "severity = urgent\nmessage = m\nbasis = b\npattern = x\n"
              "applies = devices\nenabled = maybe\nnegation = 500\n"
              "scope = product, shop\nfields = title, footer\n"
              "severity_class3 = extreme\n"},
  };
  EXPECT(d, "a.ini:4: [rule r1] severity: \"urgent\"",
         "a.ini:8: [rule r1] applies: \"devices\"",
         "a.ini:9: [rule r1] enabled: \"maybe\"",
         "a.ini:10: [rule r1] negation: \"500\"",
         "a.ini:11: [rule r1] scope: unknown page type \"shop\"",
         "a.ini:12: [rule r1] fields: unknown field \"footer\"",
         "a.ini:13: [rule r1] severity_class3: \"extreme\"");
  static const pfile e[] = {
    {"a.ini", "[rule r1]\nkind = ban\ncategory = fake_claim\nseverity = low\n"
              "message = m\nbasis = b\n"},
  };
  EXPECT(e, "a.ini:2: [rule r1] kind: \"ban\"",
         "a.ini:3: [rule r1] category: unknown category \"fake_claim\"");
}
END_TEST

START_TEST(err_references)
{
  static const pfile a[] = {
    {"a.ini", "[device lens]\nname = 隐形眼镜\nclass = 3\n"
              "list = lists/lens.txt\n\n"
              RULE_HEAD("r1") "pattern = x\ndevices = lens, nose\n"},
    {"lists/lens.txt", "隐形眼镜\n"},
  };
  EXPECT(a, "a.ini:13: [rule r1] devices: unknown device \"nose\"");
  static const pfile b[] = {
    {"a.ini", "[rule r1]\nkind = require\ncategory = registration_missing\n"
              "severity = high\nmessage = m\nbasis = b\n"
              "numbers = registration, serial:2, filing:4\n"},
  };
  EXPECT(b, "a.ini:7: [rule r1] numbers: unknown number kind \"serial\"",
         "a.ini:7: [rule r1] numbers: bad class in \"filing:4\"");
  static const pfile c[] = {
    {"a.ini", RULE_HEAD("r1") "unless_numbers = registration:x\n"
              "list = lists/none.txt\n"},
  };
  EXPECT(c, "a.ini:7: [rule r1] unless_numbers: bad class",
         "a.ini:8: [rule r1] list: lists/none.txt: ");
  static const pfile d[] = {
    {"a.ini", RULE_HEAD("r1") "list = ../outside.txt\nlist = /etc/hosts\n"
              "list = lists/../../x.txt\n"},
  };
  EXPECT(d, "a.ini:7: [rule r1] list: \"../outside.txt\": list paths",
         "a.ini:8: [rule r1] list: \"/etc/hosts\": list paths",
         "a.ini:9: [rule r1] list: \"lists/../../x.txt\": list paths");
}
END_TEST

START_TEST(err_sets)
{
  static const pfile a[] = {
    {"a.ini", RULE_HEAD("r1") "message2 = x\n"},
  };
  EXPECT(a, "a.ini:1: [rule r1] a forbid rule needs a list or pattern");
  static const pfile b[] = {
    {"a.ini", "[rule r2]\nkind = require\ncategory = warning_missing\n"
              "severity = medium\nmessage = m\nbasis = b\n"
              "trigger = 零售\n"},
  };
  EXPECT(b, "a.ini:1: [rule r2] a require rule needs a list, pattern or "
            "numbers");
  static const pfile c[] = {
    {"a.ini", "[rule r3]\nkind = extract\ncategory = registration_invalid\n"
              "severity = medium\nmessage = m\nbasis = b\npattern = x\n"},
  };
  EXPECT(c, "a.ini:1: [rule r3] an extract rule needs numbers",
         "a.ini:1: [rule r3] an extract rule takes numbers, not lists");
  static const pfile d[] = {
    {"a.ini", "[device d1]\nname = x\nclass = 4\nrisk = deadly\n\n"
              "[device d2]\nclass = 2\nexceptions = lists/e.txt\n"},
    {"lists/e.txt", "x\n"},
  };
  EXPECT(d, "a.ini:3: [device d1] class: \"4\"",
         "a.ini:4: [device d1] risk: \"deadly\"",
         "a.ini:1: [device d1] needs at least one list or pattern",
         "a.ini:6: [device d2] name: required",
         "a.ini:6: [device d2] has exceptions but no list or pattern");
  static const pfile e[] = {
    {"a.ini", RULE_HEAD("r1") "pattern = x\ntrigger = y\n"},
  };
  EXPECT(e, "a.ini:1: [rule r1] trigger/trigger_list: only for require");
}
END_TEST

START_TEST(err_entries)
{
  static const pfile a[] = {
    {"a.ini", RULE_HEAD("r1") "list = lists/l.txt\npattern = (unclosed\n"},
    {"lists/l.txt", "# comment\n根治\nre:治愈[\n!re:\n\xE2\x80\x8B\n"
                    "  \n!\n"},
  };
  EXPECT(a, "a.ini:8: [rule r1] pattern: offset 9: ",
         "lists/l.txt:3: pattern: offset ",
         "lists/l.txt:4: pattern: empty",
         "lists/l.txt:5: term \"\xE2\x80\x8B\" is empty after normalisation",
         "lists/l.txt:7: empty entry");
}
END_TEST

START_TEST(err_pack_values)
{
  static const pfile a[] = {
    {"a.ini", "[pack]\nname = p\ncurrent_year = 26\nlanguage = zh\n"},
  };
  EXPECT(a, "a.ini:3: [pack] current_year: \"26\"",
         "a.ini:4: [pack] language: unknown key");
  static const pfile b[] = {
    {"a.ini", "[pack]\nname = p\nauthorities = 京,沪\n"},
  };
  EXPECT(b, "a.ini:3: [pack] authorities: ");
}
END_TEST

START_TEST(errors_collected)
{
  /* several files, several problems: all of them are reported */
  static const pfile a[] = {
    {"10-a.ini", RULE_HEAD("r1") "colour = red\n"},
    {"20-b.ini", "[device x]\nname = y\nclass = 9\nlist = lists/x.txt\n"},
    {"lists/x.txt", "re:(\n"},
  };
  EXPECT(a, "10-a.ini:7: [rule r1] colour: unknown key",
         "10-a.ini:1: [rule r1] a forbid rule needs a list or pattern",
         "20-b.ini:3: [device x] class: \"9\"",
         "lists/x.txt:1: pattern: offset 1: ");
}
END_TEST

START_TEST(dir_problems)
{
  qw_ruleset *rs = NULL;
  qw_diag d;
  memset(&d, 0, sizeof(d));
  ck_assert_int_eq(qw_ruleset_load("/nonexistent/qw-pack", &rs, &d),
                   -ENOENT);
  ck_assert_uint_eq(d.n_errors, 1);
  ck_assert_ptr_nonnull(strstr(d.errors[0], "/nonexistent/qw-pack: "));
  qw_diag_free(&d);
  ck_assert_ptr_null(rs);
  static const pfile none[] = {{"lists/a.txt", "x\n"}};
  char *dir = make_pack(none, 1);
  ck_assert_int_eq(qw_ruleset_load(dir, &rs, &d), -EINVAL);
  ck_assert_uint_eq(d.n_errors, 1);
  ck_assert_ptr_nonnull(strstr(d.errors[0], "no *.ini files"));
  qw_diag_free(&d);
  remove_pack(dir, none, 1);
  /* a minimal pack: defaults everywhere, name from the directory */
  static const pfile min[] = {
    {"pack.ini", "[device d]\nname = 口罩\nclass = 2\npattern = 口罩\n"},
  };
  dir = make_pack(min, 1);
  ck_assert_int_eq(qw_ruleset_load(dir, &rs, NULL), 0);
  ck_assert_str_eq(rs->name, strrchr(dir, '/') + 1);
  ck_assert_str_eq(rs->version, "");
  ck_assert_int_eq(rs->current_year, 0);
  ck_assert_uint_eq(rs->n_rules, 0);
  ck_assert_int_eq(rs->devices[0].risk, QW_RISK_NORMAL);
  qw_ruleset_unref(rs);
  remove_pack(dir, min, 1);
}
END_TEST

START_TEST(default_pack_loads)
{
  qw_ruleset *rs = load_ok(qw_test_pack_dir());
  ck_assert_uint_gt(rs->n_rules, 0);
  ck_assert_uint_gt(rs->n_devices, 0);
  for(size_t i = 0; i < rs->n_rules; i++) {
    const qw_rule *r = &rs->rules[i];
    ck_assert_ptr_eq(qw_ruleset_find(rs, r->id), r);
    ck_assert(r->kind == QW_RULE_EXTRACT || r->set != QW_SET_NONE ||
              r->n_numbers > 0);
  }
  qw_ruleset_unref(rs);
}
END_TEST

static Suite *rules_suite(void)
{
  Suite *s = suite_create("rules");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, valid_pack);
  tcase_add_test(tc, terms_and_lists);
  tcase_add_test(tc, refcount);
  tcase_add_test(tc, names);
  tcase_add_test(tc, err_sections);
  tcase_add_test(tc, err_keys);
  tcase_add_test(tc, err_references);
  tcase_add_test(tc, err_sets);
  tcase_add_test(tc, err_entries);
  tcase_add_test(tc, err_pack_values);
  tcase_add_test(tc, errors_collected);
  tcase_add_test(tc, dir_problems);
  tcase_add_test(tc, default_pack_loads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(rules_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
