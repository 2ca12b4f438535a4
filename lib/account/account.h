/*
 * account.h: an account on cofferd, as its own devices see it.
 *
 * The account's device chain (chain.h) lives on the server in the
 * repository "_account": records and sealed account keys as objects named
 * by their hash (kind "keys"), and the ref "chain" naming the head as
 * "SEQ HEXNAME", advanced by compare-and-swap.  Nothing there is trusted:
 * on every open the whole chain is verified record by record from the
 * genesis, and checked against the head this device saw last (kept in its
 * state folder): a chain that is shorter (rolled back or truncated), that
 * does not contain that head (forked, rewritten), or that breaks a rule
 * (a record not signed by a trusted device: a ghost) is refused with
 * CF_ESECURITY.  The account key of the current epoch is then unsealed
 * from this device's wrap and checked against the chain's commitment.
 * A struct cf_account is used by one thread at a time.
 */
#ifndef CF_ACCOUNT_H
#define CF_ACCOUNT_H

#include <stdint.h>

#include "account/chain.h"
#include "store/store.h"
#include "util/err.h"

struct cf_identity {
	uint8_t sk[64]; /* Ed25519: seed || public key */
	uint8_t ed[32];
	uint8_t xpk[32], xsk[32]; /* X25519, converted from the Ed25519 key */
};

struct cf_account {
	struct cf_store *s;     /* the "_account" repository; owned */
	char state[4096];       /* this device's folder for this account */
	struct cf_identity *me; /* sodium_malloc()ed */
	struct cf_chain *chain;
	uint8_t (*names)[32];  /* record names by seq */
	uint64_t head_version; /* of the ref, for compare-and-swap */
	uint8_t *ak; /* sodium_malloc()ed, 32 bytes: this epoch's key */
};

/** cf_identity_from_sk(id, sk): fill the X25519 halves. */
void cf_identity_from_sk(struct cf_identity *id, const uint8_t sk[static 64]);

/** cf_account_create(s, me, name, recovery_ed, recovery_x, state, err):
 * a new account: genesis record for device ${me} called ${name}, a random
 * account key, and the recovery identity as a second member.  Takes over
 * ${s} (the "_account" store). */
struct cf_account *cf_account_create(struct cf_store *s,
    const struct cf_identity *me, const char *name,
    const struct cf_identity *recovery, const char *state, struct cf_err *err);
/** cf_account_open(s, me, state, pin, err): verify the chain and unseal
 * the account key.  ${pin} (or NULL) is a head name learnt over an
 * authenticated channel (pairing): the chain must end there. */
struct cf_account *cf_account_open(struct cf_store *s,
    const struct cf_identity *me, const char *state, const uint8_t *pin,
    struct cf_err *err);
void cf_account_close(struct cf_account *a);

/** cf_account_add(a, role, name, ed, x, err): append a record adding a
 * member (with its sealed account key unless write-only). */
int cf_account_add(struct cf_account *a, uint8_t role, const char *name,
    const uint8_t ed[static 32], const uint8_t x[static 32],
    struct cf_err *err) CF_WUR;
/** cf_account_add_writer(a, name, ed, x, zone, err): append a record
 * adding a write-only member; the server lets its key reach ${zone} and
 * nothing else of the account. */
int cf_account_add_writer(struct cf_account *a, const char *name,
    const uint8_t ed[static 32], const uint8_t x[static 32], const char *zone,
    struct cf_err *err) CF_WUR;

/** A zone to re-key when a device is removed. */
typedef int (*cf_rekey_fn)(void *arg, const uint8_t *old_ak, uint32_t old_epoch,
    const uint8_t *ak, uint32_t epoch, struct cf_err *err);

/** cf_account_remove(a, ed, rekey, arg, err): append a record removing
 * member ${ed}: a new account key for a new epoch, sealed to every
 * remaining device; ${rekey} is called for each zone before the record is
 * committed (write-only members leave too). */
int cf_account_remove(struct cf_account *a, const uint8_t ed[static 32],
    cf_rekey_fn rekey, void *arg, struct cf_err *err) CF_WUR;

/** cf_account_epoch(a): the current epoch. */
uint32_t cf_account_epoch(const struct cf_account *a);

/** cf_fingerprint(ed, out): how a device key is shown to people. */
void cf_fingerprint(const uint8_t ed[static 32], char out[static 24]);

#endif
