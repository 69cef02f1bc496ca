/* cmd_scan.c — `qingwang scan`: analyse saved pages (files or standard
 * input) against the rule pack and report findings as a table or as clue
 * JSON Lines. Every input gets its own outcome: one bad input is reported
 * on stderr and the scan goes on with the next. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "cli.h"
#include "clue.h"
#include "countline.h"
#include "counter.h"
#include "log.h"
#include "report.h"

static void scan_usage(FILE *out)
{
  fputs(
"usage: qingwang scan [options] URL… | FILE… | -\n"
"       qingwang scan [options] -i LIST\n"
"\n"
"Fetches pages (http/https URLs, many at once, politely per host) or reads\n"
"saved pages (files, or standard input for '-'), analyses them against the\n"
"rule pack and reports suspected violations. URLs and files may be mixed.\n"
"\n"
"options:\n"
"  --json              one clue JSON object per input (JSON Lines, schema\n"
"                      qingwang.clue/1, docs/clue-schema.md)\n"
"  --rules DIR         rule pack directory (default: [analysis] rules_dir)\n"
"  --charset CS        treat every input as this charset (e.g. gbk, big5)\n"
"  --page-type T       force the page type: product, storefront, platform,\n"
"                      other (default: decided from the page)\n"
"  --url URL           the page's URL (one file input only): resolves links\n"
"                      and identifies the page in the clue\n"
"  -i, --input LIST    read URLs and files from LIST, one a line ('#'\n"
"                      comments; '-' = standard input)\n"
"  --fetch-only        fetch and count, analyse nothing (measurement; with\n"
"                      --json one line of fetch facts per URL)\n"
"  --count TERMS       instead of the rule pack: count the terms of the file\n"
"                      TERMS (one a line) in each page's visible text, one\n"
"                      JSON line per page (docs/count.md)\n"
"  --count-pattern NAME=REGEX  also count matches of a PCRE2 pattern, as\n"
"                      \"NAME\": N in the line (repeatable; with --count)\n"
"  --evidence DIR      store evidence of pages with findings in DIR\n"
"                      (default: [output] evidence_dir)\n"
"  --no-evidence       store no evidence\n"
"  --progress / --no-progress  progress line on stderr (default: on a TTY)\n"
"  -c, --config FILE   qingwang.conf to read\n"
"  --set S.K=V         override one config key, e.g.\n"
"                      --set analysis.max_page_bytes=32M (repeatable)\n"
"  --color / --no-color  force or disable colours in the table\n"
"  -h, --help          this help\n"
"\n"
"exit status: 0 no findings, 1 findings, 2 an input or setup error (other\n"
"inputs are still scanned). A URL that could not be fetched is not an\n"
"error: its clue records fetch.outcome (gone, blocked, timeout, …).\n", out);
}

/* Reads a whole input (a path, or "-" for stdin) up to cap bytes. On error
 * returns -1 and writes a reason into why. */
