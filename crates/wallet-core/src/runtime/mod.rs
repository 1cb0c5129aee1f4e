//! The wallet runtime: the part of the wallet that runs the same in every host. The desktop
//! app, the `nuts-wallet` CLI (`present`, `token user`, `serve`) and the loopback API are
//! adapters over one [`WalletRuntime`]: they turn their input into runtime calls and its typed
//! results and errors into their output, once, at their edge.
//!
//! Named a *runtime* because it is the wallet's running state for one process, not a protocol
//! or a screen: it is built once per process from the network (HTTP client with the network
//! policy, DID resolver, clock) and the vault handle, and owns everything that must be shared
//! between the two flows and the hosts:
//!
//! - the user-flow sessions the wallet started as OAuth client ([`UserSessions`]) and the
//!   replay store of handled request objects ([`SeenRequests`]);
//! - the token service of the service-to-service flow ([`TokenService`]), built once the vault
//!   is open;
//! - the user flow as calls a host makes with what it received (`begin_user_flow`,
//!   `start_user_flow`, `complete_user_flow`, `poll_user_token`, ...);
//! - the holder environment ([`HolderEnv`]), built only here;
//! - the inbox of received links, each parsed once into a typed [`AuthorizeLink`]
//!   ([`inbox`]);
//! - the consent slots with their deadlines, one pending consent per received link
//!   ([`slots`]);
//! - the consent view model, including which employees may approve ([`view`]); the
//!   named-employee rule is enforced there, before anything is sent.
//!
//! The whole user flow runs without a window (see `tests/runtime.rs`).

mod consent;
mod flows;
pub mod inbox;
pub mod slots;
pub mod view;

use std::sync::{Arc, Mutex};

use wallet_protocol::clock::Clock;
use wallet_protocol::did::{DidResolver, UniversalResolver};
use wallet_protocol::net::{HttpClient, NetError, NetPolicy, ReqwestHttpClient};
use wallet_protocol::SystemClock;
use wallet_vault::{Vault, VaultError};

pub use consent::{Answer, ConsentError, DecisionOutcome};
pub use inbox::{Inbox, IncomingLink, LinkId};
pub use slots::{ConsentSlots, SlotError, FLOW_WINDOW_MS};
pub use view::ConsentView;

use crate::credentials::{Screener, VerifyEnv};
use crate::deeplink::AuthorizeLink;
use crate::oauth::user::UserSessions;
use crate::oauth::{S2sClient, TokenService, VaultOrganization};
use crate::openid4vp::{HolderEnv, SeenRequests};
use crate::session::WalletSession;

/// Where the runtime gets the vault: a fixed vault (CLI, API) or the app's session, which
/// opens it on first use and locks and unlocks it.
pub trait VaultAccess: Send + Sync {
    /// The vault handle (it may be locked).
    fn vault(&self) -> Result<Vault, VaultError>;
}

impl VaultAccess for Vault {
    fn vault(&self) -> Result<Vault, VaultError> {
        Ok(self.clone())
    }
}

impl VaultAccess for WalletSession {
    fn vault(&self) -> Result<Vault, VaultError> {
        WalletSession::vault(self)
    }
}

/// The network side of the runtime: HTTP with the network policy (SSRF guard, development
/// mode, extra CA), DID resolution and the clock.
#[derive(Clone)]
pub struct Network {
    /// HTTP client (SSRF guard applied).
    pub http: Arc<dyn HttpClient>,
    /// DID resolver (did:web over HTTPS with its cache, did:jwk locally).
    pub resolver: Arc<dyn DidResolver>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// The network policy the client and resolver were built with.
    pub policy: NetPolicy,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Network {
    /// The production setup under `policy`: reqwest with the SSRF guard, the did:web
    /// resolver, the system clock.
    pub fn from_policy(policy: NetPolicy) -> Result<Self, NetError> {
        Ok(Self {
            http: Arc::new(ReqwestHttpClient::new(policy.clone())?),
            resolver: Arc::new(UniversalResolver::from_policy(&policy)?),
            clock: Arc::new(SystemClock),
            policy,
        })
    }
}

/// The wallet's process-wide runtime (see the module documentation).
pub struct WalletRuntime {
    net: Network,
    vault: Arc<dyn VaultAccess>,
    sessions: Arc<UserSessions>,
    seen: Arc<SeenRequests>,
    allow_unsolicited: bool,
    tokens: Mutex<Option<Arc<TokenService>>>,
    screener: Screener,
    inbox: Inbox,
    slots: ConsentSlots,
}

impl std::fmt::Debug for WalletRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletRuntime")
            .field("net", &self.net)
            .field("allow_unsolicited", &self.allow_unsolicited)
            .finish_non_exhaustive()
    }
}

