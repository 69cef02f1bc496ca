/* config.c — qingwang.conf: the single table of keys and defaults, the value
 * parsers, the loader, the [site HOST] sections, command-line overrides and
 * --dump-config (see config.h).
 *
 * qw_config_keys[] is the only place a key or a default exists: defaults
 * are strings parsed by the same code that parses the file, so a default
 * is always something a user could have written, and the dump, the sample
 * file and docs/configuration.md are checked against the table by the
 * tests.
 *
 * Row conventions: numeric rows bound the value with min..max (inclusive);
 * STRING rows bound the length in bytes with min..max (max 0 = no bound);
 * ENUM rows list their choices ('|'-separated; an empty choice is allowed).
 * Field types: STRING and ENUM are char * (owned by the config), UINT
 * unsigned, ULONG unsigned long, SIZE size_t, BOOL int (0 or 1).
 *
 * Site-level rows: the [fetch] rows whose offset falls inside
 * qw_config.site_defaults (offsetof(qw_config, site_defaults.field)). The
 * row is then an ordinary [fetch] row for the defaults, and the same row,
 * with the offset taken relative to site_defaults, fills a qw_site of a
 * [site HOST] section. Those rows are exactly the keys a [site] accepts.
 *
 * Sites remember which keys their section set, so that the others follow
 * the final [fetch] values (whatever the order of the sections, and across
 * later loads and --set overrides). qw_site has no room for that, so the
 * sites array is allocated as one block: n_sites qw_site structs followed
 * by n_sites key masks (site_mask, one bit per site-level row in table
 * order). Only this file allocates, copies and frees that block. */
#include "config.h"

#include <arpa/inet.h>
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
#define SOFF(f) offsetof(qw_config, site_defaults.f)
#define SITE_BASE offsetof(qw_config, site_defaults)
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GIB (1024ull * 1024ull * 1024ull)
#define PATH_BYTES 4095ull
#define LIST_BYTES 8192ull  /* headers, cookie, marker lists */
#define DAY_MS 86400000ull
#define MONTH_S 2592000ull  /* 30 days */

#define QW_DEFAULT_USER_AGENT "qingwang/" QW_VERSION " (+regulatory monitoring)"

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
  /* [fetch]: the transfer engine */
  {"fetch", "concurrency", QW_CFG_UINT, OFF(concurrency), "256",
   1, 65536, NULL,
   "Most transfers in flight at once, over all hosts."},
  {"fetch", "dns_concurrency", QW_CFG_UINT, OFF(dns_concurrency), "32",
   1, 1024, NULL,
   "Most host names being resolved at once."},
  {"fetch", "connect_timeout_ms", QW_CFG_ULONG, OFF(connect_timeout_ms),
   "10000", 1, 600000, NULL,
   "Time allowed to connect (TCP and TLS), in milliseconds."},
  {"fetch", "timeout_ms", QW_CFG_ULONG, OFF(timeout_ms), "60000",
   1, DAY_MS, NULL,
   "Time allowed for a whole transfer, in milliseconds."},
  {"fetch", "low_speed_bytes", QW_CFG_ULONG, OFF(low_speed_bytes), "1024",
   0, GIB, NULL,
   "Abort a transfer slower than this many bytes/s; 0 = never."},
  {"fetch", "low_speed_secs", QW_CFG_UINT, OFF(low_speed_secs), "30",
   1, 3600, NULL,
   "Seconds a transfer may stay below low_speed_bytes before the abort."},
  {"fetch", "max_body", QW_CFG_SIZE, OFF(max_body), "16M",
   KIB, GIB, NULL,
   "Largest response body accepted, after decompression."},
  {"fetch", "body_memory", QW_CFG_SIZE, OFF(body_memory), "64M",
   0, 64 * GIB, NULL,
   "Bytes of bodies held at once (arriving or queued); 0 = no limit."},
  {"fetch", "max_redirects", QW_CFG_UINT, OFF(max_redirects), "5",
   0, 50, NULL,
   "Most redirects followed for one URL."},
  {"fetch", "max_attempts", QW_CFG_UINT, OFF(max_attempts), "3",
   1, 20, NULL,
   "Tries per URL when a fetch fails transiently; 1 = no retry."},
  {"fetch", "backoff_ms", QW_CFG_ULONG, OFF(backoff_ms), "1000",
   0, 3600000, NULL,
   "Delay before the first retry in milliseconds, doubled for each next."},
  {"fetch", "backoff_max_ms", QW_CFG_ULONG, OFF(backoff_max_ms), "60000",
   0, DAY_MS, NULL,
   "Longest delay before a retry, in milliseconds."},
  {"fetch", "robots_ttl_s", QW_CFG_ULONG, OFF(robots_ttl_s), "86400",
   60, MONTH_S, NULL,
   "Seconds a fetched robots.txt is used before it is fetched again."},
  {"fetch", "robots_error_s", QW_CFG_ULONG, OFF(robots_error_s), "3600",
   60, MONTH_S, NULL,
   "Seconds a host is left alone when its robots.txt fails (5xx)."},
  {"fetch", "ca_path", QW_CFG_STRING, OFF(ca_path), "",
   0, PATH_BYTES, NULL,
   "CA certificate bundle file; empty = the system's default."},
  {"fetch", "verify_tls", QW_CFG_BOOL, OFF(verify_tls), "yes",
   0, 1, NULL,
   "Verify the server's TLS certificate and host name."},
  {"fetch", "http2", QW_CFG_BOOL, OFF(http2), "yes",
   0, 1, NULL,
   "Offer HTTP/2 to servers that support it."},
  /* [fetch]: site-level keys, also accepted in [site HOST] */
  {"fetch", "user_agent", QW_CFG_STRING, SOFF(user_agent),
   QW_DEFAULT_USER_AGENT, 1, 512, NULL,
   "User-Agent header sent with every request."},
  {"fetch", "proxy", QW_CFG_STRING, SOFF(proxy), "",
   0, 2048, NULL,
   "Proxy URL (http://, https://, socks5h:// …); empty = direct."},
  {"fetch", "headers", QW_CFG_STRING, SOFF(headers), "",
   0, LIST_BYTES, NULL,
   "Extra request headers, \"Name: value\" items separated by \" | \"."},
  {"fetch", "cookie", QW_CFG_STRING, SOFF(cookie), "",
   0, LIST_BYTES, NULL,
   "Cookie header value sent with every request; empty = none."},
  {"fetch", "obey_robots", QW_CFG_BOOL, SOFF(obey_robots), "yes",
   0, 1, NULL,
   "Follow robots.txt (rules and Crawl-delay)."},
  {"fetch", "host_concurrency", QW_CFG_UINT, SOFF(host_concurrency), "4",
   1, 1024, NULL,
   "Most transfers in flight at once to one host."},
  {"fetch", "host_delay_ms", QW_CFG_UINT, SOFF(host_delay_ms), "250",
   0, 3600000, NULL,
   "Least time between two request starts to one host, in milliseconds."},
  {"fetch", "page_type", QW_CFG_ENUM, SOFF(page_type), "",
   0, 0, "|product|storefront|platform|other",
   "Kind of page: product, storefront, platform, other; empty = guess."},
  {"fetch", "gone_markers", QW_CFG_STRING, SOFF(gone_markers),
   "商品已下架|宝贝不存在|该商品已下架|商品不存在|页面不存在|"
   "您查看的宝贝不存在|商品已失效|已下架", 0, LIST_BYTES, NULL,
   "Texts ('|'-separated) that mark a removed item's page."},
  {"fetch", "block_markers", QW_CFG_STRING, SOFF(block_markers),
   "请完成安全验证|滑块验证|访问过于频繁|人机验证|安全验证|验证码|"
   "系统繁忙，请稍后再试", 0, LIST_BYTES, NULL,
   "Texts ('|'-separated) that mark a block or captcha page."},
  {"fetch", "login_markers", QW_CFG_STRING, SOFF(login_markers),
   "请登录|登录后查看|扫码登录|账号登录|密码登录", 0, LIST_BYTES, NULL,
   "Texts ('|'-separated) that mark a login wall."},
  {"fetch", "block_url_markers", QW_CFG_STRING, SOFF(block_url_markers),
   "captcha|verify|punish|/sec/|antibot", 0, LIST_BYTES, NULL,
   "Final-URL substrings ('|'-separated) of a verification page."},
  {"fetch", "login_url_markers", QW_CFG_STRING, SOFF(login_url_markers),
   "login|passport|signin|/sso/", 0, LIST_BYTES, NULL,
   "Final-URL substrings ('|'-separated) of a login page."},
  {NULL, NULL, QW_CFG_STRING, 0, NULL, 0, 0, NULL, NULL}
};