static int read_input(const char *path, size_t cap, char **out, size_t *len,
                      char *why, size_t whylen)
{
  int fd = 0;
  int is_stdin = strcmp(path, "-") == 0;
  if(!is_stdin) {
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if(fd < 0) {
      snprintf(why, whylen, "%s", strerror(errno));
      return -1;
    }
    struct stat st;
    if(fstat(fd, &st) != 0) {
      snprintf(why, whylen, "%s", strerror(errno));
      close(fd);
      return -1;
    }
    if(S_ISDIR(st.st_mode)) {
      snprintf(why, whylen, "is a directory");
      close(fd);
      return -1;
    }
    if(S_ISREG(st.st_mode) && (unsigned long long)st.st_size > cap) {
      snprintf(why, whylen,
               "%lld bytes is over the page size cap of %zu bytes "
               "([analysis] max_page_bytes)", (long long)st.st_size, cap);
      close(fd);
      return -1;
    }
  }
  size_t n = 0, bufcap = 0;
  char *buf = NULL;
  for(;;) {
    if(bufcap - n < 65536) {
      size_t nc = bufcap ? bufcap * 2 : 65536;
      char *nb = realloc(buf, nc + 1);
      if(!nb) {
        snprintf(why, whylen, "out of memory");
        free(buf);
        if(!is_stdin)
          close(fd);
        return -1;
      }
      buf = nb;
      bufcap = nc;
    }
    ssize_t r = read(fd, buf + n, bufcap - n);
    if(r < 0 && errno == EINTR)
      continue;
    if(r < 0) {
      snprintf(why, whylen, "%s", strerror(errno));
      free(buf);
      if(!is_stdin)
        close(fd);
      return -1;
    }
    if(r == 0)
      break;
    n += (size_t)r;
    if(n > cap) {
      snprintf(why, whylen,
               "more than the page size cap of %zu bytes "
               "([analysis] max_page_bytes)", cap);
      free(buf);
      if(!is_stdin)
        close(fd);
      return -1;
    }
  }
  if(!is_stdin)
    close(fd);
  if(n == 0) {
    snprintf(why, whylen, "empty input");
    free(buf);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int looks_like_url(const char *s)
{
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

enum {
  OPT_JSON = 256,
  OPT_RULES,
  OPT_CHARSET,
  OPT_PAGE_TYPE,
  OPT_URL,
  OPT_SET,
  OPT_COLOR,
  OPT_NO_COLOR,
  OPT_FETCH_ONLY,
  OPT_EVIDENCE,
  OPT_NO_EVIDENCE,
  OPT_PROGRESS,
  OPT_NO_PROGRESS,
  OPT_COUNT,
  OPT_COUNT_PATTERN,
};

/* Appends the entries of a list file (or stdin) to *items. */
static int read_list(const char *path, char ***items, size_t *n, size_t *cap)
{
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if(!f) {
    fprintf(stderr, "qingwang scan: -i %s: %s\n", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  int rc = 0;
  while((len = getline(&line, &lcap, f)) >= 0) {
    char *b = line;
    while(*b == ' ' || *b == '\t')
      b++;
    char *e = b + strlen(b);
    while(e > b && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' ||
                    e[-1] == '\t'))
      *--e = '\0';
    if(!*b || *b == '#')
      continue;
    if(*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 1024;
      char **ni = realloc(*items, nc * sizeof(*ni));
      if(!ni) {
        rc = -1;
        break;
      }
      *items = ni;
      *cap = nc;
    }
    if(!((*items)[*n] = strdup(b))) {
      rc = -1;
      break;
    }
    (*n)++;
  }
  free(line);
  if(f != stdin)
    fclose(f);
  if(rc != 0)
    fprintf(stderr, "qingwang scan: -i %s: out of memory\n", path);
  return rc;
}

int qw_cmd_scan(int argc, char **argv)
{
  static const struct option opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"rules", required_argument, NULL, OPT_RULES},
    {"charset", required_argument, NULL, OPT_CHARSET},
    {"page-type", required_argument, NULL, OPT_PAGE_TYPE},
    {"url", required_argument, NULL, OPT_URL},
    {"config", required_argument, NULL, 'c'},
    {"set", required_argument, NULL, OPT_SET},
    {"color", no_argument, NULL, OPT_COLOR},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"input", required_argument, NULL, 'i'},
    {"fetch-only", no_argument, NULL, OPT_FETCH_ONLY},
    {"evidence", required_argument, NULL, OPT_EVIDENCE},
    {"no-evidence", no_argument, NULL, OPT_NO_EVIDENCE},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"count", required_argument, NULL, OPT_COUNT},
    {"count-pattern", required_argument, NULL, OPT_COUNT_PATTERN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int json = 0, color = -1, fetch_only = 0, no_evidence = 0, progress = -1;
  const char *evidence = NULL, *count_terms = NULL;
  qw_count_pattern *cpats = calloc((size_t)argc + 1, sizeof(*cpats));
  size_t n_cpats = 0;
  if(!cpats)
    return QW_EXIT_ERROR;
  char **lists = calloc((size_t)argc + 1, sizeof(*lists));
  size_t n_lists = 0;
  if(!lists)
    return QW_EXIT_ERROR;
  const char *rules = NULL, *charset = NULL, *url = NULL, *config = NULL;
  qw_page_type forced = QW_PAGE_UNKNOWN;
  char **sets = calloc((size_t)argc + 1, sizeof(*sets));
  size_t n_sets = 0;
  if(!sets)
    return QW_EXIT_ERROR;
  optind = 1;
  int c;
  while((c = getopt_long(argc, argv, "c:hi:", opts, NULL)) != -1) {
    switch(c) {
    case OPT_JSON:
      json = 1;
      break;
    case 'i':
      lists[n_lists++] = optarg;
      break;
    case OPT_FETCH_ONLY:
      fetch_only = 1;
      break;
    case OPT_EVIDENCE:
      evidence = optarg;
      break;
    case OPT_NO_EVIDENCE:
      no_evidence = 1;
      break;
    case OPT_PROGRESS:
      progress = 1;
      break;
    case OPT_NO_PROGRESS:
      progress = 0;
      break;
    case OPT_COUNT:
      count_terms = optarg;
      break;
    case OPT_COUNT_PATTERN: {
      char *eq = strchr(optarg, '=');
      if(!eq || eq == optarg || !eq[1]) {
        fprintf(stderr, "qingwang scan: --count-pattern %s: expected "
                "NAME=REGEX\n", optarg);
        free(cpats);
        free(sets);
        free(lists);
        return QW_EXIT_ERROR;
      }
      *eq = '\0';
      cpats[n_cpats].name = optarg;
      cpats[n_cpats++].regex = eq + 1;
      break;
    }
    case OPT_RULES:
      rules = optarg;
      break;
    case OPT_CHARSET:
      charset = optarg;
      break;
    case OPT_PAGE_TYPE: {
      int t = qw_page_type_from_name(optarg);
      if(t <= (int)QW_PAGE_UNKNOWN) {
        fprintf(stderr, "qingwang scan: --page-type %s: expected product, "
                "storefront, platform or other\n", optarg);
        free(cpats);
        free(sets);
        free(lists);
        return QW_EXIT_ERROR;
      }
      forced = (qw_page_type)t;
      break;
    }
    case OPT_URL:
      url = optarg;
      break;
    case 'c':
      config = optarg;
      break;
    case OPT_SET:
      sets[n_sets++] = optarg;
      break;
    case OPT_COLOR:
      color = 1;
      break;
    case OPT_NO_COLOR:
      color = 0;
      break;
    case 'h':
      scan_usage(stdout);
      free(cpats);
      free(sets);
      free(lists);
      return QW_EXIT_OK;
    default:
      scan_usage(stderr);
      free(cpats);
      free(sets);
      free(lists);
      return QW_EXIT_ERROR;
    }
  }
  int status = QW_EXIT_ERROR;
  qw_config cfg;
  int cfg_loaded = 0;
  qw_ruleset *rs = NULL;
  qw_analyzer *an_scratch = NULL;
  qw_counter *counter = NULL;
  qw_counter_scratch *count_scratch = NULL;
  char **inputs = NULL, **urls = NULL;
  size_t n_inputs = 0, cap_inputs = 0, n_urls = 0;

  for(int i = optind; i < argc; i++) {
    if(n_inputs == cap_inputs) {
      size_t nc = cap_inputs ? cap_inputs * 2 : 64;
      char **ni = realloc(inputs, nc * sizeof(*ni));
      if(!ni)
        goto out;
      inputs = ni;
      cap_inputs = nc;
    }
    if(!(inputs[n_inputs] = strdup(argv[i])))
      goto out;
    n_inputs++;
  }
  for(size_t i = 0; i < n_lists; i++)
    if(read_list(lists[i], &inputs, &n_inputs, &cap_inputs) != 0)
      goto out;
  if(n_inputs == 0) {
    fprintf(stderr, "qingwang scan: no input (give URL…, FILE…, '-' or "
            "-i LIST)\n");
    scan_usage(stderr);
    goto out;
  }
  if(url && n_inputs != 1) {
    fprintf(stderr, "qingwang scan: --url goes with exactly one input\n");
    goto out;
  }
  if(charset && !qw_charset_canonical(charset, strlen(charset))) {
    fprintf(stderr, "qingwang scan: --charset %s: unknown charset label\n",
            charset);
    goto out;
  }
  if(color < 0)
    color = !json && isatty(1) && getenv("NO_COLOR") == NULL;
  if(progress < 0)
    progress = isatty(2);

  if(qw_cli_load_config(&cfg, config, sets, n_sets) != 0) {
    qw_config_free(&cfg);
    goto out;
  }
  cfg_loaded = 1;
  if(n_cpats && !count_terms) {
    fprintf(stderr, "qingwang scan: --count-pattern goes with --count\n");
    goto out;
  }
  if(count_terms && fetch_only) {
    fprintf(stderr, "qingwang scan: --count and --fetch-only exclude each "
            "other\n");
    goto out;
  }
  if(count_terms) {
    char cerr[512];
    char **terms = NULL;
    size_t n_terms = 0;
    int crc = qw_counter_read_terms(count_terms, &terms, &n_terms, cerr,
                                    sizeof(cerr));
    if(crc == 0)
      crc = qw_counter_new((const char *const *)terms, n_terms, cpats,
                           n_cpats, &counter, cerr, sizeof(cerr));
    qw_counter_terms_free(terms, n_terms);
    if(crc != 0) {
      fprintf(stderr, "qingwang scan: --count: %s\n", cerr);
      goto out;
    }
    if(!(count_scratch = qw_counter_scratch_new(counter))) {
      fprintf(stderr, "qingwang scan: out of memory\n");
      goto out;
    }
    json = 1;
  }
  if(!fetch_only && !counter && qw_cli_load_rules(&cfg, rules, &rs, 0) != 0)
    goto out;
  if(rs && !(an_scratch = qw_analyzer_new(rs))) {
    fprintf(stderr, "qingwang scan: out of memory\n");
    goto out;
  }
  if(an_scratch)
    qw_analyzer_limits(an_scratch, cfg.pcre_match_limit,
                       cfg.pcre_heap_limit_kib);
  char node[256];
  if(cfg.node_name && *cfg.node_name)
    snprintf(node, sizeof(node), "%s", cfg.node_name);
  else if(gethostname(node, sizeof(node)) != 0)
    snprintf(node, sizeof(node), "unknown");
  node[sizeof(node) - 1] = '\0';

  /* URLs go to the fetcher; everything else is a file (or stdin). */
  urls = calloc(n_inputs, sizeof(*urls));
  if(!urls)
    goto out;
  int errors = 0, with_findings = 0, scanned = 0;
  for(size_t i = 0; i < n_inputs; i++) {
    const char *input = inputs[i];
    char why[512];
    if(looks_like_url(input) && access(input, F_OK) != 0) {
      urls[n_urls++] = inputs[i];
      continue;
    }
    if(fetch_only) {
      fprintf(stderr, "qingwang scan: %s: --fetch-only takes URLs\n", input);
      errors++;
      continue;
    }
    char *bytes = NULL;
    size_t len = 0;
    if(read_input(input, cfg.max_page_bytes, &bytes, &len, why,
                  sizeof(why)) != 0) {
      fprintf(stderr, "qingwang scan: %s: %s\n",
              strcmp(input, "-") == 0 ? "(stdin)" : input, why);
      errors++;
      continue;
    }
    time_t read_at = time(NULL);
    qw_document_opts dopts;
    memset(&dopts, 0, sizeof(dopts));
    dopts.url = url;
    dopts.user_charset = charset;
    dopts.page.max_bytes = cfg.max_page_bytes;
    dopts.page.max_nodes = cfg.max_nodes;
    dopts.page.max_depth = cfg.max_depth;
    dopts.analyze.page_type = forced;
    dopts.analyze.context_chars = cfg.context_chars;
    dopts.page.text_only = counter != NULL; /* counts need the body text */
    qw_page *page = NULL;
    qw_charset_info cs;
    qw_analysis an;
    memset(&cs, 0, sizeof(cs));
    int rc = qw_analyze_document(rs, an_scratch, bytes, len, &dopts, &page,
                                 &cs, &an, NULL, why, sizeof(why));
    if(rc != 0) {
      fprintf(stderr, "qingwang scan: %s: %s\n", input, why);
      free(bytes);
      errors++;
      continue;
    }
    scanned++;
    if(counter) {
      qw_countline_source csrc;
      memset(&csrc, 0, sizeof(csrc));
      csrc.url = url;
      csrc.path = strcmp(input, "-") == 0 ? "-" : input;
      char *line = NULL;
      size_t line_len = 0;
      int lrc = qw_countline(counter, count_scratch, page, &cs, &csrc, &line,
                             &line_len);
      if(lrc)
        errors++;
      if(line && fwrite(line, 1, line_len, stdout) != line_len)
        errors++;
      free(line);
      qw_page_free(page);
      free(bytes);
      continue;
    }
    if(an.n_findings)
      with_findings++;
    if(json) {
      qw_clue_source src;
      memset(&src, 0, sizeof(src));
      int is_stdin = strcmp(input, "-") == 0;
      src.kind = is_stdin ? "stdin" : "file";
      src.path = is_stdin ? NULL : input;
      src.url = url;
      src.node = node;
      src.body = (const unsigned char *)bytes;
      src.body_len = len;
      src.fetched = read_at;
      json_t *clue = qw_clue_build(rs, page, &cs, &an, &src);
      char *js = clue ? json_dumps(clue, JSON_COMPACT) : NULL;
      if(!js) {
        fprintf(stderr, "qingwang scan: %s: cannot serialise the clue\n",
                input);
        errors++;
      }
      else {
        fputs(js, stdout);
        fputc('\n', stdout);
      }
      free(js);
      json_decref(clue);
    }
    else {
      qw_report_page(stdout, strcmp(input, "-") == 0 ? "(stdin)" : input, rs,
                     page, &cs, &an, color);
    }
    if(fflush(stdout) != 0) {
      fprintf(stderr, "qingwang scan: writing output: %s\n", strerror(errno));
      errors++;
    }
    qw_analysis_free(&an);
    qw_page_free(page);
    free(bytes);
  }

  if(n_urls) {
    qw_scan_url_opts uo;
    memset(&uo, 0, sizeof(uo));
    uo.cfg = &cfg;
    uo.rs = rs;
    uo.json = json;
    uo.color = color;
    uo.fetch_only = fetch_only;
    uo.progress = progress;
    uo.charset = charset;
    uo.forced = (int)forced;
    uo.node = node;
    uo.evidence_dir = no_evidence || counter ? NULL :
                      evidence ? evidence : cfg.evidence_dir;
    uo.counter = counter;
    qw_scan_totals tot;
    memset(&tot, 0, sizeof(tot));
    if(qw_scan_urls(&uo, urls, n_urls, &tot) != 0) {
      errors++;
    }
    else {
      errors += (int)tot.errors;
      with_findings += (int)tot.with_findings;
      scanned += (int)tot.ok;
      if(fetch_only || !json)
        fprintf(fetch_only && !json ? stdout : stderr,
                "%zu URL%s in %.2f s: %zu ok, %zu not ok, %.1f pages/s, "
                "%.1f MB/s decoded, %.1f MB/s on the wire\n",
                tot.urls, tot.urls == 1 ? "" : "s", tot.seconds, tot.ok,
                tot.not_ok, tot.seconds > 0 ? (double)tot.ok / tot.seconds : 0,
                tot.seconds > 0 ? (double)tot.body_bytes / 1e6 / tot.seconds :
                0, tot.seconds > 0 ? (double)tot.wire_bytes / 1e6 /
                tot.seconds : 0);
    }
  }
  if(!json && n_inputs > 1 && !fetch_only)
    printf("%d input%s analysed, %d with findings, %d error%s\n", scanned,
           scanned == 1 ? "" : "s", with_findings, errors,
           errors == 1 ? "" : "s");
  if(errors)
    status = QW_EXIT_ERROR;
  else
    status = with_findings ? QW_EXIT_FINDINGS : QW_EXIT_OK;

out:
  qw_counter_scratch_free(count_scratch);
  qw_counter_free(counter);
  free(cpats);
  qw_analyzer_free(an_scratch);
  qw_ruleset_unref(rs);
  if(cfg_loaded)
    qw_config_free(&cfg);
  for(size_t i = 0; i < n_inputs; i++)
    free(inputs[i]);
  free(inputs);
  free(urls);
  free(sets);
  free(lists);
  return status;
}
