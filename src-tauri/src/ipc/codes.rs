//! The closed sets of strings the UI branches on, as enums: TypeScript gets them as string
//! unions (ts-rs), so a typo in the UI is a compile error. The wire strings are the codes the
//! core crates give (`VaultError::code`, `ResolveError::code`, ...), which the UI's i18n keys and
//! the e2e tests use.

use serde::de::value::{Error as DeError, StrDeserializer};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Reads a core code into one of these enums by its wire string (no second list of strings).
fn parse<'a, T: Deserialize<'a>>(code: &'a str) -> Option<T> {
    let de: StrDeserializer<'a, DeError> = code.into_deserializer();
    T::deserialize(de).ok()
}

/// `IpcError.code`: what went wrong, to branch on and translate (`common.error.<code>`,
/// `refused.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The vault's codes (`wallet_vault::VaultError::code`).
    NotInitialized,
    AlreadyInitialized,
    Locked,
    WrongPassphrase,
    AdminRequired,
    KeyringUnavailable,
    KeyringEntryMissing,
    NewerSchema,
    Corrupt,
    Tampered,
    BackupDamaged,
    NotFound,
    Duplicate,
    InvalidInput,
    Io,
    Database,
    // Organization, credentials and roster (`wallet_core::org::IdentityError::code`).
    NoOrganization,
    OrganizationExists,
    CredentialRefused,
    EmployeeInactive,
    Protocol,
    /// The new organization key is not served by the web server yet (activation refused).
    KeyNotPublished,
    /// A managed workstation: the organization profile sets this.
    Managed,
    /// A managed workstation whose organization profile expired.
    ProfileExpired,
    /// Employees are chosen by OS account and this OS user cannot approve.
    OsAccount,
    // The organization profile (`wallet_core::profile::ProfileError::code`).
    /// The profile file or URL could not be read.
    ProfileUnreachable,
    /// The enrollment secret does not open the file, or the file was changed.
    ProfileUndecryptable,
    /// The profile is refused (signature, type, content).
    ProfileRefused,
    /// The organization's DID document could not be read.
    ProfileDidUnreachable,
    /// A profile not newer than the one in force.
    ProfileRollback,
    // Refinements the app makes of `profile_refused` and `invalid_input` (see
    // `identity::refine_profile_error`), so the screens can say what to do.
    /// The profile was published by another organization than the DID given.
    ProfileWrongOrganization,
    /// The profile file itself has expired (the administrator must publish again).
    ProfileFileExpired,
    /// The profile would be written into the folder of the public publication bundle.
    ProfileNextToBundle,
    /// The organization key is in the administrator's vault: workstations cannot sign with it.
    ProfileKeyInVault,
    /// The managed-install file of a mass rollout cannot be used (permissions, content).
    ProfileInstallFile,
    /// The activity log's chain does not verify: nothing was exported.
    LogBroken,
    // Issuing the X509Credential from the UZI server certificate
    // (`wallet_core::credentials::IssueX509Error::code`).
    NotUziServerCertificate,
    CertificateExpired,
    CertificateNotYetValid,
    BrokenChain,
    CaNotInChain,
    #[serde(rename = "wrong_pkcs12_password")]
    WrongPkcs12Password,
    KeyMismatch,
    UnsupportedKey,
    InvalidCertificateInput,
    IssueFailed,
    // The HSM holding the organization key (`wallet_core::org::Pkcs11Error::code`).
    Pkcs11InvalidUri,
    Pkcs11ModuleNotFound,
    Pkcs11ModuleLoad,
    Pkcs11TokenAbsent,
    Pkcs11PinRequired,
    Pkcs11WrongPin,
    Pkcs11PinLocked,
    Pkcs11KeyMissing,
    #[serde(rename = "pkcs11_not_ec_p256")]
    Pkcs11NotEcP256,
    Pkcs11Unreachable,
    Pkcs11Other,
    // A request on the consent screen that cannot be used (any more).
    Busy,
    RequestAnswered,
    RequestExpired,
    /// The browser could not be opened.
    Browser,
    /// Anything unexpected (e.g. a background task that failed).
    Internal,
    // Why a wallet request was refused before consent (`ResolveError::code`).
    #[serde(rename = "refused.unsolicited")]
    RefusedUnsolicited,
    #[serde(rename = "refused.outside_policy")]
    RefusedOutsidePolicy,
    #[serde(rename = "refused.not_ready")]
    RefusedNotReady,
    #[serde(rename = "refused.request_uri_origin")]
    RefusedRequestUriOrigin,
    #[serde(rename = "refused.request_object_fetch")]
    RefusedRequestObjectFetch,
    #[serde(rename = "refused.address_refused")]
    RefusedAddressRefused,
    #[serde(rename = "refused.request_object_signature")]
    RefusedRequestObjectSignature,
    #[serde(rename = "refused.key_not_in_entity_statement")]
    RefusedKeyNotInEntityStatement,
    #[serde(rename = "refused.entity_statement")]
    RefusedEntityStatement,
    #[serde(rename = "refused.client_id_mismatch")]
    RefusedClientIdMismatch,
    #[serde(rename = "refused.wrong_audience")]
    RefusedWrongAudience,
    #[serde(rename = "refused.expired")]
    RefusedExpired,
    #[serde(rename = "refused.lifetime")]
    RefusedLifetime,
    #[serde(rename = "refused.replayed")]
    RefusedReplayed,
    #[serde(rename = "refused.response_mode")]
    RefusedResponseMode,
    #[serde(rename = "refused.response_uri")]
    RefusedResponseUri,
    #[serde(rename = "refused.missing_state")]
    RefusedMissingState,
    #[serde(rename = "refused.client_id_scheme")]
    RefusedClientIdScheme,
    #[serde(rename = "refused.response_type")]
    RefusedResponseType,
    #[serde(rename = "refused.missing_nonce")]
    RefusedMissingNonce,
    #[serde(rename = "refused.presentation_definition")]
    RefusedPresentationDefinition,
    #[serde(rename = "refused.client_metadata")]
    RefusedClientMetadata,
    // Why sending an approved or declined answer failed (`DispatchError::code`).
    #[serde(rename = "dispatch.no_matching_credential")]
    DispatchNoMatchingCredential,
    #[serde(rename = "dispatch.no_common_vp_format")]
    DispatchNoCommonVpFormat,
    #[serde(rename = "dispatch.employee")]
    DispatchEmployee,
    #[serde(rename = "dispatch.signing_failed")]
    DispatchSigningFailed,
    #[serde(rename = "dispatch.storage")]
    DispatchStorage,
    #[serde(rename = "dispatch.unreachable")]
    DispatchUnreachable,
    #[serde(rename = "dispatch.refused")]
    DispatchRefused,
    #[serde(rename = "dispatch.bad_response")]
    DispatchBadResponse,
    #[serde(rename = "dispatch.user_round")]
    DispatchUserRound,
}

