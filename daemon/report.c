/* report.c — the readable findings table (see report.h). */
#include "report.h"

#include <string.h>

#include "utf8.h"

static int is_wide(uint32_t cp)
{
  return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
         (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
         (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
         (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
         (cp >= 0x20000 && cp <= 0x3FFFD);
}

size_t qw_report_width(const char *s)
{
  size_t w = 0, i = 0, n = strlen(s);
  while(i < n) {
    uint32_t cp = qw_utf8_next(s, n, &i);
    w += is_wide(cp) ? 2 : 1;
  }
  return w;
}

/* Prints s padded with spaces to width columns. */
static void pad(FILE *out, const char *s, size_t width)
{
  fputs(s, out);
  for(size_t w = qw_report_width(s); w < width; w++)
    fputc(' ', out);
}

/* Prints s with control characters (and the block separator) shown as
 * spaces, cut to about max columns. */
static void put_clean(FILE *out, const char *s, size_t max)
{
  size_t i = 0, n = strlen(s), w = 0;
  while(i < n) {
    size_t st = i;
    uint32_t cp = qw_utf8_next(s, n, &i);
    size_t cw = is_wide(cp) ? 2 : 1;
    if(w + cw > max) {
      fputs("…", out);
      return;
    }
    w += cw;
    if(cp < 0x20)
      fputc(' ', out);
    else
      fwrite(s + st, 1, i - st, out);
  }
}

static const char *sev_color(qw_severity s)
{
  switch(s) {
  case QW_SEV_CRITICAL:
    return "\033[1;31m";
  case QW_SEV_HIGH:
    return "\033[31m";
  case QW_SEV_MEDIUM:
    return "\033[33m";
  default:
    return "\033[36m";
  }
}

void qw_report_page(FILE *out, const char *input, const qw_ruleset *rs,
                    const qw_page *page, const qw_charset_info *cs,
                    const qw_analysis *an, int color)
{
  if(color)
    fputs("\033[1m", out);
  fputs(input, out);
  if(color)
    fputs("\033[0m", out);
  fprintf(out, "  [%s", qw_page_type_name(an->page_type));
  if(an->is_device) {
    fputs(", 医疗器械", out);
    if(an->device_class)
      fprintf(out, " 第%s类", an->device_class == 3 ? "三" :
              an->device_class == 2 ? "二" : "一");
    for(size_t i = 0; i < an->n_devices && i < 3; i++)
      fprintf(out, "%s%s", i ? "、" : ": ",
              rs->devices[an->devices[i].device].name);
  }
  if(cs)
    fprintf(out, ", %s (%s)", cs->name, qw_charset_source_name(cs->source));
  if(page && page->truncated)
    fputs(", truncated", out);
  fprintf(out, "]  %zu finding%s\n", an->n_findings,
          an->n_findings == 1 ? "" : "s");
  if(page && page->title && *page->title) {
    fputs("  title: ", out);
    put_clean(out, page->title, 100);
    fputc('\n', out);
  }
  for(size_t i = 0; i < an->n_findings; i++) {
    const qw_finding *f = &an->findings[i];
    char sev[16];
    snprintf(sev, sizeof(sev), "%s", qw_severity_name(f->severity));
    for(char *p = sev; *p; p++)
      if(*p >= 'a' && *p <= 'z')
        *p = (char)(*p - 'a' + 'A');
    fputs("  ", out);
    if(color)
      fputs(sev_color(f->severity), out);
    pad(out, sev, 9);
    if(color)
      fputs("\033[0m", out);
    pad(out, qw_category_name(f->category), 24);
    pad(out, f->rule->id, 33);
    if(f->match && *f->match) {
      fputs("「", out);
      put_clean(out, f->match, 40);
      fputs("」", out);
      if(f->context && strcmp(f->context, f->match) != 0) {
        fputs(" …", out);
        put_clean(out, f->context, 70);
        fputs("…", out);
      }
    }
    else {
      put_clean(out, f->rule->message ? f->rule->message : "", 70);
    }
    fputc('\n', out);
    if(f->detail && *f->detail) {
      fputs("           ", out);
      put_clean(out, f->detail, 110);
      fputc('\n', out);
    }
  }
}
