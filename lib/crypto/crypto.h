/*
 * crypto.h: thin wrappers over libsodium, and the key schedule of a zone.
 *
 * A zone (a repository, in this release) is unlocked by one 32-byte secret,
 * the zone key.  Every other key is derived from it with crypto_kdf (BLAKE2b)
 * under its own context, so no key ever serves two purposes:
 *   id    keyed BLAKE2b-256 of plaintext chunks: chunk IDs (dedup)
 *   gear  seed of the secret gear table of the chunker
 *   index AEAD key of index files (chunk ID -> pack location)
 *   mac   authenticates wrapped object keys (the server cannot forge)
 *   trust authenticates the wrapped keys of a full key holder instead: an
 *         object whose key it vouches for was written by a device that
 *         could also read, never by a write-only credential
 *   box   seed of an X25519 key pair; every pack, snapshot and index file
 *         has a fresh random key sealed to its public half, so a later
 *         write-only credential (id, gear, index, mac, box public key) can
 *         add data without being able to read any of it back.
 * All keys live in sodium_malloc()ed memory and are wiped on free.
 * Functions are thread-safe on distinct outputs; a struct cf_keys is
 * read-only after creation and may be shared between threads.
 */
#ifndef CF_CRYPTO_H
#define CF_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define CF_KEY_BYTES 32
#define CF_ID_BYTES 32
#define CF_NONCE_BYTES 24
#define CF_TAG_BYTES 16
/* magic(2) version(1) type(1) sealed key(80) mac(16) */
#define CF_WRAP_BYTES 100
/* wrap + nonce + tag + u32 length */
#define CF_ENV_OVERHEAD (CF_WRAP_BYTES + CF_NONCE_BYTES + CF_TAG_BYTES + 4)

/* Object types bound into every wrapped key and envelope. */
enum cf_objtype {
	CF_OBJ_PACK = 1,
	CF_OBJ_INDEX = 2,
	CF_OBJ_SNAPSHOT = 3,
	CF_OBJ_FORGET = 4, /* names of snapshots forgotten on purpose */
	CF_OBJ_PLAN = 5,   /* packs a prune means to delete */
	CF_OBJ_COVER = 6,  /* snapshots a retired key version may vouch for */
};

#define CF_MAX_VERSIONS 32

/* The keys of one zone version (see cf_keys_new_ring). */
struct cf_keyver {
	uint8_t index[CF_KEY_BYTES];
	uint8_t mac[CF_KEY_BYTES];
	uint8_t trust[CF_KEY_BYTES];
	uint8_t box_pk[32];
	uint8_t box_sk[32];
};

struct cf_keys {
	uint8_t zone[CF_KEY_BYTES]; /* the first version's secret */
	uint8_t id[CF_KEY_BYTES];
	uint8_t gear[CF_KEY_BYTES];
	/* the current (newest) version: what new objects are written with */
	uint8_t index[CF_KEY_BYTES];
	uint8_t mac[CF_KEY_BYTES];
	uint8_t trust[CF_KEY_BYTES]; /* zero for a write-only credential */
	uint8_t box_pk[32];
	uint8_t box_sk[32];
	/* older versions, still read */
	size_t nold;
	struct cf_keyver old[CF_MAX_VERSIONS];
	/* every version's secret, oldest first, to re-wrap the ring */
	size_t nsecrets;
	uint8_t secrets[CF_MAX_VERSIONS + 1][CF_KEY_BYTES];
	int write_only; /* no box secret key: can add, never read back */
};

/** cf_crypto_init(err): sodium_init(); call once from main(). */
int cf_crypto_init(struct cf_err *err) CF_WUR;

/** cf_keys_new(zone, err): derive every subkey of ${zone}; free with
 * cf_keys_free(). */
struct cf_keys *cf_keys_new(const uint8_t zone[static CF_KEY_BYTES],
    struct cf_err *err);
/** cf_keys_new_ring(secrets, n, err): the keys of a zone whose secret was
 * rotated: chunk ids and cut points stay those of the first version (so
 * deduplication goes on), while new objects are sealed and authenticated
 * with the newest version's keys, and older versions are kept for reading.
 * A device removed before version k cannot open anything written with
 * version k. */
struct cf_keys *cf_keys_new_ring(const uint8_t (*secrets)[CF_KEY_BYTES],
    size_t n, struct cf_err *err);
/** cf_keys_new_writeonly(id, gear, index, nindex, mac, box_pk, err): the
 * keys of a write-only credential: enough to chunk, deduplicate, read the
 * index (${nindex} index keys, oldest first) and seal new objects, and
 * nothing to open one. */
struct cf_keys *cf_keys_new_writeonly(const uint8_t id[static 32],
    const uint8_t gear[static 32], const uint8_t (*index)[32], size_t nindex,
    const uint8_t mac[static 32], const uint8_t box_pk[static 32],
    struct cf_err *err);
/** cf_keys_sym_open(k, type, in, n, out, outn, err): cf_sym_open with the
 * index key of whichever version sealed the object. */
int cf_keys_sym_open(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn,
    struct cf_err *err) CF_WUR;
/** cf_keys_free(k): wipe and free; NULL is a no-op. */
void cf_keys_free(struct cf_keys *k);

