-- Step 8 (joined to the customer facts): the product on the positive lines of most of a customer's
-- purchase orders; ties go to the smallest product. MIN_BY over (-orders, product) picks it
-- within each customer's group (no sort, no window). basket_items adds up the distinct products of
-- each of the customer's purchase orders (the orders of every product).
SELECT customer_id, MIN_BY(product_id, named_struct('n', -orders, 'p', product_id)) AS favourite_product,
       SUM(orders) AS basket_items
FROM (
  SELECT customer_id, product_id, COUNT(*) AS orders
  FROM (
    SELECT DISTINCT order_id, customer_id, product_id
    FROM purchase_lines
    WHERE customer_id IS NOT NULL AND product_id IS NOT NULL
  )
  GROUP BY customer_id, product_id
)
GROUP BY customer_id
