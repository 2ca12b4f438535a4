/*
 * test_dio.c: lib/util/dio.h: whatever goes direct and whatever goes
 * buffered, the file holds exactly the bytes given, at the offsets given:
 * aligned and unaligned buffers, lengths below and above the direct
 * minimum, aligned and unaligned offsets, the current-offset form, and a
 * file written in pieces (direct, then a buffered tail, then direct again
 * after a hole), as restore does.  The folder is the test's own temporary
 * one (its filesystem may or may not take O_DIRECT: both must work).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dio.h"

#include "check.h"

#define BIG (3u << 20)

static uint8_t *
aligned(size_t n)
{
	void *p = NULL;

	return posix_memalign(&p, CF_DIO_ALIGN, n) == 0 ? p : NULL;
}

/* The file at ${path} is exactly ${n} bytes equal to ${want}. */
static int
file_is(const char *path, const uint8_t *want, size_t n)
{
	size_t len = 0;
	char *got = test_read_file(path, &len);
	int ok = got != NULL && len == n && memcmp(got, want, n) == 0;

	free(got);
	return ok;
}

/* One write through cf_dio_write + cf_write_all of ${n} bytes from
 * ${src} at ${off} (or the current offset when -1) into a new file. */
static void
one(const char *dir, const uint8_t *src, size_t n, int64_t off)
{
	char path[4096];
	uint8_t *want = calloc(1, n + (off > 0 ? (size_t)off : 0) + 1);
	size_t done = 99, base = off > 0 ? (size_t)off : 0;
	int fd;

	test_join(path, sizeof(path), dir, "one");
	REQUIRE(want != NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	CHECK(cf_dio_write(fd, src, n, off, &done) == 0);
	CHECK(done <= n && done % CF_DIO_ALIGN == 0);
	CHECK(cf_write_all(fd, src + done, n - done,
	          off < 0 ? -1 : off + (int64_t)done) == 0);
	/* the descriptor is left without O_DIRECT */
	CHECK((fcntl(fd, F_GETFL) & O_DIRECT) == 0);
	close(fd);
	memcpy(want + base, src, n);
	CHECK(file_is(path, want, base + n));
	free(want);
}

int
main(int argc, char **argv)
{
	char dir[4096], path[4096];
	uint64_t seed = 7;
	uint8_t *a = aligned(BIG + CF_DIO_ALIGN), *want;
	size_t done;
	int fd;

	(void)argc;
	(void)argv;
	REQUIRE(a != NULL && test_tmpdir(dir, sizeof(dir)) == 0);
	test_fill(&seed, a, BIG + CF_DIO_ALIGN);

	one(dir, a, BIG, -1);                   /* aligned: direct */
	one(dir, a, BIG + 123, -1);             /* plus an unaligned tail */
	one(dir, a, 1000, -1);                  /* too small: buffered */
	one(dir, a + 1, BIG, -1);               /* unaligned buffer */
	one(dir, a, BIG, 8 * CF_DIO_ALIGN);     /* aligned offset */
	one(dir, a, BIG + 7, 3 * CF_DIO_ALIGN); /* aligned offset, tail */
	one(dir, a, BIG, 100);                  /* unaligned offset */

	/* Restore's pattern: direct, buffered tail, hole, direct again. */
	test_join(path, sizeof(path), dir, "pieces");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0 && (want = calloc(1, 4 * BIG)) != NULL);
	CHECK(cf_dio_write(fd, a, BIG, 0, &done) == 0);
	CHECK(cf_write_all(fd, a + done, BIG - done, (int64_t)done) == 0);
	CHECK(cf_write_all(fd, a, 777, BIG) == 0); /* unaligned end */
	memcpy(want, a, BIG);
	memcpy(want + BIG, a, 777);
	/* a hole up to 2*BIG (aligned), then direct again */
	CHECK(cf_dio_write(fd, a, BIG, 2 * BIG, &done) == 0);
	CHECK(cf_write_all(fd, a + done, BIG - done, 2 * BIG + (int64_t)done) ==
	      0);
	memcpy(want + 2 * BIG, a, BIG);
	CHECK(ftruncate(fd, 3 * BIG) == 0);
	close(fd);
	CHECK(file_is(path, want, 3 * BIG));
	free(want);

	/* A bad descriptor: -1, not a crash. */
	CHECK(cf_dio_write(-1, a, BIG, 0, &done) == 0 && done == 0);
	CHECK(cf_write_all(-1, a, 10, -1) == -1);

	free(a);
	test_rm_rf(dir);
	return check_done("unit-dio");
}
