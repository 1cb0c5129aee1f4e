//! The in-memory user-flow sessions ([`UserSessions`]) with their lifetimes
//! (`docs/protocol.md` §10): landing token 5 s and one-time, flow state 1 min, a finished
//! token handed out once within 15 min. A standalone store with a small API; the use case in
//! the parent module decides what goes in.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use super::client::PkceVerifier;
use crate::oauth::service::ChannelKind;
use crate::oauth::{AuthorizationServerId, ClientId, Scope, State, TokenResponse, TokenType};

/// Lifetime of the landing token handed to the EHR (`/user?token=`), seconds.
pub const LANDING_TOKEN_SECS: i64 = 5;
/// Lifetime of the OAuth flow state (client state, PKCE verifier), seconds.
pub const FLOW_STATE_SECS: i64 = 60;
/// How long a finished token waits to be collected, seconds (the access token lifetime).
pub const TOKEN_PICKUP_SECS: i64 = 900;
const MAX_SESSIONS: usize = 1024;

/// What a user flow asks for and where its browser ends: the part of a session that its end
/// reports (activity log, and where the browser goes).
#[derive(Debug, Clone)]
pub struct FlowRequest {
    /// Organization subject.
    pub subject: String,
    /// The AS.
    pub authorization_server: AuthorizationServerId,
    /// Scope asked for.
    pub scope: Scope,
    /// Token type asked for.
    pub token_type: TokenType,
    /// The EHR's redirect URI (where the browser goes at the end).
    pub app_redirect_uri: String,
    /// Roster identifier of the employee the EHR named, if any (checked by [`super::begin_flow`]).
    pub preauthorized_user: Option<String>,
    /// Who asked, when known.
    pub channel: Option<ChannelKind>,
}

/// What a finished flow was about: its session id and request.
#[derive(Debug, Clone)]
pub struct FlowSummary {
    /// Session id (what the EHR polls with; not for logs).
    pub session_id: String,
    /// What the flow asked for.
    pub flow: FlowRequest,
}

impl FlowSummary {
    pub(super) fn of(session_id: &str, s: &UserSession) -> Self {
        Self {
            session_id: session_id.to_owned(),
            flow: s.flow.clone(),
        }
    }
}

/// One user-flow session of the wallet as client.
#[derive(Debug)]
pub struct UserSession {
    /// What it asks for.
    pub flow: FlowRequest,
    /// Client state sent in the request object (set at start).
    pub state: Option<State>,
    /// PKCE verifier (set at start).
    pub verifier: Option<PkceVerifier>,
    /// Token endpoint (set at start).
    pub token_endpoint: Option<String>,
    /// Unguessable value in the callback URL the wallet registers for this flow
    /// ([`super::callback_for`]): an error callback without `state` must carry it, so only the
    /// browser and AS of this flow can end it there.
    return_key: String,
    created_at: i64,
    /// When the flow was started: (Unix seconds, start number). The number orders flows
    /// started within the same second, so "the latest" is always the latest.
    started_at: Option<(i64, u64)>,
}

impl UserSession {
    /// The value [`super::callback_for`] puts in this flow's callback URL.
    pub fn return_key(&self) -> &str {
        &self.return_key
    }

    /// A new session (not started yet).
    pub fn new(
        subject: String,
        authorization_server: AuthorizationServerId,
        scope: Scope,
        token_type: TokenType,
        app_redirect_uri: String,
        preauthorized_user: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            flow: FlowRequest {
                subject,
                authorization_server,
                scope,
                token_type,
                app_redirect_uri,
                preauthorized_user,
                channel: None,
            },
            state: None,
            verifier: None,
            token_endpoint: None,
            return_key: wallet_protocol::random::random_token(),
            created_at: now,
            started_at: None,
        }
    }
}

/// State of a session as the EHR polls it (`GET accesstoken/{session_id}`).
#[derive(Debug)]
pub enum TokenPoll {
    /// Not finished.
    Pending,
    /// Finished; the token is handed out this once.
    Active(TokenResponse),
    /// Finished with an error (OAuth code and description).
    Failed {
        /// OAuth error code.
        error: String,
        /// Description.
        description: String,
    },
    /// Unknown, expired or already collected.
    Unknown,
}

enum Entry {
    Flow(Box<UserSession>),
    Done(Result<TokenResponse, (String, String)>, i64),
}

/// In-memory user-flow sessions with their lifetimes.
#[derive(Default)]
pub struct UserSessions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// session id → entry
    sessions: HashMap<String, Entry>,
    /// landing token → (session id, expiry)
    landing: HashMap<String, (String, i64)>,
    /// client state → session id
    by_state: HashMap<State, String>,
    /// Flows the holder ended (decline) whose browser has not come back to the callback yet:
    /// (summary, return key, until). The error callback carries no state, so it looks here
    /// first.
    returns: Vec<(FlowSummary, String, i64)>,
    /// Flows started so far (orders starts within one second).
    starts: u64,
}

