#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "engine/prune.h"
#include "repo/packer.h"

#define PLAN_VERSION 1
#define INDEX_CHUNK 200000 /* entries per rewritten index file */

struct plan {
	char name[65];
	int64_t time;
	uint8_t (*packs)[32];
	size_t n;
};

struct prunectx {
	struct cf_repo *r;
	const struct cf_prune_opts *o;
	struct cf_prune_result *res;
	struct cf_err *err;
	struct cf_idset used, trees;
	struct cf_idset claimed; /* used blobs whose copy is already counted */
	struct cf_idset owned;   /* blob ^ pack: the copy that counts */
	struct cf_idset planned; /* packs in some plan */
	struct plan *plans;
	size_t nplans;
	struct cf_zc *zc;
};

static void info(struct prunectx *c, const char *fmt, ...) CF_PRINTF(2, 3);

static void
info(struct prunectx *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (c->o->info == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->o->info(c->o->arg, "prune", line);
}

/* --- plans --- */

static int
decode_plan(const uint8_t *p, size_t n, struct plan *pl)
{
	uint8_t m0, m1, v;
	uint64_t cnt;
	struct cf_rd rd;

	cf_rd_init(&rd, p, n);
	if (cf_rd_u8(&rd, &m0) || cf_rd_u8(&rd, &m1) || cf_rd_u8(&rd, &v) ||
	    m0 != 'C' || m1 != 'P' || v != PLAN_VERSION ||
	    cf_rd_svar(&rd, &pl->time) || cf_rd_uvar(&rd, &cnt) ||
	    cnt != cf_rd_left(&rd) / 32 || cf_rd_left(&rd) % 32 != 0)
		return -1;
	if ((pl->packs = cf_alloc_array((size_t)cnt, 32)) == NULL)
		return -1;
	pl->n = (size_t)cnt;
	return cf_rd_fixed(&rd, pl->packs, pl->n * 32);
}

struct planload {
	struct cf_repo *r;
	struct plan **v;
	size_t *n;
	struct cf_err *err;
};

static int
load_plan(void *arg, const char *name, uint64_t size)
{
	struct planload *l = arg;
	uint8_t *plain = NULL;
	struct cf_buf b;
	struct plan pl = {0};
	size_t n;
	void *nv;
	int rc = 0;

	(void)size;
	cf_buf_init(&b, 256u << 20);
	if (cf_store_get(l->r->store, CF_KIND_META, name, 0, CF_GET_ALL, &b,
	        l->err) != 0) {
		rc = l->err->code == CF_ENOTFOUND ? 0 : -1;
		cf_err_clear(l->err);
	} else if (cf_keys_sym_open(l->r->keys, CF_OBJ_PLAN, b.p, b.len, &plain,
	               &n, l->err) != 0) {
		cf_err_clear(l->err); /* a forget record */
	} else if (decode_plan(plain, n, &pl) != 0) {
		free(pl.packs);
		rc = cf_err_set(l->err, CF_EFORMAT,
		    "prune plan %.16s is "
		    "malformed",
		    name);
	} else if ((nv = realloc(*l->v, (*l->n + 1) * sizeof(**l->v))) ==
	           NULL) {
		free(pl.packs);
		rc = cf_err_set(l->err, CF_ENOMEM, "out of memory");
	} else {
		*l->v = nv;
		memcpy(pl.name, name, 65);
		(*l->v)[(*l->n)++] = pl;
	}
	free(plain);
	cf_buf_release(&b);
	return rc;
}

static int
load_plans(struct cf_repo *r, struct plan **v, size_t *n, struct cf_err *err)
{
	struct planload l = {r, v, n, err};

	*v = NULL;
	*n = 0;
	return cf_store_list(r->store, CF_KIND_META, load_plan, &l, err) < 0
	           ? -1
	           : 0;
}

static void
free_plans(struct plan *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].packs);
	free(v);
}

