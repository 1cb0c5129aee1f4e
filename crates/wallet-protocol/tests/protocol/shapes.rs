//! What we produce has exactly the Nuts shapes (docs/protocol.md §7.1, §9.3, §7.4), verifies
//! with an independent ECDSA implementation (ring), and round-trips through our verifiers.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use wallet_protocol::did::document::build_did_document;
use wallet_protocol::did::{self, Did, StaticDidResolver};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::metadata::{
    self, build_entity_statement, verify_entity_statement, MetadataError,
};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::jwt::{
    issue_employee_credential, verify_jwt_vc, EmployeeClaims, VerifyOptions,
};
use wallet_protocol::vc::ldp::{self, ProofOptions};
use wallet_protocol::vc::{verify_credential, Credential};
use wallet_protocol::vp::{self, PresentationExpectations, PresentationRequest, VpError};
use wallet_protocol::FixedClock;

use crate::common::*;

const NOW: i64 = 1_760_000_000;
const ORG: &str = "did:web:zorg.example:iam:0d6f7c";
const AS_URL: &str = "https://as.example/oauth2/verifier";

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

struct Org {
    did: Did,
    signer: SoftwareSigner,
    resolver: StaticDidResolver,
}

fn org() -> Org {
    let did = Did::parse(ORG).unwrap();
    let kid = did.with_fragment("5c7b1e2a-key");
    let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
    let jwk = Jwk::from_map(signer.public_jwk()).unwrap();
    let mut resolver = StaticDidResolver::new();
    resolver
        .insert(build_did_document(&did, &kid, &jwk).unwrap())
        .unwrap();
    Org {
        did,
        signer,
        resolver,
    }
}

fn employee() -> (Did, SoftwareSigner) {
    let mut signer = SoftwareSigner::generate_es256("tmp").unwrap();
    let did = did::jwk::create(&Jwk::from_map(signer.public_jwk()).unwrap()).unwrap();
    signer.set_key_id(did::jwk::key_id(&did).as_str());
    (did, signer)
}

fn claims() -> EmployeeClaims {
    EmployeeClaims {
        identifier: "jdoe@zorg.example".into(),
        name: "Jan de Vries".into(),
        role_name: "Verpleegkundige".into(),
    }
}

#[test]
fn employee_credential_has_section_c1_shape_and_verifies_independently() {
    let org = org();
    let (emp, _) = employee();
    let token =
        issue_employee_credential(&org.signer, &org.did, &emp, &claims(), NOW, 3600).unwrap();
    let (header, payload) = decode_parts(&token);
    assert_eq!(
        header,
        json!({"alg": "ES256", "kid": org.signer.key_id(), "typ": "JWT"})
    );
    assert_eq!(
        keys(&payload),
        set(&["iss", "sub", "jti", "nbf", "iat", "exp", "vc"])
    );
    assert_eq!(payload["iss"], ORG);
    assert_eq!(payload["sub"], emp.as_str());
    assert!(payload["jti"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{ORG}#")));
    assert_eq!(payload["nbf"], NOW);
    assert_eq!(payload["exp"], NOW + 3600);
    assert_eq!(
        payload["vc"],
        json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
            "type": ["NutsEmployeeCredential", "VerifiableCredential"],
            "credentialSubject": [{"id": emp.as_str(), "identifier": "jdoe@zorg.example", "name": "Jan de Vries", "roleName": "Verpleegkundige"}]
        })
    );
    // Independent check: ring verifies the ES256 signature with the published key.
    assert!(ring_verify_es256(
        &token,
        &Value::Object(org.signer.public_jwk())
    ));
    assert!(!ring_verify_es256(
        &flip_token_char(&token, 40),
        &Value::Object(org.signer.public_jwk())
    ));
    // Our verifier resolves the org DID and accepts it; the normalized view has the Nuts shape
    // (docs/protocol.md §8.2).
    let v = futures::executor::block_on(verify_jwt_vc(
        &token,
        &org.resolver,
        &FixedClock(NOW + 10),
        &VerifyOptions::default(),
    ))
    .unwrap();
    assert_eq!(
        v.normalized["credentialSubject"][0]["roleName"],
        "Verpleegkundige"
    );
    assert_eq!(v.normalized["issuer"], ORG);
    wallet_protocol::vc::jwt::check_nuts_rules(&v.normalized).unwrap();
    // ... but not after it expired.
    assert!(futures::executor::block_on(verify_jwt_vc(
        &token,
        &org.resolver,
        &FixedClock(NOW + 3700),
        &VerifyOptions::default()
    ))
    .is_err());
}

