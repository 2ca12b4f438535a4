/*
 * test_blobs_s3: the S3 blob store against a real S3 (Ceph radosgw in CI).
 *
 *   test_blobs_s3            the checks (exit 77, skipped, unless
 *                            S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY
 *                            are set; S3_REGION, S3_BUCKET, S3_TIMEOUT
 *                            (the store's stall timeout) optional)
 *   test_blobs_s3 --bench N DIR   N x 8 MiB PUT then GET through the S3
 *                            store and through the folder store in DIR
 *
 * Every run works under a fresh random prefix of the bucket and removes
 * what it wrote.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "server/backend.h"

#define MIB (1u << 20)

static struct cf_s3_config cfg;

static int
env_config(struct cf_s3_config *c, const char *prefix)
{
	const char *e = getenv("S3_ENDPOINT"), *a = getenv("S3_ACCESS_KEY"),
	           *k = getenv("S3_SECRET_KEY"), *r = getenv("S3_REGION"),
	           *b = getenv("S3_BUCKET"), *t = getenv("S3_TIMEOUT");
	struct cf_err err;

	if (e == NULL || a == NULL || k == NULL || !*e || !*a || !*k)
		return 1;
	memset(c, 0, sizeof(*c));
	if (cf_s3_config_set(c, "endpoint", e, &err) ||
	    cf_s3_config_set(c, "access_key", a, &err) ||
	    cf_s3_config_set(c, "secret_key", k, &err) ||
	    cf_s3_config_set(c, "region", r && *r ? r : "us-east-1", &err) ||
	    cf_s3_config_set(c, "bucket", b && *b ? b : "coffer-test", &err) ||
	    cf_s3_config_set(c, "prefix", prefix, &err) ||
	    (t != NULL && cf_s3_config_set(c, "timeout", t, &err))) {
		fprintf(stderr, "bad S3 settings: %s\n", err.msg);
		exit(1);
	}
	return 0;
}

static struct cf_blobs *
open_store(void)
{
	struct cf_err err;
	struct cf_blobs *b = cf_blobs_s3_open(&cfg, &err);

	if (b == NULL)
		fprintf(stderr, "cf_blobs_s3_open: %s\n", err.msg);
	REQUIRE(b != NULL);
	return b;
}

/* Upload ${p} in pieces of pseudo-random sizes up to ${piece}. */
static int
put(struct cf_blobs *b, const char *key, const uint8_t *p, size_t n,
    size_t piece, struct cf_err *err)
{
	struct cf_blobw *w = b->ops->write_open(b, key, err);
	uint64_t st = n;

	if (w == NULL)
		return -1;
	for (size_t off = 0; off < n;) {
		size_t k = 1 + (size_t)(test_rand(&st) % piece);

		if (k > n - off)
			k = n - off;
		if (b->ops->write(w, p + off, k, err) != 0) {
			fprintf(stderr, "put %s: %s\n", key, err->msg);
			b->ops->write_abort(w);
			return -1;
		}
		off += k;
	}
	if (b->ops->write_commit(w, err) != 0) {
		fprintf(stderr, "put %s: %s\n", key, err->msg);
		return -1;
	}
	return 0;
}

/* Read [off, off + len) back through read_open's hint, in reads of up to
 * 256 KiB as the HTTP layer does, and compare. */
static int
get_eq(struct cf_blobs *b, const char *key, const uint8_t *want, uint64_t size,
    uint64_t off, uint64_t len)
{
	struct cf_err err;
	uint64_t got_size = 0;
	struct cf_blobr *r =
	    b->ops->read_open(b, key, off, len, &got_size, &err);
	uint8_t *buf = malloc(256 * 1024);
	int ok = r != NULL && buf != NULL && got_size == size;

	if (r == NULL)
		fprintf(stderr, "read_open %s: %s\n", key, err.msg);
	for (uint64_t at = off; ok && at < off + len;) {
		size_t n = off + len - at < 256 * 1024
		               ? (size_t)(off + len - at)
		               : 256 * 1024;
		long k = b->ops->read(r, at, buf, n, &err);

		ok = k > 0 && memcmp(buf, want + at, (size_t)k) == 0;
		if (k < 0)
			fprintf(stderr, "read %s at %llu: %s\n", key,
			    (unsigned long long)at, err.msg);
		at += k > 0 ? (uint64_t)k : 0;
	}
	if (ok && off + len >= size) { /* and the end reads as the end */
		long k = b->ops->read(r, size, buf, 1, &err);

		ok = k == 0;
	}
	if (r != NULL)
		b->ops->read_close(r);
	free(buf);
	return ok;
}

