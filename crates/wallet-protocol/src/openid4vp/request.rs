//! The request object (`docs/protocol.md` §4) as a typestate:
//! [`PresentationRequest<Unverified>`] (fetched text) → [`PresentationRequest<Verified>`]
//! (signature by a key of the verifier's DID that its entity statement lists for `client_id`,
//! and every claim check). Only a verified request reaches the consent screen.

use std::marker::PhantomData;

use serde_json::{Map, Value};
use url::Url;

use super::error::{ErrorDispatch, Rejection, RequestObjectError};
use super::{MAX_JWT_BYTES, SELF_ISSUED};
use crate::clock::Clock;
use crate::did::{self, DidResolver, DidUrl};
use crate::metadata;
use crate::net::{HttpClient, HttpRequest};
use crate::oauth::error::sanitize;
use crate::oauth::types::ClientId;

/// Clock skew allowed on `iat`/`nbf`, seconds.
pub const SKEW_SECS: i64 = 5;

/// Longest a request object may be valid (`exp − iat`, and `exp − now`), and the oldest `iat`
/// accepted, seconds. A holder's replay memory must outlast it (`docs/protocol.md` §10).
pub const MAX_LIFETIME_SECS: i64 = 600;

/// `typ` header values a request object may carry: Nuts signs with `JWT` (`docs/protocol.md`
/// §4); RFC 9101's explicit type is accepted too. Any other type is a token of another kind.
pub const ACCEPTED_TYP: [&str; 2] = ["JWT", "oauth-authz-req+jwt"];

/// What verification needs from the holder: HTTP (entity statement), DID resolution, the
/// clock, and its replay store.
pub trait VerifyContext: Send + Sync {
    /// HTTP client.
    fn http(&self) -> &dyn HttpClient;
    /// DID resolver.
    fn resolver(&self) -> &dyn DidResolver;
    /// Clock.
    fn clock(&self) -> &dyn Clock;
    /// Records `(client_id, nonce)`; `false` when it was handled before.
    fn first_use(&self, client_id: &ClientId, nonce: &str, now: i64) -> bool;
}

/// Marker: fetched, not verified.
#[derive(Debug)]
pub enum Unverified {}
/// Marker: verified.
#[derive(Debug)]
pub enum Verified {}

/// A request object in state `S`.
#[derive(Debug)]
pub struct PresentationRequest<S> {
    jwt: String,
    claims: Map<String, Value>,
    client_id: ClientId,
    signer: Option<DidUrl>,
    _state: PhantomData<S>,
}

fn str_claim<'a>(c: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    c.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

impl PresentationRequest<Unverified> {
    /// Wraps fetched text.
    pub fn new(jwt: String) -> Self {
        Self {
            jwt: jwt.trim().to_owned(),
            claims: Map::new(),
            client_id: ClientId::new(String::new()),
            signer: None,
            _state: PhantomData,
        }
    }

