#!/usr/bin/env python3
"""srv.py: the hostile operator's hands on cofferd's own storage.

cofferd keeps metadata in DATA/meta.db (SQLite, WAL mode: it may be edited
while the server runs) and object bytes in DATA/blobs/objects/<blob key>.
Everything here is what an operator with a shell on the server can do.

  srv.py DATA digest                       hash of every object, ref and
                                           device row (pairing mailboxes
                                           excluded) and of the blob files
  srv.py DATA devices                      the Ed25519 key of each device
                                           (of every account), in hex,
                                           sorted
  srv.py DATA ref-get ACCT REPO NAME       print a ref's value
  srv.py DATA ref-set ACCT REPO NAME VALUE set it (version + 1)
  srv.py DATA ref-flip ACCT REPO NAME OFF  flip a bit of byte OFF (negative:
                                           from the end)
  srv.py DATA ref-copy ACCT REPO SRC DST   a ref's value into another
                                           (created if missing)
  srv.py DATA ref-wait ACCT REPO LIKE [S]  wait (S seconds, default 20) for
                                           a ref whose name is LIKE the
                                           pattern; print its name
  srv.py DATA ls ACCT REPO KIND [--all]    object names (--all: with the
                                           soft-deleted), oldest first
  srv.py DATA get ACCT REPO KIND NAME OUT  copy an object's bytes to OUT
  srv.py DATA put ACCT REPO KIND NAME FILE add (or overwrite) an object
  srv.py DATA replace ACCT REPO KIND NAME FILE   new bytes, same name
  srv.py DATA flip ACCT REPO KIND NAME OFF flip a bit of one byte in place
  srv.py DATA truncate ACCT REPO KIND NAME N     keep the first N bytes
  srv.py DATA delete ACCT REPO KIND NAME [--soft]
  srv.py DATA undelete ACCT REPO KIND NAME
  srv.py DATA copy SRCACCT SRCREPO KIND NAME DSTACCT DSTREPO
                                           the same object in another
                                           namespace (its own blob copy)
  srv.py DATA export ACCT REPO DIR         the zone as a folder (config,
                                           keys/, snapshots/, data/, index/),
                                           soft-deleted objects included
KIND: config keys data index snapshots meta (or 0..5).
"""
import hashlib
import os
import secrets
import shutil
import signal
import sqlite3
import sys
import time

KINDS = {"config": 0, "keys": 1, "data": 2, "index": 3, "snapshots": 4,
         "meta": 5}


def kind(k):
    return int(k) if k.isdigit() else KINDS[k]


