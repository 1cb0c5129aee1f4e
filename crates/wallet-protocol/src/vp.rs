//! Verifiable Presentations: JWT VPs and JSON-LD VPs with JsonWebSignature2020, signing and
//! verification (docs/protocol.md §7.1, §7.2).
//!
//! JWT VP claims: `iss` = `sub` = holder DID, `aud`, `nonce`, `nbf` (backdated by
//! [`NBF_BACKDATE_SECS`]), `exp`, `jti` = `<holder>#<uuid>`, `vp{@context, type, holder,
//! verifiableCredential}`; like Nuts, a single `type`/credential is not wrapped in an array,
//! so a presentation submission must use [`submission_path`] for the path.

use serde_json::{json, Map, Value};

use crate::clock::Clock;
use crate::did::{self, Did, DidError, DidResolver, DidUrl};
use crate::jose::{self, CompactJws, JoseError};
use crate::signer::Signer;
use crate::vc::jwt::{check_window, VcError, VerifyOptions};
use crate::vc::ldp::{self, LdError, ProofOptions};
use crate::vc::{contexts, normalize, verify_credential, Credential, VerifiedCredential};

/// `nbf` is backdated this many seconds (Nuts v6.2 checks with 0 s leeway; docs/protocol.md
/// §12).
pub const NBF_BACKDATE_SECS: i64 = 1;
/// Maximum lifetime of an s2s (RFC021) VP accepted by Nuts: `exp - nbf <= 5`.
pub const S2S_MAX_VALIDITY_SECS: i64 = 5;

