/* fuzz_rules.c — libFuzzer harness for the rule-pack loader. The input is
 * split at NUL bytes: the first part becomes pack.ini, the next ones
 * lists/0.txt, lists/1.txt, lists/2.txt, all in a private temp directory;
 * the pack is then loaded (and compiled) as qingwang would. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"

#define MAX_INPUT (16u * 1024u)
#define N_LISTS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static char lists[80];

static void cleanup(void)
{
  char p[128];
  snprintf(p, sizeof(p), "%s/pack.ini", dir);
  unlink(p);
  for(int i = 0; i < N_LISTS; i++) {
    snprintf(p, sizeof(p), "%s/%d.txt", lists, i);
    unlink(p);
  }
  rmdir(lists);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  strcpy(dir, "/tmp/qw-fuzz-rules-XXXXXX");
  if(!mkdtemp(dir))
    abort();
  snprintf(lists, sizeof(lists), "%s/lists", dir);
  if(mkdir(lists, 0700) != 0)
    abort();
  atexit(cleanup);
  return 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  if(!f)
    abort();
  if(n && fwrite(p, 1, n, f) != n)
    abort();
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(size > MAX_INPUT)
    return 0;
  char p[128];
  size_t pos = 0;
  for(int part = 0; part <= N_LISTS; part++) {
    const uint8_t *nul = pos < size ? memchr(data + pos, 0, size - pos) :
                                      NULL;
    size_t end = nul ? (size_t)(nul - data) : size;
    if(pos > size)
      pos = end = size;
    if(part == 0)
      snprintf(p, sizeof(p), "%s/pack.ini", dir);
    else
      snprintf(p, sizeof(p), "%s/%d.txt", lists, part - 1);
    write_file(p, data + pos, end - pos);
    pos = end + 1;
  }
  qw_ruleset *rs = NULL;
  qw_diag d;
  memset(&d, 0, sizeof(d));
  int r = qw_ruleset_load(dir, &rs, &d);
  if(r == 0) {
    if(!rs || d.n_errors)
      abort();
    for(size_t i = 0; i < rs->n_rules; i++)
      if(qw_ruleset_find(rs, rs->rules[i].id) != &rs->rules[i])
        abort();
    qw_ruleset_unref(qw_ruleset_ref(rs));
    qw_ruleset_unref(rs);
  }
  else if(rs || (r == -EINVAL && d.n_errors == 0))
    abort();
  qw_diag_free(&d);
  return 0;
}
