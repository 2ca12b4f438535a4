/*
 * backup.c: folder -> snapshot.
 *
 * The caller's thread lists the top folders; every subfolder and every
 * file to read becomes a job in one bounded queue served by worker
 * threads.  Walking a folder stats every entry and decides what must be
 * read: a file whose size, mtime, ctime and inode match its entry in the
 * parent snapshot keeps its chunk list (and, with the same ctime, its
 * xattrs) without being opened.  Reading a file chunks, hashes,
 * compresses, encrypts and packs it.  A worker that finds the queue full
 * does its job itself, so workers never wait on each other.  A folder is
 * finished (its tree encoded and stored) by whichever thread completes its
 * last pending entry, then it releases its own parent: no thread ever
 * waits for a folder, so all cores stay busy on trees of tiny files and
 * on re-backups that read nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "engine/engine_internal.h"
#include "engine/prune.h"
#include "repo/packer.h"
#include "util/ring.h"

#define QCAP 512
#define SUBS_BATCH 4096 /* folder states written to the cache at once */
/* A folder state not used for this long leaves the cache (a subtree under
 * one reused whole is not used: it is walked once if it changes later). */
#define STATES_KEPT_DAYS 30
/* The read ring: the chunker's look-ahead, and room to read ahead 2 MiB. */
#define READRING (CF_CHUNK_MAX + (2u << 20))

struct bdir;

struct bent {
	struct cf_node n;
	uint8_t *name, *target, *xattrs, *chunks; /* owned */
	int skip;
	/* A subfolder, once finished: its state (prescan.c) if known, and
	 * what it holds (struct cf_subtree). */
	int has_state;
	uint8_t state[32];
	uint64_t sub_files, sub_dirs, sub_bytes;
};

struct bdir {
	struct bdir *parent;
	size_t pidx;
	int fd;
	int virt;           /* above a path given: only some entries listed */
	int unlisted;       /* could not be listed: its state is unknown */
	int have_old;       /* its tree in the parent snapshot was read: */
	uint8_t old_id[32]; /* that tree's id */
	char *path;
	struct bent *ents;
	size_t n;
	atomic_long pending;
};

/* A file to read, or (dir) a subfolder to walk: ${subtree} is its tree in
 * the parent snapshot if has_pt.  A job holds one reference to ${d}. */
struct job {
	struct bdir *d;
	size_t i;
	int dir, has_pt;
	uint8_t subtree[32];
};

/* Per-thread scratch. */
struct wctx {
	int worker; /* a worker thread: never waits for room in the queue */
	struct cf_zc *zc;
	struct cf_buf scratch, tree;
	struct cf_ring ring;
	size_t zero_len;
	uint8_t zero_id[32];
};

struct vnode {
	char *name;
	int leaf;
	struct vnode **kids;
	size_t nkids;
};

struct bctx {
	struct cf_repo *r;
	const struct cf_backup_opts *o;
	struct cf_packer *pk;
	struct cf_counters *ctr, own_ctr;
	pthread_mutex_t qmu;
	pthread_cond_t qne, qnf;
	struct job q[QCAP];
	size_t qh, qn;
	int qclosed;
	pthread_mutex_t emu;
	atomic_int failed; /* set once, under emu, with err */
	struct cf_err err;
	pthread_mutex_t dmu;
	pthread_cond_t dcv;
	int root_done;
	uint8_t root_id[32];
	atomic_ullong unreadable, changed, unchanged, new_blobs, prescanned;
	atomic_ullong reused;
	struct cf_idset doomed; /* packs a prune plans to delete */
	int nworkers;
	int reuse;                    /* subtrees may be named without a walk */
	const struct cf_prescan *pre; /* o->prescan, if made for these o */
	pthread_mutex_t smu;          /* the folders' states, for the cache */
	struct cf_subtree *subs;      /* SUBS_BATCH of them */
	size_t nsubs;
	atomic_int record;
	int64_t day; /* when states are used, for their expiry */
};

static void run_job(struct bctx *b, struct wctx *w, const struct job *j);
static void descend(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const uint8_t *subtree, const struct vnode *kid);

static void
fail(struct bctx *b, const struct cf_err *e)
{
	pthread_mutex_lock(&b->emu);
	if (!atomic_load(&b->failed)) {
		b->err = *e;
		atomic_store_explicit(&b->failed, 1, memory_order_release);
	}
	pthread_mutex_unlock(&b->emu);
}

/* Asked for every entry by every thread: a plain atomic load. */
static int
failed(struct bctx *b)
{
	return atomic_load_explicit(&b->failed, memory_order_acquire);
}

static void
warn(struct bctx *b, const char *dir, const uint8_t *name, size_t nn,
    const char *msg)
{
	char *p = cf_path_join(dir, (const char *)name, nn);

	if (b->o->warn != NULL)
		b->o->warn(b->o->arg, p ? p : dir, msg);
	free(p);
}

static int
wctx_init(struct wctx *w, struct cf_repo *r)
{
	memset(w, 0, sizeof(*w));
	cf_buf_init(&w->scratch, 2 * CF_BLOB_MAX_RAW);
	cf_buf_init(&w->tree, CF_BLOB_MAX_RAW);
	w->zc = cf_zc_new(r->zstd_level);
	return w->zc == NULL ? -1 : 0; /* the ring: at the first file read */
}

static void
wctx_release(struct wctx *w)
{
	cf_zc_free(w->zc);
	cf_buf_release(&w->scratch);
	cf_buf_release(&w->tree);
	cf_ring_free(&w->ring);
}

/* Store a blob unless the repository or this session already has it.
 * Returns 1 if it was new. */
static int
put_blob(struct bctx *b, struct wctx *w, uint8_t type, const uint8_t *id,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	struct cf_loc loc;
	int rc;

	if (cf_packer_has(b->pk, id))
		return 0;
	rc = cf_index_lookup(b->r->index, id, &loc, err);
	if (rc < 0 || (rc == 0 && !cf_idset_has(&b->doomed, loc.pack)))
		return rc; /* a blob in a planned pack is stored again */
	rc = cf_packer_add(b->pk, type, id, p, n, w->zc, &w->scratch, err);
	if (rc == 0) {
		b->new_blobs++;
		atomic_fetch_add(&b->ctr->new_bytes, n);
		return 1;
	}
	return rc == 1 ? 0 : -1;
}

