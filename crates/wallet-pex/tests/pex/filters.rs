//! Field semantics through the public API: optional fields, enum, extensions, list-valued
//! paths, validity windows.

use serde_json::json;
use wallet_pex::{evaluate, Constraint, Failure, PresentationDefinition, WalletCredential};

fn cred(subject: serde_json::Value, extra: serde_json::Value) -> WalletCredential {
    let mut v = json!({"id": "urn:c", "type": ["VerifiableCredential", "TestCredential"], "issuer": "did:web:i",
                       "issuanceDate": "2025-01-01T00:00:00Z", "credentialSubject": subject});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    WalletCredential::from_json_ld(v).unwrap()
}

fn one_field(field: serde_json::Value) -> PresentationDefinition {
    PresentationDefinition::from_json(
        json!({"id": "f", "input_descriptors": [{"id": "d", "constraints": {"fields": [field]}}]}),
    )
    .unwrap()
}

fn matches(pd: &PresentationDefinition, c: WalletCredential) -> Option<serde_json::Value> {
    let e = evaluate(pd, &[c], None);
    e.fulfilled
        .then(|| serde_json::to_value(&e.descriptors[0].fields).unwrap())
}

#[test]
fn optional_means_absent_not_wrong() {
    let pd = one_field(
        json!({"id": "nick", "optional": true, "path": ["$.credentialSubject.nick"],
                              "filter": {"type": "string", "minLength": 3}}),
    );
    assert_eq!(
        matches(&pd, cred(json!({"x": 1}), json!({}))),
        Some(json!({"nick": null}))
    );
    assert_eq!(
        matches(&pd, cred(json!({"nick": "bobby"}), json!({}))),
        Some(json!({"nick": "bobby"}))
    );
    // present but failing the filter: not satisfied (Nuts `optionalInvalid`)
    assert_eq!(matches(&pd, cred(json!({"nick": "bo"}), json!({}))), None);
}

#[test]
fn enum_integer_and_ranges() {
    let pd = one_field(
        json!({"id": "role", "path": ["$.credentialSubject.role"], "filter": {"type": "string", "enum": ["nurse", "doctor"]}}),
    );
    assert_eq!(
        matches(&pd, cred(json!({"role": "doctor"}), json!({}))),
        Some(json!({"role": "doctor"}))
    );
    let e = evaluate(&pd, &[cred(json!({"role": "janitor"}), json!({}))], None);
    let Failure::Field(f) = &e.descriptors[0]
        .explanation
        .as_ref()
        .unwrap()
        .closest
        .as_ref()
        .unwrap()
        .failures[0]
    else {
        panic!()
    };
    assert_eq!(
        f.attempts[0].failed,
        Some(Constraint::Enum {
            allowed: vec!["nurse".into(), "doctor".into()]
        })
    );

    let pd = one_field(
        json!({"path": ["$.credentialSubject.level"], "filter": {"type": "integer", "minimum": 2, "maximum": 4}}),
    );
    assert!(matches(&pd, cred(json!({"level": 3}), json!({}))).is_some());
    assert!(matches(&pd, cred(json!({"level": 5}), json!({}))).is_none());
    assert!(matches(&pd, cred(json!({"level": 3.5}), json!({}))).is_none());
    // a numeric value never matches a `string` type, a typeless filter never matches a scalar
    let pd =
        one_field(json!({"path": ["$.credentialSubject.level"], "filter": {"type": "string"}}));
    assert!(matches(&pd, cred(json!({"level": 3}), json!({}))).is_none());
    let pd = one_field(json!({"path": ["$.credentialSubject.level"], "filter": {"const": "3"}}));
    assert!(matches(&pd, cred(json!({"level": "3"}), json!({}))).is_none());
}

