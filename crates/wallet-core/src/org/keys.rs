//! The organization's signing keys: where each one lives (the vault, or an HSM through
//! PKCS#11), the one signer every organization signature goes through, and rotation without a
//! moment in which presentations fail to verify:
//!
//! ```text
//! rotate    a *next* key is made; the next bundle lists it beside the active key
//! publish   upload the bundle                  (verifiers now accept both keys)
//! activate  only once the hosted did.json and entity statement list the next key: it signs
//!           from now on; the old key becomes *previous* and stays published
//! retire    the previous key leaves the next bundle (and the vault)
//! publish   upload again
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wallet_pkcs11::Pkcs11Uri;
use wallet_protocol::did::{self, Did, DidResolver, DidUrl};
use wallet_protocol::jose::Jwk;
use wallet_protocol::metadata;
use wallet_protocol::net::HttpRequest;
use wallet_protocol::signer::{SignError, Signer};
use wallet_vault::{Actor, AdminSession, NewActivity, Vault, VaultSigner};

use super::hsm;
use super::{now_ms, require_organization, store, IdentityError, OrgInfo, Result, ORG_KEY_PURPOSE};
use crate::runtime::Network;

/// Where an organization key lives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStoreKind {
    /// Sealed in this workstation's vault (the default for one workstation).
    #[default]
    Vault,
    /// In an HSM, reached through PKCS#11; never leaves it.
    Pkcs11,
}

impl KeyStoreKind {
    /// `"vault"` or `"pkcs11"`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStoreKind::Vault => "vault",
            KeyStoreKind::Pkcs11 => "pkcs11",
        }
    }
}

/// The place of a published key beside the active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// Made by `rotate`, published, not yet signing.
    Next,
    /// Signed until `activate`; still published until `retire`.
    Previous,
}

/// A published organization key other than the active one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgKey {
    /// Next or previous.
    pub role: KeyRole,
    /// Key id (DID URL).
    pub kid: String,
    /// RFC 7638 thumbprint.
    pub thumbprint: String,
    /// Public key.
    pub public_jwk: Map<String, Value>,
    /// Where it lives.
    pub key_store: KeyStoreKind,
    /// Vault key id (vault keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// PKCS#11 URI without PIN (HSM keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_uri: Option<String>,
    /// Unix ms when it was made.
    pub added_at_ms: i64,
}

/// Where to make a new organization key.
#[derive(Debug, Clone, PartialEq)]
pub enum NewKeyLocation {
    /// A software key sealed in the vault.
    Vault,
    /// A key pair generated inside the token (or the object there, if it exists).
    Pkcs11(Pkcs11Uri),
}

impl NewKeyLocation {
    /// `None` or `"vault"`: the vault; a `pkcs11:` URI: that HSM object.
    pub fn parse(key: Option<&str>) -> Result<Self> {
        match key.map(str::trim) {
            None | Some("") | Some("vault") => Ok(NewKeyLocation::Vault),
            Some(uri) if uri.starts_with("pkcs11:") => uri
                .parse::<Pkcs11Uri>()
                .map(NewKeyLocation::Pkcs11)
                .map_err(|e| IdentityError::InvalidInput(format!("--key: {e}"))),
            Some(other) => Err(IdentityError::InvalidInput(format!(
                "--key {other:?}: give a PKCS#11 URI (pkcs11:token=...;object=...?module-path=...) \
                 or leave it out for a key in the vault"
            ))),
        }
    }
}

/// A key just made for the organization.
pub(super) struct MadeKey {
    pub kid: DidUrl,
    pub thumbprint: String,
    pub public_jwk: Map<String, Value>,
    pub store: KeyStoreKind,
    pub key_id: Option<String>,
    pub key_uri: Option<String>,
}

