-- Step 8: the positive lines of purchase orders (guest orders included), with the order's customer:
-- what baskets, favourites and item facts read.
SELECT l.order_id, o.customer_id, l.product_id, l.item, l.amount_fx, l.quantity_fx
FROM current_lines l
JOIN orders o ON l.order_id = o.order_id
WHERE o.purchase AND l.amount > 0
