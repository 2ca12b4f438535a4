/* browse.c: reading snapshots: resolve a path, walk, dump, diff. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"

/** cf_find_node(r, tree, path, zc, node, t, err): resolve ${path}. */
int
cf_find_node(struct cf_repo *r, const uint8_t tree[static 32], const char *path,
    struct cf_zc *zc, const struct cf_node **node, struct cf_tree *t,
    struct cf_err *err)
{
	uint8_t cur[32];
	const char *p = path;
	const struct cf_node *n = NULL;

	memcpy(cur, tree, 32);
	memset(t, 0, sizeof(*t));
	while (*p == '/')
		p++;
	if (*p == '\0')
		return cf_err_set(err, CF_EUSAGE, "path is the snapshot root");
	while (*p != '\0') {
		const char *e = strchr(p, '/');
		size_t nl = e ? (size_t)(e - p) : strlen(p);

		if (n != NULL && n->type != CF_NT_DIR) {
			cf_tree_release(t);
			return cf_err_set(err, CF_ENOTFOUND,
			    "%s: not a folder in the snapshot", path);
		}
		if (n != NULL) {
			memcpy(cur, n->subtree, 32);
			cf_tree_release(t);
		}
		if (cf_repo_load_tree(r, cur, zc, t, err))
			return -1;
		if ((n = cf_tree_find(t, p, nl)) == NULL) {
			cf_tree_release(t);
			return cf_err_set(err, CF_ENOTFOUND,
			    "%s: no such path in the snapshot", path);
		}
		p += nl;
		while (*p == '/')
			p++;
	}
	*node = n;
	return 0;
}

struct walkctx {
	struct cf_repo *r;
	struct cf_zc *zc;
	cf_walk_fn fn;
	void *arg;
	struct cf_err *err;
};

static int
walk_rec(struct walkctx *w, const uint8_t id[static 32], const char *prefix)
{
	struct cf_tree t;
	int rc = 0;

	if (cf_repo_load_tree(w->r, id, w->zc, &t, w->err))
		return -1;
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		const struct cf_node *n = &t.nodes[i];
		char *path =
		    cf_path_join(prefix, (const char *)n->name, n->namelen);

		if (path == NULL) {
			rc = cf_err_set(w->err, CF_ENOMEM, "out of memory");
			break;
		}
		rc = w->fn(w->arg, path, n);
		if (rc == 0 && n->type == CF_NT_DIR)
			rc = walk_rec(w, n->subtree, path);
		free(path);
	}
	cf_tree_release(&t);
	return rc;
}

