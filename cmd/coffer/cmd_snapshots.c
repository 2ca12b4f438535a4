/* cmd_snapshots.c: coffer snapshots, ls, dump, diff. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static void
snap_json(const struct cf_snapshot *s)
{
	printf("{\"id\":\"%s\",\"time_ns\":%lld,\"host\":", s->name,
	    (long long)s->time_ns);
	json_str(stdout, s->host, strlen(s->host));
	printf(",\"user\":");
	json_str(stdout, s->user, strlen(s->user));
	printf(",\"paths\":[");
	for (size_t i = 0; i < s->npaths; i++) {
		printf(i ? "," : "");
		json_str(stdout, s->paths[i], strlen(s->paths[i]));
	}
	printf("],\"tags\":[");
	for (size_t i = 0; i < s->ntags; i++) {
		printf(i ? "," : "");
		json_str(stdout, s->tags[i], strlen(s->tags[i]));
	}
	printf("],\"files\":%llu,\"dirs\":%llu,\"bytes\":%llu}",
	    (unsigned long long)s->files, (unsigned long long)s->dirs,
	    (unsigned long long)s->bytes);
}

static void
snap_row(const struct cf_snapshot *s)
{
	char t[32], b[32];

	fmt_time(t, sizeof(t), s->time_ns / 1000000000);
	human_bytes(b, sizeof(b), s->bytes);
	printf("%.8s  %s  %-16s %10s  ", s->name, t, s->host, b);
	for (size_t i = 0; i < s->npaths; i++)
		printf("%s%s", i ? "," : "", s->paths[i]);
	for (size_t i = 0; i < s->ntags; i++)
		printf("%s%s", i ? "," : "  [", s->tags[i]);
	printf("%s\n", s->ntags ? "]" : "");
}

int
cmd_snapshots(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{0}};
	struct cf_snapshot **v;
	struct cf_err err = {0};
	struct cf_repo *r;
	const char **pos;
	size_t npos, n;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	free(pos);
	if (npos > 0)
		return usage_error(g, "unexpected argument");
	if ((r = open_repo(g, &rc)) == NULL)
		return rc;
	if (cf_repo_snapshots(r, &v, &n, &err) != 0) {
		rc = report(g, &err);
		cf_repo_close(r);
		return rc;
	}
	if (r->bad_snapshots > 0)
		fprintf(stderr,
		    "warning: %zu damaged snapshot records skipped "
		    "(%s): see 'coffer check'\n",
		    r->bad_snapshots, r->bad_err.msg);
	if (g->json)
		printf("[");
	else if (n > 0)
		printf("ID        Time                 Host                   "
		       "Size  Paths\n");
	for (size_t i = 0; i < n; i++) {
		if (g->json) {
			printf(i ? "," : "");
			snap_json(v[i]);
		} else {
			snap_row(v[i]);
		}
	}
	if (g->json)
		printf("]\n");
	else if (!g->quiet)
		printf("%zu snapshots\n", n);
	rc = EXIT_OK;
	/* A snapshot sealed with a key version retired by a device's removal,
	 * and not among those the rotation recorded, was written after it:
	 * by the removed device with the operator's help, or by a backup that
	 * overlapped the removal.  It is refused, and said loudly. */
	if (r->retired_snapshots > 0) {
		fprintf(stderr,
		    "%s snapshots: SECURITY ALERT: %zu snapshot record(s) "
		    "sealed with a retired key version were refused; the "
		    "first: %s\n",
		    cli_progname, r->retired_snapshots, r->retired_err.msg);
		rc = EXIT_SECURITY;
	}
	cf_snapshots_free(v, n);
	cf_repo_close(r);
	return rc;
}

static char
type_char(uint8_t t)
{
	static const char c[] = "?-dlpcbs";

	return t < sizeof(c) - 1 ? c[t] : '?';
}

static void
mode_string(char out[11], const struct cf_node *n)
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = type_char(n->type);
	for (int i = 0; i < 9; i++)
		out[1 + i] = (n->mode & (0400u >> i)) ? rwx[i] : '-';
	out[10] = '\0';
}

struct lsctx {
	struct gopts *g;
	int longfmt;
};

static int
ls_one(void *arg, const char *path, const struct cf_node *n)
{
	struct lsctx *l = arg;
	char m[11], t[32];

	if (l->g->json) {
		printf("{\"path\":");
		json_str(stdout, path, strlen(path));
		printf(",\"type\":\"%c\",\"mode\":%u,\"size\":%llu,"
		       "\"mtime\":%lld,\"uid\":%u,\"gid\":%u}\n",
		    type_char(n->type), n->mode, (unsigned long long)n->size,
		    (long long)n->mtime_s, n->uid, n->gid);
	} else if (l->longfmt) {
		mode_string(m, n);
		fmt_time(t, sizeof(t), n->mtime_s);
		printf("%s %5u %5u %12llu %s %s\n", m, n->uid, n->gid,
		    (unsigned long long)n->size, t, path);
	} else {
		printf("%s\n", path);
	}
	return 0;
}

/** find_spec(g, r, spec, rc): resolve a snapshot spec, or print why not
 * (*rc the exit code).  "latest" is refused while a snapshot record does
 * not authenticate: it may be the newest one, and a server that damages
 * records would otherwise choose what "latest" restores. */
