//! Dotted JSON paths: `data.orders`, `items[0].sku`, `$parent.id`.
//!
//! A path is a list of object keys and array indexes. `$parent.` at the start means "in the
//! stream record" when reading a child record (see [`Row`]). Nothing more is needed for the
//! envelopes and records platforms send, so nothing more is supported.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonPath {
    /// Read from the parent (stream) record rather than the row's own record.
    pub parent: bool,
    pub steps: Vec<Step>,
    text: String,
}

impl JsonPath {
    /// Parses `a.b[2].c` (and `$parent.a`); an error says what is wrong with the text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (parent, rest) = match text.strip_prefix("$parent.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if rest.is_empty() {
            return Err(format!("the path `{text}` is empty"));
        }
        let mut steps = Vec::new();
        for part in rest.split('.') {
            let (key, mut indexes) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && indexes.is_empty() {
                return Err(format!("the path `{text}` has an empty step"));
            }
            if !key.is_empty() {
                if key.starts_with('$') {
                    return Err(format!(
                        "the path `{text}`: only `$parent.` may start a path"
                    ));
                }
                steps.push(Step::Key(key.to_string()));
            }
            while !indexes.is_empty() {
                let close = indexes
                    .find(']')
                    .ok_or_else(|| format!("the path `{text}` has an unclosed `[`"))?;
                let n: usize = indexes[1..close].parse().map_err(|_| {
                    format!("the path `{text}` has a bad index `{}`", &indexes[..=close])
                })?;
                steps.push(Step::Index(n));
                indexes = &indexes[close + 1..];
                if !indexes.is_empty() && !indexes.starts_with('[') {
                    return Err(format!("the path `{text}` has text after `]`"));
                }
            }
        }
        Ok(Self {
            parent,
            steps,
            text: text.to_string(),
        })
    }

    /// The path as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `root` (ignoring `parent`), if any.
    pub(crate) fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut v = root;
        for s in &self.steps {
            v = match s {
                Step::Key(k) => v.get(k)?,
                Step::Index(i) => v.get(*i)?,
            };
        }
        Some(v)
    }
}

/// A row being read: its own record and, for a child row, the stream record it came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'v> {
    pub record: &'v Value,
    pub parent: &'v Value,
}

impl<'v> Row<'v> {
    /// The value at `path` in the record or, for `$parent.` paths, in the parent.
    pub(crate) fn get(&self, path: &JsonPath) -> Option<&'v Value> {
        path.get(if path.parent {
            self.parent
        } else {
            self.record
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_indexes_and_parent_paths() {
        let v = json!({"data": {"orders": [{"id": 7, "items": [{"sku": "A"}, {"sku": "B"}]}]}});
        let p = JsonPath::parse("data.orders[0].items[1].sku").expect("parses");
        assert_eq!(p.get(&v), Some(&json!("B")));
        assert_eq!(JsonPath::parse("data.orders[3]").expect("p").get(&v), None);
        let parent = JsonPath::parse("$parent.id").expect("parses");
        assert!(parent.parent);
        let order = &v["data"]["orders"][0];
        let row = Row {
            record: &order["items"][0],
            parent: order,
        };
        assert_eq!(row.get(&parent), Some(&json!(7)));
        assert_eq!(
            row.get(&JsonPath::parse("sku").expect("p")),
            Some(&json!("A"))
        );
    }

    #[test]
    fn malformed_paths_are_refused_with_the_text() {
        for bad in ["", "a..b", "a[x]", "a[1", "a[1]b", "$root.a", "$parent."] {
            let e = JsonPath::parse(bad).expect_err(bad);
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }
}
