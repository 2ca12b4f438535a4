#!/usr/bin/env python3
"""s3proxy.py: a fault-injecting HTTP/1.1 proxy for tests (python3 stdlib).

It sits on loopback between cofferd and an S3 server (radosgw) and relays
requests unchanged (the Host header too, so SigV4 signatures stay valid)
over one upstream connection per client connection, except when a fault
rule picks a request:

  500 | 502 | 503 | 504   answer that status with an S3 <Error> body
                          (503: SlowDown, else InternalError) and close
  error-200               answer 200 whose body is an InternalError after
                          some whitespace (as S3 does when a
                          CompleteMultipartUpload fails late) and close
  stall                   relay the request, then wait `seconds` before
                          relaying the answer (the request did happen:
                          the client's retry must cope with that)
  stall-body              relay half the answer body, wait, relay the rest
  drop-request            relay the request head and half its body, then
                          close both connections
  drop-response           relay the answer head and half its body, then
                          close both connections

A rule is a line of words: ACTION [count=N|inf] [every=N] [method=M]
[match=SUBSTRING] [seconds=S].  It applies to requests of method M whose
target contains SUBSTRING, picks every Nth of them (default every one) and
stops after `count` picks (default 1).  The first rule that picks a request
wins.

  s3proxy.py --upstream 127.0.0.1:7480 [--listen 127.0.0.1:0]
             [--port-file FILE] [--fault RULE]... [--control FILE]
             [--stats FILE] [--log FILE]

--control FILE: rules, one a line ('#' comments), re-read whenever the file
changes (its rules then replace all others; an empty file clears them).
--stats FILE: JSON {"requests": N, "<action>": N...}, rewritten after every
request.  --port-file: the listening port, written once listening.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

HEAD_MAX = 64 * 1024
ACTIONS = ("500", "502", "503", "504", "error-200", "stall", "stall-body",
           "drop-request", "drop-response")


class Rule:
    def __init__(self, text):
        words = text.split()
        if not words or words[0] not in ACTIONS:
            raise ValueError("rule %r: the action is one of %s" %
                             (text, ", ".join(ACTIONS)))
        self.action = words[0]
        self.left, self.every, self.seconds = 1, 1, 10.0
        self.method = self.match = None
        self.seen = 0
        for w in words[1:]:
            k, _, v = w.partition("=")
            if k == "count":
                self.left = -1 if v == "inf" else int(v)
            elif k == "every":
                self.every = max(1, int(v))
            elif k == "method":
                self.method = v.upper()
            elif k == "match":
                self.match = v
            elif k == "seconds":
                self.seconds = float(v)
            else:
                raise ValueError("rule %r: unknown word %r" % (text, w))

    def pick(self, method, target):
        if self.left == 0 or (self.method and method != self.method):
            return False
        if self.match and self.match not in target:
            return False
        self.seen += 1
        if self.seen % self.every != 0:
            return False
        if self.left > 0:
            self.left -= 1
        return True


class Faults:
    def __init__(self, rules, control, stats, log):
        self.mu = threading.Lock()
        self.rules = [Rule(r) for r in rules]
        self.control, self.mtime = control, None
        self.stats_path, self.log_path = stats, log
        self.stats = {"requests": 0}
        self.reload()

    def reload(self):
        if not self.control:
            return
        try:
            st = os.stat(self.control)
        except FileNotFoundError:
            return
        if (st.st_mtime_ns, st.st_size) == self.mtime:
            return
        self.mtime = (st.st_mtime_ns, st.st_size)
        with open(self.control) as f:
            lines = [ln.split("#")[0].strip() for ln in f]
        self.rules = [Rule(ln) for ln in lines if ln]

    def pick(self, method, target):
        with self.mu:
            self.reload()
            self.stats["requests"] += 1
            rule = next((r for r in self.rules if r.pick(method, target)),
                        None)
            if rule is not None:
                self.stats[rule.action] = self.stats.get(rule.action, 0) + 1
            self.write(method, target, rule)
            return rule

    def write(self, method, target, rule):
        if self.stats_path:
            tmp = self.stats_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.stats, f)
            os.replace(tmp, self.stats_path)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write("%.3f %s %s %s\n" % (time.time(), method, target,
                                             rule.action if rule else "-"))


class Conn:
    """A socket with a read buffer."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        data = self.sock.recv(256 * 1024)
        if not data:
            raise EOFError
        self.buf += data

    def head(self):
        """The bytes up to and including the blank line; None at a clean
        end of the connection."""
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > HEAD_MAX:
                raise ValueError("head too large")
            try:
                self.fill()
            except EOFError:
                if self.buf:
                    raise
                return None
        i = self.buf.index(b"\r\n\r\n") + 4
        h, self.buf = self.buf[:i], self.buf[i:]
        return h

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def chunks(self, n):
        """Yield the next n bytes in pieces."""
        while n > 0:
            if not self.buf:
                self.fill()
            piece, self.buf = self.buf[:n], self.buf[n:]
            n -= len(piece)
            yield piece

    def rest(self):
        """Yield everything until the peer closes."""
        while True:
            if self.buf:
                piece, self.buf = self.buf, b""
                yield piece
            try:
                self.fill()
            except EOFError:
                return


