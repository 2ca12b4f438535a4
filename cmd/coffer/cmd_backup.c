/* cmd_backup.c: coffer backup. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define EXCLUDE_FILE_MAX (1u << 20)

/* Patterns from a file: one a line; blank lines and '#' comments skipped.
 * The lines are kept in *keep (freed by the caller). */
static int
read_exclude_file(const struct gopts *g, const char *path, struct opt *ex,
    char **keep)
{
	FILE *f = fopen(path, "r");
	char *buf, *line, *save;
	size_t n;

	if (f == NULL) {
		fprintf(stderr,
		    "coffer backup: cannot read exclude file %s: %s\n", path,
		    strerror(errno));
		return EXIT_FAIL;
	}
	buf = malloc(EXCLUDE_FILE_MAX + 1);
	n = buf ? fread(buf, 1, EXCLUDE_FILE_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > EXCLUDE_FILE_MAX) {
		free(buf);
		return usage_error(g, "exclude file %s is larger than 1 MiB",
		    path);
	}
	buf[n] = '\0';
	*keep = buf;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);
		const char **nv;

		while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if ((nv = realloc(ex->values,
		         (ex->nvalues + 2) * sizeof(char *))) == NULL)
			return usage_error(g, "out of memory");
		ex->values = nv;
		ex->values[ex->nvalues++] = line;
		ex->values[ex->nvalues] = NULL;
	}
	return 0;
}

static void
print_result(const struct gopts *g, const struct cf_backup_result *res,
    double secs)
{
	char b[32], nb[32], sb[32];

	if (g->json) {
		printf("{\"snapshot\":\"%s\",\"parent\":\"%s\",\"files\":%llu,"
		       "\"dirs\":%llu,\"bytes\":%llu,\"new_bytes\":%llu,"
		       "\"stored_bytes\":%llu,\"unchanged_files\":%llu,"
		       "\"unreadable\":%llu,\"changed_during_read\":%llu,"
		       "\"prescanned_dirs\":%llu,\"reused_dirs\":%llu,"
		       "\"seconds\":%.3f}\n",
		    res->name, res->parent, (unsigned long long)res->files,
		    (unsigned long long)res->dirs,
		    (unsigned long long)res->bytes,
		    (unsigned long long)res->new_bytes,
		    (unsigned long long)res->stored_bytes,
		    (unsigned long long)res->unchanged,
		    (unsigned long long)res->unreadable,
		    (unsigned long long)res->changed,
		    (unsigned long long)res->prescanned_dirs,
		    (unsigned long long)res->reused_dirs, secs);
		return;
	}
	if (g->quiet)
		return;
	human_bytes(b, sizeof(b), res->bytes);
	human_bytes(nb, sizeof(nb), res->new_bytes);
	human_bytes(sb, sizeof(sb), res->stored_bytes);
	printf("snapshot %.8s saved: %llu files (%llu unchanged), %llu "
	       "folders, "
	       "%s; new data %s, stored %s, in %.1f s\n",
	    res->name, (unsigned long long)res->files,
	    (unsigned long long)res->unchanged, (unsigned long long)res->dirs,
	    b, nb, sb, secs);
	if (res->unreadable)
		printf("%llu files or folders could not be read (listed "
		       "above)\n",
		    (unsigned long long)res->unreadable);
}

static int
run_backup(struct gopts *g, struct cf_backup_opts *bo)
{
	struct cf_backup_result res;
	struct cf_counters ctr = {0};
	struct cf_err err = {0};
	struct progress *p;
	struct timespec t0, t1;
	struct cf_repo *r;
	const char *pre = getenv("COFFER_TEST_PRESCAN");
	int rc;

	/* The tree is statted while the key is derived (cf_prescan_start).
	 * Tests choose: COFFER_TEST_PRESCAN=wait lets it finish first, =off
	 * leaves it out, =stop:N stops it after N folders. */
	if (pre == NULL || strcmp(pre, "off") != 0)
		bo->prescan = cf_prescan_start(bo);
	if (pre != NULL && strcmp(pre, "wait") == 0)
		cf_prescan_wait(bo->prescan);
	if (pre != NULL && strncmp(pre, "stop:", 5) == 0)
		cf_prescan_stop_after(bo->prescan, strtoul(pre + 5, NULL, 10));
	if ((r = open_repo(g, &rc)) == NULL) {
		cf_prescan_free(bo->prescan);
		return rc;
	}
	bo->ctr = &ctr;
	bo->scan = !g->quiet && !g->json;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = progress_start(g, "backup", &ctr);
	rc = cf_backup(r, bo, &res, &err);
	progress_stop(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != 0)
		rc = report(g, &err);
	else {
		remember_snapshot(g, res.name);
		print_result(g, &res,
		    (double)(t1.tv_sec - t0.tv_sec) +
		        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		rc = res.unreadable ? EXIT_PARTIAL : EXIT_OK;
	}
	cf_prescan_free(bo->prescan);
	cf_repo_close(r);
	return rc;
}

int
cmd_backup(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {
	    {"exclude", 'e', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"exclude-file", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"tag", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
	    {"host", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"parent", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"force", 0, 0, 0, NULL, NULL, 0},
	    {"threads", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct opt *ex = &opts[0], *exf = &opts[1];
	struct cf_backup_opts bo = {0};
	char *keep[64] = {0};
	const char **pos;
	size_t npos;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	rc =
	    npos == 0 ? usage_error(g, "give at least one path to back up") : 0;
	if (exf->nvalues > 64)
		rc = usage_error(g, "at most 64 exclude files");
	for (size_t i = 0; rc == 0 && i < exf->nvalues; i++)
		rc = read_exclude_file(g, exf->values[i], ex, &keep[i]);
	if (rc == 0)
		rc = parse_threads(g, &opts[6], &bo.threads);
	if (rc == 0) {
		bo.paths = pos;
		bo.npaths = npos;
		bo.excludes = ex->values;
		bo.nexcludes = ex->nvalues;
		bo.tags = opts[2].values;
		bo.ntags = opts[2].nvalues;
		bo.host = opts[3].set ? opts[3].value : host_name();
		bo.user = user_name();
		bo.parent = opts[4].set ? opts[4].value : NULL;
		bo.force = opts[5].set;
		bo.warn = print_warning;
		bo.arg = g;
		rc = run_backup(g, &bo);
	}
	for (size_t i = 0; i < 64; i++)
		free(keep[i]);
	for (size_t i = 0; opts[i].name; i++)
		free(opts[i].values);
	free(pos);
	return rc;
}
