-- Sales dashboard: GMV, orders and average order value per platform and month.
SELECT platform, date_trunc('month', order_date) AS month, count(*) AS orders,
       sum(pay_amount) AS gmv, sum(discount_amount) AS discounts
FROM orders GROUP BY platform, date_trunc('month', order_date) ORDER BY platform, month
