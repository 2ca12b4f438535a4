/*
 * blobs_s3.c: cofferd's blob store in an S3 bucket (AWS S3, Ceph radosgw,
 * MinIO), over libcurl and its built-in SigV4 signing (CURLOPT_AWS_SIGV4):
 * no request is signed by hand.  With net/store_http.c, the only includer
 * of <curl/curl.h>.
 *
 * Visibility: an object appears under its key complete or not at all.
 * Uploads are buffered up to the part size (8 MiB); a smaller object is
 * one PUT, a larger one a multipart upload that S3 assembles only on
 * CompleteMultipartUpload, and an aborted upload is ended with
 * AbortMultipartUpload.  Reads are ranged GETs sized by the range the HTTP
 * layer will read (read_open's hint), at most 8 MiB each.
 *
 * Retries: transport failures, stalls (no byte moved for timeout_s), 5xx
 * (503 SlowDown included), 408, 429 and 400 RequestTimeout are retried with
 * exponential backoff and jitter, up to cfg->attempts tries.  Every request
 * sent is idempotent or made so: keys are fresh per upload, a DELETE of an
 * absent key succeeds, and a CompleteMultipartUpload whose answer was lost
 * is recognised on its retry (NoSuchUpload, then the object is there).
 *
 * radosgw 16 + curl 7.88: x-amz-content-sha256 is always sent (curl 7.88
 * does not add it; UNSIGNED-PAYLOAD, since cofferd checks the BLAKE2b of
 * every upload itself); curl signs the URL as given, so keys and query
 * values are percent-encoded here, query parameters sorted and valueless
 * ones written "uploads="; no header is sent with an empty value; no
 * LocationConstraint on CreateBucket; and a 200 answer to
 * CompleteMultipartUpload is checked for an <Error> body.
 *
 * Errors: 0 / -1 with *err (CF_ENET for an unreachable or failing S3,
 * CF_EAUTH for refused credentials, CF_ENOTFOUND for a missing key).
 * Threads: any number at once; curl easy handles come from a pool, so
 * connections are reused across requests and threads.  A cf_blobw or
 * cf_blobr belongs to one thread at a time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#if LIBCURL_VERSION_NUM < 0x075500
#error "the S3 blob store needs libcurl 7.85 or later (tested with 7.88)"
#endif

#include "crypto/crypto.h"
#include "server/backend.h"
#include "util/buf.h"

#define POOL_MAX 64
#define PART_MIB_DEFAULT 8u
#define PARTS_MAX 10000u
#define WINDOW_MAX (8u << 20) /* the largest ranged GET */
#define XML_MAX (4u << 20)    /* the largest answer body parsed */
#define MSG_MAX 512           /* error body kept for the message */
#define URL_MAX 2048
#define ETAG_MAX 80
#define UPLOAD_ID_MAX 256
#define KEY_MAX 1024          /* S3's own limit on keys */
#define MEM_MIB_DEFAULT 1024u /* all part buffers and read windows */
#define MEM_WAIT_S 30         /* for buffer memory, before giving up */

struct s3 {
	struct cf_blobs base;
	struct cf_s3_config cfg;          /* holds the secret: wiped on close */
	char obj_url[URL_MAX / 2];        /* objects are obj_url/KEY */
	char bucket_url[URL_MAX / 2 + 1]; /* bucket-level requests */
	char kprefix[sizeof(((struct cf_s3_config *)0)->prefix) + 1];
	char sigv4[96];
	size_t part;
	unsigned attempts;
	pthread_mutex_t mu;
	CURL *pool[POOL_MAX];
	int npool;
	pthread_cond_t memcv; /* with mu */
	size_t mem_used, mem_max;
};

/* One request. */
struct rq {
	const char *method;  /* GET HEAD PUT POST DELETE */
	const char *key;     /* relative to the prefix; NULL: the bucket */
	const char *query;   /* sorted and encoded, or NULL */
	const uint8_t *body; /* PUT and POST */
	size_t n;
	const char *ctype;   /* Content-Type header, or NULL */
	uint64_t roff, rlen; /* Range (rlen 0: none) */
	uint8_t *out;        /* a 2xx body goes here, at most outmax bytes */
	size_t outmax;
	struct cf_buf *xml; /* or here (capped), if not NULL */
	int body_errors;    /* a 200 whose body (in xml) is an <Error> is
	                     * one */
};

/* Its answer. */
struct rs {
	const struct rq *q;
	long status;
	size_t got; /* bytes into q->out */
	size_t up;  /* bytes of q->body sent */
	uint64_t clen, total;
	int has_clen, has_total, overflow;
	char etag[ETAG_MAX];
	char msg[MSG_MAX];
	size_t msglen;
	unsigned tries; /* set by run() */
};

struct cf_blobw {
	struct s3 *s;
	char key[CF_BLOBKEY_MAX];
	uint8_t *buf;
	size_t len, cap;
	uint64_t total;
	char upload[UPLOAD_ID_MAX]; /* "" until the first part */
	char (*etags)[ETAG_MAX];
	uint32_t nparts, etcap;
};

struct cf_blobr {
	struct s3 *s;
	char key[CF_BLOBKEY_MAX];
	uint64_t size, end; /* end: of the range the caller means to read */
	uint8_t *win;       /* [woff, woff + wlen) of the object */
	size_t wcap, wlen;
	uint64_t woff;
};

static const struct cf_blobs_ops s3_ops;

