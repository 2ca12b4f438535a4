/* cmd_init.c: coffer init, coffer key. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "crypto/crypto.h"
#include "net/net.h"

static int
parse_kdf(const struct gopts *g, struct opt *opts, struct cf_kdf *kdf)
{
	struct opt *m = opt_get(opts, "kdf-memory"),
	           *o = opt_get(opts, "kdf-ops");
	char *end;

	kdf->mem = CF_KDF_DEFAULT_MEM;
	kdf->ops = CF_KDF_DEFAULT_OPS;
	if (m->set) {
		unsigned long long v = strtoull(m->value, &end, 10);

		if (*end || v < 8 || v > 4096)
			return usage_error(g,
			    "--kdf-memory takes 8 to 4096 "
			    "(MiB), not '%s'",
			    m->value);
		kdf->mem = v << 20;
	}
	if (o->set) {
		unsigned long long v = strtoull(o->value, &end, 10);

		if (*end || v < 1 || v > CF_KDF_MAX_OPS)
			return usage_error(g,
			    "--kdf-ops takes 1 to %d, not '%s'", CF_KDF_MAX_OPS,
			    o->value);
		kdf->ops = v;
	}
	return 0;
}

static int
init_account(struct gopts *g, const char *where, const char *invite,
    const char *name, const char *rkfile, struct cf_err *err)
{
	struct cf_identity *me, *rec = NULL;
	struct cf_account *a = NULL;
	struct cf_store *s = NULL;
	char base[512], zone[65], state[4096];
	uint64_t size;
	int rc = -1;

	if (split_url(where, g->zone, base, zone, err) != 0)
		return -1;
	if (rkfile == NULL && !isatty(0))
		return cf_err_set(err, CF_EUSAGE,
		    "no terminal to confirm the "
		    "recovery key: give --recovery-key-file FILE");
	if ((me = load_identity(1, err)) == NULL)
		return -1;
	if ((s = store_as(base, "_account", me->sk, err)) == NULL ||
	    cf_http_register(s, invite, err) != 0)
		goto out;
	account_state(base, state, sizeof(state));
	if ((a = cf_account_open(s, me, state, NULL, err)) == NULL) {
		s = NULL; /* taken over and closed */
		if (err->code != CF_ENOTFOUND)
			goto out;
		cf_err_clear(err);
		if ((rec = sodium_malloc(sizeof(*rec))) == NULL ||
		    new_recovery(rkfile, rec, err) != 0 ||
		    (s = store_as(base, "_account", me->sk, err)) == NULL ||
		    (a = cf_account_create(s, me, name, rec, state, err)) ==
		        NULL)
			goto out;
	}
	s = NULL;
	if ((s = store_as(base, zone, me->sk, err)) == NULL)
		goto out;
	if (cf_store_size(s, CF_KIND_CONFIG, "config", &size, err) == 0) {
		cf_err_set(err, CF_EEXIST, "zone '%s' exists already", zone);
		goto out;
	}
	cf_err_clear(err);
	rc = cf_repo_init_zone(s, a->ak, cf_account_epoch(a), err);
	s = NULL;
out:
	cf_store_free(s);
	cf_account_close(a);
	if (rec != NULL)
		sodium_free(rec);
	sodium_free(me);
	return rc;
}

int
cmd_init(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"kdf-memory", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"kdf-ops", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"invite", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"name", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"recovery-key-file", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_err err = {0};
	struct cf_kdf kdf;
	const char **pos, *where;
	char *pass;
	size_t npos, n;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos > 0)
		rc = usage_error(g, "unexpected argument '%s'", pos[0]);
	else if ((where = repo_where(g)) == NULL || !*where)
		rc = usage_error(g,
		    "no repository: give --repo or set COFFER_REPO");
	else if (cf_store_is_url(where)) {
		rc = init_account(g, where, opts[2].set ? opts[2].value : NULL,
		    opts[3].set ? opts[3].value : host_name(),
		    opts[4].set ? opts[4].value : NULL, &err);
		if (rc != 0)
			rc = report(g, &err);
		else if (g->json)
			printf("{\"repository\":\"%s\"}\n", where);
		else if (!g->quiet)
			printf("created zone at %s; this device holds the "
			       "account key\n",
			    where);
	} else if (opts[2].set)
		rc = usage_error(g, "--invite is for a cofferd URL");
	else if ((rc = parse_kdf(g, opts, &kdf)) == 0 &&
	         (rc = read_password(g, 1, NULL, &pass, &n)) == 0) {
		rc = cf_repo_init(where, pass, n, &kdf, host_name(), &err);
		password_free(pass, n);
		if (rc != 0)
			rc = report(g, &err);
		else if (g->json) {
			printf("{\"repository\":");
			json_str(stdout, where, strlen(where));
			printf("}\n");
		} else if (!g->quiet)
			printf("created coffer repository at %s\n"
			       "keep the password safe: without it the data "
			       "cannot be read by anyone\n",
			    where);
	}
	free(pos);
	return rc;
}

static int
key_add(struct gopts *g, struct cf_repo *r, struct opt *opts)
{
	struct opt *f = opt_get(opts, "new-password-file");
	struct cf_err err = {0};
	struct cf_kdf kdf;
	char *pass, name[65];
	size_t n;
	int rc;

	if ((rc = parse_kdf(g, opts, &kdf)) != 0 ||
	    (rc = read_password(g, 1, f->set ? f->value : NULL, &pass, &n)) !=
	        0)
		return rc;
	rc = cf_repo_add_key(r, pass, n, &kdf, host_name(), name, &err);
	password_free(pass, n);
	if (rc != 0)
		return report(g, &err);
	if (g->json)
		printf("{\"id\":\"%s\"}\n", name);
	else if (!g->quiet)
		printf("added key %.8s\n", name);
	return 0;
}

