//! How a windowed Jushuitan stream reads one window without skipping rows while they change
//! (spec sheet §1.8).
//!
//! Paging a `modified` window by `page_index` is an offset into a list that moves: when a
//! row on an earlier page is modified, it leaves the window and every row behind it shifts
//! one place forward, so the row that crosses the page boundary is never read. Two ways out:
//!
//! - **Rowversion paging** where the endpoint offers `start_ts` (orders, outbound, refunds,
//!   inventory's `ts`): every page asks for the rows with `ts >= start_ts` and the next page
//!   starts past the highest `ts` received. `ts` is the SQL Server rowversion, unique within
//!   the merchant's database, so a position cannot shift: a row modified meanwhile gets a
//!   higher `ts` and is read again (or, having left the window, by the next run), and no other
//!   row moves. `is_get_total=false` is sent, as the platform asks.
//! - **Verified passes** elsewhere (logistics, purchases, SKUs), or when rows come without
//!   `ts`: the window is read by `page_index` and the reported `data_count` is watched. A
//!   window ends at or before the sync's start, and a modification moves a row to the
//!   platform's present, so rows can only *leave* a window while it is read; a pass whose
//!   count never changed therefore saw every row that stayed. A pass whose count changed is
//!   followed by another; without counts, passes repeat until two see the same rows (an
//!   order-free hash of key and version). After [`MAX_PASSES`] the window is refused, so the
//!   cursor does not move past rows that may have been missed.
//!
//! The state travels in the engine's page token, so a stream holds none of it.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::client::JstClient;
use super::streams::stream_error;
use crate::stream::{RawPage, StreamError};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Passes over one window before it is given up as changing too fast to read.
pub(crate) const MAX_PASSES: u32 = 4;

/// Where the next page of a window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// Rows with `ts >= .0`.
    Ts(i64),
    /// A page of a verified pass.
    Pass(Pass),
}

/// A position in a verified pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pass {
    /// 1 for the first pass over the window.
    pub(crate) n: u32,
    pub(crate) index: i64,
    /// `data_count` on this pass's first page.
    total: Option<i64>,
    /// Whether a later page reported another count.
    changed: bool,
    /// Order-free hash of this pass's rows so far.
    hash: u64,
    /// The previous pass's hash.
    prev: Option<u64>,
}

impl Pass {
    fn first(n: u32, prev: Option<u64>) -> Self {
        Self {
            n,
            index: 1,
            total: None,
            changed: false,
            hash: 0,
            prev,
        }
    }
}

impl Cursor {
    /// The window's first page.
    pub(crate) fn start(rowversion: bool) -> Self {
        if rowversion {
            Self::Ts(0)
        } else {
            Self::Pass(Pass::first(1, None))
        }
    }

    /// Reads a token written by [`Cursor::encode`]; `None` starts the window. A token that
    /// does not parse (an older format) restarts the window, which re-reads but skips nothing.
    pub(crate) fn parse(token: Option<&str>, rowversion: bool) -> Self {
        let Some(t) = token else {
            return Self::start(rowversion);
        };
        if let Some(ts) = t.strip_prefix("ts:").and_then(|n| n.parse().ok()) {
            return Self::Ts(ts);
        }
        let parts: Vec<&str> = t.strip_prefix("p:").unwrap_or("").split(':').collect();
        let opt = |s: &str| (s != "-").then(|| s.parse().ok()).flatten();
        match parts.as_slice() {
            [n, index, total, changed, hash, prev] => {
                match (n.parse(), index.parse(), u64::from_str_radix(hash, 16)) {
                    (Ok(n), Ok(index), Ok(hash)) => Self::Pass(Pass {
                        n,
                        index,
                        total: opt(total),
                        changed: *changed == "1",
                        hash,
                        prev: (*prev != "-")
                            .then(|| u64::from_str_radix(prev, 16).ok())
                            .flatten(),
                    }),
                    _ => Self::start(rowversion),
                }
            }
            _ => Self::start(rowversion),
        }
    }

    /// The token for the engine.
    pub(crate) fn encode(&self) -> String {
        match self {
            Self::Ts(ts) => format!("ts:{ts}"),
            Self::Pass(p) => format!(
                "p:{}:{}:{}:{}:{:x}:{}",
                p.n,
                p.index,
                p.total.map_or("-".into(), |t| t.to_string()),
                u8::from(p.changed),
                p.hash,
                p.prev.map_or("-".into(), |h| format!("{h:x}")),
            ),
        }
    }
}