struct count {
	size_t n;
	uint64_t bytes;
	char last[256];
};

static int
count_key(void *arg, const char *key, uint64_t size)
{
	struct count *c = arg;

	c->n++;
	c->bytes += size;
	snprintf(c->last, sizeof(c->last), "%s", key);
	return 0;
}

static struct count
list(struct cf_blobs *b, const char *prefix)
{
	struct count c = {0};
	struct cf_err err;

	if (cf_blobs_s3_list(b, prefix, count_key, &c, &err) != 0) {
		fprintf(stderr, "list: %s\n", err.msg);
		c.n = (size_t)-1;
	}
	return c;
}

static uint64_t
uploads(struct cf_blobs *b)
{
	struct cf_err err;
	uint64_t n = 99;

	if (cf_blobs_s3_uploads(b, &n, &err) != 0)
		fprintf(stderr, "uploads: %s\n", err.msg);
	return n;
}

static void
test_small(struct cf_blobs *b, uint64_t *st)
{
	uint8_t p[70000];
	struct cf_err err;
	uint64_t size;
	struct cf_blobr *r;

	test_fill(st, p, sizeof(p));
	REQUIRE(put(b, "small/a", p, sizeof(p), 5000, &err) == 0);
	CHECK(get_eq(b, "small/a", p, sizeof(p), 0, sizeof(p)));
	CHECK(get_eq(b, "small/a", p, sizeof(p), 1, 10));
	CHECK(get_eq(b, "small/a", p, sizeof(p), 65536, sizeof(p) - 65536));
	CHECK(get_eq(b, "small/a", p, sizeof(p), sizeof(p) - 1, 1));
	/* random access outside the hinted range still works */
	r = b->ops->read_open(b, "small/a", 100, 10, &size, &err);
	REQUIRE(r != NULL);
	CHECK(size == sizeof(p));
	for (int i = 0; i < 20; i++) {
		uint8_t q[300];
		uint64_t off = test_rand(st) % sizeof(p);
		long k = b->ops->read(r, off, q, sizeof(q), &err);

		CHECK(k > 0 && memcmp(q, p + off, (size_t)k) == 0);
	}
	b->ops->read_close(r);
	/* the empty object */
	REQUIRE(put(b, "small/empty", p, 0, 1, &err) == 0);
	r = b->ops->read_open(b, "small/empty", 0, 0, &size, &err);
	CHECK(r != NULL && size == 0);
	b->ops->read_close(r);
	/* a hint past the end: the size is still right */
	r = b->ops->read_open(b, "small/a", sizeof(p) + 5, 10, &size, &err);
	CHECK(r != NULL && size == sizeof(p));
	b->ops->read_close(r);
	/* absent */
	CHECK(b->ops->read_open(b, "small/none", 0, 10, &size, &err) == NULL &&
	      err.code == CF_ENOTFOUND);
	CHECK(b->ops->read_open(b, "small/none", 0, 0, &size, &err) == NULL &&
	      err.code == CF_ENOTFOUND);
	/* delete, twice */
	CHECK(b->ops->del(b, "small/a", &err) == 0);
	CHECK(b->ops->del(b, "small/a", &err) == 0);
	CHECK(b->ops->del(b, "small/empty", &err) == 0);
	CHECK(b->ops->read_open(b, "small/a", 0, 10, &size, &err) == NULL &&
	      err.code == CF_ENOTFOUND);
	CHECK(list(b, "small/").n == 0);
}

