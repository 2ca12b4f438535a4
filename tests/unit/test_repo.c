/*
 * test_repo.c: lib/repo/repo.h and lib/repo/packer.h, on a repository in
 * a temporary folder (Argon2id at 8 MiB / 1 pass).
 *  - init, refusal to init twice, CF_EPASS for a wrong passphrase,
 *    CF_ENOTFOUND for a folder that is no repository, config parsing;
 *  - four threads add the same ~60 MiB of blobs through one cf_packer,
 *    each in its own order: every blob is stored exactly once (the others
 *    get 1), packs close while blobs are still coming (more than 32 MiB of
 *    incompressible tree blobs go to the single tree pack), flush writes
 *    one index file and fills the cache, zstd is used where it pays;
 *  - cf_repo_load_blob() returns every blob, in the same session and after
 *    reopening with a fresh cache folder (the cache is rebuilt from the
 *    index files); a wrong type or an unknown id is CF_ENOTFOUND;
 *  - a big tree that does not compress (38 MiB) loads back;
 *  - snapshots save and load; a second key slot opens the repository; a
 *    byte changed in a stored pack is CF_EAUTH;
 *  - a blob stored under another content's id: refused on every load when
 *    a write-only credential's keys wrote it (its pack is not vouched
 *    for), loaded when the zone's own keys did (vouched for; only a
 *    verifying open refuses it);
 *  - through a store that counts as remote (reads through the cells of
 *    1 MiB): eight threads read every data blob at once, right, each
 *    cell fetched once; when the store fails, eight threads waiting for
 *    one cell all fail without fetching it once each;
 *  - a zone of an account, rotated twice: the retired versions'
 *    snapshots load (the newest cover names them, the second carrying
 *    the first's names forward), one sealed with a retired version after
 *    its rotation is refused and counted as retired, also with a cover of
 *    its own version; a save through the old key stops once the newer
 *    slot exists; without the covers every old snapshot is refused;
 *    forget records likewise: one the removed device sealed after its
 *    removal excuses nothing, the others keep counting across rotations.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "compress/compress.h"
#include "engine/forget.h"
#include "repo/packer.h"
#include "repo/repo.h"

#include "check.h"

#define NBIG 9     /* tree blobs of 4 MiB: 36 MiB > the largest pack */
#define NSMALL 200 /* data blobs up to 256 KiB */
#define NBLOBS (NBIG + NSMALL)
#define NTHREADS 4

static const struct cf_kdf fast = {1, 8ull << 20};

struct blob {
	uint8_t id[32];
	uint8_t type;
	uint8_t *p;
	size_t n;
};

struct worker {
	pthread_t th;
	struct cf_packer *pk;
	const struct blob *b;
	int t;
	int rc[NBLOBS];
	int failed;
};

static void
make_blobs(const struct cf_keys *k, struct blob *b)
{
	uint8_t seed[randombytes_SEEDBYTES] = {7};
	uint64_t s = 1;

	for (size_t i = 0; i < NBLOBS; i++) {
		size_t n = i < NBIG ? 4u << 20 : test_rand(&s) % (256u << 10);

		if (i == NBIG || i == NBIG + 1)
			n = i - NBIG; /* empty and one-byte blobs */
		b[i].n = n;
		b[i].type = i < NBIG ? CF_BLOB_TREE : CF_BLOB_DATA;
		REQUIRE((b[i].p = malloc(n + 1)) != NULL);
		seed[1] = (uint8_t)i;
		seed[2] = (uint8_t)(i >> 8);
		randombytes_buf_deterministic(b[i].p, n, seed);
		if (i >= NBIG && i % 3 == 0) /* compressible */
			for (size_t j = 0; j < n; j++)
				b[i].p[j] &= 0x03;
		cf_crypto_chunk_id(k, b[i].p, n, b[i].id);
	}
}

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct cf_zc *zc = cf_zc_new(3);
	struct cf_buf scratch;
	struct cf_err err;

	cf_buf_init(&scratch, CF_BLOB_MAX_RAW + (1u << 20));
	if (zc == NULL)
		w->failed = 1;
	for (size_t k = 0; k < NBLOBS && !w->failed; k++) {
		/* Each thread walks the blobs from its own starting point. */
		size_t i = (k + (size_t)w->t * NBLOBS / NTHREADS) % NBLOBS;

		w->rc[i] = cf_packer_add(w->pk, w->b[i].type, w->b[i].id,
		    w->b[i].p, w->b[i].n, zc, &scratch, &err);
		if (w->rc[i] < 0) {
			fprintf(stderr, "  packer_add: %s\n", err.msg);
			w->failed = 1;
		}
	}
	cf_buf_release(&scratch);
	cf_zc_free(zc);
	return NULL;
}

