#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define WRAP_MAGIC0 'C'
#define WRAP_MAGIC1 'F'
#define WRAP_VERSION_MAC 1   /* by a write-only credential (mac key) */
#define WRAP_VERSION_TRUST 2 /* by a full key holder (trust key) */
#define SYM_VERSION 1
#define ENV_MAX_PLAIN (256u << 20)

/** cf_crypto_init(err): initialise libsodium. */
int
cf_crypto_init(struct cf_err *err)
{
	if (sodium_init() < 0)
		return cf_err_set(err, CF_EINTERNAL, "libsodium init failed");
	return 0;
}

static void
derive(uint8_t out[static CF_KEY_BYTES], uint64_t id, const char ctx[8],
    const uint8_t zone[static CF_KEY_BYTES])
{
	/* crypto_kdf cannot fail for these fixed sizes. */
	(void)crypto_kdf_derive_from_key(out, CF_KEY_BYTES, id, ctx, zone);
}

static void
derive_version(struct cf_keyver *v, const uint8_t zone[static CF_KEY_BYTES])
{
	uint8_t seed[crypto_box_SEEDBYTES];

	derive(v->index, 3, "cfindex1", zone);
	derive(v->mac, 4, "cfmac001", zone);
	derive(v->trust, 6, "cftrust1", zone);
	derive(seed, 5, "cfbox001", zone);
	(void)crypto_box_seed_keypair(v->box_pk, v->box_sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

/** cf_keys_new(zone, err): derive the subkeys of ${zone}. */
struct cf_keys *
cf_keys_new(const uint8_t zone[static CF_KEY_BYTES], struct cf_err *err)
{
	return cf_keys_new_ring((const uint8_t(*)[CF_KEY_BYTES])zone, 1, err);
}

/** cf_keys_new_ring(secrets, n, err): a zone with ${n} versions. */
struct cf_keys *
cf_keys_new_ring(const uint8_t (*secrets)[CF_KEY_BYTES], size_t n,
    struct cf_err *err)
{
	struct cf_keyver cur;
	struct cf_keys *k;

	if (n == 0 || n > CF_MAX_VERSIONS + 1) {
		cf_err_set(err, CF_ELIMIT, "%zu zone key versions", n);
		return NULL;
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "cannot allocate key memory");
		return NULL;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->zone, secrets[0], CF_KEY_BYTES);
	derive(k->id, 1, "cfchunk1", secrets[0]);
	derive(k->gear, 2, "cfgear01", secrets[0]);
	for (size_t i = 0; i + 1 < n; i++)
		derive_version(&k->old[k->nold++], secrets[i]);
	derive_version(&cur, secrets[n - 1]);
	memcpy(k->index, cur.index, CF_KEY_BYTES);
	memcpy(k->mac, cur.mac, CF_KEY_BYTES);
	memcpy(k->trust, cur.trust, CF_KEY_BYTES);
	memcpy(k->box_pk, cur.box_pk, 32);
	memcpy(k->box_sk, cur.box_sk, 32);
	sodium_memzero(&cur, sizeof(cur));
	memcpy(k->secrets, secrets, n * CF_KEY_BYTES);
	k->nsecrets = n;
	return k;
}

/** cf_keys_free(k): wipe and free. */
void
cf_keys_free(struct cf_keys *k)
{
	if (k != NULL)
		sodium_free(k); /* sodium_free wipes */
}

void
cf_crypto_random(void *p, size_t n)
{
	randombytes_buf(p, n);
}

/** cf_crypto_chunk_id(k, p, n, id): keyed BLAKE2b-256. */
void
cf_crypto_chunk_id(const struct cf_keys *k, const uint8_t *p, size_t n,
    uint8_t id[static CF_ID_BYTES])
{
	(void)crypto_generichash(id, CF_ID_BYTES, p, n, k->id, CF_KEY_BYTES);
}

/** cf_crypto_hash(p, n, out): unkeyed BLAKE2b-256. */
void
cf_crypto_hash(const uint8_t *p, size_t n, uint8_t out[static 32])
{
	(void)crypto_generichash(out, 32, p, n, NULL, 0);
}

static void
wrap_mac_with(const uint8_t mac[CF_KEY_BYTES], const uint8_t *hdr,
    uint8_t out[16])
{
	(void)crypto_generichash(out, 16, hdr, CF_WRAP_BYTES - 16, mac,
	    CF_KEY_BYTES);
}

/** cf_crypto_wrap_key(k, type, key, out): seal and authenticate ${key}. */
int
cf_crypto_wrap_key(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t key[static CF_KEY_BYTES], uint8_t out[static CF_WRAP_BYTES],
    struct cf_err *err)
{
	out[0] = WRAP_MAGIC0;
	out[1] = WRAP_MAGIC1;
	out[2] = k->write_only ? WRAP_VERSION_MAC : WRAP_VERSION_TRUST;
	out[3] = (uint8_t)type;
	if (crypto_box_seal(out + 4, key, CF_KEY_BYTES, k->box_pk) != 0)
		return cf_err_set(err, CF_EINTERNAL, "crypto_box_seal failed");
	wrap_mac_with(k->write_only ? k->mac : k->trust, out,
	    out + CF_WRAP_BYTES - 16);
	return 0;
}

/* The MAC key of version ${i} (k->nold: the newest) for wrap ${version}. */
static const uint8_t *
wrap_key_of(const struct cf_keys *k, size_t i, int version)
{
	if (i == k->nold)
		return version == WRAP_VERSION_TRUST ? k->trust : k->mac;
	return version == WRAP_VERSION_TRUST ? k->old[i].trust : k->old[i].mac;
}

/** cf_crypto_unwrap_ver(k, type, in, key, ver, trusted, err): verify, then
 * open; *ver is the index of the version whose keys opened it (k->nold:
 * the newest), *trusted 1 if its trust key authenticated the wrap. */
int
cf_crypto_unwrap_ver(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    size_t *ver, int *trusted, struct cf_err *err)
{
	uint8_t mac[16];
	size_t i = k->nold;

	*ver = 0;
	*trusted = 0;
	if (in[0] != WRAP_MAGIC0 || in[1] != WRAP_MAGIC1)
		return cf_err_set(err, CF_EFORMAT, "bad object magic");
	if (in[2] != WRAP_VERSION_MAC && in[2] != WRAP_VERSION_TRUST)
		return cf_err_set(err, CF_EFORMAT,
		    "unsupported object version %u", in[2]);
	if (in[3] != (uint8_t)type)
		return cf_err_set(err, CF_EAUTH,
		    "object type %u where %u was expected", in[3], type);
	/* It has no box secret key, and its trust key is zero: a wrap MACed
	 * with a zero key and sealed to the zero key's public half must not
	 * open (the operator can make one). */
	if (k->write_only)
		return cf_err_set(err, CF_EAUTH,
		    "a write-only credential opens no object");
	for (;;) {
		wrap_mac_with(wrap_key_of(k, i, in[2]), in, mac);
		if (sodium_memcmp(mac, in + CF_WRAP_BYTES - 16, 16) == 0)
			break;
		if (i-- == 0)
			return cf_err_set(err, CF_EAUTH,
			    "object key not "
			    "authentic (tampered, or another repository)");
	}
	if (crypto_box_seal_open(key, in + 4,
	        CF_KEY_BYTES + crypto_box_SEALBYTES,
	        i == k->nold ? k->box_pk : k->old[i].box_pk,
	        i == k->nold ? k->box_sk : k->old[i].box_sk) != 0)
		return cf_err_set(err, CF_EAUTH, "object key does not open");
	*ver = i;
	*trusted = in[2] == WRAP_VERSION_TRUST;
	return 0;
}

/** cf_crypto_unwrap_vouched(k, type, in, key, vouched, err): verify, then
 * open; which key authenticated the wrap says who wrote it. */
int
cf_crypto_unwrap_vouched(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    int *vouched, struct cf_err *err)
{
	size_t ver;
	int trusted;

	*vouched = 0;
	if (cf_crypto_unwrap_ver(k, type, in, key, &ver, &trusted, err))
		return -1;
	*vouched = trusted && ver == k->nold;
	return 0;
}

/** cf_crypto_unwrap_key(k, type, in, key): verify, then open. */
int
cf_crypto_unwrap_key(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    struct cf_err *err)
{
	int vouched;

	return cf_crypto_unwrap_vouched(k, type, in, key, &vouched, err);
}

/** cf_crypto_nonce(nonce, counter): counter nonce for a single-use key. */
void
cf_crypto_nonce(uint8_t nonce[static CF_NONCE_BYTES], uint64_t counter)
{
	memset(nonce, 0, CF_NONCE_BYTES);
	cf_le64_put(nonce, counter);
}

void
cf_aead_seal(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *ad,
    size_t adn, const uint8_t nonce[static CF_NONCE_BYTES],
    const uint8_t key[static CF_KEY_BYTES])
{
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, n, ad,
	    adn, NULL, nonce, key);
}

