/*
 * test_pack.c: lib/pack/pack.h.  Pack keys are random, so there is no
 * golden pack; the structure is checked instead:
 *  - a pack built with cf_packw_* opens: footer, header (entries equal
 *    those cf_packw_finish() handed out), every blob (raw and zstd);
 *  - its name is the BLAKE2b-256 of its bytes, its size a Padme value;
 *  - every single-byte flip outside the padding, and every truncation, is
 *    detected; a changed entry field (AD, nonce) is detected; another
 *    zone's keys do not open it; footers with out-of-range places fail;
 *  - cf_pack_header_decode() on crafted plaintext: entries out of range,
 *    not covering the blob area, bad fields, hostile counts, trailing
 *    bytes, truncation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "crypto/crypto.h"
#include "pack/pack.h"

#include "check.h"

struct blob {
	uint8_t id[32];
	uint8_t type, flags;
	uint8_t *plain, *stored;
	size_t plainlen, storedlen;
};

struct pack {
	uint8_t *bytes;
	size_t n;
	char name[65];
	struct cf_blobent *ents;
	size_t nents;
};

static void
make_blobs(const struct cf_keys *k, struct blob *b, size_t nb, size_t maxlen,
    uint64_t seed)
{
	struct cf_zc *zc = cf_zc_new(3);
	struct cf_buf z;

	REQUIRE(zc != NULL);
	cf_buf_init(&z, 1u << 24);
	for (size_t i = 0; i < nb; i++) {
		size_t n = i < 3 ? i * 7 : test_rand(&seed) % maxlen;

		b[i].plainlen = n;
		REQUIRE((b[i].plain = malloc(n + 1)) != NULL);
		if (i % 3 == 2) /* compressible */
			for (size_t j = 0; j < n; j++)
				b[i].plain[j] = (uint8_t)("coffer "[j % 7]);
		else
			test_fill(&seed, b[i].plain, n);
		b[i].type = i % 4 == 3 ? CF_BLOB_TREE : CF_BLOB_DATA;
		cf_crypto_chunk_id(k, b[i].plain, n, b[i].id);
		if (cf_zc_compress(zc, b[i].plain, n, &z)) {
			b[i].flags = CF_BLOB_ZSTD;
			b[i].storedlen = z.len;
			REQUIRE((b[i].stored = malloc(z.len)) != NULL);
			memcpy(b[i].stored, z.p, z.len);
		} else {
			b[i].flags = 0;
			b[i].storedlen = n;
			REQUIRE((b[i].stored = malloc(n + 1)) != NULL);
			memcpy(b[i].stored, b[i].plain, n);
		}
	}
	cf_buf_release(&z);
	cf_zc_free(zc);
}

static void
free_blobs(struct blob *b, size_t nb)
{
	for (size_t i = 0; i < nb; i++) {
		free(b[i].plain);
		free(b[i].stored);
	}
}

static void
build(const struct cf_keys *k, const struct blob *b, size_t nb, struct pack *pk)
{
	struct cf_packw *w;
	struct cf_err err;
	uint64_t sealed, hoff;
	uint32_t hlen;
	uint8_t key[CF_KEY_BYTES];

	REQUIRE((w = cf_packw_new(k, &err)) != NULL);
	for (size_t i = 0; i < nb; i++) {
		/* The packer seals packs by this prediction. */
		sealed = cf_packw_sealed_size(w, 1, b[i].storedlen,
		    (uint32_t)b[i].plainlen);
		REQUIRE(cf_packw_add(w, b[i].type, b[i].id, b[i].flags,
		            (uint32_t)b[i].plainlen, b[i].stored,
		            b[i].storedlen, &err) == 0);
		CHECK(cf_packw_count(w) == i + 1);
		CHECK(cf_packw_sealed_size(w, 0, 0, 0) == sealed);
	}
	sealed = cf_packw_sealed_size(w, 0, 0, 0);
	REQUIRE(cf_packw_finish(w, pk->name, &pk->bytes, &pk->n, &pk->ents,
	            &pk->nents, &err) == 0);
	CHECK(pk->n == cf_padme(sealed));
	/* ... exactly: header and footer end where the padding would start */
	REQUIRE(pk->n >= CF_PACK_FOOTER_BYTES);
	REQUIRE(cf_pack_footer_open(k, pk->bytes + pk->n - CF_PACK_FOOTER_BYTES,
	            pk->n, key, &hoff, &hlen, &err) == 0);
	CHECK(hoff + hlen + CF_PACK_FOOTER_BYTES == sealed);
	cf_packw_free(w);
}

