/*
 * env.c: fuzz cf_env_open, the envelope of snapshots (and of every object
 * sealed to the zone's box key), with the keys of fuzz_zone; an envelope
 * that opens as a snapshot is decoded too, as cf_repo_load_snapshot does.
 *
 *   input = type(1, taken mod 3, + 1: pack, index, snapshot) || envelope
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "snapshot/snapshot.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cf_objtype type;
	uint8_t *p, *out;
	struct cf_err err;
	size_t n;

	if (size < 1)
		return 0;
	type = (enum cf_objtype)(data[0] % 3 + 1);
	p = fuzz_copy(data + 1, size - 1);
	if (cf_env_open(fuzz_keys(), type, p, size - 1, &out, &n, &err) == 0) {
		fuzz_check(n <= size, "envelope opened to more than it holds");
		fuzz_touch(out, n);
		if (type == CF_OBJ_SNAPSHOT)
			cf_snapshot_free(cf_snapshot_decode(out, n, &err));
		free(out);
	}
	free(p);
	return 0;
}
