/*
 * smallobj: small-object requests per second against cofferd, through the
 * client's own HTTP store (lib/net: every request signed with the device
 * key, connections kept alive), from several threads at once.
 *
 *   smallobj CONFIGDIR URL COUNT THREADS [SIZE]     (THREADS 1..64)
 *
 * Stores COUNT objects of SIZE bytes (default 1024, random, named by the
 * hash of their bytes, which the server recomputes), then reads each back
 * (GET, compared), then asks each one's size (HEAD), then deletes them,
 * each phase spread over THREADS threads; prints one line per phase:
 * "put|get|head|delete COUNT requests in S s: R requests/s".
 * Exit: 0, 1 on any failed request, 2 usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "device/device.h"
#include "net/net.h"
#include "util/buf.h"

#define MAXT 64

enum phase { PUT, GET, HEAD, DEL };

struct ctx {
	struct cf_store *s;
	uint8_t *objs;
	char (*names)[65];
	size_t count, size, nthreads;
	enum phase ph;
	atomic_size_t next;
	atomic_int failed;
	struct cf_err err;
};

static void *
run(void *arg)
{
	struct ctx *c = arg;
	struct cf_err err = {0};
	struct cf_buf b;
	uint64_t sz;
	size_t i;
	int rc;

	cf_buf_init(&b, c->size + 1);
	while ((i = atomic_fetch_add(&c->next, 1)) < c->count &&
	       !atomic_load(&c->failed)) {
		const uint8_t *p = c->objs + i * c->size;

		switch (c->ph) {
		case PUT:
			rc = cf_store_put(c->s, CF_KIND_PACK, c->names[i], p,
			    c->size, 0, &err);
			break;
		case GET:
			b.len = 0;
			rc = cf_store_get(c->s, CF_KIND_PACK, c->names[i], 0,
			    c->size, &b, &err);
			if (rc == 0 &&
			    (b.len != c->size || memcmp(b.p, p, c->size) != 0))
				rc = cf_err_set(&err, CF_EFORMAT,
				    "object %s came back different",
				    c->names[i]);
			break;
		case HEAD:
			rc = cf_store_size(c->s, CF_KIND_PACK, c->names[i], &sz,
			    &err);
			if (rc == 0 && sz != c->size)
				rc = cf_err_set(&err, CF_EFORMAT,
				    "object %s has the wrong size",
				    c->names[i]);
			break;
		default:
			rc =
			    cf_store_del(c->s, CF_KIND_PACK, c->names[i], &err);
			break;
		}
		if (rc != 0 && atomic_exchange(&c->failed, 1) == 0)
			c->err = err;
	}
	cf_buf_release(&b);
	return NULL;
}

static int
phase(struct ctx *c, enum phase ph, const char *label)
{
	pthread_t th[MAXT];
	struct timespec t0, t1;
	size_t n = c->nthreads, started = 0;
	double s;

	c->ph = ph;
	atomic_store(&c->next, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, run, c) != 0)
			break;
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (started == 0 || atomic_load(&c->failed)) {
		fprintf(stderr, "smallobj: %s: %s\n", label,
		    started ? c->err.msg : "cannot start threads");
		return 1;
	}
	s = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s %zu requests in %.2f s: %.0f requests/s\n", label, c->count,
	    s, (double)c->count / s);
	return 0;
}

/* ${s} as a whole decimal number in [lo, hi], or 0. */
static size_t
number(const char *s, size_t lo, size_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo ||
	    v > hi)
		return 0;
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	struct ctx c = {0};
	struct cf_device *dev;
	struct cf_err err = {0};
	int rc = 1;

	if (argc < 5 || argc > 6) {
		fprintf(stderr,
		    "usage: smallobj CONFIGDIR URL COUNT THREADS [SIZE]\n");
		return 2;
	}
	c.count = number(argv[3], 1, 1000000);
	c.nthreads = number(argv[4], 1, MAXT);
	c.size = argc > 5 ? number(argv[5], 1, 1u << 20) : 1024;
	if (c.count == 0 || c.nthreads == 0 || c.size == 0) {
		fprintf(stderr, "smallobj: COUNT 1..1000000, THREADS 1..64, "
		                "SIZE 1..1048576\n");
		return 2;
	}
	if (cf_crypto_init(&err) || cf_net_global_init(&err) ||
	    (dev = cf_device_load(argv[1], 0, &err)) == NULL ||
	    (c.s = cf_store_http_open(argv[2], dev, &err)) == NULL) {
		fprintf(stderr, "smallobj: %s\n", err.msg);
		return 1;
	}
	cf_device_free(dev);
	c.objs = malloc(c.count * c.size);
	c.names = malloc(c.count * sizeof(*c.names));
	if (c.objs == NULL || c.names == NULL) {
		fprintf(stderr, "smallobj: out of memory\n");
		return 1;
	}
	cf_crypto_random(c.objs, c.count * c.size);
	for (size_t i = 0; i < c.count; i++) {
		uint8_t h[32];

		cf_crypto_hash(c.objs + i * c.size, c.size, h);
		cf_hex(c.names[i], h, 32);
	}
	if (phase(&c, PUT, "put") == 0 && phase(&c, GET, "get") == 0 &&
	    phase(&c, HEAD, "head") == 0 && phase(&c, DEL, "delete") == 0)
		rc = 0;
	cf_store_free(c.s);
	free(c.objs);
	free(c.names);
	return rc;
}
