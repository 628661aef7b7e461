#!/usr/bin/env python3
"""Issue 14: an INDEPENDENT DuckDB SQL implementation of the trend columns, cohorts, kpis, profit deciles /
profit_group and segment / decile migration tables, and a checker of evergreen's output against it.

Written from the issue-14 definitions (trend columns, cohorts, kpis, migration, profit) and
the rules in docs/ (trends.md, input.md), not from evergreen's code. Cleaning is bench/reference.py's (its statements lines,
valid, params, cur are reused): rejected lines (null order / ts / amount, non-finite amount), future lines
(ts >= as_of 00:00), default as_of = the day after the latest valid line's date; orders naming two
customers are dropped here. Timestamps are read in UTC (SET TimeZone = 'UTC'), so a zoned timestamp's
date is its UTC date. Money: every sum is taken exactly in DECIMAL(38,18), turned into the nearest double
once, then rounded to money_decimals, halves away from zero (DuckDB's round(DOUBLE) = round(x*100)/100,
docs/input.md "Numbers"); ratios are computed from the rounded sums. Null cost counts 0 in profit.

Usage:
  python3 bench/trends_reference.py --input DUMP.parquet --out EVERGREEN_OUT [--as-of YYYY-MM-DD]
      [--trend-days 90] [--kpi-window-days 30] [--cohort-period month|week] [--lapse-thresholds 30,60,90,120]
  python3 bench/trends_reference.py --compare-from OUT_A --compare-to OUT_B --migration-out DIR
  python3 bench/trends_reference.py --selftest
Prints one line per table ("cohorts: 312 rows identical"); exit 1 on any difference (first rows shown).
Checked: customers (trend columns; profit, profit_group with cost) and lapsed_customers on customer_id,
cohorts on (cohort, period_index), kpis column by column, profit_deciles on decile, the migration tables on
(from, to); also missing / extra rows, column type families, and row order where the definitions fix it.
Money must be equal after rounding (and evergreen's value rounded); ratios agree to 1e-9 relative.
--selftest runs a 16-line hand-made dump, prints every table, checks hand-computed values and the checker.
Needs: pip install duckdb pandas pyarrow
"""
import argparse
import json
import os
import sys
import tempfile

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import reference_sql  # noqa: E402

DEC = "DECIMAL(38,18)"
RATIO = {"window_repeat_rate", "spend_change_pct", "orders_change_pct", "retention", "revenue_per_customer", "repeat_rate",
         "avg_order_value", "window_avg_order_value", "window_revenue_per_customer", "profit_share",
         "cumulative_profit_share", "discount_share", "avg_basket_items"}
MONEY = {"recent_spend", "prior_spend", "revenue", "guest_revenue", "returns", "window_revenue",
         "window_guest_revenue", "window_returns", "profit", "min_profit", "max_profit", "revenue_before",
         "revenue_after", "discount"}
TREND = ["recent_orders", "recent_spend", "prior_orders", "prior_spend", "spend_change_pct", "orders_change_pct",
         "declining"]


def money(expr: str, where: str = "true", d: int = 2) -> str:
    """An exact sum, rounded once (0 over no rows; never -0.0)."""
    return f"(round(coalesce(sum(({expr})::{DEC}) FILTER (WHERE {where}), 0)::DOUBLE, {d}) + 0.0)"


def source(path: str) -> str:
    p = path.strip()
    if p[:1] in ("'", "["):
        return p
    if os.path.isdir(p):
        p = os.path.join(p, "**", "*.parquet")
    return "'" + p.replace("'", "''") + "'"


def select_list(con, src: str, discount: str | None = None) -> str:
    """Canonical columns: blank string ids are null, whole-number float ids are integers. With
    `discount` (evergreen's --discount-col): that column as the line's discount, null or
    non-finite as 0."""
    types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()}
    out = []
    for c in ("customer_id", "order_id"):
        t = types[c]
        out.append(f"CASE WHEN trim({c}) = '' THEN NULL ELSE {c} END AS {c}" if "CHAR" in t
                   else f"{c}::BIGINT AS {c}" if t in ("FLOAT", "DOUBLE") else c)
    out += ["ts::TIMESTAMP AS ts", "amount::DOUBLE AS amount",
            "product_id" if "product_id" in types else "NULL AS product_id"]
    if "cost" in types:
        out.append("cost::DOUBLE AS cost")
    if discount:
        q = '"' + discount.replace('"', '""') + '"'
        out.append(f"CASE WHEN isfinite({q}::DOUBLE) THEN {q}::DOUBLE ELSE 0 END AS discount")
    return ", ".join(out)