static void
free_ents(struct bdir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->ents[i].name);
		free(d->ents[i].target);
		free(d->ents[i].xattrs);
		free(d->ents[i].chunks);
	}
	free(d->ents);
	d->ents = NULL;
}

static int
finish_dir(struct bctx *b, struct wctx *w, struct bdir *d, uint8_t id[32],
    struct cf_err *err)
{
	size_t count = 0;

	for (size_t i = 0; i < d->n; i++)
		count += !d->ents[i].skip;
	w->tree.len = 0;
	w->tree.failed = 0;
	cf_tree_begin(&w->tree, count);
	for (size_t i = 0; i < d->n; i++)
		if (!d->ents[i].skip)
			cf_tree_add(&w->tree, &d->ents[i].n);
	if (cf_buf_check(&w->tree, err, "folder listing"))
		return cf_err_set(err, CF_ELIMIT, "%s: folder too large",
		    d->path);
	cf_crypto_chunk_id(b->r->keys, w->tree.p, w->tree.len, id);
	/* An unchanged folder encodes to the tree it had in the parent
	 * snapshot, which was just read from the repository: no lookup (the
	 * usual case of a re-backup).  Unless a prune plans to delete packs:
	 * then the tree's pack must be checked. */
	if (d->have_old && b->doomed.n == 0 && memcmp(id, d->old_id, 32) == 0)
		return 0;
	return put_blob(b, w, CF_BLOB_TREE, id, w->tree.p, w->tree.len, err) < 0
	           ? -1
	           : 0;
}

/* The state of finished folder ${d} and what it holds, into ${sub}: 0 if
 * unknown (an entry left out, a subfolder's state unknown). */
static int
dir_state(const struct bdir *d, struct cf_subtree *sub)
{
	struct cf_dirstate ds;

	sub->files = sub->bytes = 0;
	sub->dirs = 1;
	if (d->unlisted)
		return 0;
	for (size_t i = 0; i < d->n; i++) {
		const struct bent *e = &d->ents[i];

		if (e->skip || (e->n.type == CF_NT_DIR && !e->has_state))
			return 0;
	}
	cf_dirstate_init(&ds);
	for (size_t i = 0; i < d->n; i++) {
		const struct bent *e = &d->ents[i];

		cf_dirstate_entry(&ds, &e->n);
		if (e->n.type == CF_NT_FILE) {
			sub->files++;
			sub->bytes += e->n.size;
		} else if (e->n.type == CF_NT_DIR) {
			sub->files += e->sub_files;
			sub->bytes += e->sub_bytes;
			sub->dirs += e->sub_dirs;
		}
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->ents[i].n.type == CF_NT_DIR)
			cf_dirstate_kid(&ds, d->ents[i].state);
	cf_dirstate_final(&ds, sub->state);
	return 1;
}

/* Write ${n} folder states to the cache.  Before the trees are stored is
 * safe: a state is used only to name again the tree the parent snapshot
 * has at that place (reuse_subtree), a tree that snapshot already holds
 * with all its subtrees. */
static void
write_states(struct bctx *b, const struct cf_subtree *v, size_t n)
{
	struct cf_err err = {0};

	if (n > 0 && cf_index_subtree_put(b->r->index, v, n, b->day, &err) != 0)
		atomic_store(&b->record,
		    0); /* a cache: the next backup walks */
}

/* Keep a folder's state for the cache, written in batches of SUBS_BATCH
 * (outside the lock: the other threads go on finishing folders). */
static void
remember(struct bctx *b, const struct cf_subtree *sub)
{
	struct cf_subtree *full = NULL;

	pthread_mutex_lock(&b->smu);
	if (b->subs == NULL &&
	    (b->subs = calloc(SUBS_BATCH, sizeof(*b->subs))) == NULL)
		atomic_store(&b->record, 0);
	if (b->subs != NULL) {
		b->subs[b->nsubs++] = *sub;
		if (b->nsubs == SUBS_BATCH) {
			full = b->subs;
			b->subs = NULL;
			b->nsubs = 0;
		}
	}
	pthread_mutex_unlock(&b->smu);
	if (full != NULL) {
		write_states(b, full, SUBS_BATCH);
		free(full);
	}
}

/* Drop one reference to ${d}; the last one finishes it and climbs. */
static void
dir_release(struct bctx *b, struct wctx *w, struct bdir *d)
{
	struct cf_err err = {0};
	uint8_t id[32];

	while (d != NULL && atomic_fetch_sub(&d->pending, 1) == 1) {
		struct bdir *parent = d->parent;
		struct cf_subtree sub;
		int known = 0;

		if (!failed(b) && finish_dir(b, w, d, id, &err))
			fail(b, &err);
		atomic_fetch_add(&b->ctr->dirs, 1);
		if (!failed(b) && b->record && !d->virt &&
		    (known = dir_state(d, &sub)) != 0) {
			memcpy(sub.tree, id, 32);
			remember(b, &sub);
		}
		free_ents(d);
		if (d->fd >= 0)
			close(d->fd);
		free(d->path);
		if (parent != NULL) {
			struct bent *pe = &parent->ents[d->pidx];

			memcpy(pe->n.subtree, id, 32);
			if ((pe->has_state = known) != 0) {
				memcpy(pe->state, sub.state, 32);
				pe->sub_files = sub.files;
				pe->sub_dirs = sub.dirs;
				pe->sub_bytes = sub.bytes;
			}
		} else {
			pthread_mutex_lock(&b->dmu);
			memcpy(b->root_id, id, 32);
			b->root_done = 1;
			pthread_cond_signal(&b->dcv);
			pthread_mutex_unlock(&b->dmu);
		}
		free(d);
		d = parent;
	}
}

static int
chunk_one(struct bctx *b, struct wctx *w, const uint8_t *p, size_t n,
    struct cf_buf *ids, struct cf_err *err)
{
	uint8_t id[32];
	int zero = cf_fs_is_zero(p, n);

