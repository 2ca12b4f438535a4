/*
 * test_keyslot.c: lib/repo/keyslot.h, with Argon2id at 8 MiB / 1 pass.
 *  - seal then open: the zone key, host and creation time come back; the
 *    plaintext part has the documented layout;
 *  - a wrong passphrase is CF_EPASS, another repository's id CF_EAUTH;
 *  - costs out of range are refused when sealing (CF_EUSAGE) and when
 *    parsing or opening (CF_EFORMAT), before any allocation: a hostile
 *    slot asking for 1 TiB is refused under an address-space limit that
 *    would make such an allocation fail (CF_ENOMEM) — except under
 *    AddressSanitizer, which needs its address space;
 *  - single-byte changes (all but two thirds of the ciphertext) and every
 *    truncation fail; nothing opens.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "repo/keyslot.h"

#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define OPS_AT (6 + CF_REPO_ID_BYTES)
#define MEM_AT (OPS_AT + 8)

static const struct cf_kdf fast = {1, 8ull << 20};

static int
open_code(const uint8_t *p, size_t n, const uint8_t *repo, const char *pass,
    uint8_t *zone)
{
	struct cf_slotinfo info;
	struct cf_err err = {0};

	if (cf_keyslot_open(p, n, repo, pass, strlen(pass), zone, &info,
	        &err) == 0)
		return 0;
	return err.code;
}

static int
parse_code(const uint8_t *p, size_t n)
{
	struct cf_slotinfo info;
	struct cf_err err = {0};

	if (cf_keyslot_parse(p, n, &info, &err) == 0)
		return 0;
	return err.code;
}

static void
test_roundtrip(const uint8_t *zone, const uint8_t *repo, struct cf_buf *b)
{
	uint8_t got[32], other[CF_REPO_ID_BYTES];
	struct cf_slotinfo info;
	struct cf_err err;
	int64_t now = (int64_t)time(NULL) * 1000000000ll;

	REQUIRE(cf_keyslot_seal(zone, repo, "correct horse", 13, &fast,
	            "laptop", b, &err) == 0);
	CHECK(b->len == 198);
	CHECK(memcmp(b->p, "CFKS\x01\x01", 6) == 0);
	CHECK(memcmp(b->p + 6, repo, CF_REPO_ID_BYTES) == 0);
	CHECK(cf_le64_get(b->p + OPS_AT) == 1);
	CHECK(cf_le64_get(b->p + MEM_AT) == 8ull << 20);
	CHECK(cf_keyslot_parse(b->p, b->len, &info, &err) == 0 &&
	      info.type == CF_SLOT_PASSPHRASE && info.ops == 1 &&
	      info.mem == 8ull << 20);
	memset(got, 0, 32);
	REQUIRE(cf_keyslot_open(b->p, b->len, repo, "correct horse", 13, got,
	            &info, &err) == 0);
	CHECK(memcmp(got, zone, 32) == 0);
	CHECK(strcmp(info.host, "laptop") == 0);
	CHECK(info.created_ns >= now - 60000000000ll &&
	      info.created_ns <= now + 60000000000ll);
	CHECK(open_code(b->p, b->len, repo, "correct horsf", got) == CF_EPASS);
	CHECK(open_code(b->p, b->len, repo, "", got) == CF_EPASS);
	memcpy(other, repo, CF_REPO_ID_BYTES);
	other[15] ^= 1;
	CHECK(open_code(b->p, b->len, other, "correct horse", got) == CF_EAUTH);
}

static void
test_seal_limits(const uint8_t *zone, const uint8_t *repo)
{
	static const struct cf_kdf bad[] = {{0, 8ull << 20},
	    {CF_KDF_MAX_OPS + 1, 8ull << 20}, {1, (8ull << 20) - 1},
	    {1, (4ull << 30) + 1}, {1, 1ull << 40}, {UINT64_MAX, UINT64_MAX}};
	char host[200];
	uint8_t got[32];
	struct cf_slotinfo info;
	struct cf_err err;
	struct cf_buf b;

	cf_buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_ERR(cf_keyslot_seal(zone, repo, "pw", 2, &bad[i], "h", &b,
		              &err),
		    &err, CF_EUSAGE);
	CHECK(b.len == 0);
	/* A long host name is cut to 63 bytes; an empty passphrase works. */
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	REQUIRE(cf_keyslot_seal(zone, repo, "", 0, &fast, host, &b, &err) == 0);
	REQUIRE(cf_keyslot_open(b.p, b.len, repo, "", 0, got, &info, &err) ==
	        0);
	CHECK(strlen(info.host) == 63 && memcmp(got, zone, 32) == 0);
	/* Appends: a full buffer is CF_ELIMIT. */
	cf_buf_release(&b);
	cf_buf_init(&b, 100);
	CHECK_ERR(cf_keyslot_seal(zone, repo, "pw", 2, &fast, "h", &b, &err),
	    &err, CF_ELIMIT);
	cf_buf_release(&b);
}

