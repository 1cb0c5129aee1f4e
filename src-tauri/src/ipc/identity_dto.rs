//! DTOs of the Organization, Credentials and Employees screens (TypeScript via ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use wallet_core::credentials::{CredentialDetail, CredentialSummary, Imported, Warning};
use wallet_core::org::{
    IdentityError, KeyRole, KeyStoreKind, LiveCheck, LiveKey, OrgInfo, OrgKey, Pkcs11Uri,
    PublishReport,
};
use wallet_core::profile::{
    EmployeeSelection, LocalArea, LocalStatus, ProfileError, ProfilePublished, ProfileState,
    RefreshOutcome,
};
use wallet_core::roster::EmployeeView;

use super::codes::{ErrorCode, RevocationState, WarningCode};
use super::consent_screen::EmployeeChoice;
use super::dto::{move_fields, IpcError};

impl From<IdentityError> for IpcError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Vault(v) => v.into(),
            other => {
                if matches!(
                    other,
                    IdentityError::Io { .. } | IdentityError::Protocol(_) | IdentityError::Hsm(_)
                ) {
                    tracing::warn!(error = %other, "identity operation failed");
                }
                IpcError {
                    code: other.code().into(),
                    message: other.to_string(),
                }
            }
        }
    }
}

/// The organization identity (public data).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    /// Tenant subject.
    pub subject: String,
    /// Public base URL.
    pub base_url: String,
    /// did:web of the organization.
    pub did: String,
    /// OAuth client id / issuer.
    pub client_id: String,
    /// Signing key id (DID URL).
    pub kid: String,
    /// RFC 7638 thumbprint of the signing key.
    pub key_thumbprint: String,
    /// Where the signing key lives.
    pub key_place: KeyPlace,
    /// Keys published beside the signing key during a rotation (next, previous).
    pub other_keys: Vec<OtherKeyView>,
    /// Where the web server must serve the DID document.
    pub did_document_url: String,
    /// When the last publication was made (null: never, or not since the last key change).
    #[ts(type = "number | null")]
    pub published_at_ms: Option<i64>,
}

impl From<OrgInfo> for OrgView {
    fn from(o: OrgInfo) -> Self {
        move_fields!(o => OrgView {
            subject, base_url, did, client_id, kid, key_thumbprint, did_document_url,
            published_at_ms;
            key_place: KeyPlace::of(o.key_store, o.key_uri.as_deref()),
            other_keys: o.other_keys.into_iter().map(Into::into).collect(),
        })
    }
}

/// Where an organization key lives, in the terms the screen shows ("in this wallet", "in the
/// HSM: token T, key K").
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum KeyPlace {
    /// Sealed in this workstation's vault.
    Vault,
    /// In an HSM, reached through PKCS#11.
    Hsm {
        /// Token label.
        token: String,
        /// Key object label.
        object: String,
        /// The PKCS#11 URI (never with a PIN).
        uri: String,
    },
}

impl KeyPlace {
    /// The place of a key stored as `store` with `uri`. A stored URI that no longer parses is
    /// shown as it is (the key then fails to open with its own error).
    pub fn of(store: KeyStoreKind, uri: Option<&str>) -> Self {
        match store {
            KeyStoreKind::Vault => KeyPlace::Vault,
            KeyStoreKind::Pkcs11 => {
                let raw = uri.unwrap_or_default();
                let (token, object) = raw
                    .parse::<Pkcs11Uri>()
                    .map(|u| (u.token().to_owned(), u.object().to_owned()))
                    .unwrap_or_default();
                KeyPlace::Hsm {
                    token,
                    object,
                    uri: raw.to_owned(),
                }
            }
        }
    }
}

/// The role of an organization key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum KeyRoleName {
    /// Signs now.
    Active,
    /// Made by a rotation, published, not signing yet.
    Next,
    /// Signed before the last activation; published until it is retired.
    Previous,
}

impl From<KeyRole> for KeyRoleName {
    fn from(r: KeyRole) -> Self {
        match r {
            KeyRole::Next => KeyRoleName::Next,
            KeyRole::Previous => KeyRoleName::Previous,
        }
    }
}

impl KeyRoleName {
    /// The role as [`LiveKey::role`] spells it; `None` for a role this enum does not know.
    fn of_live(role: &str) -> Option<Self> {
        match role {
            "active" => Some(KeyRoleName::Active),
            "next" => Some(KeyRoleName::Next),
            "previous" => Some(KeyRoleName::Previous),
            _ => None,
        }
    }
}

/// A key published beside the signing key.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OtherKeyView {
    /// Next or previous.
    pub role: KeyRoleName,
    /// Key id (DID URL).
    pub kid: String,
    /// Where it lives.
    pub key_place: KeyPlace,
    /// When it was made (Unix ms).
    #[ts(type = "number")]
    pub added_at_ms: i64,
}

