/* hsbytes.h — the byte-mode prefilter form of a rule pattern. Hyperscan
 * runs the pack's patterns as prefilters over every page; in UTF-8 mode a
 * bounded gap such as [^,，。\n]{0,6}? between two alternations becomes a
 * large automaton over multi-byte characters, and those patterns cost most
 * of the matching time. The same pattern rewritten for byte mode, so that
 * it matches everywhere the original can (a superset: a character class
 * of any character becomes a byte class repeated up to 4 times as often,
 * exclusions of non-ASCII characters and look-arounds are dropped), is
 * cheap for Hyperscan; PCRE2 still confirms every report with the original
 * pattern, so what is found does not change. */
#ifndef QW_HSBYTES_H
#define QW_HSBYTES_H

#include "buf.h"

/* Writes the byte-mode superset of the PCRE2 pattern re (UTF-8,
 * case-insensitive, as the matcher compiles it) into out (appended,
 * NUL-terminated). Returns 0, -ENOMEM, or -EINVAL when re uses syntax
 * this rewriter does not handle (inline options, backreferences, \p, …):
 * the caller then gives Hyperscan the original in UTF-8 mode. */
int qw_hs_byte_superset(const char *re, qw_buf *out);

#endif
