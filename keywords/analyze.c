/* analyze.c — applies a rule pack to one page (see analyze.h).
 *
 * Order of work for a page:
 *   1. normalise every field the pack looks at (one buffer per field, kept
 *      in the analyzer and reused from page to page);
 *   2. one matcher scan per field, all sets at once;
 *   3. numbers extracted from the fields that can show them, de-duplicated;
 *   4. page type and device detection;
 *   5. the rules, in pack order, each producing findings that quote the
 *      original text (offsets mapped back through the normaliser's map).
 * The analyzer is per thread; the ruleset is shared and never written. */
#include "analyze.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "matcher.h"
#include "normalize.h"
#include "utf8.h"

/* Findings of one rule on one page beyond this are dropped (counted in the
 * last finding's detail): a page repeating 热销 400 times needs a handful
 * of quotes as evidence, not 400. */
#define QW_MAX_FINDINGS_PER_RULE 20
#define QW_CONTEXT_CHARS 30
/* "key：value" lines that make an undecided page a product page: one or
 * two ("作者：…", "来源：…") are common on articles. */
#define QW_PRODUCT_MIN_PARAMS 3

/* Fields numbers are looked for in, in order of preference for the field a
 * number is attributed to. */
static const qw_field number_fields[] = {
  QW_FIELD_PARAMS, QW_FIELD_JSONLD, QW_FIELD_TITLE, QW_FIELD_HEADING,
  QW_FIELD_BODY,
};

struct qw_analyzer {
  const qw_ruleset *rs;
  qw_match_scratch *ms;
  qw_numbers_scratch *ns;
  qw_norm norm[QW_FIELD_COUNT];
  qw_hit *hits[QW_FIELD_COUNT];
  size_t n_hits[QW_FIELD_COUNT];
  qw_number *nums;
  size_t n_nums;
  uint32_t fields_used; /* union of every rule's and device's fields */
  uint64_t normalize_ns, match_ns, rules_ns;
};

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void qw_analyzer_limits(qw_analyzer *a, unsigned long match_limit,
                        unsigned long heap_kib)
{
  qw_match_scratch_limits(a->ms, match_limit, heap_kib);
}

qw_analyzer *qw_analyzer_new(const qw_ruleset *rs)
{
  qw_analyzer *a = calloc(1, sizeof(*a));
  if(!a)
    return NULL;
  a->rs = rs;
  a->ms = qw_match_scratch_new(rs->matcher);
  a->ns = qw_numbers_scratch_new(rs->numbers);
  if(!a->ms || !a->ns) {
    qw_analyzer_free(a);
    return NULL;
  }
  for(size_t i = 0; i < rs->n_rules; i++)
    a->fields_used |= rs->rules[i].fields;
  for(size_t i = 0; i < rs->n_devices; i++)
    a->fields_used |= rs->devices[i].fields;
  /* Storefront and platform pages look for devices everywhere, and numbers
   * are looked for in their own fields. */
  a->fields_used |= QW_FIELDMASK(QW_FIELD_BODY);
  for(size_t i = 0; i < sizeof(number_fields) / sizeof(number_fields[0]); i++)
    a->fields_used |= QW_FIELDMASK(number_fields[i]);
  return a;
}

void qw_analyzer_free(qw_analyzer *a)
{
  if(!a)
    return;
  qw_match_scratch_free(a->ms);
  qw_numbers_scratch_free(a->ns);
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    qw_norm_free(&a->norm[f]);
    free(a->hits[f]);
  }
  free(a->nums);
  free(a);
}

void qw_analysis_free(qw_analysis *an)
{
  if(!an)
    return;
  for(size_t i = 0; i < an->n_findings; i++) {
    free(an->findings[i].match);
    free(an->findings[i].context);
    free(an->findings[i].detail);
  }
  for(size_t i = 0; i < an->n_devices; i++)
    free(an->devices[i].term);
  free(an->findings);
  free(an->devices);
  free(an->numbers);
  memset(an, 0, sizeof(*an));
}

/* ---- small helpers ------------------------------------------------------ */

static int has_field(uint32_t mask, qw_field f)
{
  return (mask & QW_FIELDMASK(f)) != 0;
}

static char *dup_range(const char *s, size_t start, size_t end)
{
  char *d = malloc(end - start + 1);
  if(!d)
    return NULL;
  memcpy(d, s + start, end - start);
  d[end - start] = '\0';
  return d;
}

