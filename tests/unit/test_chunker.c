/*
 * test_chunker.c: lib/chunker/chunker.h.
 *
 * Known answer: the input is 64 MiB of crypto_stream_xchacha20() keystream
 * under the key 00 01 02 .. 1f and the nonce of 24 zero bytes; the gear
 * key is 32 bytes of 0x42.  The input is cut by calling cf_chunker_cut() on
 * the rest of the input until it is consumed; the resulting chunk lengths,
 * one decimal number a line, must equal vectors/chunker.txt.  If this
 * changes, every existing repository loses deduplication against new
 * backups: change the file only with the chunker's format.
 * Properties: sizes within [CF_CHUNK_MIN, CF_CHUNK_MAX] but the last; the
 * mean near CF_CHUNK_AVG; another key cuts elsewhere; an inserted or
 * deleted byte resynchronises; constant input cuts into equal chunks;
 * short inputs are one chunk.
 * Usage: test_chunker VECTORDIR [--regen]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chunker/chunker.h"
#include "crypto/crypto.h"

#include "check.h"

#define INPUT_BYTES (64u << 20)
#define MAX_CUTS 4096

struct cuts {
	size_t len[MAX_CUTS];
	size_t n;
};

static void
chunk_all(const struct cf_chunker *c, const uint8_t *p, size_t n,
    struct cuts *out)
{
	size_t off = 0;

	out->n = 0;
	while (off < n) {
		size_t k = cf_chunker_cut(c, p + off, n - off);

		REQUIRE(k >= 1 && k <= n - off && out->n < MAX_CUTS);
		out->len[out->n++] = k;
		off += k;
	}
}

static void
key_of(uint8_t key[32], uint8_t v)
{
	memset(key, v, 32);
}

static void
regen(const char *path, const struct cuts *cs)
{
	FILE *f;

	REQUIRE((f = fopen(path, "w")) != NULL);
	fprintf(f,
	    "# Chunk lengths of 64 MiB of crypto_stream_xchacha20(key 00 "
	    "01 .. 1f,\n# nonce 0^24) cut with the gear key 42^32 (see "
	    "test_chunker.c).\n");
	for (size_t i = 0; i < cs->n; i++)
		fprintf(f, "%zu\n", cs->len[i]);
	REQUIRE(fclose(f) == 0);
}

static void
test_golden(const char *path, const struct cuts *cs)
{
	size_t len, n = 0, mismatch = 0;
	char *txt = test_read_file(path, &len), *line, *save = NULL;

	REQUIRE(txt != NULL);
	for (line = strtok_r(txt, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *end;
		unsigned long long v;

		if (line[0] == '#')
			continue;
		v = strtoull(line, &end, 10);
		REQUIRE(*end == '\0' && end != line);
		if (n >= cs->n || cs->len[n] != v) {
			if (mismatch++ < 5)
				fprintf(stderr, "  cut %zu: %zu, want %llu\n",
				    n, n < cs->n ? cs->len[n] : 0, v);
		}
		n++;
	}
	if (n != cs->n)
		fprintf(stderr, "  %zu cuts, want %zu\n", cs->n, n);
	CHECK(mismatch == 0 && n == cs->n);
	free(txt);
}

static void
test_sizes(const struct cuts *cs, size_t total)
{
	size_t sum = 0, atmax = 0;
	double mean;

	for (size_t i = 0; i < cs->n; i++) {
		sum += cs->len[i];
		CHECK(cs->len[i] <= CF_CHUNK_MAX);
		if (i + 1 < cs->n)
			CHECK(cs->len[i] >= CF_CHUNK_MIN);
		atmax += cs->len[i] == CF_CHUNK_MAX;
	}
	CHECK(sum == total);
	/* Normalised FastCDC on random data: the mean lies a little above
	 * the target average; forced cuts at the maximum are rare. */
	mean = (double)(sum - cs->len[cs->n - 1]) / (double)(cs->n - 1);
	printf("chunks: %zu, mean %.0f bytes, %zu at the maximum\n", cs->n,
	    mean, atmax);
	CHECK(mean >= 0.75 * CF_CHUNK_AVG && mean <= 1.6 * CF_CHUNK_AVG);
	CHECK(atmax * 20 <= cs->n);
}

/* Absolute end offsets of the chunks. */
static size_t
cut_points(const struct cuts *cs, size_t *pts)
{
	size_t off = 0;

	for (size_t i = 0; i < cs->n; i++) {
		off += cs->len[i];
		pts[i] = off;
	}
	return cs->n;
}

/* How many cut points of ${a} after ${from} reappear in ${b}, shifted by
 * ${shift}; and how many there were. */
static void
shared_cuts(const struct cuts *a, const struct cuts *b, size_t from, long shift,
    size_t *shared, size_t *total)
{
	static size_t pa[MAX_CUTS], pb[MAX_CUTS];
	size_t na = cut_points(a, pa), nb = cut_points(b, pb), j = 0;

	*shared = *total = 0;
	for (size_t i = 0; i < na; i++) {
		size_t want = (size_t)((long)pa[i] + shift);

		if (pa[i] <= from)
			continue;
		(*total)++;
		while (j < nb && pb[j] < want)
			j++;
		*shared += j < nb && pb[j] == want;
	}
}

