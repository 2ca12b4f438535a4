/*
 * test_crypto.c: lib/crypto/crypto.h.
 *  - cf_padme: known values (the Padme function of the PURBs paper,
 *    Nikitin et al., PETS 2019), agreement with a loop-based reference,
 *    monotonic, idempotent, overhead at most 12%;
 *  - the key schedule: the subkeys of the zone key 00 01 .. 1f must equal
 *    vectors/keys.txt (cross-checked when written against Python's hashlib
 *    BLAKE2b and X25519, independently of libsodium);
 *  - XChaCha20-Poly1305 known answer (draft-irtf-cfrg-xchacha A.3.1);
 *  - wrapped keys and both envelopes (cf_env_*, cf_sym_*): round trips,
 *    sizes, and every single-byte flip, every truncation, an extension,
 *    the wrong type, the wrong zone: all fail with CF_EAUTH or CF_EFORMAT.
 * Usage: test_crypto VECTORDIR [--regen]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

#include "check.h"

static uint64_t
padme_ref(uint64_t n)
{
	unsigned e = 0, s = 0;
	uint64_t step;

	if (n < 2)
		return n;
	while ((n >> e) > 1)
		e++; /* e = floor(log2 n) */
	while ((e >> s) > 0)
		s++; /* s = floor(log2 e) + 1 */
	step = 1ull << (e - s);
	if (n % step == 0 || n > UINT64_MAX - step)
		return n;
	return (n / step + 1) * step;
}

static void
test_padme(void)
{
	static const uint64_t known[][2] = {{0, 0}, {1, 1}, {2, 2}, {3, 3},
	    {4, 4}, {7, 7}, {8, 8}, {9, 10}, {11, 12}, {15, 16}, {17, 18},
	    {19, 20}, {33, 36}, {37, 40}, {63, 64}, {65, 72}, {100, 104},
	    {129, 144}, {257, 272}, {1000, 1024}, {1025, 1088}, {4097, 4352},
	    {65537, 67584}, {1000000, 1015808}, {(1ull << 20) + 1, 1081344},
	    {(1ull << 30) + 1, 1107296256}, {(1ull << 32) + 1, 4362076160ull},
	    {(1ull << 40) + 12345, 1116691496960ull}, {UINT64_MAX, UINT64_MAX}};
	uint64_t prev = 0, seed = 3;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		uint64_t got = cf_padme(known[i][0]);

		if (got != known[i][1])
			fprintf(stderr, "  padme(%llu) = %llu, want %llu\n",
			    (unsigned long long)known[i][0],
			    (unsigned long long)got,
			    (unsigned long long)known[i][1]);
		CHECK(got == known[i][1]);
	}
	for (uint64_t n = 0; n <= (1u << 20); n++) {
		uint64_t p = cf_padme(n);

		if (p != padme_ref(n) || p < prev || p < n ||
		    (double)(p - n) > 0.12 * (double)n || cf_padme(p) != p) {
			fprintf(stderr, "  padme(%llu) = %llu\n",
			    (unsigned long long)n, (unsigned long long)p);
			CHECK(!"padme property");
			break;
		}
		prev = p;
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t n = test_rand(&seed) >> (test_rand(&seed) % 64);
		uint64_t p = cf_padme(n);

		CHECK(p == padme_ref(n) && p >= n && cf_padme(p) == p &&
		      (double)(p - n) <= 0.12 * (double)n);
		CHECK(n == 0 || cf_padme(n - 1) <= p);
	}
}

/* The values checked against vectors/keys.txt, in file order. */
struct kv {
	const char *name;
	uint8_t v[32];
};

