-- Step 6 (written to the staging folder, one row per customer with a purchase order): the
-- customer facts every customer table is computed from. monetary and profit (as limbs) are over all
-- the customer's lines in kept orders (returns included); first/last purchase over purchase orders.
SELECT
  customer_id,
  COUNT_IF(purchase) AS frequency,
  SUM(lines) AS lines,
  ${sum_limbs(customer_amount, monetary)},
  ${sum_limbs(profit)},
  ${sum_limbs(discount)},
  MIN(CASE WHEN purchase THEN ordered_at END) AS first_purchase,
  MAX(CASE WHEN purchase THEN ordered_at END) AS last_purchase
FROM orders
WHERE NOT conflict AND customer_id IS NOT NULL
GROUP BY customer_id
HAVING COUNT_IF(purchase) > 0
