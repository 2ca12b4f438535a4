/*
 * prescan.c: the stat walk of a backup, started before the key is known.
 *
 * Opening a repository derives its key with Argon2id: tens to hundreds of
 * milliseconds on one core, as long as the whole stat walk of an
 * unchanged tree of 80,000 files.  The prescan does that walk on another
 * core meanwhile.  It keeps, per folder: its path, device and inode; a
 * digest of its sorted entries (name, type, mode, owner, size, inode,
 * device, links, mtime, ctime) under a random key of this process, and
 * their atimes, which a read of a file changes and which the digest
 * therefore leaves out (12 bytes per entry); and its state (below).  All
 * of it at most PRESCAN_MAX_BYTES.
 *
 * Once the key is known, the backup stops the prescan.  A folder whose
 * entries digest as they did in the parent snapshot, and which is still
 * the same folder (device, inode), has its entries taken from the parent
 * tree (and their xattrs, symlink targets and chunk lists, under the same
 * rules as a stat that matches) without being listed or stated again; a
 * subtree whose state the local cache maps to the tree the parent
 * snapshot has there is named again whole.  Any folder it did not reach,
 * or whose digest differs, is walked as usual: the prescan only ever saves
 * work.  A prescan older than PRESCAN_TTL_NS when the walk starts (a
 * passphrase typed slowly, a suspend) is dropped, so a snapshot never
 * describes a tree older than that.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "engine/engine_internal.h"

#define PRESCAN_TTL_NS (30 * 1000000000LL)
#define PRESCAN_MAX_BYTES (64u << 20) /* atimes, paths, records */
#define PRESCAN_MAX_DEPTH 64          /* descriptors held at once */

struct cf_prescan_dir {
	char *path;
	uint64_t dev,
	    ino; /* the folder itself: a path may name another later */
	uint8_t dg[CF_PRESCAN_DIGEST];
	uint8_t state[32]; /* cf_dirstate_*(), if has_state */
	int has_state;
	size_t n;
	int64_t *atime_s; /* n of each, one allocation */
	uint32_t *atime_ns;
};

struct cf_prescan {
	const struct cf_backup_opts *o;
	char **paths; /* absolute, normalised */
	size_t npaths;
	uint8_t key[crypto_generichash_KEYBYTES];
	pthread_t th;
	int running;
	atomic_int stop, done;
	atomic_size_t recorded; /* folders, for cf_prescan_stop_after() */
	struct timespec t0;
	struct cf_prescan_dir *dirs;
	size_t ndirs, cap, bytes;
};

#define META_FIELDS 14