impl ErrorCode {
    /// The code for a core error code; one this enum does not know is a bug, reported as
    /// `internal` (and logged) rather than sent as a string the UI cannot branch on.
    pub fn of(code: &str) -> Self {
        parse(code).unwrap_or_else(|| {
            tracing::error!(code, "error code missing from ipc::codes::ErrorCode");
            ErrorCode::Internal
        })
    }
}

/// Compares with a wire string (tests assert codes as the UI sees them).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        serde_json::to_value(self).is_ok_and(|v| v == *other)
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::of(code)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        ErrorCode::of(&code)
    }
}

/// Why a received `nuts-wallet:` link was refused (`wallet_core::deeplink::DeepLinkError::code`;
/// translated as `link.error.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LinkErrorCode {
    TooLong,
    NotAUrl,
    WrongScheme,
    UnknownAction,
    MissingParameter,
    DuplicateParameter,
    InvalidParameter,
}

impl From<&str> for LinkErrorCode {
    fn from(code: &str) -> Self {
        parse(code).unwrap_or_else(|| {
            tracing::error!(
                code,
                "link error code missing from ipc::codes::LinkErrorCode"
            );
            LinkErrorCode::InvalidParameter
        })
    }
}

/// Whether the vault exists and is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum VaultState {
    /// No vault yet: first-run setup.
    Uninitialized,
    /// A vault exists; its key is not in memory.
    Locked,
    /// Open for use.
    Unlocked,
}

