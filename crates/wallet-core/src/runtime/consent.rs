//! The consent flow of a received wallet request on the runtime: open (fetch, verify, show),
//! choose a credential or the approver, decide. A request that cannot be verified is refused
//! when it is opened; an authentic but unusable one is reported to the verifier then
//! (OpenID4VP asks so), and the host gets the verifier's redirect to hand to the browser.

use wallet_vault::{Vault, VaultError};

use super::slots::deadline_ms;
use super::view::{approver_allowed, ConsentView};
use super::{LinkId, SlotError, WalletRuntime};
use crate::deeplink::DeepLinkError;
use crate::openid4vp::{
    self, Decision, DispatchError, HolderEnv, Invalid, ResolveError, Resolved, Round,
};

/// The clinician's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Send; `employee` (roster id or identifier) approves and answers the employee round.
    Approve {
        /// Roster id or identifier.
        employee: String,
    },
    /// Send `access_denied`; `employee` (roster id or identifier) is who declined when the
    /// screen knows it (the activity log names them).
    Decline {
        /// Roster id or identifier of the employee at the screen, if one was chosen.
        employee: Option<String>,
    },
}

/// What a decision led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionOutcome {
    /// Approved (else declined).
    pub approved: bool,
    /// Rounds answered.
    pub rounds: Vec<Round>,
    /// The verifier's final redirect. After an approval it carries the authorization code:
    /// hand it to the browser, never to a log.
    pub redirect_uri: String,
    /// Where the browser goes: `redirect_uri`, or, after a decline of a flow this wallet
    /// started, the healthcare application with `access_denied`.
    pub continue_to: String,
}

