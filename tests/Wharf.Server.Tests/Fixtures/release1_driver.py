#!/usr/bin/env python3
"""HTTP driver of make-release1-data.sh: fills a running Wharf through its public APIs
(`populate`) and records what that Wharf serves (`capture`), for ReleaseUpgradeTests.

Only the standard library: it runs wherever python3 does. Every byte it pushes is derived from
fixed seeds, so the digests are the same on every run (gzip with mtime 0; a different zlib may
compress differently, which changes the layer digests but nothing else). What differs between
runs is what the server chooses: times, upload ids, tokens.

Usage: release1_driver.py populate BASE_URL ADMIN_PASSWORD OUT.json
       release1_driver.py capture BASE_URL ADMIN_PASSWORD OUT.json POPULATED.json COMMIT
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import sys
import tarfile
import urllib.parse

V2_LOCAL = "docker-v2-local"
V2_RETAINED = "docker-v2-retained"
V1_LOCAL = "docker-local"
V1_PROD = "docker-v1-prod"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


# ---------------------------------------------------------------- HTTP


class Wharf:
    """A minimal HTTP client: no proxies, no redirects, Basic auth as admin."""

    def __init__(self, base, password):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.auth = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()

    def request(self, method, path, body=None, headers=None, auth=True):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        all_headers = {"Authorization": self.auth} if auth else {}
        all_headers.update(headers or {})
        if body is not None and isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        result = (response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        conn.close()
        return result

    def expect(self, status, method, path, body=None, headers=None):
        got, response_headers, data = self.request(method, path, body, headers)
        statuses = status if isinstance(status, tuple) else (status,)
        if got not in statuses:
            raise SystemExit(f"{method} {path}: expected {status}, got {got}: {data[:500]!r}")
        return response_headers, data

    def json(self, path):
        return json.loads(self.expect(200, "GET", path)[1])


def local_path(location):
    """A Location header as a path on this server (it may be absolute or relative)."""
    url = urllib.parse.urlsplit(location)
    return url.path + ("?" + url.query if url.query else "")


# ---------------------------------------------------------------- content


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def digest(data, algorithm="sha256"):
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def compact(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=False).encode()


def tar(files):
    """A deterministic tar of {path: bytes} (fixed owner, mode and time)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 1500000000, 0o644, 0, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def layer(seed):
    """A small gzip'd tar layer and its diff_id."""
    raw = tar({f"opt/{seed}/README": f"layer {seed}\n".encode() * 8, f"opt/{seed}/VERSION": seed.encode() + b"\n"})
    return gz(raw), digest(raw)


def config(architecture, diff_ids, labels, created="2024-05-02T09:14:03Z"):
    return compact({
        "architecture": architecture,
        "os": "linux",
        "created": created,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })


def descriptor(media_type, data, algorithm="sha256", **extra):
    return {"mediaType": media_type, "digest": digest(data, algorithm), "size": len(data), **extra}


def image_manifest(config_bytes, layers, media_type=OCI_MANIFEST, **extra):
    docker = media_type == DOCKER_MANIFEST
    return compact({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(DOCKER_CONFIG if docker else OCI_CONFIG, config_bytes),
        "layers": [descriptor(DOCKER_LAYER_GZIP if docker else OCI_LAYER_GZIP, l) for l in layers],
        **extra,
    })


# ---------------------------------------------------------------- V2


def v2(repo):
    return f"/artifactory/api/docker/{repo}/v2/"


def push_blob(w, repo, image, data, algorithm="sha256"):
    w.expect(201, "POST", f"{v2(repo)}{image}/blobs/uploads/?digest={digest(data, algorithm)}", data)
    return digest(data, algorithm)


def push_blob_chunked(w, repo, image, data, chunk, algorithm="sha256"):
    headers, _ = w.expect(202, "POST", f"{v2(repo)}{image}/blobs/uploads/")
    location = local_path(headers["location"])
    for start in range(0, len(data), chunk):
        part = data[start:start + chunk]
        headers, _ = w.expect(202, "PATCH", location, part, {
            "Content-Type": "application/octet-stream",
            "Content-Range": f"{start}-{start + len(part) - 1}",
        })
        location = local_path(headers["location"])
    separator = "&" if "?" in location else "?"
    w.expect(201, "PUT", f"{location}{separator}digest={digest(data, algorithm)}")


