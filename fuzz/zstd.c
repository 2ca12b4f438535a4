/*
 * zstd.c: fuzz cf_zc_decompress on the stored bytes of a compressed blob
 * (after decryption: any key holder's bytes).
 *
 *   input = mode(1) u32le(rawlen) frame
 * mode bit 0 set: through a struct cf_zc (its reused context), clear: the
 * one-off context.  rawlen above FUZZ_MAX_RAW is skipped (cost only).
 */
#include <stdlib.h>

#include "compress/compress.h"

#include "common.h"

static struct cf_zc *
zc_once(void)
{
	static struct cf_zc *zc;

	if (zc == NULL && (zc = cf_zc_new(3)) == NULL)
		abort();
	return zc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_zc *zc;
	uint8_t *p, *out;
	struct cf_err err;
	uint32_t rawlen;

	if (size < 5 || (rawlen = cf_le32_get(data + 1)) > FUZZ_MAX_RAW)
		return 0;
	zc = (data[0] & 1) ? zc_once() : NULL;
	p = fuzz_copy(data + 5, size - 5);
	out = fuzz_alloc(rawlen);
	if (cf_zc_decompress(zc, p, size - 5, out, rawlen, &err) == 0)
		fuzz_touch(out, rawlen);
	free(out);
	free(p);
	return 0;
}
