#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "account/pair.h"
#include "account/pake.h"
#include "crypto/crypto.h"
#include "net/net.h"

#define ATTEMPTS 3
#define POLL_MS 300
#define INFO_MAX 200
#define RECEIPT_S 10 /* how long a refusal waits to be read */

static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
sid_of(const char *id, int k, uint8_t sid[24])
{
	memset(sid, 0, 24);
	snprintf((char *)sid, 24, "%s/%d", id, k);
}

/** cf_pair_offer(a, o, err): a mailbox and a code. */
int
cf_pair_offer(struct cf_account *a, struct cf_pair_offer *o, struct cf_err *err)
{
	uint8_t r[8];

	if (cf_http_pair_create(a->s, o->id, err) != 0)
		return -1;
	cf_crypto_random(r, sizeof(r));
	for (int i = 0; i < 8; i++)
		o->secret[i] = b32[r[i] & 31];
	o->secret[8] = '\0';
	snprintf(o->code, sizeof(o->code), "%s-%.4s-%.4s", o->id, o->secret,
	    o->secret + 4);
	sodium_memzero(r, sizeof(r));
	return 0;
}

static int
parse_code(const char *code, char id[16], char secret[9], struct cf_err *err)
{
	size_t n = 0, s = 0;

	for (; *code && *code != '-' && n < 15; code++)
		if (isdigit((unsigned char)*code))
			id[n++] = *code;
	id[n] = '\0';
	for (; *code && s < 8; code++) {
		char c = (char)toupper((unsigned char)*code);

		if (c == '-' || isspace((unsigned char)c))
			continue;
		if (c == 'O')
			c = '0';
		if (c == 'I' || c == 'L')
			c = '1';
		if (strchr(b32, c) == NULL || c == '\0')
			return cf_err_set(err, CF_EUSAGE,
			    "pairing code: '%c' is not a code character", c);
		secret[s++] = c;
	}
	secret[s] = '\0';
	if (n != 8 || s != 8 || *code != '\0')
		return cf_err_set(err, CF_EUSAGE,
		    "pairing code: expected NNNNNNNN-XXXX-XXXX");
	return 0;
}

/* Wait until message ${slot} arrives. */
static int
wait_msg(struct cf_store *s, const char *id, const char *slot,
    struct cf_buf *out, int timeout_s, struct cf_err *err)
{
	time_t end = time(NULL) + timeout_s;

	for (;;) {
		int rc;

		out->len = 0;
		rc = cf_http_pair_get(s, id, slot, out, err);
		if (rc != 1)
			return rc;
		if (time(NULL) >= end)
			return cf_err_set(err, CF_ENET, "pairing timed out");
		usleep(POLL_MS * 1000);
	}
}

static int
seal_put(struct cf_store *s, const char *id, const char *slot,
    const uint8_t key[32], const uint8_t *prefix, size_t pn, const uint8_t *p,
    size_t n, struct cf_err *err)
{
	uint8_t msg[32 + INFO_MAX + CF_TAG_BYTES], nonce[CF_NONCE_BYTES];

	if (pn + n + CF_TAG_BYTES > sizeof(msg))
		return cf_err_set(err, CF_ELIMIT, "pairing message too long");
	if (pn > 0) /* the answer has no prefix (NULL) */
		memcpy(msg, prefix, pn);
	cf_crypto_nonce(nonce, 0);
	cf_aead_seal(msg + pn, p, n, (const uint8_t *)id, strlen(id), nonce,
	    key);
	return cf_http_pair_put(s, id, slot, msg, pn + n + CF_TAG_BYTES, err);
}

static int
open_msg(const char *id, const uint8_t key[32], const uint8_t *c, size_t n,
    uint8_t *out)
{
	uint8_t nonce[CF_NONCE_BYTES];

	cf_crypto_nonce(nonce, 0);
	return cf_aead_open(out, c, n, (const uint8_t *)id, strlen(id), nonce,
	    key);
}

struct joiner {
	char name[CF_CHAIN_NAME_MAX + 1];
	uint8_t ed[32], x[32];
};

static int
parse_info(const uint8_t *p, size_t n, struct joiner *j)
{
	if (n < 65 || n > 64 + CF_CHAIN_NAME_MAX || memchr(p + 64, 0, n - 64))
		return -1;
	memcpy(j->ed, p, 32);
	memcpy(j->x, p + 32, 32);
	memcpy(j->name, p + 64, n - 64);
	j->name[n - 64] = '\0';
	return 0;
}

/* After a refusal (or a failure) was posted as a2.${k}: wait (a few
 * seconds at most) for the other side's receipt b2.${k} before the mailbox
 * is voided, which would leave that answer unread ("void or expired"). */
static void
receipt(struct cf_store *s, const char *id, int k, int timeout_s)
{
	struct cf_err e2 = {0};
	struct cf_buf b;
	char slot[8];

	cf_buf_init(&b, 64);
	snprintf(slot, sizeof(slot), "b2.%d", k);
	(void)!wait_msg(s, id, slot, &b,
	    timeout_s < RECEIPT_S ? timeout_s : RECEIPT_S, &e2);
	cf_buf_release(&b);
}