	if (zero && w->zero_len == n) {
		memcpy(id, w->zero_id, 32);
	} else {
		cf_crypto_chunk_id(b->r->keys, p, n, id);
		if (zero) {
			w->zero_len = n;
			memcpy(w->zero_id, id, 32);
		}
	}
	cf_buf_add(ids, id, 32);
	if (ids->failed)
		return cf_err_set(err, CF_ENOMEM, "chunk list too long");
	return put_blob(b, w, CF_BLOB_DATA, id, p, n, err) < 0 ? -1 : 0;
}

/* Read and chunk an open file. -2 for a read error (the file is then
 * reported and skipped), -1 for a repository failure (the backup stops:
 * a full disk under the repository is CF_EIO too, but no file's fault). */
static int
read_file(struct bctx *b, struct wctx *w, int fd, struct cf_buf *ids,
    uint64_t *total, struct cf_err *err)
{
	uint64_t pos = 0, have = 0; /* offsets in the file */
	size_t cut;
	int eof = 0;

	*total = 0;
	/* Made on first use: a re-backup that reads no file maps none. */
	if (w->ring.base == NULL && cf_ring_init(&w->ring, READRING) != 0)
		return cf_err_sys(err, "cannot map a read buffer");
	while (!eof || pos < have) {
		/* Keep a maximal chunk ahead of the cut; what was read stays
		 * where it is (util/ring.h). */
		while (!eof && have - pos < CF_CHUNK_MAX) {
			ssize_t r = read(fd, cf_ring_at(&w->ring, have),
			    w->ring.size - (size_t)(have - pos));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				cf_err_sys(err, "read");
				return -2;
			}
			if (r == 0)
				eof = 1;
			have += (uint64_t)r;
			*total += (uint64_t)r;
			if (have > w->ring.dirty)
				w->ring.dirty = have < w->ring.size
				                    ? (size_t)have
				                    : w->ring.size;
			atomic_fetch_add(&b->ctr->bytes, (uint64_t)r);
		}
		if (pos == have)
			break;
		cut = cf_chunker_cut(&b->r->chunker, cf_ring_at(&w->ring, pos),
		    (size_t)(have - pos));
		if (chunk_one(b, w, cf_ring_at(&w->ring, pos), cut, ids, err))
			return -1;
		pos += cut;
		if (failed(b))
			return cf_err_set(err, CF_EINTERNAL, "stopped");
	}
	return 0;
}

static int
open_file(int dirfd, const char *name)
{
	int fd =
	    openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

static int
same_version(const struct cf_node *n, const struct stat *st)
{
	return n->ino == st->st_ino && (uint64_t)st->st_size == n->size &&
	       n->mtime_s == st->st_mtim.tv_sec &&
	       n->mtime_ns == (uint32_t)st->st_mtim.tv_nsec &&
	       n->ctime_s == st->st_ctim.tv_sec &&
	       n->ctime_ns == (uint32_t)st->st_ctim.tv_nsec;
}

static void
do_job(struct bctx *b, struct wctx *w, const struct job *j)
{
	struct bent *e = &j->d->ents[j->i];
	struct cf_err err = {0};
	struct cf_buf ids;
	struct stat st;
	uint64_t total;
	int fd, rc;

	cf_buf_init(&ids, (CF_BLOB_MAX_RAW / 2));
	if ((fd = open_file(j->d->fd, (const char *)e->name)) < 0) {
		cf_err_sys(&err, "cannot open");
		goto unreadable;
	}
	rc = read_file(b, w, fd, &ids, &total, &err);
	if (rc == -1) {
		close(fd);
		fail(b, &err);
		goto out;
	}
	if (rc != 0)
		goto unreadable_fd;
	if (fstat(fd, &st) == 0 &&
	    (!same_version(&e->n, &st) || total != e->n.size)) {
		b->changed++;
		warn(b, j->d->path, e->name, e->n.namelen,
		    "file changed while it was read");
	}
	close(fd);
	e->n.size = total;
	e->n.nchunks = ids.len / 32;
	e->chunks = cf_buf_take(&ids, &ids.len);
	e->n.chunks = e->chunks;
	atomic_fetch_add(&b->ctr->files, 1);
	goto out;
unreadable_fd:
	close(fd);
unreadable:
	e->skip = 1;
	b->unreadable++;
	atomic_fetch_add(&b->ctr->errors, 1);
	warn(b, j->d->path, e->name, e->n.namelen, err.msg);
out:
	cf_buf_release(&ids);
	dir_release(b, w, j->d);
}

static void
run_job(struct bctx *b, struct wctx *w, const struct job *j)
{
	if (w->zc == NULL || failed(b))
		dir_release(b, w, j->d); /* drain */
	else if (j->dir)
		descend(b, w, j->d, j->i, j->has_pt ? j->subtree : NULL, NULL);
	else
		do_job(b, w, j);
}

static void *
worker(void *arg)
{
	struct bctx *b = arg;
	struct wctx w;
	struct job j;

	if (wctx_init(&w, b->r)) {
		struct cf_err e;

		cf_err_set(&e, CF_ENOMEM, "out of memory");
		fail(b, &e);
	}
	w.worker = 1;
	for (;;) {
		pthread_mutex_lock(&b->qmu);
		while (b->qn == 0 && !b->qclosed)
			pthread_cond_wait(&b->qne, &b->qmu);
		if (b->qn == 0) {
			pthread_mutex_unlock(&b->qmu);
			break;
		}
		j = b->q[b->qh];
		b->qh = (b->qh + 1) % QCAP;
		b->qn--;
		pthread_cond_signal(&b->qnf);
		pthread_mutex_unlock(&b->qmu);
		run_job(b, &w, &j);
	}
	wctx_release(&w);
	return NULL;
}

/* Queue a job.  The walker waits for room; a worker that finds the queue
 * full does the job itself, so that workers walking folders never all
 * wait for a queue that only they empty. */
static void
enqueue(struct bctx *b, struct wctx *w, const struct job *j)
{
	pthread_mutex_lock(&b->qmu);
	if (w->worker && b->qn == QCAP) {
		pthread_mutex_unlock(&b->qmu);
		run_job(b, w, j);
		return;
	}
	while (b->qn == QCAP)
		pthread_cond_wait(&b->qnf, &b->qmu);
	b->q[(b->qh + b->qn) % QCAP] = *j;
	b->qn++;
	pthread_cond_signal(&b->qne);
	pthread_mutex_unlock(&b->qmu);
}

static const struct cf_node *
pfind(const struct cf_tree *t, const char *name)
{
	return cf_tree_find(t, name, strlen(name));
}

static void walk_dir(struct bctx *b, struct wctx *w, struct bdir *d,
    const struct cf_tree *pt, const struct vnode *v);

/* Walk subfolder ${i} of ${d}, whose tree in the parent snapshot is
 * ${subtree} (or NULL); the caller holds a reference to ${d} for it. */
static void
descend(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const uint8_t *subtree, const struct vnode *kid)
{
	struct bent *e = &d->ents[i];
	struct cf_tree ct, *cpt = NULL;
	struct cf_err err = {0};
	struct bdir *c;
	int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;

	if (kid == NULL || kid->leaf)
		flags |= O_NOFOLLOW;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = cf_path_join(d->path, (char *)e->name, e->n.namelen)) ==
	        NULL) {
		free(c);
		cf_err_set(&err, CF_ENOMEM, "out of memory");
		fail(b, &err);
		dir_release(b, w, d);
		return;
	}
	if ((c->fd = cf_fs_open_dir(d->fd, (char *)e->name, flags)) < 0) {
		warn(b, d->path, e->name, e->n.namelen, strerror(errno));
		e->skip = 1;
		b->unreadable++;
		free(c->path);
		free(c);
		dir_release(b, w, d);
		return;
	}
	c->parent = d;
	c->pidx = i;
	c->virt = kid != NULL && !kid->leaf;
	atomic_store(&c->pending, 1);
	if (subtree != NULL &&
	    cf_repo_load_tree(b->r, subtree, w->zc, &ct, &err) == 0) {
		cpt = &ct;
		c->have_old = 1;
		memcpy(c->old_id, subtree, 32);
	}
	walk_dir(b, w, c, cpt, kid != NULL && !kid->leaf ? kid : NULL);
	if (cpt != NULL)
		cf_tree_release(cpt);
}

