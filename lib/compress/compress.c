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

/** cf_zc_compress(z, p, n, out): compress when it pays. */
int
cf_zc_compress(struct cf_zc *z, const uint8_t *p, size_t n, struct cf_buf *out)
{
	size_t bound = ZSTD_compressBound(n), r;

	if (z->level <= 0 || n < 64)
		return 0;
	out->len = 0;
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
