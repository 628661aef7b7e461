-- Step 5 (one row, read by evergreen): what the order rules did, for the manifest, and the
-- money-range rule's exact sums of |amount| and |cost| over the current lines (a DECIMAL(38,0)
-- that overflows to null counts as too large).
SELECT
  COUNT_IF(NOT conflict) AS orders,
  COUNT_IF(purchase) AS purchase_orders,
  COUNT_IF(conflict) AS orders_rejected_conflict,
  COALESCE(SUM(CASE WHEN conflict THEN lines END), 0) AS conflict_lines,
  COALESCE(SUM(CASE WHEN NOT conflict THEN guest_lines END), 0) AS guest_lines,
  COALESCE(SUM(lines), 0) - COALESCE(SUM(CASE WHEN conflict THEN lines END), 0) AS lines_used,
  COALESCE(MAX(lines), 0) AS max_order_lines,
  CAST(SUM(${exact(abs_amount)}) AS STRING) AS abs_amount_fx,
  COALESCE(BOOL_OR(amount_too_large), FALSE) AS amount_too_large,
  SUM(abs_amount_shown) AS abs_amount_shown,
  CAST(SUM(${exact(abs_cost)}) AS STRING) AS abs_cost_fx,
  COALESCE(BOOL_OR(cost_too_large), FALSE) AS cost_too_large,
  COALESCE(SUM(abs_cost_shown), 0D) AS abs_cost_shown,
  CAST(SUM(${exact(abs_discount)}) AS STRING) AS abs_discount_fx,
  COALESCE(BOOL_OR(discount_too_large), FALSE) AS discount_too_large,
  COALESCE(SUM(abs_discount_shown), 0D) AS abs_discount_shown
FROM orders