static size_t
key_values(struct kv *out)
{
	uint8_t zone[CF_KEY_BYTES];
	struct cf_err err;
	struct cf_keys *k;
	size_t n = 0;

	for (int i = 0; i < CF_KEY_BYTES; i++)
		zone[i] = (uint8_t)i;
	REQUIRE((k = cf_keys_new(zone, &err)) != NULL);
	out[n].name = "zone";
	memcpy(out[n++].v, k->zone, 32);
	out[n].name = "id";
	memcpy(out[n++].v, k->id, 32);
	out[n].name = "gear";
	memcpy(out[n++].v, k->gear, 32);
	out[n].name = "index";
	memcpy(out[n++].v, k->index, 32);
	out[n].name = "mac";
	memcpy(out[n++].v, k->mac, 32);
	out[n].name = "trust";
	memcpy(out[n++].v, k->trust, 32);
	out[n].name = "box_pk";
	memcpy(out[n++].v, k->box_pk, 32);
	out[n].name = "box_sk";
	memcpy(out[n++].v, k->box_sk, 32);
	out[n].name = "chunk_id(\"\")";
	cf_crypto_chunk_id(k, (const uint8_t *)"", 0, out[n++].v);
	out[n].name = "chunk_id(\"abc\")";
	cf_crypto_chunk_id(k, (const uint8_t *)"abc", 3, out[n++].v);
	out[n].name = "hash(\"abc\")";
	cf_crypto_hash((const uint8_t *)"abc", 3, out[n++].v);
	cf_keys_free(k);
	return n;
}

static void
regen_keys(const char *path)
{
	struct kv kv[16];
	size_t n = key_values(kv);
	char hex[65];
	FILE *f;

	REQUIRE((f = fopen(path, "w")) != NULL);
	fprintf(f,
	    "# cf_keys_new() of the zone key 00 01 02 .. 1f, and hashes\n"
	    "# under it: name, then 32 bytes in hex.  Cross-checked with\n"
	    "# Python: blake2b(b'', key=zone, salt=le64(i), person=ctx)\n"
	    "# for id/gear/index/mac (i = 1..4) and trust (i = 6), box =\n"
	    "# X25519 of sha512(blake2b(..., i = 5))[:32].  If this changes, "
	    "every\n"
	    "# existing repository becomes unreadable.\n");
	for (size_t i = 0; i < n; i++) {
		cf_hex(hex, kv[i].v, 32);
		fprintf(f, "%s %s\n", kv[i].name, hex);
	}
	REQUIRE(fclose(f) == 0);
}

