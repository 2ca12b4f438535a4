/*
 * config.c: fuzz cf_config_parse.  The config object is the one plaintext,
 * unauthenticated object of a repository: every byte is the store's.
 */
#include <stdlib.h>

#include "repo/repo.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[CF_REPO_ID_BYTES], *p = fuzz_copy(data, size);
	struct cf_err err;

	if (cf_config_parse(p, size, id, &err) == 0)
		fuzz_check(size == CF_CONFIG_BYTES, "config of the wrong size");
	free(p);
	return 0;
}
