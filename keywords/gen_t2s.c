/* gen_t2s.c — build-time generator of the traditional → simplified table.
 *
 * Run by the build as `gen-t2s OUTPUT.c`. It opens OpenCC (the Debian
 * package's library and data) with a character-only configuration written
 * next to OUTPUT (TSCharacters.ocd2 for both segmentation and conversion,
 * so every character converts on its own, without phrase context), converts
 * every code point U+0021–U+10FFFF in one batched string with one code point
 * per line, and keeps the lines where exactly one code point became exactly
 * one different code point. The variant table of normalize_variants.h is
 * merged on top (it wins over OpenCC), chains are resolved (薴 → 苧 → 苎
 * becomes 薴 → 苎) so the table is idempotent, and the result is written as
 * the bitmap + rank + targets tables that t2s.h describes.
 *
 * The output depends only on the installed OpenCC data, so it is
 * deterministic. Any failure (OpenCC cannot be opened, a conversion fails,
 * the result looks wrong) prints a message and exits non-zero, which fails
 * the build. */
#include <opencc/opencc.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "normalize_variants.h"
#include "t2s.h"

#define CP_END 0x110000u
#define CHAIN_MAX 8

static const char config_json[] =
  "{\n"
  "  \"name\": \"qingwang t2s, characters only\",\n"
  "  \"segmentation\": {\n"
  "    \"type\": \"mmseg\",\n"
  "    \"dict\": {\"type\": \"ocd2\", \"file\": \"TSCharacters.ocd2\"}\n"
  "  },\n"
  "  \"conversion_chain\": [{\n"
  "    \"dict\": {\"type\": \"ocd2\", \"file\": \"TSCharacters.ocd2\"}\n"
  "  }]\n"
  "}\n";

/* Mappings every TSCharacters dictionary has; their absence means the data
 * is not what we think it is. */
static const uint32_t must_map[][2] = {
  {0x91AB, 0x533B}, /* 醫 医 */
  {0x7642, 0x7597}, /* 療 疗 */
  {0x807D, 0x542C}, /* 聽 听 */
  {0x93E1, 0x955C}, /* 鏡 镜 */
  {0x96B1, 0x9690}, /* 隱 隐 */
  {0x8B49, 0x8BC1}, /* 證 证 */
  {0x518A, 0x518C}, /* 冊 册 */
  {0x6E96, 0x51C6}, /* 準 准 */
  {0x7CB5, 0x7CA4}, /* 粵 粤 */
  {0x5668, 0x5668}, /* 器 unchanged */
  {0x68B0, 0x68B0}, /* 械 unchanged */
  {0x533B, 0x533B}, /* 医 unchanged */
};

static void fail(const char *what)
{
  fprintf(stderr, "gen-t2s: %s\n", what);
}

/* Strict decoder for OpenCC's output: returns the code point and advances
 * *p, or returns UINT32_MAX on a malformed sequence (a genuine U+FFFD is
 * three bytes; qw_utf8_next reports malformed input as U+FFFD over one). */
static uint32_t decode(const unsigned char **p, const unsigned char *end)
{
  size_t i = 0;
  uint32_t cp = qw_utf8_next((const char *)*p, (size_t)(end - *p), &i);
  if(cp == 0xFFFD && i != 3)
    return UINT32_MAX;
  *p += i;
  return cp;
}

static int skip_cp(uint32_t cp)
{
  return cp == '\n' || (cp >= 0xD800 && cp <= 0xDFFF);
}

