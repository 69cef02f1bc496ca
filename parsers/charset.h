/* charset.h — decide a page's character encoding and convert it to UTF-8.
 *
 * Order (HTML5 encoding sniffing, simplified): a charset forced by the user
 * (--charset), BOM, transport hint (HTTP Content-Type charset), the <meta>
 * prescan of the first 1024 bytes (charset= and http-equiv forms), then
 * statistical detection (uchardet) when nothing is declared or when the
 * declaration is clearly wrong (the bytes are not valid in it while another
 * detected encoding decodes them cleanly). Labels map as the WHATWG Encoding
 * Standard does (gb2312/gbk/x-gbk → GBK decoded as GB18030, iso-8859-1 and
 * us-ascii → windows-1252, big5/big5-hkscs → Big5 …). Conversion uses iconv;
 * invalid bytes become U+FFFD, never a crash. */
#ifndef QW_CHARSET_H
#define QW_CHARSET_H

#include <stddef.h>

typedef enum {
  QW_CS_DEFAULT = 0, /* nothing declared or detected: windows-1252/UTF-8 */
  QW_CS_USER,        /* forced by the caller (--charset) */
  QW_CS_BOM,
  QW_CS_TRANSPORT,   /* Content-Type charset from HTTP */
  QW_CS_META,        /* <meta charset> / http-equiv prescan */
  QW_CS_DETECTED,    /* statistical detection */
} qw_charset_source;

typedef struct {
  char name[32];            /* WHATWG canonical name: "UTF-8", "GBK",
                               "gb18030", "Big5", "windows-1252", … */
  qw_charset_source source; /* how name was chosen */
  char declared[32];        /* the declaration that was overridden as
                               clearly wrong, else "" */
  size_t replaced;          /* invalid sequences replaced by U+FFFD */
} qw_charset_info;

/* Returns the WHATWG canonical name for a label (case- and
 * whitespace-insensitive), or NULL for an unknown label. */
const char *qw_charset_canonical(const char *label, size_t len);

/* Short lower-case word for a source: "user", "bom", "transport", "meta",
 * "detected", "default". */
const char *qw_charset_source_name(qw_charset_source src);

/* Finds a charset label in an HTTP Content-Type value ("text/html;
 * charset=gbk"); copies the canonical name into out. Returns 0 or -1. */
int qw_charset_from_content_type(const char *ctype, char out[32]);

/* Decodes in[0..len) to UTF-8.
 *   user_cs:      charset forced by the user, or NULL;
 *   transport_cs: charset label from the transport, or NULL.
 * On success returns 0, sets *out (malloc'd, NUL-terminated, valid UTF-8,
 * BOM removed; the caller frees it) and *out_len, and fills *info.
 * Returns -EINVAL for an unknown user_cs, -ENOMEM when out of memory. */
int qw_charset_decode(const char *in, size_t len, const char *user_cs,
                      const char *transport_cs, char **out, size_t *out_len,
                      qw_charset_info *info);

#endif
