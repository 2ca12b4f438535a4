#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "account/chain.h"
#include "crypto/crypto.h"

#define REC_VERSION 1

void
cf_chain_init(struct cf_chain *c)
{
	memset(c, 0, sizeof(*c));
	c->seq = UINT64_MAX;
}

void
cf_ak_commit(const uint8_t ak[static 32], uint8_t out[static 32])
{
	static const char msg[] = "coffer-ak-commit";

	(void)crypto_generichash(out, 32, (const uint8_t *)msg, sizeof(msg) - 1,
	    ak, 32);
}

void
cf_record_name(const uint8_t *p, size_t n, uint8_t out[static 32])
{
	cf_crypto_hash(p, n, out);
}

static void
encode_body(const struct cf_record *r, struct cf_buf *b)
{
	cf_buf_add_u8(b, 'C');
	cf_buf_add_u8(b, 'R');
	cf_buf_add_u8(b, REC_VERSION);
	cf_buf_add_u64(b, r->seq);
	cf_buf_add(b, r->prev, 32);
	cf_buf_add_u8(b, r->type);
	cf_buf_add_u64(b, (uint64_t)r->time);
	cf_buf_add_u32(b, r->epoch);
	cf_buf_add_u8(b, r->subject.role);
	cf_buf_add(b, r->subject.ed, 32);
	cf_buf_add(b, r->subject.x, 32);
	cf_buf_add_str(b, r->subject.name);
	cf_buf_add(b, r->ak_commit, 32);
	cf_buf_add_uvar(b, r->nwraps);
	for (size_t i = 0; i < r->nwraps; i++) {
		cf_buf_add(b, r->wraps[i].member, 32);
		cf_buf_add(b, r->wraps[i].object, 32);
	}
	cf_buf_add(b, r->signer, 32);
}

/** cf_record_encode(r, sk, out, err): sign and append. */
int
cf_record_encode(const struct cf_record *r, const uint8_t sk[static 64],
    struct cf_buf *out, struct cf_err *err)
{
	size_t start = out->len;
	uint8_t sig[64];

	if (memcmp(sk + 32, r->signer, 32) != 0)
		return cf_err_set(err, CF_EINTERNAL, "record signer mismatch");
	if (r->nwraps > CF_CHAIN_MAX_MEMBERS ||
	    strlen(r->subject.name) > CF_CHAIN_NAME_MAX)
		return cf_err_set(err, CF_ELIMIT, "record too large");
	encode_body(r, out);
	if (cf_buf_check(out, err, "chain record"))
		return -1;
	crypto_sign_detached(sig, NULL, out->p + start, out->len - start, sk);
	cf_buf_add(out, sig, 64);
	return cf_buf_check(out, err, "chain record");
}

static int
decode_subject(struct cf_rd *rd, struct cf_member *m)
{
	const uint8_t *name;
	size_t nl;

	if (cf_rd_u8(rd, &m->role) || cf_rd_fixed(rd, m->ed, 32) ||
	    cf_rd_fixed(rd, m->x, 32) ||
	    cf_rd_bytes(rd, &name, &nl, CF_CHAIN_NAME_MAX) ||
	    memchr(name, '\0', nl) != NULL)
		return -1;
	if (m->role < CF_ROLE_DEVICE || m->role > CF_ROLE_WRITEONLY)
		return -1;
	memcpy(m->name, name, nl);
	m->name[nl] = '\0';
	return 0;
}

static int
decode_body(struct cf_rd *rd, struct cf_record *r)
{
	uint8_t m0, m1, v;
	uint64_t t, nw;

	if (cf_rd_u8(rd, &m0) || cf_rd_u8(rd, &m1) || cf_rd_u8(rd, &v) ||
	    m0 != 'C' || m1 != 'R' || v != REC_VERSION ||
	    cf_rd_u64(rd, &r->seq) || cf_rd_fixed(rd, r->prev, 32) ||
	    cf_rd_u8(rd, &r->type) || cf_rd_u64(rd, &t) ||
	    cf_rd_u32(rd, &r->epoch) || decode_subject(rd, &r->subject) ||
	    cf_rd_fixed(rd, r->ak_commit, 32) || cf_rd_uvar(rd, &nw) ||
	    nw > CF_CHAIN_MAX_MEMBERS)
		return -1;
	r->time = (int64_t)t;
	r->nwraps = (size_t)nw;
	for (size_t i = 0; i < r->nwraps; i++)
		if (cf_rd_fixed(rd, r->wraps[i].member, 32) ||
		    cf_rd_fixed(rd, r->wraps[i].object, 32))
			return -1;
	return cf_rd_fixed(rd, r->signer, 32);
}

/** cf_record_decode(p, n, r, err): parse and verify the signature. */
int
cf_record_decode(const uint8_t *p, size_t n, struct cf_record *r,
    struct cf_err *err)
{
	struct cf_rd rd;

	memset(r, 0, sizeof(*r));
	cf_rd_init(&rd, p, n);
	if (decode_body(&rd, r) || cf_rd_left(&rd) != 64 ||
	    r->type < CF_REC_GENESIS || r->type > CF_REC_REMOVE)
		return cf_err_set(err, CF_EFORMAT, "chain record malformed");
	memcpy(r->sig, p + rd.off, 64);
	if (crypto_sign_verify_detached(r->sig, p, rd.off, r->signer) != 0)
		return cf_err_set(err, CF_EAUTH,
		    "chain record %llu: signature invalid",
		    (unsigned long long)r->seq);
	return 0;
}

