#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "net/net.h"
#include "proto/proto.h"

#define POOL_MAX 64
#define ATTEMPTS 14 /* about 35 s of backoff: a restarting server */
#define LIST_PAGE 1000

struct http {
	struct cf_store base;
	struct cf_device *dev; /* a copy, in sodium_malloc() memory */
	char base_url[512];
	char repo[65];
	pthread_mutex_t mu;
	CURL *pool[POOL_MAX];
	int npool;
};

struct resp {
	struct cf_buf *out;
	long status;
	uint64_t clen;
	int has_clen;
	char etag[32];
	char msg[160];
	size_t msglen;
	int permanent;    /* a transfer error that no retry can cure */
	long retry_after; /* Retry-After seconds, 0 if none */
};

/*
 * libcurl is loaded when the first cofferd store opens, not when the
 * program starts: a command on a local folder then maps none of the TLS,
 * Kerberos, LDAP and SSH libraries behind it (7 MiB of resident memory at
 * start, more than a tenth of an unchanged re-backup's peak, and a third
 * of its start-up time).  libcurl.so.4 is the ABI of the headers we build
 * against.
 */
#define CURL_SONAME "libcurl.so.4"

static struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} cu;

static const struct {
	const char *name;
	size_t off;
} cu_syms[] = {
    {"curl_global_init", offsetof(struct curl_api, global_init)},
    {"curl_easy_init", offsetof(struct curl_api, easy_init)},
    {"curl_easy_cleanup", offsetof(struct curl_api, easy_cleanup)},
    {"curl_easy_reset", offsetof(struct curl_api, easy_reset)},
    {"curl_easy_setopt", offsetof(struct curl_api, easy_setopt)},
    {"curl_easy_perform", offsetof(struct curl_api, easy_perform)},
    {"curl_easy_getinfo", offsetof(struct curl_api, easy_getinfo)},
    {"curl_easy_strerror", offsetof(struct curl_api, easy_strerror)},
    {"curl_slist_append", offsetof(struct curl_api, slist_append)},
    {"curl_slist_free_all", offsetof(struct curl_api, slist_free_all)},
};

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_err[256]; /* set once by cu_load() if it failed */

static void
cu_load(void)
{
	/* A program linked with libcurl (cofferd) uses its own copy: one
	 * libcurl per process, initialised once.  Else the OpenSSL build,
	 * then the GnuTLS one (the two -dev packages Debian ships). */
	static const char *const names[] = {CURL_SONAME, "libcurl-gnutls.so.4"};
	void *lib = RTLD_DEFAULT; /* (a null pointer in glibc) */
	const char *e = NULL;

	if (dlsym(RTLD_DEFAULT, "curl_easy_init") == NULL) {
		for (size_t i = 0; i < 2; i++) {
			if ((lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) !=
			    NULL)
				break;
			if (e == NULL)
				e = dlerror();
		}
		if (lib == NULL) {
			snprintf(cu_err, sizeof(cu_err), "cannot load %s: %s",
			    CURL_SONAME, e != NULL ? e : "unknown error");
			return;
		}
	}
	for (size_t i = 0; i < sizeof(cu_syms) / sizeof(cu_syms[0]); i++) {
		void *f = dlsym(lib, cu_syms[i].name);

		if (f == NULL) {
			snprintf(cu_err, sizeof(cu_err), "libcurl has no %s",
			    cu_syms[i].name);
			return;
		}
		/* POSIX guarantees a function pointer fits in a void *. */
		memcpy((char *)&cu + cu_syms[i].off, &f, sizeof(f));
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		snprintf(cu_err, sizeof(cu_err), "curl_global_init failed");
}

int
cf_net_global_init(struct cf_err *err)
{
	pthread_once(&cu_once, cu_load);
	if (cu_err[0] != '\0')
		return cf_err_set(err, CF_ENET, "%s", cu_err);
	return 0;
}

int
cf_store_is_url(const char *where)
{
	return strncmp(where, "http://", 7) == 0 ||
	       strncmp(where, "https://", 8) == 0;
}

static CURL *
take(struct http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->mu);
	if (h->npool > 0)
		c = h->pool[--h->npool];
	pthread_mutex_unlock(&h->mu);
	return c != NULL ? c : cu.easy_init();
}

