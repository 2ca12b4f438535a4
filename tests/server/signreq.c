/*
 * signreq: sign one cofferd request with a device key, for the hostile
 * request tests (tests/server/raw.py sends what this prints).
 *
 *   signreq [--create] [--ts UNIX] [--hash HEX] [--body FILE]
 *           CONFIGDIR METHOD URI
 *
 * Loads CONFIGDIR/device.key (--create: make one if there is none) and
 * prints three lines: the Authorization header value, the body hash that
 * was signed (BLAKE2b-256 of FILE, of the empty body without --body, or
 * --hash verbatim) and the device's public key, all hex.
 * Exit status: 0, or 1 with one line on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "device/device.h"
#include "proto/proto.h"
#include "util/buf.h"

static int
die(const char *msg, const char *arg)
{
	fprintf(stderr, "signreq: %s%s%s\n", msg, arg ? " " : "",
	    arg ? arg : "");
	return 1;
}

static int
read_file(const char *path, struct cf_buf *b)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[65536];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		cf_buf_add(b, tmp, n);
	fclose(f);
	return b->failed ? -1 : 0;
}

int
main(int argc, char **argv)
{
	const char *pos[3], *hash = NULL, *body = NULL;
	int npos = 0, create = 0;
	int64_t ts = (int64_t)time(NULL);
	struct cf_err err = {0};
	struct cf_device *dev;
	struct cf_buf b;
	char bh[65], auth[CF_PROTO_AUTH_MAX + 1], pk[65];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--create"))
			create = 1;
		else if (!strcmp(argv[i], "--ts") && i + 1 < argc)
			ts = strtoll(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--hash") && i + 1 < argc)
			hash = argv[++i];
		else if (!strcmp(argv[i], "--body") && i + 1 < argc)
			body = argv[++i];
		else if (npos < 3 && argv[i][0] != '-')
			pos[npos++] = argv[i];
		else
			return die("bad argument", argv[i]);
	}
	if (npos != 3)
		return die("usage: signreq [--create] [--ts UNIX] [--hash HEX] "
		           "[--body FILE] CONFIGDIR METHOD URI",
		    NULL);
	if (cf_crypto_init(&err) != 0)
		return die(err.msg, NULL);
	if ((dev = cf_device_load(pos[0], create, &err)) == NULL)
		return die(err.msg, NULL);
	cf_buf_init(&b, (size_t)1 << 31);
	if (hash != NULL) {
		if (strlen(hash) != 64)
			return die("--hash takes 64 hex digits", NULL);
		memcpy(bh, hash, 65);
	} else if (body != NULL) {
		if (read_file(body, &b) != 0)
			return die("cannot read", body);
		cf_proto_body_hash(b.p, b.len, bh);
	} else {
		cf_proto_body_hash(NULL, 0, bh);
	}
	if (cf_proto_sign(dev->sk, pos[1], pos[2], ts, bh, auth,
	        sizeof(auth)) != 0)
		return die("cannot sign (URI too long?)", NULL);
	cf_hex(pk, dev->pk, 32);
	printf("%s\n%s\n%s\n", auth, bh, pk);
	cf_buf_release(&b);
	cf_device_free(dev);
	return 0;
}
