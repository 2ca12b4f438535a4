/*
 * gen_corpus.c: write the seed corpora of the fuzz harnesses with the real
 * encoders and the fixed secrets of common.c, so that fuzzing starts from
 * inputs that decrypt and decode.  Built, not run, by the build:
 *     build/fuzz/gen-corpus fuzz/corpus
 * (the fuzz-gen-corpus test runs it into the build directory).  Randomness
 * (pack keys, nonces, salts) comes from a seeded generator, so every run
 * writes the same bytes but for the creation time inside the key slots.
 * Every seed is checked with its decoder before it is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "account/chain.h"
#include "account/pake.h"
#include "account/recovery.h"
#include "compress/compress.h"
#include "index/index.h"
#include "pack/pack.h"
#include "proto/proto.h"
#include "repo/keyslot.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "tree/tree.h"

#include "common.h"

#define SEED_MAX (4u << 20)
#define NAME_MAX_LEN 4096
/* pack.h: the header is sealed under nonce 2^64-1. */
#define PACK_HEADER_NONCE UINT64_MAX

struct gen {
	const char *root;
	const struct cf_keys *keys;
	struct cf_zc *zc;
};

struct pack {
	uint8_t *p;
	size_t n;
	char name[65];
	struct cf_blobent *ents;
	size_t nents;
	uint8_t key[CF_KEY_BYTES];
};

static uint64_t rng_calls; /* the deterministic generator's state */

static const char *
rng_name(void)
{
	return "coffer-fuzz-seeded";
}

static void
rng_buf(void *buf, size_t n)
{
	uint8_t seed[randombytes_SEEDBYTES] = {0};

	cf_le64_put(seed, rng_calls++);
	randombytes_buf_deterministic(buf, n, seed);
}

static uint32_t
rng_random(void)
{
	uint32_t v;

	rng_buf(&v, sizeof(v));
	return v;
}

static struct randombytes_implementation rng = {
    .implementation_name = rng_name,
    .random = rng_random,
    .buf = rng_buf,
};

_Noreturn static void
die(const char *what, const struct cf_err *err)
{
	fprintf(stderr, "gen-corpus: %s%s%s\n", what, err ? ": " : "",
	    err ? err->msg : "");
	exit(1);
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		die(path, NULL);
}

/** put(g, target, name, b): write ${b} as corpus/target/seed-name and
 * release it. */
static void
put(const struct gen *g, const char *target, const char *name, struct cf_buf *b)
{
	char path[NAME_MAX_LEN];
	FILE *f;

	if (b->failed)
		die("a seed does not encode", NULL);
	snprintf(path, sizeof(path), "%s/%s", g->root, target);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", g->root, target, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    (b->len > 0 && fwrite(b->p, 1, b->len, f) != b->len) ||
	    fclose(f) != 0)
		die(path, NULL);
	cf_buf_release(b);
}

static void
gen_config(const struct gen *g)
{
	static const uint8_t magic[8] = {'C', 'F', 'R', 'E', 'P', 'O', 0, 1};
	uint8_t id[CF_REPO_ID_BYTES];
	struct cf_err err;
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add(&b, magic, sizeof(magic));
	cf_buf_add_u32(&b, CF_REPO_VERSION);
	cf_buf_add(&b, fuzz_repo_id, CF_REPO_ID_BYTES);
	if (cf_config_parse(b.p, b.len, id, &err) != 0)
		die("config", &err);
	put(g, "config", "valid", &b);
}

static void
slot(const struct gen *g, const uint8_t id[static CF_REPO_ID_BYTES],
    uint64_t ops, const char *name)
{
	struct cf_kdf kdf = {ops, CF_KDF_MIN_MEM};
	uint8_t zone[CF_KEY_BYTES];
	struct cf_slotinfo info;
	struct cf_err err;
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	if (cf_keyslot_seal(fuzz_zone, id, FUZZ_PASSWORD, strlen(FUZZ_PASSWORD),
	        &kdf, "fuzz-host", &b, &err) != 0 ||
	    cf_keyslot_open(b.p, b.len, id, FUZZ_PASSWORD,
	        strlen(FUZZ_PASSWORD), zone, &info, &err) != 0)
		die("key slot", &err);
	put(g, "keyslot", name, &b);
}