/* --- encoding and parsing ------------------------------------------ */

static int
unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
	       ch == '.' || ch == '~';
}

/* Append ${s} to ${out} (of ${max}, at *len) percent-encoded the way SigV4
 * wants it: all but unreserved characters, and '/' unless ${slash}. */
static int
enc(char *out, size_t max, size_t *len, const char *s, int slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		int plain = unreserved(ch) || (slash && ch == '/');

		if (*len + (plain ? 1 : 3) >= max)
			return -1;
		if (plain) {
			out[(*len)++] = (char)ch;
			continue;
		}
		out[(*len)++] = '%';
		out[(*len)++] = hex[ch >> 4];
		out[(*len)++] = hex[ch & 15];
	}
	out[*len] = '\0';
	return 0;
}

/* Append the plain text ${s}. */
static int
add(char *out, size_t max, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= max)
		return -1;
	memcpy(out + *len, s, n + 1);
	*len += n;
	return 0;
}

static int
make_url(const struct s3 *s, const struct rq *q, char *url, size_t max)
{
	size_t n = 0;

	if (q->key == NULL) {
		if (add(url, max, &n, s->bucket_url))
			return -1;
	} else if (add(url, max, &n, s->obj_url) || add(url, max, &n, "/") ||
	           enc(url, max, &n, s->kprefix, 1) ||
	           enc(url, max, &n, q->key, 1)) {
		return -1;
	}
	if (q->query != NULL &&
	    (add(url, max, &n, "?") || add(url, max, &n, q->query)))
		return -1;
	return 0;
}

/* Text of the first <tag>...</tag> in [p, end), the five XML entities
 * decoded, into ${out}; a pointer past it, or NULL if absent or longer than
 * ${max} - 1.  The XML is the S3 server's: capped, and only scanned. */
static const char *
xml_text(const char *p, const char *end, const char *tag, char *out, size_t max)
{
	static const char *const ent[][2] = {{"&amp;", "&"}, {"&lt;", "<"},
	    {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
	char open[48], close[48];
	const char *a, *b;
	size_t n = 0;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	out[0] = '\0';
	if ((a = memmem(p, (size_t)(end - p), open, strlen(open))) == NULL)
		return NULL;
	a += strlen(open);
	if ((b = memmem(a, (size_t)(end - a), close, strlen(close))) == NULL)
		return NULL;
	while (a < b && n + 1 < max) {
		size_t i = 0;

		while (*a == '&' && i < 5 &&
		       strncmp(a, ent[i][0], strlen(ent[i][0])) != 0)
			i++;
		out[n++] = *a == '&' && i < 5 ? ent[i][1][0] : *a;
		a += *a == '&' && i < 5 ? strlen(ent[i][0]) : 1;
	}
	out[n] = '\0';
	return a == b ? b + strlen(close) : NULL;
}

static int
token_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!unreserved((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

/* --- curl plumbing -------------------------------------------------- */

static CURL *
take(struct s3 *s)
{
	CURL *c = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->npool > 0)
		c = s->pool[--s->npool];
	pthread_mutex_unlock(&s->mu);
	return c != NULL ? c : curl_easy_init();
}

static void
give(struct s3 *s, CURL *c)
{
	pthread_mutex_lock(&s->mu);
	if (s->npool < POOL_MAX) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	if (c != NULL)
		curl_easy_cleanup(c);
}

static void
keep_msg(struct rs *r, const char *p, size_t n)
{
	size_t k = sizeof(r->msg) - 1 - r->msglen;

	if (n < k)
		k = n;
	memcpy(r->msg + r->msglen, p, k);
	r->msglen += k;
	r->msg[r->msglen] = '\0';
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rs *r = arg;
	const struct rq *q = r->q;
	size_t n = size * nmemb;

	if (r->status < 200 || r->status >= 300)
		keep_msg(r, p, n);
	if (r->status < 200 || r->status >= 300)
		return n;
	if (q->out != NULL) {
		if (n > q->outmax - r->got) {
			r->overflow = 1;
			return 0;
		}
		memcpy(q->out + r->got, p, n);
		r->got += n;
	} else if (q->xml != NULL) {
		cf_buf_add(q->xml, p, n);
		if (q->xml->failed) {
			r->overflow = 1;
			return 0;
		}
	}
	return n;
}

static void
parse_header(struct rs *r, const char *p, size_t n)
{
	char line[256], *v, *end;

	if (n >= sizeof(line))
		return;
	memcpy(line, p, n);
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/", 5) == 0) { /* a new answer (after a 100) */
		v = strchr(line, ' ');
		r->status = v ? strtol(v + 1, NULL, 10) : 0;
		r->has_clen = r->has_total = 0;
		r->etag[0] = '\0';
		return;
	}
	if ((v = strchr(line, ':')) == NULL)
		return;
	*v++ = '\0';
	v += strspn(v, " \t");
	if (!strcasecmp(line, "Content-Length")) {
		r->clen = strtoull(v, &end, 10);
		r->has_clen = end != v && *end == '\0';
	} else if (!strcasecmp(line, "Content-Range") &&
	           (end = strchr(v, '/')) != NULL && end[1] >= '0' &&
	           end[1] <= '9') {
		r->total = strtoull(end + 1, NULL, 10);
		r->has_total = 1;
	} else if (!strcasecmp(line, "ETag") && strlen(v) < sizeof(r->etag)) {
		memcpy(r->etag, v, strlen(v) + 1);
	}
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	parse_header(arg, p, size * nmemb);
	return size * nmemb;
}

static size_t
on_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct rs *r = arg;
	size_t n = size * nmemb, left = r->q->n - r->up;

	if (n > left)
		n = left;
	memcpy(p, r->q->body + r->up, n);
	r->up += n;
	return n;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct rs *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->q->n)
		return CURL_SEEKFUNC_CANTSEEK;
	r->up = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static struct curl_slist *
headers(const struct rq *q, char *range, size_t rmax, char *ct, size_t cmax)
{
	struct curl_slist *h, *t;

	if ((h = curl_slist_append(NULL,
	         "x-amz-content-sha256: UNSIGNED-PAYLOAD")) == NULL)
		return NULL;
	if (q->rlen > 0) {
		snprintf(range, rmax, "Range: bytes=%llu-%llu",
		    (unsigned long long)q->roff,
		    (unsigned long long)(q->roff + q->rlen - 1));
		if ((t = curl_slist_append(h, range)) == NULL)
			goto fail;
		h = t;
	}
	if (q->ctype != NULL) {
		snprintf(ct, cmax, "Content-Type: %s", q->ctype);
		if ((t = curl_slist_append(h, ct)) == NULL)
			goto fail;
		h = t;
	}
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

static void
set_method(CURL *c, const struct rq *q, struct rs *r)
{
	if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(q->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, r);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->n);
	} else if (!strcmp(q->method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    q->body ? (const char *)q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)q->n);
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

static void
set_common(const struct s3 *s, CURL *c, const char *url, struct curl_slist *h,
    struct rs *r)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
	curl_easy_setopt(c, CURLOPT_USERNAME, s->cfg.access_key);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s->cfg.secret_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s->cfg.timeout_s);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
}

