/*
 * meta_sqlite.c: cofferd's embedded metadata store: one SQLite database in
 * WAL mode with synchronous=FULL, so a commit that returned survives a
 * crash.  One connection, serialised by a mutex: every statement is a few
 * microseconds against a B-tree, so this is not the bottleneck (measured in
 * bench/).  Statements are prepared once, at their first use, and kept:
 * parsing the SQL again cost more than running it.  Only file of the
 * server that includes <sqlite3.h>.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "server/backend.h"
#include "store/store.h"

#define SCHEMA_VERSION 1

struct meta_sqlite {
	struct cf_meta base;
	sqlite3 *db;
	pthread_mutex_t mu;
	uint64_t nonce_ops;
	/* Prepared statements by their SQL, which is always a string
	 * literal: one per call site, compared by address.  Under mu. */
	struct cached {
		const char *sql;
		sqlite3_stmt *st;
	} * cache;
	size_t ncache, capcache;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);"
    "CREATE TABLE IF NOT EXISTS accounts(id INTEGER PRIMARY KEY,"
    " created INT NOT NULL, disabled INT NOT NULL DEFAULT 0,"
    " quota_bytes INT NOT NULL, quota_objects INT NOT NULL,"
    " used_bytes INT NOT NULL DEFAULT 0, used_objects INT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS devices(pk BLOB PRIMARY KEY,"
    " account INT NOT NULL REFERENCES accounts(id), scope INT NOT NULL,"
    " created INT NOT NULL, zone TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS invites(hash BLOB PRIMARY KEY,"
    " expires INT NOT NULL, scope INT NOT NULL, used INT NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS objects(account INT NOT NULL, repo TEXT NOT "
    "NULL,"
    " kind INT NOT NULL, name TEXT NOT NULL, size INT NOT NULL,"
    " created INT NOT NULL, deleted INT, blob TEXT NOT NULL,"
    " PRIMARY KEY(account, repo, kind, name)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS objects_deleted ON objects(deleted)"
    " WHERE deleted IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS refs(account INT NOT NULL, repo TEXT NOT NULL,"
    " name TEXT NOT NULL, value BLOB NOT NULL, version INT NOT NULL,"
    " PRIMARY KEY(account, repo, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS nn.nonces(pk BLOB NOT NULL, nonce BLOB NOT "
    "NULL,"
    " expires INT NOT NULL, PRIMARY KEY(pk, nonce)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta VALUES('schema','1');";

/* A database made before devices could be bound to a zone gets the
 * column (every existing device keeps its whole account). */
static int
migrate(sqlite3 *db)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT zone FROM devices LIMIT 0", -1, &st,
	        NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return SQLITE_OK;
	}
	return sqlite3_exec(db,
	    "ALTER TABLE devices ADD COLUMN zone TEXT NOT NULL DEFAULT ''",
	    NULL, NULL, NULL);
}

/* Prepared when the database opens: a failed ROLLBACK would leave the
 * transaction open, and every later request failing. */
static const char sql_begin[] = "BEGIN IMMEDIATE", sql_commit[] = "COMMIT",
                  sql_rollback[] = "ROLLBACK";

static int
dberr(struct meta_sqlite *m, struct cf_err *err, const char *what)
{
	return cf_err_set(err, CF_EDB, "metadata: %s: %s", what,
	    sqlite3_errmsg(m->db));
}

/* Done with a statement from stmt(): reset, so it holds no lock, and kept
 * for the next use. */
static void
done(sqlite3_stmt *st)
{
	if (st != NULL)
		sqlite3_reset(st);
}

/* The statement for ${sql} (a string literal), prepared at its first use;
 * reset, its bindings cleared.  The caller resets it when done (done()). */
static sqlite3_stmt *
prepared(struct meta_sqlite *m, struct cf_err *err, const char *sql)
{
	sqlite3_stmt *st = NULL;

	for (size_t i = 0; i < m->ncache; i++)
		if (m->cache[i].sql == sql) {
			st = m->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (m->ncache == m->capcache) {
		size_t nc = m->capcache ? 2 * m->capcache : 32;
		struct cached *np = realloc(m->cache, nc * sizeof(*np));

		if (np == NULL) {
			cf_err_set(err, CF_ENOMEM, "out of memory");
			return NULL;
		}
		m->cache = np;
		m->capcache = nc;
	}
	if (sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	        NULL) != SQLITE_OK) {
		done(st);
		dberr(m, err, "prepare");
		return NULL;
	}
	m->cache[m->ncache++] = (struct cached){sql, st};
	return st;
}