impl From<OrgKey> for OtherKeyView {
    fn from(k: OrgKey) -> Self {
        move_fields!(k => OtherKeyView {
            kid, added_at_ms;
            role: k.role.into(),
            key_place: KeyPlace::of(k.key_store, k.key_uri.as_deref()),
        })
    }
}

/// The overall answer of "Check the web server".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LiveVerdict {
    /// The DID document and entity statement list exactly the organization's keys.
    AllServed,
    /// The DID document or the entity statement could not be read or verified.
    Unreadable,
    /// Some key is not listed in both yet (publish and upload).
    Missing,
    /// Everything is listed, plus a key the wallet no longer has (upload after a retirement).
    Extra,
}

/// One key in the web server check.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LiveKeyView {
    /// Key id (DID URL).
    pub kid: String,
    /// Active, next or previous.
    pub role: KeyRoleName,
    /// Listed (same public key) in the hosted did.json.
    pub in_did_document: bool,
    /// Listed (same public key) in the hosted entity statement.
    pub in_entity_statement: bool,
}

/// What the organization's web server serves, compared with the keys.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LiveCheckView {
    /// The overall answer.
    pub verdict: LiveVerdict,
    /// URL of the hosted did.json.
    pub did_document_url: String,
    /// Why it could not be read (English, technical).
    pub did_document_error: Option<String>,
    /// URL of the hosted entity statement.
    pub entity_statement_url: String,
    /// Why it could not be read or verified (English, technical).
    pub entity_statement_error: Option<String>,
    /// Each key and where it is listed.
    pub keys: Vec<LiveKeyView>,
    /// Key ids the hosted did.json lists that are none of the organization's keys.
    pub unknown_hosted_keys: Vec<String>,
}

impl From<LiveCheck> for LiveCheckView {
    fn from(c: LiveCheck) -> Self {
        let keys: Vec<LiveKeyView> = c
            .keys
            .into_iter()
            .filter_map(|k: LiveKey| {
                let role = KeyRoleName::of_live(k.role).or_else(|| {
                    tracing::error!(role = k.role, "unknown key role in the live check");
                    None
                })?;
                Some(move_fields!(k => LiveKeyView {
                    kid, in_did_document, in_entity_statement; role,
                }))
            })
            .collect();
        let verdict = if c.did_document_error.is_some() || c.entity_statement_error.is_some() {
            LiveVerdict::Unreadable
        } else if !keys
            .iter()
            .all(|k| k.in_did_document && k.in_entity_statement)
        {
            LiveVerdict::Missing
        } else if !c.unknown_hosted_keys.is_empty() {
            LiveVerdict::Extra
        } else if c.ok {
            LiveVerdict::AllServed
        } else {
            // The core found a mismatch this view does not name: never claim all is well.
            LiveVerdict::Missing
        };
        move_fields!(c => LiveCheckView {
            did_document_url, did_document_error, entity_statement_url, entity_statement_error,
            unknown_hosted_keys;
            verdict, keys,
        })
    }
}

/// Organization setup input.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrgInitInput {
    /// Tenant subject (one URL path segment).
    pub subject: String,
    /// Public HTTPS base URL.
    pub base_url: String,
    /// Optional did:web instead of the default.
    pub did: Option<String>,
    /// Where to make the key: a `pkcs11:` URI (an HSM), or null for this wallet's vault.
    pub key_uri: Option<String>,
}

/// The organization's UZI server certificate for an X509Credential: the PKCS#12 file the
/// administrator picked (base64) and its password. Neither is kept.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct X509Input {
    /// The PKCS#12 file, base64.
    pub pkcs12_base64: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for X509Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("X509Input")
            .field("pkcs12_bytes", &self.pkcs12_base64.len())
            .field("password", &"[redacted]")
            .finish()
    }
}

impl X509Input {
    /// The core's source; the decoded bytes and the password are zeroized when it drops.
    pub fn into_source(self) -> Result<wallet_core::credentials::CertificateSource, IpcError> {
        let X509Input {
            pkcs12_base64,
            password,
        } = self;
        let pkcs12_base64 = zeroize::Zeroizing::new(pkcs12_base64);
        let der =
            wallet_protocol::jose::b64_lenient(pkcs12_base64.trim()).ok_or_else(|| IpcError {
                code: ErrorCode::InvalidCertificateInput,
                message: "the file could not be read".into(),
            })?;
        Ok(wallet_core::credentials::CertificateSource::Pkcs12Bytes {
            der: zeroize::Zeroizing::new(der),
            password: zeroize::Zeroizing::new(password),
        })
    }
}

/// What an X509Credential from the certificate would say, before it is issued.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct X509Preview {
    /// The CAs on the certificate's path (RFC 4514), the issuing CA first.
    pub authorities: Vec<String>,
    /// The CA chosen for the DID.
    pub ca: String,
    /// The URA from the UZI otherName.
    pub ura: String,
    /// Subject O.
    pub organization: String,
    /// Subject L.
    pub locality: Option<String>,
    /// The did:x509 issuer.
    pub issuer: String,
    /// Valid from (RFC 3339).
    pub valid_from: String,
    /// Valid until (RFC 3339): the certificate's end.
    pub valid_until: String,
}

