//! DPoP for the wallet as a client lives in `wallet_protocol::oauth::dpop` (nonce store, one
//! retry on `use_dpop_nonce`) and `wallet_protocol::dpop` (the proof builder). This module
//! maps their errors to an [`AuthorizationServerError`] of the endpoint that was called.
//!
//! The DPoP key is the organization's assertion key (as a Nuts node does, `docs/protocol.md`
//! §6), so the `dpop_kid` handed to callers is that key's DID URL.

use wallet_protocol::net::{HttpClient, HttpRequest, HttpResponse};
pub use wallet_protocol::oauth::dpop::{asks_for_nonce, htu, DpopNonces, DpopSendError};
use wallet_protocol::signer::Signer;

use super::error::{AuthorizationServerError, Endpoint};

/// [`wallet_protocol::oauth::dpop::send_with_dpop`], with errors of `endpoint`.
pub async fn send_with_dpop(
    http: &dyn HttpClient,
    signer: &dyn Signer,
    nonces: &DpopNonces,
    endpoint: Endpoint,
    request: HttpRequest,
    access_token: Option<&str>,
    now: i64,
) -> Result<HttpResponse, AuthorizationServerError> {
    wallet_protocol::oauth::dpop::send_with_dpop(http, signer, nonces, request, access_token, now)
        .await
        .map_err(|e| match e {
            DpopSendError::Proof(p) => AuthorizationServerError::from_proof(p),
            DpopSendError::Net(n) => AuthorizationServerError::from_net(endpoint, n),
        })
}
