#!/usr/bin/env python3
"""gain_loss, cross_shop and revenue_tree (issue 34): evergreen against openretailscience on the
same dump, in the same run, with the values compared; then product_hierarchy of the top 100
products against bench/hierarchy_reference.py (DuckDB baskets, scipy's pdist and linkage).

evergreen runs `run --tables gain_loss,cross_shop,revenue_tree` (only the switching family: its
facts and tables) with three product groups and two periods; the peer is
bench/switching_reference.py (DuckDB picks the lines, openretailscience's GainLoss, CrossShop and
RevenueTree compute the tables, then every value is compared with evergreen's). Prints the medians
and the ratio evergreen / openretailscience.

Usage: python3 bench/switching_bench.py --bin target/release/evergreen [--dump D] [--repeat 3]
       [--python /path/to/venv/bin/python]   (a Python with openretailscience, duckdb, pandas)
The default dump is the 10M-line bench dump (/root/bench10m/dump.parquet, product ids 0..20000,
2023-2024).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

GROUPS = ["low=product_id < 2000", "mid=product_id BETWEEN 2000 AND 5999", "top=product_id >= 15000"]
HIERARCHY = 100
PERIODS = ["--period-a", "2023-01-01..2023-12-31", "--period-b", "2024-01-01..2024-12-31"]


def compare(a, label, ours_args, peer, peer_args):
    """`evergreen run` with `ours_args` against the reference script `peer` (which compares every
    value with evergreen's output), `a.repeat` times; prints each round and the medians."""
    work = tempfile.mkdtemp(prefix="switching-bench-")
    out = os.path.join(work, "out")
    ours, theirs = [], []
    try:
        for i in range(a.repeat):
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            subprocess.run([a.bin, "run", "-q", "--input", a.dump, "--out", out, *ours_args], check=True)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            r = subprocess.run([a.python, os.path.join(HERE, peer), "--input", a.dump, "--out", out, *peer_args],
                               capture_output=True, text=True)
            theirs.append(time.perf_counter() - t)
            if r.returncode != 0:
                print(r.stdout, r.stderr)
                raise SystemExit(f"{peer} disagrees")
            print(f"round {i + 1}: evergreen {ours[-1]:.2f} s, {label} {theirs[-1]:.2f} s ({r.stdout.strip()})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    o, p = statistics.median(ours), statistics.median(theirs)
    print(f"median of {a.repeat}: evergreen {o:.2f} s, {label} {p:.2f} s, evergreen / {label} = {o / p:.3f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dump", default="/root/bench10m/dump.parquet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    groups = [x for g in GROUPS for x in ("--group", g)]
    # The peer: DuckDB picks the lines, then GainLoss x3, CrossShop x2, RevenueTree x2.
    compare(a, "openretailscience", ["--tables", "gain_loss,cross_shop,revenue_tree", *groups, *PERIODS],
            "switching_reference.py", [*groups, *PERIODS])
    # product_hierarchy of the top HIERARCHY products: DuckDB baskets, scipy's pdist and linkage.
    compare(a, "DuckDB + scipy", ["--tables", "product_hierarchy", "--product-hierarchy", str(HIERARCHY)],
            "hierarchy_reference.py", ["--n", str(HIERARCHY)])


if __name__ == "__main__":
    main()
