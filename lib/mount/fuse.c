/*
 * fuse.c: the FUSE operations of the mount, over the view (view.c), a
 * cache of decoded trees and one of decrypted chunks (cache.c), and open
 * files (file.c).  The only includer of <fuse3/fuse.h> in lib/.
 *
 * Paths come from the kernel (at most 255 bytes a component); everything
 * else comes from verified trees, whose names cf_tree_decode() checked.
 * Read-only: every operation that would change something returns EROFS,
 * and the kernel sees a "ro" mount.
 */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse3/fuse.h>
#include <fuse3/fuse_lowlevel.h>
#include <sodium.h>

#include "mount/mount_internal.h"

#define READ_AHEAD 4   /* chunks queued ahead of a sequential reader */
#define TIMEOUT 3600.0 /* seconds the kernel may cache names, attrs */
#define NAME_BYTES 255 /* longest name the kernel takes */

struct cf_mount {
	struct cf_repo *r;
	struct cf_mview v;
	struct cf_mcache *trees, *chunks;
	pthread_key_t zc_key;
	int have_key, mounted;
	int late_fd; /* a copy of the /dev/fuse descriptor; see hold_late() */
	struct cf_mount_opts o;
	uid_t uid;
	gid_t gid;
	int64_t vtime; /* times of the virtual folders: the newest snapshot */
	struct fuse *f;
};

/* What a path names: for a path inside a snapshot, the pinned tree that
 * holds its node (or, for a listed folder, its own listing). */
struct ref {
	struct cf_vpath vp;
	struct cf_mentry *tree;
	const struct cf_node *node; /* NULL: virtual, or a snapshot's root */
};

static struct cf_mount *
mnt(void)
{
	return fuse_get_context()->private_data;
}

static void
zc_free(void *p)
{
	cf_zc_free(p);
}

/* This thread's decompression context (NULL works too, more slowly). */
static struct cf_zc *
thread_zc(struct cf_mount *m)
{
	struct cf_zc *z = pthread_getspecific(m->zc_key);

	if (z == NULL && (z = cf_zc_new(0)) != NULL &&
	    pthread_setspecific(m->zc_key, z) != 0) {
		cf_zc_free(z);
		z = NULL;
	}
	return z;
}

static void
warn(struct cf_mount *m, const char *path, const struct cf_err *err)
{
	if (m->o.warn != NULL)
		m->o.warn(m->o.arg, path ? path : "?",
		    err->msg[0] ? err->msg : cf_err_name(err->code));
}

static int
load_tree(void *ctx, const uint8_t id[static 32], void **val, size_t *len,
    struct cf_err *err)
{
	struct cf_mount *m = ctx;
	struct cf_tree *t = malloc(sizeof(*t));

	if (t == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	if (cf_repo_load_tree(m->r, id, thread_zc(m), t, err) != 0) {
		free(t);
		return -1;
	}
	*val = t;
	*len = sizeof(*t) + t->raw.cap + t->n * sizeof(struct cf_node);
	return 0;
}

static void
drop_tree(void *val, size_t len)
{
	(void)len;
	cf_tree_release(val);
	free(val);
}

static int
load_chunk(void *ctx, const uint8_t id[static 32], void **val, size_t *len,
    struct cf_err *err)
{
	struct cf_mount *m = ctx;
	struct cf_buf b;
	uint8_t *p, *q;

