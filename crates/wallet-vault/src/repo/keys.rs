//! Signing keys (P-256 / ES256): public data in clear columns, the private key sealed with
//! its thumbprint as associated data. Private keys never leave the crate: [`VaultSigner`]
//! reads the sealed key on each signature.

use rusqlite::{params, Connection, OptionalExtension};

use super::{delete_logged, Scope};
use crate::audit::{Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto::{self, Place};
use crate::keys::{jwk_thumbprint, KeyInfo, PrivateKey, ES256};
use crate::secret::{random_id, Key256, SecretString};
use crate::vault::{AdminSession, Vault};
use crate::{Result, VaultError};

/// Purposes of the keys [`Keys::ensure_workstation_key`] creates without the administrator.
pub const WORKSTATION_KEY_PURPOSES: &[&str] = &["dpop"];

/// RFC 9278 JWK thumbprint URI prefix (SHA-256), the `kid` of workstation keys.
pub const THUMBPRINT_URI_PREFIX: &str = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:";

const KEY_COLS: &str = "id, label, purpose, alg, kid, public_jwk, thumbprint, created_at";

fn key_info(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyInfo> {
    let jwk: String = r.get(5)?;
    Ok(KeyInfo {
        id: r.get(0)?,
        label: r.get(1)?,
        purpose: r.get(2)?,
        alg: r.get(3)?,
        kid: r.get(4)?,
        public_jwk: serde_json::from_str(&jwk).unwrap_or_default(),
        thumbprint: r.get(6)?,
        created_at_ms: r.get(7)?,
    })
}

/// The signing keys. From [`Vault::keys`] or [`VaultTx::keys`](crate::VaultTx::keys).
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    scope: Scope<'a>,
}

impl<'a> Keys<'a> {
    pub(crate) fn new(scope: Scope<'a>) -> Self {
        Keys { scope }
    }

    /// Generates a new P-256 signing key. Administrator action.
    pub fn generate(&self, session: &AdminSession, label: &str, purpose: &str) -> Result<KeyInfo> {
        self.scope.check_admin(session, "creating keys")?;
        self.store(PrivateKey::generate(), label, purpose, "key.generate")
    }

    /// The key of `purpose` this vault (one workstation) keeps for itself, created on first
    /// use. Not an administrator action, so only for [`WORKSTATION_KEY_PURPOSES`]: keys that
    /// authorize nothing on their own. A new key is recorded as `key.generate` by the system;
    /// its `kid` is its RFC 9278 thumbprint URI
    /// (`urn:ietf:params:oauth:jwk-thumbprint:sha-256:<thumbprint>`). With several keys of the
    /// purpose, the oldest.
    pub fn ensure_workstation_key(&self, purpose: &str) -> Result<KeyInfo> {
        if !WORKSTATION_KEY_PURPOSES.contains(&purpose) {
            return Err(VaultError::InvalidInput(format!(
                "{purpose:?} is not a workstation key purpose"
            )));
        }
        if let Some(info) = self
            .scope
            .read(|conn, _| oldest_of_purpose(conn, purpose))?
        {
            return Ok(info);
        }
        let pk = PrivateKey::generate();
        let jwk = pk.public_jwk();
        let thumbprint = jwk_thumbprint(&jwk)?;
        let info = KeyInfo {
            id: random_id(),
            label: "workstation".to_owned(),
            purpose: purpose.to_owned(),
            alg: ES256.to_owned(),
            kid: Some(format!("{THUMBPRINT_URI_PREFIX}{thumbprint}")),
            thumbprint,
            public_jwk: jwk,
            created_at_ms: now_ms(),
        };
        // Checked again inside the write: another process may have created it meanwhile.
        self.insert(pk, info, "key.generate", Actor::System, true)
    }

    /// Imports a P-256 private key given as a JWK or PEM (PKCS#8 or SEC1). Administrator
    /// action. The material is not kept anywhere but sealed in the vault.
    pub fn import(
        &self,
        session: &AdminSession,
        label: &str,
        purpose: &str,
        material: &SecretString,
    ) -> Result<KeyInfo> {
        self.scope.check_admin(session, "importing keys")?;
        let key = PrivateKey::import(material.expose_secret())?;
        self.store(key, label, purpose, "key.import")
    }

    fn store(&self, pk: PrivateKey, label: &str, purpose: &str, action: &str) -> Result<KeyInfo> {
        let jwk = pk.public_jwk();
        let info = KeyInfo {
            id: random_id(),
            label: label.to_owned(),
            purpose: purpose.to_owned(),
            alg: ES256.to_owned(),
            kid: None,
            thumbprint: jwk_thumbprint(&jwk)?,
            public_jwk: jwk,
            created_at_ms: now_ms(),
        };
        self.insert(pk, info, action, Actor::Admin, false)
    }

    /// Inserts `info` with `pk` sealed. With `reuse_purpose`, an existing key of the same
    /// purpose is returned instead, in the same transaction.
    fn insert(
        &self,
        pk: PrivateKey,
        info: KeyInfo,
        action: &str,
        actor: Actor,
        reuse_purpose: bool,
    ) -> Result<KeyInfo> {
        self.scope.write(|tx, key| {
            if reuse_purpose {
                if let Some(existing) = oldest_of_purpose(tx.sql(), &info.purpose)? {
                    return Ok(existing);
                }
            }
            let exists: Option<String> = tx
                .sql()
                .query_row(
                    "SELECT id FROM keys WHERE thumbprint = ?1",
                    [&info.thumbprint],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = exists {
                return Err(VaultError::Duplicate {
                    kind: "key",
                    id: existing,
                });
            }
            let sealed = crypto::seal(
                key,
                Place::new("keys", &info.id, "private_key")
                    .with_context(info.thumbprint.as_bytes())
                    .versioned(tx.version()),
                &pk.to_sealable(),
            );
            tx.sql().execute(
                "INSERT INTO keys (id, label, purpose, alg, kid, public_jwk, thumbprint,
                                   private_key, created_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?10, ?5, ?6, ?7, ?8, ?9)",
                params![
                    info.id,
                    info.label,
                    info.purpose,
                    info.alg,
                    serde_json::to_string(&info.public_jwk).unwrap_or_default(),
                    info.thumbprint,
                    sealed,
                    info.created_at_ms,
                    tx.version(),
                    info.kid,
                ],
            )?;
            tx.record(
                NewActivity::new(actor, action, &info.id).detail(serde_json::json!({
                    "label": info.label, "purpose": info.purpose, "thumbprint": info.thumbprint,
                })),
            )?;
            Ok(info)
        })
    }

    /// Lists keys (public data only). Needs the vault unlocked.
    pub fn list(&self) -> Result<Vec<KeyInfo>> {
        self.scope.read(|conn, _| {
            let mut stmt =
                conn.prepare(&format!("SELECT {KEY_COLS} FROM keys ORDER BY created_at"))?;
            let rows = stmt.query_map([], key_info)?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }

    /// One key's public data. Needs the vault unlocked.
    pub fn get(&self, id: &str) -> Result<KeyInfo> {
        self.scope.read(|conn, _| get(conn, id))
    }

    /// Sets the JWS `kid` of a key (e.g. its DID URL). Administrator action.
    pub fn set_kid(&self, session: &AdminSession, id: &str, kid: &str) -> Result<()> {
        self.scope.check_admin(session, "changing keys")?;
        self.scope.write(|tx, _| {
            let n = tx
                .sql()
                .execute("UPDATE keys SET kid = ?1 WHERE id = ?2", params![kid, id])?;
            if n == 0 {
                return Err(VaultError::NotFound {
                    kind: "key",
                    id: id.to_owned(),
                });
            }
            tx.record(
                NewActivity::new(Actor::Admin, "key.kid", id)
                    .detail(serde_json::json!({ "kid": kid })),
            )?;
            Ok(())
        })
    }

    /// Deletes a key. Administrator action. Refused while a roster entry uses it.
    pub fn delete(&self, session: &AdminSession, id: &str) -> Result<()> {
        self.scope.check_admin(session, "deleting keys")?;
        self.scope.write(|tx, _| {
            let users: i64 = tx.sql().query_row(
                "SELECT count(*) FROM employees WHERE key_id = ?1",
                [id],
                |r| r.get(0),
            )?;
            if users > 0 {
                return Err(VaultError::InvalidInput(format!(
                    "key {id} is used by {users} roster entr{}; change those first",
                    if users == 1 { "y" } else { "ies" }
                )));
            }
            delete_logged(tx, "keys", "key", "key.delete", id)
        })
    }

    /// A [`wallet_protocol::signer::Signer`] for a stored key. The signer reads the sealed key
    /// on each signature, so it stops working as soon as the vault locks.
    pub fn signer(&self, id: &str) -> Result<VaultSigner> {
        let info = self.scope.read(|conn, key| {
            let info = get(conn, id)?;
            // The public JWK handed out must be the private key's: check both clear columns.
            let pk = private_key(conn, key, id)?;
            if jwk_thumbprint(&info.public_jwk)? != info.thumbprint
                || pk.public_jwk() != info.public_jwk
            {
                return Err(VaultError::Tampered {
                    table: "keys".into(),
                    row: id.to_owned(),
                    column: "public_jwk".into(),
                });
            }
            Ok(info)
        })?;
        Ok(VaultSigner {
            vault: self.scope.vault().clone(),
            kid: info.effective_kid().to_owned(),
            info,
        })
    }
}

fn oldest_of_purpose(conn: &Connection, purpose: &str) -> Result<Option<KeyInfo>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {KEY_COLS} FROM keys WHERE purpose = ?1 ORDER BY created_at, id LIMIT 1"
            ),
            [purpose],
            key_info,
        )
        .optional()?)
}

