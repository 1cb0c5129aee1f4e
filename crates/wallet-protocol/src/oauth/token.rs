//! The token endpoint (`docs/protocol.md` §2, §3): the two grants the wallet uses
//! (`vp_token-bearer` and `authorization_code` with PKCE) as form bodies, the POST that
//! carries them, and the parsing of the token response and of OAuth error answers.

use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use super::error::{sanitize, OAuthErrorResponse};
use super::pkce::PkceVerifier;
use super::types::{AccessToken, ClientId, KeyId, TokenResponse, TokenType};
use crate::net::{HttpRequest, HttpResponse};

/// Largest token response accepted.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest access token accepted.
pub const MAX_ACCESS_TOKEN_LEN: usize = 8 * 1024;

/// A grant, as the form fields of a token request.
pub enum Grant<'a> {
    /// `vp_token-bearer` (service-to-service): the signed VP and its submission.
    VpTokenBearer {
        /// The VP (JWT or JSON-LD text).
        assertion: &'a str,
        /// The presentation submission (JSON text).
        presentation_submission: &'a str,
        /// Scope asked for.
        scope: &'a str,
        /// The organization's client id.
        client_id: &'a ClientId,
    },
    /// `authorization_code` with the PKCE verifier (user flow).
    AuthorizationCode {
        /// The code from the callback.
        code: &'a str,
        /// The organization's client id.
        client_id: &'a ClientId,
        /// The verifier of the challenge sent in the authorization request.
        verifier: &'a PkceVerifier,
        /// The callback the code was sent to.
        redirect_uri: &'a str,
    },
}

impl Grant<'_> {
    /// The form body; zeroized on drop (it holds a VP, or a code and a PKCE verifier).
    pub fn form(&self) -> Zeroizing<String> {
        Zeroizing::new(match self {
            Grant::VpTokenBearer {
                assertion,
                presentation_submission,
                scope,
                client_id,
            } => crate::form::encode([
                ("grant_type", "vp_token-bearer"),
                ("assertion", assertion),
                ("presentation_submission", presentation_submission),
                ("scope", scope),
                ("client_id", client_id.as_str()),
            ]),
            Grant::AuthorizationCode {
                code,
                client_id,
                verifier,
                redirect_uri,
            } => crate::form::encode([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client_id.as_str()),
                ("code_verifier", verifier.expose_secret()),
                ("redirect_uri", redirect_uri),
            ]),
        })
    }

    /// The token request to `token_endpoint` (add DPoP with `oauth::dpop::send_with_dpop`).
    pub fn request(&self, token_endpoint: Url) -> HttpRequest {
        crate::form::post(
            token_endpoint,
            self.form().as_bytes().to_vec(),
            MAX_TOKEN_RESPONSE_BYTES,
        )
    }
}

/// A non-200 answer of an OAuth endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorAnswer {
    /// With an OAuth error body.
    OAuth {
        /// HTTP status.
        status: u16,
        /// The parsed body.
        response: OAuthErrorResponse,
    },
    /// Without one.
    Other {
        /// HTTP status.
        status: u16,
    },
}

impl ErrorAnswer {
    /// Reads the answer of `resp` (any status but 200).
    pub fn of(resp: &HttpResponse) -> Self {
        match OAuthErrorResponse::parse(&resp.body) {
            Some(response) => Self::OAuth {
                status: resp.status,
                response,
            },
            None => Self::Other {
                status: resp.status,
            },
        }
    }
}

/// Why a token response is not a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenEndpointError {
    /// The AS refused (non-200).
    #[error("the token endpoint answered HTTP {}", status_of(.0))]
    Refused(ErrorAnswer),
    /// The 200 answer is not a usable token response.
    #[error("{0}")]
    BadResponse(String),
}

fn status_of(a: &ErrorAnswer) -> u16 {
    match a {
        ErrorAnswer::OAuth { status, .. } | ErrorAnswer::Other { status } => *status,
    }
}

/// Parses a token response: `access_token` (at most [`MAX_ACCESS_TOKEN_LEN`]), `token_type`
/// equal to the one asked for, positive `expires_in` (else `default_lifetime`), `scope`
/// sanitized. `dpop_kid` is recorded for DPoP tokens.
pub fn parse_token_response(
    resp: &HttpResponse,
    requested: TokenType,
    dpop_kid: &str,
    default_lifetime: i64,
    now: i64,
) -> Result<TokenResponse, TokenEndpointError> {
    let bad = |reason: &str| TokenEndpointError::BadResponse(reason.to_owned());
    if resp.status != 200 {
        return Err(TokenEndpointError::Refused(ErrorAnswer::of(resp)));
    }
    let v: Value = serde_json::from_slice(&resp.body).map_err(|_| bad("not JSON"))?;
    let token = v
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= MAX_ACCESS_TOKEN_LEN)
        .ok_or_else(|| bad("no usable access_token"))?;
    let token_type = v
        .get("token_type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no token_type"))?;
    let issued: TokenType = token_type.parse().map_err(|_| {
        bad(&format!(
            "unknown token_type `{}`",
            sanitize(token_type, 32)
        ))
    })?;
    if issued != requested {
        return Err(bad(&format!("asked for a {requested} token, got {issued}")));
    }
    let expires_in = match v.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(e) => Some(
            e.as_i64()
                .filter(|e| *e > 0)
                .ok_or_else(|| bad("expires_in is not a positive integer"))?,
        ),
    };
    let lifetime = expires_in.unwrap_or(default_lifetime);
    Ok(TokenResponse {
        access_token: AccessToken::new(token.to_owned()),
        token_type: issued,
        expires_in: Some(lifetime),
        expires_at: Some(now + lifetime),
        scope: v
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| sanitize(s, 1024)),
        dpop_kid: (issued == TokenType::DPoP).then(|| KeyId::new(dpop_kid)),
    })
}
