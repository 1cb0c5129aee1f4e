//! Typed refusals of the holder, and whether the verifier may be told (EUDI
//! `Resolution::Invalid { error, dispatch }`).

use wallet_protocol::openid4vp::{Rejection, RequestObjectError, ResponseError};

pub use wallet_protocol::openid4vp::ErrorDispatch;

/// Why a wallet authorization request was refused before the user was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No user-flow session of this wallet with this verifier, and unsolicited requests are
    /// not allowed (phishing risk).
    #[error("the request from {0} was not started from this wallet")]
    Unsolicited(String),
    /// The administrator's policy does not list this verifier (and does not say to show
    /// unlisted verifiers).
    #[error("{0} is not an authorization server this wallet may answer (see the policy)")]
    OutsidePolicy(String),
    /// The vault is locked or has no organization.
    #[error("the wallet is not ready: {0}")]
    NotReady(String),
    /// The request object could not be fetched (unreachable, refused by the network policy,
    /// not found, already used at the verifier).
    #[error("the request object could not be fetched: {0}")]
    Fetch(String),
    /// The request object's address is refused by the network policy (a private or loopback
    /// address outside development mode, plain http, credentials in the URL).
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
    /// `exp` passed, or `iat`/`nbf` in the future.
    #[error("the request object has expired or is not yet valid")]
    Expired,
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
    /// The presentation definition could not be fetched or parsed.
    #[error("the presentation definition is unusable: {0}")]
    PresentationDefinition(String),
    /// The client metadata could not be fetched or parsed.
    #[error("the verifier's client metadata is unusable: {0}")]
    ClientMetadata(String),
}

impl ResolveError {
    /// Stable code for the UI and the activity log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsolicited(_) => "unsolicited",
            Self::OutsidePolicy(_) => "outside_policy",
            Self::NotReady(_) => "not_ready",
            Self::Fetch(_) => "request_object_fetch",
            Self::AddressRefused(_) => "address_refused",
            Self::Signature(_) => "request_object_signature",
            Self::KeyNotInEntityStatement(_) => "key_not_in_entity_statement",
            Self::EntityStatement(_) => "entity_statement",
            Self::ClientIdMismatch { .. } => "client_id_mismatch",
            Self::WrongAudience(_) => "wrong_audience",
            Self::Expired => "expired",
            Self::Replayed => "replayed",
            Self::ResponseMode(_) => "response_mode",
            Self::ResponseUri(_) => "response_uri",
            Self::MissingState => "missing_state",
            Self::ClientIdScheme(_) => "client_id_scheme",
            Self::ResponseType(_) => "response_type",
            Self::MissingNonce => "missing_nonce",
            Self::PresentationDefinition(_) => "presentation_definition",
            Self::ClientMetadata(_) => "client_metadata",
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
            Self::PresentationDefinition(_) => Some("invalid_presentation_definition_uri"),
            Self::ClientMetadata(_) => Some("server_error"),
            _ => None,
        }
    }
}

/// A refused request (EUDI `Resolution::Invalid`): the error, and whether it may be posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Invalid {
    /// Why.
    pub error: ResolveError,
    /// `Some` when the verifier may be told (the request was authentic).
    pub dispatch: Option<ErrorDispatch>,
}

impl From<RequestObjectError> for ResolveError {
    fn from(e: RequestObjectError) -> Self {
        use RequestObjectError as R;
        match e {
            R::Fetch(s) => Self::Fetch(s),
            R::AddressRefused(s) => Self::AddressRefused(s),
            R::Signature(s) => Self::Signature(s),
            R::KeyNotInEntityStatement(s) => Self::KeyNotInEntityStatement(s),
            R::EntityStatement(s) => Self::EntityStatement(s),
            R::ClientIdMismatch { claim, link } => Self::ClientIdMismatch { claim, link },
            R::WrongAudience(s) => Self::WrongAudience(s),
            R::Expired => Self::Expired,
            R::Replayed => Self::Replayed,
            R::ResponseMode(s) => Self::ResponseMode(s),
            R::ResponseUri(s) => Self::ResponseUri(s),
            R::MissingState => Self::MissingState,
            R::ClientIdScheme(s) => Self::ClientIdScheme(s),
            R::ResponseType(s) => Self::ResponseType(s),
            R::MissingNonce => Self::MissingNonce,
        }
    }
}

impl From<Rejection> for Invalid {
    fn from(r: Rejection) -> Self {
        Self {
            error: r.error.into(),
            dispatch: r.dispatch,
        }
    }
}

impl From<ResponseError> for DispatchError {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::Unreachable(s) => Self::Unreachable(s),
            ResponseError::Refused {
                status,
                redirect_uri,
            } => Self::Refused {
                status,
                redirect_uri,
            },
            ResponseError::BadResponse(s) => Self::BadResponse(s),
        }
    }
}

impl From<ResolveError> for Invalid {
    fn from(error: ResolveError) -> Self {
        Self {
            error,
            dispatch: None,
        }
    }
}

/// Why the answer could not be sent or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The wallet cannot satisfy the presentation definition.
    #[error("no matching credentials: {0}")]
    NoMatch(String),
    /// No VP format in common with the verifier.
    #[error("no common presentation format with the verifier")]
    NoCommonVpFormat,
    /// The employee is unknown, inactive, or has no key.
    #[error("employee: {0}")]
    Employee(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The vault failed.
    #[error("wallet storage: {0}")]
    Storage(String),
    /// The verifier could not be reached.
    #[error("the verifier could not be reached: {0}")]
    Unreachable(String),
    /// The verifier refused the response; `redirect_uri` is where it sends the browser, if
    /// anywhere (the client's callback with `error=`).
    #[error("the verifier refused the response (HTTP {status})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Redirect with the error, when the verifier gave one.
        redirect_uri: Option<String>,
    },
    /// The verifier's answer is not usable.
    #[error("the verifier gave an invalid answer: {0}")]
    BadResponse(String),
    /// The second (user) round could not be resolved.
    #[error("the user round was refused: {0}")]
    UserRound(#[from] Invalid),
}

impl DispatchError {
    /// Stable code for the UI and the activity log.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoMatch(_) => "no_matching_credential",
            Self::NoCommonVpFormat => "no_common_vp_format",
            Self::Employee(_) => "employee",
            Self::Signing(_) => "signing_failed",
            Self::Storage(_) => "storage",
            Self::Unreachable(_) => "unreachable",
            Self::Refused { .. } => "refused",
            Self::BadResponse(_) => "bad_response",
            Self::UserRound(_) => "user_round",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_authentic_request_errors_map_to_an_oauth_error() {
        assert_eq!(
            ResolveError::MissingNonce.oauth_error(),
            Some("invalid_request")
        );
        assert_eq!(
            ResolveError::PresentationDefinition("x".into()).oauth_error(),
            Some("invalid_presentation_definition_uri")
        );
        for never in [
            ResolveError::Signature("x".into()),
            ResolveError::ResponseUri("x".into()),
            ResolveError::WrongAudience("x".into()),
            ResolveError::Expired,
            ResolveError::Replayed,
            ResolveError::Unsolicited("x".into()),
            ResolveError::OutsidePolicy("x".into()),
        ] {
            assert_eq!(never.oauth_error(), None, "{never:?}");
            assert!(Invalid::from(never).dispatch.is_none());
        }
        assert_eq!(ResolveError::Expired.code(), "expired");
    }
}
