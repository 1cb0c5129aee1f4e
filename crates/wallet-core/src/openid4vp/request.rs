//! The request object (JAR #2/#3, protocol brief B.4) as a typestate:
//! [`PresentationRequest<Unverified>`] (fetched text) → [`PresentationRequest<Verified>`]
//! (signature by a key of the verifier's DID that its entity statement lists for `client_id`,
//! and every claim check). Only a verified request reaches the consent screen.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Mutex;

use serde_json::{Map, Value};
use url::Url;
use wallet_protocol::did::{self, DidUrl};
use wallet_protocol::metadata;
use wallet_protocol::net::HttpRequest;

use super::error::{ErrorDispatch, Invalid, ResolveError};
use super::HolderEnv;

/// Clock skew allowed on `iat`/`nbf`, seconds.
pub const SKEW_SECS: i64 = 5;
/// How long a handled nonce is remembered (the request object lifetime, B.7), seconds.
pub const REPLAY_WINDOW_SECS: i64 = 900;
/// Largest request object / entity statement accepted.
pub const MAX_JWT_BYTES: usize = 64 * 1024;
/// `wallet_metadata.issuer` of the user wallet (B.1 10b).
pub const SELF_ISSUED: &str = "https://self-issued.me/v2";

/// Marker: fetched, not verified.
#[derive(Debug)]
pub enum Unverified {}
/// Marker: verified.
#[derive(Debug)]
pub enum Verified {}

/// A request object in state `S`.
#[derive(Debug)]
pub struct PresentationRequest<S> {
    pub(crate) jwt: String,
    pub(crate) claims: Map<String, Value>,
    pub(crate) signer: Option<DidUrl>,
    _state: PhantomData<S>,
}

/// Nonces of handled request objects (per verifier), so that a replayed request object is
/// refused even when the verifier would serve it again.
#[derive(Debug, Default)]
pub struct SeenRequests {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl SeenRequests {
    /// Records `(client_id, nonce)`; `false` when it was seen within the window.
    pub fn first_use(&self, client_id: &str, nonce: &str, now: i64) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, until| now < *until);
        if m.len() > 10_000 {
            m.clear();
        }
        m.insert(
            (client_id.to_owned(), nonce.to_owned()),
            now + REPLAY_WINDOW_SECS,
        )
        .is_none()
    }
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
            signer: None,
            _state: PhantomData,
        }
    }

    /// Verifies everything the wallet checks before the user is asked.
    /// `link_client_id`: from the link; `expected_aud`: `Some(wallet issuer)` for the
    /// organization round, `None` for the self-issued user round (then `aud` must be absent or
    /// [`SELF_ISSUED`]).
    pub async fn verify(
        self,
        env: &HolderEnv,
        link_client_id: &str,
        expected_aud: Option<&str>,
    ) -> Result<PresentationRequest<Verified>, Invalid> {
        let now = env.clock.now_unix();
        // 1. Signature by a DID key (no alg none: the JOSE layer accepts only asymmetric algs).
        let (jws, kid) = did::verify_jws(&self.jwt, env.resolver.as_ref(), now)
            .await
            .map_err(|e| ResolveError::Signature(e.to_string()))?;
        let claims = jws
            .claims()
            .map_err(|e| ResolveError::Signature(format!("claims: {e}")))?;
        if let Some(iss) = claims.get("iss") {
            if iss.as_str() != Some(kid.did().as_str()) {
                return Err(ResolveError::Signature("iss is not the signer's DID".into()).into());
            }
        }
        // 2. client_id: equal to the link's, and owner of the signing key.
        let client_id = str_claim(&claims, "client_id").unwrap_or_default();
        if client_id != link_client_id {
            return Err(ResolveError::ClientIdMismatch {
                claim: crate::oauth::error::sanitize(client_id, 200),
                link: link_client_id.to_owned(),
            }
            .into());
        }
        let client_url = Url::parse(client_id)
            .ok()
            .filter(|u| u.scheme() == "https")
            .ok_or_else(|| ResolveError::EntityStatement("client_id is not an https URL".into()))?;
        let key = did::resolve_assertion_key(env.resolver.as_ref(), &kid)
            .await
            .map_err(|e| ResolveError::Signature(e.to_string()))?;
        let statement = fetch_entity_statement(env, &client_url).await?;
        statement
            .owns_key(kid.as_str(), &key)
            .map_err(|e| ResolveError::KeyNotInEntityStatement(e.to_string()))?;
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
                    return Err(ResolveError::WrongAudience(crate::oauth::error::sanitize(
                        &a.to_string(),
                        200,
                    ))
                    .into());
                }
            }
            (None, Some(_)) => return Err(ResolveError::WrongAudience("(none)".into()).into()),
        }
        let num = |n: &str| claims.get(n).and_then(Value::as_i64);
        if num("exp").is_some_and(|e| now >= e)
            || num("iat").is_some_and(|i| i > now + SKEW_SECS)
            || num("nbf").is_some_and(|i| i > now + SKEW_SECS)
        {
            return Err(ResolveError::Expired.into());
        }
        // 4. Where the answer goes (never answered when these fail).
        let mode = str_claim(&claims, "response_mode").unwrap_or_default();
        if mode != "direct_post" {
            return Err(ResolveError::ResponseMode(crate::oauth::error::sanitize(mode, 64)).into());
        }
        let response_uri = str_claim(&claims, "response_uri")
            .ok_or_else(|| ResolveError::ResponseUri("missing".into()))?;
        let ru =
            Url::parse(response_uri).map_err(|_| ResolveError::ResponseUri("not a URL".into()))?;
        if ru.scheme() != "https" || origin(&ru) != origin(&client_url) {
            return Err(ResolveError::ResponseUri(format!(
                "{} is not on {}",
                origin(&ru),
                origin(&client_url)
            ))
            .into());
        }
        let state = str_claim(&claims, "state").ok_or(ResolveError::MissingState)?;
        // 5. Errors the verifier may be told about.
        let dispatchable = |e: ResolveError| {
            let error = e.oauth_error().unwrap_or("invalid_request").to_owned();
            Invalid {
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
            return Err(dispatchable(ResolveError::ClientIdScheme(
                crate::oauth::error::sanitize(scheme, 64),
            )));
        }
        let rt = str_claim(&claims, "response_type").unwrap_or_default();
        if rt != "vp_token" {
            return Err(dispatchable(ResolveError::ResponseType(
                crate::oauth::error::sanitize(rt, 64),
            )));
        }
        let nonce =
            str_claim(&claims, "nonce").ok_or_else(|| dispatchable(ResolveError::MissingNonce))?;
        if !env.seen.first_use(client_id, nonce, now) {
            return Err(ResolveError::Replayed.into());
        }
        Ok(PresentationRequest {
            jwt: self.jwt,
            claims,
            signer: Some(kid),
            _state: PhantomData,
        })
    }
}