struct keylist {
	struct gopts *g;
	struct cf_repo *r;
	int first;
};

static int
key_row(void *arg, const char *name, uint64_t size)
{
	struct keylist *l = arg;
	struct cf_slotinfo info;
	struct cf_err err;
	struct cf_buf b;
	int cur = strcmp(name, l->r->slot) == 0, ok;

	(void)size;
	cf_buf_init(&b, 4096);
	ok = cf_store_get(l->r->store, CF_KIND_KEY, name, 0, CF_GET_ALL, &b,
	         &err) == 0 &&
	     cf_keyslot_parse(b.p, b.len, &info, &err) == 0;
	cf_buf_release(&b);
	if (l->g->json) {
		printf("%s{\"id\":\"%s\",\"current\":%s,\"valid\":%s",
		    l->first ? "" : ",", name, cur ? "true" : "false",
		    ok ? "true" : "false");
		if (ok)
			printf(",\"kdf\":\"argon2id\",\"memory_mib\":%llu,"
			       "\"ops\":%llu",
			    (unsigned long long)(info.mem >> 20),
			    (unsigned long long)info.ops);
		printf("}");
	} else {
		printf("%s %.8s  %s\n", cur ? "*" : " ", name,
		    ok ? "password (argon2id)" : err.msg);
	}
	l->first = 0;
	return 0;
}

/* coffer key create --write-only: a credential for a host that backs
 * itself up: it joins the chain as a write-only member (the server gives
 * its key append-only scope) and gets the zone's public material only. */
static int
key_create(struct gopts *g, struct cf_repo *r, struct opt *opts)
{
	const char *where = repo_where(g),
	           *out = opt_get(opts, "output")->value;
	const char *name = opt_get(opts, "name")->value;
	struct cf_identity *me = NULL, *wo = NULL;
	struct cf_account *a = NULL;
	struct cf_err err = {0};
	char base[512], zone[65];
	uint8_t seed[32], sk[64];
	int rc = -1;

	if (!opt_get(opts, "write-only")->set || out == NULL)
		return usage_error(g, "give --write-only and --output FILE");
	if (where == NULL || !cf_store_is_url(where))
		return usage_error(g,
		    "write-only keys are for zones on cofferd");
	if (split_url(where, g->zone, base, zone, &err) != 0 ||
	    (me = load_identity(0, &err)) == NULL ||
	    (a = open_account(base, me, NULL, &err)) == NULL ||
	    (wo = sodium_malloc(sizeof(*wo))) == NULL)
		goto out;
	cf_crypto_random(seed, sizeof(seed));
	crypto_sign_seed_keypair(wo->ed, sk, seed);
	cf_identity_from_sk(wo, sk);
	if (write_credential(out, base, zone, seed, r, &err) == 0 &&
	    cf_account_add_writer(a, name ? name : "write-only", wo->ed,
	        wo->xpk, zone, &err) == 0)
		rc = 0;
	if (rc == 0 && !g->quiet)
		printf("wrote a write-only credential for zone '%s' to %s\n"
		       "on the host: coffer backup --credential FILE PATH...\n",
		    zone, out);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	cf_account_close(a);
	if (me != NULL)
		sodium_free(me);
	if (wo != NULL)
		sodium_free(wo);
	return rc == 0 ? 0 : report(g, &err);
}

int
cmd_key(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {
	    {"new-password-file", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"kdf-memory", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"kdf-ops", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"write-only", 0, 0, 0, NULL, NULL, 0},
	    {"output", 'o', OPT_VALUE, 0, NULL, NULL, 0},
	    {"name", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct keylist l = {g, NULL, 1};
	struct cf_err err = {0};
	struct cf_repo *r = NULL;
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos == 0 ||
	    (strcmp(pos[0], "add") && strcmp(pos[0], "list") &&
	        strcmp(pos[0], "remove") && strcmp(pos[0], "create"))) {
		rc =
		    usage_error(g, "give 'add', 'list', 'remove ID' or 'create "
		                   "--write-only --output FILE'");
		goto out;
	}
	if (repo_where(g) != NULL && cf_store_is_url(repo_where(g)) &&
	    (!strcmp(pos[0], "add") || !strcmp(pos[0], "remove"))) {
		rc = usage_error(g,
		    "a zone on cofferd is opened by the account's "
		    "devices, not by passwords: see 'coffer device'");
		goto out;
	}
	if ((npos != 1 && strcmp(pos[0], "remove")) ||
	    (!strcmp(pos[0], "remove") && npos != 2)) {
		rc = usage_error(g, "wrong number of arguments");
		goto out;
	}
	if ((r = open_repo(g, &rc)) == NULL)
		goto out;
	l.r = r;
	if (!strcmp(pos[0], "create")) {
		rc = key_create(g, r, opts);
	} else if (!strcmp(pos[0], "add")) {
		rc = key_add(g, r, opts);
	} else if (!strcmp(pos[0], "list")) {
		if (g->json)
			printf("[");
		if (cf_store_list(r->store, CF_KIND_KEY, key_row, &l, &err))
			rc = report(g, &err);
		if (g->json)
			printf("]\n");
	} else {
		const char *id = pos[1];

		rc = cf_repo_remove_key(r, id, &err) ? report(g, &err) : 0;
		if (rc == 0 && !g->quiet && !g->json)
			printf("removed key %s\n", id);
	}
out:
	cf_repo_close(r);
	free(pos);
	return rc;
}
