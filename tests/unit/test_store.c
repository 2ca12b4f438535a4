/*
 * test_store.c: lib/store/store.h, the local folder store in a temporary
 * folder: create (and refusal of a non-empty folder), put, get of whole
 * objects and ranges, size, list (stray files ignored, early stop), del,
 * CF_PUT_EXCL, missing objects (CF_ENOTFOUND), invalid names and kinds
 * refused (CF_EUSAGE) before touching the disk, and reads past the end of
 * an object (CF_EFORMAT).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "store/store.h"

#include "check.h"

static void
name_of(char name[65], uint8_t v)
{
	uint8_t id[32];

	memset(id, v, 32);
	cf_hex(name, id, 32);
}

struct listing {
	char names[8][65];
	uint64_t sizes[8];
	size_t n, stop_after;
};

static int
on_obj(void *arg, const char *name, uint64_t size)
{
	struct listing *l = arg;

	REQUIRE(l->n < 8 && strlen(name) == 64);
	memcpy(l->names[l->n], name, 65);
	l->sizes[l->n++] = size;
	return l->n == l->stop_after ? 5 : 0;
}

static int
listed(const struct listing *l, const char *name, uint64_t size)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return l->sizes[i] == size;
	return 0;
}

static void
test_names(void)
{
	char ok[65], upper[65];

	name_of(ok, 0xab);
	memcpy(upper, ok, 65);
	upper[10] = 'A';
	CHECK(cf_store_name_ok(CF_KIND_PACK, ok));
	CHECK(cf_store_name_ok(CF_KIND_KEY, ok));
	CHECK(cf_store_name_ok(CF_KIND_SNAPSHOT, ok));
	CHECK(cf_store_name_ok(CF_KIND_CONFIG, "config"));
	CHECK(!cf_store_name_ok(CF_KIND_CONFIG, ok));
	CHECK(!cf_store_name_ok(CF_KIND_PACK, "config"));
	CHECK(!cf_store_name_ok(CF_KIND_PACK, upper));
	CHECK(!cf_store_name_ok(CF_KIND_PACK, "../x"));
	CHECK(!cf_store_name_ok(CF_KIND_PACK, ""));
	CHECK(!cf_store_name_ok(CF_KIND_PACK, NULL));
	CHECK(!cf_store_name_ok(CF_KIND_COUNT, ok));
	CHECK(!cf_store_name_ok((enum cf_kind) - 1, ok));
	ok[63] = '\0'; /* 63 digits */
	CHECK(!cf_store_name_ok(CF_KIND_PACK, ok));
	ok[63] = 'b';
	{
		char longer[67];

		memcpy(longer, ok, 64);
		strcpy(longer + 64, "b");
		CHECK(!cf_store_name_ok(CF_KIND_PACK, longer));
		longer[64] = '/';
		CHECK(!cf_store_name_ok(CF_KIND_PACK, longer));
	}
	ok[0] = 'g';
	CHECK(!cf_store_name_ok(CF_KIND_PACK, ok));
	ok[0] = '.';
	CHECK(!cf_store_name_ok(CF_KIND_PACK, ok));
	CHECK(strcmp(cf_store_kind_name(CF_KIND_PACK), "data") == 0);
	CHECK(strcmp(cf_store_kind_name(CF_KIND_SNAPSHOT), "snapshots") == 0);
	CHECK(strcmp(cf_store_kind_name(CF_KIND_COUNT), "?") == 0);
}

