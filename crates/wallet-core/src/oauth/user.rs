//! The wallet as OAuth client in the Nuts user flow (authorization code + PKCE + JAR; protocol
//! brief sections B.1 steps 1-4 and 11-15, B.2, B.6, B.7).
//!
//! Building blocks the loopback API wires together:
//! * [`PkcePair::generate`]: S256 pair; the verifier is a [`PkceVerifier`] (not `Clone`,
//!   redacted `Debug`, zeroized on drop).
//! * [`sign_authorization_request`]: JAR #1 by value, signed by the organization key, claims per
//!   B.2 plus `iat`/`exp` (what Nuts master requires).
//! * [`discover`]: the AS metadata fields this flow needs (`authorization_endpoint`, ...).
//! * [`authorization_url`]: where the browser is sent (`client_id` + `request`).
//! * [`exchange_code`]: the `authorization_code` grant with the PKCE verifier, DPoP when asked,
//!   error handling shared with the s2s client.
//! * [`UserSessions`]: the in-memory session store with the B.7 lifetimes (landing token 5 s
//!   one-time, flow state 1 min, finished token handed out once).
//!
//! The use case on top, shared by the loopback API and the CLI:
//! * [`begin_flow`]: every check of a new request (organization subject, admin policy, EHR
//!   redirect URI, `preauthorized_user` against the roster), then a session and its landing
//!   token; records `user_token.start`.
//! * [`start_flow`] (landing URL) and [`complete_flow`] (callback), or
//!   [`end_flow_without_state`] for an error callback without `state` (B.5); each end of a
//!   flow records `user_token.finish`.
//!
//! Nothing here logs codes, verifiers, landing tokens or access tokens; activity entries name
//! a flow by a short hash of its session id, never the id itself.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;
use wallet_protocol::jose::{self, b64url};
use wallet_protocol::net::{HttpClient, HttpRequest, Method};
use wallet_vault::{Actor, NewActivity, Outcome, Vault, VaultError};
use zeroize::Zeroizing;

use super::dpop::{send_with_dpop, DpopNonces};
use super::error::{Endpoint, S2sError};
use super::metadata::{error_from_response, MAX_METADATA_BYTES};
use super::s2s::{parse_token_response, MAX_TOKEN_RESPONSE_BYTES};
use super::service::ChannelKind;
use super::{AuthorizationServerId, Requester, Scope, TokenResponse, TokenType};
use crate::policy::{PolicyDecision, PolicyError, ServicePolicy};

/// Lifetime of the landing token handed to the EHR (`/user?token=`), seconds (B.7).
pub const LANDING_TOKEN_SECS: i64 = 5;
/// Lifetime of the OAuth flow state (client state, PKCE verifier), seconds (B.7).
pub const FLOW_STATE_SECS: i64 = 60;
/// How long a finished token waits to be collected, seconds (the access token lifetime, B.7).
pub const TOKEN_PICKUP_SECS: i64 = 900;
/// Lifetime of JAR #1 (`exp - iat`), seconds (Nuts master: 5 min).
pub const JAR_LIFETIME_SECS: i64 = 300;
const MAX_SESSIONS: usize = 1024;