def trends_sql(src: str, select: str, as_of, n: int, w: int, period: str, thresholds, has_cost: bool,
               d: int = 2, bins: int = 5) -> list[str]:
    """Temp tables tr_customers, tr_cohorts, tr_kpis (and tr_profit_deciles with a cost column)."""
    stmts = reference_sql(src, "/nonexistent", as_of=as_of, select=select, money_decimals=d)[:4]
    for stmt, table in zip(stmts, ["lines", "valid", "params", "cur"]):
        assert f"TEMP TABLE {table} AS" in stmt, f"reference.py changed: expected table {table} in {stmt[:80]!r}"
    m = lambda e, wh="true": money(e, wh, d)  # noqa: E731
    has_products = "NULL AS product_id" not in select
    ps = (lambda x: f"date_trunc('month', {x})::DATE") if period == "month" else \
         (lambda x: f"date_trunc('week', {x})::DATE")
    idx = (lambda a, b: f"(12 * (year({b}) - year({a})) + month({b}) - month({a}))") if period == "month" else \
          (lambda a, b: f"(({b} - {a}) // 7)")
    step = (lambda c, k: f"({c} + to_months({k}::INTEGER))::DATE") if period == "month" else \
           (lambda c, k: f"({c} + 7 * {k}::INTEGER)::DATE")
    profit = f"sum((amount - cost)::{DEC}) FILTER (WHERE customer_id IS NOT NULL)" if has_cost else "NULL"
    disc = (f"coalesce(sum(discount::{DEC}) FILTER (WHERE customer_id IS NOT NULL), 0)"
            if "AS discount" in select else "NULL")
    lapsed = ", ".join(f"count(*) FILTER (WHERE recency_days > {t}) AS lapsed_{t}" for t in thresholds)
    return stmts + [
        # Kept orders: no two customers; time = earliest line, date = its UTC date.
        """CREATE OR REPLACE TEMP TABLE tr_keep AS
           SELECT order_id, max(customer_id) AS order_customer, min(ts)::DATE AS odate
           FROM cur GROUP BY order_id HAVING count(DISTINCT customer_id) <= 1""",
        # Per order: purchase flag (exact net rounded > 0) and its exact (unrounded) money parts.
        f"""CREATE OR REPLACE TEMP TABLE tr_o AS
            SELECT k.order_id, any_value(k.order_customer) AS customer_id, any_value(k.odate) AS odate,
                   any_value(p.as_of - k.odate) AS days_ago,
                   round(sum(l.amount::{DEC})::DOUBLE, {d}) > 0 AS is_purchase,
                   sum(l.amount::{DEC}) AS all_amt,
                   coalesce(sum(l.amount::{DEC}) FILTER (WHERE l.customer_id IS NOT NULL), 0) AS cust_amt,
                   coalesce(sum(l.amount::{DEC}) FILTER (WHERE l.customer_id IS NULL), 0) AS guest_amt,
                   coalesce(sum(l.amount::{DEC}) FILTER (WHERE l.amount < 0), 0) AS neg_amt,
                   {profit} AS cust_profit, {disc} AS cust_disc,
                   count(DISTINCT l.product_id) FILTER (WHERE l.amount > 0) AS n_items
            FROM cur l JOIN tr_keep k ON l.order_id = k.order_id, params p GROUP BY k.order_id""",
        f"""CREATE OR REPLACE TEMP TABLE tr_c0 AS
            SELECT customer_id, count(*) FILTER (WHERE is_purchase) AS frequency,
                   min(odate) FILTER (WHERE is_purchase) AS first_day, max(odate) FILTER (WHERE is_purchase) AS last_day,
                   {m('cust_amt')} AS monetary, {m('cust_profit')} AS profit, {m('cust_disc')} AS discount,
                   {"sum(n_items) FILTER (WHERE is_purchase)" if has_products else "NULL"}
                     / count(*) FILTER (WHERE is_purchase) AS avg_basket_items,
                   count(*) FILTER (WHERE is_purchase AND days_ago BETWEEN 1 AND {n}) AS recent_orders,
                   {m('cust_amt', f'days_ago BETWEEN 1 AND {n}')} AS recent_spend,
                   count(*) FILTER (WHERE is_purchase AND days_ago BETWEEN {n + 1} AND {2 * n}) AS prior_orders,
                   {m('cust_amt', f'days_ago BETWEEN {n + 1} AND {2 * n}')} AS prior_spend,
                   min(odate) FILTER (WHERE is_purchase AND days_ago BETWEEN 1 AND {w}) AS first_in_window,
                   max(odate) FILTER (WHERE is_purchase AND days_ago > {w}) AS last_before_window,
                   count(*) FILTER (WHERE is_purchase AND days_ago BETWEEN 1 AND {w}) AS window_purchases
            FROM tr_o WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING count(*) FILTER (WHERE is_purchase) > 0""",
        f"""CREATE OR REPLACE TEMP TABLE tr_customers AS
            WITH t AS (
              SELECT c.*, p.as_of - last_day AS recency_days, p.as_of - first_day AS tenure_days,
                     CASE WHEN prior_spend > 0 THEN 100 * (recent_spend - prior_spend) / prior_spend END AS spend_change_pct,
                     CASE WHEN prior_orders > 0 THEN 100 * (recent_orders - prior_orders) / prior_orders END
                       AS orders_change_pct,
                     prior_orders > 0 AND (recent_orders < prior_orders OR 2 * recent_spend <= prior_spend) AS declining,
                     CASE WHEN discount IS NOT NULL AND monetary + discount > 0
                          THEN discount / (monetary + discount) END AS discount_share
              FROM tr_c0 c, params p),
            o AS (  -- profit order; exact integer minor units for the cumulative sums
              SELECT *, round(profit * {10 ** d})::HUGEINT AS minor,
                     row_number() OVER (ORDER BY profit DESC, customer_id) - 1 AS p, count(*) OVER () AS n_cust
              FROM t)
            SELECT * EXCLUDE (minor, p, n_cust), 1 + (10 * p) // n_cust AS profit_decile,
                   CASE WHEN profit > 0 AND 10 * cum_before < total THEN 'top'
                        WHEN profit > 0 AND 2 * cum_before < total THEN 'next'
                        WHEN profit > 0 AND declining THEN 'declining' END AS profit_group
            FROM (SELECT *, coalesce(sum(minor) OVER (ORDER BY profit DESC, customer_id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cum_before,
                         sum(minor) OVER () AS total FROM o)""",
        # Cohorts: every period from the cohort to the period holding D - 1, zero rows included.
        # customer_tags, from the rules of queries/customer_tags.sql (scores and deciles here).
        f"""CREATE OR REPLACE TEMP TABLE tr_tags AS
            WITH r AS (
              SELECT *, 1 + ({bins} * (rank() OVER (ORDER BY frequency) - 1)) // count(*) OVER () AS f_score,
                     1 + (10 * (row_number() OVER (ORDER BY monetary DESC, customer_id) - 1)) // count(*) OVER ()
                       AS monetary_decile,
                     rank() OVER (ORDER BY sign(monetary) * ((abs(round(monetary * {10 ** d}))::BIGINT * 2 + frequency) // (2 * frequency)) DESC) AS aov_rank, count(*) OVER () AS n
              FROM tr_customers),
            b AS (SELECT customer_id, rank() OVER (ORDER BY avg_basket_items DESC) AS k, count(*) OVER () AS n
                  FROM tr_customers WHERE avg_basket_items IS NOT NULL)
            SELECT customer_id, 'one_timer' AS tag FROM r WHERE frequency = 1
            UNION ALL SELECT customer_id, 'frequent' FROM r WHERE f_score = {bins}
            UNION ALL SELECT customer_id, 'high_aov' FROM r WHERE aov_rank * 10 <= n
            UNION ALL SELECT customer_id, 'big_basket' FROM b WHERE k * 10 <= n
            UNION ALL SELECT customer_id, 'lapsing_high_value' FROM r
                      WHERE monetary_decile <= 2 AND recency_days > {min(thresholds)}
            UNION ALL SELECT customer_id, 'new' FROM r WHERE tenure_days <= {w}
            UNION ALL SELECT customer_id, 'declining' FROM r WHERE declining
            UNION ALL SELECT customer_id, 'deal_seeker' FROM r WHERE discount_share >= 0.25""",
        f"""CREATE OR REPLACE TEMP TABLE tr_cohorts AS
            WITH cc AS (SELECT customer_id, {ps('first_day')} AS cohort FROM tr_customers),
            g0 AS (SELECT cohort, count(*) AS cohort_customers FROM cc GROUP BY cohort),
            grid AS (
              SELECT cohort, cohort_customers, unnest(range(0, {idx('cohort', ps('p.as_of - 1'))} + 1)) AS period_index
              FROM g0, params p),
            act AS (
              SELECT cc.cohort, {idx('cc.cohort', ps('o.odate'))} AS period_index,
                     count(DISTINCT o.customer_id) FILTER (WHERE o.is_purchase) AS active_customers,
                     {m('o.cust_amt')} AS revenue
              FROM tr_o o JOIN cc ON o.customer_id = cc.customer_id GROUP BY ALL)
            SELECT g.cohort, g.period_index::BIGINT AS period_index, {step('g.cohort', 'g.period_index')} AS period_start,
                   g.cohort_customers, coalesce(a.active_customers, 0) AS active_customers,
                   coalesce(a.active_customers, 0) / g.cohort_customers AS retention,
                   coalesce(a.revenue, 0.0) AS revenue, coalesce(a.revenue, 0.0) / g.cohort_customers AS revenue_per_customer
            FROM grid g LEFT JOIN act a ON a.cohort = g.cohort AND a.period_index = g.period_index
            ORDER BY g.cohort, g.period_index""",
        # Orders before the cohort (period_index < 0) find no grid row and so are in no row.
        f"""CREATE OR REPLACE TEMP TABLE tr_kpis AS
            WITH c AS (
              SELECT count(*) AS customers, count(*) FILTER (WHERE frequency >= 2) AS repeaters, {lapsed},
                     count(*) FILTER (WHERE window_purchases > 0) AS window_active,
                     count(*) FILTER (WHERE tenure_days BETWEEN 1 AND {w}) AS window_new,
                     count(*) FILTER (WHERE tenure_days > {w} AND first_in_window - last_before_window > {max(thresholds)})
                       AS window_reactivated,
                     count(*) FILTER (WHERE window_purchases >= 2) AS window_repeaters
              FROM tr_customers),
            o AS (
              SELECT {m('all_amt')} AS revenue, count(*) FILTER (WHERE is_purchase) AS orders,
                     {m('cust_amt', 'customer_id IN (SELECT customer_id FROM tr_customers)')} AS customer_revenue,
                     {m('guest_amt')} AS guest_revenue, -{m('neg_amt')} + 0.0 AS returns,
                     {m('all_amt', f'days_ago <= {w}')} AS window_revenue,
                     count(*) FILTER (WHERE is_purchase AND days_ago <= {w}) AS window_orders,
                     {m('cust_amt', f'days_ago <= {w} AND customer_id IN (SELECT customer_id FROM tr_customers)')}
                       AS window_customer_revenue,
                     {m('guest_amt', f'days_ago <= {w}')} AS window_guest_revenue,
                     -{m('neg_amt', f'days_ago <= {w}')} + 0.0 AS window_returns
              FROM tr_o)
            SELECT p.as_of, {w}::BIGINT AS window_days, c.customers,
                   CASE WHEN c.customers > 0 THEN c.repeaters / c.customers ELSE 0 END AS repeat_rate,
                   {', '.join(f'c.lapsed_{t}' for t in thresholds)}, o.revenue, o.orders,
                   CASE WHEN o.orders > 0 THEN sign(o.revenue) * ((abs(round(o.revenue * {10 ** d}))::BIGINT * 2 + o.orders) // (2 * o.orders)) / {10 ** d} ELSE 0 END AS avg_order_value,
                   CASE WHEN c.customers > 0 THEN sign(o.customer_revenue) * ((abs(round(o.customer_revenue * {10 ** d}))::BIGINT * 2 + c.customers) // (2 * c.customers)) / {10 ** d} ELSE 0 END AS revenue_per_customer,
                   o.guest_revenue, o.returns, c.window_active, c.window_new,
                   c.window_active - c.window_new AS window_returning, c.window_reactivated,
                   CASE WHEN c.window_active > 0 THEN c.window_repeaters / c.window_active ELSE 0 END
                     AS window_repeat_rate,
                   o.window_revenue, o.window_orders,
                   CASE WHEN o.window_orders > 0 THEN sign(o.window_revenue) * ((abs(round(o.window_revenue * {10 ** d}))::BIGINT * 2 + o.window_orders) // (2 * o.window_orders)) / {10 ** d} ELSE 0 END AS window_avg_order_value,
                   o.window_guest_revenue, o.window_returns,
                   CASE WHEN c.window_active > 0 THEN sign(o.window_customer_revenue) * ((abs(round(o.window_customer_revenue * {10 ** d}))::BIGINT * 2 + c.window_active) // (2 * c.window_active)) / {10 ** d} ELSE 0 END
                     AS window_revenue_per_customer
            FROM params p, c, o""",
    ] + ([f"""CREATE OR REPLACE TEMP TABLE tr_profit_deciles AS
              WITH g AS (SELECT profit_decile AS decile, count(*) AS customers, {m('profit')} AS profit,
                                {m('monetary')} AS revenue, min(profit) AS min_profit, max(profit) AS max_profit
                         FROM tr_customers GROUP BY 1),
              t AS (SELECT {m('profit')} AS total FROM tr_customers)
              SELECT g.*, CASE WHEN t.total = 0 THEN 0 ELSE g.profit / t.total END AS profit_share,
                     CASE WHEN t.total = 0 THEN 0 ELSE sum(g.profit) OVER (ORDER BY decile) / t.total END
                       AS cumulative_profit_share
              FROM g, t ORDER BY decile"""] if has_cost else [])


