#include <string.h>

#include <sodium.h>

#include "account/pake.h"

/** cf_pake_start(p, sid, sidn, code, coden, err): pick y, send y*G. */
int
cf_pake_start(struct cf_pake *p, const uint8_t *sid, size_t sidn,
    const char *code, size_t coden, struct cf_err *err)
{
	static const char dsi[] = "CPaceRistretto255-coffer-pairing";
	crypto_generichash_state st;
	uint8_t h[64];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)dsi, sizeof(dsi) - 1);
	crypto_generichash_update(&st, (const uint8_t *)code, coden);
	crypto_generichash_update(&st, sid, sidn);
	crypto_generichash_final(&st, h, sizeof(h));
	crypto_core_ristretto255_from_hash(p->g, h);
	sodium_memzero(h, sizeof(h));
	(void)crypto_generichash(p->sid, 32, sid, sidn, NULL, 0);
	crypto_core_ristretto255_scalar_random(p->y);
	if (crypto_scalarmult_ristretto255(p->Y, p->y, p->g) != 0)
		return cf_err_set(err, CF_EINTERNAL, "pairing: bad generator");
	return 0;
}

/** cf_pake_finish(p, initiator, peer, keys, err): the session keys. */
int
cf_pake_finish(struct cf_pake *p, int initiator, const uint8_t peer[static 32],
    uint8_t keys[static 64], struct cf_err *err)
{
	crypto_generichash_state st;
	uint8_t k[32];
	const uint8_t *ya = initiator ? p->Y : peer,
	              *yb = initiator ? peer : p->Y;

	if (crypto_core_ristretto255_is_valid_point(peer) != 1 ||
	    crypto_scalarmult_ristretto255(k, p->y, peer) != 0) {
		sodium_memzero(p->y, sizeof(p->y));
		return cf_err_set(err, CF_EAUTH, "pairing: invalid share");
	}
	sodium_memzero(p->y, sizeof(p->y));
	crypto_generichash_init(&st, NULL, 0, 64);
	crypto_generichash_update(&st, p->sid, 32);
	crypto_generichash_update(&st, k, 32);
	crypto_generichash_update(&st, ya, 32);
	crypto_generichash_update(&st, yb, 32);
	crypto_generichash_final(&st, keys, 64);
	sodium_memzero(k, sizeof(k));
	return 0;
}
