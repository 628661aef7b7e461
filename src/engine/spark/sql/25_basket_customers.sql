-- Step 25 (with --product-hierarchy): the customers who bought any basket item.
SELECT COUNT(DISTINCT customer_id) AS customers FROM basket_items WHERE customer_id IS NOT NULL