static void
set_costs(uint8_t *p, uint64_t ops, uint64_t mem)
{
	cf_le64_put(p + OPS_AT, ops);
	cf_le64_put(p + MEM_AT, mem);
}

static void
test_hostile_costs(const struct cf_buf *b, const uint8_t *repo)
{
	static const uint64_t bad[][2] = {{1, 1ull << 40}, {1, UINT64_MAX},
	    {1, (4ull << 30) + 1}, {1, (8ull << 20) - 1}, {1, 0},
	    {0, 8ull << 20}, {CF_KDF_MAX_OPS + 1, 8ull << 20},
	    {1ull << 40, 8ull << 20}};
	uint8_t s[198], zone[32];
	struct rlimit old, lim;
	int limited = 0;

	REQUIRE(b->len == sizeof(s));
	memcpy(s, b->p, sizeof(s));
	if (!UNDER_ASAN && getrlimit(RLIMIT_AS, &old) == 0) {
		lim = old;
		lim.rlim_cur = 1ull << 30;
		limited = setrlimit(RLIMIT_AS, &lim) == 0;
	}
	printf("hostile costs checked %s an address-space limit\n",
	    limited ? "under" : "without");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_costs(s, bad[i][0], bad[i][1]);
		CHECK(parse_code(s, sizeof(s)) == CF_EFORMAT);
		CHECK(open_code(s, sizeof(s), repo, "correct horse", zone) ==
		      CF_EFORMAT);
	}
	/* The bounds themselves parse. */
	set_costs(s, CF_KDF_MAX_OPS, CF_KDF_MAX_MEM);
	CHECK(parse_code(s, sizeof(s)) == 0);
	set_costs(s, 1, CF_KDF_MIN_MEM);
	CHECK(parse_code(s, sizeof(s)) == 0);
	if (limited) {
		/* Within bounds but more than this process may have: the
		 * failure is reported as memory, not as a wrong password. */
		set_costs(s, 1, CF_KDF_MAX_MEM);
		CHECK(open_code(s, sizeof(s), repo, "correct horse", zone) ==
		      CF_ENOMEM);
		REQUIRE(setrlimit(RLIMIT_AS, &old) == 0);
	}
}

static void
test_tamper(const struct cf_buf *b, const uint8_t *repo)
{
	uint8_t s[199], zone[32];
	size_t bad = 0;

	REQUIRE(b->len == 198);
	memcpy(s, b->p, 198);
	/* Every byte of the plaintext part, salt and nonce; every third of
	 * the ciphertext (each costs one Argon2id run); all of the tag. */
	for (size_t i = 0; i < 198; i += i < 78 || i >= 182 ? 1 : 3) {
		int rc;

		s[i] ^= 0x01; /* keeps the memory cost small where valid */
		rc = open_code(s, 198, repo, "correct horse", zone);
		if (rc != CF_EFORMAT && rc != CF_EAUTH && rc != CF_EPASS) {
			if (bad++ < 5)
				fprintf(stderr, "  flip at %zu: code %d\n", i,
				    rc);
		}
		s[i] ^= 0x01;
	}
	CHECK(bad == 0);
	for (size_t len = 0; len < 198; len++)
		CHECK(parse_code(s, len) == CF_EFORMAT);
	s[198] = 0;
	CHECK(parse_code(s, 199) == CF_EFORMAT);
	s[4] = 2; /* version */
	CHECK(parse_code(s, 198) == CF_EFORMAT);
	s[4] = 1;
	for (uint8_t t = 2; t <= 4; t++) { /* reserved types */
		s[5] = t;
		CHECK(parse_code(s, 198) == CF_EFORMAT);
	}
	s[5] = 1;
	CHECK(open_code(s, 198, repo, "correct horse", zone) == 0);
}

int
main(void)
{
	uint8_t zone[32], repo[CF_REPO_ID_BYTES];
	struct cf_err err;
	struct cf_buf b;

	/* Were the costs not bounded, a hostile slot could make this run for
	 * ever (a flipped byte of the pass count asks for 2^24 passes): end
	 * the test instead, even outside meson's timeout. */
	alarm(100);
	REQUIRE(cf_crypto_init(&err) == 0);
	cf_crypto_random(zone, sizeof(zone));
	cf_crypto_random(repo, sizeof(repo));
	cf_buf_init(&b, 4096);
	test_roundtrip(zone, repo, &b);
	test_seal_limits(zone, repo);
	test_hostile_costs(&b, repo);
	test_tamper(&b, repo);
	cf_buf_release(&b);
	return check_done("unit-keyslot");
}
