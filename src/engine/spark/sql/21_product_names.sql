-- Step 21 (with --product-name-col): each product's name, the one on most of its kept lines
-- (docs/input.md "Names and attributes"); ties go to the smallest name. Lines without a name do not vote.
-- Kept lines: not rejected, before the as-of date, in an order not rejected for naming two customers.
SELECT product_id, name
FROM (
  SELECT product_id, name, ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY votes DESC, name ASC) AS pick
  FROM (
    SELECT l.product_id, l.product_name AS name, COUNT(*) AS votes
    FROM checked_lines l JOIN orders o ON l.order_id = o.order_id
    WHERE l.rejected IS NULL AND ${before_as_of} AND NOT o.conflict
      AND l.product_id IS NOT NULL AND l.product_name IS NOT NULL
    GROUP BY l.product_id, l.product_name
  )
)
WHERE pick = 1