impl From<wallet_core::credentials::IssueX509Error> for IpcError {
    fn from(e: wallet_core::credentials::IssueX509Error) -> Self {
        use wallet_core::credentials::IssueX509Error as E;
        match e {
            E::Identity(i) => i.into(),
            other => IpcError {
                code: other.code().into(),
                message: other.to_string(),
            },
        }
    }
}

/// One file of the publication bundle.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PublishedFile {
    /// Path inside the output folder.
    pub path: String,
    /// URL where the web server must serve it.
    pub url: String,
    /// Content type to serve it with.
    pub content_type: String,
}

/// Result of publishing.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PublishView {
    /// The output folder.
    pub out_dir: String,
    /// The README.txt written there.
    pub readme: String,
    /// The files written.
    pub files: Vec<PublishedFile>,
}

impl From<PublishReport> for PublishView {
    fn from(r: PublishReport) -> Self {
        PublishView {
            out_dir: r.out_dir.display().to_string(),
            readme: r.readme.display().to_string(),
            files: r
                .files
                .into_iter()
                .map(|f| move_fields!(f => PublishedFile { path, url, content_type }))
                .collect(),
        }
    }
}

/// A warning about a credential (`code` is translated by the UI).
#[derive(Debug, Clone, Serialize, TS)]
pub struct CredentialWarning {
    /// What is wrong.
    pub code: WarningCode,
    /// English text.
    pub message: String,
}

/// The warnings the UI can branch on (an unknown code is logged by [`WarningCode::of`]).
fn warnings(ws: Vec<Warning>) -> Vec<CredentialWarning> {
    ws.into_iter()
        .filter_map(|w| {
            Some(CredentialWarning {
                code: WarningCode::of(w.code)?,
                message: w.message,
            })
        })
        .collect()
}

/// Who a credential names: the URA (from a UZI server certificate), name and city.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationNames {
    /// URA number.
    pub ura: Option<String>,
    /// Organization name.
    pub name: Option<String>,
    /// City.
    pub city: Option<String>,
}

impl From<wallet_core::credentials::OrganizationFacts> for OrganizationNames {
    fn from(f: wallet_core::credentials::OrganizationFacts) -> Self {
        move_fields!(f => OrganizationNames { ura, name, city })
    }
}

/// A stored credential in the list.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRow {
    /// Vault id.
    pub id: String,
    /// The type to show.
    pub display_type: String,
    /// All types.
    pub types: Vec<String>,
    /// `jwt_vc` or `ldp_vc`.
    pub format: String,
    /// Issuer DID.
    pub issuer: String,
    /// Whether the issuer is trusted by the administrator.
    pub issuer_trusted: bool,
    /// Validity start (RFC 3339).
    pub valid_from: Option<String>,
    /// Validity end (RFC 3339).
    pub valid_until: Option<String>,
    /// Warnings now.
    pub warnings: Vec<CredentialWarning>,
    /// Who it names, when it says so.
    pub organization: Option<OrganizationNames>,
}

impl From<CredentialSummary> for CredentialRow {
    fn from(s: CredentialSummary) -> Self {
        move_fields!(s => CredentialRow {
            id, display_type, types, format, issuer, issuer_trusted, valid_from, valid_until;
            warnings: warnings(s.warnings),
            organization: s.organization.map(Into::into),
        })
    }
}

/// One credential with its decoded claims.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialDetailView {
    /// Listing data and warnings (including revocation).
    pub row: CredentialRow,
    /// The credential's own id.
    pub credential_id: Option<String>,
    /// Decoded `credentialSubject`, pretty JSON.
    pub claims_json: String,
    /// Revocation status as checked now.
    pub revocation: RevocationState,
    /// Why the revocation status is unknown (e.g. offline).
    pub revocation_reason: Option<String>,
}

impl From<CredentialDetail> for CredentialDetailView {
    fn from(d: CredentialDetail) -> Self {
        let CredentialDetail {
            summary,
            credential_id,
            claims,
            revocation,
            ..
        } = d;
        CredentialDetailView {
            row: summary.into(),
            credential_id,
            claims_json: serde_json::to_string_pretty(&claims).unwrap_or_default(),
            revocation: revocation.status.into(),
            revocation_reason: revocation.reason,
        }
    }
}

impl From<Imported> for CredentialRow {
    fn from(i: Imported) -> Self {
        i.summary.into()
    }
}

