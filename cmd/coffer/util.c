/* util.c: option parsing, passwords, output and progress for coffer. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "net/net.h"

#define PASS_MAX 4096

static const struct opt global_opts[] = {
    {"repo", 'r', OPT_VALUE, 0, NULL, NULL, 0},
    {"password-file", 'p', OPT_VALUE, 0, NULL, NULL, 0},
    {"cache-dir", 0, OPT_VALUE, 0, NULL, NULL, 0},
    {"json", 0, 0, 0, NULL, NULL, 0},
    {"quiet", 'q', 0, 0, NULL, NULL, 0},
    {"zone", 'z', OPT_VALUE, 0, NULL, NULL, 0},
    {"credential", 0, OPT_VALUE, 0, NULL, NULL, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0},
};

struct opt *
opt_get(struct opt *opts, const char *name)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

static struct opt *
find_opt(struct opt *opts, struct opt *gl, const char *name, size_t len,
    char sh)
{
	for (int pass = 0; pass < 2; pass++) {
		struct opt *o = pass ? gl : opts;

		for (; o != NULL && o->name != NULL; o++)
			if (sh ? o->shortname == sh
			       : strlen(o->name) == len &&
			             strncmp(o->name, name, len) == 0)
				return o;
	}
	return NULL;
}

static int
set_opt(const struct gopts *g, struct opt *o, const char *value)
{
	if (o->flags & OPT_MULTI) {
		const char **nv =
		    realloc(o->values, (o->nvalues + 2) * sizeof(char *));

		if (nv == NULL)
			return usage_error(g, "out of memory");
		o->values = nv;
		o->values[o->nvalues++] = value;
		o->values[o->nvalues] = NULL;
	}
	o->set = 1;
	o->value = value;
	return 0;
}

static int
parse_one(struct gopts *g, int argc, char **argv, int *i, struct opt *opts,
    struct opt *gl)
{
	const char *a = argv[*i], *eq = NULL, *name;
	struct opt *o;
	size_t len;

	if (a[1] == '-') {
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(opts, gl, name, len, 0);
	} else {
		name = a + 1;
		len = 1;
		o = a[2] == '\0' ? find_opt(opts, gl, NULL, 0, a[1]) : NULL;
	}
	if (o == NULL)
		return usage_error(g, "unknown option '%s'", a);
	if (!(o->flags & OPT_VALUE)) {
		if (eq != NULL)
			return usage_error(g, "option '--%s' takes no value",
			    o->name);
		return set_opt(g, o, "1");
	}
	if (eq != NULL)
		return set_opt(g, o, eq + 1);
	if (*i + 1 >= argc)
		return usage_error(g, "option '%s' needs a value", a);
	return set_opt(g, o, argv[++*i]);
}

/** parse_args(g, argc, argv, opts, pos, npos): parse a command line. */
int
parse_args(struct gopts *g, int argc, char **argv, struct opt *opts,
    const char ***pos, size_t *npos)
{
	struct opt gl[sizeof(global_opts) / sizeof(global_opts[0])];
	const char **p;
	size_t n = 0;
	int only_pos = 0;

	memcpy(gl, global_opts, sizeof(gl));

	if ((p = calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return usage_error(g, "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0)
			only_pos = 1;
		else if (!only_pos && a[0] == '-' && a[1] != '\0') {
			if (parse_one(g, argc, argv, &i, opts, gl) != 0) {
				free(p);
				return -1;
			}
		} else
			p[n++] = a;
	}
	for (struct opt *o = gl; o->name; o++) {
		if (!o->set)
			continue;
		if (!strcmp(o->name, "repo"))
			g->repo = o->value;
		else if (!strcmp(o->name, "password-file"))
			g->password_file = o->value;
		else if (!strcmp(o->name, "cache-dir"))
			g->cache_dir = o->value;
		else if (!strcmp(o->name, "json"))
			g->json = 1;
		else if (!strcmp(o->name, "quiet"))
			g->quiet = 1;
		else if (!strcmp(o->name, "zone"))
			g->zone = o->value;
		else if (!strcmp(o->name, "credential"))
			g->credential = o->value;
	}
	*pos = p;
	*npos = n;
	return 0;
}

/** usage_error(g, fmt, ...): one line on stderr. */
int
usage_error(const struct gopts *g, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", cli_progname, g && g->cmd ? " " : "",
	    g && g->cmd ? g->cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s help')\n", cli_progname);
	return EXIT_USAGE;
}

/** report(g, err): print once, map to an exit code. */
int
report(const struct gopts *g, const struct cf_err *err)
{
	fprintf(stderr, "%s%s%s: %s\n", cli_progname, g->cmd ? " " : "",
	    g->cmd ? g->cmd : "",
	    err->msg[0] ? err->msg : cf_err_name(err->code));
	switch (err->code) {
	case CF_EPASS:
		return EXIT_PASSWORD;
	case CF_ESECURITY:
		return EXIT_SECURITY;
	case CF_EUSAGE:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

static int
read_file_password(const char *path, char *buf, size_t *n)
{
	ssize_t r;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf + len, PASS_MAX - len)) > 0)
		len += (size_t)r;
	close(fd);
	if (r < 0)
		return -1;
	if (len == PASS_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	*n = len;
	return 0;
}

static int
prompt(const char *what, char *buf, size_t *n)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	if (write(fd, what, strlen(what)) < 0 || tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	r = read(fd, buf, PASS_MAX - 1);
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	if (r < 0)
		return -1;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == '\r'))
		r--;
	*n = (size_t)r;
	return 0;
}

