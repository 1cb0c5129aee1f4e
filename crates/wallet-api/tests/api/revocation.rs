//! Revocation before presenting (service tokens): the organization credential's
//! StatusList2021 entry is re-checked right before each VP. A revoked credential never
//! reaches the authorization server; an unreachable list lets the request go ahead with the
//! reason in the activity log, unless the policy says strict.

use wallet_core::access_policy::{RevocationPolicy, ServicePolicy};
use wallet_core::oauth::{ChannelKind, ServiceTokenError, TokenType};
use wallet_protocol::{Clock, SystemClock};
use wallet_testkit::vc::StatusIssuer;
use wallet_vault::{CredentialFilter, Passphrase};

use crate::support::*;

const LIST_PATH: &str = "/statuslist/1";
const INDEX: u64 = 42;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_never_reaches_the_authorization_server() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let w = Wallet::new(&pki, &[(as_.issuer.as_str(), SCOPE)], None).await;
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let now = SystemClock.now_unix();

    // The organization's credential is replaced by one with a status entry on a list the
    // organization's web server serves.
    let issuer = StatusIssuer::new(&format!("{}{LIST_PATH}", w.org_server.base));
    let serve_list = |revoked: &[u64]| {
        let list = issuer.status_list(revoked, SystemClock.now_unix(), 86_400);
        w.org_server
            .serve(LIST_PATH, 200, "application/json", list.to_string());
    };
    serve_list(&[]);
    for m in w
        .vault
        .credentials()
        .list(&CredentialFilter::default())
        .unwrap()
    {
        w.vault.credentials().delete(&admin, &m.id).unwrap();
    }
    let cred = issuer.org_credential(&w.org.did, INDEX, now);
    let imported = wallet_core::credentials::import_credential(
        &w.vault,
        &admin,
        &cred.to_string(),
        &w.runtime.verify_env(),
    )
    .await
    .expect("imported");
    assert_eq!(imported.revocation.status, "active");
    w.service.forget_cached_tokens();

    let ask = || {
        let mut r = request(&as_.issuer, SCOPE, TokenType::Bearer, vec![employee()]);
        r.no_cache = true;
        w.service
            .request_service_access_token("zorg", r, ChannelKind::Api)
    };

    // Active: presented, nothing withheld.
    ask().await.expect("token while the credential is active");
    let e = w.last_token_entry();
    assert_eq!(e.outcome, "success");
    assert!(e.detail.get("withheld").is_none(), "{}", e.detail);

    // Revoked at the issuer: after the cached list is gone, the wallet refuses before the AS
    // sees a VP (a Nuts AS would refuse it as `invalid_request`; here it is the wallet's own
    // 412 naming the credential).
    serve_list(&[INDEX]);
    w.runtime.forget_status_lists();
    let err = ask()
        .await
        .expect_err("a revoked credential is not presented");
    assert!(
        matches!(err, ServiceTokenError::NoMatchingCredential { .. }),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 412);
    let msg = err.to_string();
    assert!(msg.contains("not presented"), "{msg}");
    assert!(msg.contains("revoked by its issuer"), "{msg}");
    let e = w.last_token_entry();
    assert_eq!(e.outcome, "failure");
    assert_eq!(e.detail["withheld"][0]["code"], "revoked", "{}", e.detail);
    assert_eq!(e.detail["credentials"], serde_json::json!([]));

    // The list server is down: lenient (default) goes ahead, and says why it was unchecked.
    w.org_server.serve(LIST_PATH, 503, "text/plain", "down");
    w.runtime.forget_status_lists();
    ask().await.expect("lenient: presented although unchecked");
    let e = w.last_token_entry();
    assert_eq!(e.outcome, "success");
    let unchecked = &e.detail["revocation_unchecked"][0];
    assert_eq!(unchecked["code"], "revocation_unknown", "{}", e.detail);
    assert!(
        unchecked["detail"].as_str().unwrap().contains("HTTP 503"),
        "{unchecked}"
    );

    // Strict: withheld until the status can be checked.
    let mut policy = ServicePolicy::load(&w.vault).unwrap();
    policy.revocation = RevocationPolicy::Strict;
    policy.save(&w.vault, &admin).unwrap();
    let err = ask().await.expect_err("strict: not presented unchecked");
    assert_eq!(err.code(), "no_matching_credential");
    let e = w.last_token_entry();
    assert_eq!(
        e.detail["withheld"][0]["code"], "revocation_unknown",
        "{}",
        e.detail
    );
    // Reachable and active again: presented under strict too.
    serve_list(&[]);
    ask().await.expect("strict: presented once checked");
}
