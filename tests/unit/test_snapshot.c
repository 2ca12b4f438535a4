/*
 * test_snapshot.c: lib/snapshot/snapshot.h.
 *  - a fixed snapshot encodes to the bytes of vectors/snapshot.hex (also
 *    produced by this test's own encoder of the format in snapshot.h) and
 *    decodes back field by field; one without a parent, paths or tags and
 *    with NULL strings round-trips;
 *  - rejected: bad magic and version, a parent flag other than 0/1, too
 *    many paths or tags, strings too long or with NUL, hostile counts,
 *    trailing bytes and every truncation.
 * Usage: test_snapshot VECTORDIR [--regen]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"

#include "check.h"

static char *golden_paths[] = {
    "/home/alice", "/etc", "/srv/d\xc3\xa9p\xc3\xb4t"};
static char *golden_tags[] = {"daily", "before upgrade"};

static void
golden_snap(struct cf_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->time_ns = 1764318000123456789ll;
	s->host = "host.example";
	s->user = "alice";
	s->version = "0.1.0";
	s->paths = golden_paths;
	s->npaths = 3;
	s->tags = golden_tags;
	s->ntags = 2;
	s->has_parent = 1;
	memset(s->parent, 0xa5, 32);
	memset(s->tree, 0x7e, 32);
	s->files = 123456;
	s->dirs = 789;
	s->bytes = 5ull << 40;
	s->new_bytes = 42;
	s->unreadable = 1;
}

/* The layout documented in snapshot.h, written out independently. */
static void
own_encode(const struct cf_snapshot *s, struct cf_buf *b)
{
	cf_buf_add(b, "CS", 2);
	cf_buf_add_u8(b, 1);
	cf_buf_add_svar(b, s->time_ns);
	cf_buf_add_str(b, s->host);
	cf_buf_add_str(b, s->user);
	cf_buf_add_uvar(b, s->npaths);
	for (size_t i = 0; i < s->npaths; i++)
		cf_buf_add_str(b, s->paths[i]);
	cf_buf_add_uvar(b, s->ntags);
	for (size_t i = 0; i < s->ntags; i++)
		cf_buf_add_str(b, s->tags[i]);
	cf_buf_add_u8(b, (uint8_t)s->has_parent);
	if (s->has_parent)
		cf_buf_add(b, s->parent, 32);
	cf_buf_add(b, s->tree, 32);
	cf_buf_add_uvar(b, s->files);
	cf_buf_add_uvar(b, s->dirs);
	cf_buf_add_uvar(b, s->bytes);
	cf_buf_add_uvar(b, s->new_bytes);
	cf_buf_add_uvar(b, s->unreadable);
	cf_buf_add_str(b, s->version);
}

