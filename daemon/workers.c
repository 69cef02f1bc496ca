/* workers.c — analysis thread pool posting results to the loop (see
 * workers.h). Two FIFO queues under one mutex each: "todo" feeds the
 * threads, "done" feeds the loop through a uv_async_t. uv_async_send
 * coalesces wake-ups, so the loop side always drains the whole done
 * queue. */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct qw_workers {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_t *threads;
  unsigned n_threads;
  void *(*make_ctx)(void *ud);
  void (*free_ctx)(void *ctx, void *ud);
  void *ud;

  pthread_mutex_t lock;
  pthread_cond_t cond;
  qw_job *todo_head, *todo_tail;
  int stopping;

  pthread_mutex_t done_lock;
  qw_job *done_head, *done_tail;

  atomic_size_t pending; /* submitted − delivered (submit may come from
                            any thread) */
  int closing;
  void (*closed)(void *ud);
  void *closed_ud;
};

static void *worker_main(void *arg)
{
  qw_workers *w = arg;
  void *ctx = w->make_ctx ? w->make_ctx(w->ud) : NULL;
  for(;;) {
    pthread_mutex_lock(&w->lock);
    while(!w->todo_head && !w->stopping)
      pthread_cond_wait(&w->cond, &w->lock);
    qw_job *j = w->todo_head;
    if(!j) { /* stopping and drained */
      pthread_mutex_unlock(&w->lock);
      break;
    }
    w->todo_head = j->next;
    if(!w->todo_head)
      w->todo_tail = NULL;
    pthread_mutex_unlock(&w->lock);

    j->next = NULL;
    if(j->work)
      j->work(j, ctx);

    pthread_mutex_lock(&w->done_lock);
    if(w->done_tail)
      w->done_tail->next = j;
    else
      w->done_head = j;
    w->done_tail = j;
    pthread_mutex_unlock(&w->done_lock);
    uv_async_send(&w->async);
  }
  if(w->free_ctx)
    w->free_ctx(ctx, w->ud);
  return NULL;
}

static void on_async(uv_async_t *a)
{
  qw_workers *w = a->data;
  pthread_mutex_lock(&w->done_lock);
  qw_job *j = w->done_head;
  w->done_head = w->done_tail = NULL;
  pthread_mutex_unlock(&w->done_lock);
  while(j) {
    qw_job *next = j->next;
    j->next = NULL;
    atomic_fetch_sub(&w->pending, 1);
    if(j->done)
      j->done(j, NULL);
    j = next;
  }
}

static void on_async_closed(uv_handle_t *h)
{
  qw_workers *w = h->data;
  void (*closed)(void *) = w->closed;
  void *ud = w->closed_ud;
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->done_lock);
  free(w->threads);
  free(w);
  if(closed)
    closed(ud);
}

int qw_workers_new(uv_loop_t *loop, unsigned n,
                   void *(*make_ctx)(void *ud),
                   void (*free_ctx)(void *ctx, void *ud), void *ud,
                   qw_workers **out)
{
  if(n == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c : 1;
  }
  qw_workers *w = calloc(1, sizeof(*w));
  if(!w)
    return -ENOMEM;
  w->threads = calloc(n, sizeof(*w->threads));
  if(!w->threads) {
    free(w);
    return -ENOMEM;
  }
  atomic_init(&w->pending, 0);
  w->loop = loop;
  w->make_ctx = make_ctx;
  w->free_ctx = free_ctx;
  w->ud = ud;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  pthread_mutex_init(&w->done_lock, NULL);
  int rc = uv_async_init(loop, &w->async, on_async);
  if(rc != 0) {
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->done_lock);
    free(w->threads);
    free(w);
    return rc;
  }
  w->async.data = w;
  for(unsigned i = 0; i < n; i++) {
    rc = pthread_create(&w->threads[i], NULL, worker_main, w);
    if(rc != 0) {
      /* stop what started; the caller gets the error */
      pthread_mutex_lock(&w->lock);
      w->stopping = 1;
      pthread_cond_broadcast(&w->cond);
      pthread_mutex_unlock(&w->lock);
      for(unsigned k = 0; k < i; k++)
        pthread_join(w->threads[k], NULL);
      /* the loop frees w once the async handle is closed */
      w->closed = NULL;
      uv_close((uv_handle_t *)&w->async, on_async_closed);
      return -rc;
    }
    w->n_threads++;
  }
  *out = w;
  return 0;
}

void qw_workers_submit(qw_workers *w, qw_job *job)
{
  job->next = NULL;
  atomic_fetch_add(&w->pending, 1);
  pthread_mutex_lock(&w->lock);
  if(w->todo_tail)
    w->todo_tail->next = job;
  else
    w->todo_head = job;
  w->todo_tail = job;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

size_t qw_workers_pending(const qw_workers *w)
{
  return atomic_load(&w->pending);
}

unsigned qw_workers_threads(const qw_workers *w)
{
  return w->n_threads;
}

/* Runs the jobs left in todo on the calling (loop) thread: those that
 * done() callbacks submitted while the pool was closing, after the
 * threads had stopped. */
static int run_leftovers(qw_workers *w, void **ctx, int *have_ctx)
{
  pthread_mutex_lock(&w->lock);
  qw_job *j = w->todo_head;
  w->todo_head = w->todo_tail = NULL;
  pthread_mutex_unlock(&w->lock);
  if(!j)
    return 0;
  if(!*have_ctx) {
    *ctx = w->make_ctx ? w->make_ctx(w->ud) : NULL;
    *have_ctx = 1;
  }
  while(j) {
    qw_job *next = j->next;
    j->next = NULL;
    if(j->work)
      j->work(j, *ctx);
    pthread_mutex_lock(&w->done_lock);
    if(w->done_tail)
      w->done_tail->next = j;
    else
      w->done_head = j;
    w->done_tail = j;
    pthread_mutex_unlock(&w->done_lock);
    j = next;
  }
  return 1;
}

void qw_workers_close(qw_workers *w, void (*closed)(void *ud), void *ud)
{
  if(w->closing)
    return;
  w->closing = 1;
  pthread_mutex_lock(&w->lock);
  w->stopping = 1;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
  for(unsigned i = 0; i < w->n_threads; i++)
    pthread_join(w->threads[i], NULL);
  /* Deliver what finished before the threads stopped; done() callbacks
   * may submit more, which run here, until nothing is left. */
  void *ctx = NULL;
  int have_ctx = 0;
  do {
    on_async(&w->async);
  } while(run_leftovers(w, &ctx, &have_ctx));
  if(have_ctx && w->free_ctx)
    w->free_ctx(ctx, w->ud);
  w->closed = closed;
  w->closed_ud = ud;
  uv_close((uv_handle_t *)&w->async, on_async_closed);
}
