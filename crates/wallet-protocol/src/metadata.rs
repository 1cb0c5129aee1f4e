//! What the wallet publishes so a Nuts AS trusts it (docs/protocol.md §9.2, §9.3): OAuth AS
//! metadata, OAuth client metadata, the signed entity statement, and the publication
//! bundle (paths + content types) that also holds the did:web document.
//!
//! The wallet is reached by the AS through its `authorization_endpoint` in the
//! `nuts-wallet:` scheme ([`WALLET_AUTHORIZATION_ENDPOINT`]).

use serde_json::{json, Map, Value};
use url::Url;

use crate::clock::Clock;
use crate::did::{self, Did, DidError, DidResolver, DidUrl};
use crate::jose::{self, CompactJws, JoseError, Jwk, JwsAlgorithm};
use crate::signer::Signer;

/// The wallet's authorization endpoint (deep link handled by the desktop app).
pub const WALLET_AUTHORIZATION_ENDPOINT: &str = "nuts-wallet://authorize";
/// Entity statement skew on `iat`/`exp` (what a Nuts node allows).
pub const ENTITY_STATEMENT_SKEW_SECS: i64 = 5;
/// Default entity statement lifetime: it is published as a static file, so it must outlive
/// the time between re-publications. Re-publish after any key change.
pub const ENTITY_STATEMENT_DEFAULT_VALIDITY_SECS: i64 = 365 * 24 * 3600;
/// Media type of the entity statement.
pub const ENTITY_STATEMENT_CONTENT_TYPE: &str = "application/entity-statement+jwt";

/// Metadata errors.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Bad input or statement shape.
    #[error("invalid metadata: {0}")]
    Invalid(String),
    /// The signer key is not in the statement's `jwks`, or differs.
    #[error("entity statement: {0}")]
    KeyMismatch(String),
    /// Outside `iat`/`exp`.
    #[error("entity statement is not valid now")]
    Expired,
    /// Signature problem.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// DID problem.
    #[error(transparent)]
    Did(#[from] DidError),
}