/* The statement ${sql} with arguments bound: 'i' int64, 't' text,
 * 'b' 32-byte blob, 'n' 16-byte blob, 'B' (pointer, size_t) blob. */
static sqlite3_stmt *
stmt(struct meta_sqlite *m, struct cf_err *err, const char *sql,
    const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int i = 1;

	if ((st = prepared(m, err, sql)) == NULL)
		return NULL;
	va_start(ap, types);
	for (const char *t = types; *t; t++, i++) {
		if (*t == 'i') {
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (*t == 't') {
			sqlite3_bind_text(st, i, va_arg(ap, const char *), -1,
			    SQLITE_TRANSIENT);
		} else if (*t == 'b' || *t == 'n') {
			const void *p = va_arg(ap, const void *);

			sqlite3_bind_blob(st, i, p, *t == 'b' ? 32 : 16,
			    SQLITE_TRANSIENT);
		} else {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT);
		}
	}
	va_end(ap);
	return st;
}

/* Run a statement that returns no row. */
static int
exec(struct meta_sqlite *m, struct cf_err *err, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		dberr(m, err, "step");
	done(st);
	return rc != SQLITE_DONE && rc != SQLITE_ROW ? -1 : 0;
}

static int
begin(struct meta_sqlite *m, struct cf_err *err)
{
	pthread_mutex_lock(&m->mu);
	if (exec(m, err, stmt(m, err, sql_begin, "")) != 0) {
		pthread_mutex_unlock(&m->mu);
		return -1;
	}
	return 0;
}

static int
end(struct meta_sqlite *m, int rc, struct cf_err *err)
{
	struct cf_err e2;

	if (rc >= 0 && exec(m, err, stmt(m, err, sql_commit, "")) != 0)
		rc = -1;
	if (rc < 0)
		(void)exec(m, &e2, stmt(m, &e2, sql_rollback, ""));
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_invite_add(struct cf_meta *mm, const uint8_t hash[32], int64_t expires,
    uint32_t scope, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = exec(m, err,
	    stmt(m, err,
	        "INSERT INTO invites(hash,expires,scope)"
	        " VALUES(?,?,?)",
	        "bii", hash, expires, (int64_t)scope));
	return end(m, rc, err);
}

/* 0 and *scope if the invitation is usable (it is then marked used). */
static int
take_invite(struct meta_sqlite *m, const uint8_t *hash, int64_t now,
    uint32_t *scope, struct cf_err *err)
{
	sqlite3_stmt *st = stmt(m, err,
	    "SELECT scope FROM invites WHERE hash=? AND used=0 AND expires>?",
	    "bi", hash, now);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*scope = (uint32_t)sqlite3_column_int64(st, 0);
	done(st);
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW)
		return dberr(m, err, "invite");
	return exec(m, err,
	    stmt(m, err, "UPDATE invites SET used=1 WHERE hash=?", "b", hash));
}

static int
s_register(struct cf_meta *mm, const uint8_t *hash, const uint8_t pk[32],
    uint64_t qb, uint64_t qo, int64_t now, int64_t *account, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	uint32_t scope = 0;
	int rc = 0;

	if (begin(m, err))
		return -1;
	if (hash != NULL)
		rc = take_invite(m, hash, now, &scope, err);
	if (rc == 0)
		rc = exec(m, err,
		    stmt(m, err,
		        "INSERT INTO accounts(created,"
		        "quota_bytes,quota_objects) VALUES(?,?,?)",
		        "iii", now, (int64_t)qb, (int64_t)qo));
	if (rc == 0) {
		*account = sqlite3_last_insert_rowid(m->db);
		rc = exec(m, err,
		    stmt(m, err,
		        "INSERT INTO devices(pk,account,scope,created)"
		        " VALUES(?,?,?,?)",
		        "biii", pk, *account, (int64_t)scope, now));
	}
	return end(m, rc, err);
}