fn get(conn: &Connection, id: &str) -> Result<KeyInfo> {
    conn.query_row(
        &format!("SELECT {KEY_COLS} FROM keys WHERE id = ?1"),
        [id],
        key_info,
    )
    .optional()?
    .ok_or_else(|| VaultError::NotFound {
        kind: "key",
        id: id.to_owned(),
    })
}

fn private_key(conn: &Connection, key: &Key256, id: &str) -> Result<PrivateKey> {
    let (thumbprint, sealed, version): (String, Vec<u8>, i64) = conn
        .query_row(
            "SELECT thumbprint, private_key, version FROM keys WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or_else(|| VaultError::NotFound {
            kind: "key",
            id: id.to_owned(),
        })?;
    let place = Place::new("keys", id, "private_key")
        .with_context(thumbprint.as_bytes())
        .versioned(version);
    let plain = crypto::open(key, place, &sealed)?;
    PrivateKey::from_sealed(&plain).ok_or_else(|| place.tampered())
}

/// Signs with a key held in the vault. Holds no key material itself.
#[derive(Debug, Clone)]
pub struct VaultSigner {
    vault: Vault,
    kid: String,
    info: KeyInfo,
}

impl VaultSigner {
    /// Public data of the key.
    pub fn info(&self) -> &KeyInfo {
        &self.info
    }

