/*
 * test_tree.c: lib/tree/tree.h.
 *  - a fixed tree with every node type (golden bytes: vectors/tree.hex)
 *    encodes to exactly those bytes, also when written by this test's own
 *    encoder of the format documented in tree.h, and decodes back field by
 *    field; its xattr list iterates;
 *  - rejected: unsorted and duplicate names, ".", "..", names with '/' or
 *    NUL, empty and over-long names, chunks on anything but a file,
 *    symlinks without a target and targets on non-symlinks, bad xattr
 *    lists (count, empty or NUL name, sizes, trailing bytes), out-of-range
 *    fields (type, mode, ids, nanoseconds, chunk count), hostile entry
 *    counts, bad magic, trailing bytes and every truncation.
 * Usage: test_tree VECTORDIR [--regen]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"

#include "check.h"

/* One entry in the documented format, with fields wide enough to hold
 * values the decoder must refuse. */
struct raw {
	uint64_t type;
	const char *name;
	size_t namelen; /* 0: strlen(name) */
	uint64_t mode, uid, gid;
	int64_t mtime_s, ctime_s, atime_s;
	uint64_t mtime_ns, ctime_ns, atime_ns;
	uint64_t size, ino, dev, nlink, rdev;
	const char *target;
	const uint8_t *xattrs;
	size_t xattrslen;
	uint64_t nchunks;      /* as encoded */
	size_t chunks_present; /* chunk ids actually written */
	int subtree;           /* write a subtree id */
};

static void
raw_add(struct cf_buf *b, const struct raw *r)
{
	static const uint8_t ids[4][32] = {{0x11}, {0x22}, {0x33}, {0x44}};
	size_t nl = r->namelen ? r->namelen : strlen(r->name);
	uint8_t sub[32];

	cf_buf_add_u8(b, (uint8_t)r->type);
	cf_buf_add_bytes(b, r->name, nl);
	cf_buf_add_uvar(b, r->mode);
	cf_buf_add_uvar(b, r->uid);
	cf_buf_add_uvar(b, r->gid);
	cf_buf_add_svar(b, r->mtime_s);
	cf_buf_add_uvar(b, r->mtime_ns);
	cf_buf_add_svar(b, r->ctime_s);
	cf_buf_add_uvar(b, r->ctime_ns);
	cf_buf_add_svar(b, r->atime_s);
	cf_buf_add_uvar(b, r->atime_ns);
	cf_buf_add_uvar(b, r->size);
	cf_buf_add_uvar(b, r->ino);
	cf_buf_add_uvar(b, r->dev);
	cf_buf_add_uvar(b, r->nlink);
	cf_buf_add_uvar(b, r->rdev);
	cf_buf_add_str(b, r->target ? r->target : "");
	cf_buf_add_bytes(b, r->xattrs, r->xattrslen);
	cf_buf_add_uvar(b, r->nchunks);
	for (size_t i = 0; i < r->chunks_present; i++)
		cf_buf_add(b, ids[i % 4], 32);
	memset(sub, 0x5d, 32);
	if (r->subtree)
		cf_buf_add(b, sub, 32);
}

/* The xattr list of the file in the golden tree. */
static const uint8_t xattrs_ok[] = {2, 6, 'u', 's', 'e', 'r', '.', 'a', 1, '1',
    6, 'u', 's', 'e', 'r', '.', 'b', 0};

