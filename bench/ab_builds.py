#!/usr/bin/env python3
"""Two builds of evergreen on the same dump, runs interleaved (ABBA order), medians and the ratio:
how a change is measured before and after on a noisy machine (the core benchmark's evergreen
side; bench/bench.py runs DuckDB beside it for the ratio to the peer).

Usage: python3 bench/ab_builds.py --old OLD_BIN --new NEW_BIN --dump DUMP.parquet [--cmd run]
                                  [--rounds 8] [-- extra evergreen arguments]
Threads are capped at 2 (POLARS_MAX_THREADS, RAYON_NUM_THREADS), as in bench/bench.py.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--cmd", default="run")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    times = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as work:
        for i in range(a.rounds):
            for which in (("old", "new") if i % 2 == 0 else ("new", "old")):
                binary = a.old if which == "old" else a.new
                t = time.perf_counter()
                subprocess.run([binary, a.cmd, "--input", a.dump, "--out", os.path.join(work, which), "-q", *a.extra],
                               check=True, env=env)
                times[which].append(time.perf_counter() - t)
    for which in ("old", "new"):
        print(f"{which} {a.cmd}: median {statistics.median(times[which]):.3f} s  "
              + " ".join(f"{x:.2f}" for x in times[which]))
    print(f"new/old {statistics.median(times['new']) / statistics.median(times['old']):.3f}")


if __name__ == "__main__":
    main()
