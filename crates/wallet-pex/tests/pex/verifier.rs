//! Verifier side: submissions re-derived from the presentation as sent.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wallet_pex::{
    evaluate, evaluate_with, insecure_unsigned_jwt, verify_submission, Envelope, EvaluateOptions,
    PresentationDefinition, PresentationSubmission, SubmissionError, SubmissionOptions,
    VerifyError, WalletCredential, WalletOwnerType::Organization,
};

use crate::support::*;

fn ldp_vp(vcs: Value) -> Value {
    json!({"@context": ["https://www.w3.org/2018/credentials/v1"], "type": "VerifiablePresentation",
           "holder": "did:web:holder", "verifiableCredential": vcs})
}

fn sub(v: Value) -> PresentationSubmission {
    serde_json::from_value(v).unwrap()
}

#[test]
fn accepts_holder_submission_and_yields_claims() {
    let pd = policy_pd("e2e-rfc021-policy.json", "test", Organization);
    let creds = vec![
        org_jsonld(),
        employee_self_attested("did:web:h", "John Doe", "Janitor", "123456"),
    ];
    let built = evaluate(&pd, &creds, None)
        .build_submission(&pd, &creds, &SubmissionOptions::default())
        .unwrap();
    let env = Envelope::parse(&ldp_vp(built.verifiable_credential.clone())).unwrap();
    let ok = verify_submission(&pd, &built.presentation_submission, &env).unwrap();
    assert_eq!(ok.fields["employee_role"], json!("Janitor"));
    assert_eq!(
        ok.descriptors["id_employee_credential_cred"],
        "self-attested-123456"
    );
    assert!(ok.credential("id_nuts_care_organization_cred").is_some());

    // swapped descriptor ids
    let mut swapped = built.presentation_submission.clone();
    swapped.descriptor_map[0].path = "$.verifiableCredential[1]".into();
    swapped.descriptor_map[1].path = "$.verifiableCredential[0]".into();
    assert_eq!(
        verify_submission(&pd, &swapped, &env).unwrap_err(),
        VerifyError::Mapping("id_employee_credential_cred".into())
    );
    // one entry missing
    let mut short = built.presentation_submission.clone();
    short.descriptor_map.pop();
    assert_eq!(
        verify_submission(&pd, &short, &env).unwrap_err(),
        VerifyError::Count {
            expected: 2,
            actual: 1
        }
    );
    // other definition
    let mut other = built.presentation_submission.clone();
    other.definition_id = "pd_other".into();
    assert!(matches!(
        verify_submission(&pd, &other, &env),
        Err(VerifyError::DefinitionId { .. })
    ));
}

#[test]
fn authorization_server_checks_the_scope() {
    // zorgtoepassing has an organization and a user definition; either may be submitted
    let policy = policy("e2e-browser-zorgtoepassing-policy.json");
    let creds = vec![cred("jwt-vc-nutsemployee-shape-only.jwt")];
    let user = policy
        .definition("zorgtoepassing", wallet_pex::WalletOwnerType::User)
        .unwrap();
    let built = evaluate(user, &creds, None)
        .build_submission(user, &creds, &SubmissionOptions::default())
        .unwrap();
    let env = Envelope::parse(&ldp_vp(built.verifiable_credential)).unwrap();
    let (owner, ok) = wallet_pex::verify_for_scope(
        &policy,
        "zorgtoepassing",
        &built.presentation_submission,
        &env,
    )
    .unwrap();
    assert_eq!(owner, wallet_pex::WalletOwnerType::User);
    assert_eq!(ok.fields["employee_name"], json!("John Doe"));
    assert!(matches!(
        wallet_pex::verify_for_scope(&policy, "other", &built.presentation_submission, &env),
        Err(VerifyError::UnknownDefinition { .. })
    ));
}

