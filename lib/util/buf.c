#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/buf.h"

/** cf_buf_init(b, max): empty buffer capped at ${max}. */
void
cf_buf_init(struct cf_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->failed = 0;
}

/** cf_buf_release(b): wipe and free. */
void
cf_buf_release(struct cf_buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	cf_buf_init(b, b->max);
}

/** cf_buf_reserve(b, n): ensure room for ${n} more bytes. */
int
cf_buf_reserve(struct cf_buf *b, size_t n)
{
	size_t want, ncap;
	uint8_t *np;

	if (b->failed || n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap < want)
		ncap = ncap > SIZE_MAX / 2 ? want : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

void
cf_buf_add(struct cf_buf *b, const void *p, size_t n)
{
	if (n == 0 || cf_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
cf_buf_add_u8(struct cf_buf *b, uint8_t v)
{
	cf_buf_add(b, &v, 1);
}

void
cf_buf_add_u32(struct cf_buf *b, uint32_t v)
{
	uint8_t t[4];

	cf_le32_put(t, v);
	cf_buf_add(b, t, 4);
}

void
cf_buf_add_u64(struct cf_buf *b, uint64_t v)
{
	uint8_t t[8];

	cf_le64_put(t, v);
	cf_buf_add(b, t, 8);
}

void
cf_buf_add_uvar(struct cf_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			t[n] |= 0x80;
		n++;
	} while (v != 0);
	cf_buf_add(b, t, n);
}

void
cf_buf_add_svar(struct cf_buf *b, int64_t v)
{
	/* zig-zag */
	cf_buf_add_uvar(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
cf_buf_add_bytes(struct cf_buf *b, const void *p, size_t n)
{
	cf_buf_add_uvar(b, n);
	cf_buf_add(b, p, n);
}

void
cf_buf_add_str(struct cf_buf *b, const char *s)
{
	cf_buf_add_bytes(b, s, strlen(s));
}

/** cf_buf_check(b, err, what): report a failed append. */
int
cf_buf_check(const struct cf_buf *b, struct cf_err *err, const char *what)
{
	if (!b->failed)
		return 0;
	return cf_err_set(err, CF_ELIMIT, "%s exceeds %zu bytes", what, b->max);
}

/** cf_buf_take(b, len): hand the bytes to the caller. */
uint8_t *
cf_buf_take(struct cf_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	*len = b->len;
	cf_buf_init(b, b->max);
	return p;
}

void
cf_rd_init(struct cf_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

int
cf_rd_fixed(struct cf_rd *r, void *out, size_t n)
{
	if (n > r->len - r->off)
		return -1;
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

int
cf_rd_u8(struct cf_rd *r, uint8_t *v)
{
	return cf_rd_fixed(r, v, 1);
}

int
cf_rd_u32(struct cf_rd *r, uint32_t *v)
{
	uint8_t t[4];

	if (cf_rd_fixed(r, t, 4))
		return -1;
	*v = cf_le32_get(t);
	return 0;
}

int
cf_rd_u64(struct cf_rd *r, uint64_t *v)
{
	uint8_t t[8];

	if (cf_rd_fixed(r, t, 8))
		return -1;
	*v = cf_le64_get(t);
	return 0;
}

int
cf_rd_uvar(struct cf_rd *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;
	uint8_t c;

	do {
		if (shift > 63 || cf_rd_u8(r, &c))
			return -1;
		if (shift == 63 && (c & 0x7e) != 0)
			return -1;
		x |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	*v = x;
	return 0;
}

int
cf_rd_svar(struct cf_rd *r, int64_t *v)
{
	uint64_t u;

	if (cf_rd_uvar(r, &u))
		return -1;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

int
cf_rd_bytes(struct cf_rd *r, const uint8_t **p, size_t *n, size_t max)
{
	uint64_t len;

	if (cf_rd_uvar(r, &len) || len > max || len > r->len - r->off)
		return -1;
	*p = r->p + r->off;
	*n = (size_t)len;
	r->off += (size_t)len;
	return 0;
}

void
cf_le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t
cf_le32_get(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
cf_le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
cf_le64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
cf_hex(char *out, const uint8_t *in, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cf_unhex(uint8_t *out, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (s[2 * i] == '\0' || s[2 * i + 1] == '\0')
			return -1;
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

void *
cf_alloc_array(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size == 0 ? 1 : n * size);
}

void *
cf_realloc_array(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return realloc(p, n * size == 0 ? 1 : n * size);
}
