//! Server state: identity, policy, the injected edges (DID resolver, HTTP client, clock) and
//! the short-lived in-memory stores with the lifetimes of docs/protocol.md §10 (nonces, sessions,
//! request objects, codes, tokens, DPoP `jti`s). Nothing survives a restart, by design.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wallet_pex::{PolicyFile, WalletOwnerType};
use wallet_protocol::did::DidResolver;
use wallet_protocol::net::{HttpClient, NetPolicy};
use wallet_protocol::Clock;

use crate::identity::Identity;

/// s2s nonce replay window (longer than any acceptable VP lifetime plus skew).
pub const S2S_NONCE_TTL_SECS: i64 = 60;
/// OAuth session, nonce→state map and authorization code lifetime.
pub const SESSION_TTL_SECS: i64 = 60;
/// Request objects at `request.jwt/{id}`.
pub const REQUEST_OBJECT_TTL_SECS: i64 = 15 * 60;
/// Access token lifetime (fixed, as Nuts).
pub const ACCESS_TOKEN_TTL_SECS: i64 = 900;
/// DPoP `jti` replay window.
pub const DPOP_JTI_TTL_SECS: i64 = 15 * 60;
/// Skew on VP / VC / JAR validity windows.
pub const SKEW_SECS: i64 = 5;

/// A map whose entries expire.
#[derive(Debug)]
pub struct TtlMap<V> {
    inner: Mutex<HashMap<String, (i64, V)>>,
}

impl<V> Default for TtlMap<V> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> TtlMap<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, V)>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Inserts `value` until `expires`.
    pub fn insert(&self, key: String, value: V, expires: i64, now: i64) {
        let mut m = self.lock();
        m.retain(|_, (exp, _)| *exp >= now);
        m.insert(key, (expires, value));
    }

    /// Inserts only when absent (or expired); returns whether it was inserted.
    pub fn insert_new(&self, key: String, value: V, expires: i64, now: i64) -> bool {
        let mut m = self.lock();
        m.retain(|_, (exp, _)| *exp >= now);
        if m.contains_key(&key) {
            return false;
        }
        m.insert(key, (expires, value));
        true
    }

    /// Removes and returns a live entry (one-time use).
    pub fn take(&self, key: &str, now: i64) -> Option<V> {
        let (exp, v) = self.lock().remove(key)?;
        (exp >= now).then_some(v)
    }

    /// A copy of a live entry.
    pub fn get(&self, key: &str, now: i64) -> Option<V> {
        let m = self.lock();
        let (exp, v) = m.get(key)?;
        (*exp >= now).then(|| v.clone())
    }

    /// Replaces the value of a live entry, keeping its expiry.
    pub fn update(&self, key: &str, value: V) {
        if let Some(e) = self.lock().get_mut(key) {
            e.1 = value;
        }
    }

    /// Removes an entry.
    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }
}

/// A request object we serve at `request.jwt/{id}` (signed when fetched, so a POSTed
/// `wallet_metadata` / `wallet_nonce` can shape it).
#[derive(Debug, Clone)]
pub struct PendingRequestObject {
    /// `get` or `post`.
    pub method: &'static str,
    /// Claims (without `aud` for the post method; `aud` decided at fetch time).
    pub claims: serde_json::Map<String, Value>,
}

/// An OAuth session of the user flow (verifier state `S`).
#[derive(Debug, Clone)]
pub struct Session {
    /// Client id (URL) from JAR #1.
    pub client_id: String,
    /// Client's `state`.
    pub client_state: Option<String>,
    /// Client's redirect URI.
    pub redirect_uri: url::Url,
    /// Scope.
    pub scope: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The round in progress.
    pub round: WalletOwnerType,
    /// Field values collected so far.
    pub fields: BTreeMap<String, Value>,
    /// Holder DIDs of the accepted VPs.
    pub holders: Vec<String>,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    /// Client id it was issued to.
    pub client_id: String,
    /// Scope.
    pub scope: String,
    /// PKCE challenge.
    pub code_challenge: String,
    /// Field values of both rounds.
    pub fields: BTreeMap<String, Value>,
    /// Holder DIDs of the accepted VPs, by round.
    pub holders: Vec<String>,
}

/// What introspection returns about a token.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Client id.
    pub client_id: String,
    /// Scope.
    pub scope: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// DPoP key thumbprint.
    pub jkt: Option<String>,
    /// PD field values.
    pub fields: BTreeMap<String, Value>,
    /// Holder DIDs of the VPs of a user flow, by round (empty for s2s).
    pub holders: Vec<String>,
}

/// Everything the handlers share.
pub struct AppState {
    /// Own identity.
    pub identity: Identity,
    /// Scope → presentation definitions.
    pub policy: PolicyFile,
    /// DID resolution.
    pub resolver: Arc<dyn DidResolver>,
    /// Outbound HTTP (request objects, entity statements, status lists).
    pub http: Arc<dyn HttpClient>,
    /// Network policy (for status-list / CRL fetches).
    pub net: NetPolicy,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Whether the user flow is served.
    pub user_flow: bool,
    /// s2s nonces seen.
    pub s2s_nonces: TtlMap<()>,
    /// DPoP proof `jti`s seen.
    pub dpop_jtis: TtlMap<()>,
    /// JAR #1 hashes seen (a request object is accepted once).
    pub jar_seen: TtlMap<()>,
    /// Request objects served at `request.jwt/{id}`.
    pub request_objects: TtlMap<PendingRequestObject>,
    /// Sessions by verifier state.
    pub sessions: TtlMap<Session>,
    /// OpenID4VP nonce → verifier state.
    pub nonces: TtlMap<String>,
    /// Authorization codes.
    pub codes: TtlMap<CodeGrant>,
    /// Access tokens.
    pub tokens: TtlMap<TokenInfo>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("identity", &self.identity)
            .field("user_flow", &self.user_flow)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// New state with empty stores.
    pub fn new(
        identity: Identity,
        policy: PolicyFile,
        resolver: Arc<dyn DidResolver>,
        http: Arc<dyn HttpClient>,
        net: NetPolicy,
        clock: Arc<dyn Clock>,
        user_flow: bool,
    ) -> Self {
        Self {
            identity,
            policy,
            resolver,
            http,
            net,
            clock,
            user_flow,
            s2s_nonces: TtlMap::default(),
            dpop_jtis: TtlMap::default(),
            jar_seen: TtlMap::default(),
            request_objects: TtlMap::default(),
            sessions: TtlMap::default(),
            nonces: TtlMap::default(),
            codes: TtlMap::default(),
            tokens: TtlMap::default(),
        }
    }

    /// Now (Unix seconds).
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }
}

/// 32 random bytes, base64url (43 characters): tokens, codes, nonces, states, ids.
pub use wallet_protocol::random::random_token;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_map_expires_and_takes_once() {
        let m: TtlMap<u8> = TtlMap::default();
        m.insert("a".into(), 1, 100, 0);
        assert_eq!(m.get("a", 100), Some(1));
        assert_eq!(m.get("a", 101), None);
        assert_eq!(m.take("a", 50), Some(1));
        assert_eq!(m.take("a", 50), None);
        assert!(m.insert_new("b".into(), 2, 10, 0));
        assert!(!m.insert_new("b".into(), 3, 10, 5));
        assert!(
            m.insert_new("b".into(), 3, 30, 20),
            "expired entries may be reused"
        );
    }

    #[test]
    fn random_tokens_are_43_chars_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
    }
}
