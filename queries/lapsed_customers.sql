-- lapsed_customers: customers whose last purchase is more than the smallest lapse threshold
-- (default 30 days) before as_of, most valuable first: the win-back list. The trend columns (last
-- ${trend_days} days vs the ${trend_days} before) show who was already slipping.
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
  declining
FROM customers
WHERE recency_days > ${min_lapse_days}
ORDER BY monetary DESC, customer_id
