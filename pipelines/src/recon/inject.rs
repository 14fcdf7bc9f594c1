//! Anomalies of every kind the checks look for, planted into a lake (normally a demo world),
//! each with the exact breaks it must cause. Tests measure the checks' precision and recall
//! against them; `zhongtai demo --anomalies` uses them to show the exception queue.
//!
//! Every anomaly is a small, realistic data fault (a payment lost, a waybill billed twice, a QC
//! reject billed, a stock movement missing …) applied with ordinary Delta writes, and it can be
//! undone ([`undo`]), which is how a test "fixes the data" between two runs. Targets are picked
//! deterministically (ordered by a hash of their key) and never share an entity, so one
//! anomaly cannot hide or double another.

use std::collections::{BTreeMap, HashSet};

use arrow::array::RecordBatch;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use warehouse::schema::ColType;
use warehouse::{Owner, Warehouse, sql_text};

use super::compile::end_of_day_unix;
use super::found::break_id;
use crate::error::{PipelineError, Result};

/// The writer recorded on the commits that plant anomalies.
pub const INJECT_SOURCE: &str = "demo:anomalies";

/// A break an anomaly must cause.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExpectedBreak {
    pub check: String,
    pub break_id: String,
    pub kind: String,
}

/// One planted anomaly: what was done, the breaks it must cause, and how to take it back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Anomaly {
    pub name: String,
    pub what: String,
    pub expected: Vec<ExpectedBreak>,
    #[serde(skip)]
    undo: Vec<UndoStep>,
}

#[derive(Debug, Clone)]
enum UndoStep {
    /// Put these original rows back (upsert by primary key).
    Restore(&'static str, Vec<RecordBatch>),
    /// Remove rows the anomaly added.
    Delete(&'static str, String),
}

type Row = BTreeMap<String, String>;

struct Planter<'a> {
    wh: &'a Warehouse,
    used: HashSet<String>,
}

/// The injector plants faults in other writers' rows on purpose (a payment the platform never
/// sent, a wrong amount): it writes as every owner, and each row keeps the owner it had.
fn planter_write<'w>(wh: &'w Warehouse, table: &str, writer: &str) -> warehouse::WriteOp<'w> {
    wh.write(table, Owner::Any).writer(writer)
}

fn expect(check: &str, keys: &[&str], kind: &str) -> ExpectedBreak {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_string()).collect();
    ExpectedBreak {
        check: check.into(),
        break_id: break_id(check, &keys),
        kind: kind.into(),
    }
}

fn rows_of(batches: &[RecordBatch]) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for b in batches {
        let cols = b
            .columns()
            .iter()
            .map(|c| crate::rows::strings(c.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        for i in 0..b.num_rows() {
            let row = b
                .schema()
                .fields()
                .iter()
                .zip(&cols)
                .filter_map(|(f, c)| c[i].clone().map(|v| (f.name().clone(), v)))
                .collect();
            out.push(row);
        }
    }
    Ok(out)
}

/// The named fields of a candidate row, in order.
fn fields<const N: usize>(r: &Row, names: [&str; N]) -> Result<[String; N]> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, n) in out.iter_mut().zip(names) {
        *slot = get(r, n)?.to_string();
    }
    Ok(out)
}

