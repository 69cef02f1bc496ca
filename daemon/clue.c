/* clue.c — builds the qingwang.clue/1 JSON object (see clue.h and
 * docs/clue-schema.md). Field names here are an interface: change them only
 * with a new schema version. */
#include "clue.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

void qw_sha256_hex(const void *data, size_t len, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  static const char hex[] = "0123456789abcdef";
  if(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
     mdlen != 32) {
    memset(out, '0', 64);
    out[64] = '\0';
    return;
  }
  for(unsigned i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void qw_clue_fingerprint(const qw_clue_source *src, const qw_analysis *an,
                         char out[65])
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  const char *who = src->url ? src->url : src->path ? src->path : "";
  char **items = an->n_findings ?
                 calloc(an->n_findings, sizeof(*items)) : NULL;
  size_t n = 0;
  if(items) {
    for(size_t i = 0; i < an->n_findings; i++) {
      const qw_finding *f = &an->findings[i];
      size_t l = strlen(f->rule->id) + strlen(f->match ? f->match : "") + 2;
      items[n] = malloc(l);
      if(!items[n])
        break;
      snprintf(items[n], l, "%s\t%s", f->rule->id, f->match ? f->match : "");
      n++;
    }
    qsort(items, n, sizeof(*items), cmp_str);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, who, strlen(who) + 1) == 1;
  for(size_t i = 0; ok && i < n; i++) {
    /* identical pairs count once */
    if(i > 0 && strcmp(items[i], items[i - 1]) == 0)
      continue;
    ok = EVP_DigestUpdate(ctx, items[i], strlen(items[i]) + 1) == 1;
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
  static const char hex[] = "0123456789abcdef";
  for(unsigned i = 0; i < 32; i++) {
    out[2 * i] = ok ? hex[md[i] >> 4] : '0';
    out[2 * i + 1] = ok ? hex[md[i] & 15] : '0';
  }
  out[64] = '\0';
  for(size_t i = 0; i < n; i++)
    free(items[i]);
  free(items);
  EVP_MD_CTX_free(ctx);
}

int qw_clue_max_severity(const qw_analysis *an)
{
  int m = -1;
  for(size_t i = 0; i < an->n_findings; i++)
    if((int)an->findings[i].severity > m)
      m = (int)an->findings[i].severity;
  return m;
}

static void iso_time(time_t t, char out[32])
{
  struct tm tmv;
  gmtime_r(&t, &tmv);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

/* A time-ordered, unique clue id: "qwc-" + UTC time + 8 random bytes. */
static void new_clue_id(time_t t, char out[48])
{
  unsigned char rnd[8];
  if(getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long x = (unsigned long long)ts.tv_nsec ^
                           ((unsigned long long)getpid() << 32);
    memcpy(rnd, &x, sizeof(rnd));
  }
  struct tm tmv;
  gmtime_r(&t, &tmv);
  char when[20];
  strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tmv);
  snprintf(out, 48, "qwc-%s-%02x%02x%02x%02x%02x%02x%02x%02x", when, rnd[0],
           rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
}

/* json_string() refuses invalid UTF-8; every string we hold is valid, but a
 * NULL must become null rather than crash. */
static json_t *jstr(const char *s)
{
  return s ? json_string(s) : json_null();
}

static json_t *jstr_or_empty_null(const char *s)
{
  return (s && *s) ? json_string(s) : json_null();
}

static const char *device_class_name(int c)
{
  return c == 3 ? "III" : c == 2 ? "II" : c == 1 ? "I" : NULL;
}

static json_t *build_numbers(const qw_analysis *an)
{
  json_t *arr = json_array();
  for(size_t i = 0; arr && i < an->n_numbers; i++) {
    const qw_page_number *pn = &an->numbers[i];
    const qw_number *n = &pn->num;
    json_t *fields = json_array();
    for(int f = 0; fields && f < QW_FIELD_COUNT; f++)
      if(pn->fields & QW_FIELDMASK(f))
        json_array_append_new(fields, json_string(qw_field_name(f)));
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:o, s:o, s:o, s:o, s:o, "
                          "s:O, s:I, s:I}",
        "kind", qw_num_kind_name(n->kind),
        "text", n->text,
        "reason", n->reason[0] ? n->reason : NULL,
        "validity", qw_num_validity_name(n->validity),
        "authority", jstr_or_empty_null(n->authority),
        "year", n->year ? json_integer(n->year) : json_null(),
        "class", n->device_class ? json_integer(n->device_class) :
                                   json_null(),
        "category", jstr_or_empty_null(n->category),
        "field", json_string(qw_field_name(pn->field)),
        "fields", fields,
        "start", (json_int_t)n->start,
        "end", (json_int_t)n->end);
    json_decref(fields);
    if(!o || json_array_append_new(arr, o) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static json_t *build_devices(const qw_ruleset *rs, const qw_analysis *an)
{
  json_t *arr = json_array();
  for(size_t i = 0; arr && i < an->n_devices; i++) {
    const qw_device *d = &rs->devices[an->devices[i].device];
    json_t *o = json_pack("{s:s, s:s, s:i, s:s?, s:s, s:s}",
        "id", d->id, "name", d->name, "class", d->device_class,
        "code", d->code && *d->code ? d->code : NULL,
        "field", qw_field_name(an->devices[i].field),
        "term", an->devices[i].term ? an->devices[i].term : "");
    if(!o || json_array_append_new(arr, o) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

static json_t *build_findings(const qw_analysis *an)
{
  json_t *arr = json_array();
  for(size_t i = 0; arr && i < an->n_findings; i++) {
    const qw_finding *f = &an->findings[i];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                          "s:I, s:I, s:s?}",
        "category", qw_category_name(f->category),
        "rule", f->rule->id,
        "kind", qw_rule_kind_name(f->rule->kind),
        "severity", qw_severity_name(f->severity),
        "basis", f->rule->basis ? f->rule->basis : "",
        "message", f->rule->message ? f->rule->message : "",
        "field", qw_field_name(f->field),
        "match", f->match ? f->match : "",
        "context", f->context ? f->context : "",
        "start", (json_int_t)f->start,
        "end", (json_int_t)f->end,
        "detail", f->detail);
    if(!o || json_array_append_new(arr, o) != 0) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

json_t *qw_clue_build(const qw_ruleset *rs, const qw_page *page,
                      const qw_charset_info *cs, const qw_analysis *an,
                      const qw_clue_source *src)
{
  char created[32], fetched[32], id[48], fp[65], sha[65];
  time_t now = time(NULL);
  iso_time(now, created);
  iso_time(src->fetched ? src->fetched : now, fetched);
  new_clue_id(now, id);
  qw_clue_fingerprint(src, an, fp);
  qw_sha256_hex(src->body ? (const void *)src->body : "", src->body_len,
                sha);
  int maxsev = qw_clue_max_severity(an);
  char remote[96] = "";
  if(src->remote_ip && *src->remote_ip)
    snprintf(remote, sizeof(remote), strchr(src->remote_ip, ':') ?
             "[%s]:%ld" : "%s:%ld", src->remote_ip, src->remote_port);

  json_t *numbers = build_numbers(an);
  json_t *devices = build_devices(rs, an);
  json_t *findings = build_findings(an);
  if(!numbers || !devices || !findings) {
    json_decref(numbers);
    json_decref(devices);
    json_decref(findings);
    return NULL;
  }
  json_t *categories = json_array();
  for(size_t i = 0; categories && i < an->n_findings; i++) {
    const char *c = qw_category_name(an->findings[i].category);
    int seen = 0;
    size_t k;
    json_t *v;
    json_array_foreach(categories, k, v)
      if(strcmp(json_string_value(v), c) == 0)
        seen = 1;
    if(!seen)
      json_array_append_new(categories, json_string(c));
  }

  json_t *clue = json_pack(
      "{s:s, s:s, s:s, s:s,"
      " s:{s:s, s:o, s:o, s:o},"
      " s:{s:s, s:s, s:o, s:s, s:o, s:b, s:I, s:I},"
      " s:{s:o, s:b, s:o, s:o, s:o},"
      " s:o, s:o, s:o,"
      " s:{s:s, s:I, s:s, s:o, s:o, s:o, s:o, s:o},"
      " s:{s:n, s:i},"
      " s:o, s:{s:o, s:o}}",
      "schema", QW_CLUE_SCHEMA,
      "id", id,
      "fingerprint", fp,
      "created", created,
      "source",
        "kind", src->kind ? src->kind : "file",
        "path", jstr(src->path),
        "url", jstr_or_empty_null(src->url),
        "final_url", jstr(src->final_url),
      "page",
        "type", qw_page_type_name(an->page_type),
        "type_source", an->page_type_source ? an->page_type_source : "page",
        "title", json_string(page && page->title ? page->title : ""),
        "charset", cs ? cs->name : "",
        "charset_source", cs ? json_string(qw_charset_source_name(cs->source))
                             : json_null(),
        "truncated", page ? page->truncated : 0,
        "bytes", (json_int_t)src->body_len,
        "elements", (json_int_t)(page ? page->n_elements : 0),
      "product",
        "device_class", device_class_name(an->device_class) ?
                        json_string(device_class_name(an->device_class)) :
                        json_null(),
        "is_device", an->is_device,
        "devices", devices,
        "numbers", numbers,
        "h1", json_string(page && page->h1 ? page->h1 : ""),
      "findings", findings,
      "categories", categories ? categories : json_array(),
      "severity", maxsev >= 0 ?
                  json_string(qw_severity_name((qw_severity)maxsev)) :
                  json_null(),
      "evidence",
        "sha256", sha,
        "size", (json_int_t)src->body_len,
        "fetched", fetched,
        "path", jstr(src->evidence_path),
        "status", src->outcome ? json_integer(src->status) : json_null(),
        "headers", jstr(src->response_headers),
        "remote_addr", remote[0] ? json_string(remote) : json_null(),
        "log_position", src->evidence_seq ?
                        json_integer((json_int_t)src->evidence_seq) :
                        json_null(),
      "recurrence",
        "previous",
        "count", 0,
      "node", jstr(src->node),
      "ruleset",
        "name", jstr(rs->name),
        "version", jstr(rs->version));
  if(clue && src->outcome) {
    json_t *fetch = json_pack("{s:s, s:s?, s:I, s:s?, s:i, s:I, s:{s:f, s:f, "
                              "s:f, s:f, s:f}}",
        "outcome", src->outcome,
        "error", src->error,
        "status", (json_int_t)src->status,
        "http_version", src->http_version && *src->http_version ?
                        src->http_version : NULL,
        "attempts", src->attempts,
        "wire_bytes", (json_int_t)src->wire_bytes,
        "timings",
          "dns", src->t_dns, "connect", src->t_connect, "tls", src->t_tls,
          "ttfb", src->t_ttfb, "total", src->t_total);
    if(fetch)
      json_object_set_new(clue, "fetch", fetch);
    if(src->evidence_record_hash)
      json_object_set_new(json_object_get(clue, "evidence"), "record_hash",
                          json_string(src->evidence_record_hash));
  }
  if(clue && cs && cs->declared[0])
    json_object_set_new(json_object_get(clue, "page"), "charset_declared",
                        json_string(cs->declared));
  if(clue && an->match_limited)
    json_object_set_new(json_object_get(clue, "page"), "match_limited",
                        json_true());
  return clue;
}