static void
test_multipart(struct cf_blobs *b, uint64_t *st)
{
	size_t n = 20 * MIB + 12345;
	uint8_t *p = malloc(n);
	struct cf_err err;
	struct count c;

	REQUIRE(p != NULL);
	test_fill(st, p, n);
	REQUIRE(put(b, "mp/big", p, n, 300000, &err) == 0);
	c = list(b, "mp/");
	CHECK(c.n == 1 && c.bytes == n && !strcmp(c.last, "mp/big"));
	CHECK(uploads(b) == 0);
	CHECK(get_eq(b, "mp/big", p, n, 0, n));
	/* ranges across the 8 MiB part boundaries */
	CHECK(get_eq(b, "mp/big", p, n, 8 * MIB - 100, 200));
	CHECK(get_eq(b, "mp/big", p, n, 16 * MIB - 3 * MIB, 5 * MIB));
	CHECK(get_eq(b, "mp/big", p, n, n - 1000, 1000));
	/* exactly one part: a single PUT, read back whole */
	REQUIRE(put(b, "mp/eight", p, 8 * MIB, 1 * MIB, &err) == 0);
	CHECK(get_eq(b, "mp/eight", p, 8 * MIB, 0, 8 * MIB));
	CHECK(b->ops->del(b, "mp/big", &err) == 0);
	CHECK(b->ops->del(b, "mp/eight", &err) == 0);
	CHECK(list(b, "mp/").n == 0);
	free(p);
}

static void
test_abort(struct cf_blobs *b, uint64_t *st)
{
	size_t n = 12 * MIB;
	uint8_t *p = malloc(n);
	struct cf_blobw *w;
	struct cf_err err;

	REQUIRE(p != NULL);
	test_fill(st, p, n);
	/* small: never left the buffer */
	REQUIRE((w = b->ops->write_open(b, "ab/small", &err)) != NULL);
	REQUIRE(b->ops->write(w, p, 1000, &err) == 0);
	b->ops->write_abort(w);
	/* large: one part uploaded, then aborted */
	REQUIRE((w = b->ops->write_open(b, "ab/large", &err)) != NULL);
	REQUIRE(b->ops->write(w, p, n, &err) == 0);
	CHECK(uploads(b) == 1);
	b->ops->write_abort(w);
	CHECK(uploads(b) == 0);
	CHECK(list(b, "ab/").n == 0);
	/* a large upload that is never committed is not visible meanwhile */
	REQUIRE((w = b->ops->write_open(b, "ab/pending", &err)) != NULL);
	REQUIRE(b->ops->write(w, p, n, &err) == 0);
	CHECK(list(b, "ab/").n == 0);
	REQUIRE(b->ops->write_commit(w, &err) == 0);
	CHECK(list(b, "ab/").n == 1);
	CHECK(b->ops->del(b, "ab/pending", &err) == 0);
	free(p);
}

struct worker {
	struct cf_blobs *b;
	int id, ok;
};

static void *
work(void *arg)
{
	struct worker *wk = arg;
	uint64_t st = (uint64_t)wk->id;
	uint8_t p[100000];
	struct cf_err err;
	char key[64];

	wk->ok = 1;
	for (int i = 0; i < 10 && wk->ok; i++) {
		snprintf(key, sizeof(key), "mt/%d/%d", wk->id, i);
		test_fill(&st, p, sizeof(p));
		wk->ok = put(wk->b, key, p, sizeof(p), 20000, &err) == 0 &&
		         get_eq(wk->b, key, p, sizeof(p), 0, sizeof(p)) &&
		         wk->b->ops->del(wk->b, key, &err) == 0;
	}
	return NULL;
}

