/*
 * cache.c: the mount's bounded LRU cache of trees and chunks.
 *
 * One mutex guards the hash table, the LRU list, the read-ahead queue and
 * the counters; loading happens outside it.  An entry is in the hash table
 * from the moment someone starts loading it until it is evicted (or its
 * load fails), and in the LRU list exactly when it is ready and unpinned.
 */
#include <stdlib.h>
#include <string.h>

#include "mount/mount_internal.h"

#define NBUCKETS 16384u /* power of two */
#define QCAP 64         /* read-ahead queue */

enum { LOADING, READY, FAILED };

struct cf_mcache {
	pthread_mutex_t mu;
	pthread_cond_t done; /* an entry left LOADING */
	pthread_cond_t work; /* the queue has work, or stop */
	const struct cf_mcache_ops *ops;
	void *ctx;
	struct cf_mentry *tab[NBUCKETS];
	struct cf_mentry lru; /* sentinel; lru.next: least recently used */
	uint64_t budget, bytes;
	struct cf_mentry *q[QCAP];
	size_t qh, qn;
	pthread_t *th;
	int nth, stop;
	struct cf_mcache_stats st;
};

static uint64_t
cost(const struct cf_mentry *e)
{
	return e->len + sizeof(*e);
}

static struct cf_mentry **
bucket(struct cf_mcache *c, const uint8_t id[static 32])
{
	return &c->tab[cf_le32_get(id) & (NBUCKETS - 1)];
}

static struct cf_mentry *
find(struct cf_mcache *c, const uint8_t id[static 32])
{
	struct cf_mentry *e = *bucket(c, id);

	while (e != NULL && memcmp(e->id, id, 32) != 0)
		e = e->hnext;
	return e;
}

static void
unhash(struct cf_mcache *c, struct cf_mentry *e)
{
	struct cf_mentry **pp = bucket(c, e->id);

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp == e)
		*pp = e->hnext;
	e->hnext = NULL;
}

static void
lru_unlink(struct cf_mentry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct cf_mcache *c, struct cf_mentry *e)
{
	e->prev = c->lru.prev;
	e->next = &c->lru;
	c->lru.prev->next = e;
	c->lru.prev = e;
}

/* Unlink unpinned entries, oldest first, until within budget; they are
 * chained on ->hnext for drop_all() once the lock is released. */
static struct cf_mentry *
evict(struct cf_mcache *c)
{
	struct cf_mentry *out = NULL;

	while (c->bytes > c->budget && c->lru.next != &c->lru) {
		struct cf_mentry *e = c->lru.next;

		lru_unlink(e);
		unhash(c, e);
		c->bytes -= cost(e);
		c->st.evicted++;
		e->hnext = out;
		out = e;
	}
	return out;
}

static void
drop_all(struct cf_mcache *c, struct cf_mentry *e)
{
	while (e != NULL) {
		struct cf_mentry *next = e->hnext;

		if (e->val != NULL)
			c->ops->drop(e->val, e->len);
		free(e);
		e = next;
	}
}

static struct cf_mentry *
put_locked(struct cf_mcache *c, struct cf_mentry *e)
{
	if (--e->refs > 0)
		return NULL;
	if (e->state == FAILED) {
		free(e);
		return NULL;
	}
	lru_push(c, e);
	return evict(c);
}

/* Record the outcome of a load and wake whoever waits for it. */
static void
complete(struct cf_mcache *c, struct cf_mentry *e, int rc, void *val,
    size_t len)
{
	struct cf_mentry *gone = NULL;

	pthread_mutex_lock(&c->mu);
	if (rc == 0) {
		e->val = val;
		e->len = len;
		e->state = READY;
		c->bytes += cost(e);
		gone = evict(c);
	} else {
		e->state = FAILED;
		unhash(c, e);
	}
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->mu);
	drop_all(c, gone);
}

static int
load(struct cf_mcache *c, struct cf_mentry *e, struct cf_err *err)
{
	void *val = NULL;
	size_t len = 0;
	int rc = c->ops->load(c->ctx, e->id, &val, &len, err);

	complete(c, e, rc, val, len);
	return rc;
}

/* Insert a new entry, being loaded by the caller (lock held). */
static struct cf_mentry *
add_loading(struct cf_mcache *c, const uint8_t id[static 32])
{
	struct cf_mentry *e = calloc(1, sizeof(*e));
	struct cf_mentry **b = bucket(c, id);

	if (e == NULL)
		return NULL;
	memcpy(e->id, id, 32);
	e->state = LOADING;
	e->refs = 1;
	e->hnext = *b;
	*b = e;
	return e;
}