/// Inserts `/.well-known/<name>` between host and path (RFC 8414 section 3).
pub fn well_known_url(issuer: &Url, name: &str) -> Result<Url, MetadataError> {
    let mut u = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    u.set_path(&format!("/.well-known/{name}{path}"));
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

/// The `vp_formats` map Nuts advertises.
pub fn vp_formats() -> Value {
    let algs = JwsAlgorithm::all_names();
    json!({
        "jwt_vp_json": {"alg_values_supported": algs},
        "jwt_vc_json": {"alg_values_supported": algs},
        "ldp_vc": {"proof_type_values_supported": ["JsonWebSignature2020"]},
        "ldp_vp": {"proof_type_values_supported": ["JsonWebSignature2020"]},
    })
}

/// An organization's published identity.
#[derive(Debug, Clone)]
pub struct OrgIdentity {
    /// Tenant subject (path segment of the client id).
    pub subject: String,
    /// Public base URL, e.g. `https://zorg.example[:port][/path]`.
    pub base_url: Url,
    /// The organization's did:web.
    pub did: Did,
    /// Its assertion key id.
    pub kid: DidUrl,
    /// Its public key.
    pub public_jwk: Jwk,
}

impl OrgIdentity {
    /// `<base-url>/oauth2/<subject>`: OAuth client id and issuer.
    pub fn client_id(&self) -> Result<Url, MetadataError> {
        if self.subject.is_empty() || self.subject.contains(['/', '?', '#']) {
            return Err(MetadataError::Invalid(
                "subject must be a single path segment".into(),
            ));
        }
        let base = self.base_url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/oauth2/{}", self.subject))
            .map_err(|e| MetadataError::Invalid(e.to_string()))
    }
}

/// The default organization DID for a base URL, as a Nuts node makes them:
/// `did:web:<host>[%3A<port>][:<base path segments>]:iam:<uuid>`.
pub fn default_org_did(base_url: &Url) -> Result<Did, MetadataError> {
    let mut u = base_url.clone();
    let path = base_url.path().trim_end_matches('/');
    u.set_path(&format!("{path}/iam/{}", uuid::Uuid::new_v4()));
    Ok(did::web::url_to_did(&u)?)
}

/// README.txt text for a publication bundle: where each file goes and its content type.
pub fn publication_readme(org: &OrgIdentity, files: &[PublishedFile]) -> String {
    let root = format!(
        "{}://{}",
        org.base_url.scheme(),
        org.base_url.host_str().unwrap_or_default()
    ) + &org
        .base_url
        .port()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let mut out = format!(
        "Nuts Wallet publication bundle for {} ({})\n\n\
         Serve these files over HTTPS with a certificate trusted by the Nuts nodes you talk to.\n\
         Paths are relative to the web server root {root}/. Re-publish after any key change.\n\n",
        org.subject, org.did
    );
    for f in files {
        out.push_str(&format!(
            "{}\n    URL:          {root}/{}\n    Content-Type: {}\n    What:         {}\n\n",
            f.path, f.path, f.content_type, f.description
        ));
    }
    out
}

/// AS metadata (the shape a Nuts node serves, docs/protocol.md §9.2) for `issuer`. Endpoints
/// that are `None` are omitted.
pub fn authorization_server_metadata(
    issuer: &str,
    authorization_endpoint: Option<&str>,
    token_endpoint: Option<&str>,
    presentation_definition_endpoint: Option<&str>,
) -> Value {
    let algs = JwsAlgorithm::all_names();
    let mut m = Map::new();
    m.insert("issuer".into(), json!(issuer));
    if let Some(a) = authorization_endpoint {
        m.insert("authorization_endpoint".into(), json!(a));
    }
    m.insert(
        "response_types_supported".into(),
        json!(["code", "vp_token"]),
    );
    m.insert(
        "response_modes_supported".into(),
        json!(["query", "direct_post"]),
    );
    if let Some(t) = token_endpoint {
        m.insert("token_endpoint".into(), json!(t));
    }
    m.insert(
        "grant_types_supported".into(),
        json!(["authorization_code", "vp_token-bearer"]),
    );
    m.insert(
        "pre-authorized_grant_anonymous_access_supported".into(),
        json!(true),
    );
    if let Some(p) = presentation_definition_endpoint {
        m.insert("presentation_definition_endpoint".into(), json!(p));
    }
    m.insert("presentation_definition_uri_supported".into(), json!(true));
    m.insert("vp_formats_supported".into(), vp_formats());
    m.insert("vp_formats".into(), vp_formats());
    m.insert("client_id_schemes_supported".into(), json!(["entity_id"]));
    m.insert(
        "did_methods_supported".into(),
        json!(["jwk", "x509", "web"]),
    );
    m.insert("dpop_signing_alg_values_supported".into(), json!(algs));
    m.insert("require_signed_request_object".into(), json!(true));
    m.insert(
        "request_object_signing_alg_values_supported".into(),
        json!(algs),
    );
    Value::Object(m)
}

/// The wallet's own provider metadata: issuer = client id, authorization endpoint in the
/// `nuts-wallet:` scheme, no token endpoint.
pub fn wallet_provider_metadata(client_id: &str) -> Value {
    authorization_server_metadata(client_id, Some(WALLET_AUTHORIZATION_ENDPOINT), None, None)
}

/// OAuth client metadata (`/oauth2/<subject>/oauth-client`).
pub fn client_metadata() -> Value {
    json!({
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "vp_token-bearer"],
        "response_types": ["code", "vp_token"],
        "software_id": "nuts-wallet",
        "software_version": env!("CARGO_PKG_VERSION"),
        "vp_formats": vp_formats(),
        "client_id_scheme": "entity_id",
    })
}

/// Signs an entity statement (docs/protocol.md §9.3): `iss` = `sub` = client id, `iat`, `exp`,
/// `jwks` with the signer's key (kid = DID URL), `metadata.openid_provider`.
pub fn build_entity_statement(
    signer: &dyn Signer,
    client_id: &str,
    openid_provider: Value,
    iat: i64,
    exp: i64,
) -> Result<String, MetadataError> {
    build_entity_statement_with_keys(signer, &[], client_id, openid_provider, iat, exp)
}

/// [`build_entity_statement`] that also lists `other_keys` in `jwks` (the next or the previous
/// organization key during a rotation); the signer's key comes first.
pub fn build_entity_statement_with_keys(
    signer: &dyn Signer,
    other_keys: &[(DidUrl, Jwk)],
    client_id: &str,
    openid_provider: Value,
    iat: i64,
    exp: i64,
) -> Result<String, MetadataError> {
    let kid = DidUrl::parse(signer.key_id())?;
    if exp <= iat {
        return Err(MetadataError::Invalid("exp must be after iat".into()));
    }
    let mut keys = vec![Jwk::from_map(signer.public_jwk())?
        .minimal()?
        .with_kid(kid.as_str())];
    for (k, jwk) in other_keys {
        if *k == kid {
            continue;
        }
        keys.push(jwk.minimal()?.with_kid(k.as_str()));
    }
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "iat": iat,
        "exp": exp,
        "jwks": {"keys": keys},
        "metadata": {"openid_provider": openid_provider},
    });
    let Value::Object(claims) = claims else {
        unreachable!("json! object")
    };
    Ok(jose::sign_jwt(signer, &claims)?)
}