static void
test_threads(struct cf_blobs *b)
{
	struct worker wk[8];
	pthread_t t[8];

	for (int i = 0; i < 8; i++) {
		wk[i] = (struct worker){b, i, 0};
		REQUIRE(pthread_create(&t[i], NULL, work, &wk[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK(wk[i].ok);
	}
	CHECK(list(b, "mt/").n == 0);
}

struct waiter {
	struct cf_blobs *b;
	const uint8_t *p;
	double t;
	int ok;
};

static double now(void);

static void *
wait_write(void *arg)
{
	struct waiter *wt = arg;
	double t0 = now();
	struct cf_err err;

	wt->ok = put(wt->b, "mem/c", wt->p, 1 * MIB, 256 * 1024, &err) == 0;
	wt->t = now() - t0;
	return NULL;
}

/* With memory_mib = 16 and 8 MiB parts, two large uploads take all the
 * buffer memory: a third waits until one of them is done. */
static void
test_memory_cap(void)
{
	struct cf_s3_config m = cfg;
	struct cf_blobw *a, *b2;
	struct cf_blobs *b;
	struct waiter wt = {0};
	struct cf_err err;
	uint8_t *p = calloc(1, 9 * MIB);
	pthread_t t;

	m.memory_mib = 16;
	REQUIRE(p != NULL && (b = cf_blobs_s3_open(&m, &err)) != NULL);
	REQUIRE((a = b->ops->write_open(b, "mem/a", &err)) != NULL);
	REQUIRE((b2 = b->ops->write_open(b, "mem/b", &err)) != NULL);
	REQUIRE(b->ops->write(a, p, 9 * MIB, &err) == 0);
	REQUIRE(b->ops->write(b2, p, 9 * MIB, &err) == 0);
	wt = (struct waiter){b, p, 0, 0};
	REQUIRE(pthread_create(&t, NULL, wait_write, &wt) == 0);
	sleep(1);
	CHECK(b->ops->write_commit(a, &err) == 0);
	pthread_join(t, NULL);
	CHECK(wt.ok && wt.t >= 0.9);
	b->ops->write_abort(b2);
	CHECK(get_eq(b, "mem/c", p, 1 * MIB, 0, 1 * MIB));
	CHECK(b->ops->del(b, "mem/a", &err) == 0);
	CHECK(b->ops->del(b, "mem/c", &err) == 0);
	CHECK(list(b, "mem/").n == 0 && uploads(b) == 0);
	b->ops->close(b);
	free(p);
}

struct filler {
	struct cf_blobs *b;
	int from, to, ok;
};

static void *
fill(void *arg)
{
	struct filler *f = arg;
	struct cf_err err;
	char key[64];

	f->ok = 1;
	for (int i = f->from; i < f->to && f->ok; i++) {
		snprintf(key, sizeof(key), "ls/%05d", i);
		f->ok = put(f->b, key, (const uint8_t *)key, 8, 8, &err) == 0;
	}
	return NULL;
}

static void *
unfill(void *arg)
{
	struct filler *f = arg;
	struct cf_err err;
	char key[64];

	f->ok = 1;
	for (int i = f->from; i < f->to && f->ok; i++) {
		snprintf(key, sizeof(key), "ls/%05d", i);
		f->ok = f->b->ops->del(f->b, key, &err) == 0;
	}
	return NULL;
}

/* A listing longer than one page (1000 keys): continuation tokens. */
static void
test_list_pages(struct cf_blobs *b)
{
	struct filler f[8];
	pthread_t t[8];
	struct count c;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 8; i++) {
			f[i] = (struct filler){b, i * 140, i * 140 + 140, 0};
			REQUIRE(pthread_create(&t[i], NULL,
			            pass ? unfill : fill, &f[i]) == 0);
		}
		for (int i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			CHECK(f[i].ok);
		}
		c = list(b, "ls/");
		CHECK(c.n == (pass ? 0 : 1120));
		CHECK(pass ||
		      (c.bytes == 1120 * 8 && !strcmp(c.last, "ls/01119")));
	}
}

static void
test_refused(void)
{
	struct cf_s3_config bad = cfg;
	struct cf_err err;

	snprintf(bad.secret_key, sizeof(bad.secret_key), "not-the-secret");
	CHECK(cf_blobs_s3_open(&bad, &err) == NULL && err.code == CF_EAUTH);
	bad = cfg;
	snprintf(bad.endpoint, sizeof(bad.endpoint), "http://127.0.0.1:9");
	bad.attempts = 2;
	CHECK(cf_blobs_s3_open(&bad, &err) == NULL && err.code == CF_ENET);
}

/* Virtual-host style (BUCKET.HOST/KEY), if the test S3 answers it. */
static void
test_vhost(uint64_t *st)
{
	const char *e = getenv("S3_VHOST_ENDPOINT");
	struct cf_s3_config v = cfg;
	struct cf_blobs *b;
	struct cf_err err;
	uint8_t p[300000];

	if (e == NULL || *e == '\0') {
		printf("virtual-host style not tested: S3_VHOST_ENDPOINT not "
		       "set\n");
		return;
	}
	REQUIRE(cf_s3_config_set(&v, "endpoint", e, &err) == 0);
	v.virtual_host = 1;
	v.part_mib = 5;
	b = cf_blobs_s3_open(&v, &err);
	if (b == NULL)
		fprintf(stderr, "virtual-host open: %s\n", err.msg);
	REQUIRE(b != NULL);
	test_fill(st, p, sizeof(p));
	CHECK(put(b, "vh/a b+c=d", p, sizeof(p), 40000, &err) == 0);
	CHECK(get_eq(b, "vh/a b+c=d", p, sizeof(p), 7, sizeof(p) - 7));
	CHECK(list(b, "vh/").n == 1 &&
	      !strcmp(list(b, "vh/").last, "vh/a b+c=d"));
	CHECK(b->ops->del(b, "vh/a b+c=d", &err) == 0);
	CHECK(list(b, "vh/").n == 0);
	b->ops->close(b);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_one(const char *name, struct cf_blobs *b, int n, const uint8_t *p)
{
	struct cf_err err;
	char key[64];
	double t0 = now(), t1, t2;

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		REQUIRE(put(b, key, p, 8 * MIB, 256 * 1024, &err) == 0);
	}
	t1 = now();
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		REQUIRE(get_eq(b, key, p, 8 * MIB, 0, 8 * MIB));
	}
	t2 = now();
	printf("%-7s %d x 8 MiB PUT %6.2f s %7.1f MiB/s   GET %6.2f s %7.1f "
	       "MiB/s\n",
	    name, n, t1 - t0, 8.0 * n / (t1 - t0), t2 - t1,
	    8.0 * n / (t2 - t1));
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "bench/%d", i);
		REQUIRE(b->ops->del(b, key, &err) == 0);
	}
}

