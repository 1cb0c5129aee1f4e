//! wallet-api: the wallet's loopback API for EHR software. It answers the Nuts node's
//! internal auth API v2 paths with the same JSON, so an EHR that talks to a Nuts node talks
//! to the wallet unchanged:
//!
//! | method | path | what |
//! |---|---|---|
//! | `GET`  | `/health` | liveness and whether the vault is unlocked (no key needed) |
//! | `GET`  | `/openapi.yaml` | this API's OpenAPI document (no key needed) |
//! | `POST` | `/internal/auth/v2/{subject}/request-service-access-token` | s2s token (RFC021) |
//! | `POST` | `/internal/auth/v2/dpop/{kid}` | DPoP proof for a resource request |
//! | `POST` | `/internal/auth/v2/{subject}/request-user-access-token` | start a user flow: landing URL + session id |
//! | `GET`  | `/oauth2/{subject}/user?token=` | the browser's landing URL: 302 to the AS (no key) |
//! | `GET`  | `/oauth2/{subject}/callback` | the AS's redirect back: code exchange, 302 to the EHR (no key) |
//! | `GET`  | `/internal/auth/v2/accesstoken/{session_id}` | the user flow's token: pending, once, or the error |
//!
//! Bound to 127.0.0.1 and `[::1]` on the same port (so no other process can take the other
//! loopback family and catch an EHR's `localhost` calls; when it is taken, [`serve`] fails);
//! every `/internal/` call needs `Authorization: Bearer <API key>`
//! (see [`api_key`]); the `/oauth2/` pages are for the clinician's browser and need no key
//! (see [`user`] for the user flow); `Host` must name the loopback interface (DNS rebinding
//! guard). Errors
//! are OAuth-style JSON `{"error", "error_description", "status"}` with the Nuts statuses
//! (400 input / OAuth error, 401 no or wrong key, 403 policy, 412 wallet cannot satisfy,
//! 502 AS error, 503 AS unreachable or wallet locked). Slow or idle clients are cut off
//! ([`HEADER_READ_TIMEOUT`], [`BODY_READ_TIMEOUT`]) and at most [`MAX_CONNECTIONS`] are served
//! at once, so held-open connections cannot use up the wallet's descriptors.
//!
//! Start it with [`serve`] (the app in-process, `nuts-wallet serve` headless); requests
//! outside the no-prompt policy go to the [`wallet_core::oauth::ServiceTokenPrompt`] installed on the
//! [`TokenService`] (headless: none, so they are refused). Not here: the OAuth flow itself
//! (`wallet_core::oauth`), TLS (loopback only), CORS (browsers are not clients).

pub mod api_key;
pub mod discovery;
pub mod user;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use wallet_core::oauth::s2s::ServiceTokenRequest;
use wallet_core::oauth::{
    AuthorizationServerId, ChannelKind, KeyId, Scope, ServiceTokenError, TokenService, TokenType,
};
use wallet_core::runtime::WalletRuntime;

/// The OpenAPI document of this API (also served at `/openapi.yaml`).
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");
/// Default port of `nuts-wallet serve` (a Nuts node's internal API listens on 8081).
pub const DEFAULT_PORT: u16 = 8081;
/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How long a client may take to send a request's headers, also while a kept-alive connection
/// waits for its next request; then the connection is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the body may stall (no data arriving) before the request fails.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; further ones wait in the OS backlog until one closes.
pub const MAX_CONNECTIONS: usize = 128;

/// How to start the API.
pub struct ApiConfig {
    /// TCP port on 127.0.0.1 and `[::1]` (0: any free port; see [`ApiHandle::local_addr`]).
    pub port: u16,
    /// The wallet runtime of this process: the API is an adapter over it. Its token service
    /// (whose vault holds the API key, and whose service-token prompt, if any, is asked) and
    /// its user-flow sessions, which the runtime's holder shares to tell a request the wallet
    /// started from an unsolicited one.
    pub runtime: Arc<WalletRuntime>,
}

