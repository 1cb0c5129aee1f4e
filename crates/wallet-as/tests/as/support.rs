//! Test harness: the AS over real HTTPS on loopback (dev mode, test CA), and a client
//! organization ("the wallet side") built from the core crates: its did:web document, signed
//! entity statement and one-time request objects served by a small HTTPS server of its own,
//! its credentials, VPs, JARs, PKCE and DPoP proofs.
//!
//! Issues 7/8 (the wallet-side OAuth client) can lift [`ClientOrg`] and the request builders.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use wallet_as::{AppState, Config};
use wallet_pex::{PresentationDefinition, SubmissionOptions, WalletCredential};
use wallet_protocol::did::{self, Did};
use wallet_protocol::jose::{b64url, Jwk, SoftwareSigner};
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::contexts;
use wallet_protocol::vc::jwt::{issue_jwt_vc, JwtVcRequest};
use wallet_protocol::{metadata, Clock, SystemClock};

pub use wallet_testkit::form::{form_body, query_of};
pub use wallet_testkit::vectors::path as vector_path;

/// The policy with an organization and a user definition (scope `zorgtoepassing`).
pub fn zorgtoepassing() -> PathBuf {
    vector_path("presentation-definitions/e2e-browser-zorgtoepassing-policy.json")
}

/// A clock that tests can move forward.
#[derive(Debug, Default)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_unix(&self) -> i64 {
        SystemClock.now_unix() + self.0.load(Ordering::SeqCst)
    }
}

/// A test PKI (CA + `localhost` certificate) on disk.
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

    /// An HTTP client trusting the test CA, never following redirects.
    pub fn http(&self) -> reqwest::Client {
        wallet_testkit::https::client_trusting_pem(self.ca_pem.as_bytes())
    }
}

/// A running AS.
pub struct TestAs {
    pub base: String,
    pub issuer: String,
    pub state: Arc<AppState>,
    pub clock: Arc<TestClock>,
    pub http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

/// A response: status, headers we need, body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// Asserts an OAuth error response with `status` and `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        let v = self.json();
        assert_eq!(v["error"], code, "{v}");
        v
    }

    /// Asserts a 302 to the client's redirect URI with `error=code`; returns the query.
    #[track_caller]
    pub fn assert_redirect_error(
        &self,
        redirect_prefix: &str,
        code: &str,
    ) -> HashMap<String, String> {
        assert_eq!(self.status, 302, "{}", self.body);
        let loc = self.location.clone().expect("Location");
        assert!(loc.starts_with(redirect_prefix), "{loc}");
        let q = query_of(&loc);
        assert_eq!(q.get("error").map(String::as_str), Some(code), "{loc}");
        q
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.unwrap();
    let h = |n: header::HeaderName| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (location, content_type) = (h(header::LOCATION), h(header::CONTENT_TYPE));
    Resp {
        status: r.status().as_u16(),
        location,
        content_type,
        body: r.text().await.unwrap(),
    }
}

impl TestAs {
    pub async fn start(pki: &Pki, policies: Vec<PathBuf>) -> Self {
        Self::start_with(pki, policies, |_| {}).await
    }

    pub async fn start_with(
        pki: &Pki,
        policies: Vec<PathBuf>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let d = pki.dir.path();
        let mut cfg: Config = toml::from_str(&format!(
            "listen = \"127.0.0.1:{port}\"\nbase_url = \"https://localhost:{port}\"\n\
             key_file = \"as-key-{port}.pem\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n\
             dev = true\nca_file = \"ca.pem\"\n"
        ))
        .unwrap();
        cfg.policy = policies;
        cfg.resolve_paths(d);
        tweak(&mut cfg);
        let clock = Arc::new(TestClock::default());
        let state = Arc::new(wallet_as::build_state(&cfg, clock.clone()).unwrap());
        let router = wallet_as::server::router(state.clone()).unwrap();
        let tls = pki.tls();
        let server = tokio::spawn(async move {
            let _ = wallet_as::server::serve(tcp, tls, router).await;
        });
        Self {
            base: format!("https://localhost:{port}"),
            issuer: state.identity.issuer.clone(),
            state,
            clock,
            http: pki.http(),
            _server: server,
        }
    }

    pub fn url(&self, rel: &str) -> String {
        format!("{}/{rel}", self.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        self.url("token")
    }

    pub async fn get(&self, url: &str) -> Resp {
        send(self.http.get(url).header("accept", "application/json")).await
    }

    pub async fn post_form(&self, url: &str, pairs: &[(&str, &str)], dpop: Option<&str>) -> Resp {
        let mut rb = self
            .http
            .post(url)
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(pairs));
        if let Some(p) = dpop {
            rb = rb.header("dpop", p);
        }
        send(rb).await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        self.post_form(
            &format!("{}/internal/auth/v2/accesstoken/introspect", self.base),
            &[("token", token)],
            None,
        )
        .await
        .json()
    }

