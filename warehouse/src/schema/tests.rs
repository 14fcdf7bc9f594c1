use super::*;

#[test]
fn every_table_has_a_primary_key_and_source_and_known_columns() {
    let mut names = std::collections::HashSet::new();
    for t in CATALOG {
        assert!(names.insert(t.name), "table {} defined twice", t.name);
        assert!(!t.primary_key.is_empty(), "{} has no primary key", t.name);
        for k in t.primary_key.iter().chain(t.partition_by) {
            let c = t
                .column(k)
                .unwrap_or_else(|| panic!("{}: key column {k} missing", t.name));
            assert!(!c.nullable, "{}: key column {k} must be NOT NULL", t.name);
        }
        if let Some(p) = t.parent {
            let c = t
                .column(p)
                .unwrap_or_else(|| panic!("{}: parent column {p} missing", t.name));
            assert!(
                !c.nullable,
                "{}: parent column {p} must be NOT NULL",
                t.name
            );
            assert!(
                !t.primary_key.contains(&p) || t.primary_key.len() > 1,
                "{}: the parent alone cannot be the key",
                t.name
            );
        }
        assert_eq!(t.owner_column(), SOURCE_COLUMN);
        let src = t
            .column(SOURCE_COLUMN)
            .unwrap_or_else(|| panic!("{} has no source", t.name));
        assert!(!src.nullable);
        let mut cols = std::collections::HashSet::new();
        for c in t.columns {
            assert!(cols.insert(c.name), "{}.{} defined twice", t.name, c.name);
            assert!(!c.doc.is_empty(), "{}.{} has no doc", t.name, c.name);
            assert_ne!(c.name, "at", "`at` is a keyword in DuckDB");
        }
    }
}

#[test]
fn money_columns_are_decimal_never_float() {
    for t in CATALOG {
        for f in t.arrow_schema().fields() {
            assert!(
                !matches!(f.data_type(), DataType::Float32 | DataType::Float64),
                "{}.{} is a float",
                t.name,
                f.name()
            );
        }
    }
    let orders = table("orders").expect("orders table");
    assert_eq!(
        orders.column("pay_amount").map(|c| c.ty),
        Some(ColType::Money)
    );
}

#[test]
fn schema_md_is_generated_from_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/SCHEMA.md");
    let expected = render_markdown();
    if std::env::var_os("ZHONGTAI_BLESS").is_some() {
        std::fs::write(path, &expected).expect("write SCHEMA.md");
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "warehouse/SCHEMA.md is stale: run `ZHONGTAI_BLESS=1 cargo test -p warehouse schema_md`"
    );
}
