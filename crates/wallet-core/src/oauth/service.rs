//! The s2s use case as the loopback API, the CLI and the app run it: the organization's
//! identity and credentials from the vault, the administrator's policy
//! ([`crate::access_policy::ServicePolicy`]), the employee's consent when the policy asks for it
//! ([`ServiceTokenPrompt`], implemented by the app; without one such requests are refused), the
//! [`S2sClient`] flow, and one activity entry per request (`s2s.token`, success, failure or
//! declined, with AS, scope, token type, the credentials presented and the error code).
//!
//! Also: DPoP proofs for resource requests by `dpop_kid` ([`TokenService::create_dpop_proof`])
//! and the recent requests for the app's Services view ([`TokenService::recent`] /
//! [`recent_service_tokens`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde_json::{json, Value};
use wallet_pex::WalletCredential;
use wallet_protocol::net::BoxFuture;
use wallet_protocol::signer::Signer;
use wallet_vault::{
    ActivityFilter, Actor, CredentialFilter, NewActivity, Outcome, Vault, VaultError,
};

use super::error::sanitize;
use super::error::{AuthorizationServerError, ServiceTokenError};
use super::s2s::{S2sAttempt, S2sClient, ServiceTokenRequest};
use super::{KeyId, Requester, TokenResponse, TokenType};
use crate::access_policy::{PolicyDecision, ServicePolicy, EMPLOYEE_CREDENTIAL_TYPE};
use crate::credentials::{Screener, Screening};

/// Activity action of a service token request.
pub const ACTION_S2S_TOKEN: &str = "s2s.token";

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// The loopback API (an EHR).
    Api,
    /// The `nuts-wallet` command line.
    Cli,
    /// The desktop app itself.
    App,
}

/// What the employee is asked to approve.
#[derive(Debug, Clone, Serialize)]
pub struct PromptRequest {
    /// Requesting organization subject.
    pub subject: String,
    /// AS issuer URL.
    pub authorization_server: String,
    /// Scope.
    pub scope: String,
    /// Token type.
    pub token_type: TokenType,
    /// The caller's self-attested credentials (as given; shown to the employee).
    pub credentials: Vec<Value>,
    /// Who asks.
    pub channel: ChannelKind,
    /// The administrator's name for the authorization server (policy), if any.
    pub server_name: Option<String>,
    /// The administrator's description of the scope there (policy), if any.
    pub scope_description: Option<crate::access_policy::ScopeText>,
}

/// The employee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptDecision {
    /// Go ahead (this once).
    Approve,
    /// Refuse.
    Decline,
}

/// Asks the employee about a request outside the no-prompt policy. The app implements it
/// with a consent screen; dropping the future or answering `Decline` refuses.
pub trait ServiceTokenPrompt: Send + Sync {
    /// Ask; resolve when the employee answered (or a timeout declined).
    fn ask(&self, request: PromptRequest) -> BoxFuture<'_, PromptDecision>;
}

/// Where the requesting organization comes from. `VaultOrganization` reads the vault's
/// organization identity (`crate::org`); tests may supply their own.
pub trait RequesterSource: Send + Sync {
    /// The organization for `subject`.
    fn requester(&self, vault: &Vault, subject: &str) -> Result<Requester, ServiceTokenError>;
    /// The DPoP signer whose key id is `kid` (the `dpop_kid` of a token response).
    fn dpop_signer(&self, vault: &Vault, kid: &KeyId)
        -> Result<Arc<dyn Signer>, ServiceTokenError>;
}

pub(crate) fn vault_error(e: VaultError) -> ServiceTokenError {
    match e {
        VaultError::Locked => ServiceTokenError::Locked,
        other => ServiceTokenError::Storage(other.to_string()),
    }
}

