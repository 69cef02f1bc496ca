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
#include "log.h"
#include "report.h"

static void scan_usage(FILE *out)
{
  fputs(
"usage: qingwang scan [options] FILE… | -\n"
"\n"
"Analyses saved pages (HTML files, or standard input for '-') against the\n"
"rule pack and reports suspected violations.\n"
"\n"
"options:\n"
"  --json              one clue JSON object per input (JSON Lines, schema\n"
"                      qingwang.clue/1, docs/clue-schema.md)\n"
"  --rules DIR         rule pack directory (default: [analysis] rules_dir)\n"
"  --charset CS        treat every input as this charset (e.g. gbk, big5)\n"
"  --page-type T       force the page type: product, storefront, platform,\n"
"                      other (default: decided from the page)\n"
"  --url URL           the page's URL (one input only): resolves links and\n"
"                      identifies the page in the clue\n"
"  -c, --config FILE   qingwang.conf to read\n"
"  --set S.K=V         override one config key, e.g.\n"
"                      --set analysis.max_page_bytes=32M (repeatable)\n"
"  --color / --no-color  force or disable colours in the table\n"
"  -h, --help          this help\n"
"\n"
"exit status: 0 no findings, 1 findings, 2 an input or setup error (other\n"
"inputs are still scanned).\n", out);
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
};

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
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int json = 0, color = -1;
  const char *rules = NULL, *charset = NULL, *url = NULL, *config = NULL;
  qw_page_type forced = QW_PAGE_UNKNOWN;
  char **sets = calloc((size_t)argc + 1, sizeof(*sets));
  size_t n_sets = 0;
  if(!sets)
    return QW_EXIT_ERROR;
  optind = 1;
  int c;
  while((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch(c) {
    case OPT_JSON:
      json = 1;
      break;
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
        free(sets);
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
      free(sets);
      return QW_EXIT_OK;
    default:
      scan_usage(stderr);
      free(sets);
      return QW_EXIT_ERROR;
    }
  }
  int n_inputs = argc - optind;
  if(n_inputs <= 0) {
    fprintf(stderr, "qingwang scan: no input (give FILE… or '-')\n");
    scan_usage(stderr);
    free(sets);
    return QW_EXIT_ERROR;
  }
  if(url && n_inputs != 1) {
    fprintf(stderr, "qingwang scan: --url goes with exactly one input\n");
    free(sets);
    return QW_EXIT_ERROR;
  }
  if(charset && !qw_charset_canonical(charset, strlen(charset))) {
    fprintf(stderr, "qingwang scan: --charset %s: unknown charset label\n",
            charset);
    free(sets);
    return QW_EXIT_ERROR;
  }
  if(color < 0)
    color = !json && isatty(1) && getenv("NO_COLOR") == NULL;

  qw_config cfg;
  if(qw_cli_load_config(&cfg, config, sets, n_sets) != 0) {
    qw_config_free(&cfg);
    free(sets);
    return QW_EXIT_ERROR;
  }
  free(sets);
  qw_ruleset *rs = NULL;
  if(qw_cli_load_rules(&cfg, rules, &rs, 0) != 0) {
    qw_config_free(&cfg);
    return QW_EXIT_ERROR;
  }
  qw_analyzer *an_scratch = qw_analyzer_new(rs);
  if(!an_scratch) {
    fprintf(stderr, "qingwang scan: out of memory\n");
    qw_ruleset_unref(rs);
    qw_config_free(&cfg);
    return QW_EXIT_ERROR;
  }
  char node[256];
  if(cfg.node_name && *cfg.node_name)
    snprintf(node, sizeof(node), "%s", cfg.node_name);
  else if(gethostname(node, sizeof(node)) != 0)
    snprintf(node, sizeof(node), "unknown");
  node[sizeof(node) - 1] = '\0';

  int errors = 0, with_findings = 0, scanned = 0;
  for(int i = optind; i < argc; i++) {
    const char *input = argv[i];
    char why[512];
    if(looks_like_url(input) && access(input, F_OK) != 0) {
      fprintf(stderr, "qingwang scan: %s: fetching URLs is not part of "
              "this build yet; save the page and scan the file\n", input);
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
      char *s = clue ? json_dumps(clue, JSON_COMPACT) : NULL;
      if(!s) {
        fprintf(stderr, "qingwang scan: %s: cannot serialise the clue\n",
                input);
        errors++;
      }
      else {
        fputs(s, stdout);
        fputc('\n', stdout);
      }
      free(s);
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
  if(!json && n_inputs > 1)
    printf("%d input%s scanned, %d with findings, %d error%s\n", scanned,
           scanned == 1 ? "" : "s", with_findings, errors,
           errors == 1 ? "" : "s");
  qw_analyzer_free(an_scratch);
  qw_ruleset_unref(rs);
  qw_config_free(&cfg);
  if(errors)
    return QW_EXIT_ERROR;
  return with_findings ? QW_EXIT_FINDINGS : QW_EXIT_OK;
}