/* Subfolder ${i} of ${d}, named in the parent snapshot by tree ${pn}, is
 * named again without being walked if the prescan found it in the state
 * that tree was made from (the local cache says which state that was) and
 * the tree is indexed.  Not while a prune plans to delete packs: that
 * tree's files could be in one. */
static int
reuse_subtree(struct bctx *b, struct bdir *d, size_t i,
    const struct cf_node *pn, const struct vnode *kid)
{
	struct bent *e = &d->ents[i];
	struct cf_subtree sub;
	struct cf_err err = {0};
	struct cf_loc loc;
	uint8_t state[32];
	char *path;
	int ok;

	if (!b->reuse || pn == NULL || pn->type != CF_NT_DIR ||
	    (kid != NULL && !kid->leaf) ||
	    (path = cf_path_join(d->path, (char *)e->name, e->n.namelen)) ==
	        NULL)
		return 0;
	ok = cf_prescan_state(b->pre, path, e->n.dev, e->n.ino, state) &&
	     cf_index_subtree_get(b->r->index, state, &sub, &err) == 0 &&
	     memcmp(sub.tree, pn->subtree, 32) == 0 &&
	     cf_index_lookup(b->r->index, pn->subtree, &loc, &err) == 0;
	free(path);
	if (!ok)
		return 0;
	memcpy(e->n.subtree, pn->subtree, 32);
	e->has_state = 1;
	memcpy(e->state, state, 32);
	e->sub_files = sub.files;
	e->sub_dirs = sub.dirs;
	e->sub_bytes = sub.bytes;
	b->unchanged += sub.files;
	b->reused += sub.dirs;
	remember(b, &sub); /* used today: kept */
	atomic_fetch_add(&b->ctr->files, sub.files);
	atomic_fetch_add(&b->ctr->dirs, sub.dirs);
	atomic_fetch_add(&b->ctr->bytes, sub.bytes);
	return 1;
}

/* A subfolder is walked by whichever thread is free: the walker lists the
 * top, the workers take folders as they take files, so a re-backup that
 * reads nothing still stats on every core.  (A folder named on the command
 * line, or above one, is walked in place: its vnode must stay in order.) */
static void
walk_subdir(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const struct cf_node *pn, const struct vnode *kid)
{
	struct job j = {.d = d, .i = i, .dir = 1};

	if (reuse_subtree(b, d, i, pn, kid))
		return;
	atomic_fetch_add(&d->pending, 1);
	if (pn != NULL && pn->type == CF_NT_DIR) {
		memcpy(j.subtree, pn->subtree, 32);
		j.has_pt = 1;
	}
	if (kid != NULL || b->nworkers == 0)
		descend(b, w, d, i, j.has_pt ? j.subtree : NULL, kid);
	else
		enqueue(b, w, &j);
}

/* Extended attributes of an entry whose inode and ctime are those of its
 * entry in the parent snapshot: unchanged, since setting or removing one
 * updates the ctime.  Copied, not read: an unchanged re-backup then costs
 * one fstatat per entry and no llistxattr. */
static int
same_xattrs(const struct cf_node *n, const struct cf_node *pn)
{
	return pn != NULL && pn->type == n->type && pn->ino == n->ino &&
	       pn->ctime_s == n->ctime_s && pn->ctime_ns == n->ctime_ns;
}

