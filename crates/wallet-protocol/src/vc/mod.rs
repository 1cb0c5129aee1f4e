//! Verifiable Credentials: JWT VCs ([`jwt`]), JSON-LD VCs with JsonWebSignature2020
//! ([`ldp`]), the bundled JSON-LD [`contexts`], the normalized JSON view used for display
//! and matching ([`normalize`]), and StatusList2021 revocation ([`status`]).

pub mod contexts;
pub mod jwt;
pub mod ldp;
pub mod normalize;
pub mod status;
pub mod x509_issue;

use serde_json::Value;

use crate::clock::{parse_rfc3339, Clock};
use crate::did::{Did, DidResolver, DidUrl};
use jwt::{VcError, VerifyOptions};

/// A credential in either format.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// Compact JWT VC (`jwt_vc`).
    Jwt(String),
    /// JSON-LD VC (`ldp_vc`).
    Ldp(Value),
}

impl Credential {
    /// Parses text: a JSON object is JSON-LD, anything else a compact JWT.
    pub fn parse(text: &str) -> Result<Self, VcError> {
        let t = text.trim();
        if t.starts_with('{') {
            let v: Value =
                serde_json::from_str(t).map_err(|e| VcError::Malformed(e.to_string()))?;
            Ok(Self::Ldp(v))
        } else if t.split('.').count() == 3 {
            Ok(Self::Jwt(t.to_owned()))
        } else {
            Err(VcError::Malformed(
                "neither a JWT nor a JSON-LD credential".into(),
            ))
        }
    }

    /// From a JSON value inside a VP (`"<jwt>"` or `{..}`).
    pub fn from_value(v: &Value) -> Result<Self, VcError> {
        match v {
            Value::String(s) => Ok(Self::Jwt(s.clone())),
            Value::Object(_) => Ok(Self::Ldp(v.clone())),
            _ => Err(VcError::Malformed(
                "credential is neither string nor object".into(),
            )),
        }
    }

    /// As a JSON value for embedding in a VP.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Jwt(s) => Value::String(s.clone()),
            Self::Ldp(v) => v.clone(),
        }
    }

    /// PEX format name (`jwt_vc` / `ldp_vc`).
    pub fn format(&self) -> &'static str {
        match self {
            Self::Jwt(_) => "jwt_vc",
            Self::Ldp(_) => "ldp_vc",
        }
    }
}

/// A credential whose proof and validity window were verified.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// The credential as received.
    pub credential: Credential,
    /// Issuer DID.
    pub issuer: Did,
    /// Signing key (`None` for an unsigned self-attested credential inside a VP).
    pub kid: Option<DidUrl>,
    /// Normalized JSON (docs/protocol.md §8.2).
    pub normalized: Value,
}

impl VerifiedCredential {
    /// `credentialSubject.id` values.
    pub fn subject_ids(&self) -> Vec<String> {
        normalize::subject_ids(&self.normalized)
    }
}

/// Verifies a credential of either format: proof by the issuer's assertion key and the
/// validity window (`issuanceDate`/`expirationDate`, with skew). Revocation is separate
/// ([`status::check_status`]); Nuts content rules too ([`jwt::check_nuts_rules`]).
pub async fn verify_credential(
    credential: &Credential,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    opts: &VerifyOptions,
) -> Result<VerifiedCredential, VcError> {
    match credential {
        Credential::Jwt(token) => {
            let v = jwt::verify_jwt_vc(token, resolver, clock, opts).await?;
            Ok(VerifiedCredential {
                credential: credential.clone(),
                issuer: v.issuer,
                kid: Some(v.kid),
                normalized: v.normalized,
            })
        }
        Credential::Ldp(doc) => {
            let issuer =
                normalize::issuer_id(doc).ok_or_else(|| VcError::Malformed("no issuer".into()))?;
            let issuer = Did::parse(issuer)?;
            let (_, kid) = ldp::verify_credential_proof(doc, resolver).await?;
            if kid.did() != issuer {
                return Err(VcError::IssuerKeyMismatch(format!(
                    "{kid} is not a key of {issuer}"
                )));
            }
            check_ldp_window(doc, clock.now_unix(), opts.skew_secs)?;
            Ok(VerifiedCredential {
                credential: credential.clone(),
                issuer,
                kid: Some(kid),
                normalized: normalize::ldp_vc(doc),
            })
        }
    }
}

/// Checks `issuanceDate`/`validFrom` and `expirationDate`/`validUntil` of a JSON-LD VC.
pub fn check_ldp_window(doc: &Value, now: i64, skew: i64) -> Result<(), VcError> {
    let date = |names: [&str; 2]| -> Result<Option<i64>, VcError> {
        for n in names {
            if let Some(v) = doc.get(n) {
                let s = v
                    .as_str()
                    .ok_or_else(|| VcError::Malformed(format!("{n} is not a string")))?;
                return parse_rfc3339(s)
                    .map(Some)
                    .ok_or_else(|| VcError::Malformed(format!("{n} is not RFC 3339")));
            }
        }
        Ok(None)
    };
    let from = date(["issuanceDate", "validFrom"])?;
    let until = date(["expirationDate", "validUntil"])?;
    jwt::check_window(from, until, now, skew)
}

