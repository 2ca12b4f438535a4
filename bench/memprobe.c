/*
 * memprobe.c: milliseconds to map and fault in 64 MiB of fresh anonymous
 * memory (what libsodium's Argon2id does with MAP_POPULATE for coffer's
 * default KDF).  On a quiet machine this is 15-20 ms; on this project's VM,
 * which hands free memory back to its host, it sometimes takes 100-230 ms,
 * and every tool that allocates pays the same.  bench/run.sh runs it after
 * each timed step and reports it beside the step, so that a slow step can
 * be told apart from a slow machine.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

int
main(void)
{
	const size_t n = (size_t)64 << 20;
	struct timespec a, b;
	void *p;

	clock_gettime(CLOCK_MONOTONIC, &a);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (p == MAP_FAILED) {
		perror("memprobe: mmap");
		return 1;
	}
	munmap(p, n);
	printf("%.1f\n", (double)(b.tv_sec - a.tv_sec) * 1e3 +
	                     (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	return 0;
}