/* The golden tree, as raw entries (sorted by name). */
static size_t
golden_raw(struct raw *r)
{
	size_t n = 0;

	memset(r, 0, 8 * sizeof(*r));
	r[n++] = (struct raw){.type = CF_NT_BLK,
	    .name = "a-blk",
	    .mode = 0660,
	    .gid = 6,
	    .mtime_s = 1700000000,
	    .mtime_ns = 1,
	    .rdev = 0x0801,
	    .nlink = 1,
	    .ino = 12};
	r[n++] = (struct raw){.type = CF_NT_CHR,
	    .name = "b-chr",
	    .mode = 0666,
	    .rdev = 0x0103,
	    .nlink = 1,
	    .ctime_s = 5,
	    .ctime_ns = 999999999};
	r[n++] = (struct raw){.type = CF_NT_DIR,
	    .name = "c-dir",
	    .mode = 0755,
	    .uid = 1000,
	    .gid = 1000,
	    .nlink = 2,
	    .size = 4096,
	    .subtree = 1};
	r[n++] = (struct raw){.type = CF_NT_FIFO,
	    .name = "d-fifo",
	    .mode = 0600,
	    .mtime_s = -1,
	    .mtime_ns = 999999999,
	    .atime_s = INT64_MIN};
	r[n++] = (struct raw){.type = CF_NT_FILE,
	    .name = "e-file",
	    .mode = 04755,
	    .uid = UINT32_MAX,
	    .gid = UINT32_MAX,
	    .size = 1ull << 40,
	    .ino = UINT64_MAX,
	    .dev = 0xfd00,
	    .nlink = 3,
	    .atime_s = INT64_MAX,
	    .atime_ns = 123456789,
	    .xattrs = xattrs_ok,
	    .xattrslen = sizeof(xattrs_ok),
	    .nchunks = 2,
	    .chunks_present = 2};
	r[n++] = (struct raw){.type = CF_NT_SYMLINK,
	    .name = "f-link",
	    .mode = 0777,
	    .target = "../target",
	    .nlink = 1};
	r[n++] =
	    (struct raw){.type = CF_NT_SOCK, .name = "g-sock", .mode = 0755};
	r[n++] = (struct raw){
	    .type = CF_NT_FILE, .name = "\xc3\xa9t\xc3\xa9", .mode = 0644};
	return n;
}

/* The same tree through the library encoder. */
static void
golden_lib(struct cf_buf *b)
{
	struct raw r[8];
	uint8_t chunks[64];
	size_t n = golden_raw(r);

	memset(chunks, 0, 64);
	chunks[0] = 0x11;
	chunks[32] = 0x22;
	cf_tree_begin(b, n);
	for (size_t i = 0; i < n; i++) {
		struct cf_node nd;

		memset(&nd, 0, sizeof(nd));
		nd.type = (uint8_t)r[i].type;
		nd.name = (const uint8_t *)r[i].name;
		nd.namelen = strlen(r[i].name);
		nd.mode = (uint32_t)r[i].mode;
		nd.uid = (uint32_t)r[i].uid;
		nd.gid = (uint32_t)r[i].gid;
		nd.mtime_s = r[i].mtime_s;
		nd.mtime_ns = (uint32_t)r[i].mtime_ns;
		nd.ctime_s = r[i].ctime_s;
		nd.ctime_ns = (uint32_t)r[i].ctime_ns;
		nd.atime_s = r[i].atime_s;
		nd.atime_ns = (uint32_t)r[i].atime_ns;
		nd.size = r[i].size;
		nd.ino = r[i].ino;
		nd.dev = r[i].dev;
		nd.nlink = r[i].nlink;
		nd.rdev = r[i].rdev;
		nd.target = (const uint8_t *)r[i].target;
		nd.targetlen = r[i].target ? strlen(r[i].target) : 0;
		nd.xattrs = r[i].xattrs;
		nd.xattrslen = r[i].xattrslen;
		nd.chunks = chunks;
		nd.nchunks = r[i].chunks_present;
		memset(nd.subtree, 0x5d, 32);
		cf_tree_add(b, &nd);
	}
}

