//! Tauri commands: thin adapters (read state or call the core, map to DTOs and errors).

use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use wallet_core::profile::{self, EnrollmentSecret, ManagedInstall, ProfileSource};
use wallet_core::session::{ActivityQuery as CoreQuery, SetupProtection, VaultState};
use wallet_protocol::did::Did;
use wallet_vault::Passphrase;

use super::codes::ErrorCode;
use super::dto::{
    ActivityCheck, ActivityExportInput, ActivityExportView, ActivityItem, ActivityQuery,
    AdminLoginInput, AdminPassphraseInput, AdminView, AppInfo, BackupInput, BackupView,
    IncomingRequest, IpcError, RestoreInput, SetupInput, StatusChecks, UnlockInput, VaultView,
};
use super::identity::TypedSecret;
use super::identity_dto::{EnrollInput, ManagedSetupView};
use crate::state::{AppState, ManagedSetup};

/// Name of the event sent when the vault locks by itself (idle) or on request.
pub const VAULT_LOCKED_EVENT: &str = "vault-locked";

type Result<T> = std::result::Result<T, IpcError>;

/// Version, data directory, log folder and development mode.
#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.app_info()
}

/// The links received so far in this run, oldest first (the UI may start after the first one).
#[tauri::command]
pub fn incoming_requests(state: State<'_, AppState>) -> Vec<IncomingRequest> {
    state.incoming()
}

/// Whether the vault exists and is locked or unlocked.
#[tauri::command]
pub async fn vault_status(state: State<'_, AppState>) -> Result<VaultView> {
    Ok(state.session.status()?.into())
}

/// Runs slow work (Argon2id, D-Bus calls that may wait for an OS keyring prompt) off the
/// main thread, so the window stays responsive.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| IpcError {
            code: ErrorCode::Internal,
            message: format!("background task failed: {e}"),
        })?
}

/// Whether the OS keyring can hold the vault key (asked once, by the setup screen).
#[tauri::command]
pub async fn keyring_available() -> Result<bool> {
    blocking(|| {
        Ok(matches!(
            wallet_core::doctor::check_keyring("nuts-wallet-setup-probe"),
            wallet_core::doctor::Check::Ok(_)
        ))
    })
    .await
}

/// The protection chosen on the first-run screen.
fn setup_protection(use_keyring: bool, passphrase: Option<String>) -> Result<SetupProtection> {
    match (use_keyring, passphrase) {
        (true, _) => Ok(SetupProtection::Keyring),
        (false, Some(p)) => Ok(SetupProtection::Passphrase(Passphrase::new(p))),
        (false, None) => Err(IpcError {
            code: ErrorCode::InvalidInput,
            message: "a vault passphrase is required when the OS keyring is not used".into(),
        }),
    }
}

/// First-run setup: create the vault and set the administrator passphrase.
#[tauri::command]
pub async fn vault_setup(state: State<'_, AppState>, input: SetupInput) -> Result<VaultView> {
    let protection = setup_protection(input.use_keyring, input.passphrase)?;
    let admin = Passphrase::new(input.admin_passphrase);
    let session = state.session.clone();
    blocking(move || {
        let view = session.setup(protection, admin)?;
        // The loopback API's key exists from the start (shown to the administrator).
        wallet_api::api_key::ensure(&session.vault()?)?;
        Ok(view.into())
    })
    .await
}

/// First run from a backup the administrator picked: written to a private temporary file,
/// restored into the data folder (nothing is left there when it fails), then removed.
#[tauri::command]
pub async fn vault_restore<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    input: RestoreInput,
) -> Result<VaultView> {
    let protection = setup_protection(input.use_keyring, input.passphrase)?;
    let encoded = zeroize::Zeroizing::new(input.backup_base64);
    let bytes = zeroize::Zeroizing::new(
        wallet_protocol::jose::b64_lenient(encoded.trim()).ok_or_else(|| IpcError {
            code: ErrorCode::InvalidInput,
            message: "the backup file could not be read".into(),
        })?,
    );
    let backup_pass = Passphrase::new(input.backup_passphrase);
    let admin = Passphrase::new(input.admin_passphrase);
    let session = state.session.clone();
    let view = blocking(move || {
        let tmp = std::env::temp_dir().join(format!(
            "nuts-wallet-restore-{}.nwbackup",
            wallet_protocol::random::random_token()
        ));
        let written = wallet_protocol::private_file::create_owner_only(&tmp).and_then(|mut f| {
            use std::io::Write as _;
            f.write_all(&bytes)
        });
        written.map_err(|e| IpcError {
            code: ErrorCode::Io,
            message: format!("cannot write a temporary copy of the backup: {e}"),
        })?;
        let result = session.restore(&tmp, &backup_pass, protection, admin);
        let _ = std::fs::remove_file(&tmp);
        Ok(result?.into())
    })
    .await?;
    crate::services::ensure_api(&app);
    Ok(view)
}

