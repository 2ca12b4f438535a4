/* cmd_check.c: coffer check. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
print_problem(void *arg, const char *kind, const char *msg)
{
	const struct gopts *g = arg;

	if (g->json) {
		printf("{\"%s\":", kind);
		json_str(stdout, msg, strlen(msg));
		printf("}\n");
	} else {
		fprintf(stderr, "%s: %s\n", kind, msg);
	}
}

int
cmd_check(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"read-data", 0, 0, 0, NULL, NULL, 0}, {0}};
	struct cf_check_opts co = {0};
	struct cf_check_result res;
	struct cf_counters ctr = {0};
	struct cf_err err = {0};
	struct cf_repo *r;
	struct progress *p;
	const char **pos;
	size_t npos;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	free(pos);
	if (npos != 0)
		return usage_error(g, "unexpected argument");
	if ((r = open_repo(g, &rc)) == NULL)
		return rc;
	co.read_data = opts[0].set;
	co.warn = print_problem;
	co.arg = g;
	co.ctr = &ctr;
	p = progress_start(g, "check", &ctr);
	rc = cf_check(r, &co, &res, &err);
	progress_stop(p);
	cf_repo_close(r);
	if (rc != 0)
		return report(g, &err);
	if (g->json)
		printf("{\"snapshots\":%llu,\"trees\":%llu,\"packs\":%llu,"
		       "\"blobs_read\":%llu,\"errors\":%llu,\"warnings\":%llu}"
		       "\n",
		    (unsigned long long)res.snapshots,
		    (unsigned long long)res.trees,
		    (unsigned long long)res.packs,
		    (unsigned long long)res.blobs,
		    (unsigned long long)res.errors,
		    (unsigned long long)res.warnings);
	else if (!g->quiet)
		printf("checked %llu snapshots, %llu trees, %llu packs%s: "
		       "%llu errors, %llu warnings\n",
		    (unsigned long long)res.snapshots,
		    (unsigned long long)res.trees,
		    (unsigned long long)res.packs,
		    co.read_data ? " (all data read)" : "",
		    (unsigned long long)res.errors,
		    (unsigned long long)res.warnings);
	if (res.errors > 0) {
		fprintf(stderr, "coffer check: repository has %llu errors\n",
		    (unsigned long long)res.errors);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
