/* test_charset.c — charset sniffing and conversion to UTF-8: labels, BOM,
 * transport and <meta> precedence, the prescan, CJK decoders, lying
 * declarations, detection, broken and random input, speed. Fixture pages
 * are written by tests/fixtures/charset/make_fixtures.py. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charset.h"
#include "qw_test.h"
#include "utf8.h"

typedef struct {
  int rc;
  char *out;
  size_t len;
  qw_charset_info info;
} dec;

/* Decodes and checks the invariants every successful call must keep. */
static dec run(const char *in, size_t len, const char *user, const char *tr)
{
  dec d;
  memset(&d, 0, sizeof(d));
  memset(&d.info, 0x5A, sizeof(d.info));
  d.rc = qw_charset_decode(in, len, user, tr, &d.out, &d.len, &d.info);
  if(d.rc == 0) {
    ck_assert_ptr_nonnull(d.out);
    ck_assert_msg(qw_utf8_valid(d.out, d.len), "output is not UTF-8");
    ck_assert_int_eq(d.out[d.len], '\0');
    ck_assert(memchr(d.info.name, '\0', sizeof(d.info.name)) != NULL);
    ck_assert(memchr(d.info.declared, '\0',
                     sizeof(d.info.declared)) != NULL);
    ck_assert(qw_charset_canonical(d.info.name, strlen(d.info.name)) !=
              NULL);
  }
  return d;
}

static dec run_s(const char *in, const char *user, const char *tr)
{
  return run(in, strlen(in), user, tr);
}

static void done(dec *d)
{
  free(d->out);
  d->out = NULL;
}

static char *fixture(const char *name, size_t *len)
{
  char rel[512];
  snprintf(rel, sizeof(rel), "charset/%s", name);
  return qw_test_read(qw_test_fixture(rel), len);
}

/* Decodes a fixture page with no hints and compares with NAME.utf8. */
static dec run_fixture(const char *name, const char *user, const char *tr,
                       int compare)
{
  size_t len, elen;
  char *in = fixture(name, &len);
  dec d = run(in, len, user, tr);
  ck_assert_int_eq(d.rc, 0);
  if(compare) {
    char ename[256];
    snprintf(ename, sizeof(ename), "%s.utf8", name);
    char *exp = fixture(ename, &elen);
    ck_assert_msg(d.len == elen && memcmp(d.out, exp, elen) == 0,
                  "%s: decoded text differs from %s (%zu vs %zu bytes)",
                  name, ename, d.len, elen);
    free(exp);
  }
  free(in);
  return d;
}

/* ===== labels ===== */

static const struct {
  const char *label, *name;
} label_cases[] = {
  {"utf-8", "UTF-8"}, {"UTF8", "UTF-8"}, {"unicode-1-1-utf-8", "UTF-8"},
  {"gb2312", "GBK"}, {"GBK", "GBK"}, {"x-gbk", "GBK"}, {"chinese", "GBK"},
  {"csgb2312", "GBK"}, {"iso-ir-58", "GBK"}, {"gb_2312-80", "GBK"},
  {"csiso58gb231280", "GBK"}, {"gb_2312", "GBK"}, {"GB18030", "gb18030"},
  {"big5", "Big5"}, {"Big5-HKSCS", "Big5"}, {"cn-big5", "Big5"},
  {"x-x-big5", "Big5"}, {"csbig5", "Big5"},
  {"iso-8859-1", "windows-1252"}, {"ISO_8859-1:1987", "windows-1252"},
  {"latin1", "windows-1252"}, {"us-ascii", "windows-1252"},
  {"ascii", "windows-1252"}, {"cp1252", "windows-1252"},
  {"l1", "windows-1252"}, {"ansi_x3.4-1968", "windows-1252"},
  {"iso-8859-9", "windows-1254"}, {"latin5", "windows-1254"},
  {"tis-620", "windows-874"}, {"iso-8859-11", "windows-874"},
  {"windows-1251", "windows-1251"}, {"x-cp1250", "windows-1250"},
  {"cp1258", "windows-1258"}, {"iso-8859-2", "ISO-8859-2"},
  {"iso-8859-15", "ISO-8859-15"}, {"latin9", NULL},
  {"iso-8859-8-i", "ISO-8859-8-I"}, {"logical", "ISO-8859-8-I"},
  {"visual", "ISO-8859-8"}, {"koi8-r", "KOI8-R"}, {"koi", "KOI8-R"},
  {"koi8-ru", "KOI8-U"}, {"ibm866", "IBM866"}, {"mac", "macintosh"},
  {"x-mac-ukrainian", "x-mac-cyrillic"},
  {"euc-jp", "EUC-JP"}, {"x-euc-jp", "EUC-JP"},
  {"iso-2022-jp", "ISO-2022-JP"}, {"sjis", "Shift_JIS"},
  {"windows-31j", "Shift_JIS"}, {"ms_kanji", "Shift_JIS"},
  {"euc-kr", "EUC-KR"}, {"windows-949", "EUC-KR"},
  {"ks_c_5601-1987", "EUC-KR"}, {"korean", "EUC-KR"},
  {"utf-16", "UTF-16LE"}, {"utf-16le", "UTF-16LE"}, {"ucs-2", "UTF-16LE"},
  {"utf-16be", "UTF-16BE"}, {"unicodefffe", "UTF-16BE"},
  {"hz-gb-2312", "replacement"}, {"iso-2022-kr", "replacement"},
  {"x-user-defined", "x-user-defined"},
  {"", NULL}, {"gb", NULL}, {"utf-7", NULL}, {"gbk2", NULL},
  {"big5 hkscs", NULL}, {"utf-32", NULL},
  {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL},
};

