//! Bearer and DPoP tokens for the s2s scope of the RFC021 e2e policy, from the reference AS,
//! checked by its introspection endpoint.

use serde_json::Value;
use wallet_core::oauth::{ChannelKind, TokenType};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_dpop_tokens_introspect_with_the_expected_claims() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let w = Wallet::new(&pki, &[(as_.issuer.as_str(), SCOPE)], None).await;
    let http = pki.reqwest();

    // Bearer
    let t = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::Bearer, vec![employee()]),
            ChannelKind::Cli,
        )
        .await
        .expect("bearer token");
    assert_eq!(t.token_type, TokenType::Bearer);
    assert_eq!(t.dpop_kid, None);
    assert_eq!(t.scope.as_deref(), Some(SCOPE));
    let i = as_.introspect(&http, t.access_token.expose_secret()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["iss"], as_.issuer.as_str());
    assert_eq!(i["client_id"], w.org.client_id.as_str());
    assert_eq!(i["scope"], SCOPE);
    assert_eq!(i["employee_name"], "John Doe");
    assert_eq!(i["employee_role"], "Janitor");
    assert_eq!(i["employee_identifier"], "123456");
    assert!(i.get("cnf").is_none(), "a bearer token has no cnf: {i}");

    // Activity: AS, scope, presented credentials, outcome.
    let e = w.last_token_entry();
    assert_eq!(e.subject, as_.issuer);
    assert_eq!(e.outcome, "success");
    assert_eq!(e.detail["scope"], SCOPE);
    assert_eq!(e.detail["token_type"], "Bearer");
    assert_eq!(e.detail["vp_format"], "ldp_vp");
    assert_eq!(
        e.detail["definition_id"],
        "pd_any_care_organization_with_employee"
    );
    let creds = e.detail["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2, "{creds:?}");
    assert!(creds.iter().any(|c| c["types"]
        .as_array()
        .unwrap()
        .contains(&Value::from("NutsOrganizationCredential"))
        && c["self_attested"] == false));
    assert!(creds.iter().any(|c| c["types"]
        .as_array()
        .unwrap()
        .contains(&Value::from("NutsEmployeeCredential"))
        && c["self_attested"] == true
        && c["issuer"] == w.org.did.as_str()));
    assert!(!e
        .detail
        .to_string()
        .contains(t.access_token.expose_secret()));

    // DPoP
    let d = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]),
            ChannelKind::Cli,
        )
        .await
        .expect("dpop token");
    assert_eq!(d.token_type, TokenType::DPoP);
    let dpop_key = w.dpop_key();
    assert_eq!(
        d.dpop_kid.as_ref().map(|k| k.as_str()),
        Some(dpop_key.effective_kid())
    );
    assert_eq!(
        dpop_key.effective_kid(),
        format!(
            "urn:ietf:params:oauth:jwk-thumbprint:sha-256:{}",
            w.dpop_jkt()
        )
    );
    assert_ne!(
        d.access_token.expose_secret(),
        t.access_token.expose_secret()
    );
    let i = as_.introspect(&http, d.access_token.expose_secret()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["cnf"]["jkt"], w.dpop_jkt(), "{i}");
    assert_ne!(i["cnf"]["jkt"], w.org_jkt(), "{i}");
    assert_eq!(i["employee_name"], "John Doe");
    assert_eq!(i["client_id"], w.org.client_id.as_str());

    // The same request again is served from the token cache; no-cache gets a new token.
    let again = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]),
            ChannelKind::Cli,
        )
        .await
        .unwrap();
    assert_eq!(
        again.access_token.expose_secret(),
        d.access_token.expose_secret()
    );
    assert_eq!(w.last_token_entry().detail["cached"], true);
    let mut fresh_req = request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]);
    fresh_req.no_cache = true;
    let fresh = w
        .service
        .request_service_access_token("zorg", fresh_req, ChannelKind::Cli)
        .await
        .unwrap();
    assert_ne!(
        fresh.access_token.expose_secret(),
        d.access_token.expose_secret()
    );
    assert_eq!(w.last_token_entry().detail["cached"], false);
    // The workstation keeps its DPoP key: the new token is bound to the same one.
    assert_eq!(fresh.dpop_kid, d.dpop_kid);
    let fi = as_
        .introspect(&http, fresh.access_token.expose_secret())
        .await;
    assert_eq!(fi["cnf"]["jkt"], i["cnf"]["jkt"], "{fi}");
    // Another workstation (vault) of another organization has its own DPoP key.
    let w2 = Wallet::new(&pki, &[(as_.issuer.as_str(), SCOPE)], None).await;
    let d2 = w2
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]),
            ChannelKind::Cli,
        )
        .await
        .expect("dpop token of the second vault");
    let i2 = as_.introspect(&http, d2.access_token.expose_secret()).await;
    assert_eq!(i2["cnf"]["jkt"], w2.dpop_jkt(), "{i2}");
    assert_ne!(i2["cnf"]["jkt"], i["cnf"]["jkt"], "{i2}");
    assert_ne!(d2.dpop_kid, d.dpop_kid);
    // Another employee never gets the cached token of the first.
    let mut other = employee();
    other["credentialSubject"]["name"] = "Jane Roe".into();
    let o = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![other]),
            ChannelKind::Cli,
        )
        .await
        .unwrap();
    let i = as_.introspect(&http, o.access_token.expose_secret()).await;
    assert_eq!(i["employee_name"], "Jane Roe");

    // After the cache is dropped (the app does this when the vault locks) a new token is fetched.
    w.service.forget_cached_tokens();
    let after = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]),
            ChannelKind::Cli,
        )
        .await
        .unwrap();
    assert_ne!(
        after.access_token.expose_secret(),
        fresh.access_token.expose_secret()
    );
    assert_eq!(w.last_token_entry().detail["cached"], false);

    // Success entries: 6 requests, all logged, the chain intact.
    assert_eq!(w.token_entries().len(), 6);
    assert!(w.vault.activity_log().verify().unwrap().is_ok());
}