static void
put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* What a stat of entry ${n} gives, atime aside (and its name's length),
 * little-endian: what both digests of a folder take for an entry, before
 * its name.  One buffer, not a hash update per field. */
static void
meta_bytes(const struct cf_node *n, uint8_t b[META_FIELDS * 8])
{
	const uint64_t v[META_FIELDS] = {n->namelen, n->type, n->mode, n->uid,
	    n->gid, (uint64_t)n->mtime_s, n->mtime_ns, (uint64_t)n->ctime_s,
	    n->ctime_ns, n->size, n->ino, n->dev, n->nlink, n->rdev};

	for (int i = 0; i < META_FIELDS; i++)
		put_le64(b + 8 * i, v[i]);
}

/** digest_node(h, meta, n): entry ${n}, whose meta_bytes() are ${meta}. */
static void
digest_node(crypto_generichash_state *h, const uint8_t *meta,
    const struct cf_node *n)
{
	crypto_generichash_update(h, meta, META_FIELDS * 8);
	crypto_generichash_update(h, n->name, n->namelen);
}

/* Into a folder's state: the same, and the atime. */
static void
state_node(struct cf_dirstate *ds, const uint8_t *meta, const struct cf_node *n)
{
	uint8_t at[16];

	digest_node(&ds->ents, meta, n);
	put_le64(at, (uint64_t)n->atime_s);
	put_le64(at + 8, n->atime_ns);
	crypto_generichash_update(&ds->ents, at, sizeof(at));
}

/* The state of a folder (index.h, struct cf_subtree): an unkeyed 256-bit
 * BLAKE2b of its entries' metadata, atimes included, and then of its
 * subfolders' states, in name order.  Unkeyed, because the prescan runs
 * before any key is known and its result is kept in the local cache from
 * one backup to the next; 256 bits, so that no two folders' states
 * collide. */
void
cf_dirstate_init(struct cf_dirstate *ds)
{
	crypto_generichash_init(&ds->ents, NULL, 0, 32);
	crypto_generichash_init(&ds->kids, NULL, 0, 32);
	crypto_generichash_update(&ds->ents,
	    (const uint8_t *)"coffer folder state 1", 21);
}

void
cf_dirstate_entry(struct cf_dirstate *ds, const struct cf_node *n)
{
	uint8_t meta[META_FIELDS * 8];

	meta_bytes(n, meta);
	state_node(ds, meta, n);
}

void
cf_dirstate_kid(struct cf_dirstate *ds, const uint8_t state[32])
{
	crypto_generichash_update(&ds->kids, state, 32);
}

void
cf_dirstate_final(struct cf_dirstate *ds, uint8_t out[32])
{
	uint8_t k[32];

	crypto_generichash_final(&ds->kids, k, sizeof(k));
	crypto_generichash_update(&ds->ents, k, sizeof(k));
	crypto_generichash_final(&ds->ents, out, 32);
}

static int
stopped(struct cf_prescan *p)
{
	return atomic_load_explicit(&p->stop, memory_order_relaxed);
}

/* Record folder ${fd} at ${path}; then its subfolders.  Returns 1 with
 * its state in ${state} if the whole subtree was scanned. */
static int
scan_dir(struct cf_prescan *p, int fd, const char *path, int depth,
    uint8_t state[32])
{
	crypto_generichash_state h;
	struct cf_prescan_dir d = {0};
	struct cf_dirstate ds;
	char **names;
	size_t n, slot = SIZE_MAX;
	uint8_t *isdir;
	struct stat self;
	size_t cost;
	int ok = 1, whole;

	if (stopped(p) || fstat(fd, &self) != 0 ||
	    cf_fs_list_dir(p->o, fd, path, &names, &n) != 0)
		return 0;
	cost = n * 12 + strlen(path) + sizeof(d) + 64;
	if (p->bytes + cost > PRESCAN_MAX_BYTES ||
	    (isdir = calloc(n + 1, 1)) == NULL) {
		atomic_store(&p->stop, 1);
		cf_fs_free_names(names, n);
		return 0;
	}
	d.n = n;
	d.dev = self.st_dev;
	d.ino = self.st_ino;
	d.atime_s = malloc((n + 1) * (sizeof(int64_t) + sizeof(uint32_t)));
	ok = d.atime_s != NULL;
	if (ok)
		d.atime_ns = (uint32_t *)(d.atime_s + n + 1);
	crypto_generichash_init(&h, p->key, sizeof(p->key), CF_PRESCAN_DIGEST);
	cf_dirstate_init(&ds);
	for (size_t i = 0; ok && i < n && !stopped(p); i++) {
		uint8_t meta[META_FIELDS * 8];
		struct cf_node nd = {0};
		struct stat st;

		if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    cf_fs_node_stat(&nd, &st) != 0) {
			ok = 0; /* the walk will say what is wrong */
			break;
		}
		nd.name = (const uint8_t *)names[i];
		nd.namelen = strlen(names[i]);
		meta_bytes(&nd, meta);
		digest_node(&h, meta, &nd);
		state_node(&ds, meta, &nd);
		d.atime_s[i] = nd.atime_s;
		d.atime_ns[i] = nd.atime_ns;
		isdir[i] = nd.type == CF_NT_DIR;
	}
	crypto_generichash_final(&h, d.dg, sizeof(d.dg));
	sodium_memzero(&h, sizeof(h)); /* keyed with this process's key */
	if (ok && !stopped(p) && p->ndirs == p->cap) {
		size_t nc = p->cap ? 2 * p->cap : 256;
		void *nv = cf_realloc_array(p->dirs, nc, sizeof(*p->dirs));

		if (nv == NULL)
			ok = 0;
		else {
			p->dirs = nv;
			p->cap = nc;
		}
	}
	if (ok && !stopped(p) && (d.path = strdup(path)) != NULL) {
		slot = p->ndirs;
		p->dirs[p->ndirs++] = d;
		p->bytes += cost;
		atomic_fetch_add(&p->recorded, 1);
	} else {
		free(d.atime_s);
	}
	whole = slot != SIZE_MAX;
	for (size_t i = 0; i < n && !stopped(p); i++) {
		uint8_t kid[32];
		char *sub;
		int cfd;

		if (!isdir[i])
			continue;
		if (depth >= PRESCAN_MAX_DEPTH) {
			whole = 0;
			continue;
		}
		cfd = cf_fs_open_dir(fd, names[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sub = cf_path_join(path, names[i], strlen(names[i]));
		if (cfd >= 0 && sub != NULL &&
		    scan_dir(p, cfd, sub, depth + 1, kid))
			cf_dirstate_kid(&ds, kid);
		else
			whole = 0;
		if (cfd >= 0)
			close(cfd);
		free(sub);
	}
	whole = whole && !stopped(p);
	cf_dirstate_final(&ds, state);
	if (whole) {
		memcpy(p->dirs[slot].state, state, 32);
		p->dirs[slot].has_state = 1;
	}
	free(isdir);
	cf_fs_free_names(names, n);
	return whole;
}

/* 1 if path ${i} is another path given, or lies inside one. */
static int
inside_another(const struct cf_prescan *p, size_t i)
{
	const char *a = p->paths[i];

	for (size_t j = 0; j < p->npaths; j++) {
		const char *b = p->paths[j];
		size_t bl = strlen(b);

		if (j == i || strncmp(a, b, bl) != 0)
			continue;
		if ((a[bl] == '\0' && j < i) || a[bl] == '/' ||
		    (bl == 1 && a[1] != '\0'))
			return 1;
	}
	return 0;
}

static void *
prescan_main(void *arg)
{
	struct cf_prescan *p = arg;

	for (size_t i = 0; i < p->npaths && !stopped(p); i++) {
		int fd;

		if (inside_another(p, i))
			continue; /* scanned with the path that holds it */
		fd = cf_fs_open_dir(AT_FDCWD, p->paths[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd >= 0) {
			uint8_t state[32];

			(void)scan_dir(p, fd, p->paths[i], 0, state);
			close(fd);
		}
	}
	atomic_store(&p->done, 1);
	return NULL;
}

static void
free_dirs(struct cf_prescan *p)
{
	for (size_t i = 0; i < p->ndirs; i++) {
		free(p->dirs[i].path);
		free(p->dirs[i].atime_s);
	}
	free(p->dirs);
	p->dirs = NULL;
	p->ndirs = p->cap = p->bytes = 0;
}

/** cf_prescan_start(o): start the stat walk of o->paths on a thread of its
 * own; NULL when there is no second core to run it on (or no memory).
 * ${o} must outlive the prescan. */
struct cf_prescan *
cf_prescan_start(const struct cf_backup_opts *o)
{
	struct cf_prescan *p;

	if (o->force || o->npaths == 0 || cf_fs_ncpu() < 2 ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->o = o;
	clock_gettime(CLOCK_BOOTTIME, &p->t0);
	randombytes_buf(p->key, sizeof(p->key));
	if ((p->paths = calloc(o->npaths, sizeof(char *))) == NULL)
		goto fail;
	for (; p->npaths < o->npaths; p->npaths++)
		if ((p->paths[p->npaths] =
		            cf_fs_abs_path(o->paths[p->npaths])) == NULL)
			goto fail;
	if (pthread_create(&p->th, NULL, prescan_main, p) != 0)
		goto fail;
	p->running = 1;
	return p;
fail:
	cf_prescan_free(p);
	return NULL;
}

static int
dir_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cf_prescan_dir *)a)->path,
	    ((const struct cf_prescan_dir *)b)->path);
}

