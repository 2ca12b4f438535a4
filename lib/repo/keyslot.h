/*
 * keyslot.h: key slots, the only place a zone key is stored, always
 * wrapped.  A slot is stored as keys/NAME (NAME = BLAKE2b-256 of its bytes).
 *
 *   slot = "CFKS" version(1) type(1) repo_id[16] params nonce[24]
 *          AEAD(KEK, zone[32] || created(i64 ns) || host[64], AD = all
 *          bytes before the nonce)
 * type 1 (passphrase): params = opslimit(u64) memlimit(u64) salt[16],
 *   KEK = Argon2id(passphrase, salt, opslimit, memlimit).
 * type 2 (account): the zone's key ring under the account key of one
 *   epoch:
 *   slot = "CFKS" version(1) 2 repo_id[16] u32(epoch) nonce[24]
 *          AEAD(KEK, u8(count) || secret[32]*count, AD = the 26 bytes
 *          before the nonce), KEK = BLAKE2b-256(key = AK,
 *          "coffer-zone-slot" || repo_id).
 * Type 3 is reserved (write-only credentials live outside the repository).  The
 * repository id in the AD ties a slot to its repository.  Slot bytes are
 * attacker-controlled: the Argon2 costs are bounded before use, so a hostile
 * slot cannot demand 1 TiB.
 */
#ifndef CF_KEYSLOT_H
#define CF_KEYSLOT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/err.h"

#define CF_REPO_ID_BYTES 16
#define CF_SLOT_PASSPHRASE 1
#define CF_SLOT_ACCOUNT 2
#define CF_KDF_MIN_MEM (8ull << 20)
#define CF_KDF_MAX_MEM (4ull << 30)
#define CF_KDF_MAX_OPS 64
#define CF_KDF_DEFAULT_MEM (64ull << 20)
#define CF_KDF_DEFAULT_OPS 3

struct cf_kdf {
	uint64_t ops, mem;
};

struct cf_slotinfo {
	uint8_t type;
	uint32_t epoch; /* type 2 */
	uint64_t ops, mem;
	int64_t created_ns;
	char host[65];
};

/** cf_keyslot_seal(zone, repo_id, pass, passlen, kdf, host, out, err):
 * append a passphrase slot for ${zone} to ${out}. */
int cf_keyslot_seal(const uint8_t zone[static CF_KEY_BYTES],
    const uint8_t repo_id[static CF_REPO_ID_BYTES], const char *pass,
    size_t passlen, const struct cf_kdf *kdf, const char *host,
    struct cf_buf *out, struct cf_err *err) CF_WUR;
/** cf_keyslot_open(p, n, repo_id, pass, passlen, zone, info, err): 0 and
 * the zone key; CF_EPASS if the passphrase does not open it. */
int cf_keyslot_open(const uint8_t *p, size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES], const char *pass,
    size_t passlen, uint8_t zone[static CF_KEY_BYTES], struct cf_slotinfo *info,
    struct cf_err *err) CF_WUR;
/** cf_keyslot_parse(p, n, info, err): check the plaintext part only. */
int cf_keyslot_parse(const uint8_t *p, size_t n, struct cf_slotinfo *info,
    struct cf_err *err) CF_WUR;

/** cf_keyslot_seal_account(secrets, n, repo_id, ak, epoch, out, err):
 * append an account slot holding the ${n}-version key ring. */
int cf_keyslot_seal_account(const uint8_t (*secrets)[CF_KEY_BYTES], size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES],
    const uint8_t ak[static CF_KEY_BYTES], uint32_t epoch, struct cf_buf *out,
    struct cf_err *err) CF_WUR;
/** cf_keyslot_open_account(p, n, repo_id, ak, secrets, count, err): open an
 * account slot; ${secrets} has room for CF_MAX_VERSIONS + 1. */
int cf_keyslot_open_account(const uint8_t *p, size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES],
    const uint8_t ak[static CF_KEY_BYTES], uint8_t (*secrets)[CF_KEY_BYTES],
    size_t *count, struct cf_err *err) CF_WUR;

#endif
