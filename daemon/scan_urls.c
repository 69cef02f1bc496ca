/* scan_urls.c — `qingwang scan URL…`: fetch many URLs concurrently through
 * the crawl layer on one libuv loop, analyse each body on the worker pool,
 * store evidence for pages with findings, and print one clue (or table
 * block) per URL as results arrive. The loop thread only moves data and
 * writes output; decoding, parsing, matching, evidence writes and JSON
 * serialisation happen on the workers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "cli.h"
#include "clue.h"
#include "countline.h"
#include "crawl.h"
#include "evidence.h"
#include "log.h"
#include "report.h"
#include "workers.h"

typedef struct scan_run scan_run;

/* Back-pressure: fetching is far faster than analysis, so bodies waiting
 * for a worker would pile up without bound. New transfers are held while
 * more than BACKLOG_JOBS_PER_THREAD jobs a thread or two thirds of
 * [fetch] body_memory (64 MiB when that is 0) of bodies wait, and released
 * at half of both. The bytes waiting also count against body_memory in
 * the fetch engine, which pauses transfers already receiving. */
#define BACKLOG_JOBS_PER_THREAD 8u
#define BACKLOG_BYTES_UNLIMITED (64u << 20)

typedef struct {
  qw_job job;
  scan_run *run;
  char *url;
  qw_crawl_result cr;     /* cr.res owned here */
  qw_outcome outcome;     /* after page classification */
  char *out;              /* rendered clue line or table block */
  size_t out_len;
  int n_findings;
  int failed;             /* analysis or output error */
  size_t backlog_bytes;   /* body bytes counted in the run's backlog */
  char err[256];
} url_job;

struct scan_run {
  const qw_scan_url_opts *o;
  uv_loop_t loop;
  qw_crawl *crawl;
  qw_workers *workers;
  qw_evidence *evidence;
  uv_timer_t progress;
  int progress_on;
  size_t total, done, with_findings, errors, analysed;
  size_t by_outcome[QW_OUT_COUNT];
  size_t body_bytes, wire_bytes;
  size_t backlog_jobs, backlog_bytes; /* handed to the workers, not done */
  int held;
  uint64_t started_ns;
  int stopping;
};

/* Holds or releases the crawl by the backlog (see BACKLOG_*). */
static void backlog_check(scan_run *run)
{
  size_t max_jobs = BACKLOG_JOBS_PER_THREAD *
                    (size_t)qw_workers_threads(run->workers);
  size_t mem = run->o->cfg->body_memory;
  size_t max_bytes = mem ? mem / 3 * 2 : BACKLOG_BYTES_UNLIMITED;
  qw_crawl_set_outside_bytes(run->crawl, run->backlog_bytes);
  if(!run->held && (run->backlog_jobs > max_jobs ||
                    run->backlog_bytes > max_bytes)) {
    run->held = 1;
    qw_crawl_hold(run->crawl, 1);
  }
  else if(run->held && !run->stopping && run->backlog_jobs <= max_jobs / 2 &&
          run->backlog_bytes <= max_bytes / 2) {
    run->held = 0;
    qw_crawl_hold(run->crawl, 0);
  }
}

static uint64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- worker side -------------------------------------------------------- */

/* A worker thread's scratch: the analyzer, or in count mode the
 * counter's; NULL members when out of memory (the job then says so). */
typedef struct {
  qw_analyzer *az;
  qw_counter_scratch *cs;
} thread_ctx;

static void *make_thread_ctx(void *ud)
{
  scan_run *run = ud;
  if(run->o->fetch_only)
    return NULL;
  thread_ctx *t = calloc(1, sizeof(*t));
  if(!t)
    return NULL;
  if(run->o->counter)
    t->cs = qw_counter_scratch_new(run->o->counter);
  else if((t->az = qw_analyzer_new(run->o->rs)) != NULL)
    qw_analyzer_limits(t->az, run->o->cfg->pcre_match_limit,
                       run->o->cfg->pcre_heap_limit_kib);
  return t;
}

