//! Where key-encryption keys live outside the database: the OS keyring (Secret Service,
//! Windows Credential Manager, macOS Keychain) behind the [`KeyStore`] trait, plus an in-memory
//! store for unit tests and benchmarks.
//!
//! The keyring only ever holds a random 256-bit key-encryption key (KEK) that wraps the vault
//! key; it never holds the vault key, a private key or a passphrase. Each wrap gets its own
//! random account name, so restoring a backup beside the original vault on the same machine
//! never overwrites the original's entry.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use crate::secret::Key256;

/// Default keyring service name of Nuts Wallet.
pub const DEFAULT_KEYRING_SERVICE: &str = "nuts-wallet";

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The store cannot be reached or refuses access.
    #[error("{0}")]
    Unavailable(String),
    /// The store works but has no entry under that name.
    #[error("no entry {0}")]
    NoEntry(String),
}

impl From<KeyStoreError> for crate::VaultError {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::Unavailable(d) => crate::VaultError::KeyringUnavailable(d),
            KeyStoreError::NoEntry(a) => crate::VaultError::KeyringEntryMissing(a),
        }
    }
}

/// A place that keeps 256-bit key-encryption keys under an account name.
pub trait KeyStore: Send + Sync {
    /// Short name for status output ("os-keyring", "memory").
    fn kind(&self) -> &'static str;
    /// Stores (or replaces) the key under `account`.
    fn put(&self, account: &str, key: &Key256) -> Result<(), KeyStoreError>;
    /// Reads the key stored under `account`.
    fn get(&self, account: &str) -> Result<Key256, KeyStoreError>;
    /// Deletes the entry; deleting a missing entry is not an error.
    fn delete(&self, account: &str) -> Result<(), KeyStoreError>;
}

/// The OS keyring through the `keyring` crate.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
}

impl OsKeyring {
    /// Uses the default service name `nuts-wallet`.
    pub fn new() -> Self {
        OsKeyring::with_service(DEFAULT_KEYRING_SERVICE)
    }

    /// Uses another service name (tests use a unique one).
    pub fn with_service(service: &str) -> Self {
        OsKeyring {
            service: service.to_owned(),
        }
    }

    fn entry(&self, account: &str) -> Result<keyring::Entry, KeyStoreError> {
        keyring::Entry::new(&self.service, account).map_err(|e| map_keyring_error(e, account))
    }
}

impl Default for OsKeyring {
    fn default() -> Self {
        OsKeyring::new()
    }
}

/// Maps keyring errors to a stable, English, secret-free description (the platform text can be
/// localized D-Bus output; it is kept only as a hint at the end).
fn map_keyring_error(e: keyring::Error, account: &str) -> KeyStoreError {
    match e {
        keyring::Error::NoEntry => KeyStoreError::NoEntry(account.to_owned()),
        keyring::Error::NoStorageAccess(inner) => KeyStoreError::Unavailable(format!(
            "no access to the keyring's storage (is it locked?): {inner}"
        )),
        keyring::Error::PlatformFailure(inner) => KeyStoreError::Unavailable(format!(
            "the keyring service failed or is not running: {inner}"
        )),
        other => KeyStoreError::Unavailable(format!("keyring error: {other}")),
    }
}

impl KeyStore for OsKeyring {
    fn kind(&self) -> &'static str {
        "os-keyring"
    }

    fn put(&self, account: &str, key: &Key256) -> Result<(), KeyStoreError> {
        self.entry(account)?
            .set_secret(key.bytes())
            .map_err(|e| map_keyring_error(e, account))
    }

    fn get(&self, account: &str) -> Result<Key256, KeyStoreError> {
        let secret = Zeroizing::new(
            self.entry(account)?
                .get_secret()
                .map_err(|e| map_keyring_error(e, account))?,
        );
        Key256::from_slice(&secret).ok_or_else(|| {
            KeyStoreError::Unavailable(format!("keyring entry {account} holds no 256-bit key"))
        })
    }

    fn delete(&self, account: &str) -> Result<(), KeyStoreError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(e, account)),
        }
    }
}

/// An in-memory key store for tests and benchmarks. Clones share their entries.
#[derive(Default, Clone)]
pub struct MemoryKeyStore {
    entries: std::sync::Arc<Mutex<HashMap<String, Key256>>>,
    unavailable: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryKeyStore::default()
    }

    /// Makes every later call fail with `Unavailable`, to simulate a missing keyring daemon.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable
            .store(unavailable, std::sync::atomic::Ordering::SeqCst);
    }

    /// Number of entries (tests check that failed operations leave nothing behind).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// `true` when no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key256>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> Result<(), KeyStoreError> {
        if self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            Err(KeyStoreError::Unavailable(
                "memory key store switched off".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl std::fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryKeyStore({} entries, [redacted])", self.len())
    }
}

impl KeyStore for MemoryKeyStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn put(&self, account: &str, key: &Key256) -> Result<(), KeyStoreError> {
        self.check()?;
        self.lock().insert(account.to_owned(), key.duplicate());
        Ok(())
    }

    fn get(&self, account: &str) -> Result<Key256, KeyStoreError> {
        self.check()?;
        self.lock()
            .get(account)
            .map(Key256::duplicate)
            .ok_or_else(|| KeyStoreError::NoEntry(account.to_owned()))
    }

    fn delete(&self, account: &str) -> Result<(), KeyStoreError> {
        self.check()?;
        self.lock().remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_roundtrip_and_failure_modes() {
        let s = MemoryKeyStore::new();
        let k = Key256::random();
        s.put("a", &k).unwrap();
        assert_eq!(s.get("a").unwrap().bytes(), k.bytes());
        assert!(matches!(s.get("b"), Err(KeyStoreError::NoEntry(_))));
        let shared = s.clone();
        s.set_unavailable(true);
        assert!(matches!(
            shared.get("a"),
            Err(KeyStoreError::Unavailable(_))
        ));
        s.set_unavailable(false);
        shared.delete("a").unwrap();
        assert!(s.is_empty());
        assert!(!format!("{s:?}").contains(&crate::secret::hex(k.bytes())));
    }
}
