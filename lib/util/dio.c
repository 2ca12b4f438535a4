#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/dio.h"

static ssize_t
put(int fd, const uint8_t *p, size_t n, int64_t off)
{
	return off < 0 ? write(fd, p, n) : pwrite(fd, p, n, (off_t)off);
}

int
cf_write_all(int fd, const uint8_t *p, size_t n, int64_t off)
{
	while (n > 0) {
		ssize_t w = put(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
		if (off >= 0)
			off += w;
	}
	return 0;
}

int
cf_dio_write(int fd, const uint8_t *p, size_t n, int64_t off, size_t *done)
{
	size_t head = n & ~(size_t)(CF_DIO_ALIGN - 1);
	int fl;

	*done = 0;
	if (n < CF_DIO_MIN || ((uintptr_t)p & (CF_DIO_ALIGN - 1)) != 0 ||
	    (off > 0 && ((uint64_t)off & (CF_DIO_ALIGN - 1)) != 0) ||
	    (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_DIRECT) != 0)
		return 0;
	while (*done < head) {
		ssize_t w = put(fd, p + *done, head - *done,
		    off < 0 ? -1 : off + (int64_t)*done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EINVAL)
			return -1;
		/* EINVAL: no O_DIRECT on this filesystem; a short write
		 * leaves an unaligned offset.  Either way, the rest goes
		 * the buffered way. */
		if (w <= 0)
			break;
		*done += (size_t)w;
		if (((size_t)w & (CF_DIO_ALIGN - 1)) != 0)
			break;
	}
	return fcntl(fd, F_SETFL, fl & ~O_DIRECT);
}
