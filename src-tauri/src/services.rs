//! Service-to-service side of the app: the in-process loopback API for EHRs, and the consent
//! prompt for token requests outside the no-prompt policy (issue 7). The protocol lives in
//! `wallet_core::oauth` and `wallet_api`; this module only wires them to the window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::oneshot;
use ts_rs::TS;
use wallet_core::oauth::{ConsentDecision, ConsentHook, ConsentRequest, TokenService};
use wallet_protocol::net::{BoxFuture, NetPolicy};

use crate::state::AppState;

/// Event carrying a [`ConsentPrompt`] to the UI.
pub const CONSENT_EVENT: &str = "consent-request";
/// Unanswered prompts are declined after this long (the EHR's request is waiting).
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Port of the loopback API (`NUTS_WALLET_API_PORT` overrides; a Nuts node uses 8081).
pub const API_PORT_ENV: &str = "NUTS_WALLET_API_PORT";

/// A service token request waiting for the employee's decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConsentPrompt {
    /// Answer with this id.
    #[ts(type = "number")]
    pub id: u64,
    /// The requesting organization's subject.
    pub subject: String,
    /// The authorization server (issuer URL).
    pub authorization_server: String,
    /// Requested scope.
    pub scope: String,
    /// `DPoP` or `Bearer`.
    pub token_type: String,
    /// Self-attested credentials from the caller, summarised for display.
    pub credentials: Vec<String>,
}

/// Delivers the employee's answer to a waiting prompt (object-safe view of [`AppConsent`]).
pub trait ConsentAnswerer: Send + Sync {
    /// False when the prompt is unknown or already closed (timed out).
    fn answer(&self, id: u64, approve: bool) -> bool;
}

impl<R: Runtime> ConsentAnswerer for AppConsent<R> {
    fn answer(&self, id: u64, approve: bool) -> bool {
        AppConsent::answer(self, id, approve)
    }
}

/// The consent hook of the app: emits a prompt and waits for `consent_answer`.
pub struct AppConsent<R: Runtime> {
    app: AppHandle<R>,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
}

impl<R: Runtime> AppConsent<R> {
    /// A hook that prompts in `app`'s main window.
    pub fn new(app: AppHandle<R>) -> Self {
        Self {
            app,
            next: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Delivers the employee's answer; false when the prompt is unknown or already closed.
    pub fn answer(&self, id: u64, approve: bool) -> bool {
        let tx = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        tx.is_some_and(|tx| tx.send(approve).is_ok())
    }
}

fn summarize(c: &serde_json::Value) -> String {
    let types = c["type"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str())
                .filter(|t| *t != "VerifiableCredential")
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let subject = &c["credentialSubject"];
    let name = subject["name"].as_str().unwrap_or_default();
    let role = subject["roleName"].as_str().unwrap_or_default();
    [types.as_str(), name, role]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" · ")
}

impl<R: Runtime> ConsentHook for AppConsent<R> {
    fn ask(&self, r: ConsentRequest) -> BoxFuture<'_, ConsentDecision> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let prompt = ConsentPrompt {
            id,
            subject: r.subject,
            authorization_server: r.authorization_server,
            scope: r.scope,
            token_type: r.token_type.to_string(),
            credentials: r.credentials.iter().map(summarize).collect(),
        };
        let emitted = self.app.emit(CONSENT_EVENT, &prompt);
        crate::deep_link::focus_main(&self.app);
        Box::pin(async move {
            if emitted.is_err() {
                return ConsentDecision::Decline;
            }
            let decision = tokio::time::timeout(CONSENT_TIMEOUT, rx).await;
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            match decision {
                Ok(Ok(true)) => ConsentDecision::Approve,
                _ => ConsentDecision::Decline,
            }
        })
    }
}

/// The loopback API's state as the Services view shows it.
#[derive(Debug, Clone, Default)]
pub enum ApiState {
    /// Not started yet (vault locked, or no organization).
    #[default]
    NotStarted,
    /// Listening.
    Running(String),
    /// Could not start (e.g. port in use).
    Failed(String),
}

/// Starts the loopback API once the vault is unlocked and the organization exists; no-op when
/// it runs already. Failures are recorded for the Services view, never fatal for the app.
pub fn ensure_api<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    if matches!(state.api_state(), ApiState::Running(_)) {
        return;
    }
    let Ok(vault) = state.session.vault() else {
        return;
    };
    if vault.is_locked() || !matches!(wallet_core::org::organization(&vault), Ok(Some(_))) {
        return;
    }
    let service = match token_service(vault) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            state.set_api_state(ApiState::Failed(e));
            return;
        }
    };
    let hook = Arc::new(AppConsent::new(app.clone()));
    state.set_consent(hook.clone());
    service.set_consent_hook(Some(hook));
    let port = std::env::var(API_PORT_ENV)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(wallet_api::DEFAULT_PORT);
    let sessions = state.user_sessions();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        match wallet_api::serve(wallet_api::ApiConfig {
            port,
            service,
            sessions,
        })
        .await
        {
            Ok(handle) => {
                tracing::info!(url = %handle.base_url(), "loopback API listening");
                state.set_api_state(ApiState::Running(handle.base_url()));
                if let Err(e) = handle.wait().await {
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

/// The token use case over the app's vault, with the network policy of the environment
/// (`NUTS_WALLET_DEV`, `NUTS_WALLET_CA_FILE`).
fn token_service(vault: wallet_vault::Vault) -> Result<TokenService, String> {
    let policy = NetPolicy::from_env().map_err(|e| e.to_string())?;
    TokenService::from_net_policy(vault, policy).map_err(|e| e.to_string())
}
