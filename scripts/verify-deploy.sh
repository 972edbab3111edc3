#!/usr/bin/env bash
# Checks deploy/wharf.service, deploy/wharf.env.example and docs/production.md on this machine,
# as an ordinary process in a temporary folder (nothing in /opt, /etc, /var or systemd changes):
#   1. `systemd-analyze verify` says nothing about the unit (a strict key check without it);
#   2. every line of the example environment file is one systemd accepts;
#   3. the blocks docs/production.md marks with <!-- verify: NAME --> run for real, rewritten for
#      the temporary folder (below): publish, ping, certificate, web-server settings and the NGINX
#      file, then the TLS checks through a private NGINX; Wharf runs as the unit says and stops
#      on SIGTERM with exit code 0.
# Ports: WHARF_PORT (8081), WHARF_V1_PORT (8082) and WHARF_SSL_PORT (443) name free loopback
# ports (DeployDocsTests passes them; random ones otherwise). Ends with "verify-deploy: OK".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DOC=docs/production.md
UNIT=deploy/wharf.service
ENVFILE=deploy/wharf.env.example
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
random_port() { echo $((20000 + RANDOM % 30000)); }
WPORT=${WHARF_PORT:-$(random_port)}
V1PORT=${WHARF_V1_PORT:-$(random_port)}
SSLPORT=${WHARF_SSL_PORT:-$(random_port)}
export WHARF_PASSWORD=verify-deploy-1

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*' DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