START_TEST(test_canonical_table)
{
  size_t n = sizeof(label_cases) / sizeof(label_cases[0]);
  for(size_t i = 0; i < n; i++) {
    const char *got = qw_charset_canonical(label_cases[i].label,
                                           strlen(label_cases[i].label));
    if(!label_cases[i].name)
      ck_assert_msg(got == NULL, "%s: expected unknown, got %s",
                    label_cases[i].label, got);
    else {
      ck_assert_msg(got != NULL, "%s: unknown", label_cases[i].label);
      ck_assert_str_eq(got, label_cases[i].name);
      /* A canonical name is itself a label of the same encoding. */
      ck_assert_str_eq(qw_charset_canonical(got, strlen(got)), got);
    }
  }
}
END_TEST

START_TEST(test_canonical_spaces_and_length)
{
  ck_assert_str_eq(qw_charset_canonical(" \tGB2312\r\n ", 11), "GBK");
  ck_assert_str_eq(qw_charset_canonical("\fBig5 ", 6), "Big5");
  /* len bounds the label: no NUL needed, and nothing read past it. */
  ck_assert_str_eq(qw_charset_canonical("gbkXYZ", 3), "GBK");
  ck_assert_str_eq(qw_charset_canonical("utf-8;", 5), "UTF-8");
  ck_assert_ptr_null(qw_charset_canonical("utf-8", 4));
  ck_assert_ptr_null(qw_charset_canonical("   ", 3));
  ck_assert_ptr_null(qw_charset_canonical(NULL, 0));
  /* Only ASCII white space is trimmed, only ASCII letters fold. */
  ck_assert_ptr_null(qw_charset_canonical("\xC2\xA0gbk", 5));
  ck_assert_ptr_null(qw_charset_canonical("g\xC4\xB0k", 4));
}
END_TEST

START_TEST(test_source_names)
{
  ck_assert_str_eq(qw_charset_source_name(QW_CS_USER), "user");
  ck_assert_str_eq(qw_charset_source_name(QW_CS_BOM), "bom");
  ck_assert_str_eq(qw_charset_source_name(QW_CS_TRANSPORT), "transport");
  ck_assert_str_eq(qw_charset_source_name(QW_CS_META), "meta");
  ck_assert_str_eq(qw_charset_source_name(QW_CS_DETECTED), "detected");
  ck_assert_str_eq(qw_charset_source_name(QW_CS_DEFAULT), "default");
}
END_TEST

static const struct {
  const char *ctype, *name; /* name NULL: -1 expected */
} ctype_cases[] = {
  {"text/html; charset=gbk", "GBK"},
  {"text/html;charset=UTF-8", "UTF-8"},
  {"text/html; CHARSET=\"Big5\"", "Big5"},
  {"text/html ; Charset = gb18030 ", "gb18030"},
  {"text/html; foo=bar; charset=iso-8859-1; q=1", "windows-1252"},
  {"text/html; foo=\"a;charset=big5\"; charset=gb2312", "GBK"},
  {"text/html; foo=\"a\\\"; charset=big5\"; charset=euc-kr", "EUC-KR"},
  {"text/html; charset=\"utf-8", "UTF-8"},
  {"text/html;;charset=shift_jis", "Shift_JIS"},
  {"text/html; xcharset=gbk", NULL},
  {"text/html; charsets=gbk", NULL},
  {"text/html", NULL},
  {"text/html; charset=", NULL},
  {"text/html; charset=klingon", NULL},
  {"text/html; charset", NULL},
  {"charset=gbk", NULL},
  {"", NULL},
};

START_TEST(test_content_type)
{
  size_t n = sizeof(ctype_cases) / sizeof(ctype_cases[0]);
  for(size_t i = 0; i < n; i++) {
    char out[32] = "untouched";
    int r = qw_charset_from_content_type(ctype_cases[i].ctype, out);
    if(ctype_cases[i].name) {
      ck_assert_msg(r == 0, "%s: %d", ctype_cases[i].ctype, r);
      ck_assert_str_eq(out, ctype_cases[i].name);
    }
    else
      ck_assert_msg(r == -1, "%s: expected -1, got %s", ctype_cases[i].ctype,
                    out);
  }
  char out[32];
  ck_assert_int_eq(qw_charset_from_content_type(NULL, out), -1);
}
END_TEST

/* ===== BOM, user, transport, meta precedence ===== */

START_TEST(test_bom_utf8)
{
  dec d = run_s("\xEF\xBB\xBF<p>\xE8\xA1\x80\xE5\x8E\x8B</p>", NULL, "gbk");
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "<p>\xE8\xA1\x80\xE5\x8E\x8B</p>");
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_BOM);
  ck_assert_str_eq(d.info.declared, "");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
  /* A BOM alone gives an empty document. */
  d = run_s("\xEF\xBB\xBF", NULL, NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_uint_eq(d.len, 0);
  ck_assert_int_eq(d.info.source, QW_CS_BOM);
  done(&d);
}
END_TEST