impl Planter<'_> {
    /// The first candidate row (ordered by a hash of `key`) whose `key` is not used yet; marks
    /// it used. `sql` must return a column named `key`.
    async fn pick(&mut self, salt: &str, sql: &str) -> Result<Row> {
        let q = format!(
            "SELECT * FROM ({sql}) AS c ORDER BY md5(concat(c.key, {})) LIMIT 400",
            sql_text(salt)
        );
        let rows = rows_of(&self.wh.query(&q).await?)?;
        for r in rows {
            let key = r.get("key").cloned().unwrap_or_default();
            if self.used.insert(key) {
                return Ok(r);
            }
        }
        Err(PipelineError::Recon(format!(
            "no candidate left to plant anomaly `{salt}`: the lake is too small (try more orders)"
        )))
    }

    fn mark(&mut self, key: &str) {
        self.used.insert(key.to_string());
    }

    async fn originals(&self, table: &'static str, pred: &str) -> Result<Vec<RecordBatch>> {
        self.wh
            .query(&format!("SELECT * FROM {table} WHERE {pred}"))
            .await
            .map_err(Into::into)
    }

    /// Deletes rows; undo puts them back.
    async fn delete(&self, table: &'static str, pred: &str) -> Result<UndoStep> {
        let old = self.originals(table, pred).await?;
        let n: usize = old.iter().map(RecordBatch::num_rows).sum();
        if n == 0 {
            return Err(PipelineError::Recon(format!(
                "nothing in {table} matches {pred}"
            )));
        }
        let pred = self.wh.predicate(table, pred).await?;
        planter_write(self.wh, table, INJECT_SOURCE)
            .delete(pred)
            .await?;
        Ok(UndoStep::Restore(table, old))
    }

    /// The table's columns with some replaced by SQL expressions (`None`: null).
    fn projection(table: &str, sets: &[(&str, Option<String>)]) -> Result<String> {
        let def = warehouse::schema::table(table)
            .ok_or_else(|| PipelineError::Internal(format!("no table {table}")))?;
        let mut cols = Vec::new();
        for c in def.columns {
            match sets.iter().find(|(n, _)| *n == c.name) {
                None => cols.push(c.name.to_string()),
                Some((_, None)) => {}
                Some((_, Some(expr))) => {
                    let ty = match c.ty {
                        ColType::Money => "DECIMAL(18,2)",
                        ColType::Int => "BIGINT",
                        ColType::Text => "VARCHAR",
                        ColType::Date => "DATE",
                        ColType::Bool => "BOOLEAN",
                        ColType::Timestamp => {
                            cols.push(format!("{expr} AS {}", c.name));
                            continue;
                        }
                    };
                    cols.push(format!("CAST({expr} AS {ty}) AS {}", c.name));
                }
            }
        }
        Ok(cols.join(", "))
    }

    /// Changes columns of the matching rows; undo restores them.
    async fn modify(
        &self,
        table: &'static str,
        pred: &str,
        sets: &[(&str, Option<String>)],
    ) -> Result<UndoStep> {
        let old = self.originals(table, pred).await?;
        let cols = Self::projection(table, sets)?;
        let new = self
            .wh
            .query(&format!("SELECT {cols} FROM {table} WHERE {pred}"))
            .await?;
        planter_write(self.wh, table, INJECT_SOURCE)
            .foreign_rows(warehouse::ForeignRows::Supersede)
            .upsert(&new)
            .await?;
        Ok(UndoStep::Restore(table, old))
    }

    /// Adds copies of the matching rows with some columns replaced (the primary key must be
    /// among them); undo deletes the copies by `new_pred`.
    async fn copy(
        &self,
        table: &'static str,
        pred: &str,
        sets: &[(&str, Option<String>)],
        new_pred: String,
    ) -> Result<UndoStep> {
        let cols = Self::projection(table, sets)?;
        let new = self
            .wh
            .query(&format!("SELECT {cols} FROM {table} WHERE {pred}"))
            .await?;
        planter_write(self.wh, table, INJECT_SOURCE)
            .insert_new(&new)
            .await?;
        Ok(UndoStep::Delete(table, new_pred))
    }
}

fn get<'r>(r: &'r Row, k: &str) -> Result<&'r str> {
    r.get(k)
        .map(String::as_str)
        .ok_or_else(|| PipelineError::Internal(format!("candidate has no {k}")))
}

fn eq(col: &str, v: &str) -> String {
    format!("{col} = {}", sql_text(v))
}

