/*
 * test_index.c: lib/index/index.h.
 *  - index files: encode/decode round trip (including a pack that comes
 *    back after another), the exact bytes of a fixed list (golden file
 *    vectors/index.hex), and rejection of bad headers, hostile counts,
 *    empty or oversized groups, invalid entry fields, trailing bytes and
 *    every truncation;
 *  - the SQLite cache in a temporary folder: add, lookup, has_file,
 *    has_pack, each_pack, each_blob (ordered by offset, early stop),
 *    first entry wins on duplicates, persistence across reopen, and the
 *    drop-everything logic of sync_files.
 * Usage: test_index VECTORDIR [--regen]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

#include "check.h"

static struct cf_loc
mkloc(uint8_t pack, uint8_t id, uint8_t type, uint8_t flags, uint64_t off,
    uint32_t len, uint32_t rawlen, uint64_t seq)
{
	struct cf_loc l;

	memset(&l, 0, sizeof(l));
	memset(l.pack, pack, 32);
	memset(l.e.id, id, 32);
	l.e.type = type;
	l.e.flags = flags;
	l.e.off = off;
	l.e.len = len;
	l.e.rawlen = rawlen;
	l.e.seq = seq;
	return l;
}

/* The fixed list of the golden file: packs aa, bb, then aa again. */
static size_t
golden_list(struct cf_loc *l)
{
	l[0] = mkloc(0xaa, 0x01, CF_BLOB_DATA, 0, 0, 116, 100, 0);
	l[1] = mkloc(0xaa, 0x02, CF_BLOB_TREE, CF_BLOB_ZSTD, 116, 300, 5000, 1);
	l[2] = mkloc(0xbb, 0x03, CF_BLOB_DATA, 0, 0, 16, 0, 0);
	l[3] = mkloc(0xaa, 0x04, CF_BLOB_DATA, CF_BLOB_ZSTD, 416, 1016,
	    CF_BLOB_MAX_RAW, 2);
	return 4;
}

static int
loc_eq(const struct cf_loc *a, const struct cf_loc *b)
{
	return memcmp(a->pack, b->pack, 32) == 0 &&
	       memcmp(a->e.id, b->e.id, 32) == 0 && a->e.type == b->e.type &&
	       a->e.flags == b->e.flags && a->e.off == b->e.off &&
	       a->e.len == b->e.len && a->e.rawlen == b->e.rawlen &&
	       a->e.seq == b->e.seq;
}

static int
decode_code(const uint8_t *p, size_t n)
{
	struct cf_loc *l = NULL;
	struct cf_err err = {0};
	size_t nl;

	if (cf_indexfile_decode(p, n, &l, &nl, &err) == 0) {
		free(l);
		return 0;
	}
	return err.code;
}

static void
test_golden(const char *path, int regen)
{
	struct cf_loc l[4], *d;
	struct cf_err err;
	struct cf_buf b;
	uint8_t *want;
	size_t n = golden_list(l), wn, dn;

	cf_buf_init(&b, 1 << 20);
	cf_indexfile_encode(l, n, &b);
	REQUIRE(!b.failed);
	if (regen)
		REQUIRE(test_write_hex(path,
		            "# cf_indexfile_encode() of the list in "
		            "test_index.c golden_list():\n"
		            "# 'C' 'X' version 1, uvar(total), then groups: "
		            "pack[32] uvar(count) entries,\n"
		            "# entry = type flags id[32] uvar(off) uvar(len) "
		            "uvar(rawlen) uvar(seq).\n",
		            b.p, b.len) == 0);
	REQUIRE((want = test_read_hex(path, &wn)) != NULL);
	CHECK(wn == b.len && memcmp(want, b.p, wn) == 0);
	/* Three groups: aa (2), bb (1), aa (1). */
	CHECK(b.len == 4 + 3 * 33 + 4 * 34 + 4 + 6 + 4 + 9);
	REQUIRE(cf_indexfile_decode(want, wn, &d, &dn, &err) == 0);
	CHECK(dn == n);
	for (size_t i = 0; i < n && i < dn; i++)
		CHECK(loc_eq(&d[i], &l[i]));
	free(d);
	/* Every truncation, a trailing byte. */
	for (size_t len = 0; len < wn; len++)
		CHECK(decode_code(want, len) == CF_EFORMAT);
	b.len = 0;
	cf_buf_add(&b, want, wn);
	cf_buf_add_u8(&b, 0);
	CHECK(decode_code(b.p, b.len) == CF_EFORMAT);
	/* Magic and version. */
	for (size_t i = 0; i < 3; i++) {
		want[i] ^= 0x40;
		CHECK(decode_code(want, wn) == CF_EFORMAT);
		want[i] ^= 0x40;
	}
	free(want);
	cf_buf_release(&b);
}