/** read_password(g, confirm, file, out, n): get a password. */
int
read_password(const struct gopts *g, int confirm, const char *file, char **out,
    size_t *n)
{
	char *buf = sodium_malloc(PASS_MAX), *again;
	size_t n2;

	if (buf == NULL)
		return usage_error(g, "out of memory");
	if (file == NULL)
		file = g->password_file;
	if (file == NULL)
		file = getenv("COFFER_PASSWORD_FILE");
	if (file != NULL) {
		if (read_file_password(file, buf, n) != 0) {
			fprintf(stderr,
			    "%s: cannot read password file %s: %s\n",
			    cli_progname, file, strerror(errno));
			sodium_free(buf);
			return EXIT_FAIL;
		}
	} else if (prompt("password: ", buf, n) != 0) {
		sodium_free(buf);
		fprintf(stderr,
		    "%s: no password: give --password-file, set "
		    "COFFER_PASSWORD_FILE, or run on a terminal\n",
		    cli_progname);
		return EXIT_USAGE;
	} else if (confirm) {
		if ((again = sodium_malloc(PASS_MAX)) == NULL ||
		    prompt("password again: ", again, &n2) != 0 || n2 != *n ||
		    sodium_memcmp(again, buf, n2) != 0) {
			sodium_free(again);
			sodium_free(buf);
			fprintf(stderr, "%s: passwords do not match\n",
			    cli_progname);
			return EXIT_USAGE;
		}
		sodium_free(again);
	}
	if (*n == 0) {
		sodium_free(buf);
		fprintf(stderr, "%s: empty password refused\n", cli_progname);
		return EXIT_USAGE;
	}
	*out = buf;
	return 0;
}

void
password_free(char *p, size_t n)
{
	(void)n;
	if (p != NULL)
		sodium_free(p); /* wipes */
}

const char *
repo_where(const struct gopts *g)
{
	return g->repo ? g->repo : getenv("COFFER_REPO");
}

/** config_dir(buf, n): COFFER_CONFIG_DIR, else ~/.config/coffer. */
const char *
config_dir(char *buf, size_t n)
{
	const char *e;

	if ((e = getenv("COFFER_CONFIG_DIR")) != NULL && *e)
		return e;
	if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e)
		snprintf(buf, n, "%s/coffer", e);
	else if ((e = getenv("HOME")) != NULL && *e)
		snprintf(buf, n, "%s/.config/coffer", e);
	else
		snprintf(buf, n, "/tmp/coffer-config-%u", (unsigned)getuid());
	return buf;
}