impl Inner {
    /// The most recently started running flow that `pick` selects: `(started at, session id)`.
    fn latest_running(&self, pick: impl Fn(&UserSession) -> bool) -> Option<((i64, u64), String)> {
        self.sessions
            .iter()
            .filter_map(|(id, e)| match e {
                Entry::Flow(s) if pick(s) => s.started_at.map(|t| (t, id.clone())),
                _ => None,
            })
            .max()
    }

    /// Ends the running flow `id` with an OAuth error (its state no longer leads to it);
    /// returns its summary.
    fn end_running(
        &mut self,
        id: String,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<FlowSummary> {
        let Some(Entry::Flow(s)) = self.sessions.remove(&id) else {
            return None;
        };
        self.by_state.retain(|_, v| *v != id);
        let f = FlowSummary::of(&id, &s);
        self.sessions.insert(
            id,
            Entry::Done(Err((error.to_owned(), description.to_owned())), now),
        );
        Some(f)
    }
}

impl fmt::Debug for UserSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserSessions")
    }
}

/// Why a session operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The landing token is unknown, used or older than 5 s.
    #[error("unknown or expired user flow link")]
    UnknownLandingToken,
    /// The callback state matches no running session (or it is older than 1 min).
    #[error("unknown or expired user flow state")]
    UnknownState,
    /// Too many sessions at once.
    #[error("too many user flow sessions")]
    Full,
}