static void
test_roundtrip(void)
{
	struct cf_loc *l = calloc(1000, sizeof(*l)), *d;
	uint64_t seed = 99;
	struct cf_err err;
	struct cf_buf b;
	size_t dn;

	REQUIRE(l != NULL);
	for (size_t i = 0; i < 1000; i++) {
		uint32_t len = 16 + (uint32_t)(test_rand(&seed) % 1000000);
		int z = test_rand(&seed) % 2;

		l[i] = mkloc((uint8_t)(i / 64), 0,
		    z ? CF_BLOB_TREE : CF_BLOB_DATA, z ? CF_BLOB_ZSTD : 0,
		    test_rand(&seed) % CF_PACK_MAX_BYTES, len,
		    z ? (uint32_t)(test_rand(&seed) % CF_BLOB_MAX_RAW)
		      : len - 16,
		    i % 64);
		test_fill(&seed, l[i].e.id, 32);
	}
	cf_buf_init(&b, 1 << 20);
	cf_indexfile_encode(l, 1000, &b);
	REQUIRE(!b.failed);
	REQUIRE(cf_indexfile_decode(b.p, b.len, &d, &dn, &err) == 0);
	CHECK(dn == 1000);
	for (size_t i = 0; i < 1000; i++)
		CHECK(loc_eq(&d[i], &l[i]));
	free(d);
	/* Empty list. */
	b.len = 0;
	cf_indexfile_encode(l, 0, &b);
	CHECK(test_hex_eq(b.p, b.len, "43580100"));
	CHECK(cf_indexfile_decode(b.p, b.len, &d, &dn, &err) == 0 && dn == 0);
	free(d);
	cf_buf_release(&b);
	free(l);
}

/* Encode one loc with a bad field (the encoder does not validate). */
static int
bad_field(int which)
{
	struct cf_loc l = mkloc(1, 2, CF_BLOB_DATA, 0, 0, 116, 100, 0);
	struct cf_buf b;
	int rc;

	switch (which) {
	case 0: /* valid */
		break;
	case 1:
		l.e.type = 0;
		break;
	case 2:
		l.e.type = 3;
		break;
	case 3:
		l.e.flags = 2;
		break;
	case 4:
		l.e.len = 15;
		l.e.flags = CF_BLOB_ZSTD;
		break;
	case 5:
		l.e.len = CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES + 1;
		l.e.flags = CF_BLOB_ZSTD;
		break;
	case 6:
		l.e.rawlen = CF_BLOB_MAX_RAW + 1;
		l.e.flags = CF_BLOB_ZSTD;
		break;
	case 7:
		l.e.off = CF_PACK_MAX_BYTES + 1;
		break;
	case 8:
		l.e.seq = CF_PACK_MAX_BLOBS;
		break;
	case 9: /* raw blob whose sizes disagree */
		l.e.rawlen = 101;
		break;
	case 10: /* limits themselves are fine */
		l.e.off = CF_PACK_MAX_BYTES;
		l.e.seq = CF_PACK_MAX_BLOBS - 1;
		l.e.flags = CF_BLOB_ZSTD;
		l.e.len = CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES;
		l.e.rawlen = CF_BLOB_MAX_RAW;
		break;
	}
	cf_buf_init(&b, 4096);
	cf_indexfile_encode(&l, 1, &b);
	rc = decode_code(b.p, b.len);
	cf_buf_release(&b);
	return rc;
}