static void
join(struct cf_prescan *p)
{
	struct timespec t;

	if (!p->running)
		return;
	pthread_join(p->th, NULL);
	p->running = 0;
	clock_gettime(CLOCK_BOOTTIME, &t); /* a suspend counts */
	if ((t.tv_sec - p->t0.tv_sec) * 1000000000LL +
	        (t.tv_nsec - p->t0.tv_nsec) >
	    PRESCAN_TTL_NS)
		free_dirs(p); /* too old to describe the tree now */
	else if (p->ndirs > 1)
		qsort(p->dirs, p->ndirs, sizeof(*p->dirs), dir_cmp);
}

/** cf_prescan_wait(p): let the prescan finish (tests; a caller with time
 * to spare). */
void
cf_prescan_wait(struct cf_prescan *p)
{
	if (p != NULL)
		join(p);
}

/** cf_prescan_stop(p): stop the prescan where it is; its folders may then
 * be looked up. */
void
cf_prescan_stop(struct cf_prescan *p)
{
	if (p == NULL)
		return;
	atomic_store(&p->stop, 1);
	join(p);
}

/** cf_prescan_stop_after(p, n): stop it once ${n} folders are recorded
 * (tests: a prescan the walk overtakes, made deterministic). */
void
cf_prescan_stop_after(struct cf_prescan *p, size_t n)
{
	struct timespec ms = {0, 1000000};

	if (p == NULL)
		return;
	while (p->running && !atomic_load(&p->done) &&
	       atomic_load(&p->recorded) < n)
		nanosleep(&ms, NULL);
	cf_prescan_stop(p);
}

