/*
 * repo.h: an open repository: its store, its keys, its index cache.
 *
 * Layout of what is stored (see docs/FORMAT.md): config (plaintext: magic,
 * version, repository id), keys/ (key slots), data/ (packs), index/ (index
 * files), snapshots/ (snapshot records).  Everything but config and the
 * slots' Argon2 parameters is encrypted and authenticated.
 * Thread-safety: after open, cf_repo_load_blob() and the snapshot readers
 * may be called from several threads at once.
 */
#ifndef CF_REPO_H
#define CF_REPO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "chunker/chunker.h"
#include "compress/compress.h"
#include "crypto/crypto.h"
#include "index/index.h"
#include "repo/keyslot.h"
#include "snapshot/snapshot.h"
#include "store/store.h"
#include "tree/tree.h"

#define CF_REPO_VERSION 1
#define CF_CONFIG_BYTES 28

struct cf_keycache;
struct cf_rangecache;
struct cf_covers;

struct cf_repo {
	struct cf_store *store;
	struct cf_keys *keys;
	uint8_t id[CF_REPO_ID_BYTES];
	struct cf_chunker chunker;
	struct cf_index *index;
	struct cf_keycache *kc;
	struct cf_rangecache *rc; /* read-ahead of pack ranges (remote) */
	char *cache_dir;
	char slot[65];  /* the key slot that opened it */
	uint32_t epoch; /* of the account slot that opened a zone */
	int zone;       /* opened with an account key (cofferd zone) */
	int zstd_level;
	struct cf_covers *covers;  /* loaded on first need (cover.c) */
	size_t bad_snapshots;      /* skipped by the last cf_repo_snapshots */
	size_t retired_snapshots;  /* of which sealed with a retired version */
	struct cf_err bad_err;     /* why the first was */
	struct cf_err retired_err; /* the first sealed with a retired version */
};

/** cf_repo_init(where, pass, passlen, kdf, host, err): create a repository
 * with a random zone key wrapped in one passphrase slot. */
int cf_repo_init(const char *where, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, struct cf_err *err) CF_WUR;
/** cf_repo_init_store(s, pass, passlen, kdf, host, err): like
 * cf_repo_init on an open store (closed before returning). */
int cf_repo_init_store(struct cf_store *s, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, struct cf_err *err) CF_WUR;
/** cf_repo_open_store(s, pass, passlen, cache_root, err): like
 * cf_repo_open on an open store, which the repository takes over (it is
 * closed on failure too). */
struct cf_repo *cf_repo_open_store(struct cf_store *s, const char *pass,
    size_t passlen, const char *cache_root, struct cf_err *err);
/** cf_repo_open(where, pass, passlen, cache_root, err): unlock a
 * repository; its index cache lives under ${cache_root}/<id>/.  Free with
 * cf_repo_close(). */
struct cf_repo *cf_repo_open(const char *where, const char *pass,
    size_t passlen, const char *cache_root, struct cf_err *err);
/** cf_repo_close(r): NULL is a no-op. */
void cf_repo_close(struct cf_repo *r);

/** cf_config_parse(p, n, id, err): check a config object. */
int cf_config_parse(const uint8_t *p, size_t n,
    uint8_t id[static CF_REPO_ID_BYTES], struct cf_err *err) CF_WUR;

/** cf_repo_sync_index(r, err): import index files not yet in the cache. */
int cf_repo_sync_index(struct cf_repo *r, struct cf_err *err) CF_WUR;
/** cf_repo_pack_key(r, pack, key, vouched, err): the key of ${pack}
 * (cached), and (if ${vouched}) whether a full key holder of the current
 * version wrote it: its blobs' AEAD then vouches for their ids. */
int cf_repo_pack_key(struct cf_repo *r, const uint8_t pack[static 32],
    uint8_t key[static CF_KEY_BYTES], int *vouched, struct cf_err *err) CF_WUR;
/** cf_repo_read_pack_header(r, name, size, ents, n, err): read and verify
 * the footer and header of pack ${name}; *ents malloc()ed. */
int cf_repo_read_pack_header(struct cf_repo *r, const char *name, uint64_t size,
    struct cf_blobent **ents, size_t *n, struct cf_err *err) CF_WUR;
