-- Finance dashboard: revenue, platform fees and marketing per shop and month.
WITH rev AS (
  SELECT shop_id, date_trunc('month', order_date) AS month, sum(pay_amount) AS revenue
  FROM orders WHERE status <> 'closed' GROUP BY shop_id, date_trunc('month', order_date)
),
fees AS (
  SELECT shop_id, date_trunc('month', settle_date) AS month, -sum(amount) AS fees
  FROM platform_bills WHERE kind IN ('commission', 'fee') GROUP BY shop_id, date_trunc('month', settle_date)
),
mkt AS (
  SELECT shop_id, date_trunc('month', spend_date) AS month, sum(amount) AS marketing
  FROM marketing_expenses GROUP BY shop_id, date_trunc('month', spend_date)
)
SELECT rev.shop_id, rev.month, rev.revenue, coalesce(fees.fees, 0) AS fees, coalesce(mkt.marketing, 0) AS marketing
FROM rev LEFT JOIN fees ON fees.shop_id = rev.shop_id AND fees.month = rev.month
LEFT JOIN mkt ON mkt.shop_id = rev.shop_id AND mkt.month = rev.month
ORDER BY rev.shop_id, rev.month
