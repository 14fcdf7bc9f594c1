//! `zhongtai reconcile` on a demo world with planted anomalies: the CLI finds exactly the
//! planted breaks, people can work the queue, and bad input gets clear errors.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{Lake, fen, int, s};

#[test]
fn reconcile_finds_the_planted_breaks_and_the_queue_can_be_worked() {
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "12000",
        "--skus",
        "300",
        "--days",
        "100",
        "--end-date",
        "2026-11-24",
        "--direct",
        "--anomalies",
    ]);
    let planted: Value = serde_json::from_slice(
        &std::fs::read(lake.path().join("demo-anomalies.json")).expect("anomalies file"),
    )
    .expect("json");
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    for a in planted.as_array().expect("array") {
        for e in a["expected"].as_array().expect("expected") {
            want.insert((s(&e["check"]), s(&e["break_id"]), s(&e["kind"])));
        }
    }
    assert!(want.len() >= 30, "{want:?}");

    let summary = lake.json(&["reconcile", "--as-of", "2026-11-24"]);
    let mut per_check: BTreeMap<String, i64> = BTreeMap::new();
    for (c, _, _) in &want {
        *per_check.entry(c.clone()).or_default() += 1;
    }
    for row in &summary {
        let check = s(&row["check"]);
        assert_eq!(
            int(&row["found"]),
            per_check.get(&check).copied().unwrap_or(0),
            "{check}"
        );
        assert_eq!(int(&row["new"]), int(&row["found"]), "{check}");
    }
    assert_eq!(summary.len(), 11);

    let rows = lake.json(&["reconcile", "breaks", "--limit", "1000"]);
    let got: BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| (s(&r["check_name"]), s(&r["break_id"]), s(&r["kind"])))
        .collect();
    assert_eq!(got, want);
    // Amounts are exact decimals and difference = actual - expected.
    for r in &rows {
        let e = r.get("expected").filter(|v| !v.is_null()).map_or(0, fen);
        let a = r.get("actual").filter(|v| !v.is_null()).map_or(0, fen);
        assert_eq!(fen(&r["difference"]), a - e, "{r:?}");
    }

    // Age counts business days from the break's date to --as-of, not from when it was seen;
    // a listing says how much of the queue it shows and what the whole queue has at stake.
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
    let out = lake.run(&[
        "reconcile",
        "breaks",
        "--limit",
        "3",
        "--as-of",
        "2026-11-30",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let top: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json rows");
    assert_eq!(top.len(), 3);
    for r in &top {
        let date: chrono::NaiveDate = s(&r["break_date"]).parse().expect("break_date");
        assert_eq!(int(&r["age_days"]), (as_of - date).num_days(), "{r:?}");
    }
    let at_stake: i64 = rows
        .iter()
        .filter_map(|r| r.get("amount_at_stake").filter(|v| !v.is_null()).map(fen))
        .sum();
    let footer = String::from_utf8_lossy(&out.stderr).to_string();
    let want_footer = format!(
        "showing 3 of {} breaks (open), amount at stake ¥{}.{:02}",
        rows.len(),
        at_stake / 100,
        at_stake % 100
    );
    assert!(
        footer.contains(&want_footer),
        "{footer:?} lacks {want_footer:?}"
    );

    // Work the queue: ignore one with a note; a re-run keeps it ignored and new is 0.
    let (_, id, _) = want.iter().next().expect("one").clone();
    let err = lake.fails(&["reconcile", "ignore", &id]);
    assert!(err.contains("--note"), "{err}");
    lake.ok(&[
        "reconcile",
        "ignore",
        &id,
        "--note",
        "disputed with the carrier",
        "--by",
        "lin@finance",
    ]);
    let summary = lake.json(&["reconcile", "--as-of", "2026-11-24"]);
    assert!(
        summary
            .iter()
            .all(|r| int(&r["new"]) == 0 && int(&r["closed"]) == 0),
        "{summary:?}"
    );
    let ignored = lake.json(&["reconcile", "breaks", "--status", "ignored"]);
    assert_eq!(ignored.len(), 1);
    assert_eq!(s(&ignored[0]["break_id"]), id);
    assert_eq!(s(&ignored[0]["note"]), "disputed with the carrier");
    assert_eq!(s(&ignored[0]["updated_by"]), "lin@finance");
    let events: Vec<String> = lake
        .json(&["reconcile", "history", &id])
        .iter()
        .map(|e| s(&e["event_type"]))
        .collect();
    assert_eq!(events, vec!["opened", "ignored"]);

    // A period scope and a single check.
    let summary = lake.json(&[
        "reconcile",
        "--check",
        "order_payment",
        "--period",
        "2026-11",
        "--as-of",
        "2026-11-24",
    ]);
    assert_eq!(summary.len(), 1);

    // Bad input: clear errors naming what is wrong.
    let err = lake.fails(&["reconcile", "--check", "no_such_check"]);
    assert!(
        err.contains("no_such_check") && err.contains("order_payment"),
        "{err}"
    );
    let err = lake.fails(&["reconcile", "--period", "2026-13"]);
    assert!(err.contains("2026-13"), "{err}");
    let err = lake.fails(&["reconcile", "resolve", "nope:1", "--note", "x"]);
    assert!(err.contains("nope:1"), "{err}");
    std::fs::create_dir_all(lake.path().join("checks")).expect("dir");
    lake.file("checks/bad.toml", "name = \"bad\"\ntitle = \"t\"\n");
    let err = lake.fails(&["reconcile"]);
    assert!(err.contains("bad.toml"), "{err}");
}
