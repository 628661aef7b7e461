#!/usr/bin/env python3
"""sequence_pairs ("who buys B within W days of A"): a dump generator with planted sequences, a check of
evergreen against the DuckDB reference (bench/sequences_reference.py), and a benchmark.

1. Generates (deterministically, --seed) a dump of --lines lines: customers with several orders over two
   years (~5 lines an order, ~12 lines a customer), ~20k products with skewed popularity, guest orders and
   guest lines (null customer), return lines and return orders, a few orders naming two customers, a few
   null products, some orders at the same instant as the customer's previous one, and planted pairs
   (A, B, share): every customer buying planted item A (ids above the ordinary range) buys it once, and a
   `share` of them buy B in a later order 10-40 days (uniform) after it. Some A buyers get B in the A order
   itself or in another order at the same instant (neither counts). Expected confidence: share for W >= 40,
   share * (W - 10) / 30 for 10 <= W <= 40.
2. Check: runs `BIN patterns --sequences --no-itemsets --input DUMP --out WORK/out
   --sequence-window-days 30,90 --min-followers 5` and the DuckDB reference on the same file, compares every
   row (keys item_a, item_b, window_days; integers equal, doubles to 1e-12 relative, row order too) and
   checks the planted pairs come out with about the planted confidence.
3. Benchmark: --repeat K rounds alternating evergreen and DuckDB (SET threads=2); medians, the ratio
   evergreen / DuckDB (of medians and median of paired rounds) and evergreen's peak RSS.

Usage:
  python3 bench/sequences_bench.py --lines 1M --repeat 3            # generate, check, benchmark
  python3 bench/sequences_bench.py --lines 100k --check-only
  python3 bench/sequences_bench.py --reference-only --lines 1M      # DuckDB half only (no evergreen)
  python3 bench/sequences_bench.py --dump data-samples/online_retail.parquet \
      --config data-samples/online_retail.toml --min-followers 2 --select retail
    (--select takes any DuckDB select list mapping to customer_id, order_id, ts, amount, product_id;
     "retail" is a shorthand for RETAIL_SELECT below, also the default for a dump named online_retail*.)
Needs: pip install duckdb pandas pyarrow numpy
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reference import DEFAULT_SELECT  # noqa: E402
from sequences_reference import SEQ_COLUMNS, SEQ_KEYS, parse_windows, sequence_sql  # noqa: E402

RETAIL_SELECT = ("CustomerID::BIGINT AS customer_id, InvoiceNo AS order_id, InvoiceDate::TIMESTAMP AS ts, "
                 "(Quantity * UnitPrice)::DOUBLE AS amount, StockCode AS product_id")
START = np.datetime64("2023-01-01T00:00:00", "us")
SPAN_DAYS = 730
US_DAY = 86_400_000_000
N_PRODUCTS = 20_000
# (item_a, item_b, share of A buyers who buy B 10-40 days later, share of customers buying A)
PLANTED = [(20_001, 20_002, 0.60, 0.020), (20_003, 20_004, 0.30, 0.015), (20_005, 20_006, 0.12, 0.010),
           # a chain: followers of 20001->20002 (first 20002 = their B order) buy 20007 10-40 days later
           (20_002, 20_007, 0.40, 0.0)]


def size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(s[-1], 1)
    return int(float(s.rstrip("KM")) * mult)


def expected_confidence(share: float, w: int) -> float:
    """Planted share times P(delay <= w) for a delay uniform on [10, 40] days."""
    return share * min(1.0, max(0.0, (w - 10) / 30))


# ---------------------------------------------------------------------------------------------- generator

def _planted(rng, customers: int, order0: int):
    """Lines of the planted orders: (customer, order, ts_us, amount, product) arrays and the plan."""
    cols = {k: [] for k in ("c", "o", "t", "a", "p")}
    next_order = order0

    def order(cust, t_us, products):
        nonlocal next_order
        k = len(cust)
        ids = np.arange(next_order, next_order + k)
        next_order += k
        for p in products:  # each product array: one per order, -1 = none
            keep = p >= 0
            cols["c"].append(cust[keep]); cols["o"].append(ids[keep]); cols["t"].append(t_us[keep])
            cols["a"].append(np.round(0.5 + rng.random(keep.sum()) * 40, 2)); cols["p"].append(p[keep])
        return ids

    def filler(k):
        return (rng.random(k) ** 3 * N_PRODUCTS).astype(np.int64)

    a_buyers = {}
    plan = {}
    n_b = {}
    for a, b, share, buy_share in PLANTED:
        if buy_share > 0:
            k = max(1, int(customers * buy_share))
            cust = rng.choice(customers, size=k, replace=False).astype(np.int64)
            # first A anywhere but the last 45 days: some are too recent for the 90-day window
            t_a = rng.integers(0, (SPAN_DAYS - 45) * US_DAY, k) + START.astype(np.int64)
        else:  # a chain: the followers of the pair whose B is this A; their B order is the A order
            cust, t_a = a_buyers[a]
            k = len(cust)
            n_a = n_b[a]
        same = inst = np.zeros(k, bool)
        if buy_share > 0:
            n_a = k
            same = rng.random(k) < 0.05  # B in the A order itself (does not count)
            order(cust, t_a, [np.full(k, a), filler(k), np.where(rng.random(k) < 0.5, filler(k), -1),
                              np.where(same, b, -1)])
            inst = (rng.random(k) < 0.05) & ~same  # B in another order at the same instant (does not count)
            order(cust[inst], t_a[inst], [np.full(inst.sum(), b), filler(inst.sum())])
        follow = rng.random(k) < share
        kf = int(follow.sum())
        t_b = t_a[follow] + rng.integers(10 * US_DAY, 40 * US_DAY + 1, kf)
        order(cust[follow], t_b, [np.full(kf, b), filler(kf), np.where(rng.random(kf) < 0.5, filler(kf), -1)])
        clean = ~(same | inst)[follow]  # their first B is the follow order
        a_buyers[b] = (cust[follow][clean], t_b[clean])
        n_b[b] = len(np.unique(np.concatenate([cust[follow], cust[same | inst]])))
        # share of A's buyers who are in the planted design (all of them, but for a chain's A)
        plan[f"{a}->{b}"] = {"item_a": a, "item_b": b, "share": share, "design_fraction": k / n_a}
    out = {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()}
    return out, plan


def generate(path: str, lines: int, seed: int = 7) -> dict:
    """Writes the dump (customer_id BIGINT, order_id BIGINT, ts TIMESTAMP, amount DOUBLE, product_id BIGINT)."""
    rng = np.random.default_rng(seed)
    customers = max(10, lines // 12)
    planted, plan = _planted(rng, customers, order0=10 ** 12)
    base_lines = max(0, lines - len(planted["c"]))
    # ordinary orders: 1 + Poisson(4) lines each, cut at base_lines
    n_est = base_lines // 5 + 100
    sizes = 1 + rng.poisson(4.0, n_est)
    ends = np.cumsum(sizes)
    n_orders = int(np.searchsorted(ends, base_lines) + 1) if base_lines else 0
    sizes = sizes[:n_orders]
    if n_orders:
        sizes[-1] -= ends[n_orders - 1] - base_lines
    order_of_line = np.repeat(np.arange(n_orders, dtype=np.int64), sizes)
    pos_in_order = np.arange(base_lines) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    # orders' customers (skewed: a few heavy buyers), times spread over two years
    ocust = (rng.random(n_orders) ** 1.5 * customers).astype(np.int64)
    ots = START.astype(np.int64) + rng.integers(0, SPAN_DAYS * 86_400, n_orders) * 1_000_000
    # some orders at the same instant as the same customer's previous order
    by_cust = np.argsort(ocust, kind="stable")
    same_prev = (ocust[by_cust][1:] == ocust[by_cust][:-1]) & (rng.random(max(0, n_orders - 1)) < 0.02)
    ots[by_cust[1:][same_prev]] = ots[by_cust[:-1][same_prev]]
    oreturn = rng.random(n_orders) < 0.03  # whole return orders
    oguest = rng.random(n_orders) < 0.08  # guest orders
    # order ids: shuffled, so order ids do not follow time
    oid = rng.permutation(n_orders).astype(np.int64) * 3 + 5
    o = oid[order_of_line]
    # lines a few seconds apart inside an order (the order's time is its earliest line)
    t = ots[order_of_line] + pos_in_order * rng.integers(0, 3, base_lines) * 1_000_000
    amount = np.round(0.5 + rng.random(base_lines) * 40, 2)
    neg = oreturn[order_of_line] | (rng.random(base_lines) < 0.03)
    amount = np.where(neg, -amount, amount)
    product = (rng.random(base_lines) ** 3 * N_PRODUCTS).astype(np.int64)
    cust_valid = ~oguest[order_of_line] & (rng.random(base_lines) >= 0.01)  # guest orders and guest lines
    other = rng.random(base_lines) < 0.0005  # a line naming another customer: its order is dropped
    cust_arr = np.where(other, (ocust[order_of_line] + 1) % customers, ocust[order_of_line])
    prod_valid = rng.random(base_lines) >= 0.001
    # a few unusable lines: null order / ts / amount, a NaN amount
    bad = rng.random(base_lines)
    amount = np.where(bad < 0.0002, np.nan, amount)
    amount_valid = ~((bad >= 0.0002) & (bad < 0.0004))
    ts_valid = ~((bad >= 0.0004) & (bad < 0.0006))
    order_valid = ~((bad >= 0.0006) & (bad < 0.0008))

    n_pl = len(planted["c"])
    cust_all = np.concatenate([cust_arr, planted["c"]])
    cust_mask = np.concatenate([~cust_valid, np.zeros(n_pl, bool)])
    tab = pa.table({
        "customer_id": pa.array(cust_all, pa.int64(), mask=cust_mask),
        "order_id": pa.array(np.concatenate([o, planted["o"]]), pa.int64(),
                             mask=np.concatenate([~order_valid, np.zeros(n_pl, bool)])),
        "ts": pa.array(np.concatenate([t, planted["t"]]).astype("datetime64[us]"), pa.timestamp("us"),
                       mask=np.concatenate([~ts_valid, np.zeros(n_pl, bool)])),
        "amount": pa.array(np.concatenate([amount, planted["a"]]), pa.float64(),
                           mask=np.concatenate([~amount_valid, np.zeros(n_pl, bool)])),
        "product_id": pa.array(np.concatenate([product, planted["p"]]), pa.int64(),
                               mask=np.concatenate([~prod_valid, np.zeros(n_pl, bool)])),
    })
    pq.write_table(tab, path, row_group_size=1_000_000)
    return {"plan": plan, "lines": tab.num_rows, "customers": customers, "orders": n_orders, "planted_lines": n_pl}


# ---------------------------------------------------------------------------------------------- runners

def run_reference(dump: str, out: str, windows, min_followers: int, as_of, select: str, threads: int = 2) -> float:
    stmts = sequence_sql(dump, out, windows=windows, min_followers=min_followers, as_of=as_of, select=select)
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for s in stmts:
        con.execute(s)
    con.close()
    return time.perf_counter() - t


def run_evergreen(a, dump: str, out_dir: str, windows) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one evergreen run; raises with its stderr on failure."""
    cmd = [a.bin, "patterns", "--sequences", "--no-itemsets", "--input", dump, "--out", out_dir,
           "--sequence-window-days", ",".join(map(str, windows)), "--min-followers", str(a.min_followers)]
    if a.config:
        cmd += ["--config", a.config]
    if a.as_of:
        cmd += ["--as-of", a.as_of]
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    errf = open(os.path.join(a.work, "evergreen.stderr"), "w+")
    t = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        errf.seek(0)
        raise RuntimeError(f"evergreen failed ({p.returncode}): {' '.join(cmd)}\n{errf.read()[-3000:]}")
    errf.close()
    # The manifest's peak (VmHWM of evergreen itself). ru_maxrss of a child forked from this
    # process counts the pages it shared with the parent before exec (the DuckDB runs' gigabytes).
    with open(os.path.join(out_dir, "_manifest.json")) as f:
        peak = json.load(f).get("peak_memory_bytes")
    return dt, (peak // 1024) if peak else ru.ru_maxrss


# ---------------------------------------------------------------------------------------------- checks

def _close(x, y, tol) -> bool:
    if x is None or y is None or (isinstance(x, float) and math.isnan(x)) or (isinstance(y, float) and math.isnan(y)):
        return (x is None or (isinstance(x, float) and math.isnan(x))) == \
               (y is None or (isinstance(y, float) and math.isnan(y)))
    return abs(x - y) <= tol * max(abs(x), abs(y))


def _key(v):
    """Item ids compared as text: evergreen may type them differently from the reference."""
    return None if v is None else str(v)


def compare_tables(ours: str, ref: str, tol: float = 1e-12, show: int = 5) -> list[str]:
    """Every row of the two sequence_pairs files: same keys, integers equal, doubles to `tol` relative,
    same row order. Returns the problems (empty = equal)."""
    con = duckdb.connect()
    a = con.execute(f"SELECT * FROM read_parquet('{ours}')").fetch_df()
    b = con.execute(f"SELECT * FROM read_parquet('{ref}')").fetch_df()
    problems = []
    missing_cols = [c for c in SEQ_COLUMNS if c not in a.columns]
    if missing_cols:
        return [f"evergreen's table lacks columns {missing_cols} (has {list(a.columns)})"]
    # Every table ends with the run's as_of date (issue 15); the rule's columns come first.
    extra = [c for c in a.columns if c not in SEQ_COLUMNS and c != "as_of"]
    if extra:
        problems.append(f"evergreen's table has extra columns {extra}")
    if list(a.columns[:len(SEQ_COLUMNS)]) != SEQ_COLUMNS:
        problems.append(f"column order {list(a.columns)} != {SEQ_COLUMNS}")
    tb = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{ref}'))").fetchall())
    ta = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{ours}'))").fetchall())
    for c in SEQ_COLUMNS:
        if c in ("item_a", "item_b"):
            continue  # the product column's type; may legitimately differ in width (INTEGER vs BIGINT)
        if ta.get(c) != tb.get(c):
            problems.append(f"column {c}: type {ta.get(c)} vs {tb.get(c)} in the reference")

    def rows(df):
        return [tuple(r) for r in df[SEQ_COLUMNS].astype(object).where(df[SEQ_COLUMNS].notna(), None).itertuples(index=False)]

    ra, rb = rows(a), rows(b)
    ka = {(_key(r[0]), _key(r[1]), r[2]): r for r in ra}
    kb = {(_key(r[0]), _key(r[1]), r[2]): r for r in rb}
    if len(ka) != len(ra):
        problems.append(f"evergreen has {len(ra) - len(ka)} duplicate (item_a, item_b, window_days) rows")
    only_a = [k for k in ka if k not in kb]
    only_b = [k for k in kb if k not in ka]
    if only_a:
        problems.append(f"{len(only_a)} rows only in evergreen, e.g. " + "; ".join(map(str, [ka[k] for k in only_a[:show]])))
    if only_b:
        problems.append(f"{len(only_b)} rows only in the reference, e.g. " + "; ".join(map(str, [kb[k] for k in only_b[:show]])))
    bad = []
    for k in kb:
        if k not in ka:
            continue
        x, y = ka[k], kb[k]
        diffs = []
        for i, c in enumerate(SEQ_COLUMNS[2:], start=2):
            if c in ("window_days", "eligible", "followers"):
                ok = x[i] is not None and y[i] is not None and int(x[i]) == int(y[i])
            else:
                ok = _close(None if x[i] is None else float(x[i]), None if y[i] is None else float(y[i]), tol)
            if not ok:
                diffs.append(f"{c}: {x[i]!r} vs {y[i]!r}")
        if diffs:
            bad.append(f"{k}: " + ", ".join(diffs))
    if bad:
        problems.append(f"{len(bad)} rows differ (evergreen vs reference):\n    " + "\n    ".join(bad[:show]))
    if not only_a and not only_b and len(ra) == len(rb):
        order_a = [(_key(r[0]), _key(r[1]), r[2]) for r in ra]
        order_b = [(_key(r[0]), _key(r[1]), r[2]) for r in rb]
        if order_a != order_b:
            i = next(i for i, (p, q) in enumerate(zip(order_a, order_b)) if p != q)
            problems.append(f"row order differs first at row {i}: {order_a[i]} vs {order_b[i]} in the reference")
    return problems


def check_planted(ref: str, windows, lines: int, plan: dict) -> list[str]:
    """The planted pairs in the reference table, against the planted confidence (within 4 sigma + 0.02):
    share * P(delay <= W) * the share of A's buyers in the design (1 but for the chained pair)."""
    df = duckdb.sql(f"SELECT * FROM read_parquet('{ref}')").df()
    problems = []
    print("planted pairs (reference):")
    for a, b, share, _ in PLANTED:
        frac = plan.get(f"{a}->{b}", {}).get("design_fraction", 1.0)
        for w in windows:
            exp = expected_confidence(share, w) * frac
            r = df[(df.item_a == a) & (df.item_b == b) & (df.window_days == w)]
            if r.empty:
                msg = f"  {a}->{b} W={w}: missing (expected confidence ~{exp:.3f})"
                print(msg)
                if lines >= 500_000 and exp > 0:  # smaller dumps may have fewer than min_followers
                    problems.append("planted pair " + msg.strip())
                continue
            r = r.iloc[0]
            sigma = math.sqrt(max(exp * (1 - exp), 1e-9) / r.eligible)
            ok = abs(r.confidence - exp) <= 4 * sigma + 0.02
            print(f"  {a}->{b} W={w}: eligible {int(r.eligible)}, followers {int(r.followers)}, confidence {r.confidence:.4f} "
                  f"(planted ~{exp:.4f}) lift {r.lift:.1f} median days {r.median_days_to_b:.2f} "
                  f"{'ok' if ok else 'OFF'}")
            if not ok:
                problems.append(f"planted pair {a}->{b} W={w}: confidence {r.confidence:.4f}, expected ~{exp:.4f}")
    return problems


def describe(ref: str, top: int = 15) -> None:
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM read_parquet('{ref}')").fetchall()[0][0]
    by_w = con.execute(f"SELECT window_days, count(*) FROM read_parquet('{ref}') GROUP BY 1 ORDER BY 1").fetchall()
    print(f"reference sequence_pairs: {n} rows ({', '.join(f'W={w}: {k}' for w, k in by_w)})")
    if top <= 0:
        return
    with duckdb.connect() as c2:
        c2.execute("SET threads = 2")
        print(c2.sql(f"SELECT * FROM read_parquet('{ref}') LIMIT {top}").df().to_string(index=False))


# ---------------------------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.environ.get("EVERGREEN_BIN", os.path.join(ROOT, "target/release/evergreen")))
    ap.add_argument("--lines", default="1M", help="lines to generate, e.g. 100k, 1M, 10M")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--work", default="/tmp/evergreen-seq")
    ap.add_argument("--check-only", action="store_true", help="check once, no benchmark")
    ap.add_argument("--reference-only", action="store_true",
                    help="DuckDB half only: generate, run (and time, with --repeat) the reference, check the plants")
    ap.add_argument("--dump", help="use this Parquet file instead of generating one (no planted-pair check)")
    ap.add_argument("--select", default=DEFAULT_SELECT,
                    help="DuckDB select list mapping --dump to customer_id, order_id, ts, amount, product_id "
                         "('retail' = the online_retail.parquet mapping)")
    ap.add_argument("--config", help="evergreen --config for --dump (e.g. data-samples/online_retail.toml)")
    ap.add_argument("--windows", default="30,90")
    ap.add_argument("--min-followers", type=int, default=5)
    ap.add_argument("--as-of", help="YYYY-MM-DD, passed to both (default: the day after the latest line)")
    ap.add_argument("--regenerate", action="store_true", help="regenerate the dump even if WORK has it")
    ap.add_argument("--top", type=int, default=15, help="reference rows to print")
    a = ap.parse_args()
    if a.select == "retail":
        a.select = RETAIL_SELECT
    windows = parse_windows(a.windows)
    os.makedirs(a.work, exist_ok=True)
    a.work = os.path.abspath(a.work)

    lines = None
    if a.dump:
        dump = os.path.abspath(a.dump)
        if a.select == DEFAULT_SELECT and os.path.basename(dump).startswith("online_retail"):
            a.select = RETAIL_SELECT
            print("using the online_retail select mapping")
        if os.path.basename(dump).startswith("online_retail") and not a.config:
            a.config = os.path.join(ROOT, "data-samples/online_retail.toml")
    else:
        lines = size(a.lines)
        dump = os.path.join(a.work, f"dump_{lines}_s{a.seed}.parquet")
        plan_path = dump + ".plan.json"
        if a.regenerate or not os.path.exists(dump) or not os.path.exists(plan_path):
            t = time.perf_counter()
            info = generate(dump + ".tmp", lines, a.seed)
            os.replace(dump + ".tmp", dump)
            with open(plan_path, "w") as f:
                json.dump(info["plan"], f, indent=1)
            print(f"generated {info['lines']:,} lines ({info['customers']:,} customers, {info['orders']:,} ordinary "
                  f"orders, {info['planted_lines']:,} planted lines) in {time.perf_counter() - t:.1f}s: {dump} "
                  f"({os.path.getsize(dump) / 1e6:.0f} MB)")
        else:
            print(f"reusing {dump}")

    ref = os.path.join(a.work, "ref_sequence_pairs.parquet")
    out_dir = os.path.join(a.work, "out")
    ours = os.path.join(out_dir, "sequence_pairs.parquet")
    t_ref = run_reference(dump, ref, windows, a.min_followers, a.as_of, a.select)
    print(f"duckdb reference: {t_ref:.2f}s")
    describe(ref, a.top)
    problems = check_planted(ref, windows, lines, json.load(open(dump + ".plan.json"))) if lines else []

    if a.reference_only:
        times = [t_ref] + [run_reference(dump, ref, windows, a.min_followers, a.as_of, a.select)
                           for _ in range(a.repeat - 1)]
        print(f"duckdb reference median {statistics.median(times):.3f}s over {len(times)} runs "
              f"({', '.join(f'{x:.2f}' for x in times)})")
        print(("planted pairs OK" if lines else "done") if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
        return 1 if problems else 0

    if not os.path.exists(a.bin):
        print(f"no evergreen binary at {a.bin} (build it, or pass --bin / --reference-only)")
        return 2
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        t_ours, rss = run_evergreen(a, dump, out_dir, windows)
    except RuntimeError as e:
        print(e)
        return 2
    if not os.path.exists(ours):
        print(f"evergreen wrote no {ours}; it wrote: {sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []}")
        return 2
    print(f"evergreen: {t_ours:.2f}s, peak RSS {rss / 1024:.0f} MiB")
    diff = compare_tables(ours, ref)
    n_ref = duckdb.sql(f"SELECT count(*) FROM read_parquet('{ref}')").fetchall()[0][0]
    print(f"check: OK, {n_ref} rows equal" if not diff else "check: MISMATCH\n  " + "\n  ".join(diff))
    problems += diff

    if not a.check_only and a.repeat > 0:
        t_o, t_r, ratios, peak = [], [], [], rss
        for _ in range(a.repeat):
            shutil.rmtree(out_dir, ignore_errors=True)
            dt, r = run_evergreen(a, dump, out_dir, windows)
            t_o.append(dt)
            peak = max(peak, r)
            t_r.append(run_reference(dump, ref, windows, a.min_followers, a.as_of, a.select))
            ratios.append(t_o[-1] / t_r[-1])
        mo, mr = statistics.median(t_o), statistics.median(t_r)
        print(f"evergreen patterns --sequences  median {mo:7.3f}s  ({', '.join(f'{x:.2f}' for x in t_o)})  "
              f"peak RSS {peak / 1024:.0f} MiB")
        print(f"duckdb reference (2 threads)    median {mr:7.3f}s  ({', '.join(f'{x:.2f}' for x in t_r)})")
        print(f"ratio evergreen/duckdb          {mo / mr:.3f} of medians, {statistics.median(ratios):.3f} median of "
              f"{len(ratios)} paired rounds (min {min(ratios):.3f}, max {max(ratios):.3f})")
    print("ALL OK" if not problems else f"{len(problems)} PROBLEM(S)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
