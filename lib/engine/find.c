/*
 * find.c: which snapshots hold a path matching a pattern.
 *
 * Years of snapshots share most of their trees: a folder that did not
 * change keeps its tree id.  So each distinct (tree id, path) is read once;
 * what it holds is remembered as a small record (the matches directly in
 * it, and the records of its subfolders that hold any), and meeting it
 * again in another snapshot only walks that record.  Identical entries
 * (path, type, size, mtime) found in several snapshots are one match.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"

struct hnode {
	struct hnode *next;
	uint64_t h;
};

struct htab {
	struct hnode **b;
	size_t mask, n;
};

struct mrec {
	struct hnode hn; /* first: a struct mrec is a struct hnode */
	struct cf_find_match m;
	size_t cap;
};

struct memo {
	struct hnode hn; /* first */
	uint8_t id[32];
	char *prefix;
	struct mrec **m; /* matches directly in this folder */
	size_t nm, capm;
	struct memo **kids; /* subfolders that hold matches */
	size_t nk, capk;
};

struct fctx {
	struct cf_repo *r;
	struct cf_zc *zc;
	const char *pat;
	uint32_t snap;
	struct htab memos, matches;
	struct mrec **all;
	size_t nall, capall;
	uint64_t pairs;
	struct cf_find_result *res;
	struct cf_err *err;
};

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static int
ht_add(struct htab *t, struct hnode *e)
{
	if (t->n >= (t->mask + 1) / 2 * 3 || t->b == NULL) {
		size_t nb = t->b == NULL ? 1024 : 2 * (t->mask + 1);
		struct hnode **b = calloc(nb, sizeof(*b));

		if (b == NULL)
			return -1;
		for (size_t i = 0; t->b != NULL && i <= t->mask; i++)
			for (struct hnode *x = t->b[i], *nx; x != NULL;
			     x = nx) {
				nx = x->next;
				x->next = b[x->h & (nb - 1)];
				b[x->h & (nb - 1)] = x;
			}
		free(t->b);
		t->b = b;
		t->mask = nb - 1;
	}
	e->next = t->b[e->h & t->mask];
	t->b[e->h & t->mask] = e;
	t->n++;
	return 0;
}

static struct hnode *
ht_first(const struct htab *t, uint64_t h)
{
	return t->b == NULL ? NULL : t->b[h & t->mask];
}

/* Room for one more ${size}-byte item in ${v} (${n} used, *cap
 * allocated): the array, perhaps moved, or NULL (${v} is then kept). */
static void *
grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t nc;
	void *nv;

	if (n < *cap)
		return v;
	nc = *cap ? 2 * *cap : 4;
	if ((nv = cf_realloc_array(v, nc, size)) != NULL)
		*cap = nc;
	return nv;
}

static int
nomem(struct fctx *x)
{
	return cf_err_set(x->err, CF_ENOMEM, "out of memory");
}

static int
add_snap(struct fctx *x, struct mrec *mr)
{
	struct cf_find_match *m = &mr->m;
	uint32_t *ns;

	if (m->nsnaps > 0 && m->snaps[m->nsnaps - 1] == x->snap)
		return 0;
	if (x->pairs >= CF_FIND_MAX_PAIRS)
		return cf_err_set(x->err, CF_ELIMIT,
		    "more than %u matches across snapshots: narrow the "
		    "pattern or use --newest",
		    CF_FIND_MAX_PAIRS);
	if ((ns = grow(m->snaps, m->nsnaps, &mr->cap, sizeof(*ns))) == NULL)
		return nomem(x);
	m->snaps = ns;
	m->snaps[m->nsnaps++] = x->snap;
	x->pairs++;
	return 0;
}

static uint64_t
match_hash(const char *path, const struct cf_node *n)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, path, strlen(path));

	h = fnv(h, &n->type, 1);
	h = fnv(h, &n->size, sizeof(n->size));
	h = fnv(h, &n->mtime_s, sizeof(n->mtime_s));
	return fnv(h, &n->mtime_ns, sizeof(n->mtime_ns));
}

static int
same_match(const struct cf_find_match *m, const char *path,
    const struct cf_node *n)
{
	return m->type == n->type && m->size == n->size &&
	       m->mtime_s == n->mtime_s && m->mtime_ns == n->mtime_ns &&
	       strcmp(m->path, path) == 0;
}

