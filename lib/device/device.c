#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "device/device.h"
#include "util/buf.h"

#define SEED_BYTES 32

static int
write_new(const char *path, struct cf_err *err)
{
	uint8_t seed[SEED_BYTES];
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errno == EEXIST
		           ? 0
		           : cf_err_sys(err, "cannot create %s", path);
	cf_crypto_random(seed, sizeof(seed));
	ok = write(fd, seed, sizeof(seed)) == (ssize_t)sizeof(seed) &&
	     fsync(fd) == 0;
	sodium_memzero(seed, sizeof(seed));
	close(fd);
	if (!ok) {
		(void)unlink(path);
		return cf_err_sys(err, "cannot write %s", path);
	}
	return 0;
}

static int
read_seed(const char *path, uint8_t seed[SEED_BYTES], struct cf_err *err)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return cf_err_sys(err, "cannot open device key %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cf_err_set(err, CF_EFORMAT, "%s is not a key file",
		    path);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return cf_err_set(err, CF_EAUTH,
		    "device key %s belongs to another user (uid %u): "
		    "use your own COFFER_CONFIG_DIR",
		    path, (unsigned)st.st_uid);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return cf_err_set(err, CF_EAUTH,
		    "device key %s is readable by others (mode %03o): "
		    "chmod 600 it",
		    path, (unsigned)(st.st_mode & 0777));
	}
	n = read(fd, seed, SEED_BYTES);
	close(fd);
	if (n != SEED_BYTES || st.st_size != SEED_BYTES)
		return cf_err_set(err, CF_EFORMAT, "device key %s is corrupt",
		    path);
	return 0;
}

/** cf_device_load(dir, create, err): this device's keys. */
struct cf_device *
cf_device_load(const char *dir, int create, struct cf_err *err)
{
	uint8_t seed[SEED_BYTES];
	struct cf_device *d;
	char path[4096];

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cf_err_sys(err, "cannot create %s", dir);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/device.key", dir);
	if (create && write_new(path, err) != 0)
		return NULL;
	if (read_seed(path, seed, err) != 0)
		return NULL;
	if ((d = sodium_malloc(sizeof(*d))) == NULL) {
		sodium_memzero(seed, sizeof(seed));
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	crypto_sign_seed_keypair(d->pk, d->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return d;
}

void
cf_device_free(struct cf_device *d)
{
	if (d != NULL)
		sodium_free(d);
}

void
cf_device_fingerprint(const struct cf_device *d, char out[33])
{
	uint8_t h[32];

	cf_crypto_hash(d->pk, sizeof(d->pk), h);
	cf_hex(out, h, 16);
}
