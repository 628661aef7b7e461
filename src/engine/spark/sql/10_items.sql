-- Step 10 (written to the staging folder, one row per item in some basket): purchase orders and
-- distinct known customers holding the item, and the exact sums (limbs) of quantity and amount
-- over its lines.
SELECT c.item, c.orders, c.customers, s.lines,
       s.quantity_3, s.quantity_2, s.quantity_1, s.quantity_0,
       s.revenue_3, s.revenue_2, s.revenue_1, s.revenue_0
FROM (
  SELECT item, COUNT(*) AS orders, COUNT(DISTINCT customer_id) AS customers
  FROM basket_items
  GROUP BY item
) c
JOIN (
  SELECT ${basket_item} AS item, COUNT(*) AS lines, ${sum_limbs(quantity)}, ${sum_limbs(amount, revenue)}
  FROM purchase_lines
  WHERE ${basket_item} IS NOT NULL
  GROUP BY ${basket_item}
) s ON c.item = s.item
