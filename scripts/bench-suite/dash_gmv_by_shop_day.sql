-- Sales dashboard: orders and GMV per shop per day over the last 30 days.
SELECT shop_id, order_date, count(*) AS orders, sum(pay_amount) AS gmv
FROM orders WHERE order_date >= DATE '2026-10-26'
GROUP BY shop_id, order_date ORDER BY shop_id, order_date
