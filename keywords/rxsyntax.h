/* rxsyntax.h — the lexical pieces of the PCRE2 syntax that rule packs use,
 * shared by the two readers that rewrite rule patterns for the matcher:
 * hsbytes.c (byte-mode supersets for Hyperscan) and anchors.c (the literal
 * anchors every match must contain). Both are recursive-descent readers
 * over a qw_rx_reader; anything outside the handled syntax sets err, and
 * the caller then falls back to a slower but exact path. */
#ifndef QW_RXSYNTAX_H
#define QW_RXSYNTAX_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *p; /* next pattern byte */
  int err;       /* 0, -EINVAL (unhandled syntax) or -ENOMEM */
  int depth;     /* group nesting */
} qw_rx_reader;

/* Maximum group nesting the readers accept. */
#define QW_RX_MAX_DEPTH 64

/* One code point of the pattern (UTF-8) and its bytes, or -1. */
int64_t qw_rx_next_cp(qw_rx_reader *r, const unsigned char **start,
                      size_t *len);

/* 1 for the characters that are syntax outside a class. */
int qw_rx_is_meta(int c);

/* After "\x": \x{hhh} or \xhh; the code point, or -1. */
long qw_rx_hex_escape(qw_rx_reader *r);

/* The character an escape stands for, e being the byte after '\' (already
 * consumed): \n \t \r \f, \x{…} / \xhh (read from r->p), or an escaped
 * punctuation character. -1 for anything else (\s and the other sets,
 * \b, \p, back references …). */
long qw_rx_char_escape(qw_rx_reader *r, char e);

/* 1 when e (after '\') names a set of characters: \s \d \w \S \D \W. */
int qw_rx_is_set_escape(char e);

/* Inside "[…]", after the "[" and an optional "^": reads one member at
 * r->p. Returns 1 with the range [*lo, *hi] (a single character has
 * lo == hi), 2 with *set the letter of a set escape (s d w S D W), 0 at
 * the closing "]" (consumed; a "]" as the first member is a character),
 * -1 with err set for anything else (POSIX classes, a bad escape, an
 * unterminated class, a reversed range). */
int qw_rx_class_member(qw_rx_reader *r, int first, long *lo, long *hi,
                       char *set);

/* A quantifier at r->p (?, *, +, {n}, {n,}, {n,m}, each optionally lazy or
 * possessive): 1 and *mn, *mx (-1 = no maximum) when there is one, 0 when
 * there is none or it is malformed (err set then). */
int qw_rx_quantifier(qw_rx_reader *r, long *mn, long *mx);

/* After "(": reads the group's opening and enters the group. Returns 0
 * for a capturing, non-capturing or named group, 1 for a look-around, -1
 * (err set) for anything else (inline options, atomic groups,
 * conditionals …) or nesting deeper than QW_RX_MAX_DEPTH. */
int qw_rx_group_open(qw_rx_reader *r);

/* After a group's body: leaves the group and reads its ")" (err set when
 * it is not there). */
void qw_rx_group_close(qw_rx_reader *r);

/* 1 for a non-ASCII character that may have case variants: one outside
 * the ranges known to be caseless (CJK, kana, hangul, punctuation, symbols,
 * the full-width forms that are not letters). A byte-wise
 * case-insensitive search cannot stand in for PCRE2's caseless matching of
 * such a character. */
int qw_rx_may_fold(uint32_t cp);

/* 1 when some character of [lo, hi] may have case variants (as above). */
int qw_rx_range_may_fold(uint32_t lo, uint32_t hi);

/* For the ASCII letters PCRE2 also folds with a non-ASCII character (k, K
 * with KELVIN SIGN; s, S with LONG S): that character's UTF-8 bytes; else NULL. */
const char *qw_rx_extra_fold(uint32_t cp);

#endif
