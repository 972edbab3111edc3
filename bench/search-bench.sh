#!/usr/bin/env bash
# Search benchmark (not a test): "a search over 100,000 items answers in under 50 ms". Starts
# Wharf once so it creates its schema, stops it, seeds FILES files (default 100,000) with three
# properties each into docker-local (bench/search_seed.py), restarts it and times property
# searches and quick searches with curl (REPS each, after WARMUP untimed ones), printing the
# median and p95 of time_total. Loopback only; everything it starts it stops; scratch is removed.
#
#   bench/search-bench.sh [OUTFILE]     (env: FILES [100000], REPS [200], WARMUP [20], PORT [18182])
set -euo pipefail
export LC_ALL=C
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY='*' no_proxy='*'
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
FILES=${FILES:-100000}; REPS=${REPS:-200}; WARMUP=${WARMUP:-20}
PORT=${PORT:-18182}
URL="http://127.0.0.1:$PORT"
OUT=${1:-/dev/stdout}
PASSWORD=bench-password-1
WORK=$(mktemp -d /tmp/wharf-search-bench.XXXXXX)
SRV=""
stop() { if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; SRV=""; fi; }
cleanup() { stop; rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }

start() {
  ASPNETCORE_URLS=$URL Wharf__DataDir="$WORK/data" Wharf__Admin__Password=$PASSWORD Logging__LogLevel__Default=Warning \
    dotnet "$ROOT/src/Wharf.Server/bin/Release/net10.0/Wharf.Server.dll" >> "$WORK/server.log" 2>&1 &
  SRV=$!
  for _ in $(seq 150); do curl -sf -o /dev/null "$URL/api/system/ping" && return 0; sleep 0.2; done
  cat "$WORK/server.log" >&2; exit 1
}

log "building Wharf (Release)"
dotnet build "$ROOT/src/Wharf.Server" -c Release --nologo -v quiet >&2

log "first start: schema"
start
stop

log "seeding $FILES files"
python3 "$HERE/search_seed.py" "$WORK/data/wharf.db" "$FILES" docker-local

log "restarting on $URL"
start
AUTH=(-u "admin:$PASSWORD")

# name|query — hits are counted once, then each query is timed REPS times.
QUERIES=(
  "prop exact value|/api/search/prop?docker.repoName=team-07/app-023"
  "prop two keys|/api/search/prop?docker.repoName=team-07/app-023&build.number=17"
  "prop wildcard value|/api/search/prop?docker.repoName=team-07/app-02*"
  "prop rare key+value, common 2nd key|/api/search/prop?build.number=17&qa.passed=false&docker.repoName=team-19/app-049"
  "quick name prefix|/api/search/artifact?name=layer-3f*"
  "quick *suffix (rare)|/api/search/artifact?name=*3f.tar.gz"
  "quick *suffix (common, 1000 cap)|/api/search/artifact?name=*.tar.gz"
  "quick exact name, no hit|/api/search/artifact?name=nosuch.json"
)

{
  printf '%s files in docker-local (+ folders, 3 properties per file); %s timed requests per query after %s warm-ups; admin Basic auth; times in ms (curl time_total)\n\n' "$FILES" "$REPS" "$WARMUP"
  printf '| query | hits | median ms | p95 ms | max ms |\n| --- | --- | --- | --- | --- |\n'
} > "$WORK/table.md"

for entry in "${QUERIES[@]}"; do
  name=${entry%%|*}; path=${entry#*|}
  hits=$(curl -sf "${AUTH[@]}" "$URL$path" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["results"]))')
  for _ in $(seq "$WARMUP"); do curl -sf "${AUTH[@]}" -o /dev/null "$URL$path"; done
  : > "$WORK/times"
  for _ in $(seq "$REPS"); do curl -sf "${AUTH[@]}" -o /dev/null -w '%{time_total}\n' "$URL$path" >> "$WORK/times"; done
  read -r med p95 max < <(sort -g "$WORK/times" | awk '{ t[NR] = $1 * 1000 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    i = int(NR * 0.95 + 0.999999); if (i > NR) i = NR
    printf "%.1f %.1f %.1f\n", m, t[i], t[NR] }')
  log "$name: $hits hits, median $med ms, p95 $p95 ms"
  printf '| `%s` (%s) | %s | %s | %s | %s |\n' "$path" "$name" "$hits" "$med" "$p95" "$max" >> "$WORK/table.md"
done

cat "$WORK/table.md" > "$OUT"