/* Original text [start, end) of a field widened by up to n characters on
 * each side, never past a block separator. */
static char *context_of(const qw_text *t, size_t start, size_t end,
                        unsigned n)
{
  size_t s = start, e = end;
  for(unsigned k = 0; k < n && s > 0; k++) {
    size_t p = s - 1;
    while(p > 0 && ((unsigned char)t->text[p] & 0xC0) == 0x80)
      p--;
    if(t->text[p] == '\n')
      break;
    s = p;
  }
  for(unsigned k = 0; k < n && e < t->len; k++) {
    if(t->text[e] == '\n')
      break;
    size_t p = e;
    qw_utf8_next(t->text, t->len, &p);
    e = p;
  }
  return dup_range(t->text, s, e);
}

/* Maps a normalised range back to the original text of a field. The
 * normaliser's map gives where the first and last characters came from; the
 * end is just past the last source character, so separators the normaliser
 * dropped after it are not quoted. */
static void source_range(const qw_norm *nm, const qw_text *t, size_t start,
                         size_t end, size_t *os, size_t *oe)
{
  qw_norm_source_range(nm, start, end, os, oe);
  if(end <= start || !t->text)
    return;
  size_t last = nm->map[end - 1];
  if(last < t->len) {
    size_t p = last;
    qw_utf8_next(t->text, t->len, &p);
    if(p < *oe)
      *oe = p;
  }
}

static int findings_push(qw_analysis *an, size_t *cap, qw_finding *f)
{
  if(an->n_findings == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    qw_finding *n = realloc(an->findings, nc * sizeof(*n));
    if(!n)
      return -ENOMEM;
    an->findings = n;
    *cap = nc;
  }
  an->findings[an->n_findings++] = *f;
  return 0;
}

static qw_severity adjust_severity(const qw_rule *r, int device_class)
{
  if(device_class < 0 || device_class > 3)
    device_class = 0;
  return r->severity_class[device_class];
}

/* ---- per-page state while rules run ------------------------------------- */

typedef struct {
  const qw_ruleset *rs;
  qw_analyzer *a;
  const qw_page *p;
  qw_analysis *an;
  size_t cap_findings;
  uint8_t *device_seen; /* per device: detected */
  unsigned context_chars;
} run_ctx;

/* Adds a finding quoting original text [ostart, oend) of field f. */
static int add_finding(run_ctx *c, const qw_rule *r, qw_severity sev,
                       qw_field f, size_t ostart, size_t oend,
                       const char *detail)
{
  const qw_text *t = &c->p->field[f];
  qw_finding fd;
  memset(&fd, 0, sizeof(fd));
  fd.rule = r;
  fd.category = r->category;
  fd.severity = sev;
  fd.field = f;
  fd.start = ostart;
  fd.end = oend;
  if(t->text && oend <= t->len && ostart <= oend) {
    fd.match = dup_range(t->text, ostart, oend);
    fd.context = context_of(t, ostart, oend, c->context_chars);
  }
  else {
    fd.match = strdup("");
    fd.context = strdup("");
  }
  fd.detail = detail ? strdup(detail) : NULL;
  if(!fd.match || !fd.context || (detail && !fd.detail) ||
     findings_push(c->an, &c->cap_findings, &fd) != 0) {
    free(fd.match);
    free(fd.context);
    free(fd.detail);
    return -ENOMEM;
  }
  return 0;
}

/* 1 when a hit of set in any of the fields in mask exists. */
static int set_hit_in(const qw_analyzer *a, qw_set_id set, uint32_t mask)
{
  if(set == QW_SET_NONE)
    return 0;
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    if(!has_field(mask, (qw_field)f))
      continue;
    for(size_t i = 0; i < a->n_hits[f]; i++)
      if(a->hits[f][i].set == set)
        return 1;
  }
  return 0;
}

static int number_matches_req(const qw_page_number *pn, const qw_num_req *q)
{
  if(pn->num.kind != q->kind)
    return 0;
  return q->device_class == 0 || pn->num.device_class == q->device_class;
}

/* 1 when the page shows a number of one of reqs' kinds in fields (mask);
 * only_ok restricts to numbers whose validity is ok. */