static void
test_pack_threads(struct cf_repo *r, const struct blob *b)
{
	static struct worker w[NTHREADS];
	struct cf_packer_stats st;
	struct cf_packer *pk;
	struct cf_err err;
	uint64_t raw = 0;

	REQUIRE((pk = cf_packer_new(r, &err)) != NULL);
	for (int t = 0; t < NTHREADS; t++) {
		w[t].pk = pk;
		w[t].b = b;
		w[t].t = t;
		REQUIRE(pthread_create(&w[t].th, NULL, work, &w[t]) == 0);
	}
	for (int t = 0; t < NTHREADS; t++) {
		REQUIRE(pthread_join(w[t].th, NULL) == 0);
		CHECK(!w[t].failed);
	}
	for (size_t i = 0; i < NBLOBS; i++) {
		int stored = 0, dup = 0;

		for (int t = 0; t < NTHREADS; t++) {
			stored += w[t].rc[i] == 0;
			dup += w[t].rc[i] == 1;
		}
		CHECK(stored == 1 && dup == NTHREADS - 1);
		CHECK(cf_packer_has(pk, b[i].id));
		raw += b[i].n;
	}
	cf_packer_stats(pk, &st);
	CHECK(st.blobs == NBLOBS && st.raw_bytes == raw);
	/* The tree pack filled up mid-way, but its writer may still hold
	 * it: only a flush says it is stored. */
	CHECK(st.index_files == 0);
	CHECK(cf_packer_flush(pk, &err) == 0);
	cf_packer_stats(pk, &st);
	printf("packer: %llu blobs, %llu packs, %llu index files, %llu of "
	       "%llu bytes stored\n",
	    (unsigned long long)st.blobs, (unsigned long long)st.packs,
	    (unsigned long long)st.index_files,
	    (unsigned long long)st.stored_bytes, (unsigned long long)raw);
	CHECK(st.packs >= 3 && st.index_files == 1);
	/* Flushed blobs are in the index cache, compressed when it paid. */
	for (size_t i = 0; i < NBLOBS; i++) {
		struct cf_loc loc;
		int z = i >= NBIG && i % 3 == 0 && b[i].n >= 64;

		CHECK(!cf_packer_has(pk, b[i].id));
		CHECK(cf_index_lookup(r->index, b[i].id, &loc, &err) == 0 &&
		      loc.e.type == b[i].type && loc.e.rawlen == b[i].n &&
		      !!(loc.e.flags & CF_BLOB_ZSTD) == z);
	}
	/* Nothing left to flush. */
	CHECK(cf_packer_flush(pk, &err) == 0);
	cf_packer_stats(pk, &st);
	CHECK(st.index_files == 1);
	cf_packer_free(pk);
	cf_packer_free(NULL);
}

static void
check_load_all(struct cf_repo *r, const struct blob *b)
{
	struct cf_zc *zc = cf_zc_new(3);
	uint8_t unknown[32];
	struct cf_err err;
	struct cf_buf out;
	size_t bad = 0;

	REQUIRE(zc != NULL);
	cf_buf_init(&out, CF_BLOB_MAX_RAW + (1u << 20));
	for (size_t i = 0; i < NBLOBS; i++) {
		int rc =
		    cf_repo_load_blob(r, b[i].id, b[i].type, zc, &out, &err);

		if (rc != 0 || out.len != b[i].n ||
		    (b[i].n && memcmp(out.p, b[i].p, b[i].n) != 0)) {
			if (bad++ < 3)
				fprintf(stderr, "  blob %zu: rc %d %s\n", i, rc,
				    rc ? err.msg : "content differs");
		}
	}
	CHECK(bad == 0);
	CHECK_ERR(cf_repo_load_blob(r, b[0].id, CF_BLOB_DATA, zc, &out, &err),
	    &err, CF_ENOTFOUND);
	CHECK_ERR(cf_repo_load_blob(r, b[NBIG].id, CF_BLOB_TREE, zc, &out,
	              &err),
	    &err, CF_ENOTFOUND);
	memset(unknown, 0x42, 32);
	CHECK_ERR(cf_repo_load_blob(r, unknown, CF_BLOB_DATA, zc, &out, &err),
	    &err, CF_ENOTFOUND);
	cf_buf_release(&out);
	cf_zc_free(zc);
}

