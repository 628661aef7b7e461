-- Step 5: one row per order. Its customer is the one its lines name; lines naming two customers
-- reject the order (order_customer_conflict). Its net is the exact sum of its lines; it is a
-- purchase order when it is kept and its net, rounded half away from zero to the money decimals,
-- is positive: round(x, d) > 0 exactly when x * 10^d >= 0.5 (x the net as the nearest double).
-- ordered_at is the order's earliest line.
SELECT
  *,
  NOT conflict AND CAST(net_fx AS DOUBLE) / 1180591620717411303424D * ${money_scale} >= 0.5D AS purchase
FROM (
  SELECT
    order_id,
    COUNT(*) AS lines,
    SUM(amount_fx) AS net_fx,
    MIN(ts) AS ordered_at,
    COALESCE(MIN(customer_id) <> MAX(customer_id), FALSE) AS conflict,
    MIN(customer_id) AS customer_id,
    COUNT_IF(customer_id IS NULL) AS guest_lines,
    SUM(CASE WHEN customer_id IS NOT NULL THEN amount_fx END) AS customer_amount_fx,
    SUM(profit_fx) AS customer_profit_fx
  FROM current_lines
  GROUP BY order_id
)