static void
gen_keyslot(const struct gen *g)
{
	static const uint8_t other[CF_REPO_ID_BYTES] = {'a', 'n', 'o', 't', 'h',
	    'e', 'r', '-', 'r', 'e', 'p', 'o', 's', 'i', 't', 'o'};

	slot(g, fuzz_repo_id, 1, "opens");
	slot(g, other, 1, "other-repo");
	slot(g, fuzz_repo_id, 2, "two-passes");
}

static void
xattrs_sample(struct cf_buf *b)
{
	cf_buf_add_uvar(b, 2);
	cf_buf_add_str(b, "user.comment");
	cf_buf_add_str(b, "made by gen-corpus");
	cf_buf_add_str(b, "user.mime_type");
	cf_buf_add_str(b, "text/plain");
}

static void
node(struct cf_node *n, uint8_t type, const char *name)
{
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->name = (const uint8_t *)name;
	n->namelen = strlen(name);
	n->mode = type == CF_NT_DIR ? 0755 : 0644;
	n->uid = n->gid = 1000;
	n->mtime_s = 1700000000;
	n->mtime_ns = 123456789;
	n->ctime_s = -1;
	n->atime_s = 1700000001;
	n->ino = 4242;
	n->dev = 2049;
	n->nlink = 1;
}

/** tree_sample(b, xa): a folder with one entry of most types. */
static void
tree_sample(struct cf_buf *b, const struct cf_buf *xa)
{
	static const uint8_t chunks[64] = {1, 2, 3, [32] = 4, 5, 6};
	struct cf_node v[5];

	node(&v[0], CF_NT_DIR, "a-dir");
	memset(v[0].subtree, 0x11, 32);
	node(&v[1], CF_NT_FILE, "b-file");
	v[1].size = 12345;
	v[1].chunks = chunks;
	v[1].nchunks = 2;
	v[1].xattrs = xa->p;
	v[1].xattrslen = xa->len;
	node(&v[2], CF_NT_SYMLINK, "c-link");
	v[2].target = (const uint8_t *)"../b-file";
	v[2].targetlen = 9;
	node(&v[3], CF_NT_FIFO, "d-fifo");
	node(&v[4], CF_NT_CHR, "e-tty");
	v[4].rdev = 0x0405;
	cf_tree_begin(b, 5);
	for (size_t i = 0; i < 5; i++)
		cf_tree_add(b, &v[i]);
}

static void
put_tree(const struct gen *g, const char *name, struct cf_buf *b)
{
	struct cf_node *v;
	struct cf_err err;
	size_t n;

	if (cf_tree_decode(b->p, b->len, &v, &n, &err) != 0)
		die("tree", &err);
	free(v);
	put(g, "tree", name, b);
}

static void
gen_tree(const struct gen *g)
{
	struct cf_buf xa, b;

	cf_buf_init(&xa, SEED_MAX);
	xattrs_sample(&xa);
	cf_buf_init(&b, SEED_MAX);
	tree_sample(&b, &xa);
	put_tree(g, "folder", &b);
	cf_buf_init(&b, SEED_MAX);
	cf_tree_begin(&b, 0);
	put_tree(g, "empty", &b);
	put(g, "xattrs", "two", &xa);
	cf_buf_init(&xa, SEED_MAX);
	cf_buf_add_uvar(&xa, 0);
	put(g, "xattrs", "none", &xa);
}