static void free_thread_ctx(void *ctx, void *ud)
{
  (void)ud;
  thread_ctx *t = ctx;
  if(!t)
    return;
  qw_analyzer_free(t->az);
  qw_counter_scratch_free(t->cs);
  free(t);
}

/* Pages that are not the listing. Markers in the title count; in the body
 * only on short pages, because real listings carry "亲，请登录" and similar
 * in their navigation. */
#define QW_MARKER_BODY_MAX 4000

static qw_outcome classify_page(const qw_page *p, const qw_site *s)
{
  const struct {
    const char *markers;
    qw_outcome outcome;
  } kinds[] = {
    {s->gone_markers, QW_OUT_GONE},
    {s->block_markers, QW_OUT_BLOCKED},
    {s->login_markers, QW_OUT_LOGIN_WALL},
  };
  const char *title = p->title ? p->title : "";
  const qw_text *body = &p->field[QW_FIELD_BODY];
  int short_body = body->len < QW_MARKER_BODY_MAX;
  for(size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
    if(qw_config_marker_in(kinds[k].markers, title, strlen(title)) ||
       (short_body &&
        qw_config_marker_in(kinds[k].markers, body->text, body->len)))
      return kinds[k].outcome;
  return QW_OUT_OK;
}

static void fill_source(qw_clue_source *src, const url_job *j,
                        const char *node)
{
  const qw_fetch_result *r = j->cr.res;
  memset(src, 0, sizeof(*src));
  src->kind = "url";
  src->url = j->url;
  src->node = node;
  src->outcome = qw_outcome_name(j->outcome);
  src->attempts = j->cr.attempts;
  src->fetched = time(NULL);
  if(!r)
    return;
  src->final_url = r->final_url;
  src->body = (const unsigned char *)r->body;
  src->body_len = r->body_len;
  src->fetched = r->fetched ? r->fetched : src->fetched;
  src->error = r->error;
  src->status = r->status;
  src->http_version = r->http_version;
  src->response_headers = r->headers;
  src->remote_ip = r->remote_ip;
  src->remote_port = r->remote_port;
  src->wire_bytes = r->wire_bytes;
  src->t_dns = r->t_dns;
  src->t_connect = r->t_connect;
  src->t_tls = r->t_tls;
  src->t_ttfb = r->t_ttfb;
  src->t_total = r->t_total;
}

/* Renders j's output: the clue (page and cs may be NULL when there is no
 * page), or in the table a block for an analysed listing (analysed) and a
 * one-line outcome otherwise. */
static void render(url_job *j, const qw_page *page, const qw_charset_info *cs,
                   const qw_analysis *an, qw_clue_source *src, int analysed)
{
  const qw_scan_url_opts *o = j->run->o;
  if(o->json) {
    json_t *clue = qw_clue_build(o->rs, page, cs, an, src);
    char *s = clue ? json_dumps(clue, JSON_COMPACT) : NULL;
    json_decref(clue);
    if(!s) {
      j->failed = 1;
      snprintf(j->err, sizeof(j->err), "cannot serialise the clue");
      return;
    }
    j->out_len = strlen(s);
    j->out = realloc(s, j->out_len + 2);
    if(!j->out) {
      free(s);
      j->failed = 1;
      return;
    }
    j->out[j->out_len++] = '\n';
    j->out[j->out_len] = '\0';
    return;
  }
  FILE *mf = open_memstream(&j->out, &j->out_len);
  if(!mf) {
    j->failed = 1;
    return;
  }
  if(analysed && page && an) {
    qw_report_page(mf, j->url, o->rs, page, cs, an, o->color);
  }
  else {
    const qw_fetch_result *r = j->cr.res;
    fprintf(mf, "%s  [%s", j->url, qw_outcome_name(j->outcome));
    if(r && r->status)
      fprintf(mf, ", HTTP %ld", r->status);
    if(r && r->error)
      fprintf(mf, ": %s", r->error);
    fprintf(mf, "]  not analysed\n");
  }
  fclose(mf);
}

/* The document options for j's body. */
static void doc_opts(const url_job *j, qw_document_opts *d, char *transport)
{
  const qw_scan_url_opts *o = j->run->o;
  const qw_fetch_result *r = j->cr.res;
  memset(d, 0, sizeof(*d));
  d->url = r->final_url ? r->final_url : j->url;
  d->user_charset = o->charset;
  if(r->content_type &&
     qw_charset_from_content_type(r->content_type, transport) == 0)
    d->transport_charset = transport;
  d->page.max_bytes = o->cfg->max_page_bytes;
  d->page.max_nodes = o->cfg->max_nodes;
  d->page.max_depth = o->cfg->max_depth;
  d->analyze.page_type = (qw_page_type)o->forced;
  d->analyze.context_chars = o->cfg->context_chars;
  if(d->analyze.page_type == QW_PAGE_UNKNOWN && j->cr.site &&
     j->cr.site->page_type && *j->cr.site->page_type) {
    int t = qw_page_type_from_name(j->cr.site->page_type);
    if(t > 0)
      d->analyze.page_type = (qw_page_type)t;
  }
}

/* Count mode: decode, parse, count the visible text, one line out. */
static void count_work(url_job *j, thread_ctx *t)
{
  const qw_scan_url_opts *o = j->run->o;
  qw_fetch_result *r = j->cr.res;
  qw_countline_source src;
  memset(&src, 0, sizeof(src));
  src.url = j->url;
  src.outcome = qw_outcome_name(j->outcome);
  src.status = r ? r->status : 0;
  src.error = r ? r->error : NULL;
  qw_page *page = NULL;
  qw_charset_info cs;
  memset(&cs, 0, sizeof(cs));
  int listing = j->outcome == QW_OUT_OK && r && r->body && r->body_len > 0;
  if(listing && (!t || !t->cs)) {
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "not counted: out of memory");
    src.error = "out of memory";
  }
  else if(listing) {
    char transport[32] = "";
    qw_document_opts d;
    doc_opts(j, &d, transport);
    d.page.text_only = 1; /* counts need the body text alone */
    qw_analysis none;
    if(qw_analyze_document(NULL, NULL, r->body, r->body_len, &d, &page,
                           &cs, &none, NULL, j->err, sizeof(j->err)) != 0) {
      j->failed = 1;
      src.error = j->err;
    }
  }
  int rc = qw_countline(o->counter, t ? t->cs : NULL, page, &cs, &src,
                        &j->out, &j->out_len);
  if(rc) {
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "%s", rc == -ENOMEM ? "out of memory"
             : "counting stopped: a pattern ran over its match limit");
  }
  qw_page_free(page);
}

