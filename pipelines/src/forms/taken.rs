//! Keys other writers hold, so a submission that names one is refused at once (422) instead
//! of being journaled and then kept out of the lake at the flush.
//!
//! A form never overwrites another owner's row (`warehouse::write`, `ForeignRows::Keep`):
//! the flush is the guarantee. This cache only makes the refusal visible to the person
//! typing the id. Per table it holds the single-column primary keys of rows whose owner is
//! not an entry form, loaded the first time a submission supplies its own id for that table,
//! and reloaded after flushes when the table's version moved (at most every
//! [`RELOAD_AFTER`], so a busy form does not rescan the table every second). A key a
//! connector wrote since the last load is still kept out by the flush, and logged.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde_json::Value;
use warehouse::{Warehouse, WarehouseError};

use super::FieldError;
use super::build::Built;
use super::lookup::Row;

/// The shortest time between two loads of one table.
pub const RELOAD_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Loaded {
    version: u64,
    at: Instant,
    /// key -> owner (`source`).
    owners: HashMap<String, String>,
}

/// Keys held by writers other than entry forms, per table.
#[derive(Debug, Default)]
pub struct TakenKeys {
    tables: RwLock<HashMap<&'static str, Loaded>>,
}

impl TakenKeys {
    /// The non-form owner of `key` in `table`, loading the table's keys if this is the first
    /// question about it.
    pub async fn owner(
        &self,
        wh: &Warehouse,
        table: &'static str,
        key: &str,
    ) -> Result<Option<String>, WarehouseError> {
        let known = {
            let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
            t.get(table).map(|l| l.owners.get(key).cloned())
        };
        if let Some(owner) = known {
            return Ok(owner);
        }
        self.load(wh, table).await?;
        let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
        Ok(t.get(table).and_then(|l| l.owners.get(key).cloned()))
    }

    /// Reloads the tables asked about whose version moved, each at most every
    /// [`RELOAD_AFTER`].
    pub async fn refresh(&self, wh: &Warehouse) -> Result<(), WarehouseError> {
        let due: Vec<(&'static str, u64)> = {
            let t = self.tables.read().unwrap_or_else(|e| e.into_inner());
            t.iter()
                .filter(|(_, l)| l.at.elapsed() >= RELOAD_AFTER)
                .map(|(n, l)| (*n, l.version))
                .collect()
        };
        for (table, seen) in due {
            if wh.version(table).await? != seen {
                self.load(wh, table).await?;
            }
        }
        Ok(())
    }

    async fn load(&self, wh: &Warehouse, table: &'static str) -> Result<(), WarehouseError> {
        let def = wh.def(table)?;
        let version = wh.version(table).await?;
        let mut owners = HashMap::new();
        if let [pk] = def.primary_key {
            let ctx = wh.session_of(&[table]).await?;
            let batches = ctx
                .sql(&format!(
                    "SELECT CAST({pk} AS VARCHAR) AS k, source FROM {table} WHERE source NOT LIKE 'form:%'"
                ))
                .await?
                .collect()
                .await?;
            for b in &batches {
                let cast = |i: usize| {
                    arrow::compute::cast(b.column(i), &DataType::Utf8).map_err(|source| {
                        WarehouseError::Arrow {
                            op: "reading the keys other writers hold",
                            source,
                        }
                    })
                };
                let (k, s) = (cast(0)?, cast(1)?);
                let (k, s) = (k.as_string::<i32>(), s.as_string::<i32>());
                for i in 0..b.num_rows() {
                    if k.is_valid(i) {
                        owners.insert(k.value(i).to_string(), s.value(i).to_string());
                    }
                }
            }
        }
        self.tables
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                table,
                Loaded {
                    version,
                    at: Instant::now(),
                    owners,
                },
            );
        Ok(())
    }
}

/// Every text value of a JSON document (what a submitter typed), to tell supplied ids from
/// generated ones.
fn texts<'a>(v: &'a Value, out: &mut HashSet<&'a str>) {
    match v {
        Value::String(s) => {
            out.insert(s);
        }
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        Value::Object(m) => m.values().for_each(|x| texts(x, out)),
        _ => {}
    }
}

/// Refuses a submission whose rows would take a key another writer holds: every built row
/// whose single-column primary key the submitter supplied (generated ids are the form's own)
/// is checked. Correcting forms supersede other owners' rows by design and are not checked.
pub async fn check(
    taken: &TakenKeys,
    wh: &Warehouse,
    body: &Value,
    built: &Built,
) -> Result<Result<(), Vec<FieldError>>, WarehouseError> {
    let mut typed = HashSet::new();
    texts(body, &mut typed);
    let mut errs = Vec::new();
    for (table, rows) in &built.tables {
        let def = wh.def(table)?;
        let [pk] = def.primary_key else { continue };
        for r in rows {
            let Some(key) = supplied(r, pk, &typed) else {
                continue;
            };
            if let Some(owner) = taken.owner(wh, table, key).await? {
                errs.push(FieldError::new(
                    *pk,
                    format!(
                        "{key:?} is already a {table} row of {owner}; an entry form does not overwrite another writer's row (choose another id, or omit it to have one generated)"
                    ),
                ));
            }
        }
    }
    Ok(if errs.is_empty() { Ok(()) } else { Err(errs) })
}

fn supplied<'a>(r: &'a Row, pk: &str, typed: &HashSet<&str>) -> Option<&'a str> {
    r.get(pk)
        .and_then(Value::as_str)
        .filter(|k| typed.contains(k))
}
