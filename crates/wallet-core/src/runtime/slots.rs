//! Consent slots: at most one pending consent per received link, with its deadline. A slot is
//! resolving (being fetched and verified), ready (verified, waiting for the decision until
//! its deadline) or done (answered, refused or expired: a link is handled once).

use std::collections::HashMap;
use std::sync::Mutex;

use super::inbox::LinkId;
use crate::openid4vp::Resolved;

/// The authorization server keeps its side of a user flow for a minute
/// (`docs/protocol.md` §10); the consent counts down to the earlier of this and the request
/// object's `exp`.
pub const FLOW_WINDOW_MS: i64 = 60_000;

enum Slot {
    Resolving,
    Ready {
        resolved: Box<Resolved>,
        deadline_ms: i64,
    },
    Done,
}

/// Why a slot cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// No such received link.
    #[error("no such request")]
    Unknown,
    /// Still being fetched and verified.
    #[error("the request is still being checked")]
    Busy,
    /// Answered (or refused) already.
    #[error("this request has been answered already")]
    Done,
    /// The flow's time ran out.
    #[error("the time for this request ran out; start again from your healthcare application")]
    Expired,
}

impl SlotError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown => "not_found",
            Self::Busy => "busy",
            Self::Done => "request_answered",
            Self::Expired => "request_expired",
        }
    }
}

/// The pending consents of this process, by received-link id.
#[derive(Default)]
pub struct ConsentSlots {
    slots: Mutex<HashMap<LinkId, Slot>>,
}

impl std::fmt::Debug for ConsentSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentSlots").finish_non_exhaustive()
    }
}

/// The deadline of a request received at `received_at_ms` whose request object expires at
/// `expires_at` (Unix s): the earlier of the flow window and the expiry.
pub fn deadline_ms(received_at_ms: i64, expires_at: Option<i64>) -> i64 {
    let window = received_at_ms + FLOW_WINDOW_MS;
    expires_at.map_or(window, |exp| window.min(exp * 1000))
}

impl ConsentSlots {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<LinkId, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `id` as being resolved. `Ok(false)` when it is resolved already (show it again).
    pub fn begin(&self, id: LinkId) -> Result<bool, SlotError> {
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

    /// Stores the verified request with its deadline (or marks a refused one done).
    pub fn finish(&self, id: LinkId, resolved: Option<(Resolved, i64)>) {
        let slot = match resolved {
            Some((r, deadline_ms)) => Slot::Ready {
                resolved: Box::new(r),
                deadline_ms,
            },
            None => Slot::Done,
        };
        self.slots().insert(id, slot);
    }

    /// Runs `f` on a waiting request (with its deadline); an expired one becomes done.
    pub fn with<T>(
        &self,
        id: LinkId,
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
    pub fn take(&self, id: LinkId, now_ms: i64) -> Result<Resolved, SlotError> {
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

    /// Closes every pending consent (the vault locked: nothing is answered from a locked
    /// wallet).
    pub fn close_all(&self) {
        for s in self.slots().values_mut() {
            *s = Slot::Done;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_used_once_and_expire() {
        let p = ConsentSlots::default();
        assert_eq!(p.begin(1), Ok(true));
        assert_eq!(p.begin(1), Err(SlotError::Busy));
        assert_eq!(p.take(1, 0).err(), Some(SlotError::Busy));
        p.finish(1, None);
        assert_eq!(p.begin(1), Err(SlotError::Done));
        assert_eq!(p.take(2, 0).err(), Some(SlotError::Unknown));
        assert_eq!(p.with(2, 0, |_, _| ()).err(), Some(SlotError::Unknown));
    }

    #[test]
    fn the_deadline_is_the_earlier_of_window_and_expiry() {
        assert_eq!(deadline_ms(1_000, None), 61_000);
        assert_eq!(deadline_ms(1_000, Some(30)), 30_000);
        assert_eq!(deadline_ms(1_000, Some(100)), 61_000);
    }
}
