//! The service-to-service token request (Nuts RFC021 `vp_token-bearer`, `docs/protocol.md` §2):
//! metadata → presentation definition → credential selection (wallet + self-attested, §7)
//! → VP format negotiation (§8) → VP signed by the organization key (aud = AS issuer URL,
//! fresh nonce, `exp − nbf ≤ 5 s`, backdated `nbf`) → token request with the four form
//! fields (+ `client_id`) and an optional DPoP proof → typed token or error.
//!
//! [`S2sClient`] is I/O-injected (HTTP client, clock) and holds the caches (discovery,
//! tokens, DPoP nonces). It knows nothing about the vault, policy or activity log: see
//! [`super::service`].

use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Map, Value};
use wallet_pex::{
    evaluate, negotiate_vp_format, nuts_default_formats, PresentationDefinition, SubmissionOptions,
    VpFormat, WalletCredential,
};
use wallet_protocol::clock::{format_rfc3339, Clock};
use wallet_protocol::net::HttpClient;
use wallet_protocol::random::random_token;
use wallet_protocol::vc::Credential;
use wallet_protocol::vp::{self, PresentationRequest, S2S_MAX_VALIDITY_SECS};

use super::dpop::DpopNonces;
use super::error::ServiceTokenError;
use super::metadata::{formats, AsMetadata, Discovery};
pub use super::token::{parse_token_response, MAX_TOKEN_RESPONSE_BYTES};
use super::token::{request_token, Grant};
use super::token_cache::{TokenCache, TokenCacheKey};
use super::{AuthorizationServerId, Requester, Scope, TokenResponse, TokenType};

/// Most self-attested credentials per request.
pub const MAX_SELF_ATTESTED: usize = 16;

/// What the caller asks for (the internal API's `ServiceAccessTokenRequest`).
#[derive(Debug, Clone)]
pub struct ServiceTokenRequest {
    /// The AS issuer URL.
    pub authorization_server: AuthorizationServerId,
    /// The scope.
    pub scope: Scope,
    /// Bearer or DPoP (default DPoP).
    pub token_type: TokenType,
    /// Self-attested credentials without `issuer`, `credentialSubject.id` and `proof`
    /// (`docs/protocol.md` §7); the wallet fills them in.
    pub credentials: Vec<Value>,
    /// Bypass the token cache (`Cache-Control: no-cache`).
    pub no_cache: bool,
    /// Nuts `credential_selection`: presentation-definition field id → the value that must
    /// narrow that input descriptor's match to exactly one credential.
    pub credential_selection: std::collections::BTreeMap<String, String>,
}

/// A credential that went into (or was prepared for) the presentation. No claim values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresentedCredential {
    /// Credential id (vault credential id, or the UUID filled into a self-attested one).
    pub id: String,
    /// Types.
    pub types: Vec<String>,
    /// Issuer DID.
    pub issuer: String,
    /// Whether the caller passed it in `credentials`.
    pub self_attested: bool,
}

/// The outcome of one request, with what is needed for the activity log.
#[derive(Debug)]
pub struct S2sAttempt {
    /// The token, or why not.
    pub result: Result<TokenResponse, ServiceTokenError>,
    /// Credentials in the VP sent (empty when no VP was built or the token came from cache).
    pub presented: Vec<PresentedCredential>,
    /// The presentation definition used.
    pub definition_id: Option<String>,
    /// VP format sent.
    pub vp_format: Option<&'static str>,
    /// Served from the token cache.
    pub from_cache: bool,
}

/// The s2s OAuth client.
pub struct S2sClient {
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    discovery: Discovery,
    tokens: TokenCache,
    nonces: DpopNonces,
}

impl std::fmt::Debug for S2sClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S2sClient")
            .field("cached_tokens", &self.tokens.len())
            .finish()
    }
}

fn cache_key(requester: &Requester, req: &ServiceTokenRequest) -> TokenCacheKey {
    // The selection picks which credentials are presented: part of the key, so a token for
    // one selection is never handed out for another.
    let mut keyed = req.credentials.clone();
    if !req.credential_selection.is_empty() {
        keyed.push(serde_json::json!({ "credential_selection": req.credential_selection }));
    }
    TokenCacheKey::new(
        &requester.subject,
        &req.authorization_server,
        &req.scope,
        req.token_type,
        &keyed,
    )
}

