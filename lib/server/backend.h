/*
 * backend.h: what cofferd stores, behind two interfaces, so the HTTP layer
 * never knows whether it runs on one folder (SQLite + files, the embedded
 * default) or on PostgreSQL + an S3 object store.
 *
 * The metadata store keeps accounts, devices, invitations, the object
 * catalogue (sizes, soft deletes), refs and replay nonces; the blob store
 * keeps object bytes under opaque keys.  Neither ever sees a key or a
 * plaintext: objects are ciphertext named by their hash.
 * Errors: 0 / -1 with *err.  Both interfaces are safe to call from several
 * threads at once.
 */
#ifndef CF_BACKEND_H
#define CF_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CF_DEVPK_BYTES 32
#define CF_REPO_NAME_MAX 64
#define CF_BLOBKEY_MAX 192

/* Device scopes. */
#define CF_SCOPE_APPEND_ONLY 1u /* may add, may never delete */

struct cf_device_row {
	int64_t account;
	uint32_t scope;
	int disabled; /* the account is disabled */
	/* The only repository (zone) this key may use; "" for all of its
	 * account's.  Write-only credentials are bound to their zone. */
	char zone[CF_REPO_NAME_MAX + 1];
};

struct cf_account_row {
	int64_t id;
	int64_t created;
	int disabled;
	uint64_t quota_bytes, quota_objects, used_bytes, used_objects;
	uint64_t devices;
};

struct cf_object_row {
	char name[72];
	uint64_t size;
};

/* Results of a put attempt. */
enum cf_put_state {
	CF_PUT_NEW = 0,      /* upload the bytes, then commit */
	CF_PUT_EXISTS = 1,   /* already stored (content-addressed): done */
	CF_PUT_QUOTA = 2,    /* would exceed the account's quota */
	CF_PUT_CONFLICT = 3, /* a non-hash name exists with other bytes */
};

struct cf_meta;

/* Refs an account may hold: a client uses one (its device chain). */
#define CF_REFS_MAX 1000

/* A number as a string literal, for SQL text. */
#define CF_STR_(x) #x
#define CF_STR(x) CF_STR_(x)

