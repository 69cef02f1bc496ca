/* bench_analyze.c — the analysis benchmark: throughput of each stage of the
 * page analysis (charset decode, parse+walk, normalise, match, rule logic,
 * the whole path) next to a bare Gumbo parse of the same pages, matching
 * speed with thousands of extra terms, and peak memory per analysed page.
 * One thread. What is measured and how to read the output: bench/README.md.
 *
 * usage: bench-analyze [--rules DIR] [--extra-terms N,N,…] [--repeat R]
 *                      [--rounds K] [--min-time S] [--clock wall|cpu]
 *                      [--stage all|LIST] [--dump DIR] FILE…|DIR…
 * Exit status: 0 every target measured passed, 1 a target failed, 2 a
 * stage could not run (the output says which and why). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <gumbo.h>

#include "qw_build.h"
#include "analyze.h"
#include "charset.h"
#include "matcher.h"
#include "normalize.h"
#include "page.h"
#include "rules.h"
#include "utf8.h"

/* Targets of the issue (see bench/README.md). */
#define TARGET_MATCH_MBPS 500.0     /* default pack + 2,000 extra terms */
#define TARGET_SLOWDOWN 0.20        /* 10,000 vs 2,000 extra terms */
#define TARGET_WHOLE_VS_GUMBO 0.85  /* whole analysis ÷ bare Gumbo */
#define TARGET_MEM_RATIO 20.0       /* peak bytes ÷ page bytes */

#define MAX_EXTRA 8
#define MAX_ROUNDS 64
#define TERMS_SEED 0x5157424e43480001ull

enum {
  ST_GUMBO = 1u << 0,
  ST_DECODE = 1u << 1,
  ST_PARSE = 1u << 2,
  ST_NORM = 1u << 3,
  ST_MATCH = 1u << 4,
  ST_RULES = 1u << 5,
  ST_WHOLE = 1u << 6,
  ST_EXTRA = 1u << 7,
  ST_MEMORY = 1u << 8,
  ST_ALL = (1u << 9) - 1
};

static const struct {
  const char *name;
  unsigned bit;
} stage_names[] = {
  {"gumbo", ST_GUMBO}, {"decode", ST_DECODE}, {"parse", ST_PARSE},
  {"normalize", ST_NORM}, {"normalise", ST_NORM}, {"match", ST_MATCH},
  {"rules", ST_RULES}, {"whole", ST_WHOLE}, {"extra", ST_EXTRA},
  {"memory", ST_MEMORY}, {"all", ST_ALL},
};

typedef struct {
  char *path;
  char url[96];            /* synthetic URL, so links resolve */
  char *raw;               /* the file as on disk */
  size_t raw_len;
  char *utf8;              /* decoded (outside any timing) */
  size_t utf8_len;
  char charset[32];
  qw_page *page;           /* parsed once, for normalise/match/rules */
  char *norm[QW_FIELD_COUNT]; /* normalised field texts */
  size_t norm_len[QW_FIELD_COUNT];
} bpage;

typedef struct {
  double sec;              /* seconds of the fastest round */
  unsigned passes;         /* passes over all pages in that round */
  double worst;            /* seconds per pass in the slowest round */
  double cpu;              /* CPU seconds ÷ wall seconds, fastest round */
  double per[MAX_ROUNDS];  /* seconds per pass, round by round */
  uint64_t bytes;          /* bytes per pass (what MB/s counts) */
  int ok;
  char err[160];           /* why it could not run */
} meas;

typedef struct {
  const char *rules_dir;
  size_t extra[MAX_EXTRA];
  size_t n_extra;
  unsigned repeat;
  unsigned rounds;
  double min_time;
  unsigned stages;
  int cpu_clock;           /* --clock cpu: time by CPU time, not wall */
  int verbose;             /* --verbose: hits per set of the default pack */
  const char *dump;        /* --dump DIR: write the inputs of bench-ab */
} bench_opts;

typedef struct {
  const qw_matcher *m;
  qw_match_scratch *s;
  qw_hit *h;               /* hit array reused from scan to scan, as the
                              analyser does; freed by the owner */
  uint64_t hits;           /* hits of the last pass */
} match_ctx;

typedef struct {
  bench_opts opt;
  char **paths;
  size_t n_paths;
  bpage *pages;
  size_t n_pages;
  uint64_t raw_bytes, utf8_bytes, field_bytes, norm_bytes;
  size_t n_gbk;
  qw_ruleset *rs;
  qw_analyzer *an;
  qw_norm norm;            /* reused by the normalise stage */
  uint64_t findings;       /* findings of the last rules/whole pass */
  qw_stage_times times;    /* accumulated by the whole stage */
  unsigned whole_runs;     /* passes that fed times (warm-up included) */
  int errors;              /* stages that could not run */
  double min_cpu;          /* lowest cpu share of a kept round */
} bench;

/* ---------------------------------------------------------------- utils */

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process: with wall time it shows whether other load
 * took the CPU away during a round. */
