#!/usr/bin/env python3
"""sequence_patterns (issue 34, point 5): evergreen against Spark MLlib's PrefixSpan on the same
dump, in the same run, with the patterns compared.

evergreen runs `patterns --no-itemsets --max-sequence-len STEPS --sequence-min-support N` (the
whole job: reading, orders, timelines, mining, writing). The peer is
bench/prefixspan_reference.py --mllib: DuckDB builds the same customer sequences, pyspark caches
them, and MLlib's PrefixSpan mines them on local[2]; its mining alone is timed (the sequences
already built and cached, which favours MLlib). Both must give the same patterns and customers.

Usage: python3 bench/sequence_patterns_bench.py --bin target/release/evergreen [--dump D]
       [--min-customers 800] [--steps 3] [--repeat 1]
Needs: pip install pyspark duckdb pyarrow polars; Java 17.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import polars as pl

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dump", default="/root/bench10m/dump.parquet")
    ap.add_argument("--min-customers", type=int, default=800)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="seqpat-bench-")
    out, fixture = os.path.join(work, "out"), os.path.join(work, "mllib.tsv")
    ours, mined, whole = [], [], []
    try:
        for i in range(a.repeat):
            shutil.rmtree(out, ignore_errors=True)
            t = time.perf_counter()
            subprocess.run([a.bin, "patterns", "-q", "--no-itemsets", "--max-sequence-len", str(a.steps),
                            "--sequence-min-support", str(a.min_customers), "--input", a.dump, "--out", out], check=True)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            r = subprocess.run([sys.executable, os.path.join(HERE, "prefixspan_reference.py"), "--input", a.dump,
                                "--min-customers", str(a.min_customers), "--max-steps", str(a.steps), "--mllib", fixture],
                               capture_output=True, text=True, env=dict(os.environ, SPARK_LOCAL_IP="127.0.0.1"))
            whole.append(time.perf_counter() - t)
            m = re.search(r"mined in ([0-9.]+) s", r.stdout)
            if r.returncode != 0 or not m:
                print(r.stdout, r.stderr[-3000:])
                raise SystemExit("the MLlib reference failed")
            mined.append(float(m.group(1)))
            t_ = pl.read_parquet(os.path.join(out, "sequence_patterns.parquet"))
            got = sorted(f"{p}\t{c}" for p, c in zip(t_["pattern"], t_["customers"]))
            want = [line for line in open(fixture).read().split("\n") if line]
            if got != want:
                raise SystemExit(f"MISMATCH: evergreen {len(got)} patterns, MLlib {len(want)}")
            print(f"round {i + 1}: evergreen {ours[-1]:.1f} s, MLlib mining {mined[-1]:.1f} s (script {whole[-1]:.1f} s), "
                  f"{len(got)} patterns agree", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    o, m_, w = statistics.median(ours), statistics.median(mined), statistics.median(whole)
    print(f"median of {a.repeat}: evergreen (whole job) {o:.1f} s, MLlib PrefixSpan mining {m_:.1f} s "
          f"(whole script {w:.1f} s): evergreen / MLlib mining = {o / m_:.2f}")


if __name__ == "__main__":
    main()
