#!/usr/bin/env bash
# Measures what a bare Kestrel app achieves on this machine (bench/kestrel-floor/app.cs): for a 1 GiB
# PUT, read only, read + two SHA-256, read + write + fsync, and all of it, chunked and with
# Content-Length; for a 1 GiB GET, SendFileAsync, a 1 MiB buffer copy, and reads into the output pipe.
# Loopback only; stops what it starts.
set -euo pipefail
for v in http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; do unset "$v"; done
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
PORT=${FLOOR_PORT:-18190}; export FLOOR_PORT=$PORT
WORK=$(mktemp -d /tmp/kestrel-floor.XXXXXX); SRV=""
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf -- "$WORK"' EXIT
openssl rand -out "$WORK/blob" $((1024 * 1048576))
export FLOOR_FILE="$WORK/blob"
(cd "$HERE/kestrel-floor" && exec dotnet run app.cs -c Release) > "$WORK/log" 2>&1 &
for _ in $(seq 120); do curl -s --noproxy '*' -o /dev/null -X PUT -d x "http://127.0.0.1:$PORT/null" && break; sleep 1; done
SRV=$(ss -ltnp | grep ":$PORT " | grep -o 'pid=[0-9]*' | cut -d= -f2 | head -1)
cpu() { awk '{print $14+$15}' "/proc/$SRV/stat"; }
for mode in null pipe hash pipehash write hashwrite; do
  for te in chunked length; do
    h=(); [ "$te" = chunked ] && h=(-H 'Transfer-Encoding: chunked')
    sync; c0=$(cpu)
    t=$(curl -s --noproxy '*' -X PUT "${h[@]}" -T "$WORK/blob" -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/$mode")
    echo "floor_${mode}_${te} $(awk "BEGIN{printf \"%.0f\", 1073.741824/$t}") MB/s server_cpu=$(( ($(cpu) - c0) * 10 ))ms"
  done
done
cat "$WORK/blob" > /dev/null
for mode in sendfile copy pipe; do
  speed=$(curl -s --noproxy '*' -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$PORT/get/$mode")
  echo "floor_get_${mode} $(awk "BEGIN{printf \"%.0f\", $speed/1e6}") MB/s"
done
