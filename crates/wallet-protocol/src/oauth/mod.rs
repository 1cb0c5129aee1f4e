//! The OAuth client side of the Nuts flows (`docs/protocol.md` §2, §3, §6, §9): PKCE
//! ([`pkce`]), the signed authorization request ([`jar`]), AS discovery with its cache
//! ([`discovery`]), token requests and responses ([`token`]), DPoP nonces and the one retry
//! ([`dpop`]), OAuth error responses ([`error`]) and the values these pass around
//! ([`types`]). Policy, consent, sessions and the activity log are the wallet's use cases.

#[cfg(test)]
pub(crate) mod client_tests;
pub mod discovery;
pub mod dpop;
pub mod error;
pub mod jar;
pub mod pkce;
pub mod token;
pub mod types;

pub use error::{sanitize, OAuthErrorCode, OAuthErrorResponse};
pub use types::{
    AccessToken, AuthorizationServerId, ClientId, InvalidParameter, KeyId, Nonce, Scope, State,
    TokenResponse, TokenType,
};
