#!/usr/bin/env python3
"""gain_loss, cross_shop and revenue_tree (issue 34) by openretailscience itself, independent of
evergreen, compared with the tables evergreen wrote.

The lines are chosen in DuckDB SQL written from the README's rules (not evergreen's code): lines
with an order id, a timestamp and a finite amount, before the as-of date (given, or the day after
the latest line); an order naming two customers is left out whole; a line without a customer
(a guest line) does not count. An order's day is the UTC date of its earliest line, and the order
is in a period when its day is. A line is in the first --group whose predicate (DuckDB SQL over
the dump's columns) is true.

Then openretailscience (pip install openretailscience; made with 0.48.1) computes:

* GainLoss with the focus group (the first --group) against each other group, then against every
  line outside the focus group, value = the customer's spend rounded to the money decimals (as
  evergreen rounds each customer's spend before splitting it);
* CrossShop over the group column (2 or 3 groups), value = spend (and customers by nunique);
* RevenueTree with period a/b, over every line and per group (group_col), units = quantity.

Usage: python3 bench/switching_reference.py --input DUMP --out EVERGREEN_OUT --group 'a=SQL' ...
       [--period-a FROM..TO --period-b FROM..TO] [--as-of D] [--money-decimals 2]
       [--customer-col C --order-col O --ts-col T --amount EXPR --quantity-col Q]
Exits 1 naming the first value that differs (relative 1e-9, or 1e-6 absolute).
"""
import argparse
import math
import sys
import warnings

import duckdb
import pandas as pd

warnings.filterwarnings("ignore")

from openretailscience.analysis.cross_shop import CrossShop  # noqa: E402
from openretailscience.analysis.gain_loss import GainLoss  # noqa: E402
from openretailscience.analysis.revenue_tree import RevenueTree  # noqa: E402


def lines(dump, groups, periods, as_of, roles):
    con = duckdb.connect()
    r = roles
    # Without a quantity column evergreen's units are the lines: 1 a line.
    names = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{dump}')").fetchall()]
    qty = f"CAST({r.quantity_col} AS DOUBLE)" if r.quantity_col in names else "1.0"
    con.execute(f"""CREATE VIEW dump AS SELECT *, {r.customer_col} AS customer_id_, {r.order_col} AS order_id_,
        CAST({r.ts_col} AS TIMESTAMP) AS ts_, CAST({r.amount} AS DOUBLE) AS amount_,
        {qty} AS quantity_ FROM read_parquet('{dump}')""")
    cut = f"DATE '{as_of}'" if as_of else "(SELECT CAST(max(ts_) AS DATE) + 1 FROM dump)"
    case = " ".join(f"WHEN coalesce(({p}), false) THEN {i + 1}" for i, (_, p) in enumerate(groups))
    case = f"CASE {case} ELSE 0 END" if groups else "0"
    period = "NULL"
    if periods:
        (a0, a1), (b0, b1) = periods
        period = (f"CASE WHEN o.day BETWEEN DATE '{a0}' AND DATE '{a1}' THEN 'a' "
                  f"WHEN o.day BETWEEN DATE '{b0}' AND DATE '{b1}' THEN 'b' END")
    sql = f"""
    WITH valid AS (
      SELECT *, {case} AS line_group FROM dump
      WHERE order_id_ IS NOT NULL AND ts_ IS NOT NULL AND amount_ IS NOT NULL AND isfinite(amount_)
        AND ts_ < {cut}
    ), o AS (
      SELECT order_id_, CAST(min(ts_) AS DATE) AS day,
             count(DISTINCT customer_id_) > 1 AS conflict
      FROM valid GROUP BY order_id_
    )
    SELECT v.customer_id_ AS customer_id, v.order_id_ AS transaction_id, v.amount_ AS unit_spend,
           coalesce(v.quantity_, 0) AS unit_quantity, v.line_group, {period} AS period
    FROM valid v JOIN o USING (order_id_)
    WHERE NOT o.conflict AND v.customer_id_ IS NOT NULL
    """
    return con.execute(sql).df()


