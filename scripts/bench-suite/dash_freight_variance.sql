-- Logistics dashboard: billed freight vs contracted freight per carrier and month.
SELECT c.carrier, c.period, count(*) AS waybills, sum(c.billed_amount) AS billed,
       sum(s.freight_cost) AS contracted, sum(c.billed_amount) - sum(s.freight_cost) AS variance
FROM carrier_statements c LEFT JOIN shipments s ON s.tracking_no = c.tracking_no
GROUP BY c.carrier, c.period ORDER BY c.carrier, c.period
