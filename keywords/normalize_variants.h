/* normalize_variants.h — variant characters mapped to their simplified
 * standard form on top of OpenCC's TSCharacters table.
 *
 * Listing pages evade keyword filters with variant (异体) characters that a
 * traditional → simplified dictionary does not know, or maps elsewhere
 * (OpenCC maps 槼 → 椝 and 讅 → 谉; for matching we want 规 and 审), and with
 * Japanese shinjitai forms (薬 剤 験 …). gen_t2s.c merges this table into the
 * generated t2s table (an entry here overrides OpenCC) so the normaliser does
 * a single lookup per character; the tests check every entry. Only
 * characters that never occur in standard simplified text belong here.
 * Internal to keywords/; include from one translation unit per program. */
#ifndef QW_NORMALIZE_VARIANTS_H
#define QW_NORMALIZE_VARIANTS_H

#include <stdint.h>

typedef struct {
  uint32_t from, to;
} qw_norm_variant;

static const qw_norm_variant qw_norm_variants[] = {
  /* seen on real mirror pages (RULES-REFERENCE §6, §9) */
  {0x6BC9, 0x533B}, /* 毉 → 医 */
  {0x9EAA, 0x9762}, /* 麪 → 面 */
  {0x69FC, 0x89C4}, /* 槼 → 规 (OpenCC: 椝) */
  {0x8B85, 0x5BA1}, /* 讅 → 审 (OpenCC: 谉) */
  {0x8129, 0x4FEE}, /* 脩 → 修 */
  {0x8879, 0x53EA}, /* 衹 → 只 */
  {0x5105, 0x5F53}, /* 儅 → 当 */
  {0x9EBD, 0x4E48}, /* 麽 → 么 */
  {0x8A3C, 0x8BC1}, /* 証 → 证 */
  {0x8A3B, 0x6CE8}, /* 註 → 注 */
  {0x91AB, 0x533B}, /* 醫 → 医 */
  /* Hong Kong / Taiwan variant forms */
  {0x885E, 0x536B}, /* 衞 → 卫 */
  {0x654D, 0x53D9}, /* 敍 → 叙 */
  {0x75FA, 0x75F9}, /* 痺 → 痹 */
  {0x7CA7, 0x5986}, /* 粧 → 妆 */
  {0x7CED, 0x7CBD}, /* 糭 → 粽 */
  {0x7C37, 0x6A90}, /* 簷 → 檐 */
  {0x9751, 0x9752}, /* 靑 → 青 */
  {0x90DE, 0x90CE}, /* 郞 → 郎 */
  {0x5024, 0x503C}, /* 値 → 值 */
  {0x6DF8, 0x6E05}, /* 淸 → 清 */
  {0x7DD6, 0x7EEA}, /* 緖 → 绪 */
  /* old variant forms */
  {0x7609, 0x6108}, /* 瘉 → 愈 (治瘉) */
  {0x5650, 0x5668}, /* 噐 → 器 (醫療噐械) */
  {0x751E, 0x5C1D}, /* 甞 → 尝 */
  {0x594C, 0x70B9}, /* 奌 → 点 */
  {0x5E85, 0x4E48}, /* 庅 → 么 */
  {0x56D9, 0x56E0}, /* 囙 → 因 */
  {0x73CE, 0x73CD}, /* 珎 → 珍 */
  {0x5F83, 0x5F80}, /* 徃 → 往 */
  {0x56EC, 0x56DE}, /* 囬 → 回 */
  {0x5EF9, 0x8FEB}, /* 廹 → 迫 */
  {0x89E7, 0x89E3}, /* 觧 → 解 */
  {0x5190, 0x5192}, /* 冐 → 冒 */
  {0x6537, 0x8003}, /* 攷 → 考 */
  /* Japanese shinjitai */
  {0x52B9, 0x6548}, /* 効 → 效 */
  {0x85AC, 0x836F}, /* 薬 → 药 */
  {0x5264, 0x5242}, /* 剤 → 剂 */
  {0x9A13, 0x9A8C}, /* 験 → 验 */
  {0x691C, 0x68C0}, /* 検 → 检 */
  {0x5727, 0x538B}, /* 圧 → 压 */
  {0x6C17, 0x6C14}, /* 気 → 气 */
  {0x8133, 0x8111}, /* 脳 → 脑 */
  {0x6B6F, 0x9F7F}, /* 歯 → 齿 */
  {0x5869, 0x76D0}, /* 塩 → 盐 */
  {0x75E9, 0x7626}, /* 痩 → 瘦 */
  {0x5C02, 0x4E13}, /* 専 → 专 */
  {0x5358, 0x5355}, /* 単 → 单 */
  {0x4FA1, 0x4EF7}, /* 価 → 价 */
  {0x58F2, 0x5356}, /* 売 → 卖 */
  {0x51E6, 0x5904}, /* 処 → 处 */
  {0x6E08, 0x6D4E}, /* 済 → 济 */
  {0x9AEA, 0x53D1}, /* 髪 → 发 */
};

#define QW_NORM_NVARIANTS \
  (sizeof(qw_norm_variants) / sizeof(qw_norm_variants[0]))

#endif
