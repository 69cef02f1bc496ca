/* test_robots.c — robots.txt (parsers/robots.h): RFC 9309's examples,
 * Google-style precedence, agent selection and merging, percent-encoding
 * normalisation, Crawl-delay, Sitemap, line ends and BOM, the 500 KiB cap,
 * pathological patterns, and the fixed allow-all / disallow-all objects. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "robots.h"
#include "qw_test.h"

static qw_robots *parse_as(const char *text, const char *agent)
{
  qw_robots *r = NULL;
  ck_assert_int_eq(qw_robots_parse(text, strlen(text), agent, &r), 0);
  ck_assert_ptr_nonnull(r);
  return r;
}

static qw_robots *parse(const char *text)
{
  return parse_as(text, "qingwang");
}

/* Asserts every path in the NULL-terminated list gets want. */
static void expect(const qw_robots *r, int want, const char *const *paths)
{
  for(size_t i = 0; paths[i]; i++)
    ck_assert_msg(qw_robots_allowed(r, paths[i]) == want,
                  "%s should be %s", paths[i],
                  want ? "allowed" : "disallowed");
}

#define ALLOWED(r, ...) \
  expect(r, 1, (const char *const[]){__VA_ARGS__, NULL})
#define DISALLOWED(r, ...) \
  expect(r, 0, (const char *const[]){__VA_ARGS__, NULL})

/* ===== RFC 9309 ===== */

static const char rfc_example[] =
  "User-Agent: *\n"
  "Disallow: *.gif$\n"
  "Disallow: /example/\n"
  "Allow: /publications/\n"
  "\n"
  "User-Agent: foobot\n"
  "Disallow:/\n"
  "Allow:/example/page.html\n"
  "Allow:/example/allowed.gif\n"
  "\n"
  "User-Agent: barbot\n"
  "User-Agent: bazbot\n"
  "Disallow: /example/page.html\n"
  "\n"
  "User-Agent: quxbot\n"
  "\n"
  "EOF\n";

START_TEST(rfc_5_1_foobot)
{
  qw_robots *r = parse_as(rfc_example, "foobot");
  ALLOWED(r, "/example/page.html", "/example/allowed.gif", "/robots.txt");
  DISALLOWED(r, "/", "/example/", "/publications/", "/example/page.htm",
             "/a.gif");
  qw_robots_free(r);
  /* The agent's own version and case do not matter. */
  r = parse_as(rfc_example, "FooBot/2.1 (+https://foo.example)");
  DISALLOWED(r, "/");
  qw_robots_free(r);
}
END_TEST

START_TEST(rfc_5_1_barbot_bazbot)
{
  static const char *const agents[] = {"barbot", "bazbot"};
  for(size_t i = 0; i < 2; i++) {
    qw_robots *r = parse_as(rfc_example, agents[i]);
    DISALLOWED(r, "/example/page.html", "/example/page.html?x=1");
    /* Their group is theirs alone: the '*' rules do not apply. */
    ALLOWED(r, "/", "/example/", "/a.gif", "/example/page.htm");
    qw_robots_free(r);
  }
}
END_TEST

START_TEST(rfc_5_1_quxbot_and_others)
{
  /* quxbot's group has no rules: everything is allowed, the '*' group
   * does not apply. */
  qw_robots *r = parse_as(rfc_example, "quxbot");
  ALLOWED(r, "/", "/example/", "/a.gif", "/publications/x");
  qw_robots_free(r);
  /* Anyone else falls back to '*'. */
  r = parse(rfc_example);
  DISALLOWED(r, "/example/", "/example/page.html", "/a.gif",
             "/images/cat.gif", "/example/x.gif");
  /* "/publications/" is longer than "*.gif$". */
  ALLOWED(r, "/", "/publications/", "/publications/2024/x.html",
          "/publications/cat.gif", "/a.gif?size=2", "/a.gifx", "/examples");
  qw_robots_free(r);
}
END_TEST

