//! The user flow end to end (docs/protocol.md §3): the wallet as OAuth client
//! (`wallet_core::oauth::user`) and OpenID4VP holder (`wallet_core::openid4vp`) against the
//! reference AS over HTTPS on loopback with a test CA (dev mode), the organization's
//! publication bundle served over HTTPS. The consent screen is replaced by an explicit
//! decision. Negative cases use a fake verifier with its own did:web and entity statement that
//! serves hand-made request objects.

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use support::{OrgServer, Pki, Wallet, ADMIN_PW};
use wallet_core::access_policy::{ServicePolicy, UnlistedVerifiers};
use wallet_core::deeplink::{self, AuthorizeLink, DeepLink};
use wallet_core::oauth::dpop::DpopNonces;
use wallet_core::oauth::service::RequesterSource;
use wallet_core::oauth::user::{self, TokenPoll, UserSession};
use wallet_core::oauth::{AuthorizationServerId, Requester, Scope, TokenType, VaultOrganization};
use wallet_core::openid4vp::{self, Decision, HolderEnv, RequestObjectError, ResolveError, Round};
use wallet_core::roster::{self, NewRosterEntry};
use wallet_protocol::did::{self, UniversalResolver};
use wallet_protocol::jose::{self, Jwk, SoftwareSigner};
use wallet_protocol::metadata::{self, OrgIdentity};
use wallet_protocol::net::{HttpClient, ReqwestHttpClient};
use wallet_protocol::signer::Signer;
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::{ActivityFilter, Passphrase};

const SCOPE: &str = "zorgtoepassing";

fn zorgtoepassing() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))
}

struct As {
    base: String,
    issuer: String,
    _server: tokio::task::JoinHandle<()>,
}

async fn start_as(pki: &Pki) -> As {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
         key_file = \"as-key-{port}.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
         dev = true\nca_file = \"ca.pem\"\n"
    ))
    .unwrap();
    // plus scope `orgonly`: the same organization definition, no user definition
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(zorgtoepassing()).unwrap()).unwrap();
    let orgonly = pki.dir.path().join(format!("orgonly-{port}.json"));
    let policy = json!({"orgonly": {"organization": v["zorgtoepassing"]["organization"]}});
    std::fs::write(&orgonly, policy.to_string()).unwrap();
    cfg.policy = vec![zorgtoepassing(), orgonly];
    cfg.resolve_paths(pki.dir.path());
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let router = wallet_as::server::router(state.clone()).unwrap();
    let tls = pki.tls();
    let server = tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });
    As {
        base: format!("https://localhost:{port}"),
        issuer: state.identity.issuer.clone(),
        _server: server,
    }
}

struct World {
    pki: Pki,
    as_: As,
    w: Wallet,
    env: HolderEnv,
    http: Arc<dyn HttpClient>,
    browser: reqwest::Client,
    requester: Requester,
    employee_id: String,
}

/// Serves every file of a publication bundle on `server`.
fn serve_bundle(server: &OrgServer, files: &[metadata::PublishedFile]) {
    for f in files {
        server.serve(
            &format!("/{}", f.path),
            200,
            f.content_type,
            f.content.clone(),
        );
    }
}

async fn world() -> World {
    let pki = Pki::new();
    let as_ = start_as(&pki).await;
    let w = Wallet::new(&pki, &[], None).await;
    let admin = w.vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    // The organization's publication bundle (DID document + entity statement), over HTTPS.
    let out = tempfile::tempdir().unwrap();
    let report = wallet_core::org::publish(&w.vault, &admin, out.path(), &SystemClock).unwrap();
    for f in &report.files {
        let body = std::fs::read(out.path().join(&f.path)).unwrap();
        w.org_server
            .serve(&format!("/{}", f.path), 200, &f.content_type, body);
    }
    let emp = roster::add_employee(
        &w.vault,
        &admin,
        NewRosterEntry {
            identifier: "jdoe@example.com".into(),
            name: "John Doe".into(),
            role: "Verpleegkundige".into(),
        },
    )
    .unwrap();
    // The administrator lists the AS (a wallet answers only verifiers in its policy).
    let mut policy = ServicePolicy::load(&w.vault).unwrap();
    policy.allow_server(&as_.issuer).unwrap();
    policy.save(&w.vault, &admin).unwrap();
    let http = w.runtime.network().http.clone();
    let env = w.runtime.holder_env().unwrap();
    let requester = VaultOrganization.requester(&w.vault, "zorg").unwrap();
    let browser = pki.reqwest();
    World {
        pki,
        as_,
        w,
        env,
        http,
        browser,
        requester,
        employee_id: emp.id,
    }
}