/** snapshot_sample(b, parent): a snapshot record, with a parent or not. */
static void
snapshot_sample(struct cf_buf *b, int parent)
{
	static char p0[] = "/home/fuzz", p1[] = "/etc", t0[] = "daily";
	char *paths[] = {p0, p1}, *tags[] = {t0};
	struct cf_snapshot s = {0};

	s.time_ns = 1700000000123456789;
	s.host = "fuzz-host";
	s.user = "fuzz";
	s.version = "0.1.0";
	s.paths = paths;
	s.npaths = parent ? 2 : 0;
	s.tags = tags;
	s.ntags = parent ? 1 : 0;
	s.has_parent = parent;
	memset(s.parent, 0xaa, 32);
	memset(s.tree, 0xbb, 32);
	s.files = 1000;
	s.dirs = 100;
	s.bytes = 1u << 30;
	s.new_bytes = 12345;
	s.unreadable = parent ? 0 : 2;
	cf_snapshot_encode(&s, b);
}

static void
put_snapshot(const struct gen *g, const char *name, int parent)
{
	struct cf_snapshot *s;
	struct cf_err err;
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	snapshot_sample(&b, parent);
	if ((s = cf_snapshot_decode(b.p, b.len, &err)) == NULL)
		die("snapshot", &err);
	cf_snapshot_free(s);
	put(g, "snapshot", name, &b);
}

/** text(b, n): ${n} bytes of compressible text. */
static void
text(struct cf_buf *b, size_t n)
{
	static const char line[] = "the quick brown fox jumps over the lazy "
	                           "dog, again and again\n";

	for (size_t i = 0; i < n; i++)
		cf_buf_add_u8(b, (uint8_t)line[i % (sizeof(line) - 1)]);
}

static void
put_frame(const struct gen *g, uint8_t mode, const char *name)
{
	struct cf_buf raw, z, b;
	struct cf_err err;
	uint8_t *out;

	cf_buf_init(&raw, SEED_MAX);
	cf_buf_init(&z, SEED_MAX);
	cf_buf_init(&b, SEED_MAX);
	text(&raw, 3000);
	if (cf_zc_compress(g->zc, raw.p, raw.len, &z) != 1)
		die("zstd does not compress text", NULL);
	out = fuzz_alloc(raw.len);
	if (cf_zc_decompress(NULL, z.p, z.len, out, raw.len, &err) != 0)
		die("zstd", &err);
	free(out);
	cf_buf_add_u8(&b, mode);
	cf_buf_add_u32(&b, (uint32_t)raw.len);
	cf_buf_add(&b, z.p, z.len);
	put(g, "zstd", name, &b);
	cf_buf_release(&raw);
	cf_buf_release(&z);
}

static void
gen_zstd(const struct gen *g)
{
	put_frame(g, 0, "one-off");
	put_frame(g, 1, "context");
}

static void
add_blob(const struct gen *g, struct cf_packw *w, uint8_t type,
    struct cf_buf *plain)
{
	uint8_t id[CF_ID_BYTES];
	struct cf_err err;
	struct cf_buf z;
	int zst;

	cf_crypto_chunk_id(g->keys, plain->p, plain->len, id);
	cf_buf_init(&z, SEED_MAX);
	zst = cf_zc_compress(g->zc, plain->p, plain->len, &z);
	if (cf_packw_add(w, type, id, zst ? CF_BLOB_ZSTD : 0,
	        (uint32_t)plain->len, zst ? z.p : plain->p,
	        zst ? z.len : plain->len, &err) != 0)
		die("pack", &err);
	cf_buf_release(&z);
	cf_buf_release(plain);
}

/** fill_pack(g, w, nblobs): 0 to 3 blobs: raw data, zstd data, a tree. */
static void
fill_pack(const struct gen *g, struct cf_packw *w, int nblobs)
{
	struct cf_buf b, xa;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add_str(&b, "hello, coffer\n");
	if (nblobs > 0)
		add_blob(g, w, CF_BLOB_DATA, &b);
	cf_buf_release(&b);
	text(&b, 3000);
	if (nblobs > 1)
		add_blob(g, w, CF_BLOB_DATA, &b);
	cf_buf_release(&b);
	cf_buf_init(&xa, SEED_MAX);
	xattrs_sample(&xa);
	tree_sample(&b, &xa);
	if (nblobs > 2)
		add_blob(g, w, CF_BLOB_TREE, &b);
	cf_buf_release(&b);
	cf_buf_release(&xa);
}

