/* cmd_forget.c: coffer forget, tag, prune. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine/forget.h"
#include "engine/prune.h"

/** parse_duration(s, out): "90m", "12h", "1d12h", "2w", "1y", "45s". */
int
parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0;

	if (*s == '\0')
		return -1;
	while (*s) {
		char *end;
		long long v = strtoll(s, &end, 10);
		int64_t unit;

		if (end == s || v < 0 || v > 100000)
			return -1;
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		case 'w':
			unit = 7 * 86400;
			break;
		case 'y':
			unit = 365 * 86400;
			break;
		default:
			return -1;
		}
		total += (int64_t)v * unit;
		s = end + 1;
	}
	*out = total;
	return 0;
}

static int
parse_count(const struct gopts *g, struct opt *o, int *v)
{
	char *end;
	long x;

	*v = 0;
	if (!o->set)
		return 0;
	x = strtol(o->value, &end, 10);
	if (*end || x < 0 || x > 1000000)
		return usage_error(g, "--%s takes a count, not '%s'", o->name,
		    o->value);
	*v = (int)x;
	return 0;
}

static void
show_decision(const struct gopts *g, const struct cf_forget_decision *d,
    int first)
{
	char t[32];

	if (g->json) {
		printf("%s{\"id\":\"%s\",\"time_ns\":%lld,\"host\":",
		    first ? "" : ",", d->s->name, (long long)d->s->time_ns);
		json_str(stdout, d->s->host, strlen(d->s->host));
		printf(",\"keep\":%s,\"reasons\":", d->keep ? "true" : "false");
		json_str(stdout, d->reason, strlen(d->reason));
		printf("}");
		return;
	}
	fmt_time(t, sizeof(t), d->s->time_ns / 1000000000);
	printf("%s %.8s  %s  %-12s %s%s%s%s\n", d->keep ? "keep  " : "forget",
	    d->s->name, t, d->s->host, d->s->npaths ? d->s->paths[0] : "",
	    d->keep ? "  (" : "", d->keep ? d->reason : "", d->keep ? ")" : "");
}

static int
policy_from(const struct gopts *g, struct opt *opts, struct cf_forget_policy *p)
{
	static const char *const counts[] = {"keep-last", "keep-hourly",
	    "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly"};
	int *dst[] = {&p->last, &p->hourly, &p->daily, &p->weekly, &p->monthly,
	    &p->yearly};
	struct opt *w = opt_get(opts, "keep-within");

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < 6; i++)
		if (parse_count(g, opt_get(opts, counts[i]), dst[i]) != 0)
			return EXIT_USAGE;
	if (w->set &&
	    (parse_duration(w->value, &p->within_s) != 0 || p->within_s == 0))
		return usage_error(g,
		    "--keep-within takes a duration like "
		    "30d or 1y2w (m is minutes), not '%s'",
		    w->value);
	p->keep_tags = opt_get(opts, "keep-tag")->values;
	p->nkeep_tags = opt_get(opts, "keep-tag")->nvalues;
	p->host = opt_get(opts, "host")->value;
	if (!cf_forget_any(p))
		return usage_error(g, "give at least one --keep-* rule (forget "
		                      "never drops every snapshot)");
	return 0;
}

static void
print_info(void *arg, const char *what, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s: %s\n", what, msg);
}

/* The prune options, checked before anything changes (forget --prune
 * must not forget, then refuse a bad --grace). */
static int
prune_opts_from(struct gopts *g, struct opt *opts, struct cf_prune_opts *po)
{
	struct opt *mu = opt_get(opts, "max-unused"),
	           *gr = opt_get(opts, "grace");
	char *end;

	*po = (struct cf_prune_opts){6 * 3600, 0.10, 0, print_info, g};
	if (mu != NULL && mu->set) {
		double v = strtod(mu->value, &end);

		if (*end == '%')
			end++;
		if (*end || v < 0 || v > 100)
			return usage_error(g,
			    "--max-unused takes 0 to 100 (%%)");
		po->max_unused = v / 100.0;
	}
	if (gr != NULL && gr->set && strcmp(gr->value, "0") != 0 &&
	    parse_duration(gr->value, &po->grace_s) != 0)
		return usage_error(g, "--grace takes a duration like 6h");
	if (gr != NULL && gr->set && strcmp(gr->value, "0") == 0)
		po->grace_s = 0;
	po->dry_run = opt_get(opts, "dry-run")->set;
	if (g->quiet || g->json)
		po->info = NULL;
	return 0;
}