static void
test_snapshots(struct cf_repo *r, const struct blob *b)
{
	static char *paths[] = {"/data"};
	struct cf_snapshot s, *got;
	struct cf_err err;
	char name1[65];

	memset(&s, 0, sizeof(s));
	s.time_ns = 1000;
	s.host = "h";
	s.paths = paths;
	s.npaths = 1;
	memcpy(s.tree, b[0].id, 32);
	REQUIRE(cf_repo_save_snapshot(r, &s, &err) == 0);
	memcpy(name1, s.name, 65);
	s.time_ns = 2000;
	s.files = 7;
	REQUIRE(cf_repo_save_snapshot(r, &s, &err) == 0);
	REQUIRE((got = cf_repo_find_snapshot(r, "latest", &err)) != NULL);
	CHECK(got->time_ns == 2000 && got->files == 7 &&
	      strcmp(got->name, s.name) == 0 &&
	      strcmp(got->paths[0], "/data") == 0);
	cf_snapshot_free(got);
	name1[8] = '\0';
	REQUIRE((got = cf_repo_find_snapshot(r, name1, &err)) != NULL);
	CHECK(got->time_ns == 1000 && memcmp(got->tree, b[0].id, 32) == 0);
	cf_snapshot_free(got);
	err.code = CF_OK;
	CHECK(cf_repo_find_snapshot(r, "0000000000", &err) == NULL &&
	      err.code == CF_ENOTFOUND);
	err.code = CF_OK;
	CHECK(cf_repo_find_snapshot(r, "ab", &err) == NULL &&
	      err.code == CF_EUSAGE);
}

/* A folder whose entries list many chunks is a big tree that does not
 * compress (chunk ids are random): here 2 files of 600000 chunks, 38 MiB,
 * within CF_BLOB_MAX_RAW.  What a backup may store, a restore must load. */
static void
test_big_tree(struct cf_repo *r)
{
	static const size_t nchunks = 600000;
	struct cf_buf tree, scratch;
	struct cf_packer *pk;
	struct cf_tree t;
	struct cf_zc *zc = cf_zc_new(3);
	uint8_t *ids = malloc(nchunks * 32), id[32];
	uint8_t seed[randombytes_SEEDBYTES] = {9};
	struct cf_err err;
	struct cf_node n;

	REQUIRE(zc != NULL && ids != NULL);
	randombytes_buf_deterministic(ids, nchunks * 32, seed);
	cf_buf_init(&tree, CF_BLOB_MAX_RAW);
	cf_buf_init(&scratch, 2 * CF_BLOB_MAX_RAW);
	memset(&n, 0, sizeof(n));
	n.type = CF_NT_FILE;
	n.chunks = ids;
	n.nchunks = nchunks;
	cf_tree_begin(&tree, 2);
	n.name = (const uint8_t *)"a";
	n.namelen = 1;
	cf_tree_add(&tree, &n);
	n.name = (const uint8_t *)"b";
	cf_tree_add(&tree, &n);
	REQUIRE(!tree.failed && tree.len > CF_BLOB_MAX_RAW / 2);
	cf_crypto_chunk_id(r->keys, tree.p, tree.len, id);
	REQUIRE((pk = cf_packer_new(r, &err)) != NULL);
	CHECK(cf_packer_add(pk, CF_BLOB_TREE, id, tree.p, tree.len, zc,
	          &scratch, &err) == 0);
	CHECK(cf_packer_flush(pk, &err) == 0);
	cf_packer_free(pk);
	if (cf_repo_load_tree(r, id, zc, &t, &err) != 0) {
		fprintf(stderr, "  big tree: %s\n", err.msg);
		CHECK(!"a stored tree of 38 MiB loads");
	} else {
		CHECK(t.n == 2 && t.nodes[1].nchunks == nchunks &&
		      memcmp(t.nodes[1].chunks, ids, nchunks * 32) == 0);
		cf_tree_release(&t);
	}
	cf_buf_release(&tree);
	cf_buf_release(&scratch);
	cf_zc_free(zc);
	free(ids);
}

/* Change one byte of blob ${b} where it is stored. */
static void
corrupt_blob(struct cf_repo *r, const char *root, const struct blob *b)
{
	char hex[65], rel[128], path[4200];
	struct cf_loc loc;
	struct cf_err err;
	uint8_t c;
	int fd;

	REQUIRE(cf_index_lookup(r->index, b->id, &loc, &err) == 0);
	cf_hex(hex, loc.pack, 32);
	snprintf(rel, sizeof(rel), "data/%.2s/%s", hex, hex);
	test_join(path, sizeof(path), root, rel);
	REQUIRE((fd = open(path, O_RDWR)) >= 0);
	REQUIRE(pread(fd, &c, 1, (off_t)loc.e.off) == 1);
	c ^= 0x10;
	REQUIRE(pwrite(fd, &c, 1, (off_t)loc.e.off) == 1);
	close(fd);
}