static int
fill_entry(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const struct stat *st, const struct cf_node *pn)
{
	struct bent *e = &d->ents[i];
	char *full, buf[CF_TARGET_MAX], fdpath[40];
	ssize_t len;
	int rc;

	if (cf_fs_node_stat(&e->n, st) != 0)
		return -1;
	e->n.name = e->name;
	if (same_xattrs(&e->n, pn)) {
		if (pn->xattrslen > 0 &&
		    (e->xattrs = malloc(pn->xattrslen)) != NULL) {
			memcpy(e->xattrs, pn->xattrs, pn->xattrslen);
			e->n.xattrs = e->xattrs;
			e->n.xattrslen = pn->xattrslen;
		}
		goto link;
	}
	/* Through the folder's descriptor first: the full path may be longer
	 * than PATH_MAX, and the xattrs were then lost without a word. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", d->fd);
	full = cf_path_join(fdpath, (char *)e->name, e->n.namelen);
	rc = full != NULL ? cf_fs_read_xattrs(full, &w->scratch) : -1;
	if (rc != 0) { /* no /proc */
		free(full);
		full = cf_path_join(d->path, (char *)e->name, e->n.namelen);
		rc = full != NULL ? cf_fs_read_xattrs(full, &w->scratch) : -1;
	}
	if (rc == 0 && w->scratch.len > 0 &&
	    (e->xattrs = malloc(w->scratch.len)) != NULL) {
		memcpy(e->xattrs, w->scratch.p, w->scratch.len);
		e->n.xattrs = e->xattrs;
		e->n.xattrslen = w->scratch.len;
	}
	free(full);
link:
	if (e->n.type != CF_NT_SYMLINK)
		return 0;
	len = readlinkat(d->fd, (char *)e->name, buf, sizeof(buf));
	if (len <= 0 || (size_t)len >= sizeof(buf) ||
	    (e->target = malloc((size_t)len)) == NULL)
		return -1;
	memcpy(e->target, buf, (size_t)len);
	e->n.target = e->target;
	e->n.targetlen = (size_t)len;
	return 0;
}

/* 1 if a chunk of ${pn} may live only in a pack a prune plans to delete
 * (or is not indexed at all): the file is then read again, so that its
 * chunks are stored anew rather than named from a doomed pack. */
static int
needs_doomed(struct bctx *b, const struct cf_node *pn)
{
	struct cf_err err = {0};
	struct cf_loc loc;

	if (b->doomed.n == 0)
		return 0; /* no plan: the usual case costs nothing */
	for (size_t k = 0; k < pn->nchunks; k++) {
		int rc = cf_index_lookup(b->r->index, pn->chunks + 32 * k, &loc,
		    &err);

		if (rc != 0 || cf_idset_has(&b->doomed, loc.pack))
			return 1;
	}
	return 0;
}

static void
walk_file(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const struct cf_node *pn)
{
	struct bent *e = &d->ents[i];

	/* An unchanged empty file counts as unchanged too. */
	if (!b->o->force && pn != NULL && pn->type == CF_NT_FILE &&
	    pn->size == e->n.size && pn->ino == e->n.ino &&
	    pn->mtime_s == e->n.mtime_s && pn->mtime_ns == e->n.mtime_ns &&
	    pn->ctime_s == e->n.ctime_s && pn->ctime_ns == e->n.ctime_ns &&
	    !needs_doomed(b, pn) &&
	    (e->chunks = malloc(pn->nchunks * 32 + 1)) != NULL) {
		memcpy(e->chunks, pn->chunks, pn->nchunks * 32);
		e->n.chunks = e->chunks;
		e->n.nchunks = pn->nchunks;
		b->unchanged++;
		atomic_fetch_add(&b->ctr->files, 1);
		atomic_fetch_add(&b->ctr->bytes, e->n.size);
		return;
	}
	if (e->n.size == 0) {
		atomic_fetch_add(&b->ctr->files, 1);
		return;
	}
	atomic_fetch_add(&d->pending, 1);
	enqueue(b, w, &(struct job){.d = d, .i = i});
}

static void
walk_entry(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const struct cf_tree *pt, const struct vnode *kid)
{
	struct bent *e = &d->ents[i];
	const struct cf_node *pn = pfind(pt, (char *)e->name);
	int virt = kid != NULL && !kid->leaf;
	struct stat st;

	if (fstatat(d->fd, (char *)e->name, &st,
	        virt ? 0 : AT_SYMLINK_NOFOLLOW) != 0 ||
	    (virt && !S_ISDIR(st.st_mode))) {
		warn(b, d->path, e->name, e->n.namelen,
		    virt ? "not a folder" : strerror(errno));
		e->skip = 1;
		b->unreadable++;
		return;
	}
	if (fill_entry(b, w, d, i, &st, b->o->force ? NULL : pn) != 0) {
		warn(b, d->path, e->name, e->n.namelen,
		    "cannot read metadata or link target");
		e->skip = 1;
		b->unreadable++;
		return;
	}
	if (e->n.type == CF_NT_DIR)
		walk_subdir(b, w, d, i, pn, kid);
	else if (e->n.type == CF_NT_FILE)
		walk_file(b, w, d, i, pn);
}

/* Folder ${d} as the prescan saw it, if that is as the parent snapshot
 * has it (every field of every entry but the atime, which is taken from
 * the prescan): its entries are copied from ${pt}, with no listing and no
 * stat.  The rules are those of walk_entry() for a stat that matches. */
