//! The protocol steps of the user flow, from `wallet_protocol::oauth`, with the flow's
//! errors: discovery with this flow's checks, the signed request object of the organization,
//! the authorization URL and the code exchange.

use serde::Deserialize;
use url::Url;
use wallet_protocol::net::HttpClient;
use wallet_protocol::oauth::discovery::{fetch_metadata, https_endpoint, DiscoveryError};
pub use wallet_protocol::oauth::jar::{AuthorizationRequest, JAR_LIFETIME_SECS};
pub use wallet_protocol::oauth::pkce::{s256_challenge, PkcePair, PkceVerifier};

use super::error::UserFlowError;
use crate::oauth::dpop::DpopNonces;
use crate::oauth::error::{AuthorizationServerError, Endpoint};
use crate::oauth::token::{request_token, Grant};
use crate::oauth::{AuthorizationServerId, ClientId, Requester, TokenResponse, TokenType};

/// The AS metadata fields the user flow needs.
#[derive(Debug, Clone, Deserialize)]
pub struct UserFlowMetadata {
    /// Must equal the issuer asked for.
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Code exchange.
    pub token_endpoint: String,
    /// Nuts: must include `entity_id`.
    #[serde(default)]
    pub client_id_schemes_supported: Option<Vec<String>>,
    /// When `false`, request parameters may also go in the query (the wallet always signs).
    #[serde(default)]
    pub require_signed_request_object: Option<bool>,
}

/// Fetches the AS metadata (the one discovery client, not cached here) and checks what the
/// user flow needs: issuer match, https authorization and token endpoints, `entity_id`
/// client id scheme.
pub async fn discover(
    http: &dyn HttpClient,
    issuer: &AuthorizationServerId,
) -> Result<UserFlowMetadata, AuthorizationServerError> {
    let check = async {
        let (md, _) = fetch_metadata(http, issuer).await?;
        let authorization_endpoint = md.authorization_endpoint.clone().ok_or_else(|| {
            DiscoveryError::Invalid("no authorization_endpoint in the metadata".into())
        })?;
        https_endpoint("authorization_endpoint", &authorization_endpoint)?;
        if let Some(s) = &md.client_id_schemes_supported {
            if !s.iter().any(|s| s == "entity_id") {
                return Err(DiscoveryError::Invalid(
                    "client_id_schemes_supported does not include entity_id".into(),
                ));
            }
        }
        Ok(UserFlowMetadata {
            issuer: md.issuer,
            authorization_endpoint,
            token_endpoint: md.token_endpoint,
            client_id_schemes_supported: md.client_id_schemes_supported,
            require_signed_request_object: md.require_signed_request_object,
        })
    };
    check
        .await
        .map_err(|e| AuthorizationServerError::from_discovery(Endpoint::Metadata, e))
}

/// Signs the request object with the organization key (`iss` = organization DID, see
/// `wallet_protocol::oauth::jar::sign_authorization_request`).
pub fn sign_authorization_request(
    requester: &Requester,
    req: &AuthorizationRequest,
    now: i64,
) -> Result<String, UserFlowError> {
    wallet_protocol::oauth::jar::sign_authorization_request(
        requester.signer.as_ref(),
        requester.did.as_str(),
        &requester.client_id,
        req,
        now,
    )
    .map_err(|e| {
        if e.is_key_unavailable() {
            UserFlowError::KeyUnavailable(format!("request object: {e}"))
        } else {
            UserFlowError::Signing(format!("request object: {e}"))
        }
    })
}

/// The authorization URL for the browser (request object by value).
pub fn authorization_url(
    authorization_endpoint: &str,
    client_id: &ClientId,
    request_object: &str,
) -> Result<Url, UserFlowError> {
    wallet_protocol::oauth::jar::authorization_url(
        authorization_endpoint,
        client_id,
        request_object,
    )
    .map_err(|e| UserFlowError::InvalidRequest(e.0))
}

/// Exchanges an authorization code: `grant_type=authorization_code`, `code`, `client_id`,
/// `code_verifier`, `redirect_uri`; DPoP proof with the workstation's DPoP key when a DPoP token is
/// asked for (one retry on `use_dpop_nonce`).
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    http: &dyn HttpClient,
    nonces: &DpopNonces,
    requester: &Requester,
    token_endpoint: &str,
    code: &str,
    verifier: &PkceVerifier,
    redirect_uri: &str,
    token_type: TokenType,
    now: i64,
) -> Result<TokenResponse, AuthorizationServerError> {
    let grant = Grant::AuthorizationCode {
        code,
        client_id: &requester.client_id,
        verifier,
        redirect_uri,
    };
    request_token(
        http,
        nonces,
        requester,
        token_endpoint,
        &grant,
        token_type,
        now,
    )
    .await
}
