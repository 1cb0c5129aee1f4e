//! The user flow (docs/protocol.md §3) on the AS side: the authorization endpoint accepting
//! only signed request objects (§4.4), the OpenID4VP verifier role with one-time request
//! objects at `request.jwt/{id}` (§4.2), the `response` endpoint (§5.3) with an organization
//! round and, when the scope maps a `user` definition, an `openid4vp:` user round; then
//! authorization codes (1 minute, single use) exchanged at the token endpoint
//! ([`crate::token`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use url::Url;
use wallet_pex::{Envelope, WalletOwnerType};
use wallet_protocol::did;
use wallet_protocol::metadata::{self, VerifiedEntityStatement};
use wallet_protocol::net::{HttpRequest, Method, DEFAULT_MAX_BODY_BYTES};

use crate::error::{ErrorCode, OAuthError, OAuthResult};
use crate::presentation::{
    check_audience, check_signer_is_subject, parse_presentations, verify_all,
};
use crate::state::{
    random_token, AppState, CodeGrant, PendingRequestObject, Session, REQUEST_OBJECT_TTL_SECS,
    SESSION_TTL_SECS, SKEW_SECS,
};
use crate::token::{parse_form, submission_error};

/// Media type of request objects.
pub const REQUEST_OBJECT_CONTENT_TYPE: &str = "application/oauth-authz-req+jwt";
/// The self-issued wallet issuer (no `aud` in JAR #3 then).
pub const SELF_ISSUED: &str = "https://self-issued.me/v2";
/// Lifetime (`exp − iat`) of the request objects this server signs.
pub const JAR_VALIDITY_SECS: i64 = 300;

fn request_object_error(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestObject, description)
}

fn not_found() -> Response {
    OAuthError::invalid_request("subject not found")
        .with_status(StatusCode::NOT_FOUND)
        .into_response()
}

/// Fetches JAR #1 by reference.
async fn fetch_request_object(state: &AppState, uri: &str, method: &str) -> OAuthResult<String> {
    let fail = || OAuthError::new(ErrorCode::InvalidRequestUri, "failed to get Request Object");
    let url = Url::parse(uri).map_err(|_| fail())?;
    let mut req = HttpRequest::get(url, REQUEST_OBJECT_CONTENT_TYPE);
    if method == "post" {
        req.method = Method::Post;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "wallet_metadata",
                &state.identity.metadata(state.user_flow).to_string(),
            )
            .finish();
        req.body = body.into_bytes();
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    req.max_body_bytes = DEFAULT_MAX_BODY_BYTES;
    let resp = state.http.execute(req).await.map_err(|e| {
        tracing::info!(error = %e, "request object fetch failed");
        fail()
    })?;
    if resp.status != 200 {
        return Err(fail());
    }
    String::from_utf8(resp.body).map_err(|_| fail())
}

