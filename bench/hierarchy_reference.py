#!/usr/bin/env python3
"""product_hierarchy (issue 34, point 4) by DuckDB and scipy, independent of evergreen, compared
with the table evergreen wrote.

DuckDB SQL written from the README's rules picks the baskets: lines with an order id, a timestamp
and a finite amount, before the as-of date (given, or the day after the latest line); an order
naming two customers is left out; a purchase order is one whose net (every line) rounded to the
money decimals is positive; its basket is the distinct items of its positive lines, bought by the
order's customer. The N items in the most baskets (ties: the smaller item) are the products; a
customer bought one when it is in a basket of theirs.

scipy (1.17) then computes, over the customers who bought any basket item, the boolean matrix
customers x products, `pdist(M, "yule")` (Yule's dissimilarity 2bc / (ad + bc) = 1 - Q), the
substitution distance 2 - yule = 1 + Q, and `linkage(method="average")`; every merge must join
the same products at the same distance (1e-9) with the same size.

Usage: python3 bench/hierarchy_reference.py --input DUMP --out EVERGREEN_OUT --n N [--as-of D]
       [--customer-col C --order-col O --ts-col T --amount EXPR --item-col I] [--money-decimals 2]
Needs: duckdb, numpy, scipy (the venv of bench/btyd_reference.py has them).
"""
import argparse
import sys

import duckdb
import numpy as np
import pyarrow.parquet as pq
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import pdist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--as-of")
    ap.add_argument("--money-decimals", type=int, default=2)
    ap.add_argument("--customer-col", default="customer_id")
    ap.add_argument("--order-col", default="order_id")
    ap.add_argument("--ts-col", default="ts")
    ap.add_argument("--amount", default="amount")
    ap.add_argument("--item-col", default="product_id")
    a = ap.parse_args()
    con = duckdb.connect()
    con.execute(f"""CREATE VIEW lines AS SELECT {a.customer_col} AS cu, {a.order_col} AS o,
        CAST({a.ts_col} AS TIMESTAMP) AS ts, CAST({a.amount} AS DOUBLE) AS amount, {a.item_col} AS item
        FROM read_parquet('{a.input}')""")
    cut = f"DATE '{a.as_of}'" if a.as_of else "(SELECT CAST(max(ts) AS DATE) + 1 FROM lines)"
    d = a.money_decimals
    rows = con.execute(f"""
      WITH valid AS (
        SELECT * FROM lines WHERE o IS NOT NULL AND ts IS NOT NULL AND amount IS NOT NULL AND isfinite(amount)
          AND ts < {cut}
      ), orders AS (
        SELECT o, max(cu) AS cu, count(DISTINCT cu) > 1 AS conflict, round(sum(amount), {d}) > 0 AS purchase
        FROM valid GROUP BY o
      ), baskets AS (
        SELECT DISTINCT v.o, r.cu, v.item FROM valid v JOIN orders r USING (o)
        WHERE r.purchase AND NOT r.conflict AND v.amount > 0 AND v.item IS NOT NULL
      ), top AS (
        SELECT item, row_number() OVER (ORDER BY count(*) DESC, item) - 1 AS rank
        FROM baskets GROUP BY item ORDER BY count(*) DESC, item LIMIT {a.n}
      )
      SELECT DISTINCT b.cu, t.rank FROM baskets b LEFT JOIN top t USING (item) WHERE b.cu IS NOT NULL
    """).fetchall()
    customers = sorted({r[0] for r in rows})
    index = {c: k for k, c in enumerate(customers)}
    m = np.zeros((len(customers), a.n), dtype=bool)
    for cu, rank in rows:
        if rank is not None:
            m[index[cu], rank] = True
    m = m[:, : max(r for _, r in rows if r is not None) + 1]
    n = m.shape[1]
    dist = 2.0 - pdist(m.T, "yule")
    z = linkage(dist, method="average")
    ours = pq.read_table(f"{a.out}/product_hierarchy.parquet").to_pydict()
    if len(ours["merge"]) != n - 1:
        print(f"MISMATCH: evergreen has {len(ours['merge'])} merges, scipy {n - 1}")
        sys.exit(1)
    # Leaves of each cluster id, to compare merges whatever the order scipy lists a pair in.
    members = {k: frozenset([k]) for k in range(n)}
    ours_members = {k: frozenset([k]) for k in range(n)}
    for k in range(n - 1):
        l, r, dz, size = int(z[k, 0]), int(z[k, 1]), float(z[k, 2]), int(z[k, 3])
        members[n + k] = members[l] | members[r]
        ol, orr = ours["left"][k], ours["right"][k]
        ours_members[n + k] = ours_members[ol] | ours_members[orr]
        want = {members[l], members[r]}
        got = {ours_members[ol], ours_members[orr]}
        if want != got or abs(ours["distance"][k] - dz) > 1e-9 or ours["size"][k] != size:
            print(f"MISMATCH merge {k + 1}: evergreen joins {sorted(map(sorted, got))} at {ours['distance'][k]} "
                  f"(size {ours['size'][k]}), scipy {sorted(map(sorted, want))} at {dz} (size {size})")
            sys.exit(1)
    print(f"hierarchy reference: {n - 1} merges of {n} products over {len(customers)} customers agree with scipy")


if __name__ == "__main__":
    main()