	cf_buf_init(&b, CF_BLOB_MAX_RAW * 2);
	if (cf_repo_load_blob(m->r, id, CF_BLOB_DATA, thread_zc(m), &b, err) !=
	    0) {
		cf_buf_release(&b);
		return -1;
	}
	p = cf_buf_take(&b, len);
	/* The buffer also held the stored bytes: keep only the plaintext. */
	if ((q = realloc(p, *len > 0 ? *len : 1)) != NULL)
		p = q;
	*val = p;
	return 0;
}

static void
drop_chunk(void *val, size_t len)
{
	sodium_memzero(val, len);
	free(val);
}

static const struct cf_mcache_ops tree_ops = {load_tree, drop_tree};
static const struct cf_mcache_ops chunk_ops = {load_chunk, drop_chunk};

static const struct cf_tree *
tree_of(const struct cf_mentry *e)
{
	return e->val;
}

static const struct cf_node *
tree_find(const struct cf_tree *t, const char *name, size_t nl)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cf_tree_name_cmp(t->nodes[mid].name,
		    t->nodes[mid].namelen, (const uint8_t *)name, nl);

		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Pin tree ${id}; NULL (and a warning) if it cannot be read. */
static struct cf_mentry *
get_tree(struct cf_mount *m, const uint8_t id[static 32], const char *path)
{
	struct cf_err err = {0};
	struct cf_mentry *e = cf_mcache_get(m->trees, id, &err);

	if (e == NULL)
		warn(m, path, &err);
	return e;
}

/* Resolve ${rest} inside the tree ${root}: the node and its pinned tree. */
static int
walk(struct cf_mount *m, const uint8_t root[static 32], const char *rest,
    const char *path, struct ref *ref)
{
	struct cf_mentry *e = get_tree(m, root, path);
	const struct cf_node *n = NULL;
	const char *p = rest;

	while (e != NULL && *p != '\0') {
		size_t len = strcspn(p, "/");

		if (n != NULL && n->type != CF_NT_DIR) {
			cf_mcache_put(m->trees, e);
			return -ENOTDIR;
		}
		if (n != NULL) {
			struct cf_mentry *sub = get_tree(m, n->subtree, path);

			cf_mcache_put(m->trees, e);
			e = sub;
			if (e == NULL)
				break;
		}
		if ((n = tree_find(tree_of(e), p, len)) == NULL) {
			cf_mcache_put(m->trees, e);
			return -ENOENT;
		}
		p += len;
		p += strspn(p, "/");
	}
	if (e == NULL)
		return -EIO;
	ref->tree = e;
	ref->node = n;
	return 0;
}

/* Resolve ${path}.  A snapshot's root tree is pinned only if ${listing}. */
static int
resolve(struct cf_mount *m, const char *path, int listing, struct ref *ref)
{
	int rc;

	memset(ref, 0, sizeof(*ref));
	if ((rc = cf_mview_parse(&m->v, path, &ref->vp)) != 0)
		return rc;
	if (ref->vp.kind != CF_V_SNAP || (*ref->vp.rest == '\0' && !listing))
		return 0;
	return walk(m, m->v.s[ref->vp.snap]->tree, ref->vp.rest, path, ref);
}

static void
unref(struct cf_mount *m, struct ref *ref)
{
	cf_mcache_put(m->trees, ref->tree);
	ref->tree = NULL;
}

/* Inode numbers: hard links of a snapshot share one (from the recorded
 * device and inode), everything else gets its own; virtual folders take
 * the small numbers. */
static ino_t
mix_ino(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull;

	h = (h ^ (h >> 31) ^ b) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 29) ^ c) * 0x94d049bb133111ebull;
	h ^= h >> 32;
	return (ino_t)(h < 16 ? h + 16 : h);
}

static void
node_stat(size_t snap, const struct cf_node *n, struct stat *st)
{
	static const mode_t fmt[] = {S_IFREG, S_IFREG, S_IFDIR, S_IFLNK,
	    S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK};

	memset(st, 0, sizeof(*st));
	st->st_mode =
	    (n->type < 8 ? fmt[n->type] : S_IFREG) | (n->mode & 07777);
	st->st_ino = mix_ino(snap + 1, n->dev, n->ino);
	st->st_nlink = n->nlink > 0 ? (nlink_t)n->nlink : 1;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_size = n->type == CF_NT_SYMLINK ? (off_t)n->targetlen
	              : n->type == CF_NT_FILE  ? (off_t)n->size
	                                       : 0;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 128 * 1024;
	if (n->type == CF_NT_CHR || n->type == CF_NT_BLK)
		st->st_rdev = (dev_t)n->rdev;
	st->st_atim = (struct timespec){n->atime_s, n->atime_ns};
	st->st_mtim = (struct timespec){n->mtime_s, n->mtime_ns};
	st->st_ctim = (struct timespec){n->ctime_s, n->ctime_ns};
}

