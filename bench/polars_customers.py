#!/usr/bin/env python3
"""The peer a data engineer would write instead of evergreen for RFM and deciles: a plain lazy
Python Polars script (issue 29's "20-line Polars script"), timed by bench/bench.py beside evergreen.

Per customer: orders, net spend, first and last order, recency; R, F and M scores in 5 rank bins;
monetary and purchase deciles with each decile's revenue share. Orders with a net amount > 0 are
purchases; guest lines (no customer) are left out. Written to OUT as Parquet.

Usage: python3 bench/polars_customers.py DUMP.parquet OUT_DIR [--engine streaming|in-memory]
Needs: pip install polars
"""
import os
import sys

import polars as pl


def main() -> None:
    dump, out = sys.argv[1], sys.argv[2]
    engine = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--engine" else "streaming"
    lines = pl.scan_parquet(dump).select("customer_id", "order_id", "ts", "amount")
    as_of = lines.select(pl.col("ts").max().dt.date() + pl.duration(days=1)).collect().item()
    orders = (lines.filter(pl.col("customer_id").is_not_null())
              .group_by("order_id").agg(pl.col("customer_id").first(), pl.col("ts").min(), pl.col("amount").sum())
              .filter(pl.col("amount") > 0))
    customers = (orders.group_by("customer_id")
                 .agg(frequency=pl.len(), monetary=pl.col("amount").sum().round(2),
                      first_purchase_at=pl.col("ts").min(), last_purchase_at=pl.col("ts").max())
                 .with_columns(recency_days=(pl.lit(as_of).cast(pl.Datetime("us")) - pl.col("last_purchase_at")).dt.total_days()))
    n = pl.len()
    score = lambda e: ((e.rank("ordinal") - 1) * 5 // n + 1).cast(pl.Int8)  # noqa: E731
    customers = customers.with_columns(
        r_score=score(-pl.col("recency_days")), f_score=score(pl.col("frequency")), m_score=score(pl.col("monetary")),
        monetary_decile=((pl.col("monetary").rank("ordinal", descending=True) - 1) * 10 // n + 1).cast(pl.Int8),
        purchase_decile=((pl.col("frequency").rank("ordinal", descending=True) - 1) * 10 // n + 1).cast(pl.Int8))
    customers = customers.collect(engine=engine)
    deciles = (customers.lazy().group_by("monetary_decile").agg(customers=pl.len(), revenue=pl.col("monetary").sum())
               .with_columns(revenue_share=pl.col("revenue") / pl.col("revenue").sum()).sort("monetary_decile"))
    os.makedirs(out, exist_ok=True)
    customers.write_parquet(os.path.join(out, "customers.parquet"))
    deciles.collect().write_parquet(os.path.join(out, "monetary_deciles.parquet"))


if __name__ == "__main__":
    main()
