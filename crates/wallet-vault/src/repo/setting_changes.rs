//! What a settings write changed, for the activity log: "Setting changed" alone does not tell
//! an auditor (or the administrator after a profile refresh) what is different now.
//!
//! Each change is a path of names into the JSON value with its value before and after (either
//! missing when something was added or removed). Lists of records keyed by a well-known field
//! (an authorization server's URL, an employee's identifier) are followed by that key, lists of
//! plain values are compared as sets, so reordering changes nothing.

use serde_json::{json, Map, Value};

/// At most this many changes are recorded for one write (a whole new profile would otherwise
/// copy itself into the log); `more` says how many were left out.
const MAX_CHANGES: usize = 40;
/// Longest value text kept for a change.
const MAX_VALUE_CHARS: usize = 200;
/// Fields that name a record in a list.
const KEY_FIELDS: &[&str] = &["authorization_server", "identifier", "id", "name"];

/// The changes from `before` (`None`: the setting did not exist) to `after`:
/// `{"changes": [{"path": [...], "before": .., "after": ..}], "more": n}`.
pub(crate) fn describe(before: Option<&Value>, after: &Value) -> Value {
    let mut out = Vec::new();
    walk(&mut Vec::new(), before, Some(after), &mut out);
    let more = out.len().saturating_sub(MAX_CHANGES);
    out.truncate(MAX_CHANGES);
    let mut v = json!({ "changes": out });
    if more > 0 {
        v["more"] = json!(more);
    }
    v
}

fn walk(path: &mut Vec<String>, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<Value>) {
    match (a, b) {
        (Some(x), Some(y)) if x == y => {}
        (None, None) => {}
        (Some(Value::Object(x)), Some(Value::Object(y))) => objects(path, Some(x), Some(y), out),
        (Some(Value::Object(x)), None) => objects(path, Some(x), None, out),
        (None, Some(Value::Object(y))) => objects(path, None, Some(y), out),
        (Some(Value::Array(x)), Some(Value::Array(y))) => arrays(path, x, y, out),
        (Some(Value::Array(x)), None) => arrays(path, x, &[], out),
        (None, Some(Value::Array(y))) => arrays(path, &[], y, out),
        (a, b) => out.push(change(path, a, b)),
    }
}

fn objects(
    path: &mut Vec<String>,
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
    out: &mut Vec<Value>,
) {
    let mut keys: Vec<&String> = a.into_iter().chain(b).flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        path.push(k.clone());
        walk(
            path,
            a.and_then(|m| m.get(k)),
            b.and_then(|m| m.get(k)),
            out,
        );
        path.pop();
    }
}

/// The field every element of `items` is keyed by, when there is one.
fn key_field(items: &[&Value]) -> Option<&'static str> {
    KEY_FIELDS.iter().copied().find(|f| {
        items
            .iter()
            .all(|v| v.get(f).is_some_and(|k| k.is_string()))
    })
}

fn arrays(path: &mut Vec<String>, a: &[Value], b: &[Value], out: &mut Vec<Value>) {
    let all: Vec<&Value> = a.iter().chain(b).collect();
    if !all.is_empty() && all.iter().all(|v| v.is_object()) {
        if let Some(field) = key_field(&all) {
            let key = |v: &Value| v[field].as_str().unwrap_or_default().to_owned();
            let mut keys: Vec<String> = all.iter().map(|v| key(v)).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let find = |list: &[Value]| list.iter().find(|v| key(v) == k).cloned();
                let (x, y) = (find(a), find(b));
                path.push(k);
                // The key itself is the path: leave it out of the record's fields.
                let strip = |v: Option<Value>| {
                    v.map(|mut v| {
                        if let Some(m) = v.as_object_mut() {
                            m.remove(field);
                        }
                        v
                    })
                };
                let (x, y) = (strip(x), strip(y));
                match (&x, &y) {
                    // A record added or removed with nothing but its key.
                    (None, Some(v)) | (Some(v), None)
                        if v.as_object().is_some_and(Map::is_empty) =>
                    {
                        out.push(change(
                            path,
                            x.as_ref().map(|_| &Value::Bool(true)),
                            y.as_ref().map(|_| &Value::Bool(true)),
                        ))
                    }
                    _ => walk(path, x.as_ref(), y.as_ref(), out),
                }
                path.pop();
            }
            return;
        }
    }
    if all.iter().all(|v| !v.is_object() && !v.is_array()) {
        // Plain values: what was removed, then what was added.
        for v in a.iter().filter(|v| !b.contains(v)) {
            out.push(change(path, Some(v), None));
        }
        for v in b.iter().filter(|v| !a.contains(v)) {
            out.push(change(path, None, Some(v)));
        }
        return;
    }
    // Anything else: element by element.
    for i in 0..a.len().max(b.len()) {
        path.push(i.to_string());
        walk(path, a.get(i), b.get(i), out);
        path.pop();
    }
}

