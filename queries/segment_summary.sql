-- segment_summary: one row per segment, largest revenue first.
-- customer_share and revenue_share are fractions of all customers / all revenue;
-- avg_order_value = revenue / orders (purchase orders); avg_monetary = revenue / customers, both
-- rounded like money (in exact cents, halves away from zero; ${money_scale} = 10^money_decimals). Money sums are rounded to money_decimals, so no share depends on the order of
-- additions. segment_order, description and suggested_action come from segment_descriptions.
WITH totals AS (
  SELECT COUNT(*) AS all_customers, ROUND(SUM(monetary), ${money_decimals}) AS all_revenue FROM customers
),
per_segment AS (
  SELECT
    segment,
    COUNT(*) AS customers,
    SUM(frequency) AS orders,
    ROUND(SUM(monetary), ${money_decimals}) AS revenue,
    AVG(recency_days) AS avg_recency_days,
    AVG(frequency) AS avg_frequency
  FROM customers
  GROUP BY segment
)
SELECT
  s.segment,
  d.segment_order,
  s.customers,
  CAST(s.customers AS DOUBLE) / t.all_customers AS customer_share,
  s.orders,
  s.revenue,
  -- 0 when refunds cancel all revenue (a share is never NaN).
  CASE WHEN t.all_revenue = 0 THEN 0.0 ELSE s.revenue / t.all_revenue END AS revenue_share,
  -- Money averages in exact minor units (cents), halves away from zero: 71.55 over 2 orders is 35.78.
  SIGN(s.revenue) * FLOOR((ABS(ROUND(s.revenue * ${money_scale})) * 2 + s.orders) / (2 * s.orders)) / ${money_scale}
    AS avg_order_value,
  s.avg_recency_days,
  s.avg_frequency,
  SIGN(s.revenue) * FLOOR((ABS(ROUND(s.revenue * ${money_scale})) * 2 + s.customers) / (2 * s.customers)) / ${money_scale}
    AS avg_monetary,
  d.description,
  d.suggested_action
FROM per_segment s CROSS JOIN totals t LEFT JOIN segment_descriptions d ON s.segment = d.segment
ORDER BY s.revenue DESC, s.segment
