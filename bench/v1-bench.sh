#!/usr/bin/env bash
# V1 benchmark (not a test): a 1 GiB layer pushed and pulled through the Docker V1 API, the
# server's peak RSS growth while doing it, and 2,000 small images pushed by 16 clients. Runs
# ../shared/bench/registry-bench.sh limit in the same run and prints each figure as a fraction
# of the machine's ceiling. Loopback only; everything it starts it stops; scratch is removed.
#
#   bench/v1-bench.sh [OUTFILE]        (env: BIG_MB [1024], SMALL_COUNT [2000], SMALL_CONC [16], PULL_REPS [3], PORT [18181])
set -euo pipefail
export LC_ALL=C
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY='*' no_proxy='*'
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
BIG_MB=${BIG_MB:-1024}; SMALL_COUNT=${SMALL_COUNT:-2000}; SMALL_CONC=${SMALL_CONC:-16}; PULL_REPS=${PULL_REPS:-3}
PORT=${PORT:-18181}
URL="http://127.0.0.1:$PORT"
OUT=${1:-/dev/stdout}
PASSWORD=bench-password-1
WORK=$(mktemp -d /tmp/wharf-bench.XXXXXX)
SRV=""
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null; rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }
metric() { printf '%s %s %s\n' "$1" "$2" "$3" | tee -a "$WORK/metrics.txt"; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$SRV/status"; }

log "limits of this machine (registry-bench.sh limit)"
BIG_MB=$BIG_MB bash "$SHARED_BENCH/registry-bench.sh" limit "$WORK" > "$WORK/limit.txt"
LIMIT_PUT=$(awk '$1 == "limit_http_put_sha256_disk" { print $2 }' "$WORK/limit.txt")
LIMIT_GET=$(awk '$1 == "limit_loopback_http_get" { print $2 }' "$WORK/limit.txt")

log "building and starting Wharf (Release) on $URL"
dotnet build "$ROOT/src/Wharf.Server" -c Release --nologo -v quiet >&2
ASPNETCORE_URLS=$URL Wharf__DataDir="$WORK/data" Wharf__Admin__Password=$PASSWORD Logging__LogLevel__Default=Warning \
  dotnet "$ROOT/src/Wharf.Server/bin/Release/net10.0/Wharf.Server.dll" > "$WORK/server.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do curl -sf -o /dev/null "$URL/v1/_ping" && break; sleep 0.2; done
curl -sf -o /dev/null "$URL/v1/_ping" || { cat "$WORK/server.log" >&2; exit 1; }
AUTH=(-u "admin:$PASSWORD")
curl -sf "${AUTH[@]}" -o /dev/null "$URL/v1/users/"   # warm the login cache and JIT

log "generating a $BIG_MB MiB layer"
BYTES=$((BIG_MB * 1048576))
openssl rand -out "$WORK/layer.bin" "$BYTES"
ID=$(openssl rand -hex 32)
JSON="{\"id\":\"$ID\"}"
PAYLOAD="sha256:$( { printf '%s\n' "$JSON"; cat "$WORK/layer.bin"; } | sha256sum | cut -d' ' -f1)"
sync

curl -sf "${AUTH[@]}" -X PUT -H 'X-Docker-Token: true' -d "[{\"id\":\"$ID\"}]" -o /dev/null "$URL/v1/repositories/bench/big/"
curl -sf "${AUTH[@]}" -X PUT -d "$JSON" -o /dev/null "$URL/v1/images/$ID/json"
RSS0=$(kb VmRSS)
echo 5 > "/proc/$SRV/clear_refs"   # reset VmHWM to the current RSS
log "pushing the layer (chunked, as docker does)"
T=$(curl -sf "${AUTH[@]}" -X PUT -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
  -T "$WORK/layer.bin" -o /dev/null -w '%{time_total}' "$URL/v1/images/$ID/layer")
HWM=$(kb VmHWM)
curl -sf "${AUTH[@]}" -X PUT -H "X-Docker-Checksum-Payload: $PAYLOAD" -o /dev/null "$URL/v1/images/$ID/checksum"
metric v1_layer_push "$(calc "$BYTES/$T/1e6" 1)" MB/s
metric v1_layer_push_rss_growth "$(calc "($HWM-$RSS0)/1024" 1)" MiB

log "pulling the layer $PULL_REPS times"
echo 5 > "/proc/$SRV/clear_refs"
RSS0=$(kb VmRSS)
BEST=0
for _ in $(seq "$PULL_REPS"); do
  T=$(curl -sf "${AUTH[@]}" -o /dev/null -w '%{time_total}' "$URL/v1/images/$ID/layer")
  S=$(calc "$BYTES/$T/1e6" 1)
  BEST=$(awk -v a="$BEST" -v b="$S" 'BEGIN { print (b > a) ? b : a }')
done
HWM=$(kb VmHWM)
metric v1_layer_pull "$BEST" MB/s
metric v1_layer_pull_rss_growth "$(calc "($HWM-$RSS0)/1024" 1)" MiB
test "$(curl -sf "${AUTH[@]}" "$URL/v1/images/$ID/layer" | sha256sum | cut -d' ' -f1)" = "$(sha256sum < "$WORK/layer.bin" | cut -d' ' -f1)" \
  || { echo "pulled layer differs from the pushed one" >&2; exit 1; }
rm -f "$WORK/layer.bin"

log "pushing $SMALL_COUNT small images with $SMALL_CONC clients"
python3 "$HERE/v1_small_push.py" --url "$URL" --password "$PASSWORD" --count "$SMALL_COUNT" --concurrency "$SMALL_CONC" | tee -a "$WORK/metrics.txt"
metric server_peak_rss "$(calc "$(kb VmHWM)/1024" 1)" MiB

metric limit_http_put_sha256_disk "$LIMIT_PUT" MB/s
metric limit_loopback_http_get "$LIMIT_GET" MB/s
PUSH=$(awk '$1 == "v1_layer_push" { print $2 }' "$WORK/metrics.txt")
PULL=$(awk '$1 == "v1_layer_pull" { print $2 }' "$WORK/metrics.txt")
metric ratio_v1_layer_push_to_limit "$(calc "$PUSH/$LIMIT_PUT" 2)" x
metric ratio_v1_layer_pull_to_limit "$(calc "$PULL/$LIMIT_GET" 2)" x
[ "$OUT" = /dev/stdout ] || cp "$WORK/metrics.txt" "$OUT"
