-- Sales dashboard from the mart: GMV and orders per platform and month.
SELECT platform, date_trunc('month', order_date) AS month, sum(orders) AS orders,
       sum(gmv) AS gmv, sum(discount_amount) AS discounts
FROM mart_daily_sales GROUP BY platform, date_trunc('month', order_date) ORDER BY platform, month
