//! Listing, showing and deleting stored credentials, and the administrator's trusted issuer
//! list.

use serde_json::Value;
use wallet_protocol::did::{Did, DidResolver};
use wallet_protocol::vc::status::RevocationStatus;
use wallet_protocol::vc::{self, Credential, VerifiedCredential};
use wallet_vault::{AdminSession, CredentialFilter, CredentialMeta, Vault, VaultError};

use super::views::{organization_facts, revocation_warning, summarize, unsigned_warning};
use super::{normalized_of, own_resolver, CredentialDetail, CredentialSummary, ForwardResolver};
use super::{RevocationView, VerifyEnv};
use crate::org::{self, IdentityError, Result};

/// Vault setting with the DIDs of issuers the administrator trusts (JSON array of strings).
pub const SETTING_TRUSTED_ISSUERS: &str = "trusted_issuers";

/// The administrator's trusted issuers.
pub fn trusted_issuers(vault: &Vault) -> Result<Vec<String>> {
    Ok(vault
        .settings()
        .get(SETTING_TRUSTED_ISSUERS)?
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default())
}

/// Adds (`trusted`) or removes an issuer DID from the trusted issuer list. Administrator
/// action. Returns the new list.
pub fn set_issuer_trust(
    vault: &Vault,
    admin: &AdminSession,
    issuer: &str,
    trusted: bool,
) -> Result<Vec<String>> {
    let managed = crate::profile::guard_area(vault, crate::profile::LocalArea::TrustedIssuers)?;
    let did = Did::parse(issuer.trim())
        .map_err(|e| IdentityError::InvalidInput(format!("issuer: {e}")))?;
    let mut list = trusted_issuers(vault)?;
    list.retain(|d| d != did.as_str());
    if trusted {
        list.push(did.to_string());
    }
    vault
        .settings()
        .put(admin, SETTING_TRUSTED_ISSUERS, &serde_json::json!(list))?;
    if managed {
        crate::profile::note_change(vault, admin, crate::profile::LocalArea::TrustedIssuers)?;
    }
    Ok(list)
}

/// Lists the stored credentials with warnings at `now` (Unix seconds) and who they name.
/// Needs the vault unlocked; nothing is fetched.
pub fn list_credentials(vault: &Vault, now: i64) -> Result<Vec<CredentialSummary>> {
    let trusted = trusted_issuers(vault)?;
    let mut out = Vec::new();
    for m in vault.credentials().list(&CredentialFilter::default())? {
        let mut summary = summarize(&m, &trusted, now);
        // Who it names (URA, name, city): opened from the sealed credential, nothing fetched.
        let stored = vault.credentials().get(&m.id)?;
        summary.organization = Credential::parse(stored.raw.expose_secret())
            .ok()
            .and_then(|c| normalized_of(&c))
            .and_then(|n| organization_facts(&n));
        out.push(summary);
    }
    Ok(out)
}

/// The stored credentials that expired or expire within 30 days at `now`, soonest end
/// first: what Home, the administrator's desktop notification and `doctor` warn about.
pub fn expiring_credentials(vault: &Vault, now: i64) -> Result<Vec<CredentialSummary>> {
    let mut out: Vec<CredentialSummary> = list_credentials(vault, now)?
        .into_iter()
        .filter(|c| {
            c.warnings
                .iter()
                .any(|w| w.code == "expired" || w.code == "expiring_soon")
        })
        .collect();
    out.sort_by(|a, b| a.valid_until.cmp(&b.valid_until));
    Ok(out)
}

/// Finds a stored credential by its vault id or a unique prefix of it (at least 4 characters).
pub fn find_credential_id(vault: &Vault, id: &str) -> Result<String> {
    let id = id.trim();
    let all = vault.credentials().list(&CredentialFilter::default())?;
    if let Some(m) = all.iter().find(|m| m.id == id) {
        return Ok(m.id.clone());
    }
    let matches: Vec<&CredentialMeta> = if id.len() >= 4 {
        all.iter().filter(|m| m.id.starts_with(id)).collect()
    } else {
        Vec::new()
    };
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(VaultError::NotFound {
            kind: "credential",
            id: id.to_owned(),
        }
        .into()),
        _ => Err(IdentityError::InvalidInput(format!(
            "credential id prefix {id} is ambiguous ({} matches)",
            matches.len()
        ))),
    }
}

/// Shows one stored credential: decoded claims, validity, warnings, and its revocation
/// status checked now (soft-fails to `unknown` when the status list cannot be fetched).
pub async fn credential_detail(
    vault: &Vault,
    id: &str,
    env: &VerifyEnv,
) -> Result<CredentialDetail> {
    let id = find_credential_id(vault, id)?;
    let stored = vault.credentials().get(&id)?;
    let credential = Credential::parse(stored.raw.expose_secret())
        .map_err(|e| IdentityError::Protocol(format!("stored credential {id}: {e}")))?;
    let normalized = normalized_of(&credential).ok_or_else(|| {
        IdentityError::Protocol(format!("stored credential {id} cannot be decoded"))
    })?;
    let trusted = trusted_issuers(vault)?;
    let mut summary = summarize(&stored.meta, &trusted, env.clock.now_unix());
    summary.organization = organization_facts(&normalized);
    let org = org::organization(vault)?;
    let resolver: Box<dyn DidResolver + '_> = match &org {
        Some(o) => Box::new(own_resolver(o, env.resolver.as_ref())),
        None => Box::new(ForwardResolver(env.resolver.as_ref())),
    };
    let unsigned = unsigned_warning(&credential);
    let status = match Did::parse(&stored.meta.listing.issuer) {
        Ok(issuer) => {
            let verified = VerifiedCredential {
                credential,
                issuer,
                kid: None,
                normalized: normalized.clone(),
            };
            vc::revocation_status(
                &verified,
                env.http.as_ref(),
                &env.policy,
                resolver.as_ref(),
                env.clock.as_ref(),
            )
            .await
        }
        Err(e) => RevocationStatus::Unknown {
            reason: format!("issuer is not a DID: {e}"),
        },
    };
    summary.warnings.extend(revocation_warning(&status));
    summary.warnings.extend(unsigned);
    Ok(CredentialDetail {
        summary,
        credential_id: normalized
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        claims: normalized
            .get("credentialSubject")
            .cloned()
            .unwrap_or(Value::Null),
        revocation: RevocationView::from(&status),
        normalized,
    })
}

/// Deletes a stored credential (by id or unique prefix). Administrator action; recorded by
/// the vault as `credential.delete`.
pub fn delete_credential(vault: &Vault, admin: &AdminSession, id: &str) -> Result<String> {
    crate::profile::guard(vault)?;
    let id = find_credential_id(vault, id)?;
    vault.credentials().delete(admin, &id)?;
    Ok(id)
}
