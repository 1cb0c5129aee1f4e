//! The token request both flows make: the grant's form (`wallet_protocol::oauth::token`),
//! sent with a DPoP proof of the workstation's DPoP key when a DPoP token is asked for (one retry
//! on `use_dpop_nonce`), and the answer parsed into a token or a typed error.

use wallet_protocol::net::{HttpClient, HttpResponse};
pub use wallet_protocol::oauth::token::{Grant, MAX_TOKEN_RESPONSE_BYTES};

use super::dpop::{send_with_dpop, DpopNonces};
use super::error::{AuthorizationServerError, Endpoint};
use super::token_cache::DEFAULT_LIFETIME_SECS;
use super::{Requester, TokenResponse, TokenType};

/// Posts `grant` to `token_endpoint` for `requester` and parses the answer.
pub async fn request_token(
    http: &dyn HttpClient,
    nonces: &DpopNonces,
    requester: &Requester,
    token_endpoint: &str,
    grant: &Grant<'_>,
    token_type: TokenType,
    now: i64,
) -> Result<TokenResponse, AuthorizationServerError> {
    let url = url::Url::parse(token_endpoint).map_err(|_| {
        AuthorizationServerError::bad(Endpoint::Metadata, "token_endpoint is not a URL")
    })?;
    let request = grant.request(url);
    let resp = match token_type {
        TokenType::DPoP => {
            send_with_dpop(http, requester.dpop.as_ref(), nonces, request, None, now)
                .await
                .map_err(|e| AuthorizationServerError::from_dpop_send(Endpoint::Token, e))?
        }
        TokenType::Bearer => http
            .execute(request)
            .await
            .map_err(|e| AuthorizationServerError::from_net(Endpoint::Token, e))?,
    };
    parse_token_response(&resp, token_type, requester, now)
}

/// Parses a token endpoint answer (see `wallet_protocol::oauth::token::parse_token_response`);
/// a DPoP token's `dpop_kid` is the key id of the requester's DPoP key.
pub fn parse_token_response(
    resp: &HttpResponse,
    requested: TokenType,
    requester: &Requester,
    now: i64,
) -> Result<TokenResponse, AuthorizationServerError> {
    wallet_protocol::oauth::token::parse_token_response(
        resp,
        requested,
        requester.dpop.key_id(),
        DEFAULT_LIFETIME_SECS,
        now,
    )
    .map_err(AuthorizationServerError::from_token_endpoint)
}