const struct cf_member *
cf_chain_find(const struct cf_chain *c, const uint8_t ed[static 32])
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->m[i].ed, ed, 32) == 0)
			return &c->m[i];
	return NULL;
}

const uint8_t *
cf_chain_wrap_for(const struct cf_chain *c, const uint8_t ed[static 32])
{
	for (size_t i = 0; i < c->nwraps; i++)
		if (memcmp(c->wraps[i].member, ed, 32) == 0)
			return c->wraps[i].object;
	return NULL;
}

static int
has_wrap(const struct cf_record *r, const uint8_t ed[32])
{
	for (size_t i = 0; i < r->nwraps; i++)
		if (memcmp(r->wraps[i].member, ed, 32) == 0)
			return 1;
	return 0;
}

static int
add_member(struct cf_chain *c, const struct cf_record *r)
{
	const struct cf_member *by = cf_chain_find(c, r->signer);
	struct cf_member *m;

	if (c->n == CF_CHAIN_MAX_MEMBERS)
		return -1;
	m = &c->m[c->n++];
	*m = r->subject;
	m->added = r->time;
	memcpy(m->added_by, r->signer, 32);
	/* the genesis is signed by its own subject */
	snprintf(m->added_by_name, sizeof(m->added_by_name), "%s",
	    by != NULL ? by->name : r->subject.name);
	m->seq = r->seq;
	return 0;
}

static void
merge_wraps(struct cf_chain *c, const struct cf_record *r, int replace)
{
	if (replace)
		c->nwraps = 0;
	for (size_t i = 0; i < r->nwraps && c->nwraps < CF_CHAIN_MAX_MEMBERS;
	     i++)
		c->wraps[c->nwraps++] = r->wraps[i];
}

static int
violation(struct cf_err *err, const struct cf_record *r, const char *rule)
{
	return cf_err_set(err, CF_EAUTH, "chain record %llu: %s",
	    (unsigned long long)r->seq, rule);
}

static int
apply_genesis(struct cf_chain *c, const struct cf_record *r, struct cf_err *err)
{
	if (c->seq != UINT64_MAX || r->seq != 0)
		return violation(err, r, "genesis record not first");
	if (!sodium_is_zero(r->prev, 32) || r->epoch != 1 ||
	    r->subject.role != CF_ROLE_DEVICE ||
	    memcmp(r->subject.ed, r->signer, 32) != 0 ||
	    !has_wrap(r, r->subject.ed))
		return violation(err, r, "genesis record malformed");
	add_member(c, r);
	merge_wraps(c, r, 1);
	return 0;
}

static int
apply_add(struct cf_chain *c, const struct cf_record *r, struct cf_err *err)
{
	if (cf_chain_find(c, r->subject.ed) != NULL)
		return violation(err, r, "adds a device that is already there");
	if (r->epoch != c->epoch ||
	    sodium_memcmp(r->ak_commit, c->ak_commit, 32) != 0)
		return violation(err, r,
		    "adds a device under another key epoch");
	if (r->subject.role != CF_ROLE_WRITEONLY && !has_wrap(r, r->subject.ed))
		return violation(err, r, "adds a device without its key");
	if (add_member(c, r) != 0)
		return violation(err, r, "too many devices");
	merge_wraps(c, r, 0);
	return 0;
}

static int
apply_remove(struct cf_chain *c, const struct cf_record *r, struct cf_err *err)
{
	size_t j = 0;

	if (cf_chain_find(c, r->subject.ed) == NULL)
		return violation(err, r, "removes a device that is not there");
	if (r->epoch != c->epoch + 1)
		return violation(err, r, "removal does not start a new epoch");
	for (size_t i = 0; i < c->n; i++) {
		const struct cf_member *m = &c->m[i];

		if (memcmp(m->ed, r->subject.ed, 32) == 0 ||
		    m->role == CF_ROLE_WRITEONLY)
			continue;
		if (!has_wrap(r, m->ed))
			return violation(err, r,
			    "new epoch key not given to every remaining "
			    "device");
		c->m[j++] = *m;
	}
	c->n = j;
	merge_wraps(c, r, 1);
	return 0;
}

/** cf_chain_apply(c, r, name, err): apply one record. */
int
cf_chain_apply(struct cf_chain *c, const struct cf_record *r,
    const uint8_t name[static 32], struct cf_err *err)
{
	const struct cf_member *s;
	int rc;

	if (r->type == CF_REC_GENESIS) {
		rc = apply_genesis(c, r, err);
	} else {
		if (c->seq == UINT64_MAX || r->seq != c->seq + 1 ||
		    memcmp(r->prev, c->head, 32) != 0)
			return violation(err, r,
			    "does not follow the previous record (removed, "
			    "reordered or forked chain)");
		s = cf_chain_find(c, r->signer);
		if (s == NULL || s->role == CF_ROLE_WRITEONLY)
			return violation(err, r,
			    "signed by a key that is not a trusted device");
		rc = r->type == CF_REC_ADD ? apply_add(c, r, err)
		                           : apply_remove(c, r, err);
	}
	if (rc != 0)
		return -1;
	c->seq = r->seq;
	memcpy(c->head, name, 32);
	c->epoch = r->epoch;
	memcpy(c->ak_commit, r->ak_commit, 32);
	return 0;
}
