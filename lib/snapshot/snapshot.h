/*
 * snapshot.h: the record of one backup, stored encrypted in
 * snapshots/NAME (an envelope of type CF_OBJ_SNAPSHOT).  Pure codec.
 *
 *   snapshot = 'C' 'S' version(1) svar(time ns) bytes(host) bytes(user)
 *              uvar(npaths) bytes(path)* uvar(ntags) bytes(tag)*
 *              u8(has parent) [parent name 32] tree id[32]
 *              uvar(files) uvar(dirs) uvar(bytes) uvar(new bytes)
 *              uvar(unreadable) bytes(program version)
 * Attacker-controlled after decryption: counts and lengths are capped.
 */
#ifndef CF_SNAPSHOT_H
#define CF_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define CF_SNAP_MAX_PATHS 4096
#define CF_SNAP_MAX_TAGS 256
#define CF_SNAP_STR_MAX 4096

struct cf_snapshot {
	int64_t time_ns;
	char *host, *user, *version;
	char **paths;
	size_t npaths;
	char **tags;
	size_t ntags;
	int has_parent;
	uint8_t parent[32];
	uint8_t tree[32];
	uint64_t files, dirs, bytes, new_bytes, unreadable;
	/* Not encoded: filled by whoever loaded it. */
	char name[65];
};

/** cf_snapshot_encode(s, out): append the encoding of ${s}. */
void cf_snapshot_encode(const struct cf_snapshot *s, struct cf_buf *out);
/** cf_snapshot_decode(p, n, err): a new snapshot; free with
 * cf_snapshot_free(). */
struct cf_snapshot *cf_snapshot_decode(const uint8_t *p, size_t n,
    struct cf_err *err);
/** cf_snapshot_free(s): NULL is a no-op. */
void cf_snapshot_free(struct cf_snapshot *s);

#endif
