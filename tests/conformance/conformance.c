/*
 * conformance.c: one test suite for every metadata store (struct cf_meta_ops
 * of server/backend.h), so the SQLite and PostgreSQL stores keep the same
 * semantics.
 *
 *   conformance sqlite:PATH     the SQLite store at PATH (created)
 *   conformance sqlite:         the same in a fresh temporary folder
 *   conformance DATABASE_URL    PostgreSQL at $DATABASE_URL; exit 77 (meson:
 *                               skipped) if it is not set
 *   conformance CONNINFO        PostgreSQL at a libpq connection string
 *   conformance STORE bench     no tests: time put_begin + put_commit of
 *                               new objects, one thread then THREADS
 *
 * A PostgreSQL database may be shared with other runs: every test works in
 * accounts of its own, registered with fresh random device keys.  Besides
 * one-at-a-time checks of each operation it runs threads and processes
 * against one store at once (ref CAS increments, uploads of one object,
 * quota edges, purge against re-uploads, single-use invitations) and, on
 * PostgreSQL, kills its database sessions mid-run (psql must be on PATH).
 * Prints one line per test; exit 0 if all pass, 1 if not.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "server/backend.h"
#include "server/server.h"

#define THREADS 8
#define PROCS 4
#define KIND 2 /* any object kind: the store does not interpret it */

static const char *spec; /* what argv chose: "sqlite:PATH" or a conninfo */
static int is_pg;
static int failures;
static char appname[64];

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			fail_at(__FILE__, __LINE__, #cond);                    \
	} while (0)
#define CHECK_RC(expr, want) check_rc((expr), (want), __LINE__, #expr)

static void
fail_at(const char *file, int line, const char *what)
{
	fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what);
	failures++;
}

static void
check_rc(int got, int want, int line, const char *what)
{
	if (got == want)
		return;
	fprintf(stderr, "  FAIL line %d: %s = %d, expected %d\n", line, what,
	    got, want);
	failures++;
}

static struct cf_meta *
open_store(struct cf_err *err)
{
	if (strncmp(spec, "sqlite:", 7) == 0)
		return cf_meta_sqlite_open(spec + 7, err);
	return cf_meta_pg_open(spec, err);
}

static struct cf_meta *
must_open(void)
{
	struct cf_err err = {0};
	struct cf_meta *m = open_store(&err);

	if (m == NULL) {
		fprintf(stderr, "conformance: cannot open %s: %s\n",
		    is_pg ? "PostgreSQL" : spec, err.msg);
		exit(1);
	}
	return m;
}

static int64_t
now(void)
{
	return (int64_t)time(NULL);
}

/* A fresh account with one device; its key in ${pk} if not NULL. */
static int64_t
new_account(struct cf_meta *m, uint64_t qb, uint64_t qo, uint8_t *pk)
{
	struct cf_err err = {0};
	uint8_t k[32];
	int64_t a = -1;

	cf_crypto_random(k, sizeof(k));
	if (m->ops->register_device(m, NULL, k, qb, qo, now(), &a, &err) != 0) {
		fprintf(stderr, "  register_device: %s\n", err.msg);
		failures++;
	}
	if (pk != NULL)
		memcpy(pk, k, 32);
	return a;
}

struct acct_find {
	int64_t id;
	struct cf_account_row row;
	int found;
	uint64_t seen;
};

static int
acct_cb(void *arg, const struct cf_account_row *r)
{
	struct acct_find *f = arg;

	f->seen++;
	if (r->id == f->id) {
		f->row = *r;
		f->found = 1;
	}
	return 0;
}

/* The account row of ${a} as accounts() reports it. */
static struct cf_account_row
account_row(struct cf_meta *m, int64_t a)
{
	struct acct_find f = {.id = a};
	struct cf_err err = {0};

	CHECK_RC(m->ops->accounts(m, acct_cb, &f, &err), 0);
	CHECK(f.found);
	return f.row;
}

static void
blob_key(char out[CF_BLOBKEY_MAX], int64_t a, const char *name)
{
	cf_blob_key(out, a, "repo", KIND, name);
}

/* put_begin then put_commit of ${name} (${size} bytes): the final state,
 * or -1; *old gets the blob key to delete. */
static int
put(struct cf_meta *m, int64_t a, const char *name, uint64_t size,
    char blob[CF_BLOBKEY_MAX], char old[CF_BLOBKEY_MAX])
{
	struct cf_err err = {0};
	enum cf_put_state st;
	char tmp[CF_BLOBKEY_MAX];

	if (m->ops->put_begin(m, a, "repo", KIND, name, size, &st, &err) != 0)
		return -1;
	if (st != CF_PUT_NEW)
		return (int)st;
	blob_key(blob, a, name);
	if (m->ops->put_commit(m, a, "repo", KIND, name, size, blob, now(), &st,
	        old ? old : tmp, &err) != 0) {
		fprintf(stderr, "  put_commit: %s\n", err.msg);
		return -1;
	}
	return (int)st;
}

/* ---- one operation at a time ------------------------------------------- */

static void
t_invites(struct cf_meta *m)
{
	struct cf_err err = {0};
	struct cf_device_row d;
	uint8_t h[32], h2[32], h3[32], pk[32], pk2[32];
	int64_t a = 0, b = 0;

	cf_crypto_random(h, 32);
	cf_crypto_random(h2, 32);
	cf_crypto_random(h3, 32);
	cf_crypto_random(pk, 32);
	cf_crypto_random(pk2, 32);
	CHECK_RC(m->ops->invite_add(m, h, now() + 60, CF_SCOPE_APPEND_ONLY,
	             &err),
	    0);
	CHECK_RC(m->ops->invite_add(m, h, now() + 60, 0, &err), -1);
	CHECK_RC(m->ops->device_get(m, pk, &d, &err), 1);
	CHECK_RC(m->ops->register_device(m, h, pk, 1000, 10, now(), &a, &err),
	    0);
	CHECK_RC(m->ops->device_get(m, pk, &d, &err), 0);
	CHECK(d.account == a && d.scope == CF_SCOPE_APPEND_ONLY && !d.disabled);
	/* used */
	CHECK_RC(m->ops->register_device(m, h, pk2, 1000, 10, now(), &b, &err),
	    1);
	/* unknown */
	CHECK_RC(m->ops->register_device(m, h3, pk2, 1000, 10, now(), &b, &err),
	    1);
	/* expired: usable while now < expires */
	CHECK_RC(m->ops->invite_add(m, h2, 5000, 0, &err), 0);
	CHECK_RC(m->ops->register_device(m, h2, pk2, 1000, 10, 5000, &b, &err),
	    1);
	CHECK_RC(m->ops->register_device(m, h2, pk2, 1000, 10, 4999, &b, &err),
	    0);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 0);
	CHECK(d.account == b && b != a && d.scope == 0);
	/* a device key registers once; the failure leaves the invitation */
	CHECK_RC(m->ops->invite_add(m, h3, now() + 60, 0, &err), 0);
	CHECK_RC(m->ops->register_device(m, h3, pk, 1000, 10, now(), &b, &err),
	    -1);
	CHECK(err.code == CF_EDB);
	CHECK_RC(m->ops->register_device(m, NULL, pk, 1000, 10, now(), &b,
	             &err),
	    -1);
	cf_crypto_random(pk2, 32);
	CHECK_RC(m->ops->register_device(m, h3, pk2, 1000, 10, now(), &b, &err),
	    0);
	/* open registration */
	cf_crypto_random(pk2, 32);
	CHECK_RC(m->ops->register_device(m, NULL, pk2, 7, 8, now(), &b, &err),
	    0);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 0);
	CHECK(d.account == b && d.scope == 0 && !d.disabled);
	CHECK(account_row(m, b).quota_bytes == 7);
	CHECK(account_row(m, b).quota_objects == 8);
	CHECK(account_row(m, b).devices == 1);
}

