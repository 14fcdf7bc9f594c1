//! A document to export: a title, the filters it was made for, branding, and sections of
//! rows (with an optional chart). Dashboards and reports both become a [`Doc`]; the HTML,
//! PDF and Excel writers read only this, so the three exports show the same cells.
//!
//! Cells keep their type: money is the exact decimal text with its scale (never a float until
//! a writer must produce one), dates stay dates, counts stay integers.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use chrono::NaiveDate;

use crate::DashError;
use crate::def::Chart;

/// Company name, logo and colours of a private deployment, shown on every export.
#[derive(Clone, PartialEq, Eq)]
pub struct Branding {
    pub company: String,
    /// `#rrggbb`.
    pub primary_color: String,
    pub accent_color: String,
    /// PNG or JPEG bytes of the logo.
    pub logo: Option<Vec<u8>>,
}

impl std::fmt::Debug for Branding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Branding")
            .field("company", &self.company)
            .field("primary_color", &self.primary_color)
            .field("accent_color", &self.accent_color)
            .field("logo_bytes", &self.logo.as_ref().map(Vec::len))
            .finish()
    }
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            company: "zhongtai 中台".into(),
            primary_color: "#1f4e79".into(),
            accent_color: "#e07b00".into(),
            logo: None,
        }
    }
}

impl Branding {
    /// (primary, accent), each replaced by the default when it is not a `#rgb`/`#rrggbb`
    /// colour: they are written into CSS and Typst source.
    pub fn colors(&self) -> (String, String) {
        let d = Branding::default();
        let pick = |c: &str, fallback: String| {
            if is_color(c) { c.to_string() } else { fallback }
        };
        (
            pick(&self.primary_color, d.primary_color),
            pick(&self.accent_color, d.accent_color),
        )
    }
}

/// Whether `s` is a `#rgb` / `#rrggbb` colour (branding values are written into CSS and Typst).
pub fn is_color(s: &str) -> bool {
    let h = s.strip_prefix('#').unwrap_or("");
    (h.len() == 3 || h.len() == 6) && h.chars().all(|c| c.is_ascii_hexdigit())
}

/// What a document is for.
#[derive(Debug, Clone)]
pub struct Doc {
    pub title: String,
    /// Period, shops, status: one line each, shown under the title.
    pub filters: Vec<String>,
    /// When it was made (Asia/Shanghai), shown in the footer.
    pub generated: String,
    pub branding: Branding,
    pub sections: Vec<Section>,
}

/// One block of a document.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub chart: Option<Chart>,
    /// The Vega-Lite spec (HTML draws it; PDF draws its own bars from the table).
    pub spec: Option<serde_json::Value>,
    pub table: Table,
}

/// A column's kind decides its format in every writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    /// A decimal with this many places (money: 2).
    Decimal(i8),
    Float,
    Date,
    /// A UTC instant, shown in Asia/Shanghai.
    Timestamp,
    Bool,
}

impl Kind {
    pub fn numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Decimal(_) | Kind::Float)
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    /// Exact decimal text (`-12.30`).
    Decimal(String),
    Float(f64),
    Date(NaiveDate),
    /// Shanghai wall time.
    Timestamp(chrono::NaiveDateTime),
    Bool(bool),
}

impl Cell {
    /// The cell as text, the way every writer shows it.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) | Cell::Decimal(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => format!("{f}"),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Timestamp(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Cell::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        }
    }

    /// The cell as a number, for charts and spreadsheets (money to 15 significant digits).
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Decimal(s) => s.parse().ok(),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Rows with named, typed columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<(String, Kind)>,
    pub rows: Vec<Vec<Cell>>,
}

fn kind_of(t: &DataType) -> Kind {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => Kind::Int,
        DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => Kind::Decimal(*s),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
        DataType::Date32 | DataType::Date64 => Kind::Date,
        DataType::Timestamp(_, _) => Kind::Timestamp,
        DataType::Boolean => Kind::Bool,
        _ => Kind::Text,
    }
}

