//! The organization profile: how one administrator's wallet configures many managed
//! workstations without a server of its own (docs/protocol.md §13).
//!
//! ```text
//! admin wallet:  publish  → JWE(dir, A256GCM, key from the enrollment secret)
//!                             └ JWS (typ nuts-wallet-profile+jwt) by the organization key
//!                             └ {version, iat, exp, organization, credentials, roster, policy,
//!                                trusted issuers, audit forwarding, ...}
//! workstation:   enroll   → fetch (file or HTTPS) → decrypt → verify against the pinned
//!                           did:web → create the vault → apply in one transaction
//!                refresh  → the same from the enrolled source; only a newer version applies
//! ```
//!
//! - `model`: the profile's content and what a workstation keeps about it;
//! - `envelope`: the enrollment secret, sealing and opening, signature verification;
//! - `publish`: the administrator's side;
//! - `apply`: enrollment, refresh and the managed-mode rules;
//! - `local`: what the profile lets a workstation change itself.

mod apply;
mod envelope;
mod local;
mod model;
mod publish;

pub(crate) use apply::guard;
pub use apply::{
    enroll, guard_unmanaged, in_force, keep_fresh, managed_by, profile_state, refresh,
    EnrollOptions, ManagedInstall, RefreshOutcome, REFRESH_EVERY,
};
pub use envelope::{EnrollmentSecret, ProfileSource};
pub(crate) use local::{guard_area, guard_employee, note_change, note_employee};
pub use local::{
    local_status, use_organization_setting, LocalStatus, SETTING_LOCAL_OVERRIDES,
    SETTING_ORG_VALUES,
};
pub use model::{EmployeeSelection, LocalArea, OrgProfile, ProfileEmployee, ProfileState};
pub use publish::{
    enrollment_secret, publish_profile, publish_profile_allowing, published_local_changes,
    set_published_local_changes, ProfilePublished,
};

use wallet_vault::VaultError;

/// Vault setting: what a managed workstation knows about its profile ([`ProfileState`]).
pub const SETTING_PROFILE_STATE: &str = "managed_profile";
/// Vault setting (administrator's wallet): the version of the last published profile.
pub const SETTING_PROFILE_VERSION: &str = "profile_version";
/// Vault setting (administrator's wallet): what published profiles let workstations change.
pub const SETTING_PUBLISH_LOCAL_CHANGES: &str = "profile_local_changes";
/// Vault setting: how the approving employee is chosen ([`EmployeeSelection`]).
pub const SETTING_EMPLOYEE_SELECTION: &str = "employee_selection";
/// Token kind under which the enrollment secret is kept sealed.
pub const ENROLLMENT_SECRET_KIND: &str = "enrollment_secret";
/// `typ` of the signed profile.
pub const PROFILE_JWS_TYP: &str = "nuts-wallet-profile+jwt";
/// `typ` of the encrypted envelope.
pub const PROFILE_JWE_TYP: &str = "nuts-wallet-profile+jwe";
/// Environment variable with the enrollment secret for the CLI.
pub const ENROLLMENT_SECRET_ENV: &str = "NUTS_WALLET_ENROLLMENT_SECRET";
/// Largest profile file read (a roster of thousands of employees fits easily).
pub const MAX_PROFILE_BYTES: usize = 8 * 1024 * 1024;
/// Longest validity of a published profile.
pub const MAX_VALID_DAYS: u32 = 365;
/// Default validity of a published profile.
pub const DEFAULT_VALID_DAYS: u32 = 30;

/// What went wrong with a profile. Messages say what to do and never contain the secret or
/// personal data from the roster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The vault refused or failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The organization, its key or a credential could not be used.
    #[error(transparent)]
    Identity(#[from] crate::org::IdentityError),
    /// Bad input (path, validity, secret format, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// The profile could not be fetched from its source.
    #[error("the organization profile could not be read from {source_name}: {detail}")]
    Unreachable {
        /// File path or URL.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// The file is not a profile this secret opens, or it was changed.
    #[error("the organization profile cannot be opened: {0}")]
    Undecryptable(String),
    /// The signature, issuer, type or validity is wrong: refused.
    #[error("the organization profile is refused: {0}")]
    Refused(String),
    /// The DID document of the pinned organization DID could not be resolved.
    #[error("the organization's DID document could not be read ({0}); nothing was changed")]
    DidUnreachable(String),
    /// A profile older than (or as old as) the one in force.
    #[error("the organization profile version {offered} is not newer than the one in force ({current}); refused as a rollback")]
    Rollback {
        /// Offered.
        offered: u64,
        /// In force.
        current: u64,
    },
    /// The profile in force expired and no newer one could be fetched.
    #[error("the organization profile expired at {expired_at} and no newer one could be fetched ({last_error}); organization presentations are refused until it is refreshed")]
    Expired {
        /// RFC 3339.
        expired_at: String,
        /// The last refresh error.
        last_error: String,
    },
    /// The setting is managed by the organization profile.
    #[error(
        "this is managed by {organization}'s profile and cannot be changed on this workstation"
    )]
    Managed {
        /// The organization (its DID).
        organization: String,
    },
    /// Writing the profile file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl ProfileError {
    /// A stable code for the UI and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            ProfileError::Vault(e) => e.code(),
            ProfileError::Identity(e) => e.code(),
            ProfileError::InvalidInput(_) => "invalid_input",
            ProfileError::Unreachable { .. } => "profile_unreachable",
            ProfileError::Undecryptable(_) => "profile_undecryptable",
            ProfileError::Refused(_) => "profile_refused",
            ProfileError::DidUnreachable(_) => "profile_did_unreachable",
            ProfileError::Rollback { .. } => "profile_rollback",
            ProfileError::Expired { .. } => "profile_expired",
            ProfileError::Managed { .. } => "managed",
            ProfileError::Io { .. } => "io",
        }
    }
}

/// Result with [`ProfileError`].
pub type Result<T> = std::result::Result<T, ProfileError>;
