//! In-memory cache of service access tokens, keyed on the whole request: requesting
//! subject, authorization server, scope, token type and a digest of the caller's
//! self-attested credentials (a token obtained for one employee is never handed out for
//! another). An entry is used until 30 s before the token expires; callers can bypass it
//! (`Cache-Control: no-cache`). Tokens never touch disk here.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::{AuthorizationServerId, Scope, TokenResponse, TokenType};

/// Tokens are not handed out when they expire within this many seconds.
pub const EXPIRY_MARGIN_SECS: i64 = 30;
/// Lifetime assumed when the AS sends no `expires_in`.
pub const DEFAULT_LIFETIME_SECS: i64 = 300;
const MAX_ENTRIES: usize = 1024;

/// Cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenCacheKey {
    subject: String,
    authorization_server: AuthorizationServerId,
    scope: Scope,
    token_type: TokenType,
    credentials_digest: [u8; 32],
}

impl TokenCacheKey {
    /// Key for a request (`credentials`: the caller's self-attested credentials as given).
    pub fn new(
        subject: &str,
        authorization_server: &AuthorizationServerId,
        scope: &Scope,
        token_type: TokenType,
        credentials: &[serde_json::Value],
    ) -> Self {
        let mut h = Sha256::new();
        for c in credentials {
            // serde_json maps are sorted, so equal credentials give equal text.
            let text = serde_json::to_string(c).unwrap_or_default();
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        }
        Self {
            subject: subject.to_owned(),
            authorization_server: authorization_server.clone(),
            scope: scope.clone(),
            token_type,
            credentials_digest: h.finalize().into(),
        }
    }
}

/// The cache.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<TokenCacheKey, TokenResponse>>,
}

impl TokenCache {
    /// A cached token valid for at least [`EXPIRY_MARGIN_SECS`] more seconds.
    pub fn get(&self, key: &TokenCacheKey, now: i64) -> Option<TokenResponse> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|t| t.expires_at.is_some_and(|at| at - EXPIRY_MARGIN_SECS > now))
            .cloned()
    }

    /// Stores a token (with `expires_at` set).
    pub fn put(&self, key: TokenCacheKey, token: TokenResponse, now: i64) {
        if token
            .expires_at
            .is_none_or(|at| at - EXPIRY_MARGIN_SECS <= now)
        {
            return;
        }
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, t| t.expires_at.is_some_and(|at| at - EXPIRY_MARGIN_SECS > now));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, token);
    }

    /// Drops one entry.
    pub fn remove(&self, key: &TokenCacheKey) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Drops everything (e.g. when the vault locks).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::AccessToken;

    fn token(expires_at: i64) -> TokenResponse {
        TokenResponse {
            access_token: AccessToken::new("t".into()),
            token_type: TokenType::Bearer,
            expires_in: Some(900),
            expires_at: Some(expires_at),
            scope: Some("test".into()),
            dpop_kid: None,
        }
    }

    #[test]
    fn entries_expire_thirty_seconds_early_and_keys_separate_requests() {
        let a = AuthorizationServerId::parse("https://as.example/oauth2/a").unwrap();
        let s = Scope::parse("test").unwrap();
        let emp1 = [serde_json::json!({"credentialSubject": {"name": "A"}})];
        let emp2 = [serde_json::json!({"credentialSubject": {"name": "B"}})];
        let k1 = TokenCacheKey::new("org", &a, &s, TokenType::Bearer, &emp1);
        let k2 = TokenCacheKey::new("org", &a, &s, TokenType::Bearer, &emp2);
        let k3 = TokenCacheKey::new("org", &a, &s, TokenType::DPoP, &emp1);
        let c = TokenCache::default();
        c.put(k1.clone(), token(1000), 0);
        assert!(c.get(&k1, 969).is_some());
        assert!(c.get(&k1, 970).is_none());
        assert!(c.get(&k2, 0).is_none());
        assert!(c.get(&k3, 0).is_none());
        // Already (nearly) expired tokens are not stored.
        c.put(k2.clone(), token(20), 0);
        assert!(c.get(&k2, 0).is_none());
        c.clear();
        assert!(c.is_empty());
    }
}