def migration_sql(a: str, b: str, from_as_of: str, to_as_of: str, d: int = 2) -> list[str]:
    """Temp tables tr_segment_migration, tr_decile_migration from two customers tables (SQL sources, A earlier)."""
    rank = lambda c: f"CASE {c} WHEN 'new' THEN 0 WHEN 'gone' THEN 11 ELSE {c}::INT END"  # noqa: E731
    out = []
    for name, col in [("segment", "segment"), ("decile", "monetary_decile::VARCHAR")]:
        f, t = f"from_{name}", f"to_{name}"
        order = f"{f}, {t}" if name == "segment" else f"{rank(f)}, {rank(t)}"
        out.append(f"""CREATE OR REPLACE TEMP TABLE tr_{name}_migration AS
            WITH j AS (
              SELECT CASE WHEN a.customer_id IS NULL THEN 'new' ELSE a.{col} END AS {f},
                     CASE WHEN b.customer_id IS NULL THEN 'gone' ELSE b.{col} END AS {t},
                     a.monetary AS ma, b.monetary AS mb
              FROM {a} a FULL OUTER JOIN {b} b ON a.customer_id = b.customer_id)
            SELECT * FROM (
              SELECT {f}, {t}, count(*) AS customers, {money('ma', 'true', d)} AS revenue_before,
                     {money('mb', 'true', d)} AS revenue_after, DATE '{from_as_of}' AS from_as_of,
                     DATE '{to_as_of}' AS to_as_of
              FROM j GROUP BY {f}, {t})
            ORDER BY {order}""")
    return out


