//! What an imported column's values must satisfy: the entry forms' rules, reused.
//!
//! A table's **entry form** is the form that writes it field by field: a form (not a
//! correction) whose first table it is and whose fields hold the table's whole primary key
//! (`payments` for payments), or whose line fields do for its child table (`orders` lines for
//! order_items). Each of its fields named like a column gives that column the field's check
//! (`forms::fields::check`: id syntax, text length, ranges, money minimums, calendar years)
//! and, when the field refers to a kind of record, a reference to that kind's table.
//!
//! From the schema: a column documented as a list of words (`success | reversed`) must be one
//! of them — together with the entry form's words, which are never more than the schema's for
//! a column both define; every date and instant must fall in the years forms accept; and a
//! child table's parent column must name an existing parent (an order for a payment).

use std::collections::HashMap;
use std::sync::OnceLock;

use warehouse::schema::{CATALOG, ColType, TableDef};

use crate::forms::FormDef;
use crate::forms::defs::FORMS;
use crate::forms::fields::{Field, RefKind, Ty};

/// An id column other rows refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    pub table: &'static str,
    pub column: &'static str,
    /// The noun in messages (`order`, `shop`, `purchase order`).
    pub noun: &'static str,
}

/// One check of a column's non-null values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
    /// The entry form's field check, as the form applies it.
    Field(Ty),
    /// One of these words (the schema's and the entry form's).
    OneOf(&'static [&'static str]),
    /// A date or instant in the years forms accept.
    Calendar,
    /// A known id of `Target` (each comma-separated id when `list`).
    Ref { target: Target, list: bool },
}

/// The rules of one column of the table.
#[derive(Debug, Clone)]
pub(crate) struct ColumnRules {
    pub column: &'static str,
    /// Position in the table's (and the read batches') columns.
    pub index: usize,
    pub ty: ColType,
    /// Value checks first, references last: an id is looked up only once it is well formed.
    pub rules: Vec<Rule>,
}

/// The rules of every column of `def` that has any.
pub(crate) fn for_table(def: &'static TableDef) -> Vec<ColumnRules> {
    let entry = entry_form(def);
    let mut out = Vec::new();
    for (index, c) in def.columns.iter().enumerate() {
        if c.name == def.owner_column() {
            continue; // ownership is checked with the keys
        }
        let field = entry.and_then(|(form, fields)| {
            fields
                .iter()
                .find(|f| f.name == c.name && fits(f.ty, c.ty))
                .map(|f| (form, f))
        });
        let mut rules = Vec::new();
        let words = one_of(def.name, c.name);
        match field {
            Some((_, f)) if matches!(f.ty, Ty::Enum(_)) => {}
            Some((_, f)) => rules.push(Rule::Field(f.ty)),
            None if matches!(c.ty, ColType::Date | ColType::Timestamp) => {
                rules.push(Rule::Calendar)
            }
            None => {}
        }
        if let Some(words) = words {
            rules.push(Rule::OneOf(words));
        }
        let list = field.is_some_and(|(_, f)| matches!(f.ty, Ty::IdList));
        if let Some(kind) = field.and_then(|(_, f)| f.refs) {
            rules.push(Rule::Ref {
                target: target_of(kind),
                list,
            });
        } else if def.parent == Some(c.name)
            && let Some(target) = parent_target(def)
        {
            rules.push(Rule::Ref {
                target,
                list: false,
            });
        }
        if !rules.is_empty() {
            out.push(ColumnRules {
                column: c.name,
                index,
                ty: c.ty,
                rules,
            });
        }
    }
    out
}

/// The form that enters `def`'s rows field by field, with the fields it enters them from.
pub(crate) fn entry_form(def: &TableDef) -> Option<(&'static FormDef, &'static [Field])> {
    let holds_key = |fields: &[Field]| {
        def.primary_key
            .iter()
            .all(|k| fields.iter().any(|f| f.name == *k))
    };
    FORMS.iter().filter(|f| !f.corrects).find_map(|form| {
        if form.tables.first() == Some(&def.name) && holds_key(form.fields) {
            return Some((form, form.fields));
        }
        if !form.tables.iter().skip(1).any(|t| *t == def.name) {
            return None;
        }
        form.fields.iter().find_map(|f| match f.ty {
            Ty::Lines(sub) if holds_key(sub) => Some((form, sub)),
            _ => None,
        })
    })
}

