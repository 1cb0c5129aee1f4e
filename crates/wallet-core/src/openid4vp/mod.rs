//! OpenID4VP (draft 21) holder of the Nuts user flow (protocol brief B.1 steps 8-11, B.4, B.5,
//! C.1), in the EUDI shape **resolve → consent → dispatch**:
//!
//! 1. [`resolve`] takes a wallet authorization link ([`AuthorizeLink`]), fetches the request
//!    object (GET, or POST with `wallet_metadata`), verifies it completely
//!    ([`request::PresentationRequest`] `<Unverified>` → `<Verified>`), fetches the presentation
//!    definition and client metadata, and evaluates the definition over the organization's
//!    credentials. Refusals are [`Invalid`]: a typed [`ResolveError`] and, only when the
//!    request is authentic, an [`ErrorDispatch`] that [`post_error`] may send to the verifier.
//! 2. The app shows [`Resolved::consent`] ([`Consent`]: verifier as verified, scope, the PEX
//!    evaluation with claim values and explanations) and gets a [`Decision`].
//! 3. [`dispatch`] answers: `Approved` signs the organization VP and posts it; a `openid4vp:`
//!    user round that follows is handled internally (JAR #3 by POST with the self-issued
//!    `wallet_metadata`, a fresh NutsEmployeeCredential for the chosen roster entry, a VP
//!    signed by the employee's did:jwk key); the client callback (with the code) is returned.
//!    `Declined` posts `error=access_denied` (state in the query) and returns the verifier's
//!    redirect.
//!
//! Every round and decision is recorded in the activity log (`presentation.send`,
//! `presentation.decline`) with verifier, scope, credentials and claim values, never VPs,
//! codes or tokens.

pub mod error;
pub mod request;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use url::Url;
use wallet_pex::{
    evaluate, evaluate_with, negotiate_vp_format, nuts_default_formats, EvaluateOptions,
    Evaluation, FormatDesignations, PresentationDefinition, SubmissionOptions, VpFormat,
    WalletCredential,
};
use wallet_protocol::clock::Clock;
use wallet_protocol::did::{Did, DidResolver};
use wallet_protocol::net::HttpClient;
use wallet_protocol::openid4vp as protocol;
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::Credential;
use wallet_protocol::vp::{self, PresentationRequest as VpInput};
use wallet_vault::{Actor, CredentialFilter, NewActivity, Outcome, Vault};

pub use error::{DispatchError, ErrorDispatch, Invalid, ResolveError};
pub use request::{PresentationRequest, SeenRequests, Unverified, Verified, SELF_ISSUED};

use crate::deeplink::{AuthorizeLink, RequestUriMethod};
use crate::oauth::error::sanitize;
use crate::oauth::user::UserSessions;
use crate::access_policy::VerifierDecision;

/// VP lifetime in this flow (B.1 #9: exp = now + 15 min).
pub const VP_VALIDITY_SECS: i64 = 900;
pub use wallet_protocol::openid4vp::MAX_DOC_BYTES;
/// Activity action of a sent presentation.
pub const ACTION_SEND: &str = "presentation.send";
/// Activity action of a declined request.
pub const ACTION_DECLINE: &str = "presentation.decline";
/// Activity action of a refused request.
pub const ACTION_REFUSE: &str = "presentation.refuse";

/// What the holder needs: the vault (organization, credentials, roster, activity log), HTTP
/// (with the wallet's `NetPolicy`), DID resolution, the clock and the replay store.
#[derive(Clone)]
pub struct HolderEnv {
    /// The unlocked vault.
    pub vault: Vault,
    /// HTTP client (SSRF guard applied).
    pub http: Arc<dyn HttpClient>,
    /// DID resolver.
    pub resolver: Arc<dyn DidResolver>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Nonces of handled request objects.
    pub seen: Arc<SeenRequests>,
    /// The user-flow sessions this wallet started as client: a request from a verifier
    /// without a running session is unsolicited (issue 8 #3). `None`: no sessions, so every
    /// request is unsolicited.
    pub sessions: Option<Arc<UserSessions>>,
    /// Accept unsolicited requests (administrator policy / `present --allow-unsolicited`);
    /// the consent then says the clinician did not start this request.
    pub allow_unsolicited: bool,
}

