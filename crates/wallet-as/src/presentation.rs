//! Reading and checking presented VPs as the Nuts verifier does, split into the cheap
//! structural checks Nuts runs first (docs/protocol.md §2.3 #1, #3–#5: parse, validity
//! window, signer = credential subject, audience) and the full verification it runs last
//! (#10: signatures through DID resolution, credential windows, Nuts content rules,
//! revocation).
//!
//! Nothing here is trusted before [`verify_all`] has run.

use serde_json::Value;
use wallet_protocol::clock::parse_rfc3339;
use wallet_protocol::did::{Did, DidUrl};
use wallet_protocol::jose::CompactJws;
use wallet_protocol::vc::jwt::check_nuts_rules;
use wallet_protocol::vc::normalize;
use wallet_protocol::vc::status::RevocationStatus;
use wallet_protocol::vp::{verify_presentation, PresentationExpectations};

use crate::error::{OAuthError, OAuthResult};
use crate::state::{AppState, SKEW_SECS};

/// One presentation of an `assertion` / `vp_token`, read without verification.
#[derive(Debug, Clone)]
pub struct RawPresentation {
    /// The VP as text (compact JWT or JSON).
    pub text: String,
    /// Signer DID (JWT `kid` DID / did:jwk `iss`; LD `proof.verificationMethod` DID).
    pub signer: Option<Did>,
    /// `nbf` (fallback `iat`) / `proof.created`.
    pub created: Option<i64>,
    /// `exp` / `proof.expires`.
    pub expires: Option<i64>,
    /// `aud` values / `proof.domain`.
    pub audiences: Vec<String>,
    /// JWT `nonce` / LD `proof.nonce`.
    pub nonce: Option<String>,
    /// LD `proof.challenge`.
    pub challenge: Option<String>,
    /// Subject ids per contained credential.
    pub subjects: Vec<Vec<String>>,
}

fn as_list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(o) => vec![o.clone()],
    }
}

fn credential_subjects(vcs: &[Value]) -> Result<Vec<Vec<String>>, String> {
    vcs.iter()
        .map(|vc| match vc {
            Value::String(jwt) => {
                let claims = CompactJws::parse(jwt)
                    .and_then(|j| j.claims())
                    .map_err(|e| format!("credential: {e}"))?;
                Ok(normalize::subject_ids(&normalize::jwt_vc(&claims)))
            }
            Value::Object(_) => Ok(normalize::subject_ids(&normalize::ldp_vc(vc))),
            _ => Err("credential is neither a JWT nor an object".to_owned()),
        })
        .collect()
}

fn parse_jwt_vp(token: &str) -> Result<RawPresentation, String> {
    let jws = CompactJws::parse(token).map_err(|e| e.to_string())?;
    let claims = jws.claims().map_err(|e| e.to_string())?;
    let vp = claims
        .get("vp")
        .and_then(Value::as_object)
        .ok_or("JWT has no vp claim")?;
    let signer = match jws.header_str("kid") {
        Some(kid) => DidUrl::parse(kid).ok().map(|k| k.did()),
        None => claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|s| Did::parse(s).ok())
            .filter(|d| d.method() == "jwk"),
    };
    let num = |n: &str| claims.get(n).and_then(Value::as_i64);
    Ok(RawPresentation {
        text: token.to_owned(),
        signer,
        created: num("nbf").or_else(|| num("iat")),
        expires: num("exp"),
        audiences: as_list(claims.get("aud"))
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        nonce: claims
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned),
        challenge: None,
        subjects: credential_subjects(&as_list(vp.get("verifiableCredential")))?,
    })
}

fn parse_ldp_vp(doc: &Value) -> Result<RawPresentation, String> {
    if !doc.is_object() {
        return Err("presentation is not an object".into());
    }
    let proof = match doc.get("proof") {
        Some(Value::Array(a)) if a.len() == 1 => a[0].clone(),
        Some(p @ Value::Object(_)) => p.clone(),
        _ => return Err("presentation needs exactly one proof".into()),
    };
    let s = |n: &str| proof.get(n).and_then(Value::as_str).map(str::to_owned);
    Ok(RawPresentation {
        text: doc.to_string(),
        signer: s("verificationMethod")
            .and_then(|v| DidUrl::parse(&v).ok())
            .map(|k| k.did()),
        created: s("created").and_then(|c| parse_rfc3339(&c)),
        expires: s("expires").and_then(|c| parse_rfc3339(&c)),
        audiences: s("domain").into_iter().collect(),
        nonce: s("nonce"),
        challenge: s("challenge"),
        subjects: credential_subjects(&as_list(doc.get("verifiableCredential")))?,
    })
}

/// Parses an `assertion` / `vp_token`: a JWT VP, a JSON-LD VP, or a JSON array of them.
pub fn parse_presentations(text: &str) -> Result<Vec<RawPresentation>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    if t.starts_with('[') || t.starts_with('{') {
        let v: Value = serde_json::from_str(t).map_err(|e| e.to_string())?;
        let items = match v {
            Value::Array(a) if !a.is_empty() => a,
            Value::Array(_) => return Err("empty presentation array".into()),
            other => vec![other],
        };
        items
            .iter()
            .map(|i| match i {
                Value::String(s) => parse_jwt_vp(s),
                other => parse_ldp_vp(other),
            })
            .collect()
    } else {
        Ok(vec![parse_jwt_vp(t)?])
    }
}

