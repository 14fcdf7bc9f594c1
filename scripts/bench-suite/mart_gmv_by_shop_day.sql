-- Sales dashboard from the mart: orders and GMV per shop per day over the last 30 days.
SELECT shop_id, order_date, orders, gmv
FROM mart_daily_sales WHERE order_date >= DATE '2026-10-26'
ORDER BY shop_id, order_date
