//! The simulator's data: typed trades and refunds of one or more sellers, indexed by
//! (seller, modified). A trade costs a little over 100 bytes plus 40 per line, so a million
//! trades fit in a few hundred MB. Changing a trade gives it a new `modified`, as on the
//! platform, so incremental readers see it again.

use std::collections::{BTreeSet, HashMap};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::NaiveDateTime;

/// Whether a seller is a Tmall merchant (`B`) or a Taobao C-seller (`C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SellerType {
    Tmall,
    Taobao,
}

impl SellerType {
    /// The `seller_type` letter on orders.
    pub fn letter(self) -> &'static str {
        match self {
            SellerType::Tmall => "B",
            SellerType::Taobao => "C",
        }
    }
}

/// A shop on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub nick: String,
    pub seller_type: SellerType,
}

/// Trade statuses (§2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    ClosedByTaobao,
    WaitSellerSendGoods,
    WaitBuyerConfirmGoods,
    Finished,
    Closed,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::ClosedByTaobao => "TRADE_CLOSED_BY_TAOBAO",
            TradeStatus::WaitSellerSendGoods => "WAIT_SELLER_SEND_GOODS",
            TradeStatus::WaitBuyerConfirmGoods => "WAIT_BUYER_CONFIRM_GOODS",
            TradeStatus::Finished => "TRADE_FINISHED",
            TradeStatus::Closed => "TRADE_CLOSED",
        }
    }
}

/// Trade `type` values the world uses (the API's default filter omits `fixed` and
/// `tmall_i18n`, so a client must ask for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeType {
    Fixed,
    Cod,
    Step,
    TmallI18n,
}

impl TradeType {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeType::Fixed => "fixed",
            TradeType::Cod => "cod",
            TradeType::Step => "step",
            TradeType::TmallI18n => "tmall_i18n",
        }
    }
}

/// A sub-order. Money in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub oid: i64,
    pub num_iid: i64,
    /// The merchant SKU code is `SKU-<sku>`; the platform sku id is `sku + 5_000_000`.
    pub sku: u32,
    pub num: u32,
    pub price: i64,
    /// What the buyer pays for the line after discounts (`divide_order_fee`).
    pub payment: i64,
}

/// A trade. Times are Asia/Shanghai wall clock; money in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub tid: i64,
    /// Index into [`TopWorld::sellers`].
    pub seller: u16,
    pub status: TradeStatus,
    pub trade_type: TradeType,
    pub created: NaiveDateTime,
    pub modified: NaiveDateTime,
    pub pay_time: Option<NaiveDateTime>,
    pub buyer: u32,
    /// Index into [`PLACES`].
    pub place: u8,
    pub post_fee: i64,
    pub lines: Box<[Line]>,
}

impl Trade {
    /// Item total: Σ price × num.
    pub fn total_fee(&self) -> i64 {
        self.lines.iter().map(|l| l.price * i64::from(l.num)).sum()
    }

    /// What the buyer pays: Σ line payments + freight.
    pub fn payment(&self) -> i64 {
        self.lines.iter().map(|l| l.payment).sum::<i64>() + self.post_fee
    }
}

/// Receiver (province, city) pairs.
pub const PLACES: &[(&str, &str)] = &[
    ("浙江省", "杭州市"),
    ("上海", "上海市"),
    ("广东省", "深圳市"),
    ("北京", "北京市"),
    ("江苏省", "南京市"),
    ("四川省", "成都市"),
];

/// Refund statuses (§2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    WaitSellerAgree,
    WaitBuyerReturnGoods,
    Success,
    Closed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::WaitSellerAgree => "WAIT_SELLER_AGREE",
            RefundStatus::WaitBuyerReturnGoods => "WAIT_BUYER_RETURN_GOODS",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
        }
    }
}

/// A refund case on one line of a trade. Money in fen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: i64,
    pub tid: i64,
    pub oid: i64,
    pub seller: u16,
    pub num: u32,
    pub total_fee: i64,
    pub refund_fee: i64,
    pub status: RefundStatus,
    pub has_good_return: bool,
    pub created: NaiveDateTime,
    pub modified: NaiveDateTime,
}

fn secs(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp()
}

#[derive(Debug, Default)]
struct Inner {
    sellers: Vec<Seller>,
    trades: Vec<Trade>,
    trade_at: HashMap<i64, usize>,
    trades_by_modified: BTreeSet<(u16, i64, i64)>,
    refunds: Vec<Refund>,
    refund_at: HashMap<i64, usize>,
    refunds_by_modified: BTreeSet<(u16, i64, i64)>,
}