/// A roster entry: the employee as the consent screen offers them, whether they are active,
/// and the DID of an older entry.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeRow {
    /// Roster id, identifier, name and role.
    #[serde(flatten)]
    #[ts(flatten)]
    pub employee: EmployeeChoice,
    /// The did:jwk of an entry from an older version that had a key of its own; `null`
    /// otherwise (each user flow uses a fresh did:jwk).
    pub did: Option<String>,
    /// Whether credentials may be issued.
    pub active: bool,
    /// The employee's OS account (login name) on the workstations, if linked.
    pub os_account: Option<String>,
}

impl From<EmployeeView> for EmployeeRow {
    fn from(e: EmployeeView) -> Self {
        move_fields!(e => EmployeeRow {
            did, active, os_account;
            employee: move_fields!(e => EmployeeChoice { id, identifier, name, role }),
        })
    }
}

/// New roster entry input.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeInput {
    /// Identifier.
    pub identifier: String,
    /// Full name.
    pub name: String,
    /// Role.
    pub role: String,
    /// OS account (login name) to link, if any.
    pub os_account: Option<String>,
}

/// "Join your organization" on the first-run screen.
#[derive(Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EnrollInput {
    /// The profile: a file path or an `https://` URL.
    pub profile: String,
    /// The organization's DID the profile must be signed by.
    pub org_did: String,
    /// The enrollment secret (never stored by the UI).
    pub secret: String,
    /// Protect the vault key with the OS keyring (else with `passphrase`).
    pub use_keyring: bool,
    /// Vault passphrase when not using the keyring.
    pub passphrase: Option<String>,
    /// This workstation's own administrator passphrase.
    pub admin_passphrase: String,
}

/// The organization profile in force on a managed workstation.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// The organization's name for screens ("Managed by ...").
    pub organization: String,
    /// The pinned organization DID.
    pub org_did: String,
    /// Version in force.
    #[ts(type = "number")]
    pub version: u64,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339: organization presentations stop after this unless a newer one arrives.
    pub expires_at: String,
    /// Whether `expires_at` has passed.
    pub expired: bool,
    /// Where it is refreshed from (file path or URL).
    pub source: String,
    /// RFC 3339 of the last successful check.
    pub last_refresh: Option<String>,
    /// The last check's problem, as the core words it (technical, English).
    pub last_error: Option<String>,
    /// What kind of problem `last_error` is, to say it in plain words.
    pub last_error_code: Option<ErrorCode>,
    /// What the profile lets this workstation change itself.
    pub allowed: Vec<LocalAreaView>,
    /// Allowed areas changed on this workstation: its own setting stands.
    pub changed_here: Vec<LocalAreaView>,
    /// Identifiers of roster entries added on this workstation.
    pub local_employees: Vec<String>,
}

/// Something a managed workstation may be allowed to change itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum LocalAreaView {
    /// Allowed servers, no-prompt scopes, verifiers' unsolicited settings.
    AccessPolicy,
    /// Trusted credential issuers.
    TrustedIssuers,
    /// Who approves on this computer.
    EmployeeSelection,
    /// Validity of employee credentials.
    EmployeeValidity,
    /// Where the activity log is forwarded.
    AuditForwarding,
    /// Employees of this workstation only.
    LocalEmployees,
}

impl LocalAreaView {
    /// The views of `areas` (unknown ones left out).
    pub fn list(areas: &[LocalArea]) -> Vec<LocalAreaView> {
        areas.iter().filter_map(|a| LocalAreaView::of(*a)).collect()
    }

    fn of(a: LocalArea) -> Option<LocalAreaView> {
        Some(match a {
            LocalArea::AccessPolicy => LocalAreaView::AccessPolicy,
            LocalArea::TrustedIssuers => LocalAreaView::TrustedIssuers,
            LocalArea::EmployeeSelection => LocalAreaView::EmployeeSelection,
            LocalArea::EmployeeValidity => LocalAreaView::EmployeeValidity,
            LocalArea::AuditForwarding => LocalAreaView::AuditForwarding,
            LocalArea::LocalEmployees => LocalAreaView::LocalEmployees,
            _ => return None,
        })
    }
}

impl From<LocalAreaView> for LocalArea {
    fn from(a: LocalAreaView) -> Self {
        match a {
            LocalAreaView::AccessPolicy => LocalArea::AccessPolicy,
            LocalAreaView::TrustedIssuers => LocalArea::TrustedIssuers,
            LocalAreaView::EmployeeSelection => LocalArea::EmployeeSelection,
            LocalAreaView::EmployeeValidity => LocalArea::EmployeeValidity,
            LocalAreaView::AuditForwarding => LocalArea::AuditForwarding,
            LocalAreaView::LocalEmployees => LocalArea::LocalEmployees,
        }
    }
}