static int
strs_eq(char *const *a, char *const *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int
snap_eq(const struct cf_snapshot *a, const struct cf_snapshot *b)
{
	return a->time_ns == b->time_ns && strcmp(a->host, b->host) == 0 &&
	       strcmp(a->user, b->user) == 0 &&
	       strcmp(a->version, b->version) == 0 && a->npaths == b->npaths &&
	       strs_eq(a->paths, b->paths, a->npaths) && a->ntags == b->ntags &&
	       strs_eq(a->tags, b->tags, a->ntags) &&
	       a->has_parent == b->has_parent &&
	       (!a->has_parent || memcmp(a->parent, b->parent, 32) == 0) &&
	       memcmp(a->tree, b->tree, 32) == 0 && a->files == b->files &&
	       a->dirs == b->dirs && a->bytes == b->bytes &&
	       a->new_bytes == b->new_bytes && a->unreadable == b->unreadable;
}

static int
decode_code(const uint8_t *p, size_t n)
{
	struct cf_err err = {0};
	struct cf_snapshot *s = cf_snapshot_decode(p, n, &err);

	if (s != NULL) {
		cf_snapshot_free(s);
		return 0;
	}
	return err.code;
}

static void
test_golden(const char *path, int regen)
{
	struct cf_snapshot g, *d;
	struct cf_buf lib, own;
	struct cf_err err;
	uint8_t *want;
	size_t wn;

	golden_snap(&g);
	cf_buf_init(&lib, 1 << 20);
	cf_buf_init(&own, 1 << 20);
	cf_snapshot_encode(&g, &lib);
	own_encode(&g, &own);
	REQUIRE(!lib.failed && !own.failed);
	CHECK(lib.len == own.len && memcmp(lib.p, own.p, lib.len) == 0);
	if (regen)
		REQUIRE(test_write_hex(path,
		            "# cf_snapshot_encode() of the snapshot in "
		            "test_snapshot.c golden_snap().\n",
		            lib.p, lib.len) == 0);
	REQUIRE((want = test_read_hex(path, &wn)) != NULL);
	CHECK(wn == lib.len && memcmp(want, lib.p, wn) == 0);
	REQUIRE((d = cf_snapshot_decode(want, wn, &err)) != NULL);
	CHECK(snap_eq(d, &g));
	CHECK(d->paths[d->npaths] == NULL && d->tags[d->ntags] == NULL);
	CHECK(d->name[0] == '\0');
	cf_snapshot_free(d);
	cf_snapshot_free(NULL);
	for (size_t len = 0; len < wn; len++)
		CHECK(decode_code(want, len) == CF_EFORMAT);
	cf_buf_add_u8(&lib, 0);
	CHECK(decode_code(lib.p, lib.len) == CF_EFORMAT);
	for (size_t i = 0; i < 3; i++) {
		want[i] ^= 0x02;
		CHECK(decode_code(want, wn) == CF_EFORMAT);
		want[i] ^= 0x02;
	}
	free(want);
	cf_buf_release(&lib);
	cf_buf_release(&own);
}

static void
test_minimal(void)
{
	struct cf_snapshot s, *d;
	struct cf_err err;
	struct cf_buf b;

	memset(&s, 0, sizeof(s));
	s.time_ns = -5;
	memset(s.tree, 1, 32);
	cf_buf_init(&b, 4096);
	cf_snapshot_encode(&s, &b); /* NULL strings encode as "" */
	REQUIRE((d = cf_snapshot_decode(b.p, b.len, &err)) != NULL);
	CHECK(d->time_ns == -5 && strcmp(d->host, "") == 0 &&
	      strcmp(d->user, "") == 0 && strcmp(d->version, "") == 0 &&
	      d->npaths == 0 && d->ntags == 0 && !d->has_parent &&
	      d->tree[31] == 1);
	cf_snapshot_free(d);
	/* The parent flag (after magic, time and four empty fields) is 0 or
	 * 1: a well-formed record with a parent and the flag at 2 fails. */
	s.has_parent = 1;
	b.len = 0;
	cf_snapshot_encode(&s, &b);
	CHECK(b.p[8] == 1 && decode_code(b.p, b.len) == 0);
	b.p[8] = 2;
	CHECK(decode_code(b.p, b.len) == CF_EFORMAT);
	b.p[8] = 0;
	CHECK(decode_code(b.p, b.len) == CF_EFORMAT);
	cf_buf_release(&b);
}

/* The golden snapshot with a NUL put inside the string ${needle}. */
static int
decode_with_nul(const char *needle)
{
	struct cf_snapshot g;
	struct cf_buf b;
	uint8_t *at;
	int rc;

	golden_snap(&g);
	cf_buf_init(&b, 4096);
	cf_snapshot_encode(&g, &b);
	REQUIRE(decode_code(b.p, b.len) == 0);
	at = memmem(b.p, b.len, needle, strlen(needle));
	REQUIRE(at != NULL);
	at[1] = '\0';
	rc = decode_code(b.p, b.len);
	cf_buf_release(&b);
	return rc;
}

/* A snapshot with ${np} paths, ${nt} tags, and a host of ${hostlen}
 * bytes of ${c}. */
static int
decode_sized(size_t np, size_t nt, size_t hostlen, char c)
{
	struct cf_snapshot s;
	char **v = calloc(np + nt + 1, sizeof(char *)), *host;
	struct cf_buf b;
	int rc;

	REQUIRE(v != NULL && (host = malloc(hostlen + 1)) != NULL);
	memset(host, c, hostlen);
	host[hostlen] = '\0';
	for (size_t i = 0; i < np + nt; i++)
		v[i] = "p";
	memset(&s, 0, sizeof(s));
	s.host = host;
	s.paths = v;
	s.npaths = np;
	s.tags = v + np;
	s.ntags = nt;
	cf_buf_init(&b, 1 << 20);
	cf_snapshot_encode(&s, &b);
	REQUIRE(!b.failed);
	rc = decode_code(b.p, b.len);
	cf_buf_release(&b);
	free(host);
	free(v);
	return rc;
}

static void
test_limits(void)
{
	struct cf_buf b;

	CHECK(decode_sized(CF_SNAP_MAX_PATHS, CF_SNAP_MAX_TAGS, CF_SNAP_STR_MAX,
	          'h') == 0);
	CHECK(decode_sized(CF_SNAP_MAX_PATHS + 1, 0, 1, 'h') == CF_EFORMAT);
	CHECK(decode_sized(0, CF_SNAP_MAX_TAGS + 1, 1, 'h') == CF_EFORMAT);
	CHECK(decode_sized(0, 0, CF_SNAP_STR_MAX + 1, 'h') == CF_EFORMAT);
	/* NUL inside a string: C strings cannot carry it, so put it into
	 * the encoding. */
	CHECK(decode_with_nul("host.example") == CF_EFORMAT);
	CHECK(decode_with_nul("alice") == CF_EFORMAT);
	CHECK(decode_with_nul("/etc") == CF_EFORMAT);
	CHECK(decode_with_nul("daily") == CF_EFORMAT);
	CHECK(decode_with_nul("0.1.0") == CF_EFORMAT);
	/* A path count far beyond the bytes present. */
	cf_buf_init(&b, 4096);
	cf_buf_add(&b, "CS\x01\x00\x00\x00", 6);
	cf_buf_add_uvar(&b, 4000);
	cf_buf_add_bytes(&b, "p", 1);
	CHECK(decode_code(b.p, b.len) == CF_EFORMAT);
	b.len = 0;
	cf_buf_add(&b, "CS\x01\x00\x00\x00", 6);
	cf_buf_add_uvar(&b, UINT64_MAX);
	CHECK(decode_code(b.p, b.len) == CF_EFORMAT);
	cf_buf_release(&b);
}

int
main(int argc, char **argv)
{
	char path[4096];

	REQUIRE(argc >= 2);
	test_vector_path(path, sizeof(path), argv[1], "snapshot.hex");
	test_golden(path, argc > 2 && strcmp(argv[2], "--regen") == 0);
	test_minimal();
	test_limits();
	return check_done("unit-snapshot");
}
