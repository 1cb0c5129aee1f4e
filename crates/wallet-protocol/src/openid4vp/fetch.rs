//! Fetching what a verifier publishes: the request object (GET, or POST with
//! `wallet_metadata`) and JSON documents (presentation definition, client metadata), each
//! with a size cap.

use serde_json::{json, Value};
use url::Url;

use super::error::{DocumentError, RequestObjectError};
use super::{MAX_DOC_BYTES, MAX_JWT_BYTES};
use crate::net::{HttpClient, HttpRequest, Method, NetError};

/// The media type a request object is served with.
pub const REQUEST_OBJECT_CONTENT_TYPE: &str = "application/oauth-authz-req+jwt";

/// How the request object is fetched (`request_uri_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestObjectFetch<'a> {
    /// `GET request_uri`.
    Get,
    /// `POST request_uri` with `wallet_metadata` naming this `issuer`.
    Post {
        /// `wallet_metadata.issuer`: the organization wallet's client id, or
        /// [`super::SELF_ISSUED`] in the user round.
        issuer: &'a str,
    },
}

/// The `wallet_metadata` this wallet posts when it fetches a request object by POST.
pub fn wallet_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": crate::metadata::WALLET_AUTHORIZATION_ENDPOINT,
        "response_types_supported": ["vp_token"],
        "vp_formats_supported": crate::metadata::vp_formats(),
        "client_id_schemes_supported": ["entity_id"],
    })
}

/// Refuses a `request_uri` that is not `https` on the same origin (scheme, host, port) as
/// `client_id`; checked before anything is fetched.
pub fn check_request_uri_origin(
    client_id: &Url,
    request_uri: &Url,
) -> Result<(), RequestObjectError> {
    let origin = |u: &Url| u.origin().ascii_serialization();
    if request_uri.scheme() != "https" || origin(request_uri) != origin(client_id) {
        return Err(RequestObjectError::RequestUriOrigin(format!(
            "{} is not on {}",
            origin(request_uri),
            origin(client_id)
        )));
    }
    Ok(())
}

/// Fetches the request object text (not verified) from `request_uri`: the URL the wallet
/// link carried, parsed and checked once when the link arrived.
pub async fn fetch_request_object(
    http: &dyn HttpClient,
    request_uri: &Url,
    how: RequestObjectFetch<'_>,
) -> Result<String, RequestObjectError> {
    let mut req = HttpRequest::get(request_uri.clone(), REQUEST_OBJECT_CONTENT_TYPE);
    req.max_body_bytes = MAX_JWT_BYTES;
    if let RequestObjectFetch::Post { issuer } = how {
        let md = wallet_metadata(issuer).to_string();
        req.method = Method::Post;
        req.headers
            .push(("content-type".into(), crate::form::FORM_CONTENT_TYPE.into()));
        req.body = crate::form::encode([("wallet_metadata", md.as_str())]).into_bytes();
    }
    let resp = http.execute(req).await.map_err(|e| match e {
        NetError::Refused(_) | NetError::Config(_) => {
            RequestObjectError::AddressRefused(e.to_string())
        }
        other => RequestObjectError::Fetch(other.to_string()),
    })?;
    if resp.status != 200 {
        return Err(RequestObjectError::Fetch(format!("HTTP {}", resp.status)));
    }
    String::from_utf8(resp.body).map_err(|_| RequestObjectError::Fetch("not text".into()))
}

/// Fetches a JSON document over https, at most [`MAX_DOC_BYTES`].
pub async fn fetch_json(http: &dyn HttpClient, uri: &str) -> Result<Value, DocumentError> {
    let url = Url::parse(uri).map_err(|_| DocumentError::NotUrl)?;
    if url.scheme() != "https" {
        return Err(DocumentError::NotHttps);
    }
    let mut req = HttpRequest::get(url, "application/json");
    req.max_body_bytes = MAX_DOC_BYTES;
    let resp = http
        .execute(req)
        .await
        .map_err(|e| DocumentError::Net(e.to_string()))?;
    if resp.status != 200 {
        return Err(DocumentError::Status(resp.status));
    }
    serde_json::from_slice(&resp.body).map_err(|_| DocumentError::NotJson)
}