static uint64_t cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int read_file(const char *path, char **out, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if(fd < 0)
    return -errno;
  struct stat st;
  if(fstat(fd, &st) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if(!buf) {
    close(fd);
    return -ENOMEM;
  }
  size_t got = 0;
  while(got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0) {
      int e = r < 0 ? -errno : -EIO;
      free(buf);
      close(fd);
      return e;
    }
    got += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if(fd < 0)
    return -errno;
  size_t done = 0;
  while(done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0) {
      int e = w < 0 ? -errno : -EIO;
      close(fd);
      return e;
    }
    done += (size_t)w;
  }
  if(close(fd) < 0)
    return -errno;
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
  if(!n)
    return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int has_suffix(const char *s, const char *suf)
{
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

/* ------------------------------------------------------ input file list */

static int add_path(bench *b, const char *path, size_t *cap)
{
  if(b->n_paths == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    char **np = realloc(b->paths, nc * sizeof(*np));
    if(!np)
      return -ENOMEM;
    b->paths = np;
    *cap = nc;
  }
  b->paths[b->n_paths] = strdup(path);
  if(!b->paths[b->n_paths])
    return -ENOMEM;
  b->n_paths++;
  return 0;
}

/* Adds path, or every *.html / *.htm file below it when it is a
 * directory. */
static int collect(bench *b, const char *path, size_t *cap, int top)
{
  struct stat st;
  if(stat(path, &st) < 0) {
    int e = -errno;
    fprintf(stderr, "bench-analyze: %s: %s\n", path, strerror(errno));
    return e;
  }
  if(!S_ISDIR(st.st_mode)) {
    if(top || has_suffix(path, ".html") || has_suffix(path, ".htm"))
      return add_path(b, path, cap);
    return 0;
  }
  DIR *d = opendir(path);
  if(!d) {
    int e = -errno;
    fprintf(stderr, "bench-analyze: %s: %s\n", path, strerror(errno));
    return e;
  }
  struct dirent *de;
  int rc = 0;
  while(!rc && (de = readdir(d))) {
    if(de->d_name[0] == '.')
      continue;
    size_t n = strlen(path) + strlen(de->d_name) + 2;
    char *sub = malloc(n);
    if(!sub) {
      rc = -ENOMEM;
      break;
    }
    snprintf(sub, n, "%s/%s", path, de->d_name);
    rc = collect(b, sub, cap, 0);
    free(sub);
  }
  closedir(d);
  return rc;
}

/* ------------------------------------------------------------ pages */

static int load_pages(bench *b)
{
  b->pages = calloc(b->n_paths, sizeof(*b->pages));
  if(!b->pages)
    return -ENOMEM;
  for(size_t i = 0; i < b->n_paths; i++) {
    bpage *p = &b->pages[i];
    p->path = b->paths[i];
    const char *base = strrchr(p->path, '/');
    base = base ? base + 1 : p->path;
    snprintf(p->url, sizeof(p->url), "https://item.bench.example/%.60s",
             base);
    int rc = read_file(p->path, &p->raw, &p->raw_len);
    if(rc) {
      fprintf(stderr, "bench-analyze: %s: %s\n", p->path, strerror(-rc));
      return rc;
    }
    b->n_pages++;
    b->raw_bytes += p->raw_len;
  }
  return 0;
}

/* Decodes every page to UTF-8 (needed by the Gumbo reference and the parse
 * stage); not timed. */
static int decode_pages(bench *b)
{
  for(size_t i = 0; i < b->n_pages; i++) {
    bpage *p = &b->pages[i];
    qw_charset_info info;
    memset(&info, 0, sizeof(info));
    int rc = qw_charset_decode(p->raw, p->raw_len, NULL, NULL, &p->utf8,
                               &p->utf8_len, &info);
    if(rc) {
      fprintf(stderr, "bench-analyze: %s: decode: %s\n", p->path,
              strerror(-rc));
      return rc;
    }
    snprintf(p->charset, sizeof(p->charset), "%s", info.name);
    if(strcmp(info.name, "UTF-8"))
      b->n_gbk++;
    b->utf8_bytes += p->utf8_len;
  }
  return 0;
}

/* Parses every page once and keeps the model and its normalised fields;
 * not timed. */
static int prepare_models(bench *b)
{
  char err[160];
  for(size_t i = 0; i < b->n_pages; i++) {
    bpage *p = &b->pages[i];
    err[0] = '\0';
    int rc = qw_page_parse(p->utf8, p->utf8_len, p->url, NULL, &p->page,
                           err, sizeof(err));
    if(rc) {
      fprintf(stderr, "bench-analyze: %s: parse: %s %s\n", p->path,
              strerror(-rc), err);
      return rc;
    }
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      const qw_text *t = &p->page->field[f];
      qw_norm n;
      memset(&n, 0, sizeof(n));
      if(!t->text || !t->len)
        continue;
      b->field_bytes += t->len;
      rc = qw_normalize(t->text, t->len, &n);
      if(rc) {
        fprintf(stderr, "bench-analyze: %s: normalise: %s\n", p->path,
                strerror(-rc));
        return rc;
      }
      p->norm[f] = n.text;   /* keep the text, drop the offset map */
      p->norm_len[f] = n.len;
      n.text = NULL;
      qw_norm_free(&n);
      b->norm_bytes += p->norm_len[f];
    }
  }
  return 0;
}

static void free_pages(bench *b)
{
  for(size_t i = 0; i < b->n_pages; i++) {
    bpage *p = &b->pages[i];
    free(p->raw);
    free(p->utf8);
    qw_page_free(p->page);
    for(int f = 0; f < QW_FIELD_COUNT; f++)
      free(p->norm[f]);
  }
  free(b->pages);
  b->pages = NULL;
}

/* -------------------------------------------------------- measurement */

typedef int (*pass_fn)(bench *b, void *arg);

typedef struct {
  pass_fn fn;
  void *arg;
  meas *m;
} job;

/* Measures stages in interleaved rounds: one untimed warm-up pass each,
 * then --rounds rounds in which every stage in turn runs passes until both
 * --repeat passes and --min-time seconds are reached. Each stage keeps its
 * fastest round (the one least disturbed by other load on the machine);
 * spread says how much slower its slowest round was. Stages that are
 * compared with each other (whole vs bare Gumbo) are measured in the same
 * call, so they share the machine's conditions. */
static void measure_jobs(bench *b, job *jobs, size_t n)
{
  uint64_t min_ns = (uint64_t)(b->opt.min_time * 1e9);
  for(size_t i = 0; i < n; i++) {
    meas *m = jobs[i].m;
    int rc = jobs[i].fn(b, jobs[i].arg);
    if(rc) {
      snprintf(m->err, sizeof(m->err), "%s", strerror(-rc));
      b->errors++;
    }
    else
      m->ok = 1;
  }
  for(unsigned r = 0; r < b->opt.rounds; r++) {
    for(size_t i = 0; i < n; i++) {
      meas *m = jobs[i].m;
      if(!m->ok)
        continue;
      unsigned passes = 0;
      uint64_t c0 = cpu_ns(), t0 = now_ns(), el = 0;
      int rc = 0;
      while(!rc) {
        rc = jobs[i].fn(b, jobs[i].arg);
        passes++;
        el = now_ns() - t0;
        if(passes >= b->opt.repeat && el >= min_ns)
          break;
      }
      if(rc) {
        snprintf(m->err, sizeof(m->err), "%s", strerror(-rc));
        m->ok = 0;
        b->errors++;
        continue;
      }
      uint64_t used = cpu_ns() - c0;
      double cpu = (double)used / (double)el;
      double sec = (double)(b->opt.cpu_clock ? used : el) / 1e9;
      double per = sec / passes;
      if(!m->passes || per < m->sec / m->passes) {
        m->sec = sec;
        m->passes = passes;
        m->cpu = cpu;
      }
      if(per > m->worst)
        m->worst = per;
      m->per[r] = per;
    }
  }
  for(size_t i = 0; i < n; i++) {
    if(jobs[i].m->ok && jobs[i].m->cpu < b->min_cpu)
      b->min_cpu = jobs[i].m->cpu;
  }
}

static void measure(bench *b, pass_fn fn, void *arg, uint64_t bytes,
                    meas *m)
{
  job j = {fn, arg, m};
  memset(m, 0, sizeof(*m));
  m->bytes = bytes;
  measure_jobs(b, &j, 1);
}

/* Median over rounds of a.per[r] / b.per[r]: two stages measured in the
 * same rounds, compared round by round (each pair ran seconds apart under
 * the same load). */
static double paired(const meas *a, const meas *b, unsigned rounds)
{
  double q[MAX_ROUNDS];
  for(unsigned r = 0; r < rounds; r++)
    q[r] = b->per[r] > 0 ? a->per[r] / b->per[r] : 0;
  return median(q, rounds);
}

static void meas_init(meas *m, uint64_t bytes)
{
  memset(m, 0, sizeof(*m));
  m->bytes = bytes;
}

static double spread(const meas *m)
{
  return m->ok && m->sec > 0 ? m->worst / (m->sec / m->passes) - 1 : 0;
}

static double mbps(const meas *m)
{
  return m->ok && m->sec > 0 ?
    (double)m->bytes * m->passes / m->sec / 1e6 : 0;
}

static double pages_per_s(const bench *b, const meas *m)
{
  return m->ok && m->sec > 0 ? (double)b->n_pages * m->passes / m->sec : 0;
}

static double ms_per_page(const bench *b, const meas *m)
{
  return m->ok && m->passes ?
    m->sec * 1e3 / ((double)b->n_pages * m->passes) : 0;
}

static void print_row(const bench *b, const char *name, const char *what,
                      const meas *m)
{
  if(!m->ok) {
    printf("  %-20s %-12s  not run: %s\n", name, what,
           m->err[0] ? m->err : "not selected");
    return;
  }
  printf("  %-20s %-12s %9.1f %9.1f %9.3f %6.1f%% %5.0f%%\n", name, what,
         mbps(m), pages_per_s(b, m), ms_per_page(b, m), spread(m) * 100,
         m->cpu * 100);
}

/* ------------------------------------------------------------ stages */

static int pass_gumbo(bench *b, void *arg)
{
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    GumboOutput *o = gumbo_parse_with_options(&kGumboDefaultOptions,
                                              b->pages[i].utf8,
                                              b->pages[i].utf8_len);
    if(!o)
      return -ENOMEM;
    gumbo_destroy_output(&kGumboDefaultOptions, o);
  }
  return 0;
}

static int pass_decode(bench *b, void *arg)
{
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    char *out = NULL;
    size_t len = 0;
    qw_charset_info info;
    int rc = qw_charset_decode(b->pages[i].raw, b->pages[i].raw_len, NULL,
                               NULL, &out, &len, &info);
    if(rc)
      return rc;
    free(out);
  }
  return 0;
}

static int pass_parse(bench *b, void *arg)
{
  char err[160];
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    qw_page *pg = NULL;
    int rc = qw_page_parse(b->pages[i].utf8, b->pages[i].utf8_len,
                           b->pages[i].url, NULL, &pg, err, sizeof(err));
    if(rc)
      return rc;
    qw_page_free(pg);
  }
  return 0;
}

static int pass_norm(bench *b, void *arg)
{
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    const qw_page *pg = b->pages[i].page;
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      if(!pg->field[f].len)
        continue;
      int rc = qw_normalize_into(pg->field[f].text, pg->field[f].len,
                                 &b->norm);
      if(rc)
        return rc;
    }
  }
  return 0;
}

static int pass_match(bench *b, void *arg)
{
  match_ctx *mc = arg;
  uint64_t hits = 0;
  for(size_t i = 0; i < b->n_pages; i++) {
    const bpage *p = &b->pages[i];
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      if(!p->norm_len[f])
        continue;
      size_t n = 0;
      int rc = qw_matcher_scan(mc->m, mc->s, p->norm[f], p->norm_len[f],
                               NULL, &mc->h, &n);
      if(rc && rc != -ETIME)
        return rc;
      hits += n;
    }
  }
  mc->hits = hits;
  return 0;
}

static int pass_rules(bench *b, void *arg)
{
  uint64_t findings = 0;
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    qw_analysis an;
    memset(&an, 0, sizeof(an));
    int rc = qw_analyze_page(b->rs, b->an, b->pages[i].page, NULL, &an);
    if(rc)
      return rc;
    findings += an.n_findings;
    qw_analysis_free(&an);
  }
  b->findings = findings;
  return 0;
}

