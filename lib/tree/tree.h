/*
 * tree.h: the encoding of one folder: its entries, sorted by name.  Pure:
 * no I/O.  Trees are stored as blobs (CF_BLOB_TREE) named by the keyed
 * hash of this encoding, so a snapshot names its whole content.
 *
 *   tree  = 'C' 'T' version(1) uvar(count) entry*
 *   entry = type(u8) bytes(name) uvar(mode) uvar(uid) uvar(gid)
 *           svar(mtime s) uvar(mtime ns) svar(ctime s) uvar(ctime ns)
 *           svar(atime s) uvar(atime ns) uvar(size) uvar(ino) uvar(dev)
 *           uvar(nlink) uvar(rdev) bytes(symlink target) bytes(xattrs)
 *           uvar(nchunks) chunk_id[32]*nchunks  [subtree id[32] if dir]
 *   xattrs = uvar(count) (bytes(name) bytes(value))*
 * bytes() is a uvar length then the bytes.
 *
 * Decoding is of attacker-controlled bytes (whoever holds the key may be
 * hostile): names must be valid single path components ("." "..", "/" and
 * NUL refused) and strictly increasing, so a restore can never be steered
 * outside its target or made to write one path twice.
 */
#ifndef CF_TREE_H
#define CF_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum cf_ntype {
	CF_NT_FILE = 1,
	CF_NT_DIR,
	CF_NT_SYMLINK,
	CF_NT_FIFO,
	CF_NT_CHR,
	CF_NT_BLK,
	CF_NT_SOCK,
};

#define CF_NAME_MAX 4096
#define CF_TARGET_MAX 65536
#define CF_XATTRS_MAX (1u << 20)
#define CF_TREE_MAX_ENTRIES 10000000u

struct cf_node {
	uint8_t type;
	const uint8_t *name;
	size_t namelen;
	uint32_t mode, uid, gid;
	int64_t mtime_s, ctime_s, atime_s;
	uint32_t mtime_ns, ctime_ns, atime_ns;
	uint64_t size, ino, dev, nlink, rdev;
	const uint8_t *target;
	size_t targetlen;
	const uint8_t *xattrs; /* encoded list, see above */
	size_t xattrslen;
	const uint8_t *chunks; /* nchunks * 32 bytes */
	size_t nchunks;
	uint8_t subtree[32];
};

/** cf_tree_begin(b, count): start a tree of ${count} entries. */
void cf_tree_begin(struct cf_buf *b, size_t count);
/** cf_tree_add(b, n): append entry ${n} (callers add in name order). */
void cf_tree_add(struct cf_buf *b, const struct cf_node *n);
/** cf_tree_decode(p, n, nodes, count, err): parse and validate; *nodes is
 * malloc()ed and borrows ${p}. */
int cf_tree_decode(const uint8_t *p, size_t n, struct cf_node **nodes,
    size_t *count, struct cf_err *err) CF_WUR;
/** cf_tree_name_cmp(a, an, b, bn): the order of names in a tree. */
int cf_tree_name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
/** cf_tree_name_ok(p, n): 1 if ${p} is a valid entry name. */
int cf_tree_name_ok(const uint8_t *p, size_t n);

/** cf_xattrs_next(r, name, nn, val, vn): iterate an encoded xattr list
 * (after cf_rd_init on it and reading the count with cf_rd_uvar). */
int cf_xattrs_next(struct cf_rd *r, const uint8_t **name, size_t *nn,
    const uint8_t **val, size_t *vn) CF_WUR;

#endif
