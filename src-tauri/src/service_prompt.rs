//! The service-token prompt: when an EHR asks the loopback API for a service-to-service token
//! outside the administrator's no-prompt policy, the employee at the window approves or
//! declines it. This is the app's implementation of `wallet_core::oauth::ServiceTokenPrompt` (not
//! the consent screen of the user flow, which is `ipc::consent_screen`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::oneshot;
use ts_rs::TS;
use wallet_core::oauth::{PromptDecision, PromptRequest, ServiceTokenPrompt as PromptHook};
use wallet_protocol::net::BoxFuture;

use crate::state::PromptAnswerer;

/// Event carrying a [`ConsentPrompt`] to the UI.
pub const CONSENT_EVENT: &str = "consent-request";
/// Unanswered prompts are declined after this long (the EHR's request is waiting).
pub const CONSENT_TIMEOUT: Duration = Duration::from_secs(120);

/// A service token request waiting for the employee's decision (the IPC name is kept).
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
    /// The administrator's name for the authorization server, if any.
    pub server_name: Option<String>,
    /// What the scope is for, in the administrator's words.
    pub scope_description: Option<crate::ipc::services::LocalizedText>,
    /// Declined by itself at this time (Unix ms) without an answer.
    #[ts(type = "number")]
    pub deadline_ms: i64,
}

/// The service-token prompt of the app: emits a [`ConsentPrompt`] to the window and waits for
/// `consent_answer`.
pub struct ServiceTokenPrompt<R: Runtime> {
    app: AppHandle<R>,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<bool>>>,
}

impl<R: Runtime> PromptAnswerer for ServiceTokenPrompt<R> {
    fn answer(&self, id: u64, approve: bool) -> bool {
        ServiceTokenPrompt::answer(self, id, approve)
    }
}

impl<R: Runtime> ServiceTokenPrompt<R> {
    /// A prompt in `app`'s main window.
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

impl<R: Runtime> PromptHook for ServiceTokenPrompt<R> {
    fn ask(&self, r: PromptRequest) -> BoxFuture<'_, PromptDecision> {
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
            server_name: r.server_name,
            scope_description: r.scope_description.map(Into::into),
            deadline_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
                + CONSENT_TIMEOUT.as_millis() as i64,
        };
        let emitted = self.app.emit(CONSENT_EVENT, &prompt);
        crate::window::focus_main(&self.app);
        Box::pin(async move {
            if emitted.is_err() {
                return PromptDecision::Decline;
            }
            let decision = tokio::time::timeout(CONSENT_TIMEOUT, rx).await;
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            match decision {
                Ok(Ok(true)) => PromptDecision::Approve,
                _ => PromptDecision::Decline,
            }
        })
    }
}