START_TEST(rfc_5_2_longest_match)
{
  qw_robots *r = parse_as("User-Agent: foobot\n"
                          "Allow: /example/page/\n"
                          "Disallow: /example/page/disallowed.gif\n",
                          "foobot");
  ALLOWED(r, "/example/page/", "/example/page/x.gif",
          "/example/page/disallowed.gi");
  /* Rules are prefixes unless they end in '$'. */
  DISALLOWED(r, "/example/page/disallowed.gif",
             "/example/page/disallowed.gif?a=1",
             "/example/page/disallowed.gifx");
  qw_robots_free(r);
}
END_TEST

START_TEST(robots_txt_always_allowed)
{
  qw_robots *r = parse("User-agent: *\nDisallow: /\n");
  ALLOWED(r, "/robots.txt", "/robots.txt?x=1");
  DISALLOWED(r, "/", "/robots.txt2", "/robots.txtx", "/Robots.txt",
             "/a/robots.txt");
  qw_robots_free(r);
  r = parse("User-agent: *\nDisallow: /robots.txt\n");
  ALLOWED(r, "/robots.txt");
  qw_robots_free(r);
  r = qw_robots_disallow_all();
  ALLOWED(r, "/robots.txt");
  qw_robots_free(r);
}
END_TEST

/* ===== Precedence (Google's documented cases) ===== */

START_TEST(precedence)
{
  qw_robots *r = parse("user-agent: *\nallow: /p\ndisallow: /\n");
  ALLOWED(r, "/page", "/p", "/pxyz");
  DISALLOWED(r, "/", "/q", "/P");
  qw_robots_free(r);
  /* Equal length: allow wins, in either order. */
  r = parse("user-agent: *\nallow: /folder\ndisallow: /folder\n");
  ALLOWED(r, "/folder/page");
  qw_robots_free(r);
  r = parse("user-agent: *\ndisallow: /folder\nallow: /folder\n");
  ALLOWED(r, "/folder/page");
  qw_robots_free(r);
  r = parse("user-agent: *\nallow: /page\ndisallow: /*.html\n");
  DISALLOWED(r, "/page.html");
  ALLOWED(r, "/page", "/page.htm");
  qw_robots_free(r);
  r = parse("user-agent: *\nallow: /$\ndisallow: /\n");
  ALLOWED(r, "/");
  DISALLOWED(r, "/page.html", "/?a=1");
  qw_robots_free(r);
  /* /fish* and /fish are the same pattern, one octet longer. */
  r = parse("user-agent: *\ndisallow: /fish\nallow: /fish*\n");
  ALLOWED(r, "/fish", "/fish.html", "/fishheads", "/fis", "/Fish.asp");
  qw_robots_free(r);
  r = parse("user-agent: *\nallow: /fish\ndisallow: /fish*\n");
  DISALLOWED(r, "/fish", "/fish/salmon.html", "/fish.php?id=anything");
  ALLOWED(r, "/catfish", "/?id=fish", "/desert/fish");
  qw_robots_free(r);
}
END_TEST

START_TEST(wildcards_and_anchors)
{
  qw_robots *r = parse("user-agent: *\ndisallow: /*.php$\n");
  DISALLOWED(r, "/index.php", "/filename.php", "/folder/filename.php",
             "/a.php.php");
  ALLOWED(r, "/filename.php?parameters", "/filename.php/",
          "/filename.php5", "/windows.PHP", "/");
  qw_robots_free(r);
  r = parse("user-agent: *\ndisallow: /fish*.php\n");
  DISALLOWED(r, "/fish.php", "/fishheads/catfish.php?parameters");
  ALLOWED(r, "/Fish.PHP", "/fish.ph");
  qw_robots_free(r);
  /* '$' in the middle is an ordinary character. */
  r = parse("user-agent: *\ndisallow: /a$b\n");
  DISALLOWED(r, "/a$b", "/a$bc");
  ALLOWED(r, "/a", "/ab");
  qw_robots_free(r);
  /* A lone "*" matches everything, and so does a slash-star. */
  r = parse("user-agent: *\ndisallow: *\n");
  DISALLOWED(r, "/", "/x?y");
  qw_robots_free(r);
  r = parse("user-agent: *\ndisallow: /*\nallow: /*/ok$\n");
  DISALLOWED(r, "/", "/a/ok/", "/ok");
  ALLOWED(r, "/a/ok", "/a/b/ok");
  qw_robots_free(r);
  /* Query strings take part. */
  r = parse("user-agent: *\ndisallow: /*?*sort=\ndisallow: /search?\n");
  DISALLOWED(r, "/list?sort=price", "/list?page=2&sort=price",
             "/search?q=血糖仪");
  ALLOWED(r, "/list", "/list?page=2", "/search", "/searches?q=1");
  qw_robots_free(r);
  /* Several stars in a row act as one. */
  r = parse("user-agent: *\ndisallow: /a***b$\n");
  DISALLOWED(r, "/ab", "/axxb", "/a/b");
  ALLOWED(r, "/abc", "/a");
  qw_robots_free(r);
}
END_TEST

