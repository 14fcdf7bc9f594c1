//! The Jushuitan streams other than orders, synced from the simulator through `sync_stream`:
//! the lake holds exactly the simulated world (counts and sums computed here from the world's
//! documents, not by the mapping), late changes on the platform arrive, and re-runs change
//! nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, Decimal128Array, Int64Array};
use arrow::datatypes::DataType;
use chrono::{NaiveDate, NaiveDateTime};
use connectors::jushuitan::sim::{self, RunningSim, SimConfig, SimState, SimWorld};
use connectors::jushuitan::{JstSettings, build_streams};
use connectors::stream::{NoTokenSink, Secrets, Stream};
use serde_json::{Value, json};
use warehouse::{LakeConfig, Warehouse};

use super::{SyncOptions, sync_stream};

type Totals = BTreeMap<String, (i64, i64)>;

fn day0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time")
}

fn t(d: NaiveDateTime) -> String {
    d.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The `i`-th instant of `n` spread over 20 days (some before 08:00, i.e. the previous UTC day).
fn at(i: i64, n: i64) -> NaiveDateTime {
    day0() + chrono::Duration::minutes(i * 20 * 24 * 60 / n) + chrono::Duration::seconds(i % 60)
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Fen of a yuan amount written as a number or text, read here without the connector's code.
fn fen(v: &Value) -> i64 {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return 0,
    };
    if s.is_empty() {
        return 0;
    }
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = format!("{frac:0<2}");
    whole.parse::<i64>().expect("whole") * 100 + frac[..2].parse::<i64>().expect("fraction")
}

/// Grams of a kilogram weight written as text.
fn grams(v: &Value) -> i64 {
    let s = v.as_str().expect("weight text");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    whole.parse::<i64>().expect("kg") * 1000 + format!("{frac:0<3}").parse::<i64>().expect("g")
}

fn world() -> SimWorld {
    let w = SimWorld::default();
    let n = 400;
    for i in 1..=n {
        let when = at(i, n);
        let modified = t(when + chrono::Duration::minutes(i % 50));
        let status = ["WaitConfirm", "Confirmed", "Cancelled", "Confirmed"][(i % 4) as usize];
        let kind = ["普通退货", "仅退款", "换货", "拒收退货", "其它"][(i % 5) as usize];
        let refund = 1_000 + i * 37 % 9_000;
        assert!(w.upsert_in(sim::REFUNDS, json!({
            "as_id": 5_000 + i, "o_id": i, "so_id": format!("TB{i}"), "shop_id": 10 + i % 3,
            "as_date": t(when), "created": t(when), "modified": modified, "type": kind, "status": status,
            "refund": if i % 2 == 0 { json!(yuan(refund)) } else { json!(refund as f64 / 100.0) },
            "confirm_date": t(when + chrono::Duration::hours(5)), "question_type": "质量问题",
            "items": [{"asi_id": i * 10, "sku_id": format!("SKU{}", i % 50), "qty": 1 + i % 2, "r_qty": 0,
                       "price": yuan(refund), "amount": yuan(refund)}]
        })));
        let shipped = i % 7 != 0;
        assert!(w.upsert_in(sim::OUTBOUND, json!({
            "io_id": 90_000 + i, "o_id": i, "so_id": format!("TB{i}"), "shop_id": 10 + i % 3,
            "status": if shipped { "Confirmed" } else { "WaitConfirm" }, "io_date": t(when), "modified": modified,
            "l_id": format!("ZT{}", 7_000 + i), "lc_id": if i % 2 == 0 { "ZTO" } else { "YTO" },
            "logistics_company": "中通快递", "wms_co_id": 101 + i % 2, "f_weight": format!("{}.{:03}", i % 3, i % 1000),
            "receiver_state": "浙江省", "receiver_city": "杭州市",
            "items": [{"ioi_id": i, "oi_id": i * 10 + 1, "sku_id": format!("SKU{}", i % 50), "qty": 1, "sale_price": "9.90", "sale_amount": "9.90"}]
        })));
        assert!(w.upsert_in(sim::LOGISTICS, json!({
            "o_id": i, "so_id": format!("TB{i}"), "shop_id": 10 + i % 3, "modified": modified,
            "send_date": if shipped { json!(t(when)) } else { json!("") },
            "l_id": if shipped { json!(format!("ZT{}", 7_000 + i)) } else { json!("") },
            "lc_id": if i % 2 == 0 { "ZTO" } else { "YTO" }, "logistics_company": "中通快递",
            "freight": "8.00", "weight": 1.2, "items": [{"sku_id": format!("SKU{}", i % 50), "qty": 1, "o_id": i}]
        })));
    }
    for p in 1..=60i64 {
        let when = at(p * 6, n);
        let items: Vec<Value> = (0..(1 + p % 3))
            .map(|k| json!({"poi_id": p * 100 + k, "po_id": 700 + p, "sku_id": format!("SKU{}", (p + k) % 50),
                            "qty": 10 + k * 5, "price": yuan(350 + p * 11 + k), "delivery_date": t(when + chrono::Duration::days(3 + k))}))
            .collect();
        assert!(w.upsert_in(sim::PURCHASES, json!({
            "po_id": 700 + p, "po_date": t(when), "modified": t(when + chrono::Duration::hours(1)),
            "status": (["WaitConfirm", "Confirmed", "Finished", "Cancelled"][(p % 4) as usize]),
            "receive_status": "Not_Received", "supplier_id": 30 + p % 4, "seller": "供应商", "wms_co_id": 101,
            "items": items
        })));
    }
    for s in 0..50i64 {
        assert!(w.upsert_in(sim::SKUS, json!({
            "sku_id": format!("SKU{s}"), "i_id": format!("I{}", s / 5), "name": format!("商品{s}"),
            "sale_price": yuan(1_990 + s * 100), "cost_price": if s % 9 == 0 { json!("") } else { json!(yuan(800 + s * 31)) },
            "enabled": ([1, 1, 0, -1][(s % 4) as usize]), "weight": format!("0.{:03}", 100 + s), "sku_code": format!("69{s:011}"),
            "properties_value": "白色;XL", "modified": t(at(s * 8 + 3, n))
        })));
    }
    for (id, site) in [(10, "Taobao"), (11, "Tmall"), (12, "JD")] {
        assert!(w.upsert_in(
            sim::SHOPS,
            json!({"shop_id": id, "shop_name": format!("店铺{id}"), "shop_site": site,
            "nick": format!("nick{id}"), "created": "2024-01-01 09:00:00", "co_id": 1})
        ));
    }
    for (wms, name) in [(101, "杭州仓"), (102, "广州仓")] {
        assert!(w.upsert_in(sim::WAREHOUSES, json!({"wms_co_id": wms, "name": name, "co_id": 1, "is_main": wms == 101, "status": "生效"})));
        for s in 0..50i64 {
            assert!(w.upsert_in(
                &sim::inventory(wms),
                json!({
                    "sku_id": format!("SKU{s}"), "i_id": format!("I{}", s / 5), "name": "商品",
                    "qty": (s * 7 + wms) % 120, "order_lock": s % 5, "modified": t(at(s, n))
                })
            ));
        }
    }
    w
}

async fn setup(config: SimConfig) -> (RunningSim, tempfile::TempDir, Warehouse) {
    let state = SimState::new(config, world(), "tok", "ref");
    let sim = RunningSim::start(state, 0).await.expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    (sim, dir, wh)
}

/// The named stream, built the way the registry builds it (one shared client, no pacing).
fn stream(sim: &RunningSim, name: &str) -> Arc<dyn Stream> {
    stream_paged(sim, name, None)
}

/// [`stream`] with pages of `page_size` rows instead of the default.
fn stream_paged(sim: &RunningSim, name: &str, page_size: Option<i64>) -> Arc<dyn Stream> {
    let mut settings = json!({
        "base_url": sim.base_url(), "app_key": sim.state.config.app_key,
        "per_second": 0, "per_minute": 0, "timeout_secs": 5, "max_retries": 2
    });
    if let Some(n) = page_size {
        settings["page_size"] = json!(n);
    }
    let settings: JstSettings = serde_json::from_value(settings).expect("settings");
    let mut secrets = Secrets::default();
    secrets.insert("app_secret", sim.state.config.app_secret.clone());
    secrets.insert("access_token", "tok");
    let mut streams = build_streams(
        &settings,
        &secrets,
        Arc::new(NoTokenSink),
        &[name.to_string()],
    )
    .expect("stream");
    assert_eq!(streams.len(), 1);
    streams.remove(0)
}

fn opts(days: i64) -> SyncOptions {
    SyncOptions {
        window: None,
        ..SyncOptions::new(day0(), day0() + chrono::Duration::days(days))
    }
}

async fn sync(wh: &Warehouse, s: &Arc<dyn Stream>, days: i64) {
    let mut o = opts(days);
    if s.max_window().is_some() {
        o.window = Some(Duration::from_secs(3 * 24 * 3600));
    }
    sync_stream(wh, "jst-streams", s, &o, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("sync {}: {e}", s.name()));
}

fn int_of(col: &dyn Array, r: usize) -> i64 {
    if col.is_null(r) {
        return 0;
    }
    match col.data_type() {
        DataType::Decimal128(_, _) => {
            let v = col
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .expect("decimal");
            i64::try_from(v.value(r)).expect("fits")
        }
        _ => {
            let v = arrow::compute::cast(col, &DataType::Int64).expect("int");
            v.as_any()
                .downcast_ref::<Int64Array>()
                .expect("int")
                .value(r)
        }
    }
}

/// `select group, count, sum` as a map (a decimal sum read as fen).
async fn totals(wh: &Warehouse, sql: &str) -> Totals {
    let mut out = Totals::new();
    for b in wh.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
        let g = arrow::compute::cast(b.column(0), &DataType::Utf8).expect("text");
        let g = g.as_string::<i32>();
        for r in 0..b.num_rows() {
            out.insert(
                g.value(r).to_string(),
                (
                    int_of(b.column(1).as_ref(), r),
                    int_of(b.column(2).as_ref(), r),
                ),
            );
        }
    }
    out
}

