/* common.c: fixed secrets and helpers shared by the fuzz harnesses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "util/err.h"

#include "common.h"

const uint8_t fuzz_zone[CF_KEY_BYTES] = {'c', 'o', 'f', 'f', 'e', 'r', '-', 'f',
    'u', 'z', 'z', '-', 'z', 'o', 'n', 'e', '-', 'k', 'e', 'y', '-', '0', '1',
    '2', '3', '4', '5', '6', '7', '8', '9', '!'};
const uint8_t fuzz_repo_id[CF_REPO_ID_BYTES] = {'c', 'o', 'f', 'f', 'e', 'r',
    '-', 'f', 'u', 'z', 'z', '-', 'r', 'e', 'p', 'o'};

/** LLVMFuzzerInitialize(argc, argv): sodium_init() and the keys, once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	(void)fuzz_keys();
	return 0;
}

/** fuzz_keys(): the keys of fuzz_zone. */
const struct cf_keys *
fuzz_keys(void)
{
	static struct cf_keys *keys;
	struct cf_err err;

	if (keys != NULL)
		return keys;
	if (cf_crypto_init(&err) != 0 ||
	    (keys = cf_keys_new(fuzz_zone, &err)) == NULL) {
		fprintf(stderr, "fuzz: %s\n", err.msg);
		abort();
	}
	return keys;
}

/** fuzz_device_key(i, pk, sk): a fixed Ed25519 key pair. */
void
fuzz_device_key(unsigned i, uint8_t pk[static 32], uint8_t sk[static 64])
{
	uint8_t seed[32];

	memcpy(seed, fuzz_zone, sizeof(seed));
	seed[31] ^= (uint8_t)(i % FUZZ_DEVICES);
	crypto_sign_seed_keypair(pk, sk, seed);
}

/** fuzz_alloc(n): an exactly sized heap buffer. */
uint8_t *
fuzz_alloc(size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	if (q == NULL)
		abort();
	return q;
}

/** fuzz_copy(p, n): an exactly sized heap copy. */
uint8_t *
fuzz_copy(const uint8_t *p, size_t n)
{
	uint8_t *q = fuzz_alloc(n);

	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/** fuzz_str(p, n): an exactly sized NUL-terminated copy. */
char *
fuzz_str(const uint8_t *p, size_t n)
{
	char *s = (char *)fuzz_alloc(n + 1);

	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/** fuzz_touch(p, n): read every byte (ASan checks each read). */
void
fuzz_touch(const uint8_t *p, size_t n)
{
	volatile uint8_t sink = 0;

	for (size_t i = 0; i < n; i++)
		sink ^= p[i];
	(void)sink;
}

/** fuzz_check(ok, what): the oracle failed: a bug. */
void
fuzz_check(int ok, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz: oracle failed: %s\n", what);
	abort();
}
