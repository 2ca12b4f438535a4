/*
 * test_buf.c: lib/util/buf.h: varint and zig-zag codecs (known bytes, round
 * trips, edge values), rejection of truncated and overlong varints, the
 * hard cap of struct cf_buf, bounded readers, hex and array allocation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#include "check.h"

/* Encode ${v} as a uvar and compare with the hex ${want}. */
static void
check_uvar_bytes(uint64_t v, const char *want)
{
	struct cf_buf b;
	struct cf_rd r;
	uint64_t got;

	cf_buf_init(&b, 64);
	cf_buf_add_uvar(&b, v);
	CHECK(!b.failed);
	CHECK(test_hex_eq(b.p, b.len, want));
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_uvar(&r, &got) == 0 && got == v && cf_rd_left(&r) == 0);
	cf_buf_release(&b);
}

static void
check_svar_bytes(int64_t v, const char *want)
{
	struct cf_buf b;
	struct cf_rd r;
	int64_t got;

	cf_buf_init(&b, 64);
	cf_buf_add_svar(&b, v);
	CHECK(test_hex_eq(b.p, b.len, want));
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_svar(&r, &got) == 0 && got == v && cf_rd_left(&r) == 0);
	cf_buf_release(&b);
}

static void
test_varint_known(void)
{
	check_uvar_bytes(0, "00");
	check_uvar_bytes(1, "01");
	check_uvar_bytes(127, "7f");
	check_uvar_bytes(128, "8001");
	check_uvar_bytes(300, "ac02");
	check_uvar_bytes(16383, "ff7f");
	check_uvar_bytes(16384, "808001");
	check_uvar_bytes(UINT32_MAX, "ffffffff0f");
	check_uvar_bytes(1ull << 63, "80808080808080808001");
	check_uvar_bytes(UINT64_MAX, "ffffffffffffffffff01");

	check_svar_bytes(0, "00");
	check_svar_bytes(-1, "01");
	check_svar_bytes(1, "02");
	check_svar_bytes(-2, "03");
	check_svar_bytes(-64, "7f");
	check_svar_bytes(64, "8001");
	check_svar_bytes(INT64_MAX, "feffffffffffffffff01");
	check_svar_bytes(INT64_MIN, "ffffffffffffffffff01");
}

/* Round trips of edge and pseudo-random values, several per buffer. */
static void
test_varint_roundtrip(void)
{
	static const uint64_t edges[] = {0, 1, 127, 128, 255, 256, 16383, 16384,
	    (1ull << 32) - 1, 1ull << 32, (1ull << 63) - 1, 1ull << 63,
	    UINT64_MAX - 1, UINT64_MAX};
	uint64_t seed = 1, vals[1000];
	struct cf_buf b;
	struct cf_rd r;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		vals[n++] = edges[i];
	while (n < 1000) {
		uint64_t v = test_rand(&seed);

		vals[n++] = v >> (test_rand(&seed) % 64); /* all lengths */
	}
	cf_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		cf_buf_add_uvar(&b, vals[i]);
		cf_buf_add_svar(&b, (int64_t)vals[i]);
		cf_buf_add_svar(&b, -(int64_t)(vals[i] >> 1));
	}
	REQUIRE(!b.failed);
	cf_rd_init(&r, b.p, b.len);
	for (size_t i = 0; i < n; i++) {
		uint64_t u;
		int64_t s1, s2;

		CHECK(cf_rd_uvar(&r, &u) == 0 && u == vals[i]);
		CHECK(cf_rd_svar(&r, &s1) == 0 && s1 == (int64_t)vals[i]);
		CHECK(cf_rd_svar(&r, &s2) == 0 &&
		      s2 == -(int64_t)(vals[i] >> 1));
	}
	CHECK(cf_rd_left(&r) == 0);
	cf_buf_release(&b);
}

/* 0 if the hex bytes parse as one uvar that uses all of them. */
static int
parse_uvar_hex(const char *hex, uint64_t *v)
{
	uint8_t p[32];
	size_t n = strlen(hex) / 2;
	struct cf_rd r;

	REQUIRE(n <= sizeof(p) && cf_unhex(p, n, hex) == 0);
	cf_rd_init(&r, p, n);
	if (cf_rd_uvar(&r, v))
		return -1;
	return cf_rd_left(&r) == 0 ? 0 : 1;
}

