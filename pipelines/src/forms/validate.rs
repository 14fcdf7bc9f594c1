//! Validation of a submission against its form: types, required fields, ranges, references.
//! Every problem is reported (up to a cap) with the field's path, e.g. `lines[1].sku_id`.

use serde_json::{Map, Value};

use super::fields::{Field, Ty, check};
use super::refs::Refs;
use super::{FieldError, FormDef};

/// At most this many problems are reported for one submission.
const MAX_ERRORS: usize = 20;
/// Lines per submission.
const MAX_LINES: usize = 500;

/// Checks `body` and returns the normalised record. `path_key` is the record id from the URL
/// of a correction; the body may repeat it but not contradict it.
pub fn validate(
    form: &FormDef,
    body: &Value,
    path_key: Option<&str>,
    refs: &Refs,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let Value::Object(obj) = body else {
        return Err(vec![FieldError::new(
            "(body)",
            format!(
                "must be a JSON object, got {}",
                super::fields::kind_of(body)
            ),
        )]);
    };
    let mut errs = Vec::new();
    let mut out = object(form.fields, obj, "", refs, &mut errs);
    if let Some(k) = path_key {
        match out.get(form.key).and_then(Value::as_str) {
            Some(given) if given != k => errs.push(FieldError::new(
                form.key,
                format!("is {given:?} but the URL names {k:?}"),
            )),
            _ => {
                if check(Ty::Id, &Value::from(k)).is_err() {
                    errs.push(FieldError::new(
                        form.key,
                        "the id in the URL is not a valid id",
                    ));
                }
                out.insert(form.key.to_string(), Value::from(k));
            }
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        errs.truncate(MAX_ERRORS);
        Err(errs)
    }
}

fn object(
    fields: &[Field],
    obj: &Map<String, Value>,
    prefix: &str,
    refs: &Refs,
    errs: &mut Vec<FieldError>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for k in obj.keys() {
        if !fields.iter().any(|f| f.name == k) {
            errs.push(FieldError::new(
                format!("{prefix}{k}"),
                "is not a field of this form",
            ));
        }
    }
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match obj.get(f.name) {
            None | Some(Value::Null) => {
                if f.required {
                    errs.push(FieldError::new(path, "is required"));
                }
            }
            Some(v) => match f.ty {
                Ty::Lines(sub) => {
                    let Value::Array(items) = v else {
                        errs.push(FieldError::new(path, "must be a list of lines"));
                        continue;
                    };
                    if items.is_empty() || items.len() > MAX_LINES {
                        errs.push(FieldError::new(
                            path,
                            format!("must have 1 to {MAX_LINES} lines, got {}", items.len()),
                        ));
                        continue;
                    }
                    let mut lines = Vec::with_capacity(items.len());
                    for (i, it) in items.iter().enumerate() {
                        let p = format!("{path}[{i}].");
                        match it {
                            Value::Object(o) => {
                                lines.push(Value::Object(object(sub, o, &p, refs, errs)))
                            }
                            _ => errs
                                .push(FieldError::new(format!("{path}[{i}]"), "must be an object")),
                        }
                    }
                    out.insert(f.name.to_string(), Value::Array(lines));
                }
                ty => match check(ty, v) {
                    Ok(norm) => {
                        if let (Some(kind), Some(id)) = (f.refs, norm.as_str())
                            && !refs.contains(kind, id)
                        {
                            errs.push(FieldError::new(
                                path,
                                format!("unknown {} {id:?}", kind.noun()),
                            ));
                            continue;
                        }
                        if let (Some(kind), Value::Array(ids)) = (f.refs, &norm)
                            && let Some(bad) = ids
                                .iter()
                                .filter_map(Value::as_str)
                                .find(|id| !refs.contains(kind, id))
                        {
                            errs.push(FieldError::new(
                                path,
                                format!("unknown {} {bad:?}", kind.noun()),
                            ));
                            continue;
                        }
                        out.insert(f.name.to_string(), norm);
                    }
                    Err(e) => errs.push(FieldError::new(path, e)),
                },
            },
        }
    }
    out
}
