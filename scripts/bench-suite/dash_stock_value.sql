-- Warehouse dashboard: stock on hand and its value per warehouse on the last day.
SELECT warehouse_id, sum(on_hand) AS units, sum(CAST(on_hand AS DECIMAL(18,0)) * unit_cost) AS stock_value
FROM stock_snapshots WHERE snapshot_date = (SELECT max(snapshot_date) FROM stock_snapshots)
GROUP BY warehouse_id ORDER BY warehouse_id
