/*
 * pack.c: fuzz the read path of a whole pack, in the order
 * cf_repo_read_pack_header and cf_repo_open_blob take it: the footer
 * (cf_pack_footer_open), the header it points at (cf_pack_header_open),
 * then every blob (cf_pack_blob_open, and zstd when flagged).  All of a
 * pack is the store's bytes.
 *
 *   input = a pack (seeds: packs of fuzz_zone made with cf_packw_*)
 */
#include <stdlib.h>

#include <sodium.h>

#include "compress/compress.h"
#include "pack/pack.h"

#include "common.h"

#define FUZZ_MAX_PACK (4u << 20)

static void
open_blob(const uint8_t key[static CF_KEY_BYTES], const struct cf_blobent *e,
    const uint8_t *pack)
{
	size_t plen = e->len - CF_TAG_BYTES;
	uint8_t *plain = fuzz_alloc(plen), *raw;
	struct cf_err err;

	if (cf_pack_blob_open(key, e, pack + e->off, plain, &err) == 0 &&
	    (e->flags & CF_BLOB_ZSTD) && e->rawlen <= FUZZ_MAX_RAW) {
		raw = fuzz_alloc(e->rawlen);
		if (cf_zc_decompress(NULL, plain, plen, raw, e->rawlen, &err) ==
		    0)
			fuzz_touch(raw, e->rawlen);
		free(raw);
	}
	free(plain);
}

static void
open_pack(const uint8_t *p, size_t size)
{
	const uint8_t *foot = p + size - CF_PACK_FOOTER_BYTES;
	uint8_t key[CF_KEY_BYTES];
	struct cf_blobent *ents;
	struct cf_err err;
	uint64_t hoff;
	uint32_t hlen;
	size_t n;

	if (cf_pack_footer_open(fuzz_keys(), foot, size, key, &hoff, &hlen,
	        &err) != 0)
		return;
	if (cf_pack_header_open(key, foot, p + hoff, hlen, hoff, &ents, &n,
	        &err) == 0) {
		for (size_t i = 0; i < n; i++)
			open_blob(key, &ents[i], p);
		free(ents);
	}
	sodium_memzero(key, sizeof(key));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;

	if (size < CF_PACK_FOOTER_BYTES || size > FUZZ_MAX_PACK)
		return 0;
	p = fuzz_copy(data, size);
	open_pack(p, size);
	free(p);
	return 0;
}
