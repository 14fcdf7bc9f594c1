//! Ids and the names of writers.
//!
//! An id is 1..=64 of `A-Z a-z 0-9 _ - . :`. Every lake row names the writer that owns it in
//! its `source` column (see `warehouse::write`): a connector by its source (`jushuitan`,
//! `top`...), a file import as `import:<file name>`, an entry form as `form:<form name>`, the
//! marts as `mart`, the reconciliation queue as `reconcile`. The prefixes end in `:` so a
//! family of writers (every import, every form) is one prefix match.

/// The owner family of file imports; one import is `import:<file name>`.
pub const IMPORT_OWNERS: &str = "import:";
/// The owner family of entry forms; one form is `form:<form name>`.
pub const FORM_OWNERS: &str = "form:";
/// The owner of mart rows.
pub const MART_OWNER: &str = "mart";
/// The owner of reconciliation runs, breaks and their events.
pub const RECON_OWNER: &str = "reconcile";

/// The owner name of an import of `file`.
pub fn import_owner(file: &str) -> String {
    format!("{IMPORT_OWNERS}{file}")
}

/// The owner name of entry form `form`.
pub fn form_owner(form: &str) -> String {
    format!("{FORM_OWNERS}{form}")
}

/// The Delta app id of the entry-form journal's watermark.
pub const FORMS_APP_ID: &str = "zhongtai.forms";

/// The Delta app id under which a connector's stream cursor is stored.
pub fn sync_cursor_app_id(connector: &str, stream: &str) -> String {
    format!("zhongtai.sync.{connector}.{stream}")
}

/// Why text is not an id (`None` when it is one).
pub fn id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() || s.len() > 64 {
        return Some("must be 1 to 64 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Some("may only contain letters, digits and _ - . :");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_of_a_family_share_its_prefix() {
        assert!(import_owner("bank.csv").starts_with(IMPORT_OWNERS));
        assert!(form_owner("payments").starts_with(FORM_OWNERS));
        assert!(!MART_OWNER.starts_with(FORM_OWNERS) && !RECON_OWNER.starts_with(IMPORT_OWNERS));
        assert_eq!(
            sync_cursor_app_id("jst", "orders"),
            "zhongtai.sync.jst.orders"
        );
    }

    #[test]
    fn ids_are_bounded_and_plain() {
        assert_eq!(id_problem("A-1.b_c:2"), None);
        assert!(id_problem("").is_some());
        assert!(id_problem("a b").is_some());
        assert!(id_problem("订单").is_some());
        assert!(id_problem(&"x".repeat(65)).is_some());
    }
}