/** make_pack(g, nblobs, pk): a finished pack, its key and entries read
 * back through the decoders. */
static void
make_pack(const struct gen *g, int nblobs, struct pack *pk)
{
	const uint8_t *foot;
	struct cf_blobent *ents;
	struct cf_packw *w;
	struct cf_err err;
	uint64_t hoff;
	uint32_t hlen;

	if ((w = cf_packw_new(g->keys, &err)) == NULL)
		die("pack", &err);
	fill_pack(g, w, nblobs);
	if (cf_packw_finish(w, pk->name, &pk->p, &pk->n, &ents, &pk->nents,
	        &err) != 0)
		die("pack", &err);
	free(ents);
	cf_packw_free(w);
	foot = pk->p + pk->n - CF_PACK_FOOTER_BYTES;
	if (cf_pack_footer_open(g->keys, foot, pk->n, pk->key, &hoff, &hlen,
	        &err) != 0 ||
	    cf_pack_header_open(pk->key, foot, pk->p + hoff, hlen, hoff,
	        &pk->ents, &pk->nents, &err) != 0)
		die("pack read back", &err);
}

static void
put_footer(const struct gen *g, const struct pack *pk, const char *name)
{
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add_u64(&b, pk->n);
	cf_buf_add(&b, pk->p + pk->n - CF_PACK_FOOTER_BYTES,
	    CF_PACK_FOOTER_BYTES);
	put(g, "pack_footer", name, &b);
}

/** put_header(g, pk, name): the plaintext header, opened as
 * cf_pack_header_open does (pack.h: nonce 2^64-1, AD = the wrap). */
static void
put_header(const struct gen *g, const struct pack *pk, const char *name)
{
	const uint8_t *foot = pk->p + pk->n - CF_PACK_FOOTER_BYTES;
	uint8_t nonce[CF_NONCE_BYTES], key[CF_KEY_BYTES];
	uint64_t hoff;
	uint32_t hlen;
	struct cf_err err;
	struct cf_buf b;

	if (cf_pack_footer_open(g->keys, foot, pk->n, key, &hoff, &hlen,
	        &err) != 0)
		die("pack footer", &err);
	cf_buf_init(&b, SEED_MAX);
	cf_buf_add_u64(&b, hoff);
	if (cf_buf_reserve(&b, hlen))
		die("pack header", NULL);
	cf_crypto_nonce(nonce, PACK_HEADER_NONCE);
	if (cf_aead_open(b.p + b.len, pk->p + hoff, hlen, foot, CF_WRAP_BYTES,
	        nonce, key) != 0)
		die("pack header does not open", NULL);
	b.len += hlen - CF_TAG_BYTES;
	put(g, "pack_header", name, &b);
}

static void
put_blobs(const struct gen *g, const struct pack *pk, const char *name)
{
	char seed[64];
	struct cf_buf b;

	for (size_t i = 0; i < pk->nents; i++) {
		const struct cf_blobent *e = &pk->ents[i];

		cf_buf_init(&b, SEED_MAX);
		cf_buf_add(&b, pk->key, CF_KEY_BYTES);
		cf_buf_add_u8(&b, e->type);
		cf_buf_add_u8(&b, e->flags);
		cf_buf_add_u32(&b, e->rawlen);
		cf_buf_add_u64(&b, e->seq);
		cf_buf_add(&b, e->id, CF_ID_BYTES);
		cf_buf_add(&b, pk->p + e->off, e->len);
		snprintf(seed, sizeof(seed), "%s-%zu", name, i);
		put(g, "pack_blob", seed, &b);
	}
}

static void
put_pack(const struct gen *g, const struct pack *pk, const char *name)
{
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add(&b, pk->p, pk->n);
	put(g, "pack", name, &b);
	put_footer(g, pk, name);
	put_header(g, pk, name);
	put_blobs(g, pk, name);
}

static void
free_pack(struct pack *pk)
{
	free(pk->p);
	free(pk->ents);
}

