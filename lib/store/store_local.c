/*
 * store_local.c: a repository in a local folder (a disk, a USB stick, a NAS
 * mount).  Layout: config, keys/ID, data/XX/ID (XX: first two hex digits),
 * index/ID, snapshots/ID, tmp/ for writes in flight.  A put writes
 * tmp/RANDOM, fsyncs it, renames it into place and fsyncs the folder, so a
 * reported write survives a crash and no reader ever sees half an object.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "store/store.h"
#include "util/dio.h"

#define FD_CACHE 64

/* Open packs, kept for reads: a restore reads thousands of blobs from a
 * few packs, and open+close per blob would cost more than the read. */
struct fdent {
	char name[65];
	int fd, refs;
	uint64_t used;
};

struct local {
	struct cf_store base;
	int dirfd;
	pthread_mutex_t mu;
	struct fdent fds[FD_CACHE];
	uint64_t tick;
};

static void
rel_path(char *out, size_t n, enum cf_kind kind, const char *name)
{
	if (kind == CF_KIND_CONFIG)
		snprintf(out, n, "config");
	else if (kind == CF_KIND_PACK)
		snprintf(out, n, "data/%.2s/%s", name, name);
	else
		snprintf(out, n, "%s/%s", cf_store_kind_name(kind), name);
}

static int
fsync_dir(int dirfd, const char *rel, struct cf_err *err)
{
	int fd, rc;

	fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cf_err_sys(err, "cannot open folder %s", rel);
	rc = fsync(fd);
	close(fd);
	if (rc != 0)
		return cf_err_sys(err, "cannot fsync folder %s", rel);
	return 0;
}

/* Create tmp/RANDOM for a write in flight; its fd, or -1 with *err. */
static int
open_tmp(struct local *l, char *tmp, size_t tn, struct cf_err *err)
{
	uint8_t r[12];
	char hex[25];
	int fd;

	cf_crypto_random(r, sizeof(r));
	cf_hex(hex, r, sizeof(r));
	snprintf(tmp, tn, "tmp/%s", hex);
	fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		cf_err_sys(err, "cannot create %s/%s", l->base.where, tmp);
		return -1;
	}
	/* Locked while it is written: a prune's sweep leaves it alone,
	 * however long it takes (a lock dies with its process).  Where the
	 * filesystem has no locks, the sweep goes by age alone. */
	(void)fcntl(fd, F_OFD_SETLK,
	    &(struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET});
	return fd;
}

/* Is tmp/${name} being written by a live process (locked)? */
static int
tmp_in_use(int dirfd, const char *name)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int busy;

	if (fd < 0)
		return 0;
	busy = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return busy;
}

/* Give up a write in flight: close and remove its tmp file. */
static void
drop_tmp(struct local *l, int fd, const char *tmp)
{
	close(fd);
	(void)unlinkat(l->dirfd, tmp, 0);
}

/* Write at ${off}; packs bypass the page cache (see util/dio.h). */
static int
write_at(int fd, const uint8_t *p, size_t n, uint64_t off, int direct)
{
	size_t done = 0;

	if (direct && cf_dio_write(fd, p, n, (int64_t)off, &done))
		return -1;
	return cf_write_all(fd, p + done, n - done, (int64_t)(off + done));
}

/* fsync and close tmp/..., move it to its place, fsync the folder: the
 * end of every put.  The tmp file is gone afterwards either way. */
static int
commit_tmp(struct local *l, int fd, const char *tmp, enum cf_kind kind,
    const char *name, int flags, struct cf_err *err)
{
	struct cf_store *s = &l->base;
	char dst[128], dir[128], *slash;
	int rc;

	if (fsync(fd) != 0) {
		cf_err_sys(err, "cannot write %s/%s", s->where, tmp);
		drop_tmp(l, fd, tmp);
		return -1;
	}
	close(fd);
	rel_path(dst, sizeof(dst), kind, name);
	if (flags & CF_PUT_EXCL)
		rc = renameat2(l->dirfd, tmp, l->dirfd, dst, RENAME_NOREPLACE);
	else
		rc = renameat(l->dirfd, tmp, l->dirfd, dst);
	if (rc != 0) {
		int e = errno;

		(void)unlinkat(l->dirfd, tmp, 0);
		errno = e;
		if (e == EEXIST)
			return cf_err_set(err, CF_EEXIST,
			    "%s/%s already exists", s->where, dst);
		return cf_err_sys(err, "cannot store %s/%s", s->where, dst);
	}
	snprintf(dir, sizeof(dir), "%s", dst);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	return fsync_dir(l->dirfd, dir, err);
}

