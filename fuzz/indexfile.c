/*
 * indexfile.c: fuzz cf_indexfile_decode, the plaintext of an index file
 * (any key holder's bytes).
 * Oracle: what it accepts encodes (cf_indexfile_encode) to bytes that
 * decode again and encode to the very same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

#include "common.h"

static void
encode(const struct cf_loc *l, size_t n, struct cf_buf *b)
{
	cf_buf_init(b, SIZE_MAX);
	cf_indexfile_encode(l, n, b);
	fuzz_check(!b->failed, "index file does not encode");
}

static void
round_trip(const struct cf_loc *l, size_t n)
{
	struct cf_buf a, b;
	struct cf_loc *l2;
	struct cf_err err;
	size_t n2;

	encode(l, n, &a);
	fuzz_check(cf_indexfile_decode(a.p, a.len, &l2, &n2, &err) == 0,
	    "encoded index file does not decode");
	fuzz_check(n2 == n, "index file changed its count");
	encode(l2, n2, &b);
	fuzz_check(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "index file changed in a round trip");
	free(l2);
	cf_buf_release(&a);
	cf_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_copy(data, size);
	struct cf_loc *locs;
	struct cf_err err;
	size_t n;

	if (cf_indexfile_decode(p, size, &locs, &n, &err) == 0) {
		round_trip(locs, n);
		free(locs);
	}
	free(p);
	return 0;
}
