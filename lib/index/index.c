#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "index/index.h"

#define IDX_MAGIC0 'C'
#define IDX_MAGIC1 'X'
#define IDX_VERSION 1
#define IDX_MAX_ENTRIES 50000000u

/*
 * Lookups go through connections of their own, a few, each with its lock
 * and opened on first use: restore workers, backup workers and the walk
 * look blobs up at once, and behind the one connection's lock they queued
 * (a third of a restore's context switches were waits for it).  WAL lets
 * them read while the main connection writes; each sees what was
 * committed, and every add commits before it returns.
 */
#define READERS 4

struct reader {
	pthread_mutex_t mu;
	sqlite3 *db; /* NULL until first used, or if it would not open */
	sqlite3_stmt *lookup;
	int tried;
};

struct cf_index {
	sqlite3 *db;
	sqlite3_stmt *lookup, *insert, *hasfile, *addfile, *haspack;
	sqlite3_stmt *subget, *subput;
	pthread_mutex_t mu;
	char *path;
	struct reader rd[READERS];
};

static const char lookup_sql[] =
    "SELECT pack,type,flags,off,len,rawlen,seq,rowid FROM blobs WHERE id=?";

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    /* Every location of a blob (a blob may live in two packs for a while:
     * a prune copies it before the old pack goes); the first wins. */
    "CREATE TABLE IF NOT EXISTS blobs(id BLOB NOT NULL, pack BLOB NOT NULL,"
    " type INT, flags INT, off INT, len INT, rawlen INT, seq INT,"
    " UNIQUE(id, pack));"
    "CREATE INDEX IF NOT EXISTS blobs_pack ON blobs(pack);"
    "CREATE TABLE IF NOT EXISTS files(name TEXT PRIMARY KEY) WITHOUT ROWID;"
    /* Folders as a backup found them (index.h, cf_subtree). */
    "CREATE TABLE IF NOT EXISTS folder_states(state BLOB PRIMARY KEY,"
    " tree BLOB NOT NULL, files INT, dirs INT, bytes INT, used INT NOT NULL)"
    " WITHOUT ROWID;";

static int
db_err(struct cf_index *x, struct cf_err *err, const char *what)
{
	return cf_err_set(err, CF_EDB, "index cache: %s: %s", what,
	    sqlite3_errmsg(x->db));
}

static int
prepare(struct cf_index *x, sqlite3_stmt **st, const char *sql,
    struct cf_err *err)
{
	if (sqlite3_prepare_v3(x->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	        NULL) != SQLITE_OK)
		return db_err(x, err, "prepare");
	return 0;
}

/* Ask the kernel to read the cache file ahead, in the background: a
 * restore or check after a reboot otherwise reads it a page at a time,
 * each lookup waiting for the disk. */
static void
prefetch(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		close(fd);
	}
}

