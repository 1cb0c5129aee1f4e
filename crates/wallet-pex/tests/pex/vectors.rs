//! All six presentation definitions of the Nuts vectors: credential sets that must match (with
//! the exact submission) and sets that must not (with the expected explanation).

use serde_json::{json, Value};
use wallet_pex::{
    evaluate, Constraint, Failure, FormatLevel, PresentationDefinition, SubmissionOptions,
    WalletCredential,
    WalletOwnerType::{Organization, User},
};

use crate::support::*;

fn opts() -> SubmissionOptions {
    SubmissionOptions {
        id: "sub-1".into(),
        collapse_single: true,
    }
}

fn submission(pd: &PresentationDefinition, creds: &[WalletCredential]) -> Value {
    let eval = evaluate(pd, creds, None);
    assert!(eval.fulfilled, "{eval:#?}");
    let built = eval.build_submission(pd, creds, &opts()).unwrap();
    assert!(!built.reordered);
    serde_json::to_value(&built.presentation_submission).unwrap()
}

#[test]
fn rfc021_org_and_self_attested_employee() {
    let pd = policy_pd("e2e-rfc021-policy.json", "test", Organization);
    let holder = "did:nuts:CuE3qeFGGLhEAS3gKzhMCeqd1dGa9at5JCbmCfyMU2Ey";
    let creds = vec![
        org_jsonld(),
        employee_self_attested(holder, "John Doe", "Janitor", "123456"),
    ];
    assert_eq!(
        submission(&pd, &creds),
        json!({"id": "sub-1", "definition_id": "pd_any_care_organization_with_employee", "descriptor_map": [
            {"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential[0]"},
            {"id": "id_employee_credential_cred", "format": "ldp_vc", "path": "$.verifiableCredential[1]"}
        ]})
    );
    let eval = evaluate(&pd, &creds, None);
    assert_eq!(
        serde_json::to_value(&eval.descriptors[1].fields).unwrap(),
        json!({"employee_identifier": "123456", "employee_name": "John Doe", "employee_role": "Janitor"})
    );
}

#[test]
fn rfc021_refuses_jwt_variant_with_explanation() {
    let pd = policy_pd("e2e-rfc021-policy.json", "test", Organization);
    let creds = vec![
        org_jwt("ES256"),
        employee_self_attested("did:web:x", "J", "R", "1"),
    ];
    let eval = evaluate(&pd, &creds, None);
    assert!(!eval.fulfilled);
    assert!(eval.mapping.is_empty());
    let org = &eval.descriptors[0];
    assert!(org.candidates.is_empty());
    let ex = org.explanation.as_ref().unwrap();
    let closest = ex.closest.as_ref().unwrap();
    assert_eq!(
        closest.credential.index, 0,
        "the JWT org credential is closest"
    );
    // JWT VCs are not allowed, and the JSON-LD-only paths find nothing in the array-shaped subject.
    assert_eq!(
        closest.failures[0],
        Failure::Format {
            level: FormatLevel::Definition,
            format: wallet_pex::CredentialFormat::JwtVc,
            allowed: None,
            actual: vec!["ES256".into()]
        }
    );
    assert_eq!(closest.satisfied_fields, 1);
    assert_eq!(
        ex.message,
        "NutsOrganizationCredential: format jwt_vc is not allowed by the definition; \
         no value at $.credentialSubject.organization.name; no value at $.credentialSubject.organization.city"
    );
    // The employee descriptor still matches.
    assert_eq!(eval.descriptors[1].selected.as_ref().unwrap().index, 1);
}

#[test]
fn openid4vp_single_org_credential_is_not_wrapped() {
    let pd = policy_pd("e2e-openid4vp-policy.json", "test", Organization);
    let creds = vec![
        cred("jsonld-authcred_001.signed.json"),
        cred("jsonld-vc-nutsorg-didweb-iam-shape-only.json"),
    ];
    assert_eq!(
        submission(&pd, &creds),
        json!({"id": "sub-1", "definition_id": "pd_any_care_organization", "descriptor_map": [
            {"id": "id_nuts_care_organization_cred", "format": "ldp_vc", "path": "$.verifiableCredential"}
        ]})
    );
    let built = evaluate(&pd, &creds, None)
        .build_submission(&pd, &creds, &opts())
        .unwrap();
    assert_eq!(built.credentials, vec![1]);
    assert_eq!(
        built.verifiable_credential["credentialSubject"]["organization"]["city"],
        json!("Caretown")
    );
}

