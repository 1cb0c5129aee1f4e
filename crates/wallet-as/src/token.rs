//! The token endpoint (`vp_token-bearer`; `authorization_code`, docs/protocol.md §3.5) and
//! introspection (`POST /internal/auth/v2/accesstoken/introspect`).
//!
//! The s2s checks run in the order and with the error codes of docs/protocol.md §2.3, so that
//! a client sees exactly the error a Nuts v6 AS would give. Tokens are opaque and live 15 minutes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_pex::{Envelope, PresentationSubmission, VerifyError};

use crate::dpop::check_token_request_proof;
use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::presentation::{
    check_audience, check_lifetime, check_signer_is_subject, parse_presentations, verify_all,
};
use crate::state::{random_token, AppState, TokenInfo, ACCESS_TOKEN_TTL_SECS, S2S_NONCE_TTL_SECS};

/// The grant type of the s2s token request (docs/protocol.md §2.2).
pub const VP_TOKEN_GRANT_TYPE: &str = "vp_token-bearer";
/// Maximum s2s VP lifetime.
pub const S2S_MAX_VP_SECS: i64 = 5;

/// Parses an `application/x-www-form-urlencoded` body (first value of a name wins).
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn non_empty<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|s| !s.is_empty())
}

/// `POST /oauth2/{subject}/token`.
pub async fn token_endpoint(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = handle_token(&state, &subject, &headers, &body).await;
    match result {
        Ok(v) => {
            let mut resp = (StatusCode::OK, axum::Json(v)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(e) => e.for_request(&headers).into_response(),
    }
}

async fn handle_token(
    state: &AppState,
    subject: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> OAuthResult<Value> {
    if subject != state.identity.subject {
        return Err(OAuthError::invalid_request("subject not found"));
    }
    let form = parse_form(body);
    let dpop = headers.get("dpop").map(|v| v.to_str().unwrap_or_default());
    match form.get("grant_type").map(String::as_str) {
        Some(VP_TOKEN_GRANT_TYPE) => s2s(state, &form, dpop).await,
        Some("authorization_code") if state.user_flow => authorization_code(state, &form, dpop),
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!(
                "grant_type '{}' is not supported",
                other.unwrap_or_default()
            ),
        )),
    }
}

fn token_response(state: &AppState, info: TokenInfo) -> Value {
    let token = random_token();
    let dpop = info.jkt.is_some();
    let scope = info.scope.clone();
    let now = state.now();
    state
        .tokens
        .insert(token.clone(), info, now + ACCESS_TOKEN_TTL_SECS, now);
    let mut v = json!({
        "access_token": token,
        "expires_in": ACCESS_TOKEN_TTL_SECS,
        "scope": scope,
        "token_type": if dpop { "DPoP" } else { "Bearer" },
    });
    if dpop {
        // Nuts sends an empty dpop_kid; clients must ignore it.
        v["dpop_kid"] = json!("");
    }
    v
}

/// Parses a `presentation_submission` (the DIF schema requires `id`, `definition_id` and a
/// `descriptor_map` array).
pub fn parse_submission(text: &str) -> Result<PresentationSubmission, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !v.get("descriptor_map").is_some_and(Value::is_array) {
        return Err("descriptor_map is required".into());
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Maps a PEX verification failure to the descriptions of s2s check #7 (docs/protocol.md §2.3).
pub fn submission_error(e: &VerifyError, definition_id: &str) -> OAuthError {
    match e {
        VerifyError::UnknownDefinition { .. } | VerifyError::DefinitionId { .. } => {
            OAuthError::invalid_request(format!(
                "presentation definition being fulfilled is not required: {e}"
            ))
        }
        _ => OAuthError::invalid_request(format!(
            "presentation submission does not conform to presentation definition (id={definition_id}): {e}"
        )),
    }
}

async fn s2s(
    state: &AppState,
    form: &HashMap<String, String>,
    dpop: Option<&str>,
) -> OAuthResult<Value> {
    let (Some(assertion), Some(submission), Some(scope), Some(client_id)) = (
        non_empty(form, "assertion"),
        non_empty(form, "presentation_submission"),
        non_empty(form, "scope"),
        non_empty(form, "client_id"),
    ) else {
        return Err(OAuthError::invalid_request("missing required parameters"));
    };
    // 1. assertion
    let vps = parse_presentations(assertion)
        .map_err(|e| OAuthError::invalid_request(format!("assertion parameter is invalid: {e}")))?;
    // 2. presentation_submission
    let submission = parse_submission(submission).map_err(|e| {
        OAuthError::invalid_request(format!("invalid presentation submission: {e}"))
    })?;
    // 3. creation / expiry, <= 5 s
    check_lifetime(&vps, Some(S2S_MAX_VP_SECS))?;
    // 4. signer = credential subject, same in all VPs
    let signers = check_signer_is_subject(&vps)?;
    if signers.windows(2).any(|w| w[0] != w[1]) {
        return Err(OAuthError::invalid_request(
            "not all presentations have the same credential subject ID",
        ));
    }
    // 5. audience = our issuer URL
    check_audience(&vps, &state.identity.issuer)?;
    // 6. scope → definitions
    if state.policy.scope(scope).is_none() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("unsupported scope ({scope}) for presentation exchange: not found"),
        ));
    }
    // 7. submission = what the matcher derives, for one of the scope's definitions
    let envelope = Envelope::parse(&Value::String(assertion.to_owned()))
        .map_err(|e| OAuthError::invalid_request(format!("assertion parameter is invalid: {e}")))?;
    let (_, verified) = wallet_pex::verify_for_scope(&state.policy, scope, &submission, &envelope)
        .map_err(|e| submission_error(&e, &submission.definition_id))?;
    // 8. nonce present and unused (burned now, whatever happens next)
    let now = state.now();
    for vp in &vps {
        let Some(nonce) = vp.nonce.as_deref().filter(|n| !n.is_empty()) else {
            return Err(OAuthError::invalid_request(
                "presentation has invalid/missing nonce",
            ));
        };
        if !state
            .s2s_nonces
            .insert_new(nonce.to_owned(), (), now + S2S_NONCE_TTL_SECS, now)
        {
            return Err(OAuthError::invalid_request(
                "presentation nonce has already been used",
            ));
        }
    }
    // 9. DPoP
    let jkt = match dpop {
        Some(p) => Some(check_token_request_proof(state, p)?),
        None => None,
    };
    // 10. signatures, credentials, revocation
    verify_all(state, &vps, &state.identity.issuer, Some(S2S_MAX_VP_SECS)).await?;
    // 11. token
    Ok(token_response(
        state,
        TokenInfo {
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            jkt,
            fields: verified.fields,
            holders: Vec::new(),
        },
    ))
}

