//! JWT VCs: issuance (generic and the NutsEmployeeCredential, docs/protocol.md §7.4) and
//! verification (Nuts claim mapping `iss/sub/jti/nbf/exp`, issuer key found by DID
//! resolution).
//!
//! Key id rules (docs/protocol.md §7.6): a `kid` header must be a DID URL whose DID is the
//! `iss`; without `kid` only `did:jwk` issuers work, with key `<iss>#0`. `did:x509` issuers are
//! resolved from the `x5c` header. The key must be an `assertionMethod` of the issuer DID.

use serde_json::{json, Map, Value};

use super::contexts;
use super::normalize;
use crate::clock::Clock;
use crate::did::{self, Did, DidError, DidResolver, DidUrl};
use crate::jose::{self, CompactJws, JoseError};
use crate::signer::Signer;

/// Clock skew tolerated on validity windows (Nuts uses 5 s for credentials).
pub const DEFAULT_SKEW_SECS: i64 = 5;

/// Errors of credential issuance and verification.
#[derive(Debug, thiserror::Error)]
pub enum VcError {
    /// Structurally wrong credential.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// `kid` does not belong to the issuer, or is missing for a non-did:jwk issuer.
    #[error("signing key does not belong to the issuer: {0}")]
    IssuerKeyMismatch(String),
    /// Not valid yet.
    #[error("credential is not valid before {0}")]
    NotYetValid(String),
    /// Expired.
    #[error("credential expired at {0}")]
    Expired(String),
    /// The credential is about someone else than expected.
    #[error("credential subject is not {0}")]
    SubjectMismatch(String),
    /// Violates a Nuts acceptance rule (docs/protocol.md §7.6).
    #[error("credential violates a Nuts rule: {0}")]
    NutsRule(String),
    /// Signature / JOSE problem.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// DID resolution problem.
    #[error(transparent)]
    Did(#[from] DidError),
    /// JSON-LD proof problem.
    #[error(transparent)]
    Ld(#[from] super::ldp::LdError),
}

/// What to issue as a JWT VC.
#[derive(Debug, Clone)]
pub struct JwtVcRequest {
    /// Issuer DID; the signer's key id must be a DID URL of it.
    pub issuer: Did,
    /// Subject DID (`sub` and `credentialSubject.id`).
    pub subject: Did,
    /// Credential type (besides `VerifiableCredential`), e.g. `NutsEmployeeCredential`.
    pub credential_type: String,
    /// Extra `@context` URLs after credentials/v1.
    pub extra_contexts: Vec<String>,
    /// `credentialSubject` members other than `id`.
    pub subject_claims: Map<String, Value>,
    /// `nbf` (and `iat`).
    pub not_before: i64,
    /// `exp`.
    pub expires: i64,
}

/// Issues a JWT VC with the Nuts v6 shape (header `{"alg","kid","typ":"JWT"}`; claims
/// `iss, sub, jti=<iss>#<uuid>, nbf, iat, exp, vc{@context,type,credentialSubject:[..]}`).
pub fn issue_jwt_vc(signer: &dyn Signer, req: &JwtVcRequest) -> Result<String, VcError> {
    let kid = DidUrl::parse(signer.key_id())?;
    if kid.did() != req.issuer {
        return Err(VcError::IssuerKeyMismatch(format!(
            "{kid} is not a key of {}",
            req.issuer
        )));
    }
    if req.expires <= req.not_before {
        return Err(VcError::Malformed("exp must be after nbf".into()));
    }
    let mut subject = Map::new();
    subject.insert("id".into(), json!(req.subject.as_str()));
    for (k, v) in &req.subject_claims {
        if k != "id" {
            subject.insert(k.clone(), v.clone());
        }
    }
    let mut ctx = vec![json!(contexts::CREDENTIALS_V1)];
    ctx.extend(req.extra_contexts.iter().map(|c| json!(c)));
    let claims = json!({
        "iss": req.issuer.as_str(),
        "sub": req.subject.as_str(),
        "jti": format!("{}#{}", req.issuer, uuid::Uuid::new_v4()),
        "nbf": req.not_before,
        "iat": req.not_before,
        "exp": req.expires,
        "vc": {
            "@context": ctx,
            "type": [req.credential_type, "VerifiableCredential"],
            "credentialSubject": [Value::Object(subject)],
        }
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    Ok(jose::sign_jwt(signer, &claims)?)
}

/// The employee attributes of a NutsEmployeeCredential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmployeeClaims {
    /// `identifier` (e.g. the employee's login / e-mail).
    pub identifier: String,
    /// `name`.
    pub name: String,
    /// `roleName`.
    #[serde(rename = "roleName")]
    pub role_name: String,
}

/// Default validity of an employee credential (1 hour, as a Nuts user session).
pub const EMPLOYEE_CREDENTIAL_DEFAULT_SECS: i64 = 3600;

/// Issues a NutsEmployeeCredential JWT VC from the organization DID (signer) to the
/// employee's did:jwk, valid from `now` for `validity_secs` (shape: docs/protocol.md §7.4).
pub fn issue_employee_credential(
    org_signer: &dyn Signer,
    organization: &Did,
    employee: &Did,
    claims: &EmployeeClaims,
    now: i64,
    validity_secs: i64,
) -> Result<String, VcError> {
    for (name, v) in [
        ("identifier", &claims.identifier),
        ("name", &claims.name),
        ("roleName", &claims.role_name),
    ] {
        if v.trim().is_empty() {
            return Err(VcError::Malformed(format!("{name} must not be empty")));
        }
    }
    let mut subject = Map::new();
    subject.insert("identifier".into(), json!(claims.identifier));
    subject.insert("name".into(), json!(claims.name));
    subject.insert("roleName".into(), json!(claims.role_name));
    issue_jwt_vc(
        org_signer,
        &JwtVcRequest {
            issuer: organization.clone(),
            subject: employee.clone(),
            credential_type: "NutsEmployeeCredential".into(),
            extra_contexts: vec![contexts::NUTS_V1.into()],
            subject_claims: subject,
            not_before: now,
            expires: now + validity_secs,
        },
    )
}

/// Verification options.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Tolerated clock skew in seconds.
    pub skew_secs: i64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            skew_secs: DEFAULT_SKEW_SECS,
        }
    }
}

