/* config.h — qingwang.conf: one INI file, every key with its default in the
 * single table in config.c (qw_config_keys), which also drives validation,
 * `--dump-config` and docs/configuration.md.
 *
 * An unknown section or key, a bad value or a missing file is an error that
 * names the file, line and key. Later issues add sections ([fetch],
 * [redis], [daemon] …) as rows of the same table. */
#ifndef QW_CONFIG_H
#define QW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

/* Per-site settings: [fetch] gives the defaults (site_defaults), and each
 * [site HOST] section overrides some of them for one host. HOST is a host
 * name ("shop.example.cn"), a suffix pattern ("*.example.cn": the domain and
 * every subdomain), or an IP literal; the most specific match wins
 * (qw_config_site()). */
typedef struct qw_site {
  char *host;               /* the section's HOST; "" for the defaults */
  char *user_agent;
  char *proxy;              /* "" = none; http://, https://, socks5h:// */
  char *headers;            /* extra request headers "Name: value",
                               several separated by " | " ("" = none) */
  char *cookie;             /* Cookie header value, "" = none */
  int obey_robots;          /* bool */
  unsigned host_concurrency; /* most transfers at once to this host */
  unsigned host_delay_ms;   /* least time between two request starts */
  char *page_type;          /* "" = decide per page; product | storefront |
                               platform | other */
  char *gone_markers;       /* '|'-separated texts: a page showing one of
                               them in its title or body is "gone"
                               (商品已下架 …) */
  char *block_markers;      /* … is a block/captcha page */
  char *login_markers;      /* … is a login wall */
  char *block_url_markers;  /* '|'-separated substrings of a final URL
                               that mean a verification page */
  char *login_url_markers;  /* … that mean a login page */
} qw_site;

typedef struct qw_config {
  /* [general] */
  char *node_name;        /* "" = host name */
  char *log_level;        /* debug | info | warn | error */
  /* [analysis] */
  char *rules_dir;        /* rule pack directory */
  size_t max_page_bytes;  /* page size cap (bytes) */
  unsigned max_nodes;     /* element cap per page */
  unsigned max_depth;     /* tree depth cap */
  unsigned threads;       /* analysis worker threads, 0 = cores */
  unsigned long pcre_match_limit;
  unsigned long pcre_heap_limit_kib;
  unsigned context_chars; /* characters of context each side of a match */
  /* [output] */
  char *evidence_dir;     /* where evidence is written */
  char *jsonl_path;       /* embedded sink when no Redis: "" = stdout */
  /* [fetch] — the engine and the politeness defaults */
  unsigned concurrency;     /* most transfers at once, all hosts */
  unsigned dns_concurrency; /* most hosts being resolved at once */
  unsigned long connect_timeout_ms;
  unsigned long timeout_ms; /* whole transfer */
  unsigned long low_speed_bytes; /* abort below this many bytes/s … */
  unsigned low_speed_secs;  /* … sustained this long */
  size_t max_body;          /* decoded body cap */
  size_t body_memory;       /* bodies held at once, 0 = no limit */
  unsigned max_redirects;
  unsigned max_attempts;    /* tries per URL (1 = no retry) */
  unsigned long backoff_ms; /* first retry delay, doubled each time */
  unsigned long backoff_max_ms;
  unsigned long robots_ttl_s;      /* robots.txt cache lifetime */
  unsigned long robots_error_s;    /* 5xx/unreachable robots: disallow
                                      all for this long */
  char *ca_path;            /* CA bundle; "" = system default */
  int verify_tls;
  int http2;
  qw_site site_defaults;    /* the [fetch] site-level keys (user_agent,
                               proxy, headers, cookie, obey_robots,
                               host_concurrency, host_delay_ms, page_type,
                               *_markers); host = "" */
  qw_site *sites;           /* [site HOST] sections, in file order; each
                               starts as a copy of site_defaults */
  size_t n_sites;
} qw_config;

/* 1 when one of the '|'-separated markers of a marker list (the *_markers
 * keys) occurs in s[0..len); 0 otherwise or when markers is NULL/empty. */
int qw_config_marker_in(const char *markers, const char *s, size_t len);

/* The settings for host (lower case, no port): the most specific [site]
 * match — exact host, then the longest "*.suffix" — else the defaults.
 * Valid until cfg is freed or changed. */
const qw_site *qw_config_site(const qw_config *cfg, const char *host);

typedef enum {
  QW_CFG_STRING = 0,
  QW_CFG_UINT,   /* unsigned int */
  QW_CFG_ULONG,  /* unsigned long */
  QW_CFG_SIZE,   /* size_t with optional K/M/G suffix (KiB/MiB/GiB) */
  QW_CFG_BOOL,   /* yes/no/true/false/on/off/1/0 */
  QW_CFG_ENUM,   /* one of a '|'-separated list */
} qw_config_type;

typedef struct {
  const char *section;
  const char *key;
  qw_config_type type;
  size_t offset;          /* offsetof(qw_config, field) */
  const char *def;        /* default, as written in the file */
  unsigned long long min, max; /* numeric range (inclusive) */
  const char *choices;    /* QW_CFG_ENUM: "debug|info|warn|error" */
  const char *doc;        /* one line for --dump-config and the docs */
} qw_config_key;

/* The table (terminated by a row with key == NULL). */
extern const qw_config_key qw_config_keys[];

/* Fills cfg with the defaults. Returns 0 or -ENOMEM. */
int qw_config_init(qw_config *cfg);

/* Reads path over the current values. Returns 0, or -errno / -EINVAL with
 * err = "FILE:LINE: [section] key: why" (or "FILE: why"). */
int qw_config_load(qw_config *cfg, const char *path, char *err,
                   size_t errlen);

/* Sets one key from a string (command-line override, e.g.
 * "analysis.max_page_bytes=8M"). Returns 0 or -EINVAL with err set. */
int qw_config_set(qw_config *cfg, const char *section, const char *key,
                  const char *value, char *err, size_t errlen);

/* Writes the effective configuration as a valid INI file with each key's
 * doc line as a comment. */
void qw_config_dump(const qw_config *cfg, FILE *out);

void qw_config_free(qw_config *cfg);

/* qw_config_load() on text[0..len) already in memory; name stands for the
 * file in messages. Same returns and atomicity (cfg unchanged on error). */
int qw_config_load_buffer(qw_config *cfg, const char *name, const char *text,
                          size_t len, char *err, size_t errlen);

#endif