/** cf_prune_doomed(r, set, err): packs named by any plan. */
int
cf_prune_doomed(struct cf_repo *r, struct cf_idset *set, struct cf_err *err)
{
	struct plan *v;
	size_t n;
	int rc = 0;

	if (load_plans(r, &v, &n, err) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		for (size_t j = 0; j < v[i].n && rc == 0; j++)
			if (cf_idset_add(set, v[i].packs[j]) < 0)
				rc =
				    cf_err_set(err, CF_ENOMEM, "out of memory");
	free_plans(v, n);
	return rc;
}

static int
write_plan(struct prunectx *c, uint8_t (*packs)[32], size_t n)
{
	struct cf_buf plain, env;
	char name[65];
	int rc = -1;

	cf_buf_init(&plain, 256u << 20);
	cf_buf_init(&env, 256u << 20);
	cf_buf_add_u8(&plain, 'C');
	cf_buf_add_u8(&plain, 'P');
	cf_buf_add_u8(&plain, PLAN_VERSION);
	cf_buf_add_svar(&plain, (int64_t)time(NULL));
	cf_buf_add_uvar(&plain, n);
	cf_buf_add(&plain, packs, n * 32);
	if (cf_buf_check(&plain, c->err, "prune plan") == 0 &&
	    cf_sym_seal(c->r->keys->index, CF_OBJ_PLAN, plain.p, plain.len,
	        &env, c->err) == 0 &&
	    cf_repo_put_object(c->r, CF_KIND_META, env.p, env.len, name,
	        c->err) == 0)
		rc = 0;
	cf_buf_release(&plain);
	cf_buf_release(&env);
	return rc;
}

/* --- what the snapshots use --- */

static int
use_tree(struct prunectx *c, const uint8_t id[32])
{
	struct cf_tree t;
	int rc = 0;

	if (cf_idset_has(&c->trees, id))
		return 0;
	if (cf_idset_add(&c->trees, id) < 0 || cf_idset_add(&c->used, id) < 0)
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	if (cf_repo_load_tree(c->r, id, c->zc, &t, c->err) != 0)
		return -1; /* never prune from a repository we cannot read */
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		const struct cf_node *n = &t.nodes[i];

		if (n->type == CF_NT_DIR)
			rc = use_tree(c, n->subtree);
		for (size_t k = 0; k < n->nchunks && rc == 0; k++)
			if (cf_idset_add(&c->used, n->chunks + 32 * k) < 0)
				rc = cf_err_set(c->err, CF_ENOMEM,
				    "out of memory");
	}
	cf_tree_release(&t);
	return rc;
}

static int
mark_used(struct prunectx *c, struct cf_snapshot **v, size_t n)
{
	int rc = 0;

	if (c->r->bad_snapshots > 0)
		return cf_err_set(c->err, CF_EAUTH,
		    "prune will not run while a "
		    "snapshot record is damaged (%s): run 'coffer check'",
		    c->r->bad_err.msg);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = use_tree(c, v[i]->tree);
	c->res->snapshots = n;
	c->res->used_blobs = c->used.n;
	return rc;
}

/* --- packs and their use --- */

struct packuse {
	uint8_t id[32];
	uint64_t bytes, used_bytes, blobs, used_blobs;
};

struct packlist {
	struct packuse *v;
	size_t n, cap;
};

static int
add_pack(void *arg, const uint8_t *pack, uint64_t nblobs)
{
	struct packlist *l = arg;

	(void)nblobs;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		void *np = cf_realloc_array(l->v, nc, sizeof(*l->v));

		if (np == NULL)
			return -1;
		l->v = np;
		l->cap = nc;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	memcpy(l->v[l->n++].id, pack, 32);
	return 0;
}

struct usectx {
	struct prunectx *c;
	struct packuse *u;
};

/* The key of "blob ${loc} in its pack" in c->owned. */
static void
owner_key(const struct cf_loc *loc, uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = loc->e.id[i] ^ loc->pack[i];
}

/* A used blob counts for the first pack that holds it (packs outside any
 * plan go first): a copy in a planned pack is then unused, so a repacked
 * pack is free to go once its blobs live elsewhere. */