/* Store ${n} bytes of ${content} under ${id} with ${k}'s packer. */
static void
store_as(struct cf_repo *r, struct cf_keys *k, const uint8_t id[32],
    const uint8_t *content, size_t n)
{
	struct cf_keys *own = r->keys;
	struct cf_packer *pk;
	struct cf_buf scratch;
	struct cf_err err;
	struct cf_zc *zc = cf_zc_new(3);

	cf_buf_init(&scratch, 1u << 20);
	r->keys = k;
	REQUIRE(zc != NULL && (pk = cf_packer_new(r, &err)) != NULL);
	REQUIRE(cf_packer_add(pk, CF_BLOB_DATA, id, content, n, zc, &scratch,
	            &err) == 0);
	REQUIRE(cf_packer_flush(pk, &err) == 0);
	cf_packer_free(pk);
	r->keys = own;
	cf_zc_free(zc);
	cf_buf_release(&scratch);
}

/* A blob stored under the id of other content: by a write-only
 * credential's keys, every load hashes it and refuses it, the second load
 * too (the pack key comes from the cache then); by the zone's own keys
 * (only a writer's bug could do it), loads trust the AEAD and only a
 * verifying open (check --read-data) refuses it.  cf_repo_blob_matches
 * tells both apart for prune. */
static void
test_vouched(struct cf_repo *r)
{
	static const uint8_t said[] = "what the id claims", was[] = "junk!!";
	uint8_t idx[1][32], id[32], id2[32], stored[64];
	struct cf_keys *wo;
	struct cf_buf out;
	struct cf_loc loc;
	struct cf_err err;
	int v;

	memcpy(idx[0], r->keys->index, 32);
	REQUIRE((wo = cf_keys_new_writeonly(r->keys->id, r->keys->gear,
	             (const uint8_t(*)[32])idx, 1, r->keys->mac,
	             r->keys->box_pk, &err)) != NULL);
	cf_buf_init(&out, 1u << 20);
	cf_crypto_chunk_id(r->keys, said, sizeof(said), id);
	store_as(r, wo, id, was, sizeof(was));
	REQUIRE(cf_index_lookup(r->index, id, &loc, &err) == 0);
	for (int i = 0; i < 2; i++) {
		v = -1;
		CHECK(cf_repo_pack_key(r, loc.pack, (uint8_t[32]){0}, &v,
		          &err) == 0 &&
		      v == 0);
		CHECK_ERR(cf_repo_load_blob(r, id, CF_BLOB_DATA, NULL, &out,
		              &err),
		    &err, CF_EAUTH);
	}
	/* the write-only keys themselves open nothing */
	{
		uint8_t w[CF_WRAP_BYTES], key[32];

		REQUIRE(cf_crypto_wrap_key(wo, CF_OBJ_PACK, idx[0], w, &err) ==
		        0);
		CHECK_ERR(cf_crypto_unwrap_vouched(wo, CF_OBJ_PACK, w, key, &v,
		              &err),
		    &err, CF_EAUTH);
	}
	cf_keys_free(wo);

	cf_crypto_chunk_id(r->keys, said, sizeof(said) - 1, id2);
	store_as(r, r->keys, id2, was, sizeof(was));
	REQUIRE(cf_index_lookup(r->index, id2, &loc, &err) == 0);
	v = -1;
	CHECK(cf_repo_pack_key(r, loc.pack, (uint8_t[32]){0}, &v, &err) == 0 &&
	      v == 1);
	CHECK(cf_repo_load_blob(r, id2, CF_BLOB_DATA, NULL, &out, &err) == 0 &&
	      out.len == sizeof(was) && memcmp(out.p, was, sizeof(was)) == 0);
	/* raw blob: its stored bytes are the plaintext */
	memcpy(stored, was, sizeof(was));
	CHECK(cf_repo_blob_matches(r, &loc, stored, sizeof(was), NULL, &out,
	          &err) == 0);
	loc.e.rawlen = sizeof(said) - 1;
	memcpy(stored, said, sizeof(said) - 1);
	CHECK(cf_repo_blob_matches(r, &loc, stored, sizeof(said) - 1, NULL,
	          &out, &err) == 1);
	cf_buf_release(&out);
}

