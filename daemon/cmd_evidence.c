/* cmd_evidence.c — `qingwang evidence verify DIR`: checks that nothing in an
 * evidence store changed since it was written (every log record's hash and
 * chain link, every object's content against its name and recorded body
 * hash). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "evidence.h"

static void evidence_usage(FILE *out)
{
  fputs("usage: qingwang evidence verify DIR\n"
        "\n"
        "Checks the evidence store in DIR: each evidence.log record's hash and\n"
        "its link to the record before, and each object's content against its\n"
        "name and the body hash its record holds. One line per problem.\n"
        "\n"
        "exit status: 0 intact, 1 problems found, 2 DIR cannot be read.\n",
        out);
}

int qw_cmd_evidence(int argc, char **argv)
{
  if(argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                   strcmp(argv[1], "-h") == 0)) {
    evidence_usage(stdout);
    return QW_EXIT_OK;
  }
  if(argc != 3 || strcmp(argv[1], "verify") != 0) {
    evidence_usage(stderr);
    return QW_EXIT_ERROR;
  }
  uint64_t records = 0, bad = 0;
  int rc = qw_evidence_verify(argv[2], stdout, &records, &bad);
  if(rc < 0) {
    fprintf(stderr, "qingwang evidence: %s: %s\n", argv[2], strerror(-rc));
    return QW_EXIT_ERROR;
  }
  printf("%s: %llu record%s, %llu problem%s\n", argv[2],
         (unsigned long long)records, records == 1 ? "" : "s",
         (unsigned long long)bad, bad == 1 ? "" : "s");
  return rc == 0 ? QW_EXIT_OK : QW_EXIT_FINDINGS;
}