static int
s_device_get(struct cf_meta *mm, const uint8_t pk[32], struct cf_device_row *d,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT d.account, d.scope, a.disabled, d.zone FROM devices d"
	    " JOIN accounts a ON a.id=d.account WHERE d.pk=?",
	    "b", pk);
	rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW) {
		const unsigned char *z = sqlite3_column_text(st, 3);

		d->account = sqlite3_column_int64(st, 0);
		d->scope = (uint32_t)sqlite3_column_int64(st, 1);
		d->disabled = sqlite3_column_int(st, 2);
		snprintf(d->zone, sizeof(d->zone), "%s",
		    z != NULL ? (const char *)z : "");
		rc = 0;
	} else {
		rc =
		    rc == SQLITE_DONE ? 1 : (st ? dberr(m, err, "device") : -1);
	}
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Replay nonces live in their own database (nn) without fsync: they
 * matter for CF_PROTO_SKEW seconds, and losing them to a power cut only
 * reopens that window for requests captured just before it. */
static int
s_nonce_use(struct cf_meta *mm, const uint8_t pk[32], const uint8_t nonce[16],
    int64_t expires, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = 0;
	if (++m->nonce_ops % 1024 == 0)
		rc = exec(m, err,
		    stmt(m, err,
		        "DELETE FROM nn.nonces WHERE"
		        " expires<?",
		        "i", expires - 1200));
	if (rc == 0) {
		sqlite3_stmt *st = stmt(m, err,
		    "INSERT OR IGNORE INTO nn.nonces"
		    " VALUES(?,?,?)",
		    "bni", pk, nonce, expires);

		rc = exec(m, err, st);
		if (rc == 0 && sqlite3_changes(m->db) == 0)
			rc = 1;
	}
	return end(m, rc, err);
}

/* Size and deleted flag of an object row: 1 if absent. */
static int
obj_row(struct meta_sqlite *m, int64_t a, const char *repo, int kind,
    const char *name, uint64_t *size, int *deleted, char *blob,
    struct cf_err *err)
{
	sqlite3_stmt *st = stmt(m, err,
	    "SELECT size, deleted IS NOT NULL, blob"
	    " FROM objects WHERE account=? AND repo=? AND kind=? AND name=?",
	    "itit", a, repo, (int64_t)kind, name);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*size = (uint64_t)sqlite3_column_int64(st, 0);
		*deleted = sqlite3_column_int(st, 1);
		if (blob != NULL)
			snprintf(blob, CF_BLOBKEY_MAX, "%s",
			    (const char *)sqlite3_column_text(st, 2));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : dberr(m, err, "object");
	}
	done(st);
	return rc;
}

static int
quota_ok(struct meta_sqlite *m, int64_t a, uint64_t size, struct cf_err *err)
{
	sqlite3_stmt *st = stmt(m, err,
	    "SELECT used_bytes+?<=quota_bytes AND "
	    "used_objects+1<=quota_objects FROM accounts WHERE id=?",
	    "ii", (int64_t)size, a);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	done(st);
	return rc < 0 ? dberr(m, err, "quota") : rc;
}

static int
put_state(struct meta_sqlite *m, int64_t a, const char *repo, int kind,
    const char *name, uint64_t size, enum cf_put_state *state, int *exists,
    char *blob, struct cf_err *err)
{
	uint64_t old = 0;
	int deleted = 0,
	    rc = obj_row(m, a, repo, kind, name, &old, &deleted, blob, err);

	*exists = rc == 0;
	if (rc < 0)
		return -1;
	if (rc == 0 && !deleted) {
		*state = old == size ? CF_PUT_EXISTS : CF_PUT_CONFLICT;
		return 0;
	}
	if (rc == 0 && deleted) {
		/* Reviving is for objects named by their hash, whose upload
		 * is then the same bytes.  A deleted config stays as it is
		 * until purged: a new one would destroy it at once. */
		*state = old == size && kind != CF_KIND_CONFIG
		             ? CF_PUT_NEW
		             : CF_PUT_CONFLICT;
		return 0;
	}
	rc = quota_ok(m, a, size, err);
	if (rc < 0)
		return -1;
	*state = rc ? CF_PUT_NEW : CF_PUT_QUOTA;
	return 0;
}

