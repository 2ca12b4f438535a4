/*
 * env.c: fuzz cf_env_open, the envelope of snapshots (and of every object
 * sealed to the zone's box key), with the keys of fuzz_zone; an envelope
 * that opens as a snapshot is decoded too, as cf_repo_load_snapshot does.
 *
 *   input = mode(1) || bytes
 * mode & 0x7f, mod 3, + 1 is the object type (pack, index, snapshot).
 * Without the 0x80 bit, bytes are an envelope as stored.  With it, bytes are
 * the plaintext (u32le length, object, padding) that a hostile key holder
 * would seal: the harness seals it (crypto.h: wrap || nonce || AEAD(object
 * key, AD = wrap)) so that the fuzzer reaches what follows authentication.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "snapshot/snapshot.h"

#include "common.h"

#define SEALED 0x80

/* The wrapped object key for ${type}, sealed once: crypto_box_seal costs
 * more than everything else a sealed input does. */
static const uint8_t *
wrap_for(enum cf_objtype type, const uint8_t key[static CF_KEY_BYTES])
{
	static uint8_t wraps[3][CF_WRAP_BYTES];
	static int have[3];
	struct cf_err err;
	int i = (int)type - 1;

	if (!have[i]) {
		fuzz_check(cf_crypto_wrap_key(fuzz_keys(), type, key, wraps[i],
		               &err) == 0,
		    "cannot wrap a key");
		have[i] = 1;
	}
	return wraps[i];
}

static uint8_t *
seal(enum cf_objtype type, const uint8_t *p, size_t n, size_t *outn)
{
	static const uint8_t key[CF_KEY_BYTES] = {'o', 'b', 'j'};
	uint8_t nonce[CF_NONCE_BYTES] = {0}, *env;

	*outn = CF_WRAP_BYTES + CF_NONCE_BYTES + n + CF_TAG_BYTES;
	env = fuzz_alloc(*outn);
	memcpy(env, wrap_for(type, key), CF_WRAP_BYTES);
	memcpy(env + CF_WRAP_BYTES, nonce, CF_NONCE_BYTES);
	cf_aead_seal(env + CF_WRAP_BYTES + CF_NONCE_BYTES, p, n, env,
	    CF_WRAP_BYTES, nonce, key);
	return env;
}

static void
open_env(enum cf_objtype type, const uint8_t *p, size_t size)
{
	struct cf_err err;
	uint8_t *out;
	size_t n;

	if (cf_env_open(fuzz_keys(), type, p, size, &out, &n, &err) != 0)
		return;
	fuzz_check(n <= size, "envelope opened to more than it holds");
	fuzz_touch(out, n);
	if (type == CF_OBJ_SNAPSHOT)
		cf_snapshot_free(cf_snapshot_decode(out, n, &err));
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
	open_env(type, p, n);
	free(p);
	return 0;
}