def parse(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    hdrs = {}
    for ln in lines[1:]:
        k, sep, v = ln.partition(":")
        if sep:
            hdrs[k.strip().lower()] = v.strip()
    return first, hdrs


def chunked(src):
    """Yield a chunked body as it arrives, framing included."""
    while True:
        ln = src.line()
        yield ln
        size = int(ln.split(b";")[0].strip(), 16)
        if size == 0:
            while True:
                t = src.line()
                yield t
                if t == b"\r\n":
                    return
        yield from src.chunks(size + 2)


def error_answer(status):
    code = "SlowDown" if status == "503" else "InternalError"
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>injected by s3proxy</Message></Error>" % code).encode()
    if status == "error-200":
        status, body = "200", b" " * 2000 + body
    reason = {"200": "OK", "500": "Internal Server Error", "502": "Bad Gateway",
              "503": "Slow Down", "504": "Gateway Timeout"}[status]
    return ("HTTP/1.1 %s %s\r\nContent-Type: application/xml\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" %
            (status, reason, len(body))).encode() + body


class Session:
    def __init__(self, client, upstream_addr, faults):
        self.c = Conn(client)
        self.u = None
        self.addr, self.faults = upstream_addr, faults

    def upstream(self):
        if self.u is None:
            self.u = Conn(socket.create_connection(self.addr, timeout=600))
        return self.u

    def close(self):
        for conn in (self.c, self.u):
            if conn is not None:
                try:
                    conn.sock.close()
                except OSError:
                    pass

    def run(self):
        try:
            while self.one():
                pass
        except (OSError, EOFError, ValueError):
            pass
        finally:
            self.close()

    def one(self):
        """Relay one request and its answer; False to close."""
        head = self.c.head()
        if head is None:
            return False
        (method, target, _), hdrs = parse(head)
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            self.c.sock.sendall(error_answer("500"))
            return False
        clen = int(hdrs.get("content-length", "0"))
        expect = hdrs.get("expect", "").lower() == "100-continue"
        rule = self.faults.pick(method, target)
        action = rule.action if rule else None
        if action in ("500", "502", "503", "504", "error-200"):
            if not expect:
                for _ in self.c.chunks(clen):
                    pass
            self.c.sock.sendall(error_answer(action))
            return False
        up = self.upstream()
        up.sock.sendall(head)
        if action == "drop-request":
            sent = 0
            for piece in self.c.chunks(clen // 2):
                up.sock.sendall(piece)
                sent += len(piece)
            return False
        if clen > 0 and expect:
            ans = up.head()
            (_, status, _), _ = parse(ans)
            self.c.sock.sendall(ans)
            if status != "100":
                self.relay_body(method, status, parse(ans)[1], None)
                return False
        for piece in self.c.chunks(clen):
            up.sock.sendall(piece)
        if action == "stall":
            time.sleep(rule.seconds)
        return self.answer(method, rule)

    def answer(self, method, rule):
        while True:
            ans = self.u.head()
            if ans is None:
                raise EOFError
            (_, status, _), hdrs = parse(ans)
            self.c.sock.sendall(ans)
            if not status.startswith("1"):
                break
        done = self.relay_body(method, status, hdrs, rule)
        keep = "close" not in hdrs.get("connection", "").lower()
        return done and keep

    def relay_body(self, method, status, hdrs, rule):
        action = rule.action if rule else None
        if method == "HEAD" or status in ("204", "304"):
            return True
        if "chunked" in hdrs.get("transfer-encoding", "").lower():
            src = chunked(self.u)
            total = None
        elif "content-length" in hdrs:
            total = int(hdrs["content-length"])
            src = self.u.chunks(total)
        else:
            src, total = self.u.rest(), None
        half = (total or 0) // 2
        sent = 0
        for piece in src:
            if action in ("drop-response", "stall-body") and sent + len(
                    piece) > half:
                cut = max(0, half - sent)
                self.c.sock.sendall(piece[:cut])
                if action == "drop-response":
                    return False
                time.sleep(rule.seconds)
                action = None
                piece = piece[cut:]
            self.c.sock.sendall(piece)
            sent += len(piece)
        return total is not None or "chunked" in hdrs.get(
            "transfer-encoding", "").lower()


def hostport(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, type=hostport)
    ap.add_argument("--listen", default="127.0.0.1:0", type=hostport)
    ap.add_argument("--port-file")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--control")
    ap.add_argument("--stats")
    ap.add_argument("--log")
    a = ap.parse_args()
    try:
        faults = Faults(a.fault, a.control, a.stats, a.log)
    except ValueError as e:
        sys.exit("s3proxy: %s" % e)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(a.listen)
    srv.listen(128)
    port = srv.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(a.port_file + ".tmp", a.port_file)
    print("s3proxy listening on 127.0.0.1:%d" % port, flush=True)
    while True:
        sock, _ = srv.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = Session(sock, a.upstream, faults)
        threading.Thread(target=s.run, daemon=True).start()


if __name__ == "__main__":
    main()
