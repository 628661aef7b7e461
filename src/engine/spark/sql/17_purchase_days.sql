-- Step 17 (joined to the customer facts; only when the CLV models are fitted): each customer's
-- purchase days, the UTC calendar days of their purchase orders (several orders on one day are one
-- purchase day). It gives the number of purchase days, the days between the last two, and the
-- purchase-order amounts of the days after the first and of the first (limbs: exact). Days are floored, so a
-- timestamp before 1970 falls on its own day.
WITH days AS (
  SELECT
    customer_id,
    CASE WHEN ordered_at >= 0 THEN ordered_at div 86400000000
         ELSE -((86399999999 - ordered_at) div 86400000000) END AS day,
    ${sum_limbs(customer_amount, value)}
  FROM orders
  WHERE purchase AND customer_id IS NOT NULL
  GROUP BY 1, 2
),
ends AS (
  SELECT customer_id, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) AS purchase_days
  FROM days
  GROUP BY customer_id
)
SELECT
  e.customer_id,
  e.purchase_days,
  e.last_day - MAX(CASE WHEN d.day < e.last_day THEN d.day END) AS last_gap_days,
  SUM(CASE WHEN d.day > e.first_day THEN d.value_3 ELSE 0 END) AS repeat_value_3,
  SUM(CASE WHEN d.day > e.first_day THEN d.value_2 ELSE 0 END) AS repeat_value_2,
  SUM(CASE WHEN d.day > e.first_day THEN d.value_1 ELSE 0 END) AS repeat_value_1,
  SUM(CASE WHEN d.day > e.first_day THEN d.value_0 ELSE 0 END) AS repeat_value_0,
  SUM(CASE WHEN d.day = e.first_day THEN d.value_3 ELSE 0 END) AS first_value_3,
  SUM(CASE WHEN d.day = e.first_day THEN d.value_2 ELSE 0 END) AS first_value_2,
  SUM(CASE WHEN d.day = e.first_day THEN d.value_1 ELSE 0 END) AS first_value_1,
  SUM(CASE WHEN d.day = e.first_day THEN d.value_0 ELSE 0 END) AS first_value_0
FROM days d
JOIN ends e ON d.customer_id = e.customer_id
GROUP BY e.customer_id, e.purchase_days, e.first_day, e.last_day
