/*
 * proto_range.c: fuzz cf_proto_range, the Range header of an object GET
 * (any client's bytes).
 *
 *   input = u64le(object size) || the header value (up to its first NUL)
 * Oracle: an accepted range is non-empty and lies inside the object.
 */
#include <stdlib.h>

#include "proto/proto.h"
#include "util/buf.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t osize, off, len;
	char *h;

	if (size < 8)
		return 0;
	osize = cf_le64_get(data);
	h = fuzz_str(data + 8, size - 8);
	if (cf_proto_range(h, osize, &off, &len) == 0)
		fuzz_check(len > 0 && off < osize && len <= osize - off,
		    "range outside the object");
	free(h);
	return 0;
}
