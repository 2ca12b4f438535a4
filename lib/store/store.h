/*
 * store.h: where a repository's objects live.  A store holds named,
 * immutable objects of a few kinds and knows nothing of their content.
 * Implementations: a local folder (store_local.c); the cofferd HTTP store
 * plugs in behind the same table.
 *
 * Names are "config" for CF_KIND_CONFIG and 64 lower-case hex digits
 * (BLAKE2b-256 of the stored bytes) for every other kind; cf_store_*
 * refuse anything else, so a name can never escape the store.
 * Errors: 0 / -1 with *err; a missing object is CF_ENOTFOUND.
 * Thread-safety: every operation may be called from several threads.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

enum cf_kind {
	CF_KIND_CONFIG = 0,
	CF_KIND_KEY,
	CF_KIND_PACK,
	CF_KIND_INDEX,
	CF_KIND_SNAPSHOT,
	CF_KIND_META, /* forget records and prune plans */
	CF_KIND_COUNT
};

#define CF_NAME_BYTES 65 /* 64 hex digits and NUL */
#define CF_GET_ALL UINT64_MAX

/* Put flags. */
#define CF_PUT_EXCL 1 /* fail with CF_EEXIST if the name exists */
/* read again soon (a pack of trees): a local store keeps it in the page
 * cache instead of writing it with O_DIRECT */
#define CF_PUT_HOT 2

typedef int (*cf_list_fn)(void *arg, const char *name, uint64_t size);

struct cf_store;
struct cf_store_stream;

struct cf_store_ops {
	int (*put)(struct cf_store *, enum cf_kind, const char *,
	    const uint8_t *, size_t, int, struct cf_err *);
	int (*get)(struct cf_store *, enum cf_kind, const char *, uint64_t,
	    uint64_t, struct cf_buf *, struct cf_err *);
	int (*size)(struct cf_store *, enum cf_kind, const char *, uint64_t *,
	    struct cf_err *);
	int (*list)(struct cf_store *, enum cf_kind, cf_list_fn, void *,
	    struct cf_err *);
	int (*del)(struct cf_store *, enum cf_kind, const char *,
	    struct cf_err *);
	void (*free)(struct cf_store *);
	/* Optional: a put written in pieces as they are made, named at the
	 * end (packs, so that they need not be held in memory whole). */
	struct cf_store_stream *(*stream_open)(struct cf_store *, enum cf_kind,
	    struct cf_err *);
	int (*stream_write)(struct cf_store_stream *, const uint8_t *, size_t,
	    struct cf_err *);
	int (*stream_commit)(struct cf_store_stream *, const char *, int,
	    struct cf_err *);
	void (*stream_abort)(struct cf_store_stream *);
	/* Optional: remove writes in flight older than a time (dead ones). */
	int (*sweep)(struct cf_store *, int64_t, uint64_t *, uint64_t *,
	    struct cf_err *);
};

struct cf_store {
	const struct cf_store_ops *ops;
	char *where; /* for messages */
	int remote;  /* reads cost a round trip: cache what is read often */
};

/** cf_store_open(where, create, err): a store for the folder ${where}; with
 * ${create}, the folder is made if missing (it must then be empty). */
struct cf_store *cf_store_open(const char *where, int create,
    struct cf_err *err);
/** cf_store_free(s): close; NULL is a no-op. */
void cf_store_free(struct cf_store *s);

/** cf_store_kind_name(kind): "config", "keys", "data", "index", ... */
const char *cf_store_kind_name(enum cf_kind kind);
/** cf_store_name_ok(kind, name): 1 if ${name} is valid for ${kind}. */
int cf_store_name_ok(enum cf_kind kind, const char *name);

/** cf_store_put(s, kind, name, p, n, flags, err): store ${n} bytes durably;
 * returns only once they would survive a crash. */
int cf_store_put(struct cf_store *s, enum cf_kind kind, const char *name,
    const uint8_t *p, size_t n, int flags, struct cf_err *err) CF_WUR;
/** cf_store_get(s, kind, name, off, len, out, err): append bytes
 * [off, off+len) (len CF_GET_ALL: to the end) to ${out}; a short object is
 * CF_EFORMAT. */
int cf_store_get(struct cf_store *s, enum cf_kind kind, const char *name,
    uint64_t off, uint64_t len, struct cf_buf *out, struct cf_err *err) CF_WUR;
int cf_store_size(struct cf_store *s, enum cf_kind kind, const char *name,
    uint64_t *size, struct cf_err *err) CF_WUR;
/** cf_store_list(s, kind, fn, arg, err): call ${fn} for every object; a
 * non-zero return from ${fn} stops the listing and is returned. */
int cf_store_list(struct cf_store *s, enum cf_kind kind, cf_list_fn fn,
    void *arg, struct cf_err *err) CF_WUR;
int cf_store_del(struct cf_store *s, enum cf_kind kind, const char *name,
    struct cf_err *err) CF_WUR;

/** cf_store_can_stream(s): 1 if ${s} takes streamed puts. */
int cf_store_can_stream(const struct cf_store *s);
/** cf_store_stream_open(s, kind, err): begin a put of an object of ${kind}
 * whose name is known only at the end; NULL with *err on failure. */
struct cf_store_stream *cf_store_stream_open(struct cf_store *s,
    enum cf_kind kind, struct cf_err *err);
/** cf_store_stream_write(s, st, p, n, err): append ${n} bytes (written
 * past the page cache when ${p} is page-aligned and ${n} whole MiB). */
int cf_store_stream_write(struct cf_store *s, struct cf_store_stream *st,
    const uint8_t *p, size_t n, struct cf_err *err) CF_WUR;
/** cf_store_stream_commit(s, st, kind, name, flags, err): make the bytes
 * written durable under ${name}, as cf_store_put would; frees ${st}, also
 * on failure (the bytes are then dropped). */
int cf_store_stream_commit(struct cf_store *s, struct cf_store_stream *st,
    enum cf_kind kind, const char *name, int flags, struct cf_err *err) CF_WUR;
/** cf_store_stream_abort(s, st): drop the bytes and free ${st}. */
void cf_store_stream_abort(struct cf_store *s, struct cf_store_stream *st);

/** cf_store_sweep(s, before, n, bytes, err): remove the leftovers of
 * writes that began before the time ${before} (seconds since the epoch) and
 * never finished (a killed process); count them in *n and *bytes.  A store
 * without leftovers does nothing. */
int cf_store_sweep(struct cf_store *s, int64_t before, uint64_t *n,
    uint64_t *bytes, struct cf_err *err) CF_WUR;

/* Implementation constructors. */
struct cf_store *cf_store_local_open(const char *dir, int create,
    struct cf_err *err);

#endif
