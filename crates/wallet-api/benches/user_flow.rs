//! Benchmark of the headless user flow (docs/protocol.md §3) against the reference
//! authorization server on loopback (HTTPS, test CA), both rounds: scope `zorgtoepassing`
//! (an organization and a user presentation definition), the organization's publication
//! bundle (did:web document, entity statement) on a local HTTPS server, warm caches (AS
//! metadata, DID documents, TLS connections, parsed contexts). Every iteration runs the
//! whole flow: a user session (`sessions.create`), the client start (`user::start_flow`:
//! discovery, PKCE, JAR #1) and the browser's authorize request (redirects off) up to the
//! wallet link, `openid4vp::resolve` (request object, JAR verification, PD, consent model),
//! `dispatch` of the approval (organization VP and the user round with a fresh employee
//! credential), and the code exchange (`user::complete_flow`, DPoP) with the token pickup
//! (`sessions.poll`). Prints p50 / p95 / max of the whole flow and of each step.
//!
//! `cargo bench -p wallet-api --bench user_flow` (env `USER_FLOW_BENCH_N`, default 100).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, StatusCode, Uri};
use axum::response::IntoResponse;
use wallet_core::access_policy::ServicePolicy;
use wallet_core::deeplink::{self, DeepLink};
use wallet_core::oauth::dpop::DpopNonces;
use wallet_core::oauth::service::RequesterSource;
use wallet_core::oauth::user::{self, TokenPoll, UserSession, UserSessions};
use wallet_core::oauth::{AuthorizationServerId, Scope, TokenType, VaultOrganization};
use wallet_core::openid4vp::{self, Decision, HolderEnv, SeenRequests};
use wallet_core::roster::{self, NewRosterEntry};
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::net::{HttpClient, NetPolicy, ReqwestHttpClient};
use wallet_protocol::{Clock, SystemClock};
use wallet_vault::{Passphrase, Protection};

const SCOPE: &str = "zorgtoepassing";
const ADMIN_PW: &str = "bench administrator passphrase";
const EMPLOYEE: &str = "jdoe@example.com";

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let q = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i].as_secs_f64() * 1000.0
    };
    println!(
        "{name:<44} n={:<4} p50 {:>6.2} ms   p95 {:>6.2} ms   max {:>6.2} ms",
        samples.len(),
        q(0.50),
        q(0.95),
        q(1.0)
    );
}

type Routes = Arc<Mutex<std::collections::HashMap<String, (String, Vec<u8>)>>>;

/// A static HTTPS server (the organization's web server) on loopback.
async fn static_server(dir: &std::path::Path, routes: Routes) -> String {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let tls = wallet_as::server::tls_config(&dir.join("server.pem"), &dir.join("server-key.pem"))
        .unwrap();
    let router = axum::Router::new().fallback(move |uri: Uri| {
        let hit = routes.lock().unwrap().get(uri.path()).cloned();
        async move {
            match hit {
                Some((ct, body)) => ([(header::CONTENT_TYPE, ct)], body).into_response(),
                None => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    });
    tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });
    format!("https://localhost:{port}")
}

