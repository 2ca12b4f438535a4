#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "util/ring.h"

/** cf_ring_init(r, size): map the ring twice, back to back. */
int
cf_ring_init(struct cf_ring *r, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *base;
	int fd, e;

	r->base = NULL;
	r->size = r->dirty = 0;
	if (size == 0 || size > SIZE_MAX / 4) {
		errno = EINVAL;
		return -1;
	}
	size = (size + page - 1) / page * page;
	if ((fd = memfd_create("coffer-ring", MFD_CLOEXEC)) < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) != 0)
		goto fail_fd;
	/* Reserve both halves at once, then map the memory over each. */
	base =
	    mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto fail_fd;
	if (mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
	        0) == MAP_FAILED ||
	    mmap(base + size, size, PROT_READ | PROT_WRITE,
	        MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		e = errno;
		munmap(base, 2 * size);
		errno = e;
		goto fail_fd;
	}
	close(fd); /* the mappings keep the memory */
	r->base = base;
	r->size = size;
	return 0;
fail_fd:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/** cf_ring_free(r): wipe and unmap. */
void
cf_ring_free(struct cf_ring *r)
{
	if (r->base == NULL)
		return;
	sodium_memzero(r->base, r->dirty < r->size ? r->dirty : r->size);
	munmap(r->base, 2 * r->size);
	r->base = NULL;
	r->size = r->dirty = 0;
}