/// Profile location, organization DID and enrollment secret as typed or read from the
/// managed-install file.
fn enrollment_inputs(
    profile: &str,
    org_did: &str,
    secret: &str,
) -> Result<(ProfileSource, Did, EnrollmentSecret)> {
    let source = ProfileSource::parse(profile)?;
    let did = Did::parse(org_did.trim()).map_err(|e| IpcError {
        code: ErrorCode::InvalidInput,
        message: format!("the organization's DID is not valid: {e}"),
    })?;
    Ok((source, did, EnrollmentSecret::parse(secret)?))
}

/// Enrolls this workstation (the core fetches, decrypts and verifies the profile before
/// anything is made), then gives it the loopback API's key and starts the API.
async fn enroll_workstation<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    inputs: (ProfileSource, Did, EnrollmentSecret),
    protection: SetupProtection,
    admin: Passphrase,
) -> Result<VaultView> {
    let (source, did, secret) = inputs;
    let net = state.wallet()?.network().clone();
    let status = state
        .session
        .enroll(source, did, secret, protection, admin, &net)
        .await?;
    wallet_api::api_key::ensure(&state.session.vault()?)?;
    crate::services::ensure_api(app);
    Ok(status.into())
}

/// First-run "Join your organization": a workstation wallet made from the organization's
/// profile. The secret is used for this call only (the vault keeps it sealed for refreshes).
#[tauri::command]
pub async fn vault_enroll<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    input: EnrollInput,
) -> Result<VaultView> {
    let secret = TypedSecret(input.secret);
    let inputs = enrollment_inputs(&input.profile, &input.org_did, &secret.0)?;
    let protection = setup_protection(input.use_keyring, input.passphrase)?;
    let admin = Passphrase::new(input.admin_passphrase);
    let view = enroll_workstation(&app, &state, inputs, protection, admin).await?;
    tracing::info!("workstation enrolled in the organization profile");
    Ok(view)
}

/// Where the unattended enrollment of a mass rollout stands.
#[tauri::command]
pub fn managed_setup_status(state: State<'_, AppState>) -> ManagedSetupView {
    managed_setup_view(state.managed_setup())
}

/// The view of the unattended enrollment's state.
pub fn managed_setup_view(s: ManagedSetup) -> ManagedSetupView {
    match s {
        ManagedSetup::None => ManagedSetupView::None,
        ManagedSetup::Running => ManagedSetupView::Running,
        ManagedSetup::Done(organization) => ManagedSetupView::Done { organization },
        ManagedSetup::Failed { code, message } => ManagedSetupView::Failed {
            error: IpcError {
                code: ErrorCode::of(&code),
                message,
            },
        },
    }
}

fn failed(e: IpcError) -> ManagedSetup {
    ManagedSetup::Failed {
        code: serde_json::to_value(e.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "internal".into()),
        message: e.message,
    }
}

/// Mass rollout: with no wallet yet and a managed-install file, enroll without asking
/// anything: keyring protection and a random workstation administrator passphrase that is
/// forgotten (the organization's profile is the authority here). The first-run screen shows
/// the progress, or the problem in plain words.
pub fn start_managed_enrollment<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    if !matches!(state.session.status(), Ok(s) if s.state == VaultState::Uninitialized) {
        return;
    }
    let install = match ManagedInstall::load() {
        Ok(None) => return,
        Ok(Some(m)) => m,
        Err(e) => {
            tracing::warn!(code = e.code(), "managed-install file: {e}");
            state.set_managed_setup(failed(IpcError {
                code: ErrorCode::ProfileInstallFile,
                message: e.to_string(),
            }));
            return;
        }
    };
    state.set_managed_setup(ManagedSetup::Running);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        let secret = TypedSecret(install.enrollment_secret.clone());
        let result = match enrollment_inputs(&install.profile, &install.org_did, &secret.0) {
            Ok(inputs) => {
                let admin = Passphrase::new(wallet_protocol::random::random_token());
                enroll_workstation(&app, &state, inputs, SetupProtection::Keyring, admin).await
            }
            Err(e) => Err(e),
        };
        drop(secret);
        let outcome = match result {
            Ok(_) => {
                let organization = state
                    .session
                    .vault()
                    .ok()
                    .and_then(|v| super::identity::profile_view(&v).ok().flatten())
                    .map(|p| p.organization)
                    .unwrap_or_default();
                tracing::info!("workstation enrolled from the managed-install file");
                ManagedSetup::Done(organization)
            }
            Err(e) => {
                tracing::warn!(code = ?e.code, "enrollment from the managed-install file failed: {}", e.message);
                failed(e)
            }
        };
        state.set_managed_setup(outcome);
    });
}

