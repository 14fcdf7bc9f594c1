//! Reconciliation tests: spec parsing, compiling, the queue merge, and the whole loop on a
//! generated world: clean data has no breaks, planted anomalies are found exactly (precision
//! and recall 1.0 per check), and fixing data closes its breaks while the others keep their
//! identity and history.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use warehouse::{LakeConfig, Warehouse};

use super::inject::{ExpectedBreak, inject, undo};
use super::queue::{BreakRow, merge};
use super::*;
use crate::demo::{DemoConfig, run_demo};

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

const MINIMAL: &str = r#"
name = "mini"
title = "Mini"
description = "d"
keys = ["order_id"]
unit = "money"
sql = "SELECT order_id, shop_id, order_date AS break_date, 'X' AS kind, pay_amount AS expected, pay_amount + {{tolerance}} AS actual, CAST(NULL AS VARCHAR) AS detail FROM orders WHERE order_date <= DATE '{{as_of}}'"

[params]
tolerance = "0.50"
"#;

#[test]
fn built_in_checks_parse_and_cover_the_finance_checks() {
    let checks = load_checks(None).expect("built-ins parse");
    let names: BTreeSet<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "order_payment",
        "order_settlement",
        "platform_fees",
        "refund_settlement",
        "returns_received",
        "shipping_insurance",
        "carrier_statement",
        "cod_remittance",
        "inventory_rollforward",
        "purchase_three_way",
        "marketing_fees",
    ] {
        assert!(names.contains(want), "missing built-in check {want}");
    }
}

#[test]
fn spec_errors_name_the_file_and_the_key() {
    let e = CheckSpec::parse(
        &MINIMAL.replace("\"0.50\"", "\"1; DROP TABLE x\""),
        "my.toml",
    )
    .expect_err("a non-number parameter is refused")
    .to_string();
    assert!(
        e.contains("my.toml") && e.contains("params.tolerance"),
        "{e}"
    );
    let e = CheckSpec::parse(&MINIMAL.replace("{{tolerance}}", "{{slack}}"), "my.toml")
        .expect_err("an unknown placeholder is refused")
        .to_string();
    assert!(e.contains("slack"), "{e}");
    let e = CheckSpec::parse(
        &MINIMAL.replace("unit = \"money\"", "unit = \"money\"\ncolour = 1"),
        "x.toml",
    )
    .expect_err("unknown keys are refused")
    .to_string();
    assert!(e.contains("colour"), "{e}");
    let e = CheckSpec::parse(
        &MINIMAL.replace("name = \"mini\"", "name = \"Mini Check\""),
        "x.toml",
    )
    .expect_err("a bad name is refused")
    .to_string();
    assert!(e.contains("name"), "{e}");
}

#[test]
fn user_checks_are_added_and_override_built_ins() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("mini.toml"), MINIMAL).expect("write");
    std::fs::write(
        dir.path().join("order_payment.toml"),
        MINIMAL.replace("name = \"mini\"", "name = \"order_payment\""),
    )
    .expect("write");
    let checks = load_checks(Some(dir.path())).expect("load");
    assert!(checks.iter().any(|c| c.name == "mini"));
    let op = checks
        .iter()
        .find(|c| c.name == "order_payment")
        .expect("kept");
    assert!(op.origin.ends_with("order_payment.toml"), "{}", op.origin);
    assert_eq!(
        checks.iter().filter(|c| c.name == "order_payment").count(),
        1
    );
}

#[test]
fn compile_fills_parameters_and_scopes_by_business_date() {
    let spec = CheckSpec::parse(MINIMAL, "t").expect("parse");
    let sql = compile(&spec, day("2026-10-31"), None);
    assert!(
        sql.contains("pay_amount + 0.50") && sql.contains("DATE '2026-10-31'"),
        "{sql}"
    );
    assert!(!sql.contains("{{"), "{sql}");
    let p = Period::parse("2026-10").expect("period");
    assert_eq!((p.from, p.to), (day("2026-10-01"), day("2026-10-31")));
    let sql = compile(&spec, day("2026-10-31"), Some(&p));
    assert!(
        sql.ends_with("break_date >= DATE '2026-10-01' AND break_date <= DATE '2026-10-31'"),
        "{sql}"
    );
    assert_eq!(Period::parse("2026-12").expect("dec").to, day("2026-12-31"));
    assert_eq!(Period::parse("2026").expect("year").to, day("2026-12-31"));
    assert!(Period::parse("2026-13").is_err());
    assert!(Period::parse("2026-11-02..2026-11-01").is_err());
    // The end of a Shanghai day is 16:00 UTC of the same date.
    assert_eq!(
        end_of_day_unix(day("2026-11-24")),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .and_then(|d| d.and_hms_opt(16, 0, 0))
            .expect("t")
            .and_utc()
            .timestamp()
    );
}

