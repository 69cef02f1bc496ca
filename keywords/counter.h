/* counter.h — counts keyword terms and named patterns in a text, the way an
 * analyst's keyword survey (or a regex alternation of the terms sorted
 * longest first) counts them: scanning left to right, at each position the
 * longest term that starts there is taken and scanning resumes after it, so
 * matches never overlap. Patterns are PCRE2 (UTF-8; \uhhhh escapes too),
 * each counted on its own as non-overlapping matches.
 *
 * Used by `qingwang scan --count`: the text is a page's visible body text
 * as one string (qw_page_body_joined). Terms match byte for byte: no case
 * folding or normalisation, so the counts are reproducible by any tool.
 *
 * A counter is immutable once built and may be shared by threads; each
 * thread counts with its own qw_counter_scratch. */
#ifndef QW_COUNTER_H
#define QW_COUNTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct qw_counter qw_counter;
typedef struct qw_counter_scratch qw_counter_scratch;

typedef struct {
  const char *name;  /* JSON key of the count, e.g. "reg" */
  const char *regex; /* PCRE2 pattern */
} qw_count_pattern;

/* Builds a counter from terms[0..n_terms) (duplicates are counted once;
 * empty terms are an error) and patterns[0..n_patterns). On error returns
 * a negative errno and writes what and where into err (e.g. "pattern reg:
 * missing terminating ] at offset 12"). */
int qw_counter_new(const char *const *terms, size_t n_terms,
                   const qw_count_pattern *patterns, size_t n_patterns,
                   qw_counter **out, char *err, size_t errlen);

/* Reads a terms file: UTF-8, one term a line, CR LF or LF, blank lines
 * skipped, no comments (a term may start with '#'). Returns 0 and a
 * malloc'd array of malloc'd strings (free with qw_counter_terms_free), or
 * a negative errno with "path:line: why" in err. */
int qw_counter_read_terms(const char *path, char ***terms, size_t *n,
                          char *err, size_t errlen);
void qw_counter_terms_free(char **terms, size_t n);

void qw_counter_free(qw_counter *c);

size_t qw_counter_terms(const qw_counter *c);   /* distinct terms */
const char *qw_counter_term(const qw_counter *c, size_t i);
size_t qw_counter_patterns(const qw_counter *c);
const char *qw_counter_pattern_name(const qw_counter *c, size_t i);

/* Per-thread scratch; NULL when out of memory. */
qw_counter_scratch *qw_counter_scratch_new(const qw_counter *c);
void qw_counter_scratch_free(qw_counter_scratch *s);

/* The counts of one text, owned by the scratch and valid until its next
 * qw_counter_count: hits[i] for term i, pattern[k] for pattern k. */
typedef struct {
  uint64_t terms;         /* sum of hits */
  const uint32_t *hits;   /* [qw_counter_terms] */
  const uint64_t *pattern; /* [qw_counter_patterns] */
} qw_counts;

/* Counts in text[0..len) (UTF-8; invalid bytes match nothing). Returns 0,
 * -ENOMEM, or -EIO when the engine fails (a pattern over its match limit:
 * that pattern's count so far is kept and the error is reported). */
int qw_counter_count(const qw_counter *c, qw_counter_scratch *s,
                     const char *text, size_t len, qw_counts *out);

#endif