/// 32 random bytes, base64url (43 characters).
pub(crate) fn random_b64_32() -> String {
    let mut b = Zeroizing::new([0u8; 32]);
    b[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    b[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    b64url(&b[..])
}

/// A PKCE code verifier (RFC 7636). Not `Clone`, redacted `Debug`, zeroized on drop.
pub struct PkceVerifier(Zeroizing<String>);

impl PkceVerifier {
    /// The verifier text, for the token request only.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The S256 challenge of this verifier.
    pub fn challenge(&self) -> String {
        s256_challenge(&self.0)
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([redacted])")
    }
}

/// `base64url(SHA-256(verifier))`.
pub fn s256_challenge(verifier: &str) -> String {
    b64url(&Sha256::digest(verifier.as_bytes()))
}

/// A PKCE pair, method `S256`.
#[derive(Debug)]
pub struct PkcePair {
    /// The secret verifier (kept by the wallet until the code exchange).
    pub verifier: PkceVerifier,
    /// `base64url(SHA-256(verifier))`, sent in JAR #1.
    pub challenge: String,
}

impl PkcePair {
    /// A fresh pair: verifier = 32 random bytes, base64url (43 characters).
    pub fn generate() -> Self {
        let verifier = PkceVerifier(Zeroizing::new(random_b64_32()));
        let challenge = verifier.challenge();
        Self {
            verifier,
            challenge,
        }
    }
}

/// The AS metadata fields the user flow needs.
#[derive(Debug, Clone, Deserialize)]
pub struct UserFlowMetadata {
    /// Must equal the issuer asked for.
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Code exchange.
    pub token_endpoint: String,
    /// Nuts: must include `entity_id`.
    #[serde(default)]
    pub client_id_schemes_supported: Option<Vec<String>>,
    /// When `false`, JAR parameters may also go in the query (the wallet always signs).
    #[serde(default)]
    pub require_signed_request_object: Option<bool>,
}

/// Fetches the AS metadata (RFC 8414 well-known URL) and checks what the user flow needs:
/// issuer match, https authorization and token endpoints, `entity_id` client id scheme.
pub async fn discover(
    http: &dyn HttpClient,
    issuer: &AuthorizationServerId,
) -> Result<UserFlowMetadata, S2sError> {
    let ep = Endpoint::Metadata;
    let bad = |reason: String| S2sError::BadResponse {
        endpoint: ep,
        reason,
    };
    let url = wallet_protocol::metadata::well_known_url(issuer.url(), "oauth-authorization-server")
        .map_err(|e| S2sError::InvalidRequest(e.to_string()))?;
    let mut req = HttpRequest::get(url, "application/json");
    req.max_body_bytes = MAX_METADATA_BYTES;
    let resp = http
        .execute(req)
        .await
        .map_err(|e| S2sError::from_net(ep, e))?;
    if resp.status != 200 {
        return Err(error_from_response(ep, &resp));
    }
    let md: UserFlowMetadata = serde_json::from_slice(&resp.body)
        .map_err(|e| bad(format!("not usable for the user flow: {e}")))?;
    if md.issuer != issuer.as_str() {
        return Err(bad("issuer does not match the authorization server".into()));
    }
    for (name, v) in [
        ("authorization_endpoint", &md.authorization_endpoint),
        ("token_endpoint", &md.token_endpoint),
    ] {
        let u = Url::parse(v).map_err(|_| bad(format!("{name} is not a URL")))?;
        if u.scheme() != "https" {
            return Err(bad(format!("{name} is not https")));
        }
    }
    if let Some(s) = &md.client_id_schemes_supported {
        if !s.iter().any(|s| s == "entity_id") {
            return Err(bad(
                "client_id_schemes_supported does not include entity_id".into(),
            ));
        }
    }
    Ok(md)
}

/// What goes into JAR #1.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The AS issuer (`aud`).
    pub authorization_server: AuthorizationServerId,
    /// Requested scope.
    pub scope: Scope,
    /// Client state (random, checked at the callback).
    pub state: String,
    /// The wallet's callback URL.
    pub redirect_uri: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
}

/// Signs JAR #1 (B.2) with the organization key: `iss` = organization DID, `client_id`,
/// `aud` = AS issuer, `response_type=code`, `scope`, `state`, `redirect_uri`,
/// `code_challenge` + `S256`, `iat`, `exp` = iat + 5 min.
pub fn sign_authorization_request(
    requester: &Requester,
    req: &AuthorizationRequest,
    now: i64,
) -> Result<String, S2sError> {
    let claims = json!({
        "iss": requester.did.as_str(),
        "client_id": requester.client_id,
        "aud": req.authorization_server.as_str(),
        "response_type": "code",
        "scope": req.scope.as_str(),
        "state": req.state,
        "redirect_uri": req.redirect_uri,
        "code_challenge": req.code_challenge,
        "code_challenge_method": "S256",
        "iat": now,
        "exp": now + JAR_LIFETIME_SECS,
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    jose::sign_jwt(requester.signer.as_ref(), &claims)
        .map_err(|e| S2sError::Signing(format!("request object: {e}")))
}

/// The authorization URL for the browser: `authorization_endpoint?client_id=..&request=<JAR>`
/// (request object by value).
pub fn authorization_url(
    authorization_endpoint: &str,
    client_id: &str,
    request_object: &str,
) -> Result<Url, S2sError> {
    let mut u = Url::parse(authorization_endpoint)
        .map_err(|_| S2sError::InvalidRequest("authorization_endpoint is not a URL".into()))?;
    u.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request", request_object);
    Ok(u)
}

/// Exchanges an authorization code (B.6): `grant_type=authorization_code`, `code`,
/// `client_id`, `code_verifier`, `redirect_uri`; DPoP proof with the organization key when a
/// DPoP token is asked for (one retry on `use_dpop_nonce`).
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    http: &dyn HttpClient,
    nonces: &DpopNonces,
    requester: &Requester,
    token_endpoint: &str,
    code: &str,
    verifier: &PkceVerifier,
    redirect_uri: &str,
    token_type: TokenType,
    now: i64,
) -> Result<TokenResponse, S2sError> {
    let url = Url::parse(token_endpoint).map_err(|_| S2sError::BadResponse {
        endpoint: Endpoint::Metadata,
        reason: "token_endpoint is not a URL".into(),
    })?;
    let body = Zeroizing::new(
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("client_id", &requester.client_id)
            .append_pair("code_verifier", verifier.expose_secret())
            .append_pair("redirect_uri", redirect_uri)
            .finish(),
    );
    let request = HttpRequest {
        method: Method::Post,
        url,
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: body.as_bytes().to_vec(),
        max_body_bytes: MAX_TOKEN_RESPONSE_BYTES,
        allow_plain_http: false,
    };
    let resp = match token_type {
        TokenType::DPoP => {
            send_with_dpop(
                http,
                requester.signer.as_ref(),
                nonces,
                Endpoint::Token,
                request,
                None,
                now,
            )
            .await?
        }
        TokenType::Bearer => http
            .execute(request)
            .await
            .map_err(|e| S2sError::from_net(Endpoint::Token, e))?,
    };
    parse_token_response(&resp, token_type, requester, now)
}

/// Activity action: a user flow was asked for (`outcome` failure when it was refused).
pub const ACTION_USER_TOKEN_START: &str = "user_token.start";
/// Activity action: a user flow ended (token obtained, declined, or failed).
pub const ACTION_USER_TOKEN_FINISH: &str = "user_token.finish";
/// Longest EHR `redirect_uri` accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

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
/// `(session_id, landing_token)`; the landing token is valid 5 s, once (B.7). Records
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
        session.channel = Some(req.channel);
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
        .employee_by_identifier(id)
        .map_err(UserFlowError::from_vault)?
        .ok_or_else(|| UserFlowError::UnknownEmployee(super::error::sanitize(id, 256)))?;
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
    if let Err(e) = vault.record(entry) {
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
        "organization": super::error::sanitize(&req.subject, 256),
        "scope": req.scope.as_str(),
        "token_type": req.token_type.as_str(),
        "channel": req.channel,
        "employee": req.preauthorized_user.as_ref().map(|u| super::error::sanitize(&u.id, 256)),
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

/// What a finished flow was about (activity log, and where the browser goes).
#[derive(Debug, Clone, Serialize)]
pub struct FlowSummary {
    /// Session id (what the EHR polls with; not for logs).
    #[serde(skip)]
    pub session_id: String,
    /// Organization subject.
    pub subject: String,
    /// The AS.
    pub authorization_server: String,
    /// Scope.
    pub scope: String,
    /// Token type asked for.
    pub token_type: TokenType,
    /// The EHR's redirect URI.
    pub app_redirect_uri: String,
    /// Roster identifier of the employee the EHR named, if any.
    pub employee: Option<String>,
    /// Who asked, when known.
    pub channel: Option<ChannelKind>,
}

impl FlowSummary {
    fn of(session_id: &str, s: &UserSession) -> Self {
        Self {
            session_id: session_id.to_owned(),
            subject: s.subject.clone(),
            authorization_server: s.authorization_server.to_string(),
            scope: s.scope.to_string(),
            token_type: s.token_type,
            app_redirect_uri: s.app_redirect_uri.clone(),
            employee: s.preauthorized_user.clone(),
            channel: s.channel,
        }
    }
}

fn record_finish(vault: &Vault, f: &FlowSummary, result: Result<&TokenResponse, (&str, &str)>) {
    let mut detail = json!({
        "organization": f.subject,
        "scope": f.scope,
        "token_type": f.token_type.as_str(),
        "channel": f.channel,
        "employee": f.employee,
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
        &f.authorization_server,
        outcome,
        detail,
    );
}

/// The landing URL (B.1 step 2-4): discovers the AS, creates the PKCE pair and client state,
/// signs JAR #1, burns the landing token and records the start in `sessions`. Returns the
/// authorization URL to redirect the browser to. `callback` is the wallet's callback URL.
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
    let (issuer, scope) = sessions
        .peek_landing(landing_token, now, |s| {
            (s.authorization_server.clone(), s.scope.clone())
        })
        .ok_or(SessionError::UnknownLandingToken)?;
    let prepared = async {
        let md = discover(http, &issuer).await?;
        let pkce = PkcePair::generate();
        let state = random_b64_32();
        let jar = sign_authorization_request(
            requester,
            &AuthorizationRequest {
                authorization_server: issuer,
                scope,
                state: state.clone(),
                redirect_uri: callback.to_owned(),
                code_challenge: pkce.challenge.clone(),
            },
            now,
        )?;
        let url = authorization_url(&md.authorization_endpoint, &requester.client_id, &jar)?;
        Ok::<_, S2sError>((url, state, pkce, md.token_endpoint))
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
            Err(e.into())
        }
    }
}

/// The callback (B.1 steps 13-15): takes the session of `state`, exchanges `code` (or records
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
        (_, Some((e, d))) => Err((
            super::error::sanitize(e, 64),
            super::error::sanitize(d, 512),
        )),
        (Some(code), None) => match (&session.verifier, &session.token_endpoint) {
            (Some(verifier), Some(te)) => exchange_code(
                http,
                nonces,
                requester,
                te,
                code,
                verifier,
                callback,
                session.token_type,
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

/// An error callback without `state` (a Nuts AS sends none after a wallet error, B.5): ends
/// the flow of `subject` the holder aborted, or else its most recently started running flow,
/// with `error`; records `user_token.finish`. `None` when no flow of `subject` can be found.
pub fn end_flow_without_state(
    vault: &Vault,
    sessions: &UserSessions,
    subject: &str,
    error: &str,
    description: &str,
    now: i64,
) -> Option<FlowSummary> {
    let error = super::error::sanitize(error, 64);
    let description = super::error::sanitize(description, 512);
    let f = sessions.end_without_state(subject, &error, &description, now)?;
    record_finish(vault, &f, Err((&error, &description)));
    tracing::info!(error = %error, "user flow ended by an error callback");
    Some(f)
}

/// Ends the most recently started running flow with `verifier` (an AS issuer) with an error,
/// e.g. after the clinician declined in the holder, and records `user_token.finish`. Returns
/// its summary (`app_redirect_uri`: where the browser goes), `None` when no such flow runs.
pub fn abort_flow(
    vault: &Vault,
    sessions: &UserSessions,
    verifier: &str,
    error: &str,
    description: &str,
    now: i64,
) -> Option<FlowSummary> {
    let error = super::error::sanitize(error, 64);
    let description = super::error::sanitize(description, 512);
    let f = sessions.abort_running(verifier, &error, &description, now)?;
    record_finish(vault, &f, Err((&error, &description)));
    Some(f)
}

/// Why a user flow could not be started, continued or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserFlowError {
    /// A parameter is wrong (400 `invalid_request`).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No organization with this subject in the wallet (404 `invalid_request`).
    #[error("unknown subject {0}")]
    UnknownSubject(String),
    /// The admin policy does not allow this authorization server (403 `access_denied`).
    #[error("authorization server {0} is not allowed by the wallet's policy")]
    NotAllowed(String),
    /// `preauthorized_user.id` is not on the roster (400 `invalid_request`).
    #[error("employee {0} is not on the wallet's roster")]
    UnknownEmployee(String),
    /// The roster entry is deactivated (403 `access_denied`).
    #[error("employee {0} is deactivated in the wallet's roster")]
    InactiveEmployee(String),
    /// `preauthorized_user.name` or `.role` differs from the roster (400 `invalid_request`).
    #[error("preauthorized_user.{field} does not match the roster entry of {identifier}")]
    EmployeeMismatch {
        /// Roster identifier.
        identifier: String,
        /// `name` or `role`.
        field: &'static str,
    },
    /// The vault is locked (503 `temporarily_unavailable`).
    #[error("the wallet is locked")]
    Locked,
    /// Storage problem (500 `server_error`).
    #[error("wallet storage: {0}")]
    Storage(String),
    /// Session problem (unknown/expired landing token or state; 400, or 503 when full).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// OAuth problem (discovery, signing), with the s2s statuses.
    #[error(transparent)]
    OAuth(#[from] S2sError),
}

impl UserFlowError {
    fn from_vault(e: VaultError) -> Self {
        match e {
            VaultError::Locked => Self::Locked,
            other => Self::Storage(other.to_string()),
        }
    }

    fn from_identity(e: crate::org::IdentityError) -> Self {
        match e {
            crate::org::IdentityError::Vault(v) => Self::from_vault(v),
            other => Self::Storage(other.to_string()),
        }
    }

    /// Stable code for logs, the activity log and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnknownSubject(_) => "unknown_subject",
            Self::NotAllowed(_) => "not_allowed",
            Self::UnknownEmployee(_) => "unknown_employee",
            Self::InactiveEmployee(_) => "inactive_employee",
            Self::EmployeeMismatch { .. } => "employee_mismatch",
            Self::Locked => "locked",
            Self::Storage(_) => "storage",
            Self::Session(SessionError::UnknownLandingToken) => "unknown_landing_token",
            Self::Session(SessionError::UnknownState) => "unknown_state",
            Self::Session(SessionError::Full) => "too_many_sessions",
            Self::OAuth(e) => e.code(),
        }
    }

    /// HTTP status for the internal API.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownEmployee(_)
            | Self::EmployeeMismatch { .. }
            | Self::Session(SessionError::UnknownLandingToken | SessionError::UnknownState) => 400,
            Self::NotAllowed(_) | Self::InactiveEmployee(_) => 403,
            Self::UnknownSubject(_) => 404,
            Self::Locked | Self::Session(SessionError::Full) => 503,
            Self::Storage(_) => 500,
            Self::OAuth(e) => e.http_status(),
        }
    }

    /// The OAuth `error` code for the internal API's error JSON.
    pub fn oauth_error(&self) -> &str {
        match self {
            Self::InvalidRequest(_)
            | Self::UnknownSubject(_)
            | Self::UnknownEmployee(_)
            | Self::EmployeeMismatch { .. }
            | Self::Session(SessionError::UnknownLandingToken | SessionError::UnknownState) => {
                "invalid_request"
            }
            Self::NotAllowed(_) | Self::InactiveEmployee(_) => "access_denied",
            Self::Locked | Self::Session(SessionError::Full) => "temporarily_unavailable",
            Self::Storage(_) => "server_error",
            Self::OAuth(e) => e.oauth_error(),
        }
    }
}

