/* normalize.c — text normalisation for matching, with a map back to the
 * source offsets (see normalize.h). It runs on every text field of every
 * page, so it is a single pass with an ASCII fast path and a Han fast path
 * (one bitmap load decides that a BMP Han character is already simplified).
 *
 * The rules, per character (qw_normalize_cp applies exactly these):
 *   - full-width ASCII U+FF01–FF5E → ASCII ("２０２０" → "2020", "（" → "(",
 *     "－" → "-"), half-width CJK punctuation U+FF61–FF64 → 。「」、, and
 *     full-width signs U+FFE0–FFE6 → ¢ £ ¬ ¯ ¦ ¥ ₩;
 *   - case fold: A–Z, full-width Ａ–Ｚ, Latin-1 À–Þ (not ×) to lower case;
 *     mathematical alphanumerics U+1D400–1D6A3 → a–z, U+1D7CE–1D7FF → 0–9;
 *   - white space → ' ': U+0009, 000B–000D, 0020, C0/C1 control characters,
 *     DEL, U+00A0, 1680, 2000–200A, 2028, 2029, 202F, 205F, 3000;
 *   - removed (invisible): U+00AD soft hyphen, 034F, 061C, 115F, 1160, 180E,
 *     200B–200F, 202A–202E, 2060–206F, 20D0–20FF (combining marks for
 *     symbols, e.g. the keycap), 3164, FE00–FE0F (variation selectors), FEFF,
 *     FFA0, FFF9–FFFB, 1F3FB–1F3FF (skin tones), E0000–E007F (tags),
 *     E0100–E01EF;
 *   - Roman numerals Ⅰ–Ⅸ / ⅰ–ⅸ → 1–9 (Ⅱ类 → 2类); Ⅹ / ⅹ → x, because
 *     "Ⅹ光" is a common spelling of "X光" and a class is never 10; Ⅺ Ⅻ
 *     have no single-character form and are left alone; Ⅼ Ⅽ Ⅾ Ⅿ → l c d m;
 *   - traditional → simplified and variant characters (t2s.h: OpenCC's
 *     TSCharacters plus normalize_variants.h), one code point to one;
 *   - everything else is kept as it is (【】〔〕、。— are kept).
 *
 * Rules that depend on context (text only):
 *   - runs of white space become one ' '; white space next to '\n' and at
 *     the start and end of the text is dropped;
 *   - '\n' (the block separator) is always kept, never merged, and never
 *     counts as a separator;
 *   - a run of separator units between two Han characters (qw_utf8_is_han
 *     of the source characters) is removed when it has at most 3 units:
 *     "根 治", "药*到*病*除", "治-愈", "药🔥到" → "根治", "药到病除", "治愈",
 *     "药到". A unit is one white-space run or one separator character:
 *     * + - . / = \ ^ _ | ~ (and their full-width forms), · • ‧ ∙ ⋅ ・ ･,
 *     ‐ ‑ ‒ – (not — or ――, which are real punctuation), 〜, arrows, box
 *     drawing, geometric shapes, miscellaneous symbols and dingbats
 *     (U+2190–21FF, 2300–23FF, 2500–27BF, 2B00–2BFF, ★☆♥…), hexagrams,
 *     private-use icon glyphs (U+E000–F8FF) and emoji (U+1F000–1FAFF).
 *     Invisible characters in the run do not count. Longer runs are kept,
 *     as is everything between a Han character and a non-Han one ("3 天",
 *     "hello world"). 、 and ，。 are NOT separators: they are real list
 *     and sentence punctuation in Chinese ("体温计、血压计"), and joining
 *     across them would invent words.
 *   - invalid UTF-8 becomes U+FFFD (one per bad byte, as qw_utf8_next does).
 *
 * The map: map[i] is the source offset of the character that produced
 * output byte i (all bytes of one output character share it), map[len] is
 * the source length, and the map never decreases. Removed characters have no
 * output byte, so a source range computed from the map may include invisible
 * or separator characters that follow the last character of a match.
 *
 * Buffers: qw_normalize_into reuses out->text and out->map; their capacity
 * is read back with malloc_usable_size (glibc), so they must be NULL or come
 * from malloc (normally from an earlier call). */
#include "normalize.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "t2s.h"
#include "utf8.h"

