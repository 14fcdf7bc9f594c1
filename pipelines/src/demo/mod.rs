//! `zhongtai demo`: a seeded, realistic e-commerce world loaded into the lake.
//!
//! The generator ([`Gen`]) walks the calendar one business day at a time and emits rows for
//! every canonical table into [`bufs::Bufs`]; each slice of at most [`SLICE_ORDERS`] orders is
//! sent as a chunk of `RecordBatch`es through a bounded channel to a writer task that streams
//! them into one [`warehouse::Appender`] per table. Memory is therefore bounded by a couple of
//! chunks plus the Parquet row groups in flight, whatever `--orders` is. Every table gets one
//! commit at the end. The generator keeps its own [`Ledger`], which the summary prints and the
//! tests compare with SQL over the lake.
//!
//! Submodules: `world` (shops, catalog, partners), `calendar` (seasonality and campaigns),
//! `orders` (an order's life), `stock` (the stock book), `dims` (dimension rows), `bufs` (one
//! [`crate::rows::TableBuf`] per table: typed pushes, each naming its column, checked against
//! the schema), `ledger`, `clock`.

mod bufs;
mod calendar;
mod clock;
mod dims;
mod jushuitan_docs;
mod ledger;
mod orders;

mod stock;
mod world;

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use warehouse::{Appender, Owner, Warehouse};

pub use jushuitan_docs::{jushuitan_orders, jushuitan_world};
pub use ledger::{Ledger, yuan};

use crate::error::{PipelineError, Result};
use bufs::Bufs;
use calendar::Campaign;
use clock::{US_PER_HOUR, days, midnight_us};
use stock::StockBook;
use world::{SHOPS, World, cdf};

/// Orders per chunk sent to the writer.
pub const SLICE_ORDERS: u64 = 20_000;
/// The `source` value of every demo row.
pub const DEMO_SOURCE: &str = "demo";

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub orders: u64,
    pub skus: usize,
    pub days: u32,
    /// Last business day of the world (its "now" is the end of that day, Asia/Shanghai).
    pub end_date: NaiveDate,
    pub seed: u64,
}

impl DemoConfig {
    /// First business day.
    pub fn start_date(&self) -> NaiveDate {
        self.end_date - chrono::Days::new(u64::from(self.days.saturating_sub(1)))
    }
}

