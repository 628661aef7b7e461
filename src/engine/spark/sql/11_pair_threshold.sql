-- Step 11 (one row): the pair threshold in purchase orders: the larger of --min-pair-orders and
-- ceil(--min-support x purchase orders) (2 when neither is set, at least 1), and the baskets
-- pairing skips (more distinct items than --max-basket-items).
SELECT
  GREATEST(1, COALESCE(GREATEST(${min_pair_orders}, CEIL(${min_support} * purchase_orders - 1e-9D)), 2)) AS threshold,
  (SELECT COUNT(*) FROM (SELECT order_id, COUNT(*) AS items FROM basket_items GROUP BY order_id) WHERE NOT (${basket_fits})) AS baskets_skipped
FROM order_stats
