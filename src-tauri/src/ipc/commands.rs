//! Tauri commands: thin adapters (read state or call the core, map to DTOs and errors).

use tauri::{AppHandle, Emitter, Runtime, State};
use wallet_core::session::{ActivityQuery as CoreQuery, SetupProtection};
use wallet_vault::Passphrase;

use super::codes::ErrorCode;
use super::dto::{
    ActivityCheck, ActivityItem, ActivityQuery, AdminLoginInput, AdminView, AppInfo,
    IncomingRequest, IpcError, SetupInput, UnlockInput, VaultView,
};
use crate::state::AppState;

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
pub fn vault_status(state: State<'_, AppState>) -> Result<VaultView> {
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

/// First-run setup: create the vault and set the administrator passphrase.
#[tauri::command]
pub async fn vault_setup(state: State<'_, AppState>, input: SetupInput) -> Result<VaultView> {
    let protection = match (input.use_keyring, input.passphrase) {
        (true, _) => SetupProtection::Keyring,
        (false, Some(p)) => SetupProtection::Passphrase(Passphrase::new(p)),
        (false, None) => {
            return Err(IpcError {
                code: ErrorCode::InvalidInput,
                message: "a vault passphrase is required when the OS keyring is not used".into(),
            })
        }
    };
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

/// Activity log entries, newest first.
#[tauri::command]
pub fn activity_list(
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
pub fn activity_verify(state: State<'_, AppState>) -> Result<ActivityCheck> {
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
