-- lifecycle_stage: where each customer stands in their life with you. Runs when the CLV models are
-- fitted (`run --clv`); evergreen writes its `lifecycle_stage` into the customers table. It reads
-- the clv table (p_alive and p_purchase_90 of the chosen model, the customer's own rhythm, recency). The first rule that matches wins.
-- ${min_lapse_days} and ${max_lapse_days} are the smallest and largest --lapse-thresholds
-- (default 30 and 120 days). To change a rule, copy this file into your --queries folder and edit it.
--
--   new          one purchase day only, and it was within the last ${min_lapse_days} days
--   reactivated  bought within the last ${min_lapse_days} days after a gap of more than ${max_lapse_days} days
--   lost         P(alive) below 0.1; or P(a purchase in the next 90 days) below 0.05 (where the
--                data cannot tell drop-out, P(alive) stays near 1 and this rule still speaks);
--                or one purchase day only, more than 3 x ${max_lapse_days} days ago
--   lapsed       P(alive) below 0.5; or more than 3 of their own usual gaps overdue (overdue_ratio > 3);
--                or one purchase day only, more than ${max_lapse_days} days ago
--   at risk      more than 1.5 of their usual gaps overdue; or one purchase day only, more than
--                ${min_lapse_days} days ago
--   active       everyone else
--
-- overdue_ratio = days since the last purchase / the customer's mean gap between purchase days
-- (null for one-day customers, for whom BG/NBD's P(alive) is always 1: recency decides for them).
SELECT
  customer_id,
  CASE
    WHEN repeat_purchases = 0 AND customer_age_days <= ${min_lapse_days} THEN 'new'
    WHEN last_gap_days > ${max_lapse_days} AND recency_days <= ${min_lapse_days} THEN 'reactivated'
    WHEN p_alive < 0.1 OR p_purchase_90 < 0.05 OR (repeat_purchases = 0 AND recency_days > 3 * ${max_lapse_days}) THEN 'lost'
    WHEN p_alive < 0.5 OR overdue_ratio > 3 OR (repeat_purchases = 0 AND recency_days > ${max_lapse_days}) THEN 'lapsed'
    WHEN overdue_ratio > 1.5 OR (repeat_purchases = 0 AND recency_days > ${min_lapse_days}) THEN 'at risk'
    ELSE 'active'
  END AS lifecycle_stage
FROM clv
