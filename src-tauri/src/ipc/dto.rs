//! Data sent to the UI. TypeScript for these types is generated into `ui/src/ipc/bindings/`
//! (see `tests/bindings.rs`); the UI never sees a core type directly.

use serde::Serialize;
use ts_rs::TS;
use wallet_core::deeplink::{DeepLink, DeepLinkError, RequestUriMethod};

use super::codes::{ActivityOutcome, ErrorCode, LinkErrorCode, ProtectionMethod, VaultState};

/// `move_fields!(v => Dto { a, b })` is `Dto { a: v.a, b: v.b }`: a DTO built from the core
/// value whose fields it shares by name. Fields built otherwise follow a `;`:
/// `move_fields!(v => Dto { a, b; c: v.c.into() })`.
macro_rules! move_fields {
    ($src:ident => $dto:ident { $($field:ident),* $(,)? $(; $($rest:tt)*)? }) => {
        $dto { $($field: $src.$field,)* $($($rest)*)? }
    };
}
pub(crate) use move_fields;

/// What the About view and the header show.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Product version.
    pub version: String,
    /// Git commit of the build.
    pub commit: String,
    /// Data directory (vault, logs).
    pub data_dir: String,
    /// Folder of the log files.
    pub log_dir: String,
    /// Development mode (loopback servers trusted): the UI shows a banner.
    pub dev_mode: bool,
}

/// A `nuts-wallet:` link the app received (by deep link or from a second launch).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IncomingRequest {
    /// Sequence number within this run of the app.
    pub id: u32,
    /// When it arrived (milliseconds since the Unix epoch).
    #[ts(type = "number")]
    pub received_at_ms: u64,
    /// The link exactly as received (never contains secrets: a request by reference).
    pub link: String,
    /// What the wallet made of it.
    pub outcome: IncomingOutcome,
}

/// The parsed link, or why it was refused.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum IncomingOutcome {
    /// A well-formed OpenID4VP authorization request by reference.
    Authorize {
        /// The verifier's client id (entity id URL).
        client_id: String,
        /// The verifier's host, for display.
        verifier_host: String,
        /// Where the signed request object is.
        request_uri: String,
        /// `get` or `post`.
        request_uri_method: String,
    },
    /// The link was refused; `code` selects the translated message.
    Invalid {
        /// Stable error code (see `wallet_core::deeplink::DeepLinkError::code`).
        code: LinkErrorCode,
        /// English explanation.
        message: String,
    },
}

impl From<Result<DeepLink, DeepLinkError>> for IncomingOutcome {
    fn from(r: Result<DeepLink, DeepLinkError>) -> Self {
        match r {
            Ok(DeepLink::Authorize(a)) => IncomingOutcome::Authorize {
                client_id: a.client_id.as_str().to_string(),
                verifier_host: a.verifier_host,
                request_uri: a.request_uri.as_str().to_string(),
                request_uri_method: match a.request_uri_method {
                    RequestUriMethod::Get => "get",
                    RequestUriMethod::Post => "post",
                }
                .to_string(),
            },
            Err(e) => IncomingOutcome::Invalid {
                code: e.code().into(),
                message: e.to_string(),
            },
        }
    }
}

/// Name of the event that carries a new [`IncomingRequest`] to the UI.
pub const INCOMING_REQUEST_EVENT: &str = "incoming-request";

/// Writes the TypeScript declarations of every DTO (and their dependencies) into `dir`.
/// New DTOs that the UI receives must be listed here.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    AppInfo::export_all_to(dir)?;
    IncomingRequest::export_all_to(dir)?;
    IpcError::export_all_to(dir)?;
    VaultView::export_all_to(dir)?;
    SetupInput::export_all_to(dir)?;
    UnlockInput::export_all_to(dir)?;
    ActivityQuery::export_all_to(dir)?;
    ActivityItem::export_all_to(dir)?;
    ActivityCheck::export_all_to(dir)?;
    AdminView::export_all_to(dir)?;
    AdminLoginInput::export_all_to(dir)?;
    AdminPassphraseInput::export_all_to(dir)?;
    BackupInput::export_all_to(dir)?;
    BackupView::export_all_to(dir)?;
    RestoreInput::export_all_to(dir)?;
    StatusChecks::export_all_to(dir)?;
    ActivityExportInput::export_all_to(dir)?;
    ActivityExportView::export_all_to(dir)?;
    super::identity_dto::export_bindings(dir)?;
    super::services::export_bindings(dir)?;
    super::consent_screen::export_bindings(dir)?;
    super::codes::export_bindings(dir)?;
    Ok(())
}