T=$(mktemp -d /tmp/wharf-deploy.XXXXXX)
wharf_pid=; nginx_pid=
finish() {
  for pid in $nginx_pid $wharf_pid; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$T"
}
trap finish EXIT
fail() {
  echo "verify-deploy: FAILED: $*" >&2
  for log in "$T"/wharf.log "$T"/nginx/error.log; do
    [ -s "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}
step() { echo "== $*"; }

# The documented paths, ports and names, moved into $T and onto loopback test ports.
rewrite() {
  sed -e "s#/opt/wharf#$T/opt/wharf#g" -e "s#/etc/wharf#$T/etc/wharf#g" \
      -e "s#/var/lib/wharf#$T/var/lib/wharf#g" -e "s#/etc/nginx/#$T/nginx/#g" \
      -e 's#sudo -u wharf ##g' -e 's#sudo ##g' \
      -e "s#8081#$WPORT#g" -e "s#8082#$V1PORT#g" -e "s#\"sslPort\":443#\"sslPort\":$SSLPORT#g" \
      -e "s#https://registry\.example\.com/#https://registry.example.com:$SSLPORT/#g" \
      -e 's#registry\.example\.com#localhost#g'
}

# The shell block after <!-- verify: NAME --> in the doc, rewritten.
block() {
  local text
  text=$(awk -v name="$1" '$0 == "<!-- verify: " name " -->" {found=1; next}
    found && !inside && /^```sh$/ {inside=1; next}
    inside && /^```$/ {exit}
    inside {print}' "$DOC")
  [ -n "$text" ] || fail "$DOC has no block marked <!-- verify: $1 -->"
  rewrite <<< "$text"
}
run_block() {
  local name=$1 script
  script=$(block "$name")
  step "doc block '$name'"
  printf '%s\n' "$script" | sed 's/^/    /'
  (cd "$ROOT" && bash -euo pipefail -c "$script") || fail "the doc's block '$name' failed"
}

# The unit's [Service] values, in order (a key may repeat).
unit_values() { awk -v key="$1" '/^\[/ {section=$0} section == "[Service]" && index($0, key "=") == 1 {print substr($0, length(key) + 2)}' "$UNIT"; }

step "systemd-analyze verify $UNIT"
unit_copy="$T/unit/wharf.service"
mkdir -p "$T/unit"
cp "$UNIT" "$unit_copy"
if [ ! -x /usr/bin/dotnet ]; then
  # The unit names Microsoft's package's /usr/bin/dotnet; where dotnet lives elsewhere, verify that one.
  sed -i "s#^ExecStart=/usr/bin/dotnet#ExecStart=$(command -v dotnet)#" "$unit_copy"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify reports unknown keys and bad values as warnings with exit code 0: any output fails.
  out=$(systemd-analyze verify "$unit_copy" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify reported: $out"
else
  echo "systemd-analyze is missing: checking the unit's keys against a list instead" >&2
  known='Description|After|Wants|Type|User|Group|WorkingDirectory|Environment|EnvironmentFile|ExecStart|Restart|RestartSec|RestartPreventExitStatus|KillSignal|TimeoutStopSec|LimitNOFILE|NoNewPrivileges|ProtectSystem|ReadWritePaths|ProtectHome|PrivateTmp|PrivateDevices|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectClock|ProtectHostname|ProtectProc|RestrictSUIDSGID|RestrictRealtime|RestrictNamespaces|LockPersonality|RemoveIPC|RestrictAddressFamilies|CapabilityBoundingSet|AmbientCapabilities|SystemCallArchitectures|UMask|WantedBy'
  bad=$(grep -vE '^\s*(#|$)' "$UNIT" | grep -vE '^\[(Unit|Service|Install)\]$' | grep -vE "^($known)=" || true)
  [ -z "$bad" ] || fail "unknown lines in $UNIT: $bad"
fi

step "environment file $ENVFILE"
# systemd's EnvironmentFile takes names of letters, digits and "_" and silently drops the rest.
bad=$(grep -vE '^\s*(#|$)' "$ENVFILE" | grep -vE '^[A-Za-z_][A-Za-z0-9_]*=' || true)
[ -z "$bad" ] || fail "lines systemd would drop in $ENVFILE: $bad"

# What the doc's install steps (useradd, install -d, install of the env file) leave behind.
mkdir -p "$T/opt" "$T/var/lib/wharf" "$T/etc/wharf" "$T/nginx/sites-available"
cp "$ENVFILE" "$T/etc/wharf/wharf.env"

# Append --no-build: the test command has built the Release configuration already.
publish=$(block publish)
grep -q 'dotnet publish' <<< "$publish" || fail "the publish block runs no dotnet publish"
step "doc block 'publish' (with --no-build)"
echo "    $publish --no-build"
(cd "$ROOT" && bash -euo pipefail -c "$publish --no-build --nologo -v quiet") || fail "dotnet publish failed"
[ -f "$T/opt/wharf/Wharf.Server.dll" ] || fail "no Wharf.Server.dll in the published folder"

step "Wharf as the unit runs it"
workdir=$(unit_values WorkingDirectory | rewrite)
exec_start=$(unit_values ExecStart | rewrite)
[ -x /usr/bin/dotnet ] || exec_start=${exec_start/\/usr\/bin\/dotnet/$(command -v dotnet)}
environment=(PATH=/usr/bin:/bin HOME="$T/var/lib/wharf")
[ -n "${DOTNET_ROOT:-}" ] && environment+=(DOTNET_ROOT="$DOTNET_ROOT")
while IFS= read -r line; do environment+=("$line"); done < <(unit_values Environment | rewrite)
env_file=$(unit_values EnvironmentFile | rewrite)
env_file=${env_file#-}
[ "$env_file" = "$T/etc/wharf/wharf.env" ] || fail "the unit's EnvironmentFile is $env_file, not /etc/wharf/wharf.env"
while IFS= read -r line; do environment+=("$line"); done < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$env_file" | rewrite)
# First start: docker-local's port (NGINX's, here a test port) and the admin password of the doc.
environment+=(Wharf__Docker__V1Port="$V1PORT" Wharf__Admin__Password="$WHARF_PASSWORD")
echo "    cd $workdir && $exec_start"
read -ra command <<< "$exec_start"
(cd "$workdir" && exec env -i "${environment[@]}" "${command[@]}") > "$T/wharf.log" 2>&1 &
wharf_pid=$!
for _ in $(seq 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$WPORT/api/system/ping" 2>/dev/null && break
  kill -0 "$wharf_pid" 2>/dev/null || fail "Wharf exited during start-up"
  sleep 0.2
done
grep -q "Now listening on: http://127.0.0.1:$WPORT" "$T/wharf.log" || fail "Wharf does not say it listens on 127.0.0.1:$WPORT"
[ -f "$T/var/lib/wharf/wharf.db" ] || fail "no wharf.db in the unit's Wharf__DataDir"

run_block ping
run_block certificate
for file in ca.crt ca.key server.crt server.key; do [ -s "$T/etc/wharf/tls/$file" ] || fail "certificate create wrote no $file"; done
run_block webserver

site="$T/nginx/sites-available/wharf.conf"
step "the generated NGINX file"
grep -q "listen $SSLPORT ssl;" "$site" || fail "no 'listen $SSLPORT ssl;' in $site"
grep -q "listen $V1PORT ssl;" "$site" || fail "no server for docker-local's port $V1PORT in $site"
grep -q "ssl_certificate $T/etc/wharf/tls/server.crt;" "$site" || fail "$site does not serve the created certificate"
grep -q "127.0.0.1:$WPORT" "$site" || fail "$site does not forward to Wharf on 127.0.0.1:$WPORT"
# Tests listen on loopback only.
sed -i -E 's/^(\s*)listen ([0-9]+)/\1listen 127.0.0.1:\2/' "$site"
N="$T/nginx"
cat > "$N/nginx.conf" <<CONF
pid $N/nginx.pid;
error_log $N/error.log;
daemon off;
master_process off;
events {}
http {
    access_log $N/access.log;
    client_body_temp_path $N/client_body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    include $site;
}
CONF
step "nginx -t"
"$NGINX" -t -p "$N/" -e "$N/error.log" -c "$N/nginx.conf" || fail "nginx -t refused the generated file"
step "nginx in front of Wharf on 127.0.0.1:$SSLPORT and 127.0.0.1:$V1PORT"
"$NGINX" -p "$N/" -e "$N/error.log" -c "$N/nginx.conf" > "$T/nginx.out" 2>&1 &
nginx_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null --connect-to "localhost:$SSLPORT:127.0.0.1:$SSLPORT" -k "https://localhost:$SSLPORT/" && break
  kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited: $(cat "$T/nginx.out")"
  sleep 0.1
done

checks=$(block tls-check)
step "doc block 'tls-check'"
printf '%s\n' "$checks" | sed 's/^/    /'
answers=$(cd "$ROOT" && bash -euo pipefail -c "$checks") || fail "the doc's TLS checks failed"
[ "$(tr -d '\n' <<< "$answers")" = "OKtrue401" ] || fail "the TLS checks answered '$answers', not OK, true and 401"
# Wharf believes NGINX's forwarded headers: the challenge names NGINX's public address.
challenge=$(curl -sS -D - -o /dev/null --cacert "$T/etc/wharf/tls/ca.crt" "https://localhost:$SSLPORT/v2/" | tr -d '\r' | grep -i '^www-authenticate:')
grep -q "realm=\"https://localhost:$SSLPORT/artifactory/api/docker/v2/token\"" <<< "$challenge" \
  || fail "the challenge through NGINX does not name https://localhost:$SSLPORT: $challenge"
# V2 by repository path on the main HTTPS port under the port method, as the doc says.
tags=$(curl -sS -u "admin:$WHARF_PASSWORD" --cacert "$T/etc/wharf/tls/ca.crt" "https://localhost:$SSLPORT/v2/docker-v2-local/team/app/tags/list")
grep -q NAME_UNKNOWN <<< "$tags" || fail "V2 by repository path through NGINX answered: $tags"
grep -q "GET /api/system/ping HTTP/1.1\" 200" "$N/access.log" || fail "the ping did not go through NGINX"

step "stop: SIGTERM as systemd sends it"
stop_timeout=$(unit_values TimeoutStopSec); stop_timeout=${stop_timeout%s}
kill -TERM "$nginx_pid"; wait "$nginx_pid" || true; nginx_pid=
kill -TERM "$wharf_pid"
for _ in $(seq $((stop_timeout * 10))); do kill -0 "$wharf_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$wharf_pid" 2>/dev/null && fail "Wharf still runs ${stop_timeout}s after SIGTERM"
code=0; wait "$wharf_pid" || code=$?; wharf_pid=
[ "$code" -eq 0 ] || fail "Wharf exited with code $code after SIGTERM"
echo "verify-deploy: OK"
