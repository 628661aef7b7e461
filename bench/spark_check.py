#!/usr/bin/env python3
"""The Spark engine's conformance check (issue 11): every dump below goes through the memory engine
and through `--engine spark`, and every table must be identical byte for byte (Parquet files
compared as bytes; the manifests' counts and as-of compared as values).

Dumps: the three samples, the generated messy dump of check_samples.py (every cleaning rule at
work), flag variants (an earlier --as-of with future lines, --min-support, --max-basket-items,
--money-decimals 0), a file:// input (the runner's own schema checks) with a file:// staging
folder (the copy-back path), a generated shuffled dump of --lines lines (default 1M), and the CLV
models (issue 12: `run --clv` on the transactions sample, `clv --holdout-from --clv-unit weeks` on
CDNOW, `clv` on the generated dump; the manifests' clv reports compared too), and the pattern
family (issue 13: itemsets, rules and sequence_pairs on the samples and the generated dump; the
manifests' patterns reports compared too).

Usage: python3 bench/spark_check.py [--bin target/debug/evergreen] [--master local[2]]
                                    [--cluster N] [--lines 1M] [--full | --only NAME,...]
Without --full or --only it runs the CI subset (CI_SUBSET below: every table family at least once);
--full runs every case (run it by hand whenever a change touches the Spark SQL or the Spark engine).
--cluster N starts a loopback standalone cluster of N one-core workers (bench/spark_cluster.py)
and runs the chosen cases against it. Needs: pip install pyspark duckdb; Java 17 or 21.
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
S = os.path.join(ROOT, "data-samples")


def mixed_files(work: str) -> str:
    """A folder of two files whose types differ where the local reader lets them: customer ids as
    int64 in one and float64 with nulls in the other (pandas writes that), order ids as uint64 and
    int64, and a file name holding glob characters."""
    import duckdb

    folder = os.path.join(work, "mixed")
    os.makedirs(folder, exist_ok=True)
    body = """SELECT {cust} AS customer_id, {order} AS order_id,
                     TIMESTAMP '2024-01-01' + to_microseconds((hash(i) % (300*86400))::BIGINT * 1000000) AS ts,
                     round((hash(i*7) % 5000) / 100.0 - 3, 2) AS amount, 'P' || (hash(i*3) % 50)::VARCHAR AS product_id
              FROM range({lo}, {hi}) t(i)"""
    duckdb.sql(f"COPY ({body.format(cust='(i // 3 % 97)::BIGINT', order='(i // 3)::UBIGINT', lo=0, hi=3000)}) "
               f"TO '{folder}/part[1].parquet' (FORMAT parquet)")
    duckdb.sql(f"COPY ({body.format(cust='CASE WHEN i % 11 = 0 THEN NULL ELSE (i // 3 % 89)::DOUBLE END', order='(i // 3)::BIGINT', lo=3000, hi=6000)}) "
               f"TO '{folder}/part-2.parquet' (FORMAT parquet)")
    return folder


def discount_dump(work: str) -> str:
    """The transactions sample with a discount column (30 % off every third order, null on others)
    and a list-price column (amount + 5)."""
    import duckdb

    path = os.path.join(work, "discounts.parquet")
    if not os.path.exists(path):
        duckdb.sql(f"""COPY (SELECT *, CASE WHEN order_id % 3 = 0 THEN round(amount * 0.3, 2)
                                     WHEN order_id % 3 = 1 THEN NULL ELSE 0 END AS disc, amount + 5 AS list
                          FROM '{S}/transactions.parquet') TO '{path}' (FORMAT parquet)""")
    return path


def names_dump(work: str) -> str:
    """The transactions sample with a product name that varies (votes, ties, nulls) and two customer
    attributes: `region` (strings that differ within an order: ties at one instant) and `code` (integers)."""
    import duckdb

    path = os.path.join(work, "names.parquet")
    duckdb.sql(f"""COPY (SELECT *,
        CASE WHEN order_id % 3 = 0 THEN 'alt ' || product_id WHEN order_id % 7 = 0 THEN NULL
             ELSE 'name ' || product_id END AS pname,
        CASE WHEN order_id % 5 = 0 THEN NULL ELSE ['north', 'south', 'east'][product_id % 3 + 1] END AS region,
        (order_id % 4)::BIGINT AS code
      FROM '{S}/transactions.parquet') TO '{path}' (FORMAT parquet)""")
    return path


def exclusion_file(work: str, name: str, ids) -> str:
    """An --exclude-items file: one id a line, with a comment and a blank line."""
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("# left out of baskets and favourites\n\n" + "\n".join(ids) + "\n")
    return path


def hand_worked_cases(work: str):
    """The cases of tests/cases/ (issue 27: written once, run on every engine; cargo test checks their
    expected tables on the local engines, here Spark must write the memory engine's bytes)."""
    import duckdb
    import tomllib  # Python 3.11+
    root = os.path.join(ROOT, "tests", "cases")
    out = []
    for name in sorted(os.listdir(root)):
        case = os.path.join(root, name)
        if not os.path.isdir(case):
            continue
        with open(os.path.join(case, "case.toml"), "rb") as f:
            spec = tomllib.load(f)
        types = {"customer_id": "BIGINT", "order_id": "BIGINT", "product_id": "BIGINT", "ts": "TIMESTAMP",
                 "amount": "DOUBLE"}
        header = open(os.path.join(case, "dump.csv")).readline().strip().split(",")
        cols = {c: types.get(c, "VARCHAR") for c in header}
        dump = os.path.join(work, f"case_{name}.parquet")
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{os.path.join(case, 'dump.csv')}', header=true, "
                   f"columns={cols!r}, comment='#')) TO '{dump}' (FORMAT parquet)")
        out.append((f"case {name}", ["run", "--input", dump, *spec["args"]], {}))
    return out