/// Makes (or, for an existing HSM object, adopts) a key for `did`.
pub(super) fn make_key(
    vault: &Vault,
    admin: &AdminSession,
    did: &Did,
    location: &NewKeyLocation,
) -> Result<MadeKey> {
    match location {
        NewKeyLocation::Vault => {
            let key = vault
                .keys()
                .generate(admin, "organization", ORG_KEY_PURPOSE)?;
            let kid = did.with_fragment(&key.thumbprint);
            if let Err(e) = vault.keys().set_kid(admin, &key.id, kid.as_str()) {
                let _ = vault.keys().delete(admin, &key.id);
                return Err(e.into());
            }
            Ok(MadeKey {
                kid,
                thumbprint: key.thumbprint,
                public_jwk: key.public_jwk,
                store: KeyStoreKind::Vault,
                key_id: Some(key.id),
                key_uri: None,
            })
        }
        NewKeyLocation::Pkcs11(uri) => {
            let (public_jwk, generated) = hsm::open_or_generate(uri)?;
            let thumbprint = wallet_vault::jwk_thumbprint(&public_jwk)?;
            vault.activity_log().record(
                NewActivity::new(
                    Actor::Admin,
                    if generated {
                        "key.generate"
                    } else {
                        "key.adopt"
                    },
                    &thumbprint,
                )
                .detail(serde_json::json!({
                    "store": "pkcs11", "uri": uri.to_string(), "purpose": ORG_KEY_PURPOSE,
                })),
            )?;
            Ok(MadeKey {
                kid: did.with_fragment(&thumbprint),
                thumbprint,
                public_jwk,
                store: KeyStoreKind::Pkcs11,
                key_id: None,
                key_uri: Some(uri.to_string()),
            })
        }
    }
}

/// Takes back a key made by [`make_key`] when what followed failed. HSM objects stay on the
/// token: deleting key material there is the HSM administrator's call.
pub(super) fn undo_key(vault: &Vault, admin: &AdminSession, made: &MadeKey) {
    if let Some(id) = &made.key_id {
        let _ = vault.keys().delete(admin, id);
    }
}

/// The signer of the organization key in use: the vault's, or the HSM's.
pub enum OrgSigner {
    /// A key sealed in the vault.
    Vault(Box<VaultSigner>),
    /// A key in an HSM.
    Hsm(hsm::HsmSigner),
}

impl std::fmt::Debug for OrgSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSigner")
            .field("store", &self.store().as_str())
            .field("kid", &self.key_id())
            .finish()
    }
}

impl OrgSigner {
    /// Where the key lives.
    pub fn store(&self) -> KeyStoreKind {
        match self {
            OrgSigner::Vault(_) => KeyStoreKind::Vault,
            OrgSigner::Hsm(_) => KeyStoreKind::Pkcs11,
        }
    }
}

impl Signer for OrgSigner {
    fn algorithm(&self) -> &str {
        match self {
            OrgSigner::Vault(s) => s.algorithm(),
            OrgSigner::Hsm(s) => s.algorithm(),
        }
    }

    fn key_id(&self) -> &str {
        match self {
            OrgSigner::Vault(s) => s.key_id(),
            OrgSigner::Hsm(s) => s.key_id(),
        }
    }

    fn public_jwk(&self) -> Map<String, Value> {
        match self {
            OrgSigner::Vault(s) => s.public_jwk(),
            OrgSigner::Hsm(s) => s.public_jwk(),
        }
    }

    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, SignError> {
        match self {
            OrgSigner::Vault(s) => s.sign(message),
            OrgSigner::Hsm(s) => s.sign(message),
        }
    }
}

/// The organization's signer (its `kid` is the DID URL of the active key). Every
/// organization signature goes through it.
pub fn organization_signer(vault: &Vault, org: &OrgInfo) -> Result<OrgSigner> {
    // A managed workstation whose profile expired signs nothing for the organization.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match crate::profile::in_force(vault, now) {
        Ok(()) => {}
        Err(crate::profile::ProfileError::Vault(v)) => return Err(v.into()),
        Err(e) => return Err(IdentityError::ProfileExpired(e.to_string())),
    }
    match org.key_store {
        KeyStoreKind::Vault => {
            let signer = vault.keys().signer(&org.key_id)?;
            if signer.info().thumbprint != org.key_thumbprint {
                return Err(IdentityError::Protocol(
                    "the organization key in the vault differs from the published identity".into(),
                ));
            }
            Ok(OrgSigner::Vault(Box::new(signer)))
        }
        KeyStoreKind::Pkcs11 => {
            let uri = org
                .key_uri
                .as_deref()
                .ok_or_else(|| IdentityError::Protocol("the HSM key has no PKCS#11 URI".into()))?
                .parse::<Pkcs11Uri>()
                .map_err(|e| IdentityError::Protocol(format!("stored PKCS#11 URI: {e}")))?;
            let signer = hsm::signer(&uri, &org.kid)?;
            let thumbprint = wallet_vault::jwk_thumbprint(&signer.public_jwk())?;
            if thumbprint != org.key_thumbprint {
                return Err(IdentityError::Protocol(format!(
                    "the key at {uri} differs from the organization key (thumbprint {thumbprint}, \
                     expected {}); was the HSM object replaced?",
                    org.key_thumbprint
                )));
            }
            Ok(OrgSigner::Hsm(signer))
        }
    }
}

