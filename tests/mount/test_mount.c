/*
 * test_mount.c: the pure parts of lib/mount: snapshot folder names (a
 * shared second, a shared 8-digit prefix), tag and host names that cannot
 * be folder names, what paths mean; and the cache under threads: values
 * intact, one load per id however many threads ask at once, a failed load
 * retried, the budget kept once nothing is pinned, read-ahead.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mount/mount_internal.h"

#include "check.h"

static struct cf_snapshot *
snap(int64_t sec, char idc, const char *host, const char *tag1,
    const char *tag2)
{
	struct cf_snapshot *s = calloc(1, sizeof(*s));

	REQUIRE(s != NULL);
	s->time_ns = sec * 1000000000 + 123;
	s->host = strdup(host);
	s->user = strdup("u");
	s->version = strdup("t");
	s->tags = calloc(2, sizeof(char *));
	REQUIRE(s->tags != NULL);
	if (tag1 != NULL)
		s->tags[s->ntags++] = strdup(tag1);
	if (tag2 != NULL)
		s->tags[s->ntags++] = strdup(tag2);
	memset(s->name, idc, 64);
	return s;
}

static void
want_name(const struct cf_mview *v, size_t i, int64_t sec, const char *suffix)
{
	char t[64], want[160];

	cf_mview_time_name(t, sizeof(t), sec);
	snprintf(want, sizeof(want), "%s%s", t, suffix);
	if (strcmp(v->names[i], want) != 0)
		fprintf(stderr, "  name %zu: %s, want %s\n", i, v->names[i],
		    want);
	CHECK(strcmp(v->names[i], want) == 0);
}

static int
parse(const struct cf_mview *v, const char *fmt, const char *name,
    struct cf_vpath *vp)
{
	char path[512];

	snprintf(path, sizeof(path), fmt, name);
	return cf_mview_parse(v, path, vp);
}

static void
test_view(void)
{
	struct cf_snapshot **s = calloc(6, sizeof(*s));
	int64_t t0 = 1764321412; /* 2025-11-28 */
	char longtag[300];
	struct cf_mview v;
	struct cf_vpath vp;
	struct cf_err err;

	memset(longtag, 'x', sizeof(longtag) - 1);
	longtag[sizeof(longtag) - 1] = '\0';
	REQUIRE(s != NULL);
	s[0] = snap(t0, 'a', "h1", "daily", "a/b");
	s[1] = snap(t0, 'b', "h1", "daily", "..");
	s[2] = snap(t0 + 1, 'c', "", longtag, NULL);
	s[3] = snap(t0 + 5, 'd', "h/2", NULL, NULL);
	s[4] = snap(t0 + 5, 'd', "h/2", "daily", NULL);
	s[4]->name[63] = 'e'; /* shares 8 digits with s[3] */
	s[5] = snap(t0 + 9, 'f', "h1", NULL, NULL);
	REQUIRE(cf_mview_init(&v, s, 6, &err) == 0);

	want_name(&v, 0, t0, "-aaaaaaaa");
	want_name(&v, 1, t0, "-bbbbbbbb");
	want_name(&v, 2, t0 + 1, "");
	want_name(&v, 3, t0 + 5,
	    "-"
	    "dddddddddddddddddddddddddddddddd"
	    "dddddddddddddddddddddddddddddddd");
	want_name(&v, 4, t0 + 5,
	    "-"
	    "dddddddddddddddddddddddddddddddd"
	    "ddddddddddddddddddddddddddddddde");
	want_name(&v, 5, t0 + 9, "");
	REQUIRE(v.ntags == 2 && v.nhosts == 2);
	CHECK(strcmp(v.tags[0], "a_b") == 0 && strcmp(v.tags[1], "daily") == 0);
	CHECK(strcmp(v.hosts[0], "h1") == 0 && strcmp(v.hosts[1], "h_2") == 0);

	CHECK(cf_mview_parse(&v, "/", &vp) == 0 && vp.kind == CF_V_ROOT);
	CHECK(cf_mview_parse(&v, "/snapshots", &vp) == 0 &&
	      vp.kind == CF_V_SNAPS && vp.group == CF_G_ALL);
	CHECK(parse(&v, "/snapshots/%s/x/y", v.names[2], &vp) == 0 &&
	      vp.kind == CF_V_SNAP && vp.snap == 2 && !strcmp(vp.rest, "x/y"));
	CHECK(parse(&v, "/snapshots/%s", v.names[4], &vp) == 0 &&
	      vp.snap == 4 && !strcmp(vp.rest, ""));
	CHECK(cf_mview_parse(&v, "/latest", &vp) == 0 &&
	      vp.kind == CF_V_LATEST && vp.snap == 5);
	CHECK(cf_mview_parse(&v, "/latest/x", &vp) == -ENOTDIR);
	CHECK(cf_mview_parse(&v, "/tags", &vp) == 0 && vp.kind == CF_V_GROUPS &&
	      vp.group == CF_G_TAG);
	CHECK(cf_mview_parse(&v, "/tags/a_b", &vp) == 0 &&
	      vp.kind == CF_V_SNAPS && vp.gi == 0);
	CHECK(parse(&v, "/tags/a_b/%s/f", v.names[0], &vp) == 0 &&
	      vp.snap == 0 && !strcmp(vp.rest, "f"));
	CHECK(parse(&v, "/tags/a_b/%s", v.names[1], &vp) == -ENOENT);
	CHECK(parse(&v, "/tags/daily/%s", v.names[4], &vp) == 0);
	CHECK(parse(&v, "/hosts/h_2/%s", v.names[3], &vp) == 0 &&
	      vp.group == CF_G_HOST && vp.gi == 1);
	CHECK(parse(&v, "/hosts/h1/%s", v.names[3], &vp) == -ENOENT);
	CHECK(cf_mview_parse(&v, "/tags/..", &vp) == -ENOENT);
	CHECK(cf_mview_parse(&v, "/tags/a", &vp) == -ENOENT);
	CHECK(cf_mview_parse(&v, "/snapshots/2025", &vp) == -ENOENT);
	CHECK(cf_mview_parse(&v, "/nothing", &vp) == -ENOENT);
	CHECK(cf_mview_member(&v, 4, CF_G_TAG, 1) &&
	      !cf_mview_member(&v, 3, CF_G_TAG, 1));
	cf_mview_release(&v);

	REQUIRE(cf_mview_init(&v, NULL, 0, &err) == 0);
	CHECK(cf_mview_parse(&v, "/latest", &vp) == -ENOENT);
	CHECK(cf_mview_parse(&v, "/snapshots", &vp) == 0);
	cf_mview_release(&v);
}

