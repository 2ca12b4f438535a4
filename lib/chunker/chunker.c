#include <string.h>

#include <sodium.h>

#include "chunker/chunker.h"

/* Bits of the normalised masks: average 2^20, level 2 normalisation. */
#define AVG_BITS 20

static uint64_t
spread_mask(unsigned bits)
{
	/* The top ${bits} bits: they depend on the last 64 bytes hashed. */
	return ~0ull << (64 - bits);
}

/** cf_chunker_init(c, key): derive the secret gear table. */
void
cf_chunker_init(struct cf_chunker *c, const uint8_t key[static 32])
{
	static const uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = {
	    'c', 'o', 'f', 'f', 'e', 'r', '-', 'g', 'e', 'a', 'r'};
	uint8_t ks[256 * 8];

	crypto_stream_xchacha20(ks, sizeof(ks), nonce, key);
	for (size_t i = 0; i < 256; i++) {
		uint64_t v = 0;

		for (int j = 7; j >= 0; j--)
			v = (v << 8) | ks[i * 8 + (size_t)j];
		c->gear[i] = v;
	}
	sodium_memzero(ks, sizeof(ks));
	c->mask_s = spread_mask(AVG_BITS + 2);
	c->mask_l = spread_mask(AVG_BITS - 2);
}

/** cf_chunker_cut(c, p, n): next cut length. */
size_t
cf_chunker_cut(const struct cf_chunker *c, const uint8_t *p, size_t n)
{
	size_t i, normal, end;
	uint64_t fp = 0;

	if (n <= CF_CHUNK_MIN)
		return n;
	end = n < CF_CHUNK_MAX ? n : CF_CHUNK_MAX;
	normal = end < CF_CHUNK_AVG ? end : CF_CHUNK_AVG;
	/* Skip the minimum: cut points never fall inside it, and hashing
	 * restarts at its end (the gear window is 64 bytes). */
	i = CF_CHUNK_MIN - 64;
	for (; i < CF_CHUNK_MIN; i++)
		fp = (fp << 1) + c->gear[p[i]];
	for (; i < normal; i++) {
		fp = (fp << 1) + c->gear[p[i]];
		if ((fp & c->mask_s) == 0)
			return i + 1;
	}
	for (; i < end; i++) {
		fp = (fp << 1) + c->gear[p[i]];
		if ((fp & c->mask_l) == 0)
			return i + 1;
	}
	return end;
}