/** cf_walk(r, tree, prefix, fn, arg, err): pre-order walk. */
int
cf_walk(struct cf_repo *r, const uint8_t tree[static 32], const char *prefix,
    cf_walk_fn fn, void *arg, struct cf_err *err)
{
	struct walkctx w = {r, cf_zc_new(0), fn, arg, err};
	int rc;

	if (w.zc == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	rc = walk_rec(&w, tree, prefix);
	cf_zc_free(w.zc);
	return rc;
}

/** cf_dump(r, n, fd, err): write a file's content to ${fd}. */
int
cf_dump(struct cf_repo *r, const struct cf_node *n, int fd, struct cf_err *err)
{
	struct cf_zc *zc = cf_zc_new(0);
	struct cf_buf b;
	int rc = 0;

	if (n->type != CF_NT_FILE) {
		cf_zc_free(zc);
		return cf_err_set(err, CF_EUSAGE, "not a regular file");
	}
	if (zc == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_buf_init(&b, CF_BLOB_MAX_RAW * 2);
	for (size_t i = 0; i < n->nchunks && rc == 0; i++) {
		size_t done = 0;

		rc = cf_repo_load_blob(r, n->chunks + 32 * i, CF_BLOB_DATA, zc,
		    &b, err);
		while (rc == 0 && done < b.len) {
			ssize_t w = write(fd, b.p + done, b.len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = cf_err_sys(err, "cannot write output");
			else
				done += (size_t)w;
		}
	}
	cf_buf_release(&b);
	cf_zc_free(zc);
	return rc;
}

struct diffctx {
	struct cf_repo *r;
	struct cf_zc *zc;
	cf_diff_fn fn;
	void *arg;
	struct cf_err *err;
};

static int diff_rec(struct diffctx *d, const uint8_t *a, const uint8_t *b,
    const char *prefix);

static int
report_all(struct diffctx *d, char what, const char *path,
    const struct cf_node *n)
{
	int rc = what == '+' ? d->fn(d->arg, what, path, NULL, n)
	                     : d->fn(d->arg, what, path, n, NULL);

	if (rc == 0 && n->type == CF_NT_DIR)
		rc = what == '+' ? diff_rec(d, NULL, n->subtree, path)
		                 : diff_rec(d, n->subtree, NULL, path);
	return rc;
}

static int
same_meta(const struct cf_node *a, const struct cf_node *b)
{
	return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns &&
	       a->xattrslen == b->xattrslen &&
	       memcmp(a->xattrs, b->xattrs, a->xattrslen) == 0;
}

static int
diff_pair(struct diffctx *d, const struct cf_node *a, const struct cf_node *b,
    const char *path)
{
	if (a->type != b->type) {
		int rc = report_all(d, '-', path, a);

		return rc ? rc : report_all(d, '+', path, b);
	}
	if (a->type == CF_NT_DIR) {
		int rc = 0;

		if (!same_meta(a, b))
			rc = d->fn(d->arg, 'U', path, a, b);
		if (rc == 0 && memcmp(a->subtree, b->subtree, 32) != 0)
			rc = diff_rec(d, a->subtree, b->subtree, path);
		return rc;
	}
	if (a->nchunks != b->nchunks ||
	    memcmp(a->chunks, b->chunks, 32 * a->nchunks) != 0 ||
	    a->targetlen != b->targetlen ||
	    memcmp(a->target, b->target, a->targetlen) != 0 ||
	    a->rdev != b->rdev)
		return d->fn(d->arg, 'M', path, a, b);
	if (!same_meta(a, b))
		return d->fn(d->arg, 'U', path, a, b);
	return 0;
}

static int
diff_step(struct diffctx *d, const struct cf_tree *ta, size_t *i,
    const struct cf_tree *tb, size_t *j, const char *prefix)
{
	const struct cf_node *a = *i < ta->n ? &ta->nodes[*i] : NULL;
	const struct cf_node *b = *j < tb->n ? &tb->nodes[*j] : NULL;
	const struct cf_node *n;
	char *path;
	int c, rc;

	if (a != NULL && b != NULL)
		c = cf_tree_name_cmp(a->name, a->namelen, b->name, b->namelen);
	else
		c = a != NULL ? -1 : 1;
	n = c <= 0 ? a : b;
	if ((path = cf_path_join(prefix, (const char *)n->name, n->namelen)) ==
	    NULL)
		return cf_err_set(d->err, CF_ENOMEM, "out of memory");
	if (c < 0)
		rc = report_all(d, '-', path, a);
	else if (c > 0)
		rc = report_all(d, '+', path, b);
	else
		rc = diff_pair(d, a, b, path);
	*i += c <= 0;
	*j += c >= 0;
	free(path);
	return rc;
}

static int
diff_rec(struct diffctx *d, const uint8_t *a, const uint8_t *b,
    const char *prefix)
{
	struct cf_tree ta = {0}, tb = {0};
	size_t i = 0, j = 0;
	int rc = 0;

	if ((a != NULL && cf_repo_load_tree(d->r, a, d->zc, &ta, d->err)) ||
	    (b != NULL && cf_repo_load_tree(d->r, b, d->zc, &tb, d->err))) {
		cf_tree_release(&ta);
		return -1;
	}
	while (rc == 0 && (i < ta.n || j < tb.n))
		rc = diff_step(d, &ta, &i, &tb, &j, prefix);
	cf_tree_release(&ta);
	cf_tree_release(&tb);
	return rc;
}

/** cf_diff(r, a, b, fn, arg, err): what changed from tree a to tree b. */
int
cf_diff(struct cf_repo *r, const uint8_t a[static 32],
    const uint8_t b[static 32], cf_diff_fn fn, void *arg, struct cf_err *err)
{
	struct diffctx d = {r, cf_zc_new(0), fn, arg, err};
	int rc;

	if (d.zc == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	rc = memcmp(a, b, 32) == 0 ? 0 : diff_rec(&d, a, b, "");
	cf_zc_free(d.zc);
	return rc;
}