/// Which wallet answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Round {
    /// The organization wallet (org key, org credentials).
    Organization,
    /// The user wallet (employee did:jwk, NutsEmployeeCredential).
    User,
}

/// The verifier as verified (signed request object + entity statement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifierView {
    /// Client id (entity id URL).
    pub client_id: String,
    /// Its host, for display.
    pub host: String,
    /// The DID that signed the request.
    pub did: String,
}

/// One wallet credential as the consent screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// Index in the evaluation's credential slice (`CredentialRef::index`).
    pub index: usize,
    /// Credential id.
    pub id: String,
    /// Types.
    pub types: Vec<String>,
    /// Issuer.
    pub issuer: String,
}

/// What the consent screen shows for one round.
#[derive(Debug, Clone, Serialize)]
pub struct Consent {
    /// Round.
    pub round: Round,
    /// The verifier.
    pub verifier: VerifierView,
    /// Scope (from the presentation definition URI), if known.
    pub scope: Option<String>,
    /// The PEX evaluation: per descriptor the candidates, selected credential, claim values,
    /// explanation when unmet.
    pub evaluation: Evaluation,
    /// The credentials the evaluation indexes.
    pub credentials: Vec<CredentialView>,
    /// Request object expiry (Unix s), for the countdown.
    pub expires_at: Option<i64>,
    /// The clinician did not start this request (no user-flow session of this wallet with
    /// this verifier); only possible when unsolicited requests are allowed.
    pub unsolicited: bool,
    /// The verifier is not in the administrator's policy, which says to show such requests
    /// with a warning.
    pub outside_policy: bool,
    /// The user round that will follow an approval (the employee credential), when the
    /// verifier has a user definition for this scope.
    pub user_round: Option<UserRoundPreview>,
    /// The employee the healthcare application named when it started this flow
    /// (`preauthorized_user`, checked against the roster then); only they may approve.
    pub preauthorized_user: Option<String>,
}

/// The second round as far as it can be known before the first is answered: the verifier's
/// user presentation definition for the scope. [`Resolved::preview_user_round`] evaluates it
/// for an employee, so the consent screen shows the claims that round will send.
#[derive(Debug, Clone, Serialize)]
pub struct UserRoundPreview {
    /// Definition id.
    pub definition_id: String,
    /// Definition name, if any.
    pub name: Option<String>,
    /// Definition purpose, if any.
    pub purpose: Option<String>,
}

/// A verified request, ready for a decision.
#[derive(Debug)]
pub struct Resolved {
    /// The consent model.
    pub consent: Consent,
    request: PresentationRequest<Verified>,
    definition: PresentationDefinition,
    formats: FormatDesignations,
    candidates: Vec<WalletCredential>,
    user_definition: Option<PresentationDefinition>,
    selection: BTreeMap<String, usize>,
}

impl Resolved {
    /// The clinician's choice where several credentials match `descriptor`: `credential` is
    /// an index into [`Consent::credentials`] and must be a candidate. Updates
    /// [`Consent::evaluation`] (claim values of the chosen credential) and what
    /// [`dispatch`] will send.
    pub fn select(&mut self, descriptor: &str, credential: usize, now: i64) -> Result<(), String> {
        let mut selection = self.selection.clone();
        selection.insert(descriptor.to_owned(), credential);
        let evaluation = evaluate_with(
            &self.definition,
            &self.candidates,
            &EvaluateOptions {
                now: Some(now),
                selection: selection.clone(),
            },
        )
        .map_err(|e| e.to_string())?;
        self.selection = selection;
        self.consent.evaluation = evaluation;
        Ok(())
    }

    /// What the user round would send for `employee` (roster id or identifier): the user
    /// definition evaluated over the employee credential the wallet would issue now (same
    /// claims, unsigned; nothing is issued or recorded). `None` without a user round.
    pub fn preview_user_round(
        &self,
        vault: &Vault,
        employee: &str,
        now: i64,
    ) -> Option<Result<Evaluation, DispatchError>> {
        let pd = self.user_definition.as_ref()?;
        Some(
            preview_employee_credential(vault, employee, now)
                .map(|c| evaluate(pd, std::slice::from_ref(&c), Some(now)))
                .map_err(DispatchError::Employee),
        )
    }

    /// The verified request object.
    pub fn request(&self) -> &PresentationRequest<Verified> {
        &self.request
    }

