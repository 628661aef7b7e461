#!/usr/bin/env python3
"""Incremental runs against full runs (issue 33): a history dump plus one night's new lines.

1. `evergreen run` over the history and the new file together, without a state: the full run a
   scheduler makes every night today (median of --repeat).
2. `evergreen run --state S` over the history alone: the first run, which writes the state.
3. The new file added, `evergreen run --state S` over both: the incremental run (median of
   --repeat, each from a fresh copy of the first run's state), its manifest's lines read and its
   stage times (state_write: the new lines kept; the rest: the engine over state and new lines,
   the tables, the write).
4. The tables of 1 and 3 compared byte for byte (BLAKE3 of each table in the manifests).

Prints the medians and the ratio incremental / full.

The new lines (--new-lines, default 1M) look like bench/scale.py's (5 lines an order, 20 % guest
orders, 3 % returns) on the day after the history, with new order ids, plus 2 % late lines:
returns of orders of the history, on the new day.

Usage: python3 bench/incremental_bench.py --bin BIN --history DUMP.parquet [--new-lines 1M]
                                          [--work DIR] [--repeat 3] [-- extra evergreen arguments]
Threads are capped at 2 (POLARS_MAX_THREADS, RAYON_NUM_THREADS). Needs: pip install duckdb
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import time

import duckdb


def size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(s[-1], 1)
    return int(float(s.rstrip("KMB")) * mult)


def new_lines(history: str, path: str, lines: int) -> None:
    """`lines` new lines after the history's last day, and 2 % late returns of its orders."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    max_order, max_ts, n_orders, customers = con.execute(
        f"SELECT max(order_id), max(ts), count(DISTINCT order_id) // 1, max(customer_id) + 1 FROM '{history}'"
    ).fetchone()
    late = lines // 50
    con.execute(f"""
        COPY (
          SELECT * FROM (
            SELECT
              CASE WHEN hash(o) % 5 = 0 THEN NULL ELSE (hash(o * 7) % {customers})::BIGINT END AS customer_id,
              o::BIGINT AS order_id,
              date_trunc('day', TIMESTAMP '{max_ts}') + INTERVAL 1 DAY
                + to_microseconds((hash(o * 13) % 86400)::BIGINT * 1000000) AS ts,
              (pow(random(), 3) * 20000)::BIGINT AS product_id,
              CASE WHEN random() < 0.03 THEN -1 ELSE 1 END * round(0.5 + random() * 40, 2) AS amount
            FROM (SELECT {max_order + 1} + i // 5 AS o FROM range({lines - late}) t(i))
          )
          UNION ALL
          SELECT customer_id, order_id,
                 date_trunc('day', TIMESTAMP '{max_ts}') + INTERVAL 1 DAY + INTERVAL 12 HOUR AS ts,
                 product_id, -abs(amount) AS amount
          FROM (SELECT * FROM '{history}' USING SAMPLE {late} ROWS (reservoir, 42))
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    con.close()


def run(binary: str, args: list[str], env: dict) -> float:
    t = time.perf_counter()
    r = subprocess.run([binary, "run", "-q", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: run {' '.join(args)}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t


def manifest(out: str) -> dict:
    with open(os.path.join(out, "_manifest.json")) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--history", required=True)
    ap.add_argument("--new-lines", default="1M")
    ap.add_argument("--work", default="/tmp/evergreen-incremental")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    os.makedirs(a.work, exist_ok=True)
    inputs = os.path.join(a.work, "in")
    os.makedirs(inputs, exist_ok=True)
    hist = os.path.join(inputs, "history.parquet")
    if not os.path.exists(hist):
        os.link(a.history, hist) if os.stat(a.history).st_dev == os.stat(a.work).st_dev else shutil.copy(a.history, hist)
    new = os.path.join(a.work, "new.parquet")
    if not os.path.exists(new):
        new_lines(hist, new + ".tmp", size(a.new_lines))
        os.rename(new + ".tmp", new)
    night = os.path.join(inputs, "night.parquet")
    if os.path.exists(night):
        os.remove(night)

    # 2. The first run over the history writes the state.
    state0 = os.path.join(a.work, "state0")
    shutil.rmtree(state0, ignore_errors=True)
    first = run(a.bin, ["-i", inputs, "-o", os.path.join(a.work, "out0"), "--state", state0, *a.extra], env)
    m0 = manifest(os.path.join(a.work, "out0"))
    print(f"first run with --state (history, {m0['counts']['lines_read']:,} lines): {first:.2f} s, "
          f"state_write {m0['timings'].get('state_write', 0):.2f} s, state {m0['state']['bytes'] / 1e9:.2f} GB "
          f"({m0['state']['bytes'] / max(1, m0['state']['lines_kept']):.1f} bytes a line)", flush=True)
    os.link(new, night)

    full_times, inc_times = [], []
    for i in range(a.repeat):
        # 1. The full run over history and night.
        full_times.append(run(a.bin, ["-i", inputs, "-o", os.path.join(a.work, "full"), *a.extra], env))
        # 3. The incremental run, from a fresh copy of the first state (links: the parts are read only).
        state = os.path.join(a.work, "state")
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(state0, state, copy_function=os.link)
        inc_times.append(run(a.bin, ["-i", inputs, "-o", os.path.join(a.work, "inc"), "--state", state, *a.extra], env))
        print(f"round {i + 1}: full {full_times[-1]:.2f} s, incremental {inc_times[-1]:.2f} s", flush=True)
    full, inc = manifest(os.path.join(a.work, "full")), manifest(os.path.join(a.work, "inc"))
    st = inc["state"]
    same = {n: full["tables"][n]["blake3"] == t["blake3"] for n, t in inc["tables"].items()}
    assert st["run"] == "incremental", st
    print(f"incremental run read {st['lines_read']:,} new lines ({st['files_read']} file) "
          f"and {st['lines_from_state']:,} kept lines from the state")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in sorted(inc["timings"].items(), key=lambda kv: -kv[1]))
    print(f"incremental stages (s): {stages}")
    print(f"tables byte-identical: {sum(same.values())} of {len(same)}"
          + ("" if all(same.values()) else f"  DIFFER: {[n for n, s in same.items() if not s]}"))
    fm, im = statistics.median(full_times), statistics.median(inc_times)
    print(f"full run median {fm:.2f} s, incremental median {im:.2f} s, incremental/full = {im / fm:.3f}")
    if not all(same.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