static int
count_blob(void *arg, const struct cf_loc *loc)
{
	struct usectx *x = arg;

	x->u->blobs++;
	x->u->bytes += loc->e.len;
	if (cf_idset_has(&x->c->used, loc->e.id) &&
	    !cf_idset_has(&x->c->claimed, loc->e.id)) {
		uint8_t key[32];

		owner_key(loc, key);
		if (cf_idset_add(&x->c->claimed, loc->e.id) < 0 ||
		    cf_idset_add(&x->c->owned, key) < 0)
			return -1;
		x->u->used_blobs++;
		x->u->used_bytes += loc->e.len;
	}
	return 0;
}

static int
packuse_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32); /* id is the first member */
}

static int
list_packs(struct prunectx *c, struct packlist *l)
{
	memset(l, 0, sizeof(*l));
	cf_idset_release(&c->claimed);
	cf_idset_release(&c->owned);
	if (cf_index_each_pack(c->r->index, add_pack, l, c->err) != 0)
		return c->err->code ? -1 : cf_err_set(c->err, CF_ENOMEM, "oom");
	if (l->n > 0) /* sorted, for find_pack */
		qsort(l->v, l->n, sizeof(*l->v), packuse_cmp);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l->n; i++) {
			struct usectx x = {c, &l->v[i]};

			if (cf_idset_has(&c->planned, l->v[i].id) != pass)
				continue;
			if (cf_index_each_blob(c->r->index, l->v[i].id,
			        count_blob, &x, c->err) != 0)
				return c->err->code
				           ? -1
				           : cf_err_set(c->err, CF_ENOMEM,
				                 "out of memory");
		}
	return 0;
}

static struct packuse *
find_pack(struct packlist *l, const uint8_t id[32])
{
	return l->n ? bsearch(id, l->v, l->n, sizeof(*l->v), packuse_cmp)
	            : NULL;
}

/* --- step 1: carry out plans older than the grace period --- */

struct rewrite {
	struct prunectx *c;
	struct cf_loc *locs;
	size_t n;
	int rc;
};

static int
flush_index(struct rewrite *w)
{
	struct cf_buf plain, env;
	char name[65];
	int rc = -1;

	if (w->n == 0)
		return 0;
	cf_buf_init(&plain, 1u << 30);
	cf_buf_init(&env, 1u << 30);
	cf_indexfile_encode(w->locs, w->n, &plain);
	if (cf_buf_check(&plain, w->c->err, "index file") == 0 &&
	    cf_sym_seal(w->c->r->keys->index, CF_OBJ_INDEX, plain.p, plain.len,
	        &env, w->c->err) == 0 &&
	    cf_repo_put_object(w->c->r, CF_KIND_INDEX, env.p, env.len, name,
	        w->c->err) == 0)
		rc = 0;
	w->n = 0;
	cf_buf_release(&plain);
	cf_buf_release(&env);
	return rc;
}

static int
keep_blob(void *arg, const struct cf_loc *loc)
{
	struct rewrite *w = arg;

	w->locs[w->n++] = *loc;
	if (w->n == INDEX_CHUNK && flush_index(w) != 0)
		return -1;
	return 0;
}

struct names {
	char (*v)[65];
	size_t n, cap;
};

static int
add_name(void *arg, const char *name, uint64_t size)
{
	struct names *l = arg;

	(void)size;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		void *np = cf_realloc_array(l->v, nc, 65);

		if (np == NULL)
			return -1;
		l->v = np;
		l->cap = nc;
	}
	memcpy(l->v[l->n++], name, 65);
	return 0;
}

/* Write the index anew without the packs in ${gone}, then delete the index
 * files it replaces (${old}, all imported into the cache). */
static int
rewrite_index(struct prunectx *c, struct packlist *l, struct cf_idset *gone,
    struct names *old)
{
	struct rewrite w = {c, NULL, 0, 0};
	int rc = 0;