/// base64url(SHA-256(verifier)) compared with the stored S256 challenge.
pub fn pkce_s256_matches(verifier: &str, challenge: &str) -> bool {
    wallet_protocol::jose::b64url(&Sha256::digest(verifier.as_bytes())) == challenge
}

fn authorization_code(
    state: &AppState,
    form: &HashMap<String, String>,
    dpop: Option<&str>,
) -> OAuthResult<Value> {
    let Some(code) = non_empty(form, "code") else {
        return Err(OAuthError::invalid_request("missing required parameters"));
    };
    let now = state.now();
    // The code is burned on any attempt.
    let grant = state
        .codes
        .take(code, now)
        .ok_or_else(|| OAuthError::new(ErrorCode::InvalidGrant, "invalid authorization code"))?;
    let client_id = non_empty(form, "client_id").unwrap_or_default();
    if client_id != grant.client_id {
        return Err(OAuthError::invalid_request(format!(
            "client_id does not match: {client_id}"
        )));
    }
    let Some(verifier) = non_empty(form, "code_verifier") else {
        return Err(OAuthError::invalid_request("missing code_verifier"));
    };
    if !pkce_s256_matches(verifier, &grant.code_challenge) {
        return Err(OAuthError::new(
            ErrorCode::InvalidGrant,
            "invalid code_verifier",
        ));
    }
    let jkt = match dpop {
        Some(p) => Some(check_token_request_proof(state, p)?),
        None => None,
    };
    Ok(token_response(
        state,
        TokenInfo {
            client_id: grant.client_id,
            scope: grant.scope,
            iat: now,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            jkt,
            fields: grant.fields,
            holders: grant.holders,
        },
    ))
}

/// Introspection claims (docs/protocol.md §2.3).
pub fn introspection(state: &AppState, token: &str) -> Value {
    let Some(info) = state.tokens.get(token, state.now()) else {
        return json!({"active": false});
    };
    let mut m = serde_json::Map::new();
    for (k, v) in strip_reserved(info.fields.clone()) {
        m.insert(k, v);
    }
    m.insert("active".into(), json!(true));
    m.insert("iss".into(), json!(state.identity.issuer));
    m.insert("client_id".into(), json!(info.client_id));
    m.insert("scope".into(), json!(info.scope));
    m.insert("iat".into(), json!(info.iat));
    m.insert("exp".into(), json!(info.exp));
    if let Some(jkt) = &info.jkt {
        m.insert("cnf".into(), json!({ "jkt": jkt }));
    }
    // Not a Nuts claim: lets tests see who presented in each round of a user flow.
    if !info.holders.is_empty() {
        m.insert("holders".into(), json!(info.holders));
    }
    Value::Object(m)
}

/// `POST /internal/auth/v2/accesstoken/introspect` (form `token=`).
pub async fn introspect_endpoint(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let v = match non_empty(&form, "token") {
        Some(t) => introspection(&state, t),
        None => json!({"active": false}),
    };
    axum::Json(v).into_response()
}

/// Reserved claim names a PD field id may not use (Nuts rejects them).
pub const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "exp", "iat", "active", "client_id", "scope"];

/// Field values without reserved names (defensive; policies with them are refused at load).
pub fn strip_reserved(fields: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    fields
        .into_iter()
        .filter(|(k, _)| !RESERVED_CLAIMS.contains(&k.as_str()) && k != "cnf")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_rfc7636_example() {
        assert!(pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_s256_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn submission_needs_a_descriptor_map() {
        assert!(parse_submission(r#"{"id":"a","definition_id":"b"}"#).is_err());
        assert!(parse_submission(r#"{"id":"a","definition_id":"b","descriptor_map":{}}"#).is_err());
        let s = parse_submission(r#"{"id":"a","definition_id":"b","descriptor_map":[]}"#).unwrap();
        assert_eq!(s.definition_id, "b");
    }

    #[test]
    fn form_first_value_wins() {
        let f = parse_form(b"a=1&a=2&b=x%20y");
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "x y");
    }

    #[test]
    fn reserved_fields_are_dropped() {
        let mut m = BTreeMap::new();
        m.insert("scope".to_owned(), json!("x"));
        m.insert("employee_name".to_owned(), json!("J"));
        let out = strip_reserved(m);
        assert_eq!(out.len(), 1);
        assert!(out.contains_key("employee_name"));
    }
}