START_TEST(empty_and_odd_rules)
{
  /* An empty disallow allows everything. */
  qw_robots *r = parse("User-agent: *\nDisallow:\n");
  ALLOWED(r, "/", "/anything");
  qw_robots_free(r);
  r = parse("User-agent: *\nDisallow:   \nAllow:\n");
  ALLOWED(r, "/x");
  qw_robots_free(r);
  /* A pattern without a leading '/' is taken from the root. */
  r = parse("User-agent: *\nDisallow: admin\n");
  DISALLOWED(r, "/admin", "/admin/users");
  ALLOWED(r, "/x/admin");
  qw_robots_free(r);
  /* Rules before any user-agent line belong to nobody. */
  r = parse("Disallow: /\nAllow: /x\n\nUser-agent: *\nDisallow: /cart\n");
  ALLOWED(r, "/", "/x");
  DISALLOWED(r, "/cart");
  qw_robots_free(r);
  /* No file, an empty file, comments only: all allowed. */
  r = parse("");
  ALLOWED(r, "/", "/a");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), -1);
  qw_robots_free(r);
  r = parse("# nothing here\n\n   \n#User-agent: *\n#Disallow: /\n");
  ALLOWED(r, "/");
  qw_robots_free(r);
  ck_assert_int_eq(qw_robots_parse(NULL, 0, "qingwang", &r), 0);
  ALLOWED(r, "/");
  qw_robots_free(r);
  /* A NULL path counts as "/". */
  r = parse("User-agent: *\nDisallow: /$\n");
  ck_assert_int_eq(qw_robots_allowed(r, NULL), 0);
  qw_robots_free(r);
}
END_TEST

/* ===== Agents and groups ===== */

START_TEST(agent_selection)
{
  static const char text[] =
    "User-agent: *\n"
    "Disallow: /private/\n"
    "\n"
    "User-agent: QingWang/1.0\n"
    "Disallow: /cart/\n"
    "\n"
    "User-agent: qingwang-images\n"
    "Disallow: /\n";
  /* Our group replaces '*', whatever the case and version. */
  qw_robots *r = parse(text);
  ALLOWED(r, "/private/x", "/", "/item.htm");
  DISALLOWED(r, "/cart/", "/cart/add?id=1");
  qw_robots_free(r);
  r = parse_as(text, "QINGWANG");
  DISALLOWED(r, "/cart/");
  qw_robots_free(r);
  r = parse_as(text, "qingwang/0.1.0 (+regulatory monitoring)");
  DISALLOWED(r, "/cart/");
  ALLOWED(r, "/private/");
  qw_robots_free(r);
  /* A longer token is another crawler, and so is a prefix. */
  r = parse_as(text, "qingwang-images");
  DISALLOWED(r, "/", "/item.htm");
  qw_robots_free(r);
  r = parse_as(text, "qing");
  DISALLOWED(r, "/private/");
  ALLOWED(r, "/cart/");
  qw_robots_free(r);
  /* An empty agent only ever gets '*'. */
  r = parse_as(text, "");
  DISALLOWED(r, "/private/");
  qw_robots_free(r);
  r = parse_as(text, NULL);
  DISALLOWED(r, "/private/");
  qw_robots_free(r);
}
END_TEST

