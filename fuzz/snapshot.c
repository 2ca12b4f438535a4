/*
 * snapshot.c: fuzz cf_snapshot_decode, the plaintext of a snapshot record
 * (any key holder's bytes).
 * Oracles: counts within their caps, every string readable to its NUL;
 * the record encodes (cf_snapshot_encode) to bytes that decode and encode
 * the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"

#include "common.h"

static void
touch_strs(char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fuzz_touch((const uint8_t *)v[i], strlen(v[i]) + 1);
}

static void
check(const struct cf_snapshot *s)
{
	fuzz_check(s->npaths <= CF_SNAP_MAX_PATHS &&
	               s->ntags <= CF_SNAP_MAX_TAGS,
	    "snapshot counts past their caps");
	fuzz_check(strlen(s->host) <= CF_SNAP_STR_MAX &&
	               strlen(s->user) <= CF_SNAP_STR_MAX &&
	               strlen(s->version) <= CF_SNAP_STR_MAX,
	    "snapshot string past its cap");
	touch_strs(s->paths, s->npaths);
	touch_strs(s->tags, s->ntags);
}

static void
encode(const struct cf_snapshot *s, struct cf_buf *b)
{
	cf_buf_init(b, SIZE_MAX);
	cf_snapshot_encode(s, b);
	fuzz_check(!b->failed, "snapshot does not encode");
}

static void
round_trip(const struct cf_snapshot *s)
{
	struct cf_snapshot *s2;
	struct cf_buf a, b;
	struct cf_err err;

	encode(s, &a);
	s2 = cf_snapshot_decode(a.p, a.len, &err);
	fuzz_check(s2 != NULL, "encoded snapshot does not decode");
	encode(s2, &b);
	fuzz_check(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "snapshot changed in a round trip");
	cf_snapshot_free(s2);
	cf_buf_release(&a);
	cf_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_copy(data, size);
	struct cf_snapshot *s;
	struct cf_err err;

	if ((s = cf_snapshot_decode(p, size, &err)) != NULL) {
		check(s);
		round_trip(s);
		cf_snapshot_free(s);
	}
	free(p);
	return 0;
}
