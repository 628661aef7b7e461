-- customer_tags: one row per (customer, tag), a customer may have several. Each rule below is one
-- SELECT; to add a tag, copy this file into your --queries folder and add a UNION ALL branch (a
-- file of the same name replaces this one). ${bins}, ${min_lapse_days} and ${kpi_window_days} are
-- the run's --bins, smallest --lapse-thresholds value and --kpi-window-days.
--
-- Tags are snake_case words, ready for filters and joins.
--
--   one_timer           exactly one purchase order
--   frequent            the top frequency score (f_score = ${bins})
--   high_aov            avg_order_value among the top 10 % of customers (rank by avg_order_value,
--                       highest first, ties share a rank: rank <= customers / 10)
--   big_basket          avg_basket_items (distinct products per purchase order) among the top 10 %,
--                       ranked the same way (needs a product column)
--   lapsing_high_value  monetary_decile 1 or 2 and no purchase for more than ${min_lapse_days} days
--   new                 first purchase within the last ${kpi_window_days} days (tenure_days <= ${kpi_window_days})
--   declining           the trend's declining flag (see the README, "Trend columns")
--   deal_seeker         at least a quarter of what they would have paid at list price was discounted
--                       (discount_share >= 0.25; needs --discount-col or --list-price-col)
WITH ranked AS (
  SELECT customer_id, RANK() OVER (ORDER BY avg_order_value DESC) AS aov_rank, COUNT(*) OVER () AS customers
  FROM customers
),
baskets AS (
  SELECT customer_id, RANK() OVER (ORDER BY avg_basket_items DESC) AS basket_rank, COUNT(*) OVER () AS customers
  FROM customers
  WHERE avg_basket_items IS NOT NULL
),
tags AS (
  SELECT customer_id, 'one_timer' AS tag FROM customers WHERE frequency = 1
  UNION ALL
  SELECT customer_id, 'frequent' AS tag FROM customers WHERE f_score = ${bins}
  UNION ALL
  SELECT customer_id, 'high_aov' AS tag FROM ranked WHERE aov_rank * 10 <= customers
  UNION ALL
  SELECT customer_id, 'big_basket' AS tag FROM baskets WHERE basket_rank * 10 <= customers
  UNION ALL
  SELECT customer_id, 'lapsing_high_value' AS tag FROM customers WHERE monetary_decile <= 2 AND recency_days > ${min_lapse_days}
  UNION ALL
  SELECT customer_id, 'new' AS tag FROM customers WHERE tenure_days <= ${kpi_window_days}
  UNION ALL
  SELECT customer_id, 'declining' AS tag FROM customers WHERE declining
  UNION ALL
  SELECT customer_id, 'deal_seeker' AS tag FROM customers WHERE discount_share >= 0.25
)
SELECT customer_id, tag FROM tags ORDER BY customer_id, tag
