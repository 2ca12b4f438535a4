/*
 * cover.c: which snapshots the retired key versions may vouch for.
 *
 * A zone's key version v is retired when a device is removed (or the
 * recovery key rotated): version v+1 is made, sealed only to the devices
 * that remain.  The removed device still holds v and every older version,
 * and with the operator's help it could seal new snapshots with them.  So
 * the device that rotates first writes a cover record, sealed with v+1
 * (its wrap authenticated by v+1's trust key, which only full key holders
 * of v+1 have): the names of every snapshot sealed with a retired version
 * (v or older) that it accepts at that moment, those of older versions
 * checked against the cover it had.  A reader accepts a snapshot sealed
 * with an older version only if a cover sealed with the *newest* version
 * names it: a device removed at an earlier rotation holds older trust keys
 * and could seal covers of those versions, never of the newest.  Hiding a
 * cover only makes snapshots refused: it fails closed.  Covers are META
 * objects named by the hash of their bytes, like forget records; older
 * readers skip them.
 *
 * Record (payload of an envelope of type CF_OBJ_COVER):
 *   'C' 'V' version(1)=1  u32 sealing version index  uvar count
 *   name[32] x count        (the snapshot objects' names, binary)
 *
 * Forget records (which excuse a snapshot that disappears) are covered
 * the same way: one sealed with a retired version counts only if the
 * newest cover names it, and one a write-only credential sealed never
 * counts (a write-only credential cannot read what it would forget).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "repo/repo.h"
#include "util/idset.h"

#define COVER_VERSION 1
#define COVER_MAX_BYTES (64u << 20)

struct cf_covers {
	pthread_mutex_t mu;
	int loaded;
	struct cf_idset names; /* named by a cover of the newest version */
};

struct cf_covers *
cf_covers_new(void)
{
	struct cf_covers *c = calloc(1, sizeof(*c));

	if (c != NULL)
		pthread_mutex_init(&c->mu, NULL);
	return c;
}

