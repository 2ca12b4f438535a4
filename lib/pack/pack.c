#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pack/pack.h"

#define HDR_MAGIC0 'C'
#define HDR_MAGIC1 'H'
#define HDR_VERSION 1
#define NONCE_HEADER UINT64_MAX
#define NONCE_FOOTER (UINT64_MAX - 1)

struct cf_packw {
	const struct cf_keys *keys;
	uint8_t key[CF_KEY_BYTES];
	uint8_t wrap[CF_WRAP_BYTES];
	struct cf_buf body;
	struct cf_blobent *ents;
	size_t n, cap;
	uint64_t hents; /* encoded bytes of the header's blob entries */
	/* The pack's name, hashed as its bytes are made: each blob just after
	 * it is sealed, while it is still in the cache, on the thread that
	 * sealed it (a writer thread hashing whole packs or pieces was the
	 * backup's bottleneck). */
	crypto_generichash_state *hs;
	/* Streamed (cf_packw_stream): body holds bytes from offset base on;
	 * those before went to the sink. */
	uint64_t base;
	cf_pack_sink_fn sink;
	cf_pack_buf_fn getbuf;
	cf_pack_abort_fn sink_abort;
	void *sink_arg;
};

static unsigned
uvar_len(uint64_t v)
{
	unsigned n = 1;

	while (v >>= 7)
		n++;
	return n;
}

static uint64_t
entry_len(uint64_t len, uint64_t rawlen)
{
	return 2 + CF_ID_BYTES + uvar_len(len) + uvar_len(rawlen);
}

