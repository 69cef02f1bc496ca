/* test_pack.c — the default rule pack (keywords/pack) against the fixture
 * pages of tests/fixtures/pages.
 *
 * Each fixture FILE (any extension) has a sidecar STEM.expect saying what
 * the analysis of that page must give:
 *
 *   # comment
 *   charset = GBK|gb18030      detected charset name (alternatives with |)
 *   page_type = platform       force the page type (as a site profile does)
 *   expect_type = storefront   the page type the analysis must settle on
 *   device = lens              a device id that must be detected ("none":
 *                              the page must not be a device listing)
 *   expect = CATEGORY [RULE|-] [TEXT]
 *                              a finding of CATEGORY (and rule RULE) whose
 *                              quoted match contains TEXT (rest of line)
 *   reject = CATEGORY|RULE [TEXT]
 *                              no such finding (with TEXT in its match)
 *   exact = yes                every finding's category is one of the
 *                              expect lines' categories
 *
 * One test per fixture (a loop test over the sorted list), plus: the pack
 * loads with no error and no slow-path note, every rule is expected by at
 * least one fixture, and every category of the vocabulary is produced by at
 * least one fixture (registration_unverified excepted: it needs the
 * registry). */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "analyze.h"
#include "buf.h"
#include "qw_test.h"

#define MAX_FIXTURES 512
#define MAX_LINES 128
#define MSG_CAP 6000

static char *fixtures[MAX_FIXTURES]; /* file names in tests/fixtures/pages */
static size_t n_fixtures;

static qw_ruleset *rs;
static int load_rc;
static qw_diag load_diag;

/* ---- fixture list ------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suf)
{
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

/* "name.ext" → "name" (malloc'd); "name" stays "name". */
static char *stem_of(const char *file)
{
  const char *dot = strrchr(file, '.');
  size_t n = dot && dot != file ? (size_t)(dot - file) : strlen(file);
  char *s = malloc(n + 1);
  if(s) {
    memcpy(s, file, n);
    s[n] = '\0';
  }
  return s;
}

static char *pages_path(const char *file)
{
  char rel[1024];
  snprintf(rel, sizeof(rel), "tests/fixtures/pages/%s", file);
  return qw_test_source_path(rel);
}

static char *expect_path(const char *file)
{
  char *stem = stem_of(file);
  char rel[1024];
  snprintf(rel, sizeof(rel), "tests/fixtures/pages/%s.expect",
           stem ? stem : "");
  free(stem);
  return qw_test_source_path(rel);
}