/// VP errors.
#[derive(Debug, thiserror::Error)]
pub enum VpError {
    /// Structurally wrong VP.
    #[error("malformed presentation: {0}")]
    Malformed(String),
    /// `aud`/`domain` does not match.
    #[error("presentation audience/domain is missing or does not match")]
    Audience,
    /// `nonce` (or `challenge`) does not match.
    #[error("presentation has invalid/missing nonce")]
    Nonce,
    /// Validity window problem.
    #[error("presentation validity: {0}")]
    Validity(String),
    /// Signer is not the holder / credential subject.
    #[error("presentation signer is not the holder or credential subject: {0}")]
    HolderBinding(String),
    /// A contained credential failed.
    #[error("credential {index} failed verification: {source}")]
    Credential {
        /// Index in `verifiableCredential`.
        index: usize,
        /// The failure.
        source: VcError,
    },
    /// Signature problem.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// DID problem.
    #[error(transparent)]
    Did(#[from] DidError),
    /// JSON-LD proof problem.
    #[error(transparent)]
    Ld(#[from] LdError),
}

impl VpError {
    /// Whether signing failed because the key is out of reach (a locked vault, an absent
    /// HSM), so the caller can answer "try again later".
    pub fn is_key_unavailable(&self) -> bool {
        match self {
            VpError::Jose(e) | VpError::Ld(LdError::Jose(e)) => e.is_key_unavailable(),
            _ => false,
        }
    }
}

/// The PEX submission path of credential `index` out of `count` in a VP we built.
pub fn submission_path(index: usize, count: usize) -> String {
    if count == 1 {
        "$.verifiableCredential".to_owned()
    } else {
        format!("$.verifiableCredential[{index}]")
    }
}

fn vc_list(credentials: &[Credential]) -> Value {
    if credentials.len() == 1 {
        credentials[0].to_value()
    } else {
        Value::Array(credentials.iter().map(Credential::to_value).collect())
    }
}

/// Input for a presentation.
#[derive(Debug, Clone)]
pub struct PresentationRequest {
    /// Holder DID (the signer's key must belong to it).
    pub holder: Did,
    /// Audience: the AS / verifier client_id URL.
    pub audience: String,
    /// Nonce from the verifier (RFC021 / OpenID4VP).
    pub nonce: String,
    /// Credentials to include.
    pub credentials: Vec<Credential>,
    /// Current time (Unix seconds).
    pub now: i64,
    /// Lifetime counted from the backdated `nbf`/`created` (5 for RFC021 s2s).
    pub validity_secs: i64,
}

fn check_holder_key(signer: &dyn Signer, holder: &Did) -> Result<DidUrl, VpError> {
    let kid = DidUrl::parse(signer.key_id())?;
    if kid.did() != *holder {
        return Err(VpError::HolderBinding(format!(
            "{kid} is not a key of {holder}"
        )));
    }
    Ok(kid)
}

/// Signs a JWT VP (the Nuts shape, with `iss` = `sub` = holder; docs/protocol.md §7.1).
pub fn issue_jwt_vp(signer: &dyn Signer, req: &PresentationRequest) -> Result<String, VpError> {
    check_holder_key(signer, &req.holder)?;
    if req.credentials.is_empty() {
        return Err(VpError::Malformed(
            "a presentation needs at least one credential".into(),
        ));
    }
    let nbf = req.now - NBF_BACKDATE_SECS;
    let claims = json!({
        "iss": req.holder.as_str(),
        "sub": req.holder.as_str(),
        "aud": req.audience,
        "nonce": req.nonce,
        "nbf": nbf,
        "exp": nbf + req.validity_secs,
        "jti": format!("{}#{}", req.holder, uuid::Uuid::new_v4()),
        "vp": {
            "@context": [contexts::CREDENTIALS_V1],
            "type": "VerifiablePresentation",
            "holder": req.holder.as_str(),
            "verifiableCredential": vc_list(&req.credentials),
        }
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    Ok(jose::sign_jwt(signer, &claims)?)
}

/// Signs a JSON-LD VP with JsonWebSignature2020 (`challenge` = `nonce` = the nonce,
/// `domain` = audience, `created` backdated, `expires`).
pub fn issue_ldp_vp(signer: &dyn Signer, req: &PresentationRequest) -> Result<Value, VpError> {
    check_holder_key(signer, &req.holder)?;
    if req.credentials.is_empty() {
        return Err(VpError::Malformed(
            "a presentation needs at least one credential".into(),
        ));
    }
    let doc = json!({
        "@context": [contexts::CREDENTIALS_V1, contexts::JWS2020_V1],
        "id": format!("{}#{}", req.holder, uuid::Uuid::new_v4()),
        "type": "VerifiablePresentation",
        "holder": req.holder.as_str(),
        "verifiableCredential": vc_list(&req.credentials),
    });
    let created = req.now - NBF_BACKDATE_SECS;
    let options = ProofOptions {
        created,
        expires: Some(created + req.validity_secs),
        challenge: Some(req.nonce.clone()),
        nonce: Some(req.nonce.clone()),
        domain: Some(req.audience.clone()),
    };
    Ok(ldp::sign(&doc, signer, &options)?)
}

/// What the verifier expects.
#[derive(Debug, Clone, Default)]
pub struct PresentationExpectations {
    /// Required audience (`aud` contains it / `domain` equals it).
    pub audience: Option<String>,
    /// Required nonce (`nonce` claim; JSON-LD: `proof.nonce` or `proof.challenge`).
    pub nonce: Option<String>,
    /// Maximum `exp - nbf` (5 for RFC021).
    pub max_validity_secs: Option<i64>,
    /// Clock skew.
    pub skew_secs: i64,
}

/// A verified presentation.
#[derive(Debug, Clone)]
pub struct VerifiedPresentation {
    /// Holder DID (= signer DID).
    pub holder: Did,
    /// Key that signed it.
    pub kid: DidUrl,
    /// `jwt_vp` or `ldp_vp`.
    pub format: &'static str,
    /// The nonce found.
    pub nonce: Option<String>,
    /// Verified credentials, in VP order.
    pub credentials: Vec<VerifiedCredential>,
}

fn as_list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(o) => vec![o.clone()],
    }
}

async fn verify_contained(
    vcs: &[Value],
    holder: &Did,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    skew: i64,
) -> Result<Vec<VerifiedCredential>, VpError> {
    let mut out = Vec::with_capacity(vcs.len());
    for (index, raw) in vcs.iter().enumerate() {
        let cred =
            Credential::from_value(raw).map_err(|source| VpError::Credential { index, source })?;
        let verified = match &cred {
            // Unsigned self-attested credential (docs/protocol.md §7.3): only if issued by the
            // holder.
            Credential::Ldp(doc) if doc.get("proof").is_none() => {
                if normalize::issuer_id(doc) != Some(holder.as_str()) {
                    return Err(VpError::Credential {
                        index,
                        source: VcError::Malformed(
                            "unsigned credential not issued by the holder".into(),
                        ),
                    });
                }
                VerifiedCredential {
                    credential: cred.clone(),
                    issuer: holder.clone(),
                    kid: None,
                    normalized: normalize::ldp_vc(doc),
                }
            }
            _ => verify_credential(
                &cred,
                resolver,
                clock,
                &VerifyOptions {
                    skew_secs: skew.max(5),
                },
            )
            .await
            .map_err(|source| VpError::Credential { index, source })?,
        };
        for id in verified.subject_ids() {
            if id != holder.as_str() {
                return Err(VpError::HolderBinding(format!(
                    "credential {index} subject is not the signer"
                )));
            }
        }
        out.push(verified);
    }
    Ok(out)
}

fn check_vp_window(
    nbf: Option<i64>,
    exp: Option<i64>,
    now: i64,
    exp_opts: &PresentationExpectations,
) -> Result<(), VpError> {
    let (Some(nbf), Some(exp)) = (nbf, exp) else {
        return Err(VpError::Validity(
            "presentation is missing creation or expiration date".into(),
        ));
    };
    if let Some(max) = exp_opts.max_validity_secs {
        if exp - nbf > max {
            return Err(VpError::Validity(format!(
                "presentation is valid for too long (max {max}s)"
            )));
        }
    }
    check_window(Some(nbf), Some(exp), now, exp_opts.skew_secs)
        .map_err(|e| VpError::Validity(e.to_string()))
}

/// Verifies a JWT VP: signature by the `kid` DID's assertion key, `iss`/`sub`/`vp.holder`
/// equal to the signer DID, audience, nonce, window, and every credential (signature,
/// validity, subject = signer).
pub async fn verify_jwt_vp(
    token: &str,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    expect: &PresentationExpectations,
) -> Result<VerifiedPresentation, VpError> {
    let jws = CompactJws::parse(token)?;
    let claims = jws.claims()?;
    let kid = match jws.header_str("kid") {
        Some(k) => DidUrl::parse(k)?,
        None => {
            let iss = claims
                .get("iss")
                .or_else(|| claims.get("sub"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let did = Did::parse(iss)?;
            if did.method() != "jwk" {
                return Err(VpError::HolderBinding("JWT VP without kid".into()));
            }
            did::jwk::key_id(&did)
        }
    };
    let holder = kid.did();
    let key = did::resolve_assertion_key(resolver, &kid).await?;
    jws.verify_with(&key)?;
    let vp = claims
        .get("vp")
        .and_then(Value::as_object)
        .ok_or_else(|| VpError::Malformed("no vp claim".into()))?;
    for (name, v) in [
        ("iss", claims.get("iss")),
        ("sub", claims.get("sub")),
        ("vp.holder", vp.get("holder")),
    ] {
        if let Some(v) = v {
            if v.as_str() != Some(holder.as_str()) {
                return Err(VpError::HolderBinding(format!(
                    "{name} is not the signer DID"
                )));
            }
        }
    }
    if !as_list(vp.get("type"))
        .iter()
        .any(|t| t == "VerifiablePresentation")
    {
        return Err(VpError::Malformed(
            "vp.type lacks VerifiablePresentation".into(),
        ));
    }
    if let Some(aud) = &expect.audience {
        if !as_list(claims.get("aud"))
            .iter()
            .any(|a| a.as_str() == Some(aud))
        {
            return Err(VpError::Audience);
        }
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(n) = &expect.nonce {
        if nonce.as_deref() != Some(n.as_str()) {
            return Err(VpError::Nonce);
        }
    }
    let now = clock.now_unix();
    let nbf = claims
        .get("nbf")
        .or_else(|| claims.get("iat"))
        .and_then(Value::as_i64);
    check_vp_window(nbf, claims.get("exp").and_then(Value::as_i64), now, expect)?;
    let vcs = as_list(vp.get("verifiableCredential"));
    let credentials = verify_contained(&vcs, &holder, resolver, clock, expect.skew_secs).await?;
    Ok(VerifiedPresentation {
        holder,
        kid,
        format: "jwt_vp",
        nonce,
        credentials,
    })
}

/// Verifies a JSON-LD VP: JsonWebSignature2020 proof by the holder's assertion key,
/// `holder` (if present) = signer, `domain`, nonce (`proof.nonce` or `proof.challenge`),
/// `created`/`expires` window, and every credential.
pub async fn verify_ldp_vp(
    doc: &Value,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    expect: &PresentationExpectations,
) -> Result<VerifiedPresentation, VpError> {
    let (proof, kid) = ldp::verify(doc, resolver).await?;
    let holder = kid.did();
    if let Some(h) = doc.get("holder") {
        if h.as_str() != Some(holder.as_str()) {
            return Err(VpError::HolderBinding(
                "holder is not the signer DID".into(),
            ));
        }
    }
    if !as_list(doc.get("type"))
        .iter()
        .any(|t| t == "VerifiablePresentation")
    {
        return Err(VpError::Malformed(
            "type lacks VerifiablePresentation".into(),
        ));
    }
    let p = &proof.proof;
    if let Some(aud) = &expect.audience {
        if p.get("domain").and_then(Value::as_str) != Some(aud.as_str()) {
            return Err(VpError::Audience);
        }
    }
    let found: Vec<&str> = ["nonce", "challenge"]
        .iter()
        .filter_map(|k| p.get(*k).and_then(Value::as_str))
        .collect();
    if let Some(n) = &expect.nonce {
        if !found.contains(&n.as_str()) {
            return Err(VpError::Nonce);
        }
    }
    check_vp_window(proof.created, proof.expires, clock.now_unix(), expect)?;
    let vcs = as_list(doc.get("verifiableCredential"));
    let credentials = verify_contained(&vcs, &holder, resolver, clock, expect.skew_secs).await?;
    Ok(VerifiedPresentation {
        holder,
        kid,
        format: "ldp_vp",
        nonce: found.first().map(|s| (*s).to_owned()),
        credentials,
    })
}

/// Verifies a VP given as text (compact JWT or JSON-LD JSON).
pub async fn verify_presentation(
    text: &str,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    expect: &PresentationExpectations,
) -> Result<VerifiedPresentation, VpError> {
    let t = text.trim();
    if t.starts_with('{') {
        let doc: Value = serde_json::from_str(t).map_err(|e| VpError::Malformed(e.to_string()))?;
        verify_ldp_vp(&doc, resolver, clock, expect).await
    } else {
        verify_jwt_vp(t, resolver, clock, expect).await
    }
}

/// Reads the claims of a JWT without verifying (display/debug only; never trust them).
pub fn unverified_claims(token: &str) -> Result<Map<String, Value>, JoseError> {
    CompactJws::parse(token)?.claims()
}
