/* main.c: coffer, the command line over libcoffer: a dispatch table. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "net/net.h"

const char *cli_progname = "coffer";

static const struct cmd cmds[] = {
    {"init", cmd_init,
        "init [--kdf-memory MIB] [--kdf-ops N]            (a folder)\n"
        "  init --invite TOKEN [--name DEVICE] [--recovery-key-file F] "
        "(cofferd)"},
    {"backup", cmd_backup,
        "backup PATH... [--exclude PATTERN] [--exclude-file FILE] [--tag TAG]\n"
        "                [--host NAME] [--parent SNAPSHOT] [--force] "
        "[--threads N]"},
    {"snapshots", cmd_snapshots, "snapshots"},
    {"ls", cmd_ls, "ls SNAPSHOT[:PATH] [--long]"},
    {"restore", cmd_restore,
        "restore SNAPSHOT[:PATH] --target DIR [--include PATTERN]\n"
        "                [--exclude PATTERN] [--threads N]"},
    {"dump", cmd_dump, "dump SNAPSHOT:FILE"},
    {"diff", cmd_diff, "diff SNAPSHOT1 SNAPSHOT2"},
    {"find", cmd_find, "find PATTERN [--newest N]"},
    {"mount", cmd_mount,
        "mount DIR [--cache-size MIB] [--threads N] [--allow-other]"},
    {"check", cmd_check, "check [--read-data]"},
    {"forget", cmd_forget,
        "forget [--keep-last N] [--keep-hourly|daily|weekly|monthly|yearly N]\n"
        "                [--keep-within DURATION] [--keep-tag TAG] [--host H]\n"
        "                [--dry-run] [--prune [--max-unused PCT] [--grace "
        "DUR]]"},
    {"prune", cmd_prune,
        "prune [--max-unused PCT] [--grace DURATION] [--dry-run]"},
    {"tag", cmd_tag, "tag SNAPSHOT... [--add TAG] [--remove TAG] [--set TAG]"},
    {"key", cmd_key,
        "key add [--new-password-file FILE] | key list | key remove ID\n"
        "  key create --write-only --output FILE [--name HOST]  (cofferd)"},
    {"device", cmd_device,
        "device list | invite [--approve] | remove NAME\n"
        "                join --name NAME (CODE | --recovery-key-file FILE)"},
    {"zone", cmd_zone, "zone list | zone create NAME"},
    {"recovery-key", cmd_recovery,
        "recovery-key rotate [--recovery-key-file FILE]"},
};

static void
help(FILE *f)
{
	fprintf(f,
	    "coffer %s: encrypted, deduplicated backups that only you can "
	    "read\n\nusage: coffer COMMAND [OPTIONS]\n\ncommands:\n",
	    COFFER_VERSION);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
	fprintf(f,
	    "\nglobal options:\n"
	    "  -r, --repo DIR|URL      the repository (or COFFER_REPO): a "
	    "folder,\n"
	    "                          or http(s)://HOST:PORT[/NAME] on "
	    "cofferd\n"
	    "  -p, --password-file F   read the password from F (or "
	    "COFFER_PASSWORD_FILE;\n"
	    "                          else it is asked on the terminal)\n"
	    "      --credential FILE   back up with a write-only credential "
	    "(or\n"
	    "                          COFFER_CREDENTIAL)\n"
	    "  -z, --zone NAME         the zone of a cofferd account "
	    "(default:\n"
	    "                          the URL's path, else 'default')\n"
	    "      --cache-dir DIR     local index cache (or "
	    "COFFER_CACHE_DIR;\n"
	    "                          default ~/.cache/coffer)\n"
	    "      --json              machine-readable output\n"
	    "  -q, --quiet             no progress, no summary\n"
	    "\nsnapshots are named by 'latest' or a prefix of their ID (4+ "
	    "hex digits)\n"
	    "\nexit codes:\n"
	    "  0   success\n"
	    "  1   failure (the error line says what)\n"
	    "  2   bad command line\n"
	    "  3   backup completed, but some files could not be read;\n"
	    "      restore completed, but some entries could not be created;\n"
	    "      prune completed, but kept a pack with a lying blob\n"
	    "  10  no repository at the given place\n"
	    "  12  wrong password\n"
	    "  20  security alert: the server misbehaved (rolled back or "
	    "forked the\n"
	    "      device chain, showed a device no device approved, ...)\n");
}

/* Global options may come before the command ("coffer --repo X ls"): move
 * the command to argv[1]; the options then parse as if they followed it. */
static void
hoist_command(int argc, char **argv)
{
	static const char *const valued[] = {"--repo", "-r", "--password-file",
	    "-p", "--cache-dir", "--zone", "-z", "--credential"};
	int i = 1;

	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0) {
		int takes = 0;

		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			if (strcmp(argv[i], valued[k]) == 0)
				takes = 1;
		i += 1 + takes;
	}
	if (i > 1 && i < argc && argv[i][0] != '-') {
		char *cmd = argv[i];

		memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(char *));
		argv[1] = cmd;
	}
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct gopts g = {0};
	struct cf_err err;

	if (argc < 2) {
		help(stderr);
		return EXIT_USAGE;
	}
	hoist_command(argc, argv);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		help(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("coffer %s\n", COFFER_VERSION);
		return EXIT_OK;
	}
	/* libcurl is loaded by the first cofferd store (lib/net). */
	if (cf_crypto_init(&err) != 0)
		return report(&g, &err);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		g.cmd = cmds[i].name;
		for (int j = 2; j < argc; j++)
			if (!strcmp(argv[j], "--help") ||
			    !strcmp(argv[j], "-h")) {
				printf("usage: coffer %s\n", cmds[i].usage);
				return EXIT_OK;
			}
		return cmds[i].run(&g, argc - 1, argv + 1);
	}
	return usage_error(&g, "unknown command '%s'", argv[1]);
}