/// Whether a form field of type `ty` describes a column of type `col`.
fn fits(ty: Ty, col: ColType) -> bool {
    matches!(
        (ty, col),
        (
            Ty::Id | Ty::Text { .. } | Ty::Enum(_) | Ty::Month | Ty::Attrs | Ty::IdList,
            ColType::Text
        ) | (Ty::Int { .. }, ColType::Int)
            | (Ty::Money { .. }, ColType::Money)
            | (Ty::Date, ColType::Date)
            | (Ty::Timestamp, ColType::Timestamp)
            | (Ty::Bool, ColType::Bool)
    )
}

/// The table and id column of each kind a form field may refer to (as `forms::refs` loads
/// them).
pub(crate) fn target_of(kind: RefKind) -> Target {
    let (table, column) = match kind {
        RefKind::Shop => ("shops", "shop_id"),
        RefKind::Sku => ("skus", "sku_id"),
        RefKind::Spu => ("spus", "spu_id"),
        RefKind::Order => ("orders", "order_id"),
        RefKind::Supplier => ("suppliers", "supplier_id"),
        RefKind::Warehouse => ("warehouses", "warehouse_id"),
        RefKind::Category => ("categories", "category_id"),
        RefKind::Brand => ("brands", "brand_id"),
        RefKind::Campaign => ("campaigns", "campaign_id"),
    };
    Target {
        table,
        column,
        noun: kind.noun(),
    }
}

/// A child table's parent: the table whose primary key is the parent column.
fn parent_target(def: &TableDef) -> Option<Target> {
    let column = def.parent?;
    let parent = CATALOG
        .iter()
        .find(|t| t.name != def.name && t.primary_key == [column])?;
    Some(Target {
        table: parent.name,
        column,
        noun: match parent.name {
            "orders" => RefKind::Order.noun(),
            "purchase_orders" => "purchase order",
            other => other,
        },
    })
}

/// Columns whose documented word list the lake's own writers go beyond, so it is not enforced
/// (none today; a test imports a whole demo world to keep it so).
const LISTS_NOT_ENFORCED: &[(&str, &str)] = &[];

/// The words a column must be one of: those its schema documentation lists, and those its
/// entry form's field allows.
pub(crate) fn one_of(table: &'static str, column: &'static str) -> Option<&'static [&'static str]> {
    static WORDS: OnceLock<HashMap<(&'static str, &'static str), Vec<&'static str>>> =
        OnceLock::new();
    WORDS
        .get_or_init(|| {
            let mut m = HashMap::new();
            for def in CATALOG {
                let entry = entry_form(def);
                for c in def.columns {
                    if LISTS_NOT_ENFORCED.contains(&(def.name, c.name)) {
                        continue;
                    }
                    let mut words = schema_words(c.doc).unwrap_or_default();
                    let form_words = entry.and_then(|(_, fields)| {
                        fields.iter().find_map(|f| match f.ty {
                            Ty::Enum(w) if f.name == c.name && c.ty == ColType::Text => Some(w),
                            _ => None,
                        })
                    });
                    for w in form_words.unwrap_or_default() {
                        if !words.contains(w) {
                            words.push(w);
                        }
                    }
                    if !words.is_empty() {
                        m.insert((def.name, c.name), words);
                    }
                }
            }
            m
        })
        .get(&(table, column))
        .map(Vec::as_slice)
}

/// The words of a column documented as a list (`pending | success | closed`, a word may carry
/// a remark in brackets); `None` for any other documentation.
pub(crate) fn schema_words(doc: &'static str) -> Option<Vec<&'static str>> {
    let parts: Vec<&'static str> = doc.split(" | ").collect();
    if parts.len() < 2 {
        return None;
    }
    parts
        .into_iter()
        .map(|p| {
            let word = match p.split_once(" (") {
                Some((w, remark)) if remark.ends_with(')') => w,
                Some(_) => return None,
                None => p,
            };
            let is_word = !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            is_word.then_some(word)
        })
        .collect()
}
