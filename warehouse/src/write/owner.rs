//! Who a write acts for. Every row carries its owner in the table's owner column (`source`);
//! a write names its owner, and may only write rows that name the same owner, and only
//! replace or delete rows that do.

use datafusion::prelude::{Expr, col, lit};

/// The owner a write acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// One writer: a connector's platform (`jushuitan`), an import (`import:bank.csv`),
    /// `recon`, `mart`, `demo`. Rows without an owner are given this one.
    Source(String),
    /// A family of owners sharing a prefix, written by one process in one commit: the entry
    /// forms' journal flush writes `form:payments`, `form:orders`, … together (`form:`).
    Family(String),
    /// One member of a family, writing as the family: rows naming no owner are given `name`,
    /// and the write may replace any family member's rows. Imports are `import:<file>`
    /// members of `import:`, so a corrected file replaces the rows of the file it corrects,
    /// but never a connector's or a form's.
    Member { family: String, name: String },
    /// Every owner. Only for the lake owner's own operations: `demo --reset` and the
    /// reconciliation fault injector, which plants faults in other writers' rows on purpose.
    Any,
}

impl Owner {
    /// A single owner.
    pub fn source(s: impl Into<String>) -> Self {
        Owner::Source(s.into())
    }

    /// Whether a row owned by `s` belongs to this owner.
    pub fn admits(&self, s: &str) -> bool {
        match self {
            Owner::Source(o) => o == s,
            Owner::Family(p) | Owner::Member { family: p, .. } => s.starts_with(p.as_str()),
            Owner::Any => true,
        }
    }

    /// SQL selecting rows whose `column` this owner does **not** admit (`None`: there are none).
    pub(crate) fn sql_not_admitted(&self, column: &str) -> Option<String> {
        match self {
            Owner::Source(o) => Some(format!("{column} <> {}", crate::sql_text(o))),
            Owner::Family(p) | Owner::Member { family: p, .. } => {
                Some(format!("NOT starts_with({column}, {})", crate::sql_text(p)))
            }
            Owner::Any => None,
        }
    }

    /// The owner given to rows that name none.
    pub(crate) fn default_value(&self) -> Option<&str> {
        match self {
            Owner::Source(o) | Owner::Member { name: o, .. } => Some(o),
            _ => None,
        }
    }

    /// A predicate over `column` selecting this owner's rows (`None`: every row).
    pub(crate) fn predicate(&self, column: &str) -> Option<Expr> {
        match self {
            Owner::Source(o) => Some(col(column).eq(lit(o.clone()))),
            Owner::Family(p) | Owner::Member { family: p, .. } => Some(
                datafusion::functions::expr_fn::starts_with(col(column), lit(p.clone())),
            ),
            Owner::Any => None,
        }
    }

    /// The owner as written in messages and commit metadata.
    pub fn label(&self) -> String {
        match self {
            Owner::Source(o) => o.clone(),
            Owner::Family(p) => format!("{p}*"),
            Owner::Member { name, .. } => name.clone(),
            Owner::Any => "*".into(),
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}
