/*
 * index.h: where each blob lives.  Two parts:
 *  - index files in the repository: encrypted lists of (pack, blob entry),
 *    written by each backup; their codec is here (pure);
 *  - a local cache of all of them in SQLite (the only includer of
 *    <sqlite3.h>), so that lookups never need the whole index in RAM: a
 *    repository of 10 million chunks costs a B-tree on disk, not 1 GiB of
 *    RAM.  The cache is derived data: it can be deleted at any time and is
 *    rebuilt from the repository's index files.
 * Thread-safety: a struct cf_index may be shared; calls are serialised by
 * an internal mutex.
 */
#ifndef CF_INDEX_H
#define CF_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "pack/pack.h"
#include "util/err.h"

struct cf_loc {
	uint8_t pack[32];
	struct cf_blobent e;
};

struct cf_index;

/** cf_index_open(path, err): open or create the cache at ${path}. */
struct cf_index *cf_index_open(const char *path, struct cf_err *err);
/** cf_index_close(x): close; NULL is a no-op. */
void cf_index_close(struct cf_index *x);
/** cf_index_lookup(x, id, loc, err): 0 found (${loc} filled), 1 absent. */
int cf_index_lookup(struct cf_index *x, const uint8_t id[static 32],
    struct cf_loc *loc, struct cf_err *err) CF_WUR;
/** cf_index_add(x, file, locs, n, err): record the entries of index file
 * ${file} (NULL: entries not yet in any index file) in one transaction. */
int cf_index_add(struct cf_index *x, const char *file,
    const struct cf_loc *locs, size_t n, struct cf_err *err) CF_WUR;
/** cf_index_has_file(x, file): 1 if ${file} was imported, 0 if not. */
int cf_index_has_file(struct cf_index *x, const char *file,
    struct cf_err *err) CF_WUR;
/** cf_index_forget_files(x, keep, arg, err): drop the whole cache if a
 * recorded index file is no longer present (${keep}(arg, name) == 0). */
int cf_index_sync_files(struct cf_index *x,
    int (*present)(void *, const char *), void *arg, int *dropped,
    struct cf_err *err) CF_WUR;
/** cf_index_has_pack(x, pack): 1 if some blob is known to live there. */
int cf_index_has_pack(struct cf_index *x, const uint8_t pack[static 32],
    struct cf_err *err) CF_WUR;
/** cf_index_each_pack(x, fn, arg, err): every pack with its blob count. */
int cf_index_each_pack(struct cf_index *x,
    int (*fn)(void *, const uint8_t *pack, uint64_t nblobs), void *arg,
    struct cf_err *err) CF_WUR;
/** cf_index_each_blob(x, pack, fn, arg, err): the blobs of ${pack}. */
int cf_index_each_blob(struct cf_index *x, const uint8_t pack[static 32],
    int (*fn)(void *, const struct cf_loc *), void *arg,
    struct cf_err *err) CF_WUR;

/* A folder as a backup found it: tree ${tree} was made from a folder whose
 * entries, stat by stat (and its subfolders', recursively), digest to
 * ${state} (engine/prescan.c), and holds ${files} files of ${bytes} bytes
 * in ${dirs} folders (itself included).  A later backup that finds the
 * same state names the tree again without loading it. */
struct cf_subtree {
	uint8_t tree[32], state[32];
	uint64_t files, dirs, bytes;
};
/** cf_index_subtree_get(x, state, out, err): the folder last found in
 * ${state}: 0 found, 1 absent.  (Keyed by state, not tree: every empty
 * folder has the same tree, each its own state.) */
int cf_index_subtree_get(struct cf_index *x, const uint8_t state[static 32],
    struct cf_subtree *out, struct cf_err *err) CF_WUR;
/** cf_index_subtree_put(x, v, n, day, err): record ${n} of them, as used
 * on ${day} (days since the epoch). */
int cf_index_subtree_put(struct cf_index *x, const struct cf_subtree *v,
    size_t n, int64_t day, struct cf_err *err) CF_WUR;
/** cf_index_subtree_expire(x, before, err): forget those last used before
 * day ${before}: the table would otherwise keep every state ever found. */
int cf_index_subtree_expire(struct cf_index *x, int64_t before,
    struct cf_err *err) CF_WUR;

/** cf_indexfile_encode(locs, n, out): plaintext of an index file. */
void cf_indexfile_encode(const struct cf_loc *locs, size_t n,
    struct cf_buf *out);
/** cf_indexfile_decode(p, n, locs, nlocs, err): parse it; *locs malloc()ed.
 * ${p} is attacker-controlled (after decryption: a key holder's bytes). */
int cf_indexfile_decode(const uint8_t *p, size_t n, struct cf_loc **locs,
    size_t *nlocs, struct cf_err *err) CF_WUR;

#endif
