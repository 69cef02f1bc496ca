/* clue.h — the clue: one JSON object per analysed page, schema
 * "qingwang.clue/1" (docs/clue-schema.md). This is the ONLY place the clue
 * is serialised: scan --json, the JSON Lines sink and Redis all use it. */
#ifndef QW_CLUE_H
#define QW_CLUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "analyze.h"
#include "charset.h"
#include "page.h"
#include "rules.h"

#define QW_CLUE_SCHEMA "qingwang.clue/1"

/* Where the page came from and what is known about its bytes. */
typedef struct {
  const char *kind;        /* "file", "stdin" or "url" */
  const char *path;        /* file path, or NULL */
  const char *url;         /* page URL (given or fetched), or NULL */
  const char *final_url;   /* after redirects, or NULL */
  const char *node;        /* node name (host name by default) */
  const unsigned char *body; /* raw bytes as read or fetched */
  size_t body_len;
  time_t fetched;          /* when the bytes were read/fetched */
  const char *evidence_path; /* evidence object, when stored; else NULL */
  uint64_t evidence_seq;    /* its evidence-log record, 0 = none */
  const char *evidence_record_hash;
  /* Fetch facts (kind "url"); outcome NULL for files. */
  const char *outcome;      /* qw_outcome_name() */
  const char *error;        /* transfer error message, or NULL */
  long status;
  const char *http_version;
  const char *response_headers;
  const char *remote_ip;
  long remote_port;
  int attempts;
  size_t wire_bytes;
  double t_dns, t_connect, t_tls, t_ttfb, t_total;
} qw_clue_source;

/* SHA-256 of data as 64 lower-case hex characters plus NUL. */
void qw_sha256_hex(const void *data, size_t len, char out[65]);

/* The dedup fingerprint of a page's findings: SHA-256 hex over the page
 * identity (URL, else path) and the sorted set of "rule\tmatch" pairs, so
 * the same violations on the same page give the same fingerprint whatever
 * the order or the fetch time. */
void qw_clue_fingerprint(const qw_clue_source *src, const qw_analysis *an,
                         char out[65]);

/* Builds the clue object. page and cs may be NULL (a URL whose fetch did
 * not give an analysable page: the clue then records the fetch outcome
 * with no findings, so no URL is lost). Returns a new reference
 * (json_decref it) or NULL when out of memory. */
json_t *qw_clue_build(const qw_ruleset *rs, const qw_page *page,
                      const qw_charset_info *cs, const qw_analysis *an,
                      const qw_clue_source *src);

/* Highest severity among findings, or -1 when there are none. */
int qw_clue_max_severity(const qw_analysis *an);

#endif