impl ApiConfig {
    /// The API on `port` over the wallet runtime.
    pub fn from_runtime(runtime: Arc<WalletRuntime>, port: u16) -> Self {
        Self { port, runtime }
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Binding the port failed (in use, no permission) on 127.0.0.1, or on `[::1]`, where
    /// another process would catch the EHR's calls to `localhost`.
    #[error("cannot listen on {addr}: {source}; another program may be using the port (choose another port)")]
    Bind {
        /// The address (`127.0.0.1:port` or `[::1]:port`).
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The vault refused (locked, ...).
    #[error(transparent)]
    Vault(#[from] wallet_vault::VaultError),
}

/// A running API.
pub struct ApiHandle {
    addr: SocketAddr,
    ipv6: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for ApiHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiHandle")
            .field("addr", &self.addr)
            .field("ipv6", &self.ipv6)
            .finish()
    }
}

impl ApiHandle {
    /// Where it listens (127.0.0.1:port).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it also listens on `[::1]` on the same port (false only where the host has no
    /// IPv6 loopback, so nobody else can listen there either).
    pub fn listens_on_ipv6(&self) -> bool {
        self.ipv6
    }

    /// Base URL, e.g. `http://127.0.0.1:8081`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets running requests finish, and waits.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Waits until the server stops (it runs until [`ApiHandle::shutdown`] or an I/O error).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

#[derive(Clone)]
struct AppState {
    runtime: Arc<WalletRuntime>,
    /// The runtime's token service (service tokens, DPoP proofs; its vault holds the API key).
    service: Arc<TokenService>,
    port: u16,
}

/// Binds 127.0.0.1:`port` and `[::1]` on the same port, makes sure an API key exists
/// (created and logged when missing; needs the vault unlocked), and serves until
/// [`ApiHandle::shutdown`]. Fails when either address is taken.
pub async fn serve(config: ApiConfig) -> Result<ApiHandle, ApiError> {
    let service = config.runtime.token_service()?;
    api_key::ensure(service.vault())?;
    let (v4, v6) = bind_loopback(config.port).await?;
    let addr = v4.local_addr().map_err(|source| ApiError::Bind {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)),
        source,
    })?;
    let state = AppState {
        runtime: config.runtime,
        service,
        port: addr.port(),
    };
    let app = router(state);
    let ipv6 = v6.is_some();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_server(std::iter::once(v4).chain(v6).collect(), app, rx));
    tracing::info!(%addr, ipv6, "loopback API listening");
    Ok(ApiHandle {
        addr,
        ipv6,
        shutdown: Some(tx),
        task,
    })
}

/// 127.0.0.1:`port`, then `[::1]` on the port that got (a few tries for port 0, whose IPv4
/// pick may be taken on IPv6). `None` for IPv6 only where the host has no IPv6 loopback.
async fn bind_loopback(
    port: u16,
) -> Result<(tokio::net::TcpListener, Option<tokio::net::TcpListener>), ApiError> {
    let tries = if port == 0 { 5 } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        let v4_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let v4 = tokio::net::TcpListener::bind(v4_addr)
            .await
            .map_err(|source| ApiError::Bind {
                addr: v4_addr,
                source,
            })?;
        let got = v4.local_addr().map(|a| a.port()).unwrap_or(port);
        let v6_addr = SocketAddr::from((Ipv6Addr::LOCALHOST, got));
        match bind_v6_only(v6_addr) {
            Ok(v6) => return Ok((v4, Some(v6))),
            Err(e) if no_ipv6(&e) => {
                tracing::info!("no IPv6 loopback on this host; listening on 127.0.0.1 only");
                return Ok((v4, None));
            }
            Err(source) => {
                last = Some(ApiError::Bind {
                    addr: v6_addr,
                    source,
                })
            }
        }
    }
    Err(last.unwrap_or_else(|| ApiError::Bind {
        addr: SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        source: std::io::Error::other("no free port"),
    }))
}

