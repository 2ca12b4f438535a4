#!/usr/bin/env python3
"""graceful.py PORT SIGNREQ CFGDIR PID: an upload in flight when cofferd
gets SIGTERM finishes (201) while new connections are refused; prints the
object's name.  04-crash.sh then checks the server exited 0 and, after a
restart, that the object reads back."""
import os
import secrets
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from raw import Client, bhash, read_response  # noqa: E402

port, signreq, cfg, pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
c = Client(int(port), signreq, timeout=30)
body = secrets.token_bytes(3 << 20)
uri = "/v1/r/graceful/o/data/" + bhash(body)
s = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
s.sendall(Client.build("PUT", uri, c.signed_headers(cfg, "PUT", uri,
                                                    body=body), b"",
                       length=len(body)) + body[:1 << 20])
time.sleep(0.3)
os.kill(int(pid), signal.SIGTERM)
time.sleep(0.5)
try:
    socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
    sys.exit("graceful.py: a new connection was accepted after SIGTERM")
except OSError:
    pass
s.sendall(body[1 << 20:])
st, _, b = read_response(s)
if st != 201:
    sys.exit("graceful.py: the upload in flight got %d %r" % (st, b))
print(bhash(body))