	if ((w.locs = cf_alloc_array(INDEX_CHUNK, sizeof(*w.locs))) == NULL)
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n && rc == 0; i++)
		if (!cf_idset_has(gone, l->v[i].id))
			rc = cf_index_each_blob(c->r->index, l->v[i].id,
			    keep_blob, &w, c->err);
	if (rc == 0)
		rc = flush_index(&w);
	for (size_t i = 0; i < old->n && rc == 0; i++) {
		rc =
		    cf_store_del(c->r->store, CF_KIND_INDEX, old->v[i], c->err);
		if (rc != 0 && c->err->code == CF_ENOTFOUND) {
			cf_err_clear(c->err);
			rc = 0;
		}
	}
	free(w.locs);
	return rc;
}

static int
delete_pack(struct prunectx *c, const uint8_t id[32], uint64_t bytes)
{
	char name[65];

	cf_hex(name, id, 32);
	if (cf_store_del(c->r->store, CF_KIND_PACK, name, c->err) != 0 &&
	    c->err->code != CF_ENOTFOUND)
		return -1;
	cf_err_clear(c->err);
	c->res->deleted++;
	c->res->deleted_bytes += bytes;
	return 0;
}

static int
finish_plans(struct prunectx *c, struct packlist *l, struct names *old)
{
	struct cf_idset gone = {0};
	int64_t now = (int64_t)time(NULL);
	int rc = 0, due = 0;

	for (size_t i = 0; i < c->nplans && rc == 0; i++) {
		if (c->plans[i].time + c->o->grace_s > now)
			continue;
		due++;
		for (size_t j = 0; j < c->plans[i].n && rc == 0; j++) {
			struct packuse *u = find_pack(l, c->plans[i].packs[j]);

			if (u != NULL && u->used_blobs > 0)
				c->res
				    ->kept_alive++; /* a backup used it since */
			else if (cf_idset_add(&gone, c->plans[i].packs[j]) < 0)
				rc = cf_err_set(c->err, CF_ENOMEM,
				    "out of memory");
		}
	}
	if (rc == 0 && due > 0 && !c->o->dry_run) {
		info(c, "deleting %zu packs of %d plans", gone.n, due);
		rc = rewrite_index(c, l, &gone, old);
		for (size_t i = 0; i < gone.cap && rc == 0; i++) {
			struct packuse *u;

			if (!gone.used[i])
				continue;
			u = find_pack(l, gone.v[i]);
			rc = delete_pack(c, gone.v[i], u ? u->bytes : 0);
		}
		for (size_t i = 0; i < c->nplans && rc == 0; i++)
			if (c->plans[i].time + c->o->grace_s <= now) {
				rc = cf_store_del(c->r->store, CF_KIND_META,
				    c->plans[i].name, c->err);
				c->plans[i].n = 0; /* its packs are done */
				c->res->plans_done++;
			}
	}
	cf_idset_release(&gone);
	return rc;
}

/* --- step 2: plan what to delete next time --- */

struct repackctx {
	struct prunectx *c;
	struct cf_packer *pk;
	struct cf_buf plain, ct;
	struct cf_loc *locs;
	size_t n, cap;
};

static int
gather(void *arg, const struct cf_loc *loc)
{
	struct repackctx *x = arg;
	uint8_t key[32];

	/* Only the copy that counts: a used blob whose counted copy lives
	 * in a pack that stays is not copied again (else duplicates, from
	 * two devices storing the same file or a killed repack, would be
	 * repacked forever and never go). */
	owner_key(loc, key);
	if (!cf_idset_has(&x->c->owned, key))
		return 0;
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 256;
		void *np = cf_realloc_array(x->locs, nc, sizeof(*x->locs));

		if (np == NULL)
			return -1;
		x->locs = np;
		x->cap = nc;
	}
	x->locs[x->n++] = *loc;
	return 0;
}

/* Decrypt the stored bytes of blob ${loc} of pack ${name} into x->plain. */
static int
open_stored(struct repackctx *x, const uint8_t key[CF_KEY_BYTES],
    const struct cf_loc *loc, uint64_t lo, const char *name)
{
	struct prunectx *c = x->c;
	size_t n = loc->e.len - CF_TAG_BYTES;

	x->plain.len = 0;
	if (cf_buf_reserve(&x->plain, n))
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	if (cf_pack_blob_open(key, &loc->e, x->ct.p + (loc->e.off - lo),
	        x->plain.p, c->err) != 0) {
		char b[17], m[sizeof(c->err->msg)];

		cf_hex(b, loc->e.id, 8);
		memcpy(m, c->err->msg, sizeof(m));
		return cf_err_set(c->err, c->err->code,
		    "blob %s in pack %.16s: %s", b, name, m);
	}
	return 0;
}

