//! Unit tests of the pure forecast: synthetic series with planted patterns, hand-built
//! suggestion inputs. Expectations are derived from what was planted, never copied outputs.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Decimal128Type;
use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calendar::{plus, weekday};
use super::*;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn campaign(
    id: &str,
    name: &str,
    start: NaiveDate,
    end: NaiveDate,
    peak: NaiveDate,
) -> CampaignDays {
    CampaignDays {
        id: id.into(),
        name: name.into(),
        start,
        end,
        peak: Some(peak),
    }
}

/// Planted weekday factors (Monday first), averaging 1.
const WEEKDAY: [f64; 7] = [0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15];

/// A series of `days` days from `first` for SKUs with base `rates`: rate × weekday factor ×
/// `uplift(date)` × (1 ± `noise`), rounded to whole units.
fn synthetic(
    first: NaiveDate,
    days: usize,
    rates: &[f64],
    weekly: bool,
    uplift: &dyn Fn(NaiveDate) -> f64,
    noise: f64,
    seed: u64,
) -> History {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let units = rates
        .iter()
        .map(|r| {
            (0..days)
                .map(|i| {
                    let d = plus(first, i);
                    let w = if weekly { WEEKDAY[weekday(d)] } else { 1.0 };
                    let e = if noise > 0.0 {
                        rng.random_range(-noise..noise)
                    } else {
                        0.0
                    };
                    (r * w * uplift(d) * (1.0 + e)).round()
                })
                .collect()
        })
        .collect();
    History {
        first,
        skus: (0..rates.len()).map(|k| format!("S{k:03}")).collect(),
        units,
        out_of_stock: Vec::new(),
    }
}

#[test]
fn a_flat_series_forecasts_its_level() {
    let h = synthetic(ymd(2026, 1, 1), 200, &[5.0, 12.0], false, &|_| 1.0, 0.0, 1);
    let m = fit(&h, &[], &ModelConfig::default()).expect("fit");
    assert!(
        m.trend.abs() < 1e-12,
        "no trend in a flat series: {}",
        m.trend
    );
    for (k, rate) in [5.0, 12.0].iter().enumerate() {
        for f in m.forecast_sku(k, 35) {
            assert!((f - rate).abs() < 1e-9, "sku {k}: {f} vs level {rate}");
        }
    }
}

#[test]
fn a_weekly_pattern_is_recovered() {
    let rates = [40.0, 60.0, 80.0, 0.2];
    let h = synthetic(ymd(2025, 3, 3), 280, &rates, true, &|_| 1.0, 0.1, 7);
    let m = fit(&h, &[], &ModelConfig::default()).expect("fit");
    for (w, planted) in WEEKDAY.iter().enumerate() {
        assert!(
            (m.shop_weekday[w] - planted).abs() < 0.03,
            "shop weekday {w}: {} vs planted {}",
            m.shop_weekday[w],
            WEEKDAY[w]
        );
        for k in 0..3 {
            assert!(
                (m.fits[k].weekday[w] - planted).abs() < 0.05,
                "sku {k} weekday {w}: {} vs planted {}",
                m.fits[k].weekday[w],
                WEEKDAY[w]
            );
        }
    }
    // The forecast follows the pattern: each day's forecast over the level is its factor.
    let f = m.forecast_sku(1, 14);
    for (i, v) in f.iter().enumerate() {
        let planted = rates[1] * WEEKDAY[weekday(plus(m.next_day, i))];
        assert!(
            (v / planted - 1.0).abs() < 0.05,
            "day {i}: {v} vs {planted}"
        );
    }
}

/// Last year's and this year's "Sale", plus a future "NewFest" never seen before.
fn sale_calendar() -> Vec<CampaignDays> {
    vec![
        campaign(
            "C2025S",
            "2025Sale",
            ymd(2025, 6, 1),
            ymd(2025, 6, 12),
            ymd(2025, 6, 10),
        ),
        campaign(
            "C2025W",
            "Winter",
            ymd(2025, 12, 1),
            ymd(2025, 12, 6),
            ymd(2025, 12, 5),
        ),
        campaign(
            "C2026S",
            "2026Sale",
            ymd(2026, 6, 1),
            ymd(2026, 6, 12),
            ymd(2026, 6, 10),
        ),
        campaign(
            "C2026N",
            "NewFest",
            ymd(2026, 6, 20),
            ymd(2026, 6, 24),
            ymd(2026, 6, 22),
        ),
    ]
}