/// One user-flow session of the wallet as client.
#[derive(Debug)]
pub struct UserSession {
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
    /// Roster identifier of the employee the EHR named, if any (checked by [`begin_flow`]).
    pub preauthorized_user: Option<String>,
    /// Client state sent in JAR #1 (set at start).
    pub state: Option<String>,
    /// PKCE verifier (set at start).
    pub verifier: Option<PkceVerifier>,
    /// Token endpoint (set at start).
    pub token_endpoint: Option<String>,
    channel: Option<ChannelKind>,
    created_at: i64,
    started_at: Option<i64>,
}

impl UserSession {
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
            subject,
            authorization_server,
            scope,
            token_type,
            app_redirect_uri,
            preauthorized_user,
            state: None,
            verifier: None,
            token_endpoint: None,
            channel: None,
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

/// In-memory user-flow sessions with the B.7 lifetimes.
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
    by_state: HashMap<String, String>,
    /// Flows the holder ended (decline) whose browser has not come back to the callback yet:
    /// (summary, until). The error callback carries no state (B.5), so it looks here first.
    returns: Vec<(FlowSummary, i64)>,
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

    fn prune(inner: &mut Inner, now: i64) {
        inner.landing.retain(|_, (_, until)| now < *until);
        inner.sessions.retain(|_, e| match e {
            Entry::Flow(s) => now < s.started_at.unwrap_or(s.created_at) + FLOW_STATE_SECS,
            Entry::Done(_, at) => now < *at + TOKEN_PICKUP_SECS,
        });
        inner.returns.retain(|(_, until)| now < *until);
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
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        if inner.sessions.len() >= MAX_SESSIONS {
            return Err(SessionError::Full);
        }
        let id = random_b64_32();
        let token = random_b64_32();
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
        state: String,
        verifier: PkceVerifier,
        token_endpoint: String,
        now: i64,
    ) -> Result<String, SessionError> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        let (id, _) = inner
            .landing
            .remove(landing_token)
            .ok_or(SessionError::UnknownLandingToken)?;
        match inner.sessions.get_mut(&id) {
            Some(Entry::Flow(s)) if s.state.is_none() => {
                s.state = Some(state.clone());
                s.verifier = Some(verifier);
                s.token_endpoint = Some(token_endpoint);
                s.started_at = Some(now);
            }
            _ => return Err(SessionError::UnknownLandingToken),
        }
        inner.by_state.insert(state, id.clone());
        Ok(id)
    }

    /// Reads a session that has not been started yet (to build JAR #1 for the landing token).
    pub fn peek_landing<T>(
        &self,
        landing_token: &str,
        now: i64,
        f: impl FnOnce(&UserSession) -> T,
    ) -> Option<T> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
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
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
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
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
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

    /// An error callback without state for `subject`: the newer of the flow the holder
    /// aborted last (if its browser has not come back yet) and the most recently started
    /// running flow of `subject`, which then ends with `error`. Returns its summary (where the
    /// browser goes).
    pub fn end_without_state(
        &self,
        subject: &str,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<FlowSummary> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        let aborted = inner
            .returns
            .iter()
            .enumerate()
            .filter(|(_, (f, _))| f.subject == subject)
            .map(|(i, (_, until))| (until - FLOW_STATE_SECS, i))
            .max();
        let running = inner
            .sessions
            .iter()
            .filter_map(|(id, e)| match e {
                Entry::Flow(s) if s.subject == subject => s.started_at.map(|t| (t, id.clone())),
                _ => None,
            })
            .max();
        match (aborted, running) {
            (Some((at, i)), Some((started, _))) if at >= started => Some(inner.returns.remove(i).0),
            (Some((_, i)), None) => Some(inner.returns.remove(i).0),
            (_, Some((_, id))) => {
                let Some(Entry::Flow(s)) = inner.sessions.remove(&id) else {
                    return None;
                };
                inner.by_state.retain(|_, v| *v != id);
                let f = FlowSummary::of(&id, &s);
                inner.sessions.insert(
                    id,
                    Entry::Done(Err((error.to_owned(), description.to_owned())), now),
                );
                Some(f)
            }
            (None, None) => None,
        }
    }

    /// The roster identifier the EHR named for the most recently started running flow with
    /// `verifier` (an AS issuer), to preselect the employee on the consent screen.
    pub fn preauthorized_user_for(&self, verifier: &str, now: i64) -> Option<String> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        inner
            .sessions
            .values()
            .filter_map(|e| match e {
                Entry::Flow(s) if s.authorization_server.as_str() == verifier => {
                    s.started_at.map(|t| (t, s.preauthorized_user.clone()))
                }
                _ => None,
            })
            .max_by_key(|(t, _)| *t)?
            .1
    }

    /// Polls a session: pending, the token (once), the error (once), or unknown.
    pub fn poll(&self, session_id: &str, now: i64) -> TokenPoll {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
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
    /// B.5, so the callback cannot find the session itself). Returns
    /// `(session_id, EHR redirect_uri)`. [`abort_flow`] also records the end.
    pub fn abort_running_for(
        &self,
        verifier: &str,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<(String, String)> {
        self.abort_running(verifier, error, description, now)
            .map(|f| (f.session_id, f.app_redirect_uri))
    }

    fn abort_running(
        &self,
        verifier: &str,
        error: &str,
        description: &str,
        now: i64,
    ) -> Option<FlowSummary> {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        let id = inner
            .sessions
            .iter()
            .filter_map(|(id, e)| match e {
                Entry::Flow(s) if s.authorization_server.as_str() == verifier => {
                    s.started_at.map(|t| (t, id.clone()))
                }
                _ => None,
            })
            .max()?
            .1;
        let Some(Entry::Flow(s)) = inner.sessions.remove(&id) else {
            return None;
        };
        inner.by_state.retain(|_, v| *v != id);
        inner.sessions.insert(
            id.clone(),
            Entry::Done(Err((error.to_owned(), description.to_owned())), now),
        );
        // The browser may still come back to the callback (without state); it then goes on to
        // the EHR.
        if inner.returns.len() >= MAX_SESSIONS {
            inner.returns.remove(0);
        }
        let f = FlowSummary::of(&id, &s);
        inner.returns.push((f.clone(), now + FLOW_STATE_SECS));
        Some(f)
    }

    /// Whether a started, unfinished session of this subject is running for `verifier`
    /// (an AS issuer or client id), for the unsolicited-request check.
    pub fn has_running_flow_for(&self, verifier: &str, now: i64) -> bool {
        let mut inner = self.lock();
        Self::prune(&mut inner, now);
        inner.sessions.values().any(|e| match e {
            Entry::Flow(s) => s.started_at.is_some() && s.authorization_server.as_str() == verifier,
            Entry::Done(..) => false,
        })
    }
}

/// Reads the JSON claims of a compact JWS without verifying it (tests only).
#[cfg(test)]
fn unverified_claims(jws: &str) -> Option<serde_json::Map<String, Value>> {
    let payload = jws.split('.').nth(1)?;
    let bytes = jose::b64url_decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
#[path = "user_flow_tests.rs"]
mod flow_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use wallet_protocol::did::Did;
    use wallet_protocol::jose::SoftwareSigner;

    fn requester() -> Requester {
        let signer = SoftwareSigner::generate_es256("did:web:client.example#k1").unwrap();
        Requester {
            subject: "sub".into(),
            did: Did::parse("did:web:client.example").unwrap(),
            client_id: "https://client.example/oauth2/sub".into(),
            signer: Arc::new(signer),
        }
    }

    #[test]
    fn pkce_pair_is_s256_and_secret() {
        let p = PkcePair::generate();
        assert_eq!(p.verifier.expose_secret().len(), 43);
        assert_eq!(p.challenge, s256_challenge(p.verifier.expose_secret()));
        assert!(!format!("{p:?}").contains(p.verifier.expose_secret()));
        // RFC 7636 appendix B
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_ne!(PkcePair::generate().challenge, p.challenge);
    }

    #[test]
    fn jar_one_has_the_b2_claims_and_the_url_carries_it_by_value() {
        let r = requester();
        let req = AuthorizationRequest {
            authorization_server: AuthorizationServerId::parse("https://as.example/oauth2/a")
                .unwrap(),
            scope: Scope::parse("test").unwrap(),
            state: "st".into(),
            redirect_uri: "https://client.example/cb".into(),
            code_challenge: "ch".into(),
        };
        let jar = sign_authorization_request(&r, &req, 1000).unwrap();
        let jws = jose::verify_compact(&jar, &jose::Jwk::from_map(r.signer.public_jwk()).unwrap())
            .unwrap();
        assert_eq!(jws.header_str("kid"), Some("did:web:client.example#k1"));
        let c = unverified_claims(&jar).unwrap();
        assert_eq!(c["iss"], "did:web:client.example");
        assert_eq!(c["client_id"], "https://client.example/oauth2/sub");
        assert_eq!(c["aud"], "https://as.example/oauth2/a");
        assert_eq!(c["response_type"], "code");
        assert_eq!(c["code_challenge_method"], "S256");
        assert_eq!(c["iat"], 1000);
        assert_eq!(c["exp"], 1300);
        let u =
            authorization_url("https://as.example/oauth2/a/authorize", &r.client_id, &jar).unwrap();
        let q: HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], r.client_id);
        assert_eq!(q["request"], jar);
    }

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
        assert!(s.has_running_flow_for("https://as.example/oauth2/a", 102));
        assert!(!s.has_running_flow_for("https://other.example", 102));
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
            s.abort_running_for("https://other.example", "access_denied", "no", 301),
            None
        );
        let (aid, redirect) = s
            .abort_running_for("https://as.example/oauth2/a", "access_denied", "no", 301)
            .unwrap();
        assert_eq!(
            (aid.as_str(), redirect.as_str()),
            (id4.as_str(), "https://ehr.example/cb")
        );
        assert!(s.take_for_callback("st4", 302).is_err());
        assert!(matches!(s.poll(&id4, 302), TokenPoll::Failed { .. }));
    }
}