static void
t_nonces(struct cf_meta *m)
{
	struct cf_err err = {0};
	uint8_t pk[32], pk2[32], n[16], n2[16];

	cf_crypto_random(pk, 32);
	cf_crypto_random(pk2, 32);
	cf_crypto_random(n, 16);
	cf_crypto_random(n2, 16);
	CHECK_RC(m->ops->nonce_use(m, pk, n, now() + 300, &err), 0);
	CHECK_RC(m->ops->nonce_use(m, pk, n, now() + 300, &err), 1);
	CHECK_RC(m->ops->nonce_use(m, pk2, n, now() + 300, &err), 0);
	CHECK_RC(m->ops->nonce_use(m, pk, n2, now() + 300, &err), 0);
	/* Expiry: a nonce is forgotten by a later cleanup (every 1024 uses)
	 * that runs 1200 s past its expiry. */
	CHECK_RC(m->ops->nonce_use(m, pk, n2, 1000, &err), 1);
	cf_crypto_random(n2, 16);
	CHECK_RC(m->ops->nonce_use(m, pk, n2, 1000, &err), 0);
	for (int i = 0; i < 1030; i++) {
		uint8_t x[16];

		cf_crypto_random(x, 16);
		if (m->ops->nonce_use(m, pk, x, 5000, &err) != 0) {
			CHECK(!"nonce_use of a fresh nonce");
			break;
		}
	}
	CHECK_RC(m->ops->nonce_use(m, pk, n2, 1000, &err), 0);
	CHECK_RC(m->ops->nonce_use(m, pk, n, now() + 300, &err), 1);
}

static void
t_put_states(struct cf_meta *m)
{
	struct cf_err err = {0};
	char b1[CF_BLOBKEY_MAX], b2[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX];
	char got[CF_BLOBKEY_MAX];
	enum cf_put_state st;
	int64_t a = new_account(m, 1000, 3, NULL);
	uint64_t size;

	CHECK_RC(put(m, a, "A", 100, b1, old), CF_PUT_NEW);
	CHECK(old[0] == '\0');
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND, "A", &size, got, &err),
	    0);
	CHECK(size == 100 && strcmp(got, b1) == 0);
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND + 1, "A", &size, got,
	             &err),
	    1);
	CHECK_RC(m->ops->object_get(m, a, "other", KIND, "A", &size, got, &err),
	    1);
	CHECK_RC(put(m, a, "A", 100, b2, old), CF_PUT_EXISTS);
	CHECK_RC(put(m, a, "A", 99, b2, old), CF_PUT_CONFLICT);
	/* put_commit decides again: the begin may be stale */
	blob_key(b2, a, "A");
	CHECK_RC(m->ops->put_commit(m, a, "repo", KIND, "A", 100, b2, now(),
	             &st, old, &err),
	    0);
	CHECK(st == CF_PUT_EXISTS && old[0] == '\0');
	CHECK_RC(m->ops->put_commit(m, a, "repo", KIND, "A", 50, b2, now(), &st,
	             old, &err),
	    0);
	CHECK(st == CF_PUT_CONFLICT && old[0] == '\0');
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND, "A", &size, got, &err),
	    0);
	CHECK(strcmp(got, b1) == 0);
	/* quota: bytes, then objects, checked by begin and by commit */
	CHECK_RC(put(m, a, "B", 901, b2, old), CF_PUT_QUOTA);
	CHECK_RC(put(m, a, "B", 900, b2, old), CF_PUT_NEW);
	CHECK_RC(put(m, a, "C", 1, b2, old), CF_PUT_QUOTA);
	CHECK_RC(m->ops->put_commit(m, a, "repo", KIND, "C", 1, b2, now(), &st,
	             old, &err),
	    0);
	CHECK(st == CF_PUT_QUOTA);
	CHECK(account_row(m, a).used_bytes == 1000);
	CHECK_RC(m->ops->account_set(m, a, -1, 5000, -1, &err), 0);
	CHECK_RC(put(m, a, "C", 1, b2, old), CF_PUT_NEW);
	CHECK_RC(put(m, a, "D", 1, b2, old), CF_PUT_QUOTA);
	CHECK(account_row(m, a).used_bytes == 1001);
	CHECK(account_row(m, a).used_objects == 3);
	/* a zero-byte object is an object */
	CHECK_RC(m->ops->account_set(m, a, -1, -1, 4, &err), 0);
	CHECK_RC(put(m, a, "E", 0, b2, old), CF_PUT_NEW);
	CHECK_RC(put(m, a, "E", 0, b2, old), CF_PUT_EXISTS);
	CHECK(account_row(m, a).used_objects == 4);
}

static void
t_soft_delete(struct cf_meta *m)
{
	struct cf_err err = {0};
	char b1[CF_BLOBKEY_MAX], b2[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX];
	char got[CF_BLOBKEY_MAX];
	enum cf_put_state st;
	int64_t a = new_account(m, 1000, 1, NULL);
	uint64_t size;

	CHECK_RC(put(m, a, "A", 100, b1, old), CF_PUT_NEW);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "A", now(), &err),
	    0);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "A", now(), &err),
	    1);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "nope", now(), &err),
	    1);
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND, "A", &size, got, &err),
	    1);
	/* Soft-deleted objects still count: the account is full, yet the
	 * same object may come back (no quota check), other sizes may not. */
	CHECK(account_row(m, a).used_objects == 1);
	CHECK_RC(put(m, a, "B", 1, b2, old), CF_PUT_QUOTA);
	CHECK_RC(m->ops->put_begin(m, a, "repo", KIND, "A", 99, &st, &err), 0);
	CHECK(st == CF_PUT_CONFLICT);
	CHECK_RC(put(m, a, "A", 100, b2, old), CF_PUT_NEW);
	CHECK(strcmp(old, b1) == 0); /* the replaced bytes, for the caller */
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND, "A", &size, got, &err),
	    0);
	CHECK(size == 100 && strcmp(got, b2) == 0);
	CHECK(account_row(m, a).used_bytes == 100);
	CHECK(account_row(m, a).used_objects == 1);
}

static int
collect(void *arg, const char *key)
{
	char(*keys)[CF_BLOBKEY_MAX] = arg;

	for (int i = 0; i < 16; i++)
		if (keys[i][0] == '\0') {
			snprintf(keys[i], CF_BLOBKEY_MAX, "%s", key);
			return 0;
		}
	return 0; /* more than we track: not ours */
}

static int
seen(char (*keys)[CF_BLOBKEY_MAX], const char *key)
{
	for (int i = 0; i < 16; i++)
		if (strcmp(keys[i], key) == 0)
			return 1;
	return 0;
}

