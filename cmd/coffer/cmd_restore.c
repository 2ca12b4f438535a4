/* cmd_restore.c: coffer restore. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void
print_result(const struct gopts *g, const struct cf_restore_result *res,
    double secs)
{
	char b[32];

	if (g->json) {
		printf("{\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu,"
		       "\"warnings\":%llu,\"lost\":%llu,\"seconds\":%.3f}\n",
		    (unsigned long long)res->files,
		    (unsigned long long)res->dirs,
		    (unsigned long long)res->bytes,
		    (unsigned long long)res->warnings,
		    (unsigned long long)res->lost, secs);
	} else if (!g->quiet) {
		human_bytes(b, sizeof(b), res->bytes);
		printf("restored %llu files, %llu folders, %s in %.1f s\n",
		    (unsigned long long)res->files,
		    (unsigned long long)res->dirs, b, secs);
		if (res->lost)
			printf("%llu entries could not be restored (see the "
			       "warnings above)\n",
			    (unsigned long long)res->lost);
	}
}

int
cmd_restore(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"target", 't', OPT_VALUE, 0, NULL, NULL, 0},
	    {"include", 'i', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"exclude", 'e', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"threads", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"no-owner", 0, 0, 0, NULL, NULL, 0}, {0}};
	struct cf_restore_opts ro = {0};
	struct cf_restore_result res;
	struct cf_counters ctr = {0};
	struct cf_err err = {0};
	struct cf_repo *r = NULL;
	struct timespec t0, t1;
	struct progress *p;
	char *spec = NULL, *snap, *path, latest[65];
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 1)
		rc = usage_error(g, "give one SNAPSHOT[:PATH]");
	else if (!opts[0].set || !*opts[0].value)
		rc = usage_error(g, "give --target DIR");
	else
		rc = parse_threads(g, &opts[3], &ro.threads);
	if (rc != 0 || (r = open_repo(g, &rc)) == NULL)
		goto out;
	spec = strdup(pos[0]);
	split_spec(spec, &snap, &path);
	if (strcmp(snap, "latest") == 0) { /* resolved here: see find_spec */
		struct cf_snapshot *s = find_spec(g, r, snap, &rc);

		if (s == NULL)
			goto out;
		snprintf(latest, sizeof(latest), "%s", s->name);
		cf_snapshot_free(s);
		snap = latest;
	}
	ro.snapshot = snap;
	ro.subpath = path;
	ro.target = opts[0].value;
	ro.includes = opts[1].values;
	ro.nincludes = opts[1].nvalues;
	ro.excludes = opts[2].values;
	ro.nexcludes = opts[2].nvalues;
	ro.no_owner = opts[4].set;
	ro.warn = print_warning;
	ro.arg = g;
	ro.ctr = &ctr;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = progress_start(g, "restore", &ctr);
	rc = cf_restore(r, &ro, &res, &err);
	progress_stop(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != 0) {
		rc = report(g, &err);
	} else {
		print_result(g, &res,
		    (double)(t1.tv_sec - t0.tv_sec) +
		        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		rc = res.lost ? EXIT_PARTIAL : EXIT_OK;
	}
out:
	cf_repo_close(r);
	free(spec);
	free(opts[1].values);
	free(opts[2].values);
	free(pos);
	return rc;
}
