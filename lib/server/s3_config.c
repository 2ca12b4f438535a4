/*
 * s3_config.c: the settings of cofferd's S3 blob store, from "key = value"
 * text (the operator's config file) or one key at a time (the command
 * line's environment).  Pure: no I/O, no allocation.  The text is the
 * operator's, but it is still parsed with a cap on every field, so a
 * truncated or garbled file is an error naming its line, never a crash.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/backend.h"

#define CONF_MAX (64u * 1024)
#define LINE_MAX_ 1024

struct field {
	const char *name;
	size_t off, size;
};

#define TEXT(n)                                                                \
	offsetof(struct cf_s3_config, n), sizeof(((struct cf_s3_config *)0)->n)
static const struct field text_fields[] = {
    {"endpoint", TEXT(endpoint)},
    {"region", TEXT(region)},
    {"bucket", TEXT(bucket)},
    {"prefix", TEXT(prefix)},
    {"access_key", TEXT(access_key)},
    {"secret_key", TEXT(secret_key)},
};
#undef TEXT

static int
copy_text(struct cf_s3_config *cfg, const struct field *f, const char *value,
    struct cf_err *err)
{
	size_t n = strlen(value);

	if (n >= f->size)
		return cf_err_set(err, CF_EUSAGE,
		    "%s: longer than %zu characters", f->name, f->size - 1);
	memcpy((char *)cfg + f->off, value, n + 1);
	return 0;
}

static int
parse_u32(const char *key, const char *value, uint32_t lo, uint32_t hi,
    uint32_t *out, struct cf_err *err)
{
	char *end;
	unsigned long v;

	if (value[0] < '0' || value[0] > '9')
		goto bad;
	v = strtoul(value, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	return cf_err_set(err, CF_EUSAGE,
	    "%s takes a whole number from %u to %u, not '%s'", key, lo, hi,
	    value);
}

static int
bucket_ok(const char *b)
{
	size_t n = strlen(b);

	return n >= 3 && n <= 63 &&
	       strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") == n &&
	       b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

static int
check_value(const char *key, const char *value, struct cf_err *err)
{
	if (!strcmp(key, "endpoint") && strncmp(value, "http://", 7) != 0 &&
	    strncmp(value, "https://", 8) != 0)
		return cf_err_set(err, CF_EUSAGE,
		    "endpoint: http://HOST[:PORT] or https://HOST[:PORT], not "
		    "'%s'",
		    value);
	if (!strcmp(key, "endpoint") && strchr(strchr(value, ':') + 3, '/'))
		return cf_err_set(err, CF_EUSAGE,
		    "endpoint: no path after HOST[:PORT] in '%s'", value);
	if (!strcmp(key, "bucket") && !bucket_ok(value))
		return cf_err_set(err, CF_EUSAGE,
		    "bucket: 3-63 of a-z 0-9 . - (S3's rules), not '%s'",
		    value);
	if (!strcmp(key, "prefix") &&
	    (value[0] == '/' ||
	        strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	                      "WXYZ0123456789._-/") != strlen(value)))
		return cf_err_set(err, CF_EUSAGE,
		    "prefix: letters, digits and . _ - /, not starting with /: "
		    "'%s'",
		    value);
	return 0;
}

/** cf_s3_config_set(cfg, key, value, err): one setting from text. */
int
cf_s3_config_set(struct cf_s3_config *cfg, const char *key, const char *value,
    struct cf_err *err)
{
	for (size_t i = 0; i < sizeof(text_fields) / sizeof(text_fields[0]);
	     i++) {
		if (strcmp(key, text_fields[i].name) != 0)
			continue;
		if (check_value(key, value, err))
			return -1;
		return copy_text(cfg, &text_fields[i], value, err);
	}
	if (!strcmp(key, "style")) {
		if (strcmp(value, "path") && strcmp(value, "virtual"))
			return cf_err_set(err, CF_EUSAGE,
			    "style: path or virtual, not '%s'", value);
		cfg->virtual_host = !strcmp(value, "virtual");
		return 0;
	}
	if (!strcmp(key, "part_size_mib"))
		return parse_u32(key, value, 5, 1024, &cfg->part_mib, err);
	if (!strcmp(key, "timeout"))
		return parse_u32(key, value, 1, 3600, &cfg->timeout_s, err);
	if (!strcmp(key, "attempts"))
		return parse_u32(key, value, 1, 100, &cfg->attempts, err);
	if (!strcmp(key, "memory_mib"))
		return parse_u32(key, value, 16, 1u << 20, &cfg->memory_mib,
		    err);
	return cf_err_set(err, CF_EUSAGE, "unknown setting '%s'", key);
}

static char *
trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One line (NUL-terminated, no newline): blank, # comment or key = value. */
static int
parse_line(struct cf_s3_config *cfg, char *line, struct cf_err *err)
{
	char *eq, *key, *value;

	key = trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	if ((eq = strchr(key, '=')) == NULL)
		return cf_err_set(err, CF_EUSAGE, "expected 'key = value'");
	*eq = '\0';
	key = trim(key);
	value = trim(eq + 1);
	if (strlen(value) >= 2 && value[0] == '"' &&
	    value[strlen(value) - 1] == '"') {
		value[strlen(value) - 1] = '\0';
		value++;
	}
	return cf_s3_config_set(cfg, key, value, err);
}

/** cf_s3_config_parse(cfg, text, n, err): "key = value" lines. */
int
cf_s3_config_parse(struct cf_s3_config *cfg, const char *text, size_t n,
    struct cf_err *err)
{
	char line[LINE_MAX_], m[sizeof(err->msg)];
	size_t i = 0, no = 0;
	int rc = 0;

	if (n > CONF_MAX)
		return cf_err_set(err, CF_ELIMIT, "larger than %u bytes",
		    CONF_MAX);
	while (rc == 0 && i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;

		no++;
		if (len >= sizeof(line) ||
		    memchr(text + i, '\0', len) != NULL) {
			rc = cf_err_set(err, CF_EUSAGE,
			    "line %zu: too long or not text", no);
			break;
		}
		memcpy(line, text + i, len);
		line[len] = '\0';
		i += len + 1;
		if ((rc = parse_line(cfg, line, err)) != 0) {
			memcpy(m, err->msg, sizeof(m));
			cf_err_set(err, CF_EUSAGE, "line %zu: %s", no, m);
		}
	}
	sodium_memzero(line, sizeof(line)); /* may have held the secret */
	return rc;
}

/** cf_s3_config_url(cfg, url, err): bucket and prefix from s3://B[/P]. */
int
cf_s3_config_url(struct cf_s3_config *cfg, const char *url, struct cf_err *err)
{
	char b[sizeof(cfg->bucket)];
	const char *p, *slash;
	size_t n;

	if (strncmp(url, "s3://", 5) != 0)
		return cf_err_set(err, CF_EUSAGE,
		    "'%s' is not s3://BUCKET[/PREFIX]", url);
	p = url + 5;
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n >= sizeof(b))
		return cf_err_set(err, CF_EUSAGE,
		    "bucket name too long in '%s'", url);
	memcpy(b, p, n);
	b[n] = '\0';
	if (cf_s3_config_set(cfg, "bucket", b, err) != 0)
		return -1;
	return cf_s3_config_set(cfg, "prefix", slash ? slash + 1 : "", err);
}
