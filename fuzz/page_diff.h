/* page_diff.h — compares two page models field by field. The page fuzz
 * harness and the page tests use it to check that taking script and style
 * content out of Gumbo's input (the pre-scan's fast path) builds exactly
 * the model that parsing everything builds. */
#ifndef QW_PAGE_DIFF_H
#define QW_PAGE_DIFF_H

#include <stddef.h>

#include "page.h"

/* NULL when a and b are equal, else a static string naming the first
 * difference. */
const char *qw_page_diff(qw_page *a, qw_page *b);

/* Parses html[0..len) twice on this thread, once with script and style
 * content handed to Gumbo and once taken out, and compares the models.
 * NULL when equal or when either parse failed; else what differs. */
const char *qw_page_diff_strip(const char *html, size_t len, const char *url,
                               const qw_page_options *opt);

#endif
