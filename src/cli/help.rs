//! The long help texts: what each subcommand writes and the semantics scripts rely on (the help
//! screens are snapshot-tested, tests/snapshots/).

pub(super) const ABOUT: &str = "Customer-value tables from Parquet transaction dumps: RFM scores and segments, lapse \
buckets, monetary and purchase deciles, and the products bought together.";

pub(super) const RUN_LONG: &str = "\
Reads a transaction dump (one row per order line) and writes customers, score_bins, \
monetary_deciles, purchase_deciles, products, basket_pairs and top_pairs (with a product column), \
cohorts and kpis, and the results of the queries (segment_descriptions, segment_summary, \
lapsed_customers, top_customers, customer_tags, and --queries DIR) as <table>.parquet into --out, with \
_manifest.json and _SUCCESS; every table has an as_of column (D). The folder is replaced atomically: a \
failed or killed run leaves the previous output untouched. evergreen replaces only a folder it wrote \
(its manifest lists every file and the folder holds nothing else), never an input, and one run at a \
time (a lock beside --out; see --lock-timeout).

Semantics:
  as-of D      lines with ts >= D 00:00 are future lines (excluded, counted); default: the day after the latest line.
  purchase     an order whose net (sum of its lines, rounded to money_decimals) is > 0.
  recency      D minus the date of the last purchase, in whole days (bought the day before D: 1).
  scores       rank (default): rank = 1 + customers with a strictly smaller key, score = 1 + floor(B*(rank-1)/N); \
ties share a score. ntile: equal counts, ties broken by customer_id ascending. R's key is -recency.
  deciles      customers by monetary desc, then customer_id asc; monetary decile = 1 + floor(10*p/N); \
purchase decile = the tenth of total revenue in which the customer's spend begins.
  money        every money sum is rounded to money_decimals (default 2), halves away from zero.
  engines      memory: the needed columns of the dump in memory (about 110 bytes a line at the peak). \
partitioned: the dump streamed slice by slice into --spill-dir, partitioned by order, then by customer; \
memory follows --memory-limit (customer facts, about 160 bytes a customer, stay in memory). auto picks \
memory when lines x 110 bytes fit --memory-limit. Every engine writes the same bytes.
  money sums   exact fixed-point sums (independent of line order, threads and partitions), rounded once.

