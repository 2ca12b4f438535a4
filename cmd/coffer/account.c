/* account.c: how the commands reach an account on cofferd: this device's
 * identity, the account's verified chain and key, and its zones. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "crypto/crypto.h"
#include "device/device.h"
#include "engine/forget.h"
#include "net/net.h"

/** split_url(where, zone_opt, base, zone): "http://h:p[/zone]". */
int
split_url(const char *where, const char *zone_opt, char base[512],
    char zone[65], struct cf_err *err)
{
	const char *p = strstr(where, "://"), *slash;
	size_t bl;

	if (p == NULL)
		return cf_err_set(err, CF_EUSAGE, "bad URL '%s'", where);
	slash = strchr(p + 3, '/');
	bl = slash ? (size_t)(slash - where) : strlen(where);
	if (bl >= 512)
		return cf_err_set(err, CF_EUSAGE, "URL too long");
	memcpy(base, where, bl);
	base[bl] = '\0';
	snprintf(zone, 65, "%s", "default");
	if (slash != NULL && slash[1] != '\0') {
		size_t zl = strcspn(slash + 1, "/");

		if (zl == 0 || zl > 64)
			return cf_err_set(err, CF_EUSAGE, "bad zone in '%s'",
			    where);
		memcpy(zone, slash + 1, zl);
		zone[zl] = '\0';
	}
	if (zone_opt != NULL)
		snprintf(zone, 65, "%s", zone_opt);
	if (zone[0] == '_' || strlen(zone) > 64)
		return cf_err_set(err, CF_EUSAGE,
		    "zone names start with a letter or digit");
	return 0;
}

/** load_identity(create, err): this device's keys (sodium memory). */
struct cf_identity *
load_identity(int create, struct cf_err *err)
{
	struct cf_identity *id;
	struct cf_device *dev;
	char buf[4096];
	const char *dir = config_dir(buf, sizeof(buf));

	if ((dev = cf_device_load(dir, create, err)) == NULL) {
		if (err->code == CF_ENOTFOUND)
			cf_err_set(err, CF_ENOTFOUND,
			    "this device has no key yet (%s/device.key): run "
			    "'coffer init' or 'coffer device join' first",
			    dir);
		return NULL;
	}
	if ((id = sodium_malloc(sizeof(*id))) != NULL)
		cf_identity_from_sk(id, dev->sk);
	else
		cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_device_free(dev);
	return id;
}

/** store_as(base, repo, sk, err): an HTTP store signing with ${sk}. */
struct cf_store *
store_as(const char *base, const char *repo, const uint8_t sk[static 64],
    struct cf_err *err)
{
	struct cf_device *dev = sodium_malloc(sizeof(*dev));
	struct cf_store *s;
	char url[640];

	if (dev == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(dev->sk, sk, 64);
	memcpy(dev->pk, sk + 32, 32);
	snprintf(url, sizeof(url), "%s/%s", base, repo);
	s = cf_store_http_open(url, dev, err);
	sodium_free(dev);
	return s;
}

/** account_state(base, out, n): this device's folder for the account at
 * ${base}. */
void
account_state(const char *base, char *out, size_t n)
{
	char buf[4096], hex[17];
	const char *dir = config_dir(buf, sizeof(buf));
	uint8_t h[32];

	cf_crypto_hash((const uint8_t *)base, strlen(base), h);
	cf_hex(hex, h, 8);
	(void)mkdir(dir, 0700);
	snprintf(out, n, "%s/accounts", dir);
	(void)mkdir(out, 0700);
	snprintf(out, n, "%s/accounts/%s", dir, hex);
}

/** open_account(base, me, pin, err): verify the chain, unseal the key. */
struct cf_account *
open_account(const char *base, const struct cf_identity *me, const uint8_t *pin,
    struct cf_err *err)
{
	struct cf_store *s = store_as(base, "_account", me->sk, err);
	char state[4096];