/// s2s check #3 (docs/protocol.md §2.3): creation and expiry present, lifetime at most
/// `max_secs` (s2s only).
pub fn check_lifetime(vps: &[RawPresentation], max_secs: Option<i64>) -> OAuthResult<()> {
    for vp in vps {
        let (Some(c), Some(e)) = (vp.created, vp.expires) else {
            return Err(OAuthError::invalid_request(
                "presentation is missing creation or expiration date",
            ));
        };
        if max_secs.is_some_and(|m| e - c > m) {
            return Err(OAuthError::invalid_request(
                "presentation is valid for too long (max 5s)",
            ));
        }
    }
    Ok(())
}

/// s2s check #4: the signer is the subject of every credential, the same in all VPs. Returns it.
pub fn check_signer_is_subject(vps: &[RawPresentation]) -> OAuthResult<Vec<Did>> {
    let mut out = Vec::new();
    for vp in vps {
        let signer = vp.signer.clone().ok_or_else(|| {
            OAuthError::invalid_request("presentation signer is not credential subject")
        })?;
        let ok = !vp.subjects.is_empty()
            && vp
                .subjects
                .iter()
                .all(|ids| !ids.is_empty() && ids.iter().all(|i| i == signer.as_str()));
        if !ok {
            return Err(OAuthError::invalid_request(
                "presentation signer is not credential subject",
            ));
        }
        out.push(signer);
    }
    Ok(out)
}

/// s2s check #5: every VP is for `audience`.
pub fn check_audience(vps: &[RawPresentation], audience: &str) -> OAuthResult<()> {
    if vps
        .iter()
        .all(|vp| vp.audiences.iter().any(|a| a == audience))
    {
        Ok(())
    } else {
        Err(OAuthError::invalid_request(
            "presentation audience/domain is missing or does not match",
        ))
    }
}

/// s2s check #10: full verification of every VP and credential (signatures via DID
/// resolution, windows with skew, Nuts content rules of docs/protocol.md §7.6, revocation with
/// soft-fail).
pub async fn verify_all(
    state: &AppState,
    vps: &[RawPresentation],
    audience: &str,
    max_validity_secs: Option<i64>,
) -> OAuthResult<()> {
    let fail = |detail: String| {
        OAuthError::invalid_request(format!(
            "presentation(s) or credential(s) verification failed: {detail}"
        ))
    };
    for vp in vps {
        let expect = PresentationExpectations {
            audience: Some(audience.to_owned()),
            nonce: None,
            max_validity_secs,
            skew_secs: SKEW_SECS,
        };
        let verified = verify_presentation(
            &vp.text,
            state.resolver.as_ref(),
            state.clock.as_ref(),
            &expect,
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
        for (i, cred) in verified.credentials.iter().enumerate() {
            check_nuts_rules(&cred.normalized).map_err(|e| fail(format!("credential {i}: {e}")))?;
            if cred.kid.is_none() {
                continue; // unsigned self-attested credential: nothing to revoke
            }
            let status = wallet_protocol::vc::revocation_status(
                cred,
                state.http.as_ref(),
                &state.net,
                state.resolver.as_ref(),
                state.clock.as_ref(),
            )
            .await;
            match status {
                RevocationStatus::Revoked | RevocationStatus::Suspended => {
                    return Err(fail(format!("credential {i} is revoked")));
                }
                RevocationStatus::Unknown { reason } => {
                    tracing::warn!(%reason, "revocation status unknown (soft-fail)");
                }
                RevocationStatus::NoStatus | RevocationStatus::Active => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wallet_protocol::jose::b64url;

    fn unsigned_jwt(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes()),
            b64url(b"sig")
        )
    }

    #[test]
    fn reads_jwt_and_ldp_presentations() {
        let vc = unsigned_jwt(
            json!({"alg":"ES256","kid":"did:web:i.example#1"}),
            json!({"iss":"did:web:i.example","sub":"did:web:h.example","vc":{"type":"VerifiableCredential","credentialSubject":{}}}),
        );
        let vp = unsigned_jwt(
            json!({"alg":"ES256","kid":"did:web:h.example#k"}),
            json!({"aud":"https://as/oauth2/a","nonce":"n","nbf":10,"exp":15,"vp":{"verifiableCredential":vc}}),
        );
        let p = parse_presentations(&vp).unwrap();
        assert_eq!(p[0].signer.as_ref().unwrap().as_str(), "did:web:h.example");
        assert_eq!(p[0].subjects, vec![vec!["did:web:h.example".to_owned()]]);
        assert_eq!((p[0].created, p[0].expires), (Some(10), Some(15)));
        check_lifetime(&p, Some(5)).unwrap();
        check_signer_is_subject(&p).unwrap();
        check_audience(&p, "https://as/oauth2/a").unwrap();
        assert!(check_audience(&p, "https://as/oauth2/b").is_err());

        let ld = json!({"type":"VerifiablePresentation","verifiableCredential":{"credentialSubject":{"id":"did:web:x"}},
            "proof":{"verificationMethod":"did:web:h.example#k","created":"2024-01-01T00:00:00Z","expires":"2024-01-01T00:00:10Z","domain":"d","nonce":"n"}});
        let p = parse_presentations(&json!([vp, ld]).to_string()).unwrap();
        assert_eq!(p.len(), 2);
        assert!(
            check_lifetime(&p[1..], Some(5)).is_err(),
            "10 s is too long"
        );
        assert!(
            check_signer_is_subject(&p[1..]).is_err(),
            "subject is not the signer"
        );
        assert!(parse_presentations("").is_err());
        assert!(parse_presentations("[]").is_err());
        assert!(parse_presentations("not-a-jwt").is_err());
    }
}
