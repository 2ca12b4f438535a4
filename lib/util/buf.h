/*
 * buf.h: growable byte buffers with a hard cap, and little-endian /
 * varint codecs used by every on-disk format.
 *
 * A struct cf_buf is owned by whoever called cf_buf_init(); release it with
 * cf_buf_release().  cf_buf_take() hands the bytes to the caller.
 * Readers (struct cf_rd) borrow their bytes and never read past the end:
 * every getter fails with CF_EFORMAT on truncation, so parsers of
 * attacker-controlled bytes cannot over-read.  Not thread-safe.
 */
#ifndef CF_BUF_H
#define CF_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct cf_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
	int failed; /* sticky: an append hit the cap or ENOMEM */
};

/** cf_buf_init(b, max): an empty buffer that may grow to ${max} bytes. */
void cf_buf_init(struct cf_buf *b, size_t max);
/** cf_buf_release(b): free the bytes (wiped first); ${b} becomes empty. */
void cf_buf_release(struct cf_buf *b);
/** cf_buf_reserve(b, n): room for ${n} more bytes; -1 on cap or ENOMEM. */
int cf_buf_reserve(struct cf_buf *b, size_t n) CF_WUR;
/* Appenders set b->failed on failure; check it once at the end. */
void cf_buf_add(struct cf_buf *b, const void *p, size_t n);
void cf_buf_add_u8(struct cf_buf *b, uint8_t v);
void cf_buf_add_u32(struct cf_buf *b, uint32_t v);
void cf_buf_add_u64(struct cf_buf *b, uint64_t v);
void cf_buf_add_uvar(struct cf_buf *b, uint64_t v);
void cf_buf_add_svar(struct cf_buf *b, int64_t v);
/** cf_buf_add_bytes(b, p, n): varint length then ${n} bytes. */
void cf_buf_add_bytes(struct cf_buf *b, const void *p, size_t n);
void cf_buf_add_str(struct cf_buf *b, const char *s);
/** cf_buf_check(b, err, what): -1 with CF_ELIMIT/ENOMEM if an add failed. */
int cf_buf_check(const struct cf_buf *b, struct cf_err *err,
    const char *what) CF_WUR;
/** cf_buf_take(b, len): hand out the bytes; caller frees with free(). */
uint8_t *cf_buf_take(struct cf_buf *b, size_t *len);

struct cf_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void cf_rd_init(struct cf_rd *r, const uint8_t *p, size_t len);
int cf_rd_u8(struct cf_rd *r, uint8_t *v) CF_WUR;
int cf_rd_u32(struct cf_rd *r, uint32_t *v) CF_WUR;
int cf_rd_u64(struct cf_rd *r, uint64_t *v) CF_WUR;
int cf_rd_uvar(struct cf_rd *r, uint64_t *v) CF_WUR;
int cf_rd_svar(struct cf_rd *r, int64_t *v) CF_WUR;
/** cf_rd_fixed(r, out, n): copy ${n} bytes. */
int cf_rd_fixed(struct cf_rd *r, void *out, size_t n) CF_WUR;
/** cf_rd_bytes(r, p, n, max): borrow a varint-prefixed run of <= ${max}. */
int cf_rd_bytes(struct cf_rd *r, const uint8_t **p, size_t *n,
    size_t max) CF_WUR;
static inline size_t
cf_rd_left(const struct cf_rd *r)
{
	return r->len - r->off;
}

void cf_le32_put(uint8_t *p, uint32_t v);
uint32_t cf_le32_get(const uint8_t *p);
void cf_le64_put(uint8_t *p, uint64_t v);
uint64_t cf_le64_get(const uint8_t *p);

/** cf_hex(out, in, n): lower-case hex of ${n} bytes into ${out} (2n+1). */
void cf_hex(char *out, const uint8_t *in, size_t n);
/** cf_unhex(out, n, s): parse exactly 2n hex digits; -1 on anything else. */
int cf_unhex(uint8_t *out, size_t n, const char *s) CF_WUR;

/** cf_alloc_array(n, size): overflow-checked malloc; NULL on overflow. */
void *cf_alloc_array(size_t n, size_t size);
/** cf_realloc_array(p, n, size): overflow-checked realloc. */
void *cf_realloc_array(void *p, size_t n, size_t size);

#endif
