#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/forget.h"

#define FORGET_VERSION 1

int
cf_forget_any(const struct cf_forget_policy *p)
{
	return p->last > 0 || p->hourly > 0 || p->daily > 0 || p->weekly > 0 ||
	       p->monthly > 0 || p->yearly > 0 || p->within_s > 0 ||
	       p->nkeep_tags > 0;
}

static int
same_group(const struct cf_snapshot *a, const struct cf_snapshot *b)
{
	if (strcmp(a->host, b->host) != 0 || a->npaths != b->npaths)
		return 0;
	for (size_t i = 0; i < a->npaths; i++)
		if (strcmp(a->paths[i], b->paths[i]) != 0)
			return 0;
	return 1;
}

static void
note(struct cf_forget_decision *d, const char *why)
{
	size_t n = strlen(d->reason);

	d->keep = 1;
	snprintf(d->reason + n, sizeof(d->reason) - n, "%s%s", n ? ", " : "",
	    why);
}

/* The bucket of a time for a period: "2026-11-28 09" for hourly etc. */
static void
bucket(int64_t ns, const char *fmt, char out[32])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		snprintf(out, 32, "%lld", (long long)t);
	else
		strftime(out, 32, fmt, &tm);
}

/* Keep the newest snapshot of each of the ${count} newest buckets. */
static void
keep_buckets(const size_t *idx, size_t n, struct cf_snapshot *const *v,
    struct cf_forget_decision *out, int count, const char *fmt, const char *why)
{
	char last[32] = "", cur[32];
	int used = 0;

	for (size_t k = 0; k < n && used < count; k++) {
		bucket(v[idx[k]]->time_ns, fmt, cur);
		if (strcmp(cur, last) == 0)
			continue;
		memcpy(last, cur, sizeof(last));
		used++;
		note(&out[idx[k]], why);
	}
}

static int
has_tag(const struct cf_snapshot *s, const char *tag)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (strcmp(s->tags[i], tag) == 0)
			return 1;
	return 0;
}

/* One group, newest first in ${idx}. */
static void
decide_group(const size_t *idx, size_t n, struct cf_snapshot *const *v,
    const struct cf_forget_policy *p, struct cf_forget_decision *out)
{
	for (size_t k = 0; k < n && (int)k < p->last; k++)
		note(&out[idx[k]], "last");
	keep_buckets(idx, n, v, out, p->hourly, "%Y-%m-%d %H", "hourly");
	keep_buckets(idx, n, v, out, p->daily, "%Y-%m-%d", "daily");
	keep_buckets(idx, n, v, out, p->weekly, "%G-%V", "weekly");
	keep_buckets(idx, n, v, out, p->monthly, "%Y-%m", "monthly");
	keep_buckets(idx, n, v, out, p->yearly, "%Y", "yearly");
	for (size_t k = 0; k < n && p->within_s > 0; k++)
		if (p->within_s >= INT64_MAX / 1000000000 || /* no overflow */
		    v[idx[0]]->time_ns - v[idx[k]]->time_ns <=
		        p->within_s * 1000000000)
			note(&out[idx[k]], "within");
	for (size_t k = 0; k < n; k++)
		for (size_t t = 0; t < p->nkeep_tags; t++)
			if (has_tag(v[idx[k]], p->keep_tags[t]))
				note(&out[idx[k]], "tag");
}

/** cf_forget_decide(v, n, p, out): decide for every snapshot. */
void
cf_forget_decide(struct cf_snapshot *const *v, size_t n,
    const struct cf_forget_policy *p, struct cf_forget_decision *out)
{
	size_t *idx = calloc(n + 1, sizeof(*idx));
	char *done = calloc(n + 1, 1);

	for (size_t i = 0; i < n; i++) {
		out[i].s = v[i];
		out[i].keep = 0;
		out[i].reason[0] = '\0';
		if (p->host != NULL && strcmp(v[i]->host, p->host) != 0) {
			out[i].keep = 1;
			snprintf(out[i].reason, sizeof(out[i].reason),
			    "other host");
			done[i] = 1;
		}
	}
	for (size_t i = n; idx != NULL && done != NULL && i-- > 0;) {
		size_t m = 0;

		if (done[i])
			continue;
		for (size_t j = i + 1; j-- > 0;) /* newest first */
			if (!done[j] && same_group(v[i], v[j])) {
				idx[m++] = j;
				done[j] = 1;
			}
		decide_group(idx, m, v, p, out);
	}
	if (idx == NULL || done == NULL) /* out of memory: keep everything */
		for (size_t i = 0; i < n; i++)
			note(&out[i], "kept (out of memory)");
	free(idx);
	free(done);
}