/* Hand-made group structure: ${total}, then groups of ${counts}[i]
 * (with as many valid entries as ${entries}[i]). */
static int
groups(uint64_t total, const uint64_t *counts, const size_t *entries, size_t ng)
{
	struct cf_buf b;
	struct cf_loc l = mkloc(1, 2, CF_BLOB_DATA, 0, 0, 116, 100, 0);
	int rc;

	cf_buf_init(&b, 1 << 20);
	cf_buf_add(&b, "CX\x01", 3);
	cf_buf_add_uvar(&b, total);
	for (size_t g = 0; g < ng; g++) {
		cf_buf_add(&b, l.pack, 32);
		cf_buf_add_uvar(&b, counts[g]);
		for (size_t i = 0; i < entries[g]; i++) {
			cf_buf_add_u8(&b, l.e.type);
			cf_buf_add_u8(&b, l.e.flags);
			cf_buf_add(&b, l.e.id, 32);
			cf_buf_add_uvar(&b, l.e.off);
			cf_buf_add_uvar(&b, l.e.len);
			cf_buf_add_uvar(&b, l.e.rawlen);
			cf_buf_add_uvar(&b, l.e.seq);
		}
	}
	rc = decode_code(b.p, b.len);
	cf_buf_release(&b);
	return rc;
}

static void
test_rejects(void)
{
	static const uint64_t c11[] = {1, 1}, c2[] = {2}, c02[] = {0, 2},
	                      c3[] = {3}, c21[] = {2, 1};
	static const size_t e11[] = {1, 1}, e2[] = {2}, e02[] = {0, 2},
	                    e3[] = {3}, e21[] = {2, 1};

	CHECK(bad_field(0) == 0);
	CHECK(bad_field(10) == 0);
	for (int i = 1; i <= 9; i++) {
		if (bad_field(i) != CF_EFORMAT)
			fprintf(stderr, "  bad field %d accepted\n", i);
		CHECK(bad_field(i) == CF_EFORMAT);
	}
	CHECK(groups(2, c11, e11, 2) == 0);
	CHECK(groups(2, c2, e2, 1) == 0);
	CHECK(groups(2, c02, e02, 2) == CF_EFORMAT); /* empty group */
	CHECK(groups(2, c3, e3, 1) == CF_EFORMAT);   /* group > total */
	CHECK(groups(2, c21, e21, 2) == CF_EFORMAT); /* more than total */
	CHECK(groups(3, c2, e2, 1) == CF_EFORMAT);   /* fewer than total */
	/* Hostile totals fail before any allocation. */
	CHECK(groups(1ull << 40, c2, e2, 1) == CF_EFORMAT);
	CHECK(groups(UINT64_MAX, c2, e2, 1) == CF_EFORMAT);
	CHECK(groups(50000001, c2, e2, 1) == CF_EFORMAT);
	CHECK(decode_code((const uint8_t *)"", 0) == CF_EFORMAT);
	CHECK(decode_code((const uint8_t *)"CX\x01", 3) == CF_EFORMAT);
}

struct seen {
	uint8_t pack[8][32];
	uint64_t count[8];
	struct cf_loc locs[16];
	size_t n, stop_after;
};

static int
on_pack(void *arg, const uint8_t *pack, uint64_t nblobs)
{
	struct seen *s = arg;

	REQUIRE(s->n < 8);
	memcpy(s->pack[s->n], pack, 32);
	s->count[s->n++] = nblobs;
	return s->n == s->stop_after ? 7 : 0;
}

static int
on_blob(void *arg, const struct cf_loc *l)
{
	struct seen *s = arg;

	REQUIRE(s->n < 16);
	s->locs[s->n++] = *l;
	return s->n == s->stop_after ? 9 : 0;
}