/// Every command error the UI receives: a stable `code` to branch on and translate, and an
/// English message (never containing a secret).
#[derive(Debug, Clone, Serialize, TS)]
pub struct IpcError {
    /// Stable code, e.g. `locked`, `wrong_passphrase`, `keyring_unavailable`.
    pub code: ErrorCode,
    /// English explanation.
    pub message: String,
}

impl From<wallet_vault::VaultError> for IpcError {
    fn from(e: wallet_vault::VaultError) -> Self {
        use wallet_vault::VaultError as E;
        // Unexpected failures get logged once here; expected ones (wrong passphrase) do not.
        if matches!(
            e,
            E::Database(_) | E::Io { .. } | E::Corrupt { .. } | E::Tampered { .. }
        ) {
            tracing::error!(error = %e, "vault error");
        }
        IpcError {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// The vault as the UI sees it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VaultView {
    /// Whether the vault exists and is open.
    pub state: VaultState,
    /// `keyring` and/or `passphrase`.
    pub protection: Vec<ProtectionMethod>,
    /// Idle seconds before auto-lock.
    #[ts(type = "number")]
    pub auto_lock_secs: u64,
    /// Stored credentials.
    #[ts(type = "number")]
    pub credentials: i64,
    /// Roster entries.
    #[ts(type = "number")]
    pub employees: i64,
    /// Activity entries.
    #[ts(type = "number")]
    pub activity_entries: i64,
}

impl From<wallet_core::session::SessionStatus> for VaultView {
    fn from(s: wallet_core::session::SessionStatus) -> Self {
        VaultView {
            state: s.state.into(),
            protection: ProtectionMethod::list(&s.protection),
            auto_lock_secs: s.auto_lock_secs,
            credentials: s.credentials,
            employees: s.employees,
            activity_entries: s.activity_entries,
        }
    }
}

/// First-run setup input.
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SetupInput {
    /// Protect the vault key with the OS keyring (else with `passphrase`).
    pub use_keyring: bool,
    /// Vault passphrase when not using the keyring.
    pub passphrase: Option<String>,
    /// Administrator passphrase (always required).
    pub admin_passphrase: String,
}

/// An export of the activity log: `fhir` (a FHIR R4 Bundle of AuditEvents) or `csv`, to a
/// file (replaced if it exists).
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityExportInput {
    /// `fhir` or `csv`.
    pub format: String,
    /// The file.
    pub path: String,
}

/// A written export.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityExportView {
    /// The file.
    pub path: String,
    /// Entries in it.
    pub entries: u32,
}

/// One check of the Status screen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckView {
    /// `ok`, `warning` or `error`.
    pub status: String,
    /// What was found (English detail).
    pub detail: String,
}

impl From<wallet_core::doctor::Check> for CheckView {
    fn from(c: wallet_core::doctor::Check) -> Self {
        use wallet_core::doctor::Check;
        let (status, detail) = match c {
            Check::Ok(d) => ("ok", d),
            Check::Warning(d) => ("warning", d),
            Check::Error(d) => ("error", d),
        };
        CheckView {
            status: status.into(),
            detail,
        }
    }
}

/// What `nuts-wallet doctor` reports, for the Status screen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusChecks {
    /// The data folder can be written.
    pub data_dir: CheckView,
    /// The OS keyring stores and returns a secret.
    pub keyring: CheckView,
    /// The organization's credentials (expired, expiring), when the vault is open.
    pub credentials: Option<CheckView>,
    /// Whether the activity log reaches the organization's collector, when forwarding is on.
    pub forwarding: Option<CheckView>,
}