static void
virtual_stat(const struct cf_mount *m, mode_t mode, int64_t t, off_t size,
    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_ino = 1;
	st->st_nlink = S_ISDIR(mode) ? 2 : 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_size = size;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

static int64_t
snap_time(const struct cf_mount *m, size_t i)
{
	return m->v.s[i]->time_ns / 1000000000;
}

static size_t
latest_len(const struct cf_mount *m)
{
	return strlen("snapshots/") + strlen(m->v.names[m->v.n - 1]);
}

static ino_t
virtual_ino(const struct cf_vpath *vp)
{
	switch (vp->kind) {
	case CF_V_ROOT:
		return 1;
	case CF_V_LATEST:
		return 2;
	case CF_V_GROUPS:
		return 3 + (ino_t)vp->group;
	case CF_V_SNAP:
		return mix_ino(vp->snap + 1, 0, 1);
	case CF_V_SNAPS:
		break;
	}
	return vp->group == CF_G_ALL ? 6 : mix_ino(0, vp->group, vp->gi);
}

static void
ref_stat(struct cf_mount *m, const struct ref *ref, struct stat *st)
{
	if (ref->node != NULL)
		node_stat(ref->vp.snap, ref->node, st);
	else if (ref->vp.kind == CF_V_LATEST)
		virtual_stat(m, S_IFLNK | 0777, m->vtime, (off_t)latest_len(m),
		    st);
	else if (ref->vp.kind == CF_V_SNAP)
		virtual_stat(m, S_IFDIR | 0555, snap_time(m, ref->vp.snap), 0,
		    st);
	else
		virtual_stat(m, S_IFDIR | 0555, m->vtime, 0, st);
	if (ref->node == NULL)
		st->st_ino = virtual_ino(&ref->vp);
}

static int
op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct cf_mount *m = mnt();
	struct ref ref;
	int rc;

	(void)fi;
	if ((rc = resolve(m, path, 0, &ref)) != 0)
		return rc;
	ref_stat(m, &ref, st);
	unref(m, &ref);
	return 0;
}

static int
op_readlink(const char *path, char *buf, size_t size)
{
	struct cf_mount *m = mnt();
	struct ref ref;
	int rc;

	if (size == 0)
		return -EINVAL;
	if ((rc = resolve(m, path, 0, &ref)) != 0)
		return rc;
	if (ref.vp.kind == CF_V_LATEST) {
		snprintf(buf, size, "snapshots/%s", m->v.names[m->v.n - 1]);
	} else if (ref.node != NULL && ref.node->type == CF_NT_SYMLINK) {
		size_t n = ref.node->targetlen < size - 1 ? ref.node->targetlen
		                                          : size - 1;

		memcpy(buf, ref.node->target, n);
		buf[n] = '\0';
	} else {
		rc = -EINVAL;
	}
	unref(m, &ref);
	return rc;
}

static int
op_open(const char *path, struct fuse_file_info *fi)
{
	struct cf_mount *m = mnt();
	struct cf_err err = {0};
	struct cf_mfile *f;
	struct ref ref;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS;
	if ((rc = resolve(m, path, 0, &ref)) != 0)
		return rc;
	if (ref.node == NULL || ref.node->type != CF_NT_FILE) {
		rc = ref.node == NULL || ref.node->type == CF_NT_DIR ? -EISDIR
		                                                     : -EINVAL;
	} else if ((f = cf_mfile_open(m->r, ref.node, &err)) == NULL) {
		warn(m, path, &err);
		rc = -EIO;
	} else {
		fi->fh = (uint64_t)(uintptr_t)f;
		fi->keep_cache = 1;
	}
	unref(m, &ref);
	return rc;
}