START_TEST(test_bom_utf16)
{
  /* FF FE + "中文abc" in UTF-16LE, declared gbk by transport and meta. */
  static const char le[] = "\xFF\xFE\x2D\x4E\x87\x65\x61\x00\x62\x00\x63\x00";
  dec d = run(le, sizeof(le) - 1, NULL, "gbk");
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "\xE4\xB8\xAD\xE6\x96\x87" "abc");
  ck_assert_str_eq(d.info.name, "UTF-16LE");
  ck_assert_int_eq(d.info.source, QW_CS_BOM);
  done(&d);
  /* FE FF + "中文" + U+20BB7 (a surrogate pair) in UTF-16BE. */
  static const char be[] = "\xFE\xFF\x4E\x2D\x65\x87\xD8\x42\xDF\xB7";
  d = run(be, sizeof(be) - 1, NULL, NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "\xE4\xB8\xAD\xE6\x96\x87\xF0\xA0\xAE\xB7");
  ck_assert_str_eq(d.info.name, "UTF-16BE");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
  /* Lone surrogates and an odd final byte become U+FFFD. */
  static const char bad[] = "\xFF\xFE\x00\xD8\x41\x00\x00\xDC\x42";
  d = run(bad, sizeof(bad) - 1, NULL, NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "\xEF\xBF\xBD" "A" "\xEF\xBF\xBD\xEF\xBF\xBD");
  ck_assert_uint_eq(d.info.replaced, 3);
  done(&d);
}
END_TEST

START_TEST(test_user_wins)
{
  /* UTF-8 text with a UTF-8 BOM, forced to GBK: the user always wins,
   * even against a BOM (which then stays part of the text). */
  static const char s[] = "\xEF\xBB\xBF\xE8\xA1\x80\xE5\x8E\x8B";
  dec d = run_s(s, "gbk", "utf-8");
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_USER);
  ck_assert_str_eq(d.info.declared, "");
  ck_assert_str_ne(d.out, "\xE8\xA1\x80\xE5\x8E\x8B");
  done(&d);
  /* Forced UTF-8 strips its own BOM. */
  d = run_s(s, "UTF8", "gbk");
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "\xE8\xA1\x80\xE5\x8E\x8B");
  ck_assert_int_eq(d.info.source, QW_CS_USER);
  done(&d);
  /* Forced GBK on GBK bytes whose meta says UTF-8. */
  d = run_s("<meta charset=utf-8>\xD1\xAA\xD1\xB9\xBC\xC6", "gb2312", NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "<meta charset=utf-8>\xE8\xA1\x80\xE5\x8E\x8B"
                          "\xE8\xAE\xA1");
  done(&d);
  char *out = NULL;
  size_t len = 7;
  qw_charset_info info;
  ck_assert_int_eq(qw_charset_decode("abc", 3, "klingon", NULL, &out, &len,
                                     &info), -EINVAL);
  ck_assert_int_eq(qw_charset_decode("abc", 3, "hz-gb-2312", NULL, &out,
                                     &len, &info), -EINVAL);
}
END_TEST

START_TEST(test_transport_over_meta)
{
  /* 血压计 in GBK; the meta claims Big5 but the transport says GBK. */
  dec d = run_s("<meta charset=big5><p>\xD1\xAA\xD1\xB9\xBC\xC6</p>", NULL,
                "gbk");
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_TRANSPORT);
  ck_assert_str_eq(d.out, "<meta charset=big5><p>\xE8\xA1\x80\xE5\x8E\x8B"
                          "\xE8\xAE\xA1</p>");
  done(&d);
  /* An unknown or "replacement" transport label is ignored. */
  d = run_s("<meta charset=gbk><p>\xD1\xAA\xD1\xB9\xBC\xC6</p>", NULL,
            "x-klingon");
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  done(&d);
  d = run_s("<meta charset=gbk><p>\xD1\xAA\xD1\xB9\xBC\xC6</p>", NULL,
            "iso-2022-kr");
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  done(&d);
  /* A transport UTF-16 without a single NUL byte is a misconfiguration:
   * it is overridden and reported. */
  d = run_s("<meta charset=gbk><p>\xD1\xAA\xD1\xB9\xBC\xC6</p>", NULL,
            "utf-16");
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_str_eq(d.info.declared, "UTF-16LE");
  done(&d);
  /* With NUL bytes it is believed. */
  static const char le[] = "<\0p\0>\0\x2D\x4E";
  d = run(le, sizeof(le) - 1, NULL, "utf-16le");
  ck_assert_str_eq(d.info.name, "UTF-16LE");
  ck_assert_int_eq(d.info.source, QW_CS_TRANSPORT);
  ck_assert_str_eq(d.out, "<p>\xE4\xB8\xAD");
  done(&d);
}
END_TEST

/* Each body is ASCII apart from 血压计 in GBK, so a GBK declaration fits
 * and UTF-8 does not; expect is the name the prescan must find (NULL:
 * none, so detection decides). */
