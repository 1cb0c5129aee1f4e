//! The wallet as OAuth client in the Nuts user flow (authorization code + PKCE + a signed
//! request object; `docs/protocol.md` §3, §10): the use case shared by the loopback API and
//! the CLI.
//!
//! * [`begin_flow`]: every check of a new request (organization subject, admin policy, EHR
//!   redirect URI, `preauthorized_user` against the roster), then a session and its landing
//!   token; records `user_token.start`.
//! * [`start_flow`] (landing URL) and [`complete_flow`] (callback), or
//!   [`end_flow_without_state`] for an error callback without `state`; each end of a flow
//!   records `user_token.finish`.
//! * The protocol steps (discovery, PKCE, the request object, the code exchange) come from
//!   `wallet_protocol::oauth` through [`client`]; the sessions are [`UserSessions`]
//!   ([`sessions`]); the errors [`UserFlowError`] ([`error`]).
//!
//! Nothing here logs codes, verifiers, landing tokens or access tokens; activity entries name
//! a flow by a short hash of its session id, never the id itself.

pub mod client;
pub mod error;
pub mod sessions;

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;
use wallet_protocol::net::HttpClient;
use wallet_vault::{Actor, NewActivity, Outcome, Vault};

pub use client::{
    authorization_url, discover, exchange_code, s256_challenge, sign_authorization_request,
    AuthorizationRequest, PkcePair, PkceVerifier, UserFlowMetadata, JAR_LIFETIME_SECS,
};
pub use error::UserFlowError;
pub use sessions::{
    FlowSummary, SessionError, TokenPoll, UserSession, UserSessions, FLOW_STATE_SECS,
    LANDING_TOKEN_SECS, TOKEN_PICKUP_SECS,
};

use super::dpop::DpopNonces;
use super::error::sanitize;
use super::service::ChannelKind;
use super::{AuthorizationServerId, ClientId, Requester, Scope, State, TokenResponse, TokenType};
use crate::access_policy::{PolicyDecision, PolicyError, ServicePolicy};

/// Activity action: a user flow was asked for (`outcome` failure when it was refused).
pub const ACTION_USER_TOKEN_START: &str = "user_token.start";
/// Activity action: a user flow ended (token obtained, declined, or failed).
pub const ACTION_USER_TOKEN_FINISH: &str = "user_token.finish";
/// Longest EHR `redirect_uri` accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;
/// Query parameter of the wallet's callback URL that carries a flow's return key.
pub const RETURN_KEY_PARAM: &str = "flow";

/// The callback URL the wallet registers for one flow: the host's `callback` with the flow's
/// return key added, so an error callback without `state` can only end the flow whose browser
/// and AS were given this URL (the AS keeps the query when it adds its parameters).
pub fn callback_for(callback: &str, return_key: &str) -> String {
    match Url::parse(callback) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair(RETURN_KEY_PARAM, return_key);
            u.into()
        }
        Err(_) => callback.to_owned(),
    }
}

/// The employee the EHR names (Nuts `preauthorized_user`). The roster is the source of truth:
/// `id` must be the identifier of an active roster entry, and `name`/`role`, when given, must
/// equal that entry's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PreauthorizedUser {
    /// Roster identifier (`identifier` of the employee credential).
    pub id: String,
    /// Full name, if the EHR sends it.
    #[serde(default)]
    pub name: Option<String>,
    /// Role, if the EHR sends it.
    #[serde(default)]
    pub role: Option<String>,
}

/// A request for a user access token (the internal API's `request-user-access-token`).
#[derive(Debug, Clone)]
pub struct NewUserFlow {
    /// Organization subject (must be the vault's organization).
    pub subject: String,
    /// The AS (must be allowed by the administrator's policy).
    pub authorization_server: AuthorizationServerId,
    /// Scope.
    pub scope: Scope,
    /// Token type (Nuts default DPoP).
    pub token_type: TokenType,
    /// Where the browser goes at the end: an absolute http(s) URL of the EHR.
    pub app_redirect_uri: String,
    /// The employee the EHR names, if any.
    pub preauthorized_user: Option<PreauthorizedUser>,
    /// Who asks (for the activity log).
    pub channel: ChannelKind,
}

