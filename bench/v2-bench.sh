#!/usr/bin/env bash
# V2 benchmark (not a test): ../shared/bench/registry-bench.sh against Wharf and against Debian's
# docker-registry (CNCF Distribution 2.8, via ../shared/bench/run-distribution.sh) in one run, on
# this machine, loopback only, then the ratio Wharf / Distribution per metric.
#
#   bench/v2-bench.sh [OUTDIR]      (env: anything registry-bench.sh reads, PORT [18090])
#
# BASELINE=<commit> also builds Wharf at that commit (in a temporary worktree) and measures it in
# the same run, right before the working tree's build, each freshly started on empty storage; the
# table then has a column for each and the ratio of each to Distribution. The machine's limits
# (run-distribution.sh measures them before and after Distribution's run) are printed too.
#
# After each registry's harness run, on the same fresh instance, the read paths the harness does not
# cover: a manifest GET by digest, and the referrers list of one subject with REFERRERS [1000]
# artifacts (unfiltered, and filtered by artifactType to half of them); READ_SECS [10] s of wrk
# each with 32 connections. Distribution 2.8 has no referrers API (it answers 404: nan).
#
# Wharf runs from a fresh data directory with a V2 repository `bench` as its main listener's
# default repository, so the harness's bench/{big,small,meta,app} are images of that repository
# by the repository-path method, authenticated with the Bearer token flow as admin.
set -euo pipefail
export LC_ALL=C
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
export NO_PROXY='*' no_proxy='*'
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SHARED=$(cd "$ROOT/../shared/bench" && pwd)
OUT=${1:-$(mktemp -d /tmp/wharf-v2-bench.XXXXXX)}
PORT=${PORT:-18090}
URL="http://127.0.0.1:$PORT"
PASSWORD=bench-password-1
BASELINE=${BASELINE:-}
WORK=$(mktemp -d /tmp/wharf-v2-data.XXXXXX)
SRV=""
stop_wharf() { if [ -n "$SRV" ]; then kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; SRV=""; fi; }
cleanup() {
  stop_wharf
  [ -n "$BASELINE" ] && git -C "$ROOT" worktree remove --force "$WORK/src-baseline" 2>/dev/null || true
  rm -rf -- "$WORK"
}
trap cleanup EXIT
log() { printf '# [%s] %s\n' "$(date +%T)" "$*" >&2; }
mkdir -p "$OUT"

for tool in docker-registry skopeo wrk hyperfine; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install -y docker-registry skopeo wrk hyperfine" >&2; exit 2; }
done