static void
test_varint_reject(void)
{
	uint8_t p[16] = {0};
	struct cf_rd r;
	uint64_t v;
	int64_t s;

	/* Empty and truncated. */
	cf_rd_init(&r, p, 0);
	CHECK(cf_rd_uvar(&r, &v) == -1);
	CHECK(cf_rd_svar(&r, &s) == -1);
	CHECK(parse_uvar_hex("80", &v) == -1);
	CHECK(parse_uvar_hex("ffff", &v) == -1);
	CHECK(parse_uvar_hex("808080808080808080", &v) == -1);
	CHECK(parse_uvar_hex("ffffffffffffffffff", &v) == -1);
	/* Every proper prefix of a 10-byte encoding is truncated. */
	memset(p, 0xff, 9);
	p[9] = 0x01;
	for (size_t i = 0; i < 10; i++) {
		cf_rd_init(&r, p, i);
		CHECK(cf_rd_uvar(&r, &v) == -1);
	}
	/* Overlong: more than 64 bits of value, or more than 10 bytes. */
	CHECK(parse_uvar_hex("ffffffffffffffffff02", &v) == -1);
	CHECK(parse_uvar_hex("ffffffffffffffffff7f", &v) == -1);
	CHECK(parse_uvar_hex("ffffffffffffffffff8100", &v) == -1);
	CHECK(parse_uvar_hex("8080808080808080808000", &v) == -1);
	CHECK(parse_uvar_hex("808080808080808080808001", &v) == -1);
	/* The largest value is accepted, and a reader stops after it. */
	CHECK(parse_uvar_hex("ffffffffffffffffff01", &v) == 0 &&
	      v == UINT64_MAX);
	CHECK(parse_uvar_hex("0000", &v) == 1 && v == 0);
	/* A failed read consumes nothing usable: the offset stays in
	 * bounds. */
	cf_rd_init(&r, p, 3);
	CHECK(cf_rd_uvar(&r, &v) == -1 && r.off <= r.len);
}

static void
test_fixed(void)
{
	uint8_t p[8], t[8];
	struct cf_buf b;
	struct cf_rd r;
	uint32_t u32;
	uint64_t u64;
	uint8_t u8;

	cf_le32_put(p, 0x11223344u);
	CHECK(test_hex_eq(p, 4, "44332211"));
	CHECK(cf_le32_get(p) == 0x11223344u);
	cf_le64_put(p, 0x0102030405060708ull);
	CHECK(test_hex_eq(p, 8, "0807060504030201"));
	CHECK(cf_le64_get(p) == 0x0102030405060708ull);

	cf_buf_init(&b, 64);
	cf_buf_add_u8(&b, 0xab);
	cf_buf_add_u32(&b, 0xdeadbeefu);
	cf_buf_add_u64(&b, UINT64_MAX - 1);
	CHECK(test_hex_eq(b.p, b.len, "abefbeaddefeffffffffffffff"));
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_u8(&r, &u8) == 0 && u8 == 0xab);
	CHECK(cf_rd_u32(&r, &u32) == 0 && u32 == 0xdeadbeefu);
	CHECK(cf_rd_u64(&r, &u64) == 0 && u64 == UINT64_MAX - 1);
	CHECK(cf_rd_u8(&r, &u8) == -1);
	/* Truncated fixed-size reads fail and do not move. */
	cf_rd_init(&r, b.p, 3);
	CHECK(cf_rd_u32(&r, &u32) == -1 && r.off == 0);
	cf_rd_init(&r, b.p, 7);
	CHECK(cf_rd_u64(&r, &u64) == -1 && r.off == 0);
	CHECK(cf_rd_fixed(&r, t, 8) == -1 && r.off == 0);
	CHECK(cf_rd_fixed(&r, t, 7) == 0 && r.off == 7);
	CHECK(cf_rd_fixed(&r, t, 0) == 0);
	cf_buf_release(&b);
}

static void
test_bytes(void)
{
	const uint8_t *p;
	struct cf_buf b;
	struct cf_rd r;
	size_t n;

	cf_buf_init(&b, 1024);
	cf_buf_add_bytes(&b, "hello", 5);
	cf_buf_add_str(&b, "");
	cf_buf_add_str(&b, "xyz");
	CHECK(test_hex_eq(b.p, b.len, "0568656c6c6f000378797a"));
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_bytes(&r, &p, &n, 5) == 0 && n == 5 &&
	      memcmp(p, "hello", 5) == 0);
	CHECK(cf_rd_bytes(&r, &p, &n, 0) == 0 && n == 0);
	/* Over the caller's maximum. */
	CHECK(cf_rd_bytes(&r, &p, &n, 2) == -1);
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_bytes(&r, &p, &n, 4) == -1);
	/* A length past the end of the input. */
	cf_rd_init(&r, b.p, 5);
	CHECK(cf_rd_bytes(&r, &p, &n, 100) == -1);
	/* A huge length must not wrap the bounds check. */
	b.len = 0;
	cf_buf_add_uvar(&b, UINT64_MAX);
	cf_buf_add(&b, "ab", 2);
	cf_rd_init(&r, b.p, b.len);
	CHECK(cf_rd_bytes(&r, &p, &n, SIZE_MAX) == -1);
	cf_buf_release(&b);
}