class Check:
    def __init__(self):
        self.n = 0

    def eq(self, what, ours, theirs):
        self.n += 1
        if ours is None or (isinstance(ours, float) and math.isnan(ours)):
            ok = theirs is None or (isinstance(theirs, float) and (math.isnan(theirs) or math.isinf(theirs)))
        else:
            ok = theirs is not None and not math.isnan(float(theirs)) and (
                abs(float(ours) - float(theirs)) <= max(1e-6, 1e-9 * abs(float(theirs))))
        if not ok:
            print(f"MISMATCH {what}: evergreen {ours!r}, openretailscience {theirs!r}")
            sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--group", action="append", default=[])
    ap.add_argument("--period-a")
    ap.add_argument("--period-b")
    ap.add_argument("--as-of")
    ap.add_argument("--money-decimals", type=int, default=2)
    ap.add_argument("--customer-col", default="customer_id")
    ap.add_argument("--order-col", default="order_id")
    ap.add_argument("--ts-col", default="ts")
    ap.add_argument("--amount", default="amount", help="a column or a DuckDB expression")
    ap.add_argument("--quantity-col", default="quantity")
    a = ap.parse_args()
    groups = [tuple(g.split("=", 1)) for g in a.group]
    periods = None
    if a.period_a:
        periods = (tuple(a.period_a.split("..")), tuple(a.period_b.split("..")))
    df = lines(a.input, groups, periods, a.as_of, a)
    check = Check()
    d = a.money_decimals

    if periods and groups:
        ours = pd.read_parquet(f"{a.out}/gain_loss.parquet")
        # Each customer's spend per period and group, rounded (evergreen's rule "money in minor units").
        comparisons = [(g[0], df.line_group == i + 1) for i, g in enumerate(groups) if i > 0]
        comparisons.append((None, df.line_group != 1))
        for row, (name, mask) in enumerate(comparisons):
            focus = df.line_group == 1
            sub = df[(focus | mask) & df.period.notna()].copy()
            sub["side"] = (sub.line_group == 1).map({True: "f", False: "c"})
            per = sub.groupby(["customer_id", "period", "side"]).unit_spend.sum().round(d).reset_index()
            gl = GainLoss(per, p1_index=per.period == "a", p2_index=per.period == "b",
                          focus_group_index=per.side == "f", focus_group_name=groups[0][0],
                          comparison_group_index=per.side == "c", comparison_group_name=str(name),
                          value_col="unit_spend")
            t = gl.gain_loss_table_df.iloc[0]
            o = ours.iloc[row]
            assert o.comparison_group == name or (o.comparison_group is None and name is None), (o.comparison_group, name)
            for ours_col, theirs_col in [("new", "new"), ("lost", "lost"), ("increased", "increased_focus"),
                                         ("decreased", "decreased_focus"),
                                         ("switched_from_comparison", "switch_from_comparison"),
                                         ("switched_to_comparison", "switch_to_comparison"),
                                         ("focus_a", "focus_p1"), ("focus_b", "focus_p2"), ("focus_change", "focus_diff")]:
                check.eq(f"gain_loss[{name}].{ours_col}", float(o[ours_col]), float(t[theirs_col]))
            cust = gl.gain_loss_df
            for ours_col, theirs_col in [("new_customers", "new"), ("lost_customers", "lost"),
                                         ("increased_customers", "increased_focus"),
                                         ("decreased_customers", "decreased_focus"),
                                         ("switched_from_customers", "switch_from_comparison"),
                                         ("switched_to_customers", "switch_to_comparison")]:
                check.eq(f"gain_loss[{name}].{ours_col}", int(o[ours_col]), int((cust[theirs_col].round(d) != 0).sum()))

    if len(groups) >= 2:
        ours = pd.read_parquet(f"{a.out}/cross_shop.parquet")
        kw = dict(group_1_col="line_group", group_1_val=1, group_2_val=2)
        if len(groups) == 3:
            kw.update(group_3_col="line_group", group_3_val=3)
        spend = CrossShop(df, value_col="unit_spend", **kw).cross_shop_table_df
        df2 = df.assign(cust=df.customer_id)
        count = CrossShop(df2, value_col="cust", agg_func="nunique", **kw).cross_shop_table_df
        k = len(groups)
        assert len(spend) == len(ours), (len(spend), len(ours))
        for i in range(len(ours)):
            o = ours.iloc[i]
            flags = tuple(int(o[f"group_{j + 1}"]) for j in range(k))
            s = spend[spend.groups.map(tuple) == flags].iloc[0]
            c = count[count.groups.map(tuple) == flags].iloc[0]
            check.eq(f"cross_shop{flags}.amount", float(o.amount), round(float(s.unit_spend), d))
            check.eq(f"cross_shop{flags}.amount_share", float(o.amount_share), float(s.percent))
            check.eq(f"cross_shop{flags}.customers", int(o.customers), int(c.cust))

    if periods:
        ours = pd.read_parquet(f"{a.out}/revenue_tree.parquet")
        sub = df[df.period.notna()]
        sub = sub.assign(unit_spend=sub.unit_spend)
        trees = [(None, RevenueTree(sub, period_col="period", p1_value="a", p2_value="b").df.iloc[0])]
        by_group = RevenueTree(sub, period_col="period", p1_value="a", p2_value="b", group_col="line_group").df
        for i, (name, _) in enumerate(groups):
            if i + 1 in list(by_group.index):
                trees.append((name, by_group.loc[i + 1]))
        names = {"revenue": "spend", "customers": "customers", "revenue_per_customer": "spend_per_customer",
                 "orders_per_customer": "transactions_per_customer", "revenue_per_order": "spend_per_transaction",
                 "units_per_order": "units_per_transaction", "price_per_unit": "price_per_unit",
                 "orders": "transactions", "units": "units"}
        for name, t in trees:
            rows = ours[ours.group.isna()] if name is None else ours[ours.group == name]
            for _, o in rows.iterrows():
                theirs = names[o.kpi]
                # Revenue is rounded to the money decimals first in evergreen (its ratios come from
                # the rounded sums): compare ratios at 1e-6 relative.
                for side, suffix in [("period_a", "p1"), ("period_b", "p2")]:
                    want = float(t[f"{theirs}_{suffix}"])
                    if o.kpi == "revenue":
                        want = round(want, d)
                    got = float(o[side])
                    if abs(got - want) > max(1e-6, 1e-6 * abs(want)):
                        print(f"MISMATCH revenue_tree[{name}].{o.kpi}.{side}: evergreen {got}, openretailscience {want}")
                        sys.exit(1)
                    check.n += 1
                contrib = f"{theirs}_contrib"
                if contrib in t.index and o.contribution is not None and not pd.isna(o.contribution):
                    want, got = float(t[contrib]), float(o.contribution)
                    if abs(got - want) > max(1e-4, 1e-6 * abs(want)):
                        print(f"MISMATCH revenue_tree[{name}].{o.kpi}.contribution: evergreen {got}, openretailscience {want}")
                        sys.exit(1)
                    check.n += 1
    print(f"switching reference: {check.n} values agree with openretailscience")


if __name__ == "__main__":
    main()
