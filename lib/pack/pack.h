/*
 * pack.h: packs, the files that hold encrypted blobs (chunks and trees).
 *
 *   pack   = blob_0 .. blob_n-1 || header || padding || footer
 *   blob_i = XChaCha20-Poly1305(K, nonce i, AD = id || type || flags ||
 *            rawlen, zstd(plain) or plain)
 *   header = AEAD(K, nonce 2^64-1, AD = wrap, list of blob entries)
 *   footer = wrap(K) (CF_WRAP_BYTES) || AEAD(K, nonce 2^64-2, AD = wrap,
 *            u64 header offset || u32 header length)
 * K is a fresh random key per pack, sealed to the zone's box key (wrap).
 * Padding is random bytes up to the Padme length of the whole pack, so the
 * store sees neither the number nor the sizes of the blobs.  The pack's
 * name is the BLAKE2b-256 of all its bytes.
 *
 * Everything read back from a pack is attacker-controlled: decoders check
 * every offset and length against the pack size and fixed caps.
 * A struct cf_packw is used by one thread at a time.
 */
#ifndef CF_PACK_H
#define CF_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/err.h"

#define CF_PACK_FOOTER_BYTES (CF_WRAP_BYTES + 12 + CF_TAG_BYTES)
#define CF_PACK_MAX_BYTES (1ull << 30)
/* A new pack's buffer: aligned for O_DIRECT, room for a 32 MiB target plus
 * the blob that crosses it (it grows, unaligned, beyond). */
#define CF_PACK_ALIGN 4096
#define CF_PACK_PREALLOC (48u << 20)
#define CF_PACK_MAX_BLOBS 1000000u
#define CF_BLOB_MAX_RAW (64u << 20) /* > CF_CHUNK_MAX; big trees */
#define CF_BLOB_OVERHEAD CF_TAG_BYTES

enum cf_blobtype { CF_BLOB_DATA = 1, CF_BLOB_TREE = 2 };
#define CF_BLOB_ZSTD 1u /* flags: the stored bytes are zstd frames */

struct cf_blobent {
	uint8_t id[CF_ID_BYTES];
	uint8_t type;
	uint8_t flags;
	uint32_t len;    /* stored bytes, tag included */
	uint32_t rawlen; /* plaintext bytes */
	uint64_t off;    /* offset in the pack */
	uint64_t seq;    /* nonce counter: position in the pack */
};

struct cf_packw;

/* A streamed pack's bytes go to a sink as they are made, in order, in
 * buffers that the sink takes over (page-aligned, ${cap} bytes allocated);
 * its buffers come from ${getbuf}. */
typedef int (*cf_pack_sink_fn)(void *arg, uint8_t *buf, size_t n, size_t cap,
    struct cf_err *err);
typedef uint8_t *(*cf_pack_buf_fn)(void *arg, size_t *cap);
typedef void (*cf_pack_abort_fn)(void *arg);
/* A streamed pack keeps less than CF_PACK_SPILL bytes (and one blob): past
 * it, the whole CF_PACK_SPILL_UNITs go to the sink (page-aligned, so that a
 * local store writes them with O_DIRECT). */
#define CF_PACK_SPILL (4u << 20)
#define CF_PACK_SPILL_UNIT (1u << 20)

/** cf_packw_new(keys, err): an empty pack with a fresh key. */
struct cf_packw *cf_packw_new(const struct cf_keys *keys, struct cf_err *err);
/** cf_packw_use(w, buf, cap): before the first blob, build the pack in
 * ${buf} (${cap} bytes from malloc), a buffer recycled from an earlier
 * pack, whose pages are already mapped; the pack owns it, and
 * cf_packw_finish hands it back as *bytes (or a larger one it grew to). */
void cf_packw_use(struct cf_packw *w, uint8_t *buf, size_t cap);
/** cf_packw_stream(w, fn, getbuf, abort_fn, arg, err): before the first
 * blob: from now on hand the pack's bytes to ${fn} as they are made instead
 * of holding them.  ${fn} takes over the buffer it is given, also when it
 * fails.  cf_packw_finish then gives the rest to ${fn}, and no bytes (*bytes
 * NULL, *n the pack's size), and the name; the caller then owns ${arg}.  A pack
 * freed unfinished calls ${abort_fn}(${arg}). */