/// A JWT VC whose signature, issuer key and validity window were checked.
#[derive(Debug, Clone)]
pub struct VerifiedJwtVc {
    /// Issuer DID (`iss`).
    pub issuer: Did,
    /// Key that signed it.
    pub kid: DidUrl,
    /// JWS `alg`.
    pub alg: jose::JwsAlgorithm,
    /// All claims.
    pub claims: Map<String, Value>,
    /// Normalized credential JSON (docs/protocol.md §8.2).
    pub normalized: Value,
}

/// Determines the signing key id of a JWS issued by `iss` (Nuts kid rules).
pub fn issuer_kid(jws: &CompactJws, iss: &Did) -> Result<DidUrl, VcError> {
    match jws.header_str("kid") {
        Some(kid) => {
            let kid = DidUrl::parse(kid)
                .map_err(|_| VcError::IssuerKeyMismatch(format!("kid '{kid}' is not a DID URL")))?;
            if kid.did() != *iss {
                return Err(VcError::IssuerKeyMismatch(format!(
                    "kid {kid} is not a key of {iss}"
                )));
            }
            Ok(kid)
        }
        None if iss.method() == "jwk" => Ok(did::jwk::key_id(iss)),
        None => Err(VcError::IssuerKeyMismatch(
            "JWS has no kid and the issuer is not a did:jwk".into(),
        )),
    }
}

/// The Nuts rules for credentials issued by a did:x509 (docs/protocol.md §7.5): `exp` required
/// and not after the leaf certificate's `notAfter`; every `credentialSubject` field backed by
/// a policy of the DID.
fn check_x509_credential(
    jws: &CompactJws,
    issuer: &Did,
    claims: &Map<String, Value>,
    now: i64,
) -> Result<(), VcError> {
    let resolution = did::x509::resolve_chain(issuer, &jws.header_x5c(), now)?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| VcError::NutsRule("a did:x509 credential needs an expiration".into()))?;
    if exp > resolution.leaf_not_after {
        return Err(VcError::NutsRule(
            "credential outlives the issuer certificate".into(),
        ));
    }
    let vc = claims.get("vc").cloned().unwrap_or_default();
    let subjects = match vc.get("credentialSubject") {
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
        None => Vec::new(),
    };
    for s in &subjects {
        did::x509::check_credential_subject(&resolution.parsed, s)?;
    }
    Ok(())
}