fn found(id: &str, kind: &str, diff: i128) -> Found {
    Found {
        id: id.into(),
        kind: kind.into(),
        break_date: 20_000,
        shop_id: None,
        key_values: id.into(),
        expected: Some(0),
        actual: Some(diff),
        difference: diff,
        amount_at_stake: diff.abs(),
        detail: None,
    }
}

#[test]
fn merge_keeps_identity_closes_what_vanished_and_respects_ignore_and_scope() {
    let all = |_: i32| true;
    let (rows, events, c) = merge(
        "c",
        "money",
        vec![
            found("c:a", "X", 5),
            found("c:b", "X", 7),
            found("c:c", "X", 1),
        ],
        &HashMap::new(),
        &all,
        "run-1",
        100,
    );
    assert_eq!(
        (c.found, c.opened, c.closed, c.amount_at_stake),
        (3, 3, 0, 13)
    );
    assert_eq!(events.len(), 3);
    let mut queue: HashMap<String, BreakRow> =
        rows.into_iter().map(|r| (r.break_id.clone(), r)).collect();
    queue.get_mut("c:c").expect("c").status = "ignored".into();
    // Second run: a is gone, b changed, c (ignored) persists, d is new.
    let (rows, events, c) = merge(
        "c",
        "money",
        vec![
            found("c:b", "Y", 9),
            found("c:c", "X", 1),
            found("c:d", "X", 2),
        ],
        &queue,
        &all,
        "run-2",
        200,
    );
    assert_eq!((c.found, c.opened, c.reopened, c.closed), (3, 1, 0, 1));
    let by: HashMap<&str, &BreakRow> = rows.iter().map(|r| (r.break_id.as_str(), r)).collect();
    assert_eq!(by["c:a"].status, "resolved");
    assert!(
        by["c:a"]
            .resolution
            .as_deref()
            .unwrap_or("")
            .contains("run-2")
    );
    assert_eq!(
        (by["c:b"].first_seen_at, by["c:b"].last_seen_at),
        (100, 200)
    );
    assert_eq!(by["c:c"].status, "ignored");
    assert_eq!(by["c:d"].first_seen_at, 200);
    let kinds: BTreeSet<(&str, &str)> = events
        .iter()
        .map(|e| (e.break_id.as_str(), e.event_type))
        .collect();
    assert!(kinds.contains(&("c:a", "resolved")) && kinds.contains(&("c:b", "changed")));
    assert!(kinds.contains(&("c:d", "opened")));
    // Out of scope: nothing is closed.
    let none = |_: i32| false;
    let (_, _, c) = merge("c", "money", vec![], &queue, &none, "run-3", 300);
    assert_eq!(c.closed, 0);
    // A resolved break found again is reopened with its first sighting kept.
    for r in rows {
        queue.insert(r.break_id.clone(), r);
    }
    let (rows, _, c) = merge(
        "c",
        "money",
        vec![found("c:a", "X", 5)],
        &queue,
        &all,
        "run-4",
        400,
    );
    assert_eq!(c.reopened, 1);
    let a = rows.iter().find(|r| r.break_id == "c:a").expect("a");
    assert_eq!((a.status.as_str(), a.first_seen_at), ("open", 100));
}

async fn demo_lake(dir: &std::path::Path, end: NaiveDate) -> Warehouse {
    let wh = Warehouse::open(&LakeConfig {
        url: dir.join("lake").display().to_string(),
        storage_options: HashMap::new(),
    })
    .await
    .expect("lake");
    let cfg = DemoConfig {
        orders: 15_000,
        skus: 300,
        days: 120,
        end_date: end,
        seed: 11,
    };
    run_demo(&wh, &cfg, false, None, &|_| {})
        .await
        .expect("demo");
    wh
}

