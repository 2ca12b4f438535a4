/*
 * tree.c: fuzz cf_tree_decode, a folder's tree object (any key holder's
 * bytes), and the xattr lists of its entries with cf_xattrs_next.
 * Oracles: every slice a node borrows lies in the input; names are valid
 * and strictly increasing; a decoded xattr list iterates to its end; the
 * tree encodes (cf_tree_add) to bytes that decode and encode the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

#include "common.h"

static void
walk_xattrs(const struct cf_node *n)
{
	const uint8_t *name, *val;
	uint64_t count;
	size_t nn, vn;
	struct cf_rd r;

	if (n->xattrslen == 0)
		return;
	cf_rd_init(&r, n->xattrs, n->xattrslen);
	fuzz_check(cf_rd_uvar(&r, &count) == 0, "xattr count unreadable");
	for (uint64_t i = 0; i < count; i++) {
		fuzz_check(cf_xattrs_next(&r, &name, &nn, &val, &vn) == 0,
		    "accepted xattr list does not iterate");
		fuzz_touch(name, nn);
		fuzz_touch(val, vn);
	}
	fuzz_check(cf_rd_left(&r) == 0, "xattr list has trailing bytes");
}

static void
check_nodes(const struct cf_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fuzz_check(cf_tree_name_ok(v[i].name, v[i].namelen),
		    "bad name accepted");
		fuzz_check(i == 0 ||
		               cf_tree_name_cmp(v[i - 1].name, v[i - 1].namelen,
		                   v[i].name, v[i].namelen) < 0,
		    "names out of order");
		fuzz_touch(v[i].target, v[i].targetlen);
		fuzz_touch(v[i].chunks, v[i].nchunks * 32);
		walk_xattrs(&v[i]);
	}
}

static void
encode(const struct cf_node *v, size_t n, struct cf_buf *b)
{
	cf_buf_init(b, SIZE_MAX);
	cf_tree_begin(b, n);
	for (size_t i = 0; i < n; i++)
		cf_tree_add(b, &v[i]);
	fuzz_check(!b->failed, "tree does not encode");
}

static void
round_trip(const struct cf_node *v, size_t n)
{
	struct cf_node *v2;
	struct cf_buf a, b;
	struct cf_err err;
	size_t n2;

	encode(v, n, &a);
	fuzz_check(cf_tree_decode(a.p, a.len, &v2, &n2, &err) == 0,
	    "encoded tree does not decode");
	fuzz_check(n2 == n, "tree changed its count");
	encode(v2, n2, &b);
	fuzz_check(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "tree changed in a round trip");
	free(v2);
	cf_buf_release(&a);
	cf_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_copy(data, size);
	struct cf_node *v;
	struct cf_err err;
	size_t n;

	if (cf_tree_decode(p, size, &v, &n, &err) == 0) {
		check_nodes(v, n);
		round_trip(v, n);
		free(v);
	}
	free(p);
	return 0;
}