enum {
  K_OTHER = 0, /* ordinary character: kept after mapping */
  K_SEP,       /* separator: short runs between Han characters vanish */
  K_SPACE,     /* white space: runs collapse to one ' ' */
  K_NL,        /* '\n': block separator, always kept */
  K_DROP       /* invisible: removed */
};

/* Kind of each byte; bytes >= 0x80 (not ASCII) are K_MB, so the ASCII
 * fast path tests one table entry per byte. */
#define K_MB 5
#define O K_OTHER
#define W K_SPACE
#define N K_NL
#define S K_SEP
#define X K_MB, K_MB, K_MB, K_MB, K_MB, K_MB, K_MB, K_MB, \
          K_MB, K_MB, K_MB, K_MB, K_MB, K_MB, K_MB, K_MB
static const unsigned char byte_kind[256] = {
  W, W, W, W, W, W, W, W, W, W, N, W, W, W, W, W, /* 00-0f */
  W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, W, /* 10-1f */
  W, O, O, O, O, O, O, O, O, O, S, S, O, S, S, S, /*  !"#$%&'()*+,-./ */
  O, O, O, O, O, O, O, O, O, O, O, O, O, S, O, O, /* 0-9 :;<=>? */
  O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* @A-O */
  O, O, O, O, O, O, O, O, O, O, O, O, S, O, S, S, /* P-Z [\]^_ */
  O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, /* `a-o */
  O, O, O, O, O, O, O, O, O, O, O, O, S, O, S, W, /* p-z {|}~ DEL */
  X, X, X, X, X, X, X, X                          /* 80-ff */
};
#undef O
#undef W
#undef N
#undef S
#undef X

/* ASCII case fold as a table, built by the preprocessor. */
#define F1(c) (unsigned char)((c) + ((unsigned)((c) - 'A') < 26u ? 32 : 0))
#define F4(c) F1(c), F1((c) + 1), F1((c) + 2), F1((c) + 3)
#define F16(c) F4(c), F4((c) + 4), F4((c) + 8), F4((c) + 12)
static const unsigned char ascii_lower[128] = {
  F16(0x00), F16(0x10), F16(0x20), F16(0x30),
  F16(0x40), F16(0x50), F16(0x60), F16(0x70)
};
#undef F1
#undef F4
#undef F16

#define NO_RUN ((size_t)-1)
#define MAX_RUN_UNITS 3

static inline uint32_t ascii_fold(uint32_t c)
{
  return ascii_lower[c];
}

/* Per-character mapping of an ASCII code point. */
static inline uint32_t map_ascii(uint32_t c, unsigned *kind)
{
  *kind = byte_kind[c];
  return *kind == K_SPACE ? ' ' : ascii_fold(c);
}

