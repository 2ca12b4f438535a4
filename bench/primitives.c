/*
 * primitives.c: single-core speed of every primitive coffer's data path
 * uses, so that a backup or restore time can be compared with what its
 * CPU work must cost at least.  Built by bench/run.sh (not by meson):
 *
 *   cc -O2 -Ilib bench/primitives.c build-bench/libcoffer.a -lsodium -lzstd
 *
 * usage: primitives [SECONDS] < LIST
 *   LIST: NUL-separated file names of "source-like" data (the benchmark's
 *   source tree); up to 64 MiB of them is loaded, file boundaries kept, so
 *   that zstd can be measured both per file (coffer stores each small file
 *   as one chunk, one zstd frame) and on 1 MiB blocks.
 *
 * Every figure is measured on one thread with CLOCK_THREAD_CPUTIME_ID, so
 * it is a per-core speed (other load on the machine does not lower it
 * much).  Output: one line per primitive, tab-separated:
 *   name  value  unit  note
 * where unit is MiB/s (of input, per CPU-second) or ops/s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zstd.h>

#include "chunker/chunker.h"

#define MIB (1024.0 * 1024.0)
#define BLOCK (1u << 20)
#define SAMPLE_MAX (64u << 20)
#define MAXFILES 200000

static double min_secs = 0.5;

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
emit(const char *name, double value, const char *unit, const char *note)
{
	printf("%s\t%.1f\t%s\t%s\n", name, value, unit, note);
	fflush(stdout);
}

/* Source-like sample: concatenated files with their boundaries. */
static uint8_t *sample;
static size_t sample_len;
static size_t *fend; /* fend[i]: end offset of file i */
static size_t nfiles;

static void
load_sample(void)
{
	char name[8192];
	size_t nl = 0;
	int c;

	sample = malloc(SAMPLE_MAX);
	fend = malloc(MAXFILES * sizeof(*fend));
	if (sample == NULL || fend == NULL)
		exit(1);
	while ((c = getchar()) != EOF) {
		if (c != 0) {
			if (nl + 1 < sizeof(name))
				name[nl++] = (char)c;
			continue;
		}
		name[nl] = '\0';
		nl = 0;
		FILE *f = fopen(name, "rb");
		if (f == NULL)
			continue;
		size_t r =
		    fread(sample + sample_len, 1, SAMPLE_MAX - sample_len, f);
		fclose(f);
		if (r == 0)
			continue;
		sample_len += r;
		fend[nfiles++] = sample_len;
		if (sample_len == SAMPLE_MAX || nfiles == MAXFILES)
			break;
	}
	if (sample_len < BLOCK) {
		fprintf(stderr,
		    "primitives: need at least 1 MiB of sample data "
		    "on stdin (NUL-separated file names)\n");
		exit(1);
	}
}

static void
bench_xchacha(const uint8_t *in, uint8_t *out)
{
	uint8_t key[32], nonce[24] = {0};
	double t0 = cpu_now(), t;
	size_t bytes = 0;

	randombytes_buf(key, sizeof(key));
	do {
		crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, BLOCK,
		    NULL, 0, NULL, nonce, key);
		nonce[0]++;
		bytes += BLOCK;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("xchacha20poly1305_seal", bytes / MIB / t, "MiB/s",
	    "1 MiB messages");

	/* open the last one repeatedly */
	uint8_t *dec = malloc(BLOCK);
	if (dec == NULL)
		exit(1);
	nonce[0]--;
	bytes = 0;
	t0 = cpu_now();
	do {
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(dec, NULL, NULL,
		        out, BLOCK + 16, NULL, 0, nonce, key) != 0)
			abort();
		bytes += BLOCK;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("xchacha20poly1305_open", bytes / MIB / t, "MiB/s",
	    "1 MiB messages");
	free(dec);
}

