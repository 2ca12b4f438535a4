/*
 * recovery.h: the recovery key a user writes down, and the identity it
 * stands for.  128 random bits, written as 7 groups of 5 characters
 * (Crockford base32: no I, L, O, U): 4 data characters and 1 check
 * character per group, so a typo (a wrong character, two exchanged, a
 * group in another's place) is caught and its group named.  The key
 * derives an Ed25519 signing key and an X25519 box key: the recovery
 * identity, a member of the device chain that can add a device when every
 * device is lost.  Pure.
 */
#ifndef CF_RECOVERY_H
#define CF_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CF_RECOVERY_BYTES 16
#define CF_RECOVERY_TEXT 42 /* 7 groups of 5, 6 dashes, NUL */

/** cf_recovery_encode(secret, out): the written form. */
void cf_recovery_encode(const uint8_t secret[static CF_RECOVERY_BYTES],
    char out[static CF_RECOVERY_TEXT]);
/** cf_recovery_decode(text, secret, err): parse (case, spaces and dashes
 * are ignored; O->0, I/L->1); CF_EFORMAT naming the group with a typo. */
int cf_recovery_decode(const char *text,
    uint8_t secret[static CF_RECOVERY_BYTES], struct cf_err *err) CF_WUR;
/** cf_recovery_keys(secret, sk, x_pk, x_sk): the recovery identity. */
void cf_recovery_keys(const uint8_t secret[static CF_RECOVERY_BYTES],
    uint8_t sk[static 64], uint8_t x_pk[static 32], uint8_t x_sk[static 32]);

#endif