static void
give(struct http *h, CURL *c)
{
	pthread_mutex_lock(&h->mu);
	if (h->npool < POOL_MAX) {
		h->pool[h->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->mu);
	if (c != NULL)
		cu.easy_cleanup(c);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp *r = arg;
	size_t n = size * nmemb;

	if (r->out != NULL) {
		cf_buf_add(r->out, p, n);
		if (r->out->failed)
			return 0; /* more than asked for: abort */
	}
	if (r->msglen < sizeof(r->msg) - 1) {
		size_t k = n < sizeof(r->msg) - 1 - r->msglen
		               ? n
		               : sizeof(r->msg) - 1 - r->msglen;

		memcpy(r->msg + r->msglen, p, k);
		r->msglen += k;
		r->msg[r->msglen] = '\0';
	}
	return n;
}

static size_t
on_header(char *raw, size_t size, size_t nmemb, void *arg)
{
	struct resp *r = arg;
	size_t n = size * nmemb;
	char p[256]; /* curl's line has no NUL: parse a terminated copy */

	if (n >= sizeof(p))
		return n; /* no header we read is that long */
	memcpy(p, raw, n);
	p[n] = '\0';
	if (n > 16 && strncasecmp(p, "Content-Length: ", 16) == 0) {
		char *end;
		unsigned long long v = strtoull(p + 16, &end, 10);

		if (end != p + 16) {
			r->clen = v;
			r->has_clen = 1;
		}
	}
	if (n > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		r->retry_after = strtol(p + 13, NULL, 10);
	if (n > 6 && strncasecmp(p, "ETag: ", 6) == 0) {
		size_t k = strcspn(p + 6, "\r\n");

		if (k < sizeof(r->etag)) {
			memcpy(r->etag, p + 6, k);
			r->etag[k] = '\0';
		}
	}
	return n;
}

struct call {
	const char *method;
	const char *uri; /* path and query */
	const uint8_t *body;
	size_t n;
	const char *hdr; /* one extra header or NULL */
	struct cf_buf *out;
	size_t outmax;
	const char *bodyhash; /* known already, or NULL: computed */
};

static int
attempt(struct http *h, CURL *c, const struct call *k, const char *bh,
    struct resp *r, struct cf_err *err)
{
	struct curl_slist *hl = NULL;
	char auth[512], url[1024], hh[96];
	CURLcode cc;

	if (cf_proto_sign(h->dev->sk, k->method, k->uri, (int64_t)time(NULL),
	        bh, auth + 15, sizeof(auth) - 15) != 0)
		return cf_err_set(err, CF_EINTERNAL, "cannot sign request");
	memcpy(auth, "Authorization: ", 15);
	snprintf(hh, sizeof(hh), "X-Coffer-Hash: %s", bh);
	hl = cu.slist_append(hl, auth);
	hl = cu.slist_append(hl, hh);
	hl = cu.slist_append(hl, "Expect:");
	if (k->hdr != NULL)
		hl = cu.slist_append(hl, k->hdr);
	snprintf(url, sizeof(url), "%s%s", h->base_url, k->uri);
	cu.easy_reset(c);
	cu.easy_setopt(c, CURLOPT_URL, url);
	cu.easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	cu.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, r);
	cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	cu.easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (!strcmp(k->method, "HEAD"))
		cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(k->method, "GET") != 0)
		cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, k->method);
	if (k->body != NULL) {
		cu.easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)k->body);
		cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)k->n);
	}
	cc = cu.easy_perform(c);
	cu.slist_free_all(hl);
	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc != CURLE_OK) {
		/* A certificate the client refuses stays refused: failing at
		 * once beats ten attempts over ~20 s with the same answer. */
		r->permanent = cc == CURLE_PEER_FAILED_VERIFICATION ||
		               cc == CURLE_SSL_CACERT_BADFILE ||
		               cc == CURLE_SSL_CERTPROBLEM ||
		               cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
		               cc == CURLE_URL_MALFORMAT ||
		               cc == CURLE_UNSUPPORTED_PROTOCOL;
		return cf_err_set(err, CF_ENET, "%s: %s", h->base_url,
		    cu.easy_strerror(cc));
	}
	return 0;
}

