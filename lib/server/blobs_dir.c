/*
 * blobs_dir.c: cofferd's embedded blob store: one file per object under a
 * folder, ACCOUNT/REPO/KIND/XX/NAME.  An upload is written to tmp/, fsynced,
 * renamed into place and the folder fsynced before it counts as stored, so
 * no object is ever visible half-written and none that was acknowledged is
 * lost to a crash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/backend.h"
#include "util/dio.h"

/* An upload arrives in pieces of a few KiB; it is gathered in an aligned
 * stage and written a stage at a time, past the page cache (util/dio.h):
 * the server has no use for a pack in its cache, and a buffered write costs
 * more CPU than receiving it.  Up to STAGES_KEPT stages are kept for the
 * next uploads: a fresh one costs its 1,024 page faults every time (91,000
 * faults, about a second of CPU, in a 2.4 GB backup). */
#define STAGE (4u << 20)
#define STAGES_KEPT 8

struct blobs_dir {
	struct cf_blobs base;
	char *dir;
	pthread_mutex_t mu;
	uint8_t *kept[STAGES_KEPT];
	size_t nkept;
};

struct cf_blobw {
	struct blobs_dir *b;
	int fd;
	uint8_t *stage;
	size_t sn;
	char tmp[4096], dst[4096];
};

struct cf_blobr {
	int fd;
};

/** cf_blob_key(out, account, repo, kind, name): a fresh blob key. */
void
cf_blob_key(char out[CF_BLOBKEY_MAX], int64_t account, const char *repo,
    int kind, const char *name)
{
	uint8_t r[8];
	char hex[17];

	cf_crypto_random(r, sizeof(r));
	cf_hex(hex, r, sizeof(r));
	snprintf(out, CF_BLOBKEY_MAX, "%lld/%s/%d/%.2s/%s.%s",
	    (long long)account, repo, kind, name, name, hex);
}

