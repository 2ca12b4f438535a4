/*
 * xattrs.c: fuzz cf_xattrs_next on an encoded xattr list (the bytes a tree
 * entry carries), the way a restore walks it: cf_rd_init, the count with
 * cf_rd_uvar, then one cf_xattrs_next per attribute.
 * Oracle: every name and value it hands out lies in the input, names are
 * non-empty and without NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

#include "common.h"

/* The decoder's own cap on the count (tree.c XATTR_MAX_COUNT). */
#define MAX_COUNT 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_copy(data, size);
	const uint8_t *name, *val;
	uint64_t count;
	size_t nn, vn;
	struct cf_rd r;

	cf_rd_init(&r, p, size);
	if (cf_rd_uvar(&r, &count) == 0 && count <= MAX_COUNT) {
		for (uint64_t i = 0; i < count; i++) {
			if (cf_xattrs_next(&r, &name, &nn, &val, &vn) != 0)
				break;
			fuzz_check(nn > 0 && memchr(name, '\0', nn) == NULL,
			    "bad xattr name accepted");
			fuzz_touch(val, vn);
			fuzz_check(r.off <= size, "reader ran past the end");
		}
	}
	free(p);
	return 0;
}