START_TEST(group_merging)
{
  static const char text[] =
    "User-agent: qingwang\n"
    "Disallow: /a/\n"
    "\n"
    "User-agent: *\n"
    "Disallow: /star/\n"
    "\n"
    "User-agent: otherbot\n"
    "User-agent: qingwang\n"
    "Disallow: /b/\n"
    "Crawl-delay: 7\n"
    "\n"
    "user-agent: QINGWANG\n"
    "allow: /a/open/\n";
  qw_robots *r = parse(text);
  DISALLOWED(r, "/a/", "/a/x", "/b/", "/b/y");
  ALLOWED(r, "/a/open/1", "/star/", "/");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 7000);
  qw_robots_free(r);
  /* otherbot gets the shared group only. */
  r = parse_as(text, "otherbot");
  DISALLOWED(r, "/b/");
  ALLOWED(r, "/a/", "/star/");
  qw_robots_free(r);
  /* '*' groups merge too, and a group may name both us and '*'. */
  r = parse_as("User-agent: *\nDisallow: /x\n\nUser-agent: a\nDisallow: /"
               "\n\nUser-agent: *\nDisallow: /y\n", "zed");
  DISALLOWED(r, "/x", "/y");
  ALLOWED(r, "/z");
  qw_robots_free(r);
  r = parse_as("User-agent: qingwang\nUser-agent: *\nDisallow: /both\n",
               "somebody");
  DISALLOWED(r, "/both");
  qw_robots_free(r);
  r = parse("User-agent: qingwang\nUser-agent: *\nDisallow: /both\n");
  DISALLOWED(r, "/both");
  qw_robots_free(r);
}
END_TEST

START_TEST(group_boundaries)
{
  /* Blank lines do not end a run of user-agent lines; a rule does. */
  qw_robots *r = parse("User-agent: qingwang\n\nUser-agent: other\n"
                       "Disallow: /shared\n");
  DISALLOWED(r, "/shared");
  qw_robots_free(r);
  /* A user-agent line after rules starts a new group. */
  r = parse("User-agent: qingwang\nDisallow: /mine\nUser-agent: other\n"
            "Disallow: /theirs\n");
  DISALLOWED(r, "/mine");
  ALLOWED(r, "/theirs");
  qw_robots_free(r);
  /* Sitemap and unknown lines do not end the user-agent run … */
  r = parse("User-agent: other\nSitemap: https://x.cn/s.xml\nHost: x.cn\n"
            "User-agent: qingwang\nDisallow: /d\n");
  DISALLOWED(r, "/d");
  qw_robots_free(r);
  /* … a Crawl-delay line does: it belongs to the group above it. */
  static const char delayed[] = "User-agent: *\nCrawl-delay: 30\n\n"
                                "User-agent: qingwang\nDisallow: /x\n";
  r = parse(delayed);
  DISALLOWED(r, "/x");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), -1);
  qw_robots_free(r);
  r = parse_as(delayed, "other");
  ALLOWED(r, "/x");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 30000);
  qw_robots_free(r);
  /* An empty disallow does end it. */
  r = parse("User-agent: qingwang\nDisallow:\nUser-agent: other\n"
            "Disallow: /o\n");
  ALLOWED(r, "/o");
  qw_robots_free(r);
  /* Unknown lines are skipped without effect. */
  r = parse("User-agent: qingwang\nHost: www.example-mall.cn\n"
            "Clean-param: ref /item\nNoindex: /x\nDisallow: /y\n");
  DISALLOWED(r, "/y");
  ALLOWED(r, "/x");
  qw_robots_free(r);
}
END_TEST

/* ===== Syntax ===== */