/// A verified entity statement.
#[derive(Debug, Clone)]
pub struct VerifiedEntityStatement {
    /// Signing key id (DID URL).
    pub kid: DidUrl,
    /// All claims.
    pub claims: Map<String, Value>,
    /// `metadata.openid_provider`.
    pub openid_provider: Map<String, Value>,
}

impl VerifiedEntityStatement {
    /// The JWK in `jwks` with `kid`.
    pub fn jwk(&self, kid: &str) -> Option<Jwk> {
        self.claims
            .get("jwks")?
            .get("keys")?
            .as_array()?
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .and_then(|k| Jwk::from_value(k).ok())
    }

    /// Checks that `kid` with `key` is listed (same RFC 7638 thumbprint): how Nuts binds a
    /// JAR signer to its client id.
    pub fn owns_key(&self, kid: &str, key: &Jwk) -> Result<(), MetadataError> {
        let listed = self.jwk(kid).ok_or_else(|| {
            MetadataError::KeyMismatch("client_id does not own signer key".into())
        })?;
        if listed.thumbprint_sha256()? != key.thumbprint_sha256()? {
            return Err(MetadataError::KeyMismatch(
                "key mismatch between OpenID configuration and signer key".into(),
            ));
        }
        Ok(())
    }
}

/// Verifies an entity statement: `kid` resolved through DID resolution (assertionMethod),
/// signature, `iat`/`exp` with 5 s skew, the signer key listed in `jwks`, and
/// `metadata.openid_provider` present. `iss`/`sub` are returned but not checked (as Nuts).
pub async fn verify_entity_statement(
    token: &str,
    resolver: &dyn DidResolver,
    clock: &dyn Clock,
) -> Result<VerifiedEntityStatement, MetadataError> {
    let jws = CompactJws::parse(token)?;
    let kid = DidUrl::parse(
        jws.header_str("kid")
            .ok_or_else(|| MetadataError::Invalid("no kid".into()))?,
    )?;
    let key = did::resolve_assertion_key(resolver, &kid).await?;
    jws.verify_with(&key)?;
    let claims = jws.claims()?;
    let now = clock.now_unix();
    let iat = claims.get("iat").and_then(Value::as_i64);
    let exp = claims.get("exp").and_then(Value::as_i64);
    if iat.is_some_and(|i| now + ENTITY_STATEMENT_SKEW_SECS < i)
        || exp.is_some_and(|e| now - ENTITY_STATEMENT_SKEW_SECS > e)
    {
        return Err(MetadataError::Expired);
    }
    let openid_provider = claims
        .get("metadata")
        .and_then(|m| m.get("openid_provider"))
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| MetadataError::Invalid("no metadata.openid_provider".into()))?;
    let statement = VerifiedEntityStatement {
        kid: kid.clone(),
        claims,
        openid_provider,
    };
    statement.owns_key(kid.as_str(), &key)?;
    Ok(statement)
}

/// One file of the publication bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedFile {
    /// Path on the web server, relative to its root, without leading `/`.
    pub path: String,
    /// Content type to serve it with.
    pub content_type: &'static str,
    /// What it is (for README.txt).
    pub description: &'static str,
    /// File content.
    pub content: Vec<u8>,
}

/// Builds every file a web server must serve for a Nuts AS to trust this wallet: the
/// did:web document, the signed entity statement, AS metadata and client metadata.
/// The DID's host must be the base URL's host (they are served by the same server).
pub fn publication_bundle(
    signer: &dyn Signer,
    org: &OrgIdentity,
    clock: &dyn Clock,
    validity_secs: i64,
) -> Result<Vec<PublishedFile>, MetadataError> {
    publication_bundle_with_keys(signer, org, &[], clock, validity_secs)
}