static int
retryable(int rc, const struct resp *r)
{
	long status = r->status;

	/* A server that asks for more than a minute's pause (a pairing
	 * limit: 10 minutes) gets an answer now, not a stalled command. */
	if (rc == 0 && status == 429 && r->retry_after > 60)
		return 0;
	return !r->permanent &&
	       (rc != 0 || status == 500 || status == 502 || status == 503 ||
	           status == 504 || status == 408 || status == 429);
}

static void
backoff(int i)
{
	unsigned ms = 100u << (i < 6 ? i : 6);
	uint32_t j;

	if (ms > 4000)
		ms = 4000;

	cf_crypto_random(&j, sizeof(j));
	ms = ms / 2 + j % (ms / 2 + 1);
	usleep(ms * 1000u);
}

static int
status_error(const struct http *h, const struct call *k, struct resp *r,
    struct cf_err *err)
{
	const char *m = r->msglen ? r->msg : "";
	size_t ml = strcspn(m, "\n");

	switch (r->status) {
	case 404:
		return cf_err_set(err, CF_ENOTFOUND, "%s %s: not found",
		    k->method, k->uri);
	case 409:
	case 412:
		return cf_err_set(err, CF_EEXIST, "%s: already exists (%.*s)",
		    k->uri, (int)ml, m);
	case 401:
	case 403:
		return cf_err_set(err, CF_EAUTH, "server refused %s %s: %.*s",
		    k->method, k->uri, (int)ml, m);
	case 507:
		return cf_err_set(err, CF_ELIMIT, "server: quota exceeded");
	default:
		return cf_err_set(err, CF_ENET,
		    "%s answered %ld to %s %s: %.*s", h->base_url, r->status,
		    k->method, k->uri, (int)ml, m);
	}
}

/* Run a call with retries; 0 and *res on a definitive 2xx answer. */
static int
run(struct http *h, const struct call *k, struct resp *res, struct cf_err *err)
{
	struct resp r;
	char bh[65];
	size_t start = k->out ? k->out->len : 0;
	CURL *c;
	int rc = -1;

	if (k->bodyhash != NULL)
		memcpy(bh, k->bodyhash, sizeof(bh));
	else
		cf_proto_body_hash(k->body, k->n, bh);
	if ((c = take(h)) == NULL)
		return cf_err_set(err, CF_ENOMEM, "curl_easy_init failed");
	for (int i = 0; i < ATTEMPTS; i++) {
		memset(&r, 0, sizeof(r));
		r.out = k->out;
		if (k->out != NULL) {
			k->out->len = start;
			k->out->failed = 0;
		}
		rc = attempt(h, c, k, bh, &r, err);
		if (!retryable(rc, &r))
			break;
		if (rc == 0)
			status_error(h, k, &r, err);
		rc = -1;
		if (i + 1 < ATTEMPTS)
			backoff(i);
	}
	give(h, c);
	if (rc != 0)
		return -1;
	if (res != NULL)
		*res = r;
	if (r.status >= 300)
		return status_error(h, k, &r, err);
	return 0;
}

static void
obj_uri(char *out, size_t n, const struct http *h, enum cf_kind kind,
    const char *name)
{
	snprintf(out, n, "/v1/r/%s/o/%s/%s", h->repo, cf_store_kind_name(kind),
	    name);
}

static int
h_put(struct cf_store *s, enum cf_kind kind, const char *name, const uint8_t *p,
    size_t n, int flags, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"PUT", NULL, p, n, NULL, NULL, 0, NULL};
	struct resp r;
	char uri[256];

	obj_uri(uri, sizeof(uri), h, kind, name);
	k.uri = uri;
	k.body = p != NULL ? p : (const uint8_t *)"";
	/* A pack is named by the BLAKE2b-256 of its bytes, which is also
	 * the body hash a request signs: no need to hash 30 MiB twice.  (If
	 * the name lied, the server would refuse the body.) */
	if (kind == CF_KIND_PACK && strlen(name) == 64 &&
	    strspn(name, "0123456789abcdef") == 64)
		k.bodyhash = name;
	if (run(h, &k, &r, err) != 0)
		return -1;
	if ((flags & CF_PUT_EXCL) && r.status == 200)
		return cf_err_set(err, CF_EEXIST, "%s already exists", name);
	return 0;
}

