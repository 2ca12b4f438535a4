/* cmd_device.c: coffer device, zone, recovery-key: an account's devices
 * and zones on cofferd. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "account/pair.h"
#include "account/recovery.h"
#include "cli.h"
#include "net/net.h"

struct actx {
	char base[512], zone[65];
	struct cf_identity *me;
	struct cf_account *a;
};

static void
actx_close(struct actx *x)
{
	cf_account_close(x->a);
	if (x->me != NULL)
		sodium_free(x->me);
}

static int
actx_open(struct gopts *g, struct actx *x, struct cf_err *err)
{
	const char *where = repo_where(g);

	memset(x, 0, sizeof(*x));
	if (where == NULL || !cf_store_is_url(where))
		return cf_err_set(err, CF_EUSAGE,
		    "devices and zones belong to "
		    "an account on cofferd: give --repo http(s)://HOST:PORT");
	if (split_url(where, g->zone, x->base, x->zone, err) != 0 ||
	    (x->me = load_identity(0, err)) == NULL ||
	    (x->a = open_account(x->base, x->me, NULL, err)) == NULL)
		return -1;
	return 0;
}

static const char *
role_name(uint8_t role)
{
	return role == CF_ROLE_RECOVERY    ? "recovery key"
	       : role == CF_ROLE_WRITEONLY ? "write-only"
	                                   : "device";
}

static void
list_devices(const struct gopts *g, const struct actx *x)
{
	const struct cf_chain *c = x->a->chain;

	if (g->json)
		printf("[");
	for (size_t i = 0; i < c->n; i++) {
		const struct cf_member *m = &c->m[i];
		char fpr[24], t[32];
		int me = memcmp(m->ed, x->me->ed, 32) == 0;

		cf_fingerprint(m->ed, fpr);
		fmt_time(t, sizeof(t), m->added);
		if (g->json) {
			printf("%s{\"name\":", i ? "," : "");
			json_str(stdout, m->name, strlen(m->name));
			printf(",\"fingerprint\":\"%s\",\"role\":\"%s\","
			       "\"added\":%lld,\"added_by\":",
			    fpr, role_name(m->role), (long long)m->added);
			json_str(stdout, m->added_by_name,
			    strlen(m->added_by_name));
			printf(",\"this_device\":%s}", me ? "true" : "false");
		} else {
			printf("%s %-20s %s  %-12s added %s by %s\n",
			    me ? "*" : " ", m->name, fpr, role_name(m->role), t,
			    m->seq == 0 ? "itself (account created)"
			                : m->added_by_name);
		}
	}
	if (g->json)
		printf("]\n");
	else if (!g->quiet)
		printf("key epoch %u, chain of %llu records\n", c->epoch,
		    (unsigned long long)c->seq + 1);
}

static int
ask_approve(void *arg, const char *name, const char *fpr)
{
	const int *auto_ok = arg;
	char line[16];
	FILE *tty;

	if (name == NULL) {
		fprintf(stderr, "a pairing attempt failed: wrong code, or the "
		                "messages were tampered with on the server\n");
		return -1;
	}
	fprintf(stderr, "device \"%s\" with fingerprint %s asks to join\n",
	    name, fpr);
	if (*auto_ok)
		return 0;
	if ((tty = fopen("/dev/tty", "r+")) == NULL) {
		fprintf(stderr, "no terminal to ask for approval on: refused "
		                "(--approve approves without asking)\n");
		return -1;
	}
	fprintf(tty, "approve it? (compare the fingerprint it shows) [y/N] ");
	fflush(tty);
	if (fgets(line, sizeof(line), tty) == NULL)
		line[0] = '\0';
	fclose(tty);
	return line[0] == 'y' || line[0] == 'Y' ? 0 : -1;
}

static int
device_invite(struct gopts *g, struct actx *x, int approve, int timeout,
    struct cf_err *err)
{
	struct cf_pair_offer o;

	if (cf_pair_offer(x->a, &o, err) != 0)
		return -1;
	printf("on the new device, run:\n  coffer device join --repo %s --name "
	       "NAME %s\n",
	    x->base, o.code);
	fflush(stdout);
	if (!g->quiet)
		fprintf(stderr, "waiting for the new device (%d s)...\n",
		    timeout);
	if (cf_pair_accept(x->a, &o, ask_approve, &approve, timeout, err) != 0)
		return -1;
	if (!g->quiet)
		printf("device added\n");
	return 0;
}

struct rekeyctx {
	struct actx *x;
	char (*names)[65];
	size_t n, cap;
	int nomem;
};

/* Every zone, however many: one left out would keep only retired key
 * versions and no longer open. */