    /// Verifies everything the wallet checks before the user is asked.
    /// `link_client_id`: from the link; `expected_aud`: `Some(wallet issuer)` for the
    /// organization round, `None` for the self-issued user round (then `aud` must be absent or
    /// [`SELF_ISSUED`]).
    pub async fn verify<C: VerifyContext + ?Sized>(
        self,
        env: &C,
        link_client_id: &ClientId,
        expected_aud: Option<&str>,
    ) -> Result<PresentationRequest<Verified>, Rejection> {
        let now = env.clock().now_unix();
        // 1. Signature by a DID key (no alg none: the JOSE layer accepts only asymmetric algs).
        let (jws, kid) = did::verify_jws(&self.jwt, env.resolver(), now)
            .await
            .map_err(|e| RequestObjectError::Signature(e.to_string()))?;
        let claims = jws
            .claims()
            .map_err(|e| RequestObjectError::Signature(format!("claims: {e}")))?;
        let typ = jws.header_str("typ").unwrap_or_default();
        if !ACCEPTED_TYP.iter().any(|t| t.eq_ignore_ascii_case(typ)) {
            return Err(RequestObjectError::Signature(format!(
                "typ `{}` is not a request object",
                sanitize(typ, 64)
            ))
            .into());
        }
        if let Some(iss) = claims.get("iss") {
            if iss.as_str() != Some(kid.did().as_str()) {
                return Err(
                    RequestObjectError::Signature("iss is not the signer's DID".into()).into(),
                );
            }
        }
        // 2. client_id: equal to the link's, and owner of the signing key.
        let client_id = str_claim(&claims, "client_id").unwrap_or_default();
        if client_id != link_client_id.as_str() {
            return Err(RequestObjectError::ClientIdMismatch {
                claim: sanitize(client_id, 200),
                link: link_client_id.as_str().to_owned(),
            }
            .into());
        }
        let client_url = Url::parse(client_id)
            .ok()
            .filter(|u| u.scheme() == "https")
            .ok_or_else(|| {
                RequestObjectError::EntityStatement("client_id is not an https URL".into())
            })?;
        let key = did::resolve_assertion_key(env.resolver(), &kid)
            .await
            .map_err(|e| RequestObjectError::Signature(e.to_string()))?;
        let statement = fetch_entity_statement(env, &client_url).await?;
        statement
            .owns_key(kid.as_str(), &key)
            .map_err(|e| RequestObjectError::KeyNotInEntityStatement(e.to_string()))?;
        // 3. Audience and time.
        match (claims.get("aud"), expected_aud) {
            (None, None) => {}
            (Some(a), want) => {
                let want = want.unwrap_or(SELF_ISSUED);
                let ok = match a {
                    Value::String(s) => s == want,
                    Value::Array(v) => v.len() == 1 && v[0].as_str() == Some(want),
                    _ => false,
                };
                if !ok {
                    return Err(
                        RequestObjectError::WrongAudience(sanitize(&a.to_string(), 200)).into(),
                    );
                }
            }
            (None, Some(_)) => {
                return Err(RequestObjectError::WrongAudience("(none)".into()).into())
            }
        }
        let num = |n: &str| claims.get(n).and_then(Value::as_i64);
        // `exp` is required and near: a replay store only has to remember a nonce that long.
        let exp = num("exp").ok_or(RequestObjectError::Lifetime("no exp"))?;
        if exp - now > MAX_LIFETIME_SECS + SKEW_SECS
            || num("iat").is_some_and(|i| exp - i > MAX_LIFETIME_SECS)
        {
            return Err(RequestObjectError::Lifetime("valid for too long").into());
        }
        if now >= exp
            || num("iat").is_some_and(|i| i > now + SKEW_SECS || now - i > MAX_LIFETIME_SECS)
            || num("nbf").is_some_and(|i| i > now + SKEW_SECS)
        {
            return Err(RequestObjectError::Expired.into());
        }
        // 4. Where the answer goes (never answered when these fail).
        let mode = str_claim(&claims, "response_mode").unwrap_or_default();
        if mode != "direct_post" {
            return Err(RequestObjectError::ResponseMode(sanitize(mode, 64)).into());
        }
        let response_uri = str_claim(&claims, "response_uri")
            .ok_or_else(|| RequestObjectError::ResponseUri("missing".into()))?;
        let ru = Url::parse(response_uri)
            .map_err(|_| RequestObjectError::ResponseUri("not a URL".into()))?;
        if ru.scheme() != "https" || origin(&ru) != origin(&client_url) {
            return Err(RequestObjectError::ResponseUri(format!(
                "{} is not on {}",
                origin(&ru),
                origin(&client_url)
            ))
            .into());
        }
        let state = str_claim(&claims, "state").ok_or(RequestObjectError::MissingState)?;
        // 5. Errors the verifier may be told about.
        let dispatchable = |e: RequestObjectError| {
            let error = e.oauth_error().unwrap_or("invalid_request").to_owned();
            Rejection {
                dispatch: Some(ErrorDispatch {
                    response_uri: response_uri.to_owned(),
                    state: state.to_owned(),
                    error,
                    error_description: e.to_string(),
                }),
                error: e,
            }
        };
        let scheme = str_claim(&claims, "client_id_scheme").unwrap_or_default();
        if scheme != "entity_id" {
            return Err(dispatchable(RequestObjectError::ClientIdScheme(sanitize(
                scheme, 64,
            ))));
        }
        let rt = str_claim(&claims, "response_type").unwrap_or_default();
        if rt != "vp_token" {
            return Err(dispatchable(RequestObjectError::ResponseType(sanitize(
                rt, 64,
            ))));
        }
        let nonce = str_claim(&claims, "nonce")
            .ok_or_else(|| dispatchable(RequestObjectError::MissingNonce))?;
        if !env.first_use(link_client_id, nonce, now) {
            return Err(RequestObjectError::Replayed.into());
        }
        Ok(PresentationRequest {
            jwt: self.jwt,
            claims,
            client_id: link_client_id.clone(),
            signer: Some(kid),
            _state: PhantomData,
        })
    }
}

