-- Step 22 (with --customer-attr): per customer, each attribute's value on their latest kept line
-- that has one; ties at the same instant go to the smallest value (the smallest (-ts, value)).
-- The runner writes one `MIN(...)` per attribute into ${attr_picks}.
SELECT l.customer_id ${attr_picks}
FROM checked_lines l JOIN orders o ON l.order_id = o.order_id
WHERE l.rejected IS NULL AND ${before_as_of} AND NOT o.conflict AND l.customer_id IS NOT NULL
GROUP BY l.customer_id
