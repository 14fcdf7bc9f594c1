//! TOP as [`Stream`]s: settings, the builder the registry calls, and each stream.
//!
//! All streams of one connector share one [`TopClient`], so they share its rate budget.
//! Windows are at most one day (the increment API's rule). Pages are read as the platform
//! advises (§2.8): the first call learns `total_results` (its rows are kept only when that
//! is the only page), then pages go from the last one back to the first, so a trade that moves out of the window while paging causes a duplicate
//! (harmless: the engine keeps the highest version) rather than a miss. `reverse_paging =
//! false` pages forward with `use_has_next` instead.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::Value;

use super::client::{ClientError, TopClient, TopClientConfig};
use super::envelope::{TopError, list};
use super::mapping::{map_refunds, map_trades};
use super::request::Credentials;
use crate::sign::TopSignMethod;
use crate::stream::{
    BoxFuture, Mapped, RawPage, Secrets, Stream, StreamError, StreamStats, StreamTables, TableRows,
    TokenSink,
};
use crate::tolerant;
use vocab::time::parse_platform_time as shanghai_time;

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Trade fields the orders mapping reads.
const TRADE_FIELDS: &str = "tid,status,type,created,modified,pay_time,payment,total_fee,post_fee,\
buyer_open_uid,buyer_nick,receiver_state,receiver_city,alipay_no,orders.oid,orders.sku_id,\
orders.outer_sku_id,orders.num_iid,orders.num,orders.price,orders.total_fee,\
orders.divide_order_fee,orders.seller_type";
/// Fields without which a trade cannot be mapped: when the increment API leaves one out,
/// the trade is read again with `taobao.trade.fullinfo.get`.
const NEEDED: &[&str] = &["tid", "status", "created", "modified", "payment", "orders"];
/// Every trade type: without `type` the increment API returns only
/// guarantee_trade, auto_delivery, ec, cod and step (§2.8).
const TRADE_TYPES: &str = "fixed,auction,guarantee_trade,step,independent_simple_trade,\
independent_shop_trade,auto_delivery,ec,cod,game_equipment,shopex_trade,netcn_trade,\
external_trade,instant_trade,b2c_cod,hotel_trade,super_market_trade,super_market_cod_trade,\
taohua,waimai,o2o_offlinetrade,nopaid,eticket,tmall_i18n,insurance_plus,finance,pre_auth_type";
const REFUND_FIELDS: &str = "refund_id,tid,oid,status,created,modified,refund_fee,total_fee,\
has_good_return,dispute_type,reason,num,outer_id";

/// The non-secret settings of a TOP connector. Secrets: `app_secret`, `session`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopSettings {
    /// Full gateway URL, e.g. `https://eco.taobao.com/router/rest`.
    #[serde(default = "default_gateway")]
    pub gateway_url: String,
    pub app_key: String,
    /// The zhongtai shop id the session belongs to (written to every row's `shop_id`).
    pub shop_id: String,
    /// `tmall` or `taobao`, used only for trades whose sub-orders carry no `seller_type`.
    #[serde(default)]
    pub platform: Option<String>,
    /// `md5`, `hmac` or `hmac-sha256`.
    #[serde(default = "default_sign_method")]
    pub sign_method: String,
    /// Rows per page (1–100; 40–50 recommended by the platform).
    #[serde(default = "default_page_size")]
    pub page_size: i64,
    /// Calls per second and per minute to stay under; `0` turns a limit off. The app's real
    /// quota is set in its console (UNCONFIRMED defaults).
    #[serde(default = "default_per_second")]
    pub per_second: u32,
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    /// Seconds before a call times out.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Retries of a failing call before the sync stops.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First back-off delay after a failed call, in milliseconds (doubles with each retry).
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Longest wait for a ban the platform announces (code 7), in seconds.
    #[serde(default = "default_max_ban")]
    pub max_ban_secs: u64,
    /// Page from the last page back (the platform's advice); `false`: forward with `has_next`.
    #[serde(default = "default_true")]
    pub reverse_paging: bool,
}

fn default_gateway() -> String {
    "https://eco.taobao.com/router/rest".into()
}
fn default_sign_method() -> String {
    "hmac-sha256".into()
}
fn default_page_size() -> i64 {
    50
}
fn default_per_second() -> u32 {
    10
}
fn default_per_minute() -> u32 {
    400
}
fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    6
}
fn default_backoff_ms() -> u64 {
    1_000
}
fn default_max_ban() -> u64 {
    120
}
fn default_true() -> bool {
    true
}

/// The streams this connector kind offers.
pub const STREAMS: &[&str] = &["orders", "refunds"];

