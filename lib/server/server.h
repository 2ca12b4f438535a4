/*
 * server.h: cofferd's HTTP server (libmicrohttpd; the only includer of
 * <microhttpd.h>).  It stores ciphertext for accounts and never holds a
 * key: every request is signed by a device key (see proto/proto.h), every
 * object is checked against its name (the hash of its bytes) as it streams
 * in, deletes are soft, and each account sees only its own namespace.
 * Thread-safety: one server runs its own threads; start/stop from one
 * thread.
 */
#ifndef CF_SERVER_H
#define CF_SERVER_H

#include <stdint.h>

#include "server/backend.h"

struct cf_server_config {
	const char *host; /* numeric IPv4 or IPv6 address */
	uint16_t port;    /* 0: any free port (see cf_server_port) */
	const char *tls_cert, *tls_key; /* PEM contents, or NULL */
	int open_registration;
	int64_t retention_s; /* soft-deleted objects kept this long */
	uint64_t quota_bytes, quota_objects;      /* for new accounts */
	uint64_t max_object;                      /* largest upload accepted */
	unsigned threads;                         /* 0: thread per connection */
	void (*log)(void *arg, const char *line); /* access log; may be NULL */
	void *log_arg;
};

struct cf_server;

/** cf_server_start(cfg, meta, blobs, err): listen and serve; the stores
 * are borrowed until cf_server_stop(). */
struct cf_server *cf_server_start(const struct cf_server_config *cfg,
    struct cf_meta *meta, struct cf_blobs *blobs, struct cf_err *err);
/** cf_server_port(s): the port it listens on. */
uint16_t cf_server_port(const struct cf_server *s);
/** cf_server_stop(s, grace_s): stop accepting, let requests in flight
 * finish for up to ${grace_s} seconds, then stop.  NULL is a no-op. */
void cf_server_stop(struct cf_server *s, int grace_s);
/** cf_server_purge(meta, blobs, before, purged, err): delete for good
 * the objects soft-deleted before ${before} (unix seconds), and pairing
 * mailboxes void, or expired more than 10 minutes ago. */
int cf_server_purge(struct cf_meta *meta, struct cf_blobs *blobs,
    int64_t before, uint64_t *purged, struct cf_err *err) CF_WUR;

#endif