    /// An error for this (verified) request, to send with [`post_error`] instead of a
    /// presentation, e.g. `invalid_request` when the definition cannot be met (B.4).
    pub fn error_dispatch(&self, error: &str, description: &str) -> ErrorDispatch {
        self.request.error_dispatch(error, description)
    }
}

/// The user's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send; `employee` (roster id or identifier) answers a user round.
    Approved {
        /// Roster id or identifier of the active employee.
        employee: String,
    },
    /// Send `access_denied`.
    Declined,
}

/// The result of [`dispatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchOutcome {
    /// Where the browser goes: the client callback (with code or error). Holds the
    /// authorization code: hand it to the browser, never to a log.
    pub redirect_uri: String,
    /// Rounds answered.
    pub rounds: Vec<Round>,
}

fn wallet_issuer(vault: &Vault) -> Result<crate::org::OrgInfo, ResolveError> {
    crate::org::require_organization(vault).map_err(|e| ResolveError::NotReady(e.to_string()))
}

/// A presentation definition or client metadata document, refused as `what`.
async fn fetch_json(
    env: &HolderEnv,
    uri: &str,
    what: fn(String) -> ResolveError,
) -> Result<Value, ResolveError> {
    protocol::fetch_json(env.http.as_ref(), uri)
        .await
        .map_err(|e| what(e.to_string()))
}

fn org_credentials(vault: &Vault, holder: &str) -> Result<Vec<WalletCredential>, ResolveError> {
    let metas = vault
        .credentials().list(&CredentialFilter {
            subject: Some(holder.to_owned()),
            ..CredentialFilter::default()
        })
        .map_err(|e| ResolveError::NotReady(e.to_string()))?;
    let mut out = Vec::with_capacity(metas.len());
    for m in metas {
        let stored = vault
            .credentials().get(&m.id)
            .map_err(|e| ResolveError::NotReady(e.to_string()))?;
        match WalletCredential::parse(stored.raw.expose_secret()) {
            Ok(c) => out.push(c),
            Err(e) => {
                tracing::warn!(id = %m.id, error = %e, "stored credential is unusable; skipped")
            }
        }
    }
    Ok(out)
}

fn issuer_of(c: &WalletCredential) -> String {
    protocol::credential_issuer(c.normalized())
}

fn views(creds: &[WalletCredential]) -> Vec<CredentialView> {
    creds
        .iter()
        .enumerate()
        .map(|(index, c)| CredentialView {
            index,
            id: c.id().to_owned(),
            types: c.types().to_vec(),
            issuer: issuer_of(c),
        })
        .collect()
}

/// Verifies a request and its documents (everything but the evaluation).
async fn resolve_request(
    env: &HolderEnv,
    link: &AuthorizeLink,
    round: Round,
) -> Result<
    (
        PresentationRequest<Verified>,
        PresentationDefinition,
        FormatDesignations,
    ),
    Invalid,
> {
    let org = wallet_issuer(&env.vault)?;
    let (fetch_as, expected_aud) = match round {
        Round::Organization => (org.client_id.clone(), Some(org.client_id.as_str())),
        Round::User => (SELF_ISSUED.to_owned(), None),
    };
    let how = match link.request_uri_method {
        RequestUriMethod::Get => protocol::RequestObjectFetch::Get,
        RequestUriMethod::Post => protocol::RequestObjectFetch::Post { issuer: &fetch_as },
    };
    let text = protocol::fetch_request_object(env.http.as_ref(), link.request_uri.as_str(), how)
        .await
        .map_err(ResolveError::from)?;
    let verified = PresentationRequest::<Unverified>::new(text)
        .verify(env, link.client_id.as_str(), expected_aud)
        .await?;
    let post_back = |e: ResolveError| Invalid {
        dispatch: Some(ErrorDispatch {
            response_uri: verified.response_uri().to_owned(),
            state: verified.state().to_owned(),
            error: e.oauth_error().unwrap_or("invalid_request").to_owned(),
            error_description: e.to_string(),
        }),
        error: e,
    };
    // Definition: by URI (or the JSON string claim, as Nuts reads it).
    let pd_json = match (
        verified.string_claim("presentation_definition_uri"),
        verified.string_claim("presentation_definition"),
    ) {
        (Some(u), None) => fetch_json(env, u, ResolveError::PresentationDefinition)
            .await
            .map_err(post_back)?,
        (None, Some(s)) => serde_json::from_str(s)
            .map_err(|_| post_back(ResolveError::PresentationDefinition("not JSON".into())))?,
        _ => {
            return Err(post_back(ResolveError::PresentationDefinition(
                "exactly one of presentation_definition(_uri) is required".into(),
            )))
        }
    };
    let definition = PresentationDefinition::from_json(pd_json)
        .map_err(|e| post_back(ResolveError::PresentationDefinition(e.to_string())))?;
    let cm = match (
        verified.string_claim("client_metadata_uri"),
        verified.string_claim("client_metadata"),
    ) {
        (Some(u), None) => fetch_json(env, u, ResolveError::ClientMetadata)
            .await
            .map_err(post_back)?,
        (None, Some(s)) => serde_json::from_str(s)
            .map_err(|_| post_back(ResolveError::ClientMetadata("not JSON".into())))?,
        _ => {
            return Err(post_back(ResolveError::ClientMetadata(
                "exactly one of client_metadata(_uri) is required".into(),
            )))
        }
    };
    let formats: FormatDesignations = match cm.get("vp_formats") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| post_back(ResolveError::ClientMetadata(format!("vp_formats: {e}"))))?,
        None => FormatDesignations::default(),
    };
    Ok((verified, definition, formats))
}