/** index_sample(pk, n, b): the index file of ${n} packs. */
static void
index_sample(const struct pack *pk, size_t n, struct cf_buf *b)
{
	struct cf_loc locs[8];
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < pk[i].nents && k < 8; j++, k++) {
			if (cf_unhex(locs[k].pack, 32, pk[i].name) != 0)
				die("pack name", NULL);
			locs[k].e = pk[i].ents[j];
		}
	cf_indexfile_encode(locs, k, b);
}

static void
put_index(const struct gen *g, const struct pack *pk, size_t n,
    const char *name)
{
	struct cf_loc *locs;
	struct cf_err err;
	struct cf_buf b;
	size_t nlocs;

	cf_buf_init(&b, SEED_MAX);
	index_sample(pk, n, &b);
	if (cf_indexfile_decode(b.p, b.len, &locs, &nlocs, &err) != 0)
		die("index file", &err);
	free(locs);
	put(g, "indexfile", name, &b);
}

/** put_sealed(g, sym, type, plain, name): ${plain} in an envelope
 * (cf_sym_seal under the index key if ${sym}, else cf_env_seal), behind
 * the type byte the env and sym harnesses read; releases ${plain}. */
static void
put_sealed(const struct gen *g, int sym, enum cf_objtype type,
    struct cf_buf *plain, const char *name)
{
	const uint8_t *ik = g->keys->index;
	struct cf_err err;
	uint8_t *out = NULL;
	struct cf_buf b;
	size_t n = 0;
	int rc;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add_u8(&b, (uint8_t)(type - 1));
	if (sym)
		rc = cf_sym_seal(ik, type, plain->p, plain->len, &b, &err) ||
		     cf_sym_open(ik, type, b.p + 1, b.len - 1, &out, &n, &err);
	else
		rc = cf_env_seal(g->keys, type, plain->p, plain->len, &b,
		         &err) ||
		     cf_env_open(g->keys, type, b.p + 1, b.len - 1, &out, &n,
		         &err);
	if (rc != 0 || n != plain->len)
		die("envelope", &err);
	free(out);
	cf_buf_release(plain);
	put(g, sym ? "sym" : "env", name, &b);
}

/** put_plain(g, target, type, plain, name): the plaintext of an envelope
 * (u32le length, object, zero padding as cf_env_seal pads), for the sealing
 * mode of the env and sym harnesses; releases ${plain}. */
static void
put_plain(const struct gen *g, const char *target, enum cf_objtype type,
    struct cf_buf *plain, const char *name)
{
	size_t pad = (size_t)cf_padme(plain->len + 4) - (plain->len + 4);
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add_u8(&b, (uint8_t)(0x80 | (type - 1)));
	cf_buf_add_u32(&b, (uint32_t)plain->len);
	cf_buf_add(&b, plain->p, plain->len);
	for (size_t i = 0; i < pad; i++)
		cf_buf_add_u8(&b, 0);
	cf_buf_release(plain);
	put(g, target, name, &b);
}

static void
gen_sealed(const struct gen *g)
{
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	snapshot_sample(&b, 1);
	put_sealed(g, 0, CF_OBJ_SNAPSHOT, &b, "snapshot");
	snapshot_sample(&b, 0);
	put_sealed(g, 1, CF_OBJ_SNAPSHOT, &b, "snapshot-type");
	cf_buf_add_str(&b, "hello");
	put_sealed(g, 0, CF_OBJ_PACK, &b, "pack-type");
	put_sealed(g, 0, CF_OBJ_INDEX, &b, "empty");
	put_sealed(g, 1, CF_OBJ_INDEX, &b, "empty");
	snapshot_sample(&b, 1);
	put_plain(g, "env", CF_OBJ_SNAPSHOT, &b, "plain-snapshot");
}

