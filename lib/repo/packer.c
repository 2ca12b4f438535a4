#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "repo/packer.h"
#include "util/idset.h"

#define NDATA 3            /* open data packs: chunks scatter over them */
#define NSLOTS (NDATA + 1) /* and one for trees */
#define TARGET_MIN (16u << 20)
#define TARGET_SPAN (16u << 20)
#define INDEX_EVERY 8 /* packs per index file */
#define MAX_WRITERS 2
/* Pieces of streamed packs queued for the writer at most, and spare piece
 * buffers kept (a fresh buffer would cost its page faults every time). */
#define MAX_PIECES 2
#define POOL_MAX (MAX_PIECES + NDATA + 1)
#define PIECE_CAP (CF_PACK_SPILL + CF_CHUNK_MAX + (64u << 10))
/* Buffers of whole packs (a remote store's) kept for the next pack: a
 * fresh one cost the page faults and zeroing of its 16-32 MiB every time,
 * as much CPU as a tenth of the upload itself. */
#define WHOLE_POOL 2

struct slot {
	pthread_mutex_t mu;
	struct cf_packw *w;
	uint64_t target;
};

struct cf_packer {
	struct cf_repo *r;
	struct slot slots[NSLOTS];
	pthread_mutex_t mu; /* guards everything below */
	struct cf_idset pending;
	struct cf_loc *locs;
	size_t nlocs, caplocs, npacks;
	struct cf_packer_stats st;
	pthread_mutex_t flush_mu; /* one index write at a time */
	/* Full packs wait here for a writer thread, which seals and stores
	 * them while the callers go on encrypting: a bounded queue,
	 * so memory stays bounded and a slow store slows the backup. */
	pthread_mutex_t wmu;
	pthread_cond_t wq_ne, wq_nf, w_idle;
	struct wjob {
		struct cf_packw *w; /* a full pack, or NULL: a piece */
		int trees;
		struct pstream *ps; /* the piece: its pack's stream */
		uint8_t *buf;
		size_t n, cap;
	} wq[MAX_WRITERS + MAX_PIECES];
	size_t wn, wpacks, wpieces; /* queued: all, packs, pieces */
	uint8_t *pool[POOL_MAX];
	size_t npool;
	uint8_t *whole[WHOLE_POOL]; /* of CF_PACK_PREALLOC bytes */
	size_t nwhole;
	int nwriters, busy, closing, wfailed;
	struct cf_err werr;
	pthread_t writers[MAX_WRITERS];
};

struct pstream {
	struct cf_packer *pk;
	struct cf_store_stream *st;
	int direct; /* write pieces now, not via the queue */
};

static void *writer_main(void *arg);
static void stop_writers(struct cf_packer *pk);
static void pool_put(struct cf_packer *pk, uint8_t *buf, size_t cap);

static uint64_t
random_target(void)
{
	return TARGET_MIN + randombytes_uniform(TARGET_SPAN);
}