static void
test_keys(const char *path)
{
	struct kv kv[16];
	size_t n = key_values(kv), len, found = 0;
	char *txt = test_read_file(path, &len), *line, *save = NULL;
	struct cf_err err;
	uint8_t zone[32] = {0};
	struct cf_keys *a, *b;

	REQUIRE(txt != NULL);
	for (line = strtok_r(txt, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		uint8_t want[32];
		size_t i;

		if (line[0] == '#')
			continue;
		REQUIRE(sp != NULL);
		*sp = '\0';
		REQUIRE(cf_unhex(want, 32, sp + 1) == 0);
		for (i = 0; i < n && strcmp(kv[i].name, line) != 0; i++)
			;
		REQUIRE(i < n);
		if (memcmp(kv[i].v, want, 32) != 0)
			fprintf(stderr, "  key %s differs from keys.txt\n",
			    line);
		CHECK(memcmp(kv[i].v, want, 32) == 0);
		found++;
	}
	CHECK(found == n);
	free(txt);

	/* Derivation is deterministic, distinct per purpose and per zone. */
	a = cf_keys_new(zone, &err);
	zone[31] = 1;
	b = cf_keys_new(zone, &err);
	REQUIRE(a != NULL && b != NULL);
	CHECK(memcmp(a->id, b->id, 32) != 0 && memcmp(a->mac, b->mac, 32) != 0);
	CHECK(memcmp(a->id, a->gear, 32) != 0 &&
	      memcmp(a->index, a->mac, 32) != 0);
	cf_keys_free(a);
	cf_keys_free(b);
	cf_keys_free(NULL);
}

static void
test_aead_kat(void)
{
	static const char pt[] =
	    "Ladies and Gentlemen of the class of '99: If I could offer you "
	    "only one tip for the future, sunscreen would be it.";
	static const char ct_hex[] =
	    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
	    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
	    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
	    "21f9664c97637da9768812f615c68b13b52e"
	    "c0875924c1c7987947deafd8780acf49";
	uint8_t key[32], nonce[24], ad[12], ct[sizeof(pt) - 1 + 16],
	    back[sizeof(pt)];
	size_t n = sizeof(pt) - 1;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	for (int i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0x40 + i);
	REQUIRE(cf_unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7") == 0);
	cf_aead_seal(ct, (const uint8_t *)pt, n, ad, 12, nonce, key);
	CHECK(test_hex_eq(ct, sizeof(ct), ct_hex));
	CHECK(cf_aead_open(back, ct, sizeof(ct), ad, 12, nonce, key) == 0 &&
	      memcmp(back, pt, n) == 0);
	CHECK(cf_aead_open(back, ct, sizeof(ct), ad, 11, nonce, key) == -1);
	ct[0] ^= 1;
	CHECK(cf_aead_open(back, ct, sizeof(ct), ad, 12, nonce, key) == -1);
	CHECK(cf_aead_open(back, ct, 15, ad, 12, nonce, key) == -1);

	cf_crypto_nonce(nonce, 0x0102030405060708ull);
	CHECK(test_hex_eq(nonce, 24,
	    "080706050403020100000000000000000000000000000000"));
	cf_crypto_nonce(nonce, UINT64_MAX);
	CHECK(test_hex_eq(nonce, 24,
	    "ffffffffffffffff00000000000000000000000000000000"));
}

static int
is_reject(int rc, const struct cf_err *e)
{
	return rc == -1 && (e->code == CF_EAUTH || e->code == CF_EFORMAT);
}

static void
test_wrap(const struct cf_keys *k, const struct cf_keys *other)
{
	uint8_t key[32], got[32], w[CF_WRAP_BYTES], w2[CF_WRAP_BYTES];
	struct cf_keys mixed;
	struct cf_err err;

	cf_crypto_random(key, sizeof(key));
	REQUIRE(cf_crypto_wrap_key(k, CF_OBJ_PACK, key, w, &err) == 0);
	CHECK(w[0] == 'C' && w[1] == 'F' && w[2] == 2 && w[3] == CF_OBJ_PACK);
	CHECK(cf_crypto_unwrap_key(k, CF_OBJ_PACK, w, got, &err) == 0 &&
	      memcmp(got, key, 32) == 0);
	REQUIRE(cf_crypto_wrap_key(k, CF_OBJ_PACK, key, w2, &err) == 0);
	CHECK(memcmp(w, w2, CF_WRAP_BYTES) != 0); /* sealing is randomised */
	CHECK_ERR(cf_crypto_unwrap_key(k, CF_OBJ_INDEX, w, got, &err), &err,
	    CF_EAUTH);
	CHECK_ERR(cf_crypto_unwrap_key(k, CF_OBJ_SNAPSHOT, w, got, &err), &err,
	    CF_EAUTH);
	CHECK_ERR(cf_crypto_unwrap_key(other, CF_OBJ_PACK, w, got, &err), &err,
	    CF_EAUTH);
	for (size_t i = 0; i < CF_WRAP_BYTES; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int rc;

			w[i] ^= (uint8_t)(1u << bit);
			err.code = CF_OK;
			rc = cf_crypto_unwrap_key(k, CF_OBJ_PACK, w, got, &err);
			CHECK(is_reject(rc, &err));
			w[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Authentic under the mac key but sealed to another box key: the
	 * last check (the box does not open) must catch it. */
	mixed = *k;
	memcpy(mixed.box_pk, other->box_pk, 32);
	REQUIRE(cf_crypto_wrap_key(&mixed, CF_OBJ_PACK, key, w2, &err) == 0);
	CHECK_ERR(cf_crypto_unwrap_key(k, CF_OBJ_PACK, w2, got, &err), &err,
	    CF_EAUTH);
	sodium_memzero(&mixed, sizeof(mixed));
}

/* Who wrote an object: a full key holder of the current version vouches
 * for it (restore then trusts the AEAD for a blob's id); a write-only
 * credential, or a holder of an older version only, does not. */
static void
test_vouched(const struct cf_keys *k)
{
	uint8_t key[32], got[32], w[CF_WRAP_BYTES], z2[2][CF_KEY_BYTES];
	uint8_t idx[1][32];
	struct cf_keys *wo, *ring;
	struct cf_err err;
	int v = -1;

	cf_crypto_random(key, sizeof(key));
	REQUIRE(cf_crypto_wrap_key(k, CF_OBJ_PACK, key, w, &err) == 0);
	CHECK(cf_crypto_unwrap_vouched(k, CF_OBJ_PACK, w, got, &v, &err) == 0 &&
	      v == 1 && memcmp(got, key, 32) == 0);
	/* a write-only credential of the same zone: version 1, mac key */
	memcpy(idx[0], k->index, 32);
	REQUIRE((wo = cf_keys_new_writeonly(k->id, k->gear,
	             (const uint8_t(*)[32])idx, 1, k->mac, k->box_pk, &err)) !=
	        NULL);
	REQUIRE(cf_crypto_wrap_key(wo, CF_OBJ_PACK, key, w, &err) == 0);
	CHECK(w[2] == 1);
	v = -1;
	CHECK(cf_crypto_unwrap_vouched(k, CF_OBJ_PACK, w, got, &v, &err) == 0 &&
	      v == 0 && memcmp(got, key, 32) == 0);
	/* relabelled as vouched: the version byte is under the MAC */
	w[2] = 2;
	CHECK_ERR(cf_crypto_unwrap_vouched(k, CF_OBJ_PACK, w, got, &v, &err),
	    &err, CF_EAUTH);
	cf_keys_free(wo);
	/* vouched by version 1 of a ring at version 2: read, not vouched */
	memcpy(z2[0], k->zone, 32);
	cf_crypto_random(z2[1], 32);
	REQUIRE((ring = cf_keys_new_ring((const uint8_t(*)[32])z2, 2, &err)) !=
	        NULL);
	REQUIRE(cf_crypto_wrap_key(k, CF_OBJ_PACK, key, w, &err) == 0);
	v = -1;
	CHECK(cf_crypto_unwrap_vouched(ring, CF_OBJ_PACK, w, got, &v, &err) ==
	          0 &&
	      v == 0 && memcmp(got, key, 32) == 0);
	REQUIRE(cf_crypto_wrap_key(ring, CF_OBJ_PACK, key, w, &err) == 0);
	CHECK(cf_crypto_unwrap_vouched(ring, CF_OBJ_PACK, w, got, &v, &err) ==
	          0 &&
	      v == 1);
	/* relabelled as written by a write-only credential */
	w[2] = 1;
	CHECK_ERR(cf_crypto_unwrap_vouched(ring, CF_OBJ_PACK, w, got, &v, &err),
	    &err, CF_EAUTH);
	cf_keys_free(ring);
	sodium_memzero(z2, sizeof(z2));
}

typedef int (*open_fn)(const void *key, int type, const uint8_t *in, size_t n,
    uint8_t **out, size_t *outn, struct cf_err *err);

static int
env_open(const void *key, int type, const uint8_t *in, size_t n, uint8_t **out,
    size_t *outn, struct cf_err *err)
{
	return cf_env_open(key, (enum cf_objtype)type, in, n, out, outn, err);
}

static int
sym_open(const void *key, int type, const uint8_t *in, size_t n, uint8_t **out,
    size_t *outn, struct cf_err *err)
{
	return cf_sym_open(key, (enum cf_objtype)type, in, n, out, outn, err);
}

/* Every single-byte change (xor 0x01, 0x80, 0xff), every truncation and
 * a one-byte extension of ${env} must fail with CF_EAUTH or CF_EFORMAT.
 * With ${stride} > 1, big envelopes are sampled: every position in the
 * first 192 and the last 64 bytes, every ${stride}th in between. */
static void
check_tamper(open_fn fn, const void *key, int type, const uint8_t *env,
    size_t n, size_t stride)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	uint8_t *c = malloc(n + 1), *out = NULL;
	struct cf_err err;
	size_t outn, bad = 0;

	REQUIRE(c != NULL);
	memcpy(c, env, n);
	for (size_t i = 0; i < n; i += i < 192 || i + 64 >= n ? 1 : stride) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			int rc;

			c[i] ^= masks[m];
			err.code = CF_OK;
			rc = fn(key, type, c, n, &out, &outn, &err);
			if (!is_reject(rc, &err)) {
				if (bad++ < 5)
					fprintf(stderr,
					    "  flip %zu^%02x: rc %d "
					    "code %d\n",
					    i, masks[m], rc, err.code);
				if (rc == 0)
					free(out);
			}
			c[i] ^= masks[m];
		}
	}
	CHECK(bad == 0);
	for (size_t len = 0; len < n;
	     len += len < 192 || len + 64 >= n ? 1 : stride) {
		int rc;

		err.code = CF_OK;
		rc = fn(key, type, c, len, &out, &outn, &err);
		CHECK(is_reject(rc, &err));
		if (rc == 0)
			free(out);
	}
	c[n] = 0;
	CHECK_ERR(fn(key, type, c, n + 1, &out, &outn, &err), &err, CF_EAUTH);
	/* Intact, it still opens. */
	CHECK(fn(key, type, c, n, &out, &outn, &err) == 0);
	free(out);
	free(c);
}

static void
test_env(const struct cf_keys *k, const struct cf_keys *other)
{
	static const size_t sizes[] = {
	    0, 1, 10, 100, 4092, 4093, 65536, 1000000};
	uint64_t seed = 11;
	struct cf_err err;
	struct cf_buf b;
	uint8_t *p = malloc(1000000), *out;
	size_t outn;

	REQUIRE(p != NULL);
	test_fill(&seed, p, 1000000);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		cf_buf_init(&b, 8u << 20);
		REQUIRE(cf_env_seal(k, CF_OBJ_SNAPSHOT, p, n, &b, &err) == 0);
		CHECK(b.len == CF_WRAP_BYTES + CF_NONCE_BYTES +
		                   cf_padme(n + 4) + CF_TAG_BYTES);
		CHECK(cf_env_open(k, CF_OBJ_SNAPSHOT, b.p, b.len, &out, &outn,
		          &err) == 0 &&
		      outn == n && memcmp(out, p, n) == 0);
		free(out);
		CHECK_ERR(cf_env_open(k, CF_OBJ_PACK, b.p, b.len, &out, &outn,
		              &err),
		    &err, CF_EAUTH);
		CHECK_ERR(cf_env_open(other, CF_OBJ_SNAPSHOT, b.p, b.len, &out,
		              &outn, &err),
		    &err, CF_EAUTH);
		if (n <= 100)
			check_tamper(env_open, k, CF_OBJ_SNAPSHOT, b.p, b.len,
			    1);
		else if (n == 4093)
			check_tamper(env_open, k, CF_OBJ_SNAPSHOT, b.p, b.len,
			    61);
		cf_buf_release(&b);
	}
	/* Envelopes append: two in one buffer, each opens on its own. */
	cf_buf_init(&b, 1 << 20);
	cf_buf_add(&b, "xx", 2);
	REQUIRE(cf_env_seal(k, CF_OBJ_INDEX, p, 5, &b, &err) == 0);
	outn = b.len;
	REQUIRE(cf_env_seal(k, CF_OBJ_INDEX, p + 5, 7, &b, &err) == 0);
	CHECK(cf_env_open(k, CF_OBJ_INDEX, b.p + 2, outn - 2, &out, &outn,
	          &err) == 0 &&
	      outn == 5 && memcmp(out, p, 5) == 0);
	free(out);
	cf_buf_release(&b);
	/* Too large to seal. */
	cf_buf_init(&b, 1 << 20);
	CHECK_ERR(cf_env_seal(k, CF_OBJ_PACK, p, (256u << 20) + 1, &b, &err),
	    &err, CF_ELIMIT);
	CHECK_ERR(cf_sym_seal(k->index, CF_OBJ_PACK, p, (256u << 20) + 1, &b,
	              &err),
	    &err, CF_ELIMIT);
	CHECK(b.len == 0);
	cf_buf_release(&b);
	free(p);
}

