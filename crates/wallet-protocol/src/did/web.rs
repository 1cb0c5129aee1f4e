//! `did:web`: DID ↔ URL mapping and resolution over HTTPS through the injected
//! [`HttpClient`], with a cache, a size cap and the [`NetPolicy`] URL checks.
//!
//! `did:web:zorg.example` → `https://zorg.example/.well-known/did.json`;
//! `did:web:zorg.example%3A8443:iam:abc` → `https://zorg.example:8443/iam/abc/did.json`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use url::Url;

use super::{Did, DidDocument, DidError, DidResolver};
use crate::clock::Clock;
use crate::net::{BoxFuture, HttpClient, HttpRequest, NetError, NetPolicy};

/// Maximum size of a DID document we accept.
pub const MAX_DID_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long a resolved document is cached.
pub const CACHE_TTL_SECS: i64 = 300;
/// Bound on cached documents.
pub const MAX_CACHE_ENTRIES: usize = 1024;

/// Maps a did:web to the URL of its document.
pub fn did_to_url(did: &Did) -> Result<Url, DidError> {
    if did.method() != "web" {
        return Err(DidError::UnsupportedMethod(did.method().to_owned()));
    }
    let mut segments = did.method_specific_id().split(':');
    let host_enc = segments.next().unwrap_or_default();
    let host = percent_decode(host_enc).ok_or_else(|| DidError::InvalidDid(did.to_string()))?;
    // A did:web host is a DNS name with an optional port; IP literals and other characters
    // that a URL would accept (and normalize) could not be mapped back to the same DID.
    if !is_dns_host_and_port(&host) {
        return Err(DidError::InvalidDid(did.to_string()));
    }
    let mut path = String::new();
    let mut any = false;
    for seg in segments {
        let dec = percent_decode(seg).ok_or_else(|| DidError::InvalidDid(did.to_string()))?;
        if dec.is_empty() || dec == "." || dec == ".." || dec.contains(['/', '?', '#', '\\']) {
            return Err(DidError::InvalidDid(did.to_string()));
        }
        path.push('/');
        path.push_str(seg);
        any = true;
    }
    let path = if any {
        format!("{path}/did.json")
    } else {
        "/.well-known/did.json".to_owned()
    };
    let url = Url::parse(&format!("https://{host}{path}"))
        .map_err(|_| DidError::InvalidDid(did.to_string()))?;
    if url.host_str().is_none() || url.path() != path {
        return Err(DidError::InvalidDid(did.to_string()));
    }
    Ok(url)
}

/// `name[:port]` with `name` made of dot-separated labels of ASCII letters, digits and `-`.
fn is_dns_host_and_port(host: &str) -> bool {
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    name.len() <= 253 && name.split('.').all(label_ok) && port_ok
}

/// Maps an HTTPS base URL (scheme, host, optional port and path) to a did:web.
/// `https://zorg.example:8443/iam/abc` → `did:web:zorg.example%3A8443:iam:abc`.
pub fn url_to_did(url: &Url) -> Result<Did, DidError> {
    if url.scheme() != "https" || url.query().is_some() || url.fragment().is_some() {
        return Err(DidError::InvalidDid(url.to_string()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| DidError::InvalidDid(url.to_string()))?;
    let mut did = format!("did:web:{host}");
    if let Some(port) = url.port() {
        did.push_str(&format!("%3A{port}"));
    }
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/did.json").unwrap_or(path);
    let path = path.strip_suffix("/.well-known").unwrap_or(path);
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        did.push(':');
        did.push_str(seg);
    }
    Did::parse(&did)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// did:web resolver with a small TTL cache. Failures are not cached.
pub struct DidWebResolver {
    http: Arc<dyn HttpClient>,
    policy: NetPolicy,
    clock: Arc<dyn Clock>,
    cache: Mutex<HashMap<Did, (DidDocument, i64)>>,
    max_bytes: usize,
}

impl std::fmt::Debug for DidWebResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DidWebResolver")
            .field("policy", &self.policy)
            .finish()
    }
}

