/*
 * argv.c: fuzz parse_args, the option parser of the coffer command line
 * (cmd/coffer/util.c), as wireguard-tools fuzzes its own argv.
 *
 *   input = table(1) then the arguments, separated by NUL bytes
 * The table byte picks the options of one subcommand (copies of those in
 * cmd/coffer/cmd_*.c).  Oracles: positional arguments are arguments, in
 * order; an option's value is an argument, a part of one or "1".
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "common.h"

#define MAX_ARGS 64
#define MAX_OPTS 8

const char *cli_progname = "coffer";

static const struct opt tables[][MAX_OPTS] = {
    {{"exclude", 'e', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
        {"exclude-file", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
        {"tag", 0, OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
        {"host", 0, OPT_VALUE, 0, NULL, NULL, 0},
        {"parent", 0, OPT_VALUE, 0, NULL, NULL, 0},
        {"force", 0, 0, 0, NULL, NULL, 0},
        {"threads", 0, OPT_VALUE, 0, NULL, NULL, 0}},
    {{"target", 't', OPT_VALUE, 0, NULL, NULL, 0},
        {"include", 'i', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
        {"exclude", 'e', OPT_VALUE | OPT_MULTI, 0, NULL, NULL, 0},
        {"threads", 0, OPT_VALUE, 0, NULL, NULL, 0},
        {"no-owner", 0, 0, 0, NULL, NULL, 0}},
    {{"new-password-file", 0, OPT_VALUE, 0, NULL, NULL, 0},
        {"kdf-memory", 0, OPT_VALUE, 0, NULL, NULL, 0},
        {"kdf-ops", 0, OPT_VALUE, 0, NULL, NULL, 0}},
    {{"long", 'l', 0, 0, NULL, NULL, 0}},
    {{NULL, 0, 0, 0, NULL, NULL, 0}},
};

static int
split(char *s, size_t n, char **argv)
{
	static char arg0[] = "fuzz";
	int argc = 0;

	argv[argc++] = arg0;
	for (size_t i = 0; i < n && argc < MAX_ARGS; i += strlen(s + i) + 1)
		argv[argc++] = s + i;
	return argc;
}

static int
is_arg(const char *p, const char *buf, size_t n)
{
	return p >= buf && p <= buf + n;
}

static void
check(const struct opt *o, const char **pos, size_t npos, int argc,
    const char *buf, size_t n)
{
	fuzz_check(npos < (size_t)argc, "more positional arguments than given");
	for (size_t i = 0; i < npos; i++)
		fuzz_check(is_arg(pos[i], buf, n), "positional is no argument");
	for (; o->name != NULL; o++) {
		fuzz_check(!o->set || strcmp(o->value, "1") == 0 ||
		               is_arg(o->value, buf, n),
		    "option value is no argument");
		for (size_t i = 0; i < o->nvalues; i++)
			fuzz_check(is_arg(o->values[i], buf, n),
			    "option value is no argument");
	}
}

static void
check_globals(const struct gopts *g, const char *buf, size_t n)
{
	fuzz_check((g->repo == NULL || is_arg(g->repo, buf, n)) &&
	               (g->password_file == NULL ||
	                   is_arg(g->password_file, buf, n)) &&
	               (g->cache_dir == NULL || is_arg(g->cache_dir, buf, n)),
	    "global option value is no argument");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct opt opts[MAX_OPTS];
	struct gopts g = {0};
	char *buf, *argv[MAX_ARGS];
	const char **pos;
	size_t npos;
	int argc;

	if (size < 1)
		return 0;
	memcpy(opts, tables[data[0] % (sizeof(tables) / sizeof(tables[0]))],
	    sizeof(opts));
	buf = (char *)fuzz_alloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argc = split(buf + 1, size - 1, argv);
	g.cmd = "fuzz";
	if (parse_args(&g, argc, argv, opts, &pos, &npos) == 0) {
		check(opts, pos, npos, argc, buf, size);
		check_globals(&g, buf, size);
		free(pos);
	}
	for (size_t i = 0; opts[i].name != NULL; i++)
		free(opts[i].values);
	free(buf);
	return 0;
}
