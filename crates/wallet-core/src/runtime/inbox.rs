//! The inbox of received wallet links. A link is parsed once, here, into a typed
//! [`AuthorizeLink`] (typed client id and request URI); the consent flow takes that value by
//! id and never parses the text again. A malformed link is kept with its typed refusal, so the
//! host can say why nothing happened.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::deeplink::{self, AuthorizeLink, DeepLinkError};

/// Keeps at most this many received links (a misbehaving page cannot grow memory).
pub const MAX_INCOMING: usize = 50;

/// Sequence number of a received link within this process.
pub type LinkId = u32;

/// A received link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingLink {
    /// Sequence number within this process.
    pub id: LinkId,
    /// When it arrived (Unix ms).
    pub received_at_ms: i64,
    /// The text as received, cut at [`deeplink::MAX_LINK_LEN`] (a request by reference holds
    /// no secret).
    pub raw: String,
    /// The typed request, or why the link was refused.
    pub parsed: Result<AuthorizeLink, DeepLinkError>,
}

/// The received links, oldest first.
#[derive(Debug, Default)]
pub struct Inbox {
    links: Mutex<VecDeque<IncomingLink>>,
}

impl Inbox {
    fn links(&self) -> std::sync::MutexGuard<'_, VecDeque<IncomingLink>> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Parses `raw` once and records it; returns the record.
    pub fn receive(&self, raw: &str, now_ms: i64) -> IncomingLink {
        let parsed = deeplink::parse_authorize_link(raw);
        self.push(raw, parsed, now_ms)
    }

    /// Records a link the host parsed already (e.g. to refuse bad input before anything else).
    pub fn admit(&self, raw: &str, link: AuthorizeLink, now_ms: i64) -> IncomingLink {
        self.push(raw, Ok(link), now_ms)
    }

    fn push(
        &self,
        raw: &str,
        parsed: Result<AuthorizeLink, DeepLinkError>,
        now_ms: i64,
    ) -> IncomingLink {
        let mut links = self.links();
        let id = links.back().map_or(1, |r| r.id + 1);
        let record = IncomingLink {
            id,
            received_at_ms: now_ms,
            raw: raw.chars().take(deeplink::MAX_LINK_LEN).collect(),
            parsed,
        };
        links.push_back(record.clone());
        if links.len() > MAX_INCOMING {
            links.pop_front();
        }
        record
    }

    /// The link `id`, if it is still kept.
    pub fn get(&self, id: LinkId) -> Option<IncomingLink> {
        self.links().iter().find(|l| l.id == id).cloned()
    }

    /// All kept links, oldest first.
    pub fn all(&self) -> Vec<IncomingLink> {
        self.links().iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_parsed_once_numbered_and_bounded() {
        let inbox = Inbox::default();
        let ok = inbox.receive(
            "nuts-wallet://authorize?client_id=https://as.example/o&request_uri=https://as.example/r",
            5,
        );
        assert_eq!(ok.id, 1);
        assert_eq!(ok.parsed.as_ref().unwrap().client_id.host(), "as.example");
        let bad = inbox.receive("nuts-wallet://authorize?client_id=http://as.example/o", 6);
        assert_eq!(bad.id, 2);
        assert_eq!(bad.parsed.unwrap_err().code(), "invalid_parameter");
        for _ in 0..MAX_INCOMING {
            inbox.receive("x", 7);
        }
        assert_eq!(inbox.all().len(), MAX_INCOMING);
        assert!(inbox.get(1).is_none(), "the oldest is dropped");
        assert_eq!(inbox.all().last().unwrap().id, MAX_INCOMING as u32 + 2);
    }
}