impl From<wallet_core::session::VaultState> for VaultState {
    fn from(s: wallet_core::session::VaultState) -> Self {
        use wallet_core::session::VaultState as Core;
        match s {
            Core::Uninitialized => VaultState::Uninitialized,
            Core::Locked => VaultState::Locked,
            Core::Unlocked => VaultState::Unlocked,
        }
    }
}

/// What the clinician decided on the consent screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Shared.
    Approved,
    /// Nothing shared; the verifier was told.
    Declined,
}

impl DecisionOutcome {
    /// The outcome of approving (`true`) or declining.
    pub fn of(approve: bool) -> Self {
        if approve {
            DecisionOutcome::Approved
        } else {
            DecisionOutcome::Declined
        }
    }
}

/// A credential's revocation status as checked now (`wallet_core::credentials::RevocationView`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RevocationState {
    /// The credential has no status list entry.
    NoStatus,
    /// Checked: not revoked.
    Active,
    /// Checked: revoked by its issuer.
    Revoked,
    /// Checked: suspended by its issuer.
    Suspended,
    /// Could not be checked (e.g. offline).
    Unknown,
}

impl From<&str> for RevocationState {
    fn from(status: &str) -> Self {
        parse(status).unwrap_or(RevocationState::Unknown)
    }
}

/// A vault activity's outcome (`wallet_vault::Outcome`, stored as text; translated as
/// `outcome.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ActivityOutcome {
    /// It was done.
    Success,
    /// It was attempted and failed.
    Failure,
    /// A person declined it.
    Declined,
}

impl From<&str> for ActivityOutcome {
    fn from(outcome: &str) -> Self {
        parse(outcome).unwrap_or_else(|| {
            tracing::error!(
                outcome,
                "activity outcome missing from ipc::codes::ActivityOutcome"
            );
            ActivityOutcome::Failure
        })
    }
}

/// How the vault key is protected at rest (`VaultStatus::protection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProtectionMethod {
    /// By a key in the OS keyring.
    Keyring,
    /// By the vault passphrase.
    Passphrase,
}

impl ProtectionMethod {
    /// The methods of a vault status; one this enum does not know cannot be offered for
    /// unlocking, so it is logged and left out.
    pub fn list(methods: &[String]) -> Vec<Self> {
        methods
            .iter()
            .filter_map(|m| match m.as_str() {
                "keyring" => Some(ProtectionMethod::Keyring),
                "passphrase" => Some(ProtectionMethod::Passphrase),
                other => {
                    tracing::error!(method = other, "unknown vault protection method");
                    None
                }
            })
            .collect()
    }
}

/// A round of the consent screen's answer (`wallet_core::openid4vp::Round`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsentRound {
    /// The organization's presentation.
    Organization,
    /// The employee's presentation.
    User,
}

impl From<&wallet_core::openid4vp::Round> for ConsentRound {
    fn from(r: &wallet_core::openid4vp::Round) -> Self {
        use wallet_core::openid4vp::Round;
        match r {
            Round::Organization => ConsentRound::Organization,
            Round::User => ConsentRound::User,
        }
    }
}

/// A warning about a stored credential (`wallet_core::credentials::Warning::code`; translated
/// as `warn.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    Expired,
    ExpiringSoon,
    NotYetValid,
    Revoked,
    Suspended,
    RevocationUnknown,
    UntrustedIssuer,
    UnsignedProperties,
}

