/*
 * chunker.h: keyed content-defined chunking (FastCDC with normalised
 * chunking, Xia et al. 2016/2020), pure: bytes in, cut lengths out.
 *
 * The gear table is the keystream of XChaCha20 under the zone's gear key, so
 * cut points (and so chunk sizes) are a secret function of the content:
 * without the key nobody can predict where a known file would be cut.
 * Chunks are between CF_CHUNK_MIN and CF_CHUNK_MAX bytes (the last chunk of
 * a file may be shorter), CF_CHUNK_AVG on average.  No I/O, no allocation;
 * a struct cf_chunker is read-only after init and may be shared.
 */
#ifndef CF_CHUNKER_H
#define CF_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

#define CF_CHUNK_MIN (512u * 1024)
#define CF_CHUNK_AVG (1024u * 1024)
#define CF_CHUNK_MAX (8u * 1024 * 1024)

struct cf_chunker {
	uint64_t gear[256];
	uint64_t mask_s; /* stricter mask below the average size */
	uint64_t mask_l; /* looser mask above it */
};

/** cf_chunker_init(c, key): the gear table for ${key}. */
void cf_chunker_init(struct cf_chunker *c, const uint8_t key[static 32]);

/** cf_chunker_cut(c, p, n, eof): length of the next chunk of ${p}.  The
 * caller passes at least CF_CHUNK_MAX bytes unless ${eof} says the data
 * ends at p + n; the result is then in [1, n]. */
size_t cf_chunker_cut(const struct cf_chunker *c, const uint8_t *p, size_t n);

#endif