static const struct {
  const char *html, *expect;
} meta_cases[] = {
  {"<meta charset=\"gbk\">", "GBK"},
  {"<meta charset='gb2312'>", "GBK"},
  {"<meta charset=gb18030>", "gb18030"},
  {"<META CHARSET=\"GBK\">", "GBK"},
  {"<meta charset = gbk >", "GBK"},
  {"<meta\ncharset=gbk />", "GBK"},
  {"<meta charset=gbk/>", NULL}, /* the value is "gbk/" */
  {"<meta/charset=gbk>", "GBK"},
  {"<meta charset=\" gbk \">", "GBK"},
  {"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">",
   "GBK"},
  {"<meta content='text/html;charset=GBK' http-equiv='content-type'>",
   "GBK"},
  {"<meta http-equiv=content-type content=\"text/html; charset='gbk'\">",
   "GBK"},
  {"<meta HTTP-EQUIV=CONTENT-TYPE CONTENT=\"TEXT/HTML; CHARSET=GBK\">",
   "GBK"},
  {"<meta content=\"text/html; charset = gbk ; x\" http-equiv=Content-Type>",
   "GBK"},
  /* content without http-equiv needs the pragma: ignored. */
  {"<meta content=\"text/html; charset=gbk\">", NULL},
  {"<meta http-equiv=refresh content=\"text/html; charset=gbk\">", NULL},
  /* charset beats content, whatever the order; duplicates are ignored. */
  {"<meta http-equiv=content-type content=\"charset=big5\" charset=gbk>",
   "GBK"},
  {"<meta charset=gbk charset=big5>", "GBK"},
  {"<meta charset=gbk http-equiv=content-type content=\"charset=big5\">",
   "GBK"},
  /* unknown label: this meta is skipped, the next one counts. */
  {"<meta charset=klingon><meta charset=gbk>", "GBK"},
  /* utf-16 in a meta means UTF-8 (the bytes are ASCII-compatible);
   * x-user-defined means windows-1252. */
  {"<meta charset=utf-16le>", "UTF-8"},
  {"<meta charset=x-user-defined>", "windows-1252"},
  /* comments, other markup and attribute values hide metas. */
  {"<!-- <meta charset=big5> --><meta charset=gbk>", "GBK"},
  {"<!--><meta charset=gbk>", "GBK"},
  {"<!-- <meta charset=gbk> -->", NULL},
  {"<div title=\"<meta charset=big5>\"><meta charset=gbk>", "GBK"},
  {"<script src='<meta charset=big5>'></script><meta charset=gbk>", "GBK"},
  {"<?xml version='1.0' charset=big5?><meta charset=gbk>", "GBK"},
  {"<!DOCTYPE html><html lang=zh><head><title>x</title>"
   "<meta name=viewport content=\"width=device-width\">"
   "<meta charset=gbk>", "GBK"},
  {"<metacharset=gbk>", NULL},
  {"<meta charset=gbk", NULL},
  {"meta charset=gbk", NULL},
};

START_TEST(test_meta_forms)
{
  size_t n = sizeof(meta_cases) / sizeof(meta_cases[0]);
  for(size_t i = 0; i < n; i++) {
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s<title>\xD1\xAA\xD1\xB9\xBC\xC6</title>",
             meta_cases[i].html);
    dec d = run_s(buf, NULL, NULL);
    ck_assert_int_eq(d.rc, 0);
    if(meta_cases[i].expect) {
      ck_assert_msg(d.info.source == QW_CS_META &&
                    strcmp(d.info.name, meta_cases[i].expect) == 0,
                    "%s: got %s (%s)", meta_cases[i].html, d.info.name,
                    qw_charset_source_name(d.info.source));
    }
    else
      ck_assert_msg(d.info.source != QW_CS_META, "%s: got meta %s",
                    meta_cases[i].html, d.info.name);
    done(&d);
  }
}
END_TEST

START_TEST(test_meta_1024)
{
  /* A meta that ends within the first 1024 bytes counts; one that starts
   * or ends beyond does not. */
  char buf[2048];
  const char *meta = "<meta charset=big5>";
  size_t ml = strlen(meta);
  for(int k = 0; k < 3; k++) {
    size_t at = k == 0 ? 1024 - ml : k == 1 ? 1024 - ml + 1 : 1100;
    memset(buf, ' ', at);
    memcpy(buf + at, meta, ml);
    /* 隱形 in Big5 */
    snprintf(buf + at + ml, sizeof(buf) - at - ml, "\xC1\xF4\xA7\xCE");
    dec d = run_s(buf, NULL, NULL);
    ck_assert_int_eq(d.rc, 0);
    if(k == 0) {
      ck_assert_int_eq(d.info.source, QW_CS_META);
      ck_assert_str_eq(d.info.name, "Big5");
      ck_assert(strstr(d.out, "\xE9\x9A\xB1\xE5\xBD\xA2") != NULL);
    }
    else
      ck_assert_int_ne(d.info.source, QW_CS_META);
    done(&d);
  }
}
END_TEST

/* ===== decoders on the fixture pages ===== */

