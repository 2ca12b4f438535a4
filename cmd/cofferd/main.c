/*
 * cofferd: the untrusted coffer server.  It keeps ciphertext for accounts
 * and never holds a key.  Embedded default: one folder with an SQLite
 * database (metadata) and the objects as files.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blobs.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "server/server.h"
#include "util/buf.h"

#define DEFAULT_PORT 8418
#define DAY 86400

struct opts {
	const char *data, *listen, *tls_cert, *tls_key, *log;
	const char *blobs, *config; /* S3: see blobs.h */
	const char *meta; /* --meta postgresql://...: metadata in PostgreSQL */
	int insecure, open_reg, append_only, json;
	int64_t retention, expires_days;
	uint64_t quota_bytes, quota_objects, max_object;
	unsigned threads;
	const char *pos[4];
	int npos;
};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cofferd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
log_line(void *arg, const char *line)
{
	FILE *f = arg;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_mu);
	fprintf(f, "%s %s\n", ts, line);
	fflush(f);
	pthread_mutex_unlock(&log_mu);
}

static uint64_t
parse_num(const char *flag, const char *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-')
		die("%s takes a whole number, not '%s'", flag, v);
	return x;
}

static const char *
need(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		die("option %s needs a value", argv[*i]);
	return argv[++*i];
}

static void
parse(int argc, char **argv, int start, struct opts *o)
{
	for (int i = start; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--data"))
			o->data = need(argc, argv, &i);
		else if (!strcmp(a, "--listen"))
			o->listen = need(argc, argv, &i);
		else if (!strcmp(a, "--tls-cert"))
			o->tls_cert = need(argc, argv, &i);
		else if (!strcmp(a, "--tls-key"))
			o->tls_key = need(argc, argv, &i);
		else if (!strcmp(a, "--log"))
			o->log = need(argc, argv, &i);
		else if (!strcmp(a, "--blobs"))
			o->blobs = need(argc, argv, &i);
		else if (!strcmp(a, "--config"))
			o->config = need(argc, argv, &i);
		else if (!strcmp(a, "--meta"))
			o->meta = need(argc, argv, &i);
		else if (!strcmp(a, "--insecure-listen"))
			o->insecure = 1;
		else if (!strcmp(a, "--open-registration"))
			o->open_reg = 1;
		else if (!strcmp(a, "--append-only"))
			o->append_only = 1;
		else if (!strcmp(a, "--json"))
			o->json = 1;
		else if (!strcmp(a, "--retention-days"))
			o->retention =
			    (int64_t)parse_num(a, need(argc, argv, &i)) * DAY;
		else if (!strcmp(a, "--expires-days"))
			o->expires_days =
			    (int64_t)parse_num(a, need(argc, argv, &i));
		else if (!strcmp(a, "--quota-bytes") || !strcmp(a, "--bytes"))
			o->quota_bytes = parse_num(a, need(argc, argv, &i));
		else if (!strcmp(a, "--quota-objects") ||
		         !strcmp(a, "--objects"))
			o->quota_objects = parse_num(a, need(argc, argv, &i));
		else if (!strcmp(a, "--max-object"))
			o->max_object = parse_num(a, need(argc, argv, &i));
		else if (!strcmp(a, "--threads"))
			o->threads =
			    (unsigned)parse_num(a, need(argc, argv, &i));
		else if (a[0] == '-')
			die("unknown option '%s' (see 'cofferd --help')", a);
		else if (o->npos < 4)
			o->pos[o->npos++] = a;
		else
			die("unexpected argument '%s'", a);
	}
}

static const char *
default_data(char *buf, size_t n)
{
	const char *e;

	if ((e = getenv("XDG_DATA_HOME")) != NULL && *e)
		snprintf(buf, n, "%s/cofferd", e);
	else if ((e = getenv("HOME")) != NULL && *e)
		snprintf(buf, n, "%s/.local/share/cofferd", e);
	else
		snprintf(buf, n, "/var/lib/cofferd");
	return buf;
}

/* --meta URL: a PostgreSQL URL (the message never repeats it: it may hold
 * a password). */
