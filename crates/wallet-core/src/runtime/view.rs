//! The consent view model: what the consent screen (app) or the terminal (CLI) shows for one
//! wallet request, built from the verified request ([`Resolved`]). Per requested item the
//! credential choice, the claims in display order and why it cannot be met; the employee
//! round's claims for the chosen approver; and who may approve. The named-employee rule lives
//! here: when the healthcare application named an employee (`preauthorized_user`), the model
//! offers only them, and [`approver_allowed`] refuses anyone else before anything is sent.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use wallet_pex::{DescriptorEvaluation, Evaluation};
use wallet_vault::Vault;

use crate::openid4vp::{CredentialView, Resolved, VerifierView};

/// One claim that will be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// Field id in the definition (e.g. `organization_name`).
    pub id: String,
    /// Its value as text.
    pub value: String,
}

/// One credential that may be chosen for a requested item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialChoice {
    /// Index to choose it with ([`crate::runtime::WalletRuntime::select_credential`]).
    pub index: usize,
    /// Types without `VerifiableCredential`.
    pub types: Vec<String>,
    /// Issuer DID.
    pub issuer: String,
    /// Who it names (URA, name, city), when it says so.
    pub organization: Option<crate::credentials::OrganizationFacts>,
}

/// One thing the verifier asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestedItem {
    /// Input descriptor id.
    pub id: String,
    /// Its name, if the verifier gave one.
    pub name: Option<String>,
    /// Its purpose, if given.
    pub purpose: Option<String>,
    /// The claims the selected credential provides, names first.
    pub claims: Vec<Claim>,
    /// Credentials that satisfy it (a choice when more than one).
    pub candidates: Vec<CredentialChoice>,
    /// Index of the selected credential.
    pub selected: Option<usize>,
    /// Why it cannot be met (PEX engine explanation).
    pub problem: Option<String>,
}

/// An employee who may approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approver {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRoundView {
    /// The definition's purpose, else its name.
    pub purpose: Option<String>,
    /// What the employee credential will carry for the chosen approver (empty until chosen).
    pub claims: Vec<Claim>,
    /// Why it cannot be met for the chosen approver.
    pub problem: Option<String>,
}

/// What the consent screen shows for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentView {
    /// The received link's id (answer with it).
    pub id: u32,
    /// Who asks, as verified.
    pub verifier: VerifierView,
    /// For what.
    pub scope: Option<String>,
    /// What the scope is for, in the administrator's words (policy).
    pub scope_description: Option<crate::access_policy::ScopeText>,
    /// The answer must be sent before this (Unix ms).
    pub deadline_ms: i64,
    /// The clinician did not start this request (allowed by the policy for this verifier).
    pub unsolicited: bool,
    /// The verifier is not in the policy, which says to show it with a warning.
    pub outside_policy: bool,
    /// Whether everything asked for in the organization round can be sent.
    pub fulfilled: bool,
    /// The organization round: what is asked and what will be sent.
    pub organization: Vec<RequestedItem>,
    /// The employee round that follows, if the verifier has one for this scope.
    pub user_round: Option<UserRoundView>,
    /// Who may approve: the active roster, or only the employee the healthcare application
    /// named.
    pub approvers: Vec<Approver>,
    /// The chosen approver (roster id or identifier as given), or the only one there is.
    pub approver: Option<String>,
    /// The employee the healthcare application named, if it did.
    pub named_employee: Option<String>,
    /// Organization credentials not offered (expired, revoked, ...), and why.
    pub withheld: Vec<crate::credentials::CredentialNote>,
    /// Offered credentials whose revocation status could not be checked just now, and why.
    pub revocation_unchecked: Vec<crate::credentials::CredentialNote>,
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

/// The non-null claims of `fields` in display order.
pub fn claims(fields: &BTreeMap<String, Value>) -> Vec<Claim> {
    let mut out: Vec<Claim> = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(id, v)| Claim {
            id: id.clone(),
            value: text(v),
        })
        .collect();
    out.sort_by_key(|c| claim_rank(&c.id));
    out
}