static int
collect_zone(void *arg, const char *name)
{
	struct rekeyctx *r = arg;

	if (name[0] == '_')
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		char(*p)[65] = cf_realloc_array(r->names, cap, sizeof(*p));

		if (p == NULL) {
			r->nomem = 1;
			return 1; /* stops the listing */
		}
		r->names = p;
		r->cap = cap;
	}
	snprintf(r->names[r->n++], 65, "%s", name);
	return 0;
}

static int
rekey_zones(void *arg, const uint8_t *old_ak, uint32_t old_epoch,
    const uint8_t *ak, uint32_t epoch, struct cf_err *err)
{
	struct rekeyctx *r = arg;
	int rc = 0;

	for (size_t i = 0; i < r->n && rc == 0; i++) {
		struct cf_store *s =
		    store_as(r->x->base, r->names[i], r->x->me->sk, err);

		rc = s == NULL ? -1
		               : cf_repo_rekey_zone(s, old_ak, old_epoch, ak,
		                     epoch, err);
		cf_store_free(s);
	}
	return rc;
}

static void
drop_old(struct rekeyctx *r, uint32_t epoch)
{
	struct cf_err e2 = {0};

	for (size_t i = 0; i < r->n; i++) {
		struct cf_store *s =
		    store_as(r->x->base, r->names[i], r->x->me->sk, &e2);

		if (s != NULL && cf_repo_drop_old_slots(s, epoch, &e2) != 0)
			fprintf(stderr, "warning: zone %s: %s\n", r->names[i],
			    e2.msg);
		cf_store_free(s);
	}
}

static int
remove_member(struct actx *x, const uint8_t ed[32], struct cf_err *err)
{
	struct rekeyctx *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	r->x = x;
	rc = cf_http_repos(x->a->s, collect_zone, r, err);
	if (r->nomem)
		rc = cf_err_set(err, CF_ENOMEM, "out of memory");
	if (rc == 0)
		rc = cf_account_remove(x->a, ed, rekey_zones, r, err);
	if (rc == 0)
		drop_old(r, cf_account_epoch(x->a));
	free(r->names);
	free(r);
	return rc;
}

static int
device_remove(struct gopts *g, struct actx *x, const char *name,
    struct cf_err *err)
{
	const struct cf_member *hit = NULL;
	uint8_t ed[32];
	size_t hits = 0;

	for (size_t i = 0; i < x->a->chain->n; i++)
		if (strcmp(x->a->chain->m[i].name, name) == 0) {
			hit = &x->a->chain->m[i];
			hits++;
		}
	if (hits == 0)
		return cf_err_set(err, CF_ENOTFOUND, "no device '%s'", name);
	if (hits > 1)
		return cf_err_set(err, CF_EUSAGE, "%zu devices are called '%s'",
		    hits, name);
	if (hit->role == CF_ROLE_RECOVERY)
		return cf_err_set(err, CF_EUSAGE,
		    "that is the recovery key: use 'coffer recovery-key "
		    "rotate'");
	memcpy(ed, hit->ed, 32);
	if (remove_member(x, ed, err) != 0)
		return -1;
	if (!g->quiet)
		printf("removed device '%s'; new key epoch %u: it cannot read "
		       "anything written from now on\n",
		    name, cf_account_epoch(x->a));
	return 0;
}

/* Show a new recovery key (or write it to a file) and have it confirmed. */
static int
hand_out_recovery(const char *file, const uint8_t secret[16],
    struct cf_err *err)
{
	char text[CF_RECOVERY_TEXT], line[128];
	uint8_t back[16];
	FILE *tty;
	int rc = -1;

