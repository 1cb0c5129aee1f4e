//! Commands of the Organization, Credentials and Employees screens. Administrator actions go
//! through the live administrator session; the core checks it again on every call.

use std::path::PathBuf;

use tauri::State;
use wallet_core::{credentials, org, roster};

use super::codes::ErrorCode;
use super::dto::IpcError;
use super::identity_dto::{
    CredentialDetailView, CredentialRow, EmployeeInput, EmployeeRow, OrgInitInput, OrgView,
    PublishView,
};
use crate::state::AppState;

type Result<T> = std::result::Result<T, IpcError>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The organization identity, or null before setup.
#[tauri::command]
pub fn org_info(state: State<'_, AppState>) -> Result<Option<OrgView>> {
    let vault = state.session.vault()?;
    Ok(org::organization(&vault)?.map(Into::into))
}

/// Set up the organization: signing key and did:web (administrator).
#[tauri::command]
pub fn org_init<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    input: OrgInitInput,
) -> Result<OrgView> {
    let setup = org::OrgSetup {
        subject: input.subject.trim().to_string(),
        base_url: input.base_url.trim().to_string(),
        did: input
            .did
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty()),
    };
    let info = state
        .session
        .with_admin("setting up the organization", |v, a| {
            org::init_organization(v, a, setup)
        })?;
    crate::services::ensure_api(&app);
    Ok(info.into())
}

/// The default folder for the publication bundle.
#[tauri::command]
pub fn org_default_publish_dir(state: State<'_, AppState>) -> String {
    state
        .session
        .data_dir()
        .join("publication")
        .display()
        .to_string()
}

/// Write the publication bundle into `out_dir` (administrator).
#[tauri::command]
pub fn org_publish(state: State<'_, AppState>, out_dir: String) -> Result<PublishView> {
    let out = PathBuf::from(out_dir.trim());
    if !out.is_absolute() {
        return Err(IpcError {
            code: ErrorCode::InvalidInput,
            message: "choose an absolute folder path".into(),
        });
    }
    let report = state.session.with_admin("publishing", |v, a| {
        org::publish(v, a, &out, &wallet_protocol::clock::SystemClock)
    })?;
    Ok(report.into())
}

/// Stored credentials with their warnings.
#[tauri::command]
pub fn credentials_list(state: State<'_, AppState>) -> Result<Vec<CredentialRow>> {
    let vault = state.session.vault()?;
    Ok(credentials::list_credentials(&vault, now())?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// One credential with decoded claims and its revocation status checked now.
#[tauri::command]
pub async fn credential_detail(
    state: State<'_, AppState>,
    id: String,
) -> Result<CredentialDetailView> {
    let vault = state.session.vault()?;
    let env = state.verify_env()?;
    Ok(credentials::credential_detail(&vault, &id, &env)
        .await?
        .into())
}

/// Import a credential (JWT or JSON-LD text) after verifying it (administrator).
#[tauri::command]
pub async fn credential_import(state: State<'_, AppState>, text: String) -> Result<CredentialRow> {
    let (vault, admin) = state.session.admin("importing credentials")?;
    let env = state.verify_env()?;
    Ok(credentials::import_credential(&vault, &admin, &text, &env)
        .await?
        .into())
}

/// Delete a stored credential (administrator).
#[tauri::command]
pub fn credential_delete(state: State<'_, AppState>, id: String) -> Result<()> {
    state.session.with_admin("deleting credentials", |v, a| {
        credentials::delete_credential(v, a, &id)
    })?;
    Ok(())
}

/// The employee roster.
#[tauri::command]
pub fn employees_list(state: State<'_, AppState>) -> Result<Vec<EmployeeRow>> {
    let vault = state.session.vault()?;
    Ok(roster::list_employees(&vault)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Add an employee (administrator), self-attested by the organization.
#[tauri::command]
pub async fn employee_add(state: State<'_, AppState>, input: EmployeeInput) -> Result<EmployeeRow> {
    let session = state.session.clone();
    let entry = roster::NewRosterEntry {
        identifier: input.identifier,
        name: input.name,
        role: input.role,
    };
    tauri::async_runtime::spawn_blocking(move || {
        session
            .with_admin("changing the roster", |v, a| {
                roster::add_employee(v, a, entry)
            })
            .map(Into::into)
            .map_err(IpcError::from)
    })
    .await
    .map_err(|e| IpcError {
        code: ErrorCode::Internal,
        message: e.to_string(),
    })?
}

/// Deactivate or reactivate an employee (administrator).
#[tauri::command]
pub fn employee_set_active(
    state: State<'_, AppState>,
    id: String,
    active: bool,
) -> Result<EmployeeRow> {
    let row = state.session.with_admin("changing the roster", |v, a| {
        if active {
            roster::reactivate_employee(v, a, &id)
        } else {
            roster::deactivate_employee(v, a, &id)
        }
    })?;
    Ok(row.into())
}

/// Change an employee's name and role (administrator).
#[tauri::command]
pub fn employee_update(
    state: State<'_, AppState>,
    id: String,
    name: String,
    role: String,
) -> Result<EmployeeRow> {
    let row = state.session.with_admin("changing the roster", |v, a| {
        roster::update_employee(v, a, &id, Some(&name), Some(&role))
    })?;
    Ok(row.into())
}

/// Minutes an issued employee credential stays valid.
#[tauri::command]
pub fn employee_validity(state: State<'_, AppState>) -> Result<i64> {
    let vault = state.session.vault()?;
    Ok(roster::credential_validity(&vault)? / 60)
}

/// Set how many minutes an issued employee credential stays valid (administrator).
#[tauri::command]
pub fn set_employee_validity(state: State<'_, AppState>, minutes: i64) -> Result<i64> {
    state
        .session
        .with_admin("changing the credential validity", |v, a| {
            roster::set_credential_validity(v, a, minutes.saturating_mul(60))
        })?;
    Ok(minutes)
}
