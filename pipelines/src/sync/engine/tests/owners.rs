//! Random interleavings of connector syncs (incremental and `--full`, with late changes on the
//! platform that drop order lines), CSV imports (append and upsert) and entry-form
//! submissions (validated, built and flushed through `crate::forms`),
//! all on the **same orders**, checked after every step against a model kept per owner: no
//! owner's row is removed or changed by another owner, and after a full re-read the
//! connector's own rows are exactly the platform's.

use std::collections::BTreeMap;

use arrow::array::{AsArray, Decimal128Array};

use super::*;
use crate::import::{ImportMode, ImportOptions, import_file};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `payment_id -> (order_id, fen)` of the payments whose owner matches `like`.
async fn payments(wh: &Warehouse, like: &str) -> BTreeMap<String, (String, i64)> {
    let sql =
        format!("select payment_id, order_id, amount from payments where source like '{like}'");
    let mut out = BTreeMap::new();
    let ctx = wh.session_of(&["payments"]).await.expect("session");
    let batches = ctx
        .sql(&sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("payments");
    for b in batches {
        let text = |i: usize| {
            arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8).expect("text")
        };
        let (id, order) = (text(0), text(1));
        let (id, order) = (id.as_string::<i32>(), order.as_string::<i32>());
        let amount = b
            .column(2)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .expect("amount");
        for r in 0..b.num_rows() {
            out.insert(
                id.value(r).to_string(),
                (order.value(r).to_string(), amount.value(r) as i64),
            );
        }
    }
    out
}

/// Per order: `(lines, payments, paid fen)` of the connector's own rows.
async fn connector_rows(wh: &Warehouse) -> BTreeMap<String, (i64, i64, i64)> {
    let sql = "select o.order_id, \
        (select count(*) from order_items i where i.order_id = o.order_id and i.source = 'jushuitan') as l, \
        (select count(*) from payments p where p.order_id = o.order_id and p.source = 'jushuitan') as p, \
        (select coalesce(sum(amount), 0) from payments p where p.order_id = o.order_id and p.source = 'jushuitan') as s \
        from orders o";
    let mut out = BTreeMap::new();
    let ctx = wh
        .session_of(&["orders", "order_items", "payments"])
        .await
        .expect("session");
    let batches = ctx
        .sql(sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("rows");
    for b in batches {
        let id = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).expect("id");
        let id = id.as_string::<i32>();
        let n = |i: usize| {
            arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Int64)
                .expect("int")
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone()
        };
        let (l, p) = (n(1), n(2));
        let s = arrow::compute::cast(b.column(3), &arrow::datatypes::DataType::Decimal128(18, 2))
            .expect("sum");
        let s = s.as_any().downcast_ref::<Decimal128Array>().expect("dec");
        for r in 0..b.num_rows() {
            out.insert(
                id.value(r).to_string(),
                (l.value(r), p.value(r), s.value(r) as i64),
            );
        }
    }
    out
}

/// The same from the platform's documents, read without the connector's mapping.
fn world_rows(docs: &[Value]) -> BTreeMap<String, (i64, i64, i64)> {
    docs.iter()
        .map(|d| {
            let pays = d["pays"].as_array().map_or(&[][..], Vec::as_slice);
            let paid: i64 = pays
                .iter()
                .map(|p| tolerant::fen(p.get("amount")).expect("fen").unwrap_or(0))
                .sum();
            (
                format!("jst:{}", d["o_id"]),
                (
                    d["items"].as_array().map_or(0, Vec::len) as i64,
                    pays.len() as i64,
                    paid,
                ),
            )
        })
        .collect()
}