/// Plants one anomaly of every kind in `wh`; ages (COD) are judged at the end of `as_of`.
pub async fn inject(wh: &Warehouse, as_of: NaiveDate) -> Result<Vec<Anomaly>> {
    let mut p = Planter {
        wh,
        used: HashSet::new(),
    };
    let mut out = Vec::new();
    let mut add = |name: &str, what: String, expected: Vec<ExpectedBreak>, undo: Vec<UndoStep>| {
        out.push(Anomaly {
            name: name.into(),
            what,
            expected,
            undo,
        });
    };
    let paid = "SELECT o.order_id AS key FROM orders o JOIN payments pm ON pm.order_id = o.order_id \
                WHERE o.paid_at IS NOT NULL AND pm.status = 'success'";

    // Orders ↔ payments.
    let r = p.pick("payment_deleted", paid).await?;
    let o = get(&r, "key")?.to_string();
    let u = p.delete("payments", &eq("order_id", &o)).await?;
    add(
        "payment_deleted",
        format!("the payment of paid order {o} is lost"),
        vec![expect("order_payment", &[&o], "MISSING_PAYMENT")],
        vec![u],
    );

    let r = p.pick("payment_amount", paid).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .modify(
            "payments",
            &eq("order_id", &o),
            &[("amount", Some("amount - 1.00".into()))],
        )
        .await?;
    add(
        "payment_amount",
        format!("the payment of {o} is 1.00 short"),
        vec![expect("order_payment", &[&o], "AMOUNT_MISMATCH")],
        vec![u],
    );

    let r = p.pick("payment_duplicated", paid).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .copy(
            "payments",
            &eq("order_id", &o),
            &[
                ("payment_id", Some("concat(payment_id, '-dup')".into())),
                ("txn_no", Some("concat(txn_no, 'D')".into())),
            ],
            format!("{} AND payment_id LIKE '%-dup'", eq("order_id", &o)),
        )
        .await?;
    add(
        "payment_duplicated",
        format!("the buyer of {o} was charged twice"),
        vec![expect("order_payment", &[&o], "DUPLICATE_PAYMENT")],
        vec![u],
    );

    let r = p.pick("payment_orphan", paid).await?;
    let o = get(&r, "key")?.to_string();
    let ghost = "ghost:payment-order";
    let u = p
        .copy(
            "payments",
            &eq("order_id", &o),
            &[
                ("payment_id", Some("concat(payment_id, '-ghost')".into())),
                ("order_id", Some(sql_text(ghost))),
            ],
            eq("order_id", ghost),
        )
        .await?;
    add(
        "payment_orphan",
        format!("a payment arrives for unknown order {ghost}"),
        vec![expect("order_payment", &[ghost], "PAYMENT_WITHOUT_ORDER")],
        vec![u],
    );

    // Finished orders ↔ settlement, and fees.
    let settled = "SELECT o.order_id AS key FROM orders o JOIN platform_bills b ON b.order_id = o.order_id \
                   WHERE o.status = 'finished' AND b.kind = 'sale'";
    let r = p.pick("sale_deleted", settled).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .delete(
            "platform_bills",
            &format!("{} AND kind = 'sale'", eq("order_id", &o)),
        )
        .await?;
    add(
        "sale_deleted",
        format!("finished order {o} was never settled"),
        vec![expect("order_settlement", &[&o], "MISSING_SALE_LINE")],
        vec![u],
    );

    let r = p.pick("sale_amount", settled).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .modify(
            "platform_bills",
            &format!("{} AND kind = 'sale'", eq("order_id", &o)),
            &[("amount", Some("amount - 5.00".into()))],
        )
        .await?;
    add(
        "sale_amount",
        format!("order {o} settled 5.00 short"),
        vec![expect("order_settlement", &[&o], "SALE_AMOUNT_MISMATCH")],
        vec![u],
    );

    let r = p.pick("sale_duplicated", settled).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .copy(
            "platform_bills",
            &format!("{} AND kind = 'sale'", eq("order_id", &o)),
            &[("bill_line_id", Some("concat(bill_line_id, '-dup')".into()))],
            format!("{} AND bill_line_id LIKE '%-dup'", eq("order_id", &o)),
        )
        .await?;
    add(
        "sale_duplicated",
        format!("order {o} settled twice"),
        vec![expect("order_settlement", &[&o], "DUPLICATE_SALE_LINE")],
        vec![u],
    );

    let with_kind = |k: &str| {
        format!(
            "SELECT o.order_id AS key FROM orders o JOIN platform_bills b ON b.order_id = o.order_id \
             WHERE o.status = 'finished' AND b.kind = '{k}'"
        )
    };
    let r = p.pick("commission_rate", &with_kind("commission")).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .modify(
            "platform_bills",
            &format!("{} AND kind = 'commission'", eq("order_id", &o)),
            &[("amount", Some("amount - 1.00".into()))],
        )
        .await?;
    add(
        "commission_rate",
        format!("order {o} was charged 1.00 more commission than the contract rate"),
        vec![expect(
            "platform_fees",
            &[&o, "commission"],
            "FEE_RATE_MISMATCH",
        )],
        vec![u],
    );

    let r = p.pick("fee_missing", &with_kind("fee")).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .delete(
            "platform_bills",
            &format!("{} AND kind = 'fee'", eq("order_id", &o)),
        )
        .await?;
    add(
        "fee_missing",
        format!("the service fee of {o} was not charged (yet)"),
        vec![expect("platform_fees", &[&o, "fee"], "FEE_NOT_CHARGED")],
        vec![u],
    );

    let zero_commission = "SELECT o.order_id AS key FROM orders o JOIN platform_bills b ON b.order_id = o.order_id \
         JOIN fee_rates r ON r.shop_id = o.shop_id AND r.kind = 'commission' AND r.rate_bp = 0 \
         WHERE o.status = 'finished' AND b.kind = 'fee'";
    let r = p.pick("unexpected_fee", zero_commission).await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .copy(
            "platform_bills",
            &format!("{} AND kind = 'fee'", eq("order_id", &o)),
            &[
                ("bill_line_id", Some("concat(bill_line_id, '-c')".into())),
                ("kind", Some("'commission'".into())),
            ],
            format!("{} AND bill_line_id LIKE '%-c'", eq("order_id", &o)),
        )
        .await?;
    add(
        "unexpected_fee",
        format!("a commission was charged on {o}, whose shop pays none"),
        vec![expect(
            "platform_fees",
            &[&o, "commission"],
            "UNEXPECTED_FEE",
        )],
        vec![u],
    );

    // Refunds ↔ platform refund lines, returned goods, insurance.
    let r = p
        .pick(
            "refund_line_deleted",
            "SELECT order_id AS key FROM platform_bills WHERE kind = 'refund'",
        )
        .await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .delete(
            "platform_bills",
            &format!("{} AND kind = 'refund'", eq("order_id", &o)),
        )
        .await?;
    add(
        "refund_line_deleted",
        format!("the refund of {o} never left the platform's settlement"),
        vec![expect("refund_settlement", &[&o], "REFUND_NOT_SETTLED")],
        vec![u],
    );

    let r = p
        .pick(
            "refund_line_amount",
            "SELECT order_id AS key FROM platform_bills WHERE kind = 'refund'",
        )
        .await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .modify(
            "platform_bills",
            &format!("{} AND kind = 'refund'", eq("order_id", &o)),
            &[("amount", Some("amount - 2.00".into()))],
        )
        .await?;
    add(
        "refund_line_amount",
        format!("the platform refunded 2.00 more than the case for {o}"),
        vec![expect("refund_settlement", &[&o], "REFUND_AMOUNT_MISMATCH")],
        vec![u],
    );

    let returns = "SELECT order_id AS key, refund_id FROM refunds \
                   WHERE kind = 'return' AND status = 'success' AND goods_received_at IS NOT NULL";
    let r = p.pick("return_not_received", returns).await?;
    let rid = get(&r, "refund_id")?.to_string();
    let u = p
        .modify(
            "refunds",
            &eq("refund_id", &rid),
            &[("goods_received_at", None)],
        )
        .await?;
    add(
        "return_not_received",
        format!("return {rid} was refunded but the goods never arrived"),
        vec![expect("returns_received", &[&rid], "REFUNDED_NOT_RECEIVED")],
        vec![u],
    );

    let moved = "SELECT r.order_id AS key, r.refund_id, m.movement_id, m.sku_id, m.warehouse_id, \
                 CAST(m.move_date AS VARCHAR) AS move_date FROM refunds r JOIN stock_movements m \
                 ON m.ref_id = r.refund_id AND m.ref_type = 'refund' AND m.kind = 'return' WHERE r.kind = 'return'";
    let r = loop {
        let r = p.pick("return_not_in_stock", moved).await?;
        if p.used.insert(get(&r, "sku_id")?.to_string()) {
            break r;
        }
    };
    let [rid, mv] = fields(&r, ["refund_id", "movement_id"])?;
    let [sku, wh_id, day] = fields(&r, ["sku_id", "warehouse_id", "move_date"])?;
    let u = p.delete("stock_movements", &eq("movement_id", &mv)).await?;
    add(
        "return_not_in_stock",
        format!("the goods of return {rid} arrived but were never put into stock"),
        vec![
            expect("returns_received", &[&rid], "RECEIVED_NOT_IN_STOCK"),
            expect(
                "inventory_rollforward",
                &[&sku, &wh_id, &day],
                "ROLLFORWARD_GAP",
            ),
        ],
        vec![u],
    );

    let r = p
        .pick(
            "insurance_unpaid",
            "SELECT order_id AS key FROM platform_bills WHERE kind = 'insurance'",
        )
        .await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .delete(
            "platform_bills",
            &format!("{} AND kind = 'insurance'", eq("order_id", &o)),
        )
        .await?;
    add(
        "insurance_unpaid",
        format!("the shipping-insurance claim of {o} was never paid"),
        vec![expect("shipping_insurance", &[&o], "CLAIM_NOT_PAID")],
        vec![u],
    );

    // Carrier statements.
    let billed = "SELECT s.order_id AS key, c.statement_line_id, c.carrier, c.tracking_no FROM carrier_statements c \
                  JOIN shipments s ON s.tracking_no = c.tracking_no";
    let r = p.pick("carrier_ghost", billed).await?;
    let [line, carrier] = fields(&r, ["statement_line_id", "carrier"])?;
    let ghost_wb = "GHOST0000000001";
    let u = p
        .copy(
            "carrier_statements",
            &eq("statement_line_id", &line),
            &[
                (
                    "statement_line_id",
                    Some("concat(statement_line_id, '-ghost')".into()),
                ),
                ("tracking_no", Some(sql_text(ghost_wb))),
            ],
            eq("tracking_no", ghost_wb),
        )
        .await?;
    add(
        "carrier_ghost",
        format!("{carrier} billed waybill {ghost_wb}, which we never shipped"),
        vec![expect(
            "carrier_statement",
            &[&carrier, ghost_wb],
            "BILLED_NOT_SHIPPED",
        )],
        vec![u],
    );

    let r = p.pick("carrier_duplicate", billed).await?;
    let [line, carrier, wb] = fields(&r, ["statement_line_id", "carrier", "tracking_no"])?;
    let u = p
        .copy(
            "carrier_statements",
            &eq("statement_line_id", &line),
            &[(
                "statement_line_id",
                Some("concat(statement_line_id, '-dup')".into()),
            )],
            format!(
                "{} AND statement_line_id LIKE '%-dup'",
                eq("tracking_no", &wb)
            ),
        )
        .await?;
    add(
        "carrier_duplicate",
        format!("{carrier} billed waybill {wb} twice"),
        vec![expect(
            "carrier_statement",
            &[&carrier, &wb],
            "DUPLICATE_CHARGE",
        )],
        vec![u],
    );

    let r = p.pick("carrier_weight", billed).await?;
    let [line, carrier, wb] = fields(&r, ["statement_line_id", "carrier", "tracking_no"])?;
    let u = p
        .modify(
            "carrier_statements",
            &eq("statement_line_id", &line),
            &[
                ("billed_weight_g", Some("billed_weight_g * 2 + 1000".into())),
                ("billed_amount", Some("billed_amount + 5.00".into())),
            ],
        )
        .await?;
    add(
        "carrier_weight",
        format!("{carrier} billed {wb} at twice its weight plus a kilogram"),
        vec![expect(
            "carrier_statement",
            &[&carrier, &wb],
            "WEIGHT_OVERBILLED",
        )],
        vec![u],
    );

    let r = p.pick("carrier_rate", billed).await?;
    let [line, carrier, wb] = fields(&r, ["statement_line_id", "carrier", "tracking_no"])?;
    let u = p
        .modify(
            "carrier_statements",
            &eq("statement_line_id", &line),
            &[("billed_amount", Some("billed_amount + 3.00".into()))],
        )
        .await?;
    add(
        "carrier_rate",
        format!("{carrier} billed {wb} 3.00 above the contract rate"),
        vec![expect(
            "carrier_statement",
            &[&carrier, &wb],
            "ABOVE_CONTRACT_RATE",
        )],
        vec![u],
    );

    // Cash on delivery.
    let old_delivered = format!(
        "SELECT c.order_id AS key FROM cod_remittances c JOIN shipments s ON s.order_id = c.order_id \
         WHERE s.status = 'delivered' AND to_unixtime(s.delivered_at) < {} - 31 * 86400",
        end_of_day_unix(as_of)
    );
    let r = p.pick("cod_not_remitted", &old_delivered).await?;
    let o = get(&r, "key")?.to_string();
    let u = p.delete("cod_remittances", &eq("order_id", &o)).await?;
    add(
        "cod_not_remitted",
        format!("the carrier kept the COD money of {o}"),
        vec![expect("cod_remittance", &[&o], "COD_NOT_REMITTED")],
        vec![u],
    );

    let r = p
        .pick("cod_short", "SELECT order_id AS key FROM cod_remittances")
        .await?;
    let o = get(&r, "key")?.to_string();
    let u = p
        .modify(
            "cod_remittances",
            &eq("order_id", &o),
            &[("amount", Some("amount - 10.00".into()))],
        )
        .await?;
    add(
        "cod_short",
        format!("the carrier remitted 10.00 less for {o}"),
        vec![expect("cod_remittance", &[&o], "COD_AMOUNT_MISMATCH")],
        vec![u],
    );

    let rejected = "SELECT s.order_id AS key, s.tracking_no FROM shipments s JOIN orders o ON o.order_id = s.order_id \
                    WHERE o.is_cod AND s.status = 'returned'";
    let r = p.pick("cod_on_rejected", rejected).await?;
    let [o, wb] = fields(&r, ["key", "tracking_no"])?;
    let model = p
        .pick(
            "cod_model",
            "SELECT order_id AS key, remittance_id FROM cod_remittances",
        )
        .await?;
    let model_id = get(&model, "remittance_id")?.to_string();
    let u = p
        .copy(
            "cod_remittances",
            &eq("remittance_id", &model_id),
            &[
                ("remittance_id", Some(sql_text(&format!("{model_id}-rej")))),
                ("order_id", Some(sql_text(&o))),
                ("tracking_no", Some(sql_text(&wb))),
            ],
            eq("remittance_id", &format!("{model_id}-rej")),
        )
        .await?;
    add(
        "cod_on_rejected",
        format!("COD money was remitted for {o}, whose parcel came back"),
        vec![expect("cod_remittance", &[&o], "REMITTED_NOT_DELIVERED")],
        vec![u],
    );

    // Stock.
    let outs = "SELECT m.sku_id AS key, m.movement_id, m.warehouse_id, CAST(m.move_date AS VARCHAR) AS move_date \
                FROM stock_movements m WHERE m.kind = 'out' AND m.ref_type = 'order'";
    let r = p.pick("movement_lost", outs).await?;
    let [sku, mv, wh_id, day] = fields(&r, ["key", "movement_id", "warehouse_id", "move_date"])?;
    let u = p.delete("stock_movements", &eq("movement_id", &mv)).await?;
    add(
        "movement_lost",
        format!("the outbound movement {mv} of {sku} was lost"),
        vec![expect(
            "inventory_rollforward",
            &[&sku, &wh_id, &day],
            "ROLLFORWARD_GAP",
        )],
        vec![u],
    );

    let snaps = "SELECT s.sku_id AS key, s.warehouse_id, CAST(s.snapshot_date AS VARCHAR) AS d, \
                 CAST(s.snapshot_date + INTERVAL '1 day' AS VARCHAR) AS next_d FROM stock_snapshots s \
                 WHERE s.snapshot_date < (SELECT max(snapshot_date) FROM stock_snapshots)";
    let r = p.pick("negative_stock", snaps).await?;
    let [sku, wh_id, day, next] = fields(&r, ["key", "warehouse_id", "d", "next_d"])?;
    let pred = format!(
        "{} AND {} AND snapshot_date = DATE {}",
        eq("sku_id", &sku),
        eq("warehouse_id", &wh_id),
        sql_text(&day)
    );
    let u = p
        .modify("stock_snapshots", &pred, &[("on_hand", Some("-3".into()))])
        .await?;
    add(
        "negative_stock",
        format!("the count of {sku} on {day} says -3"),
        vec![
            expect(
                "inventory_rollforward",
                &[&sku, &wh_id, &day],
                "NEGATIVE_ON_HAND",
            ),
            expect(
                "inventory_rollforward",
                &[&sku, &wh_id, &next],
                "ROLLFORWARD_GAP",
            ),
        ],
        vec![u],
    );

    // Purchasing.
    let bills = "SELECT po_line_id AS key, bill_line_id FROM supplier_bills";
    let r = p.pick("po_price", bills).await?;
    let [line, bill] = fields(&r, ["key", "bill_line_id"])?;
    let u = p
        .modify(
            "supplier_bills",
            &eq("bill_line_id", &bill),
            &[("amount", Some("amount + 1.00".into()))],
        )
        .await?;
    add(
        "po_price",
        format!("the supplier billed PO line {line} 1.00 above the agreed cost"),
        vec![expect("purchase_three_way", &[&line], "PRICE_VARIANCE")],
        vec![u],
    );

    let r = p.pick("po_billed_rejects", bills).await?;
    let [line, bill] = fields(&r, ["key", "bill_line_id"])?;
    let u = p
        .modify(
            "supplier_bills",
            &eq("bill_line_id", &bill),
            &[
                ("qty", Some("qty + 1".into())),
                ("amount", Some("amount + amount / qty".into())),
            ],
        )
        .await?;
    add(
        "po_billed_rejects",
        format!("the supplier billed one unit more than passed QC on {line}"),
        vec![expect(
            "purchase_three_way",
            &[&line],
            "BILLED_ABOVE_ACCEPTED",
        )],
        vec![u],
    );

    let r = p
        .pick(
            "po_over_received",
            "SELECT po_line_id AS key, receipt_id FROM purchase_receipts",
        )
        .await?;
    let [line, rc] = fields(&r, ["key", "receipt_id"])?;
    let u = p
        .modify(
            "purchase_receipts",
            &eq("receipt_id", &rc),
            &[("qty_received", Some("qty_received + 1000".into()))],
        )
        .await?;
    add(
        "po_over_received",
        format!("receipt {rc} took in 1000 units more than PO line {line} ordered"),
        vec![expect("purchase_three_way", &[&line], "OVER_RECEIVED")],
        vec![u],
    );

    let r = p
        .pick(
            "po_not_ordered",
            "SELECT po_line_id AS key, receipt_id FROM purchase_receipts",
        )
        .await?;
    let rc = get(&r, "receipt_id")?.to_string();
    let ghost_line = "PO-GHOST-1";
    p.mark(ghost_line);
    let u = p
        .copy(
            "purchase_receipts",
            &eq("receipt_id", &rc),
            &[
                ("receipt_id", Some(sql_text(&format!("{rc}-ghost")))),
                ("po_line_id", Some(sql_text(ghost_line))),
            ],
            eq("po_line_id", ghost_line),
        )
        .await?;
    add(
        "po_not_ordered",
        format!("goods were received against {ghost_line}, which nobody ordered"),
        vec![expect("purchase_three_way", &[ghost_line], "NOT_ORDERED")],
        vec![u],
    );

    // Marketing.
    let deducted = "SELECT concat(shop_id, '@', CAST(settle_date AS VARCHAR)) AS key, shop_id, CAST(settle_date AS VARCHAR) AS d \
                    FROM platform_bills WHERE kind = 'marketing'";
    let r = p.pick("marketing_amount", deducted).await?;
    let [shop, day] = fields(&r, ["shop_id", "d"])?;
    let pred = format!(
        "{} AND kind = 'marketing' AND settle_date = DATE {}",
        eq("shop_id", &shop),
        sql_text(&day)
    );
    let u = p
        .modify(
            "platform_bills",
            &pred,
            &[("amount", Some("amount - 7.00".into()))],
        )
        .await?;
    add(
        "marketing_amount",
        format!("{shop} was deducted more for ads on {day} than it spent"),
        vec![expect("marketing_fees", &[&shop, &day], "AMOUNT_MISMATCH")],
        vec![u],
    );

    let r = p.pick("marketing_not_deducted", deducted).await?;
    let [shop, day] = fields(&r, ["shop_id", "d"])?;
    let pred = format!(
        "{} AND kind = 'marketing' AND settle_date = DATE {}",
        eq("shop_id", &shop),
        sql_text(&day)
    );
    let u = p.delete("platform_bills", &pred).await?;
    add(
        "marketing_not_deducted",
        format!("{shop}'s ad spend on {day} was never deducted"),
        vec![expect("marketing_fees", &[&shop, &day], "NOT_DEDUCTED")],
        vec![u],
    );

    let r = p.pick("marketing_no_expense", deducted).await?;
    let [shop, day] = fields(&r, ["shop_id", "d"])?;
    let pred = format!(
        "{} AND paid_via_platform AND spend_date = DATE {}",
        eq("shop_id", &shop),
        sql_text(&day)
    );
    let u = p.delete("marketing_expenses", &pred).await?;
    add(
        "marketing_no_expense",
        format!("{shop} was deducted for ads on {day} that nobody recorded"),
        vec![expect(
            "marketing_fees",
            &[&shop, &day],
            "DEDUCTION_WITHOUT_EXPENSE",
        )],
        vec![u],
    );

    Ok(out)
}

/// Takes an anomaly back: the data is as it was before it was planted.
pub async fn undo(wh: &Warehouse, anomaly: &Anomaly) -> Result<()> {
    let writer = format!("{INJECT_SOURCE}:undo");
    for step in anomaly.undo.iter().rev() {
        match step {
            UndoStep::Restore(table, rows) => {
                planter_write(wh, table, &writer)
                    .foreign_rows(warehouse::ForeignRows::Supersede)
                    .upsert(rows)
                    .await?;
            }
            UndoStep::Delete(table, pred) => {
                let pred = wh.predicate(table, pred).await?;
                planter_write(wh, table, &writer).delete(pred).await?;
            }
        }
    }
    Ok(())
}
