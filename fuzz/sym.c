/*
 * sym.c: fuzz cf_sym_open, the symmetric envelope of index files, under
 * the index key of fuzz_zone; an envelope that opens as an index file is
 * decoded too, as the index import does.
 *
 *   input = type(1, taken mod 3, + 1: pack, index, snapshot) || envelope
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "index/index.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cf_objtype type;
	struct cf_loc *locs;
	uint8_t *p, *out;
	struct cf_err err;
	size_t n, nlocs;

	if (size < 1)
		return 0;
	type = (enum cf_objtype)(data[0] % 3 + 1);
	p = fuzz_copy(data + 1, size - 1);
	if (cf_sym_open(fuzz_keys()->index, type, p, size - 1, &out, &n,
	        &err) == 0) {
		fuzz_check(n <= size, "envelope opened to more than it holds");
		fuzz_touch(out, n);
		if (type == CF_OBJ_INDEX &&
		    cf_indexfile_decode(out, n, &locs, &nlocs, &err) == 0)
			free(locs);
		free(out);
	}
	free(p);
	return 0;
}
