//! DTOs of the Organization, Credentials and Employees screens (TypeScript via ts-rs).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use wallet_core::credentials::{CredentialDetail, CredentialSummary, Imported, Warning};
use wallet_core::org::{IdentityError, OrgInfo, PublishReport};
use wallet_core::roster::EmployeeView;

use super::codes::{RevocationState, WarningCode};
use super::consent_screen::EmployeeChoice;
use super::dto::{move_fields, IpcError};

impl From<IdentityError> for IpcError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Vault(v) => v.into(),
            other => {
                if matches!(other, IdentityError::Io { .. } | IdentityError::Protocol(_)) {
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
            published_at_ms,
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
}

impl From<CredentialSummary> for CredentialRow {
    fn from(s: CredentialSummary) -> Self {
        move_fields!(s => CredentialRow {
            id, display_type, types, format, issuer, issuer_trusted, valid_from, valid_until;
            warnings: warnings(s.warnings),
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
}

impl From<EmployeeView> for EmployeeRow {
    fn from(e: EmployeeView) -> Self {
        move_fields!(e => EmployeeRow {
            did, active;
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
}

/// Writes the TypeScript declarations of these DTOs.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    OrgView::export_all_to(dir)?;
    OrgInitInput::export_all_to(dir)?;
    PublishView::export_all_to(dir)?;
    CredentialRow::export_all_to(dir)?;
    CredentialDetailView::export_all_to(dir)?;
    EmployeeRow::export_all_to(dir)?;
    EmployeeInput::export_all_to(dir)?;
    Ok(())
}
