/*
 * proto.h: the cofferd HTTP protocol, shared by client and server; pure
 * (no I/O).  Every request but /healthz and /metrics is signed by a device's
 * Ed25519 key:
 *
 *   Authorization: Coffer-Ed25519 pk=<64 hex>,ts=<unix s>,nonce=<32 hex>,
 *                  sig=<128 hex>
 *   X-Coffer-Hash: <64 hex BLAKE2b-256 of the body>   (requests with one)
 *   signed = "coffer-v1\n" METHOD "\n" PATH?QUERY "\n" ts "\n" nonce "\n"
 *            body hash hex (the hash of the empty string without a body)
 *
 * The server accepts a timestamp within CF_PROTO_SKEW seconds and each
 * (key, nonce) once, so a captured request cannot be replayed.
 * Routes (REPO: [A-Za-z0-9._-]{1,64}, not starting with '.'; KIND: config,
 * keys, data, index, snapshots; NAME: as the store requires):
 *   GET  /healthz, /metrics
 *   POST /v1/register                       body: invitation token or empty
 *   PUT|GET|HEAD|DELETE /v1/r/REPO/o/KIND/NAME
 *   GET  /v1/r/REPO/o/KIND/?after=NAME&limit=N   ("NAME SIZE\n" lines)
 *   GET|PUT /v1/r/REPO/ref/REF                (PUT: If-Match: VERSION, or
 *                                              If-None-Match: *)
 *   POST /v1/devices                 body: "PKHEX SCOPE": add a device
 *   DELETE /v1/devices/PKHEX         the server refuses that key after
 *   GET  /v1/repos                   the account's repositories, a line each
 *   POST /v1/pair                    a pairing mailbox: answers its ID
 *   GET|PUT /v1/pair/ID/SLOT         messages; also open to keys the server
 *                                    does not know (a device being paired)
 *   DELETE /v1/pair/ID               void the mailbox
 * Parsers take attacker-controlled strings and never read past a NUL.
 */
#ifndef CF_PROTO_H
#define CF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CF_PROTO_SKEW 300
#define CF_PROTO_AUTH_MAX 400
#define CF_SIGN_SEED_BYTES 32
#define CF_SIGN_SK_BYTES 64
#define CF_SIGN_PK_BYTES 32

enum cf_route_kind {
	CF_ROUTE_BAD = 0,
	CF_ROUTE_HEALTH,
	CF_ROUTE_METRICS,
	CF_ROUTE_REGISTER,
	CF_ROUTE_OBJECT,
	CF_ROUTE_LIST,
	CF_ROUTE_REF,
	CF_ROUTE_DEVICES, /* POST /v1/devices, DELETE /v1/devices/PK */
	CF_ROUTE_REPOS,   /* GET /v1/repos */
	CF_ROUTE_PAIR,    /* POST /v1/pair, GET|PUT|DELETE /v1/pair/ID[/SLOT] */
};

struct cf_route {
	enum cf_route_kind kind;
	char repo[65];
	int objkind;   /* enum cf_kind of store.h */
	char name[72]; /* object, ref, device key hex, or pairing ID */
	char slot[17]; /* pairing message slot */
};

struct cf_auth {
	uint8_t pk[CF_SIGN_PK_BYTES];
	int64_t ts;
	uint8_t nonce[16];
	uint8_t sig[64];
};

/** cf_proto_route(path, r): parse a request path (no query). */
int cf_proto_route(const char *path, struct cf_route *r) CF_WUR;
/** cf_proto_repo_ok(s): 1 if ${s} is a valid repository name. */
int cf_proto_repo_ok(const char *s);
/** cf_proto_auth_parse(h, a): parse an Authorization header. */
int cf_proto_auth_parse(const char *h, struct cf_auth *a) CF_WUR;
/** cf_proto_auth_verify(a, method, uri, bodyhash): 0 if the signature of
 * the canonical request is valid. */
int cf_proto_auth_verify(const struct cf_auth *a, const char *method,
    const char *uri, const char bodyhash[65]) CF_WUR;
/** cf_proto_sign(sk, method, uri, ts, out, n): an Authorization header
 * value for a request whose body hashes to ${bodyhash}. */
int cf_proto_sign(const uint8_t sk[static CF_SIGN_SK_BYTES], const char *method,
    const char *uri, int64_t ts, const char bodyhash[65], char *out,
    size_t n) CF_WUR;
/** cf_proto_body_hash(p, n, out): hex BLAKE2b-256 of a body. */
void cf_proto_body_hash(const uint8_t *p, size_t n, char out[65]);
/** cf_proto_range(h, size, off, len): parse "bytes=A-B" / "bytes=A-" for an
 * object of ${size}; -1 if unsatisfiable or malformed. */
int cf_proto_range(const char *h, uint64_t size, uint64_t *off,
    uint64_t *len) CF_WUR;
/** cf_proto_list_parse(p, n, fn, arg): parse a listing body. */
int cf_proto_list_parse(const char *p, size_t n,
    int (*fn)(void *, const char *name, uint64_t size), void *arg) CF_WUR;

#endif
