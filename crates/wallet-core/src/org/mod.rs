//! Organization setup and publication (administrator): the organization's signing key, its
//! did:web DID, the OAuth client id / issuer `<base-url>/oauth2/<subject>`, and the
//! publication bundle that the organization's web server must serve.
//!
//! The identity is kept in the vault setting [`SETTING_ORGANIZATION`] (MAC-protected, no
//! secret in it); the private key stays sealed in the vault, or in an HSM (`hsm`), and every
//! organization signature goes through [`organization_signer`]. Every change is an
//! administrator action recorded in the activity log (by the vault: `key.generate`, `key.kid`,
//! `setting.change`; here: `org.publish`, `org.key.*`).
//!
//! ```text
//! init_organization(vault, admin, OrgSetup{subject, base_url, did})  -> OrgInfo
//! init_organization_with_key(.., NewKeyLocation::Pkcs11(uri))        -> OrgInfo
//! organization(vault) -> Option<OrgInfo>        publish(vault, admin, dir, clock) -> PublishReport
//! rotate_key / activate_key / retire_key / verify_live          (keys.rs)
//! ```
//!
//! This module also holds [`IdentityError`], the error of the organization, credential and
//! roster use cases ([`crate::credentials`], [`crate::roster`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;
use wallet_protocol::did::{self, Did, DidUrl};
use wallet_protocol::jose::Jwk;
use wallet_protocol::metadata::{self, OrgIdentity};
use wallet_protocol::Clock;
use wallet_vault::{Actor, AdminSession, NewActivity, Vault, VaultError};

mod hsm;
mod keys;

pub(crate) use hsm::pin_for as hsm_pin_for;
pub use hsm::{check as check_hsm_key, provide_pin, remember_pin_in_keyring, HsmSigner};
pub use keys::{
    activate_key, organization_signer, retire_key, rotate_key, verify_live, KeyRole, KeyStoreKind,
    LiveCheck, LiveKey, NewKeyLocation, OrgKey, OrgSigner,
};
pub use wallet_pkcs11::{Pkcs11Error, Pkcs11Uri};

/// Vault setting that holds the organization identity ([`OrgInfo`] as JSON).
pub const SETTING_ORGANIZATION: &str = "organization";
/// Key purpose of the organization signing key in the vault.
pub const ORG_KEY_PURPOSE: &str = "organization";

/// Errors of the organization, credential and roster use cases. Messages name what is wrong
/// and never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The vault refused or failed (locked, administrator required, not found, ...).
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// No organization identity yet.
    #[error("no organization is set up yet (run `nuts-wallet org init`)")]
    NoOrganization,
    /// `org init` on a vault that has an organization already.
    #[error("the organization is already set up as {0}")]
    OrganizationExists(String),
    /// Bad input from the user (subject, URL, DID, validity, ...).
    #[error("{0}")]
    InvalidInput(String),
    /// A credential import was refused; the reason says why.
    #[error("credential refused: {0}")]
    Refused(String),
    /// The same credential (by its id) is stored already.
    #[error("this credential is already stored (as {0})")]
    Duplicate(String),
    /// The roster entry is deactivated.
    #[error("employee {0} is deactivated")]
    EmployeeInactive(String),
    /// Building or signing protocol data failed.
    #[error("{0}")]
    Protocol(String),
    /// The HSM holding the organization key refused or could not be reached.
    #[error("{}", hsm_message(.0))]
    Hsm(Pkcs11Error),
    /// On a managed workstation: the organization profile sets this.
    #[error("this is managed by {0}'s profile and cannot be changed on this workstation")]
    Managed(String),
    /// On a managed workstation: the profile expired and could not be refreshed.
    #[error("{0}")]
    ProfileExpired(String),
    /// A new key is not served by the organization's web server yet.
    #[error("{0}")]
    NotPublished(String),
    /// Writing the publication bundle failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The PKCS#11 error with what to do about it.
