/*
 * restore.c: snapshot -> folder.
 *
 * The caller's thread walks the snapshot's trees, creates folders, links,
 * fifos and empty files in order, and queues each file's content to worker
 * threads, which fetch, verify and write chunks (seeking over zero chunks,
 * so sparse files stay sparse) and then set the file's metadata.  A
 * folder's own metadata is set once everything in it exists.
 *
 * Safety against a hostile repository: names come from cf_tree_decode(),
 * which refuses "/", "." and ".."; every folder is opened relative to its
 * parent with O_NOFOLLOW|O_DIRECTORY and every file with O_NOFOLLOW, so no
 * entry can lead a write outside the target.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sodium.h>

#include "engine/engine_internal.h"
#include "util/dio.h"

#define RQCAP 256
/* Folders are restored recursively, each holding its descriptor open: as
 * deep as a backup goes (backup.c), on a stack of its own. */
#define MAX_DEPTH 4096
#define WALK_STACK (64u << 20)

struct rjob {
	int fd;
	char *path;
	struct cf_node n; /* chunks point into chunk copy below */
	uint8_t *chunks, *xattrs;
};

struct hlink {
	uint64_t dev, ino;
	char *path; /* NULL: a free slot */
};

struct rctx {
	struct cf_repo *r;
	const struct cf_restore_opts *o;
	struct cf_counters *ctr, own;
	int target_fd, chown_ok;
	pthread_mutex_t qmu;
	pthread_cond_t qne, qnf;
	struct rjob q[RQCAP];
	size_t qh, qn;
	int qclosed;
	pthread_mutex_t emu;
	int failed;
	struct cf_err err;
	atomic_ullong warnings, lost;
	/* first paths of hard-linked files, open addressing by (dev, ino):
	 * a snapshot may mark every file as linked */
	struct hlink *links;
	size_t nlinks, caplinks; /* caplinks: a power of two, or 0 */
	int depth;
	const struct cf_snapshot *snap;
	int rc; /* restore_root's, from the walk thread */
	struct cf_err rerr;
};

static void
rfail(struct rctx *x, const struct cf_err *e)
{
	pthread_mutex_lock(&x->emu);
	if (!x->failed) {
		x->failed = 1;
		x->err = *e;
	}
	pthread_mutex_unlock(&x->emu);
}

static int
rfailed(struct rctx *x)
{
	int f;

	pthread_mutex_lock(&x->emu);
	f = x->failed;
	pthread_mutex_unlock(&x->emu);
	return f;
}

static void
rwarn(struct rctx *x, const char *path, const char *msg)
{
	x->warnings++;
	if (x->o->warn != NULL)
		x->o->warn(x->o->arg, path, msg);
}

/* A warning about an entry that was not restored at all. */
static void
rlost(struct rctx *x, const char *path, const char *msg)
{
	x->lost++;
	rwarn(x, path, msg);
}

static void
set_meta_fd(struct rctx *x, int fd, const char *path, const struct cf_node *n)
{
	struct timespec ts[2] = {
	    {n->atime_s, n->atime_ns}, {n->mtime_s, n->mtime_ns}};

	if (x->chown_ok && fchown(fd, n->uid, n->gid) != 0)
		rwarn(x, path, "cannot set owner");
	if (fchmod(fd, n->mode) != 0)
		rwarn(x, path, "cannot set mode");
	if (cf_fs_write_xattrs(fd, NULL, n->xattrs, n->xattrslen) != 0)
		rwarn(x, path, "cannot set some extended attributes");
	if (futimens(fd, ts) != 0)
		rwarn(x, path, "cannot set times");
}

/* A worker's output stage.  Chunks are decrypted straight into it, and it
 * is written a few MiB at a time, past the page cache while the file offset
 * stays aligned (util/dio.h): on these machines the kernel's copy into the
 * page cache cost as much CPU as the whole `cp -a` of the tree.  Small
 * files, tails and anything after a hole go the buffered way. */
