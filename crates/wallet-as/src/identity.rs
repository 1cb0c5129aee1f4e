//! The AS's own identity: subject, issuer URL (= client id), did:web, P-256 key (a PEM file in
//! its config directory, not the wallet vault) and what it publishes with them: the DID
//! document, AS metadata, client metadata and the signed entity statement (docs/protocol.md
//! §9.3, §9.4).

use std::path::Path;

use serde_json::{json, Value};
use url::Url;
use wallet_protocol::did::{self, Did, DidUrl};
use wallet_protocol::jose::{Jwk, SoftwareSigner};
use wallet_protocol::metadata;
use wallet_protocol::signer::Signer;

use crate::error::{AsError, Result};

/// Entity statement lifetime (it is signed per request).
pub const ENTITY_STATEMENT_VALIDITY_SECS: i64 = 3600;

/// The AS identity.
pub struct Identity {
    /// Tenant subject.
    pub subject: String,
    /// Base URL (no trailing slash in [`Identity::base`]).
    pub base_url: Url,
    /// `<base>/oauth2/<subject>`: issuer and client id.
    pub issuer: String,
    /// The did:web.
    pub did: Did,
    /// Key id (DID URL).
    pub kid: DidUrl,
    /// The public key.
    pub jwk: Jwk,
    signer: SoftwareSigner,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Reads the PKCS#8 PEM key at `path`, creating a fresh P-256 key (mode 0600) when missing.
pub fn load_or_create_key(path: &Path) -> Result<Vec<u8>> {
    let pem = if path.exists() {
        std::fs::read_to_string(path)
            .map_err(|e| AsError::Key(format!("{}: {e}", path.display())))?
    } else {
        let key = rcgen::KeyPair::generate().map_err(|e| AsError::Key(e.to_string()))?;
        let pem = key.serialize_pem();
        write_private(path, pem.as_bytes())?;
        tracing::info!(path = %path.display(), "created a new AS key");
        pem
    };
    let key = rcgen::KeyPair::from_pem(&pem)
        .map_err(|e| AsError::Key(format!("{}: {e}", path.display())))?;
    if !key.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256) {
        return Err(AsError::Key(format!(
            "{}: the AS key must be EC P-256",
            path.display()
        )));
    }
    Ok(key.serialize_der())
}

/// Writes a file readable by the owner only.
pub fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = wallet_protocol::private_file::create_owner_only(path)
        .map_err(|e| AsError::Key(format!("{}: {e}", path.display())))?;
    std::io::Write::write_all(&mut f, content)?;
    Ok(())
}

impl Identity {
    /// Builds the identity from the base URL, subject, DID id segment and PKCS#8 key.
    pub fn new(base_url: &Url, subject: &str, did_id: &str, pkcs8_der: &[u8]) -> Result<Self> {
        let base = base_url.as_str().trim_end_matches('/').to_owned();
        let issuer = format!("{base}/oauth2/{subject}");
        let did_url = Url::parse(&format!("{base}/iam/{did_id}"))
            .map_err(|e| AsError::Config(e.to_string()))?;
        let did =
            did::web::url_to_did(&did_url).map_err(|e| AsError::Config(format!("did:web: {e}")))?;
        let mut signer = SoftwareSigner::from_pkcs8_der_es256("pending", pkcs8_der)
            .map_err(|e| AsError::Key(e.to_string()))?;
        let jwk = Jwk::from_map(signer.public_jwk()).map_err(|e| AsError::Key(e.to_string()))?;
        let thumb = jwk
            .thumbprint_sha256()
            .map_err(|e| AsError::Key(e.to_string()))?;
        let kid = did.with_fragment(&thumb);
        signer.set_key_id(kid.as_str());
        Ok(Self {
            subject: subject.to_owned(),
            base_url: base_url.clone(),
            issuer,
            did,
            kid,
            jwk,
            signer,
        })
    }

    /// Base URL without trailing slash.
    pub fn base(&self) -> &str {
        self.base_url.as_str().trim_end_matches('/')
    }

    /// The base URL's path prefix ("" or "/x").
    pub fn base_path(&self) -> String {
        self.base_url.path().trim_end_matches('/').to_owned()
    }

