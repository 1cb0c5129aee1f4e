//! Publication endpoints (docs/protocol.md §9.4): DID document, AS metadata, entity statement,
//! client metadata and the presentation definition endpoint.

use serde_json::json;
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::net::NetPolicy;
use wallet_protocol::SystemClock;

use crate::support::*;

#[tokio::test]
async fn publishes_metadata_did_and_a_verifiable_entity_statement() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki, vec![zorgtoepassing()]).await;
    let port = as_.base.rsplit(':').next().unwrap().to_owned();

    let m = as_
        .get(&format!(
            "{}/.well-known/oauth-authorization-server/oauth2/as",
            as_.base
        ))
        .await;
    assert_eq!(m.status, 200);
    let m = m.json();
    assert_eq!(m["issuer"], as_.issuer);
    assert_eq!(m["authorization_endpoint"], as_.url("authorize"));
    assert_eq!(m["token_endpoint"], as_.url("token"));
    assert_eq!(
        m["presentation_definition_endpoint"],
        as_.url("presentation_definition")
    );
    assert_eq!(
        m["grant_types_supported"],
        json!(["authorization_code", "vp_token-bearer"])
    );
    assert_eq!(m["client_id_schemes_supported"], json!(["entity_id"]));
    assert_eq!(m["require_signed_request_object"], true);
    assert_eq!(m["did_methods_supported"], json!(["jwk", "x509", "web"]));
    for f in ["jwt_vp_json", "jwt_vc_json"] {
        assert!(m["vp_formats_supported"][f]["alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256")));
    }
    assert_eq!(
        m["vp_formats_supported"]["ldp_vp"]["proof_type_values_supported"],
        json!(["JsonWebSignature2020"])
    );
    assert_eq!(m["vp_formats"], m["vp_formats_supported"]);

    let doc = as_.get(&format!("{}/iam/as/did.json", as_.base)).await;
    assert_eq!(doc.content_type.as_deref(), Some("application/did+json"));
    assert_eq!(
        doc.json()["id"],
        format!("did:web:localhost%3A{port}:iam:as")
    );

    // The entity statement verifies through did:web resolution over HTTPS.
    let es = as_
        .get(&format!(
            "{}/.well-known/openid-configuration/oauth2/as",
            as_.base
        ))
        .await;
    assert_eq!(
        es.content_type.as_deref(),
        Some("application/entity-statement+jwt")
    );
    let policy = NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
    };
    let resolver = UniversalResolver::from_policy(&policy).unwrap();
    let verified =
        wallet_protocol::metadata::verify_entity_statement(&es.body, &resolver, &SystemClock)
            .await
            .unwrap();
    assert_eq!(verified.claims["iss"], as_.issuer);
    assert_eq!(verified.openid_provider["issuer"], json!(as_.issuer));
    assert_eq!(
        verified.kid.did().as_str(),
        format!("did:web:localhost%3A{port}:iam:as")
    );

    let c = as_.get(&as_.url("oauth-client")).await.json();
    assert_eq!(c["client_id_scheme"], "entity_id");
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert!(c["vp_formats"]["jwt_vp_json"].is_object());

    let missing = as_
        .get(&format!(
            "{}/.well-known/oauth-authorization-server/oauth2/nobody",
            as_.base
        ))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn presentation_definition_endpoint_answers_as_nuts() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki, vec![zorgtoepassing()]).await;
    let pd = as_.url("presentation_definition");
    let org = as_.get(&format!("{pd}?scope=zorgtoepassing")).await;
    assert_eq!(org.json()["id"], "pd_any_care_organization");
    let user = as_
        .get(&format!("{pd}?scope=zorgtoepassing&wallet_owner_type=user"))
        .await;
    assert_eq!(user.json()["id"], "pd_any_employee_credential");
    assert_eq!(as_.get(&format!("{pd}?scope=")).await.json(), json!({}));
    as_.get(&format!("{pd}?scope=nope"))
        .await
        .assert_error(400, "invalid_scope");
    as_.get(&format!(
        "{pd}?scope=zorgtoepassing&wallet_owner_type=robot"
    ))
    .await
    .assert_error(400, "invalid_request");
}

#[tokio::test]
async fn org_only_policy_has_no_user_definition() {
    let pki = Pki::new();
    let as_ = TestAs::start(
        &pki,
        vec![vector_path(
            "presentation-definitions/e2e-openid4vp-policy.json",
        )],
    )
    .await;
    let r = as_
        .get(&format!(
            "{}?scope=test&wallet_owner_type=user",
            as_.url("presentation_definition")
        ))
        .await;
    r.assert_error(400, "invalid_request");
}

#[tokio::test]
async fn user_flow_can_be_switched_off() {
    let pki = Pki::new();
    let as_ = TestAs::start_with(&pki, vec![zorgtoepassing()], |c| c.user_flow = false).await;
    let m = as_
        .get(&format!(
            "{}/.well-known/oauth-authorization-server/oauth2/as",
            as_.base
        ))
        .await
        .json();
    assert!(m.get("authorization_endpoint").is_none());
    assert_eq!(as_.get(&as_.url("authorize")).await.status, 404);
    let r = as_
        .post_form(
            &as_.token_endpoint(),
            &[("grant_type", "authorization_code"), ("code", "x")],
            None,
        )
        .await;
    r.assert_error(400, "unsupported_grant_type");
}