def cases(work: str, lines: int):
    from check_samples import messy_case

    tx = f"{S}/transactions.parquet"
    messy = messy_case(work)[1]
    # The generated dump is made only when a chosen case reads it (see main).
    big = BIG
    return [
        ("transactions", ["run", "--input", tx], {}),
        ("online_retail", ["run", "--config", f"{S}/online_retail.toml", "--input", f"{S}/online_retail.parquet"], {}),
        ("baskets", ["basket", "--input", f"{S}/baskets.parquet", "--order-col", "basket_id", "--item-col", "item"], {}),
        ("baskets with --as-of (no timestamp: no time rule)",
         ["basket", "--input", f"{S}/baskets.parquet", "--order-col", "basket_id", "--item-col", "item",
          "--as-of", "2024-01-01"], {}),
        ("two files of different id types (int64/float64 customers, uint64/int64 orders), a [glob] name",
         ["run", "--input", mixed_files(work)], {}),
        ("messy", messy, {}),
        ("transactions, --as-of 2024-09-01 --min-support 0.002 --max-basket-items 6 --money-decimals 0",
         ["run", "--input", tx, "--as-of", "2024-09-01", "--min-support", "0.002", "--max-basket-items", "6",
          "--money-decimals", "0"], {}),
        ("transactions via file:// (runner's schema checks, file:// staging)",
         ["run", "--input", tx], {"spark": ["--input", "file://" + tx, "--spark-staging", "file://" + work + "/staging"]}),
        (f"generated {lines:,} lines, shuffled", ["run", "--input", big], {}),
        ("transactions --clv (clv, clv_params, lifecycle_stage)", ["run", "--input", tx, "--clv"], {}),
        ("cdnow clv --holdout-from (clv_holdout, a second pass of the engine)",
         ["clv", "--input", f"{ROOT}/tests/fixtures/cdnow/transactions.parquet", "--as-of", "1998-07-01",
          "--holdout-from", "1997-10-01", "--clv-unit", "weeks"], {}),
        ("cdnow clv intervals, periods, tracking (issue 32)",
         ["clv", "--input", f"{ROOT}/tests/fixtures/cdnow/transactions.parquet", "--as-of", "1998-07-01",
          "--holdout-from", "1997-10-01", "--interval", "0.8", "--clv-months", "6", "--zero-net-orders", "purchase"], {}),
        (f"generated {lines:,} lines --clv", ["clv", "--input", big], {}),
        # Issue 13: itemsets, rules and sequence_pairs (step 18 stages the purchase orders' items).
        ("transactions --itemsets --sequences (itemsets, rules, sequence_pairs)",
         ["run", "--input", tx, "--itemsets", "--sequences", "--itemset-min-support", "5", "--min-followers", "3",
          "--sequence-window-days", "30,90"], {}),
        ("online_retail patterns --sequences --max-basket-items 20 (string items)",
         ["patterns", "--sequences", "--config", f"{S}/online_retail.toml", "--input", f"{S}/online_retail.parquet",
          "--itemset-min-support", "0.01", "--min-followers", "2", "--max-basket-items", "20"], {}),
        ("baskets patterns (no customer, no timestamp)",
         ["patterns", "--input", f"{S}/baskets.parquet", "--order-col", "basket_id", "--item-col", "item",
          "--itemset-min-support", "0.005", "--max-len", "4"], {}),
        # Issue 14: trend columns, tiers, profit ranks, cohorts and kpis (steps 19 and 20).
        ("transactions --cohort-period week --trend-days 30 --kpi-window-days 7 --tier (cohorts, kpis, trend, tier)",
         ["run", "--input", tx, "--cohort-period", "week", "--trend-days", "30", "--kpi-window-days", "7",
          "--tier", "gold:monetary=2000,frequency=20", "--tier", "silver:monetary=500"], {}),
        ("transactions --discount-col (discount, discount_share, deal_seeker)",
         ["run", "--input", discount_dump(work), "--discount-col", "disc"], {}),
        ("transactions --list-price-col", ["run", "--input", discount_dump(work), "--list-price-col", "list"], {}),
        # Issue 15: --where on the dump's own columns (string and number), --exclude-items (string
        # and integer ids); via file:// the runner checks the predicate itself.
        ("online_retail --where --exclude-items (string ids)",
         ["run", "--config", f"{S}/online_retail.toml", "--input", f"{S}/online_retail.parquet",
          "--where", "StockCode NOT IN ('POST', 'DOT', 'M') AND Country <> 'France' AND Quantity < 1000",
          "--exclude-items", exclusion_file(work, "retail.txt", ["85123A", "22423", "POST"])], {}),
        ("transactions --where --exclude-items via file:// (integer ids)",
         ["run", "--input", tx, "--where", "amount > 5 OR customer_id IS NULL",
          "--exclude-items", exclusion_file(work, "ints.txt", ["1000", "1021"])],
         {"spark": ["--input", "file://" + tx]}),
        ("transactions --product-name-col --customer-attr (names by votes, latest attribute values)",
         ["run", "--input", names_dump(work), "--product-name-col", "pname", "--customer-attr", "region",
          "--customer-attr", "code"], {}),
        ("transactions names and attributes via file://",
         ["run", "--input", names_dump(work), "--product-name-col", "pname", "--customer-attr", "region,code"],
         {"spark": ["--input", "file://" + os.path.join(work, "names.parquet")]}),
        # Issue 34: the line's group from --group predicates over string columns, the group facts
        # (step 23) with a quantity column and cancellations.
        ("online_retail --group --period-a --period-b --product-hierarchy (gain_loss, cross_shop, revenue_tree, product_hierarchy)",
         ["run", "--config", f"{S}/online_retail.toml", "--input", f"{S}/online_retail.parquet",
          "--group", "bottles=Description LIKE '%HOT WATER BOTTLE%'", "--group", "bunting=Description LIKE '%BUNTING%'",
          "--group", "tins=Description LIKE '%CAKE TIN%'", "--period-a", "2024-01-01..2024-05-31",
          "--period-b", "2024-06-01..2024-12-31", "--product-hierarchy", "40"], {}),
        (f"generated {lines:,} lines patterns --sequences",
         ["patterns", "--sequences", "--input", big, "--itemset-min-support", "200"], {}),
    ] + hand_worked_cases(work)


