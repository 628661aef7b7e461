#!/usr/bin/env python3
"""Build the Belgian retail fixture and its frequent-itemset / association-rule references.

This is the script that made tests/fixtures/belgian/ (see the README there). It
  1. gets the Belgian retail market-basket data (Brijs et al., 88,162 baskets, as distributed by the
     FIMI repository) from the PyPI sdist of pyfpgrowth 1.0 (tests/belgian_retail_baskets.dat), or
     from --dat, and checks it (88,162 lines, sha256);
  2. writes baskets.parquet: basket_id (int64, 0-based line number), item (int64), one row per
     (basket, distinct item), in file order, zstd;
  3. for each minimum support count N (ceil(f * 88162) in integer arithmetic, f = 0.001 and 0.005):
       * itemsets_s{N}.tsv: fim.fpgrowth(tracts, target='s', supp=-N, zmin=1, zmax=3, report='a')
         "items<TAB>count", items ascending joined by ',', sorted by (size, items);
       * rules_s{N}_c50.tsv: fim.arules(tracts, supp=-N, conf=50, zmin=2, zmax=3, report='abh',
         mode='o') "antecedent<TAB>consequent<TAB>rule_count<TAB>antecedent_count<TAB>consequent_count",
         sorted by (antecedent size, antecedent, consequent). mode='o' is essential: pyfim's default
         rule support is the BODY support (a rule {a}->b is kept when supp(a) >= N, even if
         supp(a,b) < N); 'o' selects the usual definition, supp(body ∪ head) >= N;
  4. verifies every reference independently in plain Python (a tid-set Apriori: complete sets of
     frequent 1-, 2- and 3-itemsets with their counts, and every rule derived from them with the
     exact integer test 2 * rule_count >= antecedent_count), and prints the counts and the rules at
     exactly confidence 0.5.

Usage: python bench/pyfim_reference.py --out tests/fixtures/belgian [--dat belgian_retail_baskets.dat]
Needs (a venv outside the repo): pip install pyfim==6.28 pyarrow
"""
import argparse
import glob
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from itertools import combinations

import fim
import pyarrow as pa
import pyarrow.parquet as pq

BASKETS = 88_162
DAT_SHA256 = "d967431ba522e32f0fbb243f2ee113ecd4cb374cb0234c1b0858dae1d499a055"
SUPPORTS = [(1, 1000), (5, 1000)]  # 0.001 and 0.005 as exact fractions
CONF = (1, 2)                      # minimum confidence 0.5 as an exact fraction


