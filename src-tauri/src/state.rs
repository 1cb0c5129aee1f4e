//! Process-wide state of the app shell.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use wallet_core::credentials::VerifyEnv;
use wallet_core::oauth::user::UserSessions;
use wallet_core::session::WalletSession;

use crate::ipc::dto::IpcError;
use crate::presentation::Presentations;
use crate::services::{ApiState, ConsentAnswerer};

use crate::ipc::dto::{AppInfo, IncomingRequest};

/// Keeps at most this many received links (a misbehaving page cannot grow memory).
const MAX_INCOMING: usize = 50;

/// Shared state, managed by Tauri.
pub struct AppState {
    /// The open wallet (vault state, activity log).
    pub session: Arc<WalletSession>,
    data_dir: PathBuf,
    log_dir: PathBuf,
    dev: bool,
    incoming: Mutex<Vec<IncomingRequest>>,
    verify_env: Mutex<Option<VerifyEnv>>,
    api: Mutex<ApiState>,
    consent: Mutex<Option<Arc<dyn ConsentAnswerer>>>,
    /// User-flow sessions: the loopback API starts them, the holder checks incoming
    /// requests against them (unsolicited-request guard).
    user_sessions: Arc<UserSessions>,
    presentations: Presentations,
}

impl AppState {
    /// New state for the given data directory and wallet session.
    pub fn new(data_dir: PathBuf, dev: bool, session: WalletSession) -> Self {
        Self {
            session: Arc::new(session),
            log_dir: wallet_core::paths::log_dir(&data_dir),
            data_dir,
            dev,
            incoming: Mutex::new(Vec::new()),
            verify_env: Mutex::new(None),
            api: Mutex::new(ApiState::NotStarted),
            consent: Mutex::new(None),
            user_sessions: Arc::default(),
            presentations: Presentations::default(),
        }
    }

    /// What the About view shows.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: wallet_core::build_info::VERSION.to_string(),
            commit: wallet_core::build_info::COMMIT.to_string(),
            data_dir: self.data_dir.display().to_string(),
            log_dir: self.log_dir.display().to_string(),
            dev_mode: self.dev,
        }
    }

    /// Validates a received link and records it; returns the record to emit to the UI.
    pub fn receive_link(&self, link: &str) -> IncomingRequest {
        let outcome = wallet_core::deeplink::parse(link).into();
        let mut list = self.incoming.lock().unwrap_or_else(|p| p.into_inner());
        let id = list.last().map_or(1, |r| r.id + 1);
        let req = IncomingRequest {
            id,
            received_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            link: link
                .chars()
                .take(wallet_core::deeplink::MAX_LINK_LEN)
                .collect(),
            outcome,
        };
        list.push(req.clone());
        if list.len() > MAX_INCOMING {
            list.remove(0);
        }
        req
    }

    /// DID resolution, status lists and clock for credential checks, built on first use from
    /// the development mode and `NUTS_WALLET_CA_FILE` (its did:web cache lives as long as the app).
    pub fn verify_env(&self) -> Result<VerifyEnv, IpcError> {
        let mut slot = self.verify_env.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(env) = slot.as_ref() {
            return Ok(env.clone());
        }
        let policy = wallet_protocol::net::NetPolicy::from_env().map_err(|e| IpcError {
            code: "invalid_input".into(),
            message: e.to_string(),
        })?;
        let env = VerifyEnv::from_policy(policy)?;
        *slot = Some(env.clone());
        Ok(env)
    }

    /// The loopback API's state.
    pub fn api_state(&self) -> ApiState {
        self.api.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records the loopback API's state.
    pub fn set_api_state(&self, s: ApiState) {
        *self.api.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Installs the consent prompt that `consent_answer` answers.
    pub fn set_consent(&self, c: Arc<dyn ConsentAnswerer>) {
        *self.consent.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
    }

    /// Answers a waiting consent prompt.
    pub fn answer_consent(&self, id: u64, approve: bool) -> bool {
        let c = self
            .consent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        c.is_some_and(|c| c.answer(id, approve))
    }

    /// The user-flow sessions shared by the loopback API and the holder.
    pub fn user_sessions(&self) -> Arc<UserSessions> {
        self.user_sessions.clone()
    }

    /// Wallet requests on (or waiting for) the consent screen.
    pub fn presentations(&self) -> &Presentations {
        &self.presentations
    }

    /// All recorded links, oldest first.
    pub fn incoming(&self) -> Vec<IncomingRequest> {
        self.incoming
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
