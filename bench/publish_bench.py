#!/usr/bin/env python3
"""Issue 15's publish benchmark: load a run's tables into PostgreSQL with `evergreen publish`, and
the same tables the usual way, in the same run, on the same server.

The output comes from `evergreen run` on a generated dump (bench/scale.py's generator, --lines).
evergreen side: `evergreen publish --tables OUT` (binary COPY of every table into a staging schema,
swapped in, one transaction). Peer side: DuckDB writes each table as CSV (not timed: the peer's export
is free here) and `psql --single-transaction` creates the tables and `\\copy`s the CSVs in (text COPY,
the usual way to load files into PostgreSQL). --repeat K rounds alternate the two; medians, the ratio
evergreen / peer (of medians and the median of paired rounds), rows and bytes loaded.

A server is needed: bench/pg_cluster.sh start DIR PORT prints a URL (loopback, trust auth).

Usage:
  python3 bench/publish_bench.py --bin target/release/evergreen --lines 10M --repeat 3 \\
      --postgres "$(bench/pg_cluster.sh start /tmp/pg 55432)"
Needs: pip install duckdb; psql (Debian's postgresql-client)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from scale import dump_for, size  # noqa: E402

PG_TYPES = {"BIGINT": "BIGINT", "INTEGER": "INTEGER", "DOUBLE": "DOUBLE PRECISION", "FLOAT": "REAL",
            "VARCHAR": "TEXT", "BOOLEAN": "BOOLEAN", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP",
            "SMALLINT": "SMALLINT", "TINYINT": "SMALLINT", "UINTEGER": "BIGINT", "UBIGINT": "BIGINT"}


def peer_script(con, out: str, csv_dir: str, schema: str) -> tuple[str, int]:
    """CSV files of every table (by DuckDB) and the psql script that loads them; total rows."""
    manifest = json.load(open(os.path.join(out, "_manifest.json")))
    lines = [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE;', f'CREATE SCHEMA "{schema}";']
    rows = 0
    for name, t in manifest["tables"].items():
        path = os.path.join(out, t["file"])
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        if any(c[1] not in PG_TYPES for c in cols):
            continue  # list columns (itemsets) are not part of this run's tables
        csv = os.path.join(csv_dir, f"{name}.csv")
        con.execute(f"COPY (SELECT * FROM read_parquet('{path}')) TO '{csv}' (HEADER, DELIMITER ',')")
        ddl = ", ".join(f'"{c[0]}" {PG_TYPES[c[1]]}' for c in cols)
        lines.append(f'CREATE TABLE "{schema}"."{name}" ({ddl});')
        lines.append(f"\\copy \"{schema}\".\"{name}\" FROM '{csv}' WITH (FORMAT csv, HEADER true)")
        rows += t["rows"]
    script = os.path.join(csv_dir, "load.sql")
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    return script, rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "target/release/evergreen"))
    ap.add_argument("--lines", default="1M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--postgres", required=True, help="postgresql://user@127.0.0.1:PORT/db")
    ap.add_argument("--work", default=None, help="folder for the dump (kept) and the output")
    a = ap.parse_args()
    import duckdb

    work = a.work or tempfile.mkdtemp(prefix="evergreen-publish-bench-")
    os.makedirs(work, exist_ok=True)
    n = size(a.lines)
    dump = dump_for(work, n, "shuffled")
    out = os.path.join(work, f"out-{n}")
    if not os.path.exists(os.path.join(out, "_SUCCESS")):
        subprocess.run([a.bin, "-q", "run", "--input", dump, "--out", out], check=True)
    csv_dir = tempfile.mkdtemp(prefix="csv-", dir=work)
    script, rows = peer_script(duckdb.connect(), out, csv_dir, "peer")
    ours, peer = [], []
    for _ in range(a.repeat):
        t = time.perf_counter()
        r = subprocess.run([a.bin, "publish", "--tables", out, "--postgres", a.postgres, "--schema", "bench",
                            "--format", "json"], check=True, capture_output=True, text=True)
        ours.append(time.perf_counter() - t)
        loaded = sum(json.loads(r.stdout)["rows"].values())
        t = time.perf_counter()
        subprocess.run(["psql", a.postgres, "--single-transaction", "-q", "-v", "ON_ERROR_STOP=1", "-f", script],
                       check=True, capture_output=True)
        peer.append(time.perf_counter() - t)
    mo, mp = statistics.median(ours), statistics.median(peer)
    paired = statistics.median(o / p for o, p in zip(ours, peer))
    size_mb = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f.endswith(".parquet")) / 1e6
    print(f"publish of a {n:,}-line run's tables ({loaded:,} rows; {size_mb:.0f} MB of Parquet; peer loads {rows:,} rows):")
    print(f"  evergreen publish (binary COPY, staging schema swap): median {mo:.2f}s  {[round(x, 2) for x in ours]}")
    print(f"  DuckDB CSV + psql \\copy (text COPY, one transaction):   median {mp:.2f}s  {[round(x, 2) for x in peer]}")
    print(f"  ratio evergreen / peer: {mo / mp:.2f} (of medians), {paired:.2f} (median of paired rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
