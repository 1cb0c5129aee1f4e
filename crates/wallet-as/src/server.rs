//! HTTP surface: the router with the Nuts v6 URL layout (docs/protocol.md §9.4), the publication
//! endpoints (DID document, AS metadata, entity statement, client metadata, presentation
//! definitions), and HTTPS serving with rustls over a TLS listener for axum.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::server::TlsStream;
use wallet_pex::WalletOwnerType;

use crate::authz;
use crate::error::{AsError, ErrorCode, OAuthError, Result};
use crate::state::AppState;
use crate::token;

/// Largest request body accepted (Nuts master: 1 MB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The router for `state` (all routes under the base URL's path).
pub fn router(state: Arc<AppState>) -> Result<Router> {
    let bp = state.identity.base_path();
    let did_path = state.identity.did_document_path()?;
    let r = Router::new()
        .route(&did_path, get(did_document))
        .route(
            &format!("/.well-known/oauth-authorization-server{bp}/oauth2/{{subject}}"),
            get(as_metadata),
        )
        .route(
            &format!("/.well-known/openid-configuration{bp}/oauth2/{{subject}}"),
            get(entity_statement),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/oauth-client"),
            get(client_metadata),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/presentation_definition"),
            get(presentation_definition),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/token"),
            post(token::token_endpoint),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/authorize"),
            get(authz::authorize_endpoint),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/request.jwt/{{id}}"),
            get(authz::request_jwt_get).post(authz::request_jwt_post),
        )
        .route(
            &format!("{bp}/oauth2/{{subject}}/response"),
            post(authz::response_endpoint),
        )
        .route(
            "/internal/auth/v2/accesstoken/introspect",
            post(token::introspect_endpoint),
        )
        .route(
            "/internal/auth/v2/dpop/validate",
            post(crate::dpop::validate_endpoint),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    Ok(r)
}

fn subject_not_found() -> Response {
    OAuthError::invalid_request("subject not found")
        .with_status(StatusCode::NOT_FOUND)
        .into_response()
}

async fn did_document(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/did+json")],
        state.identity.did_document().to_string(),
    )
        .into_response()
}

async fn as_metadata(State(state): State<Arc<AppState>>, Path(subject): Path<String>) -> Response {
    if subject != state.identity.subject {
        return subject_not_found();
    }
    (
        [(header::CACHE_CONTROL, "max-age=300")],
        axum::Json(state.identity.metadata(state.user_flow)),
    )
        .into_response()
}

async fn entity_statement(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
) -> Response {
    if subject != state.identity.subject {
        return subject_not_found();
    }
    match state
        .identity
        .entity_statement(state.now(), state.user_flow)
    {
        Ok(jwt) => (
            [(
                header::CONTENT_TYPE,
                wallet_protocol::metadata::ENTITY_STATEMENT_CONTENT_TYPE,
            )],
            jwt,
        )
            .into_response(),
        Err(_) => OAuthError::new(ErrorCode::ServerError, "cannot sign the entity statement")
            .into_response(),
    }
}

async fn client_metadata(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
) -> Response {
    if subject != state.identity.subject {
        return subject_not_found();
    }
    axum::Json(state.identity.client_metadata()).into_response()
}

async fn presentation_definition(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if subject != state.identity.subject {
        return subject_not_found();
    }
    let scope = query.get("scope").map(String::as_str).unwrap_or_default();
    if scope.is_empty() {
        return axum::Json(json!({})).into_response();
    }
    let owner = match query
        .get("wallet_owner_type")
        .map(String::as_str)
        .filter(|s| !s.is_empty())
    {
        None => WalletOwnerType::Organization,
        Some(s) => match s.parse() {
            Ok(o) => o,
            Err(e) => {
                return OAuthError::invalid_request(e)
                    .for_request(&headers)
                    .into_response()
            }
        },
    };
    let Some(defs) = state.policy.scope(scope) else {
        return OAuthError::new(
            ErrorCode::InvalidScope,
            format!("unsupported scope ({scope}) for presentation exchange: not found"),
        )
        .into_response();
    };
    match defs.get(&owner) {
        Some(pd) => axum::Json(pd.to_json().clone()).into_response(),
        None => OAuthError::invalid_request(format!(
            "no presentation definition for wallet owner type {owner}"
        ))
        .into_response(),
    }
}

/// Loads a rustls server config from PEM files (certificate chain, PKCS#8/SEC1/PKCS#1 key).
pub fn tls_config(cert: &FsPath, key: &FsPath) -> Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| AsError::Tls(format!("{}: {e}", cert.display())))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| AsError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(AsError::Tls(format!("{}: no certificate", cert.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| AsError::Tls(format!("{}: {e}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AsError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| AsError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A TLS listener for `axum::serve`: TCP accepts are handed to a handshake task each, so a
/// slow client cannot stall others; failed handshakes are dropped.
pub struct TlsListener {
    rx: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Wraps a bound TCP listener.
    pub fn new(tcp: TcpListener, tls: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = match tcp.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, conn_tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await;
                    if let Ok(Ok(tls)) = hs {
                        let _ = conn_tx.send((tls, addr)).await;
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(Self { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            // The accept task never ends while the receiver lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serves `router` over HTTPS on an already bound listener until the future is dropped.
pub async fn serve(tcp: TcpListener, tls: Arc<rustls::ServerConfig>, router: Router) -> Result<()> {
    let listener = TlsListener::new(tcp, tls)?;
    axum::serve(listener, router).await?;
    Ok(())
}
