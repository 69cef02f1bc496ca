/* robots.c — robots.txt (RFC 9309): one pass over the file into a sorted
 * rule list for our agent, then "may this path be fetched?" answered by
 * walking that list (see robots.h).
 *
 * Decisions the header leaves open:
 * - Lines end at CR, LF or CRLF; a UTF-8 BOM is skipped; '#' starts a
 *   comment anywhere; a line without ':' is ignored. Keys are compared
 *   case-insensitively, with the common misspellings crawlers accept
 *   ("useragent", "disalow", "crawl delay" …).
 * - Groups: one or more user-agent lines (blank lines between them do not
 *   matter), then rules. An allow, disallow (an empty one too) or
 *   crawl-delay line ends the run of user-agent lines; Sitemap and unknown
 *   lines do not. Rules before the first user-agent line belong to no
 *   group and are ignored.
 * - Agent matching: the product token of a user-agent line is its value up
 *   to the first '/' or blank; it matches when it equals our agent's token
 *   (also cut at '/' or blank) ignoring case. When any group names us,
 *   only those groups count (merged), even when they have no rules;
 *   otherwise the "*" groups (merged); otherwise everything is allowed.
 * - Patterns: a pattern that starts with neither '/' nor '*' gets a '/'
 *   in front ("Disallow: admin" is taken as "/admin": a webmaster who wrote
 *   it meant to keep us out). A final '$' anchors the end; any other '$' is
 *   a literal character. Patterns and paths are normalised the same way
 *   before comparing: "%xx" of an unreserved character (ALPHA DIGIT - . _
 *   ~) is decoded, other "%xx" get upper-case hex, a '%' not followed by
 *   two hex digits becomes "%25", and bytes outside printable ASCII
 *   (UTF-8, controls, space) become "%XX".
 * - Precedence: the matching rule with the longest normalised pattern (as
 *   written, '$' included) wins; allow wins a tie. Rules are sorted that
 *   way once, so a query stops at its first match. Matching is the
 *   iterative wildcard walk with one backtrack point: O(pattern × path)
 *   at worst, never exponential, whatever the number of '*'.
 * - Crawl-delay: a non-negative decimal number of seconds ("10", "0.5",
 *   ".25"), rounded to milliseconds and capped at one day; anything else
 *   is ignored. The first valid one of the chosen groups counts.
 * - Size: bytes past 500 KiB are ignored, and so is the line cut by that
 *   limit. Sitemap URLs are kept for the whole file, at most 1000; a value
 *   with a control character (NUL, TAB …) is not a URL and is skipped.
 *
 * A parsed object is immutable: any number of threads may query it. */
#include "robots.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define ROBOTS_MAX_BYTES (500u * 1024u)
#define ROBOTS_MAX_SITEMAPS 1000u
#define ROBOTS_MAX_DELAY_MS 86400000L
/* Paths up to this many normalised bytes are matched without malloc. */
#define PATH_STACK 2048u

typedef struct {
  const char *pat;        /* normalised, '*' runs collapsed, no final '$' */
  size_t len;             /* bytes of pat */
  size_t prio;            /* normalised length as written ('$' counted) */
  unsigned char allow;
  unsigned char anchored; /* pattern ended in '$' */
  unsigned char literal;  /* no '*' in pat */
} robots_rule;

struct qw_robots {
  int fixed;              /* 1 for the static allow/disallow objects */
  int disallow_all;       /* static "disallow everything" object */
  robots_rule *rules;     /* sorted: longest first, allow first on ties */
  size_t n_rules;
  long delay_ms;
  const char **sitemaps;
  size_t n_sitemaps;
  char *pool;             /* every pattern and sitemap string */
};

static qw_robots allow_all_obj = {1, 0, NULL, 0, -1, NULL, 0, NULL};
static qw_robots disallow_all_obj = {1, 1, NULL, 0, -1, NULL, 0, NULL};

qw_robots *qw_robots_allow_all(void)
{
  return &allow_all_obj;
}

qw_robots *qw_robots_disallow_all(void)
{
  return &disallow_all_obj;
}

void qw_robots_free(qw_robots *r)
{
  if(!r || r->fixed)
    return;
  free(r->rules);
  free(r->sitemaps);
  free(r->pool);
  free(r);
}

/* ===== Normalisation ===== */

static const char hexd[] = "0123456789ABCDEF";

