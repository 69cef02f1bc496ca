/* t2s.h — traditional → simplified lookup, one code point to one code point.
 *
 * The tables are generated at build time by gen_t2s.c (the gen-t2s program)
 * from OpenCC's installed TSCharacters dictionary, merged with the variant
 * table in normalize_variants.h, with chains resolved so that the mapping is
 * idempotent: qw_t2s(qw_t2s(cp)) == qw_t2s(cp). Internal to keywords/.
 *
 * Layout: one bit per code point below QW_T2S_LIMIT says "this code point
 * changes"; qw_t2s_rank[w] counts the set bits in the words before word w,
 * so the target of a changing code point is qw_t2s_to[rank + bits below it].
 * The hot case (an unchanged simplified character) costs one load from a
 * 3.4 KiB slice of the bitmap. */
#ifndef QW_T2S_H
#define QW_T2S_H

#include <stdint.h>

#define QW_T2S_LIMIT 0x30000u /* code points at or above are never mapped */
#define QW_T2S_WORDS (QW_T2S_LIMIT / 64u)

extern const uint64_t qw_t2s_bits[QW_T2S_WORDS];
extern const uint16_t qw_t2s_rank[QW_T2S_WORDS];
extern const uint32_t qw_t2s_to[];
extern const unsigned qw_t2s_count; /* entries in qw_t2s_to */

/* Simplified form of cp, or cp itself when the table does not change it. */
static inline uint32_t qw_t2s(uint32_t cp)
{
  if(cp >= QW_T2S_LIMIT)
    return cp;
  uint64_t w = qw_t2s_bits[cp >> 6];
  uint64_t bit = (uint64_t)1 << (cp & 63u);
  if(!(w & bit))
    return cp;
  return qw_t2s_to[qw_t2s_rank[cp >> 6] +
                   (unsigned)__builtin_popcountll(w & (bit - 1))];
}

#endif
