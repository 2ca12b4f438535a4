/*
 * recovery.c: fuzz cf_recovery_decode, the recovery key as a person types
 * it back (any text), and its round trip with cf_recovery_encode.
 *
 *   input = the text (up to its first NUL)
 * Oracles: a key that decodes encodes to a text that decodes to the same
 * key; with at least 16 bytes of input, those bytes as a key survive
 * encode then decode.
 */
#include <stdlib.h>
#include <string.h>

#include "account/recovery.h"

#include "common.h"

static void
round_trip(const uint8_t secret[static CF_RECOVERY_BYTES])
{
	uint8_t again[CF_RECOVERY_BYTES];
	char text[CF_RECOVERY_TEXT];
	struct cf_err err;

	cf_recovery_encode(secret, text);
	fuzz_check(strlen(text) == CF_RECOVERY_TEXT - 1,
	    "recovery text of the wrong length");
	fuzz_check(cf_recovery_decode(text, again, &err) == 0 &&
	               memcmp(again, secret, CF_RECOVERY_BYTES) == 0,
	    "recovery key changed in a round trip");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	uint8_t secret[CF_RECOVERY_BYTES];
	struct cf_err err;

	if (cf_recovery_decode(text, secret, &err) == 0)
		round_trip(secret);
	if (size >= CF_RECOVERY_BYTES)
		round_trip(data);
	free(text);
	return 0;
}