/* Open a pack as a reader would: footer, header, then every blob checked
 * against ${b} (when given).  0, or the error code. */
static int
open_pack(const struct cf_keys *k, const uint8_t *p, size_t n,
    const struct blob *b, size_t nb, uint64_t *hoff_out, uint32_t *hlen_out)
{
	const uint8_t *foot;
	struct cf_blobent *e = NULL;
	uint8_t key[32], *out = NULL, *raw = NULL;
	struct cf_err err = {0};
	uint64_t hoff;
	uint32_t hlen;
	size_t ne;

	if (n < CF_PACK_FOOTER_BYTES)
		return CF_EFORMAT;
	foot = p + n - CF_PACK_FOOTER_BYTES;
	if (cf_pack_footer_open(k, foot, n, key, &hoff, &hlen, &err) ||
	    cf_pack_header_open(key, foot, p + hoff, hlen, hoff, &e, &ne, &err))
		return err.code;
	if (hoff_out != NULL) {
		*hoff_out = hoff;
		*hlen_out = hlen;
	}
	if (b != NULL && ne != nb)
		err.code = CF_EINTERNAL;
	for (size_t i = 0; i < ne && err.code == CF_OK; i++) {
		out = realloc(out, e[i].len);
		raw = realloc(raw, e[i].rawlen + 1);
		REQUIRE(out != NULL && raw != NULL);
		if (cf_pack_blob_open(key, &e[i], p + e[i].off, out, &err))
			break;
		if (b == NULL)
			continue;
		if (e[i].len - CF_TAG_BYTES != b[i].storedlen ||
		    memcmp(out, b[i].stored, b[i].storedlen) != 0 ||
		    e[i].rawlen != b[i].plainlen || e[i].type != b[i].type ||
		    e[i].flags != b[i].flags || memcmp(e[i].id, b[i].id, 32))
			err.code = CF_EINTERNAL;
		else if ((e[i].flags & CF_BLOB_ZSTD) &&
		         (cf_zc_decompress(NULL, out, b[i].storedlen, raw,
		              e[i].rawlen, &err) ||
		             memcmp(raw, b[i].plain, b[i].plainlen) != 0))
			err.code = CF_EINTERNAL;
	}
	free(out);
	free(raw);
	free(e);
	return err.code;
}

static int
ents_equal(const struct cf_blobent *a, const struct cf_blobent *b)
{
	return memcmp(a->id, b->id, 32) == 0 && a->type == b->type &&
	       a->flags == b->flags && a->len == b->len &&
	       a->rawlen == b->rawlen && a->off == b->off && a->seq == b->seq;
}