static int page_has_number(const qw_analysis *an, const qw_num_req *reqs,
                           size_t n_reqs, uint32_t mask, int only_ok)
{
  for(size_t i = 0; i < an->n_numbers; i++) {
    const qw_page_number *pn = &an->numbers[i];
    if(!(pn->fields & mask))
      continue;
    if(only_ok && pn->num.validity != QW_NUMV_OK)
      continue;
    for(size_t k = 0; k < n_reqs; k++)
      if(number_matches_req(pn, &reqs[k]))
        return 1;
  }
  return 0;
}

/* ---- stages ------------------------------------------------------------- */

static int normalise_and_match(qw_analyzer *a, const qw_page *p)
{
  uint64_t t0 = now_ns();
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    a->n_hits[f] = 0;
    const qw_text *t = &p->field[f];
    if(!has_field(a->fields_used, (qw_field)f) || !t->text || t->len == 0) {
      if(a->norm[f].text) {
        a->norm[f].len = 0;
        a->norm[f].text[0] = '\0';
      }
      continue;
    }
    int r = qw_normalize_into(t->text, t->len, &a->norm[f]);
    if(r != 0)
      return r;
  }
  uint64_t t1 = now_ns();
  int limited = 0;
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    if(!a->norm[f].text || a->norm[f].len == 0)
      continue;
    qw_hit *hits = a->hits[f];
    size_t n = 0;
    int r = qw_matcher_scan(a->rs->matcher, a->ms, a->norm[f].text,
                            a->norm[f].len, NULL, &hits, &n);
    a->hits[f] = hits;
    a->n_hits[f] = n;
    if(r == -ETIME)
      limited = 1;
    else if(r != 0)
      return r;
  }
  uint64_t t2 = now_ns();
  a->normalize_ns += t1 - t0;
  a->match_ns += t2 - t1;
  return limited ? -ETIME : 0;
}

static int extract_numbers(qw_analyzer *a, const qw_page *p, qw_analysis *an)
{
  size_t cap = 0;
  for(size_t k = 0; k < sizeof(number_fields) / sizeof(number_fields[0]);
      k++) {
    qw_field f = number_fields[k];
    const qw_norm *nm = &a->norm[f];
    if(!nm->text || nm->len == 0)
      continue;
    a->n_nums = 0;
    qw_number *nums = a->nums;
    size_t n = 0;
    int cy = a->rs->current_year;
    if(cy <= 0) {
      time_t now = time(NULL);
      struct tm tmv;
      gmtime_r(&now, &tmv);
      cy = tmv.tm_year + 1900;
    }
    int r = qw_numbers_extract(a->rs->numbers, a->ns, nm->text, nm->len, cy,
                               &nums, &n);
    a->nums = nums;
    a->n_nums = n;
    if(r != 0)
      return r;
    for(size_t i = 0; i < n; i++) {
      qw_number *num = &nums[i];
      /* De-duplicate by kind and text across fields. */
      qw_page_number *same = NULL;
      for(size_t j = 0; j < an->n_numbers; j++) {
        if(an->numbers[j].num.kind == num->kind &&
           strcmp(an->numbers[j].num.text, num->text) == 0) {
          same = &an->numbers[j];
          break;
        }
      }
      if(same) {
        same->fields |= QW_FIELDMASK(f);
        continue;
      }
      if(an->n_numbers == cap) {
        size_t nc = cap ? cap * 2 : 8;
        qw_page_number *nn = realloc(an->numbers, nc * sizeof(*nn));
        if(!nn)
          return -ENOMEM;
        an->numbers = nn;
        cap = nc;
      }
      qw_page_number *pn = &an->numbers[an->n_numbers++];
      pn->num = *num;
      pn->field = f;
      pn->fields = QW_FIELDMASK(f);
      source_range(nm, &p->field[f], num->start, num->end, &pn->num.start,
                   &pn->num.end);
    }
  }
  return 0;
}

static int is_device_number(qw_num_kind k)
{
  return k == QW_NUM_REGISTRATION || k == QW_NUM_REGISTRATION_LOOSE ||
         k == QW_NUM_LEGACY || k == QW_NUM_FILING;
}

/* Price or buy markers in normalised body text make an unknown page a
 * product page. */
