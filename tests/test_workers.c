/* test_workers.c — the analysis thread pool (daemon/workers.c): every job
 * runs once on a worker thread with that thread's context and is handed
 * back once, on the loop thread; contexts are made and freed once per
 * thread; closing drains everything (including jobs submitted while
 * closing, from done() callbacks or from workers); the loop closes
 * cleanly. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "workers.h"

/* ===== fixtures ===== */

typedef struct {
  pthread_t tid;
  unsigned serial;         /* order of creation */
  atomic_int jobs;         /* jobs run with this context */
  atomic_int freed;
} thread_ctx;

#define MAX_CTX 256

typedef struct {
  atomic_int made, freed;
  thread_ctx *ctx[MAX_CTX];
  pthread_mutex_t lock;
} ctx_log;

static void *make_ctx(void *ud)
{
  ctx_log *lg = ud;
  thread_ctx *t = calloc(1, sizeof(*t));
  if(!t)
    return NULL;
  t->tid = pthread_self();
  pthread_mutex_lock(&lg->lock);
  t->serial = (unsigned)atomic_fetch_add(&lg->made, 1);
  if(t->serial < MAX_CTX)
    lg->ctx[t->serial] = t;
  pthread_mutex_unlock(&lg->lock);
  return t;
}

/* Contexts are kept (not freed) until the test has looked at them. */
static void free_ctx(void *ctx, void *ud)
{
  ctx_log *lg = ud;
  thread_ctx *t = ctx;
  /* freed on the thread that made it */
  if(pthread_equal(t->tid, pthread_self()))
    atomic_fetch_add(&t->freed, 1);
  else
    atomic_fetch_add(&t->freed, 1000);
  atomic_fetch_add(&lg->freed, 1);
}

static void log_init(ctx_log *lg)
{
  memset(lg, 0, sizeof(*lg));
  pthread_mutex_init(&lg->lock, NULL);
}

static void log_free(ctx_log *lg)
{
  int n = atomic_load(&lg->made);
  for(int i = 0; i < n && i < MAX_CTX; i++)
    free(lg->ctx[i]);
  pthread_mutex_destroy(&lg->lock);
}

static pthread_t loop_thread;

typedef struct test_job test_job;

typedef struct {
  uv_loop_t loop;
  qw_workers *w;
  ctx_log lg;
  atomic_int worked;       /* work() calls */
  int done;                /* done() calls (loop thread) */
  int closed;              /* closed() calls */
  int done_at_closed;      /* done() calls when closed() ran */
  int close_after;         /* done() count at which done() closes, 0 = no */
  int follow_ups;          /* done() submits one more job each, this many */
  test_job *extra;         /* those follow-up jobs */
  int n_extra;
} env;

struct test_job {
  qw_job job;
  env *e;
  int id;
  atomic_int work_calls;
  int done_calls;
  thread_ctx *ran_with;
  int bad_thread;          /* work ran on the loop thread or done off it */
  int sleep_us;
  test_job *spawn;         /* work() submits this one from the worker */
};

static void job_work(qw_job *job, void *ctx)
{
  test_job *j = (test_job *)job;
  atomic_fetch_add(&j->work_calls, 1);
  atomic_fetch_add(&j->e->worked, 1);
  thread_ctx *t = ctx;
  j->ran_with = t;
  if(t) {
    atomic_fetch_add(&t->jobs, 1);
    if(!pthread_equal(t->tid, pthread_self()))
      j->bad_thread = 1;
  }
  if(j->sleep_us) {
    struct timespec ts = { 0, (long)j->sleep_us * 1000L };
    nanosleep(&ts, NULL);
  }
  if(j->spawn)
    qw_workers_submit(j->e->w, &j->spawn->job);
}

static void on_closed(void *ud)
{
  env *e = ud;
  e->closed++;
  e->done_at_closed = e->done;
}

static void job_done(qw_job *job, void *ctx)
{
  test_job *j = (test_job *)job;
  env *e = j->e;
  if(ctx != NULL || !pthread_equal(pthread_self(), loop_thread))
    j->bad_thread = 1;
  j->done_calls++;
  e->done++;
  if(e->follow_ups > 0 && e->n_extra < e->follow_ups) {
    test_job *x = &e->extra[e->n_extra++];
    x->job.work = job_work;
    x->job.done = job_done;
    x->e = e;
    x->id = 100000 + e->n_extra;
    qw_workers_submit(e->w, &x->job);
  }
  if(e->close_after && e->done == e->close_after && e->w)
    qw_workers_close(e->w, on_closed, e);
}

static void env_init(env *e, unsigned threads, int with_ctx)
{
  memset(e, 0, sizeof(*e));
  log_init(&e->lg);
  loop_thread = pthread_self();
  ck_assert_int_eq(uv_loop_init(&e->loop), 0);
  ck_assert_int_eq(qw_workers_new(&e->loop, threads,
                                  with_ctx ? make_ctx : NULL,
                                  with_ctx ? free_ctx : NULL, &e->lg,
                                  &e->w), 0);
  ck_assert_ptr_nonnull(e->w);
}

