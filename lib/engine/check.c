/*
 * check.c: verify a repository.  Structure: every snapshot decrypts and
 * matches its name; every pack's footer and header authenticate and agree
 * with the index; every tree reachable from a snapshot decrypts, matches its
 * id and decodes; every chunk a file names is in the index.  With
 * read_data: every pack hashes to its name and every blob decrypts,
 * decompresses and hashes to its id.  Each problem is reported by name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "util/idset.h"

struct packinfo {
	char name[65];
	uint64_t size;
};

struct chk {
	struct cf_repo *r;
	const struct cf_check_opts *o;
	struct cf_check_result *res;
	struct cf_err *err;
	struct cf_zc *zc;
	struct cf_idset trees, chunks;
	struct packinfo *packs;
	size_t npacks, cappacks;
	struct cf_blobent *hdr; /* header of the pack being compared */
	size_t nhdr;
	const char *pack;
};

static void problem(struct chk *c, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct chk *c, int is_error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (is_error)
		c->res->errors++;
	else
		c->res->warnings++;
	if (c->o->warn != NULL)
		c->o->warn(c->o->arg, is_error ? "error" : "warning", msg);
}

static int
collect_pack(void *arg, const char *name, uint64_t size)
{
	struct chk *c = arg;

	if (c->npacks == c->cappacks) {
		size_t nc = c->cappacks ? c->cappacks * 2 : 256;
		void *np = cf_realloc_array(c->packs, nc, sizeof(*c->packs));

		if (np == NULL)
			return cf_err_set(c->err, CF_ENOMEM, "out of memory");
		c->packs = np;
		c->cappacks = nc;
	}
	memcpy(c->packs[c->npacks].name, name, 65);
	c->packs[c->npacks++].size = size;
	return 0;
}

static int
pack_cmp(const void *a, const void *b)
{
	return strcmp(((const struct packinfo *)a)->name,
	    ((const struct packinfo *)b)->name);
}

static int
compare_entry(void *arg, const struct cf_loc *l)
{
	struct chk *c = arg;
	const struct cf_blobent *h;
	char id[17];

	cf_hex(id, l->e.id, 8);
	if (l->e.seq >= c->nhdr) {
		problem(c, 1,
		    "pack %.16s: index names blob %s that the pack "
		    "does not hold",
		    c->pack, id);
		return 0;
	}
	h = &c->hdr[l->e.seq];
	if (memcmp(h->id, l->e.id, 32) != 0 || h->off != l->e.off ||
	    h->len != l->e.len || h->rawlen != l->e.rawlen ||
	    h->type != l->e.type || h->flags != l->e.flags)
		problem(c, 1, "pack %.16s: blob %s differs from the index",
		    c->pack, id);
	return 0;
}

static int
read_data(struct chk *c, const struct packinfo *p)
{
	struct cf_buf b, out;
	struct cf_loc loc;
	struct cf_err e2;
	uint8_t h[32];
	char hex[65];

	cf_buf_init(&b, CF_PACK_MAX_BYTES);
	cf_buf_init(&out, 2 * CF_BLOB_MAX_RAW);
	if (cf_store_get(c->r->store, CF_KIND_PACK, p->name, 0, CF_GET_ALL, &b,
	        &e2) != 0) {
		problem(c, 1, "pack %.16s: %s", p->name, e2.msg);
		goto out;
	}
	cf_crypto_hash(b.p, b.len, h);
	cf_hex(hex, h, 32);
	if (strcmp(hex, p->name) != 0)
		problem(c, 1, "pack %.16s: content does not match its name",
		    p->name);
	for (size_t i = 0; i < c->nhdr; i++) {
		if (cf_unhex(loc.pack, 32, p->name))
			break;
		loc.e = c->hdr[i];
		c->res->blobs++;
		if (cf_repo_open_blob(c->r, &loc, b.p + loc.e.off, c->zc, 1,
		        &out, &e2) != 0)
			problem(c, 1, "%s", e2.msg);
		if (c->o->ctr != NULL)
			atomic_fetch_add(&c->o->ctr->bytes, loc.e.len);
	}
out:
	cf_buf_release(&b);
	cf_buf_release(&out);
	return 0;
}