/** cf_forget_apply(r, names, n, err): record, then delete. */
int
cf_forget_apply(struct cf_repo *r, char (*names)[65], size_t n,
    struct cf_err *err)
{
	struct cf_buf plain, env;
	uint8_t id[32];
	char name[65];
	int rc = -1;

	if (n == 0)
		return 0;
	cf_buf_init(&plain, 64u << 20);
	cf_buf_init(&env, 128u << 20);
	cf_buf_add_u8(&plain, 'C');
	cf_buf_add_u8(&plain, 'F');
	cf_buf_add_u8(&plain, FORGET_VERSION);
	cf_buf_add_svar(&plain, (int64_t)time(NULL));
	cf_buf_add_uvar(&plain, n);
	for (size_t i = 0; i < n; i++) {
		if (cf_unhex(id, 32, names[i]) != 0) {
			cf_err_set(err, CF_EUSAGE, "bad snapshot name");
			goto out;
		}
		cf_buf_add(&plain, id, 32);
	}
	if (cf_buf_check(&plain, err, "forget record") ||
	    cf_env_seal(r->keys, CF_OBJ_FORGET, plain.p, plain.len, &env,
	        err) ||
	    cf_repo_put_object(r, CF_KIND_META, env.p, env.len, name, err))
		goto out;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = cf_store_del(r->store, CF_KIND_SNAPSHOT, names[i], err);
		if (rc != 0 && err->code == CF_ENOTFOUND) {
			cf_err_clear(err); /* gone already: a concurrent forget
			                    */
			rc = 0;
		}
	}
out:
	cf_buf_release(&plain);
	cf_buf_release(&env);
	return rc;
}

struct loadctx {
	struct cf_repo *r;
	struct cf_idset *set;
	struct cf_err *err;
};

static int
load_one(void *arg, const char *name, uint64_t size)
{
	struct loadctx *c = arg;
	uint8_t *plain = NULL;
	struct cf_buf b;
	struct cf_rd rd;
	struct cf_err e2 = {0};
	uint64_t cnt;
	int64_t t;
	size_t n, ver;
	uint8_t m0, m1, v, id[32];
	int rc = 0, trusted;

	(void)size;
	cf_buf_init(&b, 128u << 20);
	if (cf_repo_get_named(c->r->store, CF_KIND_META, name, &b, c->err) !=
	    0) {
		/* Gone since the listing: a prune plan, carried out (forget
		 * records are never deleted).  Bytes that are not their
		 * name's: swapped in by the server, they excuse nothing (a
		 * cover names records by the hash of their bytes). */
		rc = c->err->code == CF_ENOTFOUND || c->err->code == CF_EAUTH
		         ? 0
		         : -1;
		if (rc == 0)
			cf_err_clear(c->err);
	} else if (cf_env_open_ver(c->r->keys, CF_OBJ_FORGET, b.p, b.len,
	               &plain, &n, &ver, &trusted, c->err) != 0) {
		cf_err_clear(c->err); /* a prune plan, or not ours: skip */
	} else if (!trusted || cf_cover_check(c->r, name, ver, &e2) != 0) {
		/* Sealed by a write-only credential (which never forgets), or
		 * with a retired key version after its retirement (a removed
		 * device): it excuses nothing. */
		if (trusted && e2.code != CF_EAUTH)
			rc = cf_err_set(c->err, e2.code, "%s", e2.msg);
	} else {
		cf_rd_init(&rd, plain, n);
		if (cf_rd_u8(&rd, &m0) || cf_rd_u8(&rd, &m1) ||
		    cf_rd_u8(&rd, &v) || m0 != 'C' || m1 != 'F' ||
		    v != FORGET_VERSION || cf_rd_svar(&rd, &t) ||
		    cf_rd_uvar(&rd, &cnt) || cnt > cf_rd_left(&rd) / 32)
			rc = cf_err_set(c->err, CF_EFORMAT,
			    "forget record %.16s "
			    "is malformed",
			    name);
		for (uint64_t i = 0; rc == 0 && i < cnt; i++)
			if (cf_rd_fixed(&rd, id, 32) ||
			    cf_idset_add(c->set, id) < 0)
				rc = cf_err_set(c->err, CF_ENOMEM,
				    "out of memory");
	}
	free(plain);
	cf_buf_release(&b);
	return rc;
}

/** cf_forget_load(r, set, err): every name forgotten on purpose. */
int
cf_forget_load(struct cf_repo *r, struct cf_idset *set, struct cf_err *err)
{
	struct loadctx c = {r, set, err};

	return cf_store_list(r->store, CF_KIND_META, load_one, &c, err) < 0 ? -1
	                                                                    : 0;
}