static int
node_matches(const struct cf_node *d, const struct raw *r)
{
	size_t tl = r->target ? strlen(r->target) : 0;

	return d->type == r->type && d->namelen == strlen(r->name) &&
	       memcmp(d->name, r->name, d->namelen) == 0 &&
	       d->mode == r->mode && d->uid == r->uid && d->gid == r->gid &&
	       d->mtime_s == r->mtime_s && d->mtime_ns == r->mtime_ns &&
	       d->ctime_s == r->ctime_s && d->ctime_ns == r->ctime_ns &&
	       d->atime_s == r->atime_s && d->atime_ns == r->atime_ns &&
	       d->size == r->size && d->ino == r->ino && d->dev == r->dev &&
	       d->nlink == r->nlink && d->rdev == r->rdev &&
	       d->targetlen == tl &&
	       (tl == 0 || memcmp(d->target, r->target, tl) == 0) &&
	       d->xattrslen == r->xattrslen &&
	       (r->xattrslen == 0 ||
	           memcmp(d->xattrs, r->xattrs, r->xattrslen) == 0) &&
	       d->nchunks == r->nchunks &&
	       (d->nchunks == 0 ||
	           (d->chunks[0] == 0x11 && d->chunks[32] == 0x22)) &&
	       (r->subtree ? d->subtree[0] == 0x5d && d->subtree[31] == 0x5d
	                   : d->subtree[0] == 0);
}

static void
test_golden(const char *path, int regen)
{
	struct cf_buf lib, own;
	struct cf_node *nodes;
	struct raw r[8];
	struct cf_err err;
	uint8_t *want;
	size_t n = golden_raw(r), wn, count;

	cf_buf_init(&lib, 1 << 20);
	cf_buf_init(&own, 1 << 20);
	golden_lib(&lib);
	cf_tree_begin(&own, n);
	for (size_t i = 0; i < n; i++)
		raw_add(&own, &r[i]);
	REQUIRE(!lib.failed && !own.failed);
	/* The format in tree.h is the format of the code. */
	CHECK(lib.len == own.len && memcmp(lib.p, own.p, lib.len) == 0);
	if (regen)
		REQUIRE(test_write_hex(path,
		            "# cf_tree_add() of the tree in test_tree.c "
		            "golden_raw(): one entry of each node type.\n",
		            lib.p, lib.len) == 0);
	REQUIRE((want = test_read_hex(path, &wn)) != NULL);
	CHECK(wn == lib.len && memcmp(want, lib.p, wn) == 0);
	REQUIRE(cf_tree_decode(want, wn, &nodes, &count, &err) == 0);
	CHECK(count == n);
	for (size_t i = 0; i < n && i < count; i++) {
		if (!node_matches(&nodes[i], &r[i]))
			fprintf(stderr, "  node %zu differs\n", i);
		CHECK(node_matches(&nodes[i], &r[i]));
	}
	free(nodes);
	/* Every truncation; a trailing byte. */
	for (size_t len = 0; len < wn; len++) {
		err.code = CF_OK;
		CHECK(cf_tree_decode(want, len, &nodes, &count, &err) == -1 &&
		      err.code == CF_EFORMAT);
	}
	cf_buf_add_u8(&lib, 0);
	CHECK_ERR(cf_tree_decode(lib.p, lib.len, &nodes, &count, &err), &err,
	    CF_EFORMAT);
	free(want);
	cf_buf_release(&lib);
	cf_buf_release(&own);
}

static void
test_xattr_iter(void)
{
	const uint8_t *name, *val;
	size_t nn, vn;
	uint64_t count;
	struct cf_rd r;

	cf_rd_init(&r, xattrs_ok, sizeof(xattrs_ok));
	CHECK(cf_rd_uvar(&r, &count) == 0 && count == 2);
	CHECK(cf_xattrs_next(&r, &name, &nn, &val, &vn) == 0 && nn == 6 &&
	      memcmp(name, "user.a", 6) == 0 && vn == 1 && val[0] == '1');
	CHECK(cf_xattrs_next(&r, &name, &nn, &val, &vn) == 0 && nn == 6 &&
	      memcmp(name, "user.b", 6) == 0 && vn == 0);
	CHECK(cf_xattrs_next(&r, &name, &nn, &val, &vn) == -1);
}

