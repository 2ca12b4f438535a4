/* cmd_find.c: coffer find: which snapshots hold a matching path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SHOW_IDS 10 /* ids listed per match; --json lists them all */

static char
type_char(uint8_t t)
{
	static const char c[] = "?-dlpcbs";

	return t < sizeof(c) - 1 ? c[t] : '?';
}

static void
match_json(const struct cf_find_match *m, struct cf_snapshot *const *v)
{
	printf("{\"path\":");
	json_str(stdout, m->path, strlen(m->path));
	printf(",\"type\":\"%c\",\"size\":%llu,\"mtime\":%lld,"
	       "\"mtime_ns\":%u,\"snapshots\":[",
	    type_char(m->type), (unsigned long long)m->size,
	    (long long)m->mtime_s, m->mtime_ns);
	for (size_t i = 0; i < m->nsnaps; i++)
		printf("%s\"%s\"", i ? "," : "", v[m->snaps[i]]->name);
	printf("]}");
}

static void
match_row(const struct cf_find_match *m, struct cf_snapshot *const *v)
{
	char t[32], b[32];

	fmt_time(t, sizeof(t), m->mtime_s);
	if (m->type == CF_NT_FILE)
		human_bytes(b, sizeof(b), m->size);
	else
		snprintf(b, sizeof(b), "-");
	printf("%s%s  %s  %s  in %zu snapshot%s:", m->path,
	    m->type == CF_NT_DIR ? "/" : "", b, t, m->nsnaps,
	    m->nsnaps == 1 ? "" : "s");
	for (size_t i = 0; i < m->nsnaps && i < SHOW_IDS; i++)
		printf(" %.8s", v[m->snaps[i]]->name);
	if (m->nsnaps > SHOW_IDS)
		printf(" ... (+%zu)", m->nsnaps - SHOW_IDS);
	printf("\n");
}

static void
print_result(const struct gopts *g, const struct cf_find_result *res,
    struct cf_snapshot *const *v, size_t searched)
{
	if (g->json)
		printf("[");
	for (size_t i = 0; i < res->n; i++) {
		if (g->json) {
			printf(i ? ",\n" : "");
			match_json(&res->v[i], v);
		} else {
			match_row(&res->v[i], v);
		}
	}
	if (g->json)
		printf("]\n");
	else if (!g->quiet)
		printf("%zu matches in %zu snapshots (%llu folders read, %llu "
		       "reused)\n",
		    res->n, searched, (unsigned long long)res->trees_read,
		    (unsigned long long)res->trees_reused);
}

static int
parse_newest(const struct gopts *g, const struct opt *o, size_t *n)
{
	char *end;
	unsigned long long v;

	*n = SIZE_MAX;
	if (!o->set)
		return 0;
	v = strtoull(o->value, &end, 10);
	if (*end != '\0' || o->value[0] == '-' || v < 1 || v > UINT32_MAX)
		return usage_error(g,
		    "--newest takes a count of snapshots, "
		    "not '%s'",
		    o->value);
	*n = (size_t)v;
	return 0;
}

/* Search the ${newest} newest snapshots, newest first. */
static int
search(struct gopts *g, struct cf_repo *r, const char *pattern, size_t newest)
{
	struct cf_find_result res;
	struct cf_err err = {0};
	struct cf_snapshot **v;
	size_t n, k;
	int rc = EXIT_OK;

	if (cf_repo_snapshots(r, &v, &n, &err) != 0)
		return report(g, &err);
	for (size_t i = 0; i < n / 2; i++) {
		struct cf_snapshot *s = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = s;
	}
	k = newest < n ? newest : n;
	if (cf_find(r, v, k, pattern, &res, &err) != 0)
		rc = report(g, &err);
	else
		print_result(g, &res, v, k);
	cf_find_release(&res);
	cf_snapshots_free(v, n);
	return rc;
}

int
cmd_find(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"newest", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_repo *r;
	const char **pos;
	size_t npos, newest;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 1)
		rc = usage_error(g, "give one PATTERN");
	else if (pos[0][0] == '\0')
		rc = usage_error(g, "the pattern is empty");
	else if ((rc = parse_newest(g, &opts[0], &newest)) == 0 &&
	         (r = open_repo(g, &rc)) != NULL) {
		rc = search(g, r, pos[0], newest);
		cf_repo_close(r);
	}
	free(pos);
	return rc;
}
