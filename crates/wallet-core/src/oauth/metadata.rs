//! Discovery for the service-to-service flow: the AS metadata from the one discovery client
//! (`wallet_protocol::oauth::discovery`, cached) with the checks of this flow, and the
//! presentation definition by scope (`wallet_owner_type=organization`), cached the same way:
//! `Cache-Control` `max-age` (capped at one hour), `no-store`/`no-cache` mean "do not reuse",
//! definitions live 1 minute without the header. Failures are never cached.

use std::sync::Arc;

use url::Url;
use wallet_pex::{FormatDesignations, PresentationDefinition, WalletOwnerType};
use wallet_protocol::net::HttpClient;
pub use wallet_protocol::oauth::discovery::{
    cache_lifetime, AsMetadata, DEFAULT_METADATA_SECS, MAX_CACHE_SECS, MAX_METADATA_BYTES,
};
use wallet_protocol::oauth::discovery::{get_json_document, MetadataCache, TtlCache};

use super::error::{AuthorizationServerError as AsError, Endpoint};
use super::{AuthorizationServerId, Scope};

/// Definition lifetime without `Cache-Control`.
pub const DEFAULT_DEFINITION_SECS: i64 = 60;

/// The VP formats the AS publishes (`vp_formats_supported`, else `vp_formats`, else none).
pub fn formats(md: &AsMetadata) -> Result<FormatDesignations, AsError> {
    match md.formats_json() {
        None => Ok(FormatDesignations::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| AsError::bad(Endpoint::Metadata, format!("not valid AS metadata: {e}"))),
    }
}

/// Cached discovery: AS metadata and presentation definitions.
#[derive(Default)]
pub struct Discovery {
    metadata: MetadataCache,
    definitions: TtlCache<PresentationDefinition>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Discovery")
    }
}

impl Discovery {
    /// Forgets everything cached.
    pub fn clear(&self) {
        self.metadata.clear();
        self.definitions.clear();
    }

    /// The AS metadata (cached), checked for this flow: the `vp_token-bearer` grant when the
    /// AS lists its grants, and readable VP formats.
    pub async fn metadata(
        &self,
        http: &dyn HttpClient,
        issuer: &AuthorizationServerId,
        now: i64,
    ) -> Result<Arc<AsMetadata>, AsError> {
        let md = self
            .metadata
            .metadata(http, issuer, now)
            .await
            .map_err(|e| AsError::from_discovery(Endpoint::Metadata, e))?;
        if let Some(g) = &md.grant_types_supported {
            if !g.iter().any(|g| g == "vp_token-bearer") {
                return Err(AsError::bad(
                    Endpoint::Metadata,
                    "the AS does not support the vp_token-bearer grant",
                ));
            }
        }
        formats(&md)?;
        Ok(md)
    }

    /// The organization presentation definition for `scope` (cached per endpoint and scope).
    pub async fn definition(
        &self,
        http: &dyn HttpClient,
        metadata: &AsMetadata,
        scope: &Scope,
        now: i64,
    ) -> Result<Arc<PresentationDefinition>, AsError> {
        let ep = Endpoint::PresentationDefinition;
        let bad = |endpoint, reason: &str| AsError::bad(endpoint, reason);
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
        let resp = get_json_document(http, url)
            .await
            .map_err(|e| AsError::from_discovery(ep, e))?;
        let text = std::str::from_utf8(&resp.body).map_err(|_| bad(ep, "not UTF-8"))?;
        let pd = PresentationDefinition::parse(text)
            .map_err(|e| bad(ep, &format!("not a usable presentation definition: {e}")))?;
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
    use wallet_protocol::net::HttpResponse;

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
