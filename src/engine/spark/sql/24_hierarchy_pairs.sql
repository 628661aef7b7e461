-- Step 24 (with --product-hierarchy N): the customers who bought each of the N basket items in
-- the most purchase orders (ties: the smaller item), and each pair of them (item_a <= item_b;
-- item_a = item_b: the item's own customers). A customer bought an item when it is in the basket
-- (a positive line) of one of their purchase orders.
WITH ranked AS (
  SELECT item FROM (SELECT item, COUNT(*) AS orders FROM basket_items GROUP BY item)
  ORDER BY orders DESC, item ASC
  LIMIT ${hierarchy_products}
),
bought AS (
  SELECT DISTINCT b.customer_id, b.item
  FROM basket_items b JOIN ranked r ON b.item = r.item
  WHERE b.customer_id IS NOT NULL
)
SELECT x.item AS item_a, y.item AS item_b, COUNT(*) AS customers
FROM bought x JOIN bought y ON x.customer_id = y.customer_id AND x.item <= y.item
GROUP BY x.item, y.item