/// Fetches and verifies the client's entity statement (docs/protocol.md §9.3).
async fn client_entity_statement(
    state: &AppState,
    client_id: &str,
) -> OAuthResult<VerifiedEntityStatement> {
    let fail = |why: String| {
        tracing::info!(%why, "client entity statement");
        request_object_error("failed to retrieve or verify the client's OpenID configuration")
    };
    // Not fetched at all is the server's failure, as a Nuts node reports it (500), not a
    // fault of the request object.
    let unreachable = |why: String| {
        tracing::info!(%why, "client entity statement not fetched");
        OAuthError::new(
            ErrorCode::ServerError,
            "failed to retrieve OpenID configuration",
        )
    };
    let client = Url::parse(client_id).map_err(|e| fail(e.to_string()))?;
    let url = metadata::well_known_url(&client, "openid-configuration")
        .map_err(|e| fail(e.to_string()))?;
    let resp = state
        .http
        .execute(HttpRequest::get(
            url,
            metadata::ENTITY_STATEMENT_CONTENT_TYPE,
        ))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if resp.status != 200 {
        return Err(unreachable(format!("status {}", resp.status)));
    }
    let text = String::from_utf8(resp.body).map_err(|e| fail(e.to_string()))?;
    metadata::verify_entity_statement(text.trim(), state.resolver.as_ref(), state.clock.as_ref())
        .await
        .map_err(|e| fail(e.to_string()))
}

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Validates JAR #1 (docs/protocol.md §4.4): signature by an assertion key of the `kid` DID,
/// allowed `alg`, time claims if present, `client_id` claim = query `client_id`, the signer key
/// listed in the client's entity statement, and single use.
pub async fn validate_request_object(
    state: &AppState,
    raw: &str,
    client_id: &str,
) -> OAuthResult<(Map<String, Value>, VerifiedEntityStatement)> {
    let now = state.now();
    let raw = raw.trim();
    let (jws, kid) = did::verify_jws(raw, state.resolver.as_ref(), now)
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "request object signature");
            request_object_error("request signature validation failed")
        })?;
    let claims = jws
        .claims()
        .map_err(|_| request_object_error("invalid request parameter"))?;
    let num = |n: &str| claims.get(n).and_then(Value::as_i64);
    if num("exp").is_some_and(|e| e < now - SKEW_SECS)
        || num("nbf").is_some_and(|n| n > now + SKEW_SECS)
        || num("iat").is_some_and(|i| i > now + SKEW_SECS)
    {
        return Err(request_object_error(
            "request signature validation failed: request object is not valid now",
        ));
    }
    if claim_str(&claims, "client_id") != Some(client_id) {
        return Err(request_object_error(
            "invalid client_id claim in signed authorization request",
        ));
    }
    let statement = client_entity_statement(state, client_id).await?;
    let key = did::resolve_assertion_key(state.resolver.as_ref(), &kid)
        .await
        .map_err(|_| request_object_error("request signature validation failed"))?;
    statement.owns_key(kid.as_str(), &key).map_err(|e| {
        let msg = match e {
            metadata::MetadataError::KeyMismatch(m) => m,
            other => other.to_string(),
        };
        request_object_error(&msg)
    })?;
    let hash = wallet_protocol::jose::b64url(&Sha256::digest(raw.as_bytes()));
    let until = num("exp").unwrap_or(now + REQUEST_OBJECT_TTL_SECS).max(now) + SKEW_SECS;
    if !state.jar_seen.insert_new(hash, (), until, now) {
        return Err(request_object_error("request object has already been used"));
    }
    Ok((claims, statement))
}

fn aud_matches(claims: &Map<String, Value>, issuer: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(s)) => s == issuer,
        Some(Value::Array(a)) => a.len() == 1 && a[0].as_str() == Some(issuer),
        _ => false,
    }
}

/// `GET /oauth2/{subject}/authorize`.
pub async fn authorize_endpoint(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if subject != state.identity.subject || !state.user_flow {
        return not_found();
    }
    match authorize(&state, &query).await {
        Ok(location) => redirect(&location),
        Err(e) => e.for_request(&headers).into_response(),
    }
}

fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn q<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

