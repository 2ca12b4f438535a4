/*
 * blobs.c: cofferd's blob store from its flags, config file and
 * environment.  S3 settings are taken from, later ones winning: the config
 * file (--config, which must not be readable by others), the environment
 * (COFFER_S3_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY), then --blobs s3://BUCKET[/PREFIX].
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "blobs.h"

#define CONFIG_MAX (64 * 1024)

/* Read ${path} into ${buf} (CONFIG_MAX + 1): a regular file that only its
 * owner may read or write, since it holds the secret key. */
static int
read_config(const char *path, char *buf, size_t *n, struct cf_err *err)
{
	struct stat st;
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return cf_err_sys(err, "cannot open config %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cf_err_set(err, CF_EUSAGE, "config %s is not a file",
		    path);
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return cf_err_set(err, CF_EUSAGE,
		    "config %s has mode %04o: it holds S3 credentials, so it "
		    "must be 0600 or stricter (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
	}
	do
		got = read(fd, buf, CONFIG_MAX + 1);
	while (got < 0 && errno == EINTR);
	close(fd);
	if (got < 0)
		return cf_err_sys(err, "cannot read config %s", path);
	if (got > CONFIG_MAX)
		return cf_err_set(err, CF_ELIMIT,
		    "config %s: larger than %d bytes", path, CONFIG_MAX);
	*n = (size_t)got;
	return 0;
}

static int
load_file(struct cf_s3_config *c, const char *path, struct cf_err *err)
{
	char *buf = malloc(CONFIG_MAX + 1), m[sizeof(err->msg)];
	size_t n = 0;
	int rc;

	if (buf == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	if ((rc = read_config(path, buf, &n, err)) == 0 &&
	    (rc = cf_s3_config_parse(c, buf, n, err)) != 0) {
		memcpy(m, err->msg, sizeof(m));
		cf_err_set(err, CF_EUSAGE, "config %s: %s", path, m);
	}
	sodium_memzero(buf, CONFIG_MAX + 1);
	free(buf);
	return rc;
}

static int
load_env(struct cf_s3_config *c, struct cf_err *err)
{
	static const char *const vars[][2] = {
	    {"COFFER_S3_ENDPOINT", "endpoint"},
	    {"AWS_DEFAULT_REGION", "region"}, {"AWS_REGION", "region"},
	    {"AWS_ACCESS_KEY_ID", "access_key"},
	    {"AWS_SECRET_ACCESS_KEY", "secret_key"}};
	char m[sizeof(err->msg)];

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i][0]);

		if (v == NULL || *v == '\0')
			continue;
		if (cf_s3_config_set(c, vars[i][1], v, err) != 0) {
			memcpy(m, err->msg, sizeof(m));
			return cf_err_set(err, CF_EUSAGE, "$%s: %s", vars[i][0],
			    m);
		}
	}
	return 0;
}

/** cofferd_blobs_open(blobs, config, dir, err): the blob store. */
struct cf_blobs *
cofferd_blobs_open(const char *blobs, const char *config, const char *dir,
    struct cf_err *err)
{
	struct cf_s3_config c = {0};
	struct cf_blobs *b = NULL;
	char path[4096];

	if (blobs == NULL && config == NULL) {
		snprintf(path, sizeof(path), "%s/blobs", dir);
		return cf_blobs_dir_open(path, err);
	}
	if ((config == NULL || load_file(&c, config, err) == 0) &&
	    load_env(&c, err) == 0 &&
	    (blobs == NULL || cf_s3_config_url(&c, blobs, err) == 0))
		b = cf_blobs_s3_open(&c, err);
	sodium_memzero(&c, sizeof(c));
	return b;
}

/** cofferd_blobs_help(): the S3 part of 'cofferd --help'. */
/* clang-format off */
void
cofferd_blobs_help(void)
{
	printf("\nObjects in S3: --blobs s3://BUCKET[/PREFIX] keeps object bytes in an "
	       "S3 bucket\n(created if missing) instead of DIR/blobs; metadata "
	       "stays in DIR.  'admin purge'\nneeds the same flags.  Settings, "
	       "later ones winning: --config FILE, the\nenvironment, --blobs.  "
	       "FILE must be mode 0600 or stricter; its lines are\n'key = value' "
	       "('#' starts a comment):\n"
	       "  endpoint = http(s)://HOST[:PORT]   or $COFFER_S3_ENDPOINT\n"
	       "  region = us-east-1                 or $AWS_REGION\n"
	       "  access_key = ...                   or $AWS_ACCESS_KEY_ID\n"
	       "  secret_key = ...                   or $AWS_SECRET_ACCESS_KEY\n"
	       "  bucket = NAME, prefix = PATH       or --blobs s3://NAME/PATH\n"
	       "  style = path|virtual               HOST/BUCKET/KEY or "
	       "BUCKET.HOST/KEY (path)\n"
	       "  part_size_mib = 8                  larger objects go up in "
	       "parts (multipart)\n"
	       "  timeout = 30                       seconds without progress "
	       "before a retry\n"
	       "  attempts = 8                       tries per request (backoff "
	       "with jitter)\n"
	       "  memory_mib = 1024                  cap on upload and download "
	       "buffers\n");
}
/* clang-format on */