impl ProfileView {
    /// The view of `s` at Unix time `now`; `subject` is the organization's own short name
    /// (its tenant subject), shown instead of the client id URL when known.
    pub fn of(s: ProfileState, subject: Option<String>, now: i64) -> Self {
        let last_error_code = s.last_error.as_deref().map(profile_error_kind);
        let organization = subject
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| organization_label(&s.organization));
        let allowed = LocalAreaView::list(&s.local_changes);
        move_fields!(s => ProfileView {
            org_did, version, issued_at, expires_at, source, last_refresh, last_error;
            organization,
            expired: now >= s.expires_at_unix,
            last_error_code,
            allowed,
            changed_here: Vec::new(),
            local_employees: Vec::new(),
        })
    }

    /// With what this workstation changed itself.
    pub fn with_local(mut self, local: Option<LocalStatus>) -> Self {
        if let Some(l) = local {
            self.changed_here = LocalAreaView::list(&l.changed);
            self.local_employees = l.local_employees;
        }
        self
    }
}

/// A short name for the organization from its client id (`https://host/oauth2/<subject>` →
/// `<subject>`); the text itself when it has no path.
pub fn organization_label(client_id: &str) -> String {
    client_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty() && !s.contains(':'))
        .unwrap_or(client_id)
        .to_owned()
}

/// The kind of a stored refresh error. The workstation keeps only the text of the last
/// problem, so it is read back from the core's wording ([`ProfileError`]'s messages).
pub fn profile_error_kind(message: &str) -> ErrorCode {
    let m = message;
    if m.starts_with("the organization profile could not be read from") {
        ErrorCode::ProfileUnreachable
    } else if m.starts_with("the organization's DID document could not be read") {
        ErrorCode::ProfileDidUnreachable
    } else if m.starts_with("the organization profile cannot be opened") {
        ErrorCode::ProfileUndecryptable
    } else if m.contains("refused as a rollback") {
        ErrorCode::ProfileRollback
    } else if m.starts_with("the organization profile is refused") {
        refine_refused(m)
    } else {
        ErrorCode::Internal
    }
}

/// `profile_refused` said more precisely when the core's reason names the case: another
/// organization's profile, or one that expired before it arrived.
pub fn refine_refused(message: &str) -> ErrorCode {
    if message.contains("it is signed for")
        || message.contains("it describes")
        || message.contains("DID document does not list")
    {
        ErrorCode::ProfileWrongOrganization
    } else if message.contains("it expired at") {
        ErrorCode::ProfileFileExpired
    } else {
        ErrorCode::ProfileRefused
    }
}

impl From<ProfileError> for IpcError {
    fn from(e: ProfileError) -> Self {
        let message = e.to_string();
        let code = match e {
            ProfileError::Vault(v) => return v.into(),
            ProfileError::Identity(i) => return i.into(),
            ProfileError::Refused(_) => refine_refused(&message),
            ProfileError::InvalidInput(_)
                if message.contains("holds the public publication bundle") =>
            {
                ErrorCode::ProfileNextToBundle
            }
            ProfileError::InvalidInput(_)
                if message.contains("the organization key is in this wallet's vault") =>
            {
                ErrorCode::ProfileKeyInVault
            }
            other => {
                if matches!(other, ProfileError::Io { .. }) {
                    tracing::warn!(error = %other, "organization profile");
                }
                other.code().into()
            }
        };
        IpcError { code, message }
    }
}

/// What checking for new settings did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RefreshResult {
    /// A newer profile was applied.
    Applied,
    /// The profile in force is the current one.
    Unchanged,
    /// The source could not be read; the profile in force stays until it expires.
    Unreachable,
}

/// The answer of "Check for new settings now".
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRefreshView {
    /// What happened.
    pub result: RefreshResult,
    /// What changed (for an applied profile), as the core lists it.
    pub changes: Vec<String>,
    /// The profile in force now.
    pub profile: ProfileView,
}

impl ProfileRefreshView {
    /// The view of a refresh's outcome with the state after it.
    pub fn of(out: RefreshOutcome, profile: ProfileView) -> Self {
        let (result, changes) = match out {
            RefreshOutcome::Applied { changes, .. } => (RefreshResult::Applied, changes),
            RefreshOutcome::Unchanged { .. } => (RefreshResult::Unchanged, vec![]),
            RefreshOutcome::Unreachable { .. } => (RefreshResult::Unreachable, vec![]),
        };
        ProfileRefreshView {
            result,
            changes,
            profile,
        }
    }
}

/// The enrollment at start of a mass rollout (the managed-install file).
#[derive(Debug, Clone, Serialize, TS)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ManagedSetupView {
    /// No managed-install file (or a wallet existed already).
    None,
    /// Enrolling now.
    Running,
    /// Enrolled in this run of the app.
    Done {
        /// The organization's name.
        organization: String,
    },
    /// The file or the enrollment failed; the first-run screen stays.
    Failed {
        /// What went wrong.
        error: IpcError,
    },
}

/// What publishing the organization profile wrote.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePublishView {
    /// The file.
    pub path: String,
    /// Its version.
    #[ts(type = "number")]
    pub version: u64,
    /// RFC 3339.
    pub expires_at: String,
    /// Roster entries in it.
    #[ts(type = "number")]
    pub employees: usize,
    /// Credentials in it.
    #[ts(type = "number")]
    pub credentials: usize,
    /// Whether this publication made the enrollment secret.
    pub new_secret: bool,
    /// What the workstations may change themselves.
    pub local_changes: Vec<LocalAreaView>,
}

