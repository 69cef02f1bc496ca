/* cli.c — what the subcommands share: config and rule-pack loading with
 * errors reported as file:line (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "qw_build.h"

int qw_cli_load_config(qw_config *cfg, const char *path,
                       char *const *sets, size_t n_sets)
{
  char err[512];
  if(qw_config_init(cfg) != 0) {
    fprintf(stderr, "qingwang: out of memory\n");
    return -1;
  }
  if(path && qw_config_load(cfg, path, err, sizeof(err)) != 0) {
    fprintf(stderr, "qingwang: config: %s\n", err);
    return -1;
  }
  for(size_t i = 0; i < n_sets; i++) {
    const char *s = sets[i];
    const char *dot = strchr(s, '.');
    const char *eq = strchr(s, '=');
    if(!dot || !eq || dot > eq) {
      fprintf(stderr, "qingwang: --set %s: expected section.key=value\n", s);
      return -1;
    }
    char section[64], key[64];
    size_t sl = (size_t)(dot - s), kl = (size_t)(eq - dot - 1);
    if(sl == 0 || sl >= sizeof(section) || kl == 0 || kl >= sizeof(key)) {
      fprintf(stderr, "qingwang: --set %s: expected section.key=value\n", s);
      return -1;
    }
    memcpy(section, s, sl);
    section[sl] = '\0';
    memcpy(key, dot + 1, kl);
    key[kl] = '\0';
    if(qw_config_set(cfg, section, key, eq + 1, err, sizeof(err)) != 0) {
      fprintf(stderr, "qingwang: --set %s: %s\n", s, err);
      return -1;
    }
  }
  int lv = qw_log_level_from_name(cfg->log_level);
  if(lv >= 0)
    qw_log_set_level((qw_log_level)lv);
  return 0;
}

static int is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int qw_cli_load_rules(const qw_config *cfg, const char *override,
                      qw_ruleset **out, int verbose)
{
  const char *dir = override ? override : cfg->rules_dir;
  if(!override && strcmp(dir, QW_DEFAULT_RULES_DIR) == 0 && !is_dir(dir)) {
    static const char src_pack[] = QW_SOURCE_DIR "/keywords/pack";
    if(is_dir(src_pack)) {
      qw_log(QW_LOG_DEBUG, "rules.fallback", "dir=%s installed=%s",
             qw_log_quote(src_pack), qw_log_quote(dir));
      dir = src_pack;
    }
  }
  qw_diag diag;
  memset(&diag, 0, sizeof(diag));
  int rc = qw_ruleset_load(dir, out, &diag);
  for(size_t i = 0; i < diag.n_errors; i++)
    fprintf(stderr, "qingwang: rules: %s\n", diag.errors[i]);
  if(rc != 0 && diag.n_errors == 0)
    fprintf(stderr, "qingwang: rules: %s: %s\n", dir, strerror(-rc));
  qw_diag_free(&diag);
  if(rc != 0)
    return -1;
  if(verbose)
    for(size_t i = 0; i < (*out)->n_notes; i++)
      fprintf(stderr, "qingwang: rules: note: %s\n", (*out)->notes[i]);
  return 0;
}