static void
test_resync(const struct cf_chunker *c, const uint8_t *in,
    const struct cuts *orig)
{
	static struct cuts ed;
	uint8_t *p = malloc(INPUT_BYTES + 1);
	size_t shared, total, at;

	REQUIRE(p != NULL);
	/* One byte inserted near the start: inside the first chunk's skipped
	 * minimum, so every cut point survives, shifted by one. */
	at = 1000;
	memcpy(p, in, at);
	p[at] = 0x5a;
	memcpy(p + at + 1, in + at, INPUT_BYTES - at);
	chunk_all(c, p, INPUT_BYTES + 1, &ed);
	shared_cuts(orig, &ed, at, 1, &shared, &total);
	CHECK(total == orig->n && shared == total);
	/* One byte inserted in the middle of a chunk, where it is hashed:
	 * cut points before it stay, most after it come back. */
	at = 10 * CF_CHUNK_AVG + 12345;
	memcpy(p, in, at);
	p[at] = 0xa5;
	memcpy(p + at + 1, in + at, INPUT_BYTES - at);
	chunk_all(c, p, INPUT_BYTES + 1, &ed);
	shared_cuts(orig, &ed, at, 1, &shared, &total);
	printf("insert at %zu: %zu of %zu later cut points kept\n", at, shared,
	    total);
	CHECK(total > 20 && shared * 10 >= total * 9);
	for (size_t i = 0, off = 0; i < orig->n && off + orig->len[i] < at;
	     off += orig->len[i], i++)
		CHECK(ed.len[i] == orig->len[i]);
	/* One byte deleted. */
	at = 30 * CF_CHUNK_AVG + 777;
	memcpy(p, in, at);
	memcpy(p + at, in + at + 1, INPUT_BYTES - at - 1);
	chunk_all(c, p, INPUT_BYTES - 1, &ed);
	shared_cuts(orig, &ed, at + 1, -1, &shared, &total);
	CHECK(total > 10 && shared * 10 >= total * 9);
	free(p);
}

static void
test_other_key(const uint8_t *in, const struct cuts *orig)
{
	static struct cuts other;
	struct cf_chunker c2;
	uint8_t key[32];
	size_t shared, total;

	key_of(key, 0x43);
	cf_chunker_init(&c2, key);
	chunk_all(&c2, in, INPUT_BYTES, &other);
	shared_cuts(orig, &other, 0, 0, &shared, &total);
	/* Only the end of the input is certain to be shared. */
	CHECK(shared <= 2);
	/* The same key gives the same table. */
	key_of(key, 0x42);
	cf_chunker_init(&c2, key);
	chunk_all(&c2, in, 8 * CF_CHUNK_MAX, &other);
	for (size_t i = 0; i + 1 < other.n; i++)
		CHECK(other.len[i] == orig->len[i]);
}

static void
test_edges(const struct cf_chunker *c)
{
	static struct cuts cs;
	uint8_t *p = calloc(1, 3 * CF_CHUNK_MAX);

	REQUIRE(p != NULL);
	CHECK(cf_chunker_cut(c, p, 1) == 1);
	CHECK(cf_chunker_cut(c, p, CF_CHUNK_MIN) == CF_CHUNK_MIN);
	CHECK(cf_chunker_cut(c, p, CF_CHUNK_MIN + 1) == CF_CHUNK_MIN + 1);
	/* Constant input: the hash settles, so every chunk has the same
	 * length, whatever it is. */
	chunk_all(c, p, 3 * CF_CHUNK_MAX, &cs);
	for (size_t i = 1; i + 1 < cs.n; i++)
		CHECK(cs.len[i] == cs.len[0]);
	CHECK(cs.len[0] >= CF_CHUNK_MIN && cs.len[0] <= CF_CHUNK_MAX);
	/* Never past the end, never past the maximum. */
	memset(p, 0x11, 3 * CF_CHUNK_MAX);
	for (size_t n = CF_CHUNK_MIN; n < 3 * CF_CHUNK_MAX; n += 999983) {
		size_t k = cf_chunker_cut(c, p, n);

		CHECK(k >= 1 && k <= n && k <= CF_CHUNK_MAX);
	}
	free(p);
}

int
main(int argc, char **argv)
{
	static struct cuts cs;
	uint8_t key[32], nonce[crypto_stream_xchacha20_NONCEBYTES] = {0};
	struct cf_chunker c;
	struct cf_err err;
	char path[4096];
	uint8_t *in;

	REQUIRE(argc >= 2);
	REQUIRE(cf_crypto_init(&err) == 0);
	REQUIRE((in = malloc(INPUT_BYTES)) != NULL);
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	crypto_stream_xchacha20(in, INPUT_BYTES, nonce, key);
	key_of(key, 0x42);
	cf_chunker_init(&c, key);
	chunk_all(&c, in, INPUT_BYTES, &cs);
	test_vector_path(path, sizeof(path), argv[1], "chunker.txt");
	if (argc > 2 && strcmp(argv[2], "--regen") == 0)
		regen(path, &cs);
	test_golden(path, &cs);
	test_sizes(&cs, INPUT_BYTES);
	test_other_key(in, &cs);
	test_resync(&c, in, &cs);
	test_edges(&c);
	free(in);
	return check_done("unit-chunker");
}