static int
op_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cf_mount *m = mnt();
	struct cf_mfile *f = (struct cf_mfile *)(uintptr_t)fi->fh;
	struct cf_err err = {0};
	long n;

	if (off < 0)
		return -EINVAL;
	n = cf_mfile_read(f, m->chunks, READ_AHEAD, (uint8_t *)buf, size,
	    (uint64_t)off, &err);
	if (n < 0) {
		pthread_mutex_lock(&f->mu);
		if (!f->warned++)
			warn(m, path, &err);
		pthread_mutex_unlock(&f->mu);
		return -EIO;
	}
	return (int)n;
}

static int
op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	cf_mfile_free((struct cf_mfile *)(uintptr_t)fi->fh);
	return 0;
}

/* An open folder of a snapshot: its listing, pinned. */
struct dirh {
	struct cf_mentry *tree;
	size_t snap;
};

static int
open_listing(struct cf_mount *m, const char *path, struct ref *ref,
    struct fuse_file_info *fi)
{
	struct dirh *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	d->snap = ref->vp.snap;
	if (ref->node == NULL) { /* the snapshot's root: already pinned */
		d->tree = ref->tree;
		ref->tree = NULL;
	} else if ((d->tree = get_tree(m, ref->node->subtree, path)) == NULL) {
		free(d);
		return -EIO;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

static int
op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct cf_mount *m = mnt();
	struct ref ref;
	int rc;

	if ((rc = resolve(m, path, 1, &ref)) != 0)
		return rc;
	fi->fh = 0;
	if (ref.vp.kind == CF_V_LATEST ||
	    (ref.node != NULL && ref.node->type != CF_NT_DIR))
		rc = -ENOTDIR;
	else if (ref.vp.kind == CF_V_SNAP)
		rc = open_listing(m, path, &ref, fi);
	unref(m, &ref);
	return rc;
}

static int
op_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;

	(void)path;
	if (d != NULL) {
		cf_mcache_put(mnt()->trees, d->tree);
		free(d);
	}
	return 0;
}

static int
fill_tree(const struct dirh *d, void *buf, fuse_fill_dir_t filler, off_t off)
{
	const struct cf_tree *t = tree_of(d->tree);
	struct stat st;
	char name[NAME_BYTES + 1];

	for (size_t i = (size_t)off; i < t->n + 2; i++) {
		enum fuse_fill_dir_flags fl = FUSE_FILL_DIR_PLUS;

		if (i < 2) {
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFDIR;
			st.st_ino = 1;
			snprintf(name, sizeof(name), "%s", i ? ".." : ".");
			fl = 0;
		} else {
			const struct cf_node *n = &t->nodes[i - 2];

			if (n->namelen > NAME_BYTES)
				continue; /* no Linux name is longer */
			memcpy(name, n->name, n->namelen);
			name[n->namelen] = '\0';
			node_stat(d->snap, n, &st);
		}
		if (filler(buf, name, &st, (off_t)i + 1, fl))
			break;
	}
	return 0;
}

/* A virtual entry (readdir skips inode 0: every entry gets its number). */
static int
fill(void *buf, fuse_fill_dir_t filler, const char *name, mode_t mode,
    ino_t ino)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_ino = ino;
	return filler(buf, name, &st, 0, 0);
}

static void
fill_root(const struct cf_mview *v, void *buf, fuse_fill_dir_t filler)
{
	(void)(fill(buf, filler, "snapshots", S_IFDIR, 6) ||
	       fill(buf, filler, "tags", S_IFDIR, 3 + CF_G_TAG) ||
	       fill(buf, filler, "hosts", S_IFDIR, 3 + CF_G_HOST) ||
	       (v->n > 0 && fill(buf, filler, "latest", S_IFLNK, 2)));
}

