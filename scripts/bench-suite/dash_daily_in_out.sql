-- Warehouse dashboard: daily inbound and outbound units.
SELECT move_date, sum(CASE WHEN qty > 0 THEN qty ELSE 0 END) AS units_in,
       sum(CASE WHEN qty < 0 THEN -qty ELSE 0 END) AS units_out
FROM stock_movements GROUP BY move_date ORDER BY move_date
