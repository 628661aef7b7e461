#!/usr/bin/env python3
"""Benchmark evergreen against DuckDB on the same generated dump, in the same run.

Generates a dump of N lines (default 10M) with DuckDB, then times, each REPEAT times (median):
  * the customer tables alone (`run --tables customers,score_bins,monetary_deciles,purchase_deciles`
    on the dump without its product column) against DuckDB SQL and a plain lazy Python Polars
    script (bench/polars_customers.py, streaming and in memory);
  * `evergreen run` (release build): customer tables, products and basket_pairs, the shipped queries;
  * the same customer, products and basket tables by DuckDB SQL (bench/reference.py, 2 threads),
    written as Parquet too;
  * `evergreen basket` against DuckDB's self-join SQL for products and basket_pairs alone;
  * DuckDB scanning just the needed columns (the floor for any engine);
checks the outputs agree, and prints the medians, the ratios and evergreen's peak memory.

Usage: python3 bench/bench.py [--lines N] [--repeat K] [--bin target/release/evergreen]
Needs: pip install duckdb pandas polars
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
from reference import BASKET_KEYS, compare, execute, run_basket_reference, run_reference  # noqa: E402

CUSTOMER_SELECT = "customer_id, order_id, ts::TIMESTAMP AS ts, amount::DOUBLE AS amount, NULL::BIGINT AS product_id"


def generate(path: str, lines: int) -> None:
    """A dump like a retail one: ~5 lines per order, ~25 orders per customer, 20% guest orders,
    3% return lines, zipf-ish product popularity, two years of timestamps."""
    orders = max(1, lines // 5)
    customers = max(1, orders // 25)
    execute([f"""
        COPY (
          SELECT
            CASE WHEN hash(o) % 5 = 0 THEN NULL ELSE (hash(o * 7) % {customers})::BIGINT END AS customer_id,
            o::BIGINT AS order_id,
            TIMESTAMP '2023-01-01' + to_microseconds((hash(o * 13) % (730 * 86400))::BIGINT * 1000000) AS ts,
            (pow(random(), 3) * 20000)::BIGINT AS product_id,
            CASE WHEN random() < 0.03 THEN -1 ELSE 1 END * round(0.5 + random() * 40, 2) AS amount
          FROM (SELECT i // 5 AS o FROM range({lines}) t(i))
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"""], threads=2)


def generate_public_baskets(path: str, orders: int = 100_000, items: int = 16_000) -> None:
    """A basket-only file like the public supermarket one: basket_id, item; ~10 items per basket."""
    execute([f"""
        COPY (
          SELECT b AS basket_id, 'i' || lpad(((pow(random(), 2.5) * {items})::BIGINT)::VARCHAR, 5, '0') AS item
          FROM (SELECT b, unnest(range(1 + (hash(b) % 19)::BIGINT)) FROM range({orders}) t(b))
        ) TO '{path}' (FORMAT parquet)"""], threads=2)


def decode(path: str, columns: list[str]) -> None:
    """DuckDB decoding `columns` of `path` on 2 threads: every value is read (summing them, ids and
    times through hash, defeats answers from Parquet statistics). The floor for any engine."""
    sums = ", ".join(f"sum({c})" if c == "amount" else f"sum(hash({c}))" for c in columns)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"SELECT {sums} FROM read_parquet('{path}')").fetchall()
    con.close()


def public_basket_bench(a, work: str) -> list[str]:
    path = os.path.join(work, "public_baskets.parquet")
    generate_public_baskets(path)
    lines = duckdb.sql(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
    ours, ref = os.path.join(work, "pb_ours"), os.path.join(work, "pb_ref")
    os.makedirs(ref)
    t_ours = timed(lambda: subprocess.run(
        [a.bin, "basket", "--input", path, "--out", ours, "--order-col", "basket_id", "--item-col", "item"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), a.repeat)
    t_ref = timed(lambda: run_basket_reference(
        f"'{path}'", ref, select="NULL::BIGINT AS customer_id, basket_id AS order_id, item AS product_id",
        has_amount=False), a.repeat)
    print(f"public-style baskets: 100,000 orders, {lines:,} lines, 16,000 items")
    print(f"  evergreen basket        median {t_ours:7.3f}s")
    print(f"  duckdb self-join        median {t_ref:7.3f}s   ratio {t_ours / t_ref:.2f}")
    # Without customer and amount columns evergreen reports those product columns as unknown.
    return [p for p in compare(ours, ref, BASKET_KEYS)
            if not (p.startswith("products.customers") or p.startswith("products.revenue"))]


def timed(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def basket_only(a, dump, ours_b, ref_b, ours, ref, peak, work) -> int:
    """`evergreen basket` against the DuckDB self-join, run alternately: each round's ratio pairs two
    runs made moments apart, so a slow spell of the machine hits both. Prints both medians and the
    median of the per-round ratios."""
    t_ours, t_ref, ratios = [], [], []
    for _ in range(a.repeat):
        t_ours.append(timed(ours, 1))
        t_ref.append(timed(ref, 1))
        ratios.append(t_ours[-1] / t_ref[-1])
    problems = compare(ours_b, ref_b, BASKET_KEYS)
    print(f"evergreen basket         median {statistics.median(t_ours):7.3f}s   peak RSS {peak['basket'] / 1024:6.0f} MiB")
    print(f"duckdb basket self-join  median {statistics.median(t_ref):7.3f}s")
    print(f"ratio basket/duckdb       {statistics.median(t_ours) / statistics.median(t_ref):.2f} of medians, "
          f"{statistics.median(ratios):.2f} median of {len(ratios)} paired rounds "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}; target <= 0.20)")
    print("tables agree with the DuckDB reference" if not problems else "DIFFERENCES:\n  " + "\n  ".join(problems))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=os.environ.get("EVERGREEN_BIN", "target/release/evergreen"))
    ap.add_argument("--keep", action="store_true", help="keep the generated dump and outputs")
    ap.add_argument("--dump", help="use this Parquet dump instead of generating one")
    ap.add_argument("--only", choices=["basket"], help="time only this comparison (interleaved runs)")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="evergreen-bench-")
    dump = a.dump or os.path.join(work, "dump.parquet")
    if not a.dump:
        t = time.perf_counter()
        generate(dump, a.lines)
        print(f"generated {a.lines:,} lines in {time.perf_counter() - t:.1f}s ({os.path.getsize(dump) / 1e6:.0f} MB)")

    ours, ref = os.path.join(work, "ours"), os.path.join(work, "ref")
    ours_b, ref_b = os.path.join(work, "ours_basket"), os.path.join(work, "ref_basket")
    os.makedirs(ref)
    os.makedirs(ref_b)
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    peak = {}
    basket_select = "customer_id, order_id, product_id, amount, ts"

    def evergreen(cmd, out):
        def go():
            r = subprocess.run(["/usr/bin/time", "-f", "%M", a.bin, cmd, "--input", dump, "--out", out],
                               check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            peak[cmd] = max(peak.get(cmd, 0), int(r.stderr.strip().splitlines()[-1]))
        return go

    def ref_run():
        run_reference(f"'{dump}'", ref, threads=2)
        run_basket_reference(f"'{dump}'", ref, threads=2, select=basket_select, has_ts=True)

    def ref_basket():
        run_basket_reference(f"'{dump}'", ref_b, threads=2, select=basket_select, has_ts=True)

    def scan():
        decode(dump, ["customer_id", "order_id", "ts", "amount", "product_id"])

    if a.only == "basket":
        return basket_only(a, dump, ours_b, ref_b, evergreen("basket", ours_b), ref_basket, peak, work)

    # Issue 2's measure: the customer tables alone, on the same lines without the product column.
    dump_np = os.path.join(work, "dump_no_product.parquet")
    duckdb.sql(f"COPY (SELECT customer_id, order_id, ts, amount FROM '{dump}') TO '{dump_np}' (FORMAT parquet)")
    ours_c, ref_c = os.path.join(work, "ours_customers"), os.path.join(work, "ref_customers")
    os.makedirs(ref_c)

    def ours_customers():
        subprocess.run([a.bin, "run", "--input", dump_np, "--out", ours_c,
                        "--tables", "customers,score_bins,monetary_deciles,purchase_deciles"], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def polars_script(engine):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "polars_customers.py")
        out = os.path.join(work, f"polars_{engine}")
        return lambda: subprocess.run([sys.executable, script, dump_np, out, "--engine", engine], check=True, env=env)

    def scan_np():
        decode(dump_np, ["customer_id", "order_id", "ts", "amount"])

    t_c = timed(ours_customers, a.repeat)
    t_ref_c = timed(lambda: run_reference(f"'{dump_np}'", ref_c, threads=2, select=CUSTOMER_SELECT), a.repeat)
    t_scan_np = timed(scan_np, a.repeat)
    t_pl_s = timed(polars_script("streaming"), a.repeat)
    t_pl_m = timed(polars_script("in-memory"), a.repeat)
    problems_c = compare(ours_c, ref_c)
    fastest = min(t_ref_c, t_pl_s)
    print(f"customer tables only: evergreen {t_c:.3f}s, duckdb SQL {t_ref_c:.3f}s, python polars streaming "
          f"{t_pl_s:.3f}s, in memory {t_pl_m:.3f}s; ratio to the fastest peer {t_c / fastest:.2f} (target <= 0.5); "
          f"duckdb decoding the 4 columns {t_scan_np:.3f}s (ratio {t_c / t_scan_np:.2f})")

    t_run = timed(evergreen("run", ours), a.repeat)
    t_ref = timed(ref_run, a.repeat)
    t_bk = timed(evergreen("basket", ours_b), a.repeat)
    t_ref_bk = timed(ref_basket, a.repeat)
    t_scan = timed(scan, a.repeat)
    problems = problems_c + compare(ours, ref) + compare(ours, ref, BASKET_KEYS) + compare(ours_b, ref_b, BASKET_KEYS)
    problems += public_basket_bench(a, work)
    print(f"evergreen run            median {t_run:7.3f}s   peak RSS {peak['run'] / 1024:6.0f} MiB")
    print(f"duckdb customers+basket  median {t_ref:7.3f}s")
    print(f"evergreen basket         median {t_bk:7.3f}s   peak RSS {peak['basket'] / 1024:6.0f} MiB")
    print(f"duckdb basket self-join  median {t_ref_bk:7.3f}s")
    print(f"duckdb scan only         median {t_scan:7.3f}s")
    print(f"ratio run/duckdb          {t_run / t_ref:.2f}  (the core ratio; target <= 0.12)")
    print(f"ratio basket/duckdb       {t_bk / t_ref_bk:.2f}  (target <= 0.15)")
    print(f"ratio run/duckdb-scan     {t_run / t_scan:.2f}  (all tables against decoding 5 columns; the <= 4 target is the customer-only line above)")
    print("tables agree with the DuckDB reference" if not problems else "DIFFERENCES:\n  " + "\n  ".join(problems))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept", work)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
