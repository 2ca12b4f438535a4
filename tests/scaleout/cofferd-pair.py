#!/usr/bin/env python3
"""cofferd-pair.py: stands in for cofferd so that the server and hostile
scenarios (tests/server/NN-*.sh, tests/hostile/NN-*.sh: they take the
cofferd binary as $2) run on the scale-out setup: two cofferd processes
sharing one PostgreSQL database and one S3 bucket, behind a round-robin
TCP balancer.

  cofferd ... --data DIR [--listen HOST:PORT] ...
      starts two real cofferd (the same options, --listen HOST:0, plus
      --meta .../cso_TAG_H --blobs s3://cso-TAG-H, where H is a hash of
      DIR: one database and one bucket per data folder, created on first
      use), listens on HOST:PORT itself and hands each new connection to
      the next of the two in turn (TLS passes through untouched).  Prints
      cofferd's banner with its own port once both listen.  SIGTERM,
      SIGINT and SIGHUP go to both; it exits when both have, with the
      first non-zero status.  If it is killed (SIGKILL), the kernel kills
      both (PR_SET_PDEATHSIG); if one of them dies, the other is stopped.
  cofferd admin ... / cofferd migrate ...
      the real cofferd on the same database and bucket.
  anything without --data: the real cofferd unchanged.

Environment: COFFERD_REAL (the real binary), SCALEOUT_TAG (names the
databases and buckets: tests/scaleout/run-suite.sh drops them), and
DATABASE_URL, S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION.
SCALEOUT_STATE (a folder, optional): a line of JSON per server run is
appended to SCALEOUT_STATE/pairs.jsonl with the connections each process
got.
"""
import ctypes
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading


def names(data):
    """The database and bucket of a data folder (srv_pg.py: the same)."""
    h = hashlib.md5(os.path.realpath(data).encode()).hexdigest()[:10]
    tag = os.environ["SCALEOUT_TAG"]
    return "cso_%s_%s" % (tag, h), "cso-%s-%s" % (tag, h)


def meta_url(db):
    base = os.environ["DATABASE_URL"].split("?")[0]
    return base.rsplit("/", 1)[0] + "/" + db


def s3_env():
    env = dict(os.environ)
    env["COFFER_S3_ENDPOINT"] = os.environ["S3_ENDPOINT"]
    env["AWS_ACCESS_KEY_ID"] = os.environ["S3_ACCESS_KEY"]
    env["AWS_SECRET_ACCESS_KEY"] = os.environ["S3_SECRET_KEY"]
    env["AWS_REGION"] = os.environ.get("S3_REGION") or "us-east-1"
    env.pop("AWS_DEFAULT_REGION", None)
    return env