static test_job *make_jobs(env *e, int n, int sleep_us)
{
  test_job *jobs = calloc((size_t)n, sizeof(*jobs));
  ck_assert_ptr_nonnull(jobs);
  for(int i = 0; i < n; i++) {
    jobs[i].job.work = job_work;
    jobs[i].job.done = job_done;
    jobs[i].e = e;
    jobs[i].id = i;
    jobs[i].sleep_us = sleep_us;
  }
  return jobs;
}

static void run_until_done(env *e, int n)
{
  time_t end = time(NULL) + 30;
  while(e->done < n) {
    ck_assert_msg(time(NULL) < end, "%d of %d jobs done", e->done, n);
    uv_run(&e->loop, UV_RUN_ONCE);
  }
}

/* Closes the pool unless the test did, runs the loop until it has closed,
 * and closes the loop. */
static void env_finish(env *e)
{
  if(!e->closed && !e->close_after)
    qw_workers_close(e->w, on_closed, e);
  uv_run(&e->loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e->closed, 1);
  ck_assert_int_eq(uv_loop_close(&e->loop), 0);
}

static void check_jobs(test_job *jobs, int n)
{
  for(int i = 0; i < n; i++) {
    ck_assert_int_eq(atomic_load(&jobs[i].work_calls), 1);
    ck_assert_int_eq(jobs[i].done_calls, 1);
    ck_assert_int_eq(jobs[i].bad_thread, 0);
  }
}

/* ===== tests ===== */

/* 2000 jobs on 4 threads: each once, on a worker, with that worker's
 * context; done() once, on the loop thread; four contexts, each made and
 * freed once on its own thread. */
