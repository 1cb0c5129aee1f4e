//! The holder side of the user flow in the app (issue 8): a wallet authorization link that
//! arrived by deep link is resolved by `wallet_core::openid4vp` (everything verified before the
//! clinician sees it), kept here while the consent screen is open, answered with the decision,
//! and the browser is sent on. The protocol is in the core; this module keeps the pending
//! requests and opens the browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wallet_core::openid4vp::{HolderEnv, Resolved, SeenRequests};

use crate::ipc::dto::IpcError;
use crate::state::AppState;

/// The AS keeps its side of a user flow for a minute (B.7); the consent screen counts down to
/// the earlier of this and the request object's `exp`.
pub const FLOW_WINDOW_MS: i64 = 60_000;
/// Test hook and administrator override: a command that opens a URL in the browser (it gets
/// the URL as its only argument). Without it the desktop's default browser is used.
pub const BROWSER_ENV: &str = "NUTS_WALLET_BROWSER";

/// A request on the consent screen, by incoming-link id.
enum Slot {
    /// Being fetched and verified.
    Resolving,
    /// Verified, waiting for the decision until `deadline_ms`.
    Ready {
        resolved: Box<Resolved>,
        deadline_ms: i64,
    },
    /// Answered (or refused): a link is handled once.
    Done,
}

/// The pending requests and the replay store of the app.
#[derive(Default)]
pub struct Presentations {
    seen: Arc<SeenRequests>,
    slots: Mutex<HashMap<u32, Slot>>,
}

/// Why a slot cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// Unknown id.
    Unknown,
    /// Still resolving.
    Busy,
    /// Already answered.
    Done,
    /// The flow's time ran out.
    Expired,
}

impl From<SlotError> for IpcError {
    fn from(e: SlotError) -> Self {
        let (code, message) = match e {
            SlotError::Unknown => ("not_found", "no such request"),
            SlotError::Busy => ("busy", "the request is still being checked"),
            SlotError::Done => ("request_answered", "this request has been answered already"),
            SlotError::Expired => (
                "request_expired",
                "the time for this request ran out; start again from your healthcare application",
            ),
        };
        IpcError {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl Presentations {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `id` as being resolved. `Ok(false)` when it is resolved already (show it again).
    pub fn begin(&self, id: u32) -> Result<bool, SlotError> {
        let mut slots = self.slots();
        match slots.get(&id) {
            None => {
                slots.insert(id, Slot::Resolving);
                Ok(true)
            }
            Some(Slot::Ready { .. }) => Ok(false),
            Some(Slot::Resolving) => Err(SlotError::Busy),
            Some(Slot::Done) => Err(SlotError::Done),
        }
    }

    /// Stores the verified request (or marks a refused one done).
    pub fn finish(&self, id: u32, resolved: Option<(Resolved, i64)>) {
        let slot = match resolved {
            Some((r, deadline_ms)) => Slot::Ready {
                resolved: Box::new(r),
                deadline_ms,
            },
            None => Slot::Done,
        };
        self.slots().insert(id, slot);
    }

    /// Runs `f` on a waiting request.
    pub fn with<T>(
        &self,
        id: u32,
        now_ms: i64,
        f: impl FnOnce(&mut Resolved, i64) -> T,
    ) -> Result<T, SlotError> {
        let mut slots = self.slots();
        match slots.get_mut(&id) {
            Some(Slot::Ready {
                resolved,
                deadline_ms,
            }) if now_ms < *deadline_ms => Ok(f(resolved, *deadline_ms)),
            Some(Slot::Ready { .. }) => {
                slots.insert(id, Slot::Done);
                Err(SlotError::Expired)
            }
            Some(Slot::Resolving) => Err(SlotError::Busy),
            Some(Slot::Done) => Err(SlotError::Done),
            None => Err(SlotError::Unknown),
        }
    }

    /// Takes a waiting request out for answering (it cannot be answered twice).
    pub fn take(&self, id: u32, now_ms: i64) -> Result<Resolved, SlotError> {
        let mut slots = self.slots();
        match slots.insert(id, Slot::Done) {
            Some(Slot::Ready {
                resolved,
                deadline_ms,
            }) if now_ms < deadline_ms => Ok(*resolved),
            Some(Slot::Ready { .. }) => Err(SlotError::Expired),
            Some(Slot::Resolving) => {
                slots.insert(id, Slot::Resolving);
                Err(SlotError::Busy)
            }
            Some(Slot::Done) => Err(SlotError::Done),
            None => {
                slots.remove(&id);
                Err(SlotError::Unknown)
            }
        }
    }

    /// Forgets every waiting request (the vault locked: nothing is answered from a locked
    /// wallet).
    pub fn clear(&self) {
        let mut slots = self.slots();
        for s in slots.values_mut() {
            *s = Slot::Done;
        }
    }

    /// The holder environment over the unlocked vault, the app's network setup and the
    /// user-flow sessions the loopback API started.
    pub fn env(&self, state: &AppState) -> Result<HolderEnv, IpcError> {
        let vault = state.session.vault()?;
        if vault.is_locked() {
            return Err(wallet_vault::VaultError::Locked.into());
        }
        let net = state.verify_env()?;
        Ok(HolderEnv {
            vault,
            http: net.http,
            resolver: net.resolver,
            clock: net.clock,
            seen: self.seen.clone(),
            sessions: Some(state.user_sessions()),
            allow_unsolicited: false,
        })
    }
}

/// Opens `url` (http or https only: never a scheme the verifier chose) in the browser.
pub fn open_in_browser(url: &str) -> Result<(), IpcError> {
    let ok_scheme = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    if !ok_scheme {
        return Err(IpcError {
            code: "invalid_input".into(),
            message: "the verifier's redirect is not a web address".into(),
        });
    }
    let mut cmd = match std::env::var_os(BROWSER_ENV) {
        Some(program) => std::process::Command::new(program),
        None if cfg!(target_os = "macos") => std::process::Command::new("open"),
        None if cfg!(windows) => {
            let mut c = std::process::Command::new("rundll32");
            c.arg("url.dll,FileProtocolHandler");
            c
        }
        None => std::process::Command::new("xdg-open"),
    };
    cmd.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match cmd.spawn() {
        Ok(mut child) => {
            // Reap it in the background so no zombie stays behind.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not open the browser");
            Err(IpcError {
                code: "browser".into(),
                message: format!("the browser could not be opened: {e}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_used_once_and_expire() {
        let p = Presentations::default();
        assert_eq!(p.begin(1), Ok(true));
        assert_eq!(p.begin(1), Err(SlotError::Busy));
        assert_eq!(p.take(1, 0).err(), Some(SlotError::Busy));
        p.finish(1, None);
        assert_eq!(p.begin(1), Err(SlotError::Done));
        assert_eq!(p.take(2, 0).err(), Some(SlotError::Unknown));
        assert_eq!(p.with(2, 0, |_, _| ()).err(), Some(SlotError::Unknown));
    }

    #[test]
    fn only_web_addresses_are_opened() {
        for bad in [
            "nuts-wallet://x",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "no url",
        ] {
            assert_eq!(
                open_in_browser(bad).unwrap_err().code,
                "invalid_input",
                "{bad}"
            );
        }
    }
}
