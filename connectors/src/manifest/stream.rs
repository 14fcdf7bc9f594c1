//! One manifest stream as a [`Stream`]: window parameters, paging, record identity and mapping.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::client::Client;
use super::mapping::{Table, compile_table};
use super::paginate::Paginator;
use super::path::JsonPath;
use super::settings::StreamSpec;
use super::timefmt::TimeFormat;
use crate::stream::{BoxFuture, Mapped, RawPage, Stream, StreamError, StreamStats, StreamTables};
use crate::tolerant;

/// How a record's version is read.
#[derive(Debug, Clone)]
enum Version {
    Int,
    Time(TimeFormat),
}

/// A stream's settings, compiled and checked (everything but the client).
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    name: String,
    path: String,
    params: Vec<(String, String)>,
    records: JsonPath,
    paginator: Paginator,
    begin_param: String,
    end_param: String,
    param_format: TimeFormat,
    end_inclusive: bool,
    max_window: Duration,
    key: JsonPath,
    version: JsonPath,
    version_format: Version,
    tables: Vec<Table>,
}

/// Compiles one stream; errors name the key (`incremental.cursor_field: …`).
pub(crate) fn compile(s: &StreamSpec) -> Result<Compiled, String> {
    let inc = &s.incremental;
    if s.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    if !s.path.starts_with('/') {
        return Err(format!("path `{}` must start with `/`", s.path));
    }
    if inc.cursor_field.trim().is_empty() {
        return Err(
            "incremental.cursor_field is not set: a stream needs the record's modification time"
                .into(),
        );
    }
    if inc.max_window_hours == 0 {
        return Err("incremental.max_window_hours must be at least 1".into());
    }
    if inc.begin_param.is_empty() || inc.end_param.is_empty() {
        return Err("incremental.begin_param and end_param must not be empty".into());
    }
    let cursor =
        JsonPath::parse(&inc.cursor_field).map_err(|e| format!("incremental.cursor_field: {e}"))?;
    let cursor_format = TimeFormat::parse(&inc.cursor_format)
        .map_err(|e| format!("incremental.cursor_format: {e}"))?;
    let (version, version_format) = match &inc.record_version {
        None => (cursor, Version::Time(cursor_format)),
        Some(p) => (
            JsonPath::parse(p).map_err(|e| format!("incremental.record_version: {e}"))?,
            match inc.version_format.as_deref() {
                Some("int") => Version::Int,
                None => Version::Time(cursor_format),
                Some(f) => Version::Time(
                    TimeFormat::parse(f).map_err(|e| format!("incremental.version_format: {e}"))?,
                ),
            },
        ),
    };
    if s.tables.is_empty() {
        return Err("has no [[streams.tables]]".into());
    }
    let last = s.tables.len() - 1;
    let tables = s
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            compile_table(t, i == last).map_err(|e| format!("tables[{i}] ({}): {e}", t.table))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Compiled {
        name: s.name.clone(),
        path: s.path.clone(),
        params: s.params.clone().into_iter().collect(),
        records: JsonPath::parse(&s.records).map_err(|e| format!("records: {e}"))?,
        paginator: Paginator::new(&s.paginator).map_err(|e| format!("paginator: {e}"))?,
        begin_param: inc.begin_param.clone(),
        end_param: inc.end_param.clone(),
        param_format: TimeFormat::parse(&inc.param_format)
            .map_err(|e| format!("incremental.param_format: {e}"))?,
        end_inclusive: inc.end_inclusive,
        max_window: Duration::from_secs(inc.max_window_hours.saturating_mul(3600)),
        key: JsonPath::parse(&inc.record_key)
            .map_err(|e| format!("incremental.record_key: {e}"))?,
        version,
        version_format,
        tables,
    })
}

/// A manifest stream over a shared client.
#[derive(Debug)]
pub(crate) struct HttpStream {
    spec: Compiled,
    client: Arc<Client>,
    source: String,
}

impl HttpStream {
    pub(crate) fn new(spec: Compiled, client: Arc<Client>, source: String) -> Self {
        Self {
            spec,
            client,
            source,
        }
    }

    fn key_text(&self, record: &Value) -> String {
        self.record_key(record).unwrap_or_else(|| "?".into())
    }
}

impl Stream for HttpStream {
    fn name(&self) -> &str {
        &self.spec.name
    }

    /// The manifest lists the main table last (see `StreamSpec::tables`).
    fn tables(&self) -> StreamTables {
        let mut names: Vec<&str> = self.spec.tables.iter().map(|t| t.name.as_str()).collect();
        let main = names.pop().unwrap_or_default();
        StreamTables::new(main, &names)
    }

    fn max_window(&self) -> Option<Duration> {
        Some(self.spec.max_window)
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>> {
        Box::pin(async move {
            let s = &self.spec;
            let end = if s.end_inclusive {
                end - chrono::Duration::seconds(1)
            } else {
                end
            };
            let mut params = s.params.clone();
            params.push((s.begin_param.clone(), s.param_format.write(begin)));
            params.push((s.end_param.clone(), s.param_format.write(end)));
            params.extend(s.paginator.params(next));
            let body = self.client.fetch(&s.name, &s.path, &params).await?;
            let rows = match s.records.get(&body) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a.clone(),
                Some(other) => {
                    return Err(StreamError::Refused {
                        stream: s.name.clone(),
                        message: format!(
                            "the records at `{}` are not a list: {}",
                            s.records.as_str(),
                            truncate(&other.to_string(), 120)
                        ),
                    });
                }
            };
            Ok(RawPage {
                next: s.paginator.next(next, &body, rows.len()),
                rows,
            })
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        tolerant::id(self.spec.key.get(record))
    }

    fn record_version(&self, record: &Value) -> i64 {
        let v = self.spec.version.get(record);
        match &self.spec.version_format {
            Version::Int => tolerant::int(v),
            Version::Time(f) => v.and_then(|v| f.read(v).ok()).map(|t| t.timestamp_micros()),
        }
        .unwrap_or(i64::MIN)
    }

    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError> {
        let key = |r: &Value| self.key_text(r);
        let tables = self
            .spec
            .tables
            .iter()
            .map(|t| t.map(&self.spec.name, records, &key, &self.source))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Mapped { tables })
    }

    fn stats(&self) -> StreamStats {
        self.client.stats()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
