/*
 * device.h: this device's own keys, kept in a folder (COFFER_CONFIG_DIR).
 * device.key holds the 32-byte Ed25519 seed that signs every request to
 * cofferd.  It is created with O_EXCL|O_NOFOLLOW, mode 0600, and refused
 * when its permissions let anyone else read it.  The secret key lives in
 * sodium_malloc() memory; free it with cf_device_free().
 */
#ifndef CF_DEVICE_H
#define CF_DEVICE_H

#include <stdint.h>

#include "util/err.h"

struct cf_device {
	uint8_t sk[64]; /* libsodium Ed25519: seed || public key */
	uint8_t pk[32];
};

/** cf_device_load(dir, create, err): load ${dir}/device.key, creating the
 * folder (0700) and a new key if ${create} and there is none. */
struct cf_device *cf_device_load(const char *dir, int create,
    struct cf_err *err);
/** cf_device_free(d): wipe and free; NULL is a no-op. */
void cf_device_free(struct cf_device *d);
/** cf_device_fingerprint(d, out): a short hex fingerprint of the key. */
void cf_device_fingerprint(const struct cf_device *d, char out[33]);

#endif
