#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "repo/repo.h"

/* Pack keys, in sets of KC_WAYS slots chosen by the pack's name, least
 * recently used out.  A restore reads a few packs at a time, interleaved
 * across threads; with one slot per set, two of them sharing it evicted
 * each other at every blob, and each miss costs a remote store two
 * requests (the pack's size, then its footer): 3,900 of each in a
 * restore of 100 packs through cofferd. */
#define KC_WAYS 4
#define KC_SETS 64
#define KC_SLOTS (KC_WAYS * KC_SETS)
#define MIN_PREFIX 4

struct kc_slot {
	int valid, vouched;
	uint64_t used;
	uint8_t pack[32];
	uint8_t key[CF_KEY_BYTES];
};

struct cf_keycache {
	pthread_mutex_t mu;
	struct kc_slot *slots; /* sodium_malloc()ed */
	uint64_t tick;
};

/* Read-ahead for remote stores.  A pack is read in aligned cells of
 * RC_CELL bytes, each fetched once and kept while it is among the RC_CELLS
 * most recently used: blobs are read roughly in the order they were
 * written, but a file's chunks scatter over several packs and two backup
 * threads interleave files, so a pack's cells are needed out of order and
 * some more than once.  Aligned cells never overlap, so no byte is fetched
 * twice while its cell is kept; a cell being fetched is waited for, not
 * fetched again by another thread.  Blobs of RC_DIRECT bytes or more (the
 * chunker's smallest cut is 512 KiB) are read on their own. */
#define RC_CELL (1u << 20)
#define RC_CELLS 64
#define RC_DIRECT (256u << 10)
/* Pack sizes, in sets of RC_SIZE_WAYS chosen by the pack's name, least
 * recently used out (one per set thrashed like the key cache did: 700
 * extra HEADs in a restore of 100 packs). */
#define RC_SIZE_WAYS 4
#define RC_SIZES (64 * RC_SIZE_WAYS)

/* A cell whose load failed stays FAILED, with the error, until every
 * thread that waited for that load has taken the error: each would
 * otherwise retry the fetch in turn (a whole round of the store's retries
 * per waiting thread while the server is down). */
enum { RC_EMPTY, RC_LOADING, RC_READY, RC_FAILED };

struct rc_cell {
	uint8_t pack[32];
	uint64_t idx; /* bytes [idx * RC_CELL, idx * RC_CELL + len) */
	uint8_t *p;   /* RC_CELL bytes, allocated on first use */
	size_t len;
	int state;
	int pins;    /* readers copying out of it: not evicted meanwhile */
	int waiters; /* threads waiting for its load */
	uint64_t used;
	struct cf_err ferr; /* why the load failed (RC_FAILED) */
};

struct rc_size {
	uint8_t pack[32];
	uint64_t size, used;
	int valid;
};

struct cf_rangecache {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a cell finished loading or was unpinned */
	struct rc_cell c[RC_CELLS];
	struct rc_size sz[RC_SIZES];
	uint64_t tick;
};

static const uint8_t config_magic[8] = {'C', 'F', 'R', 'E', 'P', 'O', 0, 1};

/** cf_config_parse(p, n, id, err): check a config object. */
int
cf_config_parse(const uint8_t *p, size_t n, uint8_t id[static CF_REPO_ID_BYTES],
    struct cf_err *err)
{
	uint32_t v;

	if (n != CF_CONFIG_BYTES || memcmp(p, config_magic, 8) != 0)
		return cf_err_set(err, CF_EFORMAT, "not a coffer repository");
	v = cf_le32_get(p + 8);
	if (v != CF_REPO_VERSION)
		return cf_err_set(err, CF_EFORMAT,
		    "repository version %u is not supported (this is %d)", v,
		    CF_REPO_VERSION);
	memcpy(id, p + 12, CF_REPO_ID_BYTES);
	return 0;
}

static int
put_hashed(struct cf_store *s, enum cf_kind kind, const uint8_t *p, size_t n,
    char name[static 65], struct cf_err *err)
{
	uint8_t h[32];

	cf_crypto_hash(p, n, h);
	cf_hex(name, h, 32);
	return cf_store_put(s, kind, name, p, n, 0, err);
}

/** cf_repo_put_object(r, kind, p, n, name, err): content-addressed put. */
int
cf_repo_put_object(struct cf_repo *r, enum cf_kind kind, const uint8_t *p,
    size_t n, char name[static 65], struct cf_err *err)
{
	return put_hashed(r->store, kind, p, n, name, err);
}

/** cf_repo_init(where, pass, passlen, kdf, host, err): new repository. */
int
cf_repo_init(const char *where, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, struct cf_err *err)
{
	struct cf_store *s;

	if (kdf->mem < CF_KDF_MIN_MEM || kdf->mem > CF_KDF_MAX_MEM ||
	    kdf->ops < 1 || kdf->ops > CF_KDF_MAX_OPS)
		return cf_err_set(err, CF_EUSAGE,
		    "Argon2id costs out of range");
	if ((s = cf_store_open(where, 1, err)) == NULL)
		return -1;
	return cf_repo_init_store(s, pass, passlen, kdf, host, err);
}

/** cf_repo_init_store(s, pass, passlen, kdf, host, err): new repository
 * in an open store; the config goes last, so a failed init leaves no
 * repository behind. */
int
cf_repo_init_store(struct cf_store *s, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, struct cf_err *err)
{
	uint8_t zone[CF_KEY_BYTES], cfg[CF_CONFIG_BYTES];
	struct cf_buf slot;
	char name[65];
	int rc = -1;

	cf_buf_init(&slot, 4096);
	cf_crypto_random(zone, sizeof(zone));
	memcpy(cfg, config_magic, 8);
	cf_le32_put(cfg + 8, CF_REPO_VERSION);
	cf_crypto_random(cfg + 12, CF_REPO_ID_BYTES);
	if (cf_keyslot_seal(zone, cfg + 12, pass, passlen, kdf, host, &slot,
	        err))
		goto out;
	if (put_hashed(s, CF_KIND_KEY, slot.p, slot.len, name, err) == 0 &&
	    cf_store_put(s, CF_KIND_CONFIG, "config", cfg, sizeof(cfg),
	        CF_PUT_EXCL, err) == 0)
		rc = 0;
	else if (err->code == CF_EEXIST)
		cf_err_set(err, CF_EEXIST, "a repository exists already at %s",
		    s->where);
out:
	cf_store_free(s);
	sodium_memzero(zone, sizeof(zone));
	cf_buf_release(&slot);
	return rc;
}

struct slotlist {
	char (*names)[65];
	size_t n, cap;
};

static int
collect_name(void *arg, const char *name, uint64_t size)
{
	struct slotlist *l = arg;

	(void)size;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		void *np = cf_realloc_array(l->names, nc, 65);

		if (np == NULL)
			return -1;
		l->names = np;
		l->cap = nc;
	}
	memcpy(l->names[l->n++], name, 65);
	return 0;
}

static int
list_names(struct cf_store *s, enum cf_kind kind, struct slotlist *l,
    struct cf_err *err)
{
	int rc;