/* `--fetch-only --json`: one line per URL with the fetch facts. */
static void fetch_line(url_job *j)
{
  const qw_fetch_result *r = j->cr.res;
  qw_countline_source src;
  memset(&src, 0, sizeof(src));
  src.url = j->url;
  src.outcome = qw_outcome_name(j->outcome);
  if(r) {
    src.status = r->status;
    src.error = r->error;
    src.body_bytes = r->body_len;
    src.wire_bytes = r->wire_bytes;
  }
  if(qw_countline(NULL, NULL, NULL, NULL, &src, &j->out, &j->out_len)) {
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "out of memory");
  }
}

static void url_work(qw_job *job, void *ctx)
{
  url_job *j = (url_job *)job;
  const qw_scan_url_opts *o = j->run->o;
  thread_ctx *t = ctx;
  qw_analyzer *az = t ? t->az : NULL;
  qw_fetch_result *r = j->cr.res;
  j->outcome = j->cr.outcome;
  /* bodies come as they were on the wire: undo gzip/br/zstd here, off the
   * loop thread (a bomb stops at the cap: outcome too_large) */
  if(r && r->content_encoding) {
    if(qw_fetch_result_decode(r, o->cfg->max_body) != 0) {
      j->failed = 1;
      snprintf(j->err, sizeof(j->err), "out of memory decoding the body");
      r->outcome = QW_OUT_ERROR;
    }
    if(j->outcome == QW_OUT_OK)
      j->outcome = r->outcome;
  }
  if(o->fetch_only) {
    if(o->json)
      fetch_line(j);
    return;
  }
  if(o->counter) {
    count_work(j, t);
    return;
  }
  qw_clue_source src;
  qw_analysis an;
  memset(&an, 0, sizeof(an));
  int listing = j->outcome == QW_OUT_OK && r && r->body && r->body_len > 0;
  if(listing && !az) {
    /* this thread could not make its analyzer (out of memory) */
    j->failed = 1;
    snprintf(j->err, sizeof(j->err), "not analysed: out of memory");
  }
  if(!listing || !az) {
    fill_source(&src, j, o->node);
    render(j, NULL, NULL, &an, &src, 0);
    return;
  }
  char transport[32] = "";
  qw_document_opts d;
  doc_opts(j, &d, transport);
  qw_page *page = NULL;
  qw_charset_info cs;
  memset(&cs, 0, sizeof(cs));
  int rc = qw_analyze_document(o->rs, az, r->body, r->body_len, &d, &page,
                               &cs, &an, NULL, j->err, sizeof(j->err));
  if(rc != 0) {
    j->failed = 1;
    fill_source(&src, j, o->node);
    memset(&an, 0, sizeof(an));
    render(j, NULL, NULL, &an, &src, 0);
    return;
  }
  const qw_site *site = j->cr.site;
  qw_outcome pc = site ? classify_page(page, site) : QW_OUT_OK;
  if(pc != QW_OUT_OK) {
    /* Not the listing: no findings (the analysis is dropped), but the
     * clue keeps what the page showed (title, charset). */
    j->outcome = pc;
    qw_analysis_free(&an);
    fill_source(&src, j, o->node);
    render(j, page, &cs, &an, &src, 0);
    qw_page_free(page);
    return;
  }
  j->n_findings = (int)an.n_findings;
  fill_source(&src, j, o->node);
  qw_evidence_ref ref;
  if(an.n_findings && j->run->evidence) {
    qw_evidence_item it;
    memset(&it, 0, sizeof(it));
    it.url = j->url;
    it.final_url = r->final_url;
    it.status = r->status;
    it.response_headers = r->headers;
    it.remote_ip = r->remote_ip;
    it.remote_port = r->remote_port;
    it.fetched = r->fetched;
    it.body = r->body;
    it.body_len = r->body_len;
    it.node = o->node;
    char eerr[200];
    if(qw_evidence_store(j->run->evidence, &it, &ref, eerr,
                         sizeof(eerr)) == 0) {
      src.evidence_path = ref.object;
      src.evidence_seq = ref.seq;
      src.evidence_record_hash = ref.record_hash;
    }
    else {
      /* The clue still goes out (a lost clue is worse than one whose
       * evidence must be fetched again), without an evidence reference, and
       * the run ends with an error status. */
      j->failed = 1;
      snprintf(j->err, sizeof(j->err), "evidence not stored: %s", eerr);
    }
  }
  render(j, page, &cs, &an, &src, 1);
  qw_analysis_free(&an);
  qw_page_free(page);
}