static void
rs_init(struct rs *r, const struct rq *q)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	if (q->xml != NULL) {
		q->xml->len = 0;
		q->xml->failed = 0;
	}
}

/* A 200 whose body (after any whitespace S3 sent to keep the connection
 * open) is an <Error>: CompleteMultipartUpload failed late.  It counts as
 * a 500, with the error kept for the message. */
static void
late_error(const struct rq *q, struct rs *r)
{
	const char *p = (const char *)q->xml->p, *e;

	if (p == NULL || (e = memmem(p, q->xml->len, "<Error>", 7)) == NULL)
		return;
	r->status = 500;
	keep_msg(r, e, q->xml->len - (size_t)(e - p));
}

/* One try; 0 with r->status once S3 answered, -1 and *cc otherwise. */
static int
attempt(struct s3 *s, CURL *c, const struct rq *q, struct rs *r, CURLcode *cc,
    struct cf_err *err)
{
	struct curl_slist *h;
	char url[URL_MAX], range[80], ct[96];

	rs_init(r, q);
	*cc = CURLE_OK;
	if (make_url(s, q, url, sizeof(url)) != 0)
		return cf_err_set(err, CF_ELIMIT, "S3 URL too long for key %s",
		    q->key ? q->key : "");
	if ((h = headers(q, range, sizeof(range), ct, sizeof(ct))) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	curl_easy_reset(c);
	set_common(s, c, url, h, r);
	set_method(c, q, r);
	*cc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (*cc != CURLE_OK)
		return cf_err_set(err, CF_ENET, "S3 %s %s: %s", q->method,
		    q->key ? q->key : s->cfg.bucket,
		    r->overflow ? "answer larger than asked for"
		                : curl_easy_strerror(*cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (q->body_errors && r->status == 200)
		late_error(q, r);
	return 0;
}

static int
retryable(int rc, CURLcode cc, const struct rs *r)
{
	char code[64];

	if (rc != 0) {
		return cc != CURLE_OK && !r->overflow &&
		       cc != CURLE_OUT_OF_MEMORY && cc != CURLE_URL_MALFORMAT &&
		       cc != CURLE_UNSUPPORTED_PROTOCOL &&
		       cc != CURLE_BAD_FUNCTION_ARGUMENT &&
		       cc != CURLE_NOT_BUILT_IN && cc != CURLE_UNKNOWN_OPTION &&
		       cc != CURLE_PEER_FAILED_VERIFICATION &&
		       cc != CURLE_SSL_CACERT_BADFILE &&
		       cc != CURLE_LOGIN_DENIED;
	}
	if (r->status == 400) { /* we were too slow sending the body */
		xml_text(r->msg, r->msg + r->msglen, "Code", code,
		    sizeof(code));
		return strcmp(code, "RequestTimeout") == 0;
	}
	return r->status >= 500 || r->status == 408 || r->status == 429;
}

static int
status_error(const struct s3 *s, const struct rq *q, const struct rs *r,
    struct cf_err *err)
{
	enum cf_errcode ec = CF_ENET;
	char code[64];

	xml_text(r->msg, r->msg + r->msglen, "Code", code, sizeof(code));
	if (r->status == 404)
		ec = CF_ENOTFOUND;
	else if (r->status == 401 || r->status == 403)
		ec = CF_EAUTH;
	else if (r->status == 409 || r->status == 412)
		ec = CF_EEXIST;
	return cf_err_set(err, ec, "S3 %s %s/%s%s: HTTP %ld%s%s", q->method,
	    s->cfg.bucket, q->key ? s->kprefix : "", q->key ? q->key : "",
	    r->status, code[0] ? " " : "", code);
}

/* Sleep before try ${i} + 2: 100 ms doubling to 5 s, half of it jitter. */
static void
backoff(unsigned i)
{
	unsigned ms = 100u << (i < 6 ? i : 6);
	struct timespec ts;
	uint32_t j;

	if (ms > 5000)
		ms = 5000;
	cf_crypto_random(&j, sizeof(j));
	ms = ms / 2 + j % (ms / 2 + 1);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Run a request with retries: 0 on a 2xx answer (in *r), else -1. */
static int
run(struct s3 *s, const struct rq *q, struct rs *r, struct cf_err *err)
{
	CURL *c = take(s);
	CURLcode cc = CURLE_OK;
	unsigned tries = 0;
	int rc = -1;

	if (c == NULL)
		return cf_err_set(err, CF_ENOMEM, "curl_easy_init failed");
	while (tries < s->attempts) {
		if (tries > 0)
			backoff(tries - 1);
		tries++;
		rc = attempt(s, c, q, r, &cc, err);
		if (!retryable(rc, cc, r))
			break;
		if (rc == 0)
			rc = status_error(s, q, r, err);
	}
	give(s, c);
	r->tries = tries;
	if (rc != 0)
		return -1;
	if (r->status < 200 || r->status >= 300)
		return status_error(s, q, r, err);
	return 0;
}

/* --- uploads -------------------------------------------------------- */

static int
put_object(struct cf_blobw *w, struct cf_err *err)
{
	struct rq q = {.method = "PUT",
	    .key = w->key,
	    .body = w->buf,
	    .n = w->len,
	    .ctype = "application/octet-stream"};
	struct rs r;

	return run(w->s, &q, &r, err);
}

static void abort_strays(struct cf_blobw *w);

static int
create_upload(struct cf_blobw *w, struct cf_err *err)
{
	struct rq q = {.method = "POST",
	    .key = w->key,
	    .query = "uploads=",
	    .ctype = "application/octet-stream"};
	struct cf_buf x;
	struct rs r;
	int rc = -1;

	cf_buf_init(&x, 65536);
	q.xml = &x;
	if (run(w->s, &q, &r, err) != 0)
		goto out;
	if (xml_text((const char *)x.p, (const char *)x.p + x.len, "UploadId",
	        w->upload, sizeof(w->upload)) == NULL ||
	    w->upload[0] == '\0' || !token_ok(w->upload, "+/=!*'()$@,;:"))
		rc = cf_err_set(err, CF_ENET,
		    "S3 CreateMultipartUpload %s: no usable UploadId in the "
		    "answer",
		    w->key);
	else
		rc = 0;
	if (rc == 0 && r.tries > 1)
		abort_strays(w);
out:
	cf_buf_release(&x);
	return rc;
}

/* "partNumber=N&uploadId=ID" or "uploadId=ID" (sorted, encoded). */
static int
upload_query(const char *id, uint32_t part, char *q, size_t max)
{
	size_t n = 0;

	if (part > 0) {
		n = (size_t)snprintf(q, max, "partNumber=%u&", part);
		if (n >= max)
			return -1;
	}
	return add(q, max, &n, "uploadId=") || enc(q, max, &n, id, 0) ? -1 : 0;
}

static int
put_part(struct cf_blobw *w, struct cf_err *err)
{
	struct rq q = {
	    .method = "PUT", .key = w->key, .body = w->buf, .n = w->len};
	char query[UPLOAD_ID_MAX * 3 + 64];
	struct rs r;
	void *p;

	if (w->nparts == PARTS_MAX)
		return cf_err_set(err, CF_ELIMIT,
		    "S3 upload of %s: more than %u parts (raise part_size_mib)",
		    w->key, PARTS_MAX);
	if (w->nparts == w->etcap) {
		uint32_t cap = w->etcap ? w->etcap * 2 : 16;

		if ((p = cf_realloc_array(w->etags, cap, ETAG_MAX)) == NULL)
			return cf_err_set(err, CF_ENOMEM, "out of memory");
		w->etags = p;
		w->etcap = cap;
	}
	if (upload_query(w->upload, w->nparts + 1, query, sizeof(query)) != 0)
		return cf_err_set(err, CF_ELIMIT, "S3 UploadId too long");
	q.query = query;
	if (run(w->s, &q, &r, err) != 0)
		return -1;
	if (r.etag[0] == '\0' || !token_ok(r.etag, "\""))
		return cf_err_set(err, CF_ENET,
		    "S3 UploadPart %s: no usable ETag in the answer", w->key);
	memcpy(w->etags[w->nparts++], r.etag, ETAG_MAX);
	w->len = 0;
	return 0;
}

static int
flush_part(struct cf_blobw *w, struct cf_err *err)
{
	if (w->upload[0] == '\0' && create_upload(w, err) != 0)
		return -1;
	return put_part(w, err);
}

/* The object's size per HEAD; 1 if there is none. */
static int
head_size(struct s3 *s, const char *key, uint64_t *size, struct cf_err *err)
{
	struct rq q = {.method = "HEAD", .key = key};
	struct rs r;

	if (run(s, &q, &r, err) != 0)
		return err->code == CF_ENOTFOUND ? 1 : -1;
	if (!r.has_clen)
		return cf_err_set(err, CF_ENET, "S3 HEAD %s: no Content-Length",
		    key);
	*size = r.clen;
	return 0;
}

static int
complete_xml(const struct cf_blobw *w, struct cf_buf *x, struct cf_err *err)
{
	char part[ETAG_MAX + 80];

	cf_buf_add(x, "<CompleteMultipartUpload>", 25);
	for (uint32_t i = 0; i < w->nparts; i++) {
		int n = snprintf(part, sizeof(part),
		    "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>",
		    i + 1, w->etags[i]);

		cf_buf_add(x, part, (size_t)n);
	}
	cf_buf_add(x, "</CompleteMultipartUpload>", 26);
	return cf_buf_check(x, err, "CompleteMultipartUpload");
}

/* CompleteMultipartUpload.  If an earlier try did complete it but its
 * answer was lost, the retry finds no such upload: then the object is
 * there, with its size, and that is success. */
static int
complete(struct cf_blobw *w, struct cf_err *err)
{
	struct rq q = {.method = "POST",
	    .key = w->key,
	    .ctype = "application/xml",
	    .body_errors = 1};
	char query[UPLOAD_ID_MAX * 3 + 64];
	struct cf_buf x, ans;
	struct rs r;
	uint64_t size = 0;
	int rc = -1;

	cf_buf_init(&x, (size_t)w->nparts * (ETAG_MAX + 80) + 128);
	cf_buf_init(&ans, XML_MAX);
	q.xml = &ans;
	if (upload_query(w->upload, 0, query, sizeof(query)) != 0) {
		cf_err_set(err, CF_ELIMIT, "S3 UploadId too long");
		goto out;
	}
	if (complete_xml(w, &x, err) != 0)
		goto out;
	q.query = query;
	q.body = x.p;
	q.n = x.len;
	rc = run(w->s, &q, &r, err);
	if (rc != 0 && err->code == CF_ENOTFOUND &&
	    head_size(w->s, w->key, &size, err) == 0 && size == w->total)
		rc = 0;
out:
	cf_buf_release(&x);
	cf_buf_release(&ans);
	return rc;
}

/* AbortMultipartUpload ${id} of ${w}'s key; best effort (404: gone). */
static void
abort_id(struct cf_blobw *w, const char *id)
{
	struct rq q = {.method = "DELETE", .key = w->key};
	char query[UPLOAD_ID_MAX * 3 + 64];
	struct cf_err err;
	struct rs r;

	if (upload_query(id, 0, query, sizeof(query)) != 0)
		return;
	q.query = query;
	(void)run(w->s, &q, &r, &err);
}

static void
abort_upload(struct cf_blobw *w)
{
	if (w->upload[0] == '\0')
		return;
	abort_id(w, w->upload);
	w->upload[0] = '\0';
}

/* One <Upload> of a ListMultipartUploads page: abort it if it is for
 * ${w}'s key and not ${w}'s own. */
static void
abort_if_stray(struct cf_blobw *w, const char *p, const char *end)
{
	char key[KEY_MAX + 1], id[UPLOAD_ID_MAX];
	size_t kl = strlen(w->s->kprefix);

	if (xml_text(p, end, "Key", key, sizeof(key)) != NULL &&
	    xml_text(p, end, "UploadId", id, sizeof(id)) != NULL &&
	    strncmp(key, w->s->kprefix, kl) == 0 &&
	    strcmp(key + kl, w->key) == 0 && strcmp(id, w->upload) != 0)
		abort_id(w, id);
}

/* A CreateMultipartUpload that needed retries may have started uploads
 * whose answers were lost.  Nobody else writes this fresh key, so every
 * other upload of it is such a stray: abort them (best effort). */
static void
abort_strays(struct cf_blobw *w)
{
	char query[4 * KEY_MAX];
	struct rq q = {.method = "GET", .query = query};
	const char *p, *end, *a, *b;
	struct cf_buf x;
	struct cf_err err;
	struct rs r;
	size_t n = 0;

	if (add(query, sizeof(query), &n, "prefix=") ||
	    enc(query, sizeof(query), &n, w->s->kprefix, 0) ||
	    enc(query, sizeof(query), &n, w->key, 0) ||
	    add(query, sizeof(query), &n, "&uploads="))
		return;
	cf_buf_init(&x, XML_MAX);
	q.xml = &x;
	if (run(w->s, &q, &r, &err) == 0) {
		p = (const char *)x.p;
		end = p + x.len;
		while ((a = memmem(p, (size_t)(end - p), "<Upload>", 8)) !=
		           NULL &&
		       (b = memmem(a, (size_t)(end - a), "</Upload>", 9)) !=
		           NULL) {
			abort_if_stray(w, a, b);
			p = b + 9;
		}
	}
	cf_buf_release(&x);
}

static struct cf_blobw *
s_write_open(struct cf_blobs *bb, const char *key, struct cf_err *err)
{
	struct cf_blobw *w;

	if (strlen(key) >= sizeof(w->key)) {
		cf_err_set(err, CF_ELIMIT, "blob key too long");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	w->s = (struct s3 *)bb;
	memcpy(w->key, key, strlen(key) + 1);
	return w;
}

/* Count ${n} more bytes of buffers against the store's memory cap,
 * waiting up to MEM_WAIT_S for other requests to give some back; then
 * CF_ENOMEM (cofferd answers 503 and the client retries later).  The wait
 * is bounded, so requests that each hold some and want more cannot hang
 * each other for good. */
static int
mem_take(struct s3 *s, size_t n, struct cf_err *err)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += MEM_WAIT_S;
	pthread_mutex_lock(&s->mu);
	while (s->mem_used + n > s->mem_max && rc == 0)
		rc = pthread_cond_timedwait(&s->memcv, &s->mu, &until);
	if (s->mem_used + n <= s->mem_max) {
		s->mem_used += n;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc != 0)
		return cf_err_set(err, CF_ENOMEM,
		    "S3 buffers: %zu MiB in use by other requests (memory_mib)",
		    s->mem_max >> 20);
	return 0;
}

static void
mem_give(struct s3 *s, size_t n)
{
	pthread_mutex_lock(&s->mu);
	s->mem_used -= n;
	pthread_cond_broadcast(&s->memcv);
	pthread_mutex_unlock(&s->mu);
}

/* Room for ${need} bytes in the part buffer (need <= part size): grows
 * by doubling, so small objects cost little memory. */
static int
reserve(struct cf_blobw *w, size_t need, struct cf_err *err)
{
	size_t cap = w->cap ? w->cap : 65536;
	uint8_t *p;

	if (need <= w->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > w->s->part)
		cap = w->s->part;
	if (mem_take(w->s, cap - w->cap, err) != 0)
		return -1;
	if ((p = realloc(w->buf, cap)) == NULL) {
		mem_give(w->s, cap - w->cap);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	w->buf = p;
	w->cap = cap;
	return 0;
}

static int
s_write(struct cf_blobw *w, const uint8_t *p, size_t n, struct cf_err *err)
{
	while (n > 0) {
		size_t k;

		/* A full part goes out only once more bytes follow: an object
		 * of exactly one part stays a single PUT. */
		if (w->len == w->s->part && flush_part(w, err) != 0)
			return -1;
		k = w->s->part - w->len;
		if (k > n)
			k = n;
		if (reserve(w, w->len + k, err) != 0)
			return -1;
		memcpy(w->buf + w->len, p, k);
		w->len += k;
		w->total += k;
		p += k;
		n -= k;
	}
	return 0;
}

static void
s_write_abort(struct cf_blobw *w)
{
	if (w == NULL)
		return;
	abort_upload(w);
	mem_give(w->s, w->cap);
	free(w->buf);
	free(w->etags);
	free(w);
}

static int
s_write_commit(struct cf_blobw *w, struct cf_err *err)
{
	int rc;

	if (w->upload[0] == '\0')
		rc = put_object(w, err);
	else if ((rc = w->len > 0 ? put_part(w, err) : 0) == 0 &&
	         (rc = complete(w, err)) == 0)
		w->upload[0] = '\0'; /* nothing to abort */
	s_write_abort(w);
	return rc;
}

/* --- downloads ------------------------------------------------------ */

/* A window of at least ${n} bytes, counted against the memory cap. */
static int
window(struct cf_blobr *b, size_t n, struct cf_err *err)
{
	void *p;

	if (n <= b->wcap)
		return 0;
	if (mem_take(b->s, n - b->wcap, err) != 0)
		return -1;
	if ((p = realloc(b->win, n)) == NULL) {
		mem_give(b->s, n - b->wcap);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	b->win = p;
	b->wcap = n;
	return 0;
}

/* Fill the window from ${off}: the rest of the declared range (at least
 * ${want}), at most WINDOW_MAX, not past the end of the object.  1 if
 * ${off} is past the end (416). */
static int
fetch(struct cf_blobr *b, uint64_t off, size_t want, struct cf_err *err)
{
	struct rq q = {.method = "GET", .key = b->key, .roff = off};
	uint64_t n = b->end > off ? b->end - off : 0;
	struct rs r;

	if (n < want)
		n = want;
	if (n > WINDOW_MAX)
		n = WINDOW_MAX;
	if (b->size != UINT64_MAX && n > b->size - off)
		n = b->size - off;
	if (window(b, (size_t)n, err) != 0)
		return -1;
	q.rlen = n;
	q.out = b->win;
	q.outmax = (size_t)n;
	b->wlen = 0;
	if (run(b->s, &q, &r, err) != 0)
		return r.status == 416 ? 1 : -1;
	if (r.status != 206 || !r.has_total ||
	    (b->size != UINT64_MAX && r.total != b->size))
		return cf_err_set(err, CF_ENET,
		    "S3 GET %s: HTTP %ld without the range asked for", b->key,
		    r.status);
	b->size = r.total;
	if (r.got != (off + n <= r.total ? n : r.total - off))
		return cf_err_set(err, CF_ENET,
		    "S3 GET %s: %zu bytes where %llu were due", b->key, r.got,
		    (unsigned long long)n);
	b->woff = off;
	b->wlen = r.got;
	return 0;
}

static void
s_read_close(struct cf_blobr *b)
{
	if (b == NULL)
		return;
	mem_give(b->s, b->wcap);
	free(b->win);
	free(b);
}

static struct cf_blobr *
s_read_open(struct cf_blobs *bb, const char *key, uint64_t off, uint64_t len,
    uint64_t *size, struct cf_err *err)
{
	struct cf_blobr *b;
	int rc;

	if (strlen(key) >= sizeof(b->key)) {
		cf_err_set(err, CF_ELIMIT, "blob key too long");
		return NULL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	b->s = (struct s3 *)bb;
	memcpy(b->key, key, strlen(key) + 1);
	b->size = UINT64_MAX; /* unknown */
	b->end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	/* The first window tells the size (Content-Range); an empty range,
	 * or one past the end (416), asks with HEAD. */
	rc = len > 0 ? fetch(b, off, 1, err) : 1;
	if (rc == 1)
		rc = head_size(b->s, key, &b->size, err);
	if (rc != 0) {
		if (rc == 1)
			cf_err_set(err, CF_ENOTFOUND,
			    "S3 %s/%s%s: no such object", b->s->cfg.bucket,
			    b->s->kprefix, key);
		s_read_close(b);
		return NULL;
	}
	*size = b->size;
	return b;
}

static long
s_read(struct cf_blobr *b, uint64_t off, uint8_t *p, size_t n,
    struct cf_err *err)
{
	size_t k;

	if (off >= b->size || n == 0)
		return 0;
	if (off < b->woff || off >= b->woff + b->wlen) {
		if (fetch(b, off, n, err) != 0)
			return -1;
	}
	k = (size_t)(b->woff + b->wlen - off);
	if (k > n)
		k = n;
	memcpy(p, b->win + (off - b->woff), k);
	return (long)k;
}

/* --- deletes, listings, the store ----------------------------------- */

static int
s_del(struct cf_blobs *bb, const char *key, struct cf_err *err)
{
	struct rq q = {.method = "DELETE", .key = key};
	struct rs r;

	if (run((struct s3 *)bb, &q, &r, err) != 0 && err->code != CF_ENOTFOUND)
		return -1;
	return 0;
}

static void
s_close(struct cf_blobs *bb)
{
	struct s3 *s = (struct s3 *)bb;

	if (s == NULL)
		return;
	for (int i = 0; i < s->npool; i++)
		curl_easy_cleanup(s->pool[i]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->memcv);
	sodium_memzero(&s->cfg, sizeof(s->cfg));
	free(s);
}

static const struct cf_blobs_ops s3_ops = {s_write_open, s_write,
    s_write_commit, s_write_abort, s_read_open, s_read, s_read_close, s_del,
    s_close};

/* One <Contents> entry of a listing page. */
static int
list_entry(const struct s3 *s, const char *p, const char *end,
    int (*fn)(void *, const char *, uint64_t), void *arg, struct cf_err *err)
{
	char key[KEY_MAX + 1], num[32];
	size_t kl = strlen(s->kprefix);

	if (xml_text(p, end, "Key", key, sizeof(key)) == NULL ||
	    xml_text(p, end, "Size", num, sizeof(num)) == NULL ||
	    strncmp(key, s->kprefix, kl) != 0)
		return cf_err_set(err, CF_ENET,
		    "S3 listing of %s: malformed entry", s->cfg.bucket);
	return fn(arg, key + kl, strtoull(num, NULL, 10));
}

static int
list_page(const struct s3 *s, const struct cf_buf *x,
    int (*fn)(void *, const char *, uint64_t), void *arg, char *token,
    size_t tmax, struct cf_err *err)
{
	const char *p = (const char *)x->p, *end = p + x->len, *a, *b;
	char trunc[8];
	int rc;

	while ((a = memmem(p, (size_t)(end - p), "<Contents>", 10)) != NULL) {
		if ((b = memmem(a, (size_t)(end - a), "</Contents>", 11)) ==
		    NULL)
			return cf_err_set(err, CF_ENET,
			    "S3 listing: truncated");
		if ((rc = list_entry(s, a, b, fn, arg, err)) != 0)
			return rc;
		p = b + 11;
	}
	xml_text((const char *)x->p, end, "IsTruncated", trunc, sizeof(trunc));
	token[0] = '\0';
	if (strcmp(trunc, "true") == 0 &&
	    (xml_text((const char *)x->p, end, "NextContinuationToken", token,
	         tmax) == NULL ||
	        token[0] == '\0'))
		return cf_err_set(err, CF_ENET,
		    "S3 listing: truncated without a continuation token");
	return 0;
}

static int
list_query(const struct s3 *s, const char *prefix, const char *token, char *q,
    size_t max)
{
	size_t n = 0;

	if (token[0] != '\0' &&
	    (add(q, max, &n, "continuation-token=") ||
	        enc(q, max, &n, token, 0) || add(q, max, &n, "&")))
		return -1;
	return add(q, max, &n, "list-type=2&max-keys=1000&prefix=") ||
	               enc(q, max, &n, s->kprefix, 0) ||
	               enc(q, max, &n, prefix, 0)
	           ? -1
	           : 0;
}

/** cf_blobs_s3_list(b, prefix, fn, arg, err): keys under ${prefix}. */
int
cf_blobs_s3_list(struct cf_blobs *b, const char *prefix,
    int (*fn)(void *, const char *key, uint64_t size), void *arg,
    struct cf_err *err)
{
	struct s3 *s = (struct s3 *)b;
	char token[KEY_MAX + 1] = "", query[4 * KEY_MAX];
	struct rq q = {.method = "GET", .query = query};
	struct cf_buf x;
	struct rs r;
	int rc = 0;

	if (b->ops != &s3_ops)
		return cf_err_set(err, CF_EUSAGE, "not an S3 blob store");
	cf_buf_init(&x, XML_MAX);
	q.xml = &x;
	do {
		if (list_query(s, prefix, token, query, sizeof(query)) != 0)
			rc = cf_err_set(err, CF_ELIMIT,
			    "S3 listing: prefix too long");
		else if ((rc = run(s, &q, &r, err)) == 0)
			rc = list_page(s, &x, fn, arg, token, sizeof(token),
			    err);
	} while (rc == 0 && token[0] != '\0');
	cf_buf_release(&x);
	return rc;
}

/** cf_blobs_s3_uploads(b, n, err): multipart uploads in progress. */
int
cf_blobs_s3_uploads(struct cf_blobs *b, uint64_t *n, struct cf_err *err)
{
	struct s3 *s = (struct s3 *)b;
	char query[512];
	struct rq q = {.method = "GET", .query = query};
	const char *p, *end;
	struct cf_buf x;
	struct rs r;
	size_t len = 0;
	int rc;

	if (b->ops != &s3_ops)
		return cf_err_set(err, CF_EUSAGE, "not an S3 blob store");
	if (add(query, sizeof(query), &len, "prefix=") ||
	    enc(query, sizeof(query), &len, s->kprefix, 0) ||
	    add(query, sizeof(query), &len, "&uploads="))
		return cf_err_set(err, CF_ELIMIT, "S3 prefix too long");
	cf_buf_init(&x, XML_MAX);
	q.xml = &x;
	*n = 0;
	if ((rc = run(s, &q, &r, err)) == 0) {
		p = (const char *)x.p;
		end = p + x.len;
		while ((p = memmem(p, (size_t)(end - p), "<Upload>", 8)) !=
		       NULL) {
			(*n)++;
			p += 8;
		}
	}
	cf_buf_release(&x);
	return rc;
}

/* HEAD the bucket; create it if it is missing (with no
 * LocationConstraint: radosgw refuses us-east-1 there). */
static int
ensure_bucket(struct s3 *s, struct cf_err *err)
{
	struct rq head = {.method = "HEAD"}, put = {.method = "PUT"};
	struct rs r;

	if (run(s, &head, &r, err) == 0)
		return 0;
	if (err->code != CF_ENOTFOUND)
		return -1;
	if (run(s, &put, &r, err) == 0)
		return 0;
	/* 409 BucketAlreadyOwnedByYou: a concurrent cofferd made it. */
	return run(s, &head, &r, err);
}

static int
make_urls(struct s3 *s, struct cf_err *err)
{
	const struct cf_s3_config *c = &s->cfg;
	const char *host = strstr(c->endpoint, "://") + 3;
	size_t n;
	int k;

	n = strlen(c->prefix);
	snprintf(s->kprefix, sizeof(s->kprefix), "%s%s", c->prefix,
	    n > 0 && c->prefix[n - 1] != '/' ? "/" : "");
	if (!c->virtual_host) {
		k = snprintf(s->obj_url, sizeof(s->obj_url), "%s/%s",
		    c->endpoint, c->bucket);
		memcpy(s->bucket_url, s->obj_url, sizeof(s->obj_url));
	} else {
		k = snprintf(s->obj_url, sizeof(s->obj_url), "%.*s%s.%s",
		    (int)(host - c->endpoint), c->endpoint, c->bucket, host);
		snprintf(s->bucket_url, sizeof(s->bucket_url), "%s/",
		    s->obj_url);
	}
	if (k < 0 || (size_t)k + 2 >= sizeof(s->obj_url))
		return cf_err_set(err, CF_EUSAGE, "S3 endpoint too long");
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3",
	    c->region[0] ? c->region : "us-east-1");
	return 0;
}

static int
config_ok(const struct cf_s3_config *c, struct cf_err *err)
{
	if (strstr(c->endpoint, "://") == NULL)
		return cf_err_set(err, CF_EUSAGE,
		    "S3: no endpoint (http://HOST:PORT or https://HOST)");
	if (c->bucket[0] == '\0')
		return cf_err_set(err, CF_EUSAGE, "S3: no bucket");
	if (c->access_key[0] == '\0' || c->secret_key[0] == '\0')
		return cf_err_set(err, CF_EUSAGE,
		    "S3: no access key or secret key");
	if (!token_ok(c->region, ""))
		return cf_err_set(err, CF_EUSAGE, "S3: bad region '%s'",
		    c->region);
	if (c->memory_mib != 0 &&
	    c->memory_mib < (c->part_mib ? c->part_mib : PART_MIB_DEFAULT))
		return cf_err_set(err, CF_EUSAGE,
		    "S3: memory_mib below part_size_mib");
	return 0;
}

/** cf_blobs_s3_open(cfg, err): the S3 blob store. */
struct cf_blobs *
cf_blobs_s3_open(const struct cf_s3_config *cfg, struct cf_err *err)
{
	struct s3 *s;

	if (config_ok(cfg, err) != 0)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	s->base.ops = &s3_ops;
	s->cfg = *cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->memcv, NULL);
	s->mem_max =
	    (size_t)(cfg->memory_mib ? cfg->memory_mib : MEM_MIB_DEFAULT) << 20;
	s->part = (size_t)(cfg->part_mib ? cfg->part_mib : PART_MIB_DEFAULT)
	          << 20;
	s->attempts = cfg->attempts ? cfg->attempts : 8;
	if (s->cfg.timeout_s == 0)
		s->cfg.timeout_s = 30;
	if (make_urls(s, err) != 0 || ensure_bucket(s, err) != 0) {
		s_close(&s->base);
		return NULL;
	}
	return &s->base;
}
