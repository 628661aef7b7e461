"""An independent implementation of the SPEC's customer tables in DuckDB SQL.

Used by bench/bench.py both as the speed baseline and as the correctness check: evergreen's
tables must equal these on the same file. Written from the table contract (the rules in docs/
as written there), not from evergreen's code.
"""
import duckdb

DEFAULT_SELECT = "customer_id, order_id, ts::TIMESTAMP AS ts, amount::DOUBLE AS amount, product_id"


def purchase_rule(zero_net_purchase: bool) -> str:
    """An order's net (rounded) against zero: a purchase when positive, or, with
    `--zero-net-orders purchase`, when not negative (docs/input.md, cleaning rule 5)."""
    return ">= 0" if zero_net_purchase else "> 0"


def reference_sql(src: str, out_dir: str, as_of: str | None = None, bins: int = 5, select: str = DEFAULT_SELECT,
                  money_decimals: int = 2, zero_net_purchase: bool = False) -> list[str]:
    """SQL statements that write customers / score_bins / monetary_deciles / purchase_deciles as Parquet."""
    d = money_decimals
    rule = purchase_rule(zero_net_purchase)
    as_of_sql = f"DATE '{as_of}'" if as_of else "(SELECT max(ts)::DATE + 1 FROM valid)"
    score = lambda key: f"1 + floor({bins} * (rank() OVER (ORDER BY {key}) - 1) / count(*) OVER ())::BIGINT"
    return [
        f"CREATE OR REPLACE TEMP TABLE lines AS SELECT {select} FROM read_parquet({src})",
        "CREATE OR REPLACE TEMP TABLE valid AS SELECT * FROM lines WHERE order_id IS NOT NULL AND ts IS NOT NULL "
        "AND amount IS NOT NULL AND isfinite(amount)",
        f"CREATE OR REPLACE TEMP TABLE params AS SELECT {as_of_sql} AS as_of",
        "CREATE OR REPLACE TEMP TABLE cur AS SELECT * FROM valid WHERE ts < (SELECT as_of FROM params)",
        f"""CREATE OR REPLACE TEMP TABLE ord AS
            SELECT order_id, min(customer_id) AS customer_id,
                   round(sum(amount), {d}) {rule} AS is_purchase,
                   sum(amount) FILTER (WHERE customer_id IS NOT NULL) AS cust_amount,
                   min(ts) AS ordered_at
            FROM cur GROUP BY order_id
            HAVING min(customer_id) IS NULL OR min(customer_id) = max(customer_id)""",
        # The customer's purchase orders and the positive lines of those orders (the order's customer).
        f"""CREATE OR REPLACE TEMP TABLE fav AS
            SELECT customer_id, product_id AS favourite_product FROM (
              SELECT o.customer_id, l.product_id, count(DISTINCT l.order_id) AS n
              FROM cur l JOIN ord o ON l.order_id = o.order_id
              WHERE o.is_purchase AND l.amount > 0 AND o.customer_id IS NOT NULL AND l.product_id IS NOT NULL
              GROUP BY ALL)
            QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, product_id) = 1""",
        f"""CREATE OR REPLACE TEMP TABLE rfm AS
            SELECT customer_id,
                   min(ordered_at) FILTER (WHERE is_purchase) AS first_purchase_at,
                   max(ordered_at) FILTER (WHERE is_purchase) AS last_purchase_at,
                   count(*) FILTER (WHERE is_purchase) AS frequency,
                   round(sum(cust_amount), {d}) AS monetary
            FROM ord WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING count(*) FILTER (WHERE is_purchase) > 0""",
        f"""CREATE OR REPLACE TEMP TABLE customers AS
            WITH base AS (
              SELECT r.*, (SELECT as_of FROM params) - last_purchase_at::DATE AS recency_days,
                     (SELECT as_of FROM params) - first_purchase_at::DATE AS tenure_days,
                     round(monetary * {10 ** d})::BIGINT AS minor
              FROM rfm r),
            ordered AS (
              SELECT *, row_number() OVER (ORDER BY monetary DESC, customer_id) - 1 AS p,
                     coalesce(sum(minor) OVER (ORDER BY monetary DESC, customer_id
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cum_before,
                     sum(minor) OVER () AS total, count(*) OVER () AS n
              FROM base)
            SELECT o.customer_id, first_purchase_at, last_purchase_at, recency_days, tenure_days, frequency, monetary,
                   sign(monetary) * ((abs(round(monetary * {10 ** d}))::BIGINT * 2 + frequency) // (2 * frequency))
                     / {10 ** d} AS avg_order_value,
                   {score('-recency_days')} AS r_score, {score('frequency')} AS f_score, {score('monetary')} AS m_score,
                   CASE WHEN recency_days <= 30 THEN '0-30' WHEN recency_days <= 60 THEN '31-60'
                        WHEN recency_days <= 90 THEN '61-90' WHEN recency_days <= 120 THEN '91-120' ELSE '121+' END AS lapse_bucket,
                   CASE WHEN recency_days <= 30 THEN 1 WHEN recency_days <= 60 THEN 2 WHEN recency_days <= 90 THEN 3
                        WHEN recency_days <= 120 THEN 4 ELSE 5 END AS lapse_bucket_order,
                   1 + (10 * p) // n AS monetary_decile,
                   CASE WHEN total > 0 THEN least(greatest(1 + (10 * cum_before) // total, 1), 10) ELSE 1 END AS purchase_decile,
                   f.favourite_product,
                   CASE WHEN frequency > 1 THEN epoch_us(last_purchase_at - first_purchase_at) / 86400e6 / (frequency - 1) END
                     AS avg_days_between_orders
            FROM ordered o LEFT JOIN fav f ON o.customer_id = f.customer_id""",
        f"COPY (SELECT * FROM customers ORDER BY monetary DESC, customer_id) TO '{out_dir}/customers.parquet' (FORMAT parquet)",
        f"""COPY (
              SELECT dimension, score, min_value, max_value, customers FROM (
                SELECT 'recency_days' AS dimension, 0 AS k, r_score AS score, min(recency_days)::DOUBLE AS min_value,
                       max(recency_days)::DOUBLE AS max_value, count(*) AS customers FROM customers GROUP BY r_score
                UNION ALL SELECT 'frequency', 1, f_score, min(frequency), max(frequency), count(*) FROM customers GROUP BY f_score
                UNION ALL SELECT 'monetary', 2, m_score, min(monetary), max(monetary), count(*) FROM customers GROUP BY m_score)
              ORDER BY k, score) TO '{out_dir}/score_bins.parquet' (FORMAT parquet)""",
        f"""COPY (
              WITH g AS (SELECT monetary_decile AS decile, count(*) AS customers, round(sum(monetary), {d}) AS revenue,
                                sum(frequency) AS orders, min(monetary) AS min_monetary, max(monetary) AS max_monetary
                         FROM customers GROUP BY 1)
              SELECT *, revenue / sum(revenue) OVER () AS revenue_share,
                     sum(revenue) OVER (ORDER BY decile) / sum(revenue) OVER () AS cumulative_revenue_share
              FROM g ORDER BY decile) TO '{out_dir}/monetary_deciles.parquet' (FORMAT parquet)""",
        f"""COPY (
              WITH g AS (SELECT purchase_decile AS decile, count(*) AS customers, round(sum(monetary), {d}) AS revenue,
                                min(monetary) AS min_monetary, max(monetary) AS max_monetary FROM customers GROUP BY 1)
              SELECT decile, customers, customers / sum(customers) OVER () AS customer_share, revenue,
                     revenue / sum(revenue) OVER () AS revenue_share, min_monetary, max_monetary
              FROM g ORDER BY decile) TO '{out_dir}/purchase_deciles.parquet' (FORMAT parquet)""",
    ]


