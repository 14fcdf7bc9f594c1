//! The forecast's inputs, read from the lake with SQL.
//!
//! - **Demand**: units of `order_items` per SKU and `orders.order_date`, for orders that are
//!   not `closed` (closed = never paid, refunded before shipping, or returned), over the
//!   [`HISTORY_DAYS`] days up to the as-of date (enough for last year's campaigns), dense by
//!   date. Every physical SKU of `skus` gets a series (virtual goods need no purchasing).
//!   Days that began with no stock (the SKU's `stock_snapshots` summed over warehouses were
//!   zero the evening before) are marked, so the model does not read them as no demand.
//! - **Campaigns**: every row of `campaigns`, past and future.
//! - **Stock**: per SKU and warehouse, `on_hand` of the latest `stock_snapshots` row on or
//!   before the as-of date.
//! - **On order**: purchase order lines of POs placed by the as-of date and still open then:
//!   status `ordered`/`partial`, or `received` with its receipts after the as-of date; the
//!   line's quantity less what was received by the as-of date, into the PO's warehouse.
//! - **Supplier and lead time**: the skus table has no supplier, so a SKU's supplier is the
//!   one of its latest purchase order line, with that supplier's `lead_time_days`; SKUs never
//!   bought use the default lead time.
//! - **Warehouse share**: a SKU stocked in several warehouses splits its demand by their
//!   shares of its outbound stock movements over the last 90 days (equally when none).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow::array::{ArrayRef, AsArray};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Date32Type, Decimal128Type, Int64Type, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{Days, NaiveDate};
use warehouse::Warehouse;

use super::ForecastError;
use super::calendar::{CampaignDays, History};
use super::suggest::{Position, SuggestSettings};

/// Days of sales history read before the as-of date.
pub const HISTORY_DAYS: u64 = 450;

/// Static facts of a SKU.
#[derive(Debug, Clone)]
pub struct SkuInfo {
    pub cost_fen: i64,
    pub is_virtual: bool,
    pub lifecycle: String,
}

/// Everything the forecast reads from the lake.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The last day of history.
    pub as_of: NaiveDate,
    pub history: History,
    pub campaigns: Vec<CampaignDays>,
    pub skus: HashMap<String, SkuInfo>,
    /// Stocked (or on order) SKUs per warehouse, not discontinued, in SKU order.
    pub positions: Vec<Position>,
    /// Outbound units per (sku, warehouse) over the last 90 days.
    pub outbound: HashMap<(String, String), i64>,
}

impl Inputs {
    /// The part of its SKU's demand each position's warehouse serves, in `positions` order.
    pub fn shares(&self) -> Vec<f64> {
        let out = |p: &Position| {
            self.outbound
                .get(&(p.sku_id.clone(), p.warehouse_id.clone()))
                .copied()
                .unwrap_or(0)
                .max(0)
        };
        let mut per_sku: HashMap<&str, (usize, i64)> = HashMap::new();
        for p in &self.positions {
            let e = per_sku.entry(p.sku_id.as_str()).or_default();
            e.0 += 1;
            e.1 += out(p);
        }
        self.positions
            .iter()
            .map(|p| match per_sku.get(p.sku_id.as_str()) {
                None | Some((0 | 1, _)) => 1.0,
                Some((n, 0)) => 1.0 / *n as f64,
                Some((_, total)) => out(p) as f64 / *total as f64,
            })
            .collect()
    }
}

/// A query result as one batch, with typed column readers.
struct Rows {
    what: &'static str,
    batch: Option<RecordBatch>,
}

impl Rows {
    async fn query(wh: &Warehouse, what: &'static str, sql: &str) -> Result<Rows, ForecastError> {
        let batches = wh
            .query(sql)
            .await
            .map_err(|source| ForecastError::Query { what, source })?;
        let batch = match batches.first() {
            None => None,
            Some(b) => Some(
                concat_batches(&b.schema(), &batches)
                    .map_err(|source| ForecastError::Batch { what, source })?,
            ),
        };
        Ok(Rows { what, batch })
    }

    fn len(&self) -> usize {
        self.batch.as_ref().map_or(0, RecordBatch::num_rows)
    }

    fn column(&self, name: &str, to: &DataType) -> Result<Option<ArrayRef>, ForecastError> {
        let Some(b) = &self.batch else {
            return Ok(None);
        };
        let bad = || ForecastError::Column {
            what: self.what,
            column: name.to_string(),
        };
        let col = b.column_by_name(name).ok_or_else(bad)?;
        cast(col, to).map(Some).map_err(|_| bad())
    }

