/* matcher.c — the matching engine behind the rule pack (see matcher.h).
 *
 * Two literal passes find the candidates:
 *   - our literal scanner (litscan.h) takes every distinct literal term and
 *     every literal anchor of 6 bytes or more; Hyperscan's literal engine
 *     confirms candidates at most positions of Chinese text once the list
 *     holds thousands of terms, the scanner's 6-byte filter at the
 *     character starts does not;
 *   - one Hyperscan block-mode database takes the shorter literals and
 *     anchors, and every regex entry that has neither literal anchors nor
 *     a digit run, in prefilter mode: a report only says "this block may
 *     match", and PCRE2 then runs on that block alone.
 * Literals are matched as bytes; a literal may belong to several sets, so
 * each carries a list of owners (set, entry). Regex entries:
 *   - with literal anchors (anchors.h): an anchor hit only says "a match
 *     may hold this", and PCRE2 then searches near it
 *     (confirm_anchored()), finding exactly the matches a run over the
 *     whole block would find; when the pattern also has a partner set
 *     (the strings of the other side of a gap), only where a partner
 *     string lies on its side of the hit (partner_in(): 64 positions at a
 *     time with AVX-512, else one at a time, through a 512-bit table of
 *     the partners' bytes 1 and 2);
 *   - without, but with a digit run (every match holds k consecutive ASCII
 *     digits, as a phone number does): the runs of k digits or more, found
 *     64 bytes at a time, are their anchors (digit_anchors());
 *   - regexes Hyperscan cannot take (or that use \A, \z, \Z, whose meaning
 *     differs per block) run with PCRE2 on every block ("always" entries,
 *     reported as notes);
 *   - a regex without anchors that is only ever an exception is "lazy": it
 *     runs only on the blocks that hold a hit of one of its sets, after
 *     selection, since an exception only matters where it overlaps a hit.
 * A pattern used by several sets (a shared exceptions list) is compiled
 * once, with one owner per use, like literals.
 *
 * Measured (bench-analyze --stage extra and a driver over the same
 * normalised texts, interleaved with the earlier design of one Hyperscan
 * database for everything, pack + 2,000 terms): the scanner plus digit
 * runs take the literal passes from ~155 to ~70 us a page; the whole scan
 * went from ~250 to ~205 us a page and a load of the pack from 0.05 to
 * 0.007 s. Tried and not kept, each measured with builds alternating
 * round by round in one process over the bench corpus:
 *   - partner strings as literal-scanner or Hyperscan reports (+1,700
 *     reports a page cost more than the PCRE2 calls saved), and a
 *     byte-at-a-time partner scan with a 64-bit filter (35 % slower; the
 *     vector scan kept is 10 % faster than no partner check: PCRE2 calls
 *     730 -> 250 a page);
 *   - a tighter lower bound on a match's start from where the anchor sits
 *     in the pattern, and pcre2_jit_match() for pcre2_match(): no change
 *     (the JIT finds the start itself; its time is in the matching);
 *   - confirming the "A [^X]{m,n}? B" patterns (most of the pack's) with
 *     our own matcher instead of PCRE2: exact (a property test against
 *     PCRE2 agreed on 2.6 million cases) but 4-6 % slower overall; the
 *     JIT is quick on them;
 *   - a line index of each chunk for the block bounds, 16 or 256 KiB
 *     chunks, a branch-free run test skipping 256 bytes without digits,
 *     litscan reports handed over in batches, sub-slots for crowded keys:
 *     each within +-1 % or slower;
 *   - link-time optimisation of the whole build: 1.5 %.
 * With partner sets, the candidate sort by merging runs, the block bounds
 * found only for a PCRE2 call and the faster litscan, the whole scan takes
 * ~150 us a page (pack + 2,000 terms) where it took ~205.
 *
 * Regex entries match block by block: the subject of each PCRE2 call is one
 * '\n'-free block, so ^ $ \A \z and lookarounds see the block's edges. The
 * text is scanned in chunks of about 64 KiB that end on a '\n', so the
 * PCRE2 confirmations run while the chunk is in cache. */
#include "anchors.h"
#include "buf.h"
#include "cpu.h"
#include "hsbytes.h"
#include "litscan.h"
#include "matcher.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <hs/hs.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if QW_CPU_X86_64
#include <immintrin.h>
#endif
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define EXC_BIT 0x80000000u
#define CHUNK_BYTES (64u * 1024u)
#define RX_COMPILE_FLAGS (PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | \
                          PCRE2_MATCH_INVALID_UTF | PCRE2_USE_OFFSET_LIMIT)
#define HS_RX_FLAGS (HS_FLAG_PREFILTER | HS_FLAG_UTF8 | HS_FLAG_UCP | \
                     HS_FLAG_MULTILINE | HS_FLAG_CASELESS)
/* the byte-mode superset of a pattern (hsbytes.h) */
#define HS_BYTE_FLAGS (HS_FLAG_PREFILTER | HS_FLAG_MULTILINE | \
                       HS_FLAG_CASELESS)
#define MAX_PATTERN_BYTES (64u * 1024u)
#define MATCH_LIMIT 1000000u
#define DEPTH_LIMIT 100000u
#define HEAP_LIMIT_KIB (32u * 1024u)
#define JIT_STACK_MIN (32u * 1024u)
#define JIT_STACK_MAX (1024u * 1024u)

typedef struct {
  uint32_t set;
  uint32_t code;     /* entry index, | EXC_BIT for an exception */
} owner;

typedef struct {
  uint32_t set, code, start, end;
} cand;

typedef struct {
  uint32_t rx, start, end;
} work;

/* ---- builder ---------------------------------------------------------- */

typedef struct {
  char *name;
  unsigned negation;
  uint32_t n_entries, n_exc;
  char **texts;        /* entry texts (exceptions excluded), strdup'd */
  size_t cap_texts;
} bset;

typedef struct {
  char *s;
  size_t len;
  owner *owners;
  size_t n_owners, cap_owners;
} blit;

typedef struct {
  pcre2_code *code;
  char *text;
  owner *owners;
  size_t n_owners, cap_owners;
} brx;

struct qw_matcher_builder {
  bset *sets;
  size_t n_sets, cap_sets;
  blit *lits;
  size_t n_lits, cap_lits;
  uint32_t *hash;      /* open addressing, literal index + 1, 0 = empty */
  size_t hash_cap;
  brx *rx;
  size_t n_rx, cap_rx;
  uint32_t *rx_hash;   /* as hash, for regex texts */
  size_t rx_hash_cap;
  pcre2_compile_context *cctx;
};

/* ---- built matcher ---------------------------------------------------- */

typedef struct {
  char *name;
  unsigned negation;
  uint32_t n_entries;
  char **texts;
} mset;

enum { RX_PREFILTER = 0, RX_ALWAYS, RX_LAZY, RX_ANCHORED, RX_DIGITS };

/* Shortest anchor worth searching for: one CJK character or three ASCII
 * bytes. Shorter ones (a digit pair such as "13" for a phone number) hit
 * so often that Hyperscan's own prefilter of the pattern is cheaper
 * (measured on the bench corpus: 306 vs 283 MB/s). */
#define MIN_ANCHOR_BYTES 3

/* Shortest run of ASCII digits worth anchoring on (RX_DIGITS) a pattern
 * with no literal anchor. Every match of a phone-number pattern holds 11
 * (or 7) consecutive digits, and runs that long are rare in a page;
 * 4-digit runs (years, prices) are common, but a pattern whose run is that
 * short only costs a PCRE2 call near each. */
#define MIN_DIGIT_RUN 4

typedef struct {
  pcre2_code *code;
  uint32_t own_off, n_own; /* into rx_owners */
  int mode;
  long max_len;            /* RX_ANCHORED, RX_DIGITS: longest match, -1
                              unbounded */
  uint32_t digit_run;      /* RX_DIGITS: every match holds this many
                              consecutive ASCII digits */
  /* RX_ANCHORED with a partner set (anchors.h): m->part[part_off ..
   * part_off + n_part), and a 64-bit filter of their first 3 bytes */
  uint32_t part_off, n_part;
  int part_after;          /* the partner strings come after the anchor in
                              a match (1) or before it (0) */
  uint8_t part_tab[64];     /* bit (b1 & 7) of byte b2 & 63 set for the
                              bytes 1 and 2 of each partner string */
} mrx;



struct qw_matcher {
  mset *sets;
  uint32_t n_sets;
  uint32_t n_lits;
  uint32_t *lit_len;
  uint32_t *own_off;   /* n_lits + 1 */
  owner *owners;
  mrx *rx;
  uint32_t n_rx;
  owner *rx_owners;
  uint32_t *always;    /* indexes into rx */
  uint32_t n_always;
  uint32_t *lazy_off;  /* per set: its lazy regexes lazy[lazy_off[set] ..
                          lazy_off[set + 1]) */
  uint32_t *lazy;
  uint32_t *digit_rx;  /* the RX_DIGITS regexes */
  uint32_t n_digit_rx;
  uint32_t min_digit_run; /* the shortest of their digit runs */
  uint32_t n_anchors;  /* the RX_ANCHORED regexes' anchors */
  uint32_t *anchor_rx;
  uint8_t *anchor_len;
  /* the partner strings of RX_ANCHORED regexes as the check compares
   * them, each regex's from its part_off, padded to a multiple of 8 (mask
   * 0, never equal): the first (up to) 8 bytes, ASCII letters lower-cased,
   * the mask of those bytes, the length */
  uint64_t *part_w, *part_m;
  uint32_t *part_len;
  uint32_t n_part;
  int simd;            /* partner_in() with AVX-512 */
  qw_litscan *ls;      /* the literals and anchors it takes */
  hs_database_t *db;   /* the other literals and anchors, prefilter
                          patterns */
};

typedef struct {
  uint32_t gen;
  uint32_t start, end; /* last block queued */
  int stopped;         /* a limit was hit in this scan */
} rxstate;