/// Checks a request for a user access token, stores the session and returns
/// `(session_id, landing_token)`; the landing token is valid 5 s, once (`docs/protocol.md` §10). Records
/// `user_token.start` (also when refused).
///
/// Refused: vault locked ([`UserFlowError::Locked`]); `subject` is not the vault's organization
/// ([`UserFlowError::UnknownSubject`]); the policy refuses the AS ([`UserFlowError::NotAllowed`];
/// a scope that needs consent is fine, the clinician consents anyway); `app_redirect_uri` not
/// an absolute http(s) URL ([`UserFlowError::InvalidRequest`]); `preauthorized_user` not on the
/// roster, deactivated, or with another name/role ([`UserFlowError::UnknownEmployee`],
/// [`UserFlowError::InactiveEmployee`], [`UserFlowError::EmployeeMismatch`]).
pub fn begin_flow(
    vault: &Vault,
    sessions: &UserSessions,
    req: NewUserFlow,
    now: i64,
) -> Result<(String, String), UserFlowError> {
    let result = check_new_flow(vault, &req).and_then(|employee| {
        let mut session = UserSession::new(
            req.subject.clone(),
            req.authorization_server.clone(),
            req.scope.clone(),
            req.token_type,
            req.app_redirect_uri.clone(),
            employee,
            now,
        );
        session.flow.channel = Some(req.channel);
        Ok(sessions.create(session, now)?)
    });
    record_start(vault, &req, &result);
    match &result {
        Ok(_) => tracing::info!(
            authorization_server = %req.authorization_server,
            scope = %req.scope,
            "user flow started"
        ),
        Err(e) => tracing::info!(code = e.code(), error = %e, "user flow refused"),
    }
    result
}

/// The checks of [`begin_flow`]; returns the employee's roster identifier, if one was named.
fn check_new_flow(vault: &Vault, req: &NewUserFlow) -> Result<Option<String>, UserFlowError> {
    if vault.is_locked() {
        return Err(UserFlowError::Locked);
    }
    let org = crate::org::organization(vault)
        .map_err(UserFlowError::from_identity)?
        .ok_or_else(|| UserFlowError::UnknownSubject(req.subject.clone()))?;
    if org.subject != req.subject {
        return Err(UserFlowError::UnknownSubject(req.subject.clone()));
    }
    let policy = ServicePolicy::load(vault).map_err(|e| match e {
        PolicyError::Vault(v) => UserFlowError::from_vault(v),
        other => UserFlowError::Storage(other.to_string()),
    })?;
    if policy.decide(req.authorization_server.as_str(), req.scope.as_str())
        == PolicyDecision::Refused
    {
        return Err(UserFlowError::NotAllowed(
            req.authorization_server.to_string(),
        ));
    }
    check_app_redirect_uri(&req.app_redirect_uri)?;
    req.preauthorized_user
        .as_ref()
        .map(|u| check_employee(vault, u))
        .transpose()
}

