/*
 * regress.c: replay fuzz inputs without libFuzzer, the way zstd's
 * regression_driver.c does.  Linked with one harness; every argument is a
 * file to run through LLVMFuzzerTestOneInput or a directory whose regular
 * files (not dot files, in name order) are all run.  A bug shows up as a
 * crash, an abort() of an oracle or a sanitizer report; exit 1 when an
 * input cannot be read or when no input was found at all.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

#define REGRESS_MAX_INPUT (64u << 20)

static int
read_input(const char *path, uint8_t **p, size_t *n)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int rc = -1;

	if (f == NULL)
		return -1;
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0 ||
	    (uint64_t)st.st_size > REGRESS_MAX_INPUT)
		goto out;
	*n = (size_t)st.st_size;
	if ((*p = malloc(*n ? *n : 1)) == NULL)
		goto out;
	if (fread(*p, 1, *n, f) != *n) {
		free(*p);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

static int
run_file(const char *path)
{
	uint8_t *p;
	size_t n;

	if (read_input(path, &p, &n) != 0) {
		fprintf(stderr, "regress: cannot read %s\n", path);
		return -1;
	}
	(void)LLVMFuzzerTestOneInput(p, n);
	free(p);
	return 0;
}

static int
run_entry(const char *dir, const char *name, size_t *count)
{
	struct stat st;
	char *path;
	int rc = 0;

	if (name[0] == '.')
		return 0;
	if ((path = malloc(strlen(dir) + strlen(name) + 2)) == NULL)
		return -1;
	sprintf(path, "%s/%s", dir, name);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = run_file(path);
		(*count)++;
	}
	free(path);
	return rc;
}

static int
run_dir(const char *dir, size_t *count)
{
	struct dirent **v;
	int n, rc = 0;

	if ((n = scandir(dir, &v, NULL, alphasort)) < 0) {
		fprintf(stderr, "regress: cannot read directory %s\n", dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = run_entry(dir, v[i]->d_name, count);
		free(v[i]);
	}
	free(v);
	return rc;
}

static int
run_arg(const char *arg, size_t *count)
{
	struct stat st;

	if (stat(arg, &st) != 0) {
		fprintf(stderr, "regress: no such input %s\n", arg);
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(arg, count);
	(*count)++;
	return run_file(arg);
}

int
main(int argc, char **argv)
{
	size_t count = 0;

	(void)LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_arg(argv[i], &count) != 0)
			return 1;
	if (count == 0) {
		fprintf(stderr,
		    "usage: %s CORPUS-DIR|FILE...: no input found\n", argv[0]);
		return 1;
	}
	printf("%s: %zu inputs replayed\n", argv[0], count);
	return 0;
}
