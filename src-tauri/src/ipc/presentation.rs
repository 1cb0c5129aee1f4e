//! Commands of the consent screen (user flow, issue 8): resolve a received wallet link into
//! what will be shared with whom, let the clinician choose credential and employee, and send
//! the decision. Everything is verified in `wallet_core::openid4vp::resolve` before a view
//! exists; these commands only adapt it.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tauri::State;
use ts_rs::TS;
use wallet_core::deeplink::DeepLink;
use wallet_core::openid4vp::{self, Decision, Resolved, Round};
use wallet_pex::{DescriptorEvaluation, Evaluation};

use super::dto::IpcError;
use crate::presentation::open_in_browser;
use crate::state::AppState;

type Result<T> = std::result::Result<T, IpcError>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

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
}

/// Result of a decision.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    /// `approved` or `declined`.
    pub outcome: String,
    /// Rounds answered (`organization`, `user`).
    pub rounds: Vec<String>,
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
    /// Roster id of the approving employee (required to approve).
    pub employee: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Who before where: names first, then identifiers, roles and the rest alphabetically.
fn claim_rank(id: &str) -> u8 {
    match id {
        "organization_name" | "employee_name" => 0,
        "organization_ura" | "employee_role" => 1,
        "organization_city" | "employee_identifier" => 2,
        _ => 3,
    }
}

fn claims(fields: &BTreeMap<String, Value>) -> Vec<ClaimView> {
    let mut out: Vec<ClaimView> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(id, v)| ClaimView {
            id: id.clone(),
            value: text(v),
        })
        .collect();
    out.sort_by_key(|c| claim_rank(&c.id));
    out
}

