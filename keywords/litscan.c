/* litscan.c — a multi-literal scanner for UTF-8 text (see litscan.h).
 *
 * Every literal is keyed by its first 6 bytes. A bitmap (about 256 bits a
 * literal, so about 1 % of the positions tested pass by chance) says
 * where a literal may start; an open-addressing table from the exact key
 * to the literals that start with it says which ones do (its slots are
 * chosen by the top bits of the bitmap's hash of the key, which the
 * filter has already computed). The bitmap is
 * keyed by 9 bytes for the literals that long (bm_test()): in Chinese the
 * first two characters of a term occur far more often than the term. A
 * case-insensitive literal is entered under every case variant of the
 * ASCII letters of its key, and its remaining bytes are compared with
 * those letters folded.
 *
 * The bitmap test runs at the character starts only. With AVX-512 (VBMI2)
 * it runs 16 character starts at a time without a branch: their offsets
 * in a 64-byte block are compressed into a list, the bytes at each are
 * gathered with byte permutations, hashed with 32-bit multiplies, the
 * bitmap words fetched with one gather, and the positions that pass are
 * compressed into a batch that is probed afterwards. Without AVX-512
 * (checked at run time) each character start is tested one at a time.
 *
 * Measured with a harness that alternates builds round by round over the
 * benchmark corpus's normalised texts (default pack + 2,000 extra terms,
 * 3,300 literals, 79 kB a page): 100 us a page for the earlier design
 * (every byte position a vector lane, 6-byte bitmap key, a branch per
 * literal compared), 82 us with compressed character starts and
 * branch-free compares, 74 us with the 9-byte bitmap key (3,575 probes a
 * page become 2,722, for 2,206 reports). The filter alone takes ~30 us.
 * A bitmap of 256 bits a literal rather than 64 (128 KiB for these
 * literals) is 8 % faster still: fewer positions pass by chance, and the
 * bitmap stays in L2.
 * Taking the table's slot from the filter's hash rather than hashing the
 * key again: 5 % less.
 * Tried and not kept: prefetching the table for a batch of positions
 * before probing them (11 % slower), prefetching the text (1 %). */
#include "litscan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#if QW_CPU_X86_64
#include <immintrin.h>
#define LITSCAN_AVX512 1
#else
#define LITSCAN_AVX512 0
#endif

#define KEY_BYTES 6
#define KEY_MASK 0x0000FFFFFFFFFFFFull /* the first 6 bytes of a word */
#define BM_MUL0 0x9E3779B1u
#define BM_MUL1 0x85EBCA77u
#define BM_MUL2 0xC2B2AE3Du
#define LONG_BYTES 9 /* literals this long set the second bit */
#define BITS_PER_KEY_LOG2 8 /* about 256 bitmap bits a key */
#define MIN_BITS_LOG2 10
#define MAX_BITS_LOG2 24
#define POS_BATCH 256       /* candidate positions probed together */

/* A literal, as the probe compares it: the 8 bytes after its key are
 * compared with one masked compare, ASCII letters of a case-insensitive
 * literal folded to lower case by or-ing 0x20 into the text's bytes; only
 * a literal longer than KEY_BYTES + 8 compares its remaining bytes. */
typedef struct {
  uint64_t tail;     /* bytes 6 .. 13 of the literal (0-padded, letters
                        lower-cased when caseless) */
  uint64_t tmask;    /* the bytes of tail that are the literal's */
  uint64_t fold;     /* 0x20 at the bytes of tail that are letters of a
                        caseless literal */
  uint32_t id;
  uint32_t len;
} lent;

/* What only a literal longer than KEY_BYTES + 8 needs (parallel to the
 * lent arrays). */
typedef struct {
  uint32_t off;      /* into bytes */
  uint32_t caseless;
} lrest;

typedef struct {
  uint64_t key;
  uint32_t first;    /* into list */
  uint32_t n;        /* 0: empty slot */
} slot;

struct qw_litscan {
  size_t n;
  char *bytes;
  unsigned lg;       /* log2 of the bitmap's bits */
  uint32_t *bm;
  slot *slots;
  size_t cap;        /* power of two */
  unsigned lgcap;    /* its log2 */
  lent *list;        /* the literals, those of a slot together */
  lrest *rest;       /* parallel to list */
  int simd;          /* the AVX-512 filter is used */
};

