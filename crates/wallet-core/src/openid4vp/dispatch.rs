//! Answering a resolved request: the organization round, the employee round that may follow,
//! and declines and refusals posted to the verifier.

use super::resolve::{issuer_of, resolve_request, scope_of};
use super::*;

pub(super) fn record(
    env: &HolderEnv,
    action: &str,
    subject: &str,
    outcome: Outcome,
    detail: Value,
) {
    record_as(env, Actor::System, action, subject, outcome, detail);
}

fn record_as(
    env: &HolderEnv,
    actor: Actor,
    action: &str,
    subject: &str,
    outcome: Outcome,
    detail: Value,
) {
    let entry = NewActivity::new(actor, action, subject)
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
/// wallet's own callback, without `state` (a Nuts AS sends none with a wallet error; `docs/protocol.md` §12).
/// Otherwise (unsolicited) the verifier's redirect.
pub fn redirect_after_decline(
    env: &HolderEnv,
    verifier: &ClientId,
    verifier_redirect: &str,
) -> String {
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
        .map(|f| f.flow.app_redirect_uri)
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
    let verifier = resolved.request.client_id().clone();
    let scope = resolved.consent.scope.clone();
    let employee = match decision {
        Decision::Declined { by } => {
            let d = resolved.error_dispatch("access_denied", "the user declined the request");
            let r = post_error(env, &d).await;
            record_as(
                env,
                by.map_or(Actor::System, Actor::Employee),
                ACTION_DECLINE,
                verifier.as_str(),
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
    // The employee must be an active roster entry before anything is sent: nothing may be
    // presented in the name of someone the administrator deactivated.
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
        resolved.consent.screening_detail(),
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
        .map_err(|e| ResponseError::BadResponse(format!("openid4vp link: {e}")))?;
    if link.client_id.as_client_id() != &verifier {
        return Err(
            ResponseError::BadResponse("the user round names another verifier".into()).into(),
        );
    }
    let (request, definition, formats) = resolve_request(env, &link, Round::User).await?;
    // Same verifier key owner and same verifier session as the organization round (`docs/protocol.md` §3.4).
    if request.verifier_did() != resolved.request.verifier_did()
        || request.state() != resolved.request.state()
    {
        return Err(ResponseError::BadResponse(
            "the user round does not continue the organization round".into(),
        )
        .into());
    }
    // A key for this flow only: the credential's subject and the VP's holder. It is dropped
    // (and zeroized) when this function returns; nothing of it is stored.
    let emp_key = crate::roster::EphemeralEmployeeKey::generate()
        .map_err(|e| DispatchError::Signing(e.to_string()))?;
    let issued = crate::roster::issue_employee_credential(
        &env.vault,
        crate::roster::Issuer::Employee,
        &e.id,
        emp_key.did(),
        None,
        env.clock.as_ref(),
    )
    .map_err(|e| DispatchError::Employee(e.to_string()))?;
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
        &emp_key,
        emp_key.did(),
        scope_of(&request).as_deref(),
        serde_json::Map::from_iter([("employee".to_owned(), json!(e.identifier))]),
    )
    .await?;
    drop(emp_key);
    rounds.push(Round::User);
    Ok(DispatchOutcome {
        redirect_uri: final_redirect,
        rounds,
    })
}

/// The NutsEmployeeCredential [`crate::roster::issue_employee_credential`] would issue for
/// `employee` now, as an unsigned JSON-LD document (only its claims matter for a preview).
pub(super) fn preview_employee_credential(
    vault: &Vault,
    employee: &str,
    now: i64,
) -> Result<WalletCredential, String> {
    let e = crate::roster::find_employee(vault, employee).map_err(|e| e.to_string())?;
    if !e.active {
        return Err(format!("{} is deactivated", e.identifier));
    }
    let view = crate::roster::EmployeeView::from_employee(&e);
    // The subject stands for the flow's own did:jwk, made only when the credential is issued.
    let placeholder = crate::roster::EphemeralEmployeeKey::generate().map_err(|e| e.to_string())?;
    let org = crate::org::require_organization(vault).map_err(|e| e.to_string())?;
    let validity = crate::roster::credential_validity(vault).map_err(|e| e.to_string())?;
    WalletCredential::from_json(json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "NutsEmployeeCredential"],
        "issuer": org.did,
        "issuanceDate": wallet_protocol::clock::format_rfc3339(now),
        "expirationDate": wallet_protocol::clock::format_rfc3339(now + validity),
        "credentialSubject": {
            "id": placeholder.did().as_str(),
            "identifier": view.identifier,
            "name": view.name,
            "roleName": view.role,
        }
    }))
    .map_err(|e| e.to_string())
}

/// Evaluates, signs and posts one round; records it; returns the verifier's `redirect_uri`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn answer(
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
    extra: serde_json::Map<String, Value>,
) -> Result<String, DispatchError> {
    let verifier = req.client_id();
    let now = env.clock.now_unix();
    let mut detail = json!({"round": round, "scope": scope, "definition_id": pd.id()});
    for (k, v) in extra {
        detail[k] = v;
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
            audience: verifier.as_str().to_owned(),
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
            record(
                env,
                ACTION_SEND,
                verifier.as_str(),
                Outcome::Success,
                detail,
            );
            Ok(redirect)
        }
        Err(e) => {
            detail["error"] = json!(e.code());
            detail["message"] = json!(e.to_string());
            record(
                env,
                ACTION_SEND,
                verifier.as_str(),
                Outcome::Failure,
                detail,
            );
            Err(e)
        }
    }
}