static int
s_put_begin(struct cf_meta *mm, int64_t a, const char *repo, int kind,
    const char *name, uint64_t size, enum cf_put_state *state,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int exists, rc;

	pthread_mutex_lock(&m->mu);
	rc = put_state(m, a, repo, kind, name, size, state, &exists, NULL, err);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_put_commit(struct cf_meta *mm, int64_t a, const char *repo, int kind,
    const char *name, uint64_t size, const char *blob, int64_t now,
    enum cf_put_state *state, char old[CF_BLOBKEY_MAX], struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int exists, rc;

	old[0] = '\0';
	if (begin(m, err))
		return -1;
	rc = put_state(m, a, repo, kind, name, size, state, &exists, old, err);
	if (rc == 0 && *state != CF_PUT_NEW)
		old[0] = '\0';
	if (rc == 0 && *state == CF_PUT_NEW && exists)
		rc = exec(m, err,
		    stmt(m, err,
		        "UPDATE objects SET deleted=NULL,"
		        " blob=? WHERE account=? AND repo=? AND kind=? AND "
		        "name=?",
		        "titit", blob, a, repo, (int64_t)kind, name));
	else if (rc == 0 && *state == CF_PUT_NEW) {
		old[0] = '\0';
		rc = exec(m, err,
		    stmt(m, err,
		        "INSERT INTO objects VALUES"
		        "(?,?,?,?,?,?,NULL,?)",
		        "ititiit", a, repo, (int64_t)kind, name, (int64_t)size,
		        now, blob));
		if (rc == 0)
			rc = exec(m, err,
			    stmt(m, err,
			        "UPDATE accounts SET "
			        "used_bytes=used_bytes+?, "
			        "used_objects=used_objects+1"
			        " WHERE id=?",
			        "ii", (int64_t)size, a));
	}
	return end(m, rc, err);
}

static int
s_object_get(struct cf_meta *mm, int64_t a, const char *repo, int kind,
    const char *name, uint64_t *size, char blob[CF_BLOBKEY_MAX],
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int deleted = 0, rc;

	pthread_mutex_lock(&m->mu);
	rc = obj_row(m, a, repo, kind, name, size, &deleted, blob, err);
	pthread_mutex_unlock(&m->mu);
	return rc == 0 && deleted ? 1 : rc;
}

static int
s_object_list(struct cf_meta *mm, int64_t a, const char *repo, int kind,
    const char *after, struct cf_object_row *rows, size_t max, size_t *n,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT name, size FROM objects WHERE account=? AND"
	    " repo=? AND kind=? AND name>? AND deleted IS NULL"
	    " ORDER BY name LIMIT ?",
	    "ititi", a, repo, (int64_t)kind, after, (int64_t)max);
	while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *nm = (const char *)sqlite3_column_text(st, 0);

		snprintf(rows[*n].name, sizeof(rows[*n].name), "%s",
		    nm ? nm : "");
		rows[(*n)++].size = (uint64_t)sqlite3_column_int64(st, 1);
	}
	rc = st == NULL ? -1 : rc == SQLITE_DONE ? 0 : dberr(m, err, "list");
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_object_delete(struct cf_meta *mm, int64_t a, const char *repo, int kind,
    const char *name, int64_t now, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = exec(m, err,
	    stmt(m, err,
	        "UPDATE objects SET deleted=? WHERE"
	        " account=? AND repo=? AND kind=? AND name=? AND deleted IS "
	        "NULL",
	        "iitit", now, a, repo, (int64_t)kind, name));
	if (rc == 0 && sqlite3_changes(m->db) == 0)
		rc = 1;
	return end(m, rc, err);
}

struct purgerow {
	int64_t account, kind;
	uint64_t size;
	char repo[CF_REPO_NAME_MAX + 1], name[72], blob[CF_BLOBKEY_MAX];
};