/* Decode a tree of the given raw entries: 0 or the error code. */
static int
decode_raw(const struct raw *r, size_t n, uint64_t count)
{
	struct cf_node *nodes = NULL;
	struct cf_err err = {0};
	struct cf_buf b;
	size_t got;
	int rc;

	cf_buf_init(&b, 1 << 22);
	cf_tree_begin(&b, count);
	for (size_t i = 0; i < n; i++)
		raw_add(&b, &r[i]);
	REQUIRE(!b.failed);
	rc = cf_tree_decode(b.p, b.len, &nodes, &got, &err);
	if (rc == 0) {
		CHECK(got == n);
		free(nodes);
	}
	cf_buf_release(&b);
	return rc == 0 ? 0 : (int)err.code;
}

/* A one-entry tree: a plain file named ${name} (${nl} bytes). */
static int
decode_name(const char *name, size_t nl)
{
	struct raw r = {.type = CF_NT_FILE, .name = name, .namelen = nl};

	return decode_raw(&r, 1, 1);
}

/* Two plain files, in the given order. */
static int
decode_pair(const char *a, size_t an, const char *b, size_t bn)
{
	struct raw r[2] = {{.type = CF_NT_FILE, .name = a, .namelen = an},
	    {.type = CF_NT_FILE, .name = b, .namelen = bn}};

	return decode_raw(r, 2, 2);
}

static void
test_names(void)
{
	static char longname[CF_NAME_MAX + 2];

	memset(longname, 'n', CF_NAME_MAX + 1);
	CHECK(decode_name("a", 1) == 0);
	CHECK(decode_name("...", 3) == 0);
	CHECK(decode_name(".a", 2) == 0);
	CHECK(decode_name("a b\n\xff", 5) == 0);
	CHECK(decode_name(longname, CF_NAME_MAX) == 0);
	CHECK(decode_name(longname, CF_NAME_MAX + 1) == CF_EFORMAT);
	CHECK(decode_name("", 1) == CF_EFORMAT); /* a NUL */
	CHECK(decode_name(".", 1) == CF_EFORMAT);
	CHECK(decode_name("..", 2) == CF_EFORMAT);
	CHECK(decode_name("/", 1) == CF_EFORMAT);
	CHECK(decode_name("a/b", 3) == CF_EFORMAT);
	CHECK(decode_name("../x", 4) == CF_EFORMAT);
	CHECK(decode_name("a\0b", 3) == CF_EFORMAT);
	CHECK(decode_name("ab\0", 3) == CF_EFORMAT);
	{
		/* The empty name (namelen 0 means strlen here). */
		struct raw r = {.type = CF_NT_FILE, .name = ""};

		CHECK(decode_raw(&r, 1, 1) == CF_EFORMAT);
	}
	/* Strictly increasing, bytewise, shorter first. */
	CHECK(decode_pair("a", 1, "b", 1) == 0);
	CHECK(decode_pair("a", 1, "ab", 2) == 0);
	CHECK(decode_pair("z", 1, "\xc3\xa9", 2) == 0);
	CHECK(decode_pair("b", 1, "a", 1) == CF_EFORMAT);
	CHECK(decode_pair("ab", 2, "a", 1) == CF_EFORMAT);
	CHECK(decode_pair("a", 1, "a", 1) == CF_EFORMAT);
	CHECK(decode_pair("\xc3\xa9", 2, "z", 1) == CF_EFORMAT);

	CHECK(cf_tree_name_cmp((const uint8_t *)"a", 1, (const uint8_t *)"ab",
	          2) < 0);
	CHECK(cf_tree_name_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"a",
	          1) > 0);
	CHECK(cf_tree_name_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"ab",
	          2) == 0);
	CHECK(cf_tree_name_cmp((const uint8_t *)"\x80", 1,
	          (const uint8_t *)"\x7f", 1) > 0);
	CHECK(!cf_tree_name_ok((const uint8_t *)"", 0));
	CHECK(cf_tree_name_ok((const uint8_t *)"..a", 3));
}