static void
test_config(void)
{
	uint8_t cfg[CF_CONFIG_BYTES + 1], id[CF_REPO_ID_BYTES];
	struct cf_err err;

	memcpy(cfg, "CFREPO\0\1", 8);
	cf_le32_put(cfg + 8, CF_REPO_VERSION);
	memset(cfg + 12, 0x33, CF_REPO_ID_BYTES);
	CHECK(cf_config_parse(cfg, CF_CONFIG_BYTES, id, &err) == 0 &&
	      id[0] == 0x33);
	CHECK_ERR(cf_config_parse(cfg, CF_CONFIG_BYTES - 1, id, &err), &err,
	    CF_EFORMAT);
	CHECK_ERR(cf_config_parse(cfg, CF_CONFIG_BYTES + 1, id, &err), &err,
	    CF_EFORMAT);
	cf_le32_put(cfg + 8, CF_REPO_VERSION + 1);
	CHECK_ERR(cf_config_parse(cfg, CF_CONFIG_BYTES, id, &err), &err,
	    CF_EFORMAT);
	cf_le32_put(cfg + 8, CF_REPO_VERSION);
	cfg[0] = 'X';
	CHECK_ERR(cf_config_parse(cfg, CF_CONFIG_BYTES, id, &err), &err,
	    CF_EFORMAT);
}

static int
save_snap(struct cf_repo *r, int64_t t, char name[static 65],
    struct cf_err *err)
{
	static char *paths[] = {"/z"};
	struct cf_snapshot s;

	memset(&s, 0, sizeof(s));
	s.time_ns = t;
	s.host = "h";
	s.paths = paths;
	s.npaths = 1;
	if (cf_repo_save_snapshot(r, &s, err))
		return -1;
	memcpy(name, s.name, 65);
	return 0;
}

static struct cf_repo *
open_zone_at(const char *root, const uint8_t *ak, uint32_t epoch,
    const char *cache)
{
	struct cf_err err;
	struct cf_store *st = cf_store_open(root, 0, &err);
	struct cf_repo *r;

	REQUIRE(st != NULL);
	r = cf_repo_open_zone(st, ak, epoch, cache, &err);
	if (r == NULL)
		fprintf(stderr, "open zone: %s\n", err.msg);
	return r;
}

static int
loads(struct cf_repo *r, const char *name)
{
	struct cf_err err;
	struct cf_snapshot *got = cf_repo_load_snapshot(r, name, &err);

	cf_snapshot_free(got);
	return got != NULL ? 1 : err.code == CF_EAUTH ? 0 : -1;
}

static void
rekey(const char *root, const uint8_t *oak, uint32_t oe, const uint8_t *ak,
    uint32_t e)
{
	struct cf_err err;
	struct cf_store *st = cf_store_open(root, 0, &err);

	REQUIRE(st != NULL);
	REQUIRE(cf_repo_rekey_zone(st, oak, oe, ak, e, &err) == 0);
	cf_store_free(st);
}

/* What a device removed at the second rotation can do: seal a snapshot
 * with its newest version (1) and a cover of that version naming it. */
static void
forge_cover(struct cf_repo *old, const char *name)
{
	struct cf_buf plain, env;
	struct cf_err err;
	uint8_t id[32];
	char obj[65];

	REQUIRE(cf_unhex(id, 32, name) == 0);
	cf_buf_init(&plain, 4096);
	cf_buf_init(&env, 8192);
	cf_cover_encode((uint32_t)old->keys->nold, id, 1, &plain);
	REQUIRE(cf_env_seal(old->keys, CF_OBJ_COVER, plain.p, plain.len, &env,
	            &err) == 0);
	REQUIRE(cf_repo_put_object(old, CF_KIND_META, env.p, env.len, obj,
	            &err) == 0);
	cf_buf_release(&plain);
	cf_buf_release(&env);
}

/* A forget record naming the made-up snapshot ${tag}...; 1 if a reader
 * of ${r} counts it. */
static void
forget_fake(struct cf_repo *r, uint8_t tag)
{
	char names[1][65];
	uint8_t id[32];
	struct cf_err err;

	memset(id, tag, sizeof(id));
	cf_hex(names[0], id, 32);
	REQUIRE(cf_forget_apply(r, names, 1, &err) == 0);
}

static int
forgotten(struct cf_repo *r, uint8_t tag)
{
	struct cf_idset set = {0};
	struct cf_err err;
	uint8_t id[32];
	int has;

	REQUIRE(cf_forget_load(r, &set, &err) == 0);
	memset(id, tag, sizeof(id));
	has = cf_idset_has(&set, id);
	cf_idset_release(&set);
	return has;
}

/* The names in folder ${dir}, into ${v} (at most ${max}). */
static size_t
ls_names(const char *dir, char v[][80], size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	REQUIRE((d = opendir(dir)) != NULL);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && n < max && strlen(de->d_name) < 80)
			memcpy(v[n++], de->d_name, strlen(de->d_name) + 1);
	closedir(d);
	return n;
}

