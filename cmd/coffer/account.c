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
			    "'coffer init' or 'coffer device join' first", dir);
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
open_account(const char *base, const struct cf_identity *me,
    const uint8_t *pin, struct cf_err *err)
{
	struct cf_store *s = store_as(base, "_account", me->sk, err);
	char state[4096];

	if (s == NULL)
		return NULL;
	account_state(base, state, sizeof(state));
	return cf_account_open(s, me, state, pin, err);
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
		r = cf_repo_open_zone(s, a->ak, cf_account_epoch(a), cache, err);
		if (r == NULL && err->code == CF_ENOTFOUND)
			cf_err_set(err, CF_ENOTFOUND, "no zone '%s' in the "
			    "account (coffer zone list)", zone);
	}
	cf_account_close(a);
	sodium_free(me);
	return r;
}

/** write_secret_file(path, text, err): O_EXCL, 0600. */
int
write_secret_file(const char *path, const char *text, struct cf_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
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
		return cf_err_set(err, CF_EAUTH, "%s is readable by others: "
		    "chmod 600 it", path);
	}
	got = read(fd, out, n - 1);
	close(fd);
	if (got < 0)
		return cf_err_sys(err, "cannot read %s", path);
	out[got] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}