static int
mkdirs_for(char *path, struct cf_err *err)
{
	for (char *p = strchr(path + 1, '/'); p != NULL;
	     p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			cf_err_sys(err, "cannot create %s", path);
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int
fsync_parent(const char *path, struct cf_err *err)
{
	char dir[4096], *slash;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cf_err_sys(err, "cannot open %s", dir);
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? 0 : cf_err_sys(err, "cannot fsync %s", dir);
}

static struct cf_blobw *
d_write_open(struct cf_blobs *bb, const char *key, struct cf_err *err)
{
	struct blobs_dir *b = (struct blobs_dir *)bb;
	struct cf_blobw *w = calloc(1, sizeof(*w));
	uint8_t r[12];
	char hex[25];

	if (w == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	cf_crypto_random(r, sizeof(r));
	cf_hex(hex, r, sizeof(r));
	w->b = b;
	snprintf(w->tmp, sizeof(w->tmp), "%s/tmp/%s", b->dir, hex);
	snprintf(w->dst, sizeof(w->dst), "%s/objects/%s", b->dir, key);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		cf_err_sys(err, "cannot create %s", w->tmp);
		free(w);
		return NULL;
	}
	return w;
}

static int
flush_stage(struct cf_blobw *w, struct cf_err *err)
{
	size_t done = 0;

	if (cf_dio_write(w->fd, w->stage, w->sn, -1, &done) != 0 ||
	    cf_write_all(w->fd, w->stage + done, w->sn - done, -1) != 0)
		return cf_err_sys(err, "cannot write object");
	w->sn = 0;
	return 0;
}

static uint8_t *
stage_take(struct blobs_dir *b)
{
	uint8_t *p = NULL;

	pthread_mutex_lock(&b->mu);
	if (b->nkept > 0)
		p = b->kept[--b->nkept];
	pthread_mutex_unlock(&b->mu);
	if (p == NULL && posix_memalign((void **)&p, CF_DIO_ALIGN, STAGE) != 0)
		p = NULL;
	return p;
}

static void
stage_give(struct blobs_dir *b, uint8_t *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	if (b->nkept < STAGES_KEPT) {
		b->kept[b->nkept++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&b->mu);
	free(p);
}

static int
d_write(struct cf_blobw *w, const uint8_t *p, size_t n, struct cf_err *err)
{
	if (w->stage == NULL && (w->stage = stage_take(w->b)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	while (n > 0) {
		size_t k = n < STAGE - w->sn ? n : STAGE - w->sn;

		memcpy(w->stage + w->sn, p, k);
		w->sn += k;
		p += k;
		n -= k;
		if (w->sn == STAGE && flush_stage(w, err))
			return -1;
	}
	return 0;
}

static void
d_write_abort(struct cf_blobw *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	(void)unlink(w->tmp);
	stage_give(w->b, w->stage);
	free(w);
}

static int
d_write_commit(struct cf_blobw *w, struct cf_err *err)
{
	int rc = -1;

	if (w->sn > 0 && flush_stage(w, err))
		goto out;
	if (fsync(w->fd) != 0) {
		cf_err_sys(err, "cannot fsync object");
		goto out;
	}
	close(w->fd);
	w->fd = -1;
	if (mkdirs_for(w->dst, err))
		goto out;
	if (rename(w->tmp, w->dst) != 0) {
		cf_err_sys(err, "cannot store object");
		goto out;
	}
	rc = fsync_parent(w->dst, err);
out:
	d_write_abort(w);
	return rc;
}

static struct cf_blobr *
d_read_open(struct cf_blobs *bb, const char *key, uint64_t off, uint64_t len,
    uint64_t *size, struct cf_err *err)
{
	struct blobs_dir *b = (struct blobs_dir *)bb;
	struct cf_blobr *r;
	struct stat st;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/objects/%s", b->dir, key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		cf_err_sys(err, "object missing from blob store");
		return NULL;
	}
	if (fstat(fd, &st) != 0 || (r = malloc(sizeof(*r))) == NULL) {
		cf_err_sys(err, "cannot read object");
		close(fd);
		return NULL;
	}
	r->fd = fd;
	*size = (uint64_t)st.st_size;
	return r;
}

static long
d_read(struct cf_blobr *r, uint64_t off, uint8_t *p, size_t n,
    struct cf_err *err)
{
	ssize_t got;

	do
		got = pread(r->fd, p, n, (off_t)off);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return cf_err_sys(err, "cannot read object");
	return (long)got;
}

static void
d_read_close(struct cf_blobr *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r);
}

static int
d_del(struct cf_blobs *bb, const char *key, struct cf_err *err)
{
	struct blobs_dir *b = (struct blobs_dir *)bb;
	char path[4096];

	snprintf(path, sizeof(path), "%s/objects/%s", b->dir, key);
	if (unlink(path) != 0 && errno != ENOENT)
		return cf_err_sys(err, "cannot delete object");
	return 0;
}

static void
d_close(struct cf_blobs *bb)
{
	struct blobs_dir *b = (struct blobs_dir *)bb;

	while (b->nkept > 0)
		free(b->kept[--b->nkept]);
	pthread_mutex_destroy(&b->mu);
	free(b->dir);
	free(b);
}

static const struct cf_blobs_ops dir_ops = {d_write_open, d_write,
    d_write_commit, d_write_abort, d_read_open, d_read, d_read_close, d_del,
    d_close};

/* Uploads cut off by a crash leave their file in tmp/ for good.  One
 * untouched for an hour is such a leftover: an upload in flight writes at
 * least every connection timeout (300 s), or is dropped. */
#define STALE_TMP_S 3600

static void
sweep_tmp(const char *tmp)
{
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(tmp);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0 &&
		    S_ISREG(st.st_mode) &&
		    st.st_mtime < time(NULL) - STALE_TMP_S)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/** cf_blobs_dir_open(dir, err): the folder blob store. */
struct cf_blobs *
cf_blobs_dir_open(const char *dir, struct cf_err *err)
{
	struct blobs_dir *b;
	char path[4096];

	snprintf(path, sizeof(path), "%s/tmp", dir);
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST)) {
		cf_err_sys(err, "cannot create %s", path);
		return NULL;
	}
	sweep_tmp(path);
	snprintf(path, sizeof(path), "%s/objects", dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		cf_err_sys(err, "cannot create %s", path);
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->dir = strdup(dir)) == NULL) {
		free(b);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	b->base.ops = &dir_ops;
	return &b->base;
}