	cf_recovery_encode(secret, text);
	if (file != NULL) {
		rc = write_secret_file(file, text, err);
		sodium_memzero(text, sizeof(text));
		return rc;
	}
	if ((tty = fopen("/dev/tty", "r+")) == NULL)
		return cf_err_set(err, CF_EUSAGE,
		    "no terminal to show the "
		    "recovery key: give --recovery-key-file FILE");
	fprintf(tty,
	    "\nYOUR RECOVERY KEY (write it down; it is shown once):\n\n"
	    "    %s\n\nit opens the account when every device is lost."
	    "\ntype it again to confirm: ",
	    text);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) != NULL &&
	    cf_recovery_decode(line, back, err) == 0 &&
	    sodium_memcmp(back, secret, 16) == 0)
		rc = 0;
	else if (err->code == CF_OK)
		cf_err_set(err, CF_EUSAGE,
		    "that is not the recovery key shown");
	fprintf(tty, "\033[2J\033[H"); /* clear it from the screen */
	fclose(tty);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(line, sizeof(line));
	return rc;
}

/** new_recovery(file, id, err): a fresh recovery key, handed out. */
int
new_recovery(const char *file, struct cf_identity *id, struct cf_err *err)
{
	uint8_t secret[16], sk[64];
	int rc;

	cf_crypto_random(secret, sizeof(secret));
	rc = hand_out_recovery(file, secret, err);
	cf_recovery_keys(secret, sk, id->xpk, id->xsk);
	cf_identity_from_sk(id, sk);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

static int
join_pairing(struct gopts *g, const char *base, const char *name,
    const char *code, int timeout, struct cf_err *err)
{
	struct cf_identity *me = load_identity(1, err);
	struct cf_account *a = NULL;
	struct cf_store *s;
	uint8_t pin[32];
	char state[4096];
	int rc = -1;

	if (me == NULL || (s = store_as(base, "_account", me->sk, err)) == NULL)
		goto out;
	if (!g->quiet) {
		char fpr[24];

		cf_fingerprint(me->ed, fpr);
		fprintf(stderr,
		    "this device: \"%s\", fingerprint %s (the other "
		    "device shows it for approval)\npairing...\n",
		    name, fpr);
	}
	rc = cf_pair_join(s, code, me, name, pin, timeout, err);
	account_state(base, state, sizeof(state));
	if (rc == 0 && (a = cf_account_open(s, me, state, pin, err)) == NULL)
		rc = -1;
	else if (rc != 0)
		cf_store_free(s);
out:
	if (rc == 0 && !g->quiet)
		printf("this device joined the account (%zu members, key epoch "
		       "%u)\n",
		    a->chain->n, cf_account_epoch(a));
	cf_account_close(a);
	if (me != NULL)
		sodium_free(me);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	(void)(flag == FTW_DP ? rmdir(path) : unlink(path));
	return 0;
}

/* The recovery identity's account key must open the zones the account
 * already has: a server cannot pass off an account of its own making.
 * (The zones' index caches go to a temporary folder, removed after.) */
static int
zones_open(const char *base, struct cf_account *a, const uint8_t *sk,
    struct cf_err *err)
{
	struct rekeyctx *r = calloc(1, sizeof(*r));
	struct cf_repo *repo;
	char tmp[] = "/tmp/coffer-recovery-XXXXXX";
	int rc;

	if (r == NULL || mkdtemp(tmp) == NULL) {
		free(r);
		return cf_err_set(err, CF_EIO,
		    "cannot make a temporary folder");
	}
	rc = cf_http_repos(a->s, collect_zone, r, err);
	if (r->nomem)
		rc = cf_err_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		struct cf_store *s = store_as(base, r->names[i], sk, err);

		repo = s ? cf_repo_open_zone(s, a->ak, cf_account_epoch(a), tmp,
		               err)
		         : NULL;
		if (repo == NULL)
			rc = cf_err_set(err, CF_ESECURITY,
			    "SECURITY ALERT: zone "
			    "'%s' does not open with the account key the "
			    "recovery key received",
			    r->names[i]);
		cf_repo_close(repo);
	}
	free(r->names);
	free(r);
	(void)nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

static int
join_recovery(struct gopts *g, const char *base, const char *name,
    const char *file, struct cf_err *err)
{
	struct cf_identity *rec = sodium_malloc(sizeof(*rec)), *me = NULL;
	struct cf_account *a = NULL;
	uint8_t secret[16], sk[64];
	char text[256], state[4096];
	int rc = -1;

	if (rec == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	if (read_secret_file(file, text, sizeof(text), err) != 0 ||
	    cf_recovery_decode(text, secret, err) != 0)
		goto out;
	cf_recovery_keys(secret, sk, rec->xpk, rec->xsk);
	cf_identity_from_sk(rec, sk);
	account_state(base, state, sizeof(state));
	strcat(state, "-recovery");
	a = cf_account_open(store_as(base, "_account", rec->sk, err), rec,
	    state, NULL, err);
	if (a == NULL && err->code == CF_EAUTH &&
	    strstr(err->msg, "unknown device") != NULL)
		/* The server knows no such key: rotated away, or a key of
		 * another account or server. */
		cf_err_set(err, CF_EAUTH,
		    "this recovery key opens no account on %s (was it "
		    "replaced by 'coffer recovery-key rotate'?)",
		    base);
	if (a == NULL || zones_open(base, a, rec->sk, err) != 0 ||
	    (me = load_identity(1, err)) == NULL ||
	    cf_account_add(a, CF_ROLE_DEVICE, name, me->ed, me->xpk, err) != 0)
		goto out;
	cf_account_close(a);
	a = open_account(base, me, NULL, err);
	rc = a == NULL ? -1 : 0;
	if (rc == 0 && !g->quiet)
		printf("this device joined the account with the recovery key; "
		       "consider 'coffer recovery-key rotate'\n");
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	cf_account_close(a);
	sodium_free(rec);
	if (me != NULL)
		sodium_free(me);
	return rc;
}

static int
recovery_rotate(struct gopts *g, struct actx *x, const char *file,
    struct cf_err *err)
{
	struct cf_identity *rec = sodium_malloc(sizeof(*rec));
	uint8_t old[32];
	int found = 0, rc = -1;

	if (rec == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < x->a->chain->n; i++)
		if (x->a->chain->m[i].role == CF_ROLE_RECOVERY) {
			memcpy(old, x->a->chain->m[i].ed, 32);
			found = 1;
		}
	if (new_recovery(file, rec, err) == 0 &&
	    cf_account_add(x->a, CF_ROLE_RECOVERY, "recovery key", rec->ed,
	        rec->xpk, err) == 0 &&
	    (!found || remove_member(x, old, err) == 0))
		rc = 0;
	if (rc == 0 && !g->quiet)
		printf("new recovery key in place; the old one no longer opens "
		       "the account (key epoch %u)\n",
		    cf_account_epoch(x->a));
	sodium_free(rec);
	return rc;
}

static int
zone_create(struct gopts *g, struct actx *x, const char *name,
    struct cf_err *err)
{
	struct cf_store *s;
	char base[512], zone[65];

	if (split_url(x->base, name, base, zone, err) != 0 ||
	    (s = store_as(x->base, zone, x->me->sk, err)) == NULL ||
	    cf_repo_init_zone(s, x->a->ak, cf_account_epoch(x->a), err) != 0)
		return -1;
	if (!g->quiet)
		printf("created zone '%s'\n", zone);
	return 0;
}

struct zlist {
	const struct gopts *g;
	size_t n;
};

static int
print_zone(void *arg, const char *name)
{
	struct zlist *z = arg;

	if (name[0] == '_')
		return 0;
	if (z->g->json) {
		printf("%s", z->n ? "," : "[");
		json_str(stdout, name, strlen(name));
	} else {
		printf("%s\n", name);
	}
	z->n++;
	return 0;
}

/* zone list: one name a line, or --json: an array of names. */
static int
zone_list(struct gopts *g, struct actx *x, struct cf_err *err)
{
	struct zlist z = {g, 0};

	if (cf_http_repos(x->a->s, print_zone, &z, err) != 0)
		return -1;
	if (g->json)
		printf("%s]\n", z.n ? "" : "[");
	return 0;
}

static int
parse_timeout(const struct gopts *g, struct opt *o, int *t)
{
	char *end;
	long v;

	*t = 600;
	if (!o->set)
		return 0;
	v = strtol(o->value, &end, 10);
	if (*end || v < 1 || v > 86400)
		return usage_error(g, "--timeout takes 1 to 86400 seconds");
	*t = (int)v;
	return 0;
}

static int
device_join(struct gopts *g, struct opt *opts, const char **pos, size_t npos,
    struct cf_err *err)
{
	const char *where = repo_where(g), *name = opt_get(opts, "name")->value;
	struct opt *rk = opt_get(opts, "recovery-key-file");
	char base[512], zone[65];
	int timeout, rc;

	if ((rc = parse_timeout(g, opt_get(opts, "timeout"), &timeout)) != 0)
		return rc;
	if (where == NULL || !cf_store_is_url(where))
		return usage_error(g, "give --repo http(s)://HOST:PORT");
	if (name == NULL || !*name)
		return usage_error(g, "give --name NAME for this device");
	if (split_url(where, NULL, base, zone, err) != 0)
		return report(g, err);
	if (rk->set ? npos != 1 : npos != 2)
		return usage_error(g, "give the pairing code, or "
		                      "--recovery-key-file FILE");
	rc = rk->set ? join_recovery(g, base, name, rk->value, err)
	             : join_pairing(g, base, name, pos[1], timeout, err);
	return rc ? report(g, err) : 0;
}

int
cmd_device(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"approve", 0, 0, 0, NULL, NULL, 0},
	    {"name", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"recovery-key-file", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"timeout", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_err err = {0};
	struct actx x = {0};
	const char **pos;
	size_t npos;
	int rc = 0, t;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos >= 1 && strcmp(pos[0], "join") == 0) {
		rc = device_join(g, opts, pos, npos, &err);
		goto out;
	}
	if (npos == 0 ||
	    (strcmp(pos[0], "list") && strcmp(pos[0], "invite") &&
	        strcmp(pos[0], "remove")) ||
	    (strcmp(pos[0], "remove") == 0) != (npos == 2) || npos > 2) {
		rc = usage_error(g, "give 'invite', 'join CODE', 'list' or "
		                    "'remove NAME'");
		goto out;
	}
	if ((rc = parse_timeout(g, opt_get(opts, "timeout"), &t)) != 0)
		goto out;
	if (actx_open(g, &x, &err) != 0)
		rc = report(g, &err);
	else if (!strcmp(pos[0], "list"))
		list_devices(g, &x);
	else if (!strcmp(pos[0], "invite"))
		rc =
		    device_invite(g, &x, opt_get(opts, "approve")->set, t, &err)
		        ? report(g, &err)
		        : 0;
	else
		rc = device_remove(g, &x, pos[1], &err) ? report(g, &err) : 0;
out:
	actx_close(&x);
	free(pos);
	return rc;
}

int
cmd_zone(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{0}};
	struct cf_err err = {0};
	struct actx x = {0};
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos == 0 || !((strcmp(pos[0], "list") == 0 && npos == 1) ||
	                     (strcmp(pos[0], "create") == 0 && npos == 2)))
		rc = usage_error(g, "give 'list' or 'create NAME'");
	else if (actx_open(g, &x, &err) != 0)
		rc = report(g, &err);
	else if (!strcmp(pos[0], "list"))
		rc = zone_list(g, &x, &err) ? report(g, &err) : 0;
	else
		rc = zone_create(g, &x, pos[1], &err) ? report(g, &err) : 0;
	actx_close(&x);
	free(pos);
	return rc;
}

int
cmd_recovery(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {
	    {"recovery-key-file", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_err err = {0};
	struct actx x = {0};
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 1 || strcmp(pos[0], "rotate") != 0)
		rc = usage_error(g, "give 'rotate'");
	else if (actx_open(g, &x, &err) != 0 ||
	         recovery_rotate(g, &x, opts[0].set ? opts[0].value : NULL,
	             &err) != 0)
		rc = report(g, &err);
	actx_close(&x);
	free(pos);
	return rc;
}
