/*
 * test_idset.c: lib/util/idset.h against a reference (a plain array of
 * flags): random add/has/del over a pool of ids whose table positions
 * collide on purpose, in long clusters that wrap around the end of the
 * table, so backward-shift deletion is exercised in every case; growth;
 * release.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/idset.h"

#include "check.h"

#define POOL 6000

/* Ids whose first 8 bytes (the table position) fall in a few narrow
 * bands, including the last and first slots of the table. */
static void
make_pool(uint8_t (*ids)[32], size_t n, uint64_t *seed)
{
	static const uint64_t bands[] = {0, 1000, 1020, 2040, 4090, 8185};

	for (size_t i = 0; i < n; i++) {
		uint64_t h = test_rand(seed), pos;

		test_fill(seed, ids[i], 32);
		if (i % 3 != 0) {
			/* Collide in a table of 1024: a band base plus a
			 * small offset in the low 10 bits; the high bits stay
			 * random so larger tables spread them again. */
			pos = (bands[h % 6] + (h >> 8) % 8) & 1023;
			h = (h & ~1023ull) | pos;
			memcpy(ids[i], &h, 8);
		}
	}
}

static int
check_all(const struct cf_idset *s, uint8_t (*ids)[32], const char *ref,
    size_t n)
{
	size_t count = 0;
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		if (cf_idset_has(s, ids[i]) != ref[i])
			ok = 0;
		count += (size_t)ref[i];
	}
	return ok && s->n == count;
}

static void
test_random_ops(void)
{
	uint8_t(*ids)[32] = calloc(POOL, 32);
	char *ref = calloc(POOL, 1);
	struct cf_idset s = {0};
	uint64_t seed = 42;

	REQUIRE(ids != NULL && ref != NULL);
	make_pool(ids, POOL, &seed);
	CHECK(!cf_idset_has(&s, ids[0])); /* empty, never allocated */
	cf_idset_del(&s, ids[0]);
	for (int round = 0; round < 40; round++) {
		/* Grow towards the whole pool, then shrink, then grow. */
		unsigned add_pct = (round / 10) % 2 == 0 ? 70 : 30;
		size_t lim = round < 10 ? 1500 : POOL;

		for (int op = 0; op < 5000; op++) {
			size_t i = (size_t)(test_rand(&seed) % lim);
			int rc;

			if (test_rand(&seed) % 100 < add_pct) {
				rc = cf_idset_add(&s, ids[i]);
				CHECK(rc == (ref[i] ? 0 : 1));
				ref[i] = 1;
			} else {
				cf_idset_del(&s, ids[i]);
				ref[i] = 0;
			}
			CHECK(cf_idset_has(&s, ids[i]) == ref[i]);
		}
		CHECK(check_all(&s, ids, ref, POOL));
		CHECK(s.cap != 0 && (s.cap & (s.cap - 1)) == 0);
		CHECK(s.n * 4 <= s.cap * 3);
	}
	/* Delete everything, in pool order. */
	for (size_t i = 0; i < POOL; i++) {
		cf_idset_del(&s, ids[i]);
		ref[i] = 0;
		if (i % 500 == 0)
			CHECK(check_all(&s, ids, ref, POOL));
	}
	CHECK(s.n == 0);
	cf_idset_release(&s);
	CHECK(s.cap == 0 && s.n == 0 && s.v == NULL && s.used == NULL);
	cf_idset_release(&s);
	free(ids);
	free(ref);
}

/* A cluster that wraps: ids homed at the last slots fill the first ones;
 * deleting the head must pull the wrapped ones back, and never move an id
 * before its home. */
static void
test_wrap_cluster(void)
{
	uint8_t ids[12][32];
	struct cf_idset s = {0};
	uint64_t seed = 7;

	for (int i = 0; i < 12; i++) {
		uint64_t h = 1020 + (uint64_t)(i % 6); /* homes 1020..1025 */

		test_fill(&seed, ids[i], 32);
		if (i >= 6)
			h = (uint64_t)(i - 6); /* homes 0..5 */
		memcpy(ids[i], &h, 8);
	}
	/* Insert wrapped homes first so both clusters interleave. */
	for (int i = 0; i < 12; i++)
		CHECK(cf_idset_add(&s, ids[i]) == 1);
	REQUIRE(s.cap == 1024);
	for (int d = 0; d < 12; d++) {
		cf_idset_del(&s, ids[d]);
		CHECK(!cf_idset_has(&s, ids[d]));
		for (int j = d + 1; j < 12; j++)
			CHECK(cf_idset_has(&s, ids[j]));
		CHECK(s.n == (size_t)(11 - d));
	}
	cf_idset_release(&s);

	/* Same set, deleted from the other end. */
	for (int i = 0; i < 12; i++)
		CHECK(cf_idset_add(&s, ids[i]) == 1);
	for (int d = 11; d >= 0; d--) {
		cf_idset_del(&s, ids[d]);
		for (int j = 0; j < d; j++)
			CHECK(cf_idset_has(&s, ids[j]));
		CHECK(!cf_idset_has(&s, ids[d]));
	}
	cf_idset_release(&s);
}

int
main(void)
{
	test_random_ops();
	test_wrap_cluster();
	return check_done("unit-idset");
}
