-- Step 9: baskets, the distinct items (${basket_item}) of every purchase order's positive lines.
SELECT DISTINCT order_id, customer_id, ${basket_item} AS item
FROM purchase_lines
WHERE ${basket_item} IS NOT NULL