/* The fake store behind the cache: values derived from their ids. */
struct fake {
	atomic_uint loads[256];
	atomic_uint total;
	int slow;
};

static size_t
fake_len(const uint8_t id[static 32])
{
	return 100 + (size_t)id[0] * 8;
}

static int
fake_load(void *ctx, const uint8_t id[static 32], void **val, size_t *len,
    struct cf_err *err)
{
	struct fake *f = ctx;
	uint8_t *p;

	atomic_fetch_add(&f->loads[id[0]], 1);
	atomic_fetch_add(&f->total, 1);
	if (f->slow)
		usleep(20000);
	if (id[1] == 0xff)
		return cf_err_set(err, CF_EIO, "fake failure");
	*len = fake_len(id);
	if ((p = malloc(*len)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < *len; i++)
		p[i] = (uint8_t)(id[0] + i);
	*val = p;
	return 0;
}

static void
fake_drop(void *val, size_t len)
{
	(void)len;
	free(val);
}

static const struct cf_mcache_ops fake_ops = {fake_load, fake_drop};

static void
make_id(uint8_t id[static 32], unsigned k)
{
	memset(id, 0, 32);
	id[0] = (uint8_t)k;
	id[2] = 0x5a;
}

static int
value_ok(const struct cf_mentry *e, const uint8_t id[static 32])
{
	const uint8_t *p = e->val;

	if (e->len != fake_len(id))
		return 0;
	for (size_t i = 0; i < e->len; i++)
		if (p[i] != (uint8_t)(id[0] + i))
			return 0;
	return 1;
}

struct worker {
	struct cf_mcache *c;
	uint64_t seed;
	int bad;
	pthread_barrier_t *go;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	struct cf_err err;
	uint8_t id[32];

