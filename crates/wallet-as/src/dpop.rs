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
