//! The holder's answers, posted to the verified `response_uri` (`direct_post`): a
//! presentation ([`AuthorizationResponse`]) or an error ([`ErrorDispatch`], `state` in the
//! query as Nuts expects it). The verifier answers with JSON naming where the browser goes.

use serde_json::Value;
use url::Url;

use super::error::{ErrorDispatch, ResponseError};
use super::MAX_DOC_BYTES;
use crate::net::HttpClient;

/// A presentation answer.
#[derive(Clone)]
pub struct AuthorizationResponse<'a> {
    /// The signed VP (JWT, or JSON-LD text).
    pub vp_token: &'a str,
    /// The presentation submission (JSON text).
    pub presentation_submission: &'a str,
    /// The verifier's `state`.
    pub state: &'a str,
}

impl std::fmt::Debug for AuthorizationResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .field("vp_token", &"[redacted]")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl AuthorizationResponse<'_> {
    /// The form body.
    pub fn form(&self) -> String {
        crate::form::encode([
            ("vp_token", self.vp_token),
            ("presentation_submission", self.presentation_submission),
            ("state", self.state),
        ])
    }
}

/// Posts a presentation to `response_uri`; returns the verifier's `redirect_uri`.
pub async fn post_response(
    http: &dyn HttpClient,
    response_uri: &str,
    response: &AuthorizationResponse<'_>,
) -> Result<String, ResponseError> {
    let url =
        Url::parse(response_uri).map_err(|_| ResponseError::BadResponse("response_uri".into()))?;
    post_direct(http, url, response.form()).await
}

/// Posts an error to the verified `response_uri` (with `state` in the query); returns the
/// verifier's `redirect_uri`.
pub async fn post_error(http: &dyn HttpClient, d: &ErrorDispatch) -> Result<String, ResponseError> {
    let mut url = Url::parse(&d.response_uri)
        .map_err(|_| ResponseError::BadResponse("response_uri is not a URL".into()))?;
    url.query_pairs_mut().append_pair("state", &d.state);
    let body = crate::form::encode([
        ("error", d.error.as_str()),
        ("error_description", d.error_description.as_str()),
    ]);
    post_direct(http, url, body).await
}

/// One `direct_post`: form body in, `redirect_uri` of the JSON answer out.
async fn post_direct(
    http: &dyn HttpClient,
    url: Url,
    body: String,
) -> Result<String, ResponseError> {
    let req = crate::form::post(url, body.into_bytes(), MAX_DOC_BYTES);
    let resp = http
        .execute(req)
        .await
        .map_err(|e| ResponseError::Unreachable(e.to_string()))?;
    if resp.status != 200 {
        return Err(ResponseError::Refused {
            status: resp.status,
            redirect_uri: resp.header("location").map(str::to_owned),
        });
    }
    let v: Value = serde_json::from_slice(&resp.body)
        .map_err(|_| ResponseError::BadResponse("not JSON".into()))?;
    v.get("redirect_uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ResponseError::BadResponse("no redirect_uri".into()))
}

/// The issuer id of a (normalized) credential: `issuer` as a string, or `issuer.id`; empty
/// when neither (shown and recorded, never trusted).
pub fn credential_issuer(normalized: &Value) -> String {
    match normalized.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}