async fn authorize(state: &AppState, query: &HashMap<String, String>) -> OAuthResult<String> {
    // JAR: exactly one of request / request_uri.
    let raw = match (q(query, "request"), q(query, "request_uri")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "claims 'request' and 'request_uri' are mutually exclusive",
            ))
        }
        (Some(r), None) => r.to_owned(),
        (None, Some(uri)) => {
            let method = query
                .get("request_uri_method")
                .map(String::as_str)
                .unwrap_or("");
            let method = match method {
                "" | "get" => "get",
                "post" => "post",
                _ => {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidRequestUriMethod,
                        "unsupported request_uri_method",
                    ))
                }
            };
            fetch_request_object(state, uri, method).await?
        }
        (None, None) => {
            return Err(OAuthError::invalid_request(
                "authorization request are required to use signed request objects (RFC9101)",
            ))
        }
    };
    let client_id = q(query, "client_id").unwrap_or_default();
    let (claims, statement) = validate_request_object(state, &raw, client_id).await?;

    let redirect_uri = claim_str(&claims, "redirect_uri")
        .and_then(|r| Url::parse(r).ok())
        .ok_or_else(|| OAuthError::invalid_request("missing or invalid redirect_uri"))?;
    let client_state = claim_str(&claims, "state").map(str::to_owned);
    let to_client = |e: OAuthError| e.redirect_to(redirect_uri.clone(), client_state.clone());
    // With a usable redirect_uri, a wrong response_type goes back to the client (RFC 6749
    // §4.1.2.1), as a Nuts node does.
    if claim_str(&claims, "response_type") != Some("code") {
        return Err(to_client(OAuthError::new(
            ErrorCode::UnsupportedResponseType,
            "response_type must be code",
        )));
    }
    if !aud_matches(&claims, &state.identity.issuer) {
        return Err(to_client(OAuthError::invalid_request(
            "invalid audience, verifier = ".to_owned() + &state.identity.issuer,
        )));
    }
    let Some(code_challenge) = claim_str(&claims, "code_challenge") else {
        return Err(OAuthError::invalid_request("missing code_challenge"));
    };
    if claim_str(&claims, "code_challenge_method") != Some("S256") {
        return Err(OAuthError::invalid_request(
            "invalid code_challenge_method, only S256 is supported",
        ));
    }
    let scope = claim_str(&claims, "scope").unwrap_or_default().to_owned();
    if state
        .policy
        .definition(&scope, WalletOwnerType::Organization)
        .is_none()
    {
        return Err(to_client(OAuthError::new(
            ErrorCode::InvalidScope,
            format!("unsupported scope ({scope}) for presentation exchange: not found"),
        )));
    }
    let provider = &statement.openid_provider;
    let Some(wallet_endpoint) = provider
        .get("authorization_endpoint")
        .and_then(Value::as_str)
        .and_then(|u| Url::parse(u).ok())
    else {
        return Err(to_client(OAuthError::invalid_request(
            "client has no authorization_endpoint in its OpenID configuration",
        )));
    };
    let wallet_issuer = provider
        .get("issuer")
        .and_then(Value::as_str)
        .unwrap_or(client_id)
        .to_owned();

    let now = state.now();
    let verifier_state = random_token();
    state.sessions.insert(
        verifier_state.clone(),
        Session {
            client_id: client_id.to_owned(),
            client_state,
            redirect_uri,
            scope: scope.clone(),
            code_challenge: code_challenge.to_owned(),
            round: WalletOwnerType::Organization,
            fields: Default::default(),
            holders: Vec::new(),
        },
        now + SESSION_TTL_SECS,
        now,
    );
    let (_, request_uri) = new_round(
        state,
        &verifier_state,
        &scope,
        WalletOwnerType::Organization,
        Some(wallet_issuer),
    );
    let mut location = wallet_endpoint;
    location
        .query_pairs_mut()
        .append_pair("client_id", &state.identity.issuer)
        .append_pair("request_uri", &request_uri)
        .append_pair("request_uri_method", "get");
    Ok(location.to_string())
}

fn pd_uri(state: &AppState, scope: &str, owner: WalletOwnerType) -> String {
    let mut u = Url::parse(&state.identity.endpoint("presentation_definition"))
        .unwrap_or_else(|_| state.identity.base_url.clone());
    u.query_pairs_mut()
        .append_pair("scope", scope)
        .append_pair("wallet_owner_type", owner.as_str());
    u.to_string()
}

/// Creates the nonce and the request object of one OpenID4VP round; returns (nonce,
/// request_uri). With an audience the object is fetched by GET, otherwise by POST.
fn new_round(
    state: &AppState,
    verifier_state: &str,
    scope: &str,
    owner: WalletOwnerType,
    audience: Option<String>,
) -> (String, String) {
    let now = state.now();
    let nonce = random_token();
    state.nonces.insert(
        nonce.clone(),
        verifier_state.to_owned(),
        now + SESSION_TTL_SECS,
        now,
    );
    let id = random_token();
    let mut claims = Map::new();
    let id_ = &state.identity;
    claims.insert("iss".into(), json!(id_.did.as_str()));
    claims.insert("client_id".into(), json!(id_.issuer));
    claims.insert("client_id_scheme".into(), json!("entity_id"));
    claims.insert("response_type".into(), json!("vp_token"));
    claims.insert("response_mode".into(), json!("direct_post"));
    claims.insert("response_uri".into(), json!(id_.endpoint("response")));
    claims.insert(
        "presentation_definition_uri".into(),
        json!(pd_uri(state, scope, owner)),
    );
    claims.insert(
        "client_metadata_uri".into(),
        json!(id_.endpoint("oauth-client")),
    );
    claims.insert("nonce".into(), json!(nonce));
    claims.insert("state".into(), json!(verifier_state));
    let method = match audience {
        Some(aud) => {
            claims.insert("aud".into(), json!(aud));
            "get"
        }
        None => "post",
    };
    state.request_objects.insert(
        id.clone(),
        PendingRequestObject { method, claims },
        now + REQUEST_OBJECT_TTL_SECS,
        now,
    );
    (nonce, id_.endpoint(&format!("request.jwt/{id}")))
}

