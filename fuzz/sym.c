/*
 * sym.c: fuzz cf_sym_open, the symmetric envelope of index files, under
 * the index key of fuzz_zone; an envelope that opens as an index file is
 * decoded too, as the index import does.
 *
 *   input = mode(1) || bytes
 * mode & 0x7f, mod 3, + 1 is the object type (pack, index, snapshot).
 * Without the 0x80 bit, bytes are an envelope as stored.  With it, bytes are
 * the plaintext (u32le length, object, padding) that a hostile key holder
 * would seal: the harness seals it ('C' 'S' version(1) type || nonce ||
 * AEAD(index key, AD = those 4 bytes)) so that the fuzzer reaches what
 * follows authentication.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "index/index.h"

#include "common.h"

#define SEALED 0x80
#define HEAD 4

static uint8_t *
seal(enum cf_objtype type, const uint8_t *p, size_t n, size_t *outn)
{
	uint8_t nonce[CF_NONCE_BYTES] = {0}, *env;

	*outn = HEAD + CF_NONCE_BYTES + n + CF_TAG_BYTES;
	env = fuzz_alloc(*outn);
	env[0] = 'C';
	env[1] = 'S';
	env[2] = 1;
	env[3] = (uint8_t)type;
	memcpy(env + HEAD, nonce, CF_NONCE_BYTES);
	cf_aead_seal(env + HEAD + CF_NONCE_BYTES, p, n, env, HEAD, nonce,
	    fuzz_keys()->index);
	return env;
}

static void
open_sym(enum cf_objtype type, const uint8_t *p, size_t size)
{
	struct cf_loc *locs;
	struct cf_err err;
	size_t n, nlocs;
	uint8_t *out;

	if (cf_sym_open(fuzz_keys()->index, type, p, size, &out, &n, &err) != 0)
		return;
	fuzz_check(n <= size, "envelope opened to more than it holds");
	fuzz_touch(out, n);
	if (type == CF_OBJ_INDEX &&
	    cf_indexfile_decode(out, n, &locs, &nlocs, &err) == 0)
		free(locs);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum cf_objtype type;
	uint8_t *p;
	size_t n;

	if (size < 1)
		return 0;
	type = (enum cf_objtype)((data[0] & 0x7f) % 3 + 1);
	n = size - 1;
	if (data[0] & SEALED)
		p = seal(type, data + 1, n, &n);
	else
		p = fuzz_copy(data + 1, n);
	open_sym(type, p, n);
	free(p);
	return 0;
}
