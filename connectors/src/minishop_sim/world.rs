//! MiniShop's data: compact orders (numbers, not JSON trees) indexed by update time, so a
//! million orders take a few hundred megabytes. JSON is rendered per answered page.
//!
//! Changing an order gives it a new `updated_at` (and a higher version), as the backend
//! does, so incremental readers see it again.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use chrono::{DateTime, NaiveDate, TimeZone};
use serde_json::{Value, json};
use vocab::BUSINESS_TZ as Shanghai;

/// Order statuses of the MiniShop backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsStatus {
    /// Placed, not paid.
    Pending,
    Paid,
    Shipped,
    Completed,
    /// Closed before payment.
    Cancelled,
    /// Paid, then refunded.
    Refunded,
}

impl MsStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            MsStatus::Pending => "pending",
            MsStatus::Paid => "paid",
            MsStatus::Shipped => "shipped",
            MsStatus::Completed => "completed",
            MsStatus::Cancelled => "cancelled",
            MsStatus::Refunded => "refunded",
        }
    }
}

/// One order line; money in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsItem {
    pub sku: u32,
    pub qty: u16,
    pub unit_price: i64,
    pub discount: i64,
}

impl MsItem {
    /// `qty * unit_price - discount`, in fen.
    pub fn subtotal(&self) -> i64 {
        i64::from(self.qty) * self.unit_price - self.discount
    }
}

/// One order; times are Unix seconds, money fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsOrder {
    pub id: u64,
    /// 1-based shop number (`wx-shop-<n>` on the wire).
    pub shop: u8,
    pub status: MsStatus,
    pub created: i64,
    /// When it was paid (`None`: never; then there is no payment).
    pub paid: Option<i64>,
    pub updated: i64,
    pub buyer: u32,
    pub freight: i64,
    pub city: u8,
    pub items: Box<[MsItem]>,
    /// Increases with every change.
    pub version: u64,
}

const CITIES: [(&str, &str); 6] = [
    ("浙江", "杭州"),
    ("上海", "上海"),
    ("广东", "深圳"),
    ("北京", "北京"),
    ("四川", "成都"),
    ("江苏", "南京"),
];

fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .with_timezone(&Shanghai)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.abs() / 100, fen.abs() % 100)
}

impl MsOrder {
    /// Sum of `qty * unit_price`, in fen.
    pub fn goods(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i64::from(i.qty) * i.unit_price)
            .sum()
    }

    /// Sum of line discounts, in fen.
    pub fn discount(&self) -> i64 {
        self.items.iter().map(|i| i.discount).sum()
    }

    /// What the buyer pays: goods - discount + freight, in fen.
    pub fn total(&self) -> i64 {
        self.goods() - self.discount() + self.freight
    }

    /// The order as the API sends it: ids as strings, amounts as yuan strings, times RFC 3339
    /// with `+08:00`, nested `items` and a `payment` object (null when unpaid).
    pub fn to_json(&self) -> Value {
        let id = self.wire_id();
        let items: Vec<Value> = self
            .items
            .iter()
            .enumerate()
            .map(|(n, i)| {
                json!({
                    "item_id": format!("{id}-{}", n + 1),
                    "sku_code": format!("SKU-{:05}", i.sku),
                    "quantity": i.qty,
                    "unit_price": yuan(i.unit_price),
                    "discount": yuan(i.discount),
                    "subtotal": yuan(i.subtotal()),
                })
            })
            .collect();
        let (province, city) = CITIES[usize::from(self.city) % CITIES.len()];
        let payment = match self.paid {
            None => Value::Null,
            Some(at) => json!({
                "payment_no": format!("PAY{id}"),
                "channel": "wechat",
                "transaction_id": format!("4200{:016}", self.id * 7919 % 10_000_000_000_000_000),
                "amount": yuan(self.total()),
                "paid_at": rfc3339(at),
                "state": if self.status == MsStatus::Refunded { "refunded" } else { "success" },
            }),
        };
        json!({
            "order_no": id,
            "shop_id": format!("wx-shop-{}", self.shop),
            "status": self.status.as_str(),
            "buyer": {"openid": format!("o_{:08x}", self.buyer)},
            "created_at": rfc3339(self.created),
            "paid_at": self.paid.map(rfc3339),
            "updated_at": rfc3339(self.updated),
            "version": self.version,
            "amounts": {
                "goods": yuan(self.goods()),
                "discount": yuan(self.discount()),
                "freight": yuan(self.freight),
                "total": yuan(self.total()),
            },
            "address": {"province": province, "city": city},
            "items": items,
            "payment": payment,
        })
    }

    /// The order number on the wire.
    pub fn wire_id(&self) -> String {
        (100_000_000 + self.id).to_string()
    }
}

