//! The canonical e-commerce schema: every table the lake holds, as data.
//!
//! A [`TableDef`] names a table, its primary key, its partition columns and its columns. The
//! Arrow schema of each table is derived from it, and `warehouse/SCHEMA.md` is rendered from it
//! (a test fails when the file is stale), so code and documentation cannot drift apart.
//!
//! Conventions (one each, everywhere):
//! - **Money** is `Decimal128(18, 2)`: yuan with two decimals, whose raw integer is fen.
//! - **Instants** are `Timestamp(Microsecond, "UTC")`.
//! - **Business dates** are `Date32` columns in Asia/Shanghai, materialised at write time
//!   (`order_date`, `pay_date`, ...), so daily and monthly SQL never depends on time-zone casts.
//! - Every table has a primary key and a `source` column naming the connector or entry form
//!   that wrote the row: its **owner**. Writers replace and delete only rows they own
//!   (`crate::write` spells out the rules).
//! - A child table (an order's lines, a PO's lines) names its **parent** column: a writer that
//!   re-reads a parent replaces that parent's children, and only its own.

mod render;
mod tables;
mod views;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

pub use render::render_markdown;
pub use tables::CATALOG;
pub use views::{VIEWS, ViewDef, view};

/// The time zone business dates are computed in.
pub use vocab::BUSINESS_TZ;
/// Precision and scale of every money column.
pub const MONEY_PRECISION: u8 = 18;
/// Two decimals: the raw `i128` of a money value is fen.
pub const MONEY_SCALE: i8 = 2;
/// The column every table carries to say who wrote a row.
pub const SOURCE_COLUMN: &str = "source";

/// The logical type of a canonical column; each maps to exactly one Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// Free text or an identifier (`Utf8`).
    Text,
    /// A whole number (`Int64`), e.g. quantities (signed where a movement can go out).
    Int,
    /// Money in yuan, `Decimal128(18, 2)`.
    Money,
    /// A yes/no flag.
    Bool,
    /// An instant, `Timestamp(Microsecond, "UTC")`.
    Timestamp,
    /// A calendar date in Asia/Shanghai, `Date32`.
    Date,
}

impl ColType {
    /// The Arrow type this logical type is stored as.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColType::Text => DataType::Utf8,
            ColType::Int => DataType::Int64,
            ColType::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            ColType::Bool => DataType::Boolean,
            ColType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ColType::Date => DataType::Date32,
        }
    }

    /// The name used in SCHEMA.md.
    pub fn doc_name(self) -> &'static str {
        match self {
            ColType::Text => "text",
            ColType::Int => "int64",
            ColType::Money => "money (decimal 18,2)",
            ColType::Bool => "bool",
            ColType::Timestamp => "timestamp (UTC instant)",
            ColType::Date => "date (Asia/Shanghai)",
        }
    }
}

/// One column of a canonical table.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    pub doc: &'static str,
}

/// One canonical table.
#[derive(Debug, Clone, Copy)]
pub struct TableDef {
    pub name: &'static str,
    pub doc: &'static str,
    /// Columns that identify a row; upserts merge on them (compared as typed tuples).
    pub primary_key: &'static [&'static str],
    /// For a child table: the column naming its parent (`order_items.order_id`). A writer
    /// replacing a parent's children deletes its own rows of that parent the input lacks.
    pub parent: Option<&'static str>,
    /// Delta partition columns (empty for small tables).
    pub partition_by: &'static [&'static str],
    pub columns: &'static [ColumnDef],
}

impl TableDef {
    /// The Arrow schema of the table, in column order.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name, c.ty.arrow_type(), c.nullable))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The column that names a row's owner (the writer it came from).
    pub fn owner_column(&self) -> &'static str {
        SOURCE_COLUMN
    }

    /// The column with this name, if any.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Looks a canonical table up by name.
pub fn table(name: &str) -> Option<&'static TableDef> {
    CATALOG.iter().find(|t| t.name == name)
}

/// Shorthand constructors used by the catalog.
pub(crate) const fn col(
    name: &'static str,
    ty: ColType,
    nullable: bool,
    doc: &'static str,
) -> ColumnDef {
    ColumnDef {
        name,
        ty,
        nullable,
        doc,
    }
}

#[cfg(test)]
mod tests;
