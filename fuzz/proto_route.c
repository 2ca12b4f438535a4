/*
 * proto_route.c: fuzz cf_proto_route and cf_proto_repo_ok, which cofferd
 * runs on the path of every request (any client's bytes).
 *
 *   input = the path (up to its first NUL)
 * Oracles: a route's repository (and ref) name is valid, an object's name
 * is valid for its kind, a listing never names the config.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "store/store.h"

#include "common.h"

static void
check(const struct cf_route *r)
{
	if (r->kind != CF_ROUTE_OBJECT && r->kind != CF_ROUTE_LIST &&
	    r->kind != CF_ROUTE_REF)
		return;
	fuzz_check(cf_proto_repo_ok(r->repo), "bad repository routed");
	if (r->kind == CF_ROUTE_REF)
		fuzz_check(cf_proto_repo_ok(r->name), "bad ref routed");
	else
		fuzz_check(r->objkind >= 0 && r->objkind < CF_KIND_COUNT,
		    "bad kind routed");
	if (r->kind == CF_ROUTE_OBJECT)
		fuzz_check(cf_store_name_ok((enum cf_kind)r->objkind, r->name),
		    "bad object name routed");
	if (r->kind == CF_ROUTE_LIST)
		fuzz_check(r->objkind != CF_KIND_CONFIG, "config listed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_str(data, size);
	struct cf_route r;

	if (cf_proto_route(path, &r) == 0) {
		fuzz_check(r.kind != CF_ROUTE_BAD, "bad route accepted");
		check(&r);
	}
	(void)cf_proto_repo_ok(path);
	free(path);
	return 0;
}
