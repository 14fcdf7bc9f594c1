//! The Jushuitan streams other than orders: one [`Spec`] per endpoint (path, list key, page
//! maximum, window rule, record identity and mapping) read by one generic [`JstStream`], plus
//! [`JstInventory`], which walks every warehouse. All share the connector's [`JstClient`], so
//! they share its rate budget.
//!
//! Windowed streams ask for `modified` in `[begin, end)` (the platform's window is inclusive,
//! so the end sent is one second earlier); snapshot streams (shops, warehouses, inventory)
//! have no window and are read whole.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::client::JstClient;
use super::maps::{inventory, logistics, master, purchases, refunds, shipments, skus};
use super::paging::{self, Window, window_page};
use super::record::{RecordError, modified_version};
use super::streams::{client_stats, stream_error};
use crate::stream::{
    BoxFuture, Mapped, RawPage, Stream, StreamError, StreamStats, StreamTables, TableRows,
};
use crate::tolerant;

const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);

/// How a stream reads one endpoint.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    /// The list key; the client also accepts `datas`.
    pub(crate) list_key: &'static str,
    pub(crate) max_page: i64,
    /// `None`: a snapshot read whole.
    pub(crate) window: Option<Duration>,
    /// Whether a window pages by `start_ts` (see `paging.rs`); otherwise by verified passes.
    pub(crate) rowversion: bool,
    /// Extra `biz` keys sent with every page (e.g. `date_type: 0`).
    pub(crate) extra: fn() -> Value,
    /// The table carrying the cursor, written after `children`.
    pub(crate) main: &'static str,
    pub(crate) children: &'static [&'static str],
    pub(crate) key: fn(&Value) -> Option<String>,
    pub(crate) version: fn(&Value) -> i64,
    pub(crate) map: fn(&[Value]) -> Result<Vec<TableRows>, RecordError>,
}

fn none() -> Value {
    json!({})
}

fn by_modified() -> Value {
    json!({"date_type": 0})
}

fn sku_by_modified() -> Value {
    json!({"date_field": "modified"})
}

fn rowversion(v: &Value) -> i64 {
    tolerant::int(v.get("ts")).unwrap_or(i64::MIN)
}

fn unversioned(_: &Value) -> i64 {
    0
}

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "refunds",
        path: "/open/refund/single/query",
        list_key: "datas",
        max_page: 50,
        window: Some(WEEK),
        rowversion: true,
        extra: none,
        main: "refunds",
        children: &[],
        key: refunds::key,
        version: rowversion,
        map: refunds::map,
    },
    Spec {
        name: "shipments",
        path: "/open/orders/out/simple/query",
        list_key: "datas",
        max_page: 50,
        window: Some(WEEK),
        rowversion: true,
        extra: by_modified,
        main: "shipments",
        children: &[],
        key: shipments::key,
        version: rowversion,
        map: shipments::map,
    },
    Spec {
        name: "logistics",
        path: "/open/logistic/query",
        list_key: "orders",
        max_page: 50,
        window: Some(WEEK),
        rowversion: false,
        extra: by_modified,
        main: "logistics_events",
        children: &[],
        key: logistics::key,
        version: modified_version,
        map: logistics::map,
    },
    Spec {
        name: "purchases",
        path: "/open/purchase/query",
        list_key: "datas",
        max_page: 50,
        window: Some(WEEK),
        rowversion: false,
        extra: none,
        main: "purchase_orders",
        children: &["purchase_order_lines"],
        key: purchases::key,
        version: modified_version,
        map: purchases::map,
    },
    Spec {
        name: "skus",
        path: "/open/sku/query",
        list_key: "datas",
        max_page: 50,
        window: Some(WEEK),
        rowversion: false,
        extra: sku_by_modified,
        main: "skus",
        children: &[],
        key: skus::key,
        version: modified_version,
        map: skus::map,
    },
    Spec {
        name: "shops",
        path: "/open/shops/query",
        // `datas` per the Java SDK, `shops` per one client (UNCONFIRMED): both are read.
        list_key: "shops",
        max_page: 100,
        window: None,
        rowversion: false,
        extra: none,
        main: "shops",
        children: &[],
        key: master::shop_key,
        version: unversioned,
        map: master::map_shops,
    },
    Spec {
        name: "warehouses",
        path: "/open/wms/partner/query",
        list_key: "datas",
        max_page: 50,
        window: None,
        rowversion: false,
        extra: none,
        main: "warehouses",
        children: &[],
        key: master::warehouse_key,
        version: unversioned,
        map: master::map_warehouses,
    },
];

