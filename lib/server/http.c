/*
 * http.c: cofferd's request handling on libmicrohttpd.
 *
 * Every request is checked before anything is stored: route, signature,
 * timestamp window, replay nonce, device, account state, scope, size and
 * quota.  Uploads stream into the blob store while their BLAKE2b hash is
 * computed; only a body that hashes to the object's name (and to the signed
 * X-Coffer-Hash) is committed.  Responses never carry more than status,
 * sizes and ciphertext.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "proto/proto.h"
#include "server/server.h"
#include "store/store.h"
#include "util/buf.h"

#define SMALL_BODY_MAX 65536
/* Uploads in flight per account: each holds a blob store buffer (4 MiB
 * for the folder store) until it ends or times out, so one account must
 * not hold them all.  Above any honest use (20 clients of one account,
 * two uploads each); the excess gets 503 and is retried. */
#define UPLOADS_PER_ACCOUNT 64
/* Pairing mailboxes an account may hold: one per device being paired, and
 * each holds up to 40 messages of 4 KiB that no quota counts. */
#define PAIR_PER_ACCOUNT 8
/* Pairing mailboxes live as refs of the pseudo-account 0, repository
 * "_pair": "ID" holds "OWNER EXPIRES" (or "void OWNER EXPIRES"), "ID.SLOT"
 * a message.  A mailbox, void or not, counts against its owner's
 * PAIR_PER_ACCOUNT until PAIR_TTL after it expired; then the hourly purge
 * forgets it and its messages (until then its peer is told 410, not
 * 404). */
#define PAIR_TTL 600
#define CONN_MAX 1000
#define LIST_MAX 10000

struct metrics {
	atomic_ullong requests, errors4, errors5, auth_fail, replays;
	atomic_ullong bytes_in, bytes_out, puts, gets, deletes, lists;
	atomic_ullong active, uploads;
};

struct cf_server {
	struct MHD_Daemon *d;
	struct cf_server_config cfg;
	struct cf_meta *meta;
	struct cf_blobs *blobs;
	struct metrics m;
	char *cert, *key;
	pthread_mutex_t upmu;
	struct {
		int64_t account;
		int n; /* 0: a free entry */
	} up[CONN_MAX];
};

