/* rawtext.c — comment, raw-text and script-data ends by the HTML
 * tokenizer's states (see rawtext.h). Pure functions over a byte range. */
#include "rawtext.h"

#include <string.h>

/* White space as the tokenizer sees it after input preprocessing (CR is
 * LF by then). */
static int is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int lower(unsigned char c)
{
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

size_t qw_html_comment_end(const char *s, size_t n, size_t i)
{
  /* comment start state: "<!-->" and "<!--->" end at once */
  if(i < n && s[i] == '>')
    return i + 1;
  if(i + 1 < n && s[i] == '-' && s[i + 1] == '>')
    return i + 2;
  while(i + 1 < n) {
    const char *p = memmem(s + i, n - i, "--", 2);
    if(!p)
      return n;
    size_t k = (size_t)(p - s) + 2;
    while(k < n && s[k] == '-') /* comment end state: more dashes stay */
      k++;
    if(k < n && s[k] == '>')
      return k + 1;
    if(k + 1 < n && s[k] == '!' && s[k + 1] == '>') /* comment end bang */
      return k + 2;
    i = k;
  }
  return n;
}

/* 1 when s[p..) is "</" + the letters of name (any case) followed by white
 * space, '/' or '>': an appropriate end tag. */
static int end_tag_at(const char *s, size_t n, size_t p, const char *name,
                      size_t nl)
{
  if(p + 2 + nl >= n || s[p + 1] != '/')
    return 0;
  for(size_t k = 0; k < nl; k++) {
    if(lower((unsigned char)s[p + 2 + k]) != (unsigned char)name[k])
      return 0;
  }
  unsigned char c = (unsigned char)s[p + 2 + nl];
  return is_space(c) || c == '/' || c == '>';
}

size_t qw_html_rawtext_end(const char *s, size_t n, size_t i,
                           const char *name, size_t nl)
{
  while(i < n) {
    const char *p = memchr(s + i, '<', n - i);
    if(!p)
      return n;
    size_t at = (size_t)(p - s);
    if(end_tag_at(s, n, at, name, nl))
      return at;
    i = at + 1;
  }
  return n;
}

/* Reads ASCII letters from s[*i..) and returns 1 when they spell "script"
 * (any case) and are followed by white space, '/' or '>'; *i is left on
 * the first character that is not a letter. */
static int script_word(const char *s, size_t n, size_t *i)
{
  static const char w[] = "script";
  size_t k = *i, len = 0;
  int same = 1;
  while(k < n && is_alpha((unsigned char)s[k])) {
    if(len >= 6 || lower((unsigned char)s[k]) != w[len])
      same = 0;
    len++;
    k++;
  }
  *i = k;
  if(!same || len != 6 || k >= n)
    return 0;
  unsigned char c = (unsigned char)s[k];
  return is_space(c) || c == '/' || c == '>';
}

enum { SD, ESC, DESC }; /* script data, escaped, double escaped */

size_t qw_html_script_end(const char *s, size_t n, size_t i)
{
  int st = SD;
  while(i < n) {
    if(st == SD) {
      const char *p = memchr(s + i, '<', n - i);
      if(!p)
        return n;
      size_t at = (size_t)(p - s);
      if(end_tag_at(s, n, at, "script", 6))
        return at;
      /* "<!--" enters the escaped state, "<!-->" leaves it at once */
      if(at + 3 < n && s[at + 1] == '!' && s[at + 2] == '-' &&
         s[at + 3] == '-') {
        i = at + 4;
        while(i < n && s[i] == '-')
          i++;
        if(i < n && s[i] == '>')
          i++;
        else
          st = ESC;
        continue;
      }
      i = at + 1;
      continue;
    }
    /* escaped and double escaped: "-->" goes back to script data */
    unsigned char c = (unsigned char)s[i];
    if(c == '-') {
      size_t k = i;
      while(k < n && s[k] == '-')
        k++;
      if(k - i >= 2 && k < n && s[k] == '>') {
        st = SD;
        i = k + 1;
      }
      else
        i = k;
      continue;
    }
    if(c != '<') {
      i++;
      continue;
    }
    if(st == ESC) {
      if(end_tag_at(s, n, i, "script", 6))
        return i;
      size_t k = i + 1;
      if(k < n && is_alpha((unsigned char)s[k])) {
        if(script_word(s, n, &k))
          st = DESC; /* "<script" inside "<!--": its "</script>" is text */
        i = k;
        continue;
      }
      i++;
      continue;
    }
    /* double escaped: "</script" + delimiter goes back to escaped */
    size_t k = i + 1;
    if(k < n && s[k] == '/') {
      k++;
      if(script_word(s, n, &k))
        st = ESC;
      i = k;
      continue;
    }
    i++;
  }
  return n;
}