    fn sign_with_vault_key(&self, message: &[u8]) -> Result<Vec<u8>> {
        Scope::Vault(&self.vault)
            .read(|conn, key| Ok(private_key(conn, key, &self.info.id)?.sign(message)))
    }
}

impl wallet_protocol::signer::Signer for VaultSigner {
    fn algorithm(&self) -> &str {
        ES256
    }

    fn key_id(&self) -> &str {
        &self.kid
    }

    fn public_jwk(&self) -> serde_json::Map<String, serde_json::Value> {
        self.info.public_jwk.clone()
    }

    fn sign(
        &self,
        message: &[u8],
    ) -> std::result::Result<Vec<u8>, wallet_protocol::signer::SignError> {
        use wallet_protocol::signer::SignError;
        self.sign_with_vault_key(message).map_err(|e| match e {
            VaultError::Locked | VaultError::NotFound { .. } => {
                SignError::Unavailable(e.to_string())
            }
            other => SignError::Crypto(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{
        ActivityFilter, CreateOptions, KdfParams, MemoryKeyStore, Passphrase, Protection, Vault,
    };

    fn vault(dir: &std::path::Path) -> Vault {
        Vault::create(
            dir,
            Arc::new(MemoryKeyStore::new()),
            CreateOptions {
                protection: Protection::Keyring,
                admin_passphrase: Passphrase::from("admin passphrase 1"),
                admin_kdf: KdfParams::INSECURE_TEST,
            },
        )
        .unwrap()
    }

    #[test]
    fn workstation_key_is_created_once_without_the_administrator() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (v, w) = (vault(a.path()), vault(b.path()));
        let first = v.keys().ensure_workstation_key("dpop").unwrap();
        assert_eq!(first.purpose, "dpop");
        assert_eq!(
            first.effective_kid(),
            format!(
                "urn:ietf:params:oauth:jwk-thumbprint:sha-256:{}",
                first.thumbprint
            )
        );
        let again = v.keys().ensure_workstation_key("dpop").unwrap();
        assert_eq!(again, first, "the same key on every use");
        assert_eq!(v.keys().list().unwrap().len(), 1);
        let other = w.keys().ensure_workstation_key("dpop").unwrap();
        assert_ne!(
            other.thumbprint, first.thumbprint,
            "another vault, another key"
        );
        let signer = v.keys().signer(&first.id).unwrap();
        assert_eq!(
            wallet_protocol::signer::Signer::key_id(&signer),
            first.effective_kid()
        );
        let log = v
            .activity_log()
            .list(&ActivityFilter {
                action_prefix: Some("key.".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log.len(), 1, "one key.generate");
        assert_eq!(
            (log[0].action.as_str(), log[0].actor.as_str()),
            ("key.generate", "system")
        );
        for purpose in ["organization", "employee", ""] {
            assert!(
                v.keys().ensure_workstation_key(purpose).is_err(),
                "{purpose:?} keys need the administrator"
            );
        }
    }
}
