/* config.c — qingwang.conf: the single table of keys and defaults, the value
 * parsers, the loader, command-line overrides and --dump-config (see
 * config.h).
 *
 * qw_config_keys[] is the only place a key or a default exists: defaults
 * are strings parsed by the same code that parses the file, so a default
 * is always something a user could have written, and the dump, the sample
 * file and docs/configuration.md are checked against the table by the
 * tests.
 *
 * Row conventions: numeric rows bound the value with min..max (inclusive);
 * STRING rows bound the length in bytes with min..max (max 0 = no bound);
 * ENUM rows list their choices. Field types: STRING and ENUM are char *
 * (owned by the config), UINT unsigned, ULONG unsigned long, SIZE size_t,
 * BOOL int (0 or 1). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ini.h"
#include "qw_build.h"
#include "utf8.h"

/* A config file is a few KiB; anything past this is not one. */
#define CONFIG_MAX_BYTES (1024u * 1024u)

#define OFF(f) offsetof(qw_config, f)
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GIB (1024ull * 1024ull * 1024ull)
#define PATH_BYTES 4095ull

const qw_config_key qw_config_keys[] = {
  /* [general] */
  {"general", "node_name", QW_CFG_STRING, OFF(node_name), "",
   0, 255, NULL,
   "Name of this node in clues and logs; empty = the host name."},
  {"general", "log_level", QW_CFG_ENUM, OFF(log_level), "info",
   0, 0, "debug|info|warn|error",
   "Least severe log message written: debug, info, warn or error."},
  /* [analysis] */
  {"analysis", "rules_dir", QW_CFG_STRING, OFF(rules_dir),
   QW_DEFAULT_RULES_DIR, 1, PATH_BYTES, NULL,
   "Rule pack directory (rule *.ini files and their keyword lists)."},
  {"analysis", "max_page_bytes", QW_CFG_SIZE, OFF(max_page_bytes), "16M",
   KIB, GIB, NULL,
   "Largest page body analysed, in bytes or with a K, M or G suffix."},
  {"analysis", "max_nodes", QW_CFG_UINT, OFF(max_nodes), "200000",
   1, UINT_MAX, NULL,
   "Most HTML elements taken from one page."},
  {"analysis", "max_depth", QW_CFG_UINT, OFF(max_depth), "512",
   16, 10000, NULL,
   "Deepest element nesting followed in a page."},
  {"analysis", "threads", QW_CFG_UINT, OFF(threads), "0",
   0, 256, NULL,
   "Analysis worker threads; 0 = one per CPU core."},
  {"analysis", "pcre_match_limit", QW_CFG_ULONG, OFF(pcre_match_limit),
   "1000000", 1, UINT32_MAX, NULL,
   "PCRE2 match limit for one pattern match (bounds backtracking)."},
  {"analysis", "pcre_heap_limit_kib", QW_CFG_ULONG,
   OFF(pcre_heap_limit_kib), "20000", 1, UINT32_MAX, NULL,
   "PCRE2 heap limit for one pattern match, in KiB."},
  {"analysis", "context_chars", QW_CFG_UINT, OFF(context_chars), "30",
   0, 500, NULL,
   "Characters of page text kept on each side of a match as evidence."},
  /* [output] */
  {"output", "evidence_dir", QW_CFG_STRING, OFF(evidence_dir), "evidence",
   1, PATH_BYTES, NULL,
   "Directory where evidence files are written."},
  {"output", "jsonl_path", QW_CFG_STRING, OFF(jsonl_path), "",
   0, PATH_BYTES, NULL,
   "JSON Lines file for clues when no Redis is used; empty = stdout."},
  {NULL, NULL, QW_CFG_STRING, 0, NULL, 0, 0, NULL, NULL}
};

/* ===== Helpers ===== */

static void say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t len, const char *fmt, ...)
{
  if(!buf || !len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, len, fmt, ap);
  va_end(ap);
}

static int is_string_type(qw_config_type t)
{
  return t == QW_CFG_STRING || t == QW_CFG_ENUM;
}

static char **str_field(qw_config *cfg, const qw_config_key *k)
{
  return (char **)(void *)((char *)cfg + k->offset);
}

static const char *str_value(const qw_config *cfg, const qw_config_key *k)
{
  const char *const *p =
    (const char *const *)(const void *)((const char *)cfg + k->offset);
  return *p ? *p : "";
}

static const qw_config_key *find_key(const char *section, const char *key)
{
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    if(!strcmp(k->section, section) && !strcmp(k->key, key))
      return k;
  return NULL;
}

