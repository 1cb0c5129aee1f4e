//! Every verifiable Nuts vector verifies, and a one-byte change to it does not.

use serde_json::Value;
use sha2::{Digest, Sha256};
use wallet_protocol::did::{Did, StaticDidResolver};
use wallet_protocol::dpop::verify_dpop_proof;
use wallet_protocol::jose::Jwk;
use wallet_protocol::vc::jwt::{verify_jwt_vc, VcError, VerifyOptions};
use wallet_protocol::vc::ldp;
use wallet_protocol::vp::{verify_ldp_vp, PresentationExpectations};
use wallet_protocol::FixedClock;

use crate::common::*;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn testsuite_key() -> Jwk {
    Jwk::from_value(&vector_json("derived/jsonld-testsuite-public-key.jwk.json")).unwrap()
}

fn selfsigned_resolver() -> StaticDidResolver {
    let mut r = StaticDidResolver::new();
    r.insert(vector_json("credentials/selfsigned-diddocument.json"))
        .unwrap();
    r
}

/// (vector file, derived prefix)
const LD_VECTORS: [(&str, &str); 4] = [
    (
        "jsonld-orgcred_001.signed.json",
        "jsonld-orgcred_001.signed",
    ),
    (
        "jsonld-authcred_001.signed.json",
        "jsonld-authcred_001.signed",
    ),
    ("selfsigned-vc.jsonld.json", "selfsigned-vc"),
    ("selfsigned-vp.jsonld.json", "selfsigned-vp"),
];

#[test]
fn jsonld_canonical_forms_match_derived_vectors() {
    let expected = vector_json("derived/expected-values.json");
    for (file, derived) in LD_VECTORS {
        let doc = vector_json(&format!("credentials/{file}"));
        let mut document = doc.as_object().unwrap().clone();
        let proof = document.remove("proof").unwrap();
        let nq = ldp::canonicalize(&Value::Object(document)).unwrap();
        assert_eq!(
            nq,
            vector(&format!("derived/{derived}.document.nq")),
            "{file} document"
        );
        let mut options = proof.as_object().unwrap().clone();
        options.remove("jws");
        options.insert(
            "@context".into(),
            serde_json::json!([wallet_protocol::vc::contexts::JWS2020_V1]),
        );
        options.insert("@type".into(), options["type"].clone());
        let onq = ldp::canonicalize(&Value::Object(options)).unwrap();
        assert_eq!(
            onq,
            vector(&format!("derived/{derived}.proof-options.nq")),
            "{file} proof options"
        );
        let e = &expected[file];
        assert_eq!(
            hex(&Sha256::digest(nq.as_bytes())),
            e["sha256_document_nquads_hex"]
        );
        assert_eq!(
            hex(&Sha256::digest(onq.as_bytes())),
            e["sha256_proof_options_nquads_hex"]
        );
    }
}

#[test]
fn relative_verification_method_is_dropped_like_nuts() {
    let doc = vector_json("credentials/jsonld-orgcred_001.signed.json");
    assert_eq!(doc["proof"]["verificationMethod"], "key-id");
    let nq = vector("derived/jsonld-orgcred_001.signed.proof-options.nq");
    assert!(!nq.contains("verificationMethod"));
    // ...and therefore our signature check accepts the fixture with the testsuite key.
    ldp::verify_with_key(&doc, &testsuite_key()).unwrap();
}

#[test]
fn jsonld_testsuite_credentials_verify_and_every_changed_value_fails() {
    let key = testsuite_key();
    for file in [
        "jsonld-orgcred_001.signed.json",
        "jsonld-authcred_001.signed.json",
    ] {
        let doc = vector_json(&format!("credentials/{file}"));
        ldp::verify_with_key(&doc, &key).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut checked = 0;
        for (path, value) in string_leaves(&doc) {
            // The relative `key-id` is not part of the canonical form (Nuts quirk).
            if value == "key-id" {
                continue;
            }
            let mut changed = doc.clone();
            *leaf_mut(&mut changed, &path) = Value::String(flip_last_char(&value));
            assert!(
                ldp::verify_with_key(&changed, &key).is_err(),
                "{file}: change at {path:?} still verifies"
            );
            checked += 1;
        }
        assert!(checked >= 10, "{file}: only {checked} leaves");
    }
}

#[test]
fn selfsigned_vc_verifies_through_did_document() {
    let resolver = selfsigned_resolver();
    let doc = vector_json("credentials/selfsigned-vc.jsonld.json");
    let (proof, kid) = futures::executor::block_on(ldp::verify(&doc, &resolver)).unwrap();
    assert_eq!(
        kid.did().as_str(),
        "did:nuts:8NYzfsndZJHh6GqzKiSBpyERrFxuX64z6tE5raa7nEjm"
    );
    assert!(proof.created.is_some());
    for (path, value) in string_leaves(&doc) {
        let mut changed = doc.clone();
        *leaf_mut(&mut changed, &path) = Value::String(flip_last_char(&value));
        assert!(
            futures::executor::block_on(ldp::verify(&changed, &resolver)).is_err(),
            "change at {path:?} still verifies"
        );
    }
}