struct qw_match_scratch {
  const qw_matcher *m;
  hs_scratch_t *hs;
  pcre2_match_data *md;
  pcre2_match_context *mc;
  pcre2_jit_stack *js;
  cand *c;
  size_t nc, cap_c;
  cand *x;
  size_t nx, cap_x;
  cand *t;             /* sort buffer */
  size_t cap_t;
  cand *sel;           /* selected hits before the filters */
  size_t nsel, cap_sel;
  work *w;
  size_t nw, cap_w;
  cand *ah;            /* anchor hits: set = regex, code = start,
                          start = end (the sort key), end unused */
  size_t nah, cap_ah;
  rxstate *rs;
  size_t *cnt;         /* group_cands(): a count per set or regex, + 1 */
  uint32_t gen;
  /* per scan */
  const char *text;
  size_t len, base, chunk_end; /* the current chunk: [base, chunk_end) */
  const uint8_t *sets;
  int err;
};

static char *xstrndup(const char *s, size_t n)
{
  char *d = malloc(n + 1);
  if(!d)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

qw_matcher_builder *qw_matcher_builder_new(void)
{
  qw_matcher_builder *b = calloc(1, sizeof(*b));
  if(!b)
    return NULL;
  b->cctx = pcre2_compile_context_create(NULL);
  if(!b->cctx) {
    free(b);
    return NULL;
  }
  pcre2_set_max_pattern_length(b->cctx, MAX_PATTERN_BYTES);
  return b;
}

void qw_matcher_builder_free(qw_matcher_builder *b)
{
  if(!b)
    return;
  for(size_t i = 0; i < b->n_sets; i++) {
    free(b->sets[i].name);
    for(uint32_t k = 0; k < b->sets[i].n_entries; k++)
      free(b->sets[i].texts[k]);
    free(b->sets[i].texts);
  }
  free(b->sets);
  for(size_t i = 0; i < b->n_lits; i++) {
    free(b->lits[i].s);
    free(b->lits[i].owners);
  }
  free(b->lits);
  free(b->hash);
  for(size_t i = 0; i < b->n_rx; i++) {
    pcre2_code_free(b->rx[i].code);
    free(b->rx[i].text);
    free(b->rx[i].owners);
  }
  free(b->rx);
  free(b->rx_hash);
  pcre2_compile_context_free(b->cctx);
  free(b);
}

int qw_matcher_builder_new_set(qw_matcher_builder *b, const char *name,
                               unsigned negation)
{
  if(!b)
    return -EINVAL;
  if(b->n_sets >= INT_MAX)
    return -ENOMEM;
  if(qw_grow((void **)&b->sets, &b->cap_sets, b->n_sets + 1, sizeof(bset)))
    return -ENOMEM;
  bset *s = &b->sets[b->n_sets];
  memset(s, 0, sizeof(*s));
  s->name = strdup(name ? name : "");
  if(!s->name)
    return -ENOMEM;
  s->negation = negation;
  return (int)b->n_sets++;
}

/* Records a new entry of set and returns its code (index | EXC_BIT). */
static int new_entry(qw_matcher_builder *b, uint32_t set, const char *text,
                     size_t len, int exception, uint32_t *code)
{
  bset *s = &b->sets[set];
  if(exception) {
    if(s->n_exc >= EXC_BIT - 1)
      return -ENOMEM;
    *code = s->n_exc | EXC_BIT;
    return 0;
  }
  if(s->n_entries >= INT_MAX)
    return -ENOMEM;
  if(qw_grow((void **)&s->texts, &s->cap_texts, s->n_entries + 1,
          sizeof(char *)))
    return -ENOMEM;
  char *t = xstrndup(text, len);
  if(!t)
    return -ENOMEM;
  s->texts[s->n_entries] = t;
  *code = s->n_entries;
  return 0;
}

static void commit_entry(qw_matcher_builder *b, uint32_t set, uint32_t code)
{
  if(code & EXC_BIT)
    b->sets[set].n_exc++;
  else
    b->sets[set].n_entries++;
}

static void drop_entry(qw_matcher_builder *b, uint32_t set, uint32_t code)
{
  if(!(code & EXC_BIT))
    free(b->sets[set].texts[code]);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for(size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

static int rehash(qw_matcher_builder *b)
{
  size_t cap = b->hash_cap ? b->hash_cap * 2 : 1024;
  uint32_t *h = calloc(cap, sizeof(*h));
  if(!h)
    return -ENOMEM;
  for(size_t i = 0; i < b->n_lits; i++) {
    size_t p = hash_bytes(b->lits[i].s, b->lits[i].len) & (cap - 1);
    while(h[p])
      p = (p + 1) & (cap - 1);
    h[p] = (uint32_t)i + 1;
  }
  free(b->hash);
  b->hash = h;
  b->hash_cap = cap;
  return 0;
}

/* Finds or creates the literal term[0..len); returns its index or < 0. */
static long find_literal(qw_matcher_builder *b, const char *term, size_t len)
{
  if((b->n_lits + 1) * 2 > b->hash_cap && rehash(b))
    return -ENOMEM;
  size_t p = hash_bytes(term, len) & (b->hash_cap - 1);
  while(b->hash[p]) {
    blit *l = &b->lits[b->hash[p] - 1];
    if(l->len == len && memcmp(l->s, term, len) == 0)
      return (long)(b->hash[p] - 1);
    p = (p + 1) & (b->hash_cap - 1);
  }
  if(b->n_lits >= UINT32_MAX / 2)
    return -ENOMEM;
  if(qw_grow((void **)&b->lits, &b->cap_lits, b->n_lits + 1, sizeof(blit)))
    return -ENOMEM;
  blit *l = &b->lits[b->n_lits];
  memset(l, 0, sizeof(*l));
  l->s = xstrndup(term, len);
  if(!l->s)
    return -ENOMEM;
  l->len = len;
  b->hash[p] = (uint32_t)b->n_lits + 1;
  return (long)b->n_lits++;
}

static int rx_rehash(qw_matcher_builder *b)
{
  size_t cap = b->rx_hash_cap ? b->rx_hash_cap * 2 : 256;
  uint32_t *h = calloc(cap, sizeof(*h));
  if(!h)
    return -ENOMEM;
  for(size_t i = 0; i < b->n_rx; i++) {
    const char *t = b->rx[i].text;
    size_t p = hash_bytes(t, strlen(t)) & (cap - 1);
    while(h[p])
      p = (p + 1) & (cap - 1);
    h[p] = (uint32_t)i + 1;
  }
  free(b->rx_hash);
  b->rx_hash = h;
  b->rx_hash_cap = cap;
  return 0;
}

/* Index of the regex with this text, or -1 (slot in *slot). */
static long find_regex(qw_matcher_builder *b, const char *text, size_t *slot)
{
  size_t len = strlen(text);
  size_t p = hash_bytes(text, len) & (b->rx_hash_cap - 1);
  while(b->rx_hash[p]) {
    const brx *x = &b->rx[b->rx_hash[p] - 1];
    if(strcmp(x->text, text) == 0)
      return (long)(b->rx_hash[p] - 1);
    p = (p + 1) & (b->rx_hash_cap - 1);
  }
  *slot = p;
  return -1;
}

static int add_owner(owner **v, size_t *n, size_t *cap, uint32_t set,
                     uint32_t code)
{
  if(qw_grow((void **)v, cap, *n + 1, sizeof(owner)))
    return -ENOMEM;
  (*v)[*n].set = set;
  (*v)[*n].code = code;
  (*n)++;
  return 0;
}

int qw_matcher_builder_add_literal(qw_matcher_builder *b, uint32_t set,
                                   const char *term, size_t len,
                                   int exception)
{
  if(!b || set >= b->n_sets || !term || len == 0 || len > UINT32_MAX / 2)
    return -EINVAL;
  uint32_t code;
  int r = new_entry(b, set, term, len, exception, &code);
  if(r)
    return r;
  long li = find_literal(b, term, len);
  if(li < 0) {
    drop_entry(b, set, code);
    return (int)li;
  }
  blit *l = &b->lits[li];
  if(qw_grow((void **)&l->owners, &l->cap_owners, l->n_owners + 1,
          sizeof(owner))) {
    drop_entry(b, set, code);
    return -ENOMEM;
  }
  l->owners[l->n_owners].set = set;
  l->owners[l->n_owners].code = code;
  l->n_owners++;
  commit_entry(b, set, code);
  return (int)(code & ~EXC_BIT);
}

int qw_matcher_builder_add_regex(qw_matcher_builder *b, uint32_t set,
                                 const char *pattern, int exception,
                                 char *err, size_t errlen)
{
  if(err && errlen)
    err[0] = '\0';
  if(!b || set >= b->n_sets || !pattern)
    return -EINVAL;
  if((b->n_rx + 1) * 2 > b->rx_hash_cap && rx_rehash(b))
    return -ENOMEM;
  size_t slot = 0;
  long xi = find_regex(b, pattern, &slot);
  pcre2_code *code = NULL;
  if(xi < 0) {
    int ec;
    PCRE2_SIZE eo;
    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         RX_COMPILE_FLAGS, &ec, &eo, b->cctx);
    if(!code) {
      if(ec == PCRE2_ERROR_NOMEMORY)
        return -ENOMEM;
      if(err && errlen) {
        PCRE2_UCHAR msg[160];
        if(pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
          snprintf((char *)msg, sizeof(msg), "error %d", ec);
        snprintf(err, errlen, "offset %zu: %s", (size_t)eo, (char *)msg);
      }
      return -EINVAL;
    }
    if(b->n_rx >= UINT32_MAX / 2 ||
       qw_grow((void **)&b->rx, &b->cap_rx, b->n_rx + 1, sizeof(brx))) {
      pcre2_code_free(code);
      return -ENOMEM;
    }
    brx *x = &b->rx[b->n_rx];
    memset(x, 0, sizeof(*x));
    x->text = strdup(pattern);
    if(!x->text) {
      pcre2_code_free(code);
      return -ENOMEM;
    }
    x->code = code;
    b->rx_hash[slot] = (uint32_t)b->n_rx + 1;
    xi = (long)b->n_rx++;
  }
  uint32_t id;
  int r = new_entry(b, set, pattern, strlen(pattern), exception, &id);
  if(r)
    return r;
  brx *x = &b->rx[xi];
  if(add_owner(&x->owners, &x->n_owners, &x->cap_owners, set, id)) {
    drop_entry(b, set, id);
    return -ENOMEM;
  }
  commit_entry(b, set, id);
  return (int)(id & ~EXC_BIT);
}

/* ---- build ------------------------------------------------------------ */

/* 1 when the pattern uses an anchor that means "start/end of the subject"
 * (\A \z \Z \G): per block these match at every block edge, which the
 * whole-text prefilter cannot see, so such entries always run. */
static int has_subject_anchor(const char *p)
{
  for(; *p; p++) {
    if(*p != '\\')
      continue;
    p++;
    if(!*p)
      break;
    if(*p == 'A' || *p == 'z' || *p == 'Z' || *p == 'G')
      return 1;
  }
  return 0;
}

/* Appends "set NAME entry N: why" (or "exception N") to notes. */
static int add_note(char ***notes, size_t *n, size_t *cap, const char *set,
                    uint32_t code, const char *why)
{
  if(!notes)
    return 0;
  if(qw_grow((void **)notes, cap, *n + 1, sizeof(char *)))
    return -ENOMEM;
  const char *kind = (code & EXC_BIT) ? "exception" : "entry";
  unsigned idx = code & ~EXC_BIT;
  int len = snprintf(NULL, 0, "set %s %s %u: %s", set, kind, idx, why);
  if(len < 0)
    return -EINVAL;
  char *s = malloc((size_t)len + 1);
  if(!s)
    return -ENOMEM;
  snprintf(s, (size_t)len + 1, "set %s %s %u: %s", set, kind, idx, why);
  (*notes)[(*n)++] = s;
  return 0;
}

static void set_err(char *err, size_t errlen, const char *what,
                    const char *msg)
{
  if(err && errlen)
    snprintf(err, errlen, "%s: %s", what, msg);
}

void qw_matcher_free(qw_matcher *m)
{
  if(!m)
    return;
  for(uint32_t i = 0; i < m->n_sets; i++) {
    free(m->sets[i].name);
    for(uint32_t k = 0; k < m->sets[i].n_entries; k++)
      free(m->sets[i].texts[k]);
    free(m->sets[i].texts);
  }
  free(m->sets);
  free(m->lit_len);
  free(m->own_off);
  free(m->owners);
  for(uint32_t i = 0; i < m->n_rx; i++)
    pcre2_code_free(m->rx[i].code);
  free(m->rx);
  free(m->part_w);
  free(m->part_m);
  free(m->part_len);
  free(m->rx_owners);
  free(m->always);
  free(m->lazy_off);
  free(m->lazy);
  free(m->anchor_rx);
  free(m->anchor_len);
  free(m->digit_rx);
  qw_litscan_free(m->ls);
  hs_free_database(m->db);
  free(m);
}

static int copy_sets(const qw_matcher_builder *b, qw_matcher *m)
{
  m->sets = calloc(b->n_sets ? b->n_sets : 1, sizeof(mset));
  if(!m->sets)
    return -ENOMEM;
  for(size_t i = 0; i < b->n_sets; i++) {
    const bset *s = &b->sets[i];
    mset *d = &m->sets[i];
    m->n_sets = (uint32_t)i + 1;
    d->name = strdup(s->name);
    d->negation = s->negation;
    d->texts = calloc(s->n_entries ? s->n_entries : 1, sizeof(char *));
    if(!d->name || !d->texts)
      return -ENOMEM;
    for(uint32_t k = 0; k < s->n_entries; k++) {
      d->texts[k] = strdup(s->texts[k]);
      if(!d->texts[k])
        return -ENOMEM;
      d->n_entries = k + 1;
    }
  }
  return 0;
}

/* The literals' lengths and owners (the database is built with the
 * patterns, in build_regexes()). */
static int build_literals(const qw_matcher_builder *b, qw_matcher *m)
{
  size_t n_own = 0;
  for(size_t i = 0; i < b->n_lits; i++)
    n_own += b->lits[i].n_owners;
  m->lit_len = calloc(b->n_lits + 1, sizeof(uint32_t));
  m->own_off = calloc(b->n_lits + 1, sizeof(uint32_t));
  m->owners = calloc(n_own + 1, sizeof(owner));
  if(!m->lit_len || !m->own_off || !m->owners)
    return -ENOMEM;
  m->n_lits = (uint32_t)b->n_lits;
  size_t o = 0;
  for(size_t i = 0; i < b->n_lits; i++) {
    m->lit_len[i] = (uint32_t)b->lits[i].len;
    m->own_off[i] = (uint32_t)o;
    memcpy(m->owners + o, b->lits[i].owners,
           b->lits[i].n_owners * sizeof(owner));
    o += b->lits[i].n_owners;
  }
  m->own_off[b->n_lits] = (uint32_t)o;
  return 0;
}

/* Notes the regex's uses (one note per owner, so each names its set). */
static int note_owners(const qw_matcher_builder *b, const qw_matcher *m,
                       uint32_t rx, char ***notes, size_t *n_notes,
                       size_t *cap_notes, const char *why)
{
  const mrx *x = &m->rx[rx];
  for(uint32_t o = 0; o < x->n_own; o++) {
    const owner *ow = &m->rx_owners[x->own_off + o];
    int r = add_note(notes, n_notes, cap_notes, b->sets[ow->set].name,
                     ow->code, why);
    if(r)
      return r;
  }
  return 0;
}

/* Per set, the lazy regexes owned by it. */
static int build_lazy(const qw_matcher_builder *b, qw_matcher *m)
{
  m->lazy_off = calloc(b->n_sets + 1, sizeof(uint32_t));
  if(!m->lazy_off)
    return -ENOMEM;
  size_t total = 0;
  for(uint32_t i = 0; i < m->n_rx; i++)
    if(m->rx[i].mode == RX_LAZY)
      for(uint32_t o = 0; o < m->rx[i].n_own; o++) {
        m->lazy_off[m->rx_owners[m->rx[i].own_off + o].set + 1]++;
        total++;
      }
  for(size_t k = 0; k < b->n_sets; k++)
    m->lazy_off[k + 1] += m->lazy_off[k];
  m->lazy = calloc(total + 1, sizeof(uint32_t));
  uint32_t *fill = calloc(b->n_sets + 1, sizeof(uint32_t));
  if(!m->lazy || !fill) {
    free(fill);
    return -ENOMEM;
  }
  for(uint32_t i = 0; i < m->n_rx; i++)
    if(m->rx[i].mode == RX_LAZY)
      for(uint32_t o = 0; o < m->rx[i].n_own; o++) {
        uint32_t set = m->rx_owners[m->rx[i].own_off + o].set;
        /* a set listing the same pattern twice runs it once */
        uint32_t k = m->lazy_off[set];
        while(k < m->lazy_off[set] + fill[set] && m->lazy[k] != i)
          k++;
        if(k == m->lazy_off[set] + fill[set])
          m->lazy[m->lazy_off[set] + fill[set]++] = i;
      }
  /* compact away the duplicate slots */
  uint32_t w = 0;
  for(size_t k = 0; k < b->n_sets; k++) {
    uint32_t from = m->lazy_off[k], n = fill[k];
    m->lazy_off[k] = w;
    memmove(m->lazy + w, m->lazy + from, n * sizeof(uint32_t));
    w += n;
  }
  m->lazy_off[b->n_sets] = w;
  free(fill);
  return 0;
}

/* b[0..n) as "\xHH…" for Hyperscan (malloc'd), or NULL. */
static char *hex_escape(const char *b, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  char *e = malloc(n * 4 + 1);
  if(!e)
    return NULL;
  for(size_t k = 0; k < n; k++) {
    unsigned char ch = (unsigned char)b[k];
    char *d = e + k * 4;
    d[0] = '\\';
    d[1] = 'x';
    d[2] = hex[ch >> 4];
    d[3] = hex[ch & 15];
  }
  e[n * 4] = '\0';
  return e;
}

/* Sets the partner table's bit for a string whose bytes 1 and 2 are b1
 * and b2, for both cases of an ASCII letter. */
/* c in its other case when it is an ASCII letter and alt, else c. */
static unsigned char case_variant(unsigned char c, int alt)
{
  return alt && (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? c ^ 0x20 : c;
}

static void part_tab_set(uint8_t *tab, unsigned char b1, unsigned char b2)
{
  for(int v = 0; v < 4; v++)
    tab[case_variant(b2, v & 2) & 63] |=
      (uint8_t)(1u << (case_variant(b1, v & 1) & 7));
}

/* w with 0x20 or-ed into each byte 'A'..'Z' (ASCII lower case). */
static inline uint64_t fold_word(uint64_t w)
{
  uint64_t hi = w & 0x8080808080808080ull;
  uint64_t v = w & ~0x8080808080808080ull;
  uint64_t ge_a = (v + 0x3F3F3F3F3F3F3F3Full) & ~hi; /* >= 'A' */
  uint64_t gt_z = (v + 0x2525252525252525ull) & ~hi; /* > 'Z' */
  return w | ((ge_a & ~gt_z) & 0x8080808080808080ull) >> 2;
}

/* The (up to) 8 bytes at t[p] (the text has len bytes, 0 after them),
 * ASCII letters lower-cased: a partner string as the check compares it,
 * and the text at a candidate. */
static inline uint64_t folded_at(const char *t, size_t p, size_t len)
{
  uint64_t w = 0;
  if(len - p >= 8)
    memcpy(&w, t + p, 8); /* one load */
  else
    for(size_t k = 0; k < len - p; k++)
      w |= (uint64_t)(unsigned char)t[p + k] << (8 * k);
  return fold_word(w);
}

/* A regex's partner strings take a multiple of 8 entries (the vector
 * compare takes 8). */
#define PART_PAD(n) (((n) + 7) / 8 * 8)

/* Adds the partner set of an (anchors.h) to regex x: strings holding '\n'
 * are left out (no block-local match holds one); none left, no check. The
 * strings have at least MIN_ANCHOR_BYTES (3) bytes, as the filter needs. */
static int add_partners(qw_matcher *m, mrx *x, const qw_anchors *an)
{
  x->n_part = 0;
  x->part_after = an->partner_after;
  memset(x->part_tab, 0, sizeof(x->part_tab));
  if(!an->n_partner)
    return 0;
  size_t room = m->n_part + PART_PAD(an->n_partner);
  uint64_t *w = realloc(m->part_w, room * sizeof(*w));
  if(w)
    m->part_w = w;
  uint64_t *mk = realloc(m->part_m, room * sizeof(*mk));
  if(mk)
    m->part_m = mk;
  uint32_t *ln = realloc(m->part_len, room * sizeof(*ln));
  if(ln)
    m->part_len = ln;
  if(!w || !mk || !ln)
    return -ENOMEM;
  x->part_off = m->n_part;
  for(size_t k = 0; k < an->n_partner; k++) {
    const char *s = an->plit[k];
    size_t n = an->plen[k];
    if(memchr(s, '\n', n))
      continue;
    size_t q = m->n_part + x->n_part++;
    m->part_w[q] = folded_at(s, 0, n);
    m->part_m[q] = n >= 8 ? ~0ull : (1ull << (8 * n)) - 1;
    m->part_len[q] = (uint32_t)n;
    part_tab_set(x->part_tab, (unsigned char)s[1], (unsigned char)s[2]);
  }
  if(!x->n_part)
    return 0;
  size_t end = m->n_part + PART_PAD(x->n_part);
  for(size_t q = m->n_part + x->n_part; q < end; q++) {
    m->part_w[q] = ~0ull; /* mask 0: never equal */
    m->part_m[q] = 0;
    m->part_len[q] = 0;
  }
  m->n_part = (uint32_t)end;
  return 0;
}

/* Gives every regex that has literal anchors (anchors.h) the RX_ANCHORED
 * mode, and fills m->anchor_rx / anchor_len and, per anchor, its bytes,
 * its escaped form and its Hyperscan flags (*raw, *esc, *flags: n_anchors
 * entries). An anchor holding '\n' is left out: a match is never longer
 * than its block. */
static int build_anchors(const qw_matcher_builder *b, qw_matcher *m,
                         char ***raw, char ***esc, unsigned **flags)
{
  size_t cap = 0, n = 0;
  *raw = NULL;
  *esc = NULL;
  *flags = NULL;
  for(uint32_t i = 0; i < m->n_rx; i++) {
    mrx *x = &m->rx[i];
    if(x->mode != RX_PREFILTER && x->mode != RX_LAZY)
      continue;
    qw_anchors an;
    int r = qw_anchors_find(b->rx[i].text, MIN_ANCHOR_BYTES, &an);
    if(r == -ENOMEM)
      return r;
    if(r) {
      /* no anchors: a run of digits, else Hyperscan prefilters the
       * pattern itself */
      if(x->mode == RX_PREFILTER && an.digit_run >= MIN_DIGIT_RUN) {
        x->mode = RX_DIGITS;
        x->max_len = an.max_len;
        x->digit_run = an.digit_run > UINT32_MAX ? UINT32_MAX :
                       (uint32_t)an.digit_run;
      }
      continue;
    }
    if(n + an.n > cap) {
      size_t ncap = (n + an.n) * 2;
      uint32_t *arx = realloc(m->anchor_rx, ncap * sizeof(*arx));
      if(arx)
        m->anchor_rx = arx;
      uint8_t *alen = realloc(m->anchor_len, ncap * sizeof(*alen));
      if(alen)
        m->anchor_len = alen;
      char **e = realloc(*esc, ncap * sizeof(*e));
      if(e)
        *esc = e;
      char **w = realloc(*raw, ncap * sizeof(*w));
      if(w)
        *raw = w;
      unsigned *f = realloc(*flags, ncap * sizeof(*f));
      if(f)
        *flags = f;
      if(!arx || !alen || !e || !w || !f) {
        qw_anchors_free(&an);
        return -ENOMEM;
      }
      cap = ncap;
    }
    for(size_t k = 0; k < an.n; k++) {
      if(memchr(an.lit[k], '\n', an.len[k]))
        continue;
      char *e = hex_escape(an.lit[k], an.len[k]);
      char *w = xstrndup(an.lit[k], an.len[k]);
      if(!e || !w) {
        free(e);
        free(w);
        qw_anchors_free(&an);
        return -ENOMEM;
      }
      unsigned f = 0;
      for(size_t j = 0; j < an.len[k]; j++)
        if(((an.lit[k][j] | 0x20) >= 'a' && (an.lit[k][j] | 0x20) <= 'z'))
          f = HS_FLAG_CASELESS;
      (*esc)[n] = e;
      (*raw)[n] = w;
      (*flags)[n] = f;
      m->anchor_rx[n] = i;
      m->anchor_len[n] = (uint8_t)an.len[k];
      m->n_anchors = (uint32_t)++n;
    }
    x->mode = RX_ANCHORED;
    x->max_len = an.max_len;
    r = add_partners(m, x, &an);
    qw_anchors_free(&an);
    if(r)
      return r;
  }
  return 0;
}

/* Builds m->ls from the literals and anchors qw_litscan takes, and frees
 * their escaped forms (esc[i], aesc[k]) so that they stay out of the
 * Hyperscan database. Ids are those of the database: literal i is i,
 * anchor k is n_lits + n_rx + k. */
static int build_litscan(const qw_matcher_builder *b, qw_matcher *m,
                         char **esc, char **aesc, char *const *araw,
                         const unsigned *aflags)
{
  size_t cap = b->n_lits + m->n_anchors + 1, n = 0;
  const char **lits = calloc(cap, sizeof(*lits));
  size_t *lens = calloc(cap, sizeof(*lens));
  unsigned *ids = calloc(cap, sizeof(*ids));
  unsigned *flags = calloc(cap, sizeof(*flags));
  int r = 0;
  if(!lits || !lens || !ids || !flags) {
    r = -ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < b->n_lits; i++) {
    const blit *l = &b->lits[i];
    if(!esc[i] || !qw_litscan_accepts(l->s, l->len))
      continue;
    lits[n] = l->s;
    lens[n] = l->len;
    ids[n] = (unsigned)i;
    flags[n++] = 0;
  }
  for(uint32_t k = 0; k < m->n_anchors; k++) {
    if(!aesc[k] || !qw_litscan_accepts(araw[k], m->anchor_len[k]))
      continue;
    lits[n] = araw[k];
    lens[n] = m->anchor_len[k];
    ids[n] = (unsigned)(b->n_lits + b->n_rx + k);
    flags[n++] = (aflags[k] & HS_FLAG_CASELESS) ? QW_LITSCAN_CASELESS : 0;
  }
  r = qw_litscan_build(lits, lens, ids, flags, n, &m->ls);
  if(r)
    goto out;
  for(size_t k = 0; k < n; k++) {
    if(ids[k] < b->n_lits) {
      free(esc[ids[k]]);
      esc[ids[k]] = NULL;
    }
    else {
      size_t a = ids[k] - b->n_lits - b->n_rx;
      free(aesc[a]);
      aesc[a] = NULL;
    }
  }
out:
  free(lits);
  free(lens);
  free(ids);
  free(flags);
  return r;
}

static int build_regexes(const qw_matcher_builder *b, qw_matcher *m,
                         char ***notes, size_t *n_notes, size_t *cap_notes,
                         char *err, size_t errlen)
{
  size_t n_own = 0;
  for(size_t i = 0; i < b->n_rx; i++)
    n_own += b->rx[i].n_owners;
  m->rx = calloc(b->n_rx + 1, sizeof(mrx));
  m->rx_owners = calloc(n_own + 1, sizeof(owner));
  m->always = calloc(b->n_rx + 1, sizeof(uint32_t));
  m->digit_rx = calloc(b->n_rx + 1, sizeof(uint32_t));
  const char **all = NULL;
  unsigned *all_ids = NULL, *all_flags = NULL;
  char **esc = NULL;
  char **aesc = NULL;   /* the anchors, escaped */
  char **araw = NULL;   /* and as they are */
  unsigned *aflags = NULL;
  qw_buf *bytes = NULL; /* byte-mode supersets, empty = use the original */
  int r = 0;
  if(!m->rx || !m->rx_owners || !m->always || !m->digit_rx) {
    r = -ENOMEM;
    goto out;
  }
  size_t o = 0;
  for(size_t i = 0; i < b->n_rx; i++) {
    const brx *bx = &b->rx[i];
    mrx *x = &m->rx[i];
    x->code = pcre2_code_copy(bx->code);
    if(!x->code) {
      r = -ENOMEM;
      goto out;
    }
    m->n_rx = (uint32_t)i + 1;
    x->own_off = (uint32_t)o;
    x->n_own = (uint32_t)bx->n_owners;
    memcpy(m->rx_owners + o, bx->owners, bx->n_owners * sizeof(owner));
    o += bx->n_owners;
    /* No JIT (unsupported CPU, W^X policy) falls back to the interpreter. */
    (void)pcre2_jit_compile(x->code, PCRE2_JIT_COMPLETE);
    int positive = 0;
    for(size_t k = 0; k < bx->n_owners; k++)
      if(!(bx->owners[k].code & EXC_BIT))
        positive = 1;
    if(!positive)
      x->mode = RX_LAZY;
    else if(has_subject_anchor(bx->text)) {
      x->mode = RX_ALWAYS;
      r = note_owners(b, m, (uint32_t)i, notes, n_notes, cap_notes,
                      "uses \\A, \\z, \\Z or \\G: no prefilter, runs "
                      "PCRE2 on every block");
      if(r)
        goto out;
    }
  }
  r = build_anchors(b, m, &araw, &aesc, &aflags);
  if(r)
    goto out;
  /* One database: every literal and anchor the literal scanner does not
   * take (hex-escaped, matched as bytes) and every prefilter pattern. A
   * pattern Hyperscan rejects is taken out and runs without prefilter. A literal containing '\n' could
   * only give hits that span blocks, which never count: it stays out. */
  size_t n_ex = b->n_lits + b->n_rx + m->n_anchors;
  all = calloc(n_ex + 1, sizeof(*all));
  all_ids = calloc(n_ex + 1, sizeof(*all_ids));
  all_flags = calloc(n_ex + 1, sizeof(*all_flags));
  esc = calloc(b->n_lits + 1, sizeof(*esc));
  bytes = calloc(b->n_rx + 1, sizeof(*bytes));
  if(!all || !all_ids || !all_flags || !esc || !bytes) {
    r = -ENOMEM;
    goto out;
  }
  for(size_t i = 0; i < b->n_rx; i++) {
    if(m->rx[i].mode == RX_PREFILTER &&
       qw_hs_byte_superset(b->rx[i].text, &bytes[i]) == -ENOMEM) {
      r = -ENOMEM;
      goto out;
    }
  }
  for(size_t i = 0; i < b->n_lits; i++) {
    const blit *l = &b->lits[i];
    if(memchr(l->s, '\n', l->len))
      continue;
    esc[i] = hex_escape(l->s, l->len);
    if(!esc[i]) {
      r = -ENOMEM;
      goto out;
    }
  }
  r = build_litscan(b, m, esc, aesc, araw, aflags);
  if(r)
    goto out;
  for(;;) {
    size_t k = 0;
    for(size_t i = 0; i < b->n_lits; i++) {
      if(!esc[i])
        continue;
      all[k] = esc[i];
      all_ids[k] = (unsigned)i;
      all_flags[k] = 0;
      k++;
    }
    for(size_t i = 0; i < b->n_rx; i++) {
      if(m->rx[i].mode != RX_PREFILTER)
        continue;
      int byte_mode = bytes[i].len > 0;
      all[k] = byte_mode ? bytes[i].data : b->rx[i].text;
      all_ids[k] = (unsigned)(b->n_lits + i);
      all_flags[k] = byte_mode ? HS_BYTE_FLAGS : HS_RX_FLAGS;
      k++;
    }
    for(uint32_t i = 0; i < m->n_anchors; i++) {
      if(!aesc[i])
        continue;
      all[k] = aesc[i];
      all_ids[k] = (unsigned)(b->n_lits + b->n_rx + i);
      all_flags[k] = aflags[i];
      k++;
    }
    if(k == 0)
      break;
    hs_compile_error_t *ce = NULL;
    if(hs_compile_multi(all, all_flags, all_ids, (unsigned)k, HS_MODE_BLOCK,
                        NULL, &m->db, &ce) == HS_SUCCESS)
      break;
    if(!ce || ce->expression < 0 || (size_t)ce->expression >= k ||
       all_ids[ce->expression] < b->n_lits ||
       all_ids[ce->expression] >= b->n_lits + b->n_rx) {
      set_err(err, errlen, "keyword database",
              ce ? ce->message : "compile failed");
      hs_free_compile_error(ce);
      r = -EINVAL;
      goto out;
    }
    uint32_t bad = all_ids[ce->expression] - (uint32_t)b->n_lits;
    if(bytes[bad].len) {
      /* the byte form failed: the original in UTF-8 mode, then PCRE2 */
      qw_buf_free(&bytes[bad]);
      hs_free_compile_error(ce);
      continue;
    }
    m->rx[bad].mode = RX_ALWAYS;
    char why[320];
    snprintf(why, sizeof(why), "no prefilter (Hyperscan: %s), runs PCRE2 "
             "on every block", ce->message);
    hs_free_compile_error(ce);
    r = note_owners(b, m, bad, notes, n_notes, cap_notes, why);
    if(r)
      goto out;
  }
  for(uint32_t i = 0; i < m->n_rx; i++) {
    const mrx *x = &m->rx[i];
    if(x->mode == RX_ALWAYS)
      m->always[m->n_always++] = i;
    if(x->mode == RX_DIGITS) {
      m->digit_rx[m->n_digit_rx++] = i;
      if(!m->min_digit_run || x->digit_run < m->min_digit_run)
        m->min_digit_run = x->digit_run;
    }
  }
  r = build_lazy(b, m);
out:
  for(size_t i = 0; esc && i < b->n_lits; i++)
    free(esc[i]);
  free(esc);
  for(uint32_t i = 0; aesc && i < m->n_anchors; i++)
    free(aesc[i]);
  free(aesc);
  for(uint32_t i = 0; araw && i < m->n_anchors; i++)
    free(araw[i]);
  free(araw);
  free(aflags);
  for(size_t i = 0; bytes && i < b->n_rx; i++)
    qw_buf_free(&bytes[i]);
  free(bytes);
  free(all);
  free(all_ids);
  free(all_flags);
  return r;
}

int qw_matcher_build(qw_matcher_builder *b, qw_matcher **out, char ***notes,
                     size_t *n_notes, char *err, size_t errlen)
{
  if(err && errlen)
    err[0] = '\0';
  if(notes)
    *notes = NULL;
  if(n_notes)
    *n_notes = 0;
  if(!b || !out)
    return -EINVAL;
  *out = NULL;
  qw_matcher *m = calloc(1, sizeof(*m));
  if(!m)
    return -ENOMEM;
  m->simd = qw_cpu_avx512_vbmi2();
  size_t nn = 0, cap = 0;
  char **nv = NULL;
  int r = copy_sets(b, m);
  if(!r)
    r = build_literals(b, m);
  if(!r)
    r = build_regexes(b, m, notes ? &nv : NULL, &nn, &cap, err, errlen);
  if(r) {
    if(r == -ENOMEM && err && errlen && !err[0])
      snprintf(err, errlen, "out of memory");
    for(size_t i = 0; i < nn; i++)
      free(nv[i]);
    free(nv);
    qw_matcher_free(m);
    return r;
  }
  if(notes) {
    *notes = nv;
    if(n_notes)
      *n_notes = nn;
  }
  *out = m;
  return 0;
}

int qw_matcher_use_simd(qw_matcher *m, int on)
{
  if(!m)
    return 0;
  m->simd = on && qw_cpu_avx512_vbmi2();
  if(m->ls)
    qw_litscan_use_simd(m->ls, m->simd);
  return m->simd;
}

uint32_t qw_matcher_n_sets(const qw_matcher *m)
{
  return m ? m->n_sets : 0;
}

const char *qw_matcher_set_name(const qw_matcher *m, uint32_t set)
{
  if(!m || set >= m->n_sets)
    return NULL;
  return m->sets[set].name;
}

const char *qw_matcher_entry_text(const qw_matcher *m, uint32_t set,
                                  uint32_t entry)
{
  if(!m || set >= m->n_sets || entry >= m->sets[set].n_entries)
    return NULL;
  return m->sets[set].texts[entry];
}

/* ---- scratch ---------------------------------------------------------- */

void qw_match_scratch_free(qw_match_scratch *s)
{
  if(!s)
    return;
  hs_free_scratch(s->hs);
  pcre2_match_data_free(s->md);
  pcre2_match_context_free(s->mc);
  pcre2_jit_stack_free(s->js);
  free(s->c);
  free(s->x);
  free(s->t);
  free(s->sel);
  free(s->w);
  free(s->ah);
  free(s->rs);
  free(s->cnt);
  free(s);
}

qw_match_scratch *qw_match_scratch_new(const qw_matcher *m)
{
  if(!m)
    return NULL;
  qw_match_scratch *s = calloc(1, sizeof(*s));
  if(!s)
    return NULL;
  s->m = m;
  if(m->db && hs_alloc_scratch(m->db, &s->hs) != HS_SUCCESS)
    goto fail;
  s->md = pcre2_match_data_create(1, NULL);
  s->mc = pcre2_match_context_create(NULL);
  s->js = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
  s->rs = calloc(m->n_rx ? m->n_rx : 1, sizeof(rxstate));
  s->cnt = calloc((m->n_sets > m->n_rx ? m->n_sets : m->n_rx) + 1,
                  sizeof(size_t));
  if(!s->md || !s->mc || !s->js || !s->rs || !s->cnt)
    goto fail;
  pcre2_set_match_limit(s->mc, MATCH_LIMIT);
  pcre2_set_depth_limit(s->mc, DEPTH_LIMIT);
  pcre2_set_heap_limit(s->mc, HEAP_LIMIT_KIB);
  pcre2_jit_stack_assign(s->mc, NULL, s->js);
  return s;
fail:
  qw_match_scratch_free(s);
  return NULL;
}

void qw_match_scratch_limits(qw_match_scratch *s, unsigned long match_limit,
                             unsigned long heap_kib)
{
  if(match_limit)
    pcre2_set_match_limit(s->mc, match_limit > UINT32_MAX ? UINT32_MAX :
                                 (uint32_t)match_limit);
  if(heap_kib)
    pcre2_set_heap_limit(s->mc, heap_kib > UINT32_MAX ? UINT32_MAX :
                                (uint32_t)heap_kib);
}

/* ---- scan ------------------------------------------------------------- */

static inline int want_set(const uint8_t *sets, uint32_t set)
{
  return !sets || ((sets[set >> 3] >> (set & 7)) & 1);
}

static inline int push_cand(cand **v, size_t *n, size_t *cap, uint32_t set,
                            uint32_t code, size_t start, size_t end)
{
  if(*n == *cap &&
     qw_grow((void **)v, cap, *n + 1, sizeof(cand)))
    return -ENOMEM;
  cand *c = &(*v)[(*n)++];
  c->set = set;
  c->code = code;
  c->start = (uint32_t)start;
  c->end = (uint32_t)end;
  return 0;
}

static int push_hit(qw_match_scratch *s, uint32_t set, uint32_t code,
                    size_t start, size_t end)
{
  if(code & EXC_BIT)
    return push_cand(&s->x, &s->nx, &s->cap_x, set, code & ~EXC_BIT, start,
                     end);
  return push_cand(&s->c, &s->nc, &s->cap_c, set, code, start, end);
}

static int lit_cb(unsigned id, unsigned long long from, unsigned long long to,
                  unsigned flags, void *ctx)
{
  (void)from;
  (void)flags;
  qw_match_scratch *s = ctx;
  const qw_matcher *m = s->m;
  size_t end = s->base + (size_t)to;
  size_t start = end - m->lit_len[id];
  for(uint32_t o = m->own_off[id]; o < m->own_off[id + 1]; o++) {
    const owner *ow = &m->owners[o];
    if(!want_set(s->sets, ow->set))
      continue;
    if(push_hit(s, ow->set, ow->code, start, end)) {
      s->err = -ENOMEM;
      return 1;
    }
  }
  return 0;
}

/* 1 when one of the regex's owners is a wanted set. */
static int rx_wanted(const qw_matcher *m, const uint8_t *sets,
                     const mrx *x)
{
  if(!sets)
    return 1;
  for(uint32_t o = 0; o < x->n_own; o++)
    if(want_set(sets, m->rx_owners[x->own_off + o].set))
      return 1;
  return 0;
}

/* The '\n'-free block of the text around text[from..to), which holds no
 * '\n': [*bs, *be). */
static void block_around(const qw_match_scratch *s, size_t from, size_t to,
                         size_t *bs, size_t *be)
{
  const char *t = s->text;
  const char *p = from ? memrchr(t, '\n', from) : NULL;
  *bs = p ? (size_t)(p - t) + 1 : 0;
  const char *q = memchr(t + to, '\n', s->len - to);
  *be = q ? (size_t)(q - t) : s->len;
}

/* Regex rx's state for the current scan (reset at the scan's first use). */
static rxstate *rx_state(qw_match_scratch *s, uint32_t rx)
{
  rxstate *st = &s->rs[rx];
  if(st->gen != s->gen) {
    st->gen = s->gen;
    st->start = st->end = 0;
    st->stopped = 0;
  }
  return st;
}

/* Queues the block around end offset `end` for a PCRE2 run of regex rx,
 * unless it is already queued. */
static int queue_block(qw_match_scratch *s, uint32_t rx, size_t end)
{
  rxstate *st = rx_state(s, rx);
  if(end > st->start && end <= st->end)
    return 0;
  if(s->text[end - 1] == '\n')
    return 0; /* ends on a separator: not a block-local match */
  size_t bs, be;
  block_around(s, end - 1, end, &bs, &be);
  st->start = (uint32_t)bs;
  st->end = (uint32_t)be;
  if(s->nw == s->cap_w &&
     qw_grow((void **)&s->w, &s->cap_w, s->nw + 1, sizeof(work)))
    return -ENOMEM;
  work *w = &s->w[s->nw++];
  w->rx = rx;
  w->start = (uint32_t)bs;
  w->end = (uint32_t)be;
  return 0;
}

static int rx_cb(unsigned id, unsigned long long from, unsigned long long to,
                 unsigned flags, void *ctx)
{
  (void)from;
  (void)flags;
  qw_match_scratch *s = ctx;
  const qw_matcher *m = s->m;
  size_t end = s->base + (size_t)to;
  if(end == 0 || !rx_wanted(m, s->sets, &m->rx[id]))
    return 0;
  if(queue_block(s, id, end)) {
    s->err = -ENOMEM;
    return 1;
  }
  return 0;
}

/* An anchor of an RX_ANCHORED regex: noted, confirmed after the chunk's
 * scan (confirm_anchored()). */
static int anchor_cb(unsigned k, unsigned long long to, void *ctx)
{
  qw_match_scratch *s = ctx;
  const qw_matcher *m = s->m;
  uint32_t rx = m->anchor_rx[k];
  if(!rx_wanted(m, s->sets, &m->rx[rx]))
    return 0;
  size_t end = s->base + (size_t)to;
  if(push_cand(&s->ah, &s->nah, &s->cap_ah, rx,
               (uint32_t)(end - m->anchor_len[k]), end, 0)) {
    s->err = -ENOMEM;
    return 1;
  }
  return 0;
}

static int db_cb(unsigned id, unsigned long long from,
                 unsigned long long to, unsigned flags, void *ctx)
{
  const qw_match_scratch *s = ctx;
  const qw_matcher *m = s->m;
  if(id < m->n_lits)
    return lit_cb(id, from, to, flags, ctx);
  if(id < m->n_lits + m->n_rx)
    return rx_cb(id - m->n_lits, from, to, flags, ctx);
  return anchor_cb(id - m->n_lits - m->n_rx, to, ctx);
}

#if QW_CPU_X86_64
/* digit_mask() with one (masked) 64-byte load. */
__attribute__((target("avx512f,avx512bw")))
static uint64_t digit_mask_avx512(const char *t, size_t i, size_t n)
{
  __mmask64 lanes = n - i >= 64 ? ~0ull : (1ull << (n - i)) - 1;
  __m512i v = _mm512_maskz_loadu_epi8(lanes, t + i);
  return _mm512_mask_cmple_epu8_mask(
    lanes, _mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(9));
}
#endif

/* Bit k set when t[i + k] is an ASCII digit, for k < 64 and i + k < n
 * (i < n). */
static uint64_t digit_mask(const qw_matcher *mt, const char *t, size_t i,
                           size_t n)
{
#if QW_CPU_X86_64
  if(mt->simd)
    return digit_mask_avx512(t, i, n);
#else
  (void)mt;
#endif
  uint64_t m = 0;
#ifdef __SSE2__
  if(n - i >= 64) {
    /* '0'..'9' + 0x50 are the only bytes below -118 as int8 */
    const __m128i bias = _mm_set1_epi8(0x50);
    const __m128i lim = _mm_set1_epi8((char)(-128 + 10));
    for(int q = 0; q < 4; q++) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)
                                  (t + i + 16 * q));
      uint64_t mk = (uint16_t)_mm_movemask_epi8(
        _mm_cmplt_epi8(_mm_add_epi8(v, bias), lim));
      m |= mk << (16 * q);
    }
    return m;
  }
#endif
  for(size_t k = 0; k < 64 && i + k < n; k++)
    if(t[i + k] >= '0' && t[i + k] <= '9')
      m |= 1ull << k;
  return m;
}

/* Every run of ASCII digits in text[from..to) long enough for an RX_DIGITS
 * regex becomes an anchor hit of it: a match holding `run` consecutive
 * digits of the run [rs, re) holds [x, x + run) for some x in
 * [rs, re - run], so it starts at or before re - run and ends at or after
 * rs + run, which is what confirm_anchored() takes from an anchor. The
 * runs are found 64 bytes at a time: a bit mask of the digits, and of the
 * positions followed by the shortest run wanted. */
static int digit_anchors(qw_match_scratch *s, size_t from, size_t to)
{
  const qw_matcher *m = s->m;
  const char *t = s->text;
  unsigned k = m->min_digit_run < 64 ? m->min_digit_run : 64;
  size_t done = from; /* positions before it are in a run already seen */
  uint64_t cur = from < to ? digit_mask(m, t, from, to) : 0;
  for(size_t i = from; i < to; i += 64) {
    uint64_t next = to - i > 64 ? digit_mask(m, t, i + 64, to) : 0;
    /* r: the positions followed by k digits, by doubling: bit p of
     * (lo, hi) says "p .. p + have - 1 are digits"; k <= 64 keeps the low
     * 64 bits exact */
    uint64_t lo = cur, hi = next;
    for(unsigned have = 1; have < k;) {
      unsigned sh = have * 2 <= k ? have : k - have;
      lo &= (lo >> sh) | (hi << (64 - sh));
      hi &= hi >> sh;
      have += sh;
    }
    uint64_t r = lo;
    while(r) {
      size_t rs = i + (size_t)__builtin_ctzll(r);
      r &= r - 1;
      if(rs < done)
        continue;
      size_t re = rs + k;
      while(re < to && t[re] >= '0' && t[re] <= '9')
        re++;
      done = re;
      for(uint32_t d = 0; d < m->n_digit_rx; d++) {
        uint32_t rx = m->digit_rx[d];
        const mrx *x = &m->rx[rx];
        if(re - rs < x->digit_run || !rx_wanted(m, s->sets, x))
          continue;
        if(push_cand(&s->ah, &s->nah, &s->cap_ah, rx,
                     (uint32_t)(re - x->digit_run), rs + x->digit_run, 0))
          return -ENOMEM;
      }
    }
    cur = next;
  }
  return 0;
}

/* A literal or anchor found by m->ls (ids as in the database). */
static int ls_cb(unsigned id, size_t end, void *ctx)
{
  return db_cb(id, 0, end, 0, ctx);
}

/* The error of a failed pcre2_match() (rc < 0, not "no match"): -ETIME
 * for a limit, -ENOMEM, else -EIO. The entry is stopped for this scan. */
static int match_error(rxstate *st, int rc)
{
  st->stopped = 1;
  if(rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
     rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
    return -ETIME;
  return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EIO;
}

/* Records text[start..end) as a hit of every wanted owner of regex x. */
static int push_owners(qw_match_scratch *s, const mrx *x, size_t start,
                       size_t end)
{
  for(uint32_t o = 0; o < x->n_own; o++) {
    const owner *ow = &s->m->rx_owners[x->own_off + o];
    if(want_set(s->sets, ow->set) &&
       push_hit(s, ow->set, ow->code, start, end))
      return -ENOMEM;
  }
  return 0;
}

/* Runs regex rx over the block text[bs..be) and records every non-empty
 * match (standard global iteration). Returns 0, -ETIME (limit: the entry is
 * stopped for this scan), -ENOMEM or -EIO. */
static int run_block(qw_match_scratch *s, uint32_t rx, size_t bs, size_t be)
{
  const mrx *x = &s->m->rx[rx];
  rxstate *st = rx_state(s, rx);
  if(st->stopped)
    return 0;
  PCRE2_SPTR subj = (PCRE2_SPTR)(s->text + bs);
  size_t sl = be - bs, off = 0;
  uint32_t opts = 0;
  pcre2_set_offset_limit(s->mc, PCRE2_UNSET);
  for(;;) {
    int rc = pcre2_match(x->code, subj, sl, off, opts, s->md, s->mc);
    if(rc == PCRE2_ERROR_NOMATCH) {
      if(!opts || off >= sl)
        break;
      /* No non-empty match at the empty match's position: step on by one
       * character. */
      opts = 0;
      off++;
      while(off < sl && (subj[off] & 0xC0) == 0x80)
        off++;
      continue;
    }
    if(rc < 0)
      return match_error(st, rc);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t ms = ov[0], me = ov[1];
    if(me > ms && me <= sl && push_owners(s, x, bs + ms, bs + me))
      return -ENOMEM;
    if(me < ms || me > sl)
      break; /* \K oddities: stop rather than loop */
    off = me;
    opts = (me == ms) ? (PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED) : 0;
    if(me == ms && me >= sl)
      break;
  }
  return 0;
}

/* Merges the ascending runs (by start) of src[0..n) pairwise into dst,
 * stable, until one run is left; returns the array that holds it (src or
 * dst). */
static cand *merge_runs(cand *src, cand *dst, size_t n)
{
  for(;;) {
    size_t i = 0;
    while(i < n) {
      size_t m = i + 1;
      while(m < n && src[m - 1].start <= src[m].start)
        m++;
      if(m == n) {
        if(i == 0)
          return src; /* one run: sorted */
        memcpy(dst + i, src + i, (n - i) * sizeof(cand));
        break;
      }
      size_t e = m + 1;
      while(e < n && src[e - 1].start <= src[e].start)
        e++;
      size_t a = i, b = m, o = i;
      while(a < m && b < e)
        dst[o++] = src[b].start < src[a].start ? src[b++] : src[a++];
      while(a < m)
        dst[o++] = src[a++];
      while(b < e)
        dst[o++] = src[b++];
      i = e;
    }
    cand *t = src;
    src = dst;
    dst = t;
  }
}

/* Sorts v[0..n) by (set, start), stable, where every set is below nkeys
 * (n_sets or n_rx); tmp has room for n entries. Returns the sorted array
 * (v or tmp). The candidates are grouped by set with one counting pass;
 * within a set they arrive as a few ascending runs (the literal scanner's
 * reports, Hyperscan's, each regex's matches), which are merged
 * (merge_runs()); a group in reverse order costs log2 of its size
 * passes. Measured on the bench corpus (pack + 2,000 terms, ~2,200
 * candidates a page), alternating builds: the whole scan takes 0.937 of
 * the time it took with an LSD radix sort on the bytes of (set, start). */
static cand *sort_cands(qw_match_scratch *s, cand *v, cand *tmp, size_t n,
                        uint32_t nkeys)
{
  if(n < 2)
    return v;
  size_t *cnt = s->cnt;
  memset(cnt, 0, ((size_t)nkeys + 1) * sizeof(*cnt));
  for(size_t i = 0; i < n; i++)
    cnt[v[i].set + 1]++;
  for(uint32_t k = 0; k < nkeys; k++)
    cnt[k + 1] += cnt[k];
  /* cnt[k]: where group k starts; after the scatter, where it ends */
  for(size_t i = 0; i < n; i++)
    tmp[cnt[v[i].set]++] = v[i];
  size_t b = 0;
  for(uint32_t k = 0; k < nkeys && b < n; k++) {
    size_t e = cnt[k];
    if(e - b > 1) {
      cand *r = merge_runs(tmp + b, v + b, e - b);
      if(r != tmp + b)
        memcpy(tmp + b, r, (e - b) * sizeof(cand));
    }
    b = e;
  }
  return tmp;
}

static int is_clause_end(uint32_t cp)
{
  switch(cp) {
  case '\n': case ',': case ';': case '!': case '?':
  case 0xFF0C: case 0x3002: case 0xFF1B: case 0xFF01: case 0xFF1F:
    return 1;
  default:
    return 0;
  }
}

/* Two-character negators (every other negator of matcher.h contains 不). */
static const uint32_t negator2[][2] = {
  {0x65E0, 0x6CD5}, /* 无法 */
  {0x5E76, 0x975E}, /* 并非 */
  {0x6CA1, 0x6709}, /* 没有 */
  {0x7981, 0x6B62}, /* 禁止 */
  {0x4E25, 0x7981}, /* 严禁 */
  {0x8BF7, 0x52FF}, /* 请勿 */
  {0x5207, 0x52FF}, /* 切勿 */
  {0x907F, 0x514D}, /* 避免 */
  {0x9632, 0x6B62}, /* 防止 */
};

/* 1 when the win characters before t[start] (stopping at a clause end)
 * contain a negator. */
static int negated(const char *t, size_t start, unsigned win)
{
  size_t p = start;
  uint32_t next = 0;
  for(unsigned k = 0; k < win && p > 0; k++) {
    size_t q = p - 1;
    while(q > 0 && ((unsigned char)t[q] & 0xC0) == 0x80 && p - q < 4)
      q--;
    size_t i = q;
    uint32_t cp = qw_utf8_next(t, p, &i);
    if(i != p) {
      /* not a clean sequence ending at p: step back one byte */
      q = p - 1;
      cp = 0xFFFD;
    }
    if(is_clause_end(cp))
      return 0;
    if(cp == 0x4E0D) /* 不 */
      return 1;
    for(size_t n = 0; n < sizeof(negator2) / sizeof(negator2[0]); n++)
      if(negator2[n][0] == cp && negator2[n][1] == next)
        return 1;
    next = cp;
    p = q;
  }
  return 0;
}

/* Sorts s->c or s->x (which = 0 or 1) by (set, start) using s->t as the
 * second buffer; the vectors keep their own storage. */
static int sort_vec(qw_match_scratch *s, int which)
{
  cand **v = which ? &s->x : &s->c;
  size_t n = which ? s->nx : s->nc;
  size_t *cap = which ? &s->cap_x : &s->cap_c;
  if(n < 2)
    return 0;
  if(n > s->cap_t && qw_grow((void **)&s->t, &s->cap_t, n, sizeof(cand)))
    return -ENOMEM;
  cand *sorted = sort_cands(s, *v, s->t, n, s->m->n_sets);
  if(sorted == s->t) {
    s->t = *v;
    *v = sorted;
    size_t k = s->cap_t;
    s->cap_t = *cap;
    *cap = k;
  }
  return 0;
}

/* 1 when a partner string of regex x (ASCII letters in any case; its
 * first 8 bytes, for a longer one) starts at t[p] and ends by to; the
 * text has len bytes. */
static int partner_at(const qw_matcher *m, const mrx *x, const char *t,
                      size_t p, size_t to, size_t len)
{
  uint64_t w = folded_at(t, p, len);
  const uint64_t *pw = m->part_w + x->part_off, *pm = m->part_m + x->part_off;
  const uint32_t *pl = m->part_len + x->part_off;
  for(uint32_t k = 0; k < x->n_part; k++)
    if((w & pm[k]) == pw[k] && p + pl[k] <= to)
      return 1;
  return 0;
}

#if QW_CPU_X86_64
/* partner_in() 64 positions at a time: the character starts whose bytes
 * 1 and 2 pass the table, found with two byte permutations. */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static int partner_in_avx512(const qw_matcher *m, const mrx *x,
                             const char *t, size_t from, size_t to,
                             size_t len)
{
  const __m512i tab = _mm512_loadu_si512((const void *)x->part_tab);
  const __m512i bitsel = _mm512_set1_epi64(0x8040201008040201ll);
  const __m512i lim = _mm512_set1_epi8((char)0xBF);
  for(size_t p = from; p + 3 <= to; p += 64) {
    size_t n = to - p - 2; /* positions p + i, i < n, have 3 bytes */
    __mmask64 lanes = n >= 64 ? ~0ull : (1ull << n) - 1;
    __m512i v0, v1, v2;
    if(len - p >= 66) {
      /* the text goes on: whole loads, the lanes masked below */
      v0 = _mm512_loadu_si512((const void *)(t + p));
      v1 = _mm512_loadu_si512((const void *)(t + p + 1));
      v2 = _mm512_loadu_si512((const void *)(t + p + 2));
    }
    else {
      v0 = _mm512_maskz_loadu_epi8(lanes, t + p);
      v1 = _mm512_maskz_loadu_epi8(lanes, t + p + 1);
      v2 = _mm512_maskz_loadu_epi8(lanes, t + p + 2);
    }
    __mmask64 st = _mm512_cmpgt_epi8_mask(v0, lim) & lanes;
    __m512i row = _mm512_permutexvar_epi8(v2, tab);   /* tab[b2 & 63] */
    __m512i bit = _mm512_permutexvar_epi8(v1, bitsel); /* 1 << (b1 & 7) */
    uint64_t c = _mm512_mask_test_epi8_mask(st, row, bit);
    while(c) {
      size_t i = (size_t)__builtin_ctzll(c);
      c &= c - 1;
      /* the 8 bytes there against 8 partner strings at a time */
      size_t at = p + i;
      __m512i w = _mm512_set1_epi64((long long)folded_at(t, at, len));
      for(uint32_t k = 0; k < x->n_part; k += 8) {
        __mmask8 eq = _mm512_cmpeq_epi64_mask(
          _mm512_and_si512(w, _mm512_loadu_si512(
                                (const void *)(m->part_m + x->part_off + k))),
          _mm512_loadu_si512((const void *)(m->part_w + x->part_off + k)));
        while(eq) {
          unsigned j = (unsigned)__builtin_ctz(eq);
          eq &= (__mmask8)(eq - 1);
          if(at + m->part_len[x->part_off + k + j] <= to)
            return 1;
        }
      }
    }
  }
  return 0;
}
#endif

/* 1 when a partner string of regex x lies in t[from..to) (to <= len, the
 * text's length). Used before a PCRE2 call that looks for a match
 * starting in [from, a] where a is an anchor's start: such a match lies
 * in [from, a + max_len) (its longest match) and in the block, and holds a
 * partner string, so with none there it does not exist. Tested at the
 * character starts (a partner string is whole characters) whose bytes 1
 * and 2 pass x->part_tab. */
static int partner_in(const qw_matcher *m, const mrx *x, const char *t,
                      size_t from, size_t to, size_t len)
{
#if QW_CPU_X86_64
  if(m->simd)
    return partner_in_avx512(m, x, t, from, to, len);
#endif
  for(size_t p = from; p + 3 <= to; p++) {
    unsigned char b1 = (unsigned char)t[p + 1], b2 = (unsigned char)t[p + 2];
    if(((unsigned char)t[p] & 0xC0) == 0x80 ||
       !((x->part_tab[b2 & 63] >> (b1 & 7)) & 1))
      continue;
    if(partner_at(m, x, t, p, to, len))
      return 1;
  }
  return 0;
}

/* Confirms this chunk's anchor hits (s->ah): for each RX_ANCHORED regex,
 * finds exactly the matches a global iteration over each block would (as
 * run_block() does), searching only near the anchors. Every match holds an
 * anchor, so the next match after `cursor` holds one of the anchors not
 * yet passed; taken in order of their ends, an anchor [as, ae) bounds the
 * start of such a match to [ae - max_len, as] (the offset limit), and
 * every start in [cursor, scanned) is known to have no match. */
static int confirm_anchored(qw_match_scratch *s, int *limited)
{
  size_t n = s->nah;
  if(n == 0)
    return 0;
  if(n > s->cap_t && qw_grow((void **)&s->t, &s->cap_t, n, sizeof(cand)))
    return -ENOMEM;
  /* by (regex, end) */
  const cand *h = sort_cands(s, s->ah, s->t, n, s->m->n_rx);
  const char *t = s->text;
  size_t i = 0;
  int r = 0;
  while(i < n && !r) {
    uint32_t rx = h[i].set;
    const mrx *x = &s->m->rx[rx];
    rxstate *st = rx_state(s, rx);
    size_t bs = 0, be = 0, cursor = 0, scanned = 0;
    for(; i < n && h[i].set == rx && !r; i++) {
      size_t as = h[i].code, ae = h[i].start;
      if(st->stopped || as < cursor)
        continue;
      /* The block (anchors hold no '\n') is found only for a PCRE2 call
       * or an unbounded pattern: a bounded partner check does not need it
       * (a window reaching past the block only lets more through). */
      int known = be != 0 && as >= bs && ae <= be;
      if(!known && (x->max_len < 0 || !x->n_part)) {
        block_around(s, as, ae, &bs, &be);
        cursor = scanned = bs;
        known = 1;
      }
      size_t lower = known ? scanned : s->base;
      if(x->max_len >= 0 && ae > (size_t)x->max_len &&
         ae - (size_t)x->max_len > lower)
        lower = ae - (size_t)x->max_len;
      while(lower < as && ((unsigned char)t[lower] & 0xC0) == 0x80)
        lower++;
      if(lower > as)
        continue;
      if(x->n_part) {
        /* A match whose anchor this is holds a partner string in
         * [lower, as) (before the anchor) or in [ae, a + max_len) and the
         * block (after it). Without one, no such match exists; but one
         * starting in [lower, as] may still hold another anchor hit, so
         * `scanned` does not move: that hit's own turn finds it. */
        size_t hi = known ? be : s->chunk_end;
        if(x->max_len >= 0 && as + (size_t)x->max_len < hi)
          hi = as + (size_t)x->max_len;
        if(x->part_after ? !partner_in(s->m, x, t, ae, hi, s->len)
                         : !partner_in(s->m, x, t, lower, as, s->len))
          continue;
      }
      if(!known) {
        block_around(s, as, ae, &bs, &be);
        cursor = scanned = bs;
        if(lower < scanned)
          lower = scanned;
      }
      pcre2_set_offset_limit(s->mc, as - bs);
      int rc = pcre2_match(x->code, (PCRE2_SPTR)(t + bs), be - bs,
                           lower - bs, 0, s->md, s->mc);
      if(rc == PCRE2_ERROR_NOMATCH) {
        scanned = as + 1;
        continue;
      }
      if(rc < 0) {
        r = match_error(st, rc);
        if(r == -ETIME) {
          *limited = 1;
          r = 0;
        }
        continue;
      }
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
      size_t ms = bs + ov[0], me = bs + ov[1];
      if(me > ms && me <= be)
        r = push_owners(s, x, ms, me);
      cursor = scanned = me > ms ? me : ms + 1;
    }
  }
  pcre2_set_offset_limit(s->mc, PCRE2_UNSET);
  return r;
}

/* Runs lazy exception regex rx on the block holding text[hs..he), once per
 * block and scan. */
static int run_lazy(qw_match_scratch *s, uint32_t rx, size_t hs, size_t he)
{
  rxstate *st = rx_state(s, rx);
  if(hs >= st->start && he <= st->end)
    return 0;
  size_t bs, be;
  block_around(s, hs, he, &bs, &be);
  int r = run_block(s, rx, bs, be);
  st->start = (uint32_t)bs;
  st->end = (uint32_t)be;
  return r;
}

/* Selection (leftmost-longest per set), lazy exceptions, exception and
 * negation filters, output. */
static int emit(qw_match_scratch *s, qw_hit **hits, size_t *n, int *limited)
{
  const qw_matcher *m = s->m;
  if(sort_vec(s, 0))
    return -ENOMEM;
  /* 1: leftmost-longest per set */
  s->nsel = 0;
  size_t i = 0, nc = s->nc;
  const cand *c = s->c;
  while(i < nc) {
    uint32_t set = c[i].set, cur = 0;
    while(i < nc && c[i].set == set) {
      /* among the candidates starting here: the longest, then the first
       * entry */
      const cand *best = &c[i];
      size_t j = i + 1;
      for(; j < nc && c[j].set == set && c[j].start == best->start; j++)
        if(c[j].end > best->end ||
           (c[j].end == best->end && c[j].code < best->code))
          best = &c[j];
      i = j;
      if(best->start < cur)
        continue;
      cur = best->end;
      if(s->nsel == s->cap_sel &&
         qw_grow((void **)&s->sel, &s->cap_sel, s->nsel + 1, sizeof(cand)))
        return -ENOMEM;
      s->sel[s->nsel++] = *best;
    }
  }
  /* 2: exception-only patterns, on the blocks that hold a hit */
  for(size_t k = 0; k < s->nsel; k++) {
    const cand *h = &s->sel[k];
    for(uint32_t l = m->lazy_off[h->set]; l < m->lazy_off[h->set + 1]; l++) {
      int r = run_lazy(s, m->lazy[l], h->start, h->end);
      if(r == -ETIME)
        *limited = 1;
      else if(r)
        return r;
    }
  }
  if(sort_vec(s, 1))
    return -ENOMEM;
  /* 3: exceptions and negation */
  size_t cap = *n, xi = 0, nx = s->nx;
  const cand *x = s->x;
  qw_hit *out = *hits;
  i = 0;
  while(i < s->nsel) {
    uint32_t set = s->sel[i].set;
    unsigned neg = m->sets[set].negation;
    while(xi < nx && x[xi].set < set)
      xi++;
    size_t xj = xi;
    uint32_t xmax = 0;
    for(; i < s->nsel && s->sel[i].set == set; i++) {
      const cand *best = &s->sel[i];
      while(xj < nx && x[xj].set == set && x[xj].start < best->end) {
        if(x[xj].end > xmax)
          xmax = x[xj].end;
        xj++;
      }
      if(xmax > best->start)
        continue;
      if(neg && negated(s->text, best->start, neg))
        continue;
      if(*n == cap) {
        size_t ncap = cap ? cap * 2 : 16;
        qw_hit *nh = realloc(out, ncap * sizeof(*nh));
        if(!nh) {
          *hits = out;
          return -ENOMEM;
        }
        out = nh;
        cap = ncap;
      }
      qw_hit *o = &out[(*n)++];
      o->set = set;
      o->entry = best->code;
      o->start = best->start;
      o->end = best->end;
    }
  }
  *hits = out;
  return 0;
}

int qw_matcher_scan(const qw_matcher *m, qw_match_scratch *s,
                    const char *text, size_t len, const qw_scan_opts *opts,
                    qw_hit **hits, size_t *n)
{
  if(!m || !s || s->m != m || (!text && len) || !hits || !n)
    return -EINVAL;
  if(len >= UINT32_MAX)
    return -EFBIG;
  s->nc = s->nx = s->nw = 0;
  s->err = 0;
  if(++s->gen == 0) {
    memset(s->rs, 0, (m->n_rx ? m->n_rx : 1) * sizeof(rxstate));
    s->gen = 1;
  }
  s->text = text;
  s->len = len;
  s->sets = opts ? opts->sets : NULL;
  if(len == 0)
    return 0;
  int limited = 0;
  size_t off = 0;
  while(off < len) {
    size_t end = len;
    if(len - off > CHUNK_BYTES) {
      const char *nl = memchr(text + off + CHUNK_BYTES, '\n',
                              len - off - CHUNK_BYTES);
      if(nl)
        end = (size_t)(nl - text) + 1;
    }
    s->base = off;
    s->chunk_end = end;
    s->nw = 0;
    s->nah = 0;
    if(m->ls && qw_litscan_scan(m->ls, text + off, end - off, ls_cb, s))
      return s->err ? s->err : -EIO;
    if(m->db) {
      hs_error_t e = hs_scan(m->db, text + off, (unsigned)(end - off), 0,
                             s->hs, db_cb, s);
      if(s->err)
        return s->err;
      if(e != HS_SUCCESS)
        return e == HS_NOMEM ? -ENOMEM : -EIO;
    }
    if(m->n_digit_rx && digit_anchors(s, off, end))
      return -ENOMEM;
    for(size_t k = 0; k < s->nw; k++) {
      int r = run_block(s, s->w[k].rx, s->w[k].start, s->w[k].end);
      if(r == -ETIME)
        limited = 1;
      else if(r)
        return r;
    }
    int cr = confirm_anchored(s, &limited);
    if(cr)
      return cr;
    for(uint32_t a = 0; a < m->n_always; a++) {
      uint32_t rx = m->always[a];
      if(!rx_wanted(m, s->sets, &m->rx[rx]))
        continue;
      size_t bs = off;
      while(bs < end) {
        const char *nl = memchr(text + bs, '\n', end - bs);
        size_t be = nl ? (size_t)(nl - text) : end;
        if(be > bs) {
          int r = run_block(s, rx, bs, be);
          if(r == -ETIME)
            limited = 1;
          else if(r)
            return r;
        }
        bs = be + 1;
      }
    }
    off = end;
  }
  int r = emit(s, hits, n, &limited);
  if(r)
    return r;
  return limited ? -ETIME : 0;
}

static int count_cb(unsigned id, unsigned long long from,
                    unsigned long long to, unsigned flags, void *ctx)
{
  (void)id;
  (void)from;
  (void)to;
  (void)flags;
  (*(uint64_t *)ctx)++;
  return 0;
}

static int ls_count_cb(unsigned id, size_t end, void *ctx)
{
  (void)id;
  (void)end;
  (*(uint64_t *)ctx)++;
  return 0;
}

int qw_matcher_scan_db_only(const qw_matcher *m, qw_match_scratch *s,
                            const char *text, size_t len, uint64_t *reports)
{
  if(!m || !s || s->m != m || (!text && len) || !reports)
    return -EINVAL;
  if(len >= UINT32_MAX)
    return -EFBIG;
  if(len == 0)
    return 0;
  if(m->ls)
    (void)qw_litscan_scan(m->ls, text, len, ls_count_cb, reports);
  if(!m->db)
    return 0;
  hs_error_t e = hs_scan(m->db, text, (unsigned)len, 0, s->hs, count_cb,
                         reports);
  if(e != HS_SUCCESS)
    return e == HS_NOMEM ? -ENOMEM : -EIO;
  return 0;
}