/// The page after a rowversion page that started at `start`: past the highest `ts`, or a
/// verified pass from the start when a row has no `ts` to page by.
pub(crate) fn after_ts(rows: &[Value], has_next: bool) -> Option<Cursor> {
    if rows.is_empty() || !has_next {
        return None;
    }
    let mut max = i64::MIN;
    for r in rows {
        match crate::tolerant::int(r.get("ts")) {
            Some(ts) => max = max.max(ts),
            None => {
                tracing::warn!("a Jushuitan row has no `ts`: reading the window by page instead");
                return Some(Cursor::Pass(Pass::first(1, None)));
            }
        }
    }
    Some(Cursor::Ts(max.saturating_add(1)))
}

/// The page after page `pass.index` of a verified pass, which returned `rows` (identified by
/// `identity`), `data_count` and `has_next`. `Err` when [`MAX_PASSES`] passes did not settle.
pub(crate) fn after_pass(
    mut pass: Pass,
    rows: &[Value],
    data_count: Option<i64>,
    has_next: bool,
    identity: impl Fn(&Value) -> (Option<String>, i64),
) -> Result<Option<Cursor>, String> {
    for r in rows {
        let (key, version) = identity(r);
        pass.hash ^= row_hash(key.as_deref().unwrap_or(""), version);
    }
    if pass.index == 1 {
        pass.total = data_count;
    } else if data_count != pass.total {
        pass.changed = true;
    }
    if has_next && !rows.is_empty() {
        pass.index += 1;
        return Ok(Some(Cursor::Pass(pass)));
    }
    // The pass is over. One page is one answer: nothing could shift within it.
    let settled = if pass.n == 1 && pass.index == 1 {
        true
    } else if pass.total.is_some() {
        !pass.changed
    } else {
        pass.prev == Some(pass.hash)
    };
    if settled {
        return Ok(None);
    }
    if pass.n >= MAX_PASSES {
        return Err(format!(
            "the window changed during each of {MAX_PASSES} passes; it is read again by the next run"
        ));
    }
    Ok(Some(Cursor::Pass(Pass::first(pass.n + 1, Some(pass.hash)))))
}