void
cf_covers_free(struct cf_covers *c)
{
	if (c == NULL)
		return;
	cf_idset_release(&c->names);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/** cf_cover_encode(ver, names, count, out): a cover record's payload. */
void
cf_cover_encode(uint32_t ver, const uint8_t *names, uint64_t count,
    struct cf_buf *out)
{
	cf_buf_add_u8(out, 'C');
	cf_buf_add_u8(out, 'V');
	cf_buf_add_u8(out, COVER_VERSION);
	cf_buf_add_u32(out, ver);
	cf_buf_add_uvar(out, count);
	cf_buf_add(out, names, (size_t)count * 32);
}

/** cf_cover_parse(p, n, ver, names, count, err): check a payload; *names
 * points into ${p} at *count names of 32 bytes. */
int
cf_cover_parse(const uint8_t *p, size_t n, uint32_t *ver, const uint8_t **names,
    uint64_t *count, struct cf_err *err)
{
	struct cf_rd rd;
	uint8_t m0, m1, fv;

	cf_rd_init(&rd, p, n);
	if (cf_rd_u8(&rd, &m0) || cf_rd_u8(&rd, &m1) || cf_rd_u8(&rd, &fv) ||
	    m0 != 'C' || m1 != 'V')
		return cf_err_set(err, CF_EFORMAT, "not a cover record");
	if (fv != COVER_VERSION)
		return cf_err_set(err, CF_EFORMAT,
		    "cover record version %u not supported", fv);
	if (cf_rd_u32(&rd, ver) || cf_rd_uvar(&rd, count) ||
	    cf_rd_left(&rd) % 32 != 0 || *count != cf_rd_left(&rd) / 32)
		return cf_err_set(err, CF_EFORMAT, "cover record is malformed");
	*names = p + rd.off;
	return 0;
}

struct loadctx {
	struct cf_store *s;
	const struct cf_keys *k;
	struct cf_idset *set;
	struct cf_err *err;
};

/* A META object that opens as a cover sealed with ${k}'s newest version,
 * trusted, and saying so: its names join the set.  Anything else (forget
 * records, prune plans, a write-only credential's or an older version's
 * cover, garbage) is not one, and is skipped: a missing cover refuses, so
 * skipping fails closed.  A read that fails for another reason than the
 * object's absence or its bytes stops the load. */
static int
load_one(void *arg, const char *name, uint64_t size)
{
	struct loadctx *l = arg;
	struct cf_err e2 = {0};
	const uint8_t *names;
	uint8_t *plain = NULL;
	struct cf_buf b;
	uint64_t count;
	uint32_t v;
	size_t n, ver;
	int trusted, rc = 0;

	(void)size;
	cf_buf_init(&b, COVER_MAX_BYTES + 4096);
	if (cf_repo_get_named(l->s, CF_KIND_META, name, &b, &e2) != 0) {
		if (e2.code != CF_ENOTFOUND && e2.code != CF_EAUTH &&
		    e2.code != CF_EFORMAT && e2.code != CF_ELIMIT)
			rc = cf_err_set(l->err, e2.code, "cover %.16s: %s",
			    name, e2.msg);
	} else if (cf_env_open_ver(l->k, CF_OBJ_COVER, b.p, b.len, &plain, &n,
	               &ver, &trusted, &e2) == 0 &&
	           trusted && ver == l->k->nold && ver >= 1 &&
	           cf_cover_parse(plain, n, &v, &names, &count, &e2) == 0 &&
	           v == ver) {
		for (uint64_t i = 0; rc == 0 && i < count; i++)
			if (cf_idset_add(l->set, names + i * 32) < 0)
				rc = cf_err_set(l->err, CF_ENOMEM,
				    "out of memory");
	}
	free(plain);
	cf_buf_release(&b);
	return rc;
}

/* The names covered by ${k}'s newest version, into ${set}. */
static int
load_covers(struct cf_store *s, const struct cf_keys *k, struct cf_idset *set,
    struct cf_err *err)
{
	struct loadctx l = {s, k, set, err};

	if (k->nold == 0)
		return 0;
	return cf_store_list(s, CF_KIND_META, load_one, &l, err) != 0 ? -1 : 0;
}

struct collect {
	struct cf_store *s;
	const struct cf_keys *old;
	const struct cf_idset *covered; /* by the old ring's cover */
	enum cf_kind kind;              /* of what is listed now: */
	enum cf_objtype type;           /* snapshots, or forget records */
	struct cf_buf names;
	uint64_t count;
	struct cf_err *err;
};

/* A snapshot, or a forget record, that the old ring accepts: sealed with
 * its newest version, or with an older one and named by its cover; a
 * forget record also by a full key holder (a write-only credential never
 * forgets).  One that is gone, does not open or is not covered is left
 * out (and refused from then on); a read that fails otherwise (the
 * network) stops the rotation before the new slot exists. */
static int
collect_one(void *arg, const char *name, uint64_t size)
{
	struct collect *c = arg;
	struct cf_err e2 = {0};
	uint8_t *plain = NULL, id[32];
	struct cf_buf b;
	size_t n = 0, ver;
	int trusted, rc = 0;

	(void)size;
	cf_buf_init(&b, 128u << 20);
	if (cf_unhex(id, 32, name) != 0) {
		/* not an object's name */
	} else if (cf_repo_get_named(c->s, c->kind, name, &b, &e2) != 0) {
		if (e2.code != CF_ENOTFOUND && e2.code != CF_EAUTH &&
		    e2.code != CF_EFORMAT && e2.code != CF_ELIMIT)
			rc = cf_err_set(c->err, e2.code, "%.16s: %s", name,
			    e2.msg);
	} else if (cf_env_open_ver(c->old, c->type, b.p, b.len, &plain, &n,
	               &ver, &trusted, &e2) == 0 &&
	           (trusted || c->type == CF_OBJ_SNAPSHOT) &&
	           (ver == c->old->nold || cf_idset_has(c->covered, id))) {
		cf_buf_add(&c->names, id, 32);
		c->count++;
	}
	if (plain != NULL)
		sodium_memzero(plain, n);
	free(plain);
	cf_buf_release(&b);
	return rc;
}

/* Every object of ${kind} and ${type} that the old ring accepts. */
static int
collect_all(struct collect *c, enum cf_kind kind, enum cf_objtype type)
{
	c->kind = kind;
	c->type = type;
	return cf_store_list(c->s, kind, collect_one, c, c->err) != 0 ? -1 : 0;
}

/** cf_cover_write(s, old, new, err): at a rotation, before the new
 * version's slot exists: seal with ${new} (the ring with the new version)
 * the names of the snapshots that ${old} accepts. */
int
cf_cover_write(struct cf_store *s, const struct cf_keys *old,
    const struct cf_keys *new, struct cf_err *err)
{
	struct cf_idset covered = {0};
	struct collect c = {
	    .s = s, .old = old, .covered = &covered, .err = err};
	struct cf_buf plain, env;
	uint8_t h[32];
	char name[65];
	int rc = -1;

	if (new->nold != old->nold + 1 || new->write_only)
		return cf_err_set(err, CF_EINTERNAL, "cover: bad key rings");
	cf_buf_init(&c.names, COVER_MAX_BYTES);
	cf_buf_init(&plain, COVER_MAX_BYTES);
	cf_buf_init(&env, COVER_MAX_BYTES + 4096);
	if (load_covers(s, old, &covered, err) ||
	    collect_all(&c, CF_KIND_SNAPSHOT, CF_OBJ_SNAPSHOT) ||
	    collect_all(&c, CF_KIND_META, CF_OBJ_FORGET) ||
	    cf_buf_check(&c.names, err, "cover record"))
		goto out;
	cf_cover_encode((uint32_t) new->nold, c.names.p, c.count, &plain);
	if (cf_buf_check(&plain, err, "cover record") ||
	    cf_env_seal(new, CF_OBJ_COVER, plain.p, plain.len, &env, err))
		goto out;
	cf_crypto_hash(env.p, env.len, h);
	cf_hex(name, h, 32);
	rc = cf_store_put(s, CF_KIND_META, name, env.p, env.len, 0, err);
out:
	cf_idset_release(&covered);
	cf_buf_release(&c.names);
	cf_buf_release(&plain);
	cf_buf_release(&env);
	return rc;
}

/** cf_cover_check(r, name, ver, err): may object ${name} (a snapshot or
 * a forget record), sealed with key version index ${ver}, be trusted?  Yes
 * if ${ver} is the newest, or if a cover of the newest version names it;
 * CF_EAUTH if not. */
int
cf_cover_check(struct cf_repo *r, const char *name, size_t ver,
    struct cf_err *err)
{
	struct cf_covers *c = r->covers;
	uint8_t id[32];
	int rc = 0, has;

	if (ver >= r->keys->nold)
		return 0;
	if (cf_unhex(id, 32, name) != 0)
		return cf_err_set(err, CF_EFORMAT, "bad snapshot name");
	pthread_mutex_lock(&c->mu);
	if (!c->loaded) {
		cf_idset_release(&c->names);
		rc = load_covers(r->store, r->keys, &c->names, err);
		c->loaded = rc == 0;
	}
	has = rc == 0 && cf_idset_has(&c->names, id);
	pthread_mutex_unlock(&c->mu);
	if (rc != 0)
		return -1;
	if (!has)
		return cf_err_set(err, CF_EAUTH,
		    "sealed with key version %zu of %zu, retired since, and "
		    "not among the objects its retirement recorded: written "
		    "by a removed device, or by a backup that overlapped the "
		    "removal",
		    ver + 1, r->keys->nold + 1);
	return 0;
}