	memset(l, 0, sizeof(*l));
	rc = cf_store_list(s, kind, collect_name, l, err);
	if (rc > 0 || (rc < 0 && err->code == CF_OK))
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

static int
try_slot(struct cf_repo *r, const char *name, const char *pass, size_t passlen,
    uint8_t zone[static CF_KEY_BYTES], struct cf_err *err)
{
	struct cf_slotinfo info;
	struct cf_buf b;
	int rc;

	cf_buf_init(&b, 4096);
	rc = cf_store_get(r->store, CF_KIND_KEY, name, 0, CF_GET_ALL, &b, err);
	if (rc == 0)
		rc = cf_keyslot_open(b.p, b.len, r->id, pass, passlen, zone,
		    &info, err);
	cf_buf_release(&b);
	return rc;
}

static int
unlock(struct cf_repo *r, const char *pass, size_t passlen, struct cf_err *err)
{
	uint8_t zone[CF_KEY_BYTES];
	struct slotlist l;
	struct cf_err e2;
	int rc = -1;

	if (list_names(r->store, CF_KIND_KEY, &l, err))
		return -1;
	cf_err_set(err, CF_EPASS, "repository %s has no key slot",
	    r->store->where);
	for (size_t i = 0; i < l.n && rc != 0; i++) {
		cf_err_clear(&e2);
		rc = try_slot(r, l.names[i], pass, passlen, zone, &e2);
		/* Report a wrong password rather than a damaged extra slot. */
		if (rc != 0 && (err->code != CF_EPASS || e2.code == CF_EPASS))
			*err = e2;
		if (rc == 0)
			memcpy(r->slot, l.names[i], 65);
	}
	free(l.names);
	if (rc != 0)
		return -1;
	r->keys = cf_keys_new(zone, err);
	sodium_memzero(zone, sizeof(zone));
	return r->keys == NULL ? -1 : 0;
}

static int
mkdir_p(const char *path, struct cf_err *err)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return cf_err_set(err, CF_ELIMIT, "cache path too long");
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return cf_err_sys(err, "cannot create %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return cf_err_sys(err, "cannot create %s", tmp);
	return 0;
}

static int
open_cache(struct cf_repo *r, const char *root, struct cf_err *err)
{
	char hex[2 * CF_REPO_ID_BYTES + 1], path[4096];

	cf_hex(hex, r->id, CF_REPO_ID_BYTES);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, hex) >=
	    sizeof(path) - 16)
		return cf_err_set(err, CF_ELIMIT, "cache path too long");
	if (mkdir_p(path, err))
		return -1;
	if ((r->cache_dir = strdup(path)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	strcat(path, "/index-v2.db");
	r->index = cf_index_open(path, err);
	return r->index == NULL ? -1 : 0;
}

static struct cf_keycache *
kc_new(void)
{
	struct cf_keycache *kc;

	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		return NULL;
	kc->slots = sodium_malloc(KC_SLOTS * sizeof(struct kc_slot));
	if (kc->slots == NULL) {
		free(kc);
		return NULL;
	}
	memset(kc->slots, 0, KC_SLOTS * sizeof(struct kc_slot));
	pthread_mutex_init(&kc->mu, NULL);
	return kc;
}

static void
kc_free(struct cf_keycache *kc)
{
	if (kc == NULL)
		return;
	sodium_free(kc->slots);
	pthread_mutex_destroy(&kc->mu);
	free(kc);
}

static struct cf_rangecache *
rc_new(void)
{
	struct cf_rangecache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	return c;
}

static void
rc_free(struct cf_rangecache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < RC_CELLS; i++)
		free(c->c[i].p);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The cell holding ${idx} of ${pack}, or NULL and in *victim the least
 * recently used cell that may be reused (NULL if every one is busy).  An
 * empty cell has used == 0.  Under c->mu. */
static struct rc_cell *
rc_find(struct cf_rangecache *c, const uint8_t *pack, uint64_t idx,
    struct rc_cell **victim)
{
	*victim = NULL;
	for (int i = 0; i < RC_CELLS; i++) {
		struct rc_cell *cell = &c->c[i];

		if (cell->state != RC_EMPTY && cell->idx == idx &&
		    memcmp(cell->pack, pack, 32) == 0)
			return cell;
		/* not while threads that waited for its load are yet to
		 * look at it: they must find what they waited for */
		if ((cell->state == RC_EMPTY || cell->state == RC_READY) &&
		    cell->pins == 0 && cell->waiters == 0 &&
		    (*victim == NULL || cell->used < (*victim)->used))
			*victim = cell;
	}
	return NULL;
}

/* Cell ${idx} of ${pack} (${size} bytes, stored as ${name}), loaded and
 * pinned: the caller copies out of it, then calls rc_unpin(). */
static struct rc_cell *
rc_get(struct cf_repo *r, const uint8_t *pack, const char *name, uint64_t size,
    uint64_t idx, struct cf_err *err)
{
	struct cf_rangecache *c = r->rc;
	struct rc_cell *cell, *victim;
	uint64_t off = idx * RC_CELL;
	int rc = -1;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		cell = rc_find(c, pack, idx, &victim);
		if (cell != NULL && cell->state == RC_READY) {
			cell->pins++;
			cell->used = ++c->tick;
			pthread_mutex_unlock(&c->mu);
			return cell;
		}
		if (cell == NULL && victim != NULL)
			break;
		/* Being loaded by another thread: wait for that load, and take
		 * its error if it fails.  Otherwise (every cell busy, or a
		 * failed load whose waiters are still leaving) wait. */
		if (cell != NULL && cell->state == RC_LOADING) {
			cell->waiters++;
			while (cell->state == RC_LOADING)
				pthread_cond_wait(&c->cv, &c->mu);
			cell->waiters--;
			if (cell->state == RC_FAILED) {
				*err = cell->ferr;
				if (cell->waiters == 0) {
					cell->state = RC_EMPTY;
					cell->used = 0;
					pthread_cond_broadcast(&c->cv);
				}
				pthread_mutex_unlock(&c->mu);
				return NULL;
			}
			continue;
		}
		pthread_cond_wait(&c->cv, &c->mu);
	}
	cell = victim;
	cell->state = RC_LOADING;
	memcpy(cell->pack, pack, 32);
	cell->idx = idx;
	cell->len = 0;
	cell->pins = 1;
	cell->used = ++c->tick;
	pthread_mutex_unlock(&c->mu);

	if (cell->p == NULL && (cell->p = malloc(RC_CELL)) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
	} else {
		uint64_t want = size - off < RC_CELL ? size - off : RC_CELL;
		struct cf_buf b = {
		    .p = cell->p, .cap = RC_CELL, .max = RC_CELL};

		rc = cf_store_get(r->store, CF_KIND_PACK, name, off, want, &b,
		    err);
		if (rc == 0 && (b.p != cell->p || b.len != want))
			rc = cf_err_set(err, CF_EFORMAT,
			    "pack %.16s: short read", name);
		cell->len = (size_t)want;
	}
	pthread_mutex_lock(&c->mu);
	if (rc != 0) {
		cell->len = 0;
		cell->pins = 0;
		cell->used = 0;
		cell->ferr = *err;
		cell->state = cell->waiters > 0 ? RC_FAILED : RC_EMPTY;
	} else {
		cell->state = RC_READY;
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return rc == 0 ? cell : NULL;
}

static void
rc_unpin(struct cf_rangecache *c, struct rc_cell *cell)
{
	pthread_mutex_lock(&c->mu);
	if (--cell->pins == 0)
		pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int
rc_pack_size(struct cf_repo *r, const uint8_t *pack, const char *name,
    uint64_t *size, struct cf_err *err)
{
	struct cf_rangecache *c = r->rc;
	struct rc_size *set =
	    &c->sz[(pack[0] % (RC_SIZES / RC_SIZE_WAYS)) * RC_SIZE_WAYS];
	struct rc_size *s;

	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < RC_SIZE_WAYS; i++) {
		if (set[i].valid && memcmp(set[i].pack, pack, 32) == 0) {
			*size = set[i].size;
			set[i].used = ++c->tick;
			pthread_mutex_unlock(&c->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (cf_store_size(r->store, CF_KIND_PACK, name, size, err))
		return -1;
	pthread_mutex_lock(&c->mu);
	s = &set[0];
	for (int i = 0; i < RC_SIZE_WAYS; i++) {
		if (set[i].valid && memcmp(set[i].pack, pack, 32) == 0) {
			s = &set[i];
			break;
		}
		if (!set[i].valid || (s->valid && set[i].used < s->used))
			s = &set[i];
	}
	memcpy(s->pack, pack, 32);
	s->size = *size;
	s->used = ++c->tick;
	s->valid = 1;
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* The stored bytes of a data blob from a remote store: a chunk of a large
 * file is worth its own request, read straight where it is decrypted (no
 * copy through a cell, no bytes of other files fetched with it); a small
 * one comes through the cells that hold it. */
static int
read_ahead(struct cf_repo *r, const struct cf_loc *loc, const char *name,
    struct cf_buf *ct, struct cf_err *err)
{
	uint64_t size, pos, end;

	if (loc->e.off > UINT64_MAX - loc->e.len)
		return cf_err_set(err, CF_EFORMAT,
		    "pack %.16s: blob out of bounds", name);
	if (loc->e.len >= RC_DIRECT)
		return cf_store_get(r->store, CF_KIND_PACK, name, loc->e.off,
		    loc->e.len, ct, err);
	if (rc_pack_size(r, loc->pack, name, &size, err))
		return -1;
	if (loc->e.off > size || loc->e.len > size - loc->e.off)
		return cf_err_set(err, CF_EFORMAT,
		    "pack %.16s: blob out of "
		    "bounds",
		    name);
	end = loc->e.off + loc->e.len;
	for (pos = loc->e.off; pos < end;) {
		uint64_t idx = pos / RC_CELL, at = pos - idx * RC_CELL;
		uint64_t n =
		    end - pos < RC_CELL - at ? end - pos : RC_CELL - at;
		struct rc_cell *cell =
		    rc_get(r, loc->pack, name, size, idx, err);

		if (cell == NULL)
			return -1;
		/* a cell loaded when the server said the pack was shorter */
		if (at + n > cell->len) {
			rc_unpin(r->rc, cell);
			return cf_err_set(err, CF_EFORMAT,
			    "pack %.16s: blob out of bounds", name);
		}
		cf_buf_add(ct, cell->p + at, (size_t)n);
		rc_unpin(r->rc, cell);
		pos += n;
	}
	return cf_buf_check(ct, err, "blob");
}

static int
load_config(struct cf_repo *r, struct cf_err *err)
{
	struct cf_buf b;
	int rc;

	cf_buf_init(&b, 4096);
	rc = cf_store_get(r->store, CF_KIND_CONFIG, "config", 0, CF_GET_ALL, &b,
	    err);
	if (rc != 0 && err->code == CF_ENOTFOUND)
		cf_err_set(err, CF_ENOTFOUND, "%s is not a coffer repository",
		    r->store->where);
	if (rc == 0)
		rc = cf_config_parse(b.p, b.len, r->id, err);
	cf_buf_release(&b);
	return rc;
}

/** cf_repo_open(where, pass, passlen, cache_root, err): unlock. */
struct cf_repo *
cf_repo_open(const char *where, const char *pass, size_t passlen,
    const char *cache_root, struct cf_err *err)
{
	struct cf_store *s = cf_store_open(where, 0, err);

	if (s == NULL)
		return NULL;
	return cf_repo_open_store(s, pass, passlen, cache_root, err);
}

/* A repository object around store ${s}, not yet unlocked; on failure
 * ${s} is closed. */
static struct cf_repo *
repo_new(struct cf_store *s, struct cf_err *err)
{
	struct cf_repo *r;

	if ((r = calloc(1, sizeof(*r))) == NULL || (r->kc = kc_new()) == NULL ||
	    (r->rc = rc_new()) == NULL ||
	    (r->covers = cf_covers_new()) == NULL) {
		if (r != NULL) {
			kc_free(r->kc);
			rc_free(r->rc);
		}
		free(r);
		cf_store_free(s);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	r->zstd_level = 3;
	r->store = s;
	return r;
}

/** cf_repo_open_store(s, pass, passlen, cache_root, err): unlock. */
struct cf_repo *
cf_repo_open_store(struct cf_store *s, const char *pass, size_t passlen,
    const char *cache_root, struct cf_err *err)
{
	struct cf_repo *r = repo_new(s, err);

	if (r == NULL)
		return NULL;
	if (load_config(r, err) || unlock(r, pass, passlen, err) ||
	    open_cache(r, cache_root, err) || cf_repo_sync_index(r, err)) {
		cf_repo_close(r);
		return NULL;
	}
	cf_chunker_init(&r->chunker, r->keys->gear);
	return r;
}

/** cf_repo_close(r): close and wipe. */
void
cf_repo_close(struct cf_repo *r)
{
	if (r == NULL)
		return;
	cf_index_close(r->index);
	cf_keys_free(r->keys);
	cf_store_free(r->store);
	kc_free(r->kc);
	rc_free(r->rc);
	cf_covers_free(r->covers);
	free(r->cache_dir);
	sodium_memzero(&r->chunker, sizeof(r->chunker));
	free(r);
}

static int
name_present(void *arg, const char *name)
{
	const struct slotlist *l = arg;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 1;
	return 0;
}

/** cf_repo_get_named(s, kind, name, b, err): an object checked against
 * its name. */
int
cf_repo_get_named(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_buf *b, struct cf_err *err)
{
	uint8_t h[32];
	char hex[65];

	if (cf_store_get(s, kind, name, 0, CF_GET_ALL, b, err))
		return -1;
	cf_crypto_hash(b->p, b->len, h);
	cf_hex(hex, h, 32);
	if (strcmp(hex, name) != 0)
		return cf_err_set(err, CF_EAUTH,
		    "content does not match its name");
	return 0;
}

static int
import_index(struct cf_repo *r, const char *name, struct cf_err *err)
{
	struct cf_loc *locs = NULL;
	uint8_t *plain = NULL;
	size_t n, nlocs;
	struct cf_buf b;
	int rc;

	cf_buf_init(&b, 1u << 30);
	rc = cf_repo_get_named(r->store, CF_KIND_INDEX, name, &b, err);
	if (rc == 0)
		rc = cf_keys_sym_open(r->keys, CF_OBJ_INDEX, b.p, b.len, &plain,
		    &n, err);
	if (rc == 0)
		rc = cf_indexfile_decode(plain, n, &locs, &nlocs, err);
	if (rc == 0)
		rc = cf_index_add(r->index, name, locs, nlocs, err);
	if (rc != 0 && err->code != CF_ENOMEM && err->code != CF_EDB) {
		char m[sizeof(err->msg)];

		memcpy(m, err->msg, sizeof(m));
		cf_err_set(err, err->code, "index file %.16s: %s", name, m);
	}
	free(locs);
	free(plain);
	cf_buf_release(&b);
	return rc;
}

static int sync_index_once(struct cf_repo *r, struct cf_err *err);

/** cf_repo_sync_index(r, err): import new index files; rebuild the cache
 * when one it knew has gone (prune). */
int
cf_repo_sync_index(struct cf_repo *r, struct cf_err *err)
{
	/* An index file listed, then gone before it was read: a prune
	 * rewrote the index (its replacement is written before the old file
	 * is deleted), so a new listing has it. */
	for (int attempt = 0;; attempt++) {
		int rc = sync_index_once(r, err);

		if (rc == 0 || err->code != CF_ENOTFOUND || attempt == 8)
			return rc;
		cf_err_clear(err);
	}
}

static int
sync_index_once(struct cf_repo *r, struct cf_err *err)
{
	struct slotlist l;
	int dropped, rc = 0;

	if (list_names(r->store, CF_KIND_INDEX, &l, err))
		return -1;
	if (cf_index_sync_files(r->index, name_present, &l, &dropped, err)) {
		free(l.names);
		return -1;
	}
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		rc = cf_index_has_file(r->index, l.names[i], err);
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = import_index(r, l.names[i], err);
	}
	free(l.names);
	return rc;
}

/** cf_repo_read_pack_header(r, name, size, ents, n, err): verify the tail
 * of a pack and decode its header. */
int
cf_repo_read_pack_header(struct cf_repo *r, const char *name, uint64_t size,
    struct cf_blobent **ents, size_t *n, struct cf_err *err)
{
	uint8_t key[CF_KEY_BYTES];
	uint64_t hoff;
	uint32_t hlen;
	struct cf_buf b;
	int rc = -1;

	if (size < CF_PACK_FOOTER_BYTES || size > CF_PACK_MAX_BYTES)
		return cf_err_set(err, CF_EFORMAT, "pack %.16s has a bad size",
		    name);
	cf_buf_init(&b, CF_PACK_MAX_BYTES);
	if (cf_store_get(r->store, CF_KIND_PACK, name,
	        size - CF_PACK_FOOTER_BYTES, CF_PACK_FOOTER_BYTES, &b, err))
		goto out;
	if (cf_pack_footer_open(r->keys, b.p, size, key, &hoff, &hlen, err))
		goto out;
	if (cf_store_get(r->store, CF_KIND_PACK, name, hoff, hlen, &b, err))
		goto out;
	rc = cf_pack_header_open(key, b.p, b.p + CF_PACK_FOOTER_BYTES, hlen,
	    hoff, ents, n, err);
out:
	sodium_memzero(key, sizeof(key));
	cf_buf_release(&b);
	return rc;
}

/** cf_repo_pack_key(r, pack, key, vouched, err): the key of a pack, from
 * its footer, cached. */
int
cf_repo_pack_key(struct cf_repo *r, const uint8_t pack[static 32],
    uint8_t key[static CF_KEY_BYTES], int *vouched, struct cf_err *err)
{
	struct kc_slot *set = &r->kc->slots[(pack[0] % KC_SETS) * KC_WAYS], *s;
	uint64_t size, hoff;
	uint32_t hlen;
	struct cf_buf b;
	char name[65];
	int rc, v = 0;

	pthread_mutex_lock(&r->kc->mu);
	for (int i = 0; i < KC_WAYS; i++) {
		s = &set[i];
		if (s->valid && memcmp(s->pack, pack, 32) == 0) {
			memcpy(key, s->key, CF_KEY_BYTES);
			if (vouched != NULL)
				*vouched = s->vouched;
			s->used = ++r->kc->tick;
			pthread_mutex_unlock(&r->kc->mu);
			return 0;
		}
	}
	pthread_mutex_unlock(&r->kc->mu);
	cf_hex(name, pack, 32);
	cf_buf_init(&b, CF_PACK_FOOTER_BYTES);
	rc = cf_store_size(r->store, CF_KIND_PACK, name, &size, err);
	if (rc == 0 && size < CF_PACK_FOOTER_BYTES)
		rc = cf_err_set(err, CF_EFORMAT, "pack %.16s truncated", name);
	if (rc == 0)
		rc = cf_store_get(r->store, CF_KIND_PACK, name,
		    size - CF_PACK_FOOTER_BYTES, CF_PACK_FOOTER_BYTES, &b, err);
	if (rc == 0)
		rc = cf_pack_footer_open_vouched(r->keys, b.p, size, key, &hoff,
		    &hlen, &v, err);
	cf_buf_release(&b);
	if (rc != 0)
		return -1;
	if (vouched != NULL)
		*vouched = v;
	/* Into the slot of this pack if another thread filled one
	 * meanwhile, else an empty or the least recently used one. */
	pthread_mutex_lock(&r->kc->mu);
	s = &set[0];
	for (int i = 0; i < KC_WAYS; i++) {
		if (set[i].valid && memcmp(set[i].pack, pack, 32) == 0) {
			s = &set[i];
			break;
		}
		if (!set[i].valid || (s->valid && set[i].used < s->used))
			s = &set[i];
	}
	s->valid = 1;
	s->vouched = v;
	s->used = ++r->kc->tick;
	memcpy(s->pack, pack, 32);
	memcpy(s->key, key, CF_KEY_BYTES);
	pthread_mutex_unlock(&r->kc->mu);
	return 0;
}

static int
blob_error(const struct cf_loc *loc, struct cf_err *err)
{
	char id[17], pack[17], m[sizeof(err->msg)];

	cf_hex(id, loc->e.id, 8);
	cf_hex(pack, loc->pack, 8);
	memcpy(m, err->msg, sizeof(m));
	return cf_err_set(err, err->code, "blob %s in pack %s: %s", id, pack,
	    m);
}

/** cf_repo_open_blob(r, loc, ct, zc, verify, out, err): decrypt and
 * verify. */
int
cf_repo_open_blob(struct cf_repo *r, const struct cf_loc *loc,
    const uint8_t *ct, struct cf_zc *zc, int verify, struct cf_buf *out,
    struct cf_err *err)
{
	uint8_t key[CF_KEY_BYTES], id[32], *plain;
	size_t plen = loc->e.len - CF_TAG_BYTES;
	int rc, vouched = 0;

	if (loc->e.len < CF_TAG_BYTES ||
	    (!(loc->e.flags & CF_BLOB_ZSTD) && plen != loc->e.rawlen))
		return cf_err_set(err, CF_EFORMAT, "blob entry inconsistent");
	if (cf_repo_pack_key(r, loc->pack, key, &vouched, err))
		return blob_error(loc, err);
	/* ${ct} may lie in ${out} already, where the plaintext goes (see
	 * cf_repo_load_blob): the reserve below then has room and does not
	 * move it, and decryption is in place (libsodium allows it). */
	out->len = 0;
	if (cf_buf_reserve(out, plen + loc->e.rawlen))
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	plain = (loc->e.flags & CF_BLOB_ZSTD) ? out->p + loc->e.rawlen : out->p;
	rc = cf_pack_blob_open(key, &loc->e, ct, plain, err);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return blob_error(loc, err);
	if ((loc->e.flags & CF_BLOB_ZSTD) &&
	    cf_zc_decompress(zc, plain, plen, out->p, loc->e.rawlen, err))
		return blob_error(loc, err);
	out->len = loc->e.rawlen;
	/* A vouched pack was sealed by a full key holder of the current
	 * version, and its AEAD binds each blob to its id (the AD): only such
	 * a writer's own bug could store a blob under a wrong id, and `check
	 * --read-data` (verify) looks for that.  A pack of a write-only
	 * credential, or of an older key version, is hashed: its writer may
	 * lie about ids. */
	if (!verify && vouched)
		return 0;
	cf_crypto_chunk_id(r->keys, out->p, out->len, id);
	if (sodium_memcmp(id, loc->e.id, 32) != 0) {
		cf_err_set(err, CF_EAUTH, "content does not match its id");
		return blob_error(loc, err);
	}
	return 0;
}

/** cf_repo_blob_matches(r, loc, stored, n, zc, out, err): does it hash
 * to its id? */
int
cf_repo_blob_matches(struct cf_repo *r, const struct cf_loc *loc,
    const uint8_t *stored, size_t n, struct cf_zc *zc, struct cf_buf *out,
    struct cf_err *err)
{
	const uint8_t *p = stored;
	uint8_t id[32];
	struct cf_err e2;

	if (loc->e.flags & CF_BLOB_ZSTD) {
		out->len = 0;
		if (cf_buf_reserve(out, loc->e.rawlen))
			return cf_err_set(err, CF_ENOMEM, "out of memory");
		/* bytes that do not decompress lie as much as any */
		if (cf_zc_decompress(zc, stored, n, out->p, loc->e.rawlen, &e2))
			return 0;
		p = out->p;
	} else if (n != loc->e.rawlen) {
		return 0;
	}
	cf_crypto_chunk_id(r->keys, p, loc->e.rawlen, id);
	return sodium_memcmp(id, loc->e.id, 32) == 0;
}

static void
pack_cache_path(const struct cf_repo *r, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/packs/%s", r->cache_dir, name);
}

/** cf_repo_cache_pack(r, name, p, n): cache a tree pack locally. */
void
cf_repo_cache_pack(struct cf_repo *r, const char *name, const uint8_t *p,
    size_t n)
{
	char path[4096], tmp[4200];
	uint8_t rnd[8];
	char hex[17];
	FILE *f;

	if (!r->store->remote)
		return;
	snprintf(path, sizeof(path), "%s/packs", r->cache_dir);
	(void)mkdir(path, 0700);
	pack_cache_path(r, name, path, sizeof(path));
	cf_crypto_random(rnd, sizeof(rnd));
	cf_hex(hex, rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s.%s.tmp", path, hex);
	if ((f = fopen(tmp, "wbx")) == NULL)
		return;
	if (fwrite(p, 1, n, f) != n || fclose(f) != 0 || rename(tmp, path) != 0)
		(void)remove(tmp);
}

/* The stored bytes of a tree blob from the local pack cache, fetching and
 * verifying the whole pack on a miss. */
static int
read_cached(struct cf_repo *r, const struct cf_loc *loc, const char *name,
    struct cf_buf *ct, struct cf_err *err)
{
	struct cf_buf whole;
	char path[4096], hex[65];
	uint8_t h[32];
	FILE *f;
	int rc = -1;

	pack_cache_path(r, name, path, sizeof(path));
	if ((f = fopen(path, "rb")) != NULL) {
		if (cf_buf_reserve(ct, loc->e.len) == 0 &&
		    fseeko(f, (off_t)loc->e.off, SEEK_SET) == 0 &&
		    fread(ct->p + ct->len, 1, loc->e.len, f) == loc->e.len) {
			ct->len += loc->e.len;
			rc = 0;
		}
		fclose(f);
		if (rc == 0)
			return 0;
	}
	cf_buf_init(&whole, CF_PACK_MAX_BYTES);
	if (cf_store_get(r->store, CF_KIND_PACK, name, 0, CF_GET_ALL, &whole,
	        err) == 0) {
		cf_crypto_hash(whole.p, whole.len, h);
		cf_hex(hex, h, 32);
		if (strcmp(hex, name) != 0)
			cf_err_set(err, CF_EAUTH,
			    "pack %.16s: content does not "
			    "match its name",
			    name);
		else if (loc->e.off > whole.len ||
		         loc->e.len > whole.len - loc->e.off)
			cf_err_set(err, CF_EFORMAT,
			    "pack %.16s: blob out of "
			    "bounds",
			    name);
		else {
			cf_repo_cache_pack(r, name, whole.p, whole.len);
			cf_buf_add(ct, whole.p + loc->e.off, loc->e.len);
			rc = cf_buf_check(ct, err, "tree");
		}
	}
	cf_buf_release(&whole);
	return rc;
}

/** cf_repo_load_blob(r, id, type, zc, out, err): find and load a blob. */
int
cf_repo_load_blob(struct cf_repo *r, const uint8_t id[static 32], uint8_t type,
    struct cf_zc *zc, struct cf_buf *out, struct cf_err *err)
{
	struct cf_loc loc;
	struct cf_buf ct;
	char name[65];
	size_t off;
	int rc;

	rc = cf_index_lookup(r->index, id, &loc, err);
	if (rc == 1 || (rc == 0 && loc.e.type != type)) {
		char hex[17];

		cf_hex(hex, id, 8);
		return cf_err_set(err, CF_ENOTFOUND,
		    "%s %s is missing from the repository",
		    type == CF_BLOB_TREE ? "tree" : "chunk", hex);
	}
	if (rc != 0)
		return -1;
	cf_hex(name, loc.pack, 32);
	/* The stored bytes are read into ${out} itself, where
	 * cf_repo_open_blob() decrypts them in place: at the start for a
	 * blob stored plain, after room for the plaintext for a compressed
	 * one.  No allocation and no copy per blob.  ${ct} is a view that
	 * cannot grow (max = its capacity), so it never reallocates. */
	off = (loc.e.flags & CF_BLOB_ZSTD) ? loc.e.rawlen : 0;
	out->len = 0;
	if (loc.e.len < CF_TAG_BYTES || loc.e.rawlen > CF_BLOB_MAX_RAW ||
	    loc.e.len > CF_BLOB_MAX_RAW + 4096)
		return cf_err_set(err, CF_EFORMAT, "blob entry inconsistent");
	/* room for what cf_repo_open_blob() reserves too */
	if (cf_buf_reserve(out, (size_t)loc.e.len + loc.e.rawlen))
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	ct = (struct cf_buf){
	    .p = out->p + off, .cap = loc.e.len, .max = loc.e.len};
	if (type == CF_BLOB_TREE && r->store->remote)
		rc = read_cached(r, &loc, name, &ct, err);
	else if (r->store->remote)
		rc = read_ahead(r, &loc, name, &ct, err);
	else
		rc = cf_store_get(r->store, CF_KIND_PACK, name, loc.e.off,
		    loc.e.len, &ct, err);
	if (rc == 0 && (ct.p != out->p + off || ct.len != loc.e.len))
		rc = cf_err_set(err, CF_EFORMAT, "blob read short");
	if (rc != 0)
		return blob_error(&loc, err);
	return cf_repo_open_blob(r, &loc, ct.p, zc, 0, out, err);
}

/** cf_repo_load_tree(r, id, zc, t, err): load and decode a tree. */
int
cf_repo_load_tree(struct cf_repo *r, const uint8_t id[static 32],
    struct cf_zc *zc, struct cf_tree *t, struct cf_err *err)
{
	memset(t, 0, sizeof(*t));
	/* cf_repo_open_blob() holds the stored bytes after the plaintext:
	 * a tree of up to CF_BLOB_MAX_RAW needs room for both. */
	cf_buf_init(&t->raw, 2 * CF_BLOB_MAX_RAW + 4096);
	if (cf_repo_load_blob(r, id, CF_BLOB_TREE, zc, &t->raw, err) ||
	    cf_tree_decode(t->raw.p, t->raw.len, &t->nodes, &t->n, err)) {
		cf_tree_release(t);
		return -1;
	}
	return 0;
}

/** cf_tree_find(t, name, nl): binary search by name. */
const struct cf_node *
cf_tree_find(const struct cf_tree *t, const char *name, size_t nl)
{
	size_t lo = 0, hi = t != NULL ? t->n : 0;

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

void
cf_tree_release(struct cf_tree *t)
{
	free(t->nodes);
	t->nodes = NULL;
	t->n = 0;
	cf_buf_release(&t->raw);
}

/* Prefix the message of ${err} with the snapshot it is about. */
static void
name_err(struct cf_err *err, const char *name)
{
	char m[sizeof(err->msg)];

	memcpy(m, err->msg, sizeof(m));
	cf_err_set(err, err->code, "snapshot %.8s: %s", name, m);
}

/** cf_repo_load_snapshot(r, name, err): load and verify one snapshot. */
struct cf_snapshot *
cf_repo_load_snapshot(struct cf_repo *r, const char *name, struct cf_err *err)
{
	struct cf_snapshot *s = NULL;
	uint8_t *plain = NULL;
	struct cf_buf b;
	size_t n, ver;
	int trusted;

	cf_buf_init(&b, 64u << 20);
	if (cf_repo_get_named(r->store, CF_KIND_SNAPSHOT, name, &b, err)) {
		if (err->code == CF_EAUTH)
			name_err(err, name);
		goto out;
	}
	/* One sealed with a retired key version must be named by the newest
	 * version's cover (cover.c): else a removed device wrote it. */
	if (cf_env_open_ver(r->keys, CF_OBJ_SNAPSHOT, b.p, b.len, &plain, &n,
	        &ver, &trusted, err))
		goto bad;
	if (cf_cover_check(r, name, ver, err)) {
		if (err->code == CF_EAUTH)
			__atomic_fetch_add(&r->retired_snapshots, 1,
			    __ATOMIC_RELAXED);
		goto bad;
	}
	if ((s = cf_snapshot_decode(plain, n, err)) == NULL)
		goto bad;
	memcpy(s->name, name, 65);
	goto out;
bad:
	name_err(err, name);
out:
	if (plain != NULL)
		sodium_memzero(plain, n);
	free(plain);
	cf_buf_release(&b);
	return s;
}

static int
snap_cmp(const void *a, const void *b)
{
	const struct cf_snapshot *x = *(struct cf_snapshot *const *)a;
	const struct cf_snapshot *y = *(struct cf_snapshot *const *)b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
cf_snapshots_free(struct cf_snapshot **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		cf_snapshot_free(v[i]);
	free(v);
}

/** cf_repo_snapshots(r, out, n, err): all snapshots, oldest first. */
int
cf_repo_snapshots(struct cf_repo *r, struct cf_snapshot ***out, size_t *n,
    struct cf_err *err)
{
	struct cf_snapshot **v;
	struct slotlist l;

	if (list_names(r->store, CF_KIND_SNAPSHOT, &l, err))
		return -1;
	if ((v = cf_alloc_array(l.n, sizeof(*v))) == NULL) {
		free(l.names);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	size_t got = 0;

	r->bad_snapshots = 0;
	r->retired_snapshots = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct cf_err e2 = {0};
		size_t retired = r->retired_snapshots;

		if ((v[got] = cf_repo_load_snapshot(r, l.names[i], &e2)) !=
		    NULL) {
			got++;
			continue;
		}
		if (e2.code == CF_ENOTFOUND)
			continue; /* forgotten since the listing (forget, tag)
			           */
		/* A damaged record must not block the others: skip it (check
		 * names it; prune refuses to run). Other errors stop. */
		if (e2.code != CF_EAUTH && e2.code != CF_EFORMAT) {
			*err = e2;
			cf_snapshots_free(v, got);
			free(l.names);
			return -1;
		}
		r->bad_snapshots++;
		if (r->bad_snapshots == 1)
			r->bad_err = e2;
		if (retired == 0 && r->retired_snapshots > 0)
			r->retired_err = e2;
	}
	qsort(v, got, sizeof(*v), snap_cmp);
	*out = v;
	*n = got;
	free(l.names);
	return 0;
}

/** cf_repo_find_snapshot(r, spec, err): resolve "latest" or a prefix. */
struct cf_snapshot *
cf_repo_find_snapshot(struct cf_repo *r, const char *spec, struct cf_err *err)
{
	struct cf_snapshot **v, *found = NULL;
	size_t n, len = strlen(spec), hits = 0;

	if (strcmp(spec, "latest") != 0 && (len < MIN_PREFIX || len > 64)) {
		cf_err_set(err, CF_EUSAGE,
		    "snapshot '%s': give 'latest' or at least %d hex digits",
		    spec, MIN_PREFIX);
		return NULL;
	}
	if (cf_repo_snapshots(r, &v, &n, err))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(spec, "latest") == 0
		        ? i + 1 == n
		        : strncmp(v[i]->name, spec, len) == 0) {
			hits++;
			found = v[i];
		}
	}
	if (hits == 1) {
		for (size_t i = 0; i < n; i++)
			if (v[i] == found)
				v[i] = NULL;
	} else {
		found = NULL;
		cf_err_set(err, hits ? CF_EUSAGE : CF_ENOTFOUND,
		    hits ? "snapshot prefix '%s' is ambiguous"
		         : "no snapshot '%s'",
		    spec);
	}
	cf_snapshots_free(v, n);
	return found;
}

/* 1 and its *epoch if key slot ${name} is an account slot, else 0. */
static int
account_slot_epoch(struct cf_store *s, const char *name, uint32_t *epoch)
{
	struct cf_slotinfo info;
	struct cf_err e2 = {0};
	struct cf_buf b;
	int is = 0;

	cf_buf_init(&b, 8192);
	if (cf_store_get(s, CF_KIND_KEY, name, 0, CF_GET_ALL, &b, &e2) == 0 &&
	    cf_keyslot_parse(b.p, b.len, &info, &e2) == 0 &&
	    info.type == CF_SLOT_ACCOUNT) {
		*epoch = info.epoch;
		is = 1;
	}
	cf_buf_release(&b);
	return is;
}

struct newer {
	struct cf_store *s;
	uint32_t epoch;
	int found;
};

static int
newer_slot(void *arg, const char *name, uint64_t size)
{
	struct newer *n = arg;
	uint32_t epoch;

	(void)size;
	if (account_slot_epoch(n->s, name, &epoch) && epoch > n->epoch)
		n->found = 1;
	return 0;
}

/* A zone whose key was rotated since it was opened (a device removed
 * meanwhile): a snapshot sealed with the retired version now would not be
 * in its cover, and every reader would refuse it. */
static int
check_not_rotated(struct cf_repo *r, struct cf_err *err)
{
	struct newer n = {r->store, r->epoch, 0};

	if (!r->zone)
		return 0;
	if (cf_store_list(r->store, CF_KIND_KEY, newer_slot, &n, err) < 0)
		return -1;
	if (n.found)
		return cf_err_set(err, CF_EAUTH,
		    "the zone's keys were rotated while this ran (a device "
		    "was removed), or a removal stopped halfway: nothing is "
		    "lost; run it again (and finish the removal)");
	return 0;
}

/** cf_repo_save_snapshot(r, s, err): encrypt and store a snapshot. */
int
cf_repo_save_snapshot(struct cf_repo *r, struct cf_snapshot *s,
    struct cf_err *err)
{
	struct cf_buf plain, env;
	int rc = -1;

	if (check_not_rotated(r, err))
		return -1;

	cf_buf_init(&plain, 16u << 20);
	cf_buf_init(&env, 32u << 20);
	cf_snapshot_encode(s, &plain);
	if (cf_buf_check(&plain, err, "snapshot record") == 0 &&
	    cf_env_seal(r->keys, CF_OBJ_SNAPSHOT, plain.p, plain.len, &env,
	        err) == 0)
		rc = put_hashed(r->store, CF_KIND_SNAPSHOT, env.p, env.len,
		    s->name, err);
	cf_buf_release(&plain);
	cf_buf_release(&env);
	return rc;
}

/** cf_repo_add_key(r, pass, passlen, kdf, host, name, err): new slot. */
int
cf_repo_add_key(struct cf_repo *r, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, char name[static 65],
    struct cf_err *err)
{
	struct cf_buf slot;
	int rc;

	cf_buf_init(&slot, 4096);
	rc = cf_keyslot_seal(r->keys->zone, r->id, pass, passlen, kdf, host,
	    &slot, err);
	if (rc == 0)
		rc = put_hashed(r->store, CF_KIND_KEY, slot.p, slot.len, name,
		    err);
	cf_buf_release(&slot);
	return rc;
}

/** cf_repo_remove_key(r, prefix, err): delete one key slot. */
int
cf_repo_remove_key(struct cf_repo *r, const char *prefix, struct cf_err *err)
{
	struct slotlist l;
	size_t hits = 0, len = strlen(prefix), at = 0;
	int rc;

	if (len < MIN_PREFIX || len > 64)
		return cf_err_set(err, CF_EUSAGE,
		    "key '%s': give at least %d hex digits", prefix,
		    MIN_PREFIX);
	if (list_names(r->store, CF_KIND_KEY, &l, err))
		return -1;
	for (size_t i = 0; i < l.n; i++)
		if (strncmp(l.names[i], prefix, len) == 0) {
			hits++;
			at = i;
		}
	if (hits != 1)
		rc = cf_err_set(err, hits ? CF_EUSAGE : CF_ENOTFOUND,
		    hits ? "key prefix '%s' is ambiguous" : "no key '%s'",
		    prefix);
	else if (strcmp(l.names[at], r->slot) == 0)
		rc = cf_err_set(err, CF_EUSAGE,
		    "key %.8s is the one in use: open the repository with "
		    "another key to remove it",
		    prefix);
	else
		rc = cf_store_del(r->store, CF_KIND_KEY, l.names[at], err);
	free(l.names);
	return rc;
}

/** cf_repo_init_zone(s, ak, epoch, err): a new zone of an account. */
int
cf_repo_init_zone(struct cf_store *s, const uint8_t ak[static 32],
    uint32_t epoch, struct cf_err *err)
{
	uint8_t zone[1][CF_KEY_BYTES], cfg[CF_CONFIG_BYTES];
	struct cf_buf slot;
	char name[65];
	int rc = -1;

	cf_buf_init(&slot, 4096);
	cf_crypto_random(zone[0], CF_KEY_BYTES);
	memcpy(cfg, config_magic, 8);
	cf_le32_put(cfg + 8, CF_REPO_VERSION);
	cf_crypto_random(cfg + 12, CF_REPO_ID_BYTES);
	if (cf_keyslot_seal_account((const uint8_t(*)[CF_KEY_BYTES])zone, 1,
	        cfg + 12, ak, epoch, &slot, err) == 0 &&
	    put_hashed(s, CF_KIND_KEY, slot.p, slot.len, name, err) == 0 &&
	    cf_store_put(s, CF_KIND_CONFIG, "config", cfg, sizeof(cfg),
	        CF_PUT_EXCL, err) == 0)
		rc = 0;
	else if (err->code == CF_EEXIST)
		cf_err_set(err, CF_EEXIST, "zone exists already at %s",
		    s->where);
	sodium_memzero(zone, sizeof(zone));
	cf_buf_release(&slot);
	cf_store_free(s);
	return rc;
}

struct ringfind {
	struct cf_store *s;
	const uint8_t *id, *ak;
	uint32_t epoch;
	uint8_t (*secrets)[CF_KEY_BYTES];
	size_t count;
	char slot[65];
	struct cf_err *err;
};

static int
try_account_slot(void *arg, const char *name, uint64_t size)
{
	struct ringfind *f = arg;
	struct cf_slotinfo info;
	struct cf_err e2 = {0};
	struct cf_buf b;
	int found = 0;

	(void)size;
	if (f->count > 0)
		return 0;
	cf_buf_init(&b, 8192);
	if (cf_store_get(f->s, CF_KIND_KEY, name, 0, CF_GET_ALL, &b, &e2) ==
	        0 &&
	    cf_keyslot_parse(b.p, b.len, &info, &e2) == 0 &&
	    info.type == CF_SLOT_ACCOUNT && info.epoch == f->epoch) {
		if (cf_keyslot_open_account(b.p, b.len, f->id, f->ak,
		        f->secrets, &f->count, f->err) == 0) {
			memcpy(f->slot, name, 65);
			found = 1;
		}
	}
	cf_buf_release(&b);
	(void)found;
	return 0;
}

static int
find_ring(struct ringfind *f, struct cf_err *err)
{
	f->count = 0;
	cf_err_set(err, CF_EAUTH,
	    "no key slot of this zone opens with the "
	    "account key of epoch %u",
	    f->epoch);
	if (cf_store_list(f->s, CF_KIND_KEY, try_account_slot, f, err) < 0)
		return -1;
	if (f->count == 0)
		return -1;
	cf_err_clear(err);
	return 0;
}

/** cf_repo_open_zone(s, ak, epoch, cache_root, err): open a zone. */
struct cf_repo *
cf_repo_open_zone(struct cf_store *s, const uint8_t ak[static 32],
    uint32_t epoch, const char *cache_root, struct cf_err *err)
{
	struct ringfind f = {0};
	struct cf_repo *r = repo_new(s, err);

	if (r == NULL)
		return NULL;
	if ((f.secrets = sodium_malloc((CF_MAX_VERSIONS + 1) * CF_KEY_BYTES)) ==
	    NULL) {
		cf_repo_close(r);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	f.s = s;
	f.ak = ak;
	f.epoch = epoch;
	f.err = err;
	f.id = r->id;
	if (load_config(r, err) || find_ring(&f, err) ||
	    (r->keys =
	            cf_keys_new_ring((const uint8_t(*)[CF_KEY_BYTES])f.secrets,
	                f.count, err)) == NULL ||
	    open_cache(r, cache_root, err) || cf_repo_sync_index(r, err)) {
		sodium_free(f.secrets);
		cf_repo_close(r);
		return NULL;
	}
	memcpy(r->slot, f.slot, 65);
	r->epoch = epoch;
	r->zone = 1;
	sodium_free(f.secrets);
	cf_chunker_init(&r->chunker, r->keys->gear);
	return r;
}

struct oldslots {
	struct cf_store *s;
	uint32_t keep;
	char keepname[65];
};

static int
drop_old_slot(void *arg, const char *name, uint64_t size)
{
	struct oldslots *o = arg;
	struct cf_err e2 = {0};
	uint32_t epoch;

	(void)size;
	/* one that cannot be deleted stays: harmless, retried next time */
	if (strcmp(name, o->keepname) != 0 &&
	    account_slot_epoch(o->s, name, &epoch) && epoch != o->keep &&
	    cf_store_del(o->s, CF_KIND_KEY, name, &e2) != 0)
		cf_err_clear(&e2);
	return 0;
}

/** cf_repo_rekey_zone(s, old_ak, old_epoch, ak, epoch, err): rotate. */
int
cf_repo_rekey_zone(struct cf_store *s, const uint8_t old_ak[static 32],
    uint32_t old_epoch, const uint8_t ak[static 32], uint32_t epoch,
    struct cf_err *err)
{
	struct ringfind f = {0};
	struct oldslots o = {s, epoch, ""};
	struct cf_keys *old = NULL, *new = NULL;
	uint8_t cfgid[CF_REPO_ID_BYTES];
	struct cf_buf slot, cfg;
	int rc = -1;

	cf_buf_init(&slot, 8192);
	cf_buf_init(&cfg, 4096);
	if ((f.secrets = sodium_malloc((CF_MAX_VERSIONS + 1) * CF_KEY_BYTES)) ==
	    NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	f.s = s;
	f.ak = old_ak;
	f.epoch = old_epoch;
	f.err = err;
	f.id = cfgid;
	if (cf_store_get(s, CF_KIND_CONFIG, "config", 0, CF_GET_ALL, &cfg,
	        err) != 0 ||
	    cf_config_parse(cfg.p, cfg.len, cfgid, err) != 0 ||
	    find_ring(&f, err) != 0)
		goto out;
	if (f.count > CF_MAX_VERSIONS) {
		cf_err_set(err, CF_ELIMIT, "zone key rotated too often");
		goto out;
	}
	/* The snapshots of the version being retired are named in a cover
	 * sealed with the new one, before the new slot exists: from then on,
	 * one sealed with the old version and not named was made after. */
	if ((old = cf_keys_new_ring((const uint8_t(*)[CF_KEY_BYTES])f.secrets,
	         f.count, err)) == NULL)
		goto out;
	cf_crypto_random(f.secrets[f.count++], CF_KEY_BYTES);
	if ((new = cf_keys_new_ring((const uint8_t(*)[CF_KEY_BYTES])f.secrets,
	         f.count, err)) == NULL ||
	    cf_cover_write(s, old, new, err) != 0 ||
	    cf_keyslot_seal_account((const uint8_t(*)[CF_KEY_BYTES])f.secrets,
	        f.count, cfgid, ak, epoch, &slot, err) != 0 ||
	    put_hashed(s, CF_KIND_KEY, slot.p, slot.len, o.keepname, err) != 0)
		goto out;
	rc = 0;
out:
	cf_keys_free(old);
	cf_keys_free(new);
	sodium_free(f.secrets);
	cf_buf_release(&slot);
	cf_buf_release(&cfg);
	return rc;
}

/** cf_repo_drop_old_slots(s, epoch, err): delete account slots of other
 * epochs (after the epoch change is committed to the chain). */
int
cf_repo_drop_old_slots(struct cf_store *s, uint32_t epoch, struct cf_err *err)
{
	struct oldslots o = {s, epoch, ""};

	return cf_store_list(s, CF_KIND_KEY, drop_old_slot, &o, err) < 0 ? -1
	                                                                 : 0;
}

/** cf_repo_open_writeonly(s, keys, id, cache_root, err): write-only. */
struct cf_repo *
cf_repo_open_writeonly(struct cf_store *s, struct cf_keys *keys,
    const uint8_t id[static CF_REPO_ID_BYTES], const char *cache_root,
    struct cf_err *err)
{
	struct cf_repo *r = repo_new(s, err);

	if (r == NULL) {
		cf_keys_free(keys);
		return NULL;
	}
	r->keys = keys;
	if (load_config(r, err) != 0 ||
	    (sodium_memcmp(r->id, id, CF_REPO_ID_BYTES) != 0 &&
	        cf_err_set(err, CF_EAUTH,
	            "the credential is for another "
	            "zone") != 0) ||
	    open_cache(r, cache_root, err) || cf_repo_sync_index(r, err)) {
		cf_repo_close(r);
		return NULL;
	}
	cf_chunker_init(&r->chunker, r->keys->gear);
	return r;
}