#[test]
fn path_must_follow_the_vp_shape() {
    // the submission path follows the VP as sent (docs/protocol.md §8.2), here on the real Nuts
    // JSON-LD VP shape (single VC, not wrapped)
    let pd = policy_pd("e2e-openid4vp-policy.json", "test", Organization);
    let vp: Value = serde_json::from_str(&read(
        "credentials/jsonld-vp-nutsorg-didweb-shape-only.json",
    ))
    .unwrap();
    let env = Envelope::parse(&vp).unwrap();
    let good = sub(
        json!({"id": "1", "definition_id": "pd_any_care_organization", "descriptor_map": [
        {"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential"}]}),
    );
    assert!(verify_submission(&pd, &good, &env).is_ok());
    let indexed = sub(
        json!({"id": "1", "definition_id": "pd_any_care_organization", "descriptor_map": [
        {"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential[0]"}]}),
    );
    let e = verify_submission(&pd, &indexed, &env).unwrap_err();
    assert!(
        e.to_string()
            .contains("no value at `$.verifiableCredential[0]`"),
        "{e}"
    );
    let wrong_format = sub(
        json!({"id": "1", "definition_id": "pd_any_care_organization", "descriptor_map": [
        {"id": "id_nuts_care_organization_cred", "format": "jwt_vc", "path": "$.verifiableCredential"}]}),
    );
    assert!(matches!(
        verify_submission(&pd, &wrong_format, &env),
        Err(VerifyError::Resolve { .. })
    ));
}

#[test]
fn jwt_vp_vector_envelope() {
    // Nuts-style JWT VP: no iss, single JSON-LD VC not wrapped in an array
    let vp = read("credentials/jwt-vp-didnuts-shape-only.jwt");
    let env = Envelope::parse(&Value::String(vp.trim().to_string())).unwrap();
    assert_eq!(env.presentations()[0].credentials.len(), 1);
    let pd = PresentationDefinition::from_json(json!({"id": "company", "input_descriptors": [{"id": "c",
        "constraints": {"fields": [
            {"path": ["$.type"], "filter": {"type": "string", "const": "CompanyCredential"}},
            {"id": "city", "path": ["$.credentialSubject.company.city"], "filter": {"type": "string"}}]}}]}))
    .unwrap();
    let s = sub(
        json!({"id": "1", "definition_id": "company", "descriptor_map": [
        {"id": "c", "format": "ldp_vc", "path": "$.verifiableCredential"}]}),
    );
    let ok = verify_submission(&pd, &s, &env).unwrap();
    assert_eq!(ok.fields["city"], json!("Hengelo"));
}

#[test]
fn jwt_vp_with_jwt_vc_and_nested_array_envelope() {
    let pd = policy_pd(
        "e2e-browser-zorgtoepassing-policy.json",
        "zorgtoepassing",
        Organization,
    );
    let vc = org_jwt("ES256");
    let wallet_pex::RawCredential::Jwt(vc_jwt) = vc.raw().clone() else {
        panic!()
    };
    let vp_jwt = insecure_unsigned_jwt(
        "ES256",
        &json!({"sub": "did:web:h", "jti": "did:web:h#1", "nonce": "n",
                "vp": {"type": "VerifiablePresentation", "verifiableCredential": vc_jwt}}),
        "c2ln",
    );
    let single = sub(
        json!({"id": "1", "definition_id": "pd_any_care_organization", "descriptor_map": [
        {"id": "id_nuts_care_organization_cred", "format": "jwt_vc", "path": "$.verifiableCredential"}]}),
    );
    let env = Envelope::parse(&Value::String(vp_jwt.clone())).unwrap();
    let ok = verify_submission(&pd, &single, &env).unwrap();
    assert_eq!(ok.fields["organization_city"], json!("IJbergen"));
    // two VPs in an array: the second (JSON-LD) one carries the match, addressed with path_nested
    let other = ldp_vp(json!([
        cred("jsonld-authcred_001.signed.json").raw().to_json(),
        org_jsonld().raw().to_json()
    ]));
    let env = Envelope::parse(&json!([ldp_vp(json!([])), other])).unwrap();
    let nested = sub(
        json!({"id": "1", "definition_id": "pd_any_care_organization", "descriptor_map": [
        {"id": "id_nuts_care_organization_cred", "format": "ldp_vp", "path": "$[1]",
         "path_nested": {"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential[1]"}}]}),
    );
    let ok = verify_submission(&pd, &nested, &env).unwrap();
    assert_eq!(ok.presentation, 1);
}

