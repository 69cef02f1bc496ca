/* rawtext.h — where the HTML tokenizer leaves a comment, a raw-text
 * element or a script, by the tokenizer states of the HTML standard as
 * Gumbo 0.10 implements them (CR and CRLF count as LF, tag names compare
 * ASCII case-insensitively). The page pre-scan uses these to find element
 * content that Gumbo would not tokenize as markup, and to take script and
 * style content out of Gumbo's input without changing what it builds. */
#ifndef QW_RAWTEXT_H
#define QW_RAWTEXT_H

#include <stddef.h>

/* s[i..n) follows "<!--". Returns the offset just past the comment's end
 * ("-->", "--!>", or the abrupt "<!-->" and "<!--->"), or n when the
 * comment runs to the end of the input. */
size_t qw_html_comment_end(const char *s, size_t n, size_t i);

/* s[i..n) is the content of a RAWTEXT or RCDATA element whose lower-case
 * tag name is name[0..nl) (style, title, textarea, xmp, iframe, noembed,
 * noframes). Returns the offset of the '<' of its end tag ("</name"
 * followed by white space, '/' or '>'), or n. */
size_t qw_html_rawtext_end(const char *s, size_t n, size_t i,
                           const char *name, size_t nl);

/* s[i..n) is the content of a <script> element. Returns the offset of the
 * '<' of the end tag that closes it, following the script-data escape
 * states ("<!--" ... "<script>" ... "-->" does not end where a plain
 * search for "</script" would), or n. */
size_t qw_html_script_end(const char *s, size_t n, size_t i);

#endif