/// The keys to publish beside the active one, as (kid, JWK).
pub(super) fn published_other_keys(org: &OrgInfo) -> Result<Vec<(DidUrl, Jwk)>> {
    org.other_keys
        .iter()
        .map(|k| {
            Ok((
                DidUrl::parse(&k.kid).map_err(IdentityError::protocol)?,
                Jwk::from_map(k.public_jwk.clone()).map_err(IdentityError::protocol)?,
            ))
        })
        .collect()
}

/// Makes the next organization key: in `location`, or (when `None`) in the store of the
/// active key (for an HSM: the same token, a new object named after the old one). The next
/// bundle lists it beside the active key; nothing signs with it before [`activate_key`].
/// Administrator action.
pub fn rotate_key(
    vault: &Vault,
    admin: &AdminSession,
    location: Option<NewKeyLocation>,
) -> Result<OrgInfo> {
    crate::profile::guard(vault)?;
    let mut info = require_organization(vault)?;
    if let Some(next) = info.other_keys.iter().find(|k| k.role == KeyRole::Next) {
        return Err(IdentityError::InvalidInput(format!(
            "a new key ({}) is waiting already: publish it and run `org key activate`",
            next.kid
        )));
    }
    let location = match location {
        Some(l) => l,
        None => match info.key_store {
            KeyStoreKind::Vault => NewKeyLocation::Vault,
            KeyStoreKind::Pkcs11 => {
                let uri: Pkcs11Uri = info
                    .key_uri
                    .as_deref()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| IdentityError::Protocol(format!("stored PKCS#11 URI: {e}")))?;
                let object = format!("{}-{}", base_object(uri.object()), now_ms() / 1000);
                NewKeyLocation::Pkcs11(
                    Pkcs11Uri::new(uri.token(), object, uri.module_path())
                        .map_err(IdentityError::Hsm)?,
                )
            }
        },
    };
    let did = Did::parse(&info.did).map_err(IdentityError::protocol)?;
    let made = make_key(vault, admin, &did, &location)?;
    if made.thumbprint == info.key_thumbprint
        || info
            .other_keys
            .iter()
            .any(|k| k.thumbprint == made.thumbprint)
    {
        undo_key(vault, admin, &made);
        return Err(IdentityError::InvalidInput(
            "that key is already one of the organization's keys; name another HSM object".into(),
        ));
    }
    info.other_keys.push(OrgKey {
        role: KeyRole::Next,
        kid: made.kid.to_string(),
        thumbprint: made.thumbprint.clone(),
        public_jwk: made.public_jwk.clone(),
        key_store: made.store,
        key_id: made.key_id.clone(),
        key_uri: made.key_uri.clone(),
        added_at_ms: now_ms(),
    });
    info.published_at_ms = None;
    if let Err(e) = store(vault, admin, &info) {
        undo_key(vault, admin, &made);
        return Err(e);
    }
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "org.key.rotate", &info.did).detail(serde_json::json!({
            "next_kid": made.kid.as_str(), "store": made.store.as_str(),
        })),
    )?;
    Ok(info)
}

/// `orgkey-1733560000` and `orgkey` both give `orgkey`, so repeated rotations do not pile up
/// suffixes.
fn base_object(object: &str) -> &str {
    match object.rsplit_once('-') {
        Some((base, n))
            if !base.is_empty() && n.len() >= 9 && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => object,
    }
}

/// What the organization's web server serves now, compared with the keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveCheck {
    /// The hosted DID document's URL.
    pub did_document_url: String,
    /// Why the DID document could not be read or used, if so.
    pub did_document_error: Option<String>,
    /// The hosted entity statement's URL.
    pub entity_statement_url: String,
    /// Why the entity statement could not be read or verified, if so.
    pub entity_statement_error: Option<String>,
    /// Each of the organization's keys and where it is listed.
    pub keys: Vec<LiveKey>,
    /// Key ids the hosted DID document lists that are none of the organization's keys.
    pub unknown_hosted_keys: Vec<String>,
    /// Whether what is hosted matches the keys exactly.
    pub ok: bool,
}

