/* log.c — line-per-event logging to stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static qw_log_level min_level = QW_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void qw_log_set_level(qw_log_level lv)
{
  min_level = lv;
}

int qw_log_level_from_name(const char *name)
{
  for(int i = 0; i < 4; i++)
    if(strcmp(name, level_names[i]) == 0)
      return i;
  return -1;
}

const char *qw_log_quote(const char *s)
{
  static __thread char bufs[4][512];
  static __thread unsigned next;
  char *b = bufs[next++ & 3];
  size_t o = 0, cap = sizeof(bufs[0]);
  b[o++] = '"';
  for(; s && *s && o < cap - 6; s++) {
    char c = *s;
    if(c == '"' || c == '\\') {
      b[o++] = '\\';
      b[o++] = c;
    }
    else if(c == '\n') {
      b[o++] = '\\';
      b[o++] = 'n';
    }
    else if((unsigned char)c < 0x20) {
      b[o++] = ' ';
    }
    else {
      b[o++] = c;
    }
  }
  if(s && *s) {
    /* cut on a UTF-8 boundary */
    while(o > 1 && ((unsigned char)b[o - 1] & 0xC0) == 0x80)
      o--;
    if(o > 1 && ((unsigned char)b[o - 1] & 0xC0) == 0xC0)
      o--;
    b[o++] = '.';
    b[o++] = '.';
    b[o++] = '.';
  }
  b[o++] = '"';
  b[o] = '\0';
  return b;
}

void qw_log(qw_log_level lv, const char *event, const char *fmt, ...)
{
  if(lv < min_level)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tmv;
  gmtime_r(&ts.tv_sec, &tmv);
  char when[32];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tmv);
  char line[2048];
  int n = snprintf(line, sizeof(line), "%s.%03ldZ level=%s event=%s", when,
                   ts.tv_nsec / 1000000L, level_names[lv], event);
  if(n < 0)
    return;
  if(fmt && *fmt && (size_t)n < sizeof(line) - 2) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if(m > 0)
      n += m;
    if((size_t)n >= sizeof(line))
      n = (int)sizeof(line) - 1;
  }
  line[n] = '\0';
  fprintf(stderr, "%s\n", line);
}