impl DidWebResolver {
    /// A resolver using `http`; `policy` is checked on every URL (even with fake clients).
    pub fn new(http: Arc<dyn HttpClient>, policy: NetPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            http,
            policy,
            clock,
            cache: Mutex::new(HashMap::new()),
            max_bytes: MAX_DID_DOCUMENT_BYTES,
        }
    }

    /// Overrides the document size cap.
    pub fn with_max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max;
        self
    }

    /// Drops all cached documents (e.g. after a key-rotation error).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    async fn fetch(&self, did: &Did) -> Result<DidDocument, DidError> {
        let now = self.clock.now_unix();
        if let Ok(cache) = self.cache.lock() {
            if let Some((doc, at)) = cache.get(did) {
                if now - at < CACHE_TTL_SECS && now >= *at {
                    return Ok(doc.clone());
                }
            }
        }
        let url = did_to_url(did)?;
        self.policy.check_url(&url)?;
        tracing::debug!(%did, %url, "resolving did:web");
        let mut req = HttpRequest::get(
            url,
            "application/did+json, application/did+ld+json, application/json",
        );
        req.max_body_bytes = self.max_bytes;
        let resp = self.http.execute(req).await?;
        if resp.body.len() > self.max_bytes {
            return Err(NetError::TooLarge {
                limit: self.max_bytes,
            }
            .into());
        }
        match resp.status {
            200 => {}
            404 | 410 => return Err(DidError::NotFound(did.to_string())),
            s => return Err(DidError::InvalidDocument(format!("HTTP status {s}"))),
        }
        if let Some(ct) = &resp.content_type {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !matches!(
                mime.as_str(),
                "application/did+json" | "application/did+ld+json" | "application/json"
            ) {
                return Err(DidError::InvalidDocument(format!(
                    "unexpected content type {mime}"
                )));
            }
        }
        let value: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| DidError::InvalidDocument(format!("not JSON: {e}")))?;
        let doc = DidDocument::new(did, value)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHE_ENTRIES {
                cache.retain(|_, (_, at)| now - *at < CACHE_TTL_SECS);
                if cache.len() >= MAX_CACHE_ENTRIES {
                    cache.clear();
                }
            }
            cache.insert(did.clone(), (doc.clone(), now));
        }
        Ok(doc)
    }
}

impl DidResolver for DidWebResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<DidDocument, DidError>> {
        Box::pin(self.fetch(did))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(did: &str) -> String {
        did_to_url(&Did::parse(did).unwrap()).unwrap().to_string()
    }

    #[test]
    fn mapping_cases() {
        assert_eq!(
            u("did:web:zorg.example"),
            "https://zorg.example/.well-known/did.json"
        );
        assert_eq!(
            u("did:web:zorg.example:iam:0d6f7c"),
            "https://zorg.example/iam/0d6f7c/did.json"
        );
        assert_eq!(
            u("did:web:zorg.example%3A8443:iam:abc"),
            "https://zorg.example:8443/iam/abc/did.json"
        );
        assert_eq!(
            u("did:web:zorg.example%3A8443:base:path:iam:abc"),
            "https://zorg.example:8443/base/path/iam/abc/did.json"
        );
        assert_eq!(
            u("did:web:localhost%3A3000"),
            "https://localhost:3000/.well-known/did.json"
        );
        // Percent-encoded characters in path segments stay encoded in the URL.
        assert_eq!(
            u("did:web:zorg.example:a%20b"),
            "https://zorg.example/a%20b/did.json"
        );
        for bad in [
            "did:web:zorg.example%2Fevil",
            "did:web:zorg.example:..",
            "did:web:zorg.example:a%2Fb",
            "did:web:user%40zorg.example",
            "did:web:%ZZ",
        ] {
            assert!(did_to_url(&Did::parse(bad).unwrap()).is_err(), "{bad}");
        }
        assert!(did_to_url(&Did::parse("did:jwk:abc").unwrap()).is_err());
    }

    /// Found by the fuzzer: hosts a URL accepts (and normalizes) but that are no DNS name could
    /// not be mapped back to the same DID; they are refused.
    #[test]
    fn hosts_that_are_no_dns_name_are_refused() {
        for bad in [
            "did:web:%5B%3A%3A1%5D",
            "did:web:zorg.example%3dHkiOiJFQyJ9",
            "did:web:zorg.example%3A",
            "did:web:zorg.example%3A84a3",
            "did:web:-zorg.example",
            "did:web:zorg..example",
        ] {
            assert!(did_to_url(&Did::parse(bad).unwrap()).is_err(), "{bad}");
        }
        assert_eq!(
            u("did:web:zorg-1.example%3A8443:iam:x"),
            "https://zorg-1.example:8443/iam/x/did.json"
        );
    }

    #[test]
    fn url_to_did_round_trip() {
        for (url, did) in [
            ("https://zorg.example", "did:web:zorg.example"),
            (
                "https://zorg.example:8443/iam/abc",
                "did:web:zorg.example%3A8443:iam:abc",
            ),
            (
                "https://zorg.example/iam/abc/did.json",
                "did:web:zorg.example:iam:abc",
            ),
        ] {
            let d = url_to_did(&Url::parse(url).unwrap()).unwrap();
            assert_eq!(d.as_str(), did);
        }
        assert!(url_to_did(&Url::parse("http://zorg.example").unwrap()).is_err());
    }
}
