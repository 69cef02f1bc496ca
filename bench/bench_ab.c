/* bench_ab.c — two (or more) builds of the matcher timed against each other
 * in one process, round by round, on the same normalised texts: on a
 * machine whose speed swings from one minute to the next, the only way to
 * see a step of a few percent. bench/ab.sh builds the shared objects and
 * the inputs; see bench/README.md.
 *
 * usage: bench-ab DUMP N ROUNDS LIB.so LIB.so…
 *   DUMP    a directory written by bench-analyze --dump (norm.bin, pack-N)
 *   N       which pack: DUMP/pack-N
 *   ROUNDS  passes over all texts per library
 * Each LIB.so holds a build's qingwang libraries (keywords, config, parsers,
 * daemon); its qw_ruleset_load, qw_match_scratch_new and qw_matcher_scan
 * are called through dlopen(). The struct qw_ruleset of rules.h must have
 * the same layout in every build (its matcher member is read). Prints per
 * library its fastest pass (MB/s of normalised text), the median over the
 * rounds of its time divided by the first library's in the same round, and
 * the hits of a pass. Exit status 0, 2 on an error. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "matcher.h"
#include "rules.h"

#define MAX_LIBS 8

typedef int (*load_fn)(const char *, qw_ruleset **, qw_diag *);
typedef qw_match_scratch *(*scratch_fn)(const qw_matcher *);
typedef int (*scan_fn)(const qw_matcher *, qw_match_scratch *, const char *,
                       size_t, const qw_scan_opts *, qw_hit **, size_t *);

typedef struct {
  const char *path;
  scan_fn scan;
  const qw_matcher *m;
  qw_match_scratch *s;
  qw_hit *hits;
  double best;
  double *ratio;     /* per round: time / the first library's */
  uint64_t n_hits;   /* of the last pass */
} lib;

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The little-endian 32-bit length at p. */
static uint32_t rd32(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
         (uint32_t)u[3] << 24;
}

/* The texts of DUMP/norm.bin: *buf (freed by the caller) and n offsets and
 * lengths into it. */
static int read_texts(const char *dump, char **buf, size_t **off,
                      size_t **len, size_t *n)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/norm.bin", dump);
  FILE *f = fopen(path, "rb");
  if(!f) {
    fprintf(stderr, "bench-ab: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 1 << 20, used = 0;
  char *b = malloc(cap);
  size_t got;
  while(b && (got = fread(b + used, 1, cap - used, f)) > 0) {
    used += got;
    if(used == cap) {
      char *nb = realloc(b, cap * 2);
      if(!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if(!b) {
    fprintf(stderr, "bench-ab: out of memory\n");
    return -1;
  }
  size_t k = 0, cnt = 0;
  while(k + 4 <= used) {
    uint32_t l = rd32(b + k);
    if(l > used - k - 4)
      break;
    k += 4 + l;
    cnt++;
  }
  if(k != used || cnt == 0) {
    fprintf(stderr, "bench-ab: %s: not a bench-analyze --dump file\n", path);
    free(b);
    return -1;
  }
  *off = malloc(cnt * sizeof(**off));
  *len = malloc(cnt * sizeof(**len));
  if(!*off || !*len) {
    free(*off);
    free(*len);
    free(b);
    return -1;
  }
  k = 0;
  for(size_t i = 0; i < cnt; i++) {
    uint32_t l = rd32(b + k);
    (*off)[i] = k + 4;
    (*len)[i] = l;
    k += 4 + l;
  }
  *buf = b;
  *n = cnt;
  return 0;
}

static int open_lib(lib *l, const char *pack)
{
  void *h = dlopen(l->path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if(!h) {
    fprintf(stderr, "bench-ab: %s\n", dlerror());
    return -1;
  }
  load_fn load = (load_fn)dlsym(h, "qw_ruleset_load");
  scratch_fn scratch = (scratch_fn)dlsym(h, "qw_match_scratch_new");
  l->scan = (scan_fn)dlsym(h, "qw_matcher_scan");
  if(!load || !scratch || !l->scan) {
    fprintf(stderr, "bench-ab: %s: not a qingwang library\n", l->path);
    return -1;
  }
  qw_ruleset *rs = NULL;
  qw_diag d;
  memset(&d, 0, sizeof(d));
  int rc = load(pack, &rs, &d);
  if(rc) {
    fprintf(stderr, "bench-ab: %s: cannot load %s: %s\n", l->path, pack,
            strerror(-rc));
    return -1;
  }
  l->m = rs->matcher; /* the pack stays loaded until the process ends */
  l->s = scratch(l->m);
  if(!l->s) {
    fprintf(stderr, "bench-ab: %s: no scratch\n", l->path);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  if(argc < 5 || argc - 4 > MAX_LIBS) {
    fprintf(stderr, "usage: bench-ab DUMP N ROUNDS LIB.so LIB.so… (at most "
            "%d)\n", MAX_LIBS);
    return 2;
  }
  const char *dump = argv[1];
  char *end;
  unsigned long rounds = strtoul(argv[3], &end, 10);
  if(*end || rounds == 0 || rounds > 100000) {
    fprintf(stderr, "bench-ab: bad ROUNDS: %s\n", argv[3]);
    return 2;
  }
  char pack[4096];
  snprintf(pack, sizeof(pack), "%s/pack-%s", dump, argv[2]);
  char *buf = NULL;
  size_t *off = NULL, *len = NULL, nt = 0;
  if(read_texts(dump, &buf, &off, &len, &nt))
    return 2;
  size_t bytes = 0;
  for(size_t i = 0; i < nt; i++)
    bytes += len[i];
  int nl = argc - 4;
  lib libs[MAX_LIBS];
  memset(libs, 0, sizeof(libs));
  for(int v = 0; v < nl; v++) {
    libs[v].path = argv[4 + v];
    libs[v].best = 1e30;
    libs[v].ratio = calloc(rounds, sizeof(double));
    if(!libs[v].ratio || open_lib(&libs[v], pack))
      return 2;
  }
  double t[MAX_LIBS];
  for(unsigned long r = 0; r < rounds; r++) {
    /* the order rotates, so that no library always runs first */
    for(int q = 0; q < nl; q++) {
      lib *l = &libs[(q + r) % (unsigned long)nl];
      uint64_t hits = 0;
      double a = now_s();
      for(size_t i = 0; i < nt; i++) {
        size_t n = 0;
        int rc = l->scan(l->m, l->s, buf + off[i], len[i], NULL, &l->hits,
                         &n);
        if(rc && rc != -ETIME) {
          fprintf(stderr, "bench-ab: %s: scan: %s\n", l->path,
                  strerror(-rc));
          return 2;
        }
        hits += n;
      }
      double e = now_s() - a;
      t[(q + r) % (unsigned long)nl] = e;
      l->n_hits = hits;
      if(e < l->best)
        l->best = e;
    }
    for(int v = 0; v < nl; v++)
      libs[v].ratio[r] = t[v] / t[0];
  }
  printf("%zu texts, %.1f MB of normalised text, pack %s, %lu rounds\n", nt,
         (double)bytes / 1e6, pack, rounds);
  for(int v = 0; v < nl; v++) {
    qsort(libs[v].ratio, rounds, sizeof(double), cmp_double);
    printf("%-40s fastest %7.1f MB/s  median time ratio %.3f  hits %llu\n",
           libs[v].path, (double)bytes / libs[v].best / 1e6,
           libs[v].ratio[rounds / 2], (unsigned long long)libs[v].n_hits);
  }
  return 0;
}
