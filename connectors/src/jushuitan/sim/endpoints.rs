//! The business endpoints the simulator serves and the `biz` rules of each (spec sheet §1.9):
//! which collection answers, the list key, the page-size maximum, the time window (field
//! names, longest span, whether it may be left out), which id lists are accepted and how many
//! ids each may hold, and whether `start_ts` paging and totals are offered.
//!
//! A query answers with the response body as text: the stored documents are concatenated,
//! never parsed. Filters the simulator does not model (e.g. outbound by `l_ids`) are refused
//! with a message saying so, rather than answered wrongly.

use std::sync::atomic::Ordering;

use chrono::{Months, NaiveDateTime};
use serde_json::{Value, json};

use super::SimState;
use super::world;
use crate::tolerant;

/// How an id list of a request is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    /// The collection's key.
    Key,
    /// The document's `so_id`.
    SoId,
    /// Accepted by the platform, not modelled here: refused.
    Unsupported,
}

/// An id list a request may carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    pub name: &'static str,
    /// Most ids allowed (`usize::MAX`: the sheet gives none).
    pub max: usize,
    pub by: By,
    /// Sent as one comma-separated string rather than a JSON list.
    pub comma: bool,
}

const fn ids(name: &'static str, max: usize, by: By) -> Ids {
    Ids {
        name,
        max,
        by,
        comma: false,
    }
}

/// The longest window an endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Span {
    /// `SimConfig::max_window` (7 days on the real platform).
    Config,
    Days(i64),
    Months(u32),
}

/// One endpoint's rules.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub path: &'static str,
    /// Collection name; `inventory` picks `inventory/<wms_co_id>`.
    pub collection: &'static str,
    /// `None`: `SimConfig::shops_list_key`.
    pub list_key: Option<&'static str>,
    /// `None`: from the config (orders, refund payments: UNCONFIRMED maxima).
    pub max_page: Option<i64>,
    pub max_page_index: Option<i64>,
    /// `None`: master data, read without a time condition.
    pub window: Option<Span>,
    pub ids: &'static [Ids],
    /// The biz key of rowversion paging (`start_ts`, or `ts` for inventory).
    pub ts_key: Option<&'static str>,
    /// `date_type` when absent; only `0` (by modified) is modelled.
    pub date_type_default: Option<i64>,
    /// Whether `data_count`/`page_count` are reported (`None`: `SimConfig::inventory_totals`).
    pub totals: Option<bool>,
}

const SO: By = By::SoId;
const KEY: By = By::Key;
const NO: By = By::Unsupported;
const ANY: usize = usize::MAX;

