//! Service-to-service side of the app: the in-process loopback API for EHRs over the wallet
//! runtime's token service and user-flow sessions, with the service-token prompt
//! ([`crate::service_prompt`]) for requests outside the no-prompt policy. The protocol lives in
//! `wallet_core` and `wallet_api`; this module only wires them to the window. Audit
//! forwarding to the organization's syslog collector starts here too.

use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime};

use crate::service_prompt::ServiceTokenPrompt;
use crate::state::{ApiState, AppState};

/// Port of the loopback API (`NUTS_WALLET_API_PORT` overrides; a Nuts node uses 8081; 0 picks
/// a free port and announces it in the discovery file).
pub const API_PORT_ENV: &str = "NUTS_WALLET_API_PORT";

/// Starts the loopback API once the vault is unlocked and the organization exists; no-op when
/// it runs already. Failures are recorded for the Services view, never fatal for the app.
pub fn ensure_api<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    if matches!(state.api_state(), ApiState::Running(_) | ApiState::Starting) {
        return;
    }
    let Ok(vault) = state.session.vault() else {
        return;
    };
    ensure_audit_forwarder(&vault);
    if vault.is_locked() || !matches!(wallet_core::org::organization(&vault), Ok(Some(_))) {
        return;
    }
    if !state.begin_api_start() {
        return;
    }
    let runtime = match state.runtime() {
        Ok(r) => r.clone(),
        Err(e) => {
            state.set_api_state(ApiState::Failed(e.to_owned()));
            return;
        }
    };
    let service = match runtime.token_service() {
        Ok(s) => s,
        Err(e) => {
            state.set_api_state(ApiState::Failed(e.to_string()));
            return;
        }
    };
    let prompt = Arc::new(ServiceTokenPrompt::new(app.clone()));
    state.set_service_prompt(prompt.clone());
    service.set_service_prompt(Some(prompt));
    let port = std::env::var(API_PORT_ENV)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(wallet_api::DEFAULT_PORT);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match wallet_api::serve(wallet_api::ApiConfig::from_runtime(runtime, port)).await {
            Ok(handle) => {
                tracing::info!(url = %handle.base_url(), "loopback API listening");
                // Port 0 (a session of a multi-user host): EHRs find the port and key in the
                // discovery file; without it the API is of no use.
                let discovery = if port == 0 {
                    match write_discovery(service.vault(), &handle.base_url()) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            tracing::warn!(error = %e, "loopback API discovery file not written");
                            let _ = handle.shutdown().await;
                            state.set_api_state(ApiState::Failed(e));
                            return;
                        }
                    }
                } else {
                    None
                };
                state.set_api_state(ApiState::Running(handle.base_url()));
                let stopped = handle.wait().await;
                if let Some(p) = &discovery {
                    wallet_api::discovery::remove(p);
                }
                if let Err(e) = stopped {
                    tracing::warn!(error = %e, "loopback API stopped");
                    state.set_api_state(ApiState::Failed(e.to_string()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "loopback API did not start");
                state.set_api_state(ApiState::Failed(e.to_string()));
            }
        }
    });
}

/// Starts delivering activity entries to the organization's syslog collector, once per
/// process; it goes on while the vault is locked and does nothing while forwarding is off.
fn ensure_audit_forwarder(vault: &wallet_vault::Vault) {
    static FORWARDER: std::sync::OnceLock<Option<wallet_core::audit_forward::Forwarder>> =
        std::sync::OnceLock::new();
    FORWARDER.get_or_init(|| {
        wallet_core::audit_forward::Forwarder::start(vault.clone())
            .inspect_err(|e| tracing::warn!(error = %e, "audit forwarding did not start"))
            .ok()
    });
}

/// Writes the API's URL and key to the user's discovery file (`wallet_api::discovery`).
fn write_discovery(vault: &wallet_vault::Vault, url: &str) -> Result<std::path::PathBuf, String> {
    let path = wallet_api::discovery::default_path()
        .ok_or_else(|| wallet_api::discovery::DiscoveryError::NoRuntimeDir.to_string())?;
    let key = wallet_api::api_key::current(vault)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no API key".to_owned())?;
    wallet_api::discovery::write(&path, url, key.expose_secret()).map_err(|e| e.to_string())
}