static int has_buy_marker(const qw_norm *body)
{
  static const char *const markers[] = {
    "\xC2\xA5",     /* ¥ */
    "\xEF\xBF\xA5", /* ￥ */
    "价格", "加入购物车", "立即购买", "到手价",
  };
  if(!body->text)
    return 0;
  for(size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
    if(memmem(body->text, body->len, markers[i], strlen(markers[i])))
      return 1;
  return 0;
}

static int detect_devices(run_ctx *c, uint32_t all_fields)
{
  qw_analyzer *a = c->a;
  const qw_ruleset *rs = c->rs;
  qw_analysis *an = c->an;
  size_t cap = 0;
  for(size_t d = 0; d < rs->n_devices; d++) {
    const qw_device *dev = &rs->devices[d];
    uint32_t mask = all_fields ? 0xffffffffu : dev->fields;
    int found = 0;
    for(int f = 0; f < QW_FIELD_COUNT && !found; f++) {
      if(!has_field(mask, (qw_field)f))
        continue;
      for(size_t i = 0; i < a->n_hits[f]; i++) {
        const qw_hit *h = &a->hits[f][i];
        if(h->set != dev->set)
          continue;
        if(an->n_devices == cap) {
          size_t nc = cap ? cap * 2 : 4;
          qw_device_hit *nd = realloc(an->devices, nc * sizeof(*nd));
          if(!nd)
            return -ENOMEM;
          an->devices = nd;
          cap = nc;
        }
        size_t os, oe;
        source_range(&a->norm[f], &c->p->field[f], h->start, h->end, &os,
                     &oe);
        qw_device_hit *dh = &an->devices[an->n_devices];
        dh->device = (uint32_t)d;
        dh->field = (qw_field)f;
        dh->term = dup_range(c->p->field[f].text, os, oe);
        if(!dh->term)
          return -ENOMEM;
        an->n_devices++;
        c->device_seen[d] = 1;
        if(dev->device_class > an->device_class)
          an->device_class = dev->device_class;
        found = 1;
        break;
      }
    }
  }
  return 0;
}

static int rule_applies(const run_ctx *c, const qw_rule *r)
{
  const qw_analysis *an = c->an;
  if(!r->enabled)
    return 0;
  if(!(r->scope & QW_SCOPEMASK(an->page_type)))
    return 0;
  if(r->applies == QW_APPLIES_DEVICE && !an->is_device)
    return 0;
  if(r->applies == QW_APPLIES_NON_DEVICE && an->is_device)
    return 0;
  if(r->n_devices > 0) {
    int any = 0;
    for(size_t i = 0; i < r->n_devices && !any; i++)
      if(r->devices[i] < c->rs->n_devices && c->device_seen[r->devices[i]])
        any = 1;
    if(!any)
      return 0;
  }
  return 1;
}

static const char *detected_device_names(const run_ctx *c, qw_buf *b)
{
  qw_buf_reset(b);
  for(size_t i = 0; i < c->an->n_devices; i++) {
    const qw_device *d = &c->rs->devices[c->an->devices[i].device];
    if(b->len)
      qw_buf_puts(b, "、");
    qw_buf_printf(b, "%s(第%s类)", d->name,
                  d->device_class == 3 ? "三" :
                  d->device_class == 2 ? "二" : "一");
  }
  return b->data ? b->data : "";
}

static int run_forbid(run_ctx *c, const qw_rule *r, qw_severity sev)
{
  if(r->n_unless_numbers &&
     page_has_number(c->an, r->unless_numbers, r->n_unless_numbers,
                     0xffffffffu, 1))
    return 0;
  size_t count = 0, dropped = 0;
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    if(!has_field(r->fields, (qw_field)f))
      continue;
    for(size_t i = 0; i < c->a->n_hits[f]; i++) {
      const qw_hit *h = &c->a->hits[f][i];
      if(h->set != r->set)
        continue;
      if(count >= QW_MAX_FINDINGS_PER_RULE) {
        dropped++;
        continue;
      }
      size_t os, oe;
      source_range(&c->a->norm[f], &c->p->field[f], h->start, h->end, &os,
                   &oe);
      int rc = add_finding(c, r, sev, (qw_field)f, os, oe, NULL);
      if(rc != 0)
        return rc;
      count++;
    }
  }
  if(dropped) {
    qw_finding *last = &c->an->findings[c->an->n_findings - 1];
    char msg[96];
    snprintf(msg, sizeof(msg), "另有%zu处同类命中未列出 (%zu more hits)",
             dropped, dropped);
    free(last->detail);
    last->detail = strdup(msg);
    if(!last->detail)
      return -ENOMEM;
  }
  return 0;
}

