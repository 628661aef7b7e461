-- Step 20 (with kpis): per UTC day, what the kept orders dated that day add up to, guests
-- included: orders, purchase orders, every line's amount (net), the guest lines' amounts
-- (the order's amount minus its customer's lines) and the lines below zero (returns), all as
-- exact limbs. Lines count on their order's day.
WITH order_returns AS (
  SELECT order_id, ${sum_limbs(ret)}
  FROM (
    SELECT order_id, ${limbs(amount, ret)}
    FROM current_lines
    WHERE amount < 0D
  )
  GROUP BY order_id
)
SELECT
  CASE WHEN o.ordered_at >= 0 THEN o.ordered_at div 86400000000
       ELSE -((86399999999 - o.ordered_at) div 86400000000) END AS day,
  COUNT(*) AS orders,
  COUNT_IF(o.purchase) AS purchase_orders,
  SUM(o.lines) AS lines,
  SUM(o.amount_3) AS net_3, SUM(o.amount_2) AS net_2, SUM(o.amount_1) AS net_1, SUM(o.amount_0) AS net_0,
  SUM(o.amount_3 - COALESCE(o.customer_amount_3, 0)) AS guest_3,
  SUM(o.amount_2 - COALESCE(o.customer_amount_2, 0)) AS guest_2,
  SUM(o.amount_1 - COALESCE(o.customer_amount_1, 0)) AS guest_1,
  SUM(o.amount_0 - COALESCE(o.customer_amount_0, 0)) AS guest_0,
  SUM(COALESCE(r.ret_3, 0)) AS returns_3, SUM(COALESCE(r.ret_2, 0)) AS returns_2,
  SUM(COALESCE(r.ret_1, 0)) AS returns_1, SUM(COALESCE(r.ret_0, 0)) AS returns_0
FROM orders o
LEFT JOIN order_returns r ON o.order_id = r.order_id
WHERE NOT o.conflict
GROUP BY 1
