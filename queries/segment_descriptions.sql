-- segment_descriptions: per segment of queries/segments.sql, its place in a report (segment_order:
-- best first), what it means in one line and what to do about it. Edit freely: copy this file into
-- your --queries folder (a file of the same name replaces this one) and change the words, or add the
-- segments of your own map. evergreen writes segment_order into customers from it, and
-- segment_summary shows the description and the suggested action beside each segment; a segment
-- missing here has a null order and no description.
SELECT 'Champions' AS segment, 1 AS segment_order,
  'Bought recently, buy often and spend the most.' AS description,
  'Reward them: early access, loyalty perks; ask for reviews and referrals.' AS suggested_action
UNION ALL SELECT 'Loyal' AS segment, 2 AS segment_order,
  'Buy regularly and spend well; respond to promotions.' AS description,
  'Upsell higher-value products; invite to the loyalty programme.' AS suggested_action
UNION ALL SELECT 'Potential Loyalist' AS segment, 3 AS segment_order,
  'Recent customers with average frequency and good spend.' AS description,
  'Offer membership or a second-purchase incentive; recommend related products.' AS suggested_action
UNION ALL SELECT 'New Customers' AS segment, 4 AS segment_order,
  'Bought for the first time recently.' AS description,
  'Onboard them: a welcome series, help with the first use, a reason to come back.' AS suggested_action
UNION ALL SELECT 'Promising' AS segment, 5 AS segment_order,
  'Recent shoppers who have not spent much yet.' AS description,
  'Build the habit: brand awareness, free trials, small time-limited offers.' AS suggested_action
UNION ALL SELECT 'Need Attention' AS segment, 6 AS segment_order,
  'Above-average recency, frequency and spend, but slipping.' AS description,
  'Reactivate with a limited-time offer based on their past purchases.' AS suggested_action
UNION ALL SELECT 'About To Sleep' AS segment, 7 AS segment_order,
  'Below-average recency and frequency; will be lost without a nudge.' AS description,
  'Share popular products and a modest discount; reconnect before they lapse.' AS suggested_action
UNION ALL SELECT 'At Risk' AS segment, 8 AS segment_order,
  'Spent a lot and often, but long ago.' AS description,
  'Win back with personal emails, renewals and helpful resources.' AS suggested_action
UNION ALL SELECT 'Cannot Lose Them' AS segment, 9 AS segment_order,
  'Made the biggest and most frequent purchases, but have not returned for a long time.' AS description,
  'Win them back personally: talk to them, a new-product preview, a strong offer.' AS suggested_action
UNION ALL SELECT 'Hibernating' AS segment, 10 AS segment_order,
  'Last purchase long ago, few orders, low spend.' AS description,
  'Offer relevant products and special discounts; recreate brand value.' AS suggested_action
UNION ALL SELECT 'Lost' AS segment, 11 AS segment_order,
  'Lowest recency, frequency and spend.' AS description,
  'Revive interest with an outreach campaign, or let them go.' AS suggested_action