static int
purge_batch(struct meta_sqlite *m, int64_t before, struct purgerow *rows,
    size_t *n, struct cf_err *err)
{
	sqlite3_stmt *st = stmt(m, err,
	    "SELECT account, repo, kind, name, size,"
	    " blob FROM objects WHERE deleted IS NOT NULL AND deleted<?"
	    " LIMIT 256",
	    "i", before);
	int rc;

	*n = 0;
	while (st != NULL && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct purgerow *r = &rows[(*n)++];

		r->account = sqlite3_column_int64(st, 0);
		snprintf(r->repo, sizeof(r->repo), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		r->kind = sqlite3_column_int64(st, 2);
		snprintf(r->name, sizeof(r->name), "%s",
		    (const char *)sqlite3_column_text(st, 3));
		r->size = (uint64_t)sqlite3_column_int64(st, 4);
		snprintf(r->blob, sizeof(r->blob), "%s",
		    (const char *)sqlite3_column_text(st, 5));
	}
	rc = st == NULL ? -1 : rc == SQLITE_DONE ? 0 : dberr(m, err, "purge");
	done(st);
	return rc;
}

/* Delete a row only if it is still the same deleted version; *gone says
 * whether it was. */
static int
purge_row(struct meta_sqlite *m, const struct purgerow *r, int64_t before,
    int *gone, struct cf_err *err)
{
	int rc = exec(m, err,
	    stmt(m, err,
	        "DELETE FROM objects WHERE account=?"
	        " AND repo=? AND kind=? AND name=? AND blob=? AND"
	        " deleted IS NOT NULL AND deleted<?",
	        "ititti", r->account, r->repo, r->kind, r->name, r->blob,
	        before));

	*gone = rc == 0 && sqlite3_changes(m->db) == 1;
	if (rc == 0 && *gone)
		rc = exec(m, err,
		    stmt(m, err,
		        "UPDATE accounts SET used_bytes="
		        "used_bytes-?, used_objects=used_objects-1 WHERE id=?",
		        "ii", (int64_t)r->size, r->account));
	return rc;
}

static int
s_purge(struct cf_meta *mm, int64_t before, int (*fn)(void *, const char *),
    void *arg, uint64_t *purged, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	struct purgerow *rows = calloc(256, sizeof(*rows));
	int *gone = calloc(256, sizeof(int));
	size_t n;
	int rc = 0;

	*purged = 0;
	if (rows == NULL || gone == NULL) {
		free(rows);
		free(gone);
		return cf_err_set(err, CF_ENOMEM, "out of memory");
	}
	do {
		if (begin(m, err)) {
			rc = -1;
			break;
		}
		rc = purge_batch(m, before, rows, &n, err);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = purge_row(m, &rows[i], before, &gone[i], err);
		rc = end(m, rc, err);
		/* Rows are gone for good: now their bytes can go. */
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (gone[i]) {
				rc = fn(arg, rows[i].blob) != 0 ? -1 : 0;
				(*purged)++;
			}
	} while (rc == 0 && n > 0);
	free(rows);
	free(gone);
	return rc;
}

static int
s_ref_get(struct cf_meta *mm, int64_t a, const char *repo, const char *name,
    uint8_t *value, size_t max, size_t *n, uint64_t *version,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT value, version FROM refs WHERE account=? AND"
	    " repo=? AND name=?",
	    "itt", a, repo, name);
	rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 0);

		*n = len < max ? len : max;
		if (*n > 0)
			memcpy(value, sqlite3_column_blob(st, 0), *n);
		*version = (uint64_t)sqlite3_column_int64(st, 1);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : (st ? dberr(m, err, "ref") : -1);
	}
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* 1 if the ref is there, 0 if not, -1 on error. */
static int
ref_exists(struct meta_sqlite *m, int64_t a, const char *repo, const char *name,
    struct cf_err *err)
{
	sqlite3_stmt *st = stmt(m, err,
	    "SELECT 1 FROM refs WHERE account=? AND repo=? AND name=?", "itt",
	    a, repo, name);
	int rc = st == NULL ? -1 : sqlite3_step(st);

	rc = rc == SQLITE_ROW    ? 1
	     : rc == SQLITE_DONE ? 0
	     : st == NULL        ? -1
	                         : dberr(m, err, "ref lookup");
	done(st);
	return rc;
}