fn hsm_message(e: &Pkcs11Error) -> String {
    match e {
        Pkcs11Error::PinRequired { .. } => format!(
            "{e}: set {}, store it with `nuts-wallet org key pin`, or type it in the app",
            wallet_pkcs11::PIN_ENV
        ),
        Pkcs11Error::WrongPin { .. } => {
            format!("{e} (after a few more wrong tries the token locks the PIN)")
        }
        _ => e.to_string(),
    }
}

impl IdentityError {
    /// A stable, machine-readable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Vault(e) => e.code(),
            IdentityError::NoOrganization => "no_organization",
            IdentityError::OrganizationExists(_) => "organization_exists",
            IdentityError::InvalidInput(_) => "invalid_input",
            IdentityError::Refused(_) => "credential_refused",
            IdentityError::Duplicate(_) => "duplicate",
            IdentityError::EmployeeInactive(_) => "employee_inactive",
            IdentityError::Protocol(_) => "protocol",
            IdentityError::Hsm(e) => e.code(),
            IdentityError::NotPublished(_) => "key_not_published",
            IdentityError::Managed(_) => "managed",
            IdentityError::ProfileExpired(_) => "profile_expired",
            IdentityError::Io { .. } => "io",
        }
    }

    pub(crate) fn protocol(e: impl std::fmt::Display) -> Self {
        IdentityError::Protocol(e.to_string())
    }
}

/// Result with [`IdentityError`].
pub type Result<T> = std::result::Result<T, IdentityError>;

/// What the administrator gives at setup.
#[derive(Debug, Clone)]
pub struct OrgSetup {
    /// Tenant subject: one URL path segment (`[A-Za-z0-9._~-]`).
    pub subject: String,
    /// Public HTTPS base URL where the publication bundle will be served.
    pub base_url: String,
    /// A did:web to use instead of the default `did:web:<host>:iam:<uuid>`; its host (and
    /// port) must be the base URL's.
    pub did: Option<String>,
}

/// The organization identity (public data only): what `org show` prints and the
/// Organization screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgInfo {
    /// Tenant subject.
    pub subject: String,
    /// Public base URL.
    pub base_url: String,
    /// The organization's did:web.
    pub did: String,
    /// OAuth client id and issuer: `<base-url>/oauth2/<subject>`.
    pub client_id: String,
    /// Assertion key id (DID URL).
    pub kid: String,
    /// Vault id of the signing key (empty when the key is in an HSM).
    pub key_id: String,
    /// Where the signing key lives.
    #[serde(default)]
    pub key_store: KeyStoreKind,
    /// The HSM key's PKCS#11 URI (never with a PIN); `null` for a key in the vault.
    #[serde(default)]
    pub key_uri: Option<String>,
    /// Keys published beside the signing key during a rotation.
    #[serde(default)]
    pub other_keys: Vec<OrgKey>,
    /// RFC 7638 thumbprint of the signing key.
    pub key_thumbprint: String,
    /// Public key.
    pub public_jwk: serde_json::Map<String, serde_json::Value>,
    /// URL of the DID document (where the web server must serve it).
    pub did_document_url: String,
    /// Unix ms of the setup.
    pub created_at_ms: i64,
    /// Unix ms of the last key change.
    pub key_changed_at_ms: i64,
    /// Unix ms of the last publication (`None`: never published, or not since the last key
    /// change: re-publish).
    pub published_at_ms: Option<i64>,
}

impl OrgInfo {
    /// The protocol view of this identity.
    pub fn identity(&self) -> Result<OrgIdentity> {
        let bad =
            |what: &str| IdentityError::Protocol(format!("stored organization {what} is invalid"));
        Ok(OrgIdentity {
            subject: self.subject.clone(),
            base_url: Url::parse(&self.base_url).map_err(|_| bad("base URL"))?,
            did: Did::parse(&self.did).map_err(|_| bad("DID"))?,
            kid: DidUrl::parse(&self.kid).map_err(|_| bad("key id"))?,
            public_jwk: Jwk::from_map(self.public_jwk.clone()).map_err(|_| bad("key"))?,
        })
    }

    /// Whether the bundle must be (re-)published.
    pub fn needs_publication(&self) -> bool {
        self.published_at_ms.is_none()
    }
}

pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Checks a subject: one non-empty URL path segment of unreserved characters.
pub fn check_subject(subject: &str) -> Result<()> {
    let ok = !subject.is_empty()
        && subject.len() <= 128
        && subject
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-'))
        && subject != "."
        && subject != "..";
    if ok {
        Ok(())
    } else {
        Err(IdentityError::InvalidInput(format!(
            "subject {subject:?} must be one URL path segment of letters, digits, '.', '_', '~' or '-'"
        )))
    }
}

/// Parses and checks a base URL: `https://HOST[:PORT][/path]`, no query, fragment or
/// credentials. The trailing slash is dropped.
pub fn check_base_url(base_url: &str) -> Result<Url> {
    let bad = |why: &str| IdentityError::InvalidInput(format!("base URL {base_url:?} {why}"));
    let u = Url::parse(base_url.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if u.scheme() != "https" {
        return Err(bad("must use https"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !matches!(u.host(), Some(url::Host::Domain(_))) {
        return Err(bad(
            "must name a host, not an IP address (did:web needs a domain)",
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not contain credentials"));
    }
    let trimmed = u.as_str().trim_end_matches('/').to_owned();
    Url::parse(&trimmed).map_err(|e| bad(&e.to_string()))
}

/// The organization identity, if set up. Needs the vault unlocked (the setting's MAC is
/// checked).
pub fn organization(vault: &Vault) -> Result<Option<OrgInfo>> {
    match vault.settings().get(SETTING_ORGANIZATION)? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| {
            IdentityError::Protocol(format!("stored organization identity is unreadable: {e}"))
        }),
    }
}

/// The organization identity, or [`IdentityError::NoOrganization`].
pub fn require_organization(vault: &Vault) -> Result<OrgInfo> {
    organization(vault)?.ok_or(IdentityError::NoOrganization)
}

/// Sets up the organization: creates the signing key in the vault, the did:web DID (default
/// `did:web:<host>[%3A<port>][:<path>]:iam:<uuid>`) and stores the identity. Administrator
/// action; refused when an organization exists already.
pub fn init_organization(vault: &Vault, admin: &AdminSession, setup: OrgSetup) -> Result<OrgInfo> {
    init_organization_with_key(vault, admin, setup, NewKeyLocation::Vault)
}

/// [`init_organization`] with the signing key in `location`: the vault, or an HSM object
/// (generated inside the token when it does not exist, used as it is when it does).
pub fn init_organization_with_key(
    vault: &Vault,
    admin: &AdminSession,
    setup: OrgSetup,
    location: NewKeyLocation,
) -> Result<OrgInfo> {
    crate::profile::guard(vault)?;
    check_subject(&setup.subject)?;
    let base = check_base_url(&setup.base_url)?;
    if let Some(existing) = organization(vault)? {
        return Err(IdentityError::OrganizationExists(existing.did));
    }
    let did = match &setup.did {
        Some(d) => {
            let did = Did::parse(d.trim())
                .map_err(|e| IdentityError::InvalidInput(format!("--did: {e}")))?;
            if did.method() != "web" {
                return Err(IdentityError::InvalidInput(format!(
                    "--did must be a did:web, not did:{}",
                    did.method()
                )));
            }
            let url = did::web::did_to_url(&did)
                .map_err(|e| IdentityError::InvalidInput(format!("--did: {e}")))?;
            if url.host_str() != base.host_str()
                || url.port_or_known_default() != base.port_or_known_default()
            {
                return Err(IdentityError::InvalidInput(format!(
                    "--did {did} is served by {}, not by the base URL's host {}: the web server \
                     that serves the bundle must serve the DID document too",
                    url.origin().ascii_serialization(),
                    base.origin().ascii_serialization()
                )));
            }
            did
        }
        None => metadata::default_org_did(&base).map_err(IdentityError::protocol)?,
    };
    let key = keys::make_key(vault, admin, &did, &location)?;
    let result = (|| {
        let now = now_ms();
        let mut info = OrgInfo {
            subject: setup.subject.clone(),
            base_url: base.as_str().trim_end_matches('/').to_owned(),
            did: did.to_string(),
            client_id: String::new(),
            kid: key.kid.to_string(),
            key_id: key.key_id.clone().unwrap_or_default(),
            key_store: key.store,
            key_uri: key.key_uri.clone(),
            other_keys: Vec::new(),
            key_thumbprint: key.thumbprint.clone(),
            public_jwk: key.public_jwk.clone(),
            did_document_url: did::web::did_to_url(&did)
                .map_err(IdentityError::protocol)?
                .to_string(),
            created_at_ms: now,
            key_changed_at_ms: now,
            published_at_ms: None,
        };
        info.client_id = info
            .identity()?
            .client_id()
            .map_err(IdentityError::protocol)?
            .to_string();
        // The key must sign before the organization is stored with it.
        organization_signer(vault, &info)?;
        store(vault, admin, &info)?;
        Ok(info)
    })();
    if result.is_err() {
        // Do not leave an orphan key behind a failed setup.
        keys::undo_key(vault, admin, &key);
    }
    result
}

pub(super) fn store(vault: &Vault, admin: &AdminSession, info: &OrgInfo) -> Result<()> {
    let value = serde_json::to_value(info).map_err(IdentityError::protocol)?;
    vault.settings().put(admin, SETTING_ORGANIZATION, &value)?;
    Ok(())
}

/// One file written by [`publish`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedFileInfo {
    /// Path relative to the output directory = path on the web server.
    pub path: String,
    /// Full URL it must be served at.
    pub url: String,
    /// Content type to serve it with.
    pub content_type: String,
    /// What it is.
    pub description: String,
}

/// What [`publish`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishReport {
    /// The output directory.
    pub out_dir: PathBuf,
    /// The bundle files (README.txt not included).
    pub files: Vec<PublishedFileInfo>,
    /// The README.txt path.
    pub readme: PathBuf,
    /// Until when the entity statement is valid (Unix seconds).
    pub entity_statement_expires: i64,
}

/// Writes the publication bundle into `out_dir` (created if missing; existing bundle files
/// are replaced): the did:web document, the signed entity statement, AS metadata, OAuth
/// client metadata, and README.txt saying where each file goes and its content type.
/// Administrator action (it signs with the organization key); recorded as `org.publish`.
pub fn publish(
    vault: &Vault,
    admin: &AdminSession,
    out_dir: &Path,
    clock: &dyn Clock,
) -> Result<PublishReport> {
    if vault.admin_session_remaining(admin).is_none() {
        return Err(VaultError::AdminRequired("publishing the organization").into());
    }
    let mut info = require_organization(vault)?;
    let identity = info.identity()?;
    let signer = organization_signer(vault, &info)?;
    // An HSM that cannot sign now is named as such (a failed signature further down would
    // reach the caller only as a protocol error).
    if let Some(uri) = info
        .key_uri
        .as_deref()
        .and_then(|u| u.parse::<Pkcs11Uri>().ok())
    {
        hsm::check(&uri)?;
    }
    let validity = metadata::ENTITY_STATEMENT_DEFAULT_VALIDITY_SECS;
    let others = keys::published_other_keys(&info)?;
    let files =
        metadata::publication_bundle_with_keys(&signer, &identity, &others, clock, validity)
            .map_err(IdentityError::protocol)?;
    let readme = metadata::publication_readme(&identity, &files);
    let io = |context: String| move |source| IdentityError::Io { context, source };
    let root = out_dir.to_path_buf();
    std::fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
    let origin = identity.base_url.origin().ascii_serialization();
    let mut written = Vec::with_capacity(files.len());
    for f in &files {
        let rel = Path::new(&f.path);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(IdentityError::Protocol(format!(
                "unsafe bundle path {}",
                f.path
            )));
        }
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        std::fs::write(&path, &f.content).map_err(io(format!("writing {}", path.display())))?;
        written.push(PublishedFileInfo {
            path: f.path.clone(),
            url: format!("{origin}/{}", f.path),
            content_type: f.content_type.to_owned(),
            description: f.description.to_owned(),
        });
    }
    let readme_path = root.join("README.txt");
    std::fs::write(&readme_path, readme)
        .map_err(io(format!("writing {}", readme_path.display())))?;
    info.published_at_ms = Some(now_ms());
    let value = serde_json::to_value(&info).map_err(IdentityError::protocol)?;
    vault.settings().put(admin, SETTING_ORGANIZATION, &value)?;
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "org.publish", &info.did).detail(serde_json::json!({
            "kid": info.kid,
            "files": written.iter().map(|f| f.path.clone()).collect::<Vec<_>>(),
        })),
    )?;
    Ok(PublishReport {
        out_dir: root,
        files: written,
        readme: readme_path,
        entity_statement_expires: clock.now_unix() + validity,
    })
}