	if (s == NULL)
		return NULL;
	account_state(base, state, sizeof(state));
	return cf_account_open(s, me, state, pin, err);
}

/* Rollback of the set of snapshots: this device remembers every snapshot
 * of a zone it has seen (accounts/ID/zone-ZONE.seen); one that disappears
 * was hidden or deleted by the server, unless a forget record names it. */
struct seen {
	char (*names)[65];
	size_t n, cap;
};

static int
add_seen(void *arg, const char *name, uint64_t size)
{
	struct seen *v = arg;

	(void)size;
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 64;
		void *np = realloc(v->names, nc * 65);

		if (np == NULL)
			return -1;
		v->names = np;
		v->cap = nc;
	}
	snprintf(v->names[v->n++], 65, "%.64s", name);
	return 0;
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* qsort and bsearch on a possibly empty (NULL) array. */
static void
seen_sort(struct seen *v)
{
	if (v->n > 1)
		qsort(v->names, v->n, 65, seen_cmp);
}

static int
seen_has(const struct seen *v, const char *name)
{
	return v->n > 0 && bsearch(name, v->names, v->n, 65, seen_cmp) != NULL;
}

/* A seen snapshot is missing: fine if a forget record (sealed with the
 * zone's keys, so from a device of the account) names it. */
static int
gone(struct cf_repo *r, const char *name, struct cf_idset *forgotten,
    int *loaded, struct cf_err *err)
{
	uint8_t id[32];

	if (!*loaded) {
		if (cf_forget_load(r, forgotten, err) != 0)
			return -1;
		*loaded = 1;
	}
	if (cf_unhex(id, 32, name) == 0 && cf_idset_has(forgotten, id))
		return 0;
	return cf_err_set(err, CF_ESECURITY,
	    "SECURITY ALERT: snapshot %.8s, "
	    "seen before by this device, is gone from the server (rolled back "
	    "or hidden)",
	    name);
}

static int
check_seen_snapshots(const char *base, const char *zone, struct cf_repo *r,
    struct cf_err *err)
{
	struct cf_idset forgotten = {0};
	int loaded = 0;
	struct seen now = {0}, old = {0};
	char path[4300], tmp[4400], line[80];
	FILE *f;
	int rc = 0;

	account_state(base, path, sizeof(path));
	snprintf(path + strlen(path), sizeof(path) - strlen(path),
	    "/zone-%s.seen", zone);
	if (cf_store_list(r->store, CF_KIND_SNAPSHOT, add_seen, &now, err) !=
	    0) {
		free(now.names);
		return -1;
	}
	seen_sort(&now);
	if ((f = fopen(path, "r")) != NULL) {
		while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (!seen_has(&now, line))
				rc = gone(r, line, &forgotten, &loaded, err);
			else if (add_seen(&old, line, 0) != 0)
				rc =
				    cf_err_set(err, CF_ENOMEM, "out of memory");
		}
		fclose(f);
	}
	seen_sort(&old);
	/* Remember a new name only once it authenticates as a snapshot of
	 * this zone: a name the server planted (another account's snapshot,
	 * garbage) and later removed must not raise an alert forever. */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (rc == 0 && (f = fopen(tmp, "w")) != NULL) {
		for (size_t i = 0; i < now.n; i++) {
			struct cf_err e2 = {0};
			struct cf_snapshot *sn = NULL;

			if (!seen_has(&old, now.names[i]) &&
			    (sn = cf_repo_load_snapshot(r, now.names[i],
			         &e2)) == NULL)
				continue;
			cf_snapshot_free(sn);
			fprintf(f, "%s\n", now.names[i]);
		}
		int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;

		if (fclose(f) == 0 && ok)
			(void)rename(tmp, path);
		else
			(void)unlink(tmp);
	}
	free(now.names);
	free(old.names);
	cf_idset_release(&forgotten);
	return rc;
}

/** remember_snapshot(g, name): after a backup to a cofferd zone, count
 * its snapshot as seen at once, so that a server hiding it right away is
 * caught too (best effort: the next open records it anyway). */