static int
s_ref_cas(struct cf_meta *mm, int64_t a, const char *repo, const char *name,
    uint64_t expect, const uint8_t *value, size_t n, uint64_t *version,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	if (expect == 0)
		rc = exec(m, err,
		    stmt(m, err,
		        "INSERT OR IGNORE INTO refs SELECT ?1,?2,?3,?4,1 "
		        "WHERE ?1=0 OR (SELECT count(*) FROM refs WHERE "
		        "account=?1) < " CF_STR(CF_REFS_MAX),
		        "ittB", a, repo, name, value, n));
	else
		rc = exec(m, err,
		    stmt(m, err,
		        "UPDATE refs SET value=?, version="
		        "version+1 WHERE account=? AND repo=? AND name=? AND "
		        "version=?",
		        "Bitti", value, n, a, repo, name, (int64_t)expect));
	/* not changed: another version, or (a new ref) there already, or
	 * over the limit */
	if (rc == 0 && sqlite3_changes(m->db) == 0) {
		rc = expect != 0 ? 1 : ref_exists(m, a, repo, name, err);
		rc = rc < 0 ? -1 : rc == 1 ? 1 : 2;
	}
	*version = expect + 1;
	return end(m, rc, err);
}

static int
s_accounts(struct cf_meta *mm, int (*fn)(void *, const struct cf_account_row *),
    void *arg, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	struct cf_account_row r;
	sqlite3_stmt *st;
	int rc, stop = 0;

	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT id, created, disabled, quota_bytes,"
	    " quota_objects, used_bytes, used_objects, (SELECT count(*) FROM"
	    " devices d WHERE d.account=a.id) FROM accounts a ORDER BY id",
	    "");
	while (st != NULL && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.created = sqlite3_column_int64(st, 1);
		r.disabled = sqlite3_column_int(st, 2);
		r.quota_bytes = (uint64_t)sqlite3_column_int64(st, 3);
		r.quota_objects = (uint64_t)sqlite3_column_int64(st, 4);
		r.used_bytes = (uint64_t)sqlite3_column_int64(st, 5);
		r.used_objects = (uint64_t)sqlite3_column_int64(st, 6);
		r.devices = (uint64_t)sqlite3_column_int64(st, 7);
		stop = fn(arg, &r);
	}
	rc = st == NULL                    ? -1
	     : (stop || rc == SQLITE_DONE) ? 0
	                                   : dberr(m, err, "accounts");
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_account_set(struct cf_meta *mm, int64_t a, int disabled, int64_t qb,
    int64_t qo, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = exec(m, err,
	    stmt(m, err,
	        "UPDATE accounts SET"
	        " disabled=CASE WHEN ?<0 THEN disabled ELSE ? END,"
	        " quota_bytes=CASE WHEN ?<0 THEN quota_bytes ELSE ? END,"
	        " quota_objects=CASE WHEN ?<0 THEN quota_objects ELSE ? END"
	        " WHERE id=?",
	        "iiiiiii", (int64_t)disabled, (int64_t)disabled, qb, qb, qo, qo,
	        a));
	if (rc == 0 && sqlite3_changes(m->db) == 0)
		rc = 1;
	return end(m, rc, err);
}

static void
s_close(struct cf_meta *mm)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;

	for (size_t i = 0; i < m->ncache; i++)
		sqlite3_finalize(m->cache[i].st);
	free(m->cache);
	sqlite3_close(m->db);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static int
s_device_add(struct cf_meta *mm, int64_t a, const uint8_t pk[32],
    uint32_t scope, const char *zone, int64_t now, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = exec(m, err,
	    stmt(m, err,
	        "INSERT OR IGNORE INTO devices(pk,account,scope,created,"
	        "zone) VALUES(?,?,?,?,?)",
	        "biiit", pk, a, (int64_t)scope, now, zone ? zone : ""));
	if (rc == 0 && sqlite3_changes(m->db) == 0) {
		sqlite3_stmt *st = stmt(m, err,
		    "SELECT account, scope, zone FROM devices "
		    "WHERE pk=?",
		    "b", pk);
		const char *z;

		if (st == NULL || sqlite3_step(st) != SQLITE_ROW ||
		    sqlite3_column_int64(st, 0) != a)
			rc = 1;
		else if (sqlite3_column_int64(st, 1) != (int64_t)scope ||
		         (z = (const char *)sqlite3_column_text(st, 2)) ==
		             NULL ||
		         strcmp(z, zone ? zone : "") != 0)
			rc = 2; /* never changed in place: remove it first */
		done(st);
	}
	return end(m, rc, err);
}