static int is_file(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Lists every file of tests/fixtures/pages that has a STEM.expect. Runs in
 * main(), before the suite exists. Returns 0 or -1. */
static int list_fixtures(void)
{
  const char *src = getenv("QW_SOURCE_DIR");
  if(!src) {
    fprintf(stderr, "QW_SOURCE_DIR is not set (run through meson test)\n");
    return -1;
  }
  char dir[4096];
  snprintf(dir, sizeof(dir), "%s/tests/fixtures/pages", src);
  DIR *d = opendir(dir);
  if(!d) {
    fprintf(stderr, "cannot open %s: %s\n", dir, strerror(errno));
    return -1;
  }
  struct dirent *e;
  while((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if(n[0] == '.' || ends_with(n, ".expect") || ends_with(n, ".py"))
      continue;
    char *stem = stem_of(n);
    char path[4096 + 512];
    snprintf(path, sizeof(path), "%s/%s.expect", dir, stem ? stem : "");
    char full[4096 + 512];
    snprintf(full, sizeof(full), "%s/%s", dir, n);
    free(stem);
    if(!is_file(path) || !is_file(full))
      continue;
    if(n_fixtures == MAX_FIXTURES) {
      fprintf(stderr, "more than %d fixtures\n", MAX_FIXTURES);
      closedir(d);
      return -1;
    }
    fixtures[n_fixtures] = strdup(n);
    if(!fixtures[n_fixtures]) {
      closedir(d);
      return -1;
    }
    n_fixtures++;
  }
  closedir(d);
  qsort(fixtures, n_fixtures, sizeof(fixtures[0]), cmp_str);
  return 0;
}

static void free_fixtures(void)
{
  for(size_t i = 0; i < n_fixtures; i++)
    free(fixtures[i]);
  n_fixtures = 0;
}

/* ---- the pack, loaded once per test case (before the forks) ------------ */

static void load_pack(void)
{
  memset(&load_diag, 0, sizeof(load_diag));
  rs = NULL;
  load_rc = qw_ruleset_load(qw_test_pack_dir(), &rs, &load_diag);
}

static void unload_pack(void)
{
  qw_ruleset_unref(rs);
  rs = NULL;
  qw_diag_free(&load_diag);
}

static const char *device_id(uint32_t i)
{
  return rs && i < rs->n_devices ? rs->devices[i].id : "?";
}

/* ---- expectation files -------------------------------------------------- */

typedef enum {
  EX_CHARSET, EX_PAGE_TYPE, EX_EXPECT_TYPE, EX_DEVICE, EX_EXPECT, EX_REJECT,
  EX_EXACT,
} ex_kind;

typedef struct {
  ex_kind kind;
  int line;
  char *value;   /* whole value, trimmed */
  char *a, *b;   /* first and second token (may be NULL) */
  char *text;    /* the rest after the tokens, or NULL */
  char *copy;    /* malloc'd copy of value that a, b and text point into */
} ex_line;

typedef struct {
  ex_line lines[MAX_LINES];
  size_t n;
  char *buf;
} expectations;

static char *trim(char *s)
{
  while(*s && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while(n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

/* Splits off the next space-separated token of *p (NULL at the end). */
static char *token(char **p)
{
  char *s = *p;
  while(*s == ' ' || *s == '\t')
    s++;
  if(!*s) {
    *p = s;
    return NULL;
  }
  char *e = s;
  while(*e && *e != ' ' && *e != '\t')
    e++;
  if(*e)
    *e++ = '\0';
  *p = e;
  return s;
}

static void parse_expect(const char *fixture, expectations *ex)
{
  memset(ex, 0, sizeof(*ex));
  char *path = expect_path(fixture);
  size_t len = 0;
  ex->buf = qw_test_read(path, &len);
  free(path);
  char *p = ex->buf, *end = ex->buf + len;
  int line = 0;
  while(p < end) {
    line++;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if(nl)
      *nl = '\0';
    char *l = trim(p);
    p = nl ? nl + 1 : end;
    if(!*l || *l == '#')
      continue;
    char *eq = strchr(l, '=');
    ck_assert_msg(eq != NULL, "%s.expect line %d: no '=' in \"%s\"",
                  fixture, line, l);
    if(!eq)
      continue;
    *eq = '\0';
    char *key = trim(l), *val = trim(eq + 1);
    ck_assert_msg(ex->n < MAX_LINES, "%s.expect: too many lines", fixture);
    ex_line *x = &ex->lines[ex->n];
    memset(x, 0, sizeof(*x));
    x->line = line;
    x->value = val;
    if(strcmp(key, "charset") == 0)
      x->kind = EX_CHARSET;
    else if(strcmp(key, "page_type") == 0)
      x->kind = EX_PAGE_TYPE;
    else if(strcmp(key, "expect_type") == 0)
      x->kind = EX_EXPECT_TYPE;
    else if(strcmp(key, "device") == 0)
      x->kind = EX_DEVICE;
    else if(strcmp(key, "expect") == 0 || strcmp(key, "reject") == 0) {
      x->kind = strcmp(key, "expect") == 0 ? EX_EXPECT : EX_REJECT;
      /* The tokens are split from a copy: value stays whole for messages. */
      x->copy = strdup(val);
      ck_assert_ptr_nonnull(x->copy);
      char *q = x->copy;
      x->a = token(&q);
      if(x->kind == EX_EXPECT)
        x->b = token(&q);
      char *rest = q ? trim(q) : NULL;
      x->text = rest && *rest ? rest : NULL;
      if(x->b && strcmp(x->b, "-") == 0)
        x->b = NULL;
      ck_assert_msg(x->a != NULL, "%s.expect line %d: %s needs a value",
                    fixture, line, key);
    }
    else if(strcmp(key, "exact") == 0)
      x->kind = EX_EXACT;
    else
      ck_abort_msg("%s.expect line %d: unknown key \"%s\"", fixture, line,
                   key);
    ex->n++;
  }
}

static void free_expect(expectations *ex)
{
  for(size_t i = 0; i < ex->n; i++)
    free(ex->lines[i].copy);
  free(ex->buf);
}

/* ---- running one fixture ------------------------------------------------ */

typedef struct {
  qw_page *page;
  qw_analysis an;
  qw_charset_info cs;
} result;

static void analyse_file(const char *fixture, qw_page_type forced,
                         result *r)
{
  memset(r, 0, sizeof(*r));
  char *path = pages_path(fixture);
  size_t len = 0;
  char *bytes = qw_test_read(path, &len);
  free(path);
  qw_analyzer *az = qw_analyzer_new(rs);
  ck_assert_msg(az != NULL, "qw_analyzer_new failed");
  qw_document_opts o;
  memset(&o, 0, sizeof(o));
  o.analyze.page_type = forced;
  char err[256] = "";
  int rc = qw_analyze_document(rs, az, bytes, len, &o, &r->page, &r->cs,
                               &r->an, NULL, err, sizeof(err));
  free(bytes);
  qw_analyzer_free(az);
  ck_assert_msg(rc == 0, "%s: qw_analyze_document failed: %d %s", fixture,
                rc, err);
}

static void result_free(result *r)
{
  qw_analysis_free(&r->an);
  qw_page_free(r->page);
}

static const char *rule_id(const qw_finding *f)
{
  return f->rule && f->rule->id ? f->rule->id : "?";
}

static int finding_is(const qw_finding *f, const char *cat_or_rule,
                      const char *rule, const char *text)
{
  int c = qw_category_from_name(cat_or_rule);
  if(c >= 0) {
    if((int)f->category != c)
      return 0;
  }
  else if(strcmp(rule_id(f), cat_or_rule) != 0)
    return 0;
  if(rule && strcmp(rule_id(f), rule) != 0)
    return 0;
  if(text && (!f->match || !strstr(f->match, text)))
    return 0;
  return 1;
}

static void describe(qw_buf *m, const result *r)
{
  const qw_analysis *an = &r->an;
  qw_buf_printf(m, "  actual: charset %s, type %s, device %s, class %d;",
                r->cs.name, qw_page_type_name(an->page_type),
                an->is_device ? "yes" : "no", an->device_class);
  for(size_t i = 0; i < an->n_devices; i++)
    qw_buf_printf(m, " [%s \"%s\" in %s]", device_id(an->devices[i].device),
                  an->devices[i].term ? an->devices[i].term : "",
                  qw_field_name(an->devices[i].field));
  qw_buf_puts(m, "\n");
  for(size_t i = 0; i < an->n_numbers; i++)
    qw_buf_printf(m, "  number: %s %s \"%s\" %s\n",
                  qw_num_kind_name(an->numbers[i].num.kind),
                  qw_num_validity_name(an->numbers[i].num.validity),
                  an->numbers[i].num.text, an->numbers[i].num.reason);
  if(!an->n_findings)
    qw_buf_puts(m, "  findings: none\n");
  for(size_t i = 0; i < an->n_findings; i++) {
    const qw_finding *f = &an->findings[i];
    qw_buf_printf(m, "  finding: %s %s %s \"%.120s\" (%s)\n",
                  qw_category_name(f->category), rule_id(f),
                  qw_severity_name(f->severity), f->match ? f->match : "",
                  qw_field_name(f->field));
  }
}

START_TEST(test_fixture)
{
  ck_assert_msg(rs != NULL, "the default pack did not load");
  const char *fx = fixtures[_i];
  expectations ex;
  parse_expect(fx, &ex);
  qw_page_type forced = QW_PAGE_UNKNOWN;
  for(size_t i = 0; i < ex.n; i++)
    if(ex.lines[i].kind == EX_PAGE_TYPE) {
      int t = qw_page_type_from_name(ex.lines[i].value);
      ck_assert_msg(t > 0, "%s.expect line %d: unknown page type \"%s\"", fx,
                    ex.lines[i].line, ex.lines[i].value);
      forced = (qw_page_type)t;
    }
  result r;
  analyse_file(fx, forced, &r);
  const qw_analysis *an = &r.an;
  qw_buf m = QW_BUF_INIT;
  int bad = 0, exact = 0;
  for(size_t i = 0; i < ex.n; i++) {
    const ex_line *x = &ex.lines[i];
    int ok = 1;
    switch(x->kind) {
    case EX_CHARSET: {
      ok = 0;
      char alts[256];
      snprintf(alts, sizeof(alts), "%s", x->value);
      char *save = NULL;
      for(char *t = strtok_r(alts, "|", &save); t && !ok;
          t = strtok_r(NULL, "|", &save))
        ok = strcasecmp(trim(t), r.cs.name) == 0;
      break;
    }
    case EX_PAGE_TYPE:
      break;
    case EX_EXPECT_TYPE:
      ok = strcmp(qw_page_type_name(an->page_type), x->value) == 0;
      break;
    case EX_DEVICE:
      if(strcmp(x->value, "none") == 0)
        ok = !an->is_device;
      else {
        ok = 0;
        for(size_t k = 0; k < an->n_devices && !ok; k++)
          ok = strcmp(device_id(an->devices[k].device), x->value) == 0;
      }
      break;
    case EX_EXPECT:
      ok = 0;
      for(size_t k = 0; k < an->n_findings && !ok; k++)
        ok = finding_is(&an->findings[k], x->a, x->b, x->text);
      break;
    case EX_REJECT:
      for(size_t k = 0; k < an->n_findings && ok; k++)
        ok = !finding_is(&an->findings[k], x->a, NULL, x->text);
      break;
    case EX_EXACT:
      exact = strcmp(x->value, "yes") == 0;
      break;
    }
    if(!ok) {
      bad++;
      qw_buf_printf(&m, "%s.expect line %d not met: %s\n", fx, x->line,
                    x->value);
    }
  }
  if(exact) {
    for(size_t k = 0; k < an->n_findings; k++) {
      const qw_finding *f = &an->findings[k];
      int listed = 0;
      for(size_t i = 0; i < ex.n && !listed; i++)
        listed = ex.lines[i].kind == EX_EXPECT &&
                 qw_category_from_name(ex.lines[i].a) == (int)f->category;
      if(!listed) {
        bad++;
        qw_buf_printf(&m, "%s: exact = yes, but unexpected %s %s \"%s\"\n",
                      fx, qw_category_name(f->category), rule_id(f),
                      f->match ? f->match : "");
      }
    }
  }
  if(bad)
    describe(&m, &r);
  if(m.data && m.len > MSG_CAP)
    m.data[MSG_CAP] = '\0';
  char *msg = strdup(m.data ? m.data : "");
  qw_buf_free(&m);
  result_free(&r);
  free_expect(&ex);
  ck_assert_msg(bad == 0, "fixture %s:\n%s", fx, msg ? msg : "");
  free(msg);
}
END_TEST

/* ---- the pack as a whole ------------------------------------------------ */

START_TEST(test_pack_loads)
{
  qw_buf m = QW_BUF_INIT;
  for(size_t i = 0; i < load_diag.n_errors; i++)
    qw_buf_printf(&m, "  %s\n", load_diag.errors[i]);
  if(rs)
    for(size_t i = 0; i < rs->n_notes; i++)
      qw_buf_printf(&m, "  note: %s\n", rs->notes[i]);
  char *msg = strdup(m.data ? m.data : "");
  qw_buf_free(&m);
  int errors = (int)load_diag.n_errors;
  /* Notes that a rule has no literal anchor are expected for a few rules
   * made only of patterns; any other note (a pattern Hyperscan cannot
   * prefilter) is a slow path the default pack must not have. */
  size_t notes = 0;
  if(rs)
    for(size_t i = 0; i < rs->n_notes; i++)
      if(!strstr(rs->notes[i], "no literal anchor"))
        notes++;
  int rc = load_rc;
  if(rc != 0 || errors || notes)
    fprintf(stderr, "%s", msg ? msg : "");
  free(msg);
  ck_assert_msg(rc == 0, "qw_ruleset_load: %d", rc);
  ck_assert_msg(errors == 0, "%d load errors (see stderr)", errors);
  ck_assert_msg(notes == 0, "%zu notes other than \"no literal anchor\" "
                "(see stderr)", notes);
  ck_assert_ptr_nonnull(rs);
  if(!rs)
    return;
  ck_assert_msg(rs->n_devices >= 20, "only %zu devices", rs->n_devices);
  for(size_t i = 0; i < rs->n_rules; i++) {
    const qw_rule *ru = &rs->rules[i];
    ck_assert_msg(ru->message && *ru->message, "%s: no message", ru->id);
    ck_assert_msg(ru->basis && *ru->basis, "%s: no basis", ru->id);
    ck_assert_msg(ru->enabled, "%s: disabled in the default pack", ru->id);
  }
}
END_TEST

/* Every rule id of the pack appears on an expect line of some fixture. */
START_TEST(test_every_rule_expected)
{
  ck_assert_ptr_nonnull(rs);
  if(!rs)
    return;
  char *seen = calloc(rs->n_rules ? rs->n_rules : 1, 1);
  ck_assert_ptr_nonnull(seen);
  if(!seen)
    return;
  for(size_t i = 0; i < n_fixtures; i++) {
    expectations ex;
    parse_expect(fixtures[i], &ex);
    for(size_t k = 0; k < ex.n; k++) {
      const ex_line *x = &ex.lines[k];
      if(x->kind != EX_EXPECT || !x->b)
        continue;
      const qw_rule *ru = qw_ruleset_find(rs, x->b);
      ck_assert_msg(ru != NULL, "%s.expect line %d: no rule \"%s\" in the "
                    "pack", fixtures[i], x->line, x->b);
      if(ru)
        seen[ru - rs->rules] = 1;
    }
    free_expect(&ex);
  }
  qw_buf m = QW_BUF_INIT;
  int missing = 0;
  for(size_t i = 0; i < rs->n_rules; i++)
    if(!seen[i]) {
      missing++;
      qw_buf_printf(&m, " %s", rs->rules[i].id);
    }
  free(seen);
  char *msg = strdup(m.data ? m.data : "");
  qw_buf_free(&m);
  ck_assert_msg(missing == 0, "rules no fixture expects:%s", msg ? msg : "");
  free(msg);
}
END_TEST

/* Every category of the vocabulary is produced by some fixture, except
 * registration_unverified: it needs the registry cross-check (RULES.md), and
 * the pack has no registry. */
START_TEST(test_every_category_produced)
{
  ck_assert_ptr_nonnull(rs);
  if(!rs)
    return;
  int seen[QW_CAT_COUNT];
  memset(seen, 0, sizeof(seen));
  for(size_t i = 0; i < n_fixtures; i++) {
    expectations ex;
    parse_expect(fixtures[i], &ex);
    qw_page_type forced = QW_PAGE_UNKNOWN;
    for(size_t k = 0; k < ex.n; k++)
      if(ex.lines[k].kind == EX_PAGE_TYPE)
        forced = (qw_page_type)qw_page_type_from_name(ex.lines[k].value);
    free_expect(&ex);
    result r;
    analyse_file(fixtures[i], forced, &r);
    for(size_t k = 0; k < r.an.n_findings; k++)
      if((unsigned)r.an.findings[k].category < QW_CAT_COUNT)
        seen[r.an.findings[k].category] = 1;
    result_free(&r);
  }
  qw_buf m = QW_BUF_INIT;
  int missing = 0;
  for(int c = 0; c < QW_CAT_COUNT; c++)
    if(!seen[c] && c != QW_CAT_REGISTRATION_UNVERIFIED) {
      missing++;
      qw_buf_printf(&m, " %s", qw_category_name((qw_category)c));
    }
  char *msg = strdup(m.data ? m.data : "");
  qw_buf_free(&m);
  ck_assert_msg(missing == 0, "categories no fixture produces:%s",
                msg ? msg : "");
  free(msg);
}
END_TEST

static Suite *pack_suite(void)
{
  Suite *s = suite_create("pack");
  TCase *tc = tcase_create("pack");
  tcase_add_unchecked_fixture(tc, load_pack, unload_pack);
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_pack_loads);
  tcase_add_test(tc, test_every_rule_expected);
  tcase_add_test(tc, test_every_category_produced);
  suite_add_tcase(s, tc);
  TCase *tf = tcase_create("fixtures");
  tcase_add_unchecked_fixture(tf, load_pack, unload_pack);
  tcase_set_timeout(tf, 120);
  tcase_add_loop_test(tf, test_fixture, 0, (int)n_fixtures);
  suite_add_tcase(s, tf);
  return s;
}

int main(void)
{
  if(list_fixtures() != 0)
    return 1;
  if(n_fixtures == 0) {
    fprintf(stderr, "no fixtures in tests/fixtures/pages\n");
    return 1;
  }
  SRunner *sr = srunner_create(pack_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  free_fixtures();
  return failed ? 1 : 0;
}
