/*
 * engine.h: backup, restore, check and browsing of snapshots.
 *
 * The engine never prints: per-file problems go to the caller's warn
 * callback, progress to counters the caller may read at any time from
 * another thread (C11 atomics).  Errors that stop an operation come back in
 * *err.  The functions run worker threads internally; a struct cf_repo is
 * used by one operation at a time.
 */
#ifndef CF_ENGINE_H
#define CF_ENGINE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

typedef void (*cf_warn_fn)(void *arg, const char *path, const char *msg);

struct cf_counters {
	_Atomic uint64_t files, dirs, bytes;     /* processed */
	_Atomic uint64_t scan_files, scan_bytes; /* found by the scan */
	_Atomic int scan_done;
	_Atomic uint64_t new_bytes, stored_bytes; /* backup: written */
	_Atomic uint64_t errors;
};

struct cf_backup_opts {
	const char *const *paths;
	size_t npaths;
	const char *const *excludes; /* fnmatch(3) patterns */
	size_t nexcludes;
	const char *const *tags;
	size_t ntags;
	const char *host, *user;
	const char *parent; /* snapshot spec, or NULL: the latest with the
	                       same host and paths */
	int force;          /* read every file, ignore the parent */
	int threads;        /* 0: one per core */
	int scan;           /* count totals first (for an ETA) */
	cf_warn_fn warn;
	void *arg;
	struct cf_counters *ctr;    /* may be NULL */
	struct cf_prescan *prescan; /* may be NULL: see cf_prescan_start() */
};

/* A backup's stat walk, begun before the repository is open: while the
 * key is derived, another core stats the tree, and the backup then skips
 * the folders it finds unchanged since the parent snapshot.  Start it with
 * the options of the backup (which must outlive it), pass it in
 * o->prescan, free it after cf_backup(). */
struct cf_prescan;
/** cf_prescan_start(o): NULL when not worth it (one core, --force). */
struct cf_prescan *cf_prescan_start(const struct cf_backup_opts *o);
/** cf_prescan_wait(p): let it finish rather than stop it at the walk. */
void cf_prescan_wait(struct cf_prescan *p);
/** cf_prescan_stop_after(p, n): stop it once ${n} folders are recorded. */
void cf_prescan_stop_after(struct cf_prescan *p, size_t n);
void cf_prescan_free(struct cf_prescan *p);

struct cf_backup_result {
	char name[65];
	char parent[65]; /* "" if none */
	uint64_t files, dirs, bytes, new_bytes, stored_bytes, new_blobs;
	uint64_t unreadable, changed, unchanged;
	uint64_t prescanned_dirs; /* folders listed by the prescan only */
	uint64_t reused_dirs;     /* folders named again, not walked */
};

/** cf_backup(r, o, res, err): one snapshot of o->paths.  Files that cannot
 * be read are reported through o->warn, counted in res->unreadable and
 * left out; the backup goes on. */
int cf_backup(struct cf_repo *r, const struct cf_backup_opts *o,
    struct cf_backup_result *res, struct cf_err *err) CF_WUR;

struct cf_restore_opts {
	const char *snapshot; /* spec */
	const char *subpath;  /* path inside the snapshot, or NULL */
	const char *target;
	const char *const *includes;
	size_t nincludes;
	const char *const *excludes;
	size_t nexcludes;
	int threads;
	int no_owner; /* do not chown even as root */
	cf_warn_fn warn;
	void *arg;
	struct cf_counters *ctr;
};

struct cf_restore_result {
	uint64_t files, dirs, bytes, warnings;
	uint64_t lost; /* entries not restored at all (each also warned) */
};

/** cf_restore(r, o, res, err): recreate a snapshot (or part of it) under
 * o->target.  Never writes outside o->target: every folder is entered with
 * O_NOFOLLOW and names come from validated trees. */