static int
bench(int n, const char *dir)
{
	struct cf_err err;
	struct cf_blobs *s3 = open_store(), *d = cf_blobs_dir_open(dir, &err);
	uint8_t *p = malloc(8 * MIB);
	uint64_t st = 7;

	REQUIRE(d != NULL && p != NULL);
	test_fill(&st, p, 8 * MIB);
	bench_one("folder", d, n, p);
	bench_one("s3", s3, n, p);
	d->ops->close(d);
	s3->ops->close(s3);
	free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cf_blobs *b;
	struct cf_err err;
	uint8_t r[6];
	char prefix[64], hex[13];
	uint64_t st = 42;

	REQUIRE(cf_crypto_init(&err) == 0 && cf_net_global_init(&err) == 0);
	cf_crypto_random(r, sizeof(r));
	cf_hex(hex, r, sizeof(r));
	snprintf(prefix, sizeof(prefix), "test-blobs-%s", hex);
	if (env_config(&cfg, prefix) != 0) {
		printf("SKIP: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY not "
		       "set\n");
		return 77;
	}
	if (argc == 4 && !strcmp(argv[1], "--bench"))
		return bench(atoi(argv[2]), argv[3]);
	b = open_store();
	test_small(b, &st);
	test_multipart(b, &st);
	test_abort(b, &st);
	test_threads(b);
	test_list_pages(b);
	test_refused();
	test_memory_cap();
	test_vhost(&st);
	CHECK(list(b, "").n == 0);
	CHECK(uploads(b) == 0);
	b->ops->close(b);
	return check_done("test_blobs_s3");
}
