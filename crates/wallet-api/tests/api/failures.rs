//! Failures: each gives the right typed error, HTTP status and an activity entry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wallet_core::oauth::{
    AuthorizationServerError, ChannelKind, PromptDecision, PromptRequest, ServiceTokenError,
    ServiceTokenPrompt, TokenType,
};
use wallet_protocol::net::{
    BoxFuture, HttpClient, HttpRequest, HttpResponse, Method, NetError, ReqwestHttpClient,
};

use crate::support::*;

/// The HTTP edge of the wallet with a switch: counts requests and, when `demand_nonce` is
/// set, answers the first token request with `400 use_dpop_nonce` + `DPoP-Nonce` (RFC 9449
/// section 8) and forwards later ones to the real AS only if their proof carries that nonce.
struct Edge {
    inner: ReqwestHttpClient,
    calls: AtomicUsize,
    token_posts: AtomicUsize,
    demand_nonce: bool,
    nonces_seen: Mutex<Vec<Option<String>>>,
}

const SERVER_NONCE: &str = "srv-nonce-4f1c";

impl HttpClient for Edge {
    fn execute(&self, r: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, NetError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if self.demand_nonce && r.method == Method::Post && r.url.path().ends_with("/token") {
                let n = self.token_posts.fetch_add(1, Ordering::SeqCst);
                let proof = r
                    .headers
                    .iter()
                    .find(|(k, _)| k == "dpop")
                    .map(|(_, v)| v.clone())
                    .expect("DPoP header");
                let claims = wallet_protocol::vp::unverified_claims(&proof).unwrap();
                let nonce = claims
                    .get("nonce")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.nonces_seen.lock().unwrap().push(nonce.clone());
                if n == 0 || nonce.as_deref() != Some(SERVER_NONCE) {
                    return Ok(HttpResponse {
                        status: 400,
                        content_type: Some("application/json".into()),
                        body: br#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#.to_vec(),
                        headers: vec![("dpop-nonce".into(), SERVER_NONCE.into())],
                    });
                }
            }
            self.inner.execute(r).await
        })
    }
}

fn edge(pki: &Pki, demand_nonce: bool) -> Arc<Edge> {
    Arc::new(Edge {
        inner: ReqwestHttpClient::new(pki.net_policy()).unwrap(),
        calls: AtomicUsize::new(0),
        token_posts: AtomicUsize::new(0),
        demand_nonce,
        nonces_seen: Mutex::new(Vec::new()),
    })
}

async fn ask(
    w: &Wallet,
    issuer: &str,
    scope: &str,
    tt: TokenType,
    creds: Vec<Value>,
) -> ServiceTokenError {
    w.service
        .request_service_access_token("zorg", request(issuer, scope, tt, creds), ChannelKind::Api)
        .await
        .expect_err("the request must fail")
}