START_TEST(syntax_tolerance)
{
  /* CR, LF and CRLF, a BOM, blanks, comments, odd key case and the usual
   * misspellings. */
  qw_robots *r = parse("\xEF\xBB\xBFUser-Agent:*\r\nDISALLOW : /a # no\r"
                       "disalow:/b\n\tdissallow\t:\t/c\t\r\n"
                       "Allow:/a/ok#comment\n"
                       "this line has no colon /d\n"
                       "Disallow /e\n"
                       "useragent: nobody\n");
  DISALLOWED(r, "/a", "/b", "/c");
  ALLOWED(r, "/a/ok", "/d", "/e");
  qw_robots_free(r);
  /* Old Mac line ends only. */
  r = parse("User-agent: *\rDisallow: /m\rAllow: /m/x\r");
  DISALLOWED(r, "/m");
  ALLOWED(r, "/m/x");
  qw_robots_free(r);
  /* Blank lines between CRLFs, no final line end. */
  r = parse("User-agent: *\r\n\r\n\r\nDisallow: /last");
  DISALLOWED(r, "/last");
  qw_robots_free(r);
  /* A value with a '#' loses the rest; a value with ':' keeps it. */
  r = parse("User-agent: *\nDisallow: /a:b\nDisallow: /c#d\n");
  DISALLOWED(r, "/a:b", "/c", "/cd");
  qw_robots_free(r);
  /* NUL bytes are just bytes. */
  static const char nul[] = "User-agent: *\nDisallow: /n\0x\nDisallow: /z\n";
  ck_assert_int_eq(qw_robots_parse(nul, sizeof(nul) - 1, "q", &r), 0);
  DISALLOWED(r, "/z");
  ALLOWED(r, "/n");
  qw_robots_free(r);
}
END_TEST

START_TEST(percent_encoding)
{
  /* Non-ASCII in the pattern matches its encoded form in the path, and
   * the other way round; hex case does not matter. */
  qw_robots *r = parse("User-agent: *\nDisallow: /foo/bar/ツ\n"
                       "Disallow: /%E5%95%86%E5%93%81/\n"
                       "Disallow: /%7Ejoe/\n"
                       "Disallow: /a%2fb\n"
                       "Disallow: /sp ace\n");
  DISALLOWED(r, "/foo/bar/%E3%83%84", "/foo/bar/%e3%83%84", "/foo/bar/ツ",
             "/商品/1.html", "/%e5%95%86%e5%93%81/1.html", "/~joe/",
             "/%7ejoe/", "/a%2Fb", "/a%2fb", "/sp%20ace", "/sp ace");
  ALLOWED(r, "/foo/bar/", "/a/b", "/商", "/space");
  qw_robots_free(r);
  /* Unreserved characters may be written either way. */
  r = parse("User-agent: *\nDisallow: /%61%62c\n");
  DISALLOWED(r, "/abc", "/%61bc", "/ab%63");
  qw_robots_free(r);
  /* A stray '%' is a literal "%25". */
  r = parse("User-agent: *\nDisallow: /100%\nDisallow: /x%zz\n");
  DISALLOWED(r, "/100%", "/100%25", "/x%zz", "/x%25zz");
  ALLOWED(r, "/100");
  qw_robots_free(r);
  /* Truncated escapes at the end of a path or pattern. */
  r = parse("User-agent: *\nDisallow: /t%4\nDisallow: /u%\n");
  DISALLOWED(r, "/t%4", "/t%254", "/u%");
  ALLOWED(r, "/t", "/t4");
  qw_robots_free(r);
}
END_TEST

START_TEST(crawl_delay)
{
  static const struct {
    const char *value;
    long ms;
  } cases[] = {
    {"10", 10000}, {"0.5", 500}, {".25", 250}, {"1.", 1000}, {"0", 0},
    {"2.0005", 2001}, {"2.0004", 2000}, {"1.23456789", 1235},
    {"007", 7000}, {"86400", 86400000}, {"1000000", 86400000},
    {"99999999999999999999999", 86400000}, {"-1", -1}, {"+3", -1},
    {"abc", -1}, {"5s", -1}, {"1,5", -1}, {"", -1}, {".", -1},
    {"1.2.3", -1}, {"1 2", -1}, {"0x10", -1}, {"1e3", -1},
  };
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char text[200];
    snprintf(text, sizeof(text), "User-agent: *\nCrawl-delay: %s\n",
             cases[i].value);
    qw_robots *r = parse(text);
    ck_assert_msg(qw_robots_crawl_delay_ms(r) == cases[i].ms,
                  "'%s' → %ld, want %ld", cases[i].value,
                  qw_robots_crawl_delay_ms(r), cases[i].ms);
    qw_robots_free(r);
  }
  /* The chosen group's delay; junk does not hide a later good value; the
   * first good value wins; a comment after it is fine. */
  qw_robots *r = parse("User-agent: *\nCrawl-delay: 30\n\n"
                       "User-agent: qingwang\nCrawl-delay: soon\n"
                       "Crawl-delay: 2.5 # seconds\nCrawl-delay: 9\n"
                       "Disallow: /x\n");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 2500);
  qw_robots_free(r);
  r = parse_as("User-agent: *\nCrawl-delay: 30\n\nUser-agent: qingwang\n"
               "Disallow: /x\n", "other");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 30000);
  qw_robots_free(r);
  /* Our group without a delay does not borrow the '*' one. */
  r = parse("User-agent: *\nCrawl-delay: 30\n\nUser-agent: qingwang\n"
            "Disallow: /x\n");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), -1);
  qw_robots_free(r);
  /* Before any user-agent: nobody's. Misspelt keys work. */
  r = parse("Crawl-delay: 4\nUser-agent: *\nCrawl delay: 6\n");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 6000);
  qw_robots_free(r);
}
END_TEST