static int section_known(const char *section)
{
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    if(!strcmp(k->section, section))
      return 1;
  return 0;
}

/* "16M" for 16 MiB; plain bytes when no suffix divides exactly. */
static void format_size(unsigned long long v, char *out, size_t len)
{
  if(v && v % GIB == 0)
    snprintf(out, len, "%lluG", v / GIB);
  else if(v && v % MIB == 0)
    snprintf(out, len, "%lluM", v / MIB);
  else if(v && v % KIB == 0)
    snprintf(out, len, "%lluK", v / KIB);
  else
    snprintf(out, len, "%llu", v);
}

static void format_limit(const qw_config_key *k, unsigned long long v,
                         char *out, size_t len)
{
  if(k->type == QW_CFG_SIZE)
    format_size(v, out, len);
  else
    snprintf(out, len, "%llu", v);
}

/* ===== Value parsers: text → field. why gets the reason on -EINVAL. ===== */

/* Leading decimal digits of s into *v. Returns the number of digits, or -1
 * on overflow. */
static int read_digits(const char *s, unsigned long long *v)
{
  unsigned long long n = 0;
  int i = 0;
  while(s[i] >= '0' && s[i] <= '9') {
    unsigned d = (unsigned)(s[i] - '0');
    if(n > (ULLONG_MAX - d) / 10)
      return -1;
    n = n * 10 + d;
    i++;
  }
  *v = n;
  return i;
}

static int parse_number(const qw_config_key *k, const char *s,
                        unsigned long long *out, char *why, size_t whylen)
{
  int size = k->type == QW_CFG_SIZE;
  const char *what = size ? "a size (bytes, or a number with K, M or G)"
                          : "a whole number";
  if(!*s) {
    say(why, whylen, "empty value; expected %s", what);
    return -EINVAL;
  }
  if(*s == '-') {
    say(why, whylen, "'%.80s': negative values are not allowed", s);
    return -EINVAL;
  }
  unsigned long long v;
  int nd = read_digits(s, &v);
  if(nd < 0) {
    say(why, whylen, "'%.80s' is too large", s);
    return -EINVAL;
  }
  if(nd == 0) {
    say(why, whylen, "'%.80s' is not %s", s, what);
    return -EINVAL;
  }
  const char *p = s + nd;
  if(size) {
    unsigned long long mul = 1;
    while(*p == ' ' || *p == '\t')
      p++;
    if(*p) {
      if(!strcasecmp(p, "k") || !strcasecmp(p, "kib"))
        mul = KIB;
      else if(!strcasecmp(p, "m") || !strcasecmp(p, "mib"))
        mul = MIB;
      else if(!strcasecmp(p, "g") || !strcasecmp(p, "gib"))
        mul = GIB;
      else if(!strcasecmp(p, "kb") || !strcasecmp(p, "mb") ||
              !strcasecmp(p, "gb")) {
        char u = (char)toupper((unsigned char)*p);
        say(why, whylen, "'%.80s': '%s' is ambiguous; write %c or %ciB "
            "(1K = 1024 bytes)", s, p, u, u);
        return -EINVAL;
      }
      else {
        say(why, whylen, "'%.80s' is not %s", s, what);
        return -EINVAL;
      }
      p += strlen(p);
    }
    if(v > ULLONG_MAX / mul) {
      say(why, whylen, "'%.80s' is too large", s);
      return -EINVAL;
    }
    v *= mul;
  }
  if(*p) {
    say(why, whylen, "'%.80s' is not %s", s, what);
    return -EINVAL;
  }
  char lim[32];
  if(v < k->min) {
    format_limit(k, k->min, lim, sizeof(lim));
    say(why, whylen, "%.80s is below the minimum %s", s, lim);
    return -EINVAL;
  }
  if(v > k->max) {
    format_limit(k, k->max, lim, sizeof(lim));
    say(why, whylen, "%.80s is above the maximum %s", s, lim);
    return -EINVAL;
  }
  *out = v;
  return 0;
}

static int parse_bool(const char *s, int *out, char *why, size_t whylen)
{
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for(size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if(!strcasecmp(s, yes[i])) {
      *out = 1;
      return 0;
    }
    if(!strcasecmp(s, no[i])) {
      *out = 0;
      return 0;
    }
  }
  say(why, whylen, "'%.80s' is not a boolean "
      "(yes/no, true/false, on/off, 1/0)", s);
  return -EINVAL;
}

