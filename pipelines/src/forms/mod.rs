//! Entry forms: the operational writes no platform API provides (manual payments, COD
//! remittances, expenses, salaries, stock counts, purchasing, products, ...).
//!
//! A form is data ([`FormDef`]): its fields with types and references, the table rows it
//! produces, its key and the shop it belongs to. From one definition come the JSON schema the
//! UI renders (`schema`), the validation that names the field and line (`validate`), and the
//! canonical rows a submission writes (`build`). Submissions are journaled durably by the API
//! (`api::store::journal`) and reach the lake in batches through [`flush`], the only code
//! that writes form rows.
//!
//! Codemap: `fields` (types and value checks), `defs` (every form), `labels` (field labels in
//! English and Chinese), `validate`, `schema`,
//! `build` (rows each form writes, with the lookups it needs), `refs` (known ids), `taken`
//! (keys other writers hold: refused at submission), `flush`
//! (journal entries into the lake, owned by `form:<name>`).

pub mod build;
pub mod defs;
pub mod fields;
pub mod flush;
pub mod labels;
pub mod lookup;
pub mod refs;
pub mod schema;
pub mod taken;
pub mod validate;

use fields::Field;
use serde::Serialize;

/// Who may write a form (see the permission matrix in docs/api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Money forms: finance and admin.
    Finance,
    /// Orders, returns, stock, purchasing: operators and admin.
    Operations,
    /// Products, categories, brands, suppliers, campaigns: operators and admin.
    Catalog,
}

/// One entry form.
#[derive(Debug)]
pub struct FormDef {
    /// URL name, e.g. `payments`.
    pub name: &'static str,
    pub title: &'static str,
    pub title_zh: &'static str,
    pub doc: &'static str,
    pub group: Group,
    /// Rows belong to no shop (catalog, stock, purchasing, salaries): a shop-scoped caller with
    /// the form's permission may still write them. Other forms' rows carry a shop the caller
    /// must be scoped to.
    pub company_wide: bool,
    /// The rows derive from current state (a count's difference from the book quantity):
    /// submissions are built and journaled one at a time, with flushes held off, so two cannot
    /// read the same state and none sees a row twice or not at all.
    pub serial: bool,
    /// The form corrects rows other writers own (an order re-priced, a return case marked
    /// received): its rows supersede theirs and the form owns them from then on. Other forms
    /// never overwrite another owner's row (see `warehouse::write`).
    pub corrects: bool,
    /// The field holding the record's id; generated with `id_prefix` when a create omits it.
    pub key: &'static str,
    pub id_prefix: &'static str,
    pub fields: &'static [Field],
    /// Canonical tables this form writes.
    pub tables: &'static [&'static str],
    /// How a submission becomes rows: a required field, so a form without a builder does not
    /// compile, and the build's `match` is exhaustive, so a builder without rows does not either.
    pub builder: build::Builder,
}

impl FormDef {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A reason a submission is refused, naming the field (a JSON-pointer-like path such as
/// `lines[2].qty`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Looks a form up by its URL name.
pub fn find(name: &str) -> Option<&'static FormDef> {
    defs::FORMS.iter().find(|f| f.name == name)
}
