//! The JSON Schema of a form, for the UI to render and for the OpenAPI document. Generated
//! from the same definitions validation uses, so they cannot disagree.

use serde_json::{Map, Value, json};

use super::FormDef;
use super::fields::{Field, Ty};

/// The JSON Schema (2020-12 vocabulary, as OpenAPI 3.1 uses) of a submission.
pub fn form_schema(form: &FormDef) -> Value {
    let mut s = object(form.fields);
    if let Value::Object(m) = &mut s {
        m.insert("title".into(), Value::from(form.title));
        m.insert(
            "description".into(),
            Value::from(format!("{} ({})", form.doc, form.title_zh)),
        );
    }
    s
}

fn object(fields: &[Field]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in fields {
        let mut p = field(f.ty);
        if let Value::Object(m) = &mut p {
            let mut doc = f.doc.to_string();
            if let Some(r) = f.refs {
                doc.push_str(&format!(" (must be a known {})", r.noun()));
                m.insert("x-references".into(), Value::from(r.noun()));
            }
            m.insert("description".into(), Value::from(doc));
            if let Some((en, zh)) = super::labels::label(f.name) {
                m.insert("title".into(), Value::from(en));
                m.insert("x-title-zh".into(), Value::from(zh));
            }
        }
        props.insert(f.name.into(), p);
        if f.required {
            required.push(Value::from(f.name));
        }
    }
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": props,
    })
}

fn field(ty: Ty) -> Value {
    match ty {
        Ty::Id => json!({"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}),
        Ty::Text { max } => {
            json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S"})
        }
        Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::Money { min } => json!({
            "type": "string",
            "pattern": if min >= 0 { "^[0-9]{1,13}(\\.[0-9]{1,2})?$" } else { "^-?[0-9]{1,13}(\\.[0-9]{1,2})?$" },
            "x-minimum-fen": min,
            "examples": ["12.30"],
        }),
        Ty::Date => json!({"type": "string", "format": "date", "examples": ["2026-11-11"]}),
        Ty::Timestamp => {
            json!({"type": "string", "format": "date-time", "examples": ["2026-11-11T08:30:00+08:00"]})
        }
        Ty::Bool => json!({"type": "boolean"}),
        Ty::Enum(words) => json!({"type": "string", "enum": words}),
        Ty::Month => json!({"type": "string", "pattern": "^20[0-9]{2}-(0[1-9]|1[0-2])$"}),
        Ty::Attrs => {
            json!({"type": "object", "maxProperties": 50, "additionalProperties": {"type": "string", "maxLength": 200}})
        }
        Ty::IdList => {
            json!({"type": "array", "maxItems": 100, "items": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}})
        }
        Ty::Lines(sub) => {
            let mut o = object(sub);
            if let Value::Object(m) = &mut o {
                m.remove("description");
            }
            json!({"type": "array", "minItems": 1, "maxItems": 500, "items": o})
        }
    }
}
