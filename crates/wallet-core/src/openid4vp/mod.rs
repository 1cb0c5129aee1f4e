//! OpenID4VP (draft 21) holder of the Nuts user flow (`docs/protocol.md` §3 and §5), in the
//! shape **resolve → consent → dispatch**:
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

mod dispatch;
pub mod error;
pub mod request;
mod resolve;

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
use wallet_protocol::oauth::ClientId;
use wallet_protocol::openid4vp as protocol;
use wallet_protocol::signer::Signer;
use wallet_protocol::vc::Credential;
use wallet_protocol::vp::{self, PresentationRequest as VpInput};
use wallet_vault::{Actor, CredentialFilter, NewActivity, Outcome, Vault};

pub use error::{
    DispatchError, ErrorDispatch, Invalid, RequestObjectError, ResolveError, ResponseError,
};
pub use request::{PresentationRequest, SeenRequests, Unverified, Verified, SELF_ISSUED};

use crate::access_policy::VerifierDecision;
use crate::credentials::CredentialNote;
use crate::deeplink::{AuthorizeLink, RequestUriMethod};
use crate::oauth::error::sanitize;
use crate::oauth::user::UserSessions;

/// VP lifetime in this flow: `exp` = now + 15 min (`docs/protocol.md` §10).
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
    /// without a running session is unsolicited (docs/protocol.md §3.3). `None`: no sessions,
    /// so every request is unsolicited.
    pub sessions: Option<Arc<UserSessions>>,
    /// Accept unsolicited requests (administrator policy / `present --allow-unsolicited`);
    /// the consent then says the clinician did not start this request.
    pub allow_unsolicited: bool,
    /// Re-checks the organization's credentials (validity, revocation) before they are
    /// offered; shared with the service-token flow (one status list cache).
    pub screener: crate::credentials::Screener,
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
    pub client_id: ClientId,
    /// Its host, for display.
    pub host: String,
    /// The DID that signed the request.
    pub did: String,
    /// The administrator's name for it (policy), if any.
    pub display_name: Option<String>,
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
    /// Who it names (URA, name, city), when it says so.
    pub organization: Option<crate::credentials::OrganizationFacts>,
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
    /// The administrator's description of the scope at this verifier (policy), if any.
    pub scope_description: Option<crate::access_policy::ScopeText>,
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
    /// Organization credentials not offered (expired, not yet valid, revoked, suspended, or
    /// status unknown under the strict policy), and why.
    pub withheld: Vec<CredentialNote>,
    /// Offered credentials whose revocation status could not be checked just now, and why.
    pub revocation_unchecked: Vec<CredentialNote>,
}

impl Consent {
    /// What the screening found, for the activity log (empty when it found nothing).
    pub(crate) fn screening_detail(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        if !self.withheld.is_empty() {
            m.insert("withheld".into(), json!(self.withheld));
        }
        if !self.revocation_unchecked.is_empty() {
            m.insert(
                "revocation_unchecked".into(),
                json!(self.revocation_unchecked),
            );
        }
        m
    }
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
            dispatch::preview_employee_credential(vault, employee, now)
                .map(|c| evaluate(pd, std::slice::from_ref(&c), Some(now)))
                .map_err(DispatchError::Employee),
        )
    }

    /// The verified request object.
    pub fn request(&self) -> &PresentationRequest<Verified> {
        &self.request
    }

    /// An error for this (verified) request, to send with [`post_error`] instead of a
    /// presentation, e.g. `invalid_request` when the definition cannot be met (`docs/protocol.md` §5).
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
    /// Send `access_denied`; `by` is the roster id of the employee who declined, when known.
    Declined {
        /// Roster id of who declined (the activity log's actor); `None`: the wallet.
        by: Option<String>,
    },
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

pub use dispatch::{dispatch, post_error, redirect_after_decline};
pub use resolve::resolve;