fn item(d: &DescriptorEvaluation, creds: &[openid4vp::CredentialView]) -> RequestedItem {
    RequestedItem {
        id: d.id.clone(),
        name: d.name.clone(),
        purpose: d.purpose.clone(),
        claims: claims(&d.fields),
        candidates: d
            .candidates
            .iter()
            .map(|c| CredentialChoice {
                index: c.index as u32,
                types: creds
                    .get(c.index)
                    .map(|v| {
                        v.types
                            .iter()
                            .filter(|t| *t != "VerifiableCredential")
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                issuer: creds
                    .get(c.index)
                    .map(|v| v.issuer.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        selected: d.selected.as_ref().map(|c| c.index as u32),
        explanation: d.explanation.as_ref().map(|x| x.message.clone()),
    }
}

fn problem(e: &Evaluation) -> Option<String> {
    if e.fulfilled {
        return None;
    }
    let reasons: Vec<String> = e
        .descriptors
        .iter()
        .filter_map(|d| d.explanation.as_ref().map(|x| x.message.clone()))
        .collect();
    Some(if reasons.is_empty() {
        "the request cannot be met".into()
    } else {
        reasons.join("; ")
    })
}

fn user_round(
    r: &Resolved,
    vault: &wallet_vault::Vault,
    employee: Option<&str>,
) -> Option<UserRoundView> {
    let preview = r.consent.user_round.as_ref()?;
    let purpose = preview.purpose.clone().or_else(|| preview.name.clone());
    let now = now_ms() / 1000;
    let (claims, problem) = match employee.and_then(|e| r.preview_user_round(vault, e, now)) {
        Some(Ok(ev)) => (
            ev.descriptors
                .iter()
                .flat_map(|d| claims(&d.fields))
                .collect(),
            problem(&ev),
        ),
        Some(Err(e)) => (Vec::new(), Some(e.to_string())),
        None => (Vec::new(), None),
    };
    Some(UserRoundView {
        purpose,
        claims,
        problem,
    })
}

fn view(
    id: u32,
    r: &Resolved,
    deadline_ms: i64,
    vault: &wallet_vault::Vault,
    employee: Option<&str>,
) -> Result<PresentationView> {
    let c = &r.consent;
    let employees: Vec<EmployeeChoice> = wallet_core::roster::list_employees(vault)?
        .into_iter()
        .filter(|e| e.active)
        // The healthcare application named the employee: only they may approve.
        .filter(|e| {
            c.preauthorized_user
                .as_ref()
                .is_none_or(|named| *named == e.identifier)
        })
        .map(|e| EmployeeChoice {
            id: e.id,
            identifier: e.identifier,
            name: e.name,
            role: e.role,
        })
        .collect();
    let employee = employee
        .map(str::to_owned)
        .or_else(|| match employees.as_slice() {
            [only] => Some(only.id.clone()),
            _ => None,
        });
    Ok(PresentationView {
        id,
        verifier: VerifierInfo {
            host: c.verifier.host.clone(),
            client_id: c.verifier.client_id.clone(),
            did: c.verifier.did.clone(),
        },
        scope: c.scope.clone(),
        deadline_ms,
        unsolicited: c.unsolicited,
        outside_policy: c.outside_policy,
        fulfilled: c.evaluation.fulfilled,
        organization: c
            .evaluation
            .descriptors
            .iter()
            .map(|d| item(d, &c.credentials))
            .collect(),
        user_round: user_round(r, vault, employee.as_deref()),
        employees,
        employee,
    })
}

fn refused(e: &openid4vp::Invalid) -> IpcError {
    IpcError {
        code: format!("refused.{}", e.error.code()),
        message: e.error.to_string(),
    }
}

/// Fetches and verifies the request of an incoming link and returns the consent screen's
/// content. A request that cannot be verified is refused here (nothing is shown or sent; an
/// authentic but unusable one is reported to the verifier, as OpenID4VP asks).
#[tauri::command]
pub async fn presentation_resolve(state: State<'_, AppState>, id: u32) -> Result<PresentationView> {
    let presentations = state.presentations();
    let env = presentations.env(&state)?;
    let incoming = state
        .incoming()
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(crate::presentation::SlotError::Unknown)?;
    if !presentations.begin(id)? {
        return presentations.with(id, now_ms(), |r, deadline| {
            view(id, r, deadline, &env.vault, None)
        })?;
    }
    let link = match wallet_core::deeplink::parse(&incoming.link) {
        Ok(DeepLink::Authorize(l)) => l,
        Err(e) => {
            presentations.finish(id, None);
            return Err(IpcError {
                code: "invalid_input".into(),
                message: e.to_string(),
            });
        }
    };
    match openid4vp::resolve(&link, &env).await {
        Ok(resolved) => {
            let window = incoming.received_at_ms as i64 + crate::presentation::FLOW_WINDOW_MS;
            let deadline = resolved
                .consent
                .expires_at
                .map_or(window, |exp| window.min(exp * 1000));
            let v = view(id, &resolved, deadline, &env.vault, None);
            presentations.finish(id, Some((resolved, deadline)));
            tracing::info!(id, "request verified; waiting for the decision");
            v
        }
        Err(inv) => {
            presentations.finish(id, None);
            tracing::info!(
                id,
                code = inv.error.code(),
                "request refused before consent"
            );
            if let Some(d) = &inv.dispatch {
                // Authentic but unusable: tell the verifier, send the browser back.
                if let Ok(redirect) = openid4vp::post_error(&env, d).await {
                    let _ = open_in_browser(&redirect);
                }
            }
            Err(refused(&inv))
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
    let presentations = state.presentations();
    let vault = state.session.vault()?;
    presentations.with(id, now_ms(), |r, deadline| {
        r.select(&descriptor, credential as usize, now_ms() / 1000)
            .map_err(|m| IpcError {
                code: "invalid_input".into(),
                message: m,
            })?;
        view(id, r, deadline, &vault, employee.as_deref())
    })?
}

/// The consent screen with `employee` chosen (the employee round's claims for them).
#[tauri::command]
pub fn presentation_employee(
    state: State<'_, AppState>,
    id: u32,
    employee: String,
) -> Result<PresentationView> {
    let presentations = state.presentations();
    let vault = state.session.vault()?;
    presentations.with(id, now_ms(), |r, deadline| {
        view(id, r, deadline, &vault, Some(&employee))
    })?
}

/// Sends the decision; on the way the organization VP and, for a user round, a fresh
/// employee credential and VP. Then the browser continues (the wallet's callback, which
/// exchanges the code, or the healthcare application with the error).
#[tauri::command]
pub async fn presentation_decide(
    state: State<'_, AppState>,
    input: DecisionInput,
) -> Result<DecisionView> {
    let presentations = state.presentations();
    let env = presentations.env(&state)?;
    let decision = match (input.approve, input.employee) {
        (false, _) => Decision::Declined,
        (true, Some(employee)) => Decision::Approved { employee },
        (true, None) => {
            return Err(IpcError {
                code: "invalid_input".into(),
                message: "choose who approves".into(),
            })
        }
    };
    let resolved = presentations.take(input.id, now_ms())?;
    let verifier = resolved.consent.verifier.client_id.clone();
    let approve = input.approve;
    let out = openid4vp::dispatch(&env, resolved, decision)
        .await
        .map_err(|e| IpcError {
            code: format!("dispatch.{}", e.code()),
            message: e.to_string(),
        })?;
    let target = if approve {
        out.redirect_uri.clone()
    } else {
        openid4vp::redirect_after_decline(&env, &verifier, &out.redirect_uri)
    };
    let browser_opened = open_in_browser(&target).is_ok();
    Ok(DecisionView {
        outcome: if approve { "approved" } else { "declined" }.into(),
        rounds: out
            .rounds
            .iter()
            .map(|r| match r {
                Round::Organization => "organization".to_owned(),
                Round::User => "user".to_owned(),
            })
            .collect(),
        continued_to: url::Url::parse(&target)
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