static uint64_t
count_of(const struct seen *s, uint8_t pack)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->pack[i][0] == pack)
			return s->count[i];
	return 0;
}

struct names {
	const char *v[4];
	size_t n;
};

static int
present(void *arg, const char *name)
{
	const struct names *nm = arg;

	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], name) == 0)
			return 1;
	return 0;
}

/* The queries on a cache holding golden_list() (and ${npacks} - 2 other
 * packs). */
static void
test_cache_queries(struct cf_index *x, const struct cf_loc *l, size_t npacks)
{
	uint8_t id[32], pack[32];
	struct cf_loc got;
	struct cf_err err;
	struct seen s;

	for (size_t i = 0; i < 4; i++) {
		CHECK(cf_index_lookup(x, l[i].e.id, &got, &err) == 0);
		CHECK(loc_eq(&got, &l[i]));
	}
	memset(id, 0x05, 32);
	CHECK(cf_index_lookup(x, id, &got, &err) == 1);
	CHECK(cf_index_has_file(x, "f1", &err) == 1);
	CHECK(cf_index_has_file(x, "f2", &err) == 0);
	memset(pack, 0xaa, 32);
	CHECK(cf_index_has_pack(x, pack, &err) == 1);
	memset(pack, 0xcc, 32);
	CHECK(cf_index_has_pack(x, pack, &err) == 0);
	memset(&s, 0, sizeof(s));
	CHECK(cf_index_each_pack(x, on_pack, &s, &err) == 0);
	CHECK(s.n == npacks && count_of(&s, 0xaa) == 3 &&
	      count_of(&s, 0xbb) == 1);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	CHECK(cf_index_each_pack(x, on_pack, &s, &err) == 7 && s.n == 1);
	/* The blobs of pack aa, by offset. */
	memset(&s, 0, sizeof(s));
	memset(pack, 0xaa, 32);
	CHECK(cf_index_each_blob(x, pack, on_blob, &s, &err) == 0);
	CHECK(s.n == 3 && loc_eq(&s.locs[0], &l[0]) &&
	      loc_eq(&s.locs[1], &l[1]) && loc_eq(&s.locs[2], &l[3]));
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	CHECK(cf_index_each_blob(x, pack, on_blob, &s, &err) == 9 && s.n == 2);
	memset(&s, 0, sizeof(s));
	memset(pack, 0xcc, 32);
	CHECK(cf_index_each_blob(x, pack, on_blob, &s, &err) == 0 && s.n == 0);
}