/** cf_index_open(path, err): open the local index cache. */
struct cf_index *
cf_index_open(const char *path, struct cf_err *err)
{
	struct cf_index *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&x->mu, NULL);
	for (int i = 0; i < READERS; i++)
		pthread_mutex_init(&x->rd[i].mu, NULL);
	if ((x->path = strdup(path)) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		goto err0;
	}
	if (sqlite3_open_v2(path, &x->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		cf_err_set(err, CF_EDB, "cannot open index cache %s: %s", path,
		    x->db ? sqlite3_errmsg(x->db) : "out of memory");
		goto err0;
	}
	sqlite3_busy_timeout(x->db, 60000);
	prefetch(path);
	if (sqlite3_exec(x->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		db_err(x, err, "schema");
		goto err0;
	}
	/* Every location of the blob, the first indexed chosen below: an
	 * ORDER BY rowid made SQLite sort (a temporary B-tree) on every
	 * lookup, a third of the cost of each. */
	if (prepare(x, &x->lookup, lookup_sql, err) ||
	    prepare(x, &x->insert,
	        "INSERT OR IGNORE INTO blobs VALUES(?,?,?,?,?,?,?,?)", err) ||
	    prepare(x, &x->hasfile, "SELECT 1 FROM files WHERE name=?", err) ||
	    prepare(x, &x->addfile, "INSERT OR IGNORE INTO files VALUES(?)",
	        err) ||
	    prepare(x, &x->haspack, "SELECT 1 FROM blobs WHERE pack=? LIMIT 1",
	        err) ||
	    prepare(x, &x->subget,
	        "SELECT tree,files,dirs,bytes FROM folder_states WHERE state=?",
	        err) ||
	    prepare(x, &x->subput,
	        "INSERT OR REPLACE INTO folder_states VALUES(?,?,?,?,?,?)",
	        err))
		goto err0;
	return x;
err0:
	cf_index_close(x);
	return NULL;
}

/** cf_index_close(x): close the cache. */
void
cf_index_close(struct cf_index *x)
{
	if (x == NULL)
		return;
	sqlite3_finalize(x->lookup);
	sqlite3_finalize(x->insert);
	sqlite3_finalize(x->hasfile);
	sqlite3_finalize(x->addfile);
	sqlite3_finalize(x->haspack);
	sqlite3_finalize(x->subget);
	sqlite3_finalize(x->subput);
	for (int i = 0; i < READERS; i++) {
		sqlite3_finalize(x->rd[i].lookup);
		sqlite3_close(x->rd[i].db);
		pthread_mutex_destroy(&x->rd[i].mu);
	}
	sqlite3_close(x->db);
	pthread_mutex_destroy(&x->mu);
	free(x->path);
	free(x);
}

/* The reader of this thread, open; NULL (the main connection then
 * serves) if it cannot be opened. */
static struct reader *
reader_of(struct cf_index *x)
{
	static atomic_uint next;
	static _Thread_local int mine = -1;
	struct reader *r;

	if (mine < 0)
		mine = (int)(atomic_fetch_add(&next, 1) % READERS);
	r = &x->rd[mine];
	pthread_mutex_lock(&r->mu);
	if (r->db == NULL && !r->tried) {
		r->tried = 1;
		if (sqlite3_open_v2(x->path, &r->db,
		        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		        NULL) != SQLITE_OK ||
		    sqlite3_busy_timeout(r->db, 60000) != SQLITE_OK ||
		    /* the OS caches the file: each reader keeps little */
		    sqlite3_exec(r->db, "PRAGMA cache_size=-256", NULL, NULL,
		        NULL) != SQLITE_OK ||
		    sqlite3_prepare_v3(r->db, lookup_sql, -1,
		        SQLITE_PREPARE_PERSISTENT, &r->lookup,
		        NULL) != SQLITE_OK) {
			sqlite3_finalize(r->lookup);
			sqlite3_close(r->db);
			r->lookup = NULL;
			r->db = NULL;
		}
	}
	if (r->db != NULL)
		return r; /* locked */
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void
row_to_loc(sqlite3_stmt *st, int c0, struct cf_loc *loc)
{
	const void *pack = sqlite3_column_blob(st, c0);

	if (pack != NULL && sqlite3_column_bytes(st, c0) == 32)
		memcpy(loc->pack, pack, 32);
	else
		memset(loc->pack, 0, 32);
	loc->e.type = (uint8_t)sqlite3_column_int(st, c0 + 1);
	loc->e.flags = (uint8_t)sqlite3_column_int(st, c0 + 2);
	loc->e.off = (uint64_t)sqlite3_column_int64(st, c0 + 3);
	loc->e.len = (uint32_t)sqlite3_column_int64(st, c0 + 4);
	loc->e.rawlen = (uint32_t)sqlite3_column_int64(st, c0 + 5);
	loc->e.seq = (uint64_t)sqlite3_column_int64(st, c0 + 6);
}

/** cf_index_lookup(x, id, loc, err): find blob ${id}. */
int
cf_index_lookup(struct cf_index *x, const uint8_t id[static 32],
    struct cf_loc *loc, struct cf_err *err)
{
	struct reader *r = reader_of(x);
	pthread_mutex_t *mu = r != NULL ? &r->mu : &x->mu;
	sqlite3_stmt *st = r != NULL ? r->lookup : x->lookup;
	sqlite3_int64 first = 0;
	int rc, found = 0;

	if (r == NULL)
		pthread_mutex_lock(mu);
	sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
	/* One row, or two while a prune moves the blob: the older wins. */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 rowid = sqlite3_column_int64(st, 7);

		if (!found || rowid < first) {
			row_to_loc(st, 0, loc);
			first = rowid;
			found = 1;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = cf_err_set(err, CF_EDB, "index cache: lookup: %s",
		    sqlite3_errmsg(r != NULL ? r->db : x->db));
	} else if (found) {
		memcpy(loc->e.id, id, 32);
		rc = 0;
	} else {
		rc = 1;
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(mu);
	return rc;
}

static int
insert_one(struct cf_index *x, const struct cf_loc *l)
{
	sqlite3_stmt *st = x->insert;
	int rc;

	sqlite3_bind_blob(st, 1, l->e.id, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, l->pack, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, l->e.type);
	sqlite3_bind_int(st, 4, l->e.flags);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)l->e.off);
	sqlite3_bind_int64(st, 6, l->e.len);
	sqlite3_bind_int64(st, 7, l->e.rawlen);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)l->e.seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/** cf_index_add(x, file, locs, n, err): record entries in one transaction. */
int
cf_index_add(struct cf_index *x, const char *file, const struct cf_loc *locs,
    size_t n, struct cf_err *err)
{
	int rc = -1;

	pthread_mutex_lock(&x->mu);
	if (sqlite3_exec(x->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(x, err, "begin");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (insert_one(x, &locs[i])) {
			db_err(x, err, "insert");
			goto rollback;
		}
	if (file != NULL) {
		sqlite3_bind_text(x->addfile, 1, file, -1, SQLITE_STATIC);
		rc = sqlite3_step(x->addfile);
		sqlite3_reset(x->addfile);
		if (rc != SQLITE_DONE) {
			rc = -1;
			db_err(x, err, "insert file");
			goto rollback;
		}
	}
	if (sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(x, err, "commit");
		goto rollback;
	}
	rc = 0;
	goto out;
rollback:
	rc = -1;
	(void)sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/** cf_index_has_file(x, file, err): was ${file} imported? */
int
cf_index_has_file(struct cf_index *x, const char *file, struct cf_err *err)
{
	int rc;

	pthread_mutex_lock(&x->mu);
	sqlite3_bind_text(x->hasfile, 1, file, -1, SQLITE_STATIC);
	rc = sqlite3_step(x->hasfile);
	sqlite3_reset(x->hasfile);
	/* the message is the connection's: read it while it is ours */
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_err(x, err, "file lookup");
	pthread_mutex_unlock(&x->mu);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/** cf_index_has_pack(x, pack, err): is ${pack} known? */
int
cf_index_has_pack(struct cf_index *x, const uint8_t pack[static 32],
    struct cf_err *err)
{
	int rc;

	pthread_mutex_lock(&x->mu);
	sqlite3_bind_blob(x->haspack, 1, pack, 32, SQLITE_STATIC);
	rc = sqlite3_step(x->haspack);
	sqlite3_reset(x->haspack);
	/* the message is the connection's: read it while it is ours */
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_err(x, err, "pack lookup");
	pthread_mutex_unlock(&x->mu);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

/** cf_index_sync_files(x, present, arg, dropped, err): if any imported
 * index file is gone from the repository, drop the whole cache (it is
 * rebuilt by the caller).  *dropped says whether that happened. */
int
cf_index_sync_files(struct cf_index *x, int (*present)(void *, const char *),
    void *arg, int *dropped, struct cf_err *err)
{
	sqlite3_stmt *st;
	int rc, gone = 0;

	*dropped = 0;
	pthread_mutex_lock(&x->mu);
	if (sqlite3_prepare_v2(x->db, "SELECT name FROM files", -1, &st,
	        NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&x->mu);
		return db_err(x, err, "list files");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (!present(arg, (const char *)sqlite3_column_text(st, 0))) {
			gone = 1;
			break;
		}
	sqlite3_finalize(st);
	if (gone) {
		if (sqlite3_exec(x->db,
		        "DELETE FROM blobs; DELETE FROM files;"
		        " DELETE FROM folder_states;",
		        NULL, NULL, NULL) != SQLITE_OK) {
			pthread_mutex_unlock(&x->mu);
			return db_err(x, err, "reset");
		}
		*dropped = 1;
	}
	pthread_mutex_unlock(&x->mu);
	return 0;
}

/** cf_index_each_pack(x, fn, arg, err): every known pack. */
int
cf_index_each_pack(struct cf_index *x,
    int (*fn)(void *, const uint8_t *pack, uint64_t nblobs), void *arg,
    struct cf_err *err)
{
	sqlite3_stmt *st;
	int rc = 0, s;

	pthread_mutex_lock(&x->mu);
	if (sqlite3_prepare_v2(x->db,
	        "SELECT pack, count(*) FROM blobs GROUP BY pack", -1, &st,
	        NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&x->mu);
		return db_err(x, err, "list packs");
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue; /* a damaged cache row: not a pack */
		if ((rc = fn(arg, sqlite3_column_blob(st, 0),
		         (uint64_t)sqlite3_column_int64(st, 1))) != 0)
			break;
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = db_err(x, err, "list packs");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/** cf_index_each_blob(x, pack, fn, arg, err): the blobs of ${pack}. */
int
cf_index_each_blob(struct cf_index *x, const uint8_t pack[static 32],
    int (*fn)(void *, const struct cf_loc *), void *arg, struct cf_err *err)
{
	sqlite3_stmt *st;
	struct cf_loc loc;
	int rc = 0, s;

	pthread_mutex_lock(&x->mu);
	if (sqlite3_prepare_v2(x->db,
	        "SELECT id,pack,type,flags,off,len,rawlen,seq FROM blobs"
	        " WHERE pack=? ORDER BY off",
	        -1, &st, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&x->mu);
		return db_err(x, err, "list blobs");
	}
	sqlite3_bind_blob(st, 1, pack, 32, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != 32)
			continue; /* a damaged cache row: not a blob */
		row_to_loc(st, 1, &loc);
		memcpy(loc.e.id, sqlite3_column_blob(st, 0), 32);
		if ((rc = fn(arg, &loc)) != 0)
			break;
	}
	if (rc == 0 && s != SQLITE_DONE)
		rc = db_err(x, err, "list blobs");
	sqlite3_finalize(st);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/** cf_indexfile_encode(locs, n, out): entries grouped by pack. */
void
cf_indexfile_encode(const struct cf_loc *locs, size_t n, struct cf_buf *out)
{
	size_t i = 0;

	cf_buf_add_u8(out, IDX_MAGIC0);
	cf_buf_add_u8(out, IDX_MAGIC1);
	cf_buf_add_u8(out, IDX_VERSION);
	cf_buf_add_uvar(out, n);
	while (i < n) {
		size_t j = i;

		while (j < n && memcmp(locs[j].pack, locs[i].pack, 32) == 0)
			j++;
		cf_buf_add(out, locs[i].pack, 32);
		cf_buf_add_uvar(out, j - i);
		for (; i < j; i++) {
			const struct cf_blobent *e = &locs[i].e;

			cf_buf_add_u8(out, e->type);
			cf_buf_add_u8(out, e->flags);
			cf_buf_add(out, e->id, 32);
			cf_buf_add_uvar(out, e->off);
			cf_buf_add_uvar(out, e->len);
			cf_buf_add_uvar(out, e->rawlen);
			cf_buf_add_uvar(out, e->seq);
		}
	}
}

static int
decode_loc(struct cf_rd *r, const uint8_t pack[32], struct cf_loc *l)
{
	uint64_t len, rawlen;
	struct cf_blobent *e = &l->e;

	memcpy(l->pack, pack, 32);
	if (cf_rd_u8(r, &e->type) || cf_rd_u8(r, &e->flags) ||
	    cf_rd_fixed(r, e->id, 32) || cf_rd_uvar(r, &e->off) ||
	    cf_rd_uvar(r, &len) || cf_rd_uvar(r, &rawlen) ||
	    cf_rd_uvar(r, &e->seq))
		return -1;
	if ((e->type != CF_BLOB_DATA && e->type != CF_BLOB_TREE) ||
	    (e->flags & ~CF_BLOB_ZSTD) || len < CF_TAG_BYTES ||
	    len > CF_BLOB_MAX_RAW + 1024 + CF_TAG_BYTES ||
	    rawlen > CF_BLOB_MAX_RAW || e->off > CF_PACK_MAX_BYTES ||
	    e->seq >= CF_PACK_MAX_BLOBS)
		return -1;
	if (!(e->flags & CF_BLOB_ZSTD) && rawlen != len - CF_TAG_BYTES)
		return -1;
	e->len = (uint32_t)len;
	e->rawlen = (uint32_t)rawlen;
	return 0;
}

/** cf_indexfile_decode(p, n, locs, nlocs, err): parse an index file. */
int
cf_indexfile_decode(const uint8_t *p, size_t n, struct cf_loc **locs,
    size_t *nlocs, struct cf_err *err)
{
	struct cf_loc *l;
	uint8_t m0, m1, v, pack[32];
	uint64_t total, got = 0, cnt;
	struct cf_rd r;

	cf_rd_init(&r, p, n);
	if (cf_rd_u8(&r, &m0) || cf_rd_u8(&r, &m1) || cf_rd_u8(&r, &v) ||
	    m0 != IDX_MAGIC0 || m1 != IDX_MAGIC1 || v != IDX_VERSION ||
	    cf_rd_uvar(&r, &total))
		return cf_err_set(err, CF_EFORMAT, "bad index file header");
	if (total > IDX_MAX_ENTRIES || total > cf_rd_left(&r) / 38)
		return cf_err_set(err, CF_EFORMAT, "index file count invalid");
	if ((l = cf_alloc_array((size_t)total, sizeof(*l))) == NULL)
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	while (got < total) {
		if (cf_rd_fixed(&r, pack, 32) || cf_rd_uvar(&r, &cnt) ||
		    cnt == 0 || cnt > total - got)
			goto bad;
		for (uint64_t i = 0; i < cnt; i++, got++)
			if (decode_loc(&r, pack, &l[got]))
				goto bad;
	}
	if (cf_rd_left(&r) != 0)
		goto bad;
	*locs = l;
	*nlocs = (size_t)total;
	return 0;
bad:
	free(l);
	return cf_err_set(err, CF_EFORMAT, "index file entry invalid");
}

/** cf_index_subtree_get(x, state, out, err): 0 found, 1 absent. */
int
cf_index_subtree_get(struct cf_index *x, const uint8_t state[static 32],
    struct cf_subtree *out, struct cf_err *err)
{
	sqlite3_stmt *st = x->subget;
	int rc;

	pthread_mutex_lock(&x->mu);
	sqlite3_bind_blob(st, 1, state, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
		memcpy(out->state, state, 32);
		memcpy(out->tree, sqlite3_column_blob(st, 0), 32);
		out->files = (uint64_t)sqlite3_column_int64(st, 1);
		out->dirs = (uint64_t)sqlite3_column_int64(st, 2);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 3);
		rc = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = 1;
	} else {
		rc = db_err(x, err, "subtree lookup");
	}
	sqlite3_reset(st);
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/** cf_index_subtree_put(x, v, n, day, err): record ${n} folders at once,
 * as used on ${day}. */
int
cf_index_subtree_put(struct cf_index *x, const struct cf_subtree *v, size_t n,
    int64_t day, struct cf_err *err)
{
	sqlite3_stmt *st = x->subput;
	int rc = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&x->mu);
	if (sqlite3_exec(x->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_err(x, err, "begin");
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		sqlite3_bind_blob(st, 1, v[i].state, 32, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, v[i].tree, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)v[i].files);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)v[i].dirs);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)v[i].bytes);
		sqlite3_bind_int64(st, 6, day);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_err(x, err, "subtree insert");
		sqlite3_reset(st);
	}
	if (rc == 0 &&
	    sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = db_err(x, err, "commit");
	if (rc != 0) /* a failed COMMIT may leave the transaction open */
		(void)sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&x->mu);
	return rc;
}

/** cf_index_subtree_expire(x, before, err): forget the folder states last
 * used before ${before} (a day number). */
int
cf_index_subtree_expire(struct cf_index *x, int64_t before, struct cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	pthread_mutex_lock(&x->mu);
	if (sqlite3_prepare_v2(x->db, "DELETE FROM folder_states WHERE used<?",
	        -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(x, err, "prepare");
	} else {
		sqlite3_bind_int64(st, 1, before);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_err(x, err, "expire folder states");
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&x->mu);
	return rc;
}