static void
t_purge(struct cf_meta *m)
{
	struct cf_err err = {0};
	char b1[CF_BLOBKEY_MAX], b2[CF_BLOBKEY_MAX], b3[CF_BLOBKEY_MAX];
	char old[CF_BLOBKEY_MAX], keys[16][CF_BLOBKEY_MAX];
	enum cf_put_state st;
	int64_t a = new_account(m, 10000, 100, NULL);
	uint64_t n, size;

	CHECK_RC(put(m, a, "P1", 10, b1, old), CF_PUT_NEW);
	CHECK_RC(put(m, a, "P2", 20, b2, old), CF_PUT_NEW);
	CHECK_RC(put(m, a, "P3", 30, b3, old), CF_PUT_NEW);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "P1", 100, &err), 0);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "P2", 200, &err), 0);
	memset(keys, 0, sizeof(keys));
	CHECK_RC(m->ops->purge(m, 150, collect, keys, &n, &err), 0);
	CHECK(seen(keys, b1) && !seen(keys, b2) && !seen(keys, b3) && n >= 1);
	CHECK(account_row(m, a).used_bytes == 50);
	CHECK(account_row(m, a).used_objects == 2);
	/* gone for good: a new upload is a new object, charged again */
	CHECK_RC(m->ops->put_begin(m, a, "repo", KIND, "P1", 11, &st, &err), 0);
	CHECK(st == CF_PUT_NEW);
	/* Deleted at 200, re-uploaded, deleted again at 300: a purge of
	 * what was deleted before 250 must keep it (a new version), and
	 * the bytes it replaced went to the re-upload's caller. */
	CHECK_RC(put(m, a, "P2", 20, b1, old), CF_PUT_NEW);
	CHECK(strcmp(old, b2) == 0);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "P2", 300, &err), 0);
	memset(keys, 0, sizeof(keys));
	CHECK_RC(m->ops->purge(m, 250, collect, keys, &n, &err), 0);
	CHECK(!seen(keys, b1) && !seen(keys, b2));
	CHECK_RC(m->ops->purge(m, 301, collect, keys, &n, &err), 0);
	CHECK(seen(keys, b1) && !seen(keys, b2) && !seen(keys, b3));
	CHECK_RC(m->ops->object_get(m, a, "repo", KIND, "P3", &size, old, &err),
	    0);
	CHECK(account_row(m, a).used_bytes == 30);
	CHECK(account_row(m, a).used_objects == 1);
	/* live objects are never purged */
	memset(keys, 0, sizeof(keys));
	CHECK_RC(m->ops->purge(m, now() + 10, collect, keys, &n, &err), 0);
	CHECK(!seen(keys, b3));
}

static int
fail_blob(void *arg, const char *key)
{
	(void)key;
	return cf_err_set(arg, CF_EIO, "blob store down");
}

/* A blob store that fails stops the purge with its error. */
static void
t_purge_fail(struct cf_meta *m)
{
	struct cf_err err = {0}, ferr = {0};
	char b1[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], keys[16][CF_BLOBKEY_MAX];
	int64_t a = new_account(m, 10000, 100, NULL);
	uint64_t n;

	CHECK_RC(put(m, a, "F", 10, b1, old), CF_PUT_NEW);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "F", 10, &err), 0);
	CHECK_RC(m->ops->purge(m, 11, fail_blob, &ferr, &n, &err), -1);
	CHECK(ferr.code == CF_EIO);
	/* the row is gone either way (its bytes may be retried, PostgreSQL
	 * keeps them queued, SQLite leaves them to a scrub) */
	memset(keys, 0, sizeof(keys));
	CHECK_RC(m->ops->purge(m, 11, collect, keys, &n, &err), 0);
	CHECK(!is_pg || seen(keys, b1));
	CHECK(account_row(m, a).used_objects == 0);
}

static void
t_list(struct cf_meta *m)
{
	static const char *const extra[] = {"Zed", "apple", "a", "ab", "b~"};
	struct cf_object_row rows[10];
	struct cf_err err = {0};
	char b[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], name[16], after[72];
	int64_t a = new_account(m, 1u << 30, 1000, NULL);
	size_t n, total = 0;

	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		CHECK_RC(put(m, a, name, (uint64_t)i, b, old), CF_PUT_NEW);
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		CHECK_RC(put(m, a, extra[i], 1, b, old), CF_PUT_NEW);
	CHECK_RC(m->ops->object_delete(m, a, "repo", KIND, "n05", now(), &err),
	    0);
	CHECK_RC(m->ops->object_list(m, a, "repo", KIND, "", rows, 10, &n,
	             &err),
	    0);
	/* byte order, as memcmp: upper case first, a prefix first */
	CHECK(n == 10 && strcmp(rows[0].name, "Zed") == 0 &&
	      strcmp(rows[1].name, "a") == 0 &&
	      strcmp(rows[2].name, "ab") == 0 &&
	      strcmp(rows[3].name, "apple") == 0 &&
	      strcmp(rows[4].name, "b~") == 0 &&
	      strcmp(rows[5].name, "n00") == 0);
	CHECK(rows[5].size == 0 && rows[9].size == 4 && rows[0].size == 1);
	after[0] = '\0';
	do {
		CHECK_RC(m->ops->object_list(m, a, "repo", KIND, after, rows, 7,
		             &n, &err),
		    0);
		for (size_t i = 0; i < n; i++) {
			CHECK(strcmp(rows[i].name, after) > 0);
			CHECK(strcmp(rows[i].name, "n05") != 0);
			memcpy(after, rows[i].name, sizeof(after));
		}
		total += n;
	} while (n == 7);
	CHECK(total == 29);
	CHECK_RC(m->ops->object_list(m, a, "repo", KIND, "n2", rows, 10, &n,
	             &err),
	    0);
	CHECK(n == 5 && strcmp(rows[0].name, "n20") == 0);
	CHECK_RC(m->ops->object_list(m, a, "repo", KIND, "n24", rows, 10, &n,
	             &err),
	    0);
	CHECK(n == 0);
	CHECK_RC(m->ops->object_list(m, a, "other", KIND, "", rows, 10, &n,
	             &err),
	    0);
	CHECK(n == 0);
	CHECK_RC(m->ops->object_list(m, a, "repo", KIND + 1, "", rows, 10, &n,
	             &err),
	    0);
	CHECK(n == 0);
	CHECK_RC(m->ops->object_list(m, a + 1000000, "repo", KIND, "", rows, 10,
	             &n, &err),
	    0);
	CHECK(n == 0);
}

static void
t_refs(struct cf_meta *m)
{
	struct cf_err err = {0};
	int64_t a = new_account(m, 1, 1, NULL), b = new_account(m, 1, 1, NULL);
	uint8_t val[64];
	uint32_t run;
	uint64_t v;
	size_t n;

	CHECK_RC(m->ops->ref_get(m, a, "repo", "head", val, sizeof(val), &n, &v,
	             &err),
	    1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 3, (const uint8_t *)"x",
	             1, &v, &err),
	    1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 0, (const uint8_t *)"v1",
	             2, &v, &err),
	    0);
	CHECK(v == 1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 0, (const uint8_t *)"v9",
	             2, &v, &err),
	    1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 2, (const uint8_t *)"v9",
	             2, &v, &err),
	    1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 1,
	             (const uint8_t *)"value2", 6, &v, &err),
	    0);
	CHECK(v == 2);
	CHECK_RC(m->ops->ref_get(m, a, "repo", "head", val, sizeof(val), &n, &v,
	             &err),
	    0);
	CHECK(n == 6 && memcmp(val, "value2", 6) == 0 && v == 2);
	CHECK_RC(m->ops->ref_get(m, a, "repo", "head", val, 3, &n, &v, &err),
	    0);
	CHECK(n == 3 && memcmp(val, "val", 3) == 0);
	/* binary values, the empty value, and separate namespaces */
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 2,
	             (const uint8_t *)"\0\xff\0", 3, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_get(m, a, "repo", "head", val, sizeof(val), &n, &v,
	             &err),
	    0);
	CHECK(n == 3 && memcmp(val, "\0\xff\0", 3) == 0 && v == 3);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "empty", 0, (const uint8_t *)"",
	             0, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_get(m, a, "repo", "empty", val, sizeof(val), &n,
	             &v, &err),
	    0);
	CHECK(n == 0 && v == 1);
	CHECK_RC(m->ops->ref_get(m, b, "repo", "head", val, sizeof(val), &n, &v,
	             &err),
	    1);
	CHECK_RC(m->ops->ref_get(m, a, "other", "head", val, sizeof(val), &n,
	             &v, &err),
	    1);
	/* refs are not charged to the quota: at most CF_REFS_MAX per account
	 * (a has 2), across its repositories; updates go on; account 0 (the
	 * pairing mailboxes) has no such limit */
	for (int i = 2; i < CF_REFS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%d", i);
		CHECK_RC(m->ops->ref_cas(m, a, i % 2 ? "repo" : "other", name,
		             0, (const uint8_t *)"x", 1, &v, &err),
		    0);
	}
	CHECK_RC(m->ops->ref_cas(m, a, "third", "one-more", 0,
	             (const uint8_t *)"x", 1, &v, &err),
	    2);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 0, (const uint8_t *)"x",
	             1, &v, &err),
	    1);
	CHECK_RC(m->ops->ref_cas(m, a, "repo", "head", 3, (const uint8_t *)"v4",
	             2, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_cas(m, b, "repo", "head", 0, (const uint8_t *)"b",
	             1, &v, &err),
	    0);
	cf_crypto_random(&run, sizeof(run)); /* the database may be reused */
	for (int i = 0; i <= CF_REFS_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "m%08x.%d", (unsigned)run, i);
		CHECK_RC(m->ops->ref_cas(m, 0, "_pair", name, 0,
		             (const uint8_t *)"x", 1, &v, &err),
		    0);
	}
}