Exit codes: 0 ok, 1 internal error, 2 bad arguments/config, 3 input not found/unreadable, \
4 input does not fit the contract, 5 output not writable (not evergreen's, an input, or locked by another run).";

pub(super) const BASKET_LONG: &str = "\
Writes products, basket_pairs and top_pairs (and _manifest.json, _SUCCESS) into --out, atomically. Needs only an \
order column and an item column (--item-col, default the product column); amount, customer and \
timestamp are used when present. Without an amount column every line counts as positive.

Semantics:
  items        the distinct items on an order's positive lines; only purchase orders (net > 0) count, guest orders included.
  pair_orders  purchase orders holding both a and b (a < b).
  support      pair_orders / total purchase orders.   confidence_a_to_b = pair_orders / orders(a).
  lift         pair_orders * total / (orders(a) * orders(b)); above 1: bought together more than by chance.
  threshold    pairs kept when pair_orders >= max(--min-pair-orders, ceil(--min-support * total)); default 2.
  top          --top-per-item K keeps a pair when it is among the K strongest partners of either item \
(most pair_orders, then highest lift, then smallest partner).
  large orders --max-basket-items N skips orders with more than N distinct items (counted in the manifest).
  top_pairs    per product, its 5 partners of highest lift (then pair_orders, then partner) among the pairs \
in >= 5 purchase orders; a basket_pairs of more than 1,000,000 rows is kept whole, with a warning.
  memory       the order items (4 bytes each), pair occurrences bucketed by first item (at most 256 MiB per pass,
               more passes beyond), one counter per item per thread, and the kept pairs.

Exit codes as for `run`.";

pub(super) const CLV_LONG: &str = "\
Fits BG/NBD, MBG/NBD and Pareto/NBD (purchases and drop-out) and Gamma-Gamma (spend per purchase) \
by maximum likelihood and writes clv (one row per customer), clv_params (the fits) and \
clv_new_customers (a new customer's value) into --out, atomically; with --holdout-from also \
clv_holdout, with --clv-months also clv_periods (the value month by month). Same inputs, columns and engines as `run`.

Semantics:
  purchase day      a UTC calendar day with at least one purchase order of the customer; several \
orders on one day are one purchase day.
  repeat_purchases  x = purchase days - 1.   repeat_span_days  t_x = last - first purchase day.
  customer_age_days T = as-of - first purchase day.
  avg_repeat_order_value  the purchase-order amounts of the repeat days / x (return orders are not \
in it; return lines inside a purchase order lower it).
  p_alive           P(still a customer | x, t_x, T); 1 for customers without a repeat day.
  expected_purchases  repeat purchase days expected in the next --horizon-days.
  expected_order_value  Gamma-Gamma's conditional mean spend; customers without repeat days (or a \
positive average) get the population mean p*gamma/(q-1).
  clv               expected_order_value x the expected purchases of each 30-day step of the \
horizon, discounted at --discount-rate a year.
  fit               needs at least 10 customers with a repeat purchase day (else exit 4).

Exit codes as for `run`.";

pub(super) const PATTERNS_LONG: &str = "\
Writes itemsets and rules (and, with --sequences, sequence_pairs) into --out, atomically. Itemsets \
need only an order column and an item column (--item-col, default the product column); --sequences \
also needs customer, timestamp and amount columns. Same inputs and engines as `run`, --engine spark included.

Semantics:
  baskets       the same as basket_pairs': the distinct items on an order's positive lines; only purchase \
orders (net > 0) count, guest orders included; --max-basket-items skips larger orders.
  itemsets      every set of 1..=--max-len items held by at least T purchase orders, T = \
--itemset-min-support as a count, or ceil(F x purchase orders) for a fraction F (exact integer arithmetic).
  rules         for every frequent itemset I of 2+ items and each item c in I: (I minus c) -> c, kept when \
orders(I) / orders(I minus c) >= --min-confidence. support = orders(I) / purchase orders; lift = \
confidence / support(c); leverage = support(I) - support(A) support(c); conviction = (1 - support(c)) / \
(1 - confidence), null when confidence = 1.
  sequences     per customer, the purchase orders in time (an order's time is its earliest line). \
eligible(A, W) = customers whose first purchase of A is at least W days before as-of 00:00; \
followers(A, B, W) = those with B in an order at t, first(A) < t <= first(A) + W x 24 h. confidence = \
followers / eligible; b_share = customers who bought B / customers with a purchase order; lift = \
confidence / b_share; median_days_to_b over the followers' first B. Kept at followers >= --min-followers.
  limits        more than --max-itemsets itemsets or --max-rules rules stop the run (exit 2) before memory runs out.

Exit codes as for `run`.";

pub(super) const COMPARE_LONG: &str = "\
Writes segment_migration and decile_migration (and _manifest.json, _SUCCESS) into --out, atomically, \
from the customers tables of two snapshots. Both must come from `run` with the same bins, scoring, \
money decimals and segment map, and --from must be the earlier as-of; otherwise exit 2 naming the difference.

Semantics:
  match          customers are matched on customer_id; one only in --to comes from `new`, one only in \
--from goes to `gone`.
  rows           one per (from, to) pair that has customers: customers, revenue_before (their monetary \
in --from, 0 for new), revenue_after (in --to, 0 for gone), revenue_change; money rounded.
  deciles        decile_migration labels are monetary_decile as text ('1'..'10'), `new` and `gone`, \
sorted as numbers with new first and gone last.

Exit codes as for `run`.";

pub(super) const PUBLISH_LONG: &str = "\
Loads every table of an output into PostgreSQL with binary COPY, in one transaction, each table \
with its as_of DATE column (added first to a table that lacks one).

Semantics:
  replace       (default) the tables go into a staging schema SCHEMA__evergreen_staging, which then \
replaces SCHEMA, all in one transaction: a dashboard sees the old snapshot or the new one, never half; \
a failed or killed load leaves SCHEMA as it was.
  append        --append adds the snapshot to SCHEMA's tables (created on first use); rows with the \
same as_of are deleted first, so a rerun of a date replaces it. A table whose columns differ is exit 5.
  ownership     evergreen marks its schemas with a comment; a schema without it is never dropped or \
written (exit 5).
  dependents    objects outside SCHEMA that read its tables (a view in another schema) are never \
dropped silently: with the same columns the snapshot is loaded into the existing tables in place (one \
transaction), else exit 5 naming them; --drop-dependents drops them with the schema.
  types         Int64 BIGINT, Int32 INTEGER, Int8/16 SMALLINT, UInt32/64 BIGINT, Float64 DOUBLE PRECISION, \
Float32 REAL, String TEXT, Boolean BOOLEAN, Date DATE, Datetime TIMESTAMP, lists TEXT[] or BIGINT[].

  snapshot      the manifest and every table it lists are read into memory and checked against the \
manifest's BLAKE3: a run replacing the folder meanwhile makes publish read it again (5 tries, then exit 5), \
never load a mix.
  passwords     keep them out of --postgres: PGPASSWORD, PGPASSFILE (~/.pgpass, mode 0600) or PGSERVICE. \
Every password in a connection string is shown as *** wherever evergreen prints or records it.

Exit codes: 2 bad flags, schema name or connection string, or a compare output; 3 unreadable output \
folder; 5 connection or load failed (the server's SQLSTATE and message), an --append type change, a name \
over 63 bytes, a dependent object outside the schema, or a folder another run kept replacing.";

pub(super) const REPORT_LONG: &str = "\
Writes one self-contained HTML page from an output folder: headline numbers (customers beside \
their revenue and orders, the guests' revenue and orders apart, all revenue, the top 10 % and 20 % \
customers' share of the customers' revenue, customers lapsed beyond each threshold, the as-of date \
(a compare output: both dates) and input summary) and the charts the output's tables allow: \
revenue concentration (purchase deciles), monetary deciles, recency x frequency, segments, lapse \
buckets, the strongest pairs by orders beyond chance, and with their tables CLV by decile, P(alive) \
against recency, cohort retention (a period the as-of date falls in hatched), segment movement \
(segment_migration) and KPIs over as_of partitions.

Semantics:
  offline       charts are inline SVG and the styles inline: no script, nothing fetched; it prints \
to PDF as laid out.
  data          every charted value is embedded as JSON (<script type=\"application/json\" \
id=\"evergreen-data\">): per chart its rows, named after the source table's columns (sums, shares \
and bands under their own names, listed in docs/report.md).
  size          charts aggregate (R x F cells, buckets, bands) and lists are capped (15 pairs, the \
latest 24 cohorts x 25 periods, 30 segments), each cap said under its chart: the page stays small \
whatever the dump size.

Exit codes: 2 bad flags (--out not .html), 3 unreadable output folder, 5 --out not writable or \
inside the output folder.";