const char *
cache_root(const struct gopts *g, char *buf, size_t n)
{
	const char *e;

	if (g->cache_dir != NULL)
		return g->cache_dir;
	if ((e = getenv("COFFER_CACHE_DIR")) != NULL && *e)
		return e;
	if ((e = getenv("COFFER_CONFIG_DIR")) != NULL && *e) {
		snprintf(buf, n, "%s/cache", e);
		return buf;
	}
	if ((e = getenv("XDG_CACHE_HOME")) != NULL && *e)
		snprintf(buf, n, "%s/coffer", e);
	else if ((e = getenv("HOME")) != NULL && *e)
		snprintf(buf, n, "%s/.cache/coffer", e);
	else
		snprintf(buf, n, "/tmp/coffer-cache-%u", (unsigned)getuid());
	return buf;
}

/** open_store(where, create, err): a local folder, or cofferd for a URL
 * (signing with this device's key from the config folder). */
struct cf_store *
open_store(const char *where, int create, struct cf_err *err)
{
	struct cf_device *dev;
	struct cf_store *s;
	const char *dir;
	char buf[4096];

	if (!cf_store_is_url(where))
		return cf_store_open(where, create, err);
	dir = config_dir(buf, sizeof(buf));
	if ((dev = cf_device_load(dir, create, err)) == NULL) {
		if (err->code == CF_ENOTFOUND)
			cf_err_set(err, CF_ENOTFOUND,
			    "this device has no key yet (%s/device.key): run "
			    "'coffer init --repo %s --invite TOKEN' first",
			    dir, where);
		return NULL;
	}
	s = cf_store_http_open(where, dev, err);
	cf_device_free(dev);
	return s;
}

/** open_repo(g, code): unlock the repository; *code is the exit code on
 * failure. */
struct cf_repo *
open_repo(struct gopts *g, int *code)
{
	struct cf_err err = {0};
	struct cf_repo *r;
	char *pass, cbuf[4096];
	size_t n;
	const char *where = repo_where(g);
	const char *cred =
	    g->credential ? g->credential : getenv("COFFER_CREDENTIAL");

	if (cred != NULL && *cred) {
		if (g->cmd == NULL || strcmp(g->cmd, "backup") != 0) {
			*code =
			    usage_error(g, "a write-only credential can only "
			                   "back up: it opens nothing");
			return NULL;
		}
		r = open_credential(cred, cache_root(g, cbuf, sizeof(cbuf)),
		    &err);
		if (r == NULL)
			*code = report(g, &err);
		return r;
	}
	if (where == NULL || *where == '\0') {
		*code = usage_error(g, "no repository: give --repo or set "
		                       "COFFER_REPO");
		return NULL;
	}
	if (cf_store_is_url(where)) {
		r = open_zone(g, where, cache_root(g, cbuf, sizeof(cbuf)),
		    &err);
		if (r == NULL)
			*code = err.code == CF_ENOTFOUND
			            ? (report(g, &err), EXIT_NOREPO)
			            : report(g, &err);
		return r;
	}
	if ((*code = read_password(g, 0, NULL, &pass, &n)) != 0)
		return NULL;
	{
		struct cf_store *s = open_store(where, 0, &err);

		r = s == NULL ? NULL
		              : cf_repo_open_store(s, pass, n,
		                    cache_root(g, cbuf, sizeof(cbuf)), &err);
	}
	password_free(pass, n);
	if (r == NULL) {
		*code = report(g, &err);
		if (err.code == CF_ENOTFOUND)
			*code = EXIT_NOREPO;
	}
	return r;
}

const char *
host_name(void)
{
	static char h[256]; /* written once, before any thread starts */

	if (h[0] == '\0' && gethostname(h, sizeof(h) - 1) != 0)
		strcpy(h, "unknown");
	return h;
}

const char *
user_name(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? pw->pw_name : "";
}

/** json_str(f, s, n): a JSON string; bytes that are not UTF-8 are written
 * as \u00XX (their Latin-1 reading). */