    /// `<issuer>/<rel>`.
    pub fn endpoint(&self, rel: &str) -> String {
        format!("{}/{rel}", self.issuer)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        self.endpoint("token")
    }

    /// Path (on this server) of the DID document.
    pub fn did_document_path(&self) -> Result<String> {
        let url = did::web::did_to_url(&self.did).map_err(|e| AsError::Config(e.to_string()))?;
        Ok(url.path().to_owned())
    }

    /// The signer (JARs, entity statement).
    pub fn signer(&self) -> &dyn Signer {
        &self.signer
    }

    /// The did:web document.
    pub fn did_document(&self) -> Value {
        did::document::build_did_document(&self.did, &self.kid, &self.jwk).unwrap_or(Value::Null)
    }

    /// AS metadata (docs/protocol.md §9.4); `authorization_endpoint` only with the user flow on.
    pub fn metadata(&self, user_flow: bool) -> Value {
        let authz = self.endpoint("authorize");
        let mut m = metadata::authorization_server_metadata(
            &self.issuer,
            user_flow.then_some(authz.as_str()),
            Some(&self.token_endpoint()),
            Some(&self.endpoint("presentation_definition")),
        );
        // Nuts lists every method it resolves; this server resolves web and jwk (and x509
        // from x5c headers).
        m["did_methods_supported"] = json!(["jwk", "x509", "web"]);
        m
    }

    /// OAuth client metadata (`/oauth2/<subject>/oauth-client`).
    pub fn client_metadata(&self) -> Value {
        let mut m = metadata::client_metadata();
        m["software_id"] = json!("nuts-wallet-as");
        m
    }

    /// The signed entity statement, valid from `now` for an hour.
    pub fn entity_statement(&self, now: i64, user_flow: bool) -> Result<String> {
        metadata::build_entity_statement(
            &self.signer,
            &self.issuer,
            self.metadata(user_flow),
            now,
            now + ENTITY_STATEMENT_VALIDITY_SECS,
        )
        .map_err(|e| AsError::Key(e.to_string()))
    }

    /// Signs JWT claims with the AS key (`typ: JWT`, `kid` = DID URL).
    pub fn sign_jwt(&self, claims: &serde_json::Map<String, Value>) -> Option<String> {
        wallet_protocol::jose::sign_jwt(&self.signer, claims).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let a = load_or_create_key(&path).unwrap();
        let b = load_or_create_key(&path).unwrap();
        assert_eq!(a, b);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key file must not be group/world readable");
        }
        let base = Url::parse("https://localhost:8443").unwrap();
        let id = Identity::new(&base, "as", "as", &a).unwrap();
        assert_eq!(id.issuer, "https://localhost:8443/oauth2/as");
        assert_eq!(id.did.as_str(), "did:web:localhost%3A8443:iam:as");
        assert_eq!(id.did_document_path().unwrap(), "/iam/as/did.json");
        assert!(format!("{id:?}").contains("oauth2/as"));
    }

    #[test]
    fn refuses_non_p256_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        std::fs::write(&path, key.serialize_pem()).unwrap();
        assert!(load_or_create_key(&path).is_err());
    }

    #[test]
    fn metadata_has_the_nuts_fields() {
        let der = rcgen::KeyPair::generate().unwrap().serialize_der();
        let base = Url::parse("https://as.example/nuts").unwrap();
        let id = Identity::new(&base, "s", "x", &der).unwrap();
        let m = id.metadata(true);
        assert_eq!(m["issuer"], "https://as.example/nuts/oauth2/s");
        assert_eq!(
            m["authorization_endpoint"],
            "https://as.example/nuts/oauth2/s/authorize"
        );
        assert_eq!(
            m["token_endpoint"],
            "https://as.example/nuts/oauth2/s/token"
        );
        assert_eq!(m["require_signed_request_object"], true);
        assert_eq!(m["client_id_schemes_supported"], json!(["entity_id"]));
        assert!(m["did_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("web")));
        assert_eq!(
            m["vp_formats_supported"]["jwt_vp_json"]["alg_values_supported"][0],
            "ES256"
        );
        assert!(id.metadata(false).get("authorization_endpoint").is_none());
        assert_eq!(id.did_document_path().unwrap(), "/nuts/iam/x/did.json");
    }
}
