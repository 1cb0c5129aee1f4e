//! Commands of the consent screen (OpenID4VP user flow): open a received wallet link as what
//! will be shared with whom, let the clinician choose credential and approving employee, and
//! send the decision. The flow and its view model are `wallet_core::runtime`; these commands
//! map their input to runtime calls and the typed results and errors to DTOs, once, here.

use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;
use wallet_core::credentials::VerifyEnv;
use wallet_core::deeplink::DeepLink;
use wallet_core::runtime::{
    view, Answer, ConsentError, ConsentView, IncomingLink, SlotError, WalletRuntime,
};

use super::codes::{ConsentRound, DecisionOutcome, WarningCode};
use super::dto::{move_fields, AppInfo, IncomingOutcome, IncomingRequest, IpcError};
use super::identity_dto::OrganizationNames;
use super::services::LocalizedText;
use crate::state::AppState;
use crate::window::open_in_browser;

type Result<T> = std::result::Result<T, IpcError>;

/// The verifier as the wallet verified it.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VerifierInfo {
    /// Host of its entity id (HTTPS-verified).
    pub host: String,
    /// Entity id (OAuth issuer URL).
    pub client_id: String,
    /// The DID whose key signed the request.
    pub did: String,
    /// The administrator's name for it, if the policy gives one.
    pub display_name: Option<String>,
}

/// One claim that will be sent.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ClaimView {
    /// Field id in the definition (e.g. `organization_name`).
    pub id: String,
    /// Its value as text.
    pub value: String,
}

/// One credential that may be chosen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialChoice {
    /// Index to send back with `presentation_select`.
    pub index: u32,
    /// Types without `VerifiableCredential`.
    pub types: Vec<String>,
    /// Issuer DID.
    pub issuer: String,
    /// Who it names (URA, name, city), when it says so.
    pub organization: Option<OrganizationNames>,
}

/// A credential the wallet did not offer, or offered without a revocation check, and why.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialNoteView {
    /// Types without `VerifiableCredential`.
    pub types: Vec<String>,
    /// Why (translated as `warn.<code>`).
    pub code: WarningCode,
    /// English detail (the date, or why the status is unknown).
    pub detail: String,
}

fn notes(ns: Vec<wallet_core::credentials::CredentialNote>) -> Vec<CredentialNoteView> {
    ns.into_iter()
        .filter_map(|n| {
            Some(CredentialNoteView {
                code: WarningCode::of(n.code.as_str())?,
                types: n
                    .types
                    .into_iter()
                    .filter(|t| t != "VerifiableCredential")
                    .collect(),
                detail: n.detail,
            })
        })
        .collect()
}

/// One thing the verifier asks for.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RequestedItem {
    /// Input descriptor id.
    pub id: String,
    /// Its name, if the verifier gave one.
    pub name: Option<String>,
    /// Its purpose, if given.
    pub purpose: Option<String>,
    /// The claims the selected credential provides.
    pub claims: Vec<ClaimView>,
    /// Credentials that satisfy it (a choice when more than one).
    pub candidates: Vec<CredentialChoice>,
    /// Index of the selected credential.
    pub selected: Option<u32>,
    /// Why it cannot be met (PEX engine explanation).
    pub explanation: Option<String>,
}

/// An employee who may approve.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EmployeeChoice {
    /// Roster id.
    pub id: String,
    /// Identifier (login, e-mail, UZI number).
    pub identifier: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
}

/// The employee round as far as it is known before approving.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UserRoundView {
    /// The definition's name or purpose, if given.
    pub purpose: Option<String>,
    /// What the employee credential will carry, for the chosen employee (empty until chosen).
    pub claims: Vec<ClaimView>,
    /// Why it cannot be met for the chosen employee.
    pub problem: Option<String>,
}