# ---------------------------------------------------------------------------------------------- checker

def kind(t: str) -> str:
    """Type family for the schema check: integer widths and float / decimal types may differ."""
    t = t.upper()
    return ("num" if any(x in t for x in ("INT", "DOUBLE", "FLOAT", "DECIMAL")) else "text" if "CHAR" in t
            else "timestamp" if t.startswith("TIMESTAMP") else t)


def compare(con, name: str, ref: str, ev_path: str, keys: list[str], cols: list[str], ordered: bool = False,
            d: int = 2, where: str = "true") -> bool:
    """Compare temp table `ref` with evergreen's Parquet on `keys` (columns `cols`); print one summary line."""
    if not os.path.exists(ev_path):
        print(f"{name}: MISSING {ev_path}")
        return False
    ev = f"read_parquet('{ev_path}')"
    have = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {ev}").fetchall()}
    mine = {r[0]: r[1] for r in con.execute(f"DESCRIBE {ref}").fetchall()}
    problems = [f"column {c} missing" for c in keys + cols if c not in have]
    problems += [f"column {c} is {have[c]}, expected {mine[c]}" for c in keys + cols
                 if c in have and kind(have[c]) != kind(mine[c])]
    cols = [c for c in cols if c in have]
    if any(k not in have for k in keys):
        print(f"{name}: DIFFERENT ({'; '.join(problems)})")
        return False
    on = " AND ".join(f"r.{k} = e.{k}" for k in keys) or "true"
    j = (f"(SELECT *, true AS __r FROM {ref} WHERE {where}) r FULL OUTER JOIN (SELECT *, true AS __e FROM {ev}) e "
         f"ON {on}")
    nr, ne = con.execute(f"SELECT count(*) FILTER (WHERE e.__e IS NULL), count(*) FILTER (WHERE r.__r IS NULL) "
                         f"FROM {j}").fetchone()
    if nr or ne:
        problems.append(f"{nr} reference rows missing in evergreen, {ne} evergreen rows not in the reference")
        for side, cond in (("only reference", "e.__e IS NULL"), ("only evergreen", "r.__r IS NULL")):
            for row in con.execute(f"SELECT {', '.join(f'coalesce(r.{k}, e.{k})' for k in keys)} FROM {j} "
                                   f"WHERE {cond} LIMIT 3").fetchall():
                problems.append(f"  {side}: {dict(zip(keys, row))}")
    for c in cols:
        if c in MONEY:  # equal after rounding, and evergreen's value is itself rounded
            bad = f"(round(r.{c}, {d}) IS DISTINCT FROM round(e.{c}, {d}) OR abs(e.{c} - round(e.{c}, {d})) > 1e-6)"
        elif c in RATIO:
            bad = (f"NOT coalesce((r.{c} IS NULL AND e.{c} IS NULL) OR "
                   f"abs(r.{c} - e.{c}) <= 1e-9 * greatest(abs(r.{c}), abs(e.{c})) + 1e-12, false)")
        else:
            bad = f"r.{c} IS DISTINCT FROM e.{c}"
        q = f"SELECT {', '.join(f'r.{k}' for k in keys) or '0'}, r.{c}, e.{c} FROM {j} WHERE e.__e AND r.__r AND "
        try:
            rows = con.execute(q + bad).fetchall()
        except duckdb.Error:  # incomparable types (e.g. a string vs a number): compare their text
            rows = con.execute(q + f"r.{c}::VARCHAR IS DISTINCT FROM e.{c}::VARCHAR").fetchall()
        if rows:
            problems.append(f"{c}: {len(rows)} rows differ")
            for row in rows[:3]:
                problems.append(f"  {dict(zip(keys, row[:len(keys)]))}: reference {row[-2]!r}, evergreen {row[-1]!r}")
    if ordered and not problems:
        kl = ", ".join(keys)
        want = [tuple(map(str, r)) for r in con.execute(f"SELECT {kl} FROM {ref} WHERE {where}").fetchall()]
        got = [tuple(map(str, r)) for r in con.execute(f"SELECT {kl} FROM {ev}").fetchall()]
        i = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), None)
        if i is not None:
            problems.append(f"rows in another order than the definition's: row {i} is {got[i]}, expected {want[i]}")
    n = con.execute(f"SELECT count(*) FROM {ref} WHERE {where}").fetchone()[0]
    print(f"{name}: {n} rows identical" if not problems else f"{name}: DIFFERENT\n    " + "\n    ".join(problems))
    return not problems


