/* engine_internal.h: helpers shared by the engine's files (not exported). */
#ifndef CF_ENGINE_INTERNAL_H
#define CF_ENGINE_INTERNAL_H

#include <sys/stat.h>

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

#endif
