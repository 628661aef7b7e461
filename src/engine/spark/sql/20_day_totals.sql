-- Step 20 (with kpis): per UTC day, what the kept orders dated that day add up to, guests
-- included: orders, purchase orders, every line's amount (net), the guest lines' amounts
-- (the order's amount minus its customer's lines) and the lines below zero (returns), all as
-- exact limbs. Lines count on their order's day. Every sum is over the orders (step 4 carries
-- each order's returns), so the lines are not read again.
SELECT
  CASE WHEN ordered_at >= 0 THEN ordered_at div 86400000000
       ELSE -((86399999999 - ordered_at) div 86400000000) END AS day,
  COUNT(*) AS orders,
  COUNT_IF(purchase) AS purchase_orders,
  SUM(lines) AS lines,
  SUM(amount_3) AS net_3, SUM(amount_2) AS net_2, SUM(amount_1) AS net_1, SUM(amount_0) AS net_0,
  SUM(amount_3 - COALESCE(customer_amount_3, 0)) AS guest_3,
  SUM(amount_2 - COALESCE(customer_amount_2, 0)) AS guest_2,
  SUM(amount_1 - COALESCE(customer_amount_1, 0)) AS guest_1,
  SUM(amount_0 - COALESCE(customer_amount_0, 0)) AS guest_0,
  SUM(COALESCE(returns_3, 0)) AS returns_3, SUM(COALESCE(returns_2, 0)) AS returns_2,
  SUM(COALESCE(returns_1, 0)) AS returns_1, SUM(COALESCE(returns_0, 0)) AS returns_0
FROM orders
WHERE NOT conflict
GROUP BY 1
