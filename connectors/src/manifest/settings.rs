//! The manifest model: what a `kind = "http"` connector document says, as plain serde types.
//!
//! The registry strips the common keys (`name`, `kind`, `description`, `schedule`,
//! `start_date`, `[secrets]`, `only_streams`) and deserializes the rest into [`HttpSettings`].
//! Every struct refuses unknown keys, so a typo is an error naming the key. Rules serde cannot
//! express (a stream needs a cursor field, a child table's `replace_by` must point at a parent
//! field, …) are checked by [`HttpSettings::validate`](super::validate). Every key is
//! documented in `docs/manifests.md`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The kind-specific part of a `kind = "http"` connector document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// The `source` written on every row; the registry fills `http:<name>` when absent
    /// (see [`HttpSettings::default_source`]).
    #[serde(default)]
    pub source: Option<String>,
    pub requester: Requester,
    #[serde(default)]
    pub signer: Signer,
    #[serde(default)]
    pub rate_limit: RateLimit,
    #[serde(default)]
    pub response: Response,
    pub streams: Vec<StreamSpec>,
}

/// How requests are sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    /// Scheme, host and optional path prefix, e.g. `https://api.example.com`.
    pub base_url: String,
    #[serde(default)]
    pub method: Method,
    /// Parameters sent with every request (query for GET, body for POST).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Headers sent with every request (never secrets: those go through the signer).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Retries of a request failing with HTTP 5xx, a timeout, an unreadable body or throttling.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First back-off delay; it doubles with each retry (a `Retry-After` header wins if longer).
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
}

fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    6
}
fn default_backoff() -> u64 {
    1000
}

/// How parameters travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Method {
    /// `GET` with a query string.
    #[default]
    Get,
    /// `POST` with an `application/x-www-form-urlencoded` body.
    PostForm,
    /// `POST` with a JSON object body (every value a string).
    PostJson,
}

impl Method {
    /// The HTTP verb.
    pub fn verb(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::PostForm | Method::PostJson => "POST",
        }
    }
}

/// The built-in request signers. `secret` names an entry of the connector's secrets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Signer {
    /// No signing.
    #[default]
    None,
    /// Jushuitan: `sign = md5(secret + k1v1k2v2…)`, `timestamp` in Unix seconds.
    JushuitanMd5 {
        secret: String,
        #[serde(default = "timestamp_param")]
        timestamp_param: String,
        #[serde(default = "sign_param")]
        sign_param: String,
    },
    /// Taobao/Tmall TOP, `sign_method=md5`; `timestamp` as `yyyy-MM-dd HH:mm:ss` Shanghai.
    TopMd5 {
        secret: String,
        #[serde(default = "timestamp_param")]
        timestamp_param: String,
        #[serde(default = "sign_param")]
        sign_param: String,
    },
    /// TOP, `sign_method=hmac` (HMAC-MD5).
    TopHmac {
        secret: String,
        #[serde(default = "timestamp_param")]
        timestamp_param: String,
        #[serde(default = "sign_param")]
        sign_param: String,
    },
    /// TOP, `sign_method=hmac-sha256`.
    TopHmacSha256 {
        secret: String,
        #[serde(default = "timestamp_param")]
        timestamp_param: String,
        #[serde(default = "sign_param")]
        sign_param: String,
    },
    /// A header carrying HMAC-SHA256 over a canonical string built from `parts`.
    HmacSha256Header {
        secret: String,
        #[serde(default = "signature_header")]
        header: String,
        #[serde(default = "timestamp_header")]
        timestamp_header: String,
        #[serde(default)]
        timestamp: TimestampStyle,
        #[serde(default)]
        encoding: Encoding,
        #[serde(default = "default_parts")]
        parts: Vec<String>,
        #[serde(default = "newline")]
        separator: String,
    },
    /// `Authorization: Bearer <secret>`.
    Bearer { secret: String },
    /// An API key in a header or a query parameter (exactly one of them).
    ApiKey {
        secret: String,
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        query_param: Option<String>,
    },
}

fn timestamp_param() -> String {
    "timestamp".into()
}
fn sign_param() -> String {
    "sign".into()
}
fn signature_header() -> String {
    "X-Signature".into()
}
fn timestamp_header() -> String {
    "X-Timestamp".into()
}
fn default_parts() -> Vec<String> {
    ["method", "path", "query", "timestamp"]
        .map(String::from)
        .to_vec()
}
fn newline() -> String {
    "\n".into()
}

/// How the `hmac-sha256-header` timestamp is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampStyle {
    /// Unix seconds.
    #[default]
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// RFC 3339 in Asia/Shanghai (`2026-11-01T10:00:00+08:00`).
    Rfc3339,
}

/// How a signature's bytes are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Lower-case hex.
    #[default]
    Hex,
    /// Upper-case hex.
    HexUpper,
    /// Standard base64 with padding.
    Base64,
}

/// Requests per second and per minute the client stays under (`0` or absent: no limit).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default)]
    pub per_second: usize,
    #[serde(default)]
    pub per_minute: usize,
}

