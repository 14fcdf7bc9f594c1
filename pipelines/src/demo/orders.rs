//! One order's whole life: items, payment, shipment and tracking, delivery, settlement lines,
//! after-sale cases, COD remittance and stock movements. Events later than the world's "now"
//! are cut off, and the order's status and `modified_at` reflect what happened by then.

use rand::Rng;

use super::Gen;
use super::clock::{US_PER_DAY, US_PER_HOUR, US_PER_SEC, biz_day, midnight_us, month_of};
use super::world::{CARRIERS, DESTINATIONS, SHOPS, WAREHOUSES, pick};

/// Half-up rounding of `fen * bp / 10000`.
/// A line's id: the order's id and the line number, as the ERP numbers lines (`jst:123` line
/// 2 is `jst:12302`). Ids are Jushuitan's because the demo's orders reach the lake through the
/// Jushuitan connector.
pub(crate) fn line_id(order_id: &str, line_no: usize) -> String {
    format!("{order_id}{line_no:02}")
}

pub(crate) fn rate_of(fen: i64, bp: i64) -> i64 {
    (fen * bp + 5_000).div_euclid(10_000)
}

/// What has happened to an order by the world's "now".
struct Life {
    status: &'static str,
    modified: i64,
    now: i64,
}

impl Life {
    /// Records an event at `t` if it happened by now; returns whether it did.
    fn seen(&mut self, t: i64, status: &'static str) -> bool {
        if t > self.now {
            return false;
        }
        self.status = status;
        self.modified = self.modified.max(t);
        true
    }

    /// Records a change at `t` that leaves the status as it is.
    fn touch(&mut self, t: i64) {
        if t <= self.now {
            self.modified = self.modified.max(t);
        }
    }
}

struct Line {
    sku: usize,
    qty: i64,
    price: i64,
    discount: i64,
}

