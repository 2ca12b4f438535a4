/*
 * dio.h: writing large objects past the page cache.
 *
 * A buffered write of a pack costs the kernel a copy into the page cache
 * and, on a machine whose cache is full, reclaim: 1-4 CPU-seconds per
 * 2 GiB on these machines, against 0.07 s with O_DIRECT.  A backup also
 * has no use for its packs in the cache, and would evict the files it
 * reads.  The aligned part of a page-aligned buffer goes O_DIRECT; the
 * unaligned tail, and filesystems without O_DIRECT (tmpfs), go buffered.
 * Durability is unchanged: the caller still fsyncs (O_DIRECT writes data,
 * not the file's size and blocks map).
 */
#ifndef CF_DIO_H
#define CF_DIO_H

#include <stddef.h>
#include <stdint.h>

#define CF_DIO_ALIGN 4096u
#define CF_DIO_MIN (1u << 20) /* smaller writes are not worth it */

/** cf_dio_write(fd, p, n, off, done): write the leading aligned part of
 * ${p} (if ${p} is CF_DIO_ALIGN-aligned and ${n} >= CF_DIO_MIN) with
 * O_DIRECT at offset ${off} (aligned; -1: the file's current offset);
 * *done says how much went.  The fd is left without O_DIRECT.  -1 (errno
 * set) on a write error; 0 otherwise, also when nothing could go direct
 * (then *done is 0). */
int cf_dio_write(int fd, const uint8_t *p, size_t n, int64_t off, size_t *done);

/** cf_write_all(fd, p, n, off): write everything at ${off} (-1: at the
 * current offset), EINTR-safe; -1 with errno. */
int cf_write_all(int fd, const uint8_t *p, size_t n, int64_t off);

#endif