static void
test_structure(const struct cf_keys *k, const struct cf_keys *other)
{
	static struct blob b[40];
	struct pack pk;
	uint64_t hoff, off = 0;
	uint32_t hlen;
	uint8_t h[32], key[32], kx[32];
	struct cf_blobent *e;
	struct cf_err err;
	size_t ne;

	make_blobs(k, b, 40, 200000, 5);
	build(k, b, 40, &pk);
	CHECK(open_pack(k, pk.bytes, pk.n, b, 40, &hoff, &hlen) == 0);
	/* Name, Padme size, layout. */
	cf_crypto_hash(pk.bytes, pk.n, h);
	CHECK(test_hex_eq(h, 32, pk.name));
	CHECK(pk.n == cf_padme(hoff + hlen + CF_PACK_FOOTER_BYTES));
	CHECK(cf_padme(pk.n) == pk.n);
	REQUIRE(pk.nents == 40);
	for (size_t i = 0; i < 40; i++) {
		CHECK(pk.ents[i].off == off && pk.ents[i].seq == i);
		CHECK(pk.ents[i].len == b[i].storedlen + CF_TAG_BYTES);
		CHECK(pk.ents[i].rawlen == b[i].plainlen);
		CHECK(memcmp(pk.ents[i].id, b[i].id, 32) == 0);
		off += pk.ents[i].len;
	}
	CHECK(hoff == off);
	/* The decoded header equals what the writer handed out. */
	REQUIRE(cf_pack_footer_open(k, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	            pk.n, key, &hoff, &hlen, &err) == 0);
	REQUIRE(cf_pack_header_open(key, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	            pk.bytes + hoff, hlen, hoff, &e, &ne, &err) == 0);
	CHECK(ne == 40);
	for (size_t i = 0; i < ne && i < 40; i++)
		CHECK(ents_equal(&e[i], &pk.ents[i]));
	free(e);
	/* Another zone cannot open it. */
	CHECK(open_pack(other, pk.bytes, pk.n, NULL, 0, NULL, NULL) ==
	      CF_EAUTH);
	/* Each field of an entry is bound to its blob. */
	for (int f = 0; f < 6; f++) {
		struct cf_blobent x = pk.ents[5];
		uint8_t *out = malloc(x.len);

		REQUIRE(out != NULL);
		if (f == 0)
			x.id[7] ^= 1;
		else if (f == 1)
			x.type = x.type == CF_BLOB_DATA ? CF_BLOB_TREE
			                                : CF_BLOB_DATA;
		else if (f == 2)
			x.flags ^= CF_BLOB_ZSTD;
		else if (f == 3)
			x.rawlen++;
		else if (f == 4)
			x.seq = 6;
		CHECK(f == 5 ? cf_pack_blob_open(key, &x, pk.bytes + x.off, out,
		                   &err) == 0
		             : cf_pack_blob_open(key, &x, pk.bytes + x.off, out,
		                   &err) == -1 &&
		                   err.code == CF_EAUTH);
		free(out);
	}
	/* A flipped byte in each blob is caught by that blob's tag. */
	for (size_t i = 0; i < 40; i++) {
		uint8_t *out = malloc(pk.ents[i].len);
		size_t at = pk.ents[i].off + pk.ents[i].len / 2;

		REQUIRE(out != NULL);
		pk.bytes[at] ^= 0x20;
		CHECK_ERR(cf_pack_blob_open(key, &pk.ents[i],
		              pk.bytes + pk.ents[i].off, out, &err),
		    &err, CF_EAUTH);
		pk.bytes[at] ^= 0x20;
		free(out);
	}
	/* Footers that place the header outside the pack. */
	CHECK_ERR(cf_pack_footer_open(k, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	              hoff + hlen + CF_PACK_FOOTER_BYTES - 1, kx, &hoff, &hlen,
	              &err),
	    &err, CF_EFORMAT);
	CHECK_ERR(cf_pack_footer_open(k, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	              hoff - 1, kx, &hoff, &hlen, &err),
	    &err, CF_EFORMAT);
	CHECK_ERR(cf_pack_footer_open(k, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	              0, kx, &hoff, &hlen, &err),
	    &err, CF_EFORMAT);
	CHECK(cf_pack_footer_open(k, pk.bytes + pk.n - CF_PACK_FOOTER_BYTES,
	          hoff + hlen + CF_PACK_FOOTER_BYTES, kx, &hoff, &hlen,
	          &err) == 0);
	/* The header must sit exactly at the end of the blobs. */
	CHECK_ERR(cf_pack_header_open(key,
	              pk.bytes + pk.n - CF_PACK_FOOTER_BYTES, pk.bytes + hoff,
	              hlen, hoff + 1, &e, &ne, &err),
	    &err, CF_EFORMAT);
	CHECK_ERR(cf_pack_header_open(key,
	              pk.bytes + pk.n - CF_PACK_FOOTER_BYTES, pk.bytes + hoff,
	              hlen - 1, hoff, &e, &ne, &err),
	    &err, CF_EAUTH);
	CHECK_ERR(cf_pack_header_open(key,
	              pk.bytes + pk.n - CF_PACK_FOOTER_BYTES, pk.bytes + hoff,
	              15, hoff, &e, &ne, &err),
	    &err, CF_EFORMAT);
	free(pk.bytes);
	free(pk.ents);
	free_blobs(b, 40);
}

/* A small pack: every byte flipped and every truncation. */
static void
test_tamper(const struct cf_keys *k)
{
	static struct blob b[3];
	struct pack pk, pk2;
	uint64_t hoff;
	uint32_t hlen;
	size_t bad = 0;

	make_blobs(k, b, 3, 100, 9);
	build(k, b, 3, &pk);
	REQUIRE(open_pack(k, pk.bytes, pk.n, b, 3, &hoff, &hlen) == 0);
	for (size_t i = 0; i < pk.n; i++) {
		int pad = i >= hoff + hlen && i < pk.n - CF_PACK_FOOTER_BYTES;
		int rc;

		pk.bytes[i] ^= 0x01;
		rc = open_pack(k, pk.bytes, pk.n, b, 3, NULL, NULL);
		/* Padding is random and unauthenticated; the pack's name
		 * (the hash of all its bytes) covers it. */
		if (pad ? rc != 0 : rc != CF_EAUTH && rc != CF_EFORMAT) {
			if (bad++ < 5)
				fprintf(stderr, "  flip at %zu: code %d\n", i,
				    rc);
		}
		pk.bytes[i] ^= 0x01;
	}
	CHECK(bad == 0);
	for (size_t len = 0; len < pk.n; len++) {
		int rc = open_pack(k, pk.bytes, len, b, 3, NULL, NULL);

		CHECK(rc == CF_EAUTH || rc == CF_EFORMAT);
	}
	/* The same blobs again: a fresh key, so other bytes and name. */
	build(k, b, 3, &pk2);
	CHECK(strcmp(pk.name, pk2.name) != 0);
	free(pk.bytes);
	free(pk.ents);
	free(pk2.bytes);
	free(pk2.ents);
	free_blobs(b, 3);
}