    pub async fn presentation_definition(
        &self,
        scope: &str,
        owner: &str,
    ) -> PresentationDefinition {
        let r = self
            .get(&format!(
                "{}?scope={scope}&wallet_owner_type={owner}",
                self.url("presentation_definition")
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        PresentationDefinition::from_json(r.json()).unwrap()
    }

    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }
}

/// What the client's HTTPS server serves: path → (content type, body, one-time).
type Routes = Arc<Mutex<HashMap<String, (String, String, bool)>>>;
/// Hits per path.
type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// A client organization: did:web, key, entity statement, served over HTTPS by the test.
pub struct ClientOrg {
    pub base: String,
    pub client_id: String,
    pub did: Did,
    pub signer: SoftwareSigner,
    pub routes: Routes,
    pub hits: Hits,
    _server: tokio::task::JoinHandle<()>,
}

async fn serve_route(
    State((routes, hits)): State<(Routes, Hits)>,
    uri: Uri,
    _body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let mut r = routes.lock().unwrap();
    let Some((ct, body, once)) = r.get(&path).cloned() else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if once {
        r.remove(&path);
    }
    ([(header::CONTENT_TYPE, ct)], body).into_response()
}

impl ClientOrg {
    pub async fn start(pki: &Pki) -> Self {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let base = format!("https://localhost:{port}");
        let client_id = format!("{base}/oauth2/client");
        let did = Did::parse(&format!("did:web:localhost%3A{port}:iam:client")).unwrap();
        let signer = SoftwareSigner::generate_es256(did.with_fragment("0").as_str()).unwrap();
        let routes: Routes = Arc::default();
        let hits: Hits = Arc::default();
        let router = axum::Router::new()
            .fallback(serve_route)
            .with_state((routes.clone(), hits.clone()));
        let tls = pki.tls();
        let server = tokio::spawn(async move {
            let _ = wallet_as::server::serve(tcp, tls, router).await;
        });
        let org = Self {
            base,
            client_id,
            did,
            signer,
            routes,
            hits,
            _server: server,
        };
        let jwk = Jwk::from_map(org.signer.public_jwk()).unwrap();
        let doc = did::document::build_did_document(&org.did, &org.kid(), &jwk).unwrap();
        org.serve(
            "/iam/client/did.json",
            "application/did+json",
            doc.to_string(),
            false,
        );
        org.publish_entity_statement(&org.signer);
        org
    }

    pub fn kid(&self) -> did::DidUrl {
        did::DidUrl::parse(self.signer.key_id()).unwrap()
    }

    pub fn serve(&self, path: &str, ct: &str, body: String, once: bool) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (ct.to_owned(), body, once));
    }

    /// Stops serving `path` (404 from now on).
    pub fn remove(&self, path: &str) {
        self.routes.lock().unwrap().remove(path);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.client_id)
    }

    pub fn wallet_authorize_endpoint(&self) -> String {
        format!("{}/authorize", self.client_id)
    }

    /// Publishes an entity statement signed by `key_signer` listing its key.
    pub fn publish_entity_statement(&self, key_signer: &SoftwareSigner) {
        let mut provider = metadata::authorization_server_metadata(
            &self.client_id,
            Some(&self.wallet_authorize_endpoint()),
            None,
            None,
        );
        provider["issuer"] = json!(self.client_id);
        let now = SystemClock.now_unix();
        let es = metadata::build_entity_statement(
            key_signer,
            &self.client_id,
            provider,
            now - 1,
            now + 3600,
        )
        .unwrap();
        self.serve(
            "/.well-known/openid-configuration/oauth2/client",
            metadata::ENTITY_STATEMENT_CONTENT_TYPE,
            es,
            false,
        );
    }

    /// A self-issued NutsOrganizationCredential (JWT VC), valid from `nbf` to `exp`.
    pub fn org_credential(&self, nbf: i64, exp: i64) -> String {
        self.org_credential_for(&self.did, nbf, exp)
    }

    /// A NutsOrganizationCredential issued by this organization to `subject`.
    pub fn org_credential_for(&self, subject: &Did, nbf: i64, exp: i64) -> String {
        let mut claims = Map::new();
        claims.insert(
            "organization".into(),
            json!({"name": "Zorg Utrecht", "city": "Utrecht"}),
        );
        issue_jwt_vc(
            &self.signer,
            &JwtVcRequest {
                issuer: self.did.clone(),
                subject: subject.clone(),
                credential_type: "NutsOrganizationCredential".into(),
                extra_contexts: vec![contexts::NUTS_V1.into()],
                subject_claims: claims,
                not_before: nbf,
                expires: exp,
            },
        )
        .unwrap()
    }
}

/// The submission the wallet-pex engine builds for `creds` against `pd`, and the VP's
/// `verifiableCredential` value.
pub fn build_submission(pd: &PresentationDefinition, creds: &[String]) -> (Value, Value) {
    let wallet: Vec<WalletCredential> = creds
        .iter()
        .map(|c| WalletCredential::parse(c).unwrap())
        .collect();
    let eval = wallet_pex::evaluate(pd, &wallet, None);
    assert!(
        eval.fulfilled,
        "the test credentials must fulfil {}",
        pd.id()
    );
    let built = eval
        .build_submission(pd, &wallet, &SubmissionOptions::default())
        .unwrap();
    (
        serde_json::to_value(&built.presentation_submission).unwrap(),
        built.verifiable_credential,
    )
}

pub fn sign(signer: &dyn Signer, claims: &Map<String, Value>) -> String {
    wallet_protocol::jose::sign_jwt(signer, claims).unwrap()
}

/// A fresh random string (nonces, states, PKCE verifiers).
pub fn random() -> String {
    let mut b = Vec::new();
    b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    b.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    b64url(&b)
}

/// PKCE S256 challenge of `verifier`.
pub fn s256(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// A DPoP proof for the AS token endpoint.
pub fn dpop(signer: &SoftwareSigner, htm: &str, htu: &str, iat: i64) -> String {
    wallet_protocol::dpop::create_dpop_proof(signer, htm, htu, iat, None, None).unwrap()
}

pub fn dpop_key() -> SoftwareSigner {
    SoftwareSigner::generate_es256("dpop").unwrap()
}

pub fn thumbprint(signer: &SoftwareSigner) -> String {
    Jwk::from_map(signer.public_jwk())
        .unwrap()
        .thumbprint_sha256()
        .unwrap()
}