/* Fills map[cp] for every code point from OpenCC. Returns 0 or -1. */
static int run_opencc(const char *cfg_path, uint32_t *map)
{
  opencc_t cc = opencc_open(cfg_path);
  if(cc == (opencc_t)-1) {
    fprintf(stderr, "gen-t2s: cannot open OpenCC with %s: %s\n", cfg_path,
            opencc_error());
    return -1;
  }
  size_t cap = (size_t)CP_END * 5 + 1;
  char *in = malloc(cap);
  if(!in) {
    opencc_close(cc);
    fail("out of memory");
    return -1;
  }
  size_t n = 0;
  for(uint32_t cp = 0x21; cp < CP_END; cp++) {
    if(skip_cp(cp))
      continue;
    n += qw_utf8_encode(cp, in + n);
    in[n++] = '\n';
  }
  in[n] = '\0';
  char *out = opencc_convert_utf8(cc, in, n);
  free(in);
  if(!out) {
    fprintf(stderr, "gen-t2s: OpenCC conversion failed: %s\n",
            opencc_error());
    opencc_close(cc);
    return -1;
  }
  const unsigned char *p = (const unsigned char *)out;
  const unsigned char *end = p + strlen(out);
  int rc = 0;
  for(uint32_t cp = 0x21; cp < CP_END && rc == 0; cp++) {
    if(skip_cp(cp))
      continue;
    uint32_t first = UINT32_MAX;
    unsigned count = 0;
    while(p < end && *p != '\n') {
      uint32_t t = decode(&p, end);
      if(t == UINT32_MAX) {
        fail("OpenCC returned malformed UTF-8");
        rc = -1;
        break;
      }
      if(count++ == 0)
        first = t;
    }
    if(rc)
      break;
    if(p >= end) {
      fail("OpenCC output has fewer lines than its input");
      rc = -1;
      break;
    }
    p++; /* the '\n' */
    /* Only 1 → 1 mappings that change something are kept. */
    if(count == 1 && first != cp)
      map[cp] = first;
  }
  if(rc == 0 && p != end) {
    fail("OpenCC output has more lines than its input");
    rc = -1;
  }
  opencc_convert_utf8_free(out);
  opencc_close(cc);
  return rc;
}

/* Merges the variants, resolves chains, drops what the table cannot hold.
 * Returns the number of entries, or -1. */
static long finish_map(uint32_t *map)
{
  for(size_t v = 0; v < QW_NORM_NVARIANTS; v++) {
    uint32_t from = qw_norm_variants[v].from;
    uint32_t to = qw_norm_variants[v].to;
    if(from >= QW_T2S_LIMIT || to >= CP_END || from == to) {
      fail("bad entry in normalize_variants.h");
      return -1;
    }
    map[from] = to;
  }
  /* Resolve chains against the merged map (reads map, writes res). */
  uint32_t *res = malloc(sizeof(uint32_t) * CP_END);
  if(!res) {
    fail("out of memory");
    return -1;
  }
  long count = 0;
  for(uint32_t cp = 0; cp < CP_END; cp++) {
    uint32_t t = map[cp];
    int steps = 0;
    while(map[t] != t && steps < CHAIN_MAX) {
      t = map[t];
      steps++;
    }
    if(steps == CHAIN_MAX) {
      fprintf(stderr, "gen-t2s: warning: cycle at U+%04X, dropped\n",
              (unsigned)cp);
      t = cp;
    }
    if(t != cp && cp >= QW_T2S_LIMIT) {
      fprintf(stderr, "gen-t2s: warning: U+%04X is beyond the table, "
              "dropped\n", (unsigned)cp);
      t = cp;
    }
    res[cp] = t;
    if(t != cp)
      count++;
  }
  memcpy(map, res, sizeof(uint32_t) * CP_END);
  free(res);
  for(size_t k = 0; k < sizeof(must_map) / sizeof(must_map[0]); k++) {
    if(map[must_map[k][0]] != must_map[k][1]) {
      fprintf(stderr, "gen-t2s: OpenCC data maps U+%04X to U+%04X, expected "
              "U+%04X: wrong dictionary?\n", (unsigned)must_map[k][0],
              (unsigned)map[must_map[k][0]], (unsigned)must_map[k][1]);
      return -1;
    }
  }
  if(count < 2000 || count > 65535) {
    fprintf(stderr, "gen-t2s: implausible table size %ld\n", count);
    return -1;
  }
  return count;
}