impl Gen {
    pub(crate) fn order(&mut self, day: i32, hour_cdf: &[f64], campaign: Option<&str>) {
        let now = self.now;
        let shop_i = pick(&self.world.shop_cdf, &mut self.rng);
        let shop = &SHOPS[shop_i];
        let created = midnight_us(day)
            + pick(hour_cdf, &mut self.rng) as i64 * US_PER_HOUR
            + self.rng.random_range(0..3600) * US_PER_SEC;
        self.seq.order += 1;
        let oid = self.seq.order;

        // Items: a SKU without available stock is skipped for another one.
        let n_items = match self.rng.random::<f64>() {
            u if u < 0.72 => 1,
            u if u < 0.92 => 2,
            u if u < 0.98 => 3,
            _ => 4,
        };
        let mut lines: Vec<Line> = Vec::with_capacity(n_items);
        for _ in 0..n_items {
            let qty = match self.rng.random::<f64>() {
                u if u < 0.85 => 1,
                u if u < 0.96 => 2,
                _ => 3,
            };
            for _try in 0..8 {
                let k = pick(&self.world.popularity_cdf, &mut self.rng);
                let sku = &self.world.skus[k];
                if lines.iter().any(|l| l.sku == k) {
                    continue;
                }
                if sku.is_virtual || self.stock.available[k] >= qty {
                    if !sku.is_virtual {
                        self.stock.available[k] -= qty;
                    }
                    lines.push(Line {
                        sku: k,
                        qty,
                        price: sku.price,
                        discount: 0,
                    });
                    break;
                }
            }
        }
        if lines.is_empty() {
            // Everything the buyer wanted was out of stock: a fallback line of the cheapest virtual
            // good keeps the order count exact.
            let k = self
                .world
                .skus
                .iter()
                .position(|s| s.is_virtual)
                .unwrap_or(0);
            lines.push(Line {
                sku: k,
                qty: 1,
                price: self.world.skus[k].price,
                discount: 0,
            });
        }
        let goods: i64 = lines.iter().map(|l| l.qty * l.price).sum();
        let pct = if campaign.is_some() {
            self.rng.random_range(5..=15)
        } else if self.rng.random_bool(0.3) {
            self.rng.random_range(2..=5)
        } else {
            0
        };
        let discount = goods * pct / 100;
        // Allocate the discount to lines by amount; the remainder goes to the last line.
        let mut left = discount;
        let last = lines.len() - 1;
        for (i, l) in lines.iter_mut().enumerate() {
            l.discount = if i == last {
                left
            } else {
                discount * l.qty * l.price / goods
            };
            left -= l.discount;
        }
        let freight = if matches!(shop.platform, "tmall" | "jd") || goods - discount >= 9_900 {
            0
        } else {
            self.rng.random_range(6..=10) * 100
        };
        let pay = goods - discount + freight;
        let dest = &DESTINATIONS[pick(&self.world.dest_cdf, &mut self.rng)];
        let is_cod = self.rng.random_bool(shop.cod_share);
        let all_virtual = lines.iter().all(|l| self.world.skus[l.sku].is_virtual);

        // Lifecycle.
        let unpaid = !is_cod && self.rng.random_bool(0.03);
        let paid_at =
            (!is_cod && !unpaid).then(|| created + self.rng.random_range(10..600) * US_PER_SEC);
        let mut life = Life {
            status: "created",
            modified: created,
            now,
        };
        let ord_no = self.platform_order_no(shop.platform, oid, day);
        let order_id = format!("jst:{oid}");

        let paid_seen = paid_at.is_some_and(|p| life.seen(p, "paid"));
        if unpaid {
            life.seen(created + 30 * 60 * US_PER_SEC, "closed");
        }
        if paid_seen {
            let p = paid_at.unwrap_or(created);
            self.payment(&order_id, shop_i, pay, p);
        }
        let mut shipped = None;
        if !unpaid && (paid_seen || is_cod) {
            let base = paid_at.unwrap_or(created);
            if !is_cod && self.rng.random_bool(0.015) {
                // Refund before shipment: the whole order, money back from escrow, order closed.
                let opened = base + self.rng.random_range(1..20) * US_PER_HOUR;
                if opened <= now {
                    let done = opened + self.rng.random_range(1..6) * US_PER_HOUR;
                    let done = (done <= now).then_some(done);
                    self.refund(
                        &order_id,
                        None,
                        shop_i,
                        None,
                        "refund_only",
                        "不想要了",
                        0,
                        pay,
                        0,
                        opened,
                        done,
                        None,
                    );
                    if let Some(d) = done {
                        life.seen(d, "closed");
                    }
                }
            } else if all_virtual {
                let done = base + US_PER_HOUR;
                if life.seen(done, "finished") {
                    self.settle(shop_i, &order_id, &ord_no, pay, done);
                }
            } else {
                let ship_at = base + self.rng.random_range(2..48) * US_PER_HOUR;
                if life.seen(ship_at, "shipped") {
                    shipped = Some(ship_at);
                }
            }
        }
        if let Some(ship_at) = shipped {
            self.after_shipping(
                &order_id, &ord_no, shop_i, &lines, pay, is_cod, dest, ship_at, &mut life,
            );
        }

        // The order row and its lines.
        let order_day = biz_day(created);
        let o = &mut self.bufs.orders;
        o.text("order_id", &order_id)
            .text("platform_order_no", &ord_no)
            .text("shop_id", shop.id)
            .text("platform", shop.platform);
        o.text_fmt(
            "buyer_id",
            format_args!("buyer_{:07}", self.rng.random_range(0..5_000_000)),
        );
        o.text("status", life.status)
            .ts("created_at", created)
            .opt_ts("paid_at", paid_at.filter(|p| *p <= now))
            .ts("modified_at", life.modified)
            .date("order_date", order_day);
        o.money("goods_amount", goods)
            .money("discount_amount", discount)
            .money("freight_amount", freight)
            .money("pay_amount", pay)
            .bool("is_cod", is_cod)
            .text("receiver_province", dest.0)
            .text("receiver_city", dest.1)
            .opt_text("campaign_id", campaign);
        o.end();
        self.ledger
            .order(shop.id, &super::clock::date(order_day).to_string(), pay);
        self.ledger.money("orders.pay_amount", pay);
        self.day_gmv[shop_i] += pay;
        self.day_orders[shop_i] += 1;
        for (i, l) in lines.iter().enumerate() {
            let sku = &self.world.skus[l.sku];
            let amount = l.qty * l.price - l.discount;
            let it = &mut self.bufs.order_items;
            it.text("order_item_id", &line_id(&order_id, i + 1))
                .text("order_id", &order_id)
                .text("shop_id", shop.id)
                .text("sku_id", &sku.id);
            it.int("qty", l.qty)
                .money("unit_price", l.price)
                .money("discount_amount", l.discount)
                .money("amount", amount)
                .money("cost_amount", l.qty * sku.cost);
            it.end();
            self.ledger.money("order_items.amount", amount);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn after_shipping(
        &mut self,
        order_id: &str,
        ord_no: &str,
        shop_i: usize,
        lines: &[Line],
        pay: i64,
        is_cod: bool,
        dest: &(&str, &str, u8, f64),
        ship_at: i64,
        life: &mut Life,
    ) {
        let now = self.now;
        let shop = &SHOPS[shop_i];
        let physical: Vec<&Line> = lines
            .iter()
            .filter(|l| !self.world.skus[l.sku].is_virtual)
            .collect();
        let wh = self.world.skus[physical[0].sku].warehouse;
        let weight: i64 = physical
            .iter()
            .map(|l| l.qty * self.world.skus[l.sku].weight_g)
            .sum();
        let carrier_i = if shop.platform == "jd" && self.rng.random_bool(0.7) {
            5
        } else {
            [0, 0, 1, 1, 2, 3, 4, 6][self.rng.random_range(0..8)]
        };
        let (carrier, prefix) = CARRIERS[carrier_i];
        self.seq.shipment += 1;
        let ship_id = format!("SH{:010}", self.seq.shipment);
        let tracking = format!("{prefix}{:013}", self.seq.shipment * 7 + 100_000_000_000);
        let zone = i64::from(dest.2);
        let freight_cost = self.freight_cost(carrier_i, zone, weight);
        let lost = self.rng.random_bool(0.003);
        let rejected = self.rng.random_bool(if is_cod { 0.08 } else { 0.004 });
        let transit_days = 1 + zone + self.rng.random_range(0..2);
        let delivered_at =
            ship_at + transit_days * US_PER_DAY + self.rng.random_range(-6..6) * US_PER_HOUR;

        // Stock leaves at shipment.
        for l in &physical {
            let cost = self.world.skus[l.sku].cost;
            self.movement(l.sku, "out", -l.qty, cost, ship_at, "order", order_id);
        }
        // Tracking events.
        let mut events: Vec<(i64, &'static str, &str)> =
            vec![(ship_at, "collected", WAREHOUSES[wh].2)];
        events.push((
            ship_at + self.rng.random_range(6..20) * US_PER_HOUR,
            "in_transit",
            "转运中心",
        ));
        let ship_status;
        let mut delivered = None;
        if lost {
            events.push((ship_at + 3 * US_PER_DAY, "exception", "转运中心"));
            ship_status = "lost";
        } else if rejected {
            let back = delivered_at + self.rng.random_range(4..8) * US_PER_DAY;
            events.push((delivered_at - 3 * US_PER_HOUR, "out_for_delivery", dest.1));
            events.push((delivered_at, "exception", dest.1));
            events.push((back, "returned", WAREHOUSES[wh].2));
            ship_status = if back <= now {
                "returned"
            } else {
                "in_transit"
            };
            if back <= now {
                life.seen(back, "closed");
                for l in &physical {
                    let cost = self.world.skus[l.sku].cost;
                    self.movement(l.sku, "return", l.qty, cost, back, "shipment", &ship_id);
                }
            }
        } else {
            events.push((delivered_at - 3 * US_PER_HOUR, "out_for_delivery", dest.1));
            events.push((delivered_at, "delivered", dest.1));
            if delivered_at <= now {
                delivered = Some(delivered_at);
                ship_status = "delivered";
            } else {
                ship_status = "in_transit";
            }
        }
        for (t, s, loc) in events.into_iter().filter(|e| e.0 <= now) {
            self.seq.event += 1;
            let e = &mut self.bufs.logistics_events;
            e.text_fmt("event_id", format_args!("EV{:011}", self.seq.event))
                .text("shipment_id", &ship_id)
                .text("tracking_no", &tracking)
                .text("carrier", carrier)
                .ts("event_time", t)
                .text("status", s)
                .text("location", loc);
            e.text_fmt("description", format_args!("{loc} {s}"));
            e.end();
        }
        let sh = &mut self.bufs.shipments;
        sh.text("shipment_id", &ship_id)
            .text("order_id", order_id)
            .text("shop_id", shop.id)
            .text("warehouse_id", WAREHOUSES[wh].0)
            .text("carrier", carrier)
            .text("tracking_no", &tracking)
            .text("status", ship_status);
        sh.ts("shipped_at", ship_at)
            .date("ship_date", biz_day(ship_at))
            .opt_ts("delivered_at", delivered)
            .money("freight_cost", freight_cost)
            .int("weight_g", weight)
            .text("dest_province", dest.0)
            .text("dest_city", dest.1);
        sh.end();
        self.ledger.money("shipments.freight_cost", freight_cost);
        // The carrier bills every parcel it carried, in the month it was shipped.
        self.seq.statement += 1;
        let cs = &mut self.bufs.carrier_statements;
        cs.text_fmt(
            "statement_line_id",
            format_args!("CS{:010}", self.seq.statement),
        )
        .text("carrier", carrier)
        .text("period", &month_of(biz_day(ship_at)));
        cs.text("tracking_no", &tracking)
            .int("billed_weight_g", weight)
            .money("billed_amount", freight_cost)
            .end();

        let Some(delivered_at) = delivered else {
            return;
        };
        if is_cod {
            let remit = delivered_at + self.rng.random_range(3..11) * US_PER_DAY;
            if remit <= now {
                self.seq.cod += 1;
                let r = &mut self.bufs.cod_remittances;
                r.text_fmt("remittance_id", format_args!("COD{:09}", self.seq.cod))
                    .text("carrier", carrier)
                    .text("order_id", order_id)
                    .text("tracking_no", &tracking)
                    .money("amount", pay)
                    .ts("remitted_at", remit)
                    .end();
                self.ledger.money("cod_remittances.amount", pay);
            }
        }
        let finished = delivered_at + self.rng.random_range(12..240) * US_PER_HOUR;
        if life.seen(finished, "finished") {
            self.settle(shop_i, order_id, ord_no, pay, finished);
        }
        // After-sale: 6% of delivered orders open a case on one line.
        if self.rng.random_bool(0.06) {
            let li = self.rng.random_range(0..physical.len());
            let l = physical[li];
            let line_no = lines.iter().position(|x| x.sku == l.sku).unwrap_or(0) + 1;
            let line_amount = l.qty * l.price - l.discount;
            let opened = delivered_at + self.rng.random_range(1..7 * 24) * US_PER_HOUR;
            if opened > now {
                return;
            }
            life.touch(opened);
            let (kind, reason) = match self.rng.random::<f64>() {
                u if u < 0.55 => (
                    "return",
                    ["尺寸不合适", "颜色与图片不符", "质量问题", "七天无理由"]
                        [self.rng.random_range(0..4)],
                ),
                u if u < 0.85 => (
                    "refund_only",
                    ["商品破损", "少件", "发错货"][self.rng.random_range(0..3)],
                ),
                _ => ("exchange", "换尺寸"),
            };
            let amount = match kind {
                "return" => line_amount,
                "refund_only" => line_amount * self.rng.random_range(20..=100) / 100,
                _ => 0,
            };
            let qty = if kind == "refund_only" { 0 } else { l.qty };
            let insurance = if kind == "return"
                && matches!(shop.platform, "taobao" | "tmall")
                && self.rng.random_bool(0.4)
            {
                self.rng.random_range(5..=15) * 100
            } else {
                0
            };
            let received = (qty > 0)
                .then(|| opened + self.rng.random_range(2..7) * US_PER_DAY)
                .filter(|r| *r <= now);
            let done = match kind {
                "refund_only" => Some(opened + self.rng.random_range(1..24) * US_PER_HOUR),
                _ => received.map(|r| r + self.rng.random_range(1..20) * US_PER_HOUR),
            }
            .filter(|d| *d <= now);
            let item_id = line_id(order_id, line_no);
            let refund_id = self.refund(
                order_id,
                Some(&item_id),
                shop_i,
                Some(l.sku),
                kind,
                reason,
                qty,
                amount,
                insurance,
                opened,
                done,
                received,
            );
            if let Some(r) = received {
                let cost = self.world.skus[l.sku].cost;
                self.movement(l.sku, "return", l.qty, cost, r, "refund", &refund_id);
                if kind == "exchange" {
                    self.movement(
                        l.sku,
                        "out",
                        -l.qty,
                        cost,
                        r + US_PER_HOUR,
                        "refund",
                        &refund_id,
                    );
                }
            }
            if let Some(d) = done {
                life.touch(d);
                if amount > 0 && shop.platform != "internal" {
                    self.bill(shop_i, Some((order_id, ord_no)), "refund", -amount, d);
                }
                if insurance > 0 {
                    // The return-freight insurer pays the claim through the platform.
                    self.bill(shop_i, Some((order_id, ord_no)), "insurance", insurance, d);
                }
            }
        }
    }

    /// A finished order settles on its platform: the sale, then commission and service fee
    /// at the shop's contract rates. The internal channel has no platform to settle with.
    fn settle(&mut self, shop_i: usize, order_id: &str, ord_no: &str, pay: i64, at: i64) {
        let shop = &SHOPS[shop_i];
        if shop.platform == "internal" {
            return;
        }
        let order = Some((order_id, ord_no));
        self.bill(shop_i, order, "sale", pay, at);
        let commission = rate_of(pay, shop.commission_bp);
        if commission > 0 {
            self.bill(shop_i, order, "commission", -commission, at);
        }
        let fee = rate_of(pay, shop.fee_bp);
        if fee > 0 {
            self.bill(shop_i, order, "fee", -fee, at);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn refund(
        &mut self,
        order_id: &str,
        item_id: Option<&str>,
        shop_i: usize,
        sku: Option<usize>,
        kind: &str,
        reason: &str,
        qty: i64,
        amount: i64,
        insurance: i64,
        opened: i64,
        done: Option<i64>,
        received: Option<i64>,
    ) -> String {
        self.seq.refund += 1;
        let id = format!("RF{:09}", self.seq.refund);
        let sku_id = sku.map(|k| self.world.skus[k].id.clone());
        let r = &mut self.bufs.refunds;
        r.text("refund_id", &id)
            .text("order_id", order_id)
            .opt_text("order_item_id", item_id)
            .text("shop_id", SHOPS[shop_i].id)
            .opt_text("sku_id", sku_id.as_deref())
            .text("kind", kind)
            .text("reason", reason);
        r.int("qty", qty)
            .money("amount", amount)
            .money("shipping_insurance_amount", insurance)
            .text("status", if done.is_some() { "success" } else { "pending" });
        r.ts("created_at", opened)
            .date("refund_date", biz_day(opened))
            .opt_ts("completed_at", done)
            .opt_ts("goods_received_at", received)
            .end();
        self.ledger.money("refunds.amount", amount);
        id
    }

    fn payment(&mut self, order_id: &str, shop_i: usize, pay: i64, at: i64) {
        let shop = &SHOPS[shop_i];
        let u: f64 = self.rng.random();
        let channel = match shop.platform {
            "taobao" | "tmall" => "alipay",
            "jd" => {
                if u < 0.7 {
                    "jdpay"
                } else {
                    "wechat"
                }
            }
            "douyin" => {
                if u < 0.6 {
                    "douyin_pay"
                } else if u < 0.8 {
                    "alipay"
                } else {
                    "wechat"
                }
            }
            _ => {
                if u < 0.8 {
                    "wechat"
                } else {
                    "bank"
                }
            }
        };
        self.seq.payment += 1;
        let p = &mut self.bufs.payments;
        p.text_fmt("payment_id", format_args!("jst:{}", self.seq.payment))
            .text("order_id", order_id)
            .text("shop_id", shop.id)
            .text("channel", channel);
        p.text_fmt(
            "txn_no",
            format_args!(
                "{}{:020}",
                super::clock::date(biz_day(at)).format("%Y%m%d"),
                self.seq.payment * 7919 % 100_000_000_000_000_000
            ),
        );
        p.money("amount", pay)
            .ts("paid_at", at)
            .date("pay_date", biz_day(at))
            .text("status", "success")
            .end();
        self.ledger.money("payments.amount", pay);
    }

    pub(crate) fn bill(
        &mut self,
        shop_i: usize,
        order: Option<(&str, &str)>,
        kind: &str,
        amount: i64,
        at: i64,
    ) {
        let shop = &SHOPS[shop_i];
        self.seq.bill += 1;
        let b = &mut self.bufs.platform_bills;
        b.text_fmt("bill_line_id", format_args!("BL{:011}", self.seq.bill))
            .text("shop_id", shop.id)
            .text("platform", shop.platform);
        b.opt_text("order_id", order.map(|o| o.0))
            .opt_text("platform_order_no", order.map(|o| o.1))
            .text("kind", kind)
            .money("amount", amount)
            .ts("settled_at", at)
            .date("settle_date", biz_day(at))
            .end();
        self.ledger.money("platform_bills.amount", amount);
    }

    /// Writes a movement row and books it in the stock book on its business day.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn movement(
        &mut self,
        sku: usize,
        kind: &str,
        qty: i64,
        cost: i64,
        at: i64,
        ref_type: &str,
        ref_id: &str,
    ) {
        self.seq.movement += 1;
        let s = &self.world.skus[sku];
        let m = &mut self.bufs.stock_movements;
        m.text_fmt("movement_id", format_args!("MV{:011}", self.seq.movement))
            .text("sku_id", &s.id)
            .text("warehouse_id", WAREHOUSES[s.warehouse].0);
        m.text_fmt(
            "location_id",
            format_args!("L{}-{:05}", s.warehouse + 1, sku + 1),
        )
        .text("kind", kind)
        .int("qty", qty)
        .money("unit_cost", cost)
        .ts("moved_at", at)
        .date("move_date", biz_day(at));
        m.text("ref_type", ref_type).text("ref_id", ref_id).end();
        self.stock.book(biz_day(at), sku, qty);
    }

    /// Contract freight: first kilogram plus each further kilogram, by carrier and zone.
    pub(crate) fn freight_cost(&self, carrier: usize, zone: i64, weight_g: i64) -> i64 {
        let (first, extra) = match CARRIERS[carrier].0 {
            "sf" => (1_200, 400),
            "jd" => (1_000, 300),
            "ems" => (900, 300),
            _ => (350, 150),
        };
        let kg = (weight_g + 999) / 1000;
        first + zone * 100 + (kg - 1).max(0) * (extra + zone * 50)
    }

    fn platform_order_no(&self, platform: &str, oid: u64, day: i32) -> String {
        match platform {
            "taobao" | "tmall" => format!("{}", 2_000_000_000_000_000_000u64 + oid * 1_009),
            "jd" => format!("{}", 300_000_000_000u64 + oid * 13),
            "douyin" => format!("{}", 6_900_000_000_000_000_000u64 + oid * 1_013),
            _ => format!("WX{}{oid:010}", super::clock::date(day).format("%Y%m%d")),
        }
    }
}