fn serve_request_object(
    state: &AppState,
    subject: &str,
    id: &str,
    method: &'static str,
    form: Option<HashMap<String, String>>,
) -> OAuthResult<String> {
    if subject != state.identity.subject {
        return Err(
            OAuthError::invalid_request("subject not found").with_status(StatusCode::NOT_FOUND)
        );
    }
    let now = state.now();
    let ro = state
        .request_objects
        .take(id, now)
        .ok_or_else(|| OAuthError::invalid_request("request object not found"))?;
    if ro.method != method {
        return Err(OAuthError::invalid_request(
            "used request_uri_method did not match the one in the authorization request",
        ));
    }
    let mut claims = ro.claims;
    if let Some(form) = form {
        if let Some(meta) = form.get("wallet_metadata") {
            let meta: Value = serde_json::from_str(meta)
                .map_err(|_| OAuthError::invalid_request("invalid wallet_metadata"))?;
            if let Some(iss) = meta.get("issuer").and_then(Value::as_str) {
                if iss != SELF_ISSUED && !iss.is_empty() {
                    claims.insert("aud".into(), json!(iss));
                }
            }
        }
        if let Some(n) = form.get("wallet_nonce").filter(|n| !n.is_empty()) {
            claims.insert("wallet_nonce".into(), json!(n));
        }
    }
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + JAR_VALIDITY_SECS));
    state
        .identity
        .sign_jwt(&claims)
        .ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "signing failed"))
}

fn jwt_response(r: OAuthResult<String>, headers: &HeaderMap) -> Response {
    match r {
        Ok(jwt) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, REQUEST_OBJECT_CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jwt,
        )
            .into_response(),
        Err(e) => e.for_request(headers).into_response(),
    }
}