#[test]
fn list_valued_paths_yield_the_list() {
    let pd = one_field(
        json!({"id": "ops", "path": ["$.credentialSubject.resources[*].operation"],
                              "filter": {"type": "string", "const": "write"}}),
    );
    let c = cred(
        json!({"resources": [{"operation": "read"}, {"operation": "write"}]}),
        json!({}),
    );
    assert_eq!(matches(&pd, c), Some(json!({"ops": ["read", "write"]})));
    let c = cred(json!({"resources": [{"operation": "read"}]}), json!({}));
    assert!(matches(&pd, c).is_none());
    // an empty list still is a value: a type-only filter accepts it (Nuts)
    let pd = one_field(
        json!({"id": "ops", "path": ["$.credentialSubject.resources[*].operation"], "filter": {"type": "string"}}),
    );
    assert_eq!(
        matches(&pd, cred(json!({"resources": []}), json!({}))),
        Some(json!({"ops": []}))
    );
}

#[test]
fn validity_window_is_applied_only_with_a_time() {
    let pd = one_field(
        json!({"path": ["$.type"], "filter": {"type": "string", "const": "TestCredential"}}),
    );
    let future = cred(
        json!({}),
        json!({"issuanceDate": "2030-01-01T00:00:00Z", "expirationDate": "2031-01-01T00:00:00Z"}),
    );
    assert!(evaluate(&pd, std::slice::from_ref(&future), None).fulfilled);
    let now = wallet_pex::rfc3339_to_unix("2026-11-28T12:00:00Z");
    let e = evaluate(&pd, &[future], now);
    assert!(!e.fulfilled);
    assert_eq!(
        e.descriptors[0].explanation.as_ref().unwrap().message,
        "TestCredential: not valid before 2030-01-01T00:00:00Z"
    );
}

/// Nuts `credential_selection`: a field id and value narrow a descriptor to exactly one
/// credential; none, several, or a field the definition lacks is an error.
#[test]
fn credential_selection_narrows_to_exactly_one() {
    use std::collections::BTreeMap;
    use wallet_pex::{evaluate_with, select_by_fields, EvaluateOptions, SubmissionError};
    let pd = one_field(json!({"id": "ura", "path": ["$.credentialSubject.ura"]}));
    let mk = |ura: &str, id: &str| {
        let mut c = json!({"id": id, "type": ["VerifiableCredential", "TestCredential"],
                           "issuer": "did:web:i", "issuanceDate": "2025-01-01T00:00:00Z",
                           "credentialSubject": {"ura": ura}});
        c["id"] = json!(id);
        WalletCredential::from_json_ld(c).unwrap()
    };
    let creds = vec![
        mk("111", "urn:a"),
        mk("222", "urn:b"),
        mk("222", "urn:c"),
        mk("333", "urn:d"),
    ];
    let sel = |v: &str| BTreeMap::from([("ura".to_owned(), v.to_owned())]);

    // Without a selection the first candidate is used; with one, exactly the one named.
    assert_eq!(evaluate(&pd, &creds, None).mapping[0].credential.index, 0);
    let picked = select_by_fields(&pd, &creds, &sel("333"), None).unwrap();
    assert_eq!(picked, BTreeMap::from([("d".to_owned(), 3)]));
    let e = evaluate_with(
        &pd,
        &creds,
        &EvaluateOptions {
            now: None,
            selection: picked,
        },
    )
    .unwrap();
    assert!(e.fulfilled);
    assert_eq!(e.mapping[0].credential.id, "urn:d");

    assert!(matches!(
        select_by_fields(&pd, &creds, &sel("222"), None),
        Err(SubmissionError::SelectionAmbiguous { count: 2, .. })
    ));
    assert!(matches!(
        select_by_fields(&pd, &creds, &sel("999"), None),
        Err(SubmissionError::SelectionNoMatch(_))
    ));
    let unknown = BTreeMap::from([("patient_id".to_owned(), "1".to_owned())]);
    assert!(matches!(
        select_by_fields(&pd, &creds, &unknown, None),
        Err(SubmissionError::UnknownSelectionField(_))
    ));
}
