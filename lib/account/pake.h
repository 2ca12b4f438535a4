/*
 * pake.h: CPace (draft-irtf-cfrg-cpace) on ristretto255 with libsodium, for
 * pairing a new device with an existing one through an untrusted relay.
 * Both sides know a short code; each sends Y = y*G where G is derived from
 * the code and the session id; both get K = y*Y' and an intermediate key
 * ISK = H(sid || K || Ya || Yb).  The relay learns nothing of the code
 * (no offline guessing), and a substituted Y gives it a key nobody else
 * has: the confirmation MACs then fail.  Pure.
 */
#ifndef CF_PAKE_H
#define CF_PAKE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CF_PAKE_Y_BYTES 32
#define CF_PAKE_KEY_BYTES 32

struct cf_pake {
	uint8_t y[32]; /* secret scalar */
	uint8_t Y[32]; /* our share */
	uint8_t g[32]; /* generator */
	uint8_t sid[32];
};

/** cf_pake_start(p, sid, sidn, code, coden, err): our share in p->Y. */
int cf_pake_start(struct cf_pake *p, const uint8_t *sid, size_t sidn,
    const char *code, size_t coden, struct cf_err *err) CF_WUR;
/** cf_pake_finish(p, initiator, peer, keys, err): the session keys:
 * keys[0..31] initiator->responder, keys[32..63] responder->initiator.
 * Wipes the secret scalar. */
int cf_pake_finish(struct cf_pake *p, int initiator,
    const uint8_t peer[static 32], uint8_t keys[static 64],
    struct cf_err *err) CF_WUR;

#endif
