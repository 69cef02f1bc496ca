/* page.h — the page model: everything the matcher looks at on one page.
 *
 * qw_page_parse() runs one Gumbo parse of UTF-8 HTML (max_errors = 0,
 * Gumbo allocating from a bump allocator whose chunks each thread keeps
 * between parses, so no page pays for fresh memory or keeps Gumbo's tree
 * alive), walks the tree once into the compact struct below, and drops the
 * tree. A cheap pre-scan first rewrites the input where Gumbo would go
 * quadratic (absurd nesting, attribute bombs, implicitly closed formatting
 * elements) and a memory/CPU budget bounds Gumbo itself. All strings live
 * in the page's arena and are valid UTF-8; the page owns the arena and
 * qw_page_free() releases everything. Text of elements hidden with the
 * hidden attribute or an inline display:none is kept (shops hide tab
 * panels that way).
 *
 * Text fields are "block texts": each field is one buffer in which blocks are
 * separated by a single '\n' and contain no '\n' themselves (runs of white
 * space inside a block are collapsed to one space, leading/trailing space of
 * a block trimmed). A block is a run of text between block-level element
 * boundaries (p, div, li, td, th, h1-h6, br, tr, dt, dd, section, …), so a
 * pattern never has to match across two unrelated blocks: the matcher drops
 * any match containing '\n'. Character references are decoded by Gumbo;
 * &nbsp; becomes U+00A0 (kept, the normaliser maps it to a space). */
#ifndef QW_PAGE_H
#define QW_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* Fields a rule can look at. Order is part of the rule-pack format (names in
 * qw_field_name()). */
typedef enum {
  QW_FIELD_TITLE = 0, /* <title> */
  QW_FIELD_HEADING,   /* h1 … h3, one block each */
  QW_FIELD_META,      /* meta description, keywords (one block each) */
  QW_FIELD_BODY,      /* visible body text, by block; excludes script,
                         style, noscript, template, comments, hidden
                         inputs, and the parameter table's own text is
                         included here too */
  QW_FIELD_ALT,       /* img alt and title attributes, one block each */
  QW_FIELD_PARAMS,    /* parameter table rows as "key: value", one block
                         per row */
  QW_FIELD_JSONLD,    /* JSON-LD and embedded product JSON string values as
                         "path: value" blocks, e.g. "Product.name: …" */
  QW_FIELD_OG,        /* OpenGraph og:* and product:* as "og:title: …" */
  QW_FIELD_COUNT
} qw_field;

typedef struct {
  const char *text; /* NUL-terminated, blocks separated by '\n' */
  size_t len;
} qw_text;

typedef struct {
  const char *key;   /* as shown, trimmed, trailing ':'/'：' removed */
  const char *value; /* trimmed */
} qw_kv;

typedef enum {
  QW_PAGE_UNKNOWN = 0,
  QW_PAGE_PRODUCT,    /* one product: price, detail */
  QW_PAGE_STOREFRONT, /* a seller's shop home / self-built site home */
  QW_PAGE_PLATFORM,   /* a platform's home page */
  QW_PAGE_OTHER,      /* articles, search results … */
} qw_page_type;

typedef struct {
  size_t max_bytes;   /* input larger than this is refused (-EFBIG); 0 =
                         no cap */
  size_t max_nodes;   /* element count above which the walk stops and the
                         page is marked truncated; 0 = default 200000 */
  unsigned max_depth; /* elements deeper than this are not descended into;
                         0 = default 512 */
  unsigned max_attrs; /* attributes per element looked at; 0 = default 64 */
  int text_only;      /* 1 = the text fields only: no links, no images, no
                         JSON-LD or embedded state (script content is not
                         read), and the type hint ignores links (for
                         keyword counts, which need the body text alone) */
} qw_page_options;

typedef struct qw_page {
  qw_arena *arena;         /* owns everything below */
  const char *url;         /* page URL as given ("" for files without one) */
  const char *base_url;    /* <base href> resolved, else url */
  const char *title;       /* first <title>, collapsed; "" when absent */
  const char *h1;          /* first <h1>, collapsed; "" when absent */
  const char *meta_description;
  const char *meta_keywords;
  const char *canonical;   /* <link rel=canonical> resolved, or NULL */
  const char *lang;        /* <html lang>, or "" */

  qw_text field[QW_FIELD_COUNT];

  qw_kv *params;           /* product parameter table entries: <table> rows
                              with two cells (th/td), <dl> dt/dd pairs,
                              <li> "key：value" items, in document order */
  size_t n_params;
  qw_kv *og;               /* og:… / product:… meta properties */
  size_t n_og;
  qw_kv *jsonld;           /* flattened JSON-LD / embedded-state values:
                              key = "Product.name", "Product.offers.price",
                              "Organization.name", … ; value = string */
  size_t n_jsonld;
  const char **jsonld_types; /* @type values seen ("Product", …) */
  size_t n_jsonld_types;
  const char **links;      /* href of <a>, resolved, fetchable only,
                              de-duplicated, fragment removed */
  size_t n_links;
  const char **images;     /* src of <img>, resolved */
  size_t n_images;

  qw_page_type type_hint;  /* from structure: JSON-LD Product/Offer →
                              product; title words 店铺首页/旗舰店首页/官网首页
                              → storefront; UNKNOWN otherwise */
  size_t n_elements;       /* elements walked */
  int truncated;           /* a cap was hit: the model is partial */
  size_t input_bytes;      /* bytes of HTML parsed */
} qw_page;

/* Parses html[0..len) (UTF-8, as produced by qw_charset_decode) into a new
 * page. url may be NULL or "". opt may be NULL for defaults.
 * Returns 0 and sets *out (free with qw_page_free), or -EFBIG (over
 * max_bytes), -ENOMEM, -EINVAL (Gumbo failed); err (size errlen, may be NULL)
 * gets a short reason. The html buffer may be freed once this returns. */
int qw_page_parse(const char *html, size_t len, const char *url,
                  const qw_page_options *opt, qw_page **out, char *err,
                  size_t errlen);

void qw_page_free(qw_page *p);

/* Name of a field as written in rule files: "title", "heading", "meta",
 * "body", "alt", "params", "jsonld", "og". */
const char *qw_field_name(qw_field f);
/* Inverse of qw_field_name; -1 when unknown. */
int qw_field_from_name(const char *name, size_t len);

const char *qw_page_type_name(qw_page_type t);
int qw_page_type_from_name(const char *name);

/* Visible body text as the peer benchmark defines it: the body blocks
 * concatenated with no separator. Allocated in the page's arena. */
const char *qw_page_body_joined(qw_page *p, size_t *len);

#endif