/// [`publication_bundle`] with `other_keys` published beside the organization key (in the DID
/// document and the entity statement's `jwks`), so that during a key rotation both the key in
/// use and the next (or the previous) one verify.
pub fn publication_bundle_with_keys(
    signer: &dyn Signer,
    org: &OrgIdentity,
    other_keys: &[(DidUrl, Jwk)],
    clock: &dyn Clock,
    validity_secs: i64,
) -> Result<Vec<PublishedFile>, MetadataError> {
    if signer.key_id() != org.kid.as_str() {
        return Err(MetadataError::KeyMismatch(
            "signer is not the organization key".into(),
        ));
    }
    let did_url = did::web::did_to_url(&org.did)?;
    if did_url.host_str() != org.base_url.host_str()
        || did_url.port_or_known_default() != org.base_url.port_or_known_default()
    {
        return Err(MetadataError::Invalid(
            "did:web host differs from the base URL host".into(),
        ));
    }
    let client_id = org.client_id()?;
    let mut keys = vec![(org.kid.clone(), org.public_jwk.clone())];
    keys.extend(other_keys.iter().filter(|(k, _)| *k != org.kid).cloned());
    let did_doc = did::document::build_did_document_with_keys(&org.did, &keys)?;
    let now = clock.now_unix();
    let provider = wallet_provider_metadata(client_id.as_str());
    let statement = build_entity_statement_with_keys(
        signer,
        other_keys,
        client_id.as_str(),
        provider.clone(),
        now,
        now + validity_secs,
    )?;
    let rel = |u: &Url| u.path().trim_start_matches('/').to_owned();
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    Ok(vec![
        PublishedFile {
            path: rel(&did_url),
            content_type: "application/did+json",
            description: "did:web DID document",
            content: pretty(&did_doc),
        },
        PublishedFile {
            path: rel(&well_known_url(&client_id, "openid-configuration")?),
            content_type: ENTITY_STATEMENT_CONTENT_TYPE,
            description: "signed entity statement (OpenID configuration)",
            content: statement.into_bytes(),
        },
        PublishedFile {
            path: rel(&well_known_url(&client_id, "oauth-authorization-server")?),
            content_type: "application/json",
            description: "OAuth authorization server metadata",
            content: pretty(&provider),
        },
        PublishedFile {
            path: format!("{}/oauth-client", rel(&client_id)),
            content_type: "application/json",
            description: "OAuth client metadata",
            content: pretty(&client_metadata()),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_is_inserted_at_root() {
        let u = Url::parse("https://zorg.example:8443/base/oauth2/acme").unwrap();
        assert_eq!(
            well_known_url(&u, "openid-configuration").unwrap().as_str(),
            "https://zorg.example:8443/.well-known/openid-configuration/base/oauth2/acme"
        );
    }

    #[test]
    fn default_did_and_readme() {
        let base = Url::parse("https://zorg.example:8443/nuts").unwrap();
        let did = default_org_did(&base).unwrap();
        assert!(
            did.as_str()
                .starts_with("did:web:zorg.example%3A8443:nuts:iam:"),
            "{did}"
        );
        let url = crate::did::web::did_to_url(&did).unwrap();
        assert!(url
            .as_str()
            .starts_with("https://zorg.example:8443/nuts/iam/"));
        let org = OrgIdentity {
            subject: "acme".into(),
            base_url: base,
            kid: did.with_fragment("k"),
            did,
            public_jwk: Jwk::from_value(&json!({"kty":"EC","crv":"P-256","x":"AA","y":"BB"}))
                .unwrap(),
        };
        assert_eq!(
            org.client_id().unwrap().as_str(),
            "https://zorg.example:8443/nuts/oauth2/acme"
        );
        let files = vec![PublishedFile {
            path: ".well-known/openid-configuration/nuts/oauth2/acme".into(),
            content_type: ENTITY_STATEMENT_CONTENT_TYPE,
            description: "signed entity statement",
            content: vec![],
        }];
        let readme = publication_readme(&org, &files);
        assert!(readme.contains(
            "https://zorg.example:8443/.well-known/openid-configuration/nuts/oauth2/acme"
        ));
        assert!(readme.contains("application/entity-statement+jwt"));
    }

    #[test]
    fn metadata_shapes() {
        let m = wallet_provider_metadata("https://zorg.example/oauth2/acme");
        assert_eq!(m["authorization_endpoint"], WALLET_AUTHORIZATION_ENDPOINT);
        assert_eq!(m["client_id_schemes_supported"], json!(["entity_id"]));
        assert!(m.get("token_endpoint").is_none());
        assert_eq!(
            m["vp_formats_supported"]["jwt_vp_json"]["alg_values_supported"][0],
            "ES256"
        );
        let c = client_metadata();
        assert_eq!(c["client_id_scheme"], "entity_id");
        assert_eq!(c["token_endpoint_auth_method"], "none");
    }
}