fn add(map: &mut Totals, group: impl Into<String>, n: i64, sum: i64) {
    let e = map.entry(group.into()).or_insert((0, 0));
    e.0 += n;
    e.1 += sum;
}

/// Sync; compare; a late change; compare; a re-run changes no table version.
async fn check(
    name: &str,
    table: &str,
    sql: &str,
    expect: impl Fn(&SimWorld) -> Totals,
    late: impl FnOnce(&SimWorld, &str),
) {
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    let s = stream(&sim, name);
    sync(&wh, &s, 21).await;
    let before = expect(&sim.state.world);
    assert!(!before.is_empty(), "{name}: the world has rows");
    assert_eq!(totals(&wh, sql).await, before, "{name}: first sync");
    late(
        &sim.state.world,
        &t(day0() + chrono::Duration::days(21) + chrono::Duration::hours(3)),
    );
    let after = expect(&sim.state.world);
    assert_ne!(after, before, "{name}: the late change changes the world");
    sync(&wh, &s, 22).await;
    assert_eq!(
        totals(&wh, sql).await,
        after,
        "{name}: after the late change"
    );
    let version = wh.version(table).await.expect("version");
    sync(&wh, &s, 22).await;
    assert_eq!(totals(&wh, sql).await, after, "{name}: re-run");
    if s.max_window().is_some() {
        // Only the overlap is read again, and its one window commits at most the cursor.
        assert!(
            wh.version(table).await.expect("version") <= version + 1,
            "{name}: re-run wrote data"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_equal_the_world() {
    check(
        "refunds",
        "refunds",
        "select status || '/' || kind, count(*), sum(amount) from refunds group by 1",
        |w| {
            let mut m = Totals::new();
            for d in w.all_in(sim::REFUNDS) {
                let status = match d["status"].as_str().expect("status") {
                    "WaitConfirm" => "pending",
                    "Confirmed" => "success",
                    _ => "closed",
                };
                let kind = match d["type"].as_str().expect("type") {
                    "仅退款" => "refund_only",
                    "换货" => "exchange",
                    _ => "return",
                };
                add(&mut m, format!("{status}/{kind}"), 1, fen(&d["refund"]));
            }
            m
        },
        |w, later| {
            assert!(w.modify_in(sim::REFUNDS, "5003", later, |d| {
                d["status"] = json!("Cancelled");
                d["refund"] = json!("1.23");
            }));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipments_equal_the_confirmed_outbound_documents() {
    check(
        "shipments",
        "shipments",
        "select warehouse_id || '/' || carrier, count(*), sum(weight_g) from shipments group by 1",
        |w| {
            let mut m = Totals::new();
            for d in w.all_in(sim::OUTBOUND) {
                if d["status"] == "Confirmed" {
                    let carrier = d["lc_id"].as_str().expect("lc").to_lowercase();
                    add(
                        &mut m,
                        format!("jst:{}/{carrier}", d["wms_co_id"]),
                        1,
                        grams(&d["f_weight"]),
                    );
                }
            }
            m
        },
        |w, later| {
            assert!(w.modify_in(sim::OUTBOUND, "90007", later, |d| d["status"] =
                json!("Confirmed")));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_info_becomes_events_of_the_same_shipments() {
    check(
        "logistics",
        "logistics_events",
        "select carrier, count(*), count(distinct shipment_id) from logistics_events group by 1",
        |w| {
            let mut m = Totals::new();
            for d in w.all_in(sim::LOGISTICS) {
                if d["l_id"] != "" {
                    add(
                        &mut m,
                        d["lc_id"].as_str().expect("lc").to_lowercase(),
                        1,
                        1,
                    );
                }
            }
            m
        },
        |w, later| {
            assert!(w.modify_in(sim::LOGISTICS, "14", later, |d| {
                d["l_id"] = json!("ZT-LATE");
                d["send_date"] = json!("2026-11-21 09:00:00");
            }));
        },
    )
    .await;
    // Both streams name a parcel alike: every event joins its shipment.
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    sync(&wh, &stream(&sim, "shipments"), 21).await;
    sync(&wh, &stream(&sim, "logistics"), 21).await;
    let joined = totals(
        &wh,
        "select 'all', count(*), count(s.shipment_id) from logistics_events e left join shipments s on e.shipment_id = s.shipment_id and e.tracking_no = s.tracking_no",
    )
    .await;
    let shipped = (1..=400).filter(|i| i % 7 != 0).count() as i64;
    assert_eq!(joined["all"], (shipped, shipped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_is_a_snapshot_per_warehouse_on_the_last_day() {
    check(
        "inventory",
        "stock_snapshots",
        "select warehouse_id || '@' || cast(snapshot_date as varchar), count(*), sum(on_hand) from stock_snapshots where snapshot_date = (select max(snapshot_date) from stock_snapshots) group by 1",
        |w| {
            // The last sync of a check ends on day 22 (the first on day 21): the latest snapshot day.
            let mut m = Totals::new();
            let day = if w.len_of("late-marker") > 0 { "2026-11-22" } else { "2026-11-21" };
            for wms in [101, 102] {
                for d in w.all_in(&sim::inventory(wms)) {
                    add(&mut m, format!("jst:{wms}@{day}"), 1, d["qty"].as_i64().expect("qty"));
                }
            }
            m
        },
        |w, later| {
            assert!(w.modify_in(&sim::inventory(102), "SKU3", later, |d| d["qty"] = json!(999)));
            assert!(w.upsert_in("late-marker", json!({"o_id": 1})));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchase_orders_and_their_lines_equal_the_world() {
    let lines = |w: &SimWorld| {
        let mut m = Totals::new();
        for d in w.all_in(sim::PURCHASES) {
            for l in d["items"].as_array().expect("items") {
                add(
                    &mut m,
                    "lines",
                    1,
                    l["qty"].as_i64().expect("qty") * fen(&l["price"]),
                );
            }
        }
        m
    };
    check(
        "purchases",
        "purchase_orders",
        "select 'lines', count(*), sum(amount) from purchase_order_lines union all select 'orders', count(*), sum(total_amount) from purchase_orders",
        |w| {
            let mut m = lines(w);
            let l = m["lines"];
            m.insert("orders".into(), (w.len_of(sim::PURCHASES) as i64, l.1));
            m
        },
        |w, later| {
            // PO 704 loses one of its two lines on the platform: it leaves the lake too.
            assert!(w.modify_in(sim::PURCHASES, "704", later, |d| {
                d["items"].as_array_mut().expect("items").pop();
            }));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skus_equal_the_world() {
    check(
        "skus",
        "skus",
        "select lifecycle, count(*), sum(list_price) + sum(cost_price) from skus group by 1",
        |w| {
            let mut m = Totals::new();
            for d in w.all_in(sim::SKUS) {
                let life = match d["enabled"].as_i64().expect("enabled") {
                    1 => "active",
                    0 => "draft",
                    _ => "discontinued",
                };
                add(
                    &mut m,
                    life,
                    1,
                    fen(&d["sale_price"]) + fen(&d["cost_price"]),
                );
            }
            m
        },
        |w, later| {
            assert!(w.modify_in(sim::SKUS, "SKU4", later, |d| {
                d["enabled"] = json!(-1);
                d["sale_price"] = json!(5);
            }));
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shops_and_warehouses_are_read_whole() {
    let shops = |w: &SimWorld| {
        let mut m = Totals::new();
        for d in w.all_in(sim::SHOPS) {
            let site = d["shop_site"].as_str().expect("site").to_lowercase();
            add(
                &mut m,
                format!(
                    "jst:{}/{site}/{}",
                    d["shop_id"],
                    d["shop_name"].as_str().expect("name")
                ),
                1,
                0,
            );
        }
        m
    };
    check(
        "shops",
        "shops",
        "select shop_id || '/' || platform || '/' || name, count(*), 0 from shops group by 1",
        shops,
        |w, _| {
            assert!(w.upsert_in(
                sim::SHOPS,
                json!({"shop_id": 11, "shop_name": "改名", "shop_site": "Tmall"})
            ));
        },
    )
    .await;
    check(
        "warehouses",
        "warehouses",
        "select warehouse_id || '/' || name, count(*), 0 from warehouses group by 1",
        |w| {
            let mut m = Totals::new();
            for d in w.all_in(sim::WAREHOUSES) {
                add(
                    &mut m,
                    format!(
                        "jst:{}/{}",
                        d["wms_co_id"],
                        d["name"].as_str().expect("name")
                    ),
                    1,
                    0,
                );
            }
            m
        },
        |w, _| {
            assert!(w.upsert_in(sim::WAREHOUSES, json!({"wms_co_id": 103, "name": "成都仓"})));
        },
    )
    .await;
    // The shops list under `shops` (the other reading of the sheet) is read as well.
    let (sim, _dir, wh) = setup(SimConfig {
        shops_list_key: "shops".into(),
        ..SimConfig::default().unlimited()
    })
    .await;
    sync(&wh, &stream(&sim, "shops"), 21).await;
    assert_eq!(
        totals(
            &wh,
            "select shop_id || '/' || platform || '/' || name, count(*), 0 from shops group by 1"
        )
        .await,
        shops(&sim.state.world)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_what_the_platform_refuses() {
    use connectors::jushuitan::{ClientConfig, Credentials, JstClient};
    let (sim, _dir, _wh) = setup(SimConfig::default().unlimited()).await;
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.per_second = None;
    cfg.per_minute = None;
    let c = JstClient::new(
        cfg,
        Credentials {
            app_key: sim.state.config.app_key.clone(),
            app_secret: sim.state.config.app_secret.clone(),
            access_token: "tok".into(),
        },
        None,
    );
    let week = r#""modified_begin":"2026-11-01 00:00:00","modified_end":"2026-11-07 23:59:59""#;
    for (path, biz, says) in [
        (
            "/open/refund/single/query",
            format!("{{{week},\"page_size\":51}}"),
            "page_size",
        ),
        (
            "/open/orders/out/simple/query",
            format!("{{{week},\"page_size\":51}}"),
            "page_size",
        ),
        (
            "/open/orders/out/simple/query",
            format!("{{{week},\"drp_co_id\":5}}"),
            "一天",
        ),
        ("/open/logistic/query", format!("{{{week}}}"), "date_type"),
        (
            "/open/purchase/query",
            r#"{"modified_begin":"2026-11-01 00:00:00","modified_end":"2026-11-09 00:00:00"}"#
                .into(),
            "七天",
        ),
        (
            "/open/sku/query",
            format!("{{{week},\"sku_ids\":\"{}\"}}", vec!["A"; 21].join(",")),
            "sku_ids",
        ),
        (
            "/open/inventory/query",
            format!("{{{week},\"page_size\":101}}"),
            "page_size",
        ),
        ("/open/inventory/query", "{}".into(), "modified_begin"),
        (
            "/open/webapi/aftersaleapi/pay/payqueryasmodified",
            r#"{"modified_begin":"2026-01-01 00:00:00","modified_end":"2026-07-02 00:00:00"}"#
                .into(),
            "六个月",
        ),
        (
            "/open/webapi/aftersaleapi/pay/payqueryasmodified",
            format!("{{{week},\"page_index\":801}}"),
            "page_index",
        ),
        (
            "/open/shops/query",
            r#"{"page_size":101}"#.into(),
            "page_size",
        ),
    ] {
        let err = c.call(path, &biz, "datas").await.expect_err(path);
        assert!(err.to_string().contains(says), "{path} {biz}: {err}");
    }
    // A six-month refund-payment window is fine.
    let ok = c
        .call("/open/webapi/aftersaleapi/pay/payqueryasmodified", r#"{"modified_begin":"2026-01-01 00:00:00","modified_end":"2026-07-01 00:00:00","page_size":1000}"#, "datas")
        .await
        .expect("six months");
    assert!(ok.rows.is_empty());
    // The limiter is per token across endpoints: 5 calls on five endpoints, the 6th is refused.
    let (sim, _dir, _wh) = setup(SimConfig::default()).await;
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.per_second = None;
    cfg.per_minute = None;
    cfg.max_retries = 0;
    let c = JstClient::new(
        cfg,
        Credentials {
            app_key: sim.state.config.app_key.clone(),
            app_secret: sim.state.config.app_secret.clone(),
            access_token: "tok".into(),
        },
        None,
    );
    for path in [
        "/open/shops/query",
        "/open/wms/partner/query",
        "/open/shops/query",
        "/open/wms/partner/query",
        "/open/shops/query",
    ] {
        c.call(path, "{}", "datas").await.expect(path);
    }
    let err = c
        .call("/open/wms/partner/query", "{}", "datas")
        .await
        .expect_err("6th");
    assert!(
        err.to_string().contains("199") || err.to_string().contains("频次"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jushuitan_refunds_and_purchases_pass_the_conformance_suite() {
    let (sim, _dir, _wh) = setup(SimConfig::default().unlimited()).await;
    for name in ["refunds", "purchases"] {
        let s = stream(&sim, name);
        let state = Arc::clone(&sim.state);
        let throttle = move || state.inject([sim::Fault::Throttle, sim::Fault::Throttle]);
        let report = super::conformance::check(&super::conformance::Target {
            connector: "jst-conformance",
            stream: Arc::clone(&s),
            from: day0(),
            to: day0() + chrono::Duration::days(21),
            window: Duration::from_secs(3 * 24 * 3600),
            empty_from: day0() - chrono::Duration::days(40),
            empty_to: day0() - chrono::Duration::days(30),
            throttle: &throttle,
        })
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(report.checks.len(), 6, "{name}: {:?}", report.checks);
        assert!(report.rows > 0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_take_their_platform_from_the_shop_list_and_channels_their_codes() {
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    // The order API documents no platform field: these orders carry none, and a fourth shop
    // spells its platform in Chinese.
    assert!(sim.state.world.upsert_in(
        sim::SHOPS,
        json!({"shop_id": 13, "shop_name": "抖音店", "shop_site": "抖音", "created": "2024-01-01 09:00:00"})
    ));
    let channels = ["支付宝", "微信支付", "货到付款", "银行转账"];
    for i in 1..=8i64 {
        let when = t(day0() + chrono::Duration::hours(i));
        assert!(sim.state.world.upsert_in(sim::ORDERS, json!({
            "o_id": 70_000 + i, "so_id": format!("P{i}"), "shop_id": 10 + i % 4, "status": "Sent",
            "created": when, "order_date": when, "modified": when, "pay_date": when,
            "pay_amount": "10.00", "freight": "0", "free_amount": "0",
            "items": [{"oi_id": i, "sku_id": "SKU1", "qty": 1, "price": "10.00", "amount": "10.00"}],
            "pays": [{"pay_id": format!("PAY{i}"), "pay_date": when, "amount": "10.00",
                      "payment": channels[(i % 4) as usize], "status": "Confirmed"}]
        })));
    }
    sync(&wh, &stream(&sim, "orders"), 3).await;
    let by_shop = totals(
        &wh,
        "select shop_id || '/' || platform, count(*), 0 from orders group by 1",
    )
    .await;
    let shops: Vec<&str> = by_shop.keys().map(String::as_str).collect();
    assert_eq!(
        shops,
        [
            "jst:10/taobao",
            "jst:11/tmall",
            "jst:12/jd",
            "jst:13/douyin"
        ],
        "{by_shop:?}"
    );
    let ch = totals(&wh, "select channel, count(*), 0 from payments group by 1").await;
    let codes: Vec<&str> = ch.keys().map(String::as_str).collect();
    assert_eq!(codes, ["alipay", "bank", "cod", "wechat"], "{ch:?}");
}

/// An outbound document without `wms_co_id` (issue 16): it is set aside in
/// `quarantined_records` with the reason, and every other shipment lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbound_document_without_its_warehouse_is_quarantined_and_the_others_land() {
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    let when = t(day0() + chrono::Duration::days(4) + chrono::Duration::hours(3));
    assert!(sim.state.world.upsert_in(sim::OUTBOUND, json!({
        "io_id": 99_001, "o_id": 401, "so_id": "TB401", "shop_id": 10, "status": "Confirmed",
        "io_date": when, "modified": when, "l_id": "ZT9001", "lc_id": "ZTO", "f_weight": "1.250",
        "items": [{"ioi_id": 401, "oi_id": 4011, "sku_id": "SKU1", "qty": 1, "sale_price": "9.90", "sale_amount": "9.90"}]
    })));
    let s = stream(&sim, "shipments");
    let mut o = opts(21);
    o.window = Some(Duration::from_secs(3 * 24 * 3600));
    let r = sync_stream(&wh, "jst-streams", &s, &o, &|_| {})
        .await
        .expect("the stream completes");
    assert_eq!(r.quarantined, 1, "{r:?}");
    assert!(
        r.quarantine_samples[0].contains("wms_co_id"),
        "{:?}",
        r.quarantine_samples
    );
    let confirmed = sim
        .state
        .world
        .all_in(sim::OUTBOUND)
        .iter()
        .filter(|d| d["status"] == "Confirmed" && d.get("wms_co_id").is_some())
        .count() as i64;
    assert_eq!(confirmed, (1..=400).filter(|i| i % 7 != 0).count() as i64);
    let landed = totals(
        &wh,
        "select 'all', count(*), count(distinct shipment_id) from shipments",
    )
    .await;
    assert_eq!(landed["all"], (confirmed, confirmed));
    let q = totals(
        &wh,
        "select record_key || ' ' || stream || ' ' || reason, count(*), max(record_version) from quarantined_records group by 1",
    )
    .await;
    let keys: Vec<&String> = q.keys().collect();
    assert_eq!(keys.len(), 1, "{q:?}");
    assert!(
        keys[0].starts_with("99001 shipments ") && keys[0].contains("`wms_co_id`"),
        "{q:?}"
    );
    // The raw log keeps the document too, and the cursor moved past its window.
    let raw = totals(
        &wh,
        "select record_key, count(*), 0 from raw_records where record_key = '99001' group by 1",
    )
    .await;
    assert_eq!(raw["99001"].0, 1);
    assert_eq!(
        super::cursor(&wh, "jst-streams", s.as_ref())
            .await
            .expect("cursor"),
        Some(day0() + chrono::Duration::days(21))
    );
}

/// Every stream of the connector, as `connector sync` and the job runner run them: inventory
/// fails outright (a warehouse whose `wms_co_id` is not a number, so the warehouse list it
/// walks cannot be read), and the streams after it (purchases, SKUs, shops, warehouses) still
/// land, with their cursors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_fails_outright_does_not_stop_the_others() {
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    assert!(sim.state.world.upsert_in(
        sim::WAREHOUSES,
        json!({"wms_co_id": "W-X", "name": "外仓", "co_id": 1, "is_main": false, "status": "生效"})
    ));
    let settings: JstSettings = serde_json::from_value(json!({
        "base_url": sim.base_url(), "app_key": sim.state.config.app_key,
        "per_second": 0, "per_minute": 0, "timeout_secs": 5, "max_retries": 2
    }))
    .expect("settings");
    let mut secrets = Secrets::default();
    secrets.insert("app_secret", sim.state.config.app_secret.clone());
    secrets.insert("access_token", "tok");
    let streams = build_streams(&settings, &secrets, Arc::new(NoTokenSink), &[]).expect("streams");
    let names: Vec<&str> = streams.iter().map(|s| s.name()).collect();
    assert!(
        names.iter().position(|n| *n == "inventory")
            < names.iter().position(|n| *n == "warehouses"),
        "{names:?}"
    );
    let started = std::sync::Mutex::new(Vec::new());
    let outcomes = super::sync_streams(&wh, "jst-all", &streams, &opts(21), &|e| {
        if let super::StreamEvent::Started(n) = e {
            started.lock().expect("lock").push(n.to_string());
        }
    })
    .await;
    assert_eq!(
        outcomes.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        names,
        "every stream ran, in order"
    );
    assert_eq!(*started.lock().expect("lock"), names);
    let failed = super::failed_streams(&outcomes);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, "inventory");
    assert!(
        failed[0].1.to_string().contains("wms_co_id"),
        "{}",
        failed[0].1
    );
    for (name, outcome) in &outcomes {
        if name != "inventory" {
            let r = outcome.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(r.quarantined, 0, "{name}: {r:?}");
        }
    }
    assert_eq!(
        totals(&wh, "select 'n', count(*), 0 from stock_snapshots").await["n"].0,
        0
    );
    for (table, want) in [
        ("purchase_orders", sim.state.world.len_of(sim::PURCHASES)),
        ("skus", sim.state.world.len_of(sim::SKUS)),
        ("shops", sim.state.world.len_of(sim::SHOPS)),
        ("warehouses", sim.state.world.len_of(sim::WAREHOUSES)),
        ("refunds", sim.state.world.len_of(sim::REFUNDS)),
    ] {
        let n = totals(&wh, &format!("select 'n', count(*), 0 from {table}")).await["n"].0;
        assert_eq!(n, want as i64, "{table}");
    }
    for s in &streams {
        let c = super::cursor(&wh, "jst-all", s.as_ref())
            .await
            .expect("cursor");
        if s.name() == "inventory" {
            assert_eq!(c, None, "the failed stream's cursor did not move");
        } else if s.name() != "orders" {
            assert_eq!(c, Some(day0() + chrono::Duration::days(21)), "{}", s.name());
        }
    }
}

/// Rows modified on pages already read while a window is paged (issue 16): orders page by
/// rowversion, purchase orders by verified passes, and after the run every one of them is in
/// the lake exactly once — the rows behind the changed ones included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_changed_on_earlier_pages_while_a_window_is_read_all_land() {
    let (sim, _dir, wh) = setup(SimConfig::default().unlimited()).await;
    let n = 150i64;
    for i in 1..=n {
        let when = t(day0() + chrono::Duration::minutes(i * 17));
        assert!(sim.state.world.upsert_in(sim::ORDERS, json!({
            "o_id": 80_000 + i, "so_id": format!("CH{i}"), "shop_id": 10 + i % 3, "status": "Sent",
            "created": when, "order_date": when, "modified": when, "pay_date": when,
            "pay_amount": "10.00", "freight": "0", "free_amount": "0",
            "items": [{"oi_id": 900_000 + i, "sku_id": "SKU1", "qty": 1, "price": "10.00", "amount": "10.00"}],
            "pays": []
        })));
    }
    // Pages of 20: after the first and again after the third, rows already served change.
    let orders_path = "/open/orders/single/query";
    sim.state.churn_after(orders_path, 1, 3);
    sim.state.churn_after(orders_path, 2, 5);
    sync(&wh, &stream_paged(&sim, "orders", Some(20)), 3).await;
    let purchases_path = "/open/purchase/query";
    sim.state.churn_after(purchases_path, 1, 2);
    sync(&wh, &stream_paged(&sim, "purchases", Some(5)), 20).await;
    let churned = connectors::jushuitan::sim::SimStats::get(&sim.state.stats.churned);
    assert_eq!(churned, 10, "the churn happened");

    let got = totals(
        &wh,
        "select 'orders', count(*), count(distinct order_id) from orders \
         where order_id between 'jst:80001' and 'jst:80150'",
    )
    .await;
    assert_eq!(got["orders"], (n, n), "every order once");
    let po = totals(
        &wh,
        "select 'po', count(*), count(distinct po_id) from purchase_orders",
    )
    .await;
    let want = sim.state.world.len_of(sim::PURCHASES) as i64;
    assert_eq!(po["po"], (want, want), "every purchase order once");
}