struct listed {
	char names[8][32];
	char values[8][32];
	size_t n;
};

static int
list_one_ref(void *arg, const char *name, const uint8_t *v, size_t n)
{
	struct listed *l = arg;

	if (l->n == 8 || n >= 32)
		return 1;
	snprintf(l->names[l->n], 32, "%s", name);
	memcpy(l->values[l->n], v, n);
	l->values[l->n][n] = '\0';
	l->n++;
	return 0;
}

static void
t_ref_list(struct cf_meta *m)
{
	struct cf_err err = {0};
	int64_t a = new_account(m, 1, 1, NULL);
	struct listed l = {0};
	uint8_t val[8];
	uint64_t v;
	size_t n;

	CHECK_RC(m->ops->ref_list(m, a, "lst", 0, list_one_ref, &l, &err), 0);
	CHECK(l.n == 0);
	CHECK_RC(m->ops->ref_cas(m, a, "lst", "r2", 0, (const uint8_t *)"two",
	             3, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_cas(m, a, "lst", "r1", 0, (const uint8_t *)"one",
	             3, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_cas(m, a, "other", "r0", 0, (const uint8_t *)"x",
	             1, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_cas(m, a, "lst", "r1.m", 0, (const uint8_t *)"m",
	             1, &v, &err),
	    0);
	CHECK_RC(m->ops->ref_list(m, a, "lst", 0, list_one_ref, &l, &err), 0);
	CHECK(l.n == 3 && !strcmp(l.names[0], "r1") &&
	      !strcmp(l.values[0], "one") && !strcmp(l.names[1], "r1.m") &&
	      !strcmp(l.names[2], "r2") && !strcmp(l.values[2], "two"));
	/* only the names with no dot (pairing: mailboxes, not messages) */
	memset(&l, 0, sizeof(l));
	CHECK_RC(m->ops->ref_list(m, a, "lst", 1, list_one_ref, &l, &err), 0);
	CHECK(l.n == 2 && !strcmp(l.names[0], "r1") &&
	      !strcmp(l.names[1], "r2"));
	CHECK_RC(m->ops->ref_delete(m, a, "lst", "r1.m", &err), 0);
	CHECK_RC(m->ops->ref_delete(m, a, "lst", "r1", &err), 0);
	CHECK_RC(m->ops->ref_delete(m, a, "lst", "r1", &err), 0);
	CHECK_RC(m->ops->ref_get(m, a, "lst", "r1", val, sizeof(val), &n, &v,
	             &err),
	    1);
	CHECK_RC(m->ops->ref_get(m, a, "other", "r0", val, sizeof(val), &n, &v,
	             &err),
	    0);
	memset(&l, 0, sizeof(l));
	CHECK_RC(m->ops->ref_list(m, a, "lst", 0, list_one_ref, &l, &err), 0);
	CHECK(l.n == 1 && !strcmp(l.names[0], "r2"));
	/* a deleted ref can be made again, from version 0 */
	CHECK_RC(m->ops->ref_cas(m, a, "lst", "r1", 0, (const uint8_t *)"new",
	             3, &v, &err),
	    0);
	CHECK(v == 1);
}

/* The hourly purge forgets pairing mailboxes, void or not, 10 minutes
 * after they expired, their messages, and whatever else is in "_pair"; it
 * keeps the others. */
static void
t_pair_purge(struct cf_meta *m)
{
	enum { N = 7 };
	struct cf_err err = {0};
	char dir[] = "/tmp/conformance-blobs.XXXXXX", id[N][16], name[32];
	char val[N][40], cmd[64];
	int64_t now = (int64_t)time(NULL);
	int keep[N] = {1, 1, 1, 0, 0, 0, 0};
	struct cf_blobs *blobs;
	uint8_t got[64];
	uint64_t v, purged;
	uint32_t r;
	size_t n;

	snprintf(val[0], 40, "1 %lld", (long long)(now + 600));      /* live */
	snprintf(val[1], 40, "1 %lld", (long long)(now - 60));       /* 410 */
	snprintf(val[2], 40, "void 1 %lld", (long long)(now + 600)); /* 410 */
	snprintf(val[3], 40, "void 1 %lld", (long long)(now - 1300));
	snprintf(val[4], 40, "1 %lld", (long long)(now - 1300));
	snprintf(val[5], 40, "void"); /* no owner nor expiry: no mailbox */
	val[6][0] = '\0';             /* messages with no mailbox */
	if (mkdtemp(dir) == NULL ||
	    (blobs = cf_blobs_dir_open(dir, &err)) == NULL) {
		fail_at(__FILE__, __LINE__, "blob store");
		return;
	}
	for (int i = 0; i < N; i++) {
		cf_crypto_random(&r, sizeof(r));
		snprintf(id[i], sizeof(id[i]), "%08u", r % 100000000u);
		if (val[i][0] != '\0')
			CHECK_RC(m->ops->ref_cas(m, 0, "_pair", id[i], 0,
			             (const uint8_t *)val[i], strlen(val[i]),
			             &v, &err),
			    0);
		snprintf(name, sizeof(name), "%.8s.a1.0", id[i]);
		CHECK_RC(m->ops->ref_cas(m, 0, "_pair", name, 0,
		             (const uint8_t *)"msg", 3, &v, &err),
		    0);
	}
	CHECK_RC(cf_server_purge(m, blobs, 0, &purged, &err), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%.8s.a1.0", id[i]);
		CHECK_RC(m->ops->ref_get(m, 0, "_pair", id[i], got, sizeof(got),
		             &n, &v, &err),
		    keep[i] ? 0 : 1);
		CHECK_RC(m->ops->ref_get(m, 0, "_pair", name, got, sizeof(got),
		             &n, &v, &err),
		    keep[i] ? 0 : 1);
	}
	blobs->ops->close(blobs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

static void
t_accounts(struct cf_meta *m)
{
	struct acct_find f = {0};
	struct cf_err err = {0};
	struct cf_device_row d;
	uint8_t pk[32];
	int64_t a = new_account(m, 100, 10, pk);
	struct cf_account_row r = account_row(m, a);

	CHECK(r.id == a && !r.disabled && r.quota_bytes == 100 &&
	      r.quota_objects == 10 && r.used_bytes == 0 &&
	      r.used_objects == 0 && r.devices == 1 && r.created > now() - 60);
	CHECK_RC(m->ops->account_set(m, a, 1, -1, -1, &err), 0);
	CHECK_RC(m->ops->device_get(m, pk, &d, &err), 0);
	CHECK(d.account == a && d.disabled);
	r = account_row(m, a);
	CHECK(r.disabled && r.quota_bytes == 100 && r.quota_objects == 10);
	CHECK_RC(m->ops->account_set(m, a, -1, 5, 6, &err), 0);
	r = account_row(m, a);
	CHECK(r.disabled && r.quota_bytes == 5 && r.quota_objects == 6);
	CHECK_RC(m->ops->account_set(m, a, 0, -1, (int64_t)1 << 40, &err), 0);
	CHECK_RC(m->ops->device_get(m, pk, &d, &err), 0);
	CHECK(!d.disabled);
	CHECK(account_row(m, a).quota_objects == (uint64_t)1 << 40);
	CHECK_RC(m->ops->account_set(m, (int64_t)1 << 50, 1, -1, -1, &err), 1);
	/* accounts() walks them all in id order, and stops when asked */
	f.id = a;
	CHECK_RC(m->ops->accounts(m, acct_cb, &f, &err), 0);
	CHECK(f.found && f.seen >= 2);
}

static int
stop_cb(void *arg, const struct cf_account_row *r)
{
	(void)r;
	return ++*(int *)arg >= 2;
}

static void
t_accounts_stop(struct cf_meta *m)
{
	struct cf_err err = {0};
	int calls = 0;

	(void)new_account(m, 1, 1, NULL);
	(void)new_account(m, 1, 1, NULL);
	(void)new_account(m, 1, 1, NULL);
	CHECK_RC(m->ops->accounts(m, stop_cb, &calls, &err), 0);
	CHECK(calls == 2);
}

static void
t_devices(struct cf_meta *m)
{
	struct cf_err err = {0};
	struct cf_device_row d;
	uint8_t pk1[32], pk2[32], pk3[32];
	int64_t a = new_account(m, 1, 1, pk1), b = new_account(m, 1, 1, NULL);

	if (m->ops->device_add == NULL || m->ops->device_remove == NULL) {
		printf("  (this store has no device_add/device_remove)\n");
		return;
	}
	cf_crypto_random(pk2, 32);
	cf_crypto_random(pk3, 32);
	/* the account's first device reaches all of its zones */
	CHECK_RC(m->ops->device_get(m, pk1, &d, &err), 0);
	CHECK(d.account == a && d.zone[0] == '\0');
	CHECK_RC(m->ops->device_add(m, a, pk2, CF_SCOPE_APPEND_ONLY, "nas",
	             now(), &err),
	    0);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 0);
	CHECK(d.account == a && d.scope == CF_SCOPE_APPEND_ONLY && !d.disabled);
	CHECK(strcmp(d.zone, "nas") == 0);
	CHECK(account_row(m, a).devices == 2);
	/* the same add again is fine; one that would change the scope or
	 * the zone is refused (2), and changes nothing */
	CHECK_RC(m->ops->device_add(m, a, pk2, CF_SCOPE_APPEND_ONLY, "nas",
	             now(), &err),
	    0);
	CHECK_RC(m->ops->device_add(m, a, pk2, 0, NULL, now(), &err), 2);
	CHECK_RC(m->ops->device_add(m, a, pk2, 0, "nas", now(), &err), 2);
	CHECK_RC(m->ops->device_add(m, a, pk2, CF_SCOPE_APPEND_ONLY, "other",
	             now(), &err),
	    2);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 0);
	CHECK(d.scope == CF_SCOPE_APPEND_ONLY && strcmp(d.zone, "nas") == 0);
	CHECK_RC(m->ops->device_add(m, b, pk2, 0, NULL, now(), &err), 1);
	CHECK_RC(m->ops->device_add(m, b, pk1, 0, NULL, now(), &err), 1);
	CHECK_RC(m->ops->device_add(m, (int64_t)1 << 50, pk3, 0, NULL, now(),
	             &err),
	    -1);
	CHECK_RC(m->ops->device_get(m, pk3, &d, &err), 1);
	CHECK_RC(m->ops->device_remove(m, b, pk2, &err), 1);
	CHECK_RC(m->ops->device_remove(m, a, pk2, &err), 0);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 1);
	CHECK_RC(m->ops->device_remove(m, a, pk2, &err), 1);
	CHECK(account_row(m, a).devices == 1);
	/* a removed key may join another account */
	CHECK_RC(m->ops->device_add(m, b, pk2, 0, NULL, now(), &err), 0);
	CHECK_RC(m->ops->device_get(m, pk2, &d, &err), 0);
	CHECK(d.account == b && d.scope == 0 && d.zone[0] == '\0');
}

static int
repo_cb(void *arg, const char *repo)
{
	char *out = arg;

	strcat(out, repo);
	strcat(out, ",");
	return strlen(out) > 200;
}

static int
repo_stop(void *arg, const char *repo)
{
	(void)repo;
	return ++*(int *)arg;
}

static void
t_repo_list(struct cf_meta *m)
{
	static const char *const repos[] = {"zeta", "Alpha", "beta", "a"};
	char blob[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], out[256] = "";
	struct cf_err err = {0};
	enum cf_put_state st;
	int64_t a = new_account(m, 1u << 20, 100, NULL);
	int calls = 0;

	if (m->ops->repo_list == NULL) {
		printf("  (this store has no repo_list)\n");
		return;
	}
	CHECK_RC(m->ops->repo_list(m, a, repo_cb, out, &err), 0);
	CHECK(out[0] == '\0');
	for (size_t i = 0; i < sizeof(repos) / sizeof(repos[0]); i++) {
		cf_blob_key(blob, a, repos[i], 0, "config");
		CHECK_RC(m->ops->put_commit(m, a, repos[i], 0, "config", 10,
		             blob, now(), &st, old, &err),
		    0);
	}
	cf_blob_key(blob, a, "noconfig", KIND, "x");
	CHECK_RC(m->ops->put_commit(m, a, "noconfig", KIND, "x", 10, blob,
	             now(), &st, old, &err),
	    0);
	CHECK_RC(m->ops->object_delete(m, a, "beta", 0, "config", now(), &err),
	    0);
	CHECK_RC(m->ops->repo_list(m, a, repo_cb, out, &err), 0);
	CHECK(strcmp(out, "Alpha,a,zeta,") == 0);
	CHECK_RC(m->ops->repo_list(m, a, repo_stop, &calls, &err), 0);
	CHECK(calls == 1);
	out[0] = '\0';
	CHECK_RC(m->ops->repo_list(m, a + 1000000, repo_cb, out, &err), 0);
	CHECK(out[0] == '\0');
}

/* ---- concurrency --------------------------------------------------------- */

struct race {
	struct cf_meta *m;
	int64_t account;
	int rounds;
	uint8_t hash[32];
	pthread_barrier_t *go;
	atomic_int ok, lost, other, errors;
};

static void
run_threads(void *(*fn)(void *), struct race *r)
{
	pthread_t t[THREADS];
	pthread_barrier_t go;

	pthread_barrier_init(&go, NULL, THREADS);
	r->go = &go;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, fn, r) != 0)
			abort();
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
}