def connect(threads: int = 2):
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET TimeZone = 'UTC'")
    return con


def build(con, input_path: str, a) -> bool:
    """Run the trends SQL on `con`; True when the dump has a cost column."""
    src = source(input_path)
    select = select_list(con, src, getattr(a, "discount_col", None))
    has_cost = "AS cost" in select
    for s in trends_sql(src, select, a.as_of, a.trend_days, a.kpi_window_days, a.cohort_period,
                        a.thresholds, has_cost, a.money_decimals):
        con.execute(s)
    return has_cost


def check_tags(con, path: str) -> bool:
    """customer_tags: the same (customer_id, tag) rows, in (customer_id, tag) order."""
    ref = con.execute("SELECT customer_id, tag FROM tr_tags ORDER BY customer_id, tag").fetchall()
    got = con.execute(f"SELECT customer_id, tag FROM read_parquet('{path}')").fetchall()
    if ref == got:
        print(f"customer_tags: {len(got)} rows identical")
        return True
    diff = sorted(set(ref) ^ set(got))[:5]
    print(f"customer_tags: DIFFERENT ({len(ref)} reference rows, {len(got)} evergreen rows; first differences {diff};"
          f" order {'same' if sorted(got) == got else 'not (customer_id, tag)'})")
    return False


def check(a) -> bool:
    con = connect(a.threads)
    has_cost = build(con, a.input, a)
    o, d = a.out, a.money_decimals
    ok = compare(con, "customers", "tr_customers", f"{o}/customers.parquet", ["customer_id"],
                 TREND + (["profit", "profit_group"] if has_cost else [])
                 + (["discount", "discount_share"] if getattr(a, "discount_col", None) else [])
                 + ["avg_basket_items"], d=d)
    ok &= check_tags(con, f"{o}/customer_tags.parquet")
    ok &= compare(con, "lapsed_customers", "tr_customers", f"{o}/lapsed_customers.parquet", ["customer_id"],
                  TREND[:4] + ["spend_change_pct", "declining"], d=d, where=f"recency_days > {min(a.thresholds)}")
    ok &= compare(con, "cohorts", "tr_cohorts", f"{o}/cohorts.parquet", ["cohort", "period_index"],
                  ["period_start", "cohort_customers", "active_customers", "retention", "revenue",
                   "revenue_per_customer"], ordered=True, d=d)
    kcols = [r[0] for r in con.execute("DESCRIBE tr_kpis").fetchall()]
    ok &= compare(con, "kpis", "tr_kpis", f"{o}/kpis.parquet", [], kcols, d=d)
    if has_cost:
        pcols = [r[0] for r in con.execute("DESCRIBE tr_profit_deciles").fetchall()]
        ok &= compare(con, "profit_deciles", "tr_profit_deciles", f"{o}/profit_deciles.parquet", ["decile"],
                      pcols[1:], ordered=True, d=d)
    return ok


