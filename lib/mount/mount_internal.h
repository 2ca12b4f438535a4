/* mount_internal.h: the pieces of the mount (not exported). */
#ifndef CF_MOUNT_INTERNAL_H
#define CF_MOUNT_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mount/mount.h"

/*
 * cache.c: a bounded LRU cache of values named by 32-byte ids (decoded
 * trees, decrypted chunks), shared by threads.  A value is loaded once even
 * when several threads ask for it at the same time: the others wait for
 * the first.  Entries in use are pinned (cf_mcache_get) until
 * cf_mcache_put; only unpinned entries are evicted, oldest use first, once
 * the values' cost passes the budget.  Optional worker threads load ids
 * queued by cf_mcache_prefetch (read-ahead).
 */
struct cf_mcache_ops {
	/* Load the value of ${id}: *val and its length (its cost). */
	int (*load)(void *ctx, const uint8_t id[static 32], void **val,
	    size_t *len, struct cf_err *err);
	/* Free a value. */
	void (*drop)(void *val, size_t len);
};

struct cf_mentry {
	uint8_t id[32];
	void *val;
	size_t len;
	int state; /* loading, ready, failed */
	unsigned refs;
	struct cf_mentry *hnext, *prev, *next;
};

struct cf_mcache_stats {
	uint64_t hits, misses, waits, prefetched, evicted, bytes;
};

struct cf_mcache;

/** cf_mcache_new(ops, ctx, budget, threads, err): an empty cache whose
 * values cost at most about ${budget} bytes (pinned ones may exceed it),
 * with ${threads} read-ahead threads (0: none). */
struct cf_mcache *cf_mcache_new(const struct cf_mcache_ops *ops, void *ctx,
    uint64_t budget, int threads, struct cf_err *err);
/** cf_mcache_free(c): stop the threads, drop every value; NULL: no-op.
 * No entry may be pinned. */
void cf_mcache_free(struct cf_mcache *c);
/** cf_mcache_get(c, id, err): the entry of ${id}, loaded if needed and
 * pinned; NULL with *err if it cannot be loaded. */
struct cf_mentry *cf_mcache_get(struct cf_mcache *c,
    const uint8_t id[static 32], struct cf_err *err);
/** cf_mcache_put(c, e): unpin; NULL is a no-op. */
void cf_mcache_put(struct cf_mcache *c, struct cf_mentry *e);
/** cf_mcache_prefetch(c, id): queue ${id} for loading by a worker unless
 * it is cached, being loaded, or the queue is full. */
void cf_mcache_prefetch(struct cf_mcache *c, const uint8_t id[static 32]);
/** cf_mcache_stats(c, s): counters so far. */
void cf_mcache_stats(struct cf_mcache *c, struct cf_mcache_stats *s);

/*
 * view.c: the names of the virtual folders and what a path means.  Pure:
 * no I/O.
 */
enum cf_vkind {
	CF_V_ROOT,   /* / */
	CF_V_SNAPS,  /* /snapshots, /tags/T, /hosts/H: lists of snapshots */
	CF_V_GROUPS, /* /tags, /hosts: lists of tags or hosts */
	CF_V_LATEST, /* /latest */
	CF_V_SNAP,   /* a snapshot's root or a path inside it */
};

enum cf_vgroup { CF_G_ALL, CF_G_TAG, CF_G_HOST };

struct cf_vpath {
	enum cf_vkind kind;
	enum cf_vgroup group; /* CF_V_SNAPS, CF_V_GROUPS, CF_V_SNAP */
	size_t gi;            /* the tag or host, for CF_G_TAG/CF_G_HOST */
	size_t snap;          /* CF_V_SNAP */
	const char *rest;     /* CF_V_SNAP: path inside, "" for its root */
};

struct cf_mview {
	struct cf_snapshot **s; /* oldest first, owned */
	size_t n;
	char **names;         /* names[i]: the folder name of s[i] */
	size_t *byname;       /* indices sorted by name */
	char **tags, **hosts; /* sorted, unique, usable as names */
	size_t ntags, nhosts;
	size_t *host_of;  /* host index of s[i], or SIZE_MAX */
	size_t **tags_of; /* tag indices of s[i] */
	size_t *ntags_of;
};

/** cf_mview_init(v, s, n, err): names for snapshots ${s} (oldest first);
 * takes ownership of ${s} and its records, also on failure. */
int cf_mview_init(struct cf_mview *v, struct cf_snapshot **s, size_t n,
    struct cf_err *err) CF_WUR;
/** cf_mview_release(v): free everything; a zeroed view is fine. */
void cf_mview_release(struct cf_mview *v);
/** cf_mview_parse(v, path, out): what absolute ${path} names; 0, or
 * -ENOENT / -ENOTDIR.  out->rest points into ${path}. */
int cf_mview_parse(const struct cf_mview *v, const char *path,
    struct cf_vpath *out);
/** cf_mview_member(v, snap, group, gi): 1 if snapshot ${snap} is listed
 * under tag or host ${gi}. */
int cf_mview_member(const struct cf_mview *v, size_t snap, enum cf_vgroup group,
    size_t gi);
/** cf_mview_time_name(out, n, sec): "YYYY-MM-DDTHH:MM:SS" in local time. */
void cf_mview_time_name(char *out, size_t n, int64_t sec);

/*
 * file.c: an open file: its chunk ids and where each begins, reads at any
 * offset through the chunk cache, read-ahead when reads are sequential.
 */
struct cf_mfile {
	uint8_t *ids;   /* n * 32 */
	uint64_t *offs; /* n + 1: offs[i] is where chunk i begins */
	size_t n;
	pthread_mutex_t mu;
	uint64_t next_off; /* where a sequential read would go on */
	uint64_t run;      /* bytes read in sequence up to next_off */
	size_t ra_next;    /* first chunk not yet queued for read-ahead */
	int warned;
};

/** cf_mfile_open(r, n, err): the chunk map of file node ${n} (one index
 * lookup per chunk).  Free with cf_mfile_free(). */
struct cf_mfile *cf_mfile_open(struct cf_repo *r, const struct cf_node *n,
    struct cf_err *err);
/** cf_mfile_free(f): NULL is a no-op. */
void cf_mfile_free(struct cf_mfile *f);
/** cf_mfile_read(f, c, ra, buf, size, off, err): up to ${size} bytes at
 * ${off} into ${buf}: the count (short only at the end), or -1.  ${ra} is
 * the read-ahead window in chunks. */
long cf_mfile_read(struct cf_mfile *f, struct cf_mcache *c, size_t ra,
    uint8_t *buf, size_t size, uint64_t off, struct cf_err *err);

#endif