/* The path of the one object of ${dir} not among v[0..n). */
static void
added_path(const char *dir, char v[][80], size_t n, char *out, size_t outsz)
{
	char now[16][80];
	size_t k = ls_names(dir, now, 16), found = 0;

	for (size_t i = 0; i < k; i++) {
		size_t j = 0;

		while (j < n && strcmp(now[i], v[j]) != 0)
			j++;
		if (j == n) {
			snprintf(out, outsz, "%s/%s", dir, now[i]);
			found++;
		}
	}
	REQUIRE(found == 1);
}

static void
test_cover(const char *dir)
{
	uint8_t ak1[32], ak2[32], ak3[32];
	char root[4200], cache[4200], meta[4300], f33[4400], f44[4400];
	char a[65], b[65], c[65], d[65], e[65], before[16][80];
	struct cf_snapshot **v;
	struct cf_repo *r, *old;
	struct cf_store *st;
	struct cf_err err;
	struct dirent *de;
	size_t n;
	DIR *dd;

	test_join(root, sizeof(root), dir, "zone");
	test_join(cache, sizeof(cache), dir, "zcache");
	test_join(meta, sizeof(meta), root, "meta");
	randombytes_buf(ak1, sizeof(ak1));
	randombytes_buf(ak2, sizeof(ak2));
	randombytes_buf(ak3, sizeof(ak3));
	REQUIRE((st = cf_store_open(root, 1, &err)) != NULL);
	REQUIRE(cf_repo_init_zone(st, ak1, 1, &err) == 0);
	REQUIRE((r = open_zone_at(root, ak1, 1, cache)) != NULL);
	REQUIRE(save_snap(r, 1000, a, &err) == 0);
	forget_fake(r, 0x11); /* before the removal: it counts */
	cf_repo_close(r);

	/* First removal: version 2 under the epoch-2 account key.  The
	 * removed device still opens its old slot; its own client stops
	 * before sealing with the retired version, a hostile one does not. */
	rekey(root, ak1, 1, ak2, 2);
	REQUIRE((old = open_zone_at(root, ak1, 1, cache)) != NULL);
	CHECK_ERR(save_snap(old, 2000, b, &err), &err, CF_EAUTH);
	CHECK(strstr(err.msg, "rotated") != NULL);
	old->zone = 0;
	REQUIRE(save_snap(old, 2000, b, &err) == 0);
	forget_fake(old, 0x22); /* after it, by the removed device */
	cf_repo_close(old);
	REQUIRE((r = open_zone_at(root, ak2, 2, cache)) != NULL);
	CHECK(r->keys->nold == 1);
	REQUIRE(save_snap(r, 3000, c, &err) == 0);
	CHECK(loads(r, a) == 1 && loads(r, c) == 1 && loads(r, b) == 0);
	n = ls_names(meta, before, 16);
	forget_fake(r, 0x33);
	added_path(meta, before, n, f33, sizeof(f33));
	CHECK(forgotten(r, 0x11) && !forgotten(r, 0x22) && forgotten(r, 0x33));
	cf_repo_close(r);

	/* Second removal: the cover of version 3 carries the first one's
	 * names forward.  The device it removes holds version 2's trust key:
	 * its snapshot and its own cover of version 2 count for nothing. */
	rekey(root, ak2, 2, ak3, 3);
	REQUIRE((old = open_zone_at(root, ak2, 2, cache)) != NULL);
	old->zone = 0;
	REQUIRE(save_snap(old, 4000, e, &err) == 0);
	forge_cover(old, e);
	forge_cover(old, b);
	n = ls_names(meta, before, 16);
	forget_fake(old, 0x44);
	added_path(meta, before, n, f44, sizeof(f44));
	cf_repo_close(old);
	REQUIRE((r = open_zone_at(root, ak3, 3, cache)) != NULL);
	CHECK(r->keys->nold == 2);
	REQUIRE(save_snap(r, 5000, d, &err) == 0);
	CHECK(loads(r, a) == 1 && loads(r, c) == 1 && loads(r, d) == 1);
	CHECK(loads(r, b) == 0 && loads(r, e) == 0);
	CHECK(forgotten(r, 0x11) && !forgotten(r, 0x22) && forgotten(r, 0x33));
	REQUIRE(cf_repo_snapshots(r, &v, &n, &err) == 0);
	CHECK(n == 3 && r->bad_snapshots == 2 && r->retired_snapshots == 2);
	CHECK(strncmp(r->retired_err.msg, "snapshot ", 9) == 0 &&
	      strstr(r->retired_err.msg, "retired") != NULL);
	cf_snapshots_free(v, n);
	CHECK(!forgotten(r, 0x44));
	/* The server puts the removed device's record in place of a covered
	 * one: the cover names bytes, not a file, so it excuses nothing. */
	CHECK(rename(f44, f33) == 0);
	CHECK(!forgotten(r, 0x44) && !forgotten(r, 0x33) && forgotten(r, 0x11));
	cf_repo_close(r);

	/* Without the covers, the retired versions vouch for nothing. */
	REQUIRE((dd = opendir(meta)) != NULL);
	n = 0;
	while ((de = readdir(dd)) != NULL) {
		char path[4600];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", meta, de->d_name);
		CHECK(unlink(path) == 0);
		n++;
	}
	closedir(dd);
	CHECK(n == 7); /* 2 covers, 2 forged ones, 3 forget records */
	REQUIRE((r = open_zone_at(root, ak3, 3, cache)) != NULL);
	CHECK(loads(r, a) == 0 && loads(r, c) == 0 && loads(r, d) == 1);
	cf_repo_close(r);
}

