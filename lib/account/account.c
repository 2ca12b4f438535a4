#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "account/account.h"
#include "crypto/crypto.h"
#include "net/net.h"

#define MAX_RECORDS 100000
#define WRAP_PLAIN 36 /* AK || u32 epoch */

void
cf_identity_from_sk(struct cf_identity *id, const uint8_t sk[static 64])
{
	memcpy(id->sk, sk, 64);
	memcpy(id->ed, sk + 32, 32);
	if (crypto_sign_ed25519_pk_to_curve25519(id->xpk, id->ed) != 0)
		memset(id->xpk, 0, 32);
	if (crypto_sign_ed25519_sk_to_curve25519(id->xsk, sk) != 0)
		memset(id->xsk, 0, 32);
}

void
cf_fingerprint(const uint8_t ed[static 32], char out[static 24])
{
	uint8_t h[32];
	char hex[17];

	cf_crypto_hash(ed, 32, h);
	cf_hex(hex, h, 8);
	snprintf(out, 24, "%.4s-%.4s-%.4s-%.4s", hex, hex + 4, hex + 8,
	    hex + 12);
}

uint32_t
cf_account_epoch(const struct cf_account *a)
{
	return a->chain->epoch;
}

static int
security(struct cf_err *err, const char *fmt, const char *detail)
{
	return cf_err_set(err, CF_ESECURITY, fmt, detail);
}

/* The error in ${err} (a rule or signature the server's chain breaks) as a
 * security alert.  The message is copied first: formatting err->msg into
 * itself is undefined and garbled it. */
static int
escalate(struct cf_err *err)
{
	char m[sizeof(err->msg)];

	memcpy(m, err->msg, sizeof(m));
	return security(err, "SECURITY ALERT: %s", m);
}

/* --- objects of the "_account" repository --- */

static int
get_object(struct cf_account *a, const uint8_t name[32], struct cf_buf *out,
    struct cf_err *err)
{
	uint8_t h[32];
	char hex[65];

	cf_hex(hex, name, 32);
	out->len = 0;
	if (cf_store_get(a->s, CF_KIND_KEY, hex, 0, CF_GET_ALL, out, err))
		return -1;
	cf_crypto_hash(out->p, out->len, h);
	if (sodium_memcmp(h, name, 32) != 0)
		return security(err,
		    "SECURITY ALERT: account object %.16s does "
		    "not match its name",
		    hex);
	return 0;
}

static int
put_object(struct cf_account *a, const uint8_t *p, size_t n, uint8_t name[32],
    struct cf_err *err)
{
	char hex[65];

	cf_crypto_hash(p, n, name);
	cf_hex(hex, name, 32);
	return cf_store_put(a->s, CF_KIND_KEY, hex, p, n, 0, err);
}

/* --- the local state: the last head seen, and a cache of records --- */

static int
read_head(const struct cf_account *a, uint64_t *seq, uint8_t name[32])
{
	char path[4200], hex[65];
	unsigned long long s;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/head", a->state);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	ok = fscanf(f, "%llu %64s", &s, hex) == 2 &&
	     cf_unhex(name, 32, hex) == 0;
	fclose(f);
	*seq = s;
	return ok ? 0 : -1;
}

