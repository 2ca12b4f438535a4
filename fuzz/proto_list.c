/*
 * proto_list.c: fuzz cf_proto_list_parse, the body of a listing as the
 * HTTP store reads it from cofferd (the server's bytes: untrusted).
 *
 *   input = the body
 * Oracle: every name handed out is a C string shorter than its buffer
 * that came from the body, with a size; the callback can stop the walk.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#include "common.h"

#define NAME_BUF 72

struct walk {
	size_t n;
	size_t stop_at;
};

static int
one(void *arg, const char *name, uint64_t size)
{
	struct walk *w = arg;

	(void)size;
	fuzz_check(strlen(name) < NAME_BUF, "listed name too long");
	return ++w->n == w->stop_at ? 7 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = (char *)fuzz_copy(data, size);
	struct walk w = {0, 0};
	int rc;

	if (size > 0)
		w.stop_at = data[0] % 8;
	rc = cf_proto_list_parse(p, size, one, &w);
	fuzz_check(rc == 0 || rc == -1 || (rc == 7 && w.n == w.stop_at),
	    "listing stopped without being asked");
	free(p);
	return 0;
}