static void
fill_virtual(struct cf_mount *m, const struct cf_vpath *vp, void *buf,
    fuse_fill_dir_t filler)
{
	const struct cf_mview *v = &m->v;

	if (fill(buf, filler, ".", S_IFDIR, virtual_ino(vp)) ||
	    fill(buf, filler, "..", S_IFDIR, 1))
		return;
	if (vp->kind == CF_V_ROOT) {
		fill_root(v, buf, filler);
	} else if (vp->kind == CF_V_GROUPS) {
		char *const *g = vp->group == CF_G_TAG ? v->tags : v->hosts;
		size_t n = vp->group == CF_G_TAG ? v->ntags : v->nhosts;

		for (size_t i = 0; i < n; i++)
			if (fill(buf, filler, g[i], S_IFDIR,
			        mix_ino(0, vp->group, i)))
				break;
	} else {
		for (size_t i = 0; i < v->n; i++)
			if (cf_mview_member(v, i, vp->group, vp->gi) &&
			    fill(buf, filler, v->names[i], S_IFDIR,
			        mix_ino(i + 1, 0, 1)))
				break;
	}
}

static int
op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct cf_mount *m = mnt();
	struct cf_vpath vp;
	int rc;

	(void)flags;
	if (fi->fh != 0)
		return fill_tree((const struct dirh *)(uintptr_t)fi->fh, buf,
		    filler, off);
	if ((rc = cf_mview_parse(&m->v, path, &vp)) != 0)
		return rc;
	fill_virtual(m, &vp, buf, filler);
	return 0;
}

/* The node of ${path} for its xattrs (NULL node: a virtual entry). */
static int
xattr_node(struct cf_mount *m, const char *path, struct ref *ref,
    struct cf_rd *rd, uint64_t *count)
{
	int rc = resolve(m, path, 0, ref);

	*count = 0;
	if (rc != 0 || ref->node == NULL)
		return rc;
	cf_rd_init(rd, ref->node->xattrs, ref->node->xattrslen);
	if (ref->node->xattrslen > 0 && cf_rd_uvar(rd, count) != 0)
		*count = 0;
	return 0;
}

static int
op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct cf_mount *m = mnt();
	const uint8_t *xn, *xv;
	size_t nn, vn;
	uint64_t count;
	struct cf_rd rd;
	struct ref ref;
	int rc = xattr_node(m, path, &ref, &rd, &count);

	if (rc != 0)
		return rc;
	rc = -ENODATA;
	for (uint64_t i = 0;
	     i < count && cf_xattrs_next(&rd, &xn, &nn, &xv, &vn) == 0; i++) {
		if (nn != strlen(name) || memcmp(xn, name, nn) != 0)
			continue;
		if (vn > INT32_MAX)
			rc = -E2BIG;
		else if (size > 0 && size < vn)
			rc = -ERANGE;
		else
			rc = (int)vn;
		if (size >= vn)
			memcpy(value, xv, vn);
		break;
	}
	unref(m, &ref);
	return rc;
}

static int
op_listxattr(const char *path, char *list, size_t size)
{
	struct cf_mount *m = mnt();
	const uint8_t *xn, *xv;
	size_t nn, vn, total = 0;
	uint64_t count;
	struct cf_rd rd;
	struct ref ref;
	int rc = xattr_node(m, path, &ref, &rd, &count);

	if (rc != 0)
		return rc;
	for (uint64_t i = 0;
	     i < count && cf_xattrs_next(&rd, &xn, &nn, &xv, &vn) == 0; i++) {
		if (nn == 0 || memchr(xn, '\0', nn) != NULL)
			continue;
		if (size > 0 && total + nn + 1 <= size) {
			memcpy(list + total, xn, nn);
			list[total + nn] = '\0';
		}
		total += nn + 1;
	}
	unref(m, &ref);
	if (total > INT32_MAX)
		return -E2BIG;
	return size > 0 && total > size ? -ERANGE : (int)total;
}

