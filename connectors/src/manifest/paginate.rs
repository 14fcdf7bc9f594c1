//! Paginators: which parameters ask for a page, and whether another page follows.
//!
//! The token handed back to the engine ([`RawPage::next`](crate::stream::RawPage)) is the next
//! page number, the next offset, or the platform's cursor. An empty page always ends the
//! window; `has_more`, when configured, decides otherwise; without it a short page ends
//! page-number and offset paging, and a missing or empty token ends cursor paging.

use serde_json::Value;

use super::path::JsonPath;
use super::settings;
use crate::tolerant;

/// A paginator, compiled.
#[derive(Debug, Clone)]
pub(crate) enum Paginator {
    PageNumber {
        param: String,
        size_param: String,
        size: u32,
        first: u32,
        has_more: Option<JsonPath>,
    },
    Offset {
        param: String,
        size_param: String,
        size: u32,
        has_more: Option<JsonPath>,
    },
    Cursor {
        param: String,
        next: JsonPath,
        size_param: String,
        size: u32,
        has_more: Option<JsonPath>,
    },
}

impl Paginator {
    /// Compiles the settings; an error names the bad part.
    pub(crate) fn new(p: &settings::Paginator) -> Result<Self, String> {
        use settings::Paginator as P;
        let more = |h: &Option<String>| h.as_deref().map(JsonPath::parse).transpose();
        let size_ok = |size: u32| {
            if size == 0 {
                Err("`size` must be at least 1".to_string())
            } else {
                Ok(size)
            }
        };
        Ok(match p {
            P::PageNumber {
                param,
                size_param,
                size,
                first_page,
                has_more,
            } => Paginator::PageNumber {
                param: param.clone(),
                size_param: size_param.clone(),
                size: size_ok(*size)?,
                first: *first_page,
                has_more: more(has_more)?,
            },
            P::Offset {
                param,
                size_param,
                size,
                has_more,
            } => Paginator::Offset {
                param: param.clone(),
                size_param: size_param.clone(),
                size: size_ok(*size)?,
                has_more: more(has_more)?,
            },
            P::Cursor {
                param,
                next,
                size_param,
                size,
                has_more,
            } => Paginator::Cursor {
                param: param.clone(),
                next: JsonPath::parse(next)?,
                size_param: size_param.clone(),
                size: size_ok(*size)?,
                has_more: more(has_more)?,
            },
        })
    }

    /// The parameters asking for the page after `token` (`None`: the first page).
    pub(crate) fn params(&self, token: Option<&str>) -> Vec<(String, String)> {
        match self {
            Paginator::PageNumber {
                param,
                size_param,
                size,
                first,
                ..
            } => vec![
                (
                    param.clone(),
                    token.map_or_else(|| first.to_string(), str::to_string),
                ),
                (size_param.clone(), size.to_string()),
            ],
            Paginator::Offset {
                param,
                size_param,
                size,
                ..
            } => vec![
                (param.clone(), token.unwrap_or("0").to_string()),
                (size_param.clone(), size.to_string()),
            ],
            Paginator::Cursor {
                param,
                size_param,
                size,
                ..
            } => {
                let mut p = vec![(size_param.clone(), size.to_string())];
                if let Some(t) = token {
                    p.push((param.clone(), t.to_string()));
                }
                p
            }
        }
    }

    /// The token of the page after this one (`rows` records came back), or `None` at the end.
    pub(crate) fn next(&self, token: Option<&str>, body: &Value, rows: usize) -> Option<String> {
        if rows == 0 {
            return None;
        }
        let (has_more, size) = match self {
            Paginator::PageNumber { has_more, size, .. }
            | Paginator::Offset { has_more, size, .. }
            | Paginator::Cursor { has_more, size, .. } => (has_more, *size as usize),
        };
        let more = match has_more {
            Some(p) => tolerant::flag(p.get(body)).unwrap_or(false),
            None => matches!(self, Paginator::Cursor { .. }) || rows >= size,
        };
        if !more {
            return None;
        }
        match self {
            Paginator::PageNumber { first, .. } => {
                let page: u64 = token
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(u64::from(*first));
                Some((page + 1).to_string())
            }
            Paginator::Offset { .. } => {
                let offset: u64 = token.and_then(|t| t.parse().ok()).unwrap_or(0);
                Some((offset + rows as u64).to_string())
            }
            Paginator::Cursor { next, .. } => tolerant::text(next.get(body)),
        }
    }
}
