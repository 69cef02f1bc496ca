/* fuzz_page.c — libFuzzer harness for the page model (parsers/page.h).
 *
 * The first byte picks the mode: even, the rest is made valid UTF-8 first
 * (U+FFFD for each bad byte, as qw_charset_decode hands pages over); odd,
 * the raw bytes go in as they are. Every page is checked against what
 * page.h promises: NUL-terminated valid UTF-8 everywhere, block texts with
 * no empty, untrimmed or uncollapsed blocks, non-empty parameter and
 * metadata pairs, fetchable links without fragments, a joined body as
 * long as it says, and the same model whether the pre-scan takes script
 * and style content out of Gumbo's input or not. Any broken promise
 * aborts. Input is capped, and so are
 * nodes, so that a run cannot hang. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "page.h"
#include "page_diff.h"
#include "utf8.h"

#define MAX_INPUT (128 * 1024)

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_page: broken promise: %s\n", what);
    abort();
  }
}

static void check_str(const char *s, const char *what)
{
  check(s != NULL, what);
  check(qw_utf8_valid(s, strlen(s)), what);
}

static void check_field(const qw_text *t)
{
  check(t->text != NULL, "field text NULL");
  check(strlen(t->text) == t->len, "field length");
  check(qw_utf8_valid(t->text, t->len), "field UTF-8");
  if(!t->len)
    return;
  const char *s = t->text;
  size_t n = t->len;
  check(s[0] != '\n' && s[n - 1] != '\n', "edge newline");
  check(s[0] != ' ' && s[n - 1] != ' ', "edge space");
  check(!strstr(s, "\n\n"), "empty block");
  check(!strstr(s, " \n") && !strstr(s, "\n "), "untrimmed block");
  check(!strstr(s, "  "), "uncollapsed space");
  for(size_t i = 0; i < n; i++) {
    char c = s[i];
    check(c != '\t' && c != '\r' && c != '\f', "white space kept");
  }
}

static void check_kvs(const qw_kv *kv, size_t n)
{
  check(n == 0 || kv != NULL, "pairs NULL");
  for(size_t i = 0; i < n; i++) {
    check_str(kv[i].key, "key");
    check_str(kv[i].value, "value");
    check(kv[i].key[0] && kv[i].value[0], "empty pair");
    check(!strchr(kv[i].key, '\n') && !strchr(kv[i].value, '\n'),
          "newline in a pair");
  }
}

static void check_page(qw_page *p)
{
  for(int f = 0; f < QW_FIELD_COUNT; f++)
    check_field(&p->field[f]);
  check_kvs(p->params, p->n_params);
  check_kvs(p->og, p->n_og);
  check_kvs(p->jsonld, p->n_jsonld);
  const char *strs[] = {p->url, p->base_url, p->title, p->h1,
                        p->meta_description, p->meta_keywords, p->lang};
  for(int i = 0; i < 7; i++)
    check_str(strs[i], "page string");
  if(p->canonical)
    check_str(p->canonical, "canonical");
  for(size_t i = 0; i < p->n_links; i++) {
    check_str(p->links[i], "link");
    check(!strncmp(p->links[i], "http://", 7) ||
          !strncmp(p->links[i], "https://", 8), "link not fetchable");
    check(!strchr(p->links[i], '#'), "fragment in a link");
  }
  for(size_t i = 0; i < p->n_images; i++)
    check_str(p->images[i], "image");
  for(size_t i = 0; i < p->n_jsonld_types; i++)
    check_str(p->jsonld_types[i], "type");
  check((unsigned)p->type_hint <= QW_PAGE_OTHER, "type hint");
  size_t jl;
  const char *j = qw_page_body_joined(p, &jl);
  check(j != NULL && strlen(j) == jl, "joined length");
  check(qw_utf8_valid(j, jl), "joined UTF-8");
  check(jl <= p->field[QW_FIELD_BODY].len, "joined longer than body");
  check(!strchr(j, '\n'), "newline in joined body");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size == 0 || size > MAX_INPUT)
    return 0;
  int raw = data[0] & 1;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  qw_buf clean = QW_BUF_INIT;
  if(!raw) {
    size_t i = 0;
    while(i < len) {
      uint32_t cp = qw_utf8_next(in, len, &i);
      if(qw_buf_put_utf8(&clean, cp) != 0) {
        qw_buf_free(&clean);
        return 0;
      }
    }
    in = clean.data ? clean.data : "";
    len = clean.len;
  }
  /* a private copy: ASan sees reads past the end, and the page must not
   * point into the input after it is gone */
  char *copy = malloc(len ? len : 1);
  if(!copy) {
    qw_buf_free(&clean);
    return 0;
  }
  memcpy(copy, in, len);
  qw_buf_free(&clean);

  qw_page_options o = {0};
  o.max_nodes = 50000;
  o.max_bytes = MAX_INPUT;
  qw_page *p = NULL;
  char err[128];
  int r = qw_page_parse(copy, len, (data[0] & 2) ? "https://a.example/b/c"
                                                 : NULL,
                        &o, &p, err, sizeof(err));
  check(r == 0 || r == -ENOMEM, "unexpected error");
  if(r == 0) {
    check_page(p);
    qw_page_free(p);
    /* taking script and style content out of Gumbo's input changes
     * nothing in the model of valid UTF-8 (what qw_charset_decode hands
     * over; for bad bytes the count of U+FFFD may differ from Gumbo's) */
    const char *why = raw ? NULL : qw_page_diff_strip(copy, len, NULL, &o);
    if(why) {
      fprintf(stderr, "fuzz_page: model differs with script and style "
                      "content taken out: %s\n", why);
      abort();
    }
  }
  free(copy);
  return 0;
}