impl From<ProfilePublished> for ProfilePublishView {
    fn from(p: ProfilePublished) -> Self {
        move_fields!(p => ProfilePublishView {
            version, employees, credentials, new_secret;
            local_changes: LocalAreaView::list(&p.local_changes),
            path: p.path.display().to_string(),
            expires_at: wallet_protocol::clock::format_rfc3339(p.expires_at),
        })
    }
}

/// Who approves on this computer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ApproverChoice {
    /// The person signed in to this computer (their OS account).
    OsAccount,
    /// The clinician picks from the roster.
    Pick,
}

impl From<EmployeeSelection> for ApproverChoice {
    fn from(s: EmployeeSelection) -> Self {
        match s {
            EmployeeSelection::OsAccount => ApproverChoice::OsAccount,
            EmployeeSelection::Pick => ApproverChoice::Pick,
        }
    }
}

impl From<ApproverChoice> for EmployeeSelection {
    fn from(c: ApproverChoice) -> Self {
        match c {
            ApproverChoice::OsAccount => EmployeeSelection::OsAccount,
            ApproverChoice::Pick => EmployeeSelection::Pick,
        }
    }
}

/// How the approving employee is chosen here, and this computer's account.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApproverView {
    /// The choice in force.
    pub choice: ApproverChoice,
    /// The login name of the person signed in to this computer (null: unknown).
    pub this_account: Option<String>,
}