	for (int i = 0; i < 20000; i++) {
		struct cf_mentry *e;

		make_id(id, (unsigned)(test_rand(&w->seed) % 200));
		if (i % 7 == 0)
			cf_mcache_prefetch(w->c, id);
		if ((e = cf_mcache_get(w->c, id, &err)) == NULL ||
		    !value_ok(e, id))
			w->bad++;
		cf_mcache_put(w->c, e);
	}
	return NULL;
}

static void *
same_id(void *arg)
{
	struct worker *w = arg;
	struct cf_err err;
	struct cf_mentry *e;
	uint8_t id[32];

	make_id(id, 222);
	pthread_barrier_wait(w->go);
	if ((e = cf_mcache_get(w->c, id, &err)) == NULL || !value_ok(e, id))
		w->bad++;
	cf_mcache_put(w->c, e);
	return NULL;
}

static void
run_threads(void *(*fn)(void *), struct cf_mcache *c, int n)
{
	pthread_t th[8];
	struct worker w[8];
	pthread_barrier_t go;

	REQUIRE(n <= 8);
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){c, (uint64_t)i + 1, 0, &go};
		REQUIRE(pthread_create(&th[i], NULL, fn, &w[i]) == 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].bad == 0);
	}
	pthread_barrier_destroy(&go);
}

static void
test_cache(void)
{
	static struct fake f;
	struct cf_mcache_stats st;
	struct cf_mentry *e, *e2;
	struct cf_mcache *c;
	struct cf_err err;
	uint8_t id[32];
	uint64_t budget = 60000;

	REQUIRE((c = cf_mcache_new(&fake_ops, &f, budget, 2, &err)) != NULL);
	run_threads(hammer, c, 8);
	cf_mcache_stats(c, &st);
	CHECK(st.bytes <= budget);
	CHECK(st.evicted > 0 && st.hits > 0 && st.prefetched > 0);

	/* Eight threads at once on one id: one load.  (An id the hammer
	 * never used: one of its ids may still be cached, or be in the
	 * read-ahead queue, and load 0 or 2 times.) */
	f.slow = 1;
	atomic_store(&f.loads[222], 0);
	run_threads(same_id, c, 8);
	CHECK(atomic_load(&f.loads[222]) == 1);

	/* A failed load is not remembered: the next get tries again. */
	make_id(id, 201);
	id[1] = 0xff;
	f.slow = 0;
	CHECK(cf_mcache_get(c, id, &err) == NULL && err.code == CF_EIO);
	CHECK(cf_mcache_get(c, id, &err) == NULL);
	CHECK(atomic_load(&f.loads[201]) == 2);

	/* Pinned entries stay, even over budget; read-ahead loads once. */
	make_id(id, 250);
	REQUIRE((e = cf_mcache_get(c, id, &err)) != NULL);
	for (unsigned k = 0; k < 200; k++) {
		uint8_t other[32];

		make_id(other, k);
		cf_mcache_put(c, cf_mcache_get(c, other, &err));
	}
	REQUIRE((e2 = cf_mcache_get(c, id, &err)) == e);
	CHECK(value_ok(e2, id));
	cf_mcache_put(c, e2);
	cf_mcache_put(c, e);
	make_id(id, 222);
	atomic_store(&f.loads[222], 0);
	cf_mcache_prefetch(c, id);
	cf_mcache_prefetch(c, id);
	REQUIRE((e = cf_mcache_get(c, id, &err)) != NULL);
	CHECK(value_ok(e, id) && atomic_load(&f.loads[222]) == 1);
	cf_mcache_put(c, e);
	cf_mcache_free(c);
	cf_mcache_free(NULL);
}

int
main(void)
{
	test_view();
	test_cache();
	return check_done("test_mount");
}