#[track_caller]
fn assert_failure_logged(w: &Wallet, issuer: &str, code: &str) -> Value {
    let e = w.last_token_entry();
    assert_eq!(e.subject, issuer);
    assert_eq!(e.outcome, "failure", "{e:?}");
    assert_eq!(e.detail["error"], code, "{}", e.detail);
    e.detail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_scope_and_missing_employee_credential() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let w = Wallet::new(
        &pki,
        &[(as_.issuer.as_str(), SCOPE), (as_.issuer.as_str(), "nope")],
        None,
    )
    .await;

    let e = ask(&w, &as_.issuer, "nope", TokenType::DPoP, vec![employee()]).await;
    assert!(
        matches!(
            e,
            ServiceTokenError::Server(AuthorizationServerError::UnknownScope(_))
        ),
        "{e:?}"
    );
    assert_eq!((e.http_status(), e.oauth_error()), (400, "invalid_scope"));
    let d = assert_failure_logged(&w, &as_.issuer, "unknown_scope");
    assert_eq!(d["scope"], "nope");

    // Without the self-attested employee credential the definition cannot be met; the
    // explanation names the descriptor and what the closest credential lacks.
    let e = ask(&w, &as_.issuer, SCOPE, TokenType::DPoP, vec![]).await;
    let ServiceTokenError::NoMatchingCredential {
        definition_id,
        reasons,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(definition_id, "pd_any_care_organization_with_employee");
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("id_employee_credential_cred:"),
        "{reasons:?}"
    );
    assert!(reasons[0].contains("NutsEmployeeCredential"), "{reasons:?}");
    assert_eq!(e.http_status(), 412);
    let d = assert_failure_logged(&w, &as_.issuer, "no_matching_credential");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("id_employee_credential_cred"));
    assert_eq!(d["definition_id"], "pd_any_care_organization_with_employee");
    assert_eq!(d["credentials"], serde_json::json!([]));

    // A self-attested credential that names an issuer is refused before anything is sent.
    let mut forged = employee();
    forged["issuer"] = "did:web:elsewhere.example".into();
    let e = ask(&w, &as_.issuer, SCOPE, TokenType::DPoP, vec![forged]).await;
    assert!(matches!(e, ServiceTokenError::InvalidRequest(_)), "{e:?}");
    assert_failure_logged(&w, &as_.issuer, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_garbage_and_oversized_answers() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    // A port that nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = format!("https://localhost:{closed}/oauth2/down");
    // Misbehaving "authorization servers" on the organization's test server (the same
    // origin is fine: what matters is what they answer).
    let pending = Wallet::new(&pki, &[], None).await;
    let base = pending.org_server.base.clone();
    let garbage = format!("{base}/oauth2/garbage");
    let big = format!("{base}/oauth2/big");
    let badtoken = format!("{base}/oauth2/badtoken");
    let mut policy = wallet_core::access_policy::ServicePolicy::default();
    for a in [&down, &garbage, &big, &badtoken] {
        policy.allow_scope_without_prompt(a, SCOPE).unwrap();
    }
    let admin = pending
        .vault
        .admin_session(&wallet_vault::Passphrase::from(ADMIN_PW))
        .unwrap();
    policy.save(&pending.vault, &admin).unwrap();
    let w = pending;
    let srv = &w.org_server;
    srv.serve(
        "/.well-known/oauth-authorization-server/oauth2/garbage",
        200,
        "application/json",
        "<html>this is not metadata",
    );
    let huge = format!(
        "{{\"issuer\":\"{big}\",\"token_endpoint\":\"{big}/token\",\"pad\":\"{}\"}}",
        "x".repeat(200_000)
    );
    srv.serve(
        "/.well-known/oauth-authorization-server/oauth2/big",
        200,
        "application/json",
        huge,
    );
    let md = serde_json::json!({
        "issuer": badtoken,
        "token_endpoint": format!("{badtoken}/token"),
        "presentation_definition_endpoint": format!("{}/presentation_definition", as_.issuer),
        "grant_types_supported": ["vp_token-bearer"],
        "did_methods_supported": ["web", "jwk"],
        "vp_formats_supported": wallet_protocol::metadata::vp_formats(),
    });
    srv.serve(
        "/.well-known/oauth-authorization-server/oauth2/badtoken",
        200,
        "application/json",
        md.to_string(),
    );
    srv.serve(
        "/oauth2/badtoken/token",
        200,
        "application/json",
        "{\"access_tok",
    );

    let e = ask(&w, &down, SCOPE, TokenType::Bearer, vec![employee()]).await;
    assert!(
        matches!(
            e,
            ServiceTokenError::Server(AuthorizationServerError::Unreachable { .. })
        ),
        "{e:?}"
    );
    assert_eq!(
        (e.http_status(), e.oauth_error()),
        (503, "temporarily_unavailable")
    );
    assert_failure_logged(&w, &down, "unreachable");

    let e = ask(&w, &garbage, SCOPE, TokenType::Bearer, vec![employee()]).await;
    assert!(
        matches!(
            e,
            ServiceTokenError::Server(AuthorizationServerError::BadResponse { .. })
        ),
        "{e:?}"
    );
    assert_eq!(e.http_status(), 502);
    assert_failure_logged(&w, &garbage, "bad_response");

    let e = ask(&w, &big, SCOPE, TokenType::Bearer, vec![employee()]).await;
    assert!(
        matches!(&e, ServiceTokenError::Server(AuthorizationServerError::BadResponse { reason, .. }) if reason.contains("larger than")),
        "{e:?}"
    );
    assert_failure_logged(&w, &big, "bad_response");

    let e = ask(&w, &badtoken, SCOPE, TokenType::Bearer, vec![employee()]).await;
    assert!(
        matches!(
            &e,
            ServiceTokenError::Server(AuthorizationServerError::BadResponse {
                endpoint: wallet_core::oauth::error::Endpoint::Token,
                ..
            })
        ),
        "{e:?}"
    );
    let d = assert_failure_logged(&w, &badtoken, "bad_response");
    // The VP was built and sent: the entry names what was presented.
    assert_eq!(d["credentials"].as_array().unwrap().len(), 2, "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_nonce_is_retried_once_then_succeeds() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let e = edge(&pki, true);
    let w = Wallet::new(&pki, &[(as_.issuer.as_str(), SCOPE)], Some(e.clone())).await;
    let t = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]),
            ChannelKind::Api,
        )
        .await
        .expect("token after one nonce retry");
    assert_eq!(
        *e.nonces_seen.lock().unwrap(),
        vec![None, Some(SERVER_NONCE.to_owned())]
    );
    let i = as_
        .introspect(&pki.reqwest(), t.access_token.expose_secret())
        .await;
    assert_eq!(i["active"], true);
    assert_eq!(i["cnf"]["jkt"], w.dpop_jkt());
    assert_eq!(w.last_token_entry().outcome, "success");
    // The nonce is remembered: the next token request sends it right away.
    let mut again = request(&as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]);
    again.no_cache = true;
    w.service
        .request_service_access_token("zorg", again, ChannelKind::Api)
        .await
        .unwrap();
    assert_eq!(e.nonces_seen.lock().unwrap().len(), 3);
    assert_eq!(
        e.nonces_seen.lock().unwrap()[2].as_deref(),
        Some(SERVER_NONCE)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_server_outside_policy_and_consent() {
    let pki = Pki::new();
    let as_ = TestAs::start(&pki).await;
    let e = edge(&pki, false);
    // Nothing allowed.
    let w = Wallet::new(&pki, &[], Some(e.clone())).await;
    let err = ask(&w, &as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]).await;
    assert!(matches!(err, ServiceTokenError::NotAllowed(_)), "{err:?}");
    assert_eq!(
        (err.http_status(), err.oauth_error()),
        (403, "access_denied")
    );
    assert_failure_logged(&w, &as_.issuer, "not_allowed");
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        0,
        "nothing may be sent to a refused AS"
    );

    // Allowed server, scope not marked no-prompt: headless there is nobody to ask.
    let admin = w
        .vault
        .admin_session(&wallet_vault::Passphrase::from(ADMIN_PW))
        .unwrap();
    let mut p = wallet_core::access_policy::ServicePolicy::load(&w.vault).unwrap();
    p.allow_server(&as_.issuer).unwrap();
    p.save(&w.vault, &admin).unwrap();
    let err = ask(&w, &as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]).await;
    assert!(
        matches!(err, ServiceTokenError::ConsentRequired(_)),
        "{err:?}"
    );
    assert_failure_logged(&w, &as_.issuer, "consent_required");
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);

    // With the app's consent hook: a decline is logged as declined, an approval proceeds.
    struct Hook(PromptDecision, Mutex<Vec<PromptRequest>>);
    impl ServiceTokenPrompt for Hook {
        fn ask(&self, r: PromptRequest) -> BoxFuture<'_, PromptDecision> {
            self.1.lock().unwrap().push(r);
            let d = self.0;
            Box::pin(async move { d })
        }
    }
    let no = Arc::new(Hook(PromptDecision::Decline, Mutex::default()));
    w.service.set_service_prompt(Some(no.clone()));
    let err = ask(&w, &as_.issuer, SCOPE, TokenType::DPoP, vec![employee()]).await;
    assert!(matches!(err, ServiceTokenError::ConsentDeclined), "{err:?}");
    assert_eq!(w.last_token_entry().outcome, "declined");
    {
        let asked = no.1.lock().unwrap();
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].scope, SCOPE);
        assert_eq!(asked[0].authorization_server, as_.issuer);
        assert_eq!(
            asked[0].credentials[0]["credentialSubject"]["name"],
            "John Doe"
        );
    }

    w.service.set_service_prompt(Some(Arc::new(Hook(
        PromptDecision::Approve,
        Mutex::default(),
    ))));
    let t = w
        .service
        .request_service_access_token(
            "zorg",
            request(&as_.issuer, SCOPE, TokenType::Bearer, vec![employee()]),
            ChannelKind::App,
        )
        .await
        .expect("approved");
    assert_eq!(t.token_type, TokenType::Bearer);
    assert!(e.calls.load(Ordering::SeqCst) >= 3);
    // The Services view lists them newest first.
    let recent = w.service.recent(10).unwrap();
    let outcomes: Vec<&str> = recent.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "declined", "failure", "failure"]);
    assert_eq!(recent[0].channel.as_deref(), Some("app"));
    assert_eq!(recent[0].credentials.len(), 2);
    assert_eq!(recent[2].error.as_deref(), Some("consent_required"));

    // Unknown subject.
    let err = w
        .service
        .request_service_access_token(
            "someone-else",
            request(&as_.issuer, SCOPE, TokenType::Bearer, vec![employee()]),
            ChannelKind::Api,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceTokenError::UnknownSubject(_)),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 404);
}