static int check_enum(const qw_config_key *k, const char *s, char *why,
                      size_t whylen)
{
  size_t n = strlen(s);
  const char *c = k->choices;
  while(c && *c) {
    const char *bar = strchr(c, '|');
    size_t cl = bar ? (size_t)(bar - c) : strlen(c);
    if(cl == n && !memcmp(c, s, n))
      return 0;
    c = bar ? bar + 1 : NULL;
  }
  say(why, whylen, "'%.80s' is not one of %s", s, k->choices);
  return -EINVAL;
}

static int check_string(const qw_config_key *k, const char *s, char *why,
                        size_t whylen)
{
  size_t n = strlen(s);
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if((c < 0x20 && c != '\t') || c == 0x7F) {
      say(why, whylen, "control character 0x%02X in the value", c);
      return -EINVAL;
    }
  }
  if(!qw_utf8_valid(s, n)) {
    say(why, whylen, "the value is not valid UTF-8");
    return -EINVAL;
  }
  size_t bs = 0;
  while(bs < n && s[n - 1 - bs] == '\\')
    bs++;
  if(bs & 1) {
    say(why, whylen, "the value must not end in a single backslash "
        "(in a file that continues the line)");
    return -EINVAL;
  }
  if(n < k->min) {
    say(why, whylen, "the value must not be empty");
    return -EINVAL;
  }
  if(k->max && n > k->max) {
    say(why, whylen, "the value is %zu bytes long; the maximum is %llu", n,
        k->max);
    return -EINVAL;
  }
  return 0;
}

/* Parses s (already trimmed) for row k and stores it in cfg. */
static int store(qw_config *cfg, const qw_config_key *k, const char *s,
                 char *why, size_t whylen)
{
  void *f = (char *)cfg + k->offset;
  unsigned long long v = 0;
  int r;
  switch(k->type) {
  case QW_CFG_STRING:
  case QW_CFG_ENUM: {
    r = k->type == QW_CFG_ENUM ? check_enum(k, s, why, whylen)
                               : check_string(k, s, why, whylen);
    if(r)
      return r;
    char *d = strdup(s);
    if(!d) {
      say(why, whylen, "out of memory");
      return -ENOMEM;
    }
    char **sp = str_field(cfg, k);
    free(*sp);
    *sp = d;
    return 0;
  }
  case QW_CFG_BOOL:
    return parse_bool(s, (int *)f, why, whylen);
  case QW_CFG_UINT:
  case QW_CFG_ULONG:
  case QW_CFG_SIZE:
    r = parse_number(k, s, &v, why, whylen);
    if(r)
      return r;
    if(k->type == QW_CFG_UINT) {
      if(v > UINT_MAX)
        goto too_big;
      *(unsigned *)f = (unsigned)v;
    }
    else if(k->type == QW_CFG_ULONG) {
      if(v > ULONG_MAX)
        goto too_big;
      *(unsigned long *)f = (unsigned long)v;
    }
    else {
      if(v > SIZE_MAX)
        goto too_big;
      *(size_t *)f = (size_t)v;
    }
    return 0;
  }
  say(why, whylen, "bad key type");
  return -EINVAL;
too_big:
  say(why, whylen, "'%.80s' is too large", s);
  return -EINVAL;
}

/* ===== Suggestions for misspelt keys ===== */

#define SUGGEST_MAX 64

/* Optimal string alignment distance (insert, delete, substitute, swap two
 * neighbours); both strings at most SUGGEST_MAX bytes. */
static size_t edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  size_t rows[3][SUGGEST_MAX + 1];
  size_t *pp = rows[0], *p = rows[1], *c = rows[2];
  for(size_t j = 0; j <= lb; j++)
    p[j] = j;
  for(size_t i = 1; i <= la; i++) {
    c[0] = i;
    for(size_t j = 1; j <= lb; j++) {
      size_t cost = a[i - 1] != b[j - 1];
      size_t best = p[j - 1] + cost;
      if(p[j] + 1 < best)
        best = p[j] + 1;
      if(c[j - 1] + 1 < best)
        best = c[j - 1] + 1;
      if(i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
         pp[j - 2] + 1 < best)
        best = pp[j - 2] + 1;
      c[j] = best;
    }
    size_t *t = pp;
    pp = p;
    p = c;
    c = t;
  }
  return p[lb];
}

/* Near enough to be a typo of cand. */
static int close_to(const char *typed, const char *cand)
{
  if(strlen(typed) > SUGGEST_MAX || strlen(cand) > SUGGEST_MAX)
    return 0;
  size_t d = edit_distance(typed, cand);
  return d <= 2 && 2 * d < strlen(cand);
}