BIG = "{generated dump}"

# The cases CI runs (exact names): every table family at least once. customers, deciles, score_bins,
# products, basket_pairs, top_pairs, cohorts, kpis and the queries (transactions); the basket job
# (baskets); every cleaning rule (messy); files of different id types (two files); CLV (--clv);
# itemsets, rules and sequence_pairs (--itemsets --sequences); trends and tiers (--cohort-period
# week); discounts (--discount-col); --where and --exclude-items with string ids; names and
# attributes; gain_loss, cross_shop, revenue_tree and product_hierarchy (by hand and on online_retail).
CI_SUBSET = [
    "transactions",
    "baskets",
    "messy",
    "two files of different id types (int64/float64 customers, uint64/int64 orders), a [glob] name",
    "transactions --clv (clv, clv_params, lifecycle_stage)",
    "transactions --itemsets --sequences (itemsets, rules, sequence_pairs)",
    "transactions --cohort-period week --trend-days 30 --kpi-window-days 7 --tier (cohorts, kpis, trend, tier)",
    "transactions --discount-col (discount, discount_share, deal_seeker)",
    "online_retail --where --exclude-items (string ids)",
    "transactions --product-name-col --customer-attr (names by votes, latest attribute values)",
    "case basket_pairs",
    "case returns_and_purchases",
    "case switching_groups",
    "case switching_revenue_tree",
    "case product_hierarchy",
    "case sequence_patterns_gap",
    "online_retail --group --period-a --period-b --product-hierarchy (gain_loss, cross_shop, revenue_tree, product_hierarchy)",
]


def run(bin_, args, out, extra=(), env=None):
    t = time.perf_counter()
    r = subprocess.run([bin_, *args, *extra, "--out", out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=env)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join([bin_, *args, *extra])}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def replace_input(args, extra):
    """The Spark run's arguments: `extra` may replace the --input value."""
    args = list(args)
    extra = list(extra)
    if "--input" in extra:
        i = extra.index("--input")
        args[args.index("--input") + 1] = extra[i + 1]
        del extra[i:i + 2]
    return args, extra