def snapshot_as_of(folder: str) -> str:
    """A snapshot's as_of: its kpis table's, else its manifest's."""
    if os.path.exists(f"{folder}/kpis.parquet"):
        return str(duckdb.connect().execute(f"SELECT as_of::DATE FROM read_parquet('{folder}/kpis.parquet')").fetchone()[0])
    return json.load(open(f"{folder}/_manifest.json"))["as_of"]


def check_migration(a) -> bool:
    con = connect(a.threads)
    fa, fb = (f"read_parquet('{x}/customers.parquet')" for x in (a.compare_from, a.compare_to))
    for s in migration_sql(fa, fb, snapshot_as_of(a.compare_from), snapshot_as_of(a.compare_to), a.money_decimals):
        con.execute(s)
    ok = True
    for t in ("segment", "decile"):
        ok &= compare(con, f"{t}_migration", f"tr_{t}_migration", f"{a.migration_out}/{t}_migration.parquet",
                      [f"from_{t}", f"to_{t}"], ["customers", "revenue_before", "revenue_after", "from_as_of",
                                                 "to_as_of"], ordered=True, d=a.money_decimals)
    return ok


# ---------------------------------------------------------------------------------------------- selftest

SELFTEST_LINES = """
  (1,    1,  '2024-01-10 10:00:00+00', 100.00, 'P1', 95),   -- A's first purchase (January cohort)
  (NULL, 1,  '2024-01-10 10:05:00+00',   5.00, 'P2', NULL), -- a guest line inside A's order
  (1,    13, '2024-04-10 12:00:00+00',  25.00, 'P1', 24),
  (1,    2,  '2024-05-20 09:00:00+00',  40.00, 'P3', 38),   -- A in the kpi window
  (1,    3,  '2024-05-25 09:00:00+00', -15.00, 'P3', -14),  -- A's return (an order with net < 0)
  (2,    4,  '2024-01-20 18:00:00+00',  30.00, 'P1', 10),   -- B (January cohort) ...
  (2,    5,  '2024-05-28 23:30:00-05:00', 20.00, 'P2', 5),  -- ... lapsed 130 days, reactivated (UTC date May 29)
  (3,    7,  '2024-02-10 08:00:00+00', -10.00, 'P4', NULL), -- C's return before C's first purchase
  (3,    6,  '2024-03-05 08:00:00+00',  80.00, 'P4', 50),   -- C's first purchase (March cohort)
  (3,    11, '2024-03-20 10:00:00+00',  10.00, 'P5', NULL), -- C's order cancelled by its own return (net 0)
  (3,    11, '2024-03-20 10:01:00+00', -10.00, 'P5', NULL),
  (3,    8,  '2024-04-01 10:00:00+00',  50.00, 'P1', 20),   -- order 8 names C and D: rejected
  (4,    8,  '2024-04-01 10:00:00+00',  25.00, 'P2', 10),
  (NULL, 9,  '2024-05-30 10:00:00+00',  12.50, 'P2', NULL), -- a guest order
  (4,    10, '2024-05-31 23:30:00-02:00', 70.00, 'P1', 30), -- future: 2024-06-01 01:30 UTC >= as_of
  (1,    12, NULL,                        9.99, 'P1', 1)    -- rejected: null timestamp
"""