fn main() {
    let n: usize = std::env::var("USER_FLOW_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(n));
}

#[derive(Default)]
struct Steps {
    total: Vec<Duration>,
    start: Vec<Duration>,
    resolve: Vec<Duration>,
    dispatch: Vec<Duration>,
    exchange: Vec<Duration>,
}

async fn run(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let pki = wallet_as::devca::generate(&["localhost".into()]).unwrap();
    std::fs::write(d.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(d.join("server.pem"), &pki.cert_pem).unwrap();
    std::fs::write(d.join("server-key.pem"), &pki.key_pem).unwrap();
    let net = NetPolicy {
        dev: true,
        extra_ca_pem: Some(pki.ca_pem.as_bytes().to_vec()),
    };

    // The reference AS with the e2e browser policy (scope `zorgtoepassing`).
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let mut cfg: wallet_as::Config = toml::from_str(&format!(
        "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
         key_file = \"as-key.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
         dev = true\nca_file = \"ca.pem\"\n"
    ))
    .unwrap();
    cfg.policy = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))];
    cfg.resolve_paths(d);
    let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
    let issuer = state.identity.issuer.clone();
    let router = wallet_as::server::router(state).unwrap();
    let tls = wallet_as::server::tls_config(&cfg.tls_cert, &cfg.tls_key).unwrap();
    tokio::spawn(async move {
        let _ = wallet_as::server::serve(tcp, tls, router).await;
    });

    // Before anything loads the SoftHSM2 module: its configuration for this process.
    let hsm = wallet_testkit::softhsm::SoftHsm::shared();
    hsm.init_token("bench-user-flow");
    let hsm_uri = hsm.uri_on("bench-user-flow", "org");
    wallet_core::org::provide_pin(&hsm_uri.parse().unwrap(), hsm.pin());
    for (label, dir, key) in [
        ("organization key in the vault", "wallet", None),
        (
            "organization key in SoftHSM2",
            "wallet-hsm",
            Some(hsm_uri.as_str()),
        ),
    ] {
        org_case(d, &pki.ca_pem, &net, &issuer, n, label, dir, key).await;
    }
}

/// One organization (its key in the vault, or at the PKCS#11 URI `key`) and the measured
/// flows.
#[allow(clippy::too_many_arguments)]
async fn org_case(
    d: &std::path::Path,
    ca_pem: &str,
    net: &NetPolicy,
    issuer: &str,
    n: usize,
    label: &str,
    dir: &str,
    key: Option<&str>,
) {
    let issuer = issuer.to_owned();
    // The organization: vault, identity, its JSON-LD NutsOrganizationCredential, the
    // publication bundle on its HTTPS server, one employee, the AS listed in the policy.
    let routes: Routes = Arc::default();
    let org_base = static_server(d, routes.clone()).await;
    let wallet_testkit::wallet::OrgWallet { vault, org: _ } =
        wallet_testkit::wallet::org_wallet_with_key(
            &d.join(dir),
            Protection::Keyring,
            ADMIN_PW,
            &org_base,
            wallet_core::org::NewKeyLocation::parse(key).unwrap(),
        );
    let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
    let out = d.join(format!("{dir}-bundle"));
    let published = wallet_core::org::publish(&vault, &admin, &out, &SystemClock).unwrap();
    for f in &published.files {
        let body = std::fs::read(out.join(&f.path)).unwrap();
        routes
            .lock()
            .unwrap()
            .insert(format!("/{}", f.path), (f.content_type.to_string(), body));
    }
    roster::add_employee(
        &vault,
        &admin,
        NewRosterEntry {
            identifier: EMPLOYEE.into(),
            name: "John Doe".into(),
            role: "Verpleegkundige".into(),
        },
    )
    .unwrap();
    let mut policy = ServicePolicy::load(&vault).unwrap();
    policy.allow_server(&issuer).unwrap();
    policy.save(&vault, &admin).unwrap();

    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttpClient::new(net.clone()).unwrap());
    let net = net.clone();
    let resolver: Arc<dyn wallet_protocol::did::DidResolver> =
        Arc::new(UniversalResolver::from_policy(&net).unwrap());
    let clock: Arc<dyn wallet_protocol::Clock> = Arc::new(SystemClock);
    let env = HolderEnv {
        vault: vault.clone(),
        http: http.clone(),
        resolver: resolver.clone(),
        clock: clock.clone(),
        seen: Arc::new(SeenRequests::default()),
        sessions: Some(Arc::new(UserSessions::default())),
        allow_unsolicited: false,
        screener: wallet_core::credentials::Screener::new(wallet_core::credentials::VerifyEnv {
            resolver,
            http: http.clone(),
            policy: net.clone(),
            clock,
        }),
    };
    let requester = VaultOrganization.requester(&vault, "zorg").unwrap();
    let browser = wallet_testkit::https::client_builder(Some(ca_pem.as_bytes()))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let callback = format!("{org_base}/oauth2/zorg/callback");
    let nonces = DpopNonces::default();
    let sessions = env.sessions.clone().unwrap();

    let ctx = Ctx {
        env,
        sessions,
        http,
        requester,
        browser,
        callback,
        nonces,
        issuer,
    };

    // Warm-up: metadata, DID documents, TLS connections, parsed contexts.
    for _ in 0..5 {
        flow(&ctx, None).await;
    }
    let mut steps = Steps::default();
    for _ in 0..n {
        flow(&ctx, Some(&mut steps)).await;
    }
    println!("user flow (scope {SCOPE}, both rounds, DPoP, {label}) against the reference AS on loopback (warm caches)");
    report("whole flow", &mut steps.total);
    report(
        "  client start (session, JAR #1, authorize)",
        &mut steps.start,
    );
    report(
        "  resolve (request object, PD, consent)",
        &mut steps.resolve,
    );
    report(
        "  dispatch (organization + user round)",
        &mut steps.dispatch,
    );
    report("  code exchange + token pickup", &mut steps.exchange);
}