struct cf_meta_ops {
	int (*invite_add)(struct cf_meta *, const uint8_t hash[32],
	    int64_t expires, uint32_t scope, struct cf_err *);
	/* Consume invitation ${hash} (NULL: open registration) and create an
	 * account with one device.  1 if the invitation is unknown, used or
	 * expired. */
	int (*register_device)(struct cf_meta *, const uint8_t *hash,
	    const uint8_t pk[32], uint64_t quota_bytes, uint64_t quota_objects,
	    int64_t now, int64_t *account, struct cf_err *);
	/* 1 if the device is unknown. */
	int (*device_get)(struct cf_meta *, const uint8_t pk[32],
	    struct cf_device_row *, struct cf_err *);
	/* 1 if (pk, nonce) was seen already (a replay). */
	int (*nonce_use)(struct cf_meta *, const uint8_t pk[32],
	    const uint8_t nonce[16], int64_t expires, struct cf_err *);
	int (*put_begin)(struct cf_meta *, int64_t account, const char *repo,
	    int kind, const char *name, uint64_t size, enum cf_put_state *,
	    struct cf_err *);
	/* Record an upload stored under blob key ${blob}.  If the state is
	 * not CF_PUT_NEW the upload was not needed (delete ${blob}); *old gets
	 * a blob key the caller must delete ("" if none): that of a
	 * soft-deleted version this upload replaced. */
	int (*put_commit)(struct cf_meta *, int64_t account, const char *repo,
	    int kind, const char *name, uint64_t size, const char *blob,
	    int64_t now, enum cf_put_state *, char old[CF_BLOBKEY_MAX],
	    struct cf_err *);
	/* 1 if absent or soft-deleted. */
	int (*object_get)(struct cf_meta *, int64_t account, const char *repo,
	    int kind, const char *name, uint64_t *size,
	    char blob[CF_BLOBKEY_MAX], struct cf_err *);
	/* Up to ${max} live objects with names > ${after}; *n set. */
	int (*object_list)(struct cf_meta *, int64_t account, const char *repo,
	    int kind, const char *after, struct cf_object_row *rows, size_t max,
	    size_t *n, struct cf_err *);
	/* Soft delete; 1 if absent. */
	int (*object_delete)(struct cf_meta *, int64_t account,
	    const char *repo, int kind, const char *name, int64_t now,
	    struct cf_err *);
	/* Forget objects soft-deleted before ${before}; ${fn} deletes the
	 * bytes of each, after its row is gone. */
	int (*purge)(struct cf_meta *, int64_t before,
	    int (*fn)(void *, const char *key), void *arg, uint64_t *purged,
	    struct cf_err *);
	/* 1 if absent. */
	int (*ref_get)(struct cf_meta *, int64_t account, const char *repo,
	    const char *name, uint8_t *value, size_t max, size_t *n,
	    uint64_t *version, struct cf_err *);
	/* Set if the current version is ${expect} (0: must not exist); 1 on
	 * a mismatch, 2 if it would be the account's CF_REFS_MAX + 1st ref
	 * (refs are not charged to the quota; the pairing pseudo-account 0
	 * has no such limit). *version gets the new version. */
	int (*ref_cas)(struct cf_meta *, int64_t account, const char *repo,
	    const char *name, uint64_t expect, const uint8_t *value, size_t n,
	    uint64_t *version, struct cf_err *);
	int (*accounts)(struct cf_meta *,
	    int (*fn)(void *, const struct cf_account_row *), void *arg,
	    struct cf_err *);
	/* 1 if no such account. */
	int (*account_set)(struct cf_meta *, int64_t account, int disabled,
	    int64_t quota_bytes, int64_t quota_objects, struct cf_err *);
	void (*close)(struct cf_meta *);
	/* Added for accounts with several devices (may be NULL in a store
	 * that predates them: the server then answers 501). */
	/* Add device ${pk} to ${account}, limited to repository ${zone}
	 * unless it is ""; 1 if the key belongs to another account already,
	 * 2 if it is this account's with another scope or zone (a retry of
	 * the same add is 0). */
	int (*device_add)(struct cf_meta *, int64_t account,
	    const uint8_t pk[32], uint32_t scope, const char *zone, int64_t now,
	    struct cf_err *);
	/* Forget device ${pk} of ${account}; 1 if it is not one of its. */
	int (*device_remove)(struct cf_meta *, int64_t account,
	    const uint8_t pk[32], struct cf_err *);
	/* The names of the account's repositories (those with a live config
	 * object), sorted. */
	int (*repo_list)(struct cf_meta *, int64_t account,
	    int (*fn)(void *, const char *), void *arg, struct cf_err *);
	/* Added to clean up pairing mailboxes (may be NULL: they then stay).
	 * Every ref of ${account}'s ${repo} (only those whose name has no
	 * '.' if ${top}), in name order, as ${fn}(arg, name, value, n); ${fn}
	 * runs with the store busy (it must not call the store) and stops the
	 * listing by returning nonzero. */
	int (*ref_list)(struct cf_meta *, int64_t account, const char *repo,
	    int top, int (*fn)(void *, const char *, const uint8_t *, size_t),
	    void *arg, struct cf_err *);
	/* Forget a ref; 0 also if it was absent. */
	int (*ref_delete)(struct cf_meta *, int64_t account, const char *repo,
	    const char *name, struct cf_err *);
};

struct cf_meta {
	const struct cf_meta_ops *ops;
};

/** cf_meta_sqlite_open(path, err): the embedded metadata store. */
struct cf_meta *cf_meta_sqlite_open(const char *path, struct cf_err *err);

/** cf_meta_pg_open(conninfo, err): the metadata store in PostgreSQL, for
 * several cofferd processes sharing one database.  ${conninfo} is a libpq
 * connection string ("postgresql://USER@HOST:PORT/DB", "host=... dbname=...");
 * it is copied.  Connects, then applies pending schema migrations under an
 * advisory lock.  CF_EDB with libpq's message (never the password) when the
 * database is unreachable.  Close with ops->close. */
struct cf_meta *cf_meta_pg_open(const char *conninfo, struct cf_err *err);

/** cf_meta_pg_migrate(conninfo, from, to, err): cf_meta_pg_open, also giving
 * the schema version found (*from, 0 for an empty database) and left (*to). */
struct cf_meta *cf_meta_pg_migrate(const char *conninfo, int *from, int *to,
    struct cf_err *err);

struct cf_blobw; /* an upload in progress */
struct cf_blobr; /* a download in progress */
struct cf_blobs;