/* ---- loop side ---------------------------------------------------------- */

static void print_progress(scan_run *run, int final)
{
  double secs = (double)(mono_ns() - run->started_ns) / 1e9;
  double rate = secs > 0 ? (double)run->done / secs : 0;
  char errs[256] = "";
  size_t o = 0;
  for(int k = 1; k < QW_OUT_COUNT && o < sizeof(errs) - 32; k++)
    if(run->by_outcome[k])
      o += (size_t)snprintf(errs + o, sizeof(errs) - o, " %s %zu",
                            qw_outcome_name((qw_outcome)k),
                            run->by_outcome[k]);
  double eta = rate > 0 ? (double)(run->total - run->done) / rate : 0;
  fprintf(stderr, "\r\033[K%zu/%zu  %.0f pages/s  ok %zu%s%s  ETA %.0fs%s",
          run->done, run->total, rate, run->by_outcome[QW_OUT_OK],
          o ? "  |" : "", errs, eta, final ? "\n" : "");
  fflush(stderr);
}

static void on_progress(uv_timer_t *t)
{
  print_progress(t->data, 0);
}

/* Ends the loop once every URL has been through crawl and workers. */
static void maybe_finish(scan_run *run)
{
  if(run->stopping || run->done < run->total)
    return;
  run->stopping = 1;
  if(run->progress_on) {
    uv_timer_stop(&run->progress);
    print_progress(run, 1);
  }
  uv_close((uv_handle_t *)&run->progress, NULL);
  qw_crawl_close(run->crawl, NULL, NULL);
  qw_workers_close(run->workers, NULL, NULL);
}


