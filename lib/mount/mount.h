/*
 * mount.h: a repository as a read-only file system (FUSE 3).
 *
 *   /snapshots/NAME/...        every snapshot, oldest first
 *   /latest -> snapshots/NAME  the newest snapshot
 *   /tags/TAG/NAME/...         the snapshots that carry TAG
 *   /hosts/HOST/NAME/...       the snapshots made on HOST
 *
 * NAME is the snapshot's local time, "2026-11-28T09:16:52"; when two
 * snapshots share a second both get "-" and the first 8 hex digits of their
 * ID appended.  A '/' in a tag or host name shows as '_'; names that cannot
 * be a path component ("", ".", "..", longer than 255 bytes) are left out.
 *
 * Folders are read from the trees when first listed and kept in a bounded
 * cache; files are read at any offset through a bounded LRU cache of
 * decrypted chunks, with read-ahead on worker threads when access is
 * sequential.  The snapshot list is read once, at mount time.
 *
 * This module (and cmd/) is the only includer of <fuse3/fuse.h>.  Errors:
 * -1 or NULL with *err filled.  A problem met while serving a request (a
 * chunk that is missing or damaged) becomes EIO for the reader and is
 * passed to the warn callback, from a FUSE thread.
 * Thread-safety: cf_mount_new, cf_mount_loop and cf_mount_free are called
 * by one thread; libfuse calls into the mount from its own threads.
 */
#ifndef CF_MOUNT_H
#define CF_MOUNT_H

#include <stdint.h>

#include "engine/engine.h"
#include "repo/repo.h"

#define CF_MOUNT_CACHE_DEFAULT (128ull << 20) /* decrypted chunks */
#define CF_MOUNT_CACHE_MIN (16ull << 20)
#define CF_MOUNT_CACHE_MAX (64ull << 30)
#define CF_MOUNT_TREES_DEFAULT (64ull << 20) /* decoded trees */

struct cf_mount_opts {
	uint64_t cache_bytes; /* chunk cache; 0: CF_MOUNT_CACHE_DEFAULT */
	int threads;          /* read-ahead threads; 0: one per core, <= 4 */
	int allow_other;      /* let other users in; modes are then enforced */
	cf_warn_fn warn;      /* read errors (called from FUSE threads) */
	void *arg;
};

struct cf_mount;

/** cf_mount_new(r, dir, o, err): read the snapshot list and mount the
 * repository on folder ${dir}.  Borrows ${r} until cf_mount_free().  Free
 * with cf_mount_free(). */
struct cf_mount *cf_mount_new(struct cf_repo *r, const char *dir,
    const struct cf_mount_opts *o, struct cf_err *err);
/** cf_mount_snapshots(m): the number of snapshots shown. */
size_t cf_mount_snapshots(const struct cf_mount *m);
/** cf_mount_loop(m, err): serve requests until the file system is
 * unmounted (fusermount3 -u) or SIGINT, SIGTERM or SIGHUP arrives. */
int cf_mount_loop(struct cf_mount *m, struct cf_err *err) CF_WUR;
/** cf_mount_free(m): unmount (if still mounted) and free; NULL is a
 * no-op. */
void cf_mount_free(struct cf_mount *m);

#endif
