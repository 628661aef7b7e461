#!/usr/bin/env python3
"""Frequent itemsets + association rules: `evergreen patterns` against pyfim (Borgelt's C code), in the
same run.

Cases (max itemset length 3, rules with a one-item consequent, non-empty antecedent, confidence >= 0.5):
  a) the Belgian retail baskets (tests/fixtures/belgian/baskets.parquet, 88,162 baskets) at minimum
     support 0.001 and 0.0005 (counts ceil(f * 88162) = 89 and 45);
  b) a generated dump of --lines lines (default 10M; --lines / 4 orders, 4 lines an order on average,
     Zipf-like popularity over 50,000 items plus planted 3-item bundles; seed 7) at support counts
     2500 and 250.
Each round runs, one after the other,
  * evergreen: `BIN patterns --input P --order-col C --item-col item --itemset-min-support S
    --max-len 3 --out WORK/out` (itemsets.parquet and rules.parquet; --min-confidence defaults to
    0.5); case a passes the fraction, case b the count (an integer >= 1 is a count; --min-support
    is basket_pairs' threshold, not this one);
  * pyfim, in a fresh process of --python (its wall time includes starting Python and reading the
    baskets from a text .dat file written once into --work, as a user would):
    fim.fpgrowth(tracts, target='s', supp=-N, zmin=1, zmax=3, report='a') and
    fim.arules(tracts, supp=-N, conf=50, zmin=2, zmax=3, report='abh', mode='o')
    (mode='o': rule support = support of antecedent ∪ consequent, as evergreen's; pyfim's default is
    the antecedent's support).
Prints the medians of the --repeat alternated runs, the ratio evergreen/pyfim, the peak RSS of both
(/usr/bin/time), pyfim's own split (read, itemsets, rules), and checks that the number of itemsets per size
(and the sums of their order counts), the number of rules and the sums of the rules' orders,
antecedent_orders and consequent_orders agree.

Usage: python3 bench/patterns_bench.py --python /tmp/pyfim-venv/bin/python [--bin target/release/evergreen]
                                        [--repeat 5] [--work DIR] [--lines 10M] [--only belgian|generated]
Needs: numpy, pyarrow here; pyfim (pip install pyfim==6.28) in --python.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BELGIAN = os.path.join(ROOT, "tests/fixtures/belgian/baskets.parquet")

PYFIM = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import fim
    dat, n = sys.argv[1], int(sys.argv[2])
    with open(dat) as f:
        tracts = [[int(x) for x in line.split()] for line in f]
    t1 = time.perf_counter()
    sets = fim.fpgrowth(tracts, target='s', supp=-n, zmin=1, zmax=3, report='a')
    t2 = time.perf_counter()
    rules = fim.arules(tracts, supp=-n, conf=50, zmin=2, zmax=3, report='abh', mode='o')
    t3 = time.perf_counter()
    sizes, sums = {}, {}
    for s, c in sets:
        sizes[len(s)] = sizes.get(len(s), 0) + 1
        sums[len(s)] = sums.get(len(s), 0) + c
    print(json.dumps({"baskets": len(tracts), "sizes": sizes, "sums": sums, "rules": len(rules),
                      "rule_sums": [sum(r[k] for r in rules) for k in (2, 3, 4)],
                      "read": t1 - t0, "itemsets": t2 - t1, "arules": t3 - t2}))
""")


def size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(s[-1], 1)
    return int(float(s.rstrip("KM")) * mult)


def run_reaped(cmd: list[str], env=None) -> tuple[float, int, int, str, str]:
    """Runs cmd; returns (wall seconds, return code, peak RSS in KiB, stdout, stderr).
    The peak RSS comes from /usr/bin/time (a small parent: the max RSS Linux reports for a child also
    counts the memory of the process that forked it, before exec), or from wait4 without it."""
    time_bin = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe, \
            tempfile.NamedTemporaryFile("r", suffix=".rss") as fr:
        full = [time_bin, "-f", "%M", "-o", fr.name] + cmd if time_bin else cmd
        t = time.perf_counter()
        p = subprocess.Popen(full, env=env, stdout=fo, stderr=fe)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = rc = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if time_bin:
            lines = [x for x in open(fr.name).read().splitlines() if x.strip().isdigit()]
            rss = int(lines[-1]) if lines else -1
        fo.seek(0)
        fe.seek(0)
        return wall, rc, rss, fo.read(), fe.read()


def write_dat(table: pa.Table, order_col: str, path: str) -> tuple[int, int]:
    """One line per order (in order of first appearance), its distinct items space-separated.
    Returns (orders, distinct (order, item) pairs)."""
    orders = table.column(order_col).to_numpy()
    items = table.column("item").to_numpy()
    # Stable sort by order keeps file order within an order; then drop repeated (order, item) pairs.
    idx = np.argsort(orders, kind="stable")
    o, it = orders[idx], items[idx]
    bounds = np.flatnonzero(np.diff(o)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(o)]])
    # Order of first appearance of each order id in the file.
    first_pos = idx[starts]
    pairs = 0
    with open(path, "w") as f:
        for k in np.argsort(first_pos, kind="stable"):
            seen = dict.fromkeys(it[starts[k]:ends[k]].tolist())
            pairs += len(seen)
            f.write(" ".join(map(str, seen)) + "\n")
    return len(starts), pairs