#define STAGE_FLUSH (4u << 20)
#define STAGE_BYTES (STAGE_FLUSH + 2 * CF_BLOB_MAX_RAW + 4 * CF_DIO_ALIGN)

struct stage {
	uint8_t *p;  /* STAGE_BYTES, aligned; pages are touched as used */
	size_t hi;   /* high-water mark of what held plaintext (to wipe) */
	size_t n;    /* bytes staged */
	uint64_t at; /* file offset of p[0] */
	int direct;  /* O_DIRECT still possible for this file */
};

/* Write the staged bytes up to an aligned boundary (all of them if
 * ${all}), keeping the rest at the front. */
static int
stage_flush(struct stage *st, struct rjob *j, int all, struct cf_err *err)
{
	size_t n = all ? st->n : st->n & ~(size_t)(CF_DIO_ALIGN - 1), done = 0;

	if (n == 0)
		return 0;
	if (st->direct && !all) {
		if (cf_dio_write(j->fd, st->p, n, (int64_t)st->at, &done) != 0)
			return cf_err_sys(err, "cannot write %s", j->path);
		if (done < n)
			st->direct = 0;
	}
	if (cf_write_all(j->fd, st->p + done, n - done,
	        (int64_t)(st->at + done)) != 0)
		return cf_err_sys(err, "cannot write %s", j->path);
	memmove(st->p, st->p + n, st->n - n);
	st->n -= n;
	st->at += n;
	if (st->at % CF_DIO_ALIGN != 0)
		st->direct = 0;
	return 0;
}

/* Write the chunks of a file; zero chunks become holes. */
static int
write_content(struct rctx *x, struct cf_zc *zc, struct stage *st,
    struct rjob *j, struct cf_err *err)
{
	uint8_t zero_id[32];
	int have_zero = 0;

	*st = (struct stage){st->p, st->hi, 0, 0, 1};
	for (size_t i = 0; i < j->n.nchunks && !rfailed(x); i++) {
		const uint8_t *id = j->n.chunks + 32 * i;
		struct cf_buf view;
		struct cf_loc loc;

		if (have_zero && memcmp(id, zero_id, 32) == 0 &&
		    cf_index_lookup(x->r->index, id, &loc, err) == 0) {
			if (stage_flush(st, j, 1, err))
				return -1;
			st->at += loc.e.rawlen;
			continue;
		}
		/* a view of the stage's free part that cannot reallocate */
		view = (struct cf_buf){.p = st->p + st->n,
		    .cap = STAGE_BYTES - st->n,
		    .max = STAGE_BYTES - st->n};
		if (cf_repo_load_blob(x->r, id, CF_BLOB_DATA, zc, &view, err))
			return -1;
		atomic_fetch_add(&x->ctr->bytes, view.len);
		if (st->hi < st->n + 2 * view.len + CF_DIO_ALIGN)
			st->hi = st->n + 2 * view.len + CF_DIO_ALIGN;
		if (cf_fs_is_zero(view.p, view.len)) {
			memcpy(zero_id, id, 32);
			have_zero = 1;
			if (stage_flush(st, j, 1, err))
				return -1;
			st->at += view.len;
			continue;
		}
		st->n += view.len;
		if (st->n >= STAGE_FLUSH && stage_flush(st, j, 0, err))
			return -1;
	}
	if (stage_flush(st, j, 1, err))
		return -1;
	if (ftruncate(j->fd, (off_t)st->at) != 0)
		return cf_err_sys(err, "cannot write %s", j->path);
	if (st->at != j->n.size)
		rwarn(x, j->path, "restored size differs from recorded size");
	return 0;
}

static void
free_job(struct rjob *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->chunks);
	free(j->xattrs);
}

