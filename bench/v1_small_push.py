#!/usr/bin/env python3
"""Pushes N small V1 images to Wharf with C concurrent clients, each the full docker push
sequence (announce, json, layer, checksum, tag, finish), and prints images/s.
Standard library only; loopback only."""
import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", required=True)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--bytes", type=int, default=4096)
    args = ap.parse_args()
    u = urlsplit(args.url)
    if u.hostname != "127.0.0.1":
        sys.exit("only http://127.0.0.1:PORT is allowed")
    auth = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()
    local = threading.local()

    def conn():
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        return c

    def call(method, path, body=b"", headers=None, expect=(200,)):
        h = {"Authorization": auth, "Content-Type": "application/json"}
        h.update(headers or {})
        for attempt in range(2):
            try:
                c = conn()
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                if r.status not in expect:
                    raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
                return data
            except (http.client.HTTPException, ConnectionError):
                local.c = None
                if attempt:
                    raise

    def push(i):
        image_id = hashlib.sha256(os.urandom(32)).hexdigest()
        layer = os.urandom(args.bytes)
        body = json.dumps({"id": image_id, "created": "2016-06-20T10:11:12.123456789Z"}).encode()
        name = f"bench/small{i % 50}"
        call("PUT", f"/v1/repositories/{name}/", json.dumps([{"id": image_id, "Tag": f"t{i}"}]).encode(), {"X-Docker-Token": "true"})
        call("PUT", f"/v1/images/{image_id}/json", body)
        call("PUT", f"/v1/images/{image_id}/layer", layer, {"Content-Type": "application/octet-stream"})
        payload = "sha256:" + hashlib.sha256(body + b"\n" + layer).hexdigest()
        call("PUT", f"/v1/images/{image_id}/checksum", b"", {"X-Docker-Checksum-Payload": payload, "X-Docker-Checksum": "tarsum+sha256:" + "0" * 64})
        call("PUT", f"/v1/repositories/{name}/tags/t{i}", json.dumps(image_id).encode())
        call("PUT", f"/v1/repositories/{name}/images", b"[]", {"X-Docker-Token": "true"}, expect=(204,))

    start = time.monotonic()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(push, range(args.count)))
    elapsed = time.monotonic() - start
    print(f"v1_small_images_per_s {args.count / elapsed:.1f} images/s")
    print(f"v1_small_elapsed {elapsed:.2f} s")


if __name__ == "__main__":
    main()