static struct cf_meta *
open_meta_url(const char *url, int *from, int *to)
{
	struct cf_err err = {0};
	struct cf_meta *m;

	if (strncmp(url, "postgresql://", 13) != 0 &&
	    strncmp(url, "postgres://", 11) != 0)
		die("--meta takes a postgresql:// or postgres:// URL");
	if ((m = cf_meta_pg_migrate(url, from, to, &err)) == NULL)
		die("%s", err.msg);
	return m;
}

static void
open_stores(const struct opts *o, const char *dir, struct cf_meta **m,
    struct cf_blobs **b)
{
	struct cf_err err = {0};
	char path[4096];
	int from, to;

	/* PostgreSQL and S3 together need no data folder */
	if ((o->meta == NULL || (o->blobs == NULL && o->config == NULL)) &&
	    mkdir(dir, 0700) != 0 && errno != EEXIST)
		die("cannot create data folder %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	if (o->meta != NULL)
		*m = open_meta_url(o->meta, &from, &to);
	else if ((*m = cf_meta_sqlite_open(path, &err)) == NULL)
		die("%s", err.msg);
	if ((*b = cofferd_blobs_open(o->blobs, o->config, dir, &err)) == NULL)
		die("%s", err.msg);
}

static char *
read_pem(const char *path)
{
	struct cf_buf b;
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		die("cannot read %s: %s", path, strerror(errno));
	cf_buf_init(&b, 1u << 20);
	if (cf_buf_reserve(&b, (1u << 20) - 1))
		die("out of memory");
	n = fread(b.p, 1, (1u << 20) - 1, f);
	fclose(f);
	b.p[n] = '\0';
	return (char *)b.p;
}

static void
split_listen(const char *s, char *host, size_t n, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	size_t hl;

	if (colon == NULL)
		die("--listen takes HOST:PORT, not '%s'", s);
	hl = (size_t)(colon - s);
	if (s[0] == '[' && hl >= 2 && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= n)
		die("--listen takes HOST:PORT, not '%s'", s);
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = (uint16_t)parse_num("--listen port", colon + 1);
	if (parse_num("--listen port", colon + 1) > 65535)
		die("port out of range in '%s'", s);
}

static int
is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

static int
serve(struct opts *o)
{
	struct cf_server_config cfg = {0};
	struct cf_err err = {0};
	struct cf_server *srv;
	struct cf_meta *meta;
	struct cf_blobs *blobs;
	char host[256] = "127.0.0.1", dbuf[4096];
	const char *data = o->data ? o->data : default_data(dbuf, sizeof(dbuf));
	FILE *logf = stderr;
	uint16_t port = DEFAULT_PORT;
	sigset_t set;
	int sig = 0;
	time_t last_purge = 0;

	if (o->listen != NULL)
		split_listen(o->listen, host, sizeof(host), &port);
	if (!is_loopback(host) && o->tls_cert == NULL && !o->insecure)
		die("refusing plain HTTP on %s: give --tls-cert and --tls-key, "
		    "or "
		    "--insecure-listen",
		    host);
	if ((o->tls_cert == NULL) != (o->tls_key == NULL))
		die("--tls-cert and --tls-key go together");
	if (o->log != NULL && strcmp(o->log, "-") != 0 &&
	    (logf = fopen(o->log, "a")) == NULL)
		die("cannot open log %s: %s", o->log, strerror(errno));
	open_stores(o, data, &meta, &blobs);
	cfg.host = host;
	cfg.port = port;
	cfg.tls_cert = o->tls_cert ? read_pem(o->tls_cert) : NULL;
	cfg.tls_key = o->tls_key ? read_pem(o->tls_key) : NULL;
	cfg.open_registration = o->open_reg;
	cfg.retention_s = o->retention;
	cfg.quota_bytes = o->quota_bytes ? o->quota_bytes : 1ull << 40;
	cfg.quota_objects = o->quota_objects ? o->quota_objects : 10000000;
	cfg.max_object = o->max_object;
	cfg.threads = o->threads;
	cfg.log = log_line;
	cfg.log_arg = logf;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((srv = cf_server_start(&cfg, meta, blobs, &err)) == NULL)
		die("%s", err.msg);
	printf("cofferd listening on %s://%s%s%s:%u (data in %s)\n",
	    cfg.tls_cert ? "https" : "http", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", cf_server_port(srv), data);
	fflush(stdout);
	while (sig != SIGTERM && sig != SIGINT) {
		struct timespec ts = {60, 0};
		uint64_t purged;

		if (time(NULL) - last_purge >= 3600) {
			last_purge = time(NULL);
			if (cf_server_purge(meta, blobs,
			        time(NULL) - o->retention, &purged, &err) != 0)
				log_line(logf, err.msg);
		}
		sig = sigtimedwait(&set, NULL, &ts);
	}
	log_line(logf, "shutting down: finishing requests in flight");
	cf_server_stop(srv, 30);
	meta->ops->close(meta);
	blobs->ops->close(blobs);
	free((void *)cfg.tls_cert);
	free((void *)cfg.tls_key);
	return 0;
}

static int
print_account(void *arg, const struct cf_account_row *a)
{
	const struct opts *o = arg;

	if (o->json)
		printf("{\"id\":%lld,\"created\":%lld,\"disabled\":%s,"
		       "\"devices\":%llu,\"used_bytes\":%llu,\"used_objects\":%"
		       "llu,"
		       "\"quota_bytes\":%llu,\"quota_objects\":%llu}\n",
		    (long long)a->id, (long long)a->created,
		    a->disabled ? "true" : "false",
		    (unsigned long long)a->devices,
		    (unsigned long long)a->used_bytes,
		    (unsigned long long)a->used_objects,
		    (unsigned long long)a->quota_bytes,
		    (unsigned long long)a->quota_objects);
	else
		printf("%6lld  %-8s %3llu devices  %14llu / %-14llu bytes  "
		       "%9llu / "
		       "%-9llu objects\n",
		    (long long)a->id, a->disabled ? "disabled" : "active",
		    (unsigned long long)a->devices,
		    (unsigned long long)a->used_bytes,
		    (unsigned long long)a->quota_bytes,
		    (unsigned long long)a->used_objects,
		    (unsigned long long)a->quota_objects);
	return 0;
}

static int
admin_invite(struct cf_meta *m, const struct opts *o, struct cf_err *err)
{
	uint8_t tok[16], hash[32];
	char hex[33];

	cf_crypto_random(tok, sizeof(tok));
	cf_crypto_hash(tok, sizeof(tok), hash);
	if (m->ops->invite_add(m, hash,
	        (int64_t)time(NULL) + o->expires_days * DAY,
	        o->append_only ? CF_SCOPE_APPEND_ONLY : 0, err) != 0)
		return -1;
	cf_hex(hex, tok, sizeof(tok));
	printf("%s\n", hex);
	return 0;
}

static int64_t
account_arg(const struct opts *o)
{
	if (o->npos < 2)
		die("give the account number");
	return (int64_t)parse_num("account", o->pos[1]);
}

static int
admin(struct opts *o)
{
	struct cf_err err = {0};
	struct cf_meta *meta;
	struct cf_blobs *blobs;
	char dbuf[4096];
	const char *cmd = o->npos ? o->pos[0] : "";
	uint64_t purged;
	int rc = 0;

	open_stores(o, o->data ? o->data : default_data(dbuf, sizeof(dbuf)),
	    &meta, &blobs);
	if (!strcmp(cmd, "invite"))
		rc = admin_invite(meta, o, &err);
	else if (!strcmp(cmd, "accounts"))
		rc = meta->ops->accounts(meta, print_account, o, &err);
	else if (!strcmp(cmd, "set-quota"))
		rc = meta->ops->account_set(meta, account_arg(o), -1,
		    o->quota_bytes ? (int64_t)o->quota_bytes : -1,
		    o->quota_objects ? (int64_t)o->quota_objects : -1, &err);
	else if (!strcmp(cmd, "disable") || !strcmp(cmd, "enable"))
		rc = meta->ops->account_set(meta, account_arg(o),
		    !strcmp(cmd, "disable"), -1, -1, &err);
	else if (!strcmp(cmd, "purge")) {
		/* Deletes are stamped in whole seconds: +1 takes in those of
		 * this very second, so --retention-days 0 purges them all. */
		rc = cf_server_purge(meta, blobs,
		    (int64_t)time(NULL) - o->retention + 1, &purged, &err);
		if (rc == 0)
			printf("purged %llu objects deleted more than %lld "
			       "days "
			       "ago\n",
			    (unsigned long long)purged,
			    (long long)(o->retention / DAY));
	} else
		die("admin takes invite, accounts, set-quota, disable, enable "
		    "or "
		    "purge (see 'cofferd --help')");
	if (rc == 1)
		die("no such account");
	if (rc != 0)
		die("%s", err.msg);
	meta->ops->close(meta);
	blobs->ops->close(blobs);
	return 0;
}

/* cofferd migrate --meta URL: bring the schema up to date, then exit. */
static int
migrate(const struct opts *o)
{
	struct cf_meta *m;
	int from, to;

	if (o->meta == NULL || o->npos > 0)
		die("migrate takes --meta postgresql://... (see 'cofferd "
		    "--help')");
	m = open_meta_url(o->meta, &from, &to);
	if (from == to)
		printf("metadata schema at version %d: up to date\n", to);
	else
		printf("metadata schema migrated from version %d to %d\n", from,
		    to);
	m->ops->close(m);
	return 0;
}

static void
help(void)
{
	printf(
	    "usage: cofferd [--data DIR] [--listen HOST:PORT] [--tls-cert PEM "
	    "--tls-key PEM]\n"
	    "               [--insecure-listen] [--open-registration] "
	    "[--retention-days N]\n"
	    "               [--quota-bytes N] [--quota-objects N] "
	    "[--max-object N] [--threads N]\n"
	    "               [--log FILE|-] [--blobs s3://BUCKET[/PREFIX]] "
	    "[--config FILE]\n"
	    "               [--meta postgresql://[USER@]HOST[:PORT]/DB]\n"
	    "       cofferd migrate --meta postgresql://...\n"
	    "       cofferd admin [--data DIR] invite [--append-only] "
	    "[--expires-days N]\n"
	    "       cofferd admin [--data DIR] accounts [--json]\n"
	    "       cofferd admin [--data DIR] set-quota ACCOUNT [--bytes N] "
	    "[--objects N]\n"
	    "       cofferd admin [--data DIR] disable|enable ACCOUNT\n"
	    "       cofferd admin [--data DIR] purge [--retention-days N]\n"
	    "\nDefaults: data in ~/.local/share/cofferd, listen "
	    "127.0.0.1:%d, soft-deleted\nobjects kept 30 days, quota 1 TiB "
	    "and 10 million objects per account,\nobjects up to 1 GiB, a "
	    "thread per connection.\n",
	    DEFAULT_PORT);
	cofferd_blobs_help();
	printf(
	    "\nMetadata in PostgreSQL: --meta "
	    "postgresql://[USER@]HOST[:PORT]/DB"
	    "[?PARAM=VALUE...]\n(or postgres://) keeps accounts, the object "
	    "catalogue and refs in PostgreSQL\ninstead of DIR/meta.db, so "
	    "several cofferd processes can share them; admin\ntakes the same "
	    "flag.  The schema is created or upgraded at start (under a lock,\n"
	    "so processes may start together); 'cofferd migrate --meta URL' "
	    "does only that.\nGive the password through ~/.pgpass, PGPASSFILE "
	    "or PGPASSWORD, not in the URL:\ncommand lines are visible to "
	    "other users.  With --blobs as well, DIR is unused.\n");
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct cf_err err;

	o.retention = 30 * DAY;
	o.expires_days = 7;
	o.max_object = 1ull << 30;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	                    !strcmp(argv[1], "help"))) {
		help();
		return 0;
	}
	if (cf_crypto_init(&err) != 0 || cf_net_global_init(&err) != 0)
		die("%s", err.msg);
	if (argc > 1 && !strcmp(argv[1], "admin")) {
		parse(argc, argv, 2, &o);
		return admin(&o);
	}
	if (argc > 1 && !strcmp(argv[1], "migrate")) {
		parse(argc, argv, 2, &o);
		return migrate(&o);
	}
	parse(argc, argv, 1, &o);
	if (o.npos > 0)
		die("unexpected argument '%s' (see 'cofferd --help')",
		    o.pos[0]);
	return serve(&o);
}