/// Builds the named streams (all when `names` is empty) over one shared client. TOP sessions
/// are not refreshed by self-built apps (§2.5), so `tokens` only provides the app's call
/// budget (shared by every shop's connector of the app).
pub fn build_streams(
    settings: &TopSettings,
    secrets: &Secrets,
    tokens: Arc<dyn TokenSink>,
    names: &[String],
) -> Result<Vec<Arc<dyn Stream>>, StreamError> {
    let bad = |m: String| Err(StreamError::Settings(m));
    if !(1..=100).contains(&settings.page_size) {
        return bad(format!(
            "page_size must be between 1 and 100, not {}",
            settings.page_size
        ));
    }
    if settings.shop_id.trim().is_empty() {
        return bad("shop_id must name the zhongtai shop the session belongs to".into());
    }
    if let Some(p) = &settings.platform
        && p != "tmall"
        && p != "taobao"
    {
        return bad(format!("platform must be `tmall` or `taobao`, not `{p}`"));
    }
    let Some(sign_method) = TopSignMethod::parse(&settings.sign_method) else {
        return bad(format!(
            "sign_method must be md5, hmac or hmac-sha256, not `{}`",
            settings.sign_method
        ));
    };
    let limit = |n: u32| (n > 0).then_some(n);
    let config = TopClientConfig {
        sign_method,
        timeout: Duration::from_secs(settings.timeout_secs.max(1)),
        max_retries: settings.max_retries,
        per_second: limit(settings.per_second),
        per_minute: limit(settings.per_minute),
        max_ban_wait: Duration::from_secs(settings.max_ban_secs),
        backoff: Duration::from_millis(settings.backoff_ms),
        ..TopClientConfig::new(settings.gateway_url.clone())
    };
    let creds = Credentials {
        app_key: settings.app_key.clone(),
        app_secret: secrets.require("app_secret")?.to_string(),
        session: secrets.require("session")?.to_string(),
    };
    let client = TopClient::new(config, creds);
    let budget = tokens.budget(
        &format!("taobao-{}", settings.app_key),
        client.budget_limits(),
    );
    let client = Arc::new(client.with_budget(budget));
    let pager = Pager {
        client,
        page_size: settings.page_size,
        reverse: settings.reverse_paging,
    };
    let wanted: Vec<&str> = if names.is_empty() {
        STREAMS.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    wanted
        .into_iter()
        .map(|name| match name {
            "orders" => Ok(Arc::new(TopOrders {
                pager: pager.clone(),
                shop_id: settings.shop_id.clone(),
                platform: settings.platform.clone(),
            }) as Arc<dyn Stream>),
            "refunds" => Ok(Arc::new(TopRefunds {
                pager: pager.clone(),
                shop_id: settings.shop_id.clone(),
            }) as Arc<dyn Stream>),
            other => Err(StreamError::Settings(format!(
                "Taobao/Tmall has no stream `{other}` (it has: {})",
                STREAMS.join(", ")
            ))),
        })
        .collect()
}

/// Maps a client failure to the engine's classes, keeping the platform's message.
fn stream_error(stream: &str, e: ClientError) -> StreamError {
    let stream = stream.to_string();
    let message = e.to_string();
    match e {
        ClientError::Top {
            error: TopError::BadCredentials(_) | TopError::InvalidSession(_),
            ..
        } => StreamError::Auth { stream, message },
        ClientError::Top { .. } | ClientError::Http { .. } => {
            StreamError::Refused { stream, message }
        }
        _ => StreamError::Unavailable { stream, message },
    }
}

/// A `yyyy-MM-dd HH:mm:ss` field as Unix seconds (a record's version).
fn version(record: &Value, field: &str) -> i64 {
    tolerant::text(record.get(field))
        .and_then(|t| shanghai_time(&t))
        .map_or(i64::MIN, |(micros, _)| micros.div_euclid(1_000_000))
}

/// Windowed, paged reads of one list API.
#[derive(Debug, Clone)]
struct Pager {
    client: Arc<TopClient>,
    page_size: i64,
    reverse: bool,
}

impl Pager {
    /// One page of `method` over `[begin, end]`; `next` is the page number to read.
    async fn page(
        &self,
        stream: &str,
        (method, outer, inner): (&str, &str, &str),
        extra: &[(&str, &str)],
        (begin, end): (NaiveDateTime, NaiveDateTime),
        next: Option<&str>,
    ) -> Result<RawPage, StreamError> {
        let page_no: i64 = next.and_then(|n| n.parse().ok()).unwrap_or(1);
        let first = next.is_none();
        let (b, e) = (
            begin.format(FORMAT).to_string(),
            end.format(FORMAT).to_string(),
        );
        let (no, size) = (page_no.to_string(), self.page_size.to_string());
        let mut params: Vec<(&str, &str)> = vec![
            ("start_modified", &b),
            ("end_modified", &e),
            ("page_no", &no),
            ("page_size", &size),
        ];
        if !self.reverse {
            params.push(("use_has_next", "true"));
        }
        params.extend_from_slice(extra);
        let response = self
            .client
            .call(method, &params)
            .await
            .map_err(|e| stream_error(stream, e))?;
        let rows = list(&response, outer, inner).map_err(|e| StreamError::Unavailable {
            stream: stream.into(),
            message: format!("{method}: {e}"),
        })?;
        let next = if !self.reverse {
            tolerant::flag(response.get("has_next"))
                .unwrap_or(false)
                .then(|| (page_no + 1).to_string())
        } else if first {
            let total = tolerant::int(response.get("total_results")).ok_or_else(|| {
                StreamError::Unavailable {
                    stream: stream.into(),
                    message: format!("{method}: no total_results to page backwards with"),
                }
            })?;
            let pages = (total.max(0) + self.page_size - 1) / self.page_size;
            if pages > 1 {
                // Page 1 is read again last; returning it now would only duplicate it.
                return Ok(RawPage {
                    rows: Vec::new(),
                    next: Some(pages.to_string()),
                });
            }
            None
        } else {
            (page_no > 1).then(|| (page_no - 1).to_string())
        };
        Ok(RawPage { rows, next })
    }
}

/// `taobao.trades.sold.increment.get` by modified time → `order_items`, `payments`, `orders`.
#[derive(Debug)]
pub struct TopOrders {
    pager: Pager,
    shop_id: String,
    platform: Option<String>,
}

impl TopOrders {
    /// Re-reads trades the increment API returned without a field the mapping needs.
    async fn complete(&self, rows: Vec<Value>) -> Result<Vec<Value>, StreamError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            if NEEDED
                .iter()
                .all(|f| row.get(*f).is_some_and(|v| !v.is_null()))
            {
                out.push(row);
                continue;
            }
            let tid = tolerant::id(row.get("tid")).ok_or_else(|| StreamError::Record {
                stream: "orders".into(),
                record: "?".into(),
                message: "a trade without tid".into(),
            })?;
            let full = self
                .pager
                .client
                .call(
                    "taobao.trade.fullinfo.get",
                    &[("fields", TRADE_FIELDS), ("tid", &tid)],
                )
                .await
                .map_err(|e| stream_error("orders", e))?;
            match full.get("trade") {
                Some(t @ Value::Object(_)) => out.push(t.clone()),
                _ => {
                    return Err(StreamError::Unavailable {
                        stream: "orders".into(),
                        message: format!("taobao.trade.fullinfo.get {tid}: no `trade`"),
                    });
                }
            }
        }
        Ok(out)
    }
}