/** cf_packer_new(r, err): a packer for ${r}. */
struct cf_packer *
cf_packer_new(struct cf_repo *r, struct cf_err *err)
{
	struct cf_packer *pk;

	if ((pk = calloc(1, sizeof(*pk))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	pk->r = r;
	pthread_mutex_init(&pk->mu, NULL);
	pthread_mutex_init(&pk->flush_mu, NULL);
	for (int i = 0; i < NSLOTS; i++)
		pthread_mutex_init(&pk->slots[i].mu, NULL);
	pthread_mutex_init(&pk->wmu, NULL);
	pthread_cond_init(&pk->wq_ne, NULL);
	pthread_cond_init(&pk->wq_nf, NULL);
	pthread_cond_init(&pk->w_idle, NULL);
	/* One writer keeps a local disk busy; a remote store gets two
	 * uploads in flight. */
	for (int i = 0; i < (r->store->remote ? 2 : 1); i++) {
		if (pthread_create(&pk->writers[i], NULL, writer_main, pk) != 0)
			break;
		pk->nwriters++;
	}
	return pk;
}

/** cf_packer_free(pk): free without flushing. */
void
cf_packer_free(struct cf_packer *pk)
{
	if (pk == NULL)
		return;
	stop_writers(pk);
	for (size_t i = 0; i < pk->wn; i++) {
		if (pk->wq[i].w != NULL)
			cf_packw_free(pk->wq[i].w);
		else
			free(pk->wq[i].buf);
	}
	for (size_t i = 0; i < pk->npool; i++)
		free(pk->pool[i]);
	for (size_t i = 0; i < pk->nwhole; i++)
		free(pk->whole[i]);
	pthread_mutex_destroy(&pk->wmu);
	pthread_cond_destroy(&pk->wq_ne);
	pthread_cond_destroy(&pk->wq_nf);
	pthread_cond_destroy(&pk->w_idle);
	for (int i = 0; i < NSLOTS; i++) {
		cf_packw_free(pk->slots[i].w);
		pthread_mutex_destroy(&pk->slots[i].mu);
	}
	cf_idset_release(&pk->pending);
	free(pk->locs);
	pthread_mutex_destroy(&pk->mu);
	pthread_mutex_destroy(&pk->flush_mu);
	free(pk);
}

/** cf_packer_has(pk, id): pending in this session? */
int
cf_packer_has(struct cf_packer *pk, const uint8_t id[static 32])
{
	int found;

	pthread_mutex_lock(&pk->mu);
	found = cf_idset_has(&pk->pending, id);
	pthread_mutex_unlock(&pk->mu);
	return found;
}

static int
queue_locs(struct cf_packer *pk, const uint8_t pack[32],
    const struct cf_blobent *ents, size_t n)
{
	if (pk->nlocs + n > pk->caplocs) {
		size_t nc = pk->caplocs ? pk->caplocs : 1024;
		void *np;

		while (nc < pk->nlocs + n)
			nc *= 2;
		if ((np = cf_realloc_array(pk->locs, nc, sizeof(*pk->locs))) ==
		    NULL)
			return -1;
		pk->locs = np;
		pk->caplocs = nc;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(pk->locs[pk->nlocs].pack, pack, 32);
		pk->locs[pk->nlocs++].e = ents[i];
	}
	pk->npacks++;
	return 0;
}

/* Write one index file for everything queued. Called under flush_mu. */
static int
write_index(struct cf_packer *pk, struct cf_err *err)
{
	struct cf_buf plain, env;
	struct cf_loc *locs;
	size_t n;
	char name[65];
	int rc = -1;

	pthread_mutex_lock(&pk->mu);
	locs = pk->locs;
	n = pk->nlocs;
	pk->locs = NULL;
	pk->nlocs = pk->caplocs = pk->npacks = 0;
	pthread_mutex_unlock(&pk->mu);
	if (n == 0)
		return 0;
	cf_buf_init(&plain, 1u << 30);
	cf_buf_init(&env, 1u << 30);
	cf_indexfile_encode(locs, n, &plain);
	if (cf_buf_check(&plain, err, "index file") ||
	    cf_sym_seal(pk->r->keys->index, CF_OBJ_INDEX, plain.p, plain.len,
	        &env, err) ||
	    cf_repo_put_object(pk->r, CF_KIND_INDEX, env.p, env.len, name,
	        err) ||
	    cf_index_add(pk->r->index, name, locs, n, err))
		goto out;
	pthread_mutex_lock(&pk->mu);
	for (size_t i = 0; i < n; i++)
		cf_idset_del(&pk->pending, locs[i].e.id);
	pk->st.index_files++;
	pthread_mutex_unlock(&pk->mu);
	rc = 0;
out:
	cf_buf_release(&plain);
	cf_buf_release(&env);
	free(locs);
	return rc;
}

static int
maybe_write_index(struct cf_packer *pk, int force, struct cf_err *err)
{
	int rc = 0, due;

	pthread_mutex_lock(&pk->flush_mu);
	pthread_mutex_lock(&pk->mu);
	due = force ? pk->nlocs > 0 : pk->npacks >= INDEX_EVERY;
	pthread_mutex_unlock(&pk->mu);
	if (due)
		rc = write_index(pk, err);
	pthread_mutex_unlock(&pk->flush_mu);
	return rc;
}

/* A data pack is streamed to a store that takes it (a local folder): its
 * bytes go to the store's temporary file in pieces as they are made, so an
 * open pack holds at most CF_PACK_SPILL and a blob in memory, not up to
 * 32 MiB: the backup's peak memory no longer grows with pack size or the
 * number of open packs.  (The pack's name is hashed blob by blob in
 * cf_packw_add, by the thread that seals them.)  Pieces queue for the
 * writer thread (at most MAX_PIECES), which writes them in order: the one
 * writer takes every piece of a pack before the pack itself.  Packs of trees
 * stay in memory: the session reads them back (cf_repo_cache_pack).  A store
 * without streamed puts gets whole packs. */
static uint8_t *
pool_get(struct cf_packer *pk, size_t *cap)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&pk->wmu);
	if (pk->npool > 0)
		buf = pk->pool[--pk->npool];
	pthread_mutex_unlock(&pk->wmu);
	if (buf == NULL &&
	    posix_memalign((void **)&buf, CF_PACK_ALIGN, PIECE_CAP) != 0)
		return NULL;
	*cap = PIECE_CAP;
	return buf;
}

