//! Resolving a wallet authorization request: fetch and verify the request object, fetch the
//! presentation definition and client metadata, evaluate them over the organization's
//! credentials (nothing is sent to the verifier here).

use super::dispatch::record;
use super::*;

pub(super) fn wallet_issuer(vault: &Vault) -> Result<crate::org::OrgInfo, ResolveError> {
    crate::org::require_organization(vault).map_err(|e| ResolveError::NotReady(e.to_string()))
}

/// A presentation definition or client metadata document, refused as `what`.
pub(super) async fn fetch_json(
    env: &HolderEnv,
    uri: &str,
    what: fn(String) -> ResolveError,
) -> Result<Value, ResolveError> {
    protocol::fetch_json(env.http.as_ref(), uri)
        .await
        .map_err(|e| what(e.to_string()))
}

pub(super) fn org_credentials(
    vault: &Vault,
    holder: &str,
) -> Result<Vec<WalletCredential>, ResolveError> {
    let metas = vault
        .credentials()
        .list(&CredentialFilter {
            subject: Some(holder.to_owned()),
            ..CredentialFilter::default()
        })
        .map_err(|e| ResolveError::NotReady(e.to_string()))?;
    let mut out = Vec::with_capacity(metas.len());
    for m in metas {
        let stored = vault
            .credentials()
            .get(&m.id)
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

pub(super) fn issuer_of(c: &WalletCredential) -> String {
    protocol::credential_issuer(c.normalized())
}

pub(super) fn views(creds: &[WalletCredential]) -> Vec<CredentialView> {
    creds
        .iter()
        .enumerate()
        .map(|(index, c)| CredentialView {
            index,
            id: c.id().to_owned(),
            types: c.types().to_vec(),
            issuer: issuer_of(c),
            organization: crate::credentials::organization_facts(c.normalized()),
        })
        .collect()
}

/// Verifies a request and its documents (everything but the evaluation).
pub(super) async fn resolve_request(
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
    protocol::check_request_uri_origin(link.client_id.url(), link.request_uri.url())
        .map_err(ResolveError::from)?;
    let text = protocol::fetch_request_object(env.http.as_ref(), link.request_uri.url(), how)
        .await
        .map_err(ResolveError::from)?;
    let verified = PresentationRequest::<Unverified>::new(text)
        .verify(env, link.client_id.as_client_id(), expected_aud)
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

pub(super) fn scope_of(req: &PresentationRequest<Verified>) -> Option<String> {
    let u = Url::parse(req.string_claim("presentation_definition_uri")?).ok()?;
    let s = u.query_pairs().find(|(k, _)| k == "scope")?.1.into_owned();
    Some(sanitize(&s, 1024))
}

pub(super) fn consent_for(
    round: Round,
    req: &PresentationRequest<Verified>,
    evaluation: Evaluation,
    candidates: &[WalletCredential],
) -> Consent {
    let client_id = req.client_id().clone();
    Consent {
        round,
        verifier: VerifierView {
            host: Url::parse(client_id.as_str())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            client_id,
            did: req.verifier_did(),
            display_name: None,
        },
        scope: scope_of(req),
        scope_description: None,
        evaluation,
        credentials: views(candidates),
        expires_at: req.expires_at(),
        unsolicited: false,
        outside_policy: false,
        user_round: None,
        preauthorized_user: None,
        withheld: Vec::new(),
        revocation_unchecked: Vec::new(),
    }
}

/// Resolves a wallet authorization link of the organization round: fetch, verify, documents,
/// evaluation over the organization's credentials. A refusal is recorded in the activity log
/// (`presentation.refuse`).
pub async fn resolve(link: &AuthorizeLink, env: &HolderEnv) -> Result<Resolved, Invalid> {
    let r = resolve_inner(link, env).await;
    if let Err(inv) = &r {
        let before_fetch = matches!(
            inv.error,
            ResolveError::Unsolicited(_)
                | ResolveError::OutsidePolicy(_)
                | ResolveError::NotReady(_)
                | ResolveError::Request(RequestObjectError::RequestUriOrigin(_))
        );
        let mut detail = json!({"error": inv.error.code(), "message": inv.error.to_string()});
        if before_fetch {
            match env.seen.admit_prefetch_refusal(env.clock.now_unix()) {
                None => return r,
                Some(0) => {}
                Some(n) => detail["not_logged_before"] = json!(n),
            }
        }
        record(
            env,
            ACTION_REFUSE,
            link.client_id.as_str(),
            Outcome::Failure,
            detail,
        );
    }
    r
}

pub(super) async fn resolve_inner(
    link: &AuthorizeLink,
    env: &HolderEnv,
) -> Result<Resolved, Invalid> {
    // Unsolicited requests are refused before anything is fetched (nothing is posted).
    let now = env.clock.now_unix();
    let unsolicited = !env
        .sessions
        .as_ref()
        .is_some_and(|s| s.has_running_flow_for(link.client_id.as_client_id(), now));
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
    let stored = org_credentials(&env.vault, &org.did)?;
    // Re-checked now (validity, revocation): what is withheld is never offered, and the
    // consent screen says which and why.
    let screening = env.screener.screen(stored, policy.revocation).await;
    let candidates = screening.usable;
    let evaluation = evaluate(&definition, &candidates, Some(env.clock.now_unix()));
    let user_definition = user_definition(env, &request).await;
    let mut consent = consent_for(Round::Organization, &request, evaluation, &candidates);
    consent.withheld = screening.withheld;
    consent.verifier.display_name = policy.display_name_of(verifier).map(str::to_owned);
    consent.scope_description = consent
        .scope
        .as_deref()
        .and_then(|s| policy.scope_text(verifier, s))
        .cloned();
    consent.revocation_unchecked = screening.unchecked;
    consent.unsolicited = unsolicited;
    consent.outside_policy = outside_policy;
    consent.preauthorized_user = env
        .sessions
        .as_ref()
        .and_then(|s| s.preauthorized_user_for(link.client_id.as_client_id(), now));
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
pub(super) async fn user_definition(
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