#[derive(Debug, Default)]
struct Inner {
    orders: HashMap<u64, MsOrder>,
    by_updated: BTreeSet<(i64, u64)>,
    next_version: u64,
}

/// The orders a MiniShop simulator serves.
#[derive(Debug, Default)]
pub struct MiniShopWorld {
    inner: RwLock<Inner>,
}

impl MiniShopWorld {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts or replaces an order, giving it the next version.
    pub fn upsert(&self, mut order: MsOrder) {
        let mut w = self.write();
        if let Some(old) = w.orders.remove(&order.id) {
            w.by_updated.remove(&(old.updated, old.id));
        }
        w.next_version += 1;
        order.version = w.next_version;
        w.by_updated.insert((order.updated, order.id));
        w.orders.insert(order.id, order);
    }

    /// Changes an order later in its life: `edit` is applied, then it gets `updated` (Unix
    /// seconds) and a new version. Returns whether the order exists.
    pub fn modify(&self, id: u64, updated: i64, edit: impl FnOnce(&mut MsOrder)) -> bool {
        let Some(mut o) = self.read().orders.get(&id).cloned() else {
            return false;
        };
        edit(&mut o);
        o.updated = updated;
        self.upsert(o);
        true
    }

    /// Number of orders.
    pub fn len(&self) -> usize {
        self.read().orders.len()
    }

    /// Whether the world is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One order.
    pub fn get(&self, id: u64) -> Option<MsOrder> {
        self.read().orders.get(&id).cloned()
    }

    /// All orders, by id (for tests comparing a sync with the world).
    pub fn orders(&self) -> Vec<MsOrder> {
        let mut all: Vec<MsOrder> = self.read().orders.values().cloned().collect();
        all.sort_by_key(|o| o.id);
        all
    }

    /// Orders with `from <= updated < to` after the position `after` (exclusive), in
    /// `(updated, id)` order: at most `limit`, and whether more follow.
    pub fn page(
        &self,
        from: i64,
        to: i64,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> (Vec<MsOrder>, bool) {
        use std::ops::Bound::{Excluded, Included};
        let r = self.read();
        let lower = after.map_or(Included((from, 0)), Excluded);
        let mut it = r
            .by_updated
            .range((lower, Excluded((to, 0))))
            .filter_map(|(_, id)| r.orders.get(id));
        let page: Vec<MsOrder> = it.by_ref().take(limit).cloned().collect();
        (page, it.next().is_some())
    }
}

/// A small deterministic generator (SplitMix64), so worlds are the same for a seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `n` orders created over `days` Shanghai days from `start`, the same for the same `seed`.
/// Each order is updated within six hours of its creation; about 8% stay unpaid, 2% are
/// cancelled and 3% refunded.
pub fn generate(n: u64, seed: u64, start: NaiveDate, days: u32) -> MiniShopWorld {
    let world = MiniShopWorld::default();
    let mut rng = Rng(seed);
    let t0 = Shanghai
        .from_local_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(0, |d| d.timestamp());
    let span = i64::from(days.max(1)) * 86_400;
    for id in 1..=n {
        let created = t0 + (id as i64 - 1) * span / n as i64 + rng.below(60) as i64;
        let lines = 1 + rng.below(3) as usize;
        let items: Box<[MsItem]> = (0..lines)
            .map(|_| {
                let unit_price = 990 + rng.below(29_000) as i64;
                let qty = 1 + rng.below(3) as u16;
                let discount = rng.below(unit_price as u64 / 10) as i64;
                MsItem {
                    sku: 1 + rng.below(400) as u32,
                    qty,
                    unit_price,
                    discount,
                }
            })
            .collect();
        let roll = rng.below(100);
        let status = match roll {
            0..8 => MsStatus::Pending,
            8..10 => MsStatus::Cancelled,
            10..13 => MsStatus::Refunded,
            13..40 => MsStatus::Paid,
            40..75 => MsStatus::Shipped,
            _ => MsStatus::Completed,
        };
        let paid = (!matches!(status, MsStatus::Pending | MsStatus::Cancelled))
            .then(|| created + 30 + rng.below(600) as i64);
        let updated = paid.unwrap_or(created) + rng.below(6 * 3600) as i64;
        world.upsert(MsOrder {
            id,
            shop: 1 + rng.below(3) as u8,
            status,
            created,
            paid,
            updated,
            buyer: rng.next() as u32,
            freight: [0, 0, 600, 1000][rng.below(4) as usize],
            city: rng.below(CITIES.len() as u64) as u8,
            items,
            version: 0,
        });
    }
    world
}
