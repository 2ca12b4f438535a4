/*
 * test_ring.c: lib/util/ring.h: the two halves are one memory (a write
 * through either is seen through both), a run that wraps past the end is
 * contiguous and in order, the size is rounded up to a page, and a stream
 * read through the ring, as the backup reads files, comes out unchanged.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/ring.h"

#include "check.h"

int
main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n;
	struct cf_ring r = {0};
	uint8_t *src, *got;
	uint64_t pos = 0, have = 0;
	size_t out = 0;
	uint64_t seed = 7;

	REQUIRE(cf_ring_init(&r, 3 * page + 1) == 0);
	CHECK(r.size == 4 * page);

	/* One memory, seen twice. */
	r.base[5] = 0xa5;
	CHECK(r.base[r.size + 5] == 0xa5);
	r.base[r.size + r.size - 1] = 0x5a;
	CHECK(r.base[r.size - 1] == 0x5a);
	CHECK(cf_ring_at(&r, 5) == r.base + 5);
	CHECK(cf_ring_at(&r, r.size + 5) == r.base + 5);

	/* A stream written and read in uneven pieces through the ring. */
	n = 10 * r.size + 123;
	REQUIRE((src = malloc(n)) != NULL && (got = malloc(n)) != NULL);
	test_fill(&seed, src, n);
	while (out < n) {
		size_t room = r.size - (size_t)(have - pos);
		size_t put = room < n - (size_t)have ? room : n - (size_t)have;
		size_t take;

		put = put > 3 * page / 2 ? put - page / 3 : put;
		memcpy(cf_ring_at(&r, have), src + have, put);
		have += put;
		take = (size_t)(have - pos);
		take = take > page ? take - page / 2 : take;
		/* contiguous however it wraps */
		memcpy(got + out, cf_ring_at(&r, pos), take);
		pos += take;
		out += take;
	}
	CHECK(memcmp(src, got, n) == 0);
	free(src);
	free(got);
	r.dirty =
	    2 * r.size; /* more than the ring: the wipe stops at its end */

	cf_ring_free(&r);
	CHECK(r.base == NULL && r.size == 0);
	cf_ring_free(&r); /* twice: a no-op */
	CHECK(cf_ring_init(&r, 0) == -1);
	return check_done("unit-ring");
}