impl WalletRuntime {
    /// A runtime over `net` and `vault`.
    pub fn new(net: Network, vault: Arc<dyn VaultAccess>) -> Self {
        let screener = Screener::new(VerifyEnv {
            resolver: net.resolver.clone(),
            http: net.http.clone(),
            policy: net.policy.clone(),
            clock: net.clock.clone(),
        });
        Self {
            screener,
            net,
            vault,
            sessions: Arc::default(),
            seen: Arc::default(),
            allow_unsolicited: false,
            tokens: Mutex::new(None),
            inbox: Inbox::default(),
            slots: ConsentSlots::default(),
        }
    }

    /// The production runtime under `policy` (see [`Network::from_policy`]).
    pub fn from_net_policy(
        policy: NetPolicy,
        vault: Arc<dyn VaultAccess>,
    ) -> Result<Self, NetError> {
        Ok(Self::new(Network::from_policy(policy)?, vault))
    }

    /// Accept wallet requests this process did not start (`present --allow-unsolicited`);
    /// the consent then says so. Otherwise only the administrator's policy may allow them.
    pub fn allow_unsolicited(mut self, allow: bool) -> Self {
        self.allow_unsolicited = allow;
        self
    }

    /// The network side.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// What credential checks need (DID resolution, status lists, clock).
    pub fn verify_env(&self) -> VerifyEnv {
        self.screener.env.clone()
    }

    /// Forgets the cached status lists, so that the next presentation fetches them again
    /// (the administrator's "check again", e.g. right after a credential was revoked).
    pub fn forget_status_lists(&self) {
        self.screener.gate.clear();
    }

    /// The vault handle (it may be locked).
    pub fn vault(&self) -> Result<Vault, VaultError> {
        self.vault.vault()
    }

    /// The user-flow sessions the wallet started as OAuth client; the holder checks incoming
    /// requests against them.
    pub fn sessions(&self) -> &Arc<UserSessions> {
        &self.sessions
    }

    /// Now, Unix seconds.
    pub fn now(&self) -> i64 {
        self.net.clock.now_unix()
    }

    fn now_ms(&self) -> i64 {
        self.now() * 1000
    }

    /// The holder environment over the unlocked vault: the one place it is assembled.
    pub fn holder_env(&self) -> Result<HolderEnv, VaultError> {
        let vault = self.vault()?;
        if vault.is_locked() {
            return Err(VaultError::Locked);
        }
        Ok(HolderEnv {
            vault,
            http: self.net.http.clone(),
            resolver: self.net.resolver.clone(),
            clock: self.net.clock.clone(),
            seen: self.seen.clone(),
            sessions: Some(self.sessions.clone()),
            allow_unsolicited: self.allow_unsolicited,
            screener: self.screener.clone(),
        })
    }

    /// The service-token use case over the vault's organization and this runtime's HTTP
    /// client and clock; built on first use, then shared (its caches live as long as the
    /// process).
    pub fn token_service(&self) -> Result<Arc<TokenService>, VaultError> {
        let mut slot = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let client = S2sClient::new(self.net.http.clone(), self.net.clock.clone());
        let service = Arc::new(TokenService::new(
            self.vault()?,
            client,
            Arc::new(VaultOrganization),
            self.screener.clone(),
        ));
        *slot = Some(service.clone());
        Ok(service)
    }

    /// Records a received link (parsed once, here) and returns it.
    pub fn receive_link(&self, raw: &str) -> IncomingLink {
        self.inbox.receive(raw, self.now_ms())
    }

    /// Records a link the host parsed at its edge; returns its id.
    pub fn admit(&self, raw: &str, link: AuthorizeLink) -> LinkId {
        self.inbox.admit(raw, link, self.now_ms()).id
    }

    /// The received links still kept, oldest first.
    pub fn incoming(&self) -> Vec<IncomingLink> {
        self.inbox.all()
    }

    /// Closes every pending consent (call it when the vault locks).
    pub fn close_consents(&self) {
        self.slots.close_all();
    }
}
