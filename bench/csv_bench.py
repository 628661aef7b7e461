#!/usr/bin/env python3
"""Reading a CSV dump: evergreen against DuckDB and a plain Polars script on the same CSV file.

Writes the Parquet dump given (default: the 10M-line bench dump) as CSV with ISO timestamps
(`2024-03-01T12:30:05.000000`, as Polars writes them), then times, each REPEAT times (median):
  * `evergreen run --tables customers,score_bins,monetary_deciles,purchase_deciles` on the CSV;
  * the same customer tables by DuckDB SQL (bench/reference.py) over `read_csv(...)`;
  * a plain Python Polars script reading the CSV as evergreen does (every row typed, timestamps
    parsed): `pl.read_csv(infer_schema_length=None)` and `str.to_datetime`;
checks evergreen's tables against DuckDB's, and prints the medians and the ratios.

Usage: python3 bench/csv_bench.py --bin target/release/evergreen [--dump D.parquet] [--repeat 3]
Needs: pip install duckdb polars pandas
"""
import argparse
import os
import subprocess
import sys
import tempfile

import polars as pl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import timed  # noqa: E402
from reference import compare, execute, reference_sql  # noqa: E402

SELECT = "customer_id, order_id, ts::TIMESTAMP AS ts, amount::DOUBLE AS amount, NULL::BIGINT AS product_id"
TABLES = "customers,score_bins,monetary_deciles,purchase_deciles"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--dump", default="/root/bench10m/dump.parquet")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", help="an earlier build, timed on the same CSV for comparison")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="evergreen-csv-bench-")
    csv = os.path.join(work, "dump.csv")
    # The customer tables' columns (as bench.py's customer-only measure): no product column.
    pl.read_parquet(a.dump).select(["customer_id", "order_id", "ts", "amount"]).write_csv(csv)
    lines = sum(1 for _ in open(csv)) - 1
    print(f"{csv}: {lines:,} lines, {os.path.getsize(csv) / 1e6:.0f} MB")
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    ours, ref = os.path.join(work, "ours"), os.path.join(work, "ref")
    os.makedirs(ref)

    def evergreen():
        subprocess.run([a.bin, "run", "-q", "--input", csv, "--out", ours, "--tables", TABLES],
                       check=True, env=env, stdout=subprocess.DEVNULL)

    def polars_read():
        df = pl.read_csv(csv, infer_schema_length=None)
        df.with_columns(pl.col("ts").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us"))

    t_ours = timed(evergreen, a.repeat)
    def duckdb_sql():
        stmts = reference_sql("'CSV'", ref, select=SELECT)
        stmts[0] = stmts[0].replace("read_parquet('CSV')", f"read_csv('{csv}')")
        execute(stmts, threads=2)

    t_duck = timed(duckdb_sql, a.repeat)
    t_pl = timed(polars_read, a.repeat)
    problems = compare(ours, ref)
    if a.old:
        t_old = timed(lambda: subprocess.run([a.old, "run", "-q", "--input", csv, "--out", ours + "_old", "--tables", TABLES],
                                             check=True, env=env, stdout=subprocess.DEVNULL), a.repeat)
        print(f"the earlier build {a.old}        median {t_old:7.3f}s   new/old {t_ours / t_old:.2f}")
    print(f"evergreen customer tables from CSV  median {t_ours:7.3f}s")
    print(f"duckdb SQL over read_csv            median {t_duck:7.3f}s   ratio {t_ours / t_duck:.2f}")
    print(f"polars read_csv + to_datetime only  median {t_pl:7.3f}s   ratio {t_ours / t_pl:.2f}")
    print("tables agree with duckdb" if not problems else "DIFFER:\n" + "\n".join(problems[:10]))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
