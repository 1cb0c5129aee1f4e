//! What a managed workstation may change itself. The profile lists the areas
//! ([`LocalArea`]); everything else it sets is locked. A local change of an allowed area
//! stands: later profile versions leave it alone until the workstation's administrator returns
//! to the organization's setting ([`use_organization_setting`]) or a profile stops allowing
//! the area (then the organization's setting applies again, recorded). Local roster entries
//! are the workstation's; the profile's entries stay as published.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wallet_vault::{Actor, AdminSession, NewActivity, Vault, VaultTx};

use super::apply::profile_state;
use super::model::LocalArea;
use super::{ProfileError, Result};
use crate::org::IdentityError;

/// Vault setting: areas changed locally and local roster entries ([`LocalOverrides`]).
pub const SETTING_LOCAL_OVERRIDES: &str = "managed_local_overrides";
/// Vault setting: the organization's value of each area, as the profile in force sets it
/// (to return to without fetching anything).
pub const SETTING_ORG_VALUES: &str = "managed_org_values";

/// What this workstation changed itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LocalOverrides {
    /// Areas whose local value stands over the profile's.
    #[serde(default)]
    pub areas: BTreeSet<LocalArea>,
    /// Identifiers of roster entries added on this workstation.
    #[serde(default)]
    pub employees: BTreeSet<String>,
}

/// Where a managed workstation stands on local changes (`profile show`, the app's screens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalStatus {
    /// The organization (its client id), for "managed by ...".
    pub organization: String,
    /// What the profile in force lets this workstation change.
    pub allowed: Vec<LocalArea>,
    /// Allowed areas this workstation changed: its own value stands.
    pub changed: Vec<LocalArea>,
    /// Identifiers of roster entries added on this workstation.
    pub local_employees: Vec<String>,
}