static int
op_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = 4096;
	st->f_namemax = NAME_BYTES;
	st->f_flag = ST_RDONLY;
	return 0;
}

/* Everything that would write. */
static int
rofs_path(const char *path)
{
	(void)path;
	return -EROFS;
}

static int
op_mknod(const char *p, mode_t mode, dev_t dev)
{
	(void)mode, (void)dev;
	return rofs_path(p);
}

static int
op_mkdir(const char *p, mode_t mode)
{
	(void)mode;
	return rofs_path(p);
}

static int
op_link2(const char *a, const char *b)
{
	(void)b;
	return rofs_path(a);
}

static int
op_rename(const char *a, const char *b, unsigned int flags)
{
	(void)b, (void)flags;
	return rofs_path(a);
}

static int
op_chmod(const char *p, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode, (void)fi;
	return rofs_path(p);
}

static int
op_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi)
{
	(void)u, (void)g, (void)fi;
	return rofs_path(p);
}

static int
op_truncate(const char *p, off_t size, struct fuse_file_info *fi)
{
	(void)size, (void)fi;
	return rofs_path(p);
}

static int
op_write(const char *p, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)buf, (void)size, (void)off, (void)fi;
	return rofs_path(p);
}

static int
op_setxattr(const char *p, const char *name, const char *value, size_t size,
    int flags)
{
	(void)name, (void)value, (void)size, (void)flags;
	return rofs_path(p);
}

static int
op_removexattr(const char *p, const char *name)
{
	(void)name;
	return rofs_path(p);
}

static int
op_create(const char *p, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode, (void)fi;
	return rofs_path(p);
}

static int
op_utimens(const char *p, const struct timespec tv[2],
    struct fuse_file_info *fi)
{
	(void)tv, (void)fi;
	return rofs_path(p);
}

static int
op_fallocate(const char *p, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	(void)mode, (void)off, (void)len, (void)fi;
	return rofs_path(p);
}

static void *
op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* Nothing under the mount ever changes. */
	cfg->kernel_cache = 1;
	cfg->entry_timeout = cfg->attr_timeout = TIMEOUT;
	cfg->negative_timeout = TIMEOUT;
	cfg->nullpath_ok = 0; /* virtual folders are listed by path */
	cfg->use_ino = 1;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations ops = {
    .getattr = op_getattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = rofs_path,
    .rmdir = rofs_path,
    .symlink = op_link2,
    .rename = op_rename,
    .link = op_link2,
    .chmod = op_chmod,
    .chown = op_chown,
    .truncate = op_truncate,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .statfs = op_statfs,
    .release = op_release,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .init = op_init,
    .create = op_create,
    .utimens = op_utimens,
    .fallocate = op_fallocate,
};

static int
ncpu_threads(int want)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (want > 0)
		return want;
	return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

static int
setup(struct cf_mount *m, struct cf_err *err)
{
	struct cf_snapshot **s;
	size_t n;
	uint64_t cache =
	    m->o.cache_bytes ? m->o.cache_bytes : CF_MOUNT_CACHE_DEFAULT;

	if (cf_repo_snapshots(m->r, &s, &n, err) != 0 ||
	    cf_mview_init(&m->v, s, n, err) != 0)
		return -1;
	m->vtime = n > 0 ? snap_time(m, n - 1) : (int64_t)time(NULL);
	if (pthread_key_create(&m->zc_key, zc_free) != 0)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	m->have_key = 1;
	if ((m->trees = cf_mcache_new(&tree_ops, m, CF_MOUNT_TREES_DEFAULT, 0,
	         err)) == NULL ||
	    (m->chunks = cf_mcache_new(&chunk_ops, m, cache,
	         ncpu_threads(m->o.threads), err)) == NULL)
		return -1;
	return 0;
}