void
remember_snapshot(const struct gopts *g, const char *name)
{
	const char *where = repo_where(g), *cred = getenv("COFFER_CREDENTIAL");
	char base[512], zone[65], path[4300], line[70];
	struct cf_err e2 = {0};
	int fd;

	if (where == NULL || !cf_store_is_url(where) || g->credential != NULL ||
	    (cred != NULL && *cred) ||
	    split_url(where, g->zone, base, zone, &e2) != 0)
		return;
	account_state(base, path, sizeof(path));
	snprintf(path + strlen(path), sizeof(path) - strlen(path),
	    "/zone-%s.seen", zone);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) <
	    0)
		return;
	snprintf(line, sizeof(line), "%s\n", name);
	(void)!write(fd, line, strlen(line));
	(void)fsync(fd);
	close(fd);
}

/** open_zone(g, where, err): the repository of a cofferd URL. */
struct cf_repo *
open_zone(struct gopts *g, const char *where, const char *cache,
    struct cf_err *err)
{
	struct cf_identity *me;
	struct cf_account *a;
	struct cf_store *s;
	struct cf_repo *r = NULL;
	char base[512], zone[65];

	if (split_url(where, g->zone, base, zone, err) != 0 ||
	    (me = load_identity(0, err)) == NULL)
		return NULL;
	if ((a = open_account(base, me, NULL, err)) != NULL &&
	    (s = store_as(base, zone, me->sk, err)) != NULL) {
		r = cf_repo_open_zone(s, a->ak, cf_account_epoch(a), cache,
		    err);
		if (r == NULL && err->code == CF_ENOTFOUND)
			cf_err_set(err, CF_ENOTFOUND,
			    "no zone '%s' in the "
			    "account (coffer zone list)",
			    zone);
		if (r != NULL &&
		    check_seen_snapshots(base, zone, r, err) != 0) {
			cf_repo_close(r);
			r = NULL;
		}
	}
	cf_account_close(a);
	sodium_free(me);
	return r;
}