def selftest() -> bool:
    with tempfile.TemporaryDirectory(prefix="trends-selftest-") as work:
        return _selftest(work)


# Worked out by hand from the definitions (customer: recent_orders, recent_spend, prior_orders, prior_spend,
# spend_change_pct, declining, profit_group; kpis; January cohort's active customers by month).
EXPECTED = {
    "customers": [(1, 2, 50.0, 1, 100.0, -50.0, True, "declining"), (2, 1, 20.0, 1, 30.0, -100 / 3, False, "top"),
                  (3, 1, 80.0, 0, -10.0, None, False, "next")],
    "kpis": dict(customers=3, revenue=287.5, orders=7, revenue_per_customer=90.0, guest_revenue=17.5, returns=35.0,
                 lapsed_30=1, lapsed_90=0, window_active=2, window_new=0, window_reactivated=1, window_revenue=57.5,
                 window_orders=3, window_returns=15.0, window_revenue_per_customer=22.5),
    "january": [2, 0, 0, 1, 2],
}


def _selftest(work: str) -> bool:
    import pandas as pd
    pd.set_option("display.width", 250, "display.max_columns", 30)
    show = lambda title, c, q: print(f"\n{title}:\n" + c.execute(q).df().to_string(index=False))  # noqa: E731
    con = connect()
    con.execute(f"""COPY (SELECT c::BIGINT AS customer_id, o::BIGINT AS order_id, t::TIMESTAMPTZ AS ts,
                                 a::DOUBLE AS amount, p AS product_id, k::DOUBLE AS cost
                          FROM (VALUES {SELFTEST_LINES}) v(c, o, t, a, p, k)) TO '{work}/dump.parquet' (FORMAT parquet)""")
    a = argparse.Namespace(as_of="2024-06-01", trend_days=90, kpi_window_days=30, cohort_period="month",
                           thresholds=[30, 60, 90, 120], money_decimals=2, threads=2, input=f"{work}/dump.parquet")
    build(con, a.input, a)
    print("dump: as_of 2024-06-01, customers A=1 B=2 C=3 (D=4 only in a rejected and a future order)")
    show("customers (trend, profit)", con, f"SELECT customer_id, frequency, monetary, recency_days, {', '.join(TREND)}, "
         "profit, profit_decile, profit_group FROM tr_customers ORDER BY customer_id")
    show("cohorts (month)", con, "SELECT * FROM tr_cohorts")
    print("\nkpis:\n" + con.execute("SELECT * REPLACE (as_of::VARCHAR AS as_of) FROM tr_kpis").df().T.to_string(header=False))
    show("profit_deciles", con, "SELECT * FROM tr_profit_deciles")
    wk = connect()
    build(wk, a.input, argparse.Namespace(**{**vars(a), "cohort_period": "week"}))
    show("cohorts (week; rows with activity or revenue only)", wk,
         "SELECT * FROM tr_cohorts WHERE active_customers > 0 OR revenue <> 0")
    show("cohorts (week) in all", wk, "SELECT count(*) AS rows, count(DISTINCT cohort) AS cohorts FROM tr_cohorts")
    for name, rows in (("snap_a", "(1, 'Champions', 100.0, 1), (2, 'Loyal', 50.0, 2), (3, 'Lost', 10.0, 3)"),
                       ("snap_b", "(1, 'Champions', 150.0, 1), (3, 'At Risk', 70.0, 2), (5, 'New Customers', 20.0, 3)")):
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES {rows}) "
                    "v(customer_id, segment, monetary, monetary_decile)")
    for s in migration_sql("snap_a", "snap_b", "2024-03-01", "2024-06-01"):
        con.execute(s)
    for t in ("segment", "decile"):
        show(f"{t}_migration (hand-made snapshots)", con, f"SELECT * FROM tr_{t}_migration")
    got = con.execute("SELECT customer_id, recent_orders, recent_spend, prior_orders, prior_spend, spend_change_pct, "
                      "declining, profit_group FROM tr_customers ORDER BY 1").fetchall()
    kp = con.execute("SELECT * FROM tr_kpis").df().iloc[0]
    close = lambda x, y: x == y or (isinstance(x, float) and y is not None and abs(x - y) < 1e-9)  # noqa: E731
    sums = len(got) == 3 and all(close(x, y) for r, e in zip(got, EXPECTED["customers"]) for x, y in zip(r, e))
    sums &= all(kp[k] == v for k, v in EXPECTED["kpis"].items())
    sums &= [r[0] for r in con.execute("SELECT active_customers FROM tr_cohorts WHERE cohort = DATE '2024-01-01'")
             .fetchall()] == EXPECTED["january"]
    print(f"\nhand-computed values: {'match' if sums else 'DIFFER'}")
    # The checker against a folder made from the reference itself: identical, then one value changed.
    out = f"{work}/out"
    os.makedirs(out)
    for t in ("customers", "cohorts", "kpis", "profit_deciles"):
        con.execute(f"COPY tr_{t} TO '{out}/{t}.parquet' (FORMAT parquet)")
    con.execute(f"COPY (SELECT * FROM tr_customers WHERE recency_days > 30) TO '{out}/lapsed_customers.parquet' "
                "(FORMAT parquet)")
    print("\nchecker on the reference's own tables:")
    ok = check(argparse.Namespace(**{**vars(a), "out": out}))
    con.execute(f"COPY (SELECT * REPLACE (CASE WHEN period_index = 3 THEN revenue + 0.01 ELSE revenue END AS revenue) "
                f"FROM tr_cohorts) TO '{out}/cohorts.parquet' (FORMAT parquet)")
    print("\nchecker with one cohort revenue off by a cent (must report it):")
    caught = not check(argparse.Namespace(**{**vars(a), "out": out}))
    print(f"\nselftest: {'OK' if sums and ok and caught else 'FAILED'}")
    return sums and ok and caught


