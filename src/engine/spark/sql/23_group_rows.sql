-- Step 23 (with --group): the group facts' rows, as src/engine/passes/groups.rs makes them. Each
-- kept order's lines that name a customer (guest lines do not count) are summed per product group
-- (line_group: 1.. for the first --group whose predicate holds, 0 for none) and over every line
-- (255); then per customer, window (0: every kept line; 1: period A; 2: period B, by the order's
-- UTC day, floored as in step 19) and group: the orders, the lines, and the exact sums of the
-- lines' amounts and quantities (limbs).
WITH order_groups AS (
  SELECT
    l.customer_id,
    o.ordered_at,
    CASE WHEN grouping(l.line_group) = 1 THEN 255 ELSE l.line_group END AS line_group,
    COUNT(*) AS lines,
    ${sum_limbs(l.amount, amount)},
    ${sum_limbs(l.quantity, units)}
  FROM current_lines l
  JOIN orders o ON l.order_id = o.order_id
  WHERE NOT o.conflict AND l.customer_id IS NOT NULL
  GROUP BY GROUPING SETS ((l.order_id, l.customer_id, o.ordered_at, l.line_group), (l.order_id, l.customer_id, o.ordered_at))
),
dated AS (
  SELECT *,
    CASE WHEN ordered_at >= 0 THEN ordered_at div 86400000000
         ELSE -((86399999999 - ordered_at) div 86400000000) END AS day
  FROM order_groups
)
SELECT
  customer_id,
  w.win,
  line_group,
  COUNT(*) AS orders,
  SUM(lines) AS lines,
  ${sum_limbs(amount)},
  ${sum_limbs(units)}
FROM dated
JOIN (SELECT explode(array(0, 1, 2)) AS win) w
  ON w.win = 0
  OR (w.win = 1 AND day BETWEEN ${a_from} AND ${a_to})
  OR (w.win = 2 AND day BETWEEN ${b_from} AND ${b_to})
GROUP BY customer_id, w.win, line_group
