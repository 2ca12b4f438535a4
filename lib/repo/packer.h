/*
 * packer.h: turns blobs into packs, from several threads at once.
 *
 * Data blobs go to one of several open packs chosen at random, so a file's
 * chunks are scattered across packs; trees go to a pack of their own.  A
 * pack is closed when it reaches a random target of 16-32 MiB, stored
 * durably, and its entries queued for the next index file, written every
 * few packs and at cf_packer_flush().  Only once an index file is stored
 * are its entries put in the local index cache, so the cache never knows a
 * blob that the repository's index files do not.
 * Thread-safety: cf_packer_add() may be called from any number of threads.
 */
#ifndef CF_PACKER_H
#define CF_PACKER_H

#include "compress/compress.h"
#include "pack/pack.h"
#include "repo/repo.h"

struct cf_packer;

struct cf_packer_stats {
	uint64_t blobs, raw_bytes, stored_bytes, packs, index_files;
};

/** cf_packer_new(r, err): a packer writing to ${r}. */
struct cf_packer *cf_packer_new(struct cf_repo *r, struct cf_err *err);
/** cf_packer_free(pk): drops what was not flushed; NULL is a no-op. */
void cf_packer_free(struct cf_packer *pk);
/** cf_packer_has(pk, id): 1 if ${id} was added in this session and is not
 * yet in the index cache. */
int cf_packer_has(struct cf_packer *pk, const uint8_t id[static 32]);
/** cf_packer_add(pk, type, id, p, n, zc, scratch, err): compress when it
 * pays, encrypt and add a blob.  Returns 1 (and stores nothing) if ${id}
 * is already pending in this session. */
int cf_packer_add(struct cf_packer *pk, uint8_t type,
    const uint8_t id[static 32], const uint8_t *p, size_t n, struct cf_zc *zc,
    struct cf_buf *scratch, struct cf_err *err) CF_WUR;
/** cf_packer_add_stored(pk, type, id, flags, rawlen, p, n, err): add a
 * blob as it is stored (${flags}: CF_BLOB_ZSTD if ${p} is compressed), as
 * a repack does; 1 if ${id} is already pending. */
int cf_packer_add_stored(struct cf_packer *pk, uint8_t type,
    const uint8_t id[static 32], uint8_t flags, uint32_t rawlen,
    const uint8_t *p, size_t n, struct cf_err *err) CF_WUR;
/** cf_packer_adopt(pk, pack, ents, n, err): queue the entries of a pack
 * that is stored but in no index file (left by an interrupted backup). */
int cf_packer_adopt(struct cf_packer *pk, const uint8_t pack[static 32],
    const struct cf_blobent *ents, size_t n, struct cf_err *err) CF_WUR;
/** cf_packer_flush(pk, err): close every open pack, write the index. */
int cf_packer_flush(struct cf_packer *pk, struct cf_err *err) CF_WUR;
/** cf_packer_stats(pk, st): counters so far. */
void cf_packer_stats(struct cf_packer *pk, struct cf_packer_stats *st);

#endif
