#!/usr/bin/env bash
# Runs the OCI distribution-spec conformance suite (v1.1 line, conformance/) against a Release
# build of Wharf on 127.0.0.1. See tests/oci-conformance/README.md.
#
#   scripts/oci-conformance.sh [--automatic-crossmount=1|0|unset]
#
# --automatic-crossmount (default 1) sets OCI_AUTOMATIC_CROSSMOUNT for the run; "unset" leaves it
# out of the environment, which skips the two automatic-content-discovery specs.
#
# Environment:
#   OCI_CONFORMANCE_SRC  folder with the suite's upstream files (conformance/*.go, reggie/*.go),
#                        checked against tests/oci-conformance/SHA256SUMS
#                        (default: tests/oci-conformance/upstream)
#   OCI_PORT             Wharf's port (default 18081)
#   OCI_REPORT_OUT       where junit.xml, results.txt, failures.txt, output.txt and wharf.log are
#                        kept (default: .test-out/oci-conformance/<crossmount mode>)
#
# Installs the Debian packages it needs when missing (Go 1.19, ginkgo v1, gomega, go-digest,
# uuid, resty v2, mapstructure), builds the suite in GOPATH mode against /usr/share/gocode (no Go
# module is fetched), builds and starts Wharf with a fresh data folder, runs the suite, prints the
# summary, stops Wharf by its PID and removes the temporary folder. Exits with the suite's status.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HERE="$ROOT/tests/oci-conformance"

crossmount=1
for arg in "$@"; do
  case "$arg" in
    --automatic-crossmount=*) crossmount="${arg#*=}" ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done
case "$crossmount" in 1|0|unset) ;; *) echo "--automatic-crossmount must be 1, 0 or unset" >&2; exit 2 ;; esac

SRC="${OCI_CONFORMANCE_SRC:-$HERE/upstream}"
PORT="${OCI_PORT:-18081}"
REPORT="${OCI_REPORT_OUT:-$ROOT/.test-out/oci-conformance/crossmount-$crossmount}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- 1. Debian packages ------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
wanted=(golang-go golang-github-onsi-ginkgo-dev golang-github-opencontainers-go-digest-dev
        golang-github-google-uuid-dev golang-github-go-resty-resty-dev
        golang-github-mitchellh-mapstructure-dev)
need=()
for p in "${wanted[@]}"; do installed "$p" || need+=("$p"); done
# gomega is golang-gomega-dev on Debian 12; later releases name it golang-github-onsi-gomega-dev.
installed golang-gomega-dev || installed golang-github-onsi-gomega-dev || need+=(gomega)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -qq
  for i in "${!need[@]}"; do
    if [ "${need[$i]}" = gomega ]; then
      if apt-cache show golang-github-onsi-gomega-dev >/dev/null 2>&1; then
        need[$i]=golang-github-onsi-gomega-dev
      else
        need[$i]=golang-gomega-dev
      fi
    fi
  done
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
GOCODE=/usr/share/gocode

# --- 2. the suite's sources --------------------------------------------------------------------
missing=0
while IFS=$'\t' read -r file repo path commit; do
  case "$file" in ''|'#'*) continue ;; esac
  if [ ! -f "$SRC/$file" ]; then
    [ "$missing" = 0 ] && echo "The suite's upstream files are not in $SRC. Fetch these (as text) into it:" >&2
    echo "  $file  <-  $repo $path @ $commit" >&2
    missing=1
  fi
done < "$HERE/SOURCES"
[ "$missing" = 0 ] || exit 2
if ! (cd "$SRC" && sha256sum --quiet -c "$HERE/SHA256SUMS"); then
  echo "The files in $SRC differ from tests/oci-conformance/SHA256SUMS." >&2
  exit 2
fi

TMP=$(mktemp -d /tmp/wharf-oci-conformance.XXXXXX)
WHARF_PID=
cleanup() {
  if [ -n "$WHARF_PID" ] && kill -0 "$WHARF_PID" 2>/dev/null; then
    kill "$WHARF_PID" 2>/dev/null || true
    wait "$WHARF_PID" 2>/dev/null || true
  fi
  [ -f "$TMP/wharf.log" ] && mkdir -p "$REPORT" && cp "$TMP/wharf.log" "$REPORT/wharf.log"
  rm -rf "$TMP"
}
trap cleanup EXIT

GOPATH_TMP="$TMP/gopath"
SUITE="$GOPATH_TMP/src/github.com/opencontainers/distribution-spec/conformance"
REGGIE="$GOPATH_TMP/src/github.com/bloodorangeio/reggie"
mkdir -p "$SUITE" "$REGGIE" "$GOPATH_TMP/src/github.com/go-resty/resty"
# GOPATH mode has no /v2 directory for resty's module path: point it at Debian's copy.
ln -s "$GOCODE/src/github.com/go-resty/resty" "$GOPATH_TMP/src/github.com/go-resty/resty/v2"

