#!/usr/bin/env python3
"""The GitHub Actions cache service, as BuildKit's `type=gha` cache speaks to
it (the v1 REST protocol: look up, reserve, upload in ranges, commit,
download), for testing `cache = "gha"` outside GitHub Actions.

Entries are kept in DIR, one file each, and listed in DIR/entries.json once
committed. It listens on 127.0.0.1 only and prints two lines:
`url http://127.0.0.1:PORT/` and `token JWT`, a token whose claims give
read and write access to the scope `refs/heads/main` (the service checks
that every API call carries it; BuildKit reads its scopes unverified).

Usage: actions-cache.py DIR
"""

import base64
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

API = "/_apis/artifactcache/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token() -> str:
    now = int(time.time())
    claims = {
        "ac": json.dumps([{"Scope": "refs/heads/main", "Permission": 3}]),
        "nbf": now - 60,
        "exp": now + 6 * 3600,
    }
    header = {"alg": "HS256", "typ": "JWT"}
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(b"unsigned")]
    )


class Store:
    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.entries = {}  # key -> entry
        self.by_id = {}
        self.next_id = 1
        self.seq = 0

    def path(self, entry):
        return os.path.join(self.root, "entry-%d" % entry["id"])

    def lookup(self, keys, version):
        with self.lock:
            done = [e for e in self.entries.values() if e["committed"] and e["version"] == version]
            for k in keys:
                exact = [e for e in done if e["key"] == k]
                if exact:
                    return exact[0]
                prefixed = [e for e in done if e["key"].startswith(k)]
                if prefixed:
                    return max(prefixed, key=lambda e: e["seq"])
        return None

    def reserve(self, key, version):
        with self.lock:
            if key in self.entries:
                return None
            e = {"id": self.next_id, "key": key, "version": version, "committed": False, "size": 0}
            self.next_id += 1
            self.entries[key] = e
            self.by_id[e["id"]] = e
            open(self.path(e), "wb").close()
            return e["id"]

    def write(self, cache_id, offset, data):
        e = self.by_id.get(cache_id)
        if e is None or e["committed"]:
            return False
        with self.lock, open(self.path(e), "r+b") as f:
            f.seek(offset)
            f.write(data)
        return True

    def commit(self, cache_id, size):
        with self.lock:
            e = self.by_id.get(cache_id)
            if e is None or e["committed"] or os.path.getsize(self.path(e)) != size:
                return False
            self.seq += 1
            e.update(committed=True, size=size, seq=self.seq)
            listing = sorted(
                ({"key": x["key"], "size": x["size"]} for x in self.entries.values() if x["committed"]),
                key=lambda x: x["key"],
            )
            tmp = os.path.join(self.root, "entries.json.tmp")
            with open(tmp, "w") as f:
                json.dump(listing, f, indent=1)
            os.replace(tmp, os.path.join(self.root, "entries.json"))
            return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body=None, headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        if "chunked" not in (self.headers.get("Transfer-Encoding") or ""):
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # Go's HTTP client sends bodies of unknown length in chunks.
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    def authorised(self):
        if self.headers.get("Authorization") == "Bearer " + self.server.token:
            return True
        self.body()
        self.reply(401, {"message": "no valid token", "typeKey": "Unauthorized"})
        return False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == API + "cache":
            if not self.authorised():
                return
            q = urllib.parse.parse_qs(url.query)
            keys = q.get("keys", [""])[0].split(",")
            e = self.server.store.lookup(keys, q.get("version", [""])[0])
            if e is None:
                return self.reply(204)
            host = self.headers.get("Host")
            return self.reply(
                200,
                {
                    "cacheKey": e["key"],
                    "scope": "refs/heads/main",
                    "archiveLocation": "http://%s/blobs/%d" % (host, e["id"]),
                },
            )
        m = re.fullmatch(r"/blobs/(\d+)", url.path)
        e = m and self.server.store.by_id.get(int(m.group(1)))
        if not e or not e["committed"]:
            return self.reply(404, {"message": "no such blob"})
        with open(self.server.store.path(e), "rb") as f:
            data = f.read()
        start = 0
        rng = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        status, headers = 200, []
        if rng:
            start = int(rng.group(1))
            if start >= len(data):
                return self.reply(416, {"message": "range not satisfiable"})
            status = 206
            headers = [("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))]
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def do_POST(self):
        if not self.authorised():
            return
        path = urllib.parse.urlsplit(self.path).path
        req = json.loads(self.body() or b"{}")
        if path == API + "caches":
            cache_id = self.server.store.reserve(req.get("key", ""), req.get("version", ""))
            if cache_id is None:
                return self.reply(
                    409,
                    {
                        "message": "Cache already exists.",
                        "typeKey": "ArtifactCacheItemAlreadyExistsException",
                    },
                )
            return self.reply(201, {"cacheId": cache_id})
        m = re.fullmatch(re.escape(API) + r"caches/(\d+)", path)
        if m and self.server.store.commit(int(m.group(1)), int(req.get("size", -1))):
            return self.reply(204)
        self.reply(400, {"message": "cannot commit %s" % path, "typeKey": "BadRequest"})

    def do_PATCH(self):
        if not self.authorised():
            return
        path = urllib.parse.urlsplit(self.path).path
        m = re.fullmatch(re.escape(API) + r"caches/(\d+)", path)
        rng = re.fullmatch(r"bytes (\d+)-(\d+)/\*", self.headers.get("Content-Range") or "")
        data = self.body()
        if m and rng and int(rng.group(2)) - int(rng.group(1)) + 1 == len(data):
            if self.server.store.write(int(m.group(1)), int(rng.group(1)), data):
                return self.reply(204)
        self.reply(400, {"message": "cannot upload to %s" % path, "typeKey": "BadRequest"})


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.store = Store(root)
    server.token = make_token()
    print("url http://127.0.0.1:%d/" % server.server_address[1], flush=True)
    print("token " + server.token, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