static void
pool_put(struct cf_packer *pk, uint8_t *buf, size_t cap)
{
	pthread_mutex_lock(&pk->wmu);
	if (cap == PIECE_CAP && pk->npool < POOL_MAX) {
		pk->pool[pk->npool++] = buf;
		buf = NULL;
	}
	pthread_mutex_unlock(&pk->wmu);
	free(buf); /* ciphertext: nothing to wipe */
}

static uint8_t *
whole_get(struct cf_packer *pk)
{
	uint8_t *buf = NULL;

	pthread_mutex_lock(&pk->wmu);
	if (pk->nwhole > 0)
		buf = pk->whole[--pk->nwhole];
	pthread_mutex_unlock(&pk->wmu);
	return buf;
}

/* Keep the buffer of a stored pack for the next one if it is the one
 * cf_packw_new() allocated: CF_PACK_PREALLOC bytes, page-aligned.  One
 * that was never preallocated, or grew (doubled), is freed. */
static void
whole_put(struct cf_packer *pk, uint8_t *buf)
{
	size_t u = malloc_usable_size(buf);

	pthread_mutex_lock(&pk->wmu);
	if (u >= CF_PACK_PREALLOC && u <= CF_PACK_PREALLOC + (64u << 10) &&
	    ((uintptr_t)buf & (CF_PACK_ALIGN - 1)) == 0 &&
	    pk->nwhole < WHOLE_POOL) {
		pk->whole[pk->nwhole++] = buf;
		buf = NULL;
	}
	pthread_mutex_unlock(&pk->wmu);
	free(buf); /* ciphertext: nothing to wipe */
}

static uint8_t *
ps_getbuf(void *arg, size_t *cap)
{
	struct pstream *ps = arg;

	return pool_get(ps->pk, cap);
}

/* Write one piece; the buffer goes back to the pool. */
static int
write_piece(struct pstream *ps, uint8_t *buf, size_t n, size_t cap,
    struct cf_err *err)
{
	struct cf_store *s = ps->pk->r->store;
	int rc;

	rc = cf_store_stream_write(s, ps->st, buf, n, err);
	pool_put(ps->pk, buf, cap);
	return rc;
}

static int
ps_sink(void *arg, uint8_t *buf, size_t n, size_t cap, struct cf_err *err)
{
	struct pstream *ps = arg;
	struct cf_packer *pk = ps->pk;
	struct wjob *j;

	if (ps->direct)
		return write_piece(ps, buf, n, cap, err);
	pthread_mutex_lock(&pk->wmu);
	if (pk->nwriters != 1) {
		pthread_mutex_unlock(&pk->wmu);
		return write_piece(ps, buf, n, cap, err);
	}
	while (pk->wpieces == MAX_PIECES && !pk->wfailed)
		pthread_cond_wait(&pk->wq_nf, &pk->wmu);
	if (pk->wfailed) {
		*err = pk->werr;
		pthread_mutex_unlock(&pk->wmu);
		pool_put(pk, buf, cap);
		return -1;
	}
	j = &pk->wq[pk->wn++];
	*j = (struct wjob){NULL, 0, ps, buf, n, cap};
	pk->wpieces++;
	pthread_cond_signal(&pk->wq_ne);
	pthread_mutex_unlock(&pk->wmu);
	return 0;
}

