//! VP format negotiation (docs/protocol.md §8.3) with the vector definitions, and the
//! normalised views of third-party vector credentials.

use serde_json::json;
use wallet_pex::{
    negotiate_vp_format, nuts_default_formats, FormatDesignations, VpFormat, WalletOwnerType::*,
};

use crate::support::*;

fn negotiate(
    pd: &wallet_pex::PresentationDefinition,
    verifier: &FormatDesignations,
) -> Option<(VpFormat, Vec<String>)> {
    negotiate_vp_format(&nuts_default_formats(), verifier, pd.format()).map(|n| {
        let key = if n.format == VpFormat::JwtVp {
            "alg"
        } else {
            "proof_type"
        };
        (n.format, n.params[key].clone())
    })
}

#[test]
fn vector_definitions_negotiate_like_nuts() {
    let nuts_as = nuts_default_formats();
    let zorg = policy_pd(
        "e2e-browser-zorgtoepassing-policy.json",
        "zorgtoepassing",
        Organization,
    );
    assert_eq!(
        negotiate(&zorg, &nuts_as),
        Some((VpFormat::JwtVp, vec!["ES256".into()]))
    );
    let rfc021 = policy_pd("e2e-rfc021-policy.json", "test", Organization);
    assert_eq!(
        negotiate(&rfc021, &nuts_as),
        Some((VpFormat::LdpVp, vec!["JsonWebSignature2020".into()]))
    );
    let x509 = policy_pd("e2e-didx509-policy.json", "test", Organization);
    assert_eq!(
        negotiate(&x509, &nuts_as),
        Some((VpFormat::JwtVp, vec!["PS256".into()]))
    );
    // a definition `format` without any VP format breaks negotiation (docs/protocol.md §12)
    assert_eq!(negotiate(&pd("pe-test-pd_jsonld_jwt.json"), &nuts_as), None);
    // a verifier that only does JSON-LD VPs
    let ldp_only: FormatDesignations = serde_json::from_value(
        json!({"ldp_vp": {"proof_type_values_supported": ["JsonWebSignature2020"]}}),
    )
    .unwrap();
    assert_eq!(
        negotiate(&zorg, &ldp_only).map(|n| n.0),
        Some(VpFormat::LdpVp)
    );
    assert_eq!(negotiate(&x509, &ldp_only), None);
}

#[test]
fn third_party_jwt_vc_view() {
    // Sphereon did:jwk VC: credentialSubject given as an object in `vc`, duplicated top-level claims
    let c = cred("jwt-vc-sphereon-didjwk.jwt");
    let v = c.normalized();
    assert_eq!(
        v["type"],
        json!(["VerifiableCredential", "GuestCredential"])
    );
    assert!(v["credentialSubject"].is_array());
    assert_eq!(v["credentialSubject"][0]["firstName"], json!("Hello"));
    let subject_id = v["credentialSubject"][0]["id"].as_str().unwrap();
    assert!(
        subject_id.starts_with("did:jwk:eyJhbGciOiJFUzI1NksiL"),
        "sub is copied into the subject"
    );
    assert_ne!(json!(subject_id), v["issuer"]);
    assert!(v["issuer"].as_str().unwrap().starts_with("did:jwk:"));
    assert_eq!(v["issuanceDate"], json!("2023-09-29T12:31:08Z"));
    assert_eq!(v["expirationDate"], json!("2023-10-03T02:55:08Z"));
    assert!(v.get("firstName").is_none() && v.get("sub").is_none());
    assert_eq!(c.display_type(), "GuestCredential");
    assert_eq!(c.alg(), Some("ES256"));
    // no jti: no id
    assert_eq!(c.id(), "");
}

#[test]
fn json_ld_dates_are_printed_like_go() {
    let c = org_jsonld();
    assert_eq!(
        c.normalized()["issuanceDate"],
        json!("2022-06-01T15:34:40.65319+02:00")
    );
    assert_eq!(
        c.normalized()["proof"]["type"],
        json!("JsonWebSignature2020")
    );
    assert_eq!(
        c.normalized()["type"],
        json!(["NutsOrganizationCredential", "VerifiableCredential"])
    );
}
