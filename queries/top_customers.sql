-- top_customers: the customers who make the top 20% of revenue, i.e. whose spend begins in the
-- first two tenths of total revenue (purchase_decile 1 or 2), with their share of revenue and the
-- running share, most valuable first. Money sums are rounded to money_decimals so that the shares
-- never depend on the order of floating-point additions.
WITH totals AS (SELECT ROUND(SUM(monetary), ${money_decimals}) AS all_revenue FROM customers)
SELECT
  c.customer_id,
  c.monetary,
  c.frequency,
  c.segment,
  c.purchase_decile,
  -- Shares are 0 when refunds cancel all revenue (never NaN).
  CASE WHEN t.all_revenue = 0 THEN 0.0 ELSE c.monetary / t.all_revenue END AS revenue_share,
  CASE WHEN t.all_revenue = 0 THEN 0.0
    ELSE ROUND(SUM(c.monetary) OVER (ORDER BY -c.monetary, c.customer_id), ${money_decimals}) / t.all_revenue END
    AS cumulative_revenue_share
FROM customers c CROSS JOIN totals t
WHERE c.purchase_decile <= 2
ORDER BY c.monetary DESC, c.customer_id
