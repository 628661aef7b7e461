#!/usr/bin/env python3
"""What one Spark case costs (issue 27): one evergreen run on `--engine spark`, repeated in one
resident Spark session (bench/spark_service.py), with the median wall time, the Spark jobs and
stages the steps ran (manifest `engine.spark.jobs`/`stages`) and the median seconds per step.
Run it before and after a change to the Spark SQL (src/engine/spark/sql/*.sql, the runner) to see what
the change bought.

Usage: python3 bench/spark_case_cost.py [--bin BIN [--bin OTHER]] [--repeat 7] [--lines 1M]
                                        [--master local[2]] [-- evergreen arguments...]
Default case: `run` of the transactions sample (or of a generated shuffled dump of --lines lines)
with every family the Spark steps feed (customers, items, pairs, CLV purchase days, activity,
itemsets/sequences). With two --bin (say, builds before and after a change: the SQL is compiled
into the binary) their runs alternate in the same session and the ratio of medians is printed.
Needs: pip install pyspark (and duckdb for --lines).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
FAMILIES = ["--clv", "--itemsets", "--sequences", "--cohort-period", "month", "--trend-days", "30"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--lines", default=None, help="a generated shuffled dump of this many lines (1M, 10M)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    bins = a.bin or [os.path.join(ROOT, "target", "debug", "evergreen")]
    from spark_service import SparkService

    cache = os.path.join(tempfile.gettempdir(), "evergreen-bench")
    os.makedirs(cache, exist_ok=True)
    if a.args:
        args = a.args
    elif a.lines:
        from scale import dump_for, size

        args = ["run", "--input", dump_for(cache, size(a.lines), "shuffled"), *FAMILIES]
    else:
        args = ["run", "--input", os.path.join(ROOT, "data-samples", "transactions.parquet"), *FAMILIES]

    walls = {b: [] for b in bins}
    steps = {b: {} for b in bins}
    counts = {b: set() for b in bins}
    with SparkService(master=a.master) as spool, tempfile.TemporaryDirectory() as work:
        env = dict(os.environ, EVERGREEN_SPARK_SERVICE=spool)
        for i in range(a.repeat + 1):
            for b in bins:
                out = os.path.join(work, "out")
                shutil.rmtree(out, ignore_errors=True)
                t = time.perf_counter()
                r = subprocess.run([b, *args, "--engine", "spark", "--out", out], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                wall = time.perf_counter() - t
                if r.returncode != 0:
                    raise SystemExit(f"failed ({r.returncode}): {r.stderr[-2000:]}")
                with open(os.path.join(out, "_manifest.json")) as f:
                    spark = json.load(f)["engine"]["spark"]
                if i == 0:
                    continue  # the first round warms the session (class loading, code generation)
                walls[b].append(wall)
                counts[b].add((spark.get("jobs"), spark.get("stages")))
                for k, v in spark["steps"].items():
                    steps[b].setdefault(k, []).append(v)
    print(f"case: evergreen {' '.join(args)} --engine spark ({a.master}, resident session)")
    for b in bins:
        print(f"{b}: wall median {statistics.median(walls[b]):.2f} s over {len(walls[b])} runs "
              f"(min {min(walls[b]):.2f}, max {max(walls[b]):.2f}); spark jobs, stages: "
              + "; ".join(f"{j}, {s}" for j, s in sorted(counts[b], key=str)))
    names = sorted({k for b in bins for k in steps[b]}, key=lambda k: -statistics.median(steps[bins[0]].get(k, [0])))
    print("step seconds (median): " + " | ".join(os.path.basename(b) for b in bins))
    for k in names:
        print(f"  {k:24s} " + " | ".join(f"{statistics.median(steps[b][k]):6.2f}" if k in steps[b] else "     -"
                                          for b in bins))
    if len(bins) == 2:
        print(f"ratio of medians {os.path.basename(bins[1])} / {os.path.basename(bins[0])}: "
              f"{statistics.median(walls[bins[1]]) / statistics.median(walls[bins[0]]):.3f}")


if __name__ == "__main__":
    main()