fn query(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

impl World {
    fn callback(&self) -> String {
        format!("{}/oauth2/zorg/callback", self.w.org_server.base)
    }

    /// Client side up to the wallet link: discovery, PKCE, JAR #1, the browser's authorize
    /// request; returns the link the AS redirects to, the PKCE verifier and the token endpoint.
    /// What the loopback API does (request-user-access-token, then the landing URL in the
    /// browser) with `oauth::user`; the browser follows to the AS, which redirects to the
    /// wallet. Returns the wallet link and the session id.
    async fn start(&self, token_type: TokenType) -> (AuthorizeLink, String) {
        self.start_scope(SCOPE, token_type).await
    }

    async fn start_scope(&self, scope: &str, token_type: TokenType) -> (AuthorizeLink, String) {
        self.start_for(scope, token_type, None).await
    }

    async fn start_for(
        &self,
        scope: &str,
        token_type: TokenType,
        preauthorized_user: Option<&str>,
    ) -> (AuthorizeLink, String) {
        let issuer = AuthorizationServerId::parse(&self.as_.issuer).unwrap();
        let sessions = self.env.sessions.as_ref().unwrap();
        let now = SystemClock.now_unix();
        let (session_id, landing) = sessions
            .create(
                UserSession::new(
                    "zorg".into(),
                    issuer,
                    Scope::parse(scope).unwrap(),
                    token_type,
                    "https://ehr.example/cb".into(),
                    preauthorized_user.map(str::to_owned),
                    now,
                ),
                now,
            )
            .unwrap();
        assert!(matches!(
            sessions.poll(&session_id, now),
            TokenPoll::Pending
        ));
        let url = user::start_flow(
            self.http.as_ref(),
            &self.w.vault,
            sessions,
            &self.requester,
            &landing,
            &self.callback(),
            now,
        )
        .await
        .unwrap();
        // JAR #1 by value, signed by the organization key
        let q = query(url.as_str());
        assert_eq!(q["client_id"], self.requester.client_id.as_str());
        jose::verify_compact(
            &q["request"],
            &Jwk::from_map(self.requester.signer.public_jwk()).unwrap(),
        )
        .unwrap();
        let r = self.browser.get(url.as_str()).send().await.unwrap();
        assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        let DeepLink::Authorize(link) = deeplink::parse(&loc).unwrap();
        (link, session_id)
    }

    async fn introspect(&self, token: &str) -> Value {
        let r = self
            .browser
            .post(format!(
                "{}/internal/auth/v2/accesstoken/introspect",
                self.as_.base
            ))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    fn activity(&self, prefix: &str) -> Vec<wallet_vault::ActivityEntry> {
        self.w
            .vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some(prefix.into()),
                ..ActivityFilter::default()
            })
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_and_user_rounds_then_code_exchange_with_dpop_and_bearer() {
    let t = world().await;
    for token_type in [TokenType::DPoP, TokenType::Bearer] {
        let (link, session_id) = t.start(token_type).await;
        assert_eq!(link.client_id.as_str(), t.as_.issuer);

        // resolve → consent
        let resolved = openid4vp::resolve(&link, &t.env).await.expect("verified");
        let c = &resolved.consent;
        assert_eq!(c.round, Round::Organization);
        assert_eq!(c.verifier.client_id, t.as_.issuer);
        assert_eq!(c.verifier.host, "localhost");
        assert!(c.verifier.did.starts_with("did:web:localhost"));
        assert_eq!(c.scope.as_deref(), Some(SCOPE));
        assert!(c.evaluation.fulfilled, "{:?}", c.evaluation);
        assert_eq!(
            c.evaluation.descriptors[0].fields["organization_name"],
            "Zorg Utrecht"
        );
        assert!(c.expires_at.is_some());
        assert!(!c.unsolicited, "the wallet started this flow");
        assert!(!c.outside_policy);
        // the user round is known ahead: the employee credential's claims for the consent
        let preview = c
            .user_round
            .as_ref()
            .expect("zorgtoepassing has a user definition");
        assert_eq!(preview.definition_id, "pd_any_employee_credential");
        let now = SystemClock.now_unix();
        let ev = resolved
            .preview_user_round(&t.w.vault, "jdoe@example.com", now)
            .unwrap()
            .unwrap();
        assert!(ev.fulfilled, "{ev:?}");
        assert_eq!(ev.descriptors[0].fields["employee_name"], "John Doe");
        assert_eq!(ev.descriptors[0].fields["employee_role"], "Verpleegkundige");
        assert!(resolved
            .preview_user_round(&t.w.vault, "nobody@example.com", now)
            .unwrap()
            .is_err());

        // dispatch (Approved), both rounds
        let out = openid4vp::dispatch(
            &t.env,
            resolved,
            Decision::Approved {
                employee: "jdoe@example.com".into(),
            },
        )
        .await
        .expect("dispatched");
        assert_eq!(out.rounds, vec![Round::Organization, Round::User]);
        assert!(
            out.redirect_uri.starts_with(&t.callback()),
            "{}",
            out.redirect_uri
        );
        let q = query(&out.redirect_uri);

        // the callback: code exchange with the session's PKCE verifier; the EHR's redirect
        let sessions = t.env.sessions.as_ref().unwrap();
        let now = SystemClock.now_unix();
        let f = user::complete_flow(
            t.http.as_ref(),
            &DpopNonces::default(),
            &t.w.vault,
            sessions,
            &t.requester,
            &q["state"],
            Some(&q["code"]),
            None,
            &t.callback(),
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            (f.session_id.as_str(), f.flow.app_redirect_uri.as_str()),
            (session_id.as_str(), "https://ehr.example/cb")
        );
        // the state is one-time
        assert!(sessions.take_for_callback(&q["state"], now).is_err());
        // the EHR collects the token once
        let tok = match sessions.poll(&session_id, now) {
            TokenPoll::Active(tok) => tok,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            sessions.poll(&session_id, now),
            TokenPoll::Unknown
        ));
        assert_eq!(tok.token_type, token_type);
        assert_eq!(tok.scope.as_deref(), Some(SCOPE));
        let i = t.introspect(tok.access_token.expose_secret()).await;
        assert_eq!(i["active"], true, "{i}");
        assert_eq!(i["client_id"], t.w.org.client_id.as_str());
        assert_eq!(i["employee_identifier"], "jdoe@example.com", "{i}");
        assert_eq!(i["employee_name"], "John Doe");
        assert_eq!(i["employee_role"], "Verpleegkundige");
        assert_eq!(i["organization_name"], "Zorg Utrecht");
        assert_eq!(i.get("cnf").is_some(), token_type == TokenType::DPoP, "{i}");
    }
    // Activity: one entry per round, no VPs.
    let sent = t.activity(openid4vp::ACTION_SEND);
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|e| e.outcome == "success"));
    assert!(sent.iter().any(|e| e.detail["round"] == "user"
        && e.detail["employee"] == "jdoe@example.com"
        && e.detail["claims"]["employee_name"] == "John Doe"));
    for e in &sent {
        let d = e.detail.to_string();
        assert!(
            !d.contains(".eyJ") && !d.contains("vp_token") && !d.contains("proofValue"),
            "no VPs or JWTs in the activity log: {d}"
        );
    }
    let _ = &t.employee_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_round_only_for_a_scope_without_user_definition() {
    let t = world().await;
    let (link, session_id) = t.start_scope("orgonly", TokenType::Bearer).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    assert_eq!(resolved.consent.scope.as_deref(), Some("orgonly"));
    assert!(resolved.consent.user_round.is_none(), "no user definition");
    let out = openid4vp::dispatch(
        &t.env,
        resolved,
        Decision::Approved {
            employee: "jdoe@example.com".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(out.rounds, vec![Round::Organization]);
    let q = query(&out.redirect_uri);
    let sessions = t.env.sessions.as_ref().unwrap();
    let now = SystemClock.now_unix();
    user::complete_flow(
        t.http.as_ref(),
        &DpopNonces::default(),
        &t.w.vault,
        sessions,
        &t.requester,
        &q["state"],
        Some(&q["code"]),
        None,
        &t.callback(),
        now,
    )
    .await
    .unwrap();
    let TokenPoll::Active(tok) = sessions.poll(&session_id, now) else {
        panic!("no token")
    };
    assert_eq!(tok.token_type, TokenType::Bearer);
    let i = t.introspect(tok.access_token.expose_secret()).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["organization_name"], "Zorg Utrecht");
    assert!(i.get("employee_identifier").is_none(), "{i}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_employee_is_refused_before_anything_is_sent() {
    let t = world().await;
    let (link, _) = t.start(TokenType::DPoP).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    let e = openid4vp::dispatch(
        &t.env,
        resolved,
        Decision::Approved {
            employee: "nobody@example.com".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "employee", "{e:?}");
    assert!(t.activity(openid4vp::ACTION_SEND).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_employee_the_ehr_named_may_approve() {
    let t = world().await;
    let admin =
        t.w.vault
            .admin_session(&wallet_vault::Passphrase::from(ADMIN_PW))
            .unwrap();
    roster::add_employee(
        &t.w.vault,
        &admin,
        NewRosterEntry {
            identifier: "colleague@example.com".into(),
            name: "Col League".into(),
            role: "Arts".into(),
        },
    )
    .unwrap();
    let (link, _) = t
        .start_for(SCOPE, TokenType::Bearer, Some("jdoe@example.com"))
        .await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    assert_eq!(
        resolved.consent.preauthorized_user.as_deref(),
        Some("jdoe@example.com")
    );
    let e = openid4vp::dispatch(
        &t.env,
        resolved,
        Decision::Approved {
            employee: "colleague@example.com".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "employee", "{e:?}");
    assert!(e.to_string().contains("jdoe@example.com"), "{e}");
    assert!(
        t.activity(openid4vp::ACTION_SEND).is_empty(),
        "nothing sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declined_flow_ends_at_the_client_with_access_denied() {
    let t = world().await;
    let (link, session_id) = t.start(TokenType::DPoP).await;
    let resolved = openid4vp::resolve(&link, &t.env).await.unwrap();
    let out = openid4vp::dispatch(&t.env, resolved, Decision::Declined { by: None })
        .await
        .expect("the verifier answers with a redirect");
    assert!(
        out.redirect_uri.starts_with(&t.callback()),
        "{}",
        out.redirect_uri
    );
    assert_eq!(query(&out.redirect_uri)["error"], "access_denied");
    // the client side learns it from the holder (the AS sends no state with a wallet error):
    // the browser goes to the EHR with the error, the EHR's poll sees it
    let sessions = t.env.sessions.as_ref().unwrap();
    let now = SystemClock.now_unix();
    let browser =
        openid4vp::redirect_after_decline(&t.env, &t.as_.issuer.as_str().into(), &out.redirect_uri);
    let q = query(&browser);
    assert!(browser.starts_with("https://ehr.example/cb?"), "{browser}");
    assert_eq!(q["error"], "access_denied");
    // a second decline finds no running session and keeps the verifier's redirect
    assert_eq!(
        openid4vp::redirect_after_decline(&t.env, &t.as_.issuer.as_str().into(), &out.redirect_uri),
        out.redirect_uri
    );
    assert!(matches!(
        sessions.poll(&session_id, now),
        TokenPoll::Failed { ref error, .. } if error == "access_denied"
    ));
    let d = t.activity(openid4vp::ACTION_DECLINE);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].outcome, "declined");
    assert_eq!(d[0].subject, t.as_.issuer);
    assert!(t.activity(openid4vp::ACTION_SEND).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_object_used_twice_is_refused() {
    let t = world().await;
    let (link, _) = t.start(TokenType::DPoP).await;
    let first = openid4vp::resolve(&link, &t.env).await.unwrap();
    drop(first);
    let e = openid4vp::resolve(&link, &t.env).await.unwrap_err();
    // The reference AS serves a request object once; the wallet refuses a replayed nonce too.
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::Fetch(_))
                | ResolveError::Request(RequestObjectError::Replayed)
        ),
        "{e:?}"
    );
    assert!(e.dispatch.is_none());
}

/// A fake verifier: its own HTTPS server, did:web, entity statement, PD and client metadata;
/// request objects are served at `/req/<n>`.
struct FakeVerifier {
    server: OrgServer,
    signer: SoftwareSigner,
    did: did::Did,
    client_id: String,
}

impl FakeVerifier {
    async fn start(pki: &Pki) -> Self {
        let server = OrgServer::start(pki).await;
        let base = url::Url::parse(&server.base).unwrap();
        let did = metadata::default_org_did(&base).unwrap();
        let kid = did.with_fragment("k1");
        let signer = SoftwareSigner::generate_es256(kid.as_str()).unwrap();
        let identity = OrgIdentity {
            subject: "verifier".into(),
            base_url: base,
            did: did.clone(),
            kid,
            public_jwk: Jwk::from_map(signer.public_jwk()).unwrap(),
        };
        let files = metadata::publication_bundle(&signer, &identity, &SystemClock, 3600).unwrap();
        serve_bundle(&server, &files);
        let client_id = identity.client_id().unwrap().to_string();
        let pd = serde_json::from_slice::<Value>(&std::fs::read(zorgtoepassing()).unwrap())
            .unwrap()["zorgtoepassing"]["organization"]
            .clone();
        server.serve("/pd", 200, "application/json", pd.to_string());
        server.serve(
            "/client",
            200,
            "application/json",
            metadata::client_metadata().to_string(),
        );
        Self {
            server,
            signer,
            did,
            client_id,
        }
    }

    fn claims(&self, wallet_issuer: &str) -> Map<String, Value> {
        let now = SystemClock.now_unix();
        let b = &self.server.base;
        let v = json!({
            "iss": self.did.as_str(),
            "client_id": self.client_id,
            "client_id_scheme": "entity_id",
            "aud": wallet_issuer,
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": format!("{b}/oauth2/verifier/response"),
            "presentation_definition_uri": format!("{b}/pd?scope=x"),
            "client_metadata_uri": format!("{b}/client"),
            "nonce": user_random(),
            "state": "verifier-state",
            "iat": now,
            "exp": now + 60,
        });
        let Value::Object(m) = v else { unreachable!() };
        m
    }

    /// Serves `jwt` and returns the link to it (`client_id` as given).
    fn link(&self, n: usize, jwt: &str, client_id: &str) -> AuthorizeLink {
        let path = format!("/req/{n}");
        self.server.serve(
            &path,
            200,
            "application/oauth-authz-req+jwt",
            jwt.to_owned(),
        );
        let url = format!(
            "nuts-wallet://authorize?client_id={}&request_uri={}",
            urlencode(client_id),
            urlencode(&format!("{}{path}", self.server.base))
        );
        let DeepLink::Authorize(l) = deeplink::parse(&url).unwrap();
        l
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn user_random() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn unsigned(claims: &Map<String, Value>) -> String {
    let h = jose::b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let p = jose::b64url(serde_json::to_string(claims).unwrap().as_bytes());
    format!("{h}.{p}.")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_misdirected_request_objects_are_refused_before_consent() {
    let t = world().await;
    let v = FakeVerifier::start(&t.pki).await;
    let me = t.w.org.client_id.clone();

    // A verifier the policy does not list is refused before anything is fetched (its request
    // object is not even served: a fetch would fail differently).
    let unserved = v.link(999, "x", &v.client_id);
    v.server.serve("/req/999", 404, "text/plain", "gone");
    let e = openid4vp::resolve(&unserved, &t.env).await.unwrap_err();
    assert!(matches!(e.error, ResolveError::OutsidePolicy(_)), "{e:?}");
    assert!(e.dispatch.is_none());
    let admin =
        t.w.vault
            .admin_session(&wallet_vault::Passphrase::from(ADMIN_PW))
            .unwrap();
    let mut policy = ServicePolicy::load(&t.w.vault).unwrap();
    policy.allow_server(&v.client_id).unwrap();
    policy.save(&t.w.vault, &admin).unwrap();

    // No session of this wallet with the fake verifier: unsolicited, refused before fetching.
    let first = v.link(
        1000,
        &jose::sign_jwt(&v.signer, &v.claims(&me)).unwrap(),
        &v.client_id,
    );
    let e = openid4vp::resolve(&first, &t.env).await.unwrap_err();
    assert!(matches!(e.error, ResolveError::Unsolicited(_)), "{e:?}");
    assert!(e.dispatch.is_none());
    // The administrator may allow them for this verifier; the consent then says so.
    policy.allow_unsolicited(&v.client_id).unwrap();
    policy.save(&t.w.vault, &admin).unwrap();
    let r = openid4vp::resolve(&first, &t.env)
        .await
        .expect("allowed by policy");
    assert!(r.consent.unsolicited);
    assert!(!r.consent.outside_policy);
    // Or the policy shows unlisted verifiers with a warning (and `present --allow-unsolicited`).
    policy
        .servers
        .retain(|r| r.authorization_server != v.client_id);
    policy.unsolicited_verifiers.clear();
    policy.unlisted_verifiers = UnlistedVerifiers::Flag;
    policy.save(&t.w.vault, &admin).unwrap();
    let t_env = HolderEnv {
        allow_unsolicited: true,
        ..t.env.clone()
    };
    let env = &t_env;
    let flagged = v.link(
        1001,
        &jose::sign_jwt(&v.signer, &v.claims(&me)).unwrap(),
        &v.client_id,
    );
    let r = openid4vp::resolve(&flagged, env).await.expect("flagged");
    assert!(r.consent.unsolicited);
    assert!(r.consent.outside_policy);
    let sign = |c: &Map<String, Value>| jose::sign_jwt(&v.signer, c).unwrap();

    // The well-formed request resolves (so the refusals below are about the one change).
    let ok = openid4vp::resolve(&v.link(0, &sign(&v.claims(&me)), &v.client_id), env)
        .await
        .expect("a good request resolves");
    assert_eq!(ok.consent.verifier.client_id, v.client_id);
    assert_eq!(ok.consent.scope.as_deref(), Some("x"));

    let mut n = 1;
    let mut check = |jwt: String, client_id: &str| {
        n += 1;
        (v.link(n, &jwt, client_id), n)
    };

    // unsigned (alg none)
    let (l, _) = check(unsigned(&v.claims(&me)), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::Signature(_))
        ),
        "{e:?}"
    );
    assert!(e.dispatch.is_none());

    // signed by a key that is not the verifier's
    let mut other = SoftwareSigner::generate_es256("x").unwrap();
    other.set_key_id(v.did.with_fragment("k1").as_str());
    let (l, _) = check(
        jose::sign_jwt(&other, &v.claims(&me)).unwrap(),
        &v.client_id,
    );
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::Signature(_))
        ),
        "{e:?}"
    );

    // client_id in the link differs from the request object's (on the same origin: a
    // request_uri on another origin is refused before the fetch)
    let (l, _) = check(
        sign(&v.claims(&me)),
        &format!("{}/oauth2/other", v.server.base),
    );
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::ClientIdMismatch { .. })
        ),
        "{e:?}"
    );

    // wrong audience
    let (l, _) = check(
        sign(&v.claims("https://other-wallet.example/oauth2/x")),
        &v.client_id,
    );
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::WrongAudience(_))
        ),
        "{e:?}"
    );

    // expired
    let mut c = v.claims(&me);
    c.insert("exp".into(), json!(SystemClock.now_unix() - 10));
    let (l, _) = check(sign(&c), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert_eq!(e.error, ResolveError::Request(RequestObjectError::Expired));

    // response_uri on another origin
    let mut c = v.claims(&me);
    c.insert(
        "response_uri".into(),
        json!(format!("{}/oauth2/zorg/response", t.w.org_server.base)),
    );
    let (l, _) = check(sign(&c), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::ResponseUri(_))
        ),
        "{e:?}"
    );
    assert!(
        e.dispatch.is_none(),
        "never answered to an unverified response_uri"
    );

    // response_mode other than direct_post
    let mut c = v.claims(&me);
    c.insert("response_mode".into(), json!("fragment"));
    let (l, _) = check(sign(&c), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::ResponseMode(_))
        ),
        "{e:?}"
    );

    // wrong client_id_scheme and missing nonce: authentic, so the verifier may be told
    let mut c = v.claims(&me);
    c.insert("client_id_scheme".into(), json!("did"));
    let (l, _) = check(sign(&c), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::ClientIdScheme(_))
        ),
        "{e:?}"
    );
    let d = e.dispatch.expect("dispatchable");
    assert_eq!(d.error, "invalid_request");
    assert_eq!(d.state, "verifier-state");
    let mut c = v.claims(&me);
    c.remove("nonce");
    let (l, _) = check(sign(&c), &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert_eq!(
        e.error,
        ResolveError::Request(RequestObjectError::MissingNonce)
    );

    // the same request object served again (replay of a nonce)
    let replay = sign(&v.claims(&me));
    let (l, _) = check(replay.clone(), &v.client_id);
    openid4vp::resolve(&l, env).await.expect("first use");
    let (l, _) = check(replay, &v.client_id);
    let e = openid4vp::resolve(&l, env).await.unwrap_err();
    assert_eq!(e.error, ResolveError::Request(RequestObjectError::Replayed));

    // a key of the verifier's DID that its entity statement does not list
    let mut extra = SoftwareSigner::generate_es256("x").unwrap();
    extra.set_key_id(v.did.with_fragment("k2").as_str());
    let mut doc = did::document::build_did_document(
        &v.did,
        &v.did.with_fragment("k1"),
        &Jwk::from_map(v.signer.public_jwk()).unwrap(),
    )
    .unwrap();
    let mut vm = doc["verificationMethod"][0].clone();
    vm["id"] = json!(extra.key_id());
    vm["publicKeyJwk"] = Value::Object(extra.public_jwk());
    doc["verificationMethod"].as_array_mut().unwrap().push(vm);
    doc["assertionMethod"]
        .as_array_mut()
        .unwrap()
        .push(json!(extra.key_id()));
    let doc_path = did::web::did_to_url(&v.did).unwrap().path().to_owned();
    v.server
        .serve(&doc_path, 200, "application/did+json", doc.to_string());
    let (l, _) = check(
        jose::sign_jwt(&extra, &v.claims(&me)).unwrap(),
        &v.client_id,
    );
    // a fresh resolver (the DID document changed)
    let env = HolderEnv {
        resolver: Arc::new(UniversalResolver::from_policy(&t.pki.net_policy()).unwrap()),
        ..t_env.clone()
    };
    let e = openid4vp::resolve(&l, &env).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::KeyNotInEntityStatement(_))
        ),
        "{e:?}"
    );

    // outside development mode a request object on a private (loopback) address is not fetched
    let prod = HolderEnv {
        http: Arc::new(
            ReqwestHttpClient::new(wallet_protocol::NetPolicy {
                dev: false,
                extra_ca_pem: Some(t.pki.ca_pem.as_bytes().to_vec()),
            })
            .unwrap(),
        ),
        ..t_env.clone()
    };
    let (l, _) = check(sign(&v.claims(&me)), &v.client_id);
    let e = openid4vp::resolve(&l, &prod).await.unwrap_err();
    assert!(
        matches!(
            e.error,
            ResolveError::Request(RequestObjectError::AddressRefused(_))
        ),
        "{e:?}"
    );

    // every refusal is in the activity log, nothing was posted
    assert!(t.activity(openid4vp::ACTION_REFUSE).len() >= 10);
    assert!(t.activity(openid4vp::ACTION_SEND).is_empty());
}
