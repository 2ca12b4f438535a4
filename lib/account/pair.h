/*
 * pair.h: adding a device by pairing with an existing one through cofferd.
 *
 * The existing device opens a mailbox and shows a one-time code
 * "MAILBOX-XXXX-XXXX" (8 digits naming the mailbox, 40 secret bits).  Both
 * run CPace (pake.h) over the mailbox with the secret; the new device then
 * sends its name and keys under the agreed key, the existing device shows
 * them for approval, appends the record that adds the device (with its
 * sealed account key), and answers with the new chain head under the same
 * key, which the new device pins.  The server relaying the messages learns
 * nothing and cannot substitute a key: a wrong or tampered message fails
 * authentication.  Three wrong attempts void the mailbox.
 */
#ifndef CF_PAIR_H
#define CF_PAIR_H

#include "account/account.h"

#define CF_PAIR_CODE_MAX 40

struct cf_pair_offer {
	char id[16];
	char secret[9];
	char code[CF_PAIR_CODE_MAX];
};

/* Asked to approve device ${name} with fingerprint ${fpr}: 0 approves.
 * Also told of each failed attempt (wrong code or tampered messages) as
 * approve(arg, NULL, NULL), whose answer is ignored. */
typedef int (*cf_approve_fn)(void *arg, const char *name, const char *fpr);

/** cf_pair_offer(a, o, err): open a mailbox and make a code. */
int cf_pair_offer(struct cf_account *a, struct cf_pair_offer *o,
    struct cf_err *err) CF_WUR;
/** cf_pair_accept(a, o, approve, arg, timeout_s, err): wait for the new
 * device, ask ${approve}, add it. */
int cf_pair_accept(struct cf_account *a, const struct cf_pair_offer *o,
    cf_approve_fn approve, void *arg, int timeout_s, struct cf_err *err) CF_WUR;
/** cf_pair_join(s, code, me, name, pin, timeout_s, err): the new device's
 * side over store ${s} ("_account", signed with its own key); *pin gets
 * the chain head to trust. */
int cf_pair_join(struct cf_store *s, const char *code,
    const struct cf_identity *me, const char *name, uint8_t pin[static 32],
    int timeout_s, struct cf_err *err) CF_WUR;

#endif
