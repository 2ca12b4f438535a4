#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "proto/proto.h"
#include "store/store.h"

int
cf_proto_repo_ok(const char *s)
{
	size_t n = 0;

	if (s[0] == '.' || s[0] == '\0')
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-') ||
		    n >= 64)
			return 0;
	}
	return 1;
}

static int
kind_from(const char *s, size_t n)
{
	for (int k = 0; k < CF_KIND_COUNT; k++) {
		const char *name = cf_store_kind_name((enum cf_kind)k);

		if (strlen(name) == n && strncmp(name, s, n) == 0)
			return k;
	}
	return -1;
}

/* Copy the next segment of ${p} (up to '/' or end) into ${out}. */
static const char *
segment(const char *p, char *out, size_t max)
{
	size_t n = strcspn(p, "/");

	if (n == 0 || n >= max)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

static int
route_repo(const char *p, struct cf_route *r)
{
	char seg[80];

	if ((p = segment(p, r->repo, sizeof(r->repo))) == NULL ||
	    !cf_proto_repo_ok(r->repo) || *p++ != '/')
		return -1;
	if (strncmp(p, "ref/", 4) == 0) {
		r->kind = CF_ROUTE_REF;
		p = segment(p + 4, r->name, sizeof(r->name));
		return p != NULL && *p == '\0' && cf_proto_repo_ok(r->name)
		           ? 0
		           : -1;
	}
	if (strncmp(p, "o/", 2) != 0 || (p = segment(p + 2, seg, 16)) == NULL ||
	    (r->objkind = kind_from(seg, strlen(seg))) < 0 || *p++ != '/')
		return -1;
	if (*p == '\0') {
		r->kind = CF_ROUTE_LIST;
		return r->objkind == CF_KIND_CONFIG ? -1 : 0;
	}
	if ((p = segment(p, r->name, sizeof(r->name))) == NULL || *p != '\0' ||
	    !cf_store_name_ok((enum cf_kind)r->objkind, r->name))
		return -1;
	r->kind = CF_ROUTE_OBJECT;
	return 0;
}

/* A mailbox is named by the server's 8 digits; a message by its side,
 * step and attempt, "a1.0" to "b2.9".  Nothing else: the server keeps a
 * message as the ref "ID.SLOT", so a dot in an ID would name a message
 * as a mailbox, and free slot names would let a joiner with no account
 * store without limit. */
static int
pair_id_ok(const char *s)
{
	return strlen(s) == 8 && strspn(s, "0123456789") == 8;
}

static int
pair_slot_ok(const char *s)
{
	return strlen(s) == 4 && (s[0] == 'a' || s[0] == 'b') &&
	       (s[1] == '1' || s[1] == '2') && s[2] == '.' && s[3] >= '0' &&
	       s[3] <= '9';
}

static int
route_pair(const char *p, struct cf_route *r)
{
	r->kind = CF_ROUTE_PAIR;
	if (*p == '\0')
		return 0;
	if (*p++ != '/' || (p = segment(p, r->name, 17)) == NULL ||
	    !pair_id_ok(r->name))
		return -1;
	if (*p == '\0')
		return 0;
	if (*p++ != '/' || (p = segment(p, r->slot, sizeof(r->slot))) == NULL ||
	    *p != '\0' || !pair_slot_ok(r->slot))
		return -1;
	return 0;
}

static int
route_devices(const char *p, struct cf_route *r)
{
	uint8_t pk[32];

	r->kind = CF_ROUTE_DEVICES;
	if (*p == '\0')
		return 0;
	if (*p++ != '/' || (p = segment(p, r->name, sizeof(r->name))) == NULL ||
	    *p != '\0' || cf_unhex(pk, 32, r->name) != 0)
		return -1;
	return 0;
}

/** cf_proto_route(path, r): parse a request path. */
int
cf_proto_route(const char *path, struct cf_route *r)
{
	memset(r, 0, sizeof(*r));
	if (strcmp(path, "/healthz") == 0)
		r->kind = CF_ROUTE_HEALTH;
	else if (strcmp(path, "/metrics") == 0)
		r->kind = CF_ROUTE_METRICS;
	else if (strcmp(path, "/v1/register") == 0)
		r->kind = CF_ROUTE_REGISTER;
	else if (strncmp(path, "/v1/r/", 6) == 0 &&
	         route_repo(path + 6, r) == 0)
		return 0;
	else if (strcmp(path, "/v1/repos") == 0)
		r->kind = CF_ROUTE_REPOS;
	else if (strncmp(path, "/v1/devices", 11) == 0)
		return route_devices(path + 11, r)
		           ? (r->kind = CF_ROUTE_BAD, -1)
		           : 0;
	else if (strncmp(path, "/v1/pair", 8) == 0)
		return route_pair(path + 8, r) ? (r->kind = CF_ROUTE_BAD, -1)
		                               : 0;
	else
		r->kind = CF_ROUTE_BAD;
	return r->kind == CF_ROUTE_BAD ? -1 : 0;
}

static int
hex_field(const char *h, const char *key, uint8_t *out, size_t n)
{
	char buf[140];
	const char *p = strstr(h, key);
	size_t len;

	if (p == NULL)
		return -1;
	p += strlen(key);
	len = strcspn(p, ",");
	if (len != 2 * n || len >= sizeof(buf))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return cf_unhex(out, n, buf);
}

/** cf_proto_auth_parse(h, a): parse an Authorization header. */
int
cf_proto_auth_parse(const char *h, struct cf_auth *a)
{
	const char *p;
	char *end;
	long long ts;

	if (strlen(h) > CF_PROTO_AUTH_MAX ||
	    strncmp(h, "Coffer-Ed25519 ", 15) != 0)
		return -1;
	h += 15;
	if (hex_field(h, "pk=", a->pk, sizeof(a->pk)) ||
	    hex_field(h, "nonce=", a->nonce, sizeof(a->nonce)) ||
	    hex_field(h, "sig=", a->sig, sizeof(a->sig)) ||
	    (p = strstr(h, "ts=")) == NULL)
		return -1;
	ts = strtoll(p + 3, &end, 10);
	if (end == p + 3 || (*end != ',' && *end != '\0') || ts < 0)
		return -1;
	a->ts = ts;
	return 0;
}

static int
canonical(char *out, size_t n, const char *method, const char *uri, int64_t ts,
    const uint8_t nonce[16], const char bodyhash[65])
{
	char nh[33];
	int len;

	cf_hex(nh, nonce, 16);
	len = snprintf(out, n, "coffer-v1\n%s\n%s\n%lld\n%s\n%s", method, uri,
	    (long long)ts, nh, bodyhash);
	return len < 0 || (size_t)len >= n ? -1 : len;
}

/** cf_proto_auth_verify(a, method, uri, bodyhash): check the signature. */
int
cf_proto_auth_verify(const struct cf_auth *a, const char *method,
    const char *uri, const char bodyhash[65])
{
	char msg[8192];
	int len =
	    canonical(msg, sizeof(msg), method, uri, a->ts, a->nonce, bodyhash);

	if (len < 0)
		return -1;
	return crypto_sign_verify_detached(a->sig, (const uint8_t *)msg,
	    (size_t)len, a->pk);
}

/** cf_proto_sign(sk, method, uri, ts, bodyhash, out, n): sign a request. */
int
cf_proto_sign(const uint8_t sk[static CF_SIGN_SK_BYTES], const char *method,
    const char *uri, int64_t ts, const char bodyhash[65], char *out, size_t n)
{
	uint8_t nonce[16], sig[64];
	char msg[8192], pkh[65], nh[33], sh[129];
	int len;

	cf_crypto_random(nonce, sizeof(nonce));
	if ((len = canonical(msg, sizeof(msg), method, uri, ts, nonce,
	         bodyhash)) < 0)
		return -1;
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, (size_t)len, sk);
	cf_hex(pkh, sk + 32, 32); /* libsodium: sk = seed || pk */
	cf_hex(nh, nonce, 16);
	cf_hex(sh, sig, 64);
	len = snprintf(out, n, "Coffer-Ed25519 pk=%s,ts=%lld,nonce=%s,sig=%s",
	    pkh, (long long)ts, nh, sh);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

void
cf_proto_body_hash(const uint8_t *p, size_t n, char out[65])
{
	uint8_t h[32];

	cf_crypto_hash(p, n, h);
	cf_hex(out, h, 32);
}

static int
parse_u64(const char **p, uint64_t *v)
{
	uint64_t x = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

/** cf_proto_range(h, size, off, len): one "bytes=A-B" range. */
int
cf_proto_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t a, b;

	if (strncmp(h, "bytes=", 6) != 0)
		return -1;
	h += 6;
	if (parse_u64(&h, &a) || *h++ != '-')
		return -1;
	if (*h == '\0')
		b = size ? size - 1 : 0;
	else if (parse_u64(&h, &b) || *h != '\0')
		return -1;
	if (a >= size || b < a)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 0;
}

/** cf_proto_list_parse(p, n, fn, arg): "NAME SIZE\n" lines. */
int
cf_proto_list_parse(const char *p, size_t n,
    int (*fn)(void *, const char *, uint64_t), void *arg)
{
	const char *end;

	if (n == 0)
		return 0; /* an empty listing (p may be NULL) */
	end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp = memchr(p, ' ', nl ? (size_t)(nl - p) : 0);
		char name[72], num[24];
		const char *q = num;
		uint64_t size;
		int rc;

		if (nl == NULL || sp == NULL || sp - p >= (long)sizeof(name) ||
		    nl - sp - 1 >= (long)sizeof(num) || nl - sp - 1 == 0)
			return -1;
		memcpy(name, p, (size_t)(sp - p));
		name[sp - p] = '\0';
		memcpy(num, sp + 1, (size_t)(nl - sp - 1));
		num[nl - sp - 1] = '\0';
		if (parse_u64(&q, &size) || *q != '\0')
			return -1;
		if ((rc = fn(arg, name, size)) != 0)
			return rc;
		p = nl + 1;
	}
	return 0;
}
