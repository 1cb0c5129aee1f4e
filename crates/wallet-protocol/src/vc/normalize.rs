//! The normalized JSON view of a credential (docs/protocol.md §8.2): JWT VCs are rebuilt from their
//! claims (`iss`→`issuer`, `sub`→`credentialSubject[*].id`, `jti`→`id`, `nbf`→`issuanceDate`,
//! `exp`→`expirationDate`; `type` and `credentialSubject` stay arrays); JSON-LD VCs have
//! single-element `type`/`credentialSubject`/`proof` collapsed to a value.
//! Used for display and import checks; the PEX engine (`wallet-pex`) has its own copy
//! tuned for matching.

use serde_json::{json, Map, Value};

use crate::clock::format_rfc3339;

fn as_array(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other.clone()],
    }
}

/// Normalizes JWT VC claims.
pub fn jwt_vc(claims: &Map<String, Value>) -> Value {
    let vc = claims
        .get("vc")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = vc.clone();
    out.insert("type".into(), Value::Array(as_array(vc.get("type"))));
    let mut subjects = as_array(vc.get("credentialSubject"));
    if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
        if subjects.is_empty() {
            subjects.push(json!({}));
        }
        for s in subjects.iter_mut() {
            if let Some(obj) = s.as_object_mut() {
                obj.insert("id".into(), json!(sub));
            }
        }
    }
    out.insert("credentialSubject".into(), Value::Array(subjects));
    if let Some(iss) = claims.get("iss") {
        out.insert("issuer".into(), iss.clone());
    }
    if let Some(jti) = claims.get("jti") {
        out.insert("id".into(), jti.clone());
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64) {
        out.insert("issuanceDate".into(), json!(format_rfc3339(nbf)));
    }
    if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
        out.insert("expirationDate".into(), json!(format_rfc3339(exp)));
    }
    Value::Object(out)
}

/// Normalizes a JSON-LD VC (collapses single-element arrays of the standard fields).
pub fn ldp_vc(vc: &Value) -> Value {
    let mut out = vc.as_object().cloned().unwrap_or_default();
    for field in ["type", "credentialSubject", "proof"] {
        if let Some(Value::Array(a)) = out.get(field) {
            if a.len() == 1 {
                let single = a[0].clone();
                out.insert(field.into(), single);
            }
        }
    }
    Value::Object(out)
}

/// The issuer id of a normalized credential (`issuer` string or `issuer.id`).
pub fn issuer_id(vc: &Value) -> Option<&str> {
    match vc.get("issuer") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// All `credentialSubject.id` values (array or single subject).
pub fn subject_ids(vc: &Value) -> Vec<String> {
    as_array(vc.get("credentialSubject"))
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The `type` values (array or single).
pub fn types(vc: &Value) -> Vec<String> {
    as_array(vc.get("type"))
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_claims_are_mapped() {
        let claims = json!({
            "iss": "did:web:a", "sub": "did:jwk:b", "jti": "did:web:a#1", "nbf": 1_700_000_000, "exp": 1_700_003_600,
            "vc": {"type": "NutsEmployeeCredential", "credentialSubject": {"name": "X"}}
        });
        let n = jwt_vc(claims.as_object().unwrap());
        assert_eq!(n["issuer"], "did:web:a");
        assert_eq!(n["id"], "did:web:a#1");
        assert_eq!(
            n["credentialSubject"],
            json!([{"name": "X", "id": "did:jwk:b"}])
        );
        assert_eq!(n["type"], json!(["NutsEmployeeCredential"]));
        assert_eq!(n["issuanceDate"], "2023-11-14T22:13:20Z");
        assert_eq!(n["expirationDate"], "2023-11-14T23:13:20Z");
    }

    #[test]
    fn ldp_single_elements_collapse() {
        let n = ldp_vc(
            &json!({"type": ["A"], "credentialSubject": [{"id": "x"}], "proof": [{}], "issuer": {"id": "did:a"}}),
        );
        assert_eq!(n["type"], "A");
        assert_eq!(subject_ids(&n), vec!["x".to_owned()]);
        assert_eq!(issuer_id(&n), Some("did:a"));
        let n = ldp_vc(&json!({"type": ["A", "B"]}));
        assert_eq!(types(&n), vec!["A".to_owned(), "B".to_owned()]);
    }
}