fn cell(section: &str, name: &str, kind: Kind, a: &ArrayRef, i: usize) -> Result<Cell, DashError> {
    if a.is_null(i) {
        return Ok(Cell::Null);
    }
    let err = |reason: String| DashError::Cell {
        panel: section.to_string(),
        column: name.to_string(),
        reason,
    };
    let text = || arrow::util::display::array_value_to_string(a, i).map_err(|e| err(e.to_string()));
    Ok(match kind {
        Kind::Int => {
            let c = arrow::compute::cast(&a.slice(i, 1), &DataType::Int64)
                .map_err(|e| err(e.to_string()))?;
            Cell::Int(c.as_primitive::<Int64Type>().value(0))
        }
        Kind::Decimal(_) => Cell::Decimal(text()?),
        Kind::Float => {
            let t = text()?;
            Cell::Float(t.parse().map_err(|e| err(format!("{t:?}: {e}")))?)
        }
        Kind::Date => {
            let c = arrow::compute::cast(&a.slice(i, 1), &DataType::Date32)
                .map_err(|e| err(e.to_string()))?;
            let days = c.as_primitive::<Date32Type>().value(0);
            Cell::Date(
                NaiveDate::from_ymd_opt(1970, 1, 1)
                    .and_then(|d| d.checked_add_signed(chrono::Duration::days(days.into())))
                    .ok_or_else(|| err(format!("day {days} is out of range")))?,
            )
        }
        Kind::Timestamp => {
            let t = text()?;
            let t = t.trim_end_matches('Z');
            let utc = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|e| err(format!("{t:?}: {e}")))?;
            // Business time is Asia/Shanghai (UTC+8, no daylight saving).
            Cell::Timestamp(utc + chrono::Duration::hours(8))
        }
        Kind::Bool => Cell::Bool(a.as_boolean().value(i)),
        Kind::Text => Cell::Text(text()?),
    })
}

impl Table {
    /// The rows of `batches`; `section` names the block in errors.
    pub fn from_batches(section: &str, batches: &[RecordBatch]) -> Result<Table, DashError> {
        let mut t = Table::default();
        let Some(first) = batches.first() else {
            return Ok(t);
        };
        t.columns = first
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), kind_of(f.data_type())))
            .collect();
        for b in batches {
            for i in 0..b.num_rows() {
                let mut row = Vec::with_capacity(t.columns.len());
                for ((name, kind), a) in t.columns.iter().zip(b.columns()) {
                    row.push(cell(section, name, *kind, a, i)?);
                }
                t.rows.push(row);
            }
        }
        Ok(t)
    }

    /// The index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(n, _)| n == name)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        Date32Array, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    #[test]
    fn cells_keep_their_types_and_money_its_exact_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("shop", DataType::Utf8, true),
            Field::new("day", DataType::Date32, false),
            Field::new("n", DataType::Int64, false),
            Field::new("amount", DataType::Decimal128(18, 2), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("天猫旗舰店"), None])),
                Arc::new(Date32Array::from(vec![20_000, 20_001])),
                Arc::new(Int64Array::from(vec![3, -4])),
                Arc::new(
                    Decimal128Array::from(vec![Some(123_456_789_012_345_678), Some(-5)])
                        .with_precision_and_scale(18, 2)
                        .expect("decimal"),
                ),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![0, 16 * 3_600_000_000])
                        .with_timezone("UTC"),
                ),
            ],
        )
        .expect("batch");
        let t = Table::from_batches("s", &[b]).expect("table");
        assert_eq!(t.columns[3].1, Kind::Decimal(2));
        assert_eq!(t.rows[0][0], Cell::Text("天猫旗舰店".into()));
        assert_eq!(t.rows[1][0], Cell::Null);
        assert_eq!(t.rows[0][1].text(), "2024-10-04");
        assert_eq!(t.rows[1][2], Cell::Int(-4));
        assert_eq!(t.rows[0][3], Cell::Decimal("1234567890123456.78".into()));
        assert_eq!(t.rows[1][3].text(), "-0.05");
        // 16:00 UTC is midnight of the next Shanghai day.
        assert_eq!(t.rows[1][4].text(), "1970-01-02 00:00:00");
    }

    #[test]
    fn colours_are_checked_before_they_reach_css() {
        assert!(is_color("#1f4e79") && is_color("#abc"));
        for bad in ["red", "#12345", "#zzzzzz", "#fff;}", ""] {
            assert!(!is_color(bad), "{bad}");
        }
    }
}
