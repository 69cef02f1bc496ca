/* replay_main.c — runs a libFuzzer harness over every file of a corpus
 * directory, so the regression corpus is replayed as an ordinary test with
 * any compiler. Exit 0 when every input ran; a crash or sanitizer report
 * fails the test by itself. An empty or missing corpus is a failure too. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if(!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if(fstat(fileno(f), &st) != 0) {
    fclose(f);
    return -1;
  }
  size_t size = (size_t)st.st_size;
  /* An exact-size heap copy lets ASan see reads past the end. */
  uint8_t *data = malloc(size ? size : 1);
  if(!data || (size && fread(data, 1, size, f) != size)) {
    fprintf(stderr, "replay: %s: read failed\n", path);
    free(data);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  return 0;
}

int main(int argc, char **argv)
{
  if(argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR…\n", argv[0]);
    return 2;
  }
  if(LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);
  size_t total = 0;
  for(int a = 1; a < argc; a++) {
    DIR *d = opendir(argv[a]);
    if(!d) {
      fprintf(stderr, "replay: %s: %s\n", argv[a], strerror(errno));
      return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while((e = readdir(d)) != NULL) {
      if(e->d_name[0] == '.')
        continue;
      if(n == cap) {
        cap = cap ? cap * 2 : 64;
        char **nn = realloc(names, cap * sizeof(*names));
        if(!nn)
          return 1;
        names = nn;
      }
      names[n] = strdup(e->d_name);
      if(!names[n])
        return 1;
      n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    for(size_t i = 0; i < n; i++) {
      size_t len = strlen(argv[a]) + strlen(names[i]) + 2;
      char *path = malloc(len);
      if(!path)
        return 1;
      snprintf(path, len, "%s/%s", argv[a], names[i]);
      if(run_file(path) != 0) {
        free(path);
        for(size_t k = i; k < n; k++)
          free(names[k]);
        free(names);
        return 1;
      }
      free(path);
      free(names[i]);
      total++;
    }
    free(names);
  }
  if(total == 0) {
    fprintf(stderr, "replay: no corpus files\n");
    return 1;
  }
  printf("replayed %zu inputs\n", total);
  return 0;
}
