//! The administrator's side: publishing the profile, and the enrollment secret.

use std::path::{Path, PathBuf};

use serde::Serialize;
use wallet_protocol::Clock;
use wallet_vault::{Actor, AdminSession, CredentialFilter, NewActivity, NewToken, Vault};

use super::envelope::{seal, EnrollmentSecret};
use super::model::{EmployeeSelection, LocalArea, OrgProfile, ProfileEmployee};
use super::{
    ProfileError, Result, DEFAULT_VALID_DAYS, ENROLLMENT_SECRET_KIND, MAX_VALID_DAYS,
    SETTING_EMPLOYEE_SELECTION, SETTING_PROFILE_VERSION, SETTING_PUBLISH_LOCAL_CHANGES,
};
use crate::access_policy::ServicePolicy;
use crate::org::{self, KeyStoreKind};

/// What [`publish_profile`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfilePublished {
    /// The file.
    pub path: PathBuf,
    /// Its version.
    pub version: u64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Roster entries in it.
    pub employees: usize,
    /// Credentials in it.
    pub credentials: usize,
    /// Whether this publication made the enrollment secret (hand it to the workstations).
    pub new_secret: bool,
    /// What the workstations may change themselves.
    pub local_changes: Vec<LocalArea>,
}

/// What the next profiles let workstations change themselves (this wallet's setting; empty
/// until set: nothing).
pub fn published_local_changes(vault: &Vault) -> Result<Vec<LocalArea>> {
    Ok(vault
        .settings()
        .get(SETTING_PUBLISH_LOCAL_CHANGES)?
        .and_then(|v| serde_json::from_value::<Vec<LocalArea>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| *a != LocalArea::Unknown)
        .collect())
}

/// Sets what the next profiles let workstations change themselves. Administrator action;
/// takes effect at the next publication.
pub fn set_published_local_changes(
    vault: &Vault,
    admin: &AdminSession,
    areas: &[LocalArea],
) -> Result<Vec<LocalArea>> {
    let mut list: Vec<LocalArea> = LocalArea::ALL
        .into_iter()
        .filter(|a| areas.contains(a))
        .collect();
    list.dedup();
    vault.settings().put(
        admin,
        SETTING_PUBLISH_LOCAL_CHANGES,
        &serde_json::to_value(&list).unwrap_or_default(),
    )?;
    Ok(list)
}

/// The enrollment secret, made on first use. Administrator action: the secret opens the
/// profile, roster included.
pub fn enrollment_secret(vault: &Vault, admin: &AdminSession) -> Result<(EnrollmentSecret, bool)> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(
            wallet_vault::VaultError::AdminRequired("reading the enrollment secret").into(),
        );
    }
    if let Some(t) = vault
        .tokens()
        .find(ENROLLMENT_SECRET_KIND, "organization-profile")?
    {
        return Ok((EnrollmentSecret::parse(t.value.expose_secret())?, false));
    }
    let secret = EnrollmentSecret::generate();
    vault.tokens().put(NewToken {
        kind: ENROLLMENT_SECRET_KIND.into(),
        audience: "organization-profile".into(),
        expires_at_ms: None,
        value: wallet_vault::SecretString::new(secret.expose().to_string()),
    })?;
    vault.activity_log().record(NewActivity::new(
        Actor::Admin,
        "profile.secret.create",
        vault.vault_id(),
    ))?;
    Ok((secret, true))
}

/// The folder holds the public publication bundle (the DID document, entity statement...):
/// the profile must never sit next to it.
fn holds_publication_bundle(dir: &Path) -> bool {
    if dir.join(".well-known").exists() {
        return true;
    }
    if let Ok(readme) = std::fs::read_to_string(dir.join("README.txt")) {
        if readme.contains("did.json") || readme.contains("openid-configuration") {
            return true;
        }
    }
    // did.json files up to a few levels down (iam/<id>/did.json, ...).
    fn walk(dir: &Path, depth: u32) -> bool {
        if depth == 0 {
            return false;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == "did.json") {
                return true;
            }
            p.is_dir() && walk(&p, depth - 1)
        })
    }
    walk(dir, 4)
}

/// [`publish_profile`] letting workstations change `areas` themselves (kept for later
/// publications). When publishing fails, the previous choice stays.
pub fn publish_profile_allowing(
    vault: &Vault,
    admin: &AdminSession,
    out: &Path,
    valid_days: Option<u32>,
    areas: &[LocalArea],
    clock: &dyn Clock,
) -> Result<ProfilePublished> {
    let before = published_local_changes(vault)?;
    set_published_local_changes(vault, admin, areas)?;
    publish_profile(vault, admin, out, valid_days, clock).inspect_err(|_| {
        if let Err(e) = set_published_local_changes(vault, admin, &before) {
            tracing::warn!(
                code = e.code(),
                "restoring what workstations may change: {e}"
            );
        }
    })
}

