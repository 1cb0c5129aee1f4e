//! Errors of the wallet as OAuth client, one type per phase: talking to an authorization
//! server (discovery, presentation definition, token endpoint with its DPoP proof;
//! [`AuthorizationServerError`], shared by both flows) and the service-token flow around it
//! ([`ServiceTokenError`]); the user flow's own is `user_flow::UserFlowError`. OAuth error codes
//! are data ([`OAuthErrorCode`] inside [`OAuthErrorResponse`]); every variant is one a caller
//! acts on and maps to the Nuts internal API's HTTP status and OAuth error JSON
//! (`docs/protocol.md` §11). Messages never hold tokens, VPs or keys.

use std::fmt;

use serde::Serialize;
use wallet_protocol::dpop::DpopError;
use wallet_protocol::net::NetError;

use wallet_protocol::oauth::discovery::DiscoveryError;
pub use wallet_protocol::oauth::error::{sanitize, OAuthErrorCode, OAuthErrorResponse};
use wallet_protocol::oauth::token::{ErrorAnswer, TokenEndpointError};
use wallet_protocol::oauth::types::InvalidParameter;

/// Which request of the flow failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// AS metadata (`/.well-known/oauth-authorization-server/...`).
    Metadata,
    /// Presentation definition endpoint.
    PresentationDefinition,
    /// Token endpoint.
    Token,
    /// A resource server.
    Resource,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Metadata => "authorization server metadata",
            Endpoint::PresentationDefinition => "presentation definition endpoint",
            Endpoint::Token => "token endpoint",
            Endpoint::Resource => "resource server",
        })
    }
}

/// Why a request to an authorization server failed: discovery, the presentation definition,
/// the token endpoint (with its DPoP proof). Both flows make these requests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationServerError {
    /// The issuer asked for is not a usable authorization server identifier (400
    /// `invalid_request`).
    #[error("invalid request: {0}")]
    Issuer(String),
    /// The AS does not know the scope (400 `invalid_scope`).
    #[error("unknown scope: {0}")]
    UnknownScope(String),
    /// The URL was refused by the network policy (SSRF guard) (400).
    #[error("{endpoint}: {source}")]
    Refused {
        /// Which request.
        endpoint: Endpoint,
        /// Why.
        source: NetError,
    },
    /// The authorization server could not be reached or timed out (503).
    #[error("{endpoint} unreachable: {source}")]
    Unreachable {
        /// Which request.
        endpoint: Endpoint,
        /// Transport error.
        source: NetError,
    },
    /// The server answered something that is not a valid response: garbage, wrong content,
    /// wrong status, an oversized body (502).
    #[error("{endpoint} gave an invalid response: {reason}")]
    BadResponse {
        /// Which request.
        endpoint: Endpoint,
        /// What was wrong (no body content).
        reason: String,
    },
    /// The server answered with an OAuth error (502; `invalid_scope` is
    /// [`AuthorizationServerError::UnknownScope`]).
    #[error("{endpoint} answered {status} {response}")]
    Remote {
        /// Which request.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// The error.
        response: OAuthErrorResponse,
    },
    /// The DPoP proof could not be built (500).
    #[error("signing failed: {0}")]
    Proof(String),
}

