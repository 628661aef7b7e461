#!/usr/bin/env python3
"""sequence_patterns (issue 34, point 5) by two references independent of evergreen.

The customers' sequences come from DuckDB SQL written from the README's rules: lines with an order
id, a timestamp and a finite amount, before the as-of date (given, or the day after the latest
line); an order naming two customers is left out; a purchase order's net (every line) rounded to the
money decimals is positive; its basket is the distinct items of its positive lines. A customer's
sequence is their purchase orders with a basket item in time order, orders at the same instant
merged into one element.

* `--mllib OUT.tsv`: Spark MLlib's PrefixSpan (pyspark) on those sequences, at `--min-customers`
  (given to MLlib as the fraction (count - 0.5) / sequences, so its ceil is the count), every
  pattern of at most `--max-steps` steps, written as `pattern<TAB>customers` lines sorted by
  pattern: the fixture tests/fixtures/prefixspan/ holds.
* `--check OUT_DIR`: a plain enumeration (no projections: each candidate's customers counted by
  matching it against every sequence, with the gap) compared with evergreen's
  OUT_DIR/sequence_patterns.parquet: the same patterns with the same customers.

A pattern is written `{a} > {b c}`: each step's items (ascending as numbers for integer ids, as
text otherwise) in braces, apart by a space, steps joined by ` > `, as evergreen writes it.

Usage: python3 bench/prefixspan_reference.py --input DUMP --min-customers N --max-steps L
       [--max-gap DAYS] [--as-of D] (--mllib OUT.tsv | --check EVERGREEN_OUT)
Needs: duckdb, pyarrow (and pyspark for --mllib).
"""
import argparse
import datetime
import sys
import time

import duckdb


def sequences(dump, as_of, decimals=2):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW lines AS SELECT customer_id AS cu, order_id AS o, CAST(ts AS TIMESTAMP) AS ts, "
                f"CAST(amount AS DOUBLE) AS amount, product_id AS item FROM read_parquet('{dump}')")
    cut = f"DATE '{as_of}'" if as_of else "(SELECT CAST(max(ts) AS DATE) + 1 FROM lines)"
    rows = con.execute(f"""
      WITH valid AS (
        SELECT * FROM lines WHERE o IS NOT NULL AND ts IS NOT NULL AND amount IS NOT NULL AND isfinite(amount)
          AND ts < {cut}
      ), orders AS (
        SELECT o, max(cu) AS cu, min(ts) AS at, count(DISTINCT cu) > 1 AS conflict,
               round(sum(amount), {decimals}) > 0 AS purchase
        FROM valid GROUP BY o
      )
      SELECT DISTINCT r.cu, r.at, v.item FROM valid v JOIN orders r USING (o)
      WHERE r.purchase AND NOT r.conflict AND r.cu IS NOT NULL AND v.amount > 0 AND v.item IS NOT NULL
      ORDER BY r.cu, r.at, v.item
    """).fetchall()
    seqs = {}
    for cu, at, item in rows:
        els = seqs.setdefault(cu, [])
        if not els or els[-1][0] != at:
            els.append((at, set()))
        els[-1][1].add(item)
    # (day, sorted items) per element
    out = []
    for cu in sorted(seqs):
        out.append([((at.date() - datetime.date(1970, 1, 1)).days, tuple(sorted(items))) for at, items in seqs[cu]])
    return out


def text(pattern):
    return " > ".join("{" + " ".join(str(i) for i in step) + "}" for step in pattern)


def supports(seq, pattern, gap):
    """Whether the sequence holds the pattern: steps in later and later elements, each step's
    items in its element, each step at most `gap` days after the one before (a depth-first search
    over the embeddings)."""
    def from_(k, prev):
        if k == len(pattern):
            return True
        step = pattern[k]
        for j in range(prev + 1, len(seq)):
            if gap is not None and prev >= 0 and seq[j][0] - seq[prev][0] > gap:
                break
            if step <= seq[j][1] and from_(k + 1, j):
                return True
        return False
    return from_(0, -1)