struct cf_blobs_ops {
	struct cf_blobw *(*write_open)(struct cf_blobs *, const char *key,
	    struct cf_err *);
	int (*write)(struct cf_blobw *, const uint8_t *, size_t,
	    struct cf_err *);
	/* Durable once this returns 0. */
	int (*write_commit)(struct cf_blobw *, struct cf_err *);
	void (*write_abort)(struct cf_blobw *);
	/* Open ${key} for reading; the caller means to read [off, off + len)
	 * in order (a hint: stores that fetch over a network size their
	 * requests by it; len may be 0).  *size gets the object's size.
	 * CF_ENOTFOUND if there is no such object. */
	struct cf_blobr *(*read_open)(struct cf_blobs *, const char *key,
	    uint64_t off, uint64_t len, uint64_t *size, struct cf_err *);
	/* Bytes read (0 at the end), or -1.  Any offset may be read. */
	long (*read)(struct cf_blobr *, uint64_t off, uint8_t *, size_t,
	    struct cf_err *);
	void (*read_close)(struct cf_blobr *);
	/* 0 also when already absent. */
	int (*del)(struct cf_blobs *, const char *key, struct cf_err *);
	void (*close)(struct cf_blobs *);
};

struct cf_blobs {
	const struct cf_blobs_ops *ops;
};

/** cf_blobs_dir_open(dir, err): objects as files under ${dir}. */
struct cf_blobs *cf_blobs_dir_open(const char *dir, struct cf_err *err);

/* An S3 (or S3-compatible: Ceph radosgw, MinIO) bucket.  Strings are
 * NUL-terminated; a too long value is refused by cf_s3_config_set(). */
struct cf_s3_config {
	char endpoint[256]; /* http(s)://HOST[:PORT], no path */
	char region[64];    /* signing region; "us-east-1" if empty */
	char bucket[64];    /* 3-63 of a-z 0-9 . - */
	char prefix[128];   /* key prefix inside the bucket, may be "" */
	char access_key[128];
	char secret_key[128]; /* wipe with sodium_memzero() after use */
	int virtual_host;     /* 1: BUCKET.HOST/KEY; 0: HOST/BUCKET/KEY */
	uint32_t part_mib;    /* multipart part size; 0: 8 MiB */
	uint32_t timeout_s;   /* a request making no progress this long is
	                       * retried; 0: 30 s */
	uint32_t attempts;    /* tries per request; 0: 8 */
	uint32_t memory_mib;  /* cap on all upload and download buffers
	                       * (part size each at most); 0: 1024 */
};

/** cf_s3_config_set(cfg, key, value, err): set the setting named ${key}
 * (endpoint, region, bucket, prefix, access_key, secret_key, style =
 * path|virtual, part_size_mib, timeout, attempts, memory_mib) from text;
 * -1 with
 * CF_EUSAGE and the reason if the key is unknown or the value bad. */
int cf_s3_config_set(struct cf_s3_config *cfg, const char *key,
    const char *value, struct cf_err *err) CF_WUR;
/** cf_s3_config_parse(cfg, text, n, err): "key = value" lines (blank
 * lines and lines starting with # are skipped) into ${cfg}; the error names
 * the line.  ${text} is the operator's config file: at most 64 KiB. */
int cf_s3_config_parse(struct cf_s3_config *cfg, const char *text, size_t n,
    struct cf_err *err) CF_WUR;
/** cf_s3_config_url(cfg, url, err): take the bucket (and prefix) from
 * s3://BUCKET[/PREFIX]. */
int cf_s3_config_url(struct cf_s3_config *cfg, const char *url,
    struct cf_err *err) CF_WUR;

/** cf_blobs_s3_open(cfg, err): objects in an S3 bucket, created if
 * missing.  Checks the credentials with one request.  The caller must
 * have called curl_global_init() (cf_net_global_init).  ${cfg} is copied;
 * the copy of the secret is wiped by close. */
struct cf_blobs *cf_blobs_s3_open(const struct cf_s3_config *cfg,
    struct cf_err *err);

/** cf_blobs_s3_list(b, prefix, fn, arg, err): every key under
 * ${prefix} (relative to the configured prefix), in order, with its size;
 * ${fn} returning non-zero stops the walk and is returned.  For scrubs and
 * tests; ${b} must come from cf_blobs_s3_open(). */
int cf_blobs_s3_list(struct cf_blobs *b, const char *prefix,
    int (*fn)(void *, const char *key, uint64_t size), void *arg,
    struct cf_err *err) CF_WUR;
/** cf_blobs_s3_uploads(b, n, err): *n = multipart uploads in progress
 * under the configured prefix (left over by crashes; tests). */
int cf_blobs_s3_uploads(struct cf_blobs *b, uint64_t *n,
    struct cf_err *err) CF_WUR;

/** cf_blob_key(out, account, repo, kind, name): a fresh blob store key
 * for one upload of an object: "A/REPO/K/XX/NAME.RANDOM". */
void cf_blob_key(char out[CF_BLOBKEY_MAX], int64_t account, const char *repo,
    int kind, const char *name);

#endif
