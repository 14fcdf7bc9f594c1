//! Reading current rows for forms that change or depend on existing records (a price
//! adjustment reads the order, a receipt reads its PO line, a count reads on-hand stock).
//!
//! The truth is the lake plus the rows accepted but not yet flushed to it: [`Pending`] holds
//! those, keyed by table and primary key, and is trimmed once a flush has committed them.

use std::collections::HashMap;
use std::sync::RwLock;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};
use serde_json::{Map, Value};
use warehouse::schema::{ColType, TableDef};
use warehouse::{Warehouse, WarehouseError, sql_text};

use super::fields::fen_text;

/// A row as normalised JSON (money as `"12.30"`, instants as RFC 3339 UTC).
pub type Row = Map<String, Value>;

/// Rows accepted into the journal and not yet in the lake.
#[derive(Debug, Default)]
pub struct Pending {
    inner: RwLock<PendingInner>,
}

#[derive(Debug, Default)]
struct PendingInner {
    /// (table, key text) -> (journal seq, row)
    rows: HashMap<(String, String), (i64, Row)>,
    /// (table, group column value) -> seq of the submission that replaced the whole group
    groups: HashMap<(String, String), i64>,
}

impl Pending {
    /// Records rows of the submission journaled at `seq`.
    pub fn put(&self, seq: i64, table: &str, def: &TableDef, rows: &[Row], group: Option<&str>) {
        let mut g = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = group {
            g.groups.insert((table.to_string(), v.to_string()), seq);
            // Rows of the replaced group that the new version no longer has are gone.
            let col = group_column(table);
            g.rows.retain(|(t, _), (_, r)| {
                !(t == table && col.is_some_and(|c| r.get(c).and_then(Value::as_str) == Some(v)))
            });
        }
        for r in rows {
            g.rows
                .insert((table.to_string(), key_of(def, r)), (seq, r.clone()));
        }
    }

    /// Forgets everything journaled at or before `seq` for `table` (it is in the lake now).
    pub fn trim(&self, table: &str, seq: i64) {
        let mut g = self.inner.write().unwrap_or_else(|e| e.into_inner());
        g.rows.retain(|(t, _), (s, _)| !(t == table && *s <= seq));
        g.groups.retain(|(t, _), s| !(t == table && *s <= seq));
    }

    /// The pending row of `table` whose single-column key is `key`.
    fn row(&self, table: &str, key: &str) -> Option<Row> {
        let key = serde_json::to_string(&[key]).unwrap_or_default();
        let g = self.inner.read().unwrap_or_else(|e| e.into_inner());
        g.rows
            .get(&(table.to_string(), key))
            .map(|(_, r)| r.clone())
    }

    /// Pending rows of `table` where `column = value`, and whether the group was replaced
    /// (then the lake's rows of the group no longer count).
    fn rows_where(&self, table: &str, column: &str, value: &str) -> (Vec<Row>, bool) {
        let g = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let rows = g
            .rows
            .iter()
            .filter(|((t, _), (_, r))| {
                t == table && r.get(column).and_then(Value::as_str) == Some(value)
            })
            .map(|(_, (_, r))| r.clone())
            .collect();
        let replaced = group_column(table) == Some(column)
            && g.groups
                .contains_key(&(table.to_string(), value.to_string()));
        (rows, replaced)
    }

    /// Number of rows waiting for the lake.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .rows
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The parent column of a child table (`order_items.order_id`), from its schema definition.
pub fn group_column(table: &str) -> Option<&'static str> {
    warehouse::schema::table(table).and_then(|d| d.parent)
}

/// The primary key of a row as one unambiguous string: the key values as a JSON array, so
/// no two distinct keys share it (whatever characters their parts hold).
pub fn key_of(def: &TableDef, r: &Row) -> String {
    let parts: Vec<&Value> = def
        .primary_key
        .iter()
        .map(|k| r.get(*k).unwrap_or(&Value::Null))
        .collect();
    serde_json::to_string(&parts).unwrap_or_default()
}

/// Lookups for form builds: pending rows first, then the lake.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    pub wh: &'a Warehouse,
    pub pending: &'a Pending,
    /// The caller's shops (`None`: every shop). A row with a `shop_id` outside them is not
    /// found, so a scoped caller's validation answers as if it did not exist.
    pub shops: Option<&'a [String]>,
}

