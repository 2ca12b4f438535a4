/* engine_internal.h: helpers shared by the engine's files (not exported). */
#ifndef CF_ENGINE_INTERNAL_H
#define CF_ENGINE_INTERNAL_H

#include <sys/stat.h>

#include <sodium.h>

#include "engine/engine.h"

/** cf_fs_node_stat(n, st): type and metadata of ${st} into ${n}; returns
 * -1 for a type coffer does not store. */
int cf_fs_node_stat(struct cf_node *n, const struct stat *st);
/** cf_fs_read_xattrs(path, out): the encoded xattr list of ${path} (not
 * following symlinks) into ${out}; empty when there are none or the file
 * system has none. -1 with errno on a real error. */
int cf_fs_read_xattrs(const char *path, struct cf_buf *out);
/** cf_fs_write_xattrs(fd, path, list, n): set xattrs on ${fd} (or ${path}
 * with lsetxattr when fd < 0); returns the count that failed. */
int cf_fs_write_xattrs(int fd, const char *path, const uint8_t *list, size_t n);
/** cf_fs_ncpu(): online processors, at least 1. */
int cf_fs_ncpu(void);
/** cf_fs_is_zero(p, n): 1 if ${p} holds only zero bytes. */
int cf_fs_is_zero(const uint8_t *p, size_t n);
/** cf_path_join(dir, name, n): malloc()ed "dir/name". */
char *cf_path_join(const char *dir, const char *name, size_t n);
/** cf_fs_open_dir(dirfd, name, flags): openat() without updating the
 * folder's atime where the caller may. */
int cf_fs_open_dir(int dirfd, const char *name, int flags);
/** cf_fs_list_dir(o, fd, path, out, nout): the names in folder ${fd} (at
 * ${path}) that no exclude pattern of ${o} matches, sorted by strcmp();
 * free with cf_fs_free_names(). */
int cf_fs_list_dir(const struct cf_backup_opts *o, int fd, const char *path,
    char ***out, size_t *nout);
void cf_fs_free_names(char **v, size_t n);
/** cf_fs_abs_path(in): ${in} made absolute and lexically normalised
 * ("." and ".." resolved without following links); malloc()ed. */
char *cf_fs_abs_path(const char *in);
/** cf_fs_str_cmp(a, b): qsort() comparison of two char pointers. */
int cf_fs_str_cmp(const void *a, const void *b);

/* The prescan (prescan.c): a keyed digest of each folder's entries, as
 * stat gives them, taken while the key is being derived. */
#define CF_PRESCAN_DIGEST 16
struct cf_prescan_dir;
/** cf_prescan_stop(p): stop where it is (NULL: nothing). */
void cf_prescan_stop(struct cf_prescan *p);
/** cf_prescan_find(p, path, dev, ino): the folder recorded at ${path} if
 * it was the folder ${dev}, ${ino} then, or NULL. */
const struct cf_prescan_dir *cf_prescan_find(const struct cf_prescan *p,
    const char *path, uint64_t dev, uint64_t ino);
/** cf_prescan_for(p, o): 1 if ${p} was started with options ${o}. */
int cf_prescan_for(const struct cf_prescan *p, const struct cf_backup_opts *o);
/** cf_prescan_match(p, d, nodes, n, at_s, at_ns): 1 if the entries of a
 * parent tree are those recorded for ${d} (every field but the atime);
 * *at_s and *at_ns then point to the atimes found, in tree order. */
int cf_prescan_match(const struct cf_prescan *p, const struct cf_prescan_dir *d,
    const struct cf_node *nodes, size_t n, const int64_t **at_s,
    const uint32_t **at_ns);
/** cf_prescan_state(p, path, dev, ino, state): 1 if the subtree at ${path}
 * (the folder ${dev}, ${ino}) was scanned whole; its state (index.h,
 * cf_subtree) into ${state}. */
int cf_prescan_state(const struct cf_prescan *p, const char *path, uint64_t dev,
    uint64_t ino, uint8_t state[32]);

/* A folder's state, as the prescan and the backup compute it: every entry
 * (cf_dirstate_entry, in name order), then every subfolder's state
 * (cf_dirstate_kid, in name order). */
struct cf_dirstate {
	crypto_generichash_state ents, kids;
};
void cf_dirstate_init(struct cf_dirstate *ds);
void cf_dirstate_entry(struct cf_dirstate *ds, const struct cf_node *n);
void cf_dirstate_kid(struct cf_dirstate *ds, const uint8_t state[32]);
void cf_dirstate_final(struct cf_dirstate *ds, uint8_t out[32]);

#endif
