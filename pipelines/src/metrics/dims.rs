//! Dimensions: the names users group and filter by, and the column each names in a metric's
//! relation (and in the result).
//!
//! The well-known names map to the canonical key columns (`shop` → `shop_id`, `sku` →
//! `sku_id`, ...), so results of different metrics join on the same columns. Any other
//! dimension a definition declares is a column of the same name.

/// Well-known dimensions and their columns.
pub const KNOWN: &[(&str, &str)] = &[
    ("shop", "shop_id"),
    ("platform", "platform"),
    ("sku", "sku_id"),
    ("spu", "spu_id"),
    ("category", "category_id"),
    ("brand", "brand_id"),
    ("style", "style"),
    ("warehouse", "warehouse_id"),
    ("carrier", "carrier"),
    ("channel", "channel"),
    ("province", "province"),
    ("department", "department"),
    ("supplier", "supplier_id"),
    ("reason", "reason"),
];

/// The dimension that shop filters and shop scopes act on.
pub const SHOP: &str = "shop";

/// The column a dimension names in relations and results.
pub fn column(dimension: &str) -> &str {
    KNOWN
        .iter()
        .find(|(d, _)| *d == dimension)
        .map_or(dimension, |(_, c)| c)
}

/// Whether `s` is a plain lower-case SQL identifier (letters, digits, `_`, not starting with a
/// digit): the only shape accepted for metric and dimension names, which are spliced into SQL.
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