START_TEST(sitemaps)
{
  qw_robots *r = parse("Sitemap: https://www.example-mall.cn/sitemap.xml\n"
                       "User-agent: other\nDisallow: /\n"
                       "sitemap:https://www.example-mall.cn/item-1.xml.gz\n"
                       "User-agent: *\nAllow: /\n"
                       "Sitemap:   \n"
                       "SITEMAP: http://m.example-mall.cn/s.xml # mobile\n");
  const char *const *urls = NULL;
  ck_assert_uint_eq(qw_robots_sitemaps(r, &urls), 3);
  ck_assert_str_eq(urls[0], "https://www.example-mall.cn/sitemap.xml");
  ck_assert_str_eq(urls[1], "https://www.example-mall.cn/item-1.xml.gz");
  ck_assert_str_eq(urls[2], "http://m.example-mall.cn/s.xml");
  ALLOWED(r, "/");
  qw_robots_free(r);
  r = parse("User-agent: *\n");
  urls = (const char *const *)(void *)&r;
  ck_assert_uint_eq(qw_robots_sitemaps(r, &urls), 0);
  ck_assert_ptr_null(urls);
  ck_assert_uint_eq(qw_robots_sitemaps(r, NULL), 0);
  qw_robots_free(r);
  /* A value with a control character is not a URL (fuzz find: NUL). */
  static const char ctl[] = "Sitemap:\0\nSitemap: \0https://a.cn/x.xml\n"
                            "Sitemap: https://a.cn/\tb.xml\n"
                            "Sitemap: https://a.cn/ok.xml\n";
  ck_assert_int_eq(qw_robots_parse(ctl, sizeof(ctl) - 1, "q", &r), 0);
  ck_assert_uint_eq(qw_robots_sitemaps(r, &urls), 1);
  ck_assert_str_eq(urls[0], "https://a.cn/ok.xml");
  qw_robots_free(r);
  /* At most 1000 are kept. */
  size_t cap = 1500 * 40;
  char *big = malloc(cap);
  ck_assert_ptr_nonnull(big);
  size_t n = 0;
  for(int i = 0; i < 1500; i++)
    n += (size_t)snprintf(big + n, cap - n, "Sitemap: https://s.cn/%d.xml\n",
                          i);
  ck_assert_int_eq(qw_robots_parse(big, n, "qingwang", &r), 0);
  ck_assert_uint_eq(qw_robots_sitemaps(r, &urls), 1000);
  ck_assert_str_eq(urls[999], "https://s.cn/999.xml");
  qw_robots_free(r);
  free(big);
}
END_TEST

/* ===== Limits ===== */

