-- Step 18 (written to the staging folder; only with itemsets or sequences): one row per purchase
-- order and basket item, with the order's customer (null for guest orders) and its time (its
-- earliest line); a purchase order without a basket item has one row with a null item. evergreen
-- builds the baskets and the customers' timelines from these and mines itemsets and sequence pairs
-- with the same kernels as the local engines.
SELECT o.order_id, o.customer_id, o.ordered_at, b.item
FROM orders o
LEFT JOIN basket_items b ON o.order_id = b.order_id
WHERE o.purchase
