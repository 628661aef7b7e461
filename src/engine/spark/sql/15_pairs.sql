-- Step 15 (written to the staging folder): pairs of items a < b and the purchase orders holding
-- both, kept at ${threshold} orders or more.
SELECT a.item AS item_a, b.item AS item_b, COUNT(*) AS pair_orders
FROM pair_baskets a
JOIN pair_baskets b ON a.order_id = b.order_id AND a.item < b.item
GROUP BY a.item, b.item
HAVING COUNT(*) >= ${threshold}