int cf_restore(struct cf_repo *r, const struct cf_restore_opts *o,
    struct cf_restore_result *res, struct cf_err *err) CF_WUR;

struct cf_check_opts {
	int read_data;
	cf_warn_fn warn; /* every problem found, by name */
	void *arg;
	struct cf_counters *ctr;
};

struct cf_check_result {
	uint64_t snapshots, trees, packs, blobs, errors, warnings;
};

/** cf_check(r, o, res, err): verify every structure (and with read_data
 * every byte).  Problems are reported through o->warn and counted in
 * res->errors; -1 only when the check itself could not run. */
int cf_check(struct cf_repo *r, const struct cf_check_opts *o,
    struct cf_check_result *res, struct cf_err *err) CF_WUR;

/* Browsing (browse.c). */

/** One entry met by cf_walk: ${path} is relative to the snapshot root. */
typedef int (*cf_walk_fn)(void *arg, const char *path, const struct cf_node *n);

/** cf_find_node(r, tree, path, zc, node, t, err): resolve ${path} ("" or
 * "/" is the root) in ${tree}; *node points into *t (release it). */
int cf_find_node(struct cf_repo *r, const uint8_t tree[static 32],
    const char *path, struct cf_zc *zc, const struct cf_node **node,
    struct cf_tree *t, struct cf_err *err) CF_WUR;
/** cf_walk(r, tree, prefix, fn, arg, err): pre-order walk of a tree. */
int cf_walk(struct cf_repo *r, const uint8_t tree[static 32],
    const char *prefix, cf_walk_fn fn, void *arg, struct cf_err *err) CF_WUR;
/** cf_dump(r, n, fd, err): write the content of file node ${n} to ${fd}. */
int cf_dump(struct cf_repo *r, const struct cf_node *n, int fd,
    struct cf_err *err) CF_WUR;

/** Diff: ${what} is '+' added, '-' removed, 'M' content changed, 'U'
 * metadata only, 'T' type changed. */
typedef int (*cf_diff_fn)(void *arg, char what, const char *path,
    const struct cf_node *a, const struct cf_node *b);
int cf_diff(struct cf_repo *r, const uint8_t a[static 32],
    const uint8_t b[static 32], cf_diff_fn fn, void *arg,
    struct cf_err *err) CF_WUR;

/** cf_exclude_match(pats, n, path, base): 1 if ${path} is excluded: a
 * pattern with a '/' matches the whole path, one without matches any
 * single component's name (${base}). */
int cf_exclude_match(const char *const *pats, size_t n, const char *path,
    const char *base);

/* Find (find.c). */

#define CF_FIND_MAX_MATCHES 10000000u /* distinct matches */
#define CF_FIND_MAX_PAIRS (1u << 27)  /* (match, snapshot) pairs */

/** One match: an entry that is identical (path, type, size, mtime) in
 * the snapshots listed. */
struct cf_find_match {
	char *path; /* "/home/me/x.txt" */
	uint8_t type;
	uint64_t size;
	int64_t mtime_s;
	uint32_t mtime_ns;
	uint32_t *snaps; /* indices into the snapshots searched, ascending */
	size_t nsnaps;
};

struct cf_find_result {
	struct cf_find_match *v; /* sorted by path, then first snapshot */
	size_t n;
	uint64_t trees_read, trees_reused;
};

/** cf_find(r, snaps, n, pattern, res, err): every entry of snapshots
 * ${snaps} whose name matches fnmatch(3) ${pattern} (or whose whole path
 * does, if it has a '/', as cf_exclude_match).  Each distinct (tree, path)
 * is read once.  Release ${res} with cf_find_release(). */
int cf_find(struct cf_repo *r, struct cf_snapshot *const *snaps, size_t n,
    const char *pattern, struct cf_find_result *res, struct cf_err *err) CF_WUR;
/** cf_find_release(res): free the matches. */
void cf_find_release(struct cf_find_result *res);

#endif
