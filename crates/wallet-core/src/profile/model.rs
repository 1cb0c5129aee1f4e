//! What a profile holds, and what a workstation keeps about the one in force.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access_policy::ServicePolicy;
use crate::org::OrgInfo;

/// How the approving employee of a user flow is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmployeeSelection {
    /// The OS session's user: the roster entry with that OS account approves; no picker (the
    /// default on managed workstations).
    OsAccount,
    /// The clinician picks a roster entry on the consent screen (a single workstation).
    Pick,
}

/// What a managed workstation's own administrator may change, when the profile allows it.
/// Everything else the profile sets is locked on the workstation; the organization's identity,
/// key and credentials always are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocalArea {
    /// The access policy: allowed authorization servers, no-prompt scopes, verifiers'
    /// unsolicited settings.
    AccessPolicy,
    /// Which credential issuers are trusted.
    TrustedIssuers,
    /// How the approving employee is chosen.
    EmployeeSelection,
    /// How long employee credentials are valid.
    EmployeeValidity,
    /// Where the activity log is forwarded.
    AuditForwarding,
    /// Roster entries of this workstation only (a locum, a student); the profile's entries
    /// stay as published.
    LocalEmployees,
    /// A name a newer administrator's wallet uses that this one does not know: ignored (it
    /// stays locked).
    #[serde(other)]
    Unknown,
}

impl LocalArea {
    /// Every area a profile can allow, in a stable order.
    pub const ALL: [LocalArea; 6] = [
        LocalArea::AccessPolicy,
        LocalArea::TrustedIssuers,
        LocalArea::EmployeeSelection,
        LocalArea::EmployeeValidity,
        LocalArea::AuditForwarding,
        LocalArea::LocalEmployees,
    ];

    /// The name in profiles and on the command line (`access-policy`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LocalArea::AccessPolicy => "access-policy",
            LocalArea::TrustedIssuers => "trusted-issuers",
            LocalArea::EmployeeSelection => "employee-selection",
            LocalArea::EmployeeValidity => "employee-validity",
            LocalArea::AuditForwarding => "audit-forwarding",
            LocalArea::LocalEmployees => "local-employees",
            LocalArea::Unknown => "unknown",
        }
    }

    /// Parses a command-line name; the error lists the names.
    pub fn parse(name: &str) -> Result<LocalArea, String> {
        let n = name.trim();
        LocalArea::ALL
            .into_iter()
            .find(|a| a.as_str() == n)
            .ok_or_else(|| {
                format!(
                    "{n:?} is not something a workstation can be allowed to change; use one of: {}",
                    LocalArea::ALL.map(LocalArea::as_str).join(", ")
                )
            })
    }
}

impl std::fmt::Display for LocalArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One roster entry as the profile carries it (personal data: the profile is encrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileEmployee {
    /// Identifier (`identifier` in the employee credential).
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// The employee's OS account (login name) on the workstations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_account: Option<String>,
    /// Whether the entry may be used.
    pub active: bool,
}

/// The signed content of an organization profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgProfile {
    /// The organization DID (also the JWS `iss`).
    pub iss: String,
    /// Grows with every publication; a workstation applies only a newer one.
    pub version: u64,
    /// Unix seconds.
    pub iat: i64,
    /// Unix seconds: after this the profile is not in force.
    pub exp: i64,
    /// The organization identity (public data; an HSM key's URI without PIN).
    pub organization: OrgInfo,
    /// The organization's credentials, as stored (compact JWT or JSON-LD text).
    pub credentials: Vec<String>,
    /// The roster.
    pub roster: Vec<ProfileEmployee>,
    /// Allowed authorization servers, no-prompt scopes, verifiers' unsolicited settings.
    pub policy: ServicePolicy,
    /// How the approving employee is chosen on the workstations.
    pub employee_selection: EmployeeSelection,
    /// Issuers the organization trusts.
    pub trusted_issuers: Vec<String>,
    /// Validity of employee credentials the workstations issue (seconds).
    pub employee_credential_validity_secs: i64,
    /// Audit forwarding settings (the collector), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_forwarding: Option<Value>,
    /// What the workstations may change themselves (empty: nothing the profile sets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub local_changes: Vec<LocalArea>,
}

/// What a managed workstation keeps about its profile (`profile show --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileState {
    /// Version in force.
    pub version: u64,
    /// The pinned organization DID.
    pub org_did: String,
    /// RFC 3339.
    pub issued_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Unix seconds of `expires_at`.
    pub expires_at_unix: i64,
    /// Where it is refreshed from (file path or URL).
    pub source: String,
    /// RFC 3339 of the last successful fetch (new or unchanged).
    pub last_refresh: Option<String>,
    /// The last refresh error, if the last attempt failed.
    pub last_error: Option<String>,
    /// SHA-256 (hex) of the signed profile in force: an equal version with other content is a
    /// fork, refused like a rollback.
    pub digest: String,
    /// The organization's name for screens ("managed by ...": its client id's subject).
    pub organization: String,
    /// What the profile in force lets this workstation change itself.
    #[serde(default)]
    pub local_changes: Vec<LocalArea>,
}
