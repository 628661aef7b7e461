-- Step 7: the positive lines of purchase orders (guest orders included), with the order's customer:
-- what baskets, favourites and item facts read.
SELECT l.order_id, o.customer_id, l.product_id, l.item,
       l.amount_3, l.amount_2, l.amount_1, l.amount_0,
       l.quantity_3, l.quantity_2, l.quantity_1, l.quantity_0
FROM current_lines l
JOIN orders o ON l.order_id = o.order_id
WHERE o.purchase AND l.amount > 0
