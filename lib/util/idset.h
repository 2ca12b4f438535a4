/*
 * idset.h: a set of 32-byte ids (keyed hashes: their first bytes are
 * uniform, so they index the table directly).  Open addressing, linear
 * probing, backward-shift deletion.  Not thread-safe.
 */
#ifndef CF_IDSET_H
#define CF_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct cf_idset {
	uint8_t (*v)[32];
	uint8_t *used;
	size_t cap, n;
};

/** cf_idset_has(s, id): 1 if present. */
int cf_idset_has(const struct cf_idset *s, const uint8_t id[static 32]);
/** cf_idset_add(s, id): 1 added, 0 already present, -1 out of memory. */
int cf_idset_add(struct cf_idset *s, const uint8_t id[static 32]);
/** cf_idset_del(s, id): remove if present. */
void cf_idset_del(struct cf_idset *s, const uint8_t id[static 32]);
/** cf_idset_release(s): free the table; ${s} becomes empty. */
void cf_idset_release(struct cf_idset *s);

#endif