#[test]
fn openid4vp_wrong_type_is_explained() {
    let pd = policy_pd("e2e-openid4vp-policy.json", "test", Organization);
    let creds = vec![cred("jsonld-authcred_001.signed.json")];
    let eval = evaluate(&pd, &creds, None);
    assert!(!eval.fulfilled);
    let ex = eval.descriptors[0].explanation.as_ref().unwrap();
    let Failure::Field(f) = &ex.closest.as_ref().unwrap().failures[0] else {
        panic!("{ex:?}")
    };
    assert_eq!(f.attempts[0].path, "$.type");
    assert_eq!(
        f.attempts[0].value,
        Some(json!([
            "NutsAuthorizationCredential",
            "VerifiableCredential"
        ]))
    );
    assert_eq!(
        f.attempts[0].failed,
        Some(Constraint::Const {
            expected: "NutsOrganizationCredential".into()
        })
    );
    assert!(ex.message.starts_with(
        "NutsAuthorizationCredential: $.type [\"NutsAuthorizationCredential\",\"VerifiableCredential\"] expected \"NutsOrganizationCredential\""
    ), "{}", ex.message);
}

#[test]
fn zorgtoepassing_jwt_and_jsonld_variants_of_the_same_credential() {
    let pd = policy_pd(
        "e2e-browser-zorgtoepassing-policy.json",
        "zorgtoepassing",
        Organization,
    );
    for (creds, format, name_expected) in [
        (vec![org_jwt("ES256"), org_jsonld()], "jwt_vc", 0),
        (vec![org_jsonld(), org_jwt("ES256")], "ldp_vc", 0),
    ] {
        let eval = evaluate(&pd, &creds, None);
        assert_eq!(
            eval.descriptors[0].candidates.len(),
            2,
            "both variants are candidates"
        );
        assert_eq!(
            eval.descriptors[0].selected.as_ref().unwrap().index,
            name_expected
        );
        assert_eq!(
            serde_json::to_value(&eval.descriptors[0].fields).unwrap(),
            json!({"organization_name": "Because we care B.V.", "organization_city": "IJbergen"})
        );
        assert_eq!(
            submission(&pd, &creds)["descriptor_map"],
            json!([{"id": "id_nuts_care_organization_cred", "format": format, "path": "$.verifiableCredential"}])
        );
    }
}

#[test]
fn zorgtoepassing_user_employee_credential() {
    let pd = policy_pd(
        "e2e-browser-zorgtoepassing-policy.json",
        "zorgtoepassing",
        User,
    );
    let creds = vec![org_jsonld(), cred("jwt-vc-nutsemployee-shape-only.jwt")];
    assert_eq!(
        submission(&pd, &creds)["descriptor_map"],
        json!([{"id": "id_employee_credential_cred", "format": "jwt_vc", "path": "$.verifiableCredential"}])
    );
    let eval = evaluate(&pd, &creds, None);
    assert_eq!(
        eval.descriptors[0].selected.as_ref().unwrap().id,
        "did:web:nodeA:iam:requester#8f3d1b49-b863-41f6-bf87-9e5a866ac231"
    );
    assert_eq!(
        serde_json::to_value(&eval.descriptors[0].fields).unwrap(),
        json!({"employee_identifier": "jdoe@example.com", "employee_name": "John Doe", "employee_role": "Accountant"})
    );
    // The shape-only credential expired on 2024-04-08: with an evaluation time it is no candidate.
    let eval = evaluate(&pd, &creds, Some(1_764_000_000));
    assert!(!eval.fulfilled);
    let ex = eval.descriptors[0].explanation.as_ref().unwrap();
    assert_eq!(
        ex.message,
        "NutsEmployeeCredential: expired on 2024-04-08T10:36:52Z"
    );
}

#[test]
fn zorgtoepassing_wrong_alg_is_explained() {
    let pd = policy_pd(
        "e2e-browser-zorgtoepassing-policy.json",
        "zorgtoepassing",
        Organization,
    );
    let eval = evaluate(&pd, &[org_jwt("ES384")], None);
    assert!(!eval.fulfilled);
    let ex = eval.descriptors[0].explanation.as_ref().unwrap();
    assert_eq!(ex.closest.as_ref().unwrap().satisfied_fields, 3);
    assert_eq!(ex.message, "NutsOrganizationCredential: jwt_vc signed with ES384 but the definition allows only [\"ES256\"]");
}