static void
bench_aesgcm(const uint8_t *in, uint8_t *out)
{
	uint8_t key[32], nonce[12] = {0};
	double t0, t;
	size_t bytes = 0;

	if (!crypto_aead_aes256gcm_is_available()) {
		emit("aes256gcm_seal", 0, "MiB/s", "not available on this CPU");
		return;
	}
	randombytes_buf(key, sizeof(key));
	t0 = cpu_now();
	do {
		crypto_aead_aes256gcm_encrypt(out, NULL, in, BLOCK, NULL, 0,
		    NULL, nonce, key);
		nonce[0]++;
		bytes += BLOCK;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("aes256gcm_seal", bytes / MIB / t, "MiB/s",
	    "1 MiB messages (for the record; coffer does not use it)");
}

static void
bench_blake2b(const uint8_t *in)
{
	uint8_t key[32], id[32];
	double t0 = cpu_now(), t;
	size_t bytes = 0, i = 0;

	randombytes_buf(key, sizeof(key));
	do {
		crypto_generichash(id, 32, in, BLOCK, key, 32);
		bytes += BLOCK;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("blake2b256_keyed", bytes / MIB / t, "MiB/s",
	    "1 MiB inputs (chunk IDs)");

	/* per source file: the per-call overhead at small sizes */
	bytes = 0;
	t0 = cpu_now();
	do {
		size_t s = i ? fend[i - 1] : 0;

		crypto_generichash(id, 32, sample + s, fend[i] - s, key, 32);
		bytes += fend[i] - s;
		i = (i + 1) % nfiles;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("blake2b256_keyed_perfile", bytes / MIB / t, "MiB/s",
	    "one call per source file");
}

/* zstd level 3 on a sample cut as ${mode}: 0 per file, 1 per 1 MiB block. */
static void
bench_zstd_source(int perfile)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t cap = ZSTD_compressBound(BLOCK) + 64, nb;
	size_t nparts = perfile ? nfiles : (sample_len + BLOCK - 1) / BLOCK;
	uint8_t *out = malloc(cap), *dec = malloc(BLOCK);
	uint8_t **frames = calloc(nparts, sizeof(*frames));
	size_t *flen = calloc(nparts, sizeof(*flen));
	size_t raw = 0, comp = 0, i = 0, bytes = 0;
	double t0, t;

	if (cc == NULL || dc == NULL || out == NULL || dec == NULL ||
	    frames == NULL || flen == NULL)
		exit(1);
#define PART(i, s, n)                                                          \
	size_t s = perfile ? ((i) ? fend[(i)-1] : 0) : (i) * (size_t)BLOCK;    \
	size_t n = perfile ? fend[i] - s                                       \
	                   : (sample_len - s < BLOCK ? sample_len - s : BLOCK)
	/* one pass to keep frames for decompression and get the ratio */
	for (i = 0; i < nparts; i++) {
		PART(i, s, n);
		if (n > BLOCK)
			n = BLOCK; /* a larger file is several chunks anyway */
		nb = ZSTD_compressCCtx(cc, out, cap, sample + s, n, 3);
		if (ZSTD_isError(nb))
			abort();
		frames[i] = malloc(nb);
		memcpy(frames[i], out, nb);
		flen[i] = nb;
		raw += n;
		comp += nb;
	}
	t0 = cpu_now();
	i = 0;
	do {
		PART(i, s, n);
		if (n > BLOCK)
			n = BLOCK;
		nb = ZSTD_compressCCtx(cc, out, cap, sample + s, n, 3);
		bytes += n;
		i = (i + 1) % nparts;
	} while ((t = cpu_now() - t0) < min_secs);
	{
		char note[128];

		snprintf(note, sizeof(note), "%s, ratio %.3f (compressed/raw)",
		    perfile ? "one frame per source file" : "1 MiB blocks",
		    (double)comp / (double)raw);
		emit(perfile ? "zstd3_compress_source_perfile"
		             : "zstd3_compress_source_1MiB",
		    bytes / MIB / t, "MiB/s", note);
	}
	t0 = cpu_now();
	i = 0;
	bytes = 0;
	do {
		nb = ZSTD_decompressDCtx(dc, dec, BLOCK, frames[i], flen[i]);
		if (ZSTD_isError(nb))
			abort();
		bytes += nb;
		i = (i + 1) % nparts;
	} while ((t = cpu_now() - t0) < min_secs);
	emit(perfile ? "zstd_decompress_source_perfile"
	             : "zstd_decompress_source_1MiB",
	    bytes / MIB / t, "MiB/s", "output bytes per second");
#undef PART
	for (i = 0; i < nparts; i++)
		free(frames[i]);
	free(frames);
	free(flen);
	free(out);
	free(dec);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
}

static void
bench_zstd_random(const uint8_t *rnd, size_t rlen)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(BLOCK), nb = 0, bytes = 0, off = 0;
	uint8_t *out = malloc(cap);
	double t0 = cpu_now(), t;

	do {
		nb = ZSTD_compressCCtx(cc, out, cap, rnd + off, BLOCK, 3);
		bytes += BLOCK;
		off = (off + BLOCK) % (rlen - BLOCK);
	} while ((t = cpu_now() - t0) < min_secs);
	{
		char note[96];

		snprintf(note, sizeof(note),
		    "1 MiB blocks of random data (ratio %.3f: stored raw)",
		    (double)nb / BLOCK);
		emit("zstd3_compress_random", bytes / MIB / t, "MiB/s", note);
	}
	free(out);
	ZSTD_freeCCtx(cc);
}

static void
bench_box(void)
{
	uint8_t pk[32], sk[32], key[32], sealed[32 + crypto_box_SEALBYTES];
	double t0, t;
	size_t ops = 0;

	crypto_box_keypair(pk, sk);
	randombytes_buf(key, sizeof(key));
	t0 = cpu_now();
	do {
		crypto_box_seal(sealed, key, 32, pk);
		ops++;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("x25519_sealed_box_seal", ops / t, "ops/s",
	    "wrap a 32-byte object key (every pack/index/snapshot written)");
	ops = 0;
	t0 = cpu_now();
	do {
		if (crypto_box_seal_open(key, sealed, sizeof(sealed), pk, sk) !=
		    0)
			abort();
		ops++;
	} while ((t = cpu_now() - t0) < min_secs);
	emit("x25519_sealed_box_open", ops / t, "ops/s",
	    "unwrap a 32-byte object key (every pack/index/snapshot read)");
}

static void
bench_chunker(const uint8_t *rnd, size_t rlen)
{
	struct cf_chunker c;
	uint8_t key[32];
	size_t bytes = 0, off = 0, cuts = 0, cut;
	double t0, t;

	randombytes_buf(key, sizeof(key));
	cf_chunker_init(&c, key);
	t0 = cpu_now();
	do {
		size_t n = rlen - off;

		cut = cf_chunker_cut(&c, rnd + off, n);
		bytes += cut;
		cuts++;
		off += cut;
		if (rlen - off < CF_CHUNK_MAX)
			off = 0;
	} while ((t = cpu_now() - t0) < min_secs || cuts < 64);
	{
		char note[128];

		/* The chunker skips the first CF_CHUNK_MIN - 64 bytes of every
		 * chunk: the figure is per byte of data chunked. */
		snprintf(note, sizeof(note),
		    "cf_chunker_cut (libcoffer), random data, mean chunk %.2f "
		    "MiB",
		    bytes / MIB / (double)cuts);
		emit("chunker_cut", bytes / MIB / t, "MiB/s", note);
	}
}

static void
bench_memcpy(const uint8_t *in, uint8_t *out)
{
	size_t bytes = 0;
	double t0 = cpu_now(), t;

	do {
		memcpy(out, in, BLOCK);
		bytes += BLOCK;
		__asm__ volatile("" ::"r"(out) : "memory");
	} while ((t = cpu_now() - t0) < min_secs);
	emit("memcpy", bytes / MIB / t, "MiB/s",
	    "1 MiB, cache-resident (reference)");
}

int
main(int argc, char **argv)
{
	size_t rlen = 64u << 20;
	uint8_t *rnd, *out;
	uint8_t seed[randombytes_SEEDBYTES] = {'b', 'e', 'n', 'c', 'h'};

	if (argc > 1)
		min_secs = atof(argv[1]);
	if (sodium_init() < 0)
		return 1;
	load_sample();
	rnd = malloc(rlen);
	out = malloc(BLOCK + 64);
	if (rnd == NULL || out == NULL)
		return 1;
	randombytes_buf_deterministic(rnd, rlen, seed);
	fprintf(stderr, "primitives: sample %.1f MiB in %zu files\n",
	    sample_len / MIB, nfiles);

	bench_chunker(rnd, rlen);
	bench_blake2b(rnd);
	bench_xchacha(rnd, out);
	bench_aesgcm(rnd, out);
	bench_zstd_source(1);
	bench_zstd_source(0);
	bench_zstd_random(rnd, rlen);
	bench_box();
	bench_memcpy(rnd, out);
	return 0;
}