fn record_error(stream: &str, e: RecordError) -> StreamError {
    StreamError::Record {
        stream: stream.into(),
        record: e.id.clone(),
        message: e.to_string(),
    }
}

/// One endpoint read page by page.
#[derive(Debug)]
pub struct JstStream {
    spec: &'static Spec,
    client: Arc<JstClient>,
    page_size: i64,
}

impl JstStream {
    /// The stream `name` (see [`super::STREAMS`]) over `client`; `None` for an unknown name.
    pub fn new(name: &str, client: Arc<JstClient>, page_size: i64) -> Option<Self> {
        let spec = SPECS.iter().find(|s| s.name == name)?;
        Some(Self {
            spec,
            client,
            page_size: page_size.clamp(1, spec.max_page),
        })
    }
}

impl Stream for JstStream {
    fn name(&self) -> &str {
        self.spec.name
    }

    fn tables(&self) -> StreamTables {
        StreamTables::new(self.spec.main, self.spec.children)
    }

    fn max_window(&self) -> Option<Duration> {
        self.spec.window
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            let extra = match (self.spec.extra)() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if self.spec.window.is_some() {
                let identity = |r: &Value| ((self.spec.key)(r), (self.spec.version)(r));
                let window = Window {
                    stream: self.spec.name,
                    path: self.spec.path,
                    list_key: self.spec.list_key,
                    extra,
                    page_size: self.page_size,
                    rowversion: self.spec.rowversion,
                    identity: &identity,
                };
                return window_page(&self.client, window, begin, end, next).await;
            }
            let page_index: i64 = next.and_then(|n| n.parse().ok()).unwrap_or(1);
            let mut biz = extra;
            biz.insert("page_index".into(), page_index.into());
            biz.insert("page_size".into(), self.page_size.into());
            let page = self
                .client
                .call(
                    self.spec.path,
                    &Value::Object(biz).to_string(),
                    self.spec.list_key,
                )
                .await
                .map_err(|e| stream_error(self.spec.name, e))?;
            Ok(RawPage {
                next: page.has_next.then(|| (page_index + 1).to_string()),
                rows: page.rows,
            })
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        (self.spec.key)(record)
    }

    fn record_version(&self, record: &Value) -> i64 {
        (self.spec.version)(record)
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        (self.spec.map)(records)
            .map(|tables| Mapped { tables })
            .map_err(|e| record_error(self.spec.name, e))
    }

    fn stats(&self) -> StreamStats {
        client_stats(&self.client)
    }
}

/// Stock on hand in every warehouse (`/open/inventory/query`, read whole by rowversion from
/// `ts = 0`), as the snapshot of the Shanghai day before the range's end. The warehouses are
/// listed first (`/open/wms/partner/query`); each row gets its warehouse's `wms_co_id` and
/// the snapshot day attached, since the platform's rows carry neither.
#[derive(Debug)]
pub struct JstInventory {
    client: Arc<JstClient>,
    page_size: i64,
    warehouses: Mutex<Vec<i64>>,
}

impl JstInventory {
    pub fn new(client: Arc<JstClient>, page_size: i64) -> Self {
        Self {
            client,
            page_size: page_size.clamp(1, 100),
            warehouses: Mutex::new(Vec::new()),
        }
    }