/// The response envelope's error check (all paths are dotted JSON paths).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// Where the platform's result code is; absent: only the HTTP status is checked.
    #[serde(default)]
    pub code: Option<String>,
    /// Codes meaning success (compared as text); default `["0"]`.
    #[serde(default)]
    pub ok_codes: Vec<Code>,
    /// Where the platform's error message is.
    #[serde(default)]
    pub message: Option<String>,
    /// Codes meaning the credentials were refused (→ an authentication error).
    #[serde(default)]
    pub auth_codes: Vec<Code>,
    /// Codes meaning "too many requests" (→ back off and retry).
    #[serde(default)]
    pub throttle_codes: Vec<Code>,
    /// Codes meaning a passing failure (→ retry).
    #[serde(default)]
    pub retry_codes: Vec<Code>,
}

/// A result code written as a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Int(i64),
    Text(String),
}

impl Code {
    /// The code as text, as compared with the response's.
    pub fn text(&self) -> String {
        match self {
            Code::Int(i) => i.to_string(),
            Code::Text(s) => s.clone(),
        }
    }
}

/// One stream: an endpoint read window by window, and how its records become rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    pub name: String,
    /// Path after the base URL, e.g. `/api/v2/orders`.
    pub path: String,
    /// Parameters this stream always sends.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Dotted path to the records array in the response, e.g. `data.orders`.
    pub records: String,
    pub paginator: Paginator,
    pub incremental: Incremental,
    /// Canonical tables filled from each record; the last one is the stream's main table.
    pub tables: Vec<TableSpec>,
}

/// How pages follow each other. Every kind stops on an empty page; `has_more` (a boolean at
/// a path in the response) decides when given.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paginator {
    /// `page` = first_page, first_page + 1, …; without `has_more`, a short page is the last.
    PageNumber {
        param: String,
        size_param: String,
        size: u32,
        #[serde(default = "one")]
        first_page: u32,
        #[serde(default)]
        has_more: Option<String>,
    },
    /// `offset` = 0, size, 2·size, … (by rows received); a short page is the last.
    Offset {
        param: String,
        size_param: String,
        size: u32,
        #[serde(default)]
        has_more: Option<String>,
    },
    /// The response's token at `next` is sent as `param`; no token (or `has_more` false) ends.
    Cursor {
        param: String,
        next: String,
        size_param: String,
        size: u32,
        #[serde(default)]
        has_more: Option<String>,
    },
}

fn one() -> u32 {
    1
}

/// The incremental window: which request parameters bound it and how records are versioned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// The record's modification time (the stream's cursor field).
    #[serde(default)]
    pub cursor_field: String,
    /// Its format: `rfc3339`, `unix`, `unix_ms` or a chrono pattern in Asia/Shanghai.
    #[serde(default = "rfc3339")]
    pub cursor_format: String,
    /// Request parameters carrying the window's start and end.
    pub begin_param: String,
    pub end_param: String,
    /// How the window ends are written (same choices as `cursor_format`).
    #[serde(default = "rfc3339")]
    pub param_format: String,
    /// The platform's end is inclusive: send `end - 1 s` (e.g. Jushuitan, TOP).
    #[serde(default)]
    pub end_inclusive: bool,
    /// The longest window the platform accepts.
    pub max_window_hours: u64,
    /// Path of the record's identity.
    pub record_key: String,
    /// Path of the record's version (higher wins); default the cursor field.
    #[serde(default)]
    pub record_version: Option<String>,
    /// Format of `record_version`: `int`, or a time format as `cursor_format` (its default).
    #[serde(default)]
    pub version_format: Option<String>,
}

fn rfc3339() -> String {
    "rfc3339".into()
}

/// One canonical table filled from a stream's records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Canonical table name (warehouse/SCHEMA.md).
    pub table: String,
    /// Path (in the stream's record) of nested child records, one row each (an array, a single
    /// object, or null for none). Absent: one row per stream record.
    #[serde(default)]
    pub records: Option<String>,
    /// For a child table: the column whose rows are the complete set per parent.
    #[serde(default)]
    pub replace_by: Option<String>,
    /// Canonical column → how its value is read.
    pub columns: BTreeMap<String, ColumnSpec>,
}

/// How one canonical column is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Dotted path in the row's record; `$parent.x` reads the stream record from a child row.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// Text put before a text value (e.g. `ms:`), so ids of different sources never collide.
    #[serde(default)]
    pub prefix: Option<String>,
    /// For `time` and `date`: the value's format (default `rfc3339`).
    #[serde(default)]
    pub format: Option<String>,
    /// For `const`: the value.
    #[serde(default)]
    pub value: Option<String>,
    /// For `text`: platform value → canonical value; a value not listed is an error.
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// A missing, null or empty value is a null (otherwise it is an error).
    #[serde(default)]
    pub optional: bool,
}

/// Canonical column types a value can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Text (ids as numbers or strings are read as text).
    Text,
    /// A whole number.
    Int,
    /// Money given as whole fen (`1990`).
    Fen,
    /// Money given in yuan with at most two decimals (`"19.90"`, `19.9`).
    Yuan,
    /// `true`/`false`, `1`/`0` or their string forms.
    Bool,
    /// An instant (stored in UTC).
    Time,
    /// The Asia/Shanghai date of an instant.
    Date,
    /// The fixed `value`.
    Const,
}
