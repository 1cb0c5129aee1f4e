//! Commands of the Organization, Credentials and Employees screens. Administrator actions go
//! through the live administrator session; the core checks it again on every call.

use std::path::PathBuf;

use tauri::State;
use wallet_core::{credentials, org, profile, roster};

use super::codes::ErrorCode;
use super::dto::IpcError;
use super::identity_dto::{
    ApproverChoice, ApproverView, CredentialDetailView, CredentialRow, EmployeeInput, EmployeeRow,
    LiveCheckView, LocalAreaView, OrgInitInput, OrgView, ProfilePublishView, ProfileRefreshView,
    ProfileView, PublishView, X509Input, X509Preview,
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
pub async fn org_info(state: State<'_, AppState>) -> Result<Option<OrgView>> {
    let vault = state.session.vault()?;
    Ok(org::organization(&vault)?.map(Into::into))
}

/// Runs blocking work (PKCS#11 calls can take seconds, e.g. a module re-initialisation after
/// the HSM came back) off the window's thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError {
            code: ErrorCode::Internal,
            message: e.to_string(),
        })?
}

/// Set up the organization: signing key (in the vault, or in an HSM named by `keyUri`) and
/// did:web (administrator). For an HSM key the PIN is given first with `org_provide_pin`.
#[tauri::command]
pub async fn org_init<R: tauri::Runtime>(
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
    let location = org::NewKeyLocation::parse(input.key_uri.as_deref())?;
    let session = state.session.clone();
    let info = blocking(move || {
        session
            .with_admin("setting up the organization", |v, a| {
                org::init_organization_with_key(v, a, setup, location)
            })
            .map_err(IpcError::from)
    })
    .await?;
    crate::services::ensure_api(&app);
    Ok(info.into())
}

/// A PIN or secret as typed in the window: wiped from memory when dropped, never printed.
pub(crate) struct TypedSecret(pub(crate) String);

impl Drop for TypedSecret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
    }
}

/// The PKCS#11 URIs the PIN is for: `key_uri` when given (a key about to be made; only the
/// administrator may name one, since remembering the PIN loads the URI's module), otherwise
/// one per token among the organization's HSM keys.
fn pin_targets(state: &AppState, key_uri: Option<&str>) -> Result<Vec<org::Pkcs11Uri>> {
    if let Some(raw) = key_uri.map(str::trim).filter(|u| !u.is_empty()) {
        state.session.admin("naming a security module")?;
        return match org::NewKeyLocation::parse(Some(raw))? {
            org::NewKeyLocation::Pkcs11(uri) => Ok(vec![uri]),
            org::NewKeyLocation::Vault => Err(invalid("give a PKCS#11 URI (pkcs11:...)")),
        };
    }
    let info = org::require_organization(&state.session.vault()?)?;
    let uris = org_hsm_uris(&info);
    if uris.is_empty() {
        return Err(invalid("the organization key is not in a security module"));
    }
    Ok(uris)
}

/// One URI per token (module and label) among the organization's HSM keys: a PIN opens a
/// token, not a key.
fn org_hsm_uris(info: &org::OrgInfo) -> Vec<org::Pkcs11Uri> {
    let stored = info
        .key_uri
        .iter()
        .chain(info.other_keys.iter().filter_map(|k| k.key_uri.as_ref()));
    let mut out: Vec<org::Pkcs11Uri> = Vec::new();
    for uri in stored.filter_map(|u| u.parse::<org::Pkcs11Uri>().ok()) {
        if !out
            .iter()
            .any(|o| o.token() == uri.token() && o.module_path() == uri.module_path())
        {
            out.push(uri);
        }
    }
    out
}

fn invalid(message: &str) -> IpcError {
    IpcError {
        code: ErrorCode::InvalidInput,
        message: message.into(),
    }
}

/// The security module's PIN, typed in the window: kept in memory for this run of the app
/// (never stored by the app, never logged); with `remember`, also stored in this computer's
/// OS keyring after checking that it opens the token.
#[tauri::command]
pub async fn org_provide_pin(
    state: State<'_, AppState>,
    key_uri: Option<String>,
    pin: String,
    remember: bool,
) -> Result<()> {
    let pin = TypedSecret(pin);
    if pin.0.is_empty() {
        return Err(invalid("type the PIN of the security module"));
    }
    let uris = pin_targets(&state, key_uri.as_deref())?;
    blocking(move || {
        for uri in &uris {
            if remember {
                org::remember_pin_in_keyring(uri, &pin.0)?;
            }
            org::provide_pin(uri, &pin.0);
        }
        Ok(())
    })
    .await
}