def basket_sql(src: str, out_dir: str, select: str, min_pair_orders: int = 2, money_decimals: int = 2,
               has_amount: bool = True, has_ts: bool = False, zero_net_purchase: bool = False) -> list[str]:
    """products and basket_pairs by a self-join (the usual SQL way), written as Parquet.
    `select` must yield order_id, product_id and (optionally) customer_id, amount, ts. The cleaning
    rules apply as for the customer tables: null order / timestamp / amount lines are rejected,
    future lines (ts >= the day after the latest line) excluded."""
    d = money_decimals
    amount = "amount" if has_amount else "1.0::DOUBLE AS amount"
    valid = "order_id IS NOT NULL" + (" AND ts IS NOT NULL" if has_ts else "") + \
        (" AND amount IS NOT NULL AND isfinite(amount)" if has_amount else "")
    return [
        f"CREATE OR REPLACE TEMP TABLE bl AS SELECT {select} FROM read_parquet({src})",
        f"CREATE OR REPLACE TEMP TABLE bl2 AS SELECT order_id, product_id, customer_id, {amount} FROM bl "
        f"WHERE {valid}",
        "CREATE OR REPLACE TEMP TABLE bo AS SELECT order_id FROM bl2 GROUP BY order_id "
        f"HAVING (min(customer_id) IS NULL OR min(customer_id) = max(customer_id)) AND round(sum(amount), {d}) "
        f"{purchase_rule(zero_net_purchase)}",
        "CREATE OR REPLACE TEMP TABLE btot AS SELECT count(*) AS total FROM bo",
        "CREATE OR REPLACE TEMP TABLE bpos AS SELECT l.* FROM bl2 l SEMI JOIN bo ON l.order_id = bo.order_id "
        "WHERE l.amount > 0 AND l.product_id IS NOT NULL",
        # customers: the distinct known customers of the orders holding the product.
        "CREATE OR REPLACE TEMP TABLE bocust AS SELECT order_id, min(customer_id) AS order_customer FROM bl2 "
        "GROUP BY order_id",
        f"""COPY (SELECT product_id, count(DISTINCT p.order_id) AS orders,
                         count(DISTINCT p.order_id) / (SELECT total FROM btot) AS support,
                         count(DISTINCT c.order_customer) AS customers, round(sum(amount), {d}) AS revenue
                  FROM bpos p JOIN bocust c ON p.order_id = c.order_id
                  GROUP BY product_id ORDER BY orders DESC, product_id)
            TO '{out_dir}/products.parquet' (FORMAT parquet)""",
        "CREATE OR REPLACE TEMP TABLE bitems AS SELECT DISTINCT order_id, product_id FROM bpos",
        "CREATE OR REPLACE TEMP TABLE bcount AS SELECT product_id, count(*) AS n FROM bitems GROUP BY product_id",
        f"""COPY (
              WITH p AS (SELECT a.product_id AS product_a, b.product_id AS product_b, count(*) AS pair_orders
                         FROM bitems a JOIN bitems b ON a.order_id = b.order_id AND a.product_id < b.product_id
                         GROUP BY ALL HAVING count(*) >= {min_pair_orders})
              SELECT product_a, product_b, pair_orders, pair_orders / t.total AS support,
                     pair_orders / ca.n AS confidence_a_to_b, pair_orders / cb.n AS confidence_b_to_a,
                     pair_orders * t.total / (ca.n * cb.n) AS lift
              FROM p JOIN bcount ca ON ca.product_id = product_a JOIN bcount cb ON cb.product_id = product_b, btot t
              ORDER BY pair_orders DESC, product_a, product_b)
            TO '{out_dir}/basket_pairs.parquet' (FORMAT parquet)""",
        # top_pairs (issue 15): each product's partners among the pairs above with at least 5
        # purchase orders, by lift, then pair_orders, then partner; the first 5.
        f"""COPY (
              WITH bp AS (SELECT * FROM read_parquet('{out_dir}/basket_pairs.parquet') WHERE pair_orders >= 5),
              d AS (SELECT product_a AS product_id, product_b AS partner_id, pair_orders, support,
                           confidence_a_to_b AS confidence, lift FROM bp
                    UNION ALL
                    SELECT product_b, product_a, pair_orders, support, confidence_b_to_a, lift FROM bp)
              SELECT * FROM (
                SELECT product_id, row_number() OVER (PARTITION BY product_id
                         ORDER BY lift DESC, pair_orders DESC, partner_id) AS rank,
                       partner_id, pair_orders, support, confidence, lift FROM d)
              WHERE rank <= 5)
            TO '{out_dir}/top_pairs.parquet' (FORMAT parquet)""",
    ]