static struct mrec *
new_match(struct fctx *x, const char *path, const struct cf_node *n, uint64_t h)
{
	struct mrec *mr, **all;

	if (x->nall >= CF_FIND_MAX_MATCHES) {
		cf_err_set(x->err, CF_ELIMIT,
		    "more than %u matches: narrow the pattern",
		    CF_FIND_MAX_MATCHES);
		return NULL;
	}
	if ((all = grow(x->all, x->nall, &x->capall, sizeof(*all))) == NULL ||
	    (x->all = all, mr = calloc(1, sizeof(*mr))) == NULL) {
		nomem(x);
		return NULL;
	}
	x->all[x->nall++] = mr;
	mr->hn.h = h;
	mr->m = (struct cf_find_match){.path = strdup(path),
	    .type = n->type,
	    .size = n->size,
	    .mtime_s = n->mtime_s,
	    .mtime_ns = n->mtime_ns};
	if (mr->m.path == NULL || ht_add(&x->matches, &mr->hn) != 0) {
		nomem(x);
		return NULL;
	}
	return mr;
}

/* The match for entry ${n} at ${path}, now seen in x->snap. */
static struct mrec *
match_get(struct fctx *x, const char *path, const struct cf_node *n)
{
	uint64_t h = match_hash(path, n);
	struct hnode *e = ht_first(&x->matches, h);
	struct mrec *mr = NULL;

	for (; e != NULL && mr == NULL; e = e->next)
		if (e->h == h && same_match(&((struct mrec *)e)->m, path, n))
			mr = (struct mrec *)e;
	if (mr == NULL && (mr = new_match(x, path, n, h)) == NULL)
		return NULL;
	return add_snap(x, mr) == 0 ? mr : NULL;
}

static uint64_t
memo_hash(const uint8_t id[static 32], const char *prefix)
{
	return fnv(fnv(0xcbf29ce484222325ull, id, 32), prefix, strlen(prefix));
}

static struct memo *
memo_find(struct fctx *x, const uint8_t id[static 32], const char *prefix,
    uint64_t h)
{
	for (struct hnode *e = ht_first(&x->memos, h); e != NULL; e = e->next) {
		struct memo *mo = (struct memo *)e;

		if (e->h == h && memcmp(mo->id, id, 32) == 0 &&
		    strcmp(mo->prefix, prefix) == 0)
			return mo;
	}
	return NULL;
}

static void
memo_free(struct memo *mo)
{
	if (mo == NULL)
		return;
	free(mo->prefix);
	free(mo->m);
	free(mo->kids);
	free(mo);
}

/* Add x->snap to everything a remembered folder holds. */
static int
apply(struct fctx *x, const struct memo *mo)
{
	for (size_t i = 0; i < mo->nm; i++)
		if (add_snap(x, mo->m[i]) != 0)
			return -1;
	for (size_t i = 0; i < mo->nk; i++)
		if (apply(x, mo->kids[i]) != 0)
			return -1;
	return 0;
}

static struct memo *visit(struct fctx *x, const uint8_t id[static 32],
    const char *prefix);

static int
memo_add_match(struct fctx *x, struct memo *mo, struct mrec *mr)
{
	struct mrec **v = grow(mo->m, mo->nm, &mo->capm, sizeof(*v));

	if (v == NULL)
		return nomem(x);
	mo->m = v;
	mo->m[mo->nm++] = mr;
	return 0;
}

static int
memo_add_kid(struct fctx *x, struct memo *mo, struct memo *kid)
{
	struct memo **v;

	if (kid->nm == 0 && kid->nk == 0)
		return 0; /* nothing in there: no need to walk it again */
	if ((v = grow(mo->kids, mo->nk, &mo->capk, sizeof(*v))) == NULL)
		return nomem(x);
	mo->kids = v;
	mo->kids[mo->nk++] = kid;
	return 0;
}