static void
ps_abort(void *arg)
{
	struct pstream *ps = arg;

	cf_store_stream_abort(ps->pk->r->store, ps->st);
	free(ps);
}

/* A new pack: a streamed one (data, local store) works in pooled piece
 * buffers; a whole one (a remote store's, or trees) in the buffer of a
 * pack already stored, if one is spare (WHOLE_POOL). */
static struct cf_packw *
new_pack(struct cf_packer *pk, int trees, struct cf_err *err)
{
	struct cf_store *s = pk->r->store;
	struct cf_packw *w;
	struct pstream *ps;

	if ((w = cf_packw_new(pk->r->keys, err)) == NULL)
		return NULL;
	if (trees || !cf_store_can_stream(s)) {
		uint8_t *buf = whole_get(pk);

		if (buf != NULL)
			cf_packw_use(w, buf, CF_PACK_PREALLOC);
		return w;
	}
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		cf_packw_free(w);
		return NULL;
	}
	ps->pk = pk;
	if ((ps->st = cf_store_stream_open(s, CF_KIND_PACK, err)) == NULL) {
		free(ps);
		cf_packw_free(w);
		return NULL;
	}
	if (cf_packw_stream(w, ps_sink, ps_getbuf, ps_abort, ps, err)) {
		ps_abort(ps);
		cf_packw_free(w);
		return NULL;
	}
	return w;
}

/* Seal a detached pack, store it, queue its entries. */
static int
finish_pack(struct cf_packer *pk, struct cf_packw *w, int trees,
    struct cf_err *err)
{
	struct cf_blobent *ents = NULL;
	struct pstream *ps = cf_packw_stream_arg(w);
	uint8_t *bytes = NULL, id[32];
	size_t n, nents;
	char name[65];
	int rc = -1;

	if (ps != NULL)
		ps->direct = 1; /* this is the writer (or the only thread) */
	if (cf_packw_finish(w, name, &bytes, &n, &ents, &nents, err))
		goto out;
	if (ps != NULL) {
		rc = cf_store_stream_commit(pk->r->store, ps->st, CF_KIND_PACK,
		    name, 0, err);
		free(ps);
		if (rc != 0)
			goto out;
		rc = -1;
	} else if (cf_store_put(pk->r->store, CF_KIND_PACK, name, bytes, n,
	               trees ? CF_PUT_HOT : 0, err))
		goto out;
	if (cf_unhex(id, 32, name))
		goto out;
	if (trees && bytes != NULL)
		cf_repo_cache_pack(pk->r, name, bytes, n);
	pthread_mutex_lock(&pk->mu);
	rc = queue_locs(pk, id, ents, nents);
	if (rc == 0) {
		pk->st.packs++;
		pk->st.stored_bytes += n;
	}
	pthread_mutex_unlock(&pk->mu);
	if (rc != 0)
		cf_err_set(err, CF_ENOMEM, "out of memory");
	else
		rc = maybe_write_index(pk, 0, err);
out:
	if (bytes != NULL)
		whole_put(pk, bytes);
	free(ents);
	cf_packw_free(w);
	return rc;
}