static int
s_device_remove(struct cf_meta *mm, int64_t a, const uint8_t pk[32],
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	int rc;

	if (begin(m, err))
		return -1;
	rc = exec(m, err,
	    stmt(m, err,
	        "DELETE FROM devices WHERE pk=? AND "
	        "account=?",
	        "bi", pk, a));
	if (rc == 0 && sqlite3_changes(m->db) == 0)
		rc = 1;
	return end(m, rc, err);
}

static int
s_repo_list(struct cf_meta *mm, int64_t a, int (*fn)(void *, const char *),
    void *arg, struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	sqlite3_stmt *st;
	int rc, stop = 0;

	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT repo FROM objects WHERE account=? AND kind=0"
	    " AND deleted IS NULL ORDER BY repo",
	    "i", a);
	while (st != NULL && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(arg, (const char *)sqlite3_column_text(st, 0));
	rc = st == NULL                    ? -1
	     : (stop || rc == SQLITE_DONE) ? 0
	                                   : dberr(m, err, "repos");
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_ref_list(struct cf_meta *mm, int64_t a, const char *repo, int top,
    int (*fn)(void *, const char *, const uint8_t *, size_t), void *arg,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;
	sqlite3_stmt *st;
	int rc, stop = 0;

	pthread_mutex_lock(&m->mu);
	st = stmt(m, err,
	    "SELECT name, value FROM refs WHERE account=? AND repo=?"
	    " AND (?=0 OR instr(name, '.')=0) ORDER BY name",
	    "iti", a, repo, (int64_t)top);
	while (st != NULL && !stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(arg, (const char *)sqlite3_column_text(st, 0),
		    sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	rc = st == NULL                    ? -1
	     : (stop || rc == SQLITE_DONE) ? 0
	                                   : dberr(m, err, "refs");
	done(st);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int
s_ref_delete(struct cf_meta *mm, int64_t a, const char *repo, const char *name,
    struct cf_err *err)
{
	struct meta_sqlite *m = (struct meta_sqlite *)mm;

	if (begin(m, err))
		return -1;
	return end(m,
	    exec(m, err,
	        stmt(m, err,
	            "DELETE FROM refs WHERE account=? AND repo=? AND name=?",
	            "itt", a, repo, name)),
	    err);
}

static const struct cf_meta_ops sqlite_ops = {s_invite_add, s_register,
    s_device_get, s_nonce_use, s_put_begin, s_put_commit, s_object_get,
    s_object_list, s_object_delete, s_purge, s_ref_get, s_ref_cas, s_accounts,
    s_account_set, s_close, s_device_add, s_device_remove, s_repo_list,
    s_ref_list, s_ref_delete};

static int
attach_nonces(struct meta_sqlite *m, const char *path)
{
	char *sql = sqlite3_mprintf("ATTACH %Q AS nn;"
	                            "PRAGMA nn.journal_mode=WAL;"
	                            "PRAGMA nn.synchronous=OFF;",
	    path);
	int rc =
	    sql ? sqlite3_exec(m->db, sql, NULL, NULL, NULL) : SQLITE_NOMEM;

	sqlite3_free(sql);
	return rc;
}

/** cf_meta_sqlite_open(path, err): open or create the database. */
struct cf_meta *
cf_meta_sqlite_open(const char *path, struct cf_err *err)
{
	struct meta_sqlite *m;
	char npath[4096];

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		cf_err_set(err, CF_ENOMEM, "out of memory");
		return NULL;
	}
	m->base.ops = &sqlite_ops;
	pthread_mutex_init(&m->mu, NULL);
	snprintf(npath, sizeof(npath), "%s-nonces", path);
	if (sqlite3_open_v2(path, &m->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(m->db, 30000) != SQLITE_OK ||
	    attach_nonces(m, npath) != SQLITE_OK ||
	    sqlite3_exec(m->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    migrate(m->db) != SQLITE_OK ||
	    prepared(m, err, sql_begin) == NULL ||
	    prepared(m, err, sql_commit) == NULL ||
	    prepared(m, err, sql_rollback) == NULL) {
		cf_err_set(err, CF_EDB, "cannot open metadata database %s: %s",
		    path, m->db ? sqlite3_errmsg(m->db) : "out of memory");
		s_close(&m->base);
		return NULL;
	}
	return &m->base;
}
