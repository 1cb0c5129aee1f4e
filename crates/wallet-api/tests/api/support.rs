//! Test world: a test CA; the reference AS (`wallet-as`) with the RFC021 e2e policy over
//! HTTPS on loopback; a small HTTPS server of the organization (its did:web document, and any
//! extra route a test wants, e.g. a misbehaving AS); a vault with the organization set up,
//! a NutsOrganizationCredential (JSON-LD, JsonWebSignature2020) issued by a did:jwk test
//! issuer; the wallet's `TokenService` with dev mode + the test CA.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use wallet_core::access_policy::ServicePolicy;
use wallet_core::oauth::s2s::ServiceTokenRequest;
use wallet_core::oauth::{AuthorizationServerId, Scope, TokenService, TokenType};
use wallet_core::org::OrgInfo;
use wallet_core::runtime::{Network, WalletRuntime};
use wallet_protocol::did::UniversalResolver;
use wallet_protocol::jose::Jwk;
use wallet_protocol::net::{HttpClient, NetPolicy, ReqwestHttpClient};
use wallet_protocol::SystemClock;
use wallet_vault::{ActivityEntry, ActivityFilter, Passphrase, Protection, Vault};

pub const ADMIN_PW: &str = "administrator passphrase for api tests";
pub const SCOPE: &str = "test";

pub fn policy_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-rfc021-policy.json"
    ))
}

/// The self-attested employee credential of the s2s flow (docs/protocol.md §7.3).
pub fn employee() -> Value {
    json!({
        "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "credentialSubject": {"name": "John Doe", "roleName": "Janitor", "identifier": "123456"}
    })
}

/// Test CA + `localhost` certificate.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_pem: String,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pki = wallet_as::devca::generate(&["localhost".into()]).unwrap();
        std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
        std::fs::write(dir.path().join("server.pem"), &pki.cert_pem).unwrap();
        std::fs::write(dir.path().join("server-key.pem"), &pki.key_pem).unwrap();
        Self {
            ca_pem: pki.ca_pem,
            dir,
        }
    }

    pub fn tls(&self) -> Arc<tokio_rustls::rustls::ServerConfig> {
        wallet_as::server::tls_config(
            &self.dir.path().join("server.pem"),
            &self.dir.path().join("server-key.pem"),
        )
        .unwrap()
    }

    pub fn net_policy(&self) -> NetPolicy {
        NetPolicy {
            dev: true,
            extra_ca_pem: Some(self.ca_pem.as_bytes().to_vec()),
        }
    }

    /// reqwest trusting the test CA (for introspection and the loopback API).
    pub fn reqwest(&self) -> reqwest::Client {
        wallet_testkit::https::client_builder(Some(self.ca_pem.as_bytes()))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap()
    }
}

/// A running reference AS.
pub struct TestAs {
    pub base: String,
    pub issuer: String,
    _server: tokio::task::JoinHandle<()>,
}

/// The Nuts e2e browser policy (scope `zorgtoepassing`: an organization and a user
/// presentation definition), for the user flow.
pub fn user_policy_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/nuts/presentation-definitions/e2e-browser-zorgtoepassing-policy.json"
    ))
}

impl TestAs {
    pub async fn start(pki: &Pki) -> Self {
        Self::start_with(pki, vec![policy_file()]).await
    }

    /// An AS with these policy files.
    pub async fn start_with(pki: &Pki, policies: Vec<PathBuf>) -> Self {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let d = pki.dir.path();
        let mut cfg: wallet_as::Config = toml::from_str(&format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
             key_file = \"as-key-{port}.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
             dev = true\nca_file = \"ca.pem\"\n"
        ))
        .unwrap();
        cfg.policy = policies;
        cfg.resolve_paths(d);
        let state = Arc::new(wallet_as::build_state(&cfg, Arc::new(SystemClock)).unwrap());
        let router = wallet_as::server::router(state.clone()).unwrap();
        let tls = pki.tls();
        let server = tokio::spawn(async move {
            let _ = wallet_as::server::serve(tcp, tls, router).await;
        });
        Self {
            base: format!("https://localhost:{port}"),
            issuer: state.identity.issuer.clone(),
            _server: server,
        }
    }

    pub async fn introspect(&self, http: &reqwest::Client, token: &str) -> Value {
        let r = http
            .post(format!(
                "{}/internal/auth/v2/accesstoken/introspect",
                self.base
            ))
            .header("accept", "application/json")
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }
}

/// path → (status, content type, body).
pub type Routes = Arc<Mutex<HashMap<String, (u16, String, Vec<u8>)>>>;

/// The organization's HTTPS server (did:web document) that tests can add routes to.
pub struct OrgServer {
    pub base: String,
    pub routes: Routes,
    _server: tokio::task::JoinHandle<()>,
}

