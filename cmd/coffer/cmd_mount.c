/* cmd_mount.c: coffer mount: the repository as a read-only file system. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mount/mount.h"

static int
parse_cache(const struct gopts *g, const struct opt *o, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	*bytes = 0;
	if (!o->set)
		return 0;
	v = strtoull(o->value, &end, 10);
	if (*end != '\0' || o->value[0] == '-' ||
	    v < CF_MOUNT_CACHE_MIN >> 20 || v > CF_MOUNT_CACHE_MAX >> 20)
		return usage_error(g,
		    "--cache-size takes %llu to %llu (MiB), "
		    "not '%s'",
		    CF_MOUNT_CACHE_MIN >> 20, CF_MOUNT_CACHE_MAX >> 20,
		    o->value);
	*bytes = (uint64_t)v << 20;
	return 0;
}

static int
mount_opts(struct gopts *g, struct opt *opts, struct cf_mount_opts *mo)
{
	memset(mo, 0, sizeof(*mo));
	mo->allow_other = opt_get(opts, "allow-other")->set;
	mo->warn = print_warning;
	mo->arg = g;
	if (parse_cache(g, opt_get(opts, "cache-size"), &mo->cache_bytes) ||
	    parse_threads(g, opt_get(opts, "threads"), &mo->threads))
		return EXIT_USAGE;
	return 0;
}

static int
serve(struct gopts *g, struct cf_repo *r, const char *dir,
    const struct cf_mount_opts *mo)
{
	struct cf_err err = {0};
	struct cf_mount *m = cf_mount_new(r, dir, mo, &err);
	int rc = EXIT_OK;

	if (m == NULL)
		return report(g, &err);
	if (!g->quiet)
		fprintf(stderr,
		    "%s: %zu snapshots on %s, read-only; Ctrl-C or "
		    "'fusermount3 -u %s' unmounts\n",
		    cli_progname, cf_mount_snapshots(m), dir, dir);
	if (cf_mount_loop(m, &err) != 0)
		rc = report(g, &err);
	cf_mount_free(m);
	return rc;
}

int
cmd_mount(struct gopts *g, int argc, char **argv)
{
	struct opt opts[] = {{"cache-size", 0, OPT_VALUE, 0, NULL, NULL, 0},
	    {"allow-other", 0, 0, 0, NULL, NULL, 0},
	    {"threads", 0, OPT_VALUE, 0, NULL, NULL, 0}, {0}};
	struct cf_mount_opts mo;
	struct cf_repo *r;
	const char **pos;
	size_t npos;
	int rc;

	if (parse_args(g, argc, argv, opts, &pos, &npos))
		return EXIT_USAGE;
	if (npos != 1)
		rc = usage_error(g, "give one folder to mount on");
	else if ((rc = mount_opts(g, opts, &mo)) == 0 &&
	         (r = open_repo(g, &rc)) != NULL) {
		rc = serve(g, r, pos[0], &mo);
		cf_repo_close(r);
	}
	free(pos);
	return rc;
}