/// FNV-1a of a row's identity; XOR-combined, so a pass's hash ignores row order.
fn row_hash(key: &str, version: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(version.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// How one windowed endpoint is read.
pub(crate) struct Window<'a> {
    pub(crate) stream: &'a str,
    pub(crate) path: &'a str,
    pub(crate) list_key: &'a str,
    /// `biz` keys sent with every page (filters such as `date_type`).
    pub(crate) extra: Map<String, Value>,
    pub(crate) page_size: i64,
    /// Whether the endpoint pages by `start_ts`.
    pub(crate) rowversion: bool,
    pub(crate) identity: &'a (dyn Fn(&Value) -> (Option<String>, i64) + Sync),
}

/// One page of `[begin, end)` (the platform's window is inclusive, so the end sent is one
/// second earlier), starting where `token` says.
pub(crate) async fn window_page(
    client: &JstClient,
    w: Window<'_>,
    begin: NaiveDateTime,
    end: NaiveDateTime,
    token: Option<&str>,
) -> Result<RawPage, StreamError> {
    let cursor = Cursor::parse(token, w.rowversion);
    let mut biz = w.extra;
    let last = end - chrono::Duration::seconds(1);
    biz.insert(
        "modified_begin".into(),
        begin.format(FORMAT).to_string().into(),
    );
    biz.insert(
        "modified_end".into(),
        last.format(FORMAT).to_string().into(),
    );
    biz.insert("page_size".into(), w.page_size.into());
    match cursor {
        Cursor::Ts(ts) => {
            biz.insert("page_index".into(), 1.into());
            biz.insert("start_ts".into(), ts.into());
            biz.insert("is_get_total".into(), false.into());
        }
        Cursor::Pass(p) => {
            biz.insert("page_index".into(), p.index.into());
        }
    }
    let page = client
        .call(w.path, &Value::Object(biz).to_string(), w.list_key)
        .await
        .map_err(|e| stream_error(w.stream, e))?;
    let next = match cursor {
        Cursor::Ts(_) => after_ts(&page.rows, page.has_next),
        Cursor::Pass(p) => after_pass(p, &page.rows, page.data_count, page.has_next, w.identity)
            .map_err(|message| StreamError::Unavailable {
                stream: w.stream.into(),
                message: format!("{begin}..{end}: {message}"),
            })?,
    };
    Ok(RawPage {
        next: next.map(|c| c.encode()),
        rows: page.rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(v: &Value) -> (Option<String>, i64) {
        (crate::tolerant::id(v.get("id")), 0)
    }

    #[test]
    fn tokens_round_trip_and_unknown_tokens_restart() {
        for c in [
            Cursor::Ts(42),
            Cursor::start(false),
            Cursor::Pass(Pass {
                n: 3,
                index: 7,
                total: Some(187),
                changed: true,
                hash: 0xdead_beef,
                prev: Some(9),
            }),
        ] {
            assert_eq!(Cursor::parse(Some(&c.encode()), true), c);
        }
        assert_eq!(Cursor::parse(Some("2"), true), Cursor::Ts(0));
        assert_eq!(Cursor::parse(None, false), Cursor::start(false));
    }

    #[test]
    fn rowversion_pages_start_past_the_highest_ts() {
        let rows = [json!({"ts": 5}), json!({"ts": "9"}), json!({"ts": 7})];
        assert_eq!(after_ts(&rows, true), Some(Cursor::Ts(10)));
        assert_eq!(after_ts(&rows, false), None);
        assert_eq!(after_ts(&[], true), None);
        let no_ts = [json!({"ts": 5}), json!({"o_id": 1})];
        assert_eq!(after_ts(&no_ts, true), Some(Cursor::start(false)));
    }

    #[test]
    fn a_pass_whose_count_moved_is_followed_by_another() {
        let p1 = Pass::first(1, None);
        let rows = [json!({"id": 1}), json!({"id": 2})];
        let Some(Cursor::Pass(p2)) = after_pass(p1, &rows, Some(4), true, id).unwrap() else {
            panic!("page 2");
        };
        // Page 2 reports 3 rows: one left the window while it was read.
        let next = after_pass(p2, &rows[..1], Some(3), false, id).unwrap();
        let Some(Cursor::Pass(again)) = next else {
            panic!("a second pass, got {next:?}");
        };
        assert_eq!((again.n, again.index), (2, 1));
        // A pass with a steady count settles.
        let Some(Cursor::Pass(q)) = after_pass(again, &rows, Some(3), true, id).unwrap() else {
            panic!();
        };
        assert_eq!(after_pass(q, &rows[..1], Some(3), false, id).unwrap(), None);
    }

    #[test]
    fn without_counts_passes_repeat_until_two_agree_and_then_give_up() {
        let rows = [json!({"id": 1}), json!({"id": 2})];
        let one_page = after_pass(Pass::first(1, None), &rows, None, false, id).unwrap();
        assert_eq!(one_page, None, "a single page cannot shift");
        let mut c = Cursor::start(false);
        let mut passes = 0;
        // Every pass reads different rows: never settles.
        let result = loop {
            let Cursor::Pass(p) = c else { panic!() };
            let page = [json!({"id": p.n * 10 + p.index as u32})];
            let has_next = p.index == 1;
            match after_pass(p, &page, None, has_next, id) {
                Ok(Some(n)) => {
                    if let Cursor::Pass(np) = n
                        && np.index == 1
                    {
                        passes += 1;
                    }
                    c = n;
                }
                other => break other,
            }
        };
        assert!(result.is_err(), "{result:?}");
        assert_eq!(passes, MAX_PASSES - 1);
        // The same rows twice: settles after the second pass.
        let Some(Cursor::Pass(p)) =
            after_pass(Pass::first(1, None), &rows, None, true, id).unwrap()
        else {
            panic!()
        };
        let Some(Cursor::Pass(p2)) = after_pass(p, &[], None, false, id).unwrap() else {
            panic!("second pass")
        };
        let Some(Cursor::Pass(p2b)) = after_pass(p2, &rows, None, true, id).unwrap() else {
            panic!()
        };
        assert_eq!(after_pass(p2b, &[], None, false, id).unwrap(), None);
    }
}