/// Whether the organization key can sign now (for an HSM key: the token answers and holds
/// the key; a token that came back is reconnected here). Succeeds at once for a vault key.
#[tauri::command]
pub async fn org_key_check(state: State<'_, AppState>) -> Result<()> {
    let info = org::require_organization(&state.session.vault()?)?;
    blocking(move || check_hsm(&info)).await
}

/// Probes the active HSM key, so that its problems come back as typed PKCS#11 errors.
fn check_hsm(info: &org::OrgInfo) -> Result<()> {
    if info.key_store != org::KeyStoreKind::Pkcs11 {
        return Ok(());
    }
    let uri: org::Pkcs11Uri = info
        .key_uri
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(org::IdentityError::Hsm)?;
    Ok(org::check_hsm_key(&uri)?)
}

/// Make the next organization key (administrator): where the active key is (for an HSM, the
/// same token), or at `keyUri`. Publish and upload before activating it.
#[tauri::command]
pub async fn org_key_rotate(
    state: State<'_, AppState>,
    key_uri: Option<String>,
) -> Result<OrgView> {
    let location = match key_uri.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => Some(org::NewKeyLocation::parse(Some(u))?),
    };
    let session = state.session.clone();
    let info = blocking(move || {
        session
            .with_admin("making a new organization key", |v, a| {
                org::rotate_key(v, a, location)
            })
            .map_err(IpcError::from)
    })
    .await?;
    Ok(info.into())
}

/// Start signing with the next key (administrator); refused with `key_not_published` until
/// the web server's did.json and entity statement list it.
#[tauri::command]
pub async fn org_key_activate(state: State<'_, AppState>) -> Result<OrgView> {
    let (vault, admin) = state.session.admin("starting to use the new key")?;
    let net = state.wallet()?.network();
    Ok(org::activate_key(&vault, &admin, net).await?.into())
}

/// Drop the previous key from the next publication (administrator).
#[tauri::command]
pub fn org_key_retire(state: State<'_, AppState>) -> Result<OrgView> {
    let info = state
        .session
        .with_admin("removing the old key", org::retire_key)?;
    Ok(info.into())
}