struct cf_snapshot *
find_spec(const struct gopts *g, struct cf_repo *r, const char *spec, int *rc)
{
	struct cf_err err = {0};
	struct cf_snapshot *s = cf_repo_find_snapshot(r, spec, &err);

	if (s == NULL) {
		*rc = report(g, &err);
	} else if (strcmp(spec, "latest") == 0 && r->bad_snapshots > 0) {
		cf_err_set(&err, CF_EAUTH,
		    "%zu snapshot record(s) do not "
		    "authenticate (%s): 'latest' could be an older snapshot; "
		    "give a snapshot ID ('coffer snapshots', 'coffer check')",
		    r->bad_snapshots, r->bad_err.msg);
		*rc = report(g, &err);
		cf_snapshot_free(s);
		s = NULL;
	}
	return s;
}

static struct cf_snapshot *
load_spec(struct gopts *g, struct cf_repo *r, const char *spec, int *rc)
{
	return find_spec(g, r, spec, rc);
}

int
cmd_ls(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"long", 'l', 0, 0, NULL, NULL, 0}, {0}};
	struct lsctx l = {g, 0};
	struct cf_snapshot *s = NULL;
	struct cf_repo *r = NULL;
	struct cf_err err = {0};
	const struct cf_node *node;
	struct cf_tree t = {0};
	char *spec = NULL, *snap, *path;
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	l.longfmt = opts[0].set;
	if (npos != 1) {
		rc = usage_error(g, "give one SNAPSHOT[:PATH]");
		goto out;
	}
	spec = strdup(pos[0]);
	split_spec(spec, &snap, &path);
	if ((r = open_repo(g, &rc)) == NULL ||
	    (s = load_spec(g, r, snap, &rc)) == NULL)
		goto out;
	if (path == NULL || path[0] == '\0' || strcmp(path, "/") == 0) {
		rc = cf_walk(r, s->tree, "/", ls_one, &l, &err);
	} else if ((rc = cf_find_node(r, s->tree, path, NULL, &node, &t,
	                &err)) == 0) {
		rc = ls_one(&l, path, node);
		if (rc == 0 && node->type == CF_NT_DIR)
			rc = cf_walk(r, node->subtree, path, ls_one, &l, &err);
		cf_tree_release(&t);
	}
	if (rc != 0)
		rc = report(g, &err);
out:
	cf_snapshot_free(s);
	cf_repo_close(r);
	free(spec);
	free(pos);
	return rc;
}

int
cmd_dump(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{0}};
	struct cf_snapshot *s = NULL;
	struct cf_repo *r = NULL;
	struct cf_err err = {0};
	const struct cf_node *node;
	struct cf_tree t = {0};
	char *spec = NULL, *snap, *path;
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 1) {
		rc = usage_error(g, "give one SNAPSHOT:FILE");
		goto out;
	}
	spec = strdup(pos[0]);
	split_spec(spec, &snap, &path);
	if (path == NULL || *path == '\0') {
		rc = usage_error(g, "give SNAPSHOT:FILE, with the file's path");
		goto out;
	}
	if ((r = open_repo(g, &rc)) == NULL ||
	    (s = load_spec(g, r, snap, &rc)) == NULL)
		goto out;
	if (cf_find_node(r, s->tree, path, NULL, &node, &t, &err) != 0 ||
	    cf_dump(r, node, STDOUT_FILENO, &err) != 0)
		rc = report(g, &err);
	cf_tree_release(&t);
out:
	cf_snapshot_free(s);
	cf_repo_close(r);
	free(spec);
	free(pos);
	return rc;
}

struct diffout {
	struct gopts *g;
	uint64_t n;
};

static int
diff_one(void *arg, char what, const char *path, const struct cf_node *a,
    const struct cf_node *b)
{
	struct diffout *d = arg;

	(void)a;
	(void)b;
	d->n++;
	if (d->g->json) {
		printf("{\"change\":\"%c\",\"path\":", what);
		json_str(stdout, path, strlen(path));
		printf("}\n");
	} else {
		printf("%c  %s\n", what, path);
	}
	return 0;
}

int
cmd_diff(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{0}};
	struct cf_snapshot *a = NULL, *b = NULL;
	struct diffout d = {g, 0};
	struct cf_repo *r = NULL;
	struct cf_err err = {0};
	const char **pos;
	size_t npos;
	int rc = 0;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 2) {
		rc = usage_error(g, "give two snapshots");
		goto out;
	}
	if ((r = open_repo(g, &rc)) == NULL ||
	    (a = load_spec(g, r, pos[0], &rc)) == NULL ||
	    (b = load_spec(g, r, pos[1], &rc)) == NULL)
		goto out;
	if (cf_diff(r, a->tree, b->tree, diff_one, &d, &err) != 0)
		rc = report(g, &err);
	else if (!g->json && !g->quiet)
		printf("%llu changes\n", (unsigned long long)d.n);
out:
	cf_snapshot_free(a);
	cf_snapshot_free(b);
	cf_repo_close(r);
	free(pos);
	return rc;
}
