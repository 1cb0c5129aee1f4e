//! Why a user flow could not be started, continued or ended, with the codes, HTTP statuses
//! and OAuth errors the loopback API and the CLI report.

use wallet_vault::VaultError;

use super::sessions::SessionError;
use crate::oauth::error::{AuthorizationServerError, ServiceTokenError};

/// Why a user flow could not be started, continued or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserFlowError {
    /// A parameter is wrong (400 `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No organization with this subject in the wallet (404 `invalid_request`).
    #[error("unknown subject {0}")]
    UnknownSubject(String),
    /// The admin policy does not allow this authorization server (403 `access_denied`).
    #[error("authorization server {0} is not allowed by the wallet's policy")]
    NotAllowed(String),
    /// `preauthorized_user.id` is not on the roster (400 `invalid_request`).
    #[error("employee {0} is not on the wallet's roster")]
    UnknownEmployee(String),
    /// The roster entry is deactivated (403 `access_denied`).
    #[error("employee {0} is deactivated in the wallet's roster")]
    InactiveEmployee(String),
    /// `preauthorized_user.name` or `.role` differs from the roster (400 `invalid_request`).
    #[error("preauthorized_user.{field} does not match the roster entry of {identifier}")]
    EmployeeMismatch {
        /// Roster identifier.
        identifier: String,
        /// `name` or `role`.
        field: &'static str,
    },
    /// The vault is locked (503 `temporarily_unavailable`).
    #[error("the wallet is locked")]
    Locked,
    /// Storage problem (500 `server_error`).
    #[error("wallet storage: {0}")]
    Storage(String),
    /// Session problem (unknown/expired landing token or state; 400, or 503 when full).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Signing the request object failed (500 `server_error`).
    #[error("signing failed: {0}")]
    Signing(String),
    /// The organization's key is out of reach (HSM absent, unreachable, PIN refused; 503
    /// `temporarily_unavailable`).
    #[error("the organization's signing key is not available: {0}")]
    KeyUnavailable(String),
    /// A request to the authorization server failed (discovery, code exchange), with its
    /// statuses.
    #[error(transparent)]
    Server(#[from] AuthorizationServerError),
}

impl UserFlowError {
    pub(crate) fn from_vault(e: VaultError) -> Self {
        match e {
            VaultError::Locked => Self::Locked,
            other => Self::Storage(other.to_string()),
        }
    }

    /// The organization as requester could not be read (see
    /// [`crate::oauth::service::RequesterSource`]).
    pub fn from_requester(e: ServiceTokenError) -> Self {
        match e {
            ServiceTokenError::Locked => Self::Locked,
            ServiceTokenError::UnknownSubject(s) => Self::UnknownSubject(s),
            ServiceTokenError::Signing(s) => Self::Signing(s),
            ServiceTokenError::KeyUnavailable(s) => Self::KeyUnavailable(s),
            ServiceTokenError::Server(s) => Self::Server(s),
            other => Self::Storage(other.to_string()),
        }
    }

    pub(super) fn from_identity(e: crate::org::IdentityError) -> Self {
        match e {
            crate::org::IdentityError::Vault(v) => Self::from_vault(v),
            e @ crate::org::IdentityError::Hsm(_) => Self::KeyUnavailable(e.to_string()),
            other => Self::Storage(other.to_string()),
        }
    }

    /// Stable code for logs, the activity log and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnknownSubject(_) => "unknown_subject",
            Self::NotAllowed(_) => "not_allowed",
            Self::UnknownEmployee(_) => "unknown_employee",
            Self::InactiveEmployee(_) => "inactive_employee",
            Self::EmployeeMismatch { .. } => "employee_mismatch",
            Self::Locked => "locked",
            Self::Storage(_) => "storage",
            Self::Session(SessionError::UnknownLandingToken) => "unknown_landing_token",
            Self::Session(SessionError::UnknownState) => "unknown_state",
            Self::Session(SessionError::Full) => "too_many_sessions",
            Self::Signing(_) => "signing_failed",
            Self::KeyUnavailable(_) => "key_unavailable",
            Self::Server(e) => e.code(),
        }
    }

    /// HTTP status for the internal API.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownEmployee(_)
            | Self::EmployeeMismatch { .. }
            | Self::Session(SessionError::UnknownLandingToken | SessionError::UnknownState) => 400,
            Self::NotAllowed(_) | Self::InactiveEmployee(_) => 403,
            Self::UnknownSubject(_) => 404,
            Self::Locked | Self::Session(SessionError::Full) | Self::KeyUnavailable(_) => 503,
            Self::Storage(_) | Self::Signing(_) => 500,
            Self::Server(e) => e.http_status(),
        }
    }

    /// The OAuth `error` code for the internal API's error JSON.
    pub fn oauth_error(&self) -> &str {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownSubject(_)
            | Self::UnknownEmployee(_)
            | Self::EmployeeMismatch { .. }
            | Self::Session(SessionError::UnknownLandingToken | SessionError::UnknownState) => {
                "invalid_request"
            }
            Self::NotAllowed(_) | Self::InactiveEmployee(_) => "access_denied",
            Self::Locked | Self::Session(SessionError::Full) | Self::KeyUnavailable(_) => {
                "temporarily_unavailable"
            }
            Self::Storage(_) | Self::Signing(_) => "server_error",
            Self::Server(e) => e.oauth_error(),
        }
    }
}
