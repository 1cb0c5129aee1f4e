//! Authorization server discovery (RFC 8414, well-known path inserted at the root;
//! `docs/protocol.md` §9): the one client that fetches and checks AS metadata, with a small
//! cache whose lifetimes follow the response's `Cache-Control`: `max-age` (capped at one
//! hour), `no-store`/`no-cache` mean "do not reuse"; without the header metadata lives
//! 5 minutes (what a Nuts AS sends). Failures are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::token::ErrorAnswer;
use super::types::AuthorizationServerId;
use crate::net::{HttpClient, HttpRequest, HttpResponse, NetError};

/// Largest metadata / definition document accepted.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest any cached document is reused.
pub const MAX_CACHE_SECS: i64 = 3600;
/// Metadata lifetime without `Cache-Control`.
pub const DEFAULT_METADATA_SECS: i64 = 300;
const MAX_ENTRIES: usize = 256;

/// The AS metadata fields the wallet's two flows use.
#[derive(Debug, Clone, Deserialize)]
pub struct AsMetadata {
    /// Must equal the issuer the metadata was fetched for (RFC 8414 section 3.3).
    pub issuer: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// Where the browser goes (user flow).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Presentation definition endpoint (service-to-service flow).
    #[serde(default)]
    pub presentation_definition_endpoint: Option<String>,
    /// Grant types.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    /// DID methods (Nuts extension).
    #[serde(default)]
    pub did_methods_supported: Option<Vec<String>>,
    /// VP formats (OpenID names), as published.
    #[serde(default)]
    pub vp_formats_supported: Option<Value>,
    /// Older name of the same map.
    #[serde(default)]
    pub vp_formats: Option<Value>,
    /// DPoP algorithms.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Nuts: must include `entity_id` for the user flow.
    #[serde(default)]
    pub client_id_schemes_supported: Option<Vec<String>>,
    /// When `false`, request parameters may also go in the query (the wallet always signs).
    #[serde(default)]
    pub require_signed_request_object: Option<bool>,
}

impl AsMetadata {
    /// `vp_formats_supported`, else `vp_formats`.
    pub fn formats_json(&self) -> Option<&Value> {
        self.vp_formats_supported
            .as_ref()
            .or(self.vp_formats.as_ref())
    }
}

/// Why a discovery document could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The issuer gives no well-known URL.
    #[error("{0}")]
    Issuer(String),
    /// Transport failure.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The server has no such document (404); the answer.
    #[error("no authorization server metadata (HTTP 404)")]
    NotFound(ErrorAnswer),
    /// Another non-200 answer.
    #[error("refused")]
    Refused(ErrorAnswer),
    /// The body is not JSON, or not the expected document; the reason.
    #[error("{0}")]
    Invalid(String),
}

/// The `Cache-Control` lifetime of a response: `None` = do not cache.
pub fn cache_lifetime(resp: &HttpResponse, default_secs: i64) -> Option<i64> {
    let Some(cc) = resp.header("cache-control") else {
        return Some(default_secs);
    };
    let mut max_age = None;
    for part in cc.split(',') {
        let part = part.trim().to_ascii_lowercase();
        if part == "no-store" || part == "no-cache" {
            return None;
        }
        if let Some(v) = part.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    match max_age {
        Some(0) => None,
        Some(s) if s > 0 => Some(s.min(MAX_CACHE_SECS)),
        _ => Some(default_secs),
    }
}

fn is_json(resp: &HttpResponse) -> bool {
    resp.content_type.as_deref().is_none_or(|ct| {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("application/json")
            || mime.to_ascii_lowercase().ends_with("+json")
    })
}

/// GETs a JSON document (at most [`MAX_METADATA_BYTES`]): a 200 answer with a JSON media
/// type (or none), else the error.
pub async fn get_json_document(
    http: &dyn HttpClient,
    url: Url,
) -> Result<HttpResponse, DiscoveryError> {
    let mut req = HttpRequest::get(url, "application/json");
    req.max_body_bytes = MAX_METADATA_BYTES;
    let resp = http.execute(req).await?;
    if resp.status != 200 {
        let answer = ErrorAnswer::of(&resp);
        return Err(match resp.status {
            404 => DiscoveryError::NotFound(answer),
            _ => DiscoveryError::Refused(answer),
        });
    }
    if !is_json(&resp) {
        return Err(DiscoveryError::Invalid("not JSON".into()));
    }
    Ok(resp)
}

/// Fetches the AS metadata of `issuer` and checks what both flows need: the issuer matches
/// and the token endpoint is an https URL. Returns it with its cache lifetime.
pub async fn fetch_metadata(
    http: &dyn HttpClient,
    issuer: &AuthorizationServerId,
) -> Result<(AsMetadata, Option<i64>), DiscoveryError> {
    let url = crate::metadata::well_known_url(issuer.url(), "oauth-authorization-server")
        .map_err(|e| DiscoveryError::Issuer(e.to_string()))?;
    let resp = get_json_document(http, url).await?;
    let bad = |r: &str| DiscoveryError::Invalid(r.to_owned());
    let md: AsMetadata = serde_json::from_slice(&resp.body)
        .map_err(|e| DiscoveryError::Invalid(format!("not valid AS metadata: {e}")))?;
    if md.issuer != issuer.as_str() {
        return Err(bad("issuer in the metadata differs from the requested one"));
    }
    https_endpoint("token_endpoint", &md.token_endpoint)?;
    Ok((md, cache_lifetime(&resp, DEFAULT_METADATA_SECS)))
}

/// Checks that endpoint `name` of the metadata is an https URL.
pub fn https_endpoint(name: &str, value: &str) -> Result<Url, DiscoveryError> {
    let u =
        Url::parse(value).map_err(|_| DiscoveryError::Invalid(format!("{name} is not a URL")))?;
    if u.scheme() != "https" {
        return Err(DiscoveryError::Invalid(format!("{name} is not https")));
    }
    Ok(u)
}

/// A small map of documents with expiry times (Unix seconds).
pub struct TtlCache<T> {
    entries: Mutex<HashMap<String, (Arc<T>, i64)>>,
}

impl<T> Default for TtlCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> TtlCache<T> {
    /// The entry of `key`, if it has not expired.
    pub fn get(&self, key: &str, now: i64) -> Option<Arc<T>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, until)| now < *until)
            .map(|(v, _)| v.clone())
    }

    /// Stores `value` until `until`; makes room by dropping expired (or, if full, all) entries.
    pub fn put(&self, key: String, value: Arc<T>, until: i64, now: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, u)| now < *u);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, until));
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Cached AS metadata.
#[derive(Default)]
pub struct MetadataCache {
    metadata: TtlCache<AsMetadata>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetadataCache")
    }
}

impl MetadataCache {
    /// Forgets everything cached.
    pub fn clear(&self) {
        self.metadata.clear();
    }

    /// The AS metadata, from cache or fetched with [`fetch_metadata`].
    pub async fn metadata(
        &self,
        http: &dyn HttpClient,
        issuer: &AuthorizationServerId,
        now: i64,
    ) -> Result<Arc<AsMetadata>, DiscoveryError> {
        if let Some(m) = self.metadata.get(issuer.as_str(), now) {
            return Ok(m);
        }
        let (md, lifetime) = fetch_metadata(http, issuer).await?;
        let md = Arc::new(md);
        if let Some(secs) = lifetime {
            self.metadata
                .put(issuer.as_str().to_owned(), md.clone(), now + secs, now);
        }
        Ok(md)
    }
}
