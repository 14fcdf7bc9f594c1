//! The simulator's data: one collection of documents per endpoint (orders, refunds, …), each
//! document kept as its serialized JSON text plus the few fields the gateway filters on.
//!
//! A collection indexes its documents by key, by `modified` (and key) and by `ts`, its own
//! rowversion. Changing a document moves it to a new `modified` and a new, higher `ts`, as in
//! the ERP, so incremental readers see it again. A text is stored LZ4-compressed against the
//! collection's first document as dictionary (documents of one endpoint share their keys and
//! most values, so an 850-byte order keeps about a quarter of that). Pages are served as the
//! texts (the handler concatenates them): no page parses or re-serialises a document. The total of a window is counted once
//! per distinct window (until the collection changes), and paging through a window resumes
//! where the previous page stopped instead of skipping from the start.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::tolerant;

/// Collection names (inventory has one collection per warehouse, see [`inventory`]).
pub const ORDERS: &str = "orders";
pub const REFUNDS: &str = "refunds";
pub const REFUND_PAYS: &str = "refund_pays";
pub const OUTBOUND: &str = "outbound";
pub const LOGISTICS: &str = "logistics";
pub const PURCHASES: &str = "purchases";
pub const SKUS: &str = "skus";
pub const SHOPS: &str = "shops";
pub const WAREHOUSES: &str = "warehouses";

/// The inventory collection of warehouse `wms_co_id` (`0`: the all-warehouse totals).
pub fn inventory(wms_co_id: i64) -> String {
    format!("inventory/{wms_co_id}")
}

/// The field that identifies a document of `collection`.
pub fn key_field(collection: &str) -> &'static str {
    match collection {
        REFUNDS => "as_id",
        REFUND_PAYS => "pay_id",
        OUTBOUND => "io_id",
        PURCHASES => "po_id",
        SHOPS => "shop_id",
        WAREHOUSES => "wms_co_id",
        SKUS => "sku_id",
        c if c.starts_with("inventory/") => "sku_id",
        _ => "o_id",
    }
}