fn scope_of(req: &PresentationRequest<Verified>) -> Option<String> {
    let u = Url::parse(req.string_claim("presentation_definition_uri")?).ok()?;
    let s = u.query_pairs().find(|(k, _)| k == "scope")?.1.into_owned();
    Some(sanitize(&s, 1024))
}

fn consent_for(
    round: Round,
    req: &PresentationRequest<Verified>,
    evaluation: Evaluation,
    candidates: &[WalletCredential],
) -> Consent {
    let client_id = req.client_id().to_owned();
    Consent {
        round,
        verifier: VerifierView {
            host: Url::parse(&client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            client_id,
            did: req.verifier_did(),
        },
        scope: scope_of(req),
        evaluation,
        credentials: views(candidates),
        expires_at: req.expires_at(),
        unsolicited: false,
        outside_policy: false,
        user_round: None,
        preauthorized_user: None,
    }
}

/// Resolves a wallet authorization link of the organization round: fetch, verify, documents,
/// evaluation over the organization's credentials. A refusal is recorded in the activity log
/// (`presentation.refuse`).
pub async fn resolve(link: &AuthorizeLink, env: &HolderEnv) -> Result<Resolved, Invalid> {
    let r = resolve_inner(link, env).await;
    if let Err(inv) = &r {
        record(
            env,
            ACTION_REFUSE,
            link.client_id.as_str(),
            Outcome::Failure,
            json!({"error": inv.error.code(), "message": inv.error.to_string()}),
        );
    }
    r
}

async fn resolve_inner(link: &AuthorizeLink, env: &HolderEnv) -> Result<Resolved, Invalid> {
    // Unsolicited requests are refused before anything is fetched (nothing is posted).
    let now = env.clock.now_unix();
    let unsolicited = !env
        .sessions
        .as_ref()
        .is_some_and(|s| s.has_running_flow_for(link.client_id.as_str(), now));
    // The administrator's policy, before anything is fetched from the verifier.
    let policy = crate::access_policy::ServicePolicy::load(&env.vault)
        .map_err(|e| ResolveError::NotReady(e.to_string()))?;
    let verifier = link.client_id.as_str();
    let outside_policy = match policy.decide_verifier(verifier) {
        VerifierDecision::Listed => false,
        VerifierDecision::Flagged => true,
        VerifierDecision::Refused => {
            return Err(ResolveError::OutsidePolicy(verifier.to_owned()).into())
        }
    };
    if unsolicited && !env.allow_unsolicited && !policy.allows_unsolicited(verifier) {
        return Err(ResolveError::Unsolicited(verifier.to_owned()).into());
    }
    let (request, definition, formats) = resolve_request(env, link, Round::Organization).await?;
    let org = wallet_issuer(&env.vault)?;
    let candidates = org_credentials(&env.vault, &org.did)?;
    let evaluation = evaluate(&definition, &candidates, Some(env.clock.now_unix()));
    let user_definition = user_definition(env, &request).await;
    let mut consent = consent_for(Round::Organization, &request, evaluation, &candidates);
    consent.unsolicited = unsolicited;
    consent.outside_policy = outside_policy;
    consent.preauthorized_user = env
        .sessions
        .as_ref()
        .and_then(|s| s.preauthorized_user_for(verifier, now));
    consent.user_round = user_definition.as_ref().map(|d| UserRoundPreview {
        definition_id: d.id().to_owned(),
        name: d.name().map(str::to_owned),
        purpose: d.purpose().map(str::to_owned),
    });
    Ok(Resolved {
        consent,
        request,
        definition,
        formats,
        candidates,
        user_definition,
        selection: BTreeMap::new(),
    })
}

/// The verifier's user definition for the organization round's scope (Nuts serves both at
/// one endpoint, told apart by `wallet_owner_type`), fetched ahead so the consent screen can
/// show the employee round too. Best effort: `None` when the verifier has none or it cannot be
/// read; the round itself fetches and verifies its own definition.
async fn user_definition(
    env: &HolderEnv,
    req: &PresentationRequest<Verified>,
) -> Option<PresentationDefinition> {
    let mut url = Url::parse(req.string_claim("presentation_definition_uri")?).ok()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs
        .iter()
        .any(|(k, v)| k == "wallet_owner_type" && v == "organization")
    {
        return None;
    }
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs.iter().map(|(k, v)| {
            if k == "wallet_owner_type" {
                (k.as_str(), "user")
            } else {
                (k.as_str(), v.as_str())
            }
        }));
    let json = fetch_json(env, url.as_str(), ResolveError::PresentationDefinition)
        .await
        .ok()?;
    PresentationDefinition::from_json(json).ok()
}

