#!/usr/bin/env python3
"""srv_pg.py: tests/hostile/srv.py for cofferd on PostgreSQL and S3: the
hostile operator's hands on the database and the bucket that
tests/scaleout/cofferd-pair.py gives the data folder DATA (the same
commands, arguments and output as srv.py; see there).  The metadata is
edited with psql, the object bytes with tests/scaleout/s3util.py.

  srv_pg.py DATA COMMAND ARGS...

Environment: SCALEOUT_TAG, DATABASE_URL, S3_ENDPOINT, S3_ACCESS_KEY,
S3_SECRET_KEY, S3_REGION (as for cofferd-pair.py).
"""
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3util  # noqa: E402

KINDS = {"config": 0, "keys": 1, "data": 2, "index": 3, "snapshots": 4,
         "meta": 5}


def kind(k):
    return int(k) if k.isdigit() else KINDS[k]


def names(data):
    """cofferd-pair.py's names() (the same database and bucket)."""
    h = hashlib.md5(os.path.realpath(data).encode()).hexdigest()[:10]
    tag = os.environ["SCALEOUT_TAG"]
    return "cso_%s_%s" % (tag, h), "cso-%s-%s" % (tag, h)


def b(v):
    """A bytea literal of a str (latin-1) or bytes value."""
    if isinstance(v, str):
        v = v.encode("latin-1")
    return "'\\x%s'::bytea" % v.hex()


def unhex(v):
    """psql's text form of a bytea (\\x...) as bytes."""
    return bytes.fromhex(v[2:]) if v.startswith("\\x") else v.encode()


