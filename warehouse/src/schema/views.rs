//! Derived views: SQL over the canonical tables that every session registers under a name,
//! so a rule computed from several tables (how shared staff are allocated to shops) is
//! defined once and reads the same everywhere.
//!
//! A scoped session builds each view over the **unscoped** tables and then filters the
//! view's rows by its shop column: a shop-scoped caller sees exactly the rows an unscoped
//! caller sees for that shop (an allocation over every shop's GMV, not over its own).

/// A named SQL view over the canonical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewDef {
    pub name: &'static str,
    pub doc: &'static str,
    /// One `SELECT` over canonical tables (and earlier views).
    pub sql: &'static str,
    /// The column holding the shop a row belongs to (scoped callers see their shops' rows).
    pub shop_column: &'static str,
    /// Canonical tables the view reads: a caller who may not read one of them may not read
    /// the view either.
    pub reads: &'static [&'static str],
}

/// Salaries with shared staff allocated to shops. Staff with a shop count for that shop.
/// Shared staff (no shop) of a department are pooled per month and allocated in proportion
/// to each shop's GMV of that month (all orders by `order_date`): each shop gets
/// `floor(pool × shop GMV ÷ total GMV)` fen and the remaining fen go to the shop with the
/// largest GMV (ties: smallest `shop_id`), so the parts sum to the pool exactly. In a month
/// without GMV the pool stays unallocated (`shop_id` NULL).
const SALARY_COSTS: ViewDef = ViewDef {
    name: "salary_costs",
    doc: "salaries per department, month (YYYY-MM) and shop, shared staff allocated by GMV",
    sql: "
WITH pool AS (
  SELECT department, period, CAST(sum(gross_amount) * 100 AS DECIMAL(38,0)) AS pool_fen
  FROM salaries
  WHERE shop_id IS NULL
  GROUP BY department, period
),
g AS (
  SELECT shop_id, to_char(order_date, '%Y-%m') AS period,
         CAST(sum(pay_amount) * 100 AS DECIMAL(38,0)) AS gmv_fen
  FROM orders
  GROUP BY 1, 2
  HAVING sum(pay_amount) > 0
),
t AS (
  SELECT period, sum(gmv_fen) AS total_fen FROM g GROUP BY period
),
parts AS (
  SELECT p.department, p.period, g.shop_id, p.pool_fen,
         CASE WHEN g.shop_id IS NULL THEN p.pool_fen
              ELSE (p.pool_fen * g.gmv_fen - (p.pool_fen * g.gmv_fen) % t.total_fen) / t.total_fen
         END AS share_fen,
         row_number() OVER (PARTITION BY p.department, p.period ORDER BY g.gmv_fen DESC, g.shop_id) AS rn
  FROM pool p
  LEFT JOIN g ON g.period = p.period
  LEFT JOIN t ON t.period = p.period
),
alloc AS (
  SELECT department, period, shop_id,
         share_fen + CASE WHEN rn = 1
                          THEN pool_fen - sum(share_fen) OVER (PARTITION BY department, period)
                          ELSE 0 END AS fen
  FROM parts
)
SELECT department, period, shop_id, gross_amount AS amount
FROM salaries
WHERE shop_id IS NOT NULL
UNION ALL
SELECT department, period, shop_id,
       CAST(CAST(fen AS DECIMAL(38,0)) * CAST(0.01 AS DECIMAL(3,2)) AS DECIMAL(18,2)) AS amount
FROM alloc",
    shop_column: "shop_id",
    reads: &["salaries", "orders"],
};

/// Every derived view, in registration order.
pub const VIEWS: &[ViewDef] = &[SALARY_COSTS];

/// The view named `name`.
pub fn view(name: &str) -> Option<&'static ViewDef> {
    VIEWS.iter().find(|v| v.name == name)
}