fn record(env: &HolderEnv, action: &str, subject: &str, outcome: Outcome, detail: Value) {
    let entry = NewActivity::new(Actor::System, action, subject)
        .outcome(outcome)
        .detail(detail);
    if let Err(e) = env.vault.activity_log().record(entry) {
        tracing::warn!(error = %e, "could not record the presentation in the activity log");
    }
}

/// Posts a verified refusal ([`Invalid::dispatch`]) to the verifier; returns its redirect.
pub async fn post_error(env: &HolderEnv, d: &ErrorDispatch) -> Result<String, DispatchError> {
    Ok(protocol::post_error(env.http.as_ref(), d).await?)
}

/// Where the browser goes after a decline. When this wallet started the flow as client, its
/// session ends with `access_denied` (the EHR's poll sees it) and the browser goes straight to
/// the EHR's `redirect_uri` with the error: the verifier's redirect would only reach the
/// wallet's own callback, without `state` (a Nuts AS sends none with a wallet error, B.5).
/// Otherwise (unsolicited) the verifier's redirect.
pub fn redirect_after_decline(env: &HolderEnv, verifier: &str, verifier_redirect: &str) -> String {
    const DESCRIPTION: &str = "the user declined the request";
    let now = env.clock.now_unix();
    let Some(ehr) = env
        .sessions
        .as_ref()
        .and_then(|s| {
            crate::oauth::user::abort_flow(
                &env.vault,
                s,
                verifier,
                "access_denied",
                DESCRIPTION,
                now,
            )
        })
        .map(|f| f.app_redirect_uri)
    else {
        return verifier_redirect.to_owned();
    };
    match Url::parse(&ehr) {
        Ok(mut u) => {
            u.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("error_description", DESCRIPTION);
            u.into()
        }
        Err(_) => ehr,
    }
}