class Srv:
    def __init__(self, data):
        db, self.bucket = names(data)
        base = os.environ["DATABASE_URL"].split("?")[0]
        self.url = base.rsplit("/", 1)[0] + "/" + db
        self.s3 = s3util.S3()

    def q(self, sql):
        """Rows of a statement: lists of text fields (NULL: None)."""
        r = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
             "-F", "\x1f", "-R", "\x1e", "-P", "null=\x01", "-d", self.url,
             "-c", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.exit("srv_pg.py: %s: %s" % (sql, r.stderr.decode()))
        out = r.stdout.decode("latin-1").rstrip("\n")
        if not out:
            return []
        return [[None if f == "\x01" else f for f in row.split("\x1f")]
                for row in out.split("\x1e")]

    def where(self, acct, repo, k, name):
        return ("account=%d AND repo=%s AND kind=%d AND name=%s" %
                (acct, b(repo), k, b(name)))

    def row(self, acct, repo, k, name):
        r = self.q("SELECT blob, size, deleted FROM objects WHERE " +
                   self.where(acct, repo, k, name))
        if not r:
            sys.exit("srv_pg.py: no object %s/%s/%s/%s" % (acct, repo, k,
                                                           name))
        return unhex(r[0][0]).decode("latin-1"), int(r[0][1]), r[0][2]

    def new_key(self, acct, repo, k, name):
        return "%d/%s/%d/%s/%s.%s" % (acct, repo, k, name[:2], name,
                                      secrets.token_hex(8))

    def read_blob(self, key):
        return self.s3.get(self.bucket, key)

    def write_blob(self, key, data):
        self.s3.put(self.bucket, key, data)


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(argv) < 3:
        sys.exit(__doc__)
    s = Srv(argv[1])
    cmd, a = argv[2], argv[3:]
    q = s.q
    if cmd == "digest":
        h = hashlib.sha256()
        for sql in ("SELECT account, repo, kind, name, size, deleted, blob "
                    "FROM objects ORDER BY 1, 2, 3, 4",
                    "SELECT account, repo, name, value, version FROM refs "
                    "WHERE repo <> %s ORDER BY 1, 2, 3" % b("_pair"),
                    "SELECT pk, account, scope FROM devices ORDER BY 1"):
            for r in q(sql):
                h.update(repr(r).encode())
        for r in q("SELECT blob FROM objects ORDER BY 1"):
            try:
                data = s.read_blob(unhex(r[0]).decode("latin-1"))
                h.update(hashlib.sha256(data).digest())
            except RuntimeError:
                h.update(b"missing")
        print(h.hexdigest())
    elif cmd == "devices":
        for r in q("SELECT pk FROM devices ORDER BY 1"):
            print(unhex(r[0]).hex())
    elif cmd == "ref-get":
        r = q("SELECT value FROM refs WHERE account=%d AND repo=%s AND "
              "name=%s" % (int(a[0]), b(a[1]), b(a[2])))
        if not r:
            sys.exit("srv_pg.py: no ref %s" % a[2])
        sys.stdout.write(unhex(r[0][0]).decode("latin-1") + "\n")
    elif cmd == "ref-set":
        r = q("UPDATE refs SET value=%s, version=version+1 WHERE "
              "account=%d AND repo=%s AND name=%s RETURNING 1" %
              (b(a[3].encode()), int(a[0]), b(a[1]), b(a[2])))
        if len(r) != 1:
            sys.exit("srv_pg.py: no ref %s" % a[2])
    elif cmd == "ref-flip":
        r = q("SELECT value FROM refs WHERE account=%d AND repo=%s AND "
              "name=%s" % (int(a[0]), b(a[1]), b(a[2])))
        v = bytearray(unhex(r[0][0]))
        v[int(a[3])] ^= 0x01
        q("UPDATE refs SET value=%s WHERE account=%d AND repo=%s AND "
          "name=%s" % (b(bytes(v)), int(a[0]), b(a[1]), b(a[2])))
    elif cmd == "ref-copy":
        r = q("SELECT value FROM refs WHERE account=%d AND repo=%s AND "
              "name=%s" % (int(a[0]), b(a[1]), b(a[2])))
        if not r:
            sys.exit("srv_pg.py: no ref %s" % a[2])
        q("INSERT INTO refs(account, repo, name, value, version, writer) "
          "VALUES(%d, %s, %s, %s, 1, 0) ON CONFLICT(account, repo, name) DO "
          "UPDATE SET value=excluded.value, version=refs.version+1" %
          (int(a[0]), b(a[1]), b(a[3]), b(unhex(r[0][0]))))
    elif cmd == "ref-wait":
        end = time.time() + (float(a[3]) if len(a) > 3 else 20)
        pat = a[2].replace("'", "''")
        while True:
            r = q("SELECT name FROM refs WHERE account=%d AND repo=%s AND "
                  "convert_from(name, 'LATIN1') LIKE '%s' LIMIT 1" %
                  (int(a[0]), b(a[1]), pat))
            if r:
                print(unhex(r[0][0]).decode("latin-1"))
                return
            if time.time() > end:
                sys.exit("srv_pg.py: no ref like %s" % a[2])
            time.sleep(0.02)
    elif cmd == "ls":
        sql = ("SELECT name FROM objects WHERE account=%d AND repo=%s AND "
               "kind=%d" % (int(a[0]), b(a[1]), kind(a[2]))
               + ("" if "--all" in a else " AND deleted IS NULL")
               + " ORDER BY created, name")
        for r in q(sql):
            print(unhex(r[0]).decode("latin-1"))
    elif cmd == "get":
        key = s.row(int(a[0]), a[1], kind(a[2]), a[3])[0]
        with open(a[4], "wb") as f:
            f.write(s.read_blob(key))
    elif cmd == "put":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        data = open(a[4], "rb").read()
        key = s.new_key(acct, repo, k, name)
        s.write_blob(key, data)
        q("INSERT INTO objects(account, repo, kind, name, size, created, "
          "deleted, blob) VALUES(%d, %s, %d, %s, %d, %d, NULL, %s) "
          "ON CONFLICT(account, repo, kind, name) DO UPDATE SET "
          "size=excluded.size, created=excluded.created, deleted=NULL, "
          "blob=excluded.blob" % (acct, b(repo), k, b(name), len(data),
                                  int(time.time()), b(key)))
    elif cmd == "replace":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        data = open(a[4], "rb").read()
        key = s.row(acct, repo, k, name)[0]
        s.write_blob(key, data)
        q("UPDATE objects SET size=%d WHERE %s" %
          (len(data), s.where(acct, repo, k, name)))
    elif cmd == "flip":
        key = s.row(int(a[0]), a[1], kind(a[2]), a[3])[0]
        data = bytearray(s.read_blob(key))
        data[int(a[4])] ^= 0x01
        s.write_blob(key, bytes(data))
    elif cmd == "truncate":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        key = s.row(acct, repo, k, name)[0]
        data = s.read_blob(key)[:int(a[4])]
        s.write_blob(key, data)
        q("UPDATE objects SET size=%d WHERE %s" %
          (len(data), s.where(acct, repo, k, name)))
    elif cmd == "delete":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        key = s.row(acct, repo, k, name)[0]
        if "--soft" in a:
            q("UPDATE objects SET deleted=%d WHERE %s" %
              (int(time.time()), s.where(acct, repo, k, name)))
        else:
            q("DELETE FROM objects WHERE " + s.where(acct, repo, k, name))
            s.s3.rm(s.bucket, key)
    elif cmd == "undelete":
        q("UPDATE objects SET deleted=NULL WHERE " +
          s.where(int(a[0]), a[1], kind(a[2]), a[3]))
    elif cmd == "copy":
        sa, sr, k, name, da, dr = (int(a[0]), a[1], kind(a[2]), a[3],
                                   int(a[4]), a[5])
        key, size, _ = s.row(sa, sr, k, name)
        nkey = s.new_key(da, dr, k, name)
        s.write_blob(nkey, s.read_blob(key))
        q("INSERT INTO objects(account, repo, kind, name, size, created, "
          "deleted, blob) VALUES(%d, %s, %d, %s, %d, %d, NULL, %s) "
          "ON CONFLICT(account, repo, kind, name) DO UPDATE SET "
          "size=excluded.size, created=excluded.created, deleted=NULL, "
          "blob=excluded.blob" % (da, b(dr), k, b(name), size,
                                  int(time.time()), b(nkey)))
    elif cmd == "export":
        acct, repo, out = int(a[0]), a[1], a[2]
        sub = {0: "", 1: "keys", 2: "data", 3: "index", 4: "snapshots",
               5: "meta"}
        for d in sub.values():
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for k, name, key in q("SELECT kind, name, blob FROM objects WHERE "
                              "account=%d AND repo=%s" % (acct, b(repo))):
            with open(os.path.join(out, sub[int(k)],
                                   unhex(name).decode("latin-1")), "wb") as f:
                f.write(s.read_blob(unhex(key).decode("latin-1")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
