//! The workstation's side: enrollment, refresh, what is in force, and the managed-mode rule
//! that what the profile sets is not changed locally.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use wallet_protocol::did::Did;
use wallet_protocol::vc::{self, normalize, Credential};
use wallet_vault::{
    Actor, AdminSession, CreateOptions, CredentialFilter, CredentialListing, EmployeeUpdate,
    KdfParams, KeyStore, NewActivity, NewCredential, NewEmployee, NewToken, Outcome, Passphrase,
    Protection, SecretString, Vault, VaultTx,
};

use super::envelope::{open, EnrollmentSecret, Opened, ProfileSource};
use super::model::{LocalArea, OrgProfile, ProfileState};
use super::{ProfileError, Result, ENROLLMENT_SECRET_KIND, SETTING_PROFILE_STATE};
use crate::runtime::Network;

const SECRET_AUDIENCE: &str = "organization-profile";

/// What [`enroll`] needs.
pub struct EnrollOptions {
    /// Where the profile is (and is refreshed from).
    pub source: ProfileSource,
    /// The organization DID the profile must be signed by (pinned at enrollment).
    pub org_did: Did,
    /// The enrollment secret.
    pub secret: EnrollmentSecret,
    /// How this workstation's vault key is protected.
    pub protection: Protection,
    /// This workstation's own administrator passphrase (not the organization's).
    pub admin_passphrase: Passphrase,
    /// Its key-derivation cost.
    pub admin_kdf: KdfParams,
}

/// The system-wide managed-install file of a mass rollout (`/etc/nuts-wallet/managed.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedInstall {
    /// Profile file path or URL.
    pub profile: String,
    /// The organization DID.
    pub org_did: String,
    /// The enrollment secret.
    pub enrollment_secret: String,
}

impl ManagedInstall {
    /// The default path of the file on Linux.
    pub const DEFAULT_PATH: &'static str = "/etc/nuts-wallet/managed.json";
    /// Overrides [`Self::DEFAULT_PATH`] (tests, other layouts).
    pub const PATH_ENV: &'static str = "NUTS_WALLET_MANAGED_FILE";