/// One key in a [`LiveCheck`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveKey {
    /// Key id.
    pub kid: String,
    /// `active`, `next` or `previous`.
    pub role: &'static str,
    /// Listed (with the same public key) in the hosted DID document.
    pub in_did_document: bool,
    /// Listed (with the same public key) in the hosted entity statement's `jwks`.
    pub in_entity_statement: bool,
}

/// Fetches the hosted DID document and entity statement (HTTPS with the usual guards, no
/// cache) and compares them with the organization's keys.
pub async fn verify_live(vault: &Vault, net: &Network) -> Result<LiveCheck> {
    let info = require_organization(vault)?;
    live_check(&info, net).await
}

async fn live_check(info: &OrgInfo, net: &Network) -> Result<LiveCheck> {
    let identity = info.identity()?;
    let client_id = identity.client_id().map_err(IdentityError::protocol)?;
    let statement_url = metadata::well_known_url(&client_id, "openid-configuration")
        .map_err(IdentityError::protocol)?;
    // A fresh resolver: a cached document would hide what the server serves now.
    let resolver =
        did::web::DidWebResolver::new(net.http.clone(), net.policy.clone(), net.clock.clone());
    let (doc, doc_error) = match resolver.resolve(&identity.did).await {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let (statement, statement_error) = match doc.as_ref() {
        None => (
            None,
            Some("not checked: the DID document could not be read".to_owned()),
        ),
        Some(d) => {
            let mut single = did::StaticDidResolver::new();
            match single.insert(d.as_value().clone()) {
                Err(e) => (None, Some(e.to_string())),
                Ok(()) => match fetch_statement(net, &statement_url, &single).await {
                    Ok(s) => (Some(s), None),
                    Err(e) => (None, Some(e)),
                },
            }
        }
    };
    let mut keys = vec![(info.kid.clone(), "active", info.public_jwk.clone())];
    for k in &info.other_keys {
        let role = match k.role {
            KeyRole::Next => "next",
            KeyRole::Previous => "previous",
        };
        keys.push((k.kid.clone(), role, k.public_jwk.clone()));
    }
    let same = |a: &Jwk, b: &Map<String, Value>| {
        Jwk::from_map(b.clone())
            .ok()
            .and_then(|b| Some(a.thumbprint_sha256().ok()? == b.thumbprint_sha256().ok()?))
            .unwrap_or(false)
    };
    let mut live = Vec::with_capacity(keys.len());
    for (kid, role, jwk) in &keys {
        let url = DidUrl::parse(kid).map_err(IdentityError::protocol)?;
        let in_doc = doc
            .as_ref()
            .and_then(|d| d.assertion_key(&url).ok())
            .is_some_and(|k| same(&k, jwk));
        let in_statement = statement
            .as_ref()
            .and_then(|s: &metadata::VerifiedEntityStatement| s.jwk(kid))
            .is_some_and(|k| same(&k, jwk));
        live.push(LiveKey {
            kid: kid.clone(),
            role,
            in_did_document: in_doc,
            in_entity_statement: in_statement,
        });
    }
    let unknown_hosted_keys: Vec<String> = doc
        .as_ref()
        .map(|d| d.assertion_method_ids())
        .unwrap_or_default()
        .into_iter()
        .filter(|id| !keys.iter().any(|(k, _, _)| k == id))
        .collect();
    let ok = doc_error.is_none()
        && statement_error.is_none()
        && unknown_hosted_keys.is_empty()
        && live
            .iter()
            .all(|k| k.in_did_document && k.in_entity_statement);
    Ok(LiveCheck {
        did_document_url: info.did_document_url.clone(),
        did_document_error: doc_error,
        entity_statement_url: statement_url.to_string(),
        entity_statement_error: statement_error,
        keys: live,
        unknown_hosted_keys,
        ok,
    })
}

/// Largest entity statement read (it is a small JWT).
const MAX_STATEMENT_BYTES: usize = 64 * 1024;

async fn fetch_statement(
    net: &Network,
    url: &url::Url,
    resolver: &did::StaticDidResolver,
) -> std::result::Result<metadata::VerifiedEntityStatement, String> {
    let mut req = HttpRequest::get(url.clone(), metadata::ENTITY_STATEMENT_CONTENT_TYPE);
    req.max_body_bytes = MAX_STATEMENT_BYTES;
    let resp = net.http.execute(req).await.map_err(|e| e.to_string())?;
    if resp.status != 200 {
        return Err(format!("HTTP status {}", resp.status));
    }
    let text = String::from_utf8(resp.body).map_err(|_| "not text".to_owned())?;
    metadata::verify_entity_statement(text.trim(), resolver, net.clock.as_ref())
        .await
        .map_err(|e| e.to_string())
}

/// Switches signing to the next key, after checking that the organization's web server already
/// serves it in the DID document and the entity statement (otherwise verifiers would refuse
/// what it signs). The active key becomes the previous one and stays published until
/// [`retire_key`]. Administrator action.
pub async fn activate_key(vault: &Vault, admin: &AdminSession, net: &Network) -> Result<OrgInfo> {
    crate::profile::guard(vault)?;
    let info = require_organization(vault)?;
    let Some(next) = info
        .other_keys
        .iter()
        .find(|k| k.role == KeyRole::Next)
        .cloned()
    else {
        return Err(IdentityError::InvalidInput(
            "there is no new key to activate: run `org key rotate` first".into(),
        ));
    };
    let live = live_check(&info, net).await?;
    let hosted = live.keys.iter().find(|k| k.kid == next.kid);
    let listed = hosted.is_some_and(|k| k.in_did_document && k.in_entity_statement);
    if !listed {
        let mut why = Vec::new();
        if let Some(e) = &live.did_document_error {
            why.push(format!("{} could not be read: {e}", live.did_document_url));
        } else if !hosted.is_some_and(|k| k.in_did_document) {
            why.push(format!("{} does not list it yet", live.did_document_url));
        }
        if let Some(e) = &live.entity_statement_error {
            why.push(format!("{}: {e}", live.entity_statement_url));
        } else if !hosted.is_some_and(|k| k.in_entity_statement) {
            why.push(format!(
                "{} does not list it yet",
                live.entity_statement_url
            ));
        }
        return Err(IdentityError::NotPublished(format!(
            "the new key {} is not served yet ({}); run `nuts-wallet org publish --out DIR`, upload \
             the files to the web server, then activate again",
            next.kid,
            why.join("; ")
        )));
    }
    // Re-read: the check took a network round trip.
    let mut info = require_organization(vault)?;
    let Some(pos) = info.other_keys.iter().position(|k| k.kid == next.kid) else {
        return Err(IdentityError::InvalidInput(
            "the new key changed meanwhile; run the command again".into(),
        ));
    };
    let next = info.other_keys.remove(pos);
    let previous = OrgKey {
        role: KeyRole::Previous,
        kid: info.kid.clone(),
        thumbprint: info.key_thumbprint.clone(),
        public_jwk: info.public_jwk.clone(),
        key_store: info.key_store,
        key_id: (info.key_store == KeyStoreKind::Vault).then(|| info.key_id.clone()),
        key_uri: info.key_uri.clone(),
        added_at_ms: info.key_changed_at_ms,
    };
    info.other_keys.retain(|k| k.role != KeyRole::Previous);
    info.other_keys.push(previous);
    info.kid = next.kid.clone();
    info.key_thumbprint = next.thumbprint.clone();
    info.public_jwk = next.public_jwk.clone();
    info.key_store = next.key_store;
    info.key_id = next.key_id.clone().unwrap_or_default();
    info.key_uri = next.key_uri.clone();
    info.key_changed_at_ms = now_ms();
    // The signer must work before it becomes the one in use.
    organization_signer(vault, &info)?;
    store(vault, admin, &info)?;
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "org.key.activate", &info.did)
            .detail(serde_json::json!({ "kid": info.kid, "store": info.key_store.as_str() })),
    )?;
    Ok(info)
}

/// Drops the previous key from the next bundle (and from the vault, when it was there).
/// Publish again afterwards. Administrator action.
pub fn retire_key(vault: &Vault, admin: &AdminSession) -> Result<OrgInfo> {
    crate::profile::guard(vault)?;
    let mut info = require_organization(vault)?;
    let Some(pos) = info
        .other_keys
        .iter()
        .position(|k| k.role == KeyRole::Previous)
    else {
        return Err(IdentityError::InvalidInput(
            "there is no previous key to retire (activate a new key first)".into(),
        ));
    };
    let old = info.other_keys.remove(pos);
    info.published_at_ms = None;
    store(vault, admin, &info)?;
    if let Some(id) = &old.key_id {
        vault.keys().delete(admin, id)?;
    }
    vault.activity_log().record(
        NewActivity::new(Actor::Admin, "org.key.retire", &info.did)
            .detail(serde_json::json!({ "kid": old.kid, "store": old.key_store.as_str() })),
    )?;
    Ok(info)
}