/* Copy the used blobs of one pack into new packs (not under the index's
 * lock: the blobs are gathered first).  One read spans them all; each blob
 * is decrypted, which authenticates it, and sealed again as it was stored,
 * still compressed: a repack of a vouched pack costs two passes of the
 * cipher, no zstd and no hashing.  A pack not vouched for (a write-only
 * credential's, an older key version's, or older than vouching) is first
 * read through once more, decompressing and hashing every blob, because
 * the new pack will be vouched for: a blob whose content does not match
 * its id must not become one that restores trust.  Such a pack is left as
 * it is, counted and named in the result (1); the prune goes on. */
static int
repack(struct repackctx *x, const uint8_t id[32])
{
	struct prunectx *c = x->c;
	uint64_t lo = UINT64_MAX, hi = 0;
	uint8_t key[CF_KEY_BYTES];
	struct cf_buf check;
	char name[65];
	int rc = 0, vouched = 0;

	x->n = 0;
	if (cf_index_each_blob(c->r->index, id, gather, x, c->err) != 0)
		return c->err->code ? -1 : cf_err_set(c->err, CF_ENOMEM, "oom");
	if (x->n == 0)
		return 0;
	for (size_t i = 0; i < x->n; i++) {
		const struct cf_blobent *e = &x->locs[i].e;

		if (e->len < CF_TAG_BYTES)
			return cf_err_set(c->err, CF_EFORMAT,
			    "index entry inconsistent");
		lo = e->off < lo ? e->off : lo;
		hi = e->off + e->len > hi ? e->off + e->len : hi;
	}
	cf_hex(name, id, 32);
	x->ct.len = 0;
	if (cf_store_get(c->r->store, CF_KIND_PACK, name, lo, hi - lo, &x->ct,
	        c->err) ||
	    cf_repo_pack_key(c->r, id, key, &vouched, c->err))
		return -1;
	cf_buf_init(&check, CF_BLOB_MAX_RAW + 4096);
	for (size_t i = 0; !vouched && i < x->n && rc == 0; i++) {
		const struct cf_loc *loc = &x->locs[i];

		if (open_stored(x, key, loc, lo, name) != 0)
			rc = -1;
		else if ((rc = cf_repo_blob_matches(c->r, loc, x->plain.p,
		              loc->e.len - CF_TAG_BYTES, c->zc, &check,
		              c->err)) == 1)
			rc = 0;
		else if (rc == 0) {
			rc = 1;
			if (c->res->bad_packs++ == 0) {
				cf_hex(c->res->bad_blob, loc->e.id, 8);
				memcpy(c->res->bad_pack, name, 16);
				c->res->bad_pack[16] = '\0';
			}
			info(c,
			    "pack %.16s kept as it is: blob %s does not match "
			    "its id",
			    name, c->res->bad_blob);
		}
	}
	for (size_t i = 0; i < x->n && rc == 0; i++) {
		const struct cf_loc *loc = &x->locs[i];

		if (open_stored(x, key, loc, lo, name) != 0 ||
		    cf_packer_add_stored(x->pk, loc->e.type, loc->e.id,
		        loc->e.flags, loc->e.rawlen, x->plain.p,
		        loc->e.len - CF_TAG_BYTES, c->err) < 0)
			rc = -1;
	}
	sodium_memzero(key, sizeof(key));
	cf_buf_release(&check);
	return rc;
}

static int
planned(struct prunectx *c, const uint8_t id[32])
{
	return cf_idset_has(&c->planned, id);
}