/** cf_repo_open_blob(r, loc, ct, zc, verify, out, err): decrypt (and
 * decompress) the stored bytes ${ct} of blob ${loc} into ${out}, and check
 * that they hash to the blob's id: always if ${verify}, else unless the
 * pack is vouched for (its AEAD, with the id as AD, then binds the two). */
int cf_repo_open_blob(struct cf_repo *r, const struct cf_loc *loc,
    const uint8_t *ct, struct cf_zc *zc, int verify, struct cf_buf *out,
    struct cf_err *err) CF_WUR;
/** cf_repo_blob_matches(r, loc, stored, n, zc, out, err): 1 if the
 * decrypted stored bytes of blob ${loc} (still compressed if flagged)
 * decompress and hash to its id, 0 if they do not (the blob lies), -1 on
 * an error of ours (memory).  ${out}: scratch. */
int cf_repo_blob_matches(struct cf_repo *r, const struct cf_loc *loc,
    const uint8_t *stored, size_t n, struct cf_zc *zc, struct cf_buf *out,
    struct cf_err *err) CF_WUR;
/** cf_repo_cache_pack(r, name, p, n): keep a copy of a tree pack in the
 * local cache (remote stores only; failures are ignored: it is a cache). */
void cf_repo_cache_pack(struct cf_repo *r, const char *name, const uint8_t *p,
    size_t n);
/** cf_repo_load_blob(r, id, type, zc, out, err): find, read, open and
 * verify blob ${id} into ${out} (its old content is replaced). */
int cf_repo_load_blob(struct cf_repo *r, const uint8_t id[static 32],
    uint8_t type, struct cf_zc *zc, struct cf_buf *out,
    struct cf_err *err) CF_WUR;

/** A decoded tree with the bytes it borrows. */
struct cf_tree {
	struct cf_node *nodes;
	size_t n;
	struct cf_buf raw;
};
/** cf_repo_load_tree(r, id, zc, t, err): load and decode a tree; release
 * with cf_tree_release(). */
int cf_repo_load_tree(struct cf_repo *r, const uint8_t id[static 32],
    struct cf_zc *zc, struct cf_tree *t, struct cf_err *err) CF_WUR;
void cf_tree_release(struct cf_tree *t);
/** cf_tree_find(t, name, nl): the entry called ${name} (binary search on
 * the sorted entries), or NULL; ${t} may be NULL. */
const struct cf_node *cf_tree_find(const struct cf_tree *t, const char *name,
    size_t nl);

/** cf_repo_snapshots(r, out, n, err): every snapshot, oldest first;
 * free with cf_snapshots_free().  A record that does not authenticate or
 * decode is skipped and counted in r->bad_snapshots (its error in
 * r->bad_err): one damaged record does not block the others. */
int cf_repo_snapshots(struct cf_repo *r, struct cf_snapshot ***out, size_t *n,
    struct cf_err *err) CF_WUR;
void cf_snapshots_free(struct cf_snapshot **v, size_t n);
/** cf_repo_load_snapshot(r, name, err): load, verify (name = hash of the
 * bytes, envelope authentic) and decode snapshot ${name}. */
struct cf_snapshot *cf_repo_load_snapshot(struct cf_repo *r, const char *name,
    struct cf_err *err);
/** cf_repo_find_snapshot(r, spec, err): "latest" or a unique name prefix
 * (at least 4 hex digits). */
struct cf_snapshot *cf_repo_find_snapshot(struct cf_repo *r, const char *spec,
    struct cf_err *err);
/** cf_repo_save_snapshot(r, s, err): encrypt and store; fills s->name. */
int cf_repo_save_snapshot(struct cf_repo *r, struct cf_snapshot *s,
    struct cf_err *err) CF_WUR;
/** cf_repo_get_named(s, kind, name, b, err): the bytes of object ${name},
 * which must hash (BLAKE2b-256, hex) to its name: CF_EAUTH if not.  Every
 * object stored by cf_repo_put_object() is read back through this. */
int cf_repo_get_named(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_buf *b, struct cf_err *err) CF_WUR;
/** cf_repo_put_object(r, kind, bytes, n, name, err): store bytes under the
 * hex BLAKE2b-256 of their content, written to ${name}. */
