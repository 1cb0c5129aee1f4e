//! What the UI and the CLI show of a credential: summaries with warnings, the decoded
//! detail, the revocation status.

use serde::Serialize;
use serde_json::Value;
use wallet_protocol::clock::format_rfc3339;
use wallet_protocol::vc::status::RevocationStatus;
use wallet_protocol::vc::{self, Credential};
use wallet_vault::CredentialMeta;

/// A warning about a credential; `code` is stable (the UI translates it), `message` is
/// English text for the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `expired`, `expiring_soon`, `not_yet_valid`, `revoked`, `suspended`,
    /// `revocation_unknown`, `untrusted_issuer`, `unsigned_properties`.
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
}

impl Warning {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Warning {
            code,
            message: message.into(),
        }
    }
}

/// A stored credential for the list (from the clear listing data; nothing decrypted).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialSummary {
    /// Vault id (for show/delete).
    pub id: String,
    /// All types.
    pub types: Vec<String>,
    /// The type to show (the first that is not `VerifiableCredential`).
    pub display_type: String,
    /// `jwt_vc` or `ldp_vc`.
    pub format: String,
    /// Issuer DID.
    pub issuer: String,
    /// Subject DID.
    pub subject: Option<String>,
    /// Validity start (RFC 3339).
    pub valid_from: Option<String>,
    /// Validity end (RFC 3339).
    pub valid_until: Option<String>,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
    /// Whether the issuer is on the trusted issuer list.
    pub issuer_trusted: bool,
    /// Warnings at the time of listing (revocation is only checked by show/import).
    pub warnings: Vec<Warning>,
    /// Who the credential says the organization is (URA, name, city), when it says so.
    pub organization: Option<OrganizationFacts>,
}

/// What an organization credential says about the organization, for display: the URA (from
/// the UZI otherName of an X509Credential), name (`O` / `organization.name`) and city (`L` /
/// `organization.city`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrganizationFacts {
    /// The URA (UZI register subscriber number).
    pub ura: Option<String>,
    /// The organization's name.
    pub name: Option<String>,
    /// Its city.
    pub city: Option<String>,
}

/// The organization facts of a normalized credential (X509Credential from a UZI server
/// certificate, or NutsOrganizationCredential); `None` when it states none.
pub fn organization_facts(normalized: &Value) -> Option<OrganizationFacts> {
    let subject = match normalized.get("credentialSubject") {
        Some(Value::Array(a)) => a.first()?,
        Some(v) => v,
        None => return None,
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let x509 = subject.get("subject");
    let org = subject.get("organization");
    let ura = subject
        .get("san")
        .and_then(|s| s.get("otherName"))
        .and_then(Value::as_str)
        .and_then(wallet_protocol::vc::x509_issue::parse_uzi_name)
        .map(|u| u.ura);
    let facts = OrganizationFacts {
        ura,
        name: text(x509.and_then(|s| s.get("O"))).or(text(org.and_then(|o| o.get("name")))),
        city: text(x509.and_then(|s| s.get("L"))).or(text(org.and_then(|o| o.get("city")))),
    };
    (facts != OrganizationFacts::default()).then_some(facts)
}

/// Revocation status for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationView {
    /// `no_status`, `active`, `revoked`, `suspended`, `unknown`.
    pub status: &'static str,
    /// Why it is unknown (soft failure, e.g. offline).
    pub reason: Option<String>,
}

impl From<&RevocationStatus> for RevocationView {
    fn from(s: &RevocationStatus) -> Self {
        let (status, reason) = match s {
            RevocationStatus::NoStatus => ("no_status", None),
            RevocationStatus::Active => ("active", None),
            RevocationStatus::Revoked => ("revoked", None),
            RevocationStatus::Suspended => ("suspended", None),
            RevocationStatus::Unknown { reason } => ("unknown", Some(reason.clone())),
        };
        RevocationView { status, reason }
    }
}

/// One credential with its decoded content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialDetail {
    /// Listing data and warnings (including revocation).
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// The credential's own id (`id` / JWT `jti`).
    pub credential_id: Option<String>,
    /// Decoded `credentialSubject` (array or object, as normalized).
    pub claims: Value,
    /// The whole normalized credential (the view of `docs/protocol.md` §8.2).
    pub normalized: Value,
    /// Revocation status as checked now.
    pub revocation: RevocationView,
}

/// Result of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    /// The stored credential with its warnings.
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// Revocation status at import.
    pub revocation: RevocationView,
}

fn ms_to_rfc3339(ms: Option<i64>) -> Option<String> {
    ms.map(|m| format_rfc3339(m.div_euclid(1000)))
}

fn display_type(types: &[String]) -> String {
    types
        .iter()
        .find(|t| t.as_str() != "VerifiableCredential")
        .or(types.first())
        .cloned()
        .unwrap_or_default()
}

pub(super) fn summarize(meta: &CredentialMeta, trusted: &[String], now: i64) -> CredentialSummary {
    let l = &meta.listing;
    let mut warnings = Vec::new();
    let from = l.valid_from_ms.map(|m| m.div_euclid(1000));
    let until = l.valid_until_ms.map(|m| m.div_euclid(1000));
    if let Some(u) = until {
        if now > u {
            warnings.push(Warning::new(
                "expired",
                format!("expired on {}", format_rfc3339(u)),
            ));
        } else if u - now <= vc::EXPIRING_SOON_SECS {
            warnings.push(Warning::new(
                "expiring_soon",
                format!("expires within 30 days, on {}", format_rfc3339(u)),
            ));
        }
    }
    if let Some(f) = from {
        if now < f {
            warnings.push(Warning::new(
                "not_yet_valid",
                format!("not valid before {}", format_rfc3339(f)),
            ));
        }
    }
    let issuer_trusted = trusted.iter().any(|t| t == &l.issuer);
    if !issuer_trusted {
        warnings.push(Warning::new(
            "untrusted_issuer",
            format!("issuer {} is not on the trusted issuer list", l.issuer),
        ));
    }
    CredentialSummary {
        id: meta.id.clone(),
        types: l.types.clone(),
        display_type: display_type(&l.types),
        format: l.format.clone(),
        issuer: l.issuer.clone(),
        subject: l.subject.clone(),
        valid_from: ms_to_rfc3339(l.valid_from_ms),
        valid_until: ms_to_rfc3339(l.valid_until_ms),
        imported_at: format_rfc3339(meta.created_at_ms.div_euclid(1000)),
        issuer_trusted,
        warnings,
        organization: None,
    }
}

pub(super) fn revocation_warning(status: &RevocationStatus) -> Option<Warning> {
    match status {
        RevocationStatus::Revoked => Some(Warning::new("revoked", "revoked by its issuer")),
        RevocationStatus::Suspended => Some(Warning::new("suspended", "suspended by its issuer")),
        RevocationStatus::Unknown { reason } => Some(Warning::new(
            "revocation_unknown",
            format!("revocation status unknown, offline? ({reason})"),
        )),
        RevocationStatus::NoStatus | RevocationStatus::Active => None,
    }
}

/// JSON-LD properties the proof does not cover (the contexts do not define them), as a
/// warning: they could have been added after signing.
pub(super) fn unsigned_warning(credential: &Credential) -> Option<Warning> {
    let Credential::Ldp(doc) = credential else {
        return None;
    };
    match vc::ldp::unsigned_properties(doc) {
        Ok(props) if !props.is_empty() => Some(Warning::new(
            "unsigned_properties",
            format!("not covered by the signature: {}", props.join(", ")),
        )),
        _ => None,
    }
}