def generate(path: str, lines: int, items: int = 50_000, seed: int = 7) -> None:
    """order_id, item: lines // 4 orders, each of 1 + Binomial-like(3) lines (exactly `lines` lines);
    items log-uniform over popularity ranks (P(rank r) ~ 1/r, Zipf s = 1) mapped to shuffled ids;
    30% of the orders start with one of 20,000 planted 3-item bundles (bundle b chosen ~ 1/(b + 10))."""
    rng = np.random.default_rng(seed)
    n_orders = lines // 4
    extra = np.bincount(rng.integers(0, n_orders, lines - n_orders), minlength=n_orders)
    sizes = 1 + extra
    order = np.repeat(np.arange(n_orders, dtype=np.int64), sizes)
    rank = np.floor(np.exp(rng.random(lines) * np.log(items + 1))).astype(np.int64) - 1
    rank = np.clip(rank, 0, items - 1)
    ids = rng.permutation(items).astype(np.int64)
    item = ids[rank]
    # Planted bundles: the first min(size, 3) lines of a bundled order are the bundle's items.
    n_bundles = 20_000
    bundles = ids[np.floor(np.exp(rng.random((n_bundles, 3)) * np.log(items + 1))).astype(np.int64).clip(1, items) - 1]
    u = rng.random(n_orders)
    b = np.floor((n_bundles + 10) ** u * 10 ** (1 - u)).astype(np.int64) - 10  # ~ 1/(b + 10) on [0, n)
    b = b.clip(0, n_bundles - 1)
    bundled = rng.random(n_orders) < 0.3
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for j in range(3):
        sel = bundled & (sizes > j)
        item[starts[sel] + j] = bundles[b[sel], j]
    pq.write_table(pa.table({"order_id": order, "item": item}), path, compression="zstd",
                   row_group_size=1_000_000)


def evergreen_counts(out: str, baskets: int) -> tuple[dict, dict, int | None, list | None]:
    """Itemsets per size and the sum of their `orders` per size; the number of rules and the sums of
    the rule's orders (round(support x baskets)), antecedent_orders and consequent_orders."""
    t = pq.read_table(os.path.join(out, "itemsets.parquet"), columns=["size", "orders"])
    sizes = Counter(t.column("size").to_pylist())
    sums = Counter()
    for s, o in zip(t.column("size").to_pylist(), t.column("orders").to_pylist()):
        sums[s] += o
    rules_path = os.path.join(out, "rules.parquet")
    rules = rule_sums = None
    if os.path.exists(rules_path):
        r = pq.read_table(rules_path)
        rules = r.num_rows
        names = r.column_names
        if {"support", "antecedent_orders", "consequent_orders"} <= set(names):
            rule_sums = [sum(round(x * baskets) for x in r.column("support").to_pylist()),
                         int(pc.sum(r.column("antecedent_orders")).as_py() or 0),
                         int(pc.sum(r.column("consequent_orders")).as_py() or 0)]
    return dict(sizes), dict(sums), rules, rule_sums