impl UserSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store with what has expired by `now` removed.
    fn lock_pruned(&self, now: i64) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        inner
    }

    fn prune(inner: &mut Inner, now: i64) {
        inner.landing.retain(|_, (_, until)| now < *until);
        inner.sessions.retain(|_, e| match e {
            Entry::Flow(s) => now < s.started_at.map_or(s.created_at, |(t, _)| t) + FLOW_STATE_SECS,
            Entry::Done(_, at) => now < *at + TOKEN_PICKUP_SECS,
        });
        inner.returns.retain(|(_, _, until)| now < *until);
        let Inner {
            sessions, by_state, ..
        } = inner;
        by_state.retain(|_, id| matches!(sessions.get(id), Some(Entry::Flow(_))));
    }

    /// Stores a new session; returns `(session_id, landing_token)` (the token is valid 5 s, once).
    pub fn create(
        &self,
        mut session: UserSession,
        now: i64,
    ) -> Result<(String, String), SessionError> {
        session.created_at = now;
        let mut inner = self.lock_pruned(now);
        if inner.sessions.len() >= MAX_SESSIONS {
            return Err(SessionError::Full);
        }
        let id = wallet_protocol::random::random_token();
        let token = wallet_protocol::random::random_token();
        inner
            .landing
            .insert(token.clone(), (id.clone(), now + LANDING_TOKEN_SECS));
        inner
            .sessions
            .insert(id.clone(), Entry::Flow(Box::new(session)));
        Ok((id, token))
    }

    /// Burns a landing token and records the flow start (state, PKCE verifier, token endpoint).
    /// Returns the session id.
    pub fn start(
        &self,
        landing_token: &str,
        state: State,
        verifier: PkceVerifier,
        token_endpoint: String,
        now: i64,
    ) -> Result<String, SessionError> {
        let mut inner = self.lock_pruned(now);
        inner.starts += 1;
        let start = inner.starts;
        let (id, _) = inner
            .landing
            .remove(landing_token)
            .ok_or(SessionError::UnknownLandingToken)?;
        match inner.sessions.get_mut(&id) {
            Some(Entry::Flow(s)) if s.state.is_none() => {
                s.state = Some(state.clone());
                s.verifier = Some(verifier);
                s.token_endpoint = Some(token_endpoint);
                s.started_at = Some((now, start));
            }
            _ => return Err(SessionError::UnknownLandingToken),
        }
        inner.by_state.insert(state, id.clone());
        Ok(id)
    }

    /// Reads a session that has not been started yet (to build the request object for the
    /// landing token).
    pub fn peek_landing<T>(
        &self,
        landing_token: &str,
        now: i64,
        f: impl FnOnce(&UserSession) -> T,
    ) -> Option<T> {
        let inner = self.lock_pruned(now);
        let (id, _) = inner.landing.get(landing_token)?.clone();
        match inner.sessions.get(&id) {
            Some(Entry::Flow(s)) => Some(f(s)),
            _ => None,
        }
    }

    /// The callback: takes the session of `state` out of the flow (one-time), returning the
    /// session id and the session with its verifier, to exchange the code.
    pub fn take_for_callback(
        &self,
        state: &str,
        now: i64,
    ) -> Result<(String, Box<UserSession>), SessionError> {
        let mut inner = self.lock_pruned(now);
        let id = inner
            .by_state
            .remove(state)
            .ok_or(SessionError::UnknownState)?;
        match inner.sessions.remove(&id) {
            Some(Entry::Flow(s)) => Ok((id, s)),
            _ => Err(SessionError::UnknownState),
        }
    }

    /// Records the outcome of a session (token or OAuth error) for the EHR to collect.
    pub fn finish(
        &self,
        session_id: &str,
        result: Result<TokenResponse, (String, String)>,
        now: i64,
    ) {
        let mut inner = self.lock();
        inner
            .sessions
            .insert(session_id.to_owned(), Entry::Done(result, now));
    }

    /// Ends a session whose landing token is still valid with an error (the flow could not
    /// be started), burning the token. Returns the session's summary.
    pub fn fail_landing(
        &self,
        landing_token: &str,
        error: (String, String),
        now: i64,
    ) -> Option<FlowSummary> {
        let mut inner = self.lock_pruned(now);
        let (id, _) = inner.landing.remove(landing_token)?;
        match inner.sessions.remove(&id) {
            Some(Entry::Flow(s)) => {
                let f = FlowSummary::of(&id, &s);
                inner.sessions.insert(id, Entry::Done(Err(error), now));
                Some(f)
            }
            Some(other) => {
                inner.sessions.insert(id, other);
                None
            }
            None => None,
        }
    }

    /// An error callback without state for `subject` carrying `return_key`: the flow the
    /// holder aborted (if its browser has not come back yet) or the running flow whose
    /// callback URL holds that key, which then ends with `error`. Returns its summary (where
    /// the browser goes); `None`, and nothing changes, when no flow has that key.
    pub fn end_without_state(
        &self,
        subject: &str,
        return_key: &str,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<FlowSummary> {
        let mut inner = self.lock_pruned(now);
        if let Some(i) = inner
            .returns
            .iter()
            .position(|(f, k, _)| f.flow.subject == subject && same_key(k, return_key))
        {
            return Some(inner.returns.remove(i).0);
        }
        let id = inner.sessions.iter().find_map(|(id, e)| match e {
            Entry::Flow(s)
                if s.started_at.is_some()
                    && s.flow.subject == subject
                    && same_key(&s.return_key, return_key) =>
            {
                Some(id.clone())
            }
            _ => None,
        })?;
        inner.end_running(id, error, description, now)
    }

    /// The return key of a session (tests build its callback URL with it).
    #[cfg(test)]
    pub(crate) fn return_key_of(&self, session_id: &str) -> Option<String> {
        match self.lock().sessions.get(session_id) {
            Some(Entry::Flow(s)) => Some(s.return_key.clone()),
            _ => None,
        }
    }

    /// The roster identifier the EHR named for the most recently started running flow with
    /// `verifier` (an AS issuer), to preselect the employee on the consent screen.
    pub fn preauthorized_user_for(&self, verifier: &ClientId, now: i64) -> Option<String> {
        let inner = self.lock_pruned(now);
        inner
            .sessions
            .values()
            .filter_map(|e| match e {
                Entry::Flow(s) if verifier == s.flow.authorization_server.as_str() => {
                    s.started_at.map(|t| (t, s.flow.preauthorized_user.clone()))
                }
                _ => None,
            })
            .max_by_key(|(t, _)| *t)?
            .1
    }

    /// Polls a session: pending, the token (once), the error (once), or unknown.
    pub fn poll(&self, session_id: &str, now: i64) -> TokenPoll {
        let mut inner = self.lock_pruned(now);
        match inner.sessions.get(session_id) {
            None => TokenPoll::Unknown,
            Some(Entry::Flow(_)) => TokenPoll::Pending,
            Some(Entry::Done(..)) => match inner.sessions.remove(session_id) {
                Some(Entry::Done(Ok(t), _)) => TokenPoll::Active(t),
                Some(Entry::Done(Err((error, description)), _)) => {
                    TokenPoll::Failed { error, description }
                }
                _ => TokenPoll::Unknown,
            },
        }
    }

    /// Ends the most recently started running session with `verifier` with an error, e.g.
    /// after the holder declined (a Nuts AS sends the client no `state` with a wallet error,
    /// `docs/protocol.md` §12, so the callback cannot find the session itself). Returns
    /// `(session_id, EHR redirect_uri)`. [`super::abort_flow`] also records the end.
    pub fn abort_running_for(
        &self,
        verifier: &ClientId,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<(String, String)> {
        self.abort_running(verifier, error, description, now)
            .map(|f| (f.session_id, f.flow.app_redirect_uri))
    }

    pub(super) fn abort_running(
        &self,
        verifier: &ClientId,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<FlowSummary> {
        let mut inner = self.lock_pruned(now);
        let (_, id) = inner.latest_running(|s| verifier == s.flow.authorization_server.as_str())?;
        let key = match inner.sessions.get(&id) {
            Some(Entry::Flow(s)) => s.return_key.clone(),
            _ => return None,
        };
        let f = inner.end_running(id, error, description, now)?;
        // The browser may still come back to the callback (without state); it then goes on to
        // the EHR.
        if inner.returns.len() >= MAX_SESSIONS {
            inner.returns.remove(0);
        }
        inner.returns.push((f.clone(), key, now + FLOW_STATE_SECS));
        Some(f)
    }

    /// Whether a started, unfinished session of this subject is running for `verifier`
    /// (an AS issuer or client id), for the unsolicited-request check.
    pub fn has_running_flow_for(&self, verifier: &ClientId, now: i64) -> bool {
        let inner = self.lock_pruned(now);
        inner.sessions.values().any(|e| match e {
            Entry::Flow(s) => {
                s.started_at.is_some() && verifier == s.flow.authorization_server.as_str()
            }
            Entry::Done(..) => false,
        })
    }
}

/// Compares two return keys by their SHA-256 digests, so the time taken says nothing about
/// how much of a guessed key was right.
fn same_key(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::user_flow::PkcePair;

    #[test]
    fn sessions_follow_the_b7_lifetimes() {
        let s = UserSessions::default();
        let mk = || {
            UserSession::new(
                "sub".into(),
                AuthorizationServerId::parse("https://as.example/oauth2/a").unwrap(),
                Scope::parse("test").unwrap(),
                TokenType::DPoP,
                "https://ehr.example/cb".into(),
                None,
                100,
            )
        };
        // landing token: 5 s, one-time
        let (_, late) = s.create(mk(), 100).unwrap();
        assert_eq!(
            s.start(
                &late,
                "x".into(),
                PkcePair::generate().verifier,
                "t".into(),
                105
            ),
            Err(SessionError::UnknownLandingToken)
        );
        let (id, tok) = s.create(mk(), 100).unwrap();
        assert!(matches!(s.poll(&id, 101), TokenPoll::Pending));
        assert_eq!(
            s.start(
                &tok,
                "st".into(),
                PkcePair::generate().verifier,
                "t".into(),
                101
            ),
            Ok(id.clone())
        );
        assert!(s
            .start(
                &tok,
                "st2".into(),
                PkcePair::generate().verifier,
                "t".into(),
                101
            )
            .is_err());
        assert!(s.has_running_flow_for(&"https://as.example/oauth2/a".into(), 102));
        assert!(!s.has_running_flow_for(&"https://other.example".into(), 102));
        // state: one-time
        let (sid, sess) = s.take_for_callback("st", 150).unwrap();
        assert_eq!(sid, id);
        assert!(sess.verifier.is_some());
        assert_eq!(
            s.take_for_callback("st", 150).unwrap_err(),
            SessionError::UnknownState
        );
        s.finish(&id, Err(("access_denied".into(), "declined".into())), 151);
        assert!(matches!(s.poll(&id, 152), TokenPoll::Failed { .. }));
        assert!(matches!(s.poll(&id, 152), TokenPoll::Unknown));
        // state older than 1 min is gone
        let (_, tok2) = s.create(mk(), 200).unwrap();
        s.start(
            &tok2,
            "st3".into(),
            PkcePair::generate().verifier,
            "t".into(),
            200,
        )
        .unwrap();
        assert!(s.take_for_callback("st3", 260).is_err());
        // abort after a decline: the latest running flow with that verifier
        let (id4, tok4) = s.create(mk(), 300).unwrap();
        s.start(
            &tok4,
            "st4".into(),
            PkcePair::generate().verifier,
            "t".into(),
            300,
        )
        .unwrap();
        assert_eq!(
            s.abort_running_for(&"https://other.example".into(), "access_denied", "no", 301),
            None
        );
        let (aid, redirect) = s
            .abort_running_for(
                &"https://as.example/oauth2/a".into(),
                "access_denied",
                "no",
                301,
            )
            .unwrap();
        assert_eq!(
            (aid.as_str(), redirect.as_str()),
            (id4.as_str(), "https://ehr.example/cb")
        );
        assert!(s.take_for_callback("st4", 302).is_err());
        assert!(matches!(s.poll(&id4, 302), TokenPoll::Failed { .. }));
    }
}
