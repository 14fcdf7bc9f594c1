//! Renders the catalog as the Markdown reference in `warehouse/SCHEMA.md`.

use std::fmt::Write;

use super::CATALOG;

/// The full SCHEMA.md text for the current catalog.
pub fn render_markdown() -> String {
    let mut s = String::from(
        "# Canonical schema\n\n\
         Generated from `warehouse/src/schema/tables.rs` by \
         `ZHONGTAI_BLESS=1 cargo test -p warehouse schema_md`; a test fails when it is stale.\n\n\
         Conventions: money is `decimal(18,2)` yuan (its raw integer is fen); instants are UTC \
         timestamps; business dates are `date` columns in Asia/Shanghai; every table has a primary \
         key and a `source` column naming the row's owner (the writer that wrote it); a writer \
         replaces or deletes only rows it owns. A child table names its parent column: a writer \
         re-reading a parent replaces that parent's children it owns, and leaves the others.\n\n",
    );
    s.push_str("| table | rows are | primary key |\n|---|---|---|\n");
    for t in CATALOG {
        let _ = writeln!(
            s,
            "| [{0}](#{0}) | {1} | {2} |",
            t.name,
            t.doc,
            t.primary_key.join(", ")
        );
    }
    for t in CATALOG {
        let _ = write!(
            s,
            "\n## {}\n\n{}\n\nPrimary key: `{}`.",
            t.name,
            t.doc,
            t.primary_key.join(", ")
        );
        if let Some(p) = t.parent {
            let _ = write!(s, " Child rows of parent `{p}`.");
        }
        if !t.partition_by.is_empty() {
            let _ = write!(s, " Partitioned by `{}`.", t.partition_by.join(", "));
        }
        s.push_str("\n\n| column | type | null | meaning |\n|---|---|---|---|\n");
        for c in t.columns {
            let null = if c.nullable { "yes" } else { "no" };
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} |",
                c.name,
                c.ty.doc_name(),
                null,
                c.doc
            );
        }
    }
    s
}