fn read_overrides(get: Option<Value>) -> LocalOverrides {
    get.and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

/// The overrides as this workstation keeps them.
pub(super) fn overrides(vault: &Vault) -> Result<LocalOverrides> {
    Ok(read_overrides(
        vault.settings().get(SETTING_LOCAL_OVERRIDES)?,
    ))
}

fn write_overrides(
    vault: &Vault,
    admin: &AdminSession,
    before: &LocalOverrides,
    after: &LocalOverrides,
) -> Result<()> {
    if before != after {
        vault.settings().put(
            admin,
            SETTING_LOCAL_OVERRIDES,
            &serde_json::to_value(after).unwrap_or_default(),
        )?;
    }
    Ok(())
}

/// Local changes on this workstation, or `None` when it is not managed.
pub fn local_status(vault: &Vault) -> Result<Option<LocalStatus>> {
    let Some(state) = profile_state(vault)? else {
        return Ok(None);
    };
    let o = overrides(vault)?;
    let allowed: Vec<LocalArea> = LocalArea::ALL
        .into_iter()
        .filter(|a| state.local_changes.contains(a))
        .collect();
    Ok(Some(LocalStatus {
        organization: state.organization,
        changed: o
            .areas
            .iter()
            .copied()
            .filter(|a| allowed.contains(a))
            .collect(),
        allowed,
        local_employees: o.employees.into_iter().collect(),
    }))
}

/// Whether `area` may be changed here: `Ok(false)` on a wallet that is not managed, `Ok(true)`
/// on a managed one whose profile allows it (the caller then [`note_change`]s it), refused
/// otherwise.
pub(crate) fn guard_area(
    vault: &Vault,
    area: LocalArea,
) -> std::result::Result<bool, IdentityError> {
    match profile_state(vault) {
        Ok(None) => Ok(false),
        Ok(Some(s)) if s.local_changes.contains(&area) => Ok(true),
        Ok(Some(s)) => Err(IdentityError::Managed(s.organization)),
        Err(ProfileError::Vault(v)) => Err(v.into()),
        Err(e) => Err(IdentityError::Protocol(e.to_string())),
    }
}

/// Records a change of `area` on this managed workstation: while its value differs from the
/// organization's, refreshes keep it; a change back to the organization's value follows the
/// profile again (touching a setting without changing it does not cut it off from the
/// organization's updates).
pub(crate) fn note_change(
    vault: &Vault,
    admin: &AdminSession,
    area: LocalArea,
) -> std::result::Result<(), IdentityError> {
    let run = || -> Result<()> {
        let current = current_value(vault, area)?;
        let org = org_values(vault)?.get(&area).cloned();
        let before = overrides(vault)?;
        let mut after = before.clone();
        if org.as_ref() == Some(&current) {
            after.areas.remove(&area);
        } else {
            after.areas.insert(area);
        }
        write_overrides(vault, admin, &before, &after)
    };
    run().map_err(to_identity)
}

/// The value of `area` in force on this workstation, as the profile would set it (null for
/// forwarding off).
fn current_value(vault: &Vault, area: LocalArea) -> Result<Value> {
    if area == LocalArea::AuditForwarding {
        return Ok(vault.audit_outbox().config()?.unwrap_or(Value::Null));
    }
    Ok(match setting_of(area) {
        Some(name) => vault.settings().get(name)?.unwrap_or(Value::Null),
        None => Value::Null,
    })
}

fn org_values(vault: &Vault) -> Result<BTreeMap<LocalArea, Value>> {
    Ok(vault
        .settings()
        .get(SETTING_ORG_VALUES)?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// Whether the roster entry `identifier` may be changed here: always on a wallet that is not
/// managed; on a managed one only a local entry, and only while the profile allows local
/// entries.
pub(crate) fn guard_employee(
    vault: &Vault,
    identifier: &str,
) -> std::result::Result<(), IdentityError> {
    let Some(state) = profile_state(vault).map_err(to_identity)? else {
        return Ok(());
    };
    let local = state.local_changes.contains(&LocalArea::LocalEmployees)
        && overrides(vault)
            .map_err(to_identity)?
            .employees
            .contains(identifier);
    if local {
        Ok(())
    } else {
        Err(IdentityError::Managed(state.organization))
    }
}

/// Records a roster entry added on this managed workstation.
pub(crate) fn note_employee(
    vault: &Vault,
    admin: &AdminSession,
    identifier: &str,
) -> std::result::Result<(), IdentityError> {
    let run = || -> Result<()> {
        let before = overrides(vault)?;
        let mut after = before.clone();
        after.employees.insert(identifier.to_owned());
        write_overrides(vault, admin, &before, &after)
    };
    run().map_err(to_identity)
}

fn to_identity(e: ProfileError) -> IdentityError {
    match e {
        ProfileError::Vault(v) => v.into(),
        ProfileError::Identity(i) => i,
        other => IdentityError::Protocol(other.to_string()),
    }
}

/// Returns `area` to the organization's setting (the profile in force's value, kept at its
/// last application; nothing is fetched). Administrator action; recorded.
pub fn use_organization_setting(
    vault: &Vault,
    admin: &AdminSession,
    area: LocalArea,
) -> Result<()> {
    let Some(state) = profile_state(vault)? else {
        return Err(ProfileError::InvalidInput(
            "this wallet is not enrolled in an organization profile".into(),
        ));
    };
    if area == LocalArea::LocalEmployees || area == LocalArea::Unknown {
        return Err(ProfileError::InvalidInput(format!(
            "{area} has no organization setting to return to; deactivate local employees one by one"
        )));
    }
    let before = overrides(vault)?;
    if !before.areas.contains(&area) {
        return Err(ProfileError::InvalidInput(format!(
            "{area} already follows {}'s profile",
            state.organization
        )));
    }
    let Some(value) = org_values(vault)?.get(&area).cloned() else {
        return Err(ProfileError::InvalidInput(format!(
            "the organization's setting for {area} is not known yet; refresh the profile first"
        )));
    };
    let mut after = before.clone();
    after.areas.remove(&area);
    // Forwarding is configured through the outbox (its own transaction), first: the area is
    // marked as the organization's only once that worked.
    if area == LocalArea::AuditForwarding {
        super::apply::set_forwarding_value(vault, admin, &value)?;
    }
    vault.with_tx(|tx| {
        if let Some(name) = setting_of(area) {
            tx.settings().put(admin, name, &value)?;
        }
        tx.settings().put(
            admin,
            SETTING_LOCAL_OVERRIDES,
            &serde_json::to_value(&after).unwrap_or_default(),
        )?;
        tx.record(
            NewActivity::new(Actor::Admin, "profile.local.revert", &state.org_did)
                .detail(json!({ "area": area.as_str() })),
        )?;
        Ok(())
    })?;
    Ok(())
}

/// The vault setting an area is stored in (audit forwarding and local employees have none).
pub(crate) fn setting_of(area: LocalArea) -> Option<&'static str> {
    Some(match area {
        LocalArea::AccessPolicy => crate::access_policy::SETTING_POLICY,
        LocalArea::TrustedIssuers => crate::credentials::SETTING_TRUSTED_ISSUERS,
        LocalArea::EmployeeSelection => super::SETTING_EMPLOYEE_SELECTION,
        LocalArea::EmployeeValidity => crate::roster::SETTING_EMPLOYEE_VALIDITY,
        LocalArea::AuditForwarding | LocalArea::LocalEmployees | LocalArea::Unknown => return None,
    })
}

/// The overrides as seen inside a transaction (the profile's application).
pub(crate) fn overrides_in(tx: &VaultTx<'_>) -> wallet_vault::Result<LocalOverrides> {
    Ok(read_overrides(tx.settings().get(SETTING_LOCAL_OVERRIDES)?))
}