static int
index_plans(struct prunectx *c)
{
	cf_idset_release(&c->planned);
	for (size_t i = 0; i < c->nplans; i++)
		for (size_t j = 0; j < c->plans[i].n; j++)
			if (cf_idset_add(&c->planned, c->plans[i].packs[j]) < 0)
				return cf_err_set(c->err, CF_ENOMEM, "oom");
	return 0;
}

static double
unused_share(const struct packuse *u)
{
	return u->bytes ? 1.0 - (double)u->used_bytes / (double)u->bytes : 1.0;
}

static int
emptiest_first(const void *a, const void *b)
{
	const struct packuse *x = *(struct packuse *const *)a;
	const struct packuse *y = *(struct packuse *const *)b;
	double ux = unused_share(x), uy = unused_share(y);

	if (ux != uy)
		return ux > uy ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

static void
doom_pack(struct prunectx *c, const struct packuse *u, uint8_t (*doom)[32],
    size_t *nd)
{
	memcpy(doom[(*nd)++], u->id, 32);
	c->res->planned++;
	c->res->planned_bytes += u->bytes;
}

/* Packs that hold no used blob go.  Of the partly used ones, the emptiest
 * are repacked until the unused bytes left are at most max_unused of the
 * bytes left (restic's rule, for the whole repository: a per-pack rule
 * would copy most of a repository whose packs are each a little used). */
static int
choose(struct prunectx *c, struct packlist *l, uint8_t (*doom)[32], size_t *nd,
    struct repackctx *x)
{
	struct packuse **part;
	uint64_t total = 0, unused = 0;
	size_t np = 0;
	int rc = 0;

	*nd = 0;
	if ((part = cf_alloc_array(l->n + 1, sizeof(*part))) == NULL)
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++) {
		struct packuse *u = &l->v[i];

		if (planned(c, u->id))
			continue;
		if (u->used_blobs == 0) {
			doom_pack(c, u, doom, nd);
			continue;
		}
		total += u->bytes;
		unused += u->bytes - u->used_bytes;
		if (u->used_bytes < u->bytes)
			part[np++] = u;
	}
	if (np > 0)
		qsort(part, np, sizeof(*part), emptiest_first);
	for (size_t i = 0; i < np && rc == 0; i++) {
		struct packuse *u = part[i];
		uint64_t gone = u->bytes - u->used_bytes;

		if ((double)unused <= c->o->max_unused * (double)total)
			break;
		if (!c->o->dry_run && (rc = repack(x, u->id)) == 1) {
			rc = 0; /* a blob in it lies: kept as it is, named */
			continue;
		}
		c->res->repacked++;
		c->res->repacked_bytes += u->used_bytes; /* dry run too */
		doom_pack(c, u, doom, nd);
		unused -= gone;
		total -= gone;
	}
	free(part);
	return rc;
}

/* Packs in no index file and in no plan: what a killed backup or a killed
 * repack stored.  They are planned too: a backup still running indexes its
 * packs before it saves its snapshot, within the grace period, so by the
 * time the plan is carried out such a pack is indexed and used, and kept;
 * the others go.  Backups do not adopt a planned pack. */
struct orphans {
	struct prunectx *c;
	uint8_t (*v)[32];
	size_t n, cap;
};

static int
add_orphan(void *arg, const char *name, uint64_t size)
{
	struct orphans *o = arg;
	uint8_t id[32];
	int has;

	if (cf_unhex(id, 32, name) != 0 || planned(o->c, id))
		return 0;
	if ((has = cf_index_has_pack(o->c->r->index, id, o->c->err)) != 0)
		return has < 0 ? -1 : 0;
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 16;
		void *np = cf_realloc_array(o->v, nc, 32);

		if (np == NULL)
			return -1;
		o->v = np;
		o->cap = nc;
	}
	memcpy(o->v[o->n++], id, 32);
	o->c->res->planned++;
	o->c->res->planned_bytes += size;
	return 0;
}