/// Answers a resolved request with the user's decision; handles the `openid4vp:` user round;
/// returns the final redirect for the browser.
pub async fn dispatch(
    env: &HolderEnv,
    resolved: Resolved,
    decision: Decision,
) -> Result<DispatchOutcome, DispatchError> {
    let verifier = resolved.request.client_id().to_owned();
    let scope = resolved.consent.scope.clone();
    let employee = match decision {
        Decision::Declined => {
            let d = resolved.error_dispatch("access_denied", "the user declined the request");
            let r = post_error(env, &d).await;
            record(
                env,
                ACTION_DECLINE,
                &verifier,
                Outcome::Declined,
                json!({"round": Round::Organization, "scope": scope}),
            );
            return r.map(|redirect_uri| DispatchOutcome {
                redirect_uri,
                rounds: vec![Round::Organization],
            });
        }
        Decision::Approved { employee } => employee,
    };
    // The employee must be an active roster entry before anything is sent (issue 8 #4).
    let e = crate::roster::find_employee(&env.vault, &employee)
        .map_err(|e| DispatchError::Employee(e.to_string()))?;
    if !e.active {
        return Err(DispatchError::Employee(format!(
            "{} is deactivated",
            e.identifier
        )));
    }
    // The healthcare application named the employee when it started the flow: only they may
    // approve it (someone else at the same workstation would present the wrong person).
    if let Some(named) = &resolved.consent.preauthorized_user {
        if *named != e.identifier {
            return Err(DispatchError::Employee(format!(
                "the healthcare application started this request for {named}, not for {}",
                e.identifier
            )));
        }
    }
    let org = crate::org::require_organization(&env.vault)
        .map_err(|e| DispatchError::Storage(e.to_string()))?;
    let signer = crate::org::organization_signer(&env.vault, &org)
        .map_err(|e| DispatchError::Signing(e.to_string()))?;
    let holder = Did::parse(&org.did).map_err(|e| DispatchError::Storage(e.to_string()))?;
    let next = answer(
        env,
        Round::Organization,
        &resolved.request,
        &resolved.definition,
        &resolved.selection,
        &resolved.formats,
        &resolved.candidates,
        &signer,
        &holder,
        scope.as_deref(),
        None,
    )
    .await?;
    let mut rounds = vec![Round::Organization];
    if !next.starts_with("openid4vp:") {
        return Ok(DispatchOutcome {
            redirect_uri: next,
            rounds,
        });
    }
    // The user round (`docs/protocol.md` §3), same verifier; the link is read as any other.
    let link = crate::deeplink::parse_authorize_link(&next)
        .map_err(|e| DispatchError::BadResponse(format!("openid4vp link: {e}")))?;
    if link.client_id.as_str() != verifier {
        return Err(DispatchError::BadResponse(
            "the user round names another verifier".into(),
        ));
    }
    let (request, definition, formats) = resolve_request(env, &link, Round::User).await?;
    // Same verifier key owner and same verifier session as the organization round (B.4).
    if request.verifier_did() != resolved.request.verifier_did()
        || request.state() != resolved.request.state()
    {
        return Err(DispatchError::BadResponse(
            "the user round does not continue the organization round".into(),
        ));
    }
    let issued = crate::roster::issue_employee_credential(
        &env.vault,
        crate::roster::Issuer::Employee,
        &e.id,
        None,
        env.clock.as_ref(),
    )
    .map_err(|e| DispatchError::Employee(e.to_string()))?;
    let key_id = e
        .key_id
        .clone()
        .ok_or_else(|| DispatchError::Employee("no key".into()))?;
    let emp_signer = env
        .vault
        .keys().signer(&key_id)
        .map_err(|e| DispatchError::Signing(e.to_string()))?;
    let emp_did =
        Did::parse(&issued.subject).map_err(|e| DispatchError::Employee(e.to_string()))?;
    let cred = WalletCredential::from_jwt(&issued.jwt)
        .map_err(|e| DispatchError::Employee(e.to_string()))?;
    let final_redirect = answer(
        env,
        Round::User,
        &request,
        &definition,
        &BTreeMap::new(),
        &formats,
        std::slice::from_ref(&cred),
        &emp_signer,
        &emp_did,
        scope_of(&request).as_deref(),
        Some(&e.identifier),
    )
    .await?;
    rounds.push(Round::User);
    Ok(DispatchOutcome {
        redirect_uri: final_redirect,
        rounds,
    })
}

/// The NutsEmployeeCredential [`crate::roster::issue_employee_credential`] would issue for
/// `employee` now, as an unsigned JSON-LD document (only its claims matter for a preview).
fn preview_employee_credential(
    vault: &Vault,
    employee: &str,
    now: i64,
) -> Result<WalletCredential, String> {
    let e = crate::roster::find_employee(vault, employee).map_err(|e| e.to_string())?;
    if !e.active {
        return Err(format!("{} is deactivated", e.identifier));
    }
    let view = crate::roster::EmployeeView::from_employee(&e);
    let org = crate::org::require_organization(vault).map_err(|e| e.to_string())?;
    let validity = crate::roster::credential_validity(vault).map_err(|e| e.to_string())?;
    WalletCredential::from_json(json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "issuer": org.did,
        "issuanceDate": wallet_protocol::clock::format_rfc3339(now),
        "expirationDate": wallet_protocol::clock::format_rfc3339(now + validity),
        "credentialSubject": {
            "id": view.did,
            "identifier": view.identifier,
            "name": view.name,
            "roleName": view.role,
        }
    }))
    .map_err(|e| e.to_string())
}