static void *
rworker(void *arg)
{
	struct rctx *x = arg;
	struct cf_zc *zc = cf_zc_new(0);
	struct stage st = {0};
	struct cf_err err = {0};
	struct rjob j;

	if (posix_memalign((void **)&st.p, CF_DIO_ALIGN, STAGE_BYTES) != 0)
		st.p = NULL;
	for (;;) {
		pthread_mutex_lock(&x->qmu);
		while (x->qn == 0 && !x->qclosed)
			pthread_cond_wait(&x->qne, &x->qmu);
		if (x->qn == 0) {
			pthread_mutex_unlock(&x->qmu);
			break;
		}
		j = x->q[x->qh];
		x->qh = (x->qh + 1) % RQCAP;
		x->qn--;
		pthread_cond_signal(&x->qnf);
		pthread_mutex_unlock(&x->qmu);
		if (zc == NULL || st.p == NULL) {
			cf_err_set(&err, CF_ENOMEM, "out of memory");
			rfail(x, &err);
		} else if (!rfailed(x)) {
			if (write_content(x, zc, &st, &j, &err) != 0)
				rfail(x, &err);
			else
				set_meta_fd(x, j.fd, j.path, &j.n);
			atomic_fetch_add(&x->ctr->files, 1);
		}
		free_job(&j);
	}
	cf_zc_free(zc);
	/* plaintext of the last files: wipe what was used */
	if (st.p != NULL)
		sodium_memzero(st.p, st.hi < STAGE_BYTES ? st.hi : STAGE_BYTES);
	free(st.p);
	return NULL;
}

static void
renqueue(struct rctx *x, struct rjob *j)
{
	pthread_mutex_lock(&x->qmu);
	while (x->qn == RQCAP)
		pthread_cond_wait(&x->qnf, &x->qmu);
	x->q[(x->qh + x->qn) % RQCAP] = *j;
	x->qn++;
	pthread_cond_signal(&x->qne);
	pthread_mutex_unlock(&x->qmu);
}

static int
open_new_file(int dirfd, const char *name)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, flags, 0600);

	if (fd < 0 && errno != ENOENT && errno != EACCES) {
		/* A symlink, folder or fifo in the way: replace it. */
		if (unlinkat(dirfd, name, 0) != 0)
			(void)unlinkat(dirfd, name, AT_REMOVEDIR);
		fd = openat(dirfd, name, flags | O_EXCL, 0600);
	}
	return fd;
}

