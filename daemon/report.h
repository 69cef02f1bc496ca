/* report.h — the human-readable findings table of `qingwang scan` (the
 * machine-readable form is the clue, clue.h). */
#ifndef QW_REPORT_H
#define QW_REPORT_H

#include <stdio.h>

#include "analyze.h"
#include "charset.h"
#include "page.h"
#include "rules.h"

/* Writes one page's block: a header line naming the input, page type,
 * devices and charset, then one line per finding (severity, category, rule,
 * quoted match with context, detail). color: ANSI colours for a TTY. */
void qw_report_page(FILE *out, const char *input, const qw_ruleset *rs,
                    const qw_page *page, const qw_charset_info *cs,
                    const qw_analysis *an, int color);

/* Terminal display width of UTF-8 text (CJK wide = 2 columns). */
size_t qw_report_width(const char *s);

#endif
