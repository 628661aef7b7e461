-- Step 3: the lines every rule after the line rules reads: valid, and before the as-of date.
-- Money is carried in fixed point: fx(x) is trunc(x * 2^70) as DECIMAL(38,0), built exactly from
-- three 42-bit parts of the double (README "Numbers"). Integer sums of it are exact and do not
-- depend on line order or partitioning; evergreen rounds each sum once.
SELECT
  customer_id, order_id, ts, amount, product_id, item, cost, quantity,
  ${fx(amount)} AS amount_fx,
  CASE WHEN customer_id IS NOT NULL AND cost IS NOT NULL THEN ${fx(amount - cost)} END AS profit_fx,
  CASE WHEN quantity IS NOT NULL THEN ${fx(quantity)} END AS quantity_fx
FROM checked_lines
WHERE rejected IS NULL AND ${before_as_of}