/** cf_crypto_random(p, n): ${n} random bytes from the OS via libsodium. */
void cf_crypto_random(void *p, size_t n);

/** cf_crypto_chunk_id(k, p, n, id): keyed BLAKE2b-256 of plaintext. */
void cf_crypto_chunk_id(const struct cf_keys *k, const uint8_t *p, size_t n,
    uint8_t id[static CF_ID_BYTES]);

/** cf_crypto_hash(p, n, out): unkeyed BLAKE2b-256 (names of stored
 * objects: the hash of their ciphertext, checkable by anyone). */
void cf_crypto_hash(const uint8_t *p, size_t n, uint8_t out[static 32]);

/** cf_crypto_wrap_key(k, type, key, out): seal a fresh object key to the
 * zone's box key and authenticate it under the zone's trust key (version
 * 2), or its mac key for a write-only credential (version 1). */
int cf_crypto_wrap_key(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t key[static CF_KEY_BYTES], uint8_t out[static CF_WRAP_BYTES],
    struct cf_err *err) CF_WUR;
/** cf_crypto_unwrap_key(k, type, in, key): verify and open a wrapped key.
 * CF_EAUTH on any mismatch. */
int cf_crypto_unwrap_key(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    struct cf_err *err) CF_WUR;
/** cf_crypto_unwrap_vouched(k, type, in, key, vouched, err): the same,
 * and *vouched = 1 if the wrap is authenticated by the newest version's
 * trust key: the object was written by a full key holder of the current
 * version (not a write-only credential, not a device removed since). */
int cf_crypto_unwrap_vouched(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    int *vouched, struct cf_err *err) CF_WUR;

/** cf_crypto_unwrap_ver(k, type, in, key, ver, trusted, err): the same;
 * *ver is the index of the key version that opened it (k->nold: the
 * newest), *trusted 1 if that version's trust key authenticated the wrap
 * (a full key holder of that version wrote it, not a write-only
 * credential). */
int cf_crypto_unwrap_ver(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t in[static CF_WRAP_BYTES], uint8_t key[static CF_KEY_BYTES],
    size_t *ver, int *trusted, struct cf_err *err) CF_WUR;

/** cf_crypto_nonce(nonce, counter): the nonce for message ${counter} under
 * a single-use key: little-endian counter, zero-padded.  Keys are fresh
 * per object, so nonces never repeat under one key by construction. */
void cf_crypto_nonce(uint8_t nonce[static CF_NONCE_BYTES], uint64_t counter);

/** cf_aead_seal(out, in, n, ad, adn, nonce, key): XChaCha20-Poly1305;
 * ${out} has room for n + CF_TAG_BYTES. */
void cf_aead_seal(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *ad,
    size_t adn, const uint8_t nonce[static CF_NONCE_BYTES],
    const uint8_t key[static CF_KEY_BYTES]);
/** cf_aead_open(out, in, n, ad, adn, nonce, key): -1 if forged; ${n}
 * includes the tag. */
int cf_aead_open(uint8_t *out, const uint8_t *in, size_t n, const uint8_t *ad,
    size_t adn, const uint8_t nonce[static CF_NONCE_BYTES],
    const uint8_t key[static CF_KEY_BYTES]) CF_WUR;

/** cf_padme(n): the Padme padded length of ${n} (at most ~12% larger). */
uint64_t cf_padme(uint64_t n);

/** cf_env_seal(k, type, p, n, out, err): an envelope: wrapped fresh key,
 * nonce, AEAD of (u32 n || p || zero padding to Padme).  ${out} is
 * initialised by the caller; bytes are appended. */
int cf_env_seal(const struct cf_keys *k, enum cf_objtype type, const uint8_t *p,
    size_t n, struct cf_buf *out, struct cf_err *err) CF_WUR;
/** cf_env_open(k, type, in, n, out, outn, err): verify and decrypt; *out is
 * malloc()ed, owned by the caller. */
int cf_env_open(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn,
    struct cf_err *err) CF_WUR;
/** cf_env_open_ver(k, type, in, n, out, outn, ver, trusted, err): the same,
 * and which key version sealed it (see cf_crypto_unwrap_ver). */
int cf_env_open_ver(const struct cf_keys *k, enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn, size_t *ver,
    int *trusted, struct cf_err *err) CF_WUR;

#endif

#ifndef CF_CRYPTO_SYM_H
#define CF_CRYPTO_SYM_H
#define CF_SYM_OVERHEAD (4 + CF_NONCE_BYTES + CF_TAG_BYTES + 4)
/** cf_sym_seal(key, type, p, n, out, err): a symmetric envelope (random
 * 192-bit nonce, Padme-padded) under ${key}, for objects that write-only
 * credentials must read back (index files). */
int cf_sym_seal(const uint8_t key[static CF_KEY_BYTES], enum cf_objtype type,
    const uint8_t *p, size_t n, struct cf_buf *out, struct cf_err *err) CF_WUR;
/** cf_sym_open(key, type, in, n, out, outn, err): verify and decrypt. */
int cf_sym_open(const uint8_t key[static CF_KEY_BYTES], enum cf_objtype type,
    const uint8_t *in, size_t n, uint8_t **out, size_t *outn,
    struct cf_err *err) CF_WUR;
#endif