START_TEST(huge_file_truncated)
{
  /* 600 KiB: a rule in the first part counts, one past 500 KiB does not,
   * and the line the limit cuts does not either. */
  size_t cap = 700 * 1024;
  char *t = malloc(cap);
  ck_assert_ptr_nonnull(t);
  size_t n = (size_t)snprintf(t, cap, "User-agent: *\nDisallow: /early\n");
  while(n < 500 * 1024 - 40)
    n += (size_t)snprintf(t + n, cap - n, "# padding padding padding\n");
  /* Put "Disallow: /cut-off-here" across the 500 KiB mark. */
  while(n < 500 * 1024 - 10)
    t[n++] = ' ';
  t[n++] = '\n';
  n += (size_t)snprintf(t + n, cap - n, "Disallow: /cut-off-here\n");
  ck_assert_uint_gt(n, 500 * 1024);
  n += (size_t)snprintf(t + n, cap - n, "Disallow: /late\n");
  while(n < 600 * 1024)
    n += (size_t)snprintf(t + n, cap - n, "Disallow: /late2\n");
  qw_robots *r;
  ck_assert_int_eq(qw_robots_parse(t, n, "qingwang", &r), 0);
  DISALLOWED(r, "/early");
  ALLOWED(r, "/late", "/late2", "/cut-off-here", "/cut");
  qw_robots_free(r);
  /* Exactly at the limit with a final line end: all of it counts. */
  n = (size_t)snprintf(t, cap, "User-agent: *\n");
  while(n < 500 * 1024 - 20)
    t[n++] = '\n';
  const char *last = "Disallow: /last";
  while(n + strlen(last) + 1 < 500 * 1024)
    t[n++] = '\n';
  memcpy(t + n, last, strlen(last));
  n += strlen(last);
  t[n++] = '\n';
  ck_assert_uint_eq(n, 500 * 1024);
  memcpy(t + n, "Disallow: /after\n", 17);
  ck_assert_int_eq(qw_robots_parse(t, n + 17, "qingwang", &r), 0);
  DISALLOWED(r, "/last");
  ALLOWED(r, "/after");
  qw_robots_free(r);
  free(t);
}
END_TEST

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(pathological_patterns)
{
  /* 1000 '*' between literals, against a long path that almost matches:
   * a backtracking matcher would never finish. */
  size_t cap = 8192;
  char *t = malloc(cap);
  ck_assert_ptr_nonnull(t);
  size_t n = (size_t)snprintf(t, cap, "User-agent: *\nDisallow: /");
  for(int i = 0; i < 1000; i++) {
    t[n++] = 'a';
    t[n++] = '*';
  }
  n += (size_t)snprintf(t + n, cap - n, "b$\nAllow: /*a*a*a*a*a*a*a*c\n");
  qw_robots *r;
  ck_assert_int_eq(qw_robots_parse(t, n, "qingwang", &r), 0);
  char path[6000];
  path[0] = '/';
  memset(path + 1, 'a', sizeof(path) - 2);
  path[sizeof(path) - 1] = '\0';
  double t0 = now_s();
  for(int i = 0; i < 20; i++)
    ALLOWED(r, path);
  path[sizeof(path) - 2] = 'b';
  DISALLOWED(r, path);
  double dt = now_s() - t0;
  ck_assert_msg(dt < 5.0, "21 queries took %.2f s", dt);
  qw_robots_free(r);
  /* 10000 rules, 10000 queries. */
  free(t);
  cap = 10000 * 40;
  t = malloc(cap);
  ck_assert_ptr_nonnull(t);
  n = (size_t)snprintf(t, cap, "User-agent: *\n");
  for(int i = 0; i < 10000; i++)
    n += (size_t)snprintf(t + n, cap - n, "Disallow: /cat/%d/*.html$\n", i);
  ck_assert_int_eq(qw_robots_parse(t, n, "qingwang", &r), 0);
  t0 = now_s();
  int blocked = 0;
  for(int i = 0; i < 10000; i++) {
    char p[64];
    snprintf(p, sizeof(p), "/cat/%d/item-%d.html", i * 3, i);
    blocked += !qw_robots_allowed(r, p);
  }
  dt = now_s() - t0;
  ck_assert_int_eq(blocked, 3334);
  ck_assert_msg(dt < 20.0, "10000 queries took %.2f s", dt);
  qw_robots_free(r);
  free(t);
}
END_TEST

START_TEST(long_paths)
{
  /* Paths longer than the on-stack buffer take the heap path. */
  qw_robots *r = parse("User-agent: *\nDisallow: /*end$\n");
  size_t n = 100000;
  char *p = malloc(n + 1);
  ck_assert_ptr_nonnull(p);
  p[0] = '/';
  for(size_t i = 1; i < n; i++)
    p[i] = (char)(i % 2 ? 0xE5 : 'x');
  memcpy(p + n - 3, "end", 3);
  p[n] = '\0';
  DISALLOWED(r, p);
  p[n - 1] = 'x';
  ALLOWED(r, p);
  qw_robots_free(r);
  free(p);
}
END_TEST