static int write_table(FILE *f, const uint32_t *map, long count)
{
  fprintf(f, "/* t2s_table.c — GENERATED by gen-t2s from OpenCC's "
          "TSCharacters.ocd2\n"
          " * and keywords/normalize_variants.h; do not edit, do not "
          "commit.\n"
          " * %ld code points change. See t2s.h for the layout. */\n"
          "#include \"t2s.h\"\n\n", count);
  fputs("const uint64_t qw_t2s_bits[QW_T2S_WORDS] = {\n", f);
  for(uint32_t w = 0; w < QW_T2S_WORDS; w++) {
    uint64_t bits = 0;
    for(uint32_t b = 0; b < 64; b++) {
      uint32_t cp = w * 64 + b;
      if(map[cp] != cp)
        bits |= (uint64_t)1 << b;
    }
    if(bits)
      fprintf(f, "  [%u] = UINT64_C(0x%016llx),\n", (unsigned)w,
              (unsigned long long)bits);
  }
  fputs("};\n\nconst uint16_t qw_t2s_rank[QW_T2S_WORDS] = {", f);
  unsigned rank = 0;
  for(uint32_t w = 0; w < QW_T2S_WORDS; w++) {
    fprintf(f, "%s%u,", w % 12 ? " " : "\n  ", rank);
    for(uint32_t b = 0; b < 64; b++) {
      uint32_t cp = w * 64 + b;
      if(map[cp] != cp)
        rank++;
    }
  }
  fputs("\n};\n\nconst uint32_t qw_t2s_to[] = {", f);
  unsigned k = 0;
  for(uint32_t cp = 0; cp < QW_T2S_LIMIT; cp++) {
    if(map[cp] == cp)
      continue;
    fprintf(f, "%s0x%05x,", k % 8 ? " " : "\n  ", (unsigned)map[cp]);
    k++;
  }
  fprintf(f, "\n};\n\nconst unsigned qw_t2s_count = %u;\n", k);
  return k == (unsigned)count ? 0 : -1;
}

int main(int argc, char **argv)
{
  if(argc != 2) {
    fprintf(stderr, "usage: gen-t2s OUTPUT.c\n");
    return 2;
  }
  const char *out_path = argv[1];
  size_t olen = strlen(out_path);
  char *cfg_path = malloc(olen + 16);
  char *tmp_path = malloc(olen + 16);
  uint32_t *map = malloc(sizeof(uint32_t) * CP_END);
  if(!cfg_path || !tmp_path || !map) {
    fail("out of memory");
    free(cfg_path);
    free(tmp_path);
    free(map);
    return 1;
  }
  snprintf(cfg_path, olen + 16, "%s.opencc.json", out_path);
  snprintf(tmp_path, olen + 16, "%s.tmp", out_path);
  for(uint32_t cp = 0; cp < CP_END; cp++)
    map[cp] = cp;

  int rc = 1, werr;
  long count;
  FILE *f, *cf = fopen(cfg_path, "w");
  if(!cf) {
    fprintf(stderr, "gen-t2s: %s: %s\n", cfg_path, strerror(errno));
    goto out;
  }
  werr = fputs(config_json, cf) < 0;
  if(fclose(cf) != 0 || werr) {
    fprintf(stderr, "gen-t2s: cannot write %s\n", cfg_path);
    goto out;
  }
  werr = run_opencc(cfg_path, map);
  remove(cfg_path);
  if(werr != 0)
    goto out;
  count = finish_map(map);
  if(count < 0)
    goto out;

  f = fopen(tmp_path, "w");
  if(!f) {
    fprintf(stderr, "gen-t2s: %s: %s\n", tmp_path, strerror(errno));
    goto out;
  }
  werr = write_table(f, map, count);
  if(ferror(f))
    werr = -1;
  if(fclose(f) != 0 || werr != 0) {
    fprintf(stderr, "gen-t2s: cannot write %s\n", tmp_path);
    remove(tmp_path);
    goto out;
  }
  if(rename(tmp_path, out_path) != 0) {
    fprintf(stderr, "gen-t2s: rename to %s: %s\n", out_path,
            strerror(errno));
    remove(tmp_path);
    goto out;
  }
  rc = 0;
out:
  free(cfg_path);
  free(tmp_path);
  free(map);
  return rc;
}