static int
run_prune(struct gopts *g, struct cf_repo *r, struct opt *opts)
{
	struct cf_prune_opts po;
	struct cf_prune_result res;
	struct cf_err err = {0};
	char a[32], b[32];

	if (prune_opts_from(g, opts, &po) != 0)
		return EXIT_USAGE;
	if (cf_prune(r, &po, &res, &err) != 0)
		return report(g, &err);
	human_bytes(a, sizeof(a), res.deleted_bytes);
	human_bytes(b, sizeof(b), res.planned_bytes);
	if (g->json)
		printf("{\"snapshots\":%llu,\"used_blobs\":%llu,\"deleted_"
		       "packs\":%llu,"
		       "\"deleted_bytes\":%llu,\"kept_alive\":%llu,\"planned_"
		       "packs\":%llu,"
		       "\"planned_bytes\":%llu,\"repacked_packs\":%llu,"
		       "\"repacked_bytes\":%llu,\"plans_done\":%llu,"
		       "\"swept\":%llu,\"swept_bytes\":%llu,"
		       "\"bad_packs\":%llu}\n",
		    (unsigned long long)res.snapshots,
		    (unsigned long long)res.used_blobs,
		    (unsigned long long)res.deleted,
		    (unsigned long long)res.deleted_bytes,
		    (unsigned long long)res.kept_alive,
		    (unsigned long long)res.planned,
		    (unsigned long long)res.planned_bytes,
		    (unsigned long long)res.repacked,
		    (unsigned long long)res.repacked_bytes,
		    (unsigned long long)res.plans_done,
		    (unsigned long long)res.swept,
		    (unsigned long long)res.swept_bytes,
		    (unsigned long long)res.bad_packs);
	else if (!g->quiet)
		printf("prune: deleted %llu packs (%s); %llu packs (%s, %llu "
		       "repacked) planned for deletion after the grace "
		       "period%s\n",
		    (unsigned long long)res.deleted, a,
		    (unsigned long long)res.planned, b,
		    (unsigned long long)res.repacked,
		    po.dry_run ? " (dry run: nothing changed)" : "");
	if (!g->json && !g->quiet && res.swept > 0) {
		human_bytes(a, sizeof(a), res.swept_bytes);
		printf("prune: removed %llu unfinished writes of dead "
		       "processes (%s) from tmp/\n",
		    (unsigned long long)res.swept, a);
	}
	if (res.bad_packs > 0) {
		fprintf(stderr,
		    "coffer prune: %llu packs kept as they are: blob %s in "
		    "pack %s (and maybe others) does not match its id; see "
		    "coffer check --read-data\n",
		    (unsigned long long)res.bad_packs, res.bad_blob,
		    res.bad_pack);
		return EXIT_PARTIAL;
	}
	return 0;
}

