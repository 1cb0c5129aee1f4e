//! DIDs: identifiers ([`Did`], [`DidUrl`]), DID documents, the injected [`DidResolver`],
//! and the methods the wallet needs: `did:web` ([`web`]), `did:jwk` ([`jwk`]) and
//! `did:x509` ([`x509`], resolved from an `x5c` chain, so not through [`DidResolver`]).
//!
//! Key lookup for signatures always goes through `assertionMethod` (Nuts uses that
//! relationship for VCs, VPs, JARs and entity statements).

pub mod document;
pub mod jwk;
pub mod web;
pub mod x509;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::jose::{JoseError, Jwk};
use crate::net::{BoxFuture, NetError};

/// A DID (`did:<method>:<method-specific-id>`), without fragment, query or path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Did(String);

impl Did {
    /// Validates the generic DID syntax (method lowercase alnum, non-empty id, no `#`/`?`).
    pub fn parse(s: &str) -> Result<Self, DidError> {
        let rest = s
            .strip_prefix("did:")
            .ok_or_else(|| DidError::InvalidDid(s.to_owned()))?;
        let (method, id) = rest
            .split_once(':')
            .ok_or_else(|| DidError::InvalidDid(s.to_owned()))?;
        let method_ok = !method.is_empty()
            && method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        // did:jwk from Nuts uses standard base64, so '+', '/' and '=' are tolerated there.
        let lenient = method == "jwk";
        let id_ok = !id.is_empty()
            && !id.ends_with(':')
            && id.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'.' | b'-' | b'_' | b':' | b'%')
                    || (lenient && matches!(b, b'+' | b'/' | b'='))
            });
        if !method_ok || !id_ok {
            return Err(DidError::InvalidDid(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The DID string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method name (`web`, `jwk`, ...).
    pub fn method(&self) -> &str {
        self.0[4..].split(':').next().unwrap_or_default()
    }

    /// The method-specific identifier.
    pub fn method_specific_id(&self) -> &str {
        let rest = &self.0[4..];
        rest.split_once(':').map(|(_, id)| id).unwrap_or_default()
    }

    /// `<did>#<fragment>`.
    pub fn with_fragment(&self, fragment: &str) -> DidUrl {
        DidUrl(format!("{}#{fragment}", self.0))
    }
}

impl std::fmt::Display for Did {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Did {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Did::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A DID URL with a fragment (a key id, `kid`): `did:web:host#key-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct DidUrl(String);

impl DidUrl {
    /// Parses `<did>#<fragment>`; path and query are not supported.
    pub fn parse(s: &str) -> Result<Self, DidError> {
        let (did, frag) = s
            .split_once('#')
            .ok_or_else(|| DidError::InvalidDidUrl(s.to_owned()))?;
        if frag.is_empty() || did.contains(['?', '/']) {
            return Err(DidError::InvalidDidUrl(s.to_owned()));
        }
        Did::parse(did).map_err(|_| DidError::InvalidDidUrl(s.to_owned()))?;
        Ok(Self(s.to_owned()))
    }

    /// The DID part.
    pub fn did(&self) -> Did {
        Did(self
            .0
            .split_once('#')
            .map(|(d, _)| d)
            .unwrap_or(&self.0)
            .to_owned())
    }

    /// The fragment (without `#`).
    pub fn fragment(&self) -> &str {
        self.0.split_once('#').map(|(_, f)| f).unwrap_or_default()
    }

    /// The string form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for DidUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DidUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for DidUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// DID errors.
#[derive(Debug, thiserror::Error)]
pub enum DidError {
    /// Not a DID.
    #[error("invalid DID '{0}'")]
    InvalidDid(String),
    /// Not a DID URL with fragment.
    #[error("invalid DID URL '{0}'")]
    InvalidDidUrl(String),
    /// No resolver for this method.
    #[error("DID method '{0}' is not supported")]
    UnsupportedMethod(String),
    /// The DID does not exist / was not found (HTTP 404 etc.).
    #[error("DID not found: {0}")]
    NotFound(String),
    /// The DID document is invalid (bad JSON, wrong id, ...).
    #[error("invalid DID document: {0}")]
    InvalidDocument(String),
    /// The referenced key is not an assertionMethod of the DID.
    #[error("key '{0}' is not an assertionMethod of its DID")]
    KeyNotFound(String),
    /// Network failure or policy refusal while resolving.
    #[error("DID resolution failed: {0}")]
    Net(#[from] NetError),
    /// Key material problem.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// did:x509 chain or policy failure.
    #[error("did:x509 validation failed: {0}")]
    X509(String),
}

/// A resolved DID document (kept as JSON, with typed accessors).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct DidDocument(Value);

impl DidDocument {
    /// Wraps a document after checking that it is an object whose `id` equals `did`.
    pub fn new(did: &Did, value: Value) -> Result<Self, DidError> {
        let id = value.get("id").and_then(Value::as_str);
        if id != Some(did.as_str()) {
            return Err(DidError::InvalidDocument(format!(
                "document id {:?} does not match the DID",
                id.unwrap_or("<missing>")
            )));
        }
        Ok(Self(value))
    }

    /// The JSON.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// The document id.
    pub fn id(&self) -> &str {
        self.0.get("id").and_then(Value::as_str).unwrap_or_default()
    }

    fn absolute(&self, reference: &str) -> String {
        if reference.starts_with('#') {
            format!("{}{reference}", self.id())
        } else {
            reference.to_owned()
        }
    }

    /// The verification method with `id` (absolute or `#frag`), embedded or top-level.
    fn find_method(&self, id: &str) -> Option<&Value> {
        let want = self.absolute(id);
        let matches = |v: &Value| {
            v.get("id")
                .and_then(Value::as_str)
                .map(|i| self.absolute(i))
                == Some(want.clone())
        };
        if let Some(vms) = self.0.get("verificationMethod").and_then(Value::as_array) {
            if let Some(vm) = vms.iter().find(|v| matches(v)) {
                return Some(vm);
            }
        }
        self.0
            .get("assertionMethod")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|v| v.is_object() && matches(v)))
    }

    /// Ids of the `assertionMethod` relationship, absolute.
    pub fn assertion_method_ids(&self) -> Vec<String> {
        self.0
            .get("assertionMethod")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().or_else(|| v.get("id").and_then(Value::as_str)))
                    .map(|s| self.absolute(s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The public key of `kid`, which must be listed under `assertionMethod`.
    pub fn assertion_key(&self, kid: &DidUrl) -> Result<Jwk, DidError> {
        if !self
            .assertion_method_ids()
            .iter()
            .any(|i| i == kid.as_str())
        {
            return Err(DidError::KeyNotFound(kid.to_string()));
        }
        let vm = self
            .find_method(kid.as_str())
            .ok_or_else(|| DidError::KeyNotFound(kid.to_string()))?;
        let jwk = vm.get("publicKeyJwk").ok_or_else(|| {
            DidError::InvalidDocument("verification method without publicKeyJwk".into())
        })?;
        Ok(Jwk::from_value(jwk)?)
    }

    /// The first `assertionMethod` key id, if any.
    pub fn first_assertion_method(&self) -> Option<DidUrl> {
        self.assertion_method_ids()
            .into_iter()
            .find_map(|s| DidUrl::parse(&s).ok())
    }
}

/// Resolves DIDs to documents. Implementations: [`web::DidWebResolver`],
/// [`jwk::DidJwkResolver`], [`StaticDidResolver`], and [`UniversalResolver`] which dispatches.
pub trait DidResolver: Send + Sync {
    /// Resolves `did`; the document's `id` must equal `did`.
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<DidDocument, DidError>>;
}

/// Resolves `kid` (a DID URL) to its assertion key.
pub async fn resolve_assertion_key(
    resolver: &dyn DidResolver,
    kid: &DidUrl,
) -> Result<Jwk, DidError> {
    let doc = resolver.resolve(&kid.did()).await?;
    doc.assertion_key(kid)
}

/// Verifies a compact JWS whose `kid` header is a DID URL: the key must be an
/// `assertionMethod` of that DID (did:x509 keys come from the `x5c` header). Used for JARs,
/// entity statements and anything else "signed by a DID". Returns the JWS and the signer.
pub async fn verify_jws(
    token: &str,
    resolver: &dyn DidResolver,
    now: i64,
) -> Result<(crate::jose::CompactJws, DidUrl), DidError> {
    let jws = crate::jose::CompactJws::parse(token)?;
    let kid = jws
        .header_str("kid")
        .ok_or_else(|| DidError::InvalidDidUrl("JWS has no kid".into()))?;
    let kid = DidUrl::parse(kid)?;
    let key = resolve_jws_key(&jws, &kid, resolver, now).await?;
    jws.verify_with(&key)?;
    Ok((jws, kid))
}

/// The assertion key `kid` names for verifying `jws`: from the JWS's own `x5c` chain for
/// did:x509, through `resolver` for every other method.
pub async fn resolve_jws_key(
    jws: &crate::jose::CompactJws,
    kid: &DidUrl,
    resolver: &dyn DidResolver,
    now: i64,
) -> Result<Jwk, DidError> {
    let did = kid.did();
    if did.method() == "x509" {
        return x509::resolve_with_x5c(&did, &jws.header_x5c(), now)?.assertion_key(kid);
    }
    resolve_assertion_key(resolver, kid).await
}

/// Fixed documents (tests, pinned partners, `did:nuts` vectors).
#[derive(Debug, Clone, Default)]
pub struct StaticDidResolver {
    docs: HashMap<Did, DidDocument>,
}

impl StaticDidResolver {
    /// Empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document (its `id` names the DID).
    pub fn insert(&mut self, doc: Value) -> Result<(), DidError> {
        let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
        let did = Did::parse(id)?;
        let doc = DidDocument::new(&did, doc)?;
        self.docs.insert(did, doc);
        Ok(())
    }
}

impl DidResolver for StaticDidResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<DidDocument, DidError>> {
        Box::pin(async move {
            if did.method() == "jwk" {
                return jwk::resolve(did);
            }
            self.docs
                .get(did)
                .cloned()
                .ok_or_else(|| DidError::NotFound(did.to_string()))
        })
    }
}

/// Dispatches on the method: `web` over HTTPS, `jwk` locally, anything else refused.
#[derive(Clone)]
pub struct UniversalResolver {
    web: Arc<web::DidWebResolver>,
}

impl std::fmt::Debug for UniversalResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UniversalResolver")
    }
}

impl UniversalResolver {
    /// Uses `web` for did:web.
    pub fn new(web: web::DidWebResolver) -> Self {
        Self { web: Arc::new(web) }
    }

    /// The production setup: reqwest client and did:web cache under `policy`, system clock.
    pub fn from_policy(policy: &crate::net::NetPolicy) -> Result<Self, NetError> {
        let http = crate::net::ReqwestHttpClient::new(policy.clone())?;
        Ok(Self::new(web::DidWebResolver::new(
            Arc::new(http),
            policy.clone(),
            Arc::new(crate::clock::SystemClock),
        )))
    }
}

impl DidResolver for UniversalResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<DidDocument, DidError>> {
        Box::pin(async move {
            match did.method() {
                "web" => self.web.resolve(did).await,
                "jwk" => jwk::resolve(did),
                m => Err(DidError::UnsupportedMethod(m.to_owned())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn universal_resolver_dispatch() {
        let r = UniversalResolver::from_policy(&crate::net::NetPolicy::default()).unwrap();
        let jwk = Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"AA","y":"BB"})).unwrap();
        let did = jwk::create(&jwk).unwrap();
        let doc = futures_ready(r.resolve(&did)).unwrap();
        assert_eq!(doc.id(), did.as_str());
        for other in ["did:key:z6Mk", "did:nuts:abc"] {
            let d = Did::parse(other).unwrap();
            assert!(matches!(
                futures_ready(r.resolve(&d)),
                Err(DidError::UnsupportedMethod(_))
            ));
        }
    }

    fn futures_ready<T>(f: BoxFuture<'_, T>) -> T {
        let mut f = f;
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("resolution should not wait"),
        }
    }

    #[test]
    fn did_syntax() {
        let d = Did::parse("did:web:zorg.example%3A8443:iam:123").unwrap();
        assert_eq!(d.method(), "web");
        assert_eq!(d.method_specific_id(), "zorg.example%3A8443:iam:123");
        for bad in [
            "did:web:",
            "web:x",
            "did::x",
            "did:Web:x",
            "did:web:a#b",
            "did:web:a b",
        ] {
            assert!(Did::parse(bad).is_err(), "{bad}");
        }
        let u = DidUrl::parse("did:web:a.example#key-1").unwrap();
        assert_eq!(u.did().as_str(), "did:web:a.example");
        assert_eq!(u.fragment(), "key-1");
        assert!(DidUrl::parse("did:web:a.example").is_err());
        assert!(DidUrl::parse("key-id").is_err());
        let back: DidUrl = serde_json::from_value(serde_json::to_value(&u).unwrap()).unwrap();
        assert_eq!(back, u);
        assert!(serde_json::from_value::<DidUrl>(json!("nope")).is_err());
        assert!(serde_json::from_value::<Did>(json!("did:web:a.example")).is_ok());
        assert!(serde_json::from_value::<Did>(json!("no-did")).is_err());
    }

    #[test]
    fn assertion_key_lookup_requires_assertion_method() {
        let did = Did::parse("did:web:a.example").unwrap();
        let jwk = json!({"kty":"EC","crv":"P-256","x":"x","y":"y"});
        let doc = DidDocument::new(
            &did,
            json!({
                "id": "did:web:a.example",
                "verificationMethod": [
                    {"id": "#k1", "type": "JsonWebKey2020", "controller": "did:web:a.example", "publicKeyJwk": jwk},
                    {"id": "did:web:a.example#k2", "type": "JsonWebKey2020", "controller": "did:web:a.example", "publicKeyJwk": jwk}
                ],
                "assertionMethod": ["did:web:a.example#k1"],
                "authentication": ["did:web:a.example#k2"]
            }),
        )
        .unwrap();
        assert!(doc
            .assertion_key(&DidUrl::parse("did:web:a.example#k1").unwrap())
            .is_ok());
        assert!(matches!(
            doc.assertion_key(&DidUrl::parse("did:web:a.example#k2").unwrap()),
            Err(DidError::KeyNotFound(_))
        ));
        assert!(DidDocument::new(&did, json!({"id": "did:web:b.example"})).is_err());
    }
}
