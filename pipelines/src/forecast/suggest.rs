//! From a daily forecast to a purchase suggestion for one SKU in one warehouse (pure).
//!
//! With `L` the supplier's lead time, `R` the review period, `z` the normal quantile of the
//! service level and `σ` the SKU's daily standard deviation:
//!
//! - safety stock `SS = ⌈z · σ · √L⌉`;
//! - the inventory position after day `t` is `on_hand + on_order − demand(1..=t)`;
//! - the reorder point on day `t` is `demand(t+1..=t+L) + SS`;
//! - the **order-by date** is the first day `t` (today included) whose position is below its
//!   reorder point: ordering then, the goods arrive before the stock runs into the safety
//!   stock. None within the horizon: nothing to order;
//! - the **quantity** brings the position on the order-by date up to
//!   `demand(t+1..=t+L+R) + SS`, rounded up to a whole pack (10 units);
//! - the **amount** is `qty × cost_price`, in fen integers (exact).
//!
//! The reported lead-time demand, safety stock and reorder point are today's; the order-by
//! date follows the seasonal forecast, so a campaign ahead brings it forward.

use chrono::NaiveDate;

use super::ForecastError;
use super::calendar::plus;

/// Settings of the suggestion.
#[derive(Debug, Clone)]
pub struct SuggestSettings {
    /// Probability of not running out during a lead time (0.5 ..= 0.999).
    pub service_level: f64,
    /// Days between two purchasing reviews: an order covers lead time plus this.
    pub review_days: u32,
    /// Lead time when a SKU has no supplier yet.
    pub default_lead_days: u32,
    /// Orders are whole packs of this many units.
    pub pack: i64,
    /// How far ahead to look for the order-by date.
    pub horizon_days: u32,
}

impl Default for SuggestSettings {
    fn default() -> Self {
        Self {
            service_level: 0.95,
            review_days: 7,
            default_lead_days: 7,
            pack: 10,
            horizon_days: 28,
        }
    }
}