static void *
writer_main(void *arg)
{
	struct cf_packer *pk = arg;

	pthread_mutex_lock(&pk->wmu);
	for (;;) {
		struct wjob j;
		struct cf_err err = {0};
		int rc, skip;

		while (pk->wn == 0 && !pk->closing)
			pthread_cond_wait(&pk->wq_ne, &pk->wmu);
		if (pk->wn == 0)
			break;
		j = pk->wq[0];
		memmove(&pk->wq[0], &pk->wq[1], --pk->wn * sizeof(pk->wq[0]));
		if (j.w != NULL)
			pk->wpacks--;
		else
			pk->wpieces--;
		pk->busy++;
		skip = pk->wfailed;
		pthread_cond_broadcast(&pk->wq_nf);
		pthread_mutex_unlock(&pk->wmu);
		if (skip && j.w != NULL)
			cf_packw_free(j.w); /* aborts its stream */
		else if (skip)
			pool_put(pk, j.buf, j.cap); /* j.ps may be gone */
		if (skip)
			rc = -1;
		else if (j.w != NULL)
			rc = finish_pack(pk, j.w, j.trees, &err);
		else
			rc = write_piece(j.ps, j.buf, j.n, j.cap, &err);
		pthread_mutex_lock(&pk->wmu);
		if (rc != 0 && !pk->wfailed) {
			pk->wfailed = 1;
			pk->werr = err;
		}
		if (--pk->busy == 0 && pk->wn == 0)
			pthread_cond_broadcast(&pk->w_idle);
	}
	pthread_mutex_unlock(&pk->wmu);
	return NULL;
}

/* Hand a full pack to a writer (the caller's own thread if none could
 * start); waits while the queue is full. */
static int
submit_pack(struct cf_packer *pk, struct cf_packw *w, int trees,
    struct cf_err *err)
{
	pthread_mutex_lock(&pk->wmu);
	if (pk->nwriters == 0) {
		pthread_mutex_unlock(&pk->wmu);
		return finish_pack(pk, w, trees, err);
	}
	while (pk->wpacks == (size_t)pk->nwriters && !pk->wfailed)
		pthread_cond_wait(&pk->wq_nf, &pk->wmu);
	if (pk->wfailed) {
		*err = pk->werr;
		pthread_mutex_unlock(&pk->wmu);
		cf_packw_free(w);
		return -1;
	}
	pk->wq[pk->wn++] = (struct wjob){w, trees, NULL, NULL, 0, 0};
	pk->wpacks++;
	pthread_cond_signal(&pk->wq_ne);
	pthread_mutex_unlock(&pk->wmu);
	return 0;
}

/* Wait until every submitted pack is stored; its first failure, if any. */
static int
drain_writers(struct cf_packer *pk, struct cf_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&pk->wmu);
	while (pk->wn > 0 || pk->busy > 0)
		pthread_cond_wait(&pk->w_idle, &pk->wmu);
	if (pk->wfailed) {
		*err = pk->werr;
		rc = -1;
	}
	pthread_mutex_unlock(&pk->wmu);
	return rc;
}

static void
stop_writers(struct cf_packer *pk)
{
	pthread_mutex_lock(&pk->wmu);
	pk->closing = 1;
	if (!pk->wfailed)
		cf_err_set(&pk->werr, CF_EINTERNAL, "the packer was stopped");
	pk->wfailed = 1; /* queued packs are dropped, not stored */
	pthread_cond_broadcast(&pk->wq_ne);
	pthread_cond_broadcast(&pk->wq_nf);
	pthread_mutex_unlock(&pk->wmu);
	for (int i = 0; i < pk->nwriters; i++)
		pthread_join(pk->writers[i], NULL);
	pk->nwriters = 0;
}

/* A pack past its target stays open while blobs still fit below its
 * padded (Padme) length, and is sealed once less than this is left: the
 * padding then costs next to nothing, where sealing at the target wasted
 * half a padding step (~1% of every pack) on average. */
#define MIN_ROOM 4096u

static uint64_t
waste(uint64_t len)
{
	return cf_padme(len) - len;
}

/* Add the blob to slot ${s}'s pack (a new one if it has none); detach the
 * pack into *full when it is done. Under s->mu. */