# Copies one upstream file, switching ginkgo v2 imports to ginkgo v1 (nothing else is changed),
# with a note of the source and of every change at the top.
vendor_file() { # <file under SRC> <destination folder>
  local file=$1 dest=$2 repo path commit changes=()
  IFS=$'\t' read -r _ repo path commit < <(awk -F'\t' -v f="$file" '$1 == f' "$HERE/SOURCES")
  grep -q '"github.com/onsi/ginkgo/v2"' "$SRC/$file" &&
    changes+=('import "github.com/onsi/ginkgo/v2" -> "github.com/onsi/ginkgo" (ginkgo v1, as Debian 12 packages it)')
  grep -q '"github.com/onsi/ginkgo/v2/formatter"' "$SRC/$file" &&
    changes+=('import "github.com/onsi/ginkgo/v2/formatter" -> "github.com/onsi/ginkgo/formatter"')
  {
    echo "// Vendored for Wharf by scripts/oci-conformance.sh from $repo"
    echo "// $path at commit $commit."
    if [ ${#changes[@]} -eq 0 ]; then
      echo "// Changes: none (this comment only)."
    else
      echo "// Changes (besides this comment):"
      for c in "${changes[@]}"; do echo "//   - $c"; done
    fi
    echo
    sed -e 's#"github.com/onsi/ginkgo/v2/formatter"#"github.com/onsi/ginkgo/formatter"#' \
        -e 's#"github.com/onsi/ginkgo/v2"#"github.com/onsi/ginkgo"#' "$SRC/$file"
  } > "$dest/$(basename "$file")"
}
while IFS=$'\t' read -r file _; do
  case "$file" in
    conformance/*) vendor_file "$file" "$SUITE" ;;
    reggie/*) vendor_file "$file" "$REGGIE" ;;
  esac
done < <(grep -v '^#' "$HERE/SOURCES")
# Wharf's own adapters for what ginkgo v1 and this reggie lack (see their headers).
cp "$HERE"/shim/conformance/*.go "$SUITE/"
cp "$HERE"/shim/reggie/*.go "$REGGIE/"

# --- 3. build the suite (GOPATH mode: no module is fetched) ------------------------------------
echo "Building the conformance suite (Go $(go env GOVERSION), GOPATH mode)..."
(cd "$SUITE" && GO111MODULE=off GOFLAGS= GOPROXY=off GOPATH="$GOPATH_TMP:$GOCODE" \
  go test -c -o "$TMP/conformance.test" .)

# --- 4. build and start Wharf ------------------------------------------------------------------
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*'
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "Building Wharf (Release)..."
dotnet build src/Wharf.Server -c Release --nologo -v quiet
if ss -ltn "sport = :$PORT" | grep -q LISTEN; then
  echo "Port $PORT is already in use; set OCI_PORT." >&2
  exit 2
fi
PASSWORD="oci-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
mkdir -p "$TMP/data"
Wharf__DataDir="$TMP/data" Wharf__Admin__Password="$PASSWORD" ASPNETCORE_URLS="http://127.0.0.1:$PORT" \
  dotnet src/Wharf.Server/bin/Release/net10.0/Wharf.Server.dll > "$TMP/wharf.log" 2>&1 &
WHARF_PID=$!
for _ in $(seq 1 120); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/" || true) # any answer will do
  [ "$code" != 000 ] && [ -n "$code" ] && break
  kill -0 "$WHARF_PID" 2>/dev/null || { echo "Wharf exited:" >&2; cat "$TMP/wharf.log" >&2; exit 1; }
  sleep 0.5
done
if [ "$code" = 000 ] || [ -z "$code" ]; then echo "Wharf did not answer on port $PORT" >&2; exit 1; fi

# --- 5. run the suite --------------------------------------------------------------------------
rm -rf "$REPORT"
mkdir -p "$REPORT"
suite_env=(
  OCI_ROOT_URL="http://127.0.0.1:$PORT"
  OCI_NAMESPACE=docker-v2-local/conformance
  OCI_CROSSMOUNT_NAMESPACE=docker-v2-local/other
  OCI_USERNAME=admin
  OCI_PASSWORD="$PASSWORD"
  OCI_TEST_PULL=1
  OCI_TEST_PUSH=1
  OCI_TEST_CONTENT_DISCOVERY=1
  OCI_TEST_CONTENT_MANAGEMENT=1
  OCI_REPORT_DIR="$REPORT"
  ACK_GINKGO_DEPRECATIONS=1.16.5
)
[ "$crossmount" = unset ] || suite_env+=(OCI_AUTOMATIC_CROSSMOUNT="$crossmount")
echo "Running the suite against http://127.0.0.1:$PORT (OCI_AUTOMATIC_CROSSMOUNT=$crossmount)..."
start=$(date +%s.%N)
status=0
(cd "$REPORT" && env "${suite_env[@]}" "$TMP/conformance.test" -ginkgo.noColor) \
  > "$REPORT/output.txt" 2>&1 || status=$?
end=$(date +%s.%N)

# --- 6. summary --------------------------------------------------------------------------------
grep -E '^(FAIL|SKIP) ' "$REPORT/results.txt" || true
if [ -s "$REPORT/failures.txt" ]; then
  echo "Failures, with each spec's HTTP exchanges: $REPORT/failures.txt"
fi
echo "Reports: $REPORT (junit.xml, results.txt, failures.txt, output.txt, wharf.log)"
awk -v s="$start" -v e="$end" 'BEGIN { printf "Suite time: %.1f s\n", e - s }'
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$REPORT/output.txt" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "The suite ended without a summary (exit $status):" >&2
  tail -n 40 "$REPORT/output.txt" >&2
  exit "$((status == 0 ? 1 : status))"
fi
echo "$summary"
exit "$status"