/// Refund documents carry `ts` as a string (per the SDK); all others as a number.
fn ts_is_text(collection: &str) -> bool {
    collection == REFUNDS
}

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Wall-clock seconds of a `yyyy-MM-dd HH:mm:ss` text (no zone: only compared).
pub(crate) fn secs(text: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(text.trim(), TIME_FORMAT)
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// An already-serialized document for [`SimWorld::load`]. `json` is one JSON object; the
/// world adds its rowversion `ts` (a `ts` already in the text is superseded).
#[derive(Debug, Clone)]
pub struct SimDoc {
    pub key: String,
    /// `yyyy-MM-dd HH:mm:ss`; `None` for master data without one.
    pub modified: Option<String>,
    pub so_id: Option<String>,
    pub json: String,
}

#[derive(Debug)]
struct Slot {
    /// The text, LZ4-compressed with the collection's dictionary.
    packed: Box<[u8]>,
    len: u32,
    modified: i64,
    ts: i64,
    so_id: Option<Box<str>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct WindowCache {
    total: usize,
    /// `(skip, position)`: the page starting at `skip` starts at `position`.
    resume: Option<(usize, (i64, u32))>,
}

/// A window's `(ts, slot)` pairs in `ts` order.
type TsOrder = Arc<Vec<(i64, u32)>>;

#[derive(Debug, Default)]
struct Docs {
    /// The first document's text: what every other text is compressed against.
    dict: Vec<u8>,
    slots: Vec<Slot>,
    by_key: HashMap<Box<str>, u32>,
    by_modified: BTreeSet<(i64, u32)>,
    by_ts: BTreeMap<i64, u32>,
    next_ts: i64,
    windows: Mutex<HashMap<(i64, i64), WindowCache>>,
    /// A window's documents in `ts` order, for `start_ts` paging within a window.
    ts_windows: Mutex<HashMap<(i64, i64), TsOrder>>,
}

impl Docs {
    fn put(&mut self, key: &str, modified: i64, so_id: Option<&str>, text: String, ts: i64) {
        if self.dict.is_empty() {
            self.dict = text.as_bytes().to_vec();
        }
        let slot = Slot {
            packed: lz4_flex::block::compress_with_dict(text.as_bytes(), &self.dict).into(),
            len: u32::try_from(text.len()).expect("a document under 4 GB"),
            modified,
            ts,
            so_id: so_id.map(Into::into),
        };
        let i = match self.by_key.get(key) {
            Some(&i) => {
                let old = &self.slots[i as usize];
                self.by_modified.remove(&(old.modified, i));
                self.by_ts.remove(&old.ts);
                self.slots[i as usize] = slot;
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).expect("fewer than 4G documents");
                self.slots.push(slot);
                self.by_key.insert(key.into(), i);
                i
            }
        };
        self.by_modified.insert((modified, i));
        self.by_ts.insert(ts, i);
        self.windows_mut().clear();
        self.ts_windows_mut().clear();
    }

    fn ts_windows_mut(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), TsOrder>> {
        self.ts_windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Documents with `begin <= modified <= end` and `ts >= start_ts`, in `ts` order: one page
    /// and whether more follow. The window's ts order is built once and kept until a change.
    fn window_since_ts(
        &self,
        begin: i64,
        end: i64,
        start_ts: i64,
        skip: usize,
        take: usize,
    ) -> (Vec<String>, bool) {
        if end < begin {
            return (Vec::new(), false);
        }
        let cached = self.ts_windows_mut().get(&(begin, end)).cloned();
        let order = match cached {
            Some(o) => o,
            None => {
                let mut v: Vec<(i64, u32)> = self
                    .by_modified
                    .range((begin, 0)..=(end, u32::MAX))
                    .map(|&(_, i)| (self.slots[i as usize].ts, i))
                    .collect();
                v.sort_unstable();
                let v = Arc::new(v);
                self.ts_windows_mut().insert((begin, end), Arc::clone(&v));
                v
            }
        };
        let from = order.partition_point(|&(ts, _)| ts < start_ts) + skip;
        let page = order
            .iter()
            .skip(from)
            .take(take)
            .map(|&(_, i)| self.text(i))
            .collect();
        (page, from + take < order.len())
    }

    fn windows_mut(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), WindowCache>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn text(&self, i: u32) -> String {
        self.unpack(&self.slots[i as usize])
    }

    fn unpack(&self, s: &Slot) -> String {
        let bytes = lz4_flex::block::decompress_with_dict(&s.packed, s.len as usize, &self.dict)
            .expect("the world decompresses what it compressed");
        String::from_utf8(bytes).expect("stored texts are UTF-8")
    }

    fn window(&self, begin: i64, end: i64, skip: usize, take: usize) -> (Vec<String>, usize) {
        if end < begin {
            return (Vec::new(), 0);
        }
        let cached = self.windows_mut().get(&(begin, end)).copied();
        let total = match cached {
            Some(c) => c.total,
            None => self.by_modified.range((begin, 0)..=(end, u32::MAX)).count(),
        };
        let from = match cached.and_then(|c| c.resume) {
            Some((at, pos)) if at == skip => self.by_modified.range(pos..=(end, u32::MAX)),
            _ => {
                let mut r = self.by_modified.range((begin, 0)..=(end, u32::MAX));
                if skip > 0 {
                    r.nth(skip - 1);
                }
                r
            }
        };
        let mut it = from.peekable();
        let page: Vec<String> = it.by_ref().take(take).map(|&(_, i)| self.text(i)).collect();
        let resume = it.peek().map(|&&p| (skip + page.len(), p));
        self.windows_mut()
            .insert((begin, end), WindowCache { total, resume });
        (page, total)
    }

    fn since_ts(&self, start_ts: i64, skip: usize, take: usize) -> (Vec<String>, bool) {
        let mut it = self.by_ts.range(start_ts..).skip(skip);
        let page = it.by_ref().take(take).map(|(_, &i)| self.text(i)).collect();
        (page, it.next().is_some())
    }
}

/// The documents a simulator serves.
#[derive(Debug, Default)]
pub struct SimWorld {
    inner: RwLock<HashMap<String, Docs>>,
}

fn with_ts(json: &str, ts: i64, as_text: bool) -> Option<String> {
    let body = json.trim_end().strip_suffix('}')?;
    let sep = if body.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    Some(if as_text {
        format!("{body}{sep}\"ts\":\"{ts}\"}}")
    } else {
        format!("{body}{sep}\"ts\":{ts}}}")
    })
}

impl SimWorld {
    /// A world holding `orders` (each needs `o_id` and `modified`; `ts` is assigned).
    pub fn new(orders: impl IntoIterator<Item = Value>) -> Self {
        let w = SimWorld::default();
        for o in orders {
            w.upsert(o);
        }
        w
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Docs>> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Docs>> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Loads already-serialized documents into `collection` (fast: nothing is parsed).
    /// Returns how many were stored; a document that is not a JSON object text is skipped.
    pub fn load(&self, collection: &str, docs: impl IntoIterator<Item = SimDoc>) -> usize {
        let mut w = self.write();
        let c = w.entry(collection.to_string()).or_default();
        let as_text = ts_is_text(collection);
        let mut n = 0;
        for d in docs {
            let modified = match d.modified.as_deref().map(secs) {
                None => i64::MIN,
                Some(Some(m)) => m,
                Some(None) => continue,
            };
            let ts = c.next_ts + 1;
            let Some(text) = with_ts(&d.json, ts, as_text) else {
                continue;
            };
            c.next_ts = ts;
            c.put(&d.key, modified, d.so_id.as_deref(), text, ts);
            n += 1;
        }
        n
    }

    /// Inserts or replaces an order, giving it the next rowversion.
    pub fn upsert(&self, order: Value) {
        self.upsert_in(ORDERS, order);
    }

    /// Inserts or replaces a document of `collection` (it needs the collection's key field;
    /// `modified` when it has one), giving it the next rowversion. Returns whether it was stored.
    pub fn upsert_in(&self, collection: &str, mut doc: Value) -> bool {
        let Some(key) = tolerant::id(doc.get(key_field(collection))) else {
            return false;
        };
        let modified = match tolerant::text(doc.get("modified")) {
            None => i64::MIN,
            Some(m) => match secs(&m) {
                Some(s) => s,
                None => return false,
            },
        };
        let so_id = tolerant::text(doc.get("so_id"));
        let mut w = self.write();
        let c = w.entry(collection.to_string()).or_default();
        c.next_ts += 1;
        let ts = c.next_ts;
        doc["ts"] = if ts_is_text(collection) {
            Value::from(ts.to_string())
        } else {
            Value::from(ts)
        };
        c.put(&key, modified, so_id.as_deref(), doc.to_string(), ts);
        true
    }

    /// Changes an order later in its life (e.g. it was refunded): `edit` is applied, then the
    /// order gets `modified` and a new rowversion. Returns whether the order exists.
    pub fn modify(&self, o_id: i64, modified: &str, edit: impl FnOnce(&mut Value)) -> bool {
        self.modify_in(ORDERS, &o_id.to_string(), modified, edit)
    }

    /// [`SimWorld::modify`] for any collection, by key.
    pub fn modify_in(
        &self,
        collection: &str,
        key: &str,
        modified: &str,
        edit: impl FnOnce(&mut Value),
    ) -> bool {
        let Some(text) = self
            .read()
            .get(collection)
            .and_then(|c| c.by_key.get(key).map(|&i| c.text(i)))
        else {
            return false;
        };
        let Ok(mut doc) = serde_json::from_str::<Value>(&text) else {
            return false;
        };
        edit(&mut doc);
        doc["modified"] = Value::from(modified);
        self.upsert_in(collection, doc)
    }

    /// Number of orders.
    pub fn len(&self) -> usize {
        self.len_of(ORDERS)
    }

    /// Number of documents in `collection`.
    pub fn len_of(&self, collection: &str) -> usize {
        self.read().get(collection).map_or(0, |c| c.slots.len())
    }

    /// Whether the world has no orders.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All orders (for tests comparing a sync with the world).
    pub fn all(&self) -> Vec<Value> {
        self.all_in(ORDERS)
    }

    /// All documents of `collection`, parsed (for tests).
    pub fn all_in(&self, collection: &str) -> Vec<Value> {
        self.read().get(collection).map_or_else(Vec::new, |c| {
            c.slots
                .iter()
                .filter_map(|s| serde_json::from_str(&c.unpack(s)).ok())
                .collect()
        })
    }

    /// Orders with `begin <= modified <= end` in (modified, arrival) order: one page and the total.
    pub fn by_window(
        &self,
        begin: &str,
        end: &str,
        skip: usize,
        take: usize,
    ) -> (Vec<Value>, usize) {
        let (texts, total) = self.window_texts(ORDERS, begin, end, skip, take);
        (parse_all(&texts), total)
    }

    /// Documents of `collection` with `begin <= modified <= end`: one page of texts and the total.
    pub fn window_texts(
        &self,
        collection: &str,
        begin: &str,
        end: &str,
        skip: usize,
        take: usize,
    ) -> (Vec<String>, usize) {
        let (Some(b), Some(e)) = (secs(begin), secs(end)) else {
            return (Vec::new(), 0);
        };
        self.read()
            .get(collection)
            .map_or((Vec::new(), 0), |c| c.window(b, e, skip, take))
    }

    /// Orders with `ts >= start_ts` in ts order: one page and whether more follow.
    pub fn by_ts(&self, start_ts: i64, skip: usize, take: usize) -> (Vec<Value>, bool) {
        let (texts, more) = self.ts_texts(ORDERS, start_ts, skip, take);
        (parse_all(&texts), more)
    }

    /// Documents of `collection` with `ts >= start_ts` in ts order: one page and whether more follow.
    pub fn ts_texts(
        &self,
        collection: &str,
        start_ts: i64,
        skip: usize,
        take: usize,
    ) -> (Vec<String>, bool) {
        self.read()
            .get(collection)
            .map_or((Vec::new(), false), |c| c.since_ts(start_ts, skip, take))
    }

    /// Documents of `collection` with `begin <= modified <= end` and `ts >= start_ts`, in `ts`
    /// order (`start_ts` paging within a window): one page of texts and whether more follow.
    pub fn window_ts_texts(
        &self,
        collection: &str,
        (begin, end): (&str, &str),
        start_ts: i64,
        skip: usize,
        take: usize,
    ) -> (Vec<String>, bool) {
        let (Some(b), Some(e)) = (secs(begin), secs(end)) else {
            return (Vec::new(), false);
        };
        self.read()
            .get(collection)
            .map_or((Vec::new(), false), |c| {
                c.window_since_ts(b, e, start_ts, skip, take)
            })
    }

    /// Orders by their online order numbers (`so_ids`) or ERP ids (`o_ids`).
    pub fn by_ids(&self, so_ids: &[String], o_ids: &[i64]) -> Vec<Value> {
        let keys: Vec<String> = o_ids.iter().map(i64::to_string).collect();
        parse_all(&self.id_texts(ORDERS, so_ids, &keys))
    }

    /// Documents of `collection` by key, then by `so_id`.
    pub fn id_texts(&self, collection: &str, so_ids: &[String], keys: &[String]) -> Vec<String> {
        let r = self.read();
        let Some(c) = r.get(collection) else {
            return Vec::new();
        };
        let mut out: Vec<String> = keys
            .iter()
            .filter_map(|k| c.by_key.get(k.as_str()).map(|&i| c.text(i)))
            .collect();
        if !so_ids.is_empty() {
            out.extend(
                c.slots
                    .iter()
                    .filter(|s| {
                        s.so_id
                            .as_deref()
                            .is_some_and(|so| so_ids.iter().any(|x| x == so))
                    })
                    .map(|s| c.unpack(s)),
            );
        }
        out
    }
}

fn parse_all(texts: &[String]) -> Vec<Value> {
    texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(i: i64, modified: &str) -> SimDoc {
        SimDoc {
            key: i.to_string(),
            modified: Some(modified.into()),
            so_id: Some(format!("S{i}")),
            json: json!({"o_id": i, "so_id": format!("S{i}"), "modified": modified}).to_string(),
        }
    }

    #[test]
    fn windows_page_in_order_with_one_total_and_resume_after_changes() {
        let w = SimWorld::default();
        let docs = (1..=10).map(|i| doc(i, &format!("2026-11-0{} 10:00:00", 1 + i % 3)));
        assert_eq!(w.load(ORDERS, docs), 10);
        let (a, total) = w.by_window("2026-11-01 00:00:00", "2026-11-02 23:59:59", 0, 4);
        assert_eq!(total, 7, "days 1 and 2 hold ids 3,6,9 and 1,4,7,10");
        let (b, total2) = w.by_window("2026-11-01 00:00:00", "2026-11-02 23:59:59", 4, 4);
        assert_eq!(total2, 7);
        let ids: Vec<i64> = a
            .iter()
            .chain(&b)
            .map(|o| o["o_id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![3, 6, 9, 1, 4, 7, 10]);
        // A page asked for again (not following the previous one) is still exact.
        let (again, _) = w.by_window("2026-11-01 00:00:00", "2026-11-02 23:59:59", 2, 2);
        let again: Vec<i64> = again.iter().map(|o| o["o_id"].as_i64().unwrap()).collect();
        assert_eq!(again, vec![9, 1]);
        // A change invalidates the cached total and moves the order out.
        assert!(w.modify(4, "2026-11-05 00:00:00", |o| o["x"] = json!(1)));
        let (_, total3) = w.by_window("2026-11-01 00:00:00", "2026-11-02 23:59:59", 0, 4);
        assert_eq!(total3, 6);
        let moved = w.by_ids(&["S4".into()], &[]);
        assert_eq!(
            (moved[0]["x"].clone(), moved[0]["ts"].clone()),
            (json!(1), json!(11))
        );
    }

    #[test]
    fn loaded_texts_get_a_rowversion_and_refund_ts_is_text() {
        let w = SimWorld::default();
        w.load(ORDERS, [doc(1, "2026-11-01 00:00:00")]);
        let (page, more) = w.by_ts(0, 0, 10);
        assert_eq!((page[0]["ts"].clone(), more), (json!(1), false));
        assert!(w.upsert_in(
            REFUNDS,
            json!({"as_id": 9, "modified": "2026-11-01 00:00:00"})
        ));
        assert_eq!(w.all_in(REFUNDS)[0]["ts"], json!("1"));
        assert!(
            !w.upsert_in(REFUNDS, json!({"modified": "2026-11-01 00:00:00"})),
            "no key"
        );
        assert_eq!(w.len_of(REFUNDS), 1);
    }
}