static int
put_locked(struct cf_packer *pk, struct slot *s, uint8_t type,
    const uint8_t *id, uint8_t flags, uint32_t rawlen, const uint8_t *p,
    size_t n, struct cf_packw **full, struct cf_err *err)
{
	uint64_t len;

	if (s->w == NULL) {
		if ((s->w = new_pack(pk, type == CF_BLOB_TREE, err)) == NULL)
			return -1;
		s->target = random_target();
	}
	if (cf_packw_add(s->w, type, id, flags, rawlen, p, n, err)) {
		/* A streamed pack whose piece could not go out is broken
		 * (its bytes and entries disagree): drop it, and its file. */
		if (cf_packw_stream_arg(s->w) != NULL) {
			cf_packw_free(s->w);
			s->w = NULL;
		}
		return -1;
	}
	len = cf_packw_sealed_size(s->w, 0, 0, 0);
	if (cf_packw_size(s->w) >= s->target && waste(len) < MIN_ROOM) {
		*full = s->w;
		s->w = NULL;
	}
	return 0;
}

/* Does the blob belong in slot ${s} as it is: no pack yet, a pack under
 * its target, or one with room for it below its padded length?  If not,
 * the padding the pack would have with the blob and sealed (*after).
 * Under s->mu. */
static int
takes(const struct slot *s, size_t n, uint32_t rawlen, uint64_t *after)
{
	uint64_t t0, t1;

	if (s->w == NULL || cf_packw_size(s->w) < s->target)
		return 1;
	t0 = cf_packw_sealed_size(s->w, 0, 0, 0);
	t1 = cf_packw_sealed_size(s->w, 1, n, rawlen);
	if (cf_padme(t1) == cf_padme(t0))
		return 1;
	*after = waste(t1);
	return 0;
}

/* Place one blob: trees in their own slot, data in one of NDATA slots,
 * tried from a random one, so that a file's chunks scatter over packs.
 * When every candidate is past its target and the blob fits none, it goes
 * where it leaves the least padding (below). */
static int
place(struct cf_packer *pk, uint8_t type, const uint8_t *id, uint8_t flags,
    uint32_t rawlen, const uint8_t *p, size_t n, struct cf_err *err)
{
	struct cf_packw *full = NULL;
	uint64_t after, best_waste = UINT64_MAX;
	int trees = type == CF_BLOB_TREE, cand = trees ? 1 : NDATA;
	int first = trees ? NDATA : (int)randombytes_uniform(NDATA);
	int best = first, took, rc;
	unsigned busy = 0;
	struct slot *s;

	/* A slot busy with another thread (handing a streamed pack's piece to
	 * the writer) is passed over, and waited for only if no other slot
	 * could be looked at. */
	for (int k = 0; k < 2 * cand; k++) {
		int again = k >= cand, bit = 1 << (k % cand);

		if (again &&
		    (!(busy & (unsigned)bit) || best_waste != UINT64_MAX))
			continue;
		s = &pk->slots[trees ? NDATA : (first + k) % NDATA];
		if (!again && cand > 1 && pthread_mutex_trylock(&s->mu) != 0) {
			busy |= (unsigned)bit;
			continue;
		}
		if (again || cand == 1)
			pthread_mutex_lock(&s->mu);
		if (takes(s, n, rawlen, &after)) {
			rc = put_locked(pk, s, type, id, flags, rawlen, p, n,
			    &full, err);
			pthread_mutex_unlock(&s->mu);
			goto submit;
		}
		pthread_mutex_unlock(&s->mu);
		if (after < best_waste) {
			best = (int)(s - pk->slots);
			best_waste = after;
		}
	}
	/* Every pack looked at is past its target and the blob fits none:
	 * it goes where it leaves the least padding, and that pack is sealed
	 * if the padding is small for how far the pack went past its target
	 * (1/32 of the overshoot): the longer a pack waits for a good end,
	 * the less it asks.  Packs end up to ~16 MiB past their target. */
	s = &pk->slots[best];
	pthread_mutex_lock(&s->mu);
	took = takes(s, n, rawlen, &after); /* another thread sealed it? */
	rc = put_locked(pk, s, type, id, flags, rawlen, p, n, &full, err);
	if (rc == 0 && !took && full == NULL && s->w != NULL) {
		uint64_t size = cf_packw_size(s->w);
		uint64_t len = cf_packw_sealed_size(s->w, 0, 0, 0);

		if (waste(len) <= (size - s->target) / 32 + MIN_ROOM) {
			full = s->w;
			s->w = NULL;
		}
	}
	pthread_mutex_unlock(&s->mu);
submit:
	if (full != NULL) {
		if (rc != 0)
			cf_packw_free(full);
		else
			rc = submit_pack(pk, full, trees, err);
	}
	return rc;
}

