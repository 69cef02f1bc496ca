/* jsonld.h — flattening of JSON-LD and of embedded product state (internal
 * to parsers/: page.c is the only user, fuzz_jsonld.c fuzzes it alone).
 *
 * Two inputs, one output shape. qw_jsonld_flatten() parses a JSON-LD script
 * with jansson and reports every string and number value under a dotted
 * path that starts with the node's schema.org type: {"@type":"Product",
 * "offers":{"@type":"Offer","price":"99"}} gives "Product.offers.price" =
 * "99". qw_jsonld_state() scans a JavaScript object literal (the value of
 * window.__INIT_DATA__ = {…} and friends, which is often not strict JSON)
 * without building a tree, and reports only values under product-ish keys,
 * with paths that start with "State.".
 *
 * Nothing here allocates memory that outlives a call; values are handed to
 * the sink's callback, which copies what it keeps. Values are valid UTF-8
 * (the scanner re-encodes what it decodes); keys and values may still hold
 * white space of any kind, including '\n': the caller collapses it. */
#ifndef QW_JSONLD_H
#define QW_JSONLD_H

#include <stddef.h>

/* Where flattened values go. value() receives the dotted path and the
 * value (neither NUL-terminated); type() receives each @type name (prefix
 * "http://schema.org/" or "schema:" removed) with root = 1 when the node
 * is a top-level node or an @graph member. Both return 0 to go on, a
 * positive number to stop quietly (a cap was reached), a negative errno to
 * abort; type may be NULL. */
typedef struct {
  int (*value)(void *ctx, const char *key, size_t klen, const char *val,
               size_t vlen);
  int (*type)(void *ctx, const char *name, size_t len, int root);
  void *ctx;
} qw_jsonld_sink;

/* Limits of the flattening: deeper paths and longer keys are skipped, longer
 * values are cut (at a UTF-8 boundary) before they reach the sink. */
#define QW_JSONLD_MAX_DEPTH 16
#define QW_JSONLD_MAX_KEY 256
#define QW_JSONLD_MAX_VALUE 4096
/* Inputs above this many bytes are not looked at (-E2BIG). */
#define QW_JSONLD_MAX_INPUT (1024u * 1024u)

/* Parses json[0..len) as JSON-LD (an object, an array of them, or an object
 * with "@graph"; a wrapping "<!-- … -->" or CDATA marker is tolerated) and
 * reports its values. Keys starting with '@' are not values; arrays add no
 * index to the path; booleans and nulls are skipped.
 * Returns 0, -EINVAL when the text is not JSON (or not an object/array),
 * -E2BIG over QW_JSONLD_MAX_INPUT, -ENOMEM, or a callback's negative
 * value. */
int qw_jsonld_flatten(const char *json, size_t len, const qw_jsonld_sink *s);

/* Looks in script text js[0..len) for the assignment of a known embedded
 * state variable (window.__INIT_DATA__, __INITIAL_STATE__, __INITIAL_DATA__,
 * __PRELOADED_STATE__, __NEXT_DATA__, g_config, pageConfig, runParams)
 * starting at js[from]. Returns 1 and sets *start to the offset of the
 * value ('{', '[', or the 'J' of JSON.parse(…)) and *resume to where the
 * next search may start, or 0 when there is none. */
int qw_jsonld_find_state(const char *js, size_t len, size_t from,
                         size_t *start, size_t *resume);

/* Scans the object literal at js[0..len) (js[0] is '{' or '[', or
 * "JSON.parse(\"…\")" whose string is decoded and scanned) and reports:
 *   - string values of product keys: title, subTitle, itemTitle, itemName,
 *     goodsName, goodsTitle, productName, productTitle, skuName, skuTitle,
 *     brand, brandName, shopName, model, desc, description (matched without
 *     regard to case), and "name" when the enclosing key names an item,
 *     product, goods, sku, shop, seller, store or brand;
 *   - under a property-list key (props, params, attributes, attrs,
 *     properties, specs, skuProps, baseProps, attrList, paramList,
 *     propList, …): plain strings, and objects holding a name (name, key,
 *     label, propName, attrName, paramName) and a value (value, val,
 *     propValue, attrValue, paramValue, text), reported as "name: value";
 * with the key "State.<path>" (arrays add no index). Scanning stops at the
 * end of the literal, at QW_JSONLD_MAX_INPUT bytes, or at the first thing
 * it cannot read (what was reported so far stands).
 * Returns 0, -ENOMEM, or a callback's negative value. */
int qw_jsonld_state(const char *js, size_t len, const qw_jsonld_sink *s);

/* Length of the longest prefix of s[0..n) that is valid UTF-8 (no
 * surrogates, no overlong forms) and holds no NUL; n when all of it is.
 * Shared with page.c, which repairs what Gumbo lets through. */
size_t qw__utf8_prefix(const char *s, size_t n);

#endif