impl PresentationRequest<Verified> {
    fn claim(&self, name: &str) -> &str {
        str_claim(&self.claims, name).unwrap_or_default()
    }
    /// Verifier client id.
    pub fn client_id(&self) -> &str {
        self.claim("client_id")
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
}

async fn fetch_entity_statement(
    env: &HolderEnv,
    client: &Url,
) -> Result<metadata::VerifiedEntityStatement, ResolveError> {
    let url = metadata::well_known_url(client, "openid-configuration")
        .map_err(|e| ResolveError::EntityStatement(e.to_string()))?;
    let mut req = HttpRequest::get(url, metadata::ENTITY_STATEMENT_CONTENT_TYPE);
    req.max_body_bytes = MAX_JWT_BYTES;
    let resp = env
        .http
        .execute(req)
        .await
        .map_err(|e| ResolveError::EntityStatement(e.to_string()))?;
    if resp.status != 200 {
        return Err(ResolveError::EntityStatement(format!(
            "HTTP {}",
            resp.status
        )));
    }
    let text = String::from_utf8(resp.body)
        .map_err(|_| ResolveError::EntityStatement("not text".into()))?;
    let st =
        metadata::verify_entity_statement(text.trim(), env.resolver.as_ref(), env.clock.as_ref())
            .await
            .map_err(|e| ResolveError::EntityStatement(e.to_string()))?;
    if let Some(iss) = st.claims.get("iss").and_then(Value::as_str) {
        if iss != client.as_str().trim_end_matches('/') && iss != client.as_str() {
            return Err(ResolveError::EntityStatement(
                "the statement is not about client_id".into(),
            ));
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_verifier_within_the_window() {
        let s = SeenRequests::default();
        assert!(s.first_use("https://a", "n1", 100));
        assert!(!s.first_use("https://a", "n1", 101));
        assert!(s.first_use("https://b", "n1", 101));
        assert!(s.first_use("https://a", "n1", 100 + REPLAY_WINDOW_SECS + 1));
    }
}
