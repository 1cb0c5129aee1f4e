//! JSONPath evaluation with the result shapes Nuts (PaesslerAG/jsonpath) produces.
//!
//! Every expression is parsed and validated by `serde_json_path` (RFC 9535). Nuts distinguishes
//! two kinds of expressions, and so do we:
//!
//! * *singular* paths (`$`, `.name`, `['name']`, `[index]` only) yield one value or nothing; a
//!   missing member, an index out of range, a member lookup on an array, an index on an object and
//!   an explicit `null` all count as "no value" (Nuts swallows those lookup errors);
//! * any other path (wildcards, slices, unions, filters, `..`) yields the *list* of all matches,
//!   possibly empty, and that list is what the filter sees (an empty list is still a value).
//!
//! Singular paths are evaluated by a small walker (they are by far the most common and must be
//! fast); the rest go through `serde_json_path`.

use serde_json::Value;
use serde_json_path::JsonPath;

/// One step of a singular path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Member(String),
    Index(i64),
}

#[derive(Debug, Clone)]
enum Kind {
    Singular(Vec<Step>),
    General(JsonPath),
}

/// A compiled JSONPath expression.
#[derive(Debug, Clone)]
pub struct FieldPath {
    source: String,
    kind: Kind,
}

/// What a path yields on a document.
#[derive(Debug, Clone, PartialEq)]
pub enum PathValue<'a> {
    /// No value (Nuts: `nil`).
    Missing,
    /// A singular path's value (never `null`).
    One(&'a Value),
    /// A non-singular path's matches, in document order.
    Many(Vec<&'a Value>),
}

impl PathValue<'_> {
    /// The value as owned JSON (`Many` becomes an array); `None` when missing.
    pub fn to_json(&self) -> Option<Value> {
        match self {
            PathValue::Missing => None,
            PathValue::One(v) => Some((*v).clone()),
            PathValue::Many(vs) => Some(Value::Array(vs.iter().map(|v| (*v).clone()).collect())),
        }
    }
}

impl FieldPath {
    /// Parses and validates an expression.
    pub fn parse(source: &str) -> Result<Self, String> {
        let general = JsonPath::parse(source).map_err(|e| e.to_string())?;
        let kind = match parse_singular(source) {
            Some(steps) => Kind::Singular(steps),
            None => Kind::General(general),
        };
        Ok(FieldPath {
            source: source.to_string(),
            kind,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the path yields at most one value (see the module docs).
    pub fn is_singular(&self) -> bool {
        matches!(self.kind, Kind::Singular(_))
    }

    /// Evaluates the path.
    pub fn eval<'a>(&self, doc: &'a Value) -> PathValue<'a> {
        match &self.kind {
            Kind::Singular(steps) => {
                let mut cur = doc;
                for step in steps {
                    let next = match (step, cur) {
                        (Step::Member(name), Value::Object(map)) => map.get(name),
                        (Step::Index(i), Value::Array(items)) => {
                            let len = items.len() as i64;
                            let idx = if *i < 0 { len + i } else { *i };
                            if (0..len).contains(&idx) {
                                items.get(idx as usize)
                            } else {
                                None
                            }
                        }
                        _ => None,
                    };
                    match next {
                        Some(v) => cur = v,
                        None => return PathValue::Missing,
                    }
                }
                if cur.is_null() {
                    PathValue::Missing
                } else {
                    PathValue::One(cur)
                }
            }
            Kind::General(path) => PathValue::Many(path.query(doc).all()),
        }
    }
}

/// Recognises RFC 9535 singular queries; `None` for anything else.
fn parse_singular(s: &str) -> Option<Vec<Step>> {
    let b = s.as_bytes();
    if b.first() != Some(&b'$') {
        return None;
    }
    let mut steps = Vec::new();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                let start = i;
                while i < b.len() {
                    let c = s[i..].chars().next()?;
                    let ok = c == '_'
                        || c.is_ascii_alphabetic()
                        || !c.is_ascii()
                        || (i > start && c.is_ascii_digit());
                    if !ok {
                        break;
                    }
                    i += c.len_utf8();
                }
                if i == start {
                    return None; // `..`, `.*` or junk
                }
                steps.push(Step::Member(s[start..i].to_string()));
            }
            b'[' => {
                i += 1;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                let quote = *b.get(i)?;
                if quote == b'\'' || quote == b'"' {
                    let start = i + 1;
                    let mut j = start;
                    let mut name = String::new();
                    while j < b.len() && b[j] != quote {
                        if b[j] == b'\\' {
                            // Escapes: let serde_json_path handle them via the general route.
                            return None;
                        }
                        let c = s[j..].chars().next()?;
                        name.push(c);
                        j += c.len_utf8();
                    }
                    if j >= b.len() {
                        return None;
                    }
                    i = j + 1;
                    steps.push(Step::Member(name));
                } else {
                    let start = i;
                    if b.get(i) == Some(&b'-') {
                        i += 1;
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    let n: i64 = s[start..i].parse().ok()?;
                    steps.push(Step::Index(n));
                }
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                if b.get(i) != Some(&b']') {
                    return None;
                }
                i += 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn singular_paths_follow_nuts_lookup_rules() {
        let doc = json!({"credentialSubject": {"organization": {"name": "Care"}}, "n": null,
                         "type": ["A", "B"], "list": [{"x": 1}]});
        let p = FieldPath::parse("$.credentialSubject.organization.name").unwrap();
        assert!(p.is_singular());
        assert_eq!(p.eval(&doc), PathValue::One(&json!("Care")));
        // index on an object, member on an array, null, out of range: no value
        for path in [
            "$.credentialSubject[0].organization",
            "$.type.x",
            "$.n",
            "$.type[5]",
        ] {
            let p = FieldPath::parse(path).unwrap();
            assert_eq!(p.eval(&doc), PathValue::Missing, "{path}");
        }
        let p = FieldPath::parse("$['type'][-1]").unwrap();
        assert_eq!(p.eval(&doc), PathValue::One(&json!("B")));
    }

    #[test]
    fn general_paths_yield_lists() {
        let doc = json!({"list": [{"x": 1}, {"y": 2}, {"x": 3}]});
        let p = FieldPath::parse("$.list[*].x").unwrap();
        assert!(!p.is_singular());
        assert_eq!(p.eval(&doc), PathValue::Many(vec![&json!(1), &json!(3)]));
        let p = FieldPath::parse("$.list[*].z").unwrap();
        assert_eq!(p.eval(&doc), PathValue::Many(vec![]));
    }

    #[test]
    fn invalid_paths_are_refused() {
        assert!(FieldPath::parse("credentialSubject.x").is_err());
        assert!(FieldPath::parse("$.a[").is_err());
    }
}