static int
write_file(const char *path, const void *p, size_t n, struct cf_err *err)
{
	char tmp[4300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return cf_err_sys(err, "cannot write %s", tmp);
	if (fwrite(p, 1, n, f) != n || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		fclose(f);
		return cf_err_sys(err, "cannot write %s", tmp);
	}
	fclose(f);
	if (rename(tmp, path) != 0)
		return cf_err_sys(err, "cannot write %s", path);
	return 0;
}

static int
save_head(const struct cf_account *a, struct cf_err *err)
{
	char path[4200], line[96], hex[65];

	cf_hex(hex, a->chain->head, 32);
	snprintf(path, sizeof(path), "%s/head", a->state);
	snprintf(line, sizeof(line), "%llu %s\n",
	    (unsigned long long)a->chain->seq, hex);
	return write_file(path, line, strlen(line), err);
}

static int
cached_record(struct cf_account *a, const uint8_t name[32], struct cf_buf *b,
    struct cf_err *err)
{
	char path[4300], hex[65];
	uint8_t h[32];
	FILE *f;

	cf_hex(hex, name, 32);
	snprintf(path, sizeof(path), "%s/records/%s", a->state, hex);
	b->len = 0;
	if ((f = fopen(path, "rb")) != NULL) {
		if (cf_buf_reserve(b, 70000) == 0)
			b->len = fread(b->p, 1, 70000, f);
		fclose(f);
		cf_crypto_hash(b->p, b->len, h);
		if (b->len > 0 && sodium_memcmp(h, name, 32) == 0)
			return 0;
	}
	if (get_object(a, name, b, err))
		return -1;
	(void)write_file(path, b->p, b->len, err);
	cf_err_clear(err);
	return 0;
}

/* --- reading and verifying the chain --- */

static int
read_ref(struct cf_account *a, uint64_t *seq, uint8_t name[32],
    struct cf_err *err)
{
	struct cf_buf b;
	char text[100], hex[65];
	unsigned long long s;
	int rc;

	*seq = 0;
	cf_buf_init(&b, 4096);
	rc = cf_http_ref_get(a->s, "chain", &b, &a->head_version, err);
	if (rc == 1)
		rc = cf_err_set(err, CF_ENOTFOUND, "no account at %s",
		    a->s->where);
	if (rc == 0) {
		size_t n = b.len < sizeof(text) - 1 ? b.len : sizeof(text) - 1;

		if (n > 0) /* an empty ref: b.p is NULL */
			memcpy(text, b.p, n);
		text[n] = '\0';
		if (sscanf(text, "%llu %64s", &s, hex) != 2 ||
		    cf_unhex(name, 32, hex) != 0 || s >= MAX_RECORDS)
			rc = security(err,
			    "SECURITY ALERT: the server's chain "
			    "head is malformed%s",
			    "");
		*seq = s;
	}
	cf_buf_release(&b);
	return rc;
}

/* Fetch records from the head back to the genesis into ${raw}. */
static int
fetch_records(struct cf_account *a, uint64_t seq, const uint8_t head[32],
    struct cf_buf *raw, size_t *offs, struct cf_err *err)
{
	struct cf_record *r = malloc(sizeof(*r));
	uint8_t cur[32];
	struct cf_buf b;
	int rc = 0;

	if (r == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_buf_init(&b, 1u << 20);
	memcpy(cur, head, 32);
	for (uint64_t i = seq + 1; i-- > 0 && rc == 0;) {
		rc = cached_record(a, cur, &b, err);
		if (rc != 0 && err->code == CF_ENOTFOUND) {
			char hex[65];

			/* The server's own head names it: withheld or cut out.
			 */
			cf_hex(hex, cur, 32);
			rc = cf_err_set(err, CF_ESECURITY,
			    "SECURITY ALERT: device "
			    "chain record %llu (%.16s) is missing on the "
			    "server "
			    "(a record removed from the chain?)",
			    (unsigned long long)i, hex);
		}
		if (rc == 0 && cf_record_decode(b.p, b.len, r, err) != 0)
			rc = escalate(err);
		if (rc == 0 && r->seq != i)
			rc = security(err,
			    "SECURITY ALERT: device chain records "
			    "out of order (reordered or forked)%s",
			    "");
		if (rc == 0) {
			offs[i] = raw->len;
			cf_buf_add_uvar(raw, b.len);
			cf_buf_add(raw, b.p, b.len);
			memcpy(a->names[i], cur, 32);
			memcpy(cur, r->prev, 32);
			rc = cf_buf_check(raw, err, "device chain");
		}
	}
	cf_buf_release(&b);
	free(r);
	return rc;
}

static int
apply_all(struct cf_account *a, uint64_t seq, const struct cf_buf *raw,
    const size_t *offs, struct cf_err *err)
{
	struct cf_record *r = malloc(sizeof(*r));
	int rc = 0;

	if (r == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	cf_chain_init(a->chain);
	for (uint64_t i = 0; i <= seq && rc == 0; i++) {
		struct cf_rd rd;
		const uint8_t *p;
		size_t n;

		cf_rd_init(&rd, raw->p + offs[i], raw->len - offs[i]);
		if (cf_rd_bytes(&rd, &p, &n, 1u << 20))
			rc = cf_err_set(err, CF_EINTERNAL,
			    "device chain record "
			    "%llu lost",
			    (unsigned long long)i);
		else if (cf_record_decode(p, n, r, err) ||
		         cf_chain_apply(a->chain, r, a->names[i], err))
			rc = escalate(err);
	}
	free(r);
	return rc;
}

static int
check_seen(struct cf_account *a, const uint8_t *pin, struct cf_err *err)
{
	uint8_t seen[32];
	uint64_t sseq;
	int rc = read_head(a, &sseq, seen);

	if (pin != NULL && sodium_memcmp(pin, a->chain->head, 32) != 0)
		return security(err,
		    "SECURITY ALERT: the server shows a device "
		    "chain other than the one the pairing device sent%s",
		    "");
	if (rc == 1)
		return 0; /* first use of this account on this device */
	if (rc < 0)
		return cf_err_set(err, CF_EFORMAT, "%s/head is corrupt",
		    a->state);
	if (sseq > a->chain->seq)
		return security(err,
		    "SECURITY ALERT: the server rolled the "
		    "device chain back (this device saw a longer one)%s",
		    "");
	if (sodium_memcmp(a->names[sseq], seen, 32) != 0)
		return security(err,
		    "SECURITY ALERT: the server shows a forked "
		    "device chain (it does not contain the head this device "
		    "saw)%s",
		    "");
	return 0;
}

static int
sync_chain(struct cf_account *a, const uint8_t *pin, struct cf_err *err)
{
	uint8_t head[32];
	uint64_t seq;
	struct cf_buf raw;
	size_t *offs;
	int rc;

	if (read_ref(a, &seq, head, err))
		return -1;
	free(a->names);
	a->names = calloc((size_t)seq + 2, 32);
	offs = calloc((size_t)seq + 1, sizeof(*offs));
	if (a->names == NULL || offs == NULL) {
		free(offs);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	cf_buf_init(&raw, 1u << 30);
	rc = fetch_records(a, seq, head, &raw, offs, err);
	if (rc == 0)
		rc = apply_all(a, seq, &raw, offs, err);
	if (rc == 0)
		rc = check_seen(a, pin, err);
	if (rc == 0)
		rc = save_head(a, err);
	cf_buf_release(&raw);
	free(offs);
	return rc;
}

static int
unseal_ak(struct cf_account *a, struct cf_err *err)
{
	const uint8_t *wrap = cf_chain_wrap_for(a->chain, a->me->ed);
	uint8_t plain[WRAP_PLAIN], commit[32];
	struct cf_buf b;
	int rc = -1;

	if (cf_chain_find(a->chain, a->me->ed) == NULL)
		return cf_err_set(err, CF_EAUTH,
		    "this device is not (or no "
		    "longer) a device of the account");
	if (wrap == NULL)
		return cf_err_set(err, CF_EAUTH,
		    "this device holds no account key (write-only)");
	cf_buf_init(&b, 4096);
	if (get_object(a, wrap, &b, err) == 0) {
		if (b.len != WRAP_PLAIN + crypto_box_SEALBYTES ||
		    crypto_box_seal_open(plain, b.p, b.len, a->me->xpk,
		        a->me->xsk) != 0)
			security(err,
			    "SECURITY ALERT: the account key sealed to "
			    "this device does not open%s",
			    "");
		else if (cf_ak_commit(plain, commit),
		    cf_le32_get(plain + 32) != a->chain->epoch ||
		        sodium_memcmp(commit, a->chain->ak_commit, 32) != 0)
			security(err,
			    "SECURITY ALERT: the account key sealed to "
			    "this device is not the one the chain names%s",
			    "");
		else {
			memcpy(a->ak, plain, 32);
			rc = 0;
		}
	}
	sodium_memzero(plain, sizeof(plain));
	cf_buf_release(&b);
	return rc;
}

/* --- lifecycle --- */

static struct cf_account *
account_new(struct cf_store *s, const struct cf_identity *me, const char *state,
    struct cf_err *err)
{
	struct cf_account *a = calloc(1, sizeof(*a));
	char path[4300];

	if (a == NULL || (a->chain = malloc(sizeof(*a->chain))) == NULL ||
	    (a->me = sodium_malloc(sizeof(*a->me))) == NULL ||
	    (a->ak = sodium_malloc(32)) == NULL) {
		cf_account_close(a);
		cf_store_free(s);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	a->s = s;
	memcpy(a->me, me, sizeof(*me));
	cf_chain_init(a->chain);
	snprintf(a->state, sizeof(a->state), "%s", state);
	snprintf(path, sizeof(path), "%s/records", state);
	if ((mkdir(state, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(path, 0700) != 0 && errno != EEXIST)) {
		cf_err_sys(err, "cannot create %s", path);
		cf_account_close(a);
		return NULL;
	}
	return a;
}

void
cf_account_close(struct cf_account *a)
{
	if (a == NULL)
		return;
	cf_store_free(a->s);
	free(a->chain);
	free(a->names);
	if (a->me != NULL)
		sodium_free(a->me);
	if (a->ak != NULL)
		sodium_free(a->ak);
	free(a);
}

/** cf_account_open(s, me, state, pin, err): verify and unlock. */
struct cf_account *
cf_account_open(struct cf_store *s, const struct cf_identity *me,
    const char *state, const uint8_t *pin, struct cf_err *err)
{
	struct cf_account *a = account_new(s, me, state, err);

	if (a == NULL)
		return NULL;
	if (sync_chain(a, pin, err) != 0 || unseal_ak(a, err) != 0) {
		cf_account_close(a);
		return NULL;
	}
	return a;
}

/* --- appending --- */

static int
seal_wrap(struct cf_account *a, const uint8_t *ak, uint32_t epoch,
    const uint8_t ed[32], const uint8_t x[32], struct cf_wrapref *w,
    struct cf_err *err)
{
	uint8_t plain[WRAP_PLAIN], sealed[WRAP_PLAIN + crypto_box_SEALBYTES];

	memcpy(plain, ak, 32);
	cf_le32_put(plain + 32, epoch);
	if (crypto_box_seal(sealed, plain, sizeof(plain), x) != 0) {
		sodium_memzero(plain, sizeof(plain));
		return cf_err_set(err, CF_EINTERNAL, "crypto_box_seal failed");
	}
	sodium_memzero(plain, sizeof(plain));
	memcpy(w->member, ed, 32);
	return put_object(a, sealed, sizeof(sealed), w->object, err);
}

/* Sign ${r} (seq, prev, time, signer filled here), store it and move the
 * head; then apply it to our own state. */
static int
append(struct cf_account *a, struct cf_record *r, struct cf_err *err)
{
	struct cf_buf b;
	uint8_t name[32];
	char ref[100], hex[65];
	int rc;

	r->seq = a->chain->seq == UINT64_MAX ? 0 : a->chain->seq + 1;
	memcpy(r->prev, r->seq ? a->chain->head : (const uint8_t[32]){0}, 32);
	r->time = (int64_t)time(NULL);
	memcpy(r->signer, a->me->ed, 32);
	cf_buf_init(&b, 1u << 20);
	rc = cf_record_encode(r, a->me->sk, &b, err);
	if (rc == 0) {
		/* Our own record must pass the rules every device applies (a
		 * device added twice, say): once the head named it, every
		 * device would refuse the chain for good. */
		struct cf_chain *c = malloc(sizeof(*c));

		cf_record_name(b.p, b.len, name);
		if (c == NULL)
			rc = cf_err_set(err, CF_ENOMEM, "out of memory");
		else {
			memcpy(c, a->chain, sizeof(*c));
			rc = cf_chain_apply(c, r, name, err);
			free(c);
		}
	}
	if (rc == 0)
		rc = put_object(a, b.p, b.len, name, err);
	if (rc == 0) {
		cf_hex(hex, name, 32);
		snprintf(ref, sizeof(ref), "%llu %s",
		    (unsigned long long)r->seq, hex);
		rc =
		    cf_http_ref_cas(a->s, "chain", r->seq ? a->head_version : 0,
		        (const uint8_t *)ref, strlen(ref), err);
		if (rc == 1)
			rc = cf_err_set(err, CF_EEXIST,
			    "the device chain changed "
			    "meanwhile: run the command again");
	}
	if (rc == 0 && cf_chain_apply(a->chain, r, name, err) != 0)
		rc = -1;
	if (rc == 0) {
		void *nn = realloc(a->names, ((size_t)r->seq + 2) * 32);

		if (nn != NULL) {
			a->names = nn;
			memcpy(a->names[r->seq], name, 32);
		}
		a->head_version = r->seq ? a->head_version + 1 : 1;
		rc = save_head(a, err);
	}
	cf_buf_release(&b);
	return rc;
}

static void
subject(struct cf_record *r, uint8_t role, const char *name,
    const uint8_t ed[32], const uint8_t x[32])
{
	r->subject.role = role;
	memcpy(r->subject.ed, ed, 32);
	memcpy(r->subject.x, x, 32);
	snprintf(r->subject.name, sizeof(r->subject.name), "%s", name);
}

static int
add_member(struct cf_account *a, uint8_t role, const char *name,
    const uint8_t ed[static 32], const uint8_t x[static 32], const char *zone,
    struct cf_err *err)
{
	const struct cf_member *m = cf_chain_find(a->chain, ed);
	struct cf_record *r;
	int rc = 0;

	if (m != NULL) /* before anything is stored on the server */
		return cf_err_set(err, CF_EEXIST,
		    "that device is in the account "
		    "already (as \"%s\")",
		    m->name);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	r->type = CF_REC_ADD;
	r->epoch = a->chain->epoch;
	memcpy(r->ak_commit, a->chain->ak_commit, 32);
	subject(r, role, name, ed, x);
	if (role != CF_ROLE_WRITEONLY)
		rc = seal_wrap(a, a->ak, r->epoch, ed, x,
		    &r->wraps[r->nwraps++], err);
	if (rc == 0)
		rc = append(a, r, err);
	if (rc == 0)
		rc = cf_http_device_add(a->s, ed,
		    role == CF_ROLE_WRITEONLY ? 1u : 0u, zone, err);
	free(r);
	return rc;
}

/** cf_account_add(a, role, name, ed, x, err): add a member. */
int
cf_account_add(struct cf_account *a, uint8_t role, const char *name,
    const uint8_t ed[static 32], const uint8_t x[static 32], struct cf_err *err)
{
	return add_member(a, role, name, ed, x, NULL, err);
}

/** cf_account_add_writer(a, name, ed, x, zone, err): add a write-only
 * member, whose key the server lets reach zone ${zone} only. */
int
cf_account_add_writer(struct cf_account *a, const char *name,
    const uint8_t ed[static 32], const uint8_t x[static 32], const char *zone,
    struct cf_err *err)
{
	return add_member(a, CF_ROLE_WRITEONLY, name, ed, x, zone, err);
}

/** cf_account_create(s, me, name, recovery, state, err): a new account. */
struct cf_account *
cf_account_create(struct cf_store *s, const struct cf_identity *me,
    const char *name, const struct cf_identity *recovery, const char *state,
    struct cf_err *err)
{
	struct cf_account *a = account_new(s, me, state, err);
	struct cf_record *r;
	int rc;

	if (a == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		cf_account_close(a);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	cf_crypto_random(a->ak, 32);
	r->type = CF_REC_GENESIS;
	r->epoch = 1;
	cf_ak_commit(a->ak, r->ak_commit);
	subject(r, CF_ROLE_DEVICE, name, me->ed, me->xpk);
	rc = seal_wrap(a, a->ak, 1, me->ed, me->xpk, &r->wraps[r->nwraps++],
	    err);
	if (rc == 0 && (rc = append(a, r, err)) != 0 && err->code == CF_EEXIST)
		cf_err_set(err, CF_EEXIST, "%s has an account already",
		    a->s->where);
	if (rc == 0)
		rc = cf_account_add(a, CF_ROLE_RECOVERY, "recovery key",
		    recovery->ed, recovery->xpk, err);
	free(r);
	if (rc != 0) {
		cf_account_close(a);
		return NULL;
	}
	return a;
}

/** cf_account_remove(a, ed, rekey, arg, err): remove and rotate. */
int
cf_account_remove(struct cf_account *a, const uint8_t ed[static 32],
    cf_rekey_fn rekey, void *arg, struct cf_err *err)
{
	struct cf_record *r = calloc(1, sizeof(*r));
	const struct cf_member *m = cf_chain_find(a->chain, ed);
	uint8_t *nak = sodium_malloc(32), wo[CF_CHAIN_MAX_MEMBERS][32];
	size_t nwo = 0;
	int rc = 0;

	if (r == NULL || nak == NULL) {
		free(r);
		if (nak != NULL)
			sodium_free(nak);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	if (m == NULL) {
		rc = cf_err_set(err, CF_ENOTFOUND, "no such device");
		goto out;
	}
	cf_crypto_random(nak, 32);
	r->type = CF_REC_REMOVE;
	r->epoch = a->chain->epoch + 1;
	cf_ak_commit(nak, r->ak_commit);
	subject(r, m->role, m->name, m->ed, m->x);
	for (size_t i = 0; i < a->chain->n && rc == 0; i++) {
		const struct cf_member *o = &a->chain->m[i];

		if (memcmp(o->ed, ed, 32) == 0 || o->role == CF_ROLE_WRITEONLY)
			continue;
		rc = seal_wrap(a, nak, r->epoch, o->ed, o->x,
		    &r->wraps[r->nwraps++], err);
	}
	if (rc == 0 && rekey != NULL)
		rc = rekey(arg, a->ak, a->chain->epoch, nak, r->epoch, err);
	for (size_t i = 0; rc == 0 && i < a->chain->n; i++)
		if (a->chain->m[i].role == CF_ROLE_WRITEONLY)
			memcpy(wo[nwo++], a->chain->m[i].ed, 32);
	if (rc == 0)
		rc = append(a, r, err);
	if (rc == 0) {
		memcpy(a->ak, nak, 32);
		rc = cf_http_device_remove(a->s, ed, err);
	}
	/* Write-only keys leave with the rotation: the server refuses them. */
	for (size_t i = 0; rc == 0 && i < nwo; i++)
		rc = cf_http_device_remove(a->s, wo[i], err);
out:
	sodium_free(nak);
	free(r);
	return rc;
}
