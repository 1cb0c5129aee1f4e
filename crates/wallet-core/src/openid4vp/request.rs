//! The request object typestate lives in `wallet_protocol::openid4vp::request`; this module
//! keeps the wallet's replay stores (the per-process [`SeenRequests`] in front of the vault's
//! replay memory, which all processes share and which survives restarts) and lets a
//! [`HolderEnv`] serve as the verification context.

use std::collections::HashMap;
use std::sync::Mutex;

use wallet_protocol::clock::Clock;
use wallet_protocol::did::DidResolver;
use wallet_protocol::net::HttpClient;
use wallet_protocol::oauth::ClientId;
pub use wallet_protocol::openid4vp::request::{
    PresentationRequest, Unverified, Verified, VerifyContext, MAX_LIFETIME_SECS, SKEW_SECS,
};
pub use wallet_protocol::openid4vp::{MAX_JWT_BYTES, SELF_ISSUED};

use super::HolderEnv;

/// How long a handled nonce is remembered (the request object lifetime, `docs/protocol.md`
/// §10), seconds.
pub const REPLAY_WINDOW_SECS: i64 = 900;
/// The vault's replay-memory kind for request-object nonces.
pub const REPLAY_KIND: &str = "request_object_nonce";

// A nonce must be remembered at least as long as its request object can be valid.
const _: () = assert!(REPLAY_WINDOW_SECS >= MAX_LIFETIME_SECS + SKEW_SECS);

/// Activity entries written per minute for requests refused before anything was fetched
/// (unsolicited, outside the policy, `request_uri` elsewhere): links cost an attacker nothing,
/// so beyond this they are counted, not logged one by one.
pub const PREFETCH_REFUSALS_PER_MINUTE: u32 = 10;

/// Nonces of handled request objects (per verifier), so that a replayed request object is
/// refused even when the verifier would serve it again; and the rate limit on activity entries
/// for links refused before any fetch.
#[derive(Debug, Default)]
pub struct SeenRequests {
    seen: Mutex<HashMap<(ClientId, String), i64>>,
    refusals: Mutex<RefusalWindow>,
}

#[derive(Debug, Default)]
struct RefusalWindow {
    minute: i64,
    logged: u32,
    suppressed: u64,
}

impl SeenRequests {
    /// Whether a refusal before any fetch at `now` gets its own activity entry: `Some(n)` with
    /// the number left out since the last one written, `None` when over the limit this minute.
    pub fn admit_prefetch_refusal(&self, now: i64) -> Option<u64> {
        let mut w = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        let minute = now.div_euclid(60);
        if w.minute != minute {
            w.minute = minute;
            w.logged = 0;
        }
        if w.logged >= PREFETCH_REFUSALS_PER_MINUTE {
            w.suppressed += 1;
            return None;
        }
        w.logged += 1;
        Some(std::mem::take(&mut w.suppressed))
    }

    /// Records `(client_id, nonce)`; `false` when it was seen within the window.
    pub fn first_use(&self, client_id: &ClientId, nonce: &str, now: i64) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, until| now < *until);
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(
            (client_id.clone(), nonce.to_owned()),
            now + REPLAY_WINDOW_SECS,
        )
        .is_none()
    }
}

impl VerifyContext for HolderEnv {
    fn http(&self) -> &dyn HttpClient {
        self.http.as_ref()
    }
    fn resolver(&self) -> &dyn DidResolver {
        self.resolver.as_ref()
    }
    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
    /// The process's memory first, then the vault's, which every process shares and which
    /// survives a restart. A vault that cannot record the nonce refuses the request.
    fn first_use(&self, client_id: &ClientId, nonce: &str, now: i64) -> bool {
        if !self.seen.first_use(client_id, nonce, now) {
            return false;
        }
        let value = format!("{}\n{nonce}", client_id.as_str());
        match self
            .vault
            .replay()
            .first_use(REPLAY_KIND, &value, now, now + REPLAY_WINDOW_SECS)
        {
            Ok(first) => first,
            Err(e) => {
                tracing::warn!(error = %e, "replay memory unavailable; request refused");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_verifier_within_the_window() {
        let s = SeenRequests::default();
        let (a, b) = (ClientId::from("https://a"), ClientId::from("https://b"));
        assert!(s.first_use(&a, "n1", 100));
        assert!(!s.first_use(&a, "n1", 101));
        assert!(s.first_use(&b, "n1", 101));
        assert!(s.first_use(&a, "n1", 100 + REPLAY_WINDOW_SECS + 1));
    }
}