static int
local_put(struct cf_store *s, enum cf_kind kind, const char *name,
    const uint8_t *p, size_t n, int flags, struct cf_err *err)
{
	struct local *l = (struct local *)s;
	char tmp[64];
	int fd;

	if ((fd = open_tmp(l, tmp, sizeof(tmp), err)) < 0)
		return -1;
	if (write_at(fd, p, n, 0, !(flags & CF_PUT_HOT)) != 0) {
		cf_err_sys(err, "cannot write %s/%s", s->where, tmp);
		drop_tmp(l, fd, tmp);
		return -1;
	}
	return commit_tmp(l, fd, tmp, kind, name, flags, err);
}

/* A streamed put: tmp/RANDOM, appended to, then committed like a put. */
struct cf_store_stream {
	struct local *l;
	enum cf_kind kind;
	int fd;
	uint64_t off;
	char tmp[64];
};

static struct cf_store_stream *
local_stream_open(struct cf_store *s, enum cf_kind kind, struct cf_err *err)
{
	struct cf_store_stream *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	st->l = (struct local *)s;
	st->kind = kind;
	if ((st->fd = open_tmp(st->l, st->tmp, sizeof(st->tmp), err)) < 0) {
		free(st);
		return NULL;
	}
	return st;
}

static int
local_stream_write(struct cf_store_stream *st, const uint8_t *p, size_t n,
    struct cf_err *err)
{
	if (write_at(st->fd, p, n, st->off, 1) != 0)
		return cf_err_sys(err, "cannot write %s/%s", st->l->base.where,
		    st->tmp);
	st->off += n;
	return 0;
}

static int
local_stream_commit(struct cf_store_stream *st, const char *name, int flags,
    struct cf_err *err)
{
	int rc = commit_tmp(st->l, st->fd, st->tmp, st->kind, name, flags, err);

	free(st);
	return rc;
}

static void
local_stream_abort(struct cf_store_stream *st)
{
	drop_tmp(st->l, st->fd, st->tmp);
	free(st);
}