/* An envelope whose authentic plaintext claims more bytes than it has. */
static void
test_bad_length_field(const struct cf_keys *k)
{
	uint8_t env[CF_WRAP_BYTES + CF_NONCE_BYTES + 16 + CF_TAG_BYTES];
	uint8_t sym[4 + CF_NONCE_BYTES + 16 + CF_TAG_BYTES];
	uint8_t plain[16] = {0}, key[32], *out;
	uint8_t *nonce = env + CF_WRAP_BYTES;
	struct cf_err err;
	size_t outn;

	cf_crypto_random(key, 32);
	REQUIRE(cf_crypto_wrap_key(k, CF_OBJ_SNAPSHOT, key, env, &err) == 0);
	cf_crypto_random(nonce, CF_NONCE_BYTES);
	cf_le32_put(plain, 13); /* 12 bytes follow: one too many */
	cf_aead_seal(nonce + CF_NONCE_BYTES, plain, 16, env, CF_WRAP_BYTES,
	    nonce, key);
	CHECK_ERR(cf_env_open(k, CF_OBJ_SNAPSHOT, env, sizeof(env), &out, &outn,
	              &err),
	    &err, CF_EFORMAT);
	cf_le32_put(plain, 12); /* exactly fits */
	cf_aead_seal(nonce + CF_NONCE_BYTES, plain, 16, env, CF_WRAP_BYTES,
	    nonce, key);
	CHECK(cf_env_open(k, CF_OBJ_SNAPSHOT, env, sizeof(env), &out, &outn,
	          &err) == 0 &&
	      outn == 12);
	free(out);

	/* The same for a symmetric envelope. */
	memcpy(sym, "CS\x01\x02", 4);
	cf_crypto_random(sym + 4, CF_NONCE_BYTES);
	cf_le32_put(plain, 0xffffffffu);
	cf_aead_seal(sym + 28, plain, 16, sym, 4, sym + 4, k->index);
	CHECK_ERR(cf_sym_open(k->index, CF_OBJ_INDEX, sym, sizeof(sym), &out,
	              &outn, &err),
	    &err, CF_EFORMAT);
	cf_le32_put(plain, 0);
	cf_aead_seal(sym + 28, plain, 16, sym, 4, sym + 4, k->index);
	CHECK(cf_sym_open(k->index, CF_OBJ_INDEX, sym, sizeof(sym), &out, &outn,
	          &err) == 0 &&
	      outn == 0);
	free(out);
}

