//! Errors of the holder's protocol steps, one type per phase: fetching a document
//! ([`DocumentError`]), verifying a request object ([`RequestObjectError`], with
//! [`Rejection`] saying whether the verifier may be told) and posting an answer
//! ([`ResponseError`]).

use std::fmt;

use serde::Serialize;

/// Why a request object was refused (fetch or verification), before the user is asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestObjectError {
    /// `request_uri` is on another origin than `client_id`: it is not fetched (the link is
    /// unsigned, so it could make the wallet contact any host before consent).
    #[error("the request's address is not on the verifier's origin: {0}")]
    RequestUriOrigin(String),
    /// Could not be fetched (unreachable, not found, not text).
    #[error("the request object could not be fetched: {0}")]
    Fetch(String),
    /// The address is refused by the network policy.
    #[error("the request object's address is not allowed: {0}")]
    AddressRefused(String),
    /// Not a signed JWT, `alg: none`, unknown key, or a bad signature.
    #[error("the request object is not validly signed: {0}")]
    Signature(String),
    /// The signing key is not in the verifier's entity statement for `client_id`.
    #[error("the verifier's entity statement does not list the signing key: {0}")]
    KeyNotInEntityStatement(String),
    /// The verifier's entity statement could not be fetched or verified.
    #[error("the verifier's entity statement is unusable: {0}")]
    EntityStatement(String),
    /// `client_id` in the request object differs from the link's.
    #[error("client_id in the request object ({claim}) differs from the link's ({link})")]
    ClientIdMismatch {
        /// In the request object.
        claim: String,
        /// In the link.
        link: String,
    },
    /// `aud` is not this wallet.
    #[error("the request object is meant for another wallet (aud {0})")]
    WrongAudience(String),
    /// `exp` passed, `iat`/`nbf` in the future, or `iat` older than the longest lifetime.
    #[error("the request object has expired or is not yet valid")]
    Expired,
    /// No `exp`, or valid for longer than [`super::request::MAX_LIFETIME_SECS`].
    #[error("the request object's validity is missing or too long: {0}")]
    Lifetime(&'static str),
    /// A request object with this nonce was handled before.
    #[error("the request object was used before")]
    Replayed,
    /// `response_mode` other than `direct_post`.
    #[error("unsupported response_mode `{0}`")]
    ResponseMode(String),
    /// `response_uri` missing, not https, or not on the verifier's origin.
    #[error("response_uri is missing or not on the verifier's origin: {0}")]
    ResponseUri(String),
    /// `state` missing.
    #[error("the request object has no state")]
    MissingState,
    /// `client_id_scheme` other than `entity_id`.
    #[error("unsupported client_id_scheme `{0}`")]
    ClientIdScheme(String),
    /// `response_type` other than `vp_token`.
    #[error("unsupported response_type `{0}`")]
    ResponseType(String),
    /// No `nonce`.
    #[error("the request object has no nonce")]
    MissingNonce,
}

impl RequestObjectError {
    /// Stable code for the UI and the activity log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RequestUriOrigin(_) => "request_uri_origin",
            Self::Fetch(_) => "request_object_fetch",
            Self::AddressRefused(_) => "address_refused",
            Self::Signature(_) => "request_object_signature",
            Self::KeyNotInEntityStatement(_) => "key_not_in_entity_statement",
            Self::EntityStatement(_) => "entity_statement",
            Self::ClientIdMismatch { .. } => "client_id_mismatch",
            Self::WrongAudience(_) => "wrong_audience",
            Self::Expired => "expired",
            Self::Lifetime(_) => "lifetime",
            Self::Replayed => "replayed",
            Self::ResponseMode(_) => "response_mode",
            Self::ResponseUri(_) => "response_uri",
            Self::MissingState => "missing_state",
            Self::ClientIdScheme(_) => "client_id_scheme",
            Self::ResponseType(_) => "response_type",
            Self::MissingNonce => "missing_nonce",
        }
    }

    /// The OAuth error the verifier gets when this error may be posted back: only once
    /// signature, client id, `response_mode`, `response_uri` and `state` are verified
    /// (`docs/protocol.md` §4).
    pub fn oauth_error(&self) -> Option<&'static str> {
        match self {
            Self::ClientIdScheme(_) | Self::ResponseType(_) | Self::MissingNonce => {
                Some("invalid_request")
            }
            _ => None,
        }
    }
}

/// An error that may be posted to the verifier's (verified) `response_uri`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorDispatch {
    /// The verified `response_uri`.
    pub response_uri: String,
    /// The verifier's `state` (sent as query parameter, as Nuts does).
    pub state: String,
    /// OAuth error code.
    pub error: String,
    /// Description.
    pub error_description: String,
}

/// A refused request object: the error, and the error answer when the request was authentic
/// enough to be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// Why.
    pub error: RequestObjectError,
    /// `Some` when the verifier may be told.
    pub dispatch: Option<ErrorDispatch>,
}

impl From<RequestObjectError> for Rejection {
    fn from(error: RequestObjectError) -> Self {
        Self {
            error,
            dispatch: None,
        }
    }
}

/// Why a JSON document (presentation definition, client metadata) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// The URI does not parse.
    NotUrl,
    /// Not `https://`.
    NotHttps,
    /// Transport failure (including the size cap and the network policy).
    Net(String),
    /// A status other than 200.
    Status(u16),
    /// The body is not JSON.
    NotJson,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUrl => f.write_str("not a URL"),
            Self::NotHttps => f.write_str("not https"),
            Self::Net(e) => f.write_str(e),
            Self::Status(s) => write!(f, "HTTP {s}"),
            Self::NotJson => f.write_str("not JSON"),
        }
    }
}

impl std::error::Error for DocumentError {}

/// Why an answer (presentation or error) posted to `response_uri` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The verifier could not be reached.
    #[error("the verifier could not be reached: {0}")]
    Unreachable(String),
    /// The verifier refused the answer; `redirect_uri` is where it sends the browser, if
    /// anywhere (the client's callback with `error=`).
    #[error("the verifier refused the response (HTTP {status})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Redirect with the error, when the verifier gave one.
        redirect_uri: Option<String>,
    },
    /// The verifier's answer (or the `response_uri`) is not usable.
    #[error("the verifier gave an invalid answer: {0}")]
    BadResponse(String),
}

impl ResponseError {
    /// Stable code for the UI and the activity log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Refused { .. } => "refused",
            Self::BadResponse(_) => "bad_response",
        }
    }
}