static size_t
link_slot(const struct rctx *x, uint64_t dev, uint64_t ino)
{
	uint64_t h =
	    (ino ^ (dev * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
	size_t i = (size_t)(h >> 32) & (x->caplinks - 1);

	while (x->links[i].path != NULL &&
	       (x->links[i].dev != dev || x->links[i].ino != ino))
		i = (i + 1) & (x->caplinks - 1);
	return i;
}

static const char *
find_link(struct rctx *x, const struct cf_node *n)
{
	return x->caplinks ? x->links[link_slot(x, n->dev, n->ino)].path : NULL;
}

static void
remember_link(struct rctx *x, const struct cf_node *n, const char *rel)
{
	size_t i;

	if (2 * (x->nlinks + 1) > x->caplinks) { /* at most half full */
		size_t nc = x->caplinks ? 2 * x->caplinks : 64;
		struct hlink *old = x->links, *np = calloc(nc, sizeof(*np));
		size_t oc = x->caplinks;

		if (np == NULL)
			return; /* the file is restored, not linked */
		x->links = np;
		x->caplinks = nc;
		for (size_t k = 0; k < oc; k++)
			if (old[k].path != NULL)
				x->links[link_slot(x, old[k].dev, old[k].ino)] =
				    old[k];
		free(old);
	}
	i = link_slot(x, n->dev, n->ino);
	if (x->links[i].path != NULL ||
	    (x->links[i].path = strdup(rel + 1)) == NULL)
		return;
	x->links[i].dev = n->dev;
	x->links[i].ino = n->ino;
	x->nlinks++;
}

static int
restore_file(struct rctx *x, int dirfd, const char *name, const char *rel,
    const struct cf_node *n)
{
	const char *first = n->nlink > 1 ? find_link(x, n) : NULL;
	struct rjob j = {0};

	if (first != NULL) {
		(void)unlinkat(dirfd, name, 0);
		if (linkat(x->target_fd, first, dirfd, name, 0) == 0) {
			atomic_fetch_add(&x->ctr->files, 1);
			return 0;
		}
	}
	if ((j.fd = open_new_file(dirfd, name)) < 0) {
		rlost(x, rel, strerror(errno));
		return 0;
	}
	if (n->nlink > 1)
		remember_link(x, n, rel);
	j.n = *n;
	j.chunks = malloc(n->nchunks * 32 + 1);
	j.xattrs = malloc(n->xattrslen + 1);
	j.path = strdup(rel);
	if (j.chunks == NULL || j.xattrs == NULL || j.path == NULL) {
		free_job(&j);
		return -1;
	}
	memcpy(j.chunks, n->chunks, n->nchunks * 32);
	memcpy(j.xattrs, n->xattrs, n->xattrslen);
	j.n.chunks = j.chunks;
	j.n.xattrs = j.xattrs;
	j.n.name = NULL;
	j.n.target = NULL;
	renqueue(x, &j);
	return 0;
}

static void
set_meta_at(struct rctx *x, int dirfd, const char *name, const char *rel,
    const struct cf_node *n)
{
	struct timespec ts[2] = {
	    {n->atime_s, n->atime_ns}, {n->mtime_s, n->mtime_ns}};

	if (x->chown_ok &&
	    fchownat(dirfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW) != 0)
		rwarn(x, rel, "cannot set owner");
	if (n->type != CF_NT_SYMLINK && fchmodat(dirfd, name, n->mode, 0) != 0)
		rwarn(x, rel, "cannot set mode");
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0)
		rwarn(x, rel, "cannot set times");
}

static int
restore_special(struct rctx *x, int dirfd, const char *name, const char *rel,
    const struct cf_node *n)
{
	char target[CF_TARGET_MAX + 1];
	int rc;

	(void)unlinkat(dirfd, name, 0);
	switch (n->type) {
	case CF_NT_SYMLINK:
		memcpy(target, n->target, n->targetlen);
		target[n->targetlen] = '\0';
		rc = symlinkat(target, dirfd, name);
		break;
	case CF_NT_FIFO:
		rc = mkfifoat(dirfd, name, 0600);
		break;
	case CF_NT_CHR:
	case CF_NT_BLK:
		rc = mknodat(dirfd, name,
		    (n->type == CF_NT_CHR ? S_IFCHR : S_IFBLK) | 0600,
		    (dev_t)n->rdev);
		break;
	default:
		return 0; /* sockets are not recreated */
	}
	if (rc != 0) {
		rlost(x, rel, strerror(errno));
		return 0;
	}
	set_meta_at(x, dirfd, name, rel, n);
	atomic_fetch_add(&x->ctr->files, 1);
	return 0;
}

static int restore_tree(struct rctx *x, int dirfd, const char *rel,
    const uint8_t id[static 32], int included, struct cf_zc *zc, int *any);

static int
restore_subdir(struct rctx *x, int dirfd, const char *name, const char *rel,
    const struct cf_node *n, int included, struct cf_zc *zc, int *any)
{
	int fd, sub_any = 0, rc;

	if (x->depth >= MAX_DEPTH) {
		rlost(x, rel, "folders nested too deep (4096): not restored");
		return 0;
	}
	if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST) {
		rlost(x, rel, strerror(errno));
		return 0;
	}
	fd = openat(dirfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rlost(x, rel,
		    errno == ENOTDIR || errno == ELOOP
		        ? "is in the way of a folder (not a folder)"
		        : strerror(errno));
		return 0;
	}
	x->depth++;
	rc = restore_tree(x, fd, rel, n->subtree, included, zc, &sub_any);
	x->depth--;
	if (rc != 0) {
		close(fd);
		return -1;
	}
	if (!included && !sub_any) {
		close(fd);
		(void)unlinkat(dirfd, name, AT_REMOVEDIR);
		return 0;
	}
	*any = 1;
	set_meta_fd(x, fd, rel, n);
	atomic_fetch_add(&x->ctr->dirs, 1);
	close(fd);
	return 0;
}