static int hexval(unsigned char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int is_unreserved(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

/* Writes the normalised form of s[0..n) to out (room for 3 * n bytes) and
 * returns its length. */
static size_t normalise(const char *s, size_t n, char *out)
{
  size_t o = 0;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if(c == '%') {
      int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
      int l = h >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
      if(l < 0) {
        memcpy(out + o, "%25", 3);
        o += 3;
        continue;
      }
      unsigned char v = (unsigned char)(h * 16 + l);
      if(is_unreserved(v))
        out[o++] = (char)v;
      else {
        out[o++] = '%';
        out[o++] = hexd[v >> 4];
        out[o++] = hexd[v & 15];
      }
      i += 2;
      continue;
    }
    if(c <= 0x20 || c >= 0x7F) {
      out[o++] = '%';
      out[o++] = hexd[c >> 4];
      out[o++] = hexd[c & 15];
      continue;
    }
    out[o++] = (char)c;
  }
  return o;
}

/* ===== Matching ===== */

/* 1 when pattern p[0..pn) ('*' = any run) matches the start of t[0..tn),
 * or all of it when anchored. Iterative: on a mismatch only the last '*'
 * is retried one byte further, which is enough for '*'-only patterns. */
static int glob_match(const char *p, size_t pn, int anchored, const char *t,
                      size_t tn)
{
  size_t pi = 0, ti = 0, star = SIZE_MAX, mark = 0;
  while(ti < tn) {
    if(pi < pn && p[pi] == '*') {
      star = pi++;
      mark = ti;
      continue;
    }
    if(pi == pn && !anchored)
      return 1;
    if(pi < pn && p[pi] == t[ti]) {
      pi++;
      ti++;
      continue;
    }
    if(star == SIZE_MAX)
      return 0;
    pi = star + 1;
    ti = ++mark;
  }
  while(pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

static int rule_matches(const robots_rule *r, const char *t, size_t tn)
{
  if(r->literal) {
    if(r->anchored)
      return tn == r->len && !memcmp(t, r->pat, tn);
    return tn >= r->len && !memcmp(t, r->pat, r->len);
  }
  return glob_match(r->pat, r->len, r->anchored, t, tn);
}

int qw_robots_allowed(const qw_robots *r, const char *path_and_query)
{
  const char *p = path_and_query ? path_and_query : "/";
  size_t n = strlen(p);
  size_t q = strcspn(p, "?");
  if(q == 11 && !memcmp(p, "/robots.txt", 11))
    return 1;
  if(r->fixed)
    return !r->disallow_all;
  if(!r->n_rules)
    return 1;
  char stack[PATH_STACK];
  char *buf = stack;
  if(n > PATH_STACK / 3) {
    if(n > SIZE_MAX / 3)
      return 0;
    buf = malloc(3 * n);
    if(!buf)
      return 0; /* out of memory: the careful answer */
  }
  size_t tn = normalise(p, n, buf);
  int allowed = 1;
  for(size_t i = 0; i < r->n_rules; i++) {
    if(rule_matches(&r->rules[i], buf, tn)) {
      allowed = r->rules[i].allow;
      break;
    }
  }
  if(buf != stack)
    free(buf);
  return allowed;
}

long qw_robots_crawl_delay_ms(const qw_robots *r)
{
  return r->delay_ms;
}

size_t qw_robots_sitemaps(const qw_robots *r, const char *const **urls)
{
  if(urls)
    *urls = r->n_sitemaps ? (const char *const *)r->sitemaps : NULL;
  return r->n_sitemaps;
}

/* ===== Parsing ===== */

enum { K_OTHER, K_AGENT, K_ALLOW, K_DISALLOW, K_DELAY, K_SITEMAP };

static int key_kind(const char *k, size_t n)
{
  static const struct {
    const char *name;
    int kind;
  } keys[] = {
    {"user-agent", K_AGENT}, {"useragent", K_AGENT},
    {"user agent", K_AGENT}, {"user_agent", K_AGENT},
    {"allow", K_ALLOW},
    {"disallow", K_DISALLOW}, {"dissallow", K_DISALLOW},
    {"dissalow", K_DISALLOW}, {"disalow", K_DISALLOW},
    {"diasllow", K_DISALLOW}, {"disallaw", K_DISALLOW},
    {"crawl-delay", K_DELAY}, {"crawldelay", K_DELAY},
    {"crawl delay", K_DELAY}, {"crawl_delay", K_DELAY},
    {"sitemap", K_SITEMAP}, {"site-map", K_SITEMAP},
  };
  for(size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if(strlen(keys[i].name) == n && !strncasecmp(k, keys[i].name, n))
      return keys[i].kind;
  return K_OTHER;
}

/* Length of the product token at s[0..n): up to '/' or a blank. */
static size_t token_len(const char *s, size_t n)
{
  size_t i = 0;
  while(i < n && s[i] != '/' && s[i] != ' ' && s[i] != '\t')
    i++;
  return i;
}

/* Crawl-delay value in ms, or -1 when it is not a plain decimal number. */
static long parse_delay(const char *s, size_t n)
{
  size_t i = 0;
  long long ms = 0;
  int digits = 0;
  while(i < n && s[i] >= '0' && s[i] <= '9') {
    if(ms < ROBOTS_MAX_DELAY_MS)
      ms = ms * 10 + (s[i] - '0') * 1000LL;
    i++;
    digits++;
  }
  if(i < n && s[i] == '.') {
    i++;
    long long scale = 100;
    while(i < n && s[i] >= '0' && s[i] <= '9') {
      int d = s[i] - '0';
      if(scale >= 1)
        ms += d * scale;
      else if(scale == 0 && d >= 5)
        ms += 1; /* rounds on the fourth decimal */
      scale = scale >= 1 ? scale / 10 : -1;
      i++;
      digits++;
    }
  }
  if(!digits || i != n)
    return -1;
  return ms > ROBOTS_MAX_DELAY_MS ? ROBOTS_MAX_DELAY_MS : (long)ms;
}

typedef struct {
  size_t off;             /* pattern in the pool */
  size_t len, prio;
  unsigned char allow, anchored, literal;
  unsigned char for_us, for_star;
} raw_rule;

typedef struct {
  qw_buf pool;
  raw_rule *rules;
  size_t n_rules, cap_rules;
  size_t *maps;           /* sitemap offsets in the pool */
  size_t n_maps, cap_maps;
  char *tmp;              /* normalisation scratch, 3 × line + 2 */
  size_t tmp_cap;
} parse_state;

static int add_rule(parse_state *st, const char *v, size_t n, int allow,
                    int for_us, int for_star)
{
  if(n > (SIZE_MAX - 8) / 3)
    return -ENOMEM;
  if(3 * n + 8 > st->tmp_cap) {
    char *t = realloc(st->tmp, 3 * n + 8);
    if(!t)
      return -ENOMEM;
    st->tmp = t;
    st->tmp_cap = 3 * n + 8;
  }
  size_t o = 0;
  if(v[0] != '/' && v[0] != '*')
    st->tmp[o++] = '/';
  o += normalise(v, n, st->tmp + o);
  size_t prio = o;
  int anchored = 0;
  if(st->tmp[o - 1] == '$') {
    anchored = 1;
    o--;
  }
  /* Collapse runs of '*'. */
  size_t w = 0;
  int literal = 1;
  for(size_t i = 0; i < o; i++) {
    if(st->tmp[i] == '*') {
      literal = 0;
      if(w && st->tmp[w - 1] == '*')
        continue;
    }
    st->tmp[w++] = st->tmp[i];
  }
  if(qw_grow((void **)&st->rules, &st->cap_rules, st->n_rules + 1,
             sizeof(*st->rules)))
    return -ENOMEM;
  raw_rule *r = &st->rules[st->n_rules];
  r->off = st->pool.len;
  if(qw_buf_append(&st->pool, st->tmp, w) || qw_buf_putc(&st->pool, '\0'))
    return -ENOMEM;
  r->len = w;
  r->prio = prio;
  r->allow = (unsigned char)allow;
  r->anchored = (unsigned char)anchored;
  r->literal = (unsigned char)literal;
  r->for_us = (unsigned char)for_us;
  r->for_star = (unsigned char)for_star;
  st->n_rules++;
  return 0;
}

static int add_sitemap(parse_state *st, const char *v, size_t n)
{
  if(!n || st->n_maps >= ROBOTS_MAX_SITEMAPS)
    return 0;
  /* A URL has no control characters (NUL included); such a line is not
   * one. */
  for(size_t i = 0; i < n; i++)
    if((unsigned char)v[i] < 0x20 || v[i] == 0x7F)
      return 0;
  if(qw_grow((void **)&st->maps, &st->cap_maps, st->n_maps + 1,
              sizeof(size_t)))
    return -ENOMEM;
  st->maps[st->n_maps] = st->pool.len;
  if(qw_buf_append(&st->pool, v, n) || qw_buf_putc(&st->pool, '\0'))
    return -ENOMEM;
  st->n_maps++;
  return 0;
}

static int rule_cmp(const void *a, const void *b)
{
  const robots_rule *x = a, *y = b;
  if(x->prio != y->prio)
    return x->prio > y->prio ? -1 : 1;
  if(x->allow != y->allow)
    return x->allow ? -1 : 1;
  return 0;
}

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* Builds the object from the parse state: keeps the rules of the chosen
 * groups, sorts them, turns pool offsets into pointers. */
static int finish(parse_state *st, int seen_us, long delay, qw_robots **out)
{
  qw_robots *r = calloc(1, sizeof(*r));
  if(!r)
    return -ENOMEM;
  r->delay_ms = delay;
  size_t keep = 0;
  for(size_t i = 0; i < st->n_rules; i++)
    if(seen_us ? st->rules[i].for_us : st->rules[i].for_star)
      keep++;
  if(keep) {
    r->rules = malloc(keep * sizeof(*r->rules));
    if(!r->rules)
      goto nomem;
  }
  if(st->n_maps) {
    r->sitemaps = malloc(st->n_maps * sizeof(*r->sitemaps));
    if(!r->sitemaps)
      goto nomem;
  }
  size_t len = 0;
  r->pool = qw_buf_steal(&st->pool, &len);
  if(!r->pool)
    goto nomem;
  for(size_t i = 0; i < st->n_rules; i++) {
    const raw_rule *s = &st->rules[i];
    if(!(seen_us ? s->for_us : s->for_star))
      continue;
    robots_rule *d = &r->rules[r->n_rules++];
    d->pat = r->pool + s->off;
    d->len = s->len;
    d->prio = s->prio;
    d->allow = s->allow;
    d->anchored = s->anchored;
    d->literal = s->literal;
  }
  if(r->n_rules > 1)
    qsort(r->rules, r->n_rules, sizeof(*r->rules), rule_cmp);
  for(size_t i = 0; i < st->n_maps; i++)
    r->sitemaps[i] = r->pool + st->maps[i];
  r->n_sitemaps = st->n_maps;
  *out = r;
  return 0;
nomem:
  qw_robots_free(r);
  return -ENOMEM;
}

int qw_robots_parse(const char *text, size_t len, const char *agent,
                    qw_robots **out)
{
  parse_state st;
  memset(&st, 0, sizeof(st));
  const char *me = agent ? agent : "";
  size_t me_len = token_len(me, strlen(me));
  if(!text)
    len = 0;
  if(len > ROBOTS_MAX_BYTES) {
    /* Only whole lines count: drop the one the limit cuts. */
    len = ROBOTS_MAX_BYTES;
    while(len && text[len] != '\n' && text[len] != '\r')
      len--;
  }
  size_t pos = 0;
  if(len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
    pos = 3;
  enum { S_START, S_AGENTS, S_RULES } state = S_START;
  int cur_us = 0, cur_star = 0, seen_us = 0;
  long delay_us = -1, delay_star = -1;
  int rc = 0;
  while(pos < len && !rc) {
    const char *b = text + pos;
    size_t n = 0;
    while(pos + n < len && b[n] != '\n' && b[n] != '\r')
      n++;
    pos += n;
    if(pos < len)
      pos += text[pos] == '\r' && pos + 1 < len && text[pos + 1] == '\n'
             ? 2 : 1;
    const char *hash = memchr(b, '#', n);
    const char *e = hash ? hash : b + n;
    const char *colon = memchr(b, ':', (size_t)(e - b));
    if(!colon)
      continue;
    const char *kb = b, *ke = colon, *vb = colon + 1, *ve = e;
    while(kb < ke && is_blank(*kb))
      kb++;
    while(ke > kb && is_blank(ke[-1]))
      ke--;
    while(vb < ve && is_blank(*vb))
      vb++;
    while(ve > vb && is_blank(ve[-1]))
      ve--;
    size_t vn = (size_t)(ve - vb);
    int kind = key_kind(kb, (size_t)(ke - kb));
    switch(kind) {
    case K_AGENT: {
      if(state != S_AGENTS) {
        cur_us = 0;
        cur_star = 0;
        state = S_AGENTS;
      }
      size_t tl = token_len(vb, vn);
      if(tl == 1 && vb[0] == '*')
        cur_star = 1;
      else if(tl && tl == me_len && !strncasecmp(vb, me, tl)) {
        cur_us = 1;
        seen_us = 1;
      }
      break;
    }
    case K_ALLOW:
    case K_DISALLOW:
      if(state == S_START)
        break;
      state = S_RULES;
      if(vn && (cur_us || cur_star))
        rc = add_rule(&st, vb, vn, kind == K_ALLOW, cur_us, cur_star);
      break;
    case K_DELAY: {
      if(state == S_START)
        break;
      state = S_RULES;
      long d = parse_delay(vb, vn);
      if(d < 0)
        break;
      if(cur_us && delay_us < 0)
        delay_us = d;
      if(cur_star && delay_star < 0)
        delay_star = d;
      break;
    }
    case K_SITEMAP:
      rc = add_sitemap(&st, vb, vn);
      break;
    default:
      break;
    }
  }
  if(!rc)
    rc = finish(&st, seen_us, seen_us ? delay_us : delay_star, out);
  qw_buf_free(&st.pool);
  free(st.rules);
  free(st.maps);
  free(st.tmp);
  return rc;
}