/// Planted uplift: the first three days of a wave 2.5, other wave days 1.5, the peak 6.
fn planted_uplift(cs: &[CampaignDays], d: NaiveDate) -> f64 {
    match cs.iter().find(|c| c.contains(d)) {
        None => 1.0,
        Some(c) if c.peak == Some(d) => 6.0,
        Some(c) if (d - c.start).num_days() < 3 => 2.5,
        Some(_) => 1.5,
    }
}

#[test]
fn a_planted_campaign_uplift_is_applied_on_future_campaign_days() {
    let cs = sale_calendar();
    let first = ymd(2025, 4, 1);
    let last = ymd(2026, 5, 24);
    let days = (last - first).num_days() as usize + 1;
    let rates = [30.0, 50.0, 5.0];
    let h = synthetic(
        first,
        days,
        &rates,
        true,
        &|d| planted_uplift(&cs, d),
        0.05,
        3,
    );
    let m = fit(&h, &cs, &ModelConfig::default()).expect("fit");
    let horizon = 35;
    let f = m.forecast_sku(1, horizon);
    for (i, v) in f.iter().enumerate() {
        let d = plus(m.next_day, i);
        let planted = rates[1] * WEEKDAY[weekday(d)] * planted_uplift(&cs, d);
        // "Sale" repeats last year's day-by-day shape closely.
        let sale = cs[2].contains(d);
        // "NewFest" has no last year: the pooled profile by day of campaign and peak.
        let fest = cs[3].contains(d);
        let tol = 0.08;
        assert!(
            (v / planted - 1.0).abs() < tol,
            "{d} (sale {sale}, fest {fest}): forecast {v} vs planted {planted}"
        );
    }
    // Pooled factors were estimated from both past campaigns: peak near 6, waves between.
    assert!(
        (m.peak_uplift / 6.0 - 1.0).abs() < 0.08,
        "{}",
        m.peak_uplift
    );
    assert!(
        m.wave_uplift > 1.5 && m.wave_uplift < 2.5,
        "{}",
        m.wave_uplift
    );
}

fn position(on_hand: i64, on_order: i64, lead_days: u32, cost_fen: i64) -> Position {
    Position {
        sku_id: "S1".into(),
        warehouse_id: "W1".into(),
        on_hand,
        on_order,
        lead_days,
        cost_fen,
    }
}

fn no_campaign(_: NaiveDate) -> Option<String> {
    None
}