static void
gen_packs(const struct gen *g)
{
	static const char *const names[] = {"empty", "one-blob", "three-blobs"};
	static const int nblobs[] = {0, 1, 3};
	struct pack pk[3];
	struct cf_buf b;

	for (int i = 0; i < 3; i++) {
		make_pack(g, nblobs[i], &pk[i]);
		put_pack(g, &pk[i], names[i]);
	}
	put_index(g, pk + 1, 2, "two-packs");
	put_index(g, pk, 1, "empty");
	cf_buf_init(&b, SEED_MAX);
	index_sample(pk + 1, 2, &b);
	put_sealed(g, 1, CF_OBJ_INDEX, &b, "index");
	index_sample(pk + 1, 2, &b);
	put_plain(g, "sym", CF_OBJ_INDEX, &b, "plain-index");
	for (int i = 0; i < 3; i++)
		free_pack(&pk[i]);
}

static void
put_args(const struct gen *g, const char *args, size_t n, const char *name)
{
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	cf_buf_add(&b, args, n);
	put(g, "argv", name, &b);
}

/* Arguments as the argv harness reads them: a table byte, then NUL-separated
 * arguments (tables: 0 backup, 1 restore, 2 key add, 3 ls, 4 none). */
#define ARGS(s) s, sizeof(s) - 1

static void
gen_argv(const struct gen *g)
{
	put_args(g,
	    ARGS("\0/home\0--exclude\0*.o\0-e\0tmp\0--tag=daily\0"
	         "--repo\0/srv/repo\0--force\0--threads\0"
	         "4\0--\0-not-an-option"),
	    "backup");
	put_args(g,
	    ARGS("\1latest:/etc\0-t\0/tmp/out\0--include=*.conf\0"
	         "--no-owner\0-q\0--json\0--password-file=/p"),
	    "restore");
	put_args(g,
	    ARGS("\2add\0--new-password-file\0/p2\0--kdf-memory\0"
	         "64\0--kdf-ops=3\0--cache-dir\0/c"),
	    "key-add");
	put_args(g, ARGS("\3-l\0abcd:/x\0-r\0/repo"), "ls");
	put_args(g, ARGS("\4--unknown\0-\0--json=1"), "errors");
}

static void
put_str(const struct gen *g, const char *target, uint64_t prefix,
    int has_prefix, const char *s, const char *name)
{
	struct cf_buf b;

	cf_buf_init(&b, SEED_MAX);
	if (has_prefix)
		cf_buf_add_u64(&b, prefix);
	cf_buf_add(&b, s, strlen(s));
	put(g, target, name, &b);
}

static void
gen_routes(const struct gen *g)
{
	static const char *const paths[][2] = {{"/healthz", "health"},
	    {"/metrics", "metrics"}, {"/v1/register", "register"},
	    {FUZZ_URI, "config"},
	    {"/v1/r/fuzz/o/data/00112233445566778899aabbccddeeff00112233445566"
	     "778899aabbccddeeff",
	        "pack"},
	    {"/v1/r/fuzz/o/snapshots/", "list"},
	    {"/v1/r/fuzz/ref/main", "ref"}};
	struct cf_route r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (cf_proto_route(paths[i][0], &r) != 0)
			die(paths[i][0], NULL);
		put_str(g, "proto_route", 0, 0, paths[i][0], paths[i][1]);
	}
}

static void
gen_auth(const struct gen *g)
{
	uint8_t pk[CF_SIGN_PK_BYTES], sk[CF_SIGN_SK_BYTES];
	char h[CF_PROTO_AUTH_MAX + 1], bodyhash[65];
	struct cf_auth a;

	fuzz_device_key(0, pk, sk);
	cf_proto_body_hash(NULL, 0, bodyhash);
	if (cf_proto_sign(sk, FUZZ_METHOD, FUZZ_URI, FUZZ_SIGN_TS, bodyhash, h,
	        sizeof(h)) != 0 ||
	    cf_proto_auth_parse(h, &a) != 0 ||
	    cf_proto_auth_verify(&a, FUZZ_METHOD, FUZZ_URI, bodyhash) != 0)
		die("signed request does not verify", NULL);
	put_str(g, "proto_auth", 0, 0, h, "signed");
}