int cf_packw_stream(struct cf_packw *w, cf_pack_sink_fn fn,
    cf_pack_buf_fn getbuf, cf_pack_abort_fn abort_fn, void *arg,
    struct cf_err *err) CF_WUR;
/** cf_packw_stream_arg(w): the sink's ${arg}; NULL if not streamed. */
void *cf_packw_stream_arg(const struct cf_packw *w);
/** cf_packw_free(w): wipe the key and free; NULL is a no-op. */
void cf_packw_free(struct cf_packw *w);
/** cf_packw_add(w, type, id, flags, rawlen, p, n, err): encrypt ${n} stored
 * bytes (compressed when flags has CF_BLOB_ZSTD) and append them. */
int cf_packw_add(struct cf_packw *w, uint8_t type,
    const uint8_t id[static CF_ID_BYTES], uint8_t flags, uint32_t rawlen,
    const uint8_t *p, size_t n, struct cf_err *err) CF_WUR;
/** cf_packw_size(w): bytes appended so far. */
uint64_t cf_packw_size(const struct cf_packw *w);
/** cf_packw_sealed_size(w, more, n, rawlen): the length of the pack,
 * before padding, if sealed now (${more} == 0) or after one more blob of
 * ${n} stored and ${rawlen} plain bytes (${more} == 1). */
uint64_t cf_packw_sealed_size(const struct cf_packw *w, int more, size_t n,
    uint32_t rawlen);
/** cf_packw_count(w): blobs appended so far. */
size_t cf_packw_count(const struct cf_packw *w);
/** cf_packw_finish(w, name, bytes, n, ents, nents, err): seal the header,
 * pad, write the footer.  Hands out the pack bytes (*bytes, free(); NULL
 * if streamed) and its entries (*ents, free()); ${name} is the hex object
 * name, BLAKE2b-256 of every byte (hashed as they were made). */
int cf_packw_finish(struct cf_packw *w, char name[static 65], uint8_t **bytes,
    size_t *n, struct cf_blobent **ents, size_t *nents,
    struct cf_err *err) CF_WUR;

/** cf_pack_footer_open(keys, footer, size, key, hoff, hlen, err): verify
 * the footer of a pack of ${size} bytes; give its key and header place. */
int cf_pack_footer_open(const struct cf_keys *keys,
    const uint8_t footer[static CF_PACK_FOOTER_BYTES], uint64_t size,
    uint8_t key[static CF_KEY_BYTES], uint64_t *hoff, uint32_t *hlen,
    struct cf_err *err) CF_WUR;
/** cf_pack_footer_open_vouched(..., vouched, err): the same, and whether
 * a full key holder of the current version wrote the pack (see
 * cf_crypto_unwrap_vouched). */
int cf_pack_footer_open_vouched(const struct cf_keys *keys,
    const uint8_t footer[static CF_PACK_FOOTER_BYTES], uint64_t size,
    uint8_t key[static CF_KEY_BYTES], uint64_t *hoff, uint32_t *hlen,
    int *vouched, struct cf_err *err) CF_WUR;
/** cf_pack_header_open(key, wrap, ct, n, hoff, ents, nents, err): decrypt
 * and decode a header found at ${hoff}; *ents is malloc()ed. */
int cf_pack_header_open(const uint8_t key[static CF_KEY_BYTES],
    const uint8_t wrap[static CF_WRAP_BYTES], const uint8_t *ct, size_t n,
    uint64_t hoff, struct cf_blobent **ents, size_t *nents,
    struct cf_err *err) CF_WUR;
/** cf_pack_header_decode(p, n, hoff, ents, nents, err): parse a plaintext
 * header (pure; exposed for the fuzzer). */
int cf_pack_header_decode(const uint8_t *p, size_t n, uint64_t hoff,
    struct cf_blobent **ents, size_t *nents, struct cf_err *err) CF_WUR;
/** cf_pack_blob_open(key, e, ct, out, err): decrypt the stored bytes of
 * blob ${e} into ${out} (e->len - tag bytes; still compressed if flagged). */
int cf_pack_blob_open(const uint8_t key[static CF_KEY_BYTES],
    const struct cf_blobent *e, const uint8_t *ct, uint8_t *out,
    struct cf_err *err) CF_WUR;

#endif
