-- Step 19 (with the trend columns, cohorts and kpis): each customer's kept orders by UTC day (an
-- order's day is its earliest line's): purchase orders, and the customer's lines' amounts (limbs:
-- exact; returns included, guest lines of their orders not). Days are floored, so a timestamp
-- before 1970 falls on its own day. evergreen keeps the customers with a purchase order.
SELECT
  customer_id,
  CASE WHEN ordered_at >= 0 THEN ordered_at div 86400000000
       ELSE -((86399999999 - ordered_at) div 86400000000) END AS day,
  COUNT_IF(purchase) AS purchase_orders,
  SUM(lines) AS lines,
  ${sum_limbs(customer_amount, amount)}
FROM orders
WHERE NOT conflict AND customer_id IS NOT NULL
GROUP BY 1, 2