/// What the consent screen shows.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PresentationView {
    /// The incoming link's id (answer with it).
    pub id: u32,
    /// Who asks.
    pub verifier: VerifierInfo,
    /// For what.
    pub scope: Option<String>,
    /// What the scope is for, in the administrator's words.
    pub scope_description: Option<LocalizedText>,
    /// The answer must be sent before this (Unix ms).
    #[ts(type = "number")]
    pub deadline_ms: i64,
    /// The clinician did not start this request (allowed by the policy for this verifier).
    pub unsolicited: bool,
    /// The verifier is not in the policy, which says to show it with a warning.
    pub outside_policy: bool,
    /// Whether everything asked for can be sent.
    pub fulfilled: bool,
    /// The organization round: what is asked and what will be sent.
    pub organization: Vec<RequestedItem>,
    /// The employee round that follows, if the verifier has one for this scope.
    pub user_round: Option<UserRoundView>,
    /// Active roster entries.
    pub employees: Vec<EmployeeChoice>,
    /// Employee preselected (the only active one).
    pub employee: Option<String>,
    /// Organization credentials not offered (expired, revoked, ...), and why.
    pub withheld: Vec<CredentialNoteView>,
    /// Offered credentials whose revocation status could not be checked just now, and why.
    pub revocation_unchecked: Vec<CredentialNoteView>,
}

/// Result of a decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    /// Whether the clinician approved or declined.
    pub outcome: DecisionOutcome,
    /// Rounds answered.
    pub rounds: Vec<ConsentRound>,
    /// Host the browser was sent to (the wallet's callback or the healthcare application).
    pub continued_to: String,
    /// Whether the browser could be opened.
    pub browser_opened: bool,
}

/// The clinician's decision.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DecisionInput {
    /// Incoming link id.
    pub id: u32,
    /// Approve or decline.
    pub approve: bool,
    /// Roster id of the employee at the screen: required to approve; with a decline it names
    /// who declined in the activity log.
    pub employee: Option<String>,
}

