//! How the vault key is protected at rest: wrapped (`key_wraps`) by a key-encryption key in
//! the OS keyring or by an Argon2id key derived from a passphrase; wrapping, unwrapping on
//! unlock, and replacing the protection.

use rusqlite::{params, Connection};

use super::{check_passphrase_strength, AdminSession, Vault};
use crate::audit::{Actor, NewActivity};
use crate::clock::now_ms;
use crate::crypto::{self, KdfParams, Place};
use crate::keystore::KeyStore;
use crate::secret::{random_bytes, random_id, Key256, Passphrase};
use crate::{PassphraseKind, Result, VaultError};

/// How the vault key is protected at rest.
pub enum Protection {
    /// By a random key in the OS keyring (unlocks without typing anything).
    Keyring,
    /// By a key derived from a passphrase with Argon2id.
    Passphrase {
        /// The passphrase.
        passphrase: Passphrase,
        /// Argon2id cost ([`KdfParams::DEFAULT`] for real use).
        kdf: KdfParams,
    },
}

impl Protection {
    /// Passphrase protection with the default Argon2id cost.
    pub fn passphrase(passphrase: Passphrase) -> Self {
        Protection::Passphrase {
            passphrase,
            kdf: KdfParams::DEFAULT,
        }
    }

    pub(super) fn method(&self) -> &'static str {
        match self {
            Protection::Keyring => "keyring",
            Protection::Passphrase { .. } => "passphrase",
        }
    }
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.method())
    }
}

/// How to unlock.
#[derive(Debug, Clone, Copy)]
pub enum Unlock<'a> {
    /// With the key in the OS keyring.
    Keyring,
    /// With the vault passphrase.
    Passphrase(&'a Passphrase),
}

/// A wrap of the vault key as stored in `key_wraps`.
pub(crate) struct WrapRow {
    pub id: String,
    pub method: &'static str,
    pub keyring_service: Option<String>,
    pub keyring_account: Option<String>,
    pub kdf_params: Option<String>,
    pub kdf_salt: Option<Vec<u8>>,
    pub wrapped_key: Vec<u8>,
}

fn wrap_place(id: &str) -> Place<'_> {
    Place::new("key_wraps", id, "wrapped_key")
}

/// Wraps `vault_key` per `protection`. For the keyring, the new KEK is already stored there
/// when this returns; callers delete it (`keyring_account`) if their transaction fails.
pub(crate) fn make_wrap(
    keystore: &dyn KeyStore,
    vault_key: &Key256,
    protection: &Protection,
) -> Result<WrapRow> {
    let id = random_id();
    match protection {
        Protection::Keyring => {
            let kek = Key256::random();
            let account = format!("vault-key-{id}");
            keystore.put(&account, &kek)?;
            // Read it back: a keyring that silently drops entries must fail now, not at the
            // next unlock.
            let back = keystore.get(&account)?;
            if back.bytes() != kek.bytes() {
                let _ = keystore.delete(&account);
                return Err(VaultError::KeyringUnavailable(
                    "the keyring returned a different key than was stored".into(),
                ));
            }
            let wrapped_key = crypto::seal(&kek, wrap_place(&id), vault_key.bytes());
            Ok(WrapRow {
                id,
                method: "keyring",
                keyring_service: Some(keystore.kind().to_owned()),
                keyring_account: Some(account),
                kdf_params: None,
                kdf_salt: None,
                wrapped_key,
            })
        }
        Protection::Passphrase { passphrase, kdf } => {
            check_passphrase_strength(passphrase, "vault")?;
            let salt = random_bytes::<16>().to_vec();
            let kek = crypto::derive_key(passphrase, &salt, kdf)?;
            let wrapped_key = crypto::seal(&kek, wrap_place(&id), vault_key.bytes());
            Ok(WrapRow {
                id,
                method: "passphrase",
                keyring_service: None,
                keyring_account: None,
                kdf_params: Some(serde_json::to_string(kdf).unwrap_or_default()),
                kdf_salt: Some(salt),
                wrapped_key,
            })
        }
    }
}