fn did_method(id: &str) -> Option<&str> {
    let rest = id.strip_prefix("did:")?;
    rest.split(':').next()
}

fn issuer_of(c: &WalletCredential) -> String {
    wallet_protocol::openid4vp::credential_issuer(c.normalized())
}

fn subject_ids(c: &WalletCredential) -> Vec<String> {
    let subjects = match c.normalized().get("credentialSubject") {
        Some(Value::Array(a)) => a.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        _ => Vec::new(),
    };
    subjects
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Fills in a self-attested credential as a Nuts node does (`docs/protocol.md` §7): `issuer` and every
/// `credentialSubject.id` = holder DID, `id` = a UUID, `issuanceDate` = now. Refuses
/// credentials that already name an issuer, a subject id or carry a proof.
pub fn fill_self_attested(raw: &Value, holder: &str, now: i64) -> Result<Value, ServiceTokenError> {
    let bad = |why: &str| ServiceTokenError::InvalidRequest(format!("credentials: {why}"));
    let Value::Object(obj) = raw else {
        return Err(bad("each credential must be a JSON object"));
    };
    if obj.contains_key("issuer") {
        return Err(bad(
            "issuer must be omitted (the wallet fills in its own DID)",
        ));
    }
    if obj.contains_key("proof") {
        return Err(bad(
            "proof must be omitted (the presentation's signature covers it)",
        ));
    }
    let mut vc = obj.clone();
    let subject = match vc.remove("credentialSubject") {
        Some(Value::Object(s)) => Value::Object(fill_subject(s, holder).ok_or_else(|| {
            bad("credentialSubject.id must be omitted (the wallet fills in its own DID)")
        })?),
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for s in list {
                let Value::Object(s) = s else {
                    return Err(bad("credentialSubject entries must be objects"));
                };
                out.push(Value::Object(fill_subject(s, holder).ok_or_else(|| {
                    bad("credentialSubject.id must be omitted (the wallet fills in its own DID)")
                })?));
            }
            Value::Array(out)
        }
        _ => return Err(bad("credentialSubject (an object) is required")),
    };
    vc.insert("credentialSubject".into(), subject);
    vc.insert("issuer".into(), json!(holder));
    if !vc.contains_key("id") {
        vc.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    }
    if !vc.contains_key("issuanceDate") {
        vc.insert("issuanceDate".into(), json!(format_rfc3339(now)));
    }
    Ok(Value::Object(vc))
}

fn fill_subject(mut s: Map<String, Value>, holder: &str) -> Option<Map<String, Value>> {
    if s.contains_key("id") {
        return None;
    }
    s.insert("id".into(), json!(holder));
    Some(s)
}