def generate_cost_dump(path: str, lines: str) -> None:
    """bench/scale.py's generated dump (shuffled), plus a cost column: 55 % of the amount plus a
    few cents by order, so profits differ between customers."""
    import tempfile

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from scale import dump_for, size

    with tempfile.TemporaryDirectory() as work:
        src = dump_for(work, size(lines), "shuffled")
        duckdb.sql(f"COPY (SELECT *, round(amount * 0.55 + (order_id % 7) * 0.01, 2) AS cost FROM '{src}') "
                   f"TO '{path}' (FORMAT parquet)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", help="Parquet file, glob or folder of the dump")
    ap.add_argument("--out", help="evergreen output folder to check")
    ap.add_argument("--as-of", help="YYYY-MM-DD (default: the day after the latest valid line's UTC date)")
    ap.add_argument("--trend-days", type=int, default=90)
    ap.add_argument("--kpi-window-days", type=int, default=30)
    ap.add_argument("--cohort-period", choices=["month", "week"], default="month")
    ap.add_argument("--lapse-thresholds", default="30,60,90,120")
    ap.add_argument("--money-decimals", type=int, default=2)
    ap.add_argument("--compare-from", help="earlier evergreen output folder (customers.parquet)")
    ap.add_argument("--compare-to", help="later evergreen output folder")
    ap.add_argument("--migration-out", help="folder with evergreen's segment_migration / decile_migration")
    ap.add_argument("--selftest", action="store_true", help="run on a hand-made dump and print the tables")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--generate-cost-dump", metavar="FILE",
                    help="write bench/scale.py's shuffled dump of --lines lines with a cost column to FILE, and stop")
    ap.add_argument("--lines", default="1M")
    ap.add_argument("--discount-col", help="the dump's discount column (as evergreen's --discount-col)")
    a = ap.parse_args()
    if a.generate_cost_dump:
        generate_cost_dump(a.generate_cost_dump, a.lines)
        return 0
    a.thresholds = sorted({int(t) for t in a.lapse_thresholds.split(",") if t.strip()})
    if a.selftest:
        return 0 if selftest() else 1
    if a.compare_from or a.compare_to or a.migration_out:
        if not (a.compare_from and a.compare_to and a.migration_out):
            ap.error("--compare-from, --compare-to and --migration-out go together")
        return 0 if check_migration(a) else 1
    if not (a.input and a.out):
        ap.error("--input and --out are required (or --compare-from/--compare-to/--migration-out, or --selftest)")
    return 0 if check(a) else 1


if __name__ == "__main__":
    sys.exit(main())
