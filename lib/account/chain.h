/*
 * chain.h: the device chain of an account: an append-only list of records,
 * each naming its predecessor by hash and signed by a device that was
 * trusted when it was appended.  Pure: encode, decode, verify.
 *
 *   record = 'C' 'R' version(1)=1 u64(seq) prev[32] type(1) i64(time)
 *            u32(epoch) subject ak_commit[32] uvar(nwraps) wrap*
 *            signer[32] sig[64]
 *   subject = role(1) ed25519 pk[32] x25519 pk[32] bytes(name)
 *   wrap    = ed25519 pk[32] of a member, object name[32] of its sealed AK
 * The record's name is BLAKE2b-256 of its bytes; sig is Ed25519 over every
 * byte before it.  ak_commit = BLAKE2b-256(key = AK of the epoch,
 * "coffer-ak-commit"), so a member that unseals an AK can check it is the
 * one the chain names (a server cannot substitute its own).
 *
 * Rules (cf_chain_apply): seq increases by one, prev is the previous
 * record's name; genesis (seq 0) adds its own signer as a full device in
 * epoch 1; every other record is signed by a current full or recovery
 * member; add: a new key, same epoch and commitment, with a wrap for the
 * subject unless it is write-only; remove: a current member, epoch + 1, a
 * new commitment, and a wrap for every remaining full and recovery member
 * (write-only members are removed by rotation and must be added again).
 * Decoded bytes are attacker-controlled: every count is capped.
 */
#ifndef CF_CHAIN_H
#define CF_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define CF_CHAIN_MAX_MEMBERS 256
#define CF_CHAIN_NAME_MAX 64

enum cf_rec_type { CF_REC_GENESIS = 1, CF_REC_ADD = 2, CF_REC_REMOVE = 3 };
enum cf_role {
	CF_ROLE_DEVICE = 1,
	CF_ROLE_RECOVERY = 2,
	CF_ROLE_WRITEONLY = 3
};

struct cf_member {
	uint8_t role;
	uint8_t ed[32], x[32];
	char name[CF_CHAIN_NAME_MAX + 1];
	int64_t added; /* time of the record that added it */
	uint8_t added_by[32];
	/* its signer's name then (kept after that signer is removed) */
	char added_by_name[CF_CHAIN_NAME_MAX + 1];
	uint64_t seq; /* of that record */
};

struct cf_wrapref {
	uint8_t member[32];
	uint8_t object[32];
};

struct cf_record {
	uint64_t seq;
	uint8_t prev[32];
	uint8_t type;
	int64_t time;
	uint32_t epoch;
	struct cf_member subject;
	uint8_t ak_commit[32];
	size_t nwraps;
	struct cf_wrapref wraps[CF_CHAIN_MAX_MEMBERS];
	uint8_t signer[32];
	uint8_t sig[64];
};

/* The state after applying records: who is trusted, in which epoch. */
struct cf_chain {
	uint64_t seq;     /* of the last record; UINT64_MAX when empty */
	uint8_t head[32]; /* its name */
	uint32_t epoch;
	uint8_t ak_commit[32];
	size_t n;
	struct cf_member m[CF_CHAIN_MAX_MEMBERS];
	/* the wraps of the last record that named the current epoch's AK
	 * for each member */
	struct cf_wrapref wraps[CF_CHAIN_MAX_MEMBERS];
	size_t nwraps;
};

void cf_chain_init(struct cf_chain *c);
/** cf_record_encode(r, sk, out): sign ${r} with ${sk} (whose public key
 * must be r->signer) and append the record's bytes to ${out}. */
int cf_record_encode(const struct cf_record *r, const uint8_t sk[static 64],
    struct cf_buf *out, struct cf_err *err) CF_WUR;
/** cf_record_decode(p, n, r, err): parse and check the signature (not the
 * rules: see cf_chain_apply). */
int cf_record_decode(const uint8_t *p, size_t n, struct cf_record *r,
    struct cf_err *err) CF_WUR;
/** cf_record_name(p, n, out): BLAKE2b-256 of the bytes. */
void cf_record_name(const uint8_t *p, size_t n, uint8_t out[static 32]);
/** cf_chain_apply(c, r, name, err): apply record ${r} (named ${name}) to
 * state ${c}; CF_EAUTH with the broken rule on a violation. */
int cf_chain_apply(struct cf_chain *c, const struct cf_record *r,
    const uint8_t name[static 32], struct cf_err *err) CF_WUR;
/** cf_chain_find(c, ed): the member with key ${ed}, or NULL. */
const struct cf_member *cf_chain_find(const struct cf_chain *c,
    const uint8_t ed[static 32]);
/** cf_chain_wrap_for(c, ed): the sealed-AK object of member ${ed}, or NULL. */
const uint8_t *cf_chain_wrap_for(const struct cf_chain *c,
    const uint8_t ed[static 32]);
/** cf_ak_commit(ak, out): the commitment to an account key. */
void cf_ak_commit(const uint8_t ak[static 32], uint8_t out[static 32]);

#endif