def bench_case(a, name: str, parquet: str, order_col: str, dat: str, count: int, support_arg: str,
               env: dict, script: str) -> list[str]:
    out = os.path.join(a.work, f"out-{name}")
    ev_cmd = [a.bin, "patterns", "--input", parquet, "--order-col", order_col, "--item-col", "item",
              a.support_flag, support_arg, "--max-len", "3", "--out", out]
    py_cmd = [a.python, script, dat, str(count)]
    have_bin = os.path.exists(a.bin)
    ev_t, ev_rss, py_t, py_rss, py_res, ev_err = [], [], [], [], [], None
    for _ in range(a.repeat):
        if have_bin and ev_err is None:
            w, rc, rss, _, err = run_reaped(ev_cmd, env)
            if rc != 0:
                ev_err = f"evergreen exited {rc}: {err.strip()[-2000:]}"
            else:
                ev_t.append(w)
                ev_rss.append(rss)
        w, rc, rss, sout, err = run_reaped(py_cmd, env)
        if rc != 0:
            return [f"{name}: pyfim exited {rc}: {err.strip()[-2000:]}"]
        py_t.append(w)
        py_rss.append(rss)
        py_res.append(json.loads(sout))
    r = py_res[-1]
    py_sizes = {int(k): v for k, v in r["sizes"].items()}
    py_sums = {int(k): v for k, v in r["sums"].items()}
    py_med = statistics.median(py_t)
    print(f"{name}: min support count {count} (evergreen {a.support_flag} {support_arg}), "
          f"{r['baskets']:,} baskets")
    print(f"  pyfim     median {py_med:7.3f}s  peak RSS {max(py_rss) / 1024:6.0f} MiB   "
          f"(in-process medians: read {statistics.median(x['read'] for x in py_res):.3f}s, "
          f"fpgrowth {statistics.median(x['itemsets'] for x in py_res):.3f}s, "
          f"arules {statistics.median(x['arules'] for x in py_res):.3f}s; runs "
          f"{', '.join(f'{x:.2f}' for x in py_t)})")
    print(f"            itemsets per size {dict(sorted(py_sizes.items()))}, rules {r['rules']:,}")
    problems = []
    if not have_bin:
        print(f"  evergreen skipped: no binary at {a.bin}")
        return problems
    if ev_err:
        print(f"  evergreen FAILED: {ev_err}")
        return [f"{name}: {ev_err.splitlines()[0] if ev_err else ''}"]
    ev_med = statistics.median(ev_t)
    print(f"  evergreen median {ev_med:7.3f}s  peak RSS {max(ev_rss) / 1024:6.0f} MiB   "
          f"(runs {', '.join(f'{x:.2f}' for x in ev_t)})")
    print(f"  ratio evergreen/pyfim {ev_med / py_med:.2f} of medians, "
          f"{statistics.median(e / p for e, p in zip(ev_t, py_t)):.2f} median of paired rounds")
    try:
        sizes, sums, rules, rule_sums = evergreen_counts(out, r["baskets"])
    except Exception as e:  # noqa: BLE001 - a missing or differently shaped output is a finding
        return [f"{name}: cannot read evergreen's outputs in {out}: {e}"]
    print(f"            itemsets per size {dict(sorted(sizes.items()))}, rules {rules}")
    if sizes != py_sizes:
        problems.append(f"{name}: itemsets per size differ: evergreen {sizes}, pyfim {py_sizes}")
    elif sums != py_sums:
        problems.append(f"{name}: itemset order counts differ (sums per size): evergreen {sums}, pyfim {py_sums}")
    if rules is not None and rules != r["rules"]:
        problems.append(f"{name}: rules differ: evergreen {rules}, pyfim {r['rules']}")
    elif rule_sums is not None and rule_sums != r["rule_sums"]:
        problems.append(f"{name}: rule order counts differ (sums of rule, antecedent, consequent orders): "
                        f"evergreen {rule_sums}, pyfim {r['rule_sums']}")
    print("  counts agree" if not problems else "  DIFFERENCES: " + "; ".join(problems))
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("EVERGREEN_BIN", os.path.join(ROOT, "target/release/evergreen")))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--python", default=sys.executable, help="a python with pyfim (default: this one)")
    ap.add_argument("--work", default=None, help="work directory (kept; the generated dump is reused)")
    ap.add_argument("--lines", default="10M", help="lines of the generated dump (case b)")
    ap.add_argument("--only", choices=["belgian", "generated"])
    ap.add_argument("--support-flag", default="--itemset-min-support",
                    help="evergreen's itemset support flag (COUNT|FRACTION)")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    a.work = a.work or tempfile.mkdtemp(prefix="evergreen-patterns-bench-")
    os.makedirs(a.work, exist_ok=True)
    script = os.path.join(a.work, "pyfim_run.py")
    with open(script, "w") as f:
        f.write(PYFIM)
    env = dict(os.environ, POLARS_MAX_THREADS="2", RAYON_NUM_THREADS="2")
    problems = []

    if a.only in (None, "belgian"):
        dat = os.path.join(a.work, "belgian.dat")
        if not os.path.exists(dat):
            write_dat(pq.read_table(BELGIAN), "basket_id", dat)
        baskets = 88_162
        for frac, (num, den) in [("0.001", (1, 1000)), ("0.0005", (5, 10_000))]:
            count = -(-num * baskets // den)
            problems += bench_case(a, f"belgian-{frac}", BELGIAN, "basket_id", dat, count, frac, env, script)

    if a.only in (None, "generated"):
        lines = size(a.lines)
        dump = os.path.join(a.work, f"generated-{lines}.parquet")
        dat = os.path.join(a.work, f"generated-{lines}.dat")
        if not os.path.exists(dump):
            t = time.perf_counter()
            generate(dump, lines)
            print(f"generated {lines:,} lines, {lines // 4:,} orders in {time.perf_counter() - t:.1f}s "
                  f"({os.path.getsize(dump) / 1e6:.0f} MB)", flush=True)
        if not os.path.exists(dat):
            orders, pairs = write_dat(pq.read_table(dump), "order_id", dat)
            print(f"wrote {dat}: {orders:,} orders, {pairs:,} distinct (order, item) pairs "
                  f"({os.path.getsize(dat) / 1e6:.0f} MB)", flush=True)
        for count in (2500, 250):
            problems += bench_case(a, f"generated-{count}", dump, "order_id", dat, count, str(count), env, script)

    print(f"work directory: {a.work}")
    print("all counts agree" if not problems else "DIFFERENCES:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