static int pass_whole(bench *b, void *arg)
{
  char err[160];
  uint64_t findings = 0;
  (void)arg;
  for(size_t i = 0; i < b->n_pages; i++) {
    qw_document_opts o;
    qw_page *pg = NULL;
    qw_charset_info cs;
    qw_analysis an;
    memset(&o, 0, sizeof(o));
    memset(&an, 0, sizeof(an));
    o.url = b->pages[i].url;
    int rc = qw_analyze_document(b->rs, b->an, b->pages[i].raw,
                                 b->pages[i].raw_len, &o, &pg, &cs, &an,
                                 &b->times, err, sizeof(err));
    if(rc)
      return rc;
    findings += an.n_findings;
    qw_analysis_free(&an);
    qw_page_free(pg);
  }
  b->findings = findings;
  b->whole_runs++;
  return 0;
}

typedef struct {
  uint32_t set;
  uint64_t hits;
} set_hits;

static int cmp_set_hits(const void *a, const void *b)
{
  uint64_t x = ((const set_hits *)a)->hits, y = ((const set_hits *)b)->hits;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Untimed: which sets of the pack the hits come from (--verbose). */
static void print_set_hits(const bench *b, const qw_ruleset *rs)
{
  uint32_t ns = qw_matcher_n_sets(rs->matcher);
  set_hits *sh = calloc(ns ? ns : 1, sizeof(*sh));
  qw_match_scratch *s = qw_match_scratch_new(rs->matcher);
  qw_hit *h = NULL;
  if(!sh || !s) {
    free(sh);
    if(s)
      qw_match_scratch_free(s);
    return;
  }
  for(uint32_t i = 0; i < ns; i++)
    sh[i].set = i;
  for(size_t i = 0; i < b->n_pages; i++) {
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      size_t n = 0;
      if(!b->pages[i].norm_len[f])
        continue;
      int rc = qw_matcher_scan(rs->matcher, s, b->pages[i].norm[f],
                               b->pages[i].norm_len[f], NULL, &h, &n);
      if(rc && rc != -ETIME)
        break;
      for(size_t k = 0; k < n; k++) {
        if(h[k].set < ns)
          sh[h[k].set].hits++;
      }
    }
  }
  qsort(sh, ns, sizeof(*sh), cmp_set_hits);
  printf("  hits/page by set (top 12 of %u):\n", ns);
  for(uint32_t i = 0; i < ns && i < 12 && sh[i].hits; i++)
    printf("    %9.1f  %s\n", (double)sh[i].hits / b->n_pages,
           qw_matcher_set_name(rs->matcher, sh[i].set));
  free(h);
  free(sh);
  qw_match_scratch_free(s);
}

/* Untimed copies of the normalised texts with every 3-byte character
 * (all Han) replaced by 丶, then the match stage again on them: the cost
 * of scanning alone, without hits to process (--verbose). */
static void match_hit_free(bench *b, const qw_ruleset *rs)
{
  char **saved = calloc(b->n_pages * QW_FIELD_COUNT, sizeof(*saved));
  int rc = saved ? 0 : -ENOMEM;
  for(size_t i = 0; !rc && i < b->n_pages; i++) {
    bpage *p = &b->pages[i];
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      char *t = p->norm[f];
      saved[i * QW_FIELD_COUNT + f] = t;
      if(!t)
        continue;
      char *c = malloc(p->norm_len[f] + 1);
      if(!c) {
        rc = -ENOMEM;
        break;
      }
      memcpy(c, t, p->norm_len[f] + 1);
      for(size_t k = 0; k + 2 < p->norm_len[f]; k++) {
        if(((unsigned char)c[k] & 0xf0) == 0xe0) {
          memcpy(c + k, "\xe4\xb8\xb6", 3);
          k += 2;
        }
      }
      p->norm[f] = c;
    }
  }
  meas m;
  memset(&m, 0, sizeof(m));
  match_ctx mc = {rs->matcher, qw_match_scratch_new(rs->matcher), NULL, 0};
  if(!rc && mc.s) {
    measure(b, pass_match, &mc, b->norm_bytes, &m);
    if(m.ok)
      printf("  match on the same text made hit-free (Han -> 丶, "
             "diagnostic):\n    %.1f MB/s, %.1f hits/page\n", mbps(&m),
             (double)mc.hits / b->n_pages);
  }
  free(mc.h);
  if(mc.s)
    qw_match_scratch_free(mc.s);
  for(size_t i = 0; saved && i < b->n_pages; i++) {
    bpage *p = &b->pages[i];
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      char *o = saved[i * QW_FIELD_COUNT + f];
      if(p->norm[f] != o)
        free(p->norm[f]);
      p->norm[f] = o;
    }
  }
  free(saved);
}

/* ------------------------------------------------- extra-terms packs */

static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Common characters of shop and health vocabulary the random terms are
 * drawn from (so they look like real terms, and most never occur). */
static const char term_chars[] =
  "安保备本标病不测产长成除处传创达大带贷单导道得低地第电店定东动"
  "断对多儿耳发法反方防放非费分风服福复肤改感高个给根工功共骨关官"
  "管光广规国果过孩好号合和黑红后护花化环患黄回会活火机肌积级即急"
  "疾剂加家价架假检减见健降交胶焦角脚叫节洁金紧近进经晶精景净静镜"
  "九酒久旧局据聚卷绝均开康抗考科可克口快宽矿困拉来蓝老乐冷离理力"
  "立利连疗料林临灵流龙路绿率麻马买脉满毛美门蒙米免面敏明模膜目纳"
  "男能年宁牛农女暖配喷皮片品平屏普期其奇气器前强桥巧亲青轻清情球"
  "区去全缺热人日容柔肉如乳入软瑞润弱三色森沙山伤上烧少舌身深神肾"
  "生声湿十石时实食使世试视适手寿受瘦舒鼠术数双水睡顺丝四松送苏速"
  "酸随碎孙损所太泰疼提体天条贴听通同童痛头透突图推退外完王网微维"
  "胃温文稳无五舞物西息洗喜细下夏鲜显线香想消小效心新信星行形性胸"
  "修秀虚需血压牙眼养药叶一医宜益音银饮印英婴营影硬用优油有幼鱼语"
  "浴预元原圆远院月运杂再早增贴站张掌照诊针真整正证支知脂直植止纸"
  "指治质智中肿重周珠主助注专装状准资紫自足组嘴最左作";

_Static_assert((sizeof(term_chars) - 1) % 3 == 0,
               "term_chars holds 3-byte UTF-8 characters only");

typedef struct {
  char **slot;
  size_t cap;
} strset;