static int
decode_one(const struct raw *r)
{
	return decode_raw(r, 1, 1);
}

static void
test_kinds(void)
{
	struct raw r = {.type = CF_NT_DIR, .name = "d", .subtree = 1};

	CHECK(decode_one(&r) == 0);
	r.nchunks = r.chunks_present = 1; /* chunks on a dir */
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){.type = CF_NT_DIR, .name = "d"}; /* no subtree */
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){.type = CF_NT_SYMLINK, .name = "l", .target = "t"};
	CHECK(decode_one(&r) == 0);
	r.nchunks = r.chunks_present = 1;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){.type = CF_NT_SYMLINK, .name = "l"}; /* no target */
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){.type = CF_NT_FILE, .name = "f", .target = "t"};
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){
	    .type = CF_NT_FIFO, .name = "p", .nchunks = 1, .chunks_present = 1};
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){
	    .type = CF_NT_FILE, .name = "f", .nchunks = 3, .chunks_present = 3};
	CHECK(decode_one(&r) == 0);
	r.chunks_present = 2; /* fewer ids than counted */
	CHECK(decode_one(&r) == CF_EFORMAT);
	r.nchunks = 1ull << 60;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r.nchunks = UINT64_MAX;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = (struct raw){.type = 0, .name = "x"};
	CHECK(decode_one(&r) == CF_EFORMAT);
	r.type = CF_NT_SOCK + 1;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r.type = 0xff;
	CHECK(decode_one(&r) == CF_EFORMAT);
}

static void
test_fields(void)
{
	struct raw base = {.type = CF_NT_FILE, .name = "f"}, r;

	r = base;
	r.mode = 07777;
	CHECK(decode_one(&r) == 0);
	r.mode = 010000;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.uid = 1ull << 32;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.gid = 1ull << 32;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.mtime_ns = 999999999;
	r.ctime_ns = 999999999;
	r.atime_ns = 999999999;
	CHECK(decode_one(&r) == 0);
	r.mtime_ns = 1000000000;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.ctime_ns = 1000000000;
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.atime_ns = (1ull << 32) + 5; /* would wrap to 5 in 32 bits */
	CHECK(decode_one(&r) == CF_EFORMAT);
	r = base;
	r.size = r.ino = r.dev = r.nlink = r.rdev = UINT64_MAX;
	r.mtime_s = INT64_MIN;
	r.ctime_s = INT64_MAX;
	CHECK(decode_one(&r) == 0);
}

/* A file whose xattr list is the given bytes. */
static int
decode_xattrs(const uint8_t *x, size_t n)
{
	struct raw r = {
	    .type = CF_NT_FILE, .name = "f", .xattrs = x, .xattrslen = n};

	return decode_one(&r);
}

