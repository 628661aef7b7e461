-- Step 14: the fitting baskets holding only kept items, and of those the baskets left with two
-- items or more: what the pair count reads.
SELECT order_id, item
FROM (
  SELECT f.order_id, f.item, COUNT(*) OVER (PARTITION BY f.order_id) AS kept_items
  FROM fitting_baskets f LEFT SEMI JOIN kept_items k ON f.item = k.item
)
WHERE kept_items >= 2
