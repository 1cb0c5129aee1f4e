//! The OAuth client side of the Nuts flows (`docs/protocol.md` §2, §3, §6, §9).

pub mod error;

pub use error::{sanitize, OAuthErrorCode, OAuthErrorResponse};
