#!/usr/bin/env python3
"""Issue 14's benchmark: the trend columns, cohorts, kpis, profit deciles and groups and customer_tags
against the independent DuckDB SQL of bench/trends_reference.py, on the same generated dump with a
cost column, in the same run.

evergreen runs `run` (every table: the SPEC's customer tables, products and basket_pairs, and the issue 14
tables) into a fresh folder; DuckDB (SET threads=2) runs only the issue 14 SQL: cleaning, orders and the
new tables, into temp tables. evergreen's side is the larger job, so the ratio is conservative. --repeat K
rounds alternate the two; medians, the ratio evergreen / DuckDB (of medians and the median of paired
rounds), evergreen's peak memory, and the manifest's seconds for the stages only the new tables need
(the day totals, and cohorts and kpis; the trend columns are part of the customer tables' stage).

Usage:
  python3 bench/trends_bench.py --bin target/release/evergreen --lines 10M --repeat 3
Needs: pip install duckdb pandas pyarrow numpy
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
sys.path.insert(0, HERE)
import trends_reference as tr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "target/release/evergreen"))
    ap.add_argument("--lines", default="1M")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default=None, help="folder for the dump (kept) and outputs")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="evergreen-trends-bench-")
    os.makedirs(work, exist_ok=True)
    dump = os.path.join(work, f"cost-{a.lines}.parquet")
    if not os.path.exists(dump):
        tr.generate_cost_dump(dump, a.lines)
    ref_args = argparse.Namespace(as_of=None, trend_days=90, kpi_window_days=30, cohort_period="month",
                                  thresholds=[30, 60, 90, 120], money_decimals=2, discount_col=None)
    ev, db, peak, stage = [], [], [], []
    out = os.path.join(work, "out")
    for k in range(a.repeat):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([a.bin, "run", "-q", "--input", dump, "--out", out], check=True)
        ev.append(time.perf_counter() - t)
        m = json.load(open(os.path.join(out, "_manifest.json")))
        peak.append(m.get("peak_memory_bytes") or 0)
        t_ = m["timings"]
        stage.append(t_.get("day_totals", 0.0) + t_.get("activity_tables", 0.0))
        con = tr.connect(2)
        t = time.perf_counter()
        tr.build(con, dump, ref_args)
        db.append(time.perf_counter() - t)
        con.close()
        print(f"round {k + 1}: evergreen {ev[-1]:.2f}s (day totals and cohorts/kpis {stage[-1]:.2f}s), "
              f"DuckDB {db[-1]:.2f}s", flush=True)
    med_e, med_d = statistics.median(ev), statistics.median(db)
    paired = statistics.median(e / d for e, d in zip(ev, db))
    print(f"lines {a.lines}: evergreen median {med_e:.2f}s, DuckDB median {med_d:.2f}s, "
          f"ratio {med_e / med_d:.2f} (medians), {paired:.2f} (paired rounds); "
          f"evergreen peak {max(peak) / 1e9:.2f} GB; its day-totals and cohorts/kpis stages median "
          f"{statistics.median(stage):.2f}s")
    # Migration: `evergreen compare` (process, reading both customers tables, writing two tables)
    # against the DuckDB SQL of the same two tables over the same Parquet files.
    early = os.path.join(work, "early")
    shutil.rmtree(early, ignore_errors=True)
    subprocess.run([a.bin, "run", "-q", "--input", dump, "--out", early, "--as-of", "2024-07-01"], check=True)
    to_as_of = json.load(open(os.path.join(out, "_manifest.json")))["as_of"]
    ev_m, db_m = [], []
    cmp_out = os.path.join(work, "cmp")
    for _ in range(max(a.repeat, 5)):
        shutil.rmtree(cmp_out, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run([a.bin, "compare", "-q", "--from", early, "--to", out, "--out", cmp_out], check=True)
        ev_m.append(time.perf_counter() - t)
        con = tr.connect(2)
        stmts = tr.migration_sql(f"read_parquet('{early}/customers.parquet')", f"read_parquet('{out}/customers.parquet')",
                                 "2024-07-01", to_as_of)
        t = time.perf_counter()
        for stmt in stmts:
            con.execute(stmt)
        db_m.append(time.perf_counter() - t)
        con.close()
    print(f"compare: evergreen median {statistics.median(ev_m):.3f}s, DuckDB median {statistics.median(db_m):.3f}s, "
          f"ratio {statistics.median(ev_m) / statistics.median(db_m):.2f}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