/// The organization's own DID document as published (for resolving self-issued credentials
/// without the network).
pub fn own_did_document(org: &OrgInfo) -> Result<serde_json::Value> {
    let id = org.identity()?;
    let mut keys = vec![(id.kid.clone(), id.public_jwk.clone())];
    keys.extend(keys::published_other_keys(org)?);
    did::document::build_did_document_with_keys(&id.did, &keys).map_err(IdentityError::protocol)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use wallet_protocol::did::StaticDidResolver;
    use wallet_protocol::metadata::verify_entity_statement;
    use wallet_protocol::SystemClock;
    use wallet_vault::{
        ActivityFilter, CreateOptions, KdfParams, KeyStore, MemoryKeyStore, Passphrase, Protection,
    };

    pub(crate) fn vault(dir: &Path) -> (Vault, AdminSession) {
        let keystore: Arc<dyn KeyStore> = Arc::new(MemoryKeyStore::default());
        let vault = Vault::create(
            dir,
            keystore,
            CreateOptions {
                protection: Protection::Passphrase {
                    passphrase: Passphrase::from("vault passphrase for core tests"),
                    kdf: KdfParams::INSECURE_TEST,
                },
                admin_passphrase: Passphrase::from("admin passphrase for core tests"),
                admin_kdf: KdfParams::INSECURE_TEST,
            },
        )
        .unwrap();
        let admin = vault
            .admin_session(&Passphrase::from("admin passphrase for core tests"))
            .unwrap();
        (vault, admin)
    }

    pub(crate) fn setup(v: &Vault, admin: &AdminSession) -> OrgInfo {
        init_organization(
            v,
            admin,
            OrgSetup {
                subject: "acme".into(),
                base_url: "https://zorg.example:8443/nuts/".into(),
                did: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn init_creates_key_did_and_client_id_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        assert!(matches!(
            require_organization(&v),
            Err(IdentityError::NoOrganization)
        ));
        let org = setup(&v, &admin);
        assert!(
            org.did.starts_with("did:web:zorg.example%3A8443:nuts:iam:"),
            "{}",
            org.did
        );
        assert_eq!(org.client_id, "https://zorg.example:8443/nuts/oauth2/acme");
        assert_eq!(org.base_url, "https://zorg.example:8443/nuts");
        assert_eq!(org.kid, format!("{}#{}", org.did, org.key_thumbprint));
        assert!(org.did_document_url.ends_with("/did.json"));
        assert!(org.needs_publication());
        let key = v.keys().get(&org.key_id).unwrap();
        assert_eq!(key.kid.as_deref(), Some(org.kid.as_str()));
        assert_eq!(organization(&v).unwrap(), Some(org.clone()));
        let again = init_organization(
            &v,
            &admin,
            OrgSetup {
                subject: "other".into(),
                base_url: "https://zorg.example".into(),
                did: None,
            },
        );
        assert!(matches!(again, Err(IdentityError::OrganizationExists(_))));
        assert_eq!(v.keys().list().unwrap().len(), 1);
        let log = v
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("key.".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log.len(), 2, "key.generate and key.kid");
    }

    #[test]
    fn init_refuses_bad_input_without_leaving_a_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(tmp.path());
        let cases = [
            ("a/b", "https://zorg.example", None, "subject"),
            ("acme", "http://zorg.example", None, "https"),
            ("acme", "https://10.0.0.1", None, "IP address"),
            ("acme", "https://zorg.example?x=1", None, "query"),
            (
                "acme",
                "https://zorg.example",
                Some("did:jwk:abc"),
                "did:web",
            ),
            (
                "acme",
                "https://zorg.example",
                Some("did:web:other.example:iam:1"),
                "not by the base URL's host",
            ),
        ];
        for (subject, base, did, expect) in cases {
            let e = init_organization(
                &v,
                &admin,
                OrgSetup {
                    subject: subject.into(),
                    base_url: base.into(),
                    did: did.map(str::to_owned),
                },
            )
            .unwrap_err();
            assert!(e.to_string().contains(expect), "{subject} {base}: {e}");
        }
        assert!(v.keys().list().unwrap().is_empty());
        let custom = init_organization(
            &v,
            &admin,
            OrgSetup {
                subject: "acme".into(),
                base_url: "https://zorg.example".into(),
                did: Some("did:web:zorg.example:orgs:acme".into()),
            },
        )
        .unwrap();
        assert_eq!(custom.did, "did:web:zorg.example:orgs:acme");
        assert_eq!(
            custom.did_document_url,
            "https://zorg.example/orgs/acme/did.json"
        );
    }

    #[test]
    fn publish_writes_a_bundle_that_verifies_and_rotation_requires_republishing() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(&tmp.path().join("v"));
        let org = setup(&v, &admin);
        let out = tmp.path().join("bundle");
        let report = publish(&v, &admin, &out, &SystemClock).unwrap();
        assert_eq!(report.files.len(), 4);
        let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
        for f in &report.files {
            assert!(out.join(&f.path).is_file(), "{}", f.path);
            assert!(readme.contains(&f.path) && readme.contains(&f.content_type));
        }
        assert!(!require_organization(&v).unwrap().needs_publication());
        let statement_path = ".well-known/openid-configuration/nuts/oauth2/acme";
        let token = std::fs::read_to_string(out.join(statement_path)).unwrap();
        let did_doc: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(report.files[0].path.as_str())).unwrap(),
        )
        .unwrap();
        assert_eq!(did_doc["id"], org.did);
        let mut resolver = StaticDidResolver::new();
        resolver.insert(did_doc).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let st = rt
            .block_on(verify_entity_statement(&token, &resolver, &SystemClock))
            .unwrap();
        assert_eq!(st.kid.as_str(), org.kid);
        assert_eq!(st.openid_provider["issuer"], org.client_id);

        // Rotation: the next key is published beside the active one; the old statement
        // still verifies against the new document, and the new one lists both keys.
        let rotated = rotate_key(&v, &admin, None).unwrap();
        assert_eq!(rotated.kid, org.kid);
        assert!(rotated.needs_publication());
        let next = rotated.other_keys[0].clone();
        assert_eq!(next.role, KeyRole::Next);
        let mut fresh = StaticDidResolver::new();
        fresh.insert(own_did_document(&rotated).unwrap()).unwrap();
        rt.block_on(verify_entity_statement(&token, &fresh, &SystemClock))
            .unwrap();
        publish(&v, &admin, &out, &SystemClock).unwrap();
        let token = std::fs::read_to_string(out.join(statement_path)).unwrap();
        let st = rt
            .block_on(verify_entity_statement(&token, &fresh, &SystemClock))
            .unwrap();
        assert_eq!(st.kid.as_str(), org.kid);
        assert!(st.jwk(&next.kid).is_some(), "the next key is in jwks");
        let published = v
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("org.publish".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(published.len(), 2);
    }

    #[test]
    fn publish_needs_a_live_admin_session_and_an_organization() {
        let tmp = tempfile::tempdir().unwrap();
        let (v, admin) = vault(&tmp.path().join("v"));
        let e = publish(&v, &admin, &tmp.path().join("b"), &SystemClock).unwrap_err();
        assert!(matches!(e, IdentityError::NoOrganization), "{e}");
        setup(&v, &admin);
        v.lock();
        v.unlock(wallet_vault::Unlock::Passphrase(&Passphrase::from(
            "vault passphrase for core tests",
        )))
        .unwrap();
        let e = publish(&v, &admin, &tmp.path().join("b"), &SystemClock).unwrap_err();
        assert_eq!(e.code(), "admin_required");
        assert!(!tmp.path().join("b").exists());
    }
}