/// What the organization's web server serves now, key by key.
#[tauri::command]
pub async fn org_verify_live(state: State<'_, AppState>) -> Result<LiveCheckView> {
    let vault = state.session.vault()?;
    let net = state.wallet()?.network();
    Ok(org::verify_live(&vault, net).await?.into())
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

/// Write the publication bundle into `out_dir` (administrator). An HSM key is probed first so
/// that an unreachable token or a missing PIN comes back as its own error.
#[tauri::command]
pub async fn org_publish(state: State<'_, AppState>, out_dir: String) -> Result<PublishView> {
    let out = PathBuf::from(out_dir.trim());
    if !out.is_absolute() {
        return Err(invalid("choose an absolute folder path"));
    }
    let session = state.session.clone();
    let report = blocking(move || {
        let (vault, admin) = session.admin("publishing")?;
        check_hsm(&org::require_organization(&vault)?)?;
        Ok(org::publish(
            &vault,
            &admin,
            &out,
            &wallet_protocol::clock::SystemClock,
        )?)
    })
    .await?;
    Ok(report.into())
}

/// Stored credentials with their warnings.
#[tauri::command]
pub async fn credentials_list(state: State<'_, AppState>) -> Result<Vec<CredentialRow>> {
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

/// The X509Credential the organization's UZI server certificate would give (administrator):
/// the chain's CAs to choose from and, for `ca` (default: the issuing CA), the claims. The
/// file and password are only read; nothing is stored.
#[tauri::command]
pub fn credential_x509_preview(
    state: State<'_, AppState>,
    input: X509Input,
    ca: Option<String>,
) -> Result<X509Preview> {
    let (vault, _admin) = state.session.admin("issuing credentials")?;
    let source = input.into_source()?;
    let authorities = credentials::x509_authorities(&source)?;
    let ca = match ca {
        Some(ca) => ca,
        None => authorities.first().cloned().ok_or_else(|| IpcError {
            code: ErrorCode::BrokenChain,
            message: "the certificate is self-signed: it has no CA".into(),
        })?,
    };
    let issued = credentials::prepare_x509_credential(&vault, &source, &ca, now())?;
    let view = credentials::X509CredentialView::from(&issued);
    Ok(X509Preview {
        authorities,
        ca: view.ca,
        ura: view.ura,
        organization: view.organization,
        locality: view.locality,
        issuer: view.issuer,
        valid_from: view.valid_from,
        valid_until: view.valid_until,
    })
}

/// Issue and store the organization's X509Credential from its UZI server certificate, with
/// `ca` in the did:x509 issuer (administrator). The certificate's key signs once and is
/// dropped.
#[tauri::command]
pub async fn credential_x509_issue(
    state: State<'_, AppState>,
    input: X509Input,
    ca: String,
) -> Result<CredentialRow> {
    let (vault, admin) = state.session.admin("issuing credentials")?;
    let env = state.verify_env()?;
    let source = input.into_source()?;
    let issued = credentials::issue_x509_credential(&vault, &admin, &source, &ca, &env).await?;
    Ok(issued.imported.into())
}

/// The issuers the administrator trusts (DIDs).
#[tauri::command]
pub async fn trusted_issuers_list(state: State<'_, AppState>) -> Result<Vec<String>> {
    let vault = state.session.vault()?;
    Ok(credentials::trusted_issuers(&vault)?)
}

/// Trust (or stop trusting) an issuer (administrator); returns the new list.
#[tauri::command]
pub fn issuer_trust(state: State<'_, AppState>, did: String, trusted: bool) -> Result<Vec<String>> {
    Ok(state
        .session
        .with_admin("changing the trusted issuers", |v, a| {
            credentials::set_issuer_trust(v, a, &did, trusted)
        })?)
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
pub async fn employees_list(state: State<'_, AppState>) -> Result<Vec<EmployeeRow>> {
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
    let os_account = input
        .os_account
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    tauri::async_runtime::spawn_blocking(move || {
        session
            .with_admin("changing the roster", |v, a| {
                // Checked first, so a bad account name adds nobody.
                if let Some(acc) = &os_account {
                    roster::check_os_account(acc)?;
                }
                let e = roster::add_employee(v, a, entry)?;
                match &os_account {
                    Some(acc) => roster::set_os_account(v, a, &e.id, Some(acc)),
                    None => Ok(e),
                }
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

/// Link an employee to the login name of their computer account, or unlink with null
/// (administrator). Two employees cannot share one account.
#[tauri::command]
pub fn employee_set_os_account(
    state: State<'_, AppState>,
    id: String,
    os_account: Option<String>,
) -> Result<EmployeeRow> {
    let account = os_account
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty());
    let row = state.session.with_admin("changing the roster", |v, a| {
        roster::set_os_account(v, a, &id, account.as_deref())
    })?;
    Ok(row.into())
}

/// Who approves on this computer, and this computer's account name.
#[tauri::command]
pub async fn approver_choice(state: State<'_, AppState>) -> Result<ApproverView> {
    approver_view(&state)
}

fn approver_view(state: &AppState) -> Result<ApproverView> {
    let vault = state.session.vault()?;
    Ok(ApproverView {
        choice: roster::employee_selection(&vault)?.into(),
        this_account: roster::current_os_account(),
    })
}

/// Set who approves on this computer (administrator).
#[tauri::command]
pub fn set_approver_choice(
    state: State<'_, AppState>,
    choice: ApproverChoice,
) -> Result<ApproverView> {
    state.session.with_admin("choosing who approves", |v, a| {
        roster::set_employee_selection(v, a, choice.into())
    })?;
    approver_view(&state)
}

/// The organization profile in force, or null on a wallet that is not managed.
#[tauri::command]
pub async fn profile_status(state: State<'_, AppState>) -> Result<Option<ProfileView>> {
    let vault = state.session.vault()?;
    profile_view(&vault)
}

/// The profile in force as the screens show it.
pub(crate) fn profile_view(vault: &wallet_vault::Vault) -> Result<Option<ProfileView>> {
    let subject = org::organization(vault).ok().flatten().map(|o| o.subject);
    let local = profile::local_status(vault)?;
    Ok(
        profile::profile_state(vault)?
            .map(|s| ProfileView::of(s, subject, now()).with_local(local)),
    )
}

/// Returns something this workstation changed itself to the organization's setting
/// (workstation administrator; nothing is fetched).
#[tauri::command]
pub async fn profile_revert(
    state: State<'_, AppState>,
    area: LocalAreaView,
) -> Result<ProfileView> {
    let session = state.session.clone();
    blocking(move || {
        let (vault, admin) = session.admin("returning to the organization's setting")?;
        profile::use_organization_setting(&vault, &admin, area.into())?;
        profile_view(&vault)?
            .ok_or_else(|| invalid("this wallet is not enrolled in an organization profile"))
    })
    .await
}

/// What published profiles let workstations change themselves (the administrator's wallet).
#[tauri::command]
pub async fn profile_local_changes(state: State<'_, AppState>) -> Result<Vec<LocalAreaView>> {
    let vault = state.session.vault()?;
    Ok(LocalAreaView::list(&profile::published_local_changes(
        &vault,
    )?))
}

/// "Check for new settings now": fetch the profile from where this workstation enrolled and
/// apply it when newer (anyone at the window may ask; what applies is the organization's).
#[tauri::command]
pub async fn profile_refresh(state: State<'_, AppState>) -> Result<ProfileRefreshView> {
    let vault = state.session.vault()?;
    let net = state.wallet()?.network().clone();
    let out = profile::refresh(&vault, &net).await?;
    let view = profile_view(&vault)?
        .ok_or_else(|| invalid("this wallet is not enrolled in an organization profile"))?;
    Ok(ProfileRefreshView::of(out, view))
}

/// Publish the organization profile for the workstations to `out` (administrator), letting
/// them change `local_changes` themselves: a file on an internal share or intranet server,
/// never next to the public bundle. The HSM key is
/// probed first, so a missing PIN comes back as its own error.
#[tauri::command]
pub async fn profile_publish(
    state: State<'_, AppState>,
    out: String,
    valid_days: u32,
    local_changes: Vec<LocalAreaView>,
) -> Result<ProfilePublishView> {
    let out = PathBuf::from(out.trim());
    if !out.is_absolute() {
        return Err(invalid("choose an absolute file path"));
    }
    let session = state.session.clone();
    blocking(move || {
        let (vault, admin) = session.admin("publishing the organization profile")?;
        if let Some(info) = org::organization(&vault)? {
            check_hsm(&info)?;
        }
        let areas: Vec<profile::LocalArea> = local_changes.into_iter().map(Into::into).collect();
        Ok(profile::publish_profile_allowing(
            &vault,
            &admin,
            &out,
            Some(valid_days),
            &areas,
            &wallet_protocol::clock::SystemClock,
        )?
        .into())
    })
    .await
}

/// The enrollment secret to hand to the workstations (administrator; made on first use).
#[tauri::command]
pub fn profile_enrollment_secret(state: State<'_, AppState>) -> Result<String> {
    let (vault, admin) = state.session.admin("reading the enrollment secret")?;
    let (secret, _) = profile::enrollment_secret(&vault, &admin)?;
    Ok(secret.expose().as_str().to_owned())
}

/// Minutes an issued employee credential stays valid.
#[tauri::command]
pub async fn employee_validity(state: State<'_, AppState>) -> Result<i64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_asked_once_per_token() {
        let module = "?module-path=/usr/lib/x.so";
        let info: org::OrgInfo = serde_json::from_value(serde_json::json!({
            "subject": "acme", "base_url": "https://zorg.example",
            "did": "did:web:zorg.example:iam:1", "client_id": "c", "kid": "k", "key_id": "",
            "key_store": "pkcs11", "key_uri": format!("pkcs11:token=A;object=org{module}"),
            "other_keys": [
                {"role": "next", "kid": "k2", "thumbprint": "t", "public_jwk": {},
                 "key_store": "pkcs11", "key_uri": format!("pkcs11:token=A;object=org-2{module}"),
                 "added_at_ms": 1},
                {"role": "previous", "kid": "k3", "thumbprint": "t", "public_jwk": {},
                 "key_store": "pkcs11", "key_uri": format!("pkcs11:token=B;object=org{module}"),
                 "added_at_ms": 1},
            ],
            "key_thumbprint": "t", "public_jwk": {}, "did_document_url": "u",
            "created_at_ms": 1, "key_changed_at_ms": 1, "published_at_ms": null,
        }))
        .unwrap();
        let tokens: Vec<String> = org_hsm_uris(&info)
            .iter()
            .map(|u| u.token().to_owned())
            .collect();
        assert_eq!(tokens, ["A", "B"]);
        let mut vault_org = info.clone();
        vault_org.key_store = org::KeyStoreKind::Vault;
        vault_org.key_uri = None;
        vault_org.other_keys.clear();
        assert!(org_hsm_uris(&vault_org).is_empty());
        assert!(check_hsm(&vault_org).is_ok(), "a vault key needs no probe");
    }
}
