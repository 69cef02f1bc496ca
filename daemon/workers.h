/* workers.h — the analysis pool: CPU work (decode, parse, match, evidence
 * writes) runs on worker threads sized to the cores; results come back to
 * the libuv loop thread through one uv_async_t, so the loop never parses or
 * matches and nothing but the job queues is shared between threads.
 *
 * A job is two callbacks: work(job) on a worker thread, then done(job) on
 * the loop thread. The pool never frees jobs: done() owns the job again. */
#ifndef QW_WORKERS_H
#define QW_WORKERS_H

#include <stddef.h>
#include <uv.h>

typedef struct qw_job qw_job;
typedef void (*qw_job_fn)(qw_job *job, void *thread_ctx);

struct qw_job {
  qw_job_fn work;   /* worker thread; thread_ctx = that thread's context */
  qw_job_fn done;   /* loop thread; thread_ctx = NULL */
  void *data;       /* the caller's */
  qw_job *next;     /* pool-private link */
};

typedef struct qw_workers qw_workers;

/* Starts n threads (0 = one per core). make_ctx(ud) runs once on each
 * thread before its first job and returns that thread's context (e.g. its
 * analyzer scratch); free_ctx(ctx, ud) runs on the thread at shutdown.
 * Either may be NULL. Returns 0 and *out, or a negative errno. */
int qw_workers_new(uv_loop_t *loop, unsigned n,
                   void *(*make_ctx)(void *ud),
                   void (*free_ctx)(void *ctx, void *ud), void *ud,
                   qw_workers **out);

/* Queues a job (any thread may call this, usually the loop thread). */
void qw_workers_submit(qw_workers *w, qw_job *job);

/* Jobs queued or running, not yet handed to done(). Loop thread only. */
size_t qw_workers_pending(const qw_workers *w);

unsigned qw_workers_threads(const qw_workers *w);

/* Finishes every queued job (their done() still runs on the loop), joins
 * the threads, closes the async handle; closed(ud) is called from the loop
 * when everything is released, after which w is freed. Blocks the loop
 * thread until the running jobs end. Jobs that done() callbacks submit
 * during the close still run (on the calling thread, with a context made
 * there by make_ctx and freed by free_ctx) and get their done(); nothing
 * may be submitted once this has returned. May be called from a done()
 * callback; a second call does nothing. */
void qw_workers_close(qw_workers *w, void (*closed)(void *ud), void *ud);

#endif