static void
test_open(const char *dir)
{
	char path[4200];
	struct cf_store *s;
	struct cf_err err;
	struct stat st;

	test_join(path, sizeof(path), dir, "missing");
	err.code = CF_OK;
	CHECK(cf_store_open(path, 0, &err) == NULL && err.code == CF_ENOTFOUND);
	/* A non-empty folder is not made a repository. */
	test_join(path, sizeof(path), dir, "full");
	REQUIRE(mkdir(path, 0700) == 0);
	test_join(path, sizeof(path), dir, "full/file");
	REQUIRE(close(open(path, O_CREAT | O_WRONLY, 0600)) == 0);
	test_join(path, sizeof(path), dir, "full");
	err.code = CF_OK;
	CHECK(cf_store_open(path, 1, &err) == NULL && err.code == CF_EEXIST);
	/* An empty one is, with its layout. */
	test_join(path, sizeof(path), dir, "empty");
	REQUIRE(mkdir(path, 0700) == 0);
	REQUIRE((s = cf_store_open(path, 1, &err)) != NULL);
	cf_store_free(s);
	cf_store_free(NULL);
	test_join(path, sizeof(path), dir, "empty/data/ff");
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

static void
test_objects(struct cf_store *s, const char *root)
{
	char a[65], b[65], c[65], path[4200], rel[128];
	uint8_t data[1000];
	struct cf_err err;
	struct cf_buf out;
	uint64_t size;
	uint64_t seed = 8;

	test_fill(&seed, data, sizeof(data));
	name_of(a, 0xaa);
	name_of(b, 0xbb);
	name_of(c, 0x0c);
	cf_buf_init(&out, 1 << 20);
	CHECK(cf_store_put(s, CF_KIND_CONFIG, "config", data, 28, CF_PUT_EXCL,
	          &err) == 0);
	CHECK(cf_store_put(s, CF_KIND_PACK, a, data, 1000, 0, &err) == 0);
	CHECK(cf_store_put(s, CF_KIND_PACK, b, data, 0, 0, &err) == 0);
	CHECK(cf_store_put(s, CF_KIND_INDEX, c, data + 1, 10, 0, &err) == 0);
	snprintf(rel, sizeof(rel), "data/aa/%s", a);
	test_join(path, sizeof(path), root, rel);
	CHECK(access(path, F_OK) == 0);
	/* Whole objects and ranges. */
	CHECK(cf_store_get(s, CF_KIND_PACK, a, 0, CF_GET_ALL, &out, &err) ==
	          0 &&
	      out.len == 1000 && memcmp(out.p, data, 1000) == 0);
	CHECK(cf_store_get(s, CF_KIND_PACK, a, 990, 10, &out, &err) == 0 &&
	      out.len == 1010 && memcmp(out.p + 1000, data + 990, 10) == 0);
	out.len = 0;
	CHECK(cf_store_get(s, CF_KIND_PACK, a, 100, CF_GET_ALL, &out, &err) ==
	          0 &&
	      out.len == 900 && memcmp(out.p, data + 100, 900) == 0);
	out.len = 0;
	CHECK(cf_store_get(s, CF_KIND_PACK, a, 1000, CF_GET_ALL, &out, &err) ==
	          0 &&
	      out.len == 0);
	CHECK(cf_store_get(s, CF_KIND_PACK, a, 1000, 0, &out, &err) == 0);
	CHECK(cf_store_get(s, CF_KIND_PACK, b, 0, CF_GET_ALL, &out, &err) ==
	          0 &&
	      out.len == 0);
	CHECK(cf_store_get(s, CF_KIND_CONFIG, "config", 0, CF_GET_ALL, &out,
	          &err) == 0 &&
	      out.len == 28);
	/* Short objects. */
	out.len = 0;
	CHECK_ERR(cf_store_get(s, CF_KIND_PACK, a, 990, 11, &out, &err), &err,
	    CF_EFORMAT);
	out.len = 0;
	CHECK_ERR(cf_store_get(s, CF_KIND_PACK, a, 1001, CF_GET_ALL, &out,
	              &err),
	    &err, CF_EFORMAT);
	out.len = 0;
	CHECK_ERR(cf_store_get(s, CF_KIND_PACK, a, 5000, 1, &out, &err), &err,
	    CF_EFORMAT);
	out.len = 0;
	CHECK_ERR(cf_store_get(s, CF_KIND_PACK, b, 0, 1, &out, &err), &err,
	    CF_EFORMAT);
	/* Sizes. */
	CHECK(cf_store_size(s, CF_KIND_PACK, a, &size, &err) == 0 &&
	      size == 1000);
	CHECK(cf_store_size(s, CF_KIND_INDEX, c, &size, &err) == 0 &&
	      size == 10);
	/* The kind is part of the name: c is an index, not a pack. */
	CHECK_ERR(cf_store_size(s, CF_KIND_PACK, c, &size, &err), &err,
	    CF_ENOTFOUND);
	out.len = 0;
	CHECK_ERR(cf_store_get(s, CF_KIND_SNAPSHOT, c, 0, CF_GET_ALL, &out,
	              &err),
	    &err, CF_ENOTFOUND);
	/* Exclusive put keeps the first object; a plain put replaces. */
	CHECK_ERR(cf_store_put(s, CF_KIND_CONFIG, "config", data + 5, 28,
	              CF_PUT_EXCL, &err),
	    &err, CF_EEXIST);
	CHECK_ERR(cf_store_put(s, CF_KIND_PACK, a, data, 3, CF_PUT_EXCL, &err),
	    &err, CF_EEXIST);
	CHECK(cf_store_size(s, CF_KIND_PACK, a, &size, &err) == 0 &&
	      size == 1000);
	CHECK(cf_store_put(s, CF_KIND_INDEX, c, data, 3, 0, &err) == 0);
	CHECK(cf_store_size(s, CF_KIND_INDEX, c, &size, &err) == 0 &&
	      size == 3);
	cf_buf_release(&out);
}

static void
test_list_del(struct cf_store *s, const char *root)
{
	char a[65], b[65], c[65], path[4200], rel[128];
	struct listing l;
	struct cf_err err;
	struct cf_buf out;
	uint64_t size;

	name_of(a, 0xaa);
	name_of(b, 0xbb);
	name_of(c, 0x0c);
	/* Stray files are not objects. */
	test_join(path, sizeof(path), root, "data/aa/junk");
	REQUIRE(close(open(path, O_CREAT | O_WRONLY, 0600)) == 0);
	snprintf(rel, sizeof(rel), "index/%.63s", a);
	test_join(path, sizeof(path), root, rel);
	REQUIRE(close(open(path, O_CREAT | O_WRONLY, 0600)) == 0);
	memset(&l, 0, sizeof(l));
	CHECK(cf_store_list(s, CF_KIND_PACK, on_obj, &l, &err) == 0);
	CHECK(l.n == 2 && listed(&l, a, 1000) && listed(&l, b, 0));
	memset(&l, 0, sizeof(l));
	CHECK(cf_store_list(s, CF_KIND_INDEX, on_obj, &l, &err) == 0);
	CHECK(l.n == 1 && listed(&l, c, 3));
	memset(&l, 0, sizeof(l));
	CHECK(cf_store_list(s, CF_KIND_SNAPSHOT, on_obj, &l, &err) == 0);
	CHECK(l.n == 0);
	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	CHECK(cf_store_list(s, CF_KIND_PACK, on_obj, &l, &err) == 5 &&
	      l.n == 1);
	CHECK_ERR(cf_store_list(s, CF_KIND_CONFIG, on_obj, &l, &err), &err,
	    CF_EUSAGE);
	CHECK_ERR(cf_store_list(s, CF_KIND_COUNT, on_obj, &l, &err), &err,
	    CF_EUSAGE);
	/* Delete. */
	CHECK(cf_store_del(s, CF_KIND_PACK, a, &err) == 0);
	CHECK_ERR(cf_store_del(s, CF_KIND_PACK, a, &err), &err, CF_ENOTFOUND);
	CHECK_ERR(cf_store_size(s, CF_KIND_PACK, a, &size, &err), &err,
	    CF_ENOTFOUND);
	cf_buf_init(&out, 4096);
	CHECK_ERR(cf_store_get(s, CF_KIND_PACK, a, 0, CF_GET_ALL, &out, &err),
	    &err, CF_ENOTFOUND);
	cf_buf_release(&out);
	memset(&l, 0, sizeof(l));
	CHECK(cf_store_list(s, CF_KIND_PACK, on_obj, &l, &err) == 0 &&
	      l.n == 1 && listed(&l, b, 0));
	/* Nothing is left behind in tmp/. */
	test_join(path, sizeof(path), root, "tmp");
	CHECK(rmdir(path) == 0);
}

static void
test_refused(struct cf_store *s, const char *root)
{
	static const char *const bad[] = {"../x", "config", "", "data",
	    "../../../../etc/passwd",
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"};
	char ok[65], path[4200];
	struct cf_err err;
	struct cf_buf out;
	uint64_t size;

	cf_buf_init(&out, 4096);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int kind = CF_KIND_KEY; kind < CF_KIND_COUNT; kind++) {
			enum cf_kind k = (enum cf_kind)kind;

			CHECK_ERR(cf_store_put(s, k, bad[i],
			              (const uint8_t *)"x", 1, 0, &err),
			    &err, CF_EUSAGE);
			CHECK_ERR(cf_store_get(s, k, bad[i], 0, CF_GET_ALL,
			              &out, &err),
			    &err, CF_EUSAGE);
			CHECK_ERR(cf_store_size(s, k, bad[i], &size, &err),
			    &err, CF_EUSAGE);
			CHECK_ERR(cf_store_del(s, k, bad[i], &err), &err,
			    CF_EUSAGE);
		}
	}
	name_of(ok, 0x11);
	CHECK_ERR(cf_store_put(s, CF_KIND_CONFIG, ok, (const uint8_t *)"x", 1,
	              0, &err),
	    &err, CF_EUSAGE);
	CHECK_ERR(cf_store_put(s, CF_KIND_CONFIG, "../config",
	              (const uint8_t *)"x", 1, 0, &err),
	    &err, CF_EUSAGE);
	CHECK_ERR(cf_store_put(s, CF_KIND_COUNT, ok, (const uint8_t *)"x", 1, 0,
	              &err),
	    &err, CF_EUSAGE);
	/* Nothing was written outside or inside the store. */
	test_join(path, sizeof(path), root, "../x");
	CHECK(access(path, F_OK) != 0);
	test_join(path, sizeof(path), root, "keys/config");
	CHECK(access(path, F_OK) != 0);
	cf_buf_release(&out);
}

int
main(void)
{
	char dir[4096], root[4200];
	struct cf_store *s;
	struct cf_err err;

	REQUIRE(cf_crypto_init(&err) == 0);
	REQUIRE(test_tmpdir(dir, sizeof(dir)) == 0);
	test_names();
	test_open(dir);
	test_join(root, sizeof(root), dir, "repo");
	REQUIRE((s = cf_store_open(root, 1, &err)) != NULL);
	test_objects(s, root);
	test_refused(s, root);
	test_list_del(s, root);
	cf_store_free(s);
	test_rm_rf(dir);
	return check_done("unit-store");
}