struct req {
	struct cf_route route;
	struct cf_device_row dev;
	int authed, done, status;
	const char *fail; /* set once a reply is decided during upload */
	char bodyhash[65];
	/* uploads */
	struct cf_blobw *w;
	crypto_generichash_state hs;
	uint64_t got, expect;
	char blob[CF_BLOBKEY_MAX];
	struct cf_buf small;
	enum cf_put_state state;
	struct timespec t0;
	uint64_t out;
	uint8_t pk[32];
	int started, uri_too_long, joiner, uploading;
	int retry_after; /* seconds, for a Retry-After header; 0: none */
	char method[8];
	char url[1024]; /* raw, with the query: what the client signed */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Count an upload of ${q}'s account in; 0 if it may go on. */
static int
upload_take(struct cf_server *s, struct req *q)
{
	int64_t a = q->dev.account;
	int mine = -1, free_i = -1, rc = -1;

	pthread_mutex_lock(&s->upmu);
	for (int i = 0; i < CONN_MAX && mine < 0; i++) {
		if (s->up[i].n > 0 && s->up[i].account == a)
			mine = i;
		else if (s->up[i].n == 0 && free_i < 0)
			free_i = i;
	}
	if (mine < 0 && free_i >= 0) { /* one entry per connection: found */
		mine = free_i;
		s->up[mine].account = a;
	}
	if (mine >= 0 && s->up[mine].n < UPLOADS_PER_ACCOUNT) {
		s->up[mine].n++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->upmu);
	q->uploading = rc == 0;
	if (rc == 0)
		s->m.uploads++;
	return rc;
}

static void
upload_give(struct cf_server *s, struct req *q)
{
	if (!q->uploading)
		return;
	q->uploading = 0;
	s->m.uploads--;
	pthread_mutex_lock(&s->upmu);
	for (int i = 0; i < CONN_MAX; i++) {
		if (s->up[i].n > 0 && s->up[i].account == q->dev.account) {
			s->up[i].n--;
			break;
		}
	}
	pthread_mutex_unlock(&s->upmu);
}

static enum MHD_Result
reply(struct MHD_Connection *c, struct req *q, int status, const char *type,
    const void *body, size_t n)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n,
	    (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (r == NULL)
		return MHD_NO;
	if (type != NULL)
		MHD_add_response_header(r, "Content-Type", type);
	if (q->retry_after > 0) {
		char ra[24];

		snprintf(ra, sizeof(ra), "%d", q->retry_after);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	q->status = status;
	q->out = n;
	q->done = 1;
	rc = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
reply_err(struct MHD_Connection *c, struct req *q, int status, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "%s\n", msg);

	return reply(c, q, status, "text/plain", body, (size_t)n);
}

static const char *
header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Verify the signature, the time window and the nonce; fills q->dev. */
static int
authenticate(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method, const char *url, const char **why)
{
	const char *h = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *bh = header(c, "X-Coffer-Hash");
	struct cf_err err = {0};
	struct cf_auth a;
	char uri[2048];
	int64_t t = now_s();
	int rc;

	*why = "missing or malformed signature";
	if (h == NULL || cf_proto_auth_parse(h, &a) != 0)
		return 401;
	if (bh == NULL)
		cf_proto_body_hash(NULL, 0, q->bodyhash);
	else if (strlen(bh) != 64 || strspn(bh, "0123456789abcdef") != 64)
		return 400;
	else
		memcpy(q->bodyhash, bh, 65);
	(void)url;
	snprintf(uri, sizeof(uri), "%s", q->url);
	*why = "request signature or time invalid";
	if (a.ts < t - CF_PROTO_SKEW || a.ts > t + CF_PROTO_SKEW ||
	    cf_proto_auth_verify(&a, method, uri, q->bodyhash) != 0)
		return 401;
	rc = s->meta->ops->nonce_use(s->meta, a.pk, a.nonce,
	    a.ts + CF_PROTO_SKEW, &err);
	*why = rc == 1 ? "replayed request" : "metadata store unavailable";
	if (rc != 0) {
		if (rc == 1)
			s->m.replays++;
		return rc == 1 ? 401 : 503;
	}
	memcpy(q->pk, a.pk, 32);
	if (q->route.kind == CF_ROUTE_REGISTER)
		return 0; /* the device is new: its key proved possession */
	rc = s->meta->ops->device_get(s->meta, a.pk, &q->dev, &err);
	if (rc == 1 && q->route.kind == CF_ROUTE_PAIR) {
		q->joiner = 1; /* a device being paired: mailbox access only */
		return 0;
	}
	*why = rc == 1 ? "unknown device"
	       : rc    ? "metadata store unavailable"
	               : "account disabled";
	if (rc != 0)
		return rc == 1 ? 403 : 503;
	return q->dev.disabled ? 403 : 0;
}

struct dl {
	struct cf_server *s;
	struct cf_blobr *r;
	uint64_t off;
};

static ssize_t
dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dl *d = cls;
	struct cf_err err;
	long n = d->s->blobs->ops->read(d->r, d->off + pos, (uint8_t *)buf, max,
	    &err);

	if (n <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	d->s->m.bytes_out += (unsigned long long)n;
	return (ssize_t)n;
}

static void
dl_free(void *cls)
{
	struct dl *d = cls;

	d->s->blobs->ops->read_close(d->r);
	free(d);
}

static enum MHD_Result
object_get(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const struct cf_route *r = &q->route;
	const char *range = header(c, MHD_HTTP_HEADER_RANGE);
	struct MHD_Response *resp;
	uint64_t size, bsize, off = 0, len;
	struct cf_err err = {0};
	struct dl *d;
	char cr[96];
	int rc, status = 200;

	rc = s->meta->ops->object_get(s->meta, q->dev.account, r->repo,
	    r->objkind, r->name, &size, q->blob, &err);
	if (rc != 0)
		return rc == 1
		           ? reply_err(c, q, 404, "no such object")
		           : reply_err(c, q, 503, "metadata store unavailable");
	len = size;
	if (range != NULL) {
		if (cf_proto_range(range, size, &off, &len) != 0) {
			snprintf(cr, sizeof(cr), "bytes */%llu",
			    (unsigned long long)size);
			return reply_err(c, q, 416, "range not satisfiable");
		}
		status = 206;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return reply_err(c, q, 503, "out of memory");
	d->s = s;
	d->off = off;
	d->r =
	    s->blobs->ops->read_open(s->blobs, q->blob, off, len, &bsize, &err);
	if (d->r == NULL || bsize != size) {
		int down = d->r == NULL &&
		           (err.code == CF_ENET || err.code == CF_ENOMEM);

		if (d->r != NULL)
			s->blobs->ops->read_close(d->r);
		free(d);
		if (down)
			return reply_err(c, q, 503, "blob store unavailable");
		return reply_err(c, q, 500, "object bytes unavailable");
	}
	resp = MHD_create_response_from_callback(len, 256 * 1024, dl_read, d,
	    dl_free);
	if (resp == NULL) {
		dl_free(d);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Accept-Ranges", "bytes");
	MHD_add_response_header(resp, "Content-Type",
	    "application/octet-stream");
	if (status == 206) {
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
		    (unsigned long long)off,
		    (unsigned long long)(off + len - 1),
		    (unsigned long long)size);
		MHD_add_response_header(resp, "Content-Range", cr);
	}
	q->status = status;
	q->out = len;
	q->done = 1;
	s->m.gets++;
	rc = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return (enum MHD_Result)rc;
}

static int
parse_length(const char *h, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (h == NULL || *h < '0' || *h > '9')
		return -1;
	x = strtoull(h, &end, 10);
	if (*end != '\0')
		return -1;
	*v = x;
	return 0;
}

/* First call of an object PUT: decide whether to take the body. */
static enum MHD_Result
put_start(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const struct cf_route *r = &q->route;
	struct cf_err err = {0};
	uint64_t size;

	if (parse_length(header(c, MHD_HTTP_HEADER_CONTENT_LENGTH), &size))
		return reply_err(c, q, 411, "Content-Length required");
	if (size > s->cfg.max_object)
		return reply_err(c, q, 413, "object too large");
	if (header(c, "X-Coffer-Hash") == NULL)
		return reply_err(c, q, 400, "X-Coffer-Hash required");
	if (r->objkind != CF_KIND_CONFIG && strcmp(q->bodyhash, r->name) != 0)
		return reply_err(c, q, 400, "object name is not its hash");
	if (s->meta->ops->put_begin(s->meta, q->dev.account, r->repo,
	        r->objkind, r->name, size, &q->state, &err) != 0)
		return reply_err(c, q, 503, "metadata store unavailable");
	if (q->state == CF_PUT_EXISTS && r->objkind == CF_KIND_CONFIG)
		return reply_err(c, q, 412, "object exists");
	if (q->state == CF_PUT_EXISTS)
		return reply(c, q, 200, NULL, "", 0);
	if (q->state == CF_PUT_QUOTA)
		return reply_err(c, q, 507, "quota exceeded");
	if (q->state == CF_PUT_CONFLICT)
		return reply_err(c, q, 409, "object exists with other content");
	q->expect = size;
	cf_blob_key(q->blob, q->dev.account, r->repo, r->objkind, r->name);
	if (upload_take(s, q) != 0)
		return reply_err(c, q, 503,
		    "too many uploads in flight for this account");
	if ((q->w = s->blobs->ops->write_open(s->blobs, q->blob, &err)) ==
	    NULL) {
		upload_give(s, q);
		return reply_err(c, q, 503, "blob store unavailable");
	}
	crypto_generichash_init(&q->hs, NULL, 0, 32);
	return MHD_YES;
}

static void
put_data(struct cf_server *s, struct req *q, const char *p, size_t n)
{
	struct cf_err err = {0};

	s->m.bytes_in += n;
	if (q->fail != NULL)
		return;
	if (n > q->expect - q->got) {
		q->fail = "body longer than Content-Length";
		q->status = 400;
		return;
	}
	q->got += n;
	crypto_generichash_update(&q->hs, (const uint8_t *)p, n);
	if (s->blobs->ops->write(q->w, (const uint8_t *)p, n, &err) != 0) {
		q->fail = "blob store write failed";
		q->status = 503;
	}
}

static enum MHD_Result
put_finish(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const struct cf_route *r = &q->route;
	struct cf_err err = {0};
	char hex[65], old[CF_BLOBKEY_MAX];
	uint8_t h[32];
	struct cf_blobw *w = q->w;

	q->w = NULL;
	crypto_generichash_final(&q->hs, h, 32);
	cf_hex(hex, h, 32);
	if (q->fail == NULL && q->got != q->expect) {
		q->fail = "body shorter than Content-Length";
		q->status = 400;
	}
	if (q->fail == NULL && strcmp(hex, q->bodyhash) != 0) {
		q->fail = "body does not match its hash";
		q->status = 400;
	}
	if (q->fail != NULL) {
		s->blobs->ops->write_abort(w);
		return reply_err(c, q, q->status, q->fail);
	}
	if (s->blobs->ops->write_commit(w, &err) != 0)
		return reply_err(c, q, 503, "blob store unavailable");
	if (s->meta->ops->put_commit(s->meta, q->dev.account, r->repo,
	        r->objkind, r->name, q->got, q->blob, now_s(), &q->state, old,
	        &err) != 0) {
		(void)s->blobs->ops->del(s->blobs, q->blob, &err);
		return reply_err(c, q, 503, "metadata store unavailable");
	}
	if (q->state != CF_PUT_NEW)
		(void)s->blobs->ops->del(s->blobs, q->blob, &err);
	if (old[0] != '\0')
		(void)s->blobs->ops->del(s->blobs, old, &err);
	if (q->state == CF_PUT_QUOTA)
		return reply_err(c, q, 507, "quota exceeded");
	if (q->state == CF_PUT_CONFLICT)
		return reply_err(c, q, 409, "object exists with other content");
	/* a config uploaded meanwhile by another request: not this one */
	if (q->state == CF_PUT_EXISTS && r->objkind == CF_KIND_CONFIG)
		return reply_err(c, q, 412, "object exists");
	s->m.puts++;
	return reply(c, q, q->state == CF_PUT_NEW ? 201 : 200, NULL, "", 0);
}

static enum MHD_Result
object_delete(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const struct cf_route *r = &q->route;
	struct cf_err err = {0};
	int rc;

	if (q->dev.scope & CF_SCOPE_APPEND_ONLY)
		return reply_err(c, q, 403, "this device may not delete");
	rc = s->meta->ops->object_delete(s->meta, q->dev.account, r->repo,
	    r->objkind, r->name, now_s(), &err);
	if (rc < 0)
		return reply_err(c, q, 503, "metadata store unavailable");
	if (rc == 1)
		return reply_err(c, q, 404, "no such object");
	s->m.deletes++;
	return reply(c, q, 204, NULL, "", 0);
}

static enum MHD_Result
object_list(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const char *after =
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	const char *lim =
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	struct cf_object_row *rows;
	struct cf_err err = {0};
	struct cf_buf b;
	uint64_t limit = 1000;
	size_t n;
	enum MHD_Result rc;

	if ((after != NULL && strlen(after) > 71) ||
	    (lim != NULL &&
	        (parse_length(lim, &limit) || limit == 0 || limit > LIST_MAX)))
		return reply_err(c, q, 400, "bad after or limit");
	if ((rows = calloc((size_t)limit, sizeof(*rows))) == NULL)
		return reply_err(c, q, 503, "out of memory");
	if (s->meta->ops->object_list(s->meta, q->dev.account, q->route.repo,
	        q->route.objkind, after ? after : "", rows, (size_t)limit, &n,
	        &err) != 0) {
		free(rows);
		return reply_err(c, q, 503, "metadata store unavailable");
	}
	cf_buf_init(&b, (size_t)limit * 96 + 1);
	for (size_t i = 0; i < n; i++) {
		char line[96];
		int len = snprintf(line, sizeof(line), "%s %llu\n",
		    rows[i].name, (unsigned long long)rows[i].size);

		cf_buf_add(&b, line, (size_t)len);
	}
	free(rows);
	s->m.lists++;
	rc =
	    reply(c, q, 200, "text/plain", b.p ? (const char *)b.p : "", b.len);
	cf_buf_release(&b);
	return rc;
}

static enum MHD_Result
ref_get(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	uint8_t *val = malloc(SMALL_BODY_MAX);
	struct MHD_Response *resp;
	struct cf_err err = {0};
	uint64_t version;
	char etag[32];
	size_t n;
	int rc;

	if (val == NULL)
		return reply_err(c, q, 503, "out of memory");
	rc = s->meta->ops->ref_get(s->meta, q->dev.account, q->route.repo,
	    q->route.name, val, SMALL_BODY_MAX, &n, &version, &err);
	if (rc != 0) {
		free(val);
		return rc == 1
		           ? reply_err(c, q, 404, "no such ref")
		           : reply_err(c, q, 503, "metadata store unavailable");
	}
	resp = MHD_create_response_from_buffer(n, val, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(val);
		return MHD_NO;
	}
	snprintf(etag, sizeof(etag), "%llu", (unsigned long long)version);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	q->status = 200;
	q->out = n;
	q->done = 1;
	rc = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return (enum MHD_Result)rc;
}

static enum MHD_Result
ref_put(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	const char *im = header(c, MHD_HTTP_HEADER_IF_MATCH);
	const char *inm = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
	struct cf_err err = {0};
	uint64_t expect, version;
	char hex[65], etag[32];
	int rc;

	cf_proto_body_hash(q->small.p, q->small.len, hex);
	if (strcmp(hex, q->bodyhash) != 0)
		return reply_err(c, q, 400, "body does not match its hash");
	if (inm != NULL && strcmp(inm, "*") == 0)
		expect = 0;
	else if (im == NULL || parse_length(im, &expect) || expect == 0)
		return reply_err(c, q, 428,
		    "If-Match: VERSION or If-None-Match: * "
		    "required");
	if (expect != 0 && (q->dev.scope & CF_SCOPE_APPEND_ONLY))
		return reply_err(c, q, 403, "this device may not change refs");
	rc = s->meta->ops->ref_cas(s->meta, q->dev.account, q->route.repo,
	    q->route.name, expect, q->small.p ? q->small.p : (uint8_t *)"",
	    q->small.len, &version, &err);
	if (rc < 0)
		return reply_err(c, q, 503, "metadata store unavailable");
	if (rc == 1)
		return reply_err(c, q, 412, "ref changed meanwhile");
	if (rc == 2)
		return reply_err(c, q, 507, "too many refs");
	snprintf(etag, sizeof(etag), "%llu", (unsigned long long)version);
	return reply(c, q, 200, "text/plain", etag, strlen(etag));
}

static enum MHD_Result
do_register(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	struct cf_device_row dev;
	struct cf_err err = {0};
	uint8_t tok[32], hash[32];
	char hex[65], body[64];
	int64_t account;
	int rc;

	cf_proto_body_hash(q->small.p, q->small.len, hex);
	if (strcmp(hex, q->bodyhash) != 0)
		return reply_err(c, q, 400, "body does not match its hash");
	if (s->meta->ops->device_get(s->meta, q->pk, &dev, &err) == 0)
		return reply_err(c, q, 409, "device already registered");
	if (q->small.len == 0 && !s->cfg.open_registration)
		return reply_err(c, q, 403, "an invitation is required");
	if (q->small.len != 0) {
		char t[65];

		if (q->small.len != 32) /* 16 bytes as hex */
			return reply_err(c, q, 403,
			    "invitation unknown, used or expired");
		memcpy(t, q->small.p, 32);
		t[32] = '\0';
		if (cf_unhex(tok, 16, t) != 0)
			return reply_err(c, q, 403,
			    "invitation unknown, used or expired");
		cf_crypto_hash(tok, 16, hash);
	}
	rc = s->meta->ops->register_device(s->meta, q->small.len ? hash : NULL,
	    q->pk, s->cfg.quota_bytes, s->cfg.quota_objects, now_s(), &account,
	    &err);
	if (rc < 0)
		return reply_err(c, q, 503, "metadata store unavailable");
	if (rc == 1)
		return reply_err(c, q, 403,
		    "invitation unknown, used or expired");
	q->dev.account = account;
	snprintf(body, sizeof(body), "%lld\n", (long long)account);
	return reply(c, q, 201, "text/plain", body, strlen(body));
}

static enum MHD_Result
metrics(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	char b[2048];
	int n = snprintf(b, sizeof(b),
	    "# TYPE cofferd_requests_total counter\n"
	    "cofferd_requests_total %llu\n"
	    "cofferd_responses_4xx_total %llu\n"
	    "cofferd_responses_5xx_total %llu\n"
	    "cofferd_auth_failures_total %llu\n"
	    "cofferd_replays_refused_total %llu\n"
	    "cofferd_bytes_received_total %llu\n"
	    "cofferd_bytes_sent_total %llu\n"
	    "cofferd_objects_stored_total %llu\n"
	    "cofferd_objects_read_total %llu\n"
	    "cofferd_objects_deleted_total %llu\n"
	    "cofferd_lists_total %llu\n"
	    "# TYPE cofferd_requests_active gauge\n"
	    "cofferd_requests_active %llu\n"
	    "# TYPE cofferd_uploads_active gauge\n"
	    "cofferd_uploads_active %llu\n",
	    s->m.requests, s->m.errors4, s->m.errors5, s->m.auth_fail,
	    s->m.replays, s->m.bytes_in, s->m.bytes_out, s->m.puts, s->m.gets,
	    s->m.deletes, s->m.lists, s->m.active, s->m.uploads);

	return reply(c, q, 200, "text/plain; version=0.0.4", b, (size_t)n);
}

static enum MHD_Result
devices(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method)
{
	struct cf_err err = {0};
	uint8_t pk[32];
	char hex[65], body[160], zone[65], extra;
	unsigned scope = 0;
	int rc, fields;

	if (s->meta->ops->device_add == NULL)
		return reply_err(c, q, 501,
		    "not supported by this metadata store");
	if (q->dev.scope & CF_SCOPE_APPEND_ONLY)
		return reply_err(c, q, 403,
		    "this device may not manage devices");
	cf_proto_body_hash(q->small.p, q->small.len, hex);
	if (strcmp(hex, q->bodyhash) != 0)
		return reply_err(c, q, 400, "body does not match its hash");
	if (strcmp(method, "DELETE") == 0) {
		if (cf_unhex(pk, 32, q->route.name) != 0)
			return reply_err(c, q, 400, "bad device key");
		rc = s->meta->ops->device_remove(s->meta, q->dev.account, pk,
		    &err);
		return rc < 0
		           ? reply_err(c, q, 503, "metadata store unavailable")
		       : rc ? reply_err(c, q, 404, "no such device")
		            : reply(c, q, 204, NULL, "", 0);
	}
	if (q->route.name[0] != '\0' || q->small.len >= sizeof(body))
		return reply_err(c, q, 400,
		    "POST /v1/devices with PK SCOPE [ZONE]");
	if (q->small.len > 0) /* small.p is NULL for an empty body */
		memcpy(body, q->small.p, q->small.len);
	body[q->small.len] = '\0';
	/* "PK SCOPE" or "PK SCOPE ZONE": the key may use only that
	 * repository (a write-only credential, bound to its zone) */
	zone[0] = '\0';
	fields = sscanf(body, "%64s %u %64s %c", hex, &scope, zone, &extra);
	if ((fields != 2 && fields != 3) || cf_unhex(pk, 32, hex) != 0 ||
	    scope > CF_SCOPE_APPEND_ONLY ||
	    (fields == 3 && !cf_proto_repo_ok(zone)))
		return reply_err(c, q, 400,
		    "POST /v1/devices with PK SCOPE [ZONE]");
	rc = s->meta->ops->device_add(s->meta, q->dev.account, pk, scope, zone,
	    now_s(), &err);
	return rc < 0 ? reply_err(c, q, 503, "metadata store unavailable")
	       : rc == 1
	           ? reply_err(c, q, 409, "key belongs to another account")
	       : rc ? reply_err(c, q, 409,
	                  "key is a device already, with another scope or zone")
	            : reply(c, q, 201, NULL, "", 0);
}

static int
add_line(void *arg, const char *name)
{
	struct cf_buf *b = arg;

	cf_buf_add(b, name, strlen(name));
	cf_buf_add_u8(b, '\n');
	return 0;
}

static enum MHD_Result
repos(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	struct cf_err err = {0};
	struct cf_buf b;
	enum MHD_Result rc;

	if (s->meta->ops->repo_list == NULL)
		return reply_err(c, q, 501,
		    "not supported by this metadata store");
	cf_buf_init(&b, 1u << 20);
	if (s->meta->ops->repo_list(s->meta, q->dev.account, add_line, &b,
	        &err) != 0) {
		cf_buf_release(&b);
		return reply_err(c, q, 503, "metadata store unavailable");
	}
	rc = reply(c, q, 200, "text/plain", b.p ? (char *)b.p : "", b.len);
	cf_buf_release(&b);
	return rc;
}

/* A mailbox's value: 0 and its owner, expiry and whether it is void, or
 * -1 if it is none the server wrote. */
static int
pair_value(const uint8_t *v, size_t n, long long *owner, long long *exp,
    int *is_void)
{
	char text[64];
	int skip;

	if (n >= sizeof(text))
		return -1;
	memcpy(text, v, n);
	text[n] = '\0';
	*is_void = strncmp(text, "void ", 5) == 0;
	skip = *is_void ? 5 : 0;
	return sscanf(text + skip, "%lld %lld", owner, exp) == 2 ? 0 : -1;
}

/* 0 and the owner and value of live mailbox ${id}; 1 if there is none, 2
 * if it is void or expired, -1 on a store error. */
static int
mailbox(struct cf_server *s, const char *id, int64_t *owner, uint64_t *ver,
    char val[static 64], struct cf_err *err)
{
	uint8_t v[64];
	size_t n;
	long long o, exp;
	int rc = s->meta->ops->ref_get(s->meta, 0, "_pair", id, v, sizeof(v),
	    &n, ver, err);
	int is_void;

	if (rc != 0)
		return rc;
	if (pair_value(v, n, &o, &exp, &is_void) != 0 || is_void ||
	    exp < now_s())
		return 2;
	memcpy(val, v, n);
	val[n] = '\0';
	*owner = o;
	return 0;
}

struct paircount {
	int64_t account, now;
	int n;
};

static int
pair_count_one(void *arg, const char *name, const uint8_t *v, size_t n)
{
	struct paircount *pc = arg;
	long long owner, exp;
	int is_void;

	if (strchr(name, '.') == NULL &&
	    pair_value(v, n, &owner, &exp, &is_void) == 0 &&
	    owner == pc->account && exp + PAIR_TTL >= pc->now)
		pc->n++;
	return 0;
}

static enum MHD_Result
pair_create(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	struct cf_err err = {0};
	char id[16], val[64];
	uint64_t ver;
	uint32_t r;
	int rc = 1;

	if (q->joiner || (q->dev.scope & CF_SCOPE_APPEND_ONLY))
		return reply_err(c, q, 403, "this device may not pair devices");
	snprintf(val, sizeof(val), "%lld %lld", (long long)q->dev.account,
	    (long long)(now_s() + PAIR_TTL));
	for (int i = 0; i < 8 && rc == 1; i++) {
		cf_crypto_random(&r, sizeof(r));
		snprintf(id, sizeof(id), "%08u", r % 100000000u);
		rc = s->meta->ops->ref_cas(s->meta, 0, "_pair", id, 0,
		    (const uint8_t *)val, strlen(val), &ver, &err);
	}
	if (rc != 0)
		return reply_err(c, q, 503, "cannot create a mailbox");
	/* Counted once it exists: of mailboxes made at once (from other
	 * processes too), each count sees every one made before it, so no
	 * more than PAIR_PER_ACCOUNT stay, however the requests race.  One
	 * over is deleted (if that fails, the purge forgets it). */
	if (s->meta->ops->ref_list != NULL &&
	    s->meta->ops->ref_delete != NULL) {
		struct paircount pc = {q->dev.account, now_s(), 0};

		rc = s->meta->ops->ref_list(s->meta, 0, "_pair", 1,
		    pair_count_one, &pc, &err);
		if (rc != 0 || pc.n > PAIR_PER_ACCOUNT)
			(void)s->meta->ops->ref_delete(s->meta, 0, "_pair", id,
			    &err);
		if (rc != 0)
			return reply_err(c, q, 503,
			    "metadata store unavailable");
		if (pc.n > PAIR_PER_ACCOUNT) {
			q->retry_after = 2 * PAIR_TTL; /* not for a client */
			return reply_err(c, q, 429,
			    "too many pairings: try again in 20 minutes");
		}
	}
	return reply(c, q, 201, "text/plain", id, strlen(id));
}

static enum MHD_Result
pair_msg(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method)
{
	struct cf_err err = {0};
	uint8_t *val;
	char name[96], hex[65];
	uint64_t ver;
	int64_t owner = 0;
	size_t n;
	char mv[64];
	int rc = mailbox(s, q->route.name, &owner, &ver, mv, &err);

	if (rc < 0)
		return reply_err(c, q, 503, "metadata store unavailable");
	if (rc == 1)
		return reply_err(c, q, 404, "no such mailbox");
	if (rc == 2)
		return reply_err(c, q, 410, "pairing void or expired");
	if (!q->joiner && q->dev.account != owner)
		return reply_err(c, q, 404, "no such mailbox");
	if (q->joiner &&
	    (strcmp(method, "PUT") == 0) != (q->route.slot[0] == 'b'))
		return reply_err(c, q, 403, "not this side's message");
	snprintf(name, sizeof(name), "%s.%s", q->route.name, q->route.slot);
	if (strcmp(method, "PUT") == 0) {
		cf_proto_body_hash(q->small.p, q->small.len, hex);
		if (strcmp(hex, q->bodyhash) != 0 || q->small.len > 4096)
			return reply_err(c, q, 400, "bad message");
		rc = s->meta->ops->ref_cas(s->meta, 0, "_pair", name, 0,
		    q->small.p ? q->small.p : (const uint8_t *)"", q->small.len,
		    &ver, &err);
		return rc < 0
		           ? reply_err(c, q, 503, "metadata store unavailable")
		       : rc ? reply_err(c, q, 412, "message already sent")
		            : reply(c, q, 201, NULL, "", 0);
	}
	if ((val = malloc(4096)) == NULL)
		return reply_err(c, q, 503, "out of memory");
	rc = s->meta->ops->ref_get(s->meta, 0, "_pair", name, val, 4096, &n,
	    &ver, &err);
	if (rc == 0) {
		enum MHD_Result r =
		    reply(c, q, 200, "application/octet-stream", val, n);

		free(val);
		return r;
	}
	free(val);
	return rc < 0 ? reply_err(c, q, 503, "metadata store unavailable")
	              : reply_err(c, q, 404, "no message yet");
}

static enum MHD_Result
pair_void(struct cf_server *s, struct MHD_Connection *c, struct req *q)
{
	struct cf_err err = {0};
	uint64_t ver, nv;
	int64_t owner = 0;
	char mv[64], vv[72];
	int rc = mailbox(s, q->route.name, &owner, &ver, mv, &err);

	if (rc == 0 && (q->joiner || owner != q->dev.account))
		rc = 1;
	/* void, and still its owner's until the purge may forget it */
	if (rc == 0 && snprintf(vv, sizeof(vv), "void %s", mv) > 0)
		rc = s->meta->ops->ref_cas(s->meta, 0, "_pair", q->route.name,
		    ver, (const uint8_t *)vv, strlen(vv), &nv, &err);
	return rc < 0    ? reply_err(c, q, 503, "metadata store unavailable")
	       : rc == 1 ? reply_err(c, q, 404, "no such mailbox")
	                 : reply(c, q, 204, NULL, "", 0);
}

static enum MHD_Result
pair(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method)
{
	if (q->route.name[0] == '\0')
		return strcmp(method, "POST") == 0
		           ? pair_create(s, c, q)
		           : reply_err(c, q, 405, "method not allowed");
	if (q->route.slot[0] == '\0')
		return strcmp(method, "DELETE") == 0
		           ? pair_void(s, c, q)
		           : reply_err(c, q, 405, "method not allowed");
	return pair_msg(s, c, q, method);
}

/* Dispatch once the whole request (and small body) is in. */
static enum MHD_Result
dispatch(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method)
{
	switch (q->route.kind) {
	case CF_ROUTE_REGISTER:
		return do_register(s, c, q);
	case CF_ROUTE_LIST:
		return object_list(s, c, q);
	case CF_ROUTE_REF:
		return strcmp(method, "GET") == 0 ? ref_get(s, c, q)
		                                  : ref_put(s, c, q);
	case CF_ROUTE_DEVICES:
		return devices(s, c, q, method);
	case CF_ROUTE_REPOS:
		return repos(s, c, q);
	case CF_ROUTE_PAIR:
		return pair(s, c, q, method);
	case CF_ROUTE_OBJECT:
		if (strcmp(method, "DELETE") == 0)
			return object_delete(s, c, q);
		if (strcmp(method, "PUT") == 0)
			return put_finish(s, c, q);
		return object_get(s, c, q);
	default:
		return reply_err(c, q, 404, "not found");
	}
}

static int
method_ok(const struct cf_route *r, const char *m)
{
	int get = !strcmp(m, "GET") || !strcmp(m, "HEAD");

	switch (r->kind) {
	case CF_ROUTE_HEALTH:
	case CF_ROUTE_METRICS:
	case CF_ROUTE_LIST:
		return get;
	case CF_ROUTE_REGISTER:
		return !strcmp(m, "POST");
	case CF_ROUTE_REF:
		return get || !strcmp(m, "PUT");
	case CF_ROUTE_OBJECT:
		return get || !strcmp(m, "PUT") || !strcmp(m, "DELETE");
	case CF_ROUTE_DEVICES:
		return !strcmp(m, "POST") || !strcmp(m, "DELETE");
	case CF_ROUTE_REPOS:
		return get;
	case CF_ROUTE_PAIR:
		return get || !strcmp(m, "PUT") || !strcmp(m, "POST") ||
		       !strcmp(m, "DELETE");
	default:
		return 1;
	}
}

/* A key bound to a zone reaches its objects and refs, nothing else: not
 * the account's other zones, its device chain (_account), its list of
 * repositories, devices or pairing. */
static int
in_zone(const struct cf_route *r, const char *zone)
{
	return (r->kind == CF_ROUTE_OBJECT || r->kind == CF_ROUTE_LIST ||
	           r->kind == CF_ROUTE_REF) &&
	       strcmp(r->repo, zone) == 0;
}

static enum MHD_Result
first_call(struct cf_server *s, struct MHD_Connection *c, struct req *q,
    const char *method, const char *url)
{
	const char *why;
	uint64_t len = 0;
	int st;

	if (cf_proto_route(url, &q->route) != 0)
		return reply_err(c, q, 404, "not found");
	if (!method_ok(&q->route, method))
		return reply_err(c, q, 405, "method not allowed");
	if (q->route.kind == CF_ROUTE_HEALTH)
		return reply(c, q, 200, "text/plain", "ok\n", 3);
	if (q->route.kind == CF_ROUTE_METRICS)
		return metrics(s, c, q);
	if ((st = authenticate(s, c, q, method, url, &why)) != 0) {
		s->m.auth_fail++;
		return reply_err(c, q, st, why);
	}
	if (q->dev.zone[0] != '\0' && !in_zone(&q->route, q->dev.zone))
		return reply_err(c, q, 403, "this key is bound to one zone");
	if (q->route.kind == CF_ROUTE_OBJECT && strcmp(method, "PUT") == 0)
		return put_start(s, c, q);
	if (q->route.kind == CF_ROUTE_REGISTER ||
	    q->route.kind == CF_ROUTE_DEVICES ||
	    q->route.kind == CF_ROUTE_PAIR ||
	    (q->route.kind == CF_ROUTE_REF && strcmp(method, "PUT") == 0)) {
		const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if (cl != NULL &&
		    (parse_length(cl, &len) || len > SMALL_BODY_MAX))
			return reply_err(c, q, 413, "body too large");
		cf_buf_init(&q->small, SMALL_BODY_MAX);
	}
	return MHD_YES;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *size,
    void **con_cls)
{
	struct cf_server *s = cls;
	struct req *q = *con_cls;

	(void)version;
	if (q == NULL)
		return MHD_NO; /* uri_log always allocates one */
	if (!q->started) {
		q->started = 1;
		snprintf(q->method, sizeof(q->method), "%s", method);
		if (q->uri_too_long)
			return reply_err(c, q, 414, "URI too long");
		return first_call(s, c, q, method, url);
	}
	if (q->done) {
		*size = 0;
		return MHD_YES;
	}
	if (*size > 0) {
		if (q->w != NULL) {
			put_data(s, q, data, *size);
		} else {
			s->m.bytes_in += *size;
			cf_buf_add(&q->small, data, *size);
		}
		*size = 0;
		return MHD_YES;
	}
	if (q->small.failed)
		return reply_err(c, q, 413, "body too large");
	return dispatch(s, c, q, method);
}

/* Called by libmicrohttpd with the raw request URI before anything else:
 * the request state starts here, so the signature covers the exact URI. */
static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct cf_server *s = cls;
	struct req *q = calloc(1, sizeof(*q));

	(void)c;
	if (q == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &q->t0);
	if (strlen(uri) >= sizeof(q->url))
		q->uri_too_long = 1;
	else
		memcpy(q->url, uri, strlen(uri) + 1);
	s->m.active++;
	s->m.requests++;
	return q;
}

/* Copy attacker-controlled ${src} for the log: bytes outside printable
 * ASCII (terminal escapes, high bytes) become %XX, so a request cannot
 * write control sequences into the operator's log. */
static const char *
log_safe(char *dst, size_t n, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t j = 0;

	for (; *src != '\0' && j + 4 <= n; src++) {
		unsigned char ch = (unsigned char)*src;

		if (ch > 0x20 && ch < 0x7f) {
			dst[j++] = (char)ch;
		} else {
			dst[j++] = '%';
			dst[j++] = hex[ch >> 4];
			dst[j++] = hex[ch & 15];
		}
	}
	dst[j] = '\0';
	return dst;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct cf_server *s = cls;
	struct req *q = *con_cls;
	struct timespec t1;
	char line[3400], m[32], u[3 * sizeof(q->url)];

	(void)c;
	if (q == NULL)
		return;
	if (q->status >= 500 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		s->m.errors5 += q->status >= 500;
	else if (q->status >= 400)
		s->m.errors4++;
	if (s->cfg.log != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		snprintf(line, sizeof(line),
		    "%s %s %d account=%lld in=%llu out=%llu ms=%.1f%s",
		    log_safe(m, sizeof(m), q->method),
		    log_safe(u, sizeof(u), q->url), q->status,
		    (long long)q->dev.account, (unsigned long long)q->got,
		    (unsigned long long)q->out,
		    (double)(t1.tv_sec - q->t0.tv_sec) * 1e3 +
		        (double)(t1.tv_nsec - q->t0.tv_nsec) / 1e6,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
		                                               : " (aborted)");
		s->cfg.log(s->cfg.log_arg, line);
	}
	if (q->w != NULL)
		s->blobs->ops->write_abort(q->w);
	upload_give(s, q);
	cf_buf_release(&q->small);
	free(q);
	*con_cls = NULL;
	s->m.active--;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct cf_server *s = cls;
	char line[512];

	if (s->cfg.log == NULL)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	s->cfg.log(s->cfg.log_arg, line);
}

/* Paths and query arguments are used as sent, never percent-decoded: no
 * valid one needs an escape, and decoding would let a request act on a
 * path other than the one it is signed and logged under ("%00" cuts a
 * name short, "%64ata" aliases "data"). */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

static int
make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    struct cf_err *err)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return 0;
	}
	return cf_err_set(err, CF_EUSAGE, "'%s' is not a numeric IP address",
	    host);
}

