#!/usr/bin/env python3
"""What the Spark engine costs (issue 11), measured in one run on one machine:

  * start-up: spark-submit of an empty PySpark job on local[2] (JVM, session, stop);
  * a fixture (data-samples/transactions.parquet, 57k lines) on local[2];
  * a generated dump of --lines lines (default 10M, shuffled; bench/scale.py's generator) on
    local[2], on a loopback standalone cluster of 1 one-core worker and of 2 one-core workers, and
    the memory engine on the same dump, with the tables compared byte for byte to it;
  * DuckDB running the same tables' SQL (bench/reference.py) on the same dump, as the peer;
  * the machine's own ceiling for two workers: one CPU-bound process alone vs two side by side
    (a shared or throttled second vCPU shows here), measured in the same run.
Each cluster worker is pinned to its own CPU (taskset; its executors too), so a one-core worker is
one core, GC and JIT threads included; the driver runs unpinned beside them. The 2-worker run's event
log gives each executor's share of the task time (the work really is spread).

Prints median wall seconds over --repeat runs, the 1-worker / 2-worker speed-up (target >= 1.6)
and the ratios. Needs: pip install pyspark duckdb pandas; a release build (--bin).

Usage: python3 bench/spark_bench.py [--lines 10M] [--repeat 1] [--work DIR] [--bin target/release/evergreen]
"""
import argparse
import filecmp
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


def timed(cmd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


SPIN = "import time\nt = time.perf_counter()\nx = 0\nfor i in range(30_000_000):\n    x += i\nprint(time.perf_counter() - t)\n"


def cpu_ceiling(repeat=3):
    """Speed-up two CPU-bound processes get on this machine: (2 x alone) / (side by side)."""
    ratios = []
    for _ in range(repeat):
        alone = float(subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True).stdout)
        t = time.perf_counter()
        ps = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.DEVNULL) for _ in range(2)]
        for p in ps:
            p.wait()
        ratios.append(2 * alone / (time.perf_counter() - t))
    return statistics.median(ratios)


def executor_shares(event_dir):
    """Per executor, its share of the task run time in the event log under event_dir."""
    import glob
    import json

    run = {}
    for f in glob.glob(os.path.join(event_dir, "**", "events*"), recursive=True):
        if f.endswith(".zstd"):
            text = subprocess.run(["zstd", "-dc", f], capture_output=True, text=True).stdout
        else:
            text = open(f).read()
        for line in text.splitlines():
            e = json.loads(line)
            if e.get("Event") == "SparkListenerTaskEnd":
                ex = e["Task Info"]["Executor ID"]
                run[ex] = run.get(ex, 0) + (e.get("Task Metrics") or {}).get("Executor Run Time", 0)
    total = sum(run.values()) or 1
    return {k: v / total for k, v in sorted(run.items())}


def median(f, repeat):
    return statistics.median(f() for _ in range(repeat))


def same_tables(a, b):
    names = sorted(n for n in os.listdir(a) if n.endswith(".parquet"))
    return names == sorted(n for n in os.listdir(b) if n.endswith(".parquet")) and all(
        filecmp.cmp(os.path.join(a, n), os.path.join(b, n), shallow=False) for n in names)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", default="10M")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--work", default="/tmp/evergreen-scale")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/evergreen"))
    a = ap.parse_args()
    from scale import duckdb_reference, dump_for, size
    from spark_cluster import LoopbackCluster

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.makedirs(a.work, exist_ok=True)
    out = tempfile.mkdtemp(prefix="evergreen-spark-bench-", dir=a.work)
    dump = dump_for(a.work, size(a.lines), "shuffled")
    conf = ["--spark-conf", "spark.executor.memory=1536m"]
    results = {}
    try:
        empty = os.path.join(out, "empty.py")
        with open(empty, "w") as f:
            f.write("from pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate().stop()\n")
        results["start-up (empty job, local[2])"] = median(
            lambda: timed(["spark-submit", "--master", "local[2]", "--conf", "spark.ui.enabled=false", empty]), a.repeat)
        fixture = os.path.join(ROOT, "data-samples", "transactions.parquet")
        results["fixture 57k lines, local[2]"] = median(lambda: timed(
            [a.bin, "run", "--input", fixture, "--out", os.path.join(out, "fx"), "--engine", "spark",
             "--spark-master", "local[2]"]), a.repeat)
        mem = os.path.join(out, "memory")
        results[f"{a.lines} memory engine"] = median(
            lambda: timed([a.bin, "run", "--input", dump, "--out", mem, "--engine", "memory"]), a.repeat)
        ref = os.path.join(out, "ref")
        os.makedirs(ref, exist_ok=True)
        results[f"{a.lines} DuckDB (same tables, 2 threads)"] = median(
            lambda: timed(duckdb_reference(dump, ref, out)), a.repeat)

        def spark_run(master, name, extra=()):
            target = os.path.join(out, name)
            wall = median(lambda: timed([a.bin, "run", "--input", dump, "--out", target, "--engine", "spark",
                                         "--spark-master", master, *conf, *extra]), a.repeat)
            if not same_tables(mem, target):
                raise SystemExit(f"{name}: tables differ from the memory engine's")
            return wall

        results[f"{a.lines} spark local[2]"] = spark_run("local[2]", "local2")
        events = os.path.join(out, "events")
        os.makedirs(events, exist_ok=True)
        for workers in (1, 2):
            log = ["--spark-conf", "spark.eventLog.enabled=true", "--spark-conf", f"spark.eventLog.dir=file://{events}"]
            with LoopbackCluster(workers=workers, memory="2g", pin=True) as master:
                results[f"{a.lines} spark cluster, {workers} worker(s) x 1 core"] = spark_run(
                    master, f"cluster{workers}", log if workers == 2 else [])
        shares = executor_shares(events)
        ceiling = cpu_ceiling()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    for k, v in results.items():
        print(f"{k:55s} {v:8.1f} s", flush=True)
    one = results[f"{a.lines} spark cluster, 1 worker(s) x 1 core"]
    two = results[f"{a.lines} spark cluster, 2 worker(s) x 1 core"]
    duck = results[f"{a.lines} DuckDB (same tables, 2 threads)"]
    print(f"speed-up 1 -> 2 workers: {one / two:.2f}x (target >= 1.6); this machine's ceiling for two "
          f"CPU-bound processes: {ceiling:.2f}x")
    print("2-worker run, share of task time per executor: "
          + ", ".join(f"executor {k} {v:.0%}" for k, v in shares.items()))
    print(f"spark local[2] / DuckDB: {results[f'{a.lines} spark local[2]'] / duck:.1f}x;"
          f" memory engine / DuckDB: {results[f'{a.lines} memory engine'] / duck:.2f}x")
    print("tables: identical to the memory engine's on every Spark run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
