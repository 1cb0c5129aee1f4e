//! Process-wide state of the app shell: the wallet session, the wallet runtime (built once,
//! here) and what only the shell keeps (the loopback API's state, the service-token prompt).
//! A leaf module: it imports nothing from the IPC layer or the other shell modules.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wallet_core::runtime::{IncomingLink, Network, WalletRuntime};
use wallet_core::session::WalletSession;
use wallet_protocol::net::NetPolicy;

/// The loopback API's state as the Services view shows it.
#[derive(Debug, Clone, Default)]
pub enum ApiState {
    /// Not started yet (vault locked, or no organization).
    #[default]
    NotStarted,
    /// Being started (binding the port).
    Starting,
    /// Listening.
    Running(String),
    /// Could not start (e.g. port in use).
    Failed(String),
}

/// The unattended enrollment of a mass rollout (the managed-install file), as far as it got.
#[derive(Debug, Clone, Default)]
pub enum ManagedSetup {
    /// No managed-install file, or a wallet existed already.
    #[default]
    None,
    /// Enrolling now.
    Running,
    /// Enrolled in this run; the organization's name.
    Done(String),
    /// Failed: the core's error code and message.
    Failed {
        /// Stable code (`ProfileError::code`).
        code: String,
        /// English message.
        message: String,
    },
}

/// Delivers the employee's answer to a waiting service-token prompt.
pub trait PromptAnswerer: Send + Sync {
    /// False when the prompt is unknown or already closed (timed out).
    fn answer(&self, id: u64, approve: bool) -> bool;
}

/// Shared state, managed by Tauri.
pub struct AppState {
    /// The open wallet (vault state, activity log).
    pub session: Arc<WalletSession>,
    data_dir: PathBuf,
    log_dir: PathBuf,
    dev: bool,
    runtime: Arc<WalletRuntime>,
    net_error: Option<String>,
    api: Mutex<ApiState>,
    service_prompt: Mutex<Option<Arc<dyn PromptAnswerer>>>,
    managed_setup: Mutex<ManagedSetup>,
}

impl AppState {
    /// New state for the given data directory and wallet session. The runtime's network
    /// follows `NUTS_WALLET_DEV` and `NUTS_WALLET_CA_FILE`; when those are unusable the app
    /// still starts (links are received, the vault works) and every network use reports why.
    pub fn new(data_dir: PathBuf, dev: bool, session: WalletSession) -> Self {
        let session = Arc::new(session);
        let (net, net_error) = match NetPolicy::from_env().and_then(Network::from_policy) {
            Ok(n) => (n, None),
            Err(e) => {
                tracing::warn!(error = %e, "the network settings are unusable");
                let fallback = Network::from_policy(NetPolicy::default())
                    .expect("an HTTP client with the platform's trust roots");
                (fallback, Some(e.to_string()))
            }
        };
        Self {
            runtime: Arc::new(WalletRuntime::new(net, session.clone())),
            net_error,
            session,
            log_dir: wallet_core::paths::log_dir(&data_dir),
            data_dir,
            dev,
            api: Mutex::new(ApiState::NotStarted),
            service_prompt: Mutex::new(None),
            managed_setup: Mutex::new(ManagedSetup::None),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The log directory.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Development mode.
    pub fn dev(&self) -> bool {
        self.dev
    }

    /// The wallet runtime, or why its network settings are unusable.
    pub fn runtime(&self) -> Result<&Arc<WalletRuntime>, &str> {
        match &self.net_error {
            None => Ok(&self.runtime),
            Some(e) => Err(e),
        }
    }

    /// Records a received link in the runtime's inbox (parsed once, there).
    pub fn receive_link(&self, link: &str) -> IncomingLink {
        self.runtime.receive_link(link)
    }

    /// The received links still kept, oldest first.
    pub fn incoming_links(&self) -> Vec<IncomingLink> {
        self.runtime.incoming()
    }

    /// Closes every pending consent (the vault locked).
    pub fn close_consents(&self) {
        self.runtime.close_consents();
    }

    /// The loopback API's state.
    pub fn api_state(&self) -> ApiState {
        self.api.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Marks the API as starting, unless it is starting or running already: `true` when the
    /// caller should start it. One check-and-set under the lock, so two callers in quick
    /// succession (after unlock, and from Home) never start two listeners.
    pub fn begin_api_start(&self) -> bool {
        let mut api = self.api.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*api, ApiState::Starting | ApiState::Running(_)) {
            return false;
        }
        *api = ApiState::Starting;
        true
    }

    /// Records the loopback API's state.
    pub fn set_api_state(&self, s: ApiState) {
        *self.api.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Where the unattended enrollment of a mass rollout stands.
    pub fn managed_setup(&self) -> ManagedSetup {
        self.managed_setup
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records where the unattended enrollment stands.
    pub fn set_managed_setup(&self, s: ManagedSetup) {
        *self.managed_setup.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Installs the service-token prompt that `consent_answer` answers.
    pub fn set_service_prompt(&self, c: Arc<dyn PromptAnswerer>) {
        *self
            .service_prompt
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(c);
    }

    /// Answers a waiting service-token prompt.
    pub fn answer_service_prompt(&self, id: u64, approve: bool) -> bool {
        let c = self
            .service_prompt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        c.is_some_and(|c| c.answer(id, approve))
    }
}