impl SuggestSettings {
    /// Refuses settings the formula cannot use.
    pub fn check(&self) -> Result<(), ForecastError> {
        if !(0.5..=0.999).contains(&self.service_level) {
            return Err(ForecastError::Setting {
                name: "service level",
                reason: format!("{} is not between 0.5 and 0.999", self.service_level),
            });
        }
        if self.pack < 1 {
            return Err(ForecastError::Setting {
                name: "pack",
                reason: "must be at least 1".into(),
            });
        }
        if self.horizon_days < 1 {
            return Err(ForecastError::Setting {
                name: "horizon days",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}

/// Where a SKU stands in one warehouse.
#[derive(Debug, Clone)]
pub struct Position {
    pub sku_id: String,
    pub warehouse_id: String,
    pub on_hand: i64,
    /// Ordered from suppliers and not yet received.
    pub on_order: i64,
    pub lead_days: u32,
    /// Cost price in fen.
    pub cost_fen: i64,
}

/// A purchase suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub sku_id: String,
    pub warehouse_id: String,
    pub on_hand: i64,
    pub on_order: i64,
    pub lead_days: u32,
    /// Forecast units over the lead time from today, rounded up.
    pub demand_lead_time: i64,
    pub safety_stock: i64,
    /// `demand_lead_time + safety_stock`.
    pub reorder_point: i64,
    /// Units to order (a multiple of the pack; 0 when nothing is needed in the horizon).
    pub qty: i64,
    pub order_by: Option<NaiveDate>,
    /// `qty × cost_price`, in fen.
    pub amount_fen: i64,
    pub reason: String,
}

/// Tolerance for sums of f64 demand that should be whole numbers.
const EPS: f64 = 1e-9;

/// Rounds up, ignoring float noise just above an integer.
fn ceil_units(x: f64) -> i64 {
    (x - EPS).ceil().max(0.0) as i64
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The suggestion for `pos`, given its daily forecast from the day after `as_of`
/// (`daily[0]` is tomorrow; it must cover `horizon_days + lead_days + review_days` days) and
/// its daily standard deviation `sigma`. `campaign_on` names a campaign running on a day, for
/// the reason text.
pub fn suggest(
    pos: &Position,
    daily: &[f64],
    sigma: f64,
    as_of: NaiveDate,
    settings: &SuggestSettings,
    campaign_on: &dyn Fn(NaiveDate) -> Option<String>,
) -> Result<Suggestion, ForecastError> {
    settings.check()?;
    let lead = pos.lead_days as usize;
    let cover = lead + settings.review_days as usize;
    let horizon = settings.horizon_days as usize;
    if daily.len() < horizon + cover {
        return Err(ForecastError::Setting {
            name: "forecast length",
            reason: format!(
                "{} days given, {} needed for {}",
                daily.len(),
                horizon + cover,
                pos.sku_id
            ),
        });
    }
    let z = normal_quantile(settings.service_level);
    let safety = ceil_units(z * sigma.max(0.0) * (lead as f64).sqrt());
    let sum = |from: usize, len: usize| daily[from..from + len].iter().sum::<f64>();
    let demand_lead_time = ceil_units(sum(0, lead));
    let start = (pos.on_hand + pos.on_order) as f64;

    let mut cum = 0.0;
    let mut found = None;
    for t in 0..=horizon {
        if t > 0 {
            cum += daily[t - 1];
        }
        let position = start - cum;
        let rop = sum(t, lead) + safety as f64;
        if position < rop - EPS {
            found = Some((t, position));
            break;
        }
    }
    let Some((t, position)) = found else {
        return Ok(Suggestion {
            sku_id: pos.sku_id.clone(),
            warehouse_id: pos.warehouse_id.clone(),
            on_hand: pos.on_hand,
            on_order: pos.on_order,
            lead_days: pos.lead_days,
            demand_lead_time,
            safety_stock: safety,
            reorder_point: demand_lead_time + safety,
            qty: 0,
            order_by: None,
            amount_fen: 0,
            reason: format!(
                "position {} stays above the reorder point for the next {horizon} days",
                pos.on_hand + pos.on_order
            ),
        });
    };
    let target = sum(t, cover) + safety as f64;
    let need = ceil_units(target - position).max(1);
    let qty = (need + settings.pack - 1) / settings.pack * settings.pack;
    let amount_fen = qty
        .checked_mul(pos.cost_fen)
        .ok_or_else(|| ForecastError::Overflow {
            what: format!("the amount of {} × {} fen", qty, pos.cost_fen),
        })?;
    let order_by = plus(as_of, t);
    let when = if t == 0 {
        format!(
            "position {} is below the reorder point {} now",
            pos.on_hand + pos.on_order,
            demand_lead_time + safety
        )
    } else {
        format!("position falls below the reorder point on {order_by}")
    };
    let mut covers = Vec::new();
    for i in t..t + cover {
        if let Some(name) = campaign_on(plus(as_of, i + 1))
            && !covers.contains(&name)
        {
            covers.push(name);
        }
    }
    let campaigns = if covers.is_empty() {
        String::new()
    } else {
        format!("; covers {}", covers.join(", "))
    };
    Ok(Suggestion {
        sku_id: pos.sku_id.clone(),
        warehouse_id: pos.warehouse_id.clone(),
        on_hand: pos.on_hand,
        on_order: pos.on_order,
        lead_days: pos.lead_days,
        demand_lead_time,
        safety_stock: safety,
        reorder_point: demand_lead_time + safety,
        qty,
        order_by: Some(order_by),
        amount_fen,
        reason: format!(
            "{when}; order {qty} to cover {cover} days (lead {lead} + review {}) of {:.1} \
             forecast units + safety {safety}{campaigns}",
            settings.review_days,
            sum(t, cover)
        ),
    })
}
