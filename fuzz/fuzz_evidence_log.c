/* fuzz_evidence_log.c — libFuzzer harness for what the evidence store
 * reads back from disk (daemon/evidence.h): the log records, evidence.head
 * and the object header, through qw_evidence_verify and qw_evidence_open.
 *
 * Input: one flag byte, then the log, SEP, an object, SEP, the head, where
 * SEP is the line "--8<--" with its line ends. The object is put where the
 * log's first "object" names it (or at a fixed name), gzip'ed by the
 * harness when flag bit 0 is set so that mutations reach the header
 * parser. Bit 1 also opens the store and appends a capture.
 * Promises checked: verify returns 0 with no problems or 1 with some; a
 * store that verifies clean opens, and is still clean after an append. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "evidence.h"
#include "log.h"

#define FZ_MAX_INPUT (16 * 1024)
#define SEP "\n--8<--\n"
#define SEPLEN (sizeof(SEP) - 1)

static char dir[64];
static FILE *devnull;

static void check(int ok, const char *what)
{
  if(!ok) {
    fprintf(stderr, "fuzz_evidence_log: broken promise: %s\n", what);
    abort();
  }
}

static int rm_entry(const char *p, const struct stat *st, int flag,
                    struct FTW *ftw)
{
  (void)st;
  (void)flag;
  if(ftw->level == 0)
    return 0;
  return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

static void rm_all(void)
{
  if(dir[0]) {
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(dir);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if(dir[0])
    return 0;
  snprintf(dir, sizeof(dir), "%s/qw-fuzz-evidence-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if(!mkdtemp(dir)) {
    perror("fuzz_evidence_log: mkdtemp");
    abort();
  }
  atexit(rm_all);
  devnull = fopen("/dev/null", "w");
  qw_log_set_level(QW_LOG_ERROR);
  return 0;
}

static void put(const char *rel, const uint8_t *p, size_t n, int gz)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  if(gz) {
    gzFile g = gzopen(path, "wb6");
    check(g != NULL, "gzopen");
    if(n)
      check(gzwrite(g, p, (unsigned)n) == (int)n, "gzwrite");
    check(gzclose(g) == Z_OK, "gzclose");
    return;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0, "open");
  check(n == 0 || write(fd, p, n) == (ssize_t)n, "write");
  close(fd);
}

/* The object name the log mentions first, or a fixed one. */
static void object_name(const uint8_t *log, size_t n, char out[80])
{
  static const char key[] = "\"object\":\"objects/";
  const uint8_t *k = memmem(log, n, key, sizeof(key) - 1);
  snprintf(out, 80, "objects/00/%062d.gz", 0);
  if(!k || (size_t)(log + n - k) < 10 + 76)
    return;
  const char *s = (const char *)k + 10;
  for(int i = 0; i < 76; i++) {
    char c = s[i];
    int ok = i < 8 ? c == "objects/"[i] : i == 10 ? c == '/' :
             i >= 73 ? c == ".gz"[i - 73] :
             (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if(!ok)
      return;
  }
  memcpy(out, s, 76);
  out[76] = '\0';
}

static int run_verify(uint64_t *records)
{
  uint64_t bad = 0;
  int r = qw_evidence_verify(dir, devnull, records, &bad);
  check(r == 0 || r == 1, "verify result");
  check((r == 0) == (bad == 0), "verify result vs bad count");
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if(!dir[0])
    LLVMFuzzerInitialize(NULL, NULL);
  if(size < 1 || size > FZ_MAX_INPUT)
    return 0;
  int flags = data[0];
  const uint8_t *p = data + 1, *end = data + size;
  const uint8_t *z1 = memmem(p, (size_t)(end - p), SEP, SEPLEN);
  const uint8_t *log = p, *obj = NULL, *head = NULL;
  size_t loglen = (size_t)((z1 ? z1 : end) - p), objlen = 0, headlen = 0;
  if(z1) {
    obj = z1 + SEPLEN;
    const uint8_t *z2 = memmem(obj, (size_t)(end - obj), SEP, SEPLEN);
    objlen = (size_t)((z2 ? z2 : end) - obj);
    if(z2) {
      head = z2 + SEPLEN;
      headlen = (size_t)(end - head);
    }
  }
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  put("evidence.log", log, loglen, 0);
  if(obj) {
    char name[80], sub[128];
    object_name(log, loglen, name);
    snprintf(sub, sizeof(sub), "%s/objects", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof(sub), "%s/%.10s", dir, name);
    mkdir(sub, 0755);
    put(name, obj, objlen, flags & 1);
  }
  if(head)
    put("evidence.head", head, headlen, 0);

  uint64_t records = 0;
  int clean = run_verify(&records) == 0;
  if(!(flags & 2) && !clean)
    return 0;
  qw_evidence *ev = NULL;
  char err[512];
  int r = qw_evidence_open(dir, &ev, err, sizeof(err));
  check(!clean || r == 0, "a store that verifies clean does not open");
  check(r == 0 || r == -EBADMSG, "open fails other than with EBADMSG");
  check(r != 0 || ev != NULL, "open returned no store");
  check(r == 0 || err[0], "open failed without a message");
  if(r != 0)
    return 0;
  static const char body[] = "<html><title>康泰舒血压计</title>根治</html>";
  qw_evidence_item it;
  memset(&it, 0, sizeof(it));
  it.url = "https://mall.example-shop.cn/item/1.html";
  it.status = 200;
  it.fetched = 1795414367;
  it.body = body;
  it.body_len = sizeof(body) - 1;
  qw_evidence_ref ref;
  r = qw_evidence_store(ev, &it, &ref, err, sizeof(err));
  qw_evidence_close(ev);
  if(clean) {
    check(r == 0, "store into a clean store failed");
    uint64_t after = 0;
    check(run_verify(&after) == 0, "a clean store is not clean after a "
          "store");
    check(after == ref.seq, "record count after a store");
  }
  return 0;
}