class Srv:
    def __init__(self, data):
        self.data = data
        self.db = sqlite3.connect(os.path.join(data, "meta.db"), timeout=30,
                                  isolation_level=None)
        self.db.execute("PRAGMA busy_timeout=30000")

    def blob_path(self, key):
        return os.path.join(self.data, "blobs", "objects", key)

    def row(self, acct, repo, k, name):
        r = self.db.execute(
            "SELECT blob, size, deleted FROM objects WHERE account=? AND "
            "repo=? AND kind=? AND name=?", (acct, repo, k, name)).fetchone()
        if r is None:
            sys.exit("srv.py: no object %s/%s/%s/%s" % (acct, repo, k, name))
        return r

    def new_key(self, acct, repo, k, name):
        return "%d/%s/%d/%s/%s.%s" % (acct, repo, k, name[:2], name,
                                      secrets.token_hex(8))

    def write_blob(self, key, data):
        p = self.blob_path(key)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if len(argv) < 3:
        sys.exit(__doc__)
    s = Srv(argv[1])
    cmd, a = argv[2], argv[3:]
    db = s.db
    if cmd == "digest":
        h = hashlib.sha256()
        for q in ("SELECT account, repo, kind, name, size, deleted, blob "
                  "FROM objects ORDER BY 1, 2, 3, 4",
                  "SELECT account, repo, name, value, version FROM refs "
                  "WHERE repo != '_pair' ORDER BY 1, 2, 3",
                  "SELECT pk, account, scope FROM devices ORDER BY 1"):
            for r in db.execute(q):
                h.update(repr(r).encode())
        for r in db.execute("SELECT blob FROM objects ORDER BY 1"):
            try:
                with open(s.blob_path(r[0]), "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
            except FileNotFoundError:
                h.update(b"missing")
        print(h.hexdigest())
    elif cmd == "devices":
        for (pk,) in db.execute("SELECT pk FROM devices ORDER BY 1"):
            print(bytes(pk).hex())
    elif cmd == "ref-get":
        r = db.execute("SELECT value FROM refs WHERE account=? AND repo=? AND "
                       "name=?", (int(a[0]), a[1], a[2])).fetchone()
        if r is None:
            sys.exit("srv.py: no ref %s" % a[2])
        sys.stdout.write(bytes(r[0]).decode("latin-1") + "\n")
    elif cmd == "ref-set":
        n = db.execute("UPDATE refs SET value=?, version=version+1 WHERE "
                       "account=? AND repo=? AND name=?",
                       (a[3].encode(), int(a[0]), a[1], a[2])).rowcount
        if n != 1:
            sys.exit("srv.py: no ref %s" % a[2])
    elif cmd == "ref-flip":
        r = db.execute("SELECT value FROM refs WHERE account=? AND repo=? AND "
                       "name=?", (int(a[0]), a[1], a[2])).fetchone()
        v = bytearray(r[0])
        v[int(a[3])] ^= 0x01
        db.execute("UPDATE refs SET value=? WHERE account=? AND repo=? AND "
                   "name=?", (bytes(v), int(a[0]), a[1], a[2]))
    elif cmd == "ref-copy":
        r = db.execute("SELECT value FROM refs WHERE account=? AND repo=? AND "
                       "name=?", (int(a[0]), a[1], a[2])).fetchone()
        if r is None:
            sys.exit("srv.py: no ref %s" % a[2])
        db.execute("INSERT INTO refs(account, repo, name, value, version) "
                   "VALUES(?,?,?,?,1) ON CONFLICT(account, repo, name) DO "
                   "UPDATE SET value=excluded.value, version=version+1",
                   (int(a[0]), a[1], a[3], r[0]))
    elif cmd == "ref-wait":
        end = time.time() + (float(a[3]) if len(a) > 3 else 20)
        while True:
            r = db.execute("SELECT name FROM refs WHERE account=? AND repo=? "
                           "AND name LIKE ?", (int(a[0]), a[1], a[2])
                           ).fetchone()
            if r is not None:
                print(r[0])
                return
            if time.time() > end:
                sys.exit("srv.py: no ref like %s" % a[2])
            time.sleep(0.02)
    elif cmd == "ls":
        q = ("SELECT name FROM objects WHERE account=? AND repo=? AND kind=?"
             + ("" if "--all" in a else " AND deleted IS NULL")
             + " ORDER BY created, name")
        for r in db.execute(q, (int(a[0]), a[1], kind(a[2]))):
            print(r[0])
    elif cmd == "get":
        key = s.row(int(a[0]), a[1], kind(a[2]), a[3])[0]
        shutil.copyfile(s.blob_path(key), a[4])
    elif cmd == "put":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        data = open(a[4], "rb").read()
        key = s.new_key(acct, repo, k, name)
        s.write_blob(key, data)
        db.execute("INSERT OR REPLACE INTO objects(account, repo, kind, name, "
                   "size, created, deleted, blob) VALUES(?,?,?,?,?,?,NULL,?)",
                   (acct, repo, k, name, len(data), int(time.time()), key))
    elif cmd == "replace":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        data = open(a[4], "rb").read()
        key = s.row(acct, repo, k, name)[0]
        s.write_blob(key, data)
        db.execute("UPDATE objects SET size=? WHERE account=? AND repo=? AND "
                   "kind=? AND name=?", (len(data), acct, repo, k, name))
    elif cmd == "flip":
        key = s.row(int(a[0]), a[1], kind(a[2]), a[3])[0]
        p = s.blob_path(key)
        data = bytearray(open(p, "rb").read())
        data[int(a[4])] ^= 0x01
        s.write_blob(key, bytes(data))
    elif cmd == "truncate":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        key = s.row(acct, repo, k, name)[0]
        data = open(s.blob_path(key), "rb").read()[:int(a[4])]
        s.write_blob(key, data)
        db.execute("UPDATE objects SET size=? WHERE account=? AND repo=? AND "
                   "kind=? AND name=?", (len(data), acct, repo, k, name))
    elif cmd == "delete":
        acct, repo, k, name = int(a[0]), a[1], kind(a[2]), a[3]
        key = s.row(acct, repo, k, name)[0]
        if "--soft" in a:
            db.execute("UPDATE objects SET deleted=? WHERE account=? AND "
                       "repo=? AND kind=? AND name=?",
                       (int(time.time()), acct, repo, k, name))
        else:
            db.execute("DELETE FROM objects WHERE account=? AND repo=? AND "
                       "kind=? AND name=?", (acct, repo, k, name))
            os.unlink(s.blob_path(key))
    elif cmd == "undelete":
        db.execute("UPDATE objects SET deleted=NULL WHERE account=? AND "
                   "repo=? AND kind=? AND name=?",
                   (int(a[0]), a[1], kind(a[2]), a[3]))
    elif cmd == "copy":
        sa, sr, k, name, da, dr = (int(a[0]), a[1], kind(a[2]), a[3],
                                   int(a[4]), a[5])
        key, size, _ = s.row(sa, sr, k, name)
        nkey = s.new_key(da, dr, k, name)
        s.write_blob(nkey, open(s.blob_path(key), "rb").read())
        db.execute("INSERT OR REPLACE INTO objects(account, repo, kind, name, "
                   "size, created, deleted, blob) VALUES(?,?,?,?,?,?,NULL,?)",
                   (da, dr, k, name, size, int(time.time()), nkey))
    elif cmd == "export":
        acct, repo, out = int(a[0]), a[1], a[2]
        sub = {0: "", 1: "keys", 2: "data", 3: "index", 4: "snapshots",
               5: "meta"}
        for d in sub.values():
            os.makedirs(os.path.join(out, d), exist_ok=True)
        for k, name, key in db.execute(
                "SELECT kind, name, blob FROM objects WHERE account=? AND "
                "repo=?", (acct, repo)):
            shutil.copyfile(s.blob_path(key), os.path.join(out, sub[k], name))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