    async fn list_warehouses(&self) -> Result<Vec<i64>, StreamError> {
        let mut out = Vec::new();
        let mut page_index = 1;
        loop {
            let biz = json!({"page_index": page_index, "page_size": 50});
            let page = self
                .client
                .call("/open/wms/partner/query", &biz.to_string(), "datas")
                .await
                .map_err(|e| stream_error("inventory", e))?;
            for w in &page.rows {
                let id = tolerant::int(w.get("wms_co_id")).ok_or_else(|| StreamError::Record {
                    stream: "inventory".into(),
                    record: "warehouse list".into(),
                    message: format!("a warehouse has no numeric wms_co_id: {w}"),
                })?;
                out.push(id);
            }
            if !page.has_next {
                return Ok(out);
            }
            page_index += 1;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<i64>> {
        self.warehouses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Stream for JstInventory {
    fn name(&self) -> &str {
        "inventory"
    }

    fn tables(&self) -> StreamTables {
        StreamTables::one("stock_snapshots")
    }

    fn max_window(&self) -> Option<Duration> {
        None
    }

    /// The token is `<warehouse index>:ts:<start_ts>`: each warehouse is paged by rowversion
    /// (stock changes all day, so offsets would shift), or `<warehouse index>:p:<page>` for a
    /// warehouse whose rows come without `ts`.
    fn page<'a>(
        &'a self,
        _begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            let parsed = next.and_then(|n| {
                let mut it = n.splitn(3, ':');
                let wh: usize = it.next()?.parse().ok()?;
                let kind = it.next()?;
                let at: i64 = it.next()?.parse().ok()?;
                Some((wh, kind == "p", at))
            });
            let (wh, by_page, at) = match parsed {
                Some(p) => p,
                None => {
                    let list = self.list_warehouses().await?;
                    *self.lock() = list;
                    (0usize, false, 0i64)
                }
            };
            let Some(wms) = self.lock().get(wh).copied() else {
                return Ok(RawPage::default());
            };
            let biz = if by_page {
                json!({"wms_co_id": wms, "ts": 0, "page_index": at, "page_size": self.page_size})
            } else {
                json!({"wms_co_id": wms, "ts": at, "page_index": 1, "page_size": self.page_size})
            };
            let page = self
                .client
                .call("/open/inventory/query", &biz.to_string(), "inventorys")
                .await
                .map_err(|e| stream_error("inventory", e))?;
            let following = if by_page {
                (page.has_next && !page.rows.is_empty()).then(|| format!("{wh}:p:{}", at + 1))
            } else {
                match paging::after_ts(&page.rows, page.has_next) {
                    Some(paging::Cursor::Ts(ts)) => Some(format!("{wh}:ts:{ts}")),
                    Some(paging::Cursor::Pass(_)) => Some(format!("{wh}:p:1")),
                    None => None,
                }
            };
            let day = (end - chrono::Duration::seconds(1))
                .format("%Y-%m-%d")
                .to_string();
            let rows = page
                .rows
                .into_iter()
                .map(|mut r| {
                    if let Value::Object(m) = &mut r {
                        m.insert("wms_co_id".into(), wms.into());
                        m.insert(inventory::SNAPSHOT_DATE.into(), day.clone().into());
                    }
                    r
                })
                .collect();
            let more_warehouses = wh + 1 < self.lock().len();
            let next = following.or_else(|| more_warehouses.then(|| format!("{}:ts:0", wh + 1)));
            Ok(RawPage { rows, next })
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        inventory::key(record)
    }

    fn record_version(&self, record: &Value) -> i64 {
        rowversion(record)
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        inventory::map(records)
            .map(|tables| Mapped { tables })
            .map_err(|e| record_error("inventory", e))
    }

    fn stats(&self) -> StreamStats {
        client_stats(&self.client)
    }
}