/** cf_packw_new(keys, err): a fresh pack. */
struct cf_packw *
cf_packw_new(const struct cf_keys *keys, struct cf_err *err)
{
	struct cf_packw *w;
	uint8_t *mem = NULL;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	w->keys = keys;
	if ((w->hs = aligned_alloc(64, sizeof(*w->hs))) == NULL) {
		free(w);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	crypto_generichash_init(w->hs, NULL, 0, 32);
	cf_buf_init(&w->body, CF_PACK_MAX_BYTES);
	/* Page-aligned and large enough for a typical pack, so that a local
	 * store can write it with O_DIRECT; only its touched pages cost
	 * memory.  (Without it the buffer grows, unaligned, on demand.) */
	if (posix_memalign((void **)&mem, CF_PACK_ALIGN, CF_PACK_PREALLOC) ==
	    0) {
		w->body.p = mem;
		w->body.cap = CF_PACK_PREALLOC;
	}
	cf_crypto_random(w->key, sizeof(w->key));
	if (cf_crypto_wrap_key(keys, CF_OBJ_PACK, w->key, w->wrap, err)) {
		cf_packw_free(w);
		return NULL;
	}
	return w;
}

/** cf_packw_use(w, buf, cap): build in a recycled buffer. */
void
cf_packw_use(struct cf_packw *w, uint8_t *buf, size_t cap)
{
	if (w->body.len != 0 || w->sink != NULL) {
		free(buf); /* too late: keep the one in use */
		return;
	}
	free(w->body.p);
	w->body.p = buf;
	w->body.cap = cap;
}

/** cf_packw_stream(w, fn, getbuf, abort_fn, arg, err): stream the bytes. */
int
cf_packw_stream(struct cf_packw *w, cf_pack_sink_fn fn, cf_pack_buf_fn getbuf,
    cf_pack_abort_fn abort_fn, void *arg, struct cf_err *err)
{
	if (w->n != 0 || w->sink != NULL)
		return cf_err_set(err, CF_EINTERNAL, "pack already begun");
	w->sink = fn;
	w->getbuf = getbuf;
	w->sink_abort = abort_fn;
	w->sink_arg = arg;
	/* Start in one of the sink's buffers (recycled: no page faults). */
	if (w->body.len == 0) {
		size_t cap = 0;
		uint8_t *nb = getbuf(arg, &cap);

		if (nb != NULL) {
			free(w->body.p);
			w->body.p = nb;
			w->body.cap = cap;
		}
	}
	return 0;
}

/** cf_packw_stream_arg(w): the sink's argument (NULL: not streamed). */
void *
cf_packw_stream_arg(const struct cf_packw *w)
{
	return w->sink_arg;
}

/* Hand the first ${n} bytes of the body to the sink, in its own buffer;
 * the rest moves to a new one. */
static int
spill(struct cf_packw *w, size_t n, struct cf_err *err)
{
	size_t rest = w->body.len - n, cap = 0, oldcap = w->body.cap;
	uint8_t *nb = w->getbuf(w->sink_arg, &cap), *old = w->body.p;

	if (nb == NULL || cap < rest) {
		free(nb);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	memcpy(nb, old + n, rest);
	w->body.p = nb;
	w->body.cap = cap;
	w->body.len = rest;
	w->base += n;
	return w->sink(w->sink_arg, old, n, oldcap, err);
}

/** cf_packw_free(w): wipe and free. */
void
cf_packw_free(struct cf_packw *w)
{
	if (w == NULL)
		return;
	if (w->sink_abort != NULL)
		w->sink_abort(w->sink_arg);
	sodium_memzero(w->key, sizeof(w->key));
	free(w->hs);
	free(w->body.p); /* ciphertext only: no need to wipe */
	free(w->ents);
	free(w);
}

static void
blob_ad(uint8_t ad[CF_ID_BYTES + 6], const uint8_t *id, uint8_t type,
    uint8_t flags, uint32_t rawlen)
{
	memcpy(ad, id, CF_ID_BYTES);
	ad[CF_ID_BYTES] = type;
	ad[CF_ID_BYTES + 1] = flags;
	cf_le32_put(ad + CF_ID_BYTES + 2, rawlen);
}

/** cf_packw_add(w, type, id, flags, rawlen, p, n, err): append a blob. */
int
cf_packw_add(struct cf_packw *w, uint8_t type,
    const uint8_t id[static CF_ID_BYTES], uint8_t flags, uint32_t rawlen,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	uint8_t ad[CF_ID_BYTES + 6], nonce[CF_NONCE_BYTES];
	struct cf_blobent *e;

	if (n > CF_BLOB_MAX_RAW + 1024 || rawlen > CF_BLOB_MAX_RAW)
		return cf_err_set(err, CF_ELIMIT, "blob of %zu bytes too large",
		    n);
	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 64;
		void *np = cf_realloc_array(w->ents, ncap, sizeof(*w->ents));

		if (np == NULL)
			return cf_err_set(err, CF_ENOMEM, "out of memory");
		w->ents = np;
		w->cap = ncap;
	}
	if (cf_buf_reserve(&w->body, n + CF_TAG_BYTES))
		return cf_err_set(err, CF_ENOMEM, "pack buffer full");
	e = &w->ents[w->n];
	memcpy(e->id, id, CF_ID_BYTES);
	e->type = type;
	e->flags = flags;
	e->len = (uint32_t)(n + CF_TAG_BYTES);
	e->rawlen = rawlen;
	e->off = w->base + w->body.len;
	e->seq = w->n;
	blob_ad(ad, id, type, flags, rawlen);
	cf_crypto_nonce(nonce, e->seq);
	cf_aead_seal(w->body.p + w->body.len, p, n, ad, sizeof(ad), nonce,
	    w->key);
	crypto_generichash_update(w->hs, w->body.p + w->body.len, e->len);
	w->body.len += e->len;
	w->hents += entry_len(e->len, rawlen);
	w->n++;
	if (w->sink != NULL && w->body.len >= CF_PACK_SPILL)
		return spill(w, w->body.len & ~(size_t)(CF_PACK_SPILL_UNIT - 1),
		    err);
	return 0;
}

/** cf_packw_sealed_size(w, more, n, rawlen): the unpadded length of the
 * pack if it were sealed now (${more} == 0) or after one more blob of ${n}
 * stored and ${rawlen} plain bytes (${more} == 1). */
uint64_t
cf_packw_sealed_size(const struct cf_packw *w, int more, size_t n,
    uint32_t rawlen)
{
	uint64_t body = w->base + w->body.len, hents = w->hents, count = w->n;

	if (more) {
		body += n + CF_TAG_BYTES;
		hents += entry_len(n + CF_TAG_BYTES, rawlen);
		count++;
	}
	return body + 3 + uvar_len(count) + hents + CF_TAG_BYTES +
	       CF_PACK_FOOTER_BYTES;
}

uint64_t
cf_packw_size(const struct cf_packw *w)
{
	return w->base + w->body.len;
}

size_t
cf_packw_count(const struct cf_packw *w)
{
	return w->n;
}

static void
encode_header(const struct cf_packw *w, struct cf_buf *h)
{
	cf_buf_add_u8(h, HDR_MAGIC0);
	cf_buf_add_u8(h, HDR_MAGIC1);
	cf_buf_add_u8(h, HDR_VERSION);
	cf_buf_add_uvar(h, w->n);
	for (size_t i = 0; i < w->n; i++) {
		const struct cf_blobent *e = &w->ents[i];

		cf_buf_add_u8(h, e->type);
		cf_buf_add_u8(h, e->flags);
		cf_buf_add(h, e->id, CF_ID_BYTES);
		cf_buf_add_uvar(h, e->len);
		cf_buf_add_uvar(h, e->rawlen);
	}
}

static int
append_tail(struct cf_packw *w, const struct cf_buf *h, struct cf_err *err)
{
	uint8_t nonce[CF_NONCE_BYTES], loc[12];
	uint64_t hoff = w->base + w->body.len, total, pad;
	struct cf_buf *b = &w->body;
	size_t start;

	total = hoff + h->len + CF_TAG_BYTES + CF_PACK_FOOTER_BYTES;
	pad = cf_padme(total) - total;
	if (cf_buf_reserve(b, (size_t)(total - hoff + pad)))
		return cf_err_set(err, CF_ENOMEM, "pack buffer full");
	start = b->len;
	cf_crypto_nonce(nonce, NONCE_HEADER);
	cf_aead_seal(b->p + b->len, h->p, h->len, w->wrap, CF_WRAP_BYTES, nonce,
	    w->key);
	b->len += h->len + CF_TAG_BYTES;
	cf_crypto_random(b->p + b->len, (size_t)pad);
	b->len += (size_t)pad;
	memcpy(b->p + b->len, w->wrap, CF_WRAP_BYTES);
	b->len += CF_WRAP_BYTES;
	cf_le64_put(loc, hoff);
	cf_le32_put(loc + 8, (uint32_t)(h->len + CF_TAG_BYTES));
	cf_crypto_nonce(nonce, NONCE_FOOTER);
	cf_aead_seal(b->p + b->len, loc, sizeof(loc), w->wrap, CF_WRAP_BYTES,
	    nonce, w->key);
	b->len += sizeof(loc) + CF_TAG_BYTES;
	crypto_generichash_update(w->hs, b->p + start, b->len - start);
	return 0;
}

/** cf_packw_finish(w, name, bytes, n, ents, nents, err): seal the pack. */
int
cf_packw_finish(struct cf_packw *w, char name[static 65], uint8_t **bytes,
    size_t *n, struct cf_blobent **ents, size_t *nents, struct cf_err *err)
{
	struct cf_buf h;
	uint8_t id[32];

	cf_buf_init(&h, 64u << 20);
	encode_header(w, &h);
	if (cf_buf_check(&h, err, "pack header") || append_tail(w, &h, err)) {
		cf_buf_release(&h);
		return -1;
	}
	cf_buf_release(&h);
	if (crypto_generichash_final(w->hs, id, sizeof(id)) != 0)
		return cf_err_set(err, CF_EINTERNAL, "pack already sealed");
	cf_hex(name, id, sizeof(id));
	if (w->sink != NULL) {
		uint8_t *last = w->body.p;
		size_t len = w->body.len, cap = w->body.cap;

		*n = (size_t)(w->base + len);
		w->body.p = NULL;
		w->body.len = w->body.cap = 0;
		if (w->sink(w->sink_arg, last, len, cap, err))
			return -1;
		w->sink_abort = NULL; /* the caller commits it now */
		*bytes = NULL;
	} else {
		*bytes = cf_buf_take(&w->body, n);
	}
	*ents = w->ents;
	*nents = w->n;
	w->ents = NULL;
	w->n = w->cap = 0;
	return 0;
}

/** cf_pack_footer_open(keys, footer, size, key, hoff, hlen, err). */
int
cf_pack_footer_open(const struct cf_keys *keys,
    const uint8_t footer[static CF_PACK_FOOTER_BYTES], uint64_t size,
    uint8_t key[static CF_KEY_BYTES], uint64_t *hoff, uint32_t *hlen,
    struct cf_err *err)
{
	int vouched;

	return cf_pack_footer_open_vouched(keys, footer, size, key, hoff, hlen,
	    &vouched, err);
}

/** cf_pack_footer_open_vouched(keys, footer, size, key, hoff, hlen,
 * vouched, err). */
int
cf_pack_footer_open_vouched(const struct cf_keys *keys,
    const uint8_t footer[static CF_PACK_FOOTER_BYTES], uint64_t size,
    uint8_t key[static CF_KEY_BYTES], uint64_t *hoff, uint32_t *hlen,
    int *vouched, struct cf_err *err)
{
	uint8_t nonce[CF_NONCE_BYTES], loc[12];

	if (cf_crypto_unwrap_vouched(keys, CF_OBJ_PACK, footer, key, vouched,
	        err))
		return -1;
	cf_crypto_nonce(nonce, NONCE_FOOTER);
	if (cf_aead_open(loc, footer + CF_WRAP_BYTES, 12 + CF_TAG_BYTES, footer,
	        CF_WRAP_BYTES, nonce, key)) {
		sodium_memzero(key, CF_KEY_BYTES);
		return cf_err_set(err, CF_EAUTH,
		    "pack footer does not authenticate");
	}
	*hoff = cf_le64_get(loc);
	*hlen = cf_le32_get(loc + 8);
	if (*hlen < CF_TAG_BYTES + 4 || *hoff > size || *hlen > size - *hoff ||
	    size - *hoff - *hlen < CF_PACK_FOOTER_BYTES) {
		sodium_memzero(key, CF_KEY_BYTES);
		return cf_err_set(err, CF_EFORMAT, "pack footer out of bounds");
	}
	return 0;
}

static int
decode_entry(struct cf_rd *r, struct cf_blobent *e, uint64_t *off,
    uint64_t hoff)
{
	uint64_t len, rawlen;

	if (cf_rd_u8(r, &e->type) || cf_rd_u8(r, &e->flags) ||
	    cf_rd_fixed(r, e->id, CF_ID_BYTES) || cf_rd_uvar(r, &len) ||
	    cf_rd_uvar(r, &rawlen))
		return -1;
	if ((e->type != CF_BLOB_DATA && e->type != CF_BLOB_TREE) ||
	    (e->flags & ~CF_BLOB_ZSTD) != 0 || len < CF_TAG_BYTES ||
	    len > CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES ||
	    rawlen > CF_BLOB_MAX_RAW || len > hoff - *off)
		return -1;
	if (!(e->flags & CF_BLOB_ZSTD) && rawlen != len - CF_TAG_BYTES)
		return -1;
	e->len = (uint32_t)len;
	e->rawlen = (uint32_t)rawlen;
	e->off = *off;
	*off += len;
	return 0;
}

/** cf_pack_header_decode(p, n, hoff, ents, nents, err): parse a header. */
int
cf_pack_header_decode(const uint8_t *p, size_t n, uint64_t hoff,
    struct cf_blobent **ents, size_t *nents, struct cf_err *err)
{
	struct cf_blobent *e = NULL;
	uint8_t m0, m1, ver;
	uint64_t count, off = 0;
	struct cf_rd r;

	cf_rd_init(&r, p, n);
	if (cf_rd_u8(&r, &m0) || cf_rd_u8(&r, &m1) || cf_rd_u8(&r, &ver) ||
	    m0 != HDR_MAGIC0 || m1 != HDR_MAGIC1 || ver != HDR_VERSION ||
	    cf_rd_uvar(&r, &count))
		return cf_err_set(err, CF_EFORMAT, "bad pack header");
	if (count > CF_PACK_MAX_BLOBS || count > cf_rd_left(&r) / 36)
		return cf_err_set(err, CF_EFORMAT, "pack header count invalid");
	if ((e = cf_alloc_array((size_t)count, sizeof(*e))) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < count; i++) {
		if (decode_entry(&r, &e[i], &off, hoff)) {
			free(e);
			return cf_err_set(err, CF_EFORMAT,
			    "pack header entry %llu invalid",
			    (unsigned long long)i);
		}
		e[i].seq = i;
	}
	if (cf_rd_left(&r) != 0 || off != hoff) {
		free(e);
		return cf_err_set(err, CF_EFORMAT,
		    "pack header does not cover the pack");
	}
	*ents = e;
	*nents = (size_t)count;
	return 0;
}

/** cf_pack_header_open(key, wrap, ct, n, hoff, ents, nents, err). */
int
cf_pack_header_open(const uint8_t key[static CF_KEY_BYTES],
    const uint8_t wrap[static CF_WRAP_BYTES], const uint8_t *ct, size_t n,
    uint64_t hoff, struct cf_blobent **ents, size_t *nents, struct cf_err *err)
{
	uint8_t nonce[CF_NONCE_BYTES], *plain;
	int rc;

	if (n < CF_TAG_BYTES)
		return cf_err_set(err, CF_EFORMAT, "pack header truncated");
	if ((plain = malloc(n)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_crypto_nonce(nonce, NONCE_HEADER);
	if (cf_aead_open(plain, ct, n, wrap, CF_WRAP_BYTES, nonce, key)) {
		free(plain);
		return cf_err_set(err, CF_EAUTH,
		    "pack header does not authenticate");
	}
	rc = cf_pack_header_decode(plain, n - CF_TAG_BYTES, hoff, ents, nents,
	    err);
	free(plain);
	return rc;
}

/** cf_pack_blob_open(key, e, ct, out, err): decrypt one blob. */
int
cf_pack_blob_open(const uint8_t key[static CF_KEY_BYTES],
    const struct cf_blobent *e, const uint8_t *ct, uint8_t *out,
    struct cf_err *err)
{
	uint8_t ad[CF_ID_BYTES + 6], nonce[CF_NONCE_BYTES];

	blob_ad(ad, e->id, e->type, e->flags, e->rawlen);
	cf_crypto_nonce(nonce, e->seq);
	if (cf_aead_open(out, ct, e->len, ad, sizeof(ad), nonce, key)) {
		char hex[17];

		cf_hex(hex, e->id, 8);
		return cf_err_set(err, CF_EAUTH,
		    "blob %s does not authenticate", hex);
	}
	return 0;
}
