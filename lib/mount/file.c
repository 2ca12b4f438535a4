/*
 * file.c: an open file of the mount: where each chunk begins (from the
 * index's raw lengths, once per open), reads at any offset through the
 * chunk cache, and read-ahead of the next chunks when reads follow each
 * other.
 */
#include <stdlib.h>
#include <string.h>

#include "mount/mount_internal.h"

/* Reads this close to where the last one ended still count as sequential:
 * the kernel's read-ahead sends several reads at once, out of order. */
#define SEQ_SLACK (4ull << 20)
/* Read-ahead starts once this much has been read in sequence: a random
 * read comes with the kernel's own read-ahead of the next 128 KiB, which
 * must not look like a sequential reader. */
#define SEQ_MIN (1ull << 20)

/** cf_mfile_free(f): NULL is a no-op. */
void
cf_mfile_free(struct cf_mfile *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->mu);
	free(f->ids);
	free(f->offs);
	free(f);
}

static int
map_chunks(struct cf_repo *r, struct cf_mfile *f, struct cf_err *err)
{
	for (size_t i = 0; i < f->n; i++) {
		struct cf_loc loc;
		int rc = cf_index_lookup(r->index, f->ids + 32 * i, &loc, err);

		if (rc == 1 || (rc == 0 && loc.e.type != CF_BLOB_DATA)) {
			char hex[17];

			cf_hex(hex, f->ids + 32 * i, 8);
			return cf_err_set(err, CF_ENOTFOUND,
			    "chunk %s is missing from the repository", hex);
		}
		if (rc != 0)
			return -1;
		f->offs[i + 1] = f->offs[i] + loc.e.rawlen;
	}
	return 0;
}

/** cf_mfile_open(r, n, err): the chunk map of file node ${n}. */
struct cf_mfile *
cf_mfile_open(struct cf_repo *r, const struct cf_node *n, struct cf_err *err)
{
	struct cf_mfile *f = calloc(1, sizeof(*f));

	if (f == NULL)
		goto nomem;
	pthread_mutex_init(&f->mu, NULL);
	f->n = n->nchunks;
	f->ids = cf_alloc_array(f->n + 1, 32);
	f->offs = cf_alloc_array(f->n + 1, sizeof(uint64_t));
	if (f->ids == NULL || f->offs == NULL)
		goto nomem;
	memcpy(f->ids, n->chunks, 32 * f->n);
	f->offs[0] = 0;
	if (map_chunks(r, f, err) != 0)
		goto err0;
	return f;
nomem:
	cf_err_set(err, CF_ENOMEM, "out of memory");
err0:
	cf_mfile_free(f);
	return NULL;
}

/* The chunk holding byte ${off} (< f->offs[f->n]). */
static size_t
chunk_at(const struct cf_mfile *f, uint64_t off)
{
	size_t lo = 0, hi = f->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->offs[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Queue the chunks after ${c} for read-ahead if this read at ${off}
 * follows the previous ones. */
static void
read_ahead(struct cf_mfile *f, struct cf_mcache *cache, size_t ra, size_t c,
    uint64_t off, uint64_t end)
{
	size_t from, to;
	int near, seq;

	pthread_mutex_lock(&f->mu);
	near = off + SEQ_SLACK >= f->next_off && off <= f->next_off + SEQ_SLACK;
	f->run = near ? f->run + (end - off) : end - off;
	if (end > f->next_off || !near)
		f->next_off = end;
	seq = near && f->run >= SEQ_MIN;
	from = seq && f->ra_next > c + 1 ? f->ra_next : c + 1;
	to = seq ? c + 1 + ra : c + 1;
	if (to > f->n)
		to = f->n;
	if (to > f->ra_next || !seq)
		f->ra_next = to;
	pthread_mutex_unlock(&f->mu);
	for (size_t i = from; i < to; i++)
		cf_mcache_prefetch(cache, f->ids + 32 * i);
}

/* Copy from chunk ${c} into ${buf}; the count, or -1. */
static long
copy_chunk(struct cf_mfile *f, struct cf_mcache *cache, size_t c, uint8_t *buf,
    size_t size, uint64_t off, struct cf_err *err)
{
	struct cf_mentry *e = cf_mcache_get(cache, f->ids + 32 * c, err);
	uint64_t in = off - f->offs[c];
	size_t n;

	if (e == NULL)
		return -1;
	if (e->len != f->offs[c + 1] - f->offs[c]) {
		cf_mcache_put(cache, e);
		return cf_err_set(err, CF_EFORMAT,
		    "chunk length differs from the index");
	}
	n = e->len - in < size ? (size_t)(e->len - in) : size;
	memcpy(buf, (const uint8_t *)e->val + in, n);
	cf_mcache_put(cache, e);
	return (long)n;
}

/** cf_mfile_read(f, c, ra, buf, size, off, err): read at an offset. */
long
cf_mfile_read(struct cf_mfile *f, struct cf_mcache *cache, size_t ra,
    uint8_t *buf, size_t size, uint64_t off, struct cf_err *err)
{
	uint64_t total = f->offs[f->n];
	size_t done = 0, c;

	if (off >= total || size == 0)
		return 0;
	if (size > total - off)
		size = (size_t)(total - off);
	c = chunk_at(f, off);
	read_ahead(f, cache, ra, c, off, off + size);
	while (done < size) {
		long n = copy_chunk(f, cache, c, buf + done, size - done,
		    off + done, err);

		if (n < 0)
			return done > 0 ? (long)done : -1;
		done += (size_t)n;
		c++;
	}
	return (long)done;
}
