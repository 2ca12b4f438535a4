#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "repo/keyslot.h"

#define SLOT_VERSION 1
#define SALT_BYTES 16
#define HOST_BYTES 64
#define PLAIN_BYTES (CF_KEY_BYTES + 8 + HOST_BYTES)
#define HEAD_BYTES (4 + 1 + 1 + CF_REPO_ID_BYTES + 8 + 8 + SALT_BYTES)
#define SLOT_BYTES (HEAD_BYTES + CF_NONCE_BYTES + PLAIN_BYTES + CF_TAG_BYTES)

static int
derive_kek(uint8_t kek[static CF_KEY_BYTES], const char *pass, size_t passlen,
    const uint8_t salt[static SALT_BYTES], uint64_t ops, uint64_t mem,
    struct cf_err *err)
{
	if (crypto_pwhash(kek, CF_KEY_BYTES, pass, passlen, salt, ops,
	        (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return cf_err_set(err, CF_ENOMEM,
		    "Argon2id needs %llu MiB of memory",
		    (unsigned long long)(mem >> 20));
	return 0;
}

static int
kdf_ok(uint64_t ops, uint64_t mem)
{
	return ops >= 1 && ops <= CF_KDF_MAX_OPS && mem >= CF_KDF_MIN_MEM &&
	       mem <= CF_KDF_MAX_MEM;
}

/** cf_keyslot_seal(...): append a passphrase slot. */
int
cf_keyslot_seal(const uint8_t zone[static CF_KEY_BYTES],
    const uint8_t repo_id[static CF_REPO_ID_BYTES], const char *pass,
    size_t passlen, const struct cf_kdf *kdf, const char *host,
    struct cf_buf *out, struct cf_err *err)
{
	uint8_t kek[CF_KEY_BYTES], plain[PLAIN_BYTES], *s;
	struct cf_buf b;
	int rc = -1;

	if (!kdf_ok(kdf->ops, kdf->mem))
		return cf_err_set(err, CF_EUSAGE,
		    "Argon2id costs out of range (ops 1-%d, memory 8 MiB-4 "
		    "GiB)",
		    CF_KDF_MAX_OPS);
	cf_buf_init(&b, SLOT_BYTES);
	cf_buf_add(&b, "CFKS", 4);
	cf_buf_add_u8(&b, SLOT_VERSION);
	cf_buf_add_u8(&b, CF_SLOT_PASSPHRASE);
	cf_buf_add(&b, repo_id, CF_REPO_ID_BYTES);
	cf_buf_add_u64(&b, kdf->ops);
	cf_buf_add_u64(&b, kdf->mem);
	if (cf_buf_reserve(&b, SLOT_BYTES - b.len))
		goto out;
	s = b.p;
	cf_crypto_random(s + b.len, SALT_BYTES);
	b.len += SALT_BYTES;
	cf_crypto_random(s + b.len, CF_NONCE_BYTES);
	if (derive_kek(kek, pass, passlen, s + HEAD_BYTES - SALT_BYTES,
	        kdf->ops, kdf->mem, err))
		goto out;
	memset(plain, 0, sizeof(plain));
	memcpy(plain, zone, CF_KEY_BYTES);
	cf_le64_put(plain + CF_KEY_BYTES, (uint64_t)time(NULL) * 1000000000ull);
	snprintf((char *)plain + CF_KEY_BYTES + 8, HOST_BYTES, "%s",
	    host ? host : "");
	cf_aead_seal(s + HEAD_BYTES + CF_NONCE_BYTES, plain, sizeof(plain), s,
	    HEAD_BYTES, s + HEAD_BYTES, kek);
	b.len = SLOT_BYTES;
	cf_buf_add(out, b.p, b.len);
	rc = cf_buf_check(out, err, "key slot");
out:
	sodium_memzero(kek, sizeof(kek));
	sodium_memzero(plain, sizeof(plain));
	cf_buf_release(&b);
	return rc;
}

#define ACCT_HEAD (4 + 1 + 1 + CF_REPO_ID_BYTES + 4)
#define ACCT_MIN (ACCT_HEAD + CF_NONCE_BYTES + 1 + CF_KEY_BYTES + CF_TAG_BYTES)

static int
parse_account(const uint8_t *p, size_t n, struct cf_slotinfo *info,
    struct cf_err *err)
{
	size_t count;

	if (n < ACCT_MIN)
		return cf_err_set(err, CF_EFORMAT, "key slot is corrupt");
	count =
	    (n - ACCT_HEAD - CF_NONCE_BYTES - 1 - CF_TAG_BYTES) / CF_KEY_BYTES;
	if (count == 0 || count > CF_MAX_VERSIONS + 1 ||
	    n != ACCT_HEAD + CF_NONCE_BYTES + 1 + count * CF_KEY_BYTES +
	             CF_TAG_BYTES)
		return cf_err_set(err, CF_EFORMAT, "key slot is corrupt");
	info->type = CF_SLOT_ACCOUNT;
	info->epoch = cf_le32_get(p + 6 + CF_REPO_ID_BYTES);
	return 0;
}

static void
account_kek(const uint8_t ak[static CF_KEY_BYTES],
    const uint8_t repo_id[static CF_REPO_ID_BYTES], uint8_t kek[CF_KEY_BYTES])
{
	uint8_t msg[16 + CF_REPO_ID_BYTES];

	memcpy(msg, "coffer-zone-slot", 16);
	memcpy(msg + 16, repo_id, CF_REPO_ID_BYTES);
	(void)crypto_generichash(kek, CF_KEY_BYTES, msg, sizeof(msg), ak,
	    CF_KEY_BYTES);
}

/** cf_keyslot_seal_account(...): an account slot for a key ring. */
int
cf_keyslot_seal_account(const uint8_t (*secrets)[CF_KEY_BYTES], size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES],
    const uint8_t ak[static CF_KEY_BYTES], uint32_t epoch, struct cf_buf *out,
    struct cf_err *err)
{
	uint8_t kek[CF_KEY_BYTES], plain[1 + (CF_MAX_VERSIONS + 1) * 32];
	size_t plen = 1 + n * CF_KEY_BYTES, start = out->len;

	if (n == 0 || n > CF_MAX_VERSIONS + 1)
		return cf_err_set(err, CF_ELIMIT, "too many key versions");
	cf_buf_add(out, "CFKS", 4);
	cf_buf_add_u8(out, SLOT_VERSION);
	cf_buf_add_u8(out, CF_SLOT_ACCOUNT);
	cf_buf_add(out, repo_id, CF_REPO_ID_BYTES);
	cf_buf_add_u32(out, epoch);
	if (cf_buf_reserve(out, CF_NONCE_BYTES + plen + CF_TAG_BYTES))
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_crypto_random(out->p + out->len, CF_NONCE_BYTES);
	plain[0] = (uint8_t)n;
	memcpy(plain + 1, secrets, n * CF_KEY_BYTES);
	account_kek(ak, repo_id, kek);
	cf_aead_seal(out->p + out->len + CF_NONCE_BYTES, plain, plen,
	    out->p + start, ACCT_HEAD, out->p + out->len, kek);
	out->len += CF_NONCE_BYTES + plen + CF_TAG_BYTES;
	sodium_memzero(kek, sizeof(kek));
	sodium_memzero(plain, sizeof(plain));
	return 0;
}

/** cf_keyslot_open_account(...): open an account slot. */
int
cf_keyslot_open_account(const uint8_t *p, size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES],
    const uint8_t ak[static CF_KEY_BYTES], uint8_t (*secrets)[CF_KEY_BYTES],
    size_t *count, struct cf_err *err)
{
	uint8_t kek[CF_KEY_BYTES], plain[1 + (CF_MAX_VERSIONS + 1) * 32];
	struct cf_slotinfo info;
	size_t clen;
	int rc;

	if (cf_keyslot_parse(p, n, &info, err))
		return -1;
	if (info.type != CF_SLOT_ACCOUNT)
		return cf_err_set(err, CF_EUSAGE, "not an account key slot");
	if (sodium_memcmp(p + 6, repo_id, CF_REPO_ID_BYTES) != 0)
		return cf_err_set(err, CF_EAUTH,
		    "key slot belongs to another repository");
	clen = n - ACCT_HEAD - CF_NONCE_BYTES;
	account_kek(ak, repo_id, kek);
	rc = cf_aead_open(plain, p + ACCT_HEAD + CF_NONCE_BYTES, clen, p,
	    ACCT_HEAD, p + ACCT_HEAD, kek);
	sodium_memzero(kek, sizeof(kek));
	if (rc != 0 || plain[0] != (clen - CF_TAG_BYTES - 1) / CF_KEY_BYTES) {
		sodium_memzero(plain, sizeof(plain));
		return cf_err_set(err, CF_EAUTH,
		    "account key slot does not open with this account key");
	}
	*count = plain[0];
	memcpy(secrets, plain + 1, *count * CF_KEY_BYTES);
	sodium_memzero(plain, sizeof(plain));
	return 0;
}

/** cf_keyslot_parse(p, n, info, err): validate the plaintext part. */
int
cf_keyslot_parse(const uint8_t *p, size_t n, struct cf_slotinfo *info,
    struct cf_err *err)
{
	memset(info, 0, sizeof(*info));
	if (n >= 6 && memcmp(p, "CFKS", 4) == 0 && p[4] == SLOT_VERSION &&
	    p[5] == CF_SLOT_ACCOUNT)
		return parse_account(p, n, info, err);
	if (n != SLOT_BYTES || memcmp(p, "CFKS", 4) != 0)
		return cf_err_set(err, CF_EFORMAT, "key slot is corrupt");
	if (p[4] != SLOT_VERSION)
		return cf_err_set(err, CF_EFORMAT,
		    "key slot version %u not supported", p[4]);
	if (p[5] != CF_SLOT_PASSPHRASE)
		return cf_err_set(err, CF_EFORMAT, "key slot type %u unknown",
		    p[5]);
	info->type = p[5];
	info->ops = cf_le64_get(p + 6 + CF_REPO_ID_BYTES);
	info->mem = cf_le64_get(p + 14 + CF_REPO_ID_BYTES);
	if (!kdf_ok(info->ops, info->mem))
		return cf_err_set(err, CF_EFORMAT,
		    "key slot asks for Argon2id costs out of bounds");
	return 0;
}

/** cf_keyslot_open(...): unwrap the zone key with a passphrase. */
int
cf_keyslot_open(const uint8_t *p, size_t n,
    const uint8_t repo_id[static CF_REPO_ID_BYTES], const char *pass,
    size_t passlen, uint8_t zone[static CF_KEY_BYTES], struct cf_slotinfo *info,
    struct cf_err *err)
{
	uint8_t kek[CF_KEY_BYTES], plain[PLAIN_BYTES];
	int rc;

