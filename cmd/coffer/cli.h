/* cli.h: what the subcommands of coffer share: options, passwords,
 * output, exit codes.  Only cmd/ prints. */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"
#include "repo/repo.h"

enum cli_exit {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,   /* done, but some files could not be read (backup)
	                       or restored (restore), or a lying blob kept
	                       its pack (prune) */
	EXIT_NOREPO = 10,   /* no repository at the given place */
	EXIT_PASSWORD = 12, /* no key slot opens with the password */
	EXIT_SECURITY = 20  /* the server misbehaved: see the alert */
};

#define OPT_VALUE 1 /* takes a value */
#define OPT_MULTI 2 /* may repeat: values are collected */

struct opt {
	const char *name; /* long name without "--" */
	char shortname;
	int flags;
	/* filled by parse_args */
	int set;
	const char *value;
	const char **values;
	size_t nvalues;
};

struct gopts {
	const char *repo, *password_file, *cache_dir, *zone, *credential;
	int json, quiet, tty;
	const char *cmd;
};

struct cmd {
	const char *name;
	int (*run)(struct gopts *g, int argc, char **argv);
	const char *usage;
};

extern const char *cli_progname;

/** parse_args(g, argc, argv, opts, pos, npos): options anywhere, global
 * ones included; the rest into pos.  Returns -1 after printing an error. */
int parse_args(struct gopts *g, int argc, char **argv, struct opt *opts,
    const char ***pos, size_t *npos);
struct opt *opt_get(struct opt *opts, const char *name);

/** die_usage(g, fmt, ...): one error line; returns EXIT_USAGE. */
int usage_error(const struct gopts *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** report(g, err): print ${err} once; returns the exit code for it. */
int report(const struct gopts *g, const struct cf_err *err);

/** read_password(g, confirm, which, out, n): from --password-file,
 * COFFER_PASSWORD_FILE or the terminal; secure memory, free with
 * password_free(). */
int read_password(const struct gopts *g, int confirm, const char *file,
    char **out, size_t *n);
void password_free(char *p, size_t n);

/** open_repo(g, err): unlock the repository named by --repo/COFFER_REPO. */
struct cf_repo *open_repo(struct gopts *g, int *code);
const char *repo_where(const struct gopts *g);
const char *config_dir(char *buf, size_t n);
struct cf_store *open_store(const char *where, int create, struct cf_err *err);
const char *host_name(void);
const char *user_name(void);

/* Output helpers. */
void json_str(FILE *f, const char *s, size_t n);
void human_bytes(char *out, size_t n, uint64_t v);
void fmt_time(char *out, size_t n, int64_t sec);
void print_warning(void *arg, const char *path, const char *msg);

/* A live progress line on stderr while an operation runs. */
struct progress;
struct progress *progress_start(const struct gopts *g, const char *verb,
    struct cf_counters *c);
void progress_stop(struct progress *p);

/** find_spec(g, r, spec, rc): resolve "latest" or an ID prefix, refusing
 * "latest" while a snapshot record does not authenticate. */
struct cf_snapshot *find_spec(const struct gopts *g, struct cf_repo *r,
    const char *spec, int *rc);
/** remember_snapshot(g, name): a snapshot this device just made counts
 * as seen (see check_seen_snapshots in account.c). */
void remember_snapshot(const struct gopts *g, const char *name);
/** parse_threads(g, o, threads): --threads N (1-64). */
int parse_threads(const struct gopts *g, struct opt *o, int *threads);

/* Split "SNAP:PATH". *path is NULL when there is no ':'. */
void split_spec(char *spec, char **snap, char **path);

int cmd_init(struct gopts *g, int argc, char **argv);
int cmd_backup(struct gopts *g, int argc, char **argv);
int cmd_snapshots(struct gopts *g, int argc, char **argv);
int cmd_ls(struct gopts *g, int argc, char **argv);
int cmd_dump(struct gopts *g, int argc, char **argv);
int cmd_diff(struct gopts *g, int argc, char **argv);
int cmd_restore(struct gopts *g, int argc, char **argv);
int cmd_check(struct gopts *g, int argc, char **argv);
int cmd_key(struct gopts *g, int argc, char **argv);
int cmd_device(struct gopts *g, int argc, char **argv);
int cmd_zone(struct gopts *g, int argc, char **argv);
int cmd_recovery(struct gopts *g, int argc, char **argv);
int cmd_mount(struct gopts *g, int argc, char **argv);
int cmd_find(struct gopts *g, int argc, char **argv);
int cmd_forget(struct gopts *g, int argc, char **argv);
int cmd_prune(struct gopts *g, int argc, char **argv);
int cmd_tag(struct gopts *g, int argc, char **argv);
int parse_duration(const char *s, int64_t *out);

/* account.c */
#include "account/account.h"
int split_url(const char *where, const char *zone_opt, char base[512],
    char zone[65], struct cf_err *err);
struct cf_identity *load_identity(int create, struct cf_err *err);
struct cf_store *store_as(const char *base, const char *repo,
    const uint8_t sk[static 64], struct cf_err *err);
void account_state(const char *base, char *out, size_t n);
struct cf_account *open_account(const char *base, const struct cf_identity *me,
    const uint8_t *pin, struct cf_err *err);
struct cf_repo *open_zone(struct gopts *g, const char *where, const char *cache,
    struct cf_err *err);
int write_secret_file(const char *path, const char *text, struct cf_err *err);
int read_secret_file(const char *path, char *out, size_t n, struct cf_err *err);
const char *cache_root(const struct gopts *g, char *buf, size_t n);
int new_recovery(const char *file, struct cf_identity *id, struct cf_err *err);
int write_credential(const char *path, const char *base, const char *zone,
    const uint8_t seed[32], const struct cf_repo *r, struct cf_err *err);
struct cf_repo *open_credential(const char *path, const char *cache,
    struct cf_err *err);

#endif
