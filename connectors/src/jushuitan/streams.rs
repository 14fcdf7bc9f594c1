//! Jushuitan as [`Stream`]s: settings, the builder the registry calls, and each stream.
//!
//! All streams of one connector share one [`JstClient`], so they share its rate budget. The
//! streams other than orders live in `endpoint_streams.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{ClientConfig, ClientError, JstClient};
use super::endpoint_streams::{JstInventory, JstStream};
use super::envelope::JstError;
use super::mapping::{map_orders_with, platform_code};
use super::paging::{Window, window_page};
use super::request::Credentials;
use crate::stream::{
    BoxFuture, Mapped, RawPage, Secrets, Stream, StreamError, StreamStats, StreamTables, TokenSink,
};
use crate::tolerant;

/// The non-secret settings of a Jushuitan connector (its TOML document, minus the common
/// fields). Secrets: `app_secret`, `access_token`, `refresh_token` (optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JstSettings {
    /// Gateway, e.g. `https://openapi.jushuitan.com`.
    pub base_url: String,
    pub app_key: String,
    /// Rows per page (at most 100).
    #[serde(default = "default_page_size")]
    pub page_size: i64,
    /// Calls per second and per minute to stay under; `0` turns a limit off (simulators).
    #[serde(default = "default_per_second")]
    pub per_second: usize,
    #[serde(default = "default_per_minute")]
    pub per_minute: usize,
    /// Seconds before a call times out.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Retries of a failing call before the sync stops.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
}

fn default_page_size() -> i64 {
    100
}
fn default_per_second() -> usize {
    5
}
fn default_per_minute() -> usize {
    100
}
fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    6
}

/// The streams this connector kind offers.
pub const STREAMS: &[&str] = &[
    "orders",
    "refunds",
    "shipments",
    "logistics",
    "inventory",
    "purchases",
    "skus",
    "shops",
    "warehouses",
];