/* One attempt of the existing device: 1 if the code was wrong. */
static int
accept_once(struct cf_account *a, const struct cf_pair_offer *o, int k,
    cf_approve_fn approve, void *arg, int timeout_s, struct cf_err *err)
{
	uint8_t sid[24], keys[64], info[INFO_MAX], reply[48];
	char slot[8], fpr[24];
	struct cf_pake p;
	struct joiner j;
	struct cf_buf b;
	int rc;

	sid_of(o->id, k, sid);
	cf_buf_init(&b, 4096);
	snprintf(slot, sizeof(slot), "a1.%d", k);
	if ((rc = cf_pake_start(&p, sid, sizeof(sid), o->secret, 8, err)) !=
	        0 ||
	    (rc = cf_http_pair_put(a->s, o->id, slot, p.Y, 32, err)) != 0)
		goto out;
	snprintf(slot, sizeof(slot), "b1.%d", k);
	if ((rc = wait_msg(a->s, o->id, slot, &b, timeout_s, err)) != 0)
		goto out;
	if (b.len < 32 + CF_TAG_BYTES + 65 || b.len > 32 + INFO_MAX ||
	    cf_pake_finish(&p, 1, b.p, keys, err) != 0 ||
	    open_msg(o->id, keys + 32, b.p + 32, b.len - 32, info) != 0 ||
	    parse_info(info, b.len - 32 - CF_TAG_BYTES, &j) != 0) {
		/* Wrong code, or a message tampered with: tell the other side
		 * (unauthenticated: the worst a forger gains is a retry). */
		snprintf(slot, sizeof(slot), "a2.%d", k);
		rc = cf_http_pair_put(a->s, o->id, slot, (const uint8_t *)"X",
		         1, err) == 0
		         ? 1
		         : -1;
		(void)approve(arg, NULL, NULL);
		goto out;
	}
	cf_fingerprint(j.ed, fpr);
	memcpy(reply, "NO", 2);
	memcpy(reply + 2, a->chain->head, 32);
	cf_le64_put(reply + 34, a->chain->seq);
	if (approve(arg, j.name, fpr) == 0) {
		/* A device already in the chain (its earlier pairing lost its
		 * answer) is not added twice: it gets the current head. */
		if (cf_chain_find(a->chain, j.ed) == NULL &&
		    (rc = cf_account_add(a, CF_ROLE_DEVICE, j.name, j.ed, j.x,
		         err)) != 0) {
			struct cf_err e2 = {0};

			/* "ER": the other side stops waiting, told why */
			memcpy(reply, "ER", 2);
			snprintf(slot, sizeof(slot), "a2.%d", k);
			if (seal_put(a->s, o->id, slot, keys, NULL, 0, reply,
			        42, &e2) == 0)
				receipt(a->s, o->id, k, timeout_s);
			goto out;
		}
		memcpy(reply, "OK", 2);
		memcpy(reply + 2, a->chain->head, 32);
		cf_le64_put(reply + 34, a->chain->seq);
	}
	snprintf(slot, sizeof(slot), "a2.%d", k);
	rc = seal_put(a->s, o->id, slot, keys, NULL, 0, reply, 42, err);
	if (rc == 0 && memcmp(reply, "NO", 2) == 0) {
		receipt(a->s, o->id, k, timeout_s);
		rc = cf_err_set(err, CF_EUSAGE, "pairing refused");
	}
out:
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&p, sizeof(p));
	cf_buf_release(&b);
	return rc;
}

/** cf_pair_accept(a, o, approve, arg, timeout_s, err): the inviter. */
int
cf_pair_accept(struct cf_account *a, const struct cf_pair_offer *o,
    cf_approve_fn approve, void *arg, int timeout_s, struct cf_err *err)
{
	struct cf_err e2 = {0};
	int rc = 1;

	for (int k = 0; k < ATTEMPTS && rc == 1; k++)
		rc = accept_once(a, o, k, approve, arg, timeout_s, err);
	/* On success the mailbox stays until it expires, so the new device
	 * can read the answer; no further attempt is ever offered. */
	if (rc != 0)
		(void)!cf_http_pair_void(a->s, o->id, &e2);
	if (rc == 1)
		return cf_err_set(err, CF_EAUTH,
		    "wrong pairing code %d times: the pairing is void",
		    ATTEMPTS);
	return rc;
}

/* Attempt ${k} is taken already: spent (a2 = "X": 1, try the next one),
 * done (the code was used), or under way elsewhere (wait for it). */
static int
taken(struct cf_store *s, const char *id, int k, struct cf_buf *b,
    int timeout_s, struct cf_err *err)
{
	char slot[8];
	int rc;

	snprintf(slot, sizeof(slot), "a2.%d", k);
	cf_err_clear(err);
	rc = wait_msg(s, id, slot, b, timeout_s, err);
	if (rc == 0 && b->len != 1)
		rc = cf_err_set(err, CF_EAUTH,
		    "this pairing code was used already");
	else if (rc == 0)
		rc = 1;
	return rc;
}