/* One bit per site-level row; SITE_KEYS_MAX bounds their number. */
typedef uint64_t site_mask;
#define SITE_KEYS_MAX 64u

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

static int is_site_row(const qw_config_key *k)
{
  return k->offset >= SITE_BASE && k->offset < SITE_BASE + sizeof(qw_site);
}

/* Offset of a site-level row's field inside a qw_site. */
static size_t site_off(const qw_config_key *k)
{
  return k->offset - SITE_BASE;
}

/* Position of a site-level row among the site-level rows. */
static unsigned site_bit(const qw_config_key *k)
{
  unsigned n = 0;
  for(const qw_config_key *o = qw_config_keys; o != k; o++)
    if(is_site_row(o))
      n++;
  return n;
}

static site_mask site_bit_mask(const qw_config_key *k)
{
  return (site_mask)1 << site_bit(k);
}

static char **str_at(void *base, size_t off)
{
  return (char **)(void *)((char *)base + off);
}

static const char *str_at_c(const void *base, size_t off)
{
  const char *const *p =
    (const char *const *)(const void *)((const char *)base + off);
  return *p ? *p : "";
}

static char **str_field(qw_config *cfg, const qw_config_key *k)
{
  return str_at(cfg, k->offset);
}

static const char *str_value(const qw_config *cfg, const qw_config_key *k)
{
  return str_at_c(cfg, k->offset);
}

static const qw_config_key *find_key(const char *section, const char *key)
{
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    if(!strcmp(k->section, section) && !strcmp(k->key, key))
      return k;
  return NULL;
}

static const qw_config_key *find_site_key(const char *key)
{
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    if(is_site_row(k) && !strcmp(k->key, key))
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

/* "site" or "site …": a [site HOST] section (or a malformed one). */
static int is_site_section(const char *section)
{
  return !strncmp(section, "site", 4) &&
         (section[4] == '\0' || section[4] == ' ');
}

/* "user_agent, proxy, …": the keys a [site] accepts. */
static void site_key_list(char *out, size_t len)
{
  size_t n = 0;
  out[0] = '\0';
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!is_site_row(k))
      continue;
    int w = snprintf(out + n, len - n, "%s%s", n ? ", " : "", k->key);
    if(w < 0 || (size_t)w >= len - n)
      break;
    n += (size_t)w;
  }
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
  /* Choices are '|'-separated; an empty one (a leading, trailing or
   * doubled '|') allows the empty value. */
  size_t n = strlen(s);
  const char *c = k->choices;
  int empty_ok = 0;
  char shown[256];
  size_t sl = 0;
  shown[0] = '\0';
  for(;;) {
    const char *bar = strchr(c, '|');
    size_t cl = bar ? (size_t)(bar - c) : strlen(c);
    if(cl == n && !memcmp(c, s, n))
      return 0;
    if(!cl)
      empty_ok = 1;
    else if(sl + cl + 2 < sizeof(shown)) {
      if(sl)
        shown[sl++] = '|';
      memcpy(shown + sl, c, cl);
      sl += cl;
      shown[sl] = '\0';
    }
    if(!bar)
      break;
    c = bar + 1;
  }
  say(why, whylen, "'%.80s' is not one of %s%s", s, shown,
      empty_ok ? ", or empty" : "");
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

/* ===== Checks and canonical forms of particular rows ===== */

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* Next '|'-separated item of *p with blanks around it removed: [*b, *e).
 * Returns 0 at the end of the list. */
static int next_item(const char **p, const char **b, const char **e)
{
  const char *s = *p;
  if(!s)
    return 0;
  const char *bar = strchr(s, '|');
  const char *end = bar ? bar : s + strlen(s);
  *p = bar ? bar + 1 : NULL;
  while(s < end && is_blank(*s))
    s++;
  while(end > s && is_blank(end[-1]))
    end--;
  *b = s;
  *e = end;
  return 1;
}