async fn open_breaks(wh: &Warehouse) -> BTreeMap<String, (String, String, i64)> {
    let batches = wh
        .query("SELECT * FROM recon_breaks WHERE status = 'open'")
        .await
        .expect("queue");
    queue::read_breaks(&batches)
        .expect("read")
        .into_iter()
        .map(|b| (b.break_id, (b.check_name, b.kind, b.first_seen_at)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_anomalies_are_found_exactly_and_fixing_data_closes_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let end = day("2026-11-24");
    let wh = demo_lake(dir.path(), end).await;
    let checks = load_checks(None).expect("checks");
    let opts = RunOptions {
        checks: vec![],
        period: None,
        as_of: end,
    };

    // 1. The generated world is clean: every check finds nothing.
    let report = run(&wh, &checks, &opts, &|_| {}).await.expect("run");
    let noisy: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.counts.found > 0)
        .map(|c| format!("{} found {}", c.check, c.counts.found))
        .collect();
    let sample = open_breaks(&wh)
        .await
        .into_iter()
        .take(10)
        .collect::<Vec<_>>();
    assert!(
        noisy.is_empty(),
        "clean data has breaks: {noisy:?}; e.g. {sample:?}"
    );
    assert_eq!(report.checks.len(), checks.len());

    // 2. Plant one anomaly of every kind; each check finds exactly its planted breaks.
    let anomalies = inject(&wh, end).await.expect("inject");
    let expected: BTreeSet<ExpectedBreak> =
        anomalies.iter().flat_map(|a| a.expected.clone()).collect();
    let report = run(&wh, &checks, &opts, &|_| {}).await.expect("run 2");
    let got = open_breaks(&wh).await;
    let got_set: BTreeSet<ExpectedBreak> = got
        .iter()
        .map(|(id, (check, kind, _))| ExpectedBreak {
            check: check.clone(),
            break_id: id.clone(),
            kind: kind.clone(),
        })
        .collect();
    for c in &checks {
        let want: BTreeSet<_> = expected.iter().filter(|e| e.check == c.name).collect();
        let have: BTreeSet<_> = got_set.iter().filter(|e| e.check == c.name).collect();
        let hits = want.intersection(&have).count();
        assert!(!want.is_empty(), "no anomaly planted for check {}", c.name);
        let precision = hits as f64 / have.len().max(1) as f64;
        let recall = hits as f64 / want.len() as f64;
        assert_eq!(
            (precision, recall),
            (1.0, 1.0),
            "check {}: wanted {want:?}, found {have:?}",
            c.name
        );
    }
    let kinds: BTreeSet<&str> = expected.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.len() >= 25, "anomalies of many kinds: {kinds:?}");
    assert_eq!(
        report.checks.iter().map(|c| c.counts.opened).sum::<u64>(),
        expected.len() as u64
    );

    // 3. Fix every other anomaly; the next run closes exactly those breaks and keeps the
    //    others' identity and first sighting.
    let (fixed, kept): (Vec<_>, Vec<_>) =
        anomalies.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (_, a) in &fixed {
        undo(&wh, a).await.expect("undo");
    }
    let report = run(&wh, &checks, &opts, &|_| {}).await.expect("run 3");
    let after = open_breaks(&wh).await;
    let want_open: BTreeSet<String> = kept
        .iter()
        .flat_map(|(_, a)| a.expected.iter().map(|e| e.break_id.clone()))
        .collect();
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), want_open);
    for id in &want_open {
        assert_eq!(after[id].2, got[id].2, "{id} kept its first sighting");
    }
    let closed: u64 = report.checks.iter().map(|c| c.counts.closed).sum();
    let fixed_ids: BTreeSet<String> = fixed
        .iter()
        .flat_map(|(_, a)| a.expected.iter().map(|e| e.break_id.clone()))
        .collect();
    assert_eq!(closed, fixed_ids.len() as u64);
    let resolved = wh
        .query("SELECT break_id, resolution FROM recon_breaks WHERE status = 'resolved'")
        .await
        .expect("resolved");
    let n: usize = resolved.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, fixed_ids.len());
    // History: each fixed break was opened, then resolved automatically.
    let one = fixed_ids.iter().next().expect("one fixed");
    let hist = wh
        .query(&format!(
            "SELECT event_type FROM recon_break_events WHERE break_id = {} ORDER BY event_at",
            warehouse::sql_text(one)
        ))
        .await
        .expect("history");
    let events: Vec<String> = hist
        .iter()
        .flat_map(|b| {
            let c =
                arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("utf8");
            let s = arrow::array::AsArray::as_string::<i32>(&c).clone();
            use arrow::array::Array as _;
            (0..s.len())
                .map(move |i| s.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(events, vec!["opened".to_string(), "resolved".to_string()]);

    // 4. A person ignores a break: later runs keep it ignored, and it leaves the open queue.
    let target = want_open.iter().next().expect("one open").clone();
    act(
        &wh,
        &target,
        Action::Ignore,
        "known carrier dispute",
        "finance@test",
    )
    .await
    .expect("ignore");
    run(&wh, &checks, &opts, &|_| {}).await.expect("run 4");
    let after = open_breaks(&wh).await;
    assert!(!after.contains_key(&target));
    assert_eq!(after.len(), want_open.len() - 1);

    // 5. A run scoped to a period outside every break's date closes nothing.
    for (_, a) in &kept {
        undo(&wh, a).await.expect("undo rest");
    }
    let scoped = RunOptions {
        period: Some(Period::parse("2020-01").expect("p")),
        ..opts.clone()
    };
    let report = run(&wh, &checks, &scoped, &|_| {}).await.expect("scoped");
    assert_eq!(
        report.checks.iter().map(|c| c.counts.closed).sum::<u64>(),
        0
    );
    assert_eq!(open_breaks(&wh).await.len(), want_open.len() - 1);
}