impl WarningCode {
    /// The code of a core warning; one this enum does not know is a bug, logged (the warning's
    /// English message still travels with it).
    pub fn of(code: &str) -> Option<Self> {
        let parsed = parse(code);
        if parsed.is_none() {
            tracing::error!(code, "warning code missing from ipc::codes::WarningCode");
        }
        parsed
    }
}

/// Writes the TypeScript declarations of these enums.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    ErrorCode::export_all_to(dir)?;
    LinkErrorCode::export_all_to(dir)?;
    VaultState::export_all_to(dir)?;
    DecisionOutcome::export_all_to(dir)?;
    RevocationState::export_all_to(dir)?;
    ActivityOutcome::export_all_to(dir)?;
    ProtectionMethod::export_all_to(dir)?;
    ConsentRound::export_all_to(dir)?;
    WarningCode::export_all_to(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::openid4vp::{DispatchError, RequestObjectError, ResolveError};

    fn wire<T: Serialize>(v: T) -> String {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn every_x509_issue_refusal_has_its_own_code() {
        use wallet_core::credentials::IssueX509Error as I;
        use wallet_protocol::vc::x509_issue::X509IssueError as X;
        let s = || "x".to_owned();
        let all = [
            I::Certificate(X::NotUziServer(s())),
            I::Certificate(X::Expired { dn: s(), at: s() }),
            I::Certificate(X::NotYetValid { dn: s(), at: s() }),
            I::Certificate(X::BrokenChain(s())),
            I::Certificate(X::CaNotInChain {
                wanted: s(),
                candidates: vec![],
            }),
            I::Certificate(X::WrongPassword),
            I::Certificate(X::KeyMismatch),
            I::Certificate(X::UnsupportedKey(s())),
            I::Certificate(X::Invalid(s())),
            I::Certificate(X::Failed(s())),
        ];
        for e in all {
            let code = e.code();
            let ipc = crate::ipc::dto::IpcError::from(e);
            assert_eq!(ipc.code, code, "{code}");
            assert_ne!(ipc.code, ErrorCode::Internal, "{code}");
        }
    }

    #[test]
    fn core_codes_keep_their_wire_strings() {
        use wallet_vault::VaultError as V;
        let s = || "x".to_owned();
        let mut codes: Vec<String> = [
            V::Locked,
            V::AdminRequired("x"),
            V::KeyringUnavailable(s()),
            V::KeyringEntryMissing(s()),
            V::BackupDamaged(s()),
            V::InvalidInput(s()),
        ]
        .iter()
        .map(|e| e.code().to_owned())
        .collect();
        codes.extend(
            ["not_initialized", "already_initialized", "wrong_passphrase"].map(String::from),
        );
        codes.extend(
            [
                "not_found",
                "duplicate",
                "io",
                "database",
                "corrupt",
                "tampered",
                "newer_schema",
            ]
            .map(String::from),
        );
        codes.extend(
            [
                "no_organization",
                "organization_exists",
                "credential_refused",
            ]
            .into_iter()
            .chain(["employee_inactive", "protocol", "busy", "request_answered"])
            .chain(["request_expired", "browser", "internal"])
            .map(String::from),
        );
        let refusals = [
            ResolveError::Request(RequestObjectError::Expired),
            ResolveError::Request(RequestObjectError::Replayed),
            ResolveError::Request(RequestObjectError::MissingNonce),
        ];
        codes.extend(refusals.iter().map(|e| format!("refused.{}", e.code())));
        let dispatch = [DispatchError::NoCommonVpFormat];
        codes.extend(dispatch.iter().map(|e| format!("dispatch.{}", e.code())));
        for code in codes {
            assert_eq!(wire(ErrorCode::of(&code)), code);
        }
        assert_eq!(ErrorCode::of("something new"), ErrorCode::Internal);
    }

    /// Every HSM failure and the refused activation reach the UI with their own code (which
    /// selects the plain-language text), never as `internal`.
    #[test]
    fn hsm_and_rotation_codes_keep_their_wire_strings() {
        use wallet_core::org::{IdentityError, Pkcs11Error as P};
        let t = || "Org".to_owned();
        let errors = [
            P::InvalidUri(t()),
            P::ModuleNotFound {
                path: "/x.so".into(),
            },
            P::ModuleLoad {
                path: "/x.so".into(),
                detail: t(),
            },
            P::TokenAbsent {
                label: t(),
                present: vec![],
            },
            P::PinRequired { token: t() },
            P::WrongPin { token: t() },
            P::PinLocked { token: t() },
            P::KeyMissing {
                token: t(),
                object: t(),
            },
            P::NotEcP256 {
                object: t(),
                found: t(),
            },
            P::Unreachable(t()),
            P::Other(t()),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for e in errors {
            let code = IdentityError::Hsm(e).code();
            let parsed = ErrorCode::of(code);
            assert_ne!(parsed, ErrorCode::Internal, "{code}");
            assert_eq!(wire(parsed), code);
            assert!(seen.insert(code), "{code} twice");
        }
        let code = IdentityError::NotPublished("x".into()).code();
        assert_eq!(wire(ErrorCode::of(code)), "key_not_published");
    }

    /// Every organization-profile problem reaches the UI with its own code.
    #[test]
    fn profile_codes_keep_their_wire_strings() {
        use wallet_core::profile::ProfileError as P;
        let errors = [
            P::InvalidInput("x".into()),
            P::Unreachable {
                source_name: "f".into(),
                detail: "d".into(),
            },
            P::Undecryptable("x".into()),
            P::Refused("x".into()),
            P::DidUnreachable("x".into()),
            P::Rollback {
                offered: 1,
                current: 2,
            },
            P::Expired {
                expired_at: "t".into(),
                last_error: "e".into(),
            },
            P::Managed {
                organization: "o".into(),
            },
        ];
        for e in errors {
            let code = e.code();
            let parsed = ErrorCode::of(code);
            assert_ne!(parsed, ErrorCode::Internal, "{code}");
            assert_eq!(wire(parsed), code);
        }
    }

    #[test]
    fn link_codes_and_states_keep_their_wire_strings() {
        for code in ["too_long", "not_a_url", "wrong_scheme", "unknown_action"]
            .into_iter()
            .chain([
                "missing_parameter",
                "duplicate_parameter",
                "invalid_parameter",
            ])
        {
            assert_eq!(wire(LinkErrorCode::from(code)), code);
        }
        assert_eq!(wire(VaultState::Uninitialized), "uninitialized");
        for status in ["no_status", "active", "revoked", "suspended", "unknown"] {
            assert_eq!(wire(RevocationState::from(status)), status);
        }
        assert_eq!(wire(DecisionOutcome::of(true)), "approved");
        assert_eq!(wire(DecisionOutcome::of(false)), "declined");
    }

    #[test]
    fn activity_protection_round_and_warning_codes_keep_their_wire_strings() {
        use wallet_core::openid4vp::Round;
        use wallet_vault::Outcome;
        for o in [Outcome::Success, Outcome::Failure, Outcome::Declined] {
            let stored = serde_json::to_value(o).unwrap();
            let stored = stored.as_str().unwrap();
            assert_eq!(wire(ActivityOutcome::from(stored)), stored);
        }
        let methods = ["keyring", "passphrase"].map(String::from);
        let listed = ProtectionMethod::list(&methods);
        assert_eq!(listed.into_iter().map(wire).collect::<Vec<_>>(), methods);
        assert_eq!(
            wire(ConsentRound::from(&Round::Organization)),
            "organization"
        );
        assert_eq!(wire(ConsentRound::from(&Round::User)), "user");
        for code in [
            "expired",
            "expiring_soon",
            "not_yet_valid",
            "revoked",
            "suspended",
        ]
        .into_iter()
        .chain([
            "revocation_unknown",
            "untrusted_issuer",
            "unsigned_properties",
        ]) {
            assert_eq!(WarningCode::of(code).map(wire).as_deref(), Some(code));
        }
    }
}
