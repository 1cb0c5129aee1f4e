//! The wallet's OAuth use cases for the Nuts service-to-service flow (`vp_token-bearer`,
//! `docs/protocol.md` §2) and the user flow (§3), over the protocol client in
//! `wallet_protocol::oauth`.
//!
//! What it owns: presentation definitions by scope, with HTTP caching, over the one AS
//! discovery client ([`metadata`]); the s2s token request itself ([`s2s`]):
//! credential selection with the PEX engine plus the caller's self-attested credentials, VP
//! format negotiation, VP signing, the four form fields, DPoP, parsing of token and OAuth error
//! responses (the token endpoint in [`token`]); DPoP errors of the flows ([`dpop`]); the token cache
//! ([`token_cache`]); the use case that ties the client to the vault, the admin policy, the
//! service-token prompt and the activity log ([`service`]); the user flow use case and its sessions
//! ([`user_flow`], also reachable as `user`).
//!
//! What it does not own: HTTP transport and its SSRF guard (`wallet_protocol::net`), PEX
//! matching (`wallet_pex`), key storage (`wallet_vault`), the organization's identity (the
//! caller hands in a [`Requester`]), the loopback API (`wallet-api`).

pub mod dpop;
pub mod error;
pub mod metadata;
pub mod s2s;
#[cfg(test)]
mod s2s_tests;
pub mod service;
pub mod token;
pub mod token_cache;
pub mod user_flow;
pub mod vault_org;

/// The user flow under its earlier name.
pub use user_flow as user;

use std::fmt;
use std::sync::Arc;

use wallet_protocol::did::Did;
use wallet_protocol::signer::Signer;

pub use error::{AuthorizationServerError, OAuthErrorCode, OAuthErrorResponse, ServiceTokenError};
pub use s2s::{PresentedCredential, S2sAttempt, S2sClient, ServiceTokenRequest};
pub use service::{
    ChannelKind, PromptDecision, PromptRequest, RequesterSource, ServiceTokenPrompt,
    ServiceTokenRecord, TokenService,
};
pub use vault_org::VaultOrganization;

pub use wallet_protocol::oauth::types::{
    AccessToken, AuthorizationServerId, ClientId, KeyId, Nonce, Scope, State, TokenResponse,
    TokenType,
};

/// The organization that asks for a token: its DID (VP holder), OAuth `client_id` URL, the
/// key that signs its presentations (key id = a DID URL of `did`), and the workstation's DPoP
/// key.
#[derive(Clone)]
pub struct Requester {
    /// Tenant subject (path segment of the internal API).
    pub subject: String,
    /// Holder DID.
    pub did: Did,
    /// `https://<base>/oauth2/<subject>`.
    pub client_id: ClientId,
    /// Assertion key of `did`.
    pub signer: Arc<dyn Signer>,
    /// Signs DPoP proofs; its key id is the `dpop_kid` of DPoP tokens (`docs/protocol.md` §6).
    /// Never the organization key.
    pub dpop: Arc<dyn Signer>,
}

impl fmt::Debug for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requester")
            .field("subject", &self.subject)
            .field("did", &self.did)
            .field("client_id", &self.client_id)
            .field("kid", &self.signer.key_id())
            .field("dpop_kid", &self.dpop.key_id())
            .finish()
    }
}
