//! Rows have owners, through the binary: a connector's re-sync keeps finance's entries, an
//! import cannot take a connector's rows, and several processes start on one fresh data dir
//! at once (two connectors syncing side by side, imports, the server) and all commit.

use std::process::{Command, Stdio};

use crate::connector::{FROM, TO, no_duplicates, start_sim, with_secrets};
use crate::support::{BIN, Lake, fen, int, s, spawn};

const PAYMENTS: &str =
    "payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status\n";

#[test]
fn a_full_resync_keeps_a_manual_payment_for_a_synced_order() {
    let mut lake = Lake::new();
    with_secrets(&mut lake);
    let sim = start_sim(&lake, &["--unlimited"]);
    lake.ok(&["connector", "add", sim.doc.to_str().expect("path")]);
    let sync = ["connector", "sync", "jst-sim", "--from", FROM, "--to", TO];
    lake.ok(&sync);
    let order = lake.query(
        "select o.order_id, o.shop_id, count(p.payment_id) as n from orders o \
         join payments p on p.order_id = o.order_id group by 1, 2 order by 1 limit 1",
    );
    let (oid, shop, synced) = (
        s(&order[0]["order_id"]),
        s(&order[0]["shop_id"]),
        int(&order[0]["n"]),
    );
    assert!(synced > 0);
    let f = lake.file(
        "manual.csv",
        &format!("{PAYMENTS}MANUAL-1,{oid},{shop},bank,BANK-77,12.34,2026-11-15 10:00:00,2026-11-15,success\n"),
    );
    lake.ok(&["import", "payments", f.to_str().expect("path")]);
    let before = lake.query("select count(*) as n, sum(amount) as s from payments");

    // A full re-read replaces every order's payments — the connector's own.
    lake.ok(&[&sync[..], &["--full"]].concat());
    let m = lake.query(
        "select order_id, channel, amount, source from payments where payment_id = 'MANUAL-1'",
    );
    assert_eq!(m.len(), 1, "the manual payment survives the re-sync");
    assert_eq!(
        (s(&m[0]["order_id"]), s(&m[0]["channel"])),
        (oid.clone(), "bank".into())
    );
    assert_eq!(fen(&m[0]["amount"]), 1234);
    assert_eq!(s(&m[0]["source"]), "import:manual.csv");
    let after = lake.query("select count(*) as n, sum(amount) as s from payments");
    assert_eq!(
        (int(&after[0]["n"]), fen(&after[0]["s"])),
        (int(&before[0]["n"]), fen(&before[0]["s"]))
    );
    let n = lake.query(&format!(
        "select count(*) as n from payments where order_id = '{oid}' and source = 'jushuitan'"
    ));
    assert_eq!(
        int(&n[0]["n"]),
        synced,
        "the connector's own payments are intact"
    );

    // An import cannot replace the connector's payment, and says whose it is.
    let theirs = lake.query(&format!(
        "select payment_id from payments where order_id = '{oid}' and source = 'jushuitan' limit 1"
    ));
    let pid = s(&theirs[0]["payment_id"]);
    let f = lake.file(
        "steal.csv",
        &format!(
            "{PAYMENTS}{pid},{oid},{shop},bank,X,0.01,2026-11-15 10:00:00,2026-11-15,success\n"
        ),
    );
    let err = lake.fails(&[
        "import",
        "payments",
        f.to_str().expect("path"),
        "--mode",
        "upsert",
    ]);
    assert!(err.contains(&pid) && err.contains("`jushuitan`"), "{err}");
    // Nor claim to be the connector.
    let f = lake.file(
        "claim.csv",
        &format!("payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status,source\n\
                  FAKE-1,{oid},{shop},bank,X,1.00,2026-11-15 10:00:00,2026-11-15,success,jushuitan\n"),
    );
    let err = lake.fails(&["import", "payments", f.to_str().expect("path")]);
    assert!(err.contains("row 1") && err.contains("jushuitan"), "{err}");
    // A corrected file replaces the first import's row (imports are one family).
    let f = lake.file(
        "manual-fixed.csv",
        &format!("{PAYMENTS}MANUAL-1,{oid},{shop},bank,BANK-77,43.21,2026-11-15 10:00:00,2026-11-15,success\n"),
    );
    lake.ok(&[
        "import",
        "payments",
        f.to_str().expect("path"),
        "--mode",
        "upsert",
    ]);
    let m = lake.query("select amount, source from payments where payment_id = 'MANUAL-1'");
    assert_eq!(
        (fen(&m[0]["amount"]), s(&m[0]["source"])),
        (4321, "import:manual-fixed.csv".into())
    );
}

/// `(shop, orders, paid fen, payments, lines)` from the lake.
fn totals(lake: &Lake) -> Vec<(String, i64, i64, i64, i64)> {
    lake.query(
        "select o.shop_id, count(*) as n, sum(o.pay_amount) as s, \
         (select count(*) from payments p where p.shop_id = o.shop_id) as p, \
         (select count(*) from order_items i join orders x on x.order_id = i.order_id where x.shop_id = o.shop_id) as l \
         from orders o group by 1 order by 1",
    )
    .iter()
    .map(|r| (s(&r["shop_id"]), int(&r["n"]), fen(&r["s"]), int(&r["p"]), int(&r["l"])))
    .collect()
}

