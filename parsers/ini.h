/* ini.h — tokenizer for the INI dialect of config and rule files.
 *
 * Dialect: "[section]" or "[section name]" headers, "key = value" lines,
 * whole-line comments starting with '#' or ';', blank lines ignored, values
 * trimmed, no inline comments (so '#' may appear in patterns), a trailing
 * backslash continues a value on the next line. UTF-8 with an optional BOM.
 * The parser calls back once per key with the file position, so every error
 * can name file:line. */
#ifndef QW_INI_H
#define QW_INI_H

#include <stddef.h>

/* Called for each key. section is "" before the first header; for
 * "[rule foo]" section is "rule foo". Return 0 to go on, non-zero to stop
 * (qw_ini_parse then returns that value). Strings are valid only during the
 * call. */
typedef int (*qw_ini_cb)(void *ud, const char *section, const char *key,
                         const char *value, int line);

/* Parses text[0..len). Returns 0, the callback's non-zero value, or -EINVAL
 * on a syntax error, in which case err (size errlen) says "line N: why". */
int qw_ini_parse(const char *text, size_t len, qw_ini_cb cb, void *ud,
                 char *err, size_t errlen);

/* Reads a whole file (at most max_bytes) into a malloc'd NUL-terminated
 * buffer. Returns 0, or -errno (-EFBIG when larger than max_bytes). */
int qw_read_file(const char *path, size_t max_bytes, char **out,
                 size_t *out_len);

#endif