/* One increment of the decimal counter in ref "ctr": 0 done, 1 lost the
 * race (retry), -1 error. */
static int
increment(struct cf_meta *m, int64_t a, struct cf_err *err)
{
	uint8_t val[32];
	char s[32];
	uint64_t v, nv;
	size_t n;

	if (m->ops->ref_get(m, a, "repo", "ctr", val, sizeof(val) - 1, &n, &v,
	        err) != 0)
		return -1;
	val[n] = '\0';
	snprintf(s, sizeof(s), "%llu", strtoull((char *)val, NULL, 10) + 1);
	return m->ops->ref_cas(m, a, "repo", "ctr", v, (const uint8_t *)s,
	    strlen(s), &nv, err);
}

/* ${rounds} successful increments; *errors counts calls that failed
 * (their write may or may not have landed). */
static void
increments(struct cf_meta *m, int64_t a, int rounds, atomic_int *ok,
    atomic_int *lost, atomic_int *errors)
{
	struct cf_err err = {0};

	for (int done = 0; done < rounds;) {
		int rc = increment(m, a, &err);

		if (rc == 0) {
			done++;
			(*ok)++;
		} else if (rc == 1) {
			(*lost)++;
		} else {
			(*errors)++;
			done++;
			if (*errors <= 3)
				fprintf(stderr, "  increment: %s\n", err.msg);
		}
	}
}