/// Stores a wrap as written at `version`. (A wrap is sealed under its own key-encryption key
/// before the transaction starts, so its version is not in its associated data; the row is
/// covered by the state commitment, which an old wrap copied back fails at unlock.)
pub(crate) fn insert_wrap(tx: &rusqlite::Transaction<'_>, w: &WrapRow, version: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO key_wraps (id, method, keyring_service, keyring_account, kdf_params,
                                kdf_salt, wrapped_key, created_at, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            w.id,
            w.method,
            w.keyring_service,
            w.keyring_account,
            w.kdf_params,
            w.kdf_salt,
            w.wrapped_key,
            now_ms(),
            version
        ],
    )?;
    Ok(())
}

/// id, keyring account, KDF parameters, salt, wrapped key.
type WrapQueryRow = (
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Vec<u8>,
);

/// Tries every wrap of the requested method; returns the vault key.
pub(crate) fn unwrap_vault_key(
    conn: &Connection,
    keystore: &dyn KeyStore,
    how: Unlock<'_>,
) -> Result<Key256> {
    let method = match how {
        Unlock::Keyring => "keyring",
        Unlock::Passphrase(_) => "passphrase",
    };
    let mut stmt = conn.prepare(
        "SELECT id, keyring_account, kdf_params, kdf_salt, wrapped_key
         FROM key_wraps WHERE method = ?1 ORDER BY created_at",
    )?;
    let rows: Vec<WrapQueryRow> = stmt
        .query_map([method], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    if rows.is_empty() {
        return Err(VaultError::InvalidInput(format!(
            "this vault is not protected by {}",
            match how {
                Unlock::Keyring => "the OS keyring; unlock it with the passphrase",
                Unlock::Passphrase(_) => "a passphrase; unlock it with the OS keyring",
            }
        )));
    }
    let mut last_err = None;
    for (id, account, params, salt, wrapped) in rows {
        let kek = match how {
            Unlock::Keyring => {
                let account = account.unwrap_or_default();
                match keystore.get(&account) {
                    Ok(k) => k,
                    Err(e) => {
                        last_err = Some(e.into());
                        continue;
                    }
                }
            }
            Unlock::Passphrase(p) => {
                let params: KdfParams = serde_json::from_str(params.as_deref().unwrap_or(""))
                    .map_err(|_| VaultError::Tampered {
                        table: "key_wraps".into(),
                        row: id.clone(),
                        column: "kdf_params".into(),
                    })?;
                crypto::derive_key(p, salt.as_deref().unwrap_or(&[]), &params)?
            }
        };
        match crypto::open(&kek, wrap_place(&id), &wrapped) {
            Ok(plain) => {
                return Key256::from_slice(&plain).ok_or_else(|| wrap_place(&id).tampered());
            }
            Err(e) => {
                last_err = Some(match how {
                    Unlock::Passphrase(_) => VaultError::WrongPassphrase(PassphraseKind::Vault),
                    // The keyring gave a key, but it does not open the wrap.
                    Unlock::Keyring => e,
                });
            }
        }
    }
    Err(last_err.unwrap_or(VaultError::Locked))
}

impl Vault {
    /// Replaces how the vault key is protected (e.g. switch from passphrase to keyring).
    /// Old keyring entries are deleted after the change commits.
    pub fn set_protection(&self, session: &AdminSession, protection: Protection) -> Result<()> {
        self.check_admin(session, "changing how the vault is protected")?;
        let key = self.key()?;
        let wrap = make_wrap(self.inner.keystore.as_ref(), &key, &protection)?;
        let result = self.write(|tx, _| {
            let old: Vec<Option<String>> = tx
                .sql()
                .prepare("SELECT keyring_account FROM key_wraps")?
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?;
            tx.sql().execute("DELETE FROM key_wraps", [])?;
            insert_wrap(tx.sql(), &wrap, tx.version())?;
            tx.record(
                NewActivity::new(
                    Actor::Admin,
                    "vault.protection.change",
                    &self.inner.vault_id,
                )
                .detail(serde_json::json!({ "protection": protection.method() })),
            )?;
            Ok(old)
        });
        match result {
            Ok(old) => {
                for account in old.into_iter().flatten() {
                    if let Err(e) = self.inner.keystore.delete(&account) {
                        tracing::warn!(error = %e, "could not delete an old keyring entry");
                    }
                }
                Ok(())
            }
            Err(e) => {
                if let Some(a) = &wrap.keyring_account {
                    let _ = self.inner.keystore.delete(a);
                }
                Err(e)
            }
        }
    }
}
