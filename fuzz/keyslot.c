/*
 * keyslot.c: fuzz cf_keyslot_parse and cf_keyslot_open on slot bytes (the
 * store's; the Argon2 costs in them are attacker-chosen).
 *
 * To keep the fuzzer fast, a slot that parses is opened only when it cannot
 * cost more than the cheapest KDF (8 MiB, 1 pass) the library accepts, or
 * when its repository id differs from ours (open stops before Argon2).
 * Account slots (type 2) are opened under a key that never sealed one.
 * Seeds are slots of fuzz_zone for fuzz_repo_id under FUZZ_PASSWORD.
 */
#include <stdlib.h>
#include <string.h>

#include "repo/keyslot.h"

#include "common.h"

/* Offset of the repository id in a slot: "CFKS" version type. */
#define SLOT_ID_OFF 6

static int
cheap(const uint8_t *p, const struct cf_slotinfo *info)
{
	if (memcmp(p + SLOT_ID_OFF, fuzz_repo_id, CF_REPO_ID_BYTES) != 0)
		return 1;
	return info->ops == 1 && info->mem == CF_KDF_MIN_MEM;
}

static void
open_slot(const uint8_t *p, size_t n)
{
	uint8_t zone[CF_KEY_BYTES];
	struct cf_slotinfo info;
	struct cf_err err;

	if (cf_keyslot_open(p, n, fuzz_repo_id, FUZZ_PASSWORD,
	        strlen(FUZZ_PASSWORD), zone, &info, &err) != 0)
		return;
	fuzz_check(info.host[sizeof(info.host) - 1] == '\0',
	    "slot host not terminated");
	fuzz_check(memcmp(zone, fuzz_zone, CF_KEY_BYTES) == 0,
	    "slot opened to a key nobody sealed");
}

/* An account slot costs one BLAKE2b: always try it, under a fixed account
 * key, which never sealed one, so it must never open. */
static void
open_account(const uint8_t *p, size_t n)
{
	static const uint8_t ak[CF_KEY_BYTES] = {1};
	uint8_t secrets[CF_MAX_VERSIONS + 1][CF_KEY_BYTES];
	size_t count = 0;
	struct cf_err err;

	fuzz_check(cf_keyslot_open_account(p, n, fuzz_repo_id, ak, secrets,
	               &count, &err) != 0,
	    "account slot opened under a key that never sealed it");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = fuzz_copy(data, size);
	struct cf_slotinfo info;
	struct cf_err err;

	if (cf_keyslot_parse(p, size, &info, &err) == 0 &&
	    info.type == CF_SLOT_ACCOUNT) {
		open_account(p, size);
	} else if (cf_keyslot_parse(p, size, &info, &err) == 0) {
		fuzz_check(info.ops >= 1 && info.ops <= CF_KDF_MAX_OPS &&
		               info.mem >= CF_KDF_MIN_MEM &&
		               info.mem <= CF_KDF_MAX_MEM,
		    "slot costs out of bounds accepted");
		if (cheap(p, &info))
			open_slot(p, size);
	}
	free(p);
	return 0;
}