static int
check_pack(struct chk *c, const struct packinfo *p)
{
	struct cf_err e2;
	uint8_t id[32];
	int known;

	c->res->packs++;
	if (cf_unhex(id, 32, p->name))
		return 0;
	if (cf_repo_read_pack_header(c->r, p->name, p->size, &c->hdr, &c->nhdr,
	        &e2) != 0) {
		problem(c, 1, "pack %.16s: %s", p->name, e2.msg);
		return 0;
	}
	c->pack = p->name;
	if ((known = cf_index_has_pack(c->r->index, id, c->err)) < 0 ||
	    cf_index_each_blob(c->r->index, id, compare_entry, c, c->err) < 0)
		goto fail;
	if (!known)
		problem(c, 0,
		    "pack %.16s is in no index file (left by an "
		    "interrupted backup; the next backup indexes it)",
		    p->name);
	if (c->o->read_data)
		read_data(c, p);
	free(c->hdr);
	c->hdr = NULL;
	return 0;
fail:
	free(c->hdr);
	c->hdr = NULL;
	return -1;
}

static int
indexed_pack(void *arg, const uint8_t *pack, uint64_t nblobs)
{
	struct chk *c = arg;
	struct packinfo key;

	(void)nblobs;
	cf_hex(key.name, pack, 32);
	if (c->npacks == 0 ||
	    bsearch(&key, c->packs, c->npacks, sizeof(key), pack_cmp) == NULL)
		problem(c, 1,
		    "pack %.16s is in the index but missing from the "
		    "repository",
		    key.name);
	return 0;
}

static int
check_packs(struct chk *c)
{
	if (cf_store_list(c->r->store, CF_KIND_PACK, collect_pack, c, c->err))
		return -1;
	if (c->npacks > 1)
		qsort(c->packs, c->npacks, sizeof(*c->packs), pack_cmp);
	if (cf_index_each_pack(c->r->index, indexed_pack, c, c->err))
		return -1;
	for (size_t i = 0; i < c->npacks; i++)
		if (check_pack(c, &c->packs[i]))
			return -1;
	return 0;
}

static int
check_file(struct chk *c, const char *path, const struct cf_node *n)
{
	struct cf_loc loc;
	int rc;

	for (size_t i = 0; i < n->nchunks; i++) {
		const uint8_t *id = n->chunks + 32 * i;

		if (cf_idset_has(&c->chunks, id))
			continue;
		rc = cf_index_lookup(c->r->index, id, &loc, c->err);
		if (rc < 0)
			return -1;
		if (rc == 1 || loc.e.type != CF_BLOB_DATA) {
			char hex[17];

			cf_hex(hex, id, 8);
			problem(c, 1, "%s: chunk %s is missing", path, hex);
		} else if (cf_idset_add(&c->chunks, id) < 0) {
			return cf_err_set(c->err, CF_ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int
check_tree(struct chk *c, const uint8_t id[static 32], const char *path)
{
	struct cf_tree t;
	struct cf_err e2;
	int rc = 0;

	if (cf_idset_has(&c->trees, id))
		return 0;
	if (cf_idset_add(&c->trees, id) < 0)
		return cf_err_set(c->err, CF_ENOMEM, "out of memory");
	c->res->trees++;
	if (cf_repo_load_tree(c->r, id, c->zc, &t, &e2) != 0) {
		problem(c, 1, "%s: %s", path[0] ? path : "/", e2.msg);
		return 0;
	}
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		const struct cf_node *n = &t.nodes[i];
		char *p = cf_path_join(path, (const char *)n->name, n->namelen);

		if (p == NULL)
			rc = cf_err_set(c->err, CF_ENOMEM, "out of memory");
		else if (n->type == CF_NT_DIR)
			rc = check_tree(c, n->subtree, p);
		else if (n->type == CF_NT_FILE)
			rc = check_file(c, p, n);
		free(p);
	}
	cf_tree_release(&t);
	return rc;
}

static int
check_snapshot(void *arg, const char *name, uint64_t size)
{
	struct chk *c = arg;
	struct cf_snapshot *s;
	struct cf_err e2;
	char prefix[32];
	int rc;

	(void)size;
	c->res->snapshots++;
	if ((s = cf_repo_load_snapshot(c->r, name, &e2)) == NULL) {
		problem(c, 1, "%s", e2.msg);
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "snapshot %.8s:", name);
	rc = check_tree(c, s->tree, prefix);
	cf_snapshot_free(s);
	return rc;
}

/** cf_check(r, o, res, err): verify the repository. */
int
cf_check(struct cf_repo *r, const struct cf_check_opts *o,
    struct cf_check_result *res, struct cf_err *err)
{
	struct chk c = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	c.r = r;
	c.o = o;
	c.res = res;
	c.err = err;
	if ((c.zc = cf_zc_new(0)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	rc = check_packs(&c);
	if (rc == 0)
		rc = cf_store_list(r->store, CF_KIND_SNAPSHOT, check_snapshot,
		    &c, err);
	cf_zc_free(c.zc);
	cf_idset_release(&c.trees);
	cf_idset_release(&c.chunks);
	free(c.packs);
	return rc;
}
