//! Trades and refunds shaped as the platform sends them → canonical rows.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Date32Type, Decimal128Type, TimestampMicrosecondType};
use serde_json::json;

use super::*;

fn texts(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(col).expect(col).as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

fn fen(b: &RecordBatch, col: &str) -> Vec<i128> {
    let a = b
        .column_by_name(col)
        .expect(col)
        .as_primitive::<Decimal128Type>();
    a.values().to_vec()
}

#[test]
fn a_multi_line_tmall_trade_maps_exactly_with_shanghai_dates() {
    // Created 07:30 in Shanghai = 23:30 UTC the day before: the business date is Shanghai's.
    let trade = json!({
        "tid": 2231958349_i64, "status": "WAIT_BUYER_CONFIRM_GOODS", "type": "fixed",
        "created": "2026-11-11 07:30:00", "modified": "2026-11-11 09:00:00", "pay_time": "2026-11-11 07:31:00",
        "payment": "208.07", "total_fee": "230.00", "post_fee": "8.00", "buyer_open_uid": "AAHxyz",
        "receiver_state": "浙江省", "receiver_city": "杭州市", "alipay_no": "2026111122001",
        "orders": {"order": [
            {"oid": "22319583491", "outer_sku_id": "SKU-1", "sku_id": "5937146", "num": 2, "price": "100.00",
             "divide_order_fee": "185.07", "payment": "185.07", "seller_type": "B"},
            {"oid": 22319583492_i64, "sku_id": "5937147", "num": 1, "price": "30.00", "total_fee": "15.00", "seller_type": "B"}
        ]}
    });
    let m = map_trades(&[trade], "shop-tm", None).expect("maps");
    assert_eq!(texts(&m.orders, "order_id"), [Some("tb:2231958349".into())]);
    assert_eq!(texts(&m.orders, "platform"), [Some("tmall".into())]);
    assert_eq!(texts(&m.orders, "status"), [Some("shipped".into())]);
    assert_eq!(fen(&m.orders, "pay_amount"), [20_807]);
    assert_eq!(fen(&m.orders, "goods_amount"), [23_000]);
    assert_eq!(fen(&m.orders, "freight_amount"), [800]);
    // pay = goods - discount + freight.
    assert_eq!(fen(&m.orders, "discount_amount"), [23_000 + 800 - 20_807]);
    let day = m
        .orders
        .column_by_name("order_date")
        .expect("d")
        .as_primitive::<Date32Type>();
    let expected_day = (chrono::NaiveDate::from_ymd_opt(2026, 11, 11).expect("d")
        - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("e"))
    .num_days() as i32;
    assert_eq!(day.value(0), expected_day);
    let created = m
        .orders
        .column_by_name("created_at")
        .expect("c")
        .as_primitive::<TimestampMicrosecondType>();
    let utc = chrono::DateTime::from_timestamp_micros(created.value(0)).expect("t");
    assert_eq!(utc.to_rfc3339(), "2026-11-10T23:30:00+00:00");
    assert_eq!(
        texts(&m.order_items, "order_item_id"),
        [Some("tb:22319583491".into()), Some("tb:22319583492".into())]
    );
    assert_eq!(
        texts(&m.order_items, "sku_id"),
        [Some("SKU-1".into()), Some("5937147".into())],
        "merchant code first"
    );
    assert_eq!(fen(&m.order_items, "amount"), [18_507, 1_500]);
    assert_eq!(fen(&m.order_items, "discount_amount"), [1_493, 1_500]);
    assert_eq!(
        texts(&m.payments, "payment_id"),
        [Some("tb:pay:2231958349".into())]
    );
    assert_eq!(texts(&m.payments, "txn_no"), [Some("2026111122001".into())]);
    assert_eq!(fen(&m.payments, "amount"), [20_807]);
}

#[test]
fn platform_comes_from_seller_type_then_settings_and_unpaid_trades_have_no_payment() {
    let t = |seller_type: Option<&str>, ty: &str| {
        let mut line = json!({"oid": 1, "sku_id": "9", "num": 1, "price": "10.00", "divide_order_fee": "10.00"});
        if let Some(s) = seller_type {
            line["seller_type"] = json!(s);
        }
        json!({"tid": "7", "status": "WAIT_BUYER_PAY", "type": ty, "created": "2026-01-01 10:00:00",
               "modified": "2026-01-01 10:00:00", "payment": "10.00", "orders": {"order": [line]}})
    };
    let platform = |v: Value, p: Option<&str>| {
        map_trades(&[v], "s", p).map(|m| texts(&m.orders, "platform")[0].clone().expect("p"))
    };
    assert_eq!(
        platform(t(Some("C"), "fixed"), Some("tmall")).expect("C"),
        "taobao"
    );
    assert_eq!(
        platform(t(None, "tmall_i18n"), None).expect("i18n"),
        "tmall"
    );
    assert_eq!(
        platform(t(None, "fixed"), Some("taobao")).expect("setting"),
        "taobao"
    );
    let err = platform(t(None, "fixed"), None).unwrap_err();
    assert!(
        err.to_string().contains("seller_type") && err.to_string().contains("7"),
        "{err}"
    );
    let m = map_trades(&[t(Some("C"), "cod")], "s", None).expect("maps");
    assert_eq!(m.payments.num_rows(), 0, "not paid yet");
    assert_eq!(texts(&m.orders, "status"), [Some("created".into())]);
}

#[test]
fn unreadable_values_name_the_trade_and_field() {
    let base = json!({"tid": 5, "status": "TRADE_FINISHED", "created": "2026-01-01 10:00:00",
                      "modified": "2026-01-01 10:00:00", "payment": "10.00",
                      "orders": [{"oid": 1, "sku_id": "9", "num": 1, "price": "10.00", "divide_order_fee": "10.00", "seller_type": "B"}]});
    assert!(
        map_trades(std::slice::from_ref(&base), "s", None).is_ok(),
        "flat (simplify) shape too"
    );
    let mut bad = base.clone();
    bad["payment"] = json!("10.001");
    let e = map_trades(&[bad], "s", None).unwrap_err();
    assert_eq!((e.id.as_str(), e.field.as_str()), ("5", "payment"));
    let mut bad = base.clone();
    bad["status"] = json!("SOMETHING_NEW");
    assert_eq!(map_trades(&[bad], "s", None).unwrap_err().field, "status");
    let mut bad = base;
    bad["created"] = json!("2026/01/01");
    assert_eq!(map_trades(&[bad], "s", None).unwrap_err().field, "created");
}

#[test]
fn refunds_map_kind_status_and_amount() {
    let rows = [
        json!({"refund_id": "8801", "tid": 7, "oid": 71, "status": "SUCCESS", "created": "2026-01-02 03:00:00",
               "modified": "2026-01-03 10:00:00", "refund_fee": "12.30", "has_good_return": true, "num": 2,
               "dispute_type": "REFUND_AND_RETURN", "reason": "七天无理由"}),
        json!({"refund_id": 8802, "tid": "8", "status": "WAIT_SELLER_AGREE", "created": "2026-01-02 03:00:00",
               "modified": "2026-01-02 04:00:00", "refund_fee": "5.00", "has_good_return": false, "num": 1}),
    ];
    let m = map_refunds(&rows, "shop").expect("maps").refunds;
    assert_eq!(
        texts(&m, "refund_id"),
        [Some("tb:8801".into()), Some("tb:8802".into())]
    );
    assert_eq!(texts(&m, "order_item_id"), [Some("tb:71".into()), None]);
    assert_eq!(
        texts(&m, "kind"),
        [Some("return".into()), Some("refund_only".into())]
    );
    assert_eq!(
        texts(&m, "status"),
        [Some("success".into()), Some("pending".into())]
    );
    assert_eq!(fen(&m, "amount"), [1_230, 500]);
    let qty = m
        .column_by_name("qty")
        .expect("q")
        .as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!((qty.value(0), qty.value(1)), (2, 0));
    let done = m.column_by_name("completed_at").expect("c");
    assert!(done.is_valid(0) && done.is_null(1));
}