static int
mark(struct prunectx *c, struct packlist *l)
{
	struct orphans orph = {c, NULL, 0, 0};
	struct repackctx x = {c, NULL, {0}, {0}, NULL, 0, 0};
	uint8_t(*doom)[32] = cf_alloc_array(l->n + 1, 32);
	size_t nd = 0;
	int rc;

	cf_buf_init(&x.plain, 2 * CF_BLOB_MAX_RAW + 4096);
	cf_buf_init(&x.ct, CF_PACK_MAX_BYTES);
	if (doom == NULL || (x.pk = cf_packer_new(c->r, c->err)) == NULL) {
		free(doom);
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	}
	rc = choose(c, l, doom, &nd, &x);
	if (rc == 0 && !c->o->dry_run)
		rc = cf_packer_flush(x.pk, c->err); /* copies indexed first */
	/* after the flush: the copies just made are indexed, not orphans */
	if (rc == 0 && cf_store_list(c->r->store, CF_KIND_PACK, add_orphan,
	                   &orph, c->err) != 0)
		rc = c->err->code ? -1 : cf_err_set(c->err, CF_ENOMEM, "oom");
	if (rc == 0 && orph.n > 0) {
		void *np = cf_realloc_array(doom, nd + orph.n, 32);

		if (np == NULL)
			rc = cf_err_set(c->err, CF_ENOMEM, "out of memory");
		else {
			doom = np;
			memcpy(doom[nd], orph.v, orph.n * 32);
			nd += orph.n;
		}
	}
	if (rc == 0 && nd > 0 && !c->o->dry_run) {
		info(c,
		    "planning %zu packs for deletion after the grace period",
		    nd);
		rc = write_plan(c, doom, nd);
	}
	cf_packer_free(x.pk);
	cf_buf_release(&x.plain);
	cf_buf_release(&x.ct);
	free(x.locs);
	free(orph.v);
	free(doom);
	return rc;
}

/** cf_prune(r, o, res, err): finish due plans, then plan anew. */
int
cf_prune(struct cf_repo *r, const struct cf_prune_opts *o,
    struct cf_prune_result *res, struct cf_err *err)
{
	struct prunectx c = {
	    r, o, res, err, {0}, {0}, {0}, {0}, {0}, NULL, 0, NULL};
	struct packlist l = {0};
	struct names old = {0};
	struct cf_snapshot **sv = NULL;
	size_t sn = 0;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if (r->keys->write_only)
		return cf_err_set(err, CF_EUSAGE,
		    "a write-only key cannot prune");
	if ((c.zc = cf_zc_new(r->zstd_level)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	/* Writes in flight older than the grace period belong to processes
	 * that died: no backup runs that long. */
	if (!o->dry_run &&
	    cf_store_sweep(r->store, (int64_t)time(NULL) - o->grace_s,
	        &res->swept, &res->swept_bytes, err) != 0) {
		cf_zc_free(c.zc);
		return -1;
	}
	/* The index files the rewrite may replace: all of them imported.
	 * The snapshots are listed before the index is read: a backup writes
	 * its index files before its snapshot, so the blobs of every snapshot
	 * listed are found (one saved after the sync would name a tree the
	 * cache does not know yet). */
	if (cf_store_list(r->store, CF_KIND_INDEX, add_name, &old, err) != 0 ||
	    cf_repo_snapshots(r, &sv, &sn, err) != 0 ||
	    cf_repo_sync_index(r, err) != 0 ||
	    load_plans(r, &c.plans, &c.nplans, err) != 0 ||
	    mark_used(&c, sv, sn) != 0 || index_plans(&c) != 0 ||
	    list_packs(&c, &l) != 0 || finish_plans(&c, &l, &old) != 0)
		goto out;
	if (res->plans_done > 0) {
		free(l.v);
		if (index_plans(&c) != 0 || cf_repo_sync_index(r, err) != 0 ||
		    list_packs(&c, &l) != 0)
			goto out;
	}
	rc = mark(&c, &l);
out:
	free(l.v);
	free(old.v);
	cf_snapshots_free(sv, sn);
	free_plans(c.plans, c.nplans);
	cf_idset_release(&c.used);
	cf_idset_release(&c.trees);
	cf_idset_release(&c.claimed);
	cf_idset_release(&c.owned);
	cf_idset_release(&c.planned);
	cf_zc_free(c.zc);
	return rc;
}