static int
h_get(struct cf_store *s, enum cf_kind kind, const char *name, uint64_t off,
    uint64_t len, struct cf_buf *out, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"GET", NULL, NULL, 0, NULL, out, 0, NULL};
	char uri[256], range[80];
	size_t start = out->len;

	obj_uri(uri, sizeof(uri), h, kind, name);
	k.uri = uri;
	if (len == 0)
		return 0;
	if (off != 0 || len != CF_GET_ALL) {
		snprintf(range, sizeof(range), "Range: bytes=%llu-%llu",
		    (unsigned long long)off,
		    len == CF_GET_ALL ? (unsigned long long)UINT64_MAX - 1
		                      : (unsigned long long)(off + len - 1));
		if (len == CF_GET_ALL)
			snprintf(range, sizeof(range), "Range: bytes=%llu-",
			    (unsigned long long)off);
		k.hdr = range;
	}
	if (run(h, &k, NULL, err) != 0)
		return -1;
	if (len != CF_GET_ALL && out->len - start != len)
		return cf_err_set(err, CF_EFORMAT,
		    "%s: server sent %zu bytes where %llu were asked", name,
		    out->len - start, (unsigned long long)len);
	return 0;
}

static int
h_size(struct cf_store *s, enum cf_kind kind, const char *name, uint64_t *size,
    struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"HEAD", NULL, NULL, 0, NULL, NULL, 0, NULL};
	struct resp r;
	char uri[256];

	obj_uri(uri, sizeof(uri), h, kind, name);
	k.uri = uri;
	if (run(h, &k, &r, err) != 0)
		return -1;
	if (!r.has_clen)
		return cf_err_set(err, CF_ENET, "%s: no Content-Length", name);
	*size = r.clen;
	return 0;
}

struct listctx {
	cf_list_fn fn;
	void *arg;
	enum cf_kind kind;
	char last[72];
	size_t n;
	int stop;
};

static int
list_one(void *arg, const char *name, uint64_t size)
{
	struct listctx *l = arg;

	/* Names go back into the next request: only valid object names. */
	if (!cf_store_name_ok(l->kind, name))
		return -1;
	snprintf(l->last, sizeof(l->last), "%s", name);
	l->n++;
	if ((l->stop = l->fn(l->arg, name, size)) != 0)
		return l->stop;
	return 0;
}

static int
h_list(struct cf_store *s, enum cf_kind kind, cf_list_fn fn, void *arg,
    struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct listctx l = {fn, arg, kind, "", 0, 0};
	struct cf_buf b;
	char uri[256];
	int rc = 0;

	cf_buf_init(&b, LIST_PAGE * 96 + 4096);
	do {
		struct call k = {"GET", uri, NULL, 0, NULL, &b, 0, NULL};

		snprintf(uri, sizeof(uri), "/v1/r/%s/o/%s/?after=%s&limit=%d",
		    h->repo, cf_store_kind_name(kind), l.last, LIST_PAGE);
		b.len = 0;
		l.n = 0;
		if (run(h, &k, NULL, err) != 0) {
			rc = -1;
			break;
		}
		rc =
		    cf_proto_list_parse((const char *)b.p, b.len, list_one, &l);
		if (rc != 0 && !l.stop)
			rc = cf_err_set(err, CF_EFORMAT,
			    "%s: malformed listing", h->base_url);
	} while (rc == 0 && l.n == LIST_PAGE);
	cf_buf_release(&b);
	return rc;
}

static int
h_del(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"DELETE", NULL, NULL, 0, NULL, NULL, 0, NULL};
	char uri[256];

	obj_uri(uri, sizeof(uri), h, kind, name);
	k.uri = uri;
	return run(h, &k, NULL, err);
}

static void
h_free(struct cf_store *s)
{
	struct http *h = (struct http *)s;

	for (int i = 0; i < h->npool; i++)
		cu.easy_cleanup(h->pool[i]);
	pthread_mutex_destroy(&h->mu);
	if (h->dev != NULL)
		sodium_free(h->dev);
	free(s->where);
	free(h);
}

/* No streamed puts: a pack's name (its hash) signs its upload, so it is
 * uploaded whole (and cofferd cleans up its own uploads in flight). */