START_TEST(test_many_jobs)
{
  enum { N = 2000 };
  env e;
  env_init(&e, 4, 1);
  ck_assert_uint_eq(qw_workers_threads(e.w), 4);
  test_job *jobs = make_jobs(&e, N, 0);
  for(int i = 0; i < N; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  ck_assert_uint_le(qw_workers_pending(e.w), N);
  ck_assert_uint_gt(qw_workers_pending(e.w), 0);
  run_until_done(&e, N);
  ck_assert_uint_eq(qw_workers_pending(e.w), 0);
  check_jobs(jobs, N);
  int sum = 0;
  for(int i = 0; i < N; i++) {
    ck_assert_ptr_nonnull(jobs[i].ran_with);
    int known = 0;
    for(int k = 0; k < atomic_load(&e.lg.made); k++)
      known |= jobs[i].ran_with == e.lg.ctx[k];
    ck_assert(known);
  }
  env_finish(&e);
  ck_assert_int_eq(atomic_load(&e.lg.made), 4);
  ck_assert_int_eq(atomic_load(&e.lg.freed), 4);
  for(int k = 0; k < 4; k++) {
    ck_assert_int_eq(atomic_load(&e.lg.ctx[k]->freed), 1);
    sum += atomic_load(&e.lg.ctx[k]->jobs);
    for(int m = 0; m < k; m++)
      ck_assert(!pthread_equal(e.lg.ctx[k]->tid, e.lg.ctx[m]->tid));
    ck_assert(!pthread_equal(e.lg.ctx[k]->tid, loop_thread));
  }
  ck_assert_int_eq(sum, N);
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* Slow jobs really run in parallel: 8 jobs of 100 ms on 4 threads take
 * about 200 ms, not 800. */
START_TEST(test_parallel)
{
  env e;
  env_init(&e, 4, 1);
  test_job *jobs = make_jobs(&e, 8, 100000);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for(int i = 0; i < 8; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  run_until_done(&e, 8);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double secs = (double)(b.tv_sec - a.tv_sec) +
                (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  ck_assert_msg(secs >= 0.19 && secs < 0.6, "8 × 100 ms on 4 threads: %.3f s",
                secs);
  check_jobs(jobs, 8);
  env_finish(&e);
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* n = 0: one thread per core. */
START_TEST(test_default_threads)
{
  env e;
  env_init(&e, 0, 1);
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned n = qw_workers_threads(e.w);
  ck_assert_uint_eq(n, cores > 0 ? (unsigned)cores : 1);
  env_finish(&e);
  ck_assert_int_eq(atomic_load(&e.lg.made), (int)n);
  ck_assert_int_eq(atomic_load(&e.lg.freed), (int)n);
  log_free(&e.lg);
}
END_TEST

/* No context functions: work() gets NULL. */
START_TEST(test_no_ctx)
{
  env e;
  env_init(&e, 2, 0);
  test_job *jobs = make_jobs(&e, 50, 0);
  for(int i = 0; i < 50; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  run_until_done(&e, 50);
  check_jobs(jobs, 50);
  for(int i = 0; i < 50; i++)
    ck_assert_ptr_null(jobs[i].ran_with);
  env_finish(&e);
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* Close right after submitting slow jobs: every done() runs before
 * closed(), exactly once. */
START_TEST(test_close_drains)
{
  enum { N = 300 };
  env e;
  env_init(&e, 3, 1);
  test_job *jobs = make_jobs(&e, N, 300);
  for(int i = 0; i < N; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  qw_workers_close(e.w, on_closed, &e);
  ck_assert_int_eq(e.closed, 0); /* from the loop, later */
  uv_run(&e.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e.closed, 1);
  ck_assert_int_eq(e.done_at_closed, N);
  check_jobs(jobs, N);
  ck_assert_int_eq(uv_loop_close(&e.loop), 0);
  ck_assert_int_eq(atomic_load(&e.lg.made), 3);
  ck_assert_int_eq(atomic_load(&e.lg.freed), 3);
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* A done() callback closes the pool (as scan does after its last URL)
 * while other jobs are still queued. */
START_TEST(test_close_from_done)
{
  enum { N = 200 };
  env e;
  env_init(&e, 2, 1);
  e.close_after = 10;
  test_job *jobs = make_jobs(&e, N, 200);
  for(int i = 0; i < N; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  run_until_done(&e, 10);
  env_finish(&e);
  ck_assert_int_eq(e.done, N);
  ck_assert_int_eq(e.done_at_closed, N);
  check_jobs(jobs, N);
  ck_assert_int_eq(atomic_load(&e.lg.freed), atomic_load(&e.lg.made));
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* done() callbacks submit follow-up jobs, also while the pool is closing:
 * those run and come back too. */
START_TEST(test_submit_from_done)
{
  enum { N = 100 };
  env e;
  env_init(&e, 2, 1);
  e.follow_ups = N;
  e.extra = calloc(N, sizeof(*e.extra));
  ck_assert_ptr_nonnull(e.extra);
  test_job *jobs = make_jobs(&e, N, 100);
  for(int i = 0; i < N; i++)
    qw_workers_submit(e.w, &jobs[i].job);
  run_until_done(&e, 5); /* some follow-ups go to the threads … */
  qw_workers_close(e.w, on_closed, &e); /* … the rest come during close */
  uv_run(&e.loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(e.closed, 1);
  ck_assert_int_eq(e.n_extra, N);
  ck_assert_int_eq(e.done, 2 * N);
  ck_assert_int_eq(e.done_at_closed, 2 * N);
  check_jobs(jobs, N);
  for(int i = 0; i < N; i++) {
    ck_assert_int_eq(atomic_load(&e.extra[i].work_calls), 1);
    ck_assert_int_eq(e.extra[i].done_calls, 1);
  }
  ck_assert_int_eq(uv_loop_close(&e.loop), 0);
  ck_assert_int_eq(atomic_load(&e.lg.freed), atomic_load(&e.lg.made));
  free(jobs);
  free(e.extra);
  log_free(&e.lg);
}
END_TEST

/* work() submits a job from the worker thread. */
START_TEST(test_submit_from_worker)
{
  enum { N = 400 };
  env e;
  env_init(&e, 4, 1);
  test_job *jobs = make_jobs(&e, 2 * N, 0);
  for(int i = 0; i < N; i++) {
    jobs[i].spawn = &jobs[N + i];
    qw_workers_submit(e.w, &jobs[i].job);
  }
  run_until_done(&e, 2 * N);
  ck_assert_uint_eq(qw_workers_pending(e.w), 0);
  check_jobs(jobs, 2 * N);
  env_finish(&e);
  free(jobs);
  log_free(&e.lg);
}
END_TEST

/* A pool closed without ever getting a job. */
START_TEST(test_close_idle)
{
  env e;
  env_init(&e, 3, 1);
  ck_assert_uint_eq(qw_workers_pending(e.w), 0);
  env_finish(&e);
  /* every thread made its context, before any job, and freed it */
  ck_assert_int_eq(atomic_load(&e.lg.made), 3);
  ck_assert_int_eq(atomic_load(&e.lg.freed), 3);
  log_free(&e.lg);
}
END_TEST

static Suite *workers_suite(void)
{
  Suite *s = suite_create("workers");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_many_jobs);
  tcase_add_test(tc, test_parallel);
  tcase_add_test(tc, test_default_threads);
  tcase_add_test(tc, test_no_ctx);
  tcase_add_test(tc, test_close_drains);
  tcase_add_test(tc, test_close_from_done);
  tcase_add_test(tc, test_submit_from_done);
  tcase_add_test(tc, test_submit_from_worker);
  tcase_add_test(tc, test_close_idle);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(workers_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