#[test]
fn suggestion_arithmetic_follows_the_formula() {
    let settings = SuggestSettings::default();
    let as_of = ymd(2026, 11, 24);
    let rate = 10.0;
    let (lead, review) = (5u32, settings.review_days);
    let daily = vec![rate; 60];
    let (on_hand, on_order) = (100, 23);

    // No variability: no safety stock; the reorder point is the lead-time demand.
    let s = suggest(
        &position(on_hand, on_order, lead, 250),
        &daily,
        0.0,
        as_of,
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    let lead_demand = (rate * f64::from(lead)) as i64;
    assert_eq!(s.safety_stock, 0);
    assert_eq!(s.demand_lead_time, lead_demand);
    assert_eq!(s.reorder_point, lead_demand);
    // The position drops by `rate` a day; the first day it is below the reorder point:
    let start = on_hand + on_order;
    let per_day = rate as i64;
    let t = (start - lead_demand) / per_day + 1;
    assert!(start - t * per_day < lead_demand && start - (t - 1) * per_day >= lead_demand);
    assert_eq!(s.order_by, Some(plus(as_of, t as usize)));
    // The quantity lifts that day's position to lead + review days of demand, in packs of 10.
    let need = per_day * i64::from(lead + review) - (start - t * per_day);
    assert_eq!(s.qty % settings.pack, 0, "{}", s.qty);
    assert!(
        s.qty >= need && s.qty - need < settings.pack,
        "{} vs need {need}",
        s.qty
    );
    assert_eq!(s.amount_fen, s.qty * 250);

    // With variability: safety stock z·σ·√L rounded up, and the reorder point includes it.
    let sigma = 4.0;
    let s = suggest(
        &position(on_hand, on_order, lead, 250),
        &daily,
        sigma,
        as_of,
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    let z = normal_quantile(settings.service_level);
    let ss = (z * sigma * f64::from(lead).sqrt()).ceil() as i64;
    assert_eq!(s.safety_stock, ss);
    assert_eq!(s.reorder_point, lead_demand + ss);
    let t = (start - lead_demand - ss) / per_day + 1;
    assert_eq!(s.order_by, Some(plus(as_of, t as usize)));

    // Already below: order today.
    let s = suggest(
        &position(3, 0, lead, 250),
        &daily,
        0.0,
        as_of,
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    assert_eq!(s.order_by, Some(as_of));
    assert!(s.reason.contains("now"), "{}", s.reason);
    // Plenty: nothing within the horizon.
    let s = suggest(
        &position(10_000, 0, lead, 250),
        &daily,
        0.0,
        as_of,
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    assert_eq!((s.qty, s.order_by, s.amount_fen), (0, None, 0));
}

#[test]
fn a_campaign_ahead_brings_the_order_forward_and_is_named() {
    let settings = SuggestSettings::default();
    let as_of = ymd(2026, 11, 24);
    let mut daily = vec![10.0; 60];
    let flat = suggest(
        &position(300, 0, 7, 100),
        &daily,
        0.0,
        as_of,
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    for v in &mut daily[14..19] {
        *v = 60.0;
    }
    let fest =
        |d: NaiveDate| (d >= plus(as_of, 15) && d <= plus(as_of, 19)).then(|| "双十二".to_string());
    let peak = suggest(
        &position(300, 0, 7, 100),
        &daily,
        0.0,
        as_of,
        &settings,
        &fest,
    )
    .expect("suggest");
    assert!(peak.order_by < flat.order_by, "{peak:?} vs {flat:?}");
    assert!(peak.qty > flat.qty);
    assert!(peak.reason.contains("双十二"), "{}", peak.reason);
}

#[test]
fn amounts_are_exact_decimals() {
    let settings = SuggestSettings::default();
    // 1,234,567.89 yuan a unit: a float would lose fen on the product.
    let cost = 123_456_789;
    let s = suggest(
        &position(0, 0, 3, cost),
        &[7.3; 40],
        0.0,
        ymd(2026, 1, 1),
        &settings,
        &no_campaign,
    )
    .expect("suggest");
    assert!(s.qty > 0);
    assert_eq!(s.amount_fen, s.qty * cost);
    let b = suggestions_batch(std::slice::from_ref(&s)).expect("batch");
    let col = b.column_by_name("suggested_amount").expect("column");
    assert_eq!(
        col.data_type(),
        &arrow::datatypes::DataType::Decimal128(18, 2)
    );
    assert_eq!(
        col.as_primitive::<Decimal128Type>().value(0),
        i128::from(s.qty * cost)
    );
    let text = arrow::util::display::array_value_to_string(col, 0).expect("display");
    assert_eq!(
        text,
        format!("{}.{:02}", s.amount_fen / 100, s.amount_fen % 100)
    );
    assert!(!col.is_null(0));
}

#[test]
fn the_normal_quantile_is_symmetric_and_increasing() {
    assert!(normal_quantile(0.5).abs() < 1e-9);
    let mut prev = f64::NEG_INFINITY;
    for i in 1..1000 {
        let p = f64::from(i) / 1000.0;
        let q = normal_quantile(p);
        assert!(q > prev, "not increasing at {p}");
        assert!(
            (q + normal_quantile(1.0 - p)).abs() < 1e-6,
            "not symmetric at {p}"
        );
        prev = q;
    }
    // Φ(q) = p, with Φ from the error function's series (independent of the approximation).
    for p in [0.9, 0.95, 0.99] {
        let q = normal_quantile(p);
        let phi = 0.5 * (1.0 + erf(q / std::f64::consts::SQRT_2));
        assert!((phi - p).abs() < 1e-6, "Φ({q}) = {phi} vs {p}");
    }
}

/// The error function by its Taylor series (fine for |x| < 3).
fn erf(x: f64) -> f64 {
    let mut sum = 0.0;
    let mut term = x;
    for n in 0..100 {
        sum += term / f64::from(2 * n + 1);
        term *= -x * x / f64::from(n + 1);
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

#[test]
fn the_model_beats_the_naive_baselines_on_planted_seasonality() {
    let cs = sale_calendar();
    let first = ymd(2025, 4, 1);
    // The holdout (the last 28 days) covers this year's "Sale".
    let last = ymd(2026, 6, 15);
    let days = (last - first).num_days() as usize + 1;
    let rates: Vec<f64> = (1..=40).map(|k| 60.0 / f64::from(k)).collect();
    let h = synthetic(
        first,
        days,
        &rates,
        true,
        &|d| planted_uplift(&cs, d),
        0.3,
        11,
    );
    let r = backtest(&h, &cs, &BacktestSettings::default()).expect("backtest");
    assert_eq!(r.holdout_last, last);
    let [model, naive, seasonal] = r.overall.map(|s| s.wape().expect("sold"));
    assert!(model < naive, "model {model} vs naive {naive}");
    assert!(
        model < seasonal,
        "model {model} vs seasonal naive {seasonal}"
    );
    assert_eq!(r.top.len(), 10);
    assert_eq!(r.top[0].0, "S000", "the best seller first");

    let b = backtest_batch(&r).expect("batch");
    assert_eq!(b.num_rows(), 3 * (1 + r.top.len()));
}

#[test]
fn a_backtest_needs_more_history_than_its_holdout() {
    let h = synthetic(ymd(2026, 1, 1), 30, &[5.0], false, &|_| 1.0, 0.0, 1);
    let e = backtest(&h, &[], &BacktestSettings::default()).expect_err("too short");
    assert!(
        matches!(e, ForecastError::ShortHistory { days: 30, .. }),
        "{e}"
    );
}

#[test]
fn settings_out_of_range_are_refused_by_name() {
    let bad = SuggestSettings {
        service_level: 1.5,
        ..SuggestSettings::default()
    };
    let e = suggest(
        &position(0, 0, 3, 100),
        &[1.0; 60],
        1.0,
        ymd(2026, 1, 1),
        &bad,
        &no_campaign,
    )
    .expect_err("service level 1.5");
    assert!(e.to_string().contains("service level"), "{e}");
    let short = suggest(
        &position(0, 0, 30, 100),
        &[1.0; 40],
        1.0,
        ymd(2026, 1, 1),
        &SuggestSettings::default(),
        &no_campaign,
    )
    .expect_err("forecast shorter than horizon + lead + review");
    assert!(matches!(short, ForecastError::Setting { .. }), "{short}");
}

#[test]
fn a_sku_in_several_warehouses_splits_demand_by_outbound() {
    let pos = |sku: &str, w: &str| Position {
        sku_id: sku.into(),
        warehouse_id: w.into(),
        ..position(0, 0, 3, 100)
    };
    let mut inputs = Inputs {
        as_of: ymd(2026, 1, 1),
        history: synthetic(ymd(2025, 12, 1), 32, &[1.0], false, &|_| 1.0, 0.0, 1),
        campaigns: Vec::new(),
        skus: std::collections::HashMap::new(),
        positions: vec![
            pos("A", "W1"),
            pos("A", "W2"),
            pos("B", "W1"),
            pos("C", "W1"),
            pos("C", "W2"),
        ],
        outbound: std::collections::HashMap::new(),
    };
    inputs.outbound.insert(("A".into(), "W1".into()), 30);
    inputs.outbound.insert(("A".into(), "W2".into()), 10);
    let shares = inputs.shares();
    assert_eq!(shares[..2], [30.0 / 40.0, 10.0 / 40.0]);
    assert_eq!(shares[2], 1.0, "one warehouse takes it all");
    assert_eq!(shares[3..], [0.5, 0.5], "no outbound: equal parts");
}

#[test]
fn days_out_of_stock_do_not_lower_the_level() {
    let rate = 8.0;
    let mut h = synthetic(ymd(2026, 1, 1), 150, &[rate, 20.0], false, &|_| 1.0, 0.0, 1);
    // SKU 0 ran out for its last 20 days: nothing sold.
    let n = h.days();
    for u in &mut h.units[0][n - 20..] {
        *u = 0.0;
    }
    let blind = fit(&h, &[], &ModelConfig::default()).expect("fit");
    assert!(
        blind.fits[0].level < rate * 0.9,
        "zeros pull a blind level down"
    );
    h.out_of_stock = vec![(n - 20..n).collect(), Vec::new()];
    let m = fit(&h, &[], &ModelConfig::default()).expect("fit");
    // (The shop's weekday factors see the dip in the total, so "exactly" is within 0.1 %.)
    assert!(
        (m.fits[0].level / rate - 1.0).abs() < 1e-3,
        "{}",
        m.fits[0].level
    );
    assert!(
        m.fits[0].sigma < 0.01 * rate,
        "in-stock days are flat: {}",
        m.fits[0].sigma
    );
    assert!((m.fits[1].level / 20.0 - 1.0).abs() < 1e-3);
}
