//! DPoP proofs at the token endpoint (docs/protocol.md §6.4). Nuts checks them only
//! structurally; this server also checks what a Nuts client always gets right: `htm` = `POST`,
//! `htu` = the token endpoint (query and fragment ignored), a fresh `iat`, and an unused `jti`.
//! Any failure is `invalid_dpop_proof` "DPoP header is invalid".

use url::Url;
use wallet_protocol::dpop::verify_dpop_proof;

use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::state::{AppState, DPOP_JTI_TTL_SECS};

/// How old a proof's `iat` may be.
pub const DPOP_MAX_AGE_SECS: i64 = 60;
/// How far in the future a proof's `iat` may be.
pub const DPOP_MAX_FUTURE_SECS: i64 = 5;

fn invalid(reason: &str) -> OAuthError {
    OAuthError::new(
        ErrorCode::InvalidDpopProof,
        format!("DPoP header is invalid: {reason}"),
    )
}

fn same_endpoint(htu: &str, endpoint: &str) -> bool {
    let (Ok(mut a), Ok(mut b)) = (Url::parse(htu), Url::parse(endpoint)) else {
        return false;
    };
    for u in [&mut a, &mut b] {
        u.set_query(None);
        u.set_fragment(None);
    }
    a == b
}

/// Checks the `DPoP` header of a token request; returns the key thumbprint (`cnf.jkt`).
pub fn check_token_request_proof(state: &AppState, proof: &str) -> OAuthResult<String> {
    let p = verify_dpop_proof(proof).map_err(|e| invalid(&e.to_string()))?;
    if p.htm != "POST" {
        return Err(invalid("htm must be POST"));
    }
    if !same_endpoint(&p.htu, &state.identity.token_endpoint()) {
        return Err(invalid("htu is not the token endpoint"));
    }
    let now = state.now();
    if p.iat < now - DPOP_MAX_AGE_SECS || p.iat > now + DPOP_MAX_FUTURE_SECS {
        return Err(invalid("iat is not recent"));
    }
    if !state
        .dpop_jtis
        .insert_new(p.jti.clone(), (), now + DPOP_JTI_TTL_SECS, now)
    {
        return Err(invalid("jti has already been used"));
    }
    Ok(p.thumbprint)
}

/// What `POST /internal/auth/v2/dpop/validate` gets (the Nuts internal API's
/// `DPoPValidateRequest`).
#[derive(Debug, serde::Deserialize)]
pub struct ValidateRequest {
    /// The proof from the resource request's `DPoP` header.
    pub dpop_proof: String,
    /// The resource request's method.
    pub method: String,
    /// `cnf.jkt` of the token (from introspection).
    pub thumbprint: String,
    /// The access token of the request.
    pub token: String,
    /// The resource request's URL (query and fragment ignored).
    pub url: String,
}

/// The resource server's check of a DPoP proof (what a Nuts node validates for it): a valid
/// `dpop+jwt`, `htm` = the method, `htu` = the URL without query and fragment, the key is the
/// token's (`thumbprint`), `ath` = the token's hash, a recent `iat` and an unused `jti`.
/// `Ok(())` is valid; `Err(reason)` says why not.
pub fn validate_resource_proof(state: &AppState, r: &ValidateRequest) -> Result<(), String> {
    use sha2::Digest;
    let p = verify_dpop_proof(&r.dpop_proof).map_err(|e| e.to_string())?;
    if !p.htm.eq_ignore_ascii_case(&r.method) {
        return Err("method and htm do not match".into());
    }
    if !same_endpoint(&p.htu, &r.url) {
        return Err("url and htu do not match".into());
    }
    if p.thumbprint != r.thumbprint {
        return Err("the proof is not signed with the token's key".into());
    }
    let ath = wallet_protocol::jose::b64url(&sha2::Sha256::digest(r.token.as_bytes()));
    if p.ath.as_deref() != Some(ath.as_str()) {
        return Err("ath does not match the access token".into());
    }
    let now = state.now();
    if p.iat < now - DPOP_MAX_AGE_SECS || p.iat > now + DPOP_MAX_FUTURE_SECS {
        return Err("DPoP proof is expired".into());
    }
    if !state
        .dpop_jtis
        .insert_new(p.jti.clone(), (), now + DPOP_JTI_TTL_SECS, now)
    {
        return Err("jti has already been used".into());
    }
    Ok(())
}

/// `POST /internal/auth/v2/dpop/validate`: `{"valid": true}` or `{"valid": false, "reason"}`.
pub async fn validate_endpoint(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<AppState>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let req: ValidateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return OAuthError::invalid_request(format!("invalid request body: {e}"))
                .into_response()
        }
    };
    let v = match validate_resource_proof(&state, &req) {
        Ok(()) => serde_json::json!({"valid": true}),
        Err(reason) => serde_json::json!({"valid": false, "reason": reason}),
    };
    axum::Json(v).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_comparison_ignores_query_and_fragment_only() {
        let e = "https://as.example/oauth2/a/token";
        assert!(same_endpoint("https://as.example/oauth2/a/token?x=1#f", e));
        assert!(same_endpoint("https://AS.example:443/oauth2/a/token", e));
        assert!(!same_endpoint("https://as.example/oauth2/b/token", e));
        assert!(!same_endpoint("http://as.example/oauth2/a/token", e));
        assert!(!same_endpoint("not a url", e));
    }
}