    fn strings(&self, name: &str) -> Result<Vec<Option<String>>, ForecastError> {
        Ok(match self.column(name, &DataType::Utf8)? {
            None => Vec::new(),
            Some(a) => a
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        })
    }

    fn ints(&self, name: &str) -> Result<Vec<Option<i64>>, ForecastError> {
        Ok(match self.column(name, &DataType::Int64)? {
            None => Vec::new(),
            Some(a) => a.as_primitive::<Int64Type>().iter().collect(),
        })
    }

    fn bools(&self, name: &str) -> Result<Vec<Option<bool>>, ForecastError> {
        Ok(match self.column(name, &DataType::Boolean)? {
            None => Vec::new(),
            Some(a) => a.as_boolean().iter().collect(),
        })
    }

    fn dates(&self, name: &str) -> Result<Vec<Option<NaiveDate>>, ForecastError> {
        Ok(match self.column(name, &DataType::Date32)? {
            None => Vec::new(),
            Some(a) => a
                .as_primitive::<Date32Type>()
                .iter()
                .map(|v| v.and_then(from_days))
                .collect(),
        })
    }

    /// Microseconds since the epoch of a timestamp column.
    fn micros(&self, name: &str) -> Result<Vec<Option<i64>>, ForecastError> {
        let Some(ts) = self.column(name, &DataType::Timestamp(TimeUnit::Microsecond, None))? else {
            return Ok(Vec::new());
        };
        let a = cast(&ts, &DataType::Int64).map_err(|_| ForecastError::Column {
            what: self.what,
            column: name.to_string(),
        })?;
        Ok(a.as_primitive::<Int64Type>().iter().collect())
    }

    /// A money column in fen, exactly.
    fn fen(&self, name: &str) -> Result<Vec<Option<i64>>, ForecastError> {
        let Some(a) = self.column(name, &DataType::Decimal128(38, 2))? else {
            return Ok(Vec::new());
        };
        a.as_primitive::<Decimal128Type>()
            .iter()
            .map(|v| {
                v.map(|x| {
                    i64::try_from(x).map_err(|_| ForecastError::Overflow {
                        what: format!("{}: `{name}` {x} fen", self.what),
                    })
                })
                .transpose()
            })
            .collect()
    }
}

fn from_days(d: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(d.checked_add(719_163)?)
}

fn missing(what: &'static str, column: &str) -> ForecastError {
    ForecastError::Column {
        what,
        column: column.to_string(),
    }
}

/// Microseconds of Shanghai midnight starting the day after `d` (UTC+8, no daylight saving).
fn end_of_day_us(d: NaiveDate) -> i64 {
    let next = d.succ_opt().unwrap_or(d);
    next.and_hms_opt(0, 0, 0)
        .map_or(i64::MAX, |t| t.and_utc().timestamp_micros())
        - 8 * 3_600_000_000
}