impl Stream for TopOrders {
    fn name(&self) -> &str {
        "orders"
    }

    fn tables(&self) -> StreamTables {
        StreamTables::new("orders", &["order_items", "payments"])
    }

    fn max_window(&self) -> Option<Duration> {
        Some(DAY)
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            let api = ("taobao.trades.sold.increment.get", "trades", "trade");
            let extra = [("fields", TRADE_FIELDS), ("type", TRADE_TYPES)];
            let page = self
                .pager
                .page("orders", api, &extra, (begin, end), next)
                .await?;
            Ok(RawPage {
                rows: self.complete(page.rows).await?,
                next: page.next,
            })
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        tolerant::id(record.get("tid")).or_else(|| tolerant::id(record.get("tid_str")))
    }

    fn record_version(&self, record: &Value) -> i64 {
        version(record, "modified")
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        let m = map_trades(records, &self.shop_id, self.platform.as_deref()).map_err(|e| {
            StreamError::Record {
                stream: "orders".into(),
                record: e.id.clone(),
                message: e.to_string(),
            }
        })?;
        let ids = records
            .iter()
            .filter_map(|r| self.record_key(r))
            .map(|tid| format!("tb:{tid}"))
            .collect::<Vec<_>>();
        Ok(Mapped::orders(m.order_items, m.payments, m.orders, ids))
    }

    fn stats(&self) -> StreamStats {
        self.pager.client.stream_stats()
    }
}

/// `taobao.refunds.receive.get` by modified time → `refunds`.
#[derive(Debug)]
pub struct TopRefunds {
    pager: Pager,
    shop_id: String,
}

impl Stream for TopRefunds {
    fn name(&self) -> &str {
        "refunds"
    }

    fn tables(&self) -> StreamTables {
        StreamTables::one("refunds")
    }

    fn max_window(&self) -> Option<Duration> {
        // The refunds API states no span (UNCONFIRMED); one day, like the trade API.
        Some(DAY)
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            let api = ("taobao.refunds.receive.get", "refunds", "refund");
            self.pager
                .page(
                    "refunds",
                    api,
                    &[("fields", REFUND_FIELDS)],
                    (begin, end),
                    next,
                )
                .await
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        tolerant::id(record.get("refund_id"))
    }

    fn record_version(&self, record: &Value) -> i64 {
        version(record, "modified")
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        let m = map_refunds(records, &self.shop_id).map_err(|e| StreamError::Record {
            stream: "refunds".into(),
            record: e.id.clone(),
            message: e.to_string(),
        })?;
        Ok(Mapped {
            tables: vec![TableRows {
                table: "refunds".into(),
                batch: m.refunds,
                replace: None,
            }],
        })
    }

    fn stats(&self) -> StreamStats {
        self.pager.client.stream_stats()
    }
}