static int run_require(run_ctx *c, const qw_rule *r, qw_severity sev,
                       qw_buf *tmp)
{
  if(r->trigger != QW_SET_NONE && !set_hit_in(c->a, r->trigger, r->fields))
    return 0;
  if(set_hit_in(c->a, r->set, r->fields))
    return 0;
  if(r->n_numbers &&
     page_has_number(c->an, r->numbers, r->n_numbers, r->fields, 0))
    return 0;
  const char *detail = NULL;
  if(c->an->n_devices) {
    qw_buf_reset(tmp);
    detected_device_names(c, tmp);
    detail = tmp->data;
  }
  return add_finding(c, r, sev, QW_FIELD_BODY, 0, 0, detail);
}

/* The Class I filing shown for a Class II/III product: the pack names this
 * rule by id; its logic needs the device class, which only the page has. */
#define QW_RULE_FILING_FOR_CLASS23 "registration.filing_for_class23"

static int run_extract(run_ctx *c, const qw_rule *r, qw_severity sev,
                       qw_buf *tmp)
{
  int filing_rule = strcmp(r->id, QW_RULE_FILING_FOR_CLASS23) == 0;
  if(filing_rule) {
    int cls = 0;
    for(size_t i = 0; i < c->an->n_devices; i++) {
      int dc = c->rs->devices[c->an->devices[i].device].device_class;
      if(dc > cls)
        cls = dc;
    }
    if(cls < 2)
      return 0;
  }
  size_t count = 0;
  for(size_t i = 0; i < c->an->n_numbers; i++) {
    const qw_page_number *pn = &c->an->numbers[i];
    if(!(pn->fields & r->fields))
      continue;
    int want = 0;
    for(size_t k = 0; k < r->n_numbers && !want; k++)
      want = number_matches_req(pn, &r->numbers[k]);
    if(!want)
      continue;
    qw_severity s = sev;
    const char *detail;
    if(filing_rule) {
      qw_buf_reset(tmp);
      qw_buf_puts(tmp, "第一类备案编号用于");
      detected_device_names(c, tmp);
      qw_buf_puts(tmp, " (Class I filing shown for a Class II/III product)");
      detail = tmp->data;
    }
    else {
      if(pn->num.validity == QW_NUMV_OK)
        continue;
      /* Suspicious numbers are reported one level lower: they are unusual,
       * not impossible. */
      if(pn->num.validity == QW_NUMV_SUSPICIOUS && s > QW_SEV_LOW)
        s = (qw_severity)(s - 1);
      detail = pn->num.reason;
    }
    if(count >= QW_MAX_FINDINGS_PER_RULE)
      break;
    int rc = add_finding(c, r, s, pn->field, pn->num.start, pn->num.end,
                         detail);
    if(rc != 0)
      return rc;
    count++;
  }
  return 0;
}