/// Reads the sales history and campaign calendar up to `as_of` (default: the latest order
/// date); `positions` and `outbound` are left empty.
pub(crate) async fn load_history(
    wh: &Warehouse,
    as_of: Option<NaiveDate>,
) -> Result<Inputs, ForecastError> {
    let as_of = match as_of {
        Some(d) => d,
        None => {
            let what = "finding the latest order date";
            let r = Rows::query(wh, what, "select max(order_date) as d from orders").await?;
            r.dates("d")?
                .first()
                .copied()
                .flatten()
                .ok_or(ForecastError::NoHistory)?
        }
    };
    let from = as_of
        .checked_sub_days(Days::new(HISTORY_DAYS - 1))
        .unwrap_or(as_of);

    let what = "reading skus";
    let r = Rows::query(
        wh,
        what,
        "select sku_id, cost_price, is_virtual, lifecycle from skus",
    )
    .await?;
    let mut skus = HashMap::new();
    for (((id, cost), virt), life) in r
        .strings("sku_id")?
        .into_iter()
        .zip(r.fen("cost_price")?)
        .zip(r.bools("is_virtual")?)
        .zip(r.strings("lifecycle")?)
    {
        let id = id.ok_or_else(|| missing(what, "sku_id"))?;
        skus.insert(
            id,
            SkuInfo {
                cost_fen: cost.unwrap_or(0),
                is_virtual: virt.unwrap_or(false),
                lifecycle: life.unwrap_or_default(),
            },
        );
    }

    let what = "reading daily units sold";
    let r = Rows::query(
        wh,
        what,
        &format!(
            "select i.sku_id, o.order_date, sum(i.qty) as units \
             from order_items i join orders o on o.order_id = i.order_id \
             where o.status <> 'closed' and o.order_date >= DATE '{from}' \
               and o.order_date <= DATE '{as_of}' \
             group by i.sku_id, o.order_date",
        ),
    )
    .await?;
    let mut sales: BTreeMap<String, Vec<(NaiveDate, i64)>> = BTreeMap::new();
    for ((sku, d), u) in r
        .strings("sku_id")?
        .into_iter()
        .zip(r.dates("order_date")?)
        .zip(r.ints("units")?)
    {
        let (Some(sku), Some(d), Some(u)) = (sku, d, u) else {
            continue;
        };
        sales.entry(sku).or_default().push((d, u));
    }
    let first = sales
        .values()
        .flat_map(|v| v.iter().map(|(d, _)| *d))
        .min()
        .ok_or(ForecastError::NoHistory)?;
    let n = usize::try_from((as_of - first).num_days() + 1).unwrap_or(0);
    let names: BTreeSet<String> = skus
        .iter()
        .filter(|(_, s)| !s.is_virtual)
        .map(|(id, _)| id.clone())
        .chain(sales.keys().filter(|k| !skus.contains_key(*k)).cloned())
        .collect();
    let mut units = Vec::with_capacity(names.len());
    for name in &names {
        let mut u = vec![0.0; n];
        for (d, q) in sales.get(name).map(Vec::as_slice).unwrap_or_default() {
            if let Ok(i) = usize::try_from((*d - first).num_days())
                && i < n
            {
                u[i] += *q as f64;
            }
        }
        units.push(u);
    }

    // Days that began with no stock: the SKU's snapshots summed over its warehouses were
    // zero (or less) at the end of the day before.
    let what = "reading days out of stock";
    let r = Rows::query(
        wh,
        what,
        &format!(
            "select sku_id, snapshot_date from stock_snapshots \
             where snapshot_date >= DATE '{from}' and snapshot_date < DATE '{as_of}' \
             group by sku_id, snapshot_date having sum(on_hand) <= 0",
        ),
    )
    .await?;
    let mut empty: HashMap<String, Vec<usize>> = HashMap::new();
    for (sku, d) in r
        .strings("sku_id")?
        .into_iter()
        .zip(r.dates("snapshot_date")?)
    {
        if let (Some(sku), Some(d)) = (sku, d)
            && let Ok(i) = usize::try_from((d - first).num_days() + 1)
            && i < n
        {
            empty.entry(sku).or_default().push(i);
        }
    }
    let out_of_stock = names
        .iter()
        .map(|s| {
            let mut v = empty.remove(s).unwrap_or_default();
            v.sort_unstable();
            v
        })
        .collect();
    let history = History {
        first,
        skus: names.into_iter().collect(),
        units,
        out_of_stock,
    };

    let what = "reading campaigns";
    let r = Rows::query(
        wh,
        what,
        "select campaign_id, name, start_date, end_date, peak_date from campaigns \
         order by start_date, campaign_id",
    )
    .await?;
    let mut campaigns = Vec::new();
    for ((((id, name), start), end), peak) in r
        .strings("campaign_id")?
        .into_iter()
        .zip(r.strings("name")?)
        .zip(r.dates("start_date")?)
        .zip(r.dates("end_date")?)
        .zip(r.dates("peak_date")?)
    {
        let (Some(id), Some(start), Some(end)) = (id, start, end) else {
            continue;
        };
        campaigns.push(CampaignDays {
            name: name.unwrap_or_else(|| id.clone()),
            id,
            start,
            end,
            peak,
        });
    }
    Ok(Inputs {
        as_of,
        history,
        campaigns,
        skus,
        positions: Vec::new(),
        outbound: HashMap::new(),
    })
}