/* One entry of a folder being read for the first time. */
static int
scan_one(struct fctx *x, struct memo *mo, const char *prefix,
    const struct cf_node *n)
{
	size_t pl = strlen(prefix);
	char *path =
	    cf_path_join(pl ? prefix : "/", (const char *)n->name, n->namelen);
	struct mrec *mr;
	struct memo *kid;
	int rc = 0;

	if (path == NULL)
		return nomem(x);
	if (cf_exclude_match(&x->pat, 1, path, path + pl + 1))
		rc = (mr = match_get(x, path, n)) == NULL
		         ? -1
		         : memo_add_match(x, mo, mr);
	if (rc == 0 && n->type == CF_NT_DIR)
		rc = (kid = visit(x, n->subtree, path)) == NULL
		         ? -1
		         : memo_add_kid(x, mo, kid);
	free(path);
	return rc;
}

static struct memo *
visit(struct fctx *x, const uint8_t id[static 32], const char *prefix)
{
	uint64_t h = memo_hash(id, prefix);
	struct memo *mo = memo_find(x, id, prefix, h);
	struct cf_tree t;
	int rc = 0;

	if (mo != NULL) {
		x->res->trees_reused++;
		return apply(x, mo) == 0 ? mo : NULL;
	}
	if (cf_repo_load_tree(x->r, id, x->zc, &t, x->err) != 0)
		return NULL;
	x->res->trees_read++;
	if ((mo = calloc(1, sizeof(*mo))) == NULL ||
	    (mo->prefix = strdup(prefix)) == NULL)
		rc = nomem(x);
	for (size_t i = 0; rc == 0 && i < t.n; i++)
		rc = scan_one(x, mo, prefix, &t.nodes[i]);
	cf_tree_release(&t);
	if (rc == 0) {
		memcpy(mo->id, id, 32);
		mo->hn.h = h;
		if (ht_add(&x->memos, &mo->hn) == 0)
			return mo;
		nomem(x);
	}
	memo_free(mo);
	return NULL;
}

static int
match_cmp(const void *a, const void *b)
{
	const struct cf_find_match *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	return x->snaps[0] < y->snaps[0] ? -1 : x->snaps[0] > y->snaps[0];
}

/* Move the matches into res->v, sorted by path, newest first. */
static int
collect(struct fctx *x)
{
	struct cf_find_result *res = x->res;

	if ((res->v = cf_alloc_array(x->nall + 1, sizeof(*res->v))) == NULL)
		return nomem(x);
	for (size_t i = 0; i < x->nall; i++) {
		res->v[i] = x->all[i]->m;
		x->all[i]->m = (struct cf_find_match){0};
	}
	res->n = x->nall;
	qsort(res->v, res->n, sizeof(*res->v), match_cmp);
	return 0;
}

static void
fctx_release(struct fctx *x)
{
	for (size_t i = 0; x->memos.b != NULL && i <= x->memos.mask; i++)
		for (struct hnode *e = x->memos.b[i], *nx; e != NULL; e = nx) {
			nx = e->next;
			memo_free((struct memo *)e);
		}
	for (size_t i = 0; i < x->nall; i++) {
		free(x->all[i]->m.path);
		free(x->all[i]->m.snaps);
		free(x->all[i]);
	}
	free(x->all);
	free(x->memos.b);
	free(x->matches.b);
	cf_zc_free(x->zc);
}

/** cf_find(r, snaps, n, pattern, res, err): search snapshots. */
int
cf_find(struct cf_repo *r, struct cf_snapshot *const *snaps, size_t n,
    const char *pattern, struct cf_find_result *res, struct cf_err *err)
{
	struct fctx x = {
	    .r = r, .zc = cf_zc_new(0), .pat = pattern, .res = res, .err = err};
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (x.zc == NULL)
		rc = nomem(&x);
	if (n > UINT32_MAX)
		rc = cf_err_set(err, CF_ELIMIT, "too many snapshots");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		x.snap = (uint32_t)i;
		if (visit(&x, snaps[i]->tree, "") == NULL)
			rc = -1;
	}
	if (rc == 0)
		rc = collect(&x);
	fctx_release(&x);
	if (rc != 0)
		cf_find_release(res);
	return rc;
}

/** cf_find_release(res): free the matches; a zeroed result is fine. */
void
cf_find_release(struct cf_find_result *res)
{
	for (size_t i = 0; res->v != NULL && i < res->n; i++) {
		free(res->v[i].path);
		free(res->v[i].snaps);
	}
	free(res->v);
	memset(res, 0, sizeof(*res));
}
