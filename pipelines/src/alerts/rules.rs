//! Alert rules as data: a SQL condition over the lake or a built-in, compared with a
//! threshold, cleared at another (hysteresis), sent to named channels.
//!
//! A rule's query returns one row per thing watched: `key` (text), `value` (a number, exact
//! as text), and optionally `threshold` and `clear` (per-row limits, e.g. a SKU's own low
//! watermark) and `label` (what a person reads). A key is *breaching* when `value op threshold`;
//! a firing key resolves once its value is back past `clear` (default: the threshold), or when
//! the query no longer returns it.

use serde::{Deserialize, Serialize};

/// How a value is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// `value op limit`.
    pub fn holds(self, value: i128, limit: i128) -> bool {
        match self {
            Op::Lt => value < limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Ge => value >= limit,
        }
    }

    /// Whether a firing value has recovered past `clear` (the far side of the hysteresis band).
    pub fn recovered(self, value: i128, clear: i128) -> bool {
        match self {
            Op::Lt | Op::Le => value >= clear,
            Op::Gt | Op::Ge => value <= clear,
        }
    }
}

/// The built-in conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// On hand per SKU and warehouse below the SKU's `low_stock` (or `threshold`).
    LowStock,
    /// On hand per SKU and warehouse above the SKU's `high_stock` (or `threshold`).
    HighStock,
    /// Shipments in transit with no tracking event for `threshold` hours, or returned / lost.
    StaleShipment,
    /// Open reconciliation breaks whose amount at stake is above `threshold` (yuan).
    ReconBreaks,
    /// Records a sync set aside in `quarantined_records` in the last day, per connector and
    /// stream, more than `threshold` (default 0).
    QuarantinedRecords,
    /// Yesterday's GMV per shop below `threshold` % of the same weekday a week before.
    SalesDrop,
    /// Connectors whose latest sync run failed (from the job history).
    FailingSync,
    /// Runs marked running whose worker stopped renewing their lease (from the job history).
    StuckJob,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// What a person reads in the message, e.g. "库存不足 Low stock".
    #[serde(default)]
    pub title: Option<String>,
    /// A built-in condition …
    #[serde(default)]
    pub builtin: Option<Builtin>,
    /// … or a SQL query over the lake returning `key`, `value` [, `threshold`, `clear`, `label`].
    #[serde(default)]
    pub sql: Option<String>,
    #[serde(default = "default_op")]
    pub op: Op,
    /// The limit when rows carry none (a number as text or TOML number).
    #[serde(default, deserialize_with = "de_num_text")]
    pub threshold: Option<String>,
    /// Where a firing key clears (hysteresis); default: the threshold.
    #[serde(default, deserialize_with = "de_num_text")]
    pub clear: Option<String>,
    /// Channel names (from `[alerts.channels]`).
    pub channels: Vec<String>,
    /// Remind every this many minutes while still firing; 0 = once.
    #[serde(default)]
    pub repeat_minutes: u32,
    /// Who stored the rule through the API (`token:…`, `user:…`): its query runs as that
    /// principal, within its role and shops. `None` for rules of the config file, which only
    /// whoever runs the server writes.
    #[serde(skip)]
    pub defined_by: Option<String>,
}

fn default_op() -> Op {
    Op::Lt
}

fn de_num_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        I(i64),
        F(f64),
        S(String),
    }
    Ok(match Option::<N>::deserialize(d)? {
        None => None,
        Some(N::I(i)) => Some(i.to_string()),
        // A TOML float like 0.9 is written by a person; its shortest text is what they meant.
        Some(N::F(f)) => Some(f.to_string()),
        Some(N::S(s)) => Some(s),
    })
}

/// Scale of the fixed-point numbers rules compare (4 decimal places: fen and percentages).
pub const SCALE: u32 = 4;

