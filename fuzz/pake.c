/*
 * pake.c: fuzz cf_pake_finish on the peer's share, which reaches a pairing
 * device through the relay (cofferd: untrusted), after cf_pake_start with a
 * fixed session id and code.
 *
 *   input = role(1) || peer share (32 bytes)
 * Oracles: a share that is not a valid ristretto255 point is refused; the
 * secret scalar is wiped whatever the share.
 */
#include <string.h>

#include <sodium.h>

#include "account/pake.h"

#include "common.h"

static const char code[] = "12345678";
static const uint8_t sid[] = "fuzz-mailbox";

static void
start(struct cf_pake *p)
{
	struct cf_err err;

	fuzz_check(cf_pake_start(p, sid, sizeof(sid), code, strlen(code),
	               &err) == 0,
	    "pake does not start");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t keys[64];
	struct cf_pake p;
	struct cf_err err;
	int ok;

	if (size != 1 + 32)
		return 0;
	start(&p);
	ok = cf_pake_finish(&p, data[0] & 1, data + 1, keys, &err) == 0;
	fuzz_check(!ok || crypto_core_ristretto255_is_valid_point(data + 1),
	    "invalid share accepted");
	fuzz_check(sodium_is_zero(p.y, sizeof(p.y)), "secret scalar not wiped");
	return 0;
}