pub(crate) const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/open/orders/single/query",
        collection: world::ORDERS,
        list_key: Some("orders"),
        max_page: None,
        max_page_index: None,
        window: Some(Span::Config),
        ids: &[ids("so_ids", 20, SO), ids("o_ids", ANY, KEY)],
        ts_key: Some("start_ts"),
        date_type_default: Some(0),
        totals: Some(true),
    },
    Endpoint {
        path: "/open/orders/out/simple/query",
        collection: world::OUTBOUND,
        list_key: Some("datas"),
        max_page: Some(50),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[
            ids("so_ids", 50, SO),
            ids("io_ids", 50, KEY),
            ids("o_ids", 50, NO),
            ids("l_ids", 20, NO),
            ids("wave_ids", 50, NO),
        ],
        ts_key: Some("start_ts"),
        date_type_default: Some(0),
        totals: Some(true),
    },
    Endpoint {
        path: "/open/logistic/query",
        collection: world::LOGISTICS,
        list_key: Some("orders"),
        max_page: Some(50),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[ids("so_ids", 20, SO)],
        ts_key: None,
        // The platform's default is the ship time: a client must ask for `modified`.
        date_type_default: Some(3),
        totals: Some(true),
    },
    Endpoint {
        path: "/open/inventory/query",
        collection: "inventory",
        list_key: Some("inventorys"),
        max_page: Some(100),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[
            Ids {
                name: "sku_ids",
                max: 100,
                by: KEY,
                comma: true,
            },
            Ids {
                name: "names",
                max: 100,
                by: NO,
                comma: true,
            },
            Ids {
                name: "i_ids",
                max: ANY,
                by: NO,
                comma: true,
            },
        ],
        ts_key: Some("ts"),
        date_type_default: None,
        totals: None,
    },
    Endpoint {
        path: "/open/refund/single/query",
        collection: world::REFUNDS,
        list_key: Some("datas"),
        max_page: Some(50),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[
            ids("so_ids", ANY, SO),
            ids("as_ids", ANY, KEY),
            ids("o_ids", ANY, NO),
            ids("shop_buyer_ids", 50, NO),
        ],
        ts_key: Some("start_ts"),
        date_type_default: None,
        totals: Some(true),
    },
    Endpoint {
        path: "/open/webapi/aftersaleapi/pay/payqueryasmodified",
        collection: world::REFUND_PAYS,
        list_key: Some("datas"),
        max_page: None,
        max_page_index: Some(800),
        window: Some(Span::Months(6)),
        ids: &[],
        ts_key: Some("start_ts"),
        date_type_default: None,
        totals: Some(true),
    },
    Endpoint {
        path: "/open/purchase/query",
        collection: world::PURCHASES,
        list_key: Some("datas"),
        max_page: Some(50),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[ids("so_ids", ANY, SO), ids("po_ids", ANY, KEY)],
        ts_key: None,
        date_type_default: None,
        totals: Some(true),
    },
    Endpoint {
        path: "/open/sku/query",
        collection: world::SKUS,
        list_key: Some("datas"),
        max_page: Some(50),
        max_page_index: None,
        window: Some(Span::Days(7)),
        ids: &[Ids {
            name: "sku_ids",
            max: 20,
            by: KEY,
            comma: true,
        }],
        ts_key: None,
        date_type_default: None,
        totals: Some(true),
    },
    Endpoint {
        path: "/open/shops/query",
        collection: world::SHOPS,
        list_key: None,
        max_page: Some(100),
        max_page_index: None,
        window: None,
        ids: &[ids("shop_ids", ANY, KEY)],
        ts_key: None,
        date_type_default: None,
        totals: Some(false),
    },
    Endpoint {
        // The sheet gives no page-size maximum here (UNCONFIRMED); 50 like its neighbours.
        path: "/open/wms/partner/query",
        collection: world::WAREHOUSES,
        list_key: Some("datas"),
        max_page: Some(50),
        max_page_index: None,
        window: None,
        ids: &[],
        ts_key: None,
        date_type_default: None,
        totals: Some(true),
    },
];

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn list_of(biz: &Value, spec: &Ids) -> Vec<String> {
    match biz.get(spec.name) {
        Some(Value::Array(a)) => a.iter().filter_map(|v| tolerant::id(Some(v))).collect(),
        Some(Value::String(s)) if spec.comma => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks `modified_begin`/`modified_end` against `span`; `Ok(None)` when both are absent.
fn window(biz: &Value, span: Span, s: &SimState) -> Result<Option<(String, String)>, String> {
    let begin = tolerant::text(biz.get("modified_begin"));
    let end = tolerant::text(biz.get("modified_end"));
    let (begin, end) = match (begin, end) {
        (None, None) => return Ok(None),
        (Some(b), Some(e)) => (b, e),
        _ => return Err("modified_begin和modified_end必须同时传".into()),
    };
    let parse = |t: &str| {
        NaiveDateTime::parse_from_str(t, TIME_FORMAT).map_err(|_| format!("时间格式错误: {t}"))
    };
    let (b, e) = (parse(&begin)?, parse(&end)?);
    if e < b {
        return Err("modified_end不能早于modified_begin".into());
    }
    let narrowed = tolerant::int(biz.get("drp_co_id")).is_some_and(|d| d != 0);
    let latest = match span {
        _ if narrowed => b + chrono::Duration::days(1),
        Span::Config => b + chrono::Duration::from_std(s.config.max_window).unwrap_or_default(),
        Span::Days(d) => b + chrono::Duration::days(d),
        Span::Months(m) => b.checked_add_months(Months::new(m)).ok_or("时间格式错误")?,
    };
    if e > latest {
        return Err(match span {
            Span::Months(_) => "时间间隔不能超过六个月".into(),
            _ if narrowed => "传drp_co_id时时间间隔不能超过一天".into(),
            _ => "时间间隔不能超过七天".into(),
        });
    }
    Ok(Some((begin, end)))
}

/// The body of a successful answer to `biz` on `ep`, or the refusal message.
pub(crate) fn query(s: &SimState, ep: &Endpoint, biz: &str) -> Result<String, String> {
    let biz: Value = serde_json::from_str(if biz.is_empty() { "{}" } else { biz })
        .map_err(|_| "biz不是合法的JSON".to_string())?;
    let page_index = tolerant::int(biz.get("page_index")).unwrap_or(1);
    let page_size = tolerant::int(biz.get("page_size")).unwrap_or(30);
    let max_page = ep.max_page.unwrap_or(match ep.collection {
        world::REFUND_PAYS => s.config.refund_pay_max_page_size,
        _ => s.config.max_page_size,
    });
    if page_index < 1 || ep.max_page_index.is_some_and(|m| page_index > m) {
        return Err(format!(
            "page_index必须在1到{}之间",
            ep.max_page_index.unwrap_or(i64::MAX)
        ));
    }
    if page_size < 1 || page_size > max_page {
        return Err(format!("page_size不能超过{max_page}"));
    }
    if let Some(default) = ep.date_type_default {
        let dt = tolerant::int(biz.get("date_type")).unwrap_or(default);
        if dt != 0 {
            return Err(format!(
                "模拟器只支持按修改时间查询(date_type=0)，收到date_type={dt}"
            ));
        }
    }
    if ep.collection == world::SKUS
        && tolerant::text(biz.get("date_field")).is_some_and(|f| f != "modified")
    {
        return Err("模拟器只支持date_field=modified".into());
    }
    let collection = if ep.collection == "inventory" {
        world::inventory(tolerant::int(biz.get("wms_co_id")).unwrap_or(0))
    } else {
        ep.collection.to_string()
    };
    let (skip, take) = (((page_index - 1) * page_size) as usize, page_size as usize);
    let mut keys = Vec::new();
    let mut so_ids = Vec::new();
    for spec in ep.ids {
        let list = list_of(&biz, spec);
        if list.len() > spec.max {
            return Err(format!("{}最多{}个", spec.name, spec.max));
        }
        if list.is_empty() {
            continue;
        }
        match spec.by {
            By::Key => keys.extend(list),
            By::SoId => so_ids.extend(list),
            By::Unsupported => return Err(format!("模拟器不支持按{}查询", spec.name)),
        }
    }
    let world = &s.world;
    let (rows, count, has_next): (Vec<String>, Option<usize>, bool) = if !keys.is_empty()
        || !so_ids.is_empty()
    {
        let all = world.id_texts(&collection, &so_ids, &keys);
        let n = all.len();
        let rows = all.into_iter().skip(skip).take(take).collect();
        (rows, Some(n), skip + take < n)
    } else if let Some(start) = ep.ts_key.and_then(|k| tolerant::int(biz.get(k))) {
        if ep.ts_key == Some("start_ts") && tolerant::flag(biz.get("is_get_total")) != Some(false) {
            s.stats.ts_with_totals.fetch_add(1, Ordering::Relaxed);
        }
        let span = match ep.window {
            Some(span) => window(&biz, span, s)?,
            None => None,
        };
        let (rows, more) = match span {
            Some((b, e)) => world.window_ts_texts(&collection, (&b, &e), start, skip, take),
            None => world.ts_texts(&collection, start, skip, take),
        };
        (rows, None, more)
    } else if let Some(span) = ep.window {
        let (begin, end) = window(&biz, span, s)?.ok_or("modified_begin和modified_end不能为空")?;
        let (rows, n) = world.window_texts(&collection, &begin, &end, skip, take);
        (rows, Some(n), skip + take < n)
    } else {
        let (rows, more) = world.ts_texts(&collection, i64::MIN, skip, take);
        (rows, None, more)
    };
    s.stats
        .rows_served
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    if let Some(n) = s.take_churn(ep.path) {
        churn(s, &collection, &rows[..n.min(rows.len())]);
    }
    let mut data = json!({"page_index": page_index, "page_size": page_size, "has_next": has_next});
    let totals = ep.totals.unwrap_or(s.config.inventory_totals);
    if let (Some(n), true) = (count, totals) {
        data["data_count"] = Value::from(n);
        data["page_count"] = Value::from(n.div_ceil(page_size as usize));
    }
    let list_key = ep.list_key.unwrap_or(s.config.shops_list_key.as_str());
    Ok(body(
        data,
        list_key,
        &rows,
        ep.collection == world::REFUND_PAYS,
    ))
}

/// Modifies the documents just served (as if a clerk edited them while the client paged):
/// each gets the present as `modified` and a new rowversion, so it leaves a past window.
fn churn(s: &SimState, collection: &str, served: &[String]) {
    let now = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .naive_local()
        .format(TIME_FORMAT)
        .to_string();
    let field = world::key_field(collection);
    for text in served {
        let key = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|d| tolerant::id(d.get(field)));
        if let Some(key) = key {
            s.world
                .modify_in(collection, &key, &now, |d| d["remark"] = "改".into());
            s.stats.churned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `{"code":0,"msg":"执行成功","data":{…meta…,"<list_key>":[rows…]}}` without parsing the rows.
fn body(meta: Value, list_key: &str, rows: &[String], request_id: bool) -> String {
    let meta = meta.to_string();
    let meta = meta.strip_suffix('}').unwrap_or(&meta);
    let len = rows.iter().map(|r| r.len() + 1).sum::<usize>() + meta.len() + 96;
    let mut out = String::with_capacity(len);
    out.push_str(r#"{"code":0,"msg":"执行成功","#);
    if request_id {
        out.push_str(r#""request_id":"sim","#);
    }
    out.push_str(r#""data":"#);
    out.push_str(meta);
    if meta != "{" {
        out.push(',');
    }
    out.push('"');
    out.push_str(list_key);
    out.push_str("\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r);
    }
    out.push_str("]}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_valid_json_with_the_rows_in_order() {
        let rows: Vec<String> = vec![r#"{"a":1}"#.into(), r#"{"a":2}"#.into()];
        let b = body(
            json!({"page_index": 1, "has_next": false}),
            "datas",
            &rows,
            true,
        );
        let v: Value = serde_json::from_str(&b).expect("json");
        assert_eq!(v["data"]["datas"], json!([{"a": 1}, {"a": 2}]));
        assert_eq!(
            (v["code"].clone(), v["request_id"].clone()),
            (json!(0), json!("sim"))
        );
        let empty: Value =
            serde_json::from_str(&body(json!({}), "orders", &[], false)).expect("json");
        assert_eq!(empty["data"]["orders"], json!([]));
    }
}