struct Ctx {
    env: HolderEnv,
    sessions: Arc<UserSessions>,
    http: Arc<dyn HttpClient>,
    requester: wallet_core::oauth::Requester,
    browser: reqwest::Client,
    callback: String,
    nonces: DpopNonces,
    issuer: String,
}

/// One user flow; the step durations go to `steps` when given.
async fn flow(c: &Ctx, steps: Option<&mut Steps>) {
    let (env, sessions, http, requester, browser, callback, nonces, issuer) = (
        &c.env,
        c.sessions.as_ref(),
        &c.http,
        &c.requester,
        &c.browser,
        c.callback.as_str(),
        &c.nonces,
        c.issuer.as_str(),
    );
    let t0 = Instant::now();
    // The EHR asks for a user token; the browser opens the landing URL.
    let now = SystemClock.now_unix();
    let (session_id, landing) = sessions
        .create(
            UserSession::new(
                "zorg".into(),
                AuthorizationServerId::parse(issuer).unwrap(),
                Scope::parse(SCOPE).unwrap(),
                TokenType::DPoP,
                "https://ehr.example/cb".into(),
                None,
                now,
            ),
            now,
        )
        .unwrap();
    let url = user::start_flow(
        http.as_ref(),
        &env.vault,
        sessions,
        requester,
        &landing,
        callback,
        now,
    )
    .await
    .expect("start_flow");
    let r = browser.get(url.as_str()).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let DeepLink::Authorize(link) = deeplink::parse(&loc).unwrap();
    let t1 = Instant::now();
    let resolved = openid4vp::resolve(&link, env).await.expect("resolve");
    let t2 = Instant::now();
    let outcome = openid4vp::dispatch(
        env,
        resolved,
        Decision::Approved {
            employee: EMPLOYEE.into(),
        },
    )
    .await
    .expect("dispatch");
    assert_eq!(outcome.rounds.len(), 2, "both rounds");
    let t3 = Instant::now();
    let q: std::collections::HashMap<String, String> = url::Url::parse(&outcome.redirect_uri)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let now = SystemClock.now_unix();
    user::complete_flow(
        http.as_ref(),
        nonces,
        &env.vault,
        sessions,
        requester,
        &q["state"],
        Some(&q["code"]),
        None,
        callback,
        now,
    )
    .await
    .expect("complete_flow");
    let TokenPoll::Active(_token) = sessions.poll(&session_id, now) else {
        panic!("no token");
    };
    let t4 = Instant::now();
    if let Some(s) = steps {
        s.total.push(t4 - t0);
        s.start.push(t1 - t0);
        s.resolve.push(t2 - t1);
        s.dispatch.push(t3 - t2);
        s.exchange.push(t4 - t3);
    }
}