static uint64_t fnv1a(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for(size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* 1 when added, 0 when already present, -ENOMEM. */
static int strset_add(strset *set, const char *s, size_t n)
{
  size_t mask = set->cap - 1;
  size_t i = (size_t)fnv1a(s, n) & mask;
  while(set->slot[i]) {
    if(strlen(set->slot[i]) == n && !memcmp(set->slot[i], s, n))
      return 0;
    i = (i + 1) & mask;
  }
  set->slot[i] = strndup(s, n);
  return set->slot[i] ? 1 : -ENOMEM;
}

/* A run of k Han characters at a random place of the normalised body text
 * of a random page, or 0 bytes when the place is not such a run. */
static size_t corpus_term(const bench *b, uint64_t *rng, unsigned k,
                          char *out)
{
  const bpage *p = &b->pages[splitmix(rng) % b->n_pages];
  const char *t = p->norm[QW_FIELD_BODY];
  size_t len = p->norm_len[QW_FIELD_BODY];
  if(!t || len < 32)
    return 0;
  size_t i = qw_utf8_floor(t, len, (size_t)(splitmix(rng) % len));
  size_t start = i, n = 0;
  for(unsigned c = 0; c < k; c++) {
    if(i >= len)
      return 0;
    uint32_t cp = qw_utf8_next(t, len, &i);
    if(!qw_utf8_is_han(cp))
      return 0;
  }
  n = i - start;
  memcpy(out, t + start, n);
  return n;
}

/* Writes n distinct terms of 2–6 Han characters into list (one a line):
 * CORPUS_TERMS of them (or n/10 when fewer) cut from the corpus, so they
 * hit, the rest drawn at random from term_chars, so most never occur. The
 * number of hitting terms does not grow with n: comparing lists of
 * different sizes measures the cost of the list, not of more hits. */
#define CORPUS_TERMS 25

static int gen_terms(const bench *b, size_t n, char **list, size_t *len)
{
  static const unsigned lens[] = {2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6};
  size_t want_corpus = n / 10 < CORPUS_TERMS ? n / 10 : CORPUS_TERMS;
  size_t from_corpus = 0;
  size_t nchars = (sizeof(term_chars) - 1) / 3;
  strset set;
  set.cap = 16;
  while(set.cap < n * 2)
    set.cap *= 2;
  set.slot = calloc(set.cap, sizeof(*set.slot));
  size_t cap = n * 20 + 1;
  char *buf = malloc(cap);
  if(!set.slot || !buf) {
    free(set.slot);
    free(buf);
    return -ENOMEM;
  }
  uint64_t rng = TERMS_SEED;
  size_t made = 0, used = 0, tries = 0;
  int rc = 0;
  while(made < n && !rc) {
    char t[32];
    size_t tl = 0;
    unsigned k = lens[splitmix(&rng) % (sizeof(lens) / sizeof(lens[0]))];
    int corpus = from_corpus < want_corpus && tries < want_corpus * 1000;
    if(corpus) {
      /* 3–6 characters: specific phrases, like a regulator's additions */
      tries++;
      tl = corpus_term(b, &rng, 3 + k % 4, t);
      if(!tl)
        continue;
    }
    else {
      for(unsigned c = 0; c < k; c++) {
        size_t at = (size_t)(splitmix(&rng) % nchars) * 3;
        memcpy(t + tl, term_chars + at, 3);
        tl += 3;
      }
    }
    rc = strset_add(&set, t, tl);
    if(rc == 1) {
      from_corpus += corpus;
      memcpy(buf + used, t, tl);
      used += tl;
      buf[used++] = '\n';
      made++;
      rc = 0;
    }
  }
  for(size_t i = 0; i < set.cap; i++)
    free(set.slot[i]);
  free(set.slot);
  if(rc < 0) {
    free(buf);
    return rc;
  }
  buf[used] = '\0';
  *list = buf;
  *len = used;
  return 0;
}

static int copy_tree(const char *from, const char *to)
{
  DIR *d = opendir(from);
  if(!d)
    return -errno;
  struct dirent *de;
  int rc = 0;
  while(!rc && (de = readdir(d))) {
    if(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    char src[4096], dst[4096];
    struct stat st;
    if((size_t)snprintf(src, sizeof(src), "%s/%s", from, de->d_name) >=
       sizeof(src) ||
       (size_t)snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name) >=
       sizeof(dst)) {
      rc = -ENAMETOOLONG;
      break;
    }
    if(stat(src, &st) < 0) {
      rc = -errno;
      break;
    }
    if(S_ISDIR(st.st_mode)) {
      if(mkdir(dst, 0755) < 0)
        rc = -errno;
      else
        rc = copy_tree(src, dst);
    }
    else if(S_ISREG(st.st_mode)) {
      char *data = NULL;
      size_t len = 0;
      rc = read_file(src, &data, &len);
      if(!rc)
        rc = write_file(dst, data, len);
      free(data);
    }
  }
  closedir(d);
  return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path) < 0 ? -1 : 0;
}

static void rm_tree(const char *dir)
{
  if(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
    fprintf(stderr, "bench-analyze: could not remove %s: %s\n", dir,
            strerror(errno));
}

/* The default pack plus one forbid rule whose list has n generated terms,
 * in a new directory dir (PATH_MAX room) that the caller removes. */
static int fill_pack(const bench *b, size_t n, const char *dir);

static int make_pack(const bench *b, size_t n, char *dir, size_t dirlen)
{
  const char *tmp = getenv("TMPDIR");
  if(!tmp || !*tmp)
    tmp = "/tmp";
  if((size_t)snprintf(dir, dirlen, "%s/qw-bench-pack-XXXXXX", tmp) >=
     dirlen)
    return -ENAMETOOLONG;
  if(!mkdtemp(dir))
    return -errno;
  int rc = fill_pack(b, n, dir);
  if(rc)
    rm_tree(dir);
  return rc;
}

/* Writes into the existing, empty directory dir the default pack plus the
 * forbid rule of n generated terms (none when n is 0). */
static int fill_pack(const bench *b, size_t n, const char *dir)
{
  int rc = copy_tree(b->opt.rules_dir, dir);
  if(rc || n == 0)
    return rc;
  char *list = NULL;
  size_t len = 0;
  if(!rc)
    rc = gen_terms(b, n, &list, &len);
  char path[4200];
  if(!rc) {
    snprintf(path, sizeof(path), "%s/zz-bench-extra.txt", dir);
    rc = write_file(path, list, len);
  }
  free(list);
  if(!rc) {
    char ini[1024];
    int il = snprintf(ini, sizeof(ini),
      "# Added by bench-analyze: %zu generated terms (not a real rule).\n"
      "[rule bench.extra_terms]\n"
      "kind = forbid\n"
      "category = false_claim\n"
      "severity = low\n"
      "applies = any\n"
      "scope = any\n"
      "fields = title, heading, meta, body, alt, params, jsonld, og\n"
      "list = zz-bench-extra.txt\n"
      "message = 基准测试附加词表\n"
      "basis = bench\n", n);
    snprintf(path, sizeof(path), "%s/zz-bench-extra.ini", dir);
    rc = write_file(path, ini, (size_t)il);
  }
  return rc;
}

/* --dump DIR: the inputs of bench-ab (bench/ab.sh), so that two builds
 * are timed on exactly what bench-analyze times: DIR/norm.bin, every
 * non-empty normalised field text of every page in order, each as its
 * length (4 bytes, little-endian) and its bytes; DIR/pack-N for each N of
 * --extra-terms, the pack with N generated terms. DIR must not exist. */
static int dump_inputs(const bench *b, const char *dir)
{
  if(mkdir(dir, 0755) < 0)
    return -errno;
  char path[4200];
  snprintf(path, sizeof(path), "%s/norm.bin", dir);
  FILE *f = fopen(path, "wb");
  if(!f)
    return -errno;
  int rc = 0;
  for(size_t i = 0; i < b->n_pages && !rc; i++)
    for(int k = 0; k < QW_FIELD_COUNT && !rc; k++) {
      size_t n = b->pages[i].norm_len[k];
      if(!n)
        continue;
      unsigned char len[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                              (unsigned char)(n >> 16),
                              (unsigned char)(n >> 24)};
      if(n > UINT32_MAX || fwrite(len, 1, 4, f) != 4 ||
         fwrite(b->pages[i].norm[k], 1, n, f) != n)
        rc = -EIO;
    }
  if(fclose(f) != 0 && !rc)
    rc = -EIO;
  for(size_t e = 0; e < b->opt.n_extra && !rc; e++) {
    snprintf(path, sizeof(path), "%s/pack-%zu", dir, b->opt.extra[e]);
    if(mkdir(path, 0755) < 0)
      rc = -errno;
    else
      rc = fill_pack(b, b->opt.extra[e], path);
  }
  return rc;
}

static void print_diag(const char *dir, qw_diag *d)
{
  for(size_t i = 0; i < d->n_errors && i < 10; i++)
    fprintf(stderr, "bench-analyze: %s: %s\n", dir, d->errors[i]);
  if(d->n_errors > 10)
    fprintf(stderr, "bench-analyze: … %zu more\n", d->n_errors - 10);
}

typedef struct {
  size_t n;
  double load_s;
  meas m;
  meas m_db;               /* the matcher's Hyperscan database alone */
  uint64_t hits;
  uint64_t reports;        /* database reports of the last such pass */
  char dir[4096];
  int made;                /* dir is a temporary copy to remove */
  qw_ruleset *rs;
  match_ctx mc;
} extra_res;

/* Builds and loads the pack for r->n extra terms; on failure r->m.err
 * says why. */
static void extra_prepare(bench *b, extra_res *r)
{
  int rc = 0;
  meas_init(&r->m, b->norm_bytes);
  meas_init(&r->m_db, b->norm_bytes);
  if(r->n) {
    rc = make_pack(b, r->n, r->dir, sizeof(r->dir));
    r->made = !rc;
  }
  else
    snprintf(r->dir, sizeof(r->dir), "%s", b->opt.rules_dir);
  if(!rc) {
    qw_diag diag;
    memset(&diag, 0, sizeof(diag));
    uint64_t t0 = now_ns();
    rc = qw_ruleset_load(r->dir, &r->rs, &diag);
    r->load_s = (double)(now_ns() - t0) / 1e9;
    if(rc)
      print_diag(r->dir, &diag);
    qw_diag_free(&diag);
  }
  if(!rc) {
    r->mc.m = r->rs->matcher;
    r->mc.s = qw_match_scratch_new(r->rs->matcher);
    if(!r->mc.s)
      rc = -ENOMEM;
  }
  if(rc) {
    snprintf(r->m.err, sizeof(r->m.err), "pack: %s", strerror(-rc));
    b->errors++;
  }
}

static void extra_release(extra_res *r)
{
  r->hits = r->mc.hits;
  free(r->mc.h);
  r->mc.h = NULL;
  if(r->mc.s)
    qw_match_scratch_free(r->mc.s);
  r->mc.s = NULL;
  qw_ruleset_unref(r->rs);
  r->rs = NULL;
  if(r->made)
    rm_tree(r->dir);
  r->made = 0;
}

/* The Hyperscan database of the matcher alone over the same texts (no
 * PCRE2, no selection): what matching could cost at best. arg is the
 * pack's extra_res. */
static int pass_db_only(bench *b, void *arg)
{
  extra_res *r = arg;
  uint64_t reports = 0;
  for(size_t i = 0; i < b->n_pages; i++) {
    const bpage *p = &b->pages[i];
    for(int f = 0; f < QW_FIELD_COUNT; f++) {
      if(!p->norm_len[f])
        continue;
      int rc = qw_matcher_scan_db_only(r->mc.m, r->mc.s, p->norm[f],
                                       p->norm_len[f], &reports);
      if(rc)
        return rc;
    }
  }
  r->reports = reports;
  return 0;
}

/* All packs are loaded first and measured in the same rounds, so the
 * comparison between list sizes sees the same machine conditions. */
static void run_extra(bench *b, extra_res *ex, size_t n)
{
  job jobs[2 * MAX_EXTRA];
  size_t nj = 0;
  for(size_t i = 0; i < n; i++) {
    extra_prepare(b, &ex[i]);
    if(!ex[i].m.err[0]) {
      jobs[nj++] = (job){pass_match, &ex[i].mc, &ex[i].m};
      jobs[nj++] = (job){pass_db_only, &ex[i], &ex[i].m_db};
    }
  }
  measure_jobs(b, jobs, nj);
  for(size_t i = 0; i < n; i++)
    extra_release(&ex[i]);
}

/* ------------------------------------------------------------ memory */

typedef struct {
  size_t bytes;            /* page size on disk */
  size_t peak;             /* peak RSS growth during the analysis */
  size_t arena;            /* page-model arena reserved */
  size_t held;             /* heap in use once analysed, before freeing */
} mem_row;

typedef struct {
  int rc;                  /* 0, or the error that stopped the run */
  int method;              /* 1 clear_refs, 2 fork per page */
  size_t rss_start_kb;     /* process before loading the pack */
  size_t rss_rules_kb;     /* after loading the pack */
  size_t maxrss_kb;        /* ru_maxrss after analysing every page once */
  size_t n;
} mem_head;

static long proc_status_kb(const char *key)
{
  FILE *f = fopen("/proc/self/status", "re");
  if(!f)
    return -1;
  char line[256];
  size_t kl = strlen(key);
  long v = -1;
  while(fgets(line, sizeof(line), f)) {
    if(!strncmp(line, key, kl) && line[kl] == ':') {
      v = strtol(line + kl + 1, NULL, 10);
      break;
    }
  }
  fclose(f);
  return v;
}

/* Resets the peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0). */
static int reset_hwm(void)
{
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if(fd < 0)
    return -errno;
  ssize_t w = write(fd, "5", 1);
  int e = w == 1 ? 0 : -errno;
  close(fd);
  return e;
}

static size_t heap_in_use(void)
{
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static int analyse_once(const qw_ruleset *rs, qw_analyzer *an,
                        const char *raw, size_t len, const char *url,
                        mem_row *row)
{
  qw_document_opts o;
  qw_page *pg = NULL;
  qw_charset_info cs;
  qw_analysis res;
  char err[160];
  memset(&o, 0, sizeof(o));
  memset(&res, 0, sizeof(res));
  o.url = url;
  size_t h0 = row ? heap_in_use() : 0;
  int rc = qw_analyze_document(rs, an, raw, len, &o, &pg, &cs, &res, NULL,
                               err, sizeof(err));
  if(rc)
    return rc;
  if(row) {
    size_t h1 = heap_in_use();
    row->held = h1 > h0 ? h1 - h0 : 0;
    row->arena = qw_arena_reserved(pg->arena);
  }
  qw_analysis_free(&res);
  qw_page_free(pg);
  return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
  const char *c = p;
  while(n) {
    ssize_t w = write(fd, c, n);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0)
      return -EIO;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, void *p, size_t n)
{
  char *c = p;
  while(n) {
    ssize_t r = read(fd, c, n);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0)
      return -EIO;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

/* One page in a forked grandchild, peak from ru_maxrss (fallback when
 * clear_refs is not available). */
static int mem_page_fork(const qw_ruleset *rs, qw_analyzer *an,
                         const char *raw, size_t len, const char *url,
                         mem_row *row)
{
  int fds[2];
  if(pipe(fds) < 0)
    return -errno;
  fflush(NULL);
  pid_t pid = fork();
  if(pid < 0) {
    int e = -errno;
    close(fds[0]);
    close(fds[1]);
    return e;
  }
  if(!pid) {
    struct rusage ru;
    close(fds[0]);
    getrusage(RUSAGE_SELF, &ru);
    long before = ru.ru_maxrss;
    mem_row r = *row;
    int rc = analyse_once(rs, an, raw, len, url, &r);
    getrusage(RUSAGE_SELF, &ru);
    r.peak = ru.ru_maxrss > before ?
      (size_t)(ru.ru_maxrss - before) * 1024 : 0;
    if(!rc)
      rc = write_all(fds[1], &r, sizeof(r));
    _exit(rc ? 1 : 0);
  }
  close(fds[1]);
  int rc = read_all(fds[0], row, sizeof(*row));
  close(fds[0]);
  int st;
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return rc;
}

/* The memory run, in a child forked before anything else is loaded: load
 * the pack, analyse every page once (peak RSS of the whole run), then each
 * page again alone (its own peak). Results go to fd. */
static void mem_child(bench *b, int fd)
{
  mem_head h;
  mem_row *rows = calloc(b->n_paths ? b->n_paths : 1, sizeof(*rows));
  qw_ruleset *rs = NULL;
  qw_analyzer *an = NULL;
  qw_diag diag;
  memset(&h, 0, sizeof(h));
  memset(&diag, 0, sizeof(diag));
  h.rss_start_kb = (size_t)proc_status_kb("VmRSS");
  h.rc = rows ? qw_ruleset_load(b->opt.rules_dir, &rs, &diag) : -ENOMEM;
  if(h.rc)
    print_diag(b->opt.rules_dir, &diag);
  qw_diag_free(&diag);
  if(!h.rc && !(an = qw_analyzer_new(rs)))
    h.rc = -ENOMEM;
  h.rss_rules_kb = (size_t)proc_status_kb("VmRSS");
  /* 1: every page once, one at a time, as a scan would. */
  for(size_t i = 0; !h.rc && i < b->n_paths; i++) {
    char *raw = NULL;
    size_t len = 0;
    h.rc = read_file(b->paths[i], &raw, &len);
    if(!h.rc)
      h.rc = analyse_once(rs, an, raw, len, "https://item.bench.example/",
                          NULL);
    free(raw);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  h.maxrss_kb = (size_t)ru.ru_maxrss;
  /* 2: each page alone: free memory goes back to the kernel first, so
   * whatever the analysis touches shows as RSS growth. */
  h.method = getenv("QW_BENCH_MEM_FORK") || reset_hwm() ? 2 : 1;
  for(size_t i = 0; !h.rc && i < b->n_paths; i++) {
    char *raw = NULL;
    size_t len = 0;
    h.rc = read_file(b->paths[i], &raw, &len);
    if(h.rc)
      break;
    mem_row *r = &rows[i];
    r->bytes = len;
    malloc_trim(0);
    if(h.method == 1) {
      reset_hwm();
      long base = proc_status_kb("VmRSS");
      h.rc = analyse_once(rs, an, raw, len, "https://item.bench.example/",
                          r);
      long peak = proc_status_kb("VmHWM");
      r->peak = peak > base ? (size_t)(peak - base) * 1024 : 0;
    }
    else
      h.rc = mem_page_fork(rs, an, raw, len, "https://item.bench.example/",
                           r);
    free(raw);
    h.n = i + 1;
  }
  if(an)
    qw_analyzer_free(an);
  qw_ruleset_unref(rs);
  if(!write_all(fd, &h, sizeof(h)))
    write_all(fd, rows, h.n * sizeof(*rows));
  free(rows);
}

typedef struct {
  int ran;
  mem_head h;
  mem_row *rows;
  char err[160];
} mem_res;

static void run_memory(bench *b, mem_res *mr)
{
  int fds[2];
  memset(mr, 0, sizeof(*mr));
  if(pipe(fds) < 0) {
    snprintf(mr->err, sizeof(mr->err), "pipe: %s", strerror(errno));
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if(pid < 0) {
    snprintf(mr->err, sizeof(mr->err), "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return;
  }
  if(!pid) {
    close(fds[0]);
    mem_child(b, fds[1]);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  int rc = read_all(fds[0], &mr->h, sizeof(mr->h));
  if(!rc && mr->h.n) {
    mr->rows = calloc(mr->h.n, sizeof(*mr->rows));
    rc = mr->rows ? read_all(fds[0], mr->rows, mr->h.n * sizeof(*mr->rows))
                  : -ENOMEM;
  }
  close(fds[0]);
  int st = 0;
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if(rc)
    snprintf(mr->err, sizeof(mr->err), "memory run died (status %d)", st);
  else if(mr->h.rc)
    snprintf(mr->err, sizeof(mr->err), "%s", strerror(-mr->h.rc));
  else
    mr->ran = 1;
}

/* ------------------------------------------------------------ report */

static void print_target(const char *name, const char *goal,
                         const char *val, const char *verdict_s)
{
  printf("  %-38s %-10s %-18s %s\n", name, goal, val, verdict_s);
}

static const char *verdict(int measured, int pass)
{
  return !measured ? "n/a" : pass ? "PASS" : "FAIL";
}

typedef struct {
  double max, med;
  size_t at;               /* index of the max */
} ratio_stat;

static ratio_stat ratios(const mem_res *mr, int which, size_t lo, size_t hi)
{
  ratio_stat rs = {0, 0, 0};
  double *v = malloc((mr->h.n ? mr->h.n : 1) * sizeof(*v));
  size_t k = 0;
  if(!v)
    return rs;
  for(size_t i = 0; i < mr->h.n; i++) {
    const mem_row *r = &mr->rows[i];
    if(r->bytes < lo || r->bytes >= hi)
      continue;
    size_t x = which == 0 ? r->peak : which == 1 ? r->arena : r->held;
    double q = (double)x / (double)r->bytes;
    if(q > rs.max) {
      rs.max = q;
      rs.at = i;
    }
    v[k++] = q;
  }
  rs.med = median(v, k);
  free(v);
  return rs;
}

static size_t count_in(const mem_res *mr, size_t lo, size_t hi)
{
  size_t n = 0;
  for(size_t i = 0; i < mr->h.n; i++)
    n += mr->rows[i].bytes >= lo && mr->rows[i].bytes < hi;
  return n;
}

static void print_memory(const bench *b, const mem_res *mr)
{
  static const struct {
    const char *name;
    size_t lo, hi;
  } cls[] = {
    {"< 100 kB", 0, 100000},
    {"100-150 kB", 100000, 150000},
    {"150-200 kB", 150000, 200000},
    {"200-250 kB", 200000, 250001},
    {"> 250 kB", 250001, SIZE_MAX},
    {"all pages", 0, SIZE_MAX},
  };
  printf("\nmemory (separate process, default pack, one page at a time)\n");
  if(!mr->ran) {
    printf("  not run: %s\n", mr->err[0] ? mr->err : "not selected");
    return;
  }
  printf("  RSS before loading the pack     %8.1f MB\n",
         (double)mr->h.rss_start_kb / 1024);
  printf("  RSS with the pack loaded        %8.1f MB\n",
         (double)mr->h.rss_rules_kb / 1024);
  printf("  peak RSS over all %zu pages     %8.1f MB (ru_maxrss)\n",
         mr->h.n, (double)mr->h.maxrss_kb / 1024);
  printf("  per page, bytes / page bytes (%s):\n",
         mr->h.method == 1 ? "VmHWM after clear_refs" :
         "ru_maxrss of a forked child");
  printf("  %-12s %6s  %-15s %-15s %-15s\n", "size", "pages",
         "peak RSS med/max", "arena med/max", "held med/max");
  for(size_t c = 0; c < sizeof(cls) / sizeof(cls[0]); c++) {
    size_t n = count_in(mr, cls[c].lo, cls[c].hi);
    if(!n)
      continue;
    ratio_stat p = ratios(mr, 0, cls[c].lo, cls[c].hi);
    ratio_stat a = ratios(mr, 1, cls[c].lo, cls[c].hi);
    ratio_stat h = ratios(mr, 2, cls[c].lo, cls[c].hi);
    printf("  %-12s %6zu  %5.1fx /%5.1fx  %5.1fx /%5.1fx  %5.1fx /%5.1fx\n",
           cls[c].name, n, p.med, p.max, a.med, a.max, h.med, h.max);
  }
  ratio_stat p = ratios(mr, 0, 0, SIZE_MAX);
  if(p.at < b->n_paths)
    printf("  largest peak ratio: %s (%zu bytes, peak %.2f MB)\n",
           b->paths[p.at], mr->rows[p.at].bytes,
           (double)mr->rows[p.at].peak / 1e6);
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
  fprintf(f,
    "usage: bench-analyze [options] FILE…|DIR…\n"
    "  --rules DIR          rule pack (default $QW_SOURCE_DIR/keywords/pack)\n"
    "  --extra-terms LIST   extra-term counts to match with, comma-separated\n"
    "                       (default 0,2000,10000)\n"
    "  --repeat R           at least R timed passes per round (1)\n"
    "  --min-time S         at least S seconds per round (1.0)\n"
    "  --rounds K           rounds per measurement, fastest kept (5)\n"
    "  --clock wall|cpu     time by the monotonic clock (default) or by\n"
    "                       this process's CPU time (on a busy machine)\n"
    "  --verbose            also list the sets of the pack with most hits\n"
    "  --dump DIR           write the normalised texts and the packs with\n"
    "                       the extra terms into DIR (new) for bench/ab.sh,\n"
    "                       and measure nothing\n"
    "  --stage LIST         all, or any of gumbo,decode,parse,normalize,\n"
    "                       match,rules,whole,extra,memory (default all)\n"
    "Directories are searched for *.html and *.htm files.\n");
}

static int parse_stages(const char *s, unsigned *out)
{
  unsigned m = 0;
  while(*s) {
    size_t n = strcspn(s, ",");
    size_t i;
    for(i = 0; i < sizeof(stage_names) / sizeof(stage_names[0]); i++) {
      if(strlen(stage_names[i].name) == n &&
         !strncmp(stage_names[i].name, s, n))
        break;
    }
    if(i == sizeof(stage_names) / sizeof(stage_names[0]))
      return -EINVAL;
    m |= stage_names[i].bit;
    s += n;
    if(*s == ',')
      s++;
  }
  *out = m;
  return m ? 0 : -EINVAL;
}

static int parse_extra(const char *s, bench_opts *o)
{
  o->n_extra = 0;
  while(*s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if(end == s || errno || v > 1000000 || o->n_extra == MAX_EXTRA ||
       (*end && *end != ','))
      return -EINVAL;
    o->extra[o->n_extra++] = (size_t)v;
    s = *end ? end + 1 : end;
  }
  return o->n_extra ? 0 : -EINVAL;
}

static char default_rules[4096];

static int parse_args(int argc, char **argv, bench *b)
{
  static const struct option lo[] = {
    {"rules", required_argument, NULL, 'r'},
    {"extra-terms", required_argument, NULL, 'x'},
    {"repeat", required_argument, NULL, 'n'},
    {"rounds", required_argument, NULL, 'k'},
    {"clock", required_argument, NULL, 'c'},
    {"verbose", no_argument, NULL, 'v'},
    {"min-time", required_argument, NULL, 't'},
    {"stage", required_argument, NULL, 's'},
    {"dump", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *src = getenv("QW_SOURCE_DIR");
  snprintf(default_rules, sizeof(default_rules), "%s/keywords/pack",
           src && *src ? src : QW_SOURCE_DIR);
  b->opt.rules_dir = default_rules;
  b->opt.extra[0] = 0;
  b->opt.extra[1] = 2000;
  b->opt.extra[2] = 10000;
  b->opt.n_extra = 3;
  b->opt.repeat = 1;
  b->opt.rounds = 5;
  b->opt.min_time = 1.0;
  b->opt.stages = ST_ALL;
  int c;
  while((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
    char *end;
    switch(c) {
    case 'r':
      b->opt.rules_dir = optarg;
      break;
    case 'd':
      b->opt.dump = optarg;
      break;
    case 'x':
      if(parse_extra(optarg, &b->opt)) {
        fprintf(stderr, "bench-analyze: bad --extra-terms: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 'n':
      errno = 0;
      b->opt.repeat = (unsigned)strtoul(optarg, &end, 10);
      if(*end || errno || !b->opt.repeat || b->opt.repeat > 100000) {
        fprintf(stderr, "bench-analyze: bad --repeat: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 'v':
      b->opt.verbose = 1;
      break;
    case 'c':
      if(!strcmp(optarg, "cpu") || !strcmp(optarg, "wall"))
        b->opt.cpu_clock = !strcmp(optarg, "cpu");
      else {
        fprintf(stderr, "bench-analyze: bad --clock: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 'k':
      errno = 0;
      b->opt.rounds = (unsigned)strtoul(optarg, &end, 10);
      if(*end || errno || !b->opt.rounds || b->opt.rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench-analyze: bad --rounds: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 't':
      b->opt.min_time = strtod(optarg, &end);
      if(*end || !(b->opt.min_time >= 0 && b->opt.min_time <= 3600)) {
        fprintf(stderr, "bench-analyze: bad --min-time: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 's':
      if(parse_stages(optarg, &b->opt.stages)) {
        fprintf(stderr, "bench-analyze: bad --stage: %s\n", optarg);
        return -EINVAL;
      }
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      return -EINVAL;
    }
  }
  if(optind >= argc) {
    usage(stderr);
    return -EINVAL;
  }
  if(b->opt.dump)
    b->opt.stages = ST_EXTRA; /* the page models, nothing measured */
  size_t cap = 0;
  for(int i = optind; i < argc; i++) {
    int rc = collect(b, argv[i], &cap, 1);
    if(rc)
      return rc;
  }
  if(!b->n_paths) {
    fprintf(stderr, "bench-analyze: no *.html files found\n");
    return -ENOENT;
  }
  qsort(b->paths, b->n_paths, sizeof(*b->paths), cmp_str);
  return 0;
}

static void print_header(const bench *b)
{
  size_t mn = SIZE_MAX, mx = 0;
  for(size_t i = 0; i < b->n_pages; i++) {
    if(b->pages[i].raw_len < mn)
      mn = b->pages[i].raw_len;
    if(b->pages[i].raw_len > mx)
      mx = b->pages[i].raw_len;
  }
  printf("bench-analyze: %zu pages (%zu not UTF-8), %.1f MB as stored, "
         "%.1f MB as UTF-8, %.1f-%.1f kB per page\n", b->n_pages, b->n_gbk,
         (double)b->raw_bytes / 1e6, (double)b->utf8_bytes / 1e6,
         (double)mn / 1e3, (double)mx / 1e3);
  printf("rule pack: %s", b->opt.rules_dir);
  if(b->rs)
    printf(" (%zu devices, %zu rules, %u sets)", b->rs->n_devices,
           b->rs->n_rules, qw_matcher_n_sets(b->rs->matcher));
  printf("\none thread; each measurement: 1 warm-up pass, then the fastest "
         "of %u rounds of >= %u passes and >= %.1f s;\ntimes by %s; "
         "MB = 10^6 bytes\n", b->opt.rounds, b->opt.repeat,
         b->opt.min_time, b->opt.cpu_clock ?
         "CPU time (CLOCK_PROCESS_CPUTIME_ID)" :
         "wall clock (CLOCK_MONOTONIC)");
#if !defined(__OPTIMIZE__)
  printf("WARNING: built without optimisation: numbers are not "
         "meaningful (use -Dbuildtype=release)\n");
#endif
#if !defined(NDEBUG)
  printf("note: assertions enabled (NDEBUG not set)\n");
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  printf("WARNING: sanitizer build: times and memory are not "
         "meaningful\n");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  printf("WARNING: sanitizer build: times and memory are not "
         "meaningful\n");
#endif
#endif
}

int main(int argc, char **argv)
{
  bench b;
  memset(&b, 0, sizeof(b));
  b.min_cpu = 1;
  if(parse_args(argc, argv, &b))
    return 2;
  unsigned st = b.opt.stages;

  /* The memory run first, in its own process, before this one has loaded
   * or freed anything; it prints nothing until the end. */
  mem_res mr;
  memset(&mr, 0, sizeof(mr));
  if(st & ST_MEMORY) {
    run_memory(&b, &mr);
    if(!mr.ran)
      b.errors++;
  }

  int rc = load_pages(&b);
  if(!rc)
    rc = decode_pages(&b);
  if(rc) {
    fprintf(stderr, "bench-analyze: cannot prepare the pages: %s\n",
            strerror(-rc));
    return 2;
  }
  char why_rules[160] = "", why_an[160] = "";
  if(st & (ST_MATCH | ST_RULES | ST_WHOLE)) {
    qw_diag diag;
    memset(&diag, 0, sizeof(diag));
    rc = qw_ruleset_load(b.opt.rules_dir, &b.rs, &diag);
    if(rc) {
      print_diag(b.opt.rules_dir, &diag);
      snprintf(why_rules, sizeof(why_rules), "rule pack: %s",
               strerror(-rc));
      b.errors++;
    }
    qw_diag_free(&diag);
    if(b.rs && (st & (ST_RULES | ST_WHOLE)) &&
       !(b.an = qw_analyzer_new(b.rs))) {
      snprintf(why_an, sizeof(why_an), "qw_analyzer_new failed");
      b.errors++;
    }
  }
  char why_model[160] = "";
  if(st & (ST_NORM | ST_MATCH | ST_RULES | ST_EXTRA)) {
    rc = prepare_models(&b);
    if(rc) {
      snprintf(why_model, sizeof(why_model), "page model: %s",
               strerror(-rc));
      b.errors++;
    }
  }
  if(b.opt.dump) {
    rc = why_model[0] ? -EINVAL : dump_inputs(&b, b.opt.dump);
    if(rc)
      fprintf(stderr, "bench-analyze: --dump %s: %s\n", b.opt.dump,
              why_model[0] ? why_model : strerror(-rc));
    return rc ? 2 : 0;
  }
  print_header(&b);

  meas m_gumbo, m_decode, m_parse, m_norm, m_match, m_rules, m_whole;
  meas_init(&m_gumbo, b.utf8_bytes);
  meas_init(&m_decode, b.raw_bytes);
  meas_init(&m_parse, b.utf8_bytes);
  meas_init(&m_norm, b.field_bytes);
  meas_init(&m_match, b.norm_bytes);
  meas_init(&m_rules, b.raw_bytes);
  meas_init(&m_whole, b.raw_bytes);
  /* bare Gumbo, parse+walk and the whole path are compared with each
   * other: measured together, round by round */
  job cmp[3];
  size_t n_cmp = 0;
  if(st & ST_GUMBO)
    cmp[n_cmp++] = (job){pass_gumbo, NULL, &m_gumbo};
  if(st & ST_PARSE)
    cmp[n_cmp++] = (job){pass_parse, NULL, &m_parse};
  if(st & ST_WHOLE) {
    if(why_rules[0] || why_an[0])
      snprintf(m_whole.err, sizeof(m_whole.err), "%s",
               why_rules[0] ? why_rules : why_an);
    else
      cmp[n_cmp++] = (job){pass_whole, NULL, &m_whole};
  }
  measure_jobs(&b, cmp, n_cmp);
  if(st & ST_DECODE)
    measure(&b, pass_decode, NULL, b.raw_bytes, &m_decode);
  if(st & ST_NORM) {
    if(why_model[0])
      snprintf(m_norm.err, sizeof(m_norm.err), "%s", why_model);
    else
      measure(&b, pass_norm, NULL, b.field_bytes, &m_norm);
  }
  uint64_t match_hits = 0;
  if(st & ST_MATCH) {
    if(why_model[0] || why_rules[0])
      snprintf(m_match.err, sizeof(m_match.err), "%s",
               why_model[0] ? why_model : why_rules);
    else {
      match_ctx mc = {b.rs->matcher, qw_match_scratch_new(b.rs->matcher),
                      NULL, 0};
      if(mc.s)
        measure(&b, pass_match, &mc, b.norm_bytes, &m_match);
      else
        snprintf(m_match.err, sizeof(m_match.err), "scratch: no memory");
      match_hits = mc.hits;
      free(mc.h);
      if(mc.s)
        qw_match_scratch_free(mc.s);
    }
  }
  uint64_t rules_findings = 0;
  if(st & ST_RULES) {
    if(why_model[0] || why_rules[0] || why_an[0])
      snprintf(m_rules.err, sizeof(m_rules.err), "%s",
               why_model[0] ? why_model : why_rules[0] ? why_rules :
               why_an);
    else
      measure(&b, pass_rules, NULL, b.raw_bytes, &m_rules);
    rules_findings = b.findings;
  }

  printf("\nstages (MB/s of the stage's own input)\n");
  printf("  %-20s %-12s %9s %9s %9s %7s %6s\n", "stage", "input", "MB/s",
         "pages/s", "ms/page", "spread", "cpu");
  print_row(&b, "bare Gumbo (ref.)", "HTML UTF-8", &m_gumbo);
  print_row(&b, "decode", "HTML stored", &m_decode);
  print_row(&b, "parse+walk", "HTML UTF-8", &m_parse);
  if(m_parse.ok && m_gumbo.ok) {
    double w = ms_per_page(&b, &m_parse) - ms_per_page(&b, &m_gumbo);
    printf("  %-20s %-12s %9s %9s %9.3f   (parse+walk - bare Gumbo)\n",
           "walk only (est.)", "", "", "", w);
  }
  print_row(&b, "normalise", "field text", &m_norm);
  print_row(&b, "match", "normalised", &m_match);
  print_row(&b, "rules (analyze_page)", "HTML stored", &m_rules);
  print_row(&b, "whole document", "HTML stored", &m_whole);
  if(m_match.ok)
    printf("  match: %.1f hits/page over %.1f kB of normalised text/page\n",
           (double)match_hits / b.n_pages,
           (double)b.norm_bytes / b.n_pages / 1e3);
  if(m_match.ok && b.opt.verbose) {
    print_set_hits(&b, b.rs);
    match_hit_free(&b, b.rs);
  }
  if(m_rules.ok)
    printf("  rules: %.1f findings/page\n",
           (double)rules_findings / b.n_pages);
  if(m_whole.ok && b.whole_runs) {
    const qw_stage_times *t = &b.times;
    double n = (double)b.n_pages * b.whole_runs;
    uint64_t sum = t->decode_ns + t->parse_ns + t->normalize_ns +
                   t->match_ns + t->rules_ns;
    printf("  whole, by stage, as qw_analyze_document records it (wall "
           "clock, mean of all\n  passes, slow rounds included; "
           "ms/page):\n    decode %.3f  parse %.3f  normalise %.3f  "
           "match %.3f  rules %.3f  (sum %.3f)\n",
           (double)t->decode_ns / n / 1e6, (double)t->parse_ns / n / 1e6,
           (double)t->normalize_ns / n / 1e6, (double)t->match_ns / n / 1e6,
           (double)t->rules_ns / n / 1e6, (double)sum / n / 1e6);
  }
  /* The target uses the median over rounds of the ratio within a round:
   * Gumbo and the whole path of one round ran seconds apart, under the
   * same load, so the pairs cancel slow drifts that best-of-rounds does
   * not. */
  double whole_ratio = 0;
  if(m_whole.ok && m_gumbo.ok) {
    whole_ratio = paired(&m_gumbo, &m_whole, b.opt.rounds);
    printf("  whole / bare Gumbo, pages/s: %.1f %% (median of the %u "
           "rounds' ratios; fastest\n  rounds: %.1f %%; target >= "
           "%.0f %%)\n", whole_ratio * 100, b.opt.rounds,
           pages_per_s(&b, &m_whole) / pages_per_s(&b, &m_gumbo) * 100,
           TARGET_WHOLE_VS_GUMBO * 100);
  }

  static extra_res ex[MAX_EXTRA];
  if(st & ST_EXTRA) {
    printf("\nmatching with extra terms (default pack + one forbid list "
           "of N generated terms)\n");
    printf("  %8s %10s %9s %9s %10s %7s %6s %9s %11s\n", "N", "load s",
           "MB/s", "ms/page", "hits/page", "spread", "cpu", "db MB/s",
           "db rep/page");
    for(size_t i = 0; i < b.opt.n_extra; i++) {
      ex[i].n = b.opt.extra[i];
      if(why_model[0])
        snprintf(ex[i].m.err, sizeof(ex[i].m.err), "%s", why_model);
    }
    if(!why_model[0])
      run_extra(&b, ex, b.opt.n_extra);
    for(size_t i = 0; i < b.opt.n_extra; i++) {
      if(ex[i].m.ok)
        printf("  %8zu %10.3f %9.1f %9.3f %10.1f %6.1f%% %5.0f%% %9.1f "
               "%11.1f\n", ex[i].n, ex[i].load_s, mbps(&ex[i].m),
               ms_per_page(&b, &ex[i].m), (double)ex[i].hits / b.n_pages,
               spread(&ex[i].m) * 100, ex[i].m.cpu * 100,
               ex[i].m_db.ok ? mbps(&ex[i].m_db) : 0.0,
               (double)ex[i].reports / b.n_pages);
      else
        printf("  %8zu  not run: %s\n", ex[i].n, ex[i].m.err);
    }
    for(size_t i = 0; i < b.opt.n_extra; i++) {
      for(size_t j = 0; j < b.opt.n_extra; j++) {
        if(ex[i].n == 2000 && ex[j].n == 10000 && ex[i].m.ok &&
           ex[j].m.ok)
          printf("  time per byte, 10,000 vs 2,000 terms: %+.1f %% "
                 "(median of the %u rounds' ratios)\n",
                 (paired(&ex[j].m, &ex[i].m, b.opt.rounds) - 1) * 100,
                 b.opt.rounds);
      }
    }
  }
  if(st & ST_MEMORY)
    print_memory(&b, &mr);

  /* targets */
  const extra_res *e2 = NULL, *e10 = NULL;
  for(size_t i = 0; i < b.opt.n_extra; i++) {
    if(ex[i].n == 2000 && ex[i].m.ok)
      e2 = &ex[i];
    if(ex[i].n == 10000 && ex[i].m.ok)
      e10 = &ex[i];
  }
  int fails = 0, ok;
  printf("\ntargets\n");
  if(b.min_cpu < 0.9 && !b.opt.cpu_clock)
    printf("  (other load took the CPU during some kept rounds: lowest cpu\n"
           "  share %.0f %%; these numbers are low: rerun on a quiet "
           "machine,\n  or with --clock cpu)\n", b.min_cpu * 100);
  else if(b.min_cpu < 0.9)
    printf("  (timed by CPU time on a busy machine: lowest cpu share "
           "%.0f %%; caches\n  were shared with other load)\n",
           b.min_cpu * 100);
  char val[64], goal[32];
  printf("  %-38s %-10s %-18s %s\n", "target", "goal", "measured",
         "verdict");
  snprintf(goal, sizeof(goal), ">= %.0f", TARGET_MATCH_MBPS);
  snprintf(val, sizeof(val), "%.1f", e2 ? mbps(&e2->m) : 0.0);
  ok = e2 && mbps(&e2->m) >= TARGET_MATCH_MBPS;
  fails += e2 && !ok;
  print_target("match MB/s, pack + 2,000 terms", goal, e2 ? val : "-",
               verdict(e2 != NULL, ok));
  /* median over rounds of the within-round ratio, as for whole/Gumbo */
  double slow = e2 && e10 ? paired(&e10->m, &e2->m, b.opt.rounds) - 1 : 0;
  snprintf(goal, sizeof(goal), "<= +%.0f %%", TARGET_SLOWDOWN * 100);
  snprintf(val, sizeof(val), "%+.1f %%", slow * 100);
  ok = e2 && e10 && slow <= TARGET_SLOWDOWN;
  fails += e2 && e10 && !ok;
  print_target("match time, 10,000 vs 2,000 terms", goal,
               e2 && e10 ? val : "-", verdict(e2 && e10, ok));
  snprintf(goal, sizeof(goal), ">= %.0f %%", TARGET_WHOLE_VS_GUMBO * 100);
  snprintf(val, sizeof(val), "%.1f %%", whole_ratio * 100);
  ok = whole_ratio >= TARGET_WHOLE_VS_GUMBO;
  fails += whole_ratio > 0 && !ok;
  print_target("whole analysis / bare Gumbo, pages/s", goal,
               whole_ratio > 0 ? val : "-", verdict(whole_ratio > 0, ok));
  ratio_stat mem = {0, 0, 0};
  if(mr.ran)
    mem = ratios(&mr, 0, 0, SIZE_MAX);
  snprintf(goal, sizeof(goal), "<= %.0fx", TARGET_MEM_RATIO);
  snprintf(val, sizeof(val), "%.1fx (%.1fx)", mem.max, mem.med);
  ok = mr.ran && mem.max <= TARGET_MEM_RATIO;
  fails += mr.ran && !ok;
  print_target("peak memory / page size, max (median)", goal,
               mr.ran ? val : "-", verdict(mr.ran, ok));

  free(mr.rows);
  qw_norm_free(&b.norm);
  free_pages(&b);
  if(b.an)
    qw_analyzer_free(b.an);
  qw_ruleset_unref(b.rs);
  for(size_t i = 0; i < b.n_paths; i++)
    free(b.paths[i]);
  free(b.paths);
  if(b.errors)
    printf("\n%d measurement(s) could not run: see above\n", b.errors);
  return b.errors ? 2 : fails ? 1 : 0;
}