/// Nuts content rules for a NutsOrganizationCredential (docs/protocol.md §7.5), on the
/// normalized view: `id` is `<issuer>#...`, exactly one subject with `id` and non-empty
/// `organization.name` and `organization.city`.
pub fn check_organization_credential(normalized: &Value) -> Result<(), VcError> {
    let rule = |m: &str| Err(VcError::NutsRule(m.to_owned()));
    if !normalize::types(normalized)
        .iter()
        .any(|t| t == "NutsOrganizationCredential")
    {
        return rule("not a NutsOrganizationCredential");
    }
    let issuer = normalize::issuer_id(normalized).unwrap_or_default();
    let id = normalized
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if issuer.is_empty() || !id.starts_with(&format!("{issuer}#")) {
        return rule("id must be <issuer DID>#<id>");
    }
    let subject = match normalized.get("credentialSubject") {
        Some(Value::Array(a)) if a.len() == 1 => &a[0],
        Some(Value::Object(_)) => &normalized["credentialSubject"],
        _ => return rule("exactly one credentialSubject is required"),
    };
    if subject.get("id").and_then(Value::as_str).is_none() {
        return rule("credentialSubject.id is required");
    }
    for field in ["name", "city"] {
        let ok = subject
            .get("organization")
            .and_then(|o| o.get(field))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty());
        if !ok {
            return rule(&format!("organization.{field} must be a non-empty string"));
        }
    }
    Ok(())
}

/// The admin import check: proof by the issuer's key, validity window, the general Nuts
/// rules, and every `credentialSubject.id` equal to `holder` (the organization's DID).
/// Revocation is checked separately ([`status::check_status`]).
pub async fn verify_for_holder(
    credential: &Credential,
    holder: &Did,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
) -> Result<VerifiedCredential, VcError> {
    let verified =
        verify_credential(credential, resolver, clock, &VerifyOptions::default()).await?;
    jwt::check_nuts_rules(&verified.normalized)?;
    let ids = verified.subject_ids();
    if ids.is_empty() || ids.iter().any(|id| id != holder.as_str()) {
        return Err(VcError::SubjectMismatch(holder.to_string()));
    }
    if normalize::types(&verified.normalized)
        .iter()
        .any(|t| t == "NutsOrganizationCredential")
    {
        check_organization_credential(&verified.normalized)?;
    }
    Ok(verified)
}

/// Revocation status of a verified credential: StatusList2021 for credentials with a
/// `credentialStatus`, the CRLs of the certificate chain for JWT credentials issued by a
/// `did:x509` (chain from the `x5c` header). Soft-fails to `Unknown` with a reason.
pub async fn revocation_status(
    verified: &VerifiedCredential,
    http: &dyn crate::net::HttpClient,
    policy: &crate::net::NetPolicy,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
) -> status::RevocationStatus {
    if verified.issuer.method() == "x509" {
        if let Credential::Jwt(token) = &verified.credential {
            let x5c: Vec<String> = crate::jose::CompactJws::parse(token)
                .ok()
                .and_then(|j| j.header.get("x5c").and_then(Value::as_array).cloned())
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            return crate::did::x509::check_revocation(
                &verified.issuer,
                &x5c,
                http,
                policy,
                clock.now_unix(),
            )
            .await;
        }
    }
    status::check_status(&verified.normalized, http, policy, resolver, clock).await
}

/// Seconds in the "expiring soon" window shown by the UI (30 days).
pub const EXPIRING_SOON_SECS: i64 = 30 * 24 * 3600;

/// Validity facts of a (normalized) credential for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidityInfo {
    /// `issuanceDate`/`validFrom` (Unix seconds).
    pub valid_from: Option<i64>,
    /// `expirationDate`/`validUntil` (Unix seconds).
    pub valid_until: Option<i64>,
    /// Not valid yet at `now`.
    pub not_yet_valid: bool,
    /// Expired at `now`.
    pub expired: bool,
    /// Expires within [`EXPIRING_SOON_SECS`] of `now` (and not expired yet).
    pub expiring_soon: bool,
}

/// Computes [`ValidityInfo`] at `now` from the normalized view (no skew: display only).
pub fn validity_info(normalized: &Value, now: i64) -> ValidityInfo {
    let date = |names: [&str; 2]| {
        names.iter().find_map(|n| {
            normalized
                .get(*n)
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
        })
    };
    let valid_from = date(["issuanceDate", "validFrom"]);
    let valid_until = date(["expirationDate", "validUntil"]);
    let expired = valid_until.is_some_and(|u| now > u);
    ValidityInfo {
        valid_from,
        valid_until,
        not_yet_valid: valid_from.is_some_and(|f| now < f),
        expired,
        expiring_soon: !expired && valid_until.is_some_and(|u| u - now <= EXPIRING_SOON_SECS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validity_info_flags() {
        let vc = json!({"issuanceDate": "2025-01-01T00:00:00Z", "expirationDate": "2025-03-01T00:00:00Z"});
        let jan = parse_rfc3339("2025-01-15T00:00:00Z").unwrap();
        let feb = parse_rfc3339("2025-02-15T00:00:00Z").unwrap();
        let apr = parse_rfc3339("2025-04-01T00:00:00Z").unwrap();
        let dec = parse_rfc3339("2024-12-01T00:00:00Z").unwrap();
        let i = validity_info(&vc, jan);
        assert!(!i.expired && !i.expiring_soon && !i.not_yet_valid);
        assert!(validity_info(&vc, feb).expiring_soon);
        let i = validity_info(&vc, apr);
        assert!(i.expired && !i.expiring_soon);
        assert!(validity_info(&vc, dec).not_yet_valid);
        let open = validity_info(&json!({"issuanceDate": "2025-01-01T00:00:00Z"}), apr);
        assert_eq!(open.valid_until, None);
        assert!(!open.expired && !open.expiring_soon);
    }

    #[test]
    fn credential_text_parsing() {
        assert!(matches!(
            Credential::parse(" {\"a\":1} "),
            Ok(Credential::Ldp(_))
        ));
        assert!(matches!(Credential::parse("a.b.c\n"), Ok(Credential::Jwt(t)) if t == "a.b.c"));
        assert!(Credential::parse("hello").is_err());
        assert!(Credential::parse("{not json").is_err());
    }
}