def enumerate_patterns(seqs, min_customers, max_steps, gap):
    """Every pattern of at most `max_steps` steps held by at least `min_customers` sequences,
    grown a step or an item at a time from frequent ones (support never grows with a pattern).
    Only the sequences holding every item of a candidate are searched."""
    seqs = [[(day, frozenset(items)) for day, items in s] for s in seqs]
    holding = {}
    for k, s in enumerate(seqs):
        for _, els in s:
            for i in els:
                holding.setdefault(i, set()).add(k)

    def count(p):
        ids = set.intersection(*(holding[i] for step in p for i in step))
        if len(ids) < min_customers:
            return 0
        steps = tuple(frozenset(step) for step in p)
        return sum(supports(seqs[k], steps, gap) for k in ids)

    found = {}
    frontier = []
    for i in sorted(holding):
        p = ((i,),)
        n = count(p)
        if n >= min_customers:
            found[p] = n
            frontier.append(p)
    # A pattern holding a rare item is rare: only the frequent items extend.
    items = [p[0][0] for p in frontier]
    while frontier:
        nxt = []
        for p in frontier:
            cands = [p[:-1] + (p[-1] + (i,),) for i in items if i > p[-1][-1]]
            if len(p) < max_steps:
                cands += [p + ((i,),) for i in items]
            for c in cands:
                if c in found:
                    continue
                n = count(c)
                if n >= min_customers:
                    found[c] = n
                    nxt.append(c)
        frontier = nxt
    return found


def mllib(seqs, min_customers, max_steps, out):
    from pyspark.ml.fpm import PrefixSpan
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.catalogImplementation", "in-memory").getOrCreate())
    df = spark.createDataFrame([([list(els) for _, els in s],) for s in seqs], ["sequence"])
    longest = max(len(els) for s in seqs for _, els in s)
    ps = PrefixSpan(minSupport=(min_customers - 0.5) / len(seqs), maxPatternLength=max_steps * longest,
                    maxLocalProjDBSize=1 << 40, sequenceCol="sequence")
    df = df.cache()
    df.count()
    started = time.perf_counter()
    rows = ps.findFrequentSequentialPatterns(df).collect()
    print(f"MLlib PrefixSpan mined in {time.perf_counter() - started:.1f} s (the sequences built and cached before)")
    lines = sorted(f"{text(tuple(tuple(sorted(step)) for step in r.sequence))}\t{r.freq}"
                   for r in rows if len(r.sequence) <= max_steps)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"MLlib PrefixSpan: {len(lines)} patterns of at most {max_steps} steps over {len(seqs)} sequences -> {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--as-of")
    ap.add_argument("--min-customers", type=int, required=True)
    ap.add_argument("--max-steps", type=int, required=True)
    ap.add_argument("--max-gap", type=int)
    ap.add_argument("--mllib")
    ap.add_argument("--check")
    a = ap.parse_args()
    seqs = sequences(a.input, a.as_of)
    if a.mllib:
        if a.max_gap is not None:
            raise SystemExit("MLlib's PrefixSpan has no gap")
        mllib(seqs, a.min_customers, a.max_steps, a.mllib)
        return
    import pyarrow.parquet as pq
    want = {text(p): n for p, n in enumerate_patterns(seqs, a.min_customers, a.max_steps, a.max_gap).items()}
    t = pq.read_table(f"{a.check}/sequence_patterns.parquet").to_pydict()
    got = dict(zip(t["pattern"], t["customers"]))
    if want != got:
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        differ = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5]
        print(f"MISMATCH: reference {len(want)} patterns, evergreen {len(got)}; missing {missing}, extra {extra}, "
              f"customers differ {[(k, want[k], got[k]) for k in differ]}")
        sys.exit(1)
    print(f"prefixspan reference: {len(want)} patterns (gap {a.max_gap}) over {len(seqs)} sequences agree")


if __name__ == "__main__":
    main()