fn org(city: &str, n: u32) -> WalletCredential {
    WalletCredential::from_json_ld(json!({
        "id": format!("urn:org:{n}"), "type": ["VerifiableCredential", "NutsOrganizationCredential"],
        "issuer": "did:web:i", "credentialSubject": {"id": "did:web:h", "organization": {"name": "Zorg", "city": city}}
    }))
    .unwrap()
}

fn two_descriptors(first_city: Option<&str>) -> PresentationDefinition {
    let city = match first_city {
        Some(c) => json!({"type": "string", "const": c}),
        None => json!({"type": "string"}),
    };
    PresentationDefinition::from_json(json!({"id": "two", "input_descriptors": [
        {"id": "d1", "constraints": {"fields": [{"path": ["$.credentialSubject.organization.city"], "filter": city}]}},
        {"id": "d2", "constraints": {"fields": [{"path": ["$.type"], "filter": {"type": "string", "const": "NutsOrganizationCredential"}}]}}
    ]}))
    .unwrap()
}

#[test]
fn builder_reorders_when_nuts_order_would_be_rejected() {
    let pd = two_descriptors(Some("IJbergen"));
    let creds = vec![org("Amsterdam", 1), org("IJbergen", 2)];
    let eval = evaluate(&pd, &creds, None);
    // first match: d1 -> #2, d2 -> #1; Nuts' order [#2, #1] makes a verifier map d2 to #2
    assert_eq!(eval.mapping[0].credential.index, 1);
    assert_eq!(eval.mapping[1].credential.index, 0);
    let built = eval
        .build_submission(&pd, &creds, &SubmissionOptions::default())
        .unwrap();
    assert!(built.reordered);
    assert_eq!(built.credentials, vec![0, 1]);
    let paths: Vec<&str> = built
        .presentation_submission
        .descriptor_map
        .iter()
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(
        paths,
        vec!["$.verifiableCredential[1]", "$.verifiableCredential[0]"]
    );
    let env = Envelope::parse(&ldp_vp(built.verifiable_credential)).unwrap();
    assert!(verify_submission(&pd, &built.presentation_submission, &env).is_ok());
}

#[test]
fn user_selection_is_honoured_or_refused() {
    let pd = two_descriptors(None);
    let creds = vec![org("Amsterdam", 1), org("IJbergen", 2)];
    let select = |pairs: &[(&str, usize)]| EvaluateOptions {
        now: None,
        selection: pairs
            .iter()
            .map(|(d, i)| (d.to_string(), *i))
            .collect::<BTreeMap<_, _>>(),
    };
    // both descriptors pick #2: fine
    let eval = evaluate_with(&pd, &creds, &select(&[("d1", 1), ("d2", 1)])).unwrap();
    assert_eq!(eval.descriptors[0].fields, BTreeMap::new());
    let built = eval
        .build_submission(&pd, &creds, &SubmissionOptions::default())
        .unwrap();
    assert_eq!(built.credentials, vec![1, 1]);
    // crossed selection: each descriptor accepts the other's credential first: refused
    let eval = evaluate_with(&pd, &creds, &select(&[("d1", 1), ("d2", 0)])).unwrap();
    assert!(matches!(
        eval.build_submission(&pd, &creds, &SubmissionOptions::default()),
        Err(SubmissionError::NotReproducible(_))
    ));
    // an evaluation only builds for its own definition and credential slice
    let eval = evaluate(&pd, &creds, None);
    let swapped = vec![creds[1].clone(), creds[0].clone()];
    assert!(matches!(
        eval.build_submission(&pd, &swapped, &SubmissionOptions::default()),
        Err(SubmissionError::Mismatch(_))
    ));
    assert!(matches!(
        eval.build_submission(
            &policy_pd("e2e-openid4vp-policy.json", "test", Organization),
            &creds,
            &SubmissionOptions::default()
        ),
        Err(SubmissionError::Mismatch(_))
    ));
    // selections must be candidates of known descriptors
    let pd1 = two_descriptors(Some("IJbergen"));
    assert!(matches!(
        evaluate_with(&pd1, &creds, &select(&[("d1", 0)])),
        Err(SubmissionError::NotACandidate { .. })
    ));
    assert!(matches!(
        evaluate_with(&pd1, &creds, &select(&[("nope", 0)])),
        Err(SubmissionError::UnknownDescriptor(_))
    ));
}
