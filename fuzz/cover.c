/*
 * cover.c: fuzz cf_cover_parse, the payload of a cover record (the
 * snapshots a retired key version may vouch for), as a key holder of the
 * next version could seal it.
 *
 *   input = the payload
 * Oracles: the names lie inside the input, end exactly at its end, and
 * re-encode to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *names;
	struct cf_err err;
	struct cf_buf b;
	uint64_t count;
	uint32_t ver;

	if (cf_cover_parse(data, size, &ver, &names, &count, &err) != 0)
		return 0;
	fuzz_check(names >= data && names + count * 32 == data + size,
	    "cover names outside the record");
	fuzz_touch(names, (size_t)count * 32);
	cf_buf_init(&b, size + 16);
	cf_cover_encode(ver, names, count, &b);
	/* the count's varint may have been written longer than it needs */
	fuzz_check(!b.failed && b.len <= size &&
	               memcmp(b.p + b.len - count * 32, names, count * 32) == 0,
	    "cover record does not re-encode");
	cf_buf_release(&b);
	return 0;
}