/* Claim ${id} for this session: 1 if it was new, 0 if already pending. */
static int
claim(struct cf_packer *pk, const uint8_t id[static 32], size_t rawlen,
    struct cf_err *err)
{
	int rc;

	pthread_mutex_lock(&pk->mu);
	rc = cf_idset_add(&pk->pending, id);
	if (rc == 1) {
		pk->st.blobs++;
		pk->st.raw_bytes += rawlen;
	}
	pthread_mutex_unlock(&pk->mu);
	if (rc < 0)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	return rc;
}

/** cf_packer_add(pk, type, id, p, n, zc, scratch, err): add one blob. */
int
cf_packer_add(struct cf_packer *pk, uint8_t type, const uint8_t id[static 32],
    const uint8_t *p, size_t n, struct cf_zc *zc, struct cf_buf *scratch,
    struct cf_err *err)
{
	int rc;

	if (n > CF_BLOB_MAX_RAW)
		return cf_err_set(err, CF_ELIMIT, "blob of %zu bytes too large",
		    n);
	if ((rc = claim(pk, id, n, err)) <= 0)
		return rc < 0 ? -1 : 1;
	if (cf_zc_compress(zc, p, n, scratch))
		return place(pk, type, id, CF_BLOB_ZSTD, (uint32_t)n,
		    scratch->p, scratch->len, err);
	return place(pk, type, id, 0, (uint32_t)n, p, n, err);
}

/** cf_packer_add_stored(pk, type, id, flags, rawlen, p, n, err): add a blob
 * as it was stored (compressed already if ${flags} say so). */
int
cf_packer_add_stored(struct cf_packer *pk, uint8_t type,
    const uint8_t id[static 32], uint8_t flags, uint32_t rawlen,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	int rc;

	if (rawlen > CF_BLOB_MAX_RAW || n > CF_BLOB_MAX_RAW + 1024)
		return cf_err_set(err, CF_ELIMIT, "blob of %u bytes too large",
		    rawlen);
	if ((rc = claim(pk, id, rawlen, err)) <= 0)
		return rc < 0 ? -1 : 1;
	return place(pk, type, id, flags, rawlen, p, n, err);
}

/** cf_packer_adopt(pk, pack, ents, n, err): index an orphaned pack. */
int
cf_packer_adopt(struct cf_packer *pk, const uint8_t pack[static 32],
    const struct cf_blobent *ents, size_t n, struct cf_err *err)
{
	int rc;

	pthread_mutex_lock(&pk->mu);
	rc = queue_locs(pk, pack, ents, n);
	pthread_mutex_unlock(&pk->mu);
	if (rc != 0)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	return 0;
}

/** cf_packer_flush(pk, err): close open packs and write the index. */
int
cf_packer_flush(struct cf_packer *pk, struct cf_err *err)
{
	for (int i = 0; i < NSLOTS; i++) {
		struct cf_packw *w;

		pthread_mutex_lock(&pk->slots[i].mu);
		w = pk->slots[i].w;
		pk->slots[i].w = NULL;
		pthread_mutex_unlock(&pk->slots[i].mu);
		if (w != NULL && cf_packw_count(w) == 0) {
			cf_packw_free(w);
			continue;
		}
		if (w != NULL && submit_pack(pk, w, i == NDATA, err))
			return -1;
	}
	if (drain_writers(pk, err))
		return -1;
	return maybe_write_index(pk, 1, err);
}

/** cf_packer_stats(pk, st): copy the counters. */
void
cf_packer_stats(struct cf_packer *pk, struct cf_packer_stats *st)
{
	pthread_mutex_lock(&pk->mu);
	*st = pk->st;
	pthread_mutex_unlock(&pk->mu);
}