/// First run from a backup: the backup file as picked (base64), its passphrase, the
/// administrator passphrase of the backed-up vault, and how to protect it on this computer.
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RestoreInput {
    /// The backup file, base64.
    pub backup_base64: String,
    /// Its passphrase.
    pub backup_passphrase: String,
    /// The administrator passphrase of the backed-up vault.
    pub admin_passphrase: String,
    /// Protect the vault key with the OS keyring (else with `passphrase`).
    pub use_keyring: bool,
    /// Vault passphrase when not using the keyring.
    pub passphrase: Option<String>,
}

/// A new administrator passphrase (the live administrator session proves the current one).
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AdminPassphraseInput {
    /// The new passphrase.
    pub new_passphrase: String,
}

/// Where to write a backup and the passphrase that encrypts it.
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupInput {
    /// The backup file (must not exist).
    pub path: String,
    /// Its passphrase.
    pub passphrase: String,
}

/// A backup that was written.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BackupView {
    /// The file.
    pub path: String,
    /// Its size.
    #[ts(type = "number")]
    pub bytes: u64,
}

/// Unlock input: a passphrase, or none to use the OS keyring.
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UnlockInput {
    /// The vault passphrase; absent = OS keyring.
    pub passphrase: Option<String>,
}

/// Which activity entries to list.
#[derive(serde::Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
pub struct ActivityQuery {
    /// Only actions starting with this (e.g. `vault.`).
    pub action_prefix: Option<String>,
    /// Only this outcome (`success`, `failure`, `declined`).
    pub outcome: Option<String>,
    /// Free text matched against actor, action and subject.
    pub text: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// One activity log entry.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityItem {
    /// Position in the log.
    #[ts(type = "number")]
    pub seq: i64,
    /// Unix ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// `admin`, `employee:<id>` or `system`.
    pub actor: String,
    /// Dotted verb.
    pub action: String,
    /// What it was about.
    pub subject: String,
    /// How it ended.
    pub outcome: ActivityOutcome,
    /// Extra facts as JSON text (never secrets).
    pub detail: String,
    /// A settings change: what is different (path of names, value before and after).
    pub changes: Vec<SettingChangeView>,
    /// Changes left out of `changes` (a long list is cut).
    pub more_changes: u32,
}

/// One changed value of a setting (see `wallet_vault` `setting_changes`).
#[derive(Debug, Clone, Serialize, TS, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SettingChangeView {
    /// Names into the setting (`servers`, an authorization server, `display_name`); empty for
    /// a setting that is one value.
    pub path: Vec<String>,
    /// Before; `None` when added.
    pub before: Option<String>,
    /// After; `None` when removed.
    pub after: Option<String>,
}

fn setting_changes(detail: &serde_json::Value) -> (Vec<SettingChangeView>, u32) {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let changes = detail["changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| SettingChangeView {
                    path: c["path"]
                        .as_array()
                        .map(|p| p.iter().filter_map(text).collect())
                        .unwrap_or_default(),
                    before: text(&c["before"]),
                    after: text(&c["after"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let more = detail["more"].as_u64().unwrap_or(0).min(u32::MAX.into()) as u32;
    (changes, more)
}

impl From<wallet_vault::ActivityEntry> for ActivityItem {
    fn from(e: wallet_vault::ActivityEntry) -> Self {
        let (changes, more_changes) = setting_changes(&e.detail);
        ActivityItem {
            changes,
            more_changes,
            seq: e.seq,
            at_ms: e.at_ms,
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            outcome: e.outcome.as_str().into(),
            detail: if e.detail.is_null() {
                String::new()
            } else {
                e.detail.to_string()
            },
        }
    }
}

/// Result of checking the activity log's hash chain.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityCheck {
    /// Entries checked.
    #[ts(type = "number")]
    pub entries: i64,
    /// True when the chain is intact.
    pub intact: bool,
    /// The first broken entry and what is wrong with it.
    pub first_bad: Option<String>,
}

/// The administrator session as the UI sees it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AdminView {
    /// Whether administrator actions are allowed now.
    pub active: bool,
    /// Seconds left in the session.
    #[ts(type = "number")]
    pub remaining_secs: u64,
}

/// Administrator sign-in input.
#[derive(serde::Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AdminLoginInput {
    /// The administrator passphrase.
    pub passphrase: String,
}