int qw_analyze_page(const qw_ruleset *rs, qw_analyzer *a, const qw_page *p,
                    const qw_analyze_opts *opts, qw_analysis *out)
{
  memset(out, 0, sizeof(*out));
  int rc = normalise_and_match(a, p);
  if(rc == -ETIME) {
    out->match_limited = 1;
    rc = 0;
  }
  if(rc != 0)
    return rc;
  uint64_t t0 = now_ns();
  run_ctx c;
  memset(&c, 0, sizeof(c));
  c.rs = rs;
  c.a = a;
  c.p = p;
  c.an = out;
  c.context_chars = opts && opts->context_chars ? opts->context_chars :
                    QW_CONTEXT_CHARS;
  c.device_seen = calloc(rs->n_devices ? rs->n_devices : 1, 1);
  qw_buf tmp = QW_BUF_INIT;
  if(!c.device_seen)
    return -ENOMEM;

  rc = extract_numbers(a, p, out);
  if(rc != 0)
    goto fail;

  /* Page type: forced, else the page model's hint; unknown is settled
   * after device detection. */
  qw_page_type type = opts ? opts->page_type : QW_PAGE_UNKNOWN;
  out->page_type_source = "forced";
  if(type == QW_PAGE_UNKNOWN) {
    type = p->type_hint;
    out->page_type_source = "page";
  }
  int wide = type == QW_PAGE_STOREFRONT || type == QW_PAGE_PLATFORM;
  rc = detect_devices(&c, wide);
  if(rc != 0)
    goto fail;
  for(size_t i = 0; i < out->n_numbers; i++) {
    const qw_number *n = &out->numbers[i].num;
    if(!is_device_number(n->kind))
      continue;
    out->is_device = 1;
    if(out->n_devices == 0 && n->device_class > out->device_class)
      out->device_class = n->device_class;
  }
  if(out->n_devices)
    out->is_device = 1;
  if(type == QW_PAGE_UNKNOWN) {
    out->page_type_source = "detected";
    if(p->n_params >= QW_PRODUCT_MIN_PARAMS || out->n_devices > 0 ||
       has_buy_marker(&a->norm[QW_FIELD_BODY]))
      type = QW_PAGE_PRODUCT;
    else
      type = QW_PAGE_OTHER;
  }
  out->page_type = type;

  for(size_t i = 0; i < rs->n_rules; i++) {
    const qw_rule *r = &rs->rules[i];
    if(!rule_applies(&c, r))
      continue;
    qw_severity sev = adjust_severity(r, out->device_class);
    switch(r->kind) {
    case QW_RULE_FORBID:
      rc = run_forbid(&c, r, sev);
      break;
    case QW_RULE_REQUIRE:
      rc = run_require(&c, r, sev, &tmp);
      break;
    case QW_RULE_EXTRACT:
      rc = run_extract(&c, r, sev, &tmp);
      break;
    }
    if(rc != 0)
      goto fail;
  }
  a->rules_ns += now_ns() - t0;
  free(c.device_seen);
  qw_buf_free(&tmp);
  return 0;

fail:
  free(c.device_seen);
  qw_buf_free(&tmp);
  qw_analysis_free(out);
  return rc;
}

int qw_analyze_document(const qw_ruleset *rs, qw_analyzer *a,
                        const char *bytes, size_t len,
                        const qw_document_opts *opts, qw_page **page,
                        qw_charset_info *cs, qw_analysis *out,
                        qw_stage_times *times, char *err, size_t errlen)
{
  qw_document_opts defaults;
  if(!opts) {
    memset(&defaults, 0, sizeof(defaults));
    opts = &defaults;
  }
  *page = NULL;
  memset(out, 0, sizeof(*out));
  if(opts->page.max_bytes && len > opts->page.max_bytes) {
    if(err)
      snprintf(err, errlen, "%zu bytes is over the page size cap of %zu",
               len, opts->page.max_bytes);
    return -EFBIG;
  }
  uint64_t t0 = now_ns();
  char *utf8 = NULL;
  size_t ulen = 0;
  int rc = qw_charset_decode(bytes, len, opts->user_charset,
                             opts->transport_charset, &utf8, &ulen, cs);
  if(rc != 0) {
    if(err)
      snprintf(err, errlen, rc == -EINVAL ? "unknown charset '%s'" :
               "cannot decode: %s", rc == -EINVAL && opts->user_charset ?
               opts->user_charset : strerror(-rc));
    return rc;
  }
  uint64_t t1 = now_ns();
  rc = qw_page_parse(utf8, ulen, opts->url, &opts->page, page, err, errlen);
  free(utf8);
  if(rc != 0)
    return rc;
  uint64_t t2 = now_ns();
  if(!rs) { /* decode and parse only */
    if(times) {
      times->decode_ns += t1 - t0;
      times->parse_ns += t2 - t1;
      times->bytes_in += len;
    }
    return 0;
  }
  a->normalize_ns = a->match_ns = a->rules_ns = 0;
  rc = qw_analyze_page(rs, a, *page, &opts->analyze, out);
  if(rc != 0) {
    if(err)
      snprintf(err, errlen, "analysis failed: %s", strerror(-rc));
    qw_page_free(*page);
    *page = NULL;
    return rc;
  }
  if(times) {
    times->decode_ns += t1 - t0;
    times->parse_ns += t2 - t1;
    times->normalize_ns += a->normalize_ns;
    times->match_ns += a->match_ns;
    times->rules_ns += a->rules_ns;
    times->bytes_in += len;
    for(int f = 0; f < QW_FIELD_COUNT; f++)
      times->bytes_text += (*page)->field[f].len;
  }
  return 0;
}