static void
test_cap(void)
{
	struct cf_err err;
	struct cf_buf b;
	uint8_t big[600];
	size_t n;
	uint8_t *p;

	memset(big, 7, sizeof(big));
	cf_buf_init(&b, 10);
	cf_buf_add(&b, big, 10);
	CHECK(!b.failed && b.len == 10);
	CHECK(cf_buf_check(&b, &err, "x") == 0);
	CHECK(b.cap == 10); /* growth is clamped to the cap */
	cf_buf_add_u8(&b, 1);
	CHECK(b.failed && b.len == 10);
	CHECK_ERR(cf_buf_check(&b, &err, "thing"), &err, CF_ELIMIT);
	CHECK(strstr(err.msg, "thing") != NULL);
	/* Sticky: even an empty-size append keeps the failure. */
	CHECK(cf_buf_reserve(&b, 0) == -1);
	cf_buf_release(&b);
	CHECK(b.max == 10 && b.len == 0 && !b.failed && b.p == NULL);

	/* A varint that would cross the cap is not half-written. */
	cf_buf_init(&b, 4);
	cf_buf_add_u8(&b, 0);
	cf_buf_add_uvar(&b, UINT32_MAX); /* 5 bytes */
	CHECK(b.failed && b.len == 1);
	cf_buf_release(&b);

	/* Reserve exactly up to the cap, then one more. */
	cf_buf_init(&b, 500);
	CHECK(cf_buf_reserve(&b, 500) == 0);
	CHECK(cf_buf_reserve(&b, 501) == -1 && b.failed);
	cf_buf_release(&b);
	cf_buf_init(&b, 500);
	cf_buf_add(&b, big, 300);
	CHECK(cf_buf_reserve(&b, SIZE_MAX) == -1);
	cf_buf_release(&b);

	/* Growth across many appends keeps the content. */
	cf_buf_init(&b, 1 << 20);
	for (int i = 0; i < 1000; i++)
		cf_buf_add(&b, big, sizeof(big));
	CHECK(!b.failed && b.len == 600000);
	p = cf_buf_take(&b, &n);
	CHECK(n == 600000 && p != NULL && p[0] == 7 && p[n - 1] == 7);
	CHECK(b.p == NULL && b.len == 0 && b.max == 1 << 20);
	free(p);
}

static void
test_hex(void)
{
	uint8_t in[4] = {0x00, 0x9f, 0xa0, 0xff}, out[4];
	char hex[9];

	cf_hex(hex, in, 4);
	CHECK(strcmp(hex, "009fa0ff") == 0);
	CHECK(cf_unhex(out, 4, hex) == 0 && memcmp(in, out, 4) == 0);
	CHECK(cf_unhex(out, 4, "009FA0FF") == 0 && memcmp(in, out, 4) == 0);
	CHECK(cf_unhex(out, 0, "") == 0);
	CHECK(cf_unhex(out, 4, "009fa0f") == -1);    /* short */
	CHECK(cf_unhex(out, 4, "009fa0ff0") == -1);  /* long */
	CHECK(cf_unhex(out, 4, "009fa0ff00") == -1); /* long */
	CHECK(cf_unhex(out, 4, "") == -1);
	CHECK(cf_unhex(out, 4, "009fa0fg") == -1);
	CHECK(cf_unhex(out, 4, "g09fa0ff") == -1);
	CHECK(cf_unhex(out, 4, "009f a0f") == -1);
	CHECK(cf_unhex(out, 4, "-09fa0ff") == -1);
	CHECK(cf_unhex(out, 4, "0x9fa0ff") == -1);
	CHECK(cf_unhex(out, 1, ":0") == -1); /* '9' + 1 */
	CHECK(cf_unhex(out, 1, "/0") == -1); /* '0' - 1 */
	CHECK(cf_unhex(out, 1, "`0") == -1); /* 'a' - 1 */
	CHECK(cf_unhex(out, 1, "@0") == -1); /* 'A' - 1 */
	CHECK(cf_unhex(out, 1, "G0") == -1);
	CHECK(cf_unhex(out, 0, "0") == -1);
}

static void
test_alloc(void)
{
	void *p;

	CHECK(cf_alloc_array(SIZE_MAX / 2 + 1, 2) == NULL);
	CHECK(cf_alloc_array((SIZE_MAX >> 5) + 1, 32) == NULL);
	p = cf_alloc_array(0, 32); /* never NULL for zero */
	CHECK(p != NULL);
	CHECK((p = cf_realloc_array(p, 10, 32)) != NULL);
	CHECK(cf_realloc_array(p, SIZE_MAX / 8 + 1, 16) == NULL);
	free(p);
}

int
main(void)
{
	test_varint_known();
	test_varint_roundtrip();
	test_varint_reject();
	test_fixed();
	test_bytes();
	test_cap();
	test_hex();
	test_alloc();
	return check_done("unit-buf");
}