#[test]
fn processes_started_together_on_a_fresh_data_dir_all_succeed_with_exact_results() {
    // The TOP simulator serves a Tmall and a Taobao seller: two connectors, one per shop.
    // Its world ends yesterday: a world reaching into today grows while the test runs, and
    // the second (one-by-one) run would see trades the first could not.
    let yesterday = (chrono::Utc::now()
        .with_timezone(&vocab::BUSINESS_TZ)
        .date_naive()
        - chrono::Days::new(1))
    .to_string();
    let sim_home = Lake::new();
    let (_sim, lines) = spawn(
        &sim_home,
        &[
            "simulate",
            "taobao",
            "--port",
            "0",
            "--orders",
            "1500",
            "--days",
            "5",
            "--unlimited",
            "--end-date",
            &yesterday,
            "--write-connector",
            sim_home.path().join("tmall.toml").to_str().expect("path"),
        ],
        "listening on ",
    );
    let tmall = std::fs::read_to_string(sim_home.path().join("tmall.toml")).expect("doc");
    let taobao = tmall
        .replace("tmall-sim", "taobao-sim")
        .replace("tb:tmall-flagship", "tb:taobao-shop")
        .replace("TOP_SESSION_TMALL", "TOP_SESSION_TAOBAO");
    let mut env = Vec::new();
    for l in &lines {
        if let Some((k, v)) = l.strip_prefix("export ").and_then(|kv| kv.split_once('=')) {
            env.push((k.to_string(), v.to_string()));
        }
    }
    assert_eq!(env.len(), 3, "{lines:?}");

    let run_all = |concurrent: bool| -> Lake {
        let mut lake = Lake::new();
        lake.env = env.clone();
        let t = lake.file("tmall.toml", &tmall);
        let b = lake.file("taobao.toml", &taobao);
        lake.ok(&["connector", "add", t.to_str().expect("path")]);
        lake.ok(&["connector", "add", b.to_str().expect("path")]);
        let rates = lake.file(
            "rates.csv",
            "shop_id,kind,rate_bp,valid_from\ntb:tmall-flagship,commission,500,2026-01-01\ntb:taobao-shop,commission,250,2026-01-01\n",
        );
        // Imports that need nothing the syncs create (imports check references, and on a
        // fresh data dir the syncs' orders do not exist yet): an offline shop of its own.
        let store = lake.file(
            "store.csv",
            "shop_id,platform,name\nmanual:store-1,internal,门店\n",
        );
        let jobs: Vec<Vec<String>> = vec![
            vec![
                "connector".into(),
                "sync".into(),
                "tmall-sim".into(),
                "--full".into(),
            ],
            vec![
                "connector".into(),
                "sync".into(),
                "taobao-sim".into(),
                "--full".into(),
            ],
            vec![
                "import".into(),
                "fee_rates".into(),
                rates.display().to_string(),
            ],
            vec!["import".into(), "shops".into(), store.display().to_string()],
        ];
        let server = concurrent.then(|| {
            Command::new(BIN)
                .arg("--data-dir")
                .arg(lake.path())
                .args(["serve", "--addr", "127.0.0.1:0"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("serve")
        });
        let mut outcomes = Vec::new();
        if concurrent {
            let children: Vec<_> = jobs
                .iter()
                .map(|args| {
                    let mut c = Command::new(BIN);
                    c.arg("--data-dir")
                        .arg(lake.path())
                        .args(args)
                        .current_dir(lake.path());
                    c.envs(lake.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    (
                        args.clone(),
                        c.stdout(Stdio::piped())
                            .stderr(Stdio::piped())
                            .spawn()
                            .expect("spawn"),
                    )
                })
                .collect();
            for (args, c) in children {
                outcomes.push((args, c.wait_with_output().expect("wait")));
            }
        } else {
            for args in &jobs {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                outcomes.push((args.clone(), lake.run(&a)));
            }
        }
        for (args, out) in outcomes {
            assert!(
                out.status.success(),
                "{args:?} failed (concurrent: {concurrent}):\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if let Some(mut srv) = server {
            // The server opened the same lake meanwhile and is still serving.
            assert!(
                srv.try_wait().expect("poll").is_none(),
                "the server stopped"
            );
            let _ = srv.kill();
            let _ = srv.wait();
        }
        lake
    };
    let together = run_all(true);
    let one_by_one = run_all(false);
    let t = totals(&together);
    assert_eq!(t.len(), 2, "both shops synced: {t:?}");
    assert!(t.iter().all(|r| r.1 > 0 && r.3 > 0), "{t:?}");
    assert_eq!(t, totals(&one_by_one));
    no_duplicates(&together);
    let r = together.query("select count(*) as n from fee_rates");
    assert_eq!(int(&r[0]["n"]), 2);
    let r = together.query("select platform from shops where shop_id = 'manual:store-1'");
    assert_eq!(s(&r[0]["platform"]), "internal");
}