static int
restore_node(struct rctx *x, int dirfd, const char *parent_rel,
    const struct cf_node *n, int included, struct cf_zc *zc, int *any)
{
	/* on the heap, not the stack: this recursion may go deep */
	char *rel = cf_path_join(parent_rel, (const char *)n->name, n->namelen);
	const char *name; /* rel's last component (names hold no NUL: tree.c) */
	int rc = 0;

	if (rel == NULL)
		return -1;
	name = rel + strlen(rel) - n->namelen;
	if (cf_exclude_match(x->o->excludes, x->o->nexcludes, rel, name))
		goto out;
	if (!included)
		included = cf_exclude_match(x->o->includes, x->o->nincludes,
		    rel, name);
	if (n->type == CF_NT_DIR) {
		rc = restore_subdir(x, dirfd, name, rel, n, included, zc, any);
		goto out;
	}
	if (!included)
		goto out;
	*any = 1;
	if (n->type == CF_NT_FILE)
		rc = restore_file(x, dirfd, name, rel, n);
	else
		rc = restore_special(x, dirfd, name, rel, n);
out:
	free(rel);
	return rc;
}

static int
restore_tree(struct rctx *x, int dirfd, const char *rel,
    const uint8_t id[static 32], int included, struct cf_zc *zc, int *any)
{
	struct cf_tree t;
	struct cf_err err;
	int rc = 0;

	if (cf_repo_load_tree(x->r, id, zc, &t, &err) != 0) {
		rfail(x, &err);
		return -1;
	}
	for (size_t i = 0; i < t.n && rc == 0 && !rfailed(x); i++)
		rc =
		    restore_node(x, dirfd, rel, &t.nodes[i], included, zc, any);
	cf_tree_release(&t);
	return rc;
}

static int
open_target(const char *target, struct cf_err *err)
{
	int fd;

	if (mkdir(target, 0700) != 0 && errno != EEXIST) {
		cf_err_sys(err, "cannot create target %s", target);
		return -1;
	}
	fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		cf_err_sys(err, "cannot open target %s", target);
	return fd;
}