static void
test_sym(const struct cf_keys *k, const struct cf_keys *other)
{
	static const size_t sizes[] = {0, 1, 60, 1000, 300000};
	uint64_t seed = 12;
	struct cf_err err;
	struct cf_buf b;
	uint8_t *p = malloc(300000), *out;
	size_t outn;

	REQUIRE(p != NULL);
	test_fill(&seed, p, 300000);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		cf_buf_init(&b, 1u << 20);
		REQUIRE(cf_sym_seal(k->index, CF_OBJ_INDEX, p, n, &b, &err) ==
		        0);
		CHECK(b.len == CF_SYM_OVERHEAD - 4 + cf_padme(n + 4));
		CHECK(cf_sym_open(k->index, CF_OBJ_INDEX, b.p, b.len, &out,
		          &outn, &err) == 0 &&
		      outn == n && memcmp(out, p, n) == 0);
		free(out);
		CHECK_ERR(cf_sym_open(k->index, CF_OBJ_SNAPSHOT, b.p, b.len,
		              &out, &outn, &err),
		    &err, CF_EFORMAT);
		CHECK_ERR(cf_sym_open(other->index, CF_OBJ_INDEX, b.p, b.len,
		              &out, &outn, &err),
		    &err, CF_EAUTH);
		CHECK_ERR(cf_sym_open(k->mac, CF_OBJ_INDEX, b.p, b.len, &out,
		              &outn, &err),
		    &err, CF_EAUTH);
		if (n <= 1000)
			check_tamper(sym_open, k->index, CF_OBJ_INDEX, b.p,
			    b.len, 1);
		cf_buf_release(&b);
	}
	free(p);
}

int
main(int argc, char **argv)
{
	uint8_t zone[CF_KEY_BYTES];
	struct cf_keys *k, *other;
	struct cf_err err;
	char path[4096];

	REQUIRE(argc >= 2);
	REQUIRE(cf_crypto_init(&err) == 0);
	test_vector_path(path, sizeof(path), argv[1], "keys.txt");
	if (argc > 2 && strcmp(argv[2], "--regen") == 0)
		regen_keys(path);
	test_padme();
	test_keys(path);
	test_aead_kat();
	cf_crypto_random(zone, sizeof(zone));
	k = cf_keys_new(zone, &err);
	cf_crypto_random(zone, sizeof(zone));
	other = cf_keys_new(zone, &err);
	REQUIRE(k != NULL && other != NULL);
	test_wrap(k, other);
	test_vouched(k);
	test_env(k, other);
	test_bad_length_field(k);
	test_sym(k, other);
	cf_keys_free(k);
	cf_keys_free(other);
	return check_done("unit-crypto");
}