/// Evaluates, signs and posts one round; records it; returns the verifier's `redirect_uri`.
#[allow(clippy::too_many_arguments)]
async fn answer(
    env: &HolderEnv,
    round: Round,
    req: &PresentationRequest<Verified>,
    pd: &PresentationDefinition,
    selection: &BTreeMap<String, usize>,
    formats: &FormatDesignations,
    candidates: &[WalletCredential],
    signer: &dyn Signer,
    holder: &Did,
    scope: Option<&str>,
    employee: Option<&str>,
) -> Result<String, DispatchError> {
    let verifier = req.client_id().to_owned();
    let now = env.clock.now_unix();
    let mut detail = json!({"round": round, "scope": scope, "definition_id": pd.id()});
    if let Some(e) = employee {
        detail["employee"] = json!(e);
    }
    let result = async {
        let evaluation = evaluate_with(
            pd,
            candidates,
            &EvaluateOptions {
                now: Some(now),
                selection: selection.clone(),
            },
        )
        .map_err(|e| DispatchError::NoMatch(e.to_string()))?;
        if !evaluation.fulfilled {
            let reasons: Vec<String> = evaluation
                .descriptors
                .iter()
                .filter_map(|d| {
                    d.explanation
                        .as_ref()
                        .map(|x| format!("{}: {}", d.id, x.message))
                })
                .collect();
            return Err(DispatchError::NoMatch(reasons.join("; ")));
        }
        let built = evaluation
            .build_submission(pd, candidates, &SubmissionOptions::default())
            .map_err(|e| DispatchError::NoMatch(e.to_string()))?;
        let negotiated = negotiate_vp_format(&nuts_default_formats(), formats, pd.format())
            .ok_or(DispatchError::NoCommonVpFormat)?;
        let mut credentials = Vec::with_capacity(built.credentials.len());
        let mut presented = Vec::new();
        for &i in &built.credentials {
            let c = &candidates[i];
            presented.push(json!({"id": c.id(), "types": c.types(), "issuer": issuer_of(c)}));
            credentials.push(
                Credential::from_value(&c.raw().to_json())
                    .map_err(|e| DispatchError::NoMatch(format!("credential {}: {e}", c.id())))?,
            );
        }
        let fields: serde_json::Map<String, Value> = evaluation
            .descriptors
            .iter()
            .flat_map(|d| d.fields.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect();
        let input = VpInput {
            holder: holder.clone(),
            audience: verifier.clone(),
            nonce: req.nonce().to_owned(),
            credentials,
            now,
            validity_secs: VP_VALIDITY_SECS,
        };
        let vp_text = match negotiated.format {
            VpFormat::JwtVp => vp::issue_jwt_vp(signer, &input),
            VpFormat::LdpVp => vp::issue_ldp_vp(signer, &input).map(|v| v.to_string()),
        }
        .map_err(|e| DispatchError::Signing(e.to_string()))?;
        let submission = serde_json::to_string(&built.presentation_submission)
            .map_err(|e| DispatchError::Signing(e.to_string()))?;
        let response = protocol::AuthorizationResponse {
            vp_token: &vp_text,
            presentation_submission: &submission,
            state: req.state(),
        };
        let redirect =
            protocol::post_response(env.http.as_ref(), req.response_uri(), &response).await?;
        Ok((redirect, presented, fields, negotiated.format.as_str()))
    }
    .await;
    match result {
        Ok((redirect, presented, fields, format)) => {
            detail["credentials"] = json!(presented);
            detail["claims"] = Value::Object(fields);
            detail["vp_format"] = json!(format);
            record(env, ACTION_SEND, &verifier, Outcome::Success, detail);
            Ok(redirect)
        }
        Err(e) => {
            detail["error"] = json!(e.code());
            detail["message"] = json!(e.to_string());
            record(env, ACTION_SEND, &verifier, Outcome::Failure, detail);
            Err(e)
        }
    }
}