static void
test_cache(void)
{
	char dir[4096], path[4200];
	struct cf_loc l[4], dup, extra, got;
	uint8_t pack[32];
	struct names nm = {{"f1", "f3"}, 2};
	struct cf_index *x;
	struct cf_err err;
	int dropped = -1;

	REQUIRE(test_tmpdir(dir, sizeof(dir)) == 0);
	test_join(path, sizeof(path), dir, "index.db");
	golden_list(l);
	REQUIRE((x = cf_index_open(path, &err)) != NULL);
	CHECK(cf_index_lookup(x, l[0].e.id, &got, &err) == 1);
	CHECK(cf_index_add(x, "f1", l, 4, &err) == 0);
	test_cache_queries(x, l, 2);
	/* A second entry for a known (id, pack) does not replace the first. */
	dup = l[0];
	dup.e.off = 999;
	CHECK(cf_index_add(x, "f1", &dup, 1, &err) == 0);
	CHECK(cf_index_lookup(x, l[0].e.id, &got, &err) == 0 &&
	      loc_eq(&got, &l[0]));
	/* A second location in another pack is kept (a prune copies blobs
	 * before the old pack goes), and lookups still give the first. */
	dup = mkloc(0xee, 0x01, CF_BLOB_DATA, 0, 999, 116, 100, 5);
	memcpy(dup.e.id, l[0].e.id, 32);
	CHECK(cf_index_add(x, NULL, &dup, 1, &err) == 0);
	CHECK(cf_index_lookup(x, l[0].e.id, &got, &err) == 0 &&
	      loc_eq(&got, &l[0]));
	memset(pack, 0xee, 32);
	CHECK(cf_index_has_pack(x, pack, &err) == 1);
	/* ... also when the second pack's name sorts first. */
	dup = mkloc(0x11, 0x02, CF_BLOB_TREE, 0, 7, 300, 5000, 9);
	CHECK(cf_index_add(x, NULL, &dup, 1, &err) == 0);
	CHECK(cf_index_lookup(x, l[1].e.id, &got, &err) == 0 &&
	      loc_eq(&got, &l[1]));
	/* Entries in no index file yet. */
	extra = mkloc(0xdd, 0x06, CF_BLOB_DATA, 0, 0, 20, 4, 0);
	CHECK(cf_index_add(x, NULL, &extra, 1, &err) == 0);
	CHECK(cf_index_lookup(x, extra.e.id, &got, &err) == 0);
	CHECK(cf_index_add(x, "f3", NULL, 0, &err) == 0);
	/* Folder states: keyed by state (two states may name one tree). */
	{
		struct cf_subtree v[3], o;

		memset(v, 0, sizeof(v));
		for (int i = 0; i < 3; i++) {
			memset(v[i].state, 0x30 + i, 32);
			memset(v[i].tree, i == 2 ? 0x40 : 0x41 + i, 32);
			v[i].files = 1000 + (uint64_t)i;
			v[i].dirs = 10 + (uint64_t)i;
			v[i].bytes = ((uint64_t)1 << 40) + (uint64_t)i;
		}
		memset(v[1].tree, 0x40, 32); /* the same tree as v[2] */
		CHECK(cf_index_subtree_put(x, v, 3, 100, &err) == 0);
		CHECK(cf_index_subtree_put(x, v, 0, 100, &err) == 0);
		for (int i = 0; i < 3; i++) {
			CHECK(cf_index_subtree_get(x, v[i].state, &o, &err) ==
			      0);
			CHECK(memcmp(&o, &v[i], sizeof(o)) == 0);
		}
		memset(o.state, 0x3f, 32);
		CHECK(cf_index_subtree_get(x, o.state, &o, &err) == 1);
		v[0].files = 7; /* a state found again replaces its row */
		CHECK(cf_index_subtree_put(x, v, 1, 100, &err) == 0);
		CHECK(cf_index_subtree_get(x, v[0].state, &o, &err) == 0 &&
		      o.files == 7);
		/* States not used since before a day are forgotten. */
		CHECK(cf_index_subtree_put(x, &v[2], 1, 80, &err) == 0);
		CHECK(cf_index_subtree_expire(x, 90, &err) == 0);
		CHECK(cf_index_subtree_get(x, v[2].state, &o, &err) == 1);
		CHECK(cf_index_subtree_get(x, v[1].state, &o, &err) == 0);
		CHECK(cf_index_subtree_get(x, v[0].state, &o, &err) == 0);
	}
	cf_index_close(x);
	cf_index_close(NULL);

	/* Persistent; then the sync logic. */
	REQUIRE((x = cf_index_open(path, &err)) != NULL);
	/* aa, bb, dd, and ee and 11 (second locations) */
	test_cache_queries(x, l, 5);
	CHECK(cf_index_has_file(x, "f3", &err) == 1);
	{
		struct cf_subtree o;
		uint8_t st[32];

		memset(st, 0x31, 32);
		CHECK(cf_index_subtree_get(x, st, &o, &err) == 0 &&
		      o.dirs == 11 && o.tree[0] == 0x40);
	}
	CHECK(cf_index_sync_files(x, present, &nm, &dropped, &err) == 0);
	CHECK(dropped == 0);
	CHECK(cf_index_lookup(x, l[2].e.id, &got, &err) == 0);
	nm.n = 1; /* "f3" is gone from the repository */
	CHECK(cf_index_sync_files(x, present, &nm, &dropped, &err) == 0);
	CHECK(dropped == 1);
	CHECK(cf_index_lookup(x, l[2].e.id, &got, &err) == 1);
	CHECK(cf_index_lookup(x, extra.e.id, &got, &err) == 1);
	{ /* the folder states go with it */
		struct cf_subtree o;
		uint8_t st[32];

		memset(st, 0x30, 32);
		CHECK(cf_index_subtree_get(x, st, &o, &err) == 1);
	}
	CHECK(cf_index_has_file(x, "f1", &err) == 0);
	CHECK(cf_index_has_pack(x, l[0].pack, &err) == 0);
	nm.n = 0; /* nothing recorded, nothing to drop */
	CHECK(cf_index_sync_files(x, present, &nm, &dropped, &err) == 0);
	CHECK(dropped == 0);
	cf_index_close(x);

	/* A cache that cannot be opened. */
	test_join(path, sizeof(path), dir, "no/such/dir/index.db");
	err.code = CF_OK;
	CHECK(cf_index_open(path, &err) == NULL && err.code == CF_EDB);
	test_rm_rf(dir);
}

