//! The holder side of OpenID4VP as the Nuts user flow uses it (`docs/protocol.md` §4, §5):
//! fetch the request object ([`fetch`]), verify it ([`request::PresentationRequest`]
//! `<Unverified>` → `<Verified>`), fetch the documents it points to, and post the answer or
//! an error (`direct_post`, [`response`]). Consent, credential choice and the activity log
//! are the wallet's use case, not here.

pub mod error;
pub mod fetch;
pub mod request;
pub mod response;
#[cfg(test)]
mod tests;

pub use error::{DocumentError, ErrorDispatch, Rejection, RequestObjectError, ResponseError};
pub use fetch::{check_request_uri_origin, fetch_json, fetch_request_object, RequestObjectFetch};
pub use request::{
    PresentationRequest, Unverified, Verified, VerifyContext, ACCEPTED_TYP, MAX_LIFETIME_SECS,
};
pub use response::{credential_issuer, post_error, post_response, AuthorizationResponse};

/// Largest presentation definition / client metadata / response body accepted.
pub const MAX_DOC_BYTES: usize = 64 * 1024;
/// Largest request object / entity statement accepted.
pub const MAX_JWT_BYTES: usize = 64 * 1024;
/// `wallet_metadata.issuer` of the user wallet (the self-issued user round).
pub const SELF_ISSUED: &str = "https://self-issued.me/v2";