/// One s2s token request as the Services view lists it (from the activity log).
#[derive(Debug, Clone, Serialize)]
pub struct ServiceTokenRecord {
    /// Activity sequence number.
    pub seq: i64,
    /// Unix ms.
    pub at_ms: i64,
    /// AS issuer URL.
    pub authorization_server: String,
    /// `success`, `failure` or `declined`.
    pub outcome: String,
    /// Scope.
    pub scope: Option<String>,
    /// `DPoP` / `Bearer`.
    pub token_type: Option<String>,
    /// `api`, `cli`, `app`.
    pub channel: Option<String>,
    /// Served from the token cache.
    pub cached: bool,
    /// Credentials presented (`types`, `issuer`, `id`, `self_attested`).
    pub credentials: Vec<Value>,
    /// Error code ([`ServiceTokenError::code`]) when it failed.
    pub error: Option<String>,
    /// Error message when it failed.
    pub message: Option<String>,
}

/// The most recent s2s token requests, newest first.
pub fn recent_service_tokens(
    vault: &Vault,
    limit: u32,
) -> Result<Vec<ServiceTokenRecord>, VaultError> {
    let entries = vault.activity_log().list(&ActivityFilter {
        action_prefix: Some(ACTION_S2S_TOKEN.into()),
        limit: Some(limit),
        ..ActivityFilter::default()
    })?;
    Ok(entries
        .into_iter()
        .filter(|e| e.action == ACTION_S2S_TOKEN)
        .map(|e| {
            let s = |k: &str| e.detail.get(k).and_then(Value::as_str).map(str::to_owned);
            ServiceTokenRecord {
                seq: e.seq,
                at_ms: e.at_ms,
                authorization_server: e.subject.clone(),
                outcome: e.outcome.clone(),
                scope: s("scope"),
                token_type: s("token_type"),
                channel: s("channel"),
                cached: e
                    .detail
                    .get("cached")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                credentials: e
                    .detail
                    .get("credentials")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                error: s("error"),
                message: s("message"),
            }
        })
        .collect())
}

/// The non-base types of a caller's credential (`type`, string or array).
fn credential_types(c: &Value) -> Vec<&str> {
    let types = match c.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    types
        .into_iter()
        .filter(|t| *t != "VerifiableCredential")
        .collect()
}

fn employee_identifier(c: &Value) -> Option<&str> {
    c.get("credentialSubject")?.get("identifier")?.as_str()
}

/// What the activity entry records of a caller's credential: its types and, for an employee
/// credential, the roster identifier (no other claim values).
fn passed_summary(c: &Value) -> Value {
    let types = credential_types(c);
    let mut v = json!({ "types": types });
    if types.contains(&EMPLOYEE_CREDENTIAL_TYPE) {
        v["employee_identifier"] = json!(employee_identifier(c).map(|s| sanitize(s, 128)));
    }
    v
}

/// The organization signs what a caller passes, so only types the policy allows, and an
/// employee credential only for an active roster entry.
fn check_self_attested(
    vault: &Vault,
    policy: &ServicePolicy,
    credentials: &[Value],
) -> Result<(), ServiceTokenError> {
    let refuse = |why: String| ServiceTokenError::InvalidRequest(format!("credentials: {why}"));
    for c in credentials {
        let types = credential_types(c);
        if types.is_empty() {
            return Err(refuse("a credential without a type".into()));
        }
        if let Some(t) = types.iter().find(|t| !policy.allows_self_attested_type(t)) {
            return Err(refuse(format!(
                "type `{}` is not allowed by the policy",
                sanitize(t, 64)
            )));
        }
        if types.contains(&EMPLOYEE_CREDENTIAL_TYPE) {
            let id = employee_identifier(c)
                .ok_or_else(|| refuse("the employee credential has no identifier".into()))?;
            match vault.employees().by_identifier(id).map_err(vault_error)? {
                Some(e) if e.active => {}
                _ => {
                    return Err(refuse(format!(
                        "`{}` is not an active employee on the roster",
                        sanitize(id, 64)
                    )))
                }
            }
        }
    }
    Ok(())
}

/// The s2s use case over one vault.
pub struct TokenService {
    vault: Vault,
    client: S2sClient,
    requesters: Arc<dyn RequesterSource>,
    prompt: RwLock<Option<Arc<dyn ServiceTokenPrompt>>>,
    wallet: Mutex<HashMap<String, WalletCredential>>,
    screener: Screener,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("client", &self.client)
            .finish()
    }
}