typedef struct {
  uint64_t key;
  uint32_t ent;
} kpair;

static inline uint64_t load_word(const char *p)
{
  uint64_t w;
  memcpy(&w, p, sizeof(w));
  return w;
}

static inline uint32_t load_word4(const char *p)
{
  uint32_t w;
  memcpy(&w, p, sizeof(w));
  return w;
}

/* The word whose first n bytes are p[0..n) and the rest 0 (n <= 8). No
 * local array: the scan's hot functions then need no stack protector. */
static inline uint64_t load_part(const char *p, size_t n)
{
  uint64_t w = 0;
  for(size_t i = 0; i < n; i++)
    w |= (uint64_t)(unsigned char)p[i] << (8 * i);
  return w;
}

static uint64_t key_mask(unsigned klen)
{
  char b[8] = {0};
  memset(b, 0xFF, klen);
  return load_word(b);
}

/* The bitmap. The 6 bytes at a position (little-endian word w: bytes 0–3
 * and 2–5 are hashed, as the vector filter forms them) choose a 32-bit
 * word of it and one bit there; bytes 5–8 (x, 0-padded past the text's
 * end) choose a second bit of the same word. A literal of 9 bytes or more
 * sets the second bit, a shorter one the first: where only the first two
 * characters of a longer literal occur, a position passes by chance
 * only. */
static inline uint32_t bm_hash(uint64_t w)
{
  uint32_t w0 = (uint32_t)w, w1 = (uint32_t)(w >> 16);
  return w0 * BM_MUL0 + w1 * BM_MUL1;
}

/* The bit index (word * 32 + bit) of the first bit. */
static inline uint32_t bm_bit(uint32_t h, unsigned lg)
{
  return h >> (32 - lg);
}

/* The bit (0–31) of the second one in its word. */
static inline uint32_t bm_bit2(uint32_t h, uint32_t x)
{
  return (h + x * BM_MUL2) >> 27;
}

/* The bitmap test of a position: 6 bytes w, bytes 5–8 x. */
static inline int bm_test(const qw_litscan *ls, uint64_t w, uint32_t x)
{
  uint32_t h = bm_hash(w), bit = bm_bit(h, ls->lg);
  uint32_t mask = (1u << (bit & 31)) | (1u << bm_bit2(h, x));
  return (ls->bm[bit >> 5] & mask) != 0;
}

