#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

#define TREE_VERSION 1
#define XATTR_MAX_COUNT 4096
#define XATTR_NAME_MAX 255
#define XATTR_VALUE_MAX 65536

/** cf_tree_begin(b, count): tree header. */
void
cf_tree_begin(struct cf_buf *b, size_t count)
{
	cf_buf_add_u8(b, 'C');
	cf_buf_add_u8(b, 'T');
	cf_buf_add_u8(b, TREE_VERSION);
	cf_buf_add_uvar(b, count);
}

/** cf_tree_add(b, n): append one entry. */
void
cf_tree_add(struct cf_buf *b, const struct cf_node *n)
{
	cf_buf_add_u8(b, n->type);
	cf_buf_add_bytes(b, n->name, n->namelen);
	cf_buf_add_uvar(b, n->mode);
	cf_buf_add_uvar(b, n->uid);
	cf_buf_add_uvar(b, n->gid);
	cf_buf_add_svar(b, n->mtime_s);
	cf_buf_add_uvar(b, n->mtime_ns);
	cf_buf_add_svar(b, n->ctime_s);
	cf_buf_add_uvar(b, n->ctime_ns);
	cf_buf_add_svar(b, n->atime_s);
	cf_buf_add_uvar(b, n->atime_ns);
	cf_buf_add_uvar(b, n->size);
	cf_buf_add_uvar(b, n->ino);
	cf_buf_add_uvar(b, n->dev);
	cf_buf_add_uvar(b, n->nlink);
	cf_buf_add_uvar(b, n->rdev);
	cf_buf_add_bytes(b, n->target, n->targetlen);
	cf_buf_add_bytes(b, n->xattrs, n->xattrslen);
	cf_buf_add_uvar(b, n->nchunks);
	cf_buf_add(b, n->chunks, n->nchunks * 32);
	if (n->type == CF_NT_DIR)
		cf_buf_add(b, n->subtree, 32);
}

/** cf_tree_name_cmp(a, an, b, bn): bytewise, shorter first on a tie. */
int
cf_tree_name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

/** cf_tree_name_ok(p, n): one path component, not "." or "..". */
int
cf_tree_name_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > CF_NAME_MAX)
		return 0;
	if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
		return 0;
	return memchr(p, '/', n) == NULL && memchr(p, '\0', n) == NULL;
}

/** cf_xattrs_next(r, name, nn, val, vn): next xattr of a list. */
int
cf_xattrs_next(struct cf_rd *r, const uint8_t **name, size_t *nn,
    const uint8_t **val, size_t *vn)
{
	if (cf_rd_bytes(r, name, nn, XATTR_NAME_MAX) ||
	    cf_rd_bytes(r, val, vn, XATTR_VALUE_MAX))
		return -1;
	if (*nn == 0 || memchr(*name, '\0', *nn) != NULL)
		return -1;
	return 0;
}

static int
xattrs_ok(const uint8_t *p, size_t n)
{
	const uint8_t *name, *val;
	size_t nn, vn;
	uint64_t count;
	struct cf_rd r;

	if (n == 0)
		return 1;
	cf_rd_init(&r, p, n);
	if (cf_rd_uvar(&r, &count) || count > XATTR_MAX_COUNT)
		return 0;
	for (uint64_t i = 0; i < count; i++)
		if (cf_xattrs_next(&r, &name, &nn, &val, &vn))
			return 0;
	return cf_rd_left(&r) == 0;
}

static int
rd_u32var(struct cf_rd *r, uint32_t *v)
{
	uint64_t x;

	if (cf_rd_uvar(r, &x) || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int
rd_time(struct cf_rd *r, int64_t *s, uint32_t *ns)
{
	if (cf_rd_svar(r, s) || rd_u32var(r, ns) || *ns >= 1000000000u)
		return -1;
	return 0;
}

static int
decode_node(struct cf_rd *r, struct cf_node *n)
{
	uint64_t nchunks;

	memset(n, 0, sizeof(*n));
	if (cf_rd_u8(r, &n->type) || n->type < CF_NT_FILE ||
	    n->type > CF_NT_SOCK ||
	    cf_rd_bytes(r, &n->name, &n->namelen, CF_NAME_MAX) ||
	    !cf_tree_name_ok(n->name, n->namelen) || rd_u32var(r, &n->mode) ||
	    n->mode > 07777 || rd_u32var(r, &n->uid) || rd_u32var(r, &n->gid) ||
	    rd_time(r, &n->mtime_s, &n->mtime_ns) ||
	    rd_time(r, &n->ctime_s, &n->ctime_ns) ||
	    rd_time(r, &n->atime_s, &n->atime_ns))
		return -1;
	if (cf_rd_uvar(r, &n->size) || cf_rd_uvar(r, &n->ino) ||
	    cf_rd_uvar(r, &n->dev) || cf_rd_uvar(r, &n->nlink) ||
	    cf_rd_uvar(r, &n->rdev) ||
	    cf_rd_bytes(r, &n->target, &n->targetlen, CF_TARGET_MAX) ||
	    cf_rd_bytes(r, &n->xattrs, &n->xattrslen, CF_XATTRS_MAX) ||
	    !xattrs_ok(n->xattrs, n->xattrslen) || cf_rd_uvar(r, &nchunks))
		return -1;
	if (nchunks > cf_rd_left(r) / 32 || (nchunks && n->type != CF_NT_FILE))
		return -1;
	if ((n->type == CF_NT_SYMLINK) != (n->targetlen != 0))
		return -1;
	n->chunks = r->p + r->off;
	n->nchunks = (size_t)nchunks;
	r->off += (size_t)nchunks * 32;
	if (n->type == CF_NT_DIR && cf_rd_fixed(r, n->subtree, 32))
		return -1;
	return 0;
}

/** cf_tree_decode(p, n, nodes, count, err): parse a tree. */
int
cf_tree_decode(const uint8_t *p, size_t n, struct cf_node **nodes,
    size_t *count, struct cf_err *err)
{
	struct cf_node *v;
	uint8_t m0, m1, ver;
	uint64_t cnt;
	struct cf_rd r;

	cf_rd_init(&r, p, n);
	if (cf_rd_u8(&r, &m0) || cf_rd_u8(&r, &m1) || cf_rd_u8(&r, &ver) ||
	    m0 != 'C' || m1 != 'T' || ver != TREE_VERSION ||
	    cf_rd_uvar(&r, &cnt))
		return cf_err_set(err, CF_EFORMAT, "bad tree header");
	if (cnt > CF_TREE_MAX_ENTRIES || cnt > cf_rd_left(&r) / 20)
		return cf_err_set(err, CF_EFORMAT, "tree entry count invalid");
	if ((v = cf_alloc_array((size_t)cnt, sizeof(*v))) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		if (decode_node(&r, &v[i]) ||
		    (i > 0 && cf_tree_name_cmp(v[i - 1].name, v[i - 1].namelen,
		                  v[i].name, v[i].namelen) >= 0)) {
			free(v);
			return cf_err_set(err, CF_EFORMAT,
			    "tree entry %zu invalid", i);
		}
	}
	if (cf_rd_left(&r) != 0) {
		free(v);
		return cf_err_set(err, CF_EFORMAT, "trailing bytes in tree");
	}
	*nodes = v;
	*count = (size_t)cnt;
	return 0;
}