static void
test_empty_and_limits(const struct cf_keys *k)
{
	uint8_t id[32] = {1}, small[16] = {0};
	struct cf_packw *w;
	struct cf_err err;
	struct pack pk;

	REQUIRE((w = cf_packw_new(k, &err)) != NULL);
	CHECK_ERR(cf_packw_add(w, CF_BLOB_DATA, id, 0, 0, small,
	              CF_BLOB_MAX_RAW + 1025, &err),
	    &err, CF_ELIMIT);
	CHECK_ERR(cf_packw_add(w, CF_BLOB_DATA, id, CF_BLOB_ZSTD,
	              CF_BLOB_MAX_RAW + 1, small, 16, &err),
	    &err, CF_ELIMIT);
	CHECK(cf_packw_count(w) == 0 && cf_packw_size(w) == 0);
	REQUIRE(cf_packw_finish(w, pk.name, &pk.bytes, &pk.n, &pk.ents,
	            &pk.nents, &err) == 0);
	CHECK(pk.nents == 0 && pk.n == cf_padme(pk.n));
	CHECK(open_pack(k, pk.bytes, pk.n, NULL, 0, NULL, NULL) == 0);
	cf_packw_free(w);
	cf_packw_free(NULL);
	free(pk.bytes);
	free(pk.ents);
}

/* A pack built in a recycled buffer (the packer's pool for remote stores):
 * the old bytes in it leak into nothing, and the pack comes back in it. */
static void
test_recycled_buffer(const struct cf_keys *k)
{
	static struct blob b[12];
	struct cf_packw *w;
	struct cf_err err;
	struct pack pk;
	uint8_t *buf, h[32];

	make_blobs(k, b, 12, 300000, 11);
	REQUIRE((buf = malloc(CF_PACK_PREALLOC)) != NULL);
	memset(buf, 0xa5, CF_PACK_PREALLOC); /* an earlier pack's bytes */
	REQUIRE((w = cf_packw_new(k, &err)) != NULL);
	cf_packw_use(w, buf, CF_PACK_PREALLOC);
	for (size_t i = 0; i < 12; i++)
		REQUIRE(cf_packw_add(w, b[i].type, b[i].id, b[i].flags,
		            (uint32_t)b[i].plainlen, b[i].stored,
		            b[i].storedlen, &err) == 0);
	REQUIRE(cf_packw_finish(w, pk.name, &pk.bytes, &pk.n, &pk.ents,
	            &pk.nents, &err) == 0);
	CHECK(pk.bytes == buf && pk.nents == 12);
	CHECK(open_pack(k, pk.bytes, pk.n, b, 12, NULL, NULL) == 0);
	cf_crypto_hash(pk.bytes, pk.n, h);
	CHECK(test_hex_eq(h, 32, pk.name));
	/* The padding is the pack's own, not what the buffer held. */
	for (size_t i = 0; i + 8 <= pk.n; i++)
		if (!memcmp(pk.bytes + i, "\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5",
		        8)) {
			CHECK(!"recycled bytes in the pack");
			break;
		}
	cf_packw_free(w);
	/* Too late once a blob is in: the buffer is freed, not used. */
	REQUIRE((w = cf_packw_new(k, &err)) != NULL);
	REQUIRE(cf_packw_add(w, b[3].type, b[3].id, b[3].flags,
	            (uint32_t)b[3].plainlen, b[3].stored, b[3].storedlen,
	            &err) == 0);
	cf_packw_use(w, pk.bytes, CF_PACK_PREALLOC);
	CHECK(cf_packw_count(w) == 1);
	cf_packw_free(w);
	free(pk.ents);
	free_blobs(b, 12);
}

