#!/usr/bin/env python3
"""Where the harness's small-blob client tops out on this machine: a stub registry on 127.0.0.1
(asyncio, one core) that answers POST .../blobs/uploads/ with 202 and a Location, and the PUT
with 201, reading each body and storing nothing. Then the shared harness's own `push-small`
client runs against it with the same knobs as the benchmark. Prints `small_blob_push_ceiling`.

    bench/small_push_ceiling.py [COUNT 2000] [SIZE 4096] [CONC 16]

Loopback only; the stub stops when the client is done (and after 120 s in any case).
"""
import asyncio
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
HELPER = os.path.join(HERE, "..", "..", "shared", "bench", "regbench.py")


class Stub(asyncio.Protocol):
    def connection_made(self, transport):
        self.t, self.buf, self.n = transport, b"", 0

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            method = head[0].split(" ")[0]
            if method == "POST":
                self.n += 1
                self.t.write(b"HTTP/1.1 202 Accepted\r\nLocation: /v2/stub/blobs/uploads/u%d\r\n"
                             b"Content-Length: 0\r\n\r\n" % self.n)
            elif method == "PUT":
                self.t.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
            else:
                self.t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


def main():
    count, size, conc = (sys.argv[1:] + ["2000", "4096", "16"][len(sys.argv) - 1:])[:3]
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Stub, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    threading.Thread(target=loop.run_forever, daemon=True).start()
    with tempfile.NamedTemporaryFile("w") as auth:
        out = subprocess.run([sys.executable, HELPER, "push-small", "--base", "http://127.0.0.1:%d" % port,
                              "--auth-file", auth.name, "--repo", "stub", "--count", count, "--size", size,
                              "--conc", conc], capture_output=True, text=True, timeout=120, check=True).stdout
    loop.call_soon_threadsafe(loop.stop)
    for line in out.splitlines():
        if line.startswith("small_blob_push "):
            print(line.replace("small_blob_push ", "small_blob_push_ceiling ", 1))
        elif line.startswith("small_blob_push_p50 "):
            print(line.replace("small_blob_push_p50 ", "small_blob_push_ceiling_p50 ", 1))


if __name__ == "__main__":
    main()