/* Pin an entry found in the table, waiting while it loads (lock held). */
static struct cf_mentry *
pin_found(struct cf_mcache *c, struct cf_mentry *e, struct cf_err *err)
{
	if (e->state == READY && e->refs == 0)
		lru_unlink(e);
	e->refs++;
	if (e->state == READY) {
		c->st.hits++;
		return e;
	}
	c->st.waits++;
	while (e->state == LOADING)
		pthread_cond_wait(&c->done, &c->mu);
	if (e->state == READY)
		return e;
	(void)put_locked(c, e);
	cf_err_set(err, CF_EIO, "could not be read (see the first error)");
	return NULL;
}

/** cf_mcache_get(c, id, err): the pinned entry of ${id}. */
struct cf_mentry *
cf_mcache_get(struct cf_mcache *c, const uint8_t id[static 32],
    struct cf_err *err)
{
	struct cf_mentry *e;

	pthread_mutex_lock(&c->mu);
	if ((e = find(c, id)) != NULL) {
		e = pin_found(c, e, err);
		pthread_mutex_unlock(&c->mu);
		return e;
	}
	c->st.misses++;
	e = add_loading(c, id);
	pthread_mutex_unlock(&c->mu);
	if (e == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	if (load(c, e, err) != 0) {
		cf_mcache_put(c, e);
		return NULL;
	}
	return e;
}

/** cf_mcache_put(c, e): unpin ${e}. */
void
cf_mcache_put(struct cf_mcache *c, struct cf_mentry *e)
{
	struct cf_mentry *gone;

	if (e == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	gone = put_locked(c, e);
	pthread_mutex_unlock(&c->mu);
	drop_all(c, gone);
}

/** cf_mcache_prefetch(c, id): queue ${id} for a worker. */
void
cf_mcache_prefetch(struct cf_mcache *c, const uint8_t id[static 32])
{
	struct cf_mentry *e;

	pthread_mutex_lock(&c->mu);
	if (c->nth > 0 && !c->stop && c->qn < QCAP && find(c, id) == NULL &&
	    (e = add_loading(c, id)) != NULL) {
		c->q[(c->qh + c->qn++) % QCAP] = e;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->mu);
}

static void *
worker(void *arg)
{
	struct cf_mcache *c = arg;
	struct cf_err err;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct cf_mentry *e;

		while (!c->stop && c->qn == 0)
			pthread_cond_wait(&c->work, &c->mu);
		if (c->stop)
			break;
		e = c->q[c->qh];
		c->qh = (c->qh + 1) % QCAP;
		c->qn--;
		c->st.prefetched++;
		pthread_mutex_unlock(&c->mu);
		/* A failure is reported again to the reader that needs it. */
		(void)load(c, e, &err);
		cf_mcache_put(c, e);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static int
start_workers(struct cf_mcache *c, int threads, struct cf_err *err)
{
	if (threads <= 0)
		return 0;
	if ((c->th = cf_alloc_array((size_t)threads, sizeof(pthread_t))) ==
	    NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	for (; c->nth < threads; c->nth++)
		if (pthread_create(&c->th[c->nth], NULL, worker, c) != 0)
			return cf_err_set(err, CF_EINTERNAL,
			    "cannot start a read-ahead thread");
	return 0;
}

/** cf_mcache_new(ops, ctx, budget, threads, err): an empty cache. */
struct cf_mcache *
cf_mcache_new(const struct cf_mcache_ops *ops, void *ctx, uint64_t budget,
    int threads, struct cf_err *err)
{
	struct cf_mcache *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done, NULL);
	pthread_cond_init(&c->work, NULL);
	c->ops = ops;
	c->ctx = ctx;
	c->budget = budget;
	c->lru.prev = c->lru.next = &c->lru;
	if (start_workers(c, threads, err) != 0) {
		cf_mcache_free(c);
		return NULL;
	}
	return c;
}

static void
stop_workers(struct cf_mcache *c)
{
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nth; i++)
		pthread_join(c->th[i], NULL);
	free(c->th);
	/* Queued entries nobody loaded: still in the table, never pinned by
	 * anyone else once the file system is gone. */
	for (; c->qn > 0; c->qn--, c->qh = (c->qh + 1) % QCAP)
		c->q[c->qh]->state = FAILED;
}

/** cf_mcache_free(c): stop, drop everything. */
void
cf_mcache_free(struct cf_mcache *c)
{
	if (c == NULL)
		return;
	stop_workers(c);
	for (size_t i = 0; i < NBUCKETS; i++)
		drop_all(c, c->tab[i]);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/** cf_mcache_stats(c, s): counters so far. */
void
cf_mcache_stats(struct cf_mcache *c, struct cf_mcache_stats *s)
{
	pthread_mutex_lock(&c->mu);
	*s = c->st;
	s->bytes = c->bytes;
	pthread_mutex_unlock(&c->mu);
}