/// Writes the TypeScript declarations of these DTOs.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    OrgView::export_all_to(dir)?;
    OrgInitInput::export_all_to(dir)?;
    LiveCheckView::export_all_to(dir)?;
    PublishView::export_all_to(dir)?;
    CredentialRow::export_all_to(dir)?;
    CredentialDetailView::export_all_to(dir)?;
    EmployeeRow::export_all_to(dir)?;
    EmployeeInput::export_all_to(dir)?;
    EnrollInput::export_all_to(dir)?;
    ProfileView::export_all_to(dir)?;
    LocalAreaView::export_all_to(dir)?;
    ProfileRefreshView::export_all_to(dir)?;
    ManagedSetupView::export_all_to(dir)?;
    ProfilePublishView::export_all_to(dir)?;
    ApproverView::export_all_to(dir)?;
    X509Input::export_all_to(dir)?;
    X509Preview::export_all_to(dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::org::Pkcs11Error;

    const URI: &str = "pkcs11:token=ziekenhuis;object=nuts-org?module-path=/usr/lib/x.so";

    fn org(key_store: &str, key_uri: Option<&str>, others: serde_json::Value) -> OrgInfo {
        serde_json::from_value(serde_json::json!({
            "subject": "acme", "base_url": "https://zorg.example",
            "did": "did:web:zorg.example:iam:1", "client_id": "https://zorg.example/oauth2/acme",
            "kid": "did:web:zorg.example:iam:1#a", "key_id": "", "key_store": key_store,
            "key_uri": key_uri, "other_keys": others, "key_thumbprint": "a",
            "public_jwk": {"kty": "EC"}, "did_document_url": "https://zorg.example/iam/1/did.json",
            "created_at_ms": 1, "key_changed_at_ms": 1, "published_at_ms": null,
        }))
        .unwrap()
    }

    #[test]
    fn the_key_place_names_token_and_object() {
        let v = OrgView::from(org("pkcs11", Some(URI), serde_json::json!([])));
        assert_eq!(
            v.key_place,
            KeyPlace::Hsm {
                token: "ziekenhuis".into(),
                object: "nuts-org".into(),
                uri: URI.into(),
            }
        );
        let json = serde_json::to_value(&v.key_place).unwrap();
        assert_eq!(json["kind"], "hsm");
        assert_eq!(json["token"], "ziekenhuis");
        assert_eq!(
            OrgView::from(org("vault", None, serde_json::json!([]))).key_place,
            KeyPlace::Vault
        );
        // A URI that no longer parses is still shown, with empty names.
        match KeyPlace::of(KeyStoreKind::Pkcs11, Some("pkcs11:broken")) {
            KeyPlace::Hsm { token, uri, .. } => {
                assert_eq!(token, "");
                assert_eq!(uri, "pkcs11:broken");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_keys_keep_role_and_place() {
        let next = "pkcs11:token=ziekenhuis;object=nuts-org-1733560000?module-path=/usr/lib/x.so";
        let v = OrgView::from(org(
            "pkcs11",
            Some(URI),
            serde_json::json!([
                {"role": "next", "kid": "did:web:zorg.example:iam:1#b", "thumbprint": "b",
                 "public_jwk": {}, "key_store": "pkcs11", "key_uri": next, "added_at_ms": 5},
                {"role": "previous", "kid": "did:web:zorg.example:iam:1#c", "thumbprint": "c",
                 "public_jwk": {}, "key_store": "vault", "key_id": "k", "added_at_ms": 2},
            ]),
        ));
        assert_eq!(v.other_keys.len(), 2);
        assert_eq!(v.other_keys[0].role, KeyRoleName::Next);
        assert!(
            matches!(&v.other_keys[0].key_place, KeyPlace::Hsm { object, .. } if object == "nuts-org-1733560000")
        );
        assert_eq!(v.other_keys[1].role, KeyRoleName::Previous);
        assert_eq!(v.other_keys[1].key_place, KeyPlace::Vault);
        let json = serde_json::to_value(&v.other_keys[0]).unwrap();
        assert_eq!(json["role"], "next");
        assert_eq!(json["addedAtMs"], 5);
    }

    fn live(
        keys: &[(&'static str, bool, bool)],
        doc_error: Option<&str>,
        unknown: &[&str],
    ) -> LiveCheck {
        let keys: Vec<LiveKey> = keys
            .iter()
            .map(|(role, d, s)| LiveKey {
                kid: format!("did:web:x#{role}"),
                role,
                in_did_document: *d,
                in_entity_statement: *s,
            })
            .collect();
        let ok = doc_error.is_none()
            && unknown.is_empty()
            && keys
                .iter()
                .all(|k| k.in_did_document && k.in_entity_statement);
        LiveCheck {
            did_document_url: "https://x/did.json".into(),
            did_document_error: doc_error.map(Into::into),
            entity_statement_url: "https://x/es".into(),
            entity_statement_error: doc_error.map(|_| "not checked".into()),
            keys,
            unknown_hosted_keys: unknown.iter().map(|s| s.to_string()).collect(),
            ok,
        }
    }

    #[test]
    fn the_live_check_has_one_clear_verdict() {
        let all = LiveCheckView::from(live(
            &[("active", true, true), ("next", true, true)],
            None,
            &[],
        ));
        assert_eq!(all.verdict, LiveVerdict::AllServed);
        assert_eq!(all.keys[1].role, KeyRoleName::Next);
        let missing = LiveCheckView::from(live(
            &[("active", true, true), ("next", true, false)],
            None,
            &[],
        ));
        assert_eq!(missing.verdict, LiveVerdict::Missing);
        assert!(!missing.keys[1].in_entity_statement);
        let unreadable = LiveCheckView::from(live(&[("active", false, false)], Some("DNS"), &[]));
        assert_eq!(unreadable.verdict, LiveVerdict::Unreadable);
        assert_eq!(unreadable.did_document_error.as_deref(), Some("DNS"));
        let extra = LiveCheckView::from(live(&[("active", true, true)], None, &["did:web:x#old"]));
        assert_eq!(extra.verdict, LiveVerdict::Extra);
        // The core's own "not ok" is never shown as all served.
        let mut odd = live(&[("active", true, true)], None, &[]);
        odd.ok = false;
        assert_eq!(LiveCheckView::from(odd).verdict, LiveVerdict::Missing);
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json["verdict"], "all_served");
        assert_eq!(json["keys"][0]["inDidDocument"], true);
    }

    fn state(last_error: Option<String>, expires_at_unix: i64) -> ProfileState {
        ProfileState {
            version: 3,
            org_did: "did:web:zorg.example:iam:1".into(),
            issued_at: "2026-12-01T00:00:00Z".into(),
            expires_at: "2026-12-31T00:00:00Z".into(),
            expires_at_unix,
            source: "/srv/share/org-profile.jwe".into(),
            last_refresh: Some("2026-12-07T08:00:00Z".into()),
            last_error,
            digest: "d".into(),
            organization: "https://zorg.example/oauth2/ziekenhuis-oost".into(),
            local_changes: vec![LocalArea::AccessPolicy, LocalArea::Unknown],
        }
    }

    /// Areas a newer administrator's wallet named that this one does not know are left out;
    /// what the workstation changed comes from its local status.
    #[test]
    fn profile_view_lists_the_known_local_areas() {
        let v = ProfileView::of(state(None, 100), None, 99);
        assert_eq!(v.allowed, vec![LocalAreaView::AccessPolicy]);
        assert!(v.changed_here.is_empty());
        let v = v.with_local(Some(LocalStatus {
            organization: "x".into(),
            allowed: vec![LocalArea::AccessPolicy],
            changed: vec![LocalArea::AccessPolicy],
            local_employees: vec!["locum-1".into()],
        }));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["allowed"], serde_json::json!(["accessPolicy"]));
        assert_eq!(json["changedHere"], serde_json::json!(["accessPolicy"]));
        assert_eq!(json["localEmployees"], serde_json::json!(["locum-1"]));
    }

    /// A stored refresh problem is only text: each of the core's problems must be read back as
    /// its own kind, so the screen can say it in plain words.
    #[test]
    fn a_stored_refresh_error_is_read_back_as_its_kind() {
        let cases: Vec<(ProfileError, &str)> = vec![
            (
                ProfileError::Unreachable {
                    source_name: "/srv/share/p.jwe".into(),
                    detail: "No such file or directory".into(),
                },
                "profile_unreachable",
            ),
            (
                ProfileError::DidUnreachable("connection refused".into()),
                "profile_did_unreachable",
            ),
            (
                ProfileError::Undecryptable(
                    "the enrollment secret does not open it, or the file was changed".into(),
                ),
                "profile_undecryptable",
            ),
            (
                ProfileError::Rollback {
                    offered: 2,
                    current: 3,
                },
                "profile_rollback",
            ),
            (
                ProfileError::Refused("its signature does not verify: the file was changed".into()),
                "profile_refused",
            ),
            (
                ProfileError::Refused(
                    "it is signed for did:web:other.example, not for did:web:zorg.example".into(),
                ),
                "profile_wrong_organization",
            ),
            (
                ProfileError::Refused("it expired at 2026-12-01T00:00:00Z".into()),
                "profile_file_expired",
            ),
        ];
        for (e, want) in cases {
            let text = e.to_string();
            assert_eq!(profile_error_kind(&text), want, "{text}");
            // The same kind when the error comes back from a command.
            assert_eq!(IpcError::from(e).code, want);
        }
        assert_eq!(profile_error_kind("something new"), "internal");
    }

    #[test]
    fn the_profile_view_names_the_organization_and_its_expiry() {
        let v = ProfileView::of(state(None, 100), Some("acme".into()), 99);
        assert_eq!(v.organization, "acme");
        assert!(!v.expired);
        assert_eq!(v.last_error_code, None);
        let v = ProfileView::of(
            state(
                Some(ProfileError::DidUnreachable("timeout".into()).to_string()),
                100,
            ),
            None,
            100,
        );
        assert!(v.expired, "expired at the second it expires");
        assert_eq!(v.organization, "ziekenhuis-oost");
        assert_eq!(v.last_error_code, Some(ErrorCode::ProfileDidUnreachable));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["lastErrorCode"], "profile_did_unreachable");
        assert_eq!(json["orgDid"], "did:web:zorg.example:iam:1");
        assert_eq!(organization_label("did:web:x"), "did:web:x");
    }

    /// The refusal to write the profile beside the public bundle comes back with its own code,
    /// from the core's real check.
    #[test]
    fn publishing_next_to_the_public_bundle_has_its_own_code() {
        use wallet_vault::{CreateOptions, KdfParams, MemoryKeyStore, Passphrase, Protection};
        let tmp = tempfile::tempdir().unwrap();
        let vault = wallet_vault::Vault::create(
            &tmp.path().join("wallet"),
            std::sync::Arc::new(MemoryKeyStore::new()),
            CreateOptions {
                protection: Protection::Keyring,
                admin_passphrase: Passphrase::from("admin passphrase 1"),
                admin_kdf: KdfParams::INSECURE_TEST,
            },
        )
        .unwrap();
        let admin = vault
            .admin_session(&Passphrase::from("admin passphrase 1"))
            .unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(bundle.join(".well-known")).unwrap();
        let e = wallet_core::profile::publish_profile(
            &vault,
            &admin,
            &bundle.join("org-profile.jwe"),
            Some(30),
            &wallet_protocol::clock::SystemClock,
        )
        .unwrap_err();
        let ipc = IpcError::from(e);
        assert_eq!(ipc.code, "profile_next_to_bundle", "{}", ipc.message);
        // Elsewhere the same vault gets past that check (and stops at the missing organization).
        let share = tmp.path().join("share");
        std::fs::create_dir_all(&share).unwrap();
        let e = wallet_core::profile::publish_profile(
            &vault,
            &admin,
            &share.join("org-profile.jwe"),
            Some(30),
            &wallet_protocol::clock::SystemClock,
        )
        .unwrap_err();
        assert_eq!(IpcError::from(e).code, "no_organization");
    }

    #[test]
    fn hsm_errors_keep_their_code_and_never_the_pin() {
        let e = IpcError::from(IdentityError::Hsm(Pkcs11Error::PinRequired {
            token: "ziekenhuis".into(),
        }));
        assert_eq!(e.code, "pkcs11_pin_required");
        assert!(e.message.contains("ziekenhuis"), "{}", e.message);
        let e = IpcError::from(IdentityError::Hsm(Pkcs11Error::TokenAbsent {
            label: "ziekenhuis".into(),
            present: vec!["other".into()],
        }));
        assert_eq!(e.code, "pkcs11_token_absent");
        let e = IpcError::from(IdentityError::NotPublished("not served yet".into()));
        assert_eq!(e.code, "key_not_published");
        assert_eq!(e.message, "not served yet");
    }
}