void
json_str(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[i];
		size_t len = c < 0x80         ? 1
		             : (c >> 5) == 6  ? 2
		             : (c >> 4) == 14 ? 3
		             : (c >> 3) == 30 ? 4
		                              : 0;
		int ok = len > 1 && i + len <= n;

		for (size_t k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || (c >= 0x80 && !ok))
			fprintf(f, "\\u%04x", c);
		else if (c < 0x80)
			fputc((int)c, f);
		else {
			fwrite(p + i, 1, len, f);
			i += len - 1;
		}
	}
	fputc('"', f);
}

void
human_bytes(char *out, size_t n, uint64_t v)
{
	static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double d = (double)v;
	int i = 0;

	while (d >= 1024 && i < 5) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, n, "%llu B", (unsigned long long)v);
	else
		snprintf(out, n, "%.1f %s", d, u[i]);
}

void
fmt_time(char *out, size_t n, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		snprintf(out, n, "%lld", (long long)sec);
	else
		strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

void
print_warning(void *arg, const char *path, const char *msg)
{
	const struct gopts *g = arg;

	if (g->json) {
		fprintf(stderr, "{\"warning\":");
		json_str(stderr, msg, strlen(msg));
		fprintf(stderr, ",\"path\":");
		json_str(stderr, path, strlen(path));
		fprintf(stderr, "}\n");
	} else {
		fprintf(stderr, "warning: %s: %s\n", path, msg);
	}
}

void
split_spec(char *spec, char **snap, char **path)
{
	char *c = strchr(spec, ':');

	*snap = spec;
	*path = NULL;
	if (c != NULL) {
		*c = '\0';
		*path = c + 1;
	}
}

struct progress {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	const char *verb;
	struct cf_counters *c;
	struct timespec t0;
};

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
draw(struct progress *p)
{
	double s = since(&p->t0), rate;
	uint64_t bytes = atomic_load(&p->c->bytes);
	uint64_t total = atomic_load(&p->c->scan_bytes);
	char b[32], r[32], eta[32] = "";

	rate = s > 0 ? (double)bytes / s : 0;
	human_bytes(b, sizeof(b), bytes);
	human_bytes(r, sizeof(r), (uint64_t)rate);
	if (atomic_load(&p->c->scan_done) && rate > 0 && total > bytes) {
		uint64_t left = (uint64_t)((double)(total - bytes) / rate);

		snprintf(eta, sizeof(eta), ", ETA %llu:%02llu",
		    (unsigned long long)(left / 60),
		    (unsigned long long)(left % 60));
	}
	fprintf(stderr, "\r\033[K[%d:%02d] %s %llu files, %s, %s/s%s",
	    (int)s / 60, (int)s % 60, p->verb,
	    (unsigned long long)atomic_load(&p->c->files), b, r, eta);
	if (atomic_load(&p->c->scan_done) && total > 0)
		fprintf(stderr, " (%.0f%%)",
		    100.0 * (double)(bytes < total ? bytes : total) /
		        (double)total);
	fflush(stderr);
}

static void *
progress_main(void *arg)
{
	struct progress *p = arg;
	struct timespec until;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &until);
		if (!p->stop)
			draw(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/** progress_start(g, verb, c): a progress line, only on a terminal. */
struct progress *
progress_start(const struct gopts *g, const char *verb, struct cf_counters *c)
{
	struct progress *p;

	if (g->quiet || g->json || !isatty(2))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->verb = verb;
	p->c = c;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->th, NULL, progress_main, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
progress_stop(struct progress *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	fprintf(stderr, "\r\033[K");
	fflush(stderr);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

int
parse_threads(const struct gopts *g, struct opt *o, int *threads)
{
	char *end;
	long v;

	*threads = 0;
	if (!o->set)
		return 0;
	v = strtol(o->value, &end, 10);
	if (*end || v < 1 || v > 64)
		return usage_error(g, "--threads takes 1 to 64, not '%s'",
		    o->value);
	*threads = (int)v;
	return 0;
}