/* A local store seen as a remote one (reads through the cells of
 * lib/repo/repo.c), counting the cell-shaped reads of packs (aligned
 * offset, at most a cell) and failing them on demand, slowly. */
struct rview {
	struct cf_store base;
	struct cf_store *in;
	pthread_mutex_t mu;
	char seen[256][96]; /* "name@offset" of each cell read */
	int nseen, twice, cellgets, fail;
};

static int
rv_cell(enum cf_kind kind, uint64_t off, uint64_t len)
{
	return kind == CF_KIND_PACK && off % (1u << 20) == 0 &&
	       len <= (1u << 20);
}

static int
rv_get(struct cf_store *s, enum cf_kind kind, const char *name, uint64_t off,
    uint64_t len, struct cf_buf *out, struct cf_err *err)
{
	struct rview *v = (struct rview *)s;
	int fail = 0;

	if (rv_cell(kind, off, len)) {
		char key[96];

		snprintf(key, sizeof(key), "%.60s@%llu", name,
		    (unsigned long long)off);
		pthread_mutex_lock(&v->mu);
		v->cellgets++;
		for (int i = 0; i < v->nseen; i++)
			v->twice += strcmp(v->seen[i], key) == 0;
		if (v->nseen < 256)
			memcpy(v->seen[v->nseen++], key, sizeof(key));
		fail = v->fail;
		pthread_mutex_unlock(&v->mu);
	}
	if (fail) {
		usleep(100 * 1000);
		return cf_err_set(err, CF_ENET, "injected failure");
	}
	return v->in->ops->get(v->in, kind, name, off, len, out, err);
}

static int
rv_size(struct cf_store *s, enum cf_kind kind, const char *name, uint64_t *size,
    struct cf_err *err)
{
	struct rview *v = (struct rview *)s;

	return v->in->ops->size(v->in, kind, name, size, err);
}

static int
rv_list(struct cf_store *s, enum cf_kind kind, cf_list_fn fn, void *arg,
    struct cf_err *err)
{
	struct rview *v = (struct rview *)s;

	return v->in->ops->list(v->in, kind, fn, arg, err);
}

static void
rv_free(struct cf_store *s)
{
	(void)s; /* the test owns it */
}

static const struct cf_store_ops rv_ops = {
    .get = rv_get, .size = rv_size, .list = rv_list, .free = rv_free};

struct reader {
	pthread_t th;
	struct cf_repo *r;
	const struct blob *b;
	size_t only; /* NBLOBS: every data blob, else that one */
	int bad, failed;
};

static void *
read_blobs(void *arg)
{
	struct reader *rd = arg;
	struct cf_zc *zc = cf_zc_new(0);
	struct cf_err err;
	struct cf_buf out;

	cf_buf_init(&out, CF_BLOB_MAX_RAW + (1u << 20));
	for (size_t i = NBIG; i < NBLOBS && zc != NULL; i++) {
		const struct blob *b = &rd->b[i];

		if (rd->only != NBLOBS && i != rd->only)
			continue;
		if (cf_repo_load_blob(rd->r, b->id, b->type, zc, &out, &err))
			rd->failed++;
		else if (out.len != b->n ||
		         (b->n > 0 && memcmp(out.p, b->p, b->n) != 0))
			rd->bad++;
	}
	cf_buf_release(&out);
	cf_zc_free(zc);
	return NULL;
}