static int
join_once(struct cf_store *s, const char *id, const char *secret, int k,
    const struct cf_identity *me, const char *name, uint8_t pin[32],
    int timeout_s, struct cf_err *err)
{
	uint8_t sid[24], keys[64], info[INFO_MAX], reply[64];
	size_t nl = strlen(name);
	struct cf_pake p;
	struct cf_buf b;
	char slot[8];
	int rc;

	cf_buf_init(&b, 4096);
	sid_of(id, k, sid);
	snprintf(slot, sizeof(slot), "a1.%d", k);
	if ((rc = wait_msg(s, id, slot, &b, timeout_s, err)) != 0)
		goto out;
	if ((rc = cf_pake_start(&p, sid, sizeof(sid), secret, 8, err)) != 0)
		goto out;
	if (b.len != 32 || cf_pake_finish(&p, 0, b.p, keys, err) != 0) {
		/* Not a share: tampered with.  Spend the attempt (the other
		 * side answers "X" and offers the next one). */
		snprintf(slot, sizeof(slot), "b1.%d", k);
		rc =
		    cf_http_pair_put(s, id, slot, (const uint8_t *)"X", 1, err);
		if (rc == 0)
			rc = cf_err_set(err, CF_EAUTH,
			    "the other device's pairing "
			    "message is malformed (tampered with on the "
			    "server?): "
			    "run the same command again for the next attempt");
		else if (err->code == CF_EEXIST)
			rc = taken(s, id, k, &b, timeout_s, err);
		goto out;
	}
	memcpy(info, me->ed, 32);
	memcpy(info + 32, me->xpk, 32);
	memcpy(info + 64, name, nl);
	snprintf(slot, sizeof(slot), "b1.%d", k);
	rc = seal_put(s, id, slot, keys + 32, p.Y, 32, info, 64 + nl, err);
	if (rc != 0 && err->code == CF_EEXIST) {
		rc = taken(s, id, k, &b, timeout_s, err);
		goto out;
	}
	snprintf(slot, sizeof(slot), "a2.%d", k);
	if (rc == 0)
		rc = wait_msg(s, id, slot, &b, timeout_s, err);
	if (rc != 0 && err->code == CF_ENET &&
	    strstr(err->msg, "void or expired") != NULL)
		/* The other side voided the mailbox after its last answer,
		 * before we could read it: this was the last attempt. */
		rc = cf_err_set(err, CF_EAUTH,
		    "wrong pairing code (or the "
		    "pairing messages were tampered with); that was the last "
		    "attempt: the pairing is void, ask for a new code");
	if (rc == 0 && b.len == 1)
		rc = cf_err_set(err, CF_EAUTH,
		    "wrong pairing code (or the "
		    "pairing messages were tampered with): the other device "
		    "could not authenticate this one");
	else if (rc == 0 && (b.len != 42 + CF_TAG_BYTES ||
	                        open_msg(id, keys, b.p, b.len, reply) != 0))
		rc = cf_err_set(err, CF_ESECURITY,
		    "SECURITY ALERT: the other "
		    "device's answer does not authenticate: it was tampered "
		    "with on the server");
	else if (rc == 0 && memcmp(reply, "OK", 2) != 0) {
		/* Read: the other side may void the mailbox now. */
		struct cf_err e2 = {0};

		snprintf(slot, sizeof(slot), "b2.%d", k);
		(void)!cf_http_pair_put(s, id, slot, (const uint8_t *)"R", 1,
		    &e2);
		rc = memcmp(reply, "ER", 2) == 0
		         ? cf_err_set(err, CF_EIO,
		               "the other device could not "
		               "add this one (it shows why); the pairing is "
		               "void, ask for a new code")
		         : cf_err_set(err, CF_EAUTH,
		               "the other device refused to "
		               "add this one (declined on its terminal, or it "
		               "had none to ask on); the pairing is void");
	} else if (rc == 0)
		memcpy(pin, reply + 2, 32);
out:
	sodium_memzero(keys, sizeof(keys));
	sodium_memzero(&p, sizeof(p));
	cf_buf_release(&b);
	return rc;
}

/** cf_pair_join(s, code, me, name, pin, timeout_s, err): the new device. */
int
cf_pair_join(struct cf_store *s, const char *code, const struct cf_identity *me,
    const char *name, uint8_t pin[static 32], int timeout_s, struct cf_err *err)
{
	char id[16], secret[9];
	int rc = 1;

	if (strlen(name) == 0 || strlen(name) > CF_CHAIN_NAME_MAX)
		return cf_err_set(err, CF_EUSAGE, "device name: 1 to %d bytes",
		    CF_CHAIN_NAME_MAX);
	if (parse_code(code, id, secret, err) != 0)
		return -1;
	for (int k = 0; k < ATTEMPTS && rc == 1; k++)
		rc = join_once(s, id, secret, k, me, name, pin, timeout_s, err);
	sodium_memzero(secret, sizeof(secret));
	if (rc == 1)
		return cf_err_set(err, CF_EAUTH,
		    "pairing is void (too many "
		    "attempts)");
	return rc;
}
