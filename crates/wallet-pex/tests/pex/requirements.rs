//! submission_requirements: all, pick with count / min / max, from_nested, unmet groups.

use serde_json::{json, Value};
use wallet_pex::{evaluate, PresentationDefinition, SubmissionOptions, WalletCredential};

/// A JSON-LD credential of one type with a `level` subject attribute.
pub fn typed(t: &str, n: usize) -> WalletCredential {
    WalletCredential::from_json_ld(json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": format!("urn:{t}:{n}"),
        "type": ["VerifiableCredential", t],
        "issuer": "did:web:issuer.example",
        "credentialSubject": {"id": "did:web:holder.example", "level": n}
    }))
    .unwrap()
}

fn descriptor(id: &str, t: &str, group: &str) -> Value {
    json!({"id": id, "group": [group], "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "string", "const": t}}]}})
}

fn pd_with(requirements: Value, descriptors: Vec<Value>) -> PresentationDefinition {
    PresentationDefinition::from_json(json!({
        "id": "sr", "submission_requirements": requirements, "input_descriptors": descriptors
    }))
    .unwrap()
}

fn abc(group_of_c: &str) -> Vec<Value> {
    vec![
        descriptor("a", "A", "g"),
        descriptor("b", "B", "g"),
        descriptor("c", "C", group_of_c),
    ]
}

fn mapped(
    pd: &PresentationDefinition,
    creds: &[WalletCredential],
) -> Option<Vec<(String, String)>> {
    let eval = evaluate(pd, creds, None);
    if !eval.fulfilled {
        return None;
    }
    let built = eval
        .build_submission(pd, creds, &SubmissionOptions::default())
        .expect("fulfilled evaluations build");
    Some(
        built
            .presentation_submission
            .descriptor_map
            .iter()
            .map(|e| (e.id.clone(), e.path.clone()))
            .collect(),
    )
}

fn ids(v: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
    Some(
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    )
}

#[test]
fn all_needs_every_member() {
    let pd = pd_with(json!([{"rule": "all", "from": "g"}]), abc("g"));
    let wallet = vec![typed("C", 1), typed("A", 1), typed("B", 1)];
    assert_eq!(
        mapped(&pd, &wallet),
        ids(&[
            ("a", "$.verifiableCredential[0]"),
            ("b", "$.verifiableCredential[1]"),
            ("c", "$.verifiableCredential[2]")
        ])
    );
    let eval = evaluate(&pd, &wallet[..2], None);
    assert!(!eval.fulfilled);
    assert_eq!(
        eval.requirements[0].message.as_deref(),
        Some("all 3 members of group `g` are required, only 2 can be satisfied")
    );
    assert!(eval.descriptors[1].explanation.is_some());
}

#[test]
fn pick_count_takes_the_first_members() {
    let pd = pd_with(json!([{"rule": "pick", "count": 2, "from": "g"}]), abc("g"));
    let wallet = vec![typed("C", 1), typed("B", 1), typed("A", 1)];
    assert_eq!(
        mapped(&pd, &wallet),
        ids(&[
            ("a", "$.verifiableCredential[0]"),
            ("b", "$.verifiableCredential[1]")
        ])
    );
    assert_eq!(
        mapped(&pd, &[typed("C", 1), typed("B", 1)]),
        ids(&[
            ("b", "$.verifiableCredential[0]"),
            ("c", "$.verifiableCredential[1]")
        ])
    );
    let eval = evaluate(&pd, &[typed("C", 1)], None);
    assert!(!eval.fulfilled);
    assert_eq!(eval.requirements[0].available, 1);
    assert_eq!(
        eval.requirements[0].message.as_deref(),
        Some("pick 2 from group `g`: only 1 can be satisfied")
    );
}

#[test]
fn pick_min_and_max() {
    let pd = pd_with(
        json!([{"rule": "pick", "min": 1, "max": 2, "from": "g"}]),
        abc("g"),
    );
    assert_eq!(
        mapped(&pd, &[typed("B", 1)]),
        ids(&[("b", "$.verifiableCredential")])
    );
    assert_eq!(
        mapped(&pd, &[typed("A", 1), typed("B", 1), typed("C", 1)]),
        ids(&[
            ("a", "$.verifiableCredential[0]"),
            ("b", "$.verifiableCredential[1]")
        ])
    );
    let eval = evaluate(&pd, &[typed("D", 1)], None);
    assert_eq!(
        eval.requirements[0].message.as_deref(),
        Some("pick at least 1 from group `g`: only 0 can be satisfied")
    );
    // min 0: an empty submission is fine
    let pd = pd_with(
        json!([{"rule": "pick", "min": 0, "max": 1, "from": "g"}]),
        abc("g"),
    );
    let eval = evaluate(&pd, &[typed("D", 1)], None);
    assert!(eval.fulfilled);
    assert!(eval.mapping.is_empty());
    // only max: at most that many, none required
    let pd = pd_with(json!([{"rule": "pick", "max": 1, "from": "g"}]), abc("g"));
    assert_eq!(
        mapped(&pd, &[typed("C", 1), typed("B", 1)]),
        ids(&[("b", "$.verifiableCredential")])
    );
}

#[test]
fn pick_with_only_min_is_accepted_with_a_warning() {
    let pd = pd_with(json!([{"rule": "pick", "min": 2, "from": "g"}]), abc("g"));
    assert!(pd.warnings().iter().any(|w| w.contains("only `min`")));
    assert_eq!(
        mapped(&pd, &[typed("A", 1), typed("B", 1), typed("C", 1)]).map(|m| m.len()),
        Some(3)
    );
}

#[test]
fn nested_requirements() {
    // all of: (pick 1 from g1) and (all from g2)
    let descriptors = vec![
        descriptor("a", "A", "g1"),
        descriptor("b", "B", "g1"),
        descriptor("c", "C", "g2"),
    ];
    let pd = pd_with(
        json!([{"rule": "all", "from_nested": [
            {"rule": "pick", "count": 1, "from": "g1"},
            {"rule": "all", "from": "g2"}
        ]}]),
        descriptors.clone(),
    );
    assert_eq!(
        mapped(&pd, &[typed("B", 1), typed("C", 1)]),
        ids(&[
            ("b", "$.verifiableCredential[0]"),
            ("c", "$.verifiableCredential[1]")
        ])
    );
    let eval = evaluate(&pd, &[typed("B", 1)], None);
    assert!(!eval.fulfilled);
    assert!(eval.requirements[0].nested[0].satisfied);
    assert!(!eval.requirements[0].nested[1].satisfied);
    // pick 1 of the nested: one satisfied nested requirement is enough
    let pd = pd_with(
        json!([{"rule": "pick", "count": 1, "from_nested": [
            {"rule": "all", "from": "g1"},
            {"rule": "all", "from": "g2"}
        ]}]),
        descriptors,
    );
    assert_eq!(
        mapped(&pd, &[typed("C", 1)]),
        ids(&[("c", "$.verifiableCredential")])
    );
}

#[test]
fn shared_credential_is_mapped_once_to_the_first_descriptor() {
    // as in Nuts: two descriptors selecting the same credential give one descriptor_map entry
    let same = |id: &str| {
        json!({"id": id, "group": ["g"], "constraints": {"fields": [
        {"path": ["$.type"], "filter": {"type": "string", "const": "A"}}]}})
    };
    let pd = pd_with(
        json!([{"rule": "all", "from": "g"}]),
        vec![same("x"), same("y")],
    );
    assert_eq!(
        mapped(&pd, &[typed("A", 1)]),
        ids(&[("x", "$.verifiableCredential")])
    );
    // without submission requirements Nuts keeps both entries (and the credential twice)
    let pd = PresentationDefinition::from_json(json!({"id": "p", "input_descriptors": [
        {"id": "x", "constraints": {"fields": [{"path": ["$.type"], "filter": {"type": "string", "const": "A"}}]}},
        {"id": "y", "constraints": {"fields": [{"path": ["$.type"], "filter": {"type": "string", "const": "A"}}]}}
    ]}))
    .unwrap();
    assert_eq!(
        mapped(&pd, &[typed("A", 1)]),
        ids(&[
            ("x", "$.verifiableCredential[0]"),
            ("y", "$.verifiableCredential[1]")
        ])
    );
}

#[test]
fn groups_without_requirement_are_refused() {
    let err = PresentationDefinition::from_json(json!({
        "id": "sr", "submission_requirements": [{"rule": "all", "from": "g"}],
        "input_descriptors": [descriptor("a", "A", "g"), descriptor("b", "B", "other")]
    }))
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("group `other` is not used by any submission requirement"),
        "{err}"
    );
}