/// Why a consent step failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The slot cannot be used (unknown, busy, answered, expired).
    #[error(transparent)]
    Slot(#[from] SlotError),
    /// The vault is not open or locked.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The roster could not be read.
    #[error(transparent)]
    Identity(#[from] crate::org::IdentityError),
    /// The received link is not a wallet authorization request.
    #[error("{0}")]
    InvalidLink(DeepLinkError),
    /// The request was refused before the clinician was asked.
    #[error("{error}")]
    Refused {
        /// Why.
        error: Box<ResolveError>,
        /// Whether the verifier was told (only for authentic requests).
        verifier_notified: bool,
        /// Where the verifier sends the browser after being told.
        verifier_redirect: Option<String>,
    },
    /// The chosen credential is not a candidate.
    #[error("{0}")]
    InvalidChoice(String),
    /// Approving needs an approver.
    #[error("choose who approves")]
    NoApprover,
    /// Employees are chosen by OS account here, and this OS user cannot approve (not linked,
    /// deactivated, or not the employee the healthcare application named).
    #[error("{0}")]
    NotThisComputerAccount(String),
    /// The healthcare application named another employee for this request.
    #[error("the healthcare application started this request for {named}, not for {chosen}")]
    NotTheNamedEmployee {
        /// The named employee's identifier.
        named: String,
        /// The chosen one's identifier.
        chosen: String,
    },
    /// Answering the verifier failed.
    #[error(transparent)]
    Dispatch(Box<DispatchError>),
}

impl From<DispatchError> for ConsentError {
    fn from(e: DispatchError) -> Self {
        Self::Dispatch(Box::new(e))
    }
}

/// The named-employee rule for `employee` (roster id or identifier). An employee who is not
/// on the roster is left to the view (it shows why) and to dispatch (it refuses).
fn check_approver(r: &Resolved, vault: &Vault, employee: &str) -> Result<(), ConsentError> {
    if let Some(os) = crate::roster::os_approver(vault)? {
        let me = os.map_err(ConsentError::NotThisComputerAccount)?;
        let chosen = crate::roster::find_employee(vault, employee)?;
        if chosen.id != me.id {
            return Err(ConsentError::NotThisComputerAccount(format!(
                "on this computer only {} (your computer account) can approve",
                me.identifier
            )));
        }
    }
    match crate::roster::find_employee(vault, employee) {
        Ok(e) => {
            approver_allowed(r, &e.identifier).map_err(|named| ConsentError::NotTheNamedEmployee {
                named,
                chosen: e.identifier,
            })
        }
        Err(_) => Ok(()),
    }
}

/// Who declined, by roster id, for the activity log: the employee of this computer account
/// where employees are bound to accounts, else the one chosen on the screen, else the one the
/// healthcare application named; nobody (the wallet) when none of them is on the roster.
fn decliner(r: &Resolved, vault: &Vault, chosen: Option<&str>) -> Option<String> {
    if let Ok(Some(Ok(me))) = crate::roster::os_approver(vault) {
        return Some(me.id);
    }
    let on_roster = |e: &str| crate::roster::find_employee(vault, e).ok().map(|e| e.id);
    chosen
        .and_then(on_roster)
        .or_else(|| r.consent.preauthorized_user.as_deref().and_then(on_roster))
}

/// Posts a refusal to the verifier when it may be told; returns whether it was and its
/// redirect.
async fn tell_verifier(env: &HolderEnv, inv: &Invalid) -> (bool, Option<String>) {
    let Some(d) = &inv.dispatch else {
        return (false, None);
    };
    match openid4vp::post_error(env, d).await {
        Ok(redirect) => (true, Some(redirect)),
        Err(e) => {
            tracing::warn!(error = %e, "could not tell the verifier about the refusal");
            (false, None)
        }
    }
}

impl WalletRuntime {
    /// Fetches and verifies the request of received link `id` and returns its consent view;
    /// a second call shows the verified request again.
    pub async fn open_consent(&self, id: LinkId) -> Result<ConsentView, ConsentError> {
        let env = self.holder_env()?;
        let incoming = self.inbox.get(id).ok_or(SlotError::Unknown)?;
        let now = self.now();
        if !self.slots.begin(id)? {
            return self.slots.with(id, self.now_ms(), |r, deadline| {
                Ok(ConsentView::build(id, r, deadline, &env.vault, None, now)?)
            })?;
        }
        let link = match incoming.parsed {
            Ok(l) => l,
            Err(e) => {
                self.slots.finish(id, None);
                return Err(ConsentError::InvalidLink(e));
            }
        };
        // Employees chosen by OS account: an OS user on no roster entry is refused before
        // anything is fetched.
        let os = match crate::roster::os_approver(&env.vault) {
            Ok(os) => os,
            Err(e) => {
                self.slots.finish(id, None);
                return Err(e.into());
            }
        };
        if let Some(Err(why)) = &os {
            self.slots.finish(id, None);
            tracing::info!(id, "request refused: the OS user is no roster entry");
            return Err(ConsentError::NotThisComputerAccount(why.clone()));
        }
        // The healthcare application named another employee than this computer's for the flow
        // with this verifier: refused before anything is fetched (checked again below on the
        // verified request, which names the same verifier).
        if let Some(Ok(me)) = &os {
            let named = env
                .sessions
                .as_ref()
                .and_then(|s| s.preauthorized_user_for(link.client_id.as_client_id(), now));
            if let Some(named) = named.filter(|n| *n != me.identifier) {
                self.slots.finish(id, None);
                tracing::info!(id, "request refused: started for another employee");
                return Err(ConsentError::NotThisComputerAccount(format!(
                    "the healthcare application started this request for {named}, but this \
                     computer is signed in as {}",
                    me.identifier
                )));
            }
        }
        match openid4vp::resolve(&link, &env).await {
            Ok(resolved) => {
                if let (Some(Ok(me)), Some(named)) =
                    (&os, resolved.consent.preauthorized_user.as_ref())
                {
                    if *named != me.identifier {
                        self.slots.finish(id, None);
                        return Err(ConsentError::NotThisComputerAccount(format!(
                            "the healthcare application started this request for {named}, but \
                             this computer is signed in as {}",
                            me.identifier
                        )));
                    }
                }
                let deadline = deadline_ms(incoming.received_at_ms, resolved.consent.expires_at);
                let view = ConsentView::build(id, &resolved, deadline, &env.vault, None, now);
                self.slots.finish(id, Some((resolved, deadline)));
                tracing::info!(id, "request verified; waiting for the decision");
                Ok(view?)
            }
            Err(inv) => {
                self.slots.finish(id, None);
                tracing::info!(
                    id,
                    code = inv.error.code(),
                    "request refused before consent"
                );
                let (verifier_notified, verifier_redirect) = tell_verifier(&env, &inv).await;
                Err(ConsentError::Refused {
                    error: Box::new(inv.error),
                    verifier_notified,
                    verifier_redirect,
                })
            }
        }
    }

    /// The clinician picked credential `credential` for requested item `descriptor`;
    /// `approver` as chosen on the screen.
    pub fn select_credential(
        &self,
        id: LinkId,
        descriptor: &str,
        credential: usize,
        approver: Option<&str>,
    ) -> Result<ConsentView, ConsentError> {
        let vault = self.vault()?;
        let now = self.now();
        self.slots.with(id, self.now_ms(), |r, deadline| {
            r.select(descriptor, credential, now)
                .map_err(ConsentError::InvalidChoice)?;
            Ok(ConsentView::build(id, r, deadline, &vault, approver, now)?)
        })?
    }

    /// The view with `employee` (roster id or identifier) as approver: the employee round's
    /// claims for them. Refused when the healthcare application named someone else.
    pub fn choose_approver(&self, id: LinkId, employee: &str) -> Result<ConsentView, ConsentError> {
        let vault = self.vault()?;
        let now = self.now();
        self.slots.with(id, self.now_ms(), |r, deadline| {
            check_approver(r, &vault, employee)?;
            Ok(ConsentView::build(
                id,
                r,
                deadline,
                &vault,
                Some(employee),
                now,
            )?)
        })?
    }

    /// Runs `f` on the verified request of a pending consent (for hosts that show more than
    /// the view, e.g. the CLI's JSON).
    pub fn with_request<T>(
        &self,
        id: LinkId,
        f: impl FnOnce(&Resolved) -> T,
    ) -> Result<T, ConsentError> {
        Ok(self.slots.with(id, self.now_ms(), |r, _| f(r))?)
    }

    /// Answers a pending consent the wallet cannot meet with `invalid_request` (what a Nuts
    /// wallet answers to a definition it cannot fulfil); returns whether the verifier took it.
    pub async fn refuse_unmet(&self, id: LinkId) -> Result<bool, ConsentError> {
        let env = self.holder_env()?;
        let resolved = self.slots.take(id, self.now_ms())?;
        let d = resolved.error_dispatch(
            "invalid_request",
            "wallet could not fulfill requirements of the presentation definition",
        );
        Ok(openid4vp::post_error(&env, &d).await.is_ok())
    }

    /// Sends the clinician's answer: approving signs and sends the organization round and,
    /// when the verifier asks, the employee round; declining sends `access_denied` and ends
    /// the flow this wallet started with that verifier. The named-employee rule is checked
    /// before the consent is taken, so a refused approver can be corrected.
    pub async fn decide(
        &self,
        id: LinkId,
        answer: Answer,
    ) -> Result<DecisionOutcome, ConsentError> {
        let env = self.holder_env()?;
        if let Answer::Approve { employee } = &answer {
            self.slots.with(id, self.now_ms(), |r, _| {
                check_approver(r, &env.vault, employee)
            })??;
        }
        let resolved = self.slots.take(id, self.now_ms())?;
        let verifier = resolved.consent.verifier.client_id.clone();
        match answer {
            Answer::Approve { employee } => {
                let out =
                    openid4vp::dispatch(&env, resolved, Decision::Approved { employee }).await?;
                Ok(DecisionOutcome {
                    approved: true,
                    rounds: out.rounds,
                    continue_to: out.redirect_uri.clone(),
                    redirect_uri: out.redirect_uri,
                })
            }
            Answer::Decline { employee } => {
                let by = decliner(&resolved, &env.vault, employee.as_deref());
                let out = openid4vp::dispatch(&env, resolved, Decision::Declined { by }).await;
                // The clinician declined: the flow this wallet started ends either way.
                let redirect = out.as_ref().map_or("", |o| o.redirect_uri.as_str());
                let continue_to = openid4vp::redirect_after_decline(&env, &verifier, redirect);
                let out = out?;
                Ok(DecisionOutcome {
                    approved: false,
                    rounds: out.rounds,
                    redirect_uri: out.redirect_uri,
                    continue_to,
                })
            }
        }
    }
}
