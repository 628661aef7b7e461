#!/usr/bin/env python3
"""Issue 29, point 6: what the Spark engine costs against the Spark job a data engineer would write.

The peer is a plain Spark SQL script, written from the README's rules (docs/tables.md), that
computes what most users want from evergreen on a cluster:

  * the customer table: orders, net spend, first and last purchase, recency, R/F/M scores in 5
    rank bins, monetary and purchase deciles (purchases: orders whose net amount is > 0; guest
    lines left out);
  * the monetary deciles with each decile's revenue share;
  * basket pairs: for every two products bought in the same purchase order, the number of such
    orders, kept at >= --min-pair-orders (evergreen's default, 2), with support, confidence and lift.

It does not do what makes evergreen's tables exact and complete (money summed exactly as integers,
corrections and duplicates, the other 20-odd tables), so it is a floor, not an equal. Both run on the
same dump on local[2] in the same run; printed: median wall seconds and evergreen / peer.

Usage: python3 bench/spark_peer.py --dump DUMP.parquet --bin target/release/evergreen [--repeat 1]
       spark-submit bench/spark_peer.py --script DUMP OUT     (the peer alone)
Needs: pip install pyspark (Java 17).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PEER_SQL = {
    "orders": """
        SELECT order_id, first(customer_id) AS customer_id, min(ts) AS ts, sum(amount) AS amount
        FROM lines WHERE customer_id IS NOT NULL GROUP BY order_id HAVING sum(amount) > 0""",
    "customers_base": """
        SELECT customer_id, count(*) AS frequency, round(sum(amount), 2) AS monetary,
               min(ts) AS first_purchase_at, max(ts) AS last_purchase_at,
               datediff((SELECT date_add(to_date(max(ts)), 1) FROM lines), to_date(max(ts))) AS recency_days
        FROM orders GROUP BY customer_id""",
    "customers": """
        SELECT *,
          CAST(floor((row_number() OVER (ORDER BY recency_days DESC, customer_id) - 1) * 5 / n) + 1 AS TINYINT) AS r_score,
          CAST(floor((row_number() OVER (ORDER BY frequency, customer_id) - 1) * 5 / n) + 1 AS TINYINT) AS f_score,
          CAST(floor((row_number() OVER (ORDER BY monetary, customer_id) - 1) * 5 / n) + 1 AS TINYINT) AS m_score,
          CAST(floor((row_number() OVER (ORDER BY monetary DESC, customer_id) - 1) * 10 / n) + 1 AS TINYINT) AS monetary_decile,
          CAST(floor((row_number() OVER (ORDER BY frequency DESC, customer_id) - 1) * 10 / n) + 1 AS TINYINT) AS purchase_decile
        FROM customers_base CROSS JOIN (SELECT count(*) AS n FROM customers_base)""",
    "deciles": """
        SELECT monetary_decile, count(*) AS customers, sum(monetary) AS revenue,
               sum(monetary) / sum(sum(monetary)) OVER () AS revenue_share
        FROM customers GROUP BY monetary_decile ORDER BY monetary_decile""",
    "purchase_items": """
        SELECT DISTINCT l.order_id, l.product_id FROM lines l
        JOIN (SELECT order_id FROM lines GROUP BY order_id HAVING sum(amount) > 0) p ON l.order_id = p.order_id
        WHERE l.product_id IS NOT NULL""",
    "item_orders": "SELECT product_id, count(*) AS orders FROM purchase_items GROUP BY product_id",
    "pairs": """
        SELECT a.product_id AS product_a, b.product_id AS product_b, count(*) AS pair_orders
        FROM purchase_items a JOIN purchase_items b ON a.order_id = b.order_id AND a.product_id < b.product_id
        GROUP BY a.product_id, b.product_id HAVING count(*) >= {min_pair_orders}""",
    "basket_pairs": """
        SELECT p.product_a, p.product_b, p.pair_orders, p.pair_orders / t.total AS support,
               p.pair_orders / ia.orders AS confidence_a_to_b, p.pair_orders / ib.orders AS confidence_b_to_a,
               p.pair_orders * t.total / (ia.orders * ib.orders) AS lift
        FROM pairs p JOIN item_orders ia ON p.product_a = ia.product_id
        JOIN item_orders ib ON p.product_b = ib.product_id
        CROSS JOIN (SELECT count(DISTINCT order_id) AS total FROM purchase_items) t""",
}


def peer(dump, out, min_pair_orders=2):
    """The plain Spark SQL job: every step a view, three tables written as Parquet."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("evergreen-peer").getOrCreate()
    spark.read.parquet(dump).createOrReplaceTempView("lines")
    for name, sql in PEER_SQL.items():
        spark.sql(sql.format(min_pair_orders=min_pair_orders)).createOrReplaceTempView(name)
    for name in ("customers", "deciles", "basket_pairs"):
        spark.table(name).write.mode("overwrite").parquet(os.path.join(out, name))
    spark.stop()


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--script":
        peer(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--work", default=tempfile.gettempdir())
    a = ap.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    out = tempfile.mkdtemp(prefix="evergreen-spark-peer-", dir=a.work)
    conf = ["--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=4g"]
    try:
        peer_s, ours_s, core_s = [], [], []
        for _ in range(a.repeat):
            peer_s.append(timed(["spark-submit", "--master", "local[2]", *conf, os.path.abspath(__file__),
                                 "--script", os.path.abspath(a.dump), os.path.join(out, "peer")]))
            ours_s.append(timed([a.bin, "run", "--input", a.dump, "--out", os.path.join(out, "all"),
                                 "--engine", "spark", "--spark-master", "local[2]"]))
            core_s.append(timed([a.bin, "run", "--input", a.dump, "--out", os.path.join(out, "core"),
                                 "--engine", "spark", "--spark-master", "local[2]",
                                 "--tables", "customers,monetary_deciles,basket_pairs"]))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    p, o, c = (statistics.median(x) for x in (peer_s, ours_s, core_s))
    print(f"plain Spark SQL script (customers, deciles, pairs)   {p:8.1f} s")
    print(f"evergreen --engine spark, all tables                 {o:8.1f} s   {o / p:.2f}x the script")
    print(f"evergreen --engine spark, --tables (the same three)  {c:8.1f} s   {c / p:.2f}x the script (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
