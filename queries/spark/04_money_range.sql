-- Step 4 (one row): the exact sums of |amount| and |cost| (nulls as 0) that bound every money
-- sum; evergreen refuses the dump when one reaches 2^53 minor units. A value at or beyond 2^56 (or
-- a non-finite cost) is beyond any exact sum: flagged as too large.
SELECT
  SUM(${fx(abs(amount))}) AS abs_amount_fx,
  COALESCE(MAX(abs(amount)) >= 72057594037927936D, FALSE) AS amount_too_large,
  SUM(abs(amount)) AS abs_amount_shown,
  SUM(CASE WHEN cost IS NOT NULL AND abs(cost) < 72057594037927936D THEN ${fx(abs(cost))} ELSE 0BD END) AS abs_cost_fx,
  COUNT_IF(isnan(cost) OR abs(cost) >= 72057594037927936D) > 0 AS cost_too_large,
  COALESCE(SUM(abs(cost)), 0D) AS abs_cost_shown
FROM current_lines