/* Explains an unknown section or key into why, with a suggestion when one
 * is close. */
static void explain_unknown(const char *section, const char *key, char *why,
                            size_t whylen)
{
  if(!section_known(section)) {
    const char *best = NULL;
    for(const qw_config_key *k = qw_config_keys; k->key; k++)
      if(!best && close_to(section, k->section))
        best = k->section;
    if(best) {
      say(why, whylen, "unknown section [%.80s]; did you mean [%s]?",
          section, best);
      return;
    }
    char known[256] = "";
    size_t n = 0;
    for(const qw_config_key *k = qw_config_keys; k->key; k++) {
      if(k != qw_config_keys && !strcmp(k[-1].section, k->section))
        continue;
      int w = snprintf(known + n, sizeof(known) - n, "%s[%s]",
                       n ? ", " : "", k->section);
      if(w < 0 || (size_t)w >= sizeof(known) - n)
        break;
      n += (size_t)w;
    }
    say(why, whylen, "unknown section [%.80s] (known sections: %s)",
        section, known);
    return;
  }
  const char *best = NULL;
  size_t bestd = SIZE_MAX;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(strcmp(k->section, section) || !close_to(key, k->key))
      continue;
    size_t d = edit_distance(key, k->key);
    if(d < bestd) {
      bestd = d;
      best = k->key;
    }
  }
  if(best) {
    say(why, whylen, "unknown key '%.80s' in [%s]; did you mean '%s'?", key,
        section, best);
    return;
  }
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!strcmp(k->key, key)) {
      say(why, whylen, "unknown key '%s' in [%s]; it belongs in [%s]", key,
          section, k->section);
      return;
    }
  }
  say(why, whylen, "unknown key '%.80s' in [%s]", key, section);
}

/* ===== Public API ===== */

void qw_config_free(qw_config *cfg)
{
  if(!cfg)
    return;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(is_string_type(k->type)) {
      char **sp = str_field(cfg, k);
      free(*sp);
      *sp = NULL;
    }
  }
}

int qw_config_init(qw_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char why[256];
    int r = store(cfg, k, k->def, why, sizeof(why));
    if(r) {
      qw_config_free(cfg);
      return r;
    }
  }
  return 0;
}

/* Deep copy of src into dst (dst's old content is not freed). */
static int config_copy(qw_config *dst, const qw_config *src)
{
  *dst = *src;
  const qw_config_key *k;
  for(k = qw_config_keys; k->key; k++)
    if(is_string_type(k->type))
      *str_field(dst, k) = NULL;
  for(k = qw_config_keys; k->key; k++) {
    if(!is_string_type(k->type))
      continue;
    char *d = strdup(str_value(src, k));
    if(!d) {
      qw_config_free(dst);
      return -ENOMEM;
    }
    *str_field(dst, k) = d;
  }
  return 0;
}

typedef struct {
  qw_config *cfg;
  const char *name;
  int *seen;        /* line each key was set on, 0 = not yet */
  char *err;
  size_t errlen;
  int failed;       /* the error came from the callback */
} load_ctx;

static int on_key(void *ud, const char *section, const char *key,
                  const char *value, int line)
{
  load_ctx *c = ud;
  char why[512];
  c->failed = 1;
  if(!*section) {
    say(c->err, c->errlen, "%s:%d: key '%.80s' is outside any section "
        "(put a [section] header above it)", c->name, line, key);
    return -EINVAL;
  }
  const qw_config_key *k = find_key(section, key);
  if(!k) {
    explain_unknown(section, key, why, sizeof(why));
    say(c->err, c->errlen, "%s:%d: %s", c->name, line, why);
    return -EINVAL;
  }
  size_t idx = (size_t)(k - qw_config_keys);
  if(c->seen[idx]) {
    say(c->err, c->errlen, "%s:%d: [%s] %s: duplicate key (already set on "
        "line %d)", c->name, line, section, key, c->seen[idx]);
    return -EINVAL;
  }
  int r = store(c->cfg, k, value, why, sizeof(why));
  if(r) {
    say(c->err, c->errlen, "%s:%d: [%s] %s: %s", c->name, line, section, key,
        why);
    return r;
  }
  c->seen[idx] = line;
  c->failed = 0;
  return 0;
}