static struct MHD_Daemon *
start_daemon(struct cf_server *s, struct sockaddr_storage *ss)
{
	struct MHD_OptionItem o[16];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
	int n = 0;

	o[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, ss};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, s};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, 128 * 1024, NULL};
	o[n++] =
	    (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_CONNECTION_LIMIT, CONN_MAX, NULL};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)uri_log, s};
	o[n++] = (struct MHD_OptionItem){
	    MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)no_unescape, NULL};
	if (s->cfg.threads > 0) {
		flags |= MHD_USE_EPOLL;
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
		    (intptr_t)s->cfg.threads, NULL};
	} else {
		flags |= MHD_USE_THREAD_PER_CONNECTION;
	}
	if (s->cert != NULL) {
		flags |= MHD_USE_TLS;
		o[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
		o[n++] = (struct MHD_OptionItem){
		    MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
	}
	o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, 0, NULL, NULL, handler, s,
	    MHD_OPTION_ARRAY, o, MHD_OPTION_END);
}

/** cf_server_start(cfg, meta, blobs, err): listen and serve. */
struct cf_server *
cf_server_start(const struct cf_server_config *cfg, struct cf_meta *meta,
    struct cf_blobs *blobs, struct cf_err *err)
{
	struct sockaddr_storage ss;
	struct cf_server *s;

