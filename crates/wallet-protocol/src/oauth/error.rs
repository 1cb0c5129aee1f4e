//! OAuth error responses as received from a server: the code is data ([`OAuthErrorCode`]),
//! the description is sanitized before it reaches a message or the activity log.

use std::fmt;

/// An OAuth / RFC 9449 error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `invalid_scope`
    InvalidScope,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `access_denied`
    AccessDenied,
    /// `invalid_dpop_proof`
    InvalidDpopProof,
    /// `use_dpop_nonce`
    UseDpopNonce,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
    /// Any other code (kept verbatim, length-capped).
    Other(String),
}

impl OAuthErrorCode {
    /// Parses a code from an error response.
    pub fn parse(s: &str) -> Self {
        match s {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "invalid_scope" => Self::InvalidScope,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "access_denied" => Self::AccessDenied,
            "invalid_dpop_proof" => Self::InvalidDpopProof,
            "use_dpop_nonce" => Self::UseDpopNonce,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            other => Self::Other(sanitize(other, 64)),
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::AccessDenied => "access_denied",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response (`{"error", "error_description"}`) received from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthErrorResponse {
    /// The code.
    pub error: OAuthErrorCode,
    /// The description, control characters removed and capped at 512 characters.
    pub error_description: Option<String>,
}

impl OAuthErrorResponse {
    /// Parses an OAuth error JSON body; `None` when the body is not one.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let error = v.get("error")?.as_str()?;
        if error.is_empty() {
            return None;
        }
        Some(Self {
            error: OAuthErrorCode::parse(error),
            error_description: v
                .get("error_description")
                .and_then(|d| d.as_str())
                .map(|d| sanitize(d, 512)),
        })
    }
}

impl fmt::Display for OAuthErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(d) => write!(f, "{}: {d}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

/// Removes control characters and caps the length (text from a remote server goes into
/// messages and the activity log).
pub fn sanitize(s: &str, max_chars: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect()
}
