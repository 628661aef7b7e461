-- Step 9 (joined to the customer facts): the product on the positive lines of most of a customer's
-- purchase orders; ties go to the smallest product. Ranked within each customer (a window
-- partitioned by customer spreads over the cluster).
SELECT customer_id, product_id AS favourite_product
FROM (
  SELECT
    customer_id,
    product_id,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY orders DESC, product_id ASC) AS pick
  FROM (
    SELECT customer_id, product_id, COUNT(DISTINCT order_id) AS orders
    FROM purchase_lines
    WHERE customer_id IS NOT NULL AND product_id IS NOT NULL
    GROUP BY customer_id, product_id
  )
)
WHERE pick = 1
