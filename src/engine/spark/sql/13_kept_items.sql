-- Step 13: items in at least ${threshold} fitting baskets; only they can be in a kept pair (a pair
-- is never more frequent than either of its items).
SELECT item FROM fitting_baskets GROUP BY item HAVING COUNT(*) >= ${threshold}