	if (make_addr(cfg->host, cfg->port, &ss, err))
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	s->cfg = *cfg;
	s->meta = meta;
	s->blobs = blobs;
	pthread_mutex_init(&s->upmu, NULL);
	if (cfg->tls_cert != NULL &&
	    ((s->cert = strdup(cfg->tls_cert)) == NULL ||
	        (s->key = strdup(cfg->tls_key)) == NULL)) {
		cf_server_stop(s, 0);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	if ((s->d = start_daemon(s, &ss)) == NULL) {
		cf_server_stop(s, 0);
		cf_err_set(err, CF_ENET,
		    "cannot listen on %s:%u (in use, or "
		    "TLS certificate/key invalid)",
		    cfg->host, cfg->port);
		return NULL;
	}
	return s;
}

/** cf_server_port(s): the bound port. */
uint16_t
cf_server_port(const struct cf_server *s)
{
	const union MHD_DaemonInfo *i =
	    MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

/** cf_server_stop(s, grace_s): graceful stop. */
void
cf_server_stop(struct cf_server *s, int grace_s)
{
	if (s == NULL)
		return;
	if (s->d != NULL) {
		MHD_socket fd = MHD_quiesce_daemon(s->d);

		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		for (int i = 0; i < grace_s * 10 && s->m.active > 0; i++)
			usleep(100000);
		MHD_stop_daemon(s->d);
	}
	if (s->key != NULL)
		sodium_memzero(s->key, strlen(s->key));
	free(s->key);
	free(s->cert);
	pthread_mutex_destroy(&s->upmu);
	free(s);
}

struct purgectx {
	struct cf_blobs *b;
	struct cf_err *err;
};

static int
purge_blob(void *arg, const char *key)
{
	struct purgectx *p = arg;

	return p->b->ops->del(p->b, key, p->err);
}

/* Pairing mailboxes to forget, gathered while the store lists them (in
 * name order: a mailbox "ID" comes just before its messages "ID.SLOT"). */
struct pairgc {
	int64_t now;
	char id[72]; /* the last mailbox listed */
	int id_dead; /* whether it goes */
	char (*dead)[72];
	size_t n, cap;
	int failed;
};

static int
pair_gc_one(void *arg, const char *name, const uint8_t *v, size_t n)
{
	struct pairgc *g = arg;
	const char *dot = strchr(name, '.');
	long long owner, exp;
	int dead, is_void;

	if (strlen(name) >= sizeof(g->id))
		return 0; /* not one the server wrote */
	if (dot == NULL) {
		dead = pair_value(v, n, &owner, &exp, &is_void) != 0 ||
		       exp + PAIR_TTL < g->now;
		snprintf(g->id, sizeof(g->id), "%s", name);
		g->id_dead = dead;
	} else {
		/* a message whose mailbox is gone, or goes */
		dead = (size_t)(dot - name) != strlen(g->id) ||
		       strncmp(name, g->id, strlen(g->id)) != 0 || g->id_dead;
	}
	if (!dead)
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		void *p = realloc(g->dead, cap * sizeof(*g->dead));

		if (p == NULL) {
			g->failed = 1;
			return 1;
		}
		g->dead = p;
		g->cap = cap;
	}
	snprintf(g->dead[g->n++], sizeof(g->dead[0]), "%s", name);
	return 0;
}

/* Forget pairing mailboxes, void or not, PAIR_TTL after they expired,
 * and their messages (and anything else in "_pair"). */
static int
pair_purge(struct cf_meta *meta, int64_t now, struct cf_err *err)
{
	struct pairgc g = {.now = now};
	int rc = 0;

	if (meta->ops->ref_list == NULL || meta->ops->ref_delete == NULL)
		return 0;
	if (meta->ops->ref_list(meta, 0, "_pair", 0, pair_gc_one, &g, err) != 0)
		rc = -1;
	else if (g.failed)
		rc = cf_err_set(err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < g.n; i++)
		rc = meta->ops->ref_delete(meta, 0, "_pair", g.dead[i], err);
	free(g.dead);
	return rc;
}

/** cf_server_purge(meta, blobs, before, purged, err): final deletes. */
int
cf_server_purge(struct cf_meta *meta, struct cf_blobs *blobs, int64_t before,
    uint64_t *purged, struct cf_err *err)
{
	struct purgectx p = {blobs, err};

	if (meta->ops->purge(meta, before, purge_blob, &p, purged, err) != 0)
		return -1;
	return pair_purge(meta, now_s(), err);
}