impl PresentationRequest<Verified> {
    fn claim(&self, name: &str) -> &str {
        str_claim(&self.claims, name).unwrap_or_default()
    }
    /// Verifier client id (the link's, which the signed claim equals).
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
    /// Verifier DID (the signer's).
    pub fn verifier_did(&self) -> String {
        self.signer
            .as_ref()
            .map(|k| k.did().as_str().to_owned())
            .unwrap_or_default()
    }
    /// Nonce.
    pub fn nonce(&self) -> &str {
        self.claim("nonce")
    }
    /// Verifier state.
    pub fn state(&self) -> &str {
        self.claim("state")
    }
    /// Verified response URI.
    pub fn response_uri(&self) -> &str {
        self.claim("response_uri")
    }
    /// `exp`, when present.
    pub fn expires_at(&self) -> Option<i64> {
        self.claims.get("exp").and_then(Value::as_i64)
    }
    /// A string claim.
    pub fn string_claim(&self, name: &str) -> Option<&str> {
        str_claim(&self.claims, name)
    }
    /// An error answer for this (verified) request.
    pub fn error_dispatch(&self, error: &str, description: &str) -> ErrorDispatch {
        ErrorDispatch {
            response_uri: self.response_uri().to_owned(),
            state: self.state().to_owned(),
            error: error.to_owned(),
            error_description: description.to_owned(),
        }
    }
}

async fn fetch_entity_statement<C: VerifyContext + ?Sized>(
    env: &C,
    client: &Url,
) -> Result<metadata::VerifiedEntityStatement, RequestObjectError> {
    let url = metadata::well_known_url(client, "openid-configuration")
        .map_err(|e| RequestObjectError::EntityStatement(e.to_string()))?;
    let mut req = HttpRequest::get(url, metadata::ENTITY_STATEMENT_CONTENT_TYPE);
    req.max_body_bytes = MAX_JWT_BYTES;
    let resp = env
        .http()
        .execute(req)
        .await
        .map_err(|e| RequestObjectError::EntityStatement(e.to_string()))?;
    if resp.status != 200 {
        return Err(RequestObjectError::EntityStatement(format!(
            "HTTP {}",
            resp.status
        )));
    }
    let text = String::from_utf8(resp.body)
        .map_err(|_| RequestObjectError::EntityStatement("not text".into()))?;
    let st = metadata::verify_entity_statement(text.trim(), env.resolver(), env.clock())
        .await
        .map_err(|e| RequestObjectError::EntityStatement(e.to_string()))?;
    if let Some(iss) = st.claims.get("iss").and_then(Value::as_str) {
        if iss != client.as_str().trim_end_matches('/') && iss != client.as_str() {
            return Err(RequestObjectError::EntityStatement(
                "the statement is not about client_id".into(),
            ));
        }
    }
    Ok(st)
}