int cf_repo_put_object(struct cf_repo *r, enum cf_kind kind, const uint8_t *p,
    size_t n, char name[static 65], struct cf_err *err) CF_WUR;

/** cf_repo_add_key(r, pass, passlen, kdf, host, name, err): a new
 * passphrase slot for the open repository's zone key. */
int cf_repo_add_key(struct cf_repo *r, const char *pass, size_t passlen,
    const struct cf_kdf *kdf, const char *host, char name[static 65],
    struct cf_err *err) CF_WUR;

/** cf_repo_init_zone(s, ak, epoch, err): a new repository (a zone of an
 * account) whose random key is kept only in an account slot under ${ak};
 * ${s} is closed before returning. */
int cf_repo_init_zone(struct cf_store *s, const uint8_t ak[static 32],
    uint32_t epoch, struct cf_err *err) CF_WUR;
/** cf_repo_open_zone(s, ak, epoch, cache_root, err): open a zone with the
 * account key of ${epoch}; takes over ${s}. */
struct cf_repo *cf_repo_open_zone(struct cf_store *s,
    const uint8_t ak[static 32], uint32_t epoch, const char *cache_root,
    struct cf_err *err);
/** cf_repo_rekey_zone(s, old_ak, old_epoch, ak, epoch, err): add a fresh
 * key version to the zone, sealed with all older ones under the new
 * account key; ${s} is borrowed. */
int cf_repo_rekey_zone(struct cf_store *s, const uint8_t old_ak[static 32],
    uint32_t old_epoch, const uint8_t ak[static 32], uint32_t epoch,
    struct cf_err *err) CF_WUR;
/** cf_repo_open_writeonly(s, keys, id, cache_root, err): a zone opened
 * with a write-only credential (takes over ${s} and ${keys}); it can back
 * up, never read a snapshot, tree or chunk. */
struct cf_repo *cf_repo_open_writeonly(struct cf_store *s, struct cf_keys *keys,
    const uint8_t id[static CF_REPO_ID_BYTES], const char *cache_root,
    struct cf_err *err);
/* Cover records (cover.c): the snapshots a retired key version may vouch
 * for. */
struct cf_covers *cf_covers_new(void);
void cf_covers_free(struct cf_covers *c);
/** cf_cover_write(s, old, new, err): at a rotation, before the new
 * version's slot is stored: seal with ${new} (the ring with the new
 * version) the names of the snapshots sealed with ${old}'s newest version.
 */
/** cf_cover_encode(ver, names, count, out): a cover record's payload. */
void cf_cover_encode(uint32_t ver, const uint8_t *names, uint64_t count,
    struct cf_buf *out);
/** cf_cover_parse(p, n, ver, names, count, err): check a payload (hostile
 * bytes); *names points into ${p} at *count names of 32 bytes. */
int cf_cover_parse(const uint8_t *p, size_t n, uint32_t *ver,
    const uint8_t **names, uint64_t *count, struct cf_err *err) CF_WUR;
int cf_cover_write(struct cf_store *s, const struct cf_keys *old,
    const struct cf_keys *new, struct cf_err *err) CF_WUR;
/** cf_cover_check(r, name, ver, err): 0 if object ${name} (a snapshot or
 * a forget record), sealed with key version index ${ver}, may be trusted:
 * ${ver} is the newest, or the newest version's cover names it.  CF_EAUTH
 * if not. */
int cf_cover_check(struct cf_repo *r, const char *name, size_t ver,
    struct cf_err *err) CF_WUR;
/** cf_repo_drop_old_slots(s, epoch, err): delete the account slots of
 * other epochs, once the new epoch is committed to the device chain. */
int cf_repo_drop_old_slots(struct cf_store *s, uint32_t epoch,
    struct cf_err *err) CF_WUR;
/** cf_repo_remove_key(r, prefix, err): delete the key slot whose name
 * starts with ${prefix}; refuses the slot in use and the last one. */
int cf_repo_remove_key(struct cf_repo *r, const char *prefix,
    struct cf_err *err) CF_WUR;

#endif
