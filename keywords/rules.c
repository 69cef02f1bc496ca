/* rules.c — loads a rule pack directory (see rules.h and docs/rules.md):
 * INI files in name order, the keyword list files they reference, every
 * list and pattern compiled into one matcher, number extractors from the
 * pack's authorities. Every problem is collected with file:line; a pack
 * with any error is refused as a whole. */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "ini.h"
#include "matcher.h"
#include "normalize.h"

#define MAX_FILE_BYTES (16u * 1024u * 1024u)
#define MAX_ERRORS 1000u
#define MAX_NEGATION 64u
#define ALL_FIELDS ((1u << QW_FIELD_COUNT) - 1u)

/* ---- names ------------------------------------------------------------ */

static const char *const category_names[QW_CAT_COUNT] = {
  "registration_missing", "registration_invalid", "registration_unverified",
  "warning_missing", "false_claim", "non_device_claim", "high_risk_retail",
  "prohibited_product", "licence_missing", "contact_missing",
  "platform_filing_missing", "scope_mismatch",
};

static const char *const severity_names[] = {
  "low", "medium", "high", "critical",
};

static const char *const kind_names[] = {"forbid", "require", "extract"};

static const char *const applies_names[] = {"device", "non_device", "any"};

static const char *const risk_names[] = {"normal", "implant", "injectable"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int name_index(const char *const *names, size_t n, const char *name)
{
  if(!name)
    return -1;
  for(size_t i = 0; i < n; i++)
    if(strcmp(names[i], name) == 0)
      return (int)i;
  return -1;
}

const char *qw_category_name(qw_category c)
{
  return (unsigned)c < QW_CAT_COUNT ? category_names[c] : "unknown";
}

int qw_category_from_name(const char *name)
{
  return name_index(category_names, QW_CAT_COUNT, name);
}

const char *qw_severity_name(qw_severity s)
{
  return (unsigned)s < N_OF(severity_names) ? severity_names[s] : "unknown";
}

int qw_severity_from_name(const char *name)
{
  return name_index(severity_names, N_OF(severity_names), name);
}

const char *qw_rule_kind_name(qw_rule_kind k)
{
  return (unsigned)k < N_OF(kind_names) ? kind_names[k] : "unknown";
}

/* ---- diagnostics ------------------------------------------------------ */

void qw_diag_free(qw_diag *d)
{
  if(!d)
    return;
  for(size_t i = 0; i < d->n_errors; i++)
    free(d->errors[i]);
  free(d->errors);
  d->errors = NULL;
  d->n_errors = 0;
}

/* ---- the loader ------------------------------------------------------- */

enum { SEC_PACK, SEC_DEVICE, SEC_RULE };

typedef struct {
  char *key, *value;
  int line;
} kv;

typedef struct {
  int type;
  char *id;            /* "" for [pack] */
  const char *file;    /* interned */
  int line;            /* the header's line */
  kv *kv;
  size_t n_kv, cap_kv;
} section;

/* Where each matcher entry came from, for notes. */
typedef struct {
  const char *file;
  int line;
} origin;

typedef struct {
  origin *e, *x;       /* entries, exceptions */
  size_t n_e, cap_e, n_x, cap_x;
  size_t n_literals;   /* positive literal entries */
} set_origin;

typedef struct {
  const char *dir;
  qw_diag *diag;
  size_t n_errors;
  int oom;
  char **files;        /* interned paths */
  size_t n_files, cap_files;
  section *secs;
  size_t n_secs, cap_secs;
  /* parse state */
  const char *cur_file;
  int *headers;        /* header line numbers of the current file */
  size_t n_headers, cap_headers;
  char *cur_section;   /* section string of the last key */
  int cur_hl;          /* its header line */
  section *cur;
  int outside_reported;
  /* build state */
  qw_matcher_builder *mb;
  set_origin *so;
  size_t n_so, cap_so;
  qw_ruleset *rs;
  size_t cap_devices, cap_rules, cap_notes;
  const section *pack;
} loader;

static void add_error(loader *L, const char *file, int line, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void add_error(loader *L, const char *file, int line, const char *fmt,
                      ...)
{
  L->n_errors++;
  if(!L->diag || L->diag->n_errors >= MAX_ERRORS)
    return;
  qw_buf b = QW_BUF_INIT;
  int r = 0;
  if(file && line > 0)
    r = qw_buf_printf(&b, "%s:%d: ", file, line);
  else if(file)
    r = qw_buf_printf(&b, "%s: ", file);
  va_list ap;
  va_start(ap, fmt);
  if(!r)
    r = qw_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  size_t cap = L->diag->n_errors;
  char **ne = r ? NULL : realloc(L->diag->errors, (cap + 1) * sizeof(char *));
  if(!ne) {
    qw_buf_free(&b);
    L->oom = 1;
    return;
  }
  L->diag->errors = ne;
  ne[L->diag->n_errors++] = qw_buf_steal(&b, NULL);
  if(!ne[L->diag->n_errors - 1]) {
    L->diag->n_errors--;
    L->oom = 1;
  }
}

static const char *section_label(const section *s, char *buf, size_t len)
{
  if(s->type == SEC_PACK)
    snprintf(buf, len, "[pack]");
  else
    snprintf(buf, len, "[%s %s]", s->type == SEC_RULE ? "rule" : "device",
             s->id);
  return buf;
}

static void key_error(loader *L, const section *s, const kv *k,
                      const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: [rule ID] key: why" */
static void key_error(loader *L, const section *s, const kv *k,
                      const char *fmt, ...)
{
  char why[512], label[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  section_label(s, label, sizeof(label));
  if(k)
    add_error(L, s->file, k->line, "%s %s: %s", label, k->key, why);
  else
    add_error(L, s->file, s->line, "%s %s", label, why);
}

static const char *intern(loader *L, const char *path)
{
  for(size_t i = 0; i < L->n_files; i++)
    if(strcmp(L->files[i], path) == 0)
      return L->files[i];
  if(qw_grow((void **)&L->files, &L->cap_files, L->n_files + 1, sizeof(char *)))
    return NULL;
  char *p = strdup(path);
  if(!p)
    return NULL;
  L->files[L->n_files++] = p;
  return p;
}

static char *join_path(const char *dir, const char *name)
{
  size_t a = strlen(dir), b = strlen(name);
  char *p = malloc(a + b + 2);
  if(!p)
    return NULL;
  memcpy(p, dir, a);
  size_t n = a;
  if(a && dir[a - 1] != '/')
    p[n++] = '/';
  memcpy(p + n, name, b + 1);
  return p;
}

static int valid_id(const char *s)
{
  if(!*s)
    return 0;
  for(; *s; s++) {
    char c = *s;
    if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* ---- INI parsing ------------------------------------------------------ */

/* Records the line numbers of the "[…]" header lines of text (a line
 * continuing a value that ends in '\\' is not a header). */
static int scan_headers(loader *L, const char *text, size_t len)
{
  L->n_headers = 0;
  int line = 1, cont = 0;
  size_t i = 0;
  if(len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  while(i < len) {
    const char *nl = memchr(text + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - text) : len;
    size_t j = i;
    while(j < end && (text[j] == ' ' || text[j] == '\t'))
      j++;
    if(!cont && j < end && text[j] == '[') {
      if(qw_grow((void **)&L->headers, &L->cap_headers, L->n_headers + 1,
              sizeof(int)))
        return -ENOMEM;
      L->headers[L->n_headers++] = line;
    }
    size_t k = end;
    while(k > j && (text[k - 1] == ' ' || text[k - 1] == '\t' ||
                    text[k - 1] == '\r'))
      k--;
    int comment = j < end && (text[j] == '#' || text[j] == ';');
    cont = !comment && k > j && text[k - 1] == '\\';
    if(!nl)
      break;
    i = end + 1;
    line++;
  }
  return 0;
}

static int header_line(const loader *L, int key_line)
{
  int best = key_line;
  size_t lo = 0, hi = L->n_headers;
  while(lo < hi) {
    size_t mid = (lo + hi) / 2;
    if(L->headers[mid] < key_line) {
      best = L->headers[mid];
      lo = mid + 1;
    }
    else
      hi = mid;
  }
  return best;
}

static section *new_section(loader *L, const char *sec, int line)
{
  const char *sp = strpbrk(sec, " \t");
  size_t tl = sp ? (size_t)(sp - sec) : strlen(sec);
  const char *id = sp ? sp : sec + tl;
  while(*id == ' ' || *id == '\t')
    id++;
  size_t il = strlen(id);
  while(il && (id[il - 1] == ' ' || id[il - 1] == '\t'))
    il--;
  int hl = header_line(L, line);
  int type;
  if(tl == 4 && memcmp(sec, "pack", 4) == 0)
    type = SEC_PACK;
  else if(tl == 6 && memcmp(sec, "device", 6) == 0)
    type = SEC_DEVICE;
  else if(tl == 4 && memcmp(sec, "rule", 4) == 0)
    type = SEC_RULE;
  else {
    add_error(L, L->cur_file, hl, "[%s]: unknown section type (expected "
              "[pack], [device ID] or [rule ID])", sec);
    return NULL;
  }
  char *idc = malloc(il + 1);
  if(!idc) {
    L->oom = 1;
    return NULL;
  }
  memcpy(idc, id, il);
  idc[il] = '\0';
  if(type == SEC_PACK && il) {
    add_error(L, L->cur_file, hl, "[%s]: [pack] takes no id", sec);
    free(idc);
    return NULL;
  }
  if(type != SEC_PACK && !valid_id(idc)) {
    add_error(L, L->cur_file, hl, "[%s]: the id must be letters, digits, "
              "'.', '_' or '-'", sec);
    free(idc);
    return NULL;
  }
  for(size_t i = 0; i < L->n_secs; i++) {
    const section *o = &L->secs[i];
    if(o->type == type && strcmp(o->id, idc) == 0) {
      if(type == SEC_PACK)
        add_error(L, L->cur_file, hl, "[pack]: given twice (first at "
                  "%s:%d)", o->file, o->line);
      else
        add_error(L, L->cur_file, hl, "[%s %s]: duplicate id (first at "
                  "%s:%d)", type == SEC_RULE ? "rule" : "device", idc,
                  o->file, o->line);
      free(idc);
      return NULL;
    }
  }
  if(qw_grow((void **)&L->secs, &L->cap_secs, L->n_secs + 1, sizeof(section))) {
    free(idc);
    L->oom = 1;
    return NULL;
  }
  section *s = &L->secs[L->n_secs++];
  memset(s, 0, sizeof(*s));
  s->type = type;
  s->id = idc;
  s->file = L->cur_file;
  s->line = hl;
  return s;
}

static int ini_cb(void *ud, const char *sec, const char *key,
                  const char *value, int line)
{
  loader *L = ud;
  if(L->oom)
    return -ENOMEM;
  /* A new header starts a new section, even with the same name (which is
   * then a duplicate). */
  int hl = header_line(L, line);
  if(!L->cur_section || strcmp(sec, L->cur_section) != 0 ||
     hl != L->cur_hl) {
    L->cur_hl = hl;
    free(L->cur_section);
    L->cur_section = strdup(sec);
    if(!L->cur_section)
      return -ENOMEM;
    L->cur = NULL;
    if(!*sec) {
      if(!L->outside_reported)
        add_error(L, L->cur_file, line, "%s: key outside any section", key);
      L->outside_reported = 1;
      return 0;
    }
    L->cur = new_section(L, sec, line);
    if(L->oom)
      return -ENOMEM;
  }
  section *s = L->cur;
  if(!s)
    return 0; /* the section was refused; its keys are skipped */
  if(qw_grow((void **)&s->kv, &s->cap_kv, s->n_kv + 1, sizeof(kv)))
    return -ENOMEM;
  kv *k = &s->kv[s->n_kv];
  k->key = strdup(key);
  k->value = strdup(value);
  k->line = line;
  if(!k->key || !k->value) {
    free(k->key);
    free(k->value);
    return -ENOMEM;
  }
  s->n_kv++;
  return 0;
}

/* Parses one INI file into sections. Returns 0 or -ENOMEM (syntax errors
 * are recorded). */
static int parse_text(loader *L, const char *file, const char *text,
                      size_t len)
{
  L->cur_file = file;
  L->cur = NULL;
  free(L->cur_section);
  L->cur_section = NULL;
  L->outside_reported = 0;
  if(scan_headers(L, text, len))
    return -ENOMEM;
  char err[256];
  err[0] = '\0';
  int r = qw_ini_parse(text, len, ini_cb, L, err, sizeof(err));
  if(L->oom || r == -ENOMEM)
    return -ENOMEM;
  if(r) {
    int line = 0;
    const char *why = err;
    if(sscanf(err, "line %d:", &line) == 1) {
      const char *c = strchr(err, ':');
      why = c ? c + 1 : err;
      while(*why == ' ')
        why++;
    }
    add_error(L, file, line, "%s", *why ? why : "syntax error");
  }
  return 0;
}

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_ini_suffix(const char *n)
{
  size_t l = strlen(n);
  return l > 4 && strcmp(n + l - 4, ".ini") == 0;
}

static int read_ini_files(loader *L)
{
  DIR *d = opendir(L->dir);
  if(!d) {
    int e = errno;
    add_error(L, L->dir, 0, "cannot open the pack directory: %s",
              strerror(e));
    return -e;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int r = 0;
  struct dirent *e;
  while((e = readdir(d)) != NULL) {
    if(e->d_name[0] == '.' || !has_ini_suffix(e->d_name))
      continue;
    if(qw_grow((void **)&names, &cap, n + 1, sizeof(char *)) ||
       !(names[n] = strdup(e->d_name))) {
      r = -ENOMEM;
      break;
    }
    n++;
  }
  closedir(d);
  if(!r && n == 0) {
    add_error(L, L->dir, 0, "no *.ini files in the pack directory");
    r = -EINVAL;
  }
  if(!r)
    qsort(names, n, sizeof(char *), name_cmp);
  for(size_t i = 0; i < n && !r; i++) {
    char *path = join_path(L->dir, names[i]);
    const char *ip = path ? intern(L, path) : NULL;
    free(path);
    if(!ip) {
      r = -ENOMEM;
      break;
    }
    struct stat st;
    if(stat(ip, &st) == 0 && !S_ISREG(st.st_mode))
      continue;
    char *text = NULL;
    size_t len = 0;
    int rr = qw_read_file(ip, MAX_FILE_BYTES, &text, &len);
    if(rr) {
      if(rr == -ENOMEM) {
        r = rr;
        break;
      }
      add_error(L, ip, 0, "%s", rr == -EFBIG ? "file too large" :
                strerror(-rr));
      continue;
    }
    r = parse_text(L, ip, text, len);
    free(text);
  }
  for(size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return r;
}

/* ---- values ----------------------------------------------------------- */

static int is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* Next item of a comma list (',' or '，'), trimmed. Returns 0 at the end. */
static int next_item(const char **pp, const char **item, size_t *len)
{
  const char *p = *pp;
  if(!p)
    return 0;
  const char *end = p;
  size_t skip = 0;
  for(;; end++) {
    if(!*end)
      break;
    if(*end == ',') {
      skip = 1;
      break;
    }
    if((unsigned char)end[0] == 0xEF && (unsigned char)end[1] == 0xBC &&
       (unsigned char)end[2] == 0x8C) {
      skip = 3;
      break;
    }
  }
  const char *a = p, *b = end;
  while(a < b && is_space(*a))
    a++;
  while(b > a && is_space(b[-1]))
    b--;
  *item = a;
  *len = (size_t)(b - a);
  *pp = *end ? end + skip : NULL;
  return 1;
}

static int item_is(const char *item, size_t len, const char *word)
{
  return strlen(word) == len && memcmp(item, word, len) == 0;
}

static int parse_uint(const char *v, long max, long *out)
{
  if(!*v)
    return -1;
  long n = 0;
  for(const char *p = v; *p; p++) {
    if(*p < '0' || *p > '9')
      return -1;
    n = n * 10 + (*p - '0');
    if(n > max)
      return -1;
  }
  *out = n;
  return 0;
}

static int parse_bool(const char *v, int *out)
{
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  if(name_index(yes, N_OF(yes), v) >= 0)
    *out = 1;
  else if(name_index(no, N_OF(no), v) >= 0)
    *out = 0;
  else
    return -1;
  return 0;
}

static int parse_fields(loader *L, const section *s, const kv *k,
                        uint32_t *out)
{
  const char *p = k->value, *it;
  size_t len;
  uint32_t mask = 0;
  int ok = 1;
  while(next_item(&p, &it, &len)) {
    if(item_is(it, len, "any") || item_is(it, len, "all")) {
      mask = ALL_FIELDS;
      continue;
    }
    int f = len ? qw_field_from_name(it, len) : -1;
    if(f < 0 || f >= QW_FIELD_COUNT) {
      key_error(L, s, k, "unknown field \"%.*s\" (title, heading, meta, "
                "body, alt, params, jsonld, og, any)", (int)len, it);
      ok = 0;
      continue;
    }
    mask |= QW_FIELDMASK((unsigned)f);
  }
  if(ok && !mask) {
    key_error(L, s, k, "no field given");
    ok = 0;
  }
  *out = mask;
  return ok ? 0 : -1;
}

static int parse_scope(loader *L, const section *s, const kv *k,
                       uint32_t *out)
{
  const char *p = k->value, *it;
  size_t len;
  uint32_t mask = 0;
  int ok = 1;
  while(next_item(&p, &it, &len)) {
    if(item_is(it, len, "any")) {
      mask = QW_SCOPE_ANY;
      continue;
    }
    char name[32];
    int t = -1;
    if(len && len < sizeof(name)) {
      memcpy(name, it, len);
      name[len] = '\0';
      t = qw_page_type_from_name(name);
    }
    if(t < 0 || t > 7) {
      key_error(L, s, k, "unknown page type \"%.*s\" (product, storefront, "
                "platform, other, any)", (int)len, it);
      ok = 0;
      continue;
    }
    mask |= QW_SCOPEMASK((unsigned)t);
  }
  if(ok && !mask) {
    key_error(L, s, k, "no page type given");
    ok = 0;
  }
  *out = mask;
  return ok ? 0 : -1;
}

static int parse_numbers(loader *L, const section *s, const kv *k,
                         qw_num_req **out, size_t *n_out)
{
  const char *p = k->value, *it;
  size_t len, n = 0, cap = 0;
  qw_num_req *v = NULL;
  int ok = 1;
  while(next_item(&p, &it, &len)) {
    const char *colon = memchr(it, ':', len);
    size_t nl = colon ? (size_t)(colon - it) : len;
    while(nl && is_space(it[nl - 1]))
      nl--;
    int kind = nl ? qw_num_kind_from_name(it, nl) : -1;
    int cls = 0;
    if(kind < 0 || kind >= QW_NUM_KIND_COUNT) {
      key_error(L, s, k, "unknown number kind \"%.*s\"", (int)nl, it);
      ok = 0;
      continue;
    }
    if(colon) {
      const char *c = colon + 1, *e = it + len;
      while(c < e && is_space(*c))
        c++;
      if(e - c != 1 || *c < '1' || *c > '3') {
        key_error(L, s, k, "bad class in \"%.*s\" (KIND:1, :2 or :3)",
                  (int)len, it);
        ok = 0;
        continue;
      }
      cls = *c - '0';
    }
    if(qw_grow((void **)&v, &cap, n + 1, sizeof(*v))) {
      L->oom = 1;
      free(v);
      return -1;
    }
    v[n].kind = (qw_num_kind)kind;
    v[n].device_class = cls;
    n++;
  }
  if(ok && n == 0) {
    key_error(L, s, k, "no number kind given");
    ok = 0;
  }
  if(!ok) {
    free(v);
    return -1;
  }
  *out = v;
  *n_out = n;
  return 0;
}

/* ---- sets and list files ---------------------------------------------- */

static int new_set(loader *L, const char *prefix, const char *id,
                   unsigned negation, qw_set_id *out)
{
  char name[300];
  snprintf(name, sizeof(name), "%s:%s", prefix, id);
  int set = qw_matcher_builder_new_set(L->mb, name, negation);
  if(set < 0 ||
     qw_grow((void **)&L->so, &L->cap_so, (size_t)set + 1, sizeof(set_origin))) {
    L->oom = 1;
    return -ENOMEM;
  }
  memset(&L->so[set], 0, sizeof(set_origin));
  L->n_so = (size_t)set + 1;
  *out = (qw_set_id)set;
  return 0;
}

static void record_origin(loader *L, qw_set_id set, int exc,
                          const char *file, int line)
{
  set_origin *so = &L->so[set];
  origin **v = exc ? &so->x : &so->e;
  size_t *n = exc ? &so->n_x : &so->n_e, *cap = exc ? &so->cap_x :
                                                      &so->cap_e;
  if(qw_grow((void **)v, cap, *n + 1, sizeof(origin))) {
    L->oom = 1;
    return;
  }
  (*v)[*n].file = file;
  (*v)[*n].line = line;
  (*n)++;
}

/* Adds a regex; on a compile error reports it through the section's key
 * (inline) or as "FILE:LINE: pattern: …" (list file). */
static void add_regex(loader *L, qw_set_id set, const char *pat, int exc,
                      const char *file, int line, const section *s,
                      const kv *k)
{
  char err[256];
  int r = qw_matcher_builder_add_regex(L->mb, set, pat, exc, err,
                                       sizeof(err));
  if(r == -ENOMEM) {
    L->oom = 1;
    return;
  }
  if(r < 0) {
    if(k)
      key_error(L, s, k, "%s", err);
    else
      add_error(L, file, line, "pattern: %s", err);
    return;
  }
  record_origin(L, set, exc, file, line);
}

static void add_term(loader *L, qw_set_id set, const char *term, size_t len,
                     int exc, const char *file, int line)
{
  qw_norm nm;
  memset(&nm, 0, sizeof(nm));
  int r = qw_normalize(term, len, &nm);
  if(r) {
    if(r == -ENOMEM)
      L->oom = 1;
    else
      add_error(L, file, line, "term cannot be normalised");
    return;
  }
  /* The normaliser may leave a space at either end of a short term. */
  const char *t = nm.text;
  size_t tl = nm.len;
  while(tl && t[0] == ' ') {
    t++;
    tl--;
  }
  while(tl && t[tl - 1] == ' ')
    tl--;
  if(tl == 0) {
    add_error(L, file, line, "term \"%.*s\" is empty after normalisation",
              (int)(len > 60 ? 60 : len), term);
    qw_norm_free(&nm);
    return;
  }
  r = qw_matcher_builder_add_literal(L->mb, set, t, tl, exc);
  qw_norm_free(&nm);
  if(r < 0) {
    if(r == -ENOMEM)
      L->oom = 1;
    else
      add_error(L, file, line, "term refused (%s)", strerror(-r));
    return;
  }
  if(!exc)
    L->so[set].n_literals++;
  record_origin(L, set, exc, file, line);
}

static int safe_rel_path(const char *p)
{
  if(!*p || *p == '/')
    return 0;
  const char *c = p;
  while(*c) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if(n == 2 && c[0] == '.' && c[1] == '.')
      return 0;
    if(!e)
      break;
    c = e + 1;
  }
  return 1;
}

/* Loads the list file named by k into set; every entry is an exception
 * when all_exc. */
static void load_list(loader *L, const section *s, const kv *k,
                      qw_set_id set, int all_exc)
{
  if(!safe_rel_path(k->value)) {
    key_error(L, s, k, "\"%s\": list paths are relative to the pack "
              "directory and may not contain \"..\"", k->value);
    return;
  }
  char *path = join_path(L->dir, k->value);
  const char *file = path ? intern(L, path) : NULL;
  free(path);
  if(!file) {
    L->oom = 1;
    return;
  }
  char *text = NULL;
  size_t len = 0;
  int r = qw_read_file(file, MAX_FILE_BYTES, &text, &len);
  if(r) {
    if(r == -ENOMEM)
      L->oom = 1;
    else
      key_error(L, s, k, "%s: %s", k->value,
                r == -EFBIG ? "file too large" : strerror(-r));
    return;
  }
  size_t i = 0;
  if(len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  int line = 0;
  while(i < len && !L->oom) {
    line++;
    char *nl = memchr(text + i, '\n', len - i);
    size_t e = nl ? (size_t)(nl - text) : len;
    char *a = text + i, *b = text + e;
    i = e + 1;
    while(a < b && is_space(*a))
      a++;
    while(b > a && is_space(b[-1]))
      b--;
    *b = '\0';
    if(a == b || *a == '#')
      continue;
    if(memchr(a, '\0', (size_t)(b - a))) {
      add_error(L, file, line, "NUL byte in entry");
      continue;
    }
    int exc = all_exc;
    if(*a == '!') {
      exc = 1;
      a++;
      while(a < b && is_space(*a))
        a++;
    }
    if(b - a >= 3 && memcmp(a, "re:", 3) == 0) {
      if(!a[3]) {
        add_error(L, file, line, "pattern: empty");
        continue;
      }
      add_regex(L, set, a + 3, exc, file, line, s, NULL);
      continue;
    }
    if(*a == '\\')
      a++;
    if(a == b) {
      add_error(L, file, line, "empty entry");
      continue;
    }
    add_term(L, set, a, (size_t)(b - a), exc, file, line);
  }
  free(text);
}

/* Adds the list/pattern/exceptions keys named by (list_key, pat_key,
 * exc_key) of section s to a new set PREFIX:ID. Returns the number of
 * positive sources (list files and patterns) seen. */
static size_t fill_set(loader *L, const section *s, const char *prefix,
                       unsigned negation, const char *list_key,
                       const char *pat_key, const char *exc_key,
                       qw_set_id *out)
{
  *out = QW_SET_NONE;
  size_t sources = 0, excs = 0;
  for(size_t i = 0; i < s->n_kv; i++) {
    const char *key = s->kv[i].key;
    if(strcmp(key, list_key) == 0 || strcmp(key, pat_key) == 0)
      sources++;
    else if(exc_key && strcmp(key, exc_key) == 0)
      excs++;
  }
  if(sources == 0) {
    if(excs)
      key_error(L, s, NULL, "has exceptions but no list or pattern");
    return 0;
  }
  if(new_set(L, prefix, s->id, negation, out))
    return sources;
  for(size_t i = 0; i < s->n_kv && !L->oom; i++) {
    const kv *k = &s->kv[i];
    if(strcmp(k->key, list_key) == 0)
      load_list(L, s, k, *out, 0);
    else if(exc_key && strcmp(k->key, exc_key) == 0)
      load_list(L, s, k, *out, 1);
    else if(strcmp(k->key, pat_key) == 0) {
      if(!*k->value)
        key_error(L, s, k, "empty pattern");
      else
        add_regex(L, *out, k->value, 0, s->file, k->line, s, k);
    }
  }
  return sources;
}

/* ---- sections --------------------------------------------------------- */

static int key_index(const char *const *keys, size_t n, const char *key)
{
  return name_index(keys, n, key);
}

/* Checks the keys of s against the allowed table: unknown keys and
 * repeated single keys are errors. Fills found[] with the kv index of each
 * single key (-1 when absent). */
static void check_keys(loader *L, const section *s, const char *const *keys,
                       size_t n_keys, const char *const *repeatable,
                       size_t n_rep, int *found)
{
  for(size_t i = 0; i < n_keys; i++)
    found[i] = -1;
  for(size_t i = 0; i < s->n_kv; i++) {
    const kv *k = &s->kv[i];
    int ki = key_index(keys, n_keys, k->key);
    if(ki < 0) {
      if(key_index(repeatable, n_rep, k->key) < 0)
        key_error(L, s, k, "unknown key");
      continue;
    }
    if(found[ki] >= 0) {
      key_error(L, s, k, "given twice (first on line %d)",
                s->kv[found[ki]].line);
      continue;
    }
    found[ki] = (int)i;
  }
}

static char *dup_value(loader *L, const char *v)
{
  char *d = strdup(v ? v : "");
  if(!d)
    L->oom = 1;
  return d;
}

enum { PK_NAME, PK_VERSION, PK_AUTH, PK_ALIASES, PK_YEAR, PK_N };
static const char *const pack_keys[PK_N] = {
  "name", "version", "authorities", "authority_aliases", "current_year",
};

static void do_pack(loader *L, const section *s)
{
  int f[PK_N];
  check_keys(L, s, pack_keys, PK_N, NULL, 0, f);
  qw_ruleset *rs = L->rs;
  if(f[PK_NAME] >= 0) {
    free(rs->name);
    rs->name = dup_value(L, s->kv[f[PK_NAME]].value);
  }
  if(f[PK_VERSION] >= 0) {
    free(rs->version);
    rs->version = dup_value(L, s->kv[f[PK_VERSION]].value);
  }
  if(f[PK_YEAR] >= 0) {
    const kv *k = &s->kv[f[PK_YEAR]];
    long y;
    if(parse_uint(k->value, 9999, &y) || (y != 0 && y < 1990))
      key_error(L, s, k, "\"%s\": a year (e.g. 2026) or 0 for the current "
                "year", k->value);
    else
      rs->current_year = (int)y;
  }
  L->pack = s;
}

enum {
  DK_NAME, DK_CLASS, DK_CODE, DK_RISK, DK_FIELDS, DK_N
};
static const char *const device_keys[DK_N] = {
  "name", "class", "code", "risk", "fields",
};
static const char *const device_rep[] = {"list", "pattern", "exceptions"};

static void do_device(loader *L, const section *s)
{
  int f[DK_N];
  check_keys(L, s, device_keys, DK_N, device_rep, N_OF(device_rep), f);
  qw_ruleset *rs = L->rs;
  if(qw_grow((void **)&rs->devices, &L->cap_devices, rs->n_devices + 1,
          sizeof(qw_device))) {
    L->oom = 1;
    return;
  }
  qw_device *d = &rs->devices[rs->n_devices++];
  memset(d, 0, sizeof(*d));
  d->set = QW_SET_NONE;
  d->line = s->line;
  d->id = dup_value(L, s->id);
  d->file = dup_value(L, s->file);
  d->fields = QW_FIELDMASK(QW_FIELD_TITLE) | QW_FIELDMASK(QW_FIELD_HEADING) |
              QW_FIELDMASK(QW_FIELD_PARAMS) | QW_FIELDMASK(QW_FIELD_JSONLD);
  if(f[DK_NAME] < 0 || !*s->kv[f[DK_NAME]].value)
    key_error(L, s, NULL, "name: required");
  d->name = dup_value(L, f[DK_NAME] >= 0 ? s->kv[f[DK_NAME]].value : "");
  d->code = dup_value(L, f[DK_CODE] >= 0 ? s->kv[f[DK_CODE]].value : "");
  if(f[DK_CLASS] < 0)
    key_error(L, s, NULL, "class: required (1, 2 or 3)");
  else {
    const kv *k = &s->kv[f[DK_CLASS]];
    long c;
    if(parse_uint(k->value, 3, &c) || c < 1)
      key_error(L, s, k, "\"%s\": 1, 2 or 3", k->value);
    else
      d->device_class = (int)c;
  }
  if(f[DK_RISK] >= 0) {
    const kv *k = &s->kv[f[DK_RISK]];
    int r = name_index(risk_names, N_OF(risk_names), k->value);
    if(r < 0)
      key_error(L, s, k, "\"%s\": normal, implant or injectable", k->value);
    else
      d->risk = (qw_risk)r;
  }
  if(f[DK_FIELDS] >= 0)
    parse_fields(L, s, &s->kv[f[DK_FIELDS]], &d->fields);
  if(fill_set(L, s, "device", 0, "list", "pattern", "exceptions",
              &d->set) == 0)
    key_error(L, s, NULL, "needs at least one list or pattern");
}

enum {
  RK_KIND, RK_CATEGORY, RK_SEVERITY, RK_SEV2, RK_SEV3, RK_APPLIES, RK_SCOPE,
  RK_DEVICES, RK_FIELDS, RK_NEGATION, RK_NUMBERS, RK_UNLESS, RK_MESSAGE,
  RK_BASIS, RK_ENABLED, RK_N
};
static const char *const rule_keys[RK_N] = {
  "kind", "category", "severity", "severity_class2", "severity_class3",
  "applies", "scope", "devices", "fields", "negation", "numbers",
  "unless_numbers", "message", "basis", "enabled",
};
static const char *const rule_rep[] = {
  "list", "pattern", "exceptions", "trigger", "trigger_list",
};

static int parse_severity(loader *L, const section *s, const kv *k,
                          qw_severity *out)
{
  int v = qw_severity_from_name(k->value);
  if(v < 0) {
    key_error(L, s, k, "\"%s\": low, medium, high or critical", k->value);
    return -1;
  }
  *out = (qw_severity)v;
  return 0;
}

static void parse_devices(loader *L, const section *s, const kv *k,
                          qw_rule *r)
{
  const qw_ruleset *rs = L->rs;
  const char *p = k->value, *it;
  size_t len, cap = 0;
  while(next_item(&p, &it, &len)) {
    if(item_is(it, len, "*")) {
      free(r->devices);
      r->devices = NULL;
      r->n_devices = 0;
      cap = 0;
      if(!rs->n_devices)
        continue;
      r->devices = malloc(rs->n_devices * sizeof(uint32_t));
      if(!r->devices) {
        L->oom = 1;
        return;
      }
      for(size_t i = 0; i < rs->n_devices; i++)
        r->devices[i] = (uint32_t)i;
      r->n_devices = cap = rs->n_devices;
      continue;
    }
    size_t d = 0;
    for(; d < rs->n_devices; d++)
      if(item_is(it, len, rs->devices[d].id))
        break;
    if(d == rs->n_devices) {
      key_error(L, s, k, "unknown device \"%.*s\"", (int)len, it);
      continue;
    }
    if(qw_grow((void **)&r->devices, &cap, r->n_devices + 1, sizeof(uint32_t))) {
      L->oom = 1;
      return;
    }
    r->devices[r->n_devices++] = (uint32_t)d;
  }
  if(!r->n_devices && rs->n_devices)
    key_error(L, s, k, "no device given");
}

static void do_rule(loader *L, const section *s)
{
  int f[RK_N];
  check_keys(L, s, rule_keys, RK_N, rule_rep, N_OF(rule_rep), f);
  qw_ruleset *rs = L->rs;
  if(qw_grow((void **)&rs->rules, &L->cap_rules, rs->n_rules + 1,
          sizeof(qw_rule))) {
    L->oom = 1;
    return;
  }
  qw_rule *r = &rs->rules[rs->n_rules++];
  memset(r, 0, sizeof(*r));
  r->set = r->trigger = QW_SET_NONE;
  r->id = dup_value(L, s->id);
  r->file = dup_value(L, s->file);
  r->line = s->line;
  r->enabled = 1;
  r->applies = QW_APPLIES_DEVICE;
  r->scope = QW_SCOPEMASK(QW_PAGE_PRODUCT);
  r->fields = QW_FIELDMASK(QW_FIELD_TITLE) | QW_FIELDMASK(QW_FIELD_HEADING) |
              QW_FIELDMASK(QW_FIELD_BODY) | QW_FIELDMASK(QW_FIELD_PARAMS) |
              QW_FIELDMASK(QW_FIELD_JSONLD);
  static const char *const required[] = {
    "kind", "category", "severity", "message", "basis",
  };
  static const int req_idx[] = {
    RK_KIND, RK_CATEGORY, RK_SEVERITY, RK_MESSAGE, RK_BASIS,
  };
  for(size_t i = 0; i < N_OF(required); i++)
    if(f[req_idx[i]] < 0 || !*s->kv[f[req_idx[i]]].value)
      key_error(L, s, NULL, "%s: required", required[i]);
  int kind_ok = 0;
  if(f[RK_KIND] >= 0 && *s->kv[f[RK_KIND]].value) {
    const kv *k = &s->kv[f[RK_KIND]];
    int v = name_index(kind_names, N_OF(kind_names), k->value);
    if(v < 0)
      key_error(L, s, k, "\"%s\": forbid, require or extract", k->value);
    else {
      r->kind = (qw_rule_kind)v;
      kind_ok = 1;
    }
  }
  if(f[RK_CATEGORY] >= 0 && *s->kv[f[RK_CATEGORY]].value) {
    const kv *k = &s->kv[f[RK_CATEGORY]];
    int v = qw_category_from_name(k->value);
    if(v < 0)
      key_error(L, s, k, "unknown category \"%s\"", k->value);
    else
      r->category = (qw_category)v;
  }
  if(f[RK_SEVERITY] >= 0 && *s->kv[f[RK_SEVERITY]].value)
    parse_severity(L, s, &s->kv[f[RK_SEVERITY]], &r->severity);
  for(int c = 0; c < 4; c++)
    r->severity_class[c] = r->severity;
  if(f[RK_SEV2] >= 0)
    parse_severity(L, s, &s->kv[f[RK_SEV2]], &r->severity_class[2]);
  if(f[RK_SEV3] >= 0)
    parse_severity(L, s, &s->kv[f[RK_SEV3]], &r->severity_class[3]);
  if(f[RK_APPLIES] >= 0) {
    const kv *k = &s->kv[f[RK_APPLIES]];
    int v = name_index(applies_names, N_OF(applies_names), k->value);
    if(v < 0)
      key_error(L, s, k, "\"%s\": device, non_device or any", k->value);
    else
      r->applies = (qw_applies)v;
  }
  if(f[RK_SCOPE] >= 0)
    parse_scope(L, s, &s->kv[f[RK_SCOPE]], &r->scope);
  if(f[RK_FIELDS] >= 0)
    parse_fields(L, s, &s->kv[f[RK_FIELDS]], &r->fields);
  if(f[RK_DEVICES] >= 0)
    parse_devices(L, s, &s->kv[f[RK_DEVICES]], r);
  if(f[RK_NEGATION] >= 0) {
    const kv *k = &s->kv[f[RK_NEGATION]];
    long v;
    if(parse_uint(k->value, MAX_NEGATION, &v))
      key_error(L, s, k, "\"%s\": a number of characters, 0 to %u",
                k->value, MAX_NEGATION);
    else
      r->negation = (unsigned)v;
  }
  if(f[RK_NUMBERS] >= 0)
    parse_numbers(L, s, &s->kv[f[RK_NUMBERS]], &r->numbers, &r->n_numbers);
  if(f[RK_UNLESS] >= 0)
    parse_numbers(L, s, &s->kv[f[RK_UNLESS]], &r->unless_numbers,
                  &r->n_unless_numbers);
  if(f[RK_ENABLED] >= 0) {
    const kv *k = &s->kv[f[RK_ENABLED]];
    if(parse_bool(k->value, &r->enabled))
      key_error(L, s, k, "\"%s\": yes or no", k->value);
  }
  r->message = dup_value(L, f[RK_MESSAGE] >= 0 ? s->kv[f[RK_MESSAGE]].value :
                         "");
  r->basis = dup_value(L, f[RK_BASIS] >= 0 ? s->kv[f[RK_BASIS]].value : "");
  size_t srcs = fill_set(L, s, "rule", r->negation, "list", "pattern",
                         "exceptions", &r->set);
  size_t trig = fill_set(L, s, "trigger", 0, "trigger_list", "trigger",
                         NULL, &r->trigger);
  if(!kind_ok)
    return;
  /* what each kind takes */
  switch(r->kind) {
  case QW_RULE_FORBID:
    if(!srcs)
      key_error(L, s, NULL, "a forbid rule needs a list or pattern");
    if(trig)
      key_error(L, s, NULL, "trigger/trigger_list: only for require rules");
    if(r->n_numbers)
      key_error(L, s, &s->kv[f[RK_NUMBERS]], "only for require and "
                "extract rules (forbid rules take unless_numbers)");
    break;
  case QW_RULE_REQUIRE:
    if(!srcs && !r->n_numbers && f[RK_NUMBERS] < 0)
      key_error(L, s, NULL, "a require rule needs a list, pattern or "
                "numbers");
    if(r->n_unless_numbers)
      key_error(L, s, &s->kv[f[RK_UNLESS]], "only for forbid rules");
    break;
  case QW_RULE_EXTRACT:
    if(!r->n_numbers && f[RK_NUMBERS] < 0)
      key_error(L, s, NULL, "an extract rule needs numbers");
    if(srcs || trig)
      key_error(L, s, NULL, "an extract rule takes numbers, not lists, "
                "patterns or triggers");
    if(r->n_unless_numbers)
      key_error(L, s, &s->kv[f[RK_UNLESS]], "only for forbid rules");
    break;
  }
}

/* ---- notes ------------------------------------------------------------ */

static void add_note(loader *L, char *note)
{
  qw_ruleset *rs = L->rs;
  if(!note ||
     qw_grow((void **)&rs->notes, &L->cap_notes, rs->n_notes + 1,
          sizeof(char *))) {
    free(note);
    L->oom = 1;
    return;
  }
  rs->notes[rs->n_notes++] = note;
}

static char *fmt_note(const char *fmt, ...)
  __attribute__((format(printf, 1, 2)));

static char *fmt_note(const char *fmt, ...)
{
  qw_buf b = QW_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  int r = qw_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if(r) {
    qw_buf_free(&b);
    return NULL;
  }
  return qw_buf_steal(&b, NULL);
}

/* Prefixes a matcher note "set NAME entry N: …" with the entry's
 * file:line. */
static void map_note(loader *L, const char *note)
{
  const origin *o = NULL;
  if(strncmp(note, "set ", 4) == 0) {
    const char *name = note + 4;
    const char *sp = strchr(name, ' ');
    unsigned idx;
    if(sp) {
      int exc = strncmp(sp, " exception ", 11) == 0;
      const char *num = sp + (exc ? 11 : 7);
      if((exc || strncmp(sp, " entry ", 7) == 0) &&
         sscanf(num, "%u", &idx) == 1) {
        size_t nl = (size_t)(sp - name);
        for(size_t i = 0; i < L->n_so; i++) {
          const char *sn = qw_matcher_set_name(L->rs->matcher, (uint32_t)i);
          if(sn && strlen(sn) == nl && memcmp(sn, name, nl) == 0) {
            const set_origin *so = &L->so[i];
            if(exc && idx < so->n_x)
              o = &so->x[idx];
            else if(!exc && idx < so->n_e)
              o = &so->e[idx];
            break;
          }
        }
      }
    }
  }
  if(o)
    add_note(L, fmt_note("%s:%d: %s", o->file, o->line, note));
  else
    add_note(L, fmt_note("%s", note));
}

/* ---- the ruleset ------------------------------------------------------ */

static void ruleset_free(qw_ruleset *rs)
{
  if(!rs)
    return;
  free(rs->dir);
  free(rs->name);
  free(rs->version);
  for(size_t i = 0; i < rs->n_devices; i++) {
    qw_device *d = &rs->devices[i];
    free(d->id);
    free(d->name);
    free(d->code);
    free(d->file);
  }
  free(rs->devices);
  for(size_t i = 0; i < rs->n_rules; i++) {
    qw_rule *r = &rs->rules[i];
    free(r->id);
    free(r->devices);
    free(r->numbers);
    free(r->unless_numbers);
    free(r->message);
    free(r->basis);
    free(r->file);
  }
  free(rs->rules);
  qw_matcher_free(rs->matcher);
  qw_numbers_free(rs->numbers);
  for(size_t i = 0; i < rs->n_notes; i++)
    free(rs->notes[i]);
  free(rs->notes);
  free(rs);
}

qw_ruleset *qw_ruleset_ref(qw_ruleset *rs)
{
  if(rs)
    __atomic_add_fetch(&rs->refs, 1, __ATOMIC_RELAXED);
  return rs;
}

void qw_ruleset_unref(qw_ruleset *rs)
{
  if(rs && __atomic_sub_fetch(&rs->refs, 1, __ATOMIC_ACQ_REL) == 0)
    ruleset_free(rs);
}

const qw_rule *qw_ruleset_find(const qw_ruleset *rs, const char *id)
{
  if(!rs || !id)
    return NULL;
  for(size_t i = 0; i < rs->n_rules; i++)
    if(strcmp(rs->rules[i].id, id) == 0)
      return &rs->rules[i];
  return NULL;
}

static void loader_free(loader *L)
{
  for(size_t i = 0; i < L->n_files; i++)
    free(L->files[i]);
  free(L->files);
  for(size_t i = 0; i < L->n_secs; i++) {
    section *s = &L->secs[i];
    free(s->id);
    for(size_t k = 0; k < s->n_kv; k++) {
      free(s->kv[k].key);
      free(s->kv[k].value);
    }
    free(s->kv);
  }
  free(L->secs);
  free(L->headers);
  free(L->cur_section);
  qw_matcher_builder_free(L->mb);
  for(size_t i = 0; i < L->n_so; i++) {
    free(L->so[i].e);
    free(L->so[i].x);
  }
  free(L->so);
}

static const char *base_name(const char *dir)
{
  size_t n = strlen(dir);
  while(n > 1 && dir[n - 1] == '/')
    n--;
  const char *s = dir + n;
  while(s > dir && s[-1] != '/')
    s--;
  return s;
}

/* Builds the matcher and the number extractors. */
static void compile_pack(loader *L)
{
  qw_ruleset *rs = L->rs;
  char **notes = NULL;
  size_t nn = 0;
  char err[512];
  int r = qw_matcher_build(L->mb, &rs->matcher, &notes, &nn, err,
                           sizeof(err));
  if(r) {
    if(r == -ENOMEM)
      L->oom = 1;
    else
      add_error(L, L->dir, 0, "keyword matcher: %s", err);
    return;
  }
  for(size_t i = 0; i < nn; i++) {
    map_note(L, notes[i]);
    free(notes[i]);
  }
  free(notes);
  for(size_t i = 0; i < rs->n_rules; i++) {
    const qw_rule *ru = &rs->rules[i];
    if(ru->set != QW_SET_NONE && L->so[ru->set].n_literals == 0)
      add_note(L, fmt_note("%s:%d: rule %s has no literal anchor (patterns "
                           "only): its candidate blocks are confirmed with "
                           "PCRE2", ru->file, ru->line, ru->id));
  }
  const char *auth = NULL, *alias = NULL;
  const kv *auth_k = NULL, *alias_k = NULL;
  if(L->pack) {
    for(size_t i = 0; i < L->pack->n_kv; i++) {
      const kv *k = &L->pack->kv[i];
      if(strcmp(k->key, "authorities") == 0) {
        auth = *k->value ? k->value : NULL;
        auth_k = k;
      }
      else if(strcmp(k->key, "authority_aliases") == 0) {
        alias = *k->value ? k->value : NULL;
        alias_k = k;
      }
    }
  }
  r = qw_numbers_new(auth, alias, &rs->numbers, err, sizeof(err));
  if(r) {
    if(r == -ENOMEM)
      L->oom = 1;
    else if(alias_k && strncmp(err, "authority aliases", 17) == 0)
      key_error(L, L->pack, alias_k, "%s", err);
    else if(auth_k)
      key_error(L, L->pack, auth_k, "%s", err);
    else
      add_error(L, L->dir, 0, "number extractors: %s", err);
  }
}

int qw_ruleset_load(const char *dir, qw_ruleset **out, qw_diag *diag)
{
  if(!dir || !out)
    return -EINVAL;
  *out = NULL;
  loader L;
  memset(&L, 0, sizeof(L));
  L.dir = dir;
  L.diag = diag;
  L.rs = calloc(1, sizeof(qw_ruleset));
  L.mb = qw_matcher_builder_new();
  int r = 0;
  if(!L.rs || !L.mb)
    r = -ENOMEM;
  if(!r) {
    L.rs->refs = 1;
    L.rs->dir = strdup(dir);
    L.rs->name = strdup(base_name(dir));
    L.rs->version = strdup("");
    if(!L.rs->dir || !L.rs->name || !L.rs->version)
      r = -ENOMEM;
  }
  if(!r)
    r = read_ini_files(&L);
  /* [pack] first, then every device (rules refer to them), then rules. */
  for(int pass = SEC_PACK; pass <= SEC_RULE && !r && !L.oom; pass++)
    for(size_t i = 0; i < L.n_secs && !L.oom; i++) {
      const section *s = &L.secs[i];
      if(s->type != pass)
        continue;
      if(pass == SEC_PACK)
        do_pack(&L, s);
      else if(pass == SEC_DEVICE)
        do_device(&L, s);
      else
        do_rule(&L, s);
    }
  if(!r && !L.oom && L.n_errors == 0)
    compile_pack(&L);
  if(!r && L.oom)
    r = -ENOMEM;
  if(!r && L.n_errors)
    r = -EINVAL;
  if(r == -ENOMEM && diag)
    add_error(&L, dir, 0, "out of memory");
  qw_ruleset *rs = L.rs;
  L.rs = NULL;
  loader_free(&L);
  if(r) {
    ruleset_free(rs);
    return r;
  }
  *out = rs;
  return 0;
}