impl AuthorizationServerError {
    /// Stable code for logs, the activity log and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Issuer(_) => "invalid_request",
            Self::UnknownScope(_) => "unknown_scope",
            Self::Refused { .. } => "url_refused",
            Self::Unreachable { .. } => "unreachable",
            Self::BadResponse { .. } => "bad_response",
            Self::Remote { .. } => "remote_error",
            Self::Proof(_) => "signing_failed",
        }
    }

    /// HTTP status for the internal API (Nuts: 400 input/OAuth, 502 AS error, 503 AS
    /// unreachable).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Issuer(_) | Self::UnknownScope(_) | Self::Refused { .. } => 400,
            Self::BadResponse { .. } | Self::Remote { .. } => 502,
            Self::Unreachable { .. } => 503,
            Self::Proof(_) => 500,
        }
    }

    /// The OAuth `error` code for the internal API's error JSON.
    pub fn oauth_error(&self) -> &str {
        match self {
            Self::Issuer(_) | Self::Refused { .. } => "invalid_request",
            Self::UnknownScope(_) => "invalid_scope",
            Self::Unreachable { .. } => "temporarily_unavailable",
            Self::Remote { response, .. } => response.error.as_str(),
            Self::BadResponse { .. } | Self::Proof(_) => "server_error",
        }
    }

    /// Maps a transport error of `endpoint`.
    pub(crate) fn from_net(endpoint: Endpoint, e: NetError) -> Self {
        match e {
            NetError::Refused(_) | NetError::Config(_) => Self::Refused {
                endpoint,
                source: e,
            },
            NetError::TooLarge { limit } => Self::BadResponse {
                endpoint,
                reason: format!("response body larger than {limit} bytes"),
            },
            NetError::Timeout | NetError::Transport(_) => Self::Unreachable {
                endpoint,
                source: e,
            },
        }
    }

    pub(crate) fn bad(endpoint: Endpoint, reason: impl Into<String>) -> Self {
        Self::BadResponse {
            endpoint,
            reason: reason.into(),
        }
    }

    /// A non-200 answer of `endpoint`: `invalid_scope` is an unknown scope, another OAuth
    /// error is the server's, anything else a bad response.
    pub(crate) fn from_answer(endpoint: Endpoint, answer: ErrorAnswer) -> Self {
        match answer {
            ErrorAnswer::OAuth { response, .. }
                if response.error == OAuthErrorCode::InvalidScope =>
            {
                Self::UnknownScope(
                    response
                        .error_description
                        .unwrap_or_else(|| "invalid_scope".into()),
                )
            }
            ErrorAnswer::OAuth { status, response } => Self::Remote {
                endpoint,
                status,
                response,
            },
            ErrorAnswer::Other { status } => Self::bad(
                endpoint,
                format!("HTTP status {status} without an OAuth error body"),
            ),
        }
    }

    /// A discovery failure at `endpoint`.
    pub(crate) fn from_discovery(endpoint: Endpoint, e: DiscoveryError) -> Self {
        match e {
            DiscoveryError::Issuer(why) => Self::Issuer(why),
            DiscoveryError::Net(n) => Self::from_net(endpoint, n),
            DiscoveryError::NotFound(_) if endpoint == Endpoint::Metadata => {
                Self::bad(endpoint, e.to_string())
            }
            DiscoveryError::NotFound(a) => Self::from_answer(endpoint, a),
            DiscoveryError::Refused(a) => Self::from_answer(endpoint, a),
            DiscoveryError::Invalid(why) => Self::bad(endpoint, why),
        }
    }

    /// A token response that is not a token.
    pub(crate) fn from_token_endpoint(e: TokenEndpointError) -> Self {
        match e {
            TokenEndpointError::Refused(a) => Self::from_answer(Endpoint::Token, a),
            TokenEndpointError::BadResponse(why) => Self::bad(Endpoint::Token, why),
        }
    }

    /// A DPoP proof that could not be built is a signing failure of the wallet.
    pub(crate) fn from_proof(e: DpopError) -> Self {
        match e {
            DpopError::Jose(j) => Self::Proof(format!("DPoP proof: {j}")),
            DpopError::Invalid(why) => Self::Proof(format!("DPoP claims: {why}")),
        }
    }
}

/// Why a service access token could not be obtained (the service-to-service flow,
/// `docs/protocol.md` §2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceTokenError {
    /// A parameter of the request is wrong (400 `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The admin policy does not allow this authorization server (403 `access_denied`).
    #[error("authorization server {0} is not allowed by the wallet's policy")]
    NotAllowed(String),
    /// The request needs the employee's consent and nobody can be asked (headless) (403).
    #[error("{0}: consent of the employee required, and no one can be asked here")]
    ConsentRequired(String),
    /// The employee declined (403 `access_denied`).
    #[error("the employee declined the request")]
    ConsentDeclined,
    /// The vault is locked (503).
    #[error("the wallet is locked")]
    Locked,
    /// No organization with this subject in the wallet (404 `invalid_request`).
    #[error("unknown subject {0}")]
    UnknownSubject(String),
    /// No DPoP key with this key id (400 `invalid_request`).
    #[error("unknown DPoP key {0}")]
    UnknownDpopKey(String),
    /// The wallet cannot satisfy the presentation definition (412).
    #[error("no matching credentials for presentation definition {definition_id}: {}", reasons.join("; "))]
    NoMatchingCredential {
        /// The definition.
        definition_id: String,
        /// Per unmet input descriptor: why (closest credential and failed constraints).
        reasons: Vec<String>,
    },
    /// The organization DID or its credentials use DID methods the AS does not support (412).
    #[error("did method mismatch: {0}")]
    DidMethodMismatch(String),
    /// No VP format common to the wallet, the AS and the definition (412).
    #[error("no common presentation format with the authorization server")]
    NoCommonVpFormat,
    /// A request to the authorization server failed (its own statuses).
    #[error(transparent)]
    Server(#[from] AuthorizationServerError),
    /// Signing the presentation or proof failed (500).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The organization's key is out of reach: its HSM is absent, unreachable or refuses the
    /// PIN (503 `temporarily_unavailable`; the next request tries again).
    #[error("the organization's signing key is not available: {0}")]
    KeyUnavailable(String),
    /// Storage problem (500).
    #[error("wallet storage: {0}")]
    Storage(String),
}

