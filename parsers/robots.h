/* robots.h — robots.txt (RFC 9309): parse once per host, answer "may this
 * agent fetch this path?" many times.
 *
 * Parsing follows RFC 9309: records are groups of one or more user-agent
 * lines followed by rules (allow/disallow); the group whose product token
 * matches our agent (case-insensitive prefix of the agent's product token)
 * wins, else the "*" group, else everything is allowed; several groups for
 * the same agent are merged. Rules match by the longest path pattern ("*"
 * any run of characters, "$" end of URL path), allow wins a tie; patterns and
 * paths are compared after percent-encoding normalisation. Crawl-delay
 * (non-standard) is kept for the chosen group; Sitemap lines for the file.
 * Unknown lines are ignored; at most 500 KiB of the file is read (RFC 9309
 * §2.5). */
#ifndef QW_ROBOTS_H
#define QW_ROBOTS_H

#include <stddef.h>

typedef struct qw_robots qw_robots;

/* Parses text[0..len) for the agent token (e.g. "qingwang"). Never fails on
 * bad content (bad lines are skipped). Returns 0 and *out (free with
 * qw_robots_free) or -ENOMEM. */
int qw_robots_parse(const char *text, size_t len, const char *agent,
                    qw_robots **out);

/* A robots object that allows everything (4xx on robots.txt) or disallows
 * everything (5xx / unreachable, for a while) — RFC 9309 §2.3.1. */
qw_robots *qw_robots_allow_all(void);
qw_robots *qw_robots_disallow_all(void);

/* 1 when path_and_query ("/item.htm?id=3", must start with '/') may be
 * fetched, 0 when disallowed. "/robots.txt" is always allowed. */
int qw_robots_allowed(const qw_robots *r, const char *path_and_query);

/* Crawl-delay of the chosen group in milliseconds, or -1 when absent. */
long qw_robots_crawl_delay_ms(const qw_robots *r);

/* Sitemap URLs listed in the file (valid until qw_robots_free). */
size_t qw_robots_sitemaps(const qw_robots *r, const char *const **urls);

void qw_robots_free(qw_robots *r);

#endif
