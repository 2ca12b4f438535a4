#include <stdlib.h>

#include <zstd.h>

#include "compress/compress.h"

struct cf_zc {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	int level;
};

/** cf_zc_new(level): per-thread contexts. */
struct cf_zc *
cf_zc_new(int level)
{
	struct cf_zc *z;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->level = level;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	if (z->c == NULL || z->d == NULL) {
		cf_zc_free(z);
		return NULL;
	}
	return z;
}

/** cf_zc_free(z): free. */
void
cf_zc_free(struct cf_zc *z)
{
	if (z == NULL)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

/* A large blob is first sampled: three 16 KiB pieces (start, middle,
 * end) compressed on their own.  If none of them shrinks, the blob is
 * stored as it is: media and encrypted or compressed files then cost 3% of
 * a compression attempt instead of all of it (0.65 CPU-s per 2 GiB here),
 * and the output buffer is not touched.  A blob compressible only between
 * the samples is stored raw: a little space, never correctness. */
#define SAMPLE_MIN (256u * 1024)
#define SAMPLE_LEN (16u * 1024)

static int
worth_trying(struct cf_zc *z, const uint8_t *p, size_t n, struct cf_buf *out)
{
	size_t at[3];

	if (n < SAMPLE_MIN)
		return 1;
	at[0] = 0;
	at[1] = n / 2 - SAMPLE_LEN / 2;
	at[2] = n - SAMPLE_LEN;
	if (cf_buf_reserve(out, ZSTD_compressBound(SAMPLE_LEN)))
		return 1;
	for (int i = 0; i < 3; i++) {
		size_t r = ZSTD_compressCCtx(z->c, out->p,
		    ZSTD_compressBound(SAMPLE_LEN), p + at[i], SAMPLE_LEN,
		    z->level);

		if (ZSTD_isError(r) || r <= SAMPLE_LEN - SAMPLE_LEN / 32)
			return 1;
	}
	return 0;
}

/** cf_zc_compress(z, p, n, out): compress when it pays. */
int
cf_zc_compress(struct cf_zc *z, const uint8_t *p, size_t n, struct cf_buf *out)
{
	size_t bound = ZSTD_compressBound(n), r;

	if (z->level <= 0 || n < 64)
		return 0;
	out->len = 0;
	if (!worth_trying(z, p, n, out))
		return 0;
	if (cf_buf_reserve(out, bound))
		return 0;
	r = ZSTD_compressCCtx(z->c, out->p, bound, p, n, z->level);
	if (ZSTD_isError(r) || r > n - n / 32)
		return 0;
	out->len = r;
	return 1;
}

/** cf_zc_decompress(z, p, n, out, rawlen, err): decompress exactly. */
int
cf_zc_decompress(struct cf_zc *z, const uint8_t *p, size_t n, uint8_t *out,
    size_t rawlen, struct cf_err *err)
{
	size_t r = z != NULL ? ZSTD_decompressDCtx(z->d, out, rawlen, p, n)
	                     : ZSTD_decompress(out, rawlen, p, n);

	if (ZSTD_isError(r))
		return cf_err_set(err, CF_EFORMAT, "zstd: %s",
		    ZSTD_getErrorName(r));
	if (r != rawlen)
		return cf_err_set(err, CF_EFORMAT,
		    "blob decompresses to %zu bytes, not %zu", r, rawlen);
	return 0;
}