static int
read_range(int fd, uint64_t off, uint64_t len, struct cf_buf *out,
    const char *what, struct cf_err *err)
{
	if (len > SIZE_MAX || cf_buf_reserve(out, (size_t)len))
		return cf_err_set(err, CF_ENOMEM,
		    "cannot buffer %llu bytes of %s", (unsigned long long)len,
		    what);
	while (len > 0) {
		ssize_t r =
		    pread(fd, out->p + out->len, (size_t)len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cf_err_sys(err, "cannot read %s", what);
		if (r == 0)
			return cf_err_set(err, CF_EFORMAT, "%s is truncated",
			    what);
		out->len += (size_t)r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* A cached fd for pack ${name} (refs taken), or -1. */
static struct fdent *
fd_take(struct local *l, const char *name)
{
	struct fdent *hit = NULL;

	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < FD_CACHE && hit == NULL; i++)
		if (l->fds[i].fd >= 0 && strcmp(l->fds[i].name, name) == 0)
			hit = &l->fds[i];
	if (hit != NULL) {
		hit->refs++;
		hit->used = ++l->tick;
	}
	pthread_mutex_unlock(&l->mu);
	return hit;
}

/* Offer ${fd} to the cache; returns the entry holding it (refs taken), or
 * NULL if the caller keeps (and must close) it. */
static struct fdent *
fd_put(struct local *l, const char *name, int fd)
{
	struct fdent *v = NULL;

	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < FD_CACHE; i++) {
		struct fdent *e = &l->fds[i];

		if (e->refs != 0)
			continue;
		if (e->fd < 0) {
			v = e;
			break;
		}
		if (v == NULL || e->used < v->used)
			v = e;
	}
	if (v != NULL) {
		if (v->fd >= 0)
			close(v->fd);
		v->fd = fd;
		memcpy(v->name, name, 65);
		v->refs = 1;
		v->used = ++l->tick;
	}
	pthread_mutex_unlock(&l->mu);
	return v;
}

static void
fd_drop(struct local *l, struct fdent *e)
{
	pthread_mutex_lock(&l->mu);
	e->refs--;
	pthread_mutex_unlock(&l->mu);
}

static int
pack_get(struct local *l, const char *name, const char *rel, uint64_t off,
    uint64_t len, struct cf_buf *out, struct cf_err *err)
{
	char what[256];
	struct fdent *e = fd_take(l, name);
	int fd = e ? e->fd : -1, rc;

	snprintf(what, sizeof(what), "%s/%s", l->base.where, rel);
	if (e == NULL) {
		fd = openat(l->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return cf_err_sys(err, "cannot open %s", what);
		e = fd_put(l, name, fd);
	}
	rc = read_range(fd, off, len, out, what, err);
	if (e != NULL)
		fd_drop(l, e);
	else
		close(fd);
	return rc;
}

static int
local_get(struct cf_store *s, enum cf_kind kind, const char *name, uint64_t off,
    uint64_t len, struct cf_buf *out, struct cf_err *err)
{
	struct local *l = (struct local *)s;
	char rel[128], what[256];
	struct stat st;
	int fd, rc;

	rel_path(rel, sizeof(rel), kind, name);
	if (kind == CF_KIND_PACK && len != CF_GET_ALL)
		return pack_get(l, name, rel, off, len, out, err);
	snprintf(what, sizeof(what), "%s/%s", s->where, rel);
	if ((fd = openat(l->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return cf_err_sys(err, "cannot open %s", what);
	if (len == CF_GET_ALL) {
		if (fstat(fd, &st) != 0) {
			close(fd);
			return cf_err_sys(err, "cannot stat %s", what);
		}
		if ((uint64_t)st.st_size < off) {
			close(fd);
			return cf_err_set(err, CF_EFORMAT, "%s is truncated",
			    what);
		}
		len = (uint64_t)st.st_size - off;
	}
	rc = read_range(fd, off, len, out, what, err);
	close(fd);
	return rc;
}

static int
local_size(struct cf_store *s, enum cf_kind kind, const char *name,
    uint64_t *size, struct cf_err *err)
{
	struct local *l = (struct local *)s;
	char rel[128];
	struct stat st;

	rel_path(rel, sizeof(rel), kind, name);
	if (fstatat(l->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return cf_err_sys(err, "cannot stat %s/%s", s->where, rel);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
list_dir(struct local *l, enum cf_kind kind, const char *rel, cf_list_fn fn,
    void *arg, struct cf_err *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	fd = openat(l->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cf_err_sys(err, "cannot open %s/%s", l->base.where, rel);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return cf_err_sys(err, "cannot read %s/%s", l->base.where, rel);
	}
	while ((de = readdir(d)) != NULL) {
		if (!cf_store_name_ok(kind, de->d_name))
			continue; /* stray files are not objects */
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* deleted meanwhile */
		if ((rc = fn(arg, de->d_name, (uint64_t)st.st_size)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

static int
local_list(struct cf_store *s, enum cf_kind kind, cf_list_fn fn, void *arg,
    struct cf_err *err)
{
	struct local *l = (struct local *)s;
	char rel[32];
	int rc;

	if (kind != CF_KIND_PACK)
		return list_dir(l, kind, cf_store_kind_name(kind), fn, arg,
		    err);
	for (int i = 0; i < 256; i++) {
		snprintf(rel, sizeof(rel), "data/%02x", i);
		if ((rc = list_dir(l, kind, rel, fn, arg, err)) != 0)
			return rc;
	}
	return 0;
}

static int
local_del(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_err *err)
{
	struct local *l = (struct local *)s;
	char rel[128];

	rel_path(rel, sizeof(rel), kind, name);
	if (unlinkat(l->dirfd, rel, 0) != 0)
		return cf_err_sys(err, "cannot delete %s/%s", s->where, rel);
	if (kind == CF_KIND_PACK) {
		pthread_mutex_lock(&l->mu);
		for (int i = 0; i < FD_CACHE; i++)
			if (l->fds[i].fd >= 0 && l->fds[i].refs == 0 &&
			    strcmp(l->fds[i].name, name) == 0) {
				close(l->fds[i].fd);
				l->fds[i].fd = -1;
			}
		pthread_mutex_unlock(&l->mu);
	}
	return 0;
}

static void
local_free(struct cf_store *s)
{
	struct local *l = (struct local *)s;

	for (int i = 0; i < FD_CACHE; i++)
		if (l->fds[i].fd >= 0)
			close(l->fds[i].fd);
	pthread_mutex_destroy(&l->mu);
	close(l->dirfd);
	free(s->where);
	free(l);
}

/* tmp/ holds writes in flight; one that no live process holds locked and
 * last changed before ${before} was left by a process that died. */
static int
local_sweep(struct cf_store *s, int64_t before, uint64_t *n, uint64_t *bytes,
    struct cf_err *err)
{
	struct local *l = (struct local *)s;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	fd = openat(l->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return cf_err_sys(err, "cannot open %s/tmp", s->where);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_mtim.tv_sec >= before ||
		    tmp_in_use(fd, de->d_name))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0) {
			(*n)++;
			*bytes += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return 0;
}

static const struct cf_store_ops local_ops = {local_put, local_get, local_size,
    local_list, local_del, local_free, local_stream_open, local_stream_write,
    local_stream_commit, local_stream_abort, local_sweep};

static int
make_layout(int dirfd, const char *where, struct cf_err *err)
{
	static const char *const dirs[] = {
	    "keys", "data", "index", "snapshots", "meta", "tmp"};
	char rel[16];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirat(dirfd, dirs[i], 0700) != 0 && errno != EEXIST)
			return cf_err_sys(err, "cannot create %s/%s", where,
			    dirs[i]);
	for (int i = 0; i < 256; i++) {
		snprintf(rel, sizeof(rel), "data/%02x", i);
		if (mkdirat(dirfd, rel, 0700) != 0 && errno != EEXIST)
			return cf_err_sys(err, "cannot create %s/%s", where,
			    rel);
	}
	if (fsync_dir(dirfd, "data", err) || fsync_dir(dirfd, ".", err))
		return -1;
	return 0;
}

static int
dir_is_empty(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd, empty = 1;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty;
}

static int
open_root(const char *dir, int create, struct cf_err *err)
{
	int fd;

	if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cf_err_sys(err, "cannot create repository folder %s", dir);
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			cf_err_set(err, CF_ENOTFOUND,
			    "repository %s does not exist", dir);
		else
			cf_err_sys(err, "cannot open repository %s", dir);
		return -1;
	}
	if (create && !dir_is_empty(fd)) {
		close(fd);
		cf_err_set(err, CF_EEXIST, "%s is not empty", dir);
		return -1;
	}
	return fd;
}

/** cf_store_local_open(dir, create, err): the folder store at ${dir}. */
struct cf_store *
cf_store_local_open(const char *dir, int create, struct cf_err *err)
{
	struct local *l;
	int fd;

	if ((fd = open_root(dir, create, err)) < 0)
		return NULL;
	if (create && make_layout(fd, dir, err)) {
		close(fd);
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->base.where = strdup(dir)) == NULL) {
		free(l);
		close(fd);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	l->base.ops = &local_ops;
	l->dirfd = fd;
	pthread_mutex_init(&l->mu, NULL);
	for (int i = 0; i < FD_CACHE; i++)
		l->fds[i].fd = -1;
	return &l->base;
}