#[test]
fn didx509_extracts_ura_capture_group() {
    let pd = policy_pd("e2e-didx509-policy.json", "test", Organization);
    let creds = vec![org_jsonld(), x509_jwt(X509_CA, "PS256", "urn:uuid:x509-1")];
    assert_eq!(
        submission(&pd, &creds)["descriptor_map"],
        json!([{"id": "id_x509credential", "format": "jwt_vc", "path": "$.verifiableCredential"}])
    );
    let eval = evaluate(&pd, &creds, None);
    assert_eq!(
        serde_json::to_value(&eval.descriptors[0].fields).unwrap(),
        json!({"organization_name": "Zorg B.V.", "organization_city": "Utrecht", "organization_ura": "90000380"})
    );
}

#[test]
fn didx509_untrusted_ca_is_explained() {
    let pd = policy_pd("e2e-didx509-policy.json", "test", Organization);
    let other = "did:x509:0:sha256:AAAAaTpnD6GN0aRrT98eV4bhAoOgyItEZVyskYyL_Qc";
    let creds = vec![org_jsonld(), x509_jwt(other, "PS256", "urn:uuid:x509-2")];
    let eval = evaluate(&pd, &creds, None);
    assert!(!eval.fulfilled);
    let ex = eval.descriptors[0].explanation.as_ref().unwrap();
    let closest = ex.closest.as_ref().unwrap();
    assert_eq!(closest.credential.id, "urn:uuid:x509-2");
    assert_eq!(closest.failures.len(), 1);
    let Failure::Field(f) = &closest.failures[0] else {
        panic!()
    };
    assert_eq!(
        f.purpose.as_deref(),
        Some("Whe can only accept credentials from a trusted issuer")
    );
    assert!(matches!(
        f.attempts[0].failed,
        Some(Constraint::Pattern { .. })
    ));
    assert!(
        ex.message.starts_with("X509Credential: $.issuer \"did:x509:0:sha256:AAAA")
            && ex.message.ends_with(
                "does not match pattern ^did:x509:0:sha256:szqMaTpnD6GN0aRrT98eV4bhAoOgyItEZVyskYyL_Qc::.*$"
            ),
        "{}",
        ex.message
    );
    // RS256 is not in the definition's jwt_vc algs either
    let eval = evaluate(&pd, &[x509_jwt(X509_CA, "RS256", "urn:uuid:x509-3")], None);
    assert!(eval.descriptors[0]
        .explanation
        .as_ref()
        .unwrap()
        .message
        .contains("signed with RS256"));
}

#[test]
fn pe_fixture_const_and_pattern_on_both_shapes() {
    let pd = pd("pe-test-pd_jsonld_jwt.json");
    for c in [org_jsonld(), org_jwt("ES384")] {
        let creds = vec![c];
        let eval = evaluate(&pd, &creds, None);
        assert!(eval.fulfilled);
        // a pattern without group yields the matched text, not the whole value (as Nuts does)
        assert_eq!(
            serde_json::to_value(&eval.descriptors[0].fields).unwrap(),
            json!({"credentialsubject_organization_city": "IJbergen", "credentialsubject_organization_name": "care"})
        );
        assert_eq!(
            submission(&pd, &creds)["descriptor_map"][0],
            json!({"id": "organization_credential", "format": creds[0].format().as_str(), "path": "$.verifiableCredential"})
        );
    }
    let eval = evaluate(&pd, &[org_jwt("ES256")], None);
    assert_eq!(
        eval.descriptors[0].explanation.as_ref().unwrap().message,
        "NutsOrganizationCredential: jwt_vc signed with ES256 but the definition allows only [\"ES256K\", \"ES384\"]"
    );
}

#[test]
fn pe_fixture_pick_takes_first_member_that_matches() {
    let pd = pd("pe-test-pd_jsonld_jwt_pick.json");
    let map = |creds: Vec<WalletCredential>| submission(&pd, &creds)["descriptor_map"].clone();
    assert_eq!(
        map(vec![org_jwt("ES384")]),
        json!([{"id": "as_jwt", "format": "jwt_vc", "path": "$.verifiableCredential"}])
    );
    assert_eq!(
        map(vec![org_jsonld()]),
        json!([{"id": "as_jsonld", "format": "ldp_vc", "path": "$.verifiableCredential"}])
    );
    assert_eq!(
        map(vec![org_jwt("ES384"), org_jsonld()]),
        json!([{"id": "as_jsonld", "format": "ldp_vc", "path": "$.verifiableCredential"}])
    );
    let eval = evaluate(&pd, &[cred("jsonld-authcred_001.signed.json")], None);
    assert!(!eval.fulfilled);
    assert_eq!(
        eval.requirements[0].message.as_deref(),
        Some("pick 1 from group `vc`: only 0 can be satisfied")
    );
    assert!(eval.descriptors.iter().all(|d| d.explanation.is_some()));
}
