/*
 * proto_auth.c: fuzz cf_proto_auth_parse, the Authorization header cofferd
 * reads before anything else of a request (any client's bytes), and
 * cf_proto_auth_verify on what it accepts.
 *
 *   input = the header value (up to its first NUL)
 * Seeds are headers that cf_proto_sign made for FUZZ_METHOD FUZZ_URI with
 * no body at FUZZ_SIGN_TS, under a device key derived from fuzz_zone:
 * they verify.  Oracle: nothing else does (signatures cannot be forged,
 * so a verified header carries the seeds' timestamp).
 */
#include <stdlib.h>

#include "proto/proto.h"

#include "common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = fuzz_str(data, size), bodyhash[65];
	struct cf_auth a;

	if (cf_proto_auth_parse(h, &a) == 0) {
		fuzz_check(a.ts >= 0, "negative timestamp accepted");
		cf_proto_body_hash(NULL, 0, bodyhash);
		if (cf_proto_auth_verify(&a, FUZZ_METHOD, FUZZ_URI, bodyhash) ==
		    0)
			fuzz_check(a.ts == FUZZ_SIGN_TS,
			    "forged request verified");
	}
	free(h);
	return 0;
}