static int
quick_dir(struct bctx *b, struct bdir *d, const struct cf_tree *pt)
{
	const struct cf_prescan_dir *pd;
	const uint32_t *at_ns;
	const int64_t *at_s;
	struct stat self;

	if (pt == NULL || b->o->force || b->pre == NULL ||
	    fstat(d->fd, &self) != 0 ||
	    (pd = cf_prescan_find(b->pre, d->path, self.st_dev, self.st_ino)) ==
	        NULL ||
	    !cf_prescan_match(b->pre, pd, pt->nodes, pt->n, &at_s, &at_ns) ||
	    (d->ents = calloc(pt->n + 1, sizeof(*d->ents))) == NULL)
		return 0;
	d->n = pt->n;
	for (size_t i = 0; i < pt->n; i++) {
		const struct cf_node *pn = &pt->nodes[i];
		struct bent *e = &d->ents[i];

		e->n = *pn;
		e->n.atime_s = at_s[i];
		e->n.atime_ns = at_ns[i];
		e->n.chunks = NULL;
		e->n.nchunks = 0;
		e->n.xattrs = e->n.target = NULL;
		e->n.xattrslen = e->n.targetlen = 0;
		memset(e->n.subtree, 0, 32);
		if ((e->name = malloc(pn->namelen + 1)) == NULL)
			goto oom;
		memcpy(e->name, pn->name, pn->namelen);
		e->name[pn->namelen] = '\0';
		e->n.name = e->name;
		if (pn->xattrslen > 0) {
			if ((e->xattrs = malloc(pn->xattrslen)) == NULL)
				goto oom;
			memcpy(e->xattrs, pn->xattrs, pn->xattrslen);
			e->n.xattrs = e->xattrs;
			e->n.xattrslen = pn->xattrslen;
		}
		if (pn->type == CF_NT_SYMLINK && pn->targetlen > 0) {
			if ((e->target = malloc(pn->targetlen)) == NULL)
				goto oom;
			memcpy(e->target, pn->target, pn->targetlen);
			e->n.target = e->target;
			e->n.targetlen = pn->targetlen;
		}
	}
	atomic_fetch_add(&b->prescanned, 1);
	return 1;
oom:
	free_ents(d);
	d->ents = NULL;
	d->n = 0;
	return 0; /* the usual walk says so, if it runs out too */
}

static void
quick_entry(struct bctx *b, struct wctx *w, struct bdir *d, size_t i,
    const struct cf_node *pn)
{
	if (pn->type == CF_NT_DIR)
		walk_subdir(b, w, d, i, pn, NULL);
	else if (pn->type == CF_NT_FILE)
		walk_file(b, w, d, i, pn);
}

static void
walk_dir(struct bctx *b, struct wctx *w, struct bdir *d,
    const struct cf_tree *pt, const struct vnode *v)
{
	char **names = NULL;
	size_t n = 0;
	int oom;

	if (v == NULL && quick_dir(b, d, pt)) {
		for (size_t i = 0; i < d->n && !failed(b); i++)
			quick_entry(b, w, d, i, &pt->nodes[i]);
		dir_release(b, w, d);
		return;
	}
	if (v != NULL) {
		n = v->nkids;
		names = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; names != NULL && i < n; i++)
			names[i] = strdup(v->kids[i]->name);
	} else if (cf_fs_list_dir(b->o, d->fd, d->path, &names, &n) != 0) {
		warn(b, d->path, (const uint8_t *)"", 0, strerror(errno));
		b->unreadable++;
		d->unlisted = 1;
		names = NULL;
		n = 0;
	}
	d->ents = calloc(n + 1, sizeof(*d->ents));
	oom = d->ents == NULL || (n > 0 && names == NULL);
	for (size_t i = 0; !oom && i < n; i++)
		oom = names[i] == NULL; /* a strdup() of a vnode's name */
	if (oom) {
		struct cf_err err;

		cf_err_set(&err, CF_ENOMEM, "out of memory");
		fail(b, &err);
	} else {
		d->n = n;
		for (size_t i = 0; i < n; i++) {
			d->ents[i].name = (uint8_t *)names[i];
			names[i] = NULL;
			d->ents[i].n.name = d->ents[i].name;
			d->ents[i].n.namelen = strlen((char *)d->ents[i].name);
		}
	}
	if (names != NULL)
		cf_fs_free_names(names, n);
	n = d->n;
	for (size_t i = 0; i < n && !failed(b); i++)
		walk_entry(b, w, d, i, pt, v != NULL ? v->kids[i] : NULL);
	dir_release(b, w, d);
}

/* --- the paths given: absolute, normalised, as a tree of names --- */

static void
vnode_free(struct vnode *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nkids; i++)
		vnode_free(v->kids[i]);
	free(v->kids);
	free(v->name);
	free(v);
}

static struct vnode *
vnode_kid(struct vnode *v, const char *name, size_t nl)
{
	struct vnode *k, **nk;
	size_t i = 0;

	for (; i < v->nkids; i++) {
		int c = strncmp(v->kids[i]->name, name, nl);

		if (c == 0 && v->kids[i]->name[nl] == '\0')
			return v->kids[i];
		if (c > 0 || (c == 0 && v->kids[i]->name[nl] != '\0'))
			break;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->name = strndup(name, nl)) == NULL ||
	    (nk = realloc(v->kids, (v->nkids + 1) * sizeof(*nk))) == NULL) {
		if (k != NULL)
			free(k->name);
		free(k);
		return NULL;
	}
	v->kids = nk;
	memmove(&nk[i + 1], &nk[i], (v->nkids - i) * sizeof(*nk));
	nk[i] = k;
	v->nkids++;
	return k;
}

static int
add_path(struct vnode *root, const char *abs)
{
	struct vnode *v = root;
	const char *p = abs;

	while (*p == '/')
		p++;
	if (*p == '\0') {
		root->leaf = 1;
		return 0;
	}
	while (*p != '\0' && !v->leaf) {
		const char *e = strchr(p, '/');
		size_t nl = e ? (size_t)(e - p) : strlen(p);

		if ((v = vnode_kid(v, p, nl)) == NULL)
			return -1;
		p += nl;
		while (*p == '/')
			p++;
	}
	if (!v->leaf) {
		v->leaf = 1;
		for (size_t i = 0; i < v->nkids; i++)
			vnode_free(v->kids[i]);
		v->nkids = 0;
	}
	return 0;
}

/* --- the scan that feeds the ETA --- */

static void
scan_tree(struct bctx *b, int dirfd, const char *path, int depth)
{
	char **names;
	size_t n;
	struct stat st;

	if (depth > 4096 || cf_fs_list_dir(b->o, dirfd, path, &names, &n) != 0)
		return;
	for (size_t i = 0; i < n && !failed(b); i++) {
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			atomic_fetch_add(&b->ctr->scan_files, 1);
			atomic_fetch_add(&b->ctr->scan_bytes,
			    (uint64_t)st.st_size);
		} else if (S_ISDIR(st.st_mode)) {
			int fd = cf_fs_open_dir(dirfd, names[i],
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char *sub =
			    cf_path_join(path, names[i], strlen(names[i]));

			if (fd >= 0 && sub != NULL)
				scan_tree(b, fd, sub, depth + 1);
			if (fd >= 0)
				close(fd);
			free(sub);
		}
	}
	cf_fs_free_names(names, n);
}