def ensure_db(db):
    # several invocations may race here: whoever loses finds it made
    subprocess.run(["psql", "-X", "-q", "-d", os.environ["DATABASE_URL"],
                    "-c", "CREATE DATABASE %s" % db],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Pair:
    def __init__(self, real, args, data, listen):
        self.real, self.args, self.data = real, args, data
        self.host, _, port = listen.rpartition(":")
        self.port = int(port)
        self.conns = [0, 0]
        self.next = 0
        self.mu = threading.Lock()
        self.pumps = []
        self.kids = []
        self.stopping = False

    def bind(self):
        host = self.host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.ls = socket.socket(fam, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.ls.bind((host, self.port))
        except OSError as e:
            sys.stderr.write("cofferd: cannot listen on %s:%d: %s\n" %
                             (self.host, self.port, e.strerror))
            sys.exit(1)
        self.ls.listen(512)
        self.port = self.ls.getsockname()[1]

    def start(self, extra):
        args, i = [], 0
        a = self.args
        while i < len(a):
            if a[i] == "--listen" and i + 1 < len(a):
                i += 2
                continue
            args.append(a[i])
            i += 1
        self.ports, banner = [], None
        # one after the other (a bad option is reported once), and no
        # threads before both run: preexec_fn is unsafe once threads run
        for _ in range(2):
            p = subprocess.Popen(
                [self.real] + args + ["--listen", "%s:0" % self.host]
                + extra, stdout=subprocess.PIPE, env=s3_env(),
                preexec_fn=die_with_parent)
            self.kids.append(p)
            if self.stopping:
                p.terminate()
            line = p.stdout.readline().decode()
            m = re.match(r"cofferd listening on (\S+):(\d+) \(data in ", line)
            if not m:
                for k in self.kids:
                    if k.poll() is None:
                        k.terminate()
                rc = p.wait()
                for k in self.kids:
                    k.wait()
                sys.exit(rc or 1)
            self.ports.append(int(m.group(2)))
            banner = banner or line
        for p in self.kids:
            threading.Thread(target=self.drain, args=(p.stdout,),
                             daemon=True).start()
        # cofferd's banner, with the balancer's port
        sys.stdout.write(re.sub(r":\d+ \(data in ", ":%d (data in " %
                                self.port, banner, count=1))
        sys.stdout.flush()

    @staticmethod
    def drain(f):
        for line in f:
            sys.stdout.buffer.write(line)
            sys.stdout.flush()

    def serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.mu:
                i = self.next
                self.next ^= 1
                self.conns[i] += 1
            threading.Thread(target=self.relay, args=(c, i),
                             daemon=True).start()

    def relay(self, c, i):
        host = self.host.strip("[]")
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        try:
            u = socket.create_connection((host, self.ports[i]))
        except OSError:
            c.close()
            return
        for s in (c, u):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = threading.Thread(target=self.pump, args=(u, c), daemon=True)
        t.start()
        with self.mu:
            self.pumps.append(t)
        self.pump(c, u)
        t.join()
        c.close()
        u.close()

    @staticmethod
    def pump(src, dst):
        try:
            while True:
                b = src.recv(256 * 1024)
                if not b:
                    break
                dst.sendall(b)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def on_signal(self, sig, _frame):
        self.stopping = True
        try:
            # wakes the accept() of the serving thread: no new connection
            self.ls.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for p in self.kids:
            if p.poll() is None:
                try:
                    p.send_signal(sig)
                except OSError:
                    pass

    def run(self):
        threading.Thread(target=self.serve, daemon=True).start()
        rc = 0
        left = {p.pid: p for p in self.kids}
        while left:
            try:
                pid, st = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in left:
                continue
            del left[pid]
            code = os.waitstatus_to_exitcode(st)
            code = 128 - code if code < 0 else code
            rc = rc or code
            if not self.stopping:
                # one died on its own: stop the other, pass the failure on
                sys.stderr.write("cofferd-pair: a cofferd exited (%d)\n"
                                 % code)
                self.on_signal(signal.SIGTERM, None)
        with self.mu:
            pumps = list(self.pumps)
        for t in pumps:
            t.join(5)
        state = os.environ.get("SCALEOUT_STATE")
        if state:
            with open(os.path.join(state, "pairs.jsonl"), "a") as f:
                f.write(json.dumps({"data": self.data, "conns": self.conns,
                                    "rc": rc}) + "\n")
        return rc


def main(argv):
    real = os.environ.get("COFFERD_REAL")
    if not real:
        sys.exit("cofferd-pair: COFFERD_REAL is not set")
    args = argv[1:]
    data = None
    for i, a in enumerate(args[:-1]):
        if a == "--data":
            data = args[i + 1]
    if data is None or (args and args[0] in ("--help", "-h", "help")):
        os.execv(real, [real] + args)
    db, bucket = names(data)
    meta = meta_url(db)
    ensure_db(db)
    if args[0] == "migrate":
        os.execve(real, [real, "migrate", "--meta", meta] + args[1:],
                  s3_env())
    if args[0] == "admin":
        os.execve(real, [real, "admin", "--meta", meta, "--blobs",
                         "s3://" + bucket] + args[1:], s3_env())
    listen = "127.0.0.1:8418"
    for i, a in enumerate(args[:-1]):
        if a == "--listen":
            listen = args[i + 1]
    pair = Pair(real, args, data, listen)
    pair.bind()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, pair.on_signal)
    pair.start(["--meta", meta, "--blobs", "s3://" + bucket])
    sys.exit(pair.run())


if __name__ == "__main__":
    main(sys.argv)