def push_manifest(w, repo, image, reference, data, media_type):
    headers, _ = w.expect(201, "PUT", f"{v2(repo)}{image}/manifests/{reference}", data, {"Content-Type": media_type})
    return headers["docker-content-digest"]


def push_image(w, repo, image, tags, config_bytes, layers, media_type=OCI_MANIFEST):
    push_blob(w, repo, image, config_bytes)
    for l in layers:
        push_blob(w, repo, image, l)
    manifest = image_manifest(config_bytes, layers, media_type)
    for tag in tags:
        push_manifest(w, repo, image, tag, manifest, media_type)
    return manifest


def populate_v2(w):
    base, base_diff = layer("base")
    app10, app10_diff = layer("app-1.0")
    app11, app11_diff = layer("app-1.1")
    labels = {"org.opencontainers.image.title": "app", "team": "platform"}

    # acme/app: 1.0 (OCI), 1.1 and latest (one Docker schema 2 manifest), 1.1's layer pushed in chunks.
    push_blob(w, V2_LOCAL, "acme/app", base)
    push_blob(w, V2_LOCAL, "acme/app", app10)
    push_blob_chunked(w, V2_LOCAL, "acme/app", app11, 64)
    app10_config = config("amd64", [base_diff, app10_diff], {**labels, "version": "1.0"})
    app11_config = config("amd64", [base_diff, app11_diff], {**labels, "version": "1.1"})
    subject = image_manifest(app10_config, [base, app10])
    push_blob(w, V2_LOCAL, "acme/app", app10_config)
    push_manifest(w, V2_LOCAL, "acme/app", "1.0", subject, OCI_MANIFEST)
    push_image(w, V2_LOCAL, "acme/app", ["1.1", "latest"], app11_config, [base, app11], DOCKER_MANIFEST)

    # A manifest pushed by digest only (no tag names it).
    nightly_config = config("amd64", [base_diff], {**labels, "version": "nightly"})
    push_blob(w, V2_LOCAL, "acme/app", nightly_config)
    nightly = image_manifest(nightly_config, [base])
    push_manifest(w, V2_LOCAL, "acme/app", digest(nightly), nightly, OCI_MANIFEST)

    # Two referrers of 1.0 (artifactType and subject), pushed by digest as ORAS does.
    empty = push_blob(w, V2_LOCAL, "acme/app", b"{}")
    for kind, payload, by in (("sig", b"signature of acme/app:1.0\n", "ci"), ("sbom", b'{"spdxVersion":"SPDX-2.3"}', "scanner")):
        push_blob(w, V2_LOCAL, "acme/app", payload)
        artifact = compact({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": f"application/vnd.example.{kind}",
            "config": {"mediaType": OCI_EMPTY, "digest": empty, "size": 2},
            "layers": [descriptor(f"application/vnd.example.{kind}.v1", payload)],
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest(subject), "size": len(subject)},
            "annotations": {"org.opencontainers.image.created": "2024-05-02T10:00:00Z", "by": by},
        })
        push_manifest(w, V2_LOCAL, "acme/app", digest(artifact), artifact, OCI_MANIFEST)

    # A blob uploaded and never named by a manifest: it lives only in acme/app/_uploads.
    push_blob(w, V2_LOCAL, "acme/app", b"uploaded, never referenced\n" * 4)

    # A nested image name, and a tag of it deleted again.
    tool, tool_diff = layer("tool-2")
    push_image(w, V2_LOCAL, "team/sub/tool", ["2"], config("amd64", [tool_diff], {"team": "tools"}), [tool])
    deleted = push_image(w, V2_LOCAL, "team/sub/tool", ["old"], config("amd64", [tool_diff], {"team": "tools", "old": "yes"}), [tool])
    w.expect(202, "DELETE", f"{v2(V2_LOCAL)}team/sub/tool/manifests/old")

    # An image without tags: one manifest pushed by digest (its tags list is empty, the catalog leaves it out).
    untagged, untagged_diff = layer("untagged")
    untagged_config = config("amd64", [untagged_diff], {})
    push_blob(w, V2_LOCAL, "acme/untagged", untagged_config)
    push_blob(w, V2_LOCAL, "acme/untagged", untagged)
    untagged_manifest = image_manifest(untagged_config, [untagged])
    push_manifest(w, V2_LOCAL, "acme/untagged", digest(untagged_manifest), untagged_manifest, OCI_MANIFEST)

    # A multi-platform index whose two children are pushed by digest first.
    children = []
    for architecture in ("amd64", "arm64"):
        child_layer, child_diff = layer(f"multi-{architecture}")
        child_config = config(architecture, [child_diff], {"platform": architecture})
        push_blob(w, V2_LOCAL, "acme/multi", child_config)
        push_blob(w, V2_LOCAL, "acme/multi", child_layer)
        child = image_manifest(child_config, [child_layer])
        push_manifest(w, V2_LOCAL, "acme/multi", digest(child), child, OCI_MANIFEST)
        children.append(descriptor(OCI_MANIFEST, child, platform={"architecture": architecture, "os": "linux"}))
    index = compact({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    push_manifest(w, V2_LOCAL, "acme/multi", "1.0", index, OCI_INDEX)

    # sha512: a config and a layer (one monolithic, one chunked), the manifest by tag and by its sha512 digest.
    s512_layer, s512_diff = layer("s512")
    s512_config = config("amd64", [s512_diff], {"digest": "sha512"})
    push_blob(w, V2_LOCAL, "acme/s512", s512_config, "sha512")
    push_blob_chunked(w, V2_LOCAL, "acme/s512", s512_layer, 100, "sha512")
    s512_manifest = compact({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, s512_config, "sha512"),
        "layers": [descriptor(OCI_LAYER_GZIP, s512_layer, "sha512")],
    })
    push_manifest(w, V2_LOCAL, "acme/s512", "1", s512_manifest, OCI_MANIFEST)
    push_manifest(w, V2_LOCAL, "acme/s512", digest(s512_manifest, "sha512"), s512_manifest, OCI_MANIFEST)

    # A tag folder copied to another tag name, and a user property on a tag folder (recursive).
    w.expect(200, "POST", f"/api/copy/{V2_LOCAL}/acme/app/1.1?to=/{V2_LOCAL}/acme/app/1.1-copy")
    w.expect(204, "PUT", f"/api/storage/{V2_LOCAL}/acme/app/1.0?properties=qa.passed=true;build.number=17;owners=alice,bob")

    # A repository that keeps one revision: stable moves twice, so one revision is kept and one pruned.
    w.expect(200, "PUT", f"/api/repositories/{V2_RETAINED}", compact({
        "key": V2_RETAINED, "rclass": "local", "packageType": "docker", "dockerApiVersion": "V2",
        "description": "keeps a revision of each moved tag", "dockerTagRetention": 2,
    }), {"Content-Type": "application/json"})
    stable = []
    for version in ("1", "2", "3"):
        stable_layer, stable_diff = layer(f"stable-{version}")
        stable.append(push_image(w, V2_RETAINED, "acme/app", ["stable"], config("amd64", [stable_diff], {"revision": version}), [stable_layer]))
    w.expect(200, "POST", f"/api/docker/{V2_LOCAL}/v2/promote", compact({
        "targetRepo": V2_RETAINED, "dockerRepository": "acme/app", "tag": "1.0", "targetTag": "promoted", "copy": True,
    }), {"Content-Type": "application/json"})

    # An upload session left open: a third of the blob received; the rest is in the expectations.
    pending = b"an upload that survives the upgrade\n" * 9
    headers, _ = w.expect(202, "POST", f"{v2(V2_LOCAL)}acme/app/blobs/uploads/")
    location = local_path(headers["location"])
    received = len(pending) // 3
    headers, _ = w.expect(202, "PATCH", location, pending[:received], {
        "Content-Type": "application/octet-stream", "Content-Range": f"0-{received - 1}",
    })
    return {
        "pendingUpload": {
            "repo": V2_LOCAL,
            "image": "acme/app",
            "location": local_path(headers["location"]),
            "received": received,
            "rest": base64.b64encode(pending[received:]).decode(),
            "digest": digest(pending),
        },
        # What no reference answers: the first stable revision, pruned by dockerTagRetention, and the deleted tag.
        "gone": [
            {"repo": V2_RETAINED, "image": "acme/app", "reference": digest(stable[0])},
            {"repo": V2_LOCAL, "image": "team/sub/tool", "reference": "old"},
            {"repo": V2_LOCAL, "image": "team/sub/tool", "reference": digest(deleted)},
        ],
    }


# ---------------------------------------------------------------- V1


def v1_image(seed, parent, layer_bytes):
    image_id = sha256(f"wharf-release1-{seed}".encode())
    body = {"id": image_id}
    if parent:
        body["parent"] = parent
    body.update({
        "created": "2015-05-12T21:04:41.012345678Z",
        "container_config": {"Cmd": ["/bin/sh", "-c", f"#(nop) ADD {seed}"]},
        "docker_version": "1.9.1",
        "architecture": "amd64",
        "os": "linux",
        "Size": len(layer_bytes),
    })
    return image_id, json.dumps(body).encode(), layer_bytes


def v1_push(w, name, tag, chain, prefix="/v1/"):
    """docker 1.9's push (docker-v1-protocol §10), with Basic credentials on every call."""
    announce = [{"id": i} for i, _, _ in chain[:-1]] + [{"id": chain[-1][0], "Tag": tag}]
    w.expect(200, "PUT", f"{prefix}repositories/{name}/", compact(announce), {"Content-Type": "application/json", "X-Docker-Token": "true"})
    for image_id, body, data in chain:
        status, _, _ = w.request("GET", f"{prefix}images/{image_id}/json")
        if status == 200:
            continue
        w.expect(200, "PUT", f"{prefix}images/{image_id}/json", body, {"Content-Type": "application/json"})
        w.expect(200, "PUT", f"{prefix}images/{image_id}/layer", data, {"Content-Type": "application/octet-stream"})
        w.expect(200, "PUT", f"{prefix}images/{image_id}/checksum", None, {
            "X-Docker-Checksum": "tarsum+sha256:" + sha256(data),
            "X-Docker-Checksum-Payload": "sha256:" + sha256(body + b"\n" + data),
        })
    w.expect(200, "PUT", f"{prefix}repositories/{name}/tags/{tag}", f'"{chain[-1][0]}"', {"Content-Type": "application/json"})
    w.expect(204, "PUT", f"{prefix}repositories/{name}/images", "[]", {"Content-Type": "application/json", "X-Docker-Token": "true"})


def populate_v1(w):
    base0 = v1_image("base0", None, tar({"etc/os-release": b"NAME=wharf-fixture\n", "bin/sh": b"#!/bin/true\n"}))
    base1 = v1_image("base1", base0[0], bytes(1024))  # an empty tar: migration gives it an empty_layer history entry
    web10 = v1_image("web-1.0", base1[0], gz(tar({"srv/www/index.html": b"<h1>1.0</h1>\n"})))
    web11 = v1_image("web-1.1", base1[0], tar({"srv/www/index.html": b"<h1>1.1</h1>\n"}))
    busybox = v1_image("busybox", None, tar({"bin/busybox": b"busybox\n" * 16}))
    v1_push(w, "acme/web", "1.0", [base0, base1, web10])
    v1_push(w, "acme/web", "1.1", [base0, base1, web11])
    v1_push(w, "busybox", "latest", [busybox])

    w.expect(204, "PUT", f"/api/storage/{V1_LOCAL}/repositories/acme/web/1.0?properties=qa.passed=true;build.number=17")
    w.expect(200, "POST", f"/api/copy/{V1_LOCAL}/repositories/acme/web/1.1?to=/{V1_LOCAL}/repositories/acme/web/1.1-copy")

    w.expect(200, "PUT", f"/api/repositories/{V1_PROD}", compact({
        "key": V1_PROD, "rclass": "local", "packageType": "docker", "dockerApiVersion": "V1", "maxUniqueTags": 20,
    }), {"Content-Type": "application/json"})
    w.expect(200, "POST", f"/api/docker/{V1_LOCAL}/v1/promote", compact({
        "targetRepo": V1_PROD, "dockerRepository": "acme/web", "tag": "1.0", "targetTag": "stable", "copy": True,
    }), {"Content-Type": "application/json"})

    # Every V1 tag into docker-v2-local as schema 2 images.
    _, body = w.expect(200, "POST", f"/api/docker/{V1_LOCAL}/v1/migrate", compact({"targetRepo": V2_LOCAL}), {"Content-Type": "application/json"})
    report = json.loads(body)
    if report["failed"] or len(report["migrated"]) != 4:
        raise SystemExit(f"migration: {report}")


def populate(w):
    result = populate_v2(w)
    populate_v1(w)
    # Legacy checksums (sha1, md5) are computed when first asked for and then stored: ask for a
    # few, so the data holds blobs with and without them.
    w.json(f"/api/storage/{V2_LOCAL}/acme/app/1.0/manifest.json")
    busybox = sha256(b"wharf-release1-busybox")
    w.expect(200, "GET", f"/artifactory/{V1_LOCAL}/.images/{busybox}/layer.tar")
    return result


# ---------------------------------------------------------------- capture


def strip_uri(document):
    """Drops the fields that carry the server's own address (uri, downloadUri)."""
    return {k: v for k, v in document.items() if k not in ("uri", "downloadUri")}


def capture_tree(w, repo, listing):
    items = {}
    for entry in listing:
        path = entry["uri"][1:]
        status, _, data = w.request("GET", f"/api/storage/{repo}/{urllib.parse.quote(path, safe='/:')}?properties")
        if status not in (200, 404):
            raise SystemExit(f"properties of {repo}/{path}: {status}")
        items[path] = {"properties": json.loads(data)["properties"] if status == 200 else {}}
    for path in items:
        info = w.json(f"/api/storage/{repo}/{urllib.parse.quote(path, safe='/:')}")
        info.pop("children", None)
        items[path]["info"] = strip_uri(info)
    return {"listing": listing, "items": items}


def manifest_answer(w, repo, image, reference):
    headers, data = w.expect(200, "GET", f"{v2(repo)}{image}/manifests/{reference}")
    return data, {
        "digest": headers["docker-content-digest"],
        "mediaType": headers["content-type"],
        "sha256": sha256(data),
        "size": len(data),
    }


def capture_v2(w, repo, tree):
    images = {}
    for path in tree["items"]:
        parts = path.split("/")
        if len(parts) >= 3 and parts[-1] in ("manifest.json", "list.manifest.json"):
            images.setdefault("/".join(parts[:-2]), set()).add(parts[-2])
        if len(parts) >= 3 and parts[-2] == "_uploads":
            images.setdefault("/".join(parts[:-2]), set())

    result = {"catalog": w.json(f"{v2(repo)}_catalog")["repositories"], "images": {}}
    for image, folders in sorted(images.items()):
        status, _, data = w.request("GET", f"{v2(repo)}{image}/tags/list")
        entry = {"tags": json.loads(data)["tags"] if status == 200 else None, "manifests": {}, "blobs": {}, "referrers": {}}
        blob_digests = set()
        for folder in sorted(folders):
            reference = folder  # a tag, or sha256:<hex> / sha512:<hex>
            data, answer = manifest_answer(w, repo, image, reference)
            entry["manifests"][reference] = answer
            if answer["digest"] != reference:
                entry["manifests"][answer["digest"]] = manifest_answer(w, repo, image, answer["digest"])[1]
            manifest = json.loads(data)
            for d in [manifest.get("config")] + manifest.get("layers", []):
                if d:
                    blob_digests.add(d["digest"])
        for path in tree["items"]:
            if path.startswith(image + "/") and path.count("/") == image.count("/") + 2:
                name = path.rsplit("/", 1)[1]
                if name.startswith(("sha256__", "sha512__")):
                    blob_digests.add(name.replace("__", ":", 1))
        for d in sorted(blob_digests):
            headers, data = w.expect(200, "GET", f"{v2(repo)}{image}/blobs/{d}")
            entry["blobs"][d] = {"sha256": sha256(data), "size": len(data), "digest": headers["docker-content-digest"]}
            if digest(data, d.split(":")[0]) != d:
                raise SystemExit(f"{repo}/{image}@{d} serves other bytes")
        for d in sorted({m["digest"] for m in entry["manifests"].values()}):
            referrers = w.json(f"{v2(repo)}{image}/referrers/{d}")["manifests"]
            if referrers:
                entry["referrers"][d] = sorted(referrers, key=lambda r: r["digest"])
        result["images"][image] = entry
    return result


def capture_v1(w, repo, tree):
    prefix = f"/artifactory/api/docker/{repo}/v1/"
    result = {"repositories": {}, "images": {}}
    names = sorted(p[len("repositories/"):-len("/_index_images.json")] for p in tree["items"]
                   if p.startswith("repositories/") and p.endswith("/_index_images.json"))
    for name in names:
        tags = w.json(f"{prefix}repositories/{name}/tags")
        index = w.json(f"{prefix}repositories/{name}/images")
        result["repositories"][name] = {"tags": tags, "images": index}
        for tag, image_id in tags.items():
            if w.json(f"{prefix}repositories/{name}/tags/{tag}") != image_id:
                raise SystemExit(f"{repo} {name}:{tag} answers two ids")
            for ancestor in w.json(f"{prefix}images/{image_id}/ancestry"):
                if ancestor in result["images"]:
                    continue
                headers, body = w.expect(200, "GET", f"{prefix}images/{ancestor}/json")
                _, data = w.expect(200, "GET", f"{prefix}images/{ancestor}/layer")
                result["images"][ancestor] = {
                    "ancestry": w.json(f"{prefix}images/{ancestor}/ancestry"),
                    "jsonSha256": sha256(body),
                    "size": int(headers["x-docker-size"]),
                    "checksumPayload": headers["x-docker-checksum-payload"],
                    "layerSha256": sha256(data),
                    "layerSize": len(data),
                }
    return result


def capture(w):
    keys = [summary["key"] for summary in w.json("/api/repositories")]
    # Every listing before any item info: item info computes and stores the sha1 and md5 a
    # listing shows once known, so the listings taken first show what the data directory holds.
    listings = {key: w.json(f"/api/storage/{key}?list&deep=1&listFolders=1")["files"] for key in keys}
    repositories = {}
    for key in keys:
        configuration = w.json(f"/api/repositories/{key}")
        tree = capture_tree(w, key, listings[key])
        entry = {"config": configuration, "tree": tree}
        if configuration["dockerApiVersion"] == "V2":
            entry["v2"] = capture_v2(w, key, tree)
        else:
            entry["v1"] = capture_v1(w, key, tree)
        repositories[key] = entry
    return repositories


def capture_extras(w, populated):
    """What populate left for the test to check: the open upload session and the pruned revision."""
    upload = populated["pendingUpload"]
    headers, _ = w.expect(204, "GET", upload["location"])
    upload["range"] = headers["range"]
    for gone in populated["gone"]:
        status, _, _ = w.request("GET", f"{v2(gone['repo'])}{gone['image']}/manifests/{gone['reference']}")
        if status != 404:
            raise SystemExit(f"{gone} answers {status}")
    return populated


def main():
    command, base, password, out = sys.argv[1:5]
    w = Wharf(base, password)
    if command == "populate":
        result = populate(w)
    elif command == "capture":
        # capture BASE PASSWORD OUT POPULATED.json COMMIT
        with open(sys.argv[5], encoding="utf-8") as f:
            populated = json.load(f)
        result = {"generatedFrom": sys.argv[6], "adminUser": "admin", **capture_extras(w, populated), "repositories": capture(w)}
    else:
        raise SystemExit(f"unknown command {command}")
    with open(out, "w", encoding="utf-8") as f:
        f.write(json.dumps(result, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