impl TokenService {
    /// A service over `vault`; `requesters` names the organization (normally
    /// `VaultOrganization`, the vault's organization identity); `screener` re-checks the
    /// stored credentials (validity, revocation) right before each presentation.
    pub fn new(
        vault: Vault,
        client: S2sClient,
        requesters: Arc<dyn RequesterSource>,
        screener: Screener,
    ) -> Self {
        Self {
            vault,
            client,
            requesters,
            prompt: RwLock::new(None),
            wallet: Mutex::new(HashMap::new()),
            screener,
        }
    }

    /// The usual setup: the vault's organization, reqwest with `policy` (SSRF guard, dev
    /// mode, extra CA), the system clock.
    pub fn from_net_policy(
        vault: Vault,
        policy: wallet_protocol::net::NetPolicy,
    ) -> Result<Self, ServiceTokenError> {
        let http = wallet_protocol::net::ReqwestHttpClient::new(policy.clone()).map_err(|e| {
            ServiceTokenError::Server(AuthorizationServerError::Refused {
                endpoint: super::error::Endpoint::Metadata,
                source: e,
            })
        })?;
        let http: Arc<dyn wallet_protocol::net::HttpClient> = Arc::new(http);
        let resolver = wallet_protocol::did::UniversalResolver::from_policy(&policy)
            .map_err(|e| ServiceTokenError::Storage(e.to_string()))?;
        let clock: Arc<dyn wallet_protocol::Clock> = Arc::new(wallet_protocol::SystemClock);
        let verify = crate::credentials::VerifyEnv {
            resolver: Arc::new(resolver),
            http: http.clone(),
            policy,
            clock: clock.clone(),
        };
        let client = S2sClient::new(http, clock);
        Ok(Self::new(
            vault,
            client,
            Arc::new(super::vault_org::VaultOrganization),
            Screener::new(verify),
        ))
    }

