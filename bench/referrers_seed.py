#!/usr/bin/env python3
"""Seeds the read-path benchmarks of bench/v2-bench.sh: one image (the shared harness's
push-manifest), then COUNT small OCI artifacts whose `subject` is that image, alternating two
artifact types (so a filtered referrers list holds half of them). Prints three lines:
`<subject digest> <subject media type>`, the referrers path, and the filtered referrers path.

    bench/referrers_seed.py --base URL --auth-file FILE --repo NAME [--count 1000]

Loopback only (the harness's Client refuses anything but 127.0.0.1); standard library only.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "bench")
sys.path.insert(0, SHARED)
import regbench  # noqa: E402  (the shared harness's helper: Client, push_bytes, expect)

EMPTY = b"{}"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(EMPTY).hexdigest()
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
TYPES = ("application/vnd.example.sbom", "application/vnd.example.signature")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--auth-file", default="")
    p.add_argument("--repo", required=True)
    p.add_argument("--count", type=int, default=1000)
    a = p.parse_args()

    subject = subprocess.run(
        [sys.executable, os.path.join(SHARED, "regbench.py"), "push-manifest", "--base", a.base,
         "--auth-file", a.auth_file, "--repo", a.repo, "--tag", "subject", "--extra-tags", "0",
         "--seed", "7"], check=True, capture_output=True, text=True).stdout.strip()
    c = regbench.Client(a.base, regbench.read_auth(a))
    st, h, b = c.request("GET", "/v2/%s/manifests/%s" % (a.repo, subject),
                         headers={"Accept": regbench.MT_DOCKER_MANIFEST})
    regbench.expect(st, (200,), "GET subject by digest", h, b)
    subject_desc = {"mediaType": regbench.MT_DOCKER_MANIFEST, "digest": subject, "size": len(b)}

    regbench.push_bytes(c, a.repo, EMPTY, EMPTY_DIGEST)
    for i in range(a.count):
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": regbench.MT_OCI_MANIFEST,
            "artifactType": TYPES[i % 2],
            "config": {"mediaType": EMPTY_TYPE, "digest": EMPTY_DIGEST, "size": len(EMPTY)},
            "layers": [{"mediaType": EMPTY_TYPE, "digest": EMPTY_DIGEST, "size": len(EMPTY)}],
            "subject": subject_desc,
            "annotations": {"org.example.n": str(i)},
        }).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        st, h, b = c.request("PUT", "/v2/%s/manifests/%s" % (a.repo, digest), body=manifest,
                             headers={"Content-Type": regbench.MT_OCI_MANIFEST})
        regbench.expect(st, (201,), "PUT referrer %d" % i, h, b)
    c.close()
    print(subject, regbench.MT_DOCKER_MANIFEST)
    print("/v2/%s/referrers/%s" % (a.repo, subject))
    print("/v2/%s/referrers/%s?artifactType=%s" % (a.repo, subject, urllib.parse.quote(TYPES[0], safe="")))


if __name__ == "__main__":
    try:
        main()
    except regbench.BenchError as e:
        print("referrers_seed: %s" % e, file=sys.stderr)
        sys.exit(1)
