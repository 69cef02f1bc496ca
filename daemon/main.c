/* main.c — the qingwang binary: global options and subcommand dispatch. */
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qw_build.h"

typedef struct {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
  {"scan", qw_cmd_scan, "analyse saved pages: findings as a table or clue JSON"},
  {"check-config", qw_cmd_check_config,
   "validate a config file and rule pack before deploying"},
  {"evidence", qw_cmd_evidence,
   "evidence verify DIR: check the evidence store was not altered"},
};

static void usage(FILE *out)
{
  fputs("usage: qingwang [--version] [--help] COMMAND [options] [args]\n"
        "\n"
        "qingwang watches online medical-device listings for violations of "
        "the\nonline-sale rules and reports each suspected violation as a "
        "clue.\n\ncommands:\n", out);
  for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  fputs("\n'qingwang COMMAND --help' describes a command's options.\n", out);
}

int main(int argc, char **argv)
{
  /* A closed pipe on stdout, or a server or Redis resetting a connection
   * mid-write, must end in an error we report, not a kill (libcurl runs
   * with CURLOPT_NOSIGNAL, hiredis writes with plain write()). */
  signal(SIGPIPE, SIG_IGN);
  /* Thousands of concurrent transfers plus resolver descriptors need more
   * than the usual soft limit of 1024 open files: raise it to the hard
   * limit (failure only leaves the default). */
  struct rlimit rl;
  if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
  }
  if(argc < 2) {
    usage(stderr);
    return QW_EXIT_ERROR;
  }
  const char *cmd = argv[1];
  if(strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("qingwang %s\n", QW_VERSION);
    return QW_EXIT_OK;
  }
  if(strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return QW_EXIT_OK;
  }
  if(strcmp(cmd, "help") == 0) {
    if(argc < 3) {
      usage(stdout);
      return QW_EXIT_OK;
    }
    static char help_opt[] = "--help";
    char *hargv[] = {argv[2], help_opt, NULL};
    for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
      if(strcmp(argv[2], commands[i].name) == 0)
        return commands[i].fn(2, hargv);
    fprintf(stderr, "qingwang: unknown command '%s'\n", argv[2]);
    return QW_EXIT_ERROR;
  }
  for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if(strcmp(cmd, commands[i].name) == 0)
      return commands[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "qingwang: unknown command '%s'\n\n", cmd);
  usage(stderr);
  return QW_EXIT_ERROR;
}
