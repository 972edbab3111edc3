#!/usr/bin/env bash
# What the registry index changes on the reads it answers (not a test): manifest GET by tag and by
# digest in an image with 200 tags, the tags list, the catalog of 100 images, and the referrers
# of a subject with 1,000 referrers, with a registry token as docker holds one. Every commit given
# is built from its own worktree and measured in the same run, in ROUNDS alternating rounds, then
# the median of the rounds per figure (the default compares the commit before the index with HEAD).
#
#   bench/index-bench.sh [REV ...]     (env: PORT [18096], DURATION [8s], ROUNDS [3], CONNECTIONS [16], THREADS [2])
set -euo pipefail
export LC_ALL=C
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY='*' no_proxy='*'
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-18096}
URL="http://127.0.0.1:$PORT"
DURATION=${DURATION:-8s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
PASSWORD=bench-password-1
REVS=("$@")
[ ${#REVS[@]} -gt 0 ] || REVS=(549ee43 HEAD)
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
WORK=$(mktemp -d /tmp/wharf-index-bench.XXXXXX)
SRV=""
cleanup() {
  if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  for rev in "${REVS[@]}"; do git -C "$ROOT" worktree remove --force "$WORK/src-$rev" 2>/dev/null || true; done
  rm -rf -- "$WORK"
}
trap cleanup EXIT
log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }
V2="/artifactory/api/docker/bench/v2"

# Fills the repository over one keep-alive connection and prints the digests the reads ask for.
cat > "$WORK/fill.py" <<'PY'
import base64, hashlib, http.client, json, sys
port, password = int(sys.argv[1]), sys.argv[2]
c = http.client.HTTPConnection("127.0.0.1", port)
auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
V2 = "/artifactory/api/docker/bench/v2"
def req(method, path, body=b"", ctype=None):
    h = dict(auth)
    if ctype: h["Content-Type"] = ctype
    c.request(method, path, body=body, headers=h)
    r = c.getresponse(); data = r.read()
    if r.status >= 300: sys.exit(f"{method} {path}: {r.status} {data[:200]!r}")
    return data
def digest(b): return "sha256:" + hashlib.sha256(b).hexdigest()
req("PUT", "/api/repositories/bench", json.dumps({"key": "bench", "rclass": "local", "packageType": "docker", "dockerApiVersion": "V2"}).encode(), "application/json")
config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
layer = hashlib.sha256(b"layer").digest() * 128
def push_blobs(image):
    for b in (config, layer):
        req("POST", f"{V2}/{image}/blobs/uploads/?digest={digest(b)}", b)
def manifest(n, subject=None):
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
         "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}],
         "annotations": {"n": str(n)}}
    if subject:
        m["subject"] = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject[0], "size": subject[1]}
        m["artifactType"] = "application/vnd.example.sig"
    return json.dumps(m).encode()
push_blobs("team/app")
middle = None
for i in range(200):
    m = manifest(i)
    req("PUT", f"{V2}/team/app/manifests/t{i:03d}", m, "application/vnd.oci.image.manifest.v1+json")
    if i == 100: middle = (digest(m), len(m))
for i in range(1000):
    m = manifest(10000 + i, middle)
    req("PUT", f"{V2}/team/app/manifests/{digest(m)}", m, "application/vnd.oci.image.manifest.v1+json")
for i in range(100):
    push_blobs(f"catalog/img{i:03d}")
    req("PUT", f"{V2}/catalog/img{i:03d}/manifests/latest", manifest(i), "application/vnd.oci.image.manifest.v1+json")
print(middle[0])
PY

token() {
  curl -sf -u "admin:$PASSWORD" "$URL$V2/token?scope=repository:team/app:pull&scope=registry:catalog:*" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

measure() { # label token path
  local out
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $2" "$URL$3" > /dev/null   # warm-up
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $2" "$URL$3")
  printf '%-28s %12s req/s   p99 %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<< "$out")" "$(awk '$1 == "99%" {print $2}' <<< "$out")"
}

for rev in "${REVS[@]}"; do
  log "$rev: building"
  git -C "$ROOT" worktree add -q --detach "$WORK/src-$rev" "$rev"
  dotnet build "$WORK/src-$rev/src/Wharf.Server" -c Release --nologo -v quiet >&2
done

for round in $(seq "$ROUNDS"); do
for rev in "${REVS[@]}"; do
  rm -rf "$WORK/data"
  ASPNETCORE_URLS=$URL Wharf__DataDir="$WORK/data" Wharf__Admin__Password=$PASSWORD Logging__LogLevel__Default=Warning \
    dotnet "$WORK/src-$rev/src/Wharf.Server/bin/Release/net10.0/Wharf.Server.dll" > "$WORK/server-$rev.log" 2>&1 &
  SRV=$!
  for _ in $(seq 150); do curl -sf -o /dev/null "$URL/api/system/ping" && break; sleep 0.2; done
  SUBJECT=$(python3 "$WORK/fill.py" "$PORT" "$PASSWORD")
  T=$(token)
  echo "== round $round: $rev ($(git -C "$ROOT" rev-parse --short "$rev"))"
  {
    measure "manifest GET by tag" "$T" "$V2/team/app/manifests/t100"
    measure "manifest GET by digest" "$T" "$V2/team/app/manifests/$SUBJECT"
    measure "tags list (200 tags)" "$T" "$V2/team/app/tags/list"
    measure "catalog (101 images)" "$T" "$V2/_catalog"
    measure "referrers (1000)" "$T" "$V2/team/app/referrers/$SUBJECT"
  } | tee -a "$WORK/figures-$rev"
  ps -o rss= -p "$SRV" | awk '{ printf "%-28s %12.1f MiB\n", "server RSS after", $1 / 1024 }'
  kill "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=""
done
done

echo "== median req/s of $ROUNDS rounds"
for rev in "${REVS[@]}"; do
  echo "-- $rev"
  python3 - "$WORK/figures-$rev" <<'PY'
import statistics, sys
figures = {}
for line in open(sys.argv[1]):
    label, rest = line[:28].strip(), line[28:].split()
    figures.setdefault(label, []).append(float(rest[0]))
for key, values in figures.items():
    print(f"{key:<28} {statistics.median(values):12.0f}   ({', '.join(f'{v:.0f}' for v in values)})")
PY
done