START_TEST(fixed_objects)
{
  qw_robots *a = qw_robots_allow_all();
  qw_robots *d = qw_robots_disallow_all();
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(d);
  ALLOWED(a, "/", "/item.htm?id=1", "/robots.txt");
  DISALLOWED(d, "/", "/item.htm?id=1", "/robots.txt.bak");
  ALLOWED(d, "/robots.txt");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(a), -1);
  ck_assert_int_eq(qw_robots_crawl_delay_ms(d), -1);
  const char *const *urls;
  ck_assert_uint_eq(qw_robots_sitemaps(a, &urls), 0);
  ck_assert_uint_eq(qw_robots_sitemaps(d, &urls), 0);
  /* Freeing them is allowed and harmless; they stay usable. */
  qw_robots_free(a);
  qw_robots_free(d);
  qw_robots_free(NULL);
  ck_assert_ptr_eq(qw_robots_allow_all(), a);
  DISALLOWED(qw_robots_disallow_all(), "/x");
}
END_TEST

START_TEST(shop_fixture)
{
  /* A realistic shop file, also a fuzz seed. */
  size_t len;
  char *path = qw_test_source_path("fuzz/corpus/robots/mall.txt");
  char *text = qw_test_read(path, &len);
  free(path);
  qw_robots *r;
  ck_assert_int_eq(qw_robots_parse(text, len, "qingwang", &r), 0);
  ALLOWED(r, "/", "/item/10023.html", "/shop/kangjian/", "/help/faq.html",
          "/item/10023.html?spm=a1.b2");
  DISALLOWED(r, "/cart/", "/member/orders", "/search?q=%E8%A1%80%E5%8E%8B",
             "/item/10023.html?from=share&sid=abc", "/api/v2/price",
             "/ajax/stock.php");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), 2000);
  const char *const *urls;
  ck_assert_uint_eq(qw_robots_sitemaps(r, &urls), 2);
  qw_robots_free(r);
  /* The search engine it names gets a different answer. */
  ck_assert_int_eq(qw_robots_parse(text, len, "Baiduspider", &r), 0);
  ALLOWED(r, "/search?q=1");
  DISALLOWED(r, "/member/orders");
  ck_assert_int_eq(qw_robots_crawl_delay_ms(r), -1);
  qw_robots_free(r);
  ck_assert_int_eq(qw_robots_parse(text, len, "EvilScraper", &r), 0);
  DISALLOWED(r, "/", "/item/1.html");
  qw_robots_free(r);
  free(text);
}
END_TEST

static Suite *robots_suite(void)
{
  Suite *s = suite_create("robots");
  TCase *tc = tcase_create("rfc");
  tcase_add_test(tc, rfc_5_1_foobot);
  tcase_add_test(tc, rfc_5_1_barbot_bazbot);
  tcase_add_test(tc, rfc_5_1_quxbot_and_others);
  tcase_add_test(tc, rfc_5_2_longest_match);
  tcase_add_test(tc, robots_txt_always_allowed);
  suite_add_tcase(s, tc);
  tc = tcase_create("match");
  tcase_add_test(tc, precedence);
  tcase_add_test(tc, wildcards_and_anchors);
  tcase_add_test(tc, empty_and_odd_rules);
  tcase_add_test(tc, percent_encoding);
  suite_add_tcase(s, tc);
  tc = tcase_create("groups");
  tcase_add_test(tc, agent_selection);
  tcase_add_test(tc, group_merging);
  tcase_add_test(tc, group_boundaries);
  suite_add_tcase(s, tc);
  tc = tcase_create("file");
  tcase_add_test(tc, syntax_tolerance);
  tcase_add_test(tc, crawl_delay);
  tcase_add_test(tc, sitemaps);
  tcase_add_test(tc, shop_fixture);
  suite_add_tcase(s, tc);
  tc = tcase_create("limits");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, huge_file_truncated);
  tcase_add_test(tc, pathological_patterns);
  tcase_add_test(tc, long_paths);
  tcase_add_test(tc, fixed_objects);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(robots_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