static const struct cf_store_ops http_ops = {.put = h_put,
    .get = h_get,
    .size = h_size,
    .list = h_list,
    .del = h_del,
    .free = h_free};

static int
parse_url(struct http *h, const char *url, struct cf_err *err)
{
	const char *p = strstr(url, "://") + 3, *slash = strchr(p, '/');
	size_t hl = slash ? (size_t)(slash - url) : strlen(url);

	if (hl >= sizeof(h->base_url) || slash == p)
		return cf_err_set(err, CF_EUSAGE, "bad repository URL '%s'",
		    url);
	memcpy(h->base_url, url, hl);
	h->base_url[hl] = '\0';
	snprintf(h->repo, sizeof(h->repo), "default");
	if (slash != NULL && slash[1] != '\0') {
		size_t rl = strlen(slash + 1);

		if (slash[rl] == '/')
			rl--;
		if (rl >= sizeof(h->repo))
			return cf_err_set(err, CF_EUSAGE,
			    "repository name too long");
		memcpy(h->repo, slash + 1, rl);
		h->repo[rl] = '\0';
		if (!cf_proto_repo_ok(h->repo))
			return cf_err_set(err, CF_EUSAGE,
			    "repository name '%s': use letters, digits, . _ -",
			    h->repo);
	}
	return 0;
}

/** cf_store_http_open(url, dev, err): the cofferd store. */
struct cf_store *
cf_store_http_open(const char *url, const struct cf_device *dev,
    struct cf_err *err)
{
	struct http *h;

	if (!cf_store_is_url(url)) {
		cf_err_set(err, CF_EUSAGE, "'%s' is not an http(s) URL", url);
		return NULL;
	}
	if (cf_net_global_init(err) != 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->base.where = strdup(url)) == NULL) {
		free(h);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	h->base.ops = &http_ops;
	h->base.remote = 1;
	pthread_mutex_init(&h->mu, NULL);
	if ((h->dev = sodium_malloc(sizeof(*dev))) == NULL) {
		h_free(&h->base);
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(h->dev, dev, sizeof(*dev));
	if (parse_url(h, url, err) != 0) {
		h_free(&h->base);
		return NULL;
	}
	return &h->base;
}

/** cf_http_register(s, invite, err): create the account. */
int
cf_http_register(struct cf_store *s, const char *invite, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"POST", "/v1/register", (const uint8_t *)"", 0, NULL,
	    NULL, 0, NULL};

	if (invite != NULL) {
		k.body = (const uint8_t *)invite;
		k.n = strlen(invite);
	}
	if (run(h, &k, NULL, err) == 0 || err->code == CF_EEXIST)
		return 0; /* 409: this device has its account already */
	if (err->code == CF_EAUTH || err->code == CF_ENET) {
		char m[sizeof(err->msg)];

		memcpy(m, err->msg, sizeof(m));
		cf_err_set(err, err->code, "cannot register this device: %s",
		    m);
	}
	return -1;
}

static int
absent(int rc, struct cf_err *err)
{
	if (rc != 0 && err->code == CF_ENOTFOUND) {
		cf_err_clear(err);
		return 1;
	}
	return rc;
}

/** cf_http_ref_get(s, name, out, version, err): read a ref. */
int
cf_http_ref_get(struct cf_store *s, const char *name, struct cf_buf *out,
    uint64_t *version, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"GET", NULL, NULL, 0, NULL, out, 0, NULL};
	struct resp r;
	char uri[256];
	int rc;

	snprintf(uri, sizeof(uri), "/v1/r/%s/ref/%s", h->repo, name);
	k.uri = uri;
	rc = absent(run(h, &k, &r, err), err);
	if (rc == 0)
		*version = strtoull(r.etag, NULL, 10);
	return rc;
}

