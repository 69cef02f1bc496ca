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
} qw_config;

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