/// The trades and refunds a simulator serves.
#[derive(Debug, Default)]
pub struct TopWorld {
    inner: RwLock<Inner>,
}

impl TopWorld {
    /// An empty world of `sellers`.
    pub fn new(sellers: Vec<Seller>) -> Self {
        Self {
            inner: RwLock::new(Inner {
                sellers,
                ..Inner::default()
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sellers, in index order.
    pub fn sellers(&self) -> Vec<Seller> {
        self.read().sellers.clone()
    }

    /// Inserts or replaces a trade (by `tid`).
    pub fn upsert(&self, trade: Trade) {
        let mut w = self.write();
        let key = (trade.seller, secs(trade.modified), trade.tid);
        match w.trade_at.get(&trade.tid).copied() {
            Some(i) => {
                let old = &w.trades[i];
                let old_key = (old.seller, secs(old.modified), old.tid);
                w.trades_by_modified.remove(&old_key);
                w.trades[i] = trade;
            }
            None => {
                let i = w.trades.len();
                w.trade_at.insert(trade.tid, i);
                w.trades.push(trade);
            }
        }
        w.trades_by_modified.insert(key);
    }

    /// Changes a trade later in its life: `edit` is applied, then the trade is stamped
    /// `modified`. Returns whether the trade exists.
    pub fn modify(&self, tid: i64, modified: NaiveDateTime, edit: impl FnOnce(&mut Trade)) -> bool {
        let Some(mut t) = self.trade(tid) else {
            return false;
        };
        edit(&mut t);
        t.tid = tid;
        t.modified = modified;
        self.upsert(t);
        true
    }

    /// Inserts or replaces a refund (by `refund_id`).
    pub fn upsert_refund(&self, refund: Refund) {
        let mut w = self.write();
        let key = (refund.seller, secs(refund.modified), refund.refund_id);
        match w.refund_at.get(&refund.refund_id).copied() {
            Some(i) => {
                let old = &w.refunds[i];
                let old_key = (old.seller, secs(old.modified), old.refund_id);
                w.refunds_by_modified.remove(&old_key);
                w.refunds[i] = refund;
            }
            None => {
                let i = w.refunds.len();
                w.refund_at.insert(refund.refund_id, i);
                w.refunds.push(refund);
            }
        }
        w.refunds_by_modified.insert(key);
    }

    /// One trade.
    pub fn trade(&self, tid: i64) -> Option<Trade> {
        let r = self.read();
        r.trade_at.get(&tid).map(|&i| r.trades[i].clone())
    }

    /// Number of trades.
    pub fn len(&self) -> usize {
        self.read().trades.len()
    }

    /// Whether there are no trades.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every trade (tests compare a sync with it).
    pub fn trades(&self) -> Vec<Trade> {
        self.read().trades.clone()
    }

    /// A copy of every refund.
    pub fn refunds(&self) -> Vec<Refund> {
        self.read().refunds.clone()
    }

    /// The seller's trades with `begin <= modified <= end` that pass `keep`, modified
    /// descending (ties by tid descending): `take` of them after skipping `skip`, and how many
    /// there are.
    pub fn trade_page(
        &self,
        seller: u16,
        (begin, end): (NaiveDateTime, NaiveDateTime),
        keep: impl Fn(&Trade) -> bool,
        skip: usize,
        take: usize,
    ) -> (Vec<Trade>, usize) {
        let r = self.read();
        let range = (seller, secs(begin), i64::MIN)..=(seller, secs(end), i64::MAX);
        let mut total = 0;
        let mut page = Vec::with_capacity(take.min(1024));
        for (_, _, tid) in r.trades_by_modified.range(range).rev() {
            let t = &r.trades[r.trade_at[tid]];
            if !keep(t) {
                continue;
            }
            if total >= skip && page.len() < take {
                page.push(t.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// Like [`TopWorld::trade_page`] for refunds; no window means all of the seller's.
    pub fn refund_page(
        &self,
        seller: u16,
        window: Option<(NaiveDateTime, NaiveDateTime)>,
        skip: usize,
        take: usize,
    ) -> (Vec<Refund>, usize) {
        let r = self.read();
        let (b, e) = window.map_or((i64::MIN, i64::MAX), |(b, e)| (secs(b), secs(e)));
        let range = (seller, b, i64::MIN)..=(seller, e, i64::MAX);
        let total = r.refunds_by_modified.range(range.clone()).count();
        let page = r
            .refunds_by_modified
            .range(range)
            .rev()
            .skip(skip)
            .take(take)
            .map(|(_, _, id)| r.refunds[r.refund_at[id]].clone())
            .collect();
        (page, total)
    }
}
