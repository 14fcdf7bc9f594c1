//! The stock book: on-hand per SKU by business day, purchasing and receiving.
//!
//! Every movement row the generator writes is also booked here on its business day, and the
//! end-of-day snapshot is taken from the booked quantities, so the roll-forward
//! `opening + in - out = closing` holds exactly. Orders reserve `available` stock at order
//! time; a SKU without available stock is not sold (the buyer picks another), so on-hand
//! never goes negative in the clean world (negative stock is an anomaly checks look for).

use std::collections::BTreeMap;

/// Quantities per SKU.
#[derive(Debug)]
pub(crate) struct StockBook {
    pub on_hand: Vec<i64>,
    pub available: Vec<i64>,
    pub on_order: Vec<i64>,
    /// Booked changes by business day: (sku, on-hand delta, on-order delta).
    pending: BTreeMap<i32, Vec<(usize, i64, i64)>>,
}

impl StockBook {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            on_hand: vec![0; n],
            available: vec![0; n],
            on_order: vec![0; n],
            pending: BTreeMap::new(),
        }
    }

    /// Books a movement of `qty` (signed) on `day`.
    pub(crate) fn book(&mut self, day: i32, sku: usize, qty: i64) {
        self.pending.entry(day).or_default().push((sku, qty, 0));
    }

    /// Books the arrival of a PO line: `ordered` leaves on-order, `accepted` enters stock.
    pub(crate) fn book_arrival(&mut self, day: i32, sku: usize, ordered: i64, accepted: i64) {
        self.pending
            .entry(day)
            .or_default()
            .push((sku, accepted, -ordered));
    }

    /// Applies everything booked up to and including `day`. Arrivals also become available.
    pub(crate) fn close_day(&mut self, day: i32) {
        let later = self.pending.split_off(&(day + 1));
        let due = std::mem::replace(&mut self.pending, later);
        for (_, changes) in due {
            for (sku, qty, order_delta) in changes {
                self.on_hand[sku] += qty;
                if order_delta != 0 {
                    self.on_order[sku] += order_delta;
                    self.available[sku] += qty;
                }
            }
        }
    }
}
