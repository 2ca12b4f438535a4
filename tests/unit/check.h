/*
 * check.h: the tiny harness shared by the unit tests.
 *
 * CHECK(cond) prints file:line and the failed expression, counts the
 * failure and carries on; REQUIRE(cond) does the same and stops the test at
 * once (for conditions later checks depend on).  check_done() is the exit
 * status: 0 if every check passed, 1 otherwise.
 * The other helpers read golden files, make and remove temporary folders,
 * and produce deterministic pseudo-random bytes.  All are static inline so
 * each test uses what it needs under -Wunused-function.
 */
#ifndef CF_TEST_CHECK_H
#define CF_TEST_CHECK_H

#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

static int check_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
			    __LINE__, #cond);                                  \
			check_failures++;                                      \
		}                                                              \
	} while (0)

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",         \
			    __FILE__, __LINE__, #cond);                        \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* CHECK_ERR(call, errp, want): ${call} returns -1 and sets errp->code to
 * ${want}. */
#define CHECK_ERR(call, errp, want)                                            \
	do {                                                                   \
		(errp)->code = CF_OK;                                          \
		int check_rc_ = (call);                                        \
		if (check_rc_ != -1 || (errp)->code != (want)) {               \
			fprintf(stderr,                                        \
			    "%s:%d: CHECK_ERR failed: %s: rc %d code %d (%s) " \
			    "want %d: %s\n",                                   \
			    __FILE__, __LINE__, #call, check_rc_,              \
			    (int)(errp)->code, cf_err_name((errp)->code),      \
			    (int)(want), (errp)->msg);                         \
			check_failures++;                                      \
		}                                                              \
	} while (0)

static inline int
check_done(const char *name)
{
	if (check_failures != 0) {
		fprintf(stderr, "%s: %d check(s) failed\n", name,
		    check_failures);
		return 1;
	}
	printf("%s: all checks passed\n", name);
	return 0;
}

/* A deterministic generator (splitmix64) for test data and operations. */
static inline uint64_t
test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void
test_fill(uint64_t *state, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(test_rand(state) >> 56);
}

/* test_read_file(path, n): the whole file, NUL-terminated; NULL if it
 * cannot be read. */
static inline char *
test_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len + 1)) != NULL) {
		if (fread(p, 1, (size_t)len, f) != (size_t)len) {
			free(p);
			p = NULL;
		} else {
			p[len] = '\0';
			*n = (size_t)len;
		}
	}
	fclose(f);
	return p;
}

/* test_vector_path(out, n, dir, file): ${dir}/${file}. */
static inline const char *
test_vector_path(char *out, size_t n, const char *dir, const char *file)
{
	snprintf(out, n, "%s/%s", dir, file);
	return out;
}

/* test_read_hex(path, out, n): a golden hex file: hex digits, with
 * whitespace and '#' comment lines ignored.  The bytes are malloc()ed. */
static inline uint8_t *
test_read_hex(const char *path, size_t *n)
{
	size_t len, k = 0;
	char *txt = test_read_file(path, &len);
	uint8_t *out;
	int hi = -1, comment = 0;

	if (txt == NULL || (out = malloc(len / 2 + 1)) == NULL) {
		free(txt);
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = txt[i];
		int v;

		if (c == '#')
			comment = 1;
		if (c == '\n')
			comment = 0;
		if (comment || c == ' ' || c == '\n' || c == '\t' || c == '\r')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto bad;
	free(txt);
	*n = k;
	return out;
bad:
	free(txt);
	free(out);
	return NULL;
}

/* test_write_hex(path, comment, p, n): write a golden hex file, 32 bytes a
 * line, after a '#' comment (used with --regen). */
static inline int
test_write_hex(const char *path, const char *comment, const uint8_t *p,
    size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "%s", comment);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x%s", p[i],
		    (i % 32 == 31 || i + 1 == n) ? "\n" : "");
	return fclose(f) == 0 ? 0 : -1;
}

/* test_hex_eq(p, n, want): compare bytes with a hex string; on mismatch
 * print both. */
static inline int
test_hex_eq(const uint8_t *p, size_t n, const char *want)
{
	char *got = malloc(2 * n + 1);
	int eq;

	if (got == NULL)
		return 0;
	cf_hex(got, p, n);
	eq = strcmp(got, want) == 0;
	if (!eq)
		fprintf(stderr, "  got  %s\n  want %s\n", got, want);
	free(got);
	return eq;
}

/* test_join(out, n, dir, rel): ${dir}/${rel}; the test stops if it does
 * not fit. */
static inline const char *
test_join(char *out, size_t n, const char *dir, const char *rel)
{
	REQUIRE((size_t)snprintf(out, n, "%s/%s", dir, rel) < n);
	return out;
}

static inline int
test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* test_tmpdir(out, n): a fresh folder under $TMPDIR (or /tmp). */
static inline int
test_tmpdir(char *out, size_t n)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, n, "%s/coffer-unit-XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(out) == NULL ? -1 : 0;
}

/* test_rm_rf(path): remove a folder tree made by a test. */
static inline void
test_rm_rf(const char *path)
{
	(void)nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