static int
run_readers(struct cf_repo *r, const struct blob *b, size_t only, int *bad)
{
	struct reader rd[8];
	int failed = 0;

	*bad = 0;
	for (int t = 0; t < 8; t++) {
		rd[t] = (struct reader){.r = r, .b = b, .only = only};
		REQUIRE(pthread_create(&rd[t].th, NULL, read_blobs, &rd[t]) ==
		        0);
	}
	for (int t = 0; t < 8; t++) {
		pthread_join(rd[t].th, NULL);
		*bad += rd[t].bad;
		failed += rd[t].failed;
	}
	return failed;
}

/* Eight threads read every data blob through the cells at once: right
 * bytes, each cell fetched once.  Then, with the store failing (slowly),
 * eight threads after one blob all fail, and its cell is not fetched
 * once per thread. */
static void
test_remote_reads(const char *root, const char *cache, const struct blob *b)
{
	struct rview v = {
	    .base = {.ops = &rv_ops, .where = "view", .remote = 1}};
	struct cf_repo *r;
	struct cf_err err;
	int bad;

	REQUIRE((v.in = cf_store_open(root, 0, &err)) != NULL);
	pthread_mutex_init(&v.mu, NULL);
	REQUIRE((r = cf_repo_open_store(&v.base, "pw", 2, cache, &err)) !=
	        NULL);
	CHECK(run_readers(r, b, NBLOBS, &bad) == 0 && bad == 0);
	CHECK(v.cellgets > 0 && v.twice == 0);
	cf_repo_close(r);

	v.cellgets = 0;
	v.fail = 1;
	REQUIRE((r = cf_repo_open_store(&v.base, "pw", 2, cache, &err)) !=
	        NULL);
	CHECK(run_readers(r, b, NBIG + 5, &bad) == 8);
	CHECK(v.cellgets >= 1 && v.cellgets <= 2);
	cf_repo_close(r);
	cf_store_free(v.in);
	pthread_mutex_destroy(&v.mu);
}

int
main(void)
{
	static struct blob b[NBLOBS];
	char dir[4096], root[4200], cache1[4200], cache2[4200], slot[65];
	struct cf_repo *r;
	struct cf_err err;

	REQUIRE(cf_crypto_init(&err) == 0);
	REQUIRE(test_tmpdir(dir, sizeof(dir)) == 0);
	test_join(root, sizeof(root), dir, "repo");
	test_join(cache1, sizeof(cache1), dir, "cache1");
	test_join(cache2, sizeof(cache2), dir, "cache2/sub");
	test_config();
	test_cover(dir);
	REQUIRE(cf_repo_init(root, "pw", 2, &fast, "host", &err) == 0);
	CHECK_ERR(cf_repo_init(root, "pw", 2, &fast, "host", &err), &err,
	    CF_EEXIST);
	err.code = CF_OK;
	CHECK(cf_repo_open(root, "wrong", 5, cache1, &err) == NULL &&
	      err.code == CF_EPASS);
	err.code = CF_OK;
	CHECK(cf_repo_open(dir, "pw", 2, cache1, &err) == NULL &&
	      err.code == CF_ENOTFOUND);
	REQUIRE((r = cf_repo_open(root, "pw", 2, cache1, &err)) != NULL);
	make_blobs(r->keys, b);
	test_pack_threads(r, b);
	check_load_all(r, b);
	test_snapshots(r, b);
	test_remote_reads(root, cache1, b);
	test_big_tree(r);
	test_vouched(r);
	REQUIRE(cf_repo_add_key(r, "second", 6, &fast, "h2", slot, &err) == 0);
	CHECK_ERR(cf_repo_remove_key(r, r->slot, &err), &err, CF_EUSAGE);
	cf_repo_close(r);
	cf_repo_close(NULL);

	/* A fresh cache is rebuilt from the index files; the second slot
	 * opens the same zone. */
	REQUIRE((r = cf_repo_open(root, "second", 6, cache2, &err)) != NULL);
	CHECK(strcmp(r->slot, slot) == 0);
	check_load_all(r, b);
	corrupt_blob(r, root, &b[NBIG + 5]);
	{
		struct cf_buf out;

		cf_buf_init(&out, 1u << 20);
		CHECK_ERR(cf_repo_load_blob(r, b[NBIG + 5].id, CF_BLOB_DATA,
		              NULL, &out, &err),
		    &err, CF_EAUTH);
		cf_buf_release(&out);
	}
	cf_repo_close(r);
	/* The first slot still opens it, with the first cache. */
	REQUIRE((r = cf_repo_open(root, "pw", 2, cache1, &err)) != NULL);
	CHECK(strcmp(r->slot, slot) != 0);
	cf_repo_close(r);
	for (size_t i = 0; i < NBLOBS; i++)
		free(b[i].p);
	test_rm_rf(dir);
	return check_done("unit-repo");
}