static void *
cas_thread(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->go);
	increments(r->m, r->account, r->rounds, &r->ok, &r->lost, &r->errors);
	return NULL;
}

/* The counter's value and version. */
static uint64_t
counter(struct cf_meta *m, int64_t a, uint64_t *version)
{
	struct cf_err err = {0};
	uint8_t val[32];
	size_t n = 0;

	CHECK_RC(m->ops->ref_get(m, a, "repo", "ctr", val, sizeof(val) - 1, &n,
	             version, &err),
	    0);
	val[n] = '\0';
	return strtoull((char *)val, NULL, 10);
}

static int64_t
counter_account(struct cf_meta *m)
{
	struct cf_err err = {0};
	int64_t a = new_account(m, 1, 1, NULL);
	uint64_t v;

	CHECK_RC(m->ops->ref_cas(m, a, "repo", "ctr", 0, (const uint8_t *)"0",
	             1, &v, &err),
	    0);
	return a;
}

static void
t_cas_threads(struct cf_meta *m)
{
	struct race r = {.m = m, .rounds = 40};
	uint64_t version, value;

	r.account = counter_account(m);
	run_threads(cas_thread, &r);
	value = counter(m, r.account, &version);
	CHECK(r.errors == 0);
	CHECK(value == (uint64_t)r.ok && r.ok == THREADS * 40);
	CHECK(version == value + 1);
	printf("  %d increments by %d threads, %d lost races retried\n",
	    (int)r.ok, THREADS, (int)r.lost);
}

/* Run ${fn}(store, account, i) in PROCS processes, each with its own
 * store handle (its own connections); 0 if all exit 0. */
static int
run_procs(int (*fn)(struct cf_meta *, int64_t, int), int64_t a)
{
	pid_t pid[PROCS];
	int bad = 0;

	fflush(NULL);
	for (int i = 0; i < PROCS; i++) {
		if ((pid[i] = fork()) < 0)
			return -1;
		if (pid[i] == 0) {
			struct cf_meta *m = must_open();
			int rc = fn(m, a, i);

			m->ops->close(m);
			fflush(NULL);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		int st;

		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			bad++;
	}
	return bad;
}

static int
cas_proc(struct cf_meta *m, int64_t a, int i)
{
	atomic_int ok = 0, lost = 0, errors = 0;

	(void)i;
	increments(m, a, 50, &ok, &lost, &errors);
	return ok == 50 && errors == 0 ? 0 : 1;
}

static void
t_cas_procs(struct cf_meta *m)
{
	int64_t a = counter_account(m);
	uint64_t version, value;

	CHECK_RC(run_procs(cas_proc, a), 0);
	value = counter(m, a, &version);
	CHECK(value == PROCS * 50 && version == value + 1);
}

static void *
put_thread(void *arg)
{
	struct race *r = arg;
	struct cf_err err = {0};
	char blob[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], name[16];
	enum cf_put_state st;

	pthread_barrier_wait(r->go);
	for (int i = 0; i < r->rounds; i++) {
		snprintf(name, sizeof(name), "same%02d", i);
		blob_key(blob, r->account, name);
		if (r->m->ops->put_commit(r->m, r->account, "repo", KIND, name,
		        1000, blob, now(), &st, old, &err) != 0)
			r->errors++;
		else if (st == CF_PUT_NEW)
			r->ok++;
		else if (st == CF_PUT_EXISTS && old[0] == '\0')
			r->lost++;
		else
			r->other++;
	}
	return NULL;
}

/* THREADS uploads of each of 20 objects at once: one is new, the others
 * find it there; the account is charged once. */
static void
t_put_race(struct cf_meta *m)
{
	struct race r = {.m = m, .rounds = 20};

	r.account = new_account(m, 1u << 30, 1000, NULL);
	run_threads(put_thread, &r);
	CHECK(r.ok == 20 && r.lost == (THREADS - 1) * 20);
	CHECK(r.other == 0 && r.errors == 0);
	CHECK(account_row(m, r.account).used_bytes == 20 * 1000);
	CHECK(account_row(m, r.account).used_objects == 20);
}

static int
put_proc(struct cf_meta *m, int64_t a, int i)
{
	struct race r = {.m = m, .account = a, .rounds = 20};
	pthread_barrier_t go;

	(void)i;
	pthread_barrier_init(&go, NULL, 1);
	r.go = &go;
	put_thread(&r);
	pthread_barrier_destroy(&go);
	printf("  process %d: %d new, %d found\n", i, (int)r.ok, (int)r.lost);
	return r.errors == 0 && r.other == 0 ? 0 : 1;
}

static void
t_put_procs(struct cf_meta *m)
{
	int64_t a = new_account(m, 1u << 30, 1000, NULL);

	CHECK_RC(run_procs(put_proc, a), 0);
	CHECK(account_row(m, a).used_bytes == 20 * 1000);
	CHECK(account_row(m, a).used_objects == 20);
}

static void *
quota_thread(void *arg)
{
	struct race *r = arg;
	int id = atomic_fetch_add(&r->other, 1);
	char blob[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], name[32];
	enum cf_put_state st;
	struct cf_err err = {0};

	pthread_barrier_wait(r->go);
	for (int i = 0; i < r->rounds; i++) {
		snprintf(name, sizeof(name), "q%d-%d", id, i);
		blob_key(blob, r->account, name);
		if (r->m->ops->put_commit(r->m, r->account, "repo", KIND, name,
		        100, blob, now(), &st, old, &err) != 0)
			r->errors++;
		else if (st == CF_PUT_NEW)
			r->ok++;
		else if (st == CF_PUT_QUOTA)
			r->lost++;
	}
	return NULL;
}

/* Racing uploads of distinct objects fill the quota exactly. */
static void
t_quota_race(struct cf_meta *m)
{
	struct race r = {.m = m, .rounds = 5}, r2 = {.m = m, .rounds = 5};
	struct cf_account_row row;

	/* bytes: 25 of the 40 objects of 100 bytes fit */
	r.account = new_account(m, 2500, 1000, NULL);
	run_threads(quota_thread, &r);
	row = account_row(m, r.account);
	CHECK(r.ok == 25 && r.lost == 15 && r.errors == 0);
	CHECK(row.used_bytes == 2500 && row.used_objects == 25);
	/* objects: 7 fit */
	r2.account = new_account(m, 1u << 30, 7, NULL);
	run_threads(quota_thread, &r2);
	row = account_row(m, r2.account);
	CHECK(r2.ok == 7 && r2.lost == 33 && r2.errors == 0);
	CHECK(row.used_bytes == 700 && row.used_objects == 7);
}

static void *
invite_thread(void *arg)
{
	struct race *r = arg;
	struct cf_err err = {0};
	uint8_t pk[32];
	int64_t a;
	int rc;

	cf_crypto_random(pk, 32);
	pthread_barrier_wait(r->go);
	rc = r->m->ops->register_device(r->m, r->hash, pk, 1, 1, now(), &a,
	    &err);
	if (rc == 0)
		r->ok++;
	else if (rc == 1)
		r->lost++;
	else
		r->errors++;
	return NULL;
}

/* An invitation is used once, however many devices race for it. */
static void
t_invite_race(struct cf_meta *m)
{
	struct race r = {.m = m};
	struct cf_err err = {0};

	cf_crypto_random(r.hash, sizeof(r.hash));
	CHECK_RC(m->ops->invite_add(m, r.hash, now() + 60, 0, &err), 0);
	run_threads(invite_thread, &r);
	CHECK(r.ok == 1 && r.lost == THREADS - 1 && r.errors == 0);
}

struct churn {
	struct cf_meta *m;
	int64_t account;
	atomic_int stop;
	pthread_mutex_t mu;
	char made[4096][CF_BLOBKEY_MAX]; /* every blob key committed */
	int nmade;
	char freed[4096][CF_BLOBKEY_MAX]; /* returned as old or purged */
	int nfreed, errors;
};

static void
churn_free(struct churn *c, const char *key)
{
	pthread_mutex_lock(&c->mu);
	if (c->nfreed < 4096)
		snprintf(c->freed[c->nfreed++], CF_BLOBKEY_MAX, "%s", key);
	pthread_mutex_unlock(&c->mu);
}

static int
churn_purged(void *arg, const char *key)
{
	churn_free(arg, key);
	return 0;
}

/* Re-upload and delete one object over and over (deletes stamped 1). */
static void *
churn_uploader(void *arg)
{
	struct churn *c = arg;
	struct cf_err err = {0};
	char blob[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX];
	enum cf_put_state st;

	for (int i = 0; i < 300; i++) {
		blob_key(blob, c->account, "X");
		if (c->m->ops->put_commit(c->m, c->account, "repo", KIND, "X",
		        10, blob, now(), &st, old, &err) != 0) {
			c->errors++;
			continue;
		}
		pthread_mutex_lock(&c->mu);
		if (st == CF_PUT_NEW && c->nmade < 4096)
			snprintf(c->made[c->nmade++], CF_BLOBKEY_MAX, "%s",
			    blob);
		pthread_mutex_unlock(&c->mu);
		if (old[0] != '\0')
			churn_free(c, old);
		if (c->m->ops->object_delete(c->m, c->account, "repo", KIND,
		        "X", 1, &err) < 0)
			c->errors++;
	}
	c->stop = 1;
	return NULL;
}

static void *
churn_purger(void *arg)
{
	struct churn *c = arg;
	struct cf_err err = {0};
	uint64_t n;

	while (!c->stop)
		if (c->m->ops->purge(c->m, 2, churn_purged, c, &n, &err) != 0)
			c->errors++;
	return NULL;
}

static int
churn_count(char (*keys)[CF_BLOBKEY_MAX], int n, const char *key)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += strcmp(keys[i], key) == 0;
	return k;
}

