#!/usr/bin/env python3
"""s3util.py: the few S3 calls the scaleout tests make themselves (stdlib
only, SigV4 with UNSIGNED-PAYLOAD, path style), with S3_ENDPOINT,
S3_ACCESS_KEY, S3_SECRET_KEY and S3_REGION from the environment.

  s3util.py mb BUCKET              create a bucket (no error if ours)
  s3util.py rb BUCKET              empty it (objects and multipart
                                   uploads) and remove it
  s3util.py rb-prefix PREFIX       rb every bucket whose name starts so
  s3util.py ls BUCKET [PREFIX]     keys, one a line
  s3util.py count BUCKET [PREFIX]  how many keys
  s3util.py bytes BUCKET [PREFIX]  their total size
  s3util.py get BUCKET KEY OUT     copy an object to a file
  s3util.py put BUCKET KEY FILE    write an object
  s3util.py rm BUCKET KEY          delete an object
  s3util.py uploads BUCKET         multipart uploads in progress: KEY ID
"""
import datetime
import hashlib
import hmac
import http.client
import os
import re
import sys
import urllib.parse
from xml.sax.saxutils import unescape


class S3:
    def __init__(self):
        ep = os.environ["S3_ENDPOINT"]
        u = urllib.parse.urlsplit(ep)
        self.https = u.scheme == "https"
        self.host = u.netloc
        self.key = os.environ["S3_ACCESS_KEY"]
        self.secret = os.environ["S3_SECRET_KEY"]
        self.region = os.environ.get("S3_REGION") or "us-east-1"
        self.conn = None

    def _conn(self):
        if self.conn is None:
            cls = (http.client.HTTPSConnection if self.https
                   else http.client.HTTPConnection)
            self.conn = cls(self.host, timeout=60)
        return self.conn

    def _sign(self, method, path, query, headers):
        now = datetime.datetime.now(datetime.timezone.utc)
        amzdate = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        headers["host"] = self.host
        headers["x-amz-date"] = amzdate
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        names = sorted(headers)
        canon_h = "".join("%s:%s\n" % (n, str(headers[n]).strip())
                          for n in names)
        signed = ";".join(names)
        q = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"),
                                urllib.parse.quote(v, safe="-_.~"))
                     for k, v in sorted(query))
        creq = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), q,
                          canon_h, signed, "UNSIGNED-PAYLOAD"])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
            "Signature=%s" % (self.key, scope, signed, sig))
        return q

    def call(self, method, path, query=(), body=b"", ok=(200, 204)):
        headers = {}
        if body:
            headers["content-length"] = str(len(body))
        q = self._sign(method, path, list(query), headers)
        url = urllib.parse.quote(path, safe="/-_.~") + ("?" + q if q else "")
        for attempt in range(3):
            try:
                c = self._conn()
                c.request(method, url, body=body or None, headers=headers)
                r = c.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        if r.status not in ok:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, r.status,
                                                      data[:300]))
        return r.status, data

    def make_bucket(self, b):
        self.call("PUT", "/" + b, ok=(200, 409))

    def keys(self, b, prefix=""):
        token = None
        while True:
            q = [("list-type", "2"), ("max-keys", "1000")]
            if prefix:
                q.append(("prefix", prefix))
            if token:
                q.append(("continuation-token", token))
            _, data = self.call("GET", "/" + b, q, ok=(200,))
            text = data.decode()
            for m in re.finditer(r"<Contents>(.*?)</Contents>", text, re.S):
                k = unescape(re.search(r"<Key>(.*?)</Key>", m.group(1)
                                       ).group(1))
                size = int(re.search(r"<Size>(\d+)</Size>", m.group(1)
                                     ).group(1))
                yield k, size
            t = re.search(r"<NextContinuationToken>(.*?)"
                          r"</NextContinuationToken>", text)
            if "<IsTruncated>true</IsTruncated>" not in text or not t:
                return
            token = unescape(t.group(1))

    def uploads(self, b):
        _, data = self.call("GET", "/" + b, [("uploads", "")], ok=(200,))
        return [(unescape(k), u) for k, u in re.findall(
            r"<Key>([^<]*)</Key>\s*<UploadId>([^<]*)</UploadId>",
            data.decode())]

    def buckets(self):
        _, data = self.call("GET", "/", ok=(200,))
        return re.findall(r"<Name>([^<]*)</Name>", data.decode())

    def get(self, b, key):
        return self.call("GET", "/%s/%s" % (b, key), ok=(200,))[1]

    def put(self, b, key, data):
        self.call("PUT", "/%s/%s" % (b, key), body=data, ok=(200,))

    def rm(self, b, key):
        self.call("DELETE", "/%s/%s" % (b, key), ok=(200, 204, 404))

    def remove_bucket(self, b):
        try:
            for k, _ in list(self.keys(b)):
                self.rm(b, k)
            for k, u in self.uploads(b):
                self.call("DELETE", "/%s/%s" % (b, k), [("uploadId", u)],
                          ok=(200, 204, 404))
        except RuntimeError as e:
            if "NoSuchBucket" in str(e):
                return
            raise
        self.call("DELETE", "/" + b, ok=(200, 204, 404))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    s3 = S3()
    cmd, a = argv[1], argv[2:]
    if cmd == "mb":
        s3.make_bucket(a[0])
    elif cmd == "rb":
        s3.remove_bucket(a[0])
    elif cmd == "rb-prefix":
        for b in s3.buckets():
            if b.startswith(a[0]):
                s3.remove_bucket(b)
    elif cmd == "ls":
        for k, _ in s3.keys(a[0], a[1] if len(a) > 1 else ""):
            print(k)
    elif cmd == "count":
        print(sum(1 for _ in s3.keys(a[0], a[1] if len(a) > 1 else "")))
    elif cmd == "bytes":
        print(sum(n for _, n in s3.keys(a[0], a[1] if len(a) > 1 else "")))
    elif cmd == "get":
        with open(a[2], "wb") as f:
            f.write(s3.get(a[0], a[1]))
    elif cmd == "put":
        with open(a[2], "rb") as f:
            s3.put(a[0], a[1], f.read())
    elif cmd == "uploads":
        for k, u in s3.uploads(a[0]):
            print(k, u)
    elif cmd == "rm":
        s3.rm(a[0], a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
