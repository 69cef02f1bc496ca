/* countline.h — the output line of `qingwang scan --count`: one JSON
 * object per page with the term and pattern counts of its visible text
 * (docs/count.md). The one place that line is made. */
#ifndef QW_COUNTLINE_H
#define QW_COUNTLINE_H

#include "charset.h"
#include "counter.h"
#include "page.h"

typedef struct {
  const char *url;      /* the page's URL, or NULL for a file */
  const char *path;     /* the file, or NULL */
  const char *outcome;  /* fetch outcome name ("ok", "http_4xx", …) or NULL */
  long status;          /* HTTP status, 0 when none */
  const char *error;    /* why it was not counted, or NULL */
  size_t body_bytes;    /* decoded body bytes (0: not shown) */
  size_t wire_bytes;    /* bytes on the wire (0: not shown) */
} qw_countline_source;

/* Counts page's joined body text with c (scratch s) and renders the line
 * (newline-terminated, malloc'd) into *out. page may be NULL (a page that
 * could not be fetched or parsed, or `--fetch-only --json`, where c and s
 * are NULL too): the line then carries the source only.
 * Returns 0, -ENOMEM, or -EIO when counting failed (the line is still
 * made, with "error"). */
int qw_countline(const qw_counter *c, qw_counter_scratch *s,
                 qw_page *page, const qw_charset_info *cs,
                 const qw_countline_source *src, char **out, size_t *len);

#endif
