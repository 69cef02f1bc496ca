/* qw_test.c — helpers shared by the Check suites (see qw_test.h). */
#include "qw_test.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *source_dir(void)
{
  const char *d = getenv("QW_SOURCE_DIR");
  ck_assert_msg(d != NULL, "QW_SOURCE_DIR is not set (run through meson test)");
  return d;
}

const char *qw_test_fixture(const char *rel)
{
  static char path[4096];
  snprintf(path, sizeof(path), "%s/tests/fixtures/%s", source_dir(), rel);
  return path;
}

char *qw_test_source_path(const char *rel)
{
  size_t n = strlen(source_dir()) + strlen(rel) + 2;
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  snprintf(p, n, "%s/%s", source_dir(), rel);
  return p;
}

const char *qw_test_pack_dir(void)
{
  static char path[4096];
  snprintf(path, sizeof(path), "%s/keywords/pack", source_dir());
  return path;
}

char *qw_test_read(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for(;;) {
    if(cap - n < 65536) {
      cap = cap ? cap * 2 : 65536;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if(r == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  if(len)
    *len = n;
  return buf;
}

static char *slurp_fd(int fd)
{
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for(;;) {
    if(cap - n < 4096) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap + 1);
      ck_assert_ptr_nonnull(buf);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if(r < 0 && errno == EINTR)
      continue;
    if(r <= 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  return buf;
}

int qw_test_run(const char *const *argv, const char *stdin_path, char **out,
                char **err)
{
  const char *bin = getenv("QW_BIN");
  ck_assert_msg(bin != NULL, "QW_BIN is not set (run through meson test)");
  char tmpl_o[] = "/tmp/qwtest-out-XXXXXX";
  char tmpl_e[] = "/tmp/qwtest-err-XXXXXX";
  int fo = mkstemp(tmpl_o), fe = mkstemp(tmpl_e);
  ck_assert(fo >= 0 && fe >= 0);
  unlink(tmpl_o);
  unlink(tmpl_e);
  pid_t pid = fork();
  ck_assert(pid >= 0);
  if(pid == 0) {
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    if(in < 0)
      _exit(126);
    dup2(in, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    size_t argc = 0;
    while(argv[argc])
      argc++;
    char **args = calloc(argc + 1, sizeof(*args));
    if(!args)
      _exit(126);
    /* execv wants char *const[]: copies keep the const inputs const. */
    args[0] = strdup(bin);
    for(size_t i = 1; i < argc; i++)
      args[i] = strdup(argv[i]);
    execv(bin, args);
    _exit(127);
  }
  int status = 0;
  while(waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  lseek(fo, 0, SEEK_SET);
  lseek(fe, 0, SEEK_SET);
  char *o = slurp_fd(fo), *e = slurp_fd(fe);
  close(fo);
  close(fe);
  if(out)
    *out = o;
  else
    free(o);
  if(err)
    *err = e;
  else
    free(e);
  if(WIFEXITED(status))
    return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

int qw_test_closed_port(void)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(s, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t al = sizeof(a);
  ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
  close(s);
  return ntohs(a.sin_port);
}