/* Re-uploads racing with purges: every blob key committed is released
 * exactly once (returned as replaced, or purged) unless the row still
 * names it, and usage matches the rows left. */
static void
t_purge_race(struct cf_meta *m)
{
	struct churn *c = calloc(1, sizeof(*c));
	struct cf_err err = {0};
	char cur[CF_BLOBKEY_MAX] = "";
	pthread_t up, pu;
	uint64_t size, n;
	int bad = 0, live;

	c->m = m;
	c->account = new_account(m, 1u << 30, 1000, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_create(&up, NULL, churn_uploader, c);
	pthread_create(&pu, NULL, churn_purger, c);
	pthread_join(up, NULL);
	pthread_join(pu, NULL);
	/* the last delete may not be purged yet: do it now */
	CHECK_RC(m->ops->purge(m, 2, churn_purged, c, &n, &err), 0);
	live = m->ops->object_get(m, c->account, "repo", KIND, "X", &size, cur,
	           &err) == 0;
	for (int i = 0; i < c->nmade; i++)
		bad += churn_count(c->freed, c->nfreed, c->made[i]) != 1;
	CHECK(c->errors == 0 && bad == 0 && !live);
	CHECK(c->nfreed == c->nmade);
	CHECK(account_row(m, c->account).used_objects == 0);
	CHECK(account_row(m, c->account).used_bytes == 0);
	printf("  %d uploads, %d released\n", c->nmade, c->nfreed);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* ---- PostgreSQL only ------------------------------------------------------
 */

/* Opening with a password never shows it, reachable or not. */
static void
t_pg_errors(void)
{
	static const char *const bad[] = {
	    "postgresql://coffer:s3cr3tPW@127.0.0.1:1/coffer?connect_timeout=2",
	    "postgresql://coffer:s3cr3tPW@127.0.0.1:1/coffer?bogus=1",
	    "postgres://coffer:s3cr3tPW@[::1/coffer",
	    "host=127.0.0.1 port=1 password=s3cr3tPW dbname=coffer",
	    "host=127.0.0.1 port=1 password='s3cr3tPW dbname=coffer",
	};
	struct timespec t0, t1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cf_err err = {0};
		struct cf_meta *m;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		m = cf_meta_pg_open(bad[i], &err);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		CHECK(m == NULL && err.code == CF_EDB);
		CHECK(strstr(err.msg, "s3cr3tPW") == NULL);
		CHECK(t1.tv_sec - t0.tv_sec < 10);
		printf("  %s\n", err.msg);
		if (m != NULL)
			m->ops->close(m);
	}
}

/* Migrations are recorded and a second open applies none. */
static void
t_pg_migrate(void)
{
	struct cf_err err = {0};
	int from = -1, to = -1;
	struct cf_meta *m = cf_meta_pg_migrate(spec, &from, &to, &err);

	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(from == to && to >= 1);
	m->ops->close(m);
}

/* Kill this process's database sessions (pg_terminate_backend) every
 * 30 ms while threads increment a counter: operations reconnect and retry,
 * no increment is lost or counted twice, and a failed call (the database
 * went away ATTEMPTS times in a row) is reported as CF_EDB. */
struct killer {
	struct cf_meta *m;
	int64_t account;
	pthread_barrier_t *go;
	atomic_int stop, kills, ok, lost, errors, ambiguous;
};

static void *
kill_thread(void *arg)
{
	struct killer *k = arg;
	char cmd[1024];

	snprintf(cmd, sizeof(cmd),
	    "psql -X -q -A -t -d '%s' -c \"SELECT "
	    "count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
	    "application_name = '%s' AND pid <> pg_backend_pid()\" "
	    ">/dev/null 2>&1",
	    spec, appname);
	while (k->kills < 20) {
		if (system(cmd) == 0)
			k->kills++;
		else
			break;
		usleep(30000);
	}
	k->stop = 1;
	return NULL;
}

static void *
killed_worker(void *arg)
{
	struct killer *k = arg;
	struct cf_err err = {0};
	uint8_t val[32];
	char s[32];
	uint64_t v, nv;
	size_t n;
	int rc;

	while (!k->stop) {
		if (k->m->ops->ref_get(k->m, k->account, "repo", "ctr", val,
		        sizeof(val) - 1, &n, &v, &err) != 0) {
			k->errors++;
			CHECK(err.code == CF_EDB);
			continue;
		}
		val[n] = '\0';
		snprintf(s, sizeof(s), "%llu",
		    strtoull((char *)val, NULL, 10) + 1);
		rc = k->m->ops->ref_cas(k->m, k->account, "repo", "ctr", v,
		    (const uint8_t *)s, strlen(s), &nv, &err);
		if (rc == 0)
			k->ok++;
		else if (rc == 1)
			k->lost++;
		else
			k->ambiguous++;
	}
	return NULL;
}

static void
t_pg_sessions_killed(struct cf_meta *m)
{
	struct killer k = {.m = m};
	pthread_t kt, t[THREADS];
	uint64_t version, value;

	if (system("psql --version >/dev/null 2>&1") != 0) {
		printf("  (no psql: sessions not killed)\n");
		return;
	}
	k.account = counter_account(m);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, killed_worker, &k);
	pthread_create(&kt, NULL, kill_thread, &k);
	pthread_join(kt, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	value = counter(m, k.account, &version);
	printf("  %d increments, %d lost races, %d failed reads, %d failed "
	       "writes, %d kill rounds\n",
	    (int)k.ok, (int)k.lost, (int)k.errors, (int)k.ambiguous,
	    (int)k.kills);
	/* a failed write may have landed; none may land twice */
	CHECK(value >= (uint64_t)k.ok &&
	      value <= (uint64_t)(k.ok + k.ambiguous));
	CHECK(version == value + 1);
	CHECK(k.kills == 20 && k.ok > 0);
}

/* ---- timing ----------------------------------------------------------------
 */

static double
seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
bench_thread(void *arg)
{
	struct race *r = arg;
	char blob[CF_BLOBKEY_MAX], old[CF_BLOBKEY_MAX], name[32];
	int id = atomic_fetch_add(&r->other, 1);

	pthread_barrier_wait(r->go);
	for (int i = 0; i < r->rounds; i++) {
		snprintf(name, sizeof(name), "b%d-%d", id, i);
		if (put(r->m, r->account, name, 1000, blob, old) == CF_PUT_NEW)
			r->ok++;
		else
			r->errors++;
	}
	return NULL;
}

/* put_begin + put_commit of new objects. */
static void
bench(struct cf_meta *m)
{
	struct race r1 = {.m = m, .rounds = 2000};
	struct race rn = {.m = m, .rounds = 1000};
	pthread_barrier_t go;
	double t0, t1;

	r1.account = new_account(m, 1ull << 50, 1u << 30, NULL);
	pthread_barrier_init(&go, NULL, 1);
	r1.go = &go;
	t0 = seconds();
	bench_thread(&r1);
	t1 = seconds();
	pthread_barrier_destroy(&go);
	printf("1 thread:   %d puts in %.2f s: %.0f us per put (begin + commit)"
	       "\n",
	    (int)r1.ok, t1 - t0, (t1 - t0) * 1e6 / r1.rounds);
	rn.account = new_account(m, 1ull << 50, 1u << 30, NULL);
	t0 = seconds();
	run_threads(bench_thread, &rn);
	t1 = seconds();
	printf("%d threads: %d puts in %.2f s: %.0f puts/s\n", THREADS,
	    (int)rn.ok, t1 - t0, rn.ok / (t1 - t0));
	CHECK(r1.errors == 0 && rn.errors == 0);
}

/* ---- driver ---------------------------------------------------------------
 */

struct test {
	const char *name;
	void (*fn)(struct cf_meta *);
};

static const struct test tests[] = {
    {"invites", t_invites},
    {"nonces", t_nonces},
    {"put states and quota", t_put_states},
    {"soft delete", t_soft_delete},
    {"purge", t_purge},
    {"purge with a failing blob store", t_purge_fail},
    {"list pagination and order", t_list},
    {"refs", t_refs},
    {"refs listed and deleted", t_ref_list},
    {"pairing mailboxes purged", t_pair_purge},
    {"accounts, disable, quotas", t_accounts},
    {"accounts stops when asked", t_accounts_stop},
    {"devices added and removed", t_devices},
    {"repositories", t_repo_list},
    {"ref CAS from threads", t_cas_threads},
    {"ref CAS from processes", t_cas_procs},
    {"same object from threads", t_put_race},
    {"same object from processes", t_put_procs},
    {"quota edge under races", t_quota_race},
    {"invitation race", t_invite_race},
    {"purge against re-uploads", t_purge_race},
};

/* Decide what to test from argv; 77 if there is nothing to test. */
static int
choose(int argc, char **argv, char *tmpdir, size_t n)
{
	const char *url;

	if (argc != 2 && (argc != 3 || strcmp(argv[2], "bench") != 0)) {
		fprintf(stderr,
		    "usage: conformance sqlite:[PATH] | DATABASE_URL "
		    "| CONNINFO [bench]\n");
		exit(2);
	}
	if (strcmp(argv[1], "sqlite:") == 0) {
		snprintf(tmpdir, n, "/tmp/cf-conformance-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			return -1;
		spec = NULL;
		return 0;
	}
	spec = argv[1];
	if (strcmp(spec, "DATABASE_URL") == 0) {
		url = getenv("DATABASE_URL");
		if (url == NULL || *url == '\0') {
			printf("SKIP: DATABASE_URL is not set (start one with "
			       "scripts/services/postgres.sh)\n");
			return 77;
		}
		spec = url;
	}
	is_pg = strncmp(spec, "sqlite:", 7) != 0;
	return 0;
}

/* The connection string, tagged with an application_name of this process
 * (so t_pg_sessions_killed kills only its own sessions). */
static const char *
tag_conninfo(const char *conninfo)
{
	static char buf[2048];
	int uri = strncmp(conninfo, "postgresql://", 13) == 0 ||
	          strncmp(conninfo, "postgres://", 11) == 0;

	snprintf(appname, sizeof(appname), "cf-conformance-%ld",
	    (long)getpid());
	snprintf(buf, sizeof(buf), "%s%s%s%s", conninfo,
	    uri ? (strchr(conninfo, '?') ? "&" : "?") : " ",
	    "application_name=", appname);
	return buf;
}

int
main(int argc, char **argv)
{
	struct cf_err err = {0};
	char tmpdir[64] = "", path[128];
	struct cf_meta *m;
	int rc = choose(argc, argv, tmpdir, sizeof(tmpdir));

	if (rc != 0)
		return rc == 77 ? 77 : 1;
	if (cf_crypto_init(&err) != 0)
		return 1;
	if (tmpdir[0] != '\0') {
		snprintf(path, sizeof(path), "sqlite:%s/meta.db", tmpdir);
		spec = path;
	}
	if (is_pg)
		spec = tag_conninfo(spec);
	printf("conformance: %s store\n", is_pg ? "PostgreSQL" : "SQLite");
	m = must_open();
	if (argc == 3) {
		bench(m);
		m->ops->close(m);
		return failures ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int before = failures;
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		tests[i].fn(m);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("%s %s (%.0f ms)\n",
		    failures == before ? "ok  " : "FAIL", tests[i].name,
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		        (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		fflush(stdout);
	}
	if (is_pg) {
		t_pg_errors();
		t_pg_migrate();
		t_pg_sessions_killed(m);
		printf("%s PostgreSQL: errors, migrations, killed sessions\n",
		    failures ? "FAIL" : "ok  ");
	}
	m->ops->close(m);
	if (tmpdir[0] != '\0') {
		snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
		(void)!system(path);
	}
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
