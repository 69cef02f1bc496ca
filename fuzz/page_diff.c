/* page_diff.c — field-by-field comparison of two page models (see
 * page_diff.h). */
#include "page_diff.h"

#include <string.h>

void qw__page_no_strip(int on);

static int str_eq(const char *a, const char *b)
{
  if(!a || !b)
    return a == b;
  return !strcmp(a, b);
}

static int kvs_eq(const qw_kv *a, size_t na, const qw_kv *b, size_t nb)
{
  if(na != nb)
    return 0;
  for(size_t i = 0; i < na; i++) {
    if(!str_eq(a[i].key, b[i].key) || !str_eq(a[i].value, b[i].value))
      return 0;
  }
  return 1;
}

static int strs_eq(const char **a, size_t na, const char **b, size_t nb)
{
  if(na != nb)
    return 0;
  for(size_t i = 0; i < na; i++) {
    if(!str_eq(a[i], b[i]))
      return 0;
  }
  return 1;
}

const char *qw_page_diff(qw_page *a, qw_page *b)
{
  static const char *const field[QW_FIELD_COUNT] = {
    "title field", "heading field", "meta field", "body field",
    "alt field",   "params field",  "jsonld field", "og field"};
  for(int f = 0; f < QW_FIELD_COUNT; f++) {
    if(a->field[f].len != b->field[f].len ||
       memcmp(a->field[f].text, b->field[f].text, a->field[f].len))
      return field[f];
  }
  if(!str_eq(a->title, b->title) || !str_eq(a->h1, b->h1) ||
     !str_eq(a->meta_description, b->meta_description) ||
     !str_eq(a->meta_keywords, b->meta_keywords) || !str_eq(a->lang, b->lang))
    return "title, h1, meta or lang";
  if(!str_eq(a->url, b->url) || !str_eq(a->base_url, b->base_url) ||
     !str_eq(a->canonical, b->canonical))
    return "url, base or canonical";
  if(!kvs_eq(a->params, a->n_params, b->params, b->n_params))
    return "params";
  if(!kvs_eq(a->og, a->n_og, b->og, b->n_og))
    return "og";
  if(!kvs_eq(a->jsonld, a->n_jsonld, b->jsonld, b->n_jsonld))
    return "jsonld";
  if(!strs_eq(a->jsonld_types, a->n_jsonld_types, b->jsonld_types,
              b->n_jsonld_types))
    return "jsonld types";
  if(!strs_eq(a->links, a->n_links, b->links, b->n_links))
    return "links";
  if(!strs_eq(a->images, a->n_images, b->images, b->n_images))
    return "images";
  if(a->type_hint != b->type_hint)
    return "type hint";
  if(a->n_elements != b->n_elements)
    return "element count";
  if(a->truncated != b->truncated)
    return "truncated flag";
  size_t la, lb;
  const char *ja = qw_page_body_joined(a, &la);
  const char *jb = qw_page_body_joined(b, &lb);
  if(!ja || !jb || la != lb || memcmp(ja, jb, la))
    return "joined body";
  return NULL;
}

const char *qw_page_diff_strip(const char *html, size_t len, const char *url,
                               const qw_page_options *opt)
{
  qw_page *full = NULL, *fast = NULL;
  char err[128];
  qw__page_no_strip(1);
  int r1 = qw_page_parse(html, len, url, opt, &full, err, sizeof(err));
  qw__page_no_strip(0);
  int r2 = qw_page_parse(html, len, url, opt, &fast, err, sizeof(err));
  const char *why = NULL;
  if(r1 == 0 && r2 == 0)
    why = qw_page_diff(full, fast);
  qw_page_free(full);
  qw_page_free(fast);
  return why;
}
