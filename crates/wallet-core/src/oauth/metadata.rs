//! AS metadata discovery (RFC 8414, well-known path inserted at the root: Nuts 0.1) and
//! presentation definitions by scope (RFC021 PD endpoint, `wallet_owner_type=organization`),
//! each with a small HTTP cache.
//!
//! Cache lifetimes follow the response's `Cache-Control`: `max-age` (capped at one hour),
//! `no-store`/`no-cache` mean "do not reuse"; without the header metadata lives 5 minutes
//! (what a Nuts AS sends) and definitions 1 minute. Failures are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use url::Url;
use wallet_pex::{FormatDesignations, PresentationDefinition, WalletOwnerType};
use wallet_protocol::net::{HttpClient, HttpRequest, HttpResponse};

use super::error::{Endpoint, OAuthErrorCode, OAuthErrorResponse, S2sError};
use super::{AuthorizationServerId, Scope};

/// Largest metadata / definition document accepted.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// Longest any cached document is reused.
pub const MAX_CACHE_SECS: i64 = 3600;
/// Metadata lifetime without `Cache-Control`.
pub const DEFAULT_METADATA_SECS: i64 = 300;
/// Definition lifetime without `Cache-Control`.
pub const DEFAULT_DEFINITION_SECS: i64 = 60;
const MAX_ENTRIES: usize = 256;

/// What the client uses of the AS metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct AsMetadata {
    /// Must equal the issuer the metadata was fetched for (RFC 8414 section 3.3).
    pub issuer: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// RFC021 presentation definition endpoint.
    pub presentation_definition_endpoint: Option<String>,
    /// Grant types (when present must include `vp_token-bearer`).
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    /// DID methods (Nuts extension, mandatory for Nuts clients: G.1).
    #[serde(default)]
    pub did_methods_supported: Option<Vec<String>>,
    /// VP formats (OpenID names).
    #[serde(default)]
    pub vp_formats_supported: Option<FormatDesignations>,
    /// Older name of the same map.
    #[serde(default)]
    pub vp_formats: Option<FormatDesignations>,
    /// DPoP algorithms.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

impl AsMetadata {
    /// `vp_formats_supported`, else `vp_formats`, else empty.
    pub fn formats(&self) -> FormatDesignations {
        self.vp_formats_supported
            .clone()
            .or_else(|| self.vp_formats.clone())
            .unwrap_or_default()
    }
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

struct Cache<T> {
    entries: Mutex<HashMap<String, (Arc<T>, i64)>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Cache<T> {
    fn get(&self, key: &str, now: i64) -> Option<Arc<T>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, until)| now < *until)
            .map(|(v, _)| v.clone())
    }

    fn put(&self, key: String, value: Arc<T>, until: i64, now: i64) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, u)| now < *u);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (value, until));
    }

    fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Cached discovery: AS metadata and presentation definitions.
#[derive(Default)]
pub struct Discovery {
    metadata: Cache<AsMetadata>,
    definitions: Cache<PresentationDefinition>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Discovery")
    }
}

fn is_json(resp: &HttpResponse) -> bool {
    resp.content_type.as_deref().is_none_or(|ct| {
        let mime = ct.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("application/json")
            || mime.to_ascii_lowercase().ends_with("+json")
    })
}

fn bad(endpoint: Endpoint, reason: impl Into<String>) -> S2sError {
    S2sError::BadResponse {
        endpoint,
        reason: reason.into(),
    }
}

/// Turns a non-2xx answer into a typed error.
pub(crate) fn error_from_response(endpoint: Endpoint, resp: &HttpResponse) -> S2sError {
    match OAuthErrorResponse::parse(&resp.body) {
        Some(r) if r.error == OAuthErrorCode::InvalidScope => S2sError::UnknownScope(
            r.error_description
                .unwrap_or_else(|| "invalid_scope".into()),
        ),
        Some(response) => S2sError::Remote {
            endpoint,
            status: resp.status,
            response,
        },
        None => bad(
            endpoint,
            format!("HTTP status {} without an OAuth error body", resp.status),
        ),
    }
}

impl Discovery {
    /// Forgets everything cached.
    pub fn clear(&self) {
        self.metadata.clear();
        self.definitions.clear();
    }

