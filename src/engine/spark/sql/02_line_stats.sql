-- Step 2 (one row, read by evergreen): lines read, lines --where filtered out, rejected lines per reason, the latest valid
-- line (the default as-of date is the day after it) and the valid lines on or after the as-of date.
SELECT
  COUNT(*) AS lines_read,
  COUNT_IF(rejected = 'filtered') AS filtered_lines,
  COUNT_IF(rejected = 'null_order') AS null_order,
  COUNT_IF(rejected = 'null_timestamp') AS null_timestamp,
  COUNT_IF(rejected = 'null_amount') AS null_amount,
  COUNT_IF(rejected = 'non_finite_amount') AS non_finite_amount,
  MAX(CASE WHEN rejected IS NULL THEN ts END) AS max_ts,
  COUNT_IF(rejected IS NULL AND NOT (${before_as_of})) AS future_lines
FROM checked_lines
