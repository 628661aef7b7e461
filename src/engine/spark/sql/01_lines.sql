-- evergreen on Spark, step 1: the dump's lines in canonical columns, each with the first
-- cleaning rule that rejects it (docs/input.md "Cleaning rules").
--
-- The runner fills ${...} from the config and the dump's schema, with the local engines' mapping:
-- ids become BIGINT (integer and whole-float columns) or STRING (a blank string is no id), the
-- timestamp becomes microseconds since the epoch (naive values read as UTC), the amount is a column
-- or the config's expression as DOUBLE (1.0 per line without one), cost and quantity DOUBLE.
-- `--where` is evaluated on the dump's own columns first: a line it does not keep is 'filtered'
-- (counted apart, not a rejection); `--exclude-items` ids read as no product or item. The product
-- name and the customer attributes (`__attr_0`...) ride along for steps 21 and 22, the line's
-- product group (`--group`: the first whose predicate holds, 1..; 0 for none) for step 23.
SELECT
  *,
  CASE
    WHEN NOT coalesce(where_kept, FALSE) THEN 'filtered'
    WHEN order_id IS NULL THEN 'null_order'
    WHEN ${has_timestamp} AND ts IS NULL THEN 'null_timestamp'
    WHEN amount IS NULL THEN 'null_amount'
    WHEN isnan(amount) OR abs(amount) = double('Infinity') THEN 'non_finite_amount'
  END AS rejected
FROM (
  SELECT
    ${customer_id} AS customer_id,
    ${order_id} AS order_id,
    ${ts} AS ts,
    CAST(${amount} AS DOUBLE) AS amount,
    ${product_id} AS product_id,
    ${item} AS item,
    ${cost} AS cost,
    ${quantity} AS quantity,
    ${discount} AS discount,
    CAST(${where_kept} AS BOOLEAN) AS where_kept,
    ${product_name} AS product_name,
    ${line_group} AS line_group
    ${attrs}
  FROM ${dump}
)