impl From<SlotError> for IpcError {
    fn from(e: SlotError) -> Self {
        IpcError {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

impl From<ConsentError> for IpcError {
    fn from(e: ConsentError) -> Self {
        let message = e.to_string();
        let code = match e {
            ConsentError::Slot(s) => return s.into(),
            ConsentError::Vault(v) => return v.into(),
            ConsentError::Identity(i) => return i.into(),
            ConsentError::InvalidLink(_)
            | ConsentError::InvalidChoice(_)
            | ConsentError::NoApprover => "invalid_input".to_owned(),
            ConsentError::Refused { error, .. } => format!("refused.{}", error.code()),
            // The same code as dispatch's own check, which the model now makes first.
            ConsentError::NotTheNamedEmployee { .. } => "dispatch.employee".to_owned(),
            ConsentError::NotThisComputerAccount(_) => "os_account".to_owned(),
            ConsentError::Dispatch(d) => format!("dispatch.{}", d.code()),
        };
        IpcError {
            code: code.into(),
            message,
        }
    }
}

/// The received link as the UI lists it.
pub fn incoming_request(l: IncomingLink) -> IncomingRequest {
    IncomingRequest {
        id: l.id,
        received_at_ms: l.received_at_ms.max(0) as u64,
        link: l.raw,
        outcome: IncomingOutcome::from(l.parsed.map(DeepLink::Authorize)),
    }
}

/// The shell state as the IPC layer reads it (DTOs and `IpcError`s stay on this side).
impl AppState {
    /// What the About view shows.
    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: wallet_core::build_info::VERSION.to_string(),
            commit: wallet_core::build_info::COMMIT.to_string(),
            data_dir: self.data_dir().display().to_string(),
            log_dir: self.log_dir().display().to_string(),
            dev_mode: self.dev(),
        }
    }

    /// All received links, oldest first.
    pub fn incoming(&self) -> Vec<IncomingRequest> {
        self.incoming_links()
            .into_iter()
            .map(incoming_request)
            .collect()
    }

    /// The runtime, or `invalid_input` when the network settings are unusable.
    pub fn wallet(&self) -> Result<&WalletRuntime> {
        self.runtime().map(|r| r.as_ref()).map_err(|e| IpcError {
            code: "invalid_input".into(),
            message: e.to_owned(),
        })
    }

    /// DID resolution, status lists and clock for credential checks (the runtime's).
    pub fn verify_env(&self) -> Result<VerifyEnv> {
        Ok(self.wallet()?.verify_env())
    }
}

fn claim_views(c: Vec<view::Claim>) -> Vec<ClaimView> {
    c.into_iter()
        .map(|c| move_fields!(c => ClaimView { id, value }))
        .collect()
}

impl From<view::RequestedItem> for RequestedItem {
    fn from(i: view::RequestedItem) -> Self {
        move_fields!(i => RequestedItem {
            id, name, purpose;
            claims: claim_views(i.claims),
            candidates: i
                .candidates
                .into_iter()
                .map(|c| move_fields!(c => CredentialChoice {
                    types, issuer;
                    index: c.index as u32,
                    organization: c.organization.map(Into::into),
                }))
                .collect(),
            selected: i.selected.map(|s| s as u32),
            explanation: i.problem,
        })
    }
}

impl From<ConsentView> for PresentationView {
    fn from(v: ConsentView) -> Self {
        let verifier = v.verifier;
        move_fields!(v => PresentationView {
            id, scope, deadline_ms, unsolicited, outside_policy, fulfilled;
            verifier: move_fields!(verifier => VerifierInfo { host, did, display_name; client_id: verifier.client_id.into_string() }),
            scope_description: v.scope_description.map(Into::into),
            organization: v.organization.into_iter().map(Into::into).collect(),
            user_round: v.user_round.map(|u| move_fields!(u => UserRoundView {
                purpose, problem;
                claims: claim_views(u.claims),
            })),
            employees: v
                .approvers
                .into_iter()
                .map(|e| move_fields!(e => EmployeeChoice { id, identifier, name, role }))
                .collect(),
            employee: v.approver,
            withheld: notes(v.withheld),
            revocation_unchecked: notes(v.revocation_unchecked),
        })
    }
}

/// Fetches and verifies the request of an incoming link and returns the consent screen's
/// content. A request that cannot be verified is refused here (nothing is shown or sent; an
/// authentic but unusable one is reported to the verifier, as OpenID4VP asks, and the browser
/// goes back).
#[tauri::command]
pub async fn presentation_resolve(state: State<'_, AppState>, id: u32) -> Result<PresentationView> {
    match state.wallet()?.open_consent(id).await {
        Ok(v) => Ok(v.into()),
        Err(e) => {
            if let ConsentError::Refused {
                verifier_redirect: Some(r),
                ..
            } = &e
            {
                let _ = open_in_browser(r);
            }
            Err(e.into())
        }
    }
}

/// The clinician picked another credential for a requested item.
#[tauri::command]
pub fn presentation_select(
    state: State<'_, AppState>,
    id: u32,
    descriptor: String,
    credential: u32,
    employee: Option<String>,
) -> Result<PresentationView> {
    let v = state.wallet()?.select_credential(
        id,
        &descriptor,
        credential as usize,
        employee.as_deref(),
    )?;
    Ok(v.into())
}

/// The consent screen with `employee` chosen (the employee round's claims for them).
#[tauri::command]
pub fn presentation_employee(
    state: State<'_, AppState>,
    id: u32,
    employee: String,
) -> Result<PresentationView> {
    Ok(state.wallet()?.choose_approver(id, &employee)?.into())
}

/// Sends the decision; on the way the organization VP and, for a user round, a fresh
/// employee credential and VP. Then the browser continues (the wallet's callback, which
/// exchanges the code, or the healthcare application with the error).
#[tauri::command]
pub async fn presentation_decide(
    state: State<'_, AppState>,
    input: DecisionInput,
) -> Result<DecisionView> {
    let answer = match (input.approve, input.employee) {
        (false, employee) => Answer::Decline { employee },
        (true, Some(employee)) => Answer::Approve { employee },
        (true, None) => return Err(ConsentError::NoApprover.into()),
    };
    let out = state.wallet()?.decide(input.id, answer).await?;
    let browser_opened = open_in_browser(&out.continue_to).is_ok();
    Ok(DecisionView {
        outcome: DecisionOutcome::of(out.approved),
        rounds: out.rounds.iter().map(ConsentRound::from).collect(),
        continued_to: url::Url::parse(&out.continue_to)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default(),
        browser_opened,
    })
}

/// Writes the TypeScript declarations of this module's DTOs.
pub fn export_bindings(dir: &std::path::Path) -> std::result::Result<(), ts_rs::ExportError> {
    PresentationView::export_all_to(dir)?;
    DecisionView::export_all_to(dir)?;
    DecisionInput::export_all_to(dir)?;
    Ok(())
}