/* A streamed pack (a local store's): the sink's pieces, in order, are the
 * pack, and its name, hashed blob by blob as they were sealed, is the
 * BLAKE2b-256 of those bytes. */
struct sink {
	struct cf_buf got;
	size_t pieces;
};

static int
sink_piece(void *arg, uint8_t *buf, size_t n, size_t cap, struct cf_err *err)
{
	struct sink *sk = arg;

	(void)cap;
	(void)err;
	cf_buf_add(&sk->got, buf, n);
	sk->pieces++;
	free(buf);
	return 0;
}

static uint8_t *
sink_buf(void *arg, size_t *cap)
{
	uint8_t *p = NULL;

	(void)arg;
	if (posix_memalign((void **)&p, CF_PACK_ALIGN, 2 * CF_PACK_SPILL) != 0)
		return NULL;
	*cap = 2 * CF_PACK_SPILL;
	return p;
}

static void
sink_abort(void *arg)
{
	(void)arg;
}

static void
test_streamed(const struct cf_keys *k)
{
	static struct blob b[80];
	struct sink sk = {0};
	struct cf_packw *w;
	struct cf_err err;
	struct pack pk;
	uint8_t h[32];

	make_blobs(k, b, 80, 600000, 17); /* ~16 MiB stored: 3+ pieces */
	cf_buf_init(&sk.got, 1u << 28);
	REQUIRE((w = cf_packw_new(k, &err)) != NULL);
	REQUIRE(cf_packw_stream(w, sink_piece, sink_buf, sink_abort, &sk,
	            &err) == 0);
	for (size_t i = 0; i < 80; i++)
		REQUIRE(cf_packw_add(w, b[i].type, b[i].id, b[i].flags,
		            (uint32_t)b[i].plainlen, b[i].stored,
		            b[i].storedlen, &err) == 0);
	REQUIRE(cf_packw_finish(w, pk.name, &pk.bytes, &pk.n, &pk.ents,
	            &pk.nents, &err) == 0);
	CHECK(pk.bytes == NULL && pk.nents == 80);
	CHECK(sk.pieces >= 3); /* some spilled before the last */
	CHECK(sk.got.len == pk.n && pk.n == cf_padme(pk.n));
	CHECK(open_pack(k, sk.got.p, sk.got.len, b, 80, NULL, NULL) == 0);
	cf_crypto_hash(sk.got.p, sk.got.len, h);
	CHECK(test_hex_eq(h, 32, pk.name));
	cf_packw_free(w);
	cf_buf_release(&sk.got);
	free(pk.ents);
	free_blobs(b, 80);
}

static void
hdr_begin(struct cf_buf *b, uint64_t count)
{
	b->len = 0;
	b->failed = 0;
	cf_buf_add_u8(b, 'C');
	cf_buf_add_u8(b, 'H');
	cf_buf_add_u8(b, 1);
	cf_buf_add_uvar(b, count);
}

static void
hdr_ent(struct cf_buf *b, uint8_t type, uint8_t flags, uint64_t len,
    uint64_t rawlen)
{
	uint8_t id[32];

	memset(id, 0xee, 32);
	cf_buf_add_u8(b, type);
	cf_buf_add_u8(b, flags);
	cf_buf_add(b, id, 32);
	cf_buf_add_uvar(b, len);
	cf_buf_add_uvar(b, rawlen);
}

static int
decode(const struct cf_buf *b, uint64_t hoff)
{
	struct cf_blobent *e = NULL;
	struct cf_err err = {0};
	size_t n;

	if (cf_pack_header_decode(b->p, b->len, hoff, &e, &n, &err) == 0) {
		free(e);
		return 0;
	}
	return err.code;
}

/* One bad entry after a good one, in a header claiming ${hoff}. */
static int
decode_bad(struct cf_buf *b, uint8_t type, uint8_t flags, uint64_t len,
    uint64_t rawlen, uint64_t hoff)
{
	hdr_begin(b, 2);
	hdr_ent(b, CF_BLOB_DATA, 0, 116, 100);
	hdr_ent(b, type, flags, len, rawlen);
	return decode(b, hoff);
}