/// `[::1]:port`, IPv6 only (not also taking IPv4-mapped addresses).
fn bind_v6_only(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v6()?;
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn no_ipv6(e: &std::io::Error) -> bool {
    // EADDRNOTAVAIL / EAFNOSUPPORT: no ::1 on this host.
    e.kind() == std::io::ErrorKind::AddrNotAvailable
        || matches!(e.raw_os_error(), Some(97) | Some(47) | Some(10047))
}

/// Accepts on every listener until `stop`, serving each connection over HTTP/1.1 with the
/// header and body timeouts, at most [`MAX_CONNECTIONS`] at once; then lets running requests
/// finish.
async fn run_server(
    listeners: Vec<tokio::net::TcpListener>,
    app: Router,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};

    let graceful = Arc::new(hyper_util::server::graceful::GracefulShutdown::new());
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let accept_loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            let (app, http, graceful, slots) =
                (app.clone(), http.clone(), graceful.clone(), slots.clone());
            tokio::spawn(async move {
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        return;
                    };
                    let stream = match listener.accept().await {
                        Ok((stream, _)) => stream,
                        Err(e) => {
                            // Out of descriptors and the like: wait, do not spin.
                            tracing::warn!(error = %e, "loopback API cannot accept");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let app = app.clone();
                    let service = hyper::service::service_fn(
                        move |req: axum::http::Request<hyper::body::Incoming>| {
                            use tower::Service as _;
                            let req = req.map(|b| {
                                axum::body::Body::new(tower_http::timeout::TimeoutBody::new(
                                    BODY_READ_TIMEOUT,
                                    b,
                                ))
                            });
                            app.clone().call(req)
                        },
                    );
                    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _ = conn.await;
                        drop(slot);
                    });
                }
            })
        })
        .collect();
    let _ = stop.await;
    for l in &accept_loops {
        l.abort();
    }
    for l in accept_loops {
        let _ = l.await;
    }
    if let Ok(g) = Arc::try_unwrap(graceful) {
        g.shutdown().await;
    }
    Ok(())
}

/// The API's router over `runtime` without a listener (makes sure an API key exists), for
/// in-process tests and fuzzing through `tower::ServiceExt::oneshot`. Not an API.
#[doc(hidden)]
pub fn router_for_tests(runtime: Arc<WalletRuntime>, port: u16) -> Result<Router, ApiError> {
    let service = runtime.token_service()?;
    api_key::ensure(service.vault())?;
    Ok(router(AppState {
        runtime,
        service,
        port,
    }))
}

fn router(state: AppState) -> Router {
    let internal = Router::new()
        .route(
            "/internal/auth/v2/{subject}/request-service-access-token",
            post(request_service_access_token),
        )
        .route("/internal/auth/v2/dpop/{kid}", post(create_dpop_proof))
        .route(
            "/internal/auth/v2/{subject}/request-user-access-token",
            post(user::request_user_access_token),
        )
        .route(
            "/internal/auth/v2/accesstoken/{session_id}",
            get(user::retrieve_access_token),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.yaml", get(openapi))
        .route("/oauth2/{subject}/user", get(user::landing))
        .route("/oauth2/{subject}/callback", get(user::callback))
        .merge(internal)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// OAuth-style error JSON.
fn error(status: u16, code: &str, description: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({
            "error": code,
            "error_description": description,
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn s2s_error(e: &ServiceTokenError) -> Response {
    let mut resp = error(e.http_status(), e.oauth_error(), &e.to_string());
    if let ServiceTokenError::NoMatchingCredential {
        reasons,
        definition_id,
    } = e
    {
        // The explanation as data too, for EHR logs.
        resp = (
            StatusCode::PRECONDITION_FAILED,
            Json(json!({
                "error": e.oauth_error(),
                "error_description": e.to_string(),
                "status": 412,
                "definition_id": definition_id,
                "reasons": reasons,
            })),
        )
            .into_response();
    }
    resp
}

async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(header::HOST) {
        let host = host.to_str().unwrap_or_default().to_ascii_lowercase();
        let ok = [
            format!("127.0.0.1:{}", state.port),
            format!("localhost:{}", state.port),
            format!("[::1]:{}", state.port),
            "127.0.0.1".to_owned(),
            "[::1]".to_owned(),
            "localhost".to_owned(),
        ]
        .contains(&host);
        if !ok {
            return error(403, "access_denied", "Host must be the loopback interface");
        }
    }
    next.run(req).await
}

async fn require_api_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_owned())
        });
    let Some(presented) = presented else {
        return unauthorized("API key required (Authorization: Bearer <key>)");
    };
    let vault = state.service.vault();
    if vault.is_locked() {
        return error(503, "temporarily_unavailable", "the wallet is locked");
    }
    match api_key::current(vault) {
        Ok(Some(stored)) if api_key::matches(&presented, &stored) => next.run(req).await,
        Ok(_) => unauthorized("wrong API key"),
        Err(wallet_vault::VaultError::Locked) => {
            error(503, "temporarily_unavailable", "the wallet is locked")
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the API key");
            error(500, "server_error", "cannot read the API key")
        }
    }
}

