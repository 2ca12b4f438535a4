/*
 * s3_config.c: fuzz cf_s3_config_parse, cofferd's --config file (the
 * operator's bytes, but a garbled or truncated file must be an error, not
 * a crash).
 *
 *   input = the file's bytes
 * Oracle: every text field of an accepted file is NUL-terminated inside
 * its array, and writing the settings back out as "key = \"value\"" lines
 * parses to the same settings (the parser is its own inverse).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/backend.h"
#include "util/buf.h"

#include "common.h"

#define FIELD(c, f)                                                            \
	{                                                                      \
#f, (c)->f, sizeof((c)->f)                                     \
	}

static void
write_back(const struct cf_s3_config *c, struct cf_buf *b)
{
	const struct {
		const char *name, *v;
		size_t size;
	} f[] = {FIELD(c, endpoint), FIELD(c, region), FIELD(c, bucket),
	    FIELD(c, prefix), FIELD(c, access_key), FIELD(c, secret_key)};
	char line[400];

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		fuzz_check(memchr(f[i].v, '\0', f[i].size) != NULL,
		    "a setting fills its array");
		if (f[i].v[0] == '\0')
			continue;
		snprintf(line, sizeof(line), "%s = \"%s\"\n", f[i].name,
		    f[i].v);
		cf_buf_add(b, line, strlen(line));
	}
	snprintf(line, sizeof(line), "style = %s\n",
	    c->virtual_host ? "virtual" : "path");
	cf_buf_add(b, line, strlen(line));
	if (c->part_mib != 0) {
		snprintf(line, sizeof(line), "part_size_mib = %u\n",
		    c->part_mib);
		cf_buf_add(b, line, strlen(line));
	}
	if (c->timeout_s != 0) {
		snprintf(line, sizeof(line), "timeout = %u\n", c->timeout_s);
		cf_buf_add(b, line, strlen(line));
	}
	if (c->attempts != 0) {
		snprintf(line, sizeof(line), "attempts = %u\n", c->attempts);
		cf_buf_add(b, line, strlen(line));
	}
	if (c->memory_mib != 0) {
		snprintf(line, sizeof(line), "memory_mib = %u\n",
		    c->memory_mib);
		cf_buf_add(b, line, strlen(line));
	}
}

/* Equal settings (the bytes after a string's NUL do not count). */
static int
same(const struct cf_s3_config *a, const struct cf_s3_config *b)
{
	return !strcmp(a->endpoint, b->endpoint) &&
	       !strcmp(a->region, b->region) && !strcmp(a->bucket, b->bucket) &&
	       !strcmp(a->prefix, b->prefix) &&
	       !strcmp(a->access_key, b->access_key) &&
	       !strcmp(a->secret_key, b->secret_key) &&
	       a->virtual_host == b->virtual_host &&
	       a->part_mib == b->part_mib && a->timeout_s == b->timeout_s &&
	       a->attempts == b->attempts && a->memory_mib == b->memory_mib;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cf_s3_config c = {0}, again = {0};
	struct cf_err err;
	char *text = (char *)fuzz_copy(data, size);
	struct cf_buf b;

	if (cf_s3_config_parse(&c, text, size, &err) == 0) {
		cf_buf_init(&b, 8192);
		write_back(&c, &b);
		fuzz_check(!b.failed, "settings fit 8 KiB");
		fuzz_check(cf_s3_config_parse(&again, (const char *)b.p, b.len,
		               &err) == 0,
		    "written-back settings parse");
		fuzz_check(same(&c, &again), "written-back settings differ");
		cf_buf_release(&b);
	} else {
		fuzz_check(err.msg[0] != '\0', "an error without a message");
	}
	free(text);
	return 0;
}