/// Parses `-12.3456`-style text into fixed point (`SCALE` places); `None` if it is not a number.
pub fn num(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    for i in 0..SCALE as usize {
        let d = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

impl Rule {
    /// Checks the rule against the channels that exist.
    pub fn validate(&self, channels: &[&str]) -> Result<(), String> {
        let n = &self.name;
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "alert rule name {n:?}: use letters, digits, '-' and '_'"
            ));
        }
        match (&self.builtin, &self.sql) {
            (None, None) => return Err(format!("alert rule {n}: set `builtin` or `sql`")),
            (Some(_), Some(_)) => {
                return Err(format!("alert rule {n}: set `builtin` or `sql`, not both"));
            }
            _ => {}
        }
        for (field, v) in [("threshold", &self.threshold), ("clear", &self.clear)] {
            if let Some(v) = v
                && num(v).is_none()
            {
                return Err(format!("alert rule {n}: {field} {v:?} is not a number"));
            }
        }
        if self.channels.is_empty() {
            return Err(format!("alert rule {n}: no channels"));
        }
        for c in &self.channels {
            if !channels.contains(&c.as_str()) {
                return Err(format!(
                    "alert rule {n}: unknown channel {c:?} (configured: {})",
                    channels.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The comparison in force (built-ins fix theirs).
    pub fn effective_op(&self) -> Op {
        match self.builtin {
            Some(Builtin::LowStock) | Some(Builtin::SalesDrop) => Op::Lt,
            Some(Builtin::HighStock)
            | Some(Builtin::StaleShipment)
            | Some(Builtin::ReconBreaks)
            | Some(Builtin::QuarantinedRecords) => Op::Gt,
            Some(Builtin::FailingSync) | Some(Builtin::StuckJob) => Op::Gt,
            None => self.op,
        }
    }

    /// The title shown in messages.
    pub fn title(&self) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        match self.builtin {
            Some(Builtin::LowStock) => "库存不足 Low stock".into(),
            Some(Builtin::HighStock) => "库存积压 Overstock".into(),
            Some(Builtin::StaleShipment) => "物流异常 Shipment exception".into(),
            Some(Builtin::ReconBreaks) => "对账差异 Reconciliation breaks".into(),
            Some(Builtin::QuarantinedRecords) => "隔离记录 Quarantined records".into(),
            Some(Builtin::SalesDrop) => "销售下滑 Sales drop".into(),
            Some(Builtin::FailingSync) => "同步失败 Sync failing".into(),
            Some(Builtin::StuckJob) => "任务卡住 Job stuck".into(),
            None => self.name.clone(),
        }
    }
}

/// The on-hand position per SKU and warehouse: the latest end-of-day snapshot plus the
/// movements booked after it (the same definition entry forms use).
const ON_HAND: &str = "WITH last AS (SELECT sku_id, warehouse_id, MAX(snapshot_date) AS d FROM stock_snapshots GROUP BY sku_id, warehouse_id), \
 snap AS (SELECT s.sku_id, s.warehouse_id, s.on_hand, s.snapshot_date FROM stock_snapshots s JOIN last l ON s.sku_id = l.sku_id AND s.warehouse_id = l.warehouse_id AND s.snapshot_date = l.d), \
 mv AS (SELECT m.sku_id, m.warehouse_id, SUM(m.qty) AS qty FROM stock_movements m LEFT JOIN snap ON m.sku_id = snap.sku_id AND m.warehouse_id = snap.warehouse_id WHERE snap.snapshot_date IS NULL OR m.move_date > snap.snapshot_date GROUP BY m.sku_id, m.warehouse_id), \
 pos AS (SELECT COALESCE(snap.sku_id, mv.sku_id) AS sku_id, COALESCE(snap.warehouse_id, mv.warehouse_id) AS warehouse_id, COALESCE(snap.on_hand, 0) + COALESCE(mv.qty, 0) AS on_hand FROM snap FULL OUTER JOIN mv ON snap.sku_id = mv.sku_id AND snap.warehouse_id = mv.warehouse_id)";

/// The lake SQL of a built-in (`None` for those read from the job history). Stock rules clear
/// a fifth of the watermark (at least one unit) past it, so stock moving around the line does
/// not fire again and again.
pub fn builtin_sql(b: Builtin, threshold: Option<&str>) -> Option<String> {
    let t = threshold
        .and_then(num)
        .map(|v| (v / 10_i128.pow(SCALE)).to_string());
    Some(match b {
        Builtin::LowStock | Builtin::HighStock => {
            let (col, sign) = if b == Builtin::LowStock {
                ("low_stock", "+")
            } else {
                ("high_stock", "-")
            };
            let limit = match &t {
                Some(t) => format!("COALESCE(k.{col}, {t})"),
                None => format!("k.{col}"),
            };
            format!(
                "{ON_HAND} SELECT pos.sku_id || '@' || pos.warehouse_id AS key, CAST(pos.on_hand AS VARCHAR) AS value, \
                 CAST({limit} AS VARCHAR) AS threshold, \
                 CAST({limit} {sign} GREATEST(1, {limit} / 5) AS VARCHAR) AS clear, \
                 k.name || ' (' || pos.sku_id || ') @ ' || pos.warehouse_id AS label \
                 FROM pos JOIN skus k ON k.sku_id = pos.sku_id WHERE {limit} IS NOT NULL AND k.lifecycle <> 'discontinued'"
            )
        }
        Builtin::StaleShipment => {
            let hours = t.unwrap_or_else(|| "48".into());
            format!(
                "WITH last AS (SELECT shipment_id, MAX(event_time) AS t FROM logistics_events GROUP BY shipment_id) \
                 SELECT s.shipment_id AS key, \
                 CASE WHEN s.status IN ('returned', 'lost') THEN '1000000' \
                      ELSE CAST((CAST(now() AS BIGINT) - CAST(COALESCE(l.t, s.shipped_at) AS BIGINT)) / 3600000000 AS VARCHAR) END AS value, \
                 '{hours}' AS threshold, \
                 s.carrier || ' ' || s.tracking_no || ' (' || s.status || ', order ' || s.order_id || ')' AS label \
                 FROM shipments s LEFT JOIN last l ON l.shipment_id = s.shipment_id \
                 WHERE s.status IN ('shipped', 'in_transit', 'returned', 'lost')"
            )
        }
        Builtin::ReconBreaks => {
            let amount = t.unwrap_or_else(|| "0".into());
            format!(
                "SELECT break_id AS key, CAST(amount_at_stake AS VARCHAR) AS value, '{amount}' AS threshold, \
                 check_name || ': ' || kind || ' ' || COALESCE(shop_id, '') AS label \
                 FROM recon_breaks WHERE status = 'open'"
            )
        }
        Builtin::QuarantinedRecords => {
            let n = t.unwrap_or_else(|| "0".into());
            format!(
                "SELECT connector || '/' || stream AS key, CAST(COUNT(*) AS VARCHAR) AS value, '{n}' AS threshold, \
                 connector || ' ' || stream || ': ' || CAST(COUNT(*) AS VARCHAR) || ' record(s) set aside in the last day, e.g. ' || MIN(reason) AS label \
                 FROM quarantined_records WHERE fetched_at >= now() - INTERVAL '1 day' GROUP BY connector, stream"
            )
        }
        Builtin::SalesDrop => {
            let pct = t.unwrap_or_else(|| "70".into());
            format!(
                "WITH d AS (SELECT CAST(now() AT TIME ZONE 'Asia/Shanghai' AS DATE) - INTERVAL '1 day' AS y), \
                 cur AS (SELECT shop_id, SUM(gmv) AS gmv FROM mart_daily_sales, d WHERE order_date = d.y GROUP BY shop_id), \
                 prev AS (SELECT shop_id, SUM(gmv) AS gmv FROM mart_daily_sales, d WHERE order_date = d.y - INTERVAL '7 days' GROUP BY shop_id) \
                 SELECT prev.shop_id AS key, CAST(CAST(COALESCE(cur.gmv, 0) * 100 / prev.gmv AS DECIMAL(18,2)) AS VARCHAR) AS value, \
                 '{pct}' AS threshold, prev.shop_id || ': ' || CAST(COALESCE(cur.gmv, 0) AS VARCHAR) || ' vs ' || CAST(prev.gmv AS VARCHAR) AS label \
                 FROM prev LEFT JOIN cur ON cur.shop_id = prev.shop_id WHERE prev.gmv > 0"
            )
        }
        Builtin::FailingSync | Builtin::StuckJob => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_fixed_point_and_ops_have_a_hysteresis_band() {
        assert_eq!(num("12.3"), Some(123_000));
        assert_eq!(num("-0.0001"), Some(-1));
        assert_eq!(num("7"), Some(70_000));
        assert_eq!(
            num("1.23456"),
            Some(12_345),
            "extra places are cut, not rounded"
        );
        for bad in ["", "-", "1e3", "abc", "1.2.3", "NaN"] {
            assert_eq!(num(bad), None, "{bad}");
        }
        // Fires below 10, clears only at 12 or more.
        assert!(Op::Lt.holds(num("9").expect("n"), num("10").expect("n")));
        assert!(!Op::Lt.recovered(num("11").expect("n"), num("12").expect("n")));
        assert!(Op::Lt.recovered(num("12").expect("n"), num("12").expect("n")));
        assert!(Op::Gt.recovered(num("5").expect("n"), num("5").expect("n")));
    }

    #[test]
    fn rules_are_checked_against_channels_and_numbers() {
        let mut r: Rule = toml::from_str(
            "name = \"low\"\nbuiltin = \"low_stock\"\nchannels = [\"ops\"]\nthreshold = 5",
        )
        .expect("toml");
        assert_eq!(r.threshold.as_deref(), Some("5"));
        assert!(r.validate(&["ops"]).is_ok());
        assert!(
            r.validate(&["mail"])
                .expect_err("channel")
                .contains("unknown channel")
        );
        r.sql = Some("select 1".into());
        assert!(r.validate(&["ops"]).expect_err("both").contains("not both"));
        r.sql = None;
        r.threshold = Some("lots".into());
        assert!(
            r.validate(&["ops"])
                .expect_err("num")
                .contains("not a number")
        );
        assert!(
            toml::from_str::<Rule>("name = \"x\"\nbuiltin = \"moon_phase\"\nchannels = []")
                .is_err()
        );
    }
}
