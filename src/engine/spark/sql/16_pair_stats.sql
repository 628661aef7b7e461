-- Step 16 (one row): items kept for pairing and baskets paired, for the manifest.
SELECT
  (SELECT COUNT(*) FROM kept_items) AS items_kept,
  (SELECT COUNT(DISTINCT order_id) FROM pair_baskets) AS baskets_paired
