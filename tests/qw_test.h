/* qw_test.h — helpers shared by the Check suites: fixture paths, reading
 * files, running the qingwang binary and capturing its output. */
#ifndef QW_TEST_H
#define QW_TEST_H

#include <stddef.h>

/* "$QW_SOURCE_DIR/tests/fixtures/<rel>" in a static buffer (one per call
 * site is enough: the buffer is reused). */
const char *qw_test_fixture(const char *rel);
/* "$QW_SOURCE_DIR/<rel>", malloc'd. */
char *qw_test_source_path(const char *rel);
/* Reads a whole file; aborts the test on failure. Caller frees. */
char *qw_test_read(const char *path, size_t *len);
/* Runs "$QW_BIN args…" (argv NULL-terminated, argv[0] ignored), stdin from
 * stdin_path (or /dev/null), capturing stdout and stderr (malloc'd,
 * NUL-terminated). Returns the exit status (or 128+signal). */
int qw_test_run(const char *const *argv, const char *stdin_path, char **out,
                char **err);
/* A loopback TCP port nobody listens on right now (bound to port 0, read,
 * closed): for a server the test starts, or for "connection refused". */
int qw_test_closed_port(void);
/* The default rule pack directory in the source tree. */
const char *qw_test_pack_dir(void);

#endif
