-- Step 6 (one row): what the order rules did, for the manifest.
SELECT
  COUNT_IF(NOT conflict) AS orders,
  COUNT_IF(purchase) AS purchase_orders,
  COUNT_IF(conflict) AS orders_rejected_conflict,
  COALESCE(SUM(CASE WHEN conflict THEN lines END), 0) AS conflict_lines,
  COALESCE(SUM(CASE WHEN NOT conflict THEN guest_lines END), 0) AS guest_lines,
  COALESCE(SUM(lines), 0) - COALESCE(SUM(CASE WHEN conflict THEN lines END), 0) AS lines_used
FROM orders
