/*
 * compress.h: zstd, used only when it pays (the only includer of <zstd.h>).
 * A struct cf_zc holds one thread's compression and decompression contexts;
 * it is not shared between threads.
 */
#ifndef CF_COMPRESS_H
#define CF_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

struct cf_zc;

/** cf_zc_new(level): contexts for one thread (level 0: never compress). */
struct cf_zc *cf_zc_new(int level);
/** cf_zc_free(z): NULL is a no-op. */
void cf_zc_free(struct cf_zc *z);
/** cf_zc_compress(z, p, n, out): 1 and the frame in ${out} (replacing its
 * content) if it saves at least 1/32 of ${n}; 0 to store ${p} raw. */
int cf_zc_compress(struct cf_zc *z, const uint8_t *p, size_t n,
    struct cf_buf *out);
/** cf_zc_decompress(z, p, n, out, rawlen, err): exactly ${rawlen} bytes
 * into ${out}, or CF_EFORMAT. ${p} is attacker-controlled.  ${z} may be
 * NULL (a one-off context is used). */
int cf_zc_decompress(struct cf_zc *z, const uint8_t *p, size_t n, uint8_t *out,
    size_t rawlen, struct cf_err *err) CF_WUR;

#endif
