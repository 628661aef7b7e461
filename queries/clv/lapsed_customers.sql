-- lapsed_customers, when the run fits the CLV models (--clv): customers whose last purchase is
-- more than the smallest lapse threshold (default 30 days) before as_of, with their lifecycle
-- stage, P(alive), P(a purchase in the next 90 days) and CLV, highest expected value first: the win-back list, sorted by where the
-- money is. The trend columns (last ${trend_days} days vs the ${trend_days} before) show who was
-- already slipping. (Without --clv, queries/lapsed_customers.sql gives the list by monetary.)
SELECT
  customer_id,
  recency_days,
  lapse_bucket,
  lapse_bucket_order,
  frequency,
  monetary,
  segment,
  segment_order,
  last_purchase_at,
  recent_orders,
  recent_spend,
  prior_orders,
  prior_spend,
  spend_change_pct,
  declining,
  lifecycle_stage,
  p_alive,
  p_purchase_90,
  clv
FROM customers
WHERE recency_days > ${min_lapse_days}
ORDER BY clv DESC, customer_id
