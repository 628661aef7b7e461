-- Step 3: the lines every rule after the line rules reads: valid, and before the as-of date.
--
-- Money is carried in fixed point, as the local engines add it up: a value x stands for the
-- integer trunc(x * 2^70), held in four BIGINT limbs of 32 bits (${limbs(x, name)} makes the
-- columns name_3 .. name_0, each exact in double arithmetic, all of x's sign). A group's limbs are
-- summed as BIGINTs (exact below 2^31 lines a group) and evergreen joins them into one 128-bit sum,
-- which it rounds once (docs/input.md "Numbers"): the same bits whatever the line order or partitioning.
-- A value at or beyond 2^56 gets null limbs; such dumps fail the money-range rule anyway.
SELECT
  customer_id, order_id, ts, amount, product_id, item, cost, quantity, discount, line_group,
  ${limbs(amount, amount)},
  ${limbs(CASE WHEN customer_id IS NOT NULL THEN amount END, customer_amount)},
  ${limbs(CASE WHEN customer_id IS NOT NULL THEN amount - cost END, profit)},
  ${limbs(CASE WHEN customer_id IS NOT NULL THEN discount END, discount)},
  ${limbs(quantity, quantity)},
  -- A return line's amount (a line below zero), summed per order for the day totals.
  ${limbs(CASE WHEN amount < 0D THEN amount END, ret)},
  -- The money-range rule's sums: |amount|, |cost| and |discount| (nulls as 0); a value beyond any exact sum
  -- (non-finite, or 2^56 and more) is flagged instead.
  ${limbs(abs(amount), abs_amount)},
  ${limbs(abs(COALESCE(cost, 0D)), abs_cost)},
  ${limbs(abs(discount), abs_discount)},
  abs(amount) >= 72057594037927936D AS amount_too_large,
  isnan(cost) OR abs(cost) >= 72057594037927936D AS cost_too_large,
  abs(discount) >= 72057594037927936D AS discount_too_large
FROM checked_lines
WHERE rejected IS NULL AND ${before_as_of}