/** cf_prescan_find(p, path, dev, ino): the folder recorded at ${path}, if
 * it was the folder ${dev}, ${ino} (else it was replaced since), or NULL. */
const struct cf_prescan_dir *
cf_prescan_find(const struct cf_prescan *p, const char *path, uint64_t dev,
    uint64_t ino)
{
	struct cf_prescan_dir key = {.path = (char *)path};
	const struct cf_prescan_dir *d;

	if (p == NULL || p->running || p->ndirs == 0)
		return NULL;
	d = bsearch(&key, p->dirs, p->ndirs, sizeof(*p->dirs), dir_cmp);
	return d != NULL && d->dev == dev && d->ino == ino ? d : NULL;
}

/** cf_prescan_for(p, o): 1 if ${p} was started with the options ${o}
 * (the same excludes): else the backup must not use it. */
int
cf_prescan_for(const struct cf_prescan *p, const struct cf_backup_opts *o)
{
	return p != NULL && p->o == o;
}

/** cf_prescan_match(p, d, nodes, n, at_s, at_ns): 1 if the entries of the
 * tree ${nodes} are those recorded for ${d}; then *at_s and *at_ns are
 * the atimes found, in the same order. */
int
cf_prescan_match(const struct cf_prescan *p, const struct cf_prescan_dir *d,
    const struct cf_node *nodes, size_t n, const int64_t **at_s,
    const uint32_t **at_ns)
{
	crypto_generichash_state h;
	uint8_t dg[CF_PRESCAN_DIGEST];

	if (d->n != n)
		return 0;
	crypto_generichash_init(&h, p->key, sizeof(p->key), sizeof(dg));
	for (size_t i = 0; i < n; i++) {
		uint8_t meta[META_FIELDS * 8];

		meta_bytes(&nodes[i], meta);
		digest_node(&h, meta, &nodes[i]);
	}
	crypto_generichash_final(&h, dg, sizeof(dg));
	sodium_memzero(&h, sizeof(h));
	if (sodium_memcmp(dg, d->dg, sizeof(dg)) != 0)
		return 0;
	*at_s = d->atime_s;
	*at_ns = d->atime_ns;
	return 1;
}

/** cf_prescan_state(p, path, dev, ino, state): 1 if the subtree at ${path}
 * (folder ${dev}, ${ino}) was scanned whole, with its state. */
int
cf_prescan_state(const struct cf_prescan *p, const char *path, uint64_t dev,
    uint64_t ino, uint8_t state[32])
{
	const struct cf_prescan_dir *d = cf_prescan_find(p, path, dev, ino);

	if (d == NULL || !d->has_state)
		return 0;
	memcpy(state, d->state, 32);
	return 1;
}

/** cf_prescan_free(p): stop it and free everything. */
void
cf_prescan_free(struct cf_prescan *p)
{
	if (p == NULL)
		return;
	cf_prescan_stop(p);
	free_dirs(p);
	for (size_t i = 0; i < p->npaths; i++)
		free(p->paths[i]);
	free(p->paths);
	sodium_memzero(p->key, sizeof(p->key));
	free(p);
}