def min_count(num: int, den: int, n: int = BASKETS) -> int:
    """ceil(num/den * n) in integer arithmetic."""
    return -(-num * n // den)


def fetch_dat(work: str) -> str:
    """pip download the pyfpgrowth 1.0 sdist and extract tests/belgian_retail_baskets.dat."""
    subprocess.run([sys.executable, "-m", "pip", "download", "pyfpgrowth==1.0", "--no-deps",
                    "--no-binary", ":all:", "-d", work], check=True)
    (sdist,) = glob.glob(os.path.join(work, "pyfpgrowth-1.0.tar.gz"))
    with tarfile.open(sdist) as t:
        member = t.getmember("pyfpgrowth-1.0/tests/belgian_retail_baskets.dat")
        t.extractall(work, members=[member])
    return os.path.join(work, member.name)


def read_dat(path: str) -> list[list[int]]:
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != DAT_SHA256:
        print(f"warning: sha256 {digest} differs from the expected {DAT_SHA256}", file=sys.stderr)
    tracts = [[int(x) for x in line.split()] for line in data.decode().splitlines()]
    assert len(tracts) == BASKETS, f"{len(tracts)} lines, expected {BASKETS}"
    dup = sum(1 for t in tracts if len(t) != len(set(t)))
    empty = sum(1 for t in tracts if not t)
    print(f"{path}: {len(tracts):,} baskets, {sum(map(len, tracts)):,} items, "
          f"{len({i for t in tracts for i in t}):,} distinct; {dup} with repeated items, {empty} empty")
    return tracts


def write_parquet(tracts: list[list[int]], path: str) -> None:
    ids, items = [], []
    for b, t in enumerate(tracts):
        seen = set()
        for i in t:
            if i not in seen:
                seen.add(i)
                ids.append(b)
                items.append(i)
    table = pa.table({"basket_id": pa.array(ids, pa.int64()), "item": pa.array(items, pa.int64())})
    pq.write_table(table, path, compression="zstd", compression_level=9)
    print(f"{path}: {table.num_rows:,} rows, {os.path.getsize(path) / 1e6:.2f} MB")


def pyfim_itemsets(tracts, n: int) -> dict[tuple, int]:
    found = fim.fpgrowth(tracts, target="s", supp=-n, zmin=1, zmax=3, report="a")
    return {tuple(sorted(s)): c for s, c in found}


def pyfim_rules(tracts, n: int) -> dict[tuple, tuple]:
    """(antecedent, consequent) -> (rule_count, antecedent_count, consequent_count)."""
    found = fim.arules(tracts, supp=-n, conf=50, zmin=2, zmax=3, report="abh", mode="o")
    return {(tuple(sorted(body)), head): (a, b, h) for head, body, a, b, h in found}


def apriori(tracts, n: int) -> dict[tuple, int]:
    """Independent check: frequent itemsets of size 1..3 by tid-set intersection (complete)."""
    tids: dict[int, set] = {}
    for b, t in enumerate(tracts):
        for i in set(t):
            tids.setdefault(i, set()).add(b)
    level = {(i,): s for i, s in tids.items() if len(s) >= n}
    out = {k: len(s) for k, s in level.items()}
    for _ in range(2):
        keys = sorted(level)
        nxt = {}
        for x in range(len(keys)):
            for y in range(x + 1, len(keys)):
                a, b = keys[x], keys[y]
                if a[:-1] != b[:-1]:
                    break
                cand = a + b[-1:]
                if any(sub not in level for sub in combinations(cand, len(cand) - 1)):
                    continue
                s = level[a] & level[b]
                if len(s) >= n:
                    nxt[cand] = s
        level = nxt
        out.update({k: len(s) for k, s in level.items()})
    return out


def rules_from(itemsets: dict[tuple, int]) -> dict[tuple, tuple]:
    out = {}
    for s, c in itemsets.items():
        if len(s) < 2:
            continue
        for head in s:
            body = tuple(i for i in s if i != head)
            if CONF[1] * c >= CONF[0] * itemsets[body]:
                out[(body, head)] = (c, itemsets[body], itemsets[(head,)])
    return out


def brute_count(tracts_sets, items) -> int:
    items = set(items)
    return sum(1 for t in tracts_sets if items <= t)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="fixture directory, e.g. tests/fixtures/belgian")
    ap.add_argument("--dat", help="belgian_retail_baskets.dat (default: pip download pyfpgrowth==1.0)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    dat = a.dat or fetch_dat(tempfile.mkdtemp(prefix="pyfpgrowth-"))
    tracts = read_dat(dat)
    write_parquet(tracts, os.path.join(a.out, "baskets.parquet"))
    tracts_sets = [set(t) for t in tracts]
    print(f"pyfim {importlib.metadata.version('pyfim')}")

    problems = []
    for num, den in SUPPORTS:
        n = min_count(num, den)
        t = time.perf_counter()
        sets = pyfim_itemsets(tracts, n)
        t_sets = time.perf_counter() - t
        t = time.perf_counter()
        rules = pyfim_rules(tracts, n)
        t_rules = time.perf_counter() - t
        sizes = Counter(len(s) for s in sets)
        print(f"min support {num}/{den} -> count {n}: itemsets {dict(sorted(sizes.items()))} "
              f"total {len(sets):,} ({t_sets:.2f}s); rules {len(rules):,} ({t_rules:.2f}s)")

        path = os.path.join(a.out, f"itemsets_s{n}.tsv")
        with open(path, "w") as f:
            for s in sorted(sets, key=lambda s: (len(s), s)):
                f.write(f"{','.join(map(str, s))}\t{sets[s]}\n")
        path = os.path.join(a.out, f"rules_s{n}_c50.tsv")
        with open(path, "w") as f:
            for body, head in sorted(rules, key=lambda k: (len(k[0]), k[0], k[1])):
                r, b, h = rules[(body, head)]
                f.write(f"{','.join(map(str, body))}\t{head}\t{r}\t{b}\t{h}\n")

        # Independent checks.
        ref = apriori(tracts, n)
        if ref != sets:
            problems.append(f"s{n}: itemsets differ: {len(set(ref) ^ set(sets))} sets, "
                            f"{sum(1 for k in ref.keys() & sets.keys() if ref[k] != sets[k])} counts")
        ref_rules = rules_from(ref)
        if ref_rules != rules:
            problems.append(f"s{n}: rules differ: {len(set(ref_rules) ^ set(rules))} rules, "
                            f"{sum(1 for k in ref_rules.keys() & rules.keys() if ref_rules[k] != rules[k])} counts")
        if any(r[0] < n for r in rules.values()):
            problems.append(f"s{n}: a rule below the support count")
        # A sample recounted by brute force over the baskets (subset tests).
        sample = sorted(s for s in sets if len(s) == 3)[::max(1, sizes[3] // 40)]
        sample += sorted(s for s in sets if len(s) == 2)[::max(1, sizes[2] // 40)]
        bad = [s for s in sample if brute_count(tracts_sets, s) != sets[s]]
        rsample = sorted(rules)[::max(1, len(rules) // 40)]
        bad += [k for k in rsample if (brute_count(tracts_sets, k[0] + (k[1],)), brute_count(tracts_sets, k[0]),
                                       brute_count(tracts_sets, (k[1],))) != rules[k]]
        if bad:
            problems.append(f"s{n}: brute-force recount differs for {bad[:5]}")
        boundary = sorted(k for k, (r, b, _) in rules.items() if 2 * r == b)
        missing = sorted(k for k, (r, b, _) in ref_rules.items() if 2 * r == b and k not in rules)
        print(f"  independent apriori: {len(ref):,} itemsets, {len(ref_rules):,} rules; brute-force recount of "
              f"{len(sample)} itemsets and {len(rsample)} rules; rules at exactly confidence 0.5 kept by pyfim: "
              f"{[(list(b), h) for b, h in boundary]}; missed: {missing}")
    print("all references verified" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
