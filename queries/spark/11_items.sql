-- Step 11 (written to the staging folder, one row per item in some basket): purchase orders and
-- distinct known customers holding the item, and the exact sums of quantity and amount over its lines.
SELECT c.item, c.orders, c.customers, s.quantity_fx, s.revenue_fx
FROM (
  SELECT item, COUNT(*) AS orders, COUNT(DISTINCT customer_id) AS customers
  FROM basket_items
  GROUP BY item
) c
JOIN (
  SELECT ${basket_item} AS item, SUM(quantity_fx) AS quantity_fx, SUM(amount_fx) AS revenue_fx
  FROM purchase_lines
  WHERE ${basket_item} IS NOT NULL
  GROUP BY ${basket_item}
) s ON c.item = s.item