/** cf_http_ref_cas(s, name, expect, p, n, err): compare and swap. */
int
cf_http_ref_cas(struct cf_store *s, const char *name, uint64_t expect,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {
	    "PUT", NULL, p ? p : (const uint8_t *)"", n, NULL, NULL, 0, NULL};
	char uri[256], hdr[64];
	int rc;

	snprintf(uri, sizeof(uri), "/v1/r/%s/ref/%s", h->repo, name);
	if (expect == 0)
		snprintf(hdr, sizeof(hdr), "If-None-Match: *");
	else
		snprintf(hdr, sizeof(hdr), "If-Match: %llu",
		    (unsigned long long)expect);
	k.uri = uri;
	k.hdr = hdr;
	rc = run(h, &k, NULL, err);
	if (rc != 0 && err->code == CF_EEXIST) {
		cf_err_clear(err);
		return 1;
	}
	return rc;
}

int
cf_http_device_add(struct cf_store *s, const uint8_t pk[static 32],
    unsigned scope, const char *zone, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	char body[160], hex[65];
	struct call k = {"POST", "/v1/devices", (const uint8_t *)body, 0, NULL,
	    NULL, 0, NULL};

	cf_hex(hex, pk, 32);
	k.n = (size_t)snprintf(body, sizeof(body), "%s %u%s%s", hex, scope,
	    zone != NULL ? " " : "", zone != NULL ? zone : "");
	return run(h, &k, NULL, err);
}

int
cf_http_device_remove(struct cf_store *s, const uint8_t pk[static 32],
    struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"DELETE", NULL, NULL, 0, NULL, NULL, 0, NULL};
	char uri[128], hex[65];

	cf_hex(hex, pk, 32);
	snprintf(uri, sizeof(uri), "/v1/devices/%s", hex);
	k.uri = uri;
	return absent(run(h, &k, NULL, err), err) < 0 ? -1 : 0;
}

int
cf_http_repos(struct cf_store *s, int (*fn)(void *, const char *), void *arg,
    struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct cf_buf b;
	struct call k = {"GET", "/v1/repos", NULL, 0, NULL, &b, 0, NULL};
	int rc;

	cf_buf_init(&b, 1u << 20);
	rc = run(h, &k, NULL, err);
	for (size_t i = 0; rc == 0 && i < b.len;) {
		uint8_t *nl = memchr(b.p + i, '\n', b.len - i);
		char name[72];
		size_t len;

		if (nl == NULL ||
		    (len = (size_t)(nl - (b.p + i))) >= sizeof(name))
			break;
		memcpy(name, b.p + i, len);
		name[len] = '\0';
		if (cf_proto_repo_ok(name))
			rc = fn(arg, name);
		i += len + 1;
	}
	cf_buf_release(&b);
	return rc;
}

int
cf_http_pair_create(struct cf_store *s, char id[static 16], struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct cf_buf b;
	struct call k = {
	    "POST", "/v1/pair", (const uint8_t *)"", 0, NULL, &b, 0, NULL};
	int rc;

	cf_buf_init(&b, 64);
	rc = run(h, &k, NULL, err);
	if (rc == 0 && (b.len == 0 || b.len > 15)) {
		rc = cf_err_set(err, CF_EFORMAT, "bad mailbox id from server");
	} else if (rc == 0) {
		memcpy(id, b.p, b.len);
		id[b.len] = '\0';
	}
	cf_buf_release(&b);
	return rc;
}

int
cf_http_pair_put(struct cf_store *s, const char *id, const char *slot,
    const uint8_t *p, size_t n, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"PUT", NULL, p, n, NULL, NULL, 0, NULL};
	char uri[128];

	snprintf(uri, sizeof(uri), "/v1/pair/%s/%s", id, slot);
	k.uri = uri;
	return run(h, &k, NULL, err);
}

int
cf_http_pair_get(struct cf_store *s, const char *id, const char *slot,
    struct cf_buf *out, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"GET", NULL, NULL, 0, NULL, out, 0, NULL};
	char uri[128];

	snprintf(uri, sizeof(uri), "/v1/pair/%s/%s", id, slot);
	k.uri = uri;
	return absent(run(h, &k, NULL, err), err);
}

int
cf_http_pair_void(struct cf_store *s, const char *id, struct cf_err *err)
{
	struct http *h = (struct http *)s;
	struct call k = {"DELETE", NULL, NULL, 0, NULL, NULL, 0, NULL};
	char uri[128];

	snprintf(uri, sizeof(uri), "/v1/pair/%s", id);
	k.uri = uri;
	return absent(run(h, &k, NULL, err), err) < 0 ? -1 : 0;
}
