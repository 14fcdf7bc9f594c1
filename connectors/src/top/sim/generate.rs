//! A deterministic world for tests, benchmarks and `zhongtai simulate taobao`: a Tmall and a
//! Taobao shop, trades spread over `days` from `start`, every status, refunds on some lines.

use chrono::{Duration, NaiveDateTime};

use super::world::{
    Line, PLACES, Refund, RefundStatus, Seller, SellerType, TopWorld, Trade, TradeStatus, TradeType,
};

/// The generated Tmall shop (index 0) and Taobao shop (index 1).
pub const TMALL_SELLER: &str = "sim天猫旗舰店";
pub const TAOBAO_SELLER: &str = "sim淘宝小店";

/// splitmix64: small, fast and the same everywhere.
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

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `n` trades created over `days` days from `start` (Shanghai), the same for the same seed.
/// About 60 % belong to the Tmall shop; `modified` is up to six hours after payment; about
/// 8 % of trades have a refund.
pub fn generate(n: usize, seed: u64, start: NaiveDateTime, days: u32) -> TopWorld {
    let world = TopWorld::new(vec![
        Seller {
            nick: TMALL_SELLER.into(),
            seller_type: SellerType::Tmall,
        },
        Seller {
            nick: TAOBAO_SELLER.into(),
            seller_type: SellerType::Taobao,
        },
    ]);
    let mut rng = Rng(seed);
    let span = i64::from(days.max(1)) * 86_400;
    let mut refund_id = 70_000_000_000;
    for i in 0..n {
        let tid = 3_000_000_000_000 + i as i64 * 7 + rng.below(7) as i64;
        let seller = u16::from(rng.below(10) >= 6);
        let created =
            start + Duration::seconds(i as i64 * span / n.max(1) as i64 + rng.below(60) as i64);
        let status = match rng.below(100) {
            0..5 => TradeStatus::WaitBuyerPay,
            5..8 => TradeStatus::ClosedByTaobao,
            8..28 => TradeStatus::WaitSellerSendGoods,
            28..58 => TradeStatus::WaitBuyerConfirmGoods,
            58..95 => TradeStatus::Finished,
            _ => TradeStatus::Closed,
        };
        let paid = !matches!(
            status,
            TradeStatus::WaitBuyerPay | TradeStatus::ClosedByTaobao
        );
        let pay_time = paid.then(|| created + Duration::seconds(30 + rng.below(1800) as i64));
        let modified = pay_time.unwrap_or(created) + Duration::seconds(rng.below(6 * 3600) as i64);
        let trade_type = match (seller, rng.below(50)) {
            (1, 0) => TradeType::Cod,
            (0, 1) => TradeType::TmallI18n,
            (_, 2) => TradeType::Step,
            _ => TradeType::Fixed,
        };
        let lines: Box<[Line]> = (0..1 + rng.below(3))
            .map(|k| {
                let num = 1 + rng.below(3) as u32;
                let price = 990 + rng.below(29_000) as i64;
                let discount = rng.below(price as u64 / 10) as i64;
                Line {
                    oid: tid * 100 + k as i64,
                    num_iid: 600_000_000_000 + rng.below(500) as i64,
                    sku: rng.below(2_000) as u32,
                    num,
                    price,
                    payment: price * i64::from(num) - discount,
                }
            })
            .collect();
        let trade = Trade {
            tid,
            seller,
            status,
            trade_type,
            created,
            modified,
            pay_time,
            buyer: rng.below(200_000) as u32,
            place: rng.below(PLACES.len() as u64) as u8,
            post_fee: [0, 0, 600, 800][rng.below(4) as usize],
            lines,
        };
        let refund = status == TradeStatus::Closed || (paid && rng.below(100) < 5);
        if refund {
            let line = &trade.lines[0];
            let full = status == TradeStatus::Closed;
            let created = modified + Duration::seconds(rng.below(3 * 86_400) as i64);
            refund_id += 1 + rng.below(5) as i64;
            world.upsert_refund(Refund {
                refund_id,
                tid,
                oid: line.oid,
                seller,
                num: line.num,
                total_fee: line.price * i64::from(line.num),
                refund_fee: if full { line.payment } else { line.payment / 2 },
                status: if full {
                    RefundStatus::Success
                } else {
                    [
                        RefundStatus::WaitSellerAgree,
                        RefundStatus::WaitBuyerReturnGoods,
                        RefundStatus::Success,
                        RefundStatus::Closed,
                    ][rng.below(4) as usize]
                },
                has_good_return: rng.below(2) == 0,
                created,
                modified: created + Duration::seconds(rng.below(86_400) as i64),
            });
        }
        world.upsert(trade);
    }
    world
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("start")
    }

    #[test]
    fn the_same_seed_gives_the_same_world_and_money_adds_up() {
        let (a, b) = (generate(500, 7, start(), 5), generate(500, 7, start(), 5));
        assert_eq!(a.trades(), b.trades());
        assert_eq!(a.refunds(), b.refunds());
        assert_ne!(a.trades(), generate(500, 8, start(), 5).trades());
        let trades = a.trades();
        assert_eq!(trades.len(), 500);
        assert!(trades.iter().any(|t| t.seller == 0) && trades.iter().any(|t| t.seller == 1));
        assert!(!a.refunds().is_empty());
        for t in &trades {
            assert!(
                t.created >= start()
                    && t.created < start() + Duration::days(5) + Duration::minutes(1)
            );
            assert!(t.modified >= t.created);
            assert_eq!(
                t.payment(),
                t.lines.iter().map(|l| l.payment).sum::<i64>() + t.post_fee
            );
        }
    }

    #[test]
    #[ignore = "memory measurement: cargo test top_world_of_a_million -- --ignored --nocapture"]
    fn top_world_of_a_million_trades_fits() {
        let t = std::time::Instant::now();
        let w = generate(1_000_000, 1, start(), 90);
        eprintln!(
            "1M trades generated in {:?}; {} refunds",
            t.elapsed(),
            w.refunds().len()
        );
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            eprintln!("{line}");
        }
    }
}