struct scanarg {
	struct bctx *b;
	char **paths;
	size_t n;
};

static void *
scanner(void *arg)
{
	struct scanarg *s = arg;
	struct stat st;

	for (size_t i = 0; i < s->n; i++) {
		if (lstat(s->paths[i], &st) != 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			atomic_fetch_add(&s->b->ctr->scan_files, 1);
			atomic_fetch_add(&s->b->ctr->scan_bytes,
			    (uint64_t)st.st_size);
		} else if (S_ISDIR(st.st_mode)) {
			int fd = cf_fs_open_dir(AT_FDCWD, s->paths[i],
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd >= 0) {
				scan_tree(s->b, fd, s->paths[i], 0);
				close(fd);
			}
		}
	}
	atomic_store(&s->b->ctr->scan_done, 1);
	return NULL;
}

/* --- orphan packs, parent snapshot, the whole backup --- */

struct orphans {
	struct cf_repo *r;
	struct cf_packer *pk;
	struct cf_err *err;
	uint64_t adopted;
	const struct cf_idset *doomed;
};

static int
adopt_one(void *arg, const char *name, uint64_t size)
{
	struct orphans *o = arg;
	struct cf_blobent *ents;
	struct cf_err e2;
	uint8_t id[32];
	size_t n;
	int rc;

	if (cf_unhex(id, 32, name) || cf_idset_has(o->doomed, id))
		return 0; /* a pack a prune plans to delete is not adopted */
	rc = cf_index_has_pack(o->r->index, id, o->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* A pack we cannot read is left to check and prune. */
	if (cf_repo_read_pack_header(o->r, name, size, &ents, &n, &e2) != 0)
		return 0;
	rc = cf_packer_adopt(o->pk, id, ents, n, o->err);
	free(ents);
	o->adopted++;
	return rc;
}

static int
same_paths(const struct cf_snapshot *s, char *const *paths, size_t n)
{
	if (s->npaths != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->paths[i], paths[i]) != 0)
			return 0;
	return 1;
}

static struct cf_snapshot *
find_parent(struct cf_repo *r, const struct cf_backup_opts *o,
    char *const *paths, size_t n, struct cf_err *err)
{
	struct cf_snapshot **v, *found = NULL;
	size_t cnt;

	if (o->force || r->keys->write_only)
		return NULL; /* a write-only credential reads no snapshot */
	if (o->parent != NULL)
		return cf_repo_find_snapshot(r, o->parent, err);
	if (cf_repo_snapshots(r, &v, &cnt, err))
		return NULL;
	for (size_t i = cnt; i-- > 0;) {
		if (strcmp(v[i]->host, o->host ? o->host : "") == 0 &&
		    same_paths(v[i], paths, n)) {
			found = v[i];
			v[i] = NULL;
			break;
		}
	}
	cf_snapshots_free(v, cnt);
	return found;
}

static int
prepare_paths(const struct cf_backup_opts *o, char ***out, size_t *nout,
    struct vnode **root, struct cf_err *err)
{
	char **v;
	size_t n = 0;
	struct stat st;

	if (o->npaths == 0)
		return cf_err_set(err, CF_EUSAGE, "no path to back up");
	if ((v = calloc(o->npaths + 1, sizeof(char *))) == NULL ||
	    (*root = calloc(1, sizeof(**root))) == NULL) {
		free(v);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < o->npaths; i++) {
		if (lstat(o->paths[i], &st) != 0) {
			cf_err_sys(err, "cannot back up %s", o->paths[i]);
			goto fail;
		}
		if ((v[n] = cf_fs_abs_path(o->paths[i])) == NULL ||
		    add_path(*root, v[n]) != 0) {
			cf_err_set(err, CF_ENOMEM, "out of memory");
			goto fail;
		}
		n++;
	}
	qsort(v, n, sizeof(char *), cf_fs_str_cmp);
	*out = v;
	*nout = n;
	return 0;
fail:
	cf_fs_free_names(v, n + 1);
	vnode_free(*root);
	*root = NULL;
	return -1;
}

static int
save_snapshot(struct bctx *b, char **paths, size_t npaths,
    const struct cf_snapshot *parent, struct cf_backup_result *res,
    struct cf_err *err)
{
	struct cf_snapshot s = {0};
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	s.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	s.host = (char *)(b->o->host ? b->o->host : "");
	s.user = (char *)(b->o->user ? b->o->user : "");
	s.version = (char *)"coffer " COFFER_VERSION;
	s.paths = paths;
	s.npaths = npaths;
	s.tags = (char **)b->o->tags;
	s.ntags = b->o->ntags;
	if (parent != NULL) {
		s.has_parent = 1;
		if (cf_unhex(s.parent, 32, parent->name))
			s.has_parent = 0;
	}
	memcpy(s.tree, b->root_id, 32);
	s.files = atomic_load(&b->ctr->files);
	s.dirs = atomic_load(&b->ctr->dirs);
	s.bytes = atomic_load(&b->ctr->bytes);
	s.new_bytes = atomic_load(&b->ctr->new_bytes);
	s.unreadable = b->unreadable;
	if (cf_repo_save_snapshot(b->r, &s, err))
		return -1;
	memcpy(res->name, s.name, 65);
	res->files = s.files;
	res->dirs = s.dirs;
	res->bytes = s.bytes;
	res->new_bytes = s.new_bytes;
	return 0;
}

static void
bctx_destroy(struct bctx *b)
{
	cf_idset_release(&b->doomed);
	pthread_mutex_destroy(&b->qmu);
	pthread_cond_destroy(&b->qne);
	pthread_cond_destroy(&b->qnf);
	pthread_mutex_destroy(&b->emu);
	pthread_mutex_destroy(&b->dmu);
	pthread_cond_destroy(&b->dcv);
	pthread_mutex_destroy(&b->smu);
	free(b->subs);
}