static inline int is_letter(unsigned char c)
{
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

int qw_litscan_accepts(const char *lit, size_t len)
{
  return lit && len >= KEY_BYTES && len < UINT32_MAX &&
         ((unsigned char)lit[0] & 0xC0) != 0x80;
}

void qw_litscan_free(qw_litscan *ls)
{
  if(!ls)
    return;
  free(ls->bm);
  free(ls->slots);
  free(ls->list);
  free(ls->rest);
  free(ls->bytes);
  free(ls);
}

static int cmp_kpair(const void *a, const void *b)
{
  const kpair *x = a, *y = b;
  if(x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->ent < y->ent ? -1 : x->ent > y->ent;
}

/* Fills the bitmap and table from the (key, literal) pairs v[0..n)
 * (sorted here). */
static int build_table(qw_litscan *ls, const lent *ents, const lrest *rests,
                       kpair *v, size_t n)
{
  if(n)
    qsort(v, n, sizeof(*v), cmp_kpair);
  size_t keys = 0;
  for(size_t i = 0; i < n; i++)
    if(i == 0 || v[i].key != v[i - 1].key)
      keys++;
  /* sized to the pairs: a key's longer literals may set several bits */
  unsigned lg = MIN_BITS_LOG2;
  while(lg < MAX_BITS_LOG2 && ((size_t)1 << lg) < (n << BITS_PER_KEY_LOG2))
    lg++;
  ls->lg = lg;
  ls->cap = 16;
  ls->lgcap = 4;
  while(ls->cap < keys * 2) {
    ls->cap *= 2;
    ls->lgcap++;
  }
  size_t bm_words = ((size_t)1 << lg) / 32;
  ls->bm = calloc(bm_words, sizeof(uint32_t));
  ls->slots = calloc(ls->cap, sizeof(slot));
  ls->list = malloc((n ? n : 1) * sizeof(lent));
  ls->rest = malloc((n ? n : 1) * sizeof(lrest));
  if(!ls->bm || !ls->slots || !ls->list || !ls->rest)
    return -ENOMEM;
  size_t i = 0, w = 0;
  while(i < n) {
    uint64_t key = v[i].key;
    uint32_t h = bm_hash(key), bit = bm_bit(h, lg);
    for(size_t j = i; j < n && v[j].key == key; j++) {
      const lent *e = &ents[v[j].ent];
      const lrest *r = &rests[v[j].ent];
      const char *lit = ls->bytes + r->off;
      int two = e->len >= LONG_BYTES;
      for(unsigned k = KEY_BYTES; two && r->caseless && k < LONG_BYTES; k++)
        if(is_letter((unsigned char)lit[k]))
          two = 0; /* its case variants are not keyed past the key */
      if(two) {
        /* byte 5 of this case variant, bytes 6–8 of the literal */
        uint32_t x = (uint32_t)(key >> 40) & 0xFF;
        x |= (uint32_t)(unsigned char)lit[6] << 8 |
             (uint32_t)(unsigned char)lit[7] << 16 |
             (uint32_t)(unsigned char)lit[8] << 24;
        ls->bm[bit >> 5] |= 1u << bm_bit2(h, x);
      }
      else
        ls->bm[bit >> 5] |= 1u << (bit & 31);
    }
    size_t p = (size_t)(bm_hash(key) >> (32 - ls->lgcap));
    while(ls->slots[p].n)
      p = (p + 1) & (ls->cap - 1);
    ls->slots[p].key = key;
    ls->slots[p].first = (uint32_t)w;
    size_t j = i;
    for(; j < n && v[j].key == key; j++)
      if(j == i || v[j].ent != v[j - 1].ent) {
        ls->rest[w] = rests[v[j].ent];
        ls->list[w++] = ents[v[j].ent];
      }
    ls->slots[p].n = (uint32_t)(w - ls->slots[p].first);
    i = j;
  }
  return 0;
}

/* Appends the key pairs of literal e (every case variant of the letters
 * of its key when it is case-insensitive). */
static int add_keys(const qw_litscan *ls, const lrest *l, uint32_t e,
                    kpair **v, size_t *n, size_t *cap)
{
  const char *s = ls->bytes + l->off;
  unsigned pos[KEY_BYTES], np = 0;
  if(l->caseless)
    for(unsigned k = 0; k < KEY_BYTES; k++)
      if(is_letter((unsigned char)s[k]))
        pos[np++] = k;
  size_t variants = (size_t)1 << np;
  if(*n + variants > *cap) {
    size_t nc = (*n + variants) * 2;
    kpair *nv = realloc(*v, nc * sizeof(*nv));
    if(!nv)
      return -ENOMEM;
    *v = nv;
    *cap = nc;
  }
  for(size_t m = 0; m < variants; m++) {
    char b[8] = {0};
    memcpy(b, s, KEY_BYTES);
    for(unsigned k = 0; k < np; k++)
      b[pos[k]] = (char)((m >> k) & 1 ? (b[pos[k]] | 0x20)
                                        : (b[pos[k]] & ~0x20));
    (*v)[*n].key = load_word(b);
    (*v)[*n].ent = e;
    (*n)++;
  }
  return 0;
}

int qw_litscan_build(const char *const *lits, const size_t *lens,
                     const unsigned *ids, const unsigned *flags, size_t n,
                     qw_litscan **out)
{
  if(!out || (n && (!lits || !lens || !ids)))
    return -EINVAL;
  *out = NULL;
  size_t total = 0;
  for(size_t i = 0; i < n; i++) {
    if(!qw_litscan_accepts(lits[i], lens[i]) || total > UINT32_MAX - lens[i])
      return -EINVAL;
    total += lens[i];
  }
  qw_litscan *ls = calloc(1, sizeof(*ls));
  if(!ls)
    return -ENOMEM;
  lent *ents = calloc(n ? n : 1, sizeof(lent));
  lrest *rests = calloc(n ? n : 1, sizeof(lrest));
  ls->bytes = malloc(total ? total : 1);
  kpair *v = NULL;
  size_t nv = 0, cv = 0;
  int r = (!ents || !rests || !ls->bytes) ? -ENOMEM : 0;
  size_t off = 0;
  for(size_t i = 0; !r && i < n; i++) {
    lent *l = &ents[i];
    lrest *lr = &rests[i];
    l->id = ids[i];
    l->len = (uint32_t)lens[i];
    lr->off = (uint32_t)off;
    lr->caseless = flags && (flags[i] & QW_LITSCAN_CASELESS);
    memcpy(ls->bytes + off, lits[i], lens[i]);
    off += lens[i];
    ls->n = i + 1;
    size_t rest = lens[i] - KEY_BYTES;
    if(rest > 8)
      rest = 8;
    char t[8] = {0}, f[8] = {0};
    memcpy(t, lits[i] + KEY_BYTES, rest);
    for(size_t k = 0; lr->caseless && k < rest; k++)
      if(is_letter((unsigned char)t[k])) {
        t[k] = (char)(t[k] | 0x20);
        f[k] = 0x20;
      }
    l->tail = load_word(t);
    l->fold = load_word(f);
    l->tmask = key_mask((unsigned)rest);
    r = add_keys(ls, lr, (uint32_t)i, &v, &nv, &cv);
  }
  if(!r)
    r = build_table(ls, ents, rests, v, nv);
  free(v);
  free(ents);
  free(rests);
  if(r) {
    qw_litscan_free(ls);
    return r;
  }
  ls->simd = qw_cpu_avx512_vbmi2();
  *out = ls;
  return 0;
}

int qw_litscan_use_simd(qw_litscan *ls, int on)
{
  if(!ls)
    return 0;
  ls->simd = on && qw_cpu_avx512_vbmi2();
  return ls->simd;
}

/* ASCII-case-insensitive comparison of n bytes: 0 when equal. */
static int case_cmp(const char *a, const char *b, size_t n)
{
  for(size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if(x != y && !(is_letter(x) && (x ^ y) == 0x20))
      return 1;
  }
  return 0;
}

/* 1 when a[0..n) and b[0..n) differ: 8 bytes at a time, inline (the
 * rests of literals are short; a call to memcmp() cost more). */
static inline int bytes_differ(const char *a, const char *b, size_t n)
{
  for(; n >= 8; a += 8, b += 8, n -= 8)
    if(load_word(a) != load_word(b))
      return 1;
  return n && load_part(a, n) != load_part(b, n);
}

/* Reports every literal that starts at text[j] (whose bitmap bit is set;
 * h is bm_hash() of its 6 bytes). Returns 1 when the callback stopped the
 * scan. The literals of the slot
 * are compared without a branch, 64 at a time, into a bit mask of those
 * whose first KEY_BYTES + 8 bytes match; the callback is called for each
 * (after the remaining bytes of a longer literal are compared), in the
 * slot's order. */
static int probe(const qw_litscan *ls, const char *text, size_t len,
                 size_t j, uint32_t h, qw_litscan_cb cb, void *ctx)
{
  size_t room = len - j;
  uint64_t key = (room >= 8 ? load_word(text + j)
                            : load_part(text + j, room)) & KEY_MASK;
  size_t p = (size_t)(h >> (32 - ls->lgcap));
  const slot *s;
  for(;;) {
    s = &ls->slots[p];
    if(!s->n)
      return 0;
    if(s->key == key)
      break;
    p = (p + 1) & (ls->cap - 1);
  }
  /* the 8 bytes after the key, 0-padded at the text's end */
  uint64_t next = room >= KEY_BYTES + 8 ? load_word(text + j + KEY_BYTES)
                  : room > KEY_BYTES
                    ? load_part(text + j + KEY_BYTES, room - KEY_BYTES)
                    : 0;
  for(uint32_t b = 0; b < s->n; b += 64) {
    const lent *e = &ls->list[s->first + b];
    uint32_t m = s->n - b < 64 ? s->n - b : 64;
    uint64_t bits = 0;
    for(uint32_t k = 0; k < m; k++)
      bits |= (uint64_t)((((next | e[k].fold) & e[k].tmask) == e[k].tail) &
                         (e[k].len <= room)) << k;
    while(bits) {
      uint32_t k = (uint32_t)__builtin_ctzll(bits);
      bits &= bits - 1;
      if(e[k].len > KEY_BYTES + 8) {
        const lrest *r = &ls->rest[s->first + b + k];
        const char *a = text + j + KEY_BYTES + 8;
        const char *c = ls->bytes + r->off + KEY_BYTES + 8;
        size_t n = e[k].len - KEY_BYTES - 8;
        if(r->caseless ? case_cmp(a, c, n) : bytes_differ(a, c, n))
          continue;
      }
      if(cb(e[k].id, j + e[k].len, ctx))
        return 1;
    }
  }
  return 0;
}

/* Tests the character starts of text[from..len) one at a time. */
static int scan_plain(const qw_litscan *ls, const char *text, size_t len,
                      size_t from, qw_litscan_cb cb, void *ctx)
{
  for(size_t i = from; i + KEY_BYTES <= len; i++) {
    if(((unsigned char)text[i] & 0xC0) == 0x80)
      continue;
    size_t room = len - i;
    uint64_t w = room >= 8 ? load_word(text + i) : load_part(text + i, room);
    uint32_t x = room >= 9 ? (uint32_t)load_word4(text + i + 5)
                           : (uint32_t)load_part(text + i + 5, room - 5);
    if(bm_test(ls, w, x) &&
       probe(ls, text, len, i, bm_hash(w & KEY_MASK), cb, ctx))
      return 1;
  }
  return 0;
}

#if LITSCAN_AVX512
/* The vector filter over text[0..len), 64 bytes at a time. The character
 * starts of the 64 bytes are compressed into a list of their offsets
 * (VBMI2), so that each group of 16 hashes and one gather serve 16
 * character starts rather than 16 bytes (in Chinese text 4 bytes in 10
 * start a character). Lane k of a group gathers the bytes at its start
 * from the 128 bytes loaded (two byte permutations: bytes 0–3 and 2–5),
 * hashes them as bm_bit() does, and tests the bitmap bit; the starts that
 * pass are compressed into a batch of positions, probed when it is full.
 * Bytes past the text's end are loaded as 0 (masked loads), and only the
 * starts with KEY_BYTES bytes before the end are tested. */
__attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2")))
static int scan_avx512(const qw_litscan *ls, const char *text, size_t len,
                       qw_litscan_cb cb, void *ctx)
{
  /* byte 4k + m of a group's index vector is k (lane k's start) */
  const __m512i lane_of = _mm512_set_epi8(
    15, 15, 15, 15, 14, 14, 14, 14, 13, 13, 13, 13, 12, 12, 12, 12,
    11, 11, 11, 11, 10, 10, 10, 10, 9, 9, 9, 9, 8, 8, 8, 8,
    7, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 4, 4, 4, 4,
    3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i iota = _mm512_set_epi8(
    63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48,
    47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
    31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
    15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i add0 = _mm512_set1_epi32(0x03020100);
  const __m512i add1 = _mm512_set1_epi32(0x05040302);
  const __m512i add2 = _mm512_set1_epi32(0x08070605);
  const __m512i k2 = _mm512_set1_epi32((int)BM_MUL2);
  const __m512i low = _mm512_set1_epi32(0xFF);
  const __m512i k0 = _mm512_set1_epi32((int)BM_MUL0);
  const __m512i k1 = _mm512_set1_epi32((int)BM_MUL1);
  const __m512i c31 = _mm512_set1_epi32(31), one = _mm512_set1_epi32(1);
  const __m128i shift = _mm_cvtsi32_si128((int)(32 - ls->lg));
  /* signed compare: bytes > 0xBF as int8 are 0x00–0x7F and 0xC0–0xFF */
  const __m512i lim = _mm512_set1_epi8((char)0xBF);
  const int *bm = (const int *)ls->bm;
  uint32_t pos[POS_BATCH + 64], hv[POS_BATCH + 64];
  size_t np = 0;
  for(size_t i = 0; i + KEY_BYTES <= len; i += 64) {
    size_t room = len - i;
    __mmask64 m0 = room >= 64 ? ~0ull : (1ull << room) - 1;
    __mmask64 m1 = room >= 128 ? ~0ull
                   : room > 64 ? (1ull << (room - 64)) - 1 : 0;

    __m512i v0, v1;
    if(room >= 128) {
      v0 = _mm512_loadu_si512((const void *)(text + i));
      v1 = _mm512_loadu_si512((const void *)(text + i + 64));
    }
    else {
      v0 = _mm512_maskz_loadu_epi8(m0, text + i);
      v1 = _mm512_maskz_loadu_epi8(m1, text + i + 64);
    }
    /* the starts with KEY_BYTES bytes of text from them */
    size_t last = room - KEY_BYTES; /* the last such offset */
    __mmask64 st = _mm512_cmpgt_epi8_mask(v0, lim) &
                   (last >= 63 ? ~0ull : (2ull << last) - 1);
    __m512i offs = _mm512_maskz_compress_epi8(st, iota);
    unsigned cnt = (unsigned)__builtin_popcountll(st);
    for(unsigned g = 0; g < cnt; g += 16) {
      __mmask16 valid = cnt - g >= 16 ? 0xFFFF
                                      : (__mmask16)((1u << (cnt - g)) - 1);
      __m512i at = _mm512_permutexvar_epi8(
        _mm512_add_epi8(lane_of, _mm512_set1_epi8((char)g)), offs);
      __m512i w0 = _mm512_permutex2var_epi8(v0, _mm512_add_epi8(at, add0),
                                            v1);
      __m512i w1 = _mm512_permutex2var_epi8(v0, _mm512_add_epi8(at, add1),
                                            v1);
      __m512i x = _mm512_permutex2var_epi8(v0, _mm512_add_epi8(at, add2),
                                           v1);
      __m512i h = _mm512_add_epi32(_mm512_mullo_epi32(w0, k0),
                                   _mm512_mullo_epi32(w1, k1));
      __m512i b2 = _mm512_srli_epi32(
        _mm512_add_epi32(h, _mm512_mullo_epi32(x, k2)), 27);
      __m512i h0 = h;
      h = _mm512_srl_epi32(h, shift);
      __m512i word = _mm512_mask_i32gather_epi32(
        _mm512_setzero_si512(), valid, _mm512_srli_epi32(h, 5), bm, 4);
      __m512i bit = _mm512_or_si512(
        _mm512_sllv_epi32(one, _mm512_and_si512(h, c31)),
        _mm512_sllv_epi32(one, b2));
      __mmask16 hit = _mm512_mask_test_epi32_mask(valid, word, bit);
      __m512i p = _mm512_add_epi32(_mm512_and_si512(at, low),
                                   _mm512_set1_epi32((int)i));
      _mm512_storeu_si512((void *)(pos + np),
                          _mm512_maskz_compress_epi32(hit, p));
      _mm512_storeu_si512((void *)(hv + np),
                          _mm512_maskz_compress_epi32(hit, h0));
      np += (size_t)__builtin_popcount((unsigned)hit);
    }
    if(np >= POS_BATCH) {
      for(size_t k = 0; k < np; k++)
        if(probe(ls, text, len, pos[k], hv[k], cb, ctx))
          return 1;
      np = 0;
    }
  }
  for(size_t k = 0; k < np; k++)
    if(probe(ls, text, len, pos[k], hv[k], cb, ctx))
      return 1;
  return 0;
}
#endif

int qw_litscan_scan(const qw_litscan *ls, const char *text, size_t len,
                    qw_litscan_cb cb, void *ctx)
{
  if(!ls || !ls->n || !text || !cb || len < KEY_BYTES)
    return 0;
#if LITSCAN_AVX512
  if(ls->simd && len <= UINT32_MAX)
    return scan_avx512(ls, text, len, cb, ctx);
#endif
  return scan_plain(ls, text, len, 0, cb, ctx);
}
