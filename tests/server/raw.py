#!/usr/bin/env python3
"""raw.py: a raw HTTP/1.1 client for the cofferd tests (stdlib only).

Requests go byte for byte onto a fresh socket (no URL normalisation, any
header, any body, no retries), so hostile requests can be crafted; signed
ones get their Authorization header from the signreq helper (C, built by
meson: it holds the only Ed25519 code).

As a module:
    c = Client(port, signreq)
    st, hdrs, body = c.send("GET", "/healthz")
    st, hdrs, body = c.signed(cfgdir, "PUT", uri, body=b"...")
As a command (for shell scripts):
    raw.py PORT SIGNREQ CFGDIR METHOD URI [BODYFILE]   prints "STATUS" and
    the body on stdout.
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time


def bhash(b):
    return hashlib.blake2b(b, digest_size=32).hexdigest()


class Closed(Exception):
    """The server closed the connection without an answer."""


def read_response(sock, head=False):
    """(status, {lower-case header: value}, body) of one response."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            if buf == b"":
                raise Closed("connection closed without a response")
            raise Closed("truncated response head: %r" % buf[:200])
        buf += d
    h, rest = buf.split(b"\r\n\r\n", 1)
    lines = h.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad status line %r" % lines[0])
    status = int(parts[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if head or status in (204, 304) or 100 <= status < 200:
        return status, hdrs, b""
    if "content-length" in hdrs:
        n = int(hdrs["content-length"])
        while len(rest) < n:
            d = sock.recv(65536)
            if not d:
                raise Closed("truncated body")
            rest += d
        return status, hdrs, rest[:n]
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            while b"\r\n" not in rest:
                d = sock.recv(65536)
                if not d:
                    raise Closed("truncated chunked body")
                rest += d
            ln, rest = rest.split(b"\r\n", 1)
            n = int(ln.split(b";")[0], 16)
            while len(rest) < n + 2:
                d = sock.recv(65536)
                if not d:
                    raise Closed("truncated chunk")
                rest += d
            out += rest[:n]
            rest = rest[n + 2:]
            if n == 0:
                return status, hdrs, out
    while True:
        d = sock.recv(65536)
        if not d:
            return status, hdrs, rest
        rest += d


class Client:
    def __init__(self, port, signreq=None, host="127.0.0.1", timeout=30):
        self.port = port
        self.host = host
        self.signreq = signreq
        self.timeout = timeout

    def connect(self):
        s = socket.create_connection((self.host, self.port),
                                     timeout=self.timeout)
        return s

    def raw(self, data, head=False):
        """Send bytes, return the response (raises Closed if none)."""
        s = self.connect()
        try:
            s.sendall(data)
            return read_response(s, head)
        finally:
            s.close()

    @staticmethod
    def build(method, uri, headers=None, body=None, length=None):
        hl = ["%s %s HTTP/1.1" % (method, uri), "Host: 127.0.0.1",
              "Connection: close"]
        body = body if body is not None else b""
        if length is None and (body or method in ("PUT", "POST")):
            length = len(body)
        if length is not None and length >= 0:  # -1: no Content-Length
            hl.append("Content-Length: %d" % length)
        for k, v in (headers or {}).items():
            if v is not None:
                hl.append("%s: %s" % (k, v))
        return ("\r\n".join(hl) + "\r\n\r\n").encode("latin-1") + body

    def send(self, method, uri, headers=None, body=None, length=None):
        return self.raw(self.build(method, uri, headers, body, length),
                        head=(method == "HEAD"))

    def sign(self, cfg, method, uri, body=None, ts=None, hash=None,
             create=False):
        """(Authorization value, signed body hash, device public key)."""
        args = [self.signreq]
        if create:
            args.append("--create")
        if ts is not None:
            args += ["--ts", str(ts)]
        if hash is not None:
            args += ["--hash", hash]
        tmp = None
        if body is not None and hash is None:
            fd, tmp = tempfile.mkstemp()
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            args += ["--body", tmp]
        try:
            out = subprocess.run(args + [cfg, method, uri], check=True,
                                 stdout=subprocess.PIPE).stdout.decode()
        finally:
            if tmp:
                os.unlink(tmp)
        auth, bh, pk = out.split("\n")[:3]
        return auth, bh, pk

    def signed_headers(self, cfg, method, uri, body=None, ts=None,
                       hash=None, sent_hash=None, extra=None, create=False):
        auth, bh, _ = self.sign(cfg, method, uri, body, ts, hash, create)
        h = {"Authorization": auth}
        if body is not None or hash is not None or sent_hash is not None:
            h["X-Coffer-Hash"] = sent_hash if sent_hash is not None else bh
        h.update(extra or {})
        return h

    def signed(self, cfg, method, uri, body=None, ts=None, hash=None,
               sent_hash=None, extra=None, length=None, create=False):
        h = self.signed_headers(cfg, method, uri, body, ts, hash, sent_hash,
                                extra, create)
        return self.send(method, uri, h, body, length)

    def healthz(self):
        try:
            st, _, body = self.send("GET", "/healthz")
            return st == 200 and body == b"ok\n"
        except OSError:
            return False


def wait_up(port, secs=10):
    c = Client(port)
    t = time.time() + secs
    while time.time() < t:
        if c.healthz():
            return True
        time.sleep(0.05)
    return False


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    port, signreq, cfg, method, uri = sys.argv[1:6]
    body = None
    if len(sys.argv) > 6:
        with open(sys.argv[6], "rb") as f:
            body = f.read()
    st, _, b = Client(int(port), signreq).signed(cfg, method, uri, body)
    # One write, status first: a reader that stops after the status line
    # must not see the body before it.
    sys.stdout.buffer.write(b"%d\n" % st + b)
    sys.stdout.buffer.flush()