START_TEST(test_gbk_pages)
{
  dec d = run_fixture("gbk_meta.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_eq(d.info.replaced, 0);
  ck_assert(strstr(d.out, "注册证编号</th><td>苏械注准20212070456") != NULL);
  done(&d);
  d = run_fixture("gb2312_httpequiv.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  done(&d);
  /* The transport says the same thing. */
  d = run_fixture("gbk_meta.html", NULL, "GB2312", 1);
  ck_assert_int_eq(d.info.source, QW_CS_TRANSPORT);
  done(&d);
}
END_TEST

START_TEST(test_gb18030_four_byte)
{
  dec d = run_fixture("gb18030_4byte.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "gb18030");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_eq(d.info.replaced, 0);
  /* U+4DAE (Ext A), U+20BB7 and U+2A6A5 (Ext B), the euro sign. */
  ck_assert(strstr(d.out, "王䶮、吉𠮷") != NULL);
  ck_assert(strstr(d.out, "陈𪚥") != NULL);
  ck_assert(strstr(d.out, "€39.90") != NULL);
  done(&d);
  /* The same bytes under a GBK label decode the same (GB18030 decoder). */
  d = run_fixture("gb18030_4byte.html", NULL, "gbk", 1);
  ck_assert_str_eq(d.info.name, "GBK");
  done(&d);
  /* Four-byte ranges: first, last BMP, first and last supplementary; a
   * pointer beyond the BMP ranges is an error that keeps the digit. */
  d = run("\x81\x30\x81\x30\x84\x31\xA4\x39\x90\x30\x81\x30"
          "\xE3\x32\x9A\x35", 16, "gb18030", NULL);
  ck_assert_str_eq(d.out, "\xC2\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
                          "\xF4\x8F\xBF\xBF");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
  d = run_s("\x84\x31\xA5\x30", "gb18030", NULL);
  ck_assert_str_eq(d.out, "\xEF\xBF\xBD" "1" "\xEF\xBF\xBD");
  ck_assert_uint_eq(d.info.replaced, 2);
  done(&d);
  /* A lone 0x80 is the euro sign in GBK/gb18030 (WHATWG). */
  d = run_s("\x80" "5", "gbk", NULL);
  ck_assert_str_eq(d.out, "\xE2\x82\xAC" "5");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
}
END_TEST

START_TEST(test_big5)
{
  dec d = run_fixture("big5_meta.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "Big5");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_eq(d.info.replaced, 0);
  ck_assert(strstr(d.out, "隱形眼鏡 彩色 日拋") != NULL);
  ck_assert(strstr(d.out, "醫療器材許可證") != NULL);
  ck_assert(strstr(d.out, "衛部醫器輸字第035812號") != NULL);
  done(&d);
}
END_TEST

START_TEST(test_windows1252)
{
  dec d = run_fixture("windows1252_latin1.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "windows-1252");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert(strstr(d.out, "\xE2\x82\xAC" "24.95") != NULL);
  ck_assert(strstr(d.out, "Caf\xC3\xA9") != NULL);
  done(&d);
  /* iso-8859-1 means windows-1252: 0x80 is the euro sign, 0x93/0x94 are
   * curly quotes, and the five holes map to C1 controls as in WHATWG. */
  static const char s[] = "\x80\x93x\x94\x81\x8D\x8F\x90\x9D\xFF";
  dec e = run_s(s, NULL, "ISO-8859-1");
  ck_assert_str_eq(e.info.name, "windows-1252");
  ck_assert_str_eq(e.out, "\xE2\x82\xAC\xE2\x80\x9Cx\xE2\x80\x9D"
                          "\xC2\x81\xC2\x8D\xC2\x8F\xC2\x90\xC2\x9D\xC3\xBF");
  ck_assert_uint_eq(e.info.replaced, 0);
  done(&e);
  /* Other single-byte code pages: holes outside 0x80-0x9F are errors. */
  e = run_s("\xC1\xAA\xE1", "windows-1253", NULL);
  ck_assert_str_eq(e.out, "\xCE\x91\xEF\xBF\xBD\xCE\xB1");
  ck_assert_uint_eq(e.info.replaced, 1);
  done(&e);
  e = run_s("\xC1\xD2", "koi8-r", NULL);
  ck_assert_str_eq(e.out, "\xD0\xB0\xD1\x80");
  done(&e);
  e = run_s("a\x80\xFF", "x-user-defined", NULL);
  ck_assert_str_eq(e.out, "a\xEF\x9E\x80\xEF\x9F\xBF");
  done(&e);
}
END_TEST

START_TEST(test_other_cjk)
{
  dec d = run_s("\x93\xFA\x96\x7B", "shift_jis", NULL);     /* 日本 */
  ck_assert_str_eq(d.out, "\xE6\x97\xA5\xE6\x9C\xAC");
  done(&d);
  d = run_s("\xC5\xEC\xB5\xFE", "euc-jp", NULL);            /* 東京 */
  ck_assert_str_eq(d.out, "\xE6\x9D\xB1\xE4\xBA\xAC");
  done(&d);
  d = run_s("\xC7\xD1\xB1\xB9", "euc-kr", NULL);            /* 한국 */
  ck_assert_str_eq(d.out, "\xED\x95\x9C\xEA\xB5\xAD");
  done(&d);
  d = run_s("\x1B$BF|K\\\x1B(B!", "iso-2022-jp", NULL);    /* 日本! */
  ck_assert_str_eq(d.out, "\xE6\x97\xA5\xE6\x9C\xAC!");
  done(&d);
}
END_TEST

/* ===== declarations that lie ===== */

START_TEST(test_meta_lies_gbk_is_utf8)
{
  dec d = run_fixture("lie_gbk_is_utf8.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "GBK");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
  /* Same when the lie comes from the transport. */
  d = run_fixture("nodecl_utf8.html", NULL, "gb2312", 1);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "GBK");
  done(&d);
  /* And for a Big5 or latin1 label. */
  d = run_fixture("nodecl_utf8.html", NULL, "big5", 1);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_str_eq(d.info.declared, "Big5");
  done(&d);
  d = run_fixture("nodecl_utf8.html", NULL, "iso-8859-1", 1);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_str_eq(d.info.declared, "windows-1252");
  done(&d);
}
END_TEST

START_TEST(test_meta_lies_utf8_is_gbk)
{
  dec d = run_fixture("lie_utf8_is_gbk.html", NULL, NULL, 1);
  ck_assert_msg(strcmp(d.info.name, "GBK") == 0 ||
                strcmp(d.info.name, "gb18030") == 0, "got %s", d.info.name);
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "UTF-8");
  ck_assert_uint_eq(d.info.replaced, 0);
  done(&d);
  /* GBK bytes labelled Big5: Big5 fails on them, detection wins. */
  d = run_fixture("nodecl_gbk.html", NULL, "big5", 1);
  ck_assert_msg(strcmp(d.info.name, "GBK") == 0 ||
                strcmp(d.info.name, "gb18030") == 0, "got %s", d.info.name);
  ck_assert_str_eq(d.info.declared, "Big5");
  done(&d);
  /* GBK bytes labelled iso-8859-1 (windows-1252 never fails). */
  d = run_fixture("nodecl_gbk.html", NULL, "iso-8859-1", 1);
  ck_assert_msg(strcmp(d.info.name, "GBK") == 0 ||
                strcmp(d.info.name, "gb18030") == 0, "got %s", d.info.name);
  ck_assert_str_eq(d.info.declared, "windows-1252");
  done(&d);
  /* But real windows-1252 stays windows-1252. */
  d = run_fixture("windows1252_latin1.html", NULL, "iso-8859-1", 1);
  ck_assert_str_eq(d.info.name, "windows-1252");
  ck_assert_str_eq(d.info.declared, "");
  done(&d);
}
END_TEST

/* UTF-8 Chinese text (n characters of 电子血压计) with k stray bytes. */
static char *utf8_with_strays(size_t n, size_t k, size_t *len)
{
  static const char word[] = "电子血压计";
  size_t wl = strlen(word), chars = 5;
  size_t words = (n + chars - 1) / chars;
  size_t step = k ? words / k + 1 : 1;
  char *s = malloc(64 + words * wl + k * 2);
  ck_assert_ptr_nonnull(s);
  size_t p = 0;
  memcpy(s, "<meta charset=utf-8>", 20);
  p = 20;
  for(size_t w = 0; w < words; w++) {
    memcpy(s + p, word, wl);
    p += wl;
    if(k && w % step == 0) {
      s[p++] = (char)0xA0; /* a latin1 no-break space, invalid UTF-8 */
      s[p++] = ' ';
      k--;
    }
  }
  while(k) {
    s[p++] = (char)0xB7;
    k--;
  }
  s[p] = '\0';
  *len = p;
  return s;
}

START_TEST(test_threshold_utf8_declared)
{
  /* A few stray bytes in a UTF-8 page: keep UTF-8, replace them. */
  size_t len;
  char *s = utf8_with_strays(400, 3, &len);
  dec d = run(s, len, NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_eq(d.info.replaced, 3);
  ck_assert_str_eq(d.info.declared, "");
  done(&d);
  free(s);
  /* Even 20 of them among 400 characters (5%) are not enough. */
  s = utf8_with_strays(400, 20, &len);
  d = run(s, len, NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_eq(d.info.replaced, 20);
  done(&d);
  free(s);
  /* Seven invalid sequences are too few to overturn a declaration even
   * when nothing else is non-ASCII (你好世界 in GBK → 7 subparts). */
  d = run_s("<meta charset=utf-8><p>\xC4\xE3\xBA\xC3\xCA\xC0\xBD\xE7</p>",
            NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  ck_assert_uint_gt(d.info.replaced, 0);
  done(&d);
  /* Twice that, all invalid: overturned. */
  d = run_s("<meta charset=utf-8><p>\xC4\xE3\xBA\xC3\xCA\xC0\xBD\xE7"
            "\xD1\xAA\xD1\xB9\xBC\xC6\xD1\xAA\xD1\xB9\xBC\xC6</p>", NULL,
            NULL);
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "UTF-8");
  ck_assert_str_eq(d.out, "<meta charset=utf-8><p>你好世界血压计血压计</p>");
  done(&d);
}
END_TEST

START_TEST(test_threshold_gbk_declared)
{
  /* GBK label, bytes valid UTF-8, but only 3 multi-byte sequences: too
   * little to overturn the label. */
  dec d = run_s("<meta charset=gbk><p>\xE8\xA1\x80\xE5\x8E\x8B\xE8\xAE\xA1"
                "</p>", NULL, NULL);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  done(&d);
  /* Four: UTF-8. */
  d = run_s("<meta charset=gbk><p>\xE7\x94\xB5\xE8\xA1\x80\xE5\x8E\x8B"
            "\xE8\xAE\xA1</p>", NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "GBK");
  ck_assert_str_eq(d.out, "<meta charset=gbk><p>电血压计</p>");
  done(&d);
  /* A UTF-8 page (400 chars) with 3 stray bytes is still UTF-8 under a GBK
   * label (3 <= 400/50); with 20 it is not (20 > 400/50). */
  size_t len;
  char *s = utf8_with_strays(400, 3, &len);
  memcpy(s, "<meta charset=gbk>  ", 20);
  d = run(s, len, NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_str_eq(d.info.declared, "GBK");
  done(&d);
  free(s);
  s = utf8_with_strays(400, 20, &len);
  memcpy(s, "<meta charset=gbk>  ", 20);
  d = run(s, len, NULL, NULL);
  ck_assert_str_eq(d.info.name, "GBK");
  ck_assert_int_eq(d.info.source, QW_CS_META);
  done(&d);
  free(s);
}
END_TEST

/* ===== no declaration ===== */

START_TEST(test_detect)
{
  dec d = run_fixture("nodecl_gbk.html", NULL, NULL, 1);
  ck_assert_msg(strcmp(d.info.name, "GBK") == 0 ||
                strcmp(d.info.name, "gb18030") == 0, "got %s", d.info.name);
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  ck_assert_str_eq(d.info.declared, "");
  done(&d);
  d = run_fixture("nodecl_big5.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "Big5");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  done(&d);
  d = run_fixture("nodecl_utf8.html", NULL, NULL, 1);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  done(&d);
  /* A short GBK snippet uchardet cannot place: still Chinese. */
  d = run_s("<p>\xC4\xE3\xBA\xC3\xCA\xC0\xBD\xE7</p>", NULL, NULL);
  ck_assert_str_eq(d.out, "<p>你好世界</p>");
  ck_assert_int_eq(d.info.source, QW_CS_DETECTED);
  done(&d);
  /* Pure ASCII: nothing to detect. */
  d = run_s("<p>hello</p>", NULL, NULL);
  ck_assert_str_eq(d.info.name, "UTF-8");
  ck_assert_int_eq(d.info.source, QW_CS_DEFAULT);
  ck_assert_str_eq(d.out, "<p>hello</p>");
  done(&d);
}
END_TEST

/* ===== broken input ===== */

START_TEST(test_truncated)
{
  /* GBK 血压 and half of 计. */
  dec d = run_s("\xD1\xAA\xD1\xB9\xBC", "gbk", NULL);
  ck_assert_str_eq(d.out, "血压\xEF\xBF\xBD");
  ck_assert_uint_eq(d.info.replaced, 1);
  done(&d);
  /* GB18030 four-byte sequence cut after three bytes. */
  d = run_s("a\x95\x32\x82", "gb18030", NULL);
  ck_assert(strncmp(d.out, "a", 1) == 0);
  ck_assert_uint_ge(d.info.replaced, 1);
  done(&d);
  /* Big5 隱 and a lone lead. */
  d = run_s("\xC1\xF4\xA7", "big5", NULL);
  ck_assert_str_eq(d.out, "隱\xEF\xBF\xBD");
  ck_assert_uint_eq(d.info.replaced, 1);
  done(&d);
  /* UTF-8: a cut sequence is one U+FFFD (maximal subpart). */
  d = run_s("\xE8\xA1\x80\xE5\x8E", "utf-8", NULL);
  ck_assert_str_eq(d.out, "血\xEF\xBF\xBD");
  ck_assert_uint_eq(d.info.replaced, 1);
  done(&d);
}
END_TEST

START_TEST(test_utf8_replacement_rules)
{
  static const struct {
    const char *in, *out;
    size_t replaced;
  } c[] = {
    {"\xE4\xB8" "A", "\xEF\xBF\xBD" "A", 1},
    {"\xC0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD", 2},           /* overlong */
    {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 3}, /* surr. */
    {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                         "\xEF\xBF\xBD", 4},                 /* > 10FFFF */
    {"\xF0\x9F\x98", "\xEF\xBF\xBD", 1},
    {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80", 0},
    {"\xEF\xBF\xBD", "\xEF\xBF\xBD", 0},                     /* literal */
    {"a\x80" "b\xFF", "a\xEF\xBF\xBD" "b\xEF\xBF\xBD", 2},
  };
  for(size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
    dec d = run_s(c[i].in, "utf-8", NULL);
    ck_assert_int_eq(d.rc, 0);
    ck_assert_msg(strcmp(d.out, c[i].out) == 0, "case %zu", i);
    ck_assert_uint_eq(d.info.replaced, c[i].replaced);
    done(&d);
  }
}
END_TEST

START_TEST(test_empty)
{
  dec d = run("", 0, NULL, NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_uint_eq(d.len, 0);
  ck_assert_str_eq(d.out, "");
  ck_assert_uint_eq(d.info.replaced, 0);
  ck_assert_str_eq(d.info.declared, "");
  done(&d);
  d = run(NULL, 0, NULL, NULL);
  ck_assert_int_eq(d.rc, 0);
  ck_assert_str_eq(d.out, "");
  done(&d);
  const char *cs[] = {"gbk", "big5", "utf-16be", "windows-1252",
                      "iso-2022-jp"};
  for(size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
    d = run("", 0, cs[i], NULL);
    ck_assert_int_eq(d.rc, 0);
    ck_assert_uint_eq(d.len, 0);
    done(&d);
  }
}
END_TEST

static uint64_t rng_state;

static unsigned rnd(void)
{
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rng_state >> 33);
}

START_TEST(test_random_binary)
{
  static const char *hints[] = {NULL, "utf-8", "gbk", "gb18030", "big5",
                                "utf-16le", "utf-16be", "windows-1252",
                                "shift_jis", "euc-kr", "euc-jp",
                                "iso-2022-jp", "koi8-r", "x-user-defined"};
  size_t nh = sizeof(hints) / sizeof(hints[0]);
  rng_state = 20250101;
  size_t len = 1 << 16;
  char *buf = malloc(len);
  ck_assert_ptr_nonnull(buf);
  for(int round = 0; round < 3; round++) {
    for(size_t i = 0; i < len; i++)
      buf[i] = (char)(rnd() & 0xFF);
    for(size_t h = 0; h < nh; h++) {
      for(int mode = 0; mode < 3; mode++) {
        /* user, transport, or nothing at all */
        if(!hints[h] && mode)
          continue;
        dec d = run(buf, len, mode == 0 ? hints[h] : NULL,
                    mode == 1 ? hints[h] : NULL);
        ck_assert_int_eq(d.rc, 0);
        if(mode == 0 && hints[h] && (!strcmp(hints[h], "utf-8") ||
                         !strcmp(hints[h], "gbk") ||
                         !strcmp(hints[h], "big5")))
          ck_assert_uint_gt(d.info.replaced, 100);
        done(&d);
      }
    }
  }
  free(buf);
}
END_TEST

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 5 MB made of a fixture page repeated. */
static char *big_from(const char *name, size_t *outlen, size_t *plen)
{
  size_t len;
  char *page = fixture(name, &len);
  size_t total = 5u << 20, n = 0;
  char *big = malloc(total + len);
  ck_assert_ptr_nonnull(big);
  while(n < total) {
    memcpy(big + n, page, len);
    n += len;
  }
  free(page);
  *outlen = n;
  *plen = len;
  return big;
}

START_TEST(test_big_inputs)
{
  static const char *pages[] = {"gbk_meta.html", "nodecl_utf8.html",
                                "big5_meta.html",
                                "windows1252_latin1.html"};
  for(size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
    size_t len, plen;
    char *big = big_from(pages[i], &len, &plen);
    double t0 = now_s();
    dec d = run(big, len, NULL, NULL);
    double dt = now_s() - t0;
    ck_assert_int_eq(d.rc, 0);
    ck_assert_uint_eq(d.info.replaced, 0);
    fprintf(stderr, "%s x5MB: %s, %.1f ms, %.0f MB/s\n", pages[i],
            d.info.name, dt * 1e3, (double)len / 1e6 / dt);
    /* Generous: sanitizer builds are several times slower. */
    ck_assert_msg(dt < 5.0, "%s: %.2f s", pages[i], dt);
    done(&d);
    free(big);
  }
}
END_TEST

/* Several threads decode at once, the first use of a single-byte table
 * included. */
static void *thread_main(void *arg)
{
  const char *cs = arg;
  char buf[4096];
  for(size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (char)(0x80 + (i * 7) % 128);
  for(int k = 0; k < 50; k++) {
    char *out;
    size_t len;
    qw_charset_info info;
    if(qw_charset_decode(buf, sizeof(buf), cs, NULL, &out, &len, &info) != 0)
      return (void *)1;
    int ok = qw_utf8_valid(out, len);
    free(out);
    if(!ok)
      return (void *)1;
  }
  return NULL;
}

START_TEST(test_threads)
{
  static const char *cs[] = {"windows-1250", "windows-1250", "iso-8859-5",
                             "iso-8859-5", "gbk", "big5", "koi8-u",
                             "macintosh"};
  pthread_t t[8];
  for(int i = 0; i < 8; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, thread_main,
                                    (void *)(uintptr_t)cs[i]), 0);
  for(int i = 0; i < 8; i++) {
    void *r;
    ck_assert_int_eq(pthread_join(t[i], &r), 0);
    ck_assert_ptr_null(r);
  }
}
END_TEST

static Suite *charset_suite(void)
{
  Suite *s = suite_create("charset");
  TCase *tc = tcase_create("labels");
  tcase_add_test(tc, test_canonical_table);
  tcase_add_test(tc, test_canonical_spaces_and_length);
  tcase_add_test(tc, test_source_names);
  tcase_add_test(tc, test_content_type);
  suite_add_tcase(s, tc);
  tc = tcase_create("sniffing");
  tcase_add_test(tc, test_bom_utf8);
  tcase_add_test(tc, test_bom_utf16);
  tcase_add_test(tc, test_user_wins);
  tcase_add_test(tc, test_transport_over_meta);
  tcase_add_test(tc, test_meta_forms);
  tcase_add_test(tc, test_meta_1024);
  suite_add_tcase(s, tc);
  tc = tcase_create("decoders");
  tcase_add_test(tc, test_gbk_pages);
  tcase_add_test(tc, test_gb18030_four_byte);
  tcase_add_test(tc, test_big5);
  tcase_add_test(tc, test_windows1252);
  tcase_add_test(tc, test_other_cjk);
  suite_add_tcase(s, tc);
  tc = tcase_create("lies");
  tcase_add_test(tc, test_meta_lies_gbk_is_utf8);
  tcase_add_test(tc, test_meta_lies_utf8_is_gbk);
  tcase_add_test(tc, test_threshold_utf8_declared);
  tcase_add_test(tc, test_threshold_gbk_declared);
  tcase_add_test(tc, test_detect);
  suite_add_tcase(s, tc);
  tc = tcase_create("robustness");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_truncated);
  tcase_add_test(tc, test_utf8_replacement_rules);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_random_binary);
  tcase_add_test(tc, test_big_inputs);
  tcase_add_test(tc, test_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(charset_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