static void
gen_proto(const struct gen *g)
{
	gen_routes(g);
	gen_auth(g);
	put_str(g, "proto_range", 1000, 1, "bytes=0-99", "closed");
	put_str(g, "proto_range", 1000, 1, "bytes=500-", "open");
	put_str(g, "proto_range", 0, 1, "bytes=0-", "empty-object");
	put_str(g, "proto_list", 0, 0,
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff "
	    "123\n"
	    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 "
	    "0\n",
	    "two");
}

/** rec(r, seq, prev, type, epoch, role, subject, name): an unsigned chain
 * record about fuzz device ${subject}, without wraps, committing to an
 * account key made of the epoch's number. */
static void
rec(struct cf_record *r, uint64_t seq, const uint8_t prev[32], uint8_t type,
    uint32_t epoch, uint8_t role, unsigned subject, const char *name)
{
	uint8_t sk[64], ak[32];

	memset(r, 0, sizeof(*r));
	r->seq = seq;
	memcpy(r->prev, prev, 32);
	r->type = type;
	r->time = 1700000000 + (int64_t)seq;
	r->epoch = epoch;
	r->subject.role = role;
	fuzz_device_key(subject, r->subject.ed, sk);
	memset(r->subject.x, 0x40 + (int)subject, 32);
	snprintf(r->subject.name, sizeof(r->subject.name), "%s", name);
	memset(ak, (int)epoch, sizeof(ak));
	cf_ak_commit(ak, r->ak_commit);
}

static void
wrap(struct cf_record *r, unsigned member)
{
	uint8_t sk[64];

	fuzz_device_key(member, r->wraps[r->nwraps].member, sk);
	memset(r->wraps[r->nwraps].object, 0x80 + (int)member, 32);
	r->nwraps++;
}

/** sign_rec(r, signer, raw, form, c): encode ${r} signed by ${signer},
 * apply it to ${c}, add it to both seed forms; returns its name in prev. */
static void
sign_rec(struct cf_record *r, unsigned signer, struct cf_buf *raw,
    struct cf_buf *form, struct cf_chain *c, uint8_t prev[32])
{
	struct cf_record back;
	struct cf_err err;
	uint8_t sk[64];
	struct cf_buf b;

	fuzz_device_key(signer, r->signer, sk);
	cf_buf_init(&b, SEED_MAX);
	if (cf_record_encode(r, sk, &b, &err) != 0 ||
	    cf_record_decode(b.p, b.len, &back, &err) != 0)
		die("chain record", &err);
	cf_record_name(b.p, b.len, prev);
	if (cf_chain_apply(c, &back, prev, &err) != 0)
		die("chain record", &err);
	cf_buf_add_u8(raw, (uint8_t)b.len);
	cf_buf_add_u8(raw, (uint8_t)(b.len >> 8));
	cf_buf_add(raw, b.p, b.len);
	cf_buf_add_u8(form, (uint8_t)(b.len - 96 + 1));
	cf_buf_add_u8(form, (uint8_t)((b.len - 96 + 1) >> 8));
	cf_buf_add_u8(form, (uint8_t)signer);
	cf_buf_add(form, b.p, b.len - 96);
	cf_buf_release(&b);
}

/** gen_chain(g): genesis by device 0, add recovery 1 (by 0), device 2 (by
 * 1), write-only 3 (by 2), remove 2 (by 0, epoch 2); stored and in the
 * harness's own-signing form. */