fn payment_csv(rows: &[(&str, &str, i64)]) -> String {
    let mut s =
        String::from("payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status\n");
    for (id, order, fen) in rows {
        s.push_str(&format!(
            "{id},{order},jst:10,bank,B-{id},{}.{:02},2026-11-05 10:00:00,2026-11-05,success\n",
            fen / 100,
            fen % 100
        ));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_imports_and_forms_on_the_same_orders_never_touch_each_others_rows() {
    let seeds: u64 = std::env::var("ZHONGTAI_OWNERSHIP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    for seed in 1..=seeds {
        let mut docs = world(24);
        let (sim, dir, wh) = setup(&docs, Vec::new()).await;
        let c = client(&sim);
        let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
        let mut imported: BTreeMap<String, (String, i64)> = BTreeMap::new();
        let mut formed: BTreeMap<String, (String, i64)> = BTreeMap::new();
        let mut synced_once = false;
        let mut journal_seq = 0_i64;
        let mut late = 0;
        for step in 0..8 {
            let what = if step == 0 { 0 } else { rng.below(6) };
            let order = format!("jst:{}", 1 + rng.below(24));
            let ctx = format!("seed {seed} step {step} op {what} order {order}");
            match what {
                0 | 1 => {
                    let full = what == 1 || !synced_once;
                    sync_orders(&wh, &c, &opts(21, full), &|_| {})
                        .await
                        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    synced_once = true;
                    if full {
                        assert_eq!(connector_rows(&wh).await, world_rows(&docs), "{ctx}");
                    }
                }
                2 => {
                    // The platform drops an order's gift line and re-prices its payment, later.
                    let i = 1 + rng.below(24) as i64;
                    late += 1;
                    let modified =
                        (day0() + chrono::Duration::days(20) + chrono::Duration::minutes(late))
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string();
                    let doc = docs.iter_mut().find(|d| d["o_id"] == i).expect("doc");
                    if let Some(items) = doc["items"].as_array_mut() {
                        items.truncate(1);
                    }
                    doc["modified"] = json!(modified);
                    let edit = doc.clone();
                    assert!(sim.state.world.modify(i, &modified, |d| *d = edit), "{ctx}");
                }
                3 | 4 => {
                    // Finance imports (append) or corrects (upsert) a manual payment.
                    let k = rng.below(3);
                    let id = format!("MANUAL-{k}");
                    let fen = 100 + rng.below(10_000) as i64;
                    let upsert = what == 4;
                    let file = dir.path().join(format!("m{seed}-{step}.csv"));
                    std::fs::write(&file, payment_csv(&[(&id, &order, fen)])).expect("csv");
                    let mode = if upsert {
                        ImportMode::Upsert
                    } else {
                        ImportMode::Append
                    };
                    let r = import_file(
                        &wh,
                        "payments",
                        &file,
                        ImportOptions {
                            mode,
                            skip_bad_rows: false,
                        },
                    )
                    .await;
                    let exists = imported.contains_key(&id) || formed.contains_key(&id);
                    if upsert && formed.contains_key(&id) || !upsert && exists {
                        assert!(r.is_err(), "{ctx}: must be refused");
                    } else {
                        r.unwrap_or_else(|e| panic!("{ctx}: {e}"));
                        imported.insert(id, (order.clone(), fen));
                    }
                }
                _ => {
                    // An entry-form submission, validated, built and flushed the way the
                    // server does: payments owned by `form:payments`, never over another
                    // owner's key (kept and counted).
                    let k = rng.below(3);
                    let id = if rng.below(2) == 0 {
                        format!("MANUAL-{k}")
                    } else {
                        format!("FORM-{k}")
                    };
                    let fen = 100 + rng.below(10_000) as i64;
                    let form = crate::forms::find("payments").expect("payments form");
                    let refs = crate::forms::refs::Refs::default();
                    refs.refresh(&wh).await.expect("refs");
                    let body = serde_json::json!({
                        "payment_id": id, "order_id": order, "channel": "bank",
                        "txn_no": format!("T{seed}-{step}"),
                        "amount": vocab::money::fen_text(i128::from(fen)),
                        "paid_at": "2026-11-20 10:00:00",
                    });
                    let mut rec = crate::forms::validate::validate(form, &body, None, &refs)
                        .unwrap_or_else(|e| panic!("{ctx}: {e:?}"));
                    let pending = crate::forms::lookup::Pending::default();
                    let built = crate::forms::build::build(
                        form,
                        &mut rec,
                        crate::forms::build::Ctx {
                            lookup: crate::forms::lookup::Lookup {
                                wh: &wh,
                                pending: &pending,
                                shops: None,
                            },
                            refs: &refs,
                            correcting: false,
                        },
                    )
                    .await
                    .unwrap_or_else(|_| panic!("{ctx}: build"));
                    journal_seq += 1;
                    let entry = (
                        journal_seq,
                        crate::forms::flush::entry_document(&built).to_string(),
                    );
                    let marks = crate::forms::flush::watermarks(&wh, 0)
                        .await
                        .expect("watermarks");
                    let r = crate::forms::flush::apply(&wh, &[entry], &marks)
                        .await
                        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                    if imported.contains_key(&id) {
                        assert_eq!(r.skipped, 1, "{ctx}: another owner's key is kept");
                    } else {
                        formed.insert(id, (order.clone(), fen));
                    }
                }
            }
            assert_eq!(payments(&wh, "import:%").await, imported, "{ctx}: imports");
            assert_eq!(payments(&wh, "form:%").await, formed, "{ctx}: forms");
            assert_eq!(
                count(&wh, "payments").await,
                query_one(
                    &wh,
                    "payments",
                    "select count(distinct payment_id) from payments"
                )
                .await
                .map(|b| {
                    b[0].column(0)
                        .as_primitive::<arrow::datatypes::Int64Type>()
                        .value(0)
                })
                .expect("distinct"),
                "{ctx}: a payment is doubled"
            );
        }
        // Finally the platform's truth, re-read whole, sits beside everyone else's rows.
        sync_orders(&wh, &c, &opts(21, true), &|_| {})
            .await
            .expect("final sync");
        assert_eq!(
            connector_rows(&wh).await,
            world_rows(&docs),
            "seed {seed}: final"
        );
        assert_eq!(
            payments(&wh, "import:%").await,
            imported,
            "seed {seed}: final imports"
        );
        assert_eq!(
            payments(&wh, "form:%").await,
            formed,
            "seed {seed}: final forms"
        );
    }
}

async fn query_one(
    wh: &Warehouse,
    table: &str,
    sql: &str,
) -> warehouse::Result<Vec<arrow::record_batch::RecordBatch>> {
    let ctx = wh.session_of(&[table]).await?;
    Ok(ctx.sql(sql).await?.collect().await?)
}
