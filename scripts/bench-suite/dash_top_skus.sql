-- Products dashboard: top 20 SKUs by sales amount in the last 30 days, with units.
SELECT i.sku_id, sum(i.qty) AS units, sum(i.amount) AS sales
FROM order_items i JOIN orders o ON o.order_id = i.order_id
WHERE o.order_date >= DATE '2026-10-26' AND o.status <> 'closed'
GROUP BY i.sku_id ORDER BY sales DESC, i.sku_id LIMIT 20