def execute(statements: list[str], threads: int) -> None:
    """Run the statements in order on a fresh DuckDB connection with `threads` threads."""
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    for stmt in statements:
        con.execute(stmt)
    con.close()


def run_basket_reference(src_list_sql: str, out_dir: str, threads: int = 2, **kw) -> None:
    execute(basket_sql(src_list_sql, out_dir, **kw), threads)


BASKET_KEYS = {"products": ["product_id"], "basket_pairs": ["product_a", "product_b"],
               "top_pairs": ["product_id", "rank"]}


def run_reference(src_list_sql: str, out_dir: str, threads: int = 2, **kw) -> None:
    execute(reference_sql(src_list_sql, out_dir, **kw), threads)


TABLE_KEYS = {
    "customers": ["customer_id"],
    "score_bins": ["dimension", "score"],
    "monetary_deciles": ["decile"],
    "purchase_deciles": ["decile"],
}


def compare(ours: str, ref: str, tables=TABLE_KEYS, tol: float = 1e-9) -> list[str]:
    """Differences between two output folders, table by table, column by column (empty = equal)."""
    con = duckdb.connect()
    problems = []
    for t, keys in tables.items():
        a = con.execute(f"SELECT * FROM read_parquet('{ours}/{t}.parquet')").fetch_df()
        b = con.execute(f"SELECT * FROM read_parquet('{ref}/{t}.parquet')").fetch_df()
        if len(a) != len(b):
            problems.append(f"{t}: {len(a)} rows vs {len(b)} in the reference")
            continue
        a = a.sort_values(keys).reset_index(drop=True)
        b = b.sort_values(keys).reset_index(drop=True)
        for c in b.columns:
            if c not in a.columns:
                problems.append(f"{t}: column {c} missing")
                continue
            x, y = a[c], b[c]
            if x.dtype.kind in "fi" and y.dtype.kind in "fi":
                diff = ((x.astype(float) - y.astype(float)).abs() > tol * (1 + y.astype(float).abs()))
                diff &= ~(x.isna() & y.isna())
                diff |= (x.isna() != y.isna())
            else:
                diff = ~((x.astype(str) == y.astype(str)) | (x.isna() & y.isna()))
            n = int(diff.sum())
            if n:
                i = diff.idxmax()
                problems.append(f"{t}.{c}: {n} rows differ, e.g. keys {a.loc[i, keys].tolist()}: {x[i]!r} vs {y[i]!r}")
    return problems