static void
bctx_init(struct bctx *b, struct cf_repo *r, const struct cf_backup_opts *o)
{
	memset(b, 0, sizeof(*b));
	b->r = r;
	b->o = o;
	b->ctr = o->ctr != NULL ? o->ctr : &b->own_ctr;
	pthread_mutex_init(&b->qmu, NULL);
	pthread_cond_init(&b->qne, NULL);
	pthread_cond_init(&b->qnf, NULL);
	pthread_mutex_init(&b->emu, NULL);
	pthread_mutex_init(&b->dmu, NULL);
	pthread_cond_init(&b->dcv, NULL);
	pthread_mutex_init(&b->smu, NULL);
	atomic_store(&b->record, r->index != NULL && !r->keys->write_only);
	b->day = (int64_t)time(NULL) / 86400;
}

/* Walk from the root and wait until every folder is finished. */
static void
run_walk(struct bctx *b, const struct vnode *root,
    const struct cf_snapshot *parent)
{
	struct cf_tree pt, *ppt = NULL;
	struct cf_err err = {0};
	struct bdir *d;
	struct wctx w;

	if (wctx_init(&w, b->r) || (d = calloc(1, sizeof(*d))) == NULL ||
	    (d->path = strdup("/")) == NULL ||
	    (d->fd = cf_fs_open_dir(AT_FDCWD, "/",
	         O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cf_err_set(&err, CF_ENOMEM, "cannot start the walk");
		fail(b, &err);
		wctx_release(&w);
		return;
	}
	atomic_store(&d->pending, 1);
	d->virt = !root->leaf;
	if (parent != NULL &&
	    cf_repo_load_tree(b->r, parent->tree, w.zc, &pt, &err) == 0) {
		ppt = &pt;
		d->have_old = 1;
		memcpy(d->old_id, parent->tree, 32);
	}
	walk_dir(b, &w, d, ppt, root->leaf ? NULL : root);
	if (ppt != NULL)
		cf_tree_release(ppt);
	pthread_mutex_lock(&b->dmu);
	while (!b->root_done)
		pthread_cond_wait(&b->dcv, &b->dmu);
	pthread_mutex_unlock(&b->dmu);
	wctx_release(&w);
}

static int
run_threads(struct bctx *b, const struct vnode *root,
    const struct cf_snapshot *parent, char **paths, size_t npaths)
{
	int nth = b->o->threads > 0 ? b->o->threads : cf_fs_ncpu();
	struct scanarg sa = {b, paths, npaths};
	pthread_t th[64], scan;
	int started = 0, scanning = 0;

	if (nth > 64)
		nth = 64;
	cf_prescan_stop(b->o->prescan);
	if (b->o->scan)
		scanning = pthread_create(&scan, NULL, scanner, &sa) == 0;
	for (; started < nth; started++)
		if (pthread_create(&th[started], NULL, worker, b) != 0)
			break;
	b->nworkers = started;
	if (started == 0) {
		struct cf_err e;

		cf_err_set(&e, CF_EINTERNAL, "cannot start threads");
		fail(b, &e);
	} else {
		run_walk(b, root, parent);
	}
	pthread_mutex_lock(&b->qmu);
	b->qclosed = 1;
	pthread_cond_broadcast(&b->qne);
	pthread_mutex_unlock(&b->qmu);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (scanning)
		pthread_join(scan, NULL);
	return failed(b) ? -1 : 0;
}

/** cf_backup(r, o, res, err): one snapshot of o->paths. */
int
cf_backup(struct cf_repo *r, const struct cf_backup_opts *o,
    struct cf_backup_result *res, struct cf_err *err)
{
	struct cf_snapshot *parent = NULL;
	struct orphans orph = {r, NULL, err, 0, NULL};
	struct cf_packer_stats st;
	struct vnode *root = NULL;
	struct bctx b;
	char **paths = NULL;
	size_t npaths = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (prepare_paths(o, &paths, &npaths, &root, err))
		return -1;
	bctx_init(&b, r, o);
	cf_err_clear(err);
	parent = find_parent(r, o, paths, npaths, err);
	if (parent == NULL && err->code != CF_OK)
		goto out;
	orph.doomed = &b.doomed;
	if (cf_prune_doomed(r, &b.doomed, err) != 0 ||
	    (b.pk = orph.pk = cf_packer_new(r, err)) == NULL ||
	    cf_store_list(r->store, CF_KIND_PACK, adopt_one, &orph, err) != 0)
		goto out;
	/* Index adopted packs before the walk, so this backup finds their
	 * blobs: else it stored them again, and its own packs, duplicates
	 * only, stayed in no index file for ever. */
	if (orph.adopted > 0 && cf_packer_flush(b.pk, err) != 0)
		goto out;
	b.pre = cf_prescan_for(o->prescan, o) ? o->prescan : NULL;
	b.reuse = b.record && b.pre != NULL && !o->force && b.doomed.n == 0;
	if (run_threads(&b, root, parent, paths, npaths) != 0) {
		*err = b.err;
		goto out;
	}
	if (cf_packer_flush(b.pk, err) ||
	    save_snapshot(&b, paths, npaths, parent, res, err))
		goto out;
	if (atomic_load(&b.record)) {
		struct cf_err e2 = {0};

		write_states(&b, b.subs, b.nsubs);
		/* a cache: on failure the rows stay until the next backup */
		(void)!cf_index_subtree_expire(r->index,
		    b.day - STATES_KEPT_DAYS, &e2);
	}
	cf_packer_stats(b.pk, &st);
	res->stored_bytes = st.stored_bytes;
	res->new_blobs = st.blobs;
	res->unreadable = b.unreadable;
	res->changed = b.changed;
	res->unchanged = b.unchanged;
	res->prescanned_dirs = b.prescanned;
	res->reused_dirs = b.reused;
	if (parent != NULL)
		memcpy(res->parent, parent->name, 65);
	rc = 0;
out:
	cf_packer_free(b.pk);
	cf_snapshot_free(parent);
	vnode_free(root);
	cf_fs_free_names(paths, npaths);
	bctx_destroy(&b);
	return rc;
}