/// Checks for a newer organization profile in the background (after an unlock): the source
/// may be slow or unreachable, which must not hold up the window.
pub fn refresh_profile_soon(state: &AppState) {
    let Ok(runtime) = state.runtime() else {
        return;
    };
    let net = runtime.network().clone();
    let session = state.session.clone();
    tauri::async_runtime::spawn(async move {
        let Ok(vault) = session.vault() else {
            return;
        };
        if !matches!(profile::profile_state(&vault), Ok(Some(_))) {
            return;
        }
        match profile::refresh(&vault, &net).await {
            Ok(profile::RefreshOutcome::Applied { from, to, .. }) => {
                tracing::info!(from, to, "organization profile applied after unlock")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(code = e.code(), "organization profile refresh: {e}"),
        }
    });
}

/// Unlock with the passphrase, or with the OS keyring when none is given.
#[tauri::command]
pub async fn vault_unlock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    input: UnlockInput,
) -> Result<VaultView> {
    let passphrase = input.passphrase.map(Passphrase::new);
    let session = state.session.clone();
    let view = blocking(move || Ok(session.unlock(passphrase)?.into())).await?;
    crate::services::ensure_api(&app);
    refresh_profile_soon(&state);
    crate::expiry_notice::check(&state);
    Ok(view)
}

/// Lock now.
#[tauri::command]
pub fn vault_lock<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Result<VaultView> {
    state.session.lock();
    state.close_consents();
    let _ = app.emit(VAULT_LOCKED_EVENT, ());
    Ok(state.session.status()?.into())
}

/// The user is active: postpone auto-lock.
#[tauri::command]
pub fn vault_touch(state: State<'_, AppState>) {
    state.session.touch();
}

/// The UI drew its first interactive screen (logged once a run with the time since start).
#[tauri::command]
pub fn ui_ready() {
    crate::startup::ui_ready();
}

