//! Import: the full check of a credential before it is stored, and the refusals (each one
//! precise and logged).

use serde_json::Value;
use wallet_protocol::did::Did;
use wallet_protocol::vc::jwt::VcError;
use wallet_protocol::vc::status::RevocationStatus;
use wallet_protocol::vc::{self, normalize, Credential};
use wallet_vault::{
    Actor, AdminSession, CredentialFilter, CredentialListing, NewActivity, NewCredential, Outcome,
    SecretString, Vault, VaultError,
};

use super::listing::trusted_issuers;
use super::views::{revocation_warning, summarize, unsigned_warning};
use super::{normalized_of, own_resolver, Imported, RevocationView, VerifyEnv};
use crate::org::{self, IdentityError, Result};

/// Why an import was refused, as one precise sentence.
fn refusal_reason(e: &VcError, org_did: &str, unverified: Option<&Value>) -> String {
    match e {
        VcError::SubjectMismatch(_) => {
            let ids = unverified.map(normalize::subject_ids).unwrap_or_default();
            if ids.is_empty() {
                format!(
                    "it has no credentialSubject.id; it must be the organization's DID {org_did}"
                )
            } else {
                format!(
                    "its subject is {}, not the organization's DID {org_did}",
                    ids.join(", ")
                )
            }
        }
        VcError::Expired(at) => format!("it expired at {at}"),
        VcError::NotYetValid(at) => format!("it is not valid before {at}"),
        VcError::Jose(j) => format!("the signature does not verify ({j})"),
        VcError::Did(d) => format!("the issuer's DID cannot be resolved ({d})"),
        VcError::IssuerKeyMismatch(m) => format!("the signing key is not the issuer's ({m})"),
        VcError::Ld(l) => format!("the JSON-LD proof does not verify ({l})"),
        VcError::NutsRule(m) => format!("it breaks a Nuts rule: {m}"),
        VcError::Malformed(m) => format!("it is malformed: {m}"),
    }
}

fn refuse(vault: &Vault, reason: String) -> IdentityError {
    // Best effort: the refusal itself is an administrator action worth logging.
    let _ = vault.activity_log().record(
        NewActivity::new(Actor::Admin, "credential.import", "refused")
            .outcome(Outcome::Failure)
            .detail(serde_json::json!({ "reason": reason })),
    );
    IdentityError::Refused(reason)
}

/// Imports a credential (compact JWT VC or JSON-LD VC text) for the organization after
/// checking it (see the module docs). Administrator action.
pub async fn import_credential(
    vault: &Vault,
    admin: &AdminSession,
    text: &str,
    env: &VerifyEnv,
) -> Result<Imported> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(VaultError::AdminRequired("importing credentials").into());
    }
    crate::profile::guard(vault)?;
    let org = org::require_organization(vault)?;
    let credential = match Credential::parse(text) {
        Ok(c) => c,
        Err(e) => {
            return Err(refuse(
                vault,
                format!("it is neither a JWT VC nor a JSON-LD VC ({e})"),
            ))
        }
    };
    let unverified = normalized_of(&credential);
    let holder = Did::parse(&org.did).map_err(IdentityError::protocol)?;
    let resolver = own_resolver(&org, env.resolver.as_ref());
    let verified =
        match vc::verify_for_holder(&credential, &holder, &resolver, env.clock.as_ref()).await {
            Ok(v) => v,
            Err(e) => {
                return Err(refuse(
                    vault,
                    refusal_reason(&e, &org.did, unverified.as_ref()),
                ))
            }
        };
    let status = vc::revocation_status(
        &verified,
        env.http.as_ref(),
        &env.policy,
        &resolver,
        env.clock.as_ref(),
    )
    .await;
    match status {
        RevocationStatus::Revoked => return Err(refuse(vault, "its issuer has revoked it".into())),
        RevocationStatus::Suspended => {
            return Err(refuse(vault, "its issuer has suspended it".into()))
        }
        _ => {}
    }
    let vc_id = verified
        .normalized
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for m in vault.credentials().list(&CredentialFilter::default())? {
        let stored = vault.credentials().get(&m.id)?;
        let same = Credential::parse(stored.raw.expose_secret())
            .ok()
            .and_then(|c| normalized_of(&c))
            .and_then(|n| n.get("id").and_then(Value::as_str).map(str::to_owned))
            .is_some_and(|id| !vc_id.is_empty() && id == vc_id);
        if same {
            return Err(IdentityError::Duplicate(m.id));
        }
    }
    let info = vc::validity_info(&verified.normalized, env.clock.now_unix());
    let types = normalize::types(&verified.normalized);
    let raw = match &credential {
        Credential::Jwt(t) => t.clone(),
        Credential::Ldp(_) => text.trim().to_owned(),
    };
    let meta = vault.credentials().import(
        admin,
        NewCredential {
            listing: CredentialListing {
                types,
                format: credential.format().to_owned(),
                issuer: verified.issuer.to_string(),
                subject: Some(org.did.clone()),
                valid_from_ms: info.valid_from.map(|s| s * 1000),
                valid_until_ms: info.valid_until.map(|s| s * 1000),
            },
            raw: SecretString::from(raw),
        },
    )?;
    let trusted = trusted_issuers(vault)?;
    let mut summary = summarize(&meta, &trusted, env.clock.now_unix());
    summary.organization = super::views::organization_facts(&verified.normalized);
    summary.warnings.extend(revocation_warning(&status));
    summary.warnings.extend(unsigned_warning(&credential));
    Ok(Imported {
        summary,
        revocation: RevocationView::from(&status),
    })
}