/// Progress callbacks from a running demo.
#[derive(Debug, Clone, Copy)]
pub enum DemoProgress {
    /// Orders generated so far.
    Orders(u64),
    /// Committing table `n` of `total`.
    Committing {
        table: &'static str,
        n: usize,
        total: usize,
    },
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub ledger: Ledger,
    /// Table versions after the commits.
    pub versions: Vec<(&'static str, u64)>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

#[derive(Debug, Default)]
pub(crate) struct Seq {
    order: u64,
    payment: u64,
    refund: u64,
    shipment: u64,
    event: u64,
    movement: u64,
    bill: u64,
    cod: u64,
    statement: u64,
    po: u64,
    receipt: u64,
    expense: u64,
    salary: u64,
}

/// The generator's state.
pub(crate) struct Gen {
    rng: ChaCha8Rng,
    world: World,
    now: i64,
    first: i32,
    last: i32,
    campaigns: Vec<Campaign>,
    bufs: Bufs,
    seq: Seq,
    stock: StockBook,
    ledger: Ledger,
    /// Expected units per day of each SKU on a day of weight 1.0.
    demand: Vec<f64>,
    day_gmv: Vec<i64>,
    day_orders: Vec<u64>,
}

impl Gen {
    fn new(cfg: &DemoConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let world = World::generate(cfg.skus.max(10), &mut rng);
        let first = days(cfg.start_date());
        let last = days(cfg.end_date);
        let campaigns = calendar::campaigns(first - 40, last + 40);
        let weight_sum: f64 = (first..=last)
            .map(|d| calendar::day_weight(d, &campaigns))
            .sum();
        let units_per_weight = cfg.orders as f64 / weight_sum.max(1.0) * 1.64;
        let demand = world
            .popularity
            .iter()
            .map(|p| p * units_per_weight)
            .collect();
        let n = world.skus.len();
        Gen {
            rng,
            world,
            now: midnight_us(last + 1) - 1,
            first,
            last,
            campaigns,
            bufs: Bufs::new(DEMO_SOURCE),
            seq: Seq::default(),
            stock: StockBook::new(n),
            ledger: Ledger::default(),
            demand,
            day_gmv: vec![0; SHOPS.len()],
            day_orders: vec![0; SHOPS.len()],
        }
    }

    /// Highest demand weight in the coming weeks, so stock is built up before a campaign.
    fn weight_ahead(&self, day: i32) -> f64 {
        (day + 1..=day + 25)
            .map(|d| calendar::day_weight(d, &self.campaigns))
            .fold(1.0, f64::max)
    }

    fn opening_stock(&mut self) {
        let ahead = self.weight_ahead(self.first);
        for k in 0..self.world.skus.len() {
            if self.world.skus[k].is_virtual {
                continue;
            }
            let qty = (self.demand[k] * ahead * 30.0).ceil() as i64 + 5;
            self.stock.available[k] = qty;
            let cost = self.world.skus[k].cost;
            self.movement(
                k,
                "adjust",
                qty,
                cost,
                midnight_us(self.first),
                "opening",
                "OPENING",
            );
        }
    }

    /// Closes a business day: books stock, buys what runs low, snapshots stock, and writes the
    /// day's marketing spend, traffic and (on the 10th) last month's salaries.
    fn end_of_day(&mut self, day: i32) {
        self.stock.close_day(day);
        self.replenish(day);
        for (k, s) in self.world.skus.iter().enumerate() {
            if s.is_virtual {
                continue;
            }
            let b = &mut self.bufs.stock_snapshots;
            b.date("snapshot_date", day)
                .text("sku_id", &s.id)
                .text("warehouse_id", world::WAREHOUSES[s.warehouse].0)
                .int("on_hand", self.stock.on_hand[k])
                .money("unit_cost", s.cost)
                .end();
        }
        let campaign = calendar::campaign_on(day, &self.campaigns).map(|c| c.id.clone());
        for (i, shop) in SHOPS.iter().enumerate() {
            self.marketing(day, i, campaign.as_deref());
            let boost = if campaign.is_some() { 1.3 } else { 1.0 };
            let visitors = (self.day_orders[i] as f64 / (shop.conversion * boost)
                * self.rng.random_range(0.9..1.1)) as i64;
            let pv = visitors * self.rng.random_range(3..7);
            self.bufs
                .shop_traffic
                .text("shop_id", shop.id)
                .date("traffic_date", day)
                .int("visitors", visitors.max(1))
                .int("page_views", pv.max(1))
                .end();
        }
        self.day_gmv.iter_mut().for_each(|g| *g = 0);
        self.day_orders.iter_mut().for_each(|g| *g = 0);
        if clock::date(day).day() == 10 {
            self.salaries(day);
        }
    }

    fn marketing(&mut self, day: i32, shop_i: usize, campaign: Option<&str>) {
        let shop = &SHOPS[shop_i];
        let channels: &[(&str, &str)] = match shop.platform {
            "taobao" | "tmall" => &[("ztc", "ads"), ("ylmf", "ads")],
            "jd" => &[("jingzhuntong", "ads")],
            "douyin" => &[("qianchuan", "ads"), ("kol", "kol")],
            _ => &[("wechat_ads", "ads")],
        };
        let budget = self.day_gmv[shop_i] * self.rng.random_range(4..9) / 100;
        let n = channels.len() as i64;
        for (ci, (channel, kind)) in channels.iter().enumerate() {
            // An equal split; the last channel takes the remainder, so the parts sum to the budget.
            let amount = budget / n + if ci as i64 == n - 1 { budget % n } else { 0 };
            if amount <= 0 {
                continue;
            }
            let via_platform = shop.platform != "internal" && *kind == "ads";
            self.seq.expense += 1;
            let e = &mut self.bufs.marketing_expenses;
            e.text_fmt("expense_id", format_args!("MK{:08}", self.seq.expense))
                .text("shop_id", shop.id)
                .text("platform", shop.platform)
                .text("channel", channel)
                .text("kind", kind);
            e.money("amount", amount)
                .date("spend_date", day)
                .opt_text("campaign_id", campaign)
                .bool("paid_via_platform", via_platform)
                .end();
            self.ledger.money("marketing_expenses.amount", amount);
            if via_platform {
                self.bill(
                    shop_i,
                    None,
                    "marketing",
                    -amount,
                    midnight_us(day) + 23 * US_PER_HOUR,
                );
            }
        }
    }

    fn salaries(&mut self, day: i32) {
        let period = clock::month_of(day - 15);
        let mut emp = 0usize;
        for (dept, count, base) in world::DEPARTMENTS {
            for _ in 0..*count {
                emp += 1;
                let shop = matches!(*dept, "operations" | "customer_service")
                    .then(|| SHOPS[emp % SHOPS.len()].id);
                let gross = (base * self.rng.random_range(85..=115) / 100) / 100 * 100;
                self.seq.salary += 1;
                let s = &mut self.bufs.salaries;
                s.text_fmt("salary_id", format_args!("SAL{:07}", self.seq.salary))
                    .text_fmt("employee_id", format_args!("E{emp:03}"));
                s.text_fmt(
                    "employee_name",
                    format_args!(
                        "{}{}",
                        world::SURNAMES[emp % world::SURNAMES.len()],
                        world::GIVEN[emp * 7 % world::GIVEN.len()]
                    ),
                );
                s.text("department", dept)
                    .opt_text("shop_id", shop)
                    .text("period", &period)
                    .money("gross_amount", gross)
                    .date("paid_date", day)
                    .end();
                self.ledger.money("salaries.gross_amount", gross);
            }
        }
    }

    /// Raises purchase orders for SKUs whose available plus on-order stock is below the
    /// reorder point, one PO per supplier, and books their arrival.
    fn replenish(&mut self, day: i32) {
        let ahead = self.weight_ahead(day);
        let mut by_supplier: HashMap<usize, Vec<(usize, i64)>> = HashMap::new();
        for (k, s) in self.world.skus.iter().enumerate() {
            if s.is_virtual {
                continue;
            }
            let lead = self.world.suppliers[s.supplier].lead_days as f64;
            let rate = self.demand[k] * ahead;
            let rop = rate * (lead + 7.0);
            if ((self.stock.available[k] + self.stock.on_order[k]) as f64) < rop {
                let qty = ((rate * 30.0 / 10.0).ceil() as i64 * 10).max(10);
                by_supplier.entry(s.supplier).or_default().push((k, qty));
            }
        }
        let mut suppliers: Vec<_> = by_supplier.into_iter().collect();
        suppliers.sort_by_key(|(s, _)| *s);
        for (sup, lines) in suppliers {
            self.purchase(day, sup, &lines);
        }
    }

    fn purchase(&mut self, day: i32, sup: usize, lines: &[(usize, i64)]) {
        let supplier = self.world.suppliers[sup].clone();
        self.seq.po += 1;
        let po_id = format!("PO{:07}", self.seq.po);
        let ordered_at = midnight_us(day) + 17 * US_PER_HOUR;
        let arrival = ordered_at
            + (supplier.lead_days + self.rng.random_range(-2..=3)).max(1) * clock::US_PER_DAY
            - self.rng.random_range(0..6) * US_PER_HOUR;
        let arrived = arrival <= self.now;
        let wh = world::WAREHOUSES[self.world.skus[lines[0].0].warehouse].0;
        let mut total = 0;
        for (i, &(k, qty)) in lines.iter().enumerate() {
            let sku = self.world.skus[k].clone();
            let line_id = format!("{po_id}-{}", i + 1);
            total += qty * sku.cost;
            self.stock.on_order[k] += qty;
            let l = &mut self.bufs.purchase_order_lines;
            l.text("po_line_id", &line_id)
                .text("po_id", &po_id)
                .text("sku_id", &sku.id)
                .int("qty", qty)
                .money("unit_cost", sku.cost)
                .money("amount", qty * sku.cost)
                .end();
            if !arrived {
                continue;
            }
            let received = if self.rng.random_bool(0.03) {
                qty * 9 / 10
            } else {
                qty
            };
            let (rejected, qc) = match self.rng.random::<f64>() {
                u if u < 0.95 => (0, "pass"),
                u if u < 0.99 => (
                    (received * self.rng.random_range(1..=10) / 100).max(1),
                    "partial",
                ),
                _ => (received, "fail"),
            };
            let accepted = received - rejected;
            self.seq.receipt += 1;
            let rid = format!("RC{:08}", self.seq.receipt);
            let r = &mut self.bufs.purchase_receipts;
            r.text("receipt_id", &rid)
                .text("po_id", &po_id)
                .text("po_line_id", &line_id)
                .text("sku_id", &sku.id)
                .ts("received_at", arrival)
                .date("receipt_date", clock::biz_day(arrival));
            r.int("qty_received", received)
                .int("qty_accepted", accepted)
                .int("qty_rejected", rejected)
                .text("qc_result", qc)
                .end();
            if accepted > 0 {
                self.seq.movement += 1;
                let m = &mut self.bufs.stock_movements;
                m.text_fmt("movement_id", format_args!("MV{:011}", self.seq.movement))
                    .text("sku_id", &sku.id)
                    .text("warehouse_id", world::WAREHOUSES[sku.warehouse].0);
                m.text_fmt(
                    "location_id",
                    format_args!("L{}-{:05}", sku.warehouse + 1, k + 1),
                )
                .text("kind", "in")
                .int("qty", accepted)
                .money("unit_cost", sku.cost)
                .ts("moved_at", arrival);
                m.date("move_date", clock::biz_day(arrival))
                    .text("ref_type", "purchase_receipt")
                    .text("ref_id", &rid)
                    .end();
            }
            self.stock
                .book_arrival(clock::biz_day(arrival), k, qty, accepted);
            let billed_at = arrival + self.rng.random_range(1..6) * clock::US_PER_DAY;
            if billed_at <= self.now && accepted > 0 {
                let b = &mut self.bufs.supplier_bills;
                b.text_fmt("bill_line_id", format_args!("SB{:08}", self.seq.receipt))
                    .text("supplier_id", &supplier.id)
                    .text("po_id", &po_id)
                    .text("po_line_id", &line_id)
                    .text("sku_id", &sku.id);
                b.int("qty", accepted)
                    .money("amount", accepted * sku.cost)
                    .ts("billed_at", billed_at)
                    .end();
                self.ledger
                    .money("supplier_bills.amount", accepted * sku.cost);
            }
        }
        let p = &mut self.bufs.purchase_orders;
        p.text("po_id", &po_id)
            .text("supplier_id", &supplier.id)
            .text("warehouse_id", wh)
            .text("status", if arrived { "received" } else { "ordered" })
            .ts("ordered_at", ordered_at);
        p.date("promised_date", day + supplier.lead_days as i32)
            .money("total_amount", total)
            .end();
    }

    /// Takes all buffered rows, counting them in the ledger.
    fn chunk(&mut self) -> Vec<(&'static str, RecordBatch)> {
        let out = self.bufs.take_all();
        for (t, b) in &out {
            *self.ledger.rows.entry((*t).to_string()).or_default() += b.num_rows() as u64;
        }
        out
    }

    /// Generates the world, calling `emit` with each chunk.
    fn run(
        mut self,
        cfg: &DemoConfig,
        mut emit: impl FnMut(Vec<(&'static str, RecordBatch)>, u64) -> bool,
    ) -> Ledger {
        self.dimensions();
        self.opening_stock();
        let per_day = calendar::orders_per_day(
            cfg.orders,
            self.first,
            self.last,
            &self.campaigns,
            &mut self.rng,
        );
        let mut done = 0u64;
        for (i, day) in (self.first..=self.last).enumerate() {
            let campaign =
                calendar::campaign_on(day, &self.campaigns).map(|c| (c.id.clone(), c.peak == day));
            let hours =
                cdf(calendar::hour_weights(campaign.as_ref().is_some_and(|c| c.1)).into_iter());
            let mut left = per_day[i];
            while left > 0 {
                let n = left.min(SLICE_ORDERS);
                for _ in 0..n {
                    self.order(day, &hours, campaign.as_ref().map(|c| c.0.as_str()));
                }
                left -= n;
                done += n;
                if left > 0 && !emit(self.chunk(), done) {
                    return self.ledger;
                }
            }
            self.end_of_day(day);
            if !emit(self.chunk(), done) {
                return self.ledger;
            }
        }
        self.ledger
    }
}

/// Generates the demo world into `wh`. Refuses a lake that already holds rows unless `reset`,
/// which empties every canonical table first (as new Delta versions; old ones stay readable by
/// time travel until vacuumed).
///
/// With `divert`, the orders, their lines and payments are not written: they become Jushuitan
/// order documents in that simulator world, for the caller to sync through the connector.
pub async fn run_demo(
    wh: &Warehouse,
    cfg: &DemoConfig,
    reset: bool,
    divert: Option<&connectors::jushuitan::sim::SimWorld>,
    progress: &(dyn Fn(DemoProgress) + Sync),
) -> Result<DemoReport> {
    let infos = wh.tables_info().await?;
    let non_empty: Vec<&str> = infos
        .iter()
        .filter(|t| t.rows > 0)
        .map(|t| t.name)
        .collect();
    if !non_empty.is_empty() {
        if !reset {
            return Err(PipelineError::LakeNotEmpty {
                tables: non_empty.join(", "),
            });
        }
        for t in &non_empty {
            // The lake owner resetting the lake: every owner's rows go (time travel keeps them).
            wh.write(t, Owner::Any)
                .writer("demo --reset")
                .delete_all()
                .await?;
        }
    }
    let mut appenders: HashMap<&'static str, Appender> = HashMap::new();
    for def in warehouse::schema::CATALOG {
        let op = wh.write(def.name, Owner::source(DEMO_SOURCE));
        appenders.insert(def.name, op.appender().await?);
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Vec<(&'static str, RecordBatch)>, u64)>(2);
    let gen_cfg = cfg.clone();
    let generator = tokio::task::spawn_blocking(move || {
        Gen::new(&gen_cfg).run(&gen_cfg, |chunk, done| {
            tx.blocking_send((chunk, done)).is_ok()
        })
    });
    while let Some((chunk, done)) = rx.recv().await {
        if let Some(world) = divert {
            jushuitan_docs::chunk_docs(&chunk, &mut |doc| world.upsert(doc))?;
            for shop in jushuitan_docs::shop_docs(&chunk)? {
                if !world
                    .all_in(connectors::jushuitan::sim::SHOPS)
                    .iter()
                    .any(|s| s.get("shop_id") == shop.get("shop_id"))
                {
                    world.upsert_in(connectors::jushuitan::sim::SHOPS, shop);
                }
            }
        }
        for (table, batch) in chunk {
            if divert.is_some() && jushuitan_docs::DIVERTED.contains(&table) {
                continue;
            }
            let app = appenders
                .get_mut(table)
                .ok_or_else(|| PipelineError::Internal(format!("no appender for {table}")))?;
            app.write(&batch).await?;
        }
        progress(DemoProgress::Orders(done));
    }
    let ledger = generator
        .await
        .map_err(|e| PipelineError::Internal(format!("generator panicked: {e}")))?;
    let total = appenders.len();
    let mut versions = Vec::with_capacity(total);
    for (n, def) in warehouse::schema::CATALOG.iter().enumerate() {
        progress(DemoProgress::Committing {
            table: def.name,
            n: n + 1,
            total,
        });
        if let Some(app) = appenders.remove(def.name) {
            let report = app.commit().await?;
            versions.push((def.name, report.version));
        }
    }
    Ok(DemoReport {
        ledger,
        versions,
        first_day: cfg.start_date(),
        last_day: cfg.end_date,
    })
}

#[cfg(test)]
mod tests;
