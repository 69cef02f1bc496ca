/* fuzz_config.c — libFuzzer harness for the config loader (config.h).
 *
 * The input is loaded as a config file from memory. When it loads, the
 * dump must load again and dump identically (the round trip the docs
 * promise); when it fails, the message must name the file. The first line
 * is also tried as a "section.key=value" override. Every [site HOST] must
 * be found again by qw_config_site(): an exact host gives its own
 * section, a suffix pattern's bare domain gives a section at least as
 * specific. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define MAX_INPUT (64 * 1024)

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_config: broken promise: %s\n", what);
    abort();
  }
}

static char *dump(const qw_config *cfg)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&s, &len);
  if(!f)
    return NULL;
  qw_config_dump(cfg, f);
  if(fclose(f) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

/* Dump → load → dump must give the same text. */
static void round_trip(const qw_config *cfg)
{
  char *d1 = dump(cfg);
  if(!d1)
    return;
  qw_config b;
  if(qw_config_init(&b) != 0) {
    free(d1);
    return;
  }
  char err[512];
  int r = qw_config_load_buffer(&b, "dump", d1, strlen(d1), err,
                                sizeof(err));
  if(r != 0)
    fprintf(stderr, "fuzz_config: dump does not load: %s\n%s\n", err, d1);
  check(r == 0, "dump loads");
  char *d2 = dump(&b);
  check(d2 && !strcmp(d1, d2), "dump round trip");
  free(d1);
  free(d2);
  qw_config_free(&b);
}

/* "section.key=value" on the first line, split the way the CLI does. */
static void try_override(qw_config *cfg, const char *text, size_t size)
{
  const char *nl = memchr(text, '\n', size);
  size_t n = nl ? (size_t)(nl - text) : size;
  if(n > 512 || memchr(text, '\0', n))
    return;
  char line[513];
  memcpy(line, text, n);
  line[n] = '\0';
  char *dot = strchr(line, '.');
  char *eq = dot ? strchr(dot + 1, '=') : NULL;
  if(!eq)
    return;
  *dot = '\0';
  *eq = '\0';
  char err[512];
  int r = qw_config_set(cfg, line, dot + 1, eq + 1, err, sizeof(err));
  check(r == 0 || r == -EINVAL, "set returns");
  if(r)
    check(strlen(err) > 0, "set error is empty");
}

static void check_sites(const qw_config *cfg)
{
  for(size_t i = 0; i < cfg->n_sites; i++) {
    const qw_site *s = &cfg->sites[i];
    check(s->host && *s->host, "site has a host");
    check(s->user_agent && s->gone_markers && s->page_type,
          "site fields are filled");
    if(s->host[0] != '*') {
      check(qw_config_site(cfg, s->host) == s, "exact host finds its site");
      continue;
    }
    const char *suffix = s->host + 2;
    const qw_site *m = qw_config_site(cfg, suffix);
    check(m != &cfg->site_defaults, "suffix domain finds a site");
    if(m->host[0] == '*')
      check(strlen(m->host) >= strlen(s->host), "longest suffix wins");
    else
      check(!strcmp(m->host, suffix), "exact host beats a suffix");
  }
  check(qw_config_site(cfg, "") == &cfg->site_defaults, "empty host");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  const char *text = (const char *)data;
  qw_config cfg;
  if(qw_config_init(&cfg) != 0)
    return 0;
  char err[512];
  int r = qw_config_load_buffer(&cfg, "fuzz.conf", text, size, err,
                                sizeof(err));
  check(r == 0 || r == -EINVAL || r == -ENOMEM, "load returns");
  if(r)
    check(!strncmp(err, "fuzz.conf", 9), "error names the file");
  try_override(&cfg, text, size);
  check_sites(&cfg);
  round_trip(&cfg);
  qw_config_free(&cfg);
  return 0;
}
