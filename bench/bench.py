#!/usr/bin/env python3
"""Benchmark evergreen against DuckDB on the same generated dump, in the same run.

Generates a dump of N lines (default 10M) with DuckDB, then times, each REPEAT times (median):
  * `evergreen run` (release build) writing the customer tables;
  * the same tables by DuckDB SQL (bench/reference.py, 2 threads), also written as Parquet;
  * DuckDB scanning just the needed columns (the floor for any engine);
checks the two outputs agree, and prints the medians and ratios.

Usage: python3 bench/bench.py [--lines N] [--repeat K] [--bin target/release/evergreen]
Needs: pip install duckdb pandas
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import compare, run_reference  # noqa: E402


def generate(path: str, lines: int) -> None:
    """A dump like a retail one: ~5 lines per order, ~25 orders per customer, 20% guest orders,
    3% return lines, zipf-ish product popularity, two years of timestamps."""
    orders = max(1, lines // 5)
    customers = max(1, orders // 25)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"""
        COPY (
          SELECT
            CASE WHEN hash(o) % 5 = 0 THEN NULL ELSE (hash(o * 7) % {customers})::BIGINT END AS customer_id,
            o::BIGINT AS order_id,
            TIMESTAMP '2023-01-01' + to_microseconds((hash(o * 13) % (730 * 86400))::BIGINT * 1000000) AS ts,
            (pow(random(), 3) * 20000)::BIGINT AS product_id,
            CASE WHEN random() < 0.03 THEN -1 ELSE 1 END * round(0.5 + random() * 40, 2) AS amount
          FROM (SELECT i // 5 AS o FROM range({lines}) t(i))
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    con.close()


def timed(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("EVERGREEN_BIN", "target/release/evergreen"))
    ap.add_argument("--keep", action="store_true", help="keep the generated dump and outputs")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="evergreen-bench-")
    dump = os.path.join(work, "dump.parquet")
    t = time.perf_counter()
    generate(dump, a.lines)
    print(f"generated {a.lines:,} lines in {time.perf_counter() - t:.1f}s ({os.path.getsize(dump) / 1e6:.0f} MB)")

    ours, ref = os.path.join(work, "ours"), os.path.join(work, "ref")
    os.makedirs(ref)
    env = dict(os.environ, POLARS_MAX_THREADS="2")

    def run_ours():
        subprocess.run([a.bin, "run", "--input", dump, "--out", ours], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run_ref():
        run_reference(f"'{dump}'", ref, threads=2)

    def scan():
        con = duckdb.connect()
        con.execute("SET threads = 2")
        con.execute(f"SELECT count(customer_id), count(order_id), max(ts), sum(amount), max(product_id) "
                    f"FROM read_parquet('{dump}')").fetchall()
        con.close()

    t_ours = timed(run_ours, a.repeat)
    t_ref = timed(run_ref, a.repeat)
    t_scan = timed(scan, a.repeat)
    problems = compare(ours, ref)
    print(f"evergreen run     median {t_ours:7.3f}s")
    print(f"duckdb same SQL   median {t_ref:7.3f}s")
    print(f"duckdb scan only  median {t_scan:7.3f}s")
    print(f"ratio evergreen/duckdb      {t_ours / t_ref:.2f}  (target <= 0.33)")
    print(f"ratio evergreen/duckdb-scan {t_ours / t_scan:.2f}  (target <= 4)")
    print("tables agree with the DuckDB reference" if not problems else "DIFFERENCES:\n  " + "\n  ".join(problems))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept", work)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