/*
 * auto_unmount leaves a fusermount3 waiting on a socket for this process to
 * die; it then unmounts only if opening the mount point fails with ENOTCONN,
 * that is, only if the /dev/fuse connection is gone already.  When a killed
 * process's descriptors close, the kernel releases the last-closed (highest)
 * first, and libfuse's /dev/fuse descriptor sits below that socket: the socket
 * went first, fusermount3's open() waited on the still-open connection, got
 * ECONNABORTED and left the dead mount behind (8 in 140 kill -9 on a busy
 * machine).  A copy of the /dev/fuse descriptor above every open one makes
 * the connection close before the socket.
 */
static int
hold_late(const struct cf_mount *m)
{
	int fd = fuse_session_fd(fuse_get_session(m->f)), top = fd;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		long n = strtol(e->d_name, NULL, 10);

		if (n > top && n < 1 << 20)
			top = (int)n;
	}
	closedir(d);
	return fcntl(fd, F_DUPFD_CLOEXEC, top + 1);
}

static int
start_fuse(struct cf_mount *m, const char *dir, struct cf_err *err)
{
	char opts[256], prog[] = "coffer", o[] = "-o";
	char *argv[] = {prog, o, opts, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct stat st;

	if (stat(dir, &st) != 0)
		return cf_err_sys(err, "cannot mount on %s", dir);
	if (!S_ISDIR(st.st_mode))
		return cf_err_set(err, CF_EUSAGE,
		    "cannot mount on %s: not a folder", dir);
	snprintf(opts, sizeof(opts),
	    "ro,fsname=coffer,subtype=coffer,auto_unmount%s",
	    m->o.allow_other ? ",allow_other,default_permissions" : "");
	m->f = fuse_new(&args, &ops, sizeof(ops), m);
	fuse_opt_free_args(&args);
	if (m->f == NULL)
		return cf_err_set(err, CF_EINTERNAL, "cannot start FUSE");
	if (fuse_mount(m->f, dir) != 0)
		return cf_err_set(err, CF_EIO,
		    "cannot mount on %s (is /dev/fuse there, and fusermount3?)",
		    dir);
	m->mounted = 1;
	m->late_fd = hold_late(m);
	return 0;
}

/** cf_mount_new(r, dir, o, err): mount the repository on ${dir}. */
struct cf_mount *
cf_mount_new(struct cf_repo *r, const char *dir, const struct cf_mount_opts *o,
    struct cf_err *err)
{
	struct cf_mount *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	m->r = r;
	m->o = *o;
	m->late_fd = -1;
	m->uid = getuid();
	m->gid = getgid();
	if (setup(m, err) != 0 || start_fuse(m, dir, err) != 0) {
		cf_mount_free(m);
		return NULL;
	}
	return m;
}

/** cf_mount_snapshots(m): the number of snapshots shown. */
size_t
cf_mount_snapshots(const struct cf_mount *m)
{
	return m->v.n;
}

/** cf_mount_loop(m, err): serve until unmounted or signalled. */
int
cf_mount_loop(struct cf_mount *m, struct cf_err *err)
{
	struct fuse_session *se = fuse_get_session(m->f);
	int rc;

	if (fuse_set_signal_handlers(se) != 0)
		return cf_err_set(err, CF_EINTERNAL,
		    "cannot install signal handlers");
	rc = fuse_loop_mt(m->f, 0);
	fuse_remove_signal_handlers(se);
	if (rc < 0)
		return cf_err_set(err, CF_EIO, "serving the mount failed: %s",
		    strerror(-rc));
	return 0;
}

/** cf_mount_free(m): unmount and free. */
void
cf_mount_free(struct cf_mount *m)
{
	if (m == NULL)
		return;
	if (m->mounted)
		fuse_unmount(m->f);
	if (m->late_fd >= 0)
		close(m->late_fd);
	if (m->f != NULL)
		fuse_destroy(m->f);
	cf_mcache_free(m->chunks);
	cf_mcache_free(m->trees);
	if (m->have_key)
		pthread_key_delete(m->zc_key);
	cf_mview_release(&m->v);
	free(m);
}