/// Activity log entries, newest first.
#[tauri::command]
pub async fn activity_list(
    state: State<'_, AppState>,
    query: ActivityQuery,
) -> Result<Vec<ActivityItem>> {
    let q = CoreQuery {
        action_prefix: query.action_prefix,
        outcome: query.outcome,
        text: query.text,
        limit: query.limit,
    };
    Ok(state
        .session
        .search_activity(&q)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Check the activity log's hash chain.
#[tauri::command]
pub async fn activity_verify(state: State<'_, AppState>) -> Result<ActivityCheck> {
    let r = state.session.verify_activity()?;
    Ok(ActivityCheck {
        entries: r.entries,
        intact: r.first_bad.is_none(),
        first_bad: r
            .first_bad
            .map(|b| format!("entry {}: {}", b.seq, b.problem)),
    })
}

fn admin_view(state: &AppState) -> AdminView {
    let left = state.session.admin_remaining();
    AdminView {
        active: left.is_some(),
        remaining_secs: left.unwrap_or(0),
    }
}

/// Whether an administrator session is live, and for how long.
#[tauri::command]
pub fn admin_status(state: State<'_, AppState>) -> AdminView {
    admin_view(&state)
}

/// Sign in as administrator (administrator passphrase; 15 minutes, ended by locking).
#[tauri::command]
pub async fn admin_login(state: State<'_, AppState>, input: AdminLoginInput) -> Result<AdminView> {
    let session = state.session.clone();
    let passphrase = Passphrase::new(input.passphrase);
    blocking(move || Ok(session.admin_login(&passphrase)?)).await?;
    Ok(admin_view(&state))
}

/// End the administrator session.
#[tauri::command]
pub fn admin_logout(state: State<'_, AppState>) -> AdminView {
    state.session.admin_logout();
    admin_view(&state)
}

/// Set the idle minutes before auto-lock (administrator).
#[tauri::command]
pub fn set_auto_lock(state: State<'_, AppState>, minutes: u64) -> Result<VaultView> {
    if !(1..=1440).contains(&minutes) {
        return Err(IpcError {
            code: ErrorCode::InvalidInput,
            message: "auto-lock must be between 1 and 1440 minutes".into(),
        });
    }
    Ok(state.session.set_auto_lock_secs(minutes * 60)?.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed unattended enrollment keeps its code for the first-run screen's plain words.
    #[test]
    fn a_failed_managed_enrollment_keeps_its_code() {
        let e: IpcError = wallet_core::profile::ProfileError::Undecryptable("x".into()).into();
        let view = managed_setup_view(failed(e));
        match &view {
            ManagedSetupView::Failed { error } => {
                assert_eq!(error.code, "profile_undecryptable");
                assert!(
                    error.message.contains("cannot be opened"),
                    "{}",
                    error.message
                );
            }
            other => panic!("{other:?}"),
        }
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["state"], "failed");
        assert_eq!(json["error"]["code"], "profile_undecryptable");
        let file = managed_setup_view(failed(IpcError {
            code: ErrorCode::ProfileInstallFile,
            message: "m".into(),
        }));
        assert!(
            matches!(&file, ManagedSetupView::Failed { error } if error.code == "profile_install_file")
        );
        let done = serde_json::to_value(managed_setup_view(ManagedSetup::Done("zorg".into())));
        assert_eq!(
            done.unwrap(),
            serde_json::json!({"state": "done", "organization": "zorg"})
        );
    }
}

/// Change the administrator passphrase (administrator).
#[tauri::command]
pub async fn admin_passphrase_change(
    state: State<'_, AppState>,
    input: AdminPassphraseInput,
) -> Result<()> {
    let session = state.session.clone();
    let new = Passphrase::new(input.new_passphrase);
    blocking(move || Ok(session.change_admin_passphrase(&new)?)).await
}

/// Write an encrypted backup of the whole vault (administrator); the README asks for one
/// before every upgrade.
#[tauri::command]
pub async fn vault_backup(state: State<'_, AppState>, input: BackupInput) -> Result<BackupView> {
    let session = state.session.clone();
    let path = std::path::PathBuf::from(input.path.trim());
    let pass = Passphrase::new(input.passphrase);
    blocking(move || {
        let info = session.backup(&path, &pass)?;
        Ok(BackupView {
            path: info.path.display().to_string(),
            bytes: info.bytes,
        })
    })
    .await
}

/// The checks of `nuts-wallet doctor` for the Status screen: data folder, OS keyring (a test
/// secret is stored and removed), and the credentials when the vault is open.
#[tauri::command]
pub async fn status_checks(state: State<'_, AppState>) -> Result<StatusChecks> {
    let data_dir = state.data_dir().to_path_buf();
    let vault = state.session.vault().ok().filter(|v| !v.is_locked());
    blocking(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(StatusChecks {
            data_dir: wallet_core::doctor::check_data_dir(&data_dir).into(),
            keyring: wallet_core::doctor::check_keyring("nuts-wallet-doctor").into(),
            credentials: vault
                .as_ref()
                .map(|v| wallet_core::doctor::check_credentials(v, now).into()),
            forwarding: vault
                .as_ref()
                .and_then(wallet_core::doctor::check_forwarding)
                .map(Into::into),
        })
    })
    .await
}

/// Export the activity log for an audit repository (administrator: it holds personal data).
/// Nothing is written when the log's chain does not verify.
#[tauri::command]
pub async fn activity_export(
    state: State<'_, AppState>,
    input: ActivityExportInput,
) -> Result<ActivityExportView> {
    let (vault, _admin) = state.session.admin("exporting the activity log")?;
    let path = std::path::PathBuf::from(input.path.trim());
    blocking(move || {
        let fail = |e: wallet_core::audit_export::ExportError| IpcError {
            code: e.code().into(),
            message: e.to_string(),
        };
        let entries = wallet_core::audit_export::entries(&vault, None).map_err(fail)?;
        let bytes = match input.format.as_str() {
            "csv" => wallet_core::audit_export::csv(&entries).into_bytes(),
            "fhir" => {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let doc = wallet_core::audit_export::fhir::bundle(
                    &entries,
                    &wallet_core::audit_export::fhir_context(&vault, now_ms),
                );
                serde_json::to_vec_pretty(&doc).map_err(|e| IpcError {
                    code: ErrorCode::Internal,
                    message: e.to_string(),
                })?
            }
            other => {
                return Err(IpcError {
                    code: ErrorCode::InvalidInput,
                    message: format!("unknown export format {other:?} (fhir or csv)"),
                })
            }
        };
        wallet_core::audit_export::write_private(&path, &bytes).map_err(|e| IpcError {
            code: ErrorCode::Io,
            message: format!("could not write {}: {e}", path.display()),
        })?;
        Ok(ActivityExportView {
            path: path.display().to_string(),
            entries: entries.len() as u32,
        })
    })
    .await
}
