#!/usr/bin/env python3
"""hostile.py: hostile requests against a running cofferd (05-hostile.sh).

Environment: PORT, SIGNREQ, COFFERD, DATA (the server's data folder),
CFG_A, CFG_B (config folders of two registered devices, accounts 1 and 2,
B with a backup in its repository "default"), T (a scratch folder).

Every case asserts the exact status, that nothing the server stores changed
(blob files, account usage) unless the case is about a change, and that the
server still answers /healthz.  Stops at the first failure (exit 1).
"""
import concurrent.futures
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw import Client, Closed, bhash, read_response  # noqa: E402

E = os.environ
PORT = int(E["PORT"])
DATA, T = E["DATA"], E["T"]
A, B = E["CFG_A"], E["CFG_B"]
MAX_OBJECT = int(E.get("MAX_OBJECT", "1000000"))
c = Client(PORT, E["SIGNREQ"], timeout=10)
ncases = 0


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def section(s):
    print("== " + s, flush=True)


def admin(*args):
    r = subprocess.run([E["COFFERD"], "admin", "--data", DATA] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        fail("cofferd admin %s: %s" % (" ".join(args), r.stderr.decode()))
    return r.stdout.decode()


def accounts():
    return {a["id"]: a for a in map(json.loads,
                                    admin("accounts", "--json").split("\n")[:-1])}


def blob_files():
    out = []
    for d, _, names in os.walk(os.path.join(DATA, "blobs")):
        for n in names:
            p = os.path.join(d, n)
            out.append((os.path.relpath(p, DATA), os.path.getsize(p)))
    return sorted(out)


def state():
    return blob_files(), accounts()


def up(label):
    if not c.healthz():
        fail("%s: the server no longer answers /healthz" % label)


def show(r):
    st, h, b = r
    return "%d %r" % (st, b[:200])


def expect(label, r, status, body=None):
    global ncases
    ncases += 1
    if r[0] != status:
        fail("%s: got %s, expected %d" % (label, show(r), status))
    if body is not None and body.encode() not in r[2]:
        fail("%s: answer %s lacks %r" % (label, show(r), body))
    return r


def hostile(label, fn, status, body=None):
    """Run a request that must be refused and change nothing."""
    before = state()
    r = expect(label, fn(), status, body)
    after = state()
    if after != before:
        fail("%s: the server's state changed:\n before %r\n after  %r" %
             (label, before, after))
    up(label)
    return r


def closed(label, data):
    """Bytes the server must drop without an answer."""
    global ncases
    ncases += 1
    before = state()
    try:
        r = c.raw(data)
        fail("%s: expected the connection to be dropped, got %s" %
             (label, show(r)))
    except Closed:
        pass
    if state() != before:
        fail("%s: the server's state changed" % label)
    up(label)


def O(kind, name, repo="hostile"):
    return "/v1/r/%s/o/%s/%s" % (repo, kind, name)


def L(kind, repo="hostile", after=""):
    return "/v1/r/%s/o/%s/?after=%s&limit=1000" % (repo, kind, after)


def R(name, repo="hostile"):
    return "/v1/r/%s/ref/%s" % (repo, name)


def put(cfg, data, kind="data", repo="hostile", **kw):
    return c.signed(cfg, "PUT", O(kind, bhash(data), repo), body=data, **kw)


def listing(cfg, kind="data", repo="hostile"):
    r = expect("list %s/%s" % (repo, kind),
               c.signed(cfg, "GET", L(kind, repo)), 200)
    return [ln.split(" ")[0] for ln in r[2].decode().split("\n") if ln]


def files_with(data):
    """Files under the data folder that contain ${data}."""
    hits = []
    for d, _, names in os.walk(DATA):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                if data in f.read():
                    hits.append(p)
    return hits


def tmp_empty(label):
    left = os.listdir(os.path.join(DATA, "blobs", "tmp"))
    if left:
        fail("%s: upload leftovers in blobs/tmp: %r" % (label, left))


def rnd(n):
    return secrets.token_bytes(n)


now = lambda: int(time.time())  # noqa: E731
acc = accounts()
if sorted(acc) != [1, 2]:
    fail("expected accounts 1 and 2, got %r" % sorted(acc))

# A has a few objects of its own in "hostile".
own = [rnd(2000 + i) for i in range(3)]
for d in own:
    expect("A puts its own object", put(A, d), 201)
expect("A puts an object again (content-addressed)", put(A, own[0]), 200)

section("malformed HTTP")
fixed = random.Random(7).randbytes(500)  # deterministic garbage
closed("TLS ClientHello on the plain port",
       b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + fixed)
closed("binary garbage", bytes(range(1, 256)) * 4)
closed("request line without URI", b"GET\r\n\r\n")
hostile("unknown HTTP version",
        lambda: c.raw(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n"), 505)
hostile("malformed request line",
        lambda: c.raw(b"GET    /healthz    HTTP/1.1   x\r\nHost: x\r\n\r\n"),
        400)
hostile("header line without a colon",
        lambda: c.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
        400)
for v in (b"abc", b"-5", b"1e6", b"0x10"):
    hostile("Content-Length: %s" % v.decode(), lambda: c.raw(
        b"PUT " + O("data", "0" * 64).encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: " + v + b"\r\n\r\n"), 400)
hostile("Content-Length beyond 64 bits", lambda: c.raw(
    b"PUT " + O("data", "0" * 64).encode() + b" HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 99999999999999999999999\r\n\r\n"), 413)
hostile("unknown method", lambda: c.send("BREW", "/healthz"), 405)
hostile("POST /healthz", lambda: c.send("POST", "/healthz", body=b"x"), 405)
hostile("absolute-form URI", lambda: c.signed(
    A, "GET", "http://127.0.0.1/" + O("data", bhash(own[0]))), 404)
hostile("control bytes in the path",
        lambda: c.raw(b"GET /v1/\x1b[31mred\x07\xff HTTP/1.1\r\nHost: x\r\n\r\n"),
        404)

# Idle and NUL-filled connections must not block anyone else.
idle = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    if i % 2:
        s.sendall(b"\x00" * 100 + b"\r\n\r\n")
    idle.append(s)
up("with 40 idle connections open")
expect("a signed request with 40 idle connections open",
       c.signed(A, "GET", L("data")), 200)
for s in idle:
    s.close()

section("oversized headers and URIs")
hostile("one 140 KiB header", lambda: c.raw(
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 140000 +
    b"\r\n\r\n"), 431)
hostile("2000 headers, 200 KiB", lambda: c.raw(
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
    b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(2000)) +
    b"\r\n"), 431)
hostile("a 140 KiB Authorization header", lambda: c.send(
    "GET", L("data"), {"Authorization": "Coffer-Ed25519 " + "a" * 140000}),
    431)
hostile("URI of 2000 bytes", lambda: c.signed(
    A, "GET", L("data") + "&x=" + "a" * 2000), 414)
hostile("URI of 200 KiB", lambda: c.send("GET", "/" + "a" * 200000), 414)

section("oversized bodies")
big = rnd(MAX_OBJECT + 1)
hostile("Content-Length one over --max-object", lambda: c.send(
    "PUT", O("data", bhash(big)),
    c.signed_headers(A, "PUT", O("data", bhash(big)), hash=bhash(big)),
    length=len(big)), 413, "too large")
hostile("Content-Length of 1 TiB", lambda: c.send(
    "PUT", O("data", bhash(big)),
    c.signed_headers(A, "PUT", O("data", bhash(big)), hash=bhash(big)),
    length=1 << 40), 413, "too large")
edge = big[:MAX_OBJECT]
expect("an object of exactly --max-object bytes", put(A, edge), 201)
expect("... reads back", c.signed(A, "GET", O("data", bhash(edge))), 200)
hostile("PUT without Content-Length (chunked)", lambda: c.send(
    "PUT", O("data", bhash(b"hello")),
    dict(c.signed_headers(A, "PUT", O("data", bhash(b"hello")),
                          body=b"hello"), **{"Transfer-Encoding": "chunked"}),
    b"5\r\nhello\r\n0\r\n\r\n", length=-1), 411)
hostile("chunked PUT with a Content-Length too", lambda: c.send(
    "PUT", O("data", bhash(b"hello")),
    dict(c.signed_headers(A, "PUT", O("data", bhash(b"hello")),
                          body=b"hello"), **{"Transfer-Encoding": "chunked"}),
    b"5\r\nhello\r\n0\r\n\r\n"), 400)
smallmax = 65536
hostile("ref body over 64 KiB", lambda: c.signed(
    A, "PUT", R("big"), body=rnd(smallmax + 1),
    extra={"If-None-Match": "*"}), 413)
hostile("registration body over 64 KiB", lambda: c.signed(
    os.path.join(T, "dev-big"), "POST", "/v1/register",
    body=rnd(smallmax + 1), create=True), 413)

hostile("ref body over 64 KiB, chunked", lambda: c.send(
    "PUT", R("big"), dict(c.signed_headers(A, "PUT", R("big"),
                                           body=b"x" * 70000),
                          **{"Transfer-Encoding": "chunked",
                             "If-None-Match": "*"}),
    b"11170\r\n" + b"x" * 70000 + b"\r\n0\r\n\r\n", length=-1), 413)

section("ranges")
r = expect("a range", c.signed(A, "GET", O("data", bhash(own[0])),
                               extra={"Range": "bytes=10-19"}), 206)
if r[2] != own[0][10:20] or r[1].get("content-range") != \
        "bytes 10-19/%d" % len(own[0]):
    fail("range answer %s %r" % (show(r), r[1]))
for rg in ("bytes=%d-" % len(own[0]), "bytes=20-10", "bytes=-5", "bytes=a-b",
           "items=0-1", "bytes=0-1,5-6", "bytes=99999999999999999999-"):
    hostile("Range: " + rg, lambda: c.signed(
        A, "GET", O("data", bhash(own[0])), extra={"Range": rg}), 416)

section("whole objects, and bytes damaged in the blob store")
r = expect("a whole object", c.signed(A, "GET", O("data", bhash(own[1]))), 200)
if r[2] != own[1] or r[1].get("content-length") != str(len(own[1])):
    fail("whole object answer %s %r" % (show(r), r[1]))
r = expect("a range to the end", c.signed(
    A, "GET", O("data", bhash(own[1])), extra={"Range": "bytes=1990-"}), 206)
if r[2] != own[1][1990:]:
    fail("range to the end answered %s" % show(r))
# On the folder blob store (not on S3), an object's file that lost or gained
# bytes, or went missing, is an error of the server's (500), never a short
# or long body: the size the metadata store recorded is checked.
files = [f for f, _ in blob_files()
         if os.path.basename(f).startswith(bhash(own[2]) + ".")]
if files:
    path = os.path.join(DATA, files[0])
    with open(path, "rb") as f:
        keep = f.read()
    for label, damaged in (("a byte more", keep + b"x"),
                           ("a byte less", keep[:-1])):
        with open(path, "wb") as f:
            f.write(damaged)
        expect("object file with " + label, c.signed(
            A, "GET", O("data", bhash(own[2]))), 500, "bytes unavailable")
        expect("range of object file with " + label, c.signed(
            A, "GET", O("data", bhash(own[2])),
            extra={"Range": "bytes=0-9"}), 500, "bytes unavailable")
    os.unlink(path)
    expect("object file missing", c.signed(
        A, "GET", O("data", bhash(own[2]))), 500, "bytes unavailable")
    with open(path, "wb") as f:
        f.write(keep)
    r = expect("object file back", c.signed(
        A, "GET", O("data", bhash(own[2]))), 200)
    if r[2] != own[2]:
        fail("object file back answered %s" % show(r))
    up("damaged object files")

section("bodies that do not match their names")
x, y = rnd(3000), rnd(3000)
hostile("name is not the hash of the body (signed, X-Coffer-Hash of body)",
        lambda: c.signed(A, "PUT", O("data", bhash(x)), body=y), 400,
        "not its hash")
hostile("body differs from the signed hash and the name", lambda: c.send(
    "PUT", O("data", bhash(x)),
    c.signed_headers(A, "PUT", O("data", bhash(x)), hash=bhash(x)), y),
    400, "does not match")
tmp_empty("hash mismatch")
for n in (bhash(x), bhash(y)):
    expect("mismatched object absent", c.signed(A, "GET", O("data", n)), 404)
hostile("body longer than Content-Length", lambda: c.send(
    "PUT", O("data", bhash(x)),
    c.signed_headers(A, "PUT", O("data", bhash(x)), hash=bhash(x)),
    x + b"trailing bytes", length=len(x) - 10), 400)
# A body shorter than Content-Length, then the client goes away.
before = state()
s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
s.sendall(Client.build("PUT", O("data", bhash(x)), c.signed_headers(
    A, "PUT", O("data", bhash(x)), body=x), x[:1000], length=len(x)))
s.shutdown(socket.SHUT_WR)
try:
    r = read_response(s)
    fail("truncated upload answered %s" % show(r))
except (Closed, ConnectionError):
    pass
s.close()
time.sleep(0.3)
if state() != before:
    fail("a truncated upload changed the server's state")
tmp_empty("truncated upload")
expect("truncated object absent", c.signed(A, "GET", O("data", bhash(x))), 404)
up("truncated upload")

# Uploads held open: each holds a server buffer until it ends, so one
# account gets at most 64 at once; the next is 503 (a client retries it),
# other accounts are not affected, and all is well once they are gone.
held = []
for i in range(64):
    body = rnd(200000)
    u = O("data", bhash(body))
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.sendall(Client.build("PUT", u, c.signed_headers(A, "PUT", u, body=body),
                           body[:1000], length=len(body)))
    held.append(s)


def uploads_active():
    r = c.send("GET", "/metrics")
    for ln in r[2].decode().split("\n"):
        if ln.startswith("cofferd_uploads_active "):
            return int(ln.split()[1])
    fail("no cofferd_uploads_active in /metrics: %s" % show(r))


for _ in range(600):  # a loaded machine may take a while to read them all
    if uploads_active() >= 64:
        break
    time.sleep(0.1)
n = uploads_active()
if n != 64:
    answered = []
    for s in held:
        s.setblocking(False)
        try:
            answered.append(s.recv(200))
        except BlockingIOError:
            pass
    fail("64 uploads held open, %d in flight after 60 s; answers: %r" %
         (n, answered[:3]))
expect("an upload over 64 held by the same account", put(A, rnd(3000)), 503,
       "too many uploads")
expect("another account's upload meanwhile", put(B, rnd(3000)), 201)
for s in held:
    s.close()
for _ in range(600):
    if uploads_active() == 0:
        break
    time.sleep(0.1)
if uploads_active() != 0:
    fail("uploads closed by the client still in flight after 60 s")
expect("an upload once they are gone", put(A, rnd(3000)), 201)
tmp_empty("uploads held open")
up("uploads held open")

section("X-Coffer-Hash")
hostile("X-Coffer-Hash differs from the signed one", lambda: c.send(
    "PUT", O("data", bhash(y)),
    c.signed_headers(A, "PUT", O("data", bhash(y)), hash=bhash(x),
                     sent_hash=bhash(y)), y), 401)
hostile("X-Coffer-Hash in upper case", lambda: c.signed(
    A, "PUT", O("data", bhash(y)), body=y, sent_hash=bhash(y).upper()), 400)
hostile("X-Coffer-Hash too short", lambda: c.signed(
    A, "PUT", O("data", bhash(y)), body=y, sent_hash=bhash(y)[:63]), 400)
hostile("X-Coffer-Hash missing on a PUT", lambda: c.send(
    "PUT", O("data", bhash(y)), c.signed_headers(
        A, "PUT", O("data", bhash(y))), y), 400)
hostile("X-Coffer-Hash forged on a GET", lambda: c.signed(
    A, "GET", O("data", bhash(own[0])), sent_hash=bhash(b"other")), 401)

section("signatures")
objA = O("data", bhash(own[0]))
for m, u, b in (("GET", objA, None), ("HEAD", objA, None),
                ("DELETE", objA, None), ("GET", L("data"), None),
                ("PUT", O("data", bhash(y)), y), ("GET", R("main"), None),
                ("POST", "/v1/register", b"")):
    hostile("unsigned %s %s" % (m, u), lambda: c.send(
        m, u, {"X-Coffer-Hash": bhash(b or b"")}, b), 401)


def mangle(auth, field, value):
    parts = auth[len("Coffer-Ed25519 "):].split(",")
    parts = [p if not p.startswith(field + "=") else field + "=" + value
             for p in parts]
    return "Coffer-Ed25519 " + ",".join(parts)


def with_auth(cfg, m, u, f, body=None):
    h = c.signed_headers(cfg, m, u, body=body)
    h["Authorization"] = f(h["Authorization"])
    return c.send(m, u, h, body)


def drop(auth, name):
    parts = auth[len("Coffer-Ed25519 "):].split(",")
    return "Coffer-Ed25519 " + ",".join(p for p in parts
                                        if not p.startswith(name + "="))


def flip(hexs):
    return hexs[:-1] + ("0" if hexs[-1] != "0" else "1")


def field(auth, name):
    return [p for p in auth.split(" ", 1)[1].split(",")
            if p.startswith(name + "=")][0].split("=", 1)[1]


pkA = c.sign(A, "GET", "/")[2]
for label, f in (
        ("one bit of the signature", lambda a: mangle(a, "sig",
                                                      flip(field(a, "sig")))),
        ("the nonce", lambda a: mangle(a, "nonce", flip(field(a, "nonce")))),
        ("the timestamp", lambda a: mangle(a, "ts", str(int(field(a, "ts")) - 1))),
        ("B's signature claiming A's key", lambda a: mangle(a, "pk", pkA)),
        ("another scheme", lambda a: "Basic " + a.split(" ", 1)[1]),
        ("no pk", lambda a: drop(a, "pk")),
        ("no nonce", lambda a: drop(a, "nonce")),
        ("no ts", lambda a: drop(a, "ts")),
        ("no sig", lambda a: drop(a, "sig")),
        ("non-hex sig", lambda a: mangle(a, "sig", "z" * 128)),
        ("short sig", lambda a: mangle(a, "sig", field(a, "sig")[:126])),
        ("negative ts", lambda a: mangle(a, "ts", "-5")),
        ("ts with junk", lambda a: mangle(a, "ts", field(a, "ts") + "x")),
        ("over 400 bytes", lambda a: a + ",x=" + "0" * 400)):
    hostile("wrong signature: " + label,
            lambda: with_auth(B if "B's" in label else A, "GET", objA, f),
            401)
hostile("signed for another object", lambda: c.send(
    "GET", objA, c.signed_headers(A, "GET", O("data", bhash(own[1])))), 401)
hostile("signed for GET, sent as DELETE", lambda: c.send(
    "DELETE", objA, c.signed_headers(A, "GET", objA)), 401)
hostile("signed for another query", lambda: c.send(
    "GET", L("data", after="0"), c.signed_headers(A, "GET", L("data"))), 401)
hostile("valid signature of an unknown device", lambda: c.signed(
    os.path.join(T, "dev-unknown"), "GET", L("data"), create=True), 403,
    "unknown device")

section("replays")
h = c.signed_headers(A, "GET", L("data"))
expect("first use of a request", c.send("GET", L("data"), h), 200)
hostile("the same request again", lambda: c.send("GET", L("data"), h), 401,
        "replayed")
z = rnd(1234)
h = c.signed_headers(A, "PUT", O("data", bhash(z)), body=z)
expect("a PUT", c.send("PUT", O("data", bhash(z)), h, z), 201)
hostile("the same PUT replayed", lambda: c.send(
    "PUT", O("data", bhash(z)), h, z), 401, "replayed")
h = c.signed_headers(A, "DELETE", O("data", bhash(z)))
expect("a DELETE", c.send("DELETE", O("data", bhash(z)), h), 204)
expect("re-upload after the DELETE", put(A, z), 201)
hostile("the DELETE replayed", lambda: c.send(
    "DELETE", O("data", bhash(z)), h), 401, "replayed")
expect("the object survived the replayed DELETE",
       c.signed(A, "GET", O("data", bhash(z))), 200)
# A captured request kept for a replay after a restart (05-hostile.sh).
h = c.signed_headers(A, "GET", L("data"))
expect("a request captured for later", c.send("GET", L("data"), h), 200)
with open(os.path.join(T, "captured.req"), "wb") as f:
    f.write(Client.build("GET", L("data"), h))

section("timestamps")
for d in (-310, 310, -100000, 100000):
    hostile("timestamp %+d s" % d, lambda: c.signed(
        A, "GET", L("data"), ts=now() + d), 401, "time")
hostile("timestamp 0", lambda: c.signed(A, "GET", L("data"), ts=0), 401)
for d in (-280, 280):
    expect("timestamp %+d s is within the window" % d,
           c.signed(A, "GET", L("data"), ts=now() + d), 200)

section("path traversal and malformed names")
h0 = bhash(own[0])
evil = "evil" + secrets.token_hex(6)
bad = [
    "/v1/r/hostile/o/data/../../../../../../tmp/" + evil,
    "/v1/r/hostile/o/data/..%2F..%2F..%2F..%2Ftmp%2F" + evil,
    "/v1/r/hostile/o/data/%2e%2e%2f%2e%2e%2f" + evil,
    "/v1/r/hostile/o/data/%2e%2e",
    "/v1/r/hostile/o/data/..",
    "/v1/r/hostile/o/data/.",
    "/v1/r/hostile/o/data//tmp/" + evil,
    "/v1/r/hostile/o/data/" + h0 + "/..",
    "/v1/r/hostile/o/data/" + h0 + "/",
    "/v1/r/hostile/o/data/" + h0[:2] + "/" + h0,
    "/v1/r/hostile/o/data/" + h0.upper(),
    "/v1/r/hostile/o/data/" + h0[:63],
    "/v1/r/hostile/o/data/" + h0 + "0",
    "/v1/r/hostile/o/data/" + h0 * 4,
    "/v1/r/hostile/o/data/" + "g" * 64,
    "/v1/r/hostile/o/data/config",
    "/v1/r/hostile/o/config/" + h0,
    "/v1/r/hostile/o/config/../config",
    "/v1/r/hostile/o/tmp/" + h0,
    "/v1/r/hostile/o/Data/" + h0,
    "/v1/r/hostile/o/../o/data/" + h0,
    "/v1/r/../o/data/" + h0,
    "/v1/r/%2e%2e/o/data/" + h0,
    "/v1/r/./o/data/" + h0,
    "/v1/r/.hostile/o/data/" + h0,
    "/v1/r//o/data/" + h0,
    "/v1/r/host%2File/o/data/" + h0,
    "/v1/r/" + "r" * 65 + "/o/data/" + h0,
    "/v1/r/hostile/ref/../x",
    "/v1/r/hostile/ref/..",
    "/v1/r/hostile/ref/.x",
    "/v1/r/hostile/ref/a%2Fb",
    "/v1/r/hostile/ref/a/b",
    "/v1/r/hostile/ref/" + "x" * 65,
    "/v1/r/hostile/ref/",
    "/v1/r/hostile/refs/main",
    "/v1/r/hostile",
    "/v1/r/hostile/",
    "/v1/../healthz",
    "/V1/r/hostile/o/data/" + h0,
    "//v1/r/hostile/o/data/" + h0,
    "/v1/r/hostile/o/data/" + h0 + "%00",
    "/v1/r/hostile/o/data/" + h0 + "%00.." + evil,
    "/v1/r/hostile/o/data/" + h0[:-2] + "%" + h0[-2:],
    "/v1/r/hos%74ile/o/data/" + h0,
    "/v1/r/hostile/o/%64ata/" + h0,
    "/etc/passwd",
    "/" + DATA.lstrip("/") + "/meta.db",
]
for u in bad:
    for m in ("GET", "PUT", "DELETE"):
        body = b"evil" if m == "PUT" else None
        hostile("%s %s" % (m, u), lambda: c.signed(A, m, u, body=body), 404)
if os.path.exists("/tmp/" + evil):
    fail("a traversal wrote /tmp/" + evil)
for d, _, names in os.walk(T):
    if any(evil in n for n in names):
        fail("a traversal wrote %s/%s" % (d, evil))

section("another account's objects")
namesB = listing(B, "data", "default")
if len(namesB) < 1:
    fail("B has no data objects to attack")
rowsB = accounts()[2]
for n in namesB[:5]:
    u = O("data", n, "default")
    hostile("A GETs B's object", lambda: c.signed(A, "GET", u), 404)
    hostile("A HEADs B's object", lambda: c.signed(A, "HEAD", u), 404)
    hostile("A GETs a range of B's object", lambda: c.signed(
        A, "GET", u, extra={"Range": "bytes=0-10"}), 404)
    hostile("A DELETEs B's object", lambda: c.signed(A, "DELETE", u), 404)
for kind in ("data", "index", "snapshots", "keys"):
    seen = listing(A, kind, "default")
    if set(seen) & set(listing(B, kind, "default")):
        fail("A's listing of %s shows B's objects" % kind)
cfgA = expect("A's config", c.signed(
    A, "GET", O("config", "config", "default")), 200)[2]
cfgB = expect("B's config", c.signed(
    B, "GET", O("config", "config", "default")), 200)[2]
if cfgA == cfgB:
    fail("A and B read the same repository config")
hostile("A reads a config in B's only repository name", lambda: c.signed(
    A, "GET", O("config", "config", "bonly")), 404)
for kind in ("keys", "data", "index", "snapshots"):
    if listing(A, kind, "bonly"):
        fail("A lists objects in B's repository 'bonly'")
if not listing(B, "keys", "bonly"):
    fail("B's repository 'bonly' has no key")
for n in namesB:
    r = expect("B still reads its object",
               c.signed(B, "GET", O("data", n, "default")), 200)
    if bhash(r[2]) != n:
        fail("B's object %s changed" % n)
if accounts()[2] != rowsB:
    fail("B's account changed")
# The same name in both namespaces stays independent.
r = expect("B's object", c.signed(B, "GET", O("data", namesB[0], "default")),
           200)
copy_len = len(r[2])  # A's copy stays soft-deleted until the purge below
expect("A stores the same bytes under its own account",
       put(A, r[2], repo="default"), 201)
expect("A deletes its copy", c.signed(
    A, "DELETE", O("data", namesB[0], "default")), 204)
expect("B's copy is untouched", c.signed(
    B, "GET", O("data", namesB[0], "default")), 200)
if namesB[0] not in listing(B, "data", "default"):
    fail("B's listing lost the object A deleted in its own namespace")
# Refs are per account too.
expect("B creates a ref", c.signed(B, "PUT", R("main"), body=b"B's value",
                                   extra={"If-None-Match": "*"}), 200)
hostile("A reads B's ref", lambda: c.signed(A, "GET", R("main")), 404)
hostile("A overwrites B's ref", lambda: c.signed(
    A, "PUT", R("main"), body=b"A's value", extra={"If-Match": "1"}), 412)
expect("A's own ref of the same name", c.signed(
    A, "PUT", R("main"), body=b"A's value", extra={"If-None-Match": "*"}), 200)
r = expect("B's ref unchanged", c.signed(B, "GET", R("main")), 200)
if r[2] != b"B's value" or r[1].get("etag") != "1":
    fail("B's ref changed: %s %r" % (show(r), r[1]))
hostile("ref PUT without a precondition", lambda: c.signed(
    B, "PUT", R("main"), body=b"x"), 428)
hostile("ref PUT with a stale version", lambda: c.signed(
    B, "PUT", R("main"), body=b"x", extra={"If-Match": "7"}), 412)
hostile("ref PUT whose body is not the signed one", lambda: c.send(
    "PUT", R("main"), dict(c.signed_headers(B, "PUT", R("main"), body=b"x"),
                           **{"If-Match": "1"}), b"y"), 400)

section("quota")
a = accounts()[1]
admin("set-quota", "1", "--bytes", str(a["used_bytes"] + 100))
q = rnd(1000)
hostile("upload over the byte quota", lambda: put(A, q), 507, "quota")
tmp_empty("quota")
expect("over-quota object absent", c.signed(A, "GET", O("data", bhash(q))),
       404)
small = rnd(50)
expect("an upload within the quota", put(A, small), 201)
a = accounts()[1]
admin("set-quota", "1", "--bytes", "1000000000", "--objects",
      str(a["used_objects"]))
hostile("upload over the object quota", lambda: put(A, rnd(10)), 507, "quota")
expect("re-upload of a stored object needs no quota", put(A, small), 200)
admin("set-quota", "1", "--bytes", str(1 << 40), "--objects", "10000000")
expect("upload once the quota is raised", put(A, q), 201)

section("invitations")
tok = admin("invite").strip()
nacc = len(accounts())


def dev(name):
    return os.path.join(T, "dev-" + name)


def register(d, body):
    return c.signed(d, "POST", "/v1/register", body=body, create=True)


hostile("unknown invitation", lambda: register(
    dev("c1"), secrets.token_hex(16).encode()), 403, "invitation")
hostile("invitation not hex", lambda: register(dev("c1"), b"z" * 32), 403)
hostile("invitation too short", lambda: register(dev("c1"), tok[:31].encode()),
        403)
hostile("invitation with one digit more", lambda: register(
    dev("c1"), (tok + "0").encode()), 403)
hostile("no invitation without --open-registration", lambda: register(
    dev("c1"), b""), 403, "invitation is required")
hostile("a registered device registering again", lambda: register(
    A, tok.encode()), 409)
r = expect("the invitation, still unused, registers a device",
           register(dev("c1"), tok.encode()), 201)
if r[2] != b"%d\n" % (nacc + 1):
    fail("registration answered %s" % show(r))
hostile("a used invitation", lambda: register(dev("c2"), tok.encode()), 403,
        "invitation")
old = admin("invite", "--expires-days", "0").strip()
hostile("an expired invitation", lambda: register(dev("c2"), old.encode()),
        403, "invitation")
hostile("the invitation sent with a wrong body hash", lambda: c.send(
    "POST", "/v1/register", c.signed_headers(
        dev("c2"), "POST", "/v1/register", body=b"0" * 32, create=True),
    tok.encode()), 400)
if len(accounts()) != nacc + 1:
    fail("refused registrations created accounts")

section("append-only devices")
tok = admin("invite", "--append-only").strip()
ao = dev("append-only")
expect("append-only device registers", register(ao, tok.encode()), 201)
aod = rnd(777)
expect("append-only device PUTs", put(ao, aod), 201)
expect("append-only device GETs", c.signed(ao, "GET", O("data", bhash(aod))),
       200)
hostile("append-only device DELETEs", lambda: c.signed(
    ao, "DELETE", O("data", bhash(aod))), 403, "may not delete")
expect("object still there", c.signed(ao, "GET", O("data", bhash(aod))), 200)
expect("append-only device creates a ref", c.signed(
    ao, "PUT", R("main"), body=b"v1", extra={"If-None-Match": "*"}), 200)
hostile("append-only device replaces a ref", lambda: c.signed(
    ao, "PUT", R("main"), body=b"v2", extra={"If-Match": "1"}), 403)
r = expect("ref unchanged", c.signed(ao, "GET", R("main")), 200)
if r[2] != b"v1":
    fail("append-only device changed its ref: %s" % show(r))

section("disabled accounts")
admin("disable", "1")
if not accounts()[1]["disabled"]:
    fail("admin disable did not disable")
for m, u, b in (("GET", L("data"), None), ("GET", objA, None),
                ("PUT", O("data", bhash(b"new")), b"new"),
                ("DELETE", objA, None)):
    hostile("disabled account: %s" % m, lambda: c.signed(A, m, u, body=b),
            403, "disabled")
expect("other accounts unaffected", c.signed(B, "GET", L("data", "default")),
       200)
admin("enable", "1")
expect("enabled again", c.signed(A, "GET", objA), 200)

section("devices, repositories and pairing mailboxes of other accounts")
pkB = c.sign(B, "GET", "/")[2]
stranger = dev("stranger")
pkS = c.sign(stranger, "GET", "/", create=True)[2]
hostile("A removes B's device", lambda: c.signed(
    A, "DELETE", "/v1/devices/" + pkB), 404, "no such device")
hostile("A claims B's device key", lambda: c.signed(
    A, "POST", "/v1/devices", body=("%s 0" % pkB).encode()), 409)
expect("B still works", c.signed(B, "GET", L("data", "default")), 200)
for body in (b"", b"zz 0", ("%s" % pkS).encode(), ("%s 2" % pkS).encode(),
             ("%s -1" % pkS).encode(), ("%s 0 " % pkS).encode() + b"x" * 80,
             ("%s 0" % pkS.upper()[:63]).encode()):
    hostile("POST /v1/devices %r" % body[:20], lambda: c.signed(
        A, "POST", "/v1/devices", body=body), 400)
for u in ("/v1/devices/" + pkS[:63], "/v1/devices/" + pkS + "0",
          "/v1/devices/" + "z" * 64, "/v1/devices/" + pkS + "/x",
          "/v1/devicesx", "/v1/devices/"):
    hostile("bad device route %s" % u[:40], lambda: c.signed(
        A, "DELETE", u), 404)
hostile("a stranger adds itself to A", lambda: c.signed(
    stranger, "POST", "/v1/devices", body=("%s 0" % pkS).encode()), 403,
    "unknown device")
hostile("an append-only device adds a device", lambda: c.signed(
    ao, "POST", "/v1/devices", body=("%s 0" % pkS).encode()), 403)
hostile("an append-only device removes a device", lambda: c.signed(
    ao, "DELETE", "/v1/devices/" + pkS), 403)
# a device's scope and zone never change in place: an add that would
# change them is refused, not answered 201 with the old rights kept
pkX = c.sign(dev("extra"), "GET", "/", create=True)[2]
for _ in range(2):
    expect("A adds an append-only device for zone z (again: the same)",
           c.signed(A, "POST", "/v1/devices",
                    body=("%s 1 z" % pkX).encode()), 201)
for body in ("%s 0" % pkX, "%s 1" % pkX, "%s 1 y" % pkX, "%s 0 z" % pkX):
    hostile("the device added again as %r" % body[65:], lambda: c.signed(
        A, "POST", "/v1/devices", body=body.encode()), 409, "another scope")
expect("A removes it", c.signed(A, "DELETE", "/v1/devices/" + pkX), 204)
expect("and adds it back with full rights", c.signed(
    A, "POST", "/v1/devices", body=("%s 0" % pkX).encode()), 201)
expect("then removes it", c.signed(A, "DELETE", "/v1/devices/" + pkX), 204)
r = expect("A lists its repositories", c.signed(A, "GET", "/v1/repos"), 200)
reposA = r[2].decode().split()
r = expect("B lists its repositories", c.signed(B, "GET", "/v1/repos"), 200)
reposB = r[2].decode().split()
if "bonly" in reposA or "bonly" not in reposB or "default" not in reposA:
    fail("repository lists: A %r, B %r" % (reposA, reposB))
hostile("a stranger lists repositories", lambda: c.signed(
    stranger, "GET", "/v1/repos"), 403)
hostile("a stranger opens a mailbox", lambda: c.signed(
    stranger, "POST", "/v1/pair", body=b""), 403)
hostile("an append-only device opens a mailbox", lambda: c.signed(
    ao, "POST", "/v1/pair", body=b""), 403)
r = expect("A opens a mailbox", c.signed(A, "POST", "/v1/pair", body=b""), 201)
mb = r[2].decode()
if not (len(mb) == 8 and mb.isdigit()):
    fail("mailbox id %r" % mb)
P = lambda slot="": "/v1/pair/" + mb + ("/" + slot if slot else "")  # noqa
expect("A posts its message", c.signed(A, "PUT", P("a1.0"), body=b"hello"),
       201)
hostile("B reads A's mailbox", lambda: c.signed(B, "GET", P("a1.0")), 404)
hostile("B writes A's mailbox", lambda: c.signed(
    B, "PUT", P("b1.0"), body=b"x"), 404)
hostile("B voids A's mailbox", lambda: c.signed(B, "DELETE", P()), 404)
hostile("a stranger writes A's side", lambda: c.signed(
    stranger, "PUT", P("a1.1"), body=b"x"), 403)
hostile("a stranger reads the joiner's side", lambda: c.signed(
    stranger, "GET", P("b1.0")), 403)
hostile("a stranger voids the mailbox", lambda: c.signed(
    stranger, "DELETE", P()), 404)
r = expect("a stranger (the joiner) reads A's message",
           c.signed(stranger, "GET", P("a1.0")), 200)
if r[2] != b"hello":
    fail("mailbox message %s" % show(r))
expect("the joiner answers", c.signed(stranger, "PUT", P("b1.0"), body=b"hi"),
       201)
hostile("the joiner's answer overwritten", lambda: c.signed(
    stranger, "PUT", P("b1.0"), body=b"evil"), 412)
hostile("a message over 4 KiB", lambda: c.signed(
    stranger, "PUT", P("b1.1"), body=rnd(4097)), 400)
for u in ("/v1/pair/ABCDEFGH/a1.0", "/v1/pair/../" + mb,
          "/v1/pair/" + mb + "/../a1.0", "/v1/pair/" + mb + "/A1",
          "/v1/pair/" + "1" * 17, "/v1/pair/" + mb + "/" + "a" * 17,
          "/v1/pair/" + mb + "/a1.0/x", "/v1/pair/.x", "/v1/pairx",
          # a message named as a mailbox, and slots no client uses
          "/v1/pair/" + mb + ".b1/b1.0", "/v1/pair/" + mb + "/b1.10",
          "/v1/pair/" + mb + "/bjunk", "/v1/pair/" + mb + "/c1.0",
          "/v1/pair/1234567/a1.0"):
    hostile("bad mailbox route %s" % u, lambda: c.signed(
        stranger, "GET", u), 404)
hostile("a mailbox that does not exist", lambda: c.signed(
    stranger, "GET", "/v1/pair/%08d/a1.0" % ((int(mb) + 1) % 10**8)), 404)
expect("A voids its mailbox", c.signed(A, "DELETE", P()), 204)
hostile("a void mailbox", lambda: c.signed(stranger, "PUT", P("b1.1"),
                                           body=b"x"), 410)
# each mailbox holds 40 messages of 4 KiB that no quota counts: an account
# holds at most 8, void ones too, until 10 minutes after they expire
mbs = [mb]
for i in range(7):
    r = expect("A opens mailbox %d of 8" % (i + 2),
               c.signed(A, "POST", "/v1/pair", body=b""), 201)
    mbs.append(r[2].decode())
r = hostile("a 9th mailbox", lambda: c.signed(
    A, "POST", "/v1/pair", body=b""), 429)
if r[1].get("retry-after") != "1200":
    fail("the 429 has no Retry-After: 1200 (clients would retry): %r" % (
        r[1],))
expect("A voids another mailbox", c.signed(
    A, "DELETE", "/v1/pair/" + mbs[1]), 204)
hostile("a 9th mailbox, one of 8 void", lambda: c.signed(
    A, "POST", "/v1/pair", body=b""), 429)
expect("B still opens one", c.signed(B, "POST", "/v1/pair", body=b""), 201)
# 24 opened at once: each is counted once it exists, so racing requests
# cannot all pass a count made before any of them was stored
with concurrent.futures.ThreadPoolExecutor(24) as ex:
    got = list(ex.map(lambda _: c.signed(B, "POST", "/v1/pair", body=b"")[0],
                      range(24)))
if got.count(201) > 7 or got.count(201) + got.count(429) != 24:
    fail("24 mailboxes opened at once by an account with 1: %r" % got)

section("soft delete and purge")
marker = b"SOFT-DELETE-MARKER-" + secrets.token_hex(16).encode()
sd = marker + rnd(5000)
u = O("data", bhash(sd))
expect("PUT", c.signed(A, "PUT", u, body=sd), 201)
if len(files_with(marker)) != 1:
    fail("the object's bytes are in %r" % files_with(marker))
used0 = accounts()[1]["used_bytes"]
expect("DELETE", c.signed(A, "DELETE", u), 204)
expect("GET after DELETE", c.signed(A, "GET", u), 404)
expect("HEAD after DELETE", c.signed(A, "HEAD", u), 404)
if bhash(sd) in listing(A):
    fail("a deleted object is listed")
expect("DELETE again", c.signed(A, "DELETE", u), 404)
if len(files_with(marker)) != 1:
    fail("soft delete removed the bytes at once")
out = admin("purge")
if not out.startswith("purged 0 objects"):
    fail("purge within retention: %r" % out)
if len(files_with(marker)) != 1:
    fail("purge within the retention time removed the bytes")
expect("re-upload after soft delete", c.signed(A, "PUT", u, body=sd), 201)
r = expect("GET after re-upload", c.signed(A, "GET", u), 200)
if r[2] != sd:
    fail("re-uploaded object reads back wrong")
if len(files_with(marker)) != 1:
    fail("re-upload left %d copies" % len(files_with(marker)))
expect("DELETE", c.signed(A, "DELETE", u), 204)
out = admin("purge", "--retention-days", "0")
# this one and A's copy of B's object, deleted (not re-uploaded) above
if not out.startswith("purged 2 objects"):
    fail("purge --retention-days 0: %r" % out)
if files_with(marker):
    fail("purged bytes still in %r" % files_with(marker))
if accounts()[1]["used_bytes"] != used0 - len(sd) - copy_len:
    fail("purge did not give back the quota: %d -> %d" % (
        used0, accounts()[1]["used_bytes"]))
expect("GET after purge", c.signed(A, "GET", u), 404)
expect("a void mailbox within 10 minutes of its expiry, after the purge",
       c.signed(stranger, "GET", P("a1.0")), 410)
expect("re-upload after purge", c.signed(A, "PUT", u, body=sd), 201)
expect("GET after re-upload", c.signed(A, "GET", u), 200)
# A config is not named by its hash: the same size says nothing about its
# bytes, so a deleted one is never "revived" by another upload (which
# destroyed the old bytes at once, and with them the repository's ID).
cm = b"CONFIG-MARKER-" + secrets.token_hex(16).encode()
cx, cy = cm + b"x" * 200, cm + b"y" * 200
cu = O("config", "config", "cfgdel")
expect("a config", c.signed(A, "PUT", cu, body=cx), 201)
hostile("another config over a live one", lambda: c.signed(
    A, "PUT", cu, body=cy), 412)
expect("DELETE the config", c.signed(A, "DELETE", cu), 204)
hostile("another config of the same size over the deleted one",
        lambda: c.signed(A, "PUT", cu, body=cy), 409)
if len(files_with(cm + b"x")) != 1:
    fail("the deleted config's bytes are gone: %r" % files_with(cm))
up("end")

section("access log")
log = open(E["LOG"], "rb").read()
for i, ln in enumerate(log.split(b"\n")[:-1]):
    if any(ch < 0x20 or ch > 0x7e for ch in ln):
        fail("access log line %d has control or high bytes: %r" % (i + 1, ln))
for bad in (b"Coffer-Ed25519", b"sig=", b"nonce=", pkA.encode(),
            marker):
    if bad in log:
        fail("access log contains %r" % bad)
print("%d hostile cases passed" % ncases)