    /// Reads the managed-install file, if there is one. Refused when anyone may read or write
    /// it (it holds the enrollment secret): it must be readable by root and the users' group
    /// only.
    pub fn load() -> Result<Option<ManagedInstall>> {
        let path = std::env::var_os(Self::PATH_ENV)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Self::DEFAULT_PATH.into());
        if !path.exists() {
            return Ok(None);
        }
        Self::load_from(&path).map(Some)
    }

    /// Reads `path` (see [`Self::load`]).
    pub fn load_from(path: &Path) -> Result<ManagedInstall> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| ProfileError::InvalidInput(format!("{}: {e}", path.display())))?
                .permissions()
                .mode();
            if mode & 0o007 != 0 || mode & 0o020 != 0 {
                return Err(ProfileError::InvalidInput(format!(
                    "{} may be read or changed by every user (mode {:o}); it holds the \
                     enrollment secret: make it readable by root and the users' group only \
                     (chmod 0640)",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProfileError::InvalidInput(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text).map_err(|e| {
            ProfileError::InvalidInput(format!(
                "{} is not a managed-install file ({{\"profile\", \"org_did\", \
                 \"enrollment_secret\"}}): {e}",
                path.display()
            ))
        })
    }
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// A newer version was applied.
    Applied {
        /// The version before.
        from: u64,
        /// The version now.
        to: u64,
        /// What changed, for people.
        changes: Vec<String>,
    },
    /// The same version as in force: nothing to do.
    Unchanged {
        /// The version in force.
        version: u64,
    },
    /// The source could not be read; the profile in force stays until its expiry.
    Unreachable {
        /// Why.
        error: String,
        /// Whether the profile in force has expired.
        expired: bool,
    },
}

/// The profile state of a managed workstation, or `None` when it is not managed.
pub fn profile_state(vault: &Vault) -> Result<Option<ProfileState>> {
    Ok(match vault.settings().get(SETTING_PROFILE_STATE)? {
        Some(v) => Some(serde_json::from_value(v).map_err(|e| {
            ProfileError::InvalidInput(format!("stored profile state is unreadable: {e}"))
        })?),
        None => None,
    })
}

/// The organization that manages this workstation, if any.
pub fn managed_by(vault: &Vault) -> Result<Option<String>> {
    Ok(profile_state(vault)?.map(|s| s.organization))
}

/// Refuses a local change of something the profile sets (roster, policy, credentials, trusted
/// issuers, the organization) on a managed workstation.
pub fn guard_unmanaged(vault: &Vault) -> Result<()> {
    match profile_state(vault)? {
        Some(s) => Err(ProfileError::Managed {
            organization: s.organization,
        }),
        None => Ok(()),
    }
}

/// [`guard_unmanaged`] as the organization, credential and roster use cases report it.
pub(crate) fn guard(vault: &Vault) -> std::result::Result<(), crate::org::IdentityError> {
    match profile_state(vault) {
        Ok(None) => Ok(()),
        Ok(Some(s)) => Err(crate::org::IdentityError::Managed(s.organization)),
        Err(ProfileError::Vault(v)) => Err(v.into()),
        Err(e) => Err(crate::org::IdentityError::Protocol(e.to_string())),
    }
}

/// Whether the profile (if the workstation is managed) is in force at `now`: after its expiry,
/// organization presentations are refused with the reason.
pub fn in_force(vault: &Vault, now: i64) -> Result<()> {
    match profile_state(vault)? {
        Some(s) if now >= s.expires_at_unix => Err(ProfileError::Expired {
            expired_at: s.expires_at,
            last_error: s
                .last_error
                .unwrap_or_else(|| "no refresh has succeeded since".into()),
        }),
        _ => Ok(()),
    }
}

/// Creates a workstation vault in `data_dir` from the organization's profile. The profile is
/// fetched, decrypted and verified against `opts.org_did` first: a tampered, foreign or expired
/// profile, or an unreachable DID document, is refused and nothing is created. Returns the
/// vault, unlocked.
pub async fn enroll(
    data_dir: &Path,
    keystore: Arc<dyn KeyStore>,
    opts: EnrollOptions,
    net: &Network,
) -> Result<Vault> {
    if Vault::exists(data_dir) {
        return Err(wallet_vault::VaultError::AlreadyInitialized(data_dir.to_owned()).into());
    }
    let text = opts.source.fetch(net).await?;
    let now = net.clock.now_unix();
    let opened = open(
        &text,
        &opts.secret,
        &opts.org_did,
        net.resolver.as_ref(),
        now,
    )
    .await?;
    check_forwarding(&opened.profile)?;
    let existed = data_dir.exists();
    let vault = Vault::create(
        data_dir,
        keystore,
        CreateOptions {
            protection: opts.protection,
            admin_passphrase: opts.admin_passphrase,
            admin_kdf: opts.admin_kdf,
        },
    )?;
    let result = (|| {
        let admin = vault.profile_session(opened.profile.version)?;
        vault.with_tx(|tx| {
            apply(tx, &admin, &opened, None, now).map_err(into_vault)?;
            store_secret(tx, &opts.secret)?;
            store_state(tx, &admin, &opened, &opts.source, now)?;
            tx.record(
                NewActivity::new(Actor::System, "profile.enroll", &opened.profile.iss).detail(
                    json!({
                        "version": opened.profile.version,
                        "source": opts.source.as_string(),
                        "employees": opened.profile.roster.len(),
                        "credentials": opened.profile.credentials.len(),
                    }),
                ),
            )?;
            Ok(())
        })?;
        apply_forwarding(&vault, &admin, &opened.profile)?;
        Ok::<(), ProfileError>(())
    })();
    if let Err(e) = result {
        // Nothing half-made stays behind.
        drop(vault);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = wallet_vault::db_path(data_dir).into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        if !existed {
            let _ = std::fs::remove_dir_all(data_dir);
        }
        return Err(e);
    }
    Ok(vault)
}

/// Fetches the profile from the enrolled source and applies it when it is newer. Records
/// what happened; a rollback (older, or the same version with other content) is refused and
/// recorded; an unreachable source keeps the profile in force until it expires.
pub async fn refresh(vault: &Vault, net: &Network) -> Result<RefreshOutcome> {
    let Some(state) = profile_state(vault)? else {
        return Err(ProfileError::InvalidInput(
            "this wallet is not enrolled in an organization profile".into(),
        ));
    };
    let source = ProfileSource::parse(&state.source)?;
    let org_did = Did::parse(&state.org_did)
        .map_err(|e| ProfileError::InvalidInput(format!("stored organization DID: {e}")))?;
    let secret = match vault
        .tokens()
        .find(ENROLLMENT_SECRET_KIND, SECRET_AUDIENCE)?
    {
        Some(t) => EnrollmentSecret::parse(t.value.expose_secret())?,
        None => {
            return Err(ProfileError::InvalidInput(
                "the enrollment secret is missing from this wallet; enroll again".into(),
            ))
        }
    };
    let now = net.clock.now_unix();
    let fetched = match source.fetch(net).await {
        Ok(t) => open(&t, &secret, &org_did, net.resolver.as_ref(), now).await,
        Err(e) => Err(e),
    };
    let opened = match fetched {
        Ok(o) => o,
        Err(e @ (ProfileError::Unreachable { .. } | ProfileError::DidUnreachable(_))) => {
            let msg = e.to_string();
            let first = state.last_error.as_deref() != Some(msg.as_str());
            let mut s = state.clone();
            s.last_error = Some(msg.clone());
            write_state(vault, &s)?;
            // One entry per new problem, not one every 15 minutes while it lasts.
            if first {
                vault.activity_log().record(
                    NewActivity::new(Actor::System, "profile.refresh", &state.org_did)
                        .outcome(Outcome::Failure)
                        .detail(json!({ "error": msg })),
                )?;
            }
            return Ok(RefreshOutcome::Unreachable {
                error: msg,
                expired: now >= state.expires_at_unix,
            });
        }
        Err(e) => {
            // Tampered, foreign, expired: refused and recorded; the profile in force stays.
            let mut s = state.clone();
            s.last_error = Some(e.to_string());
            write_state(vault, &s)?;
            vault.activity_log().record(
                NewActivity::new(Actor::System, "profile.refresh", &state.org_did)
                    .outcome(Outcome::Failure)
                    .detail(json!({ "error": e.to_string(), "code": e.code() })),
            )?;
            return Err(e);
        }
    };
    let offered = opened.profile.version;
    check_forwarding(&opened.profile)?;
    if offered == state.version && opened.digest == state.digest {
        let mut s = state.clone();
        s.last_refresh = Some(wallet_protocol::clock::format_rfc3339(now));
        s.last_error = None;
        write_state(vault, &s)?;
        // Forwarding is set in its own transaction after the profile's: one that failed
        // before is set now.
        apply_forwarding(vault, &vault.profile_session(offered)?, &opened.profile)?;
        return Ok(RefreshOutcome::Unchanged { version: offered });
    }
    if offered <= state.version {
        let e = ProfileError::Rollback {
            offered,
            current: state.version,
        };
        vault.activity_log().record(
            NewActivity::new(Actor::System, "profile.rollback_refused", &state.org_did)
                .outcome(Outcome::Failure)
                .detail(json!({ "offered": offered, "current": state.version })),
        )?;
        let mut s = state.clone();
        s.last_error = Some(e.to_string());
        write_state(vault, &s)?;
        return Err(e);
    }
    let admin = vault.profile_session(offered)?;
    let changes = vault.with_tx(|tx| {
        let changes = apply(tx, &admin, &opened, Some(&state), now).map_err(into_vault)?;
        store_state(tx, &admin, &opened, &source, now)?;
        tx.record(
            NewActivity::new(Actor::System, "profile.apply", &state.org_did).detail(json!({
                "from": state.version,
                "to": offered,
                "changes": changes,
            })),
        )?;
        Ok(changes)
    })?;
    let mut changes = changes;
    if apply_forwarding(vault, &admin, &opened.profile)? {
        changes.push("audit forwarding".into());
    }
    Ok(RefreshOutcome::Applied {
        from: state.version,
        to: offered,
        changes,
    })
}

/// Refuses a profile whose collector setting cannot be used, before anything is applied.
fn check_forwarding(p: &OrgProfile) -> Result<()> {
    match &p.audit_forwarding {
        Some(v) if !v.is_null() => {
            let c: crate::audit_forward::ForwardConfig = serde_json::from_value(v.clone())
                .map_err(|e| {
                    ProfileError::Refused(format!(
                        "its audit forwarding setting is unreadable: {e}"
                    ))
                })?;
            c.check().map_err(|e| {
                ProfileError::Refused(format!("its audit forwarding setting is unusable: {e}"))
            })?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Sets the audit forwarding the profile states (its own transaction: the outbox is configured
/// through the forwarder), unless this workstation set its own where the profile allows it.
/// Returns whether it changed.
fn apply_forwarding(vault: &Vault, admin: &AdminSession, p: &OrgProfile) -> Result<bool> {
    let local = super::local::overrides(vault)?;
    if local.areas.contains(&LocalArea::AuditForwarding)
        && p.local_changes.contains(&LocalArea::AuditForwarding)
    {
        return Ok(false);
    }
    set_forwarding_value(
        vault,
        admin,
        p.audit_forwarding
            .as_ref()
            .unwrap_or(&serde_json::Value::Null),
    )
}

/// Sets audit forwarding to `value` (a forwarding setting, or null for off). Returns whether
/// it changed.
pub(super) fn set_forwarding_value(
    vault: &Vault,
    admin: &AdminSession,
    value: &serde_json::Value,
) -> Result<bool> {
    use crate::audit_forward::{configure, forwarding, ForwardConfig};
    let err = |e: crate::audit_forward::ForwardError| ProfileError::InvalidInput(e.to_string());
    let wanted: Option<ForwardConfig> = match value {
        v if v.is_null() => None,
        v => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ProfileError::Refused(format!("its audit forwarding setting is unreadable: {e}"))
        })?),
    };
    if forwarding(vault).map_err(err)? == wanted {
        return Ok(false);
    }
    configure(vault, admin, wanted).map_err(err)?;
    Ok(true)
}

fn into_vault(e: ProfileError) -> wallet_vault::VaultError {
    match e {
        ProfileError::Vault(v) => v,
        other => wallet_vault::VaultError::InvalidInput(other.to_string()),
    }
}

fn write_state(vault: &Vault, s: &ProfileState) -> Result<()> {
    let admin = vault.profile_session(s.version)?;
    vault.settings().put(
        &admin,
        SETTING_PROFILE_STATE,
        &serde_json::to_value(s).map_err(|e| ProfileError::InvalidInput(e.to_string()))?,
    )?;
    Ok(())
}

fn store_secret(tx: &VaultTx<'_>, secret: &EnrollmentSecret) -> wallet_vault::Result<()> {
    tx.tokens().put(NewToken {
        kind: ENROLLMENT_SECRET_KIND.into(),
        audience: SECRET_AUDIENCE.into(),
        expires_at_ms: None,
        value: SecretString::new(secret.expose().to_string()),
    })?;
    Ok(())
}

fn store_state(
    tx: &VaultTx<'_>,
    admin: &AdminSession,
    opened: &Opened,
    source: &ProfileSource,
    now: i64,
) -> wallet_vault::Result<()> {
    let p = &opened.profile;
    let state = ProfileState {
        version: p.version,
        org_did: p.iss.clone(),
        issued_at: wallet_protocol::clock::format_rfc3339(p.iat),
        expires_at: wallet_protocol::clock::format_rfc3339(p.exp),
        expires_at_unix: p.exp,
        source: source.as_string(),
        last_refresh: Some(wallet_protocol::clock::format_rfc3339(now)),
        last_error: None,
        digest: opened.digest.clone(),
        organization: p.organization.client_id.clone(),
        local_changes: p.local_changes.clone(),
    };
    tx.settings().put(
        admin,
        SETTING_PROFILE_STATE,
        &serde_json::to_value(&state).unwrap_or_default(),
    )
}

/// Applies `opened` inside `tx`: organization, credentials, roster, policy, trusted issuers,
/// employee selection and validity, audit forwarding. Returns what changed, for people.
fn apply(
    tx: &VaultTx<'_>,
    admin: &AdminSession,
    opened: &Opened,
    before: Option<&ProfileState>,
    now: i64,
) -> Result<Vec<String>> {
    let p: &OrgProfile = &opened.profile;
    let mut changes = Vec::new();
    if p.organization.key_store != crate::org::KeyStoreKind::Pkcs11 {
        return Err(ProfileError::Refused(
            "the organization key is not in an HSM: workstations cannot sign with it".into(),
        ));
    }
    let put = |name: &str, v: serde_json::Value| tx.settings().put(admin, name, &v);
    let old_org = tx.settings().get(crate::org::SETTING_ORGANIZATION)?;
    let mut org = p.organization.clone();
    org.key_id = String::new();
    let org_value =
        serde_json::to_value(&org).map_err(|e| ProfileError::InvalidInput(e.to_string()))?;
    if old_org.as_ref() != Some(&org_value) {
        put(crate::org::SETTING_ORGANIZATION, org_value)?;
        changes.push("organization".to_owned());
    }

    // Credentials: exactly the profile's.
    let mut stored = Vec::new();
    for m in tx.credentials().list(&CredentialFilter::default())? {
        let raw = tx.credentials().get(&m.id)?.raw.expose_secret().to_owned();
        stored.push((m.id, raw));
    }
    let (mut added, mut removed) = (0, 0);
    for (id, raw) in &stored {
        if !p.credentials.iter().any(|c| c.trim() == raw.trim()) {
            tx.credentials().delete(admin, id)?;
            removed += 1;
        }
    }
    let mut new = Vec::new();
    for raw in &p.credentials {
        if !stored.iter().any(|(_, s)| s.trim() == raw.trim()) {
            new.push(listing_of(raw, &p.iss, now)?);
            added += 1;
        }
    }
    if !new.is_empty() {
        tx.credentials().import_all(admin, new)?;
    }
    if added + removed > 0 {
        changes.push(format!("credentials: {added} added, {removed} removed"));
    }

    // Roster: add, update, deactivate what the profile no longer lists. Entries this
    // workstation added stay while the profile allows them; one the profile now lists is the
    // profile's from here on.
    let allowed = &p.local_changes;
    let mut local = super::local::overrides_in(tx)?;
    let local_before = local.clone();
    let keep_local = allowed.contains(&LocalArea::LocalEmployees);
    let current = tx.employees().list()?;
    let (mut r_add, mut r_upd, mut r_off) = (0, 0, 0);
    for e in &p.roster {
        local.employees.remove(&e.identifier);
        let personal = match &e.os_account {
            Some(a) => json!({ "name": e.name, "role": e.role, "os_account": a }),
            None => json!({ "name": e.name, "role": e.role }),
        };
        match current.iter().find(|c| c.identifier == e.identifier) {
            None => {
                let added = tx.employees().add(
                    admin,
                    NewEmployee {
                        identifier: e.identifier.clone(),
                        personal,
                        key_id: None,
                    },
                )?;
                if !e.active {
                    tx.employees().update(
                        admin,
                        &added.id,
                        EmployeeUpdate {
                            active: Some(false),
                            ..Default::default()
                        },
                    )?;
                }
                r_add += 1;
            }
            Some(c) if c.personal != personal || c.active != e.active => {
                tx.employees().update(
                    admin,
                    &c.id,
                    EmployeeUpdate {
                        personal: Some(personal),
                        active: Some(e.active),
                        ..Default::default()
                    },
                )?;
                r_upd += 1;
            }
            Some(_) => {}
        }
    }
    // Local entries stay this workstation's while the profile does not allow them (inactive,
    // and locked until it allows them again). An OS account the profile gives to one of its
    // employees is taken from any other entry: the OS session must name the profile's employee.
    let profile_accounts: Vec<String> = p
        .roster
        .iter()
        .filter_map(|e| e.os_account.as_deref().map(str::to_ascii_lowercase))
        .collect();
    let mut local_off = 0;
    for c in &current {
        if p.roster.iter().any(|e| e.identifier == c.identifier) {
            continue;
        }
        let is_local = local.employees.contains(&c.identifier);
        let mut update = EmployeeUpdate::default();
        if c.active && !(is_local && keep_local) {
            update.active = Some(false);
            if is_local {
                local_off += 1;
            } else {
                r_off += 1;
            }
        }
        let account = c.personal.get("os_account").and_then(|v| v.as_str());
        if account.is_some_and(|a| profile_accounts.contains(&a.to_ascii_lowercase())) {
            let mut personal = c.personal.clone();
            if let Some(m) = personal.as_object_mut() {
                m.remove("os_account");
            }
            update.personal = Some(personal);
            changes.push(format!(
                "roster: {}'s OS account is the profile's for another employee: unlinked",
                c.identifier
            ));
        }
        if update.active.is_some() || update.personal.is_some() {
            tx.employees().update(admin, &c.id, update)?;
        }
    }
    if local_off > 0 {
        changes.push(format!(
            "{}: {local_off} deactivated (no longer allowed on this workstation)",
            LocalArea::LocalEmployees
        ));
    }
    if r_add + r_upd + r_off > 0 {
        changes.push(format!(
            "roster: {r_add} added, {r_upd} changed, {r_off} deactivated"
        ));
    }

    // Settings the profile sets, except those this workstation changed where it may: their
    // local value stands. The organization's values are kept to return to.
    let mut org_values = serde_json::Map::new();
    let settings: [(LocalArea, serde_json::Value); 4] = [
        (
            LocalArea::AccessPolicy,
            serde_json::to_value(&p.policy).unwrap_or_default(),
        ),
        (LocalArea::EmployeeSelection, json!(p.employee_selection)),
        (LocalArea::TrustedIssuers, json!(p.trusted_issuers)),
        (
            LocalArea::EmployeeValidity,
            json!(p.employee_credential_validity_secs),
        ),
    ];
    for (area, value) in settings {
        org_values.insert(area.as_str().to_owned(), value.clone());
        if local.areas.contains(&area) {
            if allowed.contains(&area) {
                continue;
            }
            local.areas.remove(&area);
            changes.push(format!(
                "{area}: the organization's setting again (no longer changeable on this workstation)"
            ));
        }
        let Some(name) = super::local::setting_of(area) else {
            continue;
        };
        let old = tx.settings().get(name)?;
        let unchanged = match &old {
            Some(o) => *o == value,
            None => value.is_null(),
        };
        if !unchanged {
            put(name, value)?;
            changes.push(name.to_owned());
        }
    }
    org_values.insert(
        LocalArea::AuditForwarding.as_str().to_owned(),
        p.audit_forwarding
            .clone()
            .unwrap_or(serde_json::Value::Null),
    );
    let org_values = serde_json::Value::Object(org_values);
    if tx
        .settings()
        .get(super::local::SETTING_ORG_VALUES)?
        .as_ref()
        != Some(&org_values)
    {
        put(super::local::SETTING_ORG_VALUES, org_values)?;
    }
    if local.areas.contains(&LocalArea::AuditForwarding)
        && !allowed.contains(&LocalArea::AuditForwarding)
    {
        // Applied by `apply_forwarding` after this transaction.
        local.areas.remove(&LocalArea::AuditForwarding);
    }
    if local != local_before {
        put(
            super::local::SETTING_LOCAL_OVERRIDES,
            serde_json::to_value(&local).unwrap_or_default(),
        )?;
    }
    if before.is_none() && changes.is_empty() {
        changes.push("nothing".into());
    }
    Ok(changes)
}

/// The vault listing of a credential from the profile: the profile's signature vouches for it;
/// its subject must be the organization.
fn listing_of(raw: &str, org_did: &str, now: i64) -> Result<NewCredential> {
    let c = Credential::parse(raw)
        .map_err(|e| ProfileError::Refused(format!("a credential in it is unreadable: {e}")))?;
    let n = crate::credentials::normalized_of(&c)
        .ok_or_else(|| ProfileError::Refused("a credential in it is unreadable".into()))?;
    let issuer = n
        .get("issuer")
        .and_then(|v| v.as_str().or_else(|| v.get("id").and_then(|i| i.as_str())))
        .unwrap_or_default()
        .to_owned();
    if !normalize::subject_ids(&n).iter().any(|s| s == org_did) {
        return Err(ProfileError::Refused(
            "a credential in it is not about the organization".into(),
        ));
    }
    let info = vc::validity_info(&n, now);
    Ok(NewCredential {
        listing: CredentialListing {
            types: normalize::types(&n),
            format: c.format().to_owned(),
            issuer,
            subject: Some(org_did.to_owned()),
            valid_from_ms: info.valid_from.map(|s| s * 1000),
            valid_until_ms: info.valid_until.map(|s| s * 1000),
        },
        raw: SecretString::from(raw.trim().to_owned()),
    })
}

/// How often a running wallet (the app, `serve`) refreshes its profile.
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Refreshes the profile now and then every [`REFRESH_EVERY`], whenever `vault` gives an
/// unlocked, enrolled vault. Problems are recorded by [`refresh`] and logged; the loop goes on.
/// Hosts spawn this at start with their runtime's sleep (the core has no timer of its own);
/// the app also calls [`refresh`] right after an unlock.
pub async fn keep_fresh<F, Fut>(vault: Arc<dyn crate::runtime::VaultAccess>, net: Network, sleep: F)
where
    F: Fn(std::time::Duration) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        if let Ok(v) = vault.vault() {
            if !v.is_locked() && matches!(profile_state(&v), Ok(Some(_))) {
                match refresh(&v, &net).await {
                    Ok(RefreshOutcome::Applied { from, to, .. }) => {
                        tracing::info!(from, to, "organization profile applied")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(code = e.code(), "organization profile refresh: {e}"),
                }
            }
        }
        sleep(REFRESH_EVERY).await;
    }
}