def compare(a: str, b: str) -> list[str]:
    problems = []
    files_a = sorted(f for f in os.listdir(a) if f.endswith(".parquet"))
    files_b = sorted(f for f in os.listdir(b) if f.endswith(".parquet"))
    if files_a != files_b:
        problems.append(f"tables differ: {files_a} vs {files_b}")
    for f in files_a:
        if f in files_b and not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False):
            problems.append(f"{f}: bytes differ")
    ma = json.load(open(os.path.join(a, "_manifest.json")))
    mb = json.load(open(os.path.join(b, "_manifest.json")))
    # The CLV report's seconds are timings, not results.
    for m in (ma, mb):
        if m.get("clv"):
            m["clv"].pop("seconds", None)
    for m in (ma, mb):
        if m.get("patterns"):
            m["patterns"].pop("peak_memory_bytes_after_facts", None)
    for key in ("counts", "as_of", "basket", "clv", "patterns"):
        if ma.get(key) != mb.get(key):
            problems.append(f"manifest {key}: {ma.get(key)} vs {mb.get(key)}")
    if mb["engine"]["name"] != "spark":
        problems.append(f"the second run's engine is {mb['engine']['name']}")
    if not os.path.exists(os.path.join(b, "_SUCCESS")):
        problems.append("no _SUCCESS from the Spark run")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/debug/evergreen"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--cluster", type=int, default=0, help="start a loopback cluster of N workers")
    ap.add_argument("--lines", default="1M")
    ap.add_argument("--only", default="", help="comma-separated case name prefixes (NAME$: exactly NAME)")
    ap.add_argument("--full", action="store_true", help="every case (default: the CI subset)")
    ap.add_argument("--submit-each", action="store_true",
                    help="one spark-submit per case (default: every case in one resident Spark session)")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    from scale import size

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    work = a.work or tempfile.mkdtemp(prefix="evergreen-spark-check-")
    os.makedirs(work, exist_ok=True)
    todo = cases(work, size(a.lines))
    if a.only:
        # A prefix, or an exact case name when it ends with `$`.
        todo = [c for c in todo
                if any(c[0] == p[:-1] if p.endswith("$") else c[0].startswith(p) for p in a.only.split(","))]
    elif not a.full:
        missing = [n for n in CI_SUBSET if n not in [c[0] for c in todo]]
        if missing:
            raise SystemExit(f"spark_check: CI_SUBSET names no case {missing}")
        todo = [c for c in todo if c[0] in CI_SUBSET]
    if any(BIG in c[1] for c in todo):
        from scale import dump_for

        big = dump_for(work, size(a.lines), "shuffled")
        todo = [(n, [big if x == BIG else x for x in args], extra) for n, args, extra in todo]
    cluster = None
    master = a.master
    if a.cluster:
        from spark_cluster import LoopbackCluster

        cluster = LoopbackCluster(workers=a.cluster)
        master = cluster.start()
        print(f"loopback cluster: {master}, {a.cluster} worker(s) of 1 core", flush=True)
    bad = 0
    service = None
    env = None
    try:
        if not a.submit_each:
            from spark_service import SparkService

            t = time.perf_counter()
            service = SparkService(master=master)
            env = dict(os.environ, EVERGREEN_SPARK_SERVICE=service.start())
            print(f"spark service on {master} started in {time.perf_counter() - t:.1f}s", flush=True)
        for name, args, extra in todo:
            mem, spk = os.path.join(work, "memory"), os.path.join(work, "spark")
            for d in (mem, spk):
                shutil.rmtree(d, ignore_errors=True)
            t_mem = run(a.bin, args, mem, ["--engine", "memory"])
            sargs, sextra = replace_input(args, extra.get("spark", []))
            t_spk = run(a.bin, sargs, spk, ["--engine", "spark", "--spark-master", master, *sextra], env=env)
            problems = compare(mem, spk)
            status = "identical" if not problems else "DIFFERENCES\n  " + "\n  ".join(problems)
            print(f"{name} [{master}]: {status} (memory {t_mem:.1f}s, spark {t_spk:.1f}s)", flush=True)
            bad += bool(problems)
            if extra.get("spark") and "--spark-staging" in extra["spark"]:
                staged = os.listdir(os.path.join(work, "staging")) if os.path.isdir(os.path.join(work, "staging")) else []
                if staged:
                    print(f"  staging folder not cleaned up: {staged}")
                    bad += 1
    finally:
        if service:
            service.stop()
        if cluster:
            cluster.stop()
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