/// Checks `nbf`/`iat` and `exp` against `now` with `skew`.
pub fn check_window(
    nbf: Option<i64>,
    exp: Option<i64>,
    now: i64,
    skew: i64,
) -> Result<(), VcError> {
    if let Some(nbf) = nbf {
        if now + skew < nbf {
            return Err(VcError::NotYetValid(crate::clock::format_rfc3339(nbf)));
        }
    }
    if let Some(exp) = exp {
        if now - skew > exp {
            return Err(VcError::Expired(crate::clock::format_rfc3339(exp)));
        }
    }
    Ok(())
}

/// Verifies a JWT VC: signature with the issuer's assertion key, kid rules, validity window,
/// and consistency of `vc.issuer`/`credentialSubject.id` with `iss`/`sub` when present.
pub async fn verify_jwt_vc(
    token: &str,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
    opts: &VerifyOptions,
) -> Result<VerifiedJwtVc, VcError> {
    let jws = CompactJws::parse(token)?;
    let claims = jws.claims()?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| VcError::Malformed("no iss".into()))?;
    let issuer = Did::parse(iss)?;
    let kid = issuer_kid(&jws, &issuer)?;
    let now = clock.now_unix();
    let key = did::resolve_jws_key(&jws, &kid, resolver, now).await?;
    jws.verify_with(&key)?;
    if issuer.method() == "x509" {
        check_x509_credential(&jws, &issuer, &claims, now)?;
    }
    let vc = claims
        .get("vc")
        .and_then(Value::as_object)
        .ok_or_else(|| VcError::Malformed("no vc claim".into()))?;
    if !normalize::types(&Value::Object(vc.clone()))
        .iter()
        .any(|t| t == "VerifiableCredential")
    {
        return Err(VcError::Malformed(
            "vc.type lacks VerifiableCredential".into(),
        ));
    }
    if let Some(inner) = normalize::issuer_id(&Value::Object(vc.clone())) {
        if inner != iss {
            return Err(VcError::Malformed("vc.issuer differs from iss".into()));
        }
    }
    if let Some(sub) = claims.get("sub").and_then(Value::as_str) {
        for id in normalize::subject_ids(&Value::Object(vc.clone())) {
            if id != sub {
                return Err(VcError::Malformed(
                    "credentialSubject.id differs from sub".into(),
                ));
            }
        }
    }
    let nbf = claims
        .get("nbf")
        .or_else(|| claims.get("iat"))
        .and_then(Value::as_i64);
    let exp = claims.get("exp").and_then(Value::as_i64);
    check_window(nbf, exp, now, opts.skew_secs)?;
    let normalized = normalize::jwt_vc(&claims);
    Ok(VerifiedJwtVc {
        issuer,
        kid,
        alg: jws.alg,
        claims,
        normalized,
    })
}

/// Nuts acceptance rules for any credential (docs/protocol.md §7.6), on the normalized view:
/// `VerifiableCredential` type and credentials/v1 context, at most 2 types, `id` and
/// `issuanceDate` present.
pub fn check_nuts_rules(normalized: &Value) -> Result<(), VcError> {
    let types = normalize::types(normalized);
    if !types.iter().any(|t| t == "VerifiableCredential") {
        return Err(VcError::NutsRule(
            "type must include VerifiableCredential".into(),
        ));
    }
    if types.len() > 2 {
        return Err(VcError::NutsRule("at most 2 types are accepted".into()));
    }
    let ctx_ok = match normalized.get("@context") {
        Some(Value::Array(a)) => a.iter().any(|c| c == contexts::CREDENTIALS_V1),
        Some(Value::String(s)) => s == contexts::CREDENTIALS_V1,
        _ => false,
    };
    if !ctx_ok {
        return Err(VcError::NutsRule(
            "@context must include credentials/v1".into(),
        ));
    }
    if normalized
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(VcError::NutsRule("id (jti) is required".into()));
    }
    if normalized
        .get("issuanceDate")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(VcError::NutsRule("issuanceDate (nbf) is required".into()));
    }
    Ok(())
}
