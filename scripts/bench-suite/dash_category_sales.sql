-- Products dashboard: sales by category and brand.
SELECT p.category_id, p.brand_id, sum(i.qty) AS units, sum(i.amount) AS sales
FROM order_items i JOIN skus s ON s.sku_id = i.sku_id JOIN spus p ON p.spu_id = s.spu_id
GROUP BY p.category_id, p.brand_id ORDER BY sales DESC