static void
test_header_decode(void)
{
	struct cf_blobent *e;
	struct cf_err err;
	struct cf_buf b;
	size_t n;

	cf_buf_init(&b, 1 << 20);
	hdr_begin(&b, 2);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	hdr_ent(&b, CF_BLOB_TREE, CF_BLOB_ZSTD, 50, 1000);
	REQUIRE(cf_pack_header_decode(b.p, b.len, 166, &e, &n, &err) == 0);
	CHECK(n == 2 && e[0].off == 0 && e[0].len == 116 &&
	      e[0].rawlen == 100 && e[0].seq == 0 && e[0].type == CF_BLOB_DATA);
	CHECK(e[1].off == 116 && e[1].len == 50 && e[1].rawlen == 1000 &&
	      e[1].seq == 1 && e[1].flags == CF_BLOB_ZSTD &&
	      e[1].type == CF_BLOB_TREE && e[1].id[31] == 0xee);
	free(e);
	/* Blobs past the header offset, or not reaching it. */
	CHECK(decode(&b, 165) == CF_EFORMAT);
	CHECK(decode(&b, 115) == CF_EFORMAT);
	CHECK(decode(&b, 167) == CF_EFORMAT);
	CHECK(decode(&b, 0) == CF_EFORMAT);
	/* Every truncation, and a trailing byte. */
	for (size_t len = b.len; len-- > 0;) {
		struct cf_buf t = b;

		t.len = len;
		CHECK(decode(&t, 166) == CF_EFORMAT);
	}
	cf_buf_add_u8(&b, 0);
	CHECK(decode(&b, 166) == CF_EFORMAT);

	/* Bad fields of one entry. */
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0, 50, 34, 166) == 0);
	CHECK(decode_bad(&b, 0, 0, 50, 34, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, 3, 0, 50, 34, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 2, 50, 34, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0x81, 50, 34, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0, 50, 33, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0, 50, 35, 166) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0, 15, 0, 131) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, 0, 16, 0, 132) == 0);
	CHECK(decode_bad(&b, CF_BLOB_DATA, CF_BLOB_ZSTD, 16, CF_BLOB_MAX_RAW,
	          132) == 0);
	CHECK(decode_bad(&b, CF_BLOB_DATA, CF_BLOB_ZSTD, 16,
	          CF_BLOB_MAX_RAW + 1, 132) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, CF_BLOB_ZSTD,
	          CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES + 1, 10,
	          116 + CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES + 1) ==
	      CF_EFORMAT);
	/* Lengths that would wrap the offset arithmetic. */
	CHECK(decode_bad(&b, CF_BLOB_DATA, CF_BLOB_ZSTD, UINT64_MAX, 10,
	          UINT64_MAX) == CF_EFORMAT);
	CHECK(decode_bad(&b, CF_BLOB_DATA, CF_BLOB_ZSTD, UINT64_MAX - 115, 10,
	          0) == CF_EFORMAT);

	/* Counts: more than present, fewer than present, hostile. */
	hdr_begin(&b, 3);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	CHECK(decode(&b, 232) == CF_EFORMAT);
	hdr_begin(&b, 1);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	CHECK(decode(&b, 116) == CF_EFORMAT);
	hdr_begin(&b, 1ull << 40);
	hdr_ent(&b, CF_BLOB_DATA, 0, 116, 100);
	CHECK(decode(&b, 116) == CF_EFORMAT);
	hdr_begin(&b, CF_PACK_MAX_BLOBS + 1);
	CHECK(decode(&b, 0) == CF_EFORMAT);
	hdr_begin(&b, UINT64_MAX);
	CHECK(decode(&b, 0) == CF_EFORMAT);
	/* Empty pack header. */
	hdr_begin(&b, 0);
	CHECK(decode(&b, 0) == 0);
	CHECK(decode(&b, 1) == CF_EFORMAT);
	/* Magic and version. */
	for (size_t i = 0; i < 3; i++) {
		b.p[i] ^= 0x10;
		CHECK(decode(&b, 0) == CF_EFORMAT);
		b.p[i] ^= 0x10;
	}
	cf_buf_release(&b);
}

int
main(void)
{
	uint8_t zone[32];
	struct cf_keys *k, *other;
	struct cf_err err;

	REQUIRE(cf_crypto_init(&err) == 0);
	cf_crypto_random(zone, 32);
	k = cf_keys_new(zone, &err);
	cf_crypto_random(zone, 32);
	other = cf_keys_new(zone, &err);
	REQUIRE(k != NULL && other != NULL);
	test_structure(k, other);
	test_tamper(k);
	test_empty_and_limits(k);
	test_recycled_buffer(k);
	test_streamed(k);
	test_header_decode();
	cf_keys_free(k);
	cf_keys_free(other);
	return check_done("unit-pack");
}
