/*
 * test_s3_config: the S3 settings parser (no network): key = value text,
 * single settings, s3:// URLs, and the errors, which name the line.
 */
#include <stdio.h>
#include <string.h>

#include "../unit/check.h"
#include "server/backend.h"

static int
parse(struct cf_s3_config *c, const char *text, struct cf_err *err)
{
	memset(c, 0, sizeof(*c));
	return cf_s3_config_parse(c, text, strlen(text), err);
}

static void
test_good(void)
{
	struct cf_s3_config c;
	struct cf_err err;

	CHECK(parse(&c,
	          "# cofferd S3\n"
	          "endpoint = http://127.0.0.1:7480\r\n"
	          "\n"
	          "  region=eu-west-1  \n"
	          "bucket = my-bucket\n"
	          "prefix = coffer/prod\n"
	          "access_key = AKIA\n"
	          "secret_key = \"s3cr=t with spaces\"\n"
	          "style = virtual\n"
	          "part_size_mib = 16\n"
	          "timeout = 5\n"
	          "memory_mib = 256\n"
	          "attempts = 3",
	          &err) == 0);
	CHECK(!strcmp(c.endpoint, "http://127.0.0.1:7480"));
	CHECK(!strcmp(c.region, "eu-west-1"));
	CHECK(!strcmp(c.bucket, "my-bucket"));
	CHECK(!strcmp(c.prefix, "coffer/prod"));
	CHECK(!strcmp(c.access_key, "AKIA"));
	CHECK(!strcmp(c.secret_key, "s3cr=t with spaces"));
	CHECK(c.virtual_host == 1 && c.part_mib == 16 && c.timeout_s == 5 &&
	      c.attempts == 3 && c.memory_mib == 256);
	CHECK(parse(&c, "", &err) == 0);
	CHECK(parse(&c, "\n\n# only comments\n", &err) == 0);
}

static void
bad(const char *text, const char *want)
{
	struct cf_s3_config c;
	struct cf_err err = {0};

	CHECK_ERR(parse(&c, text, &err), &err, CF_EUSAGE);
	if (strstr(err.msg, want) == NULL) {
		fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, want);
		check_failures++;
	}
}

static void
test_bad(void)
{
	bad("bucket = ok-name\nnonsense\n", "line 2: expected 'key = value'");
	bad("colour = blue\n", "line 1: unknown setting 'colour'");
	bad("\n\nbucket = B1\n", "line 3: bucket: 3-63");
	bad("bucket = ab\n", "bucket: 3-63");
	bad("endpoint = ftp://x\n", "endpoint: http://");
	bad("endpoint = http://host/path\n", "no path");
	bad("style = sideways\n", "style: path or virtual");
	bad("part_size_mib = 4\n", "part_size_mib takes a whole number from 5");
	bad("timeout = -1\n", "timeout takes");
	bad("attempts = 3x\n", "attempts takes");
	bad("memory_mib = 8\n", "memory_mib takes a whole number from 16");
	bad("prefix = /abs\n", "prefix:");
	bad("prefix = a b\n", "prefix:");
	bad("bucket = a\0b\n", "line 1"); /* strlen cuts: "bucket = a" */
}

static void
test_limits(void)
{
	struct cf_s3_config c = {0};
	struct cf_err err;
	char big[2000], nul[] = "bucket = abc\0def\n";

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_ERR(parse(&c, big, &err), &err, CF_EUSAGE); /* line too long */
	CHECK(strstr(err.msg, "line 1: too long") != NULL);
	CHECK_ERR(cf_s3_config_parse(&c, nul, sizeof(nul) - 1, &err), &err,
	    CF_EUSAGE);
	CHECK_ERR(cf_s3_config_parse(&c, big, 70000, &err), &err, CF_ELIMIT);
	memset(big, 'k', 200);
	big[200] = '\0';
	CHECK_ERR(cf_s3_config_set(&c, "secret_key", big, &err), &err,
	    CF_EUSAGE);
	CHECK(strstr(err.msg, "longer than 127") != NULL);
}

static void
test_url(void)
{
	struct cf_s3_config c = {0};
	struct cf_err err;

	CHECK(cf_s3_config_url(&c, "s3://bucket-1", &err) == 0);
	CHECK(!strcmp(c.bucket, "bucket-1") && c.prefix[0] == '\0');
	CHECK(cf_s3_config_url(&c, "s3://bucket-2/some/prefix", &err) == 0);
	CHECK(!strcmp(c.bucket, "bucket-2") &&
	      !strcmp(c.prefix, "some/prefix"));
	CHECK_ERR(cf_s3_config_url(&c, "http://bucket", &err), &err, CF_EUSAGE);
	CHECK_ERR(cf_s3_config_url(&c, "s3://", &err), &err, CF_EUSAGE);
	CHECK_ERR(cf_s3_config_url(&c, "s3://UPPER", &err), &err, CF_EUSAGE);
}

int
main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_url();
	return check_done("test_s3_config");
}