/// The EHR's `redirect_uri`: absolute http(s) with a host, no credentials, no fragment
/// (RFC 6749 3.1.2), at most [`MAX_REDIRECT_URI_LEN`] characters.
fn check_app_redirect_uri(uri: &str) -> Result<(), UserFlowError> {
    let bad = |why: &str| UserFlowError::InvalidRequest(format!("redirect_uri {why}"));
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(bad("is too long"));
    }
    let u = Url::parse(uri).map_err(|_| bad("is not an absolute URL"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    if u.host().is_none() {
        return Err(bad("has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not hold credentials"));
    }
    if u.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    Ok(())
}

/// Matches `preauthorized_user` with the roster by identifier; returns the identifier.
fn check_employee(vault: &Vault, u: &PreauthorizedUser) -> Result<String, UserFlowError> {
    let id = u.id.trim();
    if id.is_empty() {
        return Err(UserFlowError::InvalidRequest(
            "preauthorized_user.id must not be empty".into(),
        ));
    }
    let e = vault
        .employees()
        .by_identifier(id)
        .map_err(UserFlowError::from_vault)?
        .ok_or_else(|| UserFlowError::UnknownEmployee(sanitize(id, 256)))?;
    if !e.active {
        return Err(UserFlowError::InactiveEmployee(e.identifier));
    }
    for (field, given) in [("name", &u.name), ("role", &u.role)] {
        let Some(given) = given.as_deref().map(str::trim) else {
            continue;
        };
        let roster = e.personal.get(field).and_then(Value::as_str).unwrap_or("");
        if given != roster.trim() {
            return Err(UserFlowError::EmployeeMismatch {
                identifier: e.identifier,
                field,
            });
        }
    }
    Ok(e.identifier)
}

/// A short, non-secret reference to a session for the activity log (the session id itself
/// lets the EHR collect the token, so it is not written down).
fn flow_ref(session_id: &str) -> String {
    Sha256::digest(session_id.as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn record_activity(vault: &Vault, action: &str, subject: &str, outcome: Outcome, detail: Value) {
    let entry = NewActivity::new(Actor::System, action, subject)
        .outcome(outcome)
        .detail(detail);
    if let Err(e) = vault.activity_log().record(entry) {
        // A locked vault cannot log; the caller already gets the error.
        tracing::warn!(error = %e, "could not record the user flow in the activity log");
    }
}

fn record_start(
    vault: &Vault,
    req: &NewUserFlow,
    result: &Result<(String, String), UserFlowError>,
) {
    let mut detail = json!({
        "organization": sanitize(&req.subject, 256),
        "scope": req.scope.as_str(),
        "token_type": req.token_type.as_str(),
        "channel": req.channel,
        "employee": req.preauthorized_user.as_ref().map(|u| sanitize(&u.id, 256)),
    });
    let outcome = match result {
        Ok((id, _)) => {
            detail["flow"] = json!(flow_ref(id));
            Outcome::Success
        }
        Err(e) => {
            detail["error"] = json!(e.code());
            detail["message"] = json!(e.to_string());
            detail["http_status"] = json!(e.http_status());
            Outcome::Failure
        }
    };
    record_activity(
        vault,
        ACTION_USER_TOKEN_START,
        req.authorization_server.as_str(),
        outcome,
        detail,
    );
}

fn record_finish(vault: &Vault, f: &FlowSummary, result: Result<&TokenResponse, (&str, &str)>) {
    let mut detail = json!({
        "organization": f.flow.subject,
        "scope": f.flow.scope.as_str(),
        "token_type": f.flow.token_type.as_str(),
        "channel": f.flow.channel,
        "employee": f.flow.preauthorized_user,
        "flow": flow_ref(&f.session_id),
    });
    let outcome = match result {
        Ok(t) => {
            detail["granted_scope"] = json!(t.scope);
            detail["issued_token_type"] = json!(t.token_type.as_str());
            Outcome::Success
        }
        Err((error, description)) => {
            detail["error"] = json!(error);
            detail["message"] = json!(description);
            if error == "access_denied" {
                Outcome::Declined
            } else {
                Outcome::Failure
            }
        }
    };
    record_activity(
        vault,
        ACTION_USER_TOKEN_FINISH,
        f.flow.authorization_server.as_str(),
        outcome,
        detail,
    );
}

/// The landing URL (`docs/protocol.md` §3): discovers the AS, creates the PKCE pair and client state,
/// signs the request object, burns the landing token and records the start in `sessions`. Returns the
/// authorization URL to redirect the browser to. `callback` is the wallet's callback URL; the
/// request object names it with the flow's return key ([`callback_for`]).
/// When the flow cannot start (AS unreachable, signing fails), the session ends with that
/// error for the EHR's poll, and `user_token.finish` is recorded.
pub async fn start_flow(
    http: &dyn HttpClient,
    vault: &Vault,
    sessions: &UserSessions,
    requester: &Requester,
    landing_token: &str,
    callback: &str,
    now: i64,
) -> Result<Url, UserFlowError> {
    let (issuer, scope, callback) = sessions
        .peek_landing(landing_token, now, |s| {
            (
                s.flow.authorization_server.clone(),
                s.flow.scope.clone(),
                callback_for(callback, s.return_key()),
            )
        })
        .ok_or(SessionError::UnknownLandingToken)?;
    let prepared = async {
        let md = discover(http, &issuer).await?;
        let pkce = PkcePair::generate();
        let state = State::random();
        let jar = sign_authorization_request(
            requester,
            &AuthorizationRequest {
                authorization_server: issuer,
                scope,
                state: state.clone(),
                redirect_uri: callback,
                code_challenge: pkce.challenge.clone(),
            },
            now,
        )?;
        let url = authorization_url(&md.authorization_endpoint, &requester.client_id, &jar)?;
        Ok::<_, UserFlowError>((url, state, pkce, md.token_endpoint))
    }
    .await;
    match prepared {
        Ok((url, state, pkce, token_endpoint)) => {
            sessions.start(landing_token, state, pkce.verifier, token_endpoint, now)?;
            Ok(url)
        }
        Err(e) => {
            let err = (e.oauth_error().to_owned(), e.to_string());
            if let Some(f) = sessions.fail_landing(landing_token, err.clone(), now) {
                record_finish(vault, &f, Err((&err.0, &err.1)));
            }
            Err(e)
        }
    }
}

/// The callback (`docs/protocol.md` §3): takes the session of `state`, exchanges `code` (or records
/// the AS's `error`), stores the outcome for the EHR's poll, records `user_token.finish` and
/// returns the session (its `app_redirect_uri` is where the browser goes).
#[allow(clippy::too_many_arguments)]
pub async fn complete_flow(
    http: &dyn HttpClient,
    nonces: &DpopNonces,
    vault: &Vault,
    sessions: &UserSessions,
    requester: &Requester,
    state: &str,
    code: Option<&str>,
    error: Option<(&str, &str)>,
    callback: &str,
    now: i64,
) -> Result<FlowSummary, UserFlowError> {
    let (id, session) = sessions.take_for_callback(state, now)?;
    let summary = FlowSummary::of(&id, &session);
    let result = match (code, error) {
        (_, Some((e, d))) => Err((sanitize(e, 64), sanitize(d, 512))),
        (Some(code), None) => match (&session.verifier, &session.token_endpoint) {
            (Some(verifier), Some(te)) => exchange_code(
                http,
                nonces,
                requester,
                te,
                code,
                verifier,
                &callback_for(callback, session.return_key()),
                session.flow.token_type,
                now,
            )
            .await
            .map_err(|e| (e.oauth_error().to_owned(), e.to_string())),
            _ => Err(("server_error".into(), "the flow was not started".into())),
        },
        (None, None) => Err(("invalid_request".into(), "no code in the callback".into())),
    };
    record_finish(
        vault,
        &summary,
        result.as_ref().map_err(|(e, d)| (e.as_str(), d.as_str())),
    );
    match &result {
        Ok(_) => tracing::info!("user flow finished with a token"),
        Err((e, _)) => tracing::info!(error = %e, "user flow finished without a token"),
    }
    sessions.finish(&id, result, now);
    Ok(summary)
}

/// An error callback without `state` (a Nuts AS sends none after a wallet error,
/// `docs/protocol.md` §12) carrying the flow's `return_key` (from [`RETURN_KEY_PARAM`]): ends
/// the flow of `subject` with that key (one the holder aborted, or a running one) with `error`;
/// records `user_token.finish`. `None`, with nothing changed or recorded, when no flow of
/// `subject` has that key: a page that guesses the callback URL cannot end anyone's flow.
pub fn end_flow_without_state(
    vault: &Vault,
    sessions: &UserSessions,
    subject: &str,
    return_key: &str,
    error: &str,
    description: &str,
    now: i64,
) -> Option<FlowSummary> {
    let f = end_with_error(vault, error, description, |e, d| {
        sessions.end_without_state(subject, return_key, e, d, now)
    })?;
    tracing::info!(error = %sanitize(error, 64), "user flow ended by an error callback");
    Some(f)
}

/// Ends the most recently started running flow with `verifier` (an AS issuer) with an error,
/// e.g. after the clinician declined in the holder, and records `user_token.finish`. Returns
/// its summary (`app_redirect_uri`: where the browser goes), `None` when no such flow runs.
pub fn abort_flow(
    vault: &Vault,
    sessions: &UserSessions,
    verifier: &ClientId,
    error: &str,
    description: &str,
    now: i64,
) -> Option<FlowSummary> {
    end_with_error(vault, error, description, |e, d| {
        sessions.abort_running(verifier, e, d, now)
    })
}

/// Ends a flow chosen by `end` with the (sanitized) error and records `user_token.finish`.
fn end_with_error(
    vault: &Vault,
    error: &str,
    description: &str,
    end: impl FnOnce(&str, &str) -> Option<FlowSummary>,
) -> Option<FlowSummary> {
    let error = sanitize(error, 64);
    let description = sanitize(description, 512);
    let f = end(&error, &description)?;
    record_finish(vault, &f, Err((&error, &description)));
    Some(f)
}

#[cfg(test)]
mod tests;