int
cf_aead_open(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *ad,
    size_t adn, const uint8_t nonce[static CF_NONCE_BYTES],
    const uint8_t key[static CF_KEY_BYTES])
{
	if (n < CF_TAG_BYTES)
		return -1;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in,
	    n, ad, adn, nonce, key);
}

/** cf_padme(n): Padme (Nikitin et al., PETS 2019): keep the top
 * floor(log2(E))+1 bits of the length, where E = floor(log2(n)). */
uint64_t
cf_padme(uint64_t n)
{
	unsigned e, s, z;
	uint64_t mask;

	if (n < 2)
		return n;
	e = 63 - (unsigned)__builtin_clzll(n);
	s = 64 - (unsigned)__builtin_clzll((uint64_t)e);
	z = e - s;
	mask = (1ull << z) - 1;
	if (n > UINT64_MAX - mask)
		return n;
	return (n + mask) & ~mask;
}

/** cf_env_seal(k, type, p, n, out, err): append an envelope to ${out}. */
int
cf_env_seal(const struct cf_keys *k, enum cf_objtype type, const uint8_t *p,
    size_t n, struct cf_buf *out, struct cf_err *err)
{
	uint8_t key[CF_KEY_BYTES], nonce[CF_NONCE_BYTES];
	uint8_t *plain, *dst;
	size_t plen, start = out->len;

	if (n > ENV_MAX_PLAIN)
		return cf_err_set(err, CF_ELIMIT,
		    "object of %zu bytes too large", n);
	plen = (size_t)cf_padme(n + 4);
	if (cf_buf_reserve(out,
	        CF_WRAP_BYTES + CF_NONCE_BYTES + plen + CF_TAG_BYTES))
		return cf_err_set(err, CF_ENOMEM, "cannot allocate envelope");
	if ((plain = calloc(1, plen)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "cannot allocate envelope");
	cf_le32_put(plain, (uint32_t)n);
	if (n > 0)
		memcpy(plain + 4, p, n);
	cf_crypto_random(key, sizeof(key));
	cf_crypto_random(nonce, sizeof(nonce));
	dst = out->p + start;
	if (cf_crypto_wrap_key(k, type, key, dst, err))
		goto err1;
	memcpy(dst + CF_WRAP_BYTES, nonce, CF_NONCE_BYTES);
	cf_aead_seal(dst + CF_WRAP_BYTES + CF_NONCE_BYTES, plain, plen, dst,
	    CF_WRAP_BYTES, nonce, key);
	out->len = start + CF_WRAP_BYTES + CF_NONCE_BYTES + plen + CF_TAG_BYTES;
	sodium_memzero(plain, plen);
	free(plain);
	sodium_memzero(key, sizeof(key));
	return 0;
err1:
	sodium_memzero(plain, plen);
	free(plain);
	sodium_memzero(key, sizeof(key));
	return -1;
}

/** cf_env_open(k, type, in, n, out, outn, err): verify and decrypt. */
int
cf_env_open(const struct cf_keys *k, enum cf_objtype type, const uint8_t *in,
    size_t n, uint8_t **out, size_t *outn, struct cf_err *err)
{
	size_t ver;
	int trusted;

	return cf_env_open_ver(k, type, in, n, out, outn, &ver, &trusted, err);
}

/** cf_env_open_ver(k, type, in, n, out, outn, ver, trusted, err): the same,
 * and which version sealed it, as cf_crypto_unwrap_ver() says.  The bytes
 * of ${in} are attacker-controlled: every length is checked. */
int
cf_env_open_ver(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn, size_t *ver,
    int *trusted, struct cf_err *err)
{
	uint8_t key[CF_KEY_BYTES];
	uint8_t *plain;
	size_t clen, plen;
	uint32_t len;

	if (n < CF_ENV_OVERHEAD)
		return cf_err_set(err, CF_EFORMAT,
		    "object truncated (%zu bytes)", n);
	if (cf_crypto_unwrap_ver(k, type, in, key, ver, trusted, err))
		return -1;
	clen = n - CF_WRAP_BYTES - CF_NONCE_BYTES;
	plen = clen - CF_TAG_BYTES;
	if ((plain = malloc(plen)) == NULL) {
		sodium_memzero(key, sizeof(key));
		return cf_err_set(err, CF_ENOMEM, "cannot allocate %zu bytes",
		    plen);
	}
	if (cf_aead_open(plain, in + CF_WRAP_BYTES + CF_NONCE_BYTES, clen, in,
	        CF_WRAP_BYTES, in + CF_WRAP_BYTES, key)) {
		sodium_memzero(key, sizeof(key));
		free(plain);
		return cf_err_set(err, CF_EAUTH,
		    "object does not authenticate (tampered or truncated)");
	}
	sodium_memzero(key, sizeof(key));
	len = cf_le32_get(plain);
	if (len > plen - 4) {
		free(plain);
		return cf_err_set(err, CF_EFORMAT,
		    "object length field invalid");
	}
	memmove(plain, plain + 4, len);
	*out = plain;
	*outn = len;
	return 0;
}

/** cf_sym_seal(key, type, p, n, out, err): symmetric envelope. */
int
cf_sym_seal(const uint8_t key[static CF_KEY_BYTES], enum cf_objtype type,
    const uint8_t *p, size_t n, struct cf_buf *out, struct cf_err *err)
{
	uint8_t *plain, *dst;
	size_t plen;

	if (n > ENV_MAX_PLAIN)
		return cf_err_set(err, CF_ELIMIT,
		    "object of %zu bytes too large", n);
	plen = (size_t)cf_padme(n + 4);
	if (cf_buf_reserve(out, 4 + CF_NONCE_BYTES + plen + CF_TAG_BYTES) ||
	    (plain = calloc(1, plen)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "cannot allocate envelope");
	cf_le32_put(plain, (uint32_t)n);
	if (n > 0)
		memcpy(plain + 4, p, n);
	dst = out->p + out->len;
	dst[0] = 'C';
	dst[1] = 'S';
	dst[2] = SYM_VERSION;
	dst[3] = (uint8_t)type;
	cf_crypto_random(dst + 4, CF_NONCE_BYTES);
	cf_aead_seal(dst + 4 + CF_NONCE_BYTES, plain, plen, dst, 4, dst + 4,
	    key);
	out->len += 4 + CF_NONCE_BYTES + plen + CF_TAG_BYTES;
	sodium_memzero(plain, plen);
	free(plain);
	return 0;
}

/** cf_sym_open(key, type, in, n, out, outn, err): open a symmetric
 * envelope; ${in} is attacker-controlled. */
int
cf_sym_open(const uint8_t key[static CF_KEY_BYTES], enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn,
    struct cf_err *err)
{
	uint8_t *plain;
	size_t clen;
	uint32_t len;

	if (n < CF_SYM_OVERHEAD)
		return cf_err_set(err, CF_EFORMAT, "object truncated");
	if (in[0] != 'C' || in[1] != 'S' || in[2] != SYM_VERSION ||
	    in[3] != (uint8_t)type)
		return cf_err_set(err, CF_EFORMAT, "bad object header");
	clen = n - 4 - CF_NONCE_BYTES;
	if ((plain = malloc(clen)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	if (cf_aead_open(plain, in + 4 + CF_NONCE_BYTES, clen, in, 4, in + 4,
	        key)) {
		free(plain);
		return cf_err_set(err, CF_EAUTH,
		    "object does not authenticate (tampered or truncated)");
	}
	len = cf_le32_get(plain);
	if (len > clen - CF_TAG_BYTES - 4) {
		free(plain);
		return cf_err_set(err, CF_EFORMAT,
		    "object length field invalid");
	}
	memmove(plain, plain + 4, len);
	*out = plain;
	*outn = len;
	return 0;
}

/** cf_keys_sym_open(k, type, in, n, out, outn, err): try each version. */
int
cf_keys_sym_open(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn,
    struct cf_err *err)
{
	if (cf_sym_open(k->index, type, in, n, out, outn, err) == 0)
		return 0;
	for (size_t i = k->nold; err->code == CF_EAUTH && i-- > 0;)
		if (cf_sym_open(k->old[i].index, type, in, n, out, outn, err) ==
		    0)
			return 0;
	return -1;
}

/** cf_keys_new_writeonly(id, gear, index, mac, box_pk, err): no reading. */
struct cf_keys *
cf_keys_new_writeonly(const uint8_t id[static 32],
    const uint8_t gear[static 32], const uint8_t (*index)[32], size_t nindex,
    const uint8_t mac[static 32], const uint8_t box_pk[static 32],
    struct cf_err *err)
{
	struct cf_keys *k;

	if (nindex == 0 || nindex > CF_MAX_VERSIONS + 1) {
		cf_err_set(err, CF_ELIMIT, "%zu index keys", nindex);
		return NULL;
	}
	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "cannot allocate key memory");
		return NULL;
	}
	memset(k, 0, sizeof(*k));
	memcpy(k->id, id, 32);
	memcpy(k->gear, gear, 32);
	memcpy(k->index, index[nindex - 1], 32);
	for (size_t i = 0; i + 1 < nindex; i++)
		memcpy(k->old[k->nold++].index, index[i], 32);
	memcpy(k->mac, mac, 32);
	memcpy(k->box_pk, box_pk, 32);
	k->write_only = 1;
	return k;
}