# read_phase LABEL BASE: seeds bench/ref (referrers_seed.py), then wrk on the three GETs; metrics
# appended to $OUT/LABEL-run.txt in the harness's format.
read_phase() {
  local label=$1 base=$2 auth="$WORK/auth-$1" seed lua="$WORK/read-$1.lua" out="$OUT/$1-run.txt"
  REGISTRY_USER=${3:-} REGISTRY_PASSWORD=${4:-} python3 "$SHARED/regbench.py" auth --base "$base" --out "$auth" \
    --scope 'repository:bench/ref:pull,push' >/dev/null || { log "$label: read phase: no credentials"; return 0; }
  log "$label: read phase: one image and ${REFERRERS:-1000} referrers on it"
  seed=$(python3 "$HERE/referrers_seed.py" --base "$base" --auth-file "$auth" --repo bench/ref --count "${REFERRERS:-1000}") \
    || { log "$label: seeding the read phase failed"; return 0; }
  local subject accept refs filtered
  subject=$(sed -n 1p <<< "$seed" | cut -d' ' -f1); accept=$(sed -n 1p <<< "$seed" | cut -d' ' -f2)
  refs=$(sed -n 2p <<< "$seed"); filtered=$(sed -n 3p <<< "$seed")
  for spec in "manifest_get_by_digest /v2/bench/ref/manifests/$subject" "referrers_get $refs" "referrers_filtered_get $filtered"; do
    local name=${spec%% *} path=${spec#* } st hdr=()
    [ -s "$auth" ] && hdr=(-H "Authorization: $(cat "$auth")")
    st=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $accept" "${hdr[@]+"${hdr[@]}"}" "$base$path")
    if [ "$st" != 200 ]; then log "$label: $name: HTTP $st"; echo "$name nan req/s" >> "$out"; continue; fi
    { printf 'wrk.headers["Accept"] = [[%s]]\n' "$accept"
      [ -s "$auth" ] && printf 'wrk.headers["Authorization"] = [[%s]]\n' "$(cat "$auth")"; } > "$lua"
    wrk -t 2 -c 32 -d "${READ_SECS:-10}s" --timeout 10s --latency -s "$lua" "$base$path" > "$WORK/wrk-$label-$name.out" 2>&1
    python3 "$SHARED/regbench.py" parse-wrk --name "$name" < "$WORK/wrk-$label-$name.out" >> "$out"
  done
}

log "Distribution 2.8 (docker-registry): limits and one run"
RUNS=1 "$SHARED/run-distribution.sh" "$OUT/distribution" >&2
log "Distribution 2.8: read phase on a fresh instance"
sed "s|rootdirectory: .*|rootdirectory: $WORK/distribution-data|" "$OUT/distribution/distribution-config.yml" > "$WORK/distribution.yml"
docker-registry serve "$WORK/distribution.yml" > "$OUT/distribution-read.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:5000/v2/ && break; sleep 0.1; done
read_phase distribution http://127.0.0.1:5000
cat "$OUT/distribution-run.txt" >> "$OUT/distribution/run-1.txt"
stop_wharf

# run_wharf LABEL SRCDIR: build SRCDIR's server (Release), start it on empty storage, one harness run.
run_wharf() {
  local label=$1 src=$2 data="$WORK/data-$1"
  log "building Wharf $label (Release)"
  dotnet build "$src/src/Wharf.Server" -c Release --nologo -v quiet >&2
  mkdir -p "$data"
  ASPNETCORE_URLS=$URL Wharf__DataDir="$data" Wharf__Admin__Password=$PASSWORD Wharf__Docker__DefaultRepository=bench \
    Logging__LogLevel__Default=Warning dotnet "$src/src/Wharf.Server/bin/Release/net10.0/Wharf.Server.dll" > "$OUT/$label-server.log" 2>&1 &
  SRV=$!
  for _ in $(seq 150); do curl -sf -o /dev/null "$URL/api/system/ping" && break; sleep 0.2; done
  curl -sf -u "admin:$PASSWORD" -X PUT -H 'Content-Type: application/json' "$URL/api/repositories/bench" \
    -d '{"key":"bench","rclass":"local","packageType":"docker","dockerApiVersion":"V2"}' >&2; echo >&2
  log "Wharf $label: one run (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  REGISTRY_USER=admin REGISTRY_PASSWORD=$PASSWORD REGISTRY_PID=$SRV "$SHARED/registry-bench.sh" "$URL" > "$OUT/$label-run.txt" 2> "$OUT/$label-run.log" || true
  read_phase "$label" "$URL" admin "$PASSWORD"
  stop_wharf
  rm -rf -- "$data"
}

if [ -n "$BASELINE" ]; then
  git -C "$ROOT" worktree add -q --detach "$WORK/src-baseline" "$BASELINE"
  run_wharf baseline "$WORK/src-baseline"
fi
run_wharf wharf "$ROOT"
[ -f "$OUT/wharf-run.txt" ] || exit 1
log "the small-blob client against a stub that stores nothing (where the client tops out)"
python3 "$HERE/small_push_ceiling.py" "${SMALL_COUNT:-2000}" "${SMALL_BYTES:-4096}" "${SMALL_CONC:-16}" > "$OUT/client-ceiling.txt" || true

val() { awk -v m="$2" '$1 == m { print $2 }' "$1"; }
ratio() { awk -v w="${1:-nan}" -v d="${2:-nan}" 'BEGIN { if (d + 0 > 0 && w != "nan") printf "%.2f", w / d; else print "nan" }'; }
if [ -n "$BASELINE" ]; then
  printf '%-26s %14s %14s %14s %8s %8s\n' metric baseline wharf distribution base/d wharf/d
  for m in blob_push_monolithic blob_push_chunked blob_pull small_blob_push small_blob_push_p50 manifest_get manifest_get_p99 manifest_get_by_digest manifest_get_by_digest_p99 referrers_get referrers_get_p99 referrers_filtered_get tags_list_get catalog_get skopeo_push skopeo_pull server_rss_peak server_cpu_big_push server_cpu_small; do
    b=$(val "$OUT/baseline-run.txt" "$m"); w=$(val "$OUT/wharf-run.txt" "$m"); d=$(val "$OUT/distribution/run-1.txt" "$m")
    printf '%-26s %14s %14s %14s %8s %8s\n' "$m" "${b:-nan}" "${w:-nan}" "${d:-nan}" "$(ratio "$b" "$d")" "$(ratio "$w" "$d")"
  done | tee "$OUT/ratios.txt"
  cat "$OUT/client-ceiling.txt"
  for f in "$OUT"/distribution/limit-*.txt; do echo "# $(basename "$f" .txt)"; grep '^limit_' "$f"; done | tee "$OUT/limits.txt" || true
  log "results in $OUT"
  exit 0
fi

printf '%-26s %14s %14s %8s\n' metric wharf distribution ratio
for m in blob_push_monolithic blob_push_chunked blob_pull small_blob_push manifest_get manifest_get_p99 manifest_get_by_digest manifest_get_by_digest_p99 referrers_get referrers_get_p99 referrers_filtered_get tags_list_get catalog_get skopeo_push skopeo_pull server_rss_peak; do
  w=$(awk -v m="$m" '$1 == m { print $2 }' "$OUT/wharf-run.txt")
  d=$(awk -v m="$m" '$1 == m { print $2 }' "$OUT/distribution/run-1.txt")
  r=$(awk -v w="${w:-nan}" -v d="${d:-nan}" 'BEGIN { if (d + 0 > 0 && w != "nan") printf "%.2f", w / d; else print "nan" }')
  printf '%-26s %14s %14s %8s\n' "$m" "${w:-nan}" "${d:-nan}" "$r"
done | tee "$OUT/ratios.txt"
log "results in $OUT"