static void
test_xattrs(void)
{
	static uint8_t big[70000];
	struct cf_buf b;

	CHECK(decode_xattrs(NULL, 0) == 0);
	CHECK(decode_xattrs((const uint8_t *)"\x00", 1) == 0);
	CHECK(decode_xattrs(xattrs_ok, sizeof(xattrs_ok)) == 0);
	CHECK(decode_xattrs(xattrs_ok, sizeof(xattrs_ok) - 1) == CF_EFORMAT);
	CHECK(decode_xattrs((const uint8_t *)"\x01\x01x\x00\x00", 5) ==
	      CF_EFORMAT); /* trailing byte */
	CHECK(decode_xattrs((const uint8_t *)"\x02\x01x\x00", 4) ==
	      CF_EFORMAT); /* count too high */
	CHECK(decode_xattrs((const uint8_t *)"\x01\x00\x00", 3) ==
	      CF_EFORMAT); /* empty name */
	CHECK(decode_xattrs((const uint8_t *)"\x01\x02x\x00\x00", 5) ==
	      CF_EFORMAT); /* NUL in name */
	CHECK(decode_xattrs((const uint8_t *)"\x80", 1) == CF_EFORMAT);
	cf_buf_init(&b, sizeof(big) + 16);
	/* Name of 255 bytes: fine; 256: refused. */
	memset(big, 'n', sizeof(big));
	cf_buf_add_uvar(&b, 1);
	cf_buf_add_bytes(&b, big, 255);
	cf_buf_add_bytes(&b, big, 0);
	CHECK(decode_xattrs(b.p, b.len) == 0);
	b.len = 0;
	cf_buf_add_uvar(&b, 1);
	cf_buf_add_bytes(&b, big, 256);
	cf_buf_add_bytes(&b, big, 0);
	CHECK(decode_xattrs(b.p, b.len) == CF_EFORMAT);
	/* Value of 65536 bytes: fine; 65537: refused. */
	b.len = 0;
	cf_buf_add_uvar(&b, 1);
	cf_buf_add_bytes(&b, "v", 1);
	cf_buf_add_bytes(&b, big, 65536);
	CHECK(decode_xattrs(b.p, b.len) == 0);
	b.len = 0;
	cf_buf_add_uvar(&b, 1);
	cf_buf_add_bytes(&b, "v", 1);
	cf_buf_add_bytes(&b, big, 65537);
	CHECK(decode_xattrs(b.p, b.len) == CF_EFORMAT);
	/* At most 4096 of them. */
	cf_buf_release(&b);
	cf_buf_init(&b, 1 << 20);
	cf_buf_add_uvar(&b, 4097);
	for (int i = 0; i < 4097; i++) {
		cf_buf_add_bytes(&b, "x", 1);
		cf_buf_add_bytes(&b, "", 0);
	}
	CHECK(decode_xattrs(b.p, b.len) == CF_EFORMAT);
	b.len = 0;
	cf_buf_add_uvar(&b, 4096);
	for (int i = 0; i < 4096; i++) {
		cf_buf_add_bytes(&b, "x", 1);
		cf_buf_add_bytes(&b, "", 0);
	}
	CHECK(decode_xattrs(b.p, b.len) == 0);
	cf_buf_release(&b);
}

static void
test_header(void)
{
	struct raw r = {.type = CF_NT_FILE, .name = "f"};
	struct cf_node *nodes;
	struct cf_err err;
	struct cf_buf b;
	size_t count;

	CHECK(decode_raw(&r, 1, 1) == 0);
	CHECK(decode_raw(&r, 1, 2) == CF_EFORMAT); /* count > entries */
	CHECK(decode_raw(&r, 1, 0) == CF_EFORMAT); /* trailing entry */
	CHECK(decode_raw(&r, 0, 0) == 0);          /* empty folder */
	CHECK(decode_raw(&r, 1, 1ull << 40) == CF_EFORMAT);
	CHECK(decode_raw(&r, 1, UINT64_MAX) == CF_EFORMAT);
	CHECK(decode_raw(&r, 1, CF_TREE_MAX_ENTRIES + 1) == CF_EFORMAT);
	cf_buf_init(&b, 1024);
	cf_tree_begin(&b, 1);
	raw_add(&b, &r);
	for (size_t i = 0; i < 3; i++) {
		b.p[i] ^= 0x08;
		CHECK_ERR(cf_tree_decode(b.p, b.len, &nodes, &count, &err),
		    &err, CF_EFORMAT);
		b.p[i] ^= 0x08;
	}
	cf_buf_release(&b);
}

int
main(int argc, char **argv)
{
	char path[4096];

	REQUIRE(argc >= 2);
	test_vector_path(path, sizeof(path), argv[1], "tree.hex");
	test_golden(path, argc > 2 && strcmp(argv[2], "--regen") == 0);
	test_xattr_iter();
	test_names();
	test_kinds();
	test_fields();
	test_xattrs();
	test_header();
	return check_done("unit-tree");
}
