//! DPoP for the wallet as a client lives in `wallet_protocol::oauth::dpop` (nonce store, one
//! retry on `use_dpop_nonce`) and `wallet_protocol::dpop` (the proof builder). This module
//! re-exports them and maps their errors to an [`AuthorizationServerError`] of the endpoint
//! that was called.
//!
//! The DPoP key is the workstation's own key in the vault, not the organization key
//! (`docs/protocol.md` §6.1; [`super::vault_org::dpop_key`]); the `dpop_kid` handed to callers
//! is its key id.

pub use wallet_protocol::oauth::dpop::{
    asks_for_nonce, htu, send_with_dpop, DpopNonces, DpopSendError,
};

use super::error::{AuthorizationServerError, Endpoint};

impl AuthorizationServerError {
    /// A failed DPoP-protected request to `endpoint`: the proof could not be made, or the
    /// request did not get an answer.
    pub(crate) fn from_dpop_send(endpoint: Endpoint, e: DpopSendError) -> Self {
        match e {
            DpopSendError::Proof(p) => Self::from_proof(p),
            DpopSendError::Net(n) => Self::from_net(endpoint, n),
        }
    }
}