static uint32_t map_latin1(uint32_t cp, unsigned *kind)
{
  if(cp < 0xA1) {
    *kind = K_SPACE; /* C1 controls, NEL, no-break space */
    return ' ';
  }
  if(cp == 0xAD) {
    *kind = K_DROP;
    return 0;
  }
  if(cp == 0xB7) {
    *kind = K_SEP;
    return cp;
  }
  if(cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
    return cp + 0x20;
  return cp;
}

/* U+2000–U+2FFF: punctuation, letterlike, numerals, symbols. */
static uint32_t map_2000(uint32_t cp, unsigned *kind)
{
  if(cp < 0x2070) {
    if(cp <= 0x200A || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
       cp == 0x205F) {
      *kind = K_SPACE;
      return ' ';
    }
    if(cp <= 0x200F || (cp >= 0x202A && cp <= 0x202E) || cp >= 0x2060) {
      *kind = K_DROP;
      return 0;
    }
    if(cp <= 0x2013 || cp == 0x2022 || cp == 0x2027)
      *kind = K_SEP;
    return cp;
  }
  if(cp >= 0x20D0 && cp <= 0x20FF) {
    *kind = K_DROP;
    return 0;
  }
  if(cp >= 0x2160 && cp <= 0x217F) {
    static const unsigned char roman[16] = {
      '1', '2', '3', '4', '5', '6', '7', '8', '9', 'x', 0, 0,
      'l', 'c', 'd', 'm'
    };
    uint32_t r = roman[(cp - 0x2160) & 15];
    return r ? r : cp;
  }
  if((cp >= 0x2190 && cp <= 0x21FF) || cp == 0x2219 || cp == 0x22C5 ||
     (cp >= 0x2300 && cp <= 0x23FF) || (cp >= 0x2500 && cp <= 0x27BF) ||
     (cp >= 0x2B00 && cp <= 0x2BFF))
    *kind = K_SEP;
  return cp;
}

/* U+F900–U+FFFF: compatibility ideographs, variation selectors, forms. */
static uint32_t map_f900(uint32_t cp, unsigned *kind)
{
  if(cp >= 0xFF01 && cp <= 0xFF5E)
    return map_ascii(cp - 0xFEE0, kind);
  if((cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
     (cp >= 0xFFF9 && cp <= 0xFFFB)) {
    *kind = K_DROP;
    return 0;
  }
  if(cp >= 0xFF61 && cp <= 0xFF65) {
    static const uint16_t halfwidth[5] = {0x3002, 0x300C, 0x300D, 0x3001,
                                          0xFF65};
    if(cp == 0xFF65)
      *kind = K_SEP;
    return halfwidth[cp - 0xFF61];
  }
  if(cp >= 0xFFE0 && cp <= 0xFFE6) {
    static const uint16_t signs[7] = {0xA2, 0xA3, 0xAC, 0xAF, 0xA6, 0xA5,
                                      0x20A9};
    return signs[cp - 0xFFE0];
  }
  return qw_t2s(cp);
}

static uint32_t map_smp(uint32_t cp, unsigned *kind)
{
  if(cp >= 0x1D400 && cp <= 0x1D6A3)
    return 'a' + (cp - 0x1D400) % 52 % 26;
  if(cp >= 0x1D7CE && cp <= 0x1D7FF)
    return '0' + (cp - 0x1D7CE) % 10;
  if(cp >= 0x1F000 && cp <= 0x1FAFF) {
    *kind = (cp >= 0x1F3FB && cp <= 0x1F3FF) ? K_DROP : K_SEP;
    return *kind == K_DROP ? 0 : cp;
  }
  if((cp >= 0xE0000 && cp <= 0xE007F) || (cp >= 0xE0100 && cp <= 0xE01EF)) {
    *kind = K_DROP;
    return 0;
  }
  return qw_t2s(cp);
}

/* The context-free mapping of one valid code point: returns its normalised
 * form and sets *kind. K_DROP characters return 0, K_SPACE ones ' '. */
static uint32_t map_cp(uint32_t cp, unsigned *kind)
{
  *kind = K_OTHER;
  if(cp < 0x80)
    return map_ascii(cp, kind);
  if(cp < 0x100)
    return map_latin1(cp, kind);
  if(cp < 0x2000) {
    if(cp == 0x1680) {
      *kind = K_SPACE;
      return ' ';
    }
    if(cp == 0x034F || cp == 0x061C || cp == 0x115F || cp == 0x1160 ||
       cp == 0x180E) {
      *kind = K_DROP;
      return 0;
    }
    return qw_t2s(cp);
  }
  if(cp < 0x3000)
    return map_2000(cp, kind);
  if(cp < 0xA000) {
    if(cp == 0x3000) {
      *kind = K_SPACE;
      return ' ';
    }
    if(cp == 0x3164) {
      *kind = K_DROP;
      return 0;
    }
    if(cp == 0x301C || cp == 0x30FB || (cp >= 0x4DC0 && cp <= 0x4DFF))
      *kind = K_SEP;
    return qw_t2s(cp);
  }
  if(cp < 0xF900) {
    if(cp >= 0xE000)
      *kind = K_SEP; /* private use: icon-font glyphs */
    return cp;
  }
  if(cp < 0x10000)
    return map_f900(cp, kind);
  return map_smp(cp, kind);
}

uint32_t qw_normalize_cp(uint32_t cp)
{
  unsigned kind;
  if(cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0xFFFD;
  return map_cp(cp, &kind);
}

static inline size_t put_cp(unsigned char *o, uint32_t cp)
{
  if(cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if(cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if(cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Copies n ASCII bytes, case-folded, with their map entries. */
static inline void copy_ascii(unsigned char *restrict o, uint32_t *restrict m,
                              const unsigned char *restrict s, size_t n,
                              uint32_t at)
{
  for(size_t j = 0; j < n; j++) {
    o[j] = (unsigned char)ascii_fold(s[j]);
    m[j] = at + (uint32_t)j;
  }
}

/* For the 3 bytes at s: when they are a well-formed Han character of
 * U+4000–4DBF or U+4E00–9FFF (lead byte E4–E9, which has no overlong or
 * surrogate forms), its code point >> 6, i.e. its word in qw_t2s_bits;
 * else 0 (no Han character lives in word 0). Word 0x137 is U+4DC0–4DFF,
 * the hexagram symbols. */
static inline unsigned han_word(const unsigned char *s)
{
  unsigned b0 = s[0], b1 = s[1], b2 = s[2];
  if(b0 - 0xE4u > 5u || ((b1 ^ 0x80u) | (b2 ^ 0x80u)) > 0x3Fu)
    return 0;
  unsigned w = ((b0 & 0x0Fu) << 6) | (b1 & 0x3Fu);
  return w == 0x137 ? 0 : w;
}

/* Output bytes the buffers of n can hold (one more is kept for the NUL and
 * for map[len]). */
static size_t norm_cap(const qw_norm *n)
{
  if(!n->text || !n->map)
    return 0;
  size_t t = malloc_usable_size(n->text);
  size_t m = malloc_usable_size(n->map) / sizeof(uint32_t);
  size_t c = t < m ? t : m;
  return c ? c - 1 : 0;
}

/* Resizes both buffers to hold cap output bytes. With keep, the content is
 * preserved (realloc); otherwise the old buffers are just replaced. */
static int norm_resize(qw_norm *n, size_t cap, int keep)
{
  if(cap >= SIZE_MAX / sizeof(uint32_t) - 1)
    return -ENOMEM;
  if(!keep) {
    free(n->text);
    free(n->map);
    n->text = malloc(cap + 1);
    n->map = malloc((cap + 1) * sizeof(uint32_t));
    if(!n->text || !n->map)
      return -ENOMEM;
    return 0;
  }
  char *t = realloc(n->text, cap + 1);
  if(!t)
    return -ENOMEM;
  n->text = t;
  uint32_t *m = realloc(n->map, (cap + 1) * sizeof(uint32_t));
  if(!m)
    return -ENOMEM;
  n->map = m;
  return 0;
}

/* Leaves n empty but valid after a failure. */
static int norm_fail(qw_norm *n, int rc)
{
  free(n->text);
  free(n->map);
  n->text = NULL;
  n->map = NULL;
  n->len = 0;
  return rc;
}

int qw_normalize_into(const char *src, size_t len, qw_norm *out)
{
  if(!out || (!src && len))
    return -EINVAL;
  if(len > UINT32_MAX)
    return -EFBIG;
  if(len > SIZE_MAX / 8)
    return -ENOMEM; /* only reachable where size_t has 32 bits */
  size_t cap = norm_cap(out);
  if(cap < len + 16) {
    cap = len + len / 16 + 64;
    if(norm_resize(out, cap, 0) != 0)
      return norm_fail(out, -ENOMEM);
  }

  const unsigned char *s = (const unsigned char *)src;
  unsigned char *o = (unsigned char *)out->text;
  uint32_t *m = out->map;
  size_t i = 0, k = 0;
  size_t run = NO_RUN;  /* output offset of a removable separator run */
  unsigned units = 0;   /* units in that run */
  int prev_han = 0;     /* last kept character was Han */
  int ws = 1;           /* 1: at a line start, 2: o[k-1] is a collapsed ' ' */
  size_t klim = cap - 8; /* room for one more character while k <= klim */
  const size_t i3 = len < 3 ? 0 : len - 2; /* 3 bytes left while i < i3 */

  while(i < len) {
    if(k > klim) {
      if(cap > SIZE_MAX / 8)
        return norm_fail(out, -ENOMEM);
      size_t want = cap + cap / 2 + (len - i) + 64;
      if(norm_resize(out, want, 1) != 0)
        return norm_fail(out, -ENOMEM);
      cap = want;
      klim = cap - 8;
      o = (unsigned char *)out->text;
      m = out->map;
    }
    unsigned c = s[i];
    size_t start = i;
    uint32_t cp, to;
    unsigned kind;
    int han = 0;

    if(c < 0x80) {
      kind = byte_kind[c];
      if(kind == K_OTHER) {
        /* ASCII fast path: copy a run of ordinary characters. After one,
         * no separator run can start (that needs a Han character before
         * it), so separators and single spaces between ordinary
         * characters belong to the run too. Scan first, then copy. */
        size_t stop = i + (len - i < cap - k ? len - i : cap - k);
        size_t e = i + 1;
        while(e < stop) {
          unsigned d = s[e];
          if(byte_kind[d] <= K_SEP)
            e++;
          else if(d == ' ' && e + 1 < stop && byte_kind[s[e + 1]] <= K_SEP)
            e += 2;
          else
            break;
        }
        copy_ascii(o + k, m + k, s + i, e - i, (uint32_t)i);
        k += e - i;
        i = e;
        run = NO_RUN;
        prev_han = 0;
        ws = 0;
        continue;
      }
      i++;
      to = kind == K_SPACE ? ' ' : c;
    }
    else {
      unsigned hw = i < i3 ? han_word(s + i) : 0;
      if(hw) {
        /* Han fast path (U+4000–4DBF, U+4E00–9FFF): a tight loop over a
         * run of them, with the state updated once. One bitmap bit says
         * whether the character is already simplified. */
        if(run != NO_RUN)
          k = run;
        run = NO_RUN;
        prev_han = 1;
        ws = 0;
        for(;;) {
          unsigned bit = s[i + 2] & 0x3Fu;
          if(!((qw_t2s_bits[hw] >> bit) & 1u)) {
            o[k] = s[i];
            o[k + 1] = s[i + 1];
            o[k + 2] = s[i + 2];
            m[k] = m[k + 1] = m[k + 2] = (uint32_t)i;
            k += 3;
          }
          else {
            size_t nb = put_cp(o + k, qw_t2s((uint32_t)(hw << 6 | bit)));
            for(size_t b = 0; b < nb; b++)
              m[k + b] = (uint32_t)i;
            k += nb;
          }
          i += 3;
          if(k > klim || i >= i3)
            break;
          hw = han_word(s + i);
          if(!hw)
            break;
        }
        continue;
      }
      cp = qw_utf8_next(src, len, &i);
      to = map_cp(cp, &kind);
      if(kind == K_OTHER && cp >= 0x3007)
        han = qw_utf8_is_han(cp);
    }

    switch(kind) {
    case K_DROP:
      continue;
    case K_NL:
      if(ws == 2)
        k--;
      o[k] = '\n';
      m[k++] = (uint32_t)start;
      run = NO_RUN;
      prev_han = 0;
      ws = 1;
      continue;
    case K_SPACE:
    case K_SEP:
      if(kind == K_SPACE) {
        if(ws)
          continue;
        ws = 2;
      }
      else
        ws = 0;
      if(run != NO_RUN) {
        if(++units > MAX_RUN_UNITS)
          run = NO_RUN;
      }
      else if(prev_han) {
        run = k;
        units = 1;
      }
      prev_han = 0;
      break;
    default:
      if(run != NO_RUN && han)
        k = run;
      run = NO_RUN;
      prev_han = han;
      ws = 0;
      break;
    }
    size_t nb = put_cp(o + k, to);
    for(size_t b = 0; b < nb; b++)
      m[k + b] = (uint32_t)start;
    k += nb;
  }
  if(ws == 2)
    k--;
  o[k] = '\0';
  m[k] = (uint32_t)len;
  out->len = k;
  return 0;
}

int qw_normalize(const char *src, size_t len, qw_norm *out)
{
  if(!out)
    return -EINVAL;
  out->text = NULL;
  out->map = NULL;
  out->len = 0;
  return qw_normalize_into(src, len, out);
}

void qw_norm_free(qw_norm *n)
{
  if(!n)
    return;
  free(n->text);
  free(n->map);
  n->text = NULL;
  n->map = NULL;
  n->len = 0;
}

void qw_norm_source_range(const qw_norm *n, size_t start, size_t end,
                          size_t *src_start, size_t *src_end)
{
  size_t len = n->len;
  if(end > len)
    end = len;
  if(start > end)
    start = end;
  *src_start = n->map[start];
  if(start == end) {
    *src_end = *src_start;
    return;
  }
  /* The character that produced byte end-1 ends where the next character
   * with a different source offset begins. */
  uint32_t last = n->map[end - 1];
  size_t j = end;
  while(j < len && n->map[j] == last)
    j++;
  *src_end = n->map[j];
}
