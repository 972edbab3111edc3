#!/usr/bin/env bash
# Builds the "release 1" upgrade fixture of ReleaseUpgradeTests: a data directory written by the
# release before the typed registry index, and what that release serves from it.
#
# The committed release1-data.tar.gz and release1-expected.json were generated from commit
# 549ee439ee4969b69eb833f01238c89c09f665a4, the last release before that change (the default
# below); release1-expected.json records the commit it came from ("generatedFrom"). The fixture
# must stay what the OLD release wrote: regenerate it from that commit only, never from a later one.
#
# Usage: tests/Wharf.Server.Tests/Fixtures/make-release1-data.sh [COMMIT]
#   from any checkout of the repository; COMMIT defaults to the release above. The server is
#   built from COMMIT's sources (git archive into a temporary folder), whatever is checked out;
#   the outputs are written next to this script.
#
# What it does, with only git, dotnet, python3 (standard library), curl, tar and gzip:
#   1. builds COMMIT's src/Wharf.Server and starts it (dotnet run -c Release) on a fresh data
#      directory on 127.0.0.1, admin password "admin-password-1" (WharfServer.AdminPassword);
#   2. fills it through the HTTP APIs only (release1_driver.py populate): V2 images with several
#      tags, a nested name, an OCI index with two children pushed by digest, a manifest pushed by
#      digest only, an image without tags, a deleted tag, sha512 content, two referrers, chunked
#      uploads, a blob only in _uploads, an upload session left open, a repository with
#      dockerTagRetention 2 whose tag moved twice, a V2 promotion; V1 pushes of two tags sharing
#      base layers (one an empty tar) and a library/ image, a V1 promotion, a V1 -> V2 migration
#      of every tag, user properties on tag folders and storage-API copies of tag folders;
#   3. stops it (SIGTERM, then waits: the host closes SQLite, which checkpoints its WAL) and packs
#      wharf.db and storage/ into release1-data.tar.gz (sorted, owner 0, mtime 0, gzip -n);
#   4. unpacks that archive into another folder, starts the same server on it and records what it
#      serves (release1_driver.py capture) into release1-expected.json, so the expectations are
#      those of the archive itself as the old release reads it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
PASSWORD=admin-password-1
RELEASE1=549ee439ee4969b69eb833f01238c89c09f665a4
COMMIT=$(git rev-parse --verify "${1:-$RELEASE1}^{commit}")

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*' no_proxy='*' DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-release1.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The sources of COMMIT, and only what building them reads.
SRC="$WORK/src"
mkdir -p "$SRC"
git archive "$COMMIT" src Directory.Build.props Directory.Packages.props global.json .editorconfig | tar -x -C "$SRC"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_server DATA_DIR: starts Wharf on DATA_DIR, sets SERVER_PID and BASE, waits for /v1/_ping.
start_server() {
  local port
  port=$(free_port)
  BASE="http://127.0.0.1:$port"
  # The background cleanup jobs stay off: nothing but the requests below may change the data.
  Wharf__DataDir="$1" Wharf__Admin__Password="$PASSWORD" ASPNETCORE_URLS="$BASE" \
    Wharf__Cleanup__EmptyFolderPruneIntervalMinutes=0 Wharf__Cleanup__GarbageCollectionIntervalMinutes=0 \
    Logging__LogLevel__Default=Warning \
    dotnet run --no-build -c Release --project "$SRC/src/Wharf.Server" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    if curl -sf -o /dev/null "$BASE/v1/_ping"; then
      return
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$WORK/server.log" >&2
      echo "Wharf exited during start-up" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "Wharf did not answer $BASE/v1/_ping" >&2
  exit 1
}

# stop_server: SIGTERM (dotnet run passes it on; the host shuts down and closes the database), then wait.
stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
  if curl -sf -o /dev/null "$BASE/v1/_ping" 2>/dev/null; then
    echo "Wharf still answers after it was stopped" >&2
    exit 1
  fi
}

echo "building $COMMIT"
dotnet build "$SRC/src/Wharf.Server" -c Release --nologo -v quiet

echo "populating on a fresh data directory"
mkdir -p "$WORK/data"
start_server "$WORK/data"
python3 "$HERE/release1_driver.py" populate "$BASE" "$PASSWORD" "$WORK/populated.json"
stop_server

# A clean shutdown leaves no WAL; checkpoint one anyway if the host was cut short.
if [ -e "$WORK/data/wharf.db-wal" ]; then
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' "$WORK/data/wharf.db"
fi
rm -f "$WORK/data/wharf.db-wal" "$WORK/data/wharf.db-shm"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=ustar \
  -C "$WORK/data" -cf - wharf.db storage | gzip -9n >"$HERE/release1-data.tar.gz"

echo "recording what the archive serves"
mkdir -p "$WORK/check"
tar -xzf "$HERE/release1-data.tar.gz" -C "$WORK/check"
start_server "$WORK/check"
python3 "$HERE/release1_driver.py" capture "$BASE" "$PASSWORD" "$HERE/release1-expected.json" "$WORK/populated.json" "$COMMIT"
stop_server

echo "release1-data.tar.gz: $(stat -c %s "$HERE/release1-data.tar.gz") bytes; release1-expected.json: $(stat -c %s "$HERE/release1-expected.json") bytes (from $COMMIT)"
