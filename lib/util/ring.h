/*
 * ring.h: a ring buffer mapped twice, back to back, so that any run of up
 * to its size bytes, starting anywhere in it, is contiguous in memory.
 *
 * The backup reads files through one: the chunker needs CF_CHUNK_MAX bytes
 * ahead of every cut, and a flat buffer must either be twice that (memory:
 * 8 MiB more per thread) or move what is left to its front at every refill
 * (copying ~2x the data read).  With the mirror, nothing moves, and the
 * buffer need only be a little larger than the look-ahead.
 */
#ifndef CF_RING_H
#define CF_RING_H

#include <stddef.h>
#include <stdint.h>

struct cf_ring {
	uint8_t *base; /* 2 * size bytes of address space, one memory */
	size_t size;
	size_t dirty; /* set by the user: base[0, dirty) may hold data */
};

/** cf_ring_init(r, size): map a ring of ${size} bytes (rounded up to the
 * page size): base[i] and base[i + size] are the same byte.  -1 with errno
 * if it cannot be made. */
int cf_ring_init(struct cf_ring *r, size_t size);
/** cf_ring_at(r, pos): where stream position ${pos} lives; valid for
 * r->size bytes. */
static inline uint8_t *
cf_ring_at(const struct cf_ring *r, uint64_t pos)
{
	return r->base + (size_t)(pos % r->size);
}
/** cf_ring_free(r): wipe what r->dirty says may hold data (file content),
 * without touching pages never used, and unmap; a ring that was never
 * made is a no-op. */
void cf_ring_free(struct cf_ring *r);

#endif
