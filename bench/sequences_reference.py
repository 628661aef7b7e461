#!/usr/bin/env python3
"""An independent DuckDB SQL implementation of the `sequence_pairs` table ("who buys B within W days of A").

The oracle for evergreen's `patterns --sequences`: written from the table's definition, not from
evergreen's code, and kept plain on purpose (a join of each customer's first-A rows to their B orders).

Cleaning is bench/reference.py's (its first statements are reused as they are): lines with a null
order / timestamp / amount or a non-finite amount are dropped; as_of defaults to the day after the
latest valid line's date; lines at or after as_of 00:00 are dropped; orders naming two customers are
dropped; an order is a purchase when round(sum(amount), decimals) > 0; its time is min(ts) over all
its kept lines.

Definition:
  items(order)   = distinct product_id of the order's positive lines (amount > 0, product not null);
                   only purchase orders of known customers count.
  first(c, A)    = time of c's earliest purchase order holding A.
  eligible(A, W) = customers with first(A) <= as_of 00:00 - W * 24 h.
  followers(A, B, W) = eligible customers with a purchase order holding B (B != A) at t,
                   first(A) < t <= first(A) + W * 24 h.
  days_to_b      = (earliest such t - first(A)) in microseconds / 86,400,000,000.
  confidence = followers / eligible; b_share = customers buying B / customers with a purchase order;
  lift = confidence / b_share; median_days_to_b = quantile_cont(days_to_b, 0.5).
  Rows with followers >= min_followers, sorted by followers DESC, item_a, item_b, window_days.

CLI: python3 bench/sequences_reference.py --input dump.parquet --out seq.parquet
         [--windows 30,90] [--min-followers 5] [--as-of YYYY-MM-DD] [--select SQL] [--threads 2]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import DEFAULT_SELECT, execute, reference_sql  # noqa: E402

US_PER_DAY = 86_400_000_000
SEQ_KEYS = ["item_a", "item_b", "window_days"]
SEQ_COLUMNS = ["item_a", "item_b", "window_days", "eligible", "followers", "confidence", "b_share", "lift",
               "median_days_to_b"]


def src_sql(src: str) -> str:
    """reference.py takes a SQL source expression ("'a.parquet'" or "['a', 'b']"); accept a bare path too."""
    s = src.strip()
    return s if s[:1] in ("'", "[") else "'" + s.replace("'", "''") + "'"


def cleaning_sql(src: str, as_of: str | None, select: str, money_decimals: int) -> list[str]:
    """reference.py's first five statements: temp tables lines, valid, params(as_of DATE), cur, ord
    (order_id, customer_id, is_purchase, cust_amount, ordered_at)."""
    stmts = reference_sql(src_sql(src), "/nonexistent", as_of=as_of, select=select, money_decimals=money_decimals)[:5]
    for stmt, table in zip(stmts, ["lines", "valid", "params", "cur", "ord"]):
        assert f"TEMP TABLE {table} AS" in stmt, f"reference.py changed: expected table {table} in {stmt[:80]!r}"
    return stmts


def sequence_sql(src: str, out_path: str, windows=(90,), min_followers: int = 5, as_of: str | None = None,
                 select: str = DEFAULT_SELECT, money_decimals: int = 2) -> list[str]:
    """SQL statements that write the sequence_pairs table to `out_path` as Parquet."""
    windows = sorted({int(w) for w in windows})
    assert windows and all(w > 0 for w in windows), windows
    win_values = ", ".join(f"({w})" for w in windows)
    out = out_path.replace("'", "''")
    return cleaning_sql(src, as_of, select, money_decimals) + [
        # as_of 00:00 in microseconds since the epoch.
        "CREATE OR REPLACE TEMP TABLE sq_params AS SELECT epoch_us(as_of::TIMESTAMP) AS as_of_us FROM params",
        f"CREATE OR REPLACE TEMP TABLE sq_windows AS SELECT w::BIGINT AS w FROM (VALUES {win_values}) t(w)",
        # One row per (customer, purchase order, item): the items a customer bought, with the order's time.
        """CREATE OR REPLACE TEMP TABLE sq_items AS
           SELECT DISTINCT o.customer_id, o.order_id, epoch_us(o.ordered_at) AS t_us, l.product_id AS item
           FROM cur l JOIN ord o ON l.order_id = o.order_id
           WHERE o.is_purchase AND o.customer_id IS NOT NULL AND l.amount > 0 AND l.product_id IS NOT NULL""",
        # first(c, A).
        """CREATE OR REPLACE TEMP TABLE sq_first AS
           SELECT customer_id, item, min(t_us) AS first_us FROM sq_items GROUP BY customer_id, item""",
        # Customers with a purchase order (denominator of b_share) and customers buying each item.
        """CREATE OR REPLACE TEMP TABLE sq_buyers AS
           SELECT count(DISTINCT customer_id) AS n FROM ord WHERE is_purchase AND customer_id IS NOT NULL""",
        """CREATE OR REPLACE TEMP TABLE sq_item_buyers AS
           SELECT item, count(DISTINCT customer_id) AS n FROM sq_items GROUP BY item""",
        # (customer, A, W) whose whole window is observed.
        """CREATE OR REPLACE TEMP TABLE sq_eligible AS
           SELECT f.customer_id, f.item, f.first_us, w.w
           FROM sq_first f CROSS JOIN sq_windows w, sq_params p
           WHERE f.first_us <= p.as_of_us - w.w * 86400000000""",
        """CREATE OR REPLACE TEMP TABLE sq_eligible_n AS
           SELECT item AS item_a, w, count(*) AS eligible FROM sq_eligible GROUP BY item, w""",
        # Each eligible customer's first A joined to their B orders strictly after it, within W days.
        """CREATE OR REPLACE TEMP TABLE sq_follow AS
           SELECT e.customer_id, e.item AS item_a, b.item AS item_b, e.w,
                  (min(b.t_us) - e.first_us)::DOUBLE / 86400000000.0 AS days_to_b
           FROM sq_eligible e JOIN sq_items b
             ON b.customer_id = e.customer_id AND b.item <> e.item
            AND b.t_us > e.first_us AND b.t_us <= e.first_us + e.w * 86400000000
           GROUP BY e.customer_id, e.item, b.item, e.w, e.first_us""",
        f"""CREATE OR REPLACE TEMP TABLE sequence_pairs AS
            WITH g AS (
              SELECT item_a, item_b, w, count(*) AS followers, quantile_cont(days_to_b, 0.5) AS median_days_to_b
              FROM sq_follow GROUP BY item_a, item_b, w HAVING count(*) >= {int(min_followers)})
            SELECT g.item_a, g.item_b, g.w::BIGINT AS window_days, e.eligible::BIGINT AS eligible,
                   g.followers::BIGINT AS followers,
                   g.followers::DOUBLE / e.eligible AS confidence,
                   ib.n::DOUBLE / bu.n AS b_share,
                   (g.followers::DOUBLE / e.eligible) / (ib.n::DOUBLE / bu.n) AS lift,
                   g.median_days_to_b::DOUBLE AS median_days_to_b
            FROM g JOIN sq_eligible_n e ON e.item_a = g.item_a AND e.w = g.w
                   JOIN sq_item_buyers ib ON ib.item = g.item_b, sq_buyers bu""",
        f"""COPY (SELECT * FROM sequence_pairs ORDER BY followers DESC, item_a, item_b, window_days)
            TO '{out}' (FORMAT parquet)""",
    ]


def run_sequences(src: str, out_path: str, threads: int = 2, **kw) -> None:
    execute(sequence_sql(src, out_path, **kw), threads)


def parse_windows(s: str) -> list[int]:
    return [int(x) for x in s.replace(" ", "").split(",") if x]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True, help="Parquet file (or a DuckDB source list like \"['a','b']\")")
    ap.add_argument("--out", required=True, help="output Parquet file")
    ap.add_argument("--windows", default="90", help="comma-separated window lengths in days (default 90)")
    ap.add_argument("--min-followers", type=int, default=5)
    ap.add_argument("--as-of", help="YYYY-MM-DD (default: the day after the latest valid line)")
    ap.add_argument("--select", default=DEFAULT_SELECT,
                    help="DuckDB select list mapping the file to customer_id, order_id, ts, amount, product_id")
    ap.add_argument("--money-decimals", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    t = time.perf_counter()
    run_sequences(a.input, a.out, threads=a.threads, windows=parse_windows(a.windows), min_followers=a.min_followers,
                  as_of=a.as_of, select=a.select, money_decimals=a.money_decimals)
    import duckdb
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{a.out}')").fetchall()[0][0]
    print(f"wrote {a.out}: {n} rows in {time.perf_counter() - t:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
