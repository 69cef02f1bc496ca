/* countline.c — the JSON line of `scan --count` (see countline.h). */
#include "countline.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int set(json_t *o, const char *k, json_t *v)
{
  return v ? json_object_set_new(o, k, v) : -1;
}

int qw_countline(const qw_counter *c, qw_counter_scratch *s,
                 qw_page *page, const qw_charset_info *cs,
                 const qw_countline_source *src, char **out, size_t *len)
{
  *out = NULL;
  *len = 0;
  json_t *o = json_object();
  if(!o)
    return -ENOMEM;
  int bad = 0, rc = 0;
  const char *error = src->error;
  if(src->url)
    bad |= set(o, "url", json_string(src->url));
  if(src->path)
    bad |= set(o, "path", json_string(src->path));
  if(src->outcome)
    bad |= set(o, "outcome", json_string(src->outcome));
  if(src->status)
    bad |= set(o, "status", json_integer(src->status));
  if(src->body_bytes)
    bad |= set(o, "body_bytes", json_integer((json_int_t)src->body_bytes));
  if(src->wire_bytes)
    bad |= set(o, "wire_bytes", json_integer((json_int_t)src->wire_bytes));
  if(page && c && s) {
    size_t tl = 0;
    const char *text = qw_page_body_joined(page, &tl);
    qw_counts k;
    rc = text ? qw_counter_count(c, s, text, tl, &k) : -ENOMEM;
    if(rc == -ENOMEM) {
      json_decref(o);
      return rc;
    }
    if(rc)
      error = "counting stopped: a pattern ran over its match limit";
    if(cs && cs->name[0])
      bad |= set(o, "charset", json_string(cs->name));
    bad |= set(o, "text_bytes", json_integer((json_int_t)tl));
    bad |= set(o, "terms", json_integer((json_int_t)k.terms));
    json_t *hits = json_object();
    bad |= hits ? 0 : -1;
    for(size_t i = 0; hits && i < qw_counter_terms(c); i++)
      if(k.hits[i])
        bad |= set(hits, qw_counter_term(c, i), json_integer(k.hits[i]));
    bad |= set(o, "hits", hits);
    for(size_t i = 0; i < qw_counter_patterns(c); i++)
      bad |= set(o, qw_counter_pattern_name(c, i),
                 json_integer((json_int_t)k.pattern[i]));
  }
  if(error)
    bad |= set(o, "error", json_string(error));
  char *js = bad ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if(!js)
    return -ENOMEM;
  size_t l = strlen(js);
  char *line = realloc(js, l + 2);
  if(!line) {
    free(js);
    return -ENOMEM;
  }
  line[l++] = '\n';
  line[l] = '\0';
  *out = line;
  *len = l;
  return rc;
}