static void
gen_chain(const struct gen *g)
{
	struct cf_record *r = (struct cf_record *)fuzz_alloc(sizeof(*r));
	struct cf_chain *c = (struct cf_chain *)fuzz_alloc(sizeof(*c));
	uint8_t prev[32] = {0};
	struct cf_buf raw, form;

	cf_chain_init(c);
	cf_buf_init(&raw, SEED_MAX);
	cf_buf_init(&form, SEED_MAX);
	cf_buf_add_u8(&raw, 0);
	cf_buf_add_u8(&form, 1);
	rec(r, 0, prev, CF_REC_GENESIS, 1, CF_ROLE_DEVICE, 0, "laptop");
	wrap(r, 0);
	sign_rec(r, 0, &raw, &form, c, prev);
	rec(r, 1, prev, CF_REC_ADD, 1, CF_ROLE_RECOVERY, 1, "recovery");
	wrap(r, 1);
	sign_rec(r, 0, &raw, &form, c, prev);
	rec(r, 2, prev, CF_REC_ADD, 1, CF_ROLE_DEVICE, 2, "phone");
	wrap(r, 2);
	sign_rec(r, 1, &raw, &form, c, prev);
	rec(r, 3, prev, CF_REC_ADD, 1, CF_ROLE_WRITEONLY, 3, "server");
	sign_rec(r, 2, &raw, &form, c, prev);
	rec(r, 4, prev, CF_REC_REMOVE, 2, CF_ROLE_DEVICE, 2, "phone");
	wrap(r, 0);
	wrap(r, 1);
	sign_rec(r, 0, &raw, &form, c, prev);
	put(g, "chain", "five-records", &raw);
	put(g, "chain", "five-records-self-signed", &form);
	free(r);
	free(c);
}

static void
gen_account(const struct gen *g)
{
	static const uint8_t secret[CF_RECOVERY_BYTES] = {
	    0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	char text[CF_RECOVERY_TEXT];
	struct cf_pake p;
	struct cf_err err;
	struct cf_buf b;

	gen_chain(g);
	cf_recovery_encode(secret, text);
	put_str(g, "recovery", 0, 0, text, "written");
	for (char *s = text; *s; s++)
		*s = *s == '-' ? ' ' : (char)(*s | 0x20);
	put_str(g, "recovery", 0, 0, text, "typed");
	if (cf_pake_start(&p, (const uint8_t *)"gen", 3, "1234", 4, &err) != 0)
		die("pake", &err);
	for (uint8_t role = 0; role < 2; role++) {
		cf_buf_init(&b, SEED_MAX);
		cf_buf_add_u8(&b, role);
		cf_buf_add(&b, p.Y, 32);
		put(g, "pake", role ? "initiator" : "responder", &b);
	}
}

/** gen_cover(g): cover records with no name and with two, each checked
 * by the parser. */
static void
gen_cover(const struct gen *g)
{
	static const char *const names[] = {"empty", "two"};
	uint8_t ids[64];
	const uint8_t *got;
	struct cf_err err;
	struct cf_buf b;
	uint64_t count;
	uint32_t ver;

	for (size_t i = 0; i < sizeof(ids); i++)
		ids[i] = (uint8_t)(i * 7 + 1);
	for (uint64_t n = 0; n < 2; n++) {
		cf_buf_init(&b, SEED_MAX);
		cf_cover_encode((uint32_t)(n + 1), ids, n * 2, &b);
		if (cf_cover_parse(b.p, b.len, &ver, &got, &count, &err) != 0 ||
		    ver != n + 1 || count != n * 2)
			die("cover record", &err);
		put(g, "cover", names[n], &b);
	}
}

static void
gen_pure(const struct gen *g)
{
	gen_config(g);
	gen_keyslot(g);
	gen_tree(g);
	put_snapshot(g, "full", 1);
	put_snapshot(g, "minimal", 0);
	gen_zstd(g);
	gen_argv(g);
	gen_cover(g);
}

int
main(int argc, char **argv)
{
	struct gen g;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	/* Before sodium_init(), which fuzz_keys() calls. */
	if (randombytes_set_implementation(&rng) != 0)
		die("cannot seed the generator", NULL);
	g.root = argv[1];
	g.keys = fuzz_keys();
	if ((g.zc = cf_zc_new(3)) == NULL)
		die("out of memory", NULL);
	make_dir(g.root);
	gen_pure(&g);
	gen_packs(&g);
	gen_sealed(&g);
	gen_proto(&g); /* late: its nonces would shift the packs' bytes */
	gen_account(&g);
	cf_zc_free(g.zc);
	return 0;
}
