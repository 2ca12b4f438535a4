/*
 * pack_blob.c: fuzz cf_pack_blob_open (and zstd behind it) on one stored
 * blob.  The key comes with the input, as it comes from a pack's footer.
 *
 *   input = key[32] type(1) flags(1) u32le(rawlen) u64le(seq) id[32] ct
 * The blob's stored length is that of ct (seeds: blobs of packs made with
 * cf_packw_*, their key opened from the footer).
 */
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "pack/pack.h"

#include "common.h"

#define HEAD (CF_KEY_BYTES + 1 + 1 + 4 + 8 + CF_ID_BYTES)

static void
read_entry(const uint8_t *data, size_t size, struct cf_blobent *e)
{
	const uint8_t *h = data + CF_KEY_BYTES;

	memset(e, 0, sizeof(*e));
	e->type = h[0];
	e->flags = h[1];
	e->rawlen = cf_le32_get(h + 2);
	e->seq = cf_le64_get(h + 6);
	memcpy(e->id, h + 14, CF_ID_BYTES);
	e->len = (uint32_t)(size - HEAD);
}

static void
decompress(const struct cf_blobent *e, const uint8_t *plain)
{
	uint8_t *raw;
	struct cf_err err;

	if (!(e->flags & CF_BLOB_ZSTD) || e->rawlen > FUZZ_MAX_RAW)
		return;
	raw = fuzz_alloc(e->rawlen);
	if (cf_zc_decompress(NULL, plain, e->len - CF_TAG_BYTES, raw, e->rawlen,
	        &err) == 0)
		fuzz_touch(raw, e->rawlen);
	free(raw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[CF_KEY_BYTES], *ct, *plain;
	struct cf_blobent e;
	struct cf_err err;

	if (size < HEAD || size - HEAD > CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES)
		return 0;
	memcpy(key, data, CF_KEY_BYTES);
	read_entry(data, size, &e);
	ct = fuzz_copy(data + HEAD, e.len);
	plain = fuzz_alloc(e.len > CF_TAG_BYTES ? e.len - CF_TAG_BYTES : 0);
	if (cf_pack_blob_open(key, &e, ct, plain, &err) == 0)
		decompress(&e, plain);
	free(plain);
	free(ct);
	return 0;
}
