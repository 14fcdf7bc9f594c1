-- Products dashboard: return rate per SPU (returned units / sold units).
WITH sold AS (
  SELECT s.spu_id, sum(i.qty) AS units FROM order_items i JOIN skus s ON s.sku_id = i.sku_id GROUP BY s.spu_id
),
back AS (
  SELECT s.spu_id, sum(r.qty) AS units, sum(r.shipping_insurance_amount) AS insurance
  FROM refunds r JOIN skus s ON s.sku_id = r.sku_id WHERE r.kind IN ('return', 'exchange') GROUP BY s.spu_id
)
SELECT sold.spu_id, sold.units AS sold_units, coalesce(back.units, 0) AS returned_units,
       CAST(coalesce(back.units, 0) AS DECIMAL(18,4)) / sold.units AS return_rate, back.insurance
FROM sold LEFT JOIN back ON back.spu_id = sold.spu_id
ORDER BY return_rate DESC, sold.spu_id LIMIT 50