/// Publishes the organization profile to `out` (a file on an internal share or intranet
/// server; never next to the public bundle): signed by the organization key, encrypted for
/// the enrollment secret, valid `valid_days` days. Administrator action; recorded.
pub fn publish_profile(
    vault: &Vault,
    admin: &AdminSession,
    out: &Path,
    valid_days: Option<u32>,
    clock: &dyn Clock,
) -> Result<ProfilePublished> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(
            wallet_vault::VaultError::AdminRequired("publishing the organization profile").into(),
        );
    }
    let days = valid_days.unwrap_or(DEFAULT_VALID_DAYS);
    if !(1..=MAX_VALID_DAYS).contains(&days) {
        return Err(ProfileError::InvalidInput(format!(
            "--valid-days must be between 1 and {MAX_VALID_DAYS}"
        )));
    }
    if out.is_dir() {
        return Err(ProfileError::InvalidInput(format!(
            "{} is a folder; give a file name (e.g. {}/org-profile.jwe)",
            out.display(),
            out.display()
        )));
    }
    let folder = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if holds_publication_bundle(&folder) {
        return Err(ProfileError::InvalidInput(format!(
            "{} holds the public publication bundle; the profile (with the roster) belongs on an \
             internal share or intranet server, never next to it",
            folder.display()
        )));
    }
    let info = org::require_organization(vault)?;
    if info.key_store == KeyStoreKind::Vault {
        return Err(ProfileError::InvalidInput(
            "the organization key is in this wallet's vault, where workstations cannot sign with \
             it; move it into an HSM first (`nuts-wallet org key rotate --key pkcs11:...`, \
             publish, `org key activate`)"
                .into(),
        ));
    }
    let signer = org::organization_signer(vault, &info)?;
    let mut credentials = Vec::new();
    for m in vault.credentials().list(&CredentialFilter::default())? {
        credentials.push(
            vault
                .credentials()
                .get(&m.id)?
                .raw
                .expose_secret()
                .to_owned(),
        );
    }
    let roster: Vec<ProfileEmployee> = crate::roster::list_employees(vault)?
        .into_iter()
        .map(|e| ProfileEmployee {
            identifier: e.identifier,
            name: e.name,
            role: e.role,
            os_account: e.os_account,
            active: e.active,
        })
        .collect();
    let employee_selection = match vault.settings().get(SETTING_EMPLOYEE_SELECTION)? {
        Some(v) => serde_json::from_value(v).unwrap_or(EmployeeSelection::OsAccount),
        None => EmployeeSelection::OsAccount,
    };
    let version = vault
        .settings()
        .get(SETTING_PROFILE_VERSION)?
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
        + 1;
    let now = clock.now_unix();
    let expires_at = now + i64::from(days) * 86_400;
    let profile = OrgProfile {
        iss: info.did.clone(),
        version,
        iat: now,
        exp: expires_at,
        organization: info.clone(),
        credentials,
        roster,
        policy: ServicePolicy::load(vault)
            .map_err(|e| ProfileError::InvalidInput(e.to_string()))?,
        employee_selection,
        trusted_issuers: crate::credentials::trusted_issuers(vault)?,
        employee_credential_validity_secs: crate::roster::credential_validity(vault)?,
        audit_forwarding: crate::audit_forward::forwarding(vault)
            .map_err(|e| ProfileError::InvalidInput(e.to_string()))?
            .and_then(|c| serde_json::to_value(c).ok()),
        local_changes: published_local_changes(vault)?,
    };
    let (secret, new_secret) = enrollment_secret(vault, admin)?;
    let sealed = seal(&signer, &profile, &secret)?;
    write_atomically(out, sealed.as_bytes())?;
    vault
        .settings()
        .put(admin, SETTING_PROFILE_VERSION, &serde_json::json!(version))?;
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "profile.publish", &info.did).detail(serde_json::json!({
            "version": version,
            "expires_at": expires_at,
            "employees": profile.roster.len(),
            "credentials": profile.credentials.len(),
            "file": out.display().to_string(),
            "local_changes": profile.local_changes,
        })),
    )?;
    Ok(ProfilePublished {
        path: out.to_owned(),
        version,
        expires_at,
        employees: profile.roster.len(),
        credentials: profile.credentials.len(),
        new_secret,
        local_changes: profile.local_changes,
    })
}

/// Writes `bytes` to a temporary file beside `out` and renames it over `out`, so a workstation
/// refreshing meanwhile reads the old or the new profile, never half of one.
fn write_atomically(out: &Path, bytes: &[u8]) -> Result<()> {
    let io = |context: String| move |source| ProfileError::Io { context, source };
    let tmp = out.with_extension(format!(
        "tmp-{}",
        &wallet_protocol::random::random_token()[..8]
    ));
    std::fs::write(&tmp, bytes).map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ProfileError::Io {
            context: format!("writing {}", out.display()),
            source: e,
        }
    })
}
