#!/usr/bin/env python3
"""Seeds a stopped Wharf's SQLite database with a large tree for bench/search-bench.sh.

    search_seed.py DB [FILES] [REPO]

Inserts FILES files (default 100,000) into REPO (default docker-local) as
team-TT/app-AAA/BBB/<file>: 20 teams x 50 apps x 20 builds x 5 files per build, plus every parent
folder, one blobs row per file, and three properties per file: docker.repoName (team-TT/app-AAA),
build.number (BBB without zeros) and qa.passed (true/false). File names per build: manifest.json,
config-<hex8>.json, layer-<hex8>.tar.gz (x3). Deterministic (fixed seed), so runs compare.
The schema is the one the server created; this only inserts rows.
"""
import hashlib
import random
import sqlite3
import sys
import time

db_path = sys.argv[1]
files_wanted = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
repo = sys.argv[3] if len(sys.argv) > 3 else "docker-local"

TEAMS, APPS, FILES_PER_BUILD = 20, 50, 5
builds = max(1, -(-files_wanted // (TEAMS * APPS * FILES_PER_BUILD)))
rng = random.Random(42)
now = int(time.time() * 1000)
user = "bench"

con = sqlite3.connect(db_path)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA synchronous=OFF")
cur = con.cursor()

folders = set()
items, props, blobs = [], [], []


def folder(path):
    while path and path not in folders:
        folders.add(path)
        parent, _, name = path.rpartition("/")
        items.append((repo, path, parent, name, 1, -1, None, None, now, user, now, user))
        path = parent


count = 0
file_rows = []
for t in range(TEAMS):
    for a in range(APPS):
        for b in range(1, builds + 1):
            base = f"team-{t:02d}/app-{a:03d}/{b:03d}"
            names = ["manifest.json", f"config-{rng.getrandbits(32):08x}.json"] + [f"layer-{rng.getrandbits(32):08x}.tar.gz" for _ in range(FILES_PER_BUILD - 2)]
            for name in names:
                if count == files_wanted:
                    break
                count += 1
                path = f"{base}/{name}"
                folder(base)
                size = rng.randint(200, 50_000_000)
                sha = hashlib.sha256(path.encode()).hexdigest()
                mime = "application/json" if name.endswith(".json") else "application/octet-stream"
                items.append((repo, path, base, name, 0, size, sha, mime, now, user, now, user))
                blobs.append((sha, size, now))
                file_rows.append((path, {
                    "docker.repoName": f"team-{t:02d}/app-{a:03d}",
                    "build.number": str(b),
                    "qa.passed": "true" if rng.random() < 0.8 else "false",
                }))

cur.executemany(
    "INSERT INTO items (repo, path, parent, name, folder, size, sha256, mime, created, created_by, modified, modified_by) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", items)
cur.executemany("INSERT OR IGNORE INTO blobs (sha256, size, created) VALUES (?,?,?)", blobs)
ids = dict(cur.execute("SELECT path, id FROM items WHERE repo = ? AND folder = 0", (repo,)).fetchall())
for path, properties in file_rows:
    for key, value in properties.items():
        props.append((ids[path], key, value))
cur.executemany("INSERT INTO properties (item_id, key, value) VALUES (?,?,?)", props)
# No ANALYZE: the server never runs it, so the planner must do without statistics here too.
con.commit()
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.close()
print(f"seeded {count} files, {len(folders)} folders, {len(props)} properties, {len(blobs)} blobs into {repo}", file=sys.stderr)