impl ServiceTokenError {
    /// Stable code for logs, the activity log and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::NotAllowed(_) => "not_allowed",
            Self::ConsentRequired(_) => "consent_required",
            Self::ConsentDeclined => "consent_declined",
            Self::Locked => "locked",
            Self::UnknownSubject(_) => "unknown_subject",
            Self::UnknownDpopKey(_) => "unknown_dpop_key",
            Self::NoMatchingCredential { .. } => "no_matching_credential",
            Self::DidMethodMismatch(_) => "did_method_mismatch",
            Self::NoCommonVpFormat => "no_common_vp_format",
            Self::Server(e) => e.code(),
            Self::Signing(_) => "signing_failed",
            Self::KeyUnavailable(_) => "key_unavailable",
            Self::Storage(_) => "storage",
        }
    }

    /// A signing failure: [`Self::KeyUnavailable`] when the key is out of reach, else
    /// [`Self::Signing`].
    pub fn from_vp(e: &wallet_protocol::vp::VpError) -> Self {
        if e.is_key_unavailable() {
            Self::KeyUnavailable(e.to_string())
        } else {
            Self::Signing(e.to_string())
        }
    }

    /// The organization (identity and signer) could not be read.
    pub fn from_identity(e: crate::org::IdentityError) -> Self {
        match e {
            crate::org::IdentityError::Vault(v) => super::service::vault_error(v),
            crate::org::IdentityError::Hsm(h) => {
                Self::KeyUnavailable(crate::org::IdentityError::Hsm(h).to_string())
            }
            other => Self::Signing(other.to_string()),
        }
    }

    /// HTTP status for the internal API (Nuts: 400 input/OAuth, 412 wallet, 502 AS error,
    /// 503 AS unreachable).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) | Self::UnknownDpopKey(_) => 400,
            Self::NotAllowed(_) | Self::ConsentRequired(_) | Self::ConsentDeclined => 403,
            Self::UnknownSubject(_) => 404,
            Self::NoMatchingCredential { .. }
            | Self::DidMethodMismatch(_)
            | Self::NoCommonVpFormat => 412,
            Self::Server(e) => e.http_status(),
            Self::Locked | Self::KeyUnavailable(_) => 503,
            Self::Signing(_) | Self::Storage(_) => 500,
        }
    }

    /// The OAuth `error` code for the internal API's error JSON.
    pub fn oauth_error(&self) -> &str {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownDpopKey(_)
            | Self::UnknownSubject(_)
            | Self::NoMatchingCredential { .. }
            | Self::DidMethodMismatch(_)
            | Self::NoCommonVpFormat => "invalid_request",
            Self::NotAllowed(_) | Self::ConsentRequired(_) | Self::ConsentDeclined => {
                "access_denied"
            }
            Self::Locked | Self::KeyUnavailable(_) => "temporarily_unavailable",
            Self::Server(e) => e.oauth_error(),
            Self::Signing(_) | Self::Storage(_) => "server_error",
        }
    }
}

impl From<InvalidParameter> for ServiceTokenError {
    fn from(e: InvalidParameter) -> Self {
        Self::InvalidRequest(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_json_is_parsed_and_sanitized() {
        let r = OAuthErrorResponse::parse(
            br#"{"error":"invalid_scope","error_description":"unsupported scope\n(x)"}"#,
        )
        .unwrap();
        assert_eq!(r.error, OAuthErrorCode::InvalidScope);
        assert_eq!(r.error_description.as_deref(), Some("unsupported scope(x)"));
        assert_eq!(
            OAuthErrorResponse::parse(br#"{"error":"weird"}"#)
                .unwrap()
                .error,
            OAuthErrorCode::Other("weird".into())
        );
        assert!(OAuthErrorResponse::parse(b"<html>").is_none());
        assert!(OAuthErrorResponse::parse(br#"{"error":""}"#).is_none());
    }

    #[test]
    fn statuses_follow_the_nuts_internal_api() {
        let scope = ServiceTokenError::from(AuthorizationServerError::UnknownScope("x".into()));
        assert_eq!(scope.http_status(), 400);
        assert_eq!(scope.oauth_error(), "invalid_scope");
        let nm = ServiceTokenError::NoMatchingCredential {
            definition_id: "pd".into(),
            reasons: vec!["a".into()],
        };
        assert_eq!(nm.http_status(), 412);
        let un = AuthorizationServerError::from_net(Endpoint::Metadata, NetError::Timeout);
        assert_eq!(un.http_status(), 503);
        let big =
            AuthorizationServerError::from_net(Endpoint::Token, NetError::TooLarge { limit: 10 });
        assert_eq!(big.http_status(), 502);
        assert_eq!(big.code(), "bad_response");
    }

    #[test]
    fn an_unreachable_key_is_try_again_later_and_a_broken_one_a_server_error() {
        use wallet_protocol::jose::JoseError;
        use wallet_protocol::signer::SignError;
        use wallet_protocol::vp::VpError;
        let gone = ServiceTokenError::from_vp(&VpError::Jose(JoseError::Sign(
            SignError::Unavailable("token absent".into()),
        )));
        assert_eq!(gone.code(), "key_unavailable");
        assert_eq!(gone.http_status(), 503);
        assert_eq!(gone.oauth_error(), "temporarily_unavailable");
        let broken = ServiceTokenError::from_vp(&VpError::Jose(JoseError::Sign(
            SignError::Crypto("bad".into()),
        )));
        assert_eq!(broken.http_status(), 500);
        assert_eq!(broken.oauth_error(), "server_error");
        let user = crate::oauth::user_flow::UserFlowError::from_requester(gone);
        assert_eq!(user.http_status(), 503);
        assert_eq!(user.code(), "key_unavailable");
    }
}