    /// Installs (or removes) the service-token prompt. Without one, requests outside the no-prompt
    /// policy are refused with [`ServiceTokenError::ConsentRequired`].
    pub fn set_service_prompt(&self, prompt: Option<Arc<dyn ServiceTokenPrompt>>) {
        *self.prompt.write().unwrap_or_else(|p| p.into_inner()) = prompt;
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The OAuth client (caches).
    pub fn client(&self) -> &S2sClient {
        &self.client
    }

    /// Forgets cached tokens and parsed credentials (call it when the vault locks, or after
    /// credentials changed). Metadata and definitions stay cached (public data).
    pub fn forget_cached_tokens(&self) {
        self.client.tokens().clear();
        self.wallet
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The most recent requests for the Services view.
    pub fn recent(&self, limit: u32) -> Result<Vec<ServiceTokenRecord>, ServiceTokenError> {
        recent_service_tokens(&self.vault, limit).map_err(vault_error)
    }

    /// The organization's stored credentials about `holder`, parsed once and cached by id.
    fn wallet_credentials(&self, holder: &str) -> Result<Vec<WalletCredential>, ServiceTokenError> {
        let metas = self
            .vault
            .credentials()
            .list(&CredentialFilter {
                subject: Some(holder.to_owned()),
                ..CredentialFilter::default()
            })
            .map_err(vault_error)?;
        let mut cache = self.wallet.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|id, _| metas.iter().any(|m| &m.id == id));
        let mut out = Vec::with_capacity(metas.len());
        for m in metas {
            if let Some(c) = cache.get(&m.id) {
                out.push(c.clone());
                continue;
            }
            let stored = self.vault.credentials().get(&m.id).map_err(vault_error)?;
            match WalletCredential::parse(stored.raw.expose_secret()) {
                Ok(c) => {
                    cache.insert(m.id.clone(), c.clone());
                    out.push(c);
                }
                Err(e) => {
                    tracing::warn!(id = %m.id, error = %e, "stored credential is unusable; skipped")
                }
            }
        }
        Ok(out)
    }

    /// Requests a service access token for organization `subject` (the internal API's
    /// `request-service-access-token`). Policy, consent and the activity entry included.
    #[tracing::instrument(skip_all, fields(subject = %subject, authorization_server = %req.authorization_server, scope = %req.scope))]
    pub async fn request_service_access_token(
        &self,
        subject: &str,
        req: ServiceTokenRequest,
        channel: ChannelKind,
    ) -> Result<TokenResponse, ServiceTokenError> {
        let mut screening = Screening::default();
        let (attempt, outcome) = self.run(subject, &req, channel, &mut screening).await;
        self.record(subject, &req, channel, &attempt, outcome, &screening);
        match &attempt.result {
            Ok(_) => tracing::info!(cached = attempt.from_cache, "service access token obtained"),
            Err(e) => {
                tracing::info!(error = %e, code = e.code(), "service access token request failed")
            }
        }
        attempt.result
    }

    async fn run(
        &self,
        subject: &str,
        req: &ServiceTokenRequest,
        channel: ChannelKind,
        screening: &mut Screening,
    ) -> (S2sAttempt, Outcome) {
        let fail = |e: ServiceTokenError| S2sAttempt {
            result: Err(e),
            presented: Vec::new(),
            definition_id: None,
            vp_format: None,
            from_cache: false,
        };
        if self.vault.is_locked() {
            return (fail(ServiceTokenError::Locked), Outcome::Failure);
        }
        let policy = match ServicePolicy::load(&self.vault) {
            Ok(p) => p,
            Err(crate::access_policy::PolicyError::Vault(e)) => {
                return (fail(vault_error(e)), Outcome::Failure)
            }
            Err(e) => {
                return (
                    fail(ServiceTokenError::Storage(e.to_string())),
                    Outcome::Failure,
                )
            }
        };
        // Before consent: the employee is never asked about a credential the policy forbids.
        if let Err(e) = check_self_attested(&self.vault, &policy, &req.credentials) {
            return (fail(e), Outcome::Failure);
        }
        match policy.decide(req.authorization_server.as_str(), req.scope.as_str()) {
            PolicyDecision::Allowed => {}
            PolicyDecision::Refused => {
                return (
                    fail(ServiceTokenError::NotAllowed(
                        req.authorization_server.to_string(),
                    )),
                    Outcome::Failure,
                )
            }
            PolicyDecision::NeedsConsent => {
                let prompt = self
                    .prompt
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let Some(prompt) = prompt else {
                    return (
                        fail(ServiceTokenError::ConsentRequired(format!(
                            "scope {} at {}",
                            req.scope, req.authorization_server
                        ))),
                        Outcome::Failure,
                    );
                };
                let decision = prompt
                    .ask(PromptRequest {
                        subject: subject.to_owned(),
                        authorization_server: req.authorization_server.to_string(),
                        scope: req.scope.to_string(),
                        token_type: req.token_type,
                        credentials: req.credentials.clone(),
                        channel,
                        server_name: policy
                            .display_name_of(req.authorization_server.as_str())
                            .map(str::to_owned),
                        scope_description: policy
                            .scope_text(req.authorization_server.as_str(), req.scope.as_str())
                            .cloned(),
                    })
                    .await;
                if decision != PromptDecision::Approve {
                    return (fail(ServiceTokenError::ConsentDeclined), Outcome::Declined);
                }
            }
        }
        let requester = match self.requesters.requester(&self.vault, subject) {
            Ok(r) => r,
            Err(e) => return (fail(e), Outcome::Failure),
        };
        let wallet = match self.wallet_credentials(requester.did.as_str()) {
            Ok(w) => w,
            Err(e) => return (fail(e), Outcome::Failure),
        };
        // A cached token was obtained with credentials that were valid then; everything else
        // is presented now, so it is screened now.
        let wallet = if req.no_cache || !self.client.has_cached(&requester, req) {
            *screening = self.screener.screen(wallet, policy.revocation).await;
            std::mem::take(&mut screening.usable)
        } else {
            wallet
        };
        let mut attempt = self.client.request(&requester, &wallet, req).await;
        if let Err(ServiceTokenError::NoMatchingCredential { reasons, .. }) = &mut attempt.result {
            reasons.extend(
                screening
                    .withheld
                    .iter()
                    .map(|n| format!("not presented: {}", n.line())),
            );
        }
        let outcome = if attempt.result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        (attempt, outcome)
    }

    fn record(
        &self,
        subject: &str,
        req: &ServiceTokenRequest,
        channel: ChannelKind,
        attempt: &S2sAttempt,
        outcome: Outcome,
        screening: &Screening,
    ) {
        let mut detail = json!({
            "organization": subject,
            "scope": req.scope.as_str(),
            "token_type": req.token_type.as_str(),
            "channel": channel,
            "cached": attempt.from_cache,
            "credentials": attempt.presented,
            "self_attested_given": req.credentials.len(),
            "self_attested_passed": req.credentials.iter().map(passed_summary).collect::<Vec<_>>(),
        });
        if let Some(d) = &attempt.definition_id {
            detail["definition_id"] = json!(d);
        }
        if let Some(f) = attempt.vp_format {
            detail["vp_format"] = json!(f);
        }
        if !screening.withheld.is_empty() {
            detail["withheld"] = json!(screening.withheld);
        }
        if !screening.unchecked.is_empty() {
            detail["revocation_unchecked"] = json!(screening.unchecked);
        }
        if let Err(e) = &attempt.result {
            detail["error"] = json!(e.code());
            detail["message"] = json!(e.to_string());
            detail["http_status"] = json!(e.http_status());
        }
        let entry = NewActivity::new(
            Actor::System,
            ACTION_S2S_TOKEN,
            req.authorization_server.as_str(),
        )
        .outcome(outcome)
        .detail(detail);
        if let Err(e) = self.vault.activity_log().record(entry) {
            // A locked vault cannot log; the caller already gets `Locked`.
            tracing::warn!(error = %e, "could not record the token request in the activity log");
        }
    }

    /// Records a token request that was refused before it could be parsed (bad
    /// `authorization_server`, `scope`, `token_type` or unsupported fields), so that every
    /// request reaches the activity log. The raw values are sanitized and capped.
    pub fn record_rejected(
        &self,
        subject: &str,
        authorization_server: &str,
        scope: &str,
        error: &ServiceTokenError,
        channel: ChannelKind,
    ) {
        let clean = |s: &str| super::error::sanitize(s, 256);
        let entry = NewActivity::new(
            Actor::System,
            ACTION_S2S_TOKEN,
            &clean(authorization_server),
        )
        .outcome(Outcome::Failure)
        .detail(json!({
            "organization": clean(subject),
            "scope": clean(scope),
            "channel": channel,
            "cached": false,
            "credentials": [],
            "error": error.code(),
            "message": error.to_string(),
            "http_status": error.http_status(),
        }));
        if let Err(e) = self.vault.activity_log().record(entry) {
            tracing::warn!(error = %e, "could not record the token request in the activity log");
        }
    }

    /// A DPoP proof for a resource request (the internal API's `POST /dpop/{kid}`):
    /// `htm`, `htu` (query and fragment removed), `iat`, `jti`, `ath` = hash of `token`, and
    /// the resource server's `nonce` when the caller passes one (after a `use_dpop_nonce`).
    pub fn create_dpop_proof(
        &self,
        kid: &KeyId,
        htm: &str,
        htu: &str,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<String, ServiceTokenError> {
        if self.vault.is_locked() {
            return Err(ServiceTokenError::Locked);
        }
        let method = htm.to_ascii_uppercase();
        if method.is_empty() || method.len() > 16 || !method.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(ServiceTokenError::InvalidRequest(
                "htm must be an HTTP method".into(),
            ));
        }
        let url = url::Url::parse(htu)
            .map_err(|_| ServiceTokenError::InvalidRequest("htu must be an absolute URL".into()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ServiceTokenError::InvalidRequest(
                "htu must be an http(s) URL".into(),
            ));
        }
        if token.is_empty() {
            return Err(ServiceTokenError::InvalidRequest(
                "token is required".into(),
            ));
        }
        if let Some(n) = nonce {
            if n.is_empty() || n.len() > 512 || !n.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
                return Err(ServiceTokenError::InvalidRequest(
                    "nonce is not a valid DPoP nonce".into(),
                ));
            }
        }
        let signer = self.requesters.dpop_signer(&self.vault, kid)?;
        wallet_protocol::dpop::create_dpop_proof(
            signer.as_ref(),
            &method,
            &super::dpop::htu(&url),
            self.client.now(),
            nonce,
            Some(token),
        )
        .map_err(|e| AuthorizationServerError::from_proof(e).into())
    }
}