fn unauthorized(description: &str) -> Response {
    let mut r = error(401, "invalid_client", description);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"nuts-wallet\""),
    );
    r
}

async fn health(State(state): State<AppState>) -> Response {
    let locked = state.service.vault().is_locked();
    Json(json!({
        "status": "up",
        "vault": if locked { "locked" } else { "unlocked" },
        "version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn not_found() -> Response {
    error(404, "invalid_request", "no such endpoint")
}

#[derive(Deserialize)]
struct ServiceAccessTokenBody {
    authorization_server: String,
    scope: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    credentials: Option<Vec<Value>>,
    #[serde(default)]
    credential_selection: Option<Value>,
    #[serde(default)]
    service_provider_subject_id: Option<String>,
}

fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Box<Response>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = ct.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return Err(Box::new(error(
            400,
            "invalid_request",
            "Content-Type must be application/json",
        )));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            400,
            "invalid_request",
            &format!("invalid request body: {e}"),
        ))
    })
}

fn no_cache(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case("no-cache"))
}

async fn request_service_access_token(
    State(state): State<AppState>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b: ServiceAccessTokenBody = match parse_json(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let parsed = (|| -> Result<ServiceTokenRequest, ServiceTokenError> {
        if b.service_provider_subject_id.is_some() {
            return Err(ServiceTokenError::InvalidRequest(
                "service_provider_subject_id (two-VP flow) is not supported".into(),
            ));
        }
        let credential_selection = match &b.credential_selection {
            None | Some(serde_json::Value::Null) => Default::default(),
            Some(serde_json::Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                    _ => Err(ServiceTokenError::InvalidRequest(format!(
                        "credential_selection: the value of {k} must be a string"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ServiceTokenError::InvalidRequest(
                    "credential_selection must be an object of strings".into(),
                ))
            }
        };
        Ok(ServiceTokenRequest {
            authorization_server: AuthorizationServerId::parse(&b.authorization_server)?,
            scope: Scope::parse(&b.scope)?,
            token_type: match &b.token_type {
                None => TokenType::DPoP,
                Some(t) => t.parse()?,
            },
            credentials: b.credentials.clone().unwrap_or_default(),
            no_cache: no_cache(&headers),
            credential_selection,
        })
    })();
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            state.service.record_rejected(
                &subject,
                &b.authorization_server,
                &b.scope,
                &e,
                ChannelKind::Api,
            );
            return s2s_error(&e);
        }
    };
    let now = state.runtime.now();
    match state
        .service
        .request_service_access_token(&subject, req, ChannelKind::Api)
        .await
    {
        Ok(t) => {
            let mut r = Json(t.to_api_json(now)).into_response();
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => s2s_error(&e),
    }
}

#[derive(Deserialize)]
struct DpopBody {
    htm: String,
    htu: String,
    token: String,
    /// Extension: the resource server's `DPoP-Nonce` after a `use_dpop_nonce` answer.
    #[serde(default)]
    nonce: Option<String>,
}

/// The kid as the caller may have sent it: fully URL-encoded (decoded once by the router),
/// or, as some Nuts clients do, with only `#` encoded and a did:web port's `%3A` left as is.
fn kid_candidates(decoded: &str, uri: &axum::http::Uri) -> Vec<KeyId> {
    let mut out = vec![KeyId::new(decoded)];
    if let Some(raw) = uri.path().strip_prefix("/internal/auth/v2/dpop/") {
        for c in [KeyId::new(raw.replace("%23", "#")), KeyId::new(raw)] {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

async fn create_dpop_proof(
    State(state): State<AppState>,
    Path(kid): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b: DpopBody = match parse_json(&headers, &body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut result = Err(ServiceTokenError::InvalidRequest("no key id".into()));
    for k in kid_candidates(&kid, &uri) {
        result = state
            .service
            .create_dpop_proof(&k, &b.htm, &b.htu, &b.token, b.nonce.as_deref());
        if !matches!(&result, Err(ServiceTokenError::UnknownDpopKey(_))) {
            break;
        }
    }
    match result {
        Ok(proof) => {
            let mut r = Json(json!({ "dpop": proof })).into_response();
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => s2s_error(&e),
    }
}