static int
restore_root(struct rctx *x, const struct cf_snapshot *s, struct cf_err *err)
{
	const struct cf_node *node;
	struct cf_zc *zc = cf_zc_new(0);
	struct cf_tree t = {0};
	int rc, any = 0, inc = x->o->nincludes == 0;
	const char *sub = x->o->subpath ? x->o->subpath : "";

	if (zc == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	if (sub[0] == '\0' || strcmp(sub, "/") == 0) {
		rc = restore_tree(x, x->target_fd, "", s->tree, inc, zc, &any);
	} else if ((rc = cf_find_node(x->r, s->tree, sub, zc, &node, &t,
	                err)) == 0) {
		if (node->type == CF_NT_DIR)
			rc = restore_tree(x, x->target_fd, "", node->subtree,
			    inc, zc, &any);
		else
			rc = restore_node(x, x->target_fd, "", node, inc, zc,
			    &any);
		cf_tree_release(&t);
	} else {
		cf_zc_free(zc);
		return -1;
	}
	cf_zc_free(zc);
	if (rc != 0 && !rfailed(x)) {
		struct cf_err e;

		cf_err_set(&e, CF_ENOMEM, "out of memory");
		rfail(x, &e);
	}
	return rc;
}

static void *
walk_main(void *arg)
{
	struct rctx *x = arg;

	x->rc = restore_root(x, x->snap, &x->rerr);
	return NULL;
}

/* The walk of the trees, on a stack deep enough for MAX_DEPTH folders
 * (reserved, touched only as deep as the snapshot goes). */
static int
walk(struct rctx *x, const struct cf_snapshot *s, struct cf_err *err)
{
	pthread_attr_t at;
	pthread_t t;
	int started = 0;

	x->snap = s;
	if (pthread_attr_init(&at) == 0) {
		started = pthread_attr_setstacksize(&at, WALK_STACK) == 0 &&
		          pthread_create(&t, &at, walk_main, x) == 0;
		pthread_attr_destroy(&at);
	}
	if (!started)
		return restore_root(x, s, err);
	pthread_join(t, NULL);
	if (x->rc != 0)
		*err = x->rerr;
	return x->rc;
}

/* One descriptor is open per folder level being restored: allow as many
 * as the hard limit does (a tree MAX_DEPTH deep needs that many). */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
	    rl.rlim_cur < 2 * MAX_DEPTH) {
		rl.rlim_cur =
		    rl.rlim_max < 2 * MAX_DEPTH ? rl.rlim_max : 2 * MAX_DEPTH;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/** cf_restore(r, o, res, err): recreate a snapshot under o->target. */
int
cf_restore(struct cf_repo *r, const struct cf_restore_opts *o,
    struct cf_restore_result *res, struct cf_err *err)
{
	struct cf_snapshot *s;
	struct rctx x;
	pthread_t th[64];
	int nth = o->threads, started = 0;
	int rc;

	/* Transfers from a server wait on the network: twice as many threads
	 * keep the cores busy (3.4 GB from cofferd on loopback into tmpfs, 2
	 * cores: 5.0 -> 4.6 s; bench/README.md), up to 16, well under the
	 * 64 read cells they share (repo.c). */
	if (nth <= 0) {
		nth = cf_fs_ncpu();
		if (r->store->remote)
			nth = nth >= 8 ? 16 : 2 * nth;
	}

	memset(res, 0, sizeof(*res));
	if ((s = cf_repo_find_snapshot(r, o->snapshot, err)) == NULL)
		return -1;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.o = o;
	x.ctr = o->ctr != NULL ? o->ctr : &x.own;
	x.chown_ok = geteuid() == 0 && !o->no_owner;
	if ((x.target_fd = open_target(o->target, err)) < 0) {
		cf_snapshot_free(s);
		return -1;
	}
	pthread_mutex_init(&x.qmu, NULL);
	pthread_cond_init(&x.qne, NULL);
	pthread_cond_init(&x.qnf, NULL);
	pthread_mutex_init(&x.emu, NULL);
	if (nth > 64)
		nth = 64;
	for (; started < nth; started++)
		if (pthread_create(&th[started], NULL, rworker, &x) != 0)
			break;
	raise_nofile();
	rc = started == 0
	         ? cf_err_set(err, CF_EINTERNAL, "cannot start threads")
	         : walk(&x, s, err);
	pthread_mutex_lock(&x.qmu);
	x.qclosed = 1;
	pthread_cond_broadcast(&x.qne);
	pthread_mutex_unlock(&x.qmu);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (rc == 0 && fsync(x.target_fd) != 0)
		rc = cf_err_sys(err, "cannot sync %s", o->target);
	if (x.failed) {
		*err = x.err;
		rc = -1;
	}
	res->files = atomic_load(&x.ctr->files);
	res->dirs = atomic_load(&x.ctr->dirs);
	res->bytes = atomic_load(&x.ctr->bytes);
	res->warnings = x.warnings;
	res->lost = x.lost;
	for (size_t i = 0; i < x.caplinks; i++)
		free(x.links[i].path);
	free(x.links);
	close(x.target_fd);
	pthread_mutex_destroy(&x.qmu);
	pthread_cond_destroy(&x.qne);
	pthread_cond_destroy(&x.qnf);
	pthread_mutex_destroy(&x.emu);
	cf_snapshot_free(s);
	return rc;
}
