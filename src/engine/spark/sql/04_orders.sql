-- Step 4: one row per order. Its customer is the one its lines name; lines naming two customers
-- reject the order (order_customer_conflict). Its net is the exact sum of its lines; it is a
-- purchase order when it is kept and its net, rounded half away from zero to the money decimals,
-- is positive (with --zero-net-orders purchase: not negative): round(x, d) > 0 exactly when
-- x * 10^d >= 0.5, and round(x, d) >= 0 exactly when x * 10^d > -0.5, x being the net as the nearest
-- double (${exact(name)} is the limbs' value as DECIMAL(38,0)). ordered_at is its earliest line;
-- returns_* is the sum of its lines below zero (null without one), for the day totals.
SELECT
  *,
  NOT conflict AND CAST(${exact(amount)} AS DOUBLE) / 1180591620717411303424D * ${money_scale} ${purchase_rule} AS purchase
FROM (
  SELECT
    order_id,
    COUNT(*) AS lines,
    MIN(ts) AS ordered_at,
    COALESCE(MIN(customer_id) <> MAX(customer_id), FALSE) AS conflict,
    MIN(customer_id) AS customer_id,
    COUNT_IF(customer_id IS NULL) AS guest_lines,
    ${sum_limbs(amount)},
    ${sum_limbs(customer_amount)},
    ${sum_limbs(profit)},
    ${sum_limbs(discount)},
    ${sum_limbs(ret, returns)},
    ${sum_limbs(abs_amount)},
    ${sum_limbs(abs_cost)},
    ${sum_limbs(abs_discount)},
    BOOL_OR(amount_too_large) AS amount_too_large,
    BOOL_OR(cost_too_large) AS cost_too_large,
    BOOL_OR(discount_too_large) AS discount_too_large,
    SUM(abs(amount)) AS abs_amount_shown,
    SUM(abs(cost)) AS abs_cost_shown,
    SUM(abs(discount)) AS abs_discount_shown
  FROM current_lines
  GROUP BY order_id
)