int
cmd_forget(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"keep-last", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-hourly", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-daily", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-weekly", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-monthly", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-yearly", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-within", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"keep-tag", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"host", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"dry-run", 'n', 0, 0, NULL, NULL, 0},
	    {"prune", 0, 0, 0, NULL, NULL, 0},
	    {"max-unused", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"grace", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_forget_decision *d = NULL;
	struct cf_forget_policy p;
	struct cf_prune_opts po;
	struct cf_snapshot **v = NULL;
	struct cf_err err = {0};
	struct cf_repo *r = NULL;
	char(*names)[65] = NULL;
	const char **pos;
	size_t npos, n = 0, nf = 0;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos > 0)
		rc = usage_error(g, "unexpected argument '%s'", pos[0]);
	else if ((rc = policy_from(g, opts, &p)) == 0 &&
	         (rc = prune_opts_from(g, opts, &po)) == 0 &&
	         (r = open_repo(g, &rc)) != NULL) {
		if (cf_repo_snapshots(r, &v, &n, &err) != 0 ||
		    (d = calloc(n + 1, sizeof(*d))) == NULL ||
		    (names = calloc(n + 1, 65)) == NULL) {
			rc = report(g, &err);
			goto out;
		}
		cf_forget_decide(v, n, &p, d);
		if (g->json)
			printf("[");
		for (size_t i = n; i-- > 0;) {
			if (!g->quiet)
				show_decision(g, &d[i], i + 1 == n);
			if (!d[i].keep)
				memcpy(names[nf++], d[i].s->name, 65);
		}
		if (g->json)
			printf("]\n");
		if (!opt_get(opts, "dry-run")->set &&
		    cf_forget_apply(r, names, nf, &err) != 0)
			rc = report(g, &err);
		else if (!g->quiet && !g->json)
			printf("%zu snapshots %s, %zu kept\n", nf,
			    opt_get(opts, "dry-run")->set ? "would go"
			                                  : "forgotten",
			    n - nf);
		if (rc == 0 && opt_get(opts, "prune")->set)
			rc = run_prune(g, r, opts);
	}
out:
	cf_snapshots_free(v, n);
	free(d);
	free(names);
	cf_repo_close(r);
	free(opt_get(opts, "keep-tag")->values);
	free(pos);
	return rc;
}

int
cmd_prune(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"max-unused", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"grace", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"dry-run", 'n', 0, 0, NULL, NULL, 0}, {0}};
	struct cf_repo *r;
	const char **pos;
	size_t npos;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	free(pos);
	if (npos > 0)
		return usage_error(g, "unexpected argument");
	if ((r = open_repo(g, &rc)) == NULL)
		return rc;
	rc = run_prune(g, r, opts);
	cf_repo_close(r);
	return rc;
}

static int
has(char **v, size_t n, const char *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], t) == 0)
			return 1;
	return 0;
}

/* New tag list: --set replaces, then --add and --remove. */
static int
retag(struct cf_snapshot *s, struct opt *set, struct opt *add, struct opt *rm)
{
	char **t =
	    calloc(s->ntags + set->nvalues + add->nvalues + 1, sizeof(char *));
	size_t n = 0;

	if (t == NULL)
		return -1;
	if (set->set)
		for (size_t i = 0; i < set->nvalues; i++)
			t[n++] = strdup(set->values[i]);
	else
		for (size_t i = 0; i < s->ntags; i++)
			t[n++] = strdup(s->tags[i]);
	for (size_t i = 0; i < add->nvalues; i++)
		if (!has(t, n, add->values[i]))
			t[n++] = strdup(add->values[i]);
	for (size_t i = 0; i < n;)
		if (has((char **)(uintptr_t)rm->values, rm->nvalues, t[i])) {
			free(t[i]);
			t[i] = t[--n];
		} else {
			i++;
		}
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	s->tags = t;
	s->ntags = n;
	return 0;
}

int
cmd_tag(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {
	    {"add", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"remove", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"set", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0}, {0}};
	struct cf_err err = {0};
	struct cf_repo *r = NULL;
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos == 0 || !(opts[0].set || opts[1].set || opts[2].set))
		rc = usage_error(g,
		    "give snapshots and --add, --remove or --set");
	else if ((r = open_repo(g, &rc)) != NULL)
		for (size_t i = 0; i < npos && rc == 0; i++) {
			struct cf_snapshot *s =
			    cf_repo_find_snapshot(r, pos[i], &err);
			char old[1][65];

			if (s == NULL) {
				rc = report(g, &err);
				break;
			}
			memcpy(old[0], s->name, 65);
			if (retag(s, &opts[2], &opts[0], &opts[1]) != 0 ||
			    cf_repo_save_snapshot(r, s, &err) != 0 ||
			    cf_forget_apply(r, old, 1, &err) != 0)
				rc = report(g, &err);
			else if (!g->quiet)
				printf("snapshot %.8s is now %.8s\n", old[0],
				    s->name);
			cf_snapshot_free(s);
		}
	cf_repo_close(r);
	for (int i = 0; i < 3; i++)
		free(opts[i].values);
	free(pos);
	return rc;
}
