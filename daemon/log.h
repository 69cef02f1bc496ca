/* log.h — one line per event to stderr: time, level, event name, fields.
 *
 *   2026-11-23T14:39:22.125Z level=warn event=scan.input input="a.html"
 *     msg="empty file"
 *
 * (one line; wrapped here). journald-friendly: no colours, no multi-line
 * messages (newlines in values are escaped). */
#ifndef QW_LOG_H
#define QW_LOG_H

typedef enum {
  QW_LOG_DEBUG = 0,
  QW_LOG_INFO,
  QW_LOG_WARN,
  QW_LOG_ERROR,
} qw_log_level;

void qw_log_set_level(qw_log_level lv);
/* Returns the level for "debug" | "info" | "warn" | "error", or -1. */
int qw_log_level_from_name(const char *name);

/* Logs event with fields already formatted as key=value pairs by fmt
 * (values quoted with qw_log_quote where they may hold spaces). */
void qw_log(qw_log_level lv, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Quotes s for a log field: "…" with \" \\ \n escaped. Returns a pointer to
 * one of a few rotating thread-local buffers (long values are cut). */
const char *qw_log_quote(const char *s);

#endif