	if (cf_keyslot_parse(p, n, info, err))
		return -1;
	if (info->type != CF_SLOT_PASSPHRASE)
		return cf_err_set(err, CF_EPASS,
		    "not a password slot (an account's device opens it)");
	if (sodium_memcmp(p + 6, repo_id, CF_REPO_ID_BYTES) != 0)
		return cf_err_set(err, CF_EAUTH,
		    "key slot belongs to another repository");
	if (derive_kek(kek, pass, passlen, p + HEAD_BYTES - SALT_BYTES,
	        info->ops, info->mem, err))
		return -1;
	rc = cf_aead_open(plain, p + HEAD_BYTES + CF_NONCE_BYTES,
	    PLAIN_BYTES + CF_TAG_BYTES, p, HEAD_BYTES, p + HEAD_BYTES, kek);
	sodium_memzero(kek, sizeof(kek));
	if (rc != 0)
		return cf_err_set(err, CF_EPASS,
		    "wrong password (or corrupted key slot)");
	memcpy(zone, plain, CF_KEY_BYTES);
	info->created_ns = (int64_t)cf_le64_get(plain + CF_KEY_BYTES);
	memcpy(info->host, plain + CF_KEY_BYTES + 8, HOST_BYTES);
	info->host[HOST_BYTES] = '\0';
	sodium_memzero(plain, sizeof(plain));
	return 0;
}