/// Reads everything a suggestion needs, up to `as_of` (default: the latest order date).
pub async fn load(
    wh: &Warehouse,
    as_of: Option<NaiveDate>,
    settings: &SuggestSettings,
) -> Result<Inputs, ForecastError> {
    let mut inputs = load_history(wh, as_of).await?;
    let as_of = inputs.as_of;
    let bound = end_of_day_us(as_of);

    let what = "reading the latest stock snapshots";
    let r = Rows::query(
        wh,
        what,
        &format!(
            "select s.sku_id, s.warehouse_id, s.on_hand from stock_snapshots s \
             join (select sku_id, warehouse_id, max(snapshot_date) as d from stock_snapshots \
                   where snapshot_date <= DATE '{as_of}' group by sku_id, warehouse_id) m \
             on s.sku_id = m.sku_id and s.warehouse_id = m.warehouse_id \
                and s.snapshot_date = m.d",
        ),
    )
    .await?;
    let mut stock: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((sku, w), q) in r
        .strings("sku_id")?
        .into_iter()
        .zip(r.strings("warehouse_id")?)
        .zip(r.ints("on_hand")?)
    {
        if let (Some(sku), Some(w)) = (sku, w) {
            stock.entry((sku, w)).or_default().0 += q.unwrap_or(0);
        }
    }

    let what = "reading receipts of purchase order lines";
    let r = Rows::query(
        wh,
        what,
        &format!(
            "select po_line_id, \
               sum(case when receipt_date <= DATE '{as_of}' then qty_received else 0 end) as got, \
               sum(case when receipt_date > DATE '{as_of}' then 1 else 0 end) as later \
             from purchase_receipts group by po_line_id",
        ),
    )
    .await?;
    let mut receipts: HashMap<String, (i64, i64)> = HashMap::new();
    for ((line, got), later) in r
        .strings("po_line_id")?
        .into_iter()
        .zip(r.ints("got")?)
        .zip(r.ints("later")?)
    {
        if let Some(line) = line {
            receipts.insert(line, (got.unwrap_or(0), later.unwrap_or(0)));
        }
    }

    let what = "reading purchase order lines";
    let r = Rows::query(
        wh,
        what,
        "select l.po_line_id, l.sku_id, l.qty, p.po_id, p.warehouse_id, p.status, p.ordered_at, \
           s.lead_time_days \
         from purchase_order_lines l join purchase_orders p on p.po_id = l.po_id \
         left join suppliers s on s.supplier_id = p.supplier_id",
    )
    .await?;
    let line_ids = r.strings("po_line_id")?;
    let sku_ids = r.strings("sku_id")?;
    let qtys = r.ints("qty")?;
    let po_ids = r.strings("po_id")?;
    let whs = r.strings("warehouse_id")?;
    let statuses = r.strings("status")?;
    let ordered = r.micros("ordered_at")?;
    let leads = r.ints("lead_time_days")?;
    // Latest line per SKU: (ordered_at, po_id) -> lead time.
    let mut latest: HashMap<String, ((i64, String), Option<i64>)> = HashMap::new();
    for i in 0..r.len() {
        let (Some(line), Some(sku), Some(po), Some(w), Some(at)) = (
            line_ids[i].clone(),
            sku_ids[i].clone(),
            po_ids[i].clone(),
            whs[i].clone(),
            ordered[i],
        ) else {
            continue;
        };
        if at >= bound {
            continue;
        }
        let key = (at, po);
        match latest.get(&sku) {
            Some((k, _)) if *k >= key => {}
            _ => {
                latest.insert(sku.clone(), (key, leads[i]));
            }
        }
        let status = statuses[i].as_deref().unwrap_or("");
        let (got, later) = receipts.get(&line).copied().unwrap_or((0, 0));
        let open = matches!(status, "ordered" | "partial") || (status == "received" && later > 0);
        if open {
            let left = (qtys[i].unwrap_or(0) - got).max(0);
            stock.entry((sku, w)).or_default().1 += left;
        }
    }

    let what = "reading outbound stock movements";
    let since = as_of.checked_sub_days(Days::new(90)).unwrap_or(as_of);
    let r = Rows::query(
        wh,
        what,
        &format!(
            "select sku_id, warehouse_id, sum(-qty) as units from stock_movements \
             where kind = 'out' and move_date > DATE '{since}' and move_date <= DATE '{as_of}' \
             group by sku_id, warehouse_id",
        ),
    )
    .await?;
    for ((sku, w), u) in r
        .strings("sku_id")?
        .into_iter()
        .zip(r.strings("warehouse_id")?)
        .zip(r.ints("units")?)
    {
        if let (Some(sku), Some(w)) = (sku, w) {
            inputs.outbound.insert((sku, w), u.unwrap_or(0));
        }
    }

    for ((sku, w), (on_hand, on_order)) in stock {
        let Some(info) = inputs.skus.get(&sku) else {
            continue;
        };
        if info.is_virtual || info.lifecycle == "discontinued" {
            continue;
        }
        let lead = latest
            .get(&sku)
            .and_then(|(_, l)| *l)
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(settings.default_lead_days);
        inputs.positions.push(Position {
            cost_fen: info.cost_fen,
            sku_id: sku,
            warehouse_id: w,
            on_hand,
            on_order,
            lead_days: lead,
        });
    }
    Ok(inputs)
}
