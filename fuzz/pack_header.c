/*
 * pack_header.c: fuzz cf_pack_header_decode, the blob list of a pack once
 * its header decrypts (the bytes are whoever wrote the pack's).
 *
 *   input = u64le(header offset) || plaintext header
 * Oracle: the entries it accepts tile [0, offset) in order, each within
 * the caps, with its position as nonce counter.
 */
#include <stdlib.h>

#include "pack/pack.h"

#include "common.h"

static void
check_entries(const struct cf_blobent *e, size_t n, uint64_t hoff)
{
	uint64_t off = 0;

	fuzz_check(n <= CF_PACK_MAX_BLOBS, "too many blobs");
	for (size_t i = 0; i < n; i++) {
		fuzz_check(e[i].off == off && e[i].seq == i, "entry misplaced");
		fuzz_check(e[i].len >= CF_TAG_BYTES &&
		               e[i].rawlen <= CF_BLOB_MAX_RAW,
		    "entry length out of bounds");
		fuzz_check(e[i].len <= hoff - off, "entry past the header");
		off += e[i].len;
	}
	fuzz_check(off == hoff, "entries do not cover the pack");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_blobent *ents;
	struct cf_err err;
	uint64_t hoff;
	uint8_t *p;
	size_t n;

	if (size < 8)
		return 0;
	hoff = cf_le64_get(data);
	p = fuzz_copy(data + 8, size - 8);
	if (cf_pack_header_decode(p, size - 8, hoff, &ents, &n, &err) == 0) {
		check_entries(ents, n, hoff);
		free(ents);
	}
	free(p);
	return 0;
}