#[test]
fn employee_credential_refuses_foreign_key_and_empty_fields() {
    let org = org();
    let (emp, emp_signer) = employee();
    // The employee's own key is not a key of the organization DID.
    assert!(issue_employee_credential(&emp_signer, &org.did, &emp, &claims(), NOW, 3600).is_err());
    let mut c = claims();
    c.role_name = " ".into();
    assert!(issue_employee_credential(&org.signer, &org.did, &emp, &c, NOW, 3600).is_err());
}

#[test]
fn jwt_vp_has_section_a4_shape_and_round_trips() {
    let org = org();
    let (emp, emp_signer) = employee();
    let vc = issue_employee_credential(&org.signer, &org.did, &emp, &claims(), NOW, 3600).unwrap();
    let req = PresentationRequest {
        holder: emp.clone(),
        audience: AS_URL.into(),
        nonce: "x3Gk-nonce".into(),
        credentials: vec![Credential::Jwt(vc.clone())],
        now: NOW + 60,
        validity_secs: 5,
    };
    let token = vp::issue_jwt_vp(&emp_signer, &req).unwrap();
    let (header, payload) = decode_parts(&token);
    assert_eq!(
        header,
        json!({"alg": "ES256", "kid": format!("{emp}#0"), "typ": "JWT"})
    );
    assert_eq!(
        keys(&payload),
        set(&["iss", "sub", "aud", "nonce", "nbf", "exp", "jti", "vp"])
    );
    assert_eq!(payload["iss"], emp.as_str());
    assert_eq!(payload["sub"], emp.as_str());
    assert_eq!(payload["aud"], AS_URL);
    assert_eq!(payload["nonce"], "x3Gk-nonce");
    assert_eq!(payload["nbf"], NOW + 59, "nbf is backdated by 1 s");
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap(),
        5
    );
    assert!(payload["jti"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{emp}#")));
    assert_eq!(
        payload["vp"],
        json!({"@context": ["https://www.w3.org/2018/credentials/v1"], "type": "VerifiablePresentation", "holder": emp.as_str(), "verifiableCredential": vc})
    );
    assert_eq!(vp::submission_path(0, 1), "$.verifiableCredential");
    assert!(ring_verify_es256(
        &token,
        &Value::Object(emp_signer.public_jwk())
    ));

    let clock = FixedClock(NOW + 61);
    let expect = PresentationExpectations {
        audience: Some(AS_URL.into()),
        nonce: Some("x3Gk-nonce".into()),
        max_validity_secs: Some(5),
        skew_secs: 0,
    };
    let v = futures::executor::block_on(vp::verify_jwt_vp(&token, &org.resolver, &clock, &expect))
        .unwrap();
    assert_eq!(v.holder, emp);
    assert_eq!(v.credentials.len(), 1);
    assert_eq!(v.credentials[0].issuer, org.did);

    let wrong_aud = PresentationExpectations {
        audience: Some("https://other/oauth2/x".into()),
        ..expect.clone()
    };
    assert!(matches!(
        futures::executor::block_on(vp::verify_jwt_vp(&token, &org.resolver, &clock, &wrong_aud)),
        Err(VpError::Audience)
    ));
    let wrong_nonce = PresentationExpectations {
        nonce: Some("other".into()),
        ..expect.clone()
    };
    assert!(matches!(
        futures::executor::block_on(vp::verify_jwt_vp(
            &token,
            &org.resolver,
            &clock,
            &wrong_nonce
        )),
        Err(VpError::Nonce)
    ));
    let late = FixedClock(NOW + 120);
    assert!(matches!(
        futures::executor::block_on(vp::verify_jwt_vp(&token, &org.resolver, &late, &expect)),
        Err(VpError::Validity(_))
    ));
    // A VP by someone else than the credential subject is refused.
    let (other, other_signer) = employee();
    let stolen = vp::issue_jwt_vp(
        &other_signer,
        &PresentationRequest {
            holder: other,
            ..req.clone()
        },
    )
    .unwrap();
    assert!(matches!(
        futures::executor::block_on(vp::verify_jwt_vp(&stolen, &org.resolver, &clock, &expect)),
        Err(VpError::HolderBinding(_))
    ));
}

fn org_credential(org: &Org) -> Value {
    let unsigned = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1", "https://w3c-ccg.github.io/lds-jws2020/contexts/lds-jws2020-v1.json"],
        "id": format!("{ORG}#36b83620-13b2-4fbf-a57a-618731839a6f"),
        "type": ["NutsOrganizationCredential", "VerifiableCredential"],
        "issuer": ORG,
        "issuanceDate": "2025-10-01T00:00:00Z",
        "credentialSubject": {"id": ORG, "organization": {"name": "Zorg B.V.", "city": "Utrecht"}}
    });
    ldp::sign(
        &unsigned,
        &org.signer,
        &ProofOptions {
            created: NOW - 1000,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn ldp_credential_and_vp_round_trip() {
    let org = org();
    let vc = org_credential(&org);
    assert_eq!(vc["proof"]["verificationMethod"], org.signer.key_id());
    let clock = FixedClock(NOW);
    let v = futures::executor::block_on(verify_credential(
        &Credential::Ldp(vc.clone()),
        &org.resolver,
        &clock,
        &VerifyOptions::default(),
    ))
    .unwrap();
    assert_eq!(v.subject_ids(), vec![ORG.to_owned()]);
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["organization"]["city"] = json!("Utrechu");
    assert!(futures::executor::block_on(verify_credential(
        &Credential::Ldp(tampered),
        &org.resolver,
        &clock,
        &VerifyOptions::default()
    ))
    .is_err());

    let req = PresentationRequest {
        holder: org.did.clone(),
        audience: AS_URL.into(),
        nonce: "n-123".into(),
        credentials: vec![Credential::Ldp(vc)],
        now: NOW,
        validity_secs: 5,
    };
    let vp_doc = vp::issue_ldp_vp(&org.signer, &req).unwrap();
    assert_eq!(
        keys(&vp_doc),
        set(&[
            "@context",
            "id",
            "type",
            "holder",
            "verifiableCredential",
            "proof"
        ])
    );
    assert_eq!(
        keys(&vp_doc["proof"]),
        set(&[
            "type",
            "created",
            "expires",
            "challenge",
            "nonce",
            "domain",
            "proofPurpose",
            "verificationMethod",
            "jws"
        ])
    );
    assert_eq!(vp_doc["proof"]["domain"], AS_URL);
    assert_eq!(vp_doc["proof"]["challenge"], "n-123");
    assert_eq!(vp_doc["proof"]["nonce"], "n-123");
    let expect = PresentationExpectations {
        audience: Some(AS_URL.into()),
        nonce: Some("n-123".into()),
        max_validity_secs: Some(5),
        skew_secs: 0,
    };
    let text = serde_json::to_string(&vp_doc).unwrap();
    let v = futures::executor::block_on(vp::verify_presentation(
        &text,
        &org.resolver,
        &clock,
        &expect,
    ))
    .unwrap();
    assert_eq!(v.format, "ldp_vp");
    assert_eq!(v.holder, org.did);
    let mut tampered = vp_doc.clone();
    tampered["proof"]["domain"] = json!("https://evil.example/oauth2/x");
    let lax = PresentationExpectations {
        skew_secs: 0,
        ..Default::default()
    };
    assert!(
        futures::executor::block_on(vp::verify_ldp_vp(&tampered, &org.resolver, &clock, &lax))
            .is_err()
    );
    let wrong = PresentationExpectations {
        nonce: Some("other".into()),
        ..expect
    };
    assert!(matches!(
        futures::executor::block_on(vp::verify_ldp_vp(&vp_doc, &org.resolver, &clock, &wrong)),
        Err(VpError::Nonce)
    ));
}

#[test]
fn entity_statement_round_trip() {
    let org = org();
    let client_id = "https://zorg.example/oauth2/acme";
    let provider = metadata::wallet_provider_metadata(client_id);
    let token = build_entity_statement(&org.signer, client_id, provider, NOW, NOW + 3600).unwrap();
    let (header, payload) = decode_parts(&token);
    assert_eq!(
        header,
        json!({"alg": "ES256", "kid": org.signer.key_id(), "typ": "JWT"})
    );
    assert_eq!(
        keys(&payload),
        set(&["iss", "sub", "iat", "exp", "jwks", "metadata"])
    );
    assert_eq!(payload["iss"], client_id);
    assert_eq!(payload["sub"], client_id);
    assert_eq!(payload["jwks"]["keys"][0]["kid"], org.signer.key_id());
    let op = &payload["metadata"]["openid_provider"];
    assert_eq!(op["issuer"], client_id);
    assert_eq!(op["authorization_endpoint"], "nuts-wallet://authorize");
    assert_eq!(op["client_id_schemes_supported"], json!(["entity_id"]));
    assert_eq!(op["require_signed_request_object"], true);
    assert!(ring_verify_es256(
        &token,
        &Value::Object(org.signer.public_jwk())
    ));

    let v = futures::executor::block_on(verify_entity_statement(
        &token,
        &org.resolver,
        &FixedClock(NOW + 5),
    ))
    .unwrap();
    assert_eq!(
        v.openid_provider["authorization_endpoint"],
        "nuts-wallet://authorize"
    );
    let key = Jwk::from_map(org.signer.public_jwk()).unwrap();
    v.owns_key(org.signer.key_id(), &key).unwrap();
    let other = Jwk::from_map(SoftwareSigner::generate_es256("x").unwrap().public_jwk()).unwrap();
    assert!(matches!(
        v.owns_key(org.signer.key_id(), &other),
        Err(MetadataError::KeyMismatch(_))
    ));
    assert!(matches!(
        futures::executor::block_on(verify_entity_statement(
            &token,
            &org.resolver,
            &FixedClock(NOW + 4000)
        )),
        Err(MetadataError::Expired)
    ));
    assert!(futures::executor::block_on(verify_entity_statement(
        &flip_token_char(&token, 60),
        &org.resolver,
        &FixedClock(NOW)
    ))
    .is_err());
}

#[test]
fn import_check_for_the_organization() {
    let org = org();
    let vc = Credential::Ldp(org_credential(&org));
    let clock = FixedClock(NOW);
    let v = futures::executor::block_on(wallet_protocol::vc::verify_for_holder(
        &vc,
        &org.did,
        &org.resolver,
        &clock,
    ))
    .unwrap();
    assert_eq!(v.issuer, org.did);
    // Another organization cannot import it.
    let other = Did::parse("did:web:other.example:iam:1").unwrap();
    assert!(matches!(
        futures::executor::block_on(wallet_protocol::vc::verify_for_holder(
            &vc,
            &other,
            &org.resolver,
            &clock
        )),
        Err(wallet_protocol::vc::jwt::VcError::SubjectMismatch(_))
    ));
    // Organization credential content rules.
    let mut normalized = wallet_protocol::vc::normalize::ldp_vc(&org_credential(&org));
    wallet_protocol::vc::check_organization_credential(&normalized).unwrap();
    normalized["credentialSubject"]["organization"]["city"] = json!("");
    assert!(wallet_protocol::vc::check_organization_credential(&normalized).is_err());
    // A JWT employee credential is about the employee, not the organization.
    let (emp, _) = employee();
    let jwt = issue_employee_credential(&org.signer, &org.did, &emp, &claims(), NOW, 3600).unwrap();
    let jwt = Credential::Jwt(jwt);
    assert!(
        futures::executor::block_on(wallet_protocol::vc::verify_for_holder(
            &jwt,
            &org.did,
            &org.resolver,
            &clock
        ))
        .is_err()
    );
    assert!(
        futures::executor::block_on(wallet_protocol::vc::verify_for_holder(
            &jwt,
            &emp,
            &org.resolver,
            &clock
        ))
        .is_ok()
    );
}

#[test]
fn verify_jws_by_did_url() {
    let org = org();
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(ORG));
    let token = wallet_protocol::jose::sign_jwt(&org.signer, &claims).unwrap();
    let (jws, kid) =
        futures::executor::block_on(did::verify_jws(&token, &org.resolver, NOW)).unwrap();
    assert_eq!(kid.as_str(), org.signer.key_id());
    assert_eq!(jws.claims().unwrap()["iss"], ORG);
    // A key that is not in the DID document.
    let stranger = SoftwareSigner::generate_es256(format!("{ORG}#other")).unwrap();
    let token = wallet_protocol::jose::sign_jwt(&stranger, &claims).unwrap();
    assert!(futures::executor::block_on(did::verify_jws(&token, &org.resolver, NOW)).is_err());
}

#[test]
fn nuts_v6_style_jwt_vp_without_iss_verifies() {
    // Released v6 nodes send no `iss`, a string `vp.type` and a single unwrapped credential
    // (vector jwt-vp-didnuts-shape-only.jwt); we accept that shape.
    let org = org();
    let vc = org_credential(&org);
    let claims = json!({
        "sub": ORG, "jti": format!("{ORG}#94045362"), "nbf": NOW - 1, "exp": NOW + 4, "nonce": "nonce", "aud": AS_URL,
        "vp": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": "VerifiablePresentation", "verifiableCredential": vc}
    });
    let token = wallet_protocol::jose::sign_jwt(&org.signer, claims.as_object().unwrap()).unwrap();
    let expect = PresentationExpectations {
        audience: Some(AS_URL.into()),
        nonce: Some("nonce".into()),
        max_validity_secs: Some(5),
        skew_secs: 0,
    };
    let v = futures::executor::block_on(vp::verify_jwt_vp(
        &token,
        &org.resolver,
        &FixedClock(NOW),
        &expect,
    ))
    .unwrap();
    assert_eq!(v.holder, org.did);
    assert_eq!(v.credentials[0].credential.format(), "ldp_vc");
    // Valid for longer than 5 s: refused when the s2s limit applies.
    let long = json!({"sub": ORG, "nbf": NOW - 1, "exp": NOW + 60, "nonce": "nonce", "aud": AS_URL, "vp": claims["vp"].clone()});
    let token = wallet_protocol::jose::sign_jwt(&org.signer, long.as_object().unwrap()).unwrap();
    assert!(matches!(
        futures::executor::block_on(vp::verify_jwt_vp(
            &token,
            &org.resolver,
            &FixedClock(NOW),
            &expect
        )),
        Err(VpError::Validity(_))
    ));
}

#[test]
fn jwt_vc_kid_must_belong_to_the_issuer() {
    let org = org();
    let (emp, emp_signer) = employee();
    // Signed by the employee's key but claiming the organization as issuer.
    let claims = json!({"iss": ORG, "sub": emp.as_str(), "jti": format!("{ORG}#1"), "nbf": NOW, "exp": NOW + 60,
        "vc": {"@context": ["https://www.w3.org/2018/credentials/v1"], "type": ["VerifiableCredential"], "credentialSubject": {"id": emp.as_str()}}});
    let token = wallet_protocol::jose::sign_jwt(&emp_signer, claims.as_object().unwrap()).unwrap();
    assert!(matches!(
        futures::executor::block_on(verify_jwt_vc(
            &token,
            &org.resolver,
            &FixedClock(NOW),
            &VerifyOptions::default()
        )),
        Err(wallet_protocol::vc::jwt::VcError::IssuerKeyMismatch(_))
    ));
    // No kid and a did:web issuer: refused (only did:jwk issuers may omit kid).
    let mut header = serde_json::Map::new();
    header.insert("kid".into(), Value::Null);
    let token = wallet_protocol::jose::sign_compact(
        &org.signer,
        Some("JWT"),
        header,
        &serde_json::to_vec(&claims).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        futures::executor::block_on(verify_jwt_vc(
            &token,
            &org.resolver,
            &FixedClock(NOW),
            &VerifyOptions::default()
        )),
        Err(wallet_protocol::vc::jwt::VcError::IssuerKeyMismatch(_))
    ));
}