int qw_config_load_buffer(qw_config *cfg, const char *name, const char *text,
                          size_t len, char *err, size_t errlen)
{
  size_t nkeys = 0;
  while(qw_config_keys[nkeys].key)
    nkeys++;
  say(err, errlen, "%s", "");
  qw_config work;
  int r = config_copy(&work, cfg);
  if(r) {
    say(err, errlen, "%s: out of memory", name);
    return r;
  }
  int *seen = calloc(nkeys, sizeof(*seen));
  if(!seen) {
    qw_config_free(&work);
    say(err, errlen, "%s: out of memory", name);
    return -ENOMEM;
  }
  load_ctx c = {&work, name, seen, err, errlen, 0};
  char ierr[256];
  r = qw_ini_parse(text, len, on_key, &c, ierr, sizeof(ierr));
  if(r && !c.failed) {
    /* The tokenizer says "line N: why"; we say "FILE:N: why". */
    long line = 0;
    const char *why = ierr;
    if(!strncmp(ierr, "line ", 5)) {
      char *end;
      line = strtol(ierr + 5, &end, 10);
      if(end[0] == ':' && end[1] == ' ')
        why = end + 2;
    }
    if(line > 0)
      say(err, errlen, "%s:%ld: %s", name, line, why);
    else
      say(err, errlen, "%s: %s", name, why);
  }
  free(seen);
  if(r) {
    qw_config_free(&work);
    return r;
  }
  qw_config_free(cfg);
  *cfg = work;
  return 0;
}

int qw_config_load(qw_config *cfg, const char *path, char *err,
                   size_t errlen)
{
  char *text = NULL;
  size_t len = 0;
  int r = qw_read_file(path, CONFIG_MAX_BYTES, &text, &len);
  if(r == -EFBIG) {
    say(err, errlen, "%s: larger than %u KiB; not a config file?", path,
        CONFIG_MAX_BYTES / 1024u);
    return r;
  }
  if(r) {
    say(err, errlen, "%s: %s", path, strerror(-r));
    return r;
  }
  r = qw_config_load_buffer(cfg, path, text, len, err, errlen);
  free(text);
  return r;
}

int qw_config_set(qw_config *cfg, const char *section, const char *key,
                  const char *value, char *err, size_t errlen)
{
  char why[512];
  const qw_config_key *k = find_key(section, key);
  if(!k) {
    explain_unknown(section, key, why, sizeof(why));
    say(err, errlen, "%s", why);
    return -EINVAL;
  }
  /* Trimmed like a value in the file. */
  size_t n = strlen(value);
  while(n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
    n--;
  while(n && (*value == ' ' || *value == '\t')) {
    value++;
    n--;
  }
  char *v = strndup(value, n);
  if(!v) {
    say(err, errlen, "[%s] %s: out of memory", section, key);
    return -ENOMEM;
  }
  int r = store(cfg, k, v, why, sizeof(why));
  free(v);
  if(r)
    say(err, errlen, "[%s] %s: %s", section, key, why);
  return r;
}

/* The value of k as it is written in a file: tmp holds numbers. */
static const char *value_text(const qw_config *cfg, const qw_config_key *k,
                              char *tmp, size_t tmplen)
{
  const void *f = (const char *)cfg + k->offset;
  switch(k->type) {
  case QW_CFG_STRING:
  case QW_CFG_ENUM:
    return str_value(cfg, k);
  case QW_CFG_BOOL:
    return *(const int *)f ? "yes" : "no";
  case QW_CFG_UINT:
    snprintf(tmp, tmplen, "%u", *(const unsigned *)f);
    return tmp;
  case QW_CFG_ULONG:
    snprintf(tmp, tmplen, "%lu", *(const unsigned long *)f);
    return tmp;
  case QW_CFG_SIZE:
    format_size(*(const size_t *)f, tmp, tmplen);
    return tmp;
  }
  return "";
}

void qw_config_dump(const qw_config *cfg, FILE *out)
{
  const char *section = NULL;
  fputs("# qingwang configuration: the effective value of every key.\n"
        "# Keys and values: docs/configuration.md.\n", out);
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!section || strcmp(section, k->section)) {
      section = k->section;
      fprintf(out, "\n[%s]\n", section);
    }
    char tmp[48];
    const char *v = value_text(cfg, k, tmp, sizeof(tmp));
    fprintf(out, "\n# %s\n", k->doc);
    if(strcmp(v, k->def))
      fprintf(out, "# (default: %s)\n", *k->def ? k->def : "empty");
    if(*v)
      fprintf(out, "%s = %s\n", k->key, v);
    else
      fprintf(out, "%s =\n", k->key);
  }
}
