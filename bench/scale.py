#!/usr/bin/env python3
"""How evergreen scales with the dump (issue 10), side by side with DuckDB on the same input in the same run.

For each size (10M, 100M lines, 1B lines as a folder of 10 files of 100M) and each line order
(`shuffled`: no order's lines together; `sorted`: lines grouped by order, as most exports are):
  * `evergreen run` (release build, default flags unless --engine / --memory-limit are given):
    median wall over --repeat runs, peak RSS, the manifest's stage times, engine and partitions;
  * the same customer, products and basket tables by DuckDB SQL (bench/reference.py, 2 threads,
    spilling to the work folder when it must): median wall, peak RSS, and the tables compared;
  * DuckDB decoding the 5 columns (the floor for any engine).
Prints one line per size and order with the ratios.

Usage: python3 bench/scale.py [--sizes 10M,100M,1B] [--orders shuffled,sorted] [--work DIR]
                              [--repeat K] [--duckdb-max 100M] [--engine E] [--memory-limit SIZE]
Dumps are generated once into --work (default /tmp/evergreen-scale) and reused: 10M takes ~0.2 GB
(sorted) / 0.4 GB (shuffled), 100M ~2 GB, 1B ~21 GB. Needs: pip install duckdb pandas
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference import BASKET_KEYS, compare  # noqa: E402

COLUMNS = ["customer_id", "order_id", "ts", "amount", "product_id"]


def size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(s[-1], 1)
    return int(float(s.rstrip("KMB")) * mult)


def generate_part(path: str, lines: int, first_order: int, shuffled: bool, work: str) -> None:
    """Lines like bench.py's dump (~5 lines per order, 20% guest orders, 3% returns, zipf-ish
    products, two years) with ten times its customers (~12.5 lines a customer: 800k at 10M lines),
    orders numbered from `first_order`; shuffled: the
    lines in hash order, so no order's lines are together."""
    orders = max(1, lines // 5)
    customers = max(1, orders // 25)
    order_by = "ORDER BY hash(order_id, product_id, amount, epoch_us(ts))" if shuffled else ""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{work}/duckdb-tmp'")
    con.execute(f"""
        COPY (
          SELECT * FROM (
            SELECT
              CASE WHEN hash(o) % 5 = 0 THEN NULL ELSE (hash(o * 7) % {customers * 10})::BIGINT END AS customer_id,
              o::BIGINT AS order_id,
              TIMESTAMP '2023-01-01' + to_microseconds((hash(o * 13) % (730 * 86400))::BIGINT * 1000000) AS ts,
              (pow(random(), 3) * 20000)::BIGINT AS product_id,
              CASE WHEN random() < 0.03 THEN -1 ELSE 1 END * round(0.5 + random() * 40, 2) AS amount
            FROM (SELECT {first_order} + i // 5 AS o FROM range({lines}) t(i))
          ) {order_by}
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    con.close()


def dump_for(work: str, lines: int, order: str) -> str:
    """The dump of `lines` lines in `order`, generated once: one file up to 100M, else a folder of
    100M-line files."""
    name = f"{order}-{lines}"
    per_file = min(lines, 100_000_000)
    files = lines // per_file
    target = os.path.join(work, name + (".parquet" if files == 1 else ""))
    if os.path.exists(target):
        return target
    t = time.perf_counter()
    if files == 1:
        generate_part(target + ".tmp", lines, 0, order == "shuffled", work)
        os.rename(target + ".tmp", target)
    else:
        tmp = target + ".tmp"
        os.makedirs(tmp, exist_ok=True)
        for k in range(files):
            part = os.path.join(tmp, f"part-{k:02d}.parquet")
            if not os.path.exists(part):
                generate_part(part + ".tmp", per_file, k * per_file, order == "shuffled", work)
                os.rename(part + ".tmp", part)
        os.rename(tmp, target)
    print(f"generated {name} in {time.perf_counter() - t:.0f}s", flush=True)
    return target


def timed_rss(cmd: list[str], env=None) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a command."""
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return wall, int(r.stderr.strip().splitlines()[-1]) * 1024


def duckdb_reference(src: str, out: str, work: str) -> list[str]:
    """The reference SQL in a child process (so its RSS is its own)."""
    glob = f"{src}/*.parquet" if os.path.isdir(src) else src
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import duckdb, reference\n"
        "orig = reference.execute\n"
        "def execute(statements, threads):\n"
        "    return orig([\"SET temp_directory = '%s/duckdb-tmp'\"] + statements, threads)\n"
        "reference.execute = execute\n"
        "reference.run_reference(\"'%s'\", %r, threads=2)\n"
        "reference.run_basket_reference(\"'%s'\", %r, threads=2, select='customer_id, order_id, product_id, amount, ts', has_ts=True)\n"
    ) % (HERE, work, glob, out, glob, out)
    return [sys.executable, "-c", code]


def decode_cmd(src: str) -> list[str]:
    glob = f"{src}/*.parquet" if os.path.isdir(src) else src
    sums = ", ".join("sum(amount)" if c == "amount" else f"sum(hash({c}))" for c in COLUMNS)
    code = ("import duckdb; c = duckdb.connect(); c.execute('SET threads = 2'); "
            f"c.execute(\"SELECT {sums} FROM read_parquet('{glob}')\").fetchall()")
    return [sys.executable, "-c", code]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10M,100M")
    ap.add_argument("--orders", default="shuffled,sorted")
    ap.add_argument("--work", default="/tmp/evergreen-scale")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duckdb-max", default="100M", help="skip the DuckDB SQL above this many lines")
    ap.add_argument("--bin", default=os.environ.get("EVERGREEN_BIN", "target/release/evergreen"))
    ap.add_argument("--engine")
    ap.add_argument("--memory-limit")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    flags = (["--engine", a.engine] if a.engine else []) + (["--memory-limit", a.memory_limit] if a.memory_limit else [])
    rows, failed = [], False
    for lines in [size(s) for s in a.sizes.split(",")]:
        for order in a.orders.split(","):
            src = dump_for(a.work, lines, order)
            out = os.path.join(a.work, "out")
            runs = []
            for _ in range(a.repeat):
                shutil.rmtree(out, ignore_errors=True)
                runs.append(timed_rss([a.bin, "run", "--input", src, "--out", out, *flags], env))
            wall = statistics.median(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            m = json.load(open(os.path.join(out, "_manifest.json")))
            stages = " ".join(f"{k}={v:.1f}" for k, v in m["timings"].items())
            eng = m["engine"]
            line = (f"{lines / 1e6:>6.0f}M {order:8s} evergreen {wall:7.1f}s rss {rss / 2**30:5.2f} GiB "
                    f"[{eng['name']}, partitions {eng.get('partitions', '-')}, spilled {eng.get('spilled_bytes', 0) / 2**30:.1f} GiB] "
                    f"{wall / lines * 1e9:5.0f} ns/line")
            if lines <= size(a.duckdb_max):
                ref = os.path.join(a.work, "ref")
                shutil.rmtree(ref, ignore_errors=True)
                os.makedirs(ref)
                d_wall, d_rss = timed_rss(duckdb_reference(src, ref, a.work))
                s_wall, _ = timed_rss(decode_cmd(src))
                problems = compare(out, ref) + compare(out, ref, BASKET_KEYS)
                failed = failed or bool(problems)
                line += (f" | duckdb SQL {d_wall:6.1f}s rss {d_rss / 2**30:5.2f} GiB ratio {wall / d_wall:.2f}"
                         f" | duckdb decode {s_wall:5.1f}s | {'tables agree' if not problems else 'DIFFER: ' + '; '.join(problems[:3])}")
            print(line, flush=True)
            print(f"        stages: {stages}", flush=True)
            rows.append(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