impl Lookup<'_> {
    /// Whether the caller may see `r` (rows without a `shop_id` are company-wide).
    fn visible(&self, r: &Row) -> bool {
        match (self.shops, r.get("shop_id").and_then(Value::as_str)) {
            (Some(shops), Some(shop)) => shops.iter().any(|s| s == shop),
            _ => true,
        }
    }

    /// The current row of `table` whose (single-column) primary key is `key`.
    pub async fn row(&self, table: &str, key: &str) -> Result<Option<Row>, WarehouseError> {
        if let Some(r) = self.pending.row(table, key) {
            return Ok(Some(r).filter(|r| self.visible(r)));
        }
        let def = self.wh.def(table)?;
        let pk = def.primary_key.first().copied().unwrap_or_default();
        let mut rows = self.lake_where(table, pk, key).await?;
        Ok(rows.pop().filter(|r| self.visible(r)))
    }

    /// Current rows of `table` where `column = value`.
    pub async fn rows_where(
        &self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Vec<Row>, WarehouseError> {
        let def = self.wh.def(table)?;
        let (pending, replaced) = self.pending.rows_where(table, column, value);
        let mut out: HashMap<String, Row> = HashMap::new();
        if !replaced {
            for r in self.lake_where(table, column, value).await? {
                out.insert(key_of(def, &r), r);
            }
        }
        for r in pending {
            out.insert(key_of(def, &r), r);
        }
        let mut v: Vec<(String, Row)> = out.into_iter().filter(|(_, r)| self.visible(r)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v.into_iter().map(|(_, r)| r).collect())
    }

    async fn lake_where(
        &self,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<Vec<Row>, WarehouseError> {
        let def = self.wh.def(table)?;
        let ctx = self.wh.session_of(&[table]).await?;
        let batches = ctx
            .sql(&format!(
                "SELECT * FROM {table} WHERE {column} = {}",
                sql_text(value)
            ))
            .await?
            .collect()
            .await?;
        let mut out = Vec::new();
        for b in &batches {
            for i in 0..b.num_rows() {
                out.push(row_json(def, b, i));
            }
        }
        Ok(out)
    }

    /// Units on hand of `sku` (in `warehouse`, or all): each warehouse's latest end-of-day
    /// snapshot, plus the movements booked after it, plus pending movements.
    pub async fn on_hand(&self, sku: &str, warehouse: Option<&str>) -> Result<i64, WarehouseError> {
        let ctx = self
            .wh
            .session_of(&["stock_snapshots", "stock_movements"])
            .await?;
        let s = sql_text(sku);
        let w = warehouse
            .map(|w| format!(" AND warehouse_id = {}", sql_text(w)))
            .unwrap_or_default();
        let sql = format!(
            "WITH last AS (SELECT warehouse_id, MAX(snapshot_date) AS d FROM stock_snapshots WHERE sku_id = {s}{w} GROUP BY warehouse_id), \
             snap AS (SELECT s.warehouse_id, s.on_hand, s.snapshot_date FROM stock_snapshots s JOIN last l ON s.warehouse_id = l.warehouse_id AND s.snapshot_date = l.d WHERE s.sku_id = {s}), \
             mv AS (SELECT m.warehouse_id, m.qty, m.move_date FROM stock_movements m WHERE m.sku_id = {s}{w}) \
             SELECT CAST(COALESCE((SELECT SUM(on_hand) FROM snap), 0) + COALESCE((SELECT SUM(mv.qty) FROM mv LEFT JOIN snap ON mv.warehouse_id = snap.warehouse_id WHERE snap.snapshot_date IS NULL OR mv.move_date > snap.snapshot_date), 0) AS BIGINT)"
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let mut n = 0;
        for b in &batches {
            if b.num_rows() > 0
                && let Some(a) = b.column(0).as_primitive_opt::<Int64Type>()
                && a.is_valid(0)
            {
                n = a.value(0);
            }
        }
        let (pending, _) = self.pending.rows_where("stock_movements", "sku_id", sku);
        for r in pending {
            if warehouse.is_none_or(|w| r.get("warehouse_id").and_then(Value::as_str) == Some(w)) {
                n += r.get("qty").and_then(Value::as_i64).unwrap_or(0);
            }
        }
        Ok(n)
    }
}

/// One row of a batch as normalised JSON.
pub fn row_json(def: &TableDef, b: &RecordBatch, i: usize) -> Row {
    let mut m = Map::new();
    for c in def.columns {
        let Some(a) = b.column_by_name(c.name) else {
            continue;
        };
        if a.is_null(i) {
            m.insert(c.name.into(), Value::Null);
            continue;
        }
        let v = match c.ty {
            ColType::Text => match a.data_type() {
                DataType::Utf8View => Value::from(a.as_string_view().value(i)),
                DataType::LargeUtf8 => Value::from(a.as_string::<i64>().value(i)),
                _ => Value::from(a.as_string::<i32>().value(i)),
            },
            ColType::Int => Value::from(a.as_primitive::<Int64Type>().value(i)),
            ColType::Money => Value::from(fen_text(a.as_primitive::<Decimal128Type>().value(i))),
            ColType::Bool => Value::from(a.as_boolean().value(i)),
            ColType::Date => {
                let d = a.as_primitive::<Date32Type>().value(i);
                let day = chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                Value::from(day)
            }
            ColType::Timestamp => {
                let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
                let t = chrono::DateTime::from_timestamp_micros(us)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
                    .unwrap_or_default();
                Value::from(t)
            }
        };
        m.insert(c.name.into(), v);
    }
    m
}
