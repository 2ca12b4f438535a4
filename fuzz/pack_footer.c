/*
 * pack_footer.c: fuzz cf_pack_footer_open, the last bytes of a pack
 * (wrapped key and header place), with the keys of fuzz_zone.
 *
 *   input = u64le(pack size) || footer (CF_PACK_FOOTER_BYTES)
 * Oracle: the header place it returns lies inside the pack, before the
 * footer.
 */
#include <stdlib.h>

#include "pack/pack.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[CF_KEY_BYTES], *p;
	uint64_t psize, hoff;
	struct cf_err err;
	uint32_t hlen;

	if (size != 8 + CF_PACK_FOOTER_BYTES)
		return 0;
	psize = cf_le64_get(data);
	p = fuzz_copy(data + 8, CF_PACK_FOOTER_BYTES);
	if (cf_pack_footer_open(fuzz_keys(), p, psize, key, &hoff, &hlen,
	        &err) == 0) {
		fuzz_check(hoff <= psize && hlen <= psize - hoff &&
		               psize - hoff - hlen >= CF_PACK_FOOTER_BYTES,
		    "footer places the header outside the pack");
	}
	free(p);
	return 0;
}
