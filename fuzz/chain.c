/*
 * chain.c: fuzz cf_record_decode and cf_chain_apply: the device chain of an
 * account, which every device verifies record by record from the server's
 * bytes (untrusted: the server may roll back, fork or forge).
 *
 *   input = mode(1) || (u16le length || record)*
 * mode bit 0 clear: records as stored (signed).  Set: each record is
 * device(1) || its bytes up to the signer; the harness appends the public
 * key of fuzz device (device mod 4) and signs as that device, so that the
 * fuzzer reaches the chain rules behind the signature.  Records are applied
 * in order until one is refused.
 * Oracles: a record applies only if its signer was a trusted (not
 * write-only) member before it, or it is the first and a genesis; after
 * it, the state is within its caps, members are distinct, the subject of
 * an add is a member and that of a removal is not.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "account/chain.h"

#include "common.h"

#define TAIL (32 + 64) /* signer, signature */

static int
next_record(const uint8_t *p, size_t n, size_t *off, const uint8_t **rec,
    size_t *len)
{
	if (n - *off < 2)
		return -1;
	*len = (size_t)p[*off] | (size_t)p[*off + 1] << 8;
	*off += 2;
	if (*len > n - *off)
		return -1;
	*rec = p + *off;
	*off += *len;
	return 0;
}

static const uint8_t *
device(unsigned i, const uint8_t **sk)
{
	static uint8_t pks[FUZZ_DEVICES][32], sks[FUZZ_DEVICES][64];
	static int ready;

	if (!ready) {
		for (unsigned k = 0; k < FUZZ_DEVICES; k++)
			fuzz_device_key(k, pks[k], sks[k]);
		ready = 1;
	}
	*sk = sks[i % FUZZ_DEVICES];
	return pks[i % FUZZ_DEVICES];
}

/** sign(rec, len, outn): device byte || body -> body || signer || sig. */
static uint8_t *
sign(const uint8_t *rec, size_t len, size_t *outn)
{
	const uint8_t *sk, *pk;
	size_t body;
	uint8_t *out;

	if (len < 1)
		return NULL;
	pk = device(rec[0], &sk);
	body = len - 1;
	*outn = body + TAIL;
	out = fuzz_alloc(*outn);
	memcpy(out, rec + 1, body);
	memcpy(out + body, pk, 32);
	crypto_sign_detached(out + body + 32, NULL, out, body + 32, sk);
	return out;
}

static int
trusted(const struct cf_chain *c, const struct cf_record *r)
{
	const struct cf_member *m = cf_chain_find(c, r->signer);

	if (r->type == CF_REC_GENESIS)
		return c->seq == UINT64_MAX;
	return m != NULL && m->role != CF_ROLE_WRITEONLY;
}

static void
check_state(const struct cf_chain *c, const struct cf_record *r)
{
	int present = cf_chain_find(c, r->subject.ed) != NULL;

	fuzz_check(c->n <= CF_CHAIN_MAX_MEMBERS &&
	               c->nwraps <= CF_CHAIN_MAX_MEMBERS,
	    "chain state past its caps");
	fuzz_check(c->seq == r->seq && c->epoch == r->epoch,
	    "chain state does not follow the record");
	fuzz_check(present == (r->type != CF_REC_REMOVE),
	    "record subject not added or not removed");
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = i + 1; j < c->n; j++)
			fuzz_check(memcmp(c->m[i].ed, c->m[j].ed, 32) != 0,
			    "a member twice in the chain");
}

static int
apply_one(struct cf_chain *c, struct cf_record *r, int sign_it,
    const uint8_t *rec, size_t len)
{
	uint8_t *p, name[32];
	struct cf_err err;
	int ok, before;
	size_t n = len;

	p = sign_it ? sign(rec, len, &n) : fuzz_copy(rec, len);
	if (p == NULL)
		return -1;
	ok = cf_record_decode(p, n, r, &err) == 0;
	if (ok) {
		before = trusted(c, r);
		cf_record_name(p, n, name);
		ok = cf_chain_apply(c, r, name, &err) == 0;
		if (ok) {
			fuzz_check(before,
			    "record of an untrusted key applied");
			check_state(c, r);
		}
	}
	free(p);
	return ok ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_chain *c;
	struct cf_record *r;
	const uint8_t *rec;
	size_t off = 1, len;

	if (size < 1)
		return 0;
	c = (struct cf_chain *)fuzz_alloc(sizeof(*c));
	r = (struct cf_record *)fuzz_alloc(sizeof(*r));
	cf_chain_init(c);
	while (next_record(data, size, &off, &rec, &len) == 0)
		if (apply_one(c, r, data[0] & 1, rec, len) != 0)
			break;
	free(r);
	free(c);
	return 0;
}