impl S2sClient {
    /// A client over `http` (apply the wallet's `NetPolicy` there) and `clock`.
    pub fn new(http: Arc<dyn HttpClient>, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            clock,
            discovery: Discovery::default(),
            tokens: TokenCache::default(),
            nonces: DpopNonces::default(),
        }
    }

    /// The metadata / definition cache.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// The token cache.
    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// The DPoP nonces remembered per origin.
    pub fn nonces(&self) -> &DpopNonces {
        &self.nonces
    }

    /// The HTTP client (for resource requests with [`super::dpop::send_with_dpop`]).
    pub fn http(&self) -> &dyn HttpClient {
        self.http.as_ref()
    }

    /// The clock.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Whether a request like `req` would be answered from the token cache now.
    pub fn has_cached(&self, requester: &Requester, req: &ServiceTokenRequest) -> bool {
        self.tokens
            .get(&cache_key(requester, req), self.clock.now_unix())
            .is_some()
    }

    /// Requests a service access token for `requester`, presenting from `wallet` (the
    /// organization's stored credentials, in wallet order) plus the request's
    /// self-attested credentials.
    pub async fn request(
        &self,
        requester: &Requester,
        wallet: &[WalletCredential],
        req: &ServiceTokenRequest,
    ) -> S2sAttempt {
        let mut attempt = S2sAttempt {
            result: Err(ServiceTokenError::Storage("not run".into())),
            presented: Vec::new(),
            definition_id: None,
            vp_format: None,
            from_cache: false,
        };
        let now = self.clock.now_unix();
        let key = cache_key(requester, req);
        if !req.no_cache {
            if let Some(t) = self.tokens.get(&key, now) {
                attempt.from_cache = true;
                attempt.result = Ok(t);
                return attempt;
            }
        }
        attempt.result = self.run(requester, wallet, req, now, &mut attempt).await;
        if let Ok(t) = &attempt.result {
            self.tokens.put(key, t.clone(), now);
        }
        attempt
    }

    async fn run(
        &self,
        requester: &Requester,
        wallet: &[WalletCredential],
        req: &ServiceTokenRequest,
        now: i64,
        attempt: &mut S2sAttempt,
    ) -> Result<TokenResponse, ServiceTokenError> {
        if req.credentials.len() > MAX_SELF_ATTESTED {
            return Err(ServiceTokenError::InvalidRequest(format!(
                "at most {MAX_SELF_ATTESTED} credentials"
            )));
        }
        let holder = requester.did.as_str();
        let mut candidates: Vec<WalletCredential> = Vec::with_capacity(wallet.len() + 2);
        let mut self_attested = Vec::with_capacity(req.credentials.len());
        for raw in &req.credentials {
            let filled = fill_self_attested(raw, holder, now)?;
            let c = WalletCredential::from_json_ld(filled)
                .map_err(|e| ServiceTokenError::InvalidRequest(format!("credentials: {e}")))?;
            self_attested.push(c);
        }

        let md = self
            .discovery
            .metadata(self.http.as_ref(), &req.authorization_server, now)
            .await?;
        // The holder DID and every credential's issuer and subject DIDs must
        // use a method the AS supports.
        if let Some(methods) = &md.did_methods_supported {
            let ok = |id: &str| did_method(id).is_some_and(|m| methods.iter().any(|x| x == m));
            if !ok(holder) {
                return Err(ServiceTokenError::DidMethodMismatch(format!(
                    "the organization's DID method `{}` is not in the AS's did_methods_supported {methods:?}",
                    did_method(holder).unwrap_or("?")
                )));
            }
            candidates.extend(
                wallet
                    .iter()
                    .filter(|c| ok(&issuer_of(c)) && subject_ids(c).iter().all(|s| ok(s)))
                    .cloned(),
            );
        } else {
            candidates.extend(wallet.iter().cloned());
        }
        // A Nuts AS refuses a VP with a credential about someone else than the signer
        // (`docs/protocol.md` §12), so every credential must be about it.
        candidates.retain(|c| {
            let ids = subject_ids(c);
            !ids.is_empty() && ids.iter().all(|s| s == holder)
        });
        let wallet_count = candidates.len();
        candidates.extend(self_attested);

        let pd = self
            .discovery
            .definition(self.http.as_ref(), &md, &req.scope, now)
            .await?;
        attempt.definition_id = Some(pd.id().to_owned());
        let (vp_text, submission) = self.present(
            requester,
            &md,
            &pd,
            &candidates,
            wallet_count,
            req,
            now,
            attempt,
        )?;

        let grant = Grant::VpTokenBearer {
            assertion: &vp_text,
            presentation_submission: &submission,
            scope: req.scope.as_str(),
            client_id: &requester.client_id,
        };
        request_token(
            self.http.as_ref(),
            &self.nonces,
            requester,
            &md.token_endpoint,
            &grant,
            req.token_type,
            now,
        )
        .await
        .map_err(Into::into)
    }

    #[allow(clippy::too_many_arguments)]
    fn present(
        &self,
        requester: &Requester,
        md: &AsMetadata,
        pd: &PresentationDefinition,
        candidates: &[WalletCredential],
        wallet_count: usize,
        req: &ServiceTokenRequest,
        now: i64,
        attempt: &mut S2sAttempt,
    ) -> Result<(String, String), ServiceTokenError> {
        let evaluation = if req.credential_selection.is_empty() {
            evaluate(pd, candidates, Some(now))
        } else {
            let selection =
                wallet_pex::select_by_fields(pd, candidates, &req.credential_selection, Some(now))
                    .map_err(|e| ServiceTokenError::InvalidRequest(e.to_string()))?;
            wallet_pex::evaluate_with(
                pd,
                candidates,
                &wallet_pex::EvaluateOptions {
                    now: Some(now),
                    selection,
                },
            )
            .map_err(|e| ServiceTokenError::InvalidRequest(e.to_string()))?
        };
        if !evaluation.fulfilled {
            let mut reasons: Vec<String> = evaluation
                .descriptors
                .iter()
                .filter_map(|d| {
                    d.explanation
                        .as_ref()
                        .map(|e| format!("{}: {}", d.id, e.message))
                })
                .collect();
            if reasons.is_empty() {
                reasons.push("the submission requirements are not met".into());
            }
            return Err(ServiceTokenError::NoMatchingCredential {
                definition_id: pd.id().to_owned(),
                reasons,
            });
        }
        let built = evaluation
            .build_submission(pd, candidates, &SubmissionOptions::default())
            .map_err(|e| {
                ServiceTokenError::InvalidRequest(format!("presentation submission: {e}"))
            })?;
        let negotiated = negotiate_vp_format(&nuts_default_formats(), &formats(md)?, pd.format())
            .ok_or(ServiceTokenError::NoCommonVpFormat)?;
        let alg = requester.signer.algorithm().to_owned();
        let usable = match negotiated.format {
            VpFormat::JwtVp => negotiated
                .params
                .get("alg")
                .is_some_and(|a| a.contains(&alg)),
            VpFormat::LdpVp => negotiated
                .params
                .get("proof_type")
                .is_some_and(|p| p.iter().any(|p| p == "JsonWebSignature2020")),
        };
        if !usable {
            return Err(ServiceTokenError::NoCommonVpFormat);
        }
        let mut credentials = Vec::with_capacity(built.credentials.len());
        for &i in &built.credentials {
            let c = &candidates[i];
            attempt.presented.push(PresentedCredential {
                id: c.id().to_owned(),
                types: c.types().to_vec(),
                issuer: issuer_of(c),
                self_attested: i >= wallet_count,
            });
            credentials.push(Credential::from_value(&c.raw().to_json()).map_err(|e| {
                ServiceTokenError::InvalidRequest(format!("credential {}: {e}", c.id()))
            })?);
        }
        let pr = PresentationRequest {
            holder: requester.did.clone(),
            audience: req.authorization_server.as_str().to_owned(),
            nonce: random_token(),
            credentials,
            now,
            validity_secs: S2S_MAX_VALIDITY_SECS,
        };
        let signer = requester.signer.as_ref();
        let vp_text = match negotiated.format {
            VpFormat::JwtVp => vp::issue_jwt_vp(signer, &pr),
            VpFormat::LdpVp => vp::issue_ldp_vp(signer, &pr).map(|v| v.to_string()),
        }
        .map_err(|e| ServiceTokenError::from_vp(&e))?;
        attempt.vp_format = Some(negotiated.format.as_str());
        let submission = serde_json::to_string(&built.presentation_submission)
            .map_err(|e| ServiceTokenError::Signing(format!("submission: {e}")))?;
        Ok((vp_text, submission))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_attested_credentials_are_filled_and_checked() {
        let raw = json!({
            "@context": ["https://www.w3.org/2018/credentials/v1", "https://nuts.nl/credentials/v1"],
            "type": ["VerifiableCredential", "NutsEmployeeCredential"],
            "credentialSubject": {"name": "John Doe", "roleName": "Janitor", "identifier": "123456"}
        });
        let v = fill_self_attested(&raw, "did:web:org.example", 1_700_000_000).unwrap();
        assert_eq!(v["issuer"], "did:web:org.example");
        assert_eq!(v["credentialSubject"]["id"], "did:web:org.example");
        assert_eq!(v["issuanceDate"], "2023-11-14T22:13:20Z");
        assert!(uuid::Uuid::parse_str(v["id"].as_str().unwrap()).is_ok());
        let mut with_issuer = raw.clone();
        with_issuer["issuer"] = json!("did:web:x");
        assert!(fill_self_attested(&with_issuer, "did:web:o", 0).is_err());
        let mut with_sub = raw.clone();
        with_sub["credentialSubject"]["id"] = json!("did:web:x");
        assert!(fill_self_attested(&with_sub, "did:web:o", 0).is_err());
        let mut with_proof = raw;
        with_proof["proof"] = json!({});
        assert!(fill_self_attested(&with_proof, "did:web:o", 0).is_err());
        assert!(fill_self_attested(&json!("x"), "did:web:o", 0).is_err());
    }
}