/// Builds the named streams (all when `names` is empty) over one shared client.
pub fn build_streams(
    settings: &JstSettings,
    secrets: &Secrets,
    tokens: Arc<dyn TokenSink>,
    names: &[String],
) -> Result<Vec<Arc<dyn Stream>>, StreamError> {
    if !(1..=100).contains(&settings.page_size) {
        return Err(StreamError::Settings(format!(
            "page_size must be between 1 and 100, not {}",
            settings.page_size
        )));
    }
    let limit = |n: usize| (n > 0).then_some(n);
    let config = ClientConfig {
        timeout: Duration::from_secs(settings.timeout_secs.max(1)),
        max_retries: settings.max_retries,
        per_second: limit(settings.per_second),
        per_minute: limit(settings.per_minute),
        ..ClientConfig::new(settings.base_url.trim_end_matches('/'))
    };
    let creds = Credentials {
        app_key: settings.app_key.clone(),
        app_secret: secrets.require("app_secret")?.to_string(),
        access_token: secrets.require("access_token")?.to_string(),
    };
    let refresh = secrets.get("refresh_token").map(str::to_string);
    let client = Arc::new(JstClient::new(config, creds, refresh).with_token_sink(tokens));
    let wanted: Vec<&str> = if names.is_empty() {
        STREAMS.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    wanted
        .into_iter()
        .map(|name| match name {
            "orders" => Ok(
                Arc::new(JstOrders::new(Arc::clone(&client), settings.page_size))
                    as Arc<dyn Stream>,
            ),
            "inventory" => Ok(
                Arc::new(JstInventory::new(Arc::clone(&client), settings.page_size))
                    as Arc<dyn Stream>,
            ),
            other
                if let Some(s) = JstStream::new(other, Arc::clone(&client), settings.page_size) =>
            {
                Ok(Arc::new(s) as Arc<dyn Stream>)
            }
            other => Err(StreamError::Settings(format!(
                "Jushuitan has no stream `{other}` (it has: {})",
                STREAMS.join(", ")
            ))),
        })
        .collect()
}

/// Maps a client failure to the engine's classes, keeping the platform's message.
pub(crate) fn stream_error(stream: &str, e: ClientError) -> StreamError {
    let stream = stream.to_string();
    let message = e.to_string();
    match e {
        ClientError::Platform(JstError::BadSignature(_) | JstError::TokenExpired(_))
        | ClientError::NoRefreshToken => StreamError::Auth { stream, message },
        ClientError::Platform(_) | ClientError::Http { .. } => {
            StreamError::Refused { stream, message }
        }
        _ => StreamError::Unavailable { stream, message },
    }
}

pub(crate) fn client_stats(client: &JstClient) -> StreamStats {
    let s = &client.stats;
    StreamStats {
        requests: s.calls.load(Ordering::Relaxed),
        retries: s.retries.load(Ordering::Relaxed),
        throttle_wait: Duration::from_millis(s.paced_ms.load(Ordering::Relaxed)),
        throttled: s.paced.load(Ordering::Relaxed),
        token_refreshes: s.refreshes.load(Ordering::Relaxed),
    }
}

/// `/open/orders/single/query` by `modified`: orders with their items and payments.
#[derive(Debug)]
pub struct JstOrders {
    client: Arc<JstClient>,
    page_size: i64,
    /// Platform code by Jushuitan shop id, read once from the shop list (the order API
    /// documents no platform field).
    platforms: tokio::sync::OnceCell<HashMap<String, String>>,
}

impl JstOrders {
    /// The orders stream over `client`.
    pub fn new(client: Arc<JstClient>, page_size: i64) -> Self {
        Self {
            client,
            page_size,
            platforms: tokio::sync::OnceCell::new(),
        }
    }

    /// Every shop's platform code from `/open/shops/query`. A shop list the app may not read
    /// leaves the map empty (orders then fall back to a `shop_site` field, or `unknown`, with
    /// a warning) rather than stopping the orders.
    async fn shop_platforms(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for page_index in 1..=1_000 {
            let biz = json!({"page_index": page_index, "page_size": 100});
            let page = match self
                .client
                .call("/open/shops/query", &biz.to_string(), "shops")
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the shop list for order platforms");
                    break;
                }
            };
            for r in &page.rows {
                if let (Some(id), Some(site)) = (
                    tolerant::id(r.get("shop_id")),
                    tolerant::text(r.get("shop_site")),
                ) {
                    out.insert(id, platform_code(&site));
                }
            }
            if !page.has_next || page.rows.is_empty() {
                break;
            }
        }
        out
    }
}

impl Stream for JstOrders {
    fn name(&self) -> &str {
        "orders"
    }

    fn tables(&self) -> StreamTables {
        StreamTables::new("orders", &["order_items", "payments"])
    }

    fn max_window(&self) -> Option<Duration> {
        Some(Duration::from_secs(7 * 24 * 3600))
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            self.platforms.get_or_init(|| self.shop_platforms()).await;
            let identity = |r: &Value| (self.record_key(r), self.record_version(r));
            let window = Window {
                stream: "orders",
                path: "/open/orders/single/query",
                list_key: "orders",
                extra: Map::new(),
                page_size: self.page_size,
                rowversion: true,
                identity: &identity,
            };
            window_page(&self.client, window, begin, end, next).await
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        tolerant::id(record.get("o_id"))
    }

    fn record_version(&self, record: &Value) -> i64 {
        tolerant::int(record.get("ts")).unwrap_or(i64::MIN)
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        let empty = HashMap::new();
        let platforms = self.platforms.get().unwrap_or(&empty);
        let m = map_orders_with(records, platforms).map_err(|e| StreamError::Record {
            stream: "orders".into(),
            record: e.o_id.clone(),
            message: e.to_string(),
        })?;
        let ids = string_column(&m.orders, 0);
        Ok(Mapped::orders(m.order_items, m.payments, m.orders, ids))
    }

    fn stats(&self) -> StreamStats {
        client_stats(&self.client)
    }
}

/// The values of a Utf8 column.
pub(crate) fn string_column(batch: &arrow::record_batch::RecordBatch, i: usize) -> Vec<String> {
    use arrow::array::{Array, AsArray};
    let col = batch.column(i).as_string::<i32>();
    (0..col.len())
        .filter(|&r| col.is_valid(r))
        .map(|r| col.value(r).to_string())
        .collect()
}