fn change(path: &[String], a: Option<&Value>, b: Option<&Value>) -> Value {
    json!({ "path": path, "before": a.map(short), "after": b.map(short) })
}

/// A value as a short text (strings without quotes).
fn short(v: &Value) -> Value {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE_CHARS {
        let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
        Value::String(format!("{cut}…"))
    } else {
        Value::String(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(a: Option<Value>, b: Value) -> Vec<(String, Value, Value)> {
        describe(a.as_ref(), &b)["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let p: Vec<&str> = c["path"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                (p.join(" > "), c["before"].clone(), c["after"].clone())
            })
            .collect()
    }

    #[test]
    fn a_renamed_server_is_one_change_at_its_name() {
        let a = json!({"servers": [{"authorization_server": "https://as.example", "display_name": "Oost"}], "revocation": "lenient"});
        let b = json!({"servers": [{"authorization_server": "https://as.example", "display_name": "West"}], "revocation": "lenient"});
        assert_eq!(
            changes(Some(a), b),
            vec![(
                "servers > https://as.example > display_name".into(),
                json!("Oost"),
                json!("West")
            )]
        );
    }

    #[test]
    fn added_and_removed_records_and_values() {
        let a = json!({"servers": [{"authorization_server": "https://a"}], "unsolicited_verifiers": ["x", "y"]});
        let b = json!({"servers": [{"authorization_server": "https://b", "no_prompt_scopes": ["s"]}], "unsolicited_verifiers": ["y", "z"]});
        assert_eq!(
            changes(Some(a), b),
            vec![
                ("servers > https://a".into(), json!("true"), Value::Null),
                (
                    "servers > https://b > no_prompt_scopes".into(),
                    Value::Null,
                    json!("s")
                ),
                ("unsolicited_verifiers".into(), json!("x"), Value::Null),
                ("unsolicited_verifiers".into(), Value::Null, json!("z")),
            ]
        );
    }

    #[test]
    fn reordering_and_equal_values_change_nothing() {
        let a = json!({"list": ["a", "b"], "servers": [{"id": "1"}, {"id": "2"}]});
        let b = json!({"list": ["b", "a"], "servers": [{"id": "2"}, {"id": "1"}]});
        assert!(changes(Some(a), b).is_empty());
    }

    #[test]
    fn a_new_setting_and_a_scalar() {
        assert_eq!(
            changes(None, json!(600)),
            vec![("".into(), Value::Null, json!("600"))]
        );
        assert_eq!(
            changes(Some(json!(600)), json!(300)),
            vec![("".into(), json!("600"), json!("300"))]
        );
    }

    #[test]
    fn long_values_are_cut_and_many_changes_capped() {
        let long = "x".repeat(500);
        let c = changes(Some(json!("a")), json!(long));
        assert_eq!(
            c[0].2.as_str().unwrap().chars().count(),
            MAX_VALUE_CHARS + 1
        );
        let many: Map<String, Value> = (0..100).map(|i| (format!("k{i:03}"), json!(i))).collect();
        let d = describe(None, &Value::Object(many));
        assert_eq!(d["changes"].as_array().unwrap().len(), MAX_CHANGES);
        assert_eq!(d["more"], 60);
    }
}