static void url_done(qw_job *job, void *ctx)
{
  (void)ctx;
  url_job *j = (url_job *)job;
  scan_run *run = j->run;
  run->done++;
  if(j->outcome < QW_OUT_COUNT)
    run->by_outcome[j->outcome]++;
  if(j->cr.res) {
    run->body_bytes += j->cr.res->body_len;
    run->wire_bytes += j->cr.res->wire_bytes;
  }
  run->backlog_bytes -= j->backlog_bytes;
  run->backlog_jobs--;
  if(j->failed) {
    run->errors++;
    fprintf(stderr, "%sqingwang scan: %s: %s\n",
            run->progress_on ? "\r\033[K" : "", j->url,
            j->err[0] ? j->err : "failed");
  }
  if(j->n_findings)
    run->with_findings++;
  if(j->out && j->out_len) {
    if(run->progress_on)
      fputs("\r\033[K", stderr);
    if(fwrite(j->out, 1, j->out_len, stdout) != j->out_len)
      run->errors++;
  }
  free(j->out);
  free(j->url);
  qw_fetch_result_free(j->cr.res);
  free(j);
  maybe_finish(run);
  if(!run->stopping)
    backlog_check(run);
}

/* Hands j to the workers, counting it in the backlog. */
static void submit(scan_run *run, url_job *j)
{
  run->backlog_jobs++;
  j->backlog_bytes = j->cr.res ? j->cr.res->body_len : 0;
  run->backlog_bytes += j->backlog_bytes;
  qw_workers_submit(run->workers, &j->job);
  backlog_check(run);
}

/* A URL that cannot go on: counted as done, and as an error. */
static void lost(scan_run *run, const char *url, const char *why)
{
  fprintf(stderr, "%sqingwang scan: %s: %s\n",
          run->progress_on ? "\r\033[K" : "", url, why);
  run->errors++;
  run->done++;
  maybe_finish(run);
}

/* Hands a crawled URL (cr->res owned by the job from here on) to the
 * workers. */
static void on_crawled(const char *url, qw_crawl_result *cr, void *ud)
{
  scan_run *run = ud;
  url_job *j = calloc(1, sizeof(*j));
  if(j)
    j->url = strdup(url);
  if(!j || !j->url) {
    qw_fetch_result_free(cr->res);
    free(j);
    lost(run, url, "out of memory");
    return;
  }
  j->run = run;
  j->cr = *cr;
  j->outcome = cr->outcome;
  j->job.work = url_work;
  j->job.done = url_done;
  submit(run, j);
}

/* A URL the crawler refused (rc from qw_crawl_add): it still gets its
 * line of output, with fetch outcome "error", and counts as an error. */