/** write_secret_file(path, text, err): O_EXCL, 0600. */
int
write_secret_file(const char *path, const char *text, struct cf_err *err)
{
	int fd = open(path,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	size_t n = strlen(text);
	int ok;

	if (fd < 0)
		return cf_err_sys(err, "cannot create %s", path);
	ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
	     fsync(fd) == 0;
	close(fd);
	return ok ? 0 : cf_err_sys(err, "cannot write %s", path);
}

/** read_secret_file(path, out, n, err): a small file, checked 0600. */
int
read_secret_file(const char *path, char *out, size_t n, struct cf_err *err)
{
	struct stat st;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cf_err_sys(err, "cannot open %s", path);
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		close(fd);
		return cf_err_set(err, CF_EAUTH,
		    "%s is readable by others: "
		    "chmod 600 it",
		    path);
	}
	got = read(fd, out, n - 1);
	close(fd);
	if (got < 0)
		return cf_err_sys(err, "cannot read %s", path);
	out[got] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* A write-only credential, as text (mode 0600):
 *   coffer-write-only 1
 *   url BASE
 *   zone NAME
 *   device SEEDHEX
 *   repo IDHEX
 *   keys IDHEX GEARHEX MACHEX BOXPKHEX
 *   index HEX...           (the index key of every version, oldest first) */
int
write_credential(const char *path, const char *base, const char *zone,
    const uint8_t seed[32], const struct cf_repo *r, struct cf_err *err)
{
	const struct cf_keys *k = r->keys;
	char *text = sodium_malloc(8192), h[5][65], rid[33], ix[65];
	size_t n;
	int rc;

	if (text == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_hex(h[0], seed, 32);
	cf_hex(h[1], k->id, 32);
	cf_hex(h[2], k->gear, 32);
	cf_hex(h[3], k->mac, 32);
	cf_hex(h[4], k->box_pk, 32);
	cf_hex(rid, r->id, CF_REPO_ID_BYTES);
	n = (size_t)snprintf(text, 8192,
	    "coffer-write-only 1\nurl %s\nzone %s\n"
	    "device %s\nrepo %s\nkeys %s %s %s %s\nindex",
	    base, zone, h[0], rid, h[1], h[2], h[3], h[4]);
	for (size_t i = 0; i <= k->nold && n < 8000; i++) {
		cf_hex(ix, i < k->nold ? k->old[i].index : k->index, 32);
		n += (size_t)snprintf(text + n, 8192 - n, " %s", ix);
	}
	rc = write_secret_file(path, text, err);
	sodium_memzero(h, sizeof(h));
	sodium_memzero(ix, sizeof(ix));
	sodium_free(text);
	return rc;
}

static size_t
parse_index_keys(const char *t, uint8_t (*ix)[32], size_t max)
{
	const char *p = strstr(t, "\nindex ");
	size_t n = 0;
	char hex[65];
	int used;

	if (p == NULL)
		return 0;
	p += 7;
	while (n < max && sscanf(p, " %64s%n", hex, &used) == 1) {
		if (cf_unhex(ix[n], 32, hex) != 0)
			return 0;
		n++;
		p += used;
	}
	return n;
}

/** open_credential(path, cache, err): the zone a write-only credential
 * names, opened for backups only. */
struct cf_repo *
open_credential(const char *path, const char *cache, struct cf_err *err)
{
	char *t = sodium_malloc(8192), base[512], zone[65], hx[5][65], rid[33];
	uint8_t k[5][32], id[CF_REPO_ID_BYTES], sk[64], pk[32];
	uint8_t(*ix)[32] = sodium_malloc((CF_MAX_VERSIONS + 1) * 32);
	struct cf_keys *keys = NULL;
	struct cf_repo *r = NULL;
	struct cf_store *s;
	struct stat st;
	size_t n, nix = 0;
	FILE *f;

	if (t == NULL || ix == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if ((f = fopen(path, "r")) == NULL) {
		cf_err_sys(err, "cannot open credential %s", path);
		goto out;
	}
	n = fstat(fileno(f), &st) == 0 && (st.st_mode & 077) == 0
	        ? fread(t, 1, 8191, f)
	        : 0;
	fclose(f);
	t[n] = '\0';
	if (n == 0) {
		cf_err_set(err, CF_EAUTH,
		    "credential %s is empty or readable "
		    "by others (chmod 600)",
		    path);
		goto out;
	}
	if (sscanf(t,
	        "coffer-write-only 1\nurl %511s\nzone %64s\ndevice %64s\n"
	        "repo %32s\nkeys %64s %64s %64s %64s",
	        base, zone, hx[0], rid, hx[1], hx[2], hx[3], hx[4]) != 8 ||
	    cf_unhex(id, CF_REPO_ID_BYTES, rid) != 0 ||
	    (nix = parse_index_keys(t, ix, CF_MAX_VERSIONS + 1)) == 0) {
		cf_err_set(err, CF_EFORMAT, "credential %s is malformed", path);
		goto out;
	}
	for (int i = 0; i < 5; i++)
		if (cf_unhex(k[i], 32, hx[i]) != 0) {
			cf_err_set(err, CF_EFORMAT,
			    "credential %s is malformed", path);
			goto out;
		}
	crypto_sign_seed_keypair(pk, sk, k[0]);
	if ((keys = cf_keys_new_writeonly(k[1], k[2], (const uint8_t(*)[32])ix,
	         nix, k[3], k[4], err)) != NULL &&
	    (s = store_as(base, zone, sk, err)) != NULL)
		r = cf_repo_open_writeonly(s, keys, id, cache, err);
	else
		cf_keys_free(keys);
out:
	sodium_memzero(k, sizeof(k));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hx, sizeof(hx));
	if (ix != NULL)
		sodium_free(ix);
	if (t != NULL)
		sodium_free(t);
	return r;
}
