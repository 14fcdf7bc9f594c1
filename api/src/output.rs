//! Renders query results as an aligned table, CSV or JSON (an array of objects). Money keeps
//! its decimals exactly in every format. CSV text cells that a spreadsheet would run as a
//! formula are escaped ([`csv_safe`]).

use std::io::Write;

use arrow::record_batch::RecordBatch;
use clap::ValueEnum;

/// Output formats of `query` and `tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

/// Writes `batches` to `out` in `format`.
pub fn write_batches(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            writeln!(
                out,
                "{}",
                arrow::util::pretty::pretty_format_batches(batches)?
            )?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for b in batches {
                w.write(&csv_safe(b)?)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            let bytes = w.into_inner();
            out.write_all(if bytes.is_empty() { b"[]" } else { &bytes })?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Whether a spreadsheet would read `text` as a formula (OWASP "CSV injection": a leading
/// `=`, `+`, `-`, `@`, tab or carriage return).
fn formula_like(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The batch with every text cell a spreadsheet would run as a formula prefixed with `'`, so
/// it opens as the text it is. Numbers and money are not text columns and stay as they are.
pub fn csv_safe(b: &RecordBatch) -> Result<RecordBatch, arrow::error::ArrowError> {
    use arrow::array::{Array, ArrayRef, AsArray, StringArray};
    use arrow::datatypes::DataType;
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(b.num_columns());
    let mut fields = Vec::with_capacity(b.num_columns());
    for (col, field) in b.columns().iter().zip(b.schema().fields()) {
        let is_text = matches!(
            col.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        if !is_text {
            columns.push(col.clone());
            fields.push(field.clone());
            continue;
        }
        let text = arrow::compute::cast(col, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        if !text.iter().flatten().any(formula_like) {
            columns.push(col.clone());
            fields.push(field.clone());
            continue;
        }
        let escaped: StringArray = text
            .iter()
            .map(|v| {
                v.map(|t| {
                    if formula_like(t) {
                        format!("'{t}")
                    } else {
                        t.to_string()
                    }
                })
            })
            .collect();
        fields.push(std::sync::Arc::new(
            field.as_ref().clone().with_data_type(DataType::Utf8),
        ));
        columns.push(std::sync::Arc::new(escaped) as ArrayRef);
    }
    RecordBatch::try_new(
        std::sync::Arc::new(arrow::datatypes::Schema::new(fields)),
        columns,
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Decimal128Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn formula_text_is_escaped_and_numbers_are_not() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("note", DataType::Utf8, true),
            Field::new("amount", DataType::Decimal128(18, 2), false),
        ]));
        let notes = StringArray::from(vec![
            Some("=HYPERLINK(\"http://x\")"),
            Some("+1"),
            Some("-2"),
            Some("@SUM(A1)"),
            Some("\tx"),
            Some("plain"),
            None,
        ]);
        let amounts = Decimal128Array::from(vec![-500, 1, 2, 3, 4, 5, 6])
            .with_precision_and_scale(18, 2)
            .expect("decimal");
        let b = RecordBatch::try_new(schema, vec![Arc::new(notes), Arc::new(amounts)]).expect("b");
        let mut out = Vec::new();
        write_batches(&mut out, &[b], Format::Csv).expect("csv");
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\",-5.00");
        assert_eq!(lines[2], "'+1,0.01");
        assert_eq!(lines[3], "'-2,0.02");
        assert_eq!(lines[4], "'@SUM(A1),0.03");
        assert!(
            lines[5].starts_with("'\tx") || lines[5].starts_with("\"'\tx"),
            "{}",
            lines[5]
        );
        assert_eq!(lines[6], "plain,0.05");
        assert_eq!(lines[7], ",0.06");
    }
}