static void refused(scan_run *run, const char *url, int rc)
{
  const char *why = rc == -EINVAL ? "not an http(s) URL" : strerror(-rc);
  qw_crawl_result cr;
  memset(&cr, 0, sizeof(cr));
  cr.outcome = QW_OUT_ERROR;
  cr.site = &run->o->cfg->site_defaults;
  cr.res = calloc(1, sizeof(*cr.res));
  if(cr.res) {
    cr.res->url = strdup(url);
    cr.res->error = strdup(why);
    cr.res->outcome = QW_OUT_ERROR;
    cr.res->retry_after_s = -1;
  }
  url_job *j = calloc(1, sizeof(*j));
  if(j)
    j->url = strdup(url);
  if(!cr.res || !j || !j->url) {
    qw_fetch_result_free(cr.res);
    if(j)
      free(j->url);
    free(j);
    lost(run, url, why);
    return;
  }
  j->run = run;
  j->cr = cr;
  j->outcome = cr.outcome;
  j->failed = 1;
  snprintf(j->err, sizeof(j->err), "%s", why);
  j->job.work = url_work;
  j->job.done = url_done;
  submit(run, j);
}

int qw_scan_urls(const qw_scan_url_opts *o, char *const *urls, size_t n,
                 qw_scan_totals *tot)
{
  scan_run run;
  memset(&run, 0, sizeof(run));
  run.o = o;
  int rc = uv_loop_init(&run.loop);
  if(rc != 0) {
    fprintf(stderr, "qingwang scan: event loop: %s\n", uv_strerror(rc));
    return -1;
  }
  char err[256];
  if(o->evidence_dir && !o->fetch_only && !o->counter &&
     qw_evidence_open(o->evidence_dir, &run.evidence, err, sizeof(err)) !=
     0) {
    fprintf(stderr, "qingwang scan: evidence: %s\n", err);
    uv_loop_close(&run.loop);
    return -1;
  }
  rc = qw_crawl_new(&run.loop, o->cfg, "qingwang", &run.crawl);
  if(rc == 0)
    qw_crawl_raw_bodies(run.crawl, 1);
  if(rc == 0)
    rc = qw_workers_new(&run.loop, o->cfg->threads, make_thread_ctx,
                        free_thread_ctx, &run, &run.workers);
  if(rc != 0) {
    fprintf(stderr, "qingwang scan: cannot start: %s\n", strerror(-rc));
    if(run.crawl)
      qw_crawl_close(run.crawl, NULL, NULL);
    uv_run(&run.loop, UV_RUN_DEFAULT);
    uv_loop_close(&run.loop);
    qw_evidence_close(run.evidence);
    return -1;
  }
  run.started_ns = mono_ns();
  uv_timer_init(&run.loop, &run.progress);
  run.progress.data = &run;
  run.progress_on = o->progress;
  /* Every URL is counted before the first can finish (nothing is called
   * back inside qw_crawl_add or qw_workers_submit's caller), so the run
   * cannot end early. */
  run.total = n;
  for(size_t i = 0; i < n; i++) {
    int r = qw_crawl_add(run.crawl, urls[i], on_crawled, &run);
    if(r != 0)
      refused(&run, urls[i], r);
  }
  if(run.progress_on && !run.stopping)
    uv_timer_start(&run.progress, on_progress, 250, 250);
  if(run.total == 0)
    maybe_finish(&run);
  uv_run(&run.loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(&run.loop);
  if(rc != 0)
    qw_log(QW_LOG_WARN, "scan.loop", "msg=%s",
           qw_log_quote("event loop closed with handles still open"));
  qw_evidence_close(run.evidence);
  fflush(stdout);
  double secs = (double)(mono_ns() - run.started_ns) / 1e9;
  tot->urls = run.total;
  tot->ok = run.by_outcome[QW_OUT_OK];
  tot->with_findings = run.with_findings;
  tot->errors = run.errors;
  tot->not_ok = run.total - run.by_outcome[QW_OUT_OK];
  tot->seconds = secs;
  tot->body_bytes = run.body_bytes;
  tot->wire_bytes = run.wire_bytes;
  return 0;
}
