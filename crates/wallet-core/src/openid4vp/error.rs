//! Typed refusals of the holder, and whether the verifier may be told (EUDI
//! `Resolution::Invalid { error, dispatch }`).

use wallet_protocol::openid4vp::Rejection;

pub use wallet_protocol::openid4vp::{ErrorDispatch, RequestObjectError, ResponseError};

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
    /// The request object was refused: not fetched, not validly signed, or its claims do not
    /// hold (`docs/protocol.md` §4).
    #[error(transparent)]
    Request(#[from] RequestObjectError),
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
            Self::Request(e) => e.code(),
            Self::PresentationDefinition(_) => "presentation_definition",
            Self::ClientMetadata(_) => "client_metadata",
        }
    }

    /// The OAuth error the verifier gets when this error may be posted back: only once
    /// signature, client id, `response_mode`, `response_uri` and `state` are verified
    /// (`docs/protocol.md` §4).
    pub fn oauth_error(&self) -> Option<&'static str> {
        match self {
            Self::Request(e) => e.oauth_error(),
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

impl From<Rejection> for Invalid {
    fn from(r: Rejection) -> Self {
        Self {
            error: r.error.into(),
            dispatch: r.dispatch,
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
    /// The verifier could not be reached, refused the answer (with where it sends the
    /// browser, if anywhere), or gave an unusable answer.
    #[error(transparent)]
    Response(#[from] ResponseError),
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
            Self::Response(e) => e.code(),
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
            ResolveError::from(RequestObjectError::MissingNonce).oauth_error(),
            Some("invalid_request")
        );
        assert_eq!(
            ResolveError::PresentationDefinition("x".into()).oauth_error(),
            Some("invalid_presentation_definition_uri")
        );
        for never in [
            RequestObjectError::Signature("x".into()).into(),
            RequestObjectError::ResponseUri("x".into()).into(),
            RequestObjectError::WrongAudience("x".into()).into(),
            RequestObjectError::Expired.into(),
            RequestObjectError::Replayed.into(),
            ResolveError::Unsolicited("x".into()),
            ResolveError::OutsidePolicy("x".into()),
        ] {
            assert_eq!(never.oauth_error(), None, "{never:?}");
            assert!(Invalid::from(never).dispatch.is_none());
        }
        assert_eq!(
            ResolveError::from(RequestObjectError::Expired).code(),
            "expired"
        );
    }
}
