//! Errors of the s2s flow. OAuth error codes are data ([`OAuthErrorCode`] inside
//! [`OAuthErrorResponse`]); every [`S2sError`] variant is one a caller acts on and maps to the
//! Nuts internal API's HTTP status and OAuth error JSON ([`S2sError::http_status`],
//! [`S2sError::oauth_error`]). Messages never hold tokens, VPs or keys.

use std::fmt;

use serde::Serialize;
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

/// Why a service access token could not be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S2sError {
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
    /// The AS does not know the scope (400 `invalid_scope`).
    #[error("unknown scope: {0}")]
    UnknownScope(String),
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
    /// The server answered with an OAuth error (502; `invalid_scope` is [`S2sError::UnknownScope`]).
    #[error("{endpoint} answered {status} {response}")]
    Remote {
        /// Which request.
        endpoint: Endpoint,
        /// HTTP status.
        status: u16,
        /// The error.
        response: OAuthErrorResponse,
    },
    /// Signing the presentation or proof failed (500, or 503 when the key is unavailable).
    #[error("signing failed: {0}")]
    Signing(String),
    /// Storage problem (500).
    #[error("wallet storage: {0}")]
    Storage(String),
}

impl S2sError {
    /// Stable code for logs, the activity log and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            S2sError::InvalidRequest(_) => "invalid_request",
            S2sError::NotAllowed(_) => "not_allowed",
            S2sError::ConsentRequired(_) => "consent_required",
            S2sError::ConsentDeclined => "consent_declined",
            S2sError::Locked => "locked",
            S2sError::UnknownSubject(_) => "unknown_subject",
            S2sError::UnknownScope(_) => "unknown_scope",
            S2sError::UnknownDpopKey(_) => "unknown_dpop_key",
            S2sError::NoMatchingCredential { .. } => "no_matching_credential",
            S2sError::DidMethodMismatch(_) => "did_method_mismatch",
            S2sError::NoCommonVpFormat => "no_common_vp_format",
            S2sError::Refused { .. } => "url_refused",
            S2sError::Unreachable { .. } => "unreachable",
            S2sError::BadResponse { .. } => "bad_response",
            S2sError::Remote { .. } => "remote_error",
            S2sError::Signing(_) => "signing_failed",
            S2sError::Storage(_) => "storage",
        }
    }

    /// HTTP status for the internal API (Nuts: 400 input/OAuth, 412 wallet, 502 AS error,
    /// 503 AS unreachable).
    pub fn http_status(&self) -> u16 {
        match self {
            S2sError::InvalidRequest(_)
            | S2sError::UnknownScope(_)
            | S2sError::UnknownDpopKey(_)
            | S2sError::Refused { .. } => 400,
            S2sError::NotAllowed(_) | S2sError::ConsentRequired(_) | S2sError::ConsentDeclined => {
                403
            }
            S2sError::UnknownSubject(_) => 404,
            S2sError::NoMatchingCredential { .. }
            | S2sError::DidMethodMismatch(_)
            | S2sError::NoCommonVpFormat => 412,
            S2sError::BadResponse { .. } | S2sError::Remote { .. } => 502,
            S2sError::Locked | S2sError::Unreachable { .. } => 503,
            S2sError::Signing(_) | S2sError::Storage(_) => 500,
        }
    }

    /// The OAuth `error` code for the internal API's error JSON.
    pub fn oauth_error(&self) -> &str {
        match self {
            S2sError::InvalidRequest(_)
            | S2sError::UnknownDpopKey(_)
            | S2sError::UnknownSubject(_)
            | S2sError::Refused { .. }
            | S2sError::NoMatchingCredential { .. }
            | S2sError::DidMethodMismatch(_)
            | S2sError::NoCommonVpFormat => "invalid_request",
            S2sError::UnknownScope(_) => "invalid_scope",
            S2sError::NotAllowed(_) | S2sError::ConsentRequired(_) | S2sError::ConsentDeclined => {
                "access_denied"
            }
            S2sError::Locked | S2sError::Unreachable { .. } => "temporarily_unavailable",
            S2sError::Remote { response, .. } => response.error.as_str(),
            S2sError::BadResponse { .. } | S2sError::Signing(_) | S2sError::Storage(_) => {
                "server_error"
            }
        }
    }

    /// Maps a transport error of `endpoint`.
    pub(crate) fn from_net(endpoint: Endpoint, e: NetError) -> Self {
        match e {
            NetError::Refused(_) | NetError::Config(_) => S2sError::Refused {
                endpoint,
                source: e,
            },
            NetError::TooLarge { limit } => S2sError::BadResponse {
                endpoint,
                reason: format!("response body larger than {limit} bytes"),
            },
            NetError::Timeout | NetError::Transport(_) => S2sError::Unreachable {
                endpoint,
                source: e,
            },
        }
    }
}

impl From<InvalidParameter> for S2sError {
    fn from(e: InvalidParameter) -> Self {
        S2sError::InvalidRequest(e.0)
    }
}

impl S2sError {
    fn bad(endpoint: Endpoint, reason: impl Into<String>) -> Self {
        S2sError::BadResponse {
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
                S2sError::UnknownScope(
                    response
                        .error_description
                        .unwrap_or_else(|| "invalid_scope".into()),
                )
            }
            ErrorAnswer::OAuth { status, response } => S2sError::Remote {
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
            DiscoveryError::Issuer(why) => S2sError::InvalidRequest(why),
            DiscoveryError::Net(n) => S2sError::from_net(endpoint, n),
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
        assert_eq!(S2sError::UnknownScope("x".into()).http_status(), 400);
        assert_eq!(
            S2sError::UnknownScope("x".into()).oauth_error(),
            "invalid_scope"
        );
        let nm = S2sError::NoMatchingCredential {
            definition_id: "pd".into(),
            reasons: vec!["a".into()],
        };
        assert_eq!(nm.http_status(), 412);
        let un = S2sError::from_net(Endpoint::Metadata, NetError::Timeout);
        assert_eq!(un.http_status(), 503);
        let big = S2sError::from_net(Endpoint::Token, NetError::TooLarge { limit: 10 });
        assert_eq!(big.http_status(), 502);
        assert_eq!(big.code(), "bad_response");
    }
}
