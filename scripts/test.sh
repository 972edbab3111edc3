#!/usr/bin/env bash
# Runs every Wharf test on a Debian machine with the .NET 10 SDK: installs what the tests need
# (idempotent), restores, builds, runs all test projects, and ends with "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/.test-out"
rm -rf "$OUT"
mkdir -p "$OUT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the tests use: node and npm run the second V1 client, skopeo, docker 20.10
# (daemon and CLI, docker.io) and podman are the V2 clients (RealClientTests needs root for dockerd).
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
# nginx and Apache check the generated reverse-proxy files (nginx -t, apache2 -t) and nginx runs
# in front of a test Wharf. They live in /usr/sbin, often not on a user's PATH. apache2-bin holds
# the binary and its modules without the service, so installing it starts nothing; nginx's
# package starts its service only when port 80 is free.
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need+=(apache2-bin)
# /bin/kill stops the web servers the TLS reverse-proxy tests start, by the pid in their pid files.
[ -x /bin/kill ] || [ -x /usr/bin/kill ] || need+=(procps)
# curl and openssl check Wharf's own TLS as real clients (TlsServerTests, TlsSettingsTests).
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# docker 20.10's daemon and podman are the real V2 clients (RealClientTests).
command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || need+=(docker.io)
command -v podman >/dev/null 2>&1 || need+=(podman)
# systemd-analyze checks deploy/wharf.service (DeployDocsTests, scripts/verify-deploy.sh); the
# package installs the tools without starting anything where systemd is not PID 1.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# The npm client under test (docker-registry-client 3.4.0), pinned by package-lock.json.
(cd tests/node-client && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

# Never let a proxy carry loopback test traffic.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet build Wharf.slnx -c Release --nologo -v quiet
status=0
dotnet test Wharf.slnx -c Release --no-build --nologo \
  --logger "trx" --results-directory "$OUT" -- RunConfiguration.TreatNoTestsAsError=true || status=$?

passed=0; failed=0
for trx in "$OUT"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<< "$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<< "$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
# Style is part of the build's contract: a formatting drift counts as one failed check.
if ! dotnet format Wharf.slnx --verify-no-changes -v quiet; then
  echo "dotnet format --verify-no-changes found changes; run 'dotnet format Wharf.slnx'" >&2
  failed=$((failed + 1)); status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # The run failed without a failed test (build break, crashed host): count it as one failure.
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