/* Marker lists: items without blanks around them, none empty, joined by
 * '|'. *out gets the canonical list (malloc'd). */
static int canon_markers(const char *s, char **out, char *why, size_t whylen)
{
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if(!d) {
    say(why, whylen, "out of memory");
    return -ENOMEM;
  }
  size_t dl = 0;
  const char *p = *s ? s : NULL, *b, *e;
  unsigned item = 0;
  while(next_item(&p, &b, &e)) {
    item++;
    if(b == e) {
      say(why, whylen, "item %u of the '|'-separated list is empty", item);
      free(d);
      return -EINVAL;
    }
    if(dl)
      d[dl++] = '|';
    memcpy(d + dl, b, (size_t)(e - b));
    dl += (size_t)(e - b);
  }
  d[dl] = '\0';
  *out = d;
  return 0;
}

static int is_tchar(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`~", c));
}

/* Header lists: "Name: value" items separated by '|', written back
 * separated by " | ". Headers that other keys or the fetcher set are
 * refused. */
static int canon_headers(const char *s, char **out, char *why, size_t whylen)
{
  static const char *const managed[][2] = {
    {"User-Agent", "use the user_agent key"},
    {"Cookie", "use the cookie key"},
    {"Host", "the fetcher sets it from the URL"},
    {"Content-Length", "the fetcher sets it"},
    {"Transfer-Encoding", "the fetcher sets it"},
  };
  size_t n = strlen(s);
  if(n > SIZE_MAX / 3 - 1) {
    say(why, whylen, "the value is too long");
    return -EINVAL;
  }
  char *d = malloc(3 * n + 1);
  if(!d) {
    say(why, whylen, "out of memory");
    return -ENOMEM;
  }
  size_t dl = 0;
  const char *p = *s ? s : NULL, *b, *e;
  unsigned item = 0;
  while(next_item(&p, &b, &e)) {
    item++;
    const char *name = b, *ne = b;
    while(ne < e && is_tchar((unsigned char)*ne))
      ne++;
    if(b == e) {
      say(why, whylen, "item %u of the '|'-separated list is empty", item);
      goto bad;
    }
    if(ne == name || ne == e || *ne != ':') {
      say(why, whylen, "item %u '%.*s' is not 'Name: value'", item,
          (int)(e - b > 80 ? 80 : e - b), b);
      goto bad;
    }
    const char *v = ne + 1;
    while(v < e && is_blank(*v))
      v++;
    if(v == e) {
      say(why, whylen, "item %u '%.*s' has no value", item,
          (int)(e - b > 80 ? 80 : e - b), b);
      goto bad;
    }
    for(size_t i = 0; i < sizeof(managed) / sizeof(managed[0]); i++) {
      if(strlen(managed[i][0]) == (size_t)(ne - name) &&
         !strncasecmp(name, managed[i][0], (size_t)(ne - name))) {
        say(why, whylen, "item %u: a %s header cannot be set here (%s)",
            item, managed[i][0], managed[i][1]);
        goto bad;
      }
    }
    if(dl) {
      memcpy(d + dl, " | ", 3);
      dl += 3;
    }
    memcpy(d + dl, name, (size_t)(ne - name));
    dl += (size_t)(ne - name);
    memcpy(d + dl, ": ", 2);
    dl += 2;
    memcpy(d + dl, v, (size_t)(e - v));
    dl += (size_t)(e - v);
  }
  d[dl] = '\0';
  *out = d;
  return 0;
bad:
  free(d);
  return -EINVAL;
}

static int check_proxy(const char *s, char *why, size_t whylen)
{
  static const char *const schemes[] = {
    "http://", "https://", "socks4://", "socks4a://", "socks5://",
    "socks5h://",
  };
  if(!*s)
    return 0;
  for(size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t sl = strlen(schemes[i]);
    if(strncmp(s, schemes[i], sl))
      continue;
    const char *h = s + sl;
    if(!*h || *h == '/' || strpbrk(h, " \t")) {
      say(why, whylen, "'%.80s' has no proxy host (write %sHOST:PORT)", s,
          schemes[i]);
      return -EINVAL;
    }
    return 0;
  }
  say(why, whylen, "'%.80s' is not a proxy URL (http://, https://, "
      "socks4://, socks4a://, socks5:// or socks5h:// HOST:PORT)", s);
  return -EINVAL;
}

/* Row-specific checks of a STRING value that passed check_string. *out
 * gets a canonical copy (malloc'd) when the row has one, else stays
 * NULL. */
static int check_row(const qw_config_key *k, const char *s, char **out,
                     char *why, size_t whylen)
{
  *out = NULL;
  if(k->offset == SOFF(proxy))
    return check_proxy(s, why, whylen);
  if(k->offset == SOFF(headers))
    return canon_headers(s, out, why, whylen);
  if(k->offset == SOFF(gone_markers) || k->offset == SOFF(block_markers) ||
     k->offset == SOFF(login_markers) ||
     k->offset == SOFF(block_url_markers) ||
     k->offset == SOFF(login_url_markers))
    return canon_markers(s, out, why, whylen);
  return 0;
}

/* Parses s (already trimmed) for row k and stores it in the field at
 * base + off (base is a qw_config, or a qw_site for site-level rows). */
static int store_at(void *base, size_t off, const qw_config_key *k,
                    const char *s, char *why, size_t whylen)
{
  void *f = (char *)base + off;
  unsigned long long v = 0;
  int r;
  switch(k->type) {
  case QW_CFG_STRING:
  case QW_CFG_ENUM: {
    char *d = NULL;
    if(k->type == QW_CFG_ENUM)
      r = check_enum(k, s, why, whylen);
    else {
      r = check_string(k, s, why, whylen);
      if(!r)
        r = check_row(k, s, &d, why, whylen);
    }
    if(r)
      return r;
    if(!d)
      d = strdup(s);
    if(!d) {
      say(why, whylen, "out of memory");
      return -ENOMEM;
    }
    char **sp = str_at(base, off);
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

static int store(qw_config *cfg, const qw_config_key *k, const char *s,
                 char *why, size_t whylen)
{
  return store_at(cfg, k->offset, k, s, why, whylen);
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
    say(why, whylen, "unknown section [%.80s] (known sections: %s, "
        "[site HOST])", section, known);
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

/* The same for a key of a [site HOST] section (section as written). */
static void explain_unknown_site_key(const char *section, const char *key,
                                     char *why, size_t whylen)
{
  char list[400];
  site_key_list(list, sizeof(list));
  const char *best = NULL;
  size_t bestd = SIZE_MAX;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!is_site_row(k) || !close_to(key, k->key))
      continue;
    size_t d = edit_distance(key, k->key);
    if(d < bestd) {
      bestd = d;
      best = k->key;
    }
  }
  if(best) {
    say(why, whylen, "unknown key '%.80s' in [%.80s]; did you mean '%s'?",
        key, section, best);
    return;
  }
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!strcmp(k->key, key)) {
      say(why, whylen, "'%s' can only be set in [%s]; a [site] section "
          "accepts %s", key, k->section, list);
      return;
    }
  }
  say(why, whylen, "unknown key '%.80s' in [%.80s]; a [site] section "
      "accepts %s", key, section, list);
}

/* ===== Site hosts ===== */

/* Longest canonical HOST: "*." and a 253-byte name. */
#define HOST_MAX 256

static int all_digits(const char *b, const char *e)
{
  if(b == e)
    return 0;
  for(; b < e; b++)
    if(*b < '0' || *b > '9')
      return 0;
  return 1;
}

/* 1 when the last label of h[0..n) is all digits (then it can only be an
 * IPv4 address). */
static int last_label_numeric(const char *h, size_t n)
{
  const char *e = h + n, *b = e;
  while(b > h && b[-1] != '.')
    b--;
  return all_digits(b, e);
}

/* Checks a host name (lower case, no trailing dot): labels of letters,
 * digits, '-' and '_' (or non-ASCII UTF-8), 1 to 63 bytes, not starting or
 * ending with '-'; 253 bytes at most. */
static int check_hostname(const char *h, size_t n, char *why, size_t whylen)
{
  if(!n) {
    say(why, whylen, "empty host name");
    return -EINVAL;
  }
  if(n > 253) {
    say(why, whylen, "the host name is %zu bytes long; the maximum is 253",
        n);
    return -EINVAL;
  }
  size_t i = 0;
  while(i <= n) {
    size_t j = i;
    while(j < n && h[j] != '.')
      j++;
    if(j == i) {
      say(why, whylen, "'%.*s' has an empty label", (int)n, h);
      return -EINVAL;
    }
    if(j - i > 63) {
      say(why, whylen, "'%.*s' has a label longer than 63 bytes", (int)n, h);
      return -EINVAL;
    }
    if(h[i] == '-' || h[j - 1] == '-') {
      say(why, whylen, "'%.*s': a label cannot start or end with '-'",
          (int)n, h);
      return -EINVAL;
    }
    for(size_t x = i; x < j; x++) {
      unsigned char c = (unsigned char)h[x];
      if(!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c >= 0x80)) {
        say(why, whylen, "'%.*s' is not a host name (character '%c')",
            (int)n, h, c);
        return -EINVAL;
      }
    }
    i = j + 1;
  }
  return 0;
}

/* The HOST of "[site HOST]" in canonical form into out (HOST_MAX + 1
 * bytes): ASCII lower case, one trailing dot dropped, IP literals as
 * inet_ntop writes them, suffix patterns as "*.suffix". */
static int canon_site_host(const char *in, char *out, char *why,
                           size_t whylen)
{
  size_t n = strlen(in);
  if(!n) {
    say(why, whylen, "[site] needs a host: [site HOST], e.g. "
        "[site shop.example.cn] or [site *.example.cn]");
    return -EINVAL;
  }
  if(strpbrk(in, " \t")) {
    say(why, whylen, "'%.80s' is not one host (no blanks in a [site] "
        "header)", in);
    return -EINVAL;
  }
  if(n > HOST_MAX) {
    say(why, whylen, "the host name is %zu bytes long; the maximum is 253",
        n);
    return -EINVAL;
  }
  char h[HOST_MAX + 1];
  for(size_t i = 0; i <= n; i++)
    h[i] = (char)tolower((unsigned char)in[i]);
  if(strchr(h, ':')) {
    unsigned char a6[16];
    if(inet_pton(AF_INET6, h, a6) != 1 ||
       !inet_ntop(AF_INET6, a6, out, HOST_MAX + 1)) {
      say(why, whylen, "'%.80s' is not an IPv6 address", in);
      return -EINVAL;
    }
    return 0;
  }
  int suffix = h[0] == '*' && h[1] == '.';
  char *name = suffix ? h + 2 : h;
  if(strchr(name, '*')) {
    if(!strcmp(h, "*"))
      say(why, whylen, "[site *] would be every host: put settings for "
          "every host in [fetch]");
    else
      say(why, whylen, "'%.80s': '*' may only begin a suffix pattern, as "
          "in *.example.cn", in);
    return -EINVAL;
  }
  size_t nn = strlen(name);
  if(nn > 1 && name[nn - 1] == '.')
    name[--nn] = '\0';
  if(last_label_numeric(name, nn)) {
    unsigned char a4[4];
    if(suffix) {
      say(why, whylen, "'%.80s': a suffix pattern needs a domain name, "
          "not an IP address", in);
      return -EINVAL;
    }
    if(inet_pton(AF_INET, name, a4) != 1 ||
       !inet_ntop(AF_INET, a4, out, HOST_MAX + 1)) {
      say(why, whylen, "'%.80s' is not an IPv4 address", in);
      return -EINVAL;
    }
    return 0;
  }
  int r = check_hostname(name, nn, why, whylen);
  if(r)
    return r;
  snprintf(out, HOST_MAX + 1, "%s%s", suffix ? "*." : "", name);
  return 0;
}

/* ===== Sites ===== */

static site_mask *site_masks(qw_site *sites, size_t n)
{
  return (site_mask *)(void *)(sites + n);
}

static const site_mask *site_masks_c(const qw_site *sites, size_t n)
{
  return (const site_mask *)(const void *)(sites + n);
}

static void site_free(qw_site *s)
{
  free(s->host);
  s->host = NULL;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(is_site_row(k) && is_string_type(k->type)) {
      char **sp = str_at(s, site_off(k));
      free(*sp);
      *sp = NULL;
    }
  }
}

/* A non-string field of row k from src to dst. */
static void copy_scalar(void *dst, const void *src, const qw_config_key *k,
                        size_t off)
{
  size_t sz = 0;
  switch(k->type) {
  case QW_CFG_BOOL: sz = sizeof(int); break;
  case QW_CFG_UINT: sz = sizeof(unsigned); break;
  case QW_CFG_ULONG: sz = sizeof(unsigned long); break;
  case QW_CFG_SIZE: sz = sizeof(size_t); break;
  case QW_CFG_STRING:
  case QW_CFG_ENUM: break;
  }
  memcpy((char *)dst + off, (const char *)src + off, sz);
}

/* Deep copy of src into dst (dst's old content is not freed). */
static int site_copy(qw_site *dst, const qw_site *src)
{
  *dst = *src;
  dst->host = NULL;
  const qw_config_key *k;
  for(k = qw_config_keys; k->key; k++)
    if(is_site_row(k) && is_string_type(k->type))
      *str_at(dst, site_off(k)) = NULL;
  dst->host = strdup(src->host ? src->host : "");
  if(!dst->host)
    goto nomem;
  for(k = qw_config_keys; k->key; k++) {
    if(!is_site_row(k) || !is_string_type(k->type))
      continue;
    char *d = strdup(str_at_c(src, site_off(k)));
    if(!d)
      goto nomem;
    *str_at(dst, site_off(k)) = d;
  }
  return 0;
nomem:
  site_free(dst);
  return -ENOMEM;
}

/* Gives every key of s that its section did not set (mask) the value of
 * def. */
static int site_inherit(qw_site *s, site_mask mask, const qw_site *def)
{
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    if(!is_site_row(k) || (mask & site_bit_mask(k)))
      continue;
    size_t off = site_off(k);
    if(is_string_type(k->type)) {
      char *d = strdup(str_at_c(def, off));
      if(!d)
        return -ENOMEM;
      char **sp = str_at(s, off);
      free(*sp);
      *sp = d;
    }
    else
      copy_scalar(s, def, k, off);
  }
  return 0;
}

/* One block of n sites followed by their n masks (see the top of the
 * file). NULL when n is 0 or out of memory. */
static qw_site *sites_block(size_t n)
{
  if(!n || n > SIZE_MAX / (sizeof(qw_site) + sizeof(site_mask)))
    return NULL;
  return malloc(n * (sizeof(qw_site) + sizeof(site_mask)));
}

static size_t count_site_rows(void)
{
  size_t n = 0;
  for(const qw_config_key *k = qw_config_keys; k->key; k++)
    if(is_site_row(k))
      n++;
  return n;
}

/* The sites while a file is read: growable arrays, and what the current
 * file did to each site. */
typedef struct {
  qw_site *v;
  site_mask *mask;
  int *hdr_line;    /* line of the site's header in this file, 0 = none */
  int *key_line;    /* [site * nsk + bit]: line a key was set on in this
                       file, 0 = not set in it */
  size_t n, cap, nsk;
} site_list;

static void site_list_free(site_list *l)
{
  for(size_t i = 0; i < l->n; i++)
    site_free(&l->v[i]);
  free(l->v);
  free(l->mask);
  free(l->hdr_line);
  free(l->key_line);
  memset(l, 0, sizeof(*l));
}

static int site_list_grow(site_list *l, size_t want)
{
  if(want <= l->cap)
    return 0;
  size_t cap = l->cap ? l->cap : 8;
  while(cap < want) {
    if(cap > SIZE_MAX / 2 / sizeof(qw_site) / (l->nsk + 1))
      return -ENOMEM;
    cap *= 2;
  }
  qw_site *v = realloc(l->v, cap * sizeof(*v));
  if(!v)
    return -ENOMEM;
  l->v = v;
  site_mask *m = realloc(l->mask, cap * sizeof(*m));
  if(!m)
    return -ENOMEM;
  l->mask = m;
  int *h = realloc(l->hdr_line, cap * sizeof(*h));
  if(!h)
    return -ENOMEM;
  l->hdr_line = h;
  int *kl = realloc(l->key_line, cap * (l->nsk ? l->nsk : 1) * sizeof(*kl));
  if(!kl)
    return -ENOMEM;
  l->key_line = kl;
  l->cap = cap;
  return 0;
}

/* Takes the sites out of cfg (cfg->sites becomes NULL) into l. */
static int site_list_take(site_list *l, qw_config *cfg)
{
  memset(l, 0, sizeof(*l));
  l->nsk = count_site_rows();
  size_t n = cfg->n_sites;
  if(!n)
    return 0;
  int r = site_list_grow(l, n);
  if(r)
    return r;
  memcpy(l->v, cfg->sites, n * sizeof(qw_site));
  memcpy(l->mask, site_masks(cfg->sites, n), n * sizeof(site_mask));
  memset(l->hdr_line, 0, n * sizeof(int));
  memset(l->key_line, 0, n * l->nsk * sizeof(int));
  l->n = n;
  free(cfg->sites);
  cfg->sites = NULL;
  cfg->n_sites = 0;
  return 0;
}

/* Fills the inherited keys and moves the sites into cfg (which has none).
 * l is empty afterwards, also on failure. */
static int site_list_give(site_list *l, qw_config *cfg)
{
  int r = 0;
  for(size_t i = 0; i < l->n && !r; i++)
    r = site_inherit(&l->v[i], l->mask[i], &cfg->site_defaults);
  qw_site *b = NULL;
  if(!r && l->n) {
    b = sites_block(l->n);
    if(!b)
      r = -ENOMEM;
  }
  if(r) {
    site_list_free(l);
    return r;
  }
  if(l->n) {
    memcpy(b, l->v, l->n * sizeof(qw_site));
    memcpy(site_masks(b, l->n), l->mask, l->n * sizeof(site_mask));
  }
  cfg->sites = b;
  cfg->n_sites = l->n;
  l->n = 0;
  site_list_free(l);
  return 0;
}

static size_t site_list_find(const site_list *l, const char *host)
{
  for(size_t i = 0; i < l->n; i++)
    if(!strcmp(l->v[i].host, host))
      return i;
  return SIZE_MAX;
}

/* Appends an empty site for host; its fields are filled by the section
 * and site_inherit(). Returns its index, or SIZE_MAX when out of
 * memory. */
static size_t site_list_add(site_list *l, const char *host)
{
  if(site_list_grow(l, l->n + 1))
    return SIZE_MAX;
  qw_site *s = &l->v[l->n];
  memset(s, 0, sizeof(*s));
  s->host = strdup(host);
  if(!s->host)
    return SIZE_MAX;
  l->mask[l->n] = 0;
  l->hdr_line[l->n] = 0;
  memset(l->key_line + l->n * l->nsk, 0, l->nsk * sizeof(int));
  return l->n++;
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
  free(cfg->site_defaults.host);
  cfg->site_defaults.host = NULL;
  for(size_t i = 0; cfg->sites && i < cfg->n_sites; i++)
    site_free(&cfg->sites[i]);
  free(cfg->sites);
  cfg->sites = NULL;
  cfg->n_sites = 0;
}

int qw_config_init(qw_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  if(count_site_rows() > SITE_KEYS_MAX)
    return -EINVAL;
  for(const qw_config_key *k = qw_config_keys; k->key; k++) {
    char why[256];
    int r = store(cfg, k, k->def, why, sizeof(why));
    if(r) {
      qw_config_free(cfg);
      return r;
    }
  }
  cfg->site_defaults.host = strdup("");
  if(!cfg->site_defaults.host) {
    qw_config_free(cfg);
    return -ENOMEM;
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
  dst->site_defaults.host = NULL;
  dst->sites = NULL;
  dst->n_sites = 0;
  for(k = qw_config_keys; k->key; k++) {
    if(!is_string_type(k->type))
      continue;
    char *d = strdup(str_value(src, k));
    if(!d)
      goto nomem;
    *str_field(dst, k) = d;
  }
  dst->site_defaults.host = strdup(src->site_defaults.host ?
                                   src->site_defaults.host : "");
  if(!dst->site_defaults.host)
    goto nomem;
  if(src->n_sites) {
    dst->sites = sites_block(src->n_sites);
    if(!dst->sites)
      goto nomem;
    for(size_t i = 0; i < src->n_sites; i++) {
      if(site_copy(&dst->sites[i], &src->sites[i]))
        goto nomem;
      dst->n_sites = i + 1;
    }
    memcpy(site_masks(dst->sites, src->n_sites),
           site_masks_c(src->sites, src->n_sites),
           src->n_sites * sizeof(site_mask));
  }
  return 0;
nomem:
  qw_config_free(dst);
  return -ENOMEM;
}

/* A "[site …]" header of the file, found by scan_site_headers(). */
typedef struct {
  int line;
  char *name;   /* the section name as the tokenizer gives it */
} site_header;

typedef struct {
  qw_config *cfg;
  const char *name;
  int *seen;          /* line each table key was set on, 0 = not yet */
  char *err;
  size_t errlen;
  int failed;         /* the error came from the callback */
  site_list sites;
  site_header *hdr;   /* the file's [site …] headers, in file order */
  size_t n_hdr;
  size_t next_hdr;    /* first header not yet handled */
  const char *cached; /* section of the last [site] key … */
  char cached_buf[HOST_MAX + 16];
  size_t cached_site; /* … and its site */
} load_ctx;

static void free_headers(site_header *h, size_t n)
{
  for(size_t i = 0; i < n; i++)
    free(h[i].name);
  free(h);
}

/* 1 when [b, e) ends in an odd number of backslashes (a continued
 * value). */
static int continues(const char *b, const char *e)
{
  const char *p = e;
  while(p > b && p[-1] == '\\')
    p--;
  return (int)((size_t)(e - p) & 1);
}

/* The tokenizer reports keys, not headers; a [site HOST] section matters
 * even when it has no keys (it makes HOST use the defaults) and may not
 * appear twice in a file. This finds the "[site …]" headers and their
 * lines, reading lines exactly as ini.c does (BOM, LF or CRLF, blanks,
 * whole-line comments, continued values). It only needs to be right for
 * text the tokenizer accepts: anything it reads differently, the
 * tokenizer rejects. */
static int scan_site_headers(const char *text, size_t len,
                             site_header **out, size_t *nout)
{
  site_header *v = NULL;
  size_t n = 0, cap = 0, pos = 0;
  int line = 0, cont = 0;
  *out = NULL;
  *nout = 0;
  if(len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
    pos = 3;
  while(pos < len) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t ln = nl ? (size_t)(nl - s) : len - pos;
    pos += nl ? ln + 1 : ln;
    if(line < INT_MAX)
      line++;
    if(ln && s[ln - 1] == '\r')
      ln--;
    const char *b = s, *e = s + ln;
    while(b < e && is_blank(*b))
      b++;
    while(e > b && is_blank(e[-1]))
      e--;
    if(cont) {
      cont = continues(b, e);
      continue;
    }
    if(b == e || *b == '#' || *b == ';')
      continue;
    if(*b != '[') {
      if(memchr(b, '=', (size_t)(e - b)))
        cont = continues(b, e);
      continue;
    }
    const char *nb = b + 1, *ne = e - 1;
    if(e - b < 2 || *ne != ']' || memchr(nb, '[', (size_t)(ne - nb)) ||
       memchr(nb, ']', (size_t)(ne - nb)))
      continue;
    while(nb < ne && is_blank(*nb))
      nb++;
    while(ne > nb && is_blank(ne[-1]))
      ne--;
    if(ne - nb < 4 || memcmp(nb, "site", 4) ||
       (ne - nb > 4 && !is_blank(nb[4])))
      continue;
    /* Blanks inside the name collapse to one space, as in ini.c. */
    char *name = malloc((size_t)(ne - nb) + 1);
    if(!name)
      goto nomem;
    size_t k = 0;
    for(const char *p = nb; p < ne; p++) {
      if(is_blank(*p)) {
        if(!is_blank(p[-1]))
          name[k++] = ' ';
        continue;
      }
      name[k++] = *p;
    }
    name[k] = '\0';
    if(n == cap) {
      size_t nc = cap ? cap * 2 : 8;
      site_header *nv = realloc(v, nc * sizeof(*nv));
      if(!nv) {
        free(name);
        goto nomem;
      }
      v = nv;
      cap = nc;
    }
    v[n].line = line;
    v[n].name = name;
    n++;
  }
  *out = v;
  *nout = n;
  return 0;
nomem:
  free_headers(v, n);
  return -ENOMEM;
}

/* Handles one [site …] header: checks the host, refuses a second header
 * for the same host in this file, creates the site. */
static int on_site_header(load_ctx *c, const site_header *h)
{
  char host[HOST_MAX + 1], why[512];
  const char *arg = h->name[4] ? h->name + 5 : "";
  int r = canon_site_host(arg, host, why, sizeof(why));
  if(r) {
    if(*arg)
      say(c->err, c->errlen, "%s:%d: [%s]: %s", c->name, h->line, h->name,
          why);
    else
      say(c->err, c->errlen, "%s:%d: %s", c->name, h->line, why);
    return r;
  }
  size_t i = site_list_find(&c->sites, host);
  if(i != SIZE_MAX && c->sites.hdr_line[i]) {
    say(c->err, c->errlen, "%s:%d: duplicate [site %s] (already on line "
        "%d)", c->name, h->line, host, c->sites.hdr_line[i]);
    return -EINVAL;
  }
  if(i == SIZE_MAX) {
    i = site_list_add(&c->sites, host);
    if(i == SIZE_MAX) {
      say(c->err, c->errlen, "%s: out of memory", c->name);
      return -ENOMEM;
    }
  }
  c->sites.hdr_line[i] = h->line;
  return 0;
}

/* Handles the headers above line before (all of them for INT_MAX). */
static int run_headers(load_ctx *c, int before)
{
  while(c->next_hdr < c->n_hdr && c->hdr[c->next_hdr].line < before) {
    int r = on_site_header(c, &c->hdr[c->next_hdr]);
    c->next_hdr++;
    if(r)
      return r;
  }
  return 0;
}

static int on_site_key(load_ctx *c, const char *section, const char *key,
                       const char *value, int line)
{
  char why[512];
  size_t i;
  if(c->cached && !strcmp(c->cached, section))
    i = c->cached_site;
  else {
    char host[HOST_MAX + 1];
    int r = canon_site_host(section[4] ? section + 5 : "", host, why,
                            sizeof(why));
    if(r) {
      say(c->err, c->errlen, "%s:%d: %s", c->name, line, why);
      return r;
    }
    i = site_list_find(&c->sites, host);
    if(i == SIZE_MAX) {
      /* Only when the header scan missed it; then this is its line. */
      i = site_list_add(&c->sites, host);
      if(i == SIZE_MAX) {
        say(c->err, c->errlen, "%s: out of memory", c->name);
        return -ENOMEM;
      }
      c->sites.hdr_line[i] = line;
    }
    c->cached = NULL;
    if(strlen(section) < sizeof(c->cached_buf)) {
      memcpy(c->cached_buf, section, strlen(section) + 1);
      c->cached = c->cached_buf;
      c->cached_site = i;
    }
  }
  const qw_config_key *k = find_site_key(key);
  if(!k) {
    explain_unknown_site_key(section, key, why, sizeof(why));
    say(c->err, c->errlen, "%s:%d: %s", c->name, line, why);
    return -EINVAL;
  }
  unsigned bit = site_bit(k);
  int *kl = &c->sites.key_line[i * c->sites.nsk + bit];
  if(*kl) {
    say(c->err, c->errlen, "%s:%d: [%s] %s: duplicate key (already set on "
        "line %d)", c->name, line, section, key, *kl);
    return -EINVAL;
  }
  int r = store_at(&c->sites.v[i], site_off(k), k, value, why, sizeof(why));
  if(r) {
    say(c->err, c->errlen, "%s:%d: [%s] %s: %s", c->name, line, section,
        key, why);
    return r;
  }
  c->sites.mask[i] |= (site_mask)1 << bit;
  *kl = line;
  return 0;
}

static int on_key(void *ud, const char *section, const char *key,
                  const char *value, int line)
{
  load_ctx *c = ud;
  char why[512];
  c->failed = 1;
  int r = run_headers(c, line);
  if(r)
    return r;
  if(!*section) {
    say(c->err, c->errlen, "%s:%d: key '%.80s' is outside any section "
        "(put a [section] header above it)", c->name, line, key);
    return -EINVAL;
  }
  if(is_site_section(section)) {
    r = on_site_key(c, section, key, value, line);
    if(!r)
      c->failed = 0;
    return r;
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
  r = store(c->cfg, k, value, why, sizeof(why));
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
  load_ctx c;
  memset(&c, 0, sizeof(c));
  qw_config work;
  int r = config_copy(&work, cfg);
  if(r) {
    say(err, errlen, "%s: out of memory", name);
    return r;
  }
  c.cfg = &work;
  c.name = name;
  c.err = err;
  c.errlen = errlen;
  c.seen = calloc(nkeys, sizeof(*c.seen));
  if(!c.seen || site_list_take(&c.sites, &work) ||
     scan_site_headers(text, text ? len : 0, &c.hdr, &c.n_hdr)) {
    r = -ENOMEM;
    say(err, errlen, "%s: out of memory", name);
    goto out;
  }
  char ierr[256];
  r = qw_ini_parse(text, len, on_key, &c, ierr, sizeof(ierr));
  if(r && !c.failed) {
    /* The tokenizer says "line N: why"; we say "FILE:N: why" — unless a
     * [site] header above that line is wrong, which comes first. */
    long line = 0;
    const char *why = ierr;
    if(!strncmp(ierr, "line ", 5)) {
      char *end;
      line = strtol(ierr + 5, &end, 10);
      if(end[0] == ':' && end[1] == ' ')
        why = end + 2;
    }
    c.failed = 1;
    if(line > 0 && line <= INT_MAX && run_headers(&c, (int)line))
      goto out;
    if(line > 0)
      say(err, errlen, "%s:%ld: %s", name, line, why);
    else
      say(err, errlen, "%s: %s", name, why);
    goto out;
  }
  if(!r)
    r = run_headers(&c, INT_MAX);
  if(!r) {
    r = site_list_give(&c.sites, &work);
    if(r)
      say(err, errlen, "%s: out of memory", name);
  }
out:
  free(c.seen);
  free_headers(c.hdr, c.n_hdr);
  site_list_free(&c.sites);
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

/* --set of a site-level [fetch] key: the defaults and every site that
 * does not set the key itself get the value, all or nothing. */
static int set_site_row(qw_config *cfg, const qw_config_key *k,
                        const char *v, char *why, size_t whylen)
{
  size_t off = site_off(k);
  qw_site tmp;
  memset(&tmp, 0, sizeof(tmp));
  int r = store_at(&tmp, off, k, v, why, whylen);
  if(r)
    return r;
  site_mask bit = site_bit_mask(k);
  site_mask *masks = cfg->n_sites ? site_masks(cfg->sites, cfg->n_sites)
                                  : NULL;
  if(!is_string_type(k->type)) {
    copy_scalar(&cfg->site_defaults, &tmp, k, off);
    for(size_t i = 0; i < cfg->n_sites; i++)
      if(!(masks[i] & bit))
        copy_scalar(&cfg->sites[i], &tmp, k, off);
    return 0;
  }
  char *val = *str_at(&tmp, off);
  char **copies = calloc(cfg->n_sites + 1, sizeof(*copies));
  if(!copies) {
    free(val);
    say(why, whylen, "out of memory");
    return -ENOMEM;
  }
  for(size_t i = 0; i < cfg->n_sites; i++) {
    if(masks[i] & bit)
      continue;
    copies[i] = strdup(val);
    if(!copies[i]) {
      for(size_t j = 0; j < i; j++)
        free(copies[j]);
      free(copies);
      free(val);
      say(why, whylen, "out of memory");
      return -ENOMEM;
    }
  }
  for(size_t i = 0; i < cfg->n_sites; i++) {
    if(masks[i] & bit)
      continue;
    char **sp = str_at(&cfg->sites[i], off);
    free(*sp);
    *sp = copies[i];
  }
  char **sp = str_at(&cfg->site_defaults, off);
  free(*sp);
  *sp = val;
  free(copies);
  return 0;
}

int qw_config_set(qw_config *cfg, const char *section, const char *key,
                  const char *value, char *err, size_t errlen)
{
  char why[512];
  if(is_site_section(section)) {
    say(err, errlen, "[site HOST] settings cannot be given with --set; put "
        "a [site HOST] section in the config file (--set takes [fetch] "
        "keys)");
    return -EINVAL;
  }
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
  int r;
  if(is_site_row(k))
    r = set_site_row(cfg, k, v, why, sizeof(why));
  else
    r = store(cfg, k, v, why, sizeof(why));
  free(v);
  if(r)
    say(err, errlen, "[%s] %s: %s", section, key, why);
  return r;
}

/* The value of row k at base + off as it is written in a file: tmp holds
 * numbers. */
static const char *value_text(const void *base, size_t off,
                              const qw_config_key *k, char *tmp,
                              size_t tmplen)
{
  const void *f = (const char *)base + off;
  switch(k->type) {
  case QW_CFG_STRING:
  case QW_CFG_ENUM:
    return str_at_c(base, off);
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

static void dump_pair(FILE *out, const char *key, const char *v)
{
  if(*v)
    fprintf(out, "%s = %s\n", key, v);
  else
    fprintf(out, "%s =\n", key);
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
    const char *v = value_text(cfg, k->offset, k, tmp, sizeof(tmp));
    fprintf(out, "\n# %s\n", k->doc);
    if(strcmp(v, k->def))
      fprintf(out, "# (default: %s)\n", *k->def ? k->def : "empty");
    dump_pair(out, k->key, v);
  }
  if(!cfg->n_sites)
    return;
  fputs("\n# [site HOST] sections: the keys each one sets; the others are "
        "the [fetch]\n# values.\n", out);
  const site_mask *masks = site_masks_c(cfg->sites, cfg->n_sites);
  for(size_t i = 0; i < cfg->n_sites; i++) {
    const qw_site *s = &cfg->sites[i];
    fprintf(out, "\n[site %s]\n", s->host);
    for(const qw_config_key *k = qw_config_keys; k->key; k++) {
      if(!is_site_row(k) || !(masks[i] & site_bit_mask(k)))
        continue;
      char tmp[48];
      dump_pair(out, k->key, value_text(s, site_off(k), k, tmp,
                                        sizeof(tmp)));
    }
  }
}

const qw_site *qw_config_site(const qw_config *cfg, const char *host)
{
  /* host is meant to be lower case without a port; brackets, upper case,
   * a trailing dot and uncanonical IPv6 are tolerated. */
  char h[HOST_MAX + 1];
  size_t n = host ? strlen(host) : 0;
  if(n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  if(n && host[n - 1] == '.')
    n--;
  if(!n || n > HOST_MAX || !cfg->n_sites)
    return &cfg->site_defaults;
  for(size_t i = 0; i < n; i++)
    h[i] = (char)tolower((unsigned char)host[i]);
  h[n] = '\0';
  if(memchr(h, ':', n)) {
    unsigned char a6[16];
    char c6[HOST_MAX + 1];
    if(inet_pton(AF_INET6, h, a6) == 1 &&
       inet_ntop(AF_INET6, a6, c6, sizeof(c6))) {
      memcpy(h, c6, strlen(c6) + 1);
      n = strlen(h);
    }
  }
  const qw_site *best = NULL;
  size_t best_len = 0;
  for(size_t i = 0; i < cfg->n_sites; i++) {
    const char *sh = cfg->sites[i].host;
    if(sh[0] != '*') {
      if(!strcmp(sh, h))
        return &cfg->sites[i];
      continue;
    }
    const char *suf = sh + 2;
    size_t sl = strlen(suf);
    if(sl <= best_len && best)
      continue;
    if(sl == n ? !memcmp(h, suf, n)
               : (sl < n && h[n - sl - 1] == '.' &&
                  !memcmp(h + n - sl, suf, sl))) {
      best = &cfg->sites[i];
      best_len = sl;
    }
  }
  return best ? best : &cfg->site_defaults;
}

int qw_config_marker_in(const char *markers, const char *s, size_t len)
{
  if(!markers || !s)
    return 0;
  const char *m = markers;
  while(*m) {
    const char *e = strchr(m, '|');
    size_t ml = e ? (size_t)(e - m) : strlen(m);
    if(ml && memmem(s, len, m, ml))
      return 1;
    if(!e)
      break;
    m = e + 1;
  }
  return 0;
}
