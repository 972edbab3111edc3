#!/usr/bin/env bash
# What exact-path authorization costs on the registry's hottest reads (not a test): manifest GET by
# tag and by digest, and a small blob GET, each as an administrator (who skips the permission
# targets) and as a user limited by path patterns, with registry tokens as docker holds them.
# Every commit given is built from its own worktree and measured in the same run, in ROUNDS
# alternating rounds (a shared VM's throughput drifts by tens of percent within minutes), then the
# median of the rounds per figure (the default compares the release before issue #10 with HEAD).
#
#   bench/authz-bench.sh [REV ...]     (env: PORT [18095], DURATION [10s], ROUNDS [3], CONNECTIONS [16], THREADS [2])
set -euo pipefail
export LC_ALL=C
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY='*' no_proxy='*'
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${PORT:-18095}
URL="http://127.0.0.1:$PORT"
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
PASSWORD=bench-password-1
REVS=("$@")
[ ${#REVS[@]} -gt 0 ] || REVS=(924151a HEAD)
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
WORK=$(mktemp -d /tmp/wharf-authz-bench.XXXXXX)
SRV=""
cleanup() {
  if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  for rev in "${REVS[@]}"; do git -C "$ROOT" worktree remove --force "$WORK/src-$rev" 2>/dev/null || true; done
  rm -rf -- "$WORK"
}
trap cleanup EXIT
log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# One small image, the same bytes for every commit measured.
head -c 4096 /dev/urandom > "$WORK/layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' > "$WORK/config"
LAYER=$(sha "$WORK/layer"); CONFIG=$(sha "$WORK/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$CONFIG" "$(stat -c %s "$WORK/config")" "$LAYER" "$(stat -c %s "$WORK/layer")" > "$WORK/manifest"
MANIFEST=$(sha "$WORK/manifest")
V2="$URL/artifactory/api/docker/bench/v2"

token() { # user password -> registry token for team/app
  curl -sf -u "$1:$2" "$URL/artifactory/api/docker/bench/v2/token?scope=repository:team/app:pull,push" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

measure() { # label token path
  local out
  wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $2" "$URL$3" > /dev/null   # warm-up
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $2" "$URL$3")
  printf '%-34s %12s req/s   p99 %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<< "$out")" "$(awk '$1 == "99%" {print $2}' <<< "$out")"
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
  A=(-sf -o /dev/null -u "admin:$PASSWORD")
  curl "${A[@]}" -X PUT -H 'Content-Type: application/json' "$URL/api/repositories/bench" \
    -d '{"key":"bench","rclass":"local","packageType":"docker","dockerApiVersion":"V2"}'
  curl "${A[@]}" -X POST --data-binary @"$WORK/config" "$V2/team/app/blobs/uploads/?digest=sha256:$CONFIG"
  curl "${A[@]}" -X POST --data-binary @"$WORK/layer" "$V2/team/app/blobs/uploads/?digest=sha256:$LAYER"
  curl "${A[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$WORK/manifest" "$V2/team/app/manifests/latest"
  # A user among several targets, limited by patterns: the shape of a real installation's rules.
  curl "${A[@]}" -X PUT -H 'Content-Type: application/json' "$URL/api/security/users/limited" \
    -d '{"email":"limited@example.com","password":"limited-password-1","groups":[]}'
  for i in $(seq 1 20); do
    curl "${A[@]}" -X PUT -H 'Content-Type: application/json' "$URL/api/security/permissions/team-$i" \
      -d "{\"repositories\":[\"bench\"],\"includesPattern\":\"team$i/**\",\"principals\":{\"groups\":{\"readers\":[\"r\"]}}}"
  done
  curl "${A[@]}" -X PUT -H 'Content-Type: application/json' "$URL/api/security/permissions/limited" \
    -d '{"repositories":["bench"],"includesPattern":"**/latest/**,**/_uploads/**","excludesPattern":"**/secret/**","principals":{"users":{"limited":["r"]}}}'
  ADMIN=$(token admin "$PASSWORD"); LIMITED=$(token limited limited-password-1)
  echo "== round $round: $rev ($(git -C "$ROOT" rev-parse --short "$rev"))"
  for who in admin limited; do
    t=$ADMIN; [ "$who" = limited ] && t=$LIMITED
    measure "$who manifest GET by tag" "$t" "/artifactory/api/docker/bench/v2/team/app/manifests/latest"
    measure "$who manifest GET by digest" "$t" "/artifactory/api/docker/bench/v2/team/app/manifests/sha256:$MANIFEST"
    measure "$who blob GET 4 KiB" "$t" "/artifactory/api/docker/bench/v2/team/app/blobs/sha256:$LAYER"
  done | tee -a "$WORK/figures-$rev"
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
    words = line.split()
    figures.setdefault(" ".join(words[:5]), []).append(float(words[5]))
for key, values in figures.items():
    print(f"{key:<34} {statistics.median(values):12.0f}   ({', '.join(f'{v:.0f}' for v in values)})")
PY
done
