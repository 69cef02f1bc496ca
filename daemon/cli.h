/* cli.h — the subcommands of the qingwang binary and what they share:
 * loading the config (with --set overrides) and the rule pack, reporting
 * their errors on stderr in the file:line form. */
#ifndef QW_CLI_H
#define QW_CLI_H

#include "config.h"
#include "counter.h"
#include "rules.h"

/* Exit codes shared by all commands. */
#define QW_EXIT_OK 0
#define QW_EXIT_FINDINGS 1
#define QW_EXIT_ERROR 2

int qw_cmd_scan(int argc, char **argv);

/* What `scan URL…` needs besides the URLs (scan_urls.c). */
typedef struct {
  const qw_config *cfg;
  const qw_ruleset *rs;
  int json;
  int color;
  int fetch_only;        /* fetch and count, analyse nothing */
  int progress;          /* progress line on stderr */
  const char *charset;   /* --charset, or NULL */
  int forced;            /* qw_page_type forced, 0 = decide */
  const char *node;
  const char *evidence_dir; /* NULL = store no evidence */
  const qw_counter *counter; /* count mode (--count): counts, no rules */
} qw_scan_url_opts;

typedef struct {
  size_t urls, ok, not_ok, with_findings, errors;
  size_t body_bytes, wire_bytes;
  double seconds;
} qw_scan_totals;

/* Fetches and analyses urls[0..n). Returns 0 (per-URL problems are counted
 * in *tot and reported on stderr) or -1 when the run could not start. */
int qw_scan_urls(const qw_scan_url_opts *o, char *const *urls, size_t n,
                 qw_scan_totals *tot);
int qw_cmd_check_config(int argc, char **argv);
int qw_cmd_evidence(int argc, char **argv);

/* Loads defaults, then path (when not NULL), then each "section.key=value"
 * override. Errors are printed to stderr; returns 0 or -1. */
int qw_cli_load_config(qw_config *cfg, const char *path,
                       char *const *sets, size_t n_sets);

/* Loads the rule pack from override, else cfg->rules_dir; when the
 * configured default directory is missing (a build that is not installed)
 * falls back to the source tree's keywords/pack. Errors and, when verbose,
 * notes are printed to stderr. Returns 0 or -1. */
int qw_cli_load_rules(const qw_config *cfg, const char *override,
                      qw_ruleset **out, int verbose);

#endif
