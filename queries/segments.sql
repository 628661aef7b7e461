-- Named RFM segments: the 125-cell, 11-segment map (needs bins = 5).
-- Each customer's rfm_cell (r_score f_score m_score, e.g. '545') falls in exactly one segment.
-- evergreen runs this first and writes its `segment` into the customers table; every cell must
-- get a segment (checked on all cells before the run). It may use customer_id, r_score, f_score,
-- m_score and rfm_cell. To change the map, copy this file into your --queries folder and edit it
-- there (a file of the same name replaces this one), or pass --segment-map FILE.
SELECT
  customer_id,
  CASE
    WHEN rfm_cell IN ('555', '554', '544', '545', '454', '455', '445') THEN 'Champions'
    WHEN rfm_cell IN ('543', '444', '435', '355', '354', '345', '344', '335') THEN 'Loyal'
    WHEN rfm_cell IN ('553', '551', '552', '541', '542', '533', '532', '531', '452', '451', '442', '441', '431', '453', '433', '432', '423', '353', '352', '351', '342', '341', '333', '323') THEN 'Potential Loyalist'
    WHEN rfm_cell IN ('512', '511', '422', '421', '412', '411', '311') THEN 'New Customers'
    WHEN rfm_cell IN ('525', '524', '523', '522', '521', '515', '514', '513', '425', '424', '413', '414', '415', '315', '314', '313') THEN 'Promising'
    WHEN rfm_cell IN ('535', '534', '443', '434', '343', '334', '325', '324') THEN 'Need Attention'
    WHEN rfm_cell IN ('331', '321', '312', '221', '213', '231', '241', '251') THEN 'About To Sleep'
    WHEN rfm_cell IN ('255', '254', '245', '244', '253', '252', '243', '242', '235', '234', '225', '224', '153', '152', '145', '143', '142', '135', '134', '133', '125', '124') THEN 'At Risk'
    WHEN rfm_cell IN ('155', '154', '144', '214', '215', '115', '114', '113') THEN 'Cannot Lose Them'
    WHEN rfm_cell IN ('332', '322', '233', '232', '223', '222', '132', '123', '122', '212', '211') THEN 'Hibernating'
    WHEN rfm_cell IN ('111', '112', '121', '131', '141', '151') THEN 'Lost'
  END AS segment
FROM customers