async fn serve_route(State(routes): State<Routes>, uri: Uri, _h: HeaderMap, _b: Bytes) -> Response {
    let r = routes.lock().unwrap();
    match r.get(uri.path()) {
        Some((status, ct, body)) => (
            StatusCode::from_u16(*status).unwrap(),
            [(header::CONTENT_TYPE, ct.clone())],
            body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

impl OrgServer {
    pub async fn start(pki: &Pki) -> Self {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let routes: Routes = Arc::default();
        let router = axum::Router::new()
            .fallback(serve_route)
            .with_state(routes.clone());
        let tls = pki.tls();
        let server = tokio::spawn(async move {
            let _ = wallet_as::server::serve(tcp, tls, router).await;
        });
        Self {
            base: format!("https://localhost:{port}"),
            routes,
            _server: server,
        }
    }

    pub fn serve(&self, path: &str, status: u16, ct: &str, body: impl Into<Vec<u8>>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, ct.to_owned(), body.into()));
    }
}

/// The wallet side.
pub struct Wallet {
    /// Keeps the vault directory alive.
    pub _dir: tempfile::TempDir,
    pub vault: Vault,
    pub org: OrgInfo,
    pub org_server: OrgServer,
    /// The wallet runtime over the vault (what the API and the holder run on).
    pub runtime: Arc<WalletRuntime>,
    /// The runtime's token service.
    pub service: Arc<TokenService>,
}

impl Wallet {
    /// A vault with an organization served by `org_server` and its credential, the policy
    /// allowing `allowed` (issuer, no-prompt scope) pairs, and a runtime (with its token
    /// service) whose HTTP client is `http` (default: reqwest with dev mode + the test CA).
    pub async fn new(
        pki: &Pki,
        allowed: &[(&str, &str)],
        http: Option<Arc<dyn HttpClient>>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let org_server = OrgServer::start(pki).await;
        let wallet_testkit::wallet::OrgWallet { vault, org } = wallet_testkit::wallet::org_wallet(
            dir.path(),
            Protection::Keyring,
            ADMIN_PW,
            &org_server.base,
        );
        let admin = vault.admin_session(&Passphrase::from(ADMIN_PW)).unwrap();
        let doc = wallet_core::org::own_did_document(&org).unwrap();
        let doc_path = url::Url::parse(&org.did_document_url)
            .unwrap()
            .path()
            .to_owned();
        org_server.serve(&doc_path, 200, "application/did+json", doc.to_string());
        let mut policy = ServicePolicy::default();
        for (a, s) in allowed {
            policy.allow_scope_without_prompt(a, s).unwrap();
        }
        policy.save(&vault, &admin).unwrap();
        // The employee of [`employee`]: the wallet signs an employee credential only for an
        // active roster entry.
        wallet_core::roster::add_employee(
            &vault,
            &admin,
            wallet_core::roster::NewRosterEntry {
                identifier: "123456".into(),
                name: "John Doe".into(),
                role: "Janitor".into(),
            },
        )
        .unwrap();
        let http = http.unwrap_or_else(|| {
            Arc::new(ReqwestHttpClient::new(pki.net_policy()).unwrap()) as Arc<dyn HttpClient>
        });
        let net = Network {
            http,
            resolver: Arc::new(UniversalResolver::from_policy(&pki.net_policy()).unwrap()),
            clock: Arc::new(SystemClock),
            policy: pki.net_policy(),
        };
        let runtime = Arc::new(WalletRuntime::new(net, Arc::new(vault.clone())));
        let service = runtime.token_service().unwrap();
        Self {
            _dir: dir,
            vault,
            org,
            org_server,
            runtime,
            service,
        }
    }

    pub fn org_jkt(&self) -> String {
        Jwk::from_map(self.org.public_jwk.clone())
            .unwrap()
            .thumbprint_sha256()
            .unwrap()
    }

    /// The vault's DPoP key (there is one once a DPoP token was asked for).
    pub fn dpop_key(&self) -> wallet_vault::KeyInfo {
        let keys: Vec<_> = self
            .vault
            .keys()
            .list()
            .unwrap()
            .into_iter()
            .filter(|k| k.purpose == "dpop")
            .collect();
        assert_eq!(keys.len(), 1, "one DPoP key per vault");
        keys.into_iter().next().unwrap()
    }

    /// Thumbprint of the DPoP key, computed from its public JWK; never the organization key's.
    pub fn dpop_jkt(&self) -> String {
        let k = self.dpop_key();
        let jkt = Jwk::from_map(k.public_jwk.clone())
            .unwrap()
            .thumbprint_sha256()
            .unwrap();
        assert_ne!(
            jkt,
            self.org_jkt(),
            "the DPoP key is not the organization key"
        );
        jkt
    }

    pub fn token_entries(&self) -> Vec<ActivityEntry> {
        self.vault
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("s2s.token".into()),
                ..ActivityFilter::default()
            })
            .unwrap()
    }

    pub fn last_token_entry(&self) -> ActivityEntry {
        self.token_entries()
            .into_iter()
            .next()
            .expect("an s2s.token entry")
    }
}

pub fn request(
    issuer: &str,
    scope: &str,
    token_type: TokenType,
    creds: Vec<Value>,
) -> ServiceTokenRequest {
    ServiceTokenRequest {
        authorization_server: AuthorizationServerId::parse(issuer).unwrap(),
        scope: Scope::parse(scope).unwrap(),
        token_type,
        credentials: creds,
        no_cache: false,
        credential_selection: Default::default(),
    }
}
