/*
 * mkmedia.c: the benchmark's incompressible "media" corpus, deterministic.
 * Built by bench/run.sh:  cc -O2 bench/mkmedia.c -lsodium
 *
 * usage: mkmedia DIR TOTAL_MIB SEED
 *
 * Writes files of random sizes between 1 and 30 MiB (uniform, byte
 * granularity) until TOTAL_MIB MiB are written, ten files a folder:
 * DIR/album-NN/clip-NNNN.bin.  Sizes come from splitmix64(SEED); contents
 * from libsodium's randombytes_buf_deterministic (ChaCha20) seeded with
 * (SEED, file number), so the same arguments give the same bytes anywhere.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#define MIB (1024ull * 1024)
#define SZ_MIN (1 * MIB)
#define SZ_MAX (30 * MIB)

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int
main(int argc, char **argv)
{
	uint64_t total, left, state, seed;
	uint8_t *buf;
	unsigned idx = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: mkmedia DIR TOTAL_MIB SEED\n");
		return 2;
	}
	total = strtoull(argv[2], NULL, 10) * MIB;
	seed = state = strtoull(argv[3], NULL, 10);
	if (total < SZ_MIN || sodium_init() < 0)
		return 2;
	if ((buf = malloc(SZ_MAX)) == NULL)
		return 1;
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	for (left = total; left > 0; idx++) {
		uint64_t sz =
		    SZ_MIN + splitmix64(&state) % (SZ_MAX - SZ_MIN + 1);
		uint8_t key[randombytes_SEEDBYTES] = {0};
		char path[4096];
		FILE *f;

		if (sz > left)
			sz = left;
		if (left - sz < SZ_MIN && left - sz > 0)
			sz = left <= SZ_MAX ? left : left / 2;
		memcpy(key, &seed, sizeof(seed));
		memcpy(key + 8, &idx, sizeof(idx));
		randombytes_buf_deterministic(buf, (size_t)sz, key);
		snprintf(path, sizeof(path), "%s/album-%02u", argv[1],
		    idx / 10);
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			perror(path);
			return 1;
		}
		snprintf(path, sizeof(path), "%s/album-%02u/clip-%04u.bin",
		    argv[1], idx / 10, idx);
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(buf, 1, (size_t)sz, f) != sz || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		left -= sz;
	}
	printf("%u files, %llu bytes\n", idx, (unsigned long long)total);
	free(buf);
	return 0;
}