/// `GET /oauth2/{subject}/request.jwt/{id}`.
pub async fn request_jwt_get(
    State(state): State<Arc<AppState>>,
    Path((subject, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    jwt_response(
        serve_request_object(&state, &subject, &id, "get", None),
        &headers,
    )
}

/// `POST /oauth2/{subject}/request.jwt/{id}` (form `wallet_metadata`, `wallet_nonce`).
pub async fn request_jwt_post(
    State(state): State<Arc<AppState>>,
    Path((subject, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    jwt_response(
        serve_request_object(&state, &subject, &id, "post", Some(form)),
        &headers,
    )
}

/// `POST /oauth2/{subject}/response` (OpenID4VP direct_post).
pub async fn response_endpoint(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if subject != state.identity.subject || !state.user_flow {
        return not_found();
    }
    let form = parse_form(&body);
    match handle_response(&state, &form, &query).await {
        Ok(redirect_uri) => {
            let mut resp = (
                StatusCode::OK,
                axum::Json(json!({ "redirect_uri": redirect_uri })),
            )
                .into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => e.for_request(&headers).into_response(),
    }
}

async fn handle_response(
    state: &AppState,
    form: &HashMap<String, String>,
    query: &HashMap<String, String>,
) -> OAuthResult<String> {
    let now = state.now();
    let verifier_state = q(form, "state")
        .or_else(|| q(query, "state"))
        .unwrap_or_default();
    let no_session = || OAuthError::invalid_request("invalid or expired session");
    if let Some(error) = q(form, "error") {
        // A wallet error: end the session and send the user back to the client.
        let session = state
            .sessions
            .take(verifier_state, now)
            .ok_or_else(no_session)?;
        let mut u = session.redirect_uri;
        u.query_pairs_mut().append_pair("error", error).append_pair(
            "error_description",
            q(form, "error_description").unwrap_or_default(),
        );
        return Ok(u.to_string());
    }
    let mut session = state
        .sessions
        .get(verifier_state, now)
        .ok_or_else(no_session)?;
    let to_client = |e: OAuthError| e.redirect_to(session.redirect_uri.clone(), None);
    let (Some(vp_token), Some(submission)) =
        (q(form, "vp_token"), q(form, "presentation_submission"))
    else {
        return Err(to_client(OAuthError::invalid_request(
            "missing vp_token or presentation_submission",
        )));
    };
    let vps = parse_presentations(vp_token).map_err(|e| {
        to_client(OAuthError::invalid_request(format!(
            "invalid vp_token: {e}"
        )))
    })?;
    // Nonce: identical in every VP, issued for this state, burned.
    let nonces: Vec<Option<&str>> = vps
        .iter()
        .map(|vp| vp.challenge.as_deref().or(vp.nonce.as_deref()))
        .collect();
    let Some(Some(nonce)) = nonces.first().copied() else {
        return Err(to_client(OAuthError::invalid_request(
            "presentation has invalid/missing nonce",
        )));
    };
    if nonces.iter().any(|n| *n != Some(nonce)) {
        return Err(to_client(OAuthError::invalid_request(
            "presentation has invalid/missing nonce",
        )));
    }
    if state.nonces.take(nonce, now).as_deref() != Some(verifier_state) {
        return Err(to_client(OAuthError::invalid_request(
            "presentation nonce is unknown, expired or has already been used",
        )));
    }
    let submission = crate::token::parse_submission(submission).map_err(|e| {
        to_client(OAuthError::invalid_request(format!(
            "invalid presentation submission: {e}"
        )))
    })?;
    let signers = check_signer_is_subject(&vps).map_err(to_client)?;
    check_audience(&vps, &state.identity.issuer).map_err(to_client)?;
    verify_all(state, &vps, &state.identity.issuer, None)
        .await
        .map_err(to_client)?;
    let Some(pd) = state.policy.definition(&session.scope, session.round) else {
        return Err(to_client(OAuthError::new(
            ErrorCode::InvalidScope,
            "scope has no definition for this round",
        )));
    };
    let envelope = Envelope::parse(&Value::String(vp_token.to_owned())).map_err(|e| {
        to_client(OAuthError::invalid_request(format!(
            "invalid vp_token: {e}"
        )))
    })?;
    let verified = wallet_pex::verify_submission(pd, &submission, &envelope)
        .map_err(|e| to_client(submission_error(&e, &submission.definition_id)))?;
    session.fields.extend(verified.fields);
    session
        .holders
        .extend(signers.iter().map(|d| d.as_str().to_owned()));

    if session.round == WalletOwnerType::Organization
        && state
            .policy
            .definition(&session.scope, WalletOwnerType::User)
            .is_some()
    {
        session.round = WalletOwnerType::User;
        let scope = session.scope.clone();
        state.sessions.update(verifier_state, session);
        let (nonce, request_uri) =
            new_round(state, verifier_state, &scope, WalletOwnerType::User, None);
        let id_ = &state.identity;
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &id_.issuer)
            .append_pair("client_id_scheme", "entity_id")
            .append_pair("client_metadata_uri", &id_.endpoint("oauth-client"))
            .append_pair("nonce", &nonce)
            .append_pair(
                "presentation_definition_uri",
                &pd_uri(state, &scope, WalletOwnerType::User),
            )
            .append_pair("request_uri", &request_uri)
            .append_pair("request_uri_method", "post")
            .append_pair("response_mode", "direct_post")
            .append_pair("response_type", "vp_token")
            .append_pair("response_uri", &id_.endpoint("response"))
            .append_pair("state", verifier_state)
            .finish();
        return Ok(format!("openid4vp:?{query}"));
    }

    state.sessions.remove(verifier_state);
    let code = random_token();
    state.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: session.client_id,
            scope: session.scope,
            code_challenge: session.code_challenge,
            fields: session.fields,
            holders: session.holders,
        },
        now + SESSION_TTL_SECS,
        now,
    );
    let mut u = session.redirect_uri;
    {
        let mut qp = u.query_pairs_mut();
        qp.append_pair("code", &code);
        if let Some(s) = &session.client_state {
            qp.append_pair("state", s);
        }
    }
    Ok(u.to_string())
}