    /// The AS metadata, from cache or fetched from the RFC 8414 well-known URL.
    pub async fn metadata(
        &self,
        http: &dyn HttpClient,
        issuer: &AuthorizationServerId,
        now: i64,
    ) -> Result<Arc<AsMetadata>, S2sError> {
        if let Some(m) = self.metadata.get(issuer.as_str(), now) {
            return Ok(m);
        }
        let ep = Endpoint::Metadata;
        let url =
            wallet_protocol::metadata::well_known_url(issuer.url(), "oauth-authorization-server")
                .map_err(|e| S2sError::InvalidRequest(e.to_string()))?;
        let mut req = HttpRequest::get(url, "application/json");
        req.max_body_bytes = MAX_METADATA_BYTES;
        let resp = http
            .execute(req)
            .await
            .map_err(|e| S2sError::from_net(ep, e))?;
        if resp.status != 200 {
            return Err(match resp.status {
                404 => bad(ep, "no authorization server metadata (HTTP 404)"),
                _ => error_from_response(ep, &resp),
            });
        }
        if !is_json(&resp) {
            return Err(bad(ep, "not JSON"));
        }
        let md: AsMetadata = serde_json::from_slice(&resp.body)
            .map_err(|e| bad(ep, format!("not valid AS metadata: {e}")))?;
        if md.issuer != issuer.as_str() {
            return Err(bad(
                ep,
                "issuer in the metadata differs from the requested one",
            ));
        }
        let token =
            Url::parse(&md.token_endpoint).map_err(|_| bad(ep, "token_endpoint is not a URL"))?;
        if token.scheme() != "https" {
            return Err(bad(ep, "token_endpoint is not https"));
        }
        if let Some(g) = &md.grant_types_supported {
            if !g.iter().any(|g| g == "vp_token-bearer") {
                return Err(bad(ep, "the AS does not support the vp_token-bearer grant"));
            }
        }
        let md = Arc::new(md);
        if let Some(secs) = cache_lifetime(&resp, DEFAULT_METADATA_SECS) {
            self.metadata
                .put(issuer.as_str().to_owned(), md.clone(), now + secs, now);
        }
        Ok(md)
    }

    /// The organization presentation definition for `scope` (cached per endpoint and scope).
    pub async fn definition(
        &self,
        http: &dyn HttpClient,
        metadata: &AsMetadata,
        scope: &Scope,
        now: i64,
    ) -> Result<Arc<PresentationDefinition>, S2sError> {
        let ep = Endpoint::PresentationDefinition;
        let endpoint = metadata
            .presentation_definition_endpoint
            .as_deref()
            .ok_or_else(|| bad(Endpoint::Metadata, "no presentation_definition_endpoint"))?;
        let mut url = Url::parse(endpoint).map_err(|_| {
            bad(
                Endpoint::Metadata,
                "presentation_definition_endpoint is not a URL",
            )
        })?;
        url.query_pairs_mut()
            .append_pair("scope", scope.as_str())
            .append_pair("wallet_owner_type", WalletOwnerType::Organization.as_str());
        let key = url.to_string();
        if let Some(d) = self.definitions.get(&key, now) {
            return Ok(d);
        }
        let mut req = HttpRequest::get(url, "application/json");
        req.max_body_bytes = MAX_METADATA_BYTES;
        let resp = http
            .execute(req)
            .await
            .map_err(|e| S2sError::from_net(ep, e))?;
        if resp.status != 200 {
            return Err(error_from_response(ep, &resp));
        }
        if !is_json(&resp) {
            return Err(bad(ep, "not JSON"));
        }
        let text = std::str::from_utf8(&resp.body).map_err(|_| bad(ep, "not UTF-8"))?;
        let pd = PresentationDefinition::parse(text)
            .map_err(|e| bad(ep, format!("not a usable presentation definition: {e}")))?;
        let pd = Arc::new(pd);
        if let Some(secs) = cache_lifetime(&resp, DEFAULT_DEFINITION_SECS) {
            self.definitions.put(key, pd.clone(), now + secs, now);
        }
        Ok(pd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(cc: Option<&str>) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: Some("application/json".into()),
            body: Vec::new(),
            headers: cc
                .map(|c| vec![("cache-control".to_owned(), c.to_owned())])
                .unwrap_or_default(),
        }
    }

    #[test]
    fn cache_control_lifetimes() {
        assert_eq!(cache_lifetime(&resp(None), 300), Some(300));
        assert_eq!(cache_lifetime(&resp(Some("max-age=120")), 300), Some(120));
        assert_eq!(
            cache_lifetime(&resp(Some("public, max-age=999999")), 300),
            Some(MAX_CACHE_SECS)
        );
        assert_eq!(cache_lifetime(&resp(Some("no-cache")), 300), None);
        assert_eq!(cache_lifetime(&resp(Some("max-age=0")), 300), None);
        assert_eq!(cache_lifetime(&resp(Some("private")), 60), Some(60));
    }
}