#[test]
fn selfsigned_vp_verifies_at_its_date_and_every_changed_value_fails() {
    let resolver = selfsigned_resolver();
    let doc = vector_json("credentials/selfsigned-vp.jsonld.json");
    let at = FixedClock(wallet_protocol::clock::parse_rfc3339("2023-04-21T10:00:00Z").unwrap());
    let challenge = doc["proof"]["challenge"].as_str().unwrap().to_owned();
    let expect = PresentationExpectations {
        nonce: Some(challenge),
        skew_secs: 5,
        ..Default::default()
    };
    let vp = futures::executor::block_on(verify_ldp_vp(&doc, &resolver, &at, &expect)).unwrap();
    assert_eq!(
        vp.holder.as_str(),
        "did:nuts:8NYzfsndZJHh6GqzKiSBpyERrFxuX64z6tE5raa7nEjm"
    );
    assert_eq!(vp.credentials.len(), 1);
    // After `expires` the presentation is refused.
    let late = FixedClock(wallet_protocol::clock::parse_rfc3339("2023-04-25T00:00:00Z").unwrap());
    assert!(futures::executor::block_on(verify_ldp_vp(&doc, &resolver, &late, &expect)).is_err());
    let mut checked = 0;
    for (path, value) in string_leaves(&doc) {
        let mut changed = doc.clone();
        *leaf_mut(&mut changed, &path) = Value::String(flip_last_char(&value));
        let r = futures::executor::block_on(verify_ldp_vp(
            &changed,
            &resolver,
            &at,
            &PresentationExpectations {
                skew_secs: 5,
                ..Default::default()
            },
        ));
        assert!(r.is_err(), "change at {path:?} still verifies");
        checked += 1;
    }
    assert!(checked > 20);
}

const SPHEREON_AT: i64 = 1_696_032_000; // 2023-09-30T00:00:00Z

#[test]
fn sphereon_did_jwk_vc_verifies_at_its_date() {
    let token = vector("credentials/jwt-vc-sphereon-didjwk.jwt");
    let token = token.trim();
    let resolver = StaticDidResolver::new();
    let v = futures::executor::block_on(verify_jwt_vc(
        token,
        &resolver,
        &FixedClock(SPHEREON_AT),
        &VerifyOptions::default(),
    ))
    .unwrap();
    // No kid header: Nuts derives `<iss>#0`.
    assert_eq!(v.kid.fragment(), "0");
    assert_eq!(v.kid.did(), v.issuer);
    let expected = vector_json("derived/expected-values.json");
    let decoded = wallet_protocol::did::jwk::decode(&v.issuer).unwrap();
    assert_eq!(
        serde_json::to_value(&decoded).unwrap(),
        expected["jwt-vc-sphereon-didjwk.jwt"]["issuer_did_jwk_decoded"]
    );
    // Expired a week later, not yet valid the year before.
    let late = futures::executor::block_on(verify_jwt_vc(
        token,
        &resolver,
        &FixedClock(SPHEREON_AT + 10 * 86400),
        &VerifyOptions::default(),
    ));
    assert!(matches!(late, Err(VcError::Expired(_))));
    let early = futures::executor::block_on(verify_jwt_vc(
        token,
        &resolver,
        &FixedClock(SPHEREON_AT - 365 * 86400),
        &VerifyOptions::default(),
    ));
    assert!(matches!(early, Err(VcError::NotYetValid(_))));
    // Every single-character change fails.
    for i in 0..token.len() {
        if token.as_bytes()[i] == b'.' {
            continue;
        }
        let changed = flip_token_char(token, i);
        let r = futures::executor::block_on(verify_jwt_vc(
            &changed,
            &resolver,
            &FixedClock(SPHEREON_AT),
            &VerifyOptions::default(),
        ));
        assert!(r.is_err(), "change at byte {i} still verifies");
    }
}

#[test]
fn dpop_vector_verifies_with_expected_thumbprint() {
    let token = vector("credentials/dpop-proof-token-endpoint.jwt");
    let token = token.trim();
    let p = verify_dpop_proof(token).unwrap();
    let expected = vector_json("derived/expected-values.json");
    assert_eq!(
        p.thumbprint,
        expected["dpop-proof-token-endpoint.jwt"]["jwk_thumbprint_sha256_b64url (cnf.jkt)"]
    );
    assert_eq!(p.thumbprint, "iWnqsL_zWuAGNB0ixYzKcNmiqygtNa1YIMXzF0w21eY");
    assert_eq!(p.htm, "POST");
    assert_eq!(p.htu, "https://server.example.com/token");
    assert_eq!(p.iat, 1_712_655_609);
    for i in 0..token.len() {
        if token.as_bytes()[i] == b'.' {
            continue;
        }
        assert!(
            verify_dpop_proof(&flip_token_char(token, i)).is_err(),
            "change at byte {i} still verifies"
        );
    }
}

#[test]
fn shape_only_vectors_parse_but_do_not_verify() {
    // Fake signatures: must never be accepted.
    let token = vector("credentials/jwt-vc-nutsemployee-shape-only.jwt");
    let resolver = StaticDidResolver::new();
    let r = futures::executor::block_on(verify_jwt_vc(
        token.trim(),
        &resolver,
        &FixedClock(1_712_570_000),
        &VerifyOptions::default(),
    ));
    assert!(r.is_err());
    let claims = wallet_protocol::vp::unverified_claims(token.trim()).unwrap();
    assert_eq!(claims["vc"]["type"][0], "NutsEmployeeCredential");
    assert!(Did::parse(claims["sub"].as_str().unwrap()).is_ok());
}