fn item(d: &DescriptorEvaluation, creds: &[CredentialView]) -> RequestedItem {
    RequestedItem {
        id: d.id.clone(),
        name: d.name.clone(),
        purpose: d.purpose.clone(),
        claims: claims(&d.fields),
        candidates: d
            .candidates
            .iter()
            .map(|c| {
                let v = creds.get(c.index);
                CredentialChoice {
                    index: c.index,
                    types: v
                        .map(|v| {
                            v.types
                                .iter()
                                .filter(|t| *t != "VerifiableCredential")
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default(),
                    issuer: v.map(|v| v.issuer.clone()).unwrap_or_default(),
                    organization: v.and_then(|v| v.organization.clone()),
                }
            })
            .collect(),
        selected: d.selected.as_ref().map(|c| c.index),
        problem: d.explanation.as_ref().map(|x| x.message.clone()),
    }
}

/// Why an evaluation cannot be met, `None` when it can.
pub fn problem(e: &Evaluation) -> Option<String> {
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
    vault: &Vault,
    approver: Option<&str>,
    now: i64,
) -> Option<UserRoundView> {
    let preview = r.consent.user_round.as_ref()?;
    let purpose = preview.purpose.clone().or_else(|| preview.name.clone());
    let (claims, problem) = match approver.and_then(|e| r.preview_user_round(vault, e, now)) {
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

/// The named-employee rule: `Err(named)` when the healthcare application named someone
/// else than `identifier` (a roster identifier) for this request.
pub fn approver_allowed(r: &Resolved, identifier: &str) -> Result<(), String> {
    match &r.consent.preauthorized_user {
        Some(named) if named != identifier => Err(named.clone()),
        _ => Ok(()),
    }
}

impl ConsentView {
    /// The view of `r` (received link `id`, answer before `deadline_ms`) with `approver`
    /// chosen (or the only one offered). `now` in Unix seconds.
    pub fn build(
        id: u32,
        r: &Resolved,
        deadline_ms: i64,
        vault: &Vault,
        approver: Option<&str>,
        now: i64,
    ) -> Result<Self, crate::org::IdentityError> {
        let c = &r.consent;
        // By OS account: only the OS session's user is offered.
        let os_only = match crate::roster::os_approver(vault)? {
            Some(Ok(me)) => Some(me.id),
            Some(Err(_)) => Some(String::new()),
            None => None,
        };
        let approvers: Vec<Approver> = crate::roster::list_employees(vault)?
            .into_iter()
            .filter(|e| e.active)
            .filter(|e| os_only.as_ref().is_none_or(|id| *id == e.id))
            .filter(|e| approver_allowed(r, &e.identifier).is_ok())
            .map(|e| Approver {
                id: e.id,
                identifier: e.identifier,
                name: e.name,
                role: e.role,
            })
            .collect();
        let approver = approver
            .map(str::to_owned)
            .or_else(|| match approvers.as_slice() {
                [only] => Some(only.id.clone()),
                _ => None,
            });
        Ok(Self {
            id,
            verifier: c.verifier.clone(),
            scope: c.scope.clone(),
            scope_description: c.scope_description.clone(),
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
            user_round: user_round(r, vault, approver.as_deref(), now),
            approvers,
            approver,
            named_employee: c.preauthorized_user.clone(),
            withheld: c.withheld.clone(),
            revocation_unchecked: c.revocation_unchecked.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_are_names_first_and_skip_nulls() {
        let fields: BTreeMap<String, Value> = [
            ("organization_city", json!("Utrecht")),
            ("organization_name", json!("Zorg")),
            ("other", json!(3)),
            ("organization_ura", Value::Null),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let ids: Vec<String> = claims(&fields).into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["organization_name", "organization_city", "other"]);
        assert_eq!(claims(&fields)[2].value, "3");
    }
}
