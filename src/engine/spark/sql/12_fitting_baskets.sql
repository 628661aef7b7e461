-- Step 12: the baskets that fit --max-basket-items (all of them when it is not set).
SELECT order_id, item
FROM (SELECT order_id, item, COUNT(*) OVER (PARTITION BY order_id) AS items FROM basket_items)
WHERE ${basket_fits}