/* Lookups from several threads (each with a reader connection of its
 * own) while the main connection adds: every entry added before a lookup
 * starts is found, and found whole. */
#define CC_N 3000
#define CC_THREADS 6

struct cc {
	struct cf_index *x;
	atomic_int added, stop, bad;
};

static struct cf_loc
cc_loc(int i)
{
	struct cf_loc l = mkloc((uint8_t)(i % 7 + 1), 0, CF_BLOB_DATA, 0,
	    (uint64_t)i * 100, 100, 90, (uint64_t)i);

	memcpy(l.e.id, &i, sizeof(i));
	l.e.id[31] = 0x5a;
	return l;
}

static void *
cc_reader(void *arg)
{
	struct cc *c = arg;
	uint64_t seed = (uint64_t)(uintptr_t)&seed;
	struct cf_err err = {0};
	struct cf_loc got, want, none = cc_loc(-1);

	while (!atomic_load(&c->stop)) {
		int n = atomic_load(&c->added), k;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		if (n == 0)
			continue;
		k = (int)((seed >> 33) % (uint64_t)n);
		want = cc_loc(k);
		if (cf_index_lookup(c->x, want.e.id, &got, &err) != 0 ||
		    !loc_eq(&got, &want))
			atomic_fetch_add(&c->bad, 1);
		if (cf_index_lookup(c->x, none.e.id, &got, &err) != 1)
			atomic_fetch_add(&c->bad, 1);
	}
	return NULL;
}

static void
test_concurrent(void)
{
	char dir[4096], path[4200];
	struct cc c = {0};
	struct cf_err err = {0};
	pthread_t th[CC_THREADS];

	REQUIRE(test_tmpdir(dir, sizeof(dir)) == 0);
	test_join(path, sizeof(path), dir, "index.db");
	REQUIRE((c.x = cf_index_open(path, &err)) != NULL);
	for (int i = 0; i < CC_THREADS; i++)
		REQUIRE(pthread_create(&th[i], NULL, cc_reader, &c) == 0);
	for (int i = 0; i < CC_N; i += 10) {
		struct cf_loc l[10];

		for (int j = 0; j < 10; j++)
			l[j] = cc_loc(i + j);
		CHECK(cf_index_add(c.x, NULL, l, 10, &err) == 0);
		atomic_store(&c.added, i + 10);
	}
	atomic_store(&c.stop, 1);
	for (int i = 0; i < CC_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK(atomic_load(&c.bad) == 0);
	cf_index_close(c.x);
	test_rm_rf(dir);
}

int
main(int argc, char **argv)
{
	char path[4096];

	REQUIRE(argc >= 2);
	test_vector_path(path, sizeof(path), argv[1], "index.hex");
	test_golden(path, argc > 2 && strcmp(argv[2], "--regen") == 0);
	test_roundtrip();
	test_rejects();
	test_cache();
	test_concurrent();
	return check_done("unit-index");
}
