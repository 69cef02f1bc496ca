/* evidence.h — the evidence store: what a case officer needs to show that a
 * page said what the clue says, even after the page has changed.
 *
 * Layout under the evidence directory:
 *   objects/ab/cdef…(64 hex).gz   one per distinct capture: gzip of a small
 *                                 text header (request facts and response
 *                                 headers) followed by the raw body bytes;
 *                                 named by the SHA-256 of the raw body plus
 *                                 header (content-addressed); created with
 *                                 O_EXCL, fsync'ed with its directory, never
 *                                 overwritten (an existing object with the
 *                                 same name is the same capture)
 *   evidence.log                  append-only JSON Lines; each record holds
 *                                 seq, time, object name, body SHA-256, URL,
 *                                 status, and "prev" = the hash of the
 *                                 previous record's line, and "hash" = the
 *                                 SHA-256 of this record without "hash";
 *                                 fsync'ed before the clue is emitted
 * Any later change to an object or a log line is detected by
 * qw_evidence_verify (`qingwang evidence verify DIR`).
 *
 * Thread-safe: stores from several worker threads are serialised on the
 * log. */
#ifndef QW_EVIDENCE_H
#define QW_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct qw_evidence qw_evidence;

/* Opens (creating when missing) the store in dir and checks the log's last
 * record so appends continue the chain; a torn last line (crash mid-write)
 * is reported and cut, never silently kept. Returns 0 or a negative errno
 * with err set. */
int qw_evidence_open(const char *dir, qw_evidence **out, char *err,
                     size_t errlen);
void qw_evidence_close(qw_evidence *ev);

typedef struct {
  const char *url;          /* requested URL, or NULL for a file */
  const char *final_url;    /* or NULL */
  const char *source_path;  /* file scanned, or NULL */
  long status;              /* HTTP status, 0 for files */
  const char *request_headers;  /* as sent, or NULL */
  const char *response_headers; /* raw block, or NULL */
  const char *remote_ip;    /* or NULL */
  long remote_port;
  time_t fetched;
  const void *body;         /* raw bytes as received (before decoding) */
  size_t body_len;
  const char *node;
} qw_evidence_item;

typedef struct {
  char body_sha256[65];     /* SHA-256 of the raw body */
  char object[80];          /* "objects/ab/cdef….gz", relative to dir */
  uint64_t seq;             /* the log record's sequence number (1-based) */
  char record_hash[65];     /* hash of the log record */
} qw_evidence_ref;

/* Stores one capture and appends its log record, both durably (fsync).
 * Returns 0 and fills *ref, or a negative errno with err set; on error
 * nothing that was written before is lost or altered. */
int qw_evidence_store(qw_evidence *ev, const qw_evidence_item *item,
                      qw_evidence_ref *ref, char *err, size_t errlen);

/* Checks every log record's hash and chain link and every object's content
 * against its name and recorded body hash. Writes one line per problem to
 * report (may be NULL). Returns 0 when all is intact, 1 when problems were
 * found (counts in *bad), or a negative errno when dir cannot be read. */
int qw_evidence_verify(const char *dir, FILE *report, uint64_t *records,
                       uint64_t *bad);

#endif
